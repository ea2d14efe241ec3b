/* Making a MAC plan: formats parsed, designs bound, the path and the kinds
 * chosen, the prepared state built.  The kinds (plan.h) are chosen here and
 * nowhere else, from the designs' capability flags (AXL_CAP_*) and the
 * formats, never from design names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block_plan.h"
#include "plan.h"
#include "prepare.h"

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

void axl_mac_free(struct axl_mac *m)
{
    if (!m)
        return;
    axl_cuda_plan_free(m->cuda);
    axl_block_plan_free(m->blk);
    axl_wcache_free(m->wcache);
    axl_table_free(m->table);
    axl_user_design_free(m->mul_user);
    axl_user_design_free(m->add_user);
    free(m->tf);
    free(m->tc);
    free(m->tn);
    free(m->ti);
    free(m->mt);
    free(m->mrt);
    free(m->unpacked);
    free(m->dacc);
    free(m->dop);
    axl_vbmi_free(&m->vb);
    axl_small_free(&m->sm);
    axl_enc8_free(&m->enc8);
    free(m);
}

enum axl_path axl_mac_path(const struct axl_mac *m) { return m->path; }

void axl_mac_describe(const struct axl_mac *m, char *buf, size_t len)
{
    snprintf(buf, len, "%s", m->desc);
}

/* A design by name: built-in, or a user design from a C file. */
enum axl_status axl_plan_find_design(const char *name, enum axl_op op,
                                     const struct axl_design **d, struct axl_user_design **user,
                                     char *msg)
{
    *d = NULL;
    if (ends_with(name, ".c")) {
        char *log = NULL;
        enum axl_status st = axl_user_design_load(name, user, &log, msg);
        free(log);
        if (st != AXL_OK)
            return st;
        *d = axl_user_design_get(*user);
    } else {
        *d = axl_design_find(name);
        if (!*d)
            return axl_msgf(msg, AXL_ERR_INVALID,
                            "unknown design '%s' (axlut list designs shows them)", name);
    }
    if ((*d)->op != op)
        return axl_msgf(msg, AXL_ERR_MISMATCH, "design '%s' is %s, not %s", name,
                        (*d)->op == AXL_OP_MUL ? "a multiplier" : "an adder",
                        op == AXL_OP_MUL ? "a multiplier" : "an adder");
    return AXL_OK;
}

/* Orders, rounding and the operand formats. */
static enum axl_status bind_operands(struct axl_mac *m, const struct axl_mac_spec *spec, char *msg)
{
    enum axl_status st;
    m->order = spec->order;
    m->chunk = spec->chunk;
    m->round = spec->round;
    m->seed = spec->seed;
    m->wquant = spec->wquant;
    m->act_range_set = spec->act_range_set;
    m->act_min = spec->act_min;
    m->act_max = spec->act_max;
    if (m->order == AXL_ORDER_CHUNKED && m->chunk == 0)
        return axl_msgf(msg, AXL_ERR_INVALID, "chunked accumulation needs a chunk size > 0");
    if ((unsigned)m->order > AXL_ORDER_CHUNKED || (unsigned)m->round > AXL_ROUND_STOCHASTIC)
        return axl_msgf(msg, AXL_ERR_INVALID, "unknown accumulation order or rounding mode");
    if (axl_block_plan_wanted(spec))
        return axl_block_plan_bind(m, spec, msg);
    const char *fa_name = spec->fmt_a ? spec->fmt_a : "fp32";
    if ((st = axl_format_parse(fa_name, &m->fa, msg)) != AXL_OK)
        return st;
    if ((st = axl_format_parse(spec->fmt_w ? spec->fmt_w : fa_name, &m->fw, msg)) != AXL_OK)
        return st;
    m->int_mode = m->fa.kind != AXL_KIND_FLOAT;
    if (m->int_mode != (m->fw.kind != AXL_KIND_FLOAT))
        return axl_msgf(msg, AXL_ERR_INVALID, "activations %s and weights %s: both must be "
                        "integer or both floating", m->fa.name, m->fw.name);
    return axl_emu_bind_scaling(m, spec, msg);
}

static enum axl_status check_table_formats(const char *path, const struct axl_table_info *ti,
                                           const struct axl_mac *m, char *msg)
{
    if (!axl_format_equal(&ti->fa, &m->fa) || !axl_format_equal(&ti->fb, &m->fw))
        return axl_msgf(msg, AXL_ERR_MISMATCH,
                        "table '%s' is for %s x %s operands, the layer uses %s x %s", path,
                        ti->fa.name, ti->fb.name, m->fa.name, m->fw.name);
    if (ti->op != AXL_OP_MUL)
        return axl_msgf(msg, AXL_ERR_MISMATCH,
                        "table '%s' holds an adder, a multiplier table is needed", path);
    return AXL_OK;
}

