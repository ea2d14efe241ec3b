/* Number formats: descriptors, encode (float32 -> code) and decode
 * (code -> float32).
 *
 * A floating format eXmY has a sign bit, X exponent bits and Y mantissa
 * bits, laid out like IEEE 754 with the sign on top:
 *
 *     bit  X+Y   X+Y-1 ........ Y   Y-1 ......... 0
 *         +----+--------------------+---------------+
 *         |  s |  biased exponent e |  mantissa f   |
 *         +----+--------------------+---------------+
 *
 *   e == 0         : subnormal, (-1)^s * 0.f * 2^(1 - bias)
 *   0 < e          : normal,    (-1)^s * 1.f * 2^(e - bias)
 *
 * and special values by family:
 *   IEEE   e == all ones is inf (f == 0) or NaN (f != 0)        (fp16, e5m2)
 *   FN     finite; NaN only where e and f are all ones           (OCP e4m3)
 *   FNUZ   finite, one unsigned zero; NaN is the "-0" code 1000..0 (e4m3fnuz)
 *   FINITE every code is a finite number, no inf, no NaN         (OCP FP6/FP4)
 *
 * Integer formats intN (two's complement) and uintN keep their code in the
 * low N bits of a uint32_t.  Codes of every format are at most 32 bits, and
 * every value of every accepted format is exactly a float32 (the parser
 * refuses an explicit bias that would leave float32's range).
 *
 * Encode and decode are AXL_HD functions: the table generator, the CPU
 * kernels and the CUDA kernels call this one definition.  They work on bits
 * only (no floating-point operations), so results do not depend on the
 * compiler's or the GPU's flush-to-zero settings.
 */
#ifndef AXLUT_FORMAT_H
#define AXLUT_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "hd.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Values are stored in table files: only grow at the end. */
enum axl_format_kind { AXL_KIND_FLOAT = 0, AXL_KIND_INT = 1, AXL_KIND_UINT = 2 };

enum axl_special {
    AXL_SPECIAL_IEEE = 0,
    AXL_SPECIAL_FN = 1,
    AXL_SPECIAL_FNUZ = 2,
    AXL_SPECIAL_FINITE = 3,
};

enum axl_round {
    AXL_ROUND_NEAREST_EVEN = 0,
    AXL_ROUND_TOWARD_ZERO = 1,
    AXL_ROUND_UP = 2,   /* toward +inf */
    AXL_ROUND_DOWN = 3, /* toward -inf */
    AXL_ROUND_STOCHASTIC = 4,
};

enum axl_overflow {
    AXL_OVERFLOW_SATURATE = 0, /* to the largest finite value */
    AXL_OVERFLOW_SPECIAL = 1,  /* to inf (IEEE) or NaN (FN, FNUZ) */
};

#define AXL_FORMAT_NAME_LEN 32

/* A format descriptor: a plain value, cheap to copy to a GPU. */
struct axl_format {
    uint8_t kind;       /* enum axl_format_kind */
    uint8_t bits;       /* total code width, 1..32 */
    uint8_t ebits;      /* floating: exponent bits, 1..8 */
    uint8_t mbits;      /* floating: mantissa bits, 0..23 */
    uint8_t special;    /* enum axl_special */
    uint8_t subnormals; /* 1: subnormals kept; 0: flushed to zero */
    uint8_t overflow;   /* enum axl_overflow */
    uint8_t pad_;
    int32_t bias;       /* floating: exponent bias */
    char name[AXL_FORMAT_NAME_LEN]; /* canonical name */
};

/* Parse a format name: a named format (fp32, bf16, e4m3, int8, ...) or
 *   e<X>m<Y>[b<bias>][fn|fnuz|fin][nosub][sat|nonsat]
 *   int<N> | uint<N>        (2 <= N <= 16)
 * On error returns AXL_ERR_INVALID and writes one line saying which part of
 * the name is wrong and what is allowed to msg (AXL_MSG_LEN bytes, may be
 * NULL). */
enum axl_status axl_format_parse(const char *name, struct axl_format *out, char *msg);

/* An accumulator format of an integer layer: int<N> with 2 <= N <= 32 (the
 * register an integer MAC accumulates in is wider than any operand, so this
 * is the one place past 16 bits).  Anything else, uintN or floating
 * included, is AXL_ERR_INVALID with one line saying what is allowed. */
enum axl_status axl_format_parse_int_acc(const char *name, struct axl_format *out, char *msg);

