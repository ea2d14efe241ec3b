/* Exact float32 normalisations (BatchNormalization, LayerNormalization)
 * and pooling (MaxPool, AveragePool, their global forms), with their
 * backward.  BatchNormalization also has PyTorch's training mode
 * (run_ctx.bn_train): batch statistics, and running averages updated in
 * the graph. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "autodiff.h"

/* ---- normalisation ---------------------------------------------------------------- */
static enum axl_status bn_check(const struct axl_graph *g, const struct gnode *n, char *msg)
{
    (void)g;
    if (ga_int(n, "training_mode", 0) != 0)
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED,
                        "training_mode=1 is not supported (inference only)");
    if (ga_int(n, "spatial", 1) != 1)
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "spatial=0 is not supported");
    return AXL_OK;
}

static enum axl_status bn_shape(struct run_ctx *c, const struct gnode *n, char *msg)
{
    struct gtensor *x = in_t(c, n, 0);
    if (x->ndim < 2)
        return axl_msgf(msg, AXL_ERR_INVALID, "input of rank %d (at least 2 needed)", x->ndim);
    for (int i = 1; i < 5; i++) {
        struct gtensor *p = in_t(c, n, i);
        if (gt_numel(p) != x->dims[1])
            return axl_msgf(msg, AXL_ERR_INVALID, "parameter %d has %lld values for %lld channels",
                            i, (long long)gt_numel(p), (long long)x->dims[1]);
    }
    if (c->bn_train) {
        /* the running variance takes the unbiased batch variance */
        if (x->dims[1] > 0 && gt_numel(x) / x->dims[1] < 2)
            return axl_msgf(msg, AXL_ERR_INVALID, "training mode needs more than one value per "
                            "channel (input of %lld values, %lld channels)",
                            (long long)gt_numel(x), (long long)x->dims[1]);
        for (int i = 3; i < 5; i++)
            if (n->in[i] < 0 || c->g->vals[n->in[i]].kind != V_CONST)
                return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "training mode updates the running "
                                "statistics, which must be initializers ('%.100s' is not)",
                                n->in[i] < 0 ? "" : c->g->vals[n->in[i]].name);
    }
    return same_shape(c, n, msg);
}

struct bn_dims {
    int64_t nb, ch, sp; /* batch, channels, spatial elements per channel and image */
};

static struct bn_dims bn_dims_of(const struct gtensor *x)
{
    struct bn_dims d = {x->dims[0], x->dims[1], 0};
    d.sp = d.nb * d.ch > 0 ? gt_numel(x) / (d.nb * d.ch) : 0;
    return d;
}

/* Per channel k of x: the batch mean st[k] and the biased variance
 * st[ch + k] (two passes, in double); NULL when out of memory. */
static double *bn_batch_stats(const float *x, struct bn_dims d)
{
    double *st = malloc((size_t)(d.ch > 0 ? 2 * d.ch : 1) * sizeof *st);
    if (!st)
        return NULL;
    int64_t cnt = d.nb * d.sp;
#pragma omp parallel for schedule(static) if (d.nb * d.ch * d.sp > PAR_MIN)
    for (int64_t k = 0; k < d.ch; k++) {
        double m = 0, v = 0;
        for (int64_t i = 0; i < d.nb; i++)
            for (int64_t j = 0; j < d.sp; j++)
                m += x[(i * d.ch + k) * d.sp + j];
        m /= (double)(cnt > 0 ? cnt : 1);
        for (int64_t i = 0; i < d.nb; i++)
            for (int64_t j = 0; j < d.sp; j++) {
                double e = x[(i * d.ch + k) * d.sp + j] - m;
                v += e * e;
            }
        st[k] = m;
        st[d.ch + k] = v / (double)(cnt > 0 ? cnt : 1);
    }
    return st;
}

/* PyTorch's training mode: normalise with the batch's statistics and
 * update the running ones, running = momentum * running + (1 - momentum)
 * * batch (ONNX's momentum; PyTorch's is 1 - it), the variance's update
 * taking the unbiased batch variance as PyTorch does. */
