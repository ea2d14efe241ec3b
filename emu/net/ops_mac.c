/* The MAC operators: Conv, ConvTranspose, Gemm and MatMul, every product
 * and sum of their reductions through the MAC engine (axl_mac_conv2d,
 * axl_mac_gemm) with the node's configuration.  Nothing here multiplies
 * activations by weights itself; what remains is layout (ConvTranspose's
 * zero insertion, MatMul's batching) and the exact float32 epilogues ONNX
 * defines (Gemm's alpha and beta). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/mac.h"
#include "autodiff.h"
#include "exact_fast.h"
#include "graph_internal.h"

/* The node's products through its configuration, or through the fast
 * exact kernels when the run asks for them (run_ctx.fast). */
static enum axl_status node_gemm(struct run_ctx *c, const struct axl_gemm_args *ga, char *msg)
{
    return c->fast ? axl_fast_gemm(ga, msg) : axl_mac_gemm(c->mac, c->be, ga, msg);
}

static enum axl_status node_conv2d(struct run_ctx *c, const struct axl_conv_args *a, char *msg)
{
    return c->fast ? axl_fast_conv2d(a, msg) : axl_mac_conv2d(c->mac, c->be, a, msg);
}

/* ---- convolution geometry ---------------------------------------------------- */
struct conv {
    int sp;                  /* spatial dims: 1 or 2 (a 1-D one is run as H = 1) */
    int64_t n, c, oc, groups;
    int64_t in[2], k[2], s[2], d[2], pb[2], pe[2], op[2], out[2];
};

static enum axl_status conv_check(const struct axl_graph *g, const struct gnode *n, char *msg)
{
    (void)g;
    const char *ap = ga_str(n, "auto_pad", "NOTSET");
    if (strcmp(ap, "NOTSET") && strcmp(ap, "SAME_UPPER") && strcmp(ap, "SAME_LOWER") &&
        strcmp(ap, "VALID"))
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "auto_pad='%.40s' is not supported", ap);
    const int64_t *v;
    int64_t k = ga_ints(n, "kernel_shape", &v);
    if (k == 0 || k > 2)
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "%lld-D convolution (1-D and 2-D are supported)",
                        (long long)k);
    if (ga_int(n, "group", 1) < 1)
        return axl_msgf(msg, AXL_ERR_INVALID, "group %lld", (long long)ga_int(n, "group", 1));
    return AXL_OK;
}

/* Batch, channels and groups of a convolution from its input, weights and
 * bias, checked against each other. */
static enum axl_status conv_channels(const struct gnode *n, const struct gtensor *x,
                                     const struct gtensor *w, const struct gtensor *b, int tr,
                                     struct conv *g, char *msg)
{
    memset(g, 0, sizeof *g);
    g->sp = x->ndim - 2;
    g->n = x->dims[0];
    g->c = x->dims[1];
    g->groups = ga_int(n, "group", 1);
    if (tr) {
        g->oc = w->dims[1] * g->groups;
        if (w->dims[0] != g->c)
            return axl_msgf(msg, AXL_ERR_INVALID,
                            "weights for %lld input channels, the input has "
                            "%lld",
                            (long long)w->dims[0], (long long)g->c);
    } else {
        g->oc = w->dims[0];
        if (w->dims[1] * g->groups != g->c || g->oc % g->groups)
            return axl_msgf(msg, AXL_ERR_INVALID,
                            "weights %lldx%lld do not fit %lld input channels "
                            "in %lld groups",
                            (long long)w->dims[0], (long long)w->dims[1], (long long)g->c,
                            (long long)g->groups);
    }
    if (g->c % g->groups)
        return axl_msgf(msg, AXL_ERR_INVALID, "%lld channels in %lld groups", (long long)g->c,
                        (long long)g->groups);
    if (b && gt_numel(b) != g->oc)
        return axl_msgf(msg, AXL_ERR_INVALID, "bias of %lld values for %lld output channels",
                        (long long)gt_numel(b), (long long)g->oc);
    return AXL_OK;
}

/* Pads and output extent of spatial axis i (its input, kernel, strides,
 * dilations, pads and output padding already in g), under auto_pad `ap` and,
 * for a transposed convolution, the nos values of output_shape os. */
static enum axl_status conv_axis_out(struct conv *g, int i, int tr, const char *ap, int64_t nos,
                                     const int64_t *os, char *msg)
{
    int sp = g->sp;
    int same = !strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER");
    int upper = !strcmp(ap, "SAME_UPPER");
    int64_t ext = (g->k[i] - 1) * g->d[i] + 1; /* both at most 2^31: no overflow */
    enum axl_status st;
    if ((st = attr_bound("the dilated kernel's extent", ext, msg)) != AXL_OK)
        return st;
    if (!strcmp(ap, "VALID"))
        g->pb[i] = g->pe[i] = 0;
    if (!tr) {
        if (same) {
            int64_t out = (g->in[i] + g->s[i] - 1) / g->s[i];
            int64_t tot = (out - 1) * g->s[i] + ext - g->in[i];
            tot = tot > 0 ? tot : 0;
            g->pb[i] = upper ? tot / 2 : tot - tot / 2;
            g->pe[i] = tot - g->pb[i];
        }
        int64_t span = g->in[i] + g->pb[i] + g->pe[i] - ext;
        if (span < 0)
            return axl_msgf(msg, AXL_ERR_INVALID,
                            "a kernel spanning %lld does not fit a padded "
                            "input of %lld",
                            (long long)ext, (long long)(g->in[i] + g->pb[i] + g->pe[i]));
        g->out[i] = span / g->s[i] + 1;
        return AXL_OK;
    }
    int64_t full = g->s[i] * (g->in[i] - 1) + g->op[i] + ext;
    if (nos > 0 || same) {
        int64_t want = nos > 0 ? os[nos - sp + i] : g->in[i] * g->s[i];
        if (nos > 0 && (st = attr_bound("output_shape", want, msg)) != AXL_OK)
            return st;
        int64_t tot = full - want;
        if (tot < 0)
            return axl_msgf(msg, AXL_ERR_UNSUPPORTED,
                            "output_shape %lld is larger than "
                            "the full transposed convolution (%lld)",
                            (long long)want, (long long)full);
        g->pb[i] = upper ? tot / 2 : tot - tot / 2;
        g->pe[i] = tot - g->pb[i];
    }
    g->out[i] = full - g->pb[i] - g->pe[i];
    if (g->out[i] < 1)
        return axl_msgf(msg, AXL_ERR_INVALID, "the pads leave no output");
    return AXL_OK;
}

