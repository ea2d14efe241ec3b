/* axl_design_bind: check a design's operand formats, derive its result
 * format, apply "name=value" parameters, and fill the evaluation context.
 *
 * Integer designs take two operands of the same kind and width (mixed
 * int/uint or mixed widths are refused: the sign-magnitude cores and the
 * table layout assume one width).  Result formats:
 *   mul  intN x intN -> int2N,  uintN x uintN -> uint2N (up to 32 bits)
 *   add  intN + intN -> int(N+1), uintN + uintN -> uint(N+1) (N <= 31), or
 *        intN/uintN again when fr_override asks for it: the N-bit register
 *        of an accumulator, whose carry out is dropped (the sum wraps
 *        modulo 2^N); N = 32 always gives 32 bits, since a code holds at
 *        most 32.  Adders take operands of up to 32 bits, multipliers of up
 *        to 16 (their product must fit a code).
 *   floating designs: fr_override when given, else the format of a.
 * Besides a design's own parameters every design takes round=MODE
 * (nearest, zero, up, down, stochastic), the rounding of floating results.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/design.h"
#include "designs/builtin.h"

static const char *const k_op_names[] = {"mul", "add"};
AXL_ENUM_NAMES_DEFINE(axl_op, axl_op_name, axl_op_parse, k_op_names)
#include "designs/registry.h"

static const char *kind_name(const struct axl_format *f)
{
    return f->kind == AXL_KIND_FLOAT ? "floating" : (f->kind == AXL_KIND_INT ? "signed integer" : "unsigned integer");
}

static void int_format(struct axl_format *f, uint8_t kind, unsigned bits)
{
    memset(f, 0, sizeof *f);
    f->kind = kind;
    f->bits = (uint8_t)bits;
    snprintf(f->name, sizeof f->name, "%s%u", kind == AXL_KIND_INT ? "int" : "uint", bits);
}

static const char *operands_text(uint8_t ops)
{
    switch (ops) {
    case AXL_OPERANDS_UINT:
        return "uintN";
    case AXL_OPERANDS_INT:
        return "intN";
    case AXL_OPERANDS_FLOAT:
        return "floating eXmY";
    case AXL_OPERANDS_ANYINT:
        return "intN or uintN";
    case AXL_OPERANDS_ANY:
        return "intN, uintN or eXmY";
    default:
        return "fixed";
    }
}

static enum axl_status check_operands(const struct axl_design *d, const struct axl_format *fa,
                                      const struct axl_format *fb, char *msg)
{
    int is_float = fa->kind == AXL_KIND_FLOAT;
    int ok;
    switch (d->operands) {
    case AXL_OPERANDS_UINT:
        ok = fa->kind == AXL_KIND_UINT;
        break;
    case AXL_OPERANDS_INT:
        ok = fa->kind == AXL_KIND_INT;
        break;
    case AXL_OPERANDS_FLOAT:
        ok = is_float;
        break;
    case AXL_OPERANDS_ANYINT:
        ok = !is_float;
        break;
    case AXL_OPERANDS_ANY:
        ok = 1;
        break;
    default:
        return axl_msgf(msg, AXL_ERR_INVALID, "design '%s': unknown operands class %u", d->name,
                        (unsigned)d->operands);
    }
    if (!ok)
        return axl_msgf(msg, AXL_ERR_MISMATCH, "design '%s' takes %s operands, not %s (%s)",
                        d->name, operands_text(d->operands), fa->name, kind_name(fa));
    if (fb->kind != fa->kind)
        return axl_msgf(msg, AXL_ERR_MISMATCH,
                        "design '%s': operands %s (%s) and %s (%s) must be of the same kind",
                        d->name, fa->name, kind_name(fa), fb->name, kind_name(fb));
    if (!is_float) {
        if (fa->bits != fb->bits)
            return axl_msgf(msg, AXL_ERR_MISMATCH,
                            "design '%s': integer operands %s and %s must have the same width",
                            d->name, fa->name, fb->name);
        unsigned maxb = d->op == AXL_OP_ADD ? 32u : 16u;
        if (fa->bits < 2 || fa->bits > maxb)
            return axl_msgf(msg, AXL_ERR_UNSUPPORTED,
                            "design '%s': integer operands of %u bits (2..%u allowed)", d->name,
                            (unsigned)fa->bits, maxb);
    }
    return AXL_OK;
}

static enum axl_status bind_fixed(const struct axl_design *d, const struct axl_format *fa,
                                  const struct axl_format *fb, struct axl_format *fr, char *msg)
{
    struct axl_format want_a, want_b;
    char m2[AXL_MSG_LEN];
    if (!d->fmt_a || !d->fmt_b || !d->fmt_r)
        return axl_msgf(msg, AXL_ERR_INVALID,
                        "design '%s' has fixed operands but no fmt_a/fmt_b/fmt_r", d->name);
    if (axl_format_parse(d->fmt_a, &want_a, m2) != AXL_OK ||
        axl_format_parse(d->fmt_b, &want_b, m2) != AXL_OK || axl_format_parse(d->fmt_r, fr, m2) != AXL_OK)
        return axl_msgf(msg, AXL_ERR_INVALID, "design '%s': %s", d->name, m2);
    if (!axl_format_equal(fa, &want_a) || !axl_format_equal(fb, &want_b))
        return axl_msgf(msg, AXL_ERR_MISMATCH, "design '%s' takes %s x %s only, not %s x %s",
                        d->name, want_a.name, want_b.name, fa->name, fb->name);
    return AXL_OK;
}

/* One "name=value" parameter into out. */
static enum axl_status apply_param(const struct axl_design *d, const char *p, struct axl_design_ctx *out,
                                   unsigned *seen, char *msg)
{
    const char *eq = p ? strchr(p, '=') : NULL;
    if (!eq || eq == p || eq[1] == '\0')
        return axl_msgf(msg, AXL_ERR_INVALID, "design '%s': parameter '%s' is not name=value",
                        d->name, p ? p : "(null)");
    size_t nlen = (size_t)(eq - p);
    const char *val = eq + 1;
    if (nlen == 5 && !strncmp(p, "round", 5)) {
        enum axl_round r;
        if (axl_round_parse(val, &r) != AXL_OK)
            return axl_msgf(
                msg, AXL_ERR_INVALID,
                "design '%s': round=%s is not a rounding mode (nearest, zero, up, down, "
                "stochastic)",
                d->name, val);
        out->round = (uint8_t)r;
        return AXL_OK;
    }
    for (uint32_t i = 0; i < d->nparams; i++) {
        const struct axl_design_param *dp = &d->params[i];
        if (strlen(dp->name) != nlen || strncmp(dp->name, p, nlen))
            continue;
        if (*seen & (1u << i))
            return axl_msgf(msg, AXL_ERR_INVALID, "design '%s': parameter '%s' given twice",
                            d->name, dp->name);
        char *end;
        errno = 0;
        long v = strtol(val, &end, 10);
        if (*end != '\0' || errno)
            return axl_msgf(msg, AXL_ERR_INVALID, "design '%s': %s=%s is not an integer", d->name,
                            dp->name, val);
        if (v < dp->min || v > dp->max)
            return axl_msgf(msg, AXL_ERR_INVALID, "design '%s': %s=%ld is out of range %d..%d",
                            d->name, dp->name, v, (int)dp->min, (int)dp->max);
        out->param[i] = (int32_t)v;
        *seen |= 1u << i;
        return AXL_OK;
    }
    char names[256] = "";
    for (uint32_t i = 0; i < d->nparams; i++) {
        size_t l = strlen(names);
        snprintf(names + l, sizeof names - l, "%s%s", i ? ", " : "", d->params[i].name);
    }
    return axl_msgf(msg, AXL_ERR_INVALID,
                    "design '%s' has no parameter '%.*s' (parameters: %s%sround)", d->name,
                    (int)nlen, p, names, d->nparams ? ", " : "");
}

