/* Approximate adders in integer layers (AXL_ACC_INT_ADD): the layer kernels
 * against a slow reference written here, bit for bit, for convolutions and
 * GEMMs, int16 and int32 (and int24) accumulators, several adders and
 * orders, int8 and uint8 operands (uint8: nonzero zero points), groups,
 * stride, padding; add_exact into int32 against today's exact integer
 * layer, byte for byte; the wrap of the accumulator at its boundary; the
 * adders bound as N-bit registers (carry out dropped) against the N+1-bit
 * adders and against formulas of their own at 32 bits, batch forms against
 * the scalar eval; the refusals.
 *
 * The reference takes the operand codes and quantization from the engine's
 * encoder (tested against an independent quantizer in test_mac), and then
 * does everything else itself: im2col with padding checked per tap, each
 * product through the multiplier's scalar eval, each add through the
 * adder's scalar eval bound the ordinary way (N+1-bit sum, masked here to
 * the N-bit register), the orders summed level by level, the zero-point
 * correction and dequantization. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/design.h"
#include "axlut/mac.h"
#include "designs/builtin.h"
#include "designs/registry.h"
#include "plan.h"

static float *rand_vals(int64_t n, uint64_t seed, float lo, float hi)
{
    float *x = malloc((size_t)n * sizeof *x);
    cr_assert(x);
    for (int64_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * (float)(axl_rand32(seed, (uint64_t)i) >> 8) / 16777216.0f;
    return x;
}

/* ---- the reference ------------------------------------------------------ */

struct iref {
    const struct axl_design *mul, *add;
    struct axl_design_ctx mc, ac; /* ac: the adder bound with its default result format */
    unsigned nacc;                /* accumulator bits */
    enum axl_order order;
    uint32_t chunk;
};

static uint32_t mask_of(unsigned n) { return n >= 32 ? 0xFFFFFFFFu : (1u << n) - 1u; }

static int64_t sext(uint32_t v, unsigned n)
{
    int64_t x = v & mask_of(n);
    return n < 64 && (x >> (n - 1)) & 1 ? x - ((int64_t)1 << n) : x;
}

static uint32_t radd(const struct iref *r, uint32_t x, uint32_t y)
{
    return r->add->eval(&r->ac, x, y) & mask_of(r->nacc);
}

/* Reduce K accumulator codes in r's order (v is overwritten). */
static uint32_t rreduce(const struct iref *r, uint32_t *v, int64_t k)
{
    uint32_t acc = 0;
    if (r->order == AXL_ORDER_SEQUENTIAL) {
        for (int64_t i = 0; i < k; i++)
            acc = radd(r, acc, v[i]);
    } else if (r->order == AXL_ORDER_PAIRWISE) {
        int64_t n = k;
        while (n > 1) {
            int64_t o = 0;
            for (int64_t i = 0; i + 1 < n; i += 2)
                v[o++] = radd(r, v[i], v[i + 1]);
            if (n & 1)
                v[o++] = v[n - 1];
            n = o;
        }
        acc = v[0];
    } else {
        for (int64_t s = 0; s < k; s += r->chunk) {
            uint32_t part = v[s];
            for (int64_t i = s + 1; i < k && i < s + (int64_t)r->chunk; i++)
                part = radd(r, part, v[i]);
            acc = radd(r, acc, part);
        }
    }
    return acc;
}

/* The product of two codes as an accumulator code: its value, sign
 * extended (the accumulator holds every product). */
static uint32_t rproduct(const struct iref *r, uint32_t a, uint32_t b)
{
    uint32_t p = r->mul->eval(&r->mc, a, b);
    int64_t v = r->mc.fr.kind == AXL_KIND_INT ? sext(p, r->mc.fr.bits) : (int64_t)p;
    return (uint32_t)v & mask_of(r->nacc);
}

static void iref_for(const struct axl_mac *m, const struct axl_mac_spec *sp, struct iref *r)
{
    char msg[AXL_MSG_LEN];
    memset(r, 0, sizeof *r);
    r->mul = axl_design_find(sp->mul);
    r->add = axl_design_find(sp->add);
    cr_assert(r->mul && r->add);
    cr_assert_eq(axl_design_bind(r->mul, &m->fa, &m->fw, NULL, NULL, 0, &r->mc, msg), AXL_OK, "%s",
                 msg);
    r->nacc = m->facc.bits;
    /* the ordinary binding: an N+1-bit sum (32 bits for N = 32) */
    cr_assert_eq(axl_design_bind(r->add, &m->facc, &m->facc, NULL, sp->add_params,
                                 sp->n_add_params, &r->ac, msg),
                 AXL_OK, "%s", msg);
    r->order = sp->order;
    r->chunk = sp->chunk;
}

