/* The graph executor: loading (operator checks, topological order, constant
 * folding, probe shape passes), introspection, and runs (a shape pass for
 * the actual inputs, then the exposed nodes in order). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exact_fast.h"
#include "graph_internal.h"

/* ---- helpers shared with the operators ------------------------------------ */
struct gtensor *in_t(struct run_ctx *c, const struct gnode *n, int i)
{
    return i < n->n_in && n->in[i] >= 0 ? &c->rt[n->in[i]] : NULL;
}

struct gtensor *out_t(struct run_ctx *c, const struct gnode *n, int i)
{
    return i < n->n_out && n->out[i] >= 0 ? &c->rt[n->out[i]] : NULL;
}

enum axl_status set_out(struct run_ctx *c, const struct gnode *n, int i, int dtype, int ndim,
                        const int64_t *dims, char *msg)
{
    struct gtensor *t = out_t(c, n, i);
    if (!t)
        return AXL_OK; /* an omitted optional output */
    if (ndim > AXL_MAX_DIMS || ndim < 0)
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "output rank %d is outside 0..%d", ndim,
                        AXL_MAX_DIMS);
    for (int k = 0; k < ndim; k++)
        if (dims[k] < 0)
            return axl_msgf(msg, AXL_ERR_INVALID, "output dimension %d would be %lld", k,
                            (long long)dims[k]);
    if (gt_count(ndim, dims) < 0) {
        char shp[AXL_MAX_DIMS * 21 + 1];
        size_t l = 0;
        for (int k = 0; k < ndim; k++)
            l += (size_t)snprintf(shp + l, sizeof shp - l, "%s%lld", k ? "x" : "",
                                  (long long)dims[k]);
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED,
                        "output %d of shape %s would have more than %lld values (the limit "
                        "for one tensor)", i, shp, (long long)GT_MAX_NUMEL);
    }
    t->dtype = dtype;
    t->ndim = ndim;
    if (ndim)
        memmove(t->dims, dims, (size_t)ndim * sizeof *dims);
    return AXL_OK;
}

int norm_axis(int64_t axis, int r, const struct gnode *n, char *msg)
{
    (void)n;
    if (axis < -r || axis >= (r ? r : 1)) {
        axl_msgf(msg, AXL_ERR_INVALID, "axis %lld is out of range for rank %d", (long long)axis, r);
        return -1;
    }
    return (int)(axis < 0 ? axis + r : axis);
}

enum axl_status bcast_shape(const struct gtensor *a, const struct gtensor *b, int *ndim,
                            int64_t *dims, char *msg)
{
    int r = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int i = 0; i < r; i++) {
        int ia = i - (r - a->ndim), ib = i - (r - b->ndim);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return axl_msgf(msg, AXL_ERR_INVALID,
                            "shapes do not broadcast: dimension %d is %lld "
                            "and %lld",
                            i, (long long)da, (long long)db);
        dims[i] = da == 1 ? db : da;
    }
    *ndim = r;
    return AXL_OK;
}

void bcast_strides(const struct gtensor *t, int ndim, const int64_t *odims, int64_t *strides)
{
    int64_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        int it = i - (ndim - t->ndim);
        int64_t d = it >= 0 ? t->dims[it] : 1;
        strides[i] = (d == 1 && odims[i] != 1) || it < 0 ? 0 : s;
        s *= d;
    }
}

const struct op_def *axl_op_find(const char *name)
{
    const struct op_def *tables[] = {axl_ops_mac, axl_ops_elem, axl_ops_norm, axl_ops_shape,
                                     axl_ops_move, axl_ops_pad, axl_ops_nary};
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
        for (const struct op_def *d = tables[t]; d->name; d++)
            if (!strcmp(d->name, name))
                return d;
    return NULL;
}

enum axl_status attr_bound(const char *what, int64_t v, char *msg)
{
    if (v > GT_MAX_NUMEL)
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "%s %lld is larger than %lld", what,
                        (long long)v, (long long)GT_MAX_NUMEL);
    return AXL_OK;
}

enum axl_status need_data(const struct gtensor *t, const char *what, char *msg)
{
    if (t && !t->data)
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED,
                        "%s computed from run-time float data is not "
                        "supported (it must be constant or follow from shapes)",
                        what);
    return AXL_OK;
}

