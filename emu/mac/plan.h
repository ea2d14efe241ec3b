/* The MAC plan: what one configuration (struct axl_mac_spec) becomes once
 * bound to formats, shared by emu/mac/plan.c, which chooses it, and by the
 * backends, which run it.
 *
 *   configuration   formats, designs, order, rounding: what the user asked
 *   kinds           src (where products come from) and acc (what adds them),
 *                   enum axl_src / axl_acc in mac_step.h: chosen once, in
 *                   plan.c, from the designs' capability flags and the
 *                   formats; no backend re-derives them
 *   prepared state  the tables in the layouts the kernels read, encoded
 *                   weights (weights.c) and the CUDA backend's device copies,
 *                   made once and kept for the plan's life
 *
 * A new fast path adds a kind (or a prepared layout) here and in plan.c, and
 * one kernel file per backend.
 */
#ifndef AXLUT_EMU_MAC_PLAN_H
#define AXLUT_EMU_MAC_PLAN_H

#include "axlut/mac.h"
#include "axlut/table.h"
#include "axlut/user_design.h"
#include "cpu/small.h"
#include "cpu/vbmi.h"
#include "mac_step.h"
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Affine quantization of one tensor or channel: x ~ s * (q - z). */
struct axl_quant {
    float s;   /* scale */
    int32_t z; /* zero point */
};

/* One operand code unpacked for AXL_SRC_MANTISSA_FAST. */
struct axl_unpacked_code {
    uint32_t sig;
    int16_t k;
    uint8_t sign, normal;
};

struct axl_wcache;    /* encoded weight tensors (weights.c) */
struct axl_block_plan; /* block-scaled formats (block_plan.h) */
struct axl_cuda_plan; /* device-resident state (emu/mac/cuda/mac_cuda.cu) */

/* The byte encoder of a narrow floating format (axl_enc8_prepare). */
struct axl_enc8 {
    uint8_t *t;     /* NULL where it does not apply */
    uint32_t shift; /* bits of the float32 folded into the sticky bit */
};

struct axl_mac {
    /* ---- the configuration ---- */
    struct axl_format fa, fw, fp, facc;
    enum axl_path path;
    enum axl_order order;
    uint32_t chunk;
    enum axl_round round;
    uint64_t seed;
    enum axl_wquant wquant;
    int act_range_set;
    float act_min, act_max;
    enum axl_wscale wscale; /* floating operand scaling (encode.c) */
    enum axl_ascale ascale;
    int scale_pow2, scale_margin;
    float act_amax;
    int int_mode; /* integer operands: affine quantization (then acc is AXL_ACC_INT) */

    const struct axl_design *mul_d; /* NULL for the table of a user design */
    struct axl_design_ctx mul_c;
    const struct axl_design *add_d; /* NULL unless acc is AXL_ACC_CODE or AXL_ACC_NARROW */
    struct axl_design_ctx add_c;
    struct axl_user_design *mul_user, *add_user;
    /* the designs' batch forms (built-in or generated for a user design;
     * the scalar eval in a loop where neither exists): the kernels ask for a
     * block of products or sums per call */
    struct axl_design_batch mul_b, add_b;
    struct axl_table *table; /* full or mantissa table of the multiply */

    /* ---- the kinds ---- */
    enum axl_src src;
    enum axl_acc acc;
    enum axl_narrow narrow_op;  /* AXL_SRC_EXACT_NARROW: operands and products */
    enum axl_narrow narrow_acc; /* AXL_ACC_NARROW: the accumulator */
    int convert_p;              /* code accumulators: the product format differs from
                                   facc, products are re-encoded (nearest-even) */
    uint32_t acc_zero;          /* code of +0 in facc */

