/* Kernels around a user's design, compiled at run time with NVRTC.
 *
 * A user design is a C file; on the CPU axlut runs it from a shared object.
 * On the GPU the same source is compiled again by NVRTC (as C++20, every
 * unannotated function a device function) together with the engine's
 * device code (emu/mac/cuda/mac_kernel.cuh) and every header it needs, embedded
 * in the library at build time, so an installed axlut needs no source tree.
 * NVRTC and the CUDA driver are loaded with dlopen: axlut starts, and
 * everything else works, on machines that have neither.
 */
#ifndef AXLUT_EMU_CUDA_USER_KERNEL_H
#define AXLUT_EMU_CUDA_USER_KERNEL_H

#include "axlut/status.h"

#ifdef __cplusplus
extern "C" {
#endif

struct axl_mac;
struct dev_conv;

/* The source NVRTC compiles for one kernel configuration (malloc'd): the
 * user's design providing the multiply (user_mul) and/or the add
 * (user_add).  NULL when out of memory or both are asked for. */
char *axl_user_kernel_source(const struct axl_mac *m, int user_mul, int user_add, int acc, int src,
                             int order);

/* Compile that kernel to PTX for compute capability `arch` (e.g. 90);
 * needs NVRTC only, no GPU.  On AXL_ERR_COMPILE, *log receives NVRTC's log
 * (malloc'd; may be NULL). */
enum axl_status axl_user_kernel_ptx(const struct axl_mac *m, int user_mul, int user_add, int acc,
                                    int src, int order, int arch, char **ptx, char **log,
                                    char *msg);

/* Compile (once per process for the same source and device) and launch
 * kernel `axl_user_conv` with argument d over `blocks` x 256 threads. */
enum axl_status axl_user_kernel_launch(const struct axl_mac *m, int user_mul, int user_add,
                                       int acc, int src, int order, const struct dev_conv *d,
                                       unsigned blocks, char *msg);

#ifdef __cplusplus
}
#endif

#endif
