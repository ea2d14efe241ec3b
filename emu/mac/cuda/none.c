/* Stand-ins for the CUDA backend's queries when it was not built. */
#include <stdio.h>

#include "axlut/emu.h"
#include "block_plan.h"
#include "plan.h"

int axl_cuda_compiled(void) { return 0; }

int axl_cuda_device_count(char *name, size_t name_len)
{
    (void)name;
    (void)name_len;
    return 0;
}

enum axl_status axl_cuda_plan_create(struct axl_cuda_plan **out)
{
    *out = NULL;
    return AXL_OK;
}

void axl_cuda_plan_free(struct axl_cuda_plan *p) { (void)p; }

enum axl_status axl_cuda_gemm(const struct axl_mac *m, const struct axl_gemm_args *g, char *msg)
{
    (void)m;
    (void)g;
    return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "this axlut was built without CUDA; use the cpu "
                    "backend");
}

enum axl_status axl_cuda_conv2d(const struct axl_mac *m, const struct axl_conv_args *a,
                                int64_t oh, int64_t ow, char *msg)
{
    (void)m;
    (void)a;
    (void)oh;
    (void)ow;
    return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "this axlut was built without CUDA; use the cpu "
                    "backend");
}

enum axl_status axl_cuda_block_gemm(const struct axl_mac *m, const struct axl_gemm_args *g,
                                    char *msg)
{
    return axl_cuda_gemm(m, g, msg);
}

enum axl_status axl_cuda_block_conv2d(const struct axl_mac *m, const struct axl_conv_args *a,
                                      int64_t oh, int64_t ow, char *msg)
{
    return axl_cuda_conv2d(m, a, oh, ow, msg);
}