/* 1 when x and y define the same arithmetic: kind, bits, ebits, mbits,
 * special, subnormals, overflow and bias all equal (the name is not
 * compared).  Integer descriptors made by axl_format_parse have zero in the
 * floating-only fields, so two of them are equal when kind and width are. */
int axl_format_equal(const struct axl_format *x, const struct axl_format *y);

/* Named formats, for listing. */
size_t axl_format_named_count(void);
const char *axl_format_named(size_t i);
/* One-line note on a named format's origin (static string). */
const char *axl_format_named_note(size_t i);

/* Derived properties (host only, for listing and metrics). */
float axl_format_max_finite(const struct axl_format *f);
float axl_format_min_normal(const struct axl_format *f);
float axl_format_min_subnormal(const struct axl_format *f); /* 0 when none */
float axl_format_epsilon(const struct axl_format *f);       /* 2^-m; 1 for ints */

/* Name of a rounding mode ("nearest", "zero", "up", "down", "stochastic"),
 * and its parser (also accepts "rne", "rtz", "ru", "rd", "sr"). */
const char *axl_round_name(enum axl_round r);
enum axl_status axl_round_parse(const char *s, enum axl_round *out);

/* The names of the other format enums, as table files store them: kinds
 * "float", "int", "uint"; special-value families "ieee", "fn", "fnuz",
 * "finite"; overflow "saturate", "special".  A value out of range is named
 * "?"; the parsers return AXL_ERR_INVALID for an unknown name. */
AXL_ENUM_NAMES_DECL(axl_format_kind, axl_format_kind_name, axl_format_kind_parse);
AXL_ENUM_NAMES_DECL(axl_special, axl_special_name, axl_special_parse);
AXL_ENUM_NAMES_DECL(axl_overflow, axl_overflow_name, axl_overflow_parse);

/* Encode n float32 values into codes (element i under stochastic rounding
 * with axl_rand32(seed, i), as axlut quantize numbers its values), and
 * decode n codes; for callers that cannot use the inline functions below
 * (bindings of the shared library).  Never fail. */
void axl_format_encode_array(const struct axl_format *f, const float *x, size_t n,
                             enum axl_round r, uint64_t seed, uint32_t *codes);
void axl_format_decode_array(const struct axl_format *f, const uint32_t *codes, size_t n,
                             float *out);

/* --- the arithmetic, shared by host and device ------------------------- */

/* Largest finite magnitude code (sign bit clear). */
AXL_HD uint32_t axl_format_max_mag(const struct axl_format *f)
{
    uint32_t em = (uint32_t)(f->ebits + f->mbits);
    switch (f->special) {
    case AXL_SPECIAL_IEEE:
        return (((1u << f->ebits) - 1u) << f->mbits) - 1u;
    case AXL_SPECIAL_FN:
        return (1u << em) - 2u;
    default:
        return (1u << em) - 1u;
    }
}

/* The canonical NaN code, or for FINITE formats (which have none) the code
 * that NaN converts to: +max finite. */
AXL_HD uint32_t axl_format_nan_code(const struct axl_format *f)
{
    uint32_t em = (uint32_t)(f->ebits + f->mbits);
    switch (f->special) {
    case AXL_SPECIAL_IEEE:
        return (((1u << f->ebits) - 1u) << f->mbits) | (1u << (f->mbits - 1u));
    case AXL_SPECIAL_FN:
        return (1u << em) - 1u;
    case AXL_SPECIAL_FNUZ:
        return 1u << em;
    default:
        return (1u << em) - 1u;
    }
}

AXL_HD int axl_format_is_nan(const struct axl_format *f, uint32_t code)
{
    if (f->kind != AXL_KIND_FLOAT)
        return 0;
    uint32_t em = (uint32_t)(f->ebits + f->mbits);
    uint32_t mag = code & ((1u << em) - 1u);
    switch (f->special) {
    case AXL_SPECIAL_IEEE:
        return (mag >> f->mbits) == (1u << f->ebits) - 1u && (mag & ((1u << f->mbits) - 1u)) != 0;
    case AXL_SPECIAL_FN:
        return mag == (1u << em) - 1u;
    case AXL_SPECIAL_FNUZ:
        return code == (1u << em);
    default:
        return 0;
    }
}

AXL_HD int axl_format_is_inf(const struct axl_format *f, uint32_t code)
{
    if (f->kind != AXL_KIND_FLOAT || f->special != AXL_SPECIAL_IEEE)
        return 0;
    uint32_t em = (uint32_t)(f->ebits + f->mbits);
    return (code & ((1u << em) - 1u)) == ((1u << f->ebits) - 1u) << f->mbits;
}

