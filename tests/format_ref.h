/* A slow, independent reference for the number formats of axlut.
 *
 * include/axlut/format.h converts with integer bit manipulation; this file
 * takes the other road, so that the two can prove each other:
 *   - decode builds the value in double precision with ldexp;
 *   - encode binary-searches the format's finite magnitude codes, compares
 *     the input against their values as doubles, and picks a neighbour by
 *     the rounding rule; then it applies the overflow policy, flush to zero
 *     (nosub) and the zero rules of the family.
 * Every value of an accepted format and every float32 fit in a double with
 * room to spare, so all comparisons here are exact.
 *
 * Semantics taken from format.h (and written here as the specification the
 * tests hold the library to):
 *   - nearest-even: ties go to the even code; toward zero; up; down;
 *     stochastic: up when the draw rnd < floor(frac * 2^32), frac being the
 *     position of the input between the two neighbouring codes.
 *   - rounding is done as if the exponent were unbounded above: the code
 *     after the largest finite one stands for max + ulp(max).  A result that
 *     lands there overflows: saturate (or FINITE) gives max finite, IEEE
 *     gives inf, FN and FNUZ non-saturating give NaN.
 *   - nosub: rounding is done with subnormals, and a result that is a
 *     subnormal becomes zero of the same sign; subnormal codes decode to zero.
 *   - FNUZ has a single, unsigned zero; its NaN is the code 1000..0.
 *   - NaN input gives the canonical NaN (FINITE: +max finite); inf input
 *     gives inf (IEEE), NaN (FN/FNUZ non-saturating) or +-max finite.
 *   - sticky (axl_format_pack): a positive remainder smaller than any ulp
 *     in play, i.e. the value is sig*2^k + epsilon.
 */
#ifndef AXL_TESTS_FORMAT_REF_H
#define AXL_TESTS_FORMAT_REF_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "axlut/format.h"

static inline unsigned ref_em(const struct axl_format *f) { return (unsigned)f->ebits + f->mbits; }

/* Value of a magnitude code, subnormals always kept, as if the exponent
 * field could grow past its width (so code max+1 is max + ulp(max)). */
static inline double ref_mag_value(const struct axl_format *f, uint64_t mag)
{
    uint64_t one = (uint64_t)1 << f->mbits;
    uint64_t te = mag / one;
    uint64_t frac = mag % one;
    if (te == 0)
        return ldexp((double)frac, 1 - f->bias - f->mbits);
    return ldexp((double)(one + frac), (int)te - f->bias - f->mbits);
}

static inline int ref_is_nan(const struct axl_format *f, uint32_t code)
{
    if (f->kind != AXL_KIND_FLOAT)
        return 0;
    uint64_t one = (uint64_t)1 << f->mbits;
    uint64_t all_e = ((uint64_t)1 << f->ebits) - 1;
    uint64_t mag = code % ((uint64_t)1 << ref_em(f));
    uint64_t te = mag / one, frac = mag % one;
    switch (f->special) {
    case AXL_SPECIAL_IEEE:
        return te == all_e && frac != 0;
    case AXL_SPECIAL_FN:
        return te == all_e && frac == one - 1;
    case AXL_SPECIAL_FNUZ:
        return code == ((uint64_t)1 << ref_em(f));
    default:
        return 0;
    }
}

static inline int ref_is_inf(const struct axl_format *f, uint32_t code)
{
    if (f->kind != AXL_KIND_FLOAT || f->special != AXL_SPECIAL_IEEE)
        return 0;
    uint64_t mag = code % ((uint64_t)1 << ref_em(f));
    return mag == (((uint64_t)1 << f->ebits) - 1) << f->mbits;
}

static inline uint32_t ref_inf_code(const struct axl_format *f)
{
    return (uint32_t)((((uint64_t)1 << f->ebits) - 1) << f->mbits);
}

/* Largest finite magnitude code, by family: IEEE gives up the top
 * exponent, FN only the all-ones code, FNUZ and FINITE nothing (FNUZ's NaN
 * has the sign bit).  The tests check this against a walk over the codes. */
