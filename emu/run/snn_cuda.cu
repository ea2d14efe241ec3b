/* The SNN simulation on a CUDA device (snn_dev.h), giving the CPU's bits.
 *
 * One thread block per sample runs that sample's whole time loop, layer
 * after layer, as snn_sim.c does; within a layer step each thread owns
 * some postsynaptic neurons and gives each of its membranes every add of
 * the step itself, in ascending presynaptic order (the documented order),
 * through the same AXL_HD arithmetic as the CPU (snn_dev_add: the built-in
 * adder's function, the saturation, the float32 add; --fmad=false keeps a
 * product and a sum rounded apart).  So no membrane is touched by two
 * threads and the order does not depend on the schedule.
 *
 * The event-driven kernel walks, for each membrane, the ascending list of
 * the inputs that spiked and keeps those in its receptive field (work in
 * proportion to the spikes); the dense one walks the receptive field and
 * keeps the inputs that spiked.  Spike lists are rebuilt after every layer
 * by an ordered block-wide compaction.  Counts (spikes, adds) are integers:
 * their sums do not depend on the order of the atomics. */
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/snn.h"
#include "axlut/status.h"
#include "snn_dev.h"

#define SNN_THREADS 256

/* a layer as the device sees it: device pointers, offsets of its state */
struct dev_layer {
    struct snn_dev_layer L;
    int64_t ov;  /* its membrane in V (-1: none: a projection, pool gate, concat) */
    int64_t os;  /* its spikes in S, IDX, FIRED */
    int64_t oc;  /* a max-pool gate's counts in CNT */
    int64_t sidx; /* its index in the per-sample counts */
};

struct dev_ctx {
    const struct dev_layer *L;
    int64_t nl, n_in, B, sum_out;
    int32_t reset, direct, nsteps, kernel, leak_on;
    double auto_dense;
    uint64_t seed;
    float inv_lambda, leakf;
    int64_t first_index;
    const int64_t *steps;
    const float *x;
    const uint32_t *cur;
    int64_t n_cur;
    /* per-sample state, [B][stride] */
    uint32_t *V;
    int64_t sv;
    int8_t *S;
    int32_t *IDX, *FIRED;
    int64_t ss;
    int32_t *CNT;
    int64_t sc;
    int8_t *IN_S;
    int32_t *IN_IDX;
    int64_t *NS;  /* [B][nl + 1]: spikes this step per layer, the input's last */
    int64_t *CUM; /* [B][2][nl]: spikes and adds so far */
    /* results */
    float *readout;
    int64_t *counts;
    int32_t *fired;
};

/* The ascending list of the nonzero entries of s[0..n) into idx; every
 * thread of the block calls it and gets the count. */
static __device__ int64_t compact(const int8_t *s, int64_t n, int32_t *idx)
{
    __shared__ int32_t scan[SNN_THREADS];
    __shared__ int64_t base;
    int t = (int)threadIdx.x;
    __syncthreads(); /* the previous call's readers of base are done */
    if (t == 0)
        base = 0;
    __syncthreads();
    for (int64_t c0 = 0; c0 < n; c0 += SNN_THREADS) {
        int64_t i = c0 + t;
        int f = i < n && s[i] != 0;
        scan[t] = f;
        __syncthreads();
        for (int off = 1; off < SNN_THREADS; off <<= 1) { /* inclusive scan */
            int v = t >= off ? scan[t - off] : 0;
            __syncthreads();
            scan[t] += v;
            __syncthreads();
        }
        if (f)
            idx[base + scan[t] - 1] = (int32_t)i;
        __syncthreads();
        if (t == SNN_THREADS - 1)
            base += scan[t];
        __syncthreads();
    }
    return base;
}

/* the block's sum of each thread's v (integers: any order gives the same) */
static __device__ int64_t block_sum(int64_t v)
{
    __shared__ unsigned long long acc;
    __syncthreads();
    if (threadIdx.x == 0)
        acc = 0;
    __syncthreads();
    if (v)
        atomicAdd(&acc, (unsigned long long)v);
    __syncthreads();
    return (int64_t)acc;
}

static __device__ __forceinline__ uint32_t syn_w(const struct snn_dev_arith *a, uint32_t w,
                                                 int8_t s)
{
    return s < 0 ? snn_dev_neg(a, w) : w;
}

static __device__ __forceinline__ uint32_t conv_w(const struct snn_dev_layer *l, int64_t oc,
                                                  int64_t ci, int64_t ky, int64_t kx, int64_t oy,
                                                  int64_t ox)
{
    const struct axl_window *w = &l->win;
    return l->kind == AXL_SNN_AVGPOOL ? l->wc[oy * w->ow + ox]
                                      : l->wc[((oc * l->cpg + ci) * w->kh + ky) * w->kw + kx];
}

