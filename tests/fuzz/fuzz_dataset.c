/* Fuzz target: a dataset file (HDF5) opened for a fixed model (the
 * resnet_bn fixture: one input of 3 x 16 x 16 per sample) and read as
 * `axlut run` reads it: the first batch of up to four samples, with its
 * labels and targets when the file has them.
 *
 * As fuzz_table.c: under libFuzzer the reader runs in this process
 * (axl_dataset_open_direct, without the probe in a child process) so that
 * the fuzzer sees its coverage, and HDF5's own crashes are expected; run.sh
 * then checks that `axlut run` answers each crashing input with one line
 * and exit status 2.  Replayed in ordinary builds, axl_dataset_open. */
#include "fuzz.h"

#include <axlut/dataset.h>
#include <axlut/graph.h>

#ifdef AXL_FUZZ_DIRECT
#include "dataset_internal.h"
#define OPEN axl_dataset_open_direct
#else
#define OPEN axl_dataset_open
#endif

static struct axl_graph *g_model;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char msg[AXL_MSG_LEN];
    if (axl_graph_load(AXL_FUZZ_MODEL, &g_model, msg) != AXL_OK) {
        fprintf(stderr, "fuzz_dataset: %s\n", msg);
        exit(1);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(data, size, ".h5");
    if (!path)
        return 0;
    char msg[AXL_MSG_LEN];
    struct axl_dataset *d = NULL;
    if (OPEN(path, g_model, &d, msg) != AXL_OK) {
        fuzz_check_msg(msg);
        return 0;
    }
    int64_t count = axl_dataset_count(d), n = count < 4 ? count : 4;
    size_t ni = axl_graph_input_count(g_model);
    struct axl_tensor *in = calloc(ni, sizeof *in);
    int64_t *labels = calloc(4, sizeof *labels);
    int64_t ts = axl_dataset_target_size(d);
    float *targets = ts > 0 && ts <= (1 << 20) ? calloc((size_t)(4 * ts), sizeof *targets) : NULL;
    if (n > 0 && in && labels &&
        axl_dataset_read(d, 0, n, in, axl_dataset_has_labels(d) ? labels : NULL, msg) != AXL_OK)
        fuzz_check_msg(msg);
    if (n > 0 && targets && axl_dataset_read_targets(d, 0, n, targets, msg) != AXL_OK)
        fuzz_check_msg(msg);
    for (size_t i = 0; in && i < ni; i++)
        axl_tensor_free(&in[i]);
    free(in);
    free(labels);
    free(targets);
    axl_dataset_close(d);
    return 0;
}