/* The whole geometry of a Conv or ConvTranspose node from its inputs and
 * attributes; a 1-D one comes out as 2-D with H = 1. */
static enum axl_status conv_geom(struct run_ctx *c, const struct gnode *n, struct conv *g,
                                 char *msg)
{
    const struct gtensor *x = in_t(c, n, 0), *w = in_t(c, n, 1), *b = in_t(c, n, 2);
    int tr = !strcmp(n->op, "ConvTranspose");
    enum axl_status st;
    if (x->dtype != GDT_F32 || w->dtype != GDT_F32 || (b && b->dtype != GDT_F32))
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "integer tensors");
    if (x->ndim != 3 && x->ndim != 4)
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED,
                        "input of rank %d (1-D and 2-D convolutions, "
                        "N x C x [H x] W, are supported)",
                        x->ndim);
    if (w->ndim != x->ndim)
        return axl_msgf(msg, AXL_ERR_INVALID, "weights of rank %d for an input of rank %d", w->ndim,
                        x->ndim);
    if ((st = conv_channels(n, x, w, b, tr, g, msg)) != AXL_OK)
        return st;
    const int64_t *ks, *sv, *dl, *pd, *op, *os;
    int64_t nk = ga_ints(n, "kernel_shape", &ks), ns = ga_ints(n, "strides", &sv),
            nd = ga_ints(n, "dilations", &dl), np = ga_ints(n, "pads", &pd),
            nop = ga_ints(n, "output_padding", &op), nos = ga_ints(n, "output_shape", &os);
    int sp = g->sp;
    if ((nk >= 0 && nk != sp) || (ns >= 0 && ns != sp) || (nd >= 0 && nd != sp) ||
        (np >= 0 && np != 2 * sp) || (nop >= 0 && nop != sp) ||
        (nos >= 0 && nos != sp && nos != sp + 2))
        return axl_msgf(msg, AXL_ERR_INVALID,
                        "kernel_shape/strides/dilations/pads/output_padding "
                        "do not have %d spatial dimensions",
                        sp);
    const char *ap = ga_str(n, "auto_pad", "NOTSET");
    for (int i = 0; i < sp; i++) {
        g->in[i] = x->dims[2 + i];
        g->k[i] = w->dims[2 + i];
        if (nk > 0 && ks[i] != g->k[i])
            return axl_msgf(msg, AXL_ERR_INVALID,
                            "kernel_shape %lld differs from the weights' %lld", (long long)ks[i],
                            (long long)g->k[i]);
        g->s[i] = ns > 0 ? sv[i] : 1;
        g->d[i] = nd > 0 ? dl[i] : 1;
        g->pb[i] = np > 0 ? pd[i] : 0;
        g->pe[i] = np > 0 ? pd[i + sp] : 0;
        g->op[i] = nop > 0 ? op[i] : 0;
        if (g->s[i] < 1 || g->d[i] < 1 || g->k[i] < 1 || g->pb[i] < 0 || g->pe[i] < 0 ||
            g->op[i] < 0)
            return axl_msgf(msg, AXL_ERR_INVALID,
                            "strides, dilations and kernel must be positive, "
                            "pads non-negative");
        if ((st = attr_bound("strides", g->s[i], msg)) ||
            (st = attr_bound("dilations", g->d[i], msg)) ||
            (st = attr_bound("pads", g->pb[i], msg)) || (st = attr_bound("pads", g->pe[i], msg)) ||
            (st = attr_bound("output_padding", g->op[i], msg)))
            return st;
        if ((st = conv_axis_out(g, i, tr, ap, nos, os, msg)) != AXL_OK)
            return st;
    }
    if (sp == 1) {
        g->in[1] = g->in[0], g->k[1] = g->k[0], g->s[1] = g->s[0], g->d[1] = g->d[0];
        g->pb[1] = g->pb[0], g->pe[1] = g->pe[0], g->op[1] = g->op[0], g->out[1] = g->out[0];
        g->in[0] = g->k[0] = g->s[0] = g->d[0] = g->out[0] = 1;
        g->pb[0] = g->pe[0] = g->op[0] = 0;
    }
    return AXL_OK;
}

enum axl_status axl_conv_window(struct run_ctx *c, const struct gnode *n, struct axl_window *w,
                                char *msg)
{
    struct conv g;
    enum axl_status st = conv_geom(c, n, &g, msg);
    if (st != AXL_OK)
        return st;
    *w = (struct axl_window){.c = g.c, .h = g.in[0], .w = g.in[1], .oc = g.oc, .oh = g.out[0],
                             .ow = g.out[1], .kh = g.k[0], .kw = g.k[1], .stride_h = g.s[0],
                             .stride_w = g.s[1], .dil_h = g.d[0], .dil_w = g.d[1],
                             .pad_t = g.pb[0], .pad_l = g.pb[1], .pad_b = g.pe[0],
                             .pad_r = g.pe[1], .groups = g.groups};
    return AXL_OK;
}

static enum axl_status conv_shape(struct run_ctx *c, const struct gnode *n, char *msg)
{
    struct conv g;
    enum axl_status st = conv_geom(c, n, &g, msg);
    if (st != AXL_OK)
        return st;
    int64_t d[4] = {g.n, g.oc, g.out[0], g.out[1]};
    if (g.sp == 1)
        d[2] = g.out[1];
    if ((st = set_out(c, n, 0, GDT_F32, g.sp + 2, d, msg)) != AXL_OK)
        return st;
    /* a transposed convolution runs as a stride-1 convolution over every
     * position of the zero-inserted input: that is the work counted (the
     * output and the weights are at most 2^31 values each, so no overflow) */
    c->macs = g.n * g.oc * g.out[0] * g.out[1] * (g.c / g.groups) * g.k[0] * g.k[1];
    return AXL_OK;
}

