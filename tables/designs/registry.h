/* Private to the library: which built-in id a descriptor is. */
#ifndef AXLUT_TABLES_DESIGNS_REGISTRY_H
#define AXLUT_TABLES_DESIGNS_REGISTRY_H

#include <stdint.h>

#include "axlut/design.h"

/* The enum axl_design_id of `d` when d is one of the registry's own
 * descriptors (compared by address, so a user design that copies a
 * built-in's fields stays a user design); AXL_DESIGN_USER (0) otherwise. */
uint32_t axl_design_builtin_id(const struct axl_design *d);

/* The built-in batch forms for one ISA level (0 baseline, 1 AVX2, 2
 * AVX-512; the caller checks the CPU has it), for tests that compare every
 * level; and the widest level this CPU has. */
struct axl_design_batch axl_design_batch_at_level(const struct axl_design *d, int level);
int axl_design_batch_hw_level(void);
/* axl_batch_decode / axl_batch_encode at one ISA level, for the tests. */
void axl_batch_decode_at_level(int level, const struct axl_format *f, const uint32_t *codes,
                               float *out, int64_t n);
void axl_batch_encode_at_level(int level, const struct axl_format *f, const float *in,
                               uint32_t *out, int64_t n);
/* Which of the formats the batch forms are specialised for f is (1 bf16,
 * 2 fp16, 3 fp32; 0 none), for the tests. */
int axl_batch_spec_format(const struct axl_format *f);
/* Which of the integer specialisations (batch_spec.h: k_ispec) context c
 * takes (0 none), for the tests. */
int axl_batch_ispec_of(const struct axl_design_ctx *c);

#endif
