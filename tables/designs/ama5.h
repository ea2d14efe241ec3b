/* ama5: approximate mirror adder 5 in the low k bits.
 *
 * V. Gupta, D. Mohapatra, A. Raghunathan, K. Roy, "Low-Power Digital Signal
 * Processing Using Approximate Adders", IEEE Transactions on Computer-Aided
 * Design of Integrated Circuits and Systems, 32(1), pp. 124-137, 2013.
 *
 * Approximation 5 is a full adder reduced to two buffers: Sum = B and
 * Cout = A.  In a ripple chain of k such cells the low k sum bits are y's
 * bits and the carry into the exact upper part is x_(k-1).
 */
#ifndef AXLUT_TABLES_DESIGNS_AMA5_H
#define AXLUT_TABLES_DESIGNS_AMA5_H

#include "designs/common.h"

AXL_HD axl_sig_t axl_uadd_ama5(axl_sig_t x, axl_sig_t y, int w, int k)
{
    if (k > w)
        k = w;
    axl_sig_t lo = y & axl_sig_mask(k);
    axl_sig_t cin = k > 0 ? (x >> (k - 1)) & 1u : 0u;
    return (((x >> k) + (y >> k) + cin) << k) | lo;
}

#endif
