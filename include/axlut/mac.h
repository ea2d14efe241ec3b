/* The approximate MAC engine: one layer's multiply-accumulate configuration
 * and the GEMM / convolution kernels that apply it to every product and
 * every addition of the reduction.
 *
 * Semantics of one output (floating formats):
 *
 *     a = encode(x, fmt_a, round)     activation = the table's row
 *     b = encode(w, fmt_w, round)     weight     = the table's column
 *     p = MUL(a, b)                   table lookup or design function
 *     acc = ADD(acc, p)               exact float32, or an adder design on
 *                                     codes of fmt_acc (p converted to
 *                                     fmt_acc, nearest-even, if it differs)
 *     y = decode(acc) + bias          bias added exactly in float32
 *
 * in the accumulation order of emu/mac/mac_step.h.  Padding of a
 * convolution enters as the code of 0.0 and goes through MUL like any
 * activation (hardware feeds zeros; it does not skip them).
 *
 * With operand scaling (spec.wscale, spec.ascale; floating formats), x and
 * w are multiplied by their scales sa, sw[n] before encoding and the sum
 * by da * dw[n] (d = 1/s, float32) before the bias:
 *
 *     y = acc * (da * dw[n]) + bias[n]
 *
 * Integer formats use affine quantization, as TFLite-style accelerators:
 * activations per tensor (symmetric for intN, asymmetric for uintN, from
 * the tensor's own range unless a calibrated range is given), weights per
 * output channel or per tensor; the products MUL(qa, qw) of the raw codes
 * are summed in int32 and the zero-point terms are corrected exactly:
 *
 *     acc' = sum MUL(qa, qw) - zw*sum qa - za*sum qw + K*za*zw
 *     y    = (sa * sw) * (float)acc' + bias
 *
 * Which operand is the row is fixed for every kernel: a (activation) is
 * the row, b (weight) the column; most approximate designs are not
 * commutative.
 */
#ifndef AXLUT_MAC_H
#define AXLUT_MAC_H

#include <stddef.h>
#include <stdint.h>

#include "design.h"
#include "emu.h"
#include "format.h"
#include "scale.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The order in which each output adds its products (emu/mac/mac_step.h
 * defines them).  Stored in reports: only grow. */
enum axl_order {
    AXL_ORDER_SEQUENTIAL = 0,
    AXL_ORDER_PAIRWISE = 1,
    AXL_ORDER_CHUNKED = 2,
};

/* How each multiply is evaluated.  Stored in reports: only grow. */
enum axl_path {
    AXL_PATH_AUTO = 0,
    AXL_PATH_TABLE = 1,    /* full operand table */
    AXL_PATH_MANTISSA = 2, /* significand table, sign and exponent exact */
    AXL_PATH_FUNCTION = 3, /* the design's bit-accurate function */
};

enum axl_wquant { AXL_WQUANT_PER_CHANNEL = 0, AXL_WQUANT_PER_TENSOR = 1 };

#define AXL_MAC_MAX_PARAMS AXL_DESIGN_MAX_PARAMS

/* What a user asks for one layer.  Strings are only read during
 * axl_mac_create. */
struct axl_mac_spec {
    const char *mul;      /* built-in design, user design "file.c" or table "file.h5";
                             NULL: mul_exact */
    const char *mul_params[AXL_MAC_MAX_PARAMS]; /* "k=4" */
    int n_mul_params;
    const char *fmt_a;    /* activation format; NULL: fp32 */
    const char *fmt_w;    /* weight format; NULL: same as fmt_a */
    const char *fmt_p;    /* product format; NULL: the design's default */
    enum axl_round round; /* encoding of activations and weights */
    uint64_t seed;        /* stochastic rounding: element index is the tensor offset */
    const char *add;      /* NULL or "fp32": exact float32 adds; else an adder design */
    const char *add_params[AXL_MAC_MAX_PARAMS];
    int n_add_params;
    const char *fmt_acc;  /* accumulator format of an adder design; NULL: fmt_p */
    enum axl_order order;
    uint32_t chunk;       /* AXL_ORDER_CHUNKED: products per chunk (> 0) */
    enum axl_path path;   /* AXL_PATH_AUTO chooses; anything else is forced */
    int max_table_bits;   /* per operand; 0: 12 */
    enum axl_wquant wquant;
    int act_range_set;    /* integer formats: use [act_min, act_max] instead of */
    float act_min, act_max; /* each tensor's own range */
    /* floating formats: operand scaling (include/axlut/scale.h); all zero is
     * none, operands encoded as they are.  Refused for integer formats. */
    enum axl_wscale wscale;
    enum axl_ascale ascale;
    int scale_pow2;       /* scales rounded down to powers of two */
    int scale_margin;     /* 0..AXL_SCALE_MAX_MARGIN */
    float act_amax;       /* AXL_ASCALE_CALIBRATED: the calibrated amax (> 0) */
    /* block-scaled formats (fmt_a and fmt_w naming one, include/axlut/block.h):
     * the block accumulator that sums each block's element products: NULL
     * or "fp32" exact float32 adds, else an adder design on codes of
     * fmt_block_acc (NULL: fp32) with its parameters.  `add` and fmt_acc
     * then accumulate the scaled blocks. */
    const char *block_add;
    const char *block_add_params[AXL_MAC_MAX_PARAMS];
    int n_block_add_params;
    const char *fmt_block_acc;
};

