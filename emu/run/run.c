/* Running a network over a dataset with the exact network alongside
 * (include/axlut/run.h). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "axlut/run.h"
#include "outputs.h"

void axl_error_add(struct axl_error_sums *s, const float *got, const float *ref, int64_t n)
{
    double ref2 = 0, err2 = 0, dot = 0, a2 = 0, mx = s->max_abs;
    for (int64_t i = 0; i < n; i++) {
        double r = ref[i], g = got[i], e = g - r;
        ref2 += r * r;
        err2 += e * e;
        dot += g * r;
        a2 += g * g;
        if (fabs(e) > mx || e != e)
            mx = e != e ? INFINITY : fabs(e);
    }
    s->n += (double)n;
    s->ref2 += ref2;
    s->err2 += err2;
    s->dot += dot;
    s->a2 += a2;
    s->max_abs = mx;
}

struct axl_error axl_error_of(const struct axl_error_sums *s)
{
    struct axl_error e;
    /* a NaN or infinite output (overflow in a narrow format) is an
     * unbounded error: SNR -inf, not the +inf of no error at all */
    int unbounded = !isfinite(s->err2);
    e.mse = unbounded ? INFINITY : s->n > 0 ? s->err2 / s->n : 0;
    e.snr_db = unbounded ? -INFINITY : s->err2 > 0 ? 10.0 * log10(s->ref2 / s->err2) : INFINITY;
    e.max_abs = s->max_abs;
    e.cosine = s->a2 > 0 && s->ref2 > 0 ? s->dot / sqrt(s->a2 * s->ref2) : (s->err2 == 0 ? 1 : 0);
    return e;
}

void axl_run_report_free(struct axl_run_report *r)
{
    if (!r)
        return;
    free(r->layers);
    memset(r, 0, sizeof *r);
}

/* ---- the observer state ------------------------------------------------- */

struct run_state {
    const struct axl_graph *g;
    size_t nnodes, nout;
    const struct axl_mac *const *macs;
    int64_t *layer_of;           /* node -> index in report->layers, -1 */
    struct axl_tensor *exact;    /* node -> exact network's first output (MAC nodes) */
    struct axl_run_report *rep;
    int ref;                     /* enum axl_reference */
    uint8_t *fast;               /* node -> approximate: its exact runs take the fast kernels */
    struct axl_graph_pool *pool; /* the runs' buffers, reused batch after batch */
    int pass_exact;
    double t_last;
    /* saving: slots [0, nout) are the outputs, nout + node the layers */
    struct axl_outputs *save;
    int64_t row;                 /* first sample of this batch */
    int64_t total;
    int mode;                    /* enum sample_mode */
    int64_t batch;               /* samples per run */
    int64_t run, nruns;          /* this run of the graph, how many */
    uint8_t *node_ps;            /* node -> its first axis is the batch */
    int save_layers;
    char err[AXL_MSG_LEN];
    int failed;
};

static int copy_tensor(struct axl_tensor *dst, const struct axl_tensor *src)
{
    int64_t n = axl_tensor_numel(src);
    float *p = realloc(dst->data, (size_t)(n > 0 ? n : 1) * sizeof *p);
    if (!p)
        return 0;
    memcpy(p, src->data, (size_t)n * sizeof *p);
    *dst = *src;
    dst->data = p;
    return 1;
}

/* How the dataset's samples meet the model's first axis (run.h). */
enum sample_mode {
    M_ROWS = 0,  /* a symbolic batch, the outputs along it: batches of any size */
    M_FIXED = 1, /* every input's first dimension fixed at F: batches of exactly F */
    M_WHOLE = 2, /* an output not along the samples: all samples as one input */
};

/* A tensor into the outputs file: a per-sample one as rows of the samples;
 * otherwise as it is when the graph runs once over all samples, else one
 * entry per run (batches of a fixed size, every entry the same shape). */
