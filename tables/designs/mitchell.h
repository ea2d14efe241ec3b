/* mitchell: logarithmic multiplier.
 *
 * J. N. Mitchell, "Computer Multiplication and Division Using Binary
 * Logarithms", IRE Transactions on Electronic Computers, EC-11(4),
 * pp. 512-517, 1962.
 *
 * x = 2^k1 (1 + f1), y = 2^k2 (1 + f2) with 0 <= f < 1.  The logarithm is
 * approximated by k + f, the two are added and the antilogarithm taken with
 * the same straight-line approximation:
 *
 *     f1 + f2 <  1:  P = 2^(k1+k2)   (1 + f1 + f2)
 *     f1 + f2 >= 1:  P = 2^(k1+k2+1) (f1 + f2)
 *
 * For integers both forms are integers: with t = (f1 + f2) 2^(k1+k2)
 * = (x - 2^k1) 2^k2 + (y - 2^k2) 2^k1, P = 2^(k1+k2) + t or 2t, with no
 * rounding anywhere.  The product never exceeds the exact one; the worst
 * relative error is -1/9 (11.1 %), at f1 = f2 = 1/2.
 */
#ifndef AXLUT_TABLES_DESIGNS_MITCHELL_H
#define AXLUT_TABLES_DESIGNS_MITCHELL_H

#include "designs/common.h"

AXL_HD uint64_t axl_umul_mitchell(uint64_t x, uint64_t y)
{
    if (x == 0 || y == 0)
        return 0;
    int k1 = axl_msb64(x), k2 = axl_msb64(y);
    uint64_t t = ((x - axl_pow2_64(k1)) << k2) + ((y - axl_pow2_64(k2)) << k1);
    uint64_t one = axl_pow2_64(k1 + k2);
    return t < one ? one + t : t << 1;
}

#endif
