/* Calibration of a converted SNN (include/axlut/snn.h): the ANN runs over
 * the calibration samples and every layer's positive activations go into a
 * histogram from which the normalisation's percentile is read
 * (Rueckauer et al. 2017, section 2.3: the p-th percentile instead of
 * Diehl et al.'s maximum, robust to outliers).
 *
 * The histogram's bins are the top 16 bits of the float32 value (sign,
 * exponent and 7 mantissa bits: a bf16 truncation), so a layer costs 256 KiB
 * whatever the calibration set's size, and the percentile is the bin's
 * upper edge: within 2^-7 relative of the exact one, never below it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "snn_internal.h"

void snn_hist_add(int64_t *hist, const float *x, int64_t n, int absolute)
{
    for (int64_t i = 0; i < n; i++) {
        uint32_t u = axl_f32_bits(x[i]);
        if (absolute)
            u &= 0x7FFFFFFFu;
        /* positive and finite: 0 < u < inf (zeros, negatives, NaN left out) */
        if (u > 0 && u < 0x7F800000u)
            hist[u >> 16]++;
    }
}

double snn_hist_percentile(const int64_t *hist, double p)
{
    int64_t total = 0;
    for (int b = 0; b < SNN_HIST_BINS; b++)
        total += hist[b];
    if (total == 0)
        return 0;
    /* nearest rank: the smallest value with at least p% of them at or below it */
    int64_t rank = (int64_t)ceil(p / 100.0 * (double)total);
    rank = rank < 1 ? 1 : rank > total ? total : rank;
    int64_t seen = 0;
    for (int b = 0; b < SNN_HIST_BINS; b++) {
        seen += hist[b];
        if (seen >= rank)
            return axl_f32_from_bits(((uint32_t)b << 16) | 0xFFFFu);
    }
    return 0; /* not reached */
}

struct calib_ctx {
    struct axl_snn *s;
    int64_t *layer_of; /* exposed node -> layer calibrated at its output, -1 */
};

static void observe(void *user, size_t node, const struct axl_tensor *out,
                    const struct axl_tensor *exact)
{
    (void)exact;
    struct calib_ctx *c = user;
    int64_t k = c->layer_of[node];
    if (k < 0 || !out[0].data)
        return;
    struct snn_layer *l = &c->s->L[k];
    int64_t n = axl_tensor_numel(&out[0]);
    if (l->readout)
        for (int64_t i = 0; i < n; i++)
            l->out_max = fmax(l->out_max, fabs((double)out[0].data[i]));
    if (l->hist)
        snn_hist_add(l->hist, out[0].data, n, 0);
}

/* one batch through the ANN with the observer; the input's |x| too */
static enum axl_status calib_batch(struct calib_ctx *c, const struct axl_graph *g,
                                   struct axl_dataset *d, int64_t start, int64_t nb, char *msg)
{
    struct axl_tensor in = {0}, out = {0};
    enum axl_status st = axl_dataset_read(d, start, nb, &in, NULL, msg);
    if (st == AXL_OK) {
        snn_hist_add(c->s->in_hist, in.data, axl_tensor_numel(&in), 1);
        struct axl_run_opts o;
        memset(&o, 0, sizeof o);
        o.backend = AXL_BACKEND_CPU;
        o.observe = observe;
        o.user = c;
        st = axl_graph_run(g, &o, &in, &out, msg);
    }
    axl_tensor_free(&in);
    axl_tensor_free(&out);
    return st;
}

enum axl_status snn_calibrate(struct axl_snn *s, const struct axl_graph *g,
                              struct axl_dataset *d, const struct axl_snn_settings *st, char *msg)
{
    int64_t total = axl_dataset_count(d);
    if (st->calib_limit > 0 && st->calib_limit < total)
        total = st->calib_limit;
    if (total <= 0)
        return axl_msgf(msg, AXL_ERR_INVALID, "calibration set %s has no samples",
                        axl_dataset_path(d));
    size_t nn = axl_graph_node_count(g);
    struct calib_ctx c = {s, malloc((nn + 1) * sizeof(int64_t))};
    s->in_hist = calloc(SNN_HIST_BINS, sizeof *s->in_hist);
    if (!c.layer_of || !s->in_hist) {
        free(c.layer_of);
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < nn; i++)
        c.layer_of[i] = -1;
    enum axl_status rc = AXL_OK;
    for (size_t k = 0; k < s->n && rc == AXL_OK; k++) {
        struct snn_layer *l = &s->L[k];
        if (l->kind == AXL_SNN_MAXPOOL || l->kind == AXL_SNN_CONCAT || l->into >= 0)
            continue; /* their sources' scale, or their Add's */
        c.layer_of[l->calib_node] = (int64_t)k;
        if ((!l->readout || l->spiking) && !(l->hist = calloc(SNN_HIST_BINS, sizeof *l->hist)))
            rc = axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    }
    int64_t batch = st->batch > 0 ? st->batch : 32;
    for (int64_t start = 0; start < total && rc == AXL_OK; start += batch) {
        int64_t nb = total - start < batch ? total - start : batch;
        rc = calib_batch(&c, g, d, start, nb, msg);
    }
    free(c.layer_of);
    return rc;
}
