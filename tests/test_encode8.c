/* The activation encoders' fast forms (emu/mac/encode.c) against the
 * per-element functions they replace: the byte table of narrow floating
 * formats (axl_enc8) against axl_format_encode on every key's extremes and
 * random floats in every deterministic rounding mode (test_encode8_sweep:
 * every float32), the vectorised affine quantization (axl_emu_quantize_n)
 * against axl_emu_quantize, and both through a plan (axl_emu_encode_acts). */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/hd.h"
#include "axlut/scale.h"
#include "plan.h"

static const char *const k_formats[] = {"e4m3", "e5m2", "e3m2", "e2m3", "e2m1", "e4m3fnuz",
                                        "e5m2fnuz", "e3m4", "e4m3nosub", "e5m2sat",
                                        "e2m1nosub", "e1m6", "e7m0fin", "e4m2", "e3m0fn"};
static const enum axl_round k_rounds[] = {AXL_ROUND_NEAREST_EVEN, AXL_ROUND_TOWARD_ZERO,
                                          AXL_ROUND_UP, AXL_ROUND_DOWN};

static float f_of(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Mismatches of the table against axl_format_encode over the floats
 * u = (key >> 1) << shift | low, for every key and a few low parts (0, 1,
 * all ones, the top bit, random), plus `nrand` random floats; prints the
 * first ten. */
static int64_t check_enc8(const struct axl_format *f, enum axl_round r, int64_t nrand)
{
    struct axl_enc8 e;
    cr_assert_eq(axl_enc8_prepare(&e, f, r), 1, "%s: no byte encoder", f->name);
    int64_t bad = 0, tried = 0;
    const uint32_t lowmask = (1u << e.shift) - 1u;
    const uint64_t keys = (uint64_t)1 << (32u - e.shift);
    for (uint64_t key = 0; key < keys; key++) {
        uint32_t lows[6] = {0, 1, lowmask, 1u << (e.shift - 1), axl_rand32(7, key) & lowmask,
                            axl_rand32(9, key) & lowmask};
        for (int l = 0; l < 6; l++) {
            uint32_t u = (uint32_t)(key << e.shift) | lows[l];
            uint32_t got = axl_enc8_code(&e, f_of(u)), want = axl_format_encode(f, f_of(u), r, 0);
            tried++;
            if (got != want && bad++ < 10)
                cr_log_error("%s round %d: x=0x%08x: table 0x%02x, encode 0x%02x", f->name, (int)r,
                             u, got, want);
        }
    }
    for (int64_t i = 0; i < nrand; i++) {
        uint32_t u = axl_rand32(11, (uint64_t)i);
        uint32_t got = axl_enc8_code(&e, f_of(u)), want = axl_format_encode(f, f_of(u), r, 0);
        tried++;
        if (got != want && bad++ < 10)
            cr_log_error("%s round %d: x=0x%08x: table 0x%02x, encode 0x%02x", f->name, (int)r, u,
                         got, want);
    }
    cr_assert_gt(tried, (int64_t)keys * 6 - 1, "ran nothing");
    axl_enc8_free(&e);
    return bad;
}

Test(encode8, table_matches_encode_on_every_key)
{
    int64_t bad = 0;
    for (size_t i = 0; i < sizeof k_formats / sizeof k_formats[0]; i++) {
        struct axl_format f;
        char msg[AXL_MSG_LEN];
        cr_assert_eq(axl_format_parse(k_formats[i], &f, msg), AXL_OK, "%s: %s", k_formats[i], msg);
        for (size_t r = 0; r < sizeof k_rounds / sizeof k_rounds[0]; r++)
            bad += check_enc8(&f, k_rounds[r], 1 << 16);
    }
    cr_assert_eq(bad, 0, "%lld mismatches", (long long)bad);
}

Test(encode8, refused_where_the_argument_does_not_hold)
{
    static const char *const no[] = {"int8", "uint4", "bf16", "fp16", "e5m3", "fp32"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        struct axl_format f;
        cr_assert_eq(axl_format_parse(no[i], &f, NULL), AXL_OK, "%s", no[i]);
        struct axl_enc8 e;
        cr_expect_eq(axl_enc8_prepare(&e, &f, AXL_ROUND_NEAREST_EVEN), 0, "%s", no[i]);
        cr_expect_null(e.t, "%s", no[i]);
        axl_enc8_free(&e);
    }
    struct axl_format f;
    cr_assert_eq(axl_format_parse("e4m3", &f, NULL), AXL_OK);
    struct axl_enc8 e;
    cr_expect_eq(axl_enc8_prepare(&e, &f, AXL_ROUND_STOCHASTIC), 0, "stochastic rounding");
    axl_enc8_free(&e);
}

/* Values that put every branch of axl_emu_quantize in play: NaN, +-inf,
 * beyond +-2^22 and at it, halfway cases on both sides, the integer range
 * and its edges, zeros of both signs, random. */
static float quant_input(uint64_t i, float s)
{
    static const float special[] = {0.0f, -0.0f, INFINITY, -INFINITY, 4194304.0f, -4194304.0f,
                                    4194303.5f, -4194303.5f, 4194305.0f, 1e30f, -1e30f, 0.5f,
                                    -0.5f, 1.5f, 2.5f, -2.5f, 127.5f, -128.5f, 255.5f, 65535.5f,
                                    32767.5f, -32768.5f, 1e-40f, -1e-40f};
    const size_t ns = sizeof special / sizeof special[0];
    if (i == 0)
        return NAN;
    if (i <= ns)
        return special[i - 1] * s; /* the same value after the division (s a power of 2) */
    uint32_t r = axl_rand32(3, i);
    float v = (float)(int32_t)(r % 140000u) - 70000.0f + (float)(r >> 28) * 0.0625f;
    return (r & 1 ? v : v * 0.01f) * s;
}

Test(encode8, quantize_n_matches_quantize)
{
    static const char *const fmts[] = {"int2", "int4", "int8", "int12", "int16", "uint2",
                                       "uint4", "uint8", "uint16"};
    static const enum axl_round rounds[] = {AXL_ROUND_NEAREST_EVEN, AXL_ROUND_TOWARD_ZERO,
                                            AXL_ROUND_STOCHASTIC};
    static const struct axl_quant qs[] = {{1.0f, 0}, {0.25f, 0}, {0.037f, 3}, {3.7f, 200},
                                          {1e-3f, 7}};
    const int64_t n = 20011; /* not a multiple of a vector */
    float *x = malloc((size_t)n * sizeof *x);
    uint32_t *got = malloc((size_t)n * sizeof *got);
    cr_assert(x && got);
    int64_t bad = 0, tried = 0;
    for (size_t fi = 0; fi < sizeof fmts / sizeof fmts[0]; fi++) {
        struct axl_format f;
        cr_assert_eq(axl_format_parse(fmts[fi], &f, NULL), AXL_OK);
        for (size_t qi = 0; qi < sizeof qs / sizeof qs[0]; qi++)
            for (size_t ri = 0; ri < sizeof rounds / sizeof rounds[0]; ri++) {
                float s = qi == 1 ? 0.25f : 1.0f;
                for (int64_t i = 0; i < n; i++)
                    x[i] = quant_input((uint64_t)i, s);
                axl_emu_quantize_n(&f, qs[qi], x, n, rounds[ri], 5, got);
                for (int64_t i = 0; i < n; i++) {
                    uint32_t rnd = rounds[ri] == AXL_ROUND_STOCHASTIC ? axl_rand32(5, (uint64_t)i)
                                                                      : 0;
                    uint32_t want = axl_emu_quantize(&f, qs[qi], x[i], rounds[ri], rnd);
                    tried++;
                    if (got[i] != want && bad++ < 10)
                        cr_log_error("%s q=(%g,%d) round %d: x=%a: 0x%x, want 0x%x", fmts[fi],
                                     (double)qs[qi].s, qs[qi].z, (int)rounds[ri], (double)x[i],
                                     got[i], want);
                }
            }
    }
    free(x);
    free(got);
    cr_assert_gt(tried, 0, "ran nothing");
    cr_assert_eq(bad, 0, "%lld mismatches", (long long)bad);
}

/* Through a plan: the activation codes of a tensor against the scalar
 * functions, for a byte-table format (plain and with dynamic activation
 * scaling) and an integer format (its range from the tensor). */
static void check_plan(const char *fmt, enum axl_round round, enum axl_ascale ascale)
{
    struct axl_mac_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.mul = "mul_exact";
    sp.fmt_a = fmt;
    sp.round = round;
    sp.ascale = ascale;
    struct axl_mac *m;
    char msg[AXL_MSG_LEN];
    cr_assert_eq(axl_mac_create(&sp, &m, msg), AXL_OK, "%s: %s", fmt, msg);
    const int64_t n = 30001;
    float *x = malloc((size_t)n * sizeof *x);
    uint32_t *codes = malloc((size_t)n * sizeof *codes);
    cr_assert(x && codes);
    for (int64_t i = 0; i < n; i++) /* floating formats: any bits now and then (NaN, inf) */
        x[i] = i % 97 == 0 && !m->int_mode ? f_of(axl_rand32(2, (uint64_t)i))
                                           : quant_input((uint64_t)i + 100, 0.01f);
    x[5] = NAN;
    struct axl_quant q;
    axl_emu_encode_acts(m, x, n, codes, &q);
    int64_t bad = 0;
    const float sa = ascale != AXL_ASCALE_NONE ? axl_emu_act_scale(m, axl_scale_amax(x, n, 1))
                                               : 1.0f;
    for (int64_t i = 0; i < n; i++) {
        uint32_t want = m->int_mode ? axl_emu_quantize(&m->fa, q, x[i], round, 0)
                        : ascale != AXL_ASCALE_NONE ? axl_format_encode(&m->fa, x[i] * sa, round, 0)
                                                    : axl_format_encode(&m->fa, x[i], round, 0);
        if (codes[i] != want && bad++ < 10)
            cr_log_error("%s: x[%lld]=%a: 0x%x, want 0x%x", fmt, (long long)i, (double)x[i],
                         codes[i], want);
    }
    if (m->int_mode) { /* the range the scale came from: NaNs skipped */
        float lo = INFINITY, hi = -INFINITY;
        for (int64_t i = 0; i < n; i++) {
            lo = x[i] < lo ? x[i] : lo;
            hi = x[i] > hi ? x[i] : hi;
        }
        float amax = fmaxf(fabsf(lo), fabsf(hi));
        cr_expect_eq(q.s, amax / 127.0f, "%s: scale %a from amax %a", fmt, (double)q.s,
                     (double)amax);
    } else {
        cr_expect_not_null(m->enc8.t, "%s: the plan has no byte encoder", fmt);
    }
    free(x);
    free(codes);
    axl_mac_free(m);
    cr_assert_eq(bad, 0, "%s: %lld mismatches", fmt, (long long)bad);
}

Test(encode8, plan_encodes_as_the_scalar_functions)
{
    check_plan("e4m3", AXL_ROUND_NEAREST_EVEN, AXL_ASCALE_NONE);
    check_plan("e5m2", AXL_ROUND_TOWARD_ZERO, AXL_ASCALE_NONE);
    check_plan("e2m1", AXL_ROUND_NEAREST_EVEN, AXL_ASCALE_DYNAMIC);
    check_plan("int8", AXL_ROUND_NEAREST_EVEN, AXL_ASCALE_NONE);
}

/* The vector form (axl_enc8_codes: AVX2 gathers, a scalar tail) against
 * axl_format_encode of x or x * s, element by element: every format and
 * deterministic rounding, each length from 0 to 40 (every tail, and
 * elements in every lane), then a run of 4099 (a piece and a tail), over
 * random bits (NaN, inf, subnormals) and scaled products that overflow. */
Test(encode8, vector_codes_match_encode)
{
    enum { NX = 4099 };
    float *x = malloc(NX * sizeof *x);
    uint32_t *got = malloc((NX + 1) * sizeof *got);
    cr_assert(x && got);
    int64_t bad = 0, tried = 0;
    for (size_t fi = 0; fi < sizeof k_formats / sizeof k_formats[0]; fi++) {
        struct axl_format f;
        cr_assert_eq(axl_format_parse(k_formats[fi], &f, NULL), AXL_OK, "%s", k_formats[fi]);
        for (size_t r = 0; r < sizeof k_rounds / sizeof k_rounds[0]; r++) {
            struct axl_enc8 e;
            cr_assert_eq(axl_enc8_prepare(&e, &f, k_rounds[r]), 1, "%s", f.name);
            for (int64_t i = 0; i < NX; i++) {
                uint32_t u = axl_rand32(31 + fi * 8 + r, (uint64_t)i);
                /* half the elements near the format's range, half any bits */
                x[i] = u & 1 ? f_of(u) : (float)(int32_t)(u >> 8) * 0x1p-20f;
            }
            for (int mul = 0; mul < 2; mul++) {
                const float s = mul ? 3.0517578e-05f * (float)(1 + fi) + 1.25f : 1.0f;
                for (int64_t n = 0; n <= 40; n++) {
                    got[n] = 0xDEADu; /* past the end: untouched */
                    axl_enc8_codes(&e, x + n, n, s, mul, got);
                    for (int64_t i = 0; i < n; i++, tried++) {
                        float v = mul ? x[n + i] * s : x[n + i];
                        uint32_t want = axl_format_encode(&f, v, k_rounds[r], 0);
                        if (got[i] != want && bad++ < 10)
                            cr_log_error("%s round %d n=%lld: x=%a * %a: 0x%x, want 0x%x",
                                         f.name, (int)k_rounds[r], (long long)n,
                                         (double)x[n + i], (double)s, got[i], want);
                    }
                    cr_expect_eq(got[n], 0xDEADu, "%s n=%lld: wrote past the end", f.name,
                                 (long long)n);
                }
                axl_enc8_codes(&e, x, NX, s, mul, got);
                for (int64_t i = 0; i < NX; i++, tried++) {
                    uint32_t want =
                        axl_format_encode(&f, mul ? x[i] * s : x[i], k_rounds[r], 0);
                    if (got[i] != want && bad++ < 10)
                        cr_log_error("%s round %d: x=%a: 0x%x, want 0x%x", f.name,
                                     (int)k_rounds[r], (double)x[i], got[i], want);
                }
            }
            axl_enc8_free(&e);
        }
    }
    free(x);
    free(got);
    cr_assert_gt(tried, 15 * 4 * 2 * (820 + NX) - 1, "ran nothing");
    cr_assert_eq(bad, 0, "%lld mismatches", (long long)bad);
}

/* axl_emu_weight_scales (the descaling pass of the CUDA backend and of
 * block-scaled layers) with the channels along either axis of the tensor
 * (a GEMM's B as K x N: channels contiguous, walked by rows) against the
 * scale of each channel's amax taken by a plain loop. */
Test(encode8, weight_scales_in_both_layouts)
{
    enum { N = 37, K = 53 };
    static float w[N * K], wt[K * N];
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++) {
            uint32_t r = axl_rand32(5, (uint64_t)(n * K + k));
            float v = (float)(int32_t)(r >> 8) * 0x1p-23f * (float)(1 + n % 7);
            v = r % 29 == 0 ? NAN : r % 31 == 0 ? -INFINITY : r % 37 == 0 ? -0.0f : v;
            w[n * K + k] = wt[k * N + n] = v;
        }
    static const enum axl_wscale modes[] = {AXL_WSCALE_CHANNEL, AXL_WSCALE_TENSOR};
    int bad = 0;
    for (int md = 0; md < 2; md++) {
        struct axl_mac_spec sp;
        memset(&sp, 0, sizeof sp);
        sp.fmt_a = "e4m3";
        sp.wscale = modes[md];
        struct axl_mac *m;
        char msg[AXL_MSG_LEN];
        cr_assert_eq(axl_mac_create(&sp, &m, msg), AXL_OK, "%s", msg);
        float want[N], a[N], b[N], tmax = 0.0f;
        for (int n = 0; n < N; n++) {
            float c = 0.0f;
            for (int k = 0; k < K; k++)
                if (isfinite(w[n * K + k]) && fabsf(w[n * K + k]) > c)
                    c = fabsf(w[n * K + k]);
            want[n] = c;
            tmax = c > tmax ? c : tmax;
        }
        for (int n = 0; n < N; n++)
            want[n] = axl_scale_for(&m->fw, md ? tmax : want[n], 0, 0);
        axl_emu_weight_scales(m, w, N, K, K, 1, a);  /* channel-major */
        axl_emu_weight_scales(m, wt, N, K, 1, N, b); /* channels contiguous */
        for (int n = 0; n < N; n++)
            if ((memcmp(&a[n], &want[n], 4) || memcmp(&b[n], &want[n], 4)) && bad++ < 10)
                cr_log_error("wscale %d channel %d: %a and %a, want %a", md, n, (double)a[n],
                             (double)b[n], (double)want[n]);
        if (!md) /* channels of different ranges, so that a mix-up shows */
            cr_expect_neq(want[0], want[1], "channels of one scale: no test");
        axl_mac_free(m);
    }
    cr_assert_eq(bad, 0, "%d mismatches", bad);
}