static enum axl_status conv_exec(struct run_ctx *c, const struct gnode *n, char *msg)
{
    struct conv g;
    enum axl_status st = conv_geom(c, n, &g, msg);
    if (st != AXL_OK)
        return st;
    const struct gtensor *b = in_t(c, n, 2);
    struct axl_conv_args a;
    memset(&a, 0, sizeof a);
    a.n = g.n, a.c = g.c, a.h = g.in[0], a.w = g.in[1];
    a.oc = g.oc, a.kh = g.k[0], a.kw = g.k[1];
    a.stride_h = g.s[0], a.stride_w = g.s[1];
    a.pad_t = g.pb[0], a.pad_b = g.pe[0], a.pad_l = g.pb[1], a.pad_r = g.pe[1];
    a.dil_h = g.d[0], a.dil_w = g.d[1];
    a.groups = g.groups;
    a.x = in_t(c, n, 0)->data;
    a.weight = in_t(c, n, 1)->data;
    a.bias = b ? b->data : NULL;
    a.y = out_t(c, n, 0)->data;
    if (c->fast)
        return axl_fast_conv2d(&a, msg);
    return g.sp == 1 ? axl_mac_conv1d(c->mac, c->be, &a, msg) : axl_mac_conv2d(c->mac, c->be, &a, msg);
}

/* ConvTranspose as a convolution: the input with (stride - 1) zeros between
 * neighbours and (dilated kernel - 1 - pad) zeros around (negative: cropped),
 * convolved at stride 1 with each group's weights transposed (in and out
 * channels swapped) and flipped in space.  The inserted zeros go through the
 * multiplier like a convolution's padding does. */
static enum axl_status convt_exec(struct run_ctx *c, const struct gnode *n, char *msg)
{
    struct conv g;
    enum axl_status st = conv_geom(c, n, &g, msg);
    if (st != AXL_OK)
        return st;
    const struct gtensor *xt = in_t(c, n, 0), *wt = in_t(c, n, 1), *b = in_t(c, n, 2);
    int64_t lead[2], hp[2];
    for (int i = 0; i < 2; i++) {
        int64_t ext = (g.k[i] - 1) * g.d[i];
        lead[i] = ext - g.pb[i];
        hp[i] = (g.in[i] - 1) * g.s[i] + 1 + lead[i] + ext - g.pe[i] + g.op[i];
    }
    int64_t cg = g.c / g.groups, ocg = g.oc / g.groups, kk = g.k[0] * g.k[1];
    int64_t zd[4] = {g.n, g.c, hp[0], hp[1]};
    if (gt_count(4, zd) < 0)
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED,
                        "the zero-inserted input (%lldx%lldx%lldx%lld) would have more than "
                        "%lld values", (long long)g.n, (long long)g.c, (long long)hp[0],
                        (long long)hp[1], (long long)GT_MAX_NUMEL);
    float *xz = calloc((size_t)(g.n * g.c * hp[0] * hp[1]), sizeof *xz);
    float *wz = malloc((size_t)(g.oc * cg * kk) * sizeof *wz);
    if (!xz || !wz) {
        free(xz), free(wz);
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory for the zero-inserted input");
    }
    const float *x = xt->data, *w = wt->data;
    for (int64_t p = 0; p < g.n * g.c; p++)
        for (int64_t h = 0; h < g.in[0]; h++) {
            int64_t zh = h * g.s[0] + lead[0];
            if (zh < 0 || zh >= hp[0])
                continue;
            for (int64_t v = 0; v < g.in[1]; v++) {
                int64_t zw = v * g.s[1] + lead[1];
                if (zw >= 0 && zw < hp[1])
                    xz[(p * hp[0] + zh) * hp[1] + zw] = x[(p * g.in[0] + h) * g.in[1] + v];
            }
        }
    /* w: [C][OC/g][KH][KW] -> wz: [OC][C/g][KH][KW], flipped */
    for (int64_t gi = 0; gi < g.groups; gi++)
        for (int64_t o = 0; o < ocg; o++)
            for (int64_t ci = 0; ci < cg; ci++)
                for (int64_t k = 0; k < kk; k++)
                    wz[((gi * ocg + o) * cg + ci) * kk + k] =
                        w[((gi * cg + ci) * ocg + o) * kk + (kk - 1 - k)];
    struct axl_conv_args a;
    memset(&a, 0, sizeof a);
    a.n = g.n, a.c = g.c, a.h = hp[0], a.w = hp[1];
    a.oc = g.oc, a.kh = g.k[0], a.kw = g.k[1];
    a.stride_h = a.stride_w = 1;
    a.dil_h = g.d[0], a.dil_w = g.d[1];
    a.groups = g.groups;
    a.x = xz;
    a.weight = wz;
    a.bias = b ? b->data : NULL;
    a.y = out_t(c, n, 0)->data;
    st = node_conv2d(c, &a, msg);
    free(xz);
    free(wz);
    return st;
}

/* ---- Gemm ----------------------------------------------------------------------- */
static enum axl_status gemm_dims(struct run_ctx *c, const struct gnode *n, int64_t *m,
                                 int64_t *nn, int64_t *k, char *msg)
{
    const struct gtensor *a = in_t(c, n, 0), *b = in_t(c, n, 1), *cc = in_t(c, n, 2);
    if (a->dtype != GDT_F32 || b->dtype != GDT_F32 || (cc && cc->dtype != GDT_F32))
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "integer tensors");
    if (a->ndim != 2 || b->ndim != 2)
        return axl_msgf(msg, AXL_ERR_INVALID, "A and B must be matrices (ranks %d and %d)", a->ndim,
                        b->ndim);
    int ta = (int)ga_int(n, "transA", 0), tb = (int)ga_int(n, "transB", 0);
    *m = a->dims[ta ? 1 : 0];
    *k = a->dims[ta ? 0 : 1];
    *nn = b->dims[tb ? 0 : 1];
    if (b->dims[tb ? 1 : 0] != *k)
        return axl_msgf(msg, AXL_ERR_INVALID,
                        "A is %lldx%lld and B %lldx%lld: inner sizes differ "
                        "(transA=%d transB=%d)",
                        (long long)a->dims[0], (long long)a->dims[1], (long long)b->dims[0],
                        (long long)b->dims[1], ta, tb);
    if (cc) {
        int64_t od[2] = {*m, *nn};
        for (int i = 0; i < cc->ndim; i++) {
            int64_t dv = cc->dims[i], want = od[2 - cc->ndim + i];
            if (cc->ndim > 2 || (dv != 1 && dv != want))
                return axl_msgf(msg, AXL_ERR_INVALID, "C does not broadcast to %lldx%lld",
                                (long long)*m, (long long)*nn);
        }
    }
    return AXL_OK;
}

