/* Spiking neural networks: a trained ReLU network (graph.h) converted into
 * a rate-coded SNN of integrate-and-fire (IF) neurons and simulated over T
 * time steps, with every update of a membrane potential going through an
 * adder design (design.h) on codes of the membrane's format.
 *
 * Conversion follows Diehl et al., "Fast-classifying, high-accuracy spiking
 * deep networks through weight and threshold balancing" (IJCNN 2015) and
 * Rueckauer et al., "Conversion of continuous-valued deep networks to
 * efficient event-driven networks for image classification" (Front.
 * Neurosci. 11:682, 2017):
 *  - each Conv / Gemm / MatMul (BatchNormalization folded into it) followed
 *    by a Relu becomes a layer of IF neurons with threshold 1;
 *  - data-based normalisation: lambda_l is the p-th percentile (default
 *    99.9, Rueckauer's robust choice instead of Diehl's maximum) of layer
 *    l's positive ReLU activations over N calibration samples, and the
 *    weights become w * lambda_{l-1} / lambda_l, the biases b / lambda_l
 *    (lambda of the input: 1 for direct coding, the percentile of |x| for
 *    Bernoulli coding); a firing rate r (spikes per step) then stands for
 *    the activation r * lambda_l;
 *  - AveragePool / GlobalAveragePool of spikes is a layer of IF neurons with
 *    weights 1/window (its own lambda; its ReLU is the identity on
 *    non-negative inputs);
 *  - MaxPool is Rueckauer's spiking max-pooling: a gate per window passes
 *    the spikes of the input neuron with the highest spike count so far
 *    (counts updated with this step's spikes first; ties: the lowest index)
 *    and no others; it has no membrane and no adds;
 *  - the last layer (no Relu) is the readout: its membrane potential,
 *    accumulated over the steps, is the network's output (about T times the
 *    ANN's logits); or (readout spikes) its neurons are IF neurons
 *    normalised like the others and the output is their spike count; a
 *    trailing Softmax / LogSoftmax is dropped (it does not change the
 *    top-1);
 *  - Flatten, Reshape, Identity and Dropout are views;
 *  - a residual Add followed by a Relu is one layer of IF neurons (its own
 *    lambda, calibrated at the Add) whose membrane receives every branch:
 *    a branch that is a linear layer (Conv/Gemm, its BatchNormalization
 *    folded) becomes a projection into the Add's membrane, its weights
 *    scaled lambda_src / lambda_add and its bias summed into the Add's
 *    bias / lambda_add; an identity shortcut (spikes of a layer) becomes
 *    one synapse per neuron of weight lambda_src / lambda_add.  This is the
 *    balanced threshold of Hu et al., "Spiking deep residual networks"
 *    (IEEE TNNLS 2021, arXiv:1805.01352), and Rueckauer et al.'s treatment
 *    of merge layers: both branches' rates expressed in the Add's scale;
 *  - Concat (axis 1) of spiking layers concatenates their spike trains;
 *    its sources share one lambda, the largest of their percentiles (each
 *    source is normalised to it), so the reader's weights need one scale.
 * Any other operator, an Add not followed by a Relu, or a linear layer
 * feeding another without a Relu is refused at conversion with one line
 * naming the node.
 *
 * One time step, layer by layer in execution order (a layer sees the spikes
 * its source emitted in the same step):
 *   0. leak (--leak F > 0, at the start of the step, every IF membrane, not
 *      the membrane readout): v_j = ADD(v_j, enc(-F * v_j)), the product
 *      exact in float32 and rounded once to the membrane format (a leaky IF
 *      neuron: v decays by the factor 1 - F per step before its input);
 *   1. synaptic adds: for every presynaptic neuron i that spiked, in
 *      ascending index order (the flattened C x H x W order of the source),
 *      v_j = ADD(v_j, w_ji) for every j in i's fan-out (with Bernoulli
 *      coding an input spike may be negative: ADD(v_j, -w_ji));
 *      the first layer under direct coding instead gets its analog input
 *      current I_j = sum_i w_ji x_i, computed once per sample by the MAC
 *      engine (exact float32, or the products through the multiplier
 *      design `mul` on operands in fmt_in, summed in float32):
 *      v_j = ADD(v_j, I_j);
 *      a projection into an Add's membrane does these adds there (the
 *      branches in execution order, the identity shortcut last: the Add's
 *      own step) and has no neurons;
 *   2. the bias: v_j = ADD(v_j, b_j) (layers with a bias);
 *   3. IF layers, j ascending: when v_j >= 1 (an exact comparison) neuron j
 *      spikes and resets: v_j = ADD(v_j, -1) (reset by subtraction) or
 *      v_j = 0 (reset to zero).  At most one spike per neuron and step.
 * ADD is the adder design bound to the membrane format, x the membrane and
 * y the addend (most approximate adders are not commutative).  Membranes
 * start at +0.  Every v_j thus sees its adds in one defined order, which is
 * why the event-driven kernel (work only for the neurons that spiked: their
 * fan-out is scattered) and the dense one (every synapse visited, gated by
 * the presynaptic spike) give the same bits.  On the CPU both hand the
 * adder blocks of adds to distinct membranes (its batch form: one call per
 * block, not per add) and match the scalar loop (kernel ref) bit for bit;
 * on a CUDA device each membrane is one thread's, which gives it its adds
 * in the same order.
 *
 * Formats: weights are quantised to the weight format (floating: nearest-
 * even; intN: symmetric per layer, scale max|w| / (2^(N-1) - 1)), then they,
 * the biases, the currents and the threshold are encoded in the membrane
 * format (nearest-even).  A floating membrane holds values; an intN
 * membrane (N <= 16) is fixed point, value = code * 2^-F with F per layer
 * chosen so that 4 * max(threshold, |w|, |b|) fits (the readout: also
 * 2 * max_steps * the largest |ANN output| of the calibration), and its
 * adders' N+1-bit results saturate to N bits.  Exact adds: float32 adds for
 * an fp32 membrane, add_exact (correctly rounded, or exact and saturated)
 * for any other.
 */
