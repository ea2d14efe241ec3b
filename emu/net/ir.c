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

/* Operators of opsets 1 to 6 whose semantics equal those of a supported
 * version, with the first opset from which that holds.  Sources: the
 * operator changelog of ONNX (docs/Changelog.md).  What changed before
 * opset 7 and is not a difference here: the legacy `consumed_inputs`
 * attribute (removed at 6, an optimisation hint) and the legacy
 * `broadcast`/`axis` attributes of the binary operators and Gemm (without
 * them the shapes must be equal, where the later broadcasting gives the
 * same results; with them the attribute checks refuse the node).  Not
 * listed, hence refused: Concat before 4 (axis optional, default 1),
 * Reshape before 5 (shape an attribute), Pad and Split before 2, Cast
 * and Tile before 6 (type a string; tiles and axis inputs), and every
 * operator that did not exist or changed its meaning at 7. */
static const struct {
    const char *op;
    int since;
} k_legacy[] = {
    {"Abs", 1},         {"Add", 1},
    {"AveragePool", 1}, {"BatchNormalization", 1},
    {"Cast", 6},        {"Ceil", 1},
    {"Clip", 1},        {"Concat", 4},
    {"Constant", 1},    {"Conv", 1},
    {"ConvTranspose", 1}, {"Div", 1},
    {"Dropout", 1},     {"Elu", 1},
    {"Exp", 1},         {"Flatten", 1},
    {"Floor", 1},       {"Gather", 1},
    {"Gemm", 1},        {"GlobalAveragePool", 1},
    {"GlobalMaxPool", 1}, {"HardSigmoid", 1},
    {"Identity", 1},    {"InstanceNormalization", 1},
    {"LeakyRelu", 1},   {"Log", 1},
    {"LogSoftmax", 1},  {"LRN", 1},
    {"MatMul", 1},      {"Max", 1},
    {"MaxPool", 1},     {"Mean", 1},
    {"Min", 1},         {"Mul", 1},
    {"Neg", 1},         {"Pad", 2},
    {"Pow", 1},         {"PRelu", 1},
    {"Reciprocal", 1},  {"ReduceL1", 1},
    {"ReduceL2", 1},    {"ReduceLogSumExp", 1},
    {"ReduceMax", 1},   {"ReduceMean", 1},
    {"ReduceMin", 1},   {"ReduceProd", 1},
    {"ReduceSum", 1},   {"ReduceSumSquare", 1},
    {"Relu", 1},        {"Reshape", 5},
    {"Selu", 1},        {"Shape", 1},
    {"Sigmoid", 1},     {"Size", 1},
    {"Slice", 1},       {"Softmax", 1},
    {"Softplus", 1},    {"Softsign", 1},
    {"Split", 2},       {"Sqrt", 1},
    {"Squeeze", 1},     {"Sub", 1},
    {"Sum", 1},         {"Tanh", 1},
    {"Tile", 6},        {"Transpose", 1},
    {"Unsqueeze", 1},
};

int axl_legacy_op_ok(const char *op, int opset)
{
    if (opset >= 7)
        return 1;
    for (size_t i = 0; i < sizeof k_legacy / sizeof k_legacy[0]; i++)
        if (!strcmp(k_legacy[i].op, op))
            return opset >= k_legacy[i].since;
    return 0;
}
