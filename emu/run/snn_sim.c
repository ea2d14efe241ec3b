/* Simulating a converted SNN (include/axlut/snn.h): the synaptic kernels,
 * event-driven and dense, the IF neurons, the max-pool gates, the input
 * coding, and the time loop over a batch (samples in parallel, each one's
 * simulation sequential, so the thread count does not change the bits).
 *
 * Layers run in execution order; a layer reads the spikes of any earlier
 * one (its source), a projection adds into its Add's membrane, a concat
 * copies its sources' spikes.
 *
 * Both kernels give every membrane its adds in ascending presynaptic
 * order: the event-driven one walks the ascending list of the neurons that
 * spiked and scatters each one's fan-out; the dense one visits, for every
 * postsynaptic neuron, its receptive field in ascending input order (for
 * conv and pools: channel, kernel row, kernel column) and adds where the
 * input spiked. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "snn_internal.h"

/* The reference kernels (AXL_SNN_KERNEL_REF): the event-driven scatter
 * with one adder call per synaptic add, which the batched kernels
 * (snn_kern.c) must match bit for bit. */

/* conv and average pool: each input spike to the outputs whose window
 * holds it */
static int64_t conv_event_ref(const struct snn_arith *a, const struct snn_layer *l,
                              struct snn_spikes in, uint32_t *v)
{
    const struct axl_window *w = &l->win;
    int64_t hw = w->h * w->w, adds = 0;
    for (int64_t e = 0; e < in.n; e++) {
        int64_t i = in.idx[e], c = i / hw, y = (i / w->w) % w->h, x = i % w->w;
        int64_t g = c / l->cpg, ci = c % l->cpg;
        for (int64_t ky = 0; ky < w->kh; ky++) {
            int64_t ty = y + w->pad_t - ky * w->dil_h;
            if (ty < 0 || ty % w->stride_h || ty / w->stride_h >= w->oh)
                continue;
            for (int64_t kx = 0; kx < w->kw; kx++) {
                int64_t tx = x + w->pad_l - kx * w->dil_w;
                if (tx < 0 || tx % w->stride_w || tx / w->stride_w >= w->ow)
                    continue;
                int64_t oy = ty / w->stride_h, ox = tx / w->stride_w;
                for (int64_t o = 0; o < l->ocpg; o++) {
                    int64_t oc = g * l->ocpg + o, j = (oc * w->oh + oy) * w->ow + ox;
                    v[j] = snn_add_codes(a, v[j], snn_syn_w(a, snn_conv_w(l, oc, ci, ky, kx, oy, ox),
                                                        in.s[i]));
                }
                adds += l->ocpg;
            }
        }
    }
    return adds;
}

static int64_t dense_event_ref(const struct snn_arith *a, const struct snn_layer *l,
                               struct snn_spikes in, uint32_t *v)
{
    int64_t K = l->n_in, N = l->n_out;
    for (int64_t e = 0; e < in.n; e++) {
        int64_t i = in.idx[e];
        for (int64_t j = 0; j < N; j++)
            v[j] = snn_add_codes(a, v[j], snn_syn_w(a, l->wc[j * K + i], in.s[i]));
    }
    return in.n * N;
}

/* an Add's identity shortcut: neuron j gets spike j, one weight for all */
static int64_t ident_event_ref(const struct snn_arith *a, const struct snn_layer *l,
                               struct snn_spikes in, uint32_t *v)
{
    for (int64_t e = 0; e < in.n; e++) {
        int64_t i = in.idx[e];
        v[i] = snn_add_codes(a, v[i], snn_syn_w(a, l->wc[0], in.s[i]));
    }
    return in.n;
}

/* Rueckauer et al.'s spiking max-pooling: each window passes the spikes of
 * its input with the highest count so far (this step's included; ties:
 * the lowest index) */
