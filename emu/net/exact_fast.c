/* The fast exact float32 MAC nodes of a dataset run's reference
 * (axl_run_opts.fast_exact): convolutions as im2col + OpenBLAS sgemm (the
 * way Caffe-style frameworks run them), small grouped and depthwise ones
 * as direct loops, GEMMs through grad_sgemm.  The same values as the
 * engine's exact path to float32 rounding, in another summation order;
 * every output is summed the same way whatever the thread count (fixed
 * tiles, one sgemm per tile). */
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "autodiff.h"
#include "exact_fast.h"

#ifdef AXL_HAVE_BLAS
#include <cblas.h>
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
#endif

int axl_fast_exact_available(void)
{
#ifdef AXL_HAVE_BLAS
    return 1;
#else
    return 0;
#endif
}

/* Columns of output positions per sgemm: col (K x TILE floats, at most
 * 2.3 MB for ResNet's 512 x 3 x 3) stays in L2 between im2col and sgemm. */
#define TILE 256

/* A reduction this short (weights per output of a group) runs as direct
 * loops: an sgemm over 9 products per output would be all overhead. */
#define DIRECT_MAX_K 32

struct geom {
    int64_t oh, ow, P, cg, ocg, K;
};

static void add_bias(const struct axl_conv_args *a, const struct geom *q)
{
    if (!a->bias)
        return;
#pragma omp parallel for schedule(static) if (a->n * a->oc * q->P > 32768)
    for (int64_t io = 0; io < a->n * a->oc; io++) {
        float b = a->bias[io % a->oc], *y = a->y + io * q->P;
#pragma omp simd
        for (int64_t p = 0; p < q->P; p++)
            y[p] += b;
    }
}

/* Output x-range [lo, hi) of kernel column kx where the input column
 * ox * stride - pad + kx * dil lies inside [0, w). */
static void valid_cols(const struct axl_conv_args *a, const struct geom *q, int64_t kx,
                       int64_t *lo, int64_t *hi)
{
    int64_t off = kx * a->dil_w - a->pad_l; /* ix = ox * s + off */
    int64_t s = a->stride_w;
    *lo = off >= 0 ? 0 : (-off + s - 1) / s;
    *hi = a->w - off <= 0 ? 0 : (a->w - off + s - 1) / s;
    if (*hi > q->ow)
        *hi = q->ow;
    if (*lo > *hi)
        *lo = *hi;
}

/* Direct convolution: every output row of (image, output channel) summed
 * over its group's channels and the kernel, row by row. */
static void conv_direct(const struct axl_conv_args *a, const struct geom *q)
{
#pragma omp parallel for schedule(static)
    for (int64_t io = 0; io < a->n * a->oc; io++) {
        int64_t img = io / a->oc, o = io % a->oc, g = o / q->ocg;
        float *y = a->y + io * q->P;
        const float *wo = a->weight + o * q->K;
        memset(y, 0, (size_t)q->P * sizeof *y);
        for (int64_t ci = 0; ci < q->cg; ci++) {
            const float *x = a->x + ((img * a->c) + g * q->cg + ci) * a->h * a->w;
            for (int64_t ky = 0; ky < a->kh; ky++)
                for (int64_t kx = 0; kx < a->kw; kx++) {
                    float wv = wo[(ci * a->kh + ky) * a->kw + kx];
                    int64_t lo, hi;
                    valid_cols(a, q, kx, &lo, &hi);
                    const int64_t off = kx * a->dil_w - a->pad_l, s = a->stride_w;
                    for (int64_t oy = 0; oy < q->oh; oy++) {
                        int64_t iy = oy * a->stride_h - a->pad_t + ky * a->dil_h;
                        if (iy < 0 || iy >= a->h)
                            continue;
                        const float *xr = x + iy * a->w;
                        float *yr = y + oy * q->ow;
#pragma omp simd
                        for (int64_t ox = lo; ox < hi; ox++)
                            yr[ox] += wv * xr[ox * s + off];
                    }
                }
        }
    }
}

#ifdef AXL_HAVE_BLAS
/* col[r][j] for r = (ci, ky, kx) of group g and output positions
 * [p0, p0 + len): the input under each window, zero over the padding.
 * Along runs of one output row, so that the bounds are worked out once
 * per row and kernel column (valid_cols), not per element. */
static void im2col_tile(const struct axl_conv_args *a, const struct geom *q, int64_t img,
                        int64_t g, int64_t p0, int64_t len, float *col)
{
    int64_t kk = a->kh * a->kw;
    const int64_t s = a->stride_w;
    for (int64_t r = 0; r < q->K; r++) {
        int64_t ci = r / kk, ky = (r / a->kw) % a->kh, kx = r % a->kw;
        const float *x = a->x + ((img * a->c) + g * q->cg + ci) * a->h * a->w;
        const int64_t off = kx * a->dil_w - a->pad_l;
        int64_t lo, hi;
        valid_cols(a, q, kx, &lo, &hi);
        float *dst = col + r * len;
        for (int64_t j = 0, p = p0; j < len;) {
            int64_t oy = p / q->ow, ox0 = p % q->ow;
            int64_t seg = q->ow - ox0 < len - j ? q->ow - ox0 : len - j;
            int64_t iy = oy * a->stride_h - a->pad_t + ky * a->dil_h;
            float *d = dst + j; /* d[ox - ox0] for ox in [ox0, ox0 + seg) */
            if (iy < 0 || iy >= a->h) {
                memset(dst + j, 0, (size_t)seg * sizeof *dst);
            } else {
                const float *xr = x + iy * a->w;
                int64_t e = ox0 + seg, l = lo > ox0 ? lo : ox0, h = hi < e ? hi : e;
                if (l > h)
                    l = h;
                for (int64_t ox = ox0; ox < l; ox++)
                    d[ox - ox0] = 0.0f;
#pragma omp simd
                for (int64_t ox = l; ox < h; ox++)
                    d[ox - ox0] = xr[ox * s + off];
                for (int64_t ox = h > ox0 ? h : ox0; ox < e; ox++)
                    d[ox - ox0] = 0.0f;
            }
            j += seg;
            p += seg;
        }
    }
}

