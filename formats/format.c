/* Format names: parsing, the named formats, derived properties.
 *
 * The arithmetic (encode, decode) is in include/axlut/format.h, shared with
 * the GPU; this file is host-only bookkeeping.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/block.h"
#include "axlut/format.h"

struct named_format {
    const char *name;
    const char *spec; /* parsed by the custom grammar */
    const char *note;
};

/* Named formats.  OCP FP8/FP6/FP4: "OCP 8-bit Floating Point Specification
 * (OFP8)" rev. 1.0 (2023) and "OCP Microscaling Formats (MX)" v1.0 (2023).
 * FNUZ: the variants of Graphcore/AMD (also in ONNX as float8e4m3fnuz).
 * DLFloat16: Agrawal et al., "DLFloat: A 16-b Floating Point Format Designed
 * for Deep Learning Training and Inference", ARITH 2019 (bias 31, no
 * subnormals). */
static const struct named_format k_named[] = {
    {"fp32", "e8m23", "IEEE 754 binary32"},
    {"tf32", "e8m10", "NVIDIA TensorFloat-32 (19 bits)"},
    {"bf16", "e8m7", "bfloat16"},
    {"fp16", "e5m10", "IEEE 754 binary16"},
    {"dlfloat16", "e6m9b31nosub", "IBM DLFloat16, no subnormals"},
    {"e4m3fn", "e4m3b7fn", "OCP FP8 E4M3: finite, NaN at S.1111.111"},
    {"e4m3", "e4m3b7fn", "= e4m3fn"},
    {"e5m2", "e5m2b15", "OCP FP8 E5M2: IEEE-like, inf and NaN"},
    {"e4m3fnuz", "e4m3b8fnuz", "FP8 E4M3 FNUZ: unsigned zero, NaN at 0x80"},
    {"e5m2fnuz", "e5m2b16fnuz", "FP8 E5M2 FNUZ: unsigned zero, NaN at 0x80"},
    {"e3m2", "e3m2b3fin", "OCP FP6 E3M2: finite only"},
    {"e2m3", "e2m3b1fin", "OCP FP6 E2M3: finite only"},
    {"e2m1", "e2m1b1fin", "OCP FP4 E2M1: finite only"},
    {"int4", "int4", "two's complement (int2..int16 all accepted)"},
    {"int8", "int8", "two's complement"},
    {"int16", "int16", "two's complement"},
    {"uint4", "uint4", "unsigned (uint2..uint16 all accepted)"},
    {"uint8", "uint8", "unsigned"},
    {"uint16", "uint16", "unsigned"},
};

#define N_NAMED (sizeof k_named / sizeof k_named[0])

static const char k_grammar[] =
    "a named format (axlut list formats), e<X>m<Y>[b<bias>][fn|fnuz|fin][nosub][sat|nonsat] "
    "with 1<=X<=8, 0<=Y<=23, or int<N>/uint<N> with 2<=N<=16";

size_t axl_format_named_count(void) { return N_NAMED; }
const char *axl_format_named(size_t i) { return i < N_NAMED ? k_named[i].name : NULL; }
const char *axl_format_named_note(size_t i) { return i < N_NAMED ? k_named[i].note : NULL; }

