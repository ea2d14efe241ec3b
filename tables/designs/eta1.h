/* eta1: error-tolerant adder type I.
 *
 * N. Zhu, W. L. Goh, W. Zhang, K. S. Yeo, Z. H. Kong, "Design of Low-Power
 * High-Speed Truncation-Error-Tolerant Adder and Its Application in Digital
 * Signal Processing", IEEE Transactions on VLSI Systems, 18(8),
 * pp. 1225-1229, 2010 (published online 2009).
 *
 * The upper w-k bits are added exactly with no carry in.  The lower k bits
 * are scanned from their top down: while the two bits are not both 1 the
 * sum bit is their XOR; at the first position where both are 1, that bit
 * and every bit below it are set to 1 (the control signal stops the
 * scan).
 */
#ifndef AXLUT_TABLES_DESIGNS_ETA1_H
#define AXLUT_TABLES_DESIGNS_ETA1_H

#include "designs/common.h"

AXL_HD axl_sig_t axl_uadd_eta1(axl_sig_t x, axl_sig_t y, int w, int k)
{
    if (k > w)
        k = w;
    axl_sig_t both = x & y & axl_sig_mask(k);
    axl_sig_t lo;
    if (both) {
        int p = axl_sig_msb(both);
        axl_sig_t below = axl_sig_mask(p + 1);
        lo = ((x ^ y) & axl_sig_mask(k) & ~below) | below;
    } else {
        lo = (x ^ y) & axl_sig_mask(k);
    }
    return (((x >> k) + (y >> k)) << k) | lo;
}

#endif
