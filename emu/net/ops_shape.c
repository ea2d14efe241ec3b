/* Operators that compute shapes or only reshape: Shape, Cast, constants,
 * Range, Reshape and friends.  Like those of emu/ops_move.c they work on
 * float and int64 tensors alike, so the same code serves the exec pass and
 * the shape pass's integer bookkeeping. */
#include <limits.h>
#include <string.h>

#include "autodiff.h"
#include "axlut/format.h"
#include "graph_internal.h"

static enum axl_status copy_in0(struct run_ctx *c, const struct gnode *n, char *msg)
{
    (void)msg;
    const struct gtensor *x = in_t(c, n, 0);
    struct gtensor *y = out_t(c, n, 0);
    if (y && y->data != x->data)
        memcpy(y->data, x->data, (size_t)gt_numel(x) * gt_esize(x->dtype));
    struct gtensor *mask = out_t(c, n, 1); /* Dropout's mask: all kept */
    if (mask && mask->data)
        for (int64_t i = 0; i < gt_numel(mask); i++)
            ((int64_t *)mask->data)[i] = 1;
    return AXL_OK;
}

/* The backward of a copy (Identity, Reshape, Flatten, Squeeze, Unsqueeze,
 * Cast to float, Dropout outside training): the gradient, reshaped. */
static enum axl_status copy_backward(struct grad_ctx *gc, const struct gnode *n, char *msg)
{
    const struct gtensor *y = out_t(gc->c, n, 0);
    const float *dy = grad_out(gc, n, 0);
    float *gx;
    enum axl_status st = grad_in(gc, n, 0, &gx, msg);
    if (!dy || !gx || y->dtype != GDT_F32)
        return st; /* an integer result (Cast to int) carries no gradient */
    int64_t cnt = gt_numel(y);
#pragma omp parallel for schedule(static) if (cnt > PAR_MIN)
    for (int64_t i = 0; i < cnt; i++)
        gx[i] += dy[i];
    return AXL_OK;
}

/* Dropout's training_mode input (opset 12 on) and is_test attribute (before
 * opset 7) are not read: axl_run_opts.train decides, for the whole graph,
 * whether a run is a training one. */
static enum axl_status ident_shape(struct run_ctx *c, const struct gnode *n, char *msg)
{
    const struct gtensor *x = in_t(c, n, 0);
    enum axl_status st = set_out(c, n, 0, x->dtype, x->ndim, x->dims, msg);
    if (st == AXL_OK && !strcmp(n->op, "Dropout"))
        st = set_out(c, n, 1, GDT_I64, x->ndim, x->dims, msg);
    return st;
}

/* ---- Dropout in training ------------------------------------------------------------- */
/* The drop probability: the ratio attribute before opset 12, input 1 from
 * then on; 0.5 when absent. */
static enum axl_status dropout_ratio(struct run_ctx *c, const struct gnode *n, float *r,
                                     char *msg)
{
    const struct gtensor *t = in_t(c, n, 1);
    *r = 0.5f;
    if (c->g->opset < 12)
        *r = ga_float(n, "ratio", 0.5f);
    else if (t && (!t->data || gt_numel(t) != 1))
        return axl_msgf(msg, AXL_ERR_INVALID, "ratio is not one known value");
    else if (t)
        *r = (float)gt_getd(t, 0);
    if (!(*r >= 0.0f && *r <= 1.0f))
        return axl_msgf(msg, AXL_ERR_INVALID, "ratio %g is outside [0, 1]", (double)*r);
    return AXL_OK;
}

/* Kept elements are scaled by 1/(1 - ratio) as one float32 factor, as
 * PyTorch does (its mask holds that factor); ratio 1 drops everything. */
static float dropout_scale(float ratio)
{
    return ratio < 1.0f ? 1.0f / (1.0f - ratio) : 0.0f;
}

/* Outside training the identity (bit for bit as before); in training each
 * element is kept when dropout_keep says so, from the run's seed. */
