/* The training loop (axlut/train.h): batches in a seeded order, forward
 * through the configured layers, softmax cross-entropy, backward, an SGD
 * or Adam update, and per epoch a validation under the approximate and the
 * exact arithmetic and a checkpoint. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>

#include "axlut/hd.h"
#include "axlut/run.h"
#include "axlut/train.h"
#include "checkpoint.h"

static const char *const optimizer_names[] = {"sgd", "adam"};
static const char *const schedule_names[] = {"constant", "cosine", "step"};
AXL_ENUM_NAMES_DEFINE(axl_optimizer, axl_optimizer_name, axl_optimizer_parse, optimizer_names)
AXL_ENUM_NAMES_DEFINE(axl_schedule, axl_schedule_name, axl_schedule_parse, schedule_names)

void axl_train_defaults(struct axl_train_settings *s)
{
    memset(s, 0, sizeof *s);
    s->epochs = 2;
    s->batch = 64;
    s->optimizer = AXL_OPTIMIZER_SGD;
    s->lr = 0.005f;
    s->momentum = 0.9f;
    s->schedule = AXL_SCHEDULE_COSINE;
}

void axl_train_report_free(struct axl_train_report *r)
{
    if (r) {
        free(r->epochs);
        r->epochs = NULL;
        r->nepochs = 0;
    }
}

/* ---- evaluation ------------------------------------------------------------ */
enum axl_status axl_eval_top1(const struct axl_graph *g, const struct axl_mac *const *macs,
                              struct axl_dataset *d, enum axl_backend be, int64_t batch,
                              int64_t limit, double *top1, char *msg)
{
    size_t nin = axl_graph_input_count(g), nout = axl_graph_output_count(g);
    int64_t total = axl_dataset_count(d), right = 0;
    if (limit > 0 && limit < total)
        total = limit;
    *top1 = NAN;
    if (!axl_dataset_has_labels(d))
        return AXL_OK;
    struct axl_tensor *in = calloc(nin + 1, sizeof *in), *out = calloc(nout + 1, sizeof *out);
    int64_t *labels = malloc((size_t)(batch > 0 ? batch : 1) * sizeof *labels);
    enum axl_status st = in && out && labels ? AXL_OK
                                             : axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    struct axl_run_opts o;
    memset(&o, 0, sizeof o);
    o.backend = be;
    o.mac = macs;
    for (int64_t s0 = 0; st == AXL_OK && s0 < total; s0 += batch) {
        int64_t n = total - s0 < batch ? total - s0 : batch;
        if ((st = axl_dataset_read(d, s0, n, in, labels, msg)) == AXL_OK &&
            (st = axl_graph_run(g, &o, in, out, msg)) == AXL_OK) {
            int64_t c = axl_tensor_numel(&out[0]) / n;
            for (int64_t i = 0; i < n; i++)
                right += axl_argmax(out[0].data + i * c, c) == labels[i];
        }
        for (size_t i = 0; i < nin; i++)
            axl_tensor_free(&in[i]);
        for (size_t i = 0; i < nout; i++)
            axl_tensor_free(&out[i]);
    }
    if (st == AXL_OK)
        *top1 = total ? (double)right / (double)total : NAN;
    free(in);
    free(out);
    free(labels);
    return st;
}

/* ---- the training set in memory ----------------------------------------------- */
struct tset {
    size_t nin;
    int64_t n, classes;
    struct axl_tensor *all;   /* nin tensors of n samples */
    int64_t *labels;
    struct axl_tensor *batch; /* nin tensors of up to B samples */
    int64_t *blabels;
    int64_t tper;             /* regression: target values per sample (no labels) */
    float *targets, *btargets;
};

static void tset_free(struct tset *t)
{
    for (size_t i = 0; t->all && i < t->nin; i++)
        axl_tensor_free(&t->all[i]);
    for (size_t i = 0; t->batch && i < t->nin; i++)
        axl_tensor_free(&t->batch[i]);
    free(t->all);
    free(t->batch);
    free(t->labels);
    free(t->blabels);
    free(t->targets);
    free(t->btargets);
}