    /* ---- prepared state ---- */
    /* AXL_SRC_TABLE: the table transposed, entry [b * na + a], so that the
     * row of one weight code is contiguous; one of: tf (float32 adds: the
     * decoded product), tc (code accumulators: the product as a facc code),
     * ti (integers: the product's value). */
    float *tf;
    uint32_t *tc;
    int32_t *ti;
    /* tc's products as accumulator values, for the CPU's sequential exact
     * adds into bf16/fp16 (AXL_ACC_NARROW: one load per product instead
     * of a code and its decoding); NULL elsewhere */
    float *tn;
    uint32_t na, nb;
    /* tf or ti as byte planes for the AVX-512 VBMI kernels (cpu/vbmi.h);
     * vb.mode == AXL_VBMI_NONE where they do not apply */
    struct axl_vbmi vb;
    /* tf or ti held in registers for tables of at most 64 activation codes
     * (cpu/small.h); sm.mode == AXL_SMALL_NONE where they do not apply.
     * Taken before vb for reductions it serves (axl_small_usable). */
    struct axl_small sm;
    /* AXL_SRC_MANTISSA(_FAST): mt[sx * mt_cols + sy] is the product of the
     * significands sx, sy (hidden bit included), as the core gives it. */
    uint32_t *mt;
    uint32_t mt_cols;
    /* mt holds exactly what axl_fpmul's core gives (checked entry by entry
     * in prepare.c): the design's function then gives the mantissa path's
     * bits, and the CPU kernels take its batch forms instead of a scalar
     * split-lookup-join per product */
    uint8_t mt_is_core;
    /* AXL_SRC_MANTISSA_FAST: for two normal operands whose rounded product
     * is normal, the value is mrt[sx][sy] (the core product rounded to m+1
     * bits, as float) scaled by 2^(ka+kb), exactly what axl_format_pack
     * gives; unpacked[code] holds each operand's unpacking.  Anything else
     * goes the long way. */
    float *mrt;
    struct axl_unpacked_code *unpacked;
    int mrt_emin, mrt_emax; /* result exponents served by mrt */
    /* AXL_ACC_NARROW: the sum of two bf16/fp16 values rounded to float32
     * and then to the accumulator is the correctly rounded sum (24 >= 2p + 2
     * bits, so the double rounding is innocuous): accumulators are float
     * values, rounded by axl_round_bf16/fp16.  dacc[code] decodes facc
     * codes; acc_nan is the value of the adder's NaN result. */
    float *dacc;
    float acc_nan;
    /* AXL_SRC_EXACT_NARROW: the float32 product of two bf16/fp16 values is
     * exact, so rounding it once is mul_exact's product.  dop[code] decodes
     * operand codes; op_nan is the value of the product format's NaN. */
    float *dop;
    float op_nan;

    /* floating activation formats of at most 8 bits, deterministic rounding:
     * the code of every float32 by one byte lookup (encode.c, axl_enc8) */
    struct axl_enc8 enc8;
    struct axl_block_plan *blk; /* block-scaled formats (block_plan.h), else NULL */
    struct axl_wcache *wcache;  /* encoded weights, by tensor (weights.c) */
    struct axl_cuda_plan *cuda; /* device state (NULL without CUDA) */
    char desc[320];
};

/* Passes over fewer elements than this (encoding, tiling, zero-point sums,
 * im2col) run on one thread: their work is tens of microseconds, less than
 * what a parallel region's barrier can cost where a thread is descheduled
 * (a loaded machine, or OpenBLAS's workers spinning after a BLAS call), and
 * a small layer had five such barriers per call besides the kernels' own. */
#define AXL_PAR_MIN (1 << 17)

/* ---- encoding (encode.c) ----------------------------------------------- */

/* Element index = offset in the tensor, which is also the stochastic-
 * rounding index. */
uint32_t axl_emu_quantize(const struct axl_format *f, struct axl_quant q, float x,
                          enum axl_round r, uint32_t rnd);
/* Affine quantization of n values by axl_emu_quantize's rule (codes[i] is
 * the code of x[i]; element index i is the stochastic-rounding index). */
void axl_emu_quantize_n(const struct axl_format *f, struct axl_quant q, const float *x, int64_t n,
                        enum axl_round r, uint64_t seed, uint32_t *codes);
/* The byte encoder of format F under rounding R: 1 with e->t allocated
 * where it applies (floating, at most 8 bits, exponent of at most 7 bits,
 * not stochastic), else 0 with e->t NULL (also when memory is short: the
 * callers keep axl_format_encode).  axl_enc8_free accepts an empty one. */
int axl_enc8_prepare(struct axl_enc8 *e, const struct axl_format *f, enum axl_round r);
void axl_enc8_free(struct axl_enc8 *e);
/* axl_format_encode(f, x, r, 0) for the F and R of axl_enc8_prepare: the
 * result depends on x only through its sign, exponent, the mantissa bits
 * down to one below the narrowest ulp, and whether any bit further down is
 * set (encode.c says why); those bits index the table. */
static inline uint32_t axl_enc8_code(const struct axl_enc8 *e, float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return e->t[(u >> e->shift) << 1 | ((u & ((1u << e->shift) - 1u)) != 0)];
}
/* codes[i] = axl_enc8_code(e, mul ? x[i] * s : x[i]) for i < n: vectorised
 * (AVX2 gathers) where the CPU has it, threaded over large tensors. */
