/* axlut run: layerwise emulation of an ONNX network over a dataset. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "axlut/graph.h"
#include "axlut/layers.h"
#include "axlut/run.h"
#include "cli.h"

static void usage(FILE *o)
{
    fprintf(o,
        "usage: axlut run MODEL.onnx --data DATA.h5 [MAC options] [--config LAYERS.json]\n"
        "                 [--device cpu|cuda] [--batch N] [--limit N] [--report R.json]\n"
        "                 [--save-outputs OUT.h5 [--save-layers]] [--no-reference] [--quiet]\n\n"
        "Runs the network over the dataset twice, exactly and with the configured\n"
        "layers approximate, and reports per layer its own error (against the exact\n"
        "layer given the same input) and the error accumulated from the network input,\n"
        "then accuracy against the labels and agreement with the exact network.\n"
        "--no-reference runs only the configured network: accuracy, no errors, no\n"
        "agreement.  With every layer exact the network runs once (it is its own\n"
        "reference).\n\n"
        "MAC options (they set the default of every Conv, ConvTranspose, Gemm, MatMul):\n"
        "  --mul DESIGN|FILE.c|TABLE.h5   multiplier (axlut list designs)\n"
        "  --param NAME=V                 multiplier parameter (repeatable)\n"
        "  --format FMT                   activation format (and weights unless --format-w)\n"
        "  --format-w FMT, --format-p FMT weight format, product format\n"
        "  --round MODE, --seed N         rounding of activations and weights\n"
        "  --add DESIGN, --add-param N=V  adder design (default: exact fp32 adds)\n"
        "  --acc-format FMT               accumulator format of the adder design; integer\n"
        "                                 layers: int2..int32 (default int32), a register\n"
        "                                 that holds every product and wraps on overflow\n"
        "                                 (two's complement, the adder's carry out dropped)\n"
        "  --order sequential|pairwise|chunked, --chunk N\n"
        "  --path auto|table|mantissa|function\n"
        "  --wquant per-channel|per-tensor  integer weight quantization\n"
        "  --wscale none|per-tensor|per-channel, --ascale none|dynamic|calibrated\n"
        "  --scale-pow2 0|1, --scale-margin N, --act-amax A\n"
        "                                 scaling of floating operands (docs/FORMATS.md)\n"
        "  --format mxfp8|mxfp8e5m2|mxfp6e3m2|mxfp6e2m3|mxfp4|mxint8|nvfp4\n"
        "                                 block-scaled operands (blocks along the reduction)\n"
        "  --block-add DESIGN, --block-add-param N=V, --block-acc-format FMT\n"
        "                                 adder of each block's products (default exact fp32)\n"
        "--config LAYERS.json assigns configurations per layer (docs/CONFIG.md); the\n"
        "options above change its default.  Without any, every layer is exact.\n");
}

static const char *fmt_db(double v, char *buf, size_t n)
{
    if (isinf(v))
        snprintf(buf, n, "exact");
    else
        snprintf(buf, n, "%.1f", v);
    return buf;
}

static void print_report(const struct axl_run_report *r)
{
    const int errs = r->reference != AXL_REFERENCE_SKIPPED;
    if (errs)
        printf("%-28s %-9s %-12s %11s %-8s %9s %9s %10s %8s %8s\n", "layer", "op", "output",
               "MACs/sample", "path", "own SNR", "acc. SNR", "max|err|", "cosine", "time s");
    else
        printf("%-28s %-9s %-12s %11s %-8s %8s\n", "layer", "op", "output", "MACs/sample",
               "path", "time s");
    for (size_t i = 0; i < r->nlayers; i++) {
        const struct axl_layer_report *L = &r->layers[i];
        char a[32], b[32];
        char name[29], shape[64] = "";
        snprintf(name, sizeof name, "%s", L->name);
        size_t sl = 0;
        /* per sample: without the batch; else the whole output of a run, in [] */
        const int d0 = L->per_sample ? 1 : 0;
        if (!L->per_sample)
            sl += (size_t)snprintf(shape, sizeof shape, "[");
        for (int d = d0; d < L->ndim && sl < sizeof shape; d++)
            sl += (size_t)snprintf(shape + sl, sizeof shape - sl, d > d0 ? "x%lld" : "%lld",
                                   (long long)L->dims[d]);
        if (!L->per_sample && sl < sizeof shape)
            snprintf(shape + sl, sizeof shape - sl, "]");
        const char *path = L->approximate ? axl_path_name(L->path) : "exact";
        if (errs)
            printf("%-28s %-9s %-12s %11lld %-8s %9s %9s %10.3g %8.5f %8.3f\n", name, L->op,
                   shape, (long long)L->macs, path, fmt_db(L->local.snr_db, a, sizeof a),
                   fmt_db(L->accum.snr_db, b, sizeof b), L->accum.max_abs, L->accum.cosine,
                   L->seconds);
        else
            printf("%-28s %-9s %-12s %11lld %-8s %8.3f\n", name, L->op, shape,
                   (long long)L->macs, path, L->seconds);
    }
    printf("\nconfigurations:\n");
    for (size_t i = 0; i < r->nlayers; i++)
        if (r->layers[i].approximate)
            printf("  %-26s %s\n", r->layers[i].name, r->layers[i].config);
    char a[32];
    if (errs)
        printf("\nsamples %lld, output SNR %s dB against the exact network\n",
               (long long)r->samples, fmt_db(r->output_error.snr_db, a, sizeof a));
    else
        printf("\nsamples %lld; the exact network was not run (--no-reference): no layer or "
               "output errors, no exact accuracy, no agreement\n", (long long)r->samples);
    if (r->batching[0])
        printf("batching: %s\n", r->batching);
    if (r->has_labels && !isnan(r->top1)) {
        printf("top-1 %.2f%%", 100 * r->top1);
        if (errs)
            printf(" (exact %.2f%%)", 100 * r->exact_top1);
        if (!isnan(r->top5)) {
            printf(", top-5 %.2f%%", 100 * r->top5);
            if (errs)
                printf(" (exact %.2f%%)", 100 * r->exact_top5);
        }
        printf("\n");
    }
    if (!isnan(r->agreement))
        printf("agreement with the exact network's top-1: %.2f%%\n", 100 * r->agreement);
    if (r->reference == AXL_REFERENCE_RUN)
        printf("throughput %.1f samples/s (approximate pass, shadows included); exact pass "
               "%.3f s\n", r->samples_per_s, r->exact_seconds);
    else
        printf("throughput %.1f samples/s (%s)\n", r->samples_per_s,
               errs ? "every layer exact: one pass, the network is its own reference"
                    : "the configured network alone");
}

