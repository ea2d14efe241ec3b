/* Exact float32 normalisations (BatchNormalization, LayerNormalization)
 * and pooling (MaxPool, AveragePool, their global forms). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph_internal.h"

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
    return same_shape(c, n, msg);
}

static enum axl_status bn_exec(struct run_ctx *c, const struct gnode *n, char *msg)
{
    (void)msg;
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
        double m = 0, v = 0;
        for (int64_t i = 0; i < inner; i++)
            m += xr[i];
        m /= (double)inner;
        for (int64_t i = 0; i < inner; i++)
            v += ((double)xr[i] - m) * ((double)xr[i] - m);
        v /= (double)inner;
        double inv = 1.0 / sqrt(v + eps);
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
#pragma omp parallel for schedule(static) if (planes * OH * OW > PAR_MIN / 8)
    for (int64_t p = 0; p < planes; p++) {
        const float *xp = x + p * H * W;
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                int64_t h0 = oh * g.s[0] - g.pb[0], w0 = ow * g.s[1] - g.pb[1];
                float m = -INFINITY;
                double s = 0;
                int64_t cnt = 0;
                for (int64_t i = 0; i < g.k[0]; i++) {
                    int64_t h = h0 + i * g.d[0];
                    if (h < 0 || h >= H)
                        continue;
                    for (int64_t j = 0; j < g.k[1]; j++) {
                        int64_t w = w0 + j * g.d[1];
                        if (w < 0 || w >= W)
                            continue;
                        float v = xp[h * W + w];
                        m = v > m || isnan(v) ? v : m;
                        s += v;
                        cnt++;
                    }
                }
                if (!mx && incl) {
                    /* the window clipped to the padded input, as PyTorch counts it */
                    int64_t he = h0 + (g.k[0] - 1) * g.d[0] + 1, we = w0 + (g.k[1] - 1) * g.d[1] + 1;
                    he = he < H + g.pe[0] ? he : H + g.pe[0];
                    we = we < W + g.pe[1] ? we : W + g.pe[1];
                    cnt = ((he - h0 + g.d[0] - 1) / g.d[0]) * ((we - w0 + g.d[1] - 1) / g.d[1]);
                }
                y[(p * OH + oh) * OW + ow] = mx ? m : (float)(s / (double)(cnt ? cnt : 1));
            }
    }
    return AXL_OK;
}

const struct op_def axl_ops_norm[] = {
    {"BatchNormalization", "epsilon,momentum,training_mode,spatial", 5, 5, 1, 1, 0, 0, bn_check,
     bn_shape, bn_exec, NULL, 0},
    {"LayerNormalization", "axis,epsilon,stash_type", 2, 3, 1, 3, 0, 0, NULL, ln_shape, ln_exec, NULL, 0},
    {"MaxPool", "auto_pad,ceil_mode,dilations,kernel_shape,pads,storage_order,strides", 1, 1, 1,
     1, 0, 0, pool_check, pool_shape, pool_exec, NULL, 0},
    {"AveragePool", "auto_pad,ceil_mode,count_include_pad,dilations,kernel_shape,pads,strides", 1,
     1, 1, 1, 0, 0, pool_check, pool_shape, pool_exec, NULL, 0},
    {"GlobalAveragePool", "", 1, 1, 1, 1, 0, 0, pool_check, pool_shape, pool_exec, NULL, 0},
    {"GlobalMaxPool", "", 1, 1, 1, 1, 0, 0, pool_check, pool_shape, pool_exec, NULL, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};
