/* The floating designs' AVX-512 and AVX2 batch forms as three steps per
 * block of lanes: the vector split (fvec.h: unpack, specials, and for adders the
 * alignment), the design's core as an `omp simd` loop over its one
 * definition (cores.h: axl_umul_core / axl_uadd_core, the same calls
 * fpmul.h and fpadd.h make), and the vector join (fvec.h: round-and-pack).
 * Nearest-even only; the other modes keep batch_impl.h's loops.  fvec_mul
 * and fvec_add are the AVX-512 forms (fvec.h), fv8_mul and fv8_add the
 * AVX2 ones (fvec_avx2.h), step for step the same.  Included by
 * batch_isas.h before its AVX-512 and AVX2 instantiations (batch.c: 64-bit
 * significands, any floating formats but all-bf16 and all-fp16 ones;
 * batch_sig32.c: those two on 32-bit lanes). */
#ifndef AXLUT_TABLES_DESIGNS_BATCH_FVEC_H
#define AXLUT_TABLES_DESIGNS_BATCH_FVEC_H

#include "designs/fvec.h"
#include "designs/fvec_avx2.h"

#ifdef AXL_FVEC_HAVE
/* the core runs on blocks of this many lanes (a multiple of 16), each
 * step over the whole block, so that the core loop is long enough to
 * vectorise well and the split's and join's vectors stay in L1 */
#define FVEC_CHUNK 256

AXL_FVEC __mmask16 fvec_lanes(int64_t left) { return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u); }

/* 16 lanes of 32-bit significands into the significand array at p */
AXL_FVEC void fvec_store_sig(axl_sig_t *p, __m512i v)
{
#if AXL_SIG_BITS == 32
    _mm512_storeu_si512(p, v);
#else
    _mm512_storeu_si512(p, _mm512_cvtepu32_epi64(_mm512_castsi512_si256(v)));
    _mm512_storeu_si512(p + 8, _mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64(v, 1)));
#endif
}

/* out[i] = the design (core `core`, a multiplier) on (a[i], y[i]), or on
 * (a[i], b) when y is NULL (the row form). */
AXL_FVEC void fvec_mul(const struct axl_design_ctx *c, uint32_t core, const uint32_t *a,
                       const uint32_t *y, uint32_t b, uint32_t *out, int64_t n)
{
    struct axl_fvec_fmt fa, fb, fr;
    axl_fvec_fmt_init(&fa, &c->fa);
    axl_fvec_fmt_init(&fb, &c->fb);
    axl_fvec_fmt_init(&fr, &c->fr);
    const int w = (fa.m > fb.m ? fa.m : fb.m) + 1;
    int32_t param[AXL_DESIGN_MAX_PARAMS];
    memcpy(param, c->param, sizeof param);
    for (int64_t i0 = 0; i0 < n; i0 += FVEC_CHUNK) {
        const int64_t len = n - i0 < FVEC_CHUNK ? n - i0 : FVEC_CHUNK;
        const int64_t len16 = (len + 15) & ~(int64_t)15; /* lanes past len: code 0, a zero */
        axl_sig_t sx[FVEC_CHUNK], sy[FVEC_CHUNK], p[FVEC_CHUNK];
        __m512i sign[FVEC_CHUNK / 16], k[FVEC_CHUNK / 16], res[FVEC_CHUNK / 16];
        __mmask16 special[FVEC_CHUNK / 16], fin[FVEC_CHUNK / 16];
        for (int64_t g = 0; g < len16; g += 16) {
            __mmask16 lm = fvec_lanes(len - g);
            __m512i va = _mm512_maskz_loadu_epi32(lm, a + i0 + g);
            __m512i vb = y ? _mm512_maskz_loadu_epi32(lm, y + i0 + g) : _mm512_set1_epi32((int)b);
            struct axl_fvec_mul_parts r = axl_fvec_mul_split(&fa, &fb, &fr, va, vb);
            fvec_store_sig(sx + g, r.sx);
            fvec_store_sig(sy + g, r.sy);
            sign[g / 16] = r.sign;
            k[g / 16] = r.k;
            res[g / 16] = r.res;
            special[g / 16] = r.special;
            fin[g / 16] = r.fin;
        }
        _Pragma("omp simd") for (int64_t i = 0; i < len16; i++) p[i] =
            axl_umul_core(core, param, sx[i], sy[i], w);
        for (int64_t g = 0; g < len16; g += 16) {
            const __mmask16 f = fin[g / 16];
#if AXL_SIG_BITS == 32
            __m512i code = axl_fvec_pack32_rne(&fr, sign[g / 16], _mm512_maskz_loadu_epi32(f, p + g), k[g / 16]);
#else
            __m512i code = axl_fvec_pack64_rne(&fr, sign[g / 16], _mm512_maskz_loadu_epi64((__mmask8)f, p + g),
                                               _mm512_maskz_loadu_epi64((__mmask8)(f >> 8), p + g + 8), k[g / 16]);
#endif
            code = _mm512_mask_blend_epi32(special[g / 16], code, res[g / 16]);
            _mm512_mask_storeu_epi32(out + i0 + g, fvec_lanes(len - g), code);
        }
    }
}

