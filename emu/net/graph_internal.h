/* The graph's inside: values, nodes, the operator table, and the state of
 * one run.  The IR's helpers are in emu/net/ir.c; the importer
 * (emu/net/onnx_import.c) builds it, the executor (emu/net/graph.c) and the
 * operators (emu/net/ops_*.c) read it.
 *
 * Every value is float32 or int64 (all integer and boolean ONNX types
 * become int64, all floating ones float32).  Integer values only ever hold
 * shapes, sizes and indices: they are computed while the shapes of a run
 * are worked out (the "shape pass"), before any float work; float values
 * are computed in the "exec pass".  A node whose outputs are all integer
 * is therefore bookkeeping, evaluated in the shape pass and not exposed.
 */
#ifndef AXLUT_EMU_GRAPH_INTERNAL_H
#define AXLUT_EMU_GRAPH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "axlut/graph.h"

enum gdt { GDT_F32 = 0, GDT_I64 = 1 };

struct gtensor {
    int dtype; /* enum gdt */
    int ndim;
    int64_t dims[AXL_MAX_DIMS];
    void *data; /* NULL while not computed */
    int owned;  /* data is freed with the run (or the graph, for constants) */
    size_t pooled; /* bytes of data when it came from the run's pool, else 0 */
};

enum gattr_type { GA_FLOAT = 1, GA_INT = 2, GA_STRING = 3, GA_TENSOR = 4, GA_FLOATS = 6, GA_INTS = 7,
                  GA_OTHER = 99 };

struct gattr {
    char *name;
    int type; /* enum gattr_type */
    float f;
    int64_t i;
    char *s;
    int64_t *ints;
    float *floats;
    int64_t n; /* of ints or floats */
    struct gtensor t;
};

enum vkind { V_RUNTIME = 0, V_INPUT = 1, V_CONST = 2 };

struct gvalue {
    char *name;
    int kind;         /* enum vkind */
    struct gtensor c; /* V_CONST: the data, owned by the graph */
    int producer;     /* node index or -1 */
    int input_index;  /* V_INPUT: position among the graph inputs */
    int ndecl;        /* V_INPUT: declared rank and dims (-1 symbolic) */
    int64_t decl[AXL_MAX_DIMS];
    int last_use;     /* exec position of the last exposed consumer, -1 none */
    int is_output;
    int is_init;      /* V_CONST read from the file's initializers (not folded) */
    int param;        /* index among the trainable parameters, -1 otherwise */
};

struct op_def;

struct gnode {
    char *name;
    char *op;
    int file_index;
    int n_in, n_out;
    int *in, *out; /* value indices; -1 for an empty (omitted optional) input */
    struct gattr *attrs;
    int n_attrs;
    const struct op_def *def;
    int dead;     /* folded into constants */
    int exposed;  /* computes float outputs (exec pass) */
    int64_t pub;  /* position among exposed nodes, -1 otherwise */
};

struct axl_graph {
    char *path;
    int opset;
    struct gvalue *vals;
    int nvals;
    struct gnode *nodes;
    int nnodes;
    int *order; /* live nodes, topologically sorted */
    int norder;
    int *pub;   /* node indices of the exposed nodes, in order */
    size_t npub;
    int *inputs, *outputs; /* value indices */
    int nin, nout;
    int64_t out_decl[16][AXL_MAX_DIMS]; /* first 16 outputs' probe shapes */
    int out_ndim[16];
    struct axl_mac *exact;
    int batch_symbolic;
    int64_t fixed_batch;       /* axl_graph_fixed_batch */
    uint8_t out_per_sample[16]; /* axl_graph_output_per_sample */
    int *params; /* value indices of the trainable parameters (autodiff.c) */
    int nparams;
    int trainable; /* loaded for training: nodes reading weights are not folded */
    int *buffers; /* value indices of BatchNormalization running statistics */
    int nbuffers;
};

/* One run (or one shape pass): the tensor of every value. */
struct run_ctx {
    const struct axl_graph *g;
    struct gtensor *rt;  /* nvals */
    enum axl_backend be;
    const struct axl_mac *mac; /* the configuration of the node being run */
    int fast;            /* mac is exact and runs through emu/net/exact_fast.c */
    int64_t macs;        /* set by a MAC node's shape function */
    /* training forward (axl_run_opts): Dropout drops, BatchNormalization
     * uses batch statistics; keep: no value is freed after its last use */
    int train, bn_train, keep;
    uint64_t seed;
    const struct axl_mac *const *macs_of; /* per exposed node, or NULL (for the backward) */
    struct axl_graph_pool *pool; /* axl_run_opts.pool, or NULL: malloc and free */
};