/* Reads a decimal number; returns the number of characters used (0: none). */
static int read_int(const char *s, long *v)
{
    int i = 0, neg = 0;
    if (s[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (!isdigit((unsigned char)s[i]))
        return 0;
    long x = 0;
    while (isdigit((unsigned char)s[i]) && x < 100000) {
        x = x * 10 + (s[i] - '0');
        i++;
    }
    if (isdigit((unsigned char)s[i]))
        return 0;
    *v = neg ? -x : x;
    return i;
}

static int starts(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

/* Modifiers after the family: [nosub][sat|nonsat]; returns 0 when the rest
 * of the string is not exactly that. */
static int parse_modifiers(const char *s, struct axl_format *f)
{
    if (starts(s, "nosub")) {
        f->subnormals = 0;
        s += 5;
    }
    if (starts(s, "nonsat")) {
        f->overflow = AXL_OVERFLOW_SPECIAL;
        s += 6;
    } else if (starts(s, "sat")) {
        f->overflow = AXL_OVERFLOW_SATURATE;
        s += 3;
    }
    return *s == '\0';
}

static enum axl_status parse_float_fields(const char *name, struct axl_format *f, char *msg);

int axl_format_equal(const struct axl_format *x, const struct axl_format *y)
{
    return x->kind == y->kind && x->bits == y->bits && x->ebits == y->ebits &&
           x->mbits == y->mbits && x->special == y->special && x->subnormals == y->subnormals &&
           x->overflow == y->overflow && x->bias == y->bias;
}

static void canonical_name(struct axl_format *f)
{
    if (f->kind != AXL_KIND_FLOAT) {
        snprintf(f->name, sizeof f->name, "%s%u", f->kind == AXL_KIND_INT ? "int" : "uint",
                 (unsigned)f->bits);
        return;
    }
    /* a named format with the same meaning keeps its name */
    for (size_t i = 0; i < N_NAMED; i++) {
        struct axl_format g;
        if (starts(k_named[i].spec, "int") || starts(k_named[i].spec, "uint"))
            continue;
        if (parse_float_fields(k_named[i].spec, &g, NULL) != AXL_OK)
            continue;
        if (axl_format_equal(&g, f)) {
            snprintf(f->name, sizeof f->name, "%s", k_named[i].name);
            return;
        }
    }
    static const char *fam[] = {"", "fn", "fnuz", "fin"};
    int def_bias = (1 << (f->ebits - 1)) - 1 + (f->special == AXL_SPECIAL_FNUZ);
    int def_over = f->special == AXL_SPECIAL_IEEE ? AXL_OVERFLOW_SPECIAL : AXL_OVERFLOW_SATURATE;
    char b[16] = "";
    if (f->bias != def_bias)
        snprintf(b, sizeof b, "b%d", (int)f->bias);
    /* at most "e8m23b-126fnuznosubnonsat", 25 characters; built in a
     * larger buffer so that gcc's truncation warning (-O1, sanitizers) has
     * nothing to say */
    char full[64];
    snprintf(full, sizeof full, "e%um%u%s%s%s%s", (unsigned)f->ebits, (unsigned)f->mbits, b,
             fam[f->special], f->subnormals ? "" : "nosub",
             f->overflow == def_over ? "" : (f->overflow == AXL_OVERFLOW_SATURATE ? "sat" : "nonsat"));
    snprintf(f->name, sizeof f->name, "%.31s", full);
}

/* Parses e<X>m<Y>...; does not set the name. */
static enum axl_status parse_float_fields(const char *name, struct axl_format *f, char *msg)
{
    const char *s = name + 1;
    long x, y, bias = 0;
    int n = read_int(s, &x);
    if (n == 0 || x < 0)
        return axl_msgf(msg, AXL_ERR_INVALID, "format '%s': expected exponent bits after 'e' (%s)",
                        name, k_grammar);
    if (x < 1 || x > 8)
        return axl_msgf(msg, AXL_ERR_INVALID,
                        "format '%s': %ld exponent bits is out of range, allowed 1..8", name, x);
    s += n;
    if (*s != 'm')
        return axl_msgf(msg, AXL_ERR_INVALID,
                        "format '%s': expected 'm<mantissa bits>' after the exponent (%s)", name,
                        k_grammar);
    s++;
    n = read_int(s, &y);
    if (n == 0 || y < 0)
        return axl_msgf(msg, AXL_ERR_INVALID, "format '%s': expected mantissa bits after 'm' (%s)",
                        name, k_grammar);
    if (y > 23)
        return axl_msgf(msg, AXL_ERR_INVALID,
                        "format '%s': %ld mantissa bits is out of range, allowed 0..23", name, y);
    s += n;
    int have_bias = 0;
    if (*s == 'b') {
        n = read_int(s + 1, &bias);
        if (n == 0)
            return axl_msgf(
                msg, AXL_ERR_INVALID,
                "format '%s': expected a number after 'b' (explicit bias, e.g. e5m4b12)", name);
        have_bias = 1;
        s += 1 + n;
    }
    memset(f, 0, sizeof *f);
    f->kind = AXL_KIND_FLOAT;
    f->ebits = (uint8_t)x;
    f->mbits = (uint8_t)y;
    f->bits = (uint8_t)(1 + x + y);
    f->subnormals = 1;
    /* the OCP shapes default to their OCP families; any other eXmY is IEEE */
    if (x == 4 && y == 3)
        f->special = AXL_SPECIAL_FN;
    else if ((x == 3 && y == 2) || (x == 2 && y == 3) || (x == 2 && y == 1))
        f->special = AXL_SPECIAL_FINITE;
    else
        f->special = AXL_SPECIAL_IEEE;
    if (starts(s, "fnuz")) {
        f->special = AXL_SPECIAL_FNUZ;
        s += 4;
    } else if (starts(s, "fn")) {
        f->special = AXL_SPECIAL_FN;
        s += 2;
    } else if (starts(s, "fin")) {
        f->special = AXL_SPECIAL_FINITE;
        s += 3;
    } else if (starts(s, "ieee")) {
        f->special = AXL_SPECIAL_IEEE;
        s += 4;
    }
    f->overflow = f->special == AXL_SPECIAL_IEEE ? AXL_OVERFLOW_SPECIAL : AXL_OVERFLOW_SATURATE;
    if (!parse_modifiers(s, f))
        return axl_msgf(msg, AXL_ERR_INVALID,
                        "format '%s': unknown suffix '%s'; allowed after e<X>m<Y>: b<bias>, then "
                        "fn|fnuz|fin|ieee, then nosub, then sat|nonsat",
                        name, s);
    if (f->special == AXL_SPECIAL_IEEE && y == 0)
        return axl_msgf(msg, AXL_ERR_INVALID,
                        "format '%s': IEEE special values need a mantissa bit (NaN), %s", name,
                        "add fn, fnuz or fin for a 0-bit mantissa");
    if (f->special == AXL_SPECIAL_FINITE && f->overflow == AXL_OVERFLOW_SPECIAL)
        return axl_msgf(
            msg, AXL_ERR_INVALID, "format '%s': %s", name,
            "a finite-only format has no inf or NaN to overflow to, it always saturates");
    long def_bias = (1L << (x - 1)) - 1 + (f->special == AXL_SPECIAL_FNUZ);
    if (!have_bias)
        bias = def_bias;
    /* every value must be a float32: largest exponent <= 127, smallest
     * subnormal >= 2^-149 */
    long te_max = f->special == AXL_SPECIAL_IEEE ? (1L << x) - 2 : (1L << x) - 1;
    long lo = te_max - 127, hi = 150 - y;
    if (bias < lo || bias > hi)
        return axl_msgf(msg, AXL_ERR_INVALID,
                        "format '%s': bias %ld leaves float32's range; allowed %ld..%ld", name,
                        bias, lo, hi);
    f->bias = (int32_t)bias;
    return AXL_OK;
}

static enum axl_status parse_float(const char *name, struct axl_format *f, char *msg)
{
    enum axl_status st = parse_float_fields(name, f, msg);
    if (st == AXL_OK)
        canonical_name(f);
    return st;
}

enum axl_status axl_format_parse(const char *name, struct axl_format *out, char *msg)
{
    if (!name || !out)
        return axl_msgf(msg, AXL_ERR_INVALID, "format '%s': %s", name ? name : "(null)",
                        "no format given");
    if (name[0] == '\0')
        return axl_msgf(msg, AXL_ERR_INVALID, "format '%s': empty name; use %s", name, k_grammar);

    /* a named format, optionally followed by [nosub][sat|nonsat] */
    size_t best = N_NAMED, best_len = 0;
    for (size_t i = 0; i < N_NAMED; i++) {
        size_t l = strlen(k_named[i].name);
        if (strncmp(name, k_named[i].name, l) == 0 && l > best_len) {
            best = i;
            best_len = l;
        }
    }
    if (best < N_NAMED && name[0] != 'e' && !starts(name, "int") && !starts(name, "uint")) {
        struct axl_format f;
        enum axl_status st = axl_format_parse(k_named[best].spec, &f, msg);
        if (st != AXL_OK)
            return st;
        if (!parse_modifiers(name + best_len, &f))
            return axl_msgf(msg, AXL_ERR_INVALID,
                            "format '%s': unknown suffix '%s'; allowed after a named format: "
                            "nosub, then sat|nonsat",
                            name, name + best_len);
        canonical_name(&f);
        *out = f;
        return AXL_OK;
    }

    if (name[0] == 'e' && isdigit((unsigned char)name[1]))
        return parse_float(name, out, msg);

    int is_uint = starts(name, "uint");
    if (is_uint || starts(name, "int")) {
        const char *s = name + (is_uint ? 4 : 3);
        long n;
        int used = read_int(s, &n);
        if (used == 0)
            return axl_msgf(msg, AXL_ERR_INVALID,
                            "format '%s': expected a width after '%s', e.g. int8", name,
                            is_uint ? "uint" : "int");
        if (s[used] != '\0')
            return axl_msgf(msg, AXL_ERR_INVALID,
                            "format '%s': unexpected '%s' after the width; integer formats take "
                            "no suffix",
                            name, s + used);
        if (n < 2 || n > 16)
            return axl_msgf(msg, AXL_ERR_INVALID,
                            "format '%s': %ld bits is out of range, allowed 2..16", name, n);
        memset(out, 0, sizeof *out);
        out->kind = is_uint ? AXL_KIND_UINT : AXL_KIND_INT;
        out->bits = (uint8_t)n;
        canonical_name(out);
        return AXL_OK;
    }
    struct axl_block_format bf;
    if (axl_block_format_parse(name, &bf, NULL) == AXL_OK)
        return axl_msgf(msg, AXL_ERR_INVALID,
                        "format '%s' is block-scaled (%u x %s sharing one scale), not a format "
                        "of single values; give its element format %s here", name,
                        (unsigned)bf.size, bf.elem.name, bf.elem.name);
    return axl_msgf(msg, AXL_ERR_INVALID, "unknown format '%s': use %s", name, k_grammar);
}

enum axl_status axl_format_parse_int_acc(const char *name, struct axl_format *out, char *msg)
{
    long n = 0;
    int used = name && starts(name, "int") ? read_int(name + 3, &n) : 0;
    if (!used || name[3 + used] != '\0' || n < 2 || n > 32)
        return axl_msgf(msg, AXL_ERR_INVALID, "accumulator format '%s' of an integer layer: use "
                        "a signed int<N>, 2 <= N <= 32 (e.g. int16, int32)", name ? name : "");
    memset(out, 0, sizeof *out);
    out->kind = AXL_KIND_INT;
    out->bits = (uint8_t)n;
    canonical_name(out);
    return AXL_OK;
}

float axl_format_max_finite(const struct axl_format *f)
{
    if (f->kind == AXL_KIND_INT)
        return (float)((1u << (f->bits - 1)) - 1u);
    if (f->kind == AXL_KIND_UINT)
        return (float)((1u << f->bits) - 1u);
    return axl_format_decode(f, axl_format_max_mag(f));
}

float axl_format_min_normal(const struct axl_format *f)
{
    if (f->kind != AXL_KIND_FLOAT)
        return 1.0f;
    return axl_format_decode(f, 1u << f->mbits);
}

float axl_format_min_subnormal(const struct axl_format *f)
{
    if (f->kind != AXL_KIND_FLOAT || !f->subnormals || f->mbits == 0)
        return 0.0f;
    return axl_format_decode(f, 1u);
}

float axl_format_epsilon(const struct axl_format *f)
{
    if (f->kind != AXL_KIND_FLOAT)
        return 1.0f;
    return axl_f32_from_bits((uint32_t)(127 - f->mbits) << 23);
}

static const char *k_round_names[] = {"nearest", "zero", "up", "down", "stochastic"};

const char *axl_round_name(enum axl_round r)
{
    return (unsigned)r < 5 ? k_round_names[r] : "?";
}

enum axl_status axl_round_parse(const char *s, enum axl_round *out)
{
    static const struct {
        const char *n;
        enum axl_round r;
    } alias[] = {
        {"nearest", AXL_ROUND_NEAREST_EVEN}, {"rne", AXL_ROUND_NEAREST_EVEN},
        {"nearest-even", AXL_ROUND_NEAREST_EVEN}, {"zero", AXL_ROUND_TOWARD_ZERO},
        {"rtz", AXL_ROUND_TOWARD_ZERO}, {"toward-zero", AXL_ROUND_TOWARD_ZERO},
        {"up", AXL_ROUND_UP}, {"ru", AXL_ROUND_UP}, {"down", AXL_ROUND_DOWN},
        {"rd", AXL_ROUND_DOWN}, {"stochastic", AXL_ROUND_STOCHASTIC}, {"sr", AXL_ROUND_STOCHASTIC},
    };
    for (size_t i = 0; s && i < sizeof alias / sizeof alias[0]; i++) {
        if (strcmp(s, alias[i].n) == 0) {
            *out = alias[i].r;
            return AXL_OK;
        }
    }
    return AXL_ERR_INVALID;
}

static const char *const k_kind_names[] = {"float", "int", "uint"};
static const char *const k_special_names[] = {"ieee", "fn", "fnuz", "finite"};
static const char *const k_overflow_names[] = {"saturate", "special"};
AXL_ENUM_NAMES_DEFINE(axl_format_kind, axl_format_kind_name, axl_format_kind_parse, k_kind_names)
AXL_ENUM_NAMES_DEFINE(axl_special, axl_special_name, axl_special_parse, k_special_names)
AXL_ENUM_NAMES_DEFINE(axl_overflow, axl_overflow_name, axl_overflow_parse, k_overflow_names)

/* The element index, not the thread, picks the random bits of stochastic
 * rounding, so the codes do not depend on the number of threads. */
void axl_format_encode_array(const struct axl_format *f, const float *x, size_t n,
                             enum axl_round r, uint64_t seed, uint32_t *codes)
{
    int64_t len = (int64_t)n;
#pragma omp parallel for schedule(static) if (len > 65536)
    for (int64_t i = 0; i < len; i++)
        codes[i] = axl_format_encode(f, x[i], r, axl_rand32(seed, (uint64_t)i));
}

void axl_format_decode_array(const struct axl_format *f, const uint32_t *codes, size_t n,
                             float *out)
{
    int64_t len = (int64_t)n;
#pragma omp parallel for schedule(static) if (len > 65536)
    for (int64_t i = 0; i < len; i++)
        out[i] = axl_format_decode(f, codes[i]);
}
