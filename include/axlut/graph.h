/* Networks: an ONNX model imported into a graph that the emulator runs,
 * every convolution and matrix product through the MAC engine (mac.h) with
 * the configuration chosen for that node, everything else in exact float32.
 *
 * Loading reads the file (protobuf), converts initializers to float32 (or
 * int64 for shapes and indices), folds what is constant, checks every
 * operator and attribute, sorts the nodes and infers every shape for a
 * probe batch, so that a model the emulator cannot run is refused at load
 * with one line naming the node, the operator and what is unsupported.
 * Default-domain opsets 7 to 20 are accepted (with each operator's
 * semantics for the model's opset), and opsets 1 to 6 for the operators
 * whose meaning then equals a supported version's (a node of another is
 * refused naming operator and opset); other opsets and other domains are
 * refused.
 *
 * The nodes a graph exposes are those that compute float tensors, after
 * folding: integer bookkeeping (Shape, Gather on shapes, Concat of sizes...)
 * is evaluated while shapes are worked out for each run and is not listed.
 * Node indices below are over the exposed nodes, in execution order.
 *
 * Batch: graph inputs may have a symbolic first dimension; shapes are
 * finalised per run for the inputs given.  A fixed dimension must match.
 */
#ifndef AXLUT_GRAPH_H
#define AXLUT_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "emu.h"
#include "mac.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AXL_MAX_DIMS 8

/* A dense row-major float32 tensor. */
struct axl_tensor {
    int ndim;
    int64_t dims[AXL_MAX_DIMS];
    float *data;
};

/* Number of elements (1 for a scalar, ndim = 0). */
int64_t axl_tensor_numel(const struct axl_tensor *t);
/* Frees t->data (allocated by the library) and sets it to NULL; NULL ok. */
void axl_tensor_free(struct axl_tensor *t);

struct axl_graph;

/* Read and check an ONNX model.  On error *out is NULL and msg has one
 * line naming the file and the problem (not a model, truncated, missing
 * initializer, unknown input name, cycle) or the node, its operator and
 * what is not supported.  The graph also owns an exact fp32 MAC
 * configuration (mul_exact, fp32 adds, sequential) for its MAC nodes. */
enum axl_status axl_graph_load(const char *onnx_path, struct axl_graph **out, char *msg);
/* As axl_graph_load for training: a node that reads a float initializer of
 * more than one value (a Transpose of a weight, an Expand of a class token
 * with a constant shape) is not folded into a constant at load, so that
 * the initializer stays a parameter and gets its gradient. */
enum axl_status axl_graph_load_trainable(const char *onnx_path, struct axl_graph **out,
                                         char *msg);
void axl_graph_free(struct axl_graph *g);

/* The exposed nodes (see above).  Strings live as long as the graph.
 * A node without a name in the file is called "<op>_<index in file>". */
size_t axl_graph_node_count(const struct axl_graph *g);
const char *axl_graph_node_name(const struct axl_graph *g, size_t node);
const char *axl_graph_node_op(const struct axl_graph *g, size_t node);
/* 1 for Conv, ConvTranspose, Gemm and MatMul: the nodes a MAC config applies to. */
int axl_graph_node_is_mac(const struct axl_graph *g, size_t node);
/* Index of the node called name, or -1. */
int64_t axl_graph_find_node(const struct axl_graph *g, const char *name);

/* Shapes and work of every exposed node for a batch size. */
struct axl_node_info {
    int64_t macs; /* multiply-accumulates of the node (0 for non-MAC nodes);
                     ConvTranspose counts those of the convolution it runs */
    int n_outputs;
    int ndim;     /* of the first output */
    int64_t dims[AXL_MAX_DIMS];
};
/* info has axl_graph_node_count() entries.  batch <= 0: the probe batch
 * (1 where the first input dimension is symbolic).  An error names the
 * node whose shapes do not work out for that batch. */
enum axl_status axl_graph_describe(const struct axl_graph *g, int64_t batch,
                                   struct axl_node_info *info, char *msg);

/* Graph inputs (initializers excluded) and outputs.  A symbolic dimension
 * is -1.  ndim <= AXL_MAX_DIMS; dims has room for AXL_MAX_DIMS. */
size_t axl_graph_input_count(const struct axl_graph *g);
const char *axl_graph_input_name(const struct axl_graph *g, size_t i);
int axl_graph_input_shape(const struct axl_graph *g, size_t i, int64_t *dims);
size_t axl_graph_output_count(const struct axl_graph *g);
const char *axl_graph_output_name(const struct axl_graph *g, size_t i);
/* Output shape for the probe batch, a dimension -1 when it follows a
 * symbolic batch (kept for the first 16 outputs; -1 is returned beyond). */
int axl_graph_output_shape(const struct axl_graph *g, size_t i, int64_t *dims);

