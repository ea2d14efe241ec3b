/* Proofs for the formats library: parsing, decode and encode of every code
 * of every format up to 16 bits against the slow reference of format_ref.h,
 * encode on boundary and random inputs in every rounding mode, integer
 * formats, stochastic rounding and round-and-pack with a sticky bit.
 *
 * Mismatches print as "what fmt in=<hex> got=<hex> exp=<hex>", at most ten
 * per check, and fail the test.
 */
#include <criterion/criterion.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/format.h"
#include "format_ref.h"

/* --- helpers ---------------------------------------------------------- */

/* Sanitizer builds look for memory errors, not for more coverage: they run
 * a quarter of the random and sampled inputs. */
#if defined(__SANITIZE_ADDRESS__)
#define SCALE 4
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SCALE 4
#endif
#endif
#ifndef SCALE
#define SCALE 1
#endif

static const enum axl_round k_modes[] = {AXL_ROUND_NEAREST_EVEN, AXL_ROUND_TOWARD_ZERO,
                                         AXL_ROUND_UP, AXL_ROUND_DOWN, AXL_ROUND_STOCHASTIC};
#define N_DET_MODES 4 /* the first four are deterministic */
#define N_MODES 5

/* Records a mismatch; prints the first ten of a check. Thread-safe. */
static void mismatch(long *count, const char *what, const struct axl_format *f, uint64_t in,
                     uint32_t got, uint32_t exp)
{
    long n;
#pragma omp atomic capture
    n = (*count)++;
    if (n < 10) {
#pragma omp critical(axl_test_print)
        fprintf(stderr, "MISMATCH %s %s in=0x%08" PRIx64 " got=0x%08" PRIx32 " exp=0x%08" PRIx32 "\n",
                what, f->name, in, got, exp);
    }
}

static struct axl_format fmt(const char *name)
{
    struct axl_format f;
    char msg[AXL_MSG_LEN];
    enum axl_status st = axl_format_parse(name, &f, msg);
    cr_assert_eq(st, AXL_OK, "parse %s: %s", name, msg);
    return f;
}

static uint32_t fbits(float x) { return axl_f32_bits(x); }
static float bitsf(uint32_t u) { return axl_f32_from_bits(u); }

/* SplitMix64 as a plain test RNG (the library's own generator is under
 * test elsewhere, so use a separate state here). */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Custom formats covering e1..e8, m0..m10, the families, nosub, sat/nonsat
 * and explicit (also negative, also extreme) biases. */
static const char *k_custom[] = {
    "e1m0fin",   "e1m2",        "e1m3fn",      "e1m1fnuz",   "e1m14fin",   "e2m0fin",
    "e2m2",      "e2m1fnuz",    "e2m10fin",    "e2m13",      "e3m0fn",     "e3m0fnuz",
    "e3m1",      "e3m4",        "e3m3b1nosub", "e3m2nosub",  "e3m10",      "e4m0fnuz",
    "e4m0fn",    "e4m3nonsat",  "e4m3fnuznonsat", "e4m3b-2", "e4m3b10nosub", "e4m4",
    "e4m10b3",   "e5m0fin",     "e5m2nosub",   "e5m2sat",    "e5m4b12",    "e5m10b1",
    "fp16nosub", "bf16sat",     "e5m2fnuznosub", "e5m3fn",   "e6m3",       "e6m9",
    "e6m5fnuz",  "e6m4b-20",    "e7m2",        "e7m8fin",    "e7m6b100",   "e8m0b128fin",
    "e8m2b130fn", "e8m7b143",   "bf16nosub",   "e8m4b146nosub", "e2m1nosub", "e4m3fnnonsat",
};
#define N_CUSTOM (sizeof k_custom / sizeof k_custom[0])

/* Every format of at most 16 bits under test: the named ones, then k_custom. */
static size_t small_formats(struct axl_format *out, size_t cap, int floats_only)
{
    size_t n = 0;
    for (size_t i = 0; i < axl_format_named_count(); i++) {
        struct axl_format f = fmt(axl_format_named(i));
        if (f.bits <= 16 && (!floats_only || f.kind == AXL_KIND_FLOAT) && n < cap)
            out[n++] = f;
    }
    for (size_t i = 0; i < N_CUSTOM && n < cap; i++) {
        struct axl_format f = fmt(k_custom[i]);
        cr_assert_leq(f.bits, 16, "%s", k_custom[i]);
        out[n++] = f;
    }
    return n;
}

static int is_nosub_subnormal(const struct axl_format *f, uint32_t code)
{
    uint32_t mag = code & (uint32_t)(((uint64_t)1 << ref_em(f)) - 1);
    return f->kind == AXL_KIND_FLOAT && !f->subnormals && mag != 0 && mag < (1u << f->mbits);
}

/* decode and compare with the reference: same bits, or both NaN */
static int decode_matches(const struct axl_format *f, uint32_t code, float *got_out, float *exp_out)
{
    float got = axl_format_decode(f, code);
    float exp = (float)ref_decode(f, code);
    *got_out = got;
    *exp_out = exp;
    if (isnan(exp))
        return isnan(got);
    return fbits(got) == fbits(exp);
}

/* --- parsing ------------------------------------------------------------ */

Test(format_parse, named_all)
{
    for (size_t i = 0; i < axl_format_named_count(); i++) {
        const char *name = axl_format_named(i);
        struct axl_format f = fmt(name);
        cr_expect_not_null(axl_format_named_note(i));
        /* the canonical name parses back to the same descriptor */
        struct axl_format g = fmt(f.name);
        cr_expect(f.kind == g.kind && f.bits == g.bits && f.ebits == g.ebits && f.mbits == g.mbits &&
                      f.special == g.special && f.subnormals == g.subnormals &&
                      f.overflow == g.overflow && f.bias == g.bias && strcmp(f.name, g.name) == 0,
                  "%s -> %s does not reparse to itself", name, f.name);
        /* named formats keep their own name, except the alias e4m3 */
        if (strcmp(name, "e4m3") == 0)
            cr_expect_str_eq(f.name, "e4m3fn");
        else
            cr_expect_str_eq(f.name, name);
    }
    cr_expect_null(axl_format_named(axl_format_named_count()));
}

struct expect_fmt {
    const char *name, *canon;
    int kind, bits, ebits, mbits, special, subnormals, overflow, bias;
};

