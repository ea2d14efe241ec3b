/* The prepared MAC configuration, shared by emu/mac.c and the kernels. */
#ifndef AXLUT_EMU_MAC_INTERNAL_H
#define AXLUT_EMU_MAC_INTERNAL_H

#include "axlut/mac.h"
#include "axlut/table.h"
#include "axlut/user_design.h"
#include "cpu/vbmi.h"

#ifdef __cplusplus
extern "C" {
#endif

struct axl_mac {
    struct axl_format fa, fw, fp, facc;
    enum axl_path path;
    enum axl_order order;
    uint32_t chunk;
    enum axl_round round;
    uint64_t seed;
    enum axl_wquant wquant;
    int act_range_set;
    float act_min, act_max;
    int int_mode;  /* integer formats: affine quantization, int32 accumulation */
    int add_exact; /* exact float32 adds (else add_d on facc codes) */
    int convert_p; /* the product format differs from facc: re-encode */
    int exact_f32; /* mul_exact on fp32 x fp32 -> fp32, nearest: a float32 multiply is the
                      same correctly rounded product, so kernels use it directly */

    const struct axl_design *mul_d;
    struct axl_design_ctx mul_c;
    const struct axl_design *add_d;
    struct axl_design_ctx add_c;
    struct axl_user_design *mul_user, *add_user;
    struct axl_table *table; /* full or mantissa table of the multiply */

    /* Prepared table, transposed: entry [b * na + a], so that the row of one
     * weight code is contiguous.  Exactly one is set on the table path:
     * tf (exact float32 adds: the decoded product), tc (adder design: the
     * product as a facc code), ti (integers: the product's value). */
    float *tf;
    uint32_t *tc;
    int32_t *ti;
    uint32_t na, nb;
    /* tf or ti as byte planes for the AVX-512 VBMI kernels (emu/cpu/vbmi.h);
     * vb.mode == AXL_VBMI_NONE where they do not apply */
    struct axl_vbmi vb;
    /* Mantissa table of the core: mt[sx * mt_cols + sy] is the product of
     * the significands sx, sy (hidden bit included), as the core gives it. */
    uint32_t *mt;
    uint32_t mt_cols;
    /* Mantissa path with exact float32 adds: for two normal operands whose
     * rounded product is normal, the value is mrt[sx][sy] (the core product
     * rounded to m+1 bits, as float) scaled by 2^(ka+kb), exactly what
     * axl_format_pack gives; the operands' unpacking is looked up in
     * unpacked[code].  Anything else goes the long way. */
    float *mrt;
    struct axl_unpacked_code {
        uint32_t sig;
        int16_t k;
        uint8_t sign, normal;
    } *unpacked;
    int mrt_emin, mrt_emax; /* result exponents served by mrt */

    uint32_t acc_zero; /* code of +0 in facc */
    /* Exact adds into bf16 or fp16 (add_exact, nearest-even): the sum of
     * two such values rounded to float32 and then to the accumulator is
     * the correctly rounded sum (24 >= 2p + 2 bits, so the double rounding
     * is innocuous), so the kernels keep accumulators as float values and
     * round with bit operations instead of calling the adder per add.
     * acc_fast: 0 none, 1 bf16, 2 fp16; dacc[code] decodes facc codes;
     * acc_nan is the value of the adder's NaN result. */
    int acc_fast;
    float *dacc;
    float acc_nan;
    /* mul_exact on bf16 or fp16 operands and products (nearest-even): the
     * float32 product of two such values is exact, so rounding it once to
     * the format (axl_round_bf16/fp16) is the design's product.
     * exact_narrow: 0 none, 1 bf16, 2 fp16; dop[code] decodes operand
     * codes; op_nan is the value of the product format's NaN. */
    int exact_narrow;
    float *dop;
    float op_nan;
    char desc[320];
};

/* Affine quantization of one tensor or channel: x ~ s * (q - z). */
struct axl_quant {
    float s;   /* scale */
    int32_t z; /* zero point */
};

/* emu/encode.c: element index = offset in the tensor, which is also the
 * stochastic-rounding index. */
uint32_t axl_emu_quantize(const struct axl_format *f, struct axl_quant q, float x,
                          enum axl_round r, uint32_t rnd);
/* Activation codes of a whole tensor of n elements (and its quantization). */
void axl_emu_encode_acts(const struct axl_mac *m, const float *x, int64_t n, uint32_t *codes,
                         struct axl_quant *qa);
/* Weight codes as W[n][k]; element (n, k) of the caller's tensor is at
 * offset n*sn + k*sk.  qw[nout] receives each channel's quantization. */
void axl_emu_encode_weights(const struct axl_mac *m, const float *w, int64_t nout, int64_t k,
                            int64_t sn, int64_t sk, uint32_t *codes, struct axl_quant *qw);

/* CPU kernels (emu/cpu/kernels.c). */
enum axl_status axl_cpu_gemm(const struct axl_mac *m, const struct axl_gemm_args *g, char *msg);
enum axl_status axl_cpu_conv2d(const struct axl_mac *m, const struct axl_conv_args *a,
                               int64_t oh, int64_t ow, char *msg);

/* CUDA kernels (emu/cuda/mac_cuda.cu; emu/cpu_only.c without CUDA). */
enum axl_status axl_cuda_gemm(const struct axl_mac *m, const struct axl_gemm_args *g, char *msg);
enum axl_status axl_cuda_conv2d(const struct axl_mac *m, const struct axl_conv_args *a,
                                int64_t oh, int64_t ow, char *msg);

#ifdef __cplusplus
}
#endif

#endif
