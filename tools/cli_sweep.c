/* axlut sweep: every combination of models, formats, designs and
 * accumulators over a dataset, resumable, in CSV and JSON. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "axlut/sweep.h"
#include "cli.h"

static void usage(FILE *o)
{
    fprintf(o,
        "usage: axlut sweep MODEL.onnx... --data DATA.h5 --formats LIST --designs LIST\n"
        "                   [--acc-formats LIST] [--adders LIST] [--layers GLOB]\n"
        "                   [--sensitivity] [--limit N] [--batch N] [--device cpu|cuda]\n"
        "                   [--shard I/N] -o RESULTS [--quiet]\n"
        "       axlut sweep --merge RESULTS SHARD... (shard CSVs, -o prefixes or directories)\n\n"
        "Runs every combination (model x format x design x accumulator x adder) like\n"
        "`axlut run` and records per point the top-1 accuracy, agreement with the exact\n"
        "network, the worst layer SNR, the output SNR and the time, in RESULTS.csv\n"
        "(one line per point, written as it finishes) and RESULTS.json.  A sweep that\n"
        "was interrupted resumes where it stopped when run again with the same -o.\n\n"
        "  --formats LIST      names or ranges: e4m3,bf16,e3..8m1..10\n"
        "  --designs LIST      multipliers with parameters: mul_exact,fpmul_drum:k=4\n"
        "  --acc-formats LIST  accumulators: fp32 (exact adds, the default) or formats\n"
        "                      in which each add is rounded (add_exact), e.g. fp32,fp16,bf16\n"
        "  --adders LIST       adder designs on the accumulator, e.g. fpadd_loa:k=4\n"
        "  --layers GLOB       approximate only the MAC layers whose name matches\n"
        "  --sensitivity       approximate one layer at a time (first format and design)\n"
        "                      and rank the layers by the accuracy they cost\n"
        "  --shard I/N         run only shard I (1..N) of N: the points i with\n"
        "                      i %% N == I-1; each shard is its own resumable RESULTS\n"
        "                      (for job arrays); --merge combines the N shards into the\n"
        "                      RESULTS one run gives, refusing shards of other sweeps\n"
        "Under mpirun (axlut built with MPI) rank 0 hands the points out to every rank\n"
        "and writes RESULTS as they finish: mpirun -n 8 axlut sweep ... -o RESULTS.\n"
        "A point that fails on a rank does not stop the others: it is listed with its\n"
        "message in RESULTS.failed.csv, and running the sweep again retries it.\n"
        "Full tables are generated once into the table cache ($AXL_CACHE_DIR/tables,\n"
        "else ~/.cache/axlut/tables) and reused.\n");
}

struct sweep_args {
    const char *models[64];
    size_t nmodels;
    const char *data, *formats, *designs, *accs, *adders, *layers, *out, *device;
    int sensitivity, quiet;
    int64_t limit, batch;
    int shard_index, shard_count;
};

/* CLI_OK, or the exit status after a message (help: -1). */
static int parse_args(int argc, char **argv, struct sweep_args *r)
{
    memset(r, 0, sizeof *r);
    r->accs = "fp32";
    r->device = "cpu";
    r->batch = 64;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (cli_is_help(a)) {
            usage(stdout);
            return -1;
        } else if (!strcmp(a, "--data") && has) {
            r->data = argv[++i];
        } else if (!strcmp(a, "--formats") && has) {
            r->formats = argv[++i];
        } else if (!strcmp(a, "--designs") && has) {
            r->designs = argv[++i];
        } else if (!strcmp(a, "--acc-formats") && has) {
            r->accs = argv[++i];
        } else if (!strcmp(a, "--adders") && has) {
            r->adders = argv[++i];
        } else if (!strcmp(a, "--layers") && has) {
            r->layers = argv[++i];
        } else if (!strcmp(a, "-o") && has) {
            r->out = argv[++i];
        } else if (!strcmp(a, "--device") && has) {
            r->device = argv[++i];
        } else if ((!strcmp(a, "--limit") || !strcmp(a, "--batch")) && has) {
            char *end;
            long long v = strtoll(argv[++i], &end, 10);
            if (*end || v < 1) {
                fprintf(stderr, "axlut sweep: %s needs a positive integer\n", a);
                return CLI_USAGE;
            }
            *(a[2] == 'l' ? &r->limit : &r->batch) = v;
        } else if (!strcmp(a, "--shard") && has) {
            char *end;
            const char *v = argv[++i];
            long k = strtol(v, &end, 10), n = *end == '/' ? strtol(end + 1, &end, 10) : 0;
            if (*end || n < 1 || n > 1000000 || k < 1 || k > n) {
                fprintf(stderr, "axlut sweep: --shard '%s': expected I/N with 1 <= I <= N\n", v);
                return CLI_USAGE;
            }
            r->shard_index = (int)k;
            r->shard_count = (int)n;
        } else if (!strcmp(a, "--sensitivity")) {
            r->sensitivity = 1;
        } else if (!strcmp(a, "--quiet")) {
            r->quiet = 1;
        } else if (a[0] == '-') {
            fprintf(stderr,
                    "axlut sweep: unknown option '%s' or missing value (axlut sweep --help)\n", a);
            return CLI_USAGE;
        } else if (r->nmodels < 64) {
            r->models[r->nmodels++] = a;
        }
    }
    if (!r->nmodels || !r->data || !r->formats || !r->designs || !r->out) {
        fprintf(stderr, "axlut sweep: %s (axlut sweep --help)\n",
                !r->nmodels ? "no model given" : !r->data ? "no dataset given (--data)"
                : !r->formats ? "no --formats given" : !r->designs ? "no --designs given"
                              : "no -o RESULTS given");
        return CLI_USAGE;
    }
    return CLI_OK;
}