/* membrane j of a conv or pool: its adds this step; returns their number */
static __device__ int64_t conv_neuron(const struct snn_dev_layer *l, int dense, const int8_t *s,
                                      const int32_t *idx, int64_t n, int64_t j, uint32_t *v)
{
    const struct axl_window *w = &l->win;
    const struct snn_dev_arith *a = &l->syn;
    int64_t oc = j / (w->oh * w->ow), oy = (j / w->ow) % w->oh, ox = j % w->ow;
    int64_t g = oc / l->ocpg, adds = 0;
    uint32_t acc = v[j];
    if (dense) {
        for (int64_t ci = 0; ci < l->cpg; ci++)
            for (int64_t ky = 0; ky < w->kh; ky++) {
                int64_t y = oy * w->stride_h - w->pad_t + ky * w->dil_h;
                if (y < 0 || y >= w->h)
                    continue;
                for (int64_t kx = 0; kx < w->kw; kx++) {
                    int64_t x = ox * w->stride_w - w->pad_l + kx * w->dil_w;
                    int64_t i = ((g * l->cpg + ci) * w->h + y) * w->w + x;
                    if (x < 0 || x >= w->w || !s[i])
                        continue;
                    acc = snn_dev_add(a, acc, syn_w(a, conv_w(l, oc, ci, ky, kx, oy, ox), s[i]));
                    adds++;
                }
            }
    } else {
        int64_t hw = w->h * w->w;
        for (int64_t e = 0; e < n; e++) {
            int64_t i = idx[e], c = i / hw, y = (i / w->w) % w->h, x = i % w->w;
            if (c / l->cpg != g)
                continue;
            int64_t dy = y - oy * w->stride_h + w->pad_t, dx = x - ox * w->stride_w + w->pad_l;
            if (dy < 0 || dx < 0 || dy % w->dil_h || dx % w->dil_w || dy / w->dil_h >= w->kh ||
                dx / w->dil_w >= w->kw)
                continue;
            acc = snn_dev_add(a, acc, syn_w(a, conv_w(l, oc, c % l->cpg, dy / w->dil_h,
                                                      dx / w->dil_w, oy, ox), s[i]));
            adds++;
        }
    }
    v[j] = acc;
    return adds;
}

/* membrane j of a dense layer */
static __device__ int64_t dense_neuron(const struct snn_dev_layer *l, int dense, const int8_t *s,
                                       const int32_t *idx, int64_t n, int64_t j, uint32_t *v)
{
    const struct snn_dev_arith *a = &l->syn;
    const uint32_t *row = l->wc + j * l->n_in;
    uint32_t acc = v[j];
    int64_t adds = 0;
    if (dense) {
        for (int64_t i = 0; i < l->n_in; i++)
            if (s[i])
                acc = snn_dev_add(a, acc, syn_w(a, row[i], s[i])), adds++;
    } else {
        for (int64_t e = 0; e < n; e++)
            acc = snn_dev_add(a, acc, syn_w(a, row[idx[e]], s[idx[e]]));
        adds = n;
    }
    v[j] = acc;
    return adds;
}

