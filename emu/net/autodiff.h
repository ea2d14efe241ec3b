/* Reverse-mode differentiation over the graph, the operators' side: what a
 * backward function (struct op_def.backward) reads and where it adds.
 *
 * The forward of a training step keeps every value (run_ctx.keep).  The
 * backward then visits the exposed nodes in reverse order; a node whose
 * outputs carry a gradient and some of whose inputs want one calls its
 * backward, which reads the forward's inputs and outputs (in_t, out_t on
 * gc->c) and the outputs' gradients (grad_out), and adds each wanted
 * input's gradient into the buffer grad_in hands out.  Gradients are
 * float32, shaped as their values; a broadcast input's gradient is summed
 * over the broadcast dimensions.  Integer values never want one.
 */
#ifndef AXLUT_EMU_AUTODIFF_H
#define AXLUT_EMU_AUTODIFF_H

#include "graph_internal.h"

struct grad_ctx {
    struct run_ctx *c;          /* the forward: every value's tensor */
    struct gtensor *grad;       /* per value: its gradient, data NULL while zero */
    const unsigned char *want;  /* per value: 1 when its gradient is needed */
    int approx;                 /* MAC nodes: gradient products through gc->mac */
    const struct axl_mac *mac;  /* the node's configuration in the forward */
    const struct axl_mac *exact; /* exact float32 products (the straight-through estimator) */
};

/* The gradient of output i of n; NULL when it is zero (nothing after the
 * node wanted that output's gradient). */
const float *grad_out(struct grad_ctx *gc, const struct gnode *n, int i);

/* The buffer to add input i's gradient into (zeroed when first handed
 * out), shaped as the input; *g NULL when that gradient is not wanted. */
enum axl_status grad_in(struct grad_ctx *gc, const struct gnode *n, int i, float **g, char *msg);

/* Adds a gradient computed at the output's broadcast shape (ondim, odims)
 * into input i's gradient, summing the dimensions the input was broadcast
 * along (numpy rules); nothing when input i does not want one. */
enum axl_status grad_in_reduce(struct grad_ctx *gc, const struct gnode *n, int i,
                               const float *g, int ondim, const int64_t *odims, char *msg);

/* C[m][n] = op(A) op(B) in exact float32 (op: transpose when ta / tb; A
 * is m x k or k x m with row stride lda, likewise B), C dense: the gradient
 * products of the straight-through estimator.  Fails only for memory. */
enum axl_status grad_sgemm(int ta, int tb, int64_t m, int64_t n, int64_t k, const float *a,
                           int64_t lda, const float *b, int64_t ldb, float *c, char *msg);

/* The Dropout keep decision of element i of node n's input: the same
 * stream for the forward and the backward, for any thread count. */
int dropout_keep(uint64_t seed, const struct gnode *n, int64_t i, float ratio);

#endif
