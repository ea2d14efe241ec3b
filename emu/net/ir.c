/* The graph IR: tensors, attributes, nodes and the graph structure, their
 * sizes, accessors and freeing.  The importer (onnx_import.c) builds it and
 * the executor (graph.c) and operators (ops_*.c) read it; both depend on
 * this file and not on each other. */
#include <stdlib.h>
#include <string.h>

#include "graph_internal.h"

/* ---- tensors ---------------------------------------------------------------- */
/* the product of n dims: 0 when one is 0 (whatever the others), INT64_MAX
 * when it overflows, -1 when a dim is negative */
static int64_t dims_product(int ndim, const int64_t *dims)
{
    for (int i = 0; i < ndim; i++)
        if (dims[i] <= 0)
            return dims[i] < 0 ? -1 : 0;
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        if (gt_mul(n, dims[i], &n))
            return INT64_MAX;
    return n;
}

int64_t gt_count(int ndim, const int64_t *dims)
{
    int64_t n = dims_product(ndim, dims);
    return n > GT_MAX_NUMEL ? -1 : n;
}

int64_t gt_numel(const struct gtensor *t) { return dims_product(t->ndim, t->dims); }

size_t gt_esize(int dtype) { return dtype == GDT_I64 ? sizeof(int64_t) : sizeof(float); }

int64_t gt_geti(const struct gtensor *t, int64_t i)
{
    return t->dtype == GDT_I64 ? ((const int64_t *)t->data)[i] : (int64_t)((const float *)t->data)[i];
}

double gt_getd(const struct gtensor *t, int64_t i)
{
    return t->dtype == GDT_I64 ? (double)((const int64_t *)t->data)[i]
                               : (double)((const float *)t->data)[i];
}

int64_t axl_tensor_numel(const struct axl_tensor *t) { return dims_product(t->ndim, t->dims); }

void axl_tensor_free(struct axl_tensor *t)
{
    if (t) {
        free(t->data);
        t->data = NULL;
    }
}

void gt_free(struct gtensor *t)
{
    if (t && t->owned)
        free(t->data);
    if (t) {
        t->data = NULL;
        t->owned = 0;
    }
}

/* ---- attributes ------------------------------------------------------------- */
const struct gattr *ga_find(const struct gnode *n, const char *name)
{
    for (int i = 0; i < n->n_attrs; i++)
        if (!strcmp(n->attrs[i].name, name))
            return &n->attrs[i];
    return NULL;
}

int64_t ga_int(const struct gnode *n, const char *name, int64_t dflt)
{
    const struct gattr *a = ga_find(n, name);
    return a && a->type == GA_INT ? a->i : dflt;
}

float ga_float(const struct gnode *n, const char *name, float dflt)
{
    const struct gattr *a = ga_find(n, name);
    return a && a->type == GA_FLOAT ? a->f : a && a->type == GA_INT ? (float)a->i : dflt;
}

const char *ga_str(const struct gnode *n, const char *name, const char *dflt)
{
    const struct gattr *a = ga_find(n, name);
    return a && a->type == GA_STRING ? a->s : dflt;
}

int64_t ga_ints(const struct gnode *n, const char *name, const int64_t **v)
{
    const struct gattr *a = ga_find(n, name);
    if (!a || a->type != GA_INTS) {
        *v = NULL;
        return -1;
    }
    *v = a->ints;
    return a->n;
}

/* ---- nodes and the graph ----------------------------------------------------- */
void gnode_free(struct gnode *n)
{
    free(n->name);
    free(n->op);
    free(n->in);
    free(n->out);
    for (int i = 0; i < n->n_attrs; i++) {
        free(n->attrs[i].name);
        free(n->attrs[i].s);
        free(n->attrs[i].ints);
        free(n->attrs[i].floats);
        gt_free(&n->attrs[i].t);
    }
    free(n->attrs);
}

void axl_graph_free(struct axl_graph *g)
{
    if (!g)
        return;
    for (int v = 0; v < g->nvals; v++) {
        free(g->vals[v].name);
        gt_free(&g->vals[v].c);
    }
    for (int k = 0; k < g->nnodes; k++)
        gnode_free(&g->nodes[k]);
    free(g->vals);
    free(g->nodes);
    free(g->order);
    free(g->pub);
    free(g->inputs);
    free(g->outputs);
    free(g->params);
    free(g->buffers);
    free(g->path);
    axl_mac_free(g->exact);
    free(g);
}
