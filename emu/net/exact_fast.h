/* The fast exact float32 MAC kernels of a dataset run's reference network
 * (axl_run_opts.fast_exact; emu/net/exact_fast.c): the exact network to
 * float32 rounding in another summation order than the engine's
 * sequential one. */
#ifndef AXLUT_EMU_EXACT_FAST_H
#define AXLUT_EMU_EXACT_FAST_H

#include "axlut/mac.h"

/* 1 when the fast kernels are there (built with a CBLAS); otherwise exact
 * nodes always take the engine's path. */
int axl_fast_exact_available(void);
/* a->y = the exact float32 convolution (plus bias) of a; fails only for
 * memory or an impossible geometry. */
enum axl_status axl_fast_conv2d(const struct axl_conv_args *a, char *msg);
/* g->c = op(A) op(B) (+ bias) in float32; g->ldc must be g->n. */
enum axl_status axl_fast_gemm(const struct axl_gemm_args *g, char *msg);

#endif