static enum axl_status dropout_exec(struct run_ctx *c, const struct gnode *n, char *msg)
{
    const struct gtensor *x = in_t(c, n, 0);
    struct gtensor *y = out_t(c, n, 0), *mt = out_t(c, n, 1);
    float ratio;
    if (!c->train || x->dtype != GDT_F32)
        return copy_in0(c, n, msg);
    enum axl_status st = dropout_ratio(c, n, &ratio, msg);
    if (st != AXL_OK)
        return st;
    const float *xf = x->data, scale = dropout_scale(ratio);
    float *yf = y ? y->data : NULL;
    int64_t *m = mt ? mt->data : NULL, cnt = gt_numel(x);
#pragma omp parallel for schedule(static) if (cnt > PAR_MIN)
    for (int64_t i = 0; i < cnt; i++) {
        int keep = dropout_keep(c->seed, n, i, ratio);
        if (yf)
            yf[i] = keep ? xf[i] * scale : 0.0f;
        if (m)
            m[i] = keep;
    }
    return AXL_OK;
}

/* the forward's mask, drawn again from the same seed, times the scale */
static enum axl_status dropout_backward(struct grad_ctx *gc, const struct gnode *n, char *msg)
{
    struct run_ctx *c = gc->c;
    if (!c->train)
        return copy_backward(gc, n, msg);
    const float *dy = grad_out(gc, n, 0);
    float *gx, ratio;
    enum axl_status st = grad_in(gc, n, 0, &gx, msg);
    if (!dy || !gx || (st = dropout_ratio(c, n, &ratio, msg)) != AXL_OK)
        return st;
    const float scale = dropout_scale(ratio);
    int64_t cnt = gt_numel(in_t(c, n, 0));
#pragma omp parallel for schedule(static) if (cnt > PAR_MIN)
    for (int64_t i = 0; i < cnt; i++)
        if (dropout_keep(c->seed, n, i, ratio))
            gx[i] += dy[i] * scale;
    return AXL_OK;
}

/* ---- Cast ------------------------------------------------------------------------------ */
static int cast_target(int64_t to)
{
    switch (to) {
    case 1: case 11: case 10: return GDT_F32;              /* FLOAT, DOUBLE, FLOAT16 */
    case 2: case 3: case 4: case 5: case 6: case 7: case 9: case 12: case 13: return GDT_I64;
    default: return -1;
    }
}

static enum axl_status cast_check(const struct axl_graph *g, const struct gnode *n, char *msg)
{
    (void)g;
    int64_t to = ga_int(n, "to", -1);
    if (cast_target(to) < 0)
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED,
                        "to=%lld is not supported (float, double, float16 and "
                        "integer or boolean types are)",
                        (long long)to);
    return AXL_OK;
}

static enum axl_status cast_shape(struct run_ctx *c, const struct gnode *n, char *msg)
{
    const struct gtensor *x = in_t(c, n, 0);
    return set_out(c, n, 0, cast_target(ga_int(n, "to", 1)), x->ndim, x->dims, msg);
}

static enum axl_status cast_exec(struct run_ctx *c, const struct gnode *n, char *msg)
{
    const struct gtensor *x = in_t(c, n, 0);
    struct gtensor *y = out_t(c, n, 0);
    int64_t to = ga_int(n, "to", 1), cnt = gt_numel(x);
    /* float16 values are kept in float32: rounded to the nearest half (ties
     * to even, overflow to infinity), as a cast to float16 and back */
    struct axl_format f16;
    if (to == 10 && axl_format_parse("fp16", &f16, msg) != AXL_OK)
        return AXL_ERR_INVALID;
    for (int64_t i = 0; i < cnt; i++) {
        if (y->dtype == GDT_F32) {
            float v = (float)gt_getd(x, i);
            if (to == 10)
                v = axl_format_decode(&f16, axl_format_encode(&f16, v, AXL_ROUND_NEAREST_EVEN, 0));
            ((float *)y->data)[i] = v;
        } else {
            double d = gt_getd(x, i);
            int64_t v = to == 9 ? d != 0 : x->dtype == GDT_I64 ? gt_geti(x, i)
                      : d >= 9.2e18 ? INT64_MAX : d <= -9.2e18 ? INT64_MIN : (int64_t)d;
            ((int64_t *)y->data)[i] = v;
        }
    }
    return AXL_OK;
}

