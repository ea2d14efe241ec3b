/* axlut train: fine-tune an ONNX network through its approximate layers
 * and write it back with the updated weights. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "axlut/graph.h"
#include "axlut/layers.h"
#include "axlut/train.h"
#include "cli.h"

static void usage(FILE *o)
{
    fprintf(o,
        "usage: axlut train MODEL.onnx --data TRAIN.h5 -o RETRAINED.onnx [--val VAL.h5]\n"
        "                   [MAC options | --config LAYERS.json] [--device cpu|cuda]\n"
        "                   [--epochs N] [--batch N] [--lr X] [--optimizer sgd|adam]\n"
        "                   [--momentum M] [--weight-decay W]\n"
        "                   [--schedule constant|cosine|step] [--seed S]\n"
        "                   [--backward exact|approx] [--bn frozen|train] [--limit N]\n"
        "                   [--val-limit N] [--report R.json] [--checkpoint DIR [--resume]]\n"
        "                   [--quiet]\n\n"
        "Fine-tunes the network with its configured layers approximate in the forward\n"
        "pass (every product and add as in axlut run; weights re-encoded from the float\n"
        "master copy after every update), softmax cross-entropy of output 0 against the\n"
        "dataset's /labels (or the mean squared error against its /targets), and\n"
        "writes the same ONNX graph with updated initializers.\n\n"
        "MAC options and --config mean exactly what they mean in axlut run (axlut run\n"
        "--help lists them); without any, every layer is exact float32.\n\n"
        "  --backward exact   (default) the straight-through estimator: the gradient\n"
        "                     products of each approximate layer are exact float32, at\n"
        "                     the operands as its formats quantize them\n"
        "  --backward approx  the input- and weight-gradient products also go through the\n"
        "                     layer's multiplier, formats and adder (the output gradient\n"
        "                     scaled by a power of two into the format's range first)\n"
        "  --bn frozen        (default) BatchNormalization keeps its running statistics;\n"
        "                     scale and bias train.  --bn train: batch statistics, running\n"
        "                     averages updated\n\n"
        "Defaults fine-tune a trained model without tuning: SGD, momentum 0.9, learning\n"
        "rate 0.005 with a cosine decay to 0 over 2 epochs, batch 64, no weight decay\n"
        "(Adam: rate 1e-4).  The run is deterministic given --seed (order of samples,\n"
        "Dropout masks; also the rounding seed of the MAC options) on any thread count.\n"
        "--checkpoint DIR writes DIR/epoch-N.h5 after every epoch (weights, running\n"
        "statistics, optimizer state); --resume continues from the last one exactly.\n"
        "The report gives per epoch the training loss and accuracy and the validation\n"
        "top-1 under the approximate and the exact arithmetic.\n");
}

struct train_args {
    const char *model, *data, *val, *out, *config, *report, *ckpt, *device;
    int quiet;
    struct axl_train_settings s;
    const char *mac_keys[64], *mac_vals[64];
    int nmac;
};

static int num_arg(const char *opt, const char *v, double lo, double *out)
{
    char *end;
    double x = strtod(v, &end);
    if (*end || !(x >= lo) || !isfinite(x)) {
        fprintf(stderr, "axlut train: %s needs a number >= %g, not '%s'\n", opt, lo, v);
        return CLI_USAGE;
    }
    *out = x;
    return CLI_OK;
}

/* a numeric option into its field: 1 when a is one (*rc its status) */
static int numeric_option(struct train_args *r, const char *a, const char *v, int *rc)
{
    static const struct {
        const char *name;
        double lo;
    } nums[] = {{"--epochs", 1},   {"--batch", 1},    {"--limit", 0},        {"--val-limit", 0},
                {"--lr", 0},       {"--momentum", 0}, {"--weight-decay", 0}, {"--seed", 0}};
    for (int i = 0; i < (int)(sizeof nums / sizeof nums[0]); i++) {
        double x;
        if (strcmp(a, nums[i].name))
            continue;
        if ((*rc = num_arg(a, v, nums[i].lo, &x)) != CLI_OK)
            return 1;
        if ((i < 4 || i == 7) && x != (double)(int64_t)x) {
            fprintf(stderr, "axlut train: %s needs an integer, not '%s'\n", a, v);
            *rc = CLI_USAGE;
            return 1;
        }
        switch (i) {
        case 0: r->s.epochs = (int)x; break;
        case 1: r->s.batch = (int64_t)x; break;
        case 2: r->s.limit = (int64_t)x; break;
        case 3: r->s.val_limit = (int64_t)x; break;
        case 4: r->s.lr = (float)x; break;
        case 5: r->s.momentum = (float)x; break;
        case 6: r->s.weight_decay = (float)x; break;
        default: r->s.seed = strtoull(v, NULL, 10); break;
        }
        return 1;
    }
    return 0;
}