Test(format_parse, fields_and_canonical_names)
{
    static const struct expect_fmt k[] = {
        {"fp32", "fp32", AXL_KIND_FLOAT, 32, 8, 23, AXL_SPECIAL_IEEE, 1, AXL_OVERFLOW_SPECIAL, 127},
        {"tf32", "tf32", AXL_KIND_FLOAT, 19, 8, 10, AXL_SPECIAL_IEEE, 1, AXL_OVERFLOW_SPECIAL, 127},
        {"bf16", "bf16", AXL_KIND_FLOAT, 16, 8, 7, AXL_SPECIAL_IEEE, 1, AXL_OVERFLOW_SPECIAL, 127},
        {"e8m7", "bf16", AXL_KIND_FLOAT, 16, 8, 7, AXL_SPECIAL_IEEE, 1, AXL_OVERFLOW_SPECIAL, 127},
        {"fp16", "fp16", AXL_KIND_FLOAT, 16, 5, 10, AXL_SPECIAL_IEEE, 1, AXL_OVERFLOW_SPECIAL, 15},
        {"e5m10", "fp16", AXL_KIND_FLOAT, 16, 5, 10, AXL_SPECIAL_IEEE, 1, AXL_OVERFLOW_SPECIAL, 15},
        {"dlfloat16", "dlfloat16", AXL_KIND_FLOAT, 16, 6, 9, AXL_SPECIAL_IEEE, 0, AXL_OVERFLOW_SPECIAL, 31},
        {"e6m9b31nosub", "dlfloat16", AXL_KIND_FLOAT, 16, 6, 9, AXL_SPECIAL_IEEE, 0, AXL_OVERFLOW_SPECIAL, 31},
        {"e4m3", "e4m3fn", AXL_KIND_FLOAT, 8, 4, 3, AXL_SPECIAL_FN, 1, AXL_OVERFLOW_SATURATE, 7},
        {"e4m3fn", "e4m3fn", AXL_KIND_FLOAT, 8, 4, 3, AXL_SPECIAL_FN, 1, AXL_OVERFLOW_SATURATE, 7},
        {"e5m2", "e5m2", AXL_KIND_FLOAT, 8, 5, 2, AXL_SPECIAL_IEEE, 1, AXL_OVERFLOW_SPECIAL, 15},
        {"e4m3fnuz", "e4m3fnuz", AXL_KIND_FLOAT, 8, 4, 3, AXL_SPECIAL_FNUZ, 1, AXL_OVERFLOW_SATURATE, 8},
        {"e5m2fnuz", "e5m2fnuz", AXL_KIND_FLOAT, 8, 5, 2, AXL_SPECIAL_FNUZ, 1, AXL_OVERFLOW_SATURATE, 16},
        {"e3m2", "e3m2", AXL_KIND_FLOAT, 6, 3, 2, AXL_SPECIAL_FINITE, 1, AXL_OVERFLOW_SATURATE, 3},
        {"e2m3", "e2m3", AXL_KIND_FLOAT, 6, 2, 3, AXL_SPECIAL_FINITE, 1, AXL_OVERFLOW_SATURATE, 1},
        {"e2m1", "e2m1", AXL_KIND_FLOAT, 4, 2, 1, AXL_SPECIAL_FINITE, 1, AXL_OVERFLOW_SATURATE, 1},
        {"e5m4b12", "e5m4b12", AXL_KIND_FLOAT, 10, 5, 4, AXL_SPECIAL_IEEE, 1, AXL_OVERFLOW_SPECIAL, 12},
        {"e5m2nosub", "e5m2nosub", AXL_KIND_FLOAT, 8, 5, 2, AXL_SPECIAL_IEEE, 0, AXL_OVERFLOW_SPECIAL, 15},
        {"fp16nosub", "e5m10nosub", AXL_KIND_FLOAT, 16, 5, 10, AXL_SPECIAL_IEEE, 0, AXL_OVERFLOW_SPECIAL, 15},
        {"bf16sat", "e8m7sat", AXL_KIND_FLOAT, 16, 8, 7, AXL_SPECIAL_IEEE, 1, AXL_OVERFLOW_SATURATE, 127},
        {"e4m3nonsat", "e4m3fnnonsat", AXL_KIND_FLOAT, 8, 4, 3, AXL_SPECIAL_FN, 1, AXL_OVERFLOW_SPECIAL, 7},
        {"e4m3b-2", "e4m3b-2fn", AXL_KIND_FLOAT, 8, 4, 3, AXL_SPECIAL_FN, 1, AXL_OVERFLOW_SATURATE, -2},
        {"e2m1fin", "e2m1", AXL_KIND_FLOAT, 4, 2, 1, AXL_SPECIAL_FINITE, 1, AXL_OVERFLOW_SATURATE, 1},
        {"e8m7b143", "e8m7b143", AXL_KIND_FLOAT, 16, 8, 7, AXL_SPECIAL_IEEE, 1, AXL_OVERFLOW_SPECIAL, 143},
        {"int8", "int8", AXL_KIND_INT, 8, 0, 0, 0, 0, 0, 0},
        {"int2", "int2", AXL_KIND_INT, 2, 0, 0, 0, 0, 0, 0},
        {"uint16", "uint16", AXL_KIND_UINT, 16, 0, 0, 0, 0, 0, 0},
        {"uint2", "uint2", AXL_KIND_UINT, 2, 0, 0, 0, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        struct axl_format f = fmt(k[i].name);
        cr_expect_str_eq(f.name, k[i].canon, "%s", k[i].name);
        cr_expect_eq(f.kind, k[i].kind, "%s kind", k[i].name);
        cr_expect_eq(f.bits, k[i].bits, "%s bits", k[i].name);
        if (f.kind != AXL_KIND_FLOAT)
            continue;
        cr_expect_eq(f.ebits, k[i].ebits, "%s ebits", k[i].name);
        cr_expect_eq(f.mbits, k[i].mbits, "%s mbits", k[i].name);
        cr_expect_eq(f.special, k[i].special, "%s special", k[i].name);
        cr_expect_eq(f.subnormals, k[i].subnormals, "%s subnormals", k[i].name);
        cr_expect_eq(f.overflow, k[i].overflow, "%s overflow", k[i].name);
        cr_expect_eq(f.bias, k[i].bias, "%s bias", k[i].name);
    }
    /* every custom format's canonical name reparses to itself */
    for (size_t i = 0; i < N_CUSTOM; i++) {
        struct axl_format f = fmt(k_custom[i]);
        struct axl_format g = fmt(f.name);
        cr_expect(memcmp(&f, &g, sizeof f) == 0, "%s -> %s -> %s", k_custom[i], f.name, g.name);
    }
}

Test(format_parse, errors_name_the_bad_part)
{
    static const struct {
        const char *name, *part;
    } k[] = {
        {"e9m30", "9 exponent bits"},     {"e0m3", "0 exponent bits"},
        {"e5m24", "24 mantissa bits"},    {"int0", "0 bits"},
        {"int17", "17 bits"},             {"uint1", "1 bits"},
        {"e4m3q", "'q'"},                 {"e3m2nonsat", "saturates"},
        {"e5m0", "mantissa"},             {"e8m3b0", "bias 0"},
        {"e8m0fin", "bias 127"},          {"e5m2b", "after 'b'"},
        {"", "empty"},                    {"foo", "'foo'"},
        {"int8x", "'x'"},                 {"fp16q", "'q'"},
        {"e4m", "mantissa"},              {"e", "'e'"},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        struct axl_format f;
        char msg[AXL_MSG_LEN] = "";
        enum axl_status st = axl_format_parse(k[i].name, &f, msg);
        cr_expect_eq(st, AXL_ERR_INVALID, "'%s' should be refused", k[i].name);
        cr_expect(strstr(msg, k[i].part) != NULL, "message for '%s' lacks '%s': %s", k[i].name,
                  k[i].part, msg);
        /* a NULL message buffer is allowed */
        cr_expect_eq(axl_format_parse(k[i].name, &f, NULL), AXL_ERR_INVALID);
    }
    struct axl_format f;
    cr_expect_eq(axl_format_parse(NULL, &f, NULL), AXL_ERR_INVALID);
}

Test(format_parse, derived_properties)
{
    static const struct {
        const char *name;
        double max, min_normal, min_sub, eps;
    } k[] = {
        {"e4m3", 448, 0x1p-6, 0x1p-9, 0.125},
        {"e5m2", 57344, 0x1p-14, 0x1p-16, 0.25},
        {"e4m3fnuz", 240, 0x1p-7, 0x1p-10, 0.125},
        {"e5m2fnuz", 57344, 0x1p-15, 0x1p-17, 0.25},
        {"e3m2", 28, 0.25, 0.0625, 0.25},
        {"e2m3", 7.5, 1, 0.125, 0.125},
        {"e2m1", 6, 1, 0.5, 0.5},
        {"fp16", 65504, 0x1p-14, 0x1p-24, 0x1p-10},
        {"bf16", 0x1.FEp127, 0x1p-126, 0x1p-133, 0x1p-7},
        {"fp32", FLT_MAX, FLT_MIN, 0x1p-149, 0x1p-23},
        {"dlfloat16", 0x1.FF8p31, 0x1p-30, 0, 0x1p-9},
        {"e4m3nonsat", 448, 0x1p-6, 0x1p-9, 0.125},
        {"e8m7b143", 0x1.FEp111, 0x1p-142, 0x1p-149, 0x1p-7},
        {"int8", 127, 1, 0, 1},
        {"uint8", 255, 1, 0, 1},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        struct axl_format f = fmt(k[i].name);
        cr_expect_eq((double)axl_format_max_finite(&f), k[i].max, "%s max", k[i].name);
        cr_expect_eq((double)axl_format_min_normal(&f), k[i].min_normal, "%s min normal", k[i].name);
        cr_expect_eq((double)axl_format_min_subnormal(&f), k[i].min_sub, "%s min sub", k[i].name);
        cr_expect_eq((double)axl_format_epsilon(&f), k[i].eps, "%s eps", k[i].name);
    }
    enum axl_round r;
    for (int m = 0; m < N_MODES; m++) {
        cr_expect_eq(axl_round_parse(axl_round_name(k_modes[m]), &r), AXL_OK);
        cr_expect_eq(r, k_modes[m]);
    }
    cr_expect_eq(axl_round_parse("rne", &r), AXL_OK);
    cr_expect_eq(r, AXL_ROUND_NEAREST_EVEN);
    cr_expect_eq(axl_round_parse("sr", &r), AXL_OK);
    cr_expect_eq(r, AXL_ROUND_STOCHASTIC);
    cr_expect_eq(axl_round_parse("bogus", &r), AXL_ERR_INVALID);
}

/* --- every code of every small format ------------------------------------ */

/* Policy of decode-then-encode (nearest-even): every code comes back,
 * except that
 *   - a NaN code comes back as the canonical NaN code (any sign, any payload),
 *   - a subnormal code of a nosub format decodes to zero and so comes back as
 *     zero of its sign (FNUZ: the one zero, 0),
 *   - FNUZ has no -0 code to lose (its 100..0 is NaN).
 * Integer codes all come back. */
Test(format_codes, roundtrip_every_code, .timeout = 60)
{
    struct axl_format fs[128];
    size_t nf = small_formats(fs, 128, 0);
    long bad = 0;
    for (size_t i = 0; i < nf; i++) {
        const struct axl_format *f = &fs[i];
        uint32_t ncodes = 1u << f->bits;
        for (uint32_t c = 0; c < ncodes; c++) {
            uint32_t exp = c;
            if (ref_is_nan(f, c))
                exp = ref_nan_code(f);
            else if (is_nosub_subnormal(f, c))
                exp = f->special == AXL_SPECIAL_FNUZ ? 0u : c & (1u << ref_em(f));
            uint32_t got = axl_format_encode(f, axl_format_decode(f, c), AXL_ROUND_NEAREST_EVEN, 0);
            if (got != exp)
                mismatch(&bad, "roundtrip", f, c, got, exp);
        }
    }
    cr_expect_eq(bad, 0, "%ld codes did not round-trip", bad);
}

Test(format_codes, decode_every_code_vs_ref, .timeout = 60)
{
    struct axl_format fs[128];
    size_t nf = small_formats(fs, 128, 0);
    long bad = 0;
    for (size_t i = 0; i < nf; i++) {
        const struct axl_format *f = &fs[i];
        uint32_t ncodes = 1u << f->bits;
        for (uint32_t c = 0; c < ncodes; c++) {
            float got, exp;
            if (!decode_matches(f, c, &got, &exp))
                mismatch(&bad, "decode", f, c, fbits(got), fbits(exp));
            /* the classifiers agree with the reference */
            if (axl_format_is_nan(f, c) != ref_is_nan(f, c))
                mismatch(&bad, "is_nan", f, c, (uint32_t)axl_format_is_nan(f, c),
                         (uint32_t)ref_is_nan(f, c));
            if (axl_format_is_inf(f, c) != ref_is_inf(f, c))
                mismatch(&bad, "is_inf", f, c, (uint32_t)axl_format_is_inf(f, c),
                         (uint32_t)ref_is_inf(f, c));
        }
        if (f->kind == AXL_KIND_FLOAT) {
            /* the largest magnitude code that is neither NaN nor inf */
            uint32_t walk = (1u << ref_em(f)) - 1u;
            while (ref_is_nan(f, walk) || ref_is_inf(f, walk))
                walk--;
            if (walk != ref_max_mag(f))
                mismatch(&bad, "ref max_mag", f, 0, ref_max_mag(f), walk);
            if (axl_format_max_mag(f) != ref_max_mag(f))
                mismatch(&bad, "max_mag", f, 0, axl_format_max_mag(f), ref_max_mag(f));
            if (axl_format_nan_code(f) != ref_nan_code(f))
                mismatch(&bad, "nan_code", f, 0, axl_format_nan_code(f), ref_nan_code(f));
        }
    }
    /* fp32 and tf32: a sample of codes (every 4099th plus the specials) */
    const char *wide[] = {"fp32", "tf32", "e8m20b130", "e8m22nosub"};
    for (size_t w = 0; w < 4; w++) {
        struct axl_format f = fmt(wide[w]);
        uint64_t n = (uint64_t)1 << f.bits;
        for (uint64_t c = 0; c < n; c += (c < 64 || n - c < 64) ? 1 : 4099) {
            float got, exp;
            if (!decode_matches(&f, (uint32_t)c, &got, &exp))
                mismatch(&bad, "decode", &f, c, fbits(got), fbits(exp));
        }
    }
    cr_expect_eq(bad, 0, "%ld decode mismatches", bad);
}

/* --- encode on targeted inputs ------------------------------------------- */

struct inputs {
    float *x;
    size_t n, cap;
};

static void push(struct inputs *in, float x)
{
    if (in->n == in->cap) {
        in->cap = in->cap ? 2 * in->cap : 1024;
        in->x = realloc(in->x, in->cap * sizeof *in->x);
        cr_assert_not_null(in->x);
    }
    in->x[in->n++] = x;
}

/* a double and its float32 neighbours, both signs */
static void push_around(struct inputs *in, double v)
{
    if (!(v <= FLT_MAX))
        v = FLT_MAX;
    float x = (float)v;
    float s[3] = {x, nextafterf(x, INFINITY), nextafterf(x, -INFINITY)};
    if ((double)x != v) { /* v itself is no float: take the floats around it */
        s[1] = nextafterf(x, (double)x < v ? INFINITY : -INFINITY);
    }
    for (int i = 0; i < 3; i++) {
        push(in, s[i]);
        push(in, -s[i]);
    }
}

/* Boundary inputs of one floating format: every code's value, every
 * midpoint between consecutive codes (ties), each +-1 float32 ulp, the
 * value past max finite and the midpoint to it, plus float32 specials. */
static void targeted_inputs(const struct axl_format *f, struct inputs *in)
{
    uint32_t maxmag = ref_max_mag(f);
    /* formats wider than 16 bits: the 512 codes at each end, then a sample */
    uint64_t step = f->bits > 16 ? 2000003 * SCALE : (f->bits > 12 ? SCALE : 1);
    for (uint64_t c = 0; c <= maxmag; c += (c < 512 || maxmag - c < 512) ? 1 : step) {
        double v = ref_mag_value(f, c), vn = ref_mag_value(f, c + 1);
        push_around(in, v);
        push_around(in, (v + vn) / 2);
        if (c == maxmag) {
            push_around(in, vn);
            push_around(in, 2 * vn);
            push_around(in, vn + (vn - v) / 2);
        }
        if (c + 1 < maxmag && (f->bits <= 12 || c % 16 == 0)) { /* 1/4 and 3/4 of the way */
            push_around(in, v + (vn - v) / 4);
            push_around(in, v + 3 * (vn - v) / 4);
        }
    }
    static const uint32_t specials[] = {
        0x00000000u, 0x80000000u, 0x7F800000u, 0xFF800000u, 0x7FC00000u, 0xFFC00000u,
        0x7F800001u, 0xFFFFFFFFu, 0x7FBFFFFFu, 0x00000001u, 0x80000001u, 0x00000002u,
        0x00000003u, 0x007FFFFFu, 0x807FFFFFu, 0x00400000u, 0x00400001u, 0x003FFFFFu,
        0x00800000u, 0x80800000u, 0x7F7FFFFFu, 0xFF7FFFFFu, 0x3F800000u, 0xBF800000u,
        0x3F800001u, 0x3F7FFFFFu, 0x4B800000u, 0x5F000000u, 0x2F800000u, 0x0D800000u,
    };
    for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++)
        push(in, bitsf(specials[i]));
}

