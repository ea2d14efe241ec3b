/* CPU kernels (OpenMP): GEMM and convolution with the MAC configuration
 * applied to every product and every addition of the reduction.
 *
 * Both kernels reduce to one core over codes:
 *
 *     out[n][m] = REDUCE_k MUL(X[k][m], W[n][k])
 *
 * X holds activation codes with the output position m contiguous (im2col
 * for convolutions), W weight codes, one row per output channel n.  For a
 * fixed weight code the products of every activation code are one row of
 * the transposed table (a few KB for 8-bit formats), so the inner loop is
 * a gather from a row resident in L1 into a block of accumulators, one per
 * output position, each kept in the defined order (emu/mac/mac_step.h)
 * so that every backend gives the same bits.  Work is split over output
 * channels and blocks of positions, so both cores are busy at batch 1.
 *
 * As in BLIS, a reference block per accumulator kind serves every product
 * source and every order (products through the plan's source, adds in the
 * order's tree); faster blocks override the slots of the (accumulator,
 * source) table for the orders they implement, and the VBMI kernels take
 * whatever the plan prepared byte planes for.  The plan's kinds are looked
 * at once per block, never per MAC, and so are the designs: products of the
 * function path and sums of adder designs come a block per call from the
 * designs' batch forms (design.h: axl_batch_row, axl_batch_pair), which
 * give the scalar function's bits.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/gather.h"
#include "designs/builtin.h"
#include "mac_step.h"
#include "plan.h"

#define MB 128 /* output positions per block */

/* ---- the core ---------------------------------------------------------- */

struct core {
    const struct axl_mac *m;
    int64_t k, mcount, n;   /* reduction length, positions (a multiple of MB), channels */
    int64_t mvalid;         /* positions that are real outputs */
    const uint32_t *x;      /* [k][mcount] activation codes */
    const uint8_t *x8;      /* instead of x for the VBMI kernels: byte codes (the plan's
                               xmap), laid out [block][k][MB] (tile_at) */
    const uint32_t *w;      /* [n][k] weight codes */
    const float *bias;      /* [n] or NULL */
    const float *alpha;     /* [n]: scaled operands (axl_emu_scaled), each output's factor
                               back to the tensors' scale, applied before the bias; else NULL */
    float *out;             /* out[n * sn + pos * sm] */
    int64_t sn, sm;
    /* integer mode */
    float sa;
    int32_t za;
    const struct axl_quant *qw; /* [n] */
    const int64_t *sumx;    /* [mcount]: sum over k of activation values */
    const int64_t *sumw;    /* [n]: sum over k of weight values */
    int64_t p, oi;          /* positions per image, output stride per image: the positions
                               of a batch of images run as one axis, so small images still
                               fill whole blocks */
};

/* Where output (n, m) goes. */
static inline float *out_at(const struct core *c, int64_t n, int64_t m)
{
    return c->out + (m / c->p) * c->oi + n * c->sn + (m % c->p) * c->sm;
}

/* Positions m0 .. m0 + len - 1 of output row n, split where an image
 * ends: BODY runs for each run of positions i0 .. i1 - 1 of the block,
 * with o pointing at the output of position i0 and stride c->sm (no
 * division per output). */
#define FOR_OUTPUT_RUNS(c, n, m0, len, BODY)                                                      \
    for (int64_t i0 = 0; i0 < (len);) {                                                           \
        int64_t img = ((m0) + i0) / (c)->p, q = ((m0) + i0) % (c)->p;                             \
        int64_t i1 = i0 + ((c)->p - q) < (len) ? i0 + ((c)->p - q) : (len);                       \
        float *o = (c)->out + img * (c)->oi + (n) * (c)->sn + q * (c)->sm;                         \
        BODY;                                                                                     \
        i0 = i1;                                                                                  \
    }

/* A float output: the sum v scaled back (alpha) and the bias added, in
 * the order and roundings of the pass this replaces (axl_mac_gemm's
 * y * alpha[n] + bias[n] over the stored sums: two roundings, no fused
 * multiply-add in C11 mode). */
static inline float final_f32(const struct core *c, int64_t n, float v)
{
    float y = c->alpha ? v * c->alpha[n] : v;
    return c->bias ? y + c->bias[n] : y;
}

/* Output row n of a block from float32 sums, scaled back, bias added. */
static void store_f32(const struct core *c, int64_t n, int64_t m0, int64_t len, const float *acc)
{
    const int64_t sm = c->sm;
    FOR_OUTPUT_RUNS(c, n, m0, len, {
        for (int64_t i = i0; i < i1; i++)
            o[(i - i0) * sm] = final_f32(c, n, acc[i]);
    })
}

/* ... from int32 sums: the zero-point correction, dequantization, bias. */
static void store_int(const struct core *c, int64_t n, int64_t m0, int64_t len, const int32_t *acc)
{
    int64_t za = c->za, zw = c->qw[n].z, sumw = c->sumw[n];
    float scale = c->sa * c->qw[n].s;
    float b = c->bias ? c->bias[n] : 0.0f;
    const int64_t sm = c->sm;
    FOR_OUTPUT_RUNS(c, n, m0, len, {
        for (int64_t i = i0; i < i1; i++) {
            int64_t corr = (int64_t)acc[i] - zw * c->sumx[m0 + i] - za * sumw + c->k * za * zw;
            float y = scale * (float)corr;
            o[(i - i0) * sm] = c->bias ? y + b : y;
        }
    })
}

/* gather loops: cpu/gather.h (AXL_CLONES, gather_add_f32) */

AXL_CLONES static void gather_add_i32(int32_t *restrict acc, const int32_t *restrict row,
                                      const uint32_t *restrict x, int n)
{
    for (int i = 0; i < n; i++)
        acc[i] = axl_add_i32(acc[i], row[x[i]]);
}

/* Exact float32: codes are float bits, read through a type that may alias
 * them.  The multiply and the add stay separate operations: C11 mode
 * (-std=c11) does not contract them into fused multiply-adds. */
typedef float f32_alias __attribute__((may_alias));

AXL_CLONES static void mul_add_f32(float *restrict acc, const uint32_t *restrict x, float w, int n)
{
    const f32_alias *xf = (const f32_alias *)x;
    for (int i = 0; i < n; i++)
        acc[i] += xf[i] * w;
}

/* The fast paths work on a group of up to NG output channels at a time and
 * walk the reduction in tiles of KT: the tile of activation codes (KT x MB
 * codes, 32 KiB) stays in L1 while every channel of the group consumes it,
 * instead of streaming the whole reduction from L2 or memory once per
 * channel.  Each output still adds its products in k order. */
#define NG 16
_Static_assert(NG == AXL_VBMI_NG, "one task size for both kernels");
#define KT 64

/* A block of NG channels x MB positions walked in tiles of KT reductions:
 * STEP(acc_row, b, xk) adds the products of weight code b with the
 * activation codes xk to one channel's accumulators, in k order; STORE
 * writes a channel's outputs. */
