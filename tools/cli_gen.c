/* axlut gen, axlut info: build a design's table with its metrics, and show
 * what a table file is. */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "axlut/block.h"
#include "axlut/design.h"
#include "axlut/table.h"
#include "axlut/user_design.h"
#include "cli.h"

#define MAX_PARAMS 16

static void gen_usage(FILE *o)
{
    fprintf(o,
            "usage: axlut gen DESIGN|FILE.c --format FMT [--format-b FMT] [--format-r FMT]\n"
            "                 [--param NAME=VALUE]... [--round MODE] [--threads N]\n"
            "                 [--timeout S] -o TABLE.h5 [--force]\n"
            "       axlut gen DESIGN --format FMT --metrics-only [--samples N [--seed S]]\n"
            "                 -o METRICS.h5 [--threads N] [--force]\n\n"
            "Evaluates a design over every pair of operand codes and writes its table and\n"
            "its error against the exact unit (tables/SCHEMA.md) to TABLE.h5.\n\n"
            "  DESIGN          a built-in design (axlut list designs), or\n"
            "  FILE.c          a C file defining `const struct axl_design axl_user_design`;\n"
            "                  compiled with $CC (default cc) and cached by content hash in\n"
            "                  $AXL_CACHE_DIR, $XDG_CACHE_HOME/axlut or ~/.cache/axlut\n"
            "  --format FMT    operand a's format (and b's unless --format-b); optional for\n"
            "                  designs with fixed formats\n"
            "  --format-b FMT  operand b's format\n"
            "  --format-r FMT  result format of a floating design (default: a's format)\n"
            "  --param N=V     a design parameter (repeatable)\n"
            "  --round MODE    rounding of floating results: nearest (default), zero, up,\n"
            "                  down, stochastic\n"
            "  --threads N     threads (default: all); the table does not depend on it\n"
            "  --timeout S     user designs: stop a check or an evaluation that takes over\n"
            "                  S seconds (default %g, or $AXL_DESIGN_TIMEOUT; 0: no limit).\n"
            "                  A user design is loaded, checked and evaluated in a child\n"
            "                  process: a crash, an exit or a loop that never ends (in eval\n"
            "                  or a constructor) is reported with the signal and the operand\n"
            "                  pair, and nothing is written\n"
            "  -o TABLE.h5     output file, written to a temporary name and renamed at the end\n"
            "  --force         overwrite an existing TABLE.h5\n"
            "  --metrics-only  no table: the metrics and error histogram over every pair of\n"
            "                  operands of up to 16 bits each (2^32 pairs for int16, fp16,\n"
            "                  bf16), the same bits for any number of threads or MPI ranks\n"
            "                  (mpirun -n N axlut gen ...), equal to a full table's metrics\n"
            "  --samples N     with --metrics-only: N uniformly drawn pairs instead (fp32,\n"
            "                  32-bit integers), each mean with a 95%% confidence interval\n"
            "  --seed S        the draw's seed (default 1)\n\n"
            "Full tables take operands of up to %d bits each; mantissa-only floating designs\n"
            "get a table of their integer core for up to %d mantissa bits.  Wider formats\n"
            "have no table: the emulator calls the design's function directly.\n"
            "Exit status: 0 done, 1 failed while working, 2 bad usage or input.\n",
            AXL_ISOLATE_DEFAULT_TIMEOUT, AXL_TABLE_MAX_BITS, AXL_TABLE_MAX_MANTISSA);
}

static void info_usage(FILE *o)
{
    fprintf(o, "usage: axlut info TABLE.h5 [--json]\n\n"
               "Prints which design, formats and path a table file holds, its size and its\n"
               "metrics (tables/SCHEMA.md); --json prints one JSON object for scripts.\n"
               "Exit status: 0 done, 2 the file is missing, unreadable or not an axlut table.\n");
}

static int is_user_file(const char *s)
{
    size_t n = strlen(s);
    return strchr(s, '/') != NULL || (n > 2 && !strcmp(s + n - 2, ".c"));
}

