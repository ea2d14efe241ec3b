/* axlut snn: convert a ReLU network into a rate-coded spiking network and
 * evaluate it at several step counts from one simulation. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "axlut/graph.h"
#include "axlut/layers.h"
#include "axlut/snn.h"
#include "cli.h"

#define MAX_STEPS 32

static void usage(FILE *o)
{
    fprintf(o,
        "usage: axlut snn MODEL.onnx --data DATA.h5 --calib CALIB.h5 --steps T[,T...]\n"
        "                 [--acc-format FMT] [--add DESIGN|FILE.c [--add-param N=V]...]\n"
        "                 [--format-w FMT] [--percentile P] [--calib-limit N]\n"
        "                 [--reset subtract|zero] [--coding direct|bernoulli] [--seed S]\n"
        "                 [--leak F] [--readout membrane|spikes]\n"
        "                 [--mul DESIGN|FILE.c|TABLE.h5 [--param N=V]...] [--format FMT]\n"
        "                 [--config LAYERS.json]\n"
        "                 [--kernel event|dense|auto|ref] [--auto-dense F] [--device cpu|cuda]\n"
        "                 [--max-steps T] [--batch N] [--limit N]\n"
        "                 [--report R.json] [--save-outputs OUT.h5] [--quiet]\n\n"
        "Converts the ReLU network into integrate-and-fire neurons (Diehl et al. 2015,\n"
        "Rueckauer et al. 2017): weights normalised by the P-th percentile (default\n"
        "99.9) of each layer's activations over the calibration set, threshold 1, reset\n"
        "by subtraction; MaxPool as a gate passing the spikes of the most active input;\n"
        "residual Adds and Concats with balanced scales (Hu et al. 2021); the last\n"
        "layer's membrane potential (or spike count) is the output.  One simulation to\n"
        "the largest T gives top-1 and agreement with the ANN at every T listed.\n\n"
        "  --acc-format FMT   membrane format: fp32 (default), fp16, bf16, eXmY, or intN\n"
        "                     (fixed point, bits chosen per layer)\n"
        "  --add DESIGN       adder of every membrane update (synaptic, bias, reset):\n"
        "                     e.g. fpadd_loa for floating membranes, loa for intN;\n"
        "                     default: exact adds\n"
        "  --format-w FMT     weight format (default fp32; intN: symmetric per layer)\n"
        "  --kernel           event (default): only neurons that spiked do work; dense:\n"
        "                     every synapse visited; auto: dense where more than\n"
        "                     --auto-dense of a layer's inputs spiked; ref: the event-driven\n"
        "                     kernel with one adder call per add (the slow reference);\n"
        "                     all give the same bits\n"
        "  --auto-dense F     --kernel auto: dense where more than the fraction F of a\n"
        "                     layer's inputs spiked (default 0.5, measured:\n"
        "                     BENCHMARKS.md)\n"
        "  --device           cpu (default) or cuda: the simulation on the GPU, one thread\n"
        "                     block per sample, the same bits (built-in adders only)\n"
        "  --leak F           leaky IF: each step every IF membrane first loses the\n"
        "                     fraction F (an add of -F*v through the adder); default 0\n"
        "  --readout          membrane (default): the last layer's membrane potential;\n"
        "                     spikes: its neurons fire too, the output is their count\n"
        "  --mul DESIGN       the first layer's analog products (direct coding) through\n"
        "                     this multiplier, operands in --format FMT (default fp32),\n"
        "                     summed in float32, as axlut run does; default exact\n"
        "  --config F.json    per-layer arithmetic in axlut run's language (docs/CONFIG.md):\n"
        "                     a layer's add, add_params, acc_format, format_w; the first\n"
        "                     layer's mul, params, format its input products; --acc-format,\n"
        "                     --add, --add-param, --format-w set the file's default\n"
        "  --save-outputs F   HDF5: /outputs/snn_T<T> (the readout at each T) and\n"
        "                     /outputs/ann (the ANN's outputs), [samples][classes]\n"
        "  --coding           direct (default): the analog input as a current every step;\n"
        "                     bernoulli: seeded input spikes\n"
        "  --max-steps T      intN membranes: the readout's range covers T steps\n"
        "                     (default: the largest --steps)\n"
        "Per layer the report gives the firing rate, the synaptic operations (spikes x\n"
        "fan-out) per sample and the rate error: the mean |rate x lambda - the ANN's\n"
        "ReLU activation|.  include/axlut/snn.h defines the semantics\n"
        "(order of the adds, formats, fixed point).\n");
}

struct snn_args {
    const char *model, *data, *calib, *report, *config;
    int quiet;
    struct axl_snn_settings s;
    struct axl_snn_eval e;
    int64_t steps[MAX_STEPS];
    int nsteps;
};

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* "8,16,32": sorted, duplicates dropped */
static int parse_steps(const char *v, struct snn_args *r)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", v);
    r->nsteps = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *end;
        long long x = strtoll(t, &end, 10);
        if (*end || end == t || x < 1 || x > (1 << 20)) {
            fprintf(stderr, "axlut snn: --steps: T = %s: the number of time steps must be an "
                    "integer from 1 to %d\n", t, 1 << 20);
            return CLI_USAGE;
        }
        if (r->nsteps == MAX_STEPS) {
            fprintf(stderr, "axlut snn: --steps: at most %d step counts\n", MAX_STEPS);
            return CLI_USAGE;
        }
        r->steps[r->nsteps++] = x;
    }
    if (!r->nsteps) {
        fprintf(stderr, "axlut snn: --steps needs step counts, e.g. 8,16,32\n");
        return CLI_USAGE;
    }
    qsort(r->steps, (size_t)r->nsteps, sizeof *r->steps, cmp_i64);
    int n = 1;
    for (int i = 1; i < r->nsteps; i++)
        if (r->steps[i] != r->steps[n - 1])
            r->steps[n++] = r->steps[i];
    r->nsteps = n;
    return CLI_OK;
}