void axl_enc8_codes(const struct axl_enc8 *e, const float *x, int64_t n, float s, int mul,
                    uint32_t *codes);
/* Activation codes of a whole tensor of n elements (and its quantization). */
void axl_emu_encode_acts(const struct axl_mac *m, const float *x, int64_t n, uint32_t *codes,
                         struct axl_quant *qa);
/* Weight codes as W[n][k]; element (n, k) of the caller's tensor is at
 * offset n*sn + k*sk.  qw[nout] receives each channel's quantization. */
void axl_emu_encode_weights(const struct axl_mac *m, const float *w, int64_t nout, int64_t k,
                            int64_t sn, int64_t sk, uint32_t *codes, struct axl_quant *qw);

/* Operand scaling of floating formats: the spec's scaling fields checked
 * and copied into m (AXL_ERR_INVALID for integer formats or a bad
 * calibrated amax or margin); whether m scales anything; the activation
 * scale of a tensor and the weight scales of each output channel (1 where
 * there is no scaling), the same numbers encoding used. */
enum axl_status axl_emu_bind_scaling(struct axl_mac *m, const struct axl_mac_spec *spec,
                                     char *msg);
int axl_emu_scaled(const struct axl_mac *m);
float axl_emu_act_scale(const struct axl_mac *m, float amax); /* amax: the tensor's (dynamic) */
void axl_emu_weight_scales(const struct axl_mac *m, const float *w, int64_t nout, int64_t k,
                           int64_t sn, int64_t sk, float *s);

/* ---- prepared weights (weights.c) -------------------------------------- */

/* One weight tensor encoded for a plan: codes W[n][k], each channel's
 * quantization and (integers) the sum of its weight values, for the
 * zero-point correction.  dev is the CUDA backend's copy (NULL until it
 * makes one). */
struct axl_weights {
    int64_t nout, k;
    const uint32_t *codes;
    const struct axl_quant *qw;
    const int64_t *sumw; /* integers only, else NULL */
    void *dev;
};

/* The encoded weights of the tensor w (layout as axl_emu_encode_weights),
 * encoded on the first call and reused while the tensor's values stay the
 * same (they are compared, so a tensor changed in place, as in training,
 * is encoded again).  Release with axl_weights_release; *out stays valid
 * until then.  dev_free (may be NULL) frees what a backend hangs on dev. */
enum axl_status axl_weights_acquire(const struct axl_mac *m, const float *w, int64_t nout,
                                    int64_t k, int64_t sn, int64_t sk,
                                    const struct axl_weights **out, char *msg);
void axl_weights_release(const struct axl_mac *m, const struct axl_weights *w);
/* The backend's device copy of prepared weights: set once, under the
 * cache's lock (axl_weights_set_dev returns 0 when another thread set it
 * first; then free yours). */
int axl_weights_set_dev(const struct axl_mac *m, const struct axl_weights *w, void *dev,
                        void (*dev_free)(void *));
enum axl_status axl_wcache_create(struct axl_wcache **out);
void axl_wcache_free(struct axl_wcache *c);
/* Statistics: tensors encoded and calls served from the cache. */
void axl_wcache_counts(const struct axl_mac *m, int64_t *encoded, int64_t *reused);

/* ---- backends ---------------------------------------------------------- */

/* CPU kernels (cpu/kernels.c). */
enum axl_status axl_cpu_gemm(const struct axl_mac *m, const struct axl_gemm_args *g, char *msg);
enum axl_status axl_cpu_conv2d(const struct axl_mac *m, const struct axl_conv_args *a,
                               int64_t oh, int64_t ow, char *msg);

/* CUDA kernels (cuda/mac_cuda.cu; cuda/none.c without CUDA). */
enum axl_status axl_cuda_gemm(const struct axl_mac *m, const struct axl_gemm_args *g, char *msg);
enum axl_status axl_cuda_conv2d(const struct axl_mac *m, const struct axl_conv_args *a,
                                int64_t oh, int64_t ow, char *msg);
/* The holder of a plan's device state: no device work until the plan's
 * first CUDA call (NULL without CUDA).  Free with axl_cuda_plan_free (NULL:
 * nothing). */
enum axl_status axl_cuda_plan_create(struct axl_cuda_plan **out);
void axl_cuda_plan_free(struct axl_cuda_plan *p);

#ifdef __cplusplus
}
#endif

#endif