/* The sample axis.  ONNX knows no samples: a model is a function of whole
 * tensors.  axlut feeds a dataset's samples along the first axis of the
 * inputs, which is faithful when that axis is a batch: symbolic, or fixed
 * at F (then batches of exactly F samples).
 * axl_graph_fixed_batch: 0 when the inputs' first dimension is symbolic,
 * F when every input declares the same fixed first dimension F, -1
 * otherwise (a scalar input, or fixed dimensions that differ).
 * axl_graph_output_per_sample: 1 when output i (of the first 16) has the
 * batch as its first axis: with a symbolic batch, a first dimension of 1
 * at a batch of 1 and of 2 at a batch of 2, the other dimensions the same;
 * with a fixed F, a first dimension of F.  A Transpose, Concat, Flatten or
 * reduction over axis 0, or a Gemm with transA, gives 0.  An output that
 * mixes samples but keeps its shape (a Softmax over axis 0) cannot be told
 * from its shapes and gives 1. */
int64_t axl_graph_fixed_batch(const struct axl_graph *g);
int axl_graph_output_per_sample(const struct axl_graph *g, size_t i);

/* ---- structure: for tools that rebuild a network from the graph ------------
 * (the SNN conversion of snn.h walks a graph with these).  They describe the
 * graph after folding: a weight read through a folded Transpose is the
 * constant it became. */

/* Where one input of an exposed node (or one graph output) comes from. */
enum axl_source {
    AXL_SOURCE_NONE = 0,  /* an omitted optional input */
    AXL_SOURCE_NODE = 1,  /* output `output` of exposed node `index` */
    AXL_SOURCE_INPUT = 2, /* graph input `index` */
    AXL_SOURCE_CONST = 3, /* a float constant (initializer or folded), in `value` */
    AXL_SOURCE_SHAPE = 4, /* integer bookkeeping (a shape, indices, sizes) */
};
struct axl_node_input {
    enum axl_source kind;
    int64_t index;
    int output;
    /* AXL_SOURCE_CONST: the data, owned by the graph (read only, valid as long
     * as the graph); empty otherwise */
    struct axl_tensor value;
};
/* Inputs of exposed node `node` (as in the file, omitted ones included). */
int axl_graph_node_input_count(const struct axl_graph *g, size_t node);
/* Input i of node (i past the count: AXL_SOURCE_NONE). */
void axl_graph_node_input(const struct axl_graph *g, size_t node, int i, struct axl_node_input *out);
/* What graph output i is (an exposed node's output, an input or a constant). */
void axl_graph_output_source(const struct axl_graph *g, size_t i, struct axl_node_input *out);
/* An attribute of the node as the file gives it, or dflt when absent (an
 * INT attribute is also read as a float). */
int64_t axl_graph_node_attr_int(const struct axl_graph *g, size_t node, const char *name,
                                int64_t dflt);
float axl_graph_node_attr_float(const struct axl_graph *g, size_t node, const char *name,
                                float dflt);

/* The sliding-window geometry of a Conv, MaxPool, AveragePool,
 * GlobalAveragePool or GlobalMaxPool node for one sample, as the executor
 * runs it: auto_pad and ceil_mode resolved into pads and output sizes; a
 * 1-D node comes out as 2-D with h = kh = 1. */
struct axl_window {
    int64_t c, h, w;    /* input channels and size */
    int64_t oc, oh, ow; /* output (oc = c for pools) */
    int64_t kh, kw, stride_h, stride_w, dil_h, dil_w;
    int64_t pad_t, pad_l, pad_b, pad_r;
    int64_t groups;        /* 1 for pools */
    int count_include_pad; /* AveragePool's attribute */
};
/* AXL_ERR_INVALID (one line naming the node) for another operator or a
 * geometry that does not work out at the probe batch. */
enum axl_status axl_graph_node_window(const struct axl_graph *g, size_t node,
                                      struct axl_window *w, char *msg);

/* Called after each exposed node has run.  out points to the node's
 * n_outputs outputs (axl_node_info; at most the first 16, an omitted
 * optional output has data NULL); exact is NULL unless the run is a
 * shadow run and the node has an approximate MAC config, in which case it
 * holds the node's first output computed exactly from the same inputs.
 * Both are only valid during the call. */
typedef void (*axl_observe_fn)(void *user, size_t node, const struct axl_tensor *out,
                               const struct axl_tensor *exact);

struct axl_run_opts {
    enum axl_backend backend;
    /* axl_graph_node_count() entries, or NULL; a NULL entry (or a NULL
     * array, or an entry for a non-MAC node) means exact float32 */
    const struct axl_mac *const *mac;
    /* configuration of MAC nodes without one; NULL: the graph's own */
    const struct axl_mac *exact;
    int shadow;             /* also run approximate MAC nodes exactly */
    axl_observe_fn observe; /* may be NULL */
    void *user;
    /* training forward (axl_graph_forward): Dropout drops (masks drawn
     * from seed, the node and the element index: the same whatever the
     * thread count); with bn_train BatchNormalization normalises with the
     * batch's statistics and updates the graph's running averages */
    int train;
    int bn_train;
    uint64_t seed;
    /* axl_graph_node_count() entries, or NULL: a nonzero entry sends the
     * node's exact runs (without a configuration, and its shadow) through
     * the fastest exact float32 kernels (OpenBLAS sgemm over im2col on the
     * CPU): the same values to float32 rounding, summed in another order
     * than the engine's sequential one.  A dataset run's reference uses it
     * for its approximate layers (axl_run_dataset). */
    const uint8_t *fast_exact;
    /* NULL, or buffers kept between runs (axl_graph_pool_new): the values
     * of this run are taken from it and given back, so that a series of
     * runs over batches of one shape allocates nothing after the first.
     * One run at a time per pool. */
    struct axl_graph_pool *pool;
};

