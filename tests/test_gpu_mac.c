/* CPU vs GPU, bit for bit, for the MAC engine: every accumulation order,
 * table and function paths, adder designs, integers, GEMM transposes.
 * Skips where no GPU is visible. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "mac_spec.h"
#include "axlut/emu.h"
#include "axlut/mac.h"

static float *rnd(int64_t n, uint64_t seed)
{
    float *x = malloc((size_t)n * sizeof *x);
    cr_assert(x);
    for (int64_t i = 0; i < n; i++)
        x[i] = ((float)(axl_rand32(seed, (uint64_t)i) >> 8) / 8388608.0f - 1.0f) *
               (float)(1 << (axl_rand32(seed + 1, (uint64_t)i) % 8));
    return x;
}

struct cfg {
    const char *mul, *mp, *fmt, *add, *ap, *acc;
    enum axl_order order;
    enum axl_path path;
    enum axl_round round;
};

static const struct cfg k_cfgs[] = {
    {"fpmul_mitchell", NULL, "e4m3", NULL, NULL, NULL, AXL_ORDER_SEQUENTIAL, AXL_PATH_AUTO, 0},
    {"fpmul_drum", "k=3", "e5m6", NULL, NULL, NULL, AXL_ORDER_PAIRWISE, AXL_PATH_AUTO, 0},
    {"fpmul_mbm", NULL, "e4m3", NULL, NULL, NULL, AXL_ORDER_CHUNKED, AXL_PATH_FUNCTION, 0},
    {"mul_exact", NULL, "bf16", NULL, NULL, NULL, AXL_ORDER_SEQUENTIAL, AXL_PATH_AUTO, 0},
    {"mul_exact", NULL, "fp32", NULL, NULL, NULL, AXL_ORDER_PAIRWISE, AXL_PATH_AUTO, 0},
    {"fpmul_drum", "k=4", "e5m2", "fpadd_loa", "k=4", "fp16", AXL_ORDER_SEQUENTIAL, AXL_PATH_AUTO, 0},
    {"mul_exact", NULL, "e4m3", "add_exact", NULL, "bf16", AXL_ORDER_PAIRWISE, AXL_PATH_AUTO, 0},
    {"mul_exact", NULL, "e4m3", NULL, NULL, NULL, AXL_ORDER_SEQUENTIAL, AXL_PATH_AUTO,
     AXL_ROUND_STOCHASTIC},
    {"fpmul_drum", "k=4", "bf16", NULL, NULL, NULL, AXL_ORDER_SEQUENTIAL, AXL_PATH_AUTO, 0},
    {"fpmul_bam", NULL, "e4m3", "fpadd_eta1", NULL, "fp16", AXL_ORDER_CHUNKED, AXL_PATH_MANTISSA, 0},
    {"mitchell", NULL, "int8", NULL, NULL, NULL, AXL_ORDER_SEQUENTIAL, AXL_PATH_AUTO, 0},
    {"drum", "k=4", "uint8", NULL, NULL, NULL, AXL_ORDER_SEQUENTIAL, AXL_PATH_FUNCTION, 0},
};

Test(gpu, mac_parity, .timeout = 600)
{
    if (axl_cuda_device_count(NULL, 0) == 0)
        cr_skip_test("no CUDA device visible");
    int bad_total = 0;
    for (size_t ci = 0; ci < sizeof k_cfgs / sizeof k_cfgs[0]; ci++) {
        const struct cfg *c = &k_cfgs[ci];
        struct axl_mac_spec s;
        mac_spec_of(&s, c->mul, c->mp, c->fmt, c->add, c->ap, c->acc, c->order, c->path);
        s.chunk = 7;
        s.round = c->round;
        s.seed = 5;
        char msg[AXL_MSG_LEN];
        struct axl_mac *mac;
        cr_assert_eq(axl_mac_create(&s, &mac, msg), AXL_OK, "%s", msg);
        /* conv: batch 2, groups 2, stride 2, padding, dilation */
        struct axl_conv_args a;
        memset(&a, 0, sizeof a);
        a.n = 2, a.c = 8, a.h = 11, a.w = 10, a.oc = 6, a.kh = 3, a.kw = 3;
        a.stride_h = 2, a.stride_w = 1, a.pad_t = 1, a.pad_l = 2, a.pad_b = 1, a.pad_r = 0;
        a.dil_h = 1, a.dil_w = 2, a.groups = 2;
        float *x = rnd(2 * 8 * 11 * 10, 1), *w = rnd(6 * 4 * 9, 2), *b = rnd(6, 3);
        a.x = x, a.weight = w, a.bias = b;
        int64_t oh, ow;
        cr_assert_eq(axl_conv_out_size(&a, &oh, &ow, msg), AXL_OK);
        int64_t ny = 2 * 6 * oh * ow;
        float *yc = malloc((size_t)ny * sizeof *yc), *yg = malloc((size_t)ny * sizeof *yg);
        a.y = yc;
        cr_assert_eq(axl_mac_conv2d(mac, AXL_BACKEND_CPU, &a, msg), AXL_OK, "%s", msg);
        int bad = 0;
        /* the table through texture fetches, then through a shared-memory copy */
        for (int shared = 0; shared < 2; shared++) {
            if (shared)
                setenv("AXL_CUDA_TABLE", "shared", 1);
            a.y = yg;
            cr_assert_eq(axl_mac_conv2d(mac, AXL_BACKEND_CUDA, &a, msg), AXL_OK, "%s", msg);
            unsetenv("AXL_CUDA_TABLE");
            for (int64_t i = 0; i < ny; i++)
                if (axl_f32_bits(yc[i]) != axl_f32_bits(yg[i]) && !(yc[i] != yc[i] && yg[i] != yg[i])) {
                    if (bad < 10)
                        cr_log_error("cfg %zu (%s %s, %s) conv y[%lld]: cpu %08x gpu %08x", ci,
                                     c->mul, c->fmt, shared ? "shared" : "texture", (long long)i,
                                     axl_f32_bits(yc[i]), axl_f32_bits(yg[i]));
                    bad++;
                }
        }
        /* gemm with transposed weights (a Linear layer) */
        int64_t M = 5, N = 7, K = 40;
        float *A = rnd(M * K, 4), *B = rnd(N * K, 5), *C1 = malloc(M * N * sizeof *C1),
              *C2 = malloc(M * N * sizeof *C2);
        struct axl_gemm_args g = {0, 1, M, N, K, A, K, B, K, b, C1, N};
        cr_assert_eq(axl_mac_gemm(mac, AXL_BACKEND_CPU, &g, msg), AXL_OK, "%s", msg);
        g.c = C2;
        cr_assert_eq(axl_mac_gemm(mac, AXL_BACKEND_CUDA, &g, msg), AXL_OK, "%s", msg);
        for (int64_t i = 0; i < M * N; i++)
            if (axl_f32_bits(C1[i]) != axl_f32_bits(C2[i])) {
                if (bad < 10)
                    cr_log_error("cfg %zu gemm C[%lld]: cpu %08x gpu %08x", ci, (long long)i,
                                 axl_f32_bits(C1[i]), axl_f32_bits(C2[i]));
                bad++;
            }
        bad_total += bad;
        free(x), free(w), free(b), free(yc), free(yg), free(A), free(B), free(C1), free(C2);
        axl_mac_free(mac);
    }
    cr_assert_eq(bad_total, 0, "%d CPU/GPU mismatches", bad_total);
}
