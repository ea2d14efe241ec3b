/* The AVX2 instantiation of the built-in designs' batch forms
 * (batch_isas.h), in a unit of its own because its designs need a
 * different leading-one position than the other instantiations': hd.h's
 * AXL_MSB_BY_FLOAT, from a float conversion AVX2 can vectorise (AVX2 has
 * no vector count of leading zeros; with __builtin_clz every Mitchell,
 * DRUM or other leading-one design's loop stays scalar).  Built with
 * -fno-trapping-math (tables/sources.cmake): GCC will not if-convert a
 * conversion that could raise a floating-point flag, and the designs'
 * conversions sit behind their zero tests.  Nothing else differs from
 * batch.c's instantiations; batch.c dispatches to this one's table. */
#define AXL_MSB_BY_FLOAT 1
#define AXL_BATCH_AVX2_UNIT 1

#include <stdlib.h>
#include <string.h>

#include "axlut/design.h"
#include "designs/batch_spec.h"
#include "designs/builtin.h"
#include "designs/registry.h"

#include "designs/batch_isas.h"