/* Compares encode with the reference over inputs in every rounding mode
 * (stochastic with a draw derived from the input). */
static long check_encode(const struct axl_format *f, const float *x, size_t n, const char *what)
{
    long bad = 0;
    double *table = f->kind == AXL_KIND_FLOAT && f->bits <= 16 ? ref_value_table(f) : NULL;
#pragma omp parallel for schedule(dynamic, 4096) reduction(+ : bad)
    for (size_t i = 0; i < n; i++) {
        for (int m = 0; m < N_MODES; m++) {
            uint32_t rnd = m == AXL_ROUND_STOCHASTIC ? axl_rand32(7, i * 5 + (uint64_t)m) : 0;
            uint32_t got = axl_format_encode(f, x[i], k_modes[m], rnd);
            uint32_t exp = ref_encode_t(f, table, x[i], k_modes[m], rnd);
            if (got != exp) {
                char tag[64];
                snprintf(tag, sizeof tag, "%s/%s(rnd=%08x)", what, axl_round_name(k_modes[m]), rnd);
                mismatch(&bad, tag, f, fbits(x[i]), got, exp);
            }
        }
    }
    free(table);
    return bad;
}

Test(format_encode, targeted_all_modes, .timeout = 120)
{
    struct axl_format fs[128];
    size_t nf = small_formats(fs, 128, 1);
    const char *wide[] = {"fp32", "tf32", "e8m20b130", "e8m22nosub", "e8m20b129fn"};
    for (size_t w = 0; w < 5 && nf < 128; w++)
        fs[nf++] = fmt(wide[w]);
    long bad = 0;
    for (size_t i = 0; i < nf; i++) {
        struct inputs in = {0};
        targeted_inputs(&fs[i], &in);
        bad += check_encode(&fs[i], in.x, in.n, "targeted");
        free(in.x);
    }
    cr_expect_eq(bad, 0, "%ld encode mismatches on targeted inputs", bad);
}

