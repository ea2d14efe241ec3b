/* Proofs for the block-scaled formats (include/axlut/block.h) against a
 * reference written here from the specifications' text, not from the
 * library:
 *   - element values from the OCP definitions (OFP8 rev 1.0 for E4M3/E5M2,
 *     MX v1.0 section 5 for E3M2, E2M3, E2M1 and INT8 = code * 2^-6),
 *     computed in double from sign, exponent and mantissa fields;
 *   - element rounding by search over every finite element value (nearest,
 *     ties to the even code), clamped to the largest normal;
 *   - the MX scale: X = 2^(floor(log2(amax)) - emax_elem), floor(log2) by
 *     frexp, clamped to E8M0's -127..127;
 *   - NVFP4 (arXiv:2509.25149, section 2): s_enc = 6 * 448 / amax_tensor,
 *     block scale e4m3(amax_b / 6 * s_enc), elements e2m1(x * s_enc / s_b).
 * Mismatches print at most ten per check ("what got exp").
 */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/block.h"
#include "axlut/design.h"

/* ---- the reference --------------------------------------------------- */

struct elem_ref {
    int ebits, mbits, bias;
    int fam;      /* 0 finite only (FP6/FP4), 1 E4M3 (NaN at S.1111.111), 2 IEEE (E5M2) */
    int is_int;   /* INT8 with implicit scale 2^-6 */
    int emax;     /* exponent of the largest normal */
};

static struct elem_ref ref_of(enum axl_block_kind k)
{
    switch (k) {
    case AXL_BLOCK_MXFP8: return (struct elem_ref){4, 3, 7, 1, 0, 8};
    case AXL_BLOCK_MXFP8E5M2: return (struct elem_ref){5, 2, 15, 2, 0, 15};
    case AXL_BLOCK_MXFP6E3M2: return (struct elem_ref){3, 2, 3, 0, 0, 4};
    case AXL_BLOCK_MXFP6E2M3: return (struct elem_ref){2, 3, 1, 0, 0, 2};
    case AXL_BLOCK_MXINT8: return (struct elem_ref){0, 0, 0, 0, 1, 0};
    default: return (struct elem_ref){2, 1, 1, 0, 0, 2}; /* e2m1 (mxfp4, nvfp4) */
    }
}

static int ref_bits(const struct elem_ref *r) { return r->is_int ? 8 : 1 + r->ebits + r->mbits; }

/* Value of a code; NAN for NaN and inf codes (never produced here). */
static double ref_value(const struct elem_ref *r, uint32_t code)
{
    if (r->is_int)
        return ldexp((double)(int8_t)(uint8_t)code, -6);
    int em = r->ebits + r->mbits;
    int s = (code >> em) & 1, e = (code >> r->mbits) & ((1 << r->ebits) - 1);
    int m = code & ((1 << r->mbits) - 1);
    if (r->fam == 1 && e == (1 << r->ebits) - 1 && m == (1 << r->mbits) - 1)
        return NAN;
    if (r->fam == 2 && e == (1 << r->ebits) - 1)
        return NAN;
    double v = e == 0 ? ldexp((double)m, 1 - r->bias - r->mbits)
                      : ldexp((double)((1 << r->mbits) + m), e - r->bias - r->mbits);
    return s ? -v : v;
}

static double ref_max(const struct elem_ref *r)
{
    double mx = 0;
    for (uint32_t c = 0; c < (1u << ref_bits(r)); c++) {
        double v = ref_value(r, c);
        if (v == v && v > mx)
            mx = v;
    }
    return mx;
}

/* The element code nearest q (ties to the even code), saturating; INT8
 * clamps to +-127 (MX's symmetric range). */
static uint32_t ref_encode(const struct elem_ref *r, double q)
{
    if (r->is_int) {
        double t = q * 64, f = floor(t), d = t - f;
        double n = d > 0.5 ? f + 1 : d < 0.5 ? f : (fmod(f, 2) == 0 ? f : f + 1);
        n = n > 127 ? 127 : n < -127 ? -127 : n;
        return (uint32_t)(int32_t)n & 0xFFu;
    }
    int em = r->ebits + r->mbits;
    double a = fabs(q), mx = ref_max(r);
    if (a > mx)
        a = mx;
    uint32_t best = 0;
    double bd = INFINITY;
    for (uint32_t c = 0; c < (1u << em); c++) {
        double v = ref_value(r, c);
        if (v != v)
            continue;
        double d = fabs(v - a);
        if (d < bd || (d == bd && (c & 1) == 0)) {
            bd = d;
            best = c;
        }
    }
    return best | ((signbit(q) ? 1u : 0u) << em);
}