/* Integer encode: round x to an integer by `round`, saturate to the range.
 * NaN gives 0. */
AXL_HD uint32_t axl_int_encode(const struct axl_format *f, float x, enum axl_round round, uint32_t rnd)
{
    uint32_t u = axl_f32_bits(x);
    uint32_t sign = u >> 31;
    uint32_t e = (u >> 23) & 0xFFu;
    uint32_t frac = u & 0x7FFFFFu;
    int32_t lo, hi;
    if (f->kind == AXL_KIND_INT) {
        hi = (int32_t)((1u << (f->bits - 1)) - 1u);
        lo = -hi - 1;
    } else {
        hi = (int32_t)((1u << f->bits) - 1u);
        lo = 0;
    }
    if (e == 0xFFu && frac != 0)
        return 0;
    int32_t v;
    if (e >= 127 + 24) { /* |x| >= 2^24: beyond every integer format */
        v = sign ? lo : hi;
    } else {
        uint32_t sig = e ? (frac | 0x800000u) : frac;
        int shift = 150 - (int)(e ? e : 1); /* value = sig * 2^-shift */
        uint32_t q, rem, half;
        int up = 0;
        if (shift <= 0) {
            q = sig << -shift;
            rem = 0;
            half = 1;
        } else if (shift >= 32) {
            q = 0;
            rem = sig; /* nonzero fraction below 1/2 */
            half = 0;
        } else {
            q = sig >> shift;
            rem = sig & ((1u << shift) - 1u);
            half = 1u << (shift - 1);
        }
        if (rem != 0) {
            switch (round) {
            case AXL_ROUND_NEAREST_EVEN:
                up = half != 0 && (rem > half || (rem == half && (q & 1u)));
                break;
            case AXL_ROUND_TOWARD_ZERO:
                up = 0;
                break;
            case AXL_ROUND_UP:
                up = !sign;
                break;
            case AXL_ROUND_DOWN:
                up = (int)sign;
                break;
            default: {
                /* the fraction scaled to 32 bits against a uniform draw
                 * (rem < 2^24, so rem << 32 cannot overflow) */
                uint32_t r32 = shift >= 64 ? 0u : (uint32_t)(((uint64_t)rem << 32) >> shift);
                up = rnd < r32;
                break;
            }
            }
        }
        q += (uint32_t)up;
        int64_t s = sign ? -(int64_t)q : (int64_t)q;
        v = s > hi ? hi : (s < lo ? lo : (int32_t)s);
    }
    return (uint32_t)v & (f->bits == 32 ? 0xFFFFFFFFu : ((1u << f->bits) - 1u));
}

/* Round and pack: the code nearest (by `round`) to
 *     (-1)^sign * (sig + t) * 2^k,   0 <= t < 1, t != 0 iff sticky
 * for a floating format, with its overflow, subnormal and zero rules.  The
 * sticky remainder t is taken as an infinitesimal: exact when sig keeps at
 * least one bit below the result's ulp (as adders do: guard, round, sticky),
 * and otherwise, also for sig == 0, it only breaks ties and moves directed
 * roundings off an exact value.  This
 * is the one rounding routine: float32 encode and every floating design
 * (multipliers, adders) end in it.  sig may use all bits of axl_sig_t (hd.h:
 * 64, or 32 in the bf16/fp16 batch forms).  `rnd` is the
 * uniform draw of stochastic rounding. */
