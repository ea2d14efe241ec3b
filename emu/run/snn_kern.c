/* The batched synaptic kernels of the SNN simulation (snn_sim.c): the
 * membrane adds of a layer step go to the adder a block at a time, through
 * its batch form (design.h: axl_batch_pair), instead of one call through a
 * pointer per add.
 *
 * The bits are those of the scalar loops (AXL_SNN_KERNEL_REF) because
 * every membrane still gets its adds in the documented order (ascending
 * presynaptic index within a step) and the lanes of a batch call are
 * independent: a block only ever holds adds to distinct membranes.  Adds
 * are queued with the membrane they go to; when an add would go to a
 * membrane already in the block (its stamp is the block's), the block is
 * applied first.  So the event-driven scatter batches one spike's fan-out
 * (and the next spikes' while they reach other membranes), and the dense
 * sweep, which visits the receptive fields position by position (channel,
 * kernel row, kernel column) over every output, batches a position.  A
 * dense layer's spike adds a contiguous column of the transposed weights
 * (wct) to the membranes in place. */
#include <stdlib.h>
#include <string.h>

#include "snn_internal.h"

struct snn_scratch *snn_scratch_new(const struct axl_snn *S)
{
    int64_t m = 1;
    for (size_t k = 0; k < S->n; k++)
        if (S->L[k].n_out > m)
            m = S->L[k].n_out;
    struct snn_scratch *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->stamp = calloc((size_t)m, sizeof *b->stamp);
    b->dec = malloc((size_t)m * sizeof *b->dec);
    b->gen = 1;
    b->cap = m;
    if (!b->stamp || !b->dec) {
        snn_scratch_free(b);
        return NULL;
    }
    return b;
}

void snn_scratch_free(struct snn_scratch *b)
{
    if (b)
        free(b->stamp), free(b->dec);
    free(b);
}

/* out[i] = ADD(x[i], y[i]) as snn_add_codes does it, i < n; out may be x */
static void add_block(const struct snn_arith *a, const uint32_t *x, const uint32_t *y,
                      uint32_t *out, int64_t n)
{
    if (a->f32) {
        for (int64_t i = 0; i < n; i++)
            out[i] = axl_f32_bits(axl_f32_from_bits(x[i]) + axl_f32_from_bits(y[i]));
        return;
    }
    axl_batch_pair(&a->bt, &a->c, x, y, out, n);
    if (!a->is_int)
        return;
    for (int64_t i = 0; i < n; i++)
        out[i] = snn_saturate(out[i], a->rbits, a->lo, a->hi, a->mask);
}

void snn_kern_add(const struct snn_arith *a, uint32_t *v, const uint32_t *y, int64_t n)
{
    add_block(a, v, y, v, n);
}

/* apply the pending block to v and open a new one */
static void flush(const struct snn_arith *a, uint32_t *v, struct snn_scratch *b)
{
    int n = b->n;
    for (int i = 0; i < n; i++)
        b->x[i] = v[b->j[i]];
    add_block(a, b->x, b->y, b->x, n);
    for (int i = 0; i < n; i++)
        v[b->j[i]] = b->x[i];
    b->n = 0;
    if (++b->gen == 0) { /* the stamps wrapped: none may look current */
        memset(b->stamp, 0, (size_t)b->cap * sizeof *b->stamp);
        b->gen = 1;
    }
}

/* queue v[j] = ADD(v[j], y); exact float32 adds (inline, cheaper than
 * the queue's gather and scatter) are done at once, which is the same order */
static inline void push(const struct snn_arith *a, uint32_t *v, struct snn_scratch *b, int64_t j,
                        uint32_t y)
{
    if (a->f32) {
        v[j] = axl_f32_bits(axl_f32_from_bits(v[j]) + axl_f32_from_bits(y));
        return;
    }
    if (b->stamp[j] == b->gen || b->n == SNN_BLOCK)
        flush(a, v, b);
    b->stamp[j] = b->gen;
    b->j[b->n] = (int32_t)j;
    b->y[b->n++] = y;
}

/* conv and average pool, event-driven: each input spike to the outputs
 * whose window holds it */
static int64_t conv_event(const struct snn_arith *a, const struct snn_layer *l,
                          struct snn_spikes in, uint32_t *v, struct snn_scratch *b)
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
                    int64_t oc = g * l->ocpg + o;
                    push(a, v, b, (oc * w->oh + oy) * w->ow + ox,
                         snn_syn_w(a, snn_conv_w(l, oc, ci, ky, kx, oy, ox), in.s[i]));
                }
                adds += l->ocpg;
            }
        }
    }
    flush(a, v, b);
    return adds;
}

/* conv and average pool, dense: the receptive fields position by position
 * (channel, kernel row, kernel column: ascending input index for every
 * output), each position over all the outputs of the group */