static enum axl_status tset_load(const struct axl_graph *g, struct axl_dataset *d, int64_t limit,
                                 int64_t B, struct tset *t, char *msg)
{
    memset(t, 0, sizeof *t);
    t->nin = axl_graph_input_count(g);
    t->n = axl_dataset_count(d);
    if (limit > 0 && limit < t->n)
        t->n = limit;
    if (!axl_dataset_has_labels(d) && !(t->tper = axl_dataset_target_size(d)))
        return axl_msgf(msg, AXL_ERR_INVALID, "%s has neither /labels nor /targets: training "
                        "needs a label per sample (softmax cross-entropy) or a target (mean "
                        "squared error)", axl_dataset_path(d));
    if (t->n < 1)
        return axl_msgf(msg, AXL_ERR_INVALID, "%s holds no samples", axl_dataset_path(d));
    t->all = calloc(t->nin + 1, sizeof *t->all);
    t->batch = calloc(t->nin + 1, sizeof *t->batch);
    t->labels = malloc((size_t)t->n * sizeof *t->labels);
    t->blabels = malloc((size_t)B * sizeof *t->blabels);
    if (!t->all || !t->batch || !t->labels || !t->blabels)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    if (t->tper && (!(t->targets = malloc((size_t)(t->n * t->tper) * sizeof(float))) ||
                    !(t->btargets = malloc((size_t)(B * t->tper) * sizeof(float)))))
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    enum axl_status st = axl_dataset_read(d, 0, t->n, t->all, t->tper ? NULL : t->labels, msg);
    if (st == AXL_OK && t->tper)
        st = axl_dataset_read_targets(d, 0, t->n, t->targets, msg);
    for (size_t i = 0; st == AXL_OK && i < t->nin; i++) {
        t->batch[i] = t->all[i];
        t->batch[i].dims[0] = B;
        int64_t row = axl_tensor_numel(&t->all[i]) / t->n;
        if (!(t->batch[i].data = malloc((size_t)(B * row) * sizeof(float))))
            st = axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    }
    return st;
}

/* rows order[0..n) of the set into t->batch (shaped for n samples) */
static void tset_gather(struct tset *t, const int64_t *order, int64_t n)
{
    for (size_t i = 0; i < t->nin; i++) {
        int64_t row = axl_tensor_numel(&t->all[i]) / t->n;
        t->batch[i].dims[0] = n;
        for (int64_t j = 0; j < n; j++)
            memcpy(t->batch[i].data + j * row, t->all[i].data + order[j] * row,
                   (size_t)row * sizeof(float));
    }
    for (int64_t j = 0; j < n; j++)
        if (t->tper)
            memcpy(t->btargets + j * t->tper, t->targets + order[j] * t->tper,
                   (size_t)t->tper * sizeof(float));
        else
            t->blabels[j] = t->labels[order[j]];
}

/* the epoch's order: Fisher-Yates from (seed, epoch), the same for any run */
static void shuffle(int64_t *order, int64_t n, uint64_t seed, int epoch)
{
    for (int64_t i = 0; i < n; i++)
        order[i] = i;
    uint64_t s = seed ^ axl_mix64((uint64_t)epoch);
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(axl_mix64(s ^ axl_mix64((uint64_t)i)) % (uint64_t)(i + 1));
        int64_t tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }
}

/* ---- loss ------------------------------------------------------------------------ */
/* Mean softmax cross-entropy of logits [n][c] against labels, its gradient
 * (already divided by n) into dlogits, the number right into *right. */
static double xent(const float *logits, const int64_t *labels, int64_t n, int64_t c,
                   float *dlogits, int64_t *right)
{
    double loss = 0;
    *right = 0;
    for (int64_t i = 0; i < n; i++) {
        const float *z = logits + i * c;
        float *dz = dlogits + i * c;
        double mx = -INFINITY, sum = 0;
        for (int64_t k = 0; k < c; k++)
            mx = z[k] > mx ? z[k] : mx;
        for (int64_t k = 0; k < c; k++)
            sum += exp((double)z[k] - mx);
        loss += log(sum) + mx - (double)z[labels[i]];
        for (int64_t k = 0; k < c; k++)
            dz[k] = (float)((exp((double)z[k] - mx) / sum - (k == labels[i])) / (double)n);
        *right += axl_argmax(z, c) == labels[i];
    }
    return loss / (double)n;
}