enum axl_status float_input(struct run_ctx *c, const struct gnode *n, int i, char *msg)
{
    struct gtensor *t = in_t(c, n, i);
    if (t && t->dtype != GDT_F32)
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED,
                        "input %d is an integer tensor; only float "
                        "tensors are supported here",
                        i);
    return AXL_OK;
}

enum axl_status same_shape(struct run_ctx *c, const struct gnode *n, char *msg)
{
    struct gtensor *x = in_t(c, n, 0);
    enum axl_status st = float_input(c, n, 0, msg);
    return st != AXL_OK ? st : set_out(c, n, 0, GDT_F32, x->ndim, x->dims, msg);
}

/* ---- loading ---------------------------------------------------------------- */
/* The message for node n failing with st for the reason `inner` (never msg
 * itself); returns st. */
static enum axl_status node_msg(const struct gnode *n, enum axl_status st, const char *inner,
                                char *msg)
{
    return axl_msgf(msg, st, "node '%.120s' (%.40s): %s", n->name, n->op, inner);
}

static int attr_listed(const char *list, const char *name)
{
    size_t k = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == k && !strncmp(p, name, k))
            return 1;
        p = e ? e + 1 : NULL;
    }
    return 0;
}

static enum axl_status bind_ops(struct axl_graph *g, char *msg)
{
    char tmp[AXL_MSG_LEN];
    for (int k = 0; k < g->nnodes; k++) {
        struct gnode *n = &g->nodes[k];
        n->def = axl_op_find(n->op);
        if (!n->def) {
            snprintf(tmp, sizeof tmp, "operator %.60s is not supported", n->op);
            return node_msg(n, AXL_ERR_UNSUPPORTED, tmp, msg);
        }
        if (!axl_legacy_op_ok(n->op, g->opset)) {
            snprintf(tmp, sizeof tmp, "operator %.60s at opset %d is not supported (its meaning "
                     "then differs from the supported versions; opsets 7 to 20 are)", n->op,
                     g->opset);
            return node_msg(n, AXL_ERR_UNSUPPORTED, tmp, msg);
        }
        const struct op_def *d = n->def;
        int nin = n->n_in, nout = n->n_out;
        while (nin > 0 && n->in[nin - 1] < 0)
            nin--;
        if (nin < d->min_in || nin > d->max_in || nout < d->min_out || nout > d->max_out) {
            snprintf(tmp, sizeof tmp, "has %d inputs and %d outputs; %d..%d inputs and %d..%d "
                     "outputs are supported", nin, nout, d->min_in, d->max_in, d->min_out,
                     d->max_out);
            return node_msg(n, AXL_ERR_UNSUPPORTED, tmp, msg);
        }
        for (int i = 0; i < d->min_in; i++)
            if (n->in[i] < 0) {
                snprintf(tmp, sizeof tmp, "required input %d is empty", i);
                return node_msg(n, AXL_ERR_FORMAT, tmp, msg);
            }
        for (int i = 0; i < n->n_attrs; i++) {
            if (!attr_listed(d->attrs, n->attrs[i].name)) {
                snprintf(tmp, sizeof tmp, "attribute '%.60s' is not supported", n->attrs[i].name);
                return node_msg(n, AXL_ERR_UNSUPPORTED, tmp, msg);
            }
            if (n->attrs[i].type == GA_OTHER) {
                snprintf(tmp, sizeof tmp, "attribute '%.60s' has an unsupported type (graphs, "
                         "strings lists and sparse tensors are not)", n->attrs[i].name);
                return node_msg(n, AXL_ERR_UNSUPPORTED, tmp, msg);
            }
        }
        if (d->check) {
            tmp[0] = 0;
            enum axl_status st = d->check(g, n, tmp);
            if (st != AXL_OK) {
                return node_msg(n, st, tmp, msg);
            }
        }
    }
    return AXL_OK;
}

