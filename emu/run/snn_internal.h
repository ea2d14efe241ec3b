/* The converted SNN's inside, shared by the conversion (snn_convert.c,
 * snn_calib.c), the simulation (snn_sim.c) and the evaluation (snn.c). */
#ifndef AXLUT_EMU_SNN_INTERNAL_H
#define AXLUT_EMU_SNN_INTERNAL_H

#include <stdint.h>

#include "axlut/design.h"
#include "axlut/mac.h"
#include "axlut/snn.h"
#include "axlut/user_design.h"
#include "snn_dev.h"

/* The membrane arithmetic: ADD on codes of facc. */
struct snn_arith {
    struct axl_format facc;
    int f32;                     /* exact float32 adds (fp32 membrane, no design) */
    const struct axl_design *d;  /* else: the adder */
    struct axl_design_ctx c;
    struct axl_design_batch bt;  /* its batch forms (snn_kern.c) */
    int is_int;                  /* intN membrane: results saturate from rbits to N bits */
    int rbits;
    int32_t lo, hi;
    uint32_t mask;
};

static inline int32_t snn_sext(uint32_t code, int bits)
{
    uint32_t sh = 32u - (uint32_t)bits;
    return (int32_t)(code << sh) >> sh;
}

static inline uint32_t snn_add_codes(const struct snn_arith *a, uint32_t x, uint32_t y)
{
    if (a->f32)
        return axl_f32_bits(axl_f32_from_bits(x) + axl_f32_from_bits(y));
    uint32_t r = a->d->eval(&a->c, x, y);
    return a->is_int ? snn_saturate(r, a->rbits, a->lo, a->hi, a->mask) : r;
}

/* -code: the sign flipped (floating) or the saturated negation (integer) */
static inline uint32_t snn_neg(const struct snn_arith *a, uint32_t code)
{
    if (!a->is_int)
        return code ^ (1u << (a->facc.bits - 1));
    int32_t v = -snn_sext(code, a->facc.bits);
    return (uint32_t)(v > a->hi ? a->hi : v) & a->mask;
}

struct snn_layer {
    char *name, *op;
    enum axl_snn_layer_kind kind;
    int spiking, readout;
    int nonneg;                /* avgpool of spikes: may become spiking without a Relu */
    int64_t src;               /* the layer whose spikes it reads; -1: the input, or none */
    int64_t into;              /* a projection: the Add whose membrane it feeds; -1 */
    int64_t *srcs;             /* a concat: its sources, in order */
    int nsrc;
    int64_t bias_per;          /* neurons sharing one bias (conv: OH x OW) */
    struct snn_arith ar;       /* its membrane's arithmetic (a projection: its Add's) */
    struct axl_format fw;      /* its weight format */
    int64_t node, calib_node;  /* exposed nodes: the synapses', the calibrated output's */
    int64_t n_in, n_out;       /* per sample */
    struct axl_window win;     /* conv and pools */
    int64_t cpg, ocpg;         /* conv: input and output channels per group */
    /* the ANN's parameters (BatchNormalization folded): conv [OC][C/g][KH][KW],
     * dense [out][in]; NULL for pools */
    float *w, *b;
    int64_t nw;
    int has_bias;
    /* after normalisation */
    double lambda;
    int frac;
    float *wq;                 /* first layer, direct coding: quantised weight values */
    uint32_t *wc, *bc;         /* codes in the membrane format (avgpool: [OH][OW]) */
    uint32_t *wct;             /* dense: wc transposed, [in][out], so that a spike's
                                  fan-out is one contiguous column (snn_kern.c) */
    int64_t nwc;
    uint32_t theta, neg_theta;
    float theta_val;
    float scale;               /* decoded code * scale = value (2^-frac; 1 for floats) */
    /* calibration */
    float *wv;                 /* while encoding: the normalised, quantised weights */
    double wmax, bmax;         /* their and the biases' largest magnitude */
    int64_t *hist;             /* positive activations by the top 16 bits of float32 */
    double out_max;            /* readout: the largest |output| */
};

struct axl_snn {
    struct snn_layer *L;
    size_t n;
    struct snn_arith ar;
    struct axl_format fw;
    struct axl_user_design *user;
    char user_path[1024];
    enum axl_snn_reset reset;
    enum axl_snn_coding coding;
    uint64_t seed;
    double percentile, lambda_in, leak;
    enum axl_snn_readout readout;
    int64_t *in_hist;          /* |x| of the calibration inputs (Bernoulli) */
    int in_ndim;
    int64_t in_dims[AXL_MAX_DIMS]; /* per sample, first axis 1 */
    int64_t n_in;
    struct axl_mac *exact;     /* the first layer's currents */
    char desc[256];
};

/* the spikes a layer receives: s dense ({-1, 0, 1}), idx the ascending
 * list of the n nonzero ones */
struct snn_spikes {
    const int8_t *s;
    const int32_t *idx;
    int64_t n;
};