static int num_arg(const char *opt, const char *v, double lo, double hi, double *out)
{
    char *end;
    double x = strtod(v, &end);
    if (*end || end == v || !(x >= lo && x <= hi)) {
        fprintf(stderr, "axlut snn: %s needs a number in [%g, %g], not '%s'\n", opt, lo, hi, v);
        return CLI_USAGE;
    }
    *out = x;
    return CLI_OK;
}

/* one option with a value; CLI_OK, -2 when a is not one, or an exit status */
static int value_option(struct snn_args *r, const char *a, const char *v)
{
    double x = 0;
    int rc = CLI_OK;
    if (!strcmp(a, "--data")) r->data = v;
    else if (!strcmp(a, "--calib")) r->calib = v;
    else if (!strcmp(a, "--report")) r->report = v;
    else if (!strcmp(a, "--config")) r->config = v;
    else if (!strcmp(a, "--save-outputs")) r->e.save_outputs = v;
    else if (!strcmp(a, "--device")) rc = cli_backend("axlut snn", v, &r->e.backend);
    else if (!strcmp(a, "--steps")) rc = parse_steps(v, r);
    else if (!strcmp(a, "--acc-format")) r->s.fmt_acc = v;
    else if (!strcmp(a, "--format-w")) r->s.fmt_w = v;
    else if (!strcmp(a, "--add")) r->s.add = v;
    else if (!strcmp(a, "--mul")) r->s.mul = v;
    else if (!strcmp(a, "--format")) r->s.fmt_in = v;
    else if (!strcmp(a, "--param")) {
        if (r->s.n_mul_params == AXL_DESIGN_MAX_PARAMS)
            rc = CLI_USAGE, fprintf(stderr, "axlut snn: at most %d --param\n",
                                    AXL_DESIGN_MAX_PARAMS);
        else
            r->s.mul_params[r->s.n_mul_params++] = v;
    }
    else if (!strcmp(a, "--add-param")) {
        if (r->s.n_add_params == AXL_DESIGN_MAX_PARAMS)
            rc = CLI_USAGE, fprintf(stderr, "axlut snn: at most %d --add-param\n",
                                    AXL_DESIGN_MAX_PARAMS);
        else
            r->s.add_params[r->s.n_add_params++] = v;
    } else if (!strcmp(a, "--percentile")) {
        if ((rc = num_arg(a, v, 1e-9, 100, &x)) == CLI_OK)
            r->s.percentile = x;
    } else if (!strcmp(a, "--calib-limit")) {
        if ((rc = num_arg(a, v, 1, 1e15, &x)) == CLI_OK)
            r->s.calib_limit = (int64_t)x;
    } else if (!strcmp(a, "--max-steps")) {
        if ((rc = num_arg(a, v, 1, 1 << 20, &x)) == CLI_OK)
            r->s.max_steps = (int64_t)x;
    } else if (!strcmp(a, "--batch")) {
        if ((rc = num_arg(a, v, 1, 1e6, &x)) == CLI_OK)
            r->e.batch = r->s.batch = (int64_t)x;
    } else if (!strcmp(a, "--limit")) {
        if ((rc = num_arg(a, v, 1, 1e15, &x)) == CLI_OK)
            r->e.limit = (int64_t)x;
    } else if (!strcmp(a, "--seed")) {
        if ((rc = num_arg(a, v, 0, 1.8e19, &x)) == CLI_OK)
            r->s.seed = strtoull(v, NULL, 10);
    } else if (!strcmp(a, "--reset")) {
        if (axl_snn_reset_parse(v, &r->s.reset) != AXL_OK)
            rc = CLI_USAGE, fprintf(stderr, "axlut snn: --reset is subtract or zero\n");
    } else if (!strcmp(a, "--coding")) {
        if (axl_snn_coding_parse(v, &r->s.coding) != AXL_OK)
            rc = CLI_USAGE, fprintf(stderr, "axlut snn: --coding is direct or bernoulli\n");
    } else if (!strcmp(a, "--kernel")) {
        if (axl_snn_kernel_parse(v, &r->e.kernel) != AXL_OK)
            rc = CLI_USAGE, fprintf(stderr, "axlut snn: --kernel is event, dense, auto or ref\n");
    } else if (!strcmp(a, "--readout")) {
        if (axl_snn_readout_parse(v, &r->s.readout) != AXL_OK)
            rc = CLI_USAGE, fprintf(stderr, "axlut snn: --readout is membrane or spikes\n");
    } else if (!strcmp(a, "--auto-dense")) {
        if ((rc = num_arg(a, v, 1e-6, 1, &x)) == CLI_OK)
            r->e.auto_dense = x;
    } else if (!strcmp(a, "--leak")) {
        if ((rc = num_arg(a, v, 0, 0.999999, &x)) == CLI_OK)
            r->s.leak = x;
    } else
        return -2;
    return rc;
}