static enum axl_status topo_sort(struct axl_graph *g, char *msg)
{
    int *indeg = calloc((size_t)g->nnodes + 1, sizeof *indeg);
    int *queue = malloc(((size_t)g->nnodes + 1) * sizeof *queue);
    g->order = malloc(((size_t)g->nnodes + 1) * sizeof *g->order);
    /* consumers as a flat adjacency list */
    int ne = 0;
    for (int k = 0; k < g->nnodes; k++)
        ne += g->nodes[k].n_in;
    int *head = malloc(((size_t)g->nnodes + 1) * sizeof *head);
    int *next = malloc(((size_t)ne + 1) * sizeof *next);
    int *dst = malloc(((size_t)ne + 1) * sizeof *dst);
    if (!indeg || !queue || !g->order || !head || !next || !dst) {
        free(indeg), free(queue), free(head), free(next), free(dst);
        return axl_msgf(msg, AXL_ERR_NOMEM, "%s: out of memory", g->path);
    }
    memset(head, 0xff, ((size_t)g->nnodes + 1) * sizeof *head);
    int e = 0;
    for (int k = 0; k < g->nnodes; k++)
        for (int i = 0; i < g->nodes[k].n_in; i++) {
            int v = g->nodes[k].in[i];
            int p = v >= 0 ? g->vals[v].producer : -1;
            if (p < 0)
                continue;
            indeg[k]++;
            dst[e] = k;
            next[e] = head[p];
            head[p] = e++;
        }
    int qh = 0, qt = 0;
    for (int k = 0; k < g->nnodes; k++)
        if (!indeg[k])
            queue[qt++] = k;
    while (qh < qt) {
        int k = queue[qh++];
        for (int x = head[k]; x >= 0; x = next[x])
            if (--indeg[dst[x]] == 0)
                queue[qt++] = dst[x];
    }
    enum axl_status st = AXL_OK;
    if (qt < g->nnodes) {
        int k = 0;
        while (indeg[k] == 0)
            k++;
        st = axl_msgf(msg, AXL_ERR_FORMAT,
                      "%.100s: the graph has a cycle through node '%.150s' (%.40s)", g->path,
                      g->nodes[k].name, g->nodes[k].op);
    }
    memcpy(g->order, queue, (size_t)qt * sizeof *queue);
    g->norder = qt;
    free(indeg), free(queue), free(head), free(next), free(dst);
    return st;
}

static enum axl_status alloc_outputs(struct run_ctx *c, const struct gnode *n, int ints_only,
                                     char *msg)
{
    for (int i = 0; i < n->n_out; i++) {
        struct gtensor *t = out_t(c, n, i);
        if (!t || t->data || (ints_only && t->dtype != GDT_I64))
            continue;
        int64_t cnt = gt_count(t->ndim, t->dims);
        if (cnt < 0) /* set_out refuses such shapes; this keeps the size from wrapping */
            return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "output %d would have more than %lld values",
                            i, (long long)GT_MAX_NUMEL);
        size_t bytes = (size_t)(cnt > 0 ? cnt : 1) * gt_esize(t->dtype), got = 0;
        t->data = c->pool ? pool_get(c->pool, bytes, &got) : malloc(bytes);
        if (!t->data)
            return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory for an output of %lld values",
                            (long long)cnt);
        t->owned = 1;
        t->pooled = got;
    }
    return AXL_OK;
}

static int all_int_outputs(struct run_ctx *c, const struct gnode *n)
{
    for (int i = 0; i < n->n_out; i++) {
        struct gtensor *t = out_t(c, n, i);
        if (t && t->dtype != GDT_I64)
            return 0;
    }
    return 1;
}

/* The shape pass over every live node: output shapes, integer values and
 * MAC counts (macs[pub] when macs is not NULL).  Inputs' shapes are set
 * in rt, their data NULL. */
static enum axl_status shape_pass(const struct axl_graph *g, struct run_ctx *c, int64_t *macs,
                                  char *msg)
{
    char tmp[AXL_MSG_LEN];
    enum axl_status st;
    for (int oi = 0; oi < g->norder; oi++) {
        const struct gnode *n = &g->nodes[g->order[oi]];
        if (n->dead)
            continue;
        c->macs = 0;
        for (int i = 0; i < n->n_out; i++) {
            struct gtensor *t = out_t(c, n, i);
            if (t)
                t->dtype = GDT_F32, t->ndim = 0;
        }
        tmp[0] = 0;
        if ((st = n->def->shape(c, n, tmp)) != AXL_OK) {
            return node_msg(n, st, tmp, msg);
        }
        if (macs && n->pub >= 0)
            macs[n->pub] = c->macs;
        if (!all_int_outputs(c, n))
            continue;
        /* integer bookkeeping: computed now, from shapes and integers only */
        for (int i = 0; i < n->n_in; i++) {
            struct gtensor *t = in_t(c, n, i);
            if (t && !t->data && !(i == 0 && n->def->shape_of_input)) {
                return node_msg(n, AXL_ERR_UNSUPPORTED,
                                "an integer result computed from run-time float data is not "
                                "supported",
                                msg);
            }
        }
        if ((st = alloc_outputs(c, n, 1, tmp)) != AXL_OK ||
            (st = n->def->exec(c, n, tmp)) != AXL_OK) {
            return node_msg(n, st, tmp, msg);
        }
    }
    return AXL_OK;
}