/* Random float32 bit patterns: a quarter uniform over all 2^32 patterns,
 * the rest with an exponent near the format's range. */
Test(format_encode, random_all_modes, .timeout = 120)
{
    static const char *names[] = {"e4m3", "e5m2", "e3m2", "e2m1", "fp16",
                                  "bf16", "e4m3fnuz", "e5m2nosub"};
    const size_t n = ((size_t)1 << 20) / SCALE;
    float *x = malloc(n * sizeof *x);
    cr_assert_not_null(x);
    long bad = 0;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        struct axl_format f = fmt(names[k]);
        int emax = (int)(ref_max_mag(&f) >> f.mbits) - f.bias;
        int emin = 1 - f.bias - f.mbits;
        uint64_t s = 12345 + k;
        for (size_t i = 0; i < n; i++) {
            uint64_t r = rng_next(&s);
            uint32_t u = (uint32_t)r;
            if ((r >> 32) % 4 != 0) {
                int e = emin - 3 + (int)((r >> 40) % (uint64_t)(emax - emin + 6));
                int be = e + 127;
                if (be < 0)
                    be = 0;
                if (be > 254)
                    be = 254;
                u = (u & 0x807FFFFFu) | ((uint32_t)be << 23);
            }
            x[i] = bitsf(u);
        }
        bad += check_encode(&f, x, n, "random");
    }
    free(x);
    cr_expect_eq(bad, 0, "%ld encode mismatches on random inputs", bad);
}