static enum axl_status bn_exec_train(struct run_ctx *c, const struct gnode *n, char *msg)
{
    const struct gtensor *xt = in_t(c, n, 0);
    const float *x = xt->data, *sc = in_t(c, n, 1)->data, *bi = in_t(c, n, 2)->data;
    float *y = out_t(c, n, 0)->data;
    double eps = ga_float(n, "epsilon", 1e-5f), mom = ga_float(n, "momentum", 0.9f);
    struct bn_dims d = bn_dims_of(xt);
    double *st = bn_batch_stats(x, d);
    if (!st)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
#pragma omp parallel for schedule(static) if (d.nb * d.ch * d.sp > PAR_MIN)
    for (int64_t p = 0; p < d.nb * d.ch; p++) {
        int64_t k = p % d.ch;
        double m = st[k], s = sc[k] / sqrt(st[d.ch + k] + eps), b = bi[k];
        for (int64_t i = 0; i < d.sp; i++)
            y[p * d.sp + i] = (float)((x[p * d.sp + i] - m) * s + b);
    }
    /* The running statistics are constants of the graph, which run_ctx
     * holds const for the runs that may share it; a training run owns its
     * graph (graph.h: no other thread runs a graph being trained), so it
     * writes through the values' data, which are not const. */
    float *rm = c->g->vals[n->in[3]].c.data, *rv = c->g->vals[n->in[4]].c.data;
    double cnt = (double)(d.nb * d.sp);
    for (int64_t k = 0; k < d.ch; k++) {
        rm[k] = (float)(mom * rm[k] + (1.0 - mom) * st[k]);
        rv[k] = (float)(mom * rv[k] + (1.0 - mom) * st[d.ch + k] * cnt / (cnt - 1.0));
    }
    free(st);
    return AXL_OK;
}

static enum axl_status bn_exec(struct run_ctx *c, const struct gnode *n, char *msg)
{
    if (c->bn_train)
        return bn_exec_train(c, n, msg);
    const struct gtensor *xt = in_t(c, n, 0);
    const float *x = xt->data, *sc = in_t(c, n, 1)->data, *bi = in_t(c, n, 2)->data,
                *mean = in_t(c, n, 3)->data, *var = in_t(c, n, 4)->data;
    float *y = out_t(c, n, 0)->data;
    float eps = ga_float(n, "epsilon", 1e-5f);
    int64_t nb = xt->dims[0], ch = xt->dims[1], sp = gt_numel(xt) / (nb * ch > 0 ? nb * ch : 1);
#pragma omp parallel for schedule(static) if (nb * ch * sp > PAR_MIN)
    for (int64_t p = 0; p < nb * ch; p++) {
        int64_t k = p % ch;
        float s = sc[k] / sqrtf(var[k] + eps), m = mean[k], b = bi[k];
        for (int64_t i = 0; i < sp; i++)
            y[p * sp + i] = (x[p * sp + i] - m) * s + b;
    }
    return AXL_OK;
}

/* Per channel: dB = sum dy, dscale = sum dy xhat; dx = dy s in inference
 * (frozen statistics), and in training the full backward through the
 * batch mean and variance, dx = s (dy - mean(dy) - xhat mean(dy xhat)). */
static enum axl_status bn_backward(struct grad_ctx *gc, const struct gnode *n, char *msg)
{
    struct run_ctx *c = gc->c;
    const struct gtensor *xt = in_t(c, n, 0);
    const float *x = xt->data, *sc = in_t(c, n, 1)->data, *rmean = in_t(c, n, 3)->data,
                *rvar = in_t(c, n, 4)->data, *dy = grad_out(gc, n, 0);
    float *gx, *gs, *gb;
    enum axl_status st;
    if ((st = grad_in(gc, n, 0, &gx, msg)) || (st = grad_in(gc, n, 1, &gs, msg)) ||
        (st = grad_in(gc, n, 2, &gb, msg)) || !dy)
        return st;
    float eps = ga_float(n, "epsilon", 1e-5f);
    struct bn_dims d = bn_dims_of(xt);
    double *bs = NULL, cnt = (double)(d.nb * d.sp);
    if (c->bn_train && !(bs = bn_batch_stats(x, d)))
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
#pragma omp parallel for schedule(static) if (d.nb * d.ch * d.sp > PAR_MIN)
    for (int64_t k = 0; k < d.ch; k++) { /* one channel per thread: its own elements */
        /* the running statistics here are those of the forward: it
         * updates them only in training mode, where bs serves */
        double m = bs ? bs[k] : rmean[k];
        double inv = 1.0 / sqrt((bs ? bs[d.ch + k] : (double)rvar[k]) + (double)eps);
        double sdy = 0, sdx = 0;
        for (int64_t i = 0; i < d.nb; i++)
            for (int64_t j = 0; j < d.sp; j++) {
                int64_t e = (i * d.ch + k) * d.sp + j;
                sdy += dy[e];
                sdx += dy[e] * (x[e] - m) * inv;
            }
        if (gb)
            gb[k] += (float)sdy;
        if (gs)
            gs[k] += (float)sdx;
        if (!gx)
            continue;
        /* frozen: the forward's own float32 factor */
        float s = sc[k] / sqrtf(rvar[k] + eps);
        double a = sdy / cnt, b = sdx / cnt, f = sc[k] * inv;
        for (int64_t i = 0; i < d.nb; i++)
            for (int64_t j = 0; j < d.sp; j++) {
                int64_t e = (i * d.ch + k) * d.sp + j;
                gx[e] += bs ? (float)(f * (dy[e] - a - (x[e] - m) * inv * b)) : dy[e] * s;
            }
    }
    free(bs);
    return AXL_OK;
}