/* ---- Shape, Size, Constant, ConstantOfShape, Range -------------------------------- */
static void shape_range(const struct gnode *n, int r, int64_t *s, int64_t *e)
{
    *s = ga_int(n, "start", 0);
    *e = ga_int(n, "end", r);
    *s = *s < 0 ? *s + r : *s;
    *e = *e < 0 ? *e + r : *e;
    *s = *s < 0 ? 0 : *s > r ? r : *s;
    *e = *e < 0 ? 0 : *e > r ? r : *e;
    if (*e < *s)
        *e = *s;
}

static enum axl_status shape_shape(struct run_ctx *c, const struct gnode *n, char *msg)
{
    const struct gtensor *x = in_t(c, n, 0);
    int64_t s, e, d;
    if (!strcmp(n->op, "Size"))
        return set_out(c, n, 0, GDT_I64, 0, NULL, msg);
    shape_range(n, x->ndim, &s, &e);
    d = e - s;
    return set_out(c, n, 0, GDT_I64, 1, &d, msg);
}

static enum axl_status shape_exec(struct run_ctx *c, const struct gnode *n, char *msg)
{
    (void)msg;
    const struct gtensor *x = in_t(c, n, 0);
    int64_t *y = out_t(c, n, 0)->data, s, e;
    if (!strcmp(n->op, "Size")) {
        y[0] = gt_numel(x);
        return AXL_OK;
    }
    shape_range(n, x->ndim, &s, &e);
    for (int64_t i = s; i < e; i++)
        y[i - s] = x->dims[i];
    return AXL_OK;
}

static enum axl_status const_check(const struct axl_graph *g, const struct gnode *n, char *msg)
{
    (void)g;
    if (n->n_attrs != 1)
        return axl_msgf(msg, AXL_ERR_INVALID, "needs exactly one value attribute");
    const struct gattr *a = &n->attrs[0];
    if (!strcmp(a->name, "value") ? a->type != GA_TENSOR
        : !strcmp(a->name, "value_float") ? a->type != GA_FLOAT
        : !strcmp(a->name, "value_int") ? a->type != GA_INT
        : !strcmp(a->name, "value_floats") ? a->type != GA_FLOATS
        : !strcmp(a->name, "value_ints") ? a->type != GA_INTS : 1)
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "value attribute '%.40s' is not supported",
                        a->name);
    return AXL_OK;
}

static enum axl_status const_shape(struct run_ctx *c, const struct gnode *n, char *msg)
{
    const struct gattr *a = &n->attrs[0];
    if (a->type == GA_TENSOR)
        return set_out(c, n, 0, a->t.dtype, a->t.ndim, a->t.dims, msg);
    if (a->type == GA_FLOAT || a->type == GA_INT)
        return set_out(c, n, 0, a->type == GA_FLOAT ? GDT_F32 : GDT_I64, 0, NULL, msg);
    return set_out(c, n, 0, a->type == GA_FLOATS ? GDT_F32 : GDT_I64, 1, &a->n, msg);
}

static enum axl_status const_exec(struct run_ctx *c, const struct gnode *n, char *msg)
{
    (void)msg;
    const struct gattr *a = &n->attrs[0];
    struct gtensor *y = out_t(c, n, 0);
    if (a->type == GA_TENSOR)
        memcpy(y->data, a->t.data, (size_t)gt_numel(&a->t) * gt_esize(a->t.dtype));
    else if (a->type == GA_FLOAT)
        ((float *)y->data)[0] = a->f;
    else if (a->type == GA_INT)
        ((int64_t *)y->data)[0] = a->i;
    else if (a->type == GA_FLOATS)
        memcpy(y->data, a->floats, (size_t)a->n * sizeof(float));
    else
        memcpy(y->data, a->ints, (size_t)a->n * sizeof(int64_t));
    return AXL_OK;
}

