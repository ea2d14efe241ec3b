/* Operators that move data: Transpose, Concat, Split, Slice, Gather, Expand,
 * Tile, Pad.  Element copies by size, so that float tensors (exec pass) and
 * int64 ones (shape pass) share the code. */
#include <stdlib.h>
#include <string.h>

#include "graph_internal.h"

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

static enum axl_status transpose_exec(struct run_ctx *c, const struct gnode *n, char *msg)
{
    (void)msg;
    const struct gtensor *x = in_t(c, n, 0);
    struct gtensor *y = out_t(c, n, 0);
    int r = x->ndim;
    int64_t p[AXL_MAX_DIMS], xs[AXL_MAX_DIMS], s[AXL_MAX_DIMS], cnt = gt_numel(x);
    get_perm(n, r, p);
    int64_t acc = 1;
    for (int i = r - 1; i >= 0; i--) {
        xs[i] = acc;
        acc *= x->dims[i];
    }
    for (int i = 0; i < r; i++)
        s[i] = xs[p[i]];
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
    int64_t xs[AXL_MAX_DIMS], acc = 1, cnt = gt_numel(y);
    for (int i = r - 1; i >= 0; i--) {
        xs[i] = acc;
        acc *= x->dims[i];
    }
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

/* ---- Expand, Tile, Pad: every output element from a source index ------------------------- */
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

static enum axl_status pad_exec(struct run_ctx *c, const struct gnode *n, char *msg)
{
    const struct gtensor *x = in_t(c, n, 0), *cv = in_t(c, n, 2);
    struct gtensor *y = out_t(c, n, 0);
    int64_t pb[AXL_MAX_DIMS], pe[AXL_MAX_DIMS], xs[AXL_MAX_DIMS], acc = 1, cnt = gt_numel(y);
    enum axl_status st = pad_amounts(c, n, pb, pe, msg);
    if (st != AXL_OK)
        return st;
    int r = x->ndim, mode = !strcmp(ga_str(n, "mode", "constant"), "constant") ? 0
                          : !strcmp(ga_str(n, "mode", "constant"), "edge") ? 1 : 2;
    for (int i = r - 1; i >= 0; i--) {
        xs[i] = acc;
        acc *= x->dims[i];
    }
    double val = c->g->opset < 11 ? ga_float(n, "value", 0.0f)
               : cv && cv->data && gt_numel(cv) ? gt_getd(cv, 0) : 0.0;
    size_t es = gt_esize(x->dtype);
#pragma omp parallel for schedule(static) if (cnt > 65536)
    for (int64_t o = 0; o < cnt; o++) {
        int64_t rem = o, src = 0;
        int outside = 0;
        for (int d = r - 1; d >= 0; d--) {
            int64_t i = rem % y->dims[d] - pb[d], dim = x->dims[d];
            rem /= y->dims[d];
            if (i < 0 || i >= dim) {
                if (mode == 0)
                    outside = 1;
                else if (mode == 1)
                    i = i < 0 ? 0 : dim - 1;
                else
                    i = i < 0 ? -i : 2 * (dim - 1) - i;
            }
            src += i * xs[d];
        }
        char *dst = (char *)y->data + (size_t)o * es;
        if (!outside)
            memcpy(dst, (const char *)x->data + (size_t)src * es, es);
        else if (es == 4)
            *(float *)dst = (float)val;
        else
            *(int64_t *)dst = (int64_t)val;
    }
    return AXL_OK;
}

#define MOVE(name, attrs, mi, ma, check, shape, exec) {name, attrs, mi, ma, 1, 1, 0, 0, check, \
                                                       shape, exec, NULL, 0}
const struct op_def axl_ops_move[] = {
    MOVE("Transpose", "perm", 1, 1, NULL, transpose_shape, transpose_exec),
    MOVE("Concat", "axis", 1, 1 << 20, NULL, concat_shape, concat_exec),
    {"Split", "axis,split,num_outputs", 1, 2, 1, 1 << 20, 0, 0, split_check, split_shape,
     split_exec, NULL, 0},
    MOVE("Slice", "starts,ends,axes", 1, 5, slice_check, slice_shape, slice_exec),
    MOVE("Gather", "axis", 2, 2, NULL, gather_shape, gather_exec),
    MOVE("Expand", "", 2, 2, NULL, expand_shape, expand_exec),
    MOVE("Tile", "", 2, 2, NULL, tile_shape, tile_exec),
    MOVE("Pad", "mode,pads,value", 1, 4, pad_check, pad_shape, pad_exec),
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};
