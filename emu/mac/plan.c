/* Preparing a MAC configuration: formats, designs, the evaluation path and
 * the tables the kernels read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "designs/builtin.h"

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int same_format(const struct axl_format *x, const struct axl_format *y)
{
    return x->kind == y->kind && x->bits == y->bits && x->ebits == y->ebits &&
           x->mbits == y->mbits && x->special == y->special && x->subnormals == y->subnormals &&
           x->overflow == y->overflow && x->bias == y->bias;
}

const char *axl_path_name(enum axl_path p)
{
    static const char *n[] = {"auto", "table", "mantissa", "function"};
    return (unsigned)p < 4 ? n[p] : "?";
}

const char *axl_order_name(enum axl_order o)
{
    static const char *n[] = {"sequential", "pairwise", "chunked"};
    return (unsigned)o < 3 ? n[o] : "?";
}

void axl_mac_free(struct axl_mac *m)
{
    if (!m)
        return;
    axl_table_free(m->table);
    axl_user_design_free(m->mul_user);
    axl_user_design_free(m->add_user);
    free(m->tf);
    free(m->tc);
    free(m->ti);
    free(m->mt);
    free(m->mrt);
    free(m->unpacked);
    free(m->dacc);
    free(m->dop);
    axl_vbmi_free(&m->vb);
    free(m);
}

enum axl_path axl_mac_path(const struct axl_mac *m) { return m->path; }

void axl_mac_describe(const struct axl_mac *m, char *buf, size_t len)
{
    snprintf(buf, len, "%s", m->desc);
}

/* A design by name: built-in, or a user design from a C file. */
static enum axl_status find_design(const char *name, enum axl_op op,
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
        if (!*d) {
            snprintf(msg, AXL_MSG_LEN, "unknown design '%s' (axlut list designs shows them)", name);
            return AXL_ERR_INVALID;
        }
    }
    if ((*d)->op != op) {
        snprintf(msg, AXL_MSG_LEN, "design '%s' is %s, not %s", name,
                 (*d)->op == AXL_OP_MUL ? "a multiplier" : "an adder",
                 op == AXL_OP_MUL ? "a multiplier" : "an adder");
        return AXL_ERR_MISMATCH;
    }
    return AXL_OK;
}

/* 1 for bf16, 2 for fp16 (the formats of axl_round_bf16/fp16), else 0. */
static int narrow_kind(const struct axl_format *f)
{
    struct axl_format bf16, fp16;
    axl_format_parse("bf16", &bf16, NULL);
    axl_format_parse("fp16", &fp16, NULL);
    return same_format(f, &bf16) ? 1 : same_format(f, &fp16) ? 2 : 0;
}

/* The values of every code of a 16-bit format, and that of its NaN code. */
static float *decode_table(const struct axl_format *f, float *nan_value)
{
    float *t = malloc((size_t)65536 * sizeof *t);
    if (!t)
        return NULL;
    for (uint32_t c = 0; c < 65536; c++)
        t[c] = axl_format_decode(f, c);
    *nan_value = t[axl_format_nan_code(f)];
    return t;
}

/* The transposed, decoded table the kernels read. */
static enum axl_status prepare_table(struct axl_mac *m, char *msg)
{
    const struct axl_table_info *ti = axl_table_info(m->table);
    m->na = (uint32_t)ti->rows;
    m->nb = (uint32_t)ti->cols;
    size_t n = (size_t)m->na * m->nb;
    if (m->int_mode)
        m->ti = malloc(n * sizeof *m->ti);
    else if (m->add_exact)
        m->tf = malloc(n * sizeof *m->tf);
    else
        m->tc = malloc(n * sizeof *m->tc);
    if (!m->ti && !m->tf && !m->tc) {
        snprintf(msg, AXL_MSG_LEN, "out of memory preparing a %zu-entry table", n);
        return AXL_ERR_NOMEM;
    }
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < (int64_t)m->nb; b++) {
        for (uint32_t a = 0; a < m->na; a++) {
            uint32_t p = axl_table_entry(m->table, a, (uint32_t)b);
            size_t i = (size_t)b * m->na + a;
            if (m->ti)
                m->ti[i] = (int32_t)axl_format_decode(&m->fp, p);
            else if (m->tf)
                m->tf[i] = axl_format_decode(&m->fp, p);
            else
                m->tc[i] = m->convert_p ? axl_format_encode(&m->facc, axl_format_decode(&m->fp, p),
                                                            AXL_ROUND_NEAREST_EVEN, 0)
                                        : p;
        }
    }
    /* byte planes for the VBMI kernels: integer tables, and float tables
     * summed in sequential order (the orders they implement) */
    if (m->ti || (m->tf && m->order == AXL_ORDER_SEQUENTIAL))
        axl_vbmi_prepare(&m->vb, m->tf, m->ti, m->na, m->nb);
    return AXL_OK;
}

