/* The part of a MAC plan (plan.h) that serves block-scaled formats
 * (include/axlut/block.h): a layer whose activations and weights are named
 * block formats (mxfp8, mxfp4, nvfp4, ...).  Its semantics are those of the
 * reference axl_block_gemm_ref / axl_block_conv2d_ref (block_mac.h), bit for
 * bit:
 *
 *   quantize   weights once per tensor (cached like the plan's encoded
 *              weights), activations per call, into element codes and
 *              block scales along the reduction axis;
 *   products   element code x element code through the multiplier, as a
 *              table over the two element formats built when the plan is
 *              made (e2m1 x e2m1 is 16 x 16, e4m3 x e4m3 256 x 256) from
 *              the design's function or the table file: the same products
 *              the table, mantissa and function paths give;
 *   block sum  sequential in element order: exact float32, or the block
 *              adder on codes of its format (spec.block_add);
 *   scaling    MX: ldexp by the two shared exponents; NVFP4: two float32
 *              multiplies, and once per output the two tensor scales;
 *   across     blocks in reduction order, sequential: exact float32, or the
 *              plan's adder on codes of fmt_acc (spec.add).
 *
 * The plan's element formats are m->fa and m->fw, so the multiplier binds
 * and its path is chosen as for any format.
 */
#ifndef AXLUT_EMU_MAC_BLOCK_PLAN_H
#define AXLUT_EMU_MAC_BLOCK_PLAN_H

#include "axlut/block.h"
#include "plan.h"