/* one row's mean and inverse standard deviation (biased variance), in
 * double: the forward's and the backward's */
static void ln_row(const float *xr, int64_t inner, float eps, double *mean, double *inv)
{
    double m = 0, v = 0;
    for (int64_t i = 0; i < inner; i++)
        m += xr[i];
    m /= (double)inner;
    for (int64_t i = 0; i < inner; i++)
        v += ((double)xr[i] - m) * ((double)xr[i] - m);
    v /= (double)inner;
    *mean = m;
    *inv = 1.0 / sqrt(v + eps);
}

static enum axl_status ln_shape(struct run_ctx *c, const struct gnode *n, char *msg)
{
    struct gtensor *x = in_t(c, n, 0);
    int ax = norm_axis(ga_int(n, "axis", -1), x->ndim, n, msg);
    if (ax < 0)
        return AXL_ERR_INVALID;
    int64_t inner = 1;
    for (int d = ax; d < x->ndim; d++)
        inner *= x->dims[d];
    for (int i = 1; i < 3; i++) {
        struct gtensor *p = in_t(c, n, i);
        if (p && gt_numel(p) != inner && gt_numel(p) != 1)
            return axl_msgf(msg, AXL_ERR_UNSUPPORTED,
                            "scale/bias of %lld values for %lld "
                            "normalised ones",
                            (long long)gt_numel(p), (long long)inner);
    }
    enum axl_status st = same_shape(c, n, msg);
    int64_t d[AXL_MAX_DIMS];
    memcpy(d, x->dims, sizeof d);
    for (int k = ax; k < x->ndim; k++)
        d[k] = 1;
    for (int i = 1; i < 3 && st == AXL_OK; i++)
        st = set_out(c, n, i, GDT_F32, x->ndim, d, msg);
    return st;
}

static enum axl_status ln_exec(struct run_ctx *c, const struct gnode *n, char *msg)
{
    const struct gtensor *xt = in_t(c, n, 0), *st = in_t(c, n, 1), *bt = in_t(c, n, 2);
    int ax = norm_axis(ga_int(n, "axis", -1), xt->ndim, n, msg);
    int64_t inner = 1;
    for (int d = ax; d < xt->ndim; d++)
        inner *= xt->dims[d];
    int64_t outer = inner ? gt_numel(xt) / inner : 0;
    float eps = ga_float(n, "epsilon", 1e-5f);
    const float *x = xt->data, *sc = st->data, *bi = bt ? bt->data : NULL;
    int64_t ns = gt_numel(st), nbias = bt ? gt_numel(bt) : 0;
    float *y = out_t(c, n, 0)->data;
    struct gtensor *mo = out_t(c, n, 1), *io = out_t(c, n, 2);
#pragma omp parallel for schedule(static) if (outer * inner > PAR_MIN)
    for (int64_t o = 0; o < outer; o++) {
        const float *xr = x + o * inner;
        double m, inv;
        ln_row(xr, inner, eps, &m, &inv);
        for (int64_t i = 0; i < inner; i++) {
            float z = (float)(((double)xr[i] - m) * inv) * sc[ns == 1 ? 0 : i];
            y[o * inner + i] = bi ? z + bi[nbias == 1 ? 0 : i] : z;
        }
        if (mo && mo->data)
            ((float *)mo->data)[o] = (float)m;
        if (io && io->data)
            ((float *)io->data)[o] = (float)inv;
    }
    return AXL_OK;
}

/* Row o's mean st[o] and inverse deviation st[outer + o]; NULL when out
 * of memory. */
static double *ln_row_stats(const float *x, int64_t outer, int64_t inner, float eps)
{
    double *st = malloc((size_t)(outer > 0 ? 2 * outer : 1) * sizeof *st);
    if (!st)
        return NULL;
#pragma omp parallel for schedule(static) if (outer * inner > PAR_MIN)
    for (int64_t o = 0; o < outer; o++)
        ln_row(x + o * inner, inner, eps, &st[o], &st[outer + o]);
    return st;
}

