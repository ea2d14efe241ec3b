/* The fast exact kernels of a run's reference (emu/net/exact_fast.c)
 * against a slow double-precision convolution and matrix product written
 * here, over the geometries that take each of their paths: im2col + sgemm,
 * the pointwise form without im2col, and the direct loops of small grouped
 * and depthwise convolutions; then through a graph (axl_run_opts.fast_exact)
 * against the engine's exact path. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/graph.h"
#include "exact_fast.h"

static float rnd(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((double)(*s >> 11) / (double)(1ULL << 53)) * 2.0f - 1.0f;
}

static float *filled(int64_t n, uint64_t seed)
{
    float *v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
    for (int64_t i = 0; i < n; i++)
        v[i] = rnd(&seed);
    return v;
}

/* y and the sum of |products| of every output (the scale of its rounding) */
static void conv_ref(const struct axl_conv_args *a, int64_t oh, int64_t ow, double *y,
                     double *mag)
{
    int64_t cg = a->c / a->groups, ocg = a->oc / a->groups;
    for (int64_t n = 0; n < a->n; n++)
        for (int64_t o = 0; o < a->oc; o++)
            for (int64_t oy = 0; oy < oh; oy++)
                for (int64_t ox = 0; ox < ow; ox++) {
                    double s = a->bias ? a->bias[o] : 0.0, m = fabs(s);
                    for (int64_t ci = 0; ci < cg; ci++)
                        for (int64_t ky = 0; ky < a->kh; ky++)
                            for (int64_t kx = 0; kx < a->kw; kx++) {
                                int64_t iy = oy * a->stride_h - a->pad_t + ky * a->dil_h;
                                int64_t ix = ox * a->stride_w - a->pad_l + kx * a->dil_w;
                                if (iy < 0 || iy >= a->h || ix < 0 || ix >= a->w)
                                    continue;
                                int64_t c = (o / ocg) * cg + ci;
                                double p = (double)a->x[((n * a->c + c) * a->h + iy) * a->w + ix] *
                                           a->weight[((o * cg + ci) * a->kh + ky) * a->kw + kx];
                                s += p;
                                m += fabs(p);
                            }
                    int64_t i = ((n * a->oc + o) * oh + oy) * ow + ox;
                    y[i] = s;
                    mag[i] = m;
                }
}

struct conv_case {
    int64_t n, c, h, w, oc, kh, kw, s, pad, dil, groups;
    int bias;
};

static const struct conv_case k_cases[] = {
    {2, 3, 17, 19, 8, 3, 3, 1, 1, 1, 1, 1},   /* im2col + sgemm, tiles of 256 and a rest */
    {1, 16, 9, 9, 32, 3, 3, 2, 1, 1, 1, 0},   /* strided */
    {2, 8, 12, 10, 6, 3, 3, 1, 2, 2, 1, 1},   /* dilated, padded beyond the kernel */
    {2, 40, 7, 7, 24, 1, 1, 1, 0, 1, 1, 1},   /* pointwise: the input is its own im2col */
    {1, 40, 8, 8, 24, 1, 1, 2, 0, 1, 1, 0},   /* 1x1 strided: im2col again */
    {2, 12, 11, 13, 12, 3, 3, 1, 1, 1, 12, 1}, /* depthwise: direct loops */
    {2, 12, 11, 13, 12, 3, 3, 2, 1, 1, 12, 0}, /* strided depthwise */
    {1, 8, 10, 10, 16, 3, 3, 1, 1, 1, 4, 1},  /* grouped, 18 weights per output: direct */
    {1, 64, 6, 6, 32, 3, 3, 1, 1, 1, 2, 1},   /* grouped, 288 weights: sgemm per group */
    {3, 3, 5, 40, 4, 5, 7, 3, 3, 1, 1, 1},    /* rectangular kernel, wide input */
    {1, 2, 1, 30, 3, 1, 5, 1, 2, 1, 1, 1},    /* a 1-D convolution (H = 1) */
};

Test(exact_fast, conv_matches_a_double_reference)
{
    for (size_t ci = 0; ci < sizeof k_cases / sizeof k_cases[0]; ci++) {
        const struct conv_case *k = &k_cases[ci];
        struct axl_conv_args a;
        memset(&a, 0, sizeof a);
        a.n = k->n, a.c = k->c, a.h = k->h, a.w = k->w, a.oc = k->oc, a.kh = k->kh, a.kw = k->kw;
        a.stride_h = k->h == 1 ? 1 : k->s, a.stride_w = k->s;
        a.pad_t = a.pad_b = k->h == 1 ? 0 : k->pad, a.pad_l = a.pad_r = k->pad;
        a.dil_h = a.dil_w = k->dil, a.groups = k->groups;
        float *x = filled(a.n * a.c * a.h * a.w, 1 + ci), *w = filled(a.oc * (a.c / a.groups) *
                                                                         a.kh * a.kw, 100 + ci);
        float *b = k->bias ? filled(a.oc, 200 + ci) : NULL;
        a.x = x, a.weight = w, a.bias = b;
        char msg[AXL_MSG_LEN];
        int64_t oh, ow;
        cr_assert_eq(axl_conv_out_size(&a, &oh, &ow, msg), AXL_OK, "case %zu: %s", ci, msg);
        int64_t ny = a.n * a.oc * oh * ow;
        float *y = malloc((size_t)ny * sizeof *y);
        for (int64_t i = 0; i < ny; i++)
            y[i] = NAN; /* every output must be written */
        double *ref = malloc((size_t)ny * sizeof *ref), *mag = malloc((size_t)ny * sizeof *mag);
        a.y = y;
        cr_assert_eq(axl_fast_conv2d(&a, msg), AXL_OK, "case %zu: %s", ci, msg);
        conv_ref(&a, oh, ow, ref, mag);
        int bad = 0;
        for (int64_t i = 0; i < ny; i++) {
            /* float32 sums of K products: within K ulps of their magnitude */
            double tol = 4e-7 * (double)((a.c / a.groups) * a.kh * a.kw + 1) * (mag[i] + 1e-30);
            if (!(fabs(y[i] - ref[i]) <= tol) && bad++ < 10)
                cr_log_error("case %zu: y[%lld] = %.9g, reference %.9g", ci, (long long)i,
                             (double)y[i], ref[i]);
        }
        cr_expect_eq(bad, 0, "case %zu: %d outputs off", ci, bad);
        free(x), free(w), free(b), free(y), free(ref), free(mag);
    }
}

