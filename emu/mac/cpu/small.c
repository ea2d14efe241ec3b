/* Table lookups held in registers for operand formats of at most 64 codes.
 *
 * With at most 16 activation codes (int4/uint4 and narrower, FP4 e2m1 and
 * the other 4-bit shapes) the products of one weight code are a row of 16
 * entries; split into byte planes (byte 0 of every entry, byte 1, ...) each
 * plane is 16 bytes, one xmm register broadcast to every 128-bit lane, and
 * one VPSHUFB looks up 64 activation codes (32 on AVX2).  With at most 64
 * codes (FP6 e3m2/e2m3, int6) a plane is one zmm register and one VPERMB
 * looks up 64 codes; AVX2 does the same with four VPSHUFB and three blends
 * on bits 4 and 5 of the code.  The planes are interleaved into the 16- or
 * 32-bit entries the gather path would have read (VPUNPCK*).
 *
 * The mode is chosen at prepare time from the table's entries:
 *
 *   Q16   every entry is an integer number of units q (q = 1 for integer
 *         tables; for float tables the power of two of the lowest set bit
 *         of any entry) within +-32767.  Products are added in int16 for
 *         as many reductions as cannot overflow (32767 / qmax, at most a
 *         tile), then widened and added in int32.  Integer tables: int32
 *         adds wrap, so any grouping gives the bits of the k-ordered sum.
 *         Float tables: where K * qmax <= 2^24 every partial sum of the
 *         k-ordered float32 loop is a multiple of q below 2^24 q, hence
 *         exact, so that loop's result is the exact sum, which is what
 *         the integers hold; it becomes a float exactly (|sum| <= 2^24,
 *         q a power of two).  An exact e2m1 product is a multiple of 1/4
 *         up to 36: 144 units; an int4 x int4 product fits int8.
 *   HI16  float entries whose low 16 bits are zero (products of narrow
 *         significands): bytes 2-3 looked up, float32 adds in k order.
 *   32    anything: four planes, float32 or int32 adds in k order.
 *
 * The interleave works within 128-bit lanes, so 32-bit accumulator vector
 * 4j + q, dword 4L + i holds position V j + 16L + 4q + i (V = 64 positions
 * per vector, 32 on AVX2), as in cpu/vbmi.c; positions are put back in
 * order when the task is written.  Channels are taken several at a time
 * (four in Q16) so that one load of activation codes serves several
 * weight codes.
 *
 * Keeping a 16-entry table in registers and indexing it with byte shuffles
 * is the method of F. André, A.-M. Kermarrec, N. Le Scouarnec, "Cache
 * locality is not enough: high-performance nearest neighbor search with
 * product quantization fast scan", VLDB 2015 (their tables are distance
 * tables of product quantization; here they are rows of a multiplier). */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/bscale.h"
#include "cpu/small.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define AXL_SMALL_BUILD 1
#include <immintrin.h>
#define T512 __attribute__((target("avx512f,avx512bw,avx512vbmi")))
#define I512 __attribute__((target("avx512f,avx512bw,avx512vbmi"), always_inline)) static inline
#define T256 __attribute__((target("avx2")))
#define I256 __attribute__((target("avx2"), always_inline)) static inline
#else
#define AXL_SMALL_BUILD 0
#endif

int axl_small_isa_supported(int isa)
{
#if AXL_SMALL_BUILD
    __builtin_cpu_init();
    if (isa == AXL_SMALL_AVX2)
        return __builtin_cpu_supports("avx2");
    if (isa == AXL_SMALL_AVX512)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vbmi");
#endif
    (void)isa;
    return 0;
}

int axl_small_isa(void)
{
    const char *e = getenv("AXL_CPU_KERNEL");
    if (e && (!strcmp(e, "gather") || !strcmp(e, "scalar")))
        return AXL_SMALL_ISA_NONE;
    if (!(e && !strcmp(e, "avx2")) && axl_small_isa_supported(AXL_SMALL_AVX512))
        return AXL_SMALL_AVX512;
    return axl_small_isa_supported(AXL_SMALL_AVX2) ? AXL_SMALL_AVX2 : AXL_SMALL_ISA_NONE;
}

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* Whether every entry is an integer number of units within +-32767 (see
 * the top of the file); the unit and the largest magnitude in units. */
