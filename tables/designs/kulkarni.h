/* kulkarni: underdesigned multiplier built from an inexact 2x2 block.
 *
 * P. Kulkarni, P. Gupta, M. Ercegovac, "Trading Accuracy for Power with an
 * Underdesigned Multiplier Architecture", 24th International Conference on
 * VLSI Design, pp. 346-351, 2011.
 *
 * The 2x2 block is exact except 3 x 3 = 7 (111b, three output bits instead
 * of 1001b).  A 2Nx2N multiplier is four NxN ones whose partial products
 * are added exactly: x = xh 2^N + xl gives xh yh 2^2N + (xh yl + xl yh) 2^N
 * + xl yl.  Unrolled to the bottom, that is the exact sum over all pairs of
 * 2-bit digits of block(x_i, y_j) 4^(i+j), which is how it is computed here
 * (no recursion on the device).  Odd widths are padded with a zero bit.
 */
#ifndef AXLUT_TABLES_DESIGNS_KULKARNI_H
#define AXLUT_TABLES_DESIGNS_KULKARNI_H

#include "designs/common.h"

AXL_HD axl_sig_t axl_kulkarni_block(axl_sig_t a, axl_sig_t b) { return (a == 3 && b == 3) ? 7u : a * b; }

AXL_HD axl_sig_t axl_umul_kulkarni(axl_sig_t x, axl_sig_t y, int n)
{
    int digits = (n + 1) / 2;
    axl_sig_t p = 0;
    for (int i = 0; i < digits; i++)
        for (int j = 0; j < digits; j++)
            p += axl_kulkarni_block((x >> (2 * i)) & 3u, (y >> (2 * j)) & 3u) << (2 * (i + j));
    return p;
}

#endif
