/* The batch forms of every built-in design for one instruction set: this
 * file is included once per ISA by batch.c, with BATCH_TARGET (a target
 * attribute) and BATCH_SUF (a name suffix) defined.
 *
 * Each form is a `#pragma omp simd` loop around axl_builtin_eval, the one
 * definition of the arithmetic, on a copy of the context whose id is a
 * compile-time constant: after inlining, the dispatch on the id (which
 * core, mul or add) folds away.  The floating designs also get a loop per
 * common format (operands and result all bf16, all fp16 or all fp32), in
 * which the context's formats are compile-time constants too (batch.c:
 * k_spec), so that the format's switches and masks fold and the unpack and
 * round-and-pack become short straight-line code.  No arithmetic is
 * written here.
 *
 * batch_sig32.c includes this file too, with AXL_SIG32 (hd.h): there it
 * makes only the bf16 and fp16 loops of the floating ids, on 32-bit
 * significands (axl_row32_ID_SUF, axl_pair32_ID_SUF), and the forms made in
 * batch.c hand those two formats to them. */
/* flatten: every call inside a form is inlined, however often the unit
 * inlines axl_builtin_eval (the inliner's size limits would stop it). */
#if defined(__GNUC__)
#define BATCH_FLATTEN __attribute__((flatten))
#else
#define BATCH_FLATTEN
#endif
#define BATCH_CAT_(a, b) a##b
#define BATCH_CAT(a, b) BATCH_CAT_(a, b)

/* ROW / PAIR loops over a context cc set up by the caller.  The row form
 * runs the pair loop on a copy of b per lane: with b loop-invariant, GCC 12
 * hoists part of the weight's unpacking out of the loop and then cannot
 * vectorise the selects that depend on it. */
#define BATCH_CHUNK 256
#define BATCH_ROW_LOOP                                                                           \
    for (int64_t i0 = 0; i0 < n; i0 += BATCH_CHUNK) {                                            \
        const int64_t len_ = n - i0 < BATCH_CHUNK ? n - i0 : BATCH_CHUNK;                        \
        uint32_t bb_[BATCH_CHUNK];                                                               \
        for (int64_t i = 0; i < len_; i++)                                                       \
            bb_[i] = b;                                                                          \
        const uint32_t *ai_ = a + i0;                                                            \
        uint32_t *oi_ = out + i0;                                                                \
        _Pragma("omp simd") for (int64_t i = 0; i < len_; i++) oi_[i] =                          \
            axl_builtin_eval(&cc, ai_[i], bb_[i]);                                               \
    }
#define BATCH_PAIR_LOOP                                                                          \
    _Pragma("omp simd") for (int64_t i = 0; i < n; i++) out[i] = axl_builtin_eval(&cc, x[i], y[i])

/* The loop with the formats of k_spec[S] as constants, and nearest-even
 * rounding as a constant too (the rounding switch of round-and-pack is
 * what stops if-conversion otherwise). */
#define BATCH_SPEC_CASE(S, LOOP)                                                                 \
    case S:                                                                                      \
        cc.fa = cc.fb = cc.fr = k_spec[S];                                                       \
        if (cc.round == AXL_ROUND_NEAREST_EVEN) {                                                \
            cc.round = AXL_ROUND_NEAREST_EVEN;                                                   \
            LOOP;                                                                                \
        } else {                                                                                 \
            LOOP;                                                                                \
        }                                                                                        \
        break;
#ifdef AXL_SIG32
/* spec is 1 or 2 (the caller's batch_spec_of) */
#define BATCH_SPECIALISED(LOOP, CALL32)                                                          \
    switch (spec) {                                                                              \
        BATCH_SPEC_CASE(1, LOOP)                                                                 \
        BATCH_SPEC_CASE(2, LOOP)                                                                 \
    default:                                                                                     \
        break;                                                                                   \
    }
#else
#define BATCH_SPECIALISED(LOOP, CALL32)                                                          \
    const int spec = batch_spec_of(c);                                                           \
    switch (spec) {                                                                              \
    case 1:                                                                                      \
    case 2:                                                                                      \
        CALL32;                                                                                  \
        break;                                                                                   \
        BATCH_SPEC_CASE(3, LOOP)                                                                 \
    default: /* the exact designs on integer formats too */                                      \
        BATCH_INT_SPECIALISED(LOOP, CALL32)                                                      \
        break;                                                                                   \
    }
