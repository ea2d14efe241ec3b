/* The AVX2 instantiation of batch_sig32.c's bf16 and fp16 loops on 32-bit
 * significands, in a unit of its own for the reason batch_avx2.c gives
 * (hd.h: AXL_MSB_BY_FLOAT; built with -fno-trapping-math). */
#define AXL_SIG32 1
#define AXL_MSB_BY_FLOAT 1
#define AXL_BATCH_AVX2_UNIT 1

#include <stdlib.h>
#include <string.h>

#include "axlut/design.h"
#include "designs/batch_spec.h"
#include "designs/builtin.h"

#include "designs/batch_isas.h"