AXL_HD uint32_t axl_format_pack(const struct axl_format *f, uint32_t sign, axl_sig_t sig, int k,
                                uint32_t sticky, enum axl_round round, uint32_t rnd)
{
    const uint32_t m = f->mbits;
    const uint32_t em = (uint32_t)f->ebits + m;
    const uint32_t sbit = sign << em;

    if (sig == 0) {
        /* only a sticky remainder: a value below every ulp of this k */
        if (!sticky)
            return f->special == AXL_SPECIAL_FNUZ ? 0u : sbit;
        /* the remainder alone: far below the smallest subnormal's ulp, so
         * that it counts as an infinitesimal whatever k is */
        sig = 1;
        k = 1 - f->bias - (int)m - 40;
    }
    int ue = axl_sig_msb(sig) + k;                  /* unbiased exponent */
    int te = ue + f->bias;                        /* biased exponent */
    int q = te >= 1 ? ue - (int)m : 1 - f->bias - (int)m; /* exponent of one ulp */
    int shift = q - k;                            /* bits of sig below the ulp */

    if (sticky && shift < 1) {
        /* make room below the ulp so the remainder stays below half of it;
         * sig has at most m+1 significant bits here, so this cannot spill */
        sig <<= 1 - shift;
        k -= 1 - shift;
        shift = 1;
    }
    axl_sig_t qi; /* ulps of 2^q; for normals it includes the hidden bit */
    if (shift <= 0) {
        qi = sig << -shift; /* exact */
    } else {
        axl_sig_t round_bit, below;
        uint32_t r32; /* the part below the ulp, scaled to 32 bits */
        if (shift > AXL_SIG_BITS) {
            qi = 0;
            round_bit = 0;
            below = 1;
            r32 = shift < AXL_SIG_BITS + 32 ? (uint32_t)(sig >> (shift - 32)) : 0u;
        } else {
            qi = shift == AXL_SIG_BITS ? 0 : sig >> shift;
            axl_sig_t rem = shift == AXL_SIG_BITS ? sig : sig & (axl_sig_pow2(shift) - 1u);
            round_bit = (rem >> (shift - 1)) & 1u;
            below = (rem & (axl_sig_pow2(shift - 1) - 1u)) != 0 || sticky;
            r32 = shift <= 32 ? (uint32_t)(rem << (32 - shift))
                              : (uint32_t)(rem >> ((shift - 32) & (AXL_SIG_BITS - 1)));
        }
        axl_sig_t up = 0;
        if (round_bit | below) {
            switch (round) {
            case AXL_ROUND_NEAREST_EVEN: {
                /* ties to the even code; with no mantissa bits a normal's
                 * code is its exponent (qi is always 1 there) */
                axl_sig_t odd = (m == 0 && te >= 1) ? (axl_sig_t)(te & 1) : (qi & 1u);
                up = round_bit & (below | odd);
                break;
            }
            case AXL_ROUND_TOWARD_ZERO:
                break;
            case AXL_ROUND_UP:
                up = !sign;
                break;
            case AXL_ROUND_DOWN:
                up = sign;
                break;
            default:
                up = rnd < r32;
                break;
            }
        }
        qi += up;
    }
    /* ((te - 1) << m) + qi is the code of a normal, and a carry out of the
     * mantissa moves into the exponent by itself; a subnormal that rounds up
     * to 2^m becomes the smallest normal the same way. */
    uint32_t maxmag = axl_format_max_mag(f);
    /* both tests always, combined bitwise (no select between two conditions,
     * which GCC 12 cannot vectorise in the designs' batch forms); mag64 of
     * an exponent past the top is never used */
    axl_sig_t mag64 = te >= 1 ? ((axl_sig_t)(te - 1) << m) + qi : qi;
    int overflow = (te > (int)(maxmag >> m)) | (mag64 > maxmag);
    uint32_t mag = (uint32_t)mag64;
    if (overflow) {
        int to_max = f->overflow == AXL_OVERFLOW_SATURATE || f->special == AXL_SPECIAL_FINITE ||
                     round == AXL_ROUND_TOWARD_ZERO || (round == AXL_ROUND_UP && sign) ||
                     (round == AXL_ROUND_DOWN && !sign);
        if (to_max)
            return sbit | maxmag;
        if (f->special == AXL_SPECIAL_IEEE)
            return sbit | (((1u << f->ebits) - 1u) << m);
        return axl_format_nan_code(f);
    }
    if (!f->subnormals && mag < (1u << m))
        mag = 0; /* flush to zero: the rounded result was subnormal */
    if (mag == 0 && f->special == AXL_SPECIAL_FNUZ)
        return 0;
    return sbit | mag;
}

/* Encode float32 -> code.  `rnd` is the uniform 32-bit draw used by
 * AXL_ROUND_STOCHASTIC (see axl_rand32) and ignored otherwise. */
AXL_HD uint32_t axl_format_encode(const struct axl_format *f, float x, enum axl_round round, uint32_t rnd)
{
    if (f->kind != AXL_KIND_FLOAT)
        return axl_int_encode(f, x, round, rnd);

    const uint32_t em = (uint32_t)f->ebits + f->mbits;
    uint32_t u = axl_f32_bits(x);
    uint32_t sign = u >> 31;
    uint32_t e = (u >> 23) & 0xFFu;
    uint32_t frac = u & 0x7FFFFFu;

    if (e == 0xFFu) {
        if (frac != 0)
            return axl_format_nan_code(f);
        if (f->special == AXL_SPECIAL_IEEE)
            return (sign << em) | (((1u << f->ebits) - 1u) << f->mbits);
        if (f->overflow == AXL_OVERFLOW_SPECIAL && f->special != AXL_SPECIAL_FINITE)
            return axl_format_nan_code(f);
        return (sign << em) | axl_format_max_mag(f);
    }
    /* x = sig * 2^k exactly */
    uint32_t sig = e ? (frac | 0x800000u) : frac;
    int k = (int)(e ? e : 1u) - 150;
    return axl_format_pack(f, sign, sig, k, 0, round, rnd);
}

