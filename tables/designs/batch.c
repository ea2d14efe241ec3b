/* Batch forms of the built-in designs (design.h: axl_design_batch), and
 * the scalar loops that stand in for designs without them.
 *
 * batch_impl.h instantiates every built-in's forms three times: for
 * AVX-512 (16 lanes of 32-bit codes), for AVX2, and for baseline x86-64;
 * the widest the CPU has is chosen once.  The forms give the scalar eval's
 * bits whatever the ISA: integer arithmetic only, and the float
 * conversions the designs use are exact. */
#include <stdlib.h>
#include <string.h>

#include "axlut/design.h"
#include "designs/builtin.h"
#include "designs/registry.h"

/* `omp simd` asks for vectors; where clang cannot vectorise a design's loop
 * it runs it as a scalar loop with the same bits, which is not an error
 * (clang reports it as -Wpass-failed, an error under -Werror) */
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wpass-failed"
#endif

/* Every built-in id, for the X-macros of batch_impl.h: the floating ones
 * (and the exact designs, which take any format) get loops specialised by
 * format, the integer ones not. */
#define AXL_FLOAT_IDS(X)                                                                          \
    X(AXL_DESIGN_MUL_EXACT) X(AXL_DESIGN_ADD_EXACT) X(AXL_DESIGN_FPMUL_MITCHELL)                 \
    X(AXL_DESIGN_FPMUL_MBM) X(AXL_DESIGN_FPMUL_DRUM) X(AXL_DESIGN_FPMUL_BAM)                     \
    X(AXL_DESIGN_FPMUL_KULKARNI) X(AXL_DESIGN_FPMUL_ROBA) X(AXL_DESIGN_FPADD_LOA)                \
    X(AXL_DESIGN_FPADD_AMA5) X(AXL_DESIGN_FPADD_ETA1) X(AXL_DESIGN_FPADD_TRUNC_ADD)              \
    X(AXL_DESIGN_FPADD_ACA)
#define AXL_INT_IDS(X)                                                                            \
    X(AXL_DESIGN_MITCHELL) X(AXL_DESIGN_MBM) X(AXL_DESIGN_DRUM) X(AXL_DESIGN_BAM)                 \
    X(AXL_DESIGN_KULKARNI) X(AXL_DESIGN_ROBA) X(AXL_DESIGN_LOA) X(AXL_DESIGN_AMA5)               \
    X(AXL_DESIGN_ETA1) X(AXL_DESIGN_TRUNC_ADD) X(AXL_DESIGN_ACA)

/* The formats the floating forms are specialised for, as constants the
 * compiler folds into the inlined arithmetic: [1] bf16, [2] fp16, [3] fp32
 * ([0] unused).  A context matches when its formats equal one of them
 * (axl_format_equal: every field the arithmetic reads); test_batch checks
 * that bf16, fp16 and fp32 as parsed do. */
#define SPEC_FMT(e, m, bias_)                                                                     \
    {.kind = AXL_KIND_FLOAT, .bits = 1 + (e) + (m), .ebits = (e), .mbits = (m),                    \
     .special = AXL_SPECIAL_IEEE, .subnormals = 1, .overflow = AXL_OVERFLOW_SPECIAL,               \
     .bias = (bias_)}
static const struct axl_format k_spec[4] = {SPEC_FMT(8, 23, 127), SPEC_FMT(8, 7, 127),
                                            SPEC_FMT(5, 10, 15), SPEC_FMT(8, 23, 127)};

static int batch_spec_format(const struct axl_format *f)
{
    for (int s = 1; s < 4; s++)
        if (axl_format_equal(f, &k_spec[s]))
            return s;
    return 0;
}

/* The specialisation of a context: all three formats one of k_spec. */
static int batch_spec_of(const struct axl_design_ctx *c)
{
    int s = batch_spec_format(&c->fa);
    return s && axl_format_equal(&c->fb, &k_spec[s]) && axl_format_equal(&c->fr, &k_spec[s]) ? s
                                                                                             : 0;
}

int axl_batch_spec_format(const struct axl_format *f) { return batch_spec_format(f); }

#if defined(__x86_64__) && defined(__GNUC__)
#define AXL_BATCH_X86 1
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
        b = k_batch_avx512[id];
        break;
    case 1:
        b = k_batch_avx2[id];
        break;
#endif
    default:
        b = k_batch_scalar[id];
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
    switch (batch_level()) {
#ifdef AXL_BATCH_X86
    case 2:
        decode_avx512(f, codes, out, n);
        break;
    case 1:
        decode_avx2(f, codes, out, n);
        break;
#endif
    default:
        decode_scalar(f, codes, out, n);
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