/* t's data back to the run's pool when it came from there, else freed */
static void drop(struct run_ctx *c, struct gtensor *t)
{
    if (c->pool && t->owned && t->pooled) {
        pool_put(c->pool, t->data, t->pooled);
        t->data = NULL;
        t->owned = 0;
        t->pooled = 0;
        return;
    }
    gt_free(t);
}

static void release_run(const struct axl_graph *g, struct run_ctx *c)
{
    if (!c || !c->rt)
        return;
    for (int v = 0; v < g->nvals; v++)
        drop(c, &c->rt[v]);
    free(c->rt);
    c->rt = NULL;
}

/* A run context with constants in place and inputs shaped per dims (an
 * array of AXL_MAX_DIMS per input; NULL: declared dims with batch for
 * symbolic ones). */
static enum axl_status init_run(const struct axl_graph *g, struct run_ctx *c, int64_t batch,
                                char *msg)
{
    memset(c, 0, sizeof *c);
    c->g = g;
    c->rt = calloc((size_t)g->nvals + 1, sizeof *c->rt);
    if (!c->rt) {
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    }
    for (int v = 0; v < g->nvals; v++) {
        const struct gvalue *gv = &g->vals[v];
        if (gv->kind == V_CONST) {
            c->rt[v] = gv->c;
            c->rt[v].owned = 0;
        } else if (gv->kind == V_INPUT) {
            c->rt[v].dtype = GDT_F32;
            c->rt[v].ndim = gv->ndecl;
            for (int i = 0; i < gv->ndecl; i++)
                c->rt[v].dims[i] = gv->decl[i] >= 0 ? gv->decl[i] : i == 0 ? batch : 1;
        }
    }
    return AXL_OK;
}

enum axl_status axl_graph_shapes(const struct axl_graph *g, int64_t batch, struct run_ctx *c,
                                 char *msg)
{
    enum axl_status st = init_run(g, c, batch, msg);
    return st == AXL_OK ? shape_pass(g, c, NULL, msg) : st;
}

/* 1 when n reads, where a gradient flows, a float initializer of more than
 * one value: a parameter, once the node is not folded. */
static int reads_weights(const struct axl_graph *g, const struct gnode *n)
{
    for (int i = 0; i < n->n_in; i++) {
        const struct gvalue *v = n->in[i] >= 0 ? &g->vals[n->in[i]] : NULL;
        if (v && v->is_init && v->c.dtype == GDT_F32 && gt_numel(&v->c) > 1 &&
            !(i < 32 && (n->def->nodiff >> i & 1)))
            return 1;
    }
    return 0;
}

/* Evaluates nodes whose inputs are all constant (never MAC nodes; for
 * training, never a node that reads a parameter: see reads_weights). */
static enum axl_status fold_constants(struct axl_graph *g, char *msg)
{
    struct run_ctx c;
    char tmp[AXL_MSG_LEN];
    enum axl_status st = init_run(g, &c, 1, msg);
    if (st != AXL_OK)
        return st;
    for (int oi = 0; oi < g->norder && st == AXL_OK; oi++) {
        struct gnode *n = &g->nodes[g->order[oi]];
        if (n->def->is_mac || (g->trainable && reads_weights(g, n)))
            continue;
        int ok = 1;
        for (int i = 0; i < n->n_in; i++)
            if (n->in[i] >= 0 && g->vals[n->in[i]].kind != V_CONST)
                ok = 0;
        if (!ok)
            continue;
        tmp[0] = 0;
        if ((st = n->def->shape(&c, n, tmp)) != AXL_OK || (st = alloc_outputs(&c, n, 0, tmp)) ||
            (st = n->def->exec(&c, n, tmp)) != AXL_OK) {
            st = node_msg(n, st, tmp, msg);
            break;
        }
        for (int i = 0; i < n->n_out; i++) {
            int v = n->out[i];
            if (v < 0)
                continue;
            g->vals[v].c = c.rt[v];
            g->vals[v].kind = V_CONST;
            g->vals[v].producer = -1;
            c.rt[v].owned = 0;
        }
        n->dead = 1;
    }
    /* the folded constants now belong to the graph */
    free(c.rt);
    return st;
}

