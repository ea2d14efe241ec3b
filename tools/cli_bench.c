/* axlut bench: approximate MACs per second of the engine's kernels, against
 * exact float32 through BLAS and against the straightforward LUT loop of
 * peer tools, on the same shapes in the same run (bench/cases.c). */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "axlut/emu.h"
#include "axlut/layers.h"
#include "axlut/mac.h"
#include "baselines.h"
#include "cases.h"
#include "cli.h"

static void bench_usage(FILE *o)
{
    fprintf(o,
            "usage: axlut bench [--quick] [--json FILE] [--device cpu|cuda] [--threads N]\n"
            "                   [--case NAME] [--reps N] [--list]\n"
            "       axlut bench --network MODEL.onnx --data DATA.h5 [--limit N] [--batch N]\n"
            "                   [--reps N] [--device cpu|cuda] [--threads N] [MAC options]\n\n"
            "Measures approximate multiply-accumulates per second of the MAC engine on\n"
            "ResNet-18's 3x3 convolutions at 224x224 (batch 1 and 8) and a 1024^3 GEMM, for\n"
            "an int8 table (mitchell), an fp8 e4m3 table (fpmul_drum k=4), a design on the\n"
            "function path in bf16 and fp32 (fpmul_mitchell), the e4m3 table with an\n"
            "approximate adder on fp16 accumulators (fpadd_loa k=4) and the bf16 mantissa\n"
            "path into that adder (these four on a few shapes only, they are slow).  The\n"
            "design batch ISA is printed.  In the\n"
            "same run each shape also goes through exact float32 BLAS (im2col + sgemm) and\n"
            "through the naive LUT loop of peer tools (one lut[a][b] gather per MAC).\n\n"
            "  --quick         a subset that runs in under a minute on two cores\n"
            "  --json FILE     also write the results as a JSON list of cases\n"
            "  --device DEV    cpu (default) or cuda for the approximate kernels; cuda falls\n"
            "                  back to cpu with a notice when no GPU is visible.  The\n"
            "                  baselines always run on the CPU\n"
            "  --threads N     OpenMP (and BLAS) threads; default: all\n"
            "  --case NAME     only the cases matching NAME: a case (SHAPE/CONFIG), a shape,\n"
            "                  a group (resnet18, gemm, tiny) or a config\n"
            "  --reps N        timed repetitions after the warm-up (default: 5 under a\n"
            "                  second, 3 under ten, else 1); the median is reported\n"
            "  --list          list the shapes, the configs and the cases selected; run nothing\n"
            "  --network M     instead: whole-network images/s of `axlut run M --data D` (the\n"
            "                  approximate pass; MAC options as for axlut run) with weights\n"
            "                  prepared once per plan, against encoding them on every call,\n"
            "                  alternating rounds (--reps, default 3; --limit default 200)\n\n"
            "Times are wall-clock medians.  The engine, the naive loop and BLAS are warmed\n"
            "up, then run in interleaved rounds, so that a change of load on a shared\n"
            "machine weighs on all three.  The engine's time includes encoding activations\n"
            "(weights are prepared once per plan, as in a network run, during the warm-up),\n"
            "the naive loop's its quantization and padding, BLAS's its im2col (also\n"
            "reported on its own).\n\n"
            "OpenBLAS reads its settings when it loads: OPENBLAS_CORETYPE picks its kernels\n"
            "where it does not recognise the CPU (a notice says so), and\n"
            "OPENBLAS_THREAD_TIMEOUT=4 stops its idle workers spinning against OpenMP.\n"
            "Exit status: 0 done, 1 failed while working, 2 bad usage.\n");
}

struct opts {
    int quick;
    const char *json;
    enum axl_backend be;
    int threads;
    const char *name;
    int reps;
};

struct result {
    const struct bench_shape *s;
    const struct bench_config *c;
    char desc[AXL_MSG_LEN];
    const char *path;
    int64_t macs;
    int reps;
    double setup_s, approx_s, naive_s, blas_s, im2col_s; /* blas_s < 0: no BLAS */
    double approx_cpu_s, naive_cpu_s, blas_cpu_s;        /* process CPU seconds */
    double approx_err, naive_err;                        /* vs BLAS; < 0: unknown */
};

