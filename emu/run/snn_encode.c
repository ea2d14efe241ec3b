/* The arithmetic of a converted SNN (include/axlut/snn.h): the membrane
 * format and its adder bound through the design registry, and every
 * layer's weights normalised (Diehl et al. 2015, data-based normalisation;
 * Rueckauer et al. 2017, section 2.3: w * lambda_{l-1} / lambda_l,
 * b / lambda_l, threshold 1), quantised to the weight format and encoded
 * in the membrane format. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snn_internal.h"

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* the adder design by name: built-in or a user's C file */
static enum axl_status find_adder(struct axl_snn *s, const char *name,
                                  const struct axl_design **d, char *msg)
{
    if (ends_with(name, ".c")) {
        char *log = NULL;
        enum axl_status st = axl_user_design_load(name, &s->user, &log, msg);
        free(log);
        if (st != AXL_OK)
            return st;
        *d = axl_user_design_get(s->user);
    } else if (!(*d = axl_design_find(name))) {
        return axl_msgf(msg, AXL_ERR_INVALID,
                        "unknown design '%s' (axlut list designs shows them)", name);
    }
    if ((*d)->op != AXL_OP_ADD)
        return axl_msgf(msg, AXL_ERR_MISMATCH, "design '%s' is a multiplier, not an adder", name);
    return AXL_OK;
}

enum axl_status snn_bind_arith(struct axl_snn *s, const struct axl_snn_settings *st, char *msg)
{
    struct snn_arith *a = &s->ar;
    enum axl_status rc;
    if ((rc = axl_format_parse(st->fmt_w ? st->fmt_w : "fp32", &s->fw, msg)) != AXL_OK ||
        (rc = axl_format_parse(st->fmt_acc ? st->fmt_acc : "fp32", &a->facc, msg)) != AXL_OK)
        return rc;
    if (s->fw.kind == AXL_KIND_UINT || a->facc.kind == AXL_KIND_UINT)
        return axl_msgf(msg, AXL_ERR_INVALID, "%s %s: weights and membranes are signed (use "
                        "int%u)", s->fw.kind == AXL_KIND_UINT ? "weight format" : "membrane format",
                        s->fw.kind == AXL_KIND_UINT ? s->fw.name : a->facc.name,
                        s->fw.kind == AXL_KIND_UINT ? s->fw.bits : a->facc.bits);
    struct axl_format f32;
    axl_format_parse("fp32", &f32, NULL);
    int exact = !st->add || !strcmp(st->add, "exact");
    a->is_int = a->facc.kind == AXL_KIND_INT;
    a->mask = a->facc.bits == 32 ? 0xFFFFFFFFu : (1u << a->facc.bits) - 1u;
    if (exact && axl_format_equal(&a->facc, &f32)) {
        if (st->n_add_params)
            return axl_msgf(msg, AXL_ERR_INVALID, "exact adds take no parameters");
        a->f32 = 1;
        return AXL_OK;
    }
    const char *name = exact ? "add_exact" : st->add;
    if ((rc = find_adder(s, name, &a->d, msg)) != AXL_OK ||
        (rc = axl_design_bind(a->d, &a->facc, &a->facc, a->is_int ? NULL : &a->facc,
                              st->add_params, st->n_add_params, &a->c, msg)) != AXL_OK)
        return rc;
    /* a user's adder runs in-process on every membrane add: every pair
     * first, in a child, where the membrane format fits a table */
    if (s->user &&
        (rc = axl_user_design_check_pairs(a->d, &a->c, axl_user_design_timeout(), msg)) != AXL_OK)
        return rc;
    if (!a->is_int) {
        if (!axl_format_equal(&a->c.fr, &a->facc))
            return axl_msgf(msg, AXL_ERR_MISMATCH, "adder '%s' gives %s results, the membrane "
                            "is %s", name, a->c.fr.name, a->facc.name);
        return AXL_OK;
    }
    if (a->c.fr.kind != AXL_KIND_INT || a->c.fr.bits < a->facc.bits || a->c.fr.bits > 32)
        return axl_msgf(msg, AXL_ERR_MISMATCH, "adder '%s' gives %s results for an %s membrane",
                        name, a->c.fr.name, a->facc.name);
    a->rbits = a->c.fr.bits;
    a->hi = (int32_t)((1u << (a->facc.bits - 1)) - 1u);
    a->lo = -a->hi - 1;
    return AXL_OK;
}