#define DEFINE_TILED_BLOCK(NAME, ACC, STEP, STORE)                                                \
    static void NAME(const struct core *c, int64_t n0, int64_t n1, int64_t m0, int64_t len)       \
    {                                                                                             \
        const struct axl_mac *m = c->m;                                                           \
        ACC acc[NG][MB];                                                                          \
        memset(acc, 0, sizeof acc);                                                               \
        const int lv = (int)((len + 15) & ~15); /* whole vectors; the buffer is padded to MB */  \
        (void)m;                                                                                  \
        (void)lv;                                                                                 \
        for (int64_t k0 = 0; k0 < c->k; k0 += KT) {                                               \
            int64_t k1 = k0 + KT < c->k ? k0 + KT : c->k;                                         \
            for (int64_t n = n0; n < n1; n++) {                                                   \
                const uint32_t *wrow = c->w + n * c->k;                                           \
                for (int64_t k = k0; k < k1; k++)                                                 \
                    STEP(acc[n - n0], wrow[k], c->x + k * c->mcount + m0);                        \
            }                                                                                     \
        }                                                                                         \
        for (int64_t n = n0; n < n1; n++)                                                         \
            STORE(c, n, m0, len, acc[n - n0]);                                                    \
    }

/* Float32 adds in sequential order, products from the table (a gather) or
 * a float32 multiply (AXL_SRC_EXACT_F32). */
#define STEP_F32(row, b, xk)                                                                      \
    do {                                                                                          \
        if (m->src == AXL_SRC_TABLE)                                                              \
            gather_add_f32(row, m->tf + (size_t)(b) * m->na, xk, lv);                             \
        else                                                                                      \
            mul_add_f32(row, xk, axl_f32_from_bits(b), lv);                                       \
    } while (0)
DEFINE_TILED_BLOCK(block_f32_seq, float, STEP_F32, store_f32)

/* Integers: int32 products, wrapping int32 adds (any order gives the same
 * bits), then the zero-point correction and dequantization.  Products from
 * the table (a gather) or the design's function. */
static void int_products_add(const struct axl_mac *m, int32_t *acc, uint32_t b,
                             const uint32_t *xk, int64_t len, int lv)
{
    if (m->src == AXL_SRC_TABLE) {
        gather_add_i32(acc, m->ti + (size_t)b * m->na, xk, lv);
        return;
    }
    uint32_t p[MB];
    axl_batch_row(&m->mul_b, &m->mul_c, xk, b, p, len);
    /* the product format's kind as a constant, so that decode folds to a
     * sign (or zero) extension and the loop vectorises: it cost more than
     * the vectorised products themselves */
    struct axl_format fp = m->fp;
    if (fp.kind == AXL_KIND_INT) {
        fp.kind = AXL_KIND_INT;
        for (int64_t i = 0; i < len; i++)
            acc[i] = axl_add_i32(acc[i], (int32_t)axl_format_decode(&fp, p[i]));
    } else {
        for (int64_t i = 0; i < len; i++)
            acc[i] = axl_add_i32(acc[i], (int32_t)axl_format_decode(&fp, p[i]));
    }
}
#define STEP_INT(row, b, xk) int_products_add(m, row, b, xk, len, lv)
DEFINE_TILED_BLOCK(block_int, int32_t, STEP_INT, store_int)

/* One product through the mantissa table: the built-in floating
 * multiplier's own sign, exponent, specials and rounding around a lookup of
 * the significand product. */
static inline uint32_t mantissa_product(const struct axl_mac *m, uint32_t a, uint32_t b)
{
    struct axl_fpmul_parts r = axl_fpmul_split(&m->mul_c, a, b);
    uint64_t p = r.special ? 0 : m->mt[r.sx * m->mt_cols + r.sy];
    return axl_fpmul_join(&m->mul_c, &r, p, a, b);
}

/* The design's function, a block of products per call, as float32 values. */
static void function_products_f32(const struct axl_mac *m, uint32_t b, const uint32_t *xk,
                                  int64_t len, float *v)
{
    uint32_t p[MB];
    axl_batch_row(&m->mul_b, &m->mul_c, xk, b, p, len);
    axl_batch_decode(&m->fp, p, v, len);
}

/* The products of one weight code with a block of activation codes, as
 * float32 values (float32 and narrow accumulators), from every source. */
static void products_f32(const struct axl_mac *m, uint32_t b, const uint32_t *xk, int64_t len,
                         float *v)
{
    switch (m->src) {
    case AXL_SRC_TABLE: {
        const float *row = m->tf + (size_t)b * m->na;
        for (int64_t i = 0; i < len; i++)
            v[i] = row[xk[i]];
        break;
    }
    case AXL_SRC_EXACT_F32: {
        float w = axl_f32_from_bits(b);
        for (int64_t i = 0; i < len; i++)
            v[i] = axl_f32_from_bits(xk[i]) * w;
        break;
    }
    case AXL_SRC_EXACT_NARROW: {
        float w = m->dop[b];
        if (m->narrow_op == AXL_NARROW_BF16)
            for (int64_t i = 0; i < len; i++)
                v[i] = axl_round_bf16(m->dop[xk[i]] * w, m->op_nan);
        else
            for (int64_t i = 0; i < len; i++)
                v[i] = axl_round_fp16(m->dop[xk[i]] * w, m->op_nan);
        break;
    }
    case AXL_SRC_MANTISSA_FAST: {
        const struct axl_unpacked_code ub = m->unpacked[b];
        for (int64_t i = 0; i < len; i++) {
            const struct axl_unpacked_code ua = m->unpacked[xk[i]];
            float r = m->mrt[(size_t)ua.sig * m->mt_cols + ub.sig];
            uint32_t rb = axl_f32_bits(r);
            int k = ua.k + ub.k;
            int e = (int)(rb >> 23) - 127 + k;
            if (ua.normal && ub.normal && r != 0.0f && e >= m->mrt_emin && e <= m->mrt_emax)
                v[i] = axl_f32_from_bits((rb + ((uint32_t)k << 23)) | ((uint32_t)(ua.sign ^ ub.sign) << 31));
            else
                v[i] = axl_format_decode(&m->fp, mantissa_product(m, xk[i], b));
        }
        break;
    }
    case AXL_SRC_MANTISSA:
        if (m->mt_is_core) { /* the function gives the table's bits (plan.h) */
            function_products_f32(m, b, xk, len, v);
            break;
        }
        for (int64_t i = 0; i < len; i++)
            v[i] = axl_format_decode(&m->fp, mantissa_product(m, xk[i], b));
        break;
    default: /* AXL_SRC_FUNCTION */
        function_products_f32(m, b, xk, len, v);
        break;
    }
}

/* ... as accumulator codes (adder designs); the plan never gives code
 * accumulators the sources that make values (exact forms, MANTISSA_FAST). */
static void products_code(const struct axl_mac *m, uint32_t b, const uint32_t *xk, int64_t len,
                          uint32_t *v)
{
    if (m->src == AXL_SRC_TABLE) {
        const uint32_t *row = m->tc + (size_t)b * m->na;
        for (int64_t i = 0; i < len; i++)
            v[i] = row[xk[i]];
    } else {
        if (m->src == AXL_SRC_MANTISSA && !m->mt_is_core)
            for (int64_t i = 0; i < len; i++)
                v[i] = mantissa_product(m, xk[i], b);
        else
            axl_batch_row(&m->mul_b, &m->mul_c, xk, b, v, len);
        if (m->convert_p) { /* into the accumulator format, a block at a time */
            float f[MB];
            axl_batch_decode(&m->fp, v, f, len);
            axl_batch_encode(&m->facc, f, v, len);
        }
    }
}

