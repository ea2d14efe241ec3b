/* Operators that make a larger tensor from a smaller one: Expand, Tile,
 * Pad.  Every output element copies one input element (or Pad's constant),
 * by size, so that float tensors (exec pass) and int64 ones (shape pass)
 * share the code.  The backward adds each output element's gradient into
 * that source element; several outputs share a source (Expand, Tile, edge
 * and reflect Pad), so those loops stay sequential. */
#include <string.h>

#include "autodiff.h"
#include "graph_internal.h"

static enum axl_status expand_shape(struct run_ctx *c, const struct gnode *n, char *msg)
{
    const struct gtensor *x = in_t(c, n, 0), *s = in_t(c, n, 1);
    enum axl_status st = need_data(s, "the shape", msg);
    if (st != AXL_OK)
        return st;
    if (s->ndim != 1 || s->dims[0] > AXL_MAX_DIMS)
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "the shape must be 1-D with at most %d values",
                        AXL_MAX_DIMS);
    struct gtensor t;
    memset(&t, 0, sizeof t);
    t.ndim = (int)s->dims[0];
    for (int i = 0; i < t.ndim; i++)
        t.dims[i] = gt_geti(s, i);
    int64_t d[AXL_MAX_DIMS];
    int r;
    if ((st = bcast_shape(x, &t, &r, d, msg)) != AXL_OK)
        return st;
    return set_out(c, n, 0, x->dtype, r, d, msg);
}

static enum axl_status expand_exec(struct run_ctx *c, const struct gnode *n, char *msg)
{
    (void)msg;
    const struct gtensor *x = in_t(c, n, 0);
    struct gtensor *y = out_t(c, n, 0);
    int64_t st[AXL_MAX_DIMS], cnt = gt_numel(y);
    bcast_strides(x, y->ndim, y->dims, st);
    size_t es = gt_esize(x->dtype);
    for (int64_t o = 0; o < cnt; o++) {
        int64_t rem = o, src = 0;
        for (int d = y->ndim - 1; d >= 0; d--) {
            src += (rem % y->dims[d]) * st[d];
            rem /= y->dims[d];
        }
        memcpy((char *)y->data + (size_t)o * es, (const char *)x->data + (size_t)src * es, es);
    }
    return AXL_OK;
}

/* the sum over the expanded dimensions */
static enum axl_status expand_backward(struct grad_ctx *gc, const struct gnode *n, char *msg)
{
    const struct gtensor *y = out_t(gc->c, n, 0);
    const float *dy = grad_out(gc, n, 0);
    return dy ? grad_in_reduce(gc, n, 0, dy, y->ndim, y->dims, msg) : AXL_OK;
}

static enum axl_status tile_shape(struct run_ctx *c, const struct gnode *n, char *msg)
{
    const struct gtensor *x = in_t(c, n, 0), *rp = in_t(c, n, 1);
    enum axl_status st = need_data(rp, "repeats", msg);
    if (st != AXL_OK)
        return st;
    if (gt_numel(rp) != x->ndim)
        return axl_msgf(msg, AXL_ERR_INVALID, "%lld repeats for rank %d", (long long)gt_numel(rp),
                        x->ndim);
    int64_t d[AXL_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++) {
        int64_t r = gt_geti(rp, i);
        if (r < 0 || gt_mul(x->dims[i], r, &d[i]) || d[i] > GT_MAX_NUMEL)
            return axl_msgf(msg, r < 0 ? AXL_ERR_INVALID : AXL_ERR_UNSUPPORTED,
                            "repeats %lld of axis %d (of %lld values) is negative or gives more "
                            "than %lld values", (long long)r, i, (long long)x->dims[i],
                            (long long)GT_MAX_NUMEL);
    }
    return set_out(c, n, 0, x->dtype, x->ndim, d, msg);
}

static enum axl_status tile_exec(struct run_ctx *c, const struct gnode *n, char *msg)
{
    (void)msg;
    const struct gtensor *x = in_t(c, n, 0);
    struct gtensor *y = out_t(c, n, 0);
    int64_t cnt = gt_numel(y);
    size_t es = gt_esize(x->dtype);
    for (int64_t o = 0; o < cnt; o++) {
        int64_t rem = o, src = 0, mul = 1;
        for (int d = y->ndim - 1; d >= 0; d--) {
            src += ((rem % y->dims[d]) % x->dims[d]) * mul;
            mul *= x->dims[d];
            rem /= y->dims[d];
        }
        memcpy((char *)y->data + (size_t)o * es, (const char *)x->data + (size_t)src * es, es);
    }
    return AXL_OK;
}