struct bar {
    int shown, ended;
    double t0;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void progress_bar(void *user, uint64_t done, uint64_t total)
{
    struct bar *b = user;
    const int width = 40;
    int fill = total ? (int)((double)done / (double)total * width) : width;
    fprintf(stderr, "\r[%.*s%*s] %3d%%  %.1f s", fill, "########################################",
            width - fill, "", total ? (int)(100.0 * (double)done / (double)total) : 100,
            now_s() - b->t0);
    b->shown = 1;
    if (done >= total) {
        fputc('\n', stderr);
        b->ended = 1;
    }
    fflush(stderr);
}

static const char *op_name(uint32_t op) { return axl_op_name((enum axl_op)op); }
static const char *path_name(uint32_t p) { return axl_table_path_name((enum axl_table_path)p); }

static void print_summary(const struct axl_table_info *in)
{
    const struct axl_metrics *m = &in->metrics;
    printf("design      %s%s%s%s  (version %u)\n", in->design, in->parameters[0] ? " (" : "",
           in->parameters, in->parameters[0] ? ")" : "", in->design_version);
    /* integer results are exact integers: no rounding to show */
    printf("operation   %s: %s x %s -> %s%s%s\n", op_name(in->op), in->fa.name, in->fb.name,
           in->fr.name, in->fr.kind == AXL_KIND_FLOAT ? ", round " : "",
           in->fr.kind == AXL_KIND_FLOAT ? axl_round_name((enum axl_round)in->round) : "");
    if (in->metrics_only && m->samples)
        printf("table       none (metrics only): %llu pairs drawn uniformly, seed %llu; "
               "95%% intervals: EP +-%.3g, bias +-%.3g, MAE +-%.3g, MSE +-%.3g, MRED +-%.3g\n",
               (unsigned long long)m->samples, (unsigned long long)m->seed, m->ci95_ep,
               m->ci95_mean_error, m->ci95_mae, m->ci95_mse, m->ci95_mred);
    else if (in->metrics_only)
        printf("table       none (metrics only): every pair of %llu x %llu evaluated\n",
               (unsigned long long)in->rows, (unsigned long long)in->cols);
    else if (in->path == AXL_TABLE_MANTISSA)
        printf("table       mantissa: core %s over %s x %s -> %s, %llu x %llu entries of %u "
               "bytes\n",
               in->core_design, in->ta.name, in->tb.name, in->tr.name,
               (unsigned long long)in->rows, (unsigned long long)in->cols, in->entry_bytes);
    else
        printf("table       full: %llu x %llu entries of %u bytes\n",
               (unsigned long long)in->rows, (unsigned long long)in->cols, in->entry_bytes);
    printf("pairs       %llu (%llu compared, %llu with exact result 0 skipped in relative "
           "metrics)\n",
           (unsigned long long)m->pairs, (unsigned long long)m->compared,
           (unsigned long long)(m->compared - m->rel_pairs));
    if (m->nan_results || m->inf_results || m->exact_nonfinite || m->special_mismatch)
        printf("non-finite  %llu NaN, %llu inf results; %llu exact non-finite; %llu mismatched\n",
               (unsigned long long)m->nan_results, (unsigned long long)m->inf_results,
               (unsigned long long)m->exact_nonfinite, (unsigned long long)m->special_mismatch);
    printf("EP %.6g  bias %.6g  MAE %.6g  MSE %.6g  RMSE %.6g  WCE %.6g (a=0x%x b=0x%x)\n", m->ep,
           m->mean_error, m->mae, m->mse, m->rmse, m->wce, m->wce_a, m->wce_b);
    printf("MRED %.6g  worst relative %.6g (a=0x%x b=0x%x)  NMED %.6g\n", m->mred, m->wre,
           m->wre_a, m->wre_b, m->nmed);
    printf("EvoApprox8b forms: MAE %.6g  WCE %.6g  MSE %.6g  EP%% %.4f  MRE%% %.4f  WCRE%% %.4f  "
           "MAE%% %.4f  WCE%% %.4f\n",
           m->mae, m->wce, m->mse, m->ep_pct, m->mre_pct, m->wcre_pct, m->mae_pct, m->wce_pct);
}

struct gen_args {
    const char *design, *out, *fa_name, *fb_name, *fr_name;
    const char *params[MAX_PARAMS + 1];
    char round_param[64];
    int np, force, threads, metrics_only;
    uint64_t samples, seed;
    double timeout;
};

/* CLI_OK, or the exit status after a message (help: -1). */
static int gen_parse(int argc, char **argv, struct gen_args *g)
{
    memset(g, 0, sizeof *g);
    g->timeout = axl_user_design_timeout();
    g->seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (cli_is_help(a)) {
            gen_usage(stdout);
            return -1;
        } else if (!strcmp(a, "--force")) {
            g->force = 1;
        } else if (!strcmp(a, "--metrics-only")) {
            g->metrics_only = 1;
        } else if ((!strcmp(a, "--samples") || !strcmp(a, "--seed")) && v) {
            char *end;
            unsigned long long n = strtoull(v, &end, 10);
            if (*end || end == v || v[0] == '-' || (a[3] == 'a' && n < 2)) {
                fprintf(stderr, "axlut gen: %s needs a count%s, not '%s'\n", a,
                        a[3] == 'a' ? " >= 2" : "", v);
                return CLI_USAGE;
            }
            *(a[3] == 'a' ? &g->samples : &g->seed) = n;
            i++;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--format") || !strcmp(a, "--format-b") ||
                   !strcmp(a, "--format-r") || !strcmp(a, "--param") || !strcmp(a, "--round") ||
                   !strcmp(a, "--threads") || !strcmp(a, "--timeout")) {
            if (!v) {
                fprintf(stderr, "axlut gen: %s needs a value\n", a);
                return CLI_USAGE;
            }
            i++;
            if (!strcmp(a, "-o"))
                g->out = v;
            else if (!strcmp(a, "--format"))
                g->fa_name = v;
            else if (!strcmp(a, "--format-b"))
                g->fb_name = v;
            else if (!strcmp(a, "--format-r"))
                g->fr_name = v;
            else if (!strcmp(a, "--threads")) {
                char *end;
                long t = strtol(v, &end, 10);
                if (*end || t < 1 || t > 1024) {
                    fprintf(stderr, "axlut gen: --threads needs a count 1..1024, not '%s'\n", v);
                    return CLI_USAGE;
                }
                g->threads = (int)t;
            } else if (!strcmp(a, "--timeout")) {
                char *end;
                double t = strtod(v, &end);
                if (*end || end == v || !(t >= 0) || t > 1e6) {
                    fprintf(stderr, "axlut gen: --timeout needs seconds >= 0 (0: no limit), not "
                                    "'%s'\n",
                            v);
                    return CLI_USAGE;
                }
                g->timeout = t;
            } else if (!strcmp(a, "--round")) {
                enum axl_round r;
                if (axl_round_parse(v, &r) != AXL_OK) {
                    fprintf(stderr, "axlut gen: --round %s: use nearest, zero, up, down or "
                                    "stochastic\n",
                            v);
                    return CLI_USAGE;
                }
                snprintf(g->round_param, sizeof g->round_param, "round=%s", v);
                if (g->np >= MAX_PARAMS) {
                    fprintf(stderr, "axlut gen: too many parameters\n");
                    return CLI_USAGE;
                }
                g->params[g->np++] = g->round_param;
            } else {
                if (g->np >= MAX_PARAMS || !strchr(v, '=')) {
                    fprintf(stderr, "axlut gen: --param %s: expected NAME=VALUE\n", v);
                    return CLI_USAGE;
                }
                g->params[g->np++] = v;
            }
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "axlut gen: unknown option '%s' (axlut gen --help)\n", a);
            return CLI_USAGE;
        } else if (!g->design) {
            g->design = a;
        } else {
            fprintf(stderr, "axlut gen: unexpected argument '%s'\n", a);
            return CLI_USAGE;
        }
    }
    if (!g->design || !g->out) {
        fprintf(stderr, "axlut gen: %s (axlut gen --help)\n",
                !g->design ? "no design given" : "no output given: -o TABLE.h5");
        return CLI_USAGE;
    }
    if (g->samples && !g->metrics_only) {
        fprintf(stderr, "axlut gen: --samples goes with --metrics-only (a table holds every "
                        "pair)\n");
        return CLI_USAGE;
    }
    if (!g->force && access(g->out, F_OK) == 0) {
        fprintf(stderr, "axlut gen: %s exists (use --force to overwrite)\n", g->out);
        return CLI_USAGE;
    }

    return CLI_OK;
}

