/* Labelled image datasets for the tests that train or convert networks
 * (test_train, test_snn, test_gpu_train, e2e/test_cli_train, e2e/test_cli_snn):
 * n single-channel side x side images whose label i % 10 lights a band of
 * rows ((row / 3) == label) amp above uniform noise in [-0.5, 0.5) from a
 * seeded linear congruential generator, so that a small network learns them. */
#ifndef AXL_TESTS_LABELLED_DATA_H
#define AXL_TESTS_LABELLED_DATA_H

#include <criterion/criterion.h>
#include <hdf5.h>
#include <stdint.h>
#include <stdlib.h>

/* Writes the dataset to path: /inputs float32 n x 1 x side x side and, when
 * shift >= 0, /labels int64 (the label plus shift: shift > 0 makes labels
 * a 10-class model cannot have). */
static inline void write_labelled_images(const char *path, int n, int side, float amp,
                                         uint32_t seed, int shift)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(f >= 0, "cannot create %s", path);
    int px = side * side;
    hsize_t dims[4] = {(hsize_t)n, 1, (hsize_t)side, (hsize_t)side}, ld = (hsize_t)n;
    float *x = malloc((size_t)n * (size_t)px * sizeof *x);
    int64_t *y = malloc((size_t)n * sizeof *y);
    cr_assert(x && y);
    uint32_t s = seed;
    for (int i = 0; i < n; i++) {
        y[i] = i % 10;
        for (int k = 0; k < px; k++) {
            s = s * 1664525u + 1013904223u;
            float noise = (float)(s >> 8) / 16777216.0f - 0.5f;
            x[i * px + k] = noise + ((k / side) / 3 == y[i] ? amp : 0.0f);
        }
        y[i] += shift > 0 ? shift : 0;
    }
    hid_t sp = H5Screate_simple(4, dims, NULL);
    hid_t d = H5Dcreate2(f, "/inputs", H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) >= 0);
    H5Dclose(d), H5Sclose(sp);
    if (shift >= 0) {
        sp = H5Screate_simple(1, &ld, NULL);
        d = H5Dcreate2(f, "/labels", H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        cr_assert(H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, y) >= 0);
        H5Dclose(d), H5Sclose(sp);
    }
    H5Fclose(f);
    free(x), free(y);
}

#endif