/* MX: the E8M0 code of a block (amax > 0) per the spec's rule. */
static uint32_t ref_mx_scale(const struct elem_ref *r, double amax)
{
    int e;
    if (amax == 0)
        return 0;
    frexp(amax, &e); /* amax = f * 2^e, 0.5 <= f < 1: floor(log2) = e - 1 */
    int se = e - 1 - r->emax;
    se = se < -127 ? -127 : se > 127 ? 127 : se;
    return (uint32_t)(se + 127);
}

/* MX reference of one whole vector; codes/scales as the library lays out. */
static void ref_mx_quantize(enum axl_block_kind k, const float *x, int64_t n, uint32_t *codes,
                            uint32_t *scales)
{
    struct elem_ref r = ref_of(k);
    int64_t nb = (n + 31) / 32;
    for (int64_t b = 0; b < nb; b++) {
        double amax = 0;
        int special = 0;
        for (int64_t i = b * 32; i < n && i < b * 32 + 32; i++) {
            if (!isfinite(x[i]))
                special = 1;
            else if (fabs(x[i]) > amax)
                amax = fabs(x[i]);
        }
        scales[b] = special ? 0xFF : ref_mx_scale(&r, amax);
        double X = ldexp(1.0, (int)scales[b] - 127);
        for (int64_t i = b * 32; i < b * 32 + 32; i++)
            codes[i] = (special || i >= n) ? 0 : ref_encode(&r, x[i] / X);
    }
}

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            if (bad++ < 10)                                                                        \
                fprintf(stderr, __VA_ARGS__);                                                      \
        }                                                                                          \
    } while (0)

static const enum axl_block_kind k_mx[] = {AXL_BLOCK_MXFP8, AXL_BLOCK_MXFP8E5M2,
                                           AXL_BLOCK_MXFP6E3M2, AXL_BLOCK_MXFP6E2M3,
                                           AXL_BLOCK_MXFP4, AXL_BLOCK_MXINT8};
#define N_MX 6

static struct axl_block_format parse(const char *name)
{
    struct axl_block_format f;
    char msg[AXL_MSG_LEN];
    cr_assert_eq(axl_block_format_parse(name, &f, msg), AXL_OK, "%s", msg);
    return f;
}

static struct axl_block_format of_kind(enum axl_block_kind k)
{
    return parse(axl_block_named((size_t)k));
}

/* Quantize with the library and compare with ref_mx_quantize; returns
 * mismatches. */
static int compare_mx(enum axl_block_kind k, const float *x, int64_t n, const char *what)
{
    struct axl_block_format f = of_kind(k);
    int64_t nb = axl_block_count(&f, n);
    uint32_t *c = calloc((size_t)nb * 32, 4), *s = calloc((size_t)nb, 4);
    uint32_t *rc = calloc((size_t)nb * 32, 4), *rs = calloc((size_t)nb, 4);
    float ts = 0;
    char msg[AXL_MSG_LEN];
    cr_assert_eq(axl_block_quantize(&f, x, n, AXL_ROUND_NEAREST_EVEN, 0, NULL, c, s, &ts, msg),
                 AXL_OK, "%s", msg);
    cr_assert_eq(ts, 1.0f);
    ref_mx_quantize(k, x, n, rc, rs);
    int bad = 0;
    for (int64_t b = 0; b < nb; b++) {
        CHECK(s[b] == rs[b], "%s %s block %lld: scale got %u exp %u\n", what, f.name,
              (long long)b, s[b], rs[b]);
        for (int64_t i = b * 32; i < b * 32 + 32; i++)
            CHECK(c[i] == rc[i], "%s %s x[%lld]=%a: code got 0x%x exp 0x%x\n", what, f.name,
                  (long long)i, i < n ? (double)x[i] : 0.0, c[i], rc[i]);
    }
    free(c), free(s), free(rc), free(rs);
    return bad;
}

/* ---- names ----------------------------------------------------------- */

