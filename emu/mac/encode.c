/* Encoding of tensors into operand codes, once per tensor, shared by the
 * CPU and CUDA backends so that both see the same codes: floating formats
 * by axl_format_encode, integer formats by affine quantization. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

/* ---- encoding: each tensor once, element index = offset in the tensor ---- */

/* Affine parameters of an integer format for values in [lo, hi]:
 * intN symmetric (z = 0), uintN asymmetric. */
static struct axl_quant quant_params(const struct axl_format *f, float lo, float hi)
{
    struct axl_quant q = {1.0f, 0};
    if (!(lo == lo) || !(hi == hi))
        return q;
    if (f->kind == AXL_KIND_INT) {
        float amax = fmaxf(fabsf(lo), fabsf(hi));
        float qmax = (float)((1u << (f->bits - 1)) - 1u);
        if (amax > 0.0f)
            q.s = amax / qmax;
    } else {
        lo = fminf(lo, 0.0f);
        hi = fmaxf(hi, 0.0f);
        float qmax = (float)((1u << f->bits) - 1u);
        if (hi > lo) {
            q.s = (hi - lo) / qmax;
            float z = nearbyintf(-lo / q.s);
            q.z = (int32_t)fminf(fmaxf(z, 0.0f), qmax);
        }
    }
    return q;
}

uint32_t axl_emu_quantize(const struct axl_format *f, struct axl_quant q, float x, enum axl_round r,
                         uint32_t rnd)
{
    float v = x / q.s + (float)q.z;
    if (r == AXL_ROUND_NEAREST_EVEN && f->bits <= 16 &&
        (f->kind == AXL_KIND_INT || f->kind == AXL_KIND_UINT)) {
        /* the same code as axl_format_encode, without its bit-level work:
         * below 2^22, adding and subtracting 1.5 * 2^23 rounds to an
         * integer, nearest-even; beyond, every format saturates */
        int32_t hi = f->kind == AXL_KIND_INT ? (int32_t)((1u << (f->bits - 1)) - 1u)
                                             : (int32_t)((1u << f->bits) - 1u);
        int32_t lo = f->kind == AXL_KIND_INT ? -hi - 1 : 0;
        if (!(v == v))
            return 0;
        int32_t i;
        if (v > -4194304.0f && v < 4194304.0f) {
            float t = (v + 12582912.0f) - 12582912.0f;
            i = (int32_t)t;
            i = i > hi ? hi : i < lo ? lo : i;
        } else {
            i = v > 0 ? hi : lo;
        }
        return (uint32_t)i & ((1u << f->bits) - 1u);
    }
    return axl_format_encode(f, v, r, rnd);
}

/* The float's order as an int32 (x < y exactly when key(x) < key(y), for
 * any non-NaN x, y, -0 below +0): integer min and max reductions vectorise
 * where float compares in conditionals do not (a chain of scalar compares
 * made the range search of a 256^3 int4 GEMM 10% of its time: perf, issue
 * 19).  The mapping is its own inverse. */
static inline int32_t order_key(int32_t s) { return s ^ (int32_t)((uint32_t)(s >> 31) >> 1); }

/* The vector loops below are compiled for AVX2 and baseline x86-64 and
 * chosen at load time (as the gather loops, cpu/gather.h), and run by
 * pieces, several per thread where the tensor is large: twice the lanes of
 * the SSE2 forms, and integer min/max in one instruction. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define AXL_ENC_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define AXL_ENC_CLONES
#endif
#define AXL_ENC_PIECE 4096

/* kl, kh lowered and raised to the keys of x[0..n) (NaNs skipped). */
AXL_ENC_CLONES static void minmax_keys(const float *restrict x, int64_t n, int32_t *kl, int32_t *kh)
{
    typedef int32_t i32_alias __attribute__((may_alias)); /* the floats' bits */
    const i32_alias *xb = (const i32_alias *)(const void *)x;
    int32_t l = *kl, h = *kh;
#pragma omp simd reduction(min : l) reduction(max : h)
    for (int64_t i = 0; i < n; i++) {
        const int32_t s = xb[i];
        const int32_t k = order_key(s), nan = (s & 0x7FFFFFFF) > 0x7F800000;
        const int32_t a = nan ? INT32_MAX : k, b = nan ? INT32_MIN : k;
        l = a < l ? a : l;
        h = b > h ? b : h;
    }
    *kl = l;
    *kh = h;
}

