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

#include "designs/batch_isas.h"