/* Encode x * 2^shift with one rounding: the power-of-two scaling of block
 * formats and of scaled operands.  Floating formats take x = sig * 2^k
 * into axl_format_pack at k + shift, so no float32 rounding or underflow
 * of the product comes first; integer formats scale in float32, exact
 * while the product is a normal float32, and a product below 2^-100 is
 * taken as 2^-100 with its sign (far below half a unit: it rounds the same
 * way in every mode). */
AXL_HD uint32_t axl_format_encode_pow2(const struct axl_format *f, float x, int shift,
                                       enum axl_round round, uint32_t rnd)
{
    uint32_t u = axl_f32_bits(x);
    uint32_t sign = u >> 31, e = (u >> 23) & 0xFFu, frac = u & 0x7FFFFFu;
    if (e == 0xFFu || shift == 0)
        return axl_format_encode(f, x, round, rnd);
    if (f->kind == AXL_KIND_FLOAT) {
        uint32_t sig = e ? (frac | 0x800000u) : frac;
        int k = (int)(e ? e : 1u) - 150;
        return axl_format_pack(f, sign, sig, k + shift, 0, round, rnd);
    }
    if ((u & 0x7FFFFFFFu) == 0)
        return axl_format_encode(f, x, round, rnd);
    int ue = e ? (int)e - 127 : axl_msb32(frac) - 149;
    float v;
    if (ue + shift < -100)
        v = axl_f32_from_bits((sign << 31) | (27u << 23)); /* 2^-100 */
    else if (ue + shift > 127)
        v = axl_f32_from_bits((sign << 31) | (0xFEu << 23)); /* saturates every integer */
    else {
        /* x * 2^shift by its exponent field (a normal float32 here) */
        uint32_t sig = e ? (frac | 0x800000u) : frac;
        int p = axl_msb32(sig);
        v = axl_f32_from_bits((sign << 31) | ((uint32_t)(ue + shift + 127) << 23) |
                              ((sig << (23 - p)) & 0x7FFFFFu));
    }
    return axl_format_encode(f, v, round, rnd);
}

/* Decode code -> float32 (exact).  Integer codes decode to their value. */
AXL_HD float axl_format_decode(const struct axl_format *f, uint32_t code)
{
    if (f->kind == AXL_KIND_INT) {
        uint32_t sh = 32u - f->bits;
        return (float)((int32_t)(code << sh) >> sh);
    }
    if (f->kind == AXL_KIND_UINT)
        return (float)code;

    const uint32_t m = f->mbits;
    const uint32_t em = (uint32_t)f->ebits + m;
    uint32_t sign = (code >> em) & 1u;
    uint32_t mag = code & ((1u << em) - 1u);
    uint32_t te = mag >> m;
    uint32_t frac = mag & ((1u << m) - 1u);
    uint32_t sbits = sign << 31;

    if (axl_format_is_nan(f, code))
        return axl_f32_from_bits(0x7FC00000u | sbits);
    if (axl_format_is_inf(f, code))
        return axl_f32_from_bits(0x7F800000u | sbits);
    if (mag == 0 || (te == 0 && !f->subnormals)) /* FNUZ has no -0 */
        return axl_f32_from_bits(f->special == AXL_SPECIAL_FNUZ ? 0u : sbits);

    /* value = qi * 2^q with qi < 2^24 */
    uint32_t qi = te ? (frac | (1u << m)) : frac;
    int q = (int)(te ? te : 1u) - f->bias - (int)m;
    int p = axl_msb32(qi);
    int ue = p + q;
    uint32_t bits;
    if (ue >= -126)
        bits = ((uint32_t)(ue + 127) << 23) | ((qi << (23 - p)) & 0x7FFFFFu);
    else
        bits = qi << (q + 149);
    return axl_f32_from_bits(sbits | bits);
}

/* Stochastic-rounding encode of element `index` under `seed`. */
AXL_HD uint32_t axl_format_encode_sr(const struct axl_format *f, float x, uint64_t seed, uint64_t index)
{
    return axl_format_encode(f, x, AXL_ROUND_STOCHASTIC, axl_rand32(seed, index));
}

#ifdef __cplusplus
}
#endif

#endif
