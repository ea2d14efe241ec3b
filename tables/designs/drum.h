/* drum: dynamic range unbiased multiplier.
 *
 * S. Hashemi, R. I. Bahar, S. Reda, "DRUM: A Dynamic Range Unbiased
 * Multiplier for Approximate Applications", IEEE/ACM International
 * Conference on Computer-Aided Design (ICCAD), pp. 418-425, 2015.
 *
 * Each operand keeps only k bits starting at its leading one; the lowest
 * kept bit is forced to 1, which stands for the expected value of the
 * dropped bits and makes the error nearly unbiased.  The two k-bit segments
 * are multiplied exactly and the product shifted back.  An operand below
 * 2^k passes unchanged (the leading-one detector selects the low k bits).
 *
 *     x = 0 0 1 b b b b x x x x      k = 5: segment 1 b b b 1, shift 4
 *             ^ leading one
 */
#ifndef AXLUT_TABLES_DESIGNS_DRUM_H
#define AXLUT_TABLES_DESIGNS_DRUM_H

#include "designs/common.h"

AXL_HD axl_sig_t axl_drum_segment(axl_sig_t x, int k, int *shift)
{
    *shift = 0;
    if (x < axl_sig_pow2(k))
        return x;
    int t = axl_sig_msb(x);
    *shift = t - k + 1;
    return (x >> *shift) | 1u;
}

AXL_HD axl_sig_t axl_umul_drum(axl_sig_t x, axl_sig_t y, int k)
{
    int sx, sy;
    axl_sig_t a = axl_drum_segment(x, k, &sx);
    axl_sig_t b = axl_drum_segment(y, k, &sy);
    return (a * b) << (sx + sy);
}

#endif
