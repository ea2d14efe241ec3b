/* Spiking neural networks (include/axlut/snn.h): conversion's entry
 * points, the accessors, and the evaluation over a dataset against the
 * source ANN.  The walk over the graph is snn_convert.c, calibration
 * snn_calib.c, normalisation and encoding snn_encode.c, the simulation
 * snn_sim.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "axlut/run.h"
#include "snn_internal.h"

static const char *const reset_names[] = {"subtract", "zero"};
static const char *const coding_names[] = {"direct", "bernoulli"};
static const char *const kernel_names[] = {"event", "dense", "auto", "ref"};
static const char *const kind_names[] = {"conv", "dense", "avgpool", "maxpool", "add", "concat"};
static const char *const readout_names[] = {"membrane", "spikes"};
AXL_ENUM_NAMES_DEFINE(axl_snn_reset, axl_snn_reset_name, axl_snn_reset_parse, reset_names)
AXL_ENUM_NAMES_DEFINE(axl_snn_coding, axl_snn_coding_name, axl_snn_coding_parse, coding_names)
AXL_ENUM_NAMES_DEFINE(axl_snn_kernel, axl_snn_kernel_name, axl_snn_kernel_parse, kernel_names)
AXL_ENUM_NAMES_DEFINE(axl_snn_layer_kind, axl_snn_layer_kind_name, axl_snn_layer_kind_parse,
                      kind_names)
AXL_ENUM_NAMES_DEFINE(axl_snn_readout, axl_snn_readout_name, axl_snn_readout_parse, readout_names)

void axl_snn_defaults(struct axl_snn_settings *s)
{
    memset(s, 0, sizeof *s);
    s->percentile = 99.9;
    s->batch = 32;
    s->max_steps = 64;
}

void axl_snn_free(struct axl_snn *s)
{
    if (!s)
        return;
    for (size_t k = 0; k < s->n; k++)
        snn_layer_free(&s->L[k]);
    free(s->L);
    free(s->in_hist);
    axl_mac_free(s->exact);
    axl_user_design_free(s->user);
    free(s);
}

enum axl_status axl_snn_check(const struct axl_graph *g, char *msg)
{
    struct axl_snn *s = calloc(1, sizeof *s);
    if (!s)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    enum axl_status st = snn_build_layers(g, s, msg);
    axl_snn_free(s);
    return st;
}

static void describe(struct axl_snn *s, const struct axl_snn_settings *st)
{
    char add[96] = "exact";
    const struct snn_arith *a = &s->ar;
    if (!a->f32) {
        size_t n = (size_t)snprintf(add, sizeof add, "%s", a->d->name);
        for (uint32_t i = 0; i < a->d->nparams && n < sizeof add; i++)
            n += (size_t)snprintf(add + n, sizeof add - n, "%s%s=%d", i ? "," : "(",
                                  a->d->params[i].name, (int)a->c.param[i]);
        if (a->d->nparams && n < sizeof add)
            snprintf(add + n, sizeof add - n, ")");
    }
    char leak[64] = "";
    if (s->leak > 0)
        snprintf(leak, sizeof leak, ", leak %g", s->leak);
    char mul[128] = "";
    if (st->config)
        snprintf(leak + strlen(leak), sizeof leak - strlen(leak), ", per-layer config");
    if (st->mul || st->fmt_in) {
        size_t n = (size_t)snprintf(mul, sizeof mul, ", input products %s", st->mul ? st->mul
                                                                                    : "exact");
        for (int i = 0; i < st->n_mul_params && n < sizeof mul; i++)
            n += (size_t)snprintf(mul + n, sizeof mul - n, "%s%s", i ? "," : "(",
                                  st->mul_params[i]);
        if (st->n_mul_params && n < sizeof mul)
            n += (size_t)snprintf(mul + n, sizeof mul - n, ")");
        if (n < sizeof mul)
            snprintf(mul + n, sizeof mul - n, " in %s", st->fmt_in ? st->fmt_in : "fp32");
    }
    snprintf(s->desc, sizeof s->desc, "membrane %s, add=%s, weights %s, reset %s%s, %s coding%s, "
             "%s readout", a->facc.name, add, s->fw.name, axl_snn_reset_name(s->reset), leak,
             axl_snn_coding_name(s->coding), mul, axl_snn_readout_name(s->readout));
}

enum axl_status axl_snn_convert(const struct axl_graph *g, struct axl_dataset *calib,
                                const struct axl_snn_settings *in, struct axl_snn **out,
                                char *msg)
{
    *out = NULL;
    struct axl_snn_settings st;
    axl_snn_defaults(&st);
    if (in) {
        st = *in;
        st.percentile = in->percentile != 0 ? in->percentile : 99.9;
        st.batch = in->batch > 0 ? in->batch : 32;
        st.max_steps = in->max_steps > 0 ? in->max_steps : 64;
    }
    if (!(st.percentile > 0 && st.percentile <= 100))
        return axl_msgf(msg, AXL_ERR_INVALID, "percentile %g: it must be in (0, 100]",
                        st.percentile);
    if ((unsigned)st.reset > AXL_SNN_RESET_ZERO || (unsigned)st.coding > AXL_SNN_CODING_BERNOULLI
        || (unsigned)st.readout > AXL_SNN_READOUT_SPIKES)
        return axl_msgf(msg, AXL_ERR_INVALID, "unknown reset, input coding or readout");
    if (!(st.leak >= 0 && st.leak < 1))
        return axl_msgf(msg, AXL_ERR_INVALID, "leak %g: it must be in [0, 1)", st.leak);
    struct axl_snn *s = calloc(1, sizeof *s);
    if (!s)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    s->reset = st.reset;
    s->coding = st.coding;
    s->seed = st.seed;
    s->percentile = st.percentile;
    s->leak = st.leak;
    s->readout = st.readout;
    struct axl_mac_spec exact;
    memset(&exact, 0, sizeof exact);
    exact.mul = st.mul;
    exact.fmt_a = st.fmt_in;
    for (int i = 0; i < st.n_mul_params && i < AXL_MAC_MAX_PARAMS; i++)
        exact.mul_params[exact.n_mul_params++] = st.mul_params[i];
    if ((st.mul || st.fmt_in) && st.coding != AXL_SNN_CODING_DIRECT) {
        axl_snn_free(s);
        return axl_msgf(msg, AXL_ERR_INVALID, "a multiplier or input format for the first "
                        "layer's products needs direct coding (input spikes have no products)");
    }
    enum axl_status rc;
    if ((rc = snn_bind_arith(s, &st, msg)) != AXL_OK ||
        (rc = snn_build_layers(g, s, msg)) != AXL_OK ||
        (rc = snn_bind_layers(s, &st, &exact, msg)) != AXL_OK ||
        (rc = axl_mac_create(&exact, &s->exact, msg)) != AXL_OK ||
        (rc = snn_calibrate(s, g, calib, &st, msg)) != AXL_OK ||
        (rc = snn_encode(s, &st, msg)) != AXL_OK) {
        axl_snn_free(s);
        return rc;
    }
    describe(s, &st);
    *out = s;
    return AXL_OK;
}

void axl_snn_describe(const struct axl_snn *s, char *buf, size_t len)
{
    snprintf(buf, len, "%s", s->desc);
}

size_t axl_snn_layer_count(const struct axl_snn *s) { return s->n; }

int64_t axl_snn_outputs(const struct axl_snn *s) { return s->L[s->n - 1].n_out; }

void axl_snn_layer(const struct axl_snn *s, size_t i, struct axl_snn_layer_info *out)
{
    const struct snn_layer *l = &s->L[i];
    memset(out, 0, sizeof *out);
    out->name = l->name;
    out->op = l->op;
    out->kind = l->kind;
    out->spiking = l->spiking;
    out->readout = l->readout;
    out->source = l->src;
    out->into = l->into;
    out->inputs = l->n_in;
    out->neurons = l->n_out;
    out->synapses = l->kind == AXL_SNN_MAXPOOL || l->kind == AXL_SNN_CONCAT ? 0
                  : l->kind == AXL_SNN_AVGPOOL || l->kind == AXL_SNN_ADD ? l->nwc : l->nw;
    out->lambda = l->lambda;
    out->frac_bits = l->frac;
}

void axl_snn_layer_codes(const struct axl_snn *s, size_t i, struct axl_snn_layer_codes *out)
{
    const struct snn_layer *l = &s->L[i];
    memset(out, 0, sizeof *out);
    out->facc = snn_ar(s, l)->facc;
    out->w = l->wc;
    out->nw = l->wc ? l->nwc : 0;
    out->b = l->bc;
    out->theta = l->theta;
    out->neg_theta = l->neg_theta;
}

uint32_t axl_snn_add(const struct axl_snn *s, uint32_t x, uint32_t y)
{
    return snn_add_codes(&s->ar, x, y);
}