/* Hand-checked values: the reference itself could be wrong the same way. */
Test(format_encode, known_values)
{
    struct axl_format e4m3 = fmt("e4m3"), e5m2 = fmt("e5m2"), fp16 = fmt("fp16"),
                      bf16 = fmt("bf16"), fnuz = fmt("e4m3fnuz"), e2m1 = fmt("e2m1"),
                      nonsat = fmt("e4m3nonsat"), e5m2ns = fmt("e5m2nosub");
    const enum axl_round rne = AXL_ROUND_NEAREST_EVEN;
    cr_expect_eq(axl_format_encode(&fp16, 1.0f, rne, 0), 0x3C00u);
    cr_expect_eq(axl_format_encode(&fp16, 65504.0f, rne, 0), 0x7BFFu);
    cr_expect_eq(axl_format_encode(&fp16, 65519.0f, rne, 0), 0x7BFFu);
    cr_expect_eq(axl_format_encode(&fp16, 65520.0f, rne, 0), 0x7C00u); /* tie to inf */
    cr_expect_eq(axl_format_encode(&fp16, 65520.0f, AXL_ROUND_TOWARD_ZERO, 0), 0x7BFFu);
    cr_expect_eq(axl_format_encode(&fp16, -65520.0f, AXL_ROUND_UP, 0), 0xFBFFu);
    cr_expect_eq(axl_format_encode(&fp16, 0x1p-25f, rne, 0), 0x0000u); /* tie to even 0 */
    cr_expect_eq(axl_format_encode(&fp16, 0x1.8p-24f, rne, 0), 0x0002u);
    cr_expect_eq(axl_format_encode(&bf16, 1.00390625f, rne, 0), 0x3F80u); /* tie, even */
    cr_expect_eq(axl_format_encode(&bf16, 1.01171875f, rne, 0), 0x3F82u); /* tie, odd -> up */
    cr_expect_eq(axl_format_encode(&e4m3, 448.0f, rne, 0), 0x7Eu);
    cr_expect_eq(axl_format_encode(&e4m3, 464.0f, rne, 0), 0x7Eu); /* tie, 0x7E is even */
    cr_expect_eq(axl_format_encode(&e4m3, 465.0f, rne, 0), 0x7Eu); /* saturates */
    cr_expect_eq(axl_format_encode(&e4m3, INFINITY, rne, 0), 0x7Eu);
    cr_expect_eq(axl_format_encode(&e4m3, NAN, rne, 0), 0x7Fu);
    cr_expect_eq(axl_format_encode(&nonsat, 465.0f, rne, 0), 0x7Fu);
    cr_expect_eq(axl_format_encode(&nonsat, 464.0f, rne, 0), 0x7Eu);
    cr_expect_eq(axl_format_encode(&nonsat, 1e6f, AXL_ROUND_TOWARD_ZERO, 0), 0x7Eu);
    cr_expect_eq(axl_format_encode(&e5m2, 57344.0f, rne, 0), 0x7Bu);
    cr_expect_eq(axl_format_encode(&e5m2, 61440.0f, rne, 0), 0x7Cu); /* tie to inf */
    cr_expect_eq(axl_format_encode(&e5m2, -1e9f, rne, 0), 0xFCu);
    cr_expect_eq(axl_format_encode(&fnuz, -0.0f, rne, 0), 0x00u);
    cr_expect_eq(axl_format_encode(&fnuz, -0x1p-12f, rne, 0), 0x00u); /* no -0 */
    cr_expect_eq(axl_format_encode(&fnuz, NAN, rne, 0), 0x80u);
    cr_expect_eq(axl_format_encode(&fnuz, 240.0f, rne, 0), 0x7Fu);
    cr_expect_eq(axl_format_encode(&e2m1, 5.0f, rne, 0), 0x6u);  /* tie 4|6 -> 4 (even) */
    cr_expect_eq(axl_format_encode(&e2m1, 0.25f, rne, 0), 0x0u); /* tie 0|0.5 -> 0 */
    cr_expect_eq(axl_format_encode(&e2m1, -100.0f, rne, 0), 0xFu);
    cr_expect_eq(axl_format_encode(&e2m1, NAN, rne, 0), 0x7u);
    cr_expect_eq(axl_format_encode(&e5m2ns, 0x1p-15f, rne, 0), 0x00u); /* rounds to a subnormal */
    cr_expect_eq(axl_format_encode(&e5m2ns, -0x1p-15f, rne, 0), 0x80u);
    cr_expect_eq(axl_format_encode(&e5m2ns, 0x1.Fp-15f, rne, 0), 0x04u); /* rounds up to min normal */
    cr_expect_eq(axl_format_encode(&e5m2ns, 0x1p-20f, AXL_ROUND_UP, 0), 0x00u);
    cr_expect_eq(fbits(axl_format_decode(&e5m2ns, 0x03u)), 0u);
}

/* --- integer formats ----------------------------------------------------- */

Test(format_int, encode_decode_all_widths, .timeout = 60)
{
    long bad = 0;
    static const float offs[] = {0.0f, 0.25f, 0.5f, 0.75f, -0.25f, -0.5f, -0.75f, 0.125f, 0.375f};
    static const uint32_t specials[] = {
        0x00000000u, 0x80000000u, 0x7F800000u, 0xFF800000u, 0x7FC00000u, 0xFFC00000u, 0x7F800001u,
        0x00000001u, 0x80000001u, 0x007FFFFFu, 0x3B000000u, 0x3B800000u, 0xBB000000u, 0x3A800001u,
        0x4B7FFFFFu, 0x4B800000u, 0x4B800001u, 0xCB800000u, 0x4F000000u, 0xCF000000u, 0x7F7FFFFFu,
        0xFF7FFFFFu, 0x3EFFFFFFu, 0x3F000000u, 0x3F000001u, 0x3FC00000u, 0x40200000u, 0x4AFFFFFFu,
    };
    for (int kind = 0; kind < 2; kind++) {
        for (int bits = 2; bits <= 16; bits++) {
            char name[16];
            snprintf(name, sizeof name, "%s%d", kind ? "uint" : "int", bits);
            struct axl_format f = fmt(name);
            long lo = kind ? 0 : -(1L << (bits - 1));
            long hi = kind ? (1L << bits) - 1 : (1L << (bits - 1)) - 1;
            /* decode of every code */
            for (uint32_t c = 0; c < (1u << bits); c++) {
                float got = axl_format_decode(&f, c);
                double exp = ref_decode(&f, c);
                long v = kind ? (long)c : (c >= (1u << (bits - 1)) ? (long)c - (1L << bits) : (long)c);
                if ((double)got != exp || exp != (double)v)
                    mismatch(&bad, "int decode", &f, c, fbits(got), fbits((float)exp));
            }
            struct inputs in = {0};
            for (long i = lo - 3; i <= hi + 3; i++) {
                for (size_t o = 0; o < sizeof offs / sizeof offs[0]; o++)
                    push(&in, (float)i + offs[o]);
                push(&in, nextafterf((float)i, INFINITY));
                push(&in, nextafterf((float)i, -INFINITY));
            }
            for (size_t s = 0; s < sizeof specials / sizeof specials[0]; s++)
                push(&in, bitsf(specials[s]));
            bad += check_encode(&f, in.x, in.n, "int");
            free(in.x);
        }
    }
    cr_expect_eq(bad, 0, "%ld integer mismatches", bad);
}

/* --- stochastic rounding ------------------------------------------------- */

/* Exact thresholds: with x a fraction j/2^32 of the way between 0 and the
 * smallest code, the draw rnd rounds up exactly when rnd < j. */