static enum axl_status probe(struct axl_graph *g, int64_t batch, int64_t (*od)[AXL_MAX_DIMS],
                             int *ond, char *msg)
{
    struct run_ctx c;
    enum axl_status st = init_run(g, &c, batch, msg);
    if (st == AXL_OK)
        st = shape_pass(g, &c, NULL, msg);
    if (st == AXL_OK) {
        for (int k = 0; k < g->nnodes; k++) {
            struct gnode *n = &g->nodes[k];
            n->exposed = !n->dead && !all_int_outputs(&c, n);
        }
        for (int i = 0; i < g->nout && i < 16; i++) {
            const struct gtensor *t = &c.rt[g->outputs[i]];
            ond[i] = t->ndim;
            memcpy(od[i], t->dims, sizeof t->dims);
        }
    }
    release_run(g, &c);
    return st;
}

static enum axl_status load(const char *onnx_path, int trainable, struct axl_graph **out,
                            char *msg)
{
    char tmp[AXL_MSG_LEN];
    *out = NULL;
    struct axl_graph *g = calloc(1, sizeof *g);
    if (!g || !(g->path = malloc(strlen(onnx_path) + 1))) {
        free(g);
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    }
    g->trainable = trainable;
    strcpy(g->path, onnx_path);
    enum axl_status st = axl_onnx_read(onnx_path, g, msg);
    if (st == AXL_OK && (st = bind_ops(g, tmp)) != AXL_OK)
        st = axl_msgf(msg, st, "%.100s: %s", onnx_path, tmp);
    if (st == AXL_OK)
        st = topo_sort(g, msg);
    if (st == AXL_OK && (st = fold_constants(g, tmp)) != AXL_OK)
        st = axl_msgf(msg, st, "%.100s: %s", onnx_path, tmp);
    for (int i = 0; i < g->nin && st == AXL_OK; i++)
        if (g->vals[g->inputs[i]].ndecl > 0 && g->vals[g->inputs[i]].decl[0] < 0)
            g->batch_symbolic = 1;
    int64_t od2[16][AXL_MAX_DIMS];
    int ond2[16];
    if (st == AXL_OK && (st = probe(g, 1, g->out_decl, g->out_ndim, tmp)) != AXL_OK)
        st = axl_msgf(msg, st, "%.100s: %s", onnx_path, tmp);
    if (st == AXL_OK && g->batch_symbolic) {
        if ((st = probe(g, 2, od2, ond2, tmp)) != AXL_OK)
            st = axl_msgf(msg, st, "%.100s: with a batch of 2: %s", onnx_path, tmp);
    }
    if (st == AXL_OK)
        axl_graph_note_samples(g, od2, ond2);
    if (st == AXL_OK && g->batch_symbolic) {
        for (int i = 0; st == AXL_OK && i < g->nout && i < 16; i++)
            for (int d = 0; d < g->out_ndim[i] && d < ond2[i]; d++)
                if (g->out_decl[i][d] != od2[i][d])
                    g->out_decl[i][d] = -1;
    }
    if (st == AXL_OK) {
        g->pub = malloc(((size_t)g->norder + 1) * sizeof *g->pub);
        if (!g->pub) {
            st = axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
        }
    }
    if (st == AXL_OK) {
        for (int oi = 0; oi < g->norder; oi++) {
            struct gnode *n = &g->nodes[g->order[oi]];
            if (!n->exposed)
                continue;
            n->pub = (int64_t)g->npub;
            g->pub[g->npub++] = g->order[oi];
            for (int i = 0; i < n->n_in; i++)
                if (n->in[i] >= 0)
                    g->vals[n->in[i]].last_use = (int)n->pub;
        }
        st = axl_graph_find_params(g, tmp);
        if (st != AXL_OK)
            st = axl_msgf(msg, st, "%.100s: %s", onnx_path, tmp);
    }
    if (st == AXL_OK) {
        struct axl_mac_spec spec;
        memset(&spec, 0, sizeof spec);
        if ((st = axl_mac_create(&spec, &g->exact, tmp)) != AXL_OK)
            st = axl_msgf(msg, st, "creating the exact MAC configuration: %s", tmp);
    }
    if (st != AXL_OK) {
        axl_graph_free(g);
        return st;
    }
    *out = g;
    return AXL_OK;
}