/* Mean squared error over every value (as torch's MSELoss), its gradient
 * into dy. */
static double mse(const float *y, const float *target, int64_t cnt, float *dy)
{
    double loss = 0;
    for (int64_t k = 0; k < cnt; k++) {
        double e = (double)y[k] - (double)target[k];
        loss += e * e;
        dy[k] = (float)(2 * e / (double)cnt);
    }
    return loss / (double)cnt;
}

/* ---- optimizer ------------------------------------------------------------------- */
struct optim {
    size_t np;
    float **grad, **s1, **s2;
    int64_t *count;
    int64_t step;
};

static void optim_free(struct optim *o)
{
    for (size_t i = 0; i < o->np; i++) {
        free(o->grad ? o->grad[i] : NULL);
        free(o->s1 ? o->s1[i] : NULL);
        free(o->s2 ? o->s2[i] : NULL);
    }
    free(o->grad), free(o->s1), free(o->s2), free(o->count);
}

static enum axl_status optim_init(struct axl_graph *g, int adam, struct optim *o, char *msg)
{
    memset(o, 0, sizeof *o);
    o->np = axl_graph_param_count(g);
    o->grad = calloc(o->np + 1, sizeof *o->grad);
    o->s1 = calloc(o->np + 1, sizeof *o->s1);
    o->s2 = adam ? calloc(o->np + 1, sizeof *o->s2) : NULL;
    o->count = calloc(o->np + 1, sizeof *o->count);
    if (!o->grad || !o->s1 || (adam && !o->s2) || !o->count)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < o->np; i++) {
        struct axl_tensor p = axl_graph_param(g, i);
        size_t n = (size_t)axl_tensor_numel(&p);
        o->count[i] = (int64_t)n;
        o->grad[i] = calloc(n + 1, sizeof(float));
        o->s1[i] = calloc(n + 1, sizeof(float));
        if (adam)
            o->s2[i] = calloc(n + 1, sizeof(float));
        if (!o->grad[i] || !o->s1[i] || (adam && !o->s2[i]))
            return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    }
    return AXL_OK;
}

/* One update with the gradients in o->grad, as torch.optim.SGD (momentum,
 * dampening 0, L2 weight decay added to the gradient) and torch.optim.Adam
 * (betas 0.9, 0.999, eps 1e-8, bias-corrected) compute it. */
static void optim_step(struct axl_graph *g, const struct axl_train_settings *s, struct optim *o,
                       double lr)
{
    o->step++;
    double b1 = 0.9, b2 = 0.999, c1 = 1 - pow(b1, (double)o->step),
           c2 = 1 - pow(b2, (double)o->step);
    for (size_t i = 0; i < o->np; i++) {
        float *p = axl_graph_param(g, i).data, *gr = o->grad[i], *m = o->s1[i];
        for (int64_t k = 0; k < o->count[i]; k++) {
            float d = gr[k] + s->weight_decay * p[k];
            if (s->optimizer == AXL_OPTIMIZER_ADAM) {
                float *v = o->s2[i];
                m[k] = (float)(b1 * m[k] + (1 - b1) * d);
                v[k] = (float)(b2 * v[k] + (1 - b2) * (double)d * d);
                p[k] -= (float)(lr * (m[k] / c1) / (sqrt(v[k] / c2) + 1e-8));
            } else {
                if (s->momentum != 0.0f)
                    d = m[k] = o->step == 1 ? d : s->momentum * m[k] + d;
                p[k] -= (float)lr * d;
            }
        }
        memset(gr, 0, (size_t)o->count[i] * sizeof *gr);
    }
}