/* ... as float values of a bf16 / fp16 accumulator (AXL_ACC_NARROW). */
static void products_narrow(const struct axl_mac *m, uint32_t b, const uint32_t *xk, int64_t len,
                            float *v)
{
    if (m->src == AXL_SRC_EXACT_NARROW) { /* the product value, then into the accumulator */
        products_f32(m, b, xk, len, v);
        if (m->narrow_acc == AXL_NARROW_BF16)
            for (int64_t i = 0; i < len; i++)
                v[i] = axl_round_bf16(v[i], m->acc_nan);
        else
            for (int64_t i = 0; i < len; i++)
                v[i] = axl_round_fp16(v[i], m->acc_nan);
        return;
    }
    uint32_t code[MB];
    products_code(m, b, xk, len, code);
    for (int64_t i = 0; i < len; i++)
        v[i] = m->dacc[code[i]];
}

/* Every other configuration: products of the block for each k, then the
 * order's reduction for the whole block at once.  ACC is the accumulator
 * type, VADD(x, y, out, len) the add unit over a block (out[i] =
 * ADD(x[i], y[i]), out may be x or y: one adder call per block, the order
 * of adds within each output unchanged), PRODUCTS the product producer,
 * ZERO the +0 accumulator, STORE(c, n, m0, len, acc) writes a channel's outputs.
 * Every output of a block has seen the same number of products, so the
 * pairwise stack merges the same levels in every lane: the stack is kept
 * level-major, a block of partial sums per level. */
#define DEFINE_BLOCK_GENERIC(NAME, ACC, VADD, PRODUCTS, ZERO, STORE)                             \
    static void NAME##_one(const struct core *c, int64_t n, int64_t m0, int64_t len)              \
    {                                                                                             \
        const struct axl_mac *m = c->m;                                                           \
        ACC acc[MB], v[MB], part[MB];                                                             \
        ACC stack[AXL_PAIRWISE_LEVELS][MB]; /* 16 KB: levels of partial sums */                  \
        uint32_t count = 0;                                                                       \
        for (int64_t i = 0; i < len; i++)                                                         \
            acc[i] = part[i] = ZERO;                                                              \
        const uint32_t *wrow = c->w + n * c->k;                                                   \
        for (int64_t k = 0; k < c->k; k++) {                                                      \
            PRODUCTS(m, wrow[k], c->x + k * c->mcount + m0, len, v);                              \
            switch (m->order) {                                                                   \
            case AXL_ORDER_SEQUENTIAL:                                                            \
                VADD(acc, v, acc, len);                                                           \
                break;                                                                            \
            case AXL_ORDER_PAIRWISE: { /* AXL_PAIRWISE_PUSH, level by level over the block */  \
                uint32_t lvl = 0;                                                                 \
                while ((count >> lvl) & 1u) {                                                     \
                    VADD(stack[lvl], v, v, len);                                                  \
                    lvl++;                                                                        \
                }                                                                                 \
                memcpy(stack[lvl], v, (size_t)len * sizeof v[0]);                                 \
                count++;                                                                          \
                break;                                                                            \
            }                                                                                     \
            default: {                                                                            \
                int64_t pos = k % m->chunk;                                                       \
                if (pos == 0)                                                                     \
                    memcpy(part, v, (size_t)len * sizeof v[0]);                                   \
                else                                                                              \
                    VADD(part, v, part, len);                                                     \
                if (pos == (int64_t)m->chunk - 1 || k == c->k - 1)                                \
                    VADD(acc, part, acc, len);                                                    \
                break;                                                                            \
            }                                                                                     \
            }                                                                                     \
        }                                                                                         \
        if (m->order == AXL_ORDER_PAIRWISE) { /* AXL_PAIRWISE_FINISH over the block */           \
            int have = 0;                                                                         \
            for (uint32_t lvl = 0; lvl < AXL_PAIRWISE_LEVELS; lvl++) {                            \
                if (!((count >> lvl) & 1u))                                                       \
                    continue;                                                                     \
                if (have)                                                                         \
                    VADD(stack[lvl], acc, acc, len);                                              \
                else                                                                              \
                    memcpy(acc, stack[lvl], (size_t)len * sizeof acc[0]);                         \
                have = 1;                                                                         \
            }                                                                                     \
        }                                                                                         \
        STORE(c, n, m0, len, acc);                                                                \
    }

/* The add units over a block. */
static inline void vadd_f32(const float *x, const float *y, float *out, int64_t len)
{
    for (int64_t i = 0; i < len; i++)
        out[i] = axl_add_f32(x[i], y[i]);
}
#define VADD_F32(x, y, out, len) vadd_f32(x, y, out, len)
#define VADD_CODE(x, y, out, len) axl_batch_pair(&m->add_b, &m->add_c, x, y, out, len)
#define VADD_NARROW(ROUND)                                                                       \
    static inline void vadd_##ROUND(const float *x, const float *y, float *out, int64_t len,     \
                                    float nan)                                                   \
    {                                                                                            \
        for (int64_t i = 0; i < len; i++)                                                        \
            out[i] = axl_round_##ROUND(x[i] + y[i], nan);                                        \
    }
VADD_NARROW(bf16)
VADD_NARROW(fp16)
#define VADD_BF16(x, y, out, len) vadd_bf16(x, y, out, len, m->acc_nan)
#define VADD_FP16(x, y, out, len) vadd_fp16(x, y, out, len, m->acc_nan)
#define FINAL_F32(x) (x)
#define FINAL_CODE(x) axl_format_decode(&m->facc, (x))
/* The outputs of one channel: the float32 value of each accumulator, bias
 * added. */
#define STORE_FINAL(c, n, m0, len, acc, FINAL)                                                    \
    do {                                                                                          \
        for (int64_t i = 0; i < (len); i++)                                                       \
            *out_at(c, n, (m0) + i) = final_f32(c, n, FINAL((acc)[i]));                           \
    } while (0)
#define STORE_F32(c, n, m0, len, acc) STORE_FINAL(c, n, m0, len, acc, FINAL_F32)
#define STORE_CODE(c, n, m0, len, acc) STORE_FINAL(c, n, m0, len, acc, FINAL_CODE)

/* Integer products into an intN accumulator through an adder design
 * (AXL_ACC_INT_ADD).  A product's value, from the table or the design's
 * function as int_products_add takes it, becomes an accumulator code by
 * sign extension: the plan gives an accumulator that holds every value of
 * the product format (plan.c, bind_int_adder), so nothing saturates or
 * wraps there; the adds wrap (the adder's carry out is dropped). */
static void products_intacc(const struct axl_mac *m, uint32_t b, const uint32_t *xk, int64_t len,
                            uint32_t *v)
{
    const uint32_t mask = m->facc.bits >= 32 ? 0xFFFFFFFFu : (1u << m->facc.bits) - 1u;
    if (m->src == AXL_SRC_TABLE) {
        const int32_t *row = m->ti + (size_t)b * m->na;
        for (int64_t i = 0; i < len; i++)
            v[i] = (uint32_t)row[xk[i]] & mask;
        return;
    }
    axl_batch_row(&m->mul_b, &m->mul_c, xk, b, v, len);
    /* intP product codes: the sign bit moved to bit 31 and back (an
     * arithmetic shift, as GCC defines >> on negative values); uintP codes
     * are their values already */
    if (m->fp.kind == AXL_KIND_INT) {
        const int sh = 32 - m->fp.bits;
        for (int64_t i = 0; i < len; i++)
            v[i] = (uint32_t)((int32_t)(v[i] << sh) >> sh) & mask;
    }
}

