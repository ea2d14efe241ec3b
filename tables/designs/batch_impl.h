/* The batch forms of every built-in design for one instruction set: this
 * file is included once per ISA by batch.c, with BATCH_TARGET (a target
 * attribute) and BATCH_SUF (a name suffix) defined.
 *
 * Each form is a `#pragma omp simd` loop around axl_builtin_eval, the one
 * definition of the arithmetic, on a copy of the context whose id is a
 * compile-time constant: after inlining, the dispatch on the id (which
 * core, mul or add) folds away and the loop runs straight-line design
 * code, vectorised where the compiler can.  No arithmetic is written here. */
#define BATCH_CAT_(a, b) a##b
#define BATCH_CAT(a, b) BATCH_CAT_(a, b)

#define BATCH_FORMS(ID)                                                                          \
    BATCH_TARGET static void BATCH_CAT(row_##ID, BATCH_SUF)(const struct axl_design_ctx *c,      \
                                                           const uint32_t *a, uint32_t b,        \
                                                           uint32_t *out, int64_t n)             \
    {                                                                                            \
        struct axl_design_ctx cc = *c;                                                           \
        cc.id = ID;                                                                              \
        _Pragma("omp simd") for (int64_t i = 0; i < n; i++) out[i] =                              \
            axl_builtin_eval(&cc, a[i], b);                                                      \
    }                                                                                            \
    BATCH_TARGET static void BATCH_CAT(pair_##ID, BATCH_SUF)(const struct axl_design_ctx *c,     \
                                                            const uint32_t *x, const uint32_t *y, \
                                                            uint32_t *out, int64_t n)            \
    {                                                                                            \
        struct axl_design_ctx cc = *c;                                                           \
        cc.id = ID;                                                                              \
        _Pragma("omp simd") for (int64_t i = 0; i < n; i++) out[i] =                              \
            axl_builtin_eval(&cc, x[i], y[i]);                                                   \
    }

AXL_BUILTIN_IDS(BATCH_FORMS)

#define BATCH_ENTRY(ID) [ID] = {BATCH_CAT(row_##ID, BATCH_SUF), BATCH_CAT(pair_##ID, BATCH_SUF), NULL},
static const struct axl_design_batch BATCH_CAT(k_batch, BATCH_SUF)[AXL_DESIGN_ID_END_] = {
    AXL_BUILTIN_IDS(BATCH_ENTRY)};

#undef BATCH_FORMS
#undef BATCH_ENTRY
