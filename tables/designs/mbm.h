/* mbm: minimally biased multiplier.
 *
 * H. Saadat, H. Bokhari, S. Parameswaran, "Minimally Biased Multipliers for
 * Approximate Integer and Floating-Point Multiplication", IEEE Transactions
 * on Computer-Aided Design of Integrated Circuits and Systems, 37(11),
 * pp. 2623-2635, 2018.
 *
 * Mitchell's product (mitchell.h) always errs low, by 2^(k1+k2) f1 f2 below
 * the carry and by 2^(k1+k2) (1-f1)(1-f2) above it; both average 1/12 of
 * 2^(k1+k2) over uniform fractions.  MBM adds that average back as a
 * constant error-reduction term C ~ 1/12 to the fraction sum before the
 * antilogarithm, which centres the error near zero.  C is the binary
 * fraction 0.000101010101... truncated to 2F bits, F = n-1 being the
 * operands' fraction bits: the product keeps twice the operands' fraction
 * bits, so the term is not lost for short significands (with only F bits
 * a 4-bit significand, F = 3, would get C = 0 and MBM would be Mitchell).
 * Above the carry the fraction is worth twice as much, so C/2 (one more
 * bit truncated) is added instead:
 *
 *     s = f1 + f2 < 1:  P = 2^(k1+k2)   (1 + s + C)
 *     s >= 1:           P = 2^(k1+k2+1) (s + C/2)
 *
 * The integer result is the value truncated toward zero (the fraction bits
 * below 2^0 are not wired out).
 */
#ifndef AXLUT_TABLES_DESIGNS_MBM_H
#define AXLUT_TABLES_DESIGNS_MBM_H

#include "designs/common.h"

AXL_HD axl_sig_t axl_umul_mbm(axl_sig_t x, axl_sig_t y, int n)
{
    if (x == 0 || y == 0)
        return 0;
    const int F = n > 1 ? n - 1 : 1; /* fraction bits of an operand */
    const int G = 2 * F;             /* fraction bits of the product */
    int k1 = axl_sig_msb(x), k2 = axl_sig_msb(y);
    axl_sig_t f1 = (x - axl_sig_pow2(k1)) << (G - k1);
    axl_sig_t f2 = (y - axl_sig_pow2(k2)) << (G - k2);
    axl_sig_t s = f1 + f2;
    axl_sig_t c = 0; /* 2^-4 + 2^-6 + ... in G fraction bits */
    for (int j = 4; j <= G; j += 2)
        c |= axl_sig_pow2(G - j);
    axl_sig_t mant;
    int e = k1 + k2;
    if (s < axl_sig_pow2(G)) {
        mant = axl_sig_pow2(G) + s + c;
    } else {
        mant = s + (c >> 1);
        e += 1;
    }
    /* value = mant * 2^(e - G); e <= 2F + 1 */
    return e >= G ? mant << (e - G) : mant >> (G - e);
}

#endif