/* ---- timing ---------------------------------------------------------------- */

typedef enum axl_status (*run_fn)(void *ctx, double *aux, char *msg);

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#define MAX_REPS 32
#define N_METHODS 3

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* One timed method: f(ctx) with its warm-up, repetitions and medians. */
struct timing {
    run_fn f;
    int reps; /* in: requested (<= 0: from the warm-up); out: done */
    double t[MAX_REPS], aux[MAX_REPS], cpu[MAX_REPS];
    double med, aux_med, cpu_med; /* cpu: process CPU seconds, which on a loaded machine
                                     (time-slicing) is steadier than wall time; single
                                     thread (--threads 1), where no thread spins idle */
};

/* Every method's warm-up, then rounds in which each method that still needs
 * a repetition runs once: the methods are interleaved, so that a machine
 * whose load changes during a case (a shared VM) weighs on all of them
 * alike and their ratios stay meaningful.  Medians per method. */
static enum axl_status time_methods(struct timing *tm, int n, void *ctx, char *msg)
{
    enum axl_status st;
    int rounds = 0;
    for (int i = 0; i < n; i++) {
        double aux = 0.0, t0 = bench_now();
        if ((st = tm[i].f(ctx, &aux, msg)) != AXL_OK)
            return st;
        double warm = bench_now() - t0;
        if (tm[i].reps <= 0)
            tm[i].reps = warm < 1.0 ? 5 : warm < 10.0 ? 3 : 1;
        if (tm[i].reps > MAX_REPS)
            tm[i].reps = MAX_REPS;
        if (tm[i].reps > rounds)
            rounds = tm[i].reps;
    }
    for (int r = 0; r < rounds; r++)
        for (int i = 0; i < n; i++) {
            if (r >= tm[i].reps)
                continue;
            double aux = 0.0, c0 = cpu_now(), t0 = bench_now();
            if ((st = tm[i].f(ctx, &aux, msg)) != AXL_OK)
                return st;
            tm[i].t[r] = bench_now() - t0;
            tm[i].cpu[r] = cpu_now() - c0;
            tm[i].aux[r] = aux;
        }
    for (int i = 0; i < n; i++) {
        tm[i].med = median(tm[i].t, tm[i].reps);
        tm[i].aux_med = median(tm[i].aux, tm[i].reps);
        tm[i].cpu_med = median(tm[i].cpu, tm[i].reps);
    }
    return AXL_OK;
}

struct job {
    const struct bench_dims *d;
    const float *x, *w;
    float *ya, *yn, *yb; /* outputs of the engine, the naive loop, BLAS */
    const struct axl_mac *m;
    enum axl_backend be;
    const struct bench_lut *lut;
    float *col; /* BLAS im2col workspace */
};

static enum axl_status run_approx(void *ctx, double *aux, char *msg)
{
    const struct job *j = ctx;
    const struct bench_dims *d = j->d;
    (void)aux;
    if (d->is_gemm) {
        struct axl_gemm_args g = {.trans_b = 1, .m = d->gm, .n = d->gn, .k = d->gk, .a = j->x,
                                  .lda = d->gk, .b = j->w, .ldb = d->gk, .c = j->ya, .ldc = d->gn};
        return axl_mac_gemm(j->m, j->be, &g, msg);
    }
    struct axl_conv_args a = {.n = d->n, .c = d->c, .h = d->h, .w = d->w, .oc = d->oc,
                              .kh = d->k, .kw = d->k, .stride_h = d->stride,
                              .stride_w = d->stride, .pad_t = d->pad, .pad_l = d->pad,
                              .pad_b = d->pad, .pad_r = d->pad, .dil_h = 1, .dil_w = 1,
                              .groups = 1, .x = j->x, .weight = j->w, .y = j->ya};
    return axl_mac_conv2d(j->m, j->be, &a, msg);
}

static enum axl_status run_naive(void *ctx, double *aux, char *msg)
{
    const struct job *j = ctx;
    (void)aux;
    enum axl_status st = bench_lut_run(j->lut, j->d, j->x, j->w, j->yn);
    if (st != AXL_OK)
        return axl_msgf(msg, st, "naive LUT baseline: out of memory");
    return AXL_OK;
}

