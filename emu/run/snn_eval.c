/* Evaluating a converted SNN over a dataset (include/axlut/snn.h): the
 * source ANN (exact float32) and the SNN batch by batch, top-1 against the
 * labels and agreement with the ANN at every listed T from one simulation,
 * and each layer's firing rate and synaptic operations. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>

#include "axlut/run.h"
#include "outputs.h"
#include "snn_internal.h"

void axl_snn_report_free(struct axl_snn_report *r)
{
    if (!r)
        return;
    for (size_t k = 0; r->layers && k < r->nlayers; k++)
        free(r->layers[k].rate), free(r->layers[k].synops), free(r->layers[k].rate_err);
    free(r->layers);
    free(r->steps);
    memset(r, 0, sizeof *r);
}

/* running totals of an evaluation */
struct tally {
    int64_t *right, *agree, ann_right, *spikes, *adds;
    float *readout;
    double *rerr, *ann_sum; /* [nsteps][layers], [layers] */
    struct axl_outputs *save; /* or NULL */
    int64_t total;
    int64_t *seen; /* [layers]: batches whose ANN activation was captured */
    int64_t batches;
};

static void tally_free(struct tally *t)
{
    free(t->right), free(t->agree), free(t->spikes), free(t->adds), free(t->readout);
    free(t->rerr), free(t->ann_sum), free(t->seen);
}

/* has a rate of its own to compare with the ANN's activation */
static int has_rate(const struct snn_layer *l)
{
    return l->spiking || l->kind == AXL_SNN_MAXPOOL || l->kind == AXL_SNN_CONCAT;
}

/* the ANN's activations at the layers' nodes, for the rate error */
struct capture {
    const struct axl_snn *s;
    const int64_t *layer_of; /* exposed node -> layer, -1 */
    float **ann;             /* [layers] [batch][neurons] */
    double *ann_sum;
    int64_t nb;
};

static void capture(void *user, size_t node, const struct axl_tensor *out,
                    const struct axl_tensor *exact)
{
    (void)exact;
    struct capture *c = user;
    int64_t k = c->layer_of[node];
    if (k < 0 || !out[0].data)
        return;
    int64_t n = c->nb * c->s->L[k].n_out;
    if (axl_tensor_numel(&out[0]) != n)
        return; /* not a per-sample activation of the layer's size: no error for it */
    if (!c->ann[k] && !(c->ann[k] = malloc((size_t)n * sizeof **c->ann)))
        return;
    memcpy(c->ann[k], out[0].data, (size_t)n * sizeof **c->ann);
    for (int64_t i = 0; i < n; i++)
        c->ann_sum[k] += out[0].data[i] > 0 ? out[0].data[i] : 0;
}

/* the batch's readouts at every T and the ANN's outputs, rows [start, start + nb) */
static enum axl_status save_batch(struct tally *t, const struct axl_snn_sim *o,
                                  const struct axl_tensor *ann, int64_t start, int64_t nb,
                                  int64_t C, char *msg)
{
    char name[32];
    for (int i = 0; i <= o->nsteps; i++) {
        struct axl_tensor r = {.ndim = 2, .dims = {nb, C}};
        r.data = i < o->nsteps ? t->readout + (int64_t)i * nb * C : ann->data;
        if (i < o->nsteps)
            snprintf(name, sizeof name, "snn_T%lld", (long long)o->steps[i]);
        else
            snprintf(name, sizeof name, "ann");
        if (axl_outputs_write(t->save, (size_t)i, "/outputs", name, NULL, &r, start, t->total))
            return axl_msgf(msg, AXL_ERR_IO, "writing /outputs/%s to the outputs file failed",
                            name);
    }
    return AXL_OK;
}