enum axl_status axl_graph_load(const char *onnx_path, struct axl_graph **out, char *msg)
{
    return load(onnx_path, 0, out, msg);
}

enum axl_status axl_graph_load_trainable(const char *onnx_path, struct axl_graph **out,
                                         char *msg)
{
    return load(onnx_path, 1, out, msg);
}

/* ---- introspection ---------------------------------------------------------- */
size_t axl_graph_node_count(const struct axl_graph *g) { return g->npub; }

const char *axl_graph_node_name(const struct axl_graph *g, size_t node)
{
    return node < g->npub ? g->nodes[g->pub[node]].name : NULL;
}

const char *axl_graph_node_op(const struct axl_graph *g, size_t node)
{
    return node < g->npub ? g->nodes[g->pub[node]].op : NULL;
}

int axl_graph_node_is_mac(const struct axl_graph *g, size_t node)
{
    return node < g->npub && g->nodes[g->pub[node]].def->is_mac;
}

int64_t axl_graph_find_node(const struct axl_graph *g, const char *name)
{
    for (size_t i = 0; i < g->npub; i++)
        if (!strcmp(g->nodes[g->pub[i]].name, name))
            return (int64_t)i;
    return -1;
}

size_t axl_graph_input_count(const struct axl_graph *g) { return (size_t)g->nin; }

const char *axl_graph_input_name(const struct axl_graph *g, size_t i)
{
    return i < (size_t)g->nin ? g->vals[g->inputs[i]].name : NULL;
}

int axl_graph_input_shape(const struct axl_graph *g, size_t i, int64_t *dims)
{
    if (i >= (size_t)g->nin)
        return -1;
    const struct gvalue *v = &g->vals[g->inputs[i]];
    memcpy(dims, v->decl, (size_t)v->ndecl * sizeof *dims);
    return v->ndecl;
}

size_t axl_graph_output_count(const struct axl_graph *g) { return (size_t)g->nout; }

const char *axl_graph_output_name(const struct axl_graph *g, size_t i)
{
    return i < (size_t)g->nout ? g->vals[g->outputs[i]].name : NULL;
}

int axl_graph_output_shape(const struct axl_graph *g, size_t i, int64_t *dims)
{
    if (i >= (size_t)g->nout || i >= 16)
        return -1;
    memcpy(dims, g->out_decl[i], (size_t)g->out_ndim[i] * sizeof *dims);
    return g->out_ndim[i];
}

enum axl_status axl_graph_describe(const struct axl_graph *g, int64_t batch,
                                   struct axl_node_info *info, char *msg)
{
    struct run_ctx c;
    int64_t *macs = calloc(g->npub + 1, sizeof *macs);
    if (!macs) {
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    }
    enum axl_status st = init_run(g, &c, batch > 0 ? batch : 1, msg);
    if (st == AXL_OK)
        st = shape_pass(g, &c, macs, msg);
    for (size_t i = 0; st == AXL_OK && i < g->npub; i++) {
        const struct gnode *n = &g->nodes[g->pub[i]];
        const struct gtensor *t = out_t(&c, n, 0);
        memset(&info[i], 0, sizeof info[i]);
        info[i].macs = macs[i];
        info[i].n_outputs = n->n_out;
        if (t) {
            info[i].ndim = t->ndim;
            memcpy(info[i].dims, t->dims, sizeof t->dims);
        }
    }
    release_run(g, &c);
    free(macs);
    return st;
}

/* ---- runs --------------------------------------------------------------------- */
static void to_axl(const struct gtensor *t, struct axl_tensor *o)
{
    o->ndim = t->ndim;
    memcpy(o->dims, t->dims, sizeof o->dims);
    o->data = t->data;
}