/* one step of layer k for sample b: its adds (this block's sum) */
static __device__ int64_t layer_step(const struct dev_ctx &c, int64_t b, int64_t k)
{
    const struct dev_layer *D = &c.L[k];
    const struct snn_dev_layer *l = &D->L;
    int64_t t0 = threadIdx.x, *ns = c.NS + b * (c.nl + 1);
    const int8_t *s_in;
    const int32_t *idx_in;
    int64_t n_in;
    if (l->src >= 0) {
        const struct dev_layer *src = &c.L[l->src];
        s_in = c.S + b * c.ss + src->os, idx_in = c.IDX + b * c.ss + src->os, n_in = ns[l->src];
    } else {
        s_in = c.IN_S + b * c.n_in, idx_in = c.IN_IDX + b * c.n_in;
        n_in = l->kind == AXL_SNN_ADD ? 0 : ns[c.nl];
    }
    int8_t *s_out = c.S + b * c.ss + D->os;
    int32_t *idx_out = c.IDX + b * c.ss + D->os;
    if (l->kind == AXL_SNN_MAXPOOL) { /* Rueckauer et al.'s gate, as snn_sim.c */
        const struct axl_window *w = &l->win;
        int32_t *cnt = c.CNT + b * c.sc + D->oc;
        for (int64_t e = t0; e < n_in; e += SNN_THREADS)
            cnt[idx_in[e]]++;
        __syncthreads();
        for (int64_t j = t0; j < l->n_out; j += SNN_THREADS) {
            int64_t ch = j / (w->oh * w->ow), oy = (j / w->ow) % w->oh, ox = j % w->ow;
            int64_t best = -1, bc = -1;
            for (int64_t ky = 0; ky < w->kh; ky++) {
                int64_t y = oy * w->stride_h - w->pad_t + ky * w->dil_h;
                for (int64_t kx = 0; y >= 0 && y < w->h && kx < w->kw; kx++) {
                    int64_t x = ox * w->stride_w - w->pad_l + kx * w->dil_w;
                    int64_t i = (ch * w->h + y) * w->w + x;
                    if (x >= 0 && x < w->w && cnt[i] > bc)
                        bc = cnt[i], best = i;
                }
            }
            s_out[j] = best >= 0 ? s_in[best] : 0;
        }
        int64_t n = compact(s_out, l->n_out, idx_out);
        if (t0 == 0)
            ns[k] = n;
        return 0;
    }
    if (l->kind == AXL_SNN_CONCAT) {
        int64_t off = 0;
        for (int q = 0; q < l->nsrc; q++) {
            const struct dev_layer *src = &c.L[l->srcs[q]];
            for (int64_t j = t0; j < src->L.n_out; j += SNN_THREADS)
                s_out[off + j] = c.S[b * c.ss + src->os + j];
            off += src->L.n_out;
        }
        int64_t n = compact(s_out, l->n_out, idx_out);
        if (t0 == 0)
            ns[k] = n;
        return 0;
    }
    uint32_t *v = c.V + b * c.sv + c.L[l->owner].ov;
    int dense = c.kernel == AXL_SNN_KERNEL_DENSE ||
                (c.kernel == AXL_SNN_KERNEL_AUTO &&
                 (double)n_in > c.auto_dense * (double)l->n_in);
    int64_t adds = 0;
    for (int64_t j = t0; j < l->n_out; j += SNN_THREADS) {
        if (k == 0 && c.direct) {
            v[j] = snn_dev_add(&l->syn, v[j], c.cur[b * c.n_cur + j]);
            adds++;
        } else if (l->kind == AXL_SNN_ADD) {
            if (l->src >= 0 && s_in[j])
                v[j] = snn_dev_add(&l->syn, v[j], syn_w(&l->syn, l->wc[0], s_in[j])), adds++;
        } else if (l->kind == AXL_SNN_DENSE) {
            adds += dense_neuron(l, dense, s_in, idx_in, n_in, j, v);
        } else {
            adds += conv_neuron(l, dense, s_in, idx_in, n_in, j, v);
        }
    }
    adds = block_sum(adds); /* synchronises */
    if (l->into >= 0)
        return adds;
    /* bias, threshold, reset: each thread its neurons */
    const struct snn_dev_arith *a = &l->own;
    for (int64_t j = t0; j < l->n_out; j += SNN_THREADS) {
        if (l->bc)
            v[j] = snn_dev_add(a, v[j], l->bc[j / l->bias_per]);
        if (!l->spiking)
            continue;
        s_out[j] = axl_format_decode(&a->facc, v[j]) >= l->theta_val;
        if (s_out[j])
            v[j] = c.reset == AXL_SNN_RESET_SUBTRACT ? snn_dev_add(a, v[j], l->neg_theta) : 0;
    }
    int64_t n = l->spiking ? compact(s_out, l->n_out, idx_out) : 0;
    if (t0 == 0)
        ns[k] = n;
    return adds;
}

