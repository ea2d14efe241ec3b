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
 * output position, each kept in the defined order (include/axlut/mac_step.h)
 * so that every backend gives the same bits.  Work is split over output
 * channels and blocks of positions, so both cores are busy at batch 1.
 * The configuration is looked at once per block, never per MAC.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/mac_step.h"
#include "emu/mac_internal.h"

#define MB 128 /* output positions per block */

/* ---- the core ---------------------------------------------------------- */

struct core {
    const struct axl_mac *m;
    int64_t k, mcount, n;   /* reduction length, positions, output channels */
    const uint32_t *x;      /* [k][mcount] activation codes */
    const uint32_t *w;      /* [n][k] weight codes */
    const float *bias;      /* [n] or NULL */
    float *out;             /* out[n * sn + pos * sm] */
    int64_t sn, sm;
    /* integer mode */
    float sa;
    int32_t za;
    const struct axl_quant *qw; /* [n] */
};

/* Fast path: table, exact float32 adds, sequential order. */
static void block_table_f32_seq(const struct core *c, int64_t n, int64_t m0, int64_t len)
{
    const struct axl_mac *m = c->m;
    float acc[MB];
    for (int64_t i = 0; i < len; i++)
        acc[i] = 0.0f;
    const uint32_t *wrow = c->w + n * c->k;
    for (int64_t k = 0; k < c->k; k++) {
        const float *row = m->tf + (size_t)wrow[k] * m->na;
        const uint32_t *xk = c->x + k * c->mcount + m0;
        for (int64_t i = 0; i < len; i++)
            acc[i] += row[xk[i]];
    }
    float b = c->bias ? c->bias[n] : 0.0f;
    for (int64_t i = 0; i < len; i++)
        c->out[n * c->sn + (m0 + i) * c->sm] = c->bias ? acc[i] + b : acc[i];
}

/* Integers: int32 products, wrapping int32 adds (any order gives the same
 * bits), then the zero-point correction and dequantization. */
static void block_int(const struct core *c, int64_t n, int64_t m0, int64_t len)
{
    const struct axl_mac *m = c->m;
    int32_t acc[MB];
    int64_t sumx[MB];
    for (int64_t i = 0; i < len; i++) {
        acc[i] = 0;
        sumx[i] = 0;
    }
    const uint32_t *wrow = c->w + n * c->k;
    int64_t sumw = 0;
    for (int64_t k = 0; k < c->k; k++) {
        const uint32_t *xk = c->x + k * c->mcount + m0;
        uint32_t b = wrow[k];
        sumw += (int64_t)axl_format_decode(&m->fw, b);
        if (m->ti) {
            const int32_t *row = m->ti + (size_t)b * m->na;
            for (int64_t i = 0; i < len; i++)
                acc[i] = axl_add_i32(acc[i], row[xk[i]]);
        } else {
            for (int64_t i = 0; i < len; i++) {
                uint32_t p = m->mul_d->eval(&m->mul_c, xk[i], b);
                acc[i] = axl_add_i32(acc[i], (int32_t)axl_format_decode(&m->fp, p));
            }
        }
        for (int64_t i = 0; i < len; i++)
            sumx[i] += (int64_t)axl_format_decode(&m->fa, xk[i]);
    }
    int64_t za = c->za, zw = c->qw[n].z;
    float scale = c->sa * c->qw[n].s;
    float b = c->bias ? c->bias[n] : 0.0f;
    for (int64_t i = 0; i < len; i++) {
        int64_t corr = (int64_t)acc[i] - zw * sumx[i] - za * sumw + c->k * za * zw;
        float y = scale * (float)corr;
        c->out[n * c->sn + (m0 + i) * c->sm] = c->bias ? y + b : y;
    }
}

/* The products of one weight code with a block of activation codes, as
 * float32 values (exact adds). */