static int q16_fit(const float *tf, const int32_t *ti, size_t n, float *quantum, int32_t *qmax)
{
    *quantum = 1.0f;
    *qmax = 1;
    if (ti) {
        for (size_t i = 0; i < n; i++) {
            int64_t v = ti[i] < 0 ? -(int64_t)ti[i] : ti[i];
            if (v > 32767)
                return 0;
            if (v > *qmax)
                *qmax = (int32_t)v;
        }
        return 1;
    }
    int elow = INT_MAX;
    float big = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float v = tf[i];
        if (!isfinite(v))
            return 0;
        if (v == 0.0f)
            continue;
        uint32_t u = f32_bits(v), ex = (u >> 23) & 0xFFu, man = u & 0x7FFFFFu;
        int e = ex ? (int)ex - 150 + __builtin_ctz(man | 0x800000u) : -149 + __builtin_ctz(man);
        elow = e < elow ? e : elow;
        big = fabsf(v) > big ? fabsf(v) : big;
    }
    if (elow == INT_MAX) /* every entry zero */
        return 1;
    /* the largest sum (2^24 units) stays finite: no partial sum overflows */
    double units = ldexp((double)big, -elow);
    if (units > 32767.0 || big > 0x1p100f)
        return 0;
    *quantum = ldexpf(1.0f, elow);
    *qmax = (int32_t)units;
    return 1;
}

int axl_small_prepare(struct axl_small *s, const float *tf, const int32_t *ti, uint32_t na,
                      uint32_t nb, int isa, unsigned modes)
{
    memset(s, 0, sizeof *s);
    if ((!tf && !ti) || na == 0 || nb == 0 || na > 64 ||
        (isa != AXL_SMALL_AVX2 && isa != AXL_SMALL_AVX512) || !axl_small_isa_supported(isa))
        return 0;
    const uint32_t *bits = tf ? (const uint32_t *)(const void *)tf
                              : (const uint32_t *)(const void *)ti;
    size_t n = (size_t)na * nb;
    float quantum;
    int32_t qmax;
    int hi16 = tf != NULL;
    for (size_t i = 0; i < n && hi16; i++)
        hi16 = (bits[i] & 0xFFFFu) == 0;
    int mode = AXL_SMALL_NONE;
    if ((modes & (1u << AXL_SMALL_Q16)) && q16_fit(tf, ti, n, &quantum, &qmax))
        mode = AXL_SMALL_Q16;
    else if ((modes & (1u << AXL_SMALL_HI16)) && hi16)
        mode = AXL_SMALL_HI16;
    else if (modes & (1u << AXL_SMALL_32))
        mode = AXL_SMALL_32;
    if (mode == AXL_SMALL_NONE)
        return 0;
    s->mode = mode;
    s->isa = isa;
    s->isint = ti != NULL;
    s->width = na <= 16 ? 16 : 64;
    s->planes = mode == AXL_SMALL_32 ? 4 : 2;
    s->stride = (size_t)s->planes * (size_t)s->width;
    if (mode == AXL_SMALL_Q16) {
        s->quantum = quantum;
        s->qexp = ilogbf(quantum);
        s->qmax = qmax;
    }
    size_t bytes = ((size_t)nb * s->stride + 63) / 64 * 64;
    s->rows = aligned_alloc(64, bytes);
    if (!s->rows) {
        memset(s, 0, sizeof *s);
        return 0;
    }
    memset(s->rows, 0, bytes);
    for (uint32_t b = 0; b < nb; b++) {
        uint8_t *row = s->rows + (size_t)b * s->stride;
        for (uint32_t a = 0; a < na; a++) {
            size_t i = (size_t)b * na + a;
            uint32_t u = bits[i];
            if (mode == AXL_SMALL_Q16) /* the entry in units, as int16 */
                u = (uint32_t)(ti ? ti[i] : (int32_t)((double)tf[i] / (double)quantum)) & 0xFFFFu;
            else if (mode == AXL_SMALL_HI16)
                u >>= 16;
            for (int p = 0; p < s->planes; p++)
                row[(size_t)p * s->width + a] = (uint8_t)(u >> (8 * p));
        }
    }
    return 1;
}