/* every copy of an element adds into its gradient */
static enum axl_status tile_backward(struct grad_ctx *gc, const struct gnode *n, char *msg)
{
    const float *dy = grad_out(gc, n, 0);
    float *gx;
    enum axl_status st = grad_in(gc, n, 0, &gx, msg);
    if (!dy || !gx)
        return st;
    const struct gtensor *x = in_t(gc->c, n, 0), *y = out_t(gc->c, n, 0);
    int64_t cnt = gt_numel(y);
    for (int64_t o = 0; o < cnt; o++) {
        int64_t rem = o, src = 0, mul = 1;
        for (int d = y->ndim - 1; d >= 0; d--) {
            src += rem % y->dims[d] % x->dims[d] * mul;
            mul *= x->dims[d];
            rem /= y->dims[d];
        }
        gx[src] += dy[o];
    }
    return AXL_OK;
}

static enum axl_status pad_check(const struct axl_graph *g, const struct gnode *n, char *msg)
{
    const char *m = ga_str(n, "mode", "constant");
    if (strcmp(m, "constant") && strcmp(m, "reflect") && strcmp(m, "edge"))
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED,
                        "mode='%.40s' is not supported (constant, "
                        "reflect, edge)",
                        m);
    if (g->opset >= 11 && (ga_find(n, "pads") || ga_find(n, "value")))
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "pads/value attributes at opset %d (inputs now)",
                        g->opset);
    if (g->opset < 11 && !ga_find(n, "pads"))
        return axl_msgf(msg, AXL_ERR_INVALID, "no pads");
    if (g->opset >= 11 && (n->n_in < 2 || n->in[1] < 0))
        return axl_msgf(msg, AXL_ERR_INVALID, "pads is a required input at opset %d", g->opset);
    return AXL_OK;
}

/* begin and end pads of every axis */
static enum axl_status pad_amounts(struct run_ctx *c, const struct gnode *n, int64_t *pb,
                                   int64_t *pe, char *msg)
{
    const struct gtensor *x = in_t(c, n, 0);
    int r = x->ndim;
    int64_t k;
    const int64_t *v = NULL;
    const struct gtensor *pt = NULL, *at = in_t(c, n, 3);
    enum axl_status st;
    if (c->g->opset < 11) {
        k = ga_ints(n, "pads", &v);
    } else {
        pt = in_t(c, n, 1);
        if ((st = need_data(pt, "pads", msg)) || (st = need_data(at, "axes", msg)))
            return st;
        k = gt_numel(pt);
    }
    int na = at ? (int)gt_numel(at) : r;
    if (na > r || k != 2 * na)
        return axl_msgf(msg, AXL_ERR_INVALID, "%lld pads for %d axes", (long long)k, na);
    for (int i = 0; i < r; i++)
        pb[i] = pe[i] = 0;
    for (int i = 0; i < na; i++) {
        int a = at ? norm_axis(gt_geti(at, i), r, n, msg) : i;
        if (a < 0)
            return AXL_ERR_INVALID;
        pb[a] = v ? v[i] : gt_geti(pt, i);
        pe[a] = v ? v[i + na] : gt_geti(pt, i + na);
        /* bounded so that size + pads and the index arithmetic cannot overflow */
        if (pb[a] < -GT_MAX_NUMEL || pb[a] > GT_MAX_NUMEL || pe[a] < -GT_MAX_NUMEL ||
            pe[a] > GT_MAX_NUMEL)
            return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "pads %lld and %lld of axis %d: beyond "
                            "+-%lld", (long long)pb[a], (long long)pe[a], a,
                            (long long)GT_MAX_NUMEL);
    }
    return AXL_OK;
}

static enum axl_status pad_shape(struct run_ctx *c, const struct gnode *n, char *msg)
{
    const struct gtensor *x = in_t(c, n, 0);
    int64_t pb[AXL_MAX_DIMS], pe[AXL_MAX_DIMS], d[AXL_MAX_DIMS];
    enum axl_status st = pad_amounts(c, n, pb, pe, msg);
    if (st != AXL_OK)
        return st;
    const char *m = ga_str(n, "mode", "constant");
    for (int i = 0; i < x->ndim; i++) {
        d[i] = x->dims[i] + pb[i] + pe[i];
        if (d[i] < 0)
            return axl_msgf(msg, AXL_ERR_INVALID, "pads make axis %d negative", i);
        if (!strcmp(m, "reflect") && (pb[i] >= x->dims[i] || pe[i] >= x->dims[i]))
            return axl_msgf(msg, AXL_ERR_UNSUPPORTED,
                            "reflect pads of axis %d reach past its %lld "
                            "values",
                            i, (long long)x->dims[i]);
        if (strcmp(m, "constant") && x->dims[i] == 0 && d[i] > 0)
            return axl_msgf(msg, AXL_ERR_INVALID, "%s padding of an empty axis", m);
    }
    return set_out(c, n, 0, x->dtype, x->ndim, d, msg);
}