/* The multiplier from a table file: its formats must be the layer's; a
 * built-in design's table also binds the design (the function path and the
 * description need it). */
static enum axl_status bind_table_file(struct axl_mac *m, const struct axl_mac_spec *spec,
                                       const char *mul, char *msg)
{
    enum axl_status st;
    if ((st = axl_table_load(mul, &m->table, msg)) != AXL_OK)
        return st;
    const struct axl_table_info *ti = axl_table_info(m->table);
    if ((st = check_table_formats(mul, ti, m, msg)) != AXL_OK)
        return st;
    m->mul_d = axl_design_find(ti->design); /* NULL for a user design's table */
    m->fp = ti->fr;
    if (spec->n_mul_params)
        return axl_msgf(msg, AXL_ERR_INVALID, "table '%s' was generated with fixed parameters "
                        "(%.100s); parameters cannot be given with a table", mul, ti->parameters);
    if (!m->mul_d)
        return AXL_OK;
    const char *pp[AXL_DESIGN_MAX_PARAMS];
    char pbuf[AXL_DESIGN_MAX_PARAMS][48];
    for (uint32_t i = 0; i < ti->nparams && i < AXL_DESIGN_MAX_PARAMS; i++) {
        snprintf(pbuf[i], sizeof pbuf[i], "%s=%d", ti->param_names[i], (int)ti->param[i]);
        pp[i] = pbuf[i];
    }
    if ((st = axl_design_bind(m->mul_d, &m->fa, &m->fw, &ti->fr, pp, (int)ti->nparams, &m->mul_c,
                              msg)) != AXL_OK)
        return st;
    m->mul_c.round = (uint8_t)ti->round;
    return AXL_OK;
}

/* The multiplier: a table file, a user design or a built-in. */
static enum axl_status bind_multiplier(struct axl_mac *m, const struct axl_mac_spec *spec,
                                       const char *mul, char *msg)
{
    enum axl_status st;
    if (ends_with(mul, ".h5"))
        return bind_table_file(m, spec, mul, msg);
    if ((st = axl_plan_find_design(mul, AXL_OP_MUL, &m->mul_d, &m->mul_user, msg)) != AXL_OK)
        return st;
    /* scaled operands sit near their format's largest value, and so their
     * products far beyond it: unless asked otherwise, products of a scaled
     * layer are float32, as FP8 hardware keeps them (axl_emu_bind_scaling) */
    /* so are the element products of block-scaled formats: every product of
     * two floating elements is exact in float32, as the reference's exact
     * path takes them */
    const char *fmt_p = spec->fmt_p                                         ? spec->fmt_p
                        : axl_emu_scaled(m) || (m->blk && m->fa.kind == AXL_KIND_FLOAT) ? "fp32"
                                                                                      : NULL;
    struct axl_format fp_over;
    if (fmt_p && (st = axl_format_parse(fmt_p, &fp_over, msg)) != AXL_OK)
        return st;
    if ((st = axl_design_bind(m->mul_d, &m->fa, &m->fw, fmt_p ? &fp_over : NULL,
                              spec->mul_params, spec->n_mul_params, &m->mul_c, msg)) != AXL_OK)
        return st;
    m->fp = m->mul_c.fr;
    return AXL_OK;
}

/* An adder design into the accumulator of an integer layer
 * (AXL_ACC_INT_ADD): a signed intN register, N <= 32 (int32 unless
 * --acc-format says), that holds every product of the product format
 * exactly, so that converting a product into it is a sign extension and
 * never saturates or wraps; the adder is bound with the accumulator as its
 * result format, i.e. the sum's carry out is dropped and the register wraps
 * modulo 2^N as the exact int32 path's does (a saturating register would
 * need an N+1-bit sum, which int32 has no code for, and would no longer
 * give the exact path's bits with add_exact). */
