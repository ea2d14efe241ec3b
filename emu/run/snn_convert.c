/* Converting a ReLU network into an SNN (include/axlut/snn.h): the walk
 * over the graph that turns its nodes into layers of IF neurons, max-pool
 * gates and the readout, with BatchNormalization folded.  Calibration is
 * in snn_calib.c, normalisation and encoding in snn_encode.c. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snn_internal.h"

/* What the value a node computes is, for the SNN. */
enum tstate {
    TS_NONE = 0,
    TS_ANALOG,  /* the network's input (or a view of it) */
    TS_PRE,     /* a layer's membrane: linear, not yet through a Relu */
    TS_SPK,     /* a layer's spikes */
    TS_PREPOOL, /* a max-pool gate over a layer whose Relu comes next */
    TS_FINAL,   /* a trailing Softmax: only the graph output may be it */
};

struct tval {
    int st;
    int64_t layer;
};

struct walk {
    const struct axl_graph *g;
    struct axl_snn *s;
    struct tval *tv;            /* per exposed node */
    struct axl_node_info *info; /* at batch 2 */
    size_t cap;
};

static enum axl_status refuse(const struct walk *w, size_t i, char *msg, const char *fmt, ...)
    AXL_PRINTF(4, 5);
static enum axl_status refuse(const struct walk *w, size_t i, char *msg, const char *fmt, ...)
{
    char why[AXL_MSG_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "node '%.200s' (%s): %s",
                    axl_graph_node_name(w->g, i), axl_graph_node_op(w->g, i), why);
}

static int64_t per_sample(const struct axl_node_info *in)
{
    int64_t n = 1;
    for (int d = 1; d < in->ndim; d++)
        n *= in->dims[d];
    return n;
}

void snn_layer_free(struct snn_layer *l)
{
    free(l->name), free(l->op), free(l->w), free(l->b), free(l->wq), free(l->wc), free(l->bc);
    free(l->wct);
    free(l->hist), free(l->srcs), free(l->wv);
}

/* the state of input k of node i */
static enum axl_status input_state(struct walk *w, size_t i, int k, struct tval *out, char *msg)
{
    struct axl_node_input src;
    axl_graph_node_input(w->g, i, k, &src);
    if (src.kind == AXL_SOURCE_INPUT) {
        *out = (struct tval){TS_ANALOG, -1};
        return AXL_OK;
    }
    if (src.kind == AXL_SOURCE_NODE && src.output == 0 && w->tv[src.index].st != TS_NONE) {
        *out = w->tv[src.index];
        return AXL_OK;
    }
    return refuse(w, i, msg, "its input is not computed from the network's input");
}

/* a zeroed layer appended for node i (pointers into s->L move) */
static enum axl_status append_layer(struct walk *w, size_t i, enum axl_snn_layer_kind kind,
                                    struct snn_layer **out, char *msg)
{
    struct axl_snn *s = w->s;
    if (s->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 8;
        struct snn_layer *L = realloc(s->L, cap * sizeof *L);
        if (!L)
            return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
        s->L = L, w->cap = cap;
    }
    struct snn_layer *l = &s->L[s->n++];
    memset(l, 0, sizeof *l);
    l->kind = kind;
    l->node = l->calib_node = (int64_t)i;
    l->name = strdup(axl_graph_node_name(w->g, i));
    l->op = strdup(axl_graph_node_op(w->g, i));
    l->n_out = per_sample(&w->info[i]);
    l->lambda = 1;
    l->src = l->into = -1;
    l->bias_per = 1;
    if (!l->name || !l->op)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    *out = l;
    return AXL_OK;
}

/* in as spikes: an average pool's linear output may become spiking (a
 * Relu would be the identity on it); anything else linear is refused */