static enum axl_status run_blas(void *ctx, double *aux, char *msg)
{
    const struct job *j = ctx;
    enum axl_status st = bench_blas_run(j->d, j->x, j->w, j->yb, j->col, aux);
    if (st != AXL_OK)
        return axl_msgf(msg, st, "BLAS baseline: %s", axl_strerror(st));
    return AXL_OK;
}

/* ---- one case -------------------------------------------------------------- */

/* Deterministic uniform values in [-amp, amp). */
static void fill(float *v, int64_t n, uint64_t seed, float amp)
{
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (int64_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        v[i] = amp * ((float)(s >> 40) / (float)(1u << 23) - 1.0f);
    }
}

/* Relative RMS difference of y from the reference r. */
static double rel_rms(const float *y, const float *r, int64_t n)
{
    double num = 0.0, den = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double e = (double)y[i] - (double)r[i];
        num += e * e;
        den += (double)r[i] * r[i];
    }
    return den > 0.0 ? sqrt(num / den) : sqrt(num);
}

/* A config as `axlut run` options would give it (--mul, --param, --format,
 * --path, --add, --add-param, --acc-format): the same configuration, and so the same engine, as a run. */
static enum axl_status config_layers(const struct bench_config *c, struct axl_layers **out,
                                     char *msg)
{
    enum axl_status st = axl_layers_new(out, msg);
    if (st == AXL_OK)
        st = axl_layers_set_default(*out, "mul", c->mul, msg);
    if (st == AXL_OK && c->param)
        st = axl_layers_set_default(*out, "param", c->param, msg);
    if (st == AXL_OK)
        st = axl_layers_set_default(*out, "format", c->fmt, msg);
    if (st == AXL_OK)
        st = axl_layers_set_default(*out, "path", axl_path_name(c->path), msg);
    if (st == AXL_OK && c->add)
        st = axl_layers_set_default(*out, "add", c->add, msg);
    if (st == AXL_OK && c->add_param)
        st = axl_layers_set_default(*out, "add-param", c->add_param, msg);
    if (st == AXL_OK && c->acc_fmt)
        st = axl_layers_set_default(*out, "acc-format", c->acc_fmt, msg);
    if (st == AXL_OK && bench_config_scaled(c))
        st = axl_layers_set_default(*out, "wscale", "per-channel", msg);
    if (st == AXL_OK && bench_config_scaled(c))
        st = axl_layers_set_default(*out, "ascale", "dynamic", msg);
    return st;
}