static void products_f32(const struct axl_mac *m, uint32_t b, const uint32_t *xk, int64_t len,
                         float *v)
{
    if (m->tf) {
        const float *row = m->tf + (size_t)b * m->na;
        for (int64_t i = 0; i < len; i++)
            v[i] = row[xk[i]];
    } else {
        for (int64_t i = 0; i < len; i++)
            v[i] = axl_format_decode(&m->fp, m->mul_d->eval(&m->mul_c, xk[i], b));
    }
}

/* ... as accumulator codes (adder designs). */
static void products_code(const struct axl_mac *m, uint32_t b, const uint32_t *xk, int64_t len,
                          uint32_t *v)
{
    if (m->tc) {
        const uint32_t *row = m->tc + (size_t)b * m->na;
        for (int64_t i = 0; i < len; i++)
            v[i] = row[xk[i]];
    } else {
        for (int64_t i = 0; i < len; i++) {
            uint32_t p = m->mul_d->eval(&m->mul_c, xk[i], b);
            v[i] = m->convert_p ? axl_format_encode(&m->facc, axl_format_decode(&m->fp, p),
                                                    AXL_ROUND_NEAREST_EVEN, 0)
                                : p;
        }
    }
}

/* Every other configuration: products of the block for each k, then the
 * order's reduction per output.  ACC is the accumulator type, ADD the add
 * unit, PRODUCTS the product producer, ZERO the +0 accumulator, FINAL the
 * float32 value of an accumulator. */
#define DEFINE_BLOCK_GENERIC(NAME, ACC, ADD, PRODUCTS, ZERO, FINAL)                              \
    static void NAME(const struct core *c, int64_t n, int64_t m0, int64_t len)                    \
    {                                                                                             \
        const struct axl_mac *m = c->m;                                                           \
        ACC acc[MB], v[MB], part[MB];                                                             \
        ACC stack[AXL_PAIRWISE_LEVELS * MB]; /* 16 KB: levels of partial sums per output */     \
        uint32_t count = 0;                                                                       \
        for (int64_t i = 0; i < len; i++)                                                         \
            acc[i] = part[i] = ZERO;                                                              \
        const uint32_t *wrow = c->w + n * c->k;                                                   \
        for (int64_t k = 0; k < c->k; k++) {                                                      \
            PRODUCTS(m, wrow[k], c->x + k * c->mcount + m0, len, v);                              \
            switch (m->order) {                                                                   \
            case AXL_ORDER_SEQUENTIAL:                                                            \
                for (int64_t i = 0; i < len; i++)                                                 \
                    acc[i] = ADD(acc[i], v[i]);                                                   \
                break;                                                                            \
            case AXL_ORDER_PAIRWISE:                                                              \
                for (int64_t i = 0; i < len; i++) {                                               \
                    uint32_t cnt = count;                                                         \
                    AXL_PAIRWISE_PUSH(ACC, stack + i * AXL_PAIRWISE_LEVELS, cnt, v[i], ADD);      \
                }                                                                                 \
                count++;                                                                          \
                break;                                                                            \
            default: {                                                                            \
                int64_t pos = k % m->chunk;                                                       \
                for (int64_t i = 0; i < len; i++)                                                 \
                    part[i] = pos == 0 ? v[i] : ADD(part[i], v[i]);                               \
                if (pos == (int64_t)m->chunk - 1 || k == c->k - 1)                                \
                    for (int64_t i = 0; i < len; i++)                                             \
                        acc[i] = ADD(acc[i], part[i]);                                            \
                break;                                                                            \
            }                                                                                     \
            }                                                                                     \
        }                                                                                         \
        if (m->order == AXL_ORDER_PAIRWISE)                                                       \
            for (int64_t i = 0; i < len; i++)                                                     \
                AXL_PAIRWISE_FINISH(stack + i * AXL_PAIRWISE_LEVELS, count, acc[i], ADD);         \
        float b = c->bias ? c->bias[n] : 0.0f;                                                    \
        for (int64_t i = 0; i < len; i++) {                                                       \
            float y = FINAL(acc[i]);                                                              \
            c->out[n * c->sn + (m0 + i) * c->sm] = c->bias ? y + b : y;                           \
        }                                                                                         \
    }

