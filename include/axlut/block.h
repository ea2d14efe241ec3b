/* Block-scaled formats: a vector stored as blocks of small elements that
 * share one scale per block, as OCP Microscaling and NVIDIA's NVFP4 define
 * them.  This header gives the formats, their conversion (quantize a vector
 * of float32 into element codes and block scales, decode them back) and the
 * reference semantics of a dot product of two block-scaled vectors, with
 * each element product through a multiplier design on element codes.
 *
 *   OCP MX v1.0 ("OCP Microscaling Formats (MX) Specification", v1.0, Open
 *   Compute Project, 2023; Rouhani et al., "Microscaling Data Formats for
 *   Deep Learning", arXiv:2310.10537): blocks of 32 elements share an E8M0
 *   scale X = 2^(c - 127), c = 0..254 (255 is NaN).
 *
 *     format     element                       emax_elem
 *     mxfp8      e4m3 (OCP FP8, saturating)    8
 *     mxfp8e5m2  e5m2 (saturating)             15
 *     mxfp6e3m2  e3m2                          4
 *     mxfp6e2m3  e2m3                          2
 *     mxfp4      e2m1                          2
 *     mxint8     int8, value = code * 2^-6     0
 *
 *   NVFP4 (NVIDIA, "Pretraining Large Language Models with NVFP4",
 *   arXiv:2509.25149, 2025, section 2): blocks of 16 e2m1 elements share an
 *   E4M3 scale, and the whole vector one float32 scale.
 *
 * The exact conversion rules (scale selection, saturation, zero blocks,
 * NaN and inf, the partial last block, rounding) are in docs/FORMATS.md
 * and at axl_block_quantize below.
 *
 * Layout of a quantized vector of n values: nblocks = ceil(n / size)
 * blocks; codes[b * size + i] is element i of block b (the last block
 * padded with zeros), scales[b] the code of block b's scale (E8M0 code for
 * MX, E4M3 code for NVFP4), and one float32 tensor scale (1 for MX).
 */
#ifndef AXLUT_BLOCK_H
#define AXLUT_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "format.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Stored in files and reports: only grow at the end. */
enum axl_block_kind {
    AXL_BLOCK_MXFP8 = 0,
    AXL_BLOCK_MXFP8E5M2 = 1,
    AXL_BLOCK_MXFP6E3M2 = 2,
    AXL_BLOCK_MXFP6E2M3 = 3,
    AXL_BLOCK_MXFP4 = 4,
    AXL_BLOCK_MXINT8 = 5,
    AXL_BLOCK_NVFP4 = 6,
};

/* How a block's scale is stored. */
enum axl_block_scale {
    AXL_BSCALE_E8M0 = 0, /* OCP MX: 2^(code - 127), code 255 NaN */
    AXL_BSCALE_E4M3 = 1, /* NVFP4: an OCP FP8 E4M3 code (non-negative) */
};

#define AXL_BLOCK_MAX_SIZE 32

/* A block-scaled format: a plain value. */
struct axl_block_format {
    uint8_t kind;          /* enum axl_block_kind */
    uint8_t scale;         /* enum axl_block_scale */
    uint16_t size;         /* elements per block */
    int32_t emax;          /* exponent of the element format's largest normal
                              (the MX scale rule) */
    int32_t elem_shift;    /* an element's value is decode(elem, code) * 2^elem_shift
                              (MXINT8: -6; else 0) */
    struct axl_format elem; /* element format (the one of format.h) */
    struct axl_format sfmt; /* E4M3 scales: their format; E8M0: unused (zeroed) */
    char name[AXL_FORMAT_NAME_LEN];
};

/* Parse a block format name (mxfp8, mxfp8e5m2, mxfp6e3m2, mxfp6e2m3, mxfp4,
 * mxint8, nvfp4).  AXL_ERR_INVALID with one line in msg (may be NULL) for
 * any other name. */
enum axl_status axl_block_format_parse(const char *name, struct axl_block_format *out,
                                       char *msg);
/* 1 when name is a block format name (no message, no parse of the rest). */
int axl_block_format_is(const char *name);

/* The named block formats, for listing: name, one-line note (static). */
size_t axl_block_named_count(void);
const char *axl_block_named(size_t i);
const char *axl_block_named_note(size_t i);

/* Blocks needed for n values: ceil(n / size). */
int64_t axl_block_count(const struct axl_block_format *bf, int64_t n);

/* The value of a scale code (E8M0: 2^(code-127), NaN at 255; E4M3: its
 * value), as float32 (exact: 2^-127 is a float32 subnormal). */
float axl_block_scale_value(const struct axl_block_format *bf, uint32_t scale_code);
/* 1 when the scale code is NaN (then the whole block decodes to NaN). */
int axl_block_scale_is_nan(const struct axl_block_format *bf, uint32_t scale_code);

/* The value of one element code, the element format's value times
 * 2^elem_shift (exact). */
double axl_block_elem_value(const struct axl_block_format *bf, uint32_t code);

/* NVFP4's per-tensor (encode) scale for a tensor whose largest finite
 * magnitude is amax: 6 * 448 / amax in float32 (1 when amax is 0, the
 * largest float32 when the quotient overflows).  1 for MX formats. */
float axl_block_tensor_scale(const struct axl_block_format *bf, float amax);