static enum axl_status check_inputs(const struct axl_graph *g, const struct axl_tensor *inputs,
                                    char *msg)
{
    for (int i = 0; i < g->nin; i++) {
        const struct gvalue *v = &g->vals[g->inputs[i]];
        const struct axl_tensor *t = &inputs[i];
        int bad = t->ndim != v->ndecl || !t->data;
        for (int d = 0; !bad && d < v->ndecl; d++)
            bad = t->dims[d] < 1 || (v->decl[d] >= 0 && t->dims[d] != v->decl[d]);
        if (!bad && gt_count(t->ndim, t->dims) < 0)
            return axl_msgf(msg, AXL_ERR_UNSUPPORTED,
                            "input '%.100s' of %.100s has more than %lld values (the limit for "
                            "one tensor)", v->name, g->path, (long long)GT_MAX_NUMEL);
        if (!bad)
            continue;
        char want[160] = "", got[160] = "";
        size_t wl = 0, gl = 0;
        for (int d = 0; d < v->ndecl && wl < sizeof want - 24; d++)
            wl += (size_t)snprintf(want + wl, sizeof want - wl, "%s%lld", d ? "x" : "",
                                   (long long)v->decl[d]);
        for (int d = 0; d < t->ndim && d < AXL_MAX_DIMS && gl < sizeof got - 24; d++)
            gl += (size_t)snprintf(got + gl, sizeof got - gl, "%s%lld", d ? "x" : "",
                                   (long long)t->dims[d]);
        if (!t->data)
            return axl_msgf(msg, AXL_ERR_MISMATCH,
                            "input '%.100s' of %.100s: %s; the model expects shape %s (-1: any)",
                            v->name, g->path, "no data", want);
        return axl_msgf(msg, AXL_ERR_MISMATCH,
                        "input '%.100s' of %.100s has shape %s; the model expects %s (-1: any)",
                        v->name, g->path, got[0] ? got : "(scalar)", want);
    }
    return AXL_OK;
}

/* Runs public node p: its MAC, then (with opts->shadow) the exact MAC on the
 * same inputs, hands both to opts->observe, and frees the run-time values
 * whose last use this was. */
static enum axl_status run_node(const struct axl_graph *g, const struct axl_run_opts *opts,
                                const struct axl_mac *exact, struct run_ctx *c, size_t p,
                                char *msg)
{
    char tmp[AXL_MSG_LEN];
    struct axl_tensor obs[16];
    enum axl_status st;
    const struct gnode *n = &g->nodes[g->pub[p]];
    const struct axl_mac *m = opts->mac && n->def->is_mac ? opts->mac[p] : NULL;
    const int fast = opts->fast_exact && opts->fast_exact[p] && n->def->is_mac &&
                     c->be == AXL_BACKEND_CPU && axl_fast_exact_available();
    c->mac = m ? m : exact;
    c->fast = fast && c->mac == exact;
    tmp[0] = 0;
    if ((st = alloc_outputs(c, n, 0, tmp)) != AXL_OK || (st = n->def->exec(c, n, tmp)) != AXL_OK)
        return node_msg(n, st, tmp, msg);
    struct axl_tensor shadow, *sp = NULL;
    size_t sgot = 0; /* the shadow buffer's bytes, when from the pool */
    if (opts->shadow && m && m != exact) {
        struct gtensor *o = out_t(c, n, 0);
        void *keep = o->data;
        int64_t cnt = gt_numel(o);
        size_t sbytes = (size_t)(cnt > 0 ? cnt : 1) * sizeof(float);
        o->data = c->pool ? pool_get(c->pool, sbytes, &sgot) : malloc(sbytes);
        if (!o->data) {
            o->data = keep;
            return axl_msgf(msg, AXL_ERR_NOMEM, "node '%.150s': out of memory for the shadow run",
                            n->name);
        }
        c->mac = exact;
        c->fast = fast;
        st = n->def->exec(c, n, tmp);
        c->fast = 0;
        to_axl(o, &shadow);
        o->data = keep;
        sp = &shadow;
        if (st != AXL_OK) {
            free(shadow.data);
            return node_msg(n, st, tmp, msg);
        }
    }
    if (opts->observe) {
        int no = n->n_out < 16 ? n->n_out : 16;
        for (int i = 0; i < no; i++) {
            struct gtensor *o = out_t(c, n, i);
            memset(&obs[i], 0, sizeof obs[i]);
            if (o)
                to_axl(o, &obs[i]);
        }
        opts->observe(opts->user, p, obs, sp);
    }
    if (sp && c->pool)
        pool_put(c->pool, shadow.data, sgot);
    else if (sp)
        free(shadow.data);
    for (int i = 0; i < n->n_in && !c->keep; i++) {
        int v = n->in[i];
        if (v >= 0 && g->vals[v].last_use == (int)p && !g->vals[v].is_output &&
            g->vals[v].kind == V_RUNTIME)
            drop(c, &c->rt[v]);
    }
    return AXL_OK;
}

