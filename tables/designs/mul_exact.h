/* mul_exact: the exact product, the reference every multiplier is measured
 * against.  Integer cores multiply magnitudes; the floating form is the
 * generic floating multiplier (fpmul.h) with this core, i.e. the correctly
 * rounded product (IEEE 754-2019, clause 5.4.1, for the eXmY formats). */
#ifndef AXLUT_TABLES_DESIGNS_MUL_EXACT_H
#define AXLUT_TABLES_DESIGNS_MUL_EXACT_H

#include "designs/common.h"

AXL_HD axl_sig_t axl_umul_exact(axl_sig_t x, axl_sig_t y) { return x * y; }

#endif