static enum axl_status run_case(const struct opts *o, const struct bench_shape *s,
                                const struct bench_config *c, struct result *r, char *msg)
{
    const struct bench_dims *d = &s->d;
    memset(r, 0, sizeof *r);
    r->s = s;
    r->c = c;
    r->macs = bench_macs(d);
    r->blas_s = r->approx_err = r->naive_err = -1.0;
    int64_t nx = d->is_gemm ? d->gm * d->gk : d->n * d->c * d->h * d->w;
    int64_t nw = d->is_gemm ? d->gn * d->gk : d->oc * d->c * d->k * d->k;
    int64_t ny = d->is_gemm ? d->gm * d->gn : d->n * d->oc * bench_out_h(d) * bench_out_w(d);

    enum axl_status st = AXL_OK;
    struct axl_mac *m = NULL;
    struct axl_layers *layers = NULL;
    struct bench_lut *lut = malloc(sizeof *lut);
    float *x = malloc((size_t)nx * sizeof *x), *w = malloc((size_t)nw * sizeof *w);
    float *ya = malloc((size_t)ny * sizeof *ya), *yn = malloc((size_t)ny * sizeof *yn);
    float *yb = malloc((size_t)ny * sizeof *yb), *col = NULL;
    if (!lut || !x || !w || !ya || !yn || !yb) {
        st = axl_msgf(msg, AXL_ERR_NOMEM, "%s: out of memory", s->name);
        goto done;
    }
    fill(x, nx, 1, 1.0f);
    fill(w, nw, 2, 0.25f);

    struct axl_mac_spec spec;
    char tmp[AXL_MSG_LEN];
    if ((st = config_layers(c, &layers, tmp)) != AXL_OK) {
        axl_msgf(msg, st, "%s: %.400s", c->name, tmp);
        goto done;
    }
    int exact;
    axl_layers_resolve(layers, s->name, d->is_gemm ? "Gemm" : "Conv", &spec, &exact);
    double t0 = bench_now();
    if ((st = axl_mac_create(&spec, &m, tmp)) != AXL_OK) {
        axl_msgf(msg, st, "%s: %.400s", c->name, tmp);
        goto done;
    }
    r->setup_s = bench_now() - t0;
    axl_mac_describe(m, r->desc, sizeof r->desc);
    r->path = axl_path_name(axl_mac_path(m));
    const char *pp[1] = {c->param};
    if ((st = bench_lut_init(lut, c->mul, pp, c->param ? 1 : 0, c->lut_fmt, msg)) != AXL_OK)
        goto done;

    struct job j = {.d = d, .x = x, .w = w, .ya = ya, .yn = yn, .yb = yb, .m = m, .be = o->be,
                    .lut = lut};
    struct timing tm[N_METHODS] = {{.f = run_approx, .reps = o->reps},
                                   {.f = run_naive, .reps = o->reps},
                                   {.f = run_blas, .reps = o->reps}};
    int nm = 2;
    if (bench_blas_available()) {
        int64_t ncol = bench_blas_workspace(d);
        if (ncol && !(col = malloc((size_t)ncol * sizeof *col))) {
            st = axl_msgf(msg, AXL_ERR_NOMEM, "%s: out of memory for the im2col workspace",
                          s->name);
            goto done;
        }
        j.col = col;
        nm = 3;
    }
    if ((st = time_methods(tm, nm, &j, msg)) != AXL_OK)
        goto done;
    r->approx_s = tm[0].med;
    r->approx_cpu_s = tm[0].cpu_med;
    r->naive_cpu_s = tm[1].cpu_med;
    r->blas_cpu_s = tm[2].cpu_med;
    r->reps = tm[0].reps;
    r->naive_s = tm[1].med;
    if (nm == 3) {
        r->blas_s = tm[2].med;
        r->im2col_s = tm[2].aux_med;
        r->approx_err = rel_rms(ya, yb, ny);
        r->naive_err = rel_rms(yn, yb, ny);
    }
done:
    axl_mac_free(m);
    axl_layers_free(layers);
    free(lut);
    free(x);
    free(w);
    free(ya);
    free(yn);
    free(yb);
    free(col);
    return st;
}

/* ---- output ---------------------------------------------------------------- */

static void cpu_model(char *buf, size_t len)
{
    snprintf(buf, len, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10))
            continue;
        char *p = strchr(line, ':');
        if (p) {
            p += 1 + (p[1] == ' ');
            p[strcspn(p, "\n")] = 0;
            snprintf(buf, len, "%s", p);
        }
        break;
    }
    fclose(f);
}

static double rate(int64_t macs, double s) { return s > 0.0 ? (double)macs / s : 0.0; }

static void print_row(const struct result *r)
{
    char name[96];
    snprintf(name, sizeof name, "%s/%s", r->s->name, r->c->name);
    double ga = rate(r->macs, r->approx_s) / 1e9, gn = rate(r->macs, r->naive_s) / 1e9;
    printf("%-34s %9.1f %9.3f %9.3f", name, (double)r->macs / 1e6, ga, gn);
    if (r->blas_s > 0.0) {
        double gb = rate(r->macs, r->blas_s) / 1e9;
        printf(" %9.2f %7.2fx %7.1fx %8.2g\n", gb, ga / gn, gb / ga, r->approx_err);
    } else {
        printf(" %9s %7.2fx %8s %8s\n", "-", ga / gn, "-", "-");
    }
    fflush(stdout);
}

/* A number as "%.6g" gives it; null where it does not apply. */
static json_t *num6(double v, int valid)
{
    return valid ? cli_json_number(v, 6) : json_null();
}