enum axl_status axl_design_bind(const struct axl_design *d, const struct axl_format *fa,
                                const struct axl_format *fb, const struct axl_format *fr_override,
                                const char *const *params, int nparams, struct axl_design_ctx *out,
                                char *msg)
{
    if (!d || !fa || !fb || !out || (nparams > 0 && !params) || nparams < 0)
        return axl_msgf(msg, AXL_ERR_INVALID, "axl_design_bind: missing design, format or context");
    if (d->abi != AXL_DESIGN_ABI)
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED,
                        "design '%s' was built for design ABI %u; this axlut reads ABI %u",
                        d->name ? d->name : "?", (unsigned)d->abi, (unsigned)AXL_DESIGN_ABI);
    if (!d->name)
        return axl_msgf(msg, AXL_ERR_INVALID, "design has no name");
    if (d->op != AXL_OP_MUL && d->op != AXL_OP_ADD)
        return axl_msgf(msg, AXL_ERR_INVALID, "design '%s': op %u is neither mul nor add", d->name,
                        (unsigned)d->op);
    if (d->nparams > AXL_DESIGN_MAX_PARAMS)
        return axl_msgf(msg, AXL_ERR_INVALID, "design '%s' declares %u parameters (at most %d)",
                        d->name, (unsigned)d->nparams, AXL_DESIGN_MAX_PARAMS);

    struct axl_design_ctx c;
    memset(&c, 0, sizeof c);
    c.fa = *fa;
    c.fb = *fb;
    c.round = AXL_ROUND_NEAREST_EVEN;
    enum axl_status st;

    if (d->operands == AXL_OPERANDS_FIXED) {
        if ((st = bind_fixed(d, fa, fb, &c.fr, msg)) != AXL_OK)
            return st;
    } else {
        if ((st = check_operands(d, fa, fb, msg)) != AXL_OK)
            return st;
        if (fa->kind == AXL_KIND_FLOAT)
            c.fr = *fa;
        else if (d->op == AXL_OP_MUL)
            int_format(&c.fr, fa->kind, 2u * fa->bits);
        else
            int_format(&c.fr, fa->kind, fa->bits < 32 ? fa->bits + 1u : 32u);
    }
    if (fr_override) {
        if (fa->kind == AXL_KIND_FLOAT && fr_override->kind == AXL_KIND_FLOAT)
            c.fr = *fr_override;
        else if (d->op == AXL_OP_ADD && d->operands != AXL_OPERANDS_FIXED &&
                 fa->kind != AXL_KIND_FLOAT && axl_format_equal(fr_override, fa))
            c.fr = *fr_override; /* the wrapping N-bit accumulator register */
        else if (!axl_format_equal(fr_override, &c.fr))
            return axl_msgf(msg, AXL_ERR_MISMATCH,
                            "design '%s' over %s x %s gives %s results; %s cannot be asked for",
                            d->name, fa->name, fb->name, c.fr.name, fr_override->name);
    }

    for (uint32_t i = 0; i < d->nparams; i++) {
        const struct axl_design_param *dp = &d->params[i];
        if (!dp->name || dp->min > dp->max || dp->def < dp->min || dp->def > dp->max)
            return axl_msgf(msg, AXL_ERR_INVALID, "design '%s': parameter %u has a bad declaration",
                            d->name, (unsigned)i);
        c.param[i] = dp->def;
    }
    unsigned seen = 0;
    for (int i = 0; i < nparams; i++)
        if ((st = apply_param(d, params[i], &c, &seen, msg)) != AXL_OK)
            return st;

    c.id = axl_design_builtin_id(d);
    *out = c;
    return AXL_OK;
}
