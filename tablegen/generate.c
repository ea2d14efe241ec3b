/* Exhaustive evaluation of a bound design into a table (OpenMP).
 *
 * Every entry is independent, so any schedule gives the same table; what
 * must not depend on the thread count is the floating-point reduction of
 * the metrics, which metrics.c does row by row in row order. */
#define _POSIX_C_SOURCE 200809L
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "axlut/config.h"
#include "internal.h"

struct axl_format axl_tg_uint_format(uint32_t n)
{
    struct axl_format f;
    memset(&f, 0, sizeof f);
    f.kind = AXL_KIND_UINT;
    f.bits = (uint8_t)n;
    snprintf(f.name, sizeof f.name, "uint%u", n);
    return f;
}

static const char *const k_table_path_names[] = {"full", "mantissa"};
AXL_ENUM_NAMES_DEFINE(axl_table_path, axl_table_path_name, axl_table_path_parse,
                      k_table_path_names)

enum axl_status axl_tg_finish_info(struct axl_table_info *info, char *msg)
{
    if (info->ta.bits < 1 || info->ta.bits > 16 || info->tb.bits < 1 || info->tb.bits > 16 ||
        info->tr.bits < 1 || info->tr.bits > 32) {
        return axl_msgf(msg, AXL_ERR_INVALID,
                        "table formats %s x %s -> %s: operands must have 1..16 bits, results 1..32",
                        info->ta.name, info->tb.name, info->tr.name);
    }
    info->rows = 1ull << info->ta.bits;
    info->cols = 1ull << info->tb.bits;
    info->entry_bytes = axl_entry_bytes(info->tr.bits);
    return AXL_OK;
}

static int too_wide(const struct axl_format *f, int max_bits) { return f->bits > max_bits; }

enum axl_status axl_table_choose_path(const struct axl_design *d, const struct axl_design_ctx *c,
                                      int max_bits, enum axl_table_path *out, char *msg)
{
    if (max_bits <= 0)
        max_bits = AXL_TABLE_MAX_BITS;
    if (max_bits > 16)
        max_bits = 16;
    if (!too_wide(&c->fa, max_bits) && !too_wide(&c->fb, max_bits)) {
        *out = AXL_TABLE_FULL;
        return AXL_OK;
    }
    const char *why;
    char wbuf[96];
    if (!d->mantissa_only || !d->mantissa_core || c->fa.kind != AXL_KIND_FLOAT ||
        c->fb.kind != AXL_KIND_FLOAT)
        why = d->mantissa_only ? "and the design names no mantissa core"
                               : "and the design is not mantissa-only";
    else if (c->fa.mbits > AXL_TABLE_MAX_MANTISSA || c->fb.mbits > AXL_TABLE_MAX_MANTISSA) {
        unsigned m = c->fa.mbits > c->fb.mbits ? c->fa.mbits : c->fb.mbits;
        snprintf(wbuf, sizeof wbuf, "and its mantissas are too wide for a mantissa table "
                                    "(m=%u > %d bits)", m, AXL_TABLE_MAX_MANTISSA);
        why = wbuf;
    } else if (c->fa.mbits < 1 || c->fb.mbits < 1)
        why = "and a mantissa table needs at least one mantissa bit";
    else {
        *out = AXL_TABLE_MANTISSA;
        return AXL_OK;
    }
    return axl_msgf(msg, AXL_ERR_TOO_LARGE,
                    "design %s over %s x %s: operands of %u+%u bits are too wide for a table "
                    "(limit %d+%d) %s; the emulator will call the design's function directly",
                    d->name, c->fa.name, c->fb.name, (unsigned)c->fa.bits, (unsigned)c->fb.bits,
                    max_bits, max_bits, why);
}

