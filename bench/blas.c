/* Exact float32 baseline: im2col, then one sgemm per image, through a CBLAS
 * (OpenBLAS from Debian when found), as Caffe-style frameworks run a
 * convolution.  Built without BLAS, the baseline reports itself missing. */
#include <stdio.h>
#include <string.h>

#include "baselines.h"

#ifdef AXL_HAVE_BLAS
#include <cblas.h>
#endif
#ifdef AXL_HAVE_OPENBLAS
/* Declared by OpenBLAS's cblas.h; repeated so that another CBLAS header
 * cannot leave them undeclared. */
void openblas_set_num_threads(int num_threads);
char *openblas_get_config(void);
char *openblas_get_corename(void);
#endif

int bench_blas_available(void)
{
#ifdef AXL_HAVE_BLAS
    return 1;
#else
    return 0;
#endif
}

const char *bench_blas_name(void)
{
#if defined(AXL_HAVE_OPENBLAS)
    /* the build's configuration names its baseline target; the kernels
     * DYNAMIC_ARCH picked at run time (OPENBLAS_CORETYPE overrides) are
     * the core */
    static char name[256];
    snprintf(name, sizeof name, "%s, core %s", openblas_get_config(), openblas_get_corename());
    return name;
#elif defined(AXL_HAVE_BLAS)
    return "CBLAS";
#else
    return "none";
#endif
}

const char *bench_blas_core_hint(void)
{
#if defined(AXL_HAVE_OPENBLAS) && defined(__x86_64__) && defined(__GNUC__)
    const char *core = openblas_get_corename();
    if (strcmp(core, "Prescott") && strcmp(core, "Core2") && strcmp(core, "Nehalem") &&
        strcmp(core, "Sandybridge"))
        return NULL;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return strcmp(core, "SkylakeX") ? "SkylakeX" : NULL;
    if (__builtin_cpu_supports("avx2"))
        return strcmp(core, "Haswell") ? "Haswell" : NULL;
#endif
    return NULL;
}

void bench_blas_set_threads(int n)
{
#ifdef AXL_HAVE_OPENBLAS
    openblas_set_num_threads(n);
#else
    (void)n;
#endif
}

#ifdef AXL_HAVE_BLAS
/* col[img][(c, ky, kx)][(oy, ox)] of every image, zeros where the window
 * hangs over the padding.  All images first, then the sgemms: OpenBLAS's
 * own (pthread) workers spin for a while after each call, and an OpenMP
 * im2col between two calls would fight them for the cores. */
static void im2col(const struct bench_dims *d, const float *x, float *col)
{
    const int64_t K = d->k, oh = bench_out_h(d), ow = bench_out_w(d);
    const int64_t rows = d->c * K * K;
#pragma omp parallel for schedule(static)
    for (int64_t ir = 0; ir < d->n * rows; ir++) {
        int64_t img = ir / rows, r = ir % rows;
        int64_t c = r / (K * K), ky = (r / K) % K, kx = r % K;
        float *dst = col + ir * oh * ow;
        const float *src = x + (img * d->c + c) * d->h * d->w;
        for (int64_t oy = 0; oy < oh; oy++) {
            int64_t iy = oy * d->stride - d->pad + ky;
            if (iy < 0 || iy >= d->h) {
                memset(dst + oy * ow, 0, (size_t)ow * sizeof *dst);
                continue;
            }
            for (int64_t ox = 0; ox < ow; ox++) {
                int64_t ix = ox * d->stride - d->pad + kx;
                dst[oy * ow + ox] = ix >= 0 && ix < d->w ? src[iy * d->w + ix] : 0.0f;
            }
        }
    }
}
#endif

int64_t bench_blas_workspace(const struct bench_dims *d)
{
    return d->is_gemm ? 0 : d->n * d->c * d->k * d->k * bench_out_h(d) * bench_out_w(d);
}

enum axl_status bench_blas_run(const struct bench_dims *d, const float *x, const float *w,
                               float *y, float *col, double *im2col_s)
{
    *im2col_s = 0.0;
#ifdef AXL_HAVE_BLAS
    if (d->is_gemm) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)d->gm, (int)d->gn, (int)d->gk,
                    1.0f, x, (int)d->gk, w, (int)d->gk, 0.0f, y, (int)d->gn);
        return AXL_OK;
    }
    const int64_t P = bench_out_h(d) * bench_out_w(d), KK = d->c * d->k * d->k;
    double t0 = bench_now();
    im2col(d, x, col);
    *im2col_s = bench_now() - t0;
    for (int64_t img = 0; img < d->n; img++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d->oc, (int)P, (int)KK, 1.0f,
                    w, (int)KK, col + img * KK * P, (int)P, 0.0f, y + img * d->oc * P, (int)P);
    return AXL_OK;
#else
    (void)d;
    (void)x;
    (void)w;
    (void)y;
    (void)col;
    return AXL_ERR_UNSUPPORTED;
#endif
}
