/* Built-in designs: one evaluation function for all of them, dispatched on
 * the context's id.  The table generator (through the registry's eval
 * wrappers), the CPU kernels and the CUDA kernels all call
 * axl_builtin_eval, so there is one definition of each design's arithmetic.
 *
 * How operand codes reach the unsigned cores (cores.h):
 *  - uintN multiply: the N-bit core on the codes; result uint2N.
 *  - intN multiply: sign-magnitude.  The core runs on |a| and |b| (at most
 *    2^(N-1), so N bits hold them), the result takes sign(a) XOR sign(b) and
 *    is an int2N code (a magnitude past the result range saturates).  Hence f(-a, b) = -f(a, b) and f(-a, -b) = f(a, b)
 *    for every design; a generator that handled only one negative operand
 *    got negative x negative wrong in a peer tool.
 *  - uintN / intN add: both codes are extended to N+1 bits (zero or sign
 *    extension) and the (N+1)-bit core adds them modulo 2^(N+1): the
 *    approximate low bits act on two's complement bits, as in hardware.
 *  - floating: fpmul.h and fpadd.h.
 */
#ifndef AXLUT_TABLES_DESIGNS_BUILTIN_H
#define AXLUT_TABLES_DESIGNS_BUILTIN_H

#include "designs/cores.h"
#include "designs/fpadd.h"
#include "designs/fpmul.h"

AXL_HD uint32_t axl_int_mul(const struct axl_design_ctx *c, uint32_t core, uint32_t a, uint32_t b)
{
    uint32_t sa, sb;
    uint64_t x = axl_int_mag(&c->fa, a, &sa);
    uint64_t y = axl_int_mag(&c->fb, b, &sb);
    uint64_t p = axl_umul_core(core, c->param, x, y, c->fa.bits);
    /* a core that overestimates (MBM, DRUM, RoBA) can pass 2^2N - 1 at the
     * top of the uint range; the 2N-bit output saturates instead of wrapping */
    uint64_t pmax = axl_mask64(c->fr.kind == AXL_KIND_INT ? c->fr.bits - 1 : c->fr.bits);
    return axl_int_pack(&c->fr, sa ^ sb, p > pmax ? pmax : p);
}

AXL_HD uint64_t axl_int_extend(const struct axl_format *f, uint32_t code, int w)
{
    uint64_t v = code & axl_mask32(f->bits);
    if (f->kind == AXL_KIND_INT && ((v >> (f->bits - 1)) & 1u))
        v |= axl_mask64(w) & ~axl_mask64(f->bits);
    return v;
}

AXL_HD uint32_t axl_int_add(const struct axl_design_ctx *c, uint32_t core, uint32_t a, uint32_t b)
{
    int w = c->fr.bits; /* N + 1 */
    uint64_t x = axl_int_extend(&c->fa, a, w), y = axl_int_extend(&c->fb, b, w);
    return (uint32_t)(axl_uadd_core(core, c->param, x, y, w) & axl_mask64(w));
}

/* The integer core behind a floating design id (itself for the others). */
AXL_HD uint32_t axl_design_core(uint32_t id)
{
    switch (id) {
    case AXL_DESIGN_FPMUL_MITCHELL:
        return AXL_DESIGN_MITCHELL;
    case AXL_DESIGN_FPMUL_MBM:
        return AXL_DESIGN_MBM;
    case AXL_DESIGN_FPMUL_DRUM:
        return AXL_DESIGN_DRUM;
    case AXL_DESIGN_FPMUL_BAM:
        return AXL_DESIGN_BAM;
    case AXL_DESIGN_FPMUL_KULKARNI:
        return AXL_DESIGN_KULKARNI;
    case AXL_DESIGN_FPMUL_ROBA:
        return AXL_DESIGN_ROBA;
    case AXL_DESIGN_FPADD_LOA:
        return AXL_DESIGN_LOA;
    case AXL_DESIGN_FPADD_AMA5:
        return AXL_DESIGN_AMA5;
    case AXL_DESIGN_FPADD_ETA1:
        return AXL_DESIGN_ETA1;
    case AXL_DESIGN_FPADD_TRUNC_ADD:
        return AXL_DESIGN_TRUNC_ADD;
    case AXL_DESIGN_FPADD_ACA:
        return AXL_DESIGN_ACA;
    default:
        return id;
    }
}

/* 1 for the adders (integer or floating), 0 for the multipliers. */
AXL_HD int axl_design_is_add(uint32_t core) { return core >= AXL_DESIGN_ADD_EXACT && core <= AXL_DESIGN_ACA; }

/* Evaluate built-in design c->id on operand codes a (activation) and b
 * (weight); returns a code of c->fr.  An id that is not built in gives 0. */
AXL_HD uint32_t axl_builtin_eval(const struct axl_design_ctx *c, uint32_t a, uint32_t b)
{
    if (c->id == AXL_DESIGN_USER || c->id >= AXL_DESIGN_ID_END_)
        return 0;
    uint32_t core = axl_design_core(c->id);
    if (c->fa.kind == AXL_KIND_FLOAT)
        return axl_design_is_add(core) ? axl_fpadd(c, core, a, b) : axl_fpmul(c, core, a, b);
    return axl_design_is_add(core) ? axl_int_add(c, core, a, b) : axl_int_mul(c, core, a, b);
}

#endif
