/* Operators that move data: Transpose, Concat, Split, Slice, Gather
 * (Expand, Tile and Pad are in emu/net/ops_pad.c).  Element copies by size,
 * so that float tensors (exec pass) and int64 ones (shape pass) share the
 * code.  The backward sends each output element's gradient back to the
 * element it was copied from; Gather's adds where indices repeat and stays
 * sequential, the one-to-one ones may use threads. */
#include <stdlib.h>
#include <string.h>

#include "autodiff.h"
#include "graph_internal.h"

/* row-major strides (element units) of t */
static void row_strides(const struct gtensor *t, int64_t *s)
{
    int64_t acc = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        s[i] = acc;
        acc *= t->dims[i];
    }
}

/* The gradient of output 0 and the buffer of input 0's; both NULL when
 * there is nothing to do (the output has no gradient or the input wants none). */
static enum axl_status bw_io0(struct grad_ctx *gc, const struct gnode *n, const float **dy,
                              float **gx, char *msg)
{
    *dy = grad_out(gc, n, 0);
    *gx = NULL;
    enum axl_status st = *dy ? grad_in(gc, n, 0, gx, msg) : AXL_OK;
    if (!*gx)
        *dy = NULL;
    return st;
}

/* ---- Transpose --------------------------------------------------------------------------- */
static int get_perm(const struct gnode *n, int r, int64_t *p)
{
    const int64_t *v;
    int64_t k = ga_ints(n, "perm", &v);
    if (k < 0) {
        for (int i = 0; i < r; i++)
            p[i] = r - 1 - i;
        return 1;
    }
    if (k != r)
        return 0;
    unsigned seen = 0;
    for (int i = 0; i < r; i++) {
        if (v[i] < 0 || v[i] >= r || (seen >> v[i] & 1))
            return 0;
        seen |= 1u << v[i];
        p[i] = v[i];
    }
    return 1;
}

static enum axl_status transpose_shape(struct run_ctx *c, const struct gnode *n, char *msg)
{
    const struct gtensor *x = in_t(c, n, 0);
    int64_t p[AXL_MAX_DIMS], d[AXL_MAX_DIMS];
    if (!get_perm(n, x->ndim, p))
        return axl_msgf(msg, AXL_ERR_INVALID, "perm is not a permutation of %d axes", x->ndim);
    for (int i = 0; i < x->ndim; i++)
        d[i] = x->dims[p[i]];
    return set_out(c, n, 0, x->dtype, x->ndim, d, msg);
}

/* s[i]: the input stride along output axis i */
static void transpose_strides(const struct gnode *n, const struct gtensor *x, int64_t *s)
{
    int64_t p[AXL_MAX_DIMS], xs[AXL_MAX_DIMS];
    get_perm(n, x->ndim, p);
    row_strides(x, xs);
    for (int i = 0; i < x->ndim; i++)
        s[i] = xs[p[i]];
}

static enum axl_status transpose_exec(struct run_ctx *c, const struct gnode *n, char *msg)
{
    (void)msg;
    const struct gtensor *x = in_t(c, n, 0);
    struct gtensor *y = out_t(c, n, 0);
    int r = x->ndim;
    int64_t s[AXL_MAX_DIMS], cnt = gt_numel(x);
    transpose_strides(n, x, s);
    size_t es = gt_esize(x->dtype);
    int64_t inner = r ? y->dims[r - 1] : 1, is = r ? s[r - 1] : 0;
    int64_t outer = inner ? cnt / inner : 0;
#pragma omp parallel for schedule(static) if (cnt > 65536)
    for (int64_t o = 0; o < outer; o++) {
        int64_t rem = o, src = 0;
        for (int d = r - 2; d >= 0; d--) {
            src += (rem % y->dims[d]) * s[d];
            rem /= y->dims[d];
        }
        if (es == 4) {
            const float *xf = x->data;
            float *yf = (float *)y->data + o * inner;
            for (int64_t i = 0; i < inner; i++)
                yf[i] = xf[src + i * is];
        } else {
            const int64_t *xi = x->data;
            int64_t *yi = (int64_t *)y->data + o * inner;
            for (int64_t i = 0; i < inner; i++)
                yi[i] = xi[src + i * is];
        }
    }
    return AXL_OK;
}

