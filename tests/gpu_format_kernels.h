#ifndef AXLT_GPU_FORMAT_KERNELS_H
#define AXLT_GPU_FORMAT_KERNELS_H
#include <stddef.h>
#include <stdint.h>

#include "axlut/format.h"

#ifdef __cplusplus
extern "C" {
#endif
/* Encodes x[0..n) on the GPU (code) and decodes the codes back (float bits
 * in back).  Returns 1 on success, 0 on any CUDA error. */
int axlt_gpu_encode(const struct axl_format *f, const float *x, uint32_t *code, uint32_t *back,
                    size_t n, int round, uint64_t seed);
#ifdef __cplusplus
}
#endif
#endif