Test(block, names_sizes_and_elements)
{
    static const struct {
        const char *name, *elem;
        int size, emax, scale;
    } want[] = {
        {"mxfp8", "e4m3fn", 32, 8, AXL_BSCALE_E8M0},      {"mxfp8e5m2", "e5m2sat", 32, 15, AXL_BSCALE_E8M0},
        {"mxfp6e3m2", "e3m2", 32, 4, AXL_BSCALE_E8M0},  {"mxfp6e2m3", "e2m3", 32, 2, AXL_BSCALE_E8M0},
        {"mxfp4", "e2m1", 32, 2, AXL_BSCALE_E8M0},      {"mxint8", "int8", 32, 0, AXL_BSCALE_E8M0},
        {"nvfp4", "e2m1", 16, 2, AXL_BSCALE_E4M3},
    };
    cr_assert_eq(axl_block_named_count(), 7);
    for (size_t i = 0; i < 7; i++) {
        struct axl_block_format f = parse(want[i].name);
        cr_expect_str_eq(f.name, want[i].name);
        cr_expect_str_eq(f.elem.name, want[i].elem);
        cr_expect_eq(f.size, want[i].size, "%s", want[i].name);
        cr_expect_eq(f.emax, want[i].emax, "%s", want[i].name);
        cr_expect_eq(f.scale, want[i].scale, "%s", want[i].name);
        cr_expect(axl_block_format_is(want[i].name));
        /* emax is the exponent of the element's largest value */
        struct elem_ref r = ref_of((enum axl_block_kind)f.kind);
        int e;
        frexp(ref_max(&r), &e);
        cr_expect_eq(e - 1, f.emax, "%s: largest %g", want[i].name, ref_max(&r));
    }
    char msg[AXL_MSG_LEN] = "";
    struct axl_block_format f;
    cr_expect_eq(axl_block_format_parse("mxfp5", &f, msg), AXL_ERR_INVALID);
    cr_expect(strstr(msg, "mxfp5") && strstr(msg, "nvfp4"), "%s", msg);
    cr_expect(!axl_block_format_is("e4m3"));
    /* a block format where a format of single values is asked for says so */
    struct axl_format single;
    cr_expect_eq(axl_format_parse("mxfp4", &single, msg), AXL_ERR_INVALID);
    cr_expect(strstr(msg, "block-scaled") && strstr(msg, "e2m1"), "%s", msg);
    cr_expect_eq(axl_block_count(&f, 0), 0);
}

/* ---- every element code --------------------------------------------- */

/* A block whose element 0 is the element format's largest value times X
 * fixes the scale at X; every other finite code placed beside it must come
 * back unchanged and decode to value * X. */
Test(block, every_element_code_round_trips)
{
    static const int exps[] = {-127, -100, -20, 0, 7, 100};
    int bad = 0;
    for (int t = 0; t < N_MX; t++) {
        struct axl_block_format f = of_kind(k_mx[t]);
        struct elem_ref r = ref_of(k_mx[t]);
        double mx = ref_max(&r);
        for (size_t xi = 0; xi < sizeof exps / sizeof exps[0]; xi++) {
            int se = exps[xi];
            if (se + r.emax > 127)
                continue;
            uint32_t ncode = 1u << ref_bits(&r);
            for (uint32_t c0 = 0; c0 < ncode; c0 += 31) {
                float x[32];
                uint32_t want[32];
                x[0] = (float)ldexp(mx, se);
                want[0] = ref_encode(&r, mx);
                for (int i = 1; i < 32; i++) {
                    uint32_t c = (c0 + (uint32_t)i) % ncode;
                    double v = ref_value(&r, c);
                    if (v != v || (r.is_int && c == 0x80))
                        c = 0, v = 0; /* NaN/inf codes, and INT8's unused -2 */
                    x[i] = (float)ldexp(v, se);
                    want[i] = c;
                }
                uint32_t codes[32], scale;
                float ts, back[32];
                cr_assert_eq(axl_block_quantize(&f, x, 32, AXL_ROUND_NEAREST_EVEN, 0, NULL,
                                                codes, &scale, &ts, NULL), AXL_OK);
                CHECK(scale == (uint32_t)(se + 127), "%s X=2^%d: scale %u\n", f.name, se, scale);
                cr_assert_eq(axl_block_decode(&f, codes, &scale, ts, 32, back, NULL), AXL_OK);
                for (int i = 0; i < 32; i++) {
                    /* a zero of either sign may come back as either zero code of
                     * its sign: compare values and signs */
                    CHECK(codes[i] == want[i] || (x[i] == 0 && ref_value(&r, codes[i]) == 0 &&
                                                  signbit(ref_value(&r, codes[i])) == signbit(x[i])),
                          "%s X=2^%d code 0x%x: got 0x%x\n", f.name, se, want[i], codes[i]);
                    CHECK(back[i] == x[i], "%s X=2^%d code 0x%x: decodes to %a, exp %a\n",
                          f.name, se, want[i], (double)back[i], (double)x[i]);
                }
            }
        }
    }
    cr_assert_eq(bad, 0, "%d mismatches", bad);
}

/* ---- scale selection -------------------------------------------------- */

/* amax at every power of two of float32 (subnormals included), exactly
 * and just below the next one, with small companions; the whole block
 * checked against the reference. */
Test(block, scale_at_every_power_of_two)
{
    int bad = 0;
    for (int t = 0; t < N_MX; t++) {
        for (int p = -149; p <= 127; p++) {
            float x[32];
            for (int v = 0; v < 2; v++) {
                double amax = v ? ldexp(1.0, p) : ldexp(2.0 - ldexp(1.0, -23), p);
                if (p < -126 && v == 0)
                    amax = ldexp(1.0, p); /* subnormals: only the power itself */
                for (int i = 0; i < 32; i++)
                    x[i] = (float)(amax * ((i * 37 % 64) - 31) / 32.0);
                x[5] = (float)amax;
                x[9] = (float)-amax;
                char what[32];
                snprintf(what, sizeof what, "amax 2^%d%s", p, v ? "" : "*(2-u)");
                bad += compare_mx(k_mx[t], x, 32, what);
            }
        }
    }
    cr_assert_eq(bad, 0, "%d mismatches", bad);
}