void axl_tg_fill_common(struct axl_table_info *info, const struct axl_design *d,
                        const struct axl_design_ctx *c, const char *sha)
{
    info->op = d->op;
    info->round = c->round;
    info->fa = c->fa;
    info->fb = c->fb;
    info->fr = c->fr;
    info->design_version = d->version;
    snprintf(info->design, sizeof info->design, "%s", d->name ? d->name : "");
    snprintf(info->description, sizeof info->description, "%s",
             d->description ? d->description : "");
    snprintf(info->citation, sizeof info->citation, "%s", d->citation ? d->citation : "");
    snprintf(info->source_sha256, sizeof info->source_sha256, "%s", sha ? sha : "");
    info->nparams = d->nparams > AXL_DESIGN_MAX_PARAMS ? AXL_DESIGN_MAX_PARAMS : d->nparams;
    size_t used = 0;
    info->parameters[0] = '\0';
    for (uint32_t i = 0; i < info->nparams; i++) {
        snprintf(info->param_names[i], sizeof info->param_names[i], "%s",
                 d->params[i].name ? d->params[i].name : "");
        info->param[i] = c->param[i];
        int n = snprintf(info->parameters + used, sizeof info->parameters - used, "%s%s=%d",
                         i ? "," : "", info->param_names[i], (int)c->param[i]);
        if (n > 0 && used + (size_t)n < sizeof info->parameters)
            used += (size_t)n;
    }
    snprintf(info->generator_version, sizeof info->generator_version, "%s", AXL_VERSION);
    snprintf(info->generator_commit, sizeof info->generator_commit, "%s", AXL_GIT_COMMIT);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(info->created, sizeof info->created, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The integer core of a mantissa-only design, bound over the significands,
 * with the floating design's parameters passed on by name. */
static enum axl_status bind_core(const struct axl_design *d, const struct axl_design_ctx *c,
                                 const struct axl_design *core, struct axl_design_ctx *cc,
                                 char *msg)
{
    struct axl_format ua = axl_tg_uint_format(c->fa.mbits + 1u);
    struct axl_format ub = axl_tg_uint_format(c->fb.mbits + 1u);
    char buf[AXL_DESIGN_MAX_PARAMS][64];
    const char *params[AXL_DESIGN_MAX_PARAMS];
    int np = 0;
    for (uint32_t i = 0; i < core->nparams && i < AXL_DESIGN_MAX_PARAMS; i++)
        for (uint32_t j = 0; j < d->nparams && j < AXL_DESIGN_MAX_PARAMS; j++)
            if (core->params[i].name && d->params[j].name &&
                !strcmp(core->params[i].name, d->params[j].name)) {
                snprintf(buf[np], sizeof buf[np], "%s=%d", d->params[j].name, (int)c->param[j]);
                params[np] = buf[np];
                np++;
                break;
            }
    char sub[AXL_MSG_LEN];
    enum axl_status s = axl_design_bind(core, &ua, &ub, NULL, params, np, cc, sub);
    if (s != AXL_OK)
        s = axl_msgf(msg, s, "mantissa core %s of %s: %.400s", core->name, d->name, sub);
    cc->round = c->round;
    return s;
}

enum axl_status axl_tg_bad_code(const struct axl_design *d, const struct axl_design_ctx *c,
                                uint64_t a, uint64_t b, uint32_t code, char *msg)
{
    return axl_msgf(msg, AXL_ERR_INVALID,
                    "design %s returned code 0x%x for a=0x%llx, b=0x%llx: wider than its "
                    "result format %s (%u bits)",
                    d->name, code, (unsigned long long)a, (unsigned long long)b, c->fr.name,
                    (unsigned)c->fr.bits);
}

static enum axl_status evaluate(const struct axl_design *d, const struct axl_design_ctx *c,
                                const struct axl_table_opts *o, struct axl_table *t, char *msg)
{
    const struct axl_table_info *in = &t->info;
    const uint64_t rows = in->rows, cols = in->cols, total = rows * cols;
    const uint32_t eb = in->entry_bytes;
    const int report = o->progress && total > AXL_TABLE_PROGRESS_MIN;
    uint64_t first_bad = UINT64_MAX;
    uint32_t bad_code = 0;
    uint64_t rows_done = 0;
    int nt = o->threads > 0 ? o->threads : omp_get_max_threads();

    if (report)
        o->progress(o->progress_user, 0, total);
#pragma omp parallel num_threads(nt)
    {
        uint64_t my_bad = UINT64_MAX;
        uint32_t my_code = 0;
#pragma omp for schedule(dynamic, 1)
        for (int64_t a = 0; a < (int64_t)rows; a++) {
            uint32_t code = 0;
            uint64_t b = axl_tg_eval_row(d, c, cols, eb, t->data, (uint64_t)a, NULL, &code);
            if (b != UINT64_MAX && (uint64_t)a * cols + b < my_bad) {
                my_bad = (uint64_t)a * cols + b;
                my_code = code;
            }
            uint64_t done;
#pragma omp atomic capture
            done = ++rows_done;
            if (report && omp_get_thread_num() == 0)
                o->progress(o->progress_user, done * cols, total);
        }
#pragma omp critical(axl_tg_bad)
        if (my_bad < first_bad) {
            first_bad = my_bad;
            bad_code = my_code;
        }
    }
    if (first_bad != UINT64_MAX)
        return axl_tg_bad_code(d, c, first_bad / cols, first_bad % cols, bad_code, msg);
    if (report)
        o->progress(o->progress_user, total, total);
    return AXL_OK;
}

enum axl_status axl_tg_prepare(const struct axl_design *d, const struct axl_design_ctx *c,
                               const struct axl_table_opts *o, struct axl_table **out,
                               const struct axl_design **ed, struct axl_design_ctx *ec,
                               char *msg)
{
    *out = NULL;
    if (!d || !c || !d->eval) {
        return axl_msgf(msg, AXL_ERR_INVALID, "design %s has no eval function",
                        d && d->name ? d->name : "(null)");
    }
    enum axl_table_path path;
    enum axl_status s = axl_table_choose_path(d, c, o->max_bits, &path, msg);
    if (s != AXL_OK)
        return s;

    struct axl_table *t = calloc(1, sizeof *t);
    if (!t) {
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory for the table of %s", d->name);
    }
    axl_tg_fill_common(&t->info, d, c, o->source_sha256);
    snprintf(t->info.block_format, sizeof t->info.block_format, "%s",
             o->block_format ? o->block_format : "");
    t->info.path = path;
    *ed = d;
    *ec = *c;
    if (path == AXL_TABLE_MANTISSA) {
        const struct axl_design *core =
            o->mantissa_core ? o->mantissa_core : axl_design_find(d->mantissa_core);
        if (!core) {
            free(t);
            return axl_msgf(msg, AXL_ERR_INVALID,
                            "design %s: its mantissa core '%s' is not a built-in design", d->name,
                            d->mantissa_core);
        }
        if ((s = bind_core(d, c, core, ec, msg)) != AXL_OK) {
            free(t);
            return s;
        }
        *ed = core;
        t->info.op = core->op;
        snprintf(t->info.core_design, sizeof t->info.core_design, "%s", core->name);
    }
    t->info.ta = ec->fa;
    t->info.tb = ec->fb;
    t->info.tr = ec->fr;
    if ((s = axl_tg_finish_info(&t->info, msg)) != AXL_OK) {
        free(t);
        return s;
    }
    *out = t;
    return AXL_OK;
}

enum axl_status axl_table_generate(const struct axl_design *d, const struct axl_design_ctx *c,
                                   const struct axl_table_opts *opts, struct axl_table **out,
                                   char *msg)
{
    struct axl_table_opts o0;
    memset(&o0, 0, sizeof o0);
    const struct axl_table_opts *o = opts ? opts : &o0;
    const struct axl_design *ed;
    struct axl_design_ctx ec;
    struct axl_table *t;
    *out = NULL;
    enum axl_status s = axl_tg_prepare(d, c, o, &t, &ed, &ec, msg);
    if (s != AXL_OK)
        return s;
    t->data = malloc(t->info.rows * t->info.cols * t->info.entry_bytes);
    if (!t->data) {
        axl_table_free(t);
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory for the table of %s", d->name);
    }
    if ((s = evaluate(ed, &ec, o, t, msg)) != AXL_OK ||
        (!o->skip_metrics &&
         (s = axl_table_compute_metrics(&t->info, t->data, o->threads, &t->info.metrics, msg)) !=
             AXL_OK)) {
        axl_table_free(t);
        return s;
    }
    *out = t;
    return AXL_OK;
}

enum axl_status axl_table_from_entries(const struct axl_table_info *info, const void *entries,
                                       struct axl_table **out, char *msg)
{
    *out = NULL;
    struct axl_table *t = calloc(1, sizeof *t);
    if (!t)
        return AXL_ERR_NOMEM;
    t->info = *info;
    enum axl_status s = axl_tg_finish_info(&t->info, msg);
    if (s != AXL_OK) {
        free(t);
        return s;
    }
    size_t n = (size_t)(t->info.rows * t->info.cols * t->info.entry_bytes);
    t->data = malloc(n);
    if (!t->data) {
        free(t);
        return AXL_ERR_NOMEM;
    }
    memcpy(t->data, entries, n);
    s = axl_table_compute_metrics(&t->info, t->data, 0, &t->info.metrics, msg);
    if (s != AXL_OK) {
        axl_table_free(t);
        return s;
    }
    *out = t;
    return AXL_OK;
}

void axl_table_free(struct axl_table *t)
{
    if (!t)
        return;
    free(t->data);
    free(t);
}

const struct axl_table_info *axl_table_info(const struct axl_table *t) { return &t->info; }
const void *axl_table_data(const struct axl_table *t) { return t->data; }

uint32_t axl_table_entry(const struct axl_table *t, uint32_t a, uint32_t b)
{
    return axl_entry_get(t->data, t->info.entry_bytes, (uint64_t)a * t->info.cols + b);
}