static enum axl_status save_tensor(struct run_state *s, size_t slot, const char *group,
                                   const char *name, const char *node,
                                   const struct axl_tensor *t, int per_sample)
{
    if (per_sample)
        return t->ndim < 1 ? AXL_OK
                           : axl_outputs_write(s->save, slot, group, name, node, t, s->row,
                                               s->total);
    if (s->mode == M_WHOLE)
        return axl_outputs_write_whole(s->save, slot, group, name, node, t);
    if (t->ndim >= AXL_MAX_DIMS)
        return AXL_ERR_UNSUPPORTED;
    struct axl_tensor one = {t->ndim + 1, {1}, t->data}; /* [1, t's dims] */
    memcpy(one.dims + 1, t->dims, (size_t)t->ndim * sizeof *t->dims);
    return axl_outputs_write(s->save, slot, group, name, node, &one, s->run, s->nruns);
}

/* A layer's output in the outputs file. */
static void save_layer(struct run_state *s, size_t node, const struct axl_tensor *out)
{
    const char *name = axl_graph_node_name(s->g, node);
    if (save_tensor(s, s->nout + node, "/layers", name, name, out, s->node_ps[node]) != AXL_OK) {
        axl_msgf(s->err, AXL_ERR_IO, "writing layer %s to the outputs file failed", name);
        s->failed = 1;
    }
}

static void observe(void *user, size_t node, const struct axl_tensor *out,
                    const struct axl_tensor *exact)
{
    struct run_state *s = user;
    double now = omp_get_wtime();
    double dt = now - s->t_last;
    s->t_last = now;
    if (s->failed)
        return;
    int64_t li = s->layer_of[node];
    if (s->pass_exact) {
        if (li >= 0 && !copy_tensor(&s->exact[node], &out[0])) {
            axl_msgf(s->err, AXL_ERR_NOMEM, "out of memory keeping layer outputs");
            s->failed = 1;
        }
        return;
    }
    if (li >= 0) {
        struct axl_layer_report *L = &s->rep->layers[li];
        L->seconds += dt;
        int64_t n = axl_tensor_numel(&out[0]);
        if (s->ref == AXL_REFERENCE_SKIPPED)
            ; /* no reference: no errors */
        else if (exact)
            axl_error_add(&L->local_sums, out[0].data, exact->data, n);
        else /* an exact layer: its own error is zero by definition */
            axl_error_add(&L->local_sums, out[0].data, out[0].data, n);
        /* SAME: this network is the reference, the sums those of two equal runs */
        if (s->ref == AXL_REFERENCE_SAME)
            axl_error_add(&L->accum_sums, out[0].data, out[0].data, n);
        else if (s->exact[node].data && axl_tensor_numel(&s->exact[node]) == n)
            axl_error_add(&L->accum_sums, out[0].data, s->exact[node].data, n);
    }
    if (s->save_layers && s->save)
        save_layer(s, node, &out[0]);
}

/* A NaN score is below every number: never a prediction (-1 when all are
 * NaN, which agrees with nothing). */
int64_t axl_argmax(const float *v, int64_t n)
{
    int64_t b = -1;
    for (int64_t i = 0; i < n; i++)
        if (v[i] == v[i] && (b < 0 || v[i] > v[b]))
            b = i;
    return b;
}

/* 1 when label is among the k largest of v (ties broken by index); a NaN
 * score for the label is never among them. */
int axl_in_top_k(const float *v, int64_t n, int64_t label, int k)
{
    if (label < 0 || label >= n || v[label] != v[label])
        return 0;
    int above = 0;
    for (int64_t i = 0; i < n; i++)
        if (v[i] > v[label] || (v[i] == v[label] && i < label))
            above++;
    return above < k;
}

/* 1 when node info a (at a batch of 1, or of F) and b (at a batch of 2;
 * NULL for a fixed batch F) have the batch as first axis. */
static int along_batch(const struct axl_node_info *a, const struct axl_node_info *b, int64_t f)
{
    if (a->ndim < 1)
        return 0;
    if (!b)
        return a->dims[0] == f;
    if (b->ndim != a->ndim || a->dims[0] != 1 || b->dims[0] != 2)
        return 0;
    for (int d = 1; d < a->ndim; d++)
        if (a->dims[d] != b->dims[d])
            return 0;
    return 1;
}