void axl_small_free(struct axl_small *s)
{
    free(s->rows);
    memset(s, 0, sizeof *s);
}

int axl_small_usable(const struct axl_small *s, int64_t k)
{
    if (s->mode == AXL_SMALL_NONE)
        return 0;
    if (s->mode == AXL_SMALL_Q16 && !s->isint)
        return (double)k * (double)s->qmax <= 16777216.0;
    return 1;
}

int axl_small_scaled_usable(const struct axl_small *s, int64_t size)
{
    if (s->mode == AXL_SMALL_NONE || s->isint || s->isa != AXL_SMALL_AVX512 || size < 1)
        return 0;
    /* Q16: one block per int16 tile */
    return s->mode != AXL_SMALL_Q16 || (size <= 32767 / s->qmax && axl_small_usable(s, size));
}

#if AXL_SMALL_BUILD

/* Reductions per int16 tile: as many as cannot overflow int16. */
static int64_t q16_tile(const struct axl_small *s)
{
    int64_t t = 32767 / s->qmax;
    return t < AXL_SMALL_KT ? t : AXL_SMALL_KT;
}

/* One channel's sums back to position order: T holds NVEC vectors of
 * 4 * LANES dwords, vector 4j + q, dword 4L + i being position
 * 16 LANES j + 16L + 4q + i, written to o[ps * position]; Q16 sums of
 * float tables become floats. */
static void put_sums(const struct axl_small *s, const uint32_t *t, int nvec, int lanes,
                     int raw, uint32_t *o, int64_t ps)
{
    const int tofloat = !raw && s->mode == AXL_SMALL_Q16 && !s->isint;
    for (int v = 0; v < nvec; v++) {
        int j = v / 4, q = v % 4;
        for (int l = 0; l < lanes; l++)
            for (int i = 0; i < 4; i++) {
                uint32_t u = t[v * 4 * lanes + 4 * l + i];
                if (tofloat)
                    u = f32_bits((float)(int32_t)u * s->quantum);
                o[ps * (16 * lanes * j + 16 * l + 4 * q + i)] = u;
            }
    }
}

/* ---- AVX-512: 64 positions per vector ---------------------------------- */

I512 __m512i plane512(const uint8_t *row, int p, const int width)
{
    if (width == 16)
        return _mm512_broadcast_i32x4(_mm_load_si128((const __m128i *)(const void *)(row + 16 * p)));
    return _mm512_load_si512(row + 64 * p);
}

I512 __m512i look512(__m512i t, __m512i idx, const int width)
{
    return width == 16 ? _mm512_shuffle_epi8(t, idx) : _mm512_permutexvar_epi8(idx, t);
}

/* The products of one weight row with NV vectors of activation codes IDX
 * added to ACC: int16 adds into acc[2j + h] in Q16, else float32 or int32
 * adds into acc[4j + q]. */
I512 void step512(const uint8_t *row, const __m512i *idx, __m512i *acc, const int nv,
                  const int width, const int mode, const int isint)
{
    const __m512i zero = _mm512_setzero_si512();
    __m512i t0 = plane512(row, 0, width), t1 = plane512(row, 1, width), t2 = zero, t3 = zero;
    if (mode == AXL_SMALL_32) {
        t2 = plane512(row, 2, width);
        t3 = plane512(row, 3, width);
    }
    for (int j = 0; j < nv; j++) {
        __m512i b0 = look512(t0, idx[j], width), b1 = look512(t1, idx[j], width);
        __m512i w0 = _mm512_unpacklo_epi8(b0, b1), w1 = _mm512_unpackhi_epi8(b0, b1);
        if (mode == AXL_SMALL_Q16) {
            acc[2 * j] = _mm512_add_epi16(acc[2 * j], w0);
            acc[2 * j + 1] = _mm512_add_epi16(acc[2 * j + 1], w1);
            continue;
        }
        __m512i d[4];
        if (mode == AXL_SMALL_32) {
            __m512i b2 = look512(t2, idx[j], width), b3 = look512(t3, idx[j], width);
            __m512i v0 = _mm512_unpacklo_epi8(b2, b3), v1 = _mm512_unpackhi_epi8(b2, b3);
            d[0] = _mm512_unpacklo_epi16(w0, v0);
            d[1] = _mm512_unpackhi_epi16(w0, v0);
            d[2] = _mm512_unpacklo_epi16(w1, v1);
            d[3] = _mm512_unpackhi_epi16(w1, v1);
        } else {
            d[0] = _mm512_unpacklo_epi16(zero, w0);
            d[1] = _mm512_unpackhi_epi16(zero, w0);
            d[2] = _mm512_unpacklo_epi16(zero, w1);
            d[3] = _mm512_unpackhi_epi16(zero, w1);
        }
        for (int q = 0; q < 4; q++)
            acc[4 * j + q] = isint ? _mm512_add_epi32(acc[4 * j + q], d[q])
                                   : _mm512_castps_si512(_mm512_add_ps(
                                         _mm512_castsi512_ps(acc[4 * j + q]), _mm512_castsi512_ps(d[q])));
    }
}

