/* The encoding of a converted SNN (include/axlut/snn.h): every
 * layer's weights normalised (Diehl et al. 2015, data-based normalisation;
 * Rueckauer et al. 2017, section 2.3: w * lambda_{l-1} / lambda_l,
 * b / lambda_l, threshold 1), quantised to the weight format and encoded
 * in the membrane format. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snn_internal.h"

/* the value w quantised to the weight format fw (intN: by scale q) */
static float quantize_w(const struct axl_format *fw, float w, double q)
{
    if (fw->kind == AXL_KIND_FLOAT)
        return axl_format_decode(fw, axl_format_encode(fw, w, AXL_ROUND_NEAREST_EVEN, 0));
    if (q == 0)
        return 0;
    float c = axl_format_decode(fw, axl_format_encode(fw, (float)(w / q),
                                                      AXL_ROUND_NEAREST_EVEN, 0));
    return (float)(c * q);
}

static uint32_t enc(const struct axl_snn *s, const struct snn_layer *l, double x)
{
    return axl_format_encode(&snn_ar(s, l)->facc, (float)(x / l->scale), AXL_ROUND_NEAREST_EVEN,
                             0);
}

/* fixed-point bits of an intN membrane so that B fits: (bits - 1) - ceil(log2 B) */
static int frac_bits(const struct axl_format *f, double B)
{
    int e;
    double m = frexp(B, &e); /* B = m * 2^e, m in [0.5, 1) */
    int c = m == 0.5 ? e - 1 : e;
    return (f->bits - 1) - c;
}

/* the divisor of the average pool's output (oy, ox), as ONNX defines it */
static int64_t pool_div(const struct axl_window *w, int incl, int64_t oy, int64_t ox)
{
    int64_t h0 = oy * w->stride_h - w->pad_t, w0 = ox * w->stride_w - w->pad_l, cnt = 0;
    if (incl) {
        int64_t he = h0 + (w->kh - 1) * w->dil_h + 1, we = w0 + (w->kw - 1) * w->dil_w + 1;
        he = he < w->h + w->pad_b ? he : w->h + w->pad_b;
        we = we < w->w + w->pad_r ? we : w->w + w->pad_r;
        cnt = ((he - h0 + w->dil_h - 1) / w->dil_h) * ((we - w0 + w->dil_w - 1) / w->dil_w);
    } else {
        for (int64_t i = 0; i < w->kh; i++)
            for (int64_t j = 0; j < w->kw; j++) {
                int64_t y = h0 + i * w->dil_h, x = w0 + j * w->dil_w;
                cnt += y >= 0 && y < w->h && x >= 0 && x < w->w;
            }
    }
    return cnt ? cnt : 1;
}

/* the normalised weight values of l (avgpool: one per output position; an
 * Add's identity shortcut: one for all) */
static enum axl_status scaled_weights(struct snn_layer *l, double sw, float **out, char *msg)
{
    int pool = l->kind == AXL_SNN_AVGPOOL;
    l->nwc = pool ? l->win.oh * l->win.ow : l->kind == AXL_SNN_ADD ? 1 : l->nw;
    float *v = malloc((size_t)l->nwc * sizeof *v + 1);
    if (!v)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    for (int64_t p = 0; p < l->nwc; p++)
        v[p] = pool ? (float)(sw / (double)pool_div(&l->win, l->win.count_include_pad,
                                                     p / l->win.ow, p % l->win.ow))
             : l->kind == AXL_SNN_ADD ? (float)sw : (float)(l->w[p] * sw);
    *out = v;
    return AXL_OK;
}

static int has_synapses(const struct snn_layer *l)
{
    return l->kind == AXL_SNN_CONV || l->kind == AXL_SNN_DENSE || l->kind == AXL_SNN_AVGPOOL ||
           (l->kind == AXL_SNN_ADD && l->src >= 0);
}