static enum axl_status gemm_shape(struct run_ctx *c, const struct gnode *n, char *msg)
{
    int64_t m = 0, nn = 0, k = 0;
    enum axl_status st = gemm_dims(c, n, &m, &nn, &k, msg);
    if (st != AXL_OK)
        return st;
    int64_t d[2] = {m, nn};
    c->macs = m * nn * k;
    return set_out(c, n, 0, GDT_F32, 2, d, msg);
}

/* y = A'B' through the engine; the bias slot takes beta*C when alpha is 1
 * and C is a row (y = acc + beta*C in float32, as ONNX computes it). */
static enum axl_status gemm_exec(struct run_ctx *c, const struct gnode *n, char *msg)
{
    int64_t m = 0, nn = 0, k = 0;
    enum axl_status st = gemm_dims(c, n, &m, &nn, &k, msg);
    if (st != AXL_OK)
        return st;
    const struct gtensor *a = in_t(c, n, 0), *b = in_t(c, n, 1), *cc = in_t(c, n, 2);
    float alpha = ga_float(n, "alpha", 1.0f), beta = ga_float(n, "beta", 1.0f);
    float *y = out_t(c, n, 0)->data, *tmpb = NULL;
    const float *cd = cc ? cc->data : NULL;
    int row = cc && (cc->ndim == 1 || (cc->ndim == 2 && cc->dims[0] == 1)) &&
              cc->dims[cc->ndim - 1] == nn;
    if (cc && beta == 0.0f)
        cd = NULL, row = 0;
    struct axl_gemm_args ga;
    memset(&ga, 0, sizeof ga);
    ga.trans_a = (int)ga_int(n, "transA", 0);
    ga.trans_b = (int)ga_int(n, "transB", 0);
    ga.m = m, ga.n = nn, ga.k = k;
    ga.a = a->data, ga.lda = a->dims[1];
    ga.b = b->data, ga.ldb = b->dims[1];
    ga.c = y, ga.ldc = nn;
    if (cd && row && alpha == 1.0f) {
        if (beta != 1.0f) {
            if (!(tmpb = malloc((size_t)nn * sizeof *tmpb)))
                return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
            for (int64_t j = 0; j < nn; j++)
                tmpb[j] = beta * cd[j];
        }
        ga.bias = tmpb ? tmpb : cd;
        cd = NULL;
    }
    if (m == 0 || nn == 0)
        st = AXL_OK;
    else if (k == 0)
        memset(y, 0, (size_t)(m * nn) * sizeof *y);
    else
        st = node_gemm(c, &ga, msg);
    free(tmpb);
    if (st != AXL_OK)
        return st;
    if (k == 0 && ga.bias)
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < nn; j++)
                y[i * nn + j] += ga.bias[j];
    if (alpha != 1.0f || cd) {
        int64_t si = 0, sj = 0;
        if (cd && cc->ndim > 0) {
            si = cc->ndim == 2 && cc->dims[0] != 1 ? cc->dims[1] : 0;
            sj = cc->dims[cc->ndim - 1] != 1 ? 1 : 0;
        }
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < nn; j++) {
                float v = alpha != 1.0f ? alpha * y[i * nn + j] : y[i * nn + j];
                y[i * nn + j] = cd ? v + beta * cd[i * si + j * sj] : v;
            }
    }
    return AXL_OK;
}

/* ---- MatMul (numpy semantics) ---------------------------------------------------- */
struct mm {
    int64_t m, n, k;
    int r;                        /* batch rank of the output */
    int64_t bd[AXL_MAX_DIMS];     /* output batch dims */
    int64_t sa[AXL_MAX_DIMS], sb[AXL_MAX_DIMS]; /* matrix strides of A and B per batch dim */
    int b_shared;                 /* B has no batch (or all 1s): one GEMM over A's rows */
};

static enum axl_status mm_geom(struct run_ctx *c, const struct gnode *n, struct mm *g, int *ond,
                               int64_t *od, char *msg)
{
    const struct gtensor *a = in_t(c, n, 0), *b = in_t(c, n, 1);
    if (a->dtype != GDT_F32 || b->dtype != GDT_F32)
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "integer tensors");
    if (a->ndim < 1 || b->ndim < 1)
        return axl_msgf(msg, AXL_ERR_INVALID, "scalar operands");
    memset(g, 0, sizeof *g);
    int a1 = a->ndim == 1, b1 = b->ndim == 1;
    g->m = a1 ? 1 : a->dims[a->ndim - 2];
    g->k = a->dims[a->ndim - 1];
    g->n = b1 ? 1 : b->dims[b->ndim - 1];
    int64_t kb = b1 ? b->dims[0] : b->dims[b->ndim - 2];
    if (kb != g->k)
        return axl_msgf(msg, AXL_ERR_INVALID, "inner sizes differ: %lld and %lld", (long long)g->k,
                        (long long)kb);
    struct gtensor ba, bb;
    memset(&ba, 0, sizeof ba);
    memset(&bb, 0, sizeof bb);
    ba.ndim = a1 ? 0 : a->ndim - 2;
    bb.ndim = b1 ? 0 : b->ndim - 2;
    memcpy(ba.dims, a->dims, (size_t)ba.ndim * sizeof(int64_t));
    memcpy(bb.dims, b->dims, (size_t)bb.ndim * sizeof(int64_t));
    enum axl_status st = bcast_shape(&ba, &bb, &g->r, g->bd, msg);
    if (st != AXL_OK)
        return st;
    bcast_strides(&ba, g->r, g->bd, g->sa);
    bcast_strides(&bb, g->r, g->bd, g->sb);
    g->b_shared = gt_numel(&bb) == 1;
    int k = 0;
    for (int i = 0; i < g->r; i++)
        od[k++] = g->bd[i];
    if (!a1)
        od[k++] = g->m;
    if (!b1)
        od[k++] = g->n;
    *ond = k;
    return AXL_OK;
}

