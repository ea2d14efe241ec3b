/* The model fixtures of tests/data/models (NAME.onnx beside NAME.h5 with
 * /inputs/INPUT and /outputs/OUTPUT, see its README): reading one tensor
 * of the .h5.  Shared by test_graph (exact mode against PyTorch) and
 * test_gpu_graph (CPU against CUDA). */
#ifndef AXL_TESTS_MODEL_FIXTURES_H
#define AXL_TESTS_MODEL_FIXTURES_H

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

#endif
