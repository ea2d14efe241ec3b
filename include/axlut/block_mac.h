/* Reference layers in block-scaled formats: a GEMM and a convolution whose
 * every output is axl_block_dot_ref (include/axlut/block.h) over blocks
 * taken along the reduction axis, as docs/FORMATS.md ("Blocks along the
 * reduction axis") defines them.  Slow and plain: the semantics the
 * block-scaled kernels are to reproduce bit for bit, and what their tests
 * compare with.
 *
 *   GEMM    A[M][K] in blocks along K per row, op(B)[K][N] along K per
 *           column; the last block of each zero-padded.
 *   conv    activations: x[n][c][h][w] in blocks of the group's channels
 *           at each pixel (channel-last), weights: w[oc][c/g][kh][kw] in
 *           blocks of the group's channels at each tap; the reduction of
 *           one output runs over taps (r, s) in row-major order and, at
 *           each, over channel blocks; a tap in the padding contributes a
 *           zero block.
 *
 * Activations and weights are quantized once per call, round to nearest
 * even; NVFP4's tensor scales come from the whole activation and the
 * whole weight tensor.  y = dot + bias[n] (a float32 add). */
#ifndef AXLUT_BLOCK_MAC_H
#define AXLUT_BLOCK_MAC_H

#include "block.h"
#include "mac.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* fa, fw: the block formats of activations and weights (same block size
 * and scale kind); mul as in axl_block_dot_ref (NULL: exact products).
 * AXL_ERR_INVALID for mismatched formats or bad sizes, AXL_ERR_NOMEM. */
enum axl_status axl_block_gemm_ref(const struct axl_block_format *fa,
                                   const struct axl_block_format *fw,
                                   const struct axl_block_mul *mul, const struct axl_gemm_args *g,
                                   char *msg);
enum axl_status axl_block_conv2d_ref(const struct axl_block_format *fa,
                                     const struct axl_block_format *fw,
                                     const struct axl_block_mul *mul,
                                     const struct axl_conv_args *a, char *msg);

#ifdef __cplusplus
}
#endif

#endif