static enum axl_status bind_int_adder(struct axl_mac *m, const struct axl_mac_spec *spec,
                                      char *msg)
{
    enum axl_status st;
    if ((st = axl_format_parse_int_acc(spec->fmt_acc ? spec->fmt_acc : "int32", &m->facc, msg)) !=
        AXL_OK)
        return st;
    /* a uintN product needs N+1 bits of a signed register */
    unsigned need = m->fp.bits + (m->fp.kind == AXL_KIND_UINT);
    if (m->fp.kind == AXL_KIND_FLOAT || m->facc.bits < need)
        return axl_msgf(msg, AXL_ERR_INVALID, "accumulator %s is narrower than the products "
                        "(%s from %s x %s): at least int%u", m->facc.name, m->fp.name, m->fa.name,
                        m->fw.name, need);
    if ((st = axl_design_bind(m->add_d, &m->facc, &m->facc, &m->facc, spec->add_params,
                              spec->n_add_params, &m->add_c, msg)) != AXL_OK)
        return st;
    m->acc_zero = 0;
    return AXL_OK;
}

/* The adder: exact float32 (or int32) adds, or an adder design on codes of
 * the accumulator format. */
static enum axl_status bind_adder(struct axl_mac *m, const struct axl_mac_spec *spec, char *msg)
{
    enum axl_status st;
    int exact = !spec->add || !strcmp(spec->add, "fp32") || !strcmp(spec->add, "exact");
    if (exact) {
        if (spec->fmt_acc && !m->int_mode && strcmp(spec->fmt_acc, "fp32"))
            return axl_msgf(msg, AXL_ERR_INVALID, "accumulator format %s needs an adder design "
                            "(e.g. --add add_exact for correctly rounded adds in %s)",
                            spec->fmt_acc, spec->fmt_acc);
        if (spec->fmt_acc && m->int_mode && strcmp(spec->fmt_acc, "int32") &&
            strcmp(spec->fmt_acc, "fp32")) {
            if ((st = axl_format_parse_int_acc(spec->fmt_acc, &m->facc, msg)) != AXL_OK)
                return st;
            return axl_msgf(msg, AXL_ERR_INVALID, "accumulator format %s needs an adder design "
                            "(e.g. --add add_exact for exact adds wrapping in %s)",
                            spec->fmt_acc, spec->fmt_acc);
        }
        axl_format_parse("fp32", &m->facc, NULL);
        if (m->int_mode) {
            m->facc.kind = AXL_KIND_INT;
            m->facc.bits = 32;
            snprintf(m->facc.name, sizeof m->facc.name, "int32");
        }
    } else {
        if ((st = axl_plan_find_design(spec->add, AXL_OP_ADD, &m->add_d, &m->add_user, msg)) != AXL_OK)
            return st;
        if (m->int_mode)
            return bind_int_adder(m, spec, msg);
        /* a block-scaled layer adds the scaled blocks' float32 values */
        const char *acc_name = spec->fmt_acc ? spec->fmt_acc : m->blk ? "fp32" : m->fp.name;
        if ((st = axl_format_parse(acc_name, &m->facc, msg)) != AXL_OK)
            return st;
        if (m->facc.kind != AXL_KIND_FLOAT)
            return axl_msgf(msg, AXL_ERR_INVALID,
                            "accumulator format %s of a floating layer must be floating",
                            m->facc.name);
        if ((st = axl_design_bind(m->add_d, &m->facc, &m->facc, &m->facc, spec->add_params,
                                  spec->n_add_params, &m->add_c, msg)) != AXL_OK)
            return st;
        if (!axl_format_equal(&m->add_c.fr, &m->facc))
            return axl_msgf(msg, AXL_ERR_MISMATCH, "adder '%s' gives %s results, the accumulator "
                            "is %s", spec->add, m->add_c.fr.name, m->facc.name);
        m->convert_p = !axl_format_equal(&m->fp, &m->facc);
    }
    m->acc_zero = axl_format_encode(&m->facc, 0.0f, AXL_ROUND_NEAREST_EVEN, 0);
    return AXL_OK;
}

/* The path of the multiply: full table where both operands fit, mantissa
 * table for mantissa-separable floating designs, else the function; or the
 * one the spec forces, if it can serve. */