/* ... and the outputs: each accumulator's value (sign-extended from N
 * bits), then the zero-point correction, dequantization and bias of the
 * exact integer path (store_int). */
static void store_intacc(const struct core *c, int64_t n, int64_t m0, int64_t len,
                         const uint32_t *acc)
{
    const int sh = 32 - c->m->facc.bits;
    int32_t v[MB];
    for (int64_t i = 0; i < len; i++)
        v[i] = (int32_t)(acc[i] << sh) >> sh;
    store_int(c, n, m0, len, v);
}

DEFINE_BLOCK_GENERIC(block_generic_f32, float, VADD_F32, products_f32, 0.0f, STORE_F32)
DEFINE_BLOCK_GENERIC(block_generic_code, uint32_t, VADD_CODE, products_code, m->acc_zero,
                     STORE_CODE)
DEFINE_BLOCK_GENERIC(block_bf16acc, float, VADD_BF16, products_narrow, 0.0f, STORE_F32)
DEFINE_BLOCK_GENERIC(block_fp16acc, float, VADD_FP16, products_narrow, 0.0f, STORE_F32)
DEFINE_BLOCK_GENERIC(block_intacc, uint32_t, VADD_CODE, products_intacc, 0u, store_intacc)

/* The sequential order of the same, tiled as the int32 path (a group of
 * channels consumes each tile of activation codes while it is in L1): per
 * weight code a block of products, then one call of the adder's batch form
 * adds them into the channel's registers, each output in k order. */
static void intacc_step(const struct axl_mac *m, uint32_t *acc, uint32_t b, const uint32_t *xk,
                        int64_t len)
{
    uint32_t v[MB];
    products_intacc(m, b, xk, len, v);
    axl_batch_pair(&m->add_b, &m->add_c, acc, v, acc, len);
}
#define STEP_INTACC(row, b, xk) intacc_step(m, row, b, xk, len)
DEFINE_TILED_BLOCK(block_intacc_seq, uint32_t, STEP_INTACC, store_intacc)

/* bf16 / fp16 in sequential order, tiled as the float32 path: products of
 * bf16/fp16 operands (AXL_SRC_EXACT_NARROW) into float32 sums, and exact
 * adds into a bf16/fp16 accumulator (AXL_ACC_NARROW) of table or
 * EXACT_NARROW products.  The operations are the reference blocks' own
 * (products_f32 / products_narrow, then VADD), in the same order, fused
 * into one loop per weight code: no pass over a block of product codes in
 * between, and the roundings vectorise.  The format study's bf16 and fp16
 * points ran 20-60x slower than its table points without these. */
#define EXACT_OP_F32(OP)                                                                          \
    AXL_CLONES static void f32_exact_##OP(float *restrict acc, const float *restrict dop,        \
                                          const uint32_t *restrict x, float w, float opnan, int n) \
    {                                                                                             \
        for (int i = 0; i < n; i++)                                                               \
            acc[i] = axl_add_f32(acc[i], axl_round_##OP(dop[x[i]] * w, opnan));                   \
    }
EXACT_OP_F32(bf16)
EXACT_OP_F32(fp16)
#define NARROW_TABLE(ACC)                                                                         \
    AXL_CLONES static void narrow_table_##ACC(float *restrict acc, const float *restrict row,    \
                                              const uint32_t *restrict x, float accnan, int n)    \
    {                                                                                             \
        for (int i = 0; i < n; i++)                                                               \
            acc[i] = axl_round_##ACC(acc[i] + row[x[i]], accnan);                                 \
    }
NARROW_TABLE(bf16)
NARROW_TABLE(fp16)
#define NARROW_EXACT(OP, ACC)                                                                     \
    AXL_CLONES static void narrow_exact_##OP##_##ACC(float *restrict acc,                        \
                                                     const float *restrict dop,                   \
                                                     const uint32_t *restrict x, float w,         \
                                                     float opnan, float accnan, int n)            \
    {                                                                                             \
        for (int i = 0; i < n; i++) {                                                             \
            float v = axl_round_##ACC(axl_round_##OP(dop[x[i]] * w, opnan), accnan);              \
            acc[i] = axl_round_##ACC(acc[i] + v, accnan);                                         \
        }                                                                                         \
    }
NARROW_EXACT(bf16, bf16)
NARROW_EXACT(bf16, fp16)
NARROW_EXACT(fp16, bf16)
NARROW_EXACT(fp16, fp16)

static void f32_exact_narrow_step(const struct axl_mac *m, float *acc, uint32_t b,
                                  const uint32_t *xk, int lv)
{
    if (m->narrow_op == AXL_NARROW_BF16)
        f32_exact_bf16(acc, m->dop, xk, m->dop[b], m->op_nan, lv);
    else
        f32_exact_fp16(acc, m->dop, xk, m->dop[b], m->op_nan, lv);
}
#define STEP_F32_NARROW_OP(row, b, xk) f32_exact_narrow_step(m, row, b, xk, lv)
DEFINE_TILED_BLOCK(block_f32_exact_narrow, float, STEP_F32_NARROW_OP, store_f32)

static void narrow_step(const struct axl_mac *m, float *acc, uint32_t b, const uint32_t *xk,
                        int lv)
{
    const int bf = m->narrow_acc == AXL_NARROW_BF16;
    if (m->src == AXL_SRC_TABLE) {
        const float *row = m->tn + (size_t)b * m->na; /* dacc[tc[...]] (prepare.c) */
        if (bf)
            narrow_table_bf16(acc, row, xk, m->acc_nan, lv);
        else
            narrow_table_fp16(acc, row, xk, m->acc_nan, lv);
        return;
    }
    const float w = m->dop[b]; /* AXL_SRC_EXACT_NARROW */
    if (m->narrow_op == AXL_NARROW_BF16) {
        if (bf)
            narrow_exact_bf16_bf16(acc, m->dop, xk, w, m->op_nan, m->acc_nan, lv);
        else
            narrow_exact_bf16_fp16(acc, m->dop, xk, w, m->op_nan, m->acc_nan, lv);
    } else {
        if (bf)
            narrow_exact_fp16_bf16(acc, m->dop, xk, w, m->op_nan, m->acc_nan, lv);
        else
            narrow_exact_fp16_fp16(acc, m->dop, xk, w, m->op_nan, m->acc_nan, lv);
    }
}
#define STEP_NARROW(row, b, xk) narrow_step(m, row, b, xk, lv)
DEFINE_TILED_BLOCK(block_narrow_seq, float, STEP_NARROW, store_f32)

/* The per-channel blocks of the generic reductions. */
#define DEFINE_BLOCK_LOOP(NAME)                                                                   \
    static void NAME(const struct core *c, int64_t n0, int64_t n1, int64_t m0, int64_t len)       \
    {                                                                                             \
        for (int64_t n = n0; n < n1; n++)                                                         \
            NAME##_one(c, n, m0, len);                                                            \
    }