/* The same for an adder (core `core`): out[i] = a[i] + (y ? y[i] : b).
 * out may be a (the accumulators add in place): each block is read whole
 * before its results are stored. */
AXL_FVEC void fvec_add(const struct axl_design_ctx *c, uint32_t core, const uint32_t *a,
                       const uint32_t *y, uint32_t b, uint32_t *out, int64_t n)
{
    struct axl_fvec_fmt fa, fb, fr;
    axl_fvec_fmt_init(&fa, &c->fa);
    axl_fvec_fmt_init(&fb, &c->fb);
    axl_fvec_fmt_init(&fr, &c->fr);
    int32_t param[AXL_DESIGN_MAX_PARAMS];
    memcpy(param, c->param, sizeof param);
    for (int64_t i0 = 0; i0 < n; i0 += FVEC_CHUNK) {
        const int64_t len = n - i0 < FVEC_CHUNK ? n - i0 : FVEC_CHUNK;
        const int64_t len16 = (len + 15) & ~(int64_t)15;
        axl_sig_t x[FVEC_CHUNK], yy[FVEC_CHUNK], s[FVEC_CHUNK];
        int32_t w[FVEC_CHUNK];
        struct axl_fvec_add_parts parts[FVEC_CHUNK / 16];
        for (int64_t g = 0; g < len16; g += 16) {
            __mmask16 lm = fvec_lanes(len - g);
            __m512i va = _mm512_maskz_loadu_epi32(lm, a + i0 + g);
            __m512i vb = y ? _mm512_maskz_loadu_epi32(lm, y + i0 + g) : _mm512_set1_epi32((int)b);
            struct axl_fvec_add_parts *r = &parts[g / 16];
            *r = axl_fvec_add_split(&fa, &fb, &fr, va, vb);
            fvec_store_sig(x + g, r->x);
            fvec_store_sig(yy + g, r->y);
            _mm512_storeu_si512(w + g, r->w);
        }
        _Pragma("omp simd") for (int64_t i = 0; i < len16; i++) s[i] =
            axl_uadd_core(core, param, x[i], yy[i], w[i]);
        for (int64_t g = 0; g < len16; g += 16) {
#if AXL_SIG_BITS == 32
            __m512i code = axl_fvec_add_join(&fa, &fb, &fr, &parts[g / 16], _mm512_loadu_si512(s + g));
#else
            __m512i code = axl_fvec_add_join64(&fa, &fb, &fr, &parts[g / 16], _mm512_loadu_si512(s + g),
                                               _mm512_loadu_si512(s + g + 8));
#endif
            _mm512_mask_storeu_epi32(out + i0 + g, fvec_lanes(len - g), code);
        }
    }
}

/* ---- AVX2: the same forms on 8 lanes (fvec_avx2.h) ---------------------- */

/* the lanes of a group of 8 below `left`, as a condition */
AXL_FV8 __m256i fv8_lanes(int64_t left)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(left >= 8 ? 8 : (int)left), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

AXL_FV8 void fv8_store_sig(axl_sig_t *p, __m256i v)
{
#if AXL_SIG_BITS == 32
    _mm256_storeu_si256((__m256i *)p, v);
#else
    _mm256_storeu_si256((__m256i *)p, axl_fv8_lo64u(v));
    _mm256_storeu_si256((__m256i *)(p + 4), axl_fv8_hi64u(v));
#endif
}