/* biases per layer: an Add's are the sum of its projections' */
static int64_t bias_count(const struct snn_layer *l)
{
    return l->has_bias && l->into < 0 ? l->n_out / l->bias_per : 0;
}

/* l's weights normalised for its source's lambda lam_src and its
 * membrane's lambda lam_dst, quantised to the weight format: l->wv */
static enum axl_status prepare_layer(struct snn_layer *l, double lam_src,
                                     double lam_dst, char *msg)
{
    enum axl_status rc = scaled_weights(l, lam_src / lam_dst, &l->wv, msg);
    if (rc != AXL_OK)
        return rc;
    l->wmax = 0;
    for (int64_t p = 0; p < l->nwc; p++)
        l->wmax = fmax(l->wmax, fabs((double)l->wv[p]));
    int qbits = l->fw.kind == AXL_KIND_INT ? l->fw.bits : 0;
    double q = qbits ? l->wmax / (double)((1u << (qbits - 1)) - 1u) : 0;
    for (int64_t p = 0; p < l->nwc; p++)
        l->wv[p] = quantize_w(&l->fw, l->wv[p], q);
    return AXL_OK;
}

/* the intN fixed point of membrane owner o: 4 x the largest of threshold,
 * weights and biases of it and its projections fits (the membrane
 * readout: 2 * max_steps times the largest |ANN output| too) */
static void fixed_point(struct axl_snn *s, struct snn_layer *o, const struct axl_snn_settings *st)
{
    double m = fmax(o->wmax, o->bmax);
    for (size_t k = 0; k < s->n; k++)
        if (s->L[k].into == o - s->L)
            m = fmax(m, s->L[k].wmax);
    double B = 4 * fmax(1.0, m);
    if (o->readout && !o->spiking)
        B = fmax(4 * m, 2.0 * (double)st->max_steps * o->out_max);
    o->frac = frac_bits(&o->ar.facc, B > 0 ? B : 1);
    o->scale = (float)ldexp(1.0, -o->frac);
}

/* l's weights, biases and threshold as codes of the membrane format */
static enum axl_status encode_layer(struct axl_snn *s, struct snn_layer *l, char *msg)
{
    int64_t nb = bias_count(l);
    l->wc = l->wv ? malloc((size_t)l->nwc * sizeof *l->wc + 1) : NULL;
    l->bc = nb ? malloc((size_t)nb * sizeof *l->bc) : NULL;
    if ((l->wv && !l->wc) || (nb && !l->bc))
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    for (int64_t p = 0; l->wv && p < l->nwc; p++)
        l->wc[p] = enc(s, l, l->wv[p]);
    if (l->wc && l->kind == AXL_SNN_DENSE) {
        int64_t K = l->n_in, N = l->n_out;
        if (!(l->wct = malloc((size_t)(K * N) * sizeof *l->wct + 1)))
            return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
        for (int64_t j = 0; j < N; j++)
            for (int64_t i = 0; i < K; i++)
                l->wct[i * N + j] = l->wc[j * K + i];
    }
    for (int64_t j = 0; j < nb; j++)
        l->bc[j] = enc(s, l, (double)l->b[j] / l->lambda);
    l->theta = enc(s, l, 1.0);
    l->neg_theta = enc(s, l, -1.0);
    l->theta_val = axl_format_decode(&snn_ar(s, l)->facc, l->theta);
    if (l == &s->L[0] && s->coding == AXL_SNN_CODING_DIRECT)
        l->wq = l->wv, l->wv = NULL; /* the first layer's currents come from the values */
    free(l->wv);
    l->wv = NULL;
    return AXL_OK;
}

/* Concat's sources share the largest of their lambdas (repeated: a
 * source may be in two concats) */