/* CB channels from N over reductions K0..K1, the activation codes of each
 * reduction loaded once for all of them; adds into the 32-bit ACC. */
I512 void group512(const struct axl_small *s, const struct axl_small_block *a,
                   __m512i (*acc)[8], int64_t n, int64_t k0, int64_t k1, const int cb,
                   const int nv, const int width, const int mode, const int isint,
                   const struct axl_bscale_blk *blk, int64_t b)
{
    const int per = mode == AXL_SMALL_Q16 ? 2 * nv : 4 * nv;
    __m512i r[4][8];
    for (int c = 0; c < cb; c++)
        for (int v = 0; v < per; v++)
            r[c][v] = mode == AXL_SMALL_Q16 || blk ? _mm512_setzero_si512() : acc[n + c][v];
    const uint32_t *w = a->w + n * a->k;
    for (int64_t k = k0; k < k1; k++) {
        __m512i idx[2];
        for (int j = 0; j < nv; j++)
            idx[j] = _mm512_loadu_si512(a->x + k * a->xs + 64 * j);
        for (int c = 0; c < cb; c++)
            step512(s->rows + (size_t)w[c * a->k + k] * s->stride, idx, r[c], nv, width, mode,
                    isint);
    }
    if (blk) { /* block-scaled: the block's float32 sums scaled into the totals */
        const struct axl_bscale *bs = a->bs;
        /* MX: the integer sums as floats (exact: |sum| < 2^24), the unit
         * folded into the scaling's exponent (2^off); NVFP4's multiplies
         * take the sums themselves */
        const int q16 = mode == AXL_SMALL_Q16, off = q16 && !bs->nvfp ? s->qexp : 0;
        const __m512 quantum = _mm512_set1_ps(q16 && bs->nvfp ? s->quantum : 1.0f);
        for (int c = 0; c < cb; c++) {
            __m512 f[8];
            for (int j = 0; j < nv; j++) {
                if (mode != AXL_SMALL_Q16) {
                    for (int q = 0; q < 4; q++)
                        f[4 * j + q] = _mm512_castsi512_ps(r[c][4 * j + q]);
                    continue;
                }
                /* int16 sums widened, then exact floats (|sum| < 2^24 units) */
                __m512i lo = r[c][2 * j], hi = r[c][2 * j + 1];
                __m512i sl = _mm512_srai_epi16(lo, 15), sh = _mm512_srai_epi16(hi, 15);
                __m512i w[4] = {_mm512_unpacklo_epi16(lo, sl), _mm512_unpackhi_epi16(lo, sl),
                                _mm512_unpacklo_epi16(hi, sh), _mm512_unpackhi_epi16(hi, sh)};
                for (int q = 0; q < 4; q++)
                    f[4 * j + q] = bs->nvfp ? _mm512_mul_ps(_mm512_cvtepi32_ps(w[q]), quantum)
                                            : _mm512_cvtepi32_ps(w[q]);
            }
            axl_bscale_add(bs, blk, bs->ws[(n + c) * bs->nb + b], off, f, acc[n + c], 4 * nv);
        }
        return;
    }
    for (int c = 0; c < cb; c++) {
        if (mode != AXL_SMALL_Q16) {
            for (int v = 0; v < per; v++)
                acc[n + c][v] = r[c][v];
            continue;
        }
        for (int j = 0; j < nv; j++) { /* int16 sums widened, in the layout of 32-bit sums */
            __m512i lo = r[c][2 * j], hi = r[c][2 * j + 1];
            __m512i sl = _mm512_srai_epi16(lo, 15), sh = _mm512_srai_epi16(hi, 15);
            __m512i *o = &acc[n + c][4 * j];
            o[0] = _mm512_add_epi32(o[0], _mm512_unpacklo_epi16(lo, sl));
            o[1] = _mm512_add_epi32(o[1], _mm512_unpackhi_epi16(lo, sl));
            o[2] = _mm512_add_epi32(o[2], _mm512_unpacklo_epi16(hi, sh));
            o[3] = _mm512_add_epi32(o[3], _mm512_unpackhi_epi16(hi, sh));
        }
    }
}