/* one option with a value; CLI_OK, or an exit status after a message, or
 * -2 when a is not such an option */
static int value_option(struct train_args *r, const char *a, const char *v)
{
    int rc = CLI_OK;
    if (numeric_option(r, a, v, &rc)) return rc;
    else if (!strcmp(a, "--data")) r->data = v;
    else if (!strcmp(a, "--val")) r->val = v;
    else if (!strcmp(a, "-o") || !strcmp(a, "--output")) r->out = v;
    else if (!strcmp(a, "--config")) r->config = v;
    else if (!strcmp(a, "--report")) r->report = v;
    else if (!strcmp(a, "--checkpoint")) r->ckpt = v;
    else if (!strcmp(a, "--device")) r->device = v;
    else if (!strcmp(a, "--optimizer")) {
        if (axl_optimizer_parse(v, &r->s.optimizer) != AXL_OK)
            rc = CLI_USAGE, fprintf(stderr, "axlut train: --optimizer is sgd or adam\n");
    } else if (!strcmp(a, "--schedule")) {
        if (axl_schedule_parse(v, &r->s.schedule) != AXL_OK)
            rc = CLI_USAGE,
            fprintf(stderr, "axlut train: --schedule is constant, cosine or step\n");
    } else if (!strcmp(a, "--backward")) {
        if (strcmp(v, "exact") && strcmp(v, "approx"))
            rc = CLI_USAGE, fprintf(stderr, "axlut train: --backward is exact or approx\n");
        r->s.backward_approx = !strcmp(v, "approx");
    } else if (!strcmp(a, "--bn")) {
        if (strcmp(v, "frozen") && strcmp(v, "train"))
            rc = CLI_USAGE, fprintf(stderr, "axlut train: --bn is frozen or train\n");
        r->s.bn_train = !strcmp(v, "train");
    } else
        return -2; /* not an option with a value */
    return rc;
}

static int parse_args(int argc, char **argv, struct train_args *r)
{
    memset(r, 0, sizeof *r);
    axl_train_defaults(&r->s);
    r->s.lr = 0; /* the optimizer's default unless given */
    r->device = "cpu";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *key;
        int has = i + 1 < argc, rc;
        if (cli_is_help(a)) {
            usage(stdout);
            return -1;
        } else if (!strcmp(a, "--seed") && has) {
            /* the training seed, and the MAC options' rounding seed as in
             * axlut run */
            if ((rc = value_option(r, a, argv[i + 1])) != CLI_OK || r->nmac >= 64)
                return rc != CLI_OK ? rc : CLI_USAGE;
            r->mac_keys[r->nmac] = "seed";
            r->mac_vals[r->nmac++] = argv[++i];
        } else if (cli_mac_option(a, &key)) {
            if (!has || r->nmac >= 64) {
                fprintf(stderr, "axlut train: %s needs a value\n", a);
                return CLI_USAGE;
            }
            r->mac_keys[r->nmac] = key;
            r->mac_vals[r->nmac++] = argv[++i];
        } else if (!strcmp(a, "--resume")) {
            r->s.resume = 1;
        } else if (!strcmp(a, "--quiet")) {
            r->quiet = 1;
        } else if (has && (rc = value_option(r, a, argv[i + 1])) != -2) {
            if (rc != CLI_OK)
                return rc;
            i++;
        } else if (a[0] == '-') {
            fprintf(stderr, "axlut train: unknown option '%s' or missing value (axlut train "
                    "--help)\n", a);
            return CLI_USAGE;
        } else if (!r->model) {
            r->model = a;
        } else {
            fprintf(stderr, "axlut train: one model only ('%s' is extra)\n", a);
            return CLI_USAGE;
        }
    }
    const char *missing = !r->model ? "no model given" : !r->data ? "no training set (--data "
                          "TRAIN.h5)" : !r->out ? "no output (-o RETRAINED.onnx)" : NULL;
    if (!missing && r->s.resume && !r->ckpt)
        missing = "--resume needs --checkpoint DIR";
    if (missing) {
        fprintf(stderr, "axlut train: %s (axlut train --help)\n", missing);
        return CLI_USAGE;
    }
    r->s.checkpoint_dir = r->ckpt;
    return CLI_OK;
}