/* The sample mode and batch (set->batch, F, or every sample), which nodes
 * run along the batch, and the report's layers: the MAC nodes in execution
 * order. */
static enum axl_status init_layers(struct run_state *s, const struct axl_run_settings *set,
                                   struct axl_dataset *d, char *msg)
{
    const struct axl_graph *g = s->g;
    struct axl_run_report *rep = s->rep;
    size_t nn = s->nnodes, nl = 0;
    const int64_t f = axl_graph_fixed_batch(g);
    struct axl_node_info *info = calloc(3 * (nn ? nn : 1), sizeof *info);
    if (!info)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    struct axl_node_info *i2 = info + (nn ? nn : 1), *iw = i2 + (nn ? nn : 1);
    enum axl_status st = axl_graph_describe(g, f > 0 ? f : 1, info, msg);
    if (st == AXL_OK && f == 0)
        st = axl_graph_describe(g, 2, i2, msg);
    if (st != AXL_OK)
        goto done;
    int all_ps = 1, outs_ps = 1;
    for (size_t i = 0; i < nn; i++) {
        s->node_ps[i] = (uint8_t)(f < 0 || along_batch(&info[i], f == 0 ? &i2[i] : NULL, f));
        all_ps &= s->node_ps[i];
    }
    for (size_t i = 0; i < s->nout; i++)
        outs_ps &= f < 0 || axl_graph_output_per_sample(g, i);
    s->mode = M_ROWS;
    s->batch = set->batch > 0 ? set->batch : 32;
    if (f > 0) {
        s->mode = M_FIXED;
        s->batch = f;
        if (s->total % f) {
            char fix[96];
            if (s->total < f)
                snprintf(fix, sizeof fix, "at least %lld are needed", (long long)f);
            else
                snprintf(fix, sizeof fix, "--limit %lld runs the first %lld",
                         (long long)(s->total / f * f), (long long)(s->total / f * f));
            st = axl_msgf(msg, AXL_ERR_INVALID, "%s: %lld samples do not fill batches of %lld: "
                          "the model's inputs have a fixed first dimension of %lld, so it runs "
                          "on exactly %lld samples at a time (%s)",
                          axl_dataset_path(d), (long long)s->total, (long long)f, (long long)f,
                          (long long)f, fix);
            goto done;
        }
        snprintf(rep->batching, sizeof rep->batching, "batches of exactly %lld sample%s: the "
                 "model's inputs have a fixed first dimension of %lld", (long long)f,
                 f == 1 ? "" : "s", (long long)f);
    } else if (f == 0 && (!outs_ps || (set->save_layers && set->save_outputs && !all_ps))) {
        /* the samples do not run independently along the first axis (or a
         * saved layer's shape depends on the batch): one run over them all,
         * which is what ONNX computes for the whole input */
        s->mode = M_WHOLE;
        s->batch = s->total;
        snprintf(rep->batching, sizeof rep->batching, "all %lld samples as one input: %s",
                 (long long)s->total, !outs_ps ? "an output's first axis is not the sample axis"
                                               : "a saved layer's first axis is not the sample "
                                                 "axis");
        if ((st = axl_graph_describe(g, s->batch, iw, msg)) != AXL_OK)
            goto done;
    }
    if (s->batch > s->total)
        s->batch = s->total;
    s->nruns = (s->total + s->batch - 1) / s->batch;
    rep->batch = s->batch;
    for (size_t i = 0; i < nn; i++)
        s->layer_of[i] = axl_graph_node_is_mac(g, i) ? (int64_t)nl++ : -1;
    rep->layers = calloc(nl ? nl : 1, sizeof *rep->layers);
    if (!rep->layers) {
        st = axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
        goto done;
    }
    rep->nlayers = nl;
    for (size_t i = 0; i < nn; i++) {
        int64_t li = s->layer_of[i];
        if (li < 0)
            continue;
        struct axl_layer_report *L = &rep->layers[li];
        const struct axl_node_info *in = s->mode == M_WHOLE ? &iw[i] : &info[i];
        L->node = i;
        L->name = axl_graph_node_name(g, i);
        L->op = axl_graph_node_op(g, i);
        /* the work of one run shared by its samples (a node along a fixed
         * batch of F does F samples' work) */
        int64_t per = s->mode == M_FIXED ? f : s->mode == M_WHOLE ? s->batch : 1;
        L->macs = in->macs / per;
        L->per_sample = s->node_ps[i];
        L->ndim = in->ndim;
        memcpy(L->dims, in->dims, sizeof L->dims);
        if (L->per_sample)
            L->dims[0] = 1;
        L->approximate = s->macs && s->macs[i];
        if (L->approximate) {
            axl_mac_describe(s->macs[i], L->config, sizeof L->config);
            L->path = axl_mac_path(s->macs[i]);
        } else {
            snprintf(L->config, sizeof L->config, "exact fp32");
            L->path = AXL_PATH_FUNCTION;
        }
    }
done:
    free(info);
    return st;
}

