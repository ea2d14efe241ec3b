/* The reference block-scaled layers (include/axlut/block_mac.h): GEMM and
 * convolution against float64 computed here from the blocks as
 * docs/FORMATS.md lays them along the reduction axis (rows / columns along
 * K; for convolutions the group's channels at each pixel and tap), on
 * values where float32 arithmetic is exact; the transposed GEMM layouts;
 * a 1x1 convolution against the GEMM; refusals. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/block_mac.h"

static struct axl_block_format parse(const char *name)
{
    struct axl_block_format f;
    cr_assert_eq(axl_block_format_parse(name, &f, NULL), AXL_OK);
    return f;
}

/* Small multiples of powers of two: products and sums stay exact. */
static float grid(void) { return (float)ldexp(rand() % 9 - 4, rand() % 2); }

/* Decoded values of one vector of len values, quantized alone (NVFP4 with
 * the tensor scale ts). */
static void decoded(const struct axl_block_format *f, const float *v, int64_t len, float ts,
                    double *out)
{
    int64_t nb = axl_block_count(f, len);
    uint32_t *c = calloc((size_t)(nb * f->size), 4), *s = calloc((size_t)nb, 4);
    float *d = calloc((size_t)(nb * f->size), 4), t;
    cr_assert_eq(axl_block_quantize(f, v, len, AXL_ROUND_NEAREST_EVEN, 0,
                                    f->scale == AXL_BSCALE_E4M3 ? &ts : NULL, c, s, &t, NULL),
                 AXL_OK);
    cr_assert_eq(axl_block_decode(f, c, s, t, len, d, NULL), AXL_OK);
    for (int64_t i = 0; i < len; i++)
        out[i] = d[i];
    free(c), free(s), free(d);
}

static float tensor_scale(const struct axl_block_format *f, const float *v, int64_t n)
{
    float amax = 0;
    for (int64_t i = 0; i < n; i++)
        amax = fmaxf(amax, fabsf(v[i]));
    return axl_block_tensor_scale(f, amax);
}

static const char *k_names[] = {"mxfp4", "mxfp6e2m3", "mxint8", "nvfp4", "mxfp8"};

Test(block_mac, gemm_against_float64)
{
    enum { M = 5, N = 4, K = 70 };
    float a[M * K], at[K * M], w[N * K], wt[K * N], bias[N], c[M * N], c2[M * N];
    srand(1);
    for (int i = 0; i < M * K; i++)
        a[i] = grid();
    for (int i = 0; i < N * K; i++)
        w[i] = grid();
    a[0] = w[0] = 10.5f; /* NVFP4: tensor scale 2688 / 10.5 = 256, exact to undo */
    for (int m = 0; m < M; m++)
        for (int k = 0; k < K; k++)
            at[k * M + m] = a[m * K + k];
    for (int n = 0; n < N; n++) {
        bias[n] = (float)n;
        for (int k = 0; k < K; k++)
            wt[k * N + n] = w[n * K + k];
    }
    for (int t = 0; t < 5; t++) {
        struct axl_block_format f = parse(k_names[t]);
        struct axl_gemm_args g = {0, 1, M, N, K, a, K, w, K, bias, c, N};
        char msg[AXL_MSG_LEN];
        cr_assert_eq(axl_block_gemm_ref(&f, &f, NULL, &g, msg), AXL_OK, "%s", msg);
        float tsa = tensor_scale(&f, a, M * K), tsw = tensor_scale(&f, w, N * K);
        for (int m = 0; m < M; m++)
            for (int n = 0; n < N; n++) {
                double da[K], dw[K], y = 0;
                decoded(&f, a + m * K, K, tsa, da);
                decoded(&f, w + n * K, K, tsw, dw);
                for (int k = 0; k < K; k++)
                    y += da[k] * dw[k];
                cr_expect_eq((double)c[m * N + n], y + n, "%s [%d][%d]: %a exp %a", f.name, m, n,
                             (double)c[m * N + n], y + n);
            }
        /* the same through the other layouts */
        struct axl_gemm_args g2 = {1, 0, M, N, K, at, M, wt, N, bias, c2, N};
        cr_assert_eq(axl_block_gemm_ref(&f, &f, NULL, &g2, msg), AXL_OK, "%s", msg);
        cr_expect(!memcmp(c, c2, sizeof c), "%s: transposed layouts differ", f.name);
    }
}

