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

#include "tables/designs/cores.h"

AXL_HD uint32_t axl_fpmul(const struct axl_design_ctx *c, uint32_t core, uint32_t a, uint32_t b)
{
    struct axl_unpacked x = axl_float_unpack(&c->fa, a);
    struct axl_unpacked y = axl_float_unpack(&c->fb, b);
    uint32_t sign = x.sign ^ y.sign;
    enum axl_round round = (enum axl_round)c->round;
    uint32_t rnd = round == AXL_ROUND_STOCHASTIC ? axl_design_rnd(a, b) : 0u;

    if (x.cls == AXL_FC_NAN || y.cls == AXL_FC_NAN)
        return axl_float_nan(&c->fr);
    if (x.cls == AXL_FC_INF || y.cls == AXL_FC_INF) {
        if (x.cls == AXL_FC_ZERO || y.cls == AXL_FC_ZERO)
            return axl_float_nan(&c->fr);
        return axl_float_inf(&c->fr, sign);
    }
    if (x.cls == AXL_FC_ZERO || y.cls == AXL_FC_ZERO)
        return axl_format_pack(&c->fr, sign, 0, 0, 0, round, rnd);

    int ma = c->fa.mbits, mb = c->fb.mbits;
    int m = ma > mb ? ma : mb;
    uint64_t sx = (uint64_t)x.sig << (m - ma);
    uint64_t sy = (uint64_t)y.sig << (m - mb);
    int k = x.k - (m - ma) + y.k - (m - mb);
    uint64_t p = axl_umul_core(core, c->param, sx, sy, m + 1);
    return axl_format_pack(&c->fr, sign, p, k, 0, round, rnd);
}

#endif