/* Top-1 and top-5 hits of one batch, approximate and (out_e not NULL)
 * exact, and agreement. */
struct hits {
    int64_t correct1, correct5, ecorrect1, ecorrect5, agree;
    int classes;
};

static void count_hits(struct hits *h, const struct axl_tensor *out_a,
                       const struct axl_tensor *out_e, const int64_t *labels, int64_t n,
                       int has_labels)
{
    if (out_a->ndim != 2 || out_a->dims[0] != n)
        return;
    int64_t c = out_a->dims[1];
    h->classes = (int)c;
    for (int64_t k = 0; k < n; k++) {
        const float *va = out_a->data + k * c, *ve = out_e ? out_e->data + k * c : NULL;
        if (ve)
            h->agree += axl_argmax(va, c) == axl_argmax(ve, c);
        if (has_labels) {
            h->correct1 += axl_in_top_k(va, c, labels[k], 1);
            h->correct5 += axl_in_top_k(va, c, labels[k], 5);
        }
        if (has_labels && ve) {
            h->ecorrect1 += axl_in_top_k(ve, c, labels[k], 1);
            h->ecorrect5 += axl_in_top_k(ve, c, labels[k], 5);
        }
    }
}

static void finish_report(struct axl_run_report *rep, const struct hits *h)
{
    rep->top_k = h->classes;
    if (rep->samples > 0) {
        double ns = (double)rep->samples;
        int labels = rep->has_labels;
        rep->agreement = h->classes ? (double)h->agree / ns : NAN;
        rep->top1 = labels && h->classes ? (double)h->correct1 / ns : NAN;
        rep->top5 = labels && h->classes >= 5 ? (double)h->correct5 / ns : NAN;
        rep->exact_top1 = labels && h->classes ? (double)h->ecorrect1 / ns : NAN;
        rep->exact_top5 = labels && h->classes >= 5 ? (double)h->ecorrect5 / ns : NAN;
        rep->samples_per_s = rep->seconds > 0 ? ns / rep->seconds : 0;
    }
    for (size_t i = 0; i < rep->nlayers; i++) {
        rep->layers[i].local = axl_error_of(&rep->layers[i].local_sums);
        rep->layers[i].accum = axl_error_of(&rep->layers[i].accum_sums);
    }
    rep->output_error = axl_error_of(&rep->out_sums);
    if (rep->reference != AXL_REFERENCE_SKIPPED)
        return;
    /* nothing was compared: no figure, rather than the zeros of empty sums */
    const struct axl_error none = {NAN, NAN, NAN, NAN};
    rep->agreement = rep->exact_top1 = rep->exact_top5 = NAN;
    rep->output_error = none;
    for (size_t i = 0; i < rep->nlayers; i++)
        rep->layers[i].local = rep->layers[i].accum = none;
}