static enum axl_status choose_path(struct axl_mac *m, const struct axl_mac_spec *spec,
                                   const char *mul, char *msg)
{
    const struct axl_table_info *ti = m->table ? axl_table_info(m->table) : NULL;
    int maxb = spec->max_table_bits > 0 ? spec->max_table_bits : AXL_TABLE_MAX_BITS;
    int full_ok = ti ? ti->path == AXL_TABLE_FULL
                     : (m->fa.bits <= maxb && m->fw.bits <= maxb &&
                        m->fa.bits <= AXL_TABLE_MAX_BITS && m->fw.bits <= AXL_TABLE_MAX_BITS);
    int func_ok = m->mul_d != NULL;
    /* the mantissa path wraps the built-in floating multiplier's own sign,
     * exponent and rounding (axl_fpmul_split/join) around the table */
    const char *mant_why = NULL;
    if (!m->mul_d || !(axl_design_caps(m->mul_d) & AXL_CAP_MANTISSA) || m->int_mode)
        mant_why = m->mul_d && m->mul_c.id == 0 && m->mul_d->mantissa_only &&
                           m->mul_d->mantissa_core && !m->int_mode
                       ? "a user design's floating shape is not known to the emulator"
                       : "the multiplier is not a mantissa-only floating design";
    else if (m->fa.mbits != m->fw.mbits)
        mant_why = "activations and weights have different mantissa widths";
    else if (m->fa.mbits < 1 || m->fa.mbits > AXL_TABLE_MAX_MANTISSA)
        mant_why = "the mantissa width is outside 1..11 bits";
    else if (ti && ti->path != AXL_TABLE_MANTISSA)
        mant_why = "the table file holds a full table";
    int mant_ok = mant_why == NULL;
    enum axl_path path = spec->path;
    if (path == AXL_PATH_AUTO)
        path = full_ok ? AXL_PATH_TABLE : mant_ok ? AXL_PATH_MANTISSA : AXL_PATH_FUNCTION;
    if (path == AXL_PATH_TABLE && !full_ok)
        return axl_msgf(msg, AXL_ERR_INVALID, "no full table for %s x %s operands (at most %d "
                        "bits each); use the function path", m->fa.name, m->fw.name, maxb);
    if (path == AXL_PATH_MANTISSA && !mant_ok)
        return axl_msgf(msg, AXL_ERR_INVALID, "no mantissa table for %s on %s x %s: %s",
                        m->mul_d ? m->mul_d->name : mul, m->fa.name, m->fw.name, mant_why);
    if (path == AXL_PATH_FUNCTION && !func_ok)
        return axl_msgf(msg, AXL_ERR_INVALID, "table '%s' comes from design '%s', which is not "
                        "built in: only its table can serve", mul, ti ? ti->design : "?");
    m->path = path;
    return AXL_OK;
}

/* The kinds.  The accumulator first: integers add in int32, no adder design
 * means float32 adds, an exact adder (nearest-even) into bf16/fp16 is a
 * float32 add and one rounding, any other adder runs on codes.  Then the
 * product source: the path's, unless an exact multiplier in nearest-even
 * has a faster exact form that the accumulator can take (float values, so
 * not for code accumulators); AXL_SRC_MANTISSA_FAST is decided where its
 * tables are built (prepare.c). */
static void choose_kinds(struct axl_mac *m)
{
    uint32_t mul_caps = m->mul_d && m->mul_c.id != 0 ? axl_design_caps(m->mul_d) : 0;
    uint32_t add_caps = m->add_d && m->add_c.id != 0 ? axl_design_caps(m->add_d) : 0;
    if (m->int_mode)
        m->acc = m->add_d ? AXL_ACC_INT_ADD : AXL_ACC_INT;
    else if (!m->add_d)
        m->acc = AXL_ACC_F32;
    else if ((add_caps & AXL_CAP_EXACT) && m->add_c.round == AXL_ROUND_NEAREST_EVEN &&
             (m->narrow_acc = axl_plan_narrow_kind(&m->facc)) != AXL_NARROW_NONE)
        m->acc = AXL_ACC_NARROW;
    else
        m->acc = AXL_ACC_CODE;

    m->src = m->path == AXL_PATH_TABLE      ? AXL_SRC_TABLE
           : m->path == AXL_PATH_MANTISSA ? AXL_SRC_MANTISSA
                                          : AXL_SRC_FUNCTION;
    if (!(mul_caps & AXL_CAP_EXACT) || m->mul_c.round != AXL_ROUND_NEAREST_EVEN || m->int_mode)
        return;
    struct axl_format f32;
    axl_format_parse("fp32", &f32, NULL);
    /* a float32 multiply is the correctly rounded fp32 product */
    if (m->path == AXL_PATH_FUNCTION && m->acc == AXL_ACC_F32 &&
        axl_format_equal(&m->fa, &f32) && axl_format_equal(&m->fw, &f32) &&
        axl_format_equal(&m->fp, &f32))
        m->src = AXL_SRC_EXACT_F32;
    /* the float32 product of two bf16/fp16 values is exact: one rounding */
    else if (m->path != AXL_PATH_TABLE && m->acc != AXL_ACC_CODE &&
             axl_format_equal(&m->fa, &m->fw) && axl_format_equal(&m->fa, &m->fp) &&
             (m->narrow_op = axl_plan_narrow_kind(&m->fa)) != AXL_NARROW_NONE)
        m->src = AXL_SRC_EXACT_NARROW;
}