#ifndef AXLUT_SNN_H
#define AXLUT_SNN_H

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"
#include "design.h"
#include "format.h"
#include "graph.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

struct axl_layers;

/* Stored in reports: only grow. */
enum axl_snn_reset { AXL_SNN_RESET_SUBTRACT = 0, AXL_SNN_RESET_ZERO = 1 };
/* direct: the analog input as a current every step; bernoulli: each input
 * spikes in each step with probability min(1, |x| / lambda_in), with the
 * sign of x, drawn by axl_rand32(seed, (sample * 2^20 + step) * inputs + i)
 * where sample is the dataset index: the same spikes on any thread count
 * or device */
enum axl_snn_coding { AXL_SNN_CODING_DIRECT = 0, AXL_SNN_CODING_BERNOULLI = 1 };
/* auto: per layer and step, the dense kernel when more than the fraction
 * auto_dense (AXL_SNN_AUTO_DENSE unless set) of the layer's inputs
 * spiked, else the event-driven one.  The dense sweep visits every synapse
 * and pays only where most inputs spike; measured (BENCHMARKS.md,
 * tools/bench_snn.py --tune-auto) on LeNet-5 and ResNet-18: a switch at
 * 0.05 costs 2-4x, 0.25, 0.5 and 1 are equal within the noise (their
 * layers seldom fire above a quarter), so the dense kernel is kept for
 * steps where more than half the inputs spiked.  ref: the event-driven
 * scatter with one adder call per synaptic add, the reference the others
 * (which give the adder a block of adds per call) are tested against.
 * The bits do not depend on the kernel. */
