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
        "                 [--save-outputs OUT.h5 [--save-layers]] [--quiet]\n\n"
        "Runs the network over the dataset twice, exactly and with the configured\n"
        "layers approximate, and reports per layer its own error (against the exact\n"
        "layer given the same input) and the error accumulated from the network input,\n"
        "then accuracy against the labels and agreement with the exact network.\n\n"
        "MAC options (they set the default of every Conv, ConvTranspose, Gemm, MatMul):\n"
        "  --mul DESIGN|FILE.c|TABLE.h5   multiplier (axlut list designs)\n"
        "  --param NAME=V                 multiplier parameter (repeatable)\n"
        "  --format FMT                   activation format (and weights unless --format-w)\n"
        "  --format-w FMT, --format-p FMT weight format, product format\n"
        "  --round MODE, --seed N         rounding of activations and weights\n"
        "  --add DESIGN, --add-param N=V  adder design (default: exact fp32 adds)\n"
        "  --acc-format FMT               accumulator format of the adder design\n"
        "  --order sequential|pairwise|chunked, --chunk N\n"
        "  --path auto|table|mantissa|function\n"
        "  --wquant per-channel|per-tensor  integer weight quantization\n"
        "--config LAYERS.json assigns configurations per layer (docs/CONFIG.md); the\n"
        "options above change its default.  Without any, every layer is exact.\n");
}

struct bar {
    int tty;
    int64_t last;
};

static void progress(void *user, int64_t done, int64_t total)
{
    struct bar *b = user;
    if (!b->tty)
        return;
    int w = 40, filled = (int)(w * done / (total ? total : 1));
    fprintf(stderr, "\rsamples [");
    for (int i = 0; i < w; i++)
        fputc(i < filled ? '=' : (i == filled ? '>' : ' '), stderr);
    fprintf(stderr, "] %lld/%lld", (long long)done, (long long)total);
    if (done >= total)
        fprintf(stderr, "\r%*s\r", 70, "");
    fflush(stderr);
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
    printf("%-28s %-9s %-12s %11s %-8s %9s %9s %10s %8s %8s\n", "layer", "op", "output",
           "MACs/sample", "path", "own SNR", "acc. SNR", "max|err|", "cosine", "time s");
    for (size_t i = 0; i < r->nlayers; i++) {
        const struct axl_layer_report *L = &r->layers[i];
        char a[32], b[32];
        char name[29], shape[64] = "";
        snprintf(name, sizeof name, "%s", L->name);
        size_t sl = 0;
        for (int d = 1; d < L->ndim && sl < sizeof shape; d++) /* per sample: skip the batch */
            sl += (size_t)snprintf(shape + sl, sizeof shape - sl, d > 1 ? "x%lld" : "%lld",
                                   (long long)L->dims[d]);
        printf("%-28s %-9s %-12s %11lld %-8s %9s %9s %10.3g %8.5f %8.3f\n", name, L->op, shape,
               (long long)L->macs, L->approximate ? axl_path_name(L->path) : "exact",
               fmt_db(L->local.snr_db, a, sizeof a), fmt_db(L->accum.snr_db, b, sizeof b),
               L->accum.max_abs, L->accum.cosine, L->seconds);
    }
    printf("\nconfigurations:\n");
    for (size_t i = 0; i < r->nlayers; i++)
        if (r->layers[i].approximate)
            printf("  %-26s %s\n", r->layers[i].name, r->layers[i].config);
    char a[32];
    printf("\nsamples %lld, output SNR %s dB against the exact network\n", (long long)r->samples,
           fmt_db(r->output_error.snr_db, a, sizeof a));
    if (r->has_labels && !isnan(r->top1)) {
        printf("top-1 %.2f%% (exact %.2f%%)", 100 * r->top1, 100 * r->exact_top1);
        if (!isnan(r->top5))
            printf(", top-5 %.2f%% (exact %.2f%%)", 100 * r->top5, 100 * r->exact_top5);
        printf("\n");
    }
    if (!isnan(r->agreement))
        printf("agreement with the exact network's top-1: %.2f%%\n", 100 * r->agreement);
    printf("throughput %.1f samples/s (approximate pass, shadows included); exact pass %.3f s\n",
           r->samples_per_s, r->exact_seconds);
}

static int is_mac_option(const char *a, const char **key)
{
    static const char *const opts[][2] = {
        {"--mul", "mul"},         {"--param", "param"},         {"--format", "format"},
        {"--format-w", "format-w"}, {"--format-p", "format-p"}, {"--round", "round"},
        {"--seed", "seed"},       {"--add", "add"},             {"--add-param", "add-param"},
        {"--acc-format", "acc-format"}, {"--order", "order"},   {"--chunk", "chunk"},
        {"--path", "path"},       {"--wquant", "wquant"},
    };
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        if (!strcmp(a, opts[i][0])) {
            *key = opts[i][1];
            return 1;
        }
    return 0;
}

