/* The MAC engine's entry points: argument checks, then the backend's
 * kernels with the plan (plan.h). */
#include <stdio.h>
#include <string.h>

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

enum axl_status axl_mac_gemm(const struct axl_mac *m, enum axl_backend be,
                             const struct axl_gemm_args *g, char *msg)
{
    if (g->m < 1 || g->n < 1 || g->k < 1)
        return axl_msgf(msg, AXL_ERR_INVALID, "gemm: sizes must be positive (m=%lld n=%lld "
                        "k=%lld)", (long long)g->m, (long long)g->n, (long long)g->k);
    if (be == AXL_BACKEND_CUDA)
        return cuda_ready(msg) ? axl_cuda_gemm(m, g, msg) : AXL_ERR_UNSUPPORTED;
    return axl_cpu_gemm(m, g, msg);
}

enum axl_status axl_mac_conv2d(const struct axl_mac *m, enum axl_backend be,
                               const struct axl_conv_args *a, char *msg)
{
    int64_t oh, ow;
    enum axl_status st = axl_conv_out_size(a, &oh, &ow, msg);
    if (st != AXL_OK)
        return st;
    if (be == AXL_BACKEND_CUDA)
        return cuda_ready(msg) ? axl_cuda_conv2d(m, a, oh, ow, msg) : AXL_ERR_UNSUPPORTED;
    return axl_cpu_conv2d(m, a, oh, ow, msg);
}

enum axl_status axl_mac_conv1d(const struct axl_mac *m, enum axl_backend be,
                               const struct axl_conv_args *a, char *msg)
{
    if (a->h != 1 || a->kh != 1 || a->pad_t || a->pad_b)
        return axl_msgf(msg, AXL_ERR_INVALID, "conv1d: h and kh must be 1 and there is no "
                        "vertical padding");
    return axl_mac_conv2d(m, be, a, msg);
}