static enum axl_status check_table_formats(const char *path, const struct axl_table_info *ti,
                                           const struct axl_mac *m, char *msg)
{
    if (!same_format(&ti->fa, &m->fa) || !same_format(&ti->fb, &m->fw)) {
        snprintf(msg, AXL_MSG_LEN,
                 "table '%s' is for %s x %s operands, the layer uses %s x %s", path, ti->fa.name,
                 ti->fb.name, m->fa.name, m->fw.name);
        return AXL_ERR_MISMATCH;
    }
    if (ti->op != AXL_OP_MUL) {
        snprintf(msg, AXL_MSG_LEN, "table '%s' holds an adder, a multiplier table is needed", path);
        return AXL_ERR_MISMATCH;
    }
    return AXL_OK;
}

/* The shortcut of the mantissa path with exact float32 adds (see
 * mac_internal.h); only where it gives the same bits as the long way:
 * nearest rounding, one format for operands and product, codes of at most
 * 16 bits. */
static enum axl_status prepare_mantissa_fast(struct axl_mac *m, char *msg)
{
    if (!m->add_exact || m->mul_c.round != AXL_ROUND_NEAREST_EVEN || m->fa.bits > 16 ||
        !same_format(&m->fa, &m->fw) || !same_format(&m->fa, &m->fp) || m->fp.bias < 1 ||
        (int)(axl_format_max_mag(&m->fp) >> m->fp.mbits) - m->fp.bias < 2)
        return AXL_OK;
    const uint32_t mb = m->fa.mbits, rows = 1u << (mb + 1), cols = m->mt_cols;
    const uint32_t ncodes = 1u << m->fa.bits;
    m->mrt = malloc((size_t)rows * cols * sizeof *m->mrt);
    m->unpacked = malloc((size_t)ncodes * sizeof *m->unpacked);
    if (!m->mrt || !m->unpacked) {
        snprintf(msg, AXL_MSG_LEN, "out of memory");
        return AXL_ERR_NOMEM;
    }
    /* The product rounded by the format's own round-and-pack, placed in
     * [1, 2) where every format with bias >= 1 is normal, then scaled back:
     * round_{m+1}(p) as an exact float (p < 2^24). */
    for (size_t i = 0; i < (size_t)rows * cols; i++) {
        uint64_t p = m->mt[i];
        if (p == 0) {
            m->mrt[i] = 0.0f; /* never used: zero products go the long way */
            continue;
        }
        int msb = axl_msb64(p);
        uint32_t code = axl_format_pack(&m->fp, 0, p, -msb, 0, AXL_ROUND_NEAREST_EVEN, 0);
        float one_two = axl_format_decode(&m->fp, code); /* in [1, 2] */
        m->mrt[i] = one_two * (float)(1ull << msb);
    }
    for (uint32_t code = 0; code < ncodes; code++) {
        struct axl_fpmul_parts r = axl_fpmul_split(&m->mul_c, code, code);
        uint32_t te = (code >> mb) & ((1u << m->fa.ebits) - 1u);
        struct axl_unpacked_code *u = &m->unpacked[code];
        u->normal = r.special == 0 && te != 0;
        u->sig = (uint32_t)r.sx;
        u->k = (int16_t)(r.special == 0 ? r.k / 2 : 0); /* split of (code, code): k is twice */
        u->sign = (uint8_t)((code >> (m->fa.bits - 1)) & 1u);
    }
    /* normal results only, one binade below the top kept apart so that
     * overflow and the top codes of finite formats go the long way */
    m->mrt_emin = 1 - m->fa.bias;
    m->mrt_emax = (int)(axl_format_max_mag(&m->fa) >> mb) - m->fa.bias - 1;
    return AXL_OK;
}