I512 void block512(const struct axl_small *s, const struct axl_small_block *a, const int nv,
                   const int width, const int mode, const int isint)
{
    __m512i acc[AXL_SMALL_NG][8];
    for (int64_t n = 0; n < a->nn; n++)
        for (int v = 0; v < 4 * nv; v++)
            acc[n][v] = _mm512_setzero_si512();
    const int64_t kt = mode == AXL_SMALL_Q16 ? q16_tile(s) : AXL_SMALL_KT;
    for (int64_t k0 = 0; k0 < a->k; k0 += kt) {
        int64_t k1 = k0 + kt < a->k ? k0 + kt : a->k, n = 0;
        if (mode == AXL_SMALL_Q16)
            for (; n + 4 <= a->nn; n += 4)
                group512(s, a, acc, n, k0, k1, 4, nv, width, mode, isint, NULL, 0);
        else
            for (; n + 2 <= a->nn; n += 2)
                group512(s, a, acc, n, k0, k1, 2, nv, width, mode, isint, NULL, 0);
        for (; n < a->nn; n++)
            group512(s, a, acc, n, k0, k1, 1, nv, width, mode, isint, NULL, 0);
    }
    for (int64_t n = 0; n < a->nn; n++) {
        uint32_t t[8 * 16];
        for (int v = 0; v < 4 * nv; v++)
            _mm512_storeu_si512(t + 16 * v, acc[n][v]);
        if (a->pos_major)
            put_sums(s, t, 4 * nv, 4, 0, a->out + n, AXL_SMALL_NG);
        else
            put_sums(s, t, 4 * nv, 4, 0, a->out + n * AXL_SMALL_LEN, 1);
    }
}

/* A block-scaled task: blocks of bs->size reductions, each from zero,
 * scaled into float32 totals (cpu/bscale.h); out holds the totals. */
I512 void block512_scaled(const struct axl_small *s, const struct axl_small_block *a,
                          const int nv, const int width, const int mode)
{
    const struct axl_bscale *bs = a->bs;
    __m512i acc[AXL_SMALL_NG][8];
    for (int64_t n = 0; n < a->nn; n++)
        for (int v = 0; v < 4 * nv; v++)
            acc[n][v] = _mm512_setzero_si512();
    struct axl_bscale_blk blk;
    for (int64_t b = 0; b < bs->nb; b++) {
        axl_bscale_block(bs, b, 0, &blk);
        const int64_t k0 = b * bs->size, k1 = k0 + bs->size;
        int64_t n = 0;
        if (mode == AXL_SMALL_Q16)
            for (; n + 4 <= a->nn; n += 4)
                group512(s, a, acc, n, k0, k1, 4, nv, width, mode, 0, &blk, b);
        else
            for (; n + 2 <= a->nn; n += 2)
                group512(s, a, acc, n, k0, k1, 2, nv, width, mode, 0, &blk, b);
        for (; n < a->nn; n++)
            group512(s, a, acc, n, k0, k1, 1, nv, width, mode, 0, &blk, b);
    }
    for (int64_t n = 0; n < a->nn; n++) {
        uint32_t t[8 * 16];
        for (int v = 0; v < 4 * nv; v++)
            _mm512_storeu_si512(t + 16 * v, acc[n][v]);
        put_sums(s, t, 4 * nv, 4, 1, a->out + n * AXL_SMALL_LEN, 1);
    }
}

