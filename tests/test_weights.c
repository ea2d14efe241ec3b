/* Prepared weights (emu/mac/weights.c): a plan encodes each weight tensor
 * once and serves later calls from its cache, and the bits are those of a
 * fresh plan's first call, whatever happens to the tensor in between
 * (changed in place, another tensor at the same address, stochastic
 * rounding, integer zero-point sums). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/mac.h"
#include "plan.h"

static float *values(int64_t n, uint64_t seed)
{
    float *x = malloc((size_t)n * sizeof *x);
    cr_assert(x);
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)(axl_rand32(seed, (uint64_t)i) >> 8) / 4194304.0f - 2.0f;
    return x;
}

static struct axl_mac *plan(const char *mul, const char *fmt, enum axl_round r)
{
    struct axl_mac_spec s;
    memset(&s, 0, sizeof s);
    s.mul = mul;
    s.fmt_a = fmt;
    s.round = r;
    s.seed = 11;
    char msg[AXL_MSG_LEN];
    struct axl_mac *m = NULL;
    cr_assert_eq(axl_mac_create(&s, &m, msg), AXL_OK, "%s", msg);
    return m;
}

enum { M = 37, N = 19, K = 70 };

/* C = A x B^T through plan m. */
static void gemm(const struct axl_mac *m, const float *a, const float *b, float *c)
{
    struct axl_gemm_args g = {.trans_a = 0, .trans_b = 1, .m = M, .n = N, .k = K, .a = a,
                              .lda = K, .b = b, .ldb = K, .bias = NULL, .c = c, .ldc = N};
    char msg[AXL_MSG_LEN];
    cr_assert_eq(axl_mac_gemm(m, AXL_BACKEND_CPU, &g, msg), AXL_OK, "%s", msg);
}

/* The output of a fresh plan of the same configuration (nothing cached). */
static void fresh(const char *mul, const char *fmt, enum axl_round r, const float *a,
                  const float *b, float *c)
{
    struct axl_mac *m = plan(mul, fmt, r);
    gemm(m, a, b, c);
    axl_mac_free(m);
}

static void expect_same_bits(const float *x, const float *y, const char *what)
{
    cr_expect(!memcmp(x, y, sizeof(float) * M * N), "%s: outputs differ from a fresh plan's", what);
}

static void check(const char *mul, const char *fmt, enum axl_round r)
{
    float *a = values(M * K, 1), *b = values(N * K, 2), *b2 = values(N * K, 3);
    float c1[M * N], c2[M * N], want[M * N];
    struct axl_mac *m = plan(mul, fmt, r);
    int64_t enc, reu;

    gemm(m, a, b, c1);
    gemm(m, a, b, c2);
    axl_wcache_counts(m, &enc, &reu);
    cr_expect_eq(enc, 1, "%s %s: %lld encodings of one tensor", mul, fmt, (long long)enc);
    cr_expect_eq(reu, 1, "%s %s: %lld calls served from the cache", mul, fmt, (long long)reu);
    fresh(mul, fmt, r, a, b, want);
    expect_same_bits(c1, want, "first call");
    expect_same_bits(c2, want, "cached call");

    /* the tensor changed in place: encoded again */
    b[5] = -b[5];
    b[N * K - 1] = 1.5f;
    gemm(m, a, b, c1);
    axl_wcache_counts(m, &enc, &reu);
    cr_expect_eq(enc, 2, "%s %s: a changed tensor was not encoded again", mul, fmt);
    fresh(mul, fmt, r, a, b, want);
    expect_same_bits(c1, want, "changed in place");

    /* another tensor, then the first again: both kept */
    gemm(m, a, b2, c1);
    fresh(mul, fmt, r, a, b2, want);
    expect_same_bits(c1, want, "second tensor");
    gemm(m, a, b, c1);
    axl_wcache_counts(m, &enc, &reu);
    cr_expect_eq(enc, 3, "%s %s: %lld encodings for two tensors", mul, fmt, (long long)enc);
    fresh(mul, fmt, r, a, b, want);
    expect_same_bits(c1, want, "first tensor again");

    /* a negative zero is not a zero: bits are compared, not values */
    float z = b[7];
    b[7] = 0.0f;
    gemm(m, a, b, c1);
    b[7] = -0.0f;
    gemm(m, a, b, c1);
    fresh(mul, fmt, r, a, b, want);
    expect_same_bits(c1, want, "-0 after +0");
    b[7] = z;

    axl_mac_free(m);
    free(a);
    free(b);
    free(b2);
}

