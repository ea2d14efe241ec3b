/* One definition of the MAC step and of the accumulation orders, shared by
 * the CPU and CUDA kernels (and by nothing else: the tests' reference is
 * written separately).
 *
 * Accumulation orders, for the products p_0 .. p_{K-1} of one output in
 * reduction order (for conv: input channel outermost, then kernel row,
 * then kernel column; for GEMM: k ascending).  ADD(x, y) is the add unit,
 * x the older partial sum, y the newer value; most approximate adders are
 * not commutative.
 *
 *   sequential  acc = 0; acc = ADD(acc, p_k) for k = 0 .. K-1
 *   pairwise    a binary-counter tree: p_k is pushed onto a stack of partial
 *               sums of sizes 2^l, merging equal sizes as ADD(older, newer);
 *               at the end the partial sums are merged from the smallest up,
 *               ADD(larger older, running).  This equals summing adjacent
 *               pairs level by level with an odd last element passed up.
 *   chunked(N)  each run of N products is summed sequentially starting from
 *               its first product; acc = 0; acc = ADD(acc, chunk) per chunk.
 *
 * "0" is the +0 code of the accumulator format.  The bias, if any, is added
 * after the reduction in exact float32.
 */
#ifndef AXLUT_MAC_STEP_H
#define AXLUT_MAC_STEP_H

#include <stdint.h>

#include "axlut/hd.h"

/* The kinds of a MAC plan (emu/mac/plan.h), chosen once per configuration
 * by emu/mac/plan.c and indexed by every backend: where the products come
 * from, and what adds them.  The design's function (AXL_SRC_FUNCTION) and
 * the code accumulator serve every configuration; the other kinds are
 * faster evaluations that the plan chooses only where they give the same
 * bits. */
enum axl_src {
    AXL_SRC_FUNCTION = 0,      /* the design's bit-accurate function */
    AXL_SRC_TABLE = 1,         /* full table of every operand pair */
    AXL_SRC_MANTISSA = 2,      /* significand table inside the floating multiplier's
                                  split/join (sign, exponent, rounding exact) */
    AXL_SRC_MANTISSA_FAST = 3, /* the same, with the rounded products precomputed for
                                  normal results (float32 accumulators only) */
    AXL_SRC_EXACT_F32 = 4,     /* a float32 multiply: mul_exact on fp32 */
    AXL_SRC_EXACT_NARROW = 5,  /* a float32 multiply and one rounding: mul_exact on
                                  bf16 or fp16 (products as values: not for code
                                  accumulators) */
    AXL_SRC_COUNT_ = 6
};

enum axl_acc {
    AXL_ACC_F32 = 0,    /* exact float32 adds */
    AXL_ACC_CODE = 1,   /* an adder design on codes of the accumulator format */
    AXL_ACC_NARROW = 2, /* add_exact into bf16 or fp16: a float32 add and one rounding */
    AXL_ACC_INT = 3,    /* wrapping int32 adds of integer products (affine quantization) */
    AXL_ACC_INT_ADD = 4, /* integer products into an intN accumulator (N <= 32) through an
                            adder design on codes, wrapping (CPU only: emu/mac/mac.c) */
    AXL_ACC_COUNT_ = 5
};

/* bf16 or fp16, the formats of axl_round_bf16 / axl_round_fp16 */
enum axl_narrow { AXL_NARROW_NONE = 0, AXL_NARROW_BF16 = 1, AXL_NARROW_FP16 = 2 };

/* Deepest pairwise stack: 2^32 products. */
#define AXL_PAIRWISE_LEVELS 32

/* The stack of one output under the pairwise order, for any accumulator
 * value type.  Written as macros over the ADD expression so that float,
 * integer and code accumulators share the one definition. */
#define AXL_PAIRWISE_PUSH(T, stack, count, value, ADD)                                            \
    do {                                                                                          \
        T carry_ = (value);                                                                       \
        uint32_t lvl_ = 0;                                                                        \
        while (((count) >> lvl_) & 1u) {                                                          \
            carry_ = ADD((stack)[lvl_], carry_);                                                  \
            lvl_++;                                                                               \
        }                                                                                         \
        (stack)[lvl_] = carry_;                                                                   \
        (count)++;                                                                                \
    } while (0)

/* result = merge of every partial sum, smallest first (count must be > 0). */
#define AXL_PAIRWISE_FINISH(stack, count, result, ADD)                                            \
    do {                                                                                          \
        int have_ = 0;                                                                            \
        for (uint32_t lvl_ = 0; lvl_ < AXL_PAIRWISE_LEVELS; lvl_++) {                             \
            if (((count) >> lvl_) & 1u) {                                                         \
                (result) = have_ ? ADD((stack)[lvl_], (result)) : (stack)[lvl_];                  \
                have_ = 1;                                                                        \
            }                                                                                     \
        }                                                                                         \
    } while (0)

AXL_HD float axl_add_f32(float x, float y) { return x + y; }

/* Exact adds into bf16 and fp16 (IEEE, subnormals, overflow to inf,
 * nearest-even): x is the float32 sum of two values of the format, rounded
 * to nearest-even; rounding it again to the format gives the correctly
 * rounded sum, because float32 carries at least 2p + 2 significand bits of
 * a p-bit format (p = 8, 11), the condition under which double rounding is
 * innocuous for addition (S. A. Figueroa, "When is double rounding
 * innocuous?", SIGNUM Newsletter 30(3), 1995).  Sums in the subnormal range
 * are exact.  NaN becomes NAN, the value of the adder's canonical NaN.  The
 * exhaustive test against add_exact is tests/test_narrow_add.c. */
AXL_HD float axl_round_bf16(float x, float nan)
{
    uint32_t u = axl_f32_bits(x);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u)
        return nan;
    u += 0x7FFFu + ((u >> 16) & 1u); /* carries into the exponent, up to inf */
    return axl_f32_from_bits(u & 0xFFFF0000u);
}

AXL_HD float axl_round_fp16(float x, float nan)
{
    uint32_t u = axl_f32_bits(x), a = u & 0x7FFFFFFFu, s = u & 0x80000000u;
    /* Every range computed, then one selected (no branches: the kernels'
     * loops over a block vectorise).  fp16 normal range: keep 10 fraction
     * bits, nearest-even, up to inf. */
    uint32_t n = (a + 0xFFFu + ((a >> 13) & 1u)) & ~0x1FFFu;
    n = n > 0x477FE000u ? 0x7F800000u : n;
    /* subnormal range: multiples of 2^-24, the ulp of [0.5, 1) */
    uint32_t sub = axl_f32_bits((axl_f32_from_bits(a) + 0.5f) - 0.5f);
    uint32_t v = a >= 0x47800000u ? 0x7F800000u /* |x| >= 2^16, inf included */
                 : a >= 0x38800000u ? n
                                    : sub;
    float r = axl_f32_from_bits(s | v);
    return a > 0x7F800000u ? nan : r;
}

AXL_HD int32_t axl_add_i32(int32_t x, int32_t y)
{
    /* two's complement wrap, as an int32 accumulator register does */
    return (int32_t)((uint32_t)x + (uint32_t)y);
}

#endif
