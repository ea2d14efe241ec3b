/* Batch forms of the built-in designs (design.h: axl_design_batch), and
 * the scalar loops that stand in for designs without them.
 *
 * batch_impl.h instantiates every built-in's forms three times: for
 * AVX-512 (16 lanes of 32-bit codes), for AVX2 (in batch_avx2.c, whose
 * table is dispatched to from here), and for baseline x86-64;
 * the widest the CPU has is chosen once.  The forms give the scalar eval's
 * bits whatever the ISA: integer arithmetic only, and the float
 * conversions the designs use are exact. */
#include <stdlib.h>
#include <string.h>

#include "axlut/design.h"
#include "designs/builtin.h"
#include "designs/batch_spec.h"
#include "designs/registry.h"

int axl_batch_spec_format(const struct axl_format *f) { return batch_spec_format(f); }
int axl_batch_ispec_of(const struct axl_design_ctx *c) { return batch_ispec_of(c); }

#if defined(__x86_64__) && defined(__GNUC__)
#define AXL_BATCH_X86 1
#endif
#include "designs/batch_isas.h"

/* 0 scalar, 1 AVX2, 2 AVX-512: the widest this CPU has. */
int axl_design_batch_hw_level(void)
{
    int l = 0;
#ifdef AXL_BATCH_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2"))
        l = 1;
    if (l && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
        l = 2;
#endif
    return l;
}

/* ... narrowed by AXL_CPU_KERNEL ("avx2", or "scalar"/"gather" for the
 * baseline forms), decided once. */
static int batch_level(void)
{
    static int level = -1; /* a benign race: every thread computes the same value */
    if (level >= 0)
        return level;
    int l = axl_design_batch_hw_level();
    const char *e = getenv("AXL_CPU_KERNEL");
    if (e && !strcmp(e, "avx2") && l > 1)
        l = 1;
    else if (e && (!strcmp(e, "scalar") || !strcmp(e, "gather")))
        l = 0;
    level = l;
    return l;
}

const char *axl_design_batch_isa(void)
{
    static const char *const names[] = {"scalar", "avx2", "avx512"};
    return names[batch_level()];
}

struct axl_design_batch axl_design_batch_at_level(const struct axl_design *d, int level)
{
    struct axl_design_batch none = {NULL, NULL, d ? d->eval : NULL};
    uint32_t id = d ? axl_design_builtin_id(d) : AXL_DESIGN_USER;
    if (id == AXL_DESIGN_USER || id >= AXL_DESIGN_ID_END_)
        return none;
    struct axl_design_batch b;
    switch (level) {
#ifdef AXL_BATCH_X86
    case 2:
        b = axl_batch_tab_avx512[id];
        break;
    case 1:
        b = axl_batch_tab_avx2[id];
        break;
#endif
    default:
        b = axl_batch_tab_scalar[id];
        break;
    }
    b.eval = d->eval;
    return b;
}

struct axl_design_batch axl_design_batch(const struct axl_design *d)
{
    return axl_design_batch_at_level(d, batch_level());
}

void axl_batch_decode(const struct axl_format *f, const uint32_t *codes, float *out, int64_t n)
{
    axl_batch_decode_at_level(batch_level(), f, codes, out, n);
}

void axl_batch_decode_at_level(int level, const struct axl_format *f, const uint32_t *codes,
                               float *out, int64_t n)
{
    switch (level) {
#ifdef AXL_BATCH_X86
    case 2:
        axl_batch_dec_avx512(f, codes, out, n);
        break;
    case 1:
        axl_batch_dec_avx2(f, codes, out, n);
        break;
#endif
    default:
        axl_batch_dec_scalar(f, codes, out, n);
        break;
    }
}

void axl_batch_encode(const struct axl_format *f, const float *in, uint32_t *out, int64_t n)
{
    axl_batch_encode_at_level(batch_level(), f, in, out, n);
}

void axl_batch_encode_at_level(int level, const struct axl_format *f, const float *in,
                               uint32_t *out, int64_t n)
{
    switch (level) {
#ifdef AXL_BATCH_X86
    case 2:
        axl_batch_enc_avx512(f, in, out, n);
        break;
    case 1:
        axl_batch_enc_avx2(f, in, out, n);
        break;
#endif
    default:
        axl_batch_enc_scalar(f, in, out, n);
        break;
    }
}

void axl_batch_row(const struct axl_design_batch *bt, const struct axl_design_ctx *c,
                   const uint32_t *a, uint32_t b, uint32_t *out, int64_t n)
{
    if (bt->row) {
        bt->row(c, a, b, out, n);
        return;
    }
    for (int64_t i = 0; i < n; i++)
        out[i] = bt->eval(c, a[i], b);
}

void axl_batch_pair(const struct axl_design_batch *bt, const struct axl_design_ctx *c,
                    const uint32_t *x, const uint32_t *y, uint32_t *out, int64_t n)
{
    if (bt->pair) {
        bt->pair(c, x, y, out, n);
        return;
    }
    for (int64_t i = 0; i < n; i++)
        out[i] = bt->eval(c, x[i], y[i]);
}
