/* Stand-ins for the CUDA backend's queries when it was not built. */
#include "axlut/emu.h"

int axl_cuda_compiled(void) { return 0; }

int axl_cuda_device_count(char *name, size_t name_len)
{
    (void)name;
    (void)name_len;
    return 0;
}
