/* Reading an ONNX file (protobuf, through the C code protoc-c generates from
 * the official onnx.proto at build time) into the graph's values and nodes.
 * Checks here are about the file: what it holds and whether names resolve;
 * operators are checked by the executor. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/format.h"
#include "graph_internal.h"
#include "onnx.pb-c.h"

/* ONNX TensorProto.DataType */
enum {
    OT_FLOAT = 1, OT_UINT8 = 2, OT_INT8 = 3, OT_UINT16 = 4, OT_INT16 = 5, OT_INT32 = 6,
    OT_INT64 = 7, OT_STRING = 8, OT_BOOL = 9, OT_FLOAT16 = 10, OT_DOUBLE = 11, OT_UINT32 = 12,
    OT_UINT64 = 13, OT_BFLOAT16 = 16
};

static char *dupstr(const char *s)
{
    size_t n = strlen(s ? s : "") + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s ? s : "", n);
    return d;
}

/* An fp16 or bf16 element through the formats library.  A bfloat16 NaN
 * keeps its payload, quieted (bfloat16 is float32's top half, and the
 * importer always converted it so); fp16 NaNs become the canonical NaN. */
static float decode16(const struct axl_format *f, uint16_t h)
{
    if (f->ebits == 8 && axl_format_is_nan(f, h))
        return axl_f32_from_bits(((uint32_t)h << 16) | 0x400000u);
    return axl_format_decode(f, h);
}

/* dtype of our two kinds for an ONNX element type; -1 for unsupported */
static int map_dtype(int ot)
{
    switch (ot) {
    case OT_FLOAT: case OT_FLOAT16: case OT_DOUBLE: case OT_BFLOAT16:
        return GDT_F32;
    case OT_UINT8: case OT_INT8: case OT_UINT16: case OT_INT16: case OT_INT32: case OT_INT64:
    case OT_BOOL: case OT_UINT32: case OT_UINT64:
        return GDT_I64;
    default:
        return -1;
    }
}

static size_t raw_size(int ot)
{
    switch (ot) {
    case OT_UINT8: case OT_INT8: case OT_BOOL: return 1;
    case OT_UINT16: case OT_INT16: case OT_FLOAT16: case OT_BFLOAT16: return 2;
    case OT_FLOAT: case OT_INT32: case OT_UINT32: return 4;
    default: return 8;
    }
}

/* Element i of raw little-endian data of type ot, as double or int64. */
static void raw_elem(const uint8_t *p, int ot, const struct axl_format *f16, double *d, int64_t *iv)
{
    uint64_t u = 0;
    size_t sz = raw_size(ot);
    for (size_t b = 0; b < sz; b++)
        u |= (uint64_t)p[b] << (8 * b);
    switch (ot) {
    case OT_FLOAT: { uint32_t w = (uint32_t)u; float f; memcpy(&f, &w, 4); *d = f; break; }
    case OT_DOUBLE: { double f; memcpy(&f, &u, 8); *d = f; break; }
    case OT_FLOAT16: case OT_BFLOAT16: *d = decode16(f16, (uint16_t)u); break;
    case OT_INT8: *iv = (int8_t)u; break;
    case OT_INT16: *iv = (int16_t)u; break;
    case OT_INT32: *iv = (int32_t)u; break;
    case OT_INT64: *iv = (int64_t)u; break;
    case OT_BOOL: *iv = u != 0; break;
    default: *iv = (int64_t)u; break; /* unsigned */
    }
}