/* fvec_mul on AVX2. */
AXL_FV8 void fv8_mul(const struct axl_design_ctx *c, uint32_t core, const uint32_t *a, const uint32_t *y,
                     uint32_t b, uint32_t *out, int64_t n)
{
    struct axl_fvec_fmt fa, fb, fr;
    axl_fvec_fmt_init(&fa, &c->fa);
    axl_fvec_fmt_init(&fb, &c->fb);
    axl_fvec_fmt_init(&fr, &c->fr);
    const int w = (fa.m > fb.m ? fa.m : fb.m) + 1;
    int32_t param[AXL_DESIGN_MAX_PARAMS];
    memcpy(param, c->param, sizeof param);
    for (int64_t i0 = 0; i0 < n; i0 += FVEC_CHUNK) {
        const int64_t len = n - i0 < FVEC_CHUNK ? n - i0 : FVEC_CHUNK;
        const int64_t len8 = (len + 7) & ~(int64_t)7; /* lanes past len: code 0, a zero */
        axl_sig_t sx[FVEC_CHUNK], sy[FVEC_CHUNK], p[FVEC_CHUNK];
        __m256i sign[FVEC_CHUNK / 8], k[FVEC_CHUNK / 8], res[FVEC_CHUNK / 8];
        __m256i special[FVEC_CHUNK / 8], fin[FVEC_CHUNK / 8];
        for (int64_t g = 0; g < len8; g += 8) {
            __m256i lm = fv8_lanes(len - g);
            __m256i va = _mm256_maskload_epi32((const int *)(a + i0 + g), lm);
            __m256i vb = y ? _mm256_maskload_epi32((const int *)(y + i0 + g), lm) : _mm256_set1_epi32((int)b);
            struct axl_fv8_mul_parts r = axl_fv8_mul_split(&fa, &fb, &fr, va, vb);
            fv8_store_sig(sx + g, r.sx);
            fv8_store_sig(sy + g, r.sy);
            sign[g / 8] = r.sign;
            k[g / 8] = r.k;
            res[g / 8] = r.res;
            special[g / 8] = r.special;
            fin[g / 8] = r.fin;
        }
        _Pragma("omp simd") for (int64_t i = 0; i < len8; i++) p[i] = axl_umul_core(core, param, sx[i], sy[i], w);
        for (int64_t g = 0; g < len8; g += 8) {
            const __m256i f = fin[g / 8];
#if AXL_SIG_BITS == 32
            __m256i code = axl_fv8_pack32_rne(&fr, sign[g / 8], _mm256_and_si256(f, _mm256_loadu_si256((const __m256i *)(p + g))),
                                              k[g / 8]);
#else
            __m256i lo = _mm256_and_si256(axl_fv8_lo64s(f), _mm256_loadu_si256((const __m256i *)(p + g)));
            __m256i hi = _mm256_and_si256(axl_fv8_hi64s(f), _mm256_loadu_si256((const __m256i *)(p + g + 4)));
            __m256i code = axl_fv8_pack64_rne(&fr, sign[g / 8], lo, hi, k[g / 8]);
#endif
            code = axl_fv8_sel(special[g / 8], res[g / 8], code);
            _mm256_maskstore_epi32((int *)(out + i0 + g), fv8_lanes(len - g), code);
        }
    }
}

/* fvec_add on AVX2 (out may be a, as there). */
AXL_FV8 void fv8_add(const struct axl_design_ctx *c, uint32_t core, const uint32_t *a, const uint32_t *y,
                     uint32_t b, uint32_t *out, int64_t n)
{
    struct axl_fvec_fmt fa, fb, fr;
    axl_fvec_fmt_init(&fa, &c->fa);
    axl_fvec_fmt_init(&fb, &c->fb);
    axl_fvec_fmt_init(&fr, &c->fr);
    int32_t param[AXL_DESIGN_MAX_PARAMS];
    memcpy(param, c->param, sizeof param);
    for (int64_t i0 = 0; i0 < n; i0 += FVEC_CHUNK) {
        const int64_t len = n - i0 < FVEC_CHUNK ? n - i0 : FVEC_CHUNK;
        const int64_t len8 = (len + 7) & ~(int64_t)7;
        axl_sig_t x[FVEC_CHUNK], yy[FVEC_CHUNK], s[FVEC_CHUNK];
        int32_t w[FVEC_CHUNK];
        struct axl_fv8_add_parts parts[FVEC_CHUNK / 8];
        for (int64_t g = 0; g < len8; g += 8) {
            __m256i lm = fv8_lanes(len - g);
            __m256i va = _mm256_maskload_epi32((const int *)(a + i0 + g), lm);
            __m256i vb = y ? _mm256_maskload_epi32((const int *)(y + i0 + g), lm) : _mm256_set1_epi32((int)b);
            struct axl_fv8_add_parts *r = &parts[g / 8];
            *r = axl_fv8_add_split(&fa, &fb, &fr, va, vb);
            fv8_store_sig(x + g, r->x);
            fv8_store_sig(yy + g, r->y);
            _mm256_storeu_si256((__m256i *)(w + g), r->w);
        }
        _Pragma("omp simd") for (int64_t i = 0; i < len8; i++) s[i] = axl_uadd_core(core, param, x[i], yy[i], w[i]);
        for (int64_t g = 0; g < len8; g += 8) {
#if AXL_SIG_BITS == 32
            __m256i code = axl_fv8_add_join(&fa, &fb, &fr, &parts[g / 8], _mm256_loadu_si256((const __m256i *)(s + g)));
#else
            __m256i code = axl_fv8_add_join64(&fa, &fb, &fr, &parts[g / 8], _mm256_loadu_si256((const __m256i *)(s + g)),
                                              _mm256_loadu_si256((const __m256i *)(s + g + 4)));
#endif
            _mm256_maskstore_epi32((int *)(out + i0 + g), fv8_lanes(len - g), code);
        }
    }
}

/* Whether a context takes the three-step forms: floating operands and
 * result, nearest-even; in batch.c (64-bit significands) unless the
 * formats are all bf16 or all fp16 (those go to batch_sig32.c). */
static inline int fvec_takes(const struct axl_design_ctx *c)
{
    if (c->round != AXL_ROUND_NEAREST_EVEN || c->fa.kind != AXL_KIND_FLOAT ||
        c->fb.kind != AXL_KIND_FLOAT || c->fr.kind != AXL_KIND_FLOAT)
        return 0;
#if AXL_SIG_BITS == 32
    return 1;
#else
    const int s = batch_spec_of(c);
    return s != 1 && s != 2;
#endif
}
#endif /* AXL_FVEC_HAVE */

#endif