static double lr_at(const struct axl_train_settings *s, int64_t step, int64_t total, int epoch)
{
    switch (s->schedule) {
    case AXL_SCHEDULE_COSINE:
        return 0.5 * s->lr * (1 + cos(3.14159265358979323846 * (double)step / (double)total));
    case AXL_SCHEDULE_STEP: /* x0.1 after half of the epochs, again after three quarters */
        return s->lr * (2 * (epoch - 1) >= s->epochs ? 0.1 : 1) *
               (4 * (epoch - 1) >= 3 * s->epochs ? 0.1 : 1);
    default:
        return s->lr;
    }
}

/* ---- the loop ------------------------------------------------------------------------ */
struct trainer {
    struct axl_graph *g;
    const struct axl_mac *const *macs;
    const struct axl_train_settings *s;
    struct tset ts;
    struct optim op;
    int64_t *order, classes, steps_per_epoch;
    float *dlogits;
    struct axl_tensor *out;
    size_t nout;
};

/* One batch: forward, loss, backward (gradients into op.grad), update. */
static enum axl_status train_batch(struct trainer *t, int epoch, int64_t b, int64_t n,
                                   struct axl_train_epoch *e, double *loss, int64_t *right,
                                   char *msg)
{
    const struct axl_train_settings *s = t->s;
    struct axl_run_opts ro;
    memset(&ro, 0, sizeof ro);
    ro.backend = s->backend;
    ro.mac = t->macs;
    ro.train = 1;
    ro.bn_train = s->bn_train;
    ro.seed = s->seed ^ axl_mix64((uint64_t)epoch << 32 ^ (uint64_t)b);
    tset_gather(&t->ts, t->order + b * s->batch, n);
    struct axl_tape *tape = NULL;
    double t0 = omp_get_wtime();
    enum axl_status st = axl_graph_forward(t->g, &ro, t->ts.batch, t->out, &tape, msg);
    if (st != AXL_OK)
        return st;
    double t1 = omp_get_wtime();
    if (axl_tensor_numel(&t->out[0]) != n * t->classes) {
        axl_tape_free(tape);
        int64_t got = axl_tensor_numel(&t->out[0]);
        for (size_t i = 0; i < t->nout; i++)
            axl_tensor_free(&t->out[i]);
        return axl_msgf(msg, AXL_ERR_MISMATCH, "output 0 has %lld values for a batch of %lld "
                        "(expected %lld per sample)",
                        (long long)got, (long long)n, (long long)t->classes);
    }
    if (t->ts.tper)
        *loss = mse(t->out[0].data, t->ts.btargets, n * t->classes, t->dlogits);
    else
        *loss = xent(t->out[0].data, t->ts.blabels, n, t->classes, t->dlogits, right);
    struct axl_tensor dout[16];
    memset(dout, 0, sizeof dout);
    dout[0] = t->out[0];
    dout[0].data = t->dlogits;
    struct axl_grad_opts go = {s->backward_approx};
    if (isfinite(*loss))
        st = axl_graph_backward(tape, &go, dout, t->op.grad, NULL, msg);
    axl_tape_free(tape);
    for (size_t i = 0; i < t->nout; i++)
        axl_tensor_free(&t->out[i]);
    double t2 = omp_get_wtime();
    if (st == AXL_OK && isfinite(*loss))
        optim_step(t->g, s, &t->op, lr_at(s, t->op.step, t->steps_per_epoch * s->epochs, epoch));
    e->fwd_s += t1 - t0;
    e->bwd_s += t2 - t1;
    e->upd_s += omp_get_wtime() - t2;
    return st;
}

/* copies of every parameter and buffer, to restore after a NaN */
static float **snapshot(struct axl_graph *g, float **keep)
{
    size_t np = axl_graph_param_count(g), nb = axl_graph_buffer_count(g);
    if (!keep && !(keep = calloc(np + nb + 1, sizeof *keep)))
        return NULL;
    for (size_t i = 0; i < np + nb; i++) {
        struct axl_tensor p = i < np ? axl_graph_param(g, i) : axl_graph_buffer(g, i - np);
        size_t bytes = (size_t)axl_tensor_numel(&p) * sizeof(float);
        if (!keep[i] && !(keep[i] = malloc(bytes + 1)))
            return NULL;
        memcpy(keep[i], p.data, bytes);
    }
    return keep;
}