enum axl_status axl_mac_create(const struct axl_mac_spec *spec, struct axl_mac **out, char *msg)
{
    char tmp[AXL_MSG_LEN];
    enum axl_status st;
    *out = NULL;
    struct axl_mac *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(msg, AXL_MSG_LEN, "out of memory");
        return AXL_ERR_NOMEM;
    }
    m->order = spec->order;
    m->chunk = spec->chunk;
    m->round = spec->round;
    m->seed = spec->seed;
    m->wquant = spec->wquant;
    m->act_range_set = spec->act_range_set;
    m->act_min = spec->act_min;
    m->act_max = spec->act_max;
    if (m->order == AXL_ORDER_CHUNKED && m->chunk == 0) {
        snprintf(msg, AXL_MSG_LEN, "chunked accumulation needs a chunk size > 0");
        st = AXL_ERR_INVALID;
        goto fail;
    }
    if ((unsigned)m->order > AXL_ORDER_CHUNKED || (unsigned)m->round > AXL_ROUND_STOCHASTIC) {
        snprintf(msg, AXL_MSG_LEN, "unknown accumulation order or rounding mode");
        st = AXL_ERR_INVALID;
        goto fail;
    }
    const char *fa_name = spec->fmt_a ? spec->fmt_a : "fp32";
    if ((st = axl_format_parse(fa_name, &m->fa, msg)) != AXL_OK)
        goto fail;
    if ((st = axl_format_parse(spec->fmt_w ? spec->fmt_w : fa_name, &m->fw, msg)) != AXL_OK)
        goto fail;
    m->int_mode = m->fa.kind != AXL_KIND_FLOAT;
    if (m->int_mode != (m->fw.kind != AXL_KIND_FLOAT)) {
        snprintf(msg, AXL_MSG_LEN, "activations %s and weights %s: both must be integer or both "
                 "floating", m->fa.name, m->fw.name);
        st = AXL_ERR_INVALID;
        goto fail;
    }

    /* the multiplier: a table file, a user design or a built-in */
    const char *mul = spec->mul ? spec->mul : "mul_exact";
    const struct axl_table_info *ti = NULL;
    if (ends_with(mul, ".h5")) {
        if ((st = axl_table_load(mul, &m->table, msg)) != AXL_OK)
            goto fail;
        ti = axl_table_info(m->table);
        if ((st = check_table_formats(mul, ti, m, msg)) != AXL_OK)
            goto fail;
        m->mul_d = axl_design_find(ti->design); /* NULL for a user design's table */
        m->fp = ti->fr;
        if (spec->n_mul_params) {
            snprintf(msg, AXL_MSG_LEN, "table '%s' was generated with fixed parameters (%.100s); "
                     "parameters cannot be given with a table", mul, ti->parameters);
            st = AXL_ERR_INVALID;
            goto fail;
        }
        if (m->mul_d) {
            const char *pp[AXL_DESIGN_MAX_PARAMS];
            char pbuf[AXL_DESIGN_MAX_PARAMS][48];
            for (uint32_t i = 0; i < ti->nparams && i < AXL_DESIGN_MAX_PARAMS; i++) {
                snprintf(pbuf[i], sizeof pbuf[i], "%s=%d", ti->param_names[i], (int)ti->param[i]);
                pp[i] = pbuf[i];
            }
            if ((st = axl_design_bind(m->mul_d, &m->fa, &m->fw, &ti->fr, pp, (int)ti->nparams,
                                      &m->mul_c, msg)) != AXL_OK)
                goto fail;
            m->mul_c.round = (uint8_t)ti->round;
        }
    } else {
        if ((st = find_design(mul, AXL_OP_MUL, &m->mul_d, &m->mul_user, msg)) != AXL_OK)
            goto fail;
        struct axl_format fp_over;
        if (spec->fmt_p && (st = axl_format_parse(spec->fmt_p, &fp_over, msg)) != AXL_OK)
            goto fail;
        if ((st = axl_design_bind(m->mul_d, &m->fa, &m->fw, spec->fmt_p ? &fp_over : NULL,
                                  spec->mul_params, spec->n_mul_params, &m->mul_c, msg)) != AXL_OK)
            goto fail;
        m->fp = m->mul_c.fr;
    }

    /* the adder */
    m->add_exact = !spec->add || !strcmp(spec->add, "fp32") || !strcmp(spec->add, "exact");
    if (m->add_exact) {
        if (spec->fmt_acc && !m->int_mode && strcmp(spec->fmt_acc, "fp32")) {
            snprintf(msg, AXL_MSG_LEN, "accumulator format %s needs an adder design (e.g. "
                     "--add add_exact for correctly rounded adds in %s)", spec->fmt_acc,
                     spec->fmt_acc);
            st = AXL_ERR_INVALID;
            goto fail;
        }
        axl_format_parse("fp32", &m->facc, NULL);
        if (m->int_mode) {
            m->facc.kind = AXL_KIND_INT;
            m->facc.bits = 32;
            snprintf(m->facc.name, sizeof m->facc.name, "int32");
        }
    } else {
        if (m->int_mode) {
            snprintf(msg, AXL_MSG_LEN, "adder design '%s' on an integer accumulator: integer "
                     "layers accumulate in exact int32 for now", spec->add);
            st = AXL_ERR_UNSUPPORTED;
            goto fail;
        }
        if ((st = find_design(spec->add, AXL_OP_ADD, &m->add_d, &m->add_user, msg)) != AXL_OK)
            goto fail;
        const char *acc_name = spec->fmt_acc ? spec->fmt_acc : m->fp.name;
        if ((st = axl_format_parse(acc_name, &m->facc, msg)) != AXL_OK)
            goto fail;
        if (m->facc.kind != AXL_KIND_FLOAT) {
            snprintf(msg, AXL_MSG_LEN, "accumulator format %s of a floating layer must be floating",
                     m->facc.name);
            st = AXL_ERR_INVALID;
            goto fail;
        }
        if ((st = axl_design_bind(m->add_d, &m->facc, &m->facc, &m->facc, spec->add_params,
                                  spec->n_add_params, &m->add_c, msg)) != AXL_OK)
            goto fail;
        if (!same_format(&m->add_c.fr, &m->facc)) {
            snprintf(msg, AXL_MSG_LEN, "adder '%s' gives %s results, the accumulator is %s",
                     spec->add, m->add_c.fr.name, m->facc.name);
            st = AXL_ERR_MISMATCH;
            goto fail;
        }
        m->convert_p = !same_format(&m->fp, &m->facc);
    }
    m->acc_zero = axl_format_encode(&m->facc, 0.0f, AXL_ROUND_NEAREST_EVEN, 0);

    /* the path */
    int maxb = spec->max_table_bits > 0 ? spec->max_table_bits : AXL_TABLE_MAX_BITS;
    int full_ok = ti ? ti->path == AXL_TABLE_FULL
                     : (m->fa.bits <= maxb && m->fw.bits <= maxb && m->fa.bits <= AXL_TABLE_MAX_BITS &&
                        m->fw.bits <= AXL_TABLE_MAX_BITS);
    int func_ok = m->mul_d != NULL;
    /* the mantissa path wraps the built-in floating multiplier's own sign,
     * exponent and rounding (axl_fpmul_split/join) around the table */
    const char *mant_why = NULL;
    if (!m->mul_d || !m->mul_d->mantissa_only || !m->mul_d->mantissa_core || m->int_mode)
        mant_why = "the multiplier is not a mantissa-only floating design";
    else if (m->mul_c.id == 0)
        mant_why = "a user design's floating shape is not known to the emulator";
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
    if (path == AXL_PATH_TABLE && !full_ok) {
        snprintf(msg, AXL_MSG_LEN, "no full table for %s x %s operands (at most %d bits each); "
                 "use the function path", m->fa.name, m->fw.name, maxb);
        st = AXL_ERR_INVALID;
        goto fail;
    }
    if (path == AXL_PATH_MANTISSA && !mant_ok) {
        snprintf(msg, AXL_MSG_LEN, "no mantissa table for %s on %s x %s: %s",
                 m->mul_d ? m->mul_d->name : mul, m->fa.name, m->fw.name, mant_why);
        st = AXL_ERR_INVALID;
        goto fail;
    }
    if (path == AXL_PATH_FUNCTION && !func_ok) {
        snprintf(msg, AXL_MSG_LEN, "table '%s' comes from design '%s', which is not built in: "
                 "only its table can serve", mul, ti ? ti->design : "?");
        st = AXL_ERR_INVALID;
        goto fail;
    }
    m->path = path;
    if (path == AXL_PATH_TABLE) {
        if (!m->table) {
            struct axl_table_opts o;
            memset(&o, 0, sizeof o);
            o.max_bits = AXL_TABLE_MAX_BITS;
            o.skip_metrics = 1;
            if ((st = axl_table_generate(m->mul_d, &m->mul_c, &o, &m->table, tmp)) != AXL_OK) {
                snprintf(msg, AXL_MSG_LEN, "generating the table of '%.100s': %.300s", mul, tmp);
                goto fail;
            }
        }
        if ((st = prepare_table(m, msg)) != AXL_OK)
            goto fail;
    }
    if (path == AXL_PATH_MANTISSA) {
        if (!m->table) {
            struct axl_table_opts o;
            memset(&o, 0, sizeof o);
            o.max_bits = 1; /* below any operand: the generator builds the mantissa table */
            o.skip_metrics = 1;
            if ((st = axl_table_generate(m->mul_d, &m->mul_c, &o, &m->table, tmp)) != AXL_OK) {
                snprintf(msg, AXL_MSG_LEN, "generating the mantissa table of '%.100s': %.300s",
                         mul, tmp);
                goto fail;
            }
        }
        const struct axl_table_info *mi = axl_table_info(m->table);
        if (mi->path != AXL_TABLE_MANTISSA || mi->rows != (1u << (m->fa.mbits + 1)) ||
            mi->cols != (1u << (m->fw.mbits + 1))) {
            snprintf(msg, AXL_MSG_LEN, "the mantissa table of '%.100s' is not over %u-bit "
                     "significands", mul, m->fa.mbits + 1u);
            st = AXL_ERR_MISMATCH;
            goto fail;
        }
        m->mt_cols = (uint32_t)mi->cols;
        m->mt = malloc((size_t)mi->rows * mi->cols * sizeof *m->mt);
        if (!m->mt) {
            snprintf(msg, AXL_MSG_LEN, "out of memory");
            st = AXL_ERR_NOMEM;
            goto fail;
        }
        for (uint32_t r = 0; r < mi->rows; r++)
            for (uint32_t c = 0; c < mi->cols; c++)
                m->mt[(size_t)r * mi->cols + c] = axl_table_entry(m->table, r, c);
        if ((st = prepare_mantissa_fast(m, msg)) != AXL_OK)
            goto fail;
    }

    /* exact float32 mode: the hardware multiply gives mul_exact's bits */
    {
        struct axl_format f32;
        axl_format_parse("fp32", &f32, NULL);
        m->exact_f32 = m->mul_d && !strcmp(m->mul_d->name, "mul_exact") && m->mul_c.id != 0 &&
                       same_format(&m->fa, &f32) && same_format(&m->fw, &f32) &&
                       same_format(&m->fp, &f32) && m->mul_c.round == AXL_ROUND_NEAREST_EVEN &&
                       m->path == AXL_PATH_FUNCTION;
    }

    /* exact products and exact adds in bf16 / fp16: float32 arithmetic and
     * one rounding (mac_internal.h) */
    if (m->mul_d && m->mul_c.id != 0 && !strcmp(m->mul_d->name, "mul_exact") && !m->int_mode &&
        m->path != AXL_PATH_TABLE && m->mul_c.round == AXL_ROUND_NEAREST_EVEN &&
        same_format(&m->fa, &m->fw) && same_format(&m->fa, &m->fp) &&
        (m->exact_narrow = narrow_kind(&m->fa)) != 0 &&
        !(m->dop = decode_table(&m->fa, &m->op_nan))) {
        snprintf(msg, AXL_MSG_LEN, "out of memory");
        st = AXL_ERR_NOMEM;
        goto fail;
    }
    if (!m->add_exact && m->add_d && m->add_c.id != 0 && !strcmp(m->add_d->name, "add_exact") &&
        m->add_c.round == AXL_ROUND_NEAREST_EVEN && (m->acc_fast = narrow_kind(&m->facc)) != 0 &&
        !(m->dacc = decode_table(&m->facc, &m->acc_nan))) {
        snprintf(msg, AXL_MSG_LEN, "out of memory");
        st = AXL_ERR_NOMEM;
        goto fail;
    }

    /* the description */
    char params[160] = "";
    size_t pl = 0;
    for (int i = 0; m->mul_d && i < (int)m->mul_d->nparams && pl < sizeof params - 1; i++)
        pl += (size_t)snprintf(params + pl, sizeof params - pl, "%s%s=%d", i ? "," : "(",
                               m->mul_d->params[i].name, (int)m->mul_c.param[i]);
    if (pl && pl < sizeof params - 1)
        snprintf(params + pl, sizeof params - pl, ")");
    char add[128];
    if (m->add_exact)
        snprintf(add, sizeof add, "%s", m->int_mode ? "int32" : "fp32");
    else
        snprintf(add, sizeof add, "%s on %s", m->add_d->name, m->facc.name);
    char chunk[24] = "";
    if (m->order == AXL_ORDER_CHUNKED)
        snprintf(chunk, sizeof chunk, "(%u)", m->chunk);
    snprintf(m->desc, sizeof m->desc, "mul=%s%s %s x %s -> %s via %s, add=%s %s%s",
             m->mul_d ? m->mul_d->name : (ti ? ti->design : mul), params, m->fa.name, m->fw.name,
             m->fp.name, axl_path_name(m->path), add, axl_order_name(m->order), chunk);
    *out = m;
    return AXL_OK;
