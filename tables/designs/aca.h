/* aca: almost correct adder (speculative carry over a window).
 *
 * A. K. Verma, P. Brisk, P. Ienne, "Variable Latency Speculative Addition:
 * A New Paradigm for Arithmetic Circuit Design", Design, Automation and
 * Test in Europe (DATE), pp. 1250-1255, 2008.
 *
 * Sum bit i (and the carry out, bit w) uses the carry that only the k bits
 * below it generate, with no carry in from further down: a carry chain
 * longer than k is cut.  k >= w is the exact adder.
 */
#ifndef AXLUT_TABLES_DESIGNS_ACA_H
#define AXLUT_TABLES_DESIGNS_ACA_H

#include "designs/common.h"

AXL_HD axl_sig_t axl_uadd_aca(axl_sig_t x, axl_sig_t y, int w, int k)
{
    axl_sig_t s = 0;
    for (int i = 0; i <= w; i++) {
        int lo = i > k ? i - k : 0;
        int len = i - lo;
        axl_sig_t m = axl_sig_mask(len);
        axl_sig_t c = ((((x >> lo) & m) + ((y >> lo) & m)) >> len) & 1u;
        axl_sig_t xi = i < w ? (x >> i) & 1u : 0u, yi = i < w ? (y >> i) & 1u : 0u;
        s |= (xi ^ yi ^ c) << i;
    }
    return s;
}

#endif