static enum axl_status transpose_backward(struct grad_ctx *gc, const struct gnode *n, char *msg)
{
    const float *dy;
    float *gx;
    enum axl_status st = bw_io0(gc, n, &dy, &gx, msg);
    if (!dy)
        return st;
    const struct gtensor *x = in_t(gc->c, n, 0), *y = out_t(gc->c, n, 0);
    int64_t s[AXL_MAX_DIMS], cnt = gt_numel(y);
    int r = y->ndim;
    transpose_strides(n, x, s);
    /* a permutation: no two outputs add into one input element */
#pragma omp parallel for schedule(static) if (cnt > PAR_MIN)
    for (int64_t o = 0; o < cnt; o++) {
        int64_t rem = o, src = 0;
        for (int d = r - 1; d >= 0; d--) {
            src += rem % y->dims[d] * s[d];
            rem /= y->dims[d];
        }
        gx[src] += dy[o];
    }
    return AXL_OK;
}

/* ---- Concat, Split ------------------------------------------------------------------------- */
static enum axl_status concat_shape(struct run_ctx *c, const struct gnode *n, char *msg)
{
    const struct gtensor *x0 = in_t(c, n, 0);
    int ax = norm_axis(ga_int(n, "axis", 0), x0->ndim, n, msg);
    if (ax < 0)
        return AXL_ERR_INVALID;
    if (!ga_find(n, "axis"))
        return axl_msgf(msg, AXL_ERR_INVALID, "no axis attribute");
    int64_t d[AXL_MAX_DIMS];
    memcpy(d, x0->dims, sizeof d);
    d[ax] = 0;
    for (int i = 0; i < n->n_in; i++) {
        const struct gtensor *x = in_t(c, n, i);
        if (!x)
            continue;
        if (x->ndim != x0->ndim || x->dtype != x0->dtype)
            return axl_msgf(msg, AXL_ERR_INVALID, "input %d has another rank or element type", i);
        for (int k = 0; k < x->ndim; k++)
            if (k != ax && x->dims[k] != x0->dims[k])
                return axl_msgf(msg, AXL_ERR_INVALID,
                                "input %d: dimension %d is %lld, input 0 has "
                                "%lld",
                                i, k, (long long)x->dims[k], (long long)x0->dims[k]);
        d[ax] += x->dims[ax];
    }
    return set_out(c, n, 0, x0->dtype, x0->ndim, d, msg);
}

static enum axl_status concat_exec(struct run_ctx *c, const struct gnode *n, char *msg)
{
    struct gtensor *y = out_t(c, n, 0);
    int ax = norm_axis(ga_int(n, "axis", 0), y->ndim, n, msg);
    int64_t outer = 1, inner = 1, off = 0;
    for (int k = 0; k < ax; k++)
        outer *= y->dims[k];
    for (int k = ax + 1; k < y->ndim; k++)
        inner *= y->dims[k];
    size_t es = gt_esize(y->dtype);
    for (int i = 0; i < n->n_in; i++) {
        const struct gtensor *x = in_t(c, n, i);
        if (!x)
            continue;
        size_t blk = (size_t)(x->dims[ax] * inner) * es;
        for (int64_t o = 0; o < outer; o++)
            memcpy((char *)y->data + ((size_t)(o * y->dims[ax] + off) * (size_t)inner) * es,
                   (const char *)x->data + (size_t)o * blk, blk);
        off += x->dims[ax];
    }
    return AXL_OK;
}

static enum axl_status split_check(const struct axl_graph *g, const struct gnode *n, char *msg)
{
    if (g->opset >= 13 && ga_find(n, "split"))
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "split attribute at opset %d (an input now)",
                        g->opset);
    return AXL_OK;
}