static int parse_args(int argc, char **argv, struct snn_args *r)
{
    memset(r, 0, sizeof *r);
    axl_snn_defaults(&r->s);
    r->s.max_steps = 0; /* the largest --steps unless given */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int rc;
        if (cli_is_help(a)) {
            usage(stdout);
            return -1;
        } else if (!strcmp(a, "--quiet")) {
            r->quiet = 1;
        } else if (i + 1 < argc && (rc = value_option(r, a, argv[i + 1])) != -2) {
            if (rc != CLI_OK)
                return rc;
            i++;
        } else if (a[0] == '-') {
            fprintf(stderr, "axlut snn: unknown option '%s' or missing value (axlut snn "
                    "--help)\n", a);
            return CLI_USAGE;
        } else if (!r->model) {
            r->model = a;
        } else {
            fprintf(stderr, "axlut snn: one model only ('%s' is extra)\n", a);
            return CLI_USAGE;
        }
    }
    const char *missing = !r->model ? "no model given" : !r->data ? "no dataset (--data D.h5)"
                        : !r->calib ? "no calibration set (--calib CALIB.h5)"
                        : !r->nsteps ? "no step counts (--steps 8,16,32)" : NULL;
    if (missing) {
        fprintf(stderr, "axlut snn: %s (axlut snn --help)\n", missing);
        return CLI_USAGE;
    }
    if (!r->s.max_steps)
        r->s.max_steps = r->steps[r->nsteps - 1];
    return CLI_OK;
}

static void print_report(const struct axl_snn_report *r)
{
    char a[32], b[32];
    printf("%s; %lld samples, %s kernel\n", r->arithmetic, (long long)r->samples, r->kernel);
    cli_pct(a, sizeof a, r->ann_top1);
    printf("ANN (exact fp32) top-1 %s\n", a);
    printf("%8s %10s %10s\n", "T", "top-1", "agreement");
    for (int i = 0; i < r->nsteps; i++) {
        cli_pct(a, sizeof a, r->steps[i].top1);
        cli_pct(b, sizeof b, r->steps[i].agreement);
        printf("%8lld %10s %10s\n", (long long)r->steps[i].steps, a, b);
    }
    int last = r->nsteps - 1;
    printf("\n%-24s %-8s %8s %10s %8s %14s %10s %10s   (T = %lld)\n", "layer", "kind",
           "neurons", "lambda", "rate", "synops/sample", "rate err", "ANN mean",
           (long long)r->steps[last].steps);
    for (size_t k = 0; k < r->nlayers; k++) {
        const struct axl_snn_layer_result *L = &r->layers[k];
        char name[25], err[16] = "-", mean[16] = "-", note[48] = "";
        snprintf(name, sizeof name, "%s", L->info.name);
        if (!isnan(L->rate_err[last]))
            snprintf(err, sizeof err, "%.4g", L->rate_err[last]);
        if (!isnan(L->ann_mean))
            snprintf(mean, sizeof mean, "%.4g", L->ann_mean);
        if (L->info.into >= 0)
            snprintf(note, sizeof note, "  (into %s)", r->layers[L->info.into].info.name);
        else if (!L->info.spiking && L->info.kind != AXL_SNN_MAXPOOL &&
                 L->info.kind != AXL_SNN_CONCAT)
            snprintf(note, sizeof note, "  (no spikes)");
        printf("%-24s %-8s %8lld %10.4g %8.4f %14.0f %10s %10s%s\n", name,
               L->info.readout ? "readout" : axl_snn_layer_kind_name(L->info.kind),
               (long long)L->info.neurons, L->info.lambda, L->rate[last], L->synops[last], err,
               mean, note);
    }
    printf("rate err: mean |rate x lambda - the ANN's ReLU activation| per neuron\n");
    printf("time: SNN %.2f s, ANN %.2f s\n", r->seconds, r->ann_seconds);
}

