/* The straightforward LUT loop of peer emulators, kept deliberately plain:
 * it is the "before" that the engine's kernels are measured against.
 * Padding is materialised once (the code of 0 around the input, as a
 * tf.pad before the kernel) so that the loop itself has no bounds checks. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "axlut/design.h"
#include "baselines.h"

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int64_t bench_out_h(const struct bench_dims *d)
{
    return d->is_gemm ? 1 : (d->h + 2 * d->pad - d->k) / d->stride + 1;
}

int64_t bench_out_w(const struct bench_dims *d)
{
    return d->is_gemm ? 1 : (d->w + 2 * d->pad - d->k) / d->stride + 1;
}

int64_t bench_macs(const struct bench_dims *d)
{
    if (d->is_gemm)
        return d->gm * d->gn * d->gk;
    return d->n * d->oc * bench_out_h(d) * bench_out_w(d) * d->c * d->k * d->k;
}

enum axl_status bench_lut_init(struct bench_lut *l, const char *mul, const char *const *params,
                               int nparams, const char *fmt, char *msg)
{
    const struct axl_design *d = axl_design_find(mul);
    if (!d) {
        return axl_msgf(msg, AXL_ERR_INVALID, "naive LUT baseline: unknown built-in design '%s'", mul);
    }
    enum axl_status st = axl_format_parse(fmt, &l->f, msg);
    if (st != AXL_OK)
        return st;
    if (l->f.bits != 8) {
        return axl_msgf(msg, AXL_ERR_INVALID, "naive LUT baseline: %s is not an 8-bit format", l->f.name);
    }
    struct axl_design_ctx c;
    if ((st = axl_design_bind(d, &l->f, &l->f, NULL, params, nparams, &c, msg)) != AXL_OK)
        return st;
    for (uint32_t a = 0; a < 256; a++)
        for (uint32_t b = 0; b < 256; b++)
            l->lut[a * 256 + b] = axl_format_decode(&c.fr, d->eval(&c, a, b));
    return AXL_OK;
}

float bench_lut_quantize(const struct bench_lut *l, const float *x, int64_t n, uint8_t *q)
{
    float scale = 1.0f;
    if (l->f.kind != AXL_KIND_FLOAT) {
        float amax = 0.0f;
        for (int64_t i = 0; i < n; i++)
            amax = fmaxf(amax, fabsf(x[i]));
        float qmax = l->f.kind == AXL_KIND_INT ? 127.0f : 255.0f;
        scale = amax > 0.0f ? amax / qmax : 1.0f;
    }
    float inv = 1.0f / scale;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++)
        q[i] = (uint8_t)axl_format_encode(&l->f, x[i] * inv, AXL_ROUND_NEAREST_EVEN, 0);
    return scale;
}

void bench_lut_conv_codes(const float *lut, const struct bench_dims *d, const uint8_t *xpad,
                          const uint8_t *w, float scale, float *y)
{
    const int64_t C = d->c, K = d->k, S = d->stride;
    const int64_t hp = d->h + 2 * d->pad, wp = d->w + 2 * d->pad;
    const int64_t oh = bench_out_h(d), ow = bench_out_w(d);
#pragma omp parallel for schedule(static)
    for (int64_t o = 0; o < d->oc; o++)
        for (int64_t n = 0; n < d->n; n++)
            for (int64_t oy = 0; oy < oh; oy++)
                for (int64_t ox = 0; ox < ow; ox++) {
                    float acc = 0.0f;
                    for (int64_t c = 0; c < C; c++)
                        for (int64_t ky = 0; ky < K; ky++)
                            for (int64_t kx = 0; kx < K; kx++) {
                                uint8_t a = xpad[((n * C + c) * hp + oy * S + ky) * wp + ox * S + kx];
                                uint8_t b = w[((o * C + c) * K + ky) * K + kx];
                                acc += lut[a * 256 + b];
                            }
                    y[((n * d->oc + o) * oh + oy) * ow + ox] = acc * scale;
                }
}

void bench_lut_gemm_codes(const float *lut, const struct bench_dims *d, const uint8_t *a,
                          const uint8_t *w, float scale, float *y)
{
    const int64_t M = d->gm, N = d->gn, K = d->gk;
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; n++)
        for (int64_t m = 0; m < M; m++) {
            float acc = 0.0f;
            for (int64_t k = 0; k < K; k++)
                acc += lut[a[m * K + k] * 256 + w[n * K + k]];
            y[m * N + n] = acc * scale;
        }
}

enum axl_status bench_lut_run(const struct bench_lut *l, const struct bench_dims *d,
                              const float *x, const float *w, float *y)
{
    int64_t nx = d->is_gemm ? d->gm * d->gk : d->n * d->c * d->h * d->w;
    int64_t nw = d->is_gemm ? d->gn * d->gk : d->oc * d->c * d->k * d->k;
    int64_t hp = d->h + 2 * d->pad, wp = d->w + 2 * d->pad;
    int64_t npad = d->is_gemm ? 0 : d->n * d->c * hp * wp;
    uint8_t *qx = malloc((size_t)nx), *qw = malloc((size_t)nw);
    uint8_t *xpad = npad ? malloc((size_t)npad) : NULL;
    if (!qx || !qw || (npad && !xpad)) {
        free(qx);
        free(qw);
        free(xpad);
        return AXL_ERR_NOMEM;
    }
    float sx = bench_lut_quantize(l, x, nx, qx);
    float sw = bench_lut_quantize(l, w, nw, qw);
    if (d->is_gemm) {
        bench_lut_gemm_codes(l->lut, d, qx, qw, sx * sw, y);
    } else {
        uint8_t zero = (uint8_t)axl_format_encode(&l->f, 0.0f, AXL_ROUND_NEAREST_EVEN, 0);
        memset(xpad, zero, (size_t)npad);
#pragma omp parallel for schedule(static)
        for (int64_t r = 0; r < d->n * d->c * d->h; r++) {
            int64_t plane = r / d->h, iy = r % d->h;
            memcpy(xpad + (plane * hp + iy + d->pad) * wp + d->pad, qx + r * d->w, (size_t)d->w);
        }
        bench_lut_conv_codes(l->lut, d, xpad, qw, sx * sw, y);
    }
    free(qx);
    free(qw);
    free(xpad);
    return AXL_OK;
}
