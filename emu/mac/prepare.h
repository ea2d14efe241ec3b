/* The prepared state of a plan (prepare.c): tables in the layouts the
 * kernels read, decode tables of the narrow exact forms. */
#ifndef AXLUT_EMU_MAC_PREPARE_H
#define AXLUT_EMU_MAC_PREPARE_H

#include "plan.h"

/* AXL_NARROW_BF16 / AXL_NARROW_FP16 for those formats, else AXL_NARROW_NONE. */
enum axl_narrow axl_plan_narrow_kind(const struct axl_format *f);
/* Builds what the plan's kinds read (m->path, m->src and m->acc chosen);
 * may refine AXL_SRC_MANTISSA into AXL_SRC_MANTISSA_FAST.  `mul` names the
 * multiplier in messages. */
enum axl_status axl_plan_prepare(struct axl_mac *m, const char *mul, char *msg);
/* 1 when the mantissa table m->mt (rows x cols) is, entry by entry, what the
 * built-in multiplier's own core gives, so that its function gives the
 * mantissa path's bits (plan.h: mt_is_core); 0 otherwise. */
int axl_plan_mantissa_is_core(const struct axl_mac *m, uint32_t rows, uint32_t cols);

#endif