/* adds the sums over rows of dy * xhat (ds) and of dy (db) into the scale's
 * and bias's gradients, either of which may hold one broadcast value */
static void ln_param_grads(const float *x, const float *dy, const double *st, int64_t outer,
                           int64_t inner, float *gs, int64_t ns, float *gb, int64_t nbias)
{
    double ts = 0, tb = 0;
#pragma omp parallel for schedule(static) reduction(+ : ts, tb) if (outer * inner > PAR_MIN)
    for (int64_t i = 0; i < inner; i++) { /* one column per thread */
        double ds = 0, db = 0;
        for (int64_t o = 0; o < outer; o++) {
            double g = dy[o * inner + i];
            ds += g * (x[o * inner + i] - st[o]) * st[outer + o];
            db += g;
        }
        if (gs && ns != 1)
            gs[i] += (float)ds;
        if (gb && nbias != 1)
            gb[i] += (float)db;
        ts += ds;
        tb += db;
    }
    if (gs && ns == 1)
        gs[0] += (float)ts;
    if (gb && nbias == 1)
        gb[0] += (float)tb;
}

/* adds the input's gradient, row by row (the comment of ln_backward);
 * dy, dm, di: the gradients of Y, Mean, InvStdDev, each possibly NULL */
static void ln_input_grad(const float *x, const float *sc, int64_t ns, const float *dy,
                          const float *dm, const float *di, const double *rs, int64_t outer,
                          int64_t inner, float *gx)
{
#pragma omp parallel for schedule(static) if (outer * inner > PAR_MIN)
    for (int64_t o = 0; o < outer; o++) {
        const float *xr = x + o * inner, *dr = dy ? dy + o * inner : NULL;
        double m = rs[o], inv = rs[outer + o], a = 0, b = 0, D = (double)inner;
        for (int64_t i = 0; dr && i < inner; i++) {
            double g = (double)dr[i] * sc[ns == 1 ? 0 : i];
            a += g;
            b += g * (xr[i] - m) * inv;
        }
        a /= D;
        b /= D;
        double cm = dm ? dm[o] / D : 0, ci = di ? -di[o] * inv * inv / D : 0;
        for (int64_t i = 0; i < inner; i++) {
            double xh = (xr[i] - m) * inv;
            double gy = dr ? inv * ((double)dr[i] * sc[ns == 1 ? 0 : i] - a - xh * b) : 0;
            gx[o * inner + i] += (float)(gy + cm + ci * xh);
        }
    }
}

/* Per row, with g = dy * scale: dx = inv (g - mean(g) - xhat mean(g xhat)),
 * plus the paths through the Mean and InvStdDev outputs when a later node
 * used them: d m / dx = 1 / D, d inv / dx = -inv^2 xhat / D. */
static enum axl_status ln_backward(struct grad_ctx *gc, const struct gnode *n, char *msg)
{
    struct run_ctx *c = gc->c;
    const struct gtensor *xt = in_t(c, n, 0), *sct = in_t(c, n, 1), *bt = in_t(c, n, 2);
    int ax = norm_axis(ga_int(n, "axis", -1), xt->ndim, n, msg);
    if (ax < 0)
        return AXL_ERR_INVALID;
    int64_t inner = 1, ns = gt_numel(sct), nbias = bt ? gt_numel(bt) : 0;
    for (int d = ax; d < xt->ndim; d++)
        inner *= xt->dims[d];
    int64_t outer = inner ? gt_numel(xt) / inner : 0;
    const float *x = xt->data, *sc = sct->data, *dy = grad_out(gc, n, 0),
                *dm = grad_out(gc, n, 1), *di = grad_out(gc, n, 2);
    float *gx, *gs, *gb;
    enum axl_status st;
    if ((st = grad_in(gc, n, 0, &gx, msg)) || (st = grad_in(gc, n, 1, &gs, msg)) ||
        (st = grad_in(gc, n, 2, &gb, msg)))
        return st;
    double *rs = ln_row_stats(x, outer, inner, ga_float(n, "epsilon", 1e-5f));
    if (!rs)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    if (dy && (gs || gb))
        ln_param_grads(x, dy, rs, outer, inner, gs, ns, gb, nbias);
    if (gx)
        ln_input_grad(x, sc, ns, dy, dm, di, rs, outer, inner, gx);
    free(rs);
    return AXL_OK;
}

/* ---- pooling -------------------------------------------------------------------------- */
struct pool {
    int sp;                      /* spatial dims: 1 or 2 */
    int64_t k[2], s[2], d[2], pb[2], pe[2], in[2], out[2];
};