/* the configuration file, its default completed by the command line's
 * membrane options (as axlut run's options set its default) */
static enum axl_status load_config(const struct snn_args *ra, struct axl_layers **cfg, char *msg)
{
    enum axl_status st = axl_layers_load_json(ra->config, cfg, msg);
    const char *keys[] = {"acc-format", "add", "format-w"};
    const char *vals[] = {ra->s.fmt_acc, ra->s.add, ra->s.fmt_w};
    for (int i = 0; st == AXL_OK && i < 3; i++)
        if (vals[i])
            st = axl_layers_set_default(*cfg, keys[i], vals[i], msg);
    for (int i = 0; st == AXL_OK && i < ra->s.n_add_params; i++)
        st = axl_layers_set_default(*cfg, "add-param", ra->s.add_params[i], msg);
    return st;
}

int cli_snn(int argc, char **argv)
{
    struct snn_args ra;
    int rc = parse_args(argc, argv, &ra);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    char msg[AXL_MSG_LEN];
    struct axl_graph *g = NULL;
    struct axl_dataset *data = NULL, *calib = NULL;
    struct axl_snn *snn = NULL;
    struct axl_layers *cfg = NULL;
    struct axl_snn_report rep;
    memset(&rep, 0, sizeof rep);
    enum axl_status st;
    const struct cli_file outs[] = {{"--report", ra.report}},
                          ins[] = {{"the model", ra.model}, {"--data", ra.data},
                                   {"--calib", ra.calib}};
    if (cli_input_file("axlut snn", ra.model) || cli_input_file("axlut snn", ra.data) ||
        cli_input_file("axlut snn", ra.calib) || cli_outputs_distinct("axlut snn", outs, 1, ins, 3))
        return CLI_USAGE;
    if (ra.config && cli_input_file("axlut snn", ra.config))
        return CLI_USAGE;
    if ((ra.config && (st = load_config(&ra, &cfg, msg)) != AXL_OK) ||
        (st = axl_graph_load(ra.model, &g, msg)) != AXL_OK ||
        (st = axl_snn_check(g, msg)) != AXL_OK ||
        (st = axl_dataset_open(ra.calib, g, &calib, msg)) != AXL_OK ||
        (st = axl_dataset_open(ra.data, g, &data, msg)) != AXL_OK ||
        ((ra.s.config = cfg), (st = axl_snn_convert(g, calib, &ra.s, &snn, msg)) != AXL_OK)) {
        fprintf(stderr, "axlut snn: %s\n", msg);
        rc = st == AXL_ERR_NOMEM ? CLI_FAIL : CLI_USAGE;
        goto done;
    }
    int tty = isatty(2) && !ra.quiet;
    ra.e.progress = cli_samples_bar;
    ra.e.progress_user = &tty;
    if ((st = axl_snn_evaluate(snn, g, data, ra.steps, ra.nsteps, &ra.e, &rep, msg)) != AXL_OK) {
        fprintf(stderr, "axlut snn: %s\n", msg);
        rc = cli_exit_for(st);
        goto done;
    }
    if (!ra.quiet)
        print_report(&rep);
    if (ra.report &&
        (st = axl_snn_report_write_json(&rep, ra.report, ra.model, ra.data, msg)) != AXL_OK) {
        fprintf(stderr, "axlut snn: %s\n", msg);
        rc = CLI_FAIL;
    }
done:
    axl_snn_report_free(&rep);
    axl_snn_free(snn);
    axl_layers_free(cfg);
    axl_dataset_close(data);
    axl_dataset_close(calib);
    axl_graph_free(g);
    return rc;
}