/* axl_emu_quantize_n's fast form over one piece (see there). */
AXL_ENC_CLONES static void quantize_run(const float *restrict x, int64_t n, float s, float z,
                                    float flo, float fhi, uint32_t mask, uint32_t *restrict codes)
{
    for (int64_t i = 0; i < n; i++) {
        float v = x[i] / s + z;
        v = v == v ? v : 0.0f;
        v = v > 4194304.0f ? 4194304.0f : v;
        v = v < -4194304.0f ? -4194304.0f : v;
        float t = (v + 12582912.0f) - 12582912.0f;
        t = t > fhi ? fhi : t;
        t = t < flo ? flo : t;
        codes[i] = (uint32_t)(int32_t)t & mask;
    }
}

/* Smallest and largest of x (NaNs skipped; all NaN or none: +inf, -inf as
 * before).  Which of -0 and +0 comes out does not matter to quant_params
 * (it takes magnitudes, or clamps at 0). */
static void minmax(const float *x, int64_t n, float *lo, float *hi)
{
    int32_t kl = INT32_MAX, kh = INT32_MIN; /* no float maps to either: both are NaN keys */
    const int64_t pieces = (n + AXL_ENC_PIECE - 1) / AXL_ENC_PIECE;
#pragma omp parallel for schedule(static) reduction(min : kl) reduction(max : kh) \
    if (n >= AXL_PAR_MIN)
    for (int64_t p = 0; p < pieces; p++) {
        int64_t i0 = p * AXL_ENC_PIECE, len = n - i0 < AXL_ENC_PIECE ? n - i0 : AXL_ENC_PIECE;
        minmax_keys(x + i0, len, &kl, &kh);
    }
    float a = INFINITY, b = -INFINITY;
    if (kl != INT32_MAX) {
        int32_t s = order_key(kl);
        memcpy(&a, &s, sizeof a);
    }
    if (kh != INT32_MIN) {
        int32_t s = order_key(kh);
        memcpy(&b, &s, sizeof b);
    }
    *lo = n ? a : 0.0f;
    *hi = n ? b : 0.0f;
}

void axl_emu_quantize_n(const struct axl_format *f, struct axl_quant q, const float *x, int64_t n,
                        enum axl_round r, uint64_t seed, uint32_t *codes)
{
    if (!(r == AXL_ROUND_NEAREST_EVEN && f->bits <= 16 &&
          (f->kind == AXL_KIND_INT || f->kind == AXL_KIND_UINT))) {
#pragma omp parallel for schedule(static) if (n >= AXL_PAR_MIN / 16)
        for (int64_t i = 0; i < n; i++)
            codes[i] = axl_emu_quantize(f, q, x[i], r,
                                        r == AXL_ROUND_STOCHASTIC ? axl_rand32(seed, (uint64_t)i) : 0);
        return;
    }
    /* axl_emu_quantize's fast form without branches, so that it vectorises:
     * a NaN becomes 0 (code 0 in both kinds, as there), and v is clamped to
     * +-2^22, where the add-subtract still rounds exactly and every format
     * saturates, as the branch there does.  The same IEEE operations in the
     * same order: the same bits. */
    const int32_t hi = f->kind == AXL_KIND_INT ? (int32_t)((1u << (f->bits - 1)) - 1u)
                                               : (int32_t)((1u << f->bits) - 1u);
    const int32_t lo = f->kind == AXL_KIND_INT ? -hi - 1 : 0;
    const uint32_t mask = (1u << f->bits) - 1u;
    const float s = q.s, z = (float)q.z;
    /* the code clamped as a float: t is an integer below 2^22 in magnitude
     * and lo, hi are exact, so the clamp gives the integer clamp's value;
     * the integer min/max it replaces has no SSE2 form, and the loop ran
     * scalar, half as long as the int4 kernel on gemm256 (perf, issue 19) */
    const float fhi = (float)hi, flo = (float)lo;
    const int64_t pieces = (n + AXL_ENC_PIECE - 1) / AXL_ENC_PIECE;
#pragma omp parallel for schedule(static) if (n >= AXL_PAR_MIN)
    for (int64_t p = 0; p < pieces; p++) {
        int64_t i0 = p * AXL_ENC_PIECE, len = n - i0 < AXL_ENC_PIECE ? n - i0 : AXL_ENC_PIECE;
        quantize_run(x + i0, len, s, z, flo, fhi, mask, codes + i0);
    }
}

