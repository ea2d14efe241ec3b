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
#include "snn_internal.h"

void axl_snn_report_free(struct axl_snn_report *r)
{
    if (!r)
        return;
    for (size_t k = 0; r->layers && k < r->nlayers; k++)
        free(r->layers[k].rate), free(r->layers[k].synops);
    free(r->layers);
    free(r->steps);
    memset(r, 0, sizeof *r);
}

/* running totals of an evaluation */
struct tally {
    int64_t *right, *agree, ann_right, *spikes, *adds;
    float *readout;
};

static void tally_free(struct tally *t)
{
    free(t->right), free(t->agree), free(t->spikes), free(t->adds), free(t->readout);
}

/* one batch: the ANN, the SNN, the counts */
static enum axl_status eval_batch(const struct axl_snn *s, const struct axl_graph *g,
                                  struct axl_dataset *d, const struct axl_snn_sim *o,
                                  int64_t start, int64_t nb, struct tally *t,
                                  struct axl_snn_report *r, char *msg)
{
    int64_t *labels = malloc((size_t)nb * sizeof *labels), nl = (int64_t)s->n;
    int64_t *sp = calloc((size_t)(o->nsteps * nl) * 2, sizeof *sp), *ad = sp + o->nsteps * nl;
    struct axl_tensor in = {0}, out = {0};
    enum axl_status st = labels && sp ? AXL_OK : axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    if (st == AXL_OK)
        st = axl_dataset_read(d, start, nb, &in, r->has_labels ? labels : NULL, msg);
    double t0 = omp_get_wtime();
    if (st == AXL_OK && (st = axl_graph_run(g, NULL, &in, &out, msg)) == AXL_OK &&
        axl_tensor_numel(&out) != nb * axl_snn_outputs(s))
        st = axl_msgf(msg, AXL_ERR_MISMATCH, "the ANN's output does not have the readout's size");
    double t1 = omp_get_wtime();
    if (st == AXL_OK)
        st = axl_snn_simulate(s, &in, o, t->readout, sp, ad, msg);
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
        if (!r->layers[k].rate || !r->layers[k].synops)
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
        }
    }
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
    struct axl_snn_sim o = {.kernel = ev.kernel, .steps = steps, .nsteps = nsteps};
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
                      malloc((size_t)(nsteps * batch * C) * sizeof(float))};
    if (!t.right || !t.agree || !t.spikes || !t.adds || !t.readout)
        st = axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    else
        st = report_init(s, nsteps, r, msg);
    snprintf(r->kernel, sizeof r->kernel, "%s", axl_snn_kernel_name(ev.kernel));
    for (int64_t start = 0; st == AXL_OK && start < total; start += batch) {
        int64_t nb = total - start < batch ? total - start : batch;
        o.first_index = start;
        st = eval_batch(s, g, d, &o, start, nb, &t, r, msg);
        r->samples += st == AXL_OK ? nb : 0;
        if (st == AXL_OK && ev.progress)
            ev.progress(ev.progress_user, start + nb, total);
    }
    if (st == AXL_OK)
        report_finish(s, steps, &t, r);
    else
        axl_snn_report_free(r);
    tally_free(&t);
    return st;
}
