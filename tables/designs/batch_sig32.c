/* The bf16 and fp16 loops of the floating built-ins' batch forms on 32-bit
 * significands (hd.h: AXL_SIG32): the same definitions as batch.c's, in a
 * translation unit where axl_sig_t is uint32_t, so that the vectorised
 * arithmetic runs 16 lanes per AVX-512 register instead of 8 and without
 * converting between 32- and 64-bit lanes.  Every intermediate of these
 * formats fits: significands of at most 11 bits, products of 22, aligned
 * sums of 15 (fpadd.h), and round-and-pack takes shifts past 32 bits as it
 * takes those past 64.  batch.c's forms call these for bf16 and fp16
 * contexts; test_batch compares them with the scalar (64-bit) eval. */
#define AXL_SIG32 1

#include <stdlib.h>
#include <string.h>

#include "axlut/design.h"
#include "designs/batch_spec.h"
#include "designs/builtin.h"

#if defined(__clang__)
#pragma clang diagnostic ignored "-Wpass-failed"
#endif

#if defined(__x86_64__) && defined(__GNUC__)
#define BATCH_TARGET __attribute__((target("avx512f,avx512cd,avx512bw,avx512dq,avx512vl,bmi2,lzcnt")))
#define BATCH_SUF _avx512
#include "designs/batch_impl.h"
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