Test(block, zero_block_and_saturation)
{
    int bad = 0;
    for (int t = 0; t < N_MX; t++) {
        struct axl_block_format f = of_kind(k_mx[t]);
        struct elem_ref r = ref_of(k_mx[t]);
        float x[64] = {0};
        x[3] = -0.0f;
        uint32_t c[64], s[2];
        float ts;
        cr_assert_eq(axl_block_quantize(&f, x, 64, AXL_ROUND_NEAREST_EVEN, 0, NULL, c, s, &ts,
                                        NULL), AXL_OK);
        CHECK(s[0] == 0 && s[1] == 0, "%s zero block: scale %u %u\n", f.name, s[0], s[1]);
        for (int i = 0; i < 64; i++)
            CHECK(ref_value(&r, c[i]) == 0, "%s zero block: code 0x%x\n", f.name, c[i]);
        /* amax just below the next power of two: V/X = 2^(emax+1) * (1 - 2^-24)
         * exceeds the largest normal whenever it is below 2^(emax+1), and
         * must clamp to it (OCP MX 6.3, "clamping normal numbers") */
        x[0] = (float)ldexp(2.0 - ldexp(1.0, -23), 10);
        x[1] = -x[0];
        cr_assert_eq(axl_block_quantize(&f, x, 32, AXL_ROUND_NEAREST_EVEN, 0, NULL, c, s, &ts,
                                        NULL), AXL_OK);
        double mx = ref_max(&r);
        CHECK(ref_value(&r, c[0]) == mx && ref_value(&r, c[1]) == -mx,
              "%s saturation: %g %g exp +-%g\n", f.name, ref_value(&r, c[0]),
              ref_value(&r, c[1]), mx);
        CHECK(s[0] == (uint32_t)(10 - r.emax + 127), "%s saturation scale %u\n", f.name, s[0]);
    }
    cr_assert_eq(bad, 0, "%d mismatches", bad);
}

Test(block, nan_and_inf_make_a_nan_block)
{
    const float specials[] = {NAN, -NAN, INFINITY, -INFINITY};
    int bad = 0;
    for (int t = 0; t < N_MX; t++) {
        struct axl_block_format f = of_kind(k_mx[t]);
        for (int sp = 0; sp < 4; sp++) {
            float x[64], back[64];
            for (int i = 0; i < 64; i++)
                x[i] = (float)(i - 20) / 8;
            x[40] = specials[sp];
            uint32_t c[64], s[2];
            float ts;
            cr_assert_eq(axl_block_quantize(&f, x, 64, AXL_ROUND_NEAREST_EVEN, 0, NULL, c, s,
                                            &ts, NULL), AXL_OK);
            CHECK(s[1] == 0xFF && axl_block_scale_is_nan(&f, s[1]), "%s: scale %u\n", f.name,
                  s[1]);
            cr_assert_eq(axl_block_decode(&f, c, s, ts, 64, back, NULL), AXL_OK);
            for (int i = 32; i < 64; i++)
                CHECK(isnan(back[i]), "%s: [%d] decodes to %g, not NaN\n", f.name, i,
                      (double)back[i]);
            /* the first block does not see it */
            bad += compare_mx(k_mx[t], x, 32, "beside a NaN block");
        }
    }
    cr_assert_eq(bad, 0, "%d mismatches", bad);
}

Test(block, partial_last_block_is_zero_padded)
{
    int bad = 0;
    for (int t = 0; t < N_MX; t++) {
        struct axl_block_format f = of_kind(k_mx[t]);
        struct elem_ref r = ref_of(k_mx[t]);
        float x[40];
        for (int i = 0; i < 40; i++)
            x[i] = (float)((i * 7919 % 101) - 50) * (i >= 32 ? 1e-3f : 1.0f);
        uint32_t c[64], s[2];
        float ts;
        memset(c, 0xAB, sizeof c);
        cr_assert_eq(axl_block_quantize(&f, x, 40, AXL_ROUND_NEAREST_EVEN, 0, NULL, c, s, &ts,
                                        NULL), AXL_OK);
        for (int i = 40; i < 64; i++)
            CHECK(c[i] == 0, "%s pad [%d] = 0x%x\n", f.name, i, c[i]);
        /* the scale of the last block comes from its 8 values only */
        double amax = 0;
        for (int i = 32; i < 40; i++)
            amax = fmax(amax, fabs(x[i]));
        CHECK(s[1] == ref_mx_scale(&r, amax), "%s last scale %u exp %u\n", f.name, s[1],
              ref_mx_scale(&r, amax));
        bad += compare_mx(k_mx[t], x, 40, "partial");
    }
    cr_assert_eq(bad, 0, "%d mismatches", bad);
}