static void share_concat_lambdas(struct axl_snn *s)
{
    for (int changed = 1; changed;) {
        changed = 0;
        for (size_t k = 0; k < s->n; k++) {
            struct snn_layer *c = &s->L[k];
            if (c->kind != AXL_SNN_CONCAT)
                continue;
            double m = 0;
            for (int i = 0; i < c->nsrc; i++)
                m = fmax(m, s->L[c->srcs[i]].lambda);
            for (int i = 0; i < c->nsrc; i++) {
                changed |= s->L[c->srcs[i]].lambda != m;
                s->L[c->srcs[i]].lambda = m;
            }
            c->lambda = m;
        }
    }
}

/* an Add's bias: the sum of its projections' */
static enum axl_status sum_biases(struct axl_snn *s, struct snn_layer *a, char *msg)
{
    int64_t nb = a->n_out / a->bias_per;
    for (size_t k = 0; k < s->n; k++) {
        const struct snn_layer *p = &s->L[k];
        if (p->into != a - s->L || !p->has_bias)
            continue;
        if (!a->b && !(a->b = calloc((size_t)nb + 1, sizeof *a->b)))
            return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
        for (int64_t j = 0; j < nb; j++)
            a->b[j] += p->b[j];
        a->has_bias = 1;
    }
    return AXL_OK;
}

enum axl_status snn_encode(struct axl_snn *s, const struct axl_snn_settings *st, char *msg)
{
    double p = st->percentile;
    s->lambda_in = 1;
    if (s->coding == AXL_SNN_CODING_BERNOULLI) {
        s->lambda_in = snn_hist_percentile(s->in_hist, p);
        if (!(s->lambda_in > 0))
            return axl_msgf(msg, AXL_ERR_INVALID, "the calibration inputs are all zero: "
                            "Bernoulli coding has no scale");
    }
    /* lambdas: IF layers from their percentile, then concats, gates and
     * projections from theirs (a source precedes its readers) */
    for (size_t k = 0; k < s->n; k++) {
        struct snn_layer *l = &s->L[k];
        if (l->kind == AXL_SNN_MAXPOOL || l->kind == AXL_SNN_CONCAT || l->into >= 0)
            continue;
        double lam = l->readout && !l->spiking ? 1 : snn_hist_percentile(l->hist, p);
        l->lambda = lam > 0 ? lam : 1; /* a layer silent on the calibration set */
    }
    share_concat_lambdas(s);
    for (size_t k = 0; k < s->n; k++) {
        struct snn_layer *l = &s->L[k];
        if (l->kind == AXL_SNN_MAXPOOL)
            l->lambda = l->src >= 0 ? s->L[l->src].lambda : s->lambda_in; /* rates pass */
    }
    enum axl_status rc = AXL_OK;
    for (size_t k = 0; k < s->n && rc == AXL_OK; k++) {
        struct snn_layer *l = &s->L[k];
        if (l->into >= 0)
            l->lambda = s->L[l->into].lambda;
        if (l->kind == AXL_SNN_ADD)
            rc = sum_biases(s, l, msg);
        if (rc == AXL_OK && has_synapses(l))
            rc = prepare_layer(l, l->src >= 0 ? s->L[l->src].lambda : s->lambda_in,
                               l->lambda, msg);
        l->bmax = 0;
        for (int64_t j = 0; j < bias_count(l); j++)
            l->bmax = fmax(l->bmax, fabs((double)l->b[j] / l->lambda));
    }
    for (size_t k = 0; k < s->n && rc == AXL_OK; k++) {
        struct snn_layer *l = &s->L[k];
        l->scale = 1;
        if (l->ar.is_int && l->into < 0)
            fixed_point(s, l, st);
    }
    for (size_t k = 0; k < s->n && rc == AXL_OK; k++) {
        struct snn_layer *l = &s->L[k];
        if (l->into >= 0)
            l->scale = s->L[l->into].scale, l->frac = s->L[l->into].frac;
        if (l->kind != AXL_SNN_MAXPOOL && l->kind != AXL_SNN_CONCAT)
            rc = encode_layer(s, l, msg);
    }
    return rc;
}
