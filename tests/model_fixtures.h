/* The model fixtures of tests/data/models (NAME.onnx beside NAME.h5 with
 * /inputs/INPUT and /outputs/OUTPUT, see its README): reading one tensor
 * of the .h5.  Shared by test_graph (exact mode against PyTorch) and
 * test_gpu_graph (CPU against CUDA). */
#ifndef AXL_TESTS_MODEL_FIXTURES_H
#define AXL_TESTS_MODEL_FIXTURES_H

#include <criterion/criterion.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/graph.h"

/* /group/name of f into t as float32 (t->data malloc'd; free() it, also
 * after a failure).  0 when the dataset is missing or unreadable. */
static inline int read_h5(hid_t f, const char *group, const char *name, struct axl_tensor *t)
{
    char p[512];
    snprintf(p, sizeof p, "/%s/%s", group, name);
    memset(t, 0, sizeof *t);
    hid_t d = H5Dopen2(f, p, H5P_DEFAULT);
    if (d < 0)
        return 0;
    hid_t s = H5Dget_space(d);
    hsize_t dims[AXL_MAX_DIMS];
    int nd = H5Sget_simple_extent_ndims(s);
    int ok = nd >= 0 && nd <= AXL_MAX_DIMS && H5Sget_simple_extent_dims(s, dims, NULL) == nd;
    t->ndim = nd;
    for (int i = 0; ok && i < nd; i++)
        t->dims[i] = (int64_t)dims[i];
    if (ok) {
        t->data = malloc((size_t)axl_tensor_numel(t) * sizeof(float) + 4);
        ok = t->data && H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t->data) >= 0;
    }
    H5Sclose(s);
    H5Dclose(d);
    return ok;
}

/* The graph of fixture NAME (tests/data/models/NAME.onnx under
 * $AXL_SOURCE_DIR, which ctest sets); the test fails if it does not load. */
static inline struct axl_graph *fixture_graph(const char *name)
{
    const char *src = getenv("AXL_SOURCE_DIR");
    cr_assert(src, "AXL_SOURCE_DIR must be set (ctest sets it)");
    char path[1024], msg[AXL_MSG_LEN];
    snprintf(path, sizeof path, "%s/tests/data/models/%s.onnx", src, name);
    struct axl_graph *g = NULL;
    cr_assert_eq(axl_graph_load(path, &g, msg), AXL_OK, "%s", msg);
    return g;
}

/* Every trainable parameter of g, concatenated in parameter order (malloc'd;
 * free() it); their number in *count when count is not NULL. */
static inline float *param_values(struct axl_graph *g, size_t *count)
{
    size_t total = 0;
    for (size_t i = 0; i < axl_graph_param_count(g); i++) {
        struct axl_tensor p = axl_graph_param(g, i);
        total += (size_t)axl_tensor_numel(&p);
    }
    float *all = malloc(total * sizeof *all + 1), *q = all;
    cr_assert(all);
    for (size_t i = 0; i < axl_graph_param_count(g); i++) {
        struct axl_tensor p = axl_graph_param(g, i);
        memcpy(q, p.data, (size_t)axl_tensor_numel(&p) * sizeof *q);
        q += axl_tensor_numel(&p);
    }
    if (count)
        *count = total;
    return all;
}

/* dir/name in one of four rotating buffers (so that a call can take a few). */
static inline const char *path_in(const char *dir, const char *name)
{
    static char p[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

#endif