/* Random vectors of mixed magnitudes: codes and scales as the reference. */
Test(block, random_vectors_match_the_reference)
{
    srand(7);
    int bad = 0;
    for (int t = 0; t < N_MX; t++)
        for (int rep = 0; rep < 200; rep++) {
            float x[96];
            int n = 1 + rand() % 96;
            int base = rand() % 80 - 40;
            for (int i = 0; i < n; i++) {
                double m = (double)rand() / RAND_MAX * 2 - 1;
                x[i] = (float)ldexp(m, base + rand() % 12);
            }
            bad += compare_mx(k_mx[t], x, n, "random");
        }
    cr_assert_eq(bad, 0, "%d mismatches", bad);
}

/* ---- NVFP4 ------------------------------------------------------------ */

/* The paper's recipe in float32 arithmetic, with e4m3 rounding by search
 * over the E4M3 values (nearest, ties to even, saturating at 448). */
static void ref_nvfp4(const float *x, int n, const float *given, uint32_t *codes,
                      uint32_t *scales, float *ts_out)
{
    struct elem_ref e4 = {4, 3, 7, 1, 0, 8}, e2 = ref_of(AXL_BLOCK_NVFP4);
    float amax = 0;
    for (int i = 0; i < n; i++)
        amax = fmaxf(amax, fabsf(x[i]));
    float ts = given ? *given : amax == 0 ? 1.0f : 2688.0f / amax;
    *ts_out = ts;
    for (int b = 0; b < (n + 15) / 16; b++) {
        float am = 0;
        for (int i = b * 16; i < n && i < b * 16 + 16; i++)
            am = fmaxf(am, fabsf(x[i]));
        float sdec = am / 6.0f;
        float want = sdec * ts;
        scales[b] = ref_encode(&e4, want);
        float sb = (float)ref_value(&e4, scales[b]);
        for (int i = b * 16; i < b * 16 + 16; i++) {
            if (i >= n || sb == 0) {
                codes[i] = 0;
                continue;
            }
            float r = ts / sb;
            codes[i] = ref_encode(&e2, x[i] * r);
        }
    }
}

Test(block, nvfp4_two_level_scale)
{
    struct axl_block_format f = parse("nvfp4");
    srand(11);
    int bad = 0;
    for (int rep = 0; rep < 300; rep++) {
        float x[80], back[80];
        int n = 1 + rand() % 80;
        int base = rand() % 60 - 30;
        for (int i = 0; i < n; i++)
            x[i] = (float)ldexp((double)rand() / RAND_MAX * 2 - 1, base + rand() % (rep % 20 + 1));
        float given = (float)ldexp(1.0, rand() % 20 - 10);
        for (int g = 0; g < 2; g++) {
            uint32_t c[80], s[5], rc[80], rs[5];
            float ts, rts;
            cr_assert_eq(axl_block_quantize(&f, x, n, AXL_ROUND_NEAREST_EVEN, 0,
                                            g ? &given : NULL, c, s, &ts, NULL), AXL_OK);
            ref_nvfp4(x, n, g ? &given : NULL, rc, rs, &rts);
            CHECK(ts == rts, "nvfp4 tensor scale %a exp %a\n", (double)ts, (double)rts);
            for (int b = 0; b < (n + 15) / 16; b++) {
                CHECK(s[b] == rs[b], "nvfp4 rep %d block %d: scale 0x%x exp 0x%x\n", rep, b, s[b],
                      rs[b]);
                for (int i = b * 16; i < b * 16 + 16; i++)
                    CHECK(c[i] == rc[i] || ((rc[i] & 7) == 0 && (c[i] & 7) == 0),
                          "nvfp4 rep %d x[%d]=%a: 0x%x exp 0x%x\n", rep, i,
                          i < n ? (double)x[i] : 0.0, c[i], rc[i]);
            }
            /* decoding: e2m1 * scale / tensor scale, and without a given scale
             * the largest block scale is 448 (e4m3's largest) or near it */
            cr_assert_eq(axl_block_decode(&f, c, s, ts, n, back, NULL), AXL_OK);
            for (int i = 0; i < n; i++) {
                struct elem_ref e2 = ref_of(AXL_BLOCK_NVFP4), e4 = {4, 3, 7, 1, 0, 8};
                float want = (float)(ref_value(&e2, c[i]) * ref_value(&e4, s[i / 16])) / ts;
                CHECK(back[i] == want, "nvfp4 decode [%d] %a exp %a\n", i, (double)back[i],
                      (double)want);
            }
        }
    }
    /* the tensor scale maps the largest magnitude onto 6 * 448 */
    float x[16] = {3.0f, -1.0f};
    uint32_t c[16], s[1];
    float ts;
    cr_assert_eq(axl_block_quantize(&f, x, 16, AXL_ROUND_NEAREST_EVEN, 0, NULL, c, s, &ts, NULL),
                 AXL_OK);
    cr_expect_eq(ts, 896.0f);
    cr_expect_eq(s[0], 0x7E, "block scale 448 is e4m3 0x7e, got 0x%x", s[0]); /* 3/6*896 */
    cr_expect_eq(c[0], 0x7, "3 * 896 / 448 = 6 -> e2m1 0x7, got 0x%x", c[0]);
    /* NaN and inf: a NaN block scale (E4M3 S.1111.111) */
    x[4] = INFINITY;
    cr_assert_eq(axl_block_quantize(&f, x, 16, AXL_ROUND_NEAREST_EVEN, 0, NULL, c, s, &ts, NULL),
                 AXL_OK);
    cr_expect(axl_block_scale_is_nan(&f, s[0]) && (s[0] & 0x7F) == 0x7F, "scale 0x%x", s[0]);
    cr_expect_eq(ts, 896.0f, "the tensor scale comes from finite values");
    float bad_scale = 0.0f;
    char msg[AXL_MSG_LEN] = "";
    cr_expect_eq(axl_block_quantize(&f, x, 16, AXL_ROUND_NEAREST_EVEN, 0, &bad_scale, c, s, &ts,
                                    msg), AXL_ERR_INVALID);
    cr_expect(strstr(msg, "nvfp4"), "%s", msg);
    cr_assert_eq(bad, 0, "%d mismatches", bad);
}