DEFINE_BLOCK_LOOP(block_generic_f32)
DEFINE_BLOCK_LOOP(block_generic_code)
DEFINE_BLOCK_LOOP(block_bf16acc)
DEFINE_BLOCK_LOOP(block_fp16acc)
DEFINE_BLOCK_LOOP(block_intacc)

static void block_narrow(const struct core *c, int64_t n0, int64_t n1, int64_t m0, int64_t len)
{
    if (c->m->narrow_acc == AXL_NARROW_BF16)
        block_bf16acc(c, n0, n1, m0, len);
    else
        block_fp16acc(c, n0, n1, m0, len);
}

/* A byte-code kernel's raw 32-bit sums of one task (NG channels x MB
 * positions: out[n * MB + i], or out[i * NG + n] position-major for GEMM
 * layouts, gemm_layout), read as floats or ints. */
union raw_sums {
    _Alignas(64) uint32_t u[NG * MB];
    float f[NG * MB];
    int32_t i[NG * MB];
};

/* Writes a task's raw sums: float32 sums plus bias, or int32 sums through
 * store_int's expression.  GEMM outputs (channels contiguous in an output
 * row, positions are rows) go row by row, so that an output row is one
 * run of contiguous floats;
 * a channel at a time touched a cache line per output and took half the
 * time of the int4 kernel on gemm256 (perf, issue 19).  The integer form
 * is store_int's ((acc - zw * sx) - za * sumw) + K * za * zw, regrouped as
 * acc - zw * sx + (K * za * zw - za * sumw) (the same int64 value: no
 * overflow at these widths), and where zw = za = 0 (signed formats,
 * symmetric) the int32 sum converts to float directly, the same float as
 * through int64. */
static int gemm_layout(const struct core *c) { return c->sn == 1 && c->oi == 0; }

static void store_raw(const struct core *c, int64_t n0, int64_t n1, int64_t m0, int64_t len,
                      const union raw_sums *raw, int isint)
{
    if (!gemm_layout(c)) { /* convolutions: channel rows are contiguous */
        for (int64_t n = n0; n < n1; n++) {
            if (isint)
                store_int(c, n, m0, len, raw->i + (n - n0) * MB);
            else
                store_f32(c, n, m0, len, raw->f + (n - n0) * MB);
        }
        return;
    }
    const int nn = (int)(n1 - n0);
    float b[NG] = {0}, scale[NG] = {0}, al[NG] = {0};
    int64_t zw[NG] = {0}, cst[NG] = {0};
    int zero_points = 0;
    for (int n = 0; n < nn; n++) {
        if (c->bias)
            b[n] = c->bias[n0 + n];
        if (c->alpha)
            al[n] = c->alpha[n0 + n];
        if (isint) {
            int64_t za = c->za, z = c->qw[n0 + n].z;
            scale[n] = c->sa * c->qw[n0 + n].s;
            zw[n] = z;
            cst[n] = c->k * za * z - za * c->sumw[n0 + n];
            zero_points |= z != 0 || za != 0;
        }
    }
    for (int64_t i = 0; i < len; i++) {
        /* position i of every channel: 16 contiguous sums (the kernels
         * write GEMM tasks position-major) */
        float *o = c->out + (m0 + i) * c->sm + n0;
        const uint32_t *r = raw->u + i * NG;
        if (!isint) { /* final_f32's expression */
            for (int n = 0; n < nn; n++) {
                float v;
                memcpy(&v, &r[n], sizeof v);
                v = c->alpha ? v * al[n] : v;
                o[n] = c->bias ? v + b[n] : v;
            }
        } else if (!zero_points) {
            for (int n = 0; n < nn; n++) {
                float y = scale[n] * (float)(int32_t)r[n];
                o[n] = c->bias ? y + b[n] : y;
            }
        } else {
            const int64_t sx = c->sumx[m0 + i];
            for (int n = 0; n < nn; n++) {
                float y = scale[n] * (float)((int64_t)(int32_t)r[n] - zw[n] * sx + cst[n]);
                o[n] = c->bias ? y + b[n] : y;
            }
        }
    }
}

/* The VBMI kernels (cpu/vbmi.c) for the table slots below: the same sums,
 * looked up by byte permutes instead of gathers.  The plan prepares byte
 * planes only for what they implement: integer tables, and float tables
 * with float32 adds in sequential order. */
static void block_vbmi(const struct core *c, int64_t n0, int64_t n1, int64_t m0, int64_t len)
{
    const struct axl_mac *m = c->m;
    const int isint = m->acc == AXL_ACC_INT;
    union raw_sums raw;
    struct axl_vbmi_block a = {.rows = m->vb.rows, .stride = m->vb.stride,
                               .x = c->x8 + m0 / MB * c->k * MB, .xs = MB,
                               .w = c->w + n0 * c->k, .k = c->k, .nn = n1 - n0,
                               .len = len, .out = raw.u, .pos_major = gemm_layout(c)};
    axl_vbmi_run(&m->vb, isint, &a);
    store_raw(c, n0, n1, m0, len, &raw, isint);
}

/* The register-held small tables (cpu/small.c) for the same slots, where
 * the table has at most 64 activation codes. */
_Static_assert(AXL_SMALL_NG == NG && AXL_SMALL_LEN == MB, "one task size for every kernel");
static void block_small(const struct core *c, int64_t n0, int64_t n1, int64_t m0, int64_t len)
{
    const struct axl_mac *m = c->m;
    union raw_sums raw;
    struct axl_small_block a = {.x = c->x8 + m0 / MB * c->k * MB, .xs = MB, .w = c->w + n0 * c->k,
                                .k = c->k, .nn = n1 - n0, .len = len, .out = raw.u,
                                .pos_major = gemm_layout(c)};
    axl_small_run(&m->sm, &a);
    store_raw(c, n0, n1, m0, len, &raw, m->acc == AXL_ACC_INT);
}

typedef void (*block_fn)(const struct core *c, int64_t n0, int64_t n1, int64_t m0, int64_t len);

/* The reference block of each accumulator kind: every source, every order. */
static const block_fn k_reference[AXL_ACC_COUNT_] = {
    [AXL_ACC_F32] = block_generic_f32,
    [AXL_ACC_CODE] = block_generic_code,
    [AXL_ACC_NARROW] = block_narrow,
    [AXL_ACC_INT] = block_int, /* int32 adds: every order gives the same bits */
    [AXL_ACC_INT_ADD] = block_intacc,
};

#define ORDER_BIT(o) (1u << (o))
#define ANY_ORDER (ORDER_BIT(AXL_ORDER_SEQUENTIAL) | ORDER_BIT(AXL_ORDER_PAIRWISE) | \
                   ORDER_BIT(AXL_ORDER_CHUNKED))