/* A TensorProto as a float32 or int64 tensor; `what` names it in messages. */
static enum axl_status convert_tensor(const Onnx__TensorProto *tp, const char *what,
                                      struct gtensor *t, char *msg)
{
    memset(t, 0, sizeof *t);
    int ot = tp->has_data_type ? tp->data_type : 0;
    int dt = map_dtype(ot);
    if (dt < 0) {
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED,
                        "%s: element type %d is not supported (only numeric tensors)", what, ot);
    }
    if (tp->n_external_data || (tp->has_data_location && tp->data_location == 1)) {
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED,
                        "%s: data stored outside the model file is not supported "
                        "(save the model with its weights inside)",
                        what);
    }
    if (tp->n_dims > AXL_MAX_DIMS) {
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "%s: rank %zu exceeds %d", what, tp->n_dims,
                        AXL_MAX_DIMS);
    }
    int64_t n = 1;
    for (size_t i = 0; i < tp->n_dims; i++) {
        if (tp->dims[i] < 0 || (tp->dims[i] > 0 && n > INT64_MAX / 8 / tp->dims[i])) {
            return axl_msgf(msg, AXL_ERR_FORMAT, "%s: dimension %lld is invalid", what,
                            (long long)tp->dims[i]);
        }
        t->dims[i] = tp->dims[i];
        n *= tp->dims[i];
    }
    t->ndim = (int)tp->n_dims;
    t->dtype = dt;
    int64_t have;
    if (tp->has_raw_data)
        have = (int64_t)(tp->raw_data.len / raw_size(ot));
    else if (ot == OT_FLOAT)
        have = (int64_t)tp->n_float_data;
    else if (ot == OT_DOUBLE)
        have = (int64_t)tp->n_double_data;
    else if (ot == OT_INT64)
        have = (int64_t)tp->n_int64_data;
    else if (ot == OT_UINT32 || ot == OT_UINT64)
        have = (int64_t)tp->n_uint64_data;
    else
        have = (int64_t)tp->n_int32_data;
    if (have != n || (tp->has_raw_data && tp->raw_data.len != (size_t)n * raw_size(ot))) {
        return axl_msgf(msg, AXL_ERR_FORMAT,
                        "%s: holds %lld values, its shape needs %lld (truncated or "
                        "malformed tensor)",
                        what, (long long)have, (long long)n);
    }
    t->data = malloc((size_t)(n ? n : 1) * gt_esize(dt));
    if (!t->data) {
        return axl_msgf(msg, AXL_ERR_NOMEM, "%s: out of memory for %lld values", what,
                        (long long)n);
    }
    t->owned = 1;
    struct axl_format f16; /* the element format of fp16 and bf16 tensors */
    memset(&f16, 0, sizeof f16);
    if (ot == OT_FLOAT16 || ot == OT_BFLOAT16)
        axl_format_parse(ot == OT_FLOAT16 ? "fp16" : "bf16", &f16, NULL);
    float *f = t->data;
    int64_t *iv = t->data;
    for (int64_t i = 0; i < n; i++) {
        double d = 0;
        int64_t v = 0;
        if (tp->has_raw_data)
            raw_elem(tp->raw_data.data + (size_t)i * raw_size(ot), ot, &f16, &d, &v);
        else if (ot == OT_FLOAT)
            d = tp->float_data[i];
        else if (ot == OT_DOUBLE)
            d = tp->double_data[i];
        else if (ot == OT_FLOAT16 || ot == OT_BFLOAT16)
            d = decode16(&f16, (uint16_t)tp->int32_data[i]);
        else if (ot == OT_INT64)
            v = tp->int64_data[i];
        else if (ot == OT_UINT32 || ot == OT_UINT64)
            v = (int64_t)tp->uint64_data[i];
        else if (ot == OT_BOOL)
            v = tp->int32_data[i] != 0;
        else
            v = tp->int32_data[i];
        if (dt == GDT_F32)
            f[i] = (float)d;
        else
            iv[i] = v;
    }
    return AXL_OK;
}

/* ---- names to value indices ----------------------------------------------- */
struct names {
    int *slot; /* value index or -1 */
    size_t cap;
    struct axl_graph *g;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    while (*s)
        h = (h ^ (uint8_t)*s++) * 1099511628211ull;
    return h;
}

static int names_find(const struct names *nm, const char *s)
{
    for (size_t i = hash_str(s) & (nm->cap - 1);; i = (i + 1) & (nm->cap - 1)) {
        int v = nm->slot[i];
        if (v < 0 || !strcmp(nm->g->vals[v].name, s))
            return v;
    }
}

/* Adds a value called s (which must not exist yet); its index or -1 on OOM. */
static int names_add(struct names *nm, const char *s, int kind)
{
    struct axl_graph *g = nm->g;
    size_t i = hash_str(s) & (nm->cap - 1);
    while (nm->slot[i] >= 0)
        i = (i + 1) & (nm->cap - 1);
    struct gvalue *v = &g->vals[g->nvals];
    memset(v, 0, sizeof *v);
    v->name = dupstr(s);
    if (!v->name)
        return -1;
    v->kind = kind;
    v->producer = -1;
    v->input_index = -1;
    v->last_use = -1;
    nm->slot[i] = g->nvals;
    return g->nvals++;
}