fail:
    axl_mac_free(m);
    return st;
}

enum axl_status axl_conv_out_size(const struct axl_conv_args *a, int64_t *oh, int64_t *ow,
                                  char *msg)
{
    if (a->n < 1 || a->c < 1 || a->h < 1 || a->w < 1 || a->oc < 1 || a->kh < 1 || a->kw < 1 ||
        a->stride_h < 1 || a->stride_w < 1 || a->dil_h < 1 || a->dil_w < 1 || a->groups < 1 ||
        a->pad_t < 0 || a->pad_l < 0 || a->pad_b < 0 || a->pad_r < 0) {
        snprintf(msg, AXL_MSG_LEN, "convolution: sizes, strides, dilations and groups must be "
                 "positive and pads non-negative");
        return AXL_ERR_INVALID;
    }
    if (a->c % a->groups || a->oc % a->groups) {
        snprintf(msg, AXL_MSG_LEN, "convolution: %lld input and %lld output channels are not "
                 "divisible by %lld groups", (long long)a->c, (long long)a->oc,
                 (long long)a->groups);
        return AXL_ERR_INVALID;
    }
    int64_t eh = a->h + a->pad_t + a->pad_b - a->dil_h * (a->kh - 1) - 1;
    int64_t ew = a->w + a->pad_l + a->pad_r - a->dil_w * (a->kw - 1) - 1;
    if (eh < 0 || ew < 0) {
        snprintf(msg, AXL_MSG_LEN, "convolution: a %lldx%lld kernel (dilation %lldx%lld) does not "
                 "fit a padded %lldx%lld input", (long long)a->kh, (long long)a->kw,
                 (long long)a->dil_h, (long long)a->dil_w, (long long)(a->h + a->pad_t + a->pad_b),
                 (long long)(a->w + a->pad_l + a->pad_r));
        return AXL_ERR_INVALID;
    }
    *oh = eh / a->stride_h + 1;
    *ow = ew / a->stride_w + 1;
    return AXL_OK;
}