/* A MatMul's geometry, its output shape and the number of matrix products
 * of the batch. */
struct mm_call {
    struct mm g;
    int nd;
    int64_t d[AXL_MAX_DIMS + 2];
    int64_t batch;
};

static enum axl_status mm_prepare(struct run_ctx *c, const struct gnode *n, struct mm_call *q,
                                  char *msg)
{
    enum axl_status st = mm_geom(c, n, &q->g, &q->nd, q->d, msg);
    q->batch = 1;
    for (int i = 0; st == AXL_OK && i < q->g.r; i++)
        q->batch *= q->g.bd[i];
    return st;
}

static enum axl_status mm_shape(struct run_ctx *c, const struct gnode *n, char *msg)
{
    struct mm_call q;
    enum axl_status st = mm_prepare(c, n, &q, msg);
    if (st != AXL_OK)
        return st;
    c->macs = q.batch * q.g.m * q.g.n * q.g.k;
    return set_out(c, n, 0, GDT_F32, q.nd, q.d, msg);
}

static enum axl_status mm_exec(struct run_ctx *c, const struct gnode *n, char *msg)
{
    struct mm_call q;
    enum axl_status st = mm_prepare(c, n, &q, msg);
    if (st != AXL_OK)
        return st;
    const struct mm g = q.g;
    const int64_t batch = q.batch;
    const float *a = in_t(c, n, 0)->data, *b = in_t(c, n, 1)->data;
    float *y = out_t(c, n, 0)->data;
    if (g.m == 0 || g.n == 0 || batch == 0)
        return AXL_OK;
    if (g.k == 0) {
        memset(y, 0, (size_t)(batch * g.m * g.n) * sizeof *y);
        return AXL_OK;
    }
    struct axl_gemm_args ga;
    memset(&ga, 0, sizeof ga);
    ga.n = g.n, ga.k = g.k;
    ga.lda = g.k, ga.ldb = g.n, ga.ldc = g.n;
    int a_full = 1; /* A's batch dims are the output's: its rows stack */
    for (int i = 0; i < g.r; i++)
        if (g.bd[i] != 1 && g.sa[i] == 0)
            a_full = 0;
    if (g.b_shared && a_full) {
        /* one product over all of A's rows, so that a per-tensor activation
         * range (integer formats) covers the whole tensor */
        ga.m = batch * g.m;
        ga.a = a, ga.b = b, ga.c = y;
        return node_gemm(c, &ga, msg);
    }
    ga.m = g.m;
    for (int64_t t = 0; t < batch && st == AXL_OK; t++) {
        int64_t rem = t, oa = 0, ob = 0;
        for (int i = g.r - 1; i >= 0; i--) {
            int64_t q = rem % g.bd[i];
            rem /= g.bd[i];
            oa += q * g.sa[i];
            ob += q * g.sb[i];
        }
        ga.a = a + oa * g.m * g.k;
        ga.b = b + ob * g.k * g.n;
        ga.c = y + t * g.m * g.n;
        st = node_gemm(c, &ga, msg);
    }
    return st;
}

/* ---- backward ---------------------------------------------------------------------
 * The gradient products of a MAC node are themselves GEMMs.  With the
 * straight-through estimator (the default) they are exact float32 GEMMs
 * over the operands as the node's formats quantize them (the values the
 * forward multiplied); with gc->approx they go through the node's own
 * configuration instead, the output gradient as the activation operand
 * of the input gradient and as the weight operand of the weight gradient,
 * as approximate-backpropagation tools compute them. */

static float *bw_alloc(int64_t n);

/* The approximate product with the gradient operand (A when grad_a, B
 * otherwise; stored as rows x ld) scaled by a power of two into its
 * format's range first, and the result scaled back: without it, gradients
 * of 1e-3 flush to zero in the narrow floating formats. */
static enum axl_status bw_gemm_scaled(struct grad_ctx *gc, struct axl_gemm_args *ga, int grad_a,
                                      char *msg)
{
    int64_t rows = grad_a ? (ga->trans_a ? ga->k : ga->m) : (ga->trans_b ? ga->n : ga->k);
    int64_t ld = grad_a ? ga->lda : ga->ldb, cnt = rows * ld;
    const float *g = grad_a ? ga->a : ga->b;
    float amax = 0.0f;
    for (int64_t i = 0; i < cnt; i++)
        amax = fabsf(g[i]) > amax ? fabsf(g[i]) : amax;
    float s = axl_mac_operand_scale(gc->mac, !grad_a, amax);
    if (s == 1.0f)
        return axl_mac_gemm(gc->mac, gc->c->be, ga, msg);
    float *t = bw_alloc(cnt);
    if (!t)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < cnt; i++)
        t[i] = g[i] * s;
    if (grad_a)
        ga->a = t;
    else
        ga->b = t;
    enum axl_status st = axl_mac_gemm(gc->mac, gc->c->be, ga, msg);
    free(t);
    for (int64_t i = 0; st == AXL_OK && i < ga->m * ga->n; i++)
        ga->c[i] /= s;
    return st;
}

/* C[M][N] = op(A) op(B) through the backward's configuration; grad_a: A
 * is the output gradient (else B) */