static enum axl_status pool_check(const struct axl_graph *g, const struct gnode *n, char *msg)
{
    (void)g;
    const int64_t *v;
    int64_t nk = ga_ints(n, "kernel_shape", &v);
    if (!strncmp(n->op, "Global", 6))
        return AXL_OK;
    if (nk < 1 || nk > 2)
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED,
                        "kernel_shape of %lld dimensions (1 or 2 are "
                        "supported)",
                        (long long)nk);
    const char *ap = ga_str(n, "auto_pad", "NOTSET");
    if (strcmp(ap, "NOTSET") && strcmp(ap, "SAME_UPPER") && strcmp(ap, "SAME_LOWER") &&
        strcmp(ap, "VALID"))
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "auto_pad='%.40s' is not supported", ap);
    if (ga_int(n, "storage_order", 0) != 0)
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "storage_order=1 is not supported");
    return AXL_OK;
}

static enum axl_status pool_geom(const struct gnode *n, const struct gtensor *x, struct pool *p,
                                 char *msg)
{
    const int64_t *ks, *st, *dl, *pd;
    int64_t nk = ga_ints(n, "kernel_shape", &ks);
    p->sp = (int)nk;
    if (x->ndim != nk + 2)
        return axl_msgf(msg, AXL_ERR_INVALID, "input of rank %d for a %lld-D kernel", x->ndim,
                        (long long)nk);
    int64_t ns = ga_ints(n, "strides", &st), nd = ga_ints(n, "dilations", &dl),
            np = ga_ints(n, "pads", &pd);
    if ((ns >= 0 && ns != nk) || (nd >= 0 && nd != nk) || (np >= 0 && np != 2 * nk))
        return axl_msgf(msg, AXL_ERR_INVALID,
                        "strides/dilations/pads do not match the kernel rank");
    const char *ap = ga_str(n, "auto_pad", "NOTSET");
    int ceil_mode = (int)ga_int(n, "ceil_mode", 0);
    for (int i = 0; i < nk; i++) {
        p->k[i] = ks[i];
        p->s[i] = ns > 0 ? st[i] : 1;
        p->d[i] = nd > 0 ? dl[i] : 1;
        p->pb[i] = np > 0 ? pd[i] : 0;
        p->pe[i] = np > 0 ? pd[i + nk] : 0;
        p->in[i] = x->dims[2 + i];
        if (p->k[i] < 1 || p->s[i] < 1 || p->d[i] < 1 || p->pb[i] < 0 || p->pe[i] < 0)
            return axl_msgf(msg, AXL_ERR_INVALID, "kernel, strides and dilations must be positive");
        enum axl_status err;
        if ((err = attr_bound("kernel_shape", p->k[i], msg)) ||
            (err = attr_bound("strides", p->s[i], msg)) ||
            (err = attr_bound("dilations", p->d[i], msg)) ||
            (err = attr_bound("pads", p->pb[i], msg)) || (err = attr_bound("pads", p->pe[i], msg)))
            return err;
        int64_t ext = (p->k[i] - 1) * p->d[i] + 1;
        if ((err = attr_bound("the dilated window's extent", ext, msg)) != AXL_OK)
            return err;
        if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) {
            p->out[i] = (p->in[i] + p->s[i] - 1) / p->s[i];
            int64_t tot = (p->out[i] - 1) * p->s[i] + ext - p->in[i];
            tot = tot > 0 ? tot : 0;
            p->pb[i] = !strcmp(ap, "SAME_UPPER") ? tot / 2 : tot - tot / 2;
            p->pe[i] = tot - p->pb[i];
            continue;
        }
        if (!strcmp(ap, "VALID"))
            p->pb[i] = p->pe[i] = 0;
        int64_t span = p->in[i] + p->pb[i] + p->pe[i] - ext;
        if (span < 0)
            return axl_msgf(msg, AXL_ERR_INVALID,
                            "a %lld-wide window does not fit a padded input of "
                            "%lld",
                            (long long)ext, (long long)(p->in[i] + p->pb[i] + p->pe[i]));
        p->out[i] = (ceil_mode ? (span + p->s[i] - 1) / p->s[i] : span / p->s[i]) + 1;
        /* the last window must start inside the input or its left padding */
        if (ceil_mode && (p->out[i] - 1) * p->s[i] >= p->in[i] + p->pb[i])
            p->out[i]--;
    }
    if (nk == 1) {
        p->k[1] = p->s[1] = p->d[1] = 1;
        p->pb[1] = p->pe[1] = 0;
        p->in[1] = p->out[1] = 1;
    }
    return AXL_OK;
}