/* The graph outputs as float tensors the caller owns (taken over where they
 * already are float, converted where not). */
static enum axl_status take_outputs(const struct axl_graph *g, struct run_ctx *c,
                                    struct axl_tensor *outputs, char *msg)
{
    for (int i = 0; i < g->nout; i++) {
        struct gtensor *t = &c->rt[g->outputs[i]];
        int64_t cnt = gt_numel(t);
        outputs[i].ndim = t->ndim;
        memcpy(outputs[i].dims, t->dims, sizeof t->dims);
        if (t->owned && t->dtype == GDT_F32 && !c->keep) {
            /* the caller's now (a pooled buffer is a malloc'd one) */
            outputs[i].data = t->data;
            t->owned = 0;
            t->pooled = 0;
            continue;
        }
        outputs[i].data = malloc((size_t)(cnt > 0 ? cnt : 1) * sizeof(float));
        if (!outputs[i].data) {
            return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory for output '%.100s'",
                            g->vals[g->outputs[i]].name);
        }
        for (int64_t k = 0; k < cnt; k++)
            outputs[i].data[k] = (float)gt_getd(t, k);
    }
    return AXL_OK;
}

enum axl_status axl_graph_exec(const struct axl_graph *g, const struct axl_run_opts *opts,
                               const struct axl_tensor *inputs, struct axl_tensor *outputs,
                               struct run_ctx *c, int keep, char *msg)
{
    struct axl_run_opts dflt;
    memset(&dflt, 0, sizeof dflt);
    memset(c, 0, sizeof *c);
    if (!opts)
        opts = &dflt;
    for (int i = 0; i < g->nout; i++)
        memset(&outputs[i], 0, sizeof outputs[i]);
    enum axl_status st = check_inputs(g, inputs, msg);
    if (st != AXL_OK)
        return st;
    if ((st = init_run(g, c, 1, msg)) != AXL_OK)
        return st;
    c->be = opts->backend;
    c->train = opts->train;
    c->bn_train = opts->train && opts->bn_train;
    c->seed = opts->seed;
    c->keep = keep;
    c->macs_of = opts->mac;
    c->pool = opts->pool;
    const struct axl_mac *exact = opts->exact ? opts->exact : g->exact;
    for (int i = 0; i < g->nin; i++) {
        struct gtensor *t = &c->rt[g->inputs[i]];
        t->ndim = inputs[i].ndim;
        memcpy(t->dims, inputs[i].dims, sizeof t->dims);
    }
    st = shape_pass(g, c, NULL, msg);
    for (int i = 0; i < g->nin; i++)
        c->rt[g->inputs[i]].data = inputs[i].data;
    for (size_t p = 0; st == AXL_OK && p < g->npub; p++)
        st = run_node(g, opts, exact, c, p, msg);
    if (st == AXL_OK)
        st = take_outputs(g, c, outputs, msg);
    if (st != AXL_OK)
        for (int i = 0; i < g->nout; i++)
            axl_tensor_free(&outputs[i]);
    return st;
}

void axl_run_release(const struct axl_graph *g, struct run_ctx *c)
{
    for (int i = 0; c->rt && i < g->nin; i++)
        c->rt[g->inputs[i]].data = NULL;
    release_run(g, c);
}

enum axl_status axl_graph_run(const struct axl_graph *g, const struct axl_run_opts *opts,
                              const struct axl_tensor *inputs, struct axl_tensor *outputs,
                              char *msg)
{
    struct run_ctx c;
    enum axl_status st = axl_graph_exec(g, opts, inputs, outputs, &c, 0, msg);
    axl_run_release(g, &c);
    return st;
}