/* Faster blocks for an (accumulator, source) slot and the orders they keep. */
static const struct {
    block_fn fn;
    unsigned orders;
} k_fast[AXL_ACC_COUNT_][AXL_SRC_COUNT_] = {
    [AXL_ACC_F32][AXL_SRC_TABLE] = {block_f32_seq, ORDER_BIT(AXL_ORDER_SEQUENTIAL)},
    [AXL_ACC_F32][AXL_SRC_EXACT_F32] = {block_f32_seq, ORDER_BIT(AXL_ORDER_SEQUENTIAL)},
    [AXL_ACC_F32][AXL_SRC_EXACT_NARROW] = {block_f32_exact_narrow, ORDER_BIT(AXL_ORDER_SEQUENTIAL)},
    [AXL_ACC_NARROW][AXL_SRC_TABLE] = {block_narrow_seq, ORDER_BIT(AXL_ORDER_SEQUENTIAL)},
    [AXL_ACC_NARROW][AXL_SRC_EXACT_NARROW] = {block_narrow_seq, ORDER_BIT(AXL_ORDER_SEQUENTIAL)},
    [AXL_ACC_INT_ADD][AXL_SRC_TABLE] = {block_intacc_seq, ORDER_BIT(AXL_ORDER_SEQUENTIAL)},
    [AXL_ACC_INT_ADD][AXL_SRC_FUNCTION] = {block_intacc_seq, ORDER_BIT(AXL_ORDER_SEQUENTIAL)},
};

static int uses_vbmi(const struct axl_mac *m) { return m->vb.mode != AXL_VBMI_NONE; }

/* The byte-code kernels (small tables, VBMI) read activations as byte tiles;
 * the small tables index their rows by the code itself, VBMI through its
 * plan's xmap (the identity unless its half-plane layout folds the sign). */
static const uint8_t k_identity[256] = {
#define I4(b) (b), (b) + 1, (b) + 2, (b) + 3
#define I16(b) I4(b), I4((b) + 4), I4((b) + 8), I4((b) + 12)
#define I64(b) I16(b), I16((b) + 16), I16((b) + 32), I16((b) + 48)
    I64(0), I64(64), I64(128), I64(192)
#undef I64
#undef I16
#undef I4
};

static const uint8_t *byte_map(const struct axl_mac *m, int64_t k)
{
    if (axl_small_usable(&m->sm, k))
        return k_identity;
    return uses_vbmi(m) ? m->vb.xmap : NULL;
}

static block_fn choose_block(const struct axl_mac *m, int64_t k)
{
    if (axl_small_usable(&m->sm, k))
        return block_small;
    if (uses_vbmi(m))
        return block_vbmi;
    if (k_fast[m->acc][m->src].fn && (k_fast[m->acc][m->src].orders & ORDER_BIT(m->order)))
        return k_fast[m->acc][m->src].fn;
    return k_reference[m->acc];
}

/* Runs the core over groups: x and w point at group 0, advancing by xg and
 * wg codes per group, outputs by og floats and bias and weight quantization
 * by n per group.  Tasks run block-major, so the activation block of one
 * task stays in cache for the output channels that follow it. */
/* The VBMI kernels read activation codes as bytes (through the plan's
 * xmap), each block's tile [k][MB] contiguous: a task then streams one
 * 128-byte row per k from consecutive lines, instead of one line per page
 * at a stride of the whole position axis (batch 16 at 56x56: 50 KB), which
 * the prefetcher and the TLB handled badly as the batch grew.  The callers
 * write the tiles straight from the encoded tensor (im2col or transpose to
 * bytes, no 32-bit copy in between). */
static inline int64_t tile_at(int64_t k, int64_t K, int64_t p)
{
    return (p / MB) * K * MB + k * MB + p % MB;
}

/* Runs the core over groups: x (or x8, the byte tiles, K * mcount bytes per
 * group) and w point at group 0, advancing by xg and wg codes per group,
 * outputs by og floats and bias and weight quantization by n per group.
 * Tasks run block-major, so the activation block of one task stays in
 * cache for the output channels that follow it. */
static enum axl_status run_core(struct core *c, int64_t groups, int64_t xg, int64_t wg, int64_t og,
                                char *msg)
{
    block_fn fn = choose_block(c->m, c->k);
    int64_t nblocks = c->mcount / MB;
    int64_t ngroups = (c->n + NG - 1) / NG; /* groups of output channels */
    int64_t per_group = ngroups * nblocks;
    int64_t total = groups * per_group;
    const int64_t x8g = c->k * c->mcount; /* bytes per group */
    int64_t *sumx = NULL;
    if (c->m->int_mode) { /* the activations' zero-point term, once per call (the
                                       weights' comes prepared with them) */
        sumx = calloc((size_t)(groups * c->mcount), sizeof *sumx);
        if (!sumx)
            return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
        /* the sums only ever appear times a weight zero point: where every
         * channel's is 0 (signed formats, symmetric) they stay 0, unread */
        int zw_any = 0;
        for (int64_t i = 0; i < groups * c->n && !zw_any; i++)
            zw_any = c->qw[i].z != 0;
        if (zw_any && c->x8) { /* byte tiles: integer formats, where xmap is the identity */
            int64_t dec[256];
            /* int8: a code's value is the byte's, signed; uintN (N <= 8, the
             * formats with zero points): the byte's, for the codes < 2^N
             * that the tiles hold */
            const int nb = c->m->fa.bits;
            int s8 = nb == 8, u8 = nb <= 8;
            for (int a = 0; a < 256; a++) {
                dec[a] = (int64_t)axl_format_decode(&c->m->fa, (uint32_t)a);
                s8 &= dec[a] == (int8_t)a;
                u8 &= a >= (1 << nb) || dec[a] == a;
            }
#pragma omp parallel for schedule(static) if (groups * c->mcount * c->k >= AXL_PAR_MIN)
            for (int64_t gb = 0; gb < groups * nblocks; gb++) {
                const uint8_t *t = c->x8 + (gb / nblocks) * x8g + (gb % nblocks) * c->k * MB;
                int64_t *sx = sumx + (gb / nblocks) * c->mcount + (gb % nblocks) * MB;
                if ((s8 || u8) && c->k < (1 << 23)) { /* widening adds that vectorise; |sum| < 2^31 for
                                   K < 2^23 */
                    int32_t acc[MB] = {0};
                    for (int64_t k = 0; k < c->k; k++) {
                        const uint8_t *tk = t + k * MB;
                        if (s8)
                            for (int i = 0; i < MB; i++)
                                acc[i] += (int8_t)tk[i];
                        else
                            for (int i = 0; i < MB; i++)
                                acc[i] += tk[i];
                    }
                    for (int i = 0; i < MB; i++)
                        sx[i] = acc[i];
                } else {
                    for (int64_t k = 0; k < c->k; k++)
                        for (int i = 0; i < MB; i++)
                            sx[i] += dec[t[k * MB + i]];
                }
            }
        } else if (zw_any) {
#pragma omp parallel for schedule(static) if (groups * c->mcount * c->k >= AXL_PAR_MIN / 16)
            for (int64_t gm = 0; gm < groups * c->mcount; gm++) {
                int64_t g = gm / c->mcount, i = gm % c->mcount, s = 0;
                const uint32_t *x = c->x + g * xg;
                for (int64_t k = 0; k < c->k; k++)
                    s += (int64_t)axl_format_decode(&c->m->fa, x[k * c->mcount + i]);
                sumx[gm] = s;
            }
        }
    }
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t t = 0; t < total; t++) {
        int64_t g = t / per_group, r = t % per_group;
        int64_t blk = r / ngroups, n0 = (r % ngroups) * NG;
        int64_t n1 = n0 + NG < c->n ? n0 + NG : c->n;
        struct core cg = *c;
        cg.x = c->x ? c->x + g * xg : NULL;
        cg.x8 = c->x8 ? c->x8 + g * x8g : NULL;
        cg.w = c->w + g * wg;
        cg.out = c->out + g * og;
        cg.bias = c->bias ? c->bias + g * c->n : NULL;
        cg.alpha = c->alpha ? c->alpha + g * c->n : NULL;
        cg.qw = c->qw ? c->qw + g * c->n : NULL;
        cg.sumx = sumx ? sumx + g * c->mcount : NULL;
        cg.sumw = c->sumw ? c->sumw + g * c->n : NULL;
        int64_t m0 = blk * MB;
        int64_t len = c->mvalid - m0 < MB ? c->mvalid - m0 : MB;
        /* the last chunk of a convolution's images has fewer positions than
         * the chunk's blocks: nothing to do for the blocks past them (the
         * generic blocks' memcpy took a negative length as 2^64 - n bytes
         * and overwrote the stack: pairwise and chunked code accumulators
         * crashed on LeNet-5 at batch 50 since b78699f) */
        if (len > 0)
            fn(&cg, n0, n1, m0, len);
    }
    free(sumx);
    return AXL_OK;
}