static void restore(struct axl_graph *g, float **keep)
{
    size_t np = axl_graph_param_count(g), nb = axl_graph_buffer_count(g);
    for (size_t i = 0; keep && i < np + nb; i++) {
        struct axl_tensor p = i < np ? axl_graph_param(g, i) : axl_graph_buffer(g, i - np);
        memcpy(p.data, keep[i], (size_t)axl_tensor_numel(&p) * sizeof(float));
    }
}

static enum axl_status run_epoch(struct trainer *t, int epoch, struct axl_train_epoch *e,
                                 const char *last_ckpt, char *msg)
{
    const struct axl_train_settings *s = t->s;
    enum axl_status st = AXL_OK;
    double start = omp_get_wtime(), sum = 0;
    int64_t right = 0, done = 0;
    memset(e, 0, sizeof *e);
    e->epoch = epoch;
    e->lr = lr_at(s, t->op.step, t->steps_per_epoch * s->epochs, epoch);
    shuffle(t->order, t->ts.n, s->seed, epoch);
    for (int64_t b = 0; st == AXL_OK && b < t->steps_per_epoch; b++) {
        int64_t n = t->ts.n - b * s->batch < s->batch ? t->ts.n - b * s->batch : s->batch;
        double loss = 0;
        int64_t r = 0;
        if ((st = train_batch(t, epoch, b, n, e, &loss, &r, msg)) != AXL_OK)
            break;
        if (!isfinite(loss))
            return axl_msgf(msg, AXL_ERR_INVALID,
                            "the loss became %s at epoch %d, step %lld (learning rate %g too "
                            "high?); the parameters are those of the epoch's start%s%s",
                            isnan(loss) ? "NaN" : "infinite", epoch, (long long)b + 1,
                            (double)s->lr, last_ckpt[0] ? ", the last good checkpoint " : "",
                            last_ckpt);
        sum += loss * (double)n;
        right += r;
        done += n;
        if (s->progress)
            s->progress(s->progress_user, epoch, done, t->ts.n, sum / (double)done,
                        t->ts.tper ? NAN : (double)right / (double)done);
    }
    e->samples = done;
    e->train_loss = done ? sum / (double)done : NAN;
    e->train_acc = done && !t->ts.tper ? (double)right / (double)done : NAN;
    e->seconds = omp_get_wtime() - start;
    return st;
}

/* the number of classes: output 0's values per sample, checked against
 * the labels */
static enum axl_status classes_of(struct trainer *t, char *msg)
{
    int64_t dims[AXL_MAX_DIMS];
    int nd = axl_graph_output_shape(t->g, 0, dims);
    int64_t c = 1;
    for (int i = 1; i < nd; i++)
        c *= dims[i] > 0 ? dims[i] : 1;
    if (t->ts.tper) {
        t->classes = c;
        if (nd >= 1 && c == t->ts.tper)
            return AXL_OK;
        return axl_msgf(msg, AXL_ERR_MISMATCH, "/targets has %lld values per sample, output 0 "
                        "of the model %lld", (long long)t->ts.tper, (long long)c);
    }
    if (nd < 1 || c < 2)
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "output 0 has %lld value(s) per sample; "
                        "training needs class scores (logits)", (long long)c);
    t->classes = c;
    for (int64_t i = 0; i < t->ts.n; i++)
        if (t->ts.labels[i] < 0 || t->ts.labels[i] >= c)
            return axl_msgf(msg, AXL_ERR_INVALID, "label %lld of sample %lld is outside the "
                            "model's %lld classes", (long long)t->ts.labels[i], (long long)i,
                            (long long)c);
    return AXL_OK;
}

