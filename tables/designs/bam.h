/* bam: broken-array multiplier.
 *
 * H. R. Mahdiani, A. Ahmadi, S. M. Fakhraie, C. Lucas, "Bio-Inspired
 * Imprecise Computational Blocks for Efficient VLSI Implementation of
 * Soft-Computing Applications", IEEE Transactions on Circuits and Systems I,
 * 57(4), pp. 850-862, 2010.
 *
 * An array multiplier whose carry-save cells are omitted below two break
 * levels: the partial-product rows x * y_i with i < hbl (horizontal break
 * level) and every cell of weight 2^j with j < vbl (vertical break level).
 * Rows are indexed by the bits of y (the weight, b):
 *
 *            x3y0 x2y0 x1y0 x0y0   <- row 0 (dropped when hbl > 0)
 *       x3y1 x2y1 x1y1 x0y1
 *   ...            |
 *                  +-- columns right of vbl dropped
 *
 * hbl = vbl = 0 is the exact multiplier.
 */
#ifndef AXLUT_TABLES_DESIGNS_BAM_H
#define AXLUT_TABLES_DESIGNS_BAM_H

#include "designs/common.h"

AXL_HD axl_sig_t axl_umul_bam(axl_sig_t x, axl_sig_t y, int n, int hbl, int vbl)
{
    axl_sig_t keep = ~axl_sig_mask(vbl);
    axl_sig_t p = 0;
    for (int i = hbl; i < n; i++)
        if ((y >> i) & 1u)
            p += (x << i) & keep;
    return p;
}

#endif