static json_t *dims_json(const struct bench_dims *d)
{
    if (d->is_gemm)
        return json_pack("{s:I, s:I, s:I}", "m", (json_int_t)d->gm, "n", (json_int_t)d->gn, "k",
                         (json_int_t)d->gk);
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "n", (json_int_t)d->n, "c",
                     (json_int_t)d->c, "h", (json_int_t)d->h, "w", (json_int_t)d->w, "oc",
                     (json_int_t)d->oc, "kh", (json_int_t)d->k, "kw", (json_int_t)d->k,
                     "stride", (json_int_t)d->stride, "pad", (json_int_t)d->pad);
}

static json_t *result_json(const struct result *r, int threads, const char *device,
                           const char *cpu)
{
    char name[96], shape[160];
    snprintf(name, sizeof name, "%s/%s", r->s->name, r->c->name);
    bench_shape_describe(r->s, shape, sizeof shape);
    int blas = r->blas_s > 0.0;
    double a = rate(r->macs, r->approx_s), nv = rate(r->macs, r->naive_s);
    double b = blas ? rate(r->macs, r->blas_s) : 0.0;
    json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:I}",
                          "name", name, "shape_name", r->s->name, "shape", shape, "dims",
                          dims_json(&r->s->d), "config", r->c->name, "description", r->desc,
                          "path", r->path, "device", device, "cpu", cpu, "blas",
                          bench_blas_name(), "naive_lut_format", r->c->lut_fmt, "threads",
                          threads, "reps", r->reps, "macs", (json_int_t)r->macs);
    if (!o)
        return NULL;
    json_object_set_new(o, "batch_isa", json_string(axl_design_batch_isa()));
    json_object_set_new(o, "seconds", num6(r->approx_s, 1));
    json_object_set_new(o, "setup_seconds", num6(r->setup_s, 1));
    json_object_set_new(o, "approx_macs_per_s", num6(a, 1));
    json_object_set_new(o, "approx_macs_per_cpu_s", num6(rate(r->macs, r->approx_cpu_s), 1));
    json_object_set_new(o, "naive_lut_macs_per_cpu_s", num6(rate(r->macs, r->naive_cpu_s), 1));
    json_object_set_new(o, "exact_blas_macs_per_cpu_s", num6(rate(r->macs, r->blas_cpu_s), blas));
    json_object_set_new(o, "naive_lut_seconds", num6(r->naive_s, 1));
    json_object_set_new(o, "naive_lut_macs_per_s", num6(nv, 1));
    json_object_set_new(o, "exact_blas_seconds", num6(r->blas_s, blas));
    json_object_set_new(o, "exact_blas_im2col_seconds", num6(r->im2col_s, blas));
    json_object_set_new(o, "exact_blas_macs_per_s", num6(b, blas));
    json_object_set_new(o, "approx_over_naive", num6(nv > 0.0 ? a / nv : 0.0, nv > 0.0));
    json_object_set_new(o, "approx_over_blas", num6(blas ? a / b : 0.0, blas));
    json_object_set_new(o, "blas_over_approx", num6(blas && a > 0.0 ? b / a : 0.0,
                                                    blas && a > 0.0));
    json_object_set_new(o, "approx_rel_rms_err", num6(r->approx_err, r->approx_err >= 0.0));
    json_object_set_new(o, "naive_lut_rel_rms_err", num6(r->naive_err, r->naive_err >= 0.0));
    return o;
}

/* Written to FILE.tmp, renamed when complete. */
static int write_json(const char *path, const struct result *res, size_t n, int threads,
                      const char *device, const char *cpu)
{
    json_t *root = json_array();
    for (size_t i = 0; root && i < n; i++) {
        json_t *o = result_json(&res[i], threads, device, cpu);
        if (!o || json_array_append_new(root, o) != 0) {
            json_decref(root);
            root = NULL;
        }
    }
    return cli_json_write(root, path, 6, "axlut bench");
}

