/* The MAC engine's entry points: argument checks, then the backend's
 * kernels with the plan (plan.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block_plan.h"
#include "plan.h"

/* One name table per enum, indexed by its values. */
static const char *const k_path_names[] = {"auto", "table", "mantissa", "function"};
static const char *const k_order_names[] = {"sequential", "pairwise", "chunked"};
static const char *const k_wquant_names[] = {"per-channel", "per-tensor"};
AXL_ENUM_NAMES_DEFINE(axl_path, axl_path_name, axl_path_parse, k_path_names)
AXL_ENUM_NAMES_DEFINE(axl_order, axl_order_name, axl_order_parse, k_order_names)
AXL_ENUM_NAMES_DEFINE(axl_wquant, axl_wquant_name, axl_wquant_parse, k_wquant_names)

enum axl_status axl_conv_out_size(const struct axl_conv_args *a, int64_t *oh, int64_t *ow,
                                  char *msg)
{
    if (a->n < 1 || a->c < 1 || a->h < 1 || a->w < 1 || a->oc < 1 || a->kh < 1 || a->kw < 1 ||
        a->stride_h < 1 || a->stride_w < 1 || a->dil_h < 1 || a->dil_w < 1 || a->groups < 1 ||
        a->pad_t < 0 || a->pad_l < 0 || a->pad_b < 0 || a->pad_r < 0)
        return axl_msgf(msg, AXL_ERR_INVALID, "convolution: sizes, strides, dilations and "
                        "groups must be positive and pads non-negative");
    if (a->c % a->groups || a->oc % a->groups)
        return axl_msgf(msg, AXL_ERR_INVALID, "convolution: %lld input and %lld output "
                        "channels are not divisible by %lld groups", (long long)a->c,
                        (long long)a->oc, (long long)a->groups);
    int64_t eh = a->h + a->pad_t + a->pad_b - a->dil_h * (a->kh - 1) - 1;
    int64_t ew = a->w + a->pad_l + a->pad_r - a->dil_w * (a->kw - 1) - 1;
    if (eh < 0 || ew < 0)
        return axl_msgf(msg, AXL_ERR_INVALID, "convolution: a %lldx%lld kernel (dilation "
                        "%lldx%lld) does not fit a padded %lldx%lld input", (long long)a->kh,
                        (long long)a->kw, (long long)a->dil_h, (long long)a->dil_w,
                        (long long)(a->h + a->pad_t + a->pad_b),
                        (long long)(a->w + a->pad_l + a->pad_r));
    *oh = eh / a->stride_h + 1;
    *ow = ew / a->stride_w + 1;
    return AXL_OK;
}

/* 1 when the CUDA backend can run; otherwise a message saying why not. */
static int cuda_ready(char *msg)
{
    if (!axl_cuda_compiled()) {
        axl_msgf(msg, AXL_ERR_UNSUPPORTED, "this axlut was built without CUDA; use the cpu "
                 "backend");
        return 0;
    }
    if (axl_cuda_device_count(NULL, 0) == 0) {
        axl_msgf(msg, AXL_ERR_UNSUPPORTED, "no CUDA device is visible; use the cpu backend");
        return 0;
    }
    return 1;
}

/* The CUDA kernels implement the accumulator kinds up to AXL_ACC_INT; an
 * adder design into an integer accumulator (AXL_ACC_INT_ADD) runs on the
 * CPU only, refused here before any device is looked for. */
static int cuda_kind_ok(const struct axl_mac *m, char *msg)
{
    if (m->acc != AXL_ACC_INT_ADD)
        return 1;
    axl_msgf(msg, AXL_ERR_UNSUPPORTED, "adder design '%s' into an %s accumulator of an integer "
             "layer runs on the CPU only (--device cpu)", m->add_d ? m->add_d->name : "?",
             m->facc.name);
    return 0;
}

static enum axl_status gemm_on(const struct axl_mac *m, enum axl_backend be,
                               const struct axl_gemm_args *g, char *msg)
{
    if (m->blk)
        return be == AXL_BACKEND_CUDA ? (cuda_ready(msg) ? axl_cuda_block_gemm(m, g, msg)
                                                         : AXL_ERR_UNSUPPORTED)
                                      : axl_block_cpu_gemm(m, g, msg);
    if (be == AXL_BACKEND_CUDA)
        return cuda_kind_ok(m, msg) && cuda_ready(msg) ? axl_cuda_gemm(m, g, msg)
                                                       : AXL_ERR_UNSUPPORTED;
    return axl_cpu_gemm(m, g, msg);
}

static enum axl_status conv2d_on(const struct axl_mac *m, enum axl_backend be,
                                 const struct axl_conv_args *a, int64_t oh, int64_t ow, char *msg)
{
    if (m->blk)
        return be == AXL_BACKEND_CUDA ? (cuda_ready(msg) ? axl_cuda_block_conv2d(m, a, oh, ow, msg)
                                                         : AXL_ERR_UNSUPPORTED)
                                      : axl_block_cpu_conv2d(m, a, oh, ow, msg);
    if (be == AXL_BACKEND_CUDA)
        return cuda_kind_ok(m, msg) && cuda_ready(msg) ? axl_cuda_conv2d(m, a, oh, ow, msg)
                                                       : AXL_ERR_UNSUPPORTED;
    return axl_cpu_conv2d(m, a, oh, ow, msg);
}