/* 1 when the CUDA backend can run; otherwise a message saying why not. */
static int cuda_ready(char *msg)
{
    if (!axl_cuda_compiled()) {
        snprintf(msg, AXL_MSG_LEN, "this axlut was built without CUDA; use the cpu backend");
        return 0;
    }
    if (axl_cuda_device_count(NULL, 0) == 0) {
        snprintf(msg, AXL_MSG_LEN, "no CUDA device is visible; use the cpu backend");
        return 0;
    }
    return 1;
}

enum axl_status axl_mac_gemm(const struct axl_mac *m, enum axl_backend be,
                             const struct axl_gemm_args *g, char *msg)
{
    if (g->m < 1 || g->n < 1 || g->k < 1) {
        snprintf(msg, AXL_MSG_LEN, "gemm: sizes must be positive (m=%lld n=%lld k=%lld)",
                 (long long)g->m, (long long)g->n, (long long)g->k);
        return AXL_ERR_INVALID;
    }
    if (be == AXL_BACKEND_CUDA)
        return cuda_ready(msg) ? axl_cuda_gemm(m, g, msg) : AXL_ERR_UNSUPPORTED;
    return axl_cpu_gemm(m, g, msg);
}

enum axl_status axl_mac_conv2d(const struct axl_mac *m, enum axl_backend be,
                               const struct axl_conv_args *a, char *msg)
{
    int64_t oh, ow;
    enum axl_status st = axl_conv_out_size(a, &oh, &ow, msg);
    if (st != AXL_OK)
        return st;
    if (be == AXL_BACKEND_CUDA)
        return cuda_ready(msg) ? axl_cuda_conv2d(m, a, oh, ow, msg) : AXL_ERR_UNSUPPORTED;
    return axl_cpu_conv2d(m, a, oh, ow, msg);
}

enum axl_status axl_mac_conv1d(const struct axl_mac *m, enum axl_backend be,
                               const struct axl_conv_args *a, char *msg)
{
    if (a->h != 1 || a->kh != 1 || a->pad_t || a->pad_b) {
        snprintf(msg, AXL_MSG_LEN, "conv1d: h and kh must be 1 and there is no vertical padding");
        return AXL_ERR_INVALID;
    }
    return axl_mac_conv2d(m, be, a, msg);
}