static void list_cases(int quick, const char *name)
{
    char buf[160];
    printf("shapes:\n");
    for (size_t i = 0; i < bench_shape_count(); i++) {
        const struct bench_shape *s = bench_shape_at(i);
        bench_shape_describe(s, buf, sizeof buf);
        printf("  %-18s %-9s %-46s %s%s%s%s%s\n", s->name, s->group, buf,
               s->runs & BENCH_FULL ? " full" : "", s->runs & BENCH_QUICK ? " quick" : "",
               s->runs & BENCH_FN_FULL ? " full-function-path" : "",
               s->runs & BENCH_FN_QUICK ? " quick-function-path" : "",
               s->runs & BENCH_TINY ? " by-name" : "");
    }
    printf("configs:\n");
    for (size_t i = 0; i < bench_config_count(); i++) {
        const struct bench_config *c = bench_config_at(i);
        printf("  %-18s --mul %s%s%s on %s, %s path%s\n", c->name, c->mul, c->param ? " " : "",
               c->param ? c->param : "", c->fmt, axl_path_name(c->path),
               c->function_path ? " (function-path shapes only)" : "");
    }
    printf("cases of this run (%s%s):\n", name ? "--case " : quick ? "--quick" : "full",
           name ? name : "");
    for (size_t i = 0; i < bench_shape_count(); i++)
        for (size_t k = 0; k < bench_config_count(); k++)
            if (bench_case_selected(bench_shape_at(i), bench_config_at(k), quick, name))
                printf("  %s/%s\n", bench_shape_at(i)->name, bench_config_at(k)->name);
}

/* ---- the command ----------------------------------------------------------- */

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == 0 || *end || v < lo || v > hi)
        return 0;
    *out = (int)v;
    return 1;
}

/* The options into o and net (and --list into *list): CLI_OK, -1 after
 * --help, or the exit status after a message. */
static int parse_args(int argc, char **argv, struct opts *op, struct cli_bench_net *np, int *list)
{
    struct opts o = {.be = AXL_BACKEND_CPU};
    struct cli_bench_net net = {.limit = 200};
    *list = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *key;
        int has_val = i + 1 < argc;
        if (cli_is_help(a)) {
            bench_usage(stdout);
            return -1;
        } else if (!strcmp(a, "--quick")) {
            o.quick = 1;
        } else if (!strcmp(a, "--list")) {
            *list = 1;
        } else if (!strcmp(a, "--json") && has_val) {
            o.json = argv[++i];
        } else if (!strcmp(a, "--case") && has_val) {
            o.name = argv[++i];
        } else if (!strcmp(a, "--device") && has_val) {
            const char *v = argv[++i];
            if (!strcmp(v, "cpu")) {
                o.be = AXL_BACKEND_CPU;
            } else if (!strcmp(v, "cuda")) {
                o.be = AXL_BACKEND_CUDA;
            } else {
                fprintf(stderr, "axlut bench: --device is cpu or cuda, not '%s'\n", v);
                return CLI_USAGE;
            }
        } else if (!strcmp(a, "--threads") && has_val) {
            if (!parse_int(argv[++i], 1, 4096, &o.threads)) {
                fprintf(stderr, "axlut bench: --threads wants a positive integer, not '%s'\n",
                        argv[i]);
                return CLI_USAGE;
            }
        } else if (!strcmp(a, "--network") && has_val) {
            net.model = argv[++i];
        } else if (!strcmp(a, "--data") && has_val) {
            net.data = argv[++i];
        } else if ((!strcmp(a, "--limit") || !strcmp(a, "--batch")) && has_val) {
            int v;
            if (!parse_int(argv[++i], 1, 1 << 30, &v)) {
                fprintf(stderr, "axlut bench: %s wants a positive integer, not '%s'\n", a,
                        argv[i]);
                return CLI_USAGE;
            }
            *(a[2] == 'l' ? &net.limit : &net.batch) = v;
        } else if (cli_mac_option(a, &key) && has_val && net.nmac < 64) {
            net.mac_keys[net.nmac] = key;
            net.mac_vals[net.nmac++] = argv[++i];
        } else if (!strcmp(a, "--reps") && has_val) {
            if (!parse_int(argv[++i], 1, MAX_REPS, &o.reps)) {
                fprintf(stderr, "axlut bench: --reps wants an integer from 1 to %d, not '%s'\n",
                        MAX_REPS, argv[i]);
                return CLI_USAGE;
            }
        } else {
            fprintf(stderr, "axlut bench: unknown or incomplete option '%s' (try --help)\n", a);
            return CLI_USAGE;
        }
    }
    *op = o;
    *np = net;
    return CLI_OK;
}

