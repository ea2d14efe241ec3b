/* Approximation-aware training: fine-tuning a network with its configured
 * approximate MAC layers in the forward pass, so that it recovers the
 * accuracy the approximation cost.
 *
 * Each step runs a batch forward through the configured layers (weights
 * re-encoded from the float32 master copy whenever they change: fake
 * quantization), the softmax cross-entropy of output 0 against the
 * dataset's labels (or the mean squared error against its targets), the
 * backward (graph.h: the straight-through estimator, or the gradient
 * products through the same approximate MACs), and one optimizer update of
 * every parameter.  Everything is deterministic given the seed (shuffling,
 * Dropout), and the thread count does not change the bits: the MAC kernels
 * sum each output in a fixed order, the exact gradient products split
 * their result into rows of a fixed height (OpenBLAS's sgemm on one thread
 * per block when the library was built with it, grad_sgemm's loop
 * otherwise), and the optimizer is sequential.  Another machine may give
 * other bits where OpenBLAS picks another kernel.
 *
 * Checkpoints (HDF5, one per epoch, written atomically) hold the
 * parameters, the running statistics and the optimizer state; resuming
 * from one continues the run exactly as if it had not stopped.
 */
#ifndef AXLUT_TRAIN_H
#define AXLUT_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"
#include "emu.h"
#include "graph.h"
#include "mac.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Stored in checkpoints and reports: only grow. */
enum axl_optimizer { AXL_OPTIMIZER_SGD = 0, AXL_OPTIMIZER_ADAM = 1 };
enum axl_schedule { AXL_SCHEDULE_CONSTANT = 0, AXL_SCHEDULE_COSINE = 1, AXL_SCHEDULE_STEP = 2 };
AXL_ENUM_NAMES_DECL(axl_optimizer, axl_optimizer_name, axl_optimizer_parse);
AXL_ENUM_NAMES_DECL(axl_schedule, axl_schedule_name, axl_schedule_parse);

/* Progress within an epoch: samples done of total, the running mean loss
 * and accuracy of the epoch so far. */
typedef void (*axl_train_progress_fn)(void *user, int epoch, int64_t done, int64_t total,
                                      double loss, double accuracy);

/* Zero fields take the defaults of axl_train_defaults. */
struct axl_train_settings {
    enum axl_backend backend;
    int epochs;
    int64_t batch;
    int64_t limit, val_limit;     /* first samples only; <= 0: all */
    enum axl_optimizer optimizer;
    float lr, momentum, weight_decay;
    enum axl_schedule schedule;
    uint64_t seed;
    int backward_approx;          /* axl_grad_opts.approx */
    int bn_train;                 /* batch statistics, running averages updated */
    const char *checkpoint_dir;   /* NULL: none */
    int resume;                   /* continue from the last checkpoint in checkpoint_dir */
    axl_train_progress_fn progress;
    void *progress_user;
};

/* The defaults, for fine-tuning a trained model without tuning: SGD with
 * momentum 0.9, learning rate 0.005 decayed by a cosine over the run, no
 * weight decay, 2 epochs of batches of 64, straight-through backward,
 * BatchNormalization frozen.  A small rate that decays to zero keeps the
 * network near the optimum it already has while the weights adapt to the
 * arithmetic; frozen statistics avoid re-estimating them from small
 * batches.  Adam's default rate is 1e-4. */
void axl_train_defaults(struct axl_train_settings *s);

struct axl_train_epoch {
    int epoch;                    /* 1-based */
    double lr;                    /* at the epoch's start */
    double train_loss, train_acc; /* means over the epoch's batches */
    double val_top1, val_exact_top1; /* NaN without a validation set */
    double seconds, fwd_s, bwd_s, upd_s;
    int64_t samples;
};

struct axl_train_report {
    int64_t train_samples, val_samples;
    double val_top1_before, val_exact_top1_before; /* before the first step; NaN without one */
    int start_epoch;              /* 1, or the epoch resumed at */
    int nepochs;
    struct axl_train_epoch *epochs; /* [nepochs] */
    char last_checkpoint[1024];   /* "" when none was written */
};

/* Train g's parameters in place over train (labels required; val may be
 * NULL) with macs[node] (NULL entries: exact).  A model whose inputs fix
 * the first dimension at F (graph.h: the sample axis) trains on batches of
 * exactly F, s->batch ignored; sets (after the limits) that do not fill
 * them are refused, AXL_ERR_INVALID.  Errors: a dataset without
 * labels or with a label outside the output's classes (named with the
 * sample), a model without a backward for some node, a loss that becomes
 * NaN or infinite (the message names the epoch and step and the last good
 * checkpoint; g then holds the last good parameters of the epoch's start),
 * a checkpoint that cannot be written or does not fit the model.  The
 * report is filled for the epochs done (free with axl_train_report_free). */
enum axl_status axl_train(struct axl_graph *g, const struct axl_mac *const *macs,
                          struct axl_dataset *train, struct axl_dataset *val,
                          const struct axl_train_settings *s, struct axl_train_report *rep,
                          char *msg);
void axl_train_report_free(struct axl_train_report *r);

/* Top-1 accuracy of g with macs over the first limit samples of d (all when
 * limit <= 0); NaN without labels. */
enum axl_status axl_eval_top1(const struct axl_graph *g, const struct axl_mac *const *macs,
                              struct axl_dataset *d, enum axl_backend be, int64_t batch,
                              int64_t limit, double *top1, char *msg);

#ifdef __cplusplus
}
#endif

#endif