static void maxpool_gate(const struct snn_layer *l, struct snn_spikes in, int32_t *cnt, int8_t *s,
                         int32_t *idx, int64_t *n)
{
    const struct axl_window *w = &l->win;
    for (int64_t e = 0; e < in.n; e++)
        cnt[in.idx[e]]++;
    *n = 0;
    for (int64_t c = 0; c < w->c; c++)
        for (int64_t oy = 0; oy < w->oh; oy++)
            for (int64_t ox = 0; ox < w->ow; ox++) {
                int64_t best = -1, bc = -1;
                for (int64_t ky = 0; ky < w->kh; ky++) {
                    int64_t y = oy * w->stride_h - w->pad_t + ky * w->dil_h;
                    for (int64_t kx = 0; y >= 0 && y < w->h && kx < w->kw; kx++) {
                        int64_t x = ox * w->stride_w - w->pad_l + kx * w->dil_w;
                        int64_t i = (c * w->h + y) * w->w + x;
                        if (x >= 0 && x < w->w && cnt[i] > bc)
                            bc = cnt[i], best = i;
                    }
                }
                int64_t j = (c * w->oh + oy) * w->ow + ox;
                s[j] = best >= 0 ? in.s[best] : 0;
                if (s[j])
                    idx[(*n)++] = (int32_t)j;
            }
}

/* bias adds, then threshold and reset, j ascending (the reference) */
static void neurons_ref(const struct axl_snn *S, const struct snn_layer *l, uint32_t *v,
                        int8_t *s, int32_t *idx, int64_t *n)
{
    const struct snn_arith *a = &l->ar;
    int64_t per = l->bias_per;
    if (l->bc)
        for (int64_t j = 0; j < l->n_out; j++)
            v[j] = snn_add_codes(a, v[j], l->bc[j / per]);
    *n = 0;
    if (!l->spiking)
        return;
    for (int64_t j = 0; j < l->n_out; j++) {
        s[j] = axl_format_decode(&a->facc, v[j]) >= l->theta_val;
        if (!s[j])
            continue;
        idx[(*n)++] = (int32_t)j;
        v[j] = S->reset == AXL_SNN_RESET_SUBTRACT ? snn_add_codes(a, v[j], l->neg_theta) : 0;
    }
}

/* ---- one sample over time ------------------------------------------------- */

/* A thread's simulation state: every layer's membrane, spikes and spike
 * list, the gates' counts, the input's spikes. */
struct sim_state {
    uint32_t **v;
    int32_t **fired; /* spikes per neuron so far */
    int8_t **s;
    int32_t **idx;
    int64_t *n;
    int32_t **cnt;
    int8_t *in_s;
    int32_t *in_idx;
    int64_t in_n;
    int64_t *cum; /* [2][layers]: spikes and adds so far */
    struct snn_scratch *b; /* the batched kernels' */
};

static void state_free(const struct axl_snn *S, struct sim_state *t)
{
    for (size_t k = 0; t->v && k < S->n; k++)
        free(t->v[k]), free(t->s[k]), free(t->idx[k]), free(t->cnt[k]), free(t->fired[k]);
    free(t->v), free(t->s), free(t->idx), free(t->cnt), free(t->n), free(t->fired);
    free(t->in_s), free(t->in_idx), free(t->cum);
    snn_scratch_free(t->b);
    memset(t, 0, sizeof *t);
}

static int state_alloc(const struct axl_snn *S, struct sim_state *t)
{
    memset(t, 0, sizeof *t);
    size_t n = S->n + 1;
    t->v = calloc(n, sizeof *t->v), t->s = calloc(n, sizeof *t->s);
    t->idx = calloc(n, sizeof *t->idx), t->cnt = calloc(n, sizeof *t->cnt);
    t->n = calloc(n, sizeof *t->n);
    t->fired = calloc(n, sizeof *t->fired);
    t->in_s = calloc((size_t)S->n_in + 1, 1);
    t->in_idx = malloc(((size_t)S->n_in + 1) * sizeof *t->in_idx);
    t->cum = calloc(2 * n, sizeof *t->cum);
    t->b = snn_scratch_new(S);
    int ok = t->v && t->s && t->idx && t->cnt && t->n && t->in_s && t->in_idx && t->cum &&
             t->fired && t->b;
    for (size_t k = 0; ok && k < S->n; k++) {
        const struct snn_layer *l = &S->L[k];
        size_t m = (size_t)l->n_out + 1;
        t->s[k] = calloc(m, 1);
        t->idx[k] = malloc(m * sizeof **t->idx);
        t->fired[k] = calloc(m, sizeof **t->fired);
        ok = t->s[k] && t->idx[k] && t->fired[k];
        if (ok && l->kind == AXL_SNN_MAXPOOL)
            ok = (t->cnt[k] = calloc((size_t)l->n_in + 1, sizeof **t->cnt)) != NULL;
        else if (ok && l->kind != AXL_SNN_CONCAT && l->into < 0)
            ok = (t->v[k] = calloc(m, sizeof **t->v)) != NULL; /* +0 in every format */
    }
    if (!ok)
        state_free(S, t);
    return ok;
}