static enum axl_status cos_shape(struct run_ctx *c, const struct gnode *n, char *msg)
{
    const struct gtensor *s = in_t(c, n, 0);
    const struct gattr *v = ga_find(n, "value");
    int64_t d[AXL_MAX_DIMS];
    enum axl_status st = need_data(s, "the shape", msg);
    if (st != AXL_OK)
        return st;
    if (s->ndim != 1 || s->dims[0] > AXL_MAX_DIMS)
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED,
                        "the shape input must be 1-D of at most %d values", AXL_MAX_DIMS);
    for (int i = 0; i < s->dims[0]; i++)
        d[i] = gt_geti(s, i);
    if (v && (v->type != GA_TENSOR || gt_numel(&v->t) != 1))
        return axl_msgf(msg, AXL_ERR_INVALID, "value must be a one-element tensor");
    return set_out(c, n, 0, v ? v->t.dtype : GDT_F32, (int)s->dims[0], d, msg);
}

static enum axl_status cos_exec(struct run_ctx *c, const struct gnode *n, char *msg)
{
    (void)msg;
    const struct gattr *v = ga_find(n, "value");
    struct gtensor *y = out_t(c, n, 0);
    size_t es = gt_esize(y->dtype);
    char zero[8] = {0};
    for (int64_t i = 0; i < gt_numel(y); i++)
        memcpy((char *)y->data + (size_t)i * es, v ? v->t.data : zero, es);
    return AXL_OK;
}

static enum axl_status range_shape(struct run_ctx *c, const struct gnode *n, char *msg)
{
    const struct gtensor *s = in_t(c, n, 0), *l = in_t(c, n, 1), *d = in_t(c, n, 2);
    enum axl_status st;
    if ((st = need_data(s, "start", msg)) || (st = need_data(l, "limit", msg)) ||
        (st = need_data(d, "delta", msg)))
        return st;
    double dv = gt_getd(d, 0);
    if (dv == 0)
        return axl_msgf(msg, AXL_ERR_INVALID, "delta is 0");
    double cnt = (gt_getd(l, 0) - gt_getd(s, 0)) / dv;
    if (cnt > (double)GT_MAX_NUMEL) /* before the conversion, which would overflow */
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED,
                        "start, limit and delta give %.17g values, more than %lld (the limit "
                        "for one tensor)", cnt, (long long)GT_MAX_NUMEL);
    int64_t k = cnt > 0 ? (int64_t)cnt : 0;
    if ((double)k < cnt)
        k++;
    return set_out(c, n, 0, s->dtype, 1, &k, msg);
}

static enum axl_status range_exec(struct run_ctx *c, const struct gnode *n, char *msg)
{
    (void)msg;
    const struct gtensor *s = in_t(c, n, 0), *d = in_t(c, n, 2);
    struct gtensor *y = out_t(c, n, 0);
    for (int64_t i = 0; i < y->dims[0]; i++) {
        if (y->dtype == GDT_F32)
            ((float *)y->data)[i] = (float)(gt_getd(s, 0) + (double)i * gt_getd(d, 0));
        else /* in unsigned arithmetic: every value lies between start and limit, but
              * i * delta alone may not fit */
            ((int64_t *)y->data)[i] =
                (int64_t)((uint64_t)gt_geti(s, 0) + (uint64_t)i * (uint64_t)gt_geti(d, 0));
    }
    return AXL_OK;
}

