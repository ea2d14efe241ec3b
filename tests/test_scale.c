/* Scaling of floating operands (include/axlut/scale.h) and its wiring into
 * the MAC engine: the scale formula against one computed here from its
 * definition, GEMM and convolution outputs bit for bit against a reference
 * that scales, encodes (format.h) and sums in float32 itself, the
 * straight-through values, and the refusals (integer formats, bad values
 * in a configuration).
 */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/layers.h"
#include "axlut/mac.h"
#include "axlut/scale.h"

/* s from its definition: pow2, the largest 2^k with 2^k * amax <= fmax
 * (searched in double, where every 2^k * amax is exact); else the float32
 * quotient; then the margin. */
static float ref_scale(double fmax, float amax, int pow2, int margin)
{
    if (!(amax > 0) || !isfinite(amax))
        return 1.0f;
    if (pow2) {
        int k = 300;
        while (ldexp(amax, k) > fmax)
            k--;
        k -= margin;
        return (float)ldexp(1.0, k > 127 ? 127 : k);
    }
    float q = (float)(fmax / (double)amax);
    if (!isfinite(q))
        q = FLT_MAX;
    return (float)ldexp(q, -margin);
}

static struct axl_format fmt(const char *name)
{
    struct axl_format f;
    cr_assert_eq(axl_format_parse(name, &f, NULL), AXL_OK);
    return f;
}

Test(scale, formula)
{
    const char *names[] = {"e4m3", "e5m2", "e3m2", "e2m3", "e2m1", "fp16", "bf16"};
    srand(1);
    int bad = 0;
    for (int t = 0; t < 7; t++) {
        struct axl_format f = fmt(names[t]);
        double fmax = axl_format_max_finite(&f);
        for (int i = 0; i < 3000; i++) {
            /* random magnitudes, and significands right at fmax's */
            float amax = (float)ldexp(1.0 + (double)rand() / RAND_MAX, rand() % 200 - 100);
            if (i % 3 == 0)
                amax = (float)ldexp(fmax, rand() % 40 - 20) * (i % 2 ? 1.0f : 1.0000001f);
            if (!isfinite(amax))
                continue;
            for (int pow2 = 0; pow2 < 2; pow2++) {
                int margin = i % 4;
                float got = axl_scale_for(&f, amax, pow2, margin);
                float want = ref_scale(fmax, amax, pow2, margin);
                if (got != want && bad++ < 10)
                    fprintf(stderr, "%s amax %a pow2 %d margin %d: %a exp %a\n", names[t],
                            (double)amax, pow2, margin, (double)got, (double)want);
                if (pow2 && (double)got * amax > fmax && bad++ < 10)
                    fprintf(stderr, "%s amax %a: s * amax beyond max finite\n", names[t],
                            (double)amax);
            }
        }
    }
    struct axl_format e4 = fmt("e4m3"), i8 = fmt("int8");
    cr_expect_eq(axl_scale_for(&e4, 0.0f, 0, 0), 1.0f);
    cr_expect_eq(axl_scale_for(&e4, NAN, 1, 0), 1.0f);
    cr_expect_eq(axl_scale_for(&e4, INFINITY, 1, 0), 1.0f);
    cr_expect_eq(axl_scale_for(&i8, 3.0f, 0, 0), 1.0f);
    cr_expect_eq(axl_scale_for(&e4, 1.0f, 1, 0), 256.0f); /* 448 / 1 -> 2^8 */
    cr_expect_eq(axl_scale_for(&e4, 1.0f, 0, 2), 112.0f);
    cr_expect_eq(axl_scale_for(&e4, FLT_TRUE_MIN, 1, 0), 0x1p127f);
    const float v[] = {1.0f, -7.0f, NAN, INFINITY, 2.0f};
    cr_expect_eq(axl_scale_amax(v, 5, 1), 7.0f);
    cr_expect_eq(axl_scale_amax(v, 3, 2), 2.0f, "stride 2: 1, NaN, 2 -> %g",
                 (double)axl_scale_amax(v, 3, 2));
    cr_assert_eq(bad, 0, "%d mismatches", bad);
}

/* axl_scale_amax over every length up to 100 (the 16-lane body and the
 * tail), strides 1 and 3, with NaNs, infinities, negative zeros and the
 * largest finite float placed anywhere: the largest finite magnitude, as a
 * one-element-at-a-time loop finds it. */