/* Scaled operands (axl_emu_scaled): each output's factor back to the
 * tensors' scale, alpha[n] = da * dw[n] with da = 1/s_a and dw[n] = 1/s_w[n]
 * as encoding recorded them (qa, the weights' qw): the values of
 * axl_mac_gemm's separate pass over the outputs (mac.c: descale_factors),
 * which also searched the activations' and weights' amax again on every
 * call (a 256^3 e2m1 GEMM: 15% of its time, perf, issue 19).  *alpha is
 * NULL where the operands are not scaled. */
static enum axl_status descale_factors(const struct axl_mac *m, struct axl_quant qa,
                                       const struct axl_weights *pw, int64_t n, float **alpha,
                                       char *msg)
{
    *alpha = NULL;
    if (!axl_emu_scaled(m))
        return AXL_OK;
    float *al = malloc((size_t)n * sizeof *al);
    if (!al)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory for %lld output scales", (long long)n);
    for (int64_t i = 0; i < n; i++)
        al[i] = qa.s * pw->qw[i].s;
    *alpha = al;
    return AXL_OK;
}

enum axl_status axl_cpu_gemm(const struct axl_mac *m, const struct axl_gemm_args *g, char *msg)
{
    float *alpha = NULL;
    int64_t M = g->m, N = g->n, K = g->k;
    /* weights: W[n][k] = op(B)[k][n] */
    const struct axl_weights *pw;
    enum axl_status st = g->trans_b ? axl_weights_acquire(m, g->b, N, K, g->ldb, 1, &pw, msg)
                                    : axl_weights_acquire(m, g->b, N, K, 1, g->ldb, &pw, msg);
    if (st != AXL_OK)
        return st;
    uint32_t *ac = malloc((size_t)M * K * sizeof *ac);
    int64_t Mp = (M + MB - 1) / MB * MB; /* positions padded to whole blocks */
    const uint8_t *xmap = byte_map(m, K);
    const int vb = xmap != NULL;
    uint32_t *xc = vb ? NULL : malloc((size_t)Mp * K * sizeof *xc);
    uint8_t *x8 = vb ? malloc((size_t)(Mp * K)) : NULL;
    /* activations: encode A as stored (dense, so that offsets index it),
     * then lay out as X[k][m] (or the VBMI kernels' byte tiles) */
    int64_t arows = g->trans_a ? K : M, acols = g->trans_a ? M : K;
    float *adense = g->lda != acols ? malloc((size_t)arows * acols * sizeof *adense) : NULL;
    if (!ac || (!xc && !x8) || (g->lda != acols && !adense)) {
        st = axl_msgf(msg, AXL_ERR_NOMEM, "gemm: out of memory for %lldx%lldx%lld",
                      (long long)M, (long long)N, (long long)K);
        goto done;
    }
    const float *asrc = g->a;
    if (adense) {
        for (int64_t r = 0; r < arows; r++)
            memcpy(adense + r * acols, g->a + r * g->lda, (size_t)acols * sizeof *adense);
        asrc = adense;
    }
    struct axl_quant qa;
    axl_emu_encode_acts(m, asrc, arows * acols, ac, &qa);
    uint32_t zero = m->int_mode ? axl_emu_quantize(&m->fa, qa, 0.0f, AXL_ROUND_NEAREST_EVEN, 0)
                                : axl_format_encode(&m->fa, 0.0f, AXL_ROUND_NEAREST_EVEN, 0);
    if (x8 && !g->trans_a) {
        /* rows of A into byte tiles by squares of MB positions x KT
         * reductions: 32 KiB of codes read as rows, 8 KiB of the tile
         * written, both in L1 (one position at a time, a reduction per
         * byte, wrote a line per byte through the whole tile); four
         * positions' bytes of one reduction stored as one word */
        const uint8_t zero8 = xmap[zero & 255];
        const int64_t nsq = Mp / MB * ((K + KT - 1) / KT);
#pragma omp parallel for schedule(static) if (K * Mp >= AXL_PAR_MIN)
        for (int64_t sq = 0; sq < nsq; sq++) {
            int64_t blk = sq / ((K + KT - 1) / KT), k0 = sq % ((K + KT - 1) / KT) * KT;
            int64_t k1 = k0 + KT < K ? k0 + KT : K;
            uint8_t *dst = x8 + blk * K * MB;
            for (int64_t i = 0; i < MB; i += 4) {
                const uint32_t *src[4];
                for (int j = 0; j < 4; j++) /* rows past M: the zero code (padding) */
                    src[j] = blk * MB + i + j < M ? ac + (blk * MB + i + j) * K : NULL;
                for (int64_t k = k0; k < k1; k++) {
                    uint8_t b[4];
                    for (int j = 0; j < 4; j++)
                        b[j] = src[j] ? xmap[src[j][k] & 255] : zero8;
                    memcpy(dst + k * MB + i, b, 4);
                }
            }
        }
    } else {
#pragma omp parallel for schedule(static) if (K * Mp >= AXL_PAR_MIN)
        for (int64_t k = 0; k < K; k++)
            for (int64_t i = 0; i < Mp; i++) {
                uint32_t v = i >= M ? zero : g->trans_a ? ac[k * M + i] : ac[i * K + k];
                if (x8)
                    x8[tile_at(k, K, i)] = xmap[v & 255];
                else
                    xc[k * Mp + i] = v;
            }
    }
    if ((st = descale_factors(m, qa, pw, N, &alpha, msg)) != AXL_OK)
        goto done;
    struct core c = {.m = m, .k = K, .mcount = Mp, .mvalid = M, .n = N, .x = xc, .x8 = x8,
                     .w = pw->codes, .p = M, .oi = 0, .bias = g->bias, .alpha = alpha,
                     .out = g->c, .sn = 1, .sm = g->ldc, .sa = qa.s, .za = qa.z, .qw = pw->qw,
                     .sumw = pw->sumw};
    st = run_core(&c, 1, 0, 0, 0, msg);
done:
    axl_weights_release(m, pw);
    free(alpha);
    free(adense);
    free(ac);
    free(xc);
    free(x8);
    return st;
}