struct pad {
    int64_t pb[AXL_MAX_DIMS], pe[AXL_MAX_DIMS], xs[AXL_MAX_DIMS];
    int mode; /* 0 constant, 1 edge, 2 reflect */
};

static enum axl_status pad_geom(struct run_ctx *c, const struct gnode *n, struct pad *p,
                                char *msg)
{
    const char *m = ga_str(n, "mode", "constant");
    const struct gtensor *x = in_t(c, n, 0);
    p->mode = !strcmp(m, "constant") ? 0 : !strcmp(m, "edge") ? 1 : 2;
    int64_t acc = 1;
    for (int i = x->ndim - 1; i >= 0; i--) {
        p->xs[i] = acc;
        acc *= x->dims[i];
    }
    return pad_amounts(c, n, p->pb, p->pe, msg);
}

/* the input element that output element o copies; -1 for the constant */
static int64_t pad_src(const struct pad *p, const struct gtensor *x, const struct gtensor *y,
                       int64_t o)
{
    int64_t rem = o, src = 0;
    for (int d = y->ndim - 1; d >= 0; d--) {
        int64_t i = rem % y->dims[d] - p->pb[d], dim = x->dims[d];
        rem /= y->dims[d];
        if (i < 0 || i >= dim) {
            if (p->mode == 0)
                return -1;
            i = p->mode == 1 ? (i < 0 ? 0 : dim - 1) : i < 0 ? -i : 2 * (dim - 1) - i;
        }
        src += i * p->xs[d];
    }
    return src;
}

static enum axl_status pad_exec(struct run_ctx *c, const struct gnode *n, char *msg)
{
    const struct gtensor *x = in_t(c, n, 0), *cv = in_t(c, n, 2);
    struct gtensor *y = out_t(c, n, 0);
    int64_t cnt = gt_numel(y);
    struct pad p;
    enum axl_status st = pad_geom(c, n, &p, msg);
    if (st != AXL_OK)
        return st;
    double val = c->g->opset < 11 ? ga_float(n, "value", 0.0f)
               : cv && cv->data && gt_numel(cv) ? gt_getd(cv, 0) : 0.0;
    size_t es = gt_esize(x->dtype);
#pragma omp parallel for schedule(static) if (cnt > 65536)
    for (int64_t o = 0; o < cnt; o++) {
        int64_t src = pad_src(&p, x, y, o);
        char *dst = (char *)y->data + (size_t)o * es;
        if (src >= 0)
            memcpy(dst, (const char *)x->data + (size_t)src * es, es);
        else if (es == 4)
            *(float *)dst = (float)val;
        else
            *(int64_t *)dst = (int64_t)val;
    }
    return AXL_OK;
}

/* constant mode: the gradient of the inside (a slice); edge and reflect:
 * each border element also gathers the gradients of its copies */
static enum axl_status pad_backward(struct grad_ctx *gc, const struct gnode *n, char *msg)
{
    const float *dy = grad_out(gc, n, 0);
    float *gx;
    struct pad p;
    enum axl_status st = grad_in(gc, n, 0, &gx, msg);
    if (!dy || !gx || (st = pad_geom(gc->c, n, &p, msg)) != AXL_OK)
        return st;
    const struct gtensor *x = in_t(gc->c, n, 0), *y = out_t(gc->c, n, 0);
    int64_t cnt = gt_numel(y);
#pragma omp parallel for schedule(static) if (p.mode == 0 && cnt > PAR_MIN)
    for (int64_t o = 0; o < cnt; o++) {
        int64_t src = pad_src(&p, x, y, o);
        if (src >= 0)
            gx[src] += dy[o];
    }
    return AXL_OK;
}

#define PAD_OP(name, attrs, mi, ma, check, shape, exec, bw, nodiff) \
    {name, attrs, mi, ma, 1, 1, 0, 0, check, shape, exec, bw, nodiff}
const struct op_def axl_ops_pad[] = {
    /* the shape (input 1) and the repeats carry no gradient */
    PAD_OP("Expand", "", 2, 2, NULL, expand_shape, expand_exec, expand_backward, 1u << 1),
    PAD_OP("Tile", "", 2, 2, NULL, tile_shape, tile_exec, tile_backward, 1u << 1),
    /* nor pads, constant_value, axes */
    PAD_OP("Pad", "mode,pads,value", 1, 4, pad_check, pad_shape, pad_exec, pad_backward,
           0x7u << 1),
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};