static enum axl_status split_sizes(struct run_ctx *c, const struct gnode *n, int ax, int64_t *sz,
                                   char *msg)
{
    const struct gtensor *x = in_t(c, n, 0), *s = in_t(c, n, 1);
    const int64_t *v = NULL;
    int64_t k = c->g->opset >= 13 ? (s ? gt_numel(s) : -1) : ga_ints(n, "split", &v);
    if (s && need_data(s, "split", msg) != AXL_OK)
        return AXL_ERR_UNSUPPORTED;
    int64_t dim = x->dims[ax], tot = 0;
    if (k >= 0) {
        if (k != n->n_out)
            return axl_msgf(msg, AXL_ERR_INVALID, "%lld split sizes for %d outputs", (long long)k,
                            n->n_out);
        for (int i = 0; i < n->n_out; i++) {
            sz[i] = v ? v[i] : gt_geti(s, i);
            if (sz[i] < 0 || gt_add(tot, sz[i], &tot))
                return axl_msgf(msg, AXL_ERR_INVALID, "split size %lld", (long long)sz[i]);
        }
        if (tot != dim)
            return axl_msgf(msg, AXL_ERR_INVALID, "split sizes add to %lld, the axis has %lld",
                            (long long)tot, (long long)dim);
        return AXL_OK;
    }
    int64_t each = (dim + n->n_out - 1) / n->n_out;
    if (!ga_find(n, "num_outputs") && dim % n->n_out)
        return axl_msgf(msg, AXL_ERR_INVALID, "axis of %lld does not split evenly into %d",
                        (long long)dim, n->n_out);
    for (int i = 0; i < n->n_out; i++) {
        sz[i] = dim - tot < each ? dim - tot : each;
        tot += sz[i];
    }
    return AXL_OK;
}

static enum axl_status split_shape(struct run_ctx *c, const struct gnode *n, char *msg)
{
    const struct gtensor *x = in_t(c, n, 0);
    int ax = norm_axis(ga_int(n, "axis", 0), x->ndim, n, msg);
    if (ax < 0)
        return AXL_ERR_INVALID;
    int64_t *sz = malloc((size_t)n->n_out * sizeof *sz), d[AXL_MAX_DIMS];
    if (!sz)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    enum axl_status st = split_sizes(c, n, ax, sz, msg);
    memcpy(d, x->dims, sizeof d);
    for (int i = 0; i < n->n_out && st == AXL_OK; i++) {
        d[ax] = sz[i];
        st = set_out(c, n, i, x->dtype, x->ndim, d, msg);
    }
    free(sz);
    return st;
}

static enum axl_status split_exec(struct run_ctx *c, const struct gnode *n, char *msg)
{
    (void)msg;
    const struct gtensor *x = in_t(c, n, 0);
    int ax = norm_axis(ga_int(n, "axis", 0), x->ndim, n, msg);
    int64_t outer = 1, inner = 1, off = 0;
    for (int k = 0; k < ax; k++)
        outer *= x->dims[k];
    for (int k = ax + 1; k < x->ndim; k++)
        inner *= x->dims[k];
    size_t es = gt_esize(x->dtype);
    for (int i = 0; i < n->n_out; i++) {
        struct gtensor *y = out_t(c, n, i);
        if (!y)
            continue;
        int64_t len = y->dims[ax];
        size_t blk = (size_t)(len * inner) * es;
        if (y->data)
            for (int64_t o = 0; o < outer; o++)
                memcpy((char *)y->data + (size_t)o * blk,
                       (const char *)x->data + ((size_t)(o * x->dims[ax] + off) * (size_t)inner) * es,
                       blk);
        off += len;
    }
    return AXL_OK;
}

/* outer and inner sizes around axis ax of t */
static void around_axis(const struct gtensor *t, int ax, int64_t *outer, int64_t *inner)
{
    *outer = *inner = 1;
    for (int k = 0; k < ax; k++)
        *outer *= t->dims[k];
    for (int k = ax + 1; k < t->ndim; k++)
        *inner *= t->dims[k];
}

/* Concat's and Split's gradients: the whole tensor w (Concat's output,
 * Split's input) is cut along ax into the parts (Concat's inputs, Split's
 * outputs); gradient flows from w's part to each piece (to_part) or back */
static void part_add(const struct gtensor *w, int ax, int64_t off, int64_t len, float *dst,
                     const float *src, int to_part)
{
    int64_t outer, inner;
    around_axis(w, ax, &outer, &inner);
    for (int64_t o = 0; o < outer; o++) {
        int64_t pw = (o * w->dims[ax] + off) * inner, pp = o * len * inner;
        for (int64_t k = 0; k < len * inner; k++) {
            if (to_part)
                dst[pp + k] += src[pw + k];
            else
                dst[pw + k] += src[pp + k];
        }
    }
}