static enum axl_status pool_shape(struct run_ctx *c, const struct gnode *n, char *msg)
{
    struct gtensor *x = in_t(c, n, 0);
    enum axl_status st = float_input(c, n, 0, msg);
    if (st != AXL_OK)
        return st;
    int64_t d[AXL_MAX_DIMS];
    if (!strncmp(n->op, "Global", 6)) {
        if (x->ndim < 3)
            return axl_msgf(msg, AXL_ERR_INVALID, "input of rank %d (N, C and spatial dims needed)",
                            x->ndim);
        memcpy(d, x->dims, sizeof d);
        for (int i = 2; i < x->ndim; i++)
            d[i] = 1;
        return set_out(c, n, 0, GDT_F32, x->ndim, d, msg);
    }
    struct pool p;
    if ((st = pool_geom(n, x, &p, msg)) != AXL_OK)
        return st;
    d[0] = x->dims[0];
    d[1] = x->dims[1];
    for (int i = 0; i < p.sp; i++)
        d[2 + i] = p.out[i];
    return set_out(c, n, 0, GDT_F32, x->ndim, d, msg);
}

enum axl_status axl_pool_window(struct run_ctx *c, const struct gnode *n, struct axl_window *w,
                                char *msg)
{
    const struct gtensor *x = in_t(c, n, 0);
    if (x->ndim < 3 || x->ndim > 4)
        return axl_msgf(msg, AXL_ERR_INVALID, "input of rank %d (1-D and 2-D pools are "
                        "described)", x->ndim);
    int64_t h = x->ndim == 4 ? x->dims[2] : 1, wd = x->dims[x->ndim - 1];
    memset(w, 0, sizeof *w);
    w->c = w->oc = x->dims[1];
    w->h = h, w->w = wd;
    w->stride_h = w->stride_w = w->dil_h = w->dil_w = w->groups = 1;
    if (!strncmp(n->op, "Global", 6)) {
        w->oh = w->ow = 1, w->kh = h, w->kw = wd;
        return AXL_OK;
    }
    struct pool p;
    enum axl_status st = pool_geom(n, x, &p, msg);
    if (st != AXL_OK)
        return st;
    int a = p.sp == 2 ? 0 : 1, b = p.sp == 2 ? 1 : 0; /* 1-D: pool_geom's axis 0 is our w */
    if (p.sp == 1) {
        w->oh = w->kh = 1;
        w->pad_t = w->pad_b = 0;
    } else {
        w->oh = p.out[a], w->kh = p.k[a], w->stride_h = p.s[a], w->dil_h = p.d[a];
        w->pad_t = p.pb[a], w->pad_b = p.pe[a];
    }
    w->ow = p.out[b], w->kw = p.k[b], w->stride_w = p.s[b], w->dil_w = p.d[b];
    w->pad_l = p.pb[b], w->pad_r = p.pe[b];
    w->count_include_pad = (int)ga_int(n, "count_include_pad", 0);
    return AXL_OK;
}

/* One window of a pooled plane xp: the maximum and the element PyTorch
 * routes its gradient to (the first maximum in scan order, a NaN winning
 * as it does in the forward; the first element inside the input when none
 * beats -inf; -1 when the window holds none), the sum and the count of the
 * elements inside the input. */
struct pool_win {
    float m;
    int64_t arg, cnt;
    double s;
};

static void pool_window(const struct pool *g, const float *xp, int64_t h0, int64_t w0,
                        struct pool_win *r)
{
    const int64_t H = g->in[0], W = g->in[1];
    r->m = -INFINITY;
    r->s = 0;
    r->arg = -1;
    r->cnt = 0;
    for (int64_t i = 0; i < g->k[0]; i++) {
        int64_t h = h0 + i * g->d[0];
        if (h < 0 || h >= H)
            continue;
        for (int64_t j = 0; j < g->k[1]; j++) {
            int64_t w = w0 + j * g->d[1];
            if (w < 0 || w >= W)
                continue;
            float v = xp[h * W + w];
            if (r->arg < 0 || v > r->m || isnan(v))
                r->arg = h * W + w;
            r->m = v > r->m || isnan(v) ? v : r->m;
            r->s += v;
            r->cnt++;
        }
    }
}

/* MaxPool a row of outputs at a time: each window element (in pool_window's
 * order) against the running maxima of the whole row, with pool_window's
 * expression, so that every output sees the same values in the same order
 * (the same bits, signed zeros and NaNs included), vectorised along the
 * row. */