int cli_run(int argc, char **argv)
{
    const char *model = NULL, *data = NULL, *config = NULL, *report_path = NULL,
               *save = NULL, *device = "cpu";
    int save_layers = 0, quiet = 0;
    int64_t batch = 32, limit = 0;
    const char *mac_keys[64], *mac_vals[64];
    int nmac = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *key;
        int has = i + 1 < argc;
        if (cli_is_help(a)) {
            usage(stdout);
            return CLI_OK;
        } else if (is_mac_option(a, &key)) {
            if (!has || nmac >= 64) {
                fprintf(stderr, "axlut run: %s needs a value\n", a);
                return CLI_USAGE;
            }
            mac_keys[nmac] = key;
            mac_vals[nmac++] = argv[++i];
        } else if (!strcmp(a, "--data") && has) {
            data = argv[++i];
        } else if (!strcmp(a, "--config") && has) {
            config = argv[++i];
        } else if (!strcmp(a, "--report") && has) {
            report_path = argv[++i];
        } else if (!strcmp(a, "--save-outputs") && has) {
            save = argv[++i];
        } else if (!strcmp(a, "--save-layers")) {
            save_layers = 1;
        } else if (!strcmp(a, "--device") && has) {
            device = argv[++i];
        } else if ((!strcmp(a, "--batch") || !strcmp(a, "--limit")) && has) {
            char *end;
            long long v = strtoll(argv[i + 1], &end, 10);
            if (*end || v < (a[2] == 'b' ? 1 : 0)) {
                fprintf(stderr, "axlut run: %s needs a %s integer\n", a,
                        a[2] == 'b' ? "positive" : "non-negative");
                return CLI_USAGE;
            }
            *(a[2] == 'b' ? &batch : &limit) = v;
            i++;
        } else if (!strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (a[0] == '-') {
            fprintf(stderr, "axlut run: unknown option '%s' or missing value (axlut run --help)\n",
                    a);
            return CLI_USAGE;
        } else if (!model) {
            model = a;
        } else {
            fprintf(stderr, "axlut run: one model only ('%s' is extra)\n", a);
            return CLI_USAGE;
        }
    }
    if (!model || !data) {
        fprintf(stderr, "axlut run: %s (axlut run --help)\n",
                !model ? "no model given" : "no dataset given (--data DATA.h5)");
        return CLI_USAGE;
    }
    if (save_layers && !save) {
        fprintf(stderr, "axlut run: --save-layers needs --save-outputs OUT.h5\n");
        return CLI_USAGE;
    }
    enum axl_backend be;
    if (cli_backend("axlut run", device, &be) != CLI_OK)
        return CLI_USAGE;

    char msg[AXL_MSG_LEN];
    int rc = CLI_USAGE;
    struct axl_graph *g = NULL;
    struct axl_layers *layers = NULL;
    struct axl_dataset *ds = NULL;
    const struct axl_mac **macs = NULL;
    const char **names = NULL, **ops = NULL;
    struct axl_run_report rep;
    memset(&rep, 0, sizeof rep);

    if (axl_graph_load(model, &g, msg) != AXL_OK) {
        fprintf(stderr, "axlut run: %s\n", msg);
        goto done;
    }
    if ((config ? axl_layers_load_json(config, &layers, msg) : axl_layers_new(&layers, msg)) !=
        AXL_OK) {
        fprintf(stderr, "axlut run: %s\n", msg);
        goto done;
    }
    for (int i = 0; i < nmac; i++)
        if (axl_layers_set_default(layers, mac_keys[i], mac_vals[i], msg) != AXL_OK) {
            fprintf(stderr, "axlut run: --%s: %s\n", mac_keys[i], msg);
            goto done;
        }
    size_t nn = axl_graph_node_count(g), nm = 0;
    macs = calloc(nn ? nn : 1, sizeof *macs);
    names = calloc(nn ? nn : 1, sizeof *names);
    ops = calloc(nn ? nn : 1, sizeof *ops);
    if (!macs || !names || !ops) {
        fprintf(stderr, "axlut run: out of memory\n");
        rc = CLI_FAIL;
        goto done;
    }
    for (size_t i = 0; i < nn; i++)
        if (axl_graph_node_is_mac(g, i)) {
            names[nm] = axl_graph_node_name(g, i);
            ops[nm++] = axl_graph_node_op(g, i);
        }
    if (axl_layers_check(layers, names, ops, nm, msg) != AXL_OK) {
        fprintf(stderr, "axlut run: %s%s%s\n", config ? config : "", config ? ": " : "", msg);
        goto done;
    }
    for (size_t i = 0; i < nn; i++) {
        if (!axl_graph_node_is_mac(g, i))
            continue;
        struct axl_mac_spec spec;
        int exact;
        axl_layers_resolve(layers, axl_graph_node_name(g, i), axl_graph_node_op(g, i), &spec,
                           &exact);
        if (exact)
            continue;
        struct axl_mac *m;
        if (axl_mac_create(&spec, &m, msg) != AXL_OK) {
            fprintf(stderr, "axlut run: layer %s (%s): %s\n", axl_graph_node_name(g, i),
                    axl_graph_node_op(g, i), msg);
            goto done;
        }
        macs[i] = m;
    }
    if (axl_dataset_open(data, g, &ds, msg) != AXL_OK) {
        fprintf(stderr, "axlut run: %s\n", msg);
        goto done;
    }
    struct bar bar = {isatty(2) && !quiet, 0};
    struct axl_run_settings set = {be, batch, limit, progress, &bar, save, save_layers};
    rc = CLI_FAIL;
    if (axl_run_dataset(g, macs, ds, &set, &rep, msg) != AXL_OK) {
        fprintf(stderr, "axlut run: %s\n", msg);
        goto done;
    }
    if (!quiet)
        print_report(&rep);
    if (report_path && axl_run_report_write_json(&rep, report_path, model, data, msg) != AXL_OK) {
        fprintf(stderr, "axlut run: %s\n", msg);
        goto done;
    }
    rc = CLI_OK;
done:
    axl_run_report_free(&rep);
    for (size_t i = 0; macs && i < axl_graph_node_count(g); i++)
        axl_mac_free((struct axl_mac *)macs[i]);
    free(macs);
    free(names);
    free(ops);
    axl_dataset_close(ds);
    axl_layers_free(layers);
    axl_graph_free(g);
    return rc;
}