Test(scale, amax_against_a_sequential_loop)
{
    float x[300];
    int bad = 0;
    for (int trial = 0; trial < 40; trial++) {
        for (int i = 0; i < 300; i++) {
            uint32_t r = axl_rand32(77 + (uint64_t)trial, (uint64_t)i);
            float v = (float)(r >> 8) / 65536.0f - 128.0f;
            switch (r % 23) {
            case 0: v = NAN; break;
            case 1: v = -INFINITY; break;
            case 2: v = -0.0f; break;
            case 3: v = trial % 5 == 0 ? -FLT_MAX : v; break;
            default: break;
            }
            x[i] = v;
        }
        for (int64_t n = 0; n <= 100; n++)
            for (int64_t st = 1; st <= 3; st += 2) {
                float want = 0.0f;
                for (int64_t i = 0; i < n; i++) {
                    float a = fabsf(x[i * st]);
                    if (isfinite(a) && a > want)
                        want = a;
                }
                float got = axl_scale_amax(x, n, st);
                if (memcmp(&got, &want, sizeof got) && bad++ < 10)
                    cr_log_error("trial %d n=%lld stride %lld: %a, want %a", trial, (long long)n,
                                 (long long)st, (double)got, (double)want);
            }
    }
    cr_assert_eq(bad, 0, "%d mismatches", bad);
}

/* ---- the MAC engine ---------------------------------------------------- */

struct cfg {
    const char *fmt;
    enum axl_wscale w;
    enum axl_ascale a;
    int pow2, margin;
    float act_amax;
};

static struct axl_mac *make(const struct cfg *c)
{
    struct axl_mac_spec s;
    memset(&s, 0, sizeof s);
    s.fmt_a = c->fmt;
    s.fmt_p = "fp32"; /* exact products: the reference needs no product rounding */
    s.wscale = c->w;
    s.ascale = c->a;
    s.scale_pow2 = c->pow2;
    s.scale_margin = c->margin;
    s.act_amax = c->act_amax;
    struct axl_mac *m;
    char msg[AXL_MSG_LEN];
    cr_assert_eq(axl_mac_create(&s, &m, msg), AXL_OK, "%s", msg);
    return m;
}

static float amax_of(const float *x, int64_t n)
{
    double a = 0;
    for (int64_t i = 0; i < n; i++)
        a = fmax(a, fabs(x[i]));
    return (float)a;
}

/* Scaled code, decoded: the value the MAC multiplies before descaling. */
static float qv(const struct axl_format *f, float x, float s)
{
    return axl_format_decode(f, axl_format_encode(f, x * s, AXL_ROUND_NEAREST_EVEN, 0));
}

static const struct cfg k_cfgs[] = {
    {"e4m3", AXL_WSCALE_CHANNEL, AXL_ASCALE_DYNAMIC, 1, 0, 0},
    {"e4m3", AXL_WSCALE_TENSOR, AXL_ASCALE_CALIBRATED, 0, 0, 3.5f},
    {"e4m3", AXL_WSCALE_CHANNEL, AXL_ASCALE_NONE, 0, 1, 0},
    {"e5m2", AXL_WSCALE_NONE, AXL_ASCALE_DYNAMIC, 1, 2, 0},
    {"e2m1", AXL_WSCALE_CHANNEL, AXL_ASCALE_DYNAMIC, 0, 0, 0},
    {"e3m2", AXL_WSCALE_TENSOR, AXL_ASCALE_DYNAMIC, 1, 0, 0},
};
#define N_CFGS 6

/* Per-channel weight scales and the activation scale, by the definition. */
static void ref_scales(const struct cfg *c, const struct axl_format *f, const float *x,
                       int64_t nx, const float *w, int64_t nout, int64_t k, float *sa, float *sw)
{
    double fmax = axl_format_max_finite(f);
    *sa = c->a == AXL_ASCALE_NONE ? 1.0f
          : ref_scale(fmax, c->a == AXL_ASCALE_CALIBRATED ? c->act_amax : amax_of(x, nx), c->pow2,
                      c->margin);
    float tmax = amax_of(w, nout * k);
    for (int64_t n = 0; n < nout; n++)
        sw[n] = c->w == AXL_WSCALE_NONE ? 1.0f
                : ref_scale(fmax, c->w == AXL_WSCALE_TENSOR ? tmax : amax_of(w + n * k, k),
                            c->pow2, c->margin);
}