#define AXL_SNN_AUTO_DENSE 0.5
enum axl_snn_kernel {
    AXL_SNN_KERNEL_EVENT = 0,
    AXL_SNN_KERNEL_DENSE = 1,
    AXL_SNN_KERNEL_AUTO = 2,
    AXL_SNN_KERNEL_REF = 3,
};
enum axl_snn_layer_kind {
    AXL_SNN_CONV = 0,
    AXL_SNN_DENSE = 1,
    AXL_SNN_AVGPOOL = 2,
    AXL_SNN_MAXPOOL = 3,
    AXL_SNN_ADD = 4,    /* a residual Add's neurons (+ its identity shortcut) */
    AXL_SNN_CONCAT = 5, /* spike trains concatenated: no membrane, no adds */
};
/* membrane: the readout's membrane potential; spikes: the readout is a
 * layer of IF neurons too (normalised like the others) and the output is
 * its spike count (ties: the lowest class) */
enum axl_snn_readout { AXL_SNN_READOUT_MEMBRANE = 0, AXL_SNN_READOUT_SPIKES = 1 };
/* "subtract", "zero"; "direct", "bernoulli"; "event", "dense", "auto", "ref";
 * "conv", "dense", "avgpool", "maxpool", "add", "concat"; "membrane",
 * "spikes" ("?" out of range; parse: AXL_ERR_INVALID for other text). */
AXL_ENUM_NAMES_DECL(axl_snn_reset, axl_snn_reset_name, axl_snn_reset_parse);
AXL_ENUM_NAMES_DECL(axl_snn_coding, axl_snn_coding_name, axl_snn_coding_parse);
AXL_ENUM_NAMES_DECL(axl_snn_kernel, axl_snn_kernel_name, axl_snn_kernel_parse);
AXL_ENUM_NAMES_DECL(axl_snn_layer_kind, axl_snn_layer_kind_name, axl_snn_layer_kind_parse);
AXL_ENUM_NAMES_DECL(axl_snn_readout, axl_snn_readout_name, axl_snn_readout_parse);

/* Zero fields take the defaults of axl_snn_defaults; strings are only read
 * during axl_snn_convert. */
struct axl_snn_settings {
    double percentile;      /* of the positive activations, (0, 100]; 99.9 */
    int64_t calib_limit;    /* calibration samples used; <= 0: all */
    int64_t batch;          /* samples per ANN run while calibrating; 32 */
    enum axl_snn_reset reset;
    enum axl_snn_coding coding;
    uint64_t seed;          /* Bernoulli coding */
    const char *fmt_w;      /* weight format; NULL: fp32 */
    const char *fmt_acc;    /* membrane format; NULL: fp32 (intN: fixed point) */
    const char *add;        /* adder design (built-in name or a user's "file.c"); NULL or
                               "exact": exact adds */
    const char *add_params[AXL_DESIGN_MAX_PARAMS]; /* "k=4" */
    int n_add_params;
    int64_t max_steps;      /* intN membranes: the readout's range covers this many
                               steps; 64 */
    double leak;            /* leaky IF: the fraction F in [0, 1) lost per step; 0 */
    /* direct coding: the first layer's analog products w_ji x_i through this
     * multiplier (as axlut run's --mul: built-in, "file.c" or table "file.h5")
     * with x and w encoded in fmt_in (NULL: fp32), summed in exact float32
     * by the MAC engine; NULL: exact float32 products */
    const char *mul;
    const char *mul_params[AXL_DESIGN_MAX_PARAMS];
    int n_mul_params;
    const char *fmt_in;
    enum axl_snn_readout readout;
    /* per-layer arithmetic in axlut run's configuration language
     * (layers.h, docs/CONFIG.md), or NULL.  With one, it alone decides
     * which layers are approximate, as in axlut run: a layer (named by its
     * synapses' node, or an Add's / pool's node) that its default and rules
     * leave exact is fp32 with exact adds; otherwise its resolved add,
     * add_params, acc_format and format_w (else format) are its adder,
     * membrane format and weight format, a field left empty falling back
     * to the settings'.  The first layer's mul, params and format, when it
     * gives a mul, are its input products'.  A projection takes its Add's.
     * Read during axl_snn_convert only. */
    const struct axl_layers *config;
};
void axl_snn_defaults(struct axl_snn_settings *s);