static enum axl_status as_spikes(struct walk *w, size_t i, struct tval *in, char *msg)
{
    struct axl_snn *s = w->s;
    if (in->st == TS_PRE && in->layer >= 0 && s->L[in->layer].nonneg && s->L[in->layer].into < 0)
        s->L[in->layer].spiking = 1, in->st = TS_SPK;
    if (in->st == TS_PRE || in->st == TS_PREPOOL || in->st == TS_FINAL)
        return refuse(w, i, msg, "reads the output of '%.100s' (%s) without a Relu between: "
                      "only the last layer may stay linear", s->L[in->layer].name,
                      s->L[in->layer].op);
    return AXL_OK;
}

/* A new layer reading `in`: the spikes of any earlier layer, or the
 * network's input for the first. */
static enum axl_status new_layer(struct walk *w, size_t i, enum axl_snn_layer_kind kind,
                                 struct tval in, struct snn_layer **out, char *msg)
{
    struct axl_snn *s = w->s;
    enum axl_status st = as_spikes(w, i, &in, msg);
    if (st != AXL_OK)
        return st;
    if (in.st == TS_ANALOG && (s->n > 0 || (kind != AXL_SNN_CONV && kind != AXL_SNN_DENSE)))
        return refuse(w, i, msg, "reads the network's input: only the first layer may, and it "
                      "must be a Conv, Gemm or MatMul");
    struct snn_layer *l;
    if ((st = append_layer(w, i, kind, &l, msg)) != AXL_OK)
        return st;
    l->src = in.st == TS_SPK ? in.layer : -1;
    l->n_in = l->src >= 0 ? s->L[l->src].n_out : s->n_in;
    w->tv[i] = (struct tval){TS_PRE, (int64_t)s->n - 1};
    *out = l;
    return AXL_OK;
}

/* A residual Add: a layer of neurons whose membrane the linear branches
 * (projections) feed, plus at most one identity shortcut (spikes). */
static enum axl_status add_residual(struct walk *w, size_t i, char *msg)
{
    struct axl_snn *s = w->s;
    int n = axl_graph_node_input_count(w->g, i);
    int64_t proj[2] = {-1, -1}, ident = -1;
    if (n != 2)
        return refuse(w, i, msg, "an Add of %d inputs (residual Adds have two)", n);
    for (int k = 0; k < 2; k++) {
        struct tval in;
        enum axl_status st = input_state(w, i, k, &in, msg);
        if (st != AXL_OK)
            return st;
        struct snn_layer *l = in.layer >= 0 ? &s->L[in.layer] : NULL;
        if (in.st == TS_PRE && l && l->into < 0 && !l->spiking && l->kind != AXL_SNN_ADD) {
            proj[k] = in.layer;
        } else if ((in.st == TS_SPK || (in.st == TS_PRE && l && l->nonneg)) && ident < 0) {
            if ((st = as_spikes(w, i, &in, msg)) != AXL_OK)
                return st;
            ident = in.layer;
        } else {
            return refuse(w, i, msg, "input %d is not a linear layer's output (a branch) nor a "
                          "layer's spikes (a shortcut), or is read twice", k);
        }
        if (s->L[in.layer].n_out != per_sample(&w->info[i]))
            return refuse(w, i, msg, "its inputs do not have its size (broadcasting Adds are "
                          "not residual)");
    }
    if (proj[0] < 0 && proj[1] < 0)
        return refuse(w, i, msg, "an Add of two spike trains (one branch must be a linear "
                      "layer)");
    int64_t p0 = proj[0] >= 0 ? proj[0] : proj[1];
    struct snn_layer *l;
    enum axl_status st = append_layer(w, i, AXL_SNN_ADD, &l, msg);
    if (st != AXL_OK)
        return st;
    int64_t me = (int64_t)s->n - 1;
    l->src = ident;
    l->n_in = ident >= 0 ? s->L[ident].n_out : 0;
    l->bias_per = s->L[p0].kind == AXL_SNN_CONV ? s->L[p0].win.oh * s->L[p0].win.ow : 1;
    for (int k = 0; k < 2; k++)
        if (proj[k] >= 0) {
            struct snn_layer *p = &s->L[proj[k]];
            int64_t per = p->kind == AXL_SNN_CONV ? p->win.oh * p->win.ow : 1;
            if (per != l->bias_per && p->has_bias)
                return refuse(w, i, msg, "its branches' biases are laid out differently");
            p->into = me;
        }
    w->tv[i] = (struct tval){TS_PRE, me};
    return AXL_OK;
}