/* Quantize x[n] into nblocks = axl_block_count(bf, n) blocks: codes
 * [nblocks * size], scales [nblocks], *tensor_scale.  Element i is rounded
 * by `round` (stochastic: draw axl_rand32(seed, i)); scales always round to
 * nearest-even.  For NVFP4, given_tensor_scale (> 0, finite) replaces the
 * one taken from x when not NULL (a calibrated or shared scale); MX
 * formats ignore it and set *tensor_scale = 1.  AXL_ERR_INVALID for n < 0,
 * NULL buffers or a bad given scale. */
enum axl_status axl_block_quantize(const struct axl_block_format *bf, const float *x, int64_t n,
                                   enum axl_round round, uint64_t seed,
                                   const float *given_tensor_scale, uint32_t *codes,
                                   uint32_t *scales, float *tensor_scale, char *msg);

/* axl_block_quantize (round to nearest-even, MX formats with floating
 * elements of at most 8 bits) of NCOL vectors of LEN values laid out as
 * columns: value i of vector c at x[i * xstride + c] (a convolution's
 * input, channel-major: the vectors are its pixels); element i of block b
 * of vector c to codes[(b * size + i) * ostride + c] as a byte, its scale
 * to scales[b * ostride + c].  The same codes and scales as
 * axl_block_quantize of each vector, without transposing them first.
 * Returns 0 (and writes nothing) for formats it does not serve. */
int axl_block_quantize_cols(const struct axl_block_format *bf, const float *x, int64_t len,
                            int64_t ncol, int64_t xstride, uint8_t *codes, uint32_t *scales,
                            int64_t ostride);

/* Decode n values (the first n of the blocks) into out[n]:
 *     MX:    elem_value * X                     (one rounding to float32)
 *     NVFP4: (elem_value * scale) / tensor_scale (the product is exact in
 *            float32; one rounding, the divide)
 * A NaN scale decodes its whole block to NaN. */
enum axl_status axl_block_decode(const struct axl_block_format *bf, const uint32_t *codes,
                                 const uint32_t *scales, float tensor_scale, int64_t n,
                                 float *out, char *msg);

/* ---- reference semantics of a block dot product ------------------------- */

/* One element product: a code of the product format from an activation
 * element code a and a weight element code w (a design's eval over a bound
 * context, or a table lookup, behind ctx). */
typedef uint32_t (*axl_block_mul_fn)(const void *ctx, uint32_t a, uint32_t w);

/* The arithmetic of a block dot product: the multiplier of element
 * products (eval NULL: the exact product of the two element values, exact
 * in float32 for every element format here), and optionally the adders.
 * badd NULL: the block accumulator adds exactly in float32; else each
 * product's float32 value is encoded into fbacc (nearest-even) and summed
 * by badd(badd_ctx, older sum, product) on codes of fbacc from its +0.
 * add NULL: the blocks' scaled terms add exactly in float32; else each
 * term is encoded into facc (nearest-even) and summed by add(add_ctx,
 * older, term) on codes of facc from its +0.  Callers that give only the
 * first three fields get exact sums. */
struct axl_block_mul {
    axl_block_mul_fn eval;
    const void *ctx;
    struct axl_format fp; /* format of eval's result codes */
    axl_block_mul_fn badd; /* the block accumulator's adder (NULL: fp32) */
    const void *badd_ctx;
    struct axl_format fbacc;
    axl_block_mul_fn add; /* the adder across blocks (NULL: fp32) */
    const void *add_ctx;
    struct axl_format facc;
};

/* One operand vector: nblocks blocks of bf (axl_block_quantize's layout). */
struct axl_block_vec {
    const struct axl_block_format *bf;
    const uint32_t *codes;
    const uint32_t *scales;
    float tensor_scale;
};

/* y = sum over blocks b of  (sum over i of P(a_bi, w_bi)) * S_a,b * S_w,b,
 * then * 1 / (tensor_scale_a * tensor_scale_w), every step in float32:
 *   P     the product of element codes through mul (decoded from mul->fp,
 *         then * 2^(elem_shift_a + elem_shift_w)), or exact when mul is NULL
 *         or mul->eval is NULL;
 *   block sum   sequential over i = 0..size-1, float32 (the block
 *               accumulator, exact fp32 adds; or mul->badd on codes of
 *               mul->fbacc, decoded to float32 at the block's end);
 *   scaling     MX: ldexp by the two shared exponents (exact unless it
 *               leaves float32's range); NVFP4: (sum * S_a) * S_w;
 *   across blocks  sequential over b, float32 (or mul->add on codes of
 *                  mul->facc, decoded at the end);
 *   tensor scales  one float32 multiply by 1 / (t_a * t_w) (1 for MX).
 * A NaN scale makes its block's term NaN; a NaN result is NAN (+, quiet,
 * no payload), whichever NaN the adds met.  Both vectors need the same
 * block size; their element formats may differ.  AXL_ERR_INVALID with a
 * message otherwise. */
enum axl_status axl_block_dot_ref(const struct axl_block_vec *a, const struct axl_block_vec *w,
                                  int64_t nblocks, const struct axl_block_mul *mul, float *out,
                                  char *msg);

#ifdef __cplusplus
}
#endif

#endif