Test(format_sr, exact_thresholds)
{
    static const uint32_t js[] = {1u, 3u, 0x00800001u, 0x40000000u, 0x80000000u, 0xFFFFFF00u,
                                  0xC0000000u};
    static const char *names[] = {"e4m3", "e5m2", "fp16", "bf16", "e2m1", "e4m3fnuz", "e3m2"};
    long bad = 0;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        struct axl_format f = fmt(names[k]);
        double ulp = ref_mag_value(&f, 1);
        for (size_t i = 0; i < sizeof js / sizeof js[0]; i++) {
            float x = (float)(ldexp((double)js[i], -32) * ulp);
            if ((double)x != ldexp((double)js[i], -32) * ulp)
                continue; /* below float32's range */
            for (int neg = 0; neg < 2; neg++) {
                float xs = neg ? -x : x;
                uint32_t one = (uint32_t)neg << ref_em(&f) | 1u;
                uint32_t zero = f.special == AXL_SPECIAL_FNUZ ? 0u : (uint32_t)neg << ref_em(&f);
                uint32_t got = axl_format_encode(&f, xs, AXL_ROUND_STOCHASTIC, js[i] - 1u);
                if (got != one)
                    mismatch(&bad, "sr below threshold", &f, fbits(xs), got, one);
                got = axl_format_encode(&f, xs, AXL_ROUND_STOCHASTIC, js[i]);
                if (got != zero)
                    mismatch(&bad, "sr at threshold", &f, fbits(xs), got, zero);
            }
        }
    }
    /* integers: x = j/2^32 rounds to 1 exactly when rnd < j, also for
     * |x| < 2^-8 */
    struct axl_format i8 = fmt("int8");
    for (size_t i = 0; i < sizeof js / sizeof js[0]; i++) {
        float x = (float)ldexp((double)js[i], -32);
        uint32_t got = axl_format_encode(&i8, x, AXL_ROUND_STOCHASTIC, js[i] - 1u);
        if (got != 1u)
            mismatch(&bad, "int sr below threshold", &i8, fbits(x), got, 1u);
        got = axl_format_encode(&i8, -x, AXL_ROUND_STOCHASTIC, js[i] - 1u);
        if (got != 0xFFu)
            mismatch(&bad, "int sr below threshold", &i8, fbits(-x), got, 0xFFu);
        got = axl_format_encode(&i8, x, AXL_ROUND_STOCHASTIC, js[i]);
        if (got != 0u)
            mismatch(&bad, "int sr at threshold", &i8, fbits(x), got, 0u);
    }
    /* a 64-bit significand far below the ulp: fp16, value = 2^-26 = a
     * quarter of the smallest subnormal, 65 bits below the ulp */
    struct axl_format fp16 = fmt("fp16");
    uint32_t got = axl_format_pack(&fp16, 0, 1ull << 63, -89, 0, AXL_ROUND_STOCHASTIC, 0x3FFFFFFFu);
    if (got != 1u)
        mismatch(&bad, "pack sr 64-bit sig", &fp16, 0x3FFFFFFFu, got, 1u);
    got = axl_format_pack(&fp16, 0, 1ull << 63, -89, 0, AXL_ROUND_STOCHASTIC, 0x40000000u);
    if (got != 0u)
        mismatch(&bad, "pack sr 64-bit sig", &fp16, 0x40000000u, got, 0u);
    cr_expect_eq(bad, 0, "%ld stochastic threshold mismatches", bad);
}

/* The mean of many roundings converges to x and the share of round-ups to
 * the fractional position. */
Test(format_sr, unbiased, .timeout = 60)
{
    static const struct {
        const char *fmt;
        double lo_code_value;
        double frac;
    } k[] = {
        {"e4m3", 1.0, 0.3},       {"e4m3", -1.0, 0.01},   {"e4m3", 0x1p-9, 0.5},
        {"e4m3", 0.0, 0.7},       {"e5m2", 3.0, 0.99},    {"e5m2", -0x1p-16, 0.25},
        {"fp16", 1.0, 0.1},       {"bf16", -3.0, 0.6},    {"e2m1", 4.0, 0.5},
        {"e2m1", 0.5, 0.2},       {"e4m3fnuz", 0.0, 0.4}, {"e3m2", 16.0, 0.8},
        {"int8", 5.0, 0.3},       {"int8", -7.0, 0.75},   {"uint4", 0.0, 0.05},
        {"e5m2nosub", 0x1p-14, 0.35},
    };
    const uint64_t n = 200000;
    for (size_t t = 0; t < sizeof k / sizeof k[0]; t++) {
        struct axl_format f = fmt(k[t].fmt);
        double a = k[t].lo_code_value;
        /* the next code away from zero */
        uint32_t ca = axl_format_encode(&f, (float)a, AXL_ROUND_NEAREST_EVEN, 0);
        double b;
        if (f.kind == AXL_KIND_FLOAT) {
            uint32_t mag = ca & ((1u << ref_em(&f)) - 1u);
            b = ref_mag_value(&f, mag + 1) * (a < 0 || signbit(a) ? -1 : 1);
        } else {
            b = a < 0 ? a - 1 : a + 1;
        }
        double x = (double)(float)(a + k[t].frac * (b - a));
        double p = (x - a) / (b - a); /* the fraction x really sits at */
        double sum = 0;
        uint64_t ups = 0;
        for (uint64_t i = 0; i < n; i++) {
            uint32_t c = axl_format_encode_sr(&f, (float)x, 0xC0FFEEull + t, i);
            double v = (double)axl_format_decode(&f, c);
            sum += v;
            if (v == b)
                ups++;
            else
                cr_assert_eq(v, a, "%s x=%a rounded to %a, neither %a nor %a", f.name, x, v, a, b);
        }
        double se = sqrt(p * (1 - p) / (double)n);
        double mean = sum / (double)n;
        cr_expect(fabs(mean - x) <= 5 * se * fabs(b - a), "%s x=%a mean=%a (%.3g standard errors)",
                  f.name, x, mean, fabs(mean - x) / (se * fabs(b - a)));
        cr_expect(fabs((double)ups / (double)n - p) <= 5 * se, "%s x=%a P(up)=%g want %g", f.name, x,
                  (double)ups / (double)n, p);
    }
}

