/* The emulator: backends and the devices they see.
 *
 * The CPU backend (OpenMP) always exists; the CUDA backend exists when the
 * library was built with CUDA and a GPU is visible at run time.
 */
#ifndef AXLUT_EMU_H
#define AXLUT_EMU_H

#include <stddef.h>

#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

enum axl_backend { AXL_BACKEND_CPU = 0, AXL_BACKEND_CUDA = 1 };

/* 1 when the library was built with the CUDA backend. */
int axl_cuda_compiled(void);

/* Number of CUDA devices visible now: 0 without CUDA support, without a
 * driver or without a GPU (never an error).  When name is not NULL and a
 * device exists, the first device's name is written there. */
int axl_cuda_device_count(char *name, size_t name_len);

#ifdef __cplusplus
}
#endif

#endif