static int64_t conv_dense(const struct snn_arith *a, const struct snn_layer *l,
                          struct snn_spikes in, uint32_t *v, struct snn_scratch *b)
{
    const struct axl_window *w = &l->win;
    int64_t adds = 0, groups = w->oc / l->ocpg;
    for (int64_t g = 0; g < groups; g++)
        for (int64_t ci = 0; ci < l->cpg; ci++)
            for (int64_t ky = 0; ky < w->kh; ky++)
                for (int64_t kx = 0; kx < w->kw; kx++) {
                    const int8_t *sc = in.s + (g * l->cpg + ci) * w->h * w->w;
                    for (int64_t o = 0; o < l->ocpg; o++) {
                        int64_t oc = g * l->ocpg + o;
                        for (int64_t oy = 0; oy < w->oh; oy++) {
                            int64_t y = oy * w->stride_h - w->pad_t + ky * w->dil_h;
                            if (y < 0 || y >= w->h)
                                continue;
                            for (int64_t ox = 0; ox < w->ow; ox++) {
                                int64_t x = ox * w->stride_w - w->pad_l + kx * w->dil_w;
                                if (x < 0 || x >= w->w || !sc[y * w->w + x])
                                    continue;
                                push(a, v, b, (oc * w->oh + oy) * w->ow + ox,
                                     snn_syn_w(a, snn_conv_w(l, oc, ci, ky, kx, oy, ox),
                                           sc[y * w->w + x]));
                                adds++;
                            }
                        }
                    }
                }
    flush(a, v, b);
    return adds;
}

/* a dense layer: input i's spike adds column i of wct to every membrane
 * (through the block's operands: the sign of the spike applied) */
static void column(const struct snn_arith *a, const struct snn_layer *l, int64_t i, int8_t s,
                   uint32_t *v, struct snn_scratch *b)
{
    int64_t N = l->n_out;
    const uint32_t *col = l->wct + i * N;
    for (int64_t j0 = 0; j0 < N; j0 += SNN_BLOCK) {
        int64_t m = N - j0 < SNN_BLOCK ? N - j0 : SNN_BLOCK;
        for (int64_t q = 0; q < m; q++)
            b->y[q] = snn_syn_w(a, col[j0 + q], s);
        add_block(a, v + j0, b->y, v + j0, m);
    }
}

/* both kernels visit the inputs in ascending order: the event-driven one
 * through the list of those that spiked, the dense one by testing each */
static int64_t dense_layer(const struct snn_arith *a, const struct snn_layer *l, int dense,
                           struct snn_spikes in, uint32_t *v, struct snn_scratch *b)
{
    int64_t n = 0;
    if (dense) {
        for (int64_t i = 0; i < l->n_in; i++)
            if (in.s[i])
                column(a, l, i, in.s[i], v, b), n++;
    } else {
        for (int64_t e = 0; e < in.n; e++)
            column(a, l, in.idx[e], in.s[in.idx[e]], v, b);
        n = in.n;
    }
    return n * l->n_out;
}

/* an Add's identity shortcut: neuron j gets spike j, one weight for all */
static int64_t ident(const struct snn_arith *a, const struct snn_layer *l, int dense,
                     struct snn_spikes in, uint32_t *v, struct snn_scratch *b)
{
    int64_t adds = 0;
    if (dense) {
        for (int64_t j = 0; j < l->n_out; j++)
            if (in.s[j])
                push(a, v, b, j, snn_syn_w(a, l->wc[0], in.s[j])), adds++;
    } else {
        for (int64_t e = 0; e < in.n; e++)
            push(a, v, b, in.idx[e], snn_syn_w(a, l->wc[0], in.s[in.idx[e]]));
        adds = in.n;
    }
    flush(a, v, b);
    return adds;
}

int64_t snn_kern_synapses(const struct snn_arith *a, const struct snn_layer *l, int dense,
                          struct snn_spikes in, uint32_t *v, struct snn_scratch *b)
{
    if (l->kind == AXL_SNN_ADD)
        return l->src < 0 ? 0 : ident(a, l, dense, in, v, b);
    if (l->kind == AXL_SNN_DENSE)
        return dense_layer(a, l, dense, in, v, b);
    return dense ? conv_dense(a, l, in, v, b) : conv_event(a, l, in, v, b);
}

void snn_kern_neurons(const struct axl_snn *S, const struct snn_layer *l, uint32_t *v, int8_t *s,
                      int32_t *idx, int64_t *n, struct snn_scratch *b)
{
    const struct snn_arith *a = &l->ar;
    int64_t per = l->bias_per, N = l->n_out;
    for (int64_t j0 = 0; l->bc && j0 < N; j0 += SNN_BLOCK) {
        int64_t m = N - j0 < SNN_BLOCK ? N - j0 : SNN_BLOCK;
        for (int64_t q = 0; q < m; q++)
            b->y[q] = l->bc[(j0 + q) / per];
        add_block(a, v + j0, b->y, v + j0, m);
    }
    *n = 0;
    if (!l->spiking)
        return;
    axl_batch_decode(&a->facc, v, b->dec, N);
    for (int64_t j = 0; j < N; j++) {
        s[j] = b->dec[j] >= l->theta_val;
        if (s[j])
            idx[(*n)++] = (int32_t)j;
    }
    if (S->reset == AXL_SNN_RESET_ZERO) {
        for (int64_t e = 0; e < *n; e++)
            v[idx[e]] = 0;
        return;
    }
    for (int64_t e = 0; e < *n; e++)
        push(a, v, b, idx[e], l->neg_theta);
    flush(a, v, b);
}
