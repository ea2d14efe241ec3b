/* The SNN simulation's CUDA path, host side: the network flattened for
 * the device (snn_dev.h) and handed to snn_cuda_simulate; what comes back
 * is what the CPU path computes (snn_sim.c does the rest). */
#include <stdlib.h>
#include <string.h>

#include "snn_dev.h"
#include "snn_internal.h"

static enum axl_status dev_arith(const struct snn_arith *a, const char *layer,
                                 struct snn_dev_arith *d, char *msg)
{
    memset(d, 0, sizeof *d);
    d->facc = a->facc;
    d->f32 = a->f32;
    if (!a->f32) {
        if (a->c.id == AXL_DESIGN_USER)
            return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "layer '%.200s': --device cuda takes the "
                            "built-in adders only (a user's adder runs on the cpu)", layer);
        d->c = a->c;
    }
    d->is_int = a->is_int, d->rbits = a->rbits, d->lo = a->lo, d->hi = a->hi;
    d->mask = a->mask;
    return AXL_OK;
}

enum axl_status snn_sim_cuda(const struct axl_snn *S, const struct axl_tensor *in,
                             const struct axl_snn_sim *o, const uint32_t *cur, float *readout,
                             int64_t *counts, int32_t *fired, char *msg)
{
    if (o->trace)
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "a trace is recorded on the cpu only");
    struct snn_dev_layer *L = calloc(S->n + 1, sizeof *L);
    if (!L)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    enum axl_status st = AXL_OK;
    for (size_t k = 0; st == AXL_OK && k < S->n; k++) {
        const struct snn_layer *l = &S->L[k];
        struct snn_dev_layer *d = &L[k];
        d->kind = (int32_t)l->kind, d->spiking = l->spiking, d->nsrc = l->nsrc;
        d->src = l->src, d->into = l->into, d->owner = snn_owner(S, l);
        d->n_in = l->n_in, d->n_out = l->n_out, d->bias_per = l->bias_per;
        d->cpg = l->cpg, d->ocpg = l->ocpg, d->win = l->win;
        d->wc = l->wc, d->nwc = l->wc ? l->nwc : 0;
        d->bc = l->bc;
        d->nbc = l->bc ? l->n_out / l->bias_per : 0; /* as snn_encode.c encodes them */
        d->srcs = l->srcs;
        d->neg_theta = l->neg_theta, d->theta_val = l->theta_val, d->scale = l->scale;
        if ((st = dev_arith(snn_ar(S, l), l->name, &d->syn, msg)) == AXL_OK)
            st = dev_arith(&l->ar, l->name, &d->own, msg);
    }
    if (st == AXL_OK) {
        struct snn_dev_net net = {.L = L, .n = (int64_t)S->n, .n_in = S->n_in,
                                  .reset = (int32_t)S->reset,
                                  .direct = S->coding == AXL_SNN_CODING_DIRECT, .seed = S->seed,
                                  .lambda_in = S->lambda_in, .leak = S->leak};
        struct snn_dev_sim ds = {.B = in->dims[0], .x = in->data, .cur = cur, .steps = o->steps,
                                 .nsteps = o->nsteps, .kernel = (int32_t)o->kernel,
                                 .auto_dense = o->auto_dense > 0 ? o->auto_dense
                                                                 : AXL_SNN_AUTO_DENSE,
                                 .first_index = o->first_index, .readout = readout,
                                 .counts = counts, .fired = fired};
        st = snn_cuda_simulate(&net, &ds, msg);
    }
    free(L);
    return st;
}