/* Concat along the channel axis of spike trains of IF layers */
static enum axl_status add_concat(struct walk *w, size_t i, char *msg)
{
    struct axl_snn *s = w->s;
    int n = axl_graph_node_input_count(w->g, i), nd = w->info[i].ndim;
    int64_t axis = axl_graph_node_attr_int(w->g, i, "axis", 1);
    if ((axis < 0 ? axis + nd : axis) != 1)
        return refuse(w, i, msg, "a Concat along axis %lld (only the channel axis, 1)",
                      (long long)axis);
    int64_t *srcs = malloc((size_t)(n + 1) * sizeof *srcs), total = 0;
    if (!srcs)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    enum axl_status st = AXL_OK;
    for (int k = 0; k < n && st == AXL_OK; k++) {
        struct tval in;
        if ((st = input_state(w, i, k, &in, msg)) != AXL_OK || (st = as_spikes(w, i, &in, msg)))
            break;
        const struct snn_layer *l = in.st == TS_SPK ? &s->L[in.layer] : NULL;
        if (!l || !l->spiking || l->into >= 0)
            st = refuse(w, i, msg, "input %d is not the spikes of a layer of IF neurons (a "
                        "Conv, Gemm, pool or Add with its Relu)", k);
        else
            srcs[k] = in.layer, total += l->n_out;
    }
    struct snn_layer *l;
    if (st == AXL_OK && total != per_sample(&w->info[i]))
        st = refuse(w, i, msg, "its inputs' sizes do not add up to its output's");
    if (st == AXL_OK && (st = append_layer(w, i, AXL_SNN_CONCAT, &l, msg)) == AXL_OK) {
        l->srcs = srcs, l->nsrc = n, l->n_in = total;
        w->tv[i] = (struct tval){TS_SPK, (int64_t)s->n - 1};
        return AXL_OK;
    }
    free(srcs);
    return st;
}

/* input k of node i as a float constant of n values (n < 0: any) */
static enum axl_status const_input(struct walk *w, size_t i, int k, int64_t n,
                                   struct axl_tensor *t, const char *what, char *msg)
{
    struct axl_node_input src;
    axl_graph_node_input(w->g, i, k, &src);
    if (src.kind != AXL_SOURCE_CONST)
        return refuse(w, i, msg, "its %s must be a constant", what);
    *t = src.value;
    if (n >= 0 && axl_tensor_numel(t) != n)
        return refuse(w, i, msg, "its %s has %lld values, %lld expected", what,
                      (long long)axl_tensor_numel(t), (long long)n);
    return AXL_OK;
}

static enum axl_status copy_bias(struct walk *w, size_t i, int k, struct snn_layer *l,
                                 int64_t n, double scale, char *msg)
{
    struct axl_node_input src;
    axl_graph_node_input(w->g, i, k, &src);
    l->b = calloc((size_t)n + 1, sizeof *l->b);
    if (!l->b)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    if (src.kind == AXL_SOURCE_NONE)
        return AXL_OK;
    struct axl_tensor t;
    enum axl_status st = const_input(w, i, k, -1, &t, "bias", msg);
    if (st != AXL_OK)
        return st;
    int64_t m = axl_tensor_numel(&t);
    if (m != n && m != 1)
        return refuse(w, i, msg, "its bias has %lld values for %lld outputs", (long long)m,
                      (long long)n);
    for (int64_t j = 0; j < n; j++)
        l->b[j] = (float)(scale * t.data[m == 1 ? 0 : j]);
    l->has_bias = 1;
    return AXL_OK;
}