/* Same seed and index, same bits; any number of threads, same bits. */
Test(format_sr, reproducible_across_threads, .timeout = 60)
{
    struct axl_format f = fmt("e4m3"), g = fmt("int8");
    const size_t n = 1 << 18;
    uint32_t *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *c = malloc(n * sizeof *c);
    cr_assert(a && b && c);
    const float x = 1.3f;
    for (size_t i = 0; i < n; i++)
        a[i] = axl_format_encode_sr(&f, x * (float)(1 + (i % 7)), 42, i) |
               axl_format_encode_sr(&g, x * (float)(i % 11), 42, i) << 8;
#pragma omp parallel for num_threads(1) schedule(static)
    for (size_t i = 0; i < n; i++)
        b[i] = axl_format_encode_sr(&f, x * (float)(1 + (i % 7)), 42, i) |
               axl_format_encode_sr(&g, x * (float)(i % 11), 42, i) << 8;
    omp_set_num_threads(2);
#pragma omp parallel for schedule(dynamic, 333)
    for (size_t i = 0; i < n; i++)
        c[i] = axl_format_encode_sr(&f, x * (float)(1 + (i % 7)), 42, i) |
               axl_format_encode_sr(&g, x * (float)(i % 11), 42, i) << 8;
    long bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i])
            mismatch(&bad, "sr 1 thread", &f, i, b[i], a[i]);
        if (a[i] != c[i])
            mismatch(&bad, "sr 2 threads", &f, i, c[i], a[i]);
    }
    /* the draws do depend on seed and index */
    size_t same_seed = 0, differ = 0;
    for (size_t i = 0; i < 1000; i++) {
        same_seed += axl_format_encode_sr(&f, x, 42, i) == axl_format_encode_sr(&f, x, 42, i);
        differ += axl_format_encode_sr(&f, x, 42, i) != axl_format_encode_sr(&f, x, 43, i);
    }
    cr_expect_eq(same_seed, 1000u);
    cr_expect_gt(differ, 100u, "seed has no effect");
    free(a);
    free(b);
    free(c);
    cr_expect_eq(bad, 0, "%ld reproducibility mismatches", bad);
}

/* --- round and pack with a sticky bit ------------------------------------ */

/* Reference for axl_format_pack: sig may exceed double precision; its
 * low bits then join the sticky bit (they sit far below any ulp of a format
 * of at most 24 significant bits). */
static uint32_t ref_pack(const struct axl_format *f, uint32_t sign, uint64_t sig, int k,
                         uint32_t sticky, enum axl_round mode, uint32_t rnd)
{
    int s = 0;
    while ((sig >> s) >= (1ull << 53))
        s++;
    if (sig & ((1ull << s) - 1))
        sticky = 1;
    double a = ldexp((double)(sig >> s), k + s);
    return ref_round(f, (int)sign, a, (int)sticky, mode, rnd);
}

static void check_pack(const struct axl_format *f, uint32_t sign, uint64_t sig, int k, uint32_t sticky,
                       long *bad)
{
    for (int m = 0; m < N_MODES; m++) {
        uint32_t rnd = m == AXL_ROUND_STOCHASTIC ? axl_rand32(sig, (uint64_t)k * 2 + sticky) : 0;
        if (m == AXL_ROUND_STOCHASTIC && sig >= (1ull << 53))
            continue; /* low bits folded into sticky change the draw's threshold */
        uint32_t got = axl_format_pack(f, sign, sig, k, sticky, k_modes[m], rnd);
        uint32_t exp = ref_pack(f, sign, sig, k, sticky, k_modes[m], rnd);
        if (got != exp) {
            char tag[96];
            snprintf(tag, sizeof tag, "pack/%s sig=%" PRIx64 " k=%d sticky=%u", axl_round_name(k_modes[m]),
                     sig, k, sticky);
            mismatch(bad, tag, f, sign, got, exp);
        }
    }
}

/* sig*2^k == v exactly, with sig an integer: returns 0 when impossible */
static int as_sig(double v, int k, uint64_t *sig)
{
    double s = ldexp(v, -k);
    if (s != floor(s) || s >= 0x1p62 || s < 0)
        return 0;
    *sig = (uint64_t)s;
    return 1;
}

Test(format_pack, sticky_boundaries, .timeout = 60)
{
    static const char *names[] = {"e4m3", "e5m2", "fp16", "bf16", "e2m1", "e3m2", "e4m3fnuz",
                                  "e5m2nosub", "e8m7b143", "e1m2", "e4m0fn", "e4m3nonsat", "bf16sat"};
    static const int gs[] = {-3, -1, 0, 1, 2, 8, 40};
    long bad = 0;
    for (size_t t = 0; t < sizeof names / sizeof names[0]; t++) {
        struct axl_format f = fmt(names[t]);
        uint32_t maxmag = ref_max_mag(&f);
        for (uint64_t c = 0; c <= maxmag; c += (f.bits <= 10 || c < 512 || maxmag - c < 512) ? 1 : 61) {
            double v = ref_mag_value(&f, c), vn = ref_mag_value(&f, c + 1);
            double ulp = vn - v;
            int qe;
            frexp(ulp, &qe);
            qe -= 1; /* ulp == 2^qe */
            for (size_t gi = 0; gi < sizeof gs / sizeof gs[0]; gi++) {
                int k = qe - gs[gi]; /* gs[gi] bits below the ulp */
                double mid = v + ulp / 2, step = ldexp(1.0, k);
                const double vals[] = {v, mid, mid - step, mid + step, v + step, vn - step};
                for (size_t j = 0; j < sizeof vals / sizeof vals[0]; j++) {
                    uint64_t sig;
                    if (!as_sig(vals[j], k, &sig))
                        continue;
                    for (uint32_t sign = 0; sign < 2; sign++)
                        for (uint32_t st = 0; st < 2; st++)
                            check_pack(&f, sign, sig, k, st, &bad);
                }
            }
        }
        /* nothing but a sticky remainder */
        for (int k = -160; k <= 140; k += 7)
            for (uint32_t sign = 0; sign < 2; sign++)
                for (uint32_t st = 0; st < 2; st++)
                    check_pack(&f, sign, 0, k, st, &bad);
    }
    /* nearest just below a tie rounds down, with sticky just above it up */
    struct axl_format fp16 = fmt("fp16");
    /* the tie between 1 and 1 + 2^-10 is 0x801 * 2^-11 = 0x1002 * 2^-12 */
    cr_expect_eq(axl_format_pack(&fp16, 0, 0x801, -11, 0, AXL_ROUND_NEAREST_EVEN, 0), 0x3C00u);
    cr_expect_eq(axl_format_pack(&fp16, 0, 0x801, -11, 1, AXL_ROUND_NEAREST_EVEN, 0), 0x3C01u);
    cr_expect_eq(axl_format_pack(&fp16, 0, 0x1001, -12, 1, AXL_ROUND_NEAREST_EVEN, 0), 0x3C00u);
    cr_expect_eq(axl_format_pack(&fp16, 0, 0x803, -11, 0, AXL_ROUND_NEAREST_EVEN, 0), 0x3C02u);
    cr_expect_eq(axl_format_pack(&fp16, 0, 0x1005, -12, 1, AXL_ROUND_NEAREST_EVEN, 0), 0x3C01u);
    cr_expect_eq(axl_format_pack(&fp16, 0, 0x400, -10, 1, AXL_ROUND_TOWARD_ZERO, 0), 0x3C00u);
    cr_expect_eq(axl_format_pack(&fp16, 0, 0x400, -10, 1, AXL_ROUND_UP, 0), 0x3C01u);
    cr_expect_eq(axl_format_pack(&fp16, 1, 0x400, -10, 1, AXL_ROUND_UP, 0), 0xBC00u);
    cr_expect_eq(axl_format_pack(&fp16, 1, 0x400, -10, 1, AXL_ROUND_DOWN, 0), 0xBC01u);
    cr_expect_eq(axl_format_pack(&fp16, 0, 0x400, -10, 1, AXL_ROUND_DOWN, 0), 0x3C00u);
    cr_expect_eq(bad, 0, "%ld pack mismatches", bad);
}

