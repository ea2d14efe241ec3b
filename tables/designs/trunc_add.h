/* trunc_add: truncated adder; the low k bits of both operands are not
 * wired in and the low k sum bits are 0.  The plain baseline that every
 * lower-part approximate adder (LOA, ETA, AMA) is compared with, e.g. in
 * H. Jiang, J. Han, F. Lombardi, "A Comparative Review and Evaluation of
 * Approximate Adders", Proc. Great Lakes Symposium on VLSI (GLSVLSI),
 * pp. 343-348, 2015. */
#ifndef AXLUT_TABLES_DESIGNS_TRUNC_ADD_H
#define AXLUT_TABLES_DESIGNS_TRUNC_ADD_H

#include "designs/common.h"

AXL_HD axl_sig_t axl_uadd_trunc(axl_sig_t x, axl_sig_t y, int w, int k)
{
    if (k > w)
        k = w;
    return ((x >> k) + (y >> k)) << k;
}

#endif