/* ---- byte encoders: floating formats of at most 8 bits ----
 *
 * axl_format_encode of a float32 x = (-1)^s * sig * 2^(e-150) rounds at an
 * ulp of the target of exponent q >= ue - m (ue: x's exponent, m: the
 * target's mantissa bits), so at least 23 - m bits of x's mantissa lie
 * below the ulp, and everything the rounding looks at (the bits kept, the
 * round bit, whether anything below is set) is a function of
 *
 *   u >> (22 - m)            sign, exponent, the top m + 1 mantissa bits
 *   u & (2^(22 - m) - 1) != 0   the sticky bit
 *
 * for normal x, and of the sign alone for nonzero float32 subnormals
 * (below every target with at most 7 exponent bits, whose smallest
 * subnormal is at least 2^-69).  NaN and inf are keys of their own.  So the
 * table holds encode(representative) per key: a 2^(m + 11)-entry byte
 * table (16 KB for e4m3) instead of a round-and-pack per element.  The
 * tests check it against axl_format_encode over every float32. */
int axl_enc8_prepare(struct axl_enc8 *e, const struct axl_format *f, enum axl_round r)
{
    memset(e, 0, sizeof *e);
    if (f->kind != AXL_KIND_FLOAT || f->bits > 8 || f->ebits > 7 || r == AXL_ROUND_STOCHASTIC)
        return 0;
    e->shift = 22u - f->mbits;
    size_t n = (size_t)2 << (32u - e->shift);
    /* 3 bytes of padding: the vector form gathers a 32-bit word at each
     * key's byte (axl_enc8_codes) */
    e->t = calloc(n + 3, 1);
    if (!e->t)
        return 0;
    for (size_t key = 0; key < n; key++) {
        uint32_t u = (uint32_t)(key >> 1) << e->shift | (uint32_t)(key & 1);
        float x;
        memcpy(&x, &u, sizeof x);
        e->t[key] = (uint8_t)axl_format_encode(f, x, r, 0);
    }
    return 1;
}

void axl_enc8_free(struct axl_enc8 *e)
{
    free(e->t);
    e->t = NULL;
}

/* axl_enc8_codes over one piece: eight keys computed as axl_enc8_code
 * computes one, eight table bytes by one gather of 32-bit words (the byte
 * at each key and the three after it, masked off).  One lookup per element
 * in scalar code was 18% of a 256^3 e2m1 GEMM's time (perf, issue 19), the
 * same share as the loops of the int4 layer's range and quantization
 * together (vectorised): this is their counterpart for float codes. */
#if defined(__x86_64__) && defined(__GNUC__)
#define AXL_ENC8_AVX2 1
__attribute__((target("avx2"))) static void enc8_run_avx2(const struct axl_enc8 *e,
                                                          const float *x, int64_t n, float s,
                                                          int mul, uint32_t *codes)
{
    const __m256i low = _mm256_set1_epi32((int32_t)((1u << e->shift) - 1u));
    const __m256i one = _mm256_set1_epi32(1), byte = _mm256_set1_epi32(255);
    const __m128i sh = _mm_cvtsi32_si128((int)e->shift);
    const __m256 vs = _mm256_set1_ps(s);
    const int *t = (const int *)(const void *)e->t;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        if (mul)
            v = _mm256_mul_ps(v, vs); /* the scalar form's x * s: one IEEE multiply */
        const __m256i u = _mm256_castps_si256(v);
        const __m256i hi = _mm256_slli_epi32(_mm256_srl_epi32(u, sh), 1);
        const __m256i lowzero = _mm256_cmpeq_epi32(_mm256_and_si256(u, low), _mm256_setzero_si256());
        const __m256i key = _mm256_or_si256(hi, _mm256_andnot_si256(lowzero, one));
        const __m256i w = _mm256_i32gather_epi32(t, key, 1);
        _mm256_storeu_si256((__m256i *)(void *)(codes + i), _mm256_and_si256(w, byte));
    }
    for (; i < n; i++)
        codes[i] = axl_enc8_code(e, mul ? x[i] * s : x[i]);
}
#endif