/* The pool (emu/net/pool.c): the smallest free buffer of at least bytes
 * (its size in *got), or a new one; NULL when out of memory.  pool_put
 * takes data back (bytes: *got). */
void *pool_get(struct axl_graph_pool *p, size_t bytes, size_t *got);
void pool_put(struct axl_graph_pool *p, void *data, size_t bytes);

struct grad_ctx;

struct op_def {
    const char *name;
    const char *attrs; /* accepted attribute names, comma separated */
    int min_in, max_in, min_out, max_out;
    int is_mac;
    int shape_of_input; /* reads only the shape of input 0 (Shape, Size) */
    /* load time: attribute values and opset-dependent forms; one line on
     * what is unsupported (the caller prefixes the node) */
    enum axl_status (*check)(const struct axl_graph *g, const struct gnode *n, char *msg);
    /* output dtypes and shapes; with ctx->g, inputs' shapes (and data, when
     * integer or constant) */
    enum axl_status (*shape)(struct run_ctx *c, const struct gnode *n, char *msg);
    /* the outputs' data, buffers already allocated */
    enum axl_status (*exec)(struct run_ctx *c, const struct gnode *n, char *msg);
    /* training: adds the gradients of the inputs from those of the outputs
     * (emu/net/autodiff.h); NULL: the operator has no backward */
    enum axl_status (*backward)(struct grad_ctx *gc, const struct gnode *n, char *msg);
    /* bit i: input i carries no gradient (indices, shapes, statistics,
     * bounds), so an initializer read only there is not a parameter */
    uint32_t nodiff;
};

const struct op_def *axl_op_find(const char *name);
/* 1 when operator op of a model of default-domain opset `opset` has the
 * semantics of a supported version (always for opset >= 7; ir.c lists the
 * operators of opsets 1 to 6 that do). */
int axl_legacy_op_ok(const char *op, int opset);
/* Sets g->fixed_batch and g->out_per_sample from the inputs' declarations
 * and the outputs' shapes probed at a batch of 1 (g->out_decl, before
 * symbolic dimensions are marked) and, for a symbolic batch, of 2 (od2). */
void axl_graph_note_samples(struct axl_graph *g, int64_t (*od2)[AXL_MAX_DIMS], const int *ond2);
/* the operator tables, each ended by a NULL name */
extern const struct op_def axl_ops_elem[], axl_ops_norm[], axl_ops_shape[], axl_ops_move[],
    axl_ops_pad[], axl_ops_mac[], axl_ops_nary[];
/* Sum, Mean, Max, Min over any number of inputs (ops_nary.c) */
enum axl_status axl_nary_shape(struct run_ctx *c, const struct gnode *n, char *msg);
enum axl_status axl_nary_exec(struct run_ctx *c, const struct gnode *n, char *msg);

/* ---- the IR: sizes, accessors, freeing (emu/net/ir.c) ------------------- */
/* The most elements one tensor may have: 2^31 (8 GiB of float32, 16 GiB of
 * int64).  set_out refuses a node whose output would be larger, and the
 * operators bound attribute values (pads, strides, steps) by it, so that
 * every size and index product they form stays far inside int64. */
#define GT_MAX_NUMEL ((int64_t)1 << 31)
/* a * b and a + b into *r; nonzero when the result overflows int64 */
static inline int gt_mul(int64_t a, int64_t b, int64_t *r)
{
    return __builtin_mul_overflow(a, b, r);
}
static inline int gt_add(int64_t a, int64_t b, int64_t *r)
{
    return __builtin_add_overflow(a, b, r);
}
/* elements of a shape: -1 when a dimension is negative or the count
 * exceeds GT_MAX_NUMEL */
int64_t gt_count(int ndim, const int64_t *dims);
/* elements of t (INT64_MAX when they overflow, which set_out prevents) */
int64_t gt_numel(const struct gtensor *t);
size_t gt_esize(int dtype);
/* integer view of an int64 or (constant) float tensor's element i */
int64_t gt_geti(const struct gtensor *t, int64_t i);
double gt_getd(const struct gtensor *t, int64_t i);
/* frees t's data when owned; t stays valid (empty) */
void gt_free(struct gtensor *t);
/* frees what n owns (names, edges, attributes), not n itself */
void gnode_free(struct gnode *n);