static enum axl_status convert_attr(const Onnx__AttributeProto *a, struct gattr *o,
                                    const char *node, char *msg)
{
    memset(o, 0, sizeof *o);
    o->name = dupstr(a->name);
    if (!o->name)
        goto nomem;
    int type = a->has_type ? (int)a->type : 0;
    if (!type) /* files from before the type field: infer it */
        type = a->t ? GA_TENSOR : a->n_ints ? GA_INTS : a->n_floats ? GA_FLOATS
             : a->has_s ? GA_STRING : a->has_i ? GA_INT : a->has_f ? GA_FLOAT : GA_OTHER;
    switch (type) {
    case GA_FLOAT: o->f = a->f; break;
    case GA_INT: o->i = a->i; break;
    case GA_STRING:
        o->s = malloc(a->s.len + 1);
        if (!o->s)
            goto nomem;
        if (a->s.len)
            memcpy(o->s, a->s.data, a->s.len);
        o->s[a->s.len] = 0;
        break;
    case GA_TENSOR: {
        char what[300];
        snprintf(what, sizeof what, "node '%.100s': attribute '%.100s'", node, a->name);
        if (!a->t) {
            return axl_msgf(msg, AXL_ERR_FORMAT, "%s has no tensor", what);
        }
        enum axl_status st = convert_tensor(a->t, what, &o->t, msg);
        if (st != AXL_OK)
            return st;
        break;
    }
    case GA_FLOATS:
        o->n = (int64_t)a->n_floats;
        o->floats = malloc((a->n_floats ? a->n_floats : 1) * sizeof(float));
        if (!o->floats)
            goto nomem;
        if (a->n_floats)
            memcpy(o->floats, a->floats, a->n_floats * sizeof(float));
        break;
    case GA_INTS:
        o->n = (int64_t)a->n_ints;
        o->ints = malloc((a->n_ints ? a->n_ints : 1) * sizeof(int64_t));
        if (!o->ints)
            goto nomem;
        if (a->n_ints)
            memcpy(o->ints, a->ints, a->n_ints * sizeof(int64_t));
        break;
    default: type = GA_OTHER; break;
    }
    o->type = type;
    return AXL_OK;
nomem:
    return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory reading node '%.100s'", node);
}

/* Declared shape of a graph input; only float tensors are accepted. */
static enum axl_status input_decl(const Onnx__ValueInfoProto *vi, struct gvalue *v, char *msg)
{
    const Onnx__TypeProto *tp = vi->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type) {
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "graph input '%.200s' is not a tensor", vi->name);
    }
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    if (tt->has_elem_type && map_dtype(tt->elem_type) != GDT_F32) {
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED,
                        "graph input '%.200s' has element type %d; only floating "
                        "inputs are supported",
                        vi->name, (int)tt->elem_type);
    }
    if (!tt->shape) {
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "graph input '%.200s' has no declared shape",
                        vi->name);
    }
    if (tt->shape->n_dim > AXL_MAX_DIMS) {
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "graph input '%.200s' has rank %zu (at most %d)",
                        vi->name, tt->shape->n_dim, AXL_MAX_DIMS);
    }
    v->ndecl = (int)tt->shape->n_dim;
    for (size_t i = 0; i < tt->shape->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
        v->decl[i] = d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
                             d->dim_value > 0
                         ? d->dim_value
                         : -1;
    }
    int64_t known[AXL_MAX_DIMS];
    for (int i = 0; i < v->ndecl; i++)
        known[i] = v->decl[i] > 0 ? v->decl[i] : 1;
    if (gt_count(v->ndecl, known) < 0)
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED,
                        "graph input '%.200s' declares more than %lld values (the limit for one "
                        "tensor)", vi->name, (long long)GT_MAX_NUMEL);
    return AXL_OK;
}

enum axl_status axl_onnx_read_bytes(const char *path, uint8_t **buf, size_t *len, char *msg)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        return axl_msgf(msg, AXL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *b = malloc(cap);
    while (b) {
        n += fread(b + n, 1, cap - n, f);
        if (n < cap)
            break;
        uint8_t *nb = cap < SIZE_MAX / 2 ? realloc(b, cap * 2) : NULL;
        if (!nb) {
            free(b);
            b = NULL;
            break;
        }
        b = nb;
        cap *= 2;
    }
    int err = ferror(f);
    fclose(f);
    if (!b) {
        return axl_msgf(msg, AXL_ERR_NOMEM, "%s: out of memory reading the file", path);
    }
    if (err) {
        free(b);
        return axl_msgf(msg, AXL_ERR_IO, "%s: read error", path);
    }
    *buf = b;
    *len = n;
    return AXL_OK;
}

/* The message for running out of memory while reading the model at path. */
static enum axl_status model_nomem(const char *path, char *msg)
{
    return axl_msgf(msg, AXL_ERR_NOMEM, "%.100s: out of memory reading the model", path);
}

/* Checks what the whole model must have (a graph, an IR version, nodes, a
 * supported opset, no sparse initializers) and sets g->opset. */