/* zero state for the next sample */
static void state_reset(const struct axl_snn *S, struct sim_state *t)
{
    for (size_t k = 0; k < S->n; k++) {
        const struct snn_layer *l = &S->L[k];
        if (t->v[k])
            memset(t->v[k], 0, (size_t)l->n_out * sizeof **t->v);
        if (t->cnt[k])
            memset(t->cnt[k], 0, (size_t)l->n_in * sizeof **t->cnt);
        memset(t->s[k], 0, (size_t)l->n_out);
        memset(t->fired[k], 0, (size_t)l->n_out * sizeof **t->fired);
        t->n[k] = 0;
    }
    memset(t->in_s, 0, (size_t)S->n_in);
    memset(t->cum, 0, 2 * (S->n + 1) * sizeof *t->cum);
    t->in_n = 0;
}

/* Bernoulli input spikes of step `step` (1-based) for the sample at dataset index gi */
static void bernoulli(const struct axl_snn *S, const float *x, int64_t gi, int64_t step,
                      struct sim_state *t)
{
    uint64_t base = (((uint64_t)gi << 20) + (uint64_t)step) * (uint64_t)S->n_in;
    float inv = (float)(1.0 / S->lambda_in);
    t->in_n = 0;
    for (int64_t i = 0; i < S->n_in; i++) {
        float p = (x[i] < 0 ? -x[i] : x[i]) * inv;
        float u = (float)(axl_rand32(S->seed, base + (uint64_t)i) >> 8) * 0x1p-24f;
        t->in_s[i] = u < p ? (x[i] < 0 ? -1 : 1) : 0;
        if (t->in_s[i])
            t->in_idx[t->in_n++] = (int32_t)i;
    }
}

/* the spikes layer l reads this step */
static struct snn_spikes spikes_of(const struct snn_layer *l, const struct sim_state *t)
{
    if (l->src >= 0)
        return (struct snn_spikes){t->s[l->src], t->idx[l->src], t->n[l->src]};
    return (struct snn_spikes){t->in_s, t->in_idx, l->kind == AXL_SNN_ADD ? 0 : t->in_n};
}

/* a concat's spikes: its sources' one after the other */
static void concat(const struct axl_snn *S, size_t k, struct sim_state *t)
{
    const struct snn_layer *l = &S->L[k];
    int64_t off = 0, n = 0;
    for (int i = 0; i < l->nsrc; i++) {
        int64_t q = l->srcs[i], m = S->L[q].n_out;
        memcpy(t->s[k] + off, t->s[q], (size_t)m);
        for (int64_t e = 0; e < t->n[q]; e++)
            t->idx[k][n++] = (int32_t)(t->idx[q][e] + off);
        off += m;
    }
    t->n[k] = n;
}

/* the kernel of a layer this step: auto takes the dense one when more than
 * the fraction frac of the inputs spiked */
static int use_dense(enum axl_snn_kernel kern, double frac, const struct snn_layer *l,
                     struct snn_spikes in)
{
    return kern == AXL_SNN_KERNEL_DENSE ||
           (kern == AXL_SNN_KERNEL_AUTO && (double)in.n > frac * (double)l->n_in);
}

/* One step of layer k: synaptic adds (into its membrane or its Add's),
 * bias, threshold; its adds */