/* one batch: the ANN, the SNN, the counts */
static enum axl_status eval_batch(const struct axl_snn *s, const struct axl_graph *g,
                                  struct axl_dataset *d, const struct axl_snn_sim *o,
                                  int64_t start, int64_t nb, struct tally *t,
                                  struct axl_snn_report *r, char *msg)
{
    int64_t *labels = malloc((size_t)nb * sizeof *labels), nl = (int64_t)s->n;
    int64_t *sp = calloc((size_t)(o->nsteps * nl) * 2, sizeof *sp), *ad = sp + o->nsteps * nl;
    size_t nn = axl_graph_node_count(g);
    int64_t *layer_of = malloc((nn + 1) * sizeof *layer_of);
    float **ann = calloc((size_t)nl, sizeof *ann);
    double *rerr = calloc((size_t)(o->nsteps * nl), sizeof *rerr);
    struct axl_tensor in = {0}, out = {0};
    enum axl_status st = labels && sp && layer_of && ann && rerr
                             ? AXL_OK : axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == AXL_OK && i < nn; i++)
        layer_of[i] = -1;
    for (int64_t k = 0; st == AXL_OK && k < nl; k++)
        if (has_rate(&s->L[k]))
            layer_of[s->L[k].calib_node] = k;
    struct capture cap = {s, layer_of, ann, t->ann_sum, nb};
    struct axl_run_opts ro;
    memset(&ro, 0, sizeof ro);
    ro.backend = AXL_BACKEND_CPU;
    ro.observe = capture;
    ro.user = &cap;
    if (st == AXL_OK)
        st = axl_dataset_read(d, start, nb, &in, r->has_labels ? labels : NULL, msg);
    double t0 = omp_get_wtime();
    if (st == AXL_OK && (st = axl_graph_run(g, &ro, &in, &out, msg)) == AXL_OK &&
        axl_tensor_numel(&out) != nb * axl_snn_outputs(s))
        st = axl_msgf(msg, AXL_ERR_MISMATCH, "the ANN's output does not have the readout's size");
    double t1 = omp_get_wtime();
    struct axl_snn_sim so = *o;
    so.ann = (const float *const *)ann;
    so.rate_err = rerr;
    if (st == AXL_OK)
        st = axl_snn_simulate(s, &in, &so, t->readout, sp, ad, msg);
    for (int64_t k = 0; st == AXL_OK && k < o->nsteps * nl; k++)
        t->rerr[k] += rerr[k];
    for (int64_t k = 0; st == AXL_OK && k < nl; k++)
        t->seen[k] += ann[k] != NULL;
    if (st == AXL_OK && t->save)
        st = save_batch(t, o, &out, start, nb, axl_snn_outputs(s), msg);
    r->ann_seconds += t1 - t0;
    r->seconds += omp_get_wtime() - t1;
    int64_t C = axl_snn_outputs(s);
    for (int64_t b = 0; st == AXL_OK && b < nb; b++) {
        int64_t ann = axl_argmax(out.data + b * C, C);
        t->ann_right += r->has_labels && ann == labels[b];
        for (int i = 0; i < o->nsteps; i++) {
            int64_t y = axl_argmax(t->readout + ((int64_t)i * nb + b) * C, C);
            t->right[i] += r->has_labels && y == labels[b];
            t->agree[i] += y == ann;
        }
    }
    for (int64_t k = 0; st == AXL_OK && k < o->nsteps * nl; k++)
        t->spikes[k] += sp[k], t->adds[k] += ad[k];
    axl_tensor_free(&in);
    axl_tensor_free(&out);
    for (int64_t k = 0; ann && k < nl; k++)
        free(ann[k]);
    free(ann), free(rerr), free(layer_of);
    free(labels);
    free(sp);
    return st;
}

static enum axl_status report_init(const struct axl_snn *s, int nsteps, struct axl_snn_report *r,
                                   char *msg)
{
    r->nsteps = nsteps;
    r->nlayers = s->n;
    r->steps = calloc((size_t)nsteps, sizeof *r->steps);
    r->layers = calloc(s->n, sizeof *r->layers);
    for (size_t k = 0; r->layers && k < s->n; k++) {
        axl_snn_layer(s, k, &r->layers[k].info);
        r->layers[k].rate = calloc((size_t)nsteps, sizeof(double));
        r->layers[k].synops = calloc((size_t)nsteps, sizeof(double));
        r->layers[k].rate_err = calloc((size_t)nsteps, sizeof(double));
        if (!r->layers[k].rate || !r->layers[k].synops || !r->layers[k].rate_err)
            return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    }
    if (!r->steps || !r->layers)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    snprintf(r->arithmetic, sizeof r->arithmetic, "%s", s->desc);
    r->percentile = s->percentile;
    return AXL_OK;
}