static enum axl_status check_model(const char *path, const Onnx__ModelProto *m,
                                   struct axl_graph *g, char *msg)
{
    const Onnx__GraphProto *gp = m->graph;
    if (!gp || !m->has_ir_version || !gp->n_node) {
        return axl_msgf(msg, AXL_ERR_FORMAT, "%s: not an ONNX model (%s)", path,
                        !gp                  ? "no graph"
                        : !m->has_ir_version ? "no IR version"
                                             : "no nodes");
    }
    g->opset = 0;
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const char *d = m->opset_import[i]->domain;
        if ((!d || !*d || !strcmp(d, "ai.onnx")) && m->opset_import[i]->has_version)
            g->opset = (int)m->opset_import[i]->version;
    }
    if (!m->n_opset_import)
        g->opset = 1; /* IR < 3 files have none */
    /* opsets 1 to 6: each operator is checked against what it meant then
     * (axl_legacy_op_ok) */
    if (g->opset < 1 || g->opset > 20) {
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED,
                        "%s: opset %d of the default domain is not supported (1 to 20 "
                        "are)",
                        path, g->opset);
    }
    if (gp->n_sparse_initializer) {
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "%s: sparse initializers are not supported",
                        path);
    }
    return AXL_OK;
}

/* The name table and the graph's arrays, sized for every value the file can
 * name; -1 when out of memory. */
static int alloc_graph(const Onnx__GraphProto *gp, struct names *nm, struct axl_graph *g)
{
    size_t nouts = 0;
    for (size_t i = 0; i < gp->n_node; i++)
        nouts += gp->node[i]->n_output;
    size_t maxv = gp->n_initializer + gp->n_input + nouts + 1;
    for (nm->cap = 16; nm->cap < 2 * maxv; nm->cap *= 2)
        ;
    nm->slot = malloc(nm->cap * sizeof *nm->slot);
    g->vals = calloc(maxv, sizeof *g->vals);
    g->nodes = calloc(gp->n_node, sizeof *g->nodes);
    g->inputs = malloc((gp->n_input + 1) * sizeof *g->inputs);
    g->outputs = malloc((gp->n_output + 1) * sizeof *g->outputs);
    if (!nm->slot || !g->vals || !g->nodes || !g->inputs || !g->outputs)
        return -1;
    memset(nm->slot, 0xff, nm->cap * sizeof *nm->slot);
    return 0;
}

/* The initializers (constants) and then the graph inputs, as values. */
static enum axl_status read_values(const char *path, const Onnx__GraphProto *gp,
                                   struct names *nm, struct axl_graph *g, char *msg)
{
    enum axl_status st;
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *tp = gp->initializer[i];
        const char *name = tp->name ? tp->name : "";
        if (names_find(nm, name) >= 0)
            continue; /* a duplicate: the first wins */
        int v = names_add(nm, name, V_CONST);
        if (v < 0)
            return model_nomem(path, msg);
        g->vals[v].is_init = 1;
        char what[300];
        snprintf(what, sizeof what, "%.100s: initializer '%.150s'", path, name);
        if ((st = convert_tensor(tp, what, &g->vals[v].c, msg)) != AXL_OK)
            return st;
    }
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        if (names_find(nm, vi->name ? vi->name : "") >= 0)
            continue; /* an initializer listed as input (IR < 4) */
        int v = names_add(nm, vi->name ? vi->name : "", V_INPUT);
        if (v < 0)
            return model_nomem(path, msg);
        char why[AXL_MSG_LEN];
        if ((st = input_decl(vi, &g->vals[v], why)) != AXL_OK)
            return axl_msgf(msg, st, "%.100s: %s", path, why);
        g->vals[v].input_index = g->nin;
        g->inputs[g->nin++] = v;
    }
    return AXL_OK;
}

/* Node k's operator, name, attributes and outputs (its inputs are linked
 * once every node's outputs have names). */