static void enc8_run(const struct axl_enc8 *e, const float *x, int64_t n, float s, int mul,
                     uint32_t *codes)
{
#ifdef AXL_ENC8_AVX2
    if (__builtin_cpu_supports("avx2")) {
        enc8_run_avx2(e, x, n, s, mul, codes);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++)
        codes[i] = axl_enc8_code(e, mul ? x[i] * s : x[i]);
}

void axl_enc8_codes(const struct axl_enc8 *e, const float *x, int64_t n, float s, int mul,
                    uint32_t *codes)
{
    /* a local copy: the stores to codes may alias the plan's (uint32_t) shift */
    const struct axl_enc8 e8 = *e;
    const int64_t pieces = (n + AXL_ENC_PIECE - 1) / AXL_ENC_PIECE;
#pragma omp parallel for schedule(static) if (n >= AXL_PAR_MIN)
    for (int64_t p = 0; p < pieces; p++) {
        int64_t i0 = p * AXL_ENC_PIECE, len = n - i0 < AXL_ENC_PIECE ? n - i0 : AXL_ENC_PIECE;
        enc8_run(&e8, x + i0, len, s, mul, codes + i0);
    }
}

/* ---- operand scaling of floating formats (include/axlut/scale.h) ---- */

enum axl_status axl_emu_bind_scaling(struct axl_mac *m, const struct axl_mac_spec *spec,
                                     char *msg)
{
    m->wscale = spec->wscale;
    m->ascale = spec->ascale;
    m->scale_pow2 = spec->scale_pow2 != 0;
    m->scale_margin = spec->scale_margin;
    m->act_amax = spec->act_amax;
    if ((unsigned)m->wscale > AXL_WSCALE_CHANNEL || (unsigned)m->ascale > AXL_ASCALE_CALIBRATED)
        return axl_msgf(msg, AXL_ERR_INVALID, "unknown weight or activation scaling");
    if (m->wscale == AXL_WSCALE_NONE && m->ascale == AXL_ASCALE_NONE && !m->scale_pow2 &&
        !m->scale_margin)
        return AXL_OK;
    if (m->int_mode)
        return axl_msgf(msg, AXL_ERR_INVALID, "scaling (wscale, ascale, scale-pow2, "
                        "scale-margin) is for floating formats; %s x %s are integer formats, "
                        "quantized with their own affine scale (wquant)", m->fa.name, m->fw.name);
    if (m->scale_margin < 0 || m->scale_margin > AXL_SCALE_MAX_MARGIN)
        return axl_msgf(msg, AXL_ERR_INVALID, "scale margin %d is outside 0..%d",
                        m->scale_margin, AXL_SCALE_MAX_MARGIN);
    if (m->ascale == AXL_ASCALE_CALIBRATED && !(m->act_amax > 0.0f && isfinite(m->act_amax)))
        return axl_msgf(msg, AXL_ERR_INVALID, "calibrated activation scaling needs a calibrated "
                        "amax > 0 (act-amax), not %g", (double)m->act_amax);
    return AXL_OK;
}

int axl_emu_scaled(const struct axl_mac *m)
{
    return !m->int_mode && (m->wscale != AXL_WSCALE_NONE || m->ascale != AXL_ASCALE_NONE);
}

float axl_emu_act_scale(const struct axl_mac *m, float amax)
{
    if (m->int_mode || m->ascale == AXL_ASCALE_NONE)
        return 1.0f;
    if (m->ascale == AXL_ASCALE_CALIBRATED)
        amax = m->act_amax;
    return axl_scale_for(&m->fa, amax, m->scale_pow2, m->scale_margin);
}