static enum axl_status concat_backward(struct grad_ctx *gc, const struct gnode *n, char *msg)
{
    const struct gtensor *y = out_t(gc->c, n, 0);
    const float *dy = grad_out(gc, n, 0);
    int ax = norm_axis(ga_int(n, "axis", 0), y->ndim, n, msg);
    enum axl_status st = AXL_OK;
    int64_t off = 0;
    for (int i = 0; i < n->n_in && dy && st == AXL_OK; i++) {
        const struct gtensor *x = in_t(gc->c, n, i);
        float *gx;
        if (!x)
            continue;
        /* an input given twice (Concat(a, a)) gets both parts, added */
        if ((st = grad_in(gc, n, i, &gx, msg)) == AXL_OK && gx)
            part_add(y, ax, off, x->dims[ax], gx, dy, 1);
        off += x->dims[ax];
    }
    return st;
}

static enum axl_status split_backward(struct grad_ctx *gc, const struct gnode *n, char *msg)
{
    const struct gtensor *x = in_t(gc->c, n, 0);
    int ax = norm_axis(ga_int(n, "axis", 0), x->ndim, n, msg);
    float *gx;
    enum axl_status st = grad_in(gc, n, 0, &gx, msg);
    int64_t off = 0;
    for (int i = 0; i < n->n_out && gx && st == AXL_OK; i++) {
        const struct gtensor *y = out_t(gc->c, n, i);
        const float *dy = grad_out(gc, n, i);
        if (!y)
            continue;
        if (dy) /* an output nothing used: its part of the gradient is zero */
            part_add(x, ax, off, y->dims[ax], gx, dy, 0);
        off += y->dims[ax];
    }
    return st;
}

/* ---- Slice ---------------------------------------------------------------------------------- */
static enum axl_status slice_check(const struct axl_graph *g, const struct gnode *n, char *msg)
{
    int nin = n->n_in;
    while (nin > 0 && n->in[nin - 1] < 0)
        nin--;
    if (g->opset >= 10 && (nin < 3 || n->in[1] < 0 || n->in[2] < 0))
        return axl_msgf(msg, AXL_ERR_INVALID, "starts and ends are required inputs at opset %d",
                        g->opset);
    if (g->opset < 10 && (!ga_find(n, "starts") || !ga_find(n, "ends")))
        return axl_msgf(msg, AXL_ERR_INVALID, "no starts or ends attribute");
    return AXL_OK;
}

struct slice {
    int64_t start[AXL_MAX_DIMS], step[AXL_MAX_DIMS], len[AXL_MAX_DIMS];
};

static enum axl_status slice_geom(struct run_ctx *c, const struct gnode *n, struct slice *sl,
                                  char *msg)
{
    const struct gtensor *x = in_t(c, n, 0);
    int r = x->ndim, old = c->g->opset < 10;
    const struct gtensor *ts = in_t(c, n, 1), *te = in_t(c, n, 2), *ta = in_t(c, n, 3),
                         *tp = in_t(c, n, 4);
    const int64_t *as = NULL, *ae = NULL, *aa = NULL;
    int64_t k, ka = -1;
    enum axl_status st;
    if (old) {
        k = ga_ints(n, "starts", &as);
        if (ga_ints(n, "ends", &ae) != k || k < 0)
            return axl_msgf(msg, AXL_ERR_INVALID, "starts and ends differ in length");
        ka = ga_ints(n, "axes", &aa);
    } else {
        if ((st = need_data(ts, "starts", msg)) || (st = need_data(te, "ends", msg)) ||
            (st = need_data(ta, "axes", msg)) || (st = need_data(tp, "steps", msg)))
            return st;
        k = gt_numel(ts);
        if (gt_numel(te) != k)
            return axl_msgf(msg, AXL_ERR_INVALID, "starts and ends differ in length");
        ka = ta ? gt_numel(ta) : -1;
        if (tp && gt_numel(tp) != k)
            return axl_msgf(msg, AXL_ERR_INVALID, "steps and starts differ in length");
    }
    if (ka >= 0 && ka != k)
        return axl_msgf(msg, AXL_ERR_INVALID, "axes and starts differ in length");
    for (int i = 0; i < r; i++) {
        sl->start[i] = 0;
        sl->step[i] = 1;
        sl->len[i] = x->dims[i];
    }
    unsigned seen = 0;
    for (int64_t i = 0; i < k; i++) {
        int a = norm_axis(ka < 0 ? i : old ? aa[i] : gt_geti(ta, i), r, n, msg);
        if (a < 0)
            return AXL_ERR_INVALID;
        if (seen >> a & 1)
            return axl_msgf(msg, AXL_ERR_INVALID, "axis %d repeated", a);
        seen |= 1u << a;
        int64_t dim = x->dims[a];
        int64_t s = old ? as[i] : gt_geti(ts, i), e = old ? ae[i] : gt_geti(te, i);
        int64_t p = tp ? gt_geti(tp, i) : 1;
        if (p == 0)
            return axl_msgf(msg, AXL_ERR_INVALID, "step 0 on axis %d", a);
        if (s < 0)
            s = s < -dim ? 0 : s + dim;
        if (e < 0)
            e = e < -dim ? -1 : e + dim; /* -1: before the start, for negative steps */
        /* ceil(span / |step|) as (span - 1) / |step| + 1: no sum with the step, which
         * may be as large as INT64_MAX (or as small as INT64_MIN) */
        if (p > 0) {
            s = s > dim ? dim : s;
            e = e < 0 ? 0 : e > dim ? dim : e;
            sl->len[a] = e > s ? (e - s - 1) / p + 1 : 0;
        } else {
            s = s > dim - 1 ? dim - 1 : s;
            e = e > dim - 1 ? dim - 1 : e;
            sl->len[a] = s > e ? (p == INT64_MIN ? 0 : (s - e - 1) / -p) + 1 : 0;
        }
        sl->start[a] = s;
        sl->step[a] = p;
    }
    return AXL_OK;
}

