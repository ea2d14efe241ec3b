/* What both translation units of the built-in batch forms share
 * (batch.c: 64-bit significands; batch_sig32.c: the bf16 and fp16 loops on
 * 32-bit significands, hd.h: AXL_SIG32): the ids they instantiate, the
 * formats they specialise for, and the prototypes of the 32-bit forms. */
#ifndef AXLUT_TABLES_DESIGNS_BATCH_SPEC_H
#define AXLUT_TABLES_DESIGNS_BATCH_SPEC_H

#include "axlut/design.h"

/* Every built-in id, for the X-macros of batch_impl.h: the floating ones
 * (and the exact designs, which take any format) get loops specialised by
 * floating format, the integer ones (and the exact designs again) by
 * integer format (k_ispec). */
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

static inline int batch_spec_format(const struct axl_format *f)
{
    for (int s = 1; s < 4; s++)
        if (axl_format_equal(f, &k_spec[s]))
            return s;
    return 0;
}

/* The specialisation of a context: all three formats one of k_spec. */
static inline int batch_spec_of(const struct axl_design_ctx *c)
{
    int s = batch_spec_format(&c->fa);
    return s && axl_format_equal(&c->fb, &k_spec[s]) && axl_format_equal(&c->fr, &k_spec[s]) ? s
                                                                                             : 0;
}

/* The integer formats the integer ids' forms are specialised for: [S].a
 * both operands, [S].r the result ([0] unused): the adders on int8 and
 * int16 (an SNN's membranes), the multipliers on int8 and uint8, and the
 * adders of integer layers' accumulators, int16 and int32 registers whose
 * carry out is dropped (design_bind.c: result format = operand format).  With the
 * formats' widths as constants GCC 12 vectorises the integer designs and
 * the exact ones on integers (with the widths read from the context it
 * does not: it sizes the loop's vectors by those 8-bit fields, then finds
 * no vector type for the 64-bit arithmetic); test_batch checks the forms on
 * these and on other widths, and that the bound formats match. */
struct batch_ispec {
    struct axl_format a, r;
};
#define ISPEC_FMT(k, b) {.kind = (k), .bits = (b)}
static const struct batch_ispec k_ispec[] = {
    {ISPEC_FMT(0, 0), ISPEC_FMT(0, 0)},
    {ISPEC_FMT(AXL_KIND_INT, 8), ISPEC_FMT(AXL_KIND_INT, 9)},
    {ISPEC_FMT(AXL_KIND_INT, 16), ISPEC_FMT(AXL_KIND_INT, 17)},
    {ISPEC_FMT(AXL_KIND_INT, 8), ISPEC_FMT(AXL_KIND_INT, 16)},
    {ISPEC_FMT(AXL_KIND_UINT, 8), ISPEC_FMT(AXL_KIND_UINT, 16)},
    {ISPEC_FMT(AXL_KIND_INT, 16), ISPEC_FMT(AXL_KIND_INT, 16)},
    {ISPEC_FMT(AXL_KIND_INT, 32), ISPEC_FMT(AXL_KIND_INT, 32)}};
#define BATCH_NISPEC 7 /* batch_impl.h has a case for each */
_Static_assert(sizeof k_ispec / sizeof k_ispec[0] == BATCH_NISPEC, "k_ispec and its count");

/* axl_format_equal inline: the forms ask once per block of up to 128
 * results, and the call cost a few percent of the integer ones */
static inline int batch_format_equal(const struct axl_format *x, const struct axl_format *y)
{
    return x->kind == y->kind && x->bits == y->bits && x->ebits == y->ebits &&
           x->mbits == y->mbits && x->special == y->special && x->subnormals == y->subnormals &&
           x->overflow == y->overflow && x->bias == y->bias;
}

static inline int batch_ispec_of(const struct axl_design_ctx *c)
{
    if (c->fa.kind == AXL_KIND_FLOAT)
        return 0;
    for (int s = 1; s < BATCH_NISPEC; s++)
        if (batch_format_equal(&c->fa, &k_ispec[s].a) &&
            batch_format_equal(&c->fb, &k_ispec[s].a) && batch_format_equal(&c->fr, &k_ispec[s].r))
            return s;
    return 0;
}

/* The 32-bit forms of the floating ids and of encoding (batch_sig32.c),
 * for spec 1 (bf16) or 2 (fp16), one per ISA suffix. */
#define BATCH_SIG32_DECL(ID, SUF)                                                                 \
    void axl_row32_##ID##SUF(const struct axl_design_ctx *c, int spec, const uint32_t *a,         \
                             uint32_t b, uint32_t *out, int64_t n);                               \
    void axl_pair32_##ID##SUF(const struct axl_design_ctx *c, int spec, const uint32_t *x,        \
                              const uint32_t *y, uint32_t *out, int64_t n);
#define BATCH_SIG32_DECL_avx512(ID) BATCH_SIG32_DECL(ID, _avx512)
#define BATCH_SIG32_DECL_avx2(ID) BATCH_SIG32_DECL(ID, _avx2)
#define BATCH_SIG32_DECL_scalar(ID) BATCH_SIG32_DECL(ID, _scalar)
void axl_encode32_avx512(int spec, const float *in, uint32_t *out, int64_t n);
void axl_encode32_avx2(int spec, const float *in, uint32_t *out, int64_t n);
void axl_encode32_scalar(int spec, const float *in, uint32_t *out, int64_t n);
/* The AVX2 instantiation's table and block codecs (batch_avx2.c). */
extern const struct axl_design_batch axl_batch_tab_avx2[];
void axl_batch_dec_avx2(const struct axl_format *f, const uint32_t *codes, float *out, int64_t n);
void axl_batch_enc_avx2(const struct axl_format *f, const float *in, uint32_t *out, int64_t n);
AXL_FLOAT_IDS(BATCH_SIG32_DECL_avx512)
AXL_FLOAT_IDS(BATCH_SIG32_DECL_avx2)
AXL_FLOAT_IDS(BATCH_SIG32_DECL_scalar)

#endif
