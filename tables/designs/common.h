/* Shared pieces of the built-in designs: bit masks, sign-magnitude wrapping
 * of unsigned integer cores, and unpacking of floating codes into
 * (sign, significand, exponent) for the generic floating designs.
 *
 * Everything here is AXL_HD: the table generator, the CPU kernels and the
 * CUDA kernels call these one definitions.  No globals, no libc, no
 * recursion, no function pointers, no double.
 */
#ifndef AXLUT_TABLES_DESIGNS_COMMON_H
#define AXLUT_TABLES_DESIGNS_COMMON_H

#include <stdint.h>

#include "axlut/design.h"
#include "axlut/format.h"
#include "axlut/hd.h"

/* Low n bits set, 0 <= n <= 64. */
AXL_HD uint64_t axl_mask64(int n) { return n >= 64 ? ~0ull : (n <= 0 ? 0ull : axl_pow2_64(n) - 1u); }

/* Low n bits set, 0 <= n <= 32. */
AXL_HD uint32_t axl_mask32(int n) { return n >= 32 ? 0xFFFFFFFFu : (n <= 0 ? 0u : (1u << n) - 1u); }

/* Integer operand code -> sign and magnitude.  An intN code's magnitude is
 * at most 2^(N-1), so it fits the same N-bit unsigned core that uintN
 * uses. */
AXL_HD uint64_t axl_int_mag(const struct axl_format *f, uint32_t code, uint32_t *sign)
{
    code &= axl_mask32(f->bits);
    if (f->kind != AXL_KIND_INT) {
        *sign = 0;
        return code;
    }
    *sign = (code >> (f->bits - 1)) & 1u;
    /* 2^N - code; the most negative code gives 2^(N-1), as it should */
    return *sign ? (uint64_t)((~code + 1u) & axl_mask32(f->bits)) : code;
}

/* Sign and magnitude -> code of the integer result format r (two's
 * complement for intN, the low bits for uintN). */
AXL_HD uint32_t axl_int_pack(const struct axl_format *r, uint32_t sign, uint64_t mag)
{
    uint64_t v = sign ? (~mag + 1u) : mag;
    return (uint32_t)(v & axl_mask64(r->bits));
}

/* Classes of an unpacked floating operand. */
enum { AXL_FC_ZERO = 0, AXL_FC_FINITE = 1, AXL_FC_INF = 2, AXL_FC_NAN = 3 };

/* A floating operand as value = (-1)^sign * sig * 2^k.  For a normal, sig
 * has the hidden bit (bit m) set; a subnormal keeps its leading zeros (the
 * hardware does not normalise it before the significand core); a subnormal
 * of a format that flushes them is a zero, as decode says. */
struct axl_unpacked {
    uint32_t cls, sign;
    uint32_t sig;
    int k;
};

AXL_HD struct axl_unpacked axl_float_unpack(const struct axl_format *f, uint32_t code)
{
    struct axl_unpacked u;
    const uint32_t m = f->mbits;
    const uint32_t em = (uint32_t)f->ebits + m;
    uint32_t mag = code & axl_mask32((int)em);
    uint32_t te = mag >> m;
    uint32_t frac = mag & axl_mask32((int)m);
    u.sign = (code >> em) & 1u;
    u.sig = 0;
    u.k = 0;
    if (axl_format_is_nan(f, code)) {
        u.cls = AXL_FC_NAN;
    } else if (axl_format_is_inf(f, code)) {
        u.cls = AXL_FC_INF;
    } else if (mag == 0 || (te == 0 && !f->subnormals)) {
        u.cls = AXL_FC_ZERO;
    } else {
        u.cls = AXL_FC_FINITE;
        u.sig = te ? (frac | (1u << m)) : frac;
        u.k = (int)(te ? te : 1u) - f->bias - (int)m;
    }
    return u;
}

/* Special results of a floating design, in the result format: NaN, and
 * infinity of a sign (an IEEE infinity; otherwise what float32 encode makes
 * of an infinity in that format). */
AXL_HD uint32_t axl_float_nan(const struct axl_format *r) { return axl_format_nan_code(r); }

AXL_HD uint32_t axl_float_inf(const struct axl_format *r, uint32_t sign)
{
    return axl_format_encode(r, axl_f32_from_bits(0x7F800000u | (sign << 31)), AXL_ROUND_NEAREST_EVEN, 0);
}

/* The uniform draw for stochastic rounding inside a design: a hash of the
 * two operand codes, so that a design stays a pure function of (a, b) and
 * a table can hold it. */
AXL_HD uint32_t axl_design_rnd(uint32_t a, uint32_t b)
{
    return axl_rand32(0x61786C75ull, ((uint64_t)a << 32) | b);
}

#endif
