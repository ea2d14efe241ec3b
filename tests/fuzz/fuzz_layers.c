/* Fuzz target: a layer configuration (JSON, docs/CONFIG.md) read by
 * axl_layers_load_json, checked against the layers of a fixed model (the
 * resnet_bn fixture), resolved for each of them, and each approximate
 * configuration prepared by axl_mac_create, as axl_layers_bind would.
 * Configurations naming a user design or a table file ("x.c", "t.h5") are
 * read and checked but not prepared: preparing them runs a compiler or
 * reads another file, which the other targets cover. */
#include "fuzz.h"

#include <axlut/graph.h>
#include <axlut/layers.h>
#include <axlut/mac.h>

#define MAX_LAYERS 64

static struct axl_graph *g_model;
static const char *g_names[MAX_LAYERS], *g_ops[MAX_LAYERS];
static size_t g_n;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char msg[AXL_MSG_LEN];
    if (axl_graph_load(AXL_FUZZ_MODEL, &g_model, msg) != AXL_OK) {
        fprintf(stderr, "fuzz_layers: %s\n", msg);
        exit(1);
    }
    for (size_t i = 0; i < axl_graph_node_count(g_model) && g_n < MAX_LAYERS; i++)
        if (axl_graph_node_is_mac(g_model, i)) {
            g_names[g_n] = axl_graph_node_name(g_model, i);
            g_ops[g_n++] = axl_graph_node_op(g_model, i);
        }
    return 0;
}

/* A built-in design name (or none): nothing that names a file. */
static int builtin(const char *design)
{
    return !design || !strpbrk(design, "./");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(data, size, ".json");
    if (!path)
        return 0;
    char msg[AXL_MSG_LEN];
    struct axl_layers *l = NULL;
    if (axl_layers_load_json(path, &l, msg) != AXL_OK) {
        fuzz_check_msg(msg);
        return 0;
    }
    if (axl_layers_check(l, g_names, g_ops, g_n, msg) != AXL_OK)
        fuzz_check_msg(msg);
    for (size_t i = 0; i < g_n; i++) {
        struct axl_mac_spec spec;
        int exact = 1;
        axl_layers_resolve(l, g_names[i], g_ops[i], &spec, &exact);
        if (exact || !builtin(spec.mul) || !builtin(spec.add))
            continue;
        /* wide formats get the function path, not a 2^24-entry table */
        spec.max_table_bits = 8;
        struct axl_mac *m = NULL;
        if (axl_mac_create(&spec, &m, msg) != AXL_OK)
            fuzz_check_msg(msg);
        axl_mac_free(m);
    }
    axl_layers_free(l);
    return 0;
}