/* ---- Reshape, Flatten, Squeeze, Unsqueeze: a copy under a new shape ------------------- */
static enum axl_status reshape_shape(struct run_ctx *c, const struct gnode *n, char *msg)
{
    const struct gtensor *x = in_t(c, n, 0), *s = in_t(c, n, 1);
    enum axl_status st = need_data(s, "the shape", msg);
    if (st != AXL_OK)
        return st;
    if (s->ndim != 1 || s->dims[0] > AXL_MAX_DIMS)
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "the shape must be 1-D with at most %d values",
                        AXL_MAX_DIMS);
    int r = (int)s->dims[0], neg = -1;
    int64_t d[AXL_MAX_DIMS], known = 1;
    int allowzero = (int)ga_int(n, "allowzero", 0);
    for (int i = 0; i < r; i++) {
        d[i] = gt_geti(s, i);
        if (d[i] == 0 && !allowzero) {
            if (i >= x->ndim)
                return axl_msgf(msg, AXL_ERR_INVALID,
                                "shape value 0 at %d copies a dimension the "
                                "input does not have",
                                i);
            d[i] = x->dims[i];
        }
        if (d[i] == -1) {
            if (neg >= 0)
                return axl_msgf(msg, AXL_ERR_INVALID, "more than one -1 in the shape");
            neg = i;
        } else if (d[i] < 0) {
            return axl_msgf(msg, AXL_ERR_INVALID, "shape value %lld", (long long)d[i]);
        } else if (gt_mul(known, d[i], &known)) {
            return axl_msgf(msg, AXL_ERR_INVALID, "the shape's values multiply past 2^63");
        }
    }
    int64_t cnt = gt_numel(x);
    if (neg >= 0) {
        if (known == 0 || cnt % known)
            return axl_msgf(msg, AXL_ERR_INVALID,
                            "cannot reshape %lld values with a -1 dimension "
                            "and %lld others",
                            (long long)cnt, (long long)known);
        d[neg] = cnt / known;
    } else if (known != cnt) {
        return axl_msgf(msg, AXL_ERR_INVALID, "cannot reshape %lld values into %lld",
                        (long long)cnt, (long long)known);
    }
    return set_out(c, n, 0, x->dtype, r, d, msg);
}

static enum axl_status flatten_shape(struct run_ctx *c, const struct gnode *n, char *msg)
{
    const struct gtensor *x = in_t(c, n, 0);
    int64_t ax = ga_int(n, "axis", 1), d[2] = {1, 1};
    if (ax < -x->ndim || ax > x->ndim)
        return axl_msgf(msg, AXL_ERR_INVALID, "axis %lld for rank %d", (long long)ax, x->ndim);
    if (ax < 0)
        ax += x->ndim;
    for (int i = 0; i < x->ndim; i++)
        d[i >= ax] *= x->dims[i];
    return set_out(c, n, 0, x->dtype, 2, d, msg);
}

static int axes_from_input(const struct axl_graph *g) { return g->opset >= 13; }

static enum axl_status axes_check(const struct axl_graph *g, const struct gnode *n, char *msg)
{
    if (axes_from_input(g) && ga_find(n, "axes"))
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "axes attribute at opset %d (an input now)",
                        g->opset);
    if (!axes_from_input(g) && n->n_in > 1)
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "axes input before opset 13");
    if (!strcmp(n->op, "Unsqueeze") && !axes_from_input(g) && !ga_find(n, "axes"))
        return axl_msgf(msg, AXL_ERR_INVALID, "no axes");
    return AXL_OK;
}

/* axes from the attribute or input 1; count or -1 with a message */
static int get_axes(struct run_ctx *c, const struct gnode *n, int64_t *ax, char *msg)
{
    if (axes_from_input(c->g)) {
        const struct gtensor *a = in_t(c, n, 1);
        if (!a)
            return 0;
        if (need_data(a, "axes", msg) != AXL_OK)
            return -1;
        int64_t k = gt_numel(a);
        if (k > AXL_MAX_DIMS) {
            axl_msgf(msg, AXL_ERR_INVALID, "too many axes");
            return -1;
        }
        for (int64_t i = 0; i < k; i++)
            ax[i] = gt_geti(a, i);
        return (int)k;
    }
    const int64_t *v;
    int64_t k = ga_ints(n, "axes", &v);
    if (k > AXL_MAX_DIMS) {
        axl_msgf(msg, AXL_ERR_INVALID, "too many axes");
        return -1;
    }
    for (int64_t i = 0; i < k; i++)
        ax[i] = v[i];
    return k < 0 ? 0 : (int)k;
}

