/* GPU side of the format parity test: the same encode/decode definitions
 * from axlut/format.h, run in a kernel.  Compiled whenever CUDA is; run only
 * where a device exists. */
#include <cuda_runtime.h>

#include "axlut/format.h"
#include "gpu_format_kernels.h"

static __global__ void encode_kernel(struct axl_format f, const float *x, uint32_t *code,
                                     uint32_t *back, size_t n, int round, uint64_t seed)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n)
        return;
    code[i] = axl_format_encode(&f, x[i], (enum axl_round)round, axl_rand32(seed, i));
    back[i] = axl_f32_bits(axl_format_decode(&f, code[i]));
}

extern "C" int axlt_gpu_encode(const struct axl_format *f, const float *x, uint32_t *code,
                               uint32_t *back, size_t n, int round, uint64_t seed)
{
    float *dx = NULL;
    uint32_t *dc = NULL, *db = NULL;
    int ok = 0;
    if (cudaMalloc(&dx, n * sizeof *dx) != cudaSuccess || cudaMalloc(&dc, n * sizeof *dc) != cudaSuccess ||
        cudaMalloc(&db, n * sizeof *db) != cudaSuccess)
        goto done;
    if (cudaMemcpy(dx, x, n * sizeof *dx, cudaMemcpyHostToDevice) != cudaSuccess)
        goto done;
    encode_kernel<<<(unsigned)((n + 255) / 256), 256>>>(*f, dx, dc, db, n, round, seed);
    if (cudaGetLastError() != cudaSuccess || cudaDeviceSynchronize() != cudaSuccess)
        goto done;
    if (cudaMemcpy(code, dc, n * sizeof *dc, cudaMemcpyDeviceToHost) != cudaSuccess ||
        cudaMemcpy(back, db, n * sizeof *db, cudaMemcpyDeviceToHost) != cudaSuccess)
        goto done;
    ok = 1;
done:
    cudaFree(dx);
    cudaFree(dc);
    cudaFree(db);
    return ok;
}