static inline uint32_t ref_max_mag(const struct axl_format *f)
{
    uint64_t all = ((uint64_t)1 << ref_em(f)) - 1;
    switch (f->special) {
    case AXL_SPECIAL_IEEE:
        return (uint32_t)(ref_inf_code(f) - 1);
    case AXL_SPECIAL_FN:
        return (uint32_t)(all - 1);
    default:
        return (uint32_t)all;
    }
}

/* Canonical NaN: positive, quiet (top mantissa bit) for IEEE; FINITE
 * formats have none and give +max finite. */
static inline uint32_t ref_nan_code(const struct axl_format *f)
{
    switch (f->special) {
    case AXL_SPECIAL_IEEE:
        return ref_inf_code(f) | (uint32_t)((uint64_t)1 << (f->mbits - 1));
    case AXL_SPECIAL_FNUZ:
        return (uint32_t)((uint64_t)1 << ref_em(f));
    default:
        return (uint32_t)(((uint64_t)1 << ref_em(f)) - 1);
    }
}

/* Decode to double: NaN, +-inf, or the exact value. */
static inline double ref_decode(const struct axl_format *f, uint32_t code)
{
    if (f->kind == AXL_KIND_UINT)
        return (double)code;
    if (f->kind == AXL_KIND_INT) {
        double half = ldexp(1.0, f->bits - 1);
        return (double)code >= half ? (double)code - 2 * half : (double)code;
    }
    if (ref_is_nan(f, code))
        return NAN;
    uint64_t mask = ((uint64_t)1 << ref_em(f)) - 1;
    uint64_t mag = code & mask;
    int neg = (code >> ref_em(f)) & 1u;
    double v;
    if (ref_is_inf(f, code))
        v = INFINITY;
    else if (!f->subnormals && mag < ((uint64_t)1 << f->mbits))
        v = 0.0;
    else
        v = ref_mag_value(f, mag);
    /* FNUZ has no -0 */
    if (v == 0.0 && f->special == AXL_SPECIAL_FNUZ)
        return 0.0;
    return neg ? -v : v;
}

/* Values of the magnitude codes 0 .. max+1 (the last one past max finite),
 * to search in a table instead of calling ldexp; caller frees. */
static inline double *ref_value_table(const struct axl_format *f)
{
    uint64_t n = (uint64_t)ref_max_mag(f) + 2;
    double *v = (double *)malloc(n * sizeof *v);
    for (uint64_t c = 0; v && c < n; c++)
        v[c] = ref_mag_value(f, c);
    return v;
}

static inline double ref_val(const struct axl_format *f, const double *table, uint64_t c)
{
    return table ? table[c] : ref_mag_value(f, c);
}

/* Round (-1)^neg * (a + epsilon*sticky), a >= 0 finite, to a code.  table:
 * ref_value_table(f) or NULL. */
static inline uint32_t ref_round_t(const struct axl_format *f, const double *table, int neg, double a,
                                   int sticky, enum axl_round mode, uint32_t rnd)
{
    uint32_t maxmag = ref_max_mag(f);
    /* largest magnitude code whose value is <= a: it lies in
     * [base, base + len), which halves each step (no branch to mispredict) */
    uint64_t base = 0, len = (uint64_t)maxmag + 1;
    while (len > 1) {
        uint64_t half = len / 2;
        base = ref_val(f, table, base + half) <= a ? base + half : base;
        len -= half;
    }
    uint64_t c = base, r;
    double vc = ref_val(f, table, c);
    if (vc == a && !sticky) {
        r = c;
    } else {
        double vn = ref_val(f, table, c + 1); /* may be the "overflow" code */
        int up;
        switch (mode) {
        case AXL_ROUND_NEAREST_EVEN: {
            double midv = (vc + vn) / 2;
            if (a > midv || (a == midv && sticky))
                up = 1;
            else if (a < midv)
                up = 0;
            else
                up = (c % 2) == 1; /* tie: to the even code (m = 0: even exponent) */
            break;
        }
        case AXL_ROUND_TOWARD_ZERO:
            up = 0;
            break;
        case AXL_ROUND_UP:
            up = !neg;
            break;
        case AXL_ROUND_DOWN:
            up = neg;
            break;
        default: {
            double frac = (a - vc) / (vn - vc);
            if (frac >= 1)
                up = 1;
            else
                up = (double)rnd < floor(frac * 4294967296.0);
            break;
        }
        }
        r = c + (uint64_t)up;
    }
    if (r > maxmag) {
        if (f->overflow == AXL_OVERFLOW_SATURATE || f->special == AXL_SPECIAL_FINITE)
            r = maxmag;
        else if (f->special == AXL_SPECIAL_IEEE)
            r = ref_inf_code(f);
        else
            return ref_nan_code(f);
    }
    if (!f->subnormals && r < ((uint64_t)1 << f->mbits))
        r = 0;
    if (r == 0 && f->special == AXL_SPECIAL_FNUZ)
        return 0;
    return (uint32_t)(((uint64_t)(neg ? 1 : 0) << ref_em(f)) | r);
}