/* One output from its K product codes, the sums of activation and weight
 * values and the quantizations, as store_int defines the tail. */
static float rout(const struct iref *r, uint32_t *v, int64_t k, int64_t sumx, int64_t sumw,
                  struct axl_quant qa, struct axl_quant qw, const float *bias)
{
    int64_t acc = sext(rreduce(r, v, k), r->nacc);
    int64_t corr = acc - (int64_t)qw.z * sumx - (int64_t)qa.z * sumw + k * (int64_t)qa.z * qw.z;
    float y = (qa.s * qw.s) * (float)corr;
    return bias ? y + *bias : y;
}

static int64_t val(const struct axl_format *f, uint32_t code)
{
    return f->kind == AXL_KIND_INT ? sext(code, f->bits) : (int64_t)code;
}

static void ref_conv(const struct axl_mac *m, const struct iref *r, const struct axl_conv_args *a,
                     int64_t oh, int64_t ow, float *y)
{
    int64_t cg = a->c / a->groups, ocg = a->oc / a->groups, K = cg * a->kh * a->kw;
    int64_t nx = a->n * a->c * a->h * a->w;
    uint32_t *xc = malloc((size_t)nx * sizeof *xc), *wc = malloc((size_t)(a->oc * K) * sizeof *wc);
    struct axl_quant qa, *qw = malloc((size_t)a->oc * sizeof *qw);
    uint32_t *v = malloc((size_t)K * sizeof *v);
    cr_assert(xc && wc && qw && v);
    axl_emu_encode_acts(m, a->x, nx, xc, &qa);
    axl_emu_encode_weights(m, a->weight, a->oc, K, K, 1, wc, qw);
    uint32_t pad = axl_emu_quantize(&m->fa, qa, 0.0f, AXL_ROUND_NEAREST_EVEN, 0);
    for (int64_t n = 0; n < a->n; n++)
        for (int64_t o = 0; o < a->oc; o++)
            for (int64_t yy = 0; yy < oh; yy++)
                for (int64_t xx = 0; xx < ow; xx++) {
                    int64_t g = o / ocg, t = 0, sumx = 0, sumw = 0;
                    for (int64_t ci = 0; ci < cg; ci++)
                        for (int64_t i = 0; i < a->kh; i++)
                            for (int64_t j = 0; j < a->kw; j++, t++) {
                                int64_t iy = yy * a->stride_h - a->pad_t + i * a->dil_h;
                                int64_t ix = xx * a->stride_w - a->pad_l + j * a->dil_w;
                                uint32_t ac = pad;
                                if (iy >= 0 && iy < a->h && ix >= 0 && ix < a->w)
                                    ac = xc[((n * a->c + g * cg + ci) * a->h + iy) * a->w + ix];
                                uint32_t wcode = wc[o * K + t];
                                sumx += val(&m->fa, ac);
                                sumw += val(&m->fw, wcode);
                                v[t] = rproduct(r, ac, wcode);
                            }
                    y[((n * a->oc + o) * oh + yy) * ow + xx] =
                        rout(r, v, K, sumx, sumw, qa, qw[o], a->bias ? &a->bias[o] : NULL);
                }
    free(xc);
    free(wc);
    free(qw);
    free(v);
}

/* C[M][N] = A[M][K] B[K][N] (+ bias), no transposes. */
static void ref_gemm(const struct axl_mac *m, const struct iref *r, const struct axl_gemm_args *g)
{
    int64_t M = g->m, N = g->n, K = g->k;
    uint32_t *ac = malloc((size_t)(M * K) * sizeof *ac), *wc = malloc((size_t)(N * K) * sizeof *wc);
    struct axl_quant qa, *qw = malloc((size_t)N * sizeof *qw);
    uint32_t *v = malloc((size_t)K * sizeof *v);
    cr_assert(ac && wc && qw && v);
    axl_emu_encode_acts(m, g->a, M * K, ac, &qa);
    axl_emu_encode_weights(m, g->b, N, K, 1, N, wc, qw);
    for (int64_t i = 0; i < M; i++)
        for (int64_t n = 0; n < N; n++) {
            int64_t sumx = 0, sumw = 0;
            for (int64_t k = 0; k < K; k++) {
                sumx += val(&m->fa, ac[i * K + k]);
                sumw += val(&m->fw, wc[n * K + k]);
                v[k] = rproduct(r, ac[i * K + k], wc[n * K + k]);
            }
            g->c[i * N + n] = rout(r, v, K, sumx, sumw, qa, qw[n], g->bias ? &g->bias[n] : NULL);
        }
    free(ac);
    free(wc);
    free(qw);
    free(v);
}

