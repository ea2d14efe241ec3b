/* Host/device portability for axlut.
 *
 * Every piece of arithmetic that the table generator, the CPU kernels and the
 * CUDA kernels share is written once and marked AXL_HD: under nvcc it becomes
 * a __host__ __device__ inline function, in plain C a static inline one.
 * Float bits are moved with memcpy on the host and intrinsics on the device,
 * never through pointer casts.
 */
#ifndef AXLUT_HD_H
#define AXLUT_HD_H

#include <stdint.h>
#include <string.h>

#if defined(__CUDACC__)
#define AXL_HD static __host__ __device__ __forceinline__
#define AXL_ON_DEVICE 1
#else
#define AXL_HD static inline
#define AXL_ON_DEVICE 0
#endif

AXL_HD uint32_t axl_f32_bits(float x)
{
#if defined(__CUDA_ARCH__)
    return __float_as_uint(x);
#else
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
#endif
}

AXL_HD float axl_f32_from_bits(uint32_t u)
{
#if defined(__CUDA_ARCH__)
    return __uint_as_float(u);
#else
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
#endif
}

/* Position of the most significant set bit (x != 0).
 *
 * A translation unit that defines AXL_MSB_BY_FLOAT before its first
 * include gets it from the exponent of a float conversion instead of a
 * count-leading-zeros instruction: AVX2 has no vector count (AVX512CD
 * brought it), so GCC keeps every loop around a clz scalar, while the
 * conversion vectorises.  Only the AVX2 batch forms do
 * (tables/designs/batch_avx2.c), compiled with -fno-trapping-math so that
 * the conversion may be if-converted.  The conversion rounds to nearest,
 * and a run of ones at the top could round up into the next power of two;
 * v keeps only the top bit of each run of ones, so no 24-bit window of it
 * is all ones and the exponent is exact.  It converts x >> 1 (the
 * conversion is signed) and adds the 1 back; x = 1 gives v = 0, exponent
 * field 0, clamped to 0.  test_batch compares these forms with the
 * scalar eval; fvec_avx2.h's axl_fv8_lzcnt32 is the same arithmetic in
 * intrinsics, proven over all 2^32 inputs by test_fvec. */
#if defined(AXL_MSB_BY_FLOAT) && !defined(__CUDA_ARCH__)
AXL_HD int axl_msb32(uint32_t x)
{
    uint32_t v = x >> 1;
    v &= ~(v >> 1);
    float f = (float)(int32_t)v;
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    int e = (int)(b >> 23) - 126;
    return e < 0 ? 0 : e;
}

/* from the high half where it is not 0 (selects, not branches: the
 * loops around it stay if-convertible) */
AXL_HD int axl_msb64(uint64_t x)
{
    uint32_t hi = (uint32_t)(x >> 32);
    uint32_t w = hi ? hi : (uint32_t)x;
    return (hi ? 32 : 0) + axl_msb32(w);
}
#else
AXL_HD int axl_msb32(uint32_t x)
{
#if defined(__CUDA_ARCH__)
    return 31 - __clz(x);
#else
    return 31 - __builtin_clz(x);
#endif
}

AXL_HD int axl_msb64(uint64_t x)
{
#if defined(__CUDA_ARCH__)
    return 63 - __clzll((long long)x);
#else
    return 63 - __builtin_clzll(x);
#endif
}
#endif

/* 2^k for 0 <= k <= 63.  Written as two shifts of 32-bit pieces because
 * GCC 12 does not vectorise a 64-bit constant shifted by a per-lane amount
 * (`1ull << k`), and the designs' batch forms (tables/designs/batch.c) are
 * vectorised loops around these functions. */
AXL_HD uint64_t axl_pow2_64(int k) { return (uint64_t)(1u << (k & 31)) << (k & 32); }

/* The integer type of significands inside the floating designs and
 * axl_format_pack: 64 bits, which every format up to fp32 needs (a
 * 24 x 24-bit significand product).  A translation unit that defines
 * AXL_SIG32 before its first include gets the same definitions on 32-bit
 * significands: vector code with twice the lanes and no 32/64-bit
 * conversions.  Only tables/designs/batch_sig32.c does, for bf16 and fp16
 * operands, whose every intermediate fits 32 bits (test_batch compares it
 * with the 64-bit eval). */
#ifdef AXL_SIG32
typedef uint32_t axl_sig_t;
#define AXL_SIG_BITS 32
AXL_HD int axl_sig_msb(axl_sig_t x) { return axl_msb32(x); }
/* 2^k for 0 <= k <= 31 */
AXL_HD axl_sig_t axl_sig_pow2(int k) { return 1u << (k & 31); }
#else
typedef uint64_t axl_sig_t;
#define AXL_SIG_BITS 64
AXL_HD int axl_sig_msb(axl_sig_t x) { return axl_msb64(x); }
AXL_HD axl_sig_t axl_sig_pow2(int k) { return axl_pow2_64(k); }
#endif
/* Low n bits set, 0 <= n <= AXL_SIG_BITS. */
AXL_HD axl_sig_t axl_sig_mask(int n)
{
    return n >= AXL_SIG_BITS ? (axl_sig_t)~(axl_sig_t)0 : (n <= 0 ? 0u : axl_sig_pow2(n) - 1u);
}

/* Counter-based random numbers: the value for (seed, index) is the same on
 * every backend and for any number of threads.  Two rounds of the SplitMix64
 * finaliser (Steele, Lea, Flood, "Fast splittable pseudorandom number
 * generators", OOPSLA 2014) over seed and index. */
AXL_HD uint64_t axl_mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

AXL_HD uint32_t axl_rand32(uint64_t seed, uint64_t index)
{
    return (uint32_t)(axl_mix64(seed ^ axl_mix64(index)) >> 32);
}

#endif