/* A converted network (owns copies of everything it needs: the graph may
 * be freed). */
struct axl_snn;

/* AXL_OK when g converts (no calibration): else one line naming the first
 * node that cannot, its operator and why. */
enum axl_status axl_snn_check(const struct axl_graph *g, char *msg);
/* Convert g, normalised on the calibration set calib (opened for g: its
 * shape is checked there).  Errors: an unconvertible graph (as
 * axl_snn_check), an unknown design or format, a design that does not
 * accept the membrane format, an empty calibration set. */
enum axl_status axl_snn_convert(const struct axl_graph *g, struct axl_dataset *calib,
                                const struct axl_snn_settings *s, struct axl_snn **out,
                                char *msg);
void axl_snn_free(struct axl_snn *s);
/* One line: "membrane fp16, add=fpadd_loa(k=4), weights fp32, reset subtract, direct". */
void axl_snn_describe(const struct axl_snn *s, char *buf, size_t len);

struct axl_snn_layer_info {
    const char *name, *op;  /* the node of the layer's synapses (owned by s) */
    enum axl_snn_layer_kind kind;
    int spiking;            /* IF neurons; 0: the membrane readout, a max-pool gate, a
                               concat or a projection */
    int readout;
    int64_t source;         /* the layer whose spikes it reads; -1: the network's input or
                               none (an Add without identity shortcut, a concat) */
    int64_t into;           /* a projection: the Add layer whose membrane it feeds; -1 */
    int64_t inputs, neurons; /* per sample */
    int64_t synapses;       /* weights (conv: shared) */
    double lambda;          /* the normalisation scale of its output (1: readout) */
    int frac_bits;          /* intN membranes: value = code * 2^-frac_bits; 0 else */
};
size_t axl_snn_layer_count(const struct axl_snn *s);
void axl_snn_layer(const struct axl_snn *s, size_t i, struct axl_snn_layer_info *out);
/* Number of classes of the readout. */
int64_t axl_snn_outputs(const struct axl_snn *s);

/* The membrane arithmetic of layer i as the simulation uses it (for tests
 * and tools): its format, the codes of its weights (conv: [OC][C/groups]
 * [KH][KW]; dense: [out][in]; avgpool: one per output position, [OH][OW];
 * maxpool: none), of its biases (NULL: none) and of +threshold and
 * -threshold.  Pointers are owned by s. */
struct axl_snn_layer_codes {
    struct axl_format facc;
    const uint32_t *w;
    int64_t nw;
    const uint32_t *b;
    uint32_t theta, neg_theta;
};
void axl_snn_layer_codes(const struct axl_snn *s, size_t i, struct axl_snn_layer_codes *out);
/* ADD of the settings' membrane arithmetic: ADD(x, y) on codes of the
 * membrane format, as every membrane update does it (a layer given its own
 * by a configuration uses that one). */
uint32_t axl_snn_add(const struct axl_snn *s, uint32_t x, uint32_t y);

/* The per-step record of one layer for one sample of a simulation. */
struct axl_snn_trace {
    size_t layer;
    int64_t sample;  /* within the simulated batch */
    uint32_t *v;     /* [steps][neurons] membrane codes after each step, or NULL (left
                        alone for layers without a membrane of their own) */
    int8_t *in;      /* [steps][inputs] the spikes it received (direct coding's first
                        layer: all 0), or NULL */
    int8_t *out;     /* [steps][neurons] its spikes (the readout: all 0), or NULL */
};

struct axl_snn_sim {
    enum axl_snn_kernel kernel;
    const int64_t *steps;     /* ascending, > 0: the readout is taken at each */
    int nsteps;
    int64_t first_index;      /* dataset index of the batch's first sample (Bernoulli) */
    struct axl_snn_trace *trace; /* NULL or one layer of one sample */
    /* Rate error (optional): ann[k] NULL or layer k's ANN activation,
     * [batch][neurons] (the output of its node before the Relu: the Relu is
     * applied here); rate_err [nsteps][layers] gets the sum over the batch
     * and neurons of |count / T * lambda - max(0, ann)| at each listed T */
    const float *const *ann;
    double *rate_err;
    /* cuda: the whole time loop on the device, one thread block per sample,
     * the same bits (built-in adders; no trace) */
    enum axl_backend backend;
    double auto_dense; /* kernel auto's switch; <= 0: AXL_SNN_AUTO_DENSE */
};