static int64_t layer_step(const struct axl_snn *S, size_t k, enum axl_snn_kernel kern,
                          double frac, const uint32_t *cur, struct sim_state *t)
{
    const struct snn_layer *l = &S->L[k];
    const struct snn_arith *a = snn_ar(S, l);
    struct snn_spikes in = spikes_of(l, t);
    if (l->kind == AXL_SNN_MAXPOOL) {
        maxpool_gate(l, in, t->cnt[k], t->s[k], t->idx[k], &t->n[k]);
        return 0;
    }
    if (l->kind == AXL_SNN_CONCAT) {
        concat(S, k, t);
        return 0;
    }
    uint32_t *v = t->v[snn_owner(S, l)];
    int64_t adds;
    if (kern != AXL_SNN_KERNEL_REF) {
        if (cur) { /* the first layer's analog input current */
            snn_kern_add(a, v, cur, l->n_out);
            adds = l->n_out;
        } else {
            adds = snn_kern_synapses(a, l, use_dense(kern, frac, l, in), in, v, t->b);
        }
        if (l->into < 0)
            snn_kern_neurons(S, l, v, t->s[k], t->idx[k], &t->n[k], t->b);
        return adds;
    }
    if (cur) {
        for (int64_t j = 0; j < l->n_out; j++)
            v[j] = snn_add_codes(a, v[j], cur[j]);
        adds = l->n_out;
    } else if (l->kind == AXL_SNN_ADD) {
        adds = l->src < 0 ? 0 : ident_event_ref(a, l, in, v);
    } else if (l->kind == AXL_SNN_DENSE) {
        adds = dense_event_ref(a, l, in, v);
    } else {
        adds = conv_event_ref(a, l, in, v);
    }
    if (l->into < 0)
        neurons_ref(S, l, v, t->s[k], t->idx[k], &t->n[k]);
    return adds;
}

/* the leak of every IF membrane: v = ADD(v, enc(-F v)) */
static void leak(const struct axl_snn *S, struct sim_state *t)
{
    float f = -(float)S->leak;
    for (size_t k = 0; k < S->n; k++) {
        uint32_t *v = t->v[k];
        const struct snn_arith *a = &S->L[k].ar;
        if (!v || !S->L[k].spiking)
            continue;
        for (int64_t j = 0; j < S->L[k].n_out; j++) {
            float x = axl_format_decode(&a->facc, v[j]);
            v[j] = snn_add_codes(a, v[j], axl_format_encode(&a->facc, f * x,
                                                            AXL_ROUND_NEAREST_EVEN, 0));
        }
    }
}

static void trace_step(const struct axl_snn *S, const struct axl_snn_trace *tr, int64_t step,
                       const struct sim_state *t, int direct)
{
    size_t k = tr->layer;
    const struct snn_layer *l = &S->L[k];
    int64_t s0 = step - 1;
    if (tr->v && t->v[k])
        memcpy(tr->v + s0 * l->n_out, t->v[k], (size_t)l->n_out * sizeof *tr->v);
    if (tr->out)
        memcpy(tr->out + s0 * l->n_out, t->s[k], (size_t)l->n_out);
    if (tr->in && l->n_in) {
        const int8_t *src = l->kind == AXL_SNN_CONCAT ? t->s[k] : spikes_of(l, t).s;
        if (k == 0 && direct)
            memset(tr->in + s0 * l->n_in, 0, (size_t)l->n_in);
        else
            memcpy(tr->in + s0 * l->n_in, src, (size_t)l->n_in);
    }
}

/* sum over the neurons of layer k of |count / T * lambda - max(0, ann)| */
static double rate_error(const struct snn_layer *l, const int32_t *fired, const float *ann,
                         int64_t T)
{
    double e = 0, f = l->lambda / (double)T;
    for (int64_t j = 0; j < l->n_out; j++) {
        double y = ann[j] > 0 ? ann[j] : 0;
        e += fabs(fired[j] * f - y);
    }
    return e;
}

/* the whole time loop of one sample; counts[nsteps][2][layers], rerr
 * [nsteps][layers] (or NULL) */
static void sim_sample(const struct axl_snn *S, const struct axl_snn_sim *o, const float *x,
                       const uint32_t *cur, int64_t b, int64_t batch, struct sim_state *t,
                       float *readout, int64_t *counts, double *rerr)
{
    state_reset(S, t);
    const struct snn_layer *ro = &S->L[S->n - 1];
    int direct = S->coding == AXL_SNN_CODING_DIRECT;
    int64_t T = o->steps[o->nsteps - 1], nl = (int64_t)S->n;
    int64_t *spk = t->cum, *adds = t->cum + nl;
    double frac = o->auto_dense > 0 ? o->auto_dense : AXL_SNN_AUTO_DENSE;
    int r = 0;
    for (int64_t step = 1; step <= T; step++) {
        if (!direct)
            bernoulli(S, x, o->first_index + b, step, t);
        if (S->leak > 0)
            leak(S, t);
        for (size_t k = 0; k < S->n; k++) {
            int64_t a = layer_step(S, k, o->kernel, frac, k == 0 && direct ? cur : NULL, t);
            adds[k] += a, spk[k] += t->n[k];
            for (int64_t e = 0; e < t->n[k]; e++)
                t->fired[k][t->idx[k][e]]++;
        }
        if (o->trace && o->trace->sample == b)
            trace_step(S, o->trace, step, t, direct);
        for (; r < o->nsteps && o->steps[r] == step; r++) {
            float *out = readout + ((int64_t)r * batch + b) * ro->n_out;
            for (int64_t j = 0; j < ro->n_out; j++)
                out[j] = ro->spiking ? (float)t->fired[S->n - 1][j]
                                     : axl_format_decode(&ro->ar.facc, t->v[S->n - 1][j]) *
                                           ro->scale;
            for (int64_t k = 0; k < nl; k++) {
                counts[((int64_t)r * 2 + 0) * nl + k] = spk[k];
                counts[((int64_t)r * 2 + 1) * nl + k] = adds[k];
                const float *ann = o->ann ? o->ann[k] : NULL;
                if (rerr && ann)
                    rerr[(int64_t)r * nl + k] = rate_error(&S->L[k], t->fired[k],
                                                           ann + b * S->L[k].n_out, step);
            }
        }
    }
}