enum axl_status axl_cpu_conv2d(const struct axl_mac *m, const struct axl_conv_args *a,
                               int64_t oh, int64_t ow, char *msg)
{
    int64_t G = a->groups, cg = a->c / G, ocg = a->oc / G;
    int64_t K = cg * a->kh * a->kw, P = oh * ow;
    const struct axl_weights *pw;
    enum axl_status st = axl_weights_acquire(m, a->weight, a->oc, K, K, 1, &pw, msg);
    if (st != AXL_OK)
        return st;
    int64_t xin = a->n * a->c * a->h * a->w;
    float *alpha = NULL;
    const uint8_t *xmap = byte_map(m, K);
    const int vb = xmap != NULL;
    /* images per chunk: an im2col buffer of at most 2 MiB (one image where
     * one is larger), so that the kernels read the tiles im2col has just
     * written from L2; the 64 MiB chunks before sent batch 16 at 56x56 (9
     * images, 16 MiB of byte tiles) through L3, 15% slower per MAC than
     * batch 1 (BENCHMARKS.md, issue 19) */
    int64_t chunk = (2ll << 20) / (G * K * P * (vb ? 1 : (int64_t)sizeof(uint32_t)));
    chunk = chunk < 1 ? 1 : (chunk > a->n ? a->n : chunk);
    int64_t Mp = (chunk * P + MB - 1) / MB * MB; /* positions of a chunk, whole blocks */
    uint32_t *ac = malloc((size_t)xin * sizeof *ac);
    uint32_t *xc = vb ? NULL : malloc((size_t)(G * K * Mp) * sizeof *xc);
    /* byte kernels: the codes as bytes (xmap), then im2col straight into byte tiles */
    uint8_t *a8 = vb ? malloc((size_t)xin) : NULL, *x8 = vb ? malloc((size_t)(G * K * Mp)) : NULL;
    if (!ac || (!vb && !xc) || (vb && (!a8 || !x8))) {
        st = axl_msgf(msg, AXL_ERR_NOMEM, "conv2d: out of memory for the im2col buffer (%lld "
                      "codes)", (long long)(G * K * Mp));
        goto done;
    }
    struct axl_quant qa;
    axl_emu_encode_acts(m, a->x, xin, ac, &qa);
    if ((st = descale_factors(m, qa, pw, a->oc, &alpha, msg)) != AXL_OK)
        goto done;
    /* the code of a real 0, fed for padding */
    uint32_t pad = m->int_mode ? axl_emu_quantize(&m->fa, qa, 0.0f, AXL_ROUND_NEAREST_EVEN, 0)
                               : axl_format_encode(&m->fa, 0.0f, AXL_ROUND_NEAREST_EVEN, 0);
    if (vb) {
#pragma omp parallel for schedule(static) if (xin >= AXL_PAR_MIN)
        for (int64_t i = 0; i < xin; i++)
            a8[i] = xmap[ac[i] & 255];
    }
    for (int64_t img0 = 0; img0 < a->n && st == AXL_OK; img0 += chunk) {
        int64_t nimg = a->n - img0 < chunk ? a->n - img0 : chunk;
        /* im2col: X[g][k = (ci, r, s)][m = (img, y, x)], positions of the
         * chunk's images one after another (VBMI: byte tiles, tile_at) */
#define IM2COL(T, SRC, PAD, AT)                                                                   \
    for (int64_t p = nimg * P; p < Mp; p++)                                                      \
        AT(p) = (PAD);                                                                            \
    /* the columns whose input is inside the image: [xlo, xhi) */                                 \
    int64_t off = s * a->dil_w - a->pad_l, sw = a->stride_w;                                      \
    int64_t xlo = off >= 0 ? 0 : (-off + sw - 1) / sw;                                            \
    int64_t xhi = a->w - off <= 0 ? 0 : (a->w - off + sw - 1) / sw;                               \
    xlo = xlo < ow ? xlo : ow;                                                                    \
    xhi = xhi < ow ? (xhi > xlo ? xhi : xlo) : ow;                                                \
    for (int64_t img = 0; img < nimg; img++) {                                                    \
        const T *src = (SRC) + ((img0 + img) * a->c + ci) * a->h * a->w;                          \
        for (int64_t y = 0; y < oh; y++) {                                                        \
            int64_t iy = y * a->stride_h - a->pad_t + r * a->dil_h, o = img * P + y * ow;         \
            if (iy < 0 || iy >= a->h) {                                                           \
                for (int64_t x = 0; x < ow; x++)                                                  \
                    AT(o + x) = (PAD);                                                            \
                continue;                                                                         \
            }                                                                                     \
            const T *srow = src + iy * a->w + off;                                                \
            for (int64_t x = 0; x < xlo; x++)                                                     \
                AT(o + x) = (PAD);                                                                \
            for (int64_t x = xlo; x < xhi; x++)                                                   \
                AT(o + x) = srow[x * sw];                                                         \
            for (int64_t x = xhi; x < ow; x++)                                                    \
                AT(o + x) = (PAD);                                                                \
        }                                                                                         \
    }
        int nomem = 0;
#pragma omp parallel if (G * K * Mp >= AXL_PAR_MIN)
        {
            /* VBMI: each row of im2col built in a buffer, then copied into
             * the tiles 128 bytes at a time */
            uint8_t *row = vb ? malloc((size_t)Mp) : NULL;
            if (vb && !row) {
#pragma omp atomic write
                nomem = 1;
            }
#pragma omp for schedule(static)
            for (int64_t gk = 0; gk < G * K; gk++) {
                int64_t g = gk / K, k = gk % K;
                int64_t ci = g * cg + k / (a->kh * a->kw);
                int64_t r = (k / a->kw) % a->kh, s = k % a->kw;
                if (vb && row) {
                    uint8_t pad8 = xmap[pad & 255];
#define AT8(p) row[(p)]
                    IM2COL(uint8_t, a8, pad8, AT8)
#undef AT8
                    uint8_t *dst = x8 + g * K * Mp + k * MB;
                    for (int64_t blk = 0; blk < Mp / MB; blk++)
                        memcpy(dst + blk * K * MB, row + blk * MB, MB);
                } else if (!vb) {
                    uint32_t *dst = xc + gk * Mp;
#define AT32(p) dst[(p)]
                    IM2COL(uint32_t, ac, pad, AT32)
#undef AT32
                }
            }
            free(row);
        }
        if (nomem) {
            st = axl_msgf(msg, AXL_ERR_NOMEM, "conv2d: out of memory for an im2col row");
            break;
        }
#undef IM2COL
        struct core c = {.m = m, .k = K, .mcount = Mp, .mvalid = nimg * P, .n = ocg, .x = xc,
                         .x8 = x8, .w = pw->codes, .bias = a->bias, .alpha = alpha,
                         .out = a->y + img0 * a->oc * P,
                         .sn = P, .sm = 1, .p = P, .oi = a->oc * P, .sa = qa.s, .za = qa.z,
                         .qw = pw->qw, .sumw = pw->sumw};
        st = run_core(&c, G, K * Mp, ocg * K, ocg * P, msg);
    }
done:
    axl_weights_release(m, pw);
    free(alpha);
    free(ac);
    free(a8);
    free(xc);
    free(x8);
    return st;
}