/* Simulate the samples of input (the graph's input shape, first axis the
 * sample) for steps[nsteps - 1] steps.  readout: [nsteps][batch][outputs]
 * decoded membranes of the readout at each listed step (its spike counts
 * with the spike readout).  spikes and adds
 * (may be NULL): [nsteps][layers], cumulative up to each listed step,
 * summed over the batch: the spikes each layer emitted and the synaptic
 * adds (spikes x fan-out; direct coding's first layer: one current add per
 * neuron and step) it received; bias and reset adds are not counted.
 * Errors: steps empty, not ascending or <= 0 ("T = 0 ..."), a wrong input
 * shape, memory. */
enum axl_status axl_snn_simulate(const struct axl_snn *s, const struct axl_tensor *input,
                                 const struct axl_snn_sim *o, float *readout, int64_t *spikes,
                                 int64_t *adds, char *msg);

/* ---- evaluation over a dataset ------------------------------------------- */
struct axl_snn_step_result {
    int64_t steps;
    double top1;      /* against the labels (NaN without labels) */
    double agreement; /* top-1 equal to the ANN's */
};
struct axl_snn_layer_result {
    struct axl_snn_layer_info info;
    double *rate;     /* [nsteps] spikes per neuron and step, up to each T */
    double *synops;   /* [nsteps] synaptic adds per sample up to each T */
    double *rate_err; /* [nsteps] mean over neurons and samples of |rate * lambda - ReLU
                         activation of the ANN| at each T; NaN: no spikes of its own */
    double ann_mean;  /* mean ReLU activation of the ANN (the error's scale); NaN idem */
};
struct axl_snn_report {
    int64_t samples;
    int has_labels;
    double ann_top1;  /* the source ANN, exact float32 (NaN without labels) */
    int nsteps;
    struct axl_snn_step_result *steps;
    size_t nlayers;
    struct axl_snn_layer_result *layers;
    double seconds, ann_seconds;
    char arithmetic[256]; /* axl_snn_describe */
    char kernel[16];
    double percentile;
};

typedef void (*axl_snn_progress_fn)(void *user, int64_t done, int64_t total);

struct axl_snn_eval {
    enum axl_snn_kernel kernel;
    int64_t batch;   /* <= 0: 32 */
    int64_t limit;   /* first samples only; <= 0: all */
    axl_snn_progress_fn progress;
    void *progress_user;
    /* HDF5 path or NULL: /outputs/snn_T<T> float32 [samples][outputs], the
     * readout at each listed T, and /outputs/ann, the ANN's outputs;
     * written to a temporary name, renamed when the evaluation completes */
    const char *save_outputs;
    enum axl_backend backend; /* the simulation's (axl_snn_sim) */
    double auto_dense;        /* idem */
};

/* Run the ANN g (exact) and the SNN s over d, the readout at every T of
 * steps (one simulation to the largest).  *r is filled on success (free
 * with axl_snn_report_free). */
enum axl_status axl_snn_evaluate(const struct axl_snn *s, const struct axl_graph *g,
                                 struct axl_dataset *d, const int64_t *steps, int nsteps,
                                 const struct axl_snn_eval *e, struct axl_snn_report *r,
                                 char *msg);
void axl_snn_report_free(struct axl_snn_report *r);
/* The report as JSON (temporary name, renamed when complete): one entry
 * per step count with steps, top1, agreement; ann_top1; per layer firing
 * rates and synaptic operations.  model and data may be NULL. */
enum axl_status axl_snn_report_write_json(const struct axl_snn_report *r, const char *path,
                                          const char *model, const char *data, char *msg);

#ifdef __cplusplus
}
#endif

#endif