/* the CUDA path (snn_device.c): readout and counts as sim_sample leaves
 * them, the rate errors from the spike counts it returns */
static enum axl_status sim_cuda(const struct axl_snn *S, const struct axl_tensor *in,
                                const struct axl_snn_sim *o, const uint32_t *cur, float *readout,
                                int64_t *counts, double *rerr, char *msg)
{
    int64_t B = in->dims[0], nl = (int64_t)S->n, sum = 0;
    for (int64_t k = 0; k < nl; k++)
        sum += S->L[k].n_out;
    int32_t *fired = rerr ? malloc((size_t)(B * o->nsteps * sum) * sizeof *fired + 1) : NULL;
    if (rerr && !fired)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    enum axl_status st = snn_sim_cuda(S, in, o, cur, readout, counts, fired, msg);
    for (int64_t b = 0; st == AXL_OK && rerr && b < B; b++)
        for (int r = 0; r < o->nsteps; r++) {
            const int32_t *f = fired + (b * o->nsteps + r) * sum;
            for (int64_t k = 0; k < nl; f += S->L[k++].n_out)
                if (o->ann && o->ann[k])
                    rerr[(b * o->nsteps + r) * nl + k] =
                        rate_error(&S->L[k], f, o->ann[k] + b * S->L[k].n_out, o->steps[r]);
        }
    free(fired);
    return st;
}

/* the first layer's input currents I = W x (exact float32, the MAC
 * engine), encoded in the membrane format: [batch][neurons] */
static enum axl_status currents(const struct axl_snn *S, const struct axl_tensor *in,
                                uint32_t *cur, char *msg)
{
    const struct snn_layer *l = &S->L[0];
    int64_t B = in->dims[0], N = l->n_out;
    float *y = malloc((size_t)(B * N) * sizeof *y + 1);
    if (!y)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory for the input currents");
    enum axl_status st;
    if (l->kind == AXL_SNN_CONV) {
        const struct axl_window *w = &l->win;
        struct axl_conv_args a = {
            .n = B, .c = w->c, .h = w->h, .w = w->w, .oc = w->oc, .kh = w->kh, .kw = w->kw,
            .stride_h = w->stride_h, .stride_w = w->stride_w, .pad_t = w->pad_t,
            .pad_l = w->pad_l, .pad_b = w->pad_b, .pad_r = w->pad_r, .dil_h = w->dil_h,
            .dil_w = w->dil_w, .groups = w->groups, .x = in->data, .weight = l->wq, .y = y};
        st = axl_mac_conv2d(S->exact, AXL_BACKEND_CPU, &a, msg);
    } else {
        struct axl_gemm_args g = {.trans_b = 1, .m = B, .n = N, .k = l->n_in, .a = in->data,
                                  .lda = l->n_in, .b = l->wq, .ldb = l->n_in, .c = y, .ldc = N};
        st = axl_mac_gemm(S->exact, AXL_BACKEND_CPU, &g, msg);
    }
    for (int64_t p = 0; st == AXL_OK && p < B * N; p++)
        cur[p] = axl_format_encode(&snn_ar(S, l)->facc, y[p] / l->scale, AXL_ROUND_NEAREST_EVEN,
                                   0);
    free(y);
    return st;
}

