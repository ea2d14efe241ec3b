/* The batch forms of designs/batch_impl.h instantiated once per ISA level
 * (AVX-512, AVX2 on x86-64; baseline everywhere), suffixed _avx512, _avx2,
 * _scalar.  Included by batch.c (64-bit significands) and batch_sig32.c
 * (AXL_SIG32), which make the AVX-512 and baseline ones, and by
 * batch_avx2.c and batch_sig32_avx2.c (AXL_BATCH_AVX2_UNIT), which make the
 * AVX2 ones in units of their own: there hd.h's AXL_MSB_BY_FLOAT gives the
 * designs a leading-one position AVX2 can vectorise. */
#if defined(__x86_64__) && defined(__GNUC__)
#include "designs/batch_fvec.h"
#ifdef AXL_BATCH_AVX2_UNIT
/* AXL_FV8_TARGET (fvec_avx2.h) must stay this target */
#define BATCH_TARGET __attribute__((target("avx2,bmi2,lzcnt")))
#define BATCH_SUF _avx2
#define BATCH_EXTERN 1
#define BATCH_FVEC_MUL fv8_mul
#define BATCH_FVEC_ADD fv8_add
#include "designs/batch_impl.h"
#undef BATCH_TARGET
#undef BATCH_SUF
#undef BATCH_EXTERN
#undef BATCH_FVEC_MUL
#undef BATCH_FVEC_ADD
#else
#define BATCH_TARGET __attribute__((target("avx512f,avx512cd,avx512bw,avx512dq,avx512vl,bmi2,lzcnt")))
#define BATCH_SUF _avx512
/* the three-step floating forms of batch_fvec.h, AVX-512 */
#define BATCH_FVEC_MUL fvec_mul
#define BATCH_FVEC_ADD fvec_add
#include "designs/batch_impl.h"
#undef BATCH_TARGET
#undef BATCH_SUF
#undef BATCH_FVEC_MUL
#undef BATCH_FVEC_ADD
#endif /* AXL_BATCH_AVX2_UNIT */
#endif /* x86-64, GNU C */
#ifndef AXL_BATCH_AVX2_UNIT
#define BATCH_TARGET
#define BATCH_SUF _scalar
#include "designs/batch_impl.h"
#undef BATCH_TARGET
#undef BATCH_SUF
#endif