/* ---- AVX2: 32 positions per vector, tasks in chunks of 64 positions ---- */

/* A plane in registers: one broadcast 16-byte row, or four for 64 entries. */
struct plane256 {
    __m256i q[4];
};

I256 void plane256(struct plane256 *t, const uint8_t *row, int p, const int width)
{
    for (int i = 0; i < width / 16; i++)
        t->q[i] = _mm256_broadcastsi128_si256(
            _mm_load_si128((const __m128i *)(const void *)(row + (size_t)p * width + 16 * i)));
}

I256 __m256i look256(const struct plane256 *t, __m256i idx, const int width)
{
    if (width == 16)
        return _mm256_shuffle_epi8(t->q[0], idx);
    /* VPSHUFB reads bits 0-3; bits 4 and 5 choose the quarter (moved to
     * bit 7 of each byte for VPBLENDVB; codes < 64 leave bit 7 clear) */
    __m256i b4 = _mm256_slli_epi16(idx, 3), b5 = _mm256_slli_epi16(idx, 2);
    __m256i lo = _mm256_blendv_epi8(_mm256_shuffle_epi8(t->q[0], idx),
                                    _mm256_shuffle_epi8(t->q[1], idx), b4);
    __m256i hi = _mm256_blendv_epi8(_mm256_shuffle_epi8(t->q[2], idx),
                                    _mm256_shuffle_epi8(t->q[3], idx), b4);
    return _mm256_blendv_epi8(lo, hi, b5);
}

I256 void step256(const uint8_t *row, const __m256i *idx, __m256i *acc, const int nv,
                  const int width, const int mode, const int isint)
{
    const __m256i zero = _mm256_setzero_si256();
    struct plane256 t0, t1, t2, t3;
    plane256(&t0, row, 0, width);
    plane256(&t1, row, 1, width);
    if (mode == AXL_SMALL_32) {
        plane256(&t2, row, 2, width);
        plane256(&t3, row, 3, width);
    }
    for (int j = 0; j < nv; j++) {
        __m256i b0 = look256(&t0, idx[j], width), b1 = look256(&t1, idx[j], width);
        __m256i w0 = _mm256_unpacklo_epi8(b0, b1), w1 = _mm256_unpackhi_epi8(b0, b1);
        if (mode == AXL_SMALL_Q16) {
            acc[2 * j] = _mm256_add_epi16(acc[2 * j], w0);
            acc[2 * j + 1] = _mm256_add_epi16(acc[2 * j + 1], w1);
            continue;
        }
        __m256i d[4];
        if (mode == AXL_SMALL_32) {
            __m256i b2 = look256(&t2, idx[j], width), b3 = look256(&t3, idx[j], width);
            __m256i v0 = _mm256_unpacklo_epi8(b2, b3), v1 = _mm256_unpackhi_epi8(b2, b3);
            d[0] = _mm256_unpacklo_epi16(w0, v0);
            d[1] = _mm256_unpackhi_epi16(w0, v0);
            d[2] = _mm256_unpacklo_epi16(w1, v1);
            d[3] = _mm256_unpackhi_epi16(w1, v1);
        } else {
            d[0] = _mm256_unpacklo_epi16(zero, w0);
            d[1] = _mm256_unpackhi_epi16(zero, w0);
            d[2] = _mm256_unpacklo_epi16(zero, w1);
            d[3] = _mm256_unpackhi_epi16(zero, w1);
        }
        for (int q = 0; q < 4; q++)
            acc[4 * j + q] = isint ? _mm256_add_epi32(acc[4 * j + q], d[q])
                                   : _mm256_castps_si256(_mm256_add_ps(
                                         _mm256_castsi256_ps(acc[4 * j + q]), _mm256_castsi256_ps(d[q])));
    }
}