struct bar {
    int tty;
    int epochs;
};

static void progress(void *user, int epoch, int64_t done, int64_t total, double loss,
                     double acc)
{
    struct bar *b = user;
    char label[48], suffix[64];
    if (!b->tty)
        return;
    snprintf(label, sizeof label, "epoch %d/%d", epoch, b->epochs);
    int n = snprintf(suffix, sizeof suffix, " loss %.4f", loss);
    if (!isnan(acc))
        snprintf(suffix + n, sizeof suffix - (size_t)n, " acc %.2f%%", 100 * acc);
    cli_bar(label, done, total, suffix);
}

static void print_report(const struct axl_train_report *r)
{
    char a[32], b[32];
    cli_pct(a, sizeof a, r->val_top1_before);
    cli_pct(b, sizeof b, r->val_exact_top1_before);
    printf("before training: validation top-1 %s (exact arithmetic %s)\n", a, b);
    printf("%5s %10s %10s %9s %10s %10s %8s %8s %8s\n", "epoch", "lr", "loss", "train",
           "val top-1", "val exact", "time s", "fwd s", "bwd s");
    for (int i = 0; i < r->nepochs; i++) {
        const struct axl_train_epoch *e = &r->epochs[i];
        char t[32];
        cli_pct(t, sizeof t, e->train_acc);
        cli_pct(a, sizeof a, e->val_top1);
        cli_pct(b, sizeof b, e->val_exact_top1);
        printf("%5d %10.3g %10.4f %9s %10s %10s %8.1f %8.1f %8.1f\n", e->epoch, e->lr,
               e->train_loss, t, a, b, e->seconds, e->fwd_s, e->bwd_s);
    }
    if (r->last_checkpoint[0])
        printf("last checkpoint: %s\n", r->last_checkpoint);
}

static int write_json(const struct train_args *ra, const struct axl_train_report *r)
{
    json_t *root = json_object(), *eps = json_array();
    json_object_set_new(root, "model", json_string(ra->model));
    json_object_set_new(root, "data", json_string(ra->data));
    json_object_set_new(root, "val", ra->val ? json_string(ra->val) : json_null());
    json_object_set_new(root, "output", json_string(ra->out));
    json_object_set_new(root, "optimizer", json_string(axl_optimizer_name(ra->s.optimizer)));
    json_object_set_new(root, "schedule", json_string(axl_schedule_name(ra->s.schedule)));
    json_object_set_new(root, "backward", json_string(ra->s.backward_approx ? "approx" : "exact"));
    json_object_set_new(root, "bn", json_string(ra->s.bn_train ? "train" : "frozen"));
    json_object_set_new(root, "batch", json_integer(ra->s.batch));
    json_object_set_new(root, "seed", json_integer((json_int_t)ra->s.seed));
    json_object_set_new(root, "train_samples", json_integer(r->train_samples));
    json_object_set_new(root, "val_samples", json_integer(r->val_samples));
    json_object_set_new(root, "val_top1_before", cli_json_number(r->val_top1_before, 6));
    json_object_set_new(root, "val_exact_top1_before",
                        cli_json_number(r->val_exact_top1_before, 6));
    for (int i = 0; i < r->nepochs; i++) {
        const struct axl_train_epoch *e = &r->epochs[i];
        json_t *o = json_object();
        json_object_set_new(o, "epoch", json_integer(e->epoch));
        json_object_set_new(o, "lr", cli_json_number(e->lr, 6));
        json_object_set_new(o, "train_loss", cli_json_number(e->train_loss, 6));
        json_object_set_new(o, "train_accuracy", cli_json_number(e->train_acc, 6));
        json_object_set_new(o, "val_top1", cli_json_number(e->val_top1, 6));
        json_object_set_new(o, "val_exact_top1", cli_json_number(e->val_exact_top1, 6));
        json_object_set_new(o, "seconds", cli_json_number(e->seconds, 4));
        json_object_set_new(o, "forward_seconds", cli_json_number(e->fwd_s, 4));
        json_object_set_new(o, "backward_seconds", cli_json_number(e->bwd_s, 4));
        json_object_set_new(o, "update_seconds", cli_json_number(e->upd_s, 4));
        json_object_set_new(o, "samples", json_integer(e->samples));
        json_array_append_new(eps, o);
    }
    json_object_set_new(root, "epochs", eps);
    return cli_json_write(root, ra->report, 6, "axlut train");
}