static enum axl_status read_node(const char *path, const Onnx__NodeProto *np, size_t k,
                                 struct names *nm, struct axl_graph *g, char *msg)
{
    enum axl_status st;
    struct gnode *n = &g->nodes[k];
    n->file_index = (int)k;
    n->pub = -1;
    n->op = dupstr(np->op_type);
    if (!n->op)
        return model_nomem(path, msg);
    if (np->name && *np->name) {
        n->name = dupstr(np->name);
    } else {
        char tmp[64];
        snprintf(tmp, sizeof tmp, "%.40s_%zu", np->op_type ? np->op_type : "node", k);
        n->name = dupstr(tmp);
    }
    n->n_in = (int)np->n_input;
    n->n_out = (int)np->n_output;
    n->in = malloc((np->n_input + 1) * sizeof *n->in);
    n->out = malloc((np->n_output + 1) * sizeof *n->out);
    if (!n->name || !n->in || !n->out)
        return model_nomem(path, msg);
    if (np->domain && *np->domain && strcmp(np->domain, "ai.onnx")) {
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED,
                        "node '%.150s' (%.60s): operator domain '%.100s' is not "
                        "supported (only the default ONNX domain)",
                        n->name, n->op, np->domain);
    }
    for (size_t j = 0; j < np->n_output; j++) {
        const char *o = np->output[j];
        if (!o || !*o) {
            n->out[j] = -1;
            continue;
        }
        int v = names_find(nm, o);
        if (v >= 0) {
            return axl_msgf(msg, AXL_ERR_FORMAT,
                            "%.100s: node '%.150s' (%.60s): output '%.150s' is "
                            "already defined",
                            path, n->name, n->op, o);
        }
        if ((v = names_add(nm, o, V_RUNTIME)) < 0)
            return model_nomem(path, msg);
        g->vals[v].producer = (int)k;
        n->out[j] = v;
    }
    n->attrs = calloc(np->n_attribute + 1, sizeof *n->attrs);
    if (!n->attrs)
        return model_nomem(path, msg);
    for (size_t j = 0; j < np->n_attribute; j++) {
        n->n_attrs++;
        if ((st = convert_attr(np->attribute[j], &n->attrs[j], n->name, msg)) != AXL_OK)
            return st;
    }
    return AXL_OK;
}

/* Every node input and graph output resolved to a value by name. */
static enum axl_status link_names(const char *path, const Onnx__GraphProto *gp,
                                  const struct names *nm, struct axl_graph *g, char *msg)
{
    for (size_t k = 0; k < gp->n_node; k++) {
        const Onnx__NodeProto *np = gp->node[k];
        struct gnode *n = &g->nodes[k];
        for (size_t j = 0; j < np->n_input; j++) {
            const char *s = np->input[j];
            if (!s || !*s) {
                n->in[j] = -1;
                continue;
            }
            int v = names_find(nm, s);
            if (v < 0) {
                return axl_msgf(msg, AXL_ERR_FORMAT,
                                "%.100s: node '%.150s' (%.60s): input '%.150s' is "
                                "missing (no initializer, graph input or node output has that "
                                "name)",
                                path, n->name, n->op, s);
            }
            n->in[j] = v;
        }
    }
    for (size_t i = 0; i < gp->n_output; i++) {
        const char *s = gp->output[i]->name ? gp->output[i]->name : "";
        int v = names_find(nm, s);
        if (v < 0) {
            return axl_msgf(msg, AXL_ERR_FORMAT,
                            "%.100s: graph output '%.150s' is not computed by any node", path, s);
        }
        g->vals[v].is_output = 1;
        g->outputs[g->nout++] = v;
    }
    if (!g->nout)
        return axl_msgf(msg, AXL_ERR_FORMAT, "%.100s: the graph has no outputs", path);
    return AXL_OK;
}

enum axl_status axl_onnx_read(const char *path, struct axl_graph *g, char *msg)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    struct names nm = {NULL, 0, g};
    enum axl_status st = axl_onnx_read_bytes(path, &buf, &len, msg);
    if (st != AXL_OK)
        return st;
    Onnx__ModelProto *m = len ? onnx__model_proto__unpack(NULL, len, buf) : NULL;
    free(buf);
    if (!m) {
        return axl_msgf(msg, AXL_ERR_FORMAT,
                        "%s: not a valid ONNX model (the protobuf does not parse: "
                        "truncated, or not an ONNX file)",
                        path);
    }
    const Onnx__GraphProto *gp = m->graph;
    if ((st = check_model(path, m, g, msg)) != AXL_OK)
        goto done;
    if (alloc_graph(gp, &nm, g) < 0) {
        st = model_nomem(path, msg);
        goto done;
    }
    if ((st = read_values(path, gp, &nm, g, msg)) != AXL_OK)
        goto done;
    /* node outputs first, so that inputs may refer to later nodes */
    g->nnodes = (int)gp->n_node;
    for (size_t k = 0; k < gp->n_node; k++)
        if ((st = read_node(path, gp->node[k], k, &nm, g, msg)) != AXL_OK)
            goto done;
    st = link_names(path, gp, &nm, g, msg);
done:
    free(nm.slot);
    onnx__model_proto__free_unpacked(m, NULL);
    return st;
}
