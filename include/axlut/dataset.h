/* Datasets: the samples (and labels) a network is run over, read from HDF5
 * in batches.
 *
 * A dataset file holds `/inputs` (float32 of any rank whose first axis is
 * the sample, or uint8 with `scale` and `offset` attributes: value =
 * scale * code + offset), or a group `/inputs` with one such dataset per
 * model input name; optional `/labels` (integers, one per sample) and
 * `/targets` (floating, the sample first: what a regression is trained to
 * output).
 */
#ifndef AXLUT_DATASET_H
#define AXLUT_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "graph.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

struct axl_dataset;

/* Open a dataset for graph g: every model input must be found, with the
 * shape the model expects after the sample axis.  Errors name the file and
 * the dataset or attribute at fault. */
enum axl_status axl_dataset_open(const char *path, const struct axl_graph *g,
                                 struct axl_dataset **out, char *msg);
int64_t axl_dataset_count(const struct axl_dataset *d);
/* The path it was opened from, for messages (owned by d). */
const char *axl_dataset_path(const struct axl_dataset *d);
int axl_dataset_has_labels(const struct axl_dataset *d);
/* Values per sample of /targets (float, first axis the sample: regression
 * targets for training), 0 without them. */
int64_t axl_dataset_target_size(const struct axl_dataset *d);
/* Targets of samples [start, start + n) into out (n * target_size). */
enum axl_status axl_dataset_read_targets(struct axl_dataset *d, int64_t start, int64_t n,
                                         float *out, char *msg);
/* Samples [start, start + n) into inputs (axl_graph_input_count() tensors,
 * allocated here; free with axl_tensor_free) and labels (n, or NULL). */
enum axl_status axl_dataset_read(struct axl_dataset *d, int64_t start, int64_t n,
                                 struct axl_tensor *inputs, int64_t *labels, char *msg);
/* Closes the file; NULL is accepted. */
void axl_dataset_close(struct axl_dataset *d);

#ifdef __cplusplus
}
#endif

#endif
