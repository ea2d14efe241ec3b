/* What the CUDA simulation of a converted SNN (snn_cuda.cu) is given: the
 * network flattened into plain structures (no host-only pointers to
 * follow), and the membrane ADD written once for the host and the device
 * (AXL_HD): the built-in adder's function (axl_builtin_eval), the integer
 * membranes' saturation, the exact float32 add. */
#ifndef AXLUT_EMU_SNN_DEV_H
#define AXLUT_EMU_SNN_DEV_H

#include <stdint.h>

#include "axlut/design.h"
#include "axlut/format.h"
#include "axlut/graph.h"
#include "axlut/hd.h"
#include "designs/builtin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* an intN membrane: the adder's rbits-bit sum saturated into N bits */
AXL_HD uint32_t snn_saturate(uint32_t r, int rbits, int32_t lo, int32_t hi, uint32_t mask)
{
    uint32_t sh = 32u - (uint32_t)rbits;
    int32_t v = (int32_t)(r << sh) >> sh;
    v = v < lo ? lo : v > hi ? hi : v;
    return (uint32_t)v & mask;
}

/* A membrane's arithmetic (snn_internal.h: struct snn_arith) for the
 * device: built-in adders only. */
struct snn_dev_arith {
    struct axl_format facc;
    struct axl_design_ctx c;
    int32_t f32, is_int, rbits, lo, hi;
    uint32_t mask;
};

AXL_HD uint32_t snn_dev_add(const struct snn_dev_arith *a, uint32_t x, uint32_t y)
{
    if (a->f32)
        return axl_f32_bits(axl_f32_from_bits(x) + axl_f32_from_bits(y));
    uint32_t r = axl_builtin_eval(&a->c, x, y);
    return a->is_int ? snn_saturate(r, a->rbits, a->lo, a->hi, a->mask) : r;
}

AXL_HD uint32_t snn_dev_neg(const struct snn_dev_arith *a, uint32_t code)
{
    if (!a->is_int)
        return code ^ (1u << (a->facc.bits - 1));
    uint32_t sh = 32u - a->facc.bits;
    int32_t v = -((int32_t)(code << sh) >> sh);
    return (uint32_t)(v > a->hi ? a->hi : v) & a->mask;
}

/* One layer (snn_internal.h: struct snn_layer); pointers are the host's,
 * which the launcher copies to the device. */
struct snn_dev_layer {
    int32_t kind, spiking, nsrc;
    int64_t src, into, owner;        /* owner: the layer whose membrane it adds to */
    int64_t n_in, n_out, bias_per, cpg, ocpg;
    struct axl_window win;
    const uint32_t *wc, *bc;
    int64_t nwc, nbc;
    const int64_t *srcs;             /* a concat's sources */
    uint32_t neg_theta;
    float theta_val, scale;
    struct snn_dev_arith syn, own;   /* its synaptic adds' (its owner's), its neurons' */
};

struct snn_dev_net {
    const struct snn_dev_layer *L;
    int64_t n, n_in;
    int32_t reset, direct;
    uint64_t seed;
    double lambda_in, leak;
};

/* One simulation on the device: the samples x [B][n_in] (host memory),
 * the first layer's currents cur [B][its neurons] (direct coding) or NULL;
 * out: readout [nsteps][B][outputs], counts [B][nsteps][2][layers] (spikes,
 * adds: snn_sim.c's layout), fired NULL or [B][nsteps][sum of the layers'
 * neurons]: each neuron's spike count at each listed T (the rate error). */
struct snn_dev_sim {
    int64_t B;
    const float *x;
    const uint32_t *cur;
    const int64_t *steps;
    int32_t nsteps, kernel;
    double auto_dense; /* kernel auto's switch (> 0) */
    int64_t first_index;
    float *readout;
    int64_t *counts;
    int32_t *fired;
};

/* snn_cuda.cu (snn_cuda_none.c without the CUDA backend): runs it on the
 * first CUDA device; AXL_ERR_UNSUPPORTED when there is none or CUDA was
 * not built, AXL_ERR_CUDA (one line) for a CUDA error. */
enum axl_status snn_cuda_simulate(const struct snn_dev_net *net, const struct snn_dev_sim *o,
                                  char *msg);

#ifdef __cplusplus
}
#endif

#endif
