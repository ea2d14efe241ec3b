/* Fuzz target: an ONNX model loaded (axl_graph_load) and, when it loads,
 * run once in exact mode on the CPU over a batch of two deterministic
 * samples, as `axlut run` would.  Models whose work is too large for a
 * fuzzing iteration (by axl_graph_describe's count of MACs, or a node
 * output of more than MAX_VALUES values: a Pad of 2^24 is a valid model
 * but not one to run under -malloc_limit_mb) load but do not run. */
#include "fuzz.h"

#include <axlut/graph.h>

#define MAX_INPUT_VALUES (1 << 20)
#define MAX_MACS 50000000LL
#define MAX_VALUES (1LL << 24)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

/* The inputs for a batch of 2 (symbolic dimensions 2), values in [-2, 2);
 * 0 when a shape is too large to try. */
static int make_inputs(const struct axl_graph *g, struct axl_tensor *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int64_t dims[AXL_MAX_DIMS];
        int nd = axl_graph_input_shape(g, i, dims);
        if (nd < 0 || nd > AXL_MAX_DIMS)
            return 0;
        int64_t numel = 1;
        in[i].ndim = nd;
        for (int k = 0; k < nd; k++) {
            int64_t d = dims[k] < 0 ? 2 : dims[k];
            if (d > MAX_INPUT_VALUES || (d && numel > MAX_INPUT_VALUES / d))
                return 0;
            in[i].dims[k] = d;
            numel *= d;
        }
        if (!(in[i].data = malloc((size_t)(numel ? numel : 1) * sizeof(float))))
            return 0;
        for (int64_t k = 0; k < numel; k++)
            in[i].data[k] = (float)((k * 37 + (int64_t)i * 11) % 64) / 16.0f - 2.0f;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(data, size, ".onnx");
    if (!path)
        return 0;
    char msg[AXL_MSG_LEN];
    struct axl_graph *g = NULL;
    if (axl_graph_load(path, &g, msg) != AXL_OK) {
        fuzz_check_msg(msg);
        return 0;
    }
    size_t nn = axl_graph_node_count(g), ni = axl_graph_input_count(g),
           no = axl_graph_output_count(g);
    struct axl_node_info *info = calloc(nn ? nn : 1, sizeof *info);
    struct axl_tensor *in = calloc(ni ? ni : 1, sizeof *in);
    struct axl_tensor *out = calloc(no ? no : 1, sizeof *out);
    if (!info || !in || !out)
        goto done;
    if (axl_graph_describe(g, 2, info, msg) != AXL_OK) {
        fuzz_check_msg(msg);
        goto done;
    }
    long long macs = 0;
    int too_big = 0;
    for (size_t i = 0; i < nn; i++) {
        macs += info[i].macs > MAX_MACS ? MAX_MACS : info[i].macs;
        int64_t numel = 1;
        for (int k = 0; k < info[i].ndim && k < AXL_MAX_DIMS && !too_big; k++) {
            int64_t d = info[i].dims[k];
            if (d > 0 && numel > MAX_VALUES / d)
                too_big = 1;
            else if (d > 0)
                numel *= d;
        }
    }
    if (too_big || macs >= MAX_MACS || !make_inputs(g, in, ni))
        goto done;
    if (axl_graph_run(g, NULL, in, out, msg) != AXL_OK)
        fuzz_check_msg(msg);
done:
    for (size_t i = 0; in && i < ni; i++)
        axl_tensor_free(&in[i]);
    for (size_t i = 0; out && i < no; i++)
        axl_tensor_free(&out[i]);
    free(in);
    free(out);
    free(info);
    axl_graph_free(g);
    return 0;
}
