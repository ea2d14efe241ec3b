/* Scaled operands on the CUDA backend give the CPU backend's bits: the
 * codes come from the same encoding (encode.c) and the outputs are scaled
 * back by the same host code (mac.c), so the kernels see nothing new.
 * Skips without a device. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/mac.h"

static float *rnd(int64_t n, unsigned seed)
{
    float *v = malloc((size_t)n * sizeof *v);
    srand(seed);
    for (int64_t i = 0; i < n; i++)
        v[i] = ((float)rand() / (float)RAND_MAX - 0.5f) * 1e-2f;
    return v;
}

Test(gpu, scaled_parity, .timeout = 300)
{
    if (axl_cuda_device_count(NULL, 0) == 0)
        cr_skip_test("no CUDA device visible");
    static const struct {
        const char *mul, *fmt;
        enum axl_wscale w;
        enum axl_ascale a;
        int pow2;
    } cfgs[] = {
        {"fpmul_drum", "e4m3", AXL_WSCALE_CHANNEL, AXL_ASCALE_DYNAMIC, 1},
        {"mul_exact", "e5m2", AXL_WSCALE_TENSOR, AXL_ASCALE_CALIBRATED, 0},
        {"fpmul_mitchell", "e2m1", AXL_WSCALE_CHANNEL, AXL_ASCALE_NONE, 0},
    };
    for (size_t ci = 0; ci < sizeof cfgs / sizeof cfgs[0]; ci++) {
        struct axl_mac_spec s;
        memset(&s, 0, sizeof s);
        s.mul = cfgs[ci].mul;
        s.fmt_a = cfgs[ci].fmt;
        s.wscale = cfgs[ci].w;
        s.ascale = cfgs[ci].a;
        s.scale_pow2 = cfgs[ci].pow2;
        s.act_amax = 4e-3f;
        char msg[AXL_MSG_LEN];
        struct axl_mac *m;
        cr_assert_eq(axl_mac_create(&s, &m, msg), AXL_OK, "%s", msg);
        struct axl_conv_args a;
        memset(&a, 0, sizeof a);
        a.n = 2, a.c = 6, a.h = 9, a.w = 8, a.oc = 4, a.kh = 3, a.kw = 3;
        a.stride_h = a.stride_w = a.dil_h = a.dil_w = 1, a.pad_t = a.pad_l = a.pad_b = a.pad_r = 1;
        a.groups = 2;
        float *x = rnd(2 * 6 * 9 * 8, 1), *w = rnd(4 * 3 * 9, 2), *b = rnd(4, 3);
        a.x = x, a.weight = w, a.bias = b;
        int64_t ny = 2 * 4 * 9 * 8;
        float *yc = malloc((size_t)ny * 4), *yg = malloc((size_t)ny * 4);
        a.y = yc;
        cr_assert_eq(axl_mac_conv2d(m, AXL_BACKEND_CPU, &a, msg), AXL_OK, "%s", msg);
        a.y = yg;
        cr_assert_eq(axl_mac_conv2d(m, AXL_BACKEND_CUDA, &a, msg), AXL_OK, "%s", msg);
        cr_expect(!memcmp(yc, yg, (size_t)ny * 4), "cfg %zu: conv CPU and CUDA differ", ci);
        float *ga = rnd(13 * 40, 4), *gb = rnd(40 * 7, 5), *gc = malloc(13 * 7 * 4),
              *gg = malloc(13 * 7 * 4);
        struct axl_gemm_args g = {0, 0, 13, 7, 40, ga, 40, gb, 7, b, gc, 7};
        cr_assert_eq(axl_mac_gemm(m, AXL_BACKEND_CPU, &g, msg), AXL_OK, "%s", msg);
        g.c = gg;
        cr_assert_eq(axl_mac_gemm(m, AXL_BACKEND_CUDA, &g, msg), AXL_OK, "%s", msg);
        cr_expect(!memcmp(gc, gg, 13 * 7 * 4), "cfg %zu: gemm CPU and CUDA differ", ci);
        free(x), free(w), free(b), free(yc), free(yg), free(ga), free(gb), free(gc), free(gg);
        axl_mac_free(m);
    }
}