const struct gattr *ga_find(const struct gnode *n, const char *name);
int64_t ga_int(const struct gnode *n, const char *name, int64_t dflt);
float ga_float(const struct gnode *n, const char *name, float dflt);
const char *ga_str(const struct gnode *n, const char *name, const char *dflt);
/* ints attribute: count (or -1 when absent), values in *v */
int64_t ga_ints(const struct gnode *n, const char *name, const int64_t **v);

/* ---- helpers for the operators (emu/net/graph.c) ------------------------ */
/* Operators report errors with axl_msgf (axlut/status.h); the executor
 * prefixes the node. */

/* the run-time tensor of input i (NULL when omitted or i >= n_in) */
struct gtensor *in_t(struct run_ctx *c, const struct gnode *n, int i);
struct gtensor *out_t(struct run_ctx *c, const struct gnode *n, int i);
/* set output i's dtype and shape */
enum axl_status set_out(struct run_ctx *c, const struct gnode *n, int i, int dtype, int ndim,
                        const int64_t *dims, char *msg);

/* axis in [-r, r) to [0, r); -1 (with a message) when out of range */
int norm_axis(int64_t axis, int r, const struct gnode *n, char *msg);
/* numpy broadcast of two shapes */
enum axl_status bcast_shape(const struct gtensor *a, const struct gtensor *b, int *ndim,
                            int64_t *dims, char *msg);
/* strides of t (element units) broadcast onto an output of ndim dims */
void bcast_strides(const struct gtensor *t, int ndim, const int64_t *odims, int64_t *strides);

/* AXL_OK when attribute value v (of `what`) is at most GT_MAX_NUMEL; a
 * message naming it otherwise.  Bounds geometry (strides, pads, dilations)
 * so that sums and products with tensor sizes stay inside int64. */
enum axl_status attr_bound(const char *what, int64_t v, char *msg);

/* AXL_OK when input i is absent or float; else a message */
enum axl_status float_input(struct run_ctx *c, const struct gnode *n, int i, char *msg);
/* output 0 shaped as input 0, which must be float */
enum axl_status same_shape(struct run_ctx *c, const struct gnode *n, char *msg);

/* elements below which threads do not pay */
#define PAR_MIN 32768

/* AXL_OK when t is absent or its data is known (constant or integer);
 * otherwise a message that `what` may not come from run-time float data */
enum axl_status need_data(const struct gtensor *t, const char *what, char *msg);

/* A run of g (axl_graph_run's work) into c, which the caller releases with
 * axl_run_release whatever the status; with keep, every value stays in c
 * (the graph's outputs are copied to outputs, not taken). */
enum axl_status axl_graph_exec(const struct axl_graph *g, const struct axl_run_opts *opts,
                               const struct axl_tensor *inputs, struct axl_tensor *outputs,
                               struct run_ctx *c, int keep, char *msg);
void axl_run_release(const struct axl_graph *g, struct run_ctx *c);

/* The shape pass of a run of batch samples into c (every value shaped,
 * integer values computed, float data not), for inspecting the graph;
 * the caller releases c with axl_run_release whatever the status. */
enum axl_status axl_graph_shapes(const struct axl_graph *g, int64_t batch, struct run_ctx *c,
                                 char *msg);
/* The geometry of Conv (ops_mac.c) and of the pools (ops_norm.c) after a
 * shape pass, for axl_graph_node_window; messages unprefixed. */
enum axl_status axl_conv_window(struct run_ctx *c, const struct gnode *n, struct axl_window *w,
                                char *msg);
enum axl_status axl_pool_window(struct run_ctx *c, const struct gnode *n, struct axl_window *w,
                                char *msg);

/* Marks the trainable parameters (g->params, gvalue.param); at load. */
enum axl_status axl_graph_find_params(struct axl_graph *g, char *msg);

/* ---- the importer (emu/net/onnx_import.c) ------------------------------- */
/* Fills g's values, nodes, inputs, outputs and opset from the file. */
enum axl_status axl_onnx_read(const char *path, struct axl_graph *g, char *msg);
/* The whole file at path into *buf (malloc'd, the caller frees it) and *len;
 * an error names the file. */
enum axl_status axl_onnx_read_bytes(const char *path, uint8_t **buf, size_t *len, char *msg);

#endif