/* snn_kern.c: the batched synaptic kernels.  A thread's scratch: a block
 * of pending adds (membrane index j, operand y), all to distinct
 * membranes, and a stamp per membrane saying whether it is in the block. */
#define SNN_BLOCK 1024
struct snn_scratch {
    uint32_t x[SNN_BLOCK], y[SNN_BLOCK];
    int32_t j[SNN_BLOCK];
    int n;
    uint32_t gen;    /* the block's stamp */
    uint32_t *stamp; /* [cap]: the largest membrane */
    int64_t cap;
    float *dec;      /* [largest membrane]: decoded membranes */
};
struct snn_scratch *snn_scratch_new(const struct axl_snn *S);
void snn_scratch_free(struct snn_scratch *b);
/* The synaptic adds of layer l into v (the membrane of its owner) for the
 * spikes `in`, in the documented order; dense: the gated sweep over every
 * input, else the event-driven scatter.  Returns the adds. */
int64_t snn_kern_synapses(const struct snn_arith *a, const struct snn_layer *l, int dense,
                          struct snn_spikes in, uint32_t *v, struct snn_scratch *b);
/* v[j] = ADD(v[j], y[j]), j < n (the first layer's currents) */
void snn_kern_add(const struct snn_arith *a, uint32_t *v, const uint32_t *y, int64_t n);
/* bias adds, then threshold and reset, j ascending; the spikes into s, idx, n */
void snn_kern_neurons(const struct axl_snn *S, const struct snn_layer *l, uint32_t *v, int8_t *s,
                      int32_t *idx, int64_t *n, struct snn_scratch *b);
/* snn_device.c: the simulation of in on the CUDA device, from the first
 * layer's currents cur (direct coding; else NULL); readout and counts in
 * snn_sim.c's layouts, fired (NULL, or [B][nsteps][sum of the layers'
 * neurons]) the spike count of every neuron at each listed T */
enum axl_status snn_sim_cuda(const struct axl_snn *S, const struct axl_tensor *in,
                             const struct axl_snn_sim *o, const uint32_t *cur, float *readout,
                             int64_t *counts, int32_t *fired, char *msg);

#define SNN_HIST_BINS 0x7F80 /* positive finite float32 >> 16 */

/* snn_calib.c: the percentile of a histogram (nearest rank over the
 * counted values; the upper edge of the bin: a relative error below 2^-7);
 * 0 when it is empty */
double snn_hist_percentile(const int64_t *hist, double p);
void snn_hist_add(int64_t *hist, const float *x, int64_t n, int absolute);
/* runs the ANN over the calibration set, filling every layer's histogram
 * (and the readout's out_max, and s->in_hist) */
enum axl_status snn_calibrate(struct axl_snn *s, const struct axl_graph *g,
                              struct axl_dataset *d, const struct axl_snn_settings *st, char *msg);
/* snn_convert.c: the layers of g (no normalisation yet); *out has *n */
enum axl_status snn_build_layers(const struct axl_graph *g, struct axl_snn *s, char *msg);
/* snn_encode.c: the arithmetic bound, then every layer normalised and encoded */
enum axl_status snn_bind_arith(struct axl_snn *s, const struct axl_snn_settings *st, char *msg);
/* snn_arith.c: every layer's arithmetic (the settings', or the
 * configuration's rules), and the first layer's multiplier into *first */
enum axl_status snn_bind_layers(struct axl_snn *s, const struct axl_snn_settings *st,
                                struct axl_mac_spec *first, char *msg);
enum axl_status snn_encode(struct axl_snn *s, const struct axl_snn_settings *st, char *msg);
void snn_layer_free(struct snn_layer *l);
/* the layer whose membrane l's synaptic adds go to */
static inline int64_t snn_owner(const struct axl_snn *s, const struct snn_layer *l)
{
    return l->into >= 0 ? l->into : (int64_t)(l - s->L);
}

/* the arithmetic of the membrane l's adds go to */
static inline const struct snn_arith *snn_ar(const struct axl_snn *s, const struct snn_layer *l)
{
    return &s->L[snn_owner(s, l)].ar;
}

/* A synaptic weight code with the sign of the input's spike (s < 0: a
 * negative spike of the signed-spike encoding). */
static inline uint32_t snn_syn_w(const struct snn_arith *a, uint32_t w, int8_t s)
{
    return s < 0 ? snn_neg(a, w) : w;
}

/* The weight code that links input (ci, ky, kx) to output (oc, oy, ox) of a
 * convolution (an average pool's weights depend on the output's window). */
static inline uint32_t snn_conv_w(const struct snn_layer *l, int64_t oc, int64_t ci, int64_t ky,
                                  int64_t kx, int64_t oy, int64_t ox)
{
    const struct axl_window *w = &l->win;
    return l->kind == AXL_SNN_AVGPOOL ? l->wc[oy * w->ow + ox]
                                      : l->wc[((oc * l->cpg + ci) * w->kh + ky) * w->kw + kx];
}

#endif