/* Largest finite magnitude of nout x k weights at offsets n*sn + j*sk. */
static float weights_amax(const float *w, int64_t nout, int64_t k, int64_t sn, int64_t sk)
{
    float amax = 0.0f;
    for (int64_t n = 0; n < nout; n++) {
        float a = axl_scale_amax(w + n * sn, k, sk);
        amax = a > amax ? a : amax;
    }
    return amax;
}

/* The scale of the channel whose k weights start at wn (stride sk): from
 * the tensor's amax tmax (per tensor) or the channel's own. */
static float channel_scale(const struct axl_mac *m, const float *wn, int64_t k, int64_t sk,
                           float tmax)
{
    float amax = m->wscale == AXL_WSCALE_TENSOR ? tmax : axl_scale_amax(wn, k, sk);
    return axl_scale_for(&m->fw, amax, m->scale_pow2, m->scale_margin);
}

/* amax[n] = axl_scale_amax(w + n * sn, k, sk) for every channel.  Where
 * the channels are the contiguous axis (a GEMM's B as stored, K x N), one
 * channel's weights lie a row apart: walked per channel, a strided scalar
 * pass (most of the 8% of a 256^3 e2m1 GEMM's time in axl_scale_amax,
 * perf, issue 19, on every call); walked by rows, every channel's running
 * maximum at once, over contiguous floats.  The maximum of the same
 * magnitudes in another order: the same value. */
static void channels_amax(const float *w, int64_t nout, int64_t k, int64_t sn, int64_t sk,
                          float *amax)
{
    if (sn != 1 || sk < nout) {
        for (int64_t n = 0; n < nout; n++)
            amax[n] = axl_scale_amax(w + n * sn, k, sk);
        return;
    }
    typedef int32_t i32_alias __attribute__((may_alias)); /* the floats' bits */
    i32_alias *best = (i32_alias *)(void *)amax;
    for (int64_t n = 0; n < nout; n++)
        best[n] = 0;
    for (int64_t j = 0; j < k; j++) {
        const i32_alias *row = (const i32_alias *)(const void *)(w + j * sk);
        for (int64_t n = 0; n < nout; n++) {
            /* axl_scale_amax's test: finite magnitudes only (inf, NaN: 0) */
            int32_t a = row[n] & 0x7FFFFFFF;
            a = a < 0x7F800000 ? a : 0;
            best[n] = a > best[n] ? a : best[n];
        }
    }
}

void axl_emu_weight_scales(const struct axl_mac *m, const float *w, int64_t nout, int64_t k,
                           int64_t sn, int64_t sk, float *s)
{
    if (m->int_mode || m->wscale == AXL_WSCALE_NONE) {
        for (int64_t n = 0; n < nout; n++)
            s[n] = 1.0f;
        return;
    }
    channels_amax(w, nout, k, sn, sk, s); /* s[n]: channel n's amax, then its scale */
    float tmax = 0.0f;
    for (int64_t n = 0; n < nout; n++)
        tmax = s[n] > tmax ? s[n] : tmax; /* weights_amax's value */
    for (int64_t n = 0; n < nout; n++)
        s[n] = axl_scale_for(&m->fw, m->wscale == AXL_WSCALE_TENSOR ? tmax : s[n],
                             m->scale_pow2, m->scale_margin);
}

/* Code of x * s: a power of two in one rounding, any other s as hardware
 * scales, a float32 multiply before the encoding. */
static uint32_t encode_scaled(const struct axl_mac *m, const struct axl_format *f, float x,
                              float s, uint32_t rnd)
{
    if (m->scale_pow2) {
        int e;
        frexpf(s, &e); /* s = 0.5 * 2^e exactly */
        return axl_format_encode_pow2(f, x, e - 1, m->round, rnd);
    }
    return axl_format_encode(f, x * s, m->round, rnd);
}