int cli_gen(int argc, char **argv)
{
    struct gen_args ga;
    int prc = gen_parse(argc, argv, &ga);
    if (prc != CLI_OK)
        return prc < 0 ? CLI_OK : prc;
    const char *design = ga.design, *out = ga.out, *fa_name = ga.fa_name, *fb_name = ga.fb_name,
               *fr_name = ga.fr_name;
    const char *const *params = ga.params;
    int np = ga.np, force = ga.force, threads = ga.threads;
    double timeout = ga.timeout;
    int rc = CLI_USAGE;
    char msg[AXL_MSG_LEN];
    struct axl_user_design *user = NULL;
    struct axl_table *table = NULL;
    const struct axl_design *d;
    if (is_user_file(design)) {
        size_t len = strlen(design);
        if (len < 2 || strcmp(design + len - 2, ".c")) {
            fprintf(stderr, "axlut gen: %s: a user design is a C file ending in .c\n", design);
            return CLI_USAGE;
        }
        const struct cli_file outs[] = {{"-o", out}}, ins[] = {{"the design", design}};
        if (cli_input_file("axlut gen", design) != CLI_OK ||
            cli_outputs_distinct("axlut gen", outs, 1, ins, 1) != CLI_OK)
            return CLI_USAGE;
        char *log = NULL;
        enum axl_status s = axl_user_design_load_timeout(design, timeout, &user, &log, msg);
        if (s != AXL_OK) {
            if (log)
                fputs(log, stderr);
            free(log);
            fprintf(stderr, "axlut gen: %s\n", msg);
            return s == AXL_ERR_COMPILE ? CLI_FAIL : CLI_USAGE;
        }
        d = axl_user_design_get(user);
    } else if (!(d = axl_design_find(design))) {
        fprintf(stderr, "axlut gen: unknown design '%s' (axlut list designs shows them; a user "
                        "design is a .c file)\n",
                design);
        return CLI_USAGE;
    }

    struct axl_format fa, fb, fr;
    if (!fa_name && d->operands == AXL_OPERANDS_FIXED)
        fa_name = d->fmt_a, fb_name = fb_name ? fb_name : d->fmt_b;
    if (!fa_name) {
        fprintf(stderr, "axlut gen: design %s needs --format FMT\n", d->name);
        goto done;
    }
    if (!fb_name)
        fb_name = fa_name;
    /* a block-scaled format: the table of its element formats, which
     * records the block format it serves */
    struct axl_block_format bfa, bfb;
    const char *block = NULL;
    if (axl_block_format_is(fa_name) || axl_block_format_is(fb_name)) {
        if (axl_block_format_parse(fa_name, &bfa, msg) != AXL_OK ||
            axl_block_format_parse(fb_name, &bfb, msg) != AXL_OK || strcmp(bfa.name, bfb.name)) {
            fprintf(stderr, "axlut gen: --format %s and --format-b %s: a table serves one block "
                            "format, given for both operands\n", fa_name, fb_name);
            goto done;
        }
        block = bfa.name;
        fa_name = fb_name = bfa.elem.name;
        /* the products a block-scaled layer takes by default (plan.c) */
        if (!fr_name && bfa.elem.kind == AXL_KIND_FLOAT)
            fr_name = "fp32";
    }
    if (axl_format_parse(fa_name, &fa, msg) != AXL_OK ||
        axl_format_parse(fb_name, &fb, msg) != AXL_OK ||
        (fr_name && axl_format_parse(fr_name, &fr, msg) != AXL_OK)) {
        /* int17..int32 are formats of integer accumulators only: an adder
         * on them runs as a function inside a layer, never as a table */
        struct axl_format wide;
        if (axl_format_parse_int_acc(fa_name, &wide, NULL) == AXL_OK && wide.bits > 16)
            fprintf(stderr, "axlut gen: %s operands: no table that wide (at most 16 bits per "
                    "operand); a %u-bit adder runs as a function in an integer layer's "
                    "accumulator (axlut run --format int8 --add DESIGN --acc-format %s)\n",
                    wide.name, (unsigned)wide.bits, wide.name);
        else
            fprintf(stderr, "axlut gen: %s\n", msg);
        goto done;
    }
    struct axl_design_ctx ctx;
    if (axl_design_bind(d, &fa, &fb, fr_name ? &fr : NULL, params, np, &ctx, msg) != AXL_OK) {
        fprintf(stderr, "axlut gen: %s\n", msg);
        goto done;
    }
    if (ga.metrics_only) {
        struct cli_charz_args ca = {out, force, threads, ga.samples, ga.seed,
                                    user ? axl_user_design_sha256(user) : NULL};
        rc = cli_gen_metrics(d, &ctx, &ca, print_summary);
        goto done;
    }
    enum axl_table_path path;
    if (axl_table_choose_path(d, &ctx, 0, &path, msg) != AXL_OK) {
        fprintf(stderr, "axlut gen: %s\n", msg);
        goto done;
    }

    struct bar bar = {0, 0, now_s()};
    struct axl_table_opts opts;
    memset(&opts, 0, sizeof opts);
    opts.threads = threads;
    opts.progress = isatty(fileno(stderr)) ? progress_bar : NULL;
    opts.progress_user = &bar;
    opts.source_sha256 = user ? axl_user_design_sha256(user) : NULL;
    opts.block_format = block;
    rc = CLI_FAIL;
    /* Built-in designs are ours and need no guard; a user's code runs in a
     * child process, so a crash or an endless loop cannot take us down. */
    enum axl_status s = user ? axl_table_generate_isolated(d, &ctx, &opts, timeout, &table, NULL, msg)
                             : axl_table_generate(d, &ctx, &opts, &table, msg);
    if (s != AXL_OK) {
        if (bar.shown && !bar.ended)
            fputc('\n', stderr);
        fprintf(stderr, "axlut gen: %s; nothing written\n", msg);
        goto done;
    }
    double t_gen = now_s() - bar.t0;
    if ((s = axl_table_write(table, out, force, msg)) != AXL_OK) {
        fprintf(stderr, "axlut gen: %s\n", msg);
        rc = s == AXL_ERR_INVALID ? CLI_USAGE : CLI_FAIL;
        goto done;
    }
    printf("wrote %s in %.2f s\n", out, now_s() - bar.t0);
    (void)t_gen;
    print_summary(axl_table_info(table));
    rc = CLI_OK;
done:
    axl_table_free(table);
    axl_user_design_free(user);
    return rc;
}