/* Buffers of one batch. */
struct batch {
    size_t nin, nout;
    struct axl_tensor *in, *out_a, *out_e;
    int64_t *labels;
};

static void batch_clear(struct batch *b)
{
    for (size_t i = 0; b->in && i < b->nin; i++)
        axl_tensor_free(&b->in[i]);
    for (size_t i = 0; b->out_a && i < b->nout; i++) {
        axl_tensor_free(&b->out_a[i]);
        axl_tensor_free(&b->out_e[i]);
    }
}

/* One batch of n samples from start: the exact network (unless the
 * reference is skipped or the configured network is exact), then the
 * configured one with its shadows; errors, hits and saved outputs. */
static enum axl_status run_batch(struct run_state *s, const struct axl_run_settings *set,
                                 struct axl_dataset *d, struct batch *b, int64_t start,
                                 int64_t n, struct hits *h, char *msg)
{
    struct axl_run_report *rep = s->rep;
    enum axl_status st = axl_dataset_read(d, start, n, b->in, b->labels, msg);
    if (st != AXL_OK)
        return st;
    struct axl_run_opts o;
    memset(&o, 0, sizeof o);
    o.backend = set->backend;
    o.observe = observe;
    o.user = s;
    /* approximate layers' exact runs through the fast kernels; layers
     * exact in the configuration run the engine's exact path in both
     * networks, so that they agree bit for bit */
    o.fast_exact = s->fast;
    o.pool = s->pool;
    double t0;
    if (s->ref == AXL_REFERENCE_RUN) {
        /* the exact network: the reference for every layer */
        s->pass_exact = 1;
        s->t_last = omp_get_wtime();
        t0 = omp_get_wtime();
        st = axl_graph_run(s->g, &o, b->in, b->out_e, msg);
        rep->exact_seconds += omp_get_wtime() - t0;
        if (st != AXL_OK || s->failed)
            return st != AXL_OK ? st : axl_msgf(msg, AXL_ERR_NOMEM, "%s", s->err);
    }
    /* the configured network, each approximate layer with its shadow */
    s->pass_exact = 0;
    s->row = start;
    s->run = start / s->batch;
    o.mac = s->macs;
    o.shadow = s->ref == AXL_REFERENCE_RUN;
    t0 = omp_get_wtime();
    s->t_last = t0;
    st = axl_graph_run(s->g, &o, b->in, b->out_a, msg);
    rep->seconds += omp_get_wtime() - t0;
    if (st != AXL_OK || s->failed)
        return st != AXL_OK ? st : axl_msgf(msg, AXL_ERR_NOMEM, "%s", s->err);
    /* the reference's outputs: the exact pass's, or these themselves */
    struct axl_tensor *ref = s->ref == AXL_REFERENCE_RUN    ? b->out_e
                             : s->ref == AXL_REFERENCE_SAME ? b->out_a
                                                             : NULL;
    for (size_t i = 0; ref && i < b->nout; i++)
        axl_error_add(&rep->out_sums, b->out_a[i].data, ref[i].data,
                      axl_tensor_numel(&b->out_a[i]));
    /* scores per sample only where output 0 runs along the samples: a
     * [1, C] mean over them is no prediction of one */
    if (s->mode == M_ROWS || axl_graph_output_per_sample(s->g, 0))
        count_hits(h, &b->out_a[0], ref ? &ref[0] : NULL, b->labels, n, rep->has_labels);
    for (size_t i = 0; s->save && i < b->nout; i++)
        if (save_tensor(s, i, "/outputs", axl_graph_output_name(s->g, i), NULL, &b->out_a[i],
                        s->mode == M_ROWS || axl_graph_output_per_sample(s->g, i)) != AXL_OK)
            return axl_msgf(msg, AXL_ERR_IO, "%s: writing output %s failed", set->save_outputs,
                            axl_graph_output_name(s->g, i));
    batch_clear(b);
    rep->samples += n;
    return AXL_OK;
}