/* the value w quantised to the weight format (intN: by scale q) */
static float quantize_w(const struct axl_snn *s, float w, double q)
{
    if (s->fw.kind == AXL_KIND_FLOAT)
        return axl_format_decode(&s->fw, axl_format_encode(&s->fw, w, AXL_ROUND_NEAREST_EVEN, 0));
    if (q == 0)
        return 0;
    float c = axl_format_decode(&s->fw, axl_format_encode(&s->fw, (float)(w / q),
                                                          AXL_ROUND_NEAREST_EVEN, 0));
    return (float)(c * q);
}

static uint32_t enc(const struct axl_snn *s, const struct snn_layer *l, double x)
{
    return axl_format_encode(&s->ar.facc, (float)(x / l->scale), AXL_ROUND_NEAREST_EVEN, 0);
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

/* the normalised weight values of l (avgpool: one per output position) */
static enum axl_status scaled_weights(struct snn_layer *l, double sw, float **out, char *msg)
{
    int pool = l->kind == AXL_SNN_AVGPOOL;
    l->nwc = pool ? l->win.oh * l->win.ow : l->nw;
    float *v = malloc((size_t)l->nwc * sizeof *v + 1);
    if (!v)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    for (int64_t p = 0; p < l->nwc; p++)
        v[p] = pool ? (float)(sw / (double)pool_div(&l->win, l->win.count_include_pad,
                                                     p / l->win.ow, p % l->win.ow))
                    : (float)(l->w[p] * sw);
    *out = v;
    return AXL_OK;
}

/* l's weights, biases and threshold in the membrane format, for lambda of
 * its source lam_src; readout_range: the readout's largest expected |value| */
static enum axl_status encode_layer(struct axl_snn *s, struct snn_layer *l, double lam_src,
                                    const struct axl_snn_settings *st, char *msg)
{
    double sw = lam_src / l->lambda, sb = 1.0 / l->lambda, wmax = 0, bmax = 0;
    float *v = NULL;
    enum axl_status rc = scaled_weights(l, sw, &v, msg);
    if (rc != AXL_OK)
        return rc;
    for (int64_t p = 0; p < l->nwc; p++)
        wmax = fmax(wmax, fabs((double)v[p]));
    int qbits = s->fw.kind == AXL_KIND_INT ? s->fw.bits : 0;
    double q = qbits ? wmax / (double)((1u << (qbits - 1)) - 1u) : 0;
    for (int64_t p = 0; p < l->nwc; p++)
        v[p] = quantize_w(s, v[p], q);
    int64_t nb = l->has_bias ? l->n_out / (l->kind == AXL_SNN_CONV ? l->win.oh * l->win.ow : 1)
                             : 0;
    for (int64_t j = 0; j < nb; j++)
        bmax = fmax(bmax, fabs((double)l->b[j] * sb));
    l->scale = 1;
    if (s->ar.is_int) {
        double B = 4 * fmax(1.0, fmax(wmax, bmax));
        if (l->readout)
            B = fmax(4 * fmax(wmax, bmax), 2.0 * (double)st->max_steps * l->out_max);
        l->frac = frac_bits(&s->ar.facc, B > 0 ? B : 1);
        l->scale = (float)ldexp(1.0, -l->frac);
    }
    l->wc = malloc((size_t)l->nwc * sizeof *l->wc + 1);
    l->bc = nb ? malloc((size_t)nb * sizeof *l->bc) : NULL;
    if (!l->wc || (nb && !l->bc)) {
        free(v);
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    }
    for (int64_t p = 0; p < l->nwc; p++)
        l->wc[p] = enc(s, l, v[p]);
    for (int64_t j = 0; j < nb; j++)
        l->bc[j] = enc(s, l, (double)l->b[j] * sb);
    l->theta = enc(s, l, 1.0);
    l->neg_theta = enc(s, l, -1.0);
    l->theta_val = axl_format_decode(&s->ar.facc, l->theta);
    if (l == &s->L[0] && s->coding == AXL_SNN_CODING_DIRECT)
        l->wq = v; /* the first layer's currents are computed from the values */
    else
        free(v);
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
    double lam_src = s->lambda_in;
    for (size_t k = 0; k < s->n; k++) {
        struct snn_layer *l = &s->L[k];
        if (l->kind == AXL_SNN_MAXPOOL) {
            l->lambda = lam_src; /* rates pass through the gate unscaled */
            continue;
        }
        double lam = l->readout ? 1 : snn_hist_percentile(l->hist, p);
        l->lambda = lam > 0 ? lam : 1; /* a layer silent on the calibration set */
        enum axl_status rc = encode_layer(s, l, lam_src, st, msg);
        if (rc != AXL_OK)
            return rc;
        lam_src = l->lambda;
    }
    return AXL_OK;
}
