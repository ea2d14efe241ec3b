/* Table lookups by byte permutes (AVX-512 VBMI) instead of gathers.
 *
 * For operand formats of at most 8 bits, the products of one weight code b
 * with every activation code are one table row of at most 256 entries.
 * Split into byte planes (byte 0 of every entry, byte 1, ...), each plane
 * is 256 bytes: four zmm registers.  VPERMI2B looks up 64 activation codes
 * at once in 128 entries, so one plane costs two permutes and a blend on
 * bit 7 of the code; the planes are then interleaved into 32-bit entries
 * (VPUNPCK*), which are the float32 products or int32 products the gather
 * path would have read.  Where every entry of the table fits 16 bits (the
 * float32 value of an fp8 product has its low 16 bits zero; the product
 * of two int8 codes fits int16) two planes suffice.
 *
 * The interleave works within 128-bit lanes, so accumulator vector
 * 4j + q, dword 4L + i holds output position 64j + 16L + 4q + i of the
 * block; positions are put back in order when the block is written.
 * Each accumulator lane still adds its products in k order with one
 * IEEE add (vaddps) per product, exactly as the scalar loop: the bits are
 * those of the gather path and of the reference (tests/test_mac.c runs both
 * paths; AXL_CPU_KERNEL=gather forces the gather path).
 *
 * The idea of keeping a small lookup table in registers and indexing it
 * with byte permutes is the one used for 4-bit tables in vector
 * quantization (e.g. F. André, A.-M. Kermarrec, N. Le Scouarnec, "Cache
 * locality is not enough: high-performance nearest neighbor search with
 * product quantization fast scan", VLDB 2015); here the tables are the
 * 256-entry rows of a multiplier table. */
#include <stdlib.h>
#include <string.h>

#include "cpu/vbmi.h"
#include "plan.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define AXL_VBMI_BUILD 1
#include <immintrin.h>
#define VBMI __attribute__((target("avx512f,avx512bw,avx512vbmi")))
#define VBMI_INLINE __attribute__((target("avx512f,avx512bw,avx512vbmi"), always_inline)) static inline
#else
#define AXL_VBMI_BUILD 0
#endif

int axl_vbmi_available(void)
{
#if AXL_VBMI_BUILD
    const char *e = getenv("AXL_CPU_KERNEL");
    if (e && !strcmp(e, "gather"))
        return 0;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vbmi");
#else
    return 0;
#endif
}

int axl_vbmi_prepare(struct axl_vbmi *v, const float *tf, const int32_t *ti, uint32_t na,
                     uint32_t nb)
{
    memset(v, 0, sizeof *v);
    if (na > 256 || nb > 256 || (!tf && !ti) || !axl_vbmi_available())
        return 0;
    const uint32_t *bits = tf ? (const uint32_t *)(const void *)tf : (const uint32_t *)(const void *)ti;
    size_t n = (size_t)na * nb;
    int hi16 = 1, s16 = 1, u16 = 1;
    for (size_t i = 0; i < n; i++) {
        uint32_t u = bits[i];
        int32_t s = (int32_t)u;
        hi16 &= (u & 0xFFFFu) == 0;
        s16 &= s >= -32768 && s <= 32767;
        u16 &= u <= 0xFFFFu;
    }
    if (tf)
        v->mode = hi16 ? AXL_VBMI_HI16 : AXL_VBMI_32;
    else
        v->mode = s16 ? AXL_VBMI_S16 : u16 ? AXL_VBMI_U16 : AXL_VBMI_32;
    v->planes = v->mode == AXL_VBMI_32 ? 4 : 2;
    v->stride = (size_t)v->planes * 256;
    v->rows = aligned_alloc(64, (size_t)nb * v->stride);
    if (!v->rows) {
        memset(v, 0, sizeof *v);
        return 0;
    }
    memset(v->rows, 0, (size_t)nb * v->stride);
    for (uint32_t b = 0; b < nb; b++) {
        uint8_t *row = v->rows + (size_t)b * v->stride;
        for (uint32_t a = 0; a < na; a++) {
            uint32_t u = bits[(size_t)b * na + a];
            if (v->mode == AXL_VBMI_HI16)
                u >>= 16;
            for (int p = 0; p < v->planes; p++)
                row[p * 256 + a] = (uint8_t)(u >> (8 * p));
        }
    }
    return 1;
}