/* Activation codes of a whole tensor (and its quantization). */
void axl_emu_encode_acts(const struct axl_mac *m, const float *x, int64_t n, uint32_t *codes,
                        struct axl_quant *qa)
{
    struct axl_quant q = {1.0f, 0};
    if (m->int_mode) {
        float lo, hi;
        if (m->act_range_set) {
            lo = m->act_min;
            hi = m->act_max;
        } else {
            minmax(x, n, &lo, &hi);
        }
        q = quant_params(&m->fa, lo, hi);
    }
    if (!m->int_mode && m->ascale != AXL_ASCALE_NONE) {
        /* calibrated: the amax is the configuration's, nothing to search */
        float sa = axl_emu_act_scale(m, m->ascale == AXL_ASCALE_CALIBRATED
                                            ? m->act_amax : axl_scale_amax(x, n, 1));
        qa->s = 1.0f / sa;
        qa->z = 0;
        if (m->enc8.t && !m->scale_pow2) { /* the float32 multiply, then the byte lookup */
            axl_enc8_codes(&m->enc8, x, n, sa, 1, codes);
            return;
        }
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n; i++) {
            uint32_t rnd = m->round == AXL_ROUND_STOCHASTIC ? axl_rand32(m->seed, (uint64_t)i) : 0;
            codes[i] = encode_scaled(m, &m->fa, x[i], sa, rnd);
        }
        return;
    }
    *qa = q;
    if (m->int_mode) {
        axl_emu_quantize_n(&m->fa, q, x, n, m->round, m->seed, codes);
        return;
    }
    if (m->enc8.t) {
        axl_enc8_codes(&m->enc8, x, n, 1.0f, 0, codes);
        return;
    }
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        uint32_t rnd = m->round == AXL_ROUND_STOCHASTIC ? axl_rand32(m->seed, (uint64_t)i) : 0;
        codes[i] = axl_format_encode(&m->fa, x[i], m->round, rnd);
    }
}

/* Weight codes as W[n][k]; element (n, k) of the caller's tensor is at
 * offset n*sn + k*sk, which is also its stochastic-rounding index. */
void axl_emu_encode_weights(const struct axl_mac *m, const float *w, int64_t nout, int64_t k,
                           int64_t sn, int64_t sk, uint32_t *codes, struct axl_quant *qw)
{
    uint64_t seed = m->seed ^ 0x5745494748545321ull; /* weights draw apart from activations */
    if (m->int_mode) {
        float tlo = INFINITY, thi = -INFINITY;
#pragma omp parallel for schedule(static) reduction(min : tlo) reduction(max : thi)
        for (int64_t n = 0; n < nout; n++) {
            float lo = INFINITY, hi = -INFINITY;
            for (int64_t j = 0; j < k; j++) {
                float v = w[n * sn + j * sk];
                lo = v < lo ? v : lo;
                hi = v > hi ? v : hi;
            }
            qw[n] = quant_params(&m->fw, lo, hi);
            tlo = lo < tlo ? lo : tlo;
            thi = hi > thi ? hi : thi;
        }
        if (m->wquant == AXL_WQUANT_PER_TENSOR)
            for (int64_t n = 0; n < nout; n++)
                qw[n] = quant_params(&m->fw, tlo, thi);
    } else if (m->wscale != AXL_WSCALE_NONE) {
        const float tmax = m->wscale == AXL_WSCALE_TENSOR ? weights_amax(w, nout, k, sn, sk) : 0;
#pragma omp parallel for schedule(static)
        for (int64_t n = 0; n < nout; n++) {
            float s = channel_scale(m, w + n * sn, k, sk, tmax);
            qw[n] = (struct axl_quant){1.0f / s, 0};
            for (int64_t j = 0; j < k; j++) {
                int64_t off = n * sn + j * sk;
                uint32_t rnd = m->round == AXL_ROUND_STOCHASTIC ? axl_rand32(seed, (uint64_t)off) : 0;
                codes[n * k + j] = encode_scaled(m, &m->fw, w[off], s, rnd);
            }
        }
        return;
    } else {
        for (int64_t n = 0; n < nout; n++)
            qw[n] = (struct axl_quant){1.0f, 0};
    }
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < nout; n++) {
        for (int64_t j = 0; j < k; j++) {
            int64_t off = n * sn + j * sk;
            uint32_t rnd = m->round == AXL_ROUND_STOCHASTIC ? axl_rand32(seed, (uint64_t)off) : 0;
            codes[n * k + j] = m->int_mode ? axl_emu_quantize(&m->fw, qw[n], w[off], m->round, rnd)
                                           : axl_format_encode(&m->fw, w[off], m->round, rnd);
        }
    }
}