/* Scaled operands (axl_emu_scaled): the kernels sum the products of the
 * scaled codes; the outputs are scaled back here, for both backends, by
 * alpha[n] = da * dw[n] (d = 1/s, float32) and then get the bias:
 * y = acc * alpha[n] + bias[n].  The scales are those encoding used (the
 * same functions of the same values). */
static enum axl_status descale_factors(const struct axl_mac *m, float amax, const float *w,
                                       int64_t nout, int64_t k, int64_t sn, int64_t sk,
                                       float **alpha, char *msg)
{
    float *al = malloc((size_t)nout * sizeof *al);
    if (!al)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory for %lld output scales",
                        (long long)nout);
    axl_emu_weight_scales(m, w, nout, k, sn, sk, al);
    float da = 1.0f / axl_emu_act_scale(m, amax);
    for (int64_t n = 0; n < nout; n++)
        al[n] = da * (1.0f / al[n]);
    *alpha = al;
    return AXL_OK;
}

enum axl_status axl_mac_gemm(const struct axl_mac *m, enum axl_backend be,
                             const struct axl_gemm_args *g, char *msg)
{
    if (g->m < 1 || g->n < 1 || g->k < 1)
        return axl_msgf(msg, AXL_ERR_INVALID, "gemm: sizes must be positive (m=%lld n=%lld "
                        "k=%lld)", (long long)g->m, (long long)g->n, (long long)g->k);
    /* the CPU kernels scale their outputs back as they store them, with
     * these factors from the quantizations they encoded with (kernels.c:
     * descale_factors) */
    if (!axl_emu_scaled(m) || (be == AXL_BACKEND_CPU && !m->blk))
        return gemm_on(m, be, g, msg);
    int64_t arows = g->trans_a ? g->k : g->m, acols = g->trans_a ? g->m : g->k;
    float amax = 0.0f;
    for (int64_t r = 0; r < arows; r++) {
        float x = axl_scale_amax(g->a + r * g->lda, acols, 1);
        amax = x > amax ? x : amax;
    }
    float *alpha;
    enum axl_status st = descale_factors(m, amax, g->b, g->n, g->k, g->trans_b ? g->ldb : 1,
                                         g->trans_b ? 1 : g->ldb, &alpha, msg);
    if (st != AXL_OK)
        return st;
    struct axl_gemm_args g2 = *g;
    g2.bias = NULL;
    if ((st = gemm_on(m, be, &g2, msg)) == AXL_OK) {
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < g->m; i++)
            for (int64_t n = 0; n < g->n; n++) {
                float *y = &g->c[i * g->ldc + n];
                *y = g->bias ? *y * alpha[n] + g->bias[n] : *y * alpha[n];
            }
    }
    free(alpha);
    return st;
}

enum axl_status axl_mac_conv2d(const struct axl_mac *m, enum axl_backend be,
                               const struct axl_conv_args *a, char *msg)
{
    int64_t oh, ow;
    enum axl_status st = axl_conv_out_size(a, &oh, &ow, msg);
    if (st != AXL_OK)
        return st;
    if (!axl_emu_scaled(m) || (be == AXL_BACKEND_CPU && !m->blk)) /* as axl_mac_gemm */
        return conv2d_on(m, be, a, oh, ow, msg);
    int64_t K = a->c / a->groups * a->kh * a->kw, P = oh * ow;
    float *alpha;
    st = descale_factors(m, axl_scale_amax(a->x, a->n * a->c * a->h * a->w, 1), a->weight, a->oc,
                         K, K, 1, &alpha, msg);
    if (st != AXL_OK)
        return st;
    struct axl_conv_args a2 = *a;
    a2.bias = NULL;
    if ((st = conv2d_on(m, be, &a2, oh, ow, msg)) == AXL_OK) {
#pragma omp parallel for schedule(static)
        for (int64_t io = 0; io < a->n * a->oc; io++) {
            int64_t o = io % a->oc;
            float *y = a->y + io * P;
            for (int64_t p = 0; p < P; p++)
                y[p] = a->bias ? y[p] * alpha[o] + a->bias[o] : y[p] * alpha[o];
        }
    }
    free(alpha);
    return st;
}

enum axl_status axl_mac_conv1d(const struct axl_mac *m, enum axl_backend be,
                               const struct axl_conv_args *a, char *msg)
{
    if (a->h != 1 || a->kh != 1 || a->pad_t || a->pad_b)
        return axl_msgf(msg, AXL_ERR_INVALID, "conv1d: h and kh must be 1 and there is no "
                        "vertical padding");
    return axl_mac_conv2d(m, be, a, msg);
}