/* ---- the block dot product ------------------------------------------- */

/* Float64 reference: sum of decoded elements times scales. */
static double ref_dot(const struct axl_block_format *f, const uint32_t *ca, const uint32_t *sa,
                      float ta, const uint32_t *cw, const uint32_t *sw, float tw, int nb)
{
    struct elem_ref r = ref_of((enum axl_block_kind)f->kind), e4 = {4, 3, 7, 1, 0, 8};
    double y = 0;
    for (int b = 0; b < nb; b++) {
        double Sa = f->scale == AXL_BSCALE_E8M0 ? ldexp(1.0, (int)sa[b] - 127) : ref_value(&e4, sa[b]);
        double Sw = f->scale == AXL_BSCALE_E8M0 ? ldexp(1.0, (int)sw[b] - 127) : ref_value(&e4, sw[b]);
        for (int i = b * f->size; i < (b + 1) * f->size; i++)
            y += ref_value(&r, ca[i]) * Sa * ref_value(&r, cw[i]) * Sw;
    }
    return y / ((double)ta * tw);
}

/* Values on a coarse grid in a narrow range: every product, block sum and
 * scaled term is exact in float32, so the library's float32 arithmetic
 * must equal the float64 reference exactly. */
Test(block, dot_product_equals_float64_where_exact)
{
    static const char *names[] = {"mxfp4", "mxfp6e2m3", "mxfp6e3m2", "mxint8", "nvfp4"};
    srand(3);
    for (size_t t = 0; t < 5; t++) {
        struct axl_block_format f = parse(names[t]);
        for (int rep = 0; rep < 100; rep++) {
            int n = 3 * f.size + rand() % f.size;
            float a[128], w[128];
            for (int i = 0; i < n; i++) {
                a[i] = (float)ldexp(rand() % 9 - 4, rand() % 2);
                w[i] = (float)ldexp(rand() % 9 - 4, rand() % 2);
            }
            int nb = (int)axl_block_count(&f, n);
            uint32_t ca[128], cw[128], sa[8], sw[8];
            float ta, tw, one = 1.0f, y;
            cr_assert_eq(axl_block_quantize(&f, a, n, AXL_ROUND_NEAREST_EVEN, 0, &one, ca, sa,
                                            &ta, NULL), AXL_OK);
            cr_assert_eq(axl_block_quantize(&f, w, n, AXL_ROUND_NEAREST_EVEN, 0, &one, cw, sw,
                                            &tw, NULL), AXL_OK);
            struct axl_block_vec va = {&f, ca, sa, ta}, vw = {&f, cw, sw, tw};
            cr_assert_eq(axl_block_dot_ref(&va, &vw, nb, NULL, &y, NULL), AXL_OK);
            double want = ref_dot(&f, ca, sa, ta, cw, sw, tw, nb);
            cr_assert_eq((double)y, want, "%s rep %d: %a exp %a", f.name, rep, (double)y, want);
        }
    }
}

struct design_mul {
    const struct axl_design *d;
    struct axl_design_ctx c;
};

static uint32_t via_design(const void *ctx, uint32_t a, uint32_t w)
{
    const struct design_mul *m = ctx;
    return m->d->eval(&m->c, a, w);
}