static enum axl_status add_conv(struct walk *w, size_t i, struct tval in, char *msg)
{
    struct snn_layer *l;
    enum axl_status st = new_layer(w, i, AXL_SNN_CONV, in, &l, msg);
    if (st != AXL_OK || (st = axl_graph_node_window(w->g, i, &l->win, msg)) != AXL_OK)
        return st;
    const struct axl_window *x = &l->win;
    l->cpg = x->c / x->groups;
    l->ocpg = x->oc / x->groups;
    l->nw = x->oc * l->cpg * x->kh * x->kw;
    l->bias_per = x->oh * x->ow;
    if (x->c * x->h * x->w != l->n_in || x->oc * x->oh * x->ow != l->n_out)
        return refuse(w, i, msg, "shapes do not work out per sample");
    struct axl_tensor t;
    if ((st = const_input(w, i, 1, l->nw, &t, "weights", msg)) != AXL_OK)
        return st;
    if (!(l->w = malloc((size_t)l->nw * sizeof *l->w)))
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    memcpy(l->w, t.data, (size_t)l->nw * sizeof *l->w);
    return copy_bias(w, i, 2, l, x->oc, 1.0, msg);
}

/* Gemm (A x op(B) * alpha + C * beta) and MatMul with a constant B */
static enum axl_status add_dense(struct walk *w, size_t i, struct tval in, char *msg)
{
    int gemm = !strcmp(axl_graph_node_op(w->g, i), "Gemm");
    if (gemm && axl_graph_node_attr_int(w->g, i, "transA", 0))
        return refuse(w, i, msg, "transA=1 is not supported");
    if (w->info[i].ndim != 2)
        return refuse(w, i, msg, "a product on rank-%d tensors (matrices only)", w->info[i].ndim);
    struct snn_layer *l;
    enum axl_status st = new_layer(w, i, AXL_SNN_DENSE, in, &l, msg);
    if (st != AXL_OK)
        return st;
    int64_t K = l->n_in, N = l->n_out;
    int tb = gemm && axl_graph_node_attr_int(w->g, i, "transB", 0);
    float alpha = gemm ? axl_graph_node_attr_float(w->g, i, "alpha", 1.0f) : 1.0f;
    float beta = gemm ? axl_graph_node_attr_float(w->g, i, "beta", 1.0f) : 1.0f;
    struct axl_tensor t;
    if ((st = const_input(w, i, 1, K * N, &t, "B", msg)) != AXL_OK)
        return st;
    l->nw = K * N;
    if (!(l->w = malloc((size_t)l->nw * sizeof *l->w)))
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    for (int64_t j = 0; j < N; j++)
        for (int64_t k = 0; k < K; k++)
            l->w[j * K + k] = alpha * t.data[tb ? j * K + k : k * N + j];
    if (!gemm)
        return copy_bias(w, i, -1, l, N, 1.0, msg);
    return copy_bias(w, i, 2, l, N, beta, msg);
}

/* BatchNormalization right after a Conv or Gemm: folded into it */
static enum axl_status fold_bn(struct walk *w, size_t i, struct tval in, char *msg)
{
    struct snn_layer *l = in.layer >= 0 ? &w->s->L[in.layer] : NULL;
    if (in.st != TS_PRE || !l || (l->kind != AXL_SNN_CONV && l->kind != AXL_SNN_DENSE) ||
        l->into >= 0)
        return refuse(w, i, msg, "only a BatchNormalization right after a Conv or Gemm can be "
                      "folded");
    int64_t C = l->kind == AXL_SNN_CONV ? l->win.oc : l->n_out, per = l->nw / C;
    struct axl_tensor sc, bi, mu, var;
    enum axl_status st;
    if ((st = const_input(w, i, 1, C, &sc, "scale", msg)) != AXL_OK ||
        (st = const_input(w, i, 2, C, &bi, "B", msg)) != AXL_OK ||
        (st = const_input(w, i, 3, C, &mu, "mean", msg)) != AXL_OK ||
        (st = const_input(w, i, 4, C, &var, "var", msg)) != AXL_OK)
        return st;
    double eps = axl_graph_node_attr_float(w->g, i, "epsilon", 1e-5f);
    for (int64_t c = 0; c < C; c++) {
        double f = sc.data[c] / sqrt((double)var.data[c] + eps);
        for (int64_t k = 0; k < per; k++)
            l->w[c * per + k] = (float)(l->w[c * per + k] * f);
        l->b[c] = (float)((l->b[c] - mu.data[c]) * f + bi.data[c]);
    }
    l->has_bias = 1;
    l->calib_node = (int64_t)i;
    w->tv[i] = in;
    return AXL_OK;
}