Test(block_mac, conv_against_float64)
{
    /* 40 channels in 2 groups: 20 per group, one partial block per pixel */
    enum { NB = 2, C = 40, H = 5, W = 4, OC = 4, KH = 3, KW = 2, G = 2, CG = C / G };
    static float x[NB * C * H * W], wt[OC * CG * KH * KW], bias[OC], y[NB * OC * H * W];
    srand(2);
    for (int i = 0; i < NB * C * H * W; i++)
        x[i] = grid();
    for (int i = 0; i < OC * CG * KH * KW; i++)
        wt[i] = grid();
    x[0] = wt[0] = 10.5f; /* NVFP4: tensor scale 2688 / 10.5 = 256, exact to undo */
    for (int o = 0; o < OC; o++)
        bias[o] = -(float)o;
    const int OH = (H + 2 - 2 * (KH - 1) - 1) / 1 + 1; /* pad 1 top and bottom, dilation 2 */
    const int OW = (W + 1 - (KW - 1) - 1) / 2 + 1;     /* pad 1 left, stride 2 */
    for (int t = 0; t < 5; t++) {
        struct axl_block_format f = parse(k_names[t]);
        struct axl_conv_args ca = {NB, C, H, W, OC, KH, KW, 1, 2, 1, 1, 1, 0, 2, 1, G,
                                   x, wt, bias, y};
        char msg[AXL_MSG_LEN];
        cr_assert_eq(axl_block_conv2d_ref(&f, &f, NULL, &ca, msg), AXL_OK, "%s", msg);
        float tsx = tensor_scale(&f, x, NB * C * H * W), tsw = tensor_scale(&f, wt, OC * CG * KH * KW);
        int bad = 0;
        for (int b = 0; b < NB; b++)
            for (int o = 0; o < OC; o++) {
                int g = o / (OC / G);
                for (int oy = 0; oy < OH; oy++)
                    for (int ox = 0; ox < OW; ox++) {
                        double acc = 0;
                        for (int r = 0; r < KH; r++)
                            for (int s = 0; s < KW; s++) {
                                int iy = oy - 1 + 2 * r, ix = ox * 2 - 1 + s;
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                                    continue;
                                /* the pixel's channels of the group, the tap's weights */
                                float xv[CG], wv[CG];
                                double dx[CG], dwv[CG];
                                for (int ci = 0; ci < CG; ci++) {
                                    xv[ci] = x[((b * C + g * CG + ci) * H + iy) * W + ix];
                                    wv[ci] = wt[((o * CG + ci) * KH + r) * KW + s];
                                }
                                decoded(&f, xv, CG, tsx, dx);
                                decoded(&f, wv, CG, tsw, dwv);
                                for (int ci = 0; ci < CG; ci++)
                                    acc += dx[ci] * dwv[ci];
                            }
                        double want = acc - o;
                        float got = y[((b * OC + o) * OH + oy) * OW + ox];
                        if ((double)got != want && bad++ < 10)
                            fprintf(stderr, "%s y[%d][%d][%d][%d] = %a exp %a\n", f.name, b, o,
                                    oy, ox, (double)got, want);
                    }
            }
        cr_expect_eq(bad, 0, "%s: %d mismatches", f.name, bad);
    }
}

/* A 1x1 convolution is the GEMM of its pixels by its channels. */
Test(block_mac, conv1x1_is_the_gemm)
{
    enum { C = 48, HW = 6, OC = 3 };
    float x[C * HW], w[OC * C], y[OC * HW], cg[HW * OC];
    srand(3);
    for (int i = 0; i < C * HW; i++)
        x[i] = (float)((double)rand() / RAND_MAX - 0.5);
    for (int i = 0; i < OC * C; i++)
        w[i] = (float)((double)rand() / RAND_MAX - 0.5);
    for (int t = 0; t < 5; t++) {
        struct axl_block_format f = parse(k_names[t]);
        struct axl_conv_args ca = {1, C, 2, 3, OC, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, x, w, NULL, y};
        struct axl_gemm_args g = {1, 1, HW, OC, C, x, HW, w, C, NULL, cg, OC};
        cr_assert_eq(axl_block_conv2d_ref(&f, &f, NULL, &ca, NULL), AXL_OK);
        cr_assert_eq(axl_block_gemm_ref(&f, &f, NULL, &g, NULL), AXL_OK);
        for (int p = 0; p < HW; p++)
            for (int o = 0; o < OC; o++)
                cr_expect_eq(y[o * HW + p], cg[p * OC + o], "%s pixel %d channel %d", f.name, p,
                             o);
    }
}

Test(block_mac, refuses_mixed_formats)
{
    struct axl_block_format a = parse("mxfp8"), b = parse("nvfp4");
    float v[4] = {1, 2, 3, 4}, c[1];
    struct axl_gemm_args g = {0, 1, 1, 1, 4, v, 4, v, 4, NULL, c, 1};
    char msg[AXL_MSG_LEN] = "";
    cr_expect_eq(axl_block_gemm_ref(&a, &b, NULL, &g, msg), AXL_ERR_INVALID);
    cr_expect(strstr(msg, "mxfp8") && strstr(msg, "nvfp4"), "%s", msg);
    /* different element formats of one block kind are fine */
    struct axl_block_format e = parse("mxfp6e3m2");
    cr_expect_eq(axl_block_gemm_ref(&a, &e, NULL, &g, msg), AXL_OK, "%s", msg);
}