int cli_bench(int argc, char **argv)
{
    struct opts o;
    struct cli_bench_net net;
    int list;
    int rc = parse_args(argc, argv, &o, &net, &list);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    if (list) {
        list_cases(o.quick, o.name);
        return CLI_OK;
    }
    if (net.model || net.data || net.nmac) {
        if (!net.model || !net.data) {
            fprintf(stderr, "axlut bench: --network MODEL.onnx and --data DATA.h5 go together; "
                    "MAC options only with them\n");
            return CLI_USAGE;
        }
        if (o.threads > 0)
            omp_set_num_threads(o.threads);
        net.be = o.be;
        if (net.be == AXL_BACKEND_CUDA && axl_cuda_device_count(NULL, 0) == 0) {
            fprintf(stderr, "axlut bench: no CUDA device visible; running on the cpu\n");
            net.be = AXL_BACKEND_CPU;
        }
        net.reps = o.reps;
        return cli_bench_network(&net);
    }

    size_t ncases = 0;
    for (size_t i = 0; i < bench_shape_count(); i++)
        for (size_t k = 0; k < bench_config_count(); k++)
            ncases += (size_t)bench_case_selected(bench_shape_at(i), bench_config_at(k), o.quick,
                                                  o.name);
    if (ncases == 0) {
        fprintf(stderr, "axlut bench: no case matches '%s' (axlut bench --list shows them)\n",
                o.name ? o.name : "");
        return CLI_USAGE;
    }

    if (o.threads > 0)
        omp_set_num_threads(o.threads);
    int threads = omp_get_max_threads();
    bench_blas_set_threads(threads);
    const char *device = "cpu";
    if (o.be == AXL_BACKEND_CUDA) {
        char gpu[256] = "";
        if (axl_cuda_device_count(gpu, sizeof gpu) > 0) {
            device = "cuda";
            printf("approximate kernels on %s (the baselines stay on the CPU)\n", gpu);
        } else {
            fprintf(stderr, "axlut bench: no CUDA device visible%s; running on the cpu\n",
                    axl_cuda_compiled() ? "" : " (built without CUDA)");
            o.be = AXL_BACKEND_CPU;
        }
    }
    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    printf("axlut bench: %zu case(s), %d thread(s), device %s\n  cpu:  %s\n  blas: %s\n"
           "  design batch forms: %s\n",
           ncases, threads, device, cpu, bench_blas_name(), axl_design_batch_isa());
    const char *hint = bench_blas_core_hint();
    if (hint)
        fprintf(stderr, "axlut bench: OpenBLAS did not recognise this CPU and runs older "
                "kernels than it can (see 'core' below); OPENBLAS_CORETYPE=%s gives the fair "
                "float32 baseline\n", hint);
    printf("%-34s %9s %9s %9s %9s %8s %8s %8s\n", "case", "MMACs", "approx", "naive", "BLAS",
           "/naive", "BLAS/", "rel.err");
    printf("%-34s %9s %9s %9s %9s %8s %8s %8s\n", "", "", "GMAC/s", "GMAC/s", "GMAC/s", "",
           "approx", "vs fp32");

    struct result *res = calloc(ncases, sizeof *res);
    if (!res) {
        fprintf(stderr, "axlut bench: out of memory\n");
        return CLI_FAIL;
    }
    size_t n = 0;
    char msg[AXL_MSG_LEN];
    for (size_t i = 0; i < bench_shape_count(); i++)
        for (size_t k = 0; k < bench_config_count(); k++) {
            const struct bench_shape *s = bench_shape_at(i);
            const struct bench_config *c = bench_config_at(k);
            if (!bench_case_selected(s, c, o.quick, o.name))
                continue;
            msg[0] = 0;
            if (run_case(&o, s, c, &res[n], msg) != AXL_OK) {
                fprintf(stderr, "axlut bench: %s/%s: %s\n", s->name, c->name, msg);
                free(res);
                return CLI_FAIL;
            }
            print_row(&res[n++]);
        }
    rc = CLI_OK;
    if (o.json)
        rc = write_json(o.json, res, n, threads, device, cpu);
    free(res);
    return rc;
}