static inline uint32_t ref_round(const struct axl_format *f, int neg, double a, int sticky,
                                 enum axl_round mode, uint32_t rnd)
{
    return ref_round_t(f, NULL, neg, a, sticky, mode, rnd);
}

/* Integer formats: round to an integer by mode, saturate, NaN -> 0. */
static inline uint32_t ref_int_encode(const struct axl_format *f, double x, enum axl_round mode,
                                      uint32_t rnd)
{
    if (isnan(x))
        return 0;
    double lo = f->kind == AXL_KIND_INT ? -ldexp(1.0, f->bits - 1) : 0.0;
    double hi = f->kind == AXL_KIND_INT ? ldexp(1.0, f->bits - 1) - 1 : ldexp(1.0, f->bits) - 1;
    double v;
    if (isinf(x)) {
        v = x;
    } else {
        double fl = floor(x), frac = x - fl;
        int up;
        if (frac == 0) {
            up = 0;
        } else {
            switch (mode) {
            case AXL_ROUND_NEAREST_EVEN:
                up = frac > 0.5 || (frac == 0.5 && fmod(fl, 2.0) != 0);
                break;
            case AXL_ROUND_TOWARD_ZERO:
                up = x < 0;
                break;
            case AXL_ROUND_UP:
                up = 1;
                break;
            case AXL_ROUND_DOWN:
                up = 0;
                break;
            default: {
                /* stochastic: away from zero with probability of the
                 * distance from the integer toward zero */
                double away = x < 0 ? 1 - frac : frac;
                int go_away = (double)rnd < floor(away * 4294967296.0);
                up = x < 0 ? !go_away : go_away;
                break;
            }
            }
        }
        v = fl + up;
    }
    if (v < lo)
        v = lo;
    if (v > hi)
        v = hi;
    double m = ldexp(1.0, f->bits);
    return (uint32_t)(v < 0 ? v + m : v);
}

/* Encode a float32 to a code.  table: ref_value_table(f) or NULL. */
static inline uint32_t ref_encode_t(const struct axl_format *f, const double *table, float x,
                                    enum axl_round mode, uint32_t rnd)
{
    if (f->kind != AXL_KIND_FLOAT)
        return ref_int_encode(f, (double)x, mode, rnd);
    if (isnan(x))
        return ref_nan_code(f);
    int neg = signbit(x) != 0;
    if (isinf(x)) {
        uint32_t s = (uint32_t)neg << ref_em(f);
        if (f->special == AXL_SPECIAL_IEEE)
            return s | ref_inf_code(f);
        if (f->special != AXL_SPECIAL_FINITE && f->overflow == AXL_OVERFLOW_SPECIAL)
            return ref_nan_code(f);
        return s | ref_max_mag(f);
    }
    return ref_round_t(f, table, neg, fabs((double)x), 0, mode, rnd);
}

static inline uint32_t ref_encode(const struct axl_format *f, float x, enum axl_round mode, uint32_t rnd)
{
    return ref_encode_t(f, NULL, x, mode, rnd);
}

#endif