/* --- info ---------------------------------------------------------------- */

static json_t *format_json(const struct axl_format *f)
{
    json_t *o = json_pack("{s:s, s:s, s:I}", "name", f->name, "kind",
                          axl_format_kind_name(f->kind), "bits", (json_int_t)f->bits);
    if (o && f->kind == AXL_KIND_FLOAT) {
        json_object_set_new(o, "ebits", json_integer((json_int_t)f->ebits));
        json_object_set_new(o, "mbits", json_integer((json_int_t)f->mbits));
        json_object_set_new(o, "bias", json_integer((json_int_t)f->bias));
        json_object_set_new(o, "subnormals", json_integer((json_int_t)f->subnormals));
    }
    return o;
}

/* Every metric; reals as "%.17g" gives them (the exact double). */
static json_t *metrics_json(const struct axl_metrics *m)
{
    json_t *o = json_object();
    const struct {
        const char *key;
        uint64_t v;
    } counts[] = {{"pairs", m->pairs},
                  {"compared", m->compared},
                  {"errors", m->errors},
                  {"nan_results", m->nan_results},
                  {"inf_results", m->inf_results},
                  {"exact_nonfinite", m->exact_nonfinite},
                  {"special_mismatch", m->special_mismatch},
                  {"rel_pairs", m->rel_pairs}};
    const struct {
        const char *key;
        double v;
    } reals[] = {{"ep", m->ep},
                 {"mean_error", m->mean_error},
                 {"mae", m->mae},
                 {"mse", m->mse},
                 {"rmse", m->rmse},
                 {"wce", m->wce},
                 {"mred", m->mred},
                 {"wre", m->wre},
                 {"max_exact", m->max_exact},
                 {"nmed", m->nmed},
                 {"output_range", m->output_range},
                 {"MAE", m->mae},
                 {"WCE", m->wce},
                 {"MSE", m->mse},
                 {"EP%", m->ep_pct},
                 {"MRE%", m->mre_pct},
                 {"WCRE%", m->wcre_pct},
                 {"MAE%", m->mae_pct},
                 {"WCE%", m->wce_pct},
                 {"histogram_range", m->hist_range}};
    for (size_t i = 0; o && i < sizeof counts / sizeof counts[0]; i++)
        json_object_set_new(o, counts[i].key, json_integer((json_int_t)counts[i].v));
    for (size_t i = 0; o && i < sizeof reals / sizeof reals[0]; i++)
        json_object_set_new(o, reals[i].key, cli_json_number(reals[i].v, 17));
    if (o && m->samples) { /* a sampled characterisation: its draw and intervals */
        json_object_set_new(o, "samples", json_integer((json_int_t)m->samples));
        json_object_set_new(o, "seed", json_integer((json_int_t)m->seed));
        json_object_set_new(o, "ci95", json_pack("{s:o, s:o, s:o, s:o, s:o}", "ep",
                                                 cli_json_number(m->ci95_ep, 17), "mean_error",
                                                 cli_json_number(m->ci95_mean_error, 17), "mae",
                                                 cli_json_number(m->ci95_mae, 17), "mse",
                                                 cli_json_number(m->ci95_mse, 17), "mred",
                                                 cli_json_number(m->ci95_mred, 17)));
    }
    json_t *h = json_array();
    for (int i = 0; h && i < AXL_TABLE_HIST_BINS; i++)
        json_array_append_new(h, json_integer((json_int_t)m->hist[i]));
    if (o)
        json_object_set_new(o, "histogram", h);
    else
        json_decref(h);
    return o;
}