Test(exact_fast, gemm_matches_a_double_reference_in_every_transpose)
{
    const int64_t m = 37, n = 29, k = 300;
    float *a = filled(m * k, 7), *b = filled(k * n, 8), *bias = filled(n, 9);
    float *c = malloc((size_t)(m * n) * sizeof *c);
    char msg[AXL_MSG_LEN];
    for (int t = 0; t < 8; t++) {
        int ta = t & 1, tb = (t >> 1) & 1, wb = t >> 2;
        struct axl_gemm_args g;
        memset(&g, 0, sizeof g);
        g.trans_a = ta, g.trans_b = tb, g.m = m, g.n = n, g.k = k;
        g.a = a, g.lda = ta ? m : k, g.b = b, g.ldb = tb ? k : n;
        g.bias = wb ? bias : NULL;
        g.c = c, g.ldc = n;
        for (int64_t i = 0; i < m * n; i++)
            c[i] = NAN;
        cr_assert_eq(axl_fast_gemm(&g, msg), AXL_OK, "%s", msg);
        int bad = 0;
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                double s = wb ? bias[j] : 0.0, mg = fabs(s);
                for (int64_t r = 0; r < k; r++) {
                    double p = (double)(ta ? a[r * m + i] : a[i * k + r]) *
                               (tb ? b[j * k + r] : b[r * n + j]);
                    s += p;
                    mg += fabs(p);
                }
                if (!(fabs(c[i * n + j] - s) <= 4e-7 * (double)(k + 1) * mg) && bad++ < 10)
                    cr_log_error("ta=%d tb=%d bias=%d: c[%lld][%lld] = %.9g, reference %.9g", ta,
                                 tb, wb, (long long)i, (long long)j, (double)c[i * n + j], s);
            }
        cr_expect_eq(bad, 0, "ta=%d tb=%d bias=%d: %d outputs off", ta, tb, wb, bad);
    }
    struct axl_gemm_args g = {0, 0, m, n, k, a, k, b, n, NULL, c, n + 1};
    cr_expect_neq(axl_fast_gemm(&g, msg), AXL_OK, "a strided C is refused");
    free(a), free(b), free(bias), free(c);
}

/* Through a whole graph: the fast path where asked (fast_exact), the
 * engine's elsewhere, both the exact network to float32 rounding. */
Test(exact_fast, graph_nodes_take_it_only_where_asked)
{
    const char *src = getenv("AXL_SOURCE_DIR");
    cr_assert(src, "AXL_SOURCE_DIR is not set (run through ctest)");
    char path[1024], msg[AXL_MSG_LEN];
    snprintf(path, sizeof path, "%s/tests/data/models/lenet.onnx", src);
    struct axl_graph *g;
    cr_assert_eq(axl_graph_load(path, &g, msg), AXL_OK, "%s", msg);
    size_t nn = axl_graph_node_count(g);
    uint8_t *all = calloc(nn, 1), *none = calloc(nn, 1);
    for (size_t i = 0; i < nn; i++)
        all[i] = 1;
    struct axl_tensor in = {4, {3, 1, 28, 28}, filled(3 * 28 * 28, 42)};
    struct axl_tensor o_eng, o_fast, o_none;
    struct axl_run_opts o;
    memset(&o, 0, sizeof o);
    cr_assert_eq(axl_graph_run(g, &o, &in, &o_eng, msg), AXL_OK, "%s", msg);
    o.fast_exact = none;
    cr_assert_eq(axl_graph_run(g, &o, &in, &o_none, msg), AXL_OK, "%s", msg);
    o.fast_exact = all;
    cr_assert_eq(axl_graph_run(g, &o, &in, &o_fast, msg), AXL_OK, "%s", msg);
    int64_t n = axl_tensor_numel(&o_eng);
    cr_assert_eq(n, axl_tensor_numel(&o_fast));
    cr_expect_eq(memcmp(o_eng.data, o_none.data, (size_t)n * sizeof(float)), 0,
                 "no node asked: the engine's bits");
    double mx = 0, err = 0;
    for (int64_t i = 0; i < n; i++) {
        mx = fmax(mx, fabs(o_eng.data[i]));
        err = fmax(err, fabs(o_eng.data[i] - o_fast.data[i]));
    }
    cr_expect(err <= 1e-5 * mx, "fast exact differs by %g (outputs up to %g)", err, mx);
    if (axl_fast_exact_available())
        cr_expect_neq(memcmp(o_eng.data, o_fast.data, (size_t)n * sizeof(float)), 0,
                      "every node asked, yet the engine's own bits: the fast path did not run");
    axl_tensor_free(&o_eng), axl_tensor_free(&o_fast), axl_tensor_free(&o_none);
    free(in.data), free(all), free(none);
    axl_graph_free(g);
}
