/* loa: lower-part OR adder.
 *
 * H. R. Mahdiani, A. Ahmadi, S. M. Fakhraie, C. Lucas, "Bio-Inspired
 * Imprecise Computational Blocks for Efficient VLSI Implementation of
 * Soft-Computing Applications", IEEE Transactions on Circuits and Systems I,
 * 57(4), pp. 850-862, 2010.
 *
 * The low k sum bits are the OR of the operand bits; one AND gate on the
 * top bits of the lower part gives the carry into the exact upper adder:
 *
 *   upper (exact, w-k bits)    | lower (k bits)
 *   x_hi + y_hi + (x_k-1 & y_k-1) | x_i | y_i
 */
#ifndef AXLUT_TABLES_DESIGNS_LOA_H
#define AXLUT_TABLES_DESIGNS_LOA_H

#include "designs/common.h"

AXL_HD axl_sig_t axl_uadd_loa(axl_sig_t x, axl_sig_t y, int w, int k)
{
    if (k > w)
        k = w;
    axl_sig_t lo = (x | y) & axl_sig_mask(k);
    axl_sig_t cin = k > 0 ? (x >> (k - 1)) & (y >> (k - 1)) & 1u : 0u;
    return (((x >> k) + (y >> k) + cin) << k) | lo;
}

#endif