Test(scale, gemm_bit_exact_against_reference)
{
    enum { M = 37, N = 11, K = 70 };
    static float a[M * K], w[N * K], wkn[K * N], bias[N], y[M * N];
    srand(2);
    for (int i = 0; i < M * K; i++)
        a[i] = (float)ldexp((double)rand() / RAND_MAX - 0.3, -9 + rand() % 4);
    for (int n = 0; n < N; n++) {
        bias[n] = (float)n * 0.01f;
        for (int j = 0; j < K; j++) /* channels of very different ranges */
            w[n * K + j] = (float)ldexp((double)rand() / RAND_MAX - 0.5, -12 + n);
    }
    for (int n = 0; n < N; n++)
        for (int j = 0; j < K; j++)
            wkn[j * N + n] = w[n * K + j];
    int bad = 0;
    /* B as N x K (trans_b) and as K x N, with and without a bias */
    for (int t = 0; t < 2 * N_CFGS; t++) {
        const struct cfg *c = &k_cfgs[t % N_CFGS];
        const int kn = t >= N_CFGS;
        const float *bs = kn && t % 2 ? NULL : bias;
        struct axl_format f = fmt(c->fmt);
        struct axl_mac *m = make(c);
        struct axl_gemm_args g = {0, !kn, M, N, K, a, K, kn ? wkn : w, kn ? N : K, bs, y, N};
        char msg[AXL_MSG_LEN];
        cr_assert_eq(axl_mac_gemm(m, AXL_BACKEND_CPU, &g, msg), AXL_OK, "%s", msg);
        float sa, sw[N];
        ref_scales(c, &f, a, M * K, w, N, K, &sa, sw);
        for (int i = 0; i < M; i++)
            for (int n = 0; n < N; n++) {
                float acc = 0.0f;
                for (int j = 0; j < K; j++)
                    acc += qv(&f, a[i * K + j], sa) * qv(&f, w[n * K + j], sw[n]);
                float want = acc * ((1.0f / sa) * (1.0f / sw[n]));
                want = bs ? want + bs[n] : want;
                if (memcmp(&want, &y[i * N + n], 4) && bad++ < 10)
                    fprintf(stderr, "cfg %d y[%d][%d] = %a, exp %a\n", t, i, n,
                            (double)y[i * N + n], (double)want);
            }
        axl_mac_free(m);
    }
    cr_assert_eq(bad, 0, "%d mismatches", bad);
}

Test(scale, conv_bit_exact_against_reference)
{
    enum { NB = 2, C = 3, H = 7, W = 6, OC = 4, KH = 3, KW = 2 };
    static float x[NB * C * H * W], wt[OC * C * KH * KW], bias[OC], y[NB * OC * H * W];
    srand(3);
    for (int i = 0; i < NB * C * H * W; i++)
        x[i] = (float)ldexp((double)rand() / RAND_MAX - 0.5, -6);
    for (int i = 0; i < OC * C * KH * KW; i++)
        wt[i] = (float)ldexp((double)rand() / RAND_MAX - 0.5, -3 - i / (C * KH * KW));
    for (int o = 0; o < OC; o++)
        bias[o] = 0.5f - (float)o;
    const int K = C * KH * KW, OH = H, OW = W - 1; /* pad 1 each side vertically */
    int bad = 0;
    for (int t = 0; t < N_CFGS; t++) {
        const struct cfg *c = &k_cfgs[t];
        struct axl_format f = fmt(c->fmt);
        struct axl_mac *m = make(c);
        struct axl_conv_args ca = {NB, C, H, W, OC, KH, KW, 1, 1, 1, 0, 1, 0, 1, 1, 1,
                                   x, wt, bias, y};
        char msg[AXL_MSG_LEN];
        cr_assert_eq(axl_mac_conv2d(m, AXL_BACKEND_CPU, &ca, msg), AXL_OK, "%s", msg);
        float sa, sw[OC];
        ref_scales(c, &f, x, NB * C * H * W, wt, OC, K, &sa, sw);
        for (int b = 0; b < NB; b++)
            for (int o = 0; o < OC; o++)
                for (int oy = 0; oy < OH; oy++)
                    for (int ox = 0; ox < OW; ox++) {
                        float acc = 0.0f;
                        for (int ci = 0; ci < C; ci++)
                            for (int r = 0; r < KH; r++)
                                for (int s = 0; s < KW; s++) {
                                    int iy = oy - 1 + r, ix = ox + s;
                                    float xv = iy >= 0 && iy < H ? x[((b * C + ci) * H + iy) * W + ix]
                                                                 : 0.0f;
                                    acc += qv(&f, xv, sa) *
                                           qv(&f, wt[((o * C + ci) * KH + r) * KW + s], sw[o]);
                                }
                        float want = acc * ((1.0f / sa) * (1.0f / sw[o])) + bias[o];
                        float got = y[((b * OC + o) * OH + oy) * OW + ox];
                        if (memcmp(&want, &got, 4) && bad++ < 10)
                            fprintf(stderr, "cfg %d y[%d][%d][%d][%d] = %a, exp %a\n", t, b, o,
                                    oy, ox, (double)got, (double)want);
                    }
        axl_mac_free(m);
    }
    cr_assert_eq(bad, 0, "%d mismatches", bad);
}