/* ---- layers against the reference ------------------------------------- */

struct shape {
    int64_t n, c, h, w, oc, kh, kw, sh, sw, pt, pl, pb, pr, g;
    int bias;
};

/* stride, padding, groups, depthwise, batch, two blocks of positions, a
 * partial last chunk */
static const struct shape k_shapes[] = {
    {1, 3, 7, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},  {1, 5, 9, 8, 3, 3, 3, 2, 2, 1, 0, 1, 2, 1, 0},
    {2, 6, 6, 7, 6, 3, 3, 1, 2, 1, 1, 1, 1, 6, 1},  {2, 4, 8, 8, 6, 2, 2, 1, 1, 0, 0, 1, 1, 2, 1},
    {1, 16, 12, 12, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
    /* im2col in chunks of 3 images (2 MiB / (36 x 4096 x 4 bytes)): the
     * last chunk of one image leaves blocks without positions, which the
     * pairwise and chunked orders once crashed on */
    {4, 4, 64, 64, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
};

static int compare(const char *what, const float *got, const float *want, int64_t n)
{
    int bad = 0;
    for (int64_t i = 0; i < n; i++)
        if (axl_f32_bits(got[i]) != axl_f32_bits(want[i])) {
            if (bad < 10)
                cr_log_error("%s: output %lld: got %08" PRIx32 " (%g) want %08" PRIx32 " (%g)",
                             what, (long long)i, axl_f32_bits(got[i]), (double)got[i],
                             axl_f32_bits(want[i]), (double)want[i]);
            bad++;
        }
    return bad;
}

static struct axl_mac_spec spec(const char *mul, const char *fmt, const char *add,
                                const char *acc, const char **params, int np,
                                enum axl_order order)
{
    struct axl_mac_spec s;
    memset(&s, 0, sizeof s);
    s.mul = mul;
    s.fmt_a = fmt;
    s.add = add;
    s.fmt_acc = acc;
    for (int i = 0; i < np; i++)
        s.add_params[i] = params[i];
    s.n_add_params = np;
    s.order = order;
    s.chunk = 5;
    return s;
}

/* The layer kernels (conv shapes and a GEMM) of spec sp against the
 * reference; the number of outputs that differ. */
static int layers_vs_ref(struct axl_mac_spec *sp, const char *label, uint64_t seed)
{
    char msg[AXL_MSG_LEN];
    struct axl_mac *m;
    cr_assert_eq(axl_mac_create(sp, &m, msg), AXL_OK, "%s: %s", label, msg);
    cr_assert_eq(m->acc, AXL_ACC_INT_ADD, "%s", label);
    struct iref r;
    iref_for(m, sp, &r);
    int bad = 0;
    /* uint8 activations from [-0.3, 1]: nonzero zero points */
    int uns = m->fa.kind == AXL_KIND_UINT;
    for (size_t si = 0; si < sizeof k_shapes / sizeof k_shapes[0]; si++) {
        const struct shape *s = &k_shapes[si];
        struct axl_conv_args a = {.n = s->n, .c = s->c, .h = s->h, .w = s->w, .oc = s->oc,
                                  .kh = s->kh, .kw = s->kw, .stride_h = s->sh, .stride_w = s->sw,
                                  .pad_t = s->pt, .pad_l = s->pl, .pad_b = s->pb, .pad_r = s->pr,
                                  .dil_h = 1, .dil_w = 1, .groups = s->g};
        int64_t nx = s->n * s->c * s->h * s->w, nw = s->oc * (s->c / s->g) * s->kh * s->kw;
        float *x = rand_vals(nx, seed + si, uns ? -0.3f : -1.0f, 1.0f);
        float *w = rand_vals(nw, seed + 50 + si, uns ? -0.2f : -0.5f, 0.5f);
        float *b = s->bias ? rand_vals(s->oc, seed + 90 + si, -0.1f, 0.1f) : NULL;
        a.x = x;
        a.weight = w;
        a.bias = b;
        int64_t oh, ow;
        cr_assert_eq(axl_conv_out_size(&a, &oh, &ow, msg), AXL_OK, "%s", msg);
        int64_t ny = s->n * s->oc * oh * ow;
        float *y = malloc((size_t)ny * sizeof *y), *yr = malloc((size_t)ny * sizeof *yr);
        a.y = y;
        cr_assert_eq(axl_mac_conv2d(m, AXL_BACKEND_CPU, &a, msg), AXL_OK, "%s: %s", label, msg);
        ref_conv(m, &r, &a, oh, ow, yr);
        char what[200];
        snprintf(what, sizeof what, "%s conv shape %zu", label, si);
        bad += compare(what, y, yr, ny);
        free(x);
        free(w);
        free(b);
        free(y);
        free(yr);
    }
    /* GEMM: 150 rows (two blocks), K = 70 (past one reduction tile) */
    int64_t M = 150, N = 9, K = 70;
    float *A = rand_vals(M * K, seed + 200, uns ? -0.3f : -1.0f, 1.0f);
    float *B = rand_vals(K * N, seed + 201, -0.5f, 0.5f), *bias = rand_vals(N, seed + 202, -1, 1);
    float *C = malloc((size_t)(M * N) * sizeof *C), *Cr = malloc((size_t)(M * N) * sizeof *Cr);
    struct axl_gemm_args g = {0, 0, M, N, K, A, K, B, N, bias, C, N};
    cr_assert_eq(axl_mac_gemm(m, AXL_BACKEND_CPU, &g, msg), AXL_OK, "%s", msg);
    g.c = Cr;
    ref_gemm(m, &r, &g);
    char what[200];
    snprintf(what, sizeof what, "%s gemm", label);
    bad += compare(what, C, Cr, M * N);
    free(A);
    free(B);
    free(bias);
    free(C);
    free(Cr);
    axl_mac_free(m);
    return bad;
}

Test(int_add, layers_equal_reference, .timeout = 600)
{
    static const struct {
        const char *mul, *fmt, *add, *acc, *param;
    } cases[] = {
        {"mul_exact", "int8", "loa", "int16", "k=4"},
        {"mul_exact", "int8", "loa", "int32", "k=6"},
        {"mitchell", "int8", "loa", "int32", "k=4"}, /* function path: the products' batch forms */
        {"mul_exact", "int8", "eta1", "int16", "k=3"},
        {"mul_exact", "int8", "trunc_add", "int32", "k=5"},
        {"mul_exact", "uint8", "loa", "int32", "k=4"},
        {"drum", "uint8", "eta1", "int24", "k=4"},
        {"mul_exact", "int4", "aca", "int16", "k=6"},
        {"mul_exact", "int8", "ama5", "int24", "k=4"},
        {"mul_exact", "int6", "loa", "int16", "k=2"},
    };
    static const enum axl_order orders[] = {AXL_ORDER_SEQUENTIAL, AXL_ORDER_PAIRWISE,
                                            AXL_ORDER_CHUNKED};
    int bad = 0, ran = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int o = 0; o < 3; o++) {
            if (o && i % 2) /* every order on half the cases, sequential on all */
                continue;
            const char *p[1] = {cases[i].param};
            struct axl_mac_spec s =
                spec(cases[i].mul, cases[i].fmt, cases[i].add, cases[i].acc, p, 1, orders[o]);
            char label[160];
            snprintf(label, sizeof label, "%s %s + %s(%s) into %s %s", cases[i].mul, cases[i].fmt,
                     cases[i].add, cases[i].param, cases[i].acc, axl_order_name(orders[o]));
            bad += layers_vs_ref(&s, label, 1000 + i * 10 + (uint64_t)o);
            ran++;
        }
    cr_assert_eq(ran, 20);
    cr_assert_eq(bad, 0, "%d outputs differ from the reference", bad);
}

/* add_exact into int32 is today's exact integer layer, byte for byte
 * (wrapping int32 adds either way), on the table and function paths. */
Test(int_add, add_exact_int32_equals_exact_layer, .timeout = 300)
{
    static const char *const muls[] = {"mul_exact", "mitchell"};
    static const char *const fmts[] = {"int8", "uint8"};
    int checked = 0;
    for (int mi = 0; mi < 2; mi++)
        for (int fi = 0; fi < 2; fi++) {
            char msg[AXL_MSG_LEN];
            struct axl_mac_spec se = spec(muls[mi], fmts[fi], NULL, NULL, NULL, 0, AXL_ORDER_SEQUENTIAL);
            struct axl_mac_spec sa = spec(muls[mi], fmts[fi], "add_exact", "int32", NULL, 0,
                                          AXL_ORDER_PAIRWISE);
            struct axl_mac *me, *ma;
            cr_assert_eq(axl_mac_create(&se, &me, msg), AXL_OK, "%s", msg);
            cr_assert_eq(axl_mac_create(&sa, &ma, msg), AXL_OK, "%s", msg);
            cr_assert_eq(me->acc, AXL_ACC_INT);
            cr_assert_eq(ma->acc, AXL_ACC_INT_ADD);
            for (size_t si = 0; si < sizeof k_shapes / sizeof k_shapes[0]; si++) {
                const struct shape *s = &k_shapes[si];
                struct axl_conv_args a = {.n = s->n, .c = s->c, .h = s->h, .w = s->w, .oc = s->oc,
                                          .kh = s->kh, .kw = s->kw, .stride_h = s->sh,
                                          .stride_w = s->sw, .pad_t = s->pt, .pad_l = s->pl,
                                          .pad_b = s->pb, .pad_r = s->pr, .dil_h = 1, .dil_w = 1,
                                          .groups = s->g};
                int64_t nx = s->n * s->c * s->h * s->w, nw = s->oc * (s->c / s->g) * s->kh * s->kw;
                float *x = rand_vals(nx, 7 + si, -0.4f, 1.0f), *w = rand_vals(nw, 8 + si, -1, 1);
                float *b = rand_vals(s->oc, 9 + si, -1, 1);
                a.x = x;
                a.weight = w;
                a.bias = s->bias ? b : NULL;
                int64_t oh, ow;
                cr_assert_eq(axl_conv_out_size(&a, &oh, &ow, msg), AXL_OK, "%s", msg);
                int64_t ny = s->n * s->oc * oh * ow;
                float *y1 = malloc((size_t)ny * sizeof *y1), *y2 = malloc((size_t)ny * sizeof *y2);
                a.y = y1;
                cr_assert_eq(axl_mac_conv2d(me, AXL_BACKEND_CPU, &a, msg), AXL_OK, "%s", msg);
                a.y = y2;
                cr_assert_eq(axl_mac_conv2d(ma, AXL_BACKEND_CPU, &a, msg), AXL_OK, "%s", msg);
                cr_expect_eq(memcmp(y1, y2, (size_t)ny * sizeof *y1), 0, "%s %s shape %zu",
                             muls[mi], fmts[fi], si);
                checked++;
                free(x);
                free(w);
                free(b);
                free(y1);
                free(y2);
            }
            axl_mac_free(me);
            axl_mac_free(ma);
        }
    cr_assert_eq(checked, 4 * (int)(sizeof k_shapes / sizeof k_shapes[0]));
}

/* The accumulator wraps in two's complement at its boundary: three int8
 * products of 127 x 127 = 16129 sum to 48387 = 2^16 - 17149, which an int16
 * register holds as -17149 (and an int17 one as 48387). */
Test(int_add, accumulator_wraps_at_its_width)
{
    static const char *const accs[] = {"int16", "int17"};
    static const int64_t want[] = {48387 - 65536, 48387};
    for (int i = 0; i < 2; i++) {
        char msg[AXL_MSG_LEN];
        struct axl_mac_spec s = spec("mul_exact", "int8", "add_exact", accs[i], NULL, 0,
                                     AXL_ORDER_SEQUENTIAL);
        struct axl_mac *m;
        cr_assert_eq(axl_mac_create(&s, &m, msg), AXL_OK, "%s", msg);
        float A[3] = {1, 1, 1}, B[3] = {1, 1, 1}, C[1];
        struct axl_gemm_args g = {0, 0, 1, 1, 3, A, 3, B, 1, NULL, C, 1};
        cr_assert_eq(axl_mac_gemm(m, AXL_BACKEND_CPU, &g, msg), AXL_OK, "%s", msg);
        float s1 = 1.0f / 127.0f;
        float y = (s1 * s1) * (float)want[i];
        cr_expect_eq(axl_f32_bits(C[0]), axl_f32_bits(y), "%s: got %g want %g", accs[i],
                     (double)C[0], (double)y);
        axl_mac_free(m);
    }
}

/* ---- the adders as N-bit registers -------------------------------------- */

/* Bound with the operand format as the result (the carry out dropped), an
 * adder gives the low N bits of its N+1-bit sum; the batch forms, at every
 * ISA level, give the scalar eval's bits; int16 and int32 take the
 * specialised loops. */
Test(int_add, register_adders_batch_and_wide_sum, .timeout = 300)
{
    static const char *const adders[] = {"add_exact", "loa", "eta1", "trunc_add", "ama5", "aca"};
    static const char *const fmts[] = {"int12", "int16", "int24", "int32"};
    const size_t n = 1 << 14;
    uint32_t *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *o = malloc(n * sizeof *o);
    cr_assert(x && y && o);
    long bad = 0, checked = 0;
    for (size_t ai = 0; ai < sizeof adders / sizeof adders[0]; ai++)
        for (size_t fi = 0; fi < 4; fi++) {
            const struct axl_design *d = axl_design_find(adders[ai]);
            struct axl_format f;
            char msg[AXL_MSG_LEN];
            cr_assert_eq(axl_format_parse_int_acc(fmts[fi], &f, msg), AXL_OK, "%s", msg);
            struct axl_design_ctx reg, wide;
            const char *p[1] = {"k=7"};
            int np = strcmp(adders[ai], "add_exact") ? 1 : 0;
            cr_assert_eq(axl_design_bind(d, &f, &f, &f, p, np, &reg, msg), AXL_OK, "%s", msg);
            cr_assert_eq(reg.fr.bits, f.bits);
            int spec = axl_batch_ispec_of(&reg);
            cr_expect_eq(spec, f.bits == 16 ? 5 : f.bits == 32 ? 6 : 0, "%s %s", adders[ai],
                         fmts[fi]);
            int have_wide = f.bits < 32;
            if (have_wide)
                cr_assert_eq(axl_design_bind(d, &f, &f, NULL, p, np, &wide, msg), AXL_OK, "%s", msg);
            uint32_t mk = mask_of(f.bits);
            for (size_t i = 0; i < n; i++) {
                x[i] = axl_rand32(ai * 16 + fi, i) & mk;
                y[i] = axl_rand32(ai * 16 + fi + 7, i) & mk;
            }
            /* the boundaries: most negative, most positive, -1, 0 */
            uint32_t edge[4] = {1u << (f.bits - 1), mk >> 1, mk, 0};
            for (int i = 0; i < 16; i++) {
                x[i] = edge[i / 4];
                y[i] = edge[i % 4];
            }
            for (size_t i = 0; have_wide && i < n; i++) {
                uint32_t r = d->eval(&reg, x[i], y[i]), w = d->eval(&wide, x[i], y[i]) & mk;
                if (r != w && bad++ < 10)
                    cr_log_error("%s %s: f(%08x, %08x) = %08x, wide sum's low bits %08x",
                                 adders[ai], fmts[fi], x[i], y[i], r, w);
            }
            for (int level = 0; level <= axl_design_batch_hw_level(); level++) {
                struct axl_design_batch bt = axl_design_batch_at_level(d, level);
                bt.pair(&reg, x, y, o, (int64_t)n);
                for (size_t i = 0; i < n; i++) {
                    uint32_t want = d->eval(&reg, x[i], y[i]);
                    if (o[i] != want && bad++ < 10)
                        cr_log_error("%s %s level %d pair: f(%08x, %08x) = %08x, batch %08x",
                                     adders[ai], fmts[fi], level, x[i], y[i], want, o[i]);
                }
                bt.row(&reg, x, y[3], o, (int64_t)n);
                for (size_t i = 0; i < n; i++) {
                    uint32_t want = d->eval(&reg, x[i], y[3]);
                    if (o[i] != want && bad++ < 10)
                        cr_log_error("%s %s level %d row: %08x", adders[ai], fmts[fi], level, o[i]);
                }
            }
            checked++;
        }
    free(x);
    free(y);
    free(o);
    cr_assert_eq(checked, 24);
    cr_assert_eq(bad, 0, "%ld mismatches", bad);
}

/* At 32 bits, where no wider sum exists to compare with, the adders
 * against their definitions written out here (the papers' descriptions):
 * exact: x + y mod 2^32; truncated: the low k bits of both operands
 * dropped and the sum's zero; LOA: the low k bits ORed, the AND of the
 * operands' bits k-1 carried into the exact upper sum. */
Test(int_add, int32_adders_against_their_definitions)
{
    struct axl_format f;
    char msg[AXL_MSG_LEN];
    cr_assert_eq(axl_format_parse_int_acc("int32", &f, msg), AXL_OK, "%s", msg);
    const struct axl_design *dx = axl_design_find("add_exact"), *dl = axl_design_find("loa"),
                            *dt = axl_design_find("trunc_add");
    struct axl_design_ctx cx, cl, ct;
    const char *p[1] = {"k=9"};
    cr_assert_eq(axl_design_bind(dx, &f, &f, NULL, NULL, 0, &cx, msg), AXL_OK, "%s", msg);
    cr_assert_eq(axl_design_bind(dl, &f, &f, &f, p, 1, &cl, msg), AXL_OK, "%s", msg);
    cr_assert_eq(axl_design_bind(dt, &f, &f, &f, p, 1, &ct, msg), AXL_OK, "%s", msg);
    cr_assert_eq(cx.fr.bits, 32, "a 32-bit add gives 32 bits (no int33 code)");
    int bad = 0;
    for (uint64_t i = 0; i < (1u << 16); i++) {
        uint32_t x = axl_rand32(5, i), y = axl_rand32(6, i);
        if (i < 4) {
            x = i & 1 ? 0x7FFFFFFFu : 0x80000000u;
            y = i & 2 ? 0xFFFFFFFFu : 0x7FFFFFFFu;
        }
        uint32_t lo = (x | y) & 0x1FFu, cin = (x >> 8) & (y >> 8) & 1u;
        uint32_t loa = ((((x >> 9) + (y >> 9) + cin) << 9) | lo);
        uint32_t tr = ((x >> 9) + (y >> 9)) << 9;
        bad += dx->eval(&cx, x, y) != x + y;
        bad += dl->eval(&cl, x, y) != loa;
        bad += dt->eval(&ct, x, y) != tr;
    }
    cr_assert_eq(bad, 0, "%d mismatches", bad);
}

/* ---- refusals ----------------------------------------------------------- */

Test(int_add, bad_configurations_are_refused)
{
    static const struct {
        const char *mul, *fmt, *add, *acc, *want;
    } cases[] = {
        {"mul_exact", "int8", "fpadd_loa", "int16", "takes floating"},
        {"mul_exact", "int8", "loa", "int8", "narrower than the products"},
        {"mul_exact", "uint8", "loa", "int16", "at least int17"},
        {"mul_exact", "int8", "loa", "uint16", "signed int<N>"},
        {"mul_exact", "int8", "loa", "fp16", "signed int<N>"},
        {"mul_exact", "int8", "loa", "int33", "2 <= N <= 32"},
        {"mul_exact", "int8", NULL, "int16", "needs an adder design"},
        {"mul_exact", "int8", "mitchell", "int16", "not an adder"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char msg[AXL_MSG_LEN] = "";
        struct axl_mac_spec s = spec(cases[i].mul, cases[i].fmt, cases[i].add, cases[i].acc, NULL,
                                     0, AXL_ORDER_SEQUENTIAL);
        struct axl_mac *m = NULL;
        cr_expect_neq(axl_mac_create(&s, &m, msg), AXL_OK, "case %zu accepted", i);
        cr_expect(strstr(msg, cases[i].want), "case %zu: '%s' lacks '%s'", i, msg, cases[i].want);
        cr_expect(!strchr(msg, '\n'), "one line: %s", msg);
        axl_mac_free(m);
    }
    /* the GPU planner refuses the kind before looking for a device */
    char msg[AXL_MSG_LEN] = "";
    struct axl_mac_spec s = spec("mul_exact", "int8", "loa", "int16", NULL, 0, AXL_ORDER_SEQUENTIAL);
    struct axl_mac *m;
    cr_assert_eq(axl_mac_create(&s, &m, msg), AXL_OK, "%s", msg);
    float A[2] = {1, 1}, B[2] = {1, 1}, C[1];
    struct axl_gemm_args g = {0, 0, 1, 1, 2, A, 2, B, 1, NULL, C, 1};
    cr_expect_eq(axl_mac_gemm(m, AXL_BACKEND_CUDA, &g, msg), AXL_ERR_UNSUPPORTED);
    cr_expect(strstr(msg, "runs on the CPU only"), "%s", msg);
    axl_mac_free(m);
}
