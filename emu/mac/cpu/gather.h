/* The CPU kernels' gather step, shared by the reference blocks
 * (kernels.c) and the block-scaled kernel (block_cpu.c).  The gather loops
 * are compiled for AVX2 and baseline x86-64 and chosen at load time; they
 * run over the block's positions rounded up to whole vectors (the
 * activation buffers are padded).  AVX-512 is left out on purpose: on the
 * Xeon we measured, its gathers were slower than scalar loads
 * (BENCHMARKS.md). */
#ifndef AXLUT_EMU_CPU_GATHER_H
#define AXLUT_EMU_CPU_GATHER_H

#include <stdint.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define AXL_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define AXL_CLONES
#endif

/* acc[i] += row[x[i]] over one block: the inner step of the table paths. */
AXL_CLONES static void gather_add_f32(float *restrict acc, const float *restrict row,
                                      const uint32_t *restrict x, int n)
{
    for (int i = 0; i < n; i++)
        acc[i] += row[x[i]];
}

#endif