int cli_mac_option(const char *a, const char **key)
{
    static const char *const opts[][2] = {
        {"--mul", "mul"},         {"--param", "param"},         {"--format", "format"},
        {"--format-w", "format-w"}, {"--format-p", "format-p"}, {"--round", "round"},
        {"--seed", "seed"},       {"--add", "add"},             {"--add-param", "add-param"},
        {"--acc-format", "acc-format"}, {"--order", "order"},   {"--chunk", "chunk"},
        {"--path", "path"},       {"--wquant", "wquant"},       {"--wscale", "wscale"},
        {"--ascale", "ascale"},   {"--scale-pow2", "scale-pow2"},
        {"--scale-margin", "scale-margin"}, {"--act-amax", "act-amax"},
        {"--block-add", "block-add"}, {"--block-add-param", "block-add-param"},
        {"--block-acc-format", "block-acc-format"},
    };
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        if (!strcmp(a, opts[i][0])) {
            *key = opts[i][1];
            return 1;
        }
    return 0;
}

struct run_args {
    const char *model, *data, *config, *report, *save, *device;
    int save_layers, quiet, no_reference;
    int64_t batch, limit;
    const char *mac_keys[64], *mac_vals[64];
    int nmac;
};

/* CLI_OK, or the exit status after a message (help: -1). */
static int parse_args(int argc, char **argv, struct run_args *r)
{
    memset(r, 0, sizeof *r);
    r->device = "cpu";
    r->batch = 32;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *key;
        int has = i + 1 < argc;
        if (cli_is_help(a)) {
            usage(stdout);
            return -1;
        } else if (cli_mac_option(a, &key)) {
            if (!has || r->nmac >= 64) {
                fprintf(stderr, "axlut run: %s needs a value\n", a);
                return CLI_USAGE;
            }
            r->mac_keys[r->nmac] = key;
            r->mac_vals[r->nmac++] = argv[++i];
        } else if (!strcmp(a, "--data") && has) {
            r->data = argv[++i];
        } else if (!strcmp(a, "--config") && has) {
            r->config = argv[++i];
        } else if (!strcmp(a, "--report") && has) {
            r->report = argv[++i];
        } else if (!strcmp(a, "--save-outputs") && has) {
            r->save = argv[++i];
        } else if (!strcmp(a, "--save-layers")) {
            r->save_layers = 1;
        } else if (!strcmp(a, "--device") && has) {
            r->device = argv[++i];
        } else if ((!strcmp(a, "--batch") || !strcmp(a, "--limit")) && has) {
            char *end;
            long long v = strtoll(argv[i + 1], &end, 10);
            if (*end || v < (a[2] == 'b' ? 1 : 0)) {
                fprintf(stderr, "axlut run: %s needs a %s integer\n", a,
                        a[2] == 'b' ? "positive" : "non-negative");
                return CLI_USAGE;
            }
            *(a[2] == 'b' ? &r->batch : &r->limit) = v;
            i++;
        } else if (!strcmp(a, "--quiet")) {
            r->quiet = 1;
        } else if (!strcmp(a, "--no-reference")) {
            r->no_reference = 1;
        } else if (a[0] == '-') {
            fprintf(stderr, "axlut run: unknown option '%s' or missing value (axlut run --help)\n",
                    a);
            return CLI_USAGE;
        } else if (!r->model) {
            r->model = a;
        } else {
            fprintf(stderr, "axlut run: one model only ('%s' is extra)\n", a);
            return CLI_USAGE;
        }
    }
    if (!r->model || !r->data) {
        fprintf(stderr, "axlut run: %s (axlut run --help)\n",
                !r->model ? "no model given" : "no dataset given (--data DATA.h5)");
        return CLI_USAGE;
    }
    if (r->save_layers && !r->save) {
        fprintf(stderr, "axlut run: --save-layers needs --save-outputs OUT.h5\n");
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* The configuration: the file's (or an empty one) with the MAC options on
 * its default. */
static int load_layers(const struct run_args *r, struct axl_layers **out)
{
    char msg[AXL_MSG_LEN];
    if ((r->config ? axl_layers_load_json(r->config, out, msg) : axl_layers_new(out, msg)) !=
        AXL_OK) {
        fprintf(stderr, "axlut run: %s\n", msg);
        return CLI_USAGE;
    }
    for (int i = 0; i < r->nmac; i++)
        if (axl_layers_set_default(*out, r->mac_keys[i], r->mac_vals[i], msg) != AXL_OK) {
            fprintf(stderr, "axlut run: --%s: %s\n", r->mac_keys[i], msg);
            return CLI_USAGE;
        }
    return CLI_OK;
}

int cli_run(int argc, char **argv)
{
    struct run_args ra;
    int rc = parse_args(argc, argv, &ra);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    enum axl_backend be;
    if (cli_backend("axlut run", ra.device, &be) != CLI_OK)
        return CLI_USAGE;

    char msg[AXL_MSG_LEN];
    rc = CLI_USAGE;
    struct axl_graph *g = NULL;
    struct axl_layers *layers = NULL;
    struct axl_dataset *ds = NULL;
    struct axl_layer_macs lm = {0};
    struct axl_run_report rep;
    memset(&rep, 0, sizeof rep);

    if (cli_input_file("axlut run", ra.model) != CLI_OK ||
        cli_input_file("axlut run", ra.data) != CLI_OK ||
        (ra.config && cli_input_file("axlut run", ra.config) != CLI_OK))
        goto done;
    for (int i = 0; i < ra.nmac; i++)
        if (!strcmp(ra.mac_keys[i], "mul") && strchr(ra.mac_vals[i], '/') &&
            cli_input_file("axlut run", ra.mac_vals[i]) != CLI_OK)
            goto done;
    {
        /* an output over an input would replace it (the data, the model) */
        struct cli_file outs[] = {{"--save-outputs", ra.save}, {"--report", ra.report}};
        struct cli_file ins[3 + 64] = {{"the model", ra.model}, {"--data", ra.data},
                                       {"--config", ra.config}};
        size_t nin = 3;
        for (int i = 0; i < ra.nmac; i++)
            if (!strcmp(ra.mac_keys[i], "mul") || !strcmp(ra.mac_keys[i], "add"))
                ins[nin++] = (struct cli_file){ra.mac_keys[i][0] == 'm' ? "--mul" : "--add",
                                               ra.mac_vals[i]};
        if (cli_outputs_distinct("axlut run", outs, 2, ins, nin) != CLI_OK)
            goto done;
    }
    if (axl_graph_load(ra.model, &g, msg) != AXL_OK) {
        fprintf(stderr, "axlut run: %s\n", msg);
        goto done;
    }
    if (load_layers(&ra, &layers) != CLI_OK)
        goto done;
    enum axl_status st = axl_layers_bind(layers, g, &lm, msg);
    if (st != AXL_OK) {
        fprintf(stderr, "axlut run: %s\n", msg);
        rc = st == AXL_ERR_NOMEM ? CLI_FAIL : CLI_USAGE;
        goto done;
    }
    if (axl_dataset_open(ra.data, g, &ds, msg) != AXL_OK) {
        fprintf(stderr, "axlut run: %s\n", msg);
        goto done;
    }
    int tty = isatty(2) && !ra.quiet;
    struct axl_run_settings set = {be, ra.batch, ra.limit, cli_samples_bar, &tty, ra.save,
                                   ra.save_layers, ra.no_reference};
    rc = CLI_FAIL;
    if ((st = axl_run_dataset(g, lm.macs, ds, &set, &rep, msg)) != AXL_OK) {
        fprintf(stderr, "axlut run: %s\n", msg);
        rc = cli_exit_for(st);
        goto done;
    }
    if (!ra.quiet)
        print_report(&rep);
    if (ra.report &&
        axl_run_report_write_json(&rep, ra.report, ra.model, ra.data, msg) != AXL_OK) {
        fprintf(stderr, "axlut run: %s\n", msg);
        goto done;
    }
    rc = CLI_OK;
done:
    axl_run_report_free(&rep);
    axl_layer_macs_free(&lm);
    axl_dataset_close(ds);
    axl_layers_free(layers);
    axl_graph_free(g);
    return rc;
}