static enum axl_status validate(struct trainer *t, struct axl_dataset *val, double *top1,
                                double *exact, char *msg)
{
    const struct axl_train_settings *s = t->s;
    *top1 = *exact = NAN;
    if (!val)
        return AXL_OK;
    int any = 0;
    for (size_t i = 0; t->macs && i < axl_graph_node_count(t->g); i++)
        any |= t->macs[i] != NULL;
    enum axl_status st = axl_eval_top1(t->g, t->macs, val, s->backend, s->batch, s->val_limit,
                                       top1, msg);
    if (st == AXL_OK && any)
        st = axl_eval_top1(t->g, NULL, val, s->backend, s->batch, s->val_limit, exact, msg);
    else
        *exact = *top1;
    return st;
}

static void hist_row(const struct axl_train_epoch *e, double *row)
{
    double v[AXL_CKPT_COLS] = {e->epoch, e->lr, e->train_loss, e->train_acc, e->val_top1,
                               e->val_exact_top1, e->seconds, e->fwd_s, e->bwd_s,
                               (double)e->samples};
    memcpy(row, v, sizeof v);
}

static void row_hist(const double *row, struct axl_train_epoch *e)
{
    memset(e, 0, sizeof *e);
    e->epoch = (int)row[0], e->lr = row[1], e->train_loss = row[2], e->train_acc = row[3];
    e->val_top1 = row[4], e->val_exact_top1 = row[5], e->seconds = row[6], e->fwd_s = row[7];
    e->bwd_s = row[8], e->samples = (int64_t)row[9];
}

static enum axl_status checkpoint(struct trainer *t, struct axl_train_report *rep, int epoch,
                                  char *msg)
{
    struct axl_ckpt c;
    memset(&c, 0, sizeof c);
    c.epoch = epoch;
    c.step = t->op.step;
    c.optimizer = t->s->optimizer;
    c.seed = t->s->seed;
    c.state1 = t->op.s1;
    c.state2 = t->op.s2;
    c.nhist = rep->nepochs;
    c.hist = calloc((size_t)rep->nepochs + 1, sizeof *c.hist);
    if (!c.hist)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    for (int i = 0; i < rep->nepochs; i++)
        hist_row(&rep->epochs[i], c.hist[i]);
    enum axl_status st = axl_ckpt_write(t->s->checkpoint_dir, t->g, &c, rep->last_checkpoint,
                                        msg);
    free(c.hist);
    return st;
}

static enum axl_status resume(struct trainer *t, struct axl_train_report *rep, char *msg)
{
    struct axl_ckpt c;
    char path[1024];
    memset(&c, 0, sizeof c);
    c.optimizer = t->s->optimizer;
    c.state1 = t->op.s1;
    c.state2 = t->op.s2;
    enum axl_status st = axl_ckpt_read_latest(t->s->checkpoint_dir, t->g, &c, path, msg);
    if (st == AXL_OK && c.epoch > 0) {
        t->op.step = c.step;
        rep->start_epoch = c.epoch + 1;
        snprintf(rep->last_checkpoint, sizeof rep->last_checkpoint, "%s", path);
        for (int i = 0; i < c.nhist && i < t->s->epochs; i++)
            row_hist(c.hist[i], &rep->epochs[rep->nepochs++]);
    }
    free(c.hist);
    return st;
}

static enum axl_status train_setup(struct trainer *t, struct axl_dataset *train, char *msg)
{
    const struct axl_train_settings *s = t->s;
    enum axl_status st = axl_graph_check_backward(t->g, msg);
    if (st == AXL_OK)
        st = tset_load(t->g, train, s->limit, s->batch, &t->ts, msg);
    if (st == AXL_OK && (st = classes_of(t, msg)) != AXL_OK) {
        char tmp[AXL_MSG_LEN];
        snprintf(tmp, sizeof tmp, "%s", msg);
        st = axl_msgf(msg, st, "%s: %s", axl_dataset_path(train), tmp);
    }
    if (st == AXL_OK)
        st = optim_init(t->g, s->optimizer == AXL_OPTIMIZER_ADAM, &t->op, msg);
    t->nout = axl_graph_output_count(t->g);
    t->order = malloc((size_t)t->ts.n * sizeof *t->order + 1);
    t->dlogits = malloc((size_t)(s->batch * t->classes) * sizeof *t->dlogits + 1);
    t->out = calloc(t->nout + 1, sizeof *t->out);
    if (st == AXL_OK && (!t->order || !t->dlogits || !t->out))
        st = axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    t->steps_per_epoch = (t->ts.n + s->batch - 1) / s->batch;
    return st;
}