static enum axl_status slice_shape(struct run_ctx *c, const struct gnode *n, char *msg)
{
    const struct gtensor *x = in_t(c, n, 0);
    struct slice sl;
    enum axl_status st = slice_geom(c, n, &sl, msg);
    return st != AXL_OK ? st : set_out(c, n, 0, x->dtype, x->ndim, sl.len, msg);
}

static enum axl_status slice_exec(struct run_ctx *c, const struct gnode *n, char *msg)
{
    const struct gtensor *x = in_t(c, n, 0);
    struct gtensor *y = out_t(c, n, 0);
    struct slice sl;
    enum axl_status st = slice_geom(c, n, &sl, msg);
    if (st != AXL_OK)
        return st;
    int r = x->ndim;
    int64_t xs[AXL_MAX_DIMS], cnt = gt_numel(y);
    row_strides(x, xs);
    size_t es = gt_esize(x->dtype);
    for (int64_t o = 0; o < cnt; o++) {
        int64_t rem = o, src = 0;
        for (int d = r - 1; d >= 0; d--) {
            src += (sl.start[d] + (rem % y->dims[d]) * sl.step[d]) * xs[d];
            rem /= y->dims[d];
        }
        memcpy((char *)y->data + (size_t)o * es, (const char *)x->data + (size_t)src * es, es);
    }
    return AXL_OK;
}

static enum axl_status slice_backward(struct grad_ctx *gc, const struct gnode *n, char *msg)
{
    const float *dy;
    float *gx;
    struct slice sl;
    enum axl_status st = bw_io0(gc, n, &dy, &gx, msg);
    if (!dy || (st = slice_geom(gc->c, n, &sl, msg)) != AXL_OK)
        return st;
    const struct gtensor *x = in_t(gc->c, n, 0), *y = out_t(gc->c, n, 0);
    int64_t xs[AXL_MAX_DIMS], cnt = gt_numel(y);
    int r = x->ndim;
    row_strides(x, xs);
    /* distinct outputs read distinct elements (a step is never 0) */
#pragma omp parallel for schedule(static) if (cnt > PAR_MIN)
    for (int64_t o = 0; o < cnt; o++) {
        int64_t rem = o, src = 0;
        for (int d = r - 1; d >= 0; d--) {
            src += (sl.start[d] + rem % y->dims[d] * sl.step[d]) * xs[d];
            rem /= y->dims[d];
        }
        gx[src] += dy[o];
    }
    return AXL_OK;
}