static enum axl_status bw_gemm(struct grad_ctx *gc, int grad_a, int ta, int tb, int64_t m,
                               int64_t n, int64_t k, const float *a, int64_t lda, const float *b,
                               int64_t ldb, float *c, char *msg)
{
    struct axl_gemm_args ga;
    memset(&ga, 0, sizeof ga);
    ga.trans_a = ta, ga.trans_b = tb;
    ga.m = m, ga.n = n, ga.k = k;
    ga.a = a, ga.lda = lda, ga.b = b, ga.ldb = ldb, ga.c = c, ga.ldc = n;
    if (m == 0 || n == 0)
        return AXL_OK;
    if (k == 0) {
        memset(c, 0, (size_t)(m * n) * sizeof *c);
        return AXL_OK;
    }
    if (!gc->approx)
        return grad_sgemm(ta, tb, m, n, k, a, lda, b, ldb, c, msg);
    return bw_gemm_scaled(gc, &ga, grad_a, msg);
}

static float *bw_alloc(int64_t n)
{
    return malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
}

/* The straight-through estimator passes no gradient to an operand the
 * forward clipped to its format's largest value (the clipped estimator
 * of quantization-aware training: Bengio et al., arXiv:1308.3432, 2013;
 * Hubara et al., JMLR 18, 2018): without it, values held at the limit
 * keep growing.  The limit of operand role, INFINITY where nothing clips
 * or the gradient products are the approximate ones. */
static float bw_limit(const struct grad_ctx *gc, int role)
{
    return gc->approx || gc->mac == gc->exact ? INFINITY : axl_mac_operand_limit(gc->mac, role);
}

static float bw_pass(float lim, float v)
{
    return fabsf(v) <= lim ? 1.0f : 0.0f;
}

/* The operands of the gradient products: the forward's quantized values
 * (straight-through) or the raw ones (approximate products quantize them
 * themselves).  *qa, *qb are NULL when the raw ones serve. */
static enum axl_status bw_operands(struct grad_ctx *gc, const float *a, int64_t na,
                                   const float *b, int64_t nout, int64_t k, int64_t sn,
                                   int64_t sk, float **qa, float **qb, char *msg)
{
    *qa = *qb = NULL;
    if (gc->approx || gc->mac == gc->exact)
        return AXL_OK;
    *qa = bw_alloc(na);
    *qb = bw_alloc(nout * k);
    if (!*qa || !*qb)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    enum axl_status st = axl_mac_quantize_acts(gc->mac, a, na, *qa, msg);
    if (st == AXL_OK)
        st = axl_mac_quantize_weights(gc->mac, b, nout, k, sn, sk, *qb, msg);
    return st;
}

static enum axl_status gemm_backward(struct grad_ctx *gc, const struct gnode *n, char *msg)
{
    struct run_ctx *c = gc->c;
    int64_t m = 0, nn = 0, k = 0;
    enum axl_status st = gemm_dims(c, n, &m, &nn, &k, msg);
    if (st != AXL_OK)
        return st;
    const float *dy = grad_out(gc, n, 0);
    const struct gtensor *at = in_t(c, n, 0), *bt = in_t(c, n, 1);
    int ta = (int)ga_int(n, "transA", 0), tb = (int)ga_int(n, "transB", 0);
    float alpha = ga_float(n, "alpha", 1.0f), beta = ga_float(n, "beta", 1.0f);
    float *ga_, *gb, *gcc, *qa = NULL, *qb = NULL, *t = NULL;
    if ((st = grad_in(gc, n, 0, &ga_, msg)) || (st = grad_in(gc, n, 1, &gb, msg)) ||
        (st = grad_in(gc, n, 2, &gcc, msg)))
        return st;
    if (gcc && beta != 0.0f) {
        int64_t od[2] = {m, nn};
        if (!(t = bw_alloc(m * nn)))
            return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
        for (int64_t i = 0; i < m * nn; i++)
            t[i] = beta * dy[i];
        st = grad_in_reduce(gc, n, 2, t, 2, od, msg);
        free(t);
        t = NULL;
    }
    if (st == AXL_OK)
        st = bw_operands(gc, at->data, m * k, bt->data, nn, k, tb ? k : 1, tb ? 1 : nn, &qa, &qb,
                         msg);
    const float *a = qa ? qa : at->data, *b = qb ? qb : bt->data;
    const float *at_ = at->data, *bt_ = bt->data, la = bw_limit(gc, 0), lw = bw_limit(gc, 1);
    if (st == AXL_OK && ga_) { /* d op(A) [m][k] = dY [m][n] x op(B)^T [n][k] */
        if (!(t = bw_alloc(m * k)))
            st = axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
        else if ((st = bw_gemm(gc, 1, 0, !tb, m, k, nn, dy, nn, b, bt->dims[1], t, msg)) ==
                 AXL_OK)
            for (int64_t i = 0; i < m; i++)
                for (int64_t j = 0; j < k; j++)
                    ga_[ta ? j * m + i : i * k + j] +=
                        alpha * t[i * k + j] * bw_pass(la, at_[ta ? j * m + i : i * k + j]);
        free(t);
        t = NULL;
    }
    if (st == AXL_OK && gb) { /* d op(B) [k][n] = op(A)^T [k][m] x dY [m][n] */
        if (!(t = bw_alloc(k * nn)))
            st = axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
        else if ((st = bw_gemm(gc, 0, !ta, 0, k, nn, m, a, at->dims[1], dy, nn, t, msg)) ==
                 AXL_OK)
            for (int64_t i = 0; i < k; i++)
                for (int64_t j = 0; j < nn; j++)
                    gb[tb ? j * k + i : i * nn + j] +=
                        alpha * t[i * nn + j] * bw_pass(lw, bt_[tb ? j * k + i : i * nn + j]);
        free(t);
    }
    free(qa);
    free(qb);
    return st;
}

/* adds the gradients of one product C[m][n] = A[m][k] B[k][n] of a MatMul
 * (row-major slices, dy its output gradient) into ga and gb (either NULL) */
