/* The graph's structure for tools that rebuild a network from it (graph.h:
 * node inputs, attributes, window geometry): read-only views of the IR. */
#include <string.h>

#include "graph_internal.h"

static const struct gnode *pub_node(const struct axl_graph *g, size_t node)
{
    return node < g->npub ? &g->nodes[g->pub[node]] : NULL;
}

/* what value v is, as an axl_node_input */
static void source_of(const struct axl_graph *g, int v, struct axl_node_input *out)
{
    memset(out, 0, sizeof *out);
    if (v < 0 || v >= g->nvals)
        return;
    const struct gvalue *gv = &g->vals[v];
    if (gv->kind == V_INPUT) {
        out->kind = AXL_SOURCE_INPUT;
        out->index = gv->input_index;
    } else if (gv->kind == V_CONST) {
        out->kind = gv->c.dtype == GDT_F32 ? AXL_SOURCE_CONST : AXL_SOURCE_SHAPE;
        if (out->kind == AXL_SOURCE_CONST) {
            out->value.ndim = gv->c.ndim;
            memcpy(out->value.dims, gv->c.dims, sizeof out->value.dims);
            out->value.data = gv->c.data;
        }
    } else if (gv->producer >= 0 && g->nodes[gv->producer].pub >= 0) {
        const struct gnode *p = &g->nodes[gv->producer];
        out->kind = AXL_SOURCE_NODE;
        out->index = p->pub;
        for (int k = 0; k < p->n_out; k++)
            if (p->out[k] == v)
                out->output = k;
    } else {
        out->kind = AXL_SOURCE_SHAPE; /* made by integer bookkeeping */
    }
}

int axl_graph_node_input_count(const struct axl_graph *g, size_t node)
{
    const struct gnode *n = pub_node(g, node);
    return n ? n->n_in : 0;
}

void axl_graph_node_input(const struct axl_graph *g, size_t node, int i, struct axl_node_input *out)
{
    const struct gnode *n = pub_node(g, node);
    source_of(g, n && i >= 0 && i < n->n_in ? n->in[i] : -1, out);
}

void axl_graph_output_source(const struct axl_graph *g, size_t i, struct axl_node_input *out)
{
    source_of(g, i < (size_t)g->nout ? g->outputs[i] : -1, out);
}

int64_t axl_graph_node_attr_int(const struct axl_graph *g, size_t node, const char *name,
                                int64_t dflt)
{
    const struct gnode *n = pub_node(g, node);
    return n ? ga_int(n, name, dflt) : dflt;
}

float axl_graph_node_attr_float(const struct axl_graph *g, size_t node, const char *name,
                                float dflt)
{
    const struct gnode *n = pub_node(g, node);
    return n ? ga_float(n, name, dflt) : dflt;
}

enum axl_status axl_graph_node_window(const struct axl_graph *g, size_t node,
                                      struct axl_window *w, char *msg)
{
    const struct gnode *n = pub_node(g, node);
    if (!n)
        return axl_msgf(msg, AXL_ERR_INVALID, "no node %zu in %s", node, g->path);
    int conv = !strcmp(n->op, "Conv");
    int pool = !strcmp(n->op, "MaxPool") || !strcmp(n->op, "AveragePool") ||
               !strcmp(n->op, "GlobalAveragePool") || !strcmp(n->op, "GlobalMaxPool");
    if (!conv && !pool)
        return axl_msgf(msg, AXL_ERR_INVALID, "node '%.200s' (%s) has no window", n->name, n->op);
    struct run_ctx c;
    char inner[AXL_MSG_LEN] = "";
    enum axl_status st = axl_graph_shapes(g, 1, &c, msg);
    if (st == AXL_OK) {
        st = conv ? axl_conv_window(&c, n, w, inner) : axl_pool_window(&c, n, w, inner);
        if (st != AXL_OK)
            axl_msgf(msg, st, "node '%.200s' (%s): %s", n->name, n->op, inner);
    }
    axl_run_release(g, &c);
    return st;
}

/* ---- the sample axis ----------------------------------------------------- */

void axl_graph_note_samples(struct axl_graph *g, int64_t (*od2)[AXL_MAX_DIMS], const int *ond2)
{
    g->fixed_batch = g->batch_symbolic ? 0 : -1;
    for (int i = 0; !g->batch_symbolic && i < g->nin; i++) {
        const struct gvalue *v = &g->vals[g->inputs[i]];
        int64_t f = v->ndecl > 0 ? v->decl[0] : -1;
        if (f < 1 || (i > 0 && f != g->fixed_batch)) {
            g->fixed_batch = -1; /* a scalar input, or inputs that disagree */
            break;
        }
        g->fixed_batch = f;
    }
    for (int i = 0; i < g->nout && i < 16; i++) {
        int nd = g->out_ndim[i], ps = nd >= 1;
        if (g->batch_symbolic) {
            ps = ps && ond2[i] == nd && g->out_decl[i][0] == 1 && od2[i][0] == 2;
            for (int d = 1; ps && d < nd; d++)
                ps = g->out_decl[i][d] == od2[i][d];
        } else {
            ps = ps && g->fixed_batch > 0 && g->out_decl[i][0] == g->fixed_batch;
        }
        g->out_per_sample[i] = (uint8_t)ps;
    }
}

int64_t axl_graph_fixed_batch(const struct axl_graph *g) { return g->fixed_batch; }

int axl_graph_output_per_sample(const struct axl_graph *g, size_t i)
{
    return i < 16 && i < (size_t)g->nout ? g->out_per_sample[i] : 0;
}