Test(format_pack, random_sig_k_sticky, .timeout = 60)
{
    static const char *names[] = {"e4m3", "e5m2", "fp16", "bf16", "e2m1", "e4m3fnuz", "e5m2nosub",
                                  "fp32", "e3m2", "e8m7b143"};
    long bad = 0;
    uint64_t s = 99;
    for (size_t t = 0; t < sizeof names / sizeof names[0]; t++) {
        struct axl_format f = fmt(names[t]);
        int emax = (int)(ref_max_mag(&f) >> f.mbits) - f.bias;
        int emin = 1 - f.bias - f.mbits;
        for (int i = 0; i < 100000 / SCALE; i++) {
            uint64_t r = rng_next(&s);
            int bits = 1 + (int)(r % 64);
            uint64_t sig = rng_next(&s) >> (64 - bits);
            if (sig == 0)
                sig = 1;
            int msb = 63 - __builtin_clzll(sig);
            int ue = emin - 4 + (int)((r >> 8) % (uint64_t)(emax - emin + 8));
            int k = ue - msb;
            uint32_t sticky = (r >> 40) & 1u;
            uint32_t sign = (r >> 41) & 1u;
            check_pack(&f, sign, sig, k, sticky, &bad);
        }
    }
    cr_expect_eq(bad, 0, "%ld pack mismatches", bad);
}

/* axl_format_equal compares the arithmetic, not the name. */
Test(format_equal, fields_not_names)
{
    struct axl_format a = fmt("e4m3"), b = fmt("e4m3fn"), c = fmt("e4m3b7fn");
    cr_expect(axl_format_equal(&a, &b) && axl_format_equal(&b, &c), "aliases of e4m3 differ");
    strcpy(b.name, "something else");
    cr_expect(axl_format_equal(&a, &b), "a different name made formats unequal");
    struct axl_format pairs[][2] = {
        {fmt("e4m3"), fmt("e4m3fnuz")}, {fmt("e5m2"), fmt("e5m2nosub")},
        {fmt("e5m2"), fmt("e5m2sat")},  {fmt("e4m3"), fmt("e4m3b8fn")},
        {fmt("int8"), fmt("uint8")},    {fmt("int8"), fmt("int4")},
        {fmt("bf16"), fmt("fp16")},     {fmt("e3m2"), fmt("e2m3")},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        struct axl_format x = pairs[i][0], y = pairs[i][1];
        cr_expect(!axl_format_equal(&x, &y), "%s == %s", x.name, y.name);
        strcpy(y.name, x.name); /* equal names, different fields */
        cr_expect(!axl_format_equal(&x, &y), "%s == %s once renamed", pairs[i][0].name,
                  pairs[i][1].name);
    }
    struct axl_format d = fmt("fp16");
    d.bias = 14;
    cr_expect(!axl_format_equal(&d, &pairs[6][1]), "bias not compared");
}

/* The ONNX importer decodes fp16 and bf16 initializers with
 * axl_format_decode; every code against the importer's former decoders
 * (fp16: _Float16 where the compiler has it, else ldexp; NaN -> the
 * canonical NaN with the sign kept) and a shift for bf16.  The importer
 * keeps a bf16 NaN's payload itself; here NaN codes only need to decode to
 * NaN of the same sign. */
static float old_half(uint16_t h)
{
    int e = (h >> 10) & 31, m = h & 1023;
    float v;
    if (e == 0)
        v = ldexpf((float)m, -24);
    else if (e == 31)
        v = m ? NAN : INFINITY;
    else
        v = ldexpf((float)(m | 1024), e - 25);
    return (h & 0x8000) ? -v : v;
}

Test(format_decode, fp16_bf16_every_code)
{
    struct axl_format f16 = fmt("fp16"), b16 = fmt("bf16");
    long bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        uint32_t got = axl_f32_bits(axl_format_decode(&f16, h));
        uint32_t want = axl_f32_bits(old_half((uint16_t)h));
#ifdef __FLT16_MAX__
        __extension__ _Float16 x;
        uint16_t hh = (uint16_t)h;
        memcpy(&x, &hh, sizeof x);
        if (!isnan((float)x) && axl_f32_bits((float)x) != want)
            want = ~got; /* the two references disagree: report it */
#endif
        if (got != want && bad++ < 10)
            cr_log_error("fp16 0x%04x: 0x%08x, want 0x%08x", h, got, want);
        float b = axl_format_decode(&b16, h);
        uint32_t shift = h << 16;
        int ok = isnan(axl_f32_from_bits(shift))
                     ? isnan(b) && (axl_f32_bits(b) >> 31) == (shift >> 31)
                     : axl_f32_bits(b) == shift;
        if (!ok && bad++ < 10)
            cr_log_error("bf16 0x%04x: 0x%08x, want 0x%08x", h, axl_f32_bits(b), shift);
    }
    cr_expect_eq(bad, 0, "%ld 16-bit decode mismatches", bad);
}

/* Each format enum has one name table; names round-trip and unknown names
 * are refused. */
Test(format_names, round_trip)
{
    for (int k = AXL_KIND_FLOAT; k <= AXL_KIND_UINT; k++) {
        enum axl_format_kind got;
        cr_expect_eq(axl_format_kind_parse(axl_format_kind_name((enum axl_format_kind)k), &got),
                     AXL_OK);
        cr_expect_eq((int)got, k);
    }
    for (int s = AXL_SPECIAL_IEEE; s <= AXL_SPECIAL_FINITE; s++) {
        enum axl_special got;
        cr_expect_eq(axl_special_parse(axl_special_name((enum axl_special)s), &got), AXL_OK);
        cr_expect_eq((int)got, s);
    }
    for (int o = AXL_OVERFLOW_SATURATE; o <= AXL_OVERFLOW_SPECIAL; o++) {
        enum axl_overflow got;
        cr_expect_eq(axl_overflow_parse(axl_overflow_name((enum axl_overflow)o), &got), AXL_OK);
        cr_expect_eq((int)got, o);
    }
    cr_expect_str_eq(axl_format_kind_name(AXL_KIND_UINT), "uint");
    cr_expect_str_eq(axl_special_name(AXL_SPECIAL_FINITE), "finite");
    cr_expect_str_eq(axl_overflow_name(AXL_OVERFLOW_SATURATE), "saturate");
    cr_expect_str_eq(axl_special_name((enum axl_special)9), "?");
    enum axl_special sp;
    enum axl_format_kind kd;
    enum axl_overflow ov;
    cr_expect_eq(axl_special_parse("fin", &sp), AXL_ERR_INVALID);
    cr_expect_eq(axl_format_kind_parse(NULL, &kd), AXL_ERR_INVALID);
    cr_expect_eq(axl_overflow_parse("nonsat", &ov), AXL_ERR_INVALID);
}