static __global__ void sim_kernel(struct dev_ctx c)
{
    int64_t b = blockIdx.x, t0 = threadIdx.x, nl = c.nl;
    int64_t T = c.steps[c.nsteps - 1], *ns = c.NS + b * (nl + 1), *cum = c.CUM + b * 2 * nl;
    const struct snn_dev_layer *ro = &c.L[nl - 1].L;
    int r = 0;
    for (int64_t step = 1; step <= T; step++) {
        if (!c.direct) { /* Bernoulli input spikes, as snn_sim.c's bernoulli() */
            uint64_t base = (((uint64_t)(c.first_index + b) << 20) + (uint64_t)step) *
                            (uint64_t)c.n_in;
            const float *x = c.x + b * c.n_in;
            int8_t *s = c.IN_S + b * c.n_in;
            for (int64_t i = t0; i < c.n_in; i += SNN_THREADS) {
                float p = (x[i] < 0 ? -x[i] : x[i]) * c.inv_lambda;
                float u = (float)(axl_rand32(c.seed, base + (uint64_t)i) >> 8) * 0x1p-24f;
                s[i] = u < p ? (x[i] < 0 ? -1 : 1) : 0;
            }
            int64_t n = compact(s, c.n_in, c.IN_IDX + b * c.n_in);
            if (t0 == 0)
                ns[nl] = n;
        }
        if (c.leak_on) { /* v = ADD(v, enc(-F v)) */
            for (int64_t k = 0; k < nl; k++) {
                const struct dev_layer *D = &c.L[k];
                if (D->ov < 0 || !D->L.spiking)
                    continue;
                uint32_t *v = c.V + b * c.sv + D->ov;
                const struct snn_dev_arith *a = &D->L.own;
                for (int64_t j = t0; j < D->L.n_out; j += SNN_THREADS) {
                    float x = axl_format_decode(&a->facc, v[j]);
                    v[j] = snn_dev_add(a, v[j], axl_format_encode(&a->facc, c.leakf * x,
                                                                  AXL_ROUND_NEAREST_EVEN, 0));
                }
            }
        }
        __syncthreads();
        for (int64_t k = 0; k < nl; k++) {
            int64_t adds = layer_step(c, b, k);
            __syncthreads();
            const struct dev_layer *D = &c.L[k];
            const int8_t *s = c.S + b * c.ss + D->os;
            int32_t *fired = c.FIRED + b * c.ss + D->os;
            for (int64_t j = t0; j < D->L.n_out; j += SNN_THREADS)
                fired[j] += s[j] != 0;
            if (t0 == 0)
                cum[k] += ns[k], cum[nl + k] += adds;
            __syncthreads();
        }
        for (; r < c.nsteps && c.steps[r] == step; r++) {
            const struct dev_layer *D = &c.L[nl - 1];
            float *out = c.readout + ((int64_t)r * c.B + b) * ro->n_out;
            for (int64_t j = t0; j < ro->n_out; j += SNN_THREADS)
                out[j] = ro->spiking ? (float)c.FIRED[b * c.ss + D->os + j]
                                     : axl_format_decode(&ro->own.facc, c.V[b * c.sv + D->ov + j]) *
                                           ro->scale;
            int64_t *cn = c.counts + (b * c.nsteps + r) * 2 * nl;
            for (int64_t k = t0; k < nl; k += SNN_THREADS)
                cn[k] = cum[k], cn[nl + k] = cum[nl + k];
            if (c.fired)
                for (int64_t j = t0; j < c.sum_out; j += SNN_THREADS)
                    c.fired[(b * c.nsteps + r) * c.sum_out + j] = c.FIRED[b * c.ss + j];
        }
        __syncthreads();
    }
}

/* ---- the launcher ---------------------------------------------------------- */

#define CK(call)                                                                                  \
    do {                                                                                          \
        cudaError_t e_ = (call);                                                                  \
        if (e_ != cudaSuccess) {                                                                  \
            st = axl_msgf(msg, AXL_ERR_CUDA, "CUDA SNN simulation: %s: %s", #call,               \
                          cudaGetErrorString(e_));                                                \
            goto done;                                                                            \
        }                                                                                         \
    } while (0)

/* device copy of n elements of size sz at h (NULL stays NULL) */
static cudaError_t upload(const void *h, size_t n, size_t sz, void **d, void **track, int *nt)
{
    *d = NULL;
    if (!h || !n)
        return cudaSuccess;
    cudaError_t e = cudaMalloc(d, n * sz);
    if (e != cudaSuccess)
        return e;
    track[(*nt)++] = *d;
    return cudaMemcpy(*d, h, n * sz, cudaMemcpyHostToDevice);
}