static enum axl_status add_pool(struct walk *w, size_t i, struct tval in, int max, char *msg)
{
    struct axl_snn *s = w->s;
    int before_relu = max && in.st == TS_PRE && in.layer >= 0 && !s->L[in.layer].nonneg;
    if (before_relu) /* MaxPool then Relu: they commute; the layer's neurons spike */
        s->L[in.layer].spiking = 1, in.st = TS_SPK;
    if (in.st == TS_ANALOG)
        return refuse(w, i, msg, "pooling of the network's input is not supported");
    struct snn_layer *l;
    enum axl_status st = new_layer(w, i, max ? AXL_SNN_MAXPOOL : AXL_SNN_AVGPOOL, in, &l, msg);
    if (st != AXL_OK || (st = axl_graph_node_window(w->g, i, &l->win, msg)) != AXL_OK)
        return st;
    if (l->win.c * l->win.h * l->win.w != l->n_in || l->win.oc * l->win.oh * l->win.ow != l->n_out)
        return refuse(w, i, msg, "shapes do not work out per sample");
    l->nonneg = !max;
    l->cpg = l->ocpg = 1; /* a window per channel */
    l->bias_per = l->win.oh * l->win.ow;
    if (max)
        w->tv[i].st = before_relu ? TS_PREPOOL : TS_SPK;
    return AXL_OK;
}

static enum axl_status add_relu(struct walk *w, size_t i, struct tval in, char *msg)
{
    if (in.st == TS_ANALOG || in.st == TS_FINAL)
        return refuse(w, i, msg, "a Relu of the network's input or of a Softmax is not "
                      "supported");
    if (in.st == TS_PRE && w->s->L[in.layer].into >= 0)
        return refuse(w, i, msg, "reads '%.100s' which already feeds an Add",
                      w->s->L[in.layer].name);
    if (in.st == TS_PRE)
        w->s->L[in.layer].spiking = 1;
    w->tv[i] = (struct tval){TS_SPK, in.layer};
    return AXL_OK;
}

static enum axl_status add_node(struct walk *w, size_t i, char *msg)
{
    const char *op = axl_graph_node_op(w->g, i);
    if (!strcmp(op, "Add") || !strcmp(op, "Sum"))
        return add_residual(w, i, msg);
    if (!strcmp(op, "Concat"))
        return add_concat(w, i, msg);
    struct tval in;
    enum axl_status st = input_state(w, i, 0, &in, msg);
    if (st != AXL_OK)
        return st;
    if (!strcmp(op, "Conv"))
        return add_conv(w, i, in, msg);
    if (!strcmp(op, "Gemm") || !strcmp(op, "MatMul"))
        return add_dense(w, i, in, msg);
    if (!strcmp(op, "BatchNormalization"))
        return fold_bn(w, i, in, msg);
    if (!strcmp(op, "Relu"))
        return add_relu(w, i, in, msg);
    if (!strcmp(op, "MaxPool") || !strcmp(op, "AveragePool") || !strcmp(op, "GlobalAveragePool"))
        return add_pool(w, i, in, !strcmp(op, "MaxPool"), msg);
    int view = !strcmp(op, "Flatten") || !strcmp(op, "Reshape") || !strcmp(op, "Identity") ||
               !strcmp(op, "Dropout");
    if (view) {
        if (w->info[i].dims[0] != 2)
            return refuse(w, i, msg, "mixes the batch axis into the sample");
        w->tv[i] = in;
        return AXL_OK;
    }
    if (!strcmp(op, "Softmax") || !strcmp(op, "LogSoftmax")) {
        if (in.st != TS_PRE)
            return refuse(w, i, msg, "a Softmax is only accepted on the last layer's output");
        w->tv[i] = (struct tval){TS_FINAL, in.layer};
        return AXL_OK;
    }
    return refuse(w, i, msg, "cannot become spiking (supported: Conv, Gemm, MatMul, Relu, "
                  "BatchNormalization after Conv/Gemm, MaxPool, AveragePool, GlobalAveragePool, "
                  "a residual Add, Concat, Flatten, Reshape, Identity, Dropout, a final "
                  "Softmax)");
}