/* 1 when the im2col of the convolution is its input itself (1x1, stride
 * 1, no padding). */
static int pointwise(const struct axl_conv_args *a)
{
    return a->kh == 1 && a->kw == 1 && a->stride_h == 1 && a->stride_w == 1 && !a->pad_t &&
           !a->pad_l && !a->pad_b && !a->pad_r;
}

/* One sgemm per tile of TILE output positions of one (image, group), in an
 * OpenMP loop with OpenBLAS on one thread: its own threads would fight
 * OpenMP's spinning ones (emu/net/autodiff.c does the same). */
static enum axl_status conv_blas(const struct axl_conv_args *a, const struct geom *q, char *msg)
{
    const int64_t tiles = (q->P + TILE - 1) / TILE, items = a->n * a->groups * tiles;
    const int pw = pointwise(a);
    int nth = 1;
#ifdef _OPENMP
    nth = omp_get_max_threads();
#endif
    float *buf = NULL;
    if (!pw && !(buf = malloc((size_t)nth * (size_t)(q->K * TILE) * sizeof *buf)))
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory for the im2col of a %lldx%lld "
                        "convolution", (long long)a->kh, (long long)a->kw);
    int keep = openblas_get_num_threads();
    openblas_set_num_threads(1);
#pragma omp parallel for schedule(dynamic) num_threads(nth)
    for (int64_t it = 0; it < items; it++) {
        int64_t img = it / (a->groups * tiles), g = (it / tiles) % a->groups, t = it % tiles;
        int64_t p0 = t * TILE, len = q->P - p0 < TILE ? q->P - p0 : TILE;
        const float *b;
        int64_t ldb;
        if (pw) {
            b = a->x + (img * a->c + g * q->cg) * q->P + p0;
            ldb = q->P;
        } else {
            int tid = 0;
#ifdef _OPENMP
            tid = omp_get_thread_num();
#endif
            float *col = buf + (size_t)tid * (size_t)(q->K * TILE);
            im2col_tile(a, q, img, g, p0, len, col);
            b = col;
            ldb = len;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)q->ocg, (blasint)len,
                    (blasint)q->K, 1.0f, a->weight + g * q->ocg * q->K, (blasint)q->K, b,
                    (blasint)ldb, 0.0f, a->y + (img * a->oc + g * q->ocg) * q->P + p0,
                    (blasint)q->P);
    }
    openblas_set_num_threads(keep);
    free(buf);
    return AXL_OK;
}
#endif

enum axl_status axl_fast_conv2d(const struct axl_conv_args *a, char *msg)
{
    struct geom q;
    enum axl_status st = axl_conv_out_size(a, &q.oh, &q.ow, msg);
    if (st != AXL_OK)
        return st;
    q.P = q.oh * q.ow;
    q.cg = a->c / a->groups;
    q.ocg = a->oc / a->groups;
    q.K = q.cg * a->kh * a->kw;
    if (a->n == 0 || a->oc == 0 || q.P == 0)
        return AXL_OK;
#ifdef AXL_HAVE_BLAS
    if (q.K > DIRECT_MAX_K && q.K <= INT32_MAX / TILE && q.P <= INT32_MAX) {
        if ((st = conv_blas(a, &q, msg)) != AXL_OK)
            return st;
        add_bias(a, &q);
        return AXL_OK;
    }
#endif
    conv_direct(a, &q);
    add_bias(a, &q);
    return AXL_OK;
}

enum axl_status axl_fast_gemm(const struct axl_gemm_args *g, char *msg)
{
    if (g->ldc != g->n)
        return axl_msgf(msg, AXL_ERR_INVALID, "fast exact gemm: ldc %lld is not n %lld",
                        (long long)g->ldc, (long long)g->n);
    enum axl_status st = grad_sgemm(g->trans_a, g->trans_b, g->m, g->n, g->k, g->a, g->lda, g->b,
                                    g->ldb, g->c, msg);
    if (st != AXL_OK || !g->bias)
        return st;
#pragma omp parallel for schedule(static) if (g->m * g->n > 32768)
    for (int64_t i = 0; i < g->m; i++) {
        float *c = g->c + i * g->ldc;
#pragma omp simd
        for (int64_t j = 0; j < g->n; j++)
            c[j] += g->bias[j];
    }
    return AXL_OK;
}