#define ADD_CODE(x, y) m->add_d->eval(&m->add_c, (x), (y))
#define FINAL_F32(x) (x)
#define FINAL_CODE(x) axl_format_decode(&m->facc, (x))

DEFINE_BLOCK_GENERIC(block_generic_f32, float, axl_add_f32, products_f32, 0.0f, FINAL_F32)
DEFINE_BLOCK_GENERIC(block_generic_code, uint32_t, ADD_CODE, products_code, m->acc_zero,
                     FINAL_CODE)

typedef void (*block_fn)(const struct core *c, int64_t n, int64_t m0, int64_t len);

static block_fn choose_block(const struct axl_mac *m)
{
    if (m->int_mode)
        return block_int;
    if (!m->add_exact)
        return block_generic_code;
    if (m->tf && m->order == AXL_ORDER_SEQUENTIAL)
        return block_table_f32_seq;
    return block_generic_f32;
}

/* Runs the core over groups: x and w point at group 0, advancing by xg and
 * wg codes per group, outputs by og floats and bias by n per group. */
static void run_core(struct core *c, int64_t groups, int64_t xg, int64_t wg, int64_t og)
{
    block_fn fn = choose_block(c->m);
    int64_t nblocks = (c->mcount + MB - 1) / MB;
    int64_t total = groups * c->n * nblocks;
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t t = 0; t < total; t++) {
        int64_t g = t / (c->n * nblocks);
        int64_t r = t % (c->n * nblocks);
        int64_t n = r / nblocks, blk = r % nblocks;
        struct core cg = *c;
        cg.x = c->x + g * xg;
        cg.w = c->w + g * wg;
        cg.out = c->out + g * og;
        cg.bias = c->bias ? c->bias + g * c->n : NULL;
        cg.qw = c->qw ? c->qw + g * c->n : NULL;
        int64_t m0 = blk * MB;
        int64_t len = c->mcount - m0 < MB ? c->mcount - m0 : MB;
        fn(&cg, n, m0, len);
    }
}

enum axl_status axl_cpu_gemm(const struct axl_mac *m, const struct axl_gemm_args *g, char *msg)
{
    int64_t M = g->m, N = g->n, K = g->k;
    uint32_t *ac = malloc((size_t)M * K * sizeof *ac);
    uint32_t *xc = malloc((size_t)M * K * sizeof *xc);
    uint32_t *wc = malloc((size_t)N * K * sizeof *wc);
    struct axl_quant *qw = malloc((size_t)N * sizeof *qw);
    if (!ac || !xc || !wc || !qw) {
        free(ac);
        free(xc);
        free(wc);
        free(qw);
        snprintf(msg, AXL_MSG_LEN, "gemm: out of memory for %lldx%lldx%lld", (long long)M,
                 (long long)N, (long long)K);
        return AXL_ERR_NOMEM;
    }
    /* activations: encode A as stored, then lay out as X[k][m] */
    int64_t arows = g->trans_a ? K : M, acols = g->trans_a ? M : K;
    struct axl_quant qa;
    float *adense = NULL;
    const float *asrc = g->a;
    if (g->lda != acols) { /* make the tensor dense so offsets index it */
        adense = malloc((size_t)arows * acols * sizeof *adense);
        if (!adense) {
            free(ac);
            free(xc);
            free(wc);
            free(qw);
            snprintf(msg, AXL_MSG_LEN, "gemm: out of memory");
            return AXL_ERR_NOMEM;
        }
        for (int64_t r = 0; r < arows; r++)
            memcpy(adense + r * acols, g->a + r * g->lda, (size_t)acols * sizeof *adense);
        asrc = adense;
    }
    axl_emu_encode_acts(m, asrc, arows * acols, ac, &qa);
    free(adense);
#pragma omp parallel for schedule(static)
    for (int64_t k = 0; k < K; k++)
        for (int64_t i = 0; i < M; i++)
            xc[k * M + i] = g->trans_a ? ac[k * M + i] : ac[i * K + k];
    /* weights: W[n][k] = op(B)[k][n] */
    if (g->trans_b)
        axl_emu_encode_weights(m, g->b, N, K, g->ldb, 1, wc, qw);
    else
        axl_emu_encode_weights(m, g->b, N, K, 1, g->ldb, wc, qw);
    struct core c = {.m = m, .k = K, .mcount = M, .n = N, .x = xc, .w = wc, .bias = g->bias,
                     .out = g->c, .sn = 1, .sm = g->ldc, .sa = qa.s, .za = qa.z, .qw = qw};
    run_core(&c, 1, 0, 0, 0);
    free(ac);
    free(xc);
    free(wc);
    free(qw);
    return AXL_OK;
}