void axl_vbmi_free(struct axl_vbmi *v)
{
    free(v->rows);
    memset(v, 0, sizeof *v);
}

#if AXL_VBMI_BUILD

/* 64 byte lookups in a 256-byte plane t[0..3]; HI selects entries 128..255. */
VBMI_INLINE __m512i lut256(__m512i t0, __m512i t1, __m512i t2, __m512i t3, __m512i idx,
                           __mmask64 hi)
{
    __m512i a = _mm512_permutex2var_epi8(t0, idx, t1);
    __m512i b = _mm512_permutex2var_epi8(t2, idx, t3);
    return _mm512_mask_blend_epi8(hi, a, b);
}

/* The products of one weight row with NV vectors of 64 activation codes,
 * added to ACC[4 * NV] (float or int32 adds). */
VBMI_INLINE void step(const uint8_t *row, const uint8_t *x, __m512i *acc, const int nv,
                      const int mode, const int isint)
{
    const __m512i zero = _mm512_setzero_si512();
    __m512i p0 = _mm512_load_si512(row), p1 = _mm512_load_si512(row + 64);
    __m512i p2 = _mm512_load_si512(row + 128), p3 = _mm512_load_si512(row + 192);
    __m512i q0 = _mm512_load_si512(row + 256), q1 = _mm512_load_si512(row + 320);
    __m512i q2 = _mm512_load_si512(row + 384), q3 = _mm512_load_si512(row + 448);
    for (int j = 0; j < nv; j++) {
        __m512i idx = _mm512_loadu_si512(x + 64 * j);
        __mmask64 hi = _mm512_movepi8_mask(idx);
        __m512i b0 = lut256(p0, p1, p2, p3, idx, hi);
        __m512i b1 = lut256(q0, q1, q2, q3, idx, hi);
        __m512i w0 = _mm512_unpacklo_epi8(b0, b1), w1 = _mm512_unpackhi_epi8(b0, b1);
        __m512i d[4];
        if (mode == AXL_VBMI_32) {
            __m512i r0 = _mm512_load_si512(row + 512), r1 = _mm512_load_si512(row + 576);
            __m512i r2 = _mm512_load_si512(row + 640), r3 = _mm512_load_si512(row + 704);
            __m512i s0 = _mm512_load_si512(row + 768), s1 = _mm512_load_si512(row + 832);
            __m512i s2 = _mm512_load_si512(row + 896), s3 = _mm512_load_si512(row + 960);
            __m512i b2 = lut256(r0, r1, r2, r3, idx, hi);
            __m512i b3 = lut256(s0, s1, s2, s3, idx, hi);
            __m512i v0 = _mm512_unpacklo_epi8(b2, b3), v1 = _mm512_unpackhi_epi8(b2, b3);
            d[0] = _mm512_unpacklo_epi16(w0, v0);
            d[1] = _mm512_unpackhi_epi16(w0, v0);
            d[2] = _mm512_unpacklo_epi16(w1, v1);
            d[3] = _mm512_unpackhi_epi16(w1, v1);
        } else if (mode == AXL_VBMI_HI16) {
            d[0] = _mm512_unpacklo_epi16(zero, w0);
            d[1] = _mm512_unpackhi_epi16(zero, w0);
            d[2] = _mm512_unpacklo_epi16(zero, w1);
            d[3] = _mm512_unpackhi_epi16(zero, w1);
        } else {
            __m512i e0 = mode == AXL_VBMI_S16 ? _mm512_srai_epi16(w0, 15) : zero;
            __m512i e1 = mode == AXL_VBMI_S16 ? _mm512_srai_epi16(w1, 15) : zero;
            d[0] = _mm512_unpacklo_epi16(w0, e0);
            d[1] = _mm512_unpackhi_epi16(w0, e0);
            d[2] = _mm512_unpacklo_epi16(w1, e1);
            d[3] = _mm512_unpackhi_epi16(w1, e1);
        }
        for (int q = 0; q < 4; q++)
            acc[4 * j + q] = isint ? _mm512_add_epi32(acc[4 * j + q], d[q])
                                   : _mm512_castps_si512(_mm512_add_ps(
                                         _mm512_castsi512_ps(acc[4 * j + q]), _mm512_castsi512_ps(d[q])));
    }
}

