/* Which GPUs the CUDA backend can see.  Never fails: no driver or no device
 * simply means zero devices. */
#include <cuda_runtime.h>
#include <stdio.h>

#include "axlut/emu.h"

extern "C" int axl_cuda_compiled(void) { return 1; }

extern "C" int axl_cuda_device_count(char *name, size_t name_len)
{
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    if (n > 0 && name && name_len) {
        cudaDeviceProp p;
        if (cudaGetDeviceProperties(&p, 0) == cudaSuccess)
            snprintf(name, name_len, "%s (sm_%d%d, %.1f GiB)", p.name, p.major, p.minor,
                     (double)p.totalGlobalMem / (1024.0 * 1024.0 * 1024.0));
        else
            snprintf(name, name_len, "unknown");
    }
    return n;
}