I256 void group256(const struct axl_small *s, const struct axl_small_block *a,
                   __m256i (*acc)[8], int64_t c0, int64_t n, int64_t k0, int64_t k1,
                   const int cb, const int nv, const int width, const int mode, const int isint)
{
    const int per = mode == AXL_SMALL_Q16 ? 2 * nv : 4 * nv;
    __m256i r[2][8];
    for (int c = 0; c < cb; c++)
        for (int v = 0; v < per; v++)
            r[c][v] = mode == AXL_SMALL_Q16 ? _mm256_setzero_si256() : acc[n + c][v];
    const uint32_t *w = a->w + n * a->k;
    for (int64_t k = k0; k < k1; k++) {
        __m256i idx[2];
        for (int j = 0; j < nv; j++)
            idx[j] = _mm256_loadu_si256((const __m256i *)(const void *)(a->x + k * a->xs + c0 +
                                                                          32 * j));
        for (int c = 0; c < cb; c++)
            step256(s->rows + (size_t)w[c * a->k + k] * s->stride, idx, r[c], nv, width, mode,
                    isint);
    }
    for (int c = 0; c < cb; c++) {
        if (mode != AXL_SMALL_Q16) {
            for (int v = 0; v < per; v++)
                acc[n + c][v] = r[c][v];
            continue;
        }
        for (int j = 0; j < nv; j++) {
            __m256i lo = r[c][2 * j], hi = r[c][2 * j + 1];
            __m256i sl = _mm256_srai_epi16(lo, 15), sh = _mm256_srai_epi16(hi, 15);
            __m256i *o = &acc[n + c][4 * j];
            o[0] = _mm256_add_epi32(o[0], _mm256_unpacklo_epi16(lo, sl));
            o[1] = _mm256_add_epi32(o[1], _mm256_unpackhi_epi16(lo, sl));
            o[2] = _mm256_add_epi32(o[2], _mm256_unpacklo_epi16(hi, sh));
            o[3] = _mm256_add_epi32(o[3], _mm256_unpackhi_epi16(hi, sh));
        }
    }
}

/* Positions C0 .. C0 + 32 NV of the task. */
I256 void chunk256(const struct axl_small *s, const struct axl_small_block *a, int64_t c0,
                   const int nv, const int width, const int mode, const int isint)
{
    __m256i acc[AXL_SMALL_NG][8];
    for (int64_t n = 0; n < a->nn; n++)
        for (int v = 0; v < 4 * nv; v++)
            acc[n][v] = _mm256_setzero_si256();
    const int64_t kt = mode == AXL_SMALL_Q16 ? q16_tile(s) : AXL_SMALL_KT;
    for (int64_t k0 = 0; k0 < a->k; k0 += kt) {
        int64_t k1 = k0 + kt < a->k ? k0 + kt : a->k, n = 0;
        if (mode == AXL_SMALL_Q16 && width == 16)
            for (; n + 2 <= a->nn; n += 2)
                group256(s, a, acc, c0, n, k0, k1, 2, nv, width, mode, isint);
        for (; n < a->nn; n++)
            group256(s, a, acc, c0, n, k0, k1, 1, nv, width, mode, isint);
    }
    for (int64_t n = 0; n < a->nn; n++) {
        uint32_t t[8 * 8];
        for (int v = 0; v < 4 * nv; v++)
            _mm256_storeu_si256((__m256i *)(void *)(t + 8 * v), acc[n][v]);
        if (a->pos_major)
            put_sums(s, t, 4 * nv, 2, 0, a->out + n + c0 * AXL_SMALL_NG, AXL_SMALL_NG);
        else
            put_sums(s, t, 4 * nv, 2, 0, a->out + n * AXL_SMALL_LEN + c0, 1);
    }
}

I256 void block256(const struct axl_small *s, const struct axl_small_block *a, const int width,
                   const int mode, const int isint)
{
    for (int64_t c0 = 0; c0 < a->len; c0 += 64) {
        if (a->len - c0 > 32)
            chunk256(s, a, c0, 2, width, mode, isint);
        else
            chunk256(s, a, c0, 1, width, mode, isint);
    }
}

/* ---- the variants ------------------------------------------------------- */

typedef void (*small_fn)(const struct axl_small *s, const struct axl_small_block *a);

#define V512(TAG, W, MODE, ISINT)                                                                \
    T512 static void k512_##TAG##_1(const struct axl_small *s, const struct axl_small_block *a) \
    {                                                                                            \
        block512(s, a, 1, W, MODE, ISINT);                                                       \
    }                                                                                            \
    T512 static void k512_##TAG##_2(const struct axl_small *s, const struct axl_small_block *a) \
    {                                                                                            \
        block512(s, a, 2, W, MODE, ISINT);                                                       \
    }                                                                                            \
    T256 static void k256_##TAG(const struct axl_small *s, const struct axl_small_block *a)     \
    {                                                                                            \
        block256(s, a, W, MODE, ISINT);                                                          \
    }