static enum axl_status squeeze_shape(struct run_ctx *c, const struct gnode *n, char *msg)
{
    const struct gtensor *x = in_t(c, n, 0);
    int64_t ax[AXL_MAX_DIMS], d[AXL_MAX_DIMS];
    int na = get_axes(c, n, ax, msg), r = 0;
    unsigned mask = 0;
    if (na < 0)
        return AXL_ERR_INVALID;
    for (int i = 0; i < na; i++) {
        int a = norm_axis(ax[i], x->ndim, n, msg);
        if (a < 0)
            return AXL_ERR_INVALID;
        if (x->dims[a] != 1)
            return axl_msgf(msg, AXL_ERR_INVALID, "cannot squeeze axis %d of size %lld", a,
                            (long long)x->dims[a]);
        mask |= 1u << a;
    }
    for (int i = 0; i < x->ndim; i++)
        if (!(na ? (mask >> i & 1) : x->dims[i] == 1))
            d[r++] = x->dims[i];
    return set_out(c, n, 0, x->dtype, r, d, msg);
}

static enum axl_status unsqueeze_shape(struct run_ctx *c, const struct gnode *n, char *msg)
{
    const struct gtensor *x = in_t(c, n, 0);
    int64_t ax[AXL_MAX_DIMS], d[AXL_MAX_DIMS];
    int na = get_axes(c, n, ax, msg), r;
    unsigned mask = 0;
    if (na < 0)
        return AXL_ERR_INVALID;
    r = x->ndim + na;
    if (r > AXL_MAX_DIMS)
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "rank %d exceeds %d", r, AXL_MAX_DIMS);
    for (int i = 0; i < na; i++) {
        int a = norm_axis(ax[i], r, n, msg);
        if (a < 0)
            return AXL_ERR_INVALID;
        if (mask >> a & 1)
            return axl_msgf(msg, AXL_ERR_INVALID, "axis %d repeated", a);
        mask |= 1u << a;
    }
    for (int i = 0, k = 0; i < r; i++)
        d[i] = (mask >> i & 1) ? 1 : x->dims[k++];
    return set_out(c, n, 0, x->dtype, r, d, msg);
}

#define MOVE(name, attrs, mi, ma, check, shape, exec, bw, nodiff) \
    {name, attrs, mi, ma, 1, 1, 0, 0, check, shape, exec, bw, nodiff}
const struct op_def axl_ops_shape[] = {
    MOVE("Identity", "", 1, 1, NULL, ident_shape, copy_in0, copy_backward, 0),
    /* ratio and training_mode carry no gradient */
    {"Dropout", "ratio,seed,is_test", 1, 3, 1, 2, 0, 0, NULL, ident_shape, dropout_exec,
     dropout_backward, 0x3u << 1},
    MOVE("Cast", "to,saturate", 1, 1, cast_check, cast_shape, cast_exec, copy_backward, 0),
    {"Shape", "start,end", 1, 1, 1, 1, 0, 1, NULL, shape_shape, shape_exec, NULL, 0},
    {"Size", "", 1, 1, 1, 1, 0, 1, NULL, shape_shape, shape_exec, NULL, 0},
    MOVE("Constant", "value,value_float,value_floats,value_int,value_ints,value_string,"
         "value_strings,sparse_value", 0, 0, const_check, const_shape, const_exec, NULL, 0),
    MOVE("ConstantOfShape", "value", 1, 1, NULL, cos_shape, cos_exec, NULL, 0),
    MOVE("Range", "", 3, 3, NULL, range_shape, range_exec, NULL, 0),
    /* the shape, the axes (input 1) carry no gradient */
    MOVE("Reshape", "allowzero", 2, 2, NULL, reshape_shape, copy_in0, copy_backward, 1u << 1),
    MOVE("Flatten", "axis", 1, 1, NULL, flatten_shape, copy_in0, copy_backward, 0),
    MOVE("Squeeze", "axes", 1, 2, axes_check, squeeze_shape, copy_in0, copy_backward, 1u << 1),
    MOVE("Unsqueeze", "axes", 1, 2, axes_check, unsqueeze_shape, copy_in0, copy_backward,
         1u << 1),
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};