/* CLI_OK when the output's directory exists and can be written */
static int output_writable(const char *out)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", out);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = 0;
    else
        snprintf(dir, sizeof dir, ".");
    if (access(dir, W_OK) != 0) {
        fprintf(stderr, "axlut train: %s: cannot be written (directory %s is missing or "
                "read-only)\n", out, dir);
        return CLI_USAGE;
    }
    return CLI_OK;
}

static int open_inputs(const struct train_args *ra, struct axl_graph **g, struct axl_layers **l,
                       struct axl_layer_macs *lm, struct axl_dataset **tr, struct axl_dataset **va)
{
    char msg[AXL_MSG_LEN];
    enum axl_status st;
    if (cli_input_file("axlut train", ra->model) || cli_input_file("axlut train", ra->data) ||
        (ra->val && cli_input_file("axlut train", ra->val)) ||
        (ra->config && cli_input_file("axlut train", ra->config)) || output_writable(ra->out))
        return CLI_USAGE;
    const struct cli_file outs[] = {{"-o", ra->out}, {"--report", ra->report}},
                          ins[] = {{"the model", ra->model}, {"--data", ra->data},
                                   {"--val", ra->val}, {"--config", ra->config}};
    if (cli_outputs_distinct("axlut train", outs, 2, ins, 4) != CLI_OK)
        return CLI_USAGE;
    if ((st = axl_graph_load_trainable(ra->model, g, msg)) != AXL_OK ||
        (st = axl_graph_check_backward(*g, msg)) != AXL_OK ||
        (st = ra->config ? axl_layers_load_json(ra->config, l, msg) : axl_layers_new(l, msg)))
        goto fail;
    for (int i = 0; i < ra->nmac; i++)
        if ((st = axl_layers_set_default(*l, ra->mac_keys[i], ra->mac_vals[i], msg)) != AXL_OK) {
            fprintf(stderr, "axlut train: --%s: %s\n", ra->mac_keys[i], msg);
            return CLI_USAGE;
        }
    if ((st = axl_layers_bind(*l, *g, lm, msg)) != AXL_OK ||
        (st = axl_dataset_open(ra->data, *g, tr, msg)) != AXL_OK ||
        (ra->val && (st = axl_dataset_open(ra->val, *g, va, msg)) != AXL_OK))
        goto fail;
    return CLI_OK;
fail:
    fprintf(stderr, "axlut train: %s\n", msg);
    return st == AXL_ERR_NOMEM ? CLI_FAIL : CLI_USAGE;
}

int cli_train(int argc, char **argv)
{
    struct train_args ra;
    int rc = parse_args(argc, argv, &ra);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    enum axl_backend be;
    if (cli_backend("axlut train", ra.device, &be) != CLI_OK)
        return CLI_USAGE;
    ra.s.backend = be;
    char msg[AXL_MSG_LEN];
    struct axl_graph *g = NULL;
    struct axl_layers *layers = NULL;
    struct axl_dataset *tr = NULL, *va = NULL;
    struct axl_layer_macs lm = {0};
    struct axl_train_report rep;
    memset(&rep, 0, sizeof rep);
    if ((rc = open_inputs(&ra, &g, &layers, &lm, &tr, &va)) != CLI_OK)
        goto done;
    struct bar bar = {isatty(2) && !ra.quiet, ra.s.epochs};
    ra.s.progress = progress;
    ra.s.progress_user = &bar;
    enum axl_status st = axl_train(g, lm.macs, tr, va, &ra.s, &rep, msg);
    if (st != AXL_OK) {
        fprintf(stderr, "axlut train: %s\n", msg);
        rc = cli_exit_for(st);
        goto done;
    }
    if (!ra.quiet)
        print_report(&rep);
    if ((st = axl_graph_save(g, ra.out, msg)) != AXL_OK) {
        fprintf(stderr, "axlut train: %s\n", msg);
        rc = CLI_FAIL;
        goto done;
    }
    rc = ra.report ? write_json(&ra, &rep) : CLI_OK;
    if (!ra.quiet && rc == CLI_OK)
        printf("wrote %s\n", ra.out);
done:
    axl_train_report_free(&rep);
    axl_layer_macs_free(&lm);
    axl_dataset_close(tr);
    axl_dataset_close(va);
    axl_layers_free(layers);
    axl_graph_free(g);
    return rc;
}