/* the single input's per-sample size, and the graph's single output */
static enum axl_status check_io(const struct axl_graph *g, struct axl_snn *s, char *msg)
{
    if (axl_graph_input_count(g) != 1 || axl_graph_output_count(g) != 1)
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "the SNN conversion takes a network with one "
                        "input and one output (this one has %zu and %zu)",
                        axl_graph_input_count(g), axl_graph_output_count(g));
    s->in_ndim = axl_graph_input_shape(g, 0, s->in_dims);
    s->n_in = 1;
    s->in_dims[0] = 1;
    for (int d = 1; d < s->in_ndim; d++) {
        if (s->in_dims[d] < 1)
            return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "input '%s': only the batch axis may be "
                            "symbolic", axl_graph_input_name(g, 0));
        s->n_in *= s->in_dims[d];
    }
    return AXL_OK;
}

/* the graph output must be the last layer's membrane: the readout */
static enum axl_status check_readout(struct walk *w, char *msg)
{
    struct axl_node_input o;
    axl_graph_output_source(w->g, 0, &o);
    struct axl_snn *s = w->s;
    if (o.kind != AXL_SOURCE_NODE || s->n == 0)
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "the output is not computed by a layer");
    struct tval t = w->tv[o.index];
    if ((t.st != TS_PRE && t.st != TS_FINAL) || t.layer != (int64_t)s->n - 1 ||
        s->L[t.layer].kind == AXL_SNN_MAXPOOL)
        return refuse(w, (size_t)o.index, msg, "the output must be the last layer's linear "
                      "output (the readout), not spikes");
    struct snn_layer *r = &s->L[t.layer];
    r->readout = 1, r->nonneg = 0;
    r->spiking = s->readout == AXL_SNN_READOUT_SPIKES;
    for (size_t k = 0; k + 1 < s->n; k++) {
        const struct snn_layer *l = &s->L[k];
        if (!l->spiking && l->kind != AXL_SNN_MAXPOOL && l->kind != AXL_SNN_CONCAT &&
            l->into < 0)
            return refuse(w, (size_t)l->node, msg, "its output is not followed by a Relu");
    }
    for (int64_t i = 0; i < (int64_t)axl_graph_node_count(w->g); i++)
        if (w->tv[i].st == TS_FINAL && i != o.index)
            return refuse(w, (size_t)i, msg, "a Softmax is only accepted as the output");
    return AXL_OK;
}

enum axl_status snn_build_layers(const struct axl_graph *g, struct axl_snn *s, char *msg)
{
    size_t nn = axl_graph_node_count(g);
    struct walk w = {g, s, calloc(nn + 1, sizeof *w.tv), calloc(nn + 1, sizeof *w.info), 0};
    enum axl_status st = AXL_ERR_NOMEM;
    if (!w.tv || !w.info) {
        axl_msgf(msg, st, "out of memory");
        goto done;
    }
    if ((st = check_io(g, s, msg)) != AXL_OK || (st = axl_graph_describe(g, 2, w.info, msg)))
        goto done;
    for (size_t i = 0; i < nn; i++)
        if ((st = add_node(&w, i, msg)) != AXL_OK)
            goto done;
    st = check_readout(&w, msg);
done:
    free(w.tv);
    free(w.info);
    return st;
}