/* A prepared configuration (formats parsed, design bound, tables built). */
struct axl_mac;

/* Prepare a configuration.  On error *out is NULL and msg has one line
 * naming what is wrong (an unknown design, a table whose formats differ
 * from the layer's, a path that cannot serve the formats...). */
enum axl_status axl_mac_create(const struct axl_mac_spec *spec, struct axl_mac **out, char *msg);
void axl_mac_free(struct axl_mac *m);

/* Weights are encoded once per plan and weight tensor and reused while the
 * tensor's values stay the same (on by default); off encodes them on every
 * call, as before plans kept them: for measuring what that saves. */
void axl_mac_cache_weights(struct axl_mac *m, int on);

/* The path chosen for the multiply. */
enum axl_path axl_mac_path(const struct axl_mac *m);
/* Names of the enums ("auto", "table", "mantissa", "function";
 * "sequential", "pairwise", "chunked"; "per-channel", "per-tensor"), "?"
 * out of range; each parse gives AXL_ERR_INVALID for any other text. */
AXL_ENUM_NAMES_DECL(axl_path, axl_path_name, axl_path_parse);
AXL_ENUM_NAMES_DECL(axl_order, axl_order_name, axl_order_parse);
AXL_ENUM_NAMES_DECL(axl_wquant, axl_wquant_name, axl_wquant_parse);
/* One line: "mul=drum(k=6) e4m3 x e4m3 -> e4m3 via table, add=fp32 sequential". */
void axl_mac_describe(const struct axl_mac *m, char *buf, size_t len);

/* C[M][N] = op(A)[M][K] * op(B)[K][N] (+ bias[N]): A holds activations,
 * B weights; op(A) = A^T when trans_a (A is K x M), likewise B. */
struct axl_gemm_args {
    int trans_a, trans_b;
    int64_t m, n, k;
    const float *a;
    int64_t lda;
    const float *b;
    int64_t ldb;
    const float *bias; /* may be NULL */
    float *c;
    int64_t ldc;
};

/* NCHW convolution; weights [OC][C/groups][KH][KW]; y [N][OC][OH][OW]
 * with OH = (H + pad_t + pad_b - dil_h*(KH-1) - 1) / stride_h + 1. */
struct axl_conv_args {
    int64_t n, c, h, w;
    int64_t oc, kh, kw;
    int64_t stride_h, stride_w;
    int64_t pad_t, pad_l, pad_b, pad_r;
    int64_t dil_h, dil_w;
    int64_t groups;
    const float *x, *weight, *bias; /* bias may be NULL */
    float *y;
};

/* Output spatial size of a convolution; AXL_ERR_INVALID with a message for
 * impossible shapes. */
enum axl_status axl_conv_out_size(const struct axl_conv_args *a, int64_t *oh, int64_t *ow,
                                  char *msg);

enum axl_status axl_mac_gemm(const struct axl_mac *m, enum axl_backend be,
                             const struct axl_gemm_args *g, char *msg);
enum axl_status axl_mac_conv2d(const struct axl_mac *m, enum axl_backend be,
                               const struct axl_conv_args *a, char *msg);
/* conv1d: a conv2d with h = kh = 1 (pad_t = pad_b = 0, stride_h = dil_h = 1). */
enum axl_status axl_mac_conv1d(const struct axl_mac *m, enum axl_backend be,
                               const struct axl_conv_args *a, char *msg);

/* The values a configuration multiplies, as float32, for the straight-
 * through estimator of training: x[n] encoded as activations and decoded
 * back (integer formats: s * (q - z), the tensor's own range unless a
 * range is calibrated), or weights W[nout][k] at offsets n*sn + j*sk (per
 * output channel as configured), written at the same offsets of out.
 * Fails for want of memory, and with AXL_ERR_UNSUPPORTED for block-scaled
 * formats (quantized along a layer's reduction axis, which these views do
 * not give). */
enum axl_status axl_mac_quantize_acts(const struct axl_mac *m, const float *x, int64_t n,
                                      float *out, char *msg);
enum axl_status axl_mac_quantize_weights(const struct axl_mac *m, const float *w, int64_t nout,
                                         int64_t k, int64_t sn, int64_t sk, float *out,
                                         char *msg);

/* A power of two s such that s * amax sits just below the largest finite
 * value of operand `role` (0 activation, 1 weight) of m: the per-tensor
 * scaling with which reduced-precision training keeps small values such
 * as gradients from flushing to zero (Micikevicius et al., "Mixed
 * precision training", ICLR 2018; "FP8 formats for deep learning", 2022).
 * 1 for integer formats (quantized with their own scale), for float32, and
 * when amax is 0 or not finite. */
float axl_mac_operand_scale(const struct axl_mac *m, int role, float amax);

/* The largest magnitude operand `role` (0 activation, 1 weight) of m
 * represents without clipping: the format's largest finite value for
 * narrow floating formats, INFINITY for float32 and for integer formats
 * (quantized with a range taken from the tensor). */
float axl_mac_operand_limit(const struct axl_mac *m, int role);

#ifdef __cplusplus
}
#endif

#endif