/* One group of channels over one block: accumulators of NG channels x NV
 * vectors kept between tiles of KT reductions (the byte tile of the block
 * stays in L1 while the channels of the group consume it). */
VBMI_INLINE void block(const struct axl_vbmi_block *a, const int nv, const int mode,
                       const int isint)
{
    __m512i acc[AXL_VBMI_NG][8];
    for (int64_t n = 0; n < a->nn; n++)
        for (int v = 0; v < 4 * nv; v++)
            acc[n][v] = _mm512_setzero_si512();
    for (int64_t k0 = 0; k0 < a->k; k0 += AXL_VBMI_KT) {
        int64_t k1 = k0 + AXL_VBMI_KT < a->k ? k0 + AXL_VBMI_KT : a->k;
        for (int64_t n = 0; n < a->nn; n++) {
            __m512i r[8];
            for (int v = 0; v < 4 * nv; v++)
                r[v] = acc[n][v];
            const uint32_t *w = a->w + n * a->k;
            for (int64_t k = k0; k < k1; k++)
                step(a->rows + (size_t)w[k] * a->stride, a->x + k * a->xs, r, nv, mode, isint);
            for (int v = 0; v < 4 * nv; v++)
                acc[n][v] = r[v];
        }
    }
    /* back to position order: vector 4j+q, dword 4L+i is position 64j+16L+4q+i */
    for (int64_t n = 0; n < a->nn; n++) {
        uint32_t tmp[8][16];
        for (int v = 0; v < 4 * nv; v++)
            _mm512_storeu_si512(tmp[v], acc[n][v]);
        uint32_t *o = a->out + n * 128;
        for (int j = 0; j < nv; j++)
            for (int q = 0; q < 4; q++)
                for (int l = 0; l < 4; l++)
                    for (int i = 0; i < 4; i++)
                        o[64 * j + 16 * l + 4 * q + i] = tmp[4 * j + q][4 * l + i];
    }
}

#define VARIANT(NAME, NV, MODE, ISINT)                                                            \
    VBMI static void NAME(const struct axl_vbmi_block *a) { block(a, NV, MODE, ISINT); }
VARIANT(f_hi16_1, 1, AXL_VBMI_HI16, 0)
VARIANT(f_hi16_2, 2, AXL_VBMI_HI16, 0)
VARIANT(f_32_1, 1, AXL_VBMI_32, 0)
VARIANT(f_32_2, 2, AXL_VBMI_32, 0)
VARIANT(i_s16_1, 1, AXL_VBMI_S16, 1)
VARIANT(i_s16_2, 2, AXL_VBMI_S16, 1)
VARIANT(i_u16_1, 1, AXL_VBMI_U16, 1)
VARIANT(i_u16_2, 2, AXL_VBMI_U16, 1)
VARIANT(i_32_1, 1, AXL_VBMI_32, 1)
VARIANT(i_32_2, 2, AXL_VBMI_32, 1)

void axl_vbmi_run(const struct axl_vbmi *v, int isint, const struct axl_vbmi_block *a)
{
    const int two = a->len > 64;
    switch (v->mode) {
    case AXL_VBMI_HI16:
        two ? f_hi16_2(a) : f_hi16_1(a);
        break;
    case AXL_VBMI_S16:
        two ? i_s16_2(a) : i_s16_1(a);
        break;
    case AXL_VBMI_U16:
        two ? i_u16_2(a) : i_u16_1(a);
        break;
    default:
        if (isint)
            two ? i_32_2(a) : i_32_1(a);
        else
            two ? f_32_2(a) : f_32_1(a);
        break;
    }
}

#else

void axl_vbmi_run(const struct axl_vbmi *v, int isint, const struct axl_vbmi_block *a)
{
    (void)v;
    (void)isint;
    (void)a;
    abort(); /* never prepared on such builds: axl_vbmi_prepare returns 0 */
}

#endif
