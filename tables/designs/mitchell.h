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

AXL_HD axl_sig_t axl_umul_mitchell(axl_sig_t x, axl_sig_t y)
{
    if (x == 0 || y == 0)
        return 0;
    int k1 = axl_sig_msb(x), k2 = axl_sig_msb(y);
    axl_sig_t t = ((x - axl_sig_pow2(k1)) << k2) + ((y - axl_sig_pow2(k2)) << k1);
    axl_sig_t one = axl_sig_pow2(k1 + k2);
    return t < one ? one + t : t << 1;
}

#endif