/* Small values that e4m3 alone flushes to zero are kept by scaling: the
 * scaled layer is close to float64, the unscaled one is not. */
Test(scale, scaling_recovers_small_values)
{
    enum { M = 8, N = 4, K = 64 };
    float a[M * K], w[N * K], y0[M * N], y1[M * N];
    srand(4);
    for (int i = 0; i < M * K; i++)
        a[i] = (float)((double)rand() / RAND_MAX - 0.5) * 1e-3f;
    for (int i = 0; i < N * K; i++)
        w[i] = (float)((double)rand() / RAND_MAX - 0.5) * 1e-3f;
    struct cfg none = {"e4m3", 0, 0, 0, 0, 0}, sc = {"e4m3", AXL_WSCALE_CHANNEL, AXL_ASCALE_DYNAMIC, 1, 0, 0};
    struct axl_mac *m0 = make(&none), *m1 = make(&sc);
    struct axl_gemm_args g0 = {0, 1, M, N, K, a, K, w, K, NULL, y0, N}, g1 = g0;
    g1.c = y1;
    cr_assert_eq(axl_mac_gemm(m0, AXL_BACKEND_CPU, &g0, NULL), AXL_OK);
    cr_assert_eq(axl_mac_gemm(m1, AXL_BACKEND_CPU, &g1, NULL), AXL_OK);
    double e0 = 0, e1 = 0, nrm = 0;
    for (int i = 0; i < M; i++)
        for (int n = 0; n < N; n++) {
            double r = 0;
            for (int j = 0; j < K; j++)
                r += (double)a[i * K + j] * w[n * K + j];
            e0 += (y0[i * N + n] - r) * (y0[i * N + n] - r);
            e1 += (y1[i * N + n] - r) * (y1[i * N + n] - r);
            nrm += r * r;
        }
    cr_expect_lt(e1, 1e-2 * nrm, "scaled: relative error %g", e1 / nrm);
    cr_expect_gt(e0, 0.5 * nrm, "unscaled: relative error %g", e0 / nrm);
    char d[320];
    axl_mac_describe(m1, d, sizeof d);
    cr_expect(strstr(d, "scale w=per-channel a=dynamic pow2"), "%s", d);
    axl_mac_describe(m0, d, sizeof d);
    cr_expect(!strstr(d, "scale"), "%s", d);
    axl_mac_free(m0);
    axl_mac_free(m1);
}

/* The straight-through values: decode(encode(x * s)) / s. */
Test(scale, quantize_acts_and_weights_descale)
{
    float x[50], q[50], w[3 * 10], qw[3 * 10];
    for (int i = 0; i < 50; i++)
        x[i] = (float)(i - 25) * 1e-4f;
    for (int i = 0; i < 30; i++)
        w[i] = (float)(i % 10 - 4) * (float)ldexp(1.0, -(i / 10) * 5);
    struct cfg c = {"e4m3", AXL_WSCALE_CHANNEL, AXL_ASCALE_DYNAMIC, 1, 0, 0};
    struct axl_mac *m = make(&c);
    struct axl_format f = fmt("e4m3");
    cr_assert_eq(axl_mac_quantize_acts(m, x, 50, q, NULL), AXL_OK);
    float sa = ref_scale(448, amax_of(x, 50), 1, 0);
    for (int i = 0; i < 50; i++)
        cr_expect_eq(q[i], qv(&f, x[i], sa) / sa, "x[%d] = %g -> %g", i, (double)x[i], (double)q[i]);
    cr_assert_eq(axl_mac_quantize_weights(m, w, 3, 10, 10, 1, qw, NULL), AXL_OK);
    for (int n = 0; n < 3; n++) {
        float s = ref_scale(448, amax_of(w + 10 * n, 10), 1, 0);
        for (int j = 0; j < 10; j++)
            cr_expect_eq(qw[n * 10 + j], qv(&f, w[n * 10 + j], s) / s);
    }
    axl_mac_free(m);
}