static void max_pool_rows(const struct pool *g, const float *x, float *y, int64_t planes)
{
    const int64_t H = g->in[0], W = g->in[1], OH = g->out[0], OW = g->out[1];
#pragma omp parallel for schedule(static) if (planes * OH * OW > PAR_MIN / 8)
    for (int64_t p = 0; p < planes; p++) {
        const float *xp = x + p * H * W;
        for (int64_t oh = 0; oh < OH; oh++) {
            float *yr = y + (p * OH + oh) * OW;
            for (int64_t ow = 0; ow < OW; ow++)
                yr[ow] = -INFINITY;
            int64_t h0 = oh * g->s[0] - g->pb[0];
            for (int64_t i = 0; i < g->k[0]; i++) {
                int64_t h = h0 + i * g->d[0];
                if (h < 0 || h >= H)
                    continue;
                const float *xr = xp + h * W;
                for (int64_t j = 0; j < g->k[1]; j++) {
                    /* w = ow * s + off inside [0, W) for ow in [lo, hi) */
                    const int64_t off = j * g->d[1] - g->pb[1], s = g->s[1];
                    int64_t lo = off >= 0 ? 0 : (-off + s - 1) / s;
                    int64_t hi = W - off <= 0 ? 0 : (W - off + s - 1) / s;
                    hi = hi < OW ? hi : OW;
#pragma omp simd
                    for (int64_t ow = lo; ow < hi; ow++) {
                        float v = xr[ow * s + off], m = yr[ow];
                        yr[ow] = v > m || isnan(v) ? v : m;
                    }
                }
            }
        }
    }
}

/* AveragePool's divisor for the window at (h0, w0) holding cnt elements of
 * the input: cnt, or with count_include_pad the window clipped to the
 * padded input, as PyTorch counts it */
static int64_t pool_divisor(const struct pool *g, int incl, int64_t h0, int64_t w0, int64_t cnt)
{
    if (incl) {
        int64_t he = h0 + (g->k[0] - 1) * g->d[0] + 1, we = w0 + (g->k[1] - 1) * g->d[1] + 1;
        he = he < g->in[0] + g->pe[0] ? he : g->in[0] + g->pe[0];
        we = we < g->in[1] + g->pe[1] ? we : g->in[1] + g->pe[1];
        cnt = ((he - h0 + g->d[0] - 1) / g->d[0]) * ((we - w0 + g->d[1] - 1) / g->d[1]);
    }
    return cnt ? cnt : 1;
}

static enum axl_status pool_exec(struct run_ctx *c, const struct gnode *n, char *msg)
{
    const struct gtensor *xt = in_t(c, n, 0);
    const float *x = xt->data;
    float *y = out_t(c, n, 0)->data;
    int64_t planes = xt->dims[0] * xt->dims[1];
    if (!strncmp(n->op, "Global", 6)) {
        int64_t sp = planes ? gt_numel(xt) / planes : 0;
        int mx = !strcmp(n->op, "GlobalMaxPool");
#pragma omp parallel for schedule(static) if (planes * sp > PAR_MIN)
        for (int64_t p = 0; p < planes; p++) {
            double s = 0;
            float m = -INFINITY;
            for (int64_t i = 0; i < sp; i++) {
                s += x[p * sp + i];
                m = fmaxf(m, x[p * sp + i]);
            }
            y[p] = mx ? m : (float)(s / (double)sp);
        }
        return AXL_OK;
    }
    struct pool g;
    enum axl_status st = pool_geom(n, xt, &g, msg);
    if (st != AXL_OK)
        return st;
    int mx = !strcmp(n->op, "MaxPool");
    int incl = (int)ga_int(n, "count_include_pad", 0);
    int64_t H = g.in[0], W = g.in[1], OH = g.out[0], OW = g.out[1];
    if (mx) {
        max_pool_rows(&g, x, y, planes);
        return AXL_OK;
    }
#pragma omp parallel for schedule(static) if (planes * OH * OW > PAR_MIN / 8)
    for (int64_t p = 0; p < planes; p++) {
        const float *xp = x + p * H * W;
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                int64_t h0 = oh * g.s[0] - g.pb[0], w0 = ow * g.s[1] - g.pb[1];
                struct pool_win r;
                pool_window(&g, xp, h0, w0, &r);
                y[(p * OH + oh) * OW + ow] =
                    mx ? r.m : (float)(r.s / (double)pool_divisor(&g, incl, h0, w0, r.cnt));
            }
    }
    return AXL_OK;
}