static void show_point(void *user, size_t i, size_t n, const struct axl_sweep_point *p)
{
    (void)user;
    fprintf(stderr, "\rpoint %zu/%zu: %s %s %s ... ", i + 1, n, p->design, p->format, p->layers);
}

static void show_notice(void *user, const char *line)
{
    (void)user;
    fprintf(stderr, "axlut sweep: %s\n", line);
}

/* axlut sweep --merge OUT SHARD... */
static int merge(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "axlut sweep: --merge needs RESULTS and at least one shard (axlut sweep "
                        "--help)\n");
        return CLI_USAGE;
    }
    char msg[AXL_MSG_LEN], csv[1100], json[1100];
    snprintf(csv, sizeof csv, "%s.csv", argv[2]);
    snprintf(json, sizeof json, "%s.json", argv[2]);
    if (axl_sweep_merge((const char *const *)argv + 3, (size_t)argc - 3, csv, json, msg) !=
        AXL_OK) {
        fprintf(stderr, "axlut sweep: %s\n", msg);
        return CLI_USAGE;
    }
    printf("axlut sweep: merged %d shard argument(s) into %s and %s\n", argc - 3, csv, json);
    return CLI_OK;
}

int cli_sweep(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--merge"))
        return merge(argc, argv);
    struct sweep_args ra;
    int rc = parse_args(argc, argv, &ra);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    enum axl_backend be;
    if (cli_backend("axlut sweep", ra.device, &be) != CLI_OK)
        return CLI_USAGE;
    int tty = isatty(2) && !ra.quiet;
    struct axl_sweep_settings set = {
        .models = ra.models, .nmodels = ra.nmodels, .data = ra.data, .formats = ra.formats,
        .designs = ra.designs, .acc_formats = ra.accs, .adders = ra.adders,
        .layers = ra.layers, .sensitivity = ra.sensitivity, .backend = be,
        .batch = ra.batch, .limit = ra.limit, .on_point = tty ? show_point : NULL,
        .on_notice = ra.quiet ? NULL : show_notice, .user = NULL,
        .shard_index = ra.shard_index, .shard_count = ra.shard_count};
    char msg[AXL_MSG_LEN], csv[1100], json[1100], failed[1100];
    snprintf(csv, sizeof csv, "%s.csv", ra.out);
    snprintf(json, sizeof json, "%s.json", ra.out);
    snprintf(failed, sizeof failed, "%s.failed.csv", ra.out);
    struct axl_sweep *sw = NULL;
    for (size_t i = 0; i < ra.nmodels; i++)
        if (cli_input_file("axlut sweep", ra.models[i]) != CLI_OK)
            return CLI_USAGE;
    if (cli_input_file("axlut sweep", ra.data) != CLI_OK)
        return CLI_USAGE;
    {
        /* RESULTS.csv or RESULTS.json over a model or the data would replace it */
        struct cli_file outs[] = {{"-o", csv}, {"-o", json}, {"-o", failed}};
        struct cli_file ins[1 + sizeof ra.models / sizeof ra.models[0]] = {{"--data", ra.data}};
        size_t nin = 1;
        for (size_t i = 0; i < ra.nmodels && nin < sizeof ins / sizeof ins[0]; i++)
            ins[nin++] = (struct cli_file){"the model", ra.models[i]};
        if (cli_outputs_distinct("axlut sweep", outs, 3, ins, nin) != CLI_OK)
            return CLI_USAGE;
    }
    struct cli_mpi w;
    cli_mpi_world(&w);
    if (w.rank != 0) { /* under mpirun: only rank 0 speaks and writes */
        set.on_point = NULL;
        set.on_notice = NULL;
        tty = 0;
    }
    int ok = axl_sweep_create(&set, &sw, msg) == AXL_OK &&
             (w.rank != 0 || axl_sweep_resume(sw, csv, msg) == AXL_OK);
    if (!cli_mpi_all_ok(&w, ok)) { /* every rank stops, none waits for points */
        if (w.rank == 0)
            fprintf(stderr, "axlut sweep: %s\n", ok ? "another rank could not load the sweep" : msg);
        axl_sweep_free(sw);
        return CLI_USAGE;
    }
    rc = CLI_OK;
    enum axl_status st =
        w.size > 1 ? cli_mpi_sweep(&w, sw, tty, failed, msg) : axl_sweep_run(sw, msg);
    if (w.rank != 0) {
        axl_sweep_free(sw);
        return st == AXL_OK ? CLI_OK : cli_exit_for(st);
    }
    if (st != AXL_OK) {
        fprintf(stderr, "%saxlut sweep: %s\n", tty ? "\n" : "", msg); /* below the bar */
        rc = cli_exit_for(st);
    }
    if (tty)
        fprintf(stderr, "\r%60s\r", "");
    if (rc == CLI_OK && axl_sweep_write_json(csv, json, msg) != AXL_OK) {
        fprintf(stderr, "axlut sweep: %s\n", msg);
        rc = CLI_FAIL;
    }
    if (rc == CLI_OK && !ra.quiet)
        printf("axlut sweep: %zu points (%zu from an earlier run) in %s and %s\n",
               axl_sweep_count_mine(sw), axl_sweep_done(sw), csv, json);
    axl_sweep_free(sw);
    return rc;
}
