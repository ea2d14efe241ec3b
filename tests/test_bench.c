/* axlut bench: the naive LUT baseline computes what it claims (against a
 * plain reference written separately); `axlut bench` end to end is in
 * tests/e2e/test_cli_bench.c. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "baselines.h"

static uint64_t g_rng = 0x243F6A8885A308D3ull;
static uint32_t rnd(void)
{
    g_rng = g_rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(g_rng >> 33);
}

/* The reference: bounds checks instead of a padded copy, the code of 0
 * where the window hangs over the edge, the same summation order (c, ky,
 * kx), so the float results must be identical. */
static void conv_ref(const float *lut, const struct bench_dims *d, const uint8_t *x,
                     const uint8_t *w, uint8_t zero, float scale, float *y)
{
    int64_t oh = (d->h + 2 * d->pad - d->k) / d->stride + 1;
    int64_t ow = (d->w + 2 * d->pad - d->k) / d->stride + 1;
    for (int64_t n = 0; n < d->n; n++)
        for (int64_t o = 0; o < d->oc; o++)
            for (int64_t oy = 0; oy < oh; oy++)
                for (int64_t ox = 0; ox < ow; ox++) {
                    float acc = 0.0f;
                    for (int64_t c = 0; c < d->c; c++)
                        for (int64_t ky = 0; ky < d->k; ky++)
                            for (int64_t kx = 0; kx < d->k; kx++) {
                                int64_t iy = oy * d->stride - d->pad + ky;
                                int64_t ix = ox * d->stride - d->pad + kx;
                                int in = iy >= 0 && iy < d->h && ix >= 0 && ix < d->w;
                                uint8_t a = in ? x[((n * d->c + c) * d->h + iy) * d->w + ix] : zero;
                                uint8_t b = w[((o * d->c + c) * d->k + ky) * d->k + kx];
                                acc += lut[a * 256 + b];
                            }
                    y[((n * d->oc + o) * oh + oy) * ow + ox] = acc * scale;
                }
}

Test(bench, naive_lut_conv_matches_reference)
{
    static struct bench_lut l;
    char msg[AXL_MSG_LEN];
    cr_assert_eq(bench_lut_init(&l, "mitchell", NULL, 0, "int8", msg), AXL_OK, "%s", msg);
    /* 0 x anything is 0 for Mitchell's multiplier */
    cr_assert_eq(l.lut[0 * 256 + 77], 0.0f);
    struct bench_dims d = {.n = 2, .c = 3, .h = 9, .w = 7, .oc = 4, .k = 3, .stride = 2, .pad = 1};
    int64_t nx = d.n * d.c * d.h * d.w, nw = d.oc * d.c * d.k * d.k;
    int64_t hp = d.h + 2, wp = d.w + 2, oh = bench_out_h(&d), ow = bench_out_w(&d);
    cr_assert_eq(oh, 5);
    cr_assert_eq(ow, 4);
    int64_t ny = d.n * d.oc * oh * ow;
    uint8_t x[2 * 3 * 9 * 7], w[4 * 3 * 9], xpad[2 * 3 * 11 * 9];
    float y[2 * 4 * 5 * 4], r[2 * 4 * 5 * 4];
    for (int64_t i = 0; i < nx; i++)
        x[i] = (uint8_t)rnd();
    for (int64_t i = 0; i < nw; i++)
        w[i] = (uint8_t)rnd();
    memset(xpad, 0, sizeof xpad);
    for (int64_t p = 0; p < d.n * d.c; p++)
        for (int64_t iy = 0; iy < d.h; iy++)
            memcpy(xpad + (p * hp + iy + 1) * wp + 1, x + (p * d.h + iy) * d.w, (size_t)d.w);
    bench_lut_conv_codes(l.lut, &d, xpad, w, 0.5f, y);
    conv_ref(l.lut, &d, x, w, 0, 0.5f, r);
    int bad = 0;
    for (int64_t i = 0; i < ny; i++)
        if (y[i] != r[i] && bad++ < 10)
            cr_log_error("output %lld: naive %a, reference %a", (long long)i, (double)y[i],
                         (double)r[i]);
    cr_assert_eq(bad, 0, "%d of %lld outputs differ", bad, (long long)ny);
}

Test(bench, naive_lut_gemm_matches_reference)
{
    static struct bench_lut l;
    char msg[AXL_MSG_LEN];
    const char *p[1] = {"k=4"};
    cr_assert_eq(bench_lut_init(&l, "fpmul_drum", p, 1, "e4m3", msg), AXL_OK, "%s", msg);
    struct bench_dims d = {.is_gemm = 1, .gm = 7, .gn = 5, .gk = 19};
    uint8_t a[7 * 19], w[5 * 19];
    float y[7 * 5];
    for (int i = 0; i < 7 * 19; i++)
        a[i] = (uint8_t)rnd();
    for (int i = 0; i < 5 * 19; i++)
        w[i] = (uint8_t)(rnd() & 0x77); /* finite e4m3 codes (no NaN) */
    for (int i = 0; i < 7 * 19; i++)
        a[i] &= 0xF7;
    bench_lut_gemm_codes(l.lut, &d, a, w, 1.0f, y);
    for (int m = 0; m < 7; m++)
        for (int n = 0; n < 5; n++) {
            float acc = 0.0f;
            for (int k = 0; k < 19; k++)
                acc += l.lut[a[m * 19 + k] * 256 + w[n * 19 + k]];
            cr_expect_eq(y[m * 5 + n], acc, "C[%d][%d]: naive %a, reference %a", m, n,
                         (double)y[m * 5 + n], (double)acc);
        }
}

/* With the exact multiplier the whole baseline (quantize, pad, gather,
 * dequantize) is a convolution up to int8 quantization error. */
Test(bench, naive_lut_exact_int8_is_a_convolution)
{
    static struct bench_lut l;
    char msg[AXL_MSG_LEN];
    cr_assert_eq(bench_lut_init(&l, "mul_exact", NULL, 0, "int8", msg), AXL_OK, "%s", msg);
    cr_assert_eq(l.lut[(uint8_t)-3 * 256 + 5], -15.0f, "signed codes index the table");
    struct bench_dims d = {.n = 1, .c = 4, .h = 6, .w = 6, .oc = 3, .k = 3, .stride = 1, .pad = 1};
    float x[4 * 36], w[3 * 4 * 9], y[3 * 36];
    for (int i = 0; i < 4 * 36; i++)
        x[i] = (float)((int)(rnd() % 2001) - 1000) / 1000.0f;
    for (int i = 0; i < 3 * 36; i++)
        w[i] = (float)((int)(rnd() % 2001) - 1000) / 4000.0f;
    cr_assert_eq(bench_lut_run(&l, &d, x, w, y), AXL_OK);
    double num = 0.0, den = 0.0;
    for (int o = 0; o < 3; o++)
        for (int oy = 0; oy < 6; oy++)
            for (int ox = 0; ox < 6; ox++) {
                double acc = 0.0;
                for (int c = 0; c < 4; c++)
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            int iy = oy - 1 + ky, ix = ox - 1 + kx;
                            if (iy >= 0 && iy < 6 && ix >= 0 && ix < 6)
                                acc += (double)x[(c * 6 + iy) * 6 + ix] *
                                       w[((o * 4 + c) * 3 + ky) * 3 + kx];
                        }
                double e = y[(o * 6 + oy) * 6 + ox] - acc;
                num += e * e;
                den += acc * acc;
            }
    cr_assert_lt(sqrt(num / den), 0.02, "relative RMS error %g", sqrt(num / den));
}