/* GlobalAveragePool spreads dy evenly; GlobalMaxPool routes it to the
 * first element equal to the maximum (PyTorch's adaptive_max_pool2d). */
static void global_pool_backward(const struct gnode *n, const float *x, const float *y,
                                 const float *dy, int64_t planes, int64_t sp, float *gx)
{
    int mx = !strcmp(n->op, "GlobalMaxPool");
#pragma omp parallel for schedule(static) if (planes * sp > PAR_MIN)
    for (int64_t p = 0; p < planes; p++) {
        if (!mx) {
            float d = (float)((double)dy[p] / (double)sp);
            for (int64_t i = 0; i < sp; i++)
                gx[p * sp + i] += d;
            continue;
        }
        for (int64_t i = 0; i < sp; i++)
            if (x[p * sp + i] == y[p]) {
                gx[p * sp + i] += dy[p];
                break;
            }
    }
}

/* MaxPool: each output's gradient to its window's maximum (pool_window
 * says which one on ties); AveragePool: spread over the window's elements
 * inside the input, divided as the forward divides. */
static enum axl_status pool_backward(struct grad_ctx *gc, const struct gnode *n, char *msg)
{
    const struct gtensor *xt = in_t(gc->c, n, 0);
    const float *x = xt->data, *dy = grad_out(gc, n, 0);
    float *gx;
    enum axl_status st = grad_in(gc, n, 0, &gx, msg);
    if (st != AXL_OK || !gx || !dy)
        return st;
    int64_t planes = xt->dims[0] * xt->dims[1];
    if (!strncmp(n->op, "Global", 6)) {
        global_pool_backward(n, x, out_t(gc->c, n, 0)->data, dy, planes,
                             planes ? gt_numel(xt) / planes : 0, gx);
        return AXL_OK;
    }
    struct pool g;
    if ((st = pool_geom(n, xt, &g, msg)) != AXL_OK)
        return st;
    int mx = !strcmp(n->op, "MaxPool");
    int incl = (int)ga_int(n, "count_include_pad", 0);
    int64_t H = g.in[0], W = g.in[1], OH = g.out[0], OW = g.out[1];
#pragma omp parallel for schedule(static) if (planes * OH * OW > PAR_MIN / 8)
    for (int64_t p = 0; p < planes; p++) { /* one plane per thread: its own elements */
        const float *xp = x + p * H * W;
        float *gp = gx + p * H * W;
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                int64_t h0 = oh * g.s[0] - g.pb[0], w0 = ow * g.s[1] - g.pb[1];
                float d = dy[(p * OH + oh) * OW + ow];
                struct pool_win r;
                pool_window(&g, xp, h0, w0, &r);
                if (mx) {
                    if (r.arg >= 0)
                        gp[r.arg] += d;
                    continue;
                }
                float a = (float)((double)d / (double)pool_divisor(&g, incl, h0, w0, r.cnt));
                for (int64_t i = 0; i < g.k[0]; i++)
                    for (int64_t j = 0; j < g.k[1]; j++) {
                        int64_t h = h0 + i * g.d[0], w = w0 + j * g.d[1];
                        if (h >= 0 && h < H && w >= 0 && w < W)
                            gp[h * W + w] += a;
                    }
            }
    }
    return AXL_OK;
}

const struct op_def axl_ops_norm[] = {
    /* the running mean and variance (inputs 3, 4) are statistics, not parameters */
    {"BatchNormalization", "epsilon,momentum,training_mode,spatial", 5, 5, 1, 1, 0, 0, bn_check,
     bn_shape, bn_exec, bn_backward, 1u << 3 | 1u << 4},
    {"LayerNormalization", "axis,epsilon,stash_type", 2, 3, 1, 3, 0, 0, NULL, ln_shape, ln_exec,
     ln_backward, 0},
    {"MaxPool", "auto_pad,ceil_mode,dilations,kernel_shape,pads,storage_order,strides", 1, 1, 1,
     1, 0, 0, pool_check, pool_shape, pool_exec, pool_backward, 0},
    {"AveragePool", "auto_pad,ceil_mode,count_include_pad,dilations,kernel_shape,pads,strides", 1,
     1, 1, 1, 0, 0, pool_check, pool_shape, pool_exec, pool_backward, 0},
    {"GlobalAveragePool", "", 1, 1, 1, 1, 0, 0, pool_check, pool_shape, pool_exec, pool_backward,
     0},
    {"GlobalMaxPool", "", 1, 1, 1, 1, 0, 0, pool_check, pool_shape, pool_exec, pool_backward, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};