/* The batch forms of the designs: a built-in's own, a user design's
 * generated ones, or (NULL forms) the scalar eval in a loop. */
static void batch_of(const struct axl_design *d, const struct axl_user_design *u,
                     struct axl_design_batch *out)
{
    *out = axl_design_batch(d);
    if (u)
        axl_user_design_batch(u, &out->row, &out->pair);
}

static void choose_batch(struct axl_mac *m)
{
    if (m->mul_d)
        batch_of(m->mul_d, m->mul_user, &m->mul_b);
    if (m->add_d)
        batch_of(m->add_d, m->add_user, &m->add_b);
}

/* "mul=drum(k=6) e4m3 x e4m3 -> e4m3 via table, add=fp32 sequential" */
static void describe(struct axl_mac *m, const char *mul)
{
    const struct axl_table_info *ti = m->table ? axl_table_info(m->table) : NULL;
    char params[160] = "";
    size_t pl = 0;
    for (int i = 0; m->mul_d && i < (int)m->mul_d->nparams && pl < sizeof params - 1; i++)
        pl += (size_t)snprintf(params + pl, sizeof params - pl, "%s%s=%d", i ? "," : "(",
                               m->mul_d->params[i].name, (int)m->mul_c.param[i]);
    if (pl && pl < sizeof params - 1)
        snprintf(params + pl, sizeof params - pl, ")");
    char add[128];
    if (!m->add_d)
        snprintf(add, sizeof add, "%s", m->int_mode ? "int32" : "fp32");
    else
        snprintf(add, sizeof add, "%s on %s", m->add_d->name, m->facc.name);
    char chunk[24] = "";
    if (m->order == AXL_ORDER_CHUNKED)
        snprintf(chunk, sizeof chunk, "(%u)", m->chunk);
    snprintf(m->desc, sizeof m->desc, "mul=%s%s %s x %s -> %s via %s, add=%s %s%s",
             m->mul_d ? m->mul_d->name : (ti ? ti->design : mul), params, m->fa.name, m->fw.name,
             m->fp.name, axl_path_name(m->path), add, axl_order_name(m->order), chunk);
    if (m->blk) {
        size_t dl = strlen(m->desc);
        const struct axl_block_plan *bp = m->blk;
        snprintf(m->desc + dl, sizeof m->desc - dl, ", blocks %s x %s of %u, block sum %s%s%s",
                 bp->bfa.name, bp->bfw.name, bp->bfa.size,
                 bp->bcode ? bp->badd_d->name : "fp32", bp->bcode ? " on " : "",
                 bp->bcode ? bp->fbacc.name : "");
    }
    if (axl_emu_scaled(m)) {
        size_t dl = strlen(m->desc);
        snprintf(m->desc + dl, sizeof m->desc - dl, ", scale w=%s a=%s%s",
                 axl_wscale_name(m->wscale), axl_ascale_name(m->ascale),
                 m->scale_pow2 ? " pow2" : "");
    }
}

enum axl_status axl_mac_create(const struct axl_mac_spec *spec, struct axl_mac **out, char *msg)
{
    enum axl_status st;
    *out = NULL;
    struct axl_mac *m = calloc(1, sizeof *m);
    if (!m)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    const char *mul = spec->mul ? spec->mul : "mul_exact";
    if ((st = bind_operands(m, spec, msg)) != AXL_OK ||
        (st = bind_multiplier(m, spec, mul, msg)) != AXL_OK ||
        (st = bind_adder(m, spec, msg)) != AXL_OK || (st = choose_path(m, spec, mul, msg)) != AXL_OK)
        goto fail;
    choose_kinds(m);
    choose_batch(m);
    if ((st = axl_plan_prepare(m, mul, msg)) != AXL_OK ||
        (m->blk && (st = axl_block_plan_prepare(m, spec, msg)) != AXL_OK))
        goto fail;
    if (axl_wcache_create(&m->wcache) != AXL_OK || axl_cuda_plan_create(&m->cuda) != AXL_OK) {
        st = axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
        goto fail;
    }
    describe(m, mul);
    *out = m;
    return AXL_OK;
fail:
    axl_mac_free(m);
    return st;
}
