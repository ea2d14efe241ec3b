/* Baselines that `axlut bench` measures the approximate engine against, on
 * the same shapes and in the same run:
 *
 *   - exact float32 through a BLAS: im2col + sgemm, as Caffe-style
 *     frameworks do (bench/blas.c; only when built with a CBLAS);
 *   - the straightforward LUT loop of peer emulators (TFApprox- and
 *     AdaPT-style CPU code): activations and weights quantized to 8-bit
 *     codes once, then direct convolution indexing with one lut[a][b]
 *     gather per MAC from a 256x256 float table, OpenMP over output
 *     channels (bench/naive_lut.c).
 *
 * The baselines are speed references, not part of the library: they live
 * next to the CLI and return statuses like library code.
 */
#ifndef AXLUT_BENCH_BASELINES_H
#define AXLUT_BENCH_BASELINES_H

#include <stdint.h>

#include "axlut/format.h"
#include "axlut/status.h"

/* A square-kernel NCHW convolution (weights [oc][c][k][k]) or, when
 * is_gemm, C[m][n] = A[m][k] * W[n][k]^T (weights stored as a linear
 * layer's, one row per output). */
struct bench_dims {
    int is_gemm;
    int64_t n, c, h, w, oc, k, stride, pad; /* convolution */
    int64_t gm, gn, gk;                     /* gemm */
};

int64_t bench_out_h(const struct bench_dims *d);
int64_t bench_out_w(const struct bench_dims *d);
/* Multiply-accumulates of one pass: N*OC*OH*OW*C*K*K or M*N*K. */
int64_t bench_macs(const struct bench_dims *d);

/* ---- the naive LUT loop ------------------------------------------------ */

/* A 256x256 product table over 8-bit codes of one operand format:
 * lut[a * 256 + b] is the product's value, a the activation code (row), b
 * the weight code (column).  Integer formats are quantized symmetrically per
 * tensor (scale max|x| / qmax), floating ones encoded as they are. */
struct bench_lut {
    float lut[256 * 256];
    struct axl_format f;
};

/* Evaluate design `mul` (built-in, with "name=value" params) on f x f,
 * f an 8-bit format.  AXL_ERR_INVALID with a message otherwise. */
enum axl_status bench_lut_init(struct bench_lut *l, const char *mul, const char *const *params,
                               int nparams, const char *fmt, char *msg);

/* Codes of n values in q; returns the dequantization scale (1 for floating
 * formats). */
float bench_lut_quantize(const struct bench_lut *l, const float *x, int64_t n, uint8_t *q);

/* The whole baseline as a peer tool runs it: quantize x and w, pad the
 * activation codes with the code of 0 (conv), then the gather loop; y is
 * dequantized.  x: [n][c][h][w] or A[m][k]; w: [oc][c][k][k] or W[n][k];
 * y: [n][oc][oh][ow] or C[m][n].  AXL_ERR_NOMEM when buffers cannot be had. */
enum axl_status bench_lut_run(const struct bench_lut *l, const struct bench_dims *d,
                              const float *x, const float *w, float *y);

/* The gather loops alone, on codes (xpad: [n][c][h+2p][w+2p] for conv). */
void bench_lut_conv_codes(const float *lut, const struct bench_dims *d, const uint8_t *xpad,
                          const uint8_t *w, float scale, float *y);
void bench_lut_gemm_codes(const float *lut, const struct bench_dims *d, const uint8_t *a,
                          const uint8_t *w, float scale, float *y);

/* ---- exact float32 through BLAS ---------------------------------------- */

/* 1 when built with a CBLAS (AXL_HAVE_BLAS); name says which ("OpenBLAS
 * 0.3.21 ..." or "none"). */
int bench_blas_available(void);
const char *bench_blas_name(void);
void bench_blas_set_threads(int n);
/* When OpenBLAS did not recognise the CPU and runs older kernels than the
 * CPU can (e.g. a new Xeon seen as Prescott: SSE3 only), the value of
 * OPENBLAS_CORETYPE that would pick the right ones; else NULL. */
const char *bench_blas_core_hint(void);

/* Floats of the im2col workspace a convolution needs (0 for gemm): a
 * framework keeps it between calls, so the caller allocates it once. */
int64_t bench_blas_workspace(const struct bench_dims *d);

/* y = conv(x, w) by im2col of every image into col, then one sgemm per
 * image; or C = A W^T by one sgemm.  *im2col_s receives the seconds spent
 * in im2col (0 for gemm).  AXL_ERR_UNSUPPORTED without BLAS. */
enum axl_status bench_blas_run(const struct bench_dims *d, const float *x, const float *w,
                               float *y, float *col, double *im2col_s);

/* Monotonic seconds. */
double bench_now(void);

#endif
