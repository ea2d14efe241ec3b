/* The batch forms of designs/batch_impl.h instantiated once per ISA level
 * (AVX-512, AVX2 on x86-64; baseline everywhere), suffixed _avx512, _avx2,
 * _scalar.  Included by batch.c (64-bit significands) and batch_sig32.c
 * (AXL_SIG32): the same three instantiations in each. */
#if defined(__x86_64__) && defined(__GNUC__)
#define BATCH_TARGET __attribute__((target("avx512f,avx512cd,avx512bw,avx512dq,avx512vl,bmi2,lzcnt")))
#define BATCH_SUF _avx512
#define BATCH_FVEC 1 /* the three-step floating forms, batch_fvec.h */
#include "designs/batch_fvec.h"
#include "designs/batch_impl.h"
#undef BATCH_FVEC
#undef BATCH_TARGET
#undef BATCH_SUF
#define BATCH_TARGET __attribute__((target("avx2,bmi2,lzcnt")))
#define BATCH_SUF _avx2
#include "designs/batch_impl.h"
#undef BATCH_TARGET
#undef BATCH_SUF
#endif
#define BATCH_TARGET
#define BATCH_SUF _scalar
#include "designs/batch_impl.h"
#undef BATCH_TARGET
#undef BATCH_SUF