static int print_json(const char *file, const struct axl_table_info *in)
{
    json_t *o = json_pack(
        "{s:o, s:o, s:o, s:o, s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:I, "
        "s:I, s:I, s:o, s:o, s:o, s:o, s:o}",
        "file", cli_json_text(file), "design", cli_json_text(in->design), "description",
        cli_json_text(in->description), "citation", cli_json_text(in->citation), "op",
        op_name(in->op), "path", path_name(in->path), "core_design",
        cli_json_text(in->core_design), "round", axl_round_name((enum axl_round)in->round),
        "parameters", cli_json_text(in->parameters), "a_format", format_json(&in->fa),
        "b_format", format_json(&in->fb), "result_format", format_json(&in->fr),
        "table_a_format", format_json(&in->ta), "table_b_format", format_json(&in->tb),
        "table_result_format", format_json(&in->tr), "rows", (json_int_t)in->rows, "cols",
        (json_int_t)in->cols, "entry_bytes", (json_int_t)in->entry_bytes, "design_version",
        (json_int_t)in->design_version, "design_source_sha256", cli_json_text(in->source_sha256),
        "generator_version", cli_json_text(in->generator_version), "generator_commit",
        cli_json_text(in->generator_commit), "created", cli_json_text(in->created), "metrics",
        metrics_json(&in->metrics));
    if (o)
        json_object_set_new(o, "metrics_only", json_boolean(in->metrics_only));
    if (o)
        json_object_set_new(o, "block_format", cli_json_text(in->block_format));
    return cli_json_write(o, NULL, 17, "axlut info");
}

