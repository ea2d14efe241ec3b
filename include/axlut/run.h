/* Running a network over a dataset: layerwise emulation with the exact
 * network alongside, and the report of what the approximation did.
 *
 * For every batch the exact network runs first (its layer outputs are the
 * reference), then the configured one, with each approximated layer also
 * run exactly on the same input (a shadow).  Per approximated layer this
 * gives two errors: the layer's own (its output against the exact layer
 * given the same input) and the error accumulated from the network input
 * (its output against the exact network's output of that layer).  Errors
 * are summed over the whole dataset, then reported as MSE, SNR in dB
 * (10 log10 of reference energy over error energy), the largest absolute
 * error and the cosine similarity.  The datasets are those of dataset.h.
 *
 * Samples and batches (graph.h: the sample axis).  With a symbolic first
 * dimension whose outputs follow it, samples run in batches of
 * settings.batch.  A model whose inputs fix the first dimension at F runs
 * on batches of exactly F samples (a sample count that is not a multiple
 * of F is refused, AXL_ERR_INVALID).  A model with a symbolic first
 * dimension and an output that does not follow it (a Transpose, Concat,
 * Flatten or reduction over axis 0) gets every sample as one input, which
 * is what ONNX computes for it; so does a run saving layers whose first
 * axis is not the batch.  report.batching says which applied.  Saved
 * outputs (and layers) whose first axis is not the sample axis are stored
 * as they are (one run over all samples) or as one entry per batch of F.
 */
#ifndef AXLUT_RUN_H
#define AXLUT_RUN_H

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

/* Error of one tensor against its reference, summed over a dataset. */
struct axl_error_sums {
    double n, ref2, err2, max_abs, dot, a2;
};
struct axl_error {
    double mse, snr_db, max_abs, cosine;
};
void axl_error_add(struct axl_error_sums *s, const float *got, const float *ref, int64_t n);
struct axl_error axl_error_of(const struct axl_error_sums *s);
/* Scores: a NaN score is below every number and never a prediction.
 * axl_argmax: index of the largest (first on ties), -1 when all are NaN;
 * axl_in_top_k: 1 when LABEL is among the K largest (ties by index). */
int64_t axl_argmax(const float *v, int64_t n);
int axl_in_top_k(const float *v, int64_t n, int64_t label, int k);

struct axl_layer_report {
    size_t node;
    const char *name, *op; /* owned by the graph */
    int approximate;
    char config[320];      /* axl_mac_describe, or "exact fp32" */
    enum axl_path path;
    int64_t macs;          /* per sample (a run's work over its samples) */
    int per_sample;        /* the output's first axis is the batch */
    int ndim;              /* output shape: for one sample (first axis 1) when
                              per_sample, else of one run */
    int64_t dims[AXL_MAX_DIMS];
    double seconds;        /* this layer in the approximate pass, shadow included */
    struct axl_error_sums local_sums, accum_sums;
    struct axl_error local, accum;
};

/* What a run's exact reference was (axl_run_report.reference). */
enum axl_reference {
    AXL_REFERENCE_RUN = 0,     /* the exact network ran alongside: every figure is there */
    AXL_REFERENCE_SKIPPED = 1, /* not run (axl_run_settings.no_reference): exact accuracy,
                                * agreement, output and layer errors are absent (NaN, zero
                                * sums) and no layer ran a shadow */
    AXL_REFERENCE_SAME = 2,    /* every layer exact: the configured network is the exact
                                * one, run once and compared with itself */
};

struct axl_run_report {
    int64_t samples;
    int64_t batch;             /* samples per run of the graph */
    char batching[160];        /* why batch is not the one asked for ("" when it is) */
    int has_labels;
    int top_k;                 /* classes in the output: top-5 needs 5 */
    double top1, top5;         /* approximate network, against labels */
    double exact_top1, exact_top5;
    double agreement;          /* top-1 equal to the exact network's */
    double seconds, exact_seconds, samples_per_s;
    size_t nlayers;            /* the MAC layers, in execution order */
    struct axl_layer_report *layers;
    struct axl_error_sums out_sums;  /* final output vs exact network */
    struct axl_error output_error;
    int reference;             /* enum axl_reference */
};

typedef void (*axl_run_progress_fn)(void *user, int64_t done, int64_t total);

struct axl_run_settings {
    enum axl_backend backend;
    int64_t batch;             /* samples per run; <= 0: 32 */
    int64_t limit;             /* first samples only; <= 0: all */
    axl_run_progress_fn progress;
    void *progress_user;
    const char *save_outputs;  /* HDF5 path for the final outputs, or NULL */
    int save_layers;           /* also every layer's output */
    /* accuracy only: the exact network and the shadows are not run
     * (report.reference says so) */
    int no_reference;
};

/* Run graph g over dataset d with macs[node] (NULL entries: exact).  On
 * success *report is filled (free with axl_run_report_free). */
enum axl_status axl_run_dataset(const struct axl_graph *g, const struct axl_mac *const *macs,
                                struct axl_dataset *d, const struct axl_run_settings *s,
                                struct axl_run_report *report, char *msg);
void axl_run_report_free(struct axl_run_report *r);

/* The report as JSON (written to a temporary name, renamed when complete);
 * model and data name the files it was made from (may be NULL). */
enum axl_status axl_run_report_write_json(const struct axl_run_report *r, const char *path,
                                          const char *model, const char *data, char *msg);

#ifdef __cplusplus
}
#endif

#endif