/* ---- the values multiplied (the straight-through estimator) ------------------ */
static int passes_through(const struct axl_format *f)
{
    return f->kind == AXL_KIND_FLOAT && f->bits == 32 && f->ebits == 8 && f->mbits == 23 &&
           f->subnormals && f->special == AXL_SPECIAL_IEEE;
}

/* Block-scaled layers quantize along the layer's reduction axis, which
 * these flat views do not give: the straight-through estimator of training
 * does not serve them yet. */
static enum axl_status no_blocks(const struct axl_mac *m, char *msg)
{
    return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "training through block-scaled layers (%s) is "
                    "not supported; run them with axlut run", m->desc);
}

enum axl_status axl_mac_quantize_acts(const struct axl_mac *m, const float *x, int64_t n,
                                      float *out, char *msg)
{
    if (m->blk)
        return no_blocks(m, msg);
    if (passes_through(&m->fa) && !m->int_mode) {
        memmove(out, x, (size_t)n * sizeof *out);
        return AXL_OK;
    }
    uint32_t *codes = malloc((size_t)(n > 0 ? n : 1) * sizeof *codes);
    if (!codes)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    struct axl_quant q;
    axl_emu_encode_acts(m, x, n, codes, &q);
    const int scaled = axl_emu_scaled(m);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float v = axl_format_decode(&m->fa, codes[i]);
        out[i] = m->int_mode ? q.s * (v - (float)q.z) : scaled ? v * q.s : v;
    }
    free(codes);
    return AXL_OK;
}

enum axl_status axl_mac_quantize_weights(const struct axl_mac *m, const float *w, int64_t nout,
                                         int64_t k, int64_t sn, int64_t sk, float *out,
                                         char *msg)
{
    if (m->blk)
        return no_blocks(m, msg);
    if (passes_through(&m->fw) && !m->int_mode) {
        for (int64_t n = 0; n < nout; n++)
            for (int64_t j = 0; j < k; j++)
                out[n * sn + j * sk] = w[n * sn + j * sk];
        return AXL_OK;
    }
    uint32_t *codes = malloc((size_t)(nout * k > 0 ? nout * k : 1) * sizeof *codes);
    struct axl_quant *qw = malloc((size_t)(nout > 0 ? nout : 1) * sizeof *qw);
    if (!codes || !qw) {
        free(codes);
        free(qw);
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    }
    axl_emu_encode_weights(m, w, nout, k, sn, sk, codes, qw);
    const int scaled = axl_emu_scaled(m);
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < nout; n++)
        for (int64_t j = 0; j < k; j++) {
            float v = axl_format_decode(&m->fw, codes[n * k + j]);
            out[n * sn + j * sk] =
                m->int_mode ? qw[n].s * (v - (float)qw[n].z) : scaled ? v * qw[n].s : v;
        }
    free(codes);
    free(qw);
    return AXL_OK;
}

float axl_mac_operand_scale(const struct axl_mac *m, int role, float amax)
{
    const struct axl_format *f = role ? &m->fw : &m->fa;
    if (m->int_mode || passes_through(f) || !(amax > 0.0f) || !isfinite(amax))
        return 1.0f;
    int e;
    frexpf(axl_format_max_finite(f) / amax, &e); /* ratio = r * 2^e, 0.5 <= r < 1 */
    return ldexpf(1.0f, e - 1);
}

float axl_mac_operand_limit(const struct axl_mac *m, int role)
{
    const struct axl_format *f = role ? &m->fw : &m->fa;
    if (m->int_mode || passes_through(f))
        return INFINITY;
    return axl_format_max_finite(f);
}