static void report_finish(const struct axl_snn *s, const int64_t *steps, const struct tally *t,
                          struct axl_snn_report *r)
{
    double n = (double)r->samples, nan = NAN;
    int64_t nl = (int64_t)s->n;
    r->ann_top1 = r->has_labels && n > 0 ? (double)t->ann_right / n : nan;
    for (int i = 0; i < r->nsteps; i++) {
        r->steps[i].steps = steps[i];
        r->steps[i].top1 = r->has_labels && n > 0 ? (double)t->right[i] / n : nan;
        r->steps[i].agreement = n > 0 ? (double)t->agree[i] / n : nan;
        for (int64_t k = 0; k < nl; k++) {
            double neurons = (double)s->L[k].n_out;
            r->layers[k].rate[i] = (double)t->spikes[i * nl + k] / (neurons * steps[i] * n);
            r->layers[k].synops[i] = (double)t->adds[i * nl + k] / n;
            /* NaN where the ANN's activation was not seen in every batch */
            r->layers[k].rate_err[i] = has_rate(&s->L[k]) && t->seen[k] == t->batches
                                           ? t->rerr[i * nl + k] / (neurons * n) : nan;
        }
    }
    for (int64_t k = 0; k < nl; k++)
        r->layers[k].ann_mean = has_rate(&s->L[k]) && t->seen[k] == t->batches
                                    ? t->ann_sum[k] / ((double)s->L[k].n_out * n) : nan;
}

enum axl_status axl_snn_evaluate(const struct axl_snn *s, const struct axl_graph *g,
                                 struct axl_dataset *d, const int64_t *steps, int nsteps,
                                 const struct axl_snn_eval *e, struct axl_snn_report *r,
                                 char *msg)
{
    memset(r, 0, sizeof *r);
    struct axl_snn_eval ev = {0};
    if (e)
        ev = *e;
    int64_t batch = ev.batch > 0 ? ev.batch : 32, total = axl_dataset_count(d);
    if (ev.limit > 0 && ev.limit < total)
        total = ev.limit;
    struct axl_snn_sim o = {.kernel = ev.kernel, .steps = steps, .nsteps = nsteps,
                            .backend = ev.backend, .auto_dense = ev.auto_dense};
    enum axl_status st;
    for (int i = 0; i < nsteps; i++)
        if (steps[i] < 1 || (i && steps[i] <= steps[i - 1]) || steps[i] > (1 << 20))
            return axl_msgf(msg, AXL_ERR_INVALID, steps[i] < 1 ? "T = %lld: the number of time "
                            "steps must be at least 1" : "T = %lld: step counts must ascend and "
                            "be at most 2^20", (long long)steps[i]);
    if (nsteps < 1)
        return axl_msgf(msg, AXL_ERR_INVALID, "no step count given");
    if (total <= 0)
        return axl_msgf(msg, AXL_ERR_INVALID, "%s has no samples", axl_dataset_path(d));
    r->has_labels = axl_dataset_has_labels(d);
    int64_t nl = (int64_t)s->n, C = axl_snn_outputs(s);
    struct tally t = {calloc((size_t)nsteps, sizeof(int64_t)),
                      calloc((size_t)nsteps, sizeof(int64_t)), 0,
                      calloc((size_t)(nsteps * nl), sizeof(int64_t)),
                      calloc((size_t)(nsteps * nl), sizeof(int64_t)),
                      malloc((size_t)(nsteps * batch * C) * sizeof(float)),
                      calloc((size_t)(nsteps * nl), sizeof(double)),
                      calloc((size_t)nl, sizeof(double)), NULL, 0,
                      calloc((size_t)nl + 1, sizeof(int64_t)), 0};
    t.total = total;
    if (!t.right || !t.agree || !t.spikes || !t.adds || !t.readout || !t.rerr || !t.ann_sum ||
        !t.seen)
        st = axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    else
        st = report_init(s, nsteps, r, msg);
    if (st == AXL_OK && ev.save_outputs)
        st = axl_outputs_open(ev.save_outputs, 0, (size_t)nsteps + 1, &t.save, msg);
    snprintf(r->kernel, sizeof r->kernel, "%s", axl_snn_kernel_name(ev.kernel));
    for (int64_t start = 0; st == AXL_OK && start < total; start += batch) {
        int64_t nb = total - start < batch ? total - start : batch;
        o.first_index = start;
        st = eval_batch(s, g, d, &o, start, nb, &t, r, msg);
        t.batches++;
        r->samples += st == AXL_OK ? nb : 0;
        if (st == AXL_OK && ev.progress)
            ev.progress(ev.progress_user, start + nb, total);
    }
    enum axl_status cst = axl_outputs_close(t.save, st == AXL_OK, st == AXL_OK ? msg : NULL);
    if (st == AXL_OK)
        st = cst;
    if (st == AXL_OK)
        report_finish(s, steps, &t, r);
    else
        axl_snn_report_free(r);
    tally_free(&t);
    return st;
}