static enum axl_status mm_bw_slice(struct grad_ctx *gc, const float *a, const float *b,
                                   const float *dy, int64_t m, int64_t nn, int64_t k, float *ga,
                                   float *gb, float *tmp, char *msg)
{
    float *qa = NULL, *qb = NULL, la = bw_limit(gc, 0), lw = bw_limit(gc, 1);
    const float *ra = a, *rb = b;
    enum axl_status st = bw_operands(gc, a, m * k, b, nn, k, 1, nn, &qa, &qb, msg);
    if (qa)
        a = qa;
    if (qb)
        b = qb;
    if (st == AXL_OK && ga &&
        (st = bw_gemm(gc, 1, 0, 1, m, k, nn, dy, nn, b, nn, tmp, msg)) == AXL_OK)
        for (int64_t i = 0; i < m * k; i++)
            ga[i] += tmp[i] * bw_pass(la, ra[i]);
    if (st == AXL_OK && gb &&
        (st = bw_gemm(gc, 0, 1, 0, k, nn, m, a, k, dy, nn, tmp, msg)) == AXL_OK)
        for (int64_t i = 0; i < k * nn; i++)
            gb[i] += tmp[i] * bw_pass(lw, rb[i]);
    free(qa);
    free(qb);
    return st;
}

static enum axl_status mm_backward(struct grad_ctx *gc, const struct gnode *n, char *msg)
{
    struct mm_call q;
    enum axl_status st = mm_prepare(gc->c, n, &q, msg);
    if (st != AXL_OK)
        return st;
    const struct mm g = q.g;
    const float *a = in_t(gc->c, n, 0)->data, *b = in_t(gc->c, n, 1)->data;
    const float *dy = grad_out(gc, n, 0);
    float *ga, *gb;
    if ((st = grad_in(gc, n, 0, &ga, msg)) || (st = grad_in(gc, n, 1, &gb, msg)))
        return st;
    if (g.m == 0 || g.n == 0 || g.k == 0 || q.batch == 0)
        return AXL_OK;
    float *tmp = bw_alloc((g.m > g.n ? g.m : g.n) * g.k);
    if (!tmp)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    int a_full = 1;
    for (int i = 0; i < g.r; i++)
        if (g.bd[i] != 1 && g.sa[i] == 0)
            a_full = 0;
    if (g.b_shared && a_full) { /* as the forward: one product over all of A's rows */
        free(tmp);
        if (!(tmp = bw_alloc((q.batch * g.m > g.n ? q.batch * g.m : g.n) * g.k)))
            return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
        st = mm_bw_slice(gc, a, b, dy, q.batch * g.m, g.n, g.k, ga, gb, tmp, msg);
        free(tmp);
        return st;
    }
    for (int64_t t = 0; t < q.batch && st == AXL_OK; t++) {
        int64_t rem = t, oa = 0, ob = 0;
        for (int i = g.r - 1; i >= 0; i--) {
            int64_t qi = rem % g.bd[i];
            rem /= g.bd[i];
            oa += qi * g.sa[i];
            ob += qi * g.sb[i];
        }
        st = mm_bw_slice(gc, a + oa * g.m * g.k, b + ob * g.k * g.n, dy + t * g.m * g.n, g.m,
                         g.n, g.k, ga ? ga + oa * g.m * g.k : NULL,
                         gb ? gb + ob * g.k * g.n : NULL, tmp, msg);
    }
    free(tmp);
    return st;
}

/* im2col of one image and group into columns [off, off + P) of col[K][ld],
 * K = cg*KH*KW, P = OH*OW */
static void im2col(const struct conv *g, const float *x, int64_t cg, float *col, int64_t ld,
                   int64_t off)
{
    const int64_t oh = g->out[0], ow = g->out[1], P = oh * ow;
#pragma omp parallel for schedule(static) if (cg * g->k[0] * g->k[1] * P > 65536)
    for (int64_t r = 0; r < cg * g->k[0] * g->k[1]; r++) {
        int64_t ci = r / (g->k[0] * g->k[1]), ki = r / g->k[1] % g->k[0], kj = r % g->k[1];
        float *dst = col + r * ld + off;
        for (int64_t oy = 0; oy < oh; oy++) {
            int64_t yi = oy * g->s[0] - g->pb[0] + ki * g->d[0];
            const float *src = x + (ci * g->in[0] + yi) * g->in[1];
            for (int64_t ox = 0; ox < ow; ox++) {
                int64_t xi = ox * g->s[1] - g->pb[1] + kj * g->d[1];
                dst[oy * ow + ox] = yi >= 0 && yi < g->in[0] && xi >= 0 && xi < g->in[1]
                                        ? src[xi] : 0.0f;
            }
        }
    }
}

/* adds rows [off, off + P) of colT[.][K] (the transposed im2col gradient)
 * into one image's group */
static void col2im_add(const struct conv *g, const float *colT, int64_t off, int64_t cg,
                       float *dx, const float *x, float lim)
{
    const int64_t oh = g->out[0], ow = g->out[1], K = cg * g->k[0] * g->k[1];
#pragma omp parallel for schedule(static) if (K * oh * ow > 65536)
    for (int64_t ci = 0; ci < cg; ci++) /* one channel per thread: no two add at once */
        for (int64_t kk = 0; kk < g->k[0] * g->k[1]; kk++) {
            int64_t r = ci * g->k[0] * g->k[1] + kk, ki = kk / g->k[1], kj = kk % g->k[1];
            for (int64_t oy = 0; oy < oh; oy++) {
                int64_t yi = oy * g->s[0] - g->pb[0] + ki * g->d[0];
                if (yi < 0 || yi >= g->in[0])
                    continue;
                float *drow = dx + (ci * g->in[0] + yi) * g->in[1];
                const float *xrow = x + (ci * g->in[0] + yi) * g->in[1];
                const float *src = colT + (off + oy * ow) * K + r;
                for (int64_t ox = 0; ox < ow; ox++) {
                    int64_t xi = ox * g->s[1] - g->pb[1] + kj * g->d[1];
                    if (xi >= 0 && xi < g->in[1])
                        drow[xi] += src[ox * K] * bw_pass(lim, xrow[xi]);
                }
            }
        }
}