enum axl_status axl_cpu_conv2d(const struct axl_mac *m, const struct axl_conv_args *a,
                               int64_t oh, int64_t ow, char *msg)
{
    int64_t G = a->groups, cg = a->c / G, ocg = a->oc / G;
    int64_t K = cg * a->kh * a->kw, P = oh * ow;
    int64_t xin = a->n * a->c * a->h * a->w;
    uint32_t *ac = malloc((size_t)xin * sizeof *ac);
    uint32_t *xc = malloc((size_t)G * K * P * sizeof *xc);
    uint32_t *wc = malloc((size_t)a->oc * K * sizeof *wc);
    struct axl_quant *qw = malloc((size_t)a->oc * sizeof *qw);
    if (!ac || !xc || !wc || !qw) {
        free(ac);
        free(xc);
        free(wc);
        free(qw);
        snprintf(msg, AXL_MSG_LEN, "conv2d: out of memory for the im2col buffer (%lld codes)",
                 (long long)(G * K * P));
        return AXL_ERR_NOMEM;
    }
    struct axl_quant qa;
    axl_emu_encode_acts(m, a->x, xin, ac, &qa);
    axl_emu_encode_weights(m, a->weight, a->oc, K, K, 1, wc, qw);
    /* the code of a real 0, fed for padding */
    uint32_t pad = m->int_mode ? axl_emu_quantize(&m->fa, qa, 0.0f, AXL_ROUND_NEAREST_EVEN, 0)
                               : axl_format_encode(&m->fa, 0.0f, AXL_ROUND_NEAREST_EVEN, 0);
    for (int64_t img = 0; img < a->n; img++) {
        const uint32_t *src = ac + img * a->c * a->h * a->w;
        /* im2col: X[g][k = (ci, r, s)][p = (y, x)] */
#pragma omp parallel for schedule(static)
        for (int64_t gk = 0; gk < G * K; gk++) {
            int64_t g = gk / K, k = gk % K;
            int64_t ci = g * cg + k / (a->kh * a->kw);
            int64_t r = (k / a->kw) % a->kh, s = k % a->kw;
            uint32_t *dst = xc + gk * P;
            for (int64_t y = 0; y < oh; y++) {
                int64_t iy = y * a->stride_h - a->pad_t + r * a->dil_h;
                for (int64_t x = 0; x < ow; x++) {
                    int64_t ix = x * a->stride_w - a->pad_l + s * a->dil_w;
                    dst[y * ow + x] = (iy >= 0 && iy < a->h && ix >= 0 && ix < a->w)
                                          ? src[(ci * a->h + iy) * a->w + ix]
                                          : pad;
                }
            }
        }
        struct core c = {.m = m, .k = K, .mcount = P, .n = ocg, .x = xc, .w = wc,
                         .bias = a->bias, .out = a->y + img * a->oc * P, .sn = P, .sm = 1,
                         .sa = qa.s, .za = qa.z, .qw = qw};
        run_core(&c, G, K * P, ocg * K, ocg * P);
    }
    free(ac);
    free(xc);
    free(wc);
    free(qw);
    return AXL_OK;
}