enum axl_status axl_run_dataset(const struct axl_graph *g, const struct axl_mac *const *macs,
                                struct axl_dataset *d, const struct axl_run_settings *set,
                                struct axl_run_report *rep, char *msg)
{
    memset(rep, 0, sizeof *rep);
    size_t nn = axl_graph_node_count(g);
    int64_t total = axl_dataset_count(d);
    if (set->limit > 0 && set->limit < total)
        total = set->limit;
    if (total <= 0)
        return axl_msgf(msg, AXL_ERR_INVALID, "%s: the dataset holds no samples",
                        axl_dataset_path(d));
    struct run_state s;
    memset(&s, 0, sizeof s);
    s.g = g;
    s.nnodes = nn;
    s.nout = axl_graph_output_count(g);
    s.macs = macs;
    s.rep = rep;
    s.total = total;
    s.save_layers = set->save_layers;
    s.layer_of = malloc((nn ? nn : 1) * sizeof *s.layer_of);
    s.node_ps = calloc(nn ? nn : 1, sizeof *s.node_ps);
    s.exact = calloc(nn ? nn : 1, sizeof *s.exact);
    s.fast = calloc(nn ? nn : 1, sizeof *s.fast);
    struct batch b = {axl_graph_input_count(g), s.nout, NULL, NULL, NULL, NULL};
    b.in = calloc(b.nin ? b.nin : 1, sizeof *b.in);
    b.out_a = calloc(b.nout ? b.nout : 1, sizeof *b.out_a);
    b.out_e = calloc(b.nout ? b.nout : 1, sizeof *b.out_e);
    struct hits h = {0, 0, 0, 0, 0, 0};
    enum axl_status st;
    if (!s.layer_of || !s.node_ps || !s.exact || !s.fast || !b.in || !b.out_a || !b.out_e) {
        st = axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((st = init_layers(&s, set, d, msg)) != AXL_OK ||
        (st = axl_graph_pool_new(&s.pool, msg)) != AXL_OK)
        goto done;
    s.ref = AXL_REFERENCE_SAME;
    for (size_t i = 0; i < nn; i++)
        if (macs && macs[i] && axl_graph_node_is_mac(g, i))
            s.fast[i] = 1, s.ref = AXL_REFERENCE_RUN;
    if (set->no_reference)
        s.ref = AXL_REFERENCE_SKIPPED;
    rep->reference = s.ref;
    const int64_t batch = s.batch; /* never above total: a huge --batch cannot wrap sizes */
    if ((uint64_t)batch > SIZE_MAX / sizeof(int64_t) ||
        !(b.labels = malloc((size_t)batch * sizeof *b.labels))) {
        st = axl_msgf(msg, AXL_ERR_TOO_LARGE, "%s: a batch of %lld samples does not fit in "
                      "memory", axl_dataset_path(d), (long long)batch);
        goto done;
    }
    if (set->save_outputs && (st = axl_outputs_open(set->save_outputs, set->save_layers,
                                                    s.nout + nn, &s.save, msg)) != AXL_OK)
        goto done;
    rep->has_labels = axl_dataset_has_labels(d);
    for (int64_t start = 0; start < total; start += batch) {
        int64_t n = total - start < batch ? total - start : batch;
        if ((st = run_batch(&s, set, d, &b, start, n, &h, msg)) != AXL_OK)
            goto done;
        if (set->progress)
            set->progress(set->progress_user, start + n, total);
    }
    finish_report(rep, &h);
done:
    batch_clear(&b);
    for (size_t i = 0; s.exact && i < nn; i++)
        axl_tensor_free(&s.exact[i]);
    enum axl_status cst = axl_outputs_close(s.save, st == AXL_OK, msg);
    if (st == AXL_OK)
        st = cst;
    free(s.layer_of);
    free(s.node_ps);
    free(s.exact);
    free(s.fast);
    axl_graph_pool_free(s.pool);
    free(b.in);
    free(b.out_a);
    free(b.out_e);
    free(b.labels);
    if (st != AXL_OK)
        axl_run_report_free(rep);
    return st;
}