static enum axl_status check_sim(const struct axl_snn *S, const struct axl_tensor *in,
                                 const struct axl_snn_sim *o, char *msg)
{
    if (!o || o->nsteps < 1 || !o->steps)
        return axl_msgf(msg, AXL_ERR_INVALID, "no step count given");
    for (int r = 0; r < o->nsteps; r++) {
        if (o->steps[r] < 1)
            return axl_msgf(msg, AXL_ERR_INVALID, "T = %lld: the number of time steps must be "
                            "at least 1", (long long)o->steps[r]);
        if (o->steps[r] > (1 << 20))
            return axl_msgf(msg, AXL_ERR_INVALID, "T = %lld: at most %d time steps",
                            (long long)o->steps[r], 1 << 20);
        if (r && o->steps[r] <= o->steps[r - 1])
            return axl_msgf(msg, AXL_ERR_INVALID, "step counts must be given in ascending order");
    }
    int bad = in->ndim != S->in_ndim || !in->data || in->dims[0] < 1;
    for (int d = 1; !bad && d < in->ndim; d++)
        bad = in->dims[d] != S->in_dims[d];
    if (bad)
        return axl_msgf(msg, AXL_ERR_MISMATCH, "input of rank %d does not have the network's "
                        "shape per sample", in->ndim);
    if (o->trace && (o->trace->layer >= S->n || o->trace->sample < 0))
        return axl_msgf(msg, AXL_ERR_INVALID, "trace of layer %zu: the network has %zu layers",
                        o->trace->layer, S->n);
    return AXL_OK;
}

enum axl_status axl_snn_simulate(const struct axl_snn *S, const struct axl_tensor *input,
                                 const struct axl_snn_sim *o, float *readout, int64_t *spikes,
                                 int64_t *adds, char *msg)
{
    enum axl_status st = check_sim(S, input, o, msg);
    if (st != AXL_OK)
        return st;
    int64_t B = input->dims[0], nl = (int64_t)S->n, per = 2 * nl * o->nsteps;
    int direct = S->coding == AXL_SNN_CODING_DIRECT;
    uint32_t *cur = direct ? malloc((size_t)(B * S->L[0].n_out) * sizeof *cur + 1) : NULL;
    int64_t *counts = calloc((size_t)(B * per) + 1, sizeof *counts);
    double *rerr = o->rate_err ? calloc((size_t)(B * nl * o->nsteps) + 1, sizeof *rerr) : NULL;
    if ((direct && !cur) || !counts || (o->rate_err && !rerr)) {
        st = axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (direct && (st = currents(S, input, cur, msg)) != AXL_OK)
        goto done;
    int64_t x_per = S->n_in, c_per = direct ? S->L[0].n_out : 0;
    if (o->backend == AXL_BACKEND_CUDA) {
        st = sim_cuda(S, input, o, cur, readout, counts, rerr, msg);
        if (st != AXL_OK)
            goto done;
        goto reduce;
    }
    int fail = 0;
#pragma omp parallel
    {
        struct sim_state t;
        int ok = state_alloc(S, &t);
        if (!ok) {
#pragma omp atomic write
            fail = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (int64_t b = 0; b < B; b++)
            if (ok)
                sim_sample(S, o, input->data + b * x_per, direct ? cur + b * c_per : NULL, b, B,
                           &t, readout, counts + b * per,
                           rerr ? rerr + b * nl * o->nsteps : NULL);
        if (ok)
            state_free(S, &t);
    }
    if (fail) {
        st = axl_msgf(msg, AXL_ERR_NOMEM, "out of memory for the simulation state");
        goto done;
    }
reduce:
    for (int r = 0; r < o->nsteps; r++)
        for (int64_t k = 0; k < nl; k++) {
            int64_t sp = 0, ad = 0;
            for (int64_t b = 0; b < B; b++) {
                sp += counts[b * per + ((int64_t)r * 2 + 0) * nl + k];
                ad += counts[b * per + ((int64_t)r * 2 + 1) * nl + k];
            }
            if (spikes)
                spikes[r * nl + k] = sp;
            if (adds)
                adds[r * nl + k] = ad;
            double e = 0; /* samples in order: the sum does not depend on the threads */
            for (int64_t b = 0; rerr && b < B; b++)
                e += rerr[(b * o->nsteps + r) * nl + k];
            if (rerr)
                o->rate_err[r * nl + k] = e;
        }
done:
    free(rerr);
    free(cur);
    free(counts);
    return st;
}
