/* Block-scaled layers on the CUDA backend give the CPU backend's bits (and
 * so the reference's: tests/test_block_kernels.c): both read the operands
 * the same host code quantized and laid out, and the device kernel runs
 * the same reduction with every multiply and add rounded apart (--fmad=
 * false).  Every block format, partial blocks, groups and depthwise
 * convolutions, approximate element multipliers and adders.  Skips
 * without a device. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/mac.h"

static float *rnd(int64_t n, unsigned seed)
{
    float *v = malloc((size_t)n * sizeof *v);
    srand(seed);
    for (int64_t i = 0; i < n; i++)
        v[i] = (float)ldexp(((double)rand() / RAND_MAX - 0.5), rand() % 16 - 8);
    return v;
}

static const struct {
    const char *fmt, *mul, *param, *badd, *bacc, *add;
} k_cfgs[] = {
    {"mxfp8", NULL, NULL, NULL, NULL, NULL},
    {"mxfp8e5m2", "fpmul_mitchell", NULL, NULL, NULL, NULL},
    {"mxfp6e3m2", "fpmul_drum", "k=3", "fpadd_loa", "fp16", NULL},
    {"mxfp6e2m3", NULL, NULL, NULL, NULL, "fpadd_eta1"},
    {"mxfp4", "fpmul_mitchell", NULL, "fpadd_trunc_add", "bf16", "fpadd_loa"},
    {"mxint8", "drum", "k=4", NULL, NULL, NULL},
    {"nvfp4", "fpmul_drum", "k=3", "fpadd_ama5", "fp16", NULL},
};

Test(gpu, block_parity, .timeout = 300)
{
    if (axl_cuda_device_count(NULL, 0) == 0)
        cr_skip_test("no CUDA device visible");
    for (size_t ci = 0; ci < sizeof k_cfgs / sizeof k_cfgs[0]; ci++) {
        struct axl_mac_spec s;
        memset(&s, 0, sizeof s);
        s.fmt_a = k_cfgs[ci].fmt;
        s.mul = k_cfgs[ci].mul;
        if (k_cfgs[ci].param) {
            s.mul_params[0] = k_cfgs[ci].param;
            s.n_mul_params = 1;
        }
        s.block_add = k_cfgs[ci].badd;
        s.fmt_block_acc = k_cfgs[ci].bacc;
        s.add = k_cfgs[ci].add;
        s.fmt_acc = k_cfgs[ci].add ? "fp32" : NULL;
        char msg[AXL_MSG_LEN];
        struct axl_mac *m;
        cr_assert_eq(axl_mac_create(&s, &m, msg), AXL_OK, "%s", msg);
        /* conv: 36 channels in 2 groups (a partial block per tap), then depthwise */
        for (int dw = 0; dw < 2; dw++) {
            struct axl_conv_args a;
            memset(&a, 0, sizeof a);
            a.n = 2, a.c = dw ? 6 : 36, a.h = 9, a.w = 8, a.oc = 6, a.kh = 3, a.kw = 3;
            a.stride_h = a.stride_w = a.dil_h = a.dil_w = 1;
            a.pad_t = a.pad_l = a.pad_b = a.pad_r = 1;
            a.groups = dw ? 6 : 2;
            float *x = rnd(a.n * a.c * 9 * 8, 1), *w = rnd(6 * (a.c / a.groups) * 9, 2),
                  *b = rnd(6, 3);
            a.x = x, a.weight = w, a.bias = b;
            int64_t ny = 2 * 6 * 9 * 8;
            float *yc = malloc((size_t)ny * 4), *yg = malloc((size_t)ny * 4);
            a.y = yc;
            cr_assert_eq(axl_mac_conv2d(m, AXL_BACKEND_CPU, &a, msg), AXL_OK, "%s", msg);
            a.y = yg;
            cr_assert_eq(axl_mac_conv2d(m, AXL_BACKEND_CUDA, &a, msg), AXL_OK, "%s", msg);
            cr_expect(!memcmp(yc, yg, (size_t)ny * 4), "%s conv (depthwise %d): CPU and CUDA "
                      "differ", k_cfgs[ci].fmt, dw);
            free(x), free(w), free(b), free(yc), free(yg);
        }
        float *ga = rnd(13 * 70, 4), *gb = rnd(70 * 7, 5), *gc = malloc(13 * 7 * 4),
              *gg = malloc(13 * 7 * 4);
        struct axl_gemm_args g = {.m = 13, .n = 7, .k = 70, .a = ga, .lda = 70, .b = gb,
                                  .ldb = 7, .c = gc, .ldc = 7};
        cr_assert_eq(axl_mac_gemm(m, AXL_BACKEND_CPU, &g, msg), AXL_OK, "%s", msg);
        g.c = gg;
        cr_assert_eq(axl_mac_gemm(m, AXL_BACKEND_CUDA, &g, msg), AXL_OK, "%s", msg);
        cr_expect(!memcmp(gc, gg, 13 * 7 * 4), "%s gemm: CPU and CUDA differ", k_cfgs[ci].fmt);
        free(ga), free(gb), free(gc), free(gg);
        axl_mac_free(m);
    }
}