V512(q16_w16, 16, AXL_SMALL_Q16, 1)
V512(q16_w64, 64, AXL_SMALL_Q16, 1)
V512(hi16_w16, 16, AXL_SMALL_HI16, 0)
V512(hi16_w64, 64, AXL_SMALL_HI16, 0)
V512(f32_w16, 16, AXL_SMALL_32, 0)
V512(f32_w64, 64, AXL_SMALL_32, 0)
V512(i32_w16, 16, AXL_SMALL_32, 1)
V512(i32_w64, 64, AXL_SMALL_32, 1)

#define S512(TAG, W, MODE)                                                                       \
    T512 static void s512_##TAG##_1(const struct axl_small *s, const struct axl_small_block *a) \
    {                                                                                            \
        block512_scaled(s, a, 1, W, MODE);                                                       \
    }                                                                                            \
    T512 static void s512_##TAG##_2(const struct axl_small *s, const struct axl_small_block *a) \
    {                                                                                            \
        block512_scaled(s, a, 2, W, MODE);                                                       \
    }
S512(q16_w16, 16, AXL_SMALL_Q16)
S512(q16_w64, 64, AXL_SMALL_Q16)
S512(hi16_w16, 16, AXL_SMALL_HI16)
S512(hi16_w64, 64, AXL_SMALL_HI16)
S512(f32_w16, 16, AXL_SMALL_32)
S512(f32_w64, 64, AXL_SMALL_32)

/* [width 64][mode]: {one vector, two vectors} */
static const small_fn s_fns[2][AXL_SMALL_MODE_COUNT_][2] = {
    {[AXL_SMALL_Q16] = {s512_q16_w16_1, s512_q16_w16_2},
     [AXL_SMALL_HI16] = {s512_hi16_w16_1, s512_hi16_w16_2},
     [AXL_SMALL_32] = {s512_f32_w16_1, s512_f32_w16_2}},
    {[AXL_SMALL_Q16] = {s512_q16_w64_1, s512_q16_w64_2},
     [AXL_SMALL_HI16] = {s512_hi16_w64_1, s512_hi16_w64_2},
     [AXL_SMALL_32] = {s512_f32_w64_1, s512_f32_w64_2}},
};

void axl_small_run_scaled(const struct axl_small *s, const struct axl_small_block *a)
{
    s_fns[s->width == 64][s->mode][a->len > 64](s, a);
}

/* [width 64][mode][isint (32 only)]: {AVX-512 one vector, two vectors, AVX2} */
static const small_fn k_fns[2][AXL_SMALL_MODE_COUNT_][2][3] = {
#define ROW(TAG) {k512_##TAG##_1, k512_##TAG##_2, k256_##TAG}
    {[AXL_SMALL_Q16] = {ROW(q16_w16), ROW(q16_w16)},
     [AXL_SMALL_HI16] = {ROW(hi16_w16), ROW(hi16_w16)},
     [AXL_SMALL_32] = {ROW(f32_w16), ROW(i32_w16)}},
    {[AXL_SMALL_Q16] = {ROW(q16_w64), ROW(q16_w64)},
     [AXL_SMALL_HI16] = {ROW(hi16_w64), ROW(hi16_w64)},
     [AXL_SMALL_32] = {ROW(f32_w64), ROW(i32_w64)}},
#undef ROW
};

void axl_small_run(const struct axl_small *s, const struct axl_small_block *a)
{
    int which = s->isa == AXL_SMALL_AVX2 ? 2 : a->len > 64 ? 1 : 0;
    k_fns[s->width == 64][s->mode][s->isint][which](s, a);
}

#else

void axl_small_run(const struct axl_small *s, const struct axl_small_block *a)
{
    (void)s;
    (void)a; /* never prepared on such builds: axl_small_prepare returns 0 */
}

void axl_small_run_scaled(const struct axl_small *s, const struct axl_small_block *a)
{
    (void)s;
    (void)a; /* never prepared on such builds */
}

#endif
