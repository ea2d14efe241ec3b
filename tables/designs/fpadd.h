/* Generic floating adder around an integer adder core.
 *
 * Unpack, specials, align, integer core, one round-and-pack:
 *
 *  1. Both significands (hidden bit included; subnormals without it) are
 *     widened to m+1 bits, m = max(ma, mb), and given G = 3 guard bits:
 *     W = m + 4 bits.  The operand with the larger exponent (then the larger
 *     significand) is the big one.
 *  2. The small one is shifted right by the exponent difference; every bit
 *     shifted out is ORed into its lowest bit (a sticky bit jammed into the
 *     LSB, as a hardware aligner does).  With guard, round and jammed sticky
 *     bits the exact core rounds correctly in every mode.
 *  3. Effective addition: the W-bit core adds them (W+1-bit result).
 *     Effective subtraction: the hardware model is an adder fed with the
 *     two's complement of the small operand: the same core adds big and
 *     2^(W+1) - small over W+1 bits and the carry out is dropped.  If that
 *     result is negative (only an approximate core can make it so) the
 *     magnitude is complemented back and the sign flips.
 *  4. axl_format_pack normalises and rounds into the result format.
 *
 * A design parameter k of the core (approximate low bits) counts bits of
 * these W-bit aligned significands, guard bits included.
 * Specials are exact: NaN in gives NaN, inf + -inf is NaN, inf + x is inf;
 * an exact zero sum is +0 (-0 when rounding down), -0 + -0 is -0.
 */
#ifndef AXLUT_TABLES_DESIGNS_FPADD_H
#define AXLUT_TABLES_DESIGNS_FPADD_H

#include "designs/cores.h"

#define AXL_FPADD_GUARD 3

AXL_HD uint32_t axl_fpadd(const struct axl_design_ctx *c, uint32_t core, uint32_t a, uint32_t b)
{
    struct axl_unpacked x = axl_float_unpack(&c->fa, a);
    struct axl_unpacked y = axl_float_unpack(&c->fb, b);
    enum axl_round round = (enum axl_round)c->round;
    uint32_t rnd = round == AXL_ROUND_STOCHASTIC ? axl_design_rnd(a, b) : 0u;

    if (x.cls == AXL_FC_NAN || y.cls == AXL_FC_NAN)
        return axl_float_nan(&c->fr);
    if (x.cls == AXL_FC_INF || y.cls == AXL_FC_INF) {
        if (x.cls == AXL_FC_INF && y.cls == AXL_FC_INF && x.sign != y.sign)
            return axl_float_nan(&c->fr);
        return axl_float_inf(&c->fr, x.cls == AXL_FC_INF ? x.sign : y.sign);
    }
    if (x.cls == AXL_FC_ZERO && y.cls == AXL_FC_ZERO) {
        uint32_t s = x.sign == y.sign ? x.sign : (uint32_t)(round == AXL_ROUND_DOWN);
        return axl_format_pack(&c->fr, s, 0, 0, 0, round, rnd);
    }

    const int ma = c->fa.mbits, mb = c->fb.mbits;
    const int m = ma > mb ? ma : mb;
    const int W = m + 1 + AXL_FPADD_GUARD;
    axl_sig_t sx = (axl_sig_t)x.sig << (m - ma + AXL_FPADD_GUARD);
    axl_sig_t sy = (axl_sig_t)y.sig << (m - mb + AXL_FPADD_GUARD);
    int kx = x.k - (m - ma) - AXL_FPADD_GUARD;
    int ky = y.k - (m - mb) - AXL_FPADD_GUARD;
    /* a zero is the small operand and aligns to nothing */
    if (x.cls == AXL_FC_ZERO)
        kx = ky;
    if (y.cls == AXL_FC_ZERO)
        ky = kx;

    /* (kx, sx) >= (ky, sy) in lexicographic order, as one comparison of
     * the significands' width (a select between a 32-bit and a 64-bit
     * condition is what GCC 12 cannot vectorise in the batch forms,
     * tables/designs/batch.c): with 64-bit significands sx, sy < 2^27 and
     * |k| < 2^10; with 32-bit ones (bf16, fp16: AXL_SIG32) sx, sy < 2^15
     * and |k| < 2^9, so k * 2^16 + s fits an int32 */
#if AXL_SIG_BITS == 32
    int x_big = kx * 65536 + (int32_t)sx >= ky * 65536 + (int32_t)sy;
#else
    int x_big = (int64_t)kx * 4294967296 + (int64_t)sx >= (int64_t)ky * 4294967296 + (int64_t)sy;
#endif
    axl_sig_t big = x_big ? sx : sy, small = x_big ? sy : sx;
    int kbig = x_big ? kx : ky, ksmall = x_big ? ky : kx;
    uint32_t sign = x_big ? x.sign : y.sign;
    int sub = x.sign != y.sign;

    int d = kbig - ksmall;
    if (d > W + 1)
        small = small != 0;
    else if (d > 0)
        small = (small >> d) | (axl_sig_t)((small & axl_sig_mask(d)) != 0);

    axl_sig_t r;
    if (!sub) {
        r = axl_uadd_core(core, c->param, big, small, W);
    } else {
        const axl_sig_t mw = axl_sig_mask(W + 1);
        r = axl_uadd_core(core, c->param, big, ((~small) + 1u) & mw, W + 1) & mw;
        if (r >> W) {
            r = ((~r) + 1u) & mw;
            sign ^= 1u;
        }
        if (r == 0)
            sign = (uint32_t)(round == AXL_ROUND_DOWN);
    }
    return axl_format_pack(&c->fr, sign, r, kbig, 0, round, rnd);
}

#endif