extern "C" enum axl_status snn_cuda_simulate(const struct snn_dev_net *net,
                                             const struct snn_dev_sim *o, char *msg)
{
    enum axl_status st = AXL_OK;
    int ndev = 0;
    if (cudaGetDeviceCount(&ndev) != cudaSuccess || ndev < 1)
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "--device cuda: no CUDA device found");
    int64_t nl = net->n, B = o->B, sv = 0, ss = 0, sc = 0;
    struct dev_layer *hl = (struct dev_layer *)calloc((size_t)nl + 1, sizeof *hl);
    void **track = (void **)calloc(3 * (size_t)nl + 16, sizeof *track);
    int nt = 0;
    struct dev_ctx c;
    memset(&c, 0, sizeof c);
    if (!hl || !track) {
        st = axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int64_t k = 0; k < nl; k++) {
        const struct snn_dev_layer *l = &net->L[k];
        struct dev_layer *d = &hl[k];
        d->L = *l;
        d->ov = d->oc = -1;
        d->os = ss, ss += l->n_out;
        if (l->kind == AXL_SNN_MAXPOOL)
            d->oc = sc, sc += l->n_in;
        else if (l->kind != AXL_SNN_CONCAT && l->into < 0)
            d->ov = sv, sv += l->n_out;
        void *p;
        CK(upload(l->wc, (size_t)l->nwc, 4, &p, track, &nt));
        d->L.wc = (const uint32_t *)p;
        CK(upload(l->bc, (size_t)l->nbc, 4, &p, track, &nt));
        d->L.bc = (const uint32_t *)p;
        CK(upload(l->srcs, (size_t)l->nsrc, 8, &p, track, &nt));
        d->L.srcs = (const int64_t *)p;
    }
    {
        void *p;
        c.nl = nl, c.n_in = net->n_in, c.B = B, c.sum_out = ss;
        c.reset = net->reset, c.direct = net->direct, c.nsteps = o->nsteps, c.kernel = o->kernel;
        c.auto_dense = o->auto_dense;
        c.seed = net->seed;
        c.inv_lambda = (float)(1.0 / net->lambda_in);
        c.leak_on = net->leak > 0;
        c.leakf = -(float)net->leak;
        c.first_index = o->first_index;
        c.sv = sv + 1, c.ss = ss + 1, c.sc = sc + 1;
        c.n_cur = net->L[0].n_out;
        CK(upload(hl, (size_t)nl, sizeof *hl, &p, track, &nt));
        c.L = (const struct dev_layer *)p;
        CK(upload(o->steps, (size_t)o->nsteps, 8, &p, track, &nt));
        c.steps = (const int64_t *)p;
        CK(upload(o->x, (size_t)(B * net->n_in), 4, &p, track, &nt));
        c.x = (const float *)p;
        CK(upload(o->cur, o->cur ? (size_t)(B * c.n_cur) : 0, 4, &p, track, &nt));
        c.cur = (const uint32_t *)p;
        /* the state, zeroed: +0 in every membrane format */
        size_t sizes[] = {(size_t)(B * c.sv) * 4, (size_t)(B * c.ss), (size_t)(B * c.ss) * 4,
                          (size_t)(B * c.ss) * 4, (size_t)(B * c.sc) * 4,
                          (size_t)(B * (c.n_in + 1)), (size_t)(B * (c.n_in + 1)) * 4,
                          (size_t)(B * (nl + 1)) * 8, (size_t)(B * 2 * nl) * 8,
                          (size_t)(o->nsteps * B * net->L[nl - 1].n_out) * 4,
                          (size_t)(B * o->nsteps * 2 * nl) * 8,
                          o->fired ? (size_t)(B * o->nsteps * ss) * 4 + 4 : 4};
        void *bufs[12];
        for (int i = 0; i < 12; i++) {
            CK(cudaMalloc(&bufs[i], sizes[i]));
            track[nt++] = bufs[i];
            CK(cudaMemset(bufs[i], 0, sizes[i]));
        }
        c.V = (uint32_t *)bufs[0], c.S = (int8_t *)bufs[1], c.IDX = (int32_t *)bufs[2];
        c.FIRED = (int32_t *)bufs[3], c.CNT = (int32_t *)bufs[4], c.IN_S = (int8_t *)bufs[5];
        c.IN_IDX = (int32_t *)bufs[6], c.NS = (int64_t *)bufs[7], c.CUM = (int64_t *)bufs[8];
        c.readout = (float *)bufs[9], c.counts = (int64_t *)bufs[10];
        c.fired = o->fired ? (int32_t *)bufs[11] : NULL;
        sim_kernel<<<(unsigned)B, SNN_THREADS>>>(c);
        CK(cudaGetLastError());
        CK(cudaDeviceSynchronize());
        CK(cudaMemcpy(o->readout, c.readout, sizes[9], cudaMemcpyDeviceToHost));
        CK(cudaMemcpy(o->counts, c.counts, sizes[10], cudaMemcpyDeviceToHost));
        if (o->fired)
            CK(cudaMemcpy(o->fired, c.fired, sizes[11] - 4, cudaMemcpyDeviceToHost));
    }
done:
    for (int i = 0; track && i < nt; i++)
        cudaFree(track[i]);
    free(track);
    free(hl);
    return st;
}