/* Buffers of one chunk of images of a convolution's backward. */
struct conv_bw {
    float *col;  /* [K][nb*P] im2col of the chunk */
    float *dyg;  /* [ocg][nb*P] the group's output gradient */
    float *t;    /* [max(K*ocg, nb*P*K)] a product */
    int64_t nb;  /* images per chunk */
    const float *xr, *wr; /* the raw input and weights (where the forward clipped) */
};

/* dW and dX of images [i0, i0 + nb) and group gi: one product each over
 * the whole chunk, the weight gradient summed over its images there */
static enum axl_status conv_bw_chunk(struct grad_ctx *gc, const struct conv *g, const float *x,
                                     const float *w, const float *dy, float *gx, float *gw,
                                     struct conv_bw *b, int64_t i0, int64_t nb, int64_t gi,
                                     char *msg)
{
    const int64_t G = g->groups, cg = g->c / G, ocg = g->oc / G, P = g->out[0] * g->out[1];
    const int64_t K = cg * g->k[0] * g->k[1], hw = g->in[0] * g->in[1], L = nb * P;
    const float *xr = b->xr, *wr = b->wr, lw = bw_limit(gc, 1);
    enum axl_status st = AXL_OK;
    for (int64_t i = 0; i < nb; i++)
        for (int64_t o = 0; o < ocg; o++)
            memcpy(b->dyg + o * L + i * P, dy + ((i0 + i) * g->oc + gi * ocg + o) * P,
                   (size_t)P * sizeof(float));
    if (gw) { /* dW^T [K][ocg] = col [K][L] x dY^T [L][ocg] */
        for (int64_t i = 0; i < nb; i++)
            im2col(g, x + ((i0 + i) * g->c + gi * cg) * hw, cg, b->col, L, i * P);
        if ((st = bw_gemm(gc, 0, 0, 1, K, ocg, L, b->col, L, b->dyg, L, b->t, msg)) != AXL_OK)
            return st;
        for (int64_t o = 0; o < ocg; o++)
            for (int64_t r = 0; r < K; r++)
                gw[(gi * ocg + o) * K + r] +=
                    b->t[r * ocg + o] * bw_pass(lw, wr[(gi * ocg + o) * K + r]);
    }
    if (gx) { /* dcol^T [L][K] = dY^T [L][ocg] x W [ocg][K] */
        if ((st = bw_gemm(gc, 1, 1, 0, L, K, ocg, b->dyg, L, w + gi * ocg * K, K, b->t, msg)))
            return st;
        for (int64_t i = 0; i < nb; i++)
            col2im_add(g, b->t, i * P, cg, gx + ((i0 + i) * g->c + gi * cg) * hw,
                       xr + ((i0 + i) * g->c + gi * cg) * hw, bw_limit(gc, 0));
    }
    return AXL_OK;
}

static enum axl_status conv_backward(struct grad_ctx *gc, const struct gnode *n, char *msg)
{
    struct conv g;
    enum axl_status st = conv_geom(gc->c, n, &g, msg);
    if (st != AXL_OK)
        return st;
    const struct gtensor *xt = in_t(gc->c, n, 0), *wt = in_t(gc->c, n, 1);
    const float *dy = grad_out(gc, n, 0);
    float *gx, *gw, *gb, *qx = NULL, *qw = NULL;
    if ((st = grad_in(gc, n, 0, &gx, msg)) || (st = grad_in(gc, n, 1, &gw, msg)) ||
        (st = grad_in(gc, n, 2, &gb, msg)))
        return st;
    const int64_t G = g.groups, cg = g.c / G, ocg = g.oc / G, P = g.out[0] * g.out[1];
    const int64_t K = cg * g.k[0] * g.k[1], hw = g.in[0] * g.in[1];
    if (gb)
        for (int64_t i = 0; i < g.n; i++)
            for (int64_t o = 0; o < g.oc; o++)
                for (int64_t p = 0; p < P; p++)
                    gb[o] += dy[(i * g.oc + o) * P + p];
    if ((!gx && !gw) || P == 0 || K == 0)
        return AXL_OK;
    st = bw_operands(gc, xt->data, g.n * g.c * hw, wt->data, g.oc, K, K, 1, &qx, &qw, msg);
    const float *x = qx ? qx : xt->data, *w = qw ? qw : wt->data;
    /* images per chunk: an im2col buffer of at most 4 Mi values (16 MiB) */
    struct conv_bw b = {NULL, NULL, NULL, (4ll << 20) / (K * P), xt->data, wt->data};
    b.nb = b.nb < 1 ? 1 : b.nb > g.n ? g.n : b.nb;
    int64_t L = b.nb * P, tn = K * ocg > L * K ? K * ocg : L * K;
    b.col = bw_alloc(K * L), b.dyg = bw_alloc(ocg * L), b.t = bw_alloc(tn);
    if (st == AXL_OK && (!b.col || !b.dyg || !b.t))
        st = axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    for (int64_t i0 = 0; i0 < g.n && st == AXL_OK; i0 += b.nb)
        for (int64_t gi = 0; gi < G && st == AXL_OK; gi++)
            st = conv_bw_chunk(gc, &g, x, w, dy, gx, gw, &b, i0,
                               g.n - i0 < b.nb ? g.n - i0 : b.nb, gi, msg);
    free(b.col);
    free(b.dyg);
    free(b.t);
    free(qx);
    free(qw);
    return st;
}

const struct op_def axl_ops_mac[] = {
    {"Conv", "auto_pad,dilations,group,kernel_shape,pads,strides", 2, 3, 1, 1, 1, 0, conv_check,
     conv_shape, conv_exec, conv_backward, 0},
    {"ConvTranspose", "auto_pad,dilations,group,kernel_shape,output_padding,output_shape,pads,"
     "strides", 2, 3, 1, 1, 1, 0, conv_check, conv_shape, convt_exec, NULL, 0},
    {"Gemm", "alpha,beta,transA,transB", 2, 3, 1, 1, 1, 0, NULL, gemm_shape, gemm_exec,
     gemm_backward, 0},
    {"MatMul", "", 2, 2, 1, 1, 1, 0, NULL, mm_shape, mm_exec, mm_backward, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};