/* An approximate element multiplier (Mitchell's, products into fp32):
 * every product is the design's, and with exact sums the dot product is
 * the float64 sum of those products times the scales.  Also: the exact
 * design through the callback gives the exact path's bits. */
Test(block, dot_product_through_an_approximate_multiplier)
{
    struct axl_block_format f = parse("mxfp4");
    struct axl_format fp32;
    cr_assert_eq(axl_format_parse("fp32", &fp32, NULL), AXL_OK);
    struct design_mul mit, ex;
    memset(&mit, 0, sizeof mit);
    memset(&ex, 0, sizeof ex);
    mit.d = axl_design_find("fpmul_mitchell");
    ex.d = axl_design_find("mul_exact");
    cr_assert(mit.d && ex.d);
    char msg[AXL_MSG_LEN];
    cr_assert_eq(axl_design_bind(mit.d, &f.elem, &f.elem, &fp32, NULL, 0, &mit.c, msg), AXL_OK,
                 "%s", msg);
    cr_assert_eq(axl_design_bind(ex.d, &f.elem, &f.elem, &fp32, NULL, 0, &ex.c, msg), AXL_OK,
                 "%s", msg);
    struct axl_block_mul mm = {.eval = via_design, .ctx = &mit, .fp = fp32},
                         me = {.eval = via_design, .ctx = &ex, .fp = fp32};
    struct elem_ref r = ref_of(AXL_BLOCK_MXFP4);
    srand(5);
    int differs = 0;
    for (int rep = 0; rep < 100; rep++) {
        float a[96], w[96];
        for (int i = 0; i < 96; i++) {
            a[i] = (float)(rand() % 13 - 6) * 0.5f;
            w[i] = (float)(rand() % 13 - 6) * 0.25f;
        }
        uint32_t ca[96], cw[96], sa[3], sw[3];
        float ta, tw, y, ye, y0;
        cr_assert_eq(axl_block_quantize(&f, a, 96, AXL_ROUND_NEAREST_EVEN, 0, NULL, ca, sa, &ta,
                                        NULL), AXL_OK);
        cr_assert_eq(axl_block_quantize(&f, w, 96, AXL_ROUND_NEAREST_EVEN, 0, NULL, cw, sw, &tw,
                                        NULL), AXL_OK);
        struct axl_block_vec va = {&f, ca, sa, ta}, vw = {&f, cw, sw, tw};
        cr_assert_eq(axl_block_dot_ref(&va, &vw, 3, &mm, &y, NULL), AXL_OK);
        cr_assert_eq(axl_block_dot_ref(&va, &vw, 3, &me, &ye, NULL), AXL_OK);
        cr_assert_eq(axl_block_dot_ref(&va, &vw, 3, NULL, &y0, NULL), AXL_OK);
        cr_assert_eq(ye, y0, "exact design %a vs exact path %a", (double)ye, (double)y0);
        double want = 0;
        for (int b = 0; b < 3; b++) {
            double bs = 0;
            for (int i = b * 32; i < b * 32 + 32; i++) {
                /* Mitchell's product of two values from its definition:
                 * 2^(ka+kb) * (1 + fa + fb) when fa + fb < 1, else
                 * 2^(ka+kb+1) * (fa + fb), signs multiplied */
                double va_ = ref_value(&r, ca[i]), vw_ = ref_value(&r, cw[i]);
                if (va_ == 0 || vw_ == 0)
                    continue;
                int ka, kb;
                double ma = frexp(fabs(va_), &ka) * 2, mb = frexp(fabs(vw_), &kb) * 2;
                double fa = ma - 1, fb = mb - 1, s = fa + fb;
                double p = s < 1 ? ldexp(1 + s, ka + kb - 2) : ldexp(s, ka + kb - 1);
                bs += (va_ < 0) != (vw_ < 0) ? -p : p;
            }
            want += ldexp(bs, (int)sa[b] - 127 + (int)sw[b] - 127);
        }
        cr_assert_eq((double)y, want, "rep %d: %a exp %a", rep, (double)y, want);
        differs += y != y0;
    }
    cr_expect_gt(differs, 10, "Mitchell's products must differ from exact ones");
}

Test(block, dot_product_refuses_mixed_blocks)
{
    struct axl_block_format a = parse("mxfp8"), b = parse("nvfp4");
    uint32_t c[32] = {0}, s[2] = {0};
    struct axl_block_vec va = {&a, c, s, 1}, vb = {&b, c, s, 1};
    float y;
    char msg[AXL_MSG_LEN] = "";
    cr_expect_eq(axl_block_dot_ref(&va, &vb, 1, NULL, &y, msg), AXL_ERR_INVALID);
    cr_expect(strstr(msg, "mxfp8") && strstr(msg, "nvfp4"), "%s", msg);
}