enum axl_status axl_train(struct axl_graph *g, const struct axl_mac *const *macs,
                          struct axl_dataset *train, struct axl_dataset *val,
                          const struct axl_train_settings *settings, struct axl_train_report *rep,
                          char *msg)
{
    struct axl_train_settings s = *settings;
    struct axl_train_settings d;
    axl_train_defaults(&d);
    s.epochs = s.epochs > 0 ? s.epochs : d.epochs;
    s.batch = s.batch > 0 ? s.batch : d.batch;
    if (!(s.lr > 0))
        s.lr = s.optimizer == AXL_OPTIMIZER_ADAM ? 1e-4f : d.lr;
    memset(rep, 0, sizeof *rep);
    rep->start_epoch = 1;
    rep->val_top1_before = rep->val_exact_top1_before = NAN;
    struct trainer t;
    memset(&t, 0, sizeof t);
    t.g = g, t.macs = macs, t.s = &s;
    float **keep = NULL;
    /* inputs with a fixed first dimension F take exactly F samples at a
     * time (run.h): batches of F, and sets that fill them */
    const int64_t f = axl_graph_fixed_batch(g);
    if (f > 0) {
        s.batch = f;
        int64_t nt = axl_dataset_count(train), nv = val ? axl_dataset_count(val) : 0;
        nt = s.limit > 0 && s.limit < nt ? s.limit : nt;
        nv = s.val_limit > 0 && s.val_limit < nv ? s.val_limit : nv;
        if (nt % f || nv % f)
            return axl_msgf(msg, AXL_ERR_INVALID, "%s: %lld samples do not fill batches of "
                            "%lld: the model's inputs have a fixed first dimension of %lld "
                            "(--limit and --val-limit choose how many run)",
                            axl_dataset_path(nt % f ? train : val), (long long)(nt % f ? nt : nv),
                            (long long)f, (long long)f);
    }
    enum axl_status st = train_setup(&t, train, msg);
    rep->train_samples = t.ts.n;
    rep->val_samples = val ? axl_dataset_count(val) : 0;
    if (val && s.val_limit > 0 && s.val_limit < rep->val_samples)
        rep->val_samples = s.val_limit;
    if (st == AXL_OK && !(rep->epochs = calloc((size_t)s.epochs + 1, sizeof *rep->epochs)))
        st = axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    if (st == AXL_OK && s.checkpoint_dir && s.resume)
        st = resume(&t, rep, msg);
    if (st == AXL_OK)
        st = validate(&t, val, &rep->val_top1_before, &rep->val_exact_top1_before, msg);
    for (int ep = rep->start_epoch; st == AXL_OK && ep <= s.epochs; ep++) {
        if (!(keep = snapshot(g, keep))) {
            st = axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
            break;
        }
        struct axl_train_epoch *e = &rep->epochs[rep->nepochs];
        if ((st = run_epoch(&t, ep, e, rep->last_checkpoint, msg)) != AXL_OK) {
            restore(g, keep);
            break;
        }
        rep->nepochs++;
        if ((st = validate(&t, val, &e->val_top1, &e->val_exact_top1, msg)) == AXL_OK &&
            s.checkpoint_dir)
            st = checkpoint(&t, rep, ep, msg);
    }
    if (keep)
        for (size_t i = 0; i < axl_graph_param_count(g) + axl_graph_buffer_count(g); i++)
            free(keep[i]);
    free(keep);
    free(t.order);
    free(t.dlogits);
    free(t.out);
    tset_free(&t.ts);
    optim_free(&t.op);
    return st;
}
