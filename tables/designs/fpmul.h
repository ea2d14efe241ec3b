/* Generic floating multiplier around an integer significand core.
 *
 * The shape of every floating multiplier (as in Berkeley SoftFloat): unpack,
 * specials, integer core, one round-and-pack.  Sign XOR and exponent
 * addition are exact; the two (m+1)-bit significands (hidden bit included,
 * subnormals without it, not normalised first) go through the unsigned
 * multiplier core over uint(m+1); the up-to-(2m+2)-bit product is
 * normalised and rounded into the result format by axl_format_pack with
 * the context's rounding mode.  With the exact core this is the correctly
 * rounded product.  Specials are exact: NaN in gives NaN, inf x 0 is NaN,
 * inf x finite is a signed inf, zeros keep the XOR of the signs.  When the
 * operand formats have different mantissa widths, the narrower significand
 * is widened (shifted left, exact) to m = max(ma, mb).
 */
#ifndef AXLUT_TABLES_DESIGNS_FPMUL_H
#define AXLUT_TABLES_DESIGNS_FPMUL_H

#include "designs/cores.h"

/* A floating multiply up to its significand product: either the result is
 * decided by the operands' classes (special = 1, result set: NaN, inf,
 * zero), or the two significands sx, sy of m+1 bits go to the core and
 * axl_fpmul_join rounds their product.  Split this way so that the
 * emulator's mantissa-table path runs exactly this code around a table
 * lookup instead of the core. */
struct axl_fpmul_parts {
    uint32_t special, result, sign;
    axl_sig_t sx, sy;
    int k, m;
};

AXL_HD struct axl_fpmul_parts axl_fpmul_split(const struct axl_design_ctx *c, uint32_t a, uint32_t b)
{
    struct axl_fpmul_parts r;
    struct axl_unpacked x = axl_float_unpack(&c->fa, a);
    struct axl_unpacked y = axl_float_unpack(&c->fb, b);
    r.sign = x.sign ^ y.sign;
    r.special = 1;
    r.result = 0;
    r.sx = r.sy = 0;
    r.k = 0;
    int ma = c->fa.mbits, mb = c->fb.mbits;
    r.m = ma > mb ? ma : mb;
    if (x.cls == AXL_FC_NAN || y.cls == AXL_FC_NAN) {
        r.result = axl_float_nan(&c->fr);
    } else if (x.cls == AXL_FC_INF || y.cls == AXL_FC_INF) {
        if (x.cls == AXL_FC_ZERO || y.cls == AXL_FC_ZERO)
            r.result = axl_float_nan(&c->fr);
        else
            r.result = axl_float_inf(&c->fr, r.sign);
    } else if (x.cls == AXL_FC_ZERO || y.cls == AXL_FC_ZERO) {
        r.special = 2; /* a signed zero, packed by join */
    } else {
        r.special = 0;
        r.sx = (axl_sig_t)x.sig << (r.m - ma);
        r.sy = (axl_sig_t)y.sig << (r.m - mb);
        r.k = x.k - (r.m - ma) + y.k - (r.m - mb);
    }
    return r;
}

/* Round the significand product p of split's parts into c->fr. */
AXL_HD uint32_t axl_fpmul_join(const struct axl_design_ctx *c, const struct axl_fpmul_parts *r,
                               axl_sig_t p, uint32_t a, uint32_t b)
{
    enum axl_round round = (enum axl_round)c->round;
    uint32_t rnd = round == AXL_ROUND_STOCHASTIC ? axl_design_rnd(a, b) : 0u;
    if (r->special == 1)
        return r->result;
    if (r->special == 2)
        return axl_format_pack(&c->fr, r->sign, 0, 0, 0, round, rnd);
    return axl_format_pack(&c->fr, r->sign, p, r->k, 0, round, rnd);
}

AXL_HD uint32_t axl_fpmul(const struct axl_design_ctx *c, uint32_t core, uint32_t a, uint32_t b)
{
    struct axl_fpmul_parts r = axl_fpmul_split(c, a, b);
    axl_sig_t p = r.special ? 0 : axl_umul_core(core, c->param, r.sx, r.sy, r.m + 1);
    return axl_fpmul_join(c, &r, p, a, b);
}

#endif
