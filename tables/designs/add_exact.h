/* add_exact: the exact sum (w-bit operands, w+1-bit result), the reference
 * every adder is measured against.  The floating form is the generic
 * floating adder (fpadd.h) with this core, which is correctly rounded. */
#ifndef AXLUT_TABLES_DESIGNS_ADD_EXACT_H
#define AXLUT_TABLES_DESIGNS_ADD_EXACT_H

#include "designs/common.h"

AXL_HD axl_sig_t axl_uadd_exact(axl_sig_t x, axl_sig_t y) { return x + y; }

#endif