Test(scale, refusals)
{
    struct axl_mac_spec s;
    struct axl_mac *m;
    char msg[AXL_MSG_LEN] = "";
    memset(&s, 0, sizeof s);
    s.fmt_a = "int8";
    s.wscale = AXL_WSCALE_CHANNEL;
    cr_expect_eq(axl_mac_create(&s, &m, msg), AXL_ERR_INVALID);
    cr_expect(m == NULL && strstr(msg, "int8") && strstr(msg, "floating"), "%s", msg);
    s.fmt_a = "e4m3";
    s.wscale = AXL_WSCALE_NONE;
    s.ascale = AXL_ASCALE_CALIBRATED;
    cr_expect_eq(axl_mac_create(&s, &m, msg), AXL_ERR_INVALID);
    cr_expect(strstr(msg, "act-amax"), "%s", msg);
    s.ascale = AXL_ASCALE_DYNAMIC;
    s.scale_margin = 40;
    cr_expect_eq(axl_mac_create(&s, &m, msg), AXL_ERR_INVALID);
    cr_expect(strstr(msg, "margin"), "%s", msg);

    struct axl_layers *l;
    cr_assert_eq(axl_layers_new(&l, msg), AXL_OK);
    cr_expect_eq(axl_layers_set_default(l, "wscale", "per-row", msg), AXL_ERR_INVALID);
    cr_expect(strstr(msg, "per-row") && strstr(msg, "per-channel"), "%s", msg);
    cr_expect_eq(axl_layers_set_default(l, "ascale", "static", msg), AXL_ERR_INVALID);
    cr_expect(strstr(msg, "calibrated"), "%s", msg);
    cr_expect_eq(axl_layers_set_default(l, "act-amax", "-2", msg), AXL_ERR_INVALID);
    cr_expect_eq(axl_layers_set_default(l, "scale-margin", "x", msg), AXL_ERR_INVALID);
    cr_expect_eq(axl_layers_set_default(l, "scale-pow2", "yes", msg), AXL_ERR_INVALID);
    axl_layers_free(l);
}

/* A JSON configuration carries every scaling field to the layer's spec
 * (act_amax as a JSON real). */
Test(scale, layers_json_fields)
{
    char path[] = "/tmp/axl_scale_cfgXXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "{\"default\": {\"format\": \"e4m3\", \"wscale\": \"per-channel\", "
               "\"ascale\": \"calibrated\", \"act_amax\": 2.5, \"scale_pow2\": true, "
               "\"scale_margin\": 1},\n"
               " \"layers\": [{\"match\": \"fc\", \"wscale\": \"per-tensor\"}]}\n");
    fclose(f);
    struct axl_layers *l;
    char msg[AXL_MSG_LEN];
    cr_assert_eq(axl_layers_load_json(path, &l, msg), AXL_OK, "%s", msg);
    remove(path);
    struct axl_mac_spec s;
    int exact;
    axl_layers_resolve(l, "conv", "Conv", &s, &exact);
    cr_assert(!exact);
    cr_expect_eq(s.wscale, AXL_WSCALE_CHANNEL);
    cr_expect_eq(s.ascale, AXL_ASCALE_CALIBRATED);
    cr_expect_eq(s.act_amax, 2.5f);
    cr_expect_eq(s.scale_pow2, 1);
    cr_expect_eq(s.scale_margin, 1);
    axl_layers_resolve(l, "fc", "Gemm", &s, &exact);
    cr_expect_eq(s.wscale, AXL_WSCALE_TENSOR);
    cr_expect_eq(s.act_amax, 2.5f);
    axl_layers_free(l);
}

/* A scaled layer's products default to float32 (operands near the top of
 * their format multiply far beyond it); an explicit product format stays;
 * an unscaled layer keeps the design's default. */
Test(scale, scaled_products_default_to_fp32)
{
    struct axl_mac_spec s;
    memset(&s, 0, sizeof s);
    s.fmt_a = "e4m3";
    s.mul = "fpmul_drum";
    struct axl_mac *m;
    char msg[AXL_MSG_LEN], d[320];
    cr_assert_eq(axl_mac_create(&s, &m, msg), AXL_OK, "%s", msg);
    axl_mac_describe(m, d, sizeof d);
    cr_expect(strstr(d, "-> e4m3fn via"), "%s", d);
    axl_mac_free(m);
    s.wscale = AXL_WSCALE_CHANNEL;
    cr_assert_eq(axl_mac_create(&s, &m, msg), AXL_OK, "%s", msg);
    axl_mac_describe(m, d, sizeof d);
    cr_expect(strstr(d, "-> fp32 via"), "%s", d);
    axl_mac_free(m);
    s.fmt_p = "bf16";
    cr_assert_eq(axl_mac_create(&s, &m, msg), AXL_OK, "%s", msg);
    axl_mac_describe(m, d, sizeof d);
    cr_expect(strstr(d, "-> bf16 via"), "%s", d);
    axl_mac_free(m);
}