/* ---- Gather ----------------------------------------------------------------------------------- */
static enum axl_status gather_shape(struct run_ctx *c, const struct gnode *n, char *msg)
{
    const struct gtensor *x = in_t(c, n, 0), *ix = in_t(c, n, 1);
    if (x->ndim < 1)
        return axl_msgf(msg, AXL_ERR_INVALID, "data is a scalar (Gather needs rank 1 or more)");
    int ax = norm_axis(ga_int(n, "axis", 0), x->ndim, n, msg);
    if (ax < 0)
        return AXL_ERR_INVALID;
    if (ix->dtype != GDT_I64)
        return axl_msgf(msg, AXL_ERR_INVALID, "indices are not integers");
    int r = x->ndim - 1 + ix->ndim;
    if (r > AXL_MAX_DIMS)
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "rank %d exceeds %d", r, AXL_MAX_DIMS);
    int64_t d[AXL_MAX_DIMS];
    int k = 0;
    for (int i = 0; i < ax; i++)
        d[k++] = x->dims[i];
    for (int i = 0; i < ix->ndim; i++)
        d[k++] = ix->dims[i];
    for (int i = ax + 1; i < x->ndim; i++)
        d[k++] = x->dims[i];
    return set_out(c, n, 0, x->dtype, r, d, msg);
}

static enum axl_status gather_exec(struct run_ctx *c, const struct gnode *n, char *msg)
{
    const struct gtensor *x = in_t(c, n, 0), *ix = in_t(c, n, 1);
    struct gtensor *y = out_t(c, n, 0);
    int ax = norm_axis(ga_int(n, "axis", 0), x->ndim, n, msg);
    int64_t outer = 1, inner = 1, ni = gt_numel(ix), dim = x->dims[ax];
    for (int i = 0; i < ax; i++)
        outer *= x->dims[i];
    for (int i = ax + 1; i < x->ndim; i++)
        inner *= x->dims[i];
    size_t es = gt_esize(x->dtype), blk = (size_t)inner * es;
    for (int64_t j = 0; j < ni; j++) {
        int64_t id = gt_geti(ix, j);
        if (id < -dim || id >= dim)
            return axl_msgf(msg, AXL_ERR_INVALID,
                            "index %lld is out of range for a dimension of "
                            "%lld",
                            (long long)id, (long long)dim);
    }
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < ni; j++) {
            int64_t id = gt_geti(ix, j);
            id = id < 0 ? id + dim : id;
            memcpy((char *)y->data + (size_t)(o * ni + j) * blk,
                   (const char *)x->data + (size_t)(o * dim + id) * blk, blk);
        }
    return AXL_OK;
}

/* scatter-add: an index given several times gathers all its outputs' gradients */
static enum axl_status gather_backward(struct grad_ctx *gc, const struct gnode *n, char *msg)
{
    const float *dy;
    float *gx;
    enum axl_status st = bw_io0(gc, n, &dy, &gx, msg);
    if (!dy)
        return st;
    const struct gtensor *x = in_t(gc->c, n, 0), *ix = in_t(gc->c, n, 1);
    int ax = norm_axis(ga_int(n, "axis", 0), x->ndim, n, msg);
    int64_t outer, inner, ni = gt_numel(ix), dim = x->dims[ax];
    around_axis(x, ax, &outer, &inner);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < ni; j++) {
            int64_t id = gt_geti(ix, j); /* in range: the forward checked */
            float *g = gx + (o * dim + (id < 0 ? id + dim : id)) * inner;
            const float *d = dy + (o * ni + j) * inner;
            for (int64_t k = 0; k < inner; k++)
                g[k] += d[k];
        }
    return AXL_OK;
}

#define MOVE(name, attrs, mi, ma, check, shape, exec, bw, nodiff) \
    {name, attrs, mi, ma, 1, 1, 0, 0, check, shape, exec, bw, nodiff}
const struct op_def axl_ops_move[] = {
    MOVE("Transpose", "perm", 1, 1, NULL, transpose_shape, transpose_exec, transpose_backward, 0),
    MOVE("Concat", "axis", 1, 1 << 20, NULL, concat_shape, concat_exec, concat_backward, 0),
    /* split sizes (input 1) */
    {"Split", "axis,split,num_outputs", 1, 2, 1, 1 << 20, 0, 0, split_check, split_shape,
     split_exec, split_backward, 1u << 1},
    /* starts, ends, axes, steps */
    MOVE("Slice", "starts,ends,axes", 1, 5, slice_check, slice_shape, slice_exec, slice_backward,
         0xfu << 1),
    MOVE("Gather", "axis", 2, 2, NULL, gather_shape, gather_exec, gather_backward, 1u << 1),
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};