/* A pool of run buffers (axl_run_opts.pool); free it with
 * axl_graph_pool_free (NULL ok) once no run uses it.  Fails only for
 * memory.  axl_graph_pool_allocations: buffers it has allocated so far. */
struct axl_graph_pool;
enum axl_status axl_graph_pool_new(struct axl_graph_pool **out, char *msg);
void axl_graph_pool_free(struct axl_graph_pool *p);
uint64_t axl_graph_pool_allocations(const struct axl_graph_pool *p);

/* Run the graph on axl_graph_input_count() inputs (same order, every
 * first dimension the batch).  outputs has axl_graph_output_count()
 * entries, filled with tensors the caller frees with axl_tensor_free (also
 * on error, where they are empty).  opts NULL: exact on the CPU.  A wrong
 * input shape, or a failure of a node, is one line naming it.  The graph
 * is not changed (except by opts->bn_train, which updates its
 * BatchNormalization running statistics): several threads may run one
 * graph at once. */
enum axl_status axl_graph_run(const struct axl_graph *g, const struct axl_run_opts *opts,
                              const struct axl_tensor *inputs, struct axl_tensor *outputs,
                              char *msg);

/* ---- training: reverse-mode differentiation over the graph -------------------
 *
 * Parameters are the float initializers of the file with more than one
 * value that some exposed node reads at a differentiable input (a weight,
 * a bias, a norm's scale and shift, an embedding); BatchNormalization's
 * running statistics, scalars and values folded at load are constants.
 * Training changes their values in place (axl_graph_param), so a graph
 * being trained must not be run by another thread at the same time. */
size_t axl_graph_param_count(const struct axl_graph *g);
const char *axl_graph_param_name(const struct axl_graph *g, size_t i);
/* The parameter's values, row-major float32, owned by the graph and
 * writable: an optimizer updates them between steps. */
struct axl_tensor axl_graph_param(struct axl_graph *g, size_t i);
/* Index of the parameter called name, or -1. */
int64_t axl_graph_find_param(const struct axl_graph *g, const char *name);
/* Buffers: initializers a training forward changes that are not
 * parameters (BatchNormalization's running mean and variance); a
 * checkpoint and the saved model keep them too. */
size_t axl_graph_buffer_count(const struct axl_graph *g);
const char *axl_graph_buffer_name(const struct axl_graph *g, size_t i);
struct axl_tensor axl_graph_buffer(struct axl_graph *g, size_t i);

/* AXL_OK when every exposed node through which a gradient must flow (on a
 * path from a parameter to an output) has a backward; otherwise one line
 * naming the first such node and its operator. */
enum axl_status axl_graph_check_backward(const struct axl_graph *g, char *msg);

/* The forward activations of one run, kept for its backward. */
struct axl_tape;

/* As axl_graph_run, keeping every value for axl_graph_backward.  *tape is
 * NULL on error; free it with axl_tape_free (outputs stay the caller's). */
enum axl_status axl_graph_forward(const struct axl_graph *g, const struct axl_run_opts *opts,
                                  const struct axl_tensor *inputs, struct axl_tensor *outputs,
                                  struct axl_tape **tape, char *msg);

struct axl_grad_opts {
    /* 0: the straight-through estimator: the MAC nodes' gradient products
     * are exact float32, evaluated at the operands as the configured
     * formats quantize them; 1: those products also go through each node's
     * approximate MAC configuration (multiplier, formats, adder) */
    int approx;
};

/* Gradients of a scalar loss from dout (one per graph output, shaped as
 * it; data NULL: no gradient through that output).  Adds into
 * param_grad[i] (axl_graph_param_count() arrays shaped as the parameters;
 * a NULL entry is not computed) and, when input_grad is not NULL, into
 * input_grad[i] (axl_graph_input_count() arrays or NULL entries).  The MAC
 * configurations and backend are those of the forward. */
enum axl_status axl_graph_backward(struct axl_tape *tape, const struct axl_grad_opts *o,
                                   const struct axl_tensor *dout, float *const *param_grad,
                                   float *const *input_grad, char *msg);
void axl_tape_free(struct axl_tape *t);

/* Writes the graph as ONNX to out_path: its source file (re-read from the
 * path it was loaded from) with every parameter's (and buffer's)
 * initializer holding the current values, as FLOAT raw data (also where
 * the source had fp16, bf16 or double); everything else in the file is
 * kept.  out_path is complete
 * or untouched (written beside it, then renamed; it may be the source
 * itself).  An error is one line naming out_path and the cause: a path
 * that cannot be written, external data, a source changed since load. */
enum axl_status axl_graph_save(const struct axl_graph *g, const char *out_path, char *msg);

#ifdef __cplusplus
}
#endif

#endif