#endif

/* The integer designs' loop with the formats of k_ispec[S] as constants. */
#define BATCH_ISPEC_CASE(S, LOOP)                                                                \
    case S:                                                                                      \
        cc.fa = cc.fb = k_ispec[S].a;                                                            \
        cc.fr = k_ispec[S].r;                                                                    \
        LOOP;                                                                                    \
        break;
#define BATCH_INT_SPECIALISED(LOOP, CALL32)                                                      \
    switch (batch_ispec_of(c)) {                                                                 \
        BATCH_ISPEC_CASE(1, LOOP)                                                                \
        BATCH_ISPEC_CASE(2, LOOP)                                                                \
        BATCH_ISPEC_CASE(3, LOOP)                                                                \
        BATCH_ISPEC_CASE(4, LOOP)                                                                \
        BATCH_ISPEC_CASE(5, LOOP)                                                                \
        BATCH_ISPEC_CASE(6, LOOP)                                                                \
    default:                                                                                     \
        LOOP;                                                                                    \
        break;                                                                                   \
    }

/* SPEC: BATCH_SPECIALISED for the floating designs, BATCH_INT_SPECIALISED
 * for the integer ones. */
#ifdef AXL_SIG32
#define BATCH_FORM_HEAD(KIND, ID) BATCH_TARGET BATCH_FLATTEN void BATCH_CAT(axl_##KIND##32_##ID, BATCH_SUF)
#define BATCH_SPEC_ARG int spec,
#else
#define BATCH_FORM_HEAD(KIND, ID) BATCH_TARGET BATCH_FLATTEN static void BATCH_CAT(KIND##_##ID, BATCH_SUF)
#define BATCH_SPEC_ARG
#endif
#define BATCH_FORMS(ID, SPEC, HOOK)                                                              \
    BATCH_FORM_HEAD(row, ID)(const struct axl_design_ctx *c, BATCH_SPEC_ARG const uint32_t *a,   \
                             uint32_t b, uint32_t *out, int64_t n)                               \
    {                                                                                            \
        HOOK(ID, a, NULL, b)                                                                     \
        struct axl_design_ctx cc = *c;                                                           \
        cc.id = ID;                                                                              \
        SPEC(BATCH_ROW_LOOP, BATCH_CAT(axl_row32_##ID, BATCH_SUF)(c, spec, a, b, out, n))        \
    }                                                                                            \
    BATCH_FORM_HEAD(pair, ID)(const struct axl_design_ctx *c, BATCH_SPEC_ARG const uint32_t *x,  \
                              const uint32_t *y, uint32_t *out, int64_t n)                       \
    {                                                                                            \
        HOOK(ID, x, y, 0)                                                                        \
        struct axl_design_ctx cc = *c;                                                           \
        cc.id = ID;                                                                              \
        SPEC(BATCH_PAIR_LOOP, BATCH_CAT(axl_pair32_##ID, BATCH_SUF)(c, spec, x, y, out, n))      \
    }
/* HOOK: in the AVX-512 and AVX2 instantiations the floating ids'
 * three-step forms (batch_fvec.h; BATCH_FVEC_MUL and BATCH_FVEC_ADD name
 * the ISA's) where they take the context; nothing otherwise. */
#define BATCH_NO_HOOK(ID, A, Y, B)
#if defined(BATCH_FVEC_MUL) && defined(AXL_FVEC_HAVE)
#define BATCH_FVEC_HOOK(ID, A, Y, B)                                                             \
    if (fvec_takes(c)) {                                                                         \
        if (axl_design_is_add(axl_design_core(ID)))                                              \
            BATCH_FVEC_ADD(c, axl_design_core(ID), A, Y, B, out, n);                             \
        else                                                                                     \
            BATCH_FVEC_MUL(c, axl_design_core(ID), A, Y, B, out, n);                             \
        return;                                                                                  \
    }
#else
#define BATCH_FVEC_HOOK BATCH_NO_HOOK
#endif
#define BATCH_FORMS_FLOAT(ID) BATCH_FORMS(ID, BATCH_SPECIALISED, BATCH_FVEC_HOOK)
#define BATCH_FORMS_INT(ID) BATCH_FORMS(ID, BATCH_INT_SPECIALISED, BATCH_NO_HOOK)

AXL_FLOAT_IDS(BATCH_FORMS_FLOAT)

#define BATCH_ENCODE_LOOP                                                                        \
    _Pragma("omp simd") for (int64_t i = 0; i < n; i++) out[i] =                                 \
        axl_format_encode(&ff, in[i], AXL_ROUND_NEAREST_EVEN, 0)

#ifndef AXL_SIG32
AXL_INT_IDS(BATCH_FORMS_INT)

/* The table and the block codecs batch.c dispatches to: its own
 * instantiations' static, the AVX2 unit's (batch_avx2.c: BATCH_EXTERN)
 * declared in batch_spec.h. */
#ifdef BATCH_EXTERN
#define BATCH_LINKAGE
#else
#define BATCH_LINKAGE static
#endif
#define BATCH_ENTRY(ID) [ID] = {BATCH_CAT(row_##ID, BATCH_SUF), BATCH_CAT(pair_##ID, BATCH_SUF), NULL},
BATCH_LINKAGE const struct axl_design_batch BATCH_CAT(axl_batch_tab, BATCH_SUF)[AXL_DESIGN_ID_END_] = {
    AXL_FLOAT_IDS(BATCH_ENTRY) AXL_INT_IDS(BATCH_ENTRY)};

/* Decoding a block of codes, with the same specialisation. */
BATCH_TARGET BATCH_FLATTEN BATCH_LINKAGE void BATCH_CAT(axl_batch_dec, BATCH_SUF)(const struct axl_format *f,
                                                                             const uint32_t *codes,
                                                                             float *out, int64_t n)
{
    struct axl_format ff = *f;
#define BATCH_DECODE_LOOP                                                                        \
    _Pragma("omp simd") for (int64_t i = 0; i < n; i++) out[i] = axl_format_decode(&ff, codes[i])
    switch (batch_spec_format(f)) {
    case 1:
        ff = k_spec[1];
        BATCH_DECODE_LOOP;
        break;
    case 2:
        ff = k_spec[2];
        BATCH_DECODE_LOOP;
        break;
    case 3:
        ff = k_spec[3];
        BATCH_DECODE_LOOP;
        break;
    default:
        BATCH_DECODE_LOOP;
        break;
    }
#undef BATCH_DECODE_LOOP
}

/* Encoding a block of float32 values (nearest-even), with the same
 * specialisation; bf16 and fp16 on 32-bit significands (batch_sig32.c). */
BATCH_TARGET BATCH_FLATTEN BATCH_LINKAGE void BATCH_CAT(axl_batch_enc, BATCH_SUF)(const struct axl_format *f,
                                                                             const float *in,
                                                                             uint32_t *out, int64_t n)
{
    struct axl_format ff = *f;
    const int spec = batch_spec_format(f);
    switch (spec) {
    case 1:
    case 2:
        BATCH_CAT(axl_encode32, BATCH_SUF)(spec, in, out, n);
        break;
    case 3:
        ff = k_spec[3];
        BATCH_ENCODE_LOOP;
        break;
    default:
        BATCH_ENCODE_LOOP;
        break;
    }
}
#else /* AXL_SIG32 */
BATCH_TARGET BATCH_FLATTEN void BATCH_CAT(axl_encode32, BATCH_SUF)(int spec, const float *in,
                                                                   uint32_t *out, int64_t n)
{
    struct axl_format ff;
    switch (spec) {
    case 1:
        ff = k_spec[1];
        BATCH_ENCODE_LOOP;
        break;
    case 2:
        ff = k_spec[2];
        BATCH_ENCODE_LOOP;
        break;
    default:
        break;
    }
}
#endif /* AXL_SIG32 */

#undef BATCH_FORMS
#undef BATCH_SPEC_CASE
#undef BATCH_SPECIALISED
#undef BATCH_ROW_LOOP
#undef BATCH_PAIR_LOOP
#undef BATCH_CHUNK
#undef BATCH_FLATTEN
#undef BATCH_CAT_
#undef BATCH_CAT
#undef BATCH_FORMS_FLOAT
#undef BATCH_FORMS_INT
#undef BATCH_NO_HOOK
#undef BATCH_FVEC_HOOK
#undef BATCH_INT_SPECIALISED
#undef BATCH_ISPEC_CASE
#undef BATCH_ENTRY
#undef BATCH_LINKAGE
#undef BATCH_ENCODE_LOOP
#undef BATCH_FORM_HEAD
#undef BATCH_SPEC_ARG