/* axl_format_encode_pow2 rounds x * 2^shift once: equal to encoding the
 * product whenever float32 holds it exactly, and where it does not (the
 * product below float32's normal range) still correctly rounded, where
 * encoding ldexpf's rounded product would round twice. */
Test(block, encode_pow2_rounds_once)
{
    static const char *names[] = {"e4m3", "e5m2", "e2m1", "e3m2", "int8", "bf16", "e8m3"};
    srand(9);
    int bad = 0;
    for (int t = 0; t < 7; t++) {
        struct axl_format f;
        cr_assert_eq(axl_format_parse(names[t], &f, NULL), AXL_OK);
        for (int i = 0; i < 20000; i++) {
            float x = (float)ldexp((double)rand() / RAND_MAX * 2 - 1, rand() % 60 - 30);
            int shift = rand() % 80 - 40;
            enum axl_round r = (enum axl_round)(i % 4);
            float p = ldexpf(x, shift);
            if (fabsf(p) < FLT_MIN && p != 0)
                continue; /* not exact in float32 */
            uint32_t got = axl_format_encode_pow2(&f, x, shift, r, 0);
            uint32_t want = axl_format_encode(&f, p, r, 0);
            if (got != want && bad++ < 10)
                fprintf(stderr, "%s %a * 2^%d mode %d: 0x%x exp 0x%x\n", names[t], (double)x,
                        shift, (int)r, got, want);
        }
    }
    /* e8m3 (bias 127): subnormal step 2^-129.  x = 2^-100 (1 + 2^-23), shift
     * -30: the product 2^-130 + 2^-153 is just above half a step, so one
     * rounding gives code 1; ldexpf first would round it to 2^-130, a tie,
     * and then to even, code 0 */
    struct axl_format e8m3;
    cr_assert_eq(axl_format_parse("e8m3", &e8m3, NULL), AXL_OK);
    float x = ldexpf(1.0f + 0x1p-23f, -100);
    cr_expect_eq(axl_format_encode_pow2(&e8m3, x, -30, AXL_ROUND_NEAREST_EVEN, 0), 1u);
    cr_expect_eq(axl_format_encode(&e8m3, ldexpf(x, -30), AXL_ROUND_NEAREST_EVEN, 0), 0u,
                 "the double rounding this function avoids");
    /* int8: far below half a unit rounds like any tiny value */
    struct axl_format i8;
    cr_assert_eq(axl_format_parse("int8", &i8, NULL), AXL_OK);
    cr_expect_eq(axl_format_encode_pow2(&i8, 1.0f, -140, AXL_ROUND_UP, 0), 1u);
    cr_expect_eq(axl_format_encode_pow2(&i8, -1.0f, -140, AXL_ROUND_UP, 0), 0u);
    cr_expect_eq(axl_format_encode_pow2(&i8, 1.0f, 200, AXL_ROUND_NEAREST_EVEN, 0), 0x7Fu);
    cr_assert_eq(bad, 0, "%d mismatches", bad);
}

/* Stochastic rounding of elements: the same seed gives the same codes, and
 * over many seeds the decoded mean is the input (unbiased), while the
 * block scale does not move. */
Test(block, stochastic_elements_are_unbiased)
{
    static const char *names[] = {"mxfp4", "mxfp8", "mxint8", "nvfp4"};
    for (int t = 0; t < 4; t++) {
        struct axl_block_format f = parse(names[t]);
        float x[32];
        for (int i = 0; i < 32; i++)
            x[i] = 0.3f + 0.01f * (float)i;
        x[31] = 6.0f;
        x[15] = 0.75f; /* NVFP4: block scales 0.75 / 6 * 448 = 56 and 448 are exact in
                          E4M3, so no element is clipped by a scale rounded down */
        double mean[32] = {0};
        uint32_t c0[32], c1[32], s0[2], s1[2];
        float ts;
        const int reps = 4000;
        for (int r = 0; r < reps; r++) {
            float back[32];
            cr_assert_eq(axl_block_quantize(&f, x, 32, AXL_ROUND_STOCHASTIC, (uint64_t)r, NULL,
                                            c0, s0, &ts, NULL), AXL_OK);
            if (r == 0) {
                cr_assert_eq(axl_block_quantize(&f, x, 32, AXL_ROUND_STOCHASTIC, 0, NULL, c1, s1,
                                                &ts, NULL), AXL_OK);
                cr_expect(!memcmp(c0, c1, sizeof c0), "%s: same seed, other codes", f.name);
            }
            cr_assert_eq(axl_block_decode(&f, c0, s0, ts, 32, back, NULL), AXL_OK);
            for (int i = 0; i < 32; i++)
                mean[i] += back[i] / reps;
        }
        for (int i = 0; i < 31; i++)
            cr_expect(fabs(mean[i] - x[i]) < 0.02, "%s x[%d] = %g: mean %g", f.name, i,
                      (double)x[i], mean[i]);
    }
}