int cli_info(int argc, char **argv)
{
    const char *file = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            info_usage(stdout);
            return CLI_OK;
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "axlut info: unknown option '%s' (axlut info --help)\n", argv[i]);
            return CLI_USAGE;
        } else if (!file) {
            file = argv[i];
        } else {
            fprintf(stderr, "axlut info: one table at a time ('%s' is extra)\n", argv[i]);
            return CLI_USAGE;
        }
    }
    if (!file) {
        fprintf(stderr, "axlut info: no table given (axlut info --help)\n");
        return CLI_USAGE;
    }
    struct axl_table_info in;
    char msg[AXL_MSG_LEN];
    if (axl_table_load_info(file, &in, msg) != AXL_OK) {
        fprintf(stderr, "axlut info: %s\n", msg);
        return CLI_USAGE;
    }
    if (json)
        return print_json(file, &in);
    printf("file        %s\n", file);
    print_summary(&in);
    printf("citation    %s\n", in.citation[0] ? in.citation : "-");
    if (in.block_format[0])
        printf("block       serves the element products of block format %s\n", in.block_format);
    if (in.source_sha256[0])
        printf("source      sha256 %s\n", in.source_sha256);
    printf("generator   axlut %s (commit %s), created %s\n", in.generator_version,
           in.generator_commit, in.created);
    return CLI_OK;
}