#ifdef __cplusplus
extern "C" {
#endif

struct axl_bwcache; /* quantized weight tensors (block_plan.c) */

struct axl_block_plan {
    struct axl_block_format bfa, bfw;
    int bcode;                      /* the block sum runs on an adder design */
    const struct axl_design *badd_d;
    struct axl_design_ctx badd_c;
    struct axl_user_design *badd_user;
    struct axl_design_batch badd_b;
    struct axl_format fbacc;        /* block accumulator format (fp32 when exact) */
    uint32_t bacc_zero;             /* +0 in fbacc */
    /* products [w * na + a]: float32 values (exact block sums) or codes of
     * fbacc (block adder), as axl_block_dot_ref makes them */
    float *ptf;
    uint32_t *ptc;
    uint32_t na, nw;
    /* the block sums by AVX-512 permutes of a product row held in 1 or 4
     * registers (na <= 16 or <= 64, float32 sums, cpu/block_cpu.c), else 0:
     * gathers; AXL_CPU_KERNEL=gather forces gathers */
    int perm;
    /* 256-code elements (e4m3, e5m2, int8) with float32 sums: the product
     * table as byte planes for the VBMI kernel (cpu/vbmi.h), each block's
     * sums one call of axl_vbmi_run; vb.mode AXL_VBMI_NONE where it does
     * not apply */
    struct axl_vbmi vb;
    /* element formats of at most 64 codes with float32 sums: the product
     * table in registers (cpu/small.h), sm.mode AXL_SMALL_NONE where it
     * does not serve blocks of this size on this CPU */
    struct axl_small sm;
    /* the block sums, their scaling and the float32 adds across blocks in
     * one register kernel (cpu/bscale.h: axl_small_run_scaled where sm
     * serves, else axl_vbmi_run_scaled); 0 where the block sums or the
     * adds across blocks run on adder designs, or neither kernel applies */
    int fused;
    float svalue[256];              /* NVFP4: the value of each E4M3 scale code */
    struct axl_bwcache *wcache;
};

/* A block-scaled layer's weights: vectors along the reduction axis, each
 * quantized into nb blocks: codes [nvec][nb * size], scales [nvec][nb], one
 * tensor scale (NVFP4; 1 for MX). */
struct axl_bweights {
    int64_t nvec, nb;
    const uint32_t *codes, *scales;
    float ts;
};

/* A design by name (plan.c): built-in, or a user design from a C file. */
enum axl_status axl_plan_find_design(const char *name, enum axl_op op,
                                     const struct axl_design **d, struct axl_user_design **user,
                                     char *msg);

/* 1 when spec names a block format for activations or weights. */
int axl_block_plan_wanted(const struct axl_mac_spec *spec);
/* Operands of a block-scaled plan: both formats block formats of one block
 * size and scale kind, no operand scaling, sequential order; sets m->fa,
 * m->fw to the element formats and m->blk.  AXL_ERR_INVALID with one line
 * otherwise. */
enum axl_status axl_block_plan_bind(struct axl_mac *m, const struct axl_mac_spec *spec, char *msg);
/* The block adder and the product table (after the multiplier is bound). */
enum axl_status axl_block_plan_prepare(struct axl_mac *m, const struct axl_mac_spec *spec,
                                       char *msg);
void axl_block_plan_free(struct axl_block_plan *bp);

/* The quantized weights of a tensor viewed as vectors v = (o, t), o <
 * nvo, t < nvt, of len values, value i at offset o*so + t*st + i*si:
 * quantized on the first call, reused while the values stay the same.
 * Release with axl_bweights_release. */
enum axl_status axl_bweights_acquire(const struct axl_mac *m, const float *w, int64_t nvo,
                                     int64_t nvt, int64_t len, int64_t so, int64_t st, int64_t si,
                                     const struct axl_bweights **out, char *msg);
void axl_bweights_release(const struct axl_mac *m, const struct axl_bweights *w);

/* One call's operands laid out for the kernels, the same for both
 * backends (cpu/block_cpu.c lays them out):
 *
 *     out[n][m] = ACROSS_b scale(SUM_i P(X[b*size+i][m], W[n][b*size+i]), XS[b][m], WS[n][b])
 *
 * X holds activation element codes with the output position m contiguous
 * (for convolutions an im2col of blocks: tap-major, channel blocks within a
 * tap, as the reference reduces), XS their block scale codes; W and WS the
 * weights' codes and scales, one row per output channel. */
struct axl_block_core {
    const struct axl_mac *m;
    const struct axl_block_plan *bp;
    int64_t nb, size;       /* blocks per output, elements per block */
    int64_t mcount, mvalid; /* positions (a multiple of 128), real outputs */
    int64_t n;              /* output channels (of one group) */
    const uint32_t *x, *xs; /* [nb * size][mcount], [nb][mcount] (host memory) */
    const uint8_t *x8;      /* x as bytes for the VBMI kernel (set by the CPU runner) */
    const uint32_t *w, *ws; /* [n][nb * size], [n][nb] */
    float tsinv;            /* NVFP4: 1 / (t_a * t_w); else 1 */
    const float *bias;
    float *out; /* out[(m / p) * oi + n * sn + (m % p) * sm] */
    int64_t sn, sm, p, oi;
};

/* Runs the core over `groups` groups: x/xs advance by xg/xsg codes per
 * group, w/ws by wg/wsg, outputs by og floats, bias by n. */
typedef enum axl_status (*axl_block_runner)(const struct axl_block_core *c, int64_t groups,
                                            int64_t xg, int64_t xsg, int64_t wg, int64_t wsg,
                                            int64_t og, char *msg);

/* The layers: operands quantized and laid out, then `run`. */
enum axl_status axl_block_gemm_run(const struct axl_mac *m, const struct axl_gemm_args *g,
                                   axl_block_runner run, char *msg);
enum axl_status axl_block_conv2d_run(const struct axl_mac *m, const struct axl_conv_args *a,
                                     int64_t oh, int64_t ow, axl_block_runner run, char *msg);

/* CPU kernels (cpu/block_cpu.c).  axl_block_cpu_perm: the permute width
 * the plan's block sums can use on this CPU (16, 64 or 0). */
int axl_block_cpu_perm(const struct axl_block_plan *bp);
enum axl_status axl_block_cpu_gemm(const struct axl_mac *m, const struct axl_gemm_args *g,
                                   char *msg);
enum axl_status axl_block_cpu_conv2d(const struct axl_mac *m, const struct axl_conv_args *a,
                                     int64_t oh, int64_t ow, char *msg);

/* CUDA kernels (cuda/block_cuda.cu; cuda/none.c without CUDA): the same
 * bits as the CPU's. */
enum axl_status axl_cuda_block_gemm(const struct axl_mac *m, const struct axl_gemm_args *g,
                                    char *msg);
enum axl_status axl_cuda_block_conv2d(const struct axl_mac *m, const struct axl_conv_args *a,
                                      int64_t oh, int64_t ow, char *msg);

#ifdef __cplusplus
}
#endif

#endif