Test(weights, float_table) { check("fpmul_drum", "e4m3", AXL_ROUND_NEAREST_EVEN); }
Test(weights, exact_fp32) { check("mul_exact", "fp32", AXL_ROUND_NEAREST_EVEN); }
Test(weights, stochastic_rounding) { check("fpmul_mbm", "e5m2", AXL_ROUND_STOCHASTIC); }
Test(weights, integer_zero_points) { check("mitchell", "uint8", AXL_ROUND_NEAREST_EVEN); }
Test(weights, integer_function) { check("drum", "int8", AXL_ROUND_NEAREST_EVEN); }

/* A convolution's weights are cached too, and every call of a batch loop
 * after the first is served from the cache. */
Test(weights, conv_batches)
{
    struct axl_mac *m = plan("fpmul_mitchell", "bf16", AXL_ROUND_NEAREST_EVEN);
    float *x = values(2 * 3 * 8 * 8, 4), *w = values(5 * 3 * 3 * 3, 5);
    float y[2 * 5 * 8 * 8], y0[2 * 5 * 8 * 8];
    struct axl_conv_args a = {.n = 2, .c = 3, .h = 8, .w = 8, .oc = 5, .kh = 3, .kw = 3,
                              .stride_h = 1, .stride_w = 1, .pad_t = 1, .pad_l = 1, .pad_b = 1,
                              .pad_r = 1, .dil_h = 1, .dil_w = 1, .groups = 1, .x = x,
                              .weight = w, .bias = NULL, .y = y0};
    char msg[AXL_MSG_LEN];
    cr_assert_eq(axl_mac_conv2d(m, AXL_BACKEND_CPU, &a, msg), AXL_OK, "%s", msg);
    a.y = y;
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(axl_mac_conv2d(m, AXL_BACKEND_CPU, &a, msg), AXL_OK, "%s", msg);
        cr_expect(!memcmp(y, y0, sizeof y), "call %d differs from the first", i + 2);
    }
    int64_t enc, reu;
    axl_wcache_counts(m, &enc, &reu);
    cr_expect_eq(enc, 1);
    cr_expect_eq(reu, 4);
    axl_mac_free(m);
    free(x);
    free(w);
}

/* A tensor of over 1 MiB is compared by pieces on every thread: a change
 * in any piece, the first, a middle one or the last (a partial piece),
 * must still be seen, and an unchanged tensor served. */
Test(weights, large_tensor_changes_seen_in_every_piece, .timeout = 120)
{
    enum { LM = 4, LN = 600, LK = 501 }; /* 1.15 MiB of weights: 18 pieces, the last partial */
    struct axl_mac *m = plan("fpmul_drum", "e4m3", AXL_ROUND_NEAREST_EVEN);
    float *a = values(LM * LK, 6), *b = values(LN * LK, 7);
    float *c = malloc(sizeof(float) * LM * LN), *want = malloc(sizeof(float) * LM * LN);
    cr_assert(c && want);
    struct axl_gemm_args g = {.trans_a = 0, .trans_b = 1, .m = LM, .n = LN, .k = LK, .a = a,
                              .lda = LK, .b = b, .ldb = LK, .bias = NULL, .c = c, .ldc = LN};
    char msg[AXL_MSG_LEN];
    cr_assert_eq(axl_mac_gemm(m, AXL_BACKEND_CPU, &g, msg), AXL_OK, "%s", msg);
    cr_assert_eq(axl_mac_gemm(m, AXL_BACKEND_CPU, &g, msg), AXL_OK, "%s", msg);
    int64_t enc, reu;
    axl_wcache_counts(m, &enc, &reu);
    cr_expect_eq(enc, 1, "%lld encodings of an unchanged tensor", (long long)enc);
    cr_expect_eq(reu, 1);
    const int64_t at[] = {0, LN * LK / 2, LN * LK - 1};
    for (int i = 0; i < 3; i++) {
        b[at[i]] = 3.0f + (float)i;
        cr_assert_eq(axl_mac_gemm(m, AXL_BACKEND_CPU, &g, msg), AXL_OK, "%s", msg);
        axl_wcache_counts(m, &enc, &reu);
        cr_expect_eq(enc, 2 + i, "a change at element %lld was not seen", (long long)at[i]);
        struct axl_mac *f = plan("fpmul_drum", "e4m3", AXL_ROUND_NEAREST_EVEN);
        g.c = want;
        cr_assert_eq(axl_mac_gemm(f, AXL_BACKEND_CPU, &g, msg), AXL_OK, "%s", msg);
        g.c = c;
        axl_mac_free(f);
        cr_expect(!memcmp(c, want, sizeof(float) * LM * LN),
                  "outputs after a change at %lld differ from a fresh plan's", (long long)at[i]);
    }
    axl_mac_free(m);
    free(a);
    free(b);
    free(c);
    free(want);
}
