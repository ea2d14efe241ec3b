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

#include "cpu/bscale.h"
#include "cpu/vbmi.h"
#include "plan.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define AXL_VBMI_BUILD 1
#include <immintrin.h>
/* VNNI comes with VBMI on every CPU but Cannon Lake; the kernels are
 * compiled for both (one target, so that the inlined step serves every
 * variant) and need both at run time. */
#define VBMI __attribute__((target("avx512f,avx512bw,avx512vbmi,avx512vnni")))
#define VBMI_INLINE                                                                               \
    __attribute__((target("avx512f,avx512bw,avx512vbmi,avx512vnni"), always_inline)) static inline
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
           __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512vnni");
#else
    return 0;
#endif
}

int axl_vbmi_refined(void)
{
    const char *e = getenv("AXL_CPU_KERNEL");
    return !(e && !strcmp(e, "vbmi-basic"));
}

/* Sign symmetry of a float table over 256 activation codes, checked bit
 * for bit, not assumed: every code a >= 128 is either a "flip" column,
 * whose entry is that of a - 128 with bit 31 flipped in every row that
 * flips (flip[b] = 1), or a "same" column, equal to a - 128 in every row
 * (such as a second NaN code: NaN products keep their sign), and every row
 * either flips on all the flip columns or on none (the row of a NaN
 * weight).  It holds for sign-magnitude formats whose multiplier handles
 * the sign exactly (fp8 designs that split sign, exponent and mantissa).
 * Fills xmap (same columns read as a - 128: no flip) and flip. */
static int sign_symmetric(const uint32_t *bits, uint32_t na, uint32_t nb, uint8_t *xmap,
                          uint8_t *flip)
{
    if (na != 256)
        return 0;
    for (uint32_t a = 0; a < 256; a++) {
        int same = 1;
        for (uint32_t b = 0; b < nb && a >= 128 && same; b++)
            same = bits[(size_t)b * na + a] == bits[(size_t)b * na + a - 128];
        xmap[a] = (uint8_t)(a >= 128 && same ? a - 128 : a);
    }
    for (uint32_t b = 0; b < nb; b++) {
        int f = -1; /* not yet known */
        for (uint32_t a = 128; a < 256; a++) {
            if (xmap[a] != a)
                continue;
            uint32_t d = bits[(size_t)b * na + a] ^ bits[(size_t)b * na + a - 128];
            int fa = d == 0x80000000u ? 1 : d == 0 ? 0 : -2;
            if (fa == -2 || (f >= 0 && fa != f))
                return 0;
            f = fa;
        }
        flip[b] = f == 1;
    }
    return 1;
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
    uint8_t flip[256];
    for (uint32_t a = 0; a < 256; a++)
        v->xmap[a] = (uint8_t)a;
    if (tf)
        v->mode = !hi16 ? AXL_VBMI_32
                  : axl_vbmi_refined() && sign_symmetric(bits, na, nb, v->xmap, flip)
                      ? AXL_VBMI_HI16S
                      : AXL_VBMI_HI16;
    else
        v->mode = s16 ? AXL_VBMI_S16 : u16 ? AXL_VBMI_U16 : AXL_VBMI_32;
    if (v->mode != AXL_VBMI_HI16S)
        for (uint32_t a = 0; a < 256; a++)
            v->xmap[a] = (uint8_t)a;
    v->vnni = axl_vbmi_refined();
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
            if (v->mode == AXL_VBMI_HI16 || v->mode == AXL_VBMI_HI16S)
                u >>= 16;
            for (int p = 0; p < v->planes; p++)
                row[p * 256 + a] = (uint8_t)(u >> (8 * p));
        }
        if (v->mode == AXL_VBMI_HI16S) /* half planes: bytes 128..191 of plane 0 hold
                                          the row's sign flip, 0x80 or 0, as a vector */
            memset(row + 128, flip[b] ? 0x80 : 0, 64);
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
 * added to ACC[4 * NV] (float or int32 adds).
 *
 * Two orders of positions come out of the interleave (vector 4j + q, dword
 * 4L + i, both within the block's 128 positions):
 *   ORDER_A (four planes):  64j + 16L + 4q + i
 *   ORDER_B (two planes):   64j + 16L + 8(q >> 1) + 2i + (q & 1)
 * In ORDER_B the 16-bit products (words, after one byte interleave) are
 * widened in place: the even word of each dword by a shift left (float:
 * the value's high half), or a sign/zero extension; the odd word by a mask
 * or a shift right.  That replaces four word interleaves (permute port)
 * per 64 products by shifts and logic on the other port (BENCHMARKS.md,
 * roofline).  With VNNI, int16 products are widened and added in one
 * VPDPWSSD against (1, 0) or (0, 1) word pairs: x * 1 + y * 0 added to the
 * int32 lane with wrap-around, the same bits as the int32 add. */
VBMI_INLINE void step(const uint8_t *row, const uint8_t *x, __m512i *acc, const int nv,
                      const int mode, const int isint, const int vnni)
{
    const __m512i zero = _mm512_setzero_si512();
    const __m512i hi_half = _mm512_set1_epi32((int)0xFFFF0000u);
    const __m512i lo_half = _mm512_set1_epi32(0xFFFF);
    const __m512i sel_even = _mm512_set1_epi32(1), sel_odd = _mm512_set1_epi32(1 << 16);
    __m512i p0 = _mm512_load_si512(row), p1 = _mm512_load_si512(row + 64);
    __m512i q0 = _mm512_load_si512(row + 256), q1 = _mm512_load_si512(row + 320);
    __m512i p2 = zero, p3 = zero, q2 = zero, q3 = zero, flipv = zero;
    if (mode == AXL_VBMI_HI16S) {
        flipv = _mm512_load_si512(row + 128);
    } else {
        p2 = _mm512_load_si512(row + 128);
        p3 = _mm512_load_si512(row + 192);
        q2 = _mm512_load_si512(row + 384);
        q3 = _mm512_load_si512(row + 448);
    }
    for (int j = 0; j < nv; j++) {
        __m512i idx = _mm512_loadu_si512(x + 64 * j);
        __m512i b0, b1;
        __mmask64 hi = 0;
        if (mode == AXL_VBMI_HI16S) {
            /* entries 0..127 (VPERMI2B ignores bit 7 of the index), then the
             * sign of the product flipped where the code has bit 7 set and the
             * row flips: b1 ^ (idx & flip) */
            b0 = _mm512_permutex2var_epi8(p0, idx, p1);
            b1 = _mm512_ternarylogic_epi32(_mm512_permutex2var_epi8(q0, idx, q1), idx, flipv,
                                           0x78);
        } else {
            hi = _mm512_movepi8_mask(idx);
            b0 = lut256(p0, p1, p2, p3, idx, hi);
            b1 = lut256(q0, q1, q2, q3, idx, hi);
        }
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
        } else if (mode == AXL_VBMI_HI16 || mode == AXL_VBMI_HI16S) {
            d[0] = _mm512_slli_epi32(w0, 16);
            d[1] = _mm512_and_si512(w0, hi_half);
            d[2] = _mm512_slli_epi32(w1, 16);
            d[3] = _mm512_and_si512(w1, hi_half);
        } else if (mode == AXL_VBMI_S16 && vnni) {
            acc[4 * j + 0] = _mm512_dpwssd_epi32(acc[4 * j + 0], w0, sel_even);
            acc[4 * j + 1] = _mm512_dpwssd_epi32(acc[4 * j + 1], w0, sel_odd);
            acc[4 * j + 2] = _mm512_dpwssd_epi32(acc[4 * j + 2], w1, sel_even);
            acc[4 * j + 3] = _mm512_dpwssd_epi32(acc[4 * j + 3], w1, sel_odd);
            continue;
        } else if (mode == AXL_VBMI_S16) {
            d[0] = _mm512_srai_epi32(_mm512_slli_epi32(w0, 16), 16);
            d[1] = _mm512_srai_epi32(w0, 16);
            d[2] = _mm512_srai_epi32(_mm512_slli_epi32(w1, 16), 16);
            d[3] = _mm512_srai_epi32(w1, 16);
        } else { /* AXL_VBMI_U16 */
            d[0] = _mm512_and_si512(w0, lo_half);
            d[1] = _mm512_srli_epi32(w0, 16);
            d[2] = _mm512_and_si512(w1, lo_half);
            d[3] = _mm512_srli_epi32(w1, 16);
        }
        for (int q = 0; q < 4; q++)
            acc[4 * j + q] = isint ? _mm512_add_epi32(acc[4 * j + q], d[q])
                                   : _mm512_castps_si512(_mm512_add_ps(
                                         _mm512_castsi512_ps(acc[4 * j + q]), _mm512_castsi512_ps(d[q])));
    }
}

/* The accumulators of a task back to position order (step: ORDER_A or
 * ORDER_B), into out[n * 128 + i] (out[i * 16 + n] where a->pos_major). */
VBMI_INLINE void put_out(const struct axl_vbmi_block *a, __m512i (*acc)[8], const int nv,
                         const int order_b)
{
    for (int64_t n = 0; n < a->nn; n++) {
        uint32_t tmp[8][16];
        for (int v = 0; v < 4 * nv; v++)
            _mm512_storeu_si512(tmp[v], acc[n][v]);
        uint32_t *o = a->pos_major ? a->out + n : a->out + n * 128;
        const int64_t ps = a->pos_major ? AXL_VBMI_NG : 1;
        for (int j = 0; j < nv; j++)
            for (int q = 0; q < 4; q++)
                for (int l = 0; l < 4; l++)
                    for (int i = 0; i < 4; i++)
                        o[ps * (64 * j + 16 * l +
                                (order_b ? 8 * (q >> 1) + 2 * i + (q & 1) : 4 * q + i))] =
                            tmp[4 * j + q][4 * l + i];
    }
}

/* One group of channels over one block: accumulators of NG channels x NV
 * vectors kept between tiles of KT reductions (the byte tile of the block
 * stays in L1 while the channels of the group consume it). */
VBMI_INLINE void block(const struct axl_vbmi_block *a, const int nv, const int mode,
                       const int isint, const int vnni)
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
                step(a->rows + (size_t)w[k] * a->stride, a->x + k * a->xs, r, nv, mode, isint,
                     vnni);
            for (int v = 0; v < 4 * nv; v++)
                acc[n][v] = r[v];
        }
    }
    put_out(a, acc, nv, mode != AXL_VBMI_32);
}

/* A block-scaled task: each block's sums from zero, then scaled into the
 * totals (cpu/bscale.h), so that the sums never leave the registers. */
VBMI_INLINE void block_scaled(const struct axl_vbmi_block *a, const int nv, const int mode)
{
    const struct axl_bscale *bs = a->bs;
    const int order_b = mode != AXL_VBMI_32;
    __m512i acc[AXL_VBMI_NG][8];
    for (int64_t n = 0; n < a->nn; n++)
        for (int v = 0; v < 4 * nv; v++)
            acc[n][v] = _mm512_setzero_si512();
    struct axl_bscale_blk blk;
    for (int64_t b = 0; b < bs->nb; b++) {
        axl_bscale_block(bs, b, order_b, &blk);
        const int64_t k0 = b * bs->size, k1 = k0 + bs->size;
        for (int64_t n = 0; n < a->nn; n++) {
            __m512i r[8];
            __m512 s[8];
            for (int v = 0; v < 4 * nv; v++)
                r[v] = _mm512_setzero_si512();
            const uint32_t *w = a->w + n * a->k;
            for (int64_t k = k0; k < k1; k++)
                step(a->rows + (size_t)w[k] * a->stride, a->x + k * a->xs, r, nv, mode, 0, 0);
            for (int v = 0; v < 4 * nv; v++)
                s[v] = _mm512_castsi512_ps(r[v]);
            axl_bscale_add(bs, &blk, bs->ws[n * bs->nb + b], 0, s, acc[n], 4 * nv);
        }
    }
    put_out(a, acc, nv, order_b);
}

#define VARIANT(NAME, NV, MODE, ISINT)                                                            \
    VBMI static void NAME(const struct axl_vbmi_block *a) { block(a, NV, MODE, ISINT, 0); }
VARIANT(f_hi16_1, 1, AXL_VBMI_HI16, 0)
VARIANT(f_hi16_2, 2, AXL_VBMI_HI16, 0)
VARIANT(f_hi16s_1, 1, AXL_VBMI_HI16S, 0)
VARIANT(f_hi16s_2, 2, AXL_VBMI_HI16S, 0)
VARIANT(f_32_1, 1, AXL_VBMI_32, 0)
VARIANT(f_32_2, 2, AXL_VBMI_32, 0)
VARIANT(i_s16_1, 1, AXL_VBMI_S16, 1)
VARIANT(i_s16_2, 2, AXL_VBMI_S16, 1)
VARIANT(i_u16_1, 1, AXL_VBMI_U16, 1)
VARIANT(i_u16_2, 2, AXL_VBMI_U16, 1)
VARIANT(i_32_1, 1, AXL_VBMI_32, 1)
VARIANT(i_32_2, 2, AXL_VBMI_32, 1)
#define VARIANT_VNNI(NAME, NV)                                                                    \
    VBMI static void NAME(const struct axl_vbmi_block *a)                                    \
    {                                                                                             \
        block(a, NV, AXL_VBMI_S16, 1, 1);                                                         \
    }
VARIANT_VNNI(i_s16v_1, 1)
VARIANT_VNNI(i_s16v_2, 2)
#define VARIANT_SCALED(NAME, NV, MODE)                                                            \
    VBMI static void NAME(const struct axl_vbmi_block *a) { block_scaled(a, NV, MODE); }
VARIANT_SCALED(s_hi16_1, 1, AXL_VBMI_HI16)
VARIANT_SCALED(s_hi16_2, 2, AXL_VBMI_HI16)
VARIANT_SCALED(s_hi16s_1, 1, AXL_VBMI_HI16S)
VARIANT_SCALED(s_hi16s_2, 2, AXL_VBMI_HI16S)
VARIANT_SCALED(s_32_1, 1, AXL_VBMI_32)
VARIANT_SCALED(s_32_2, 2, AXL_VBMI_32)

void axl_vbmi_run_scaled(const struct axl_vbmi *v, const struct axl_vbmi_block *a)
{
    const int two = a->len > 64;
    switch (v->mode) {
    case AXL_VBMI_HI16:
        two ? s_hi16_2(a) : s_hi16_1(a);
        break;
    case AXL_VBMI_HI16S:
        two ? s_hi16s_2(a) : s_hi16s_1(a);
        break;
    default: /* float tables: AXL_VBMI_32 */
        two ? s_32_2(a) : s_32_1(a);
        break;
    }
}

void axl_vbmi_run(const struct axl_vbmi *v, int isint, const struct axl_vbmi_block *a)
{
    const int two = a->len > 64;
    switch (v->mode) {
    case AXL_VBMI_HI16:
        two ? f_hi16_2(a) : f_hi16_1(a);
        break;
    case AXL_VBMI_HI16S:
        two ? f_hi16s_2(a) : f_hi16s_1(a);
        break;
    case AXL_VBMI_S16:
        if (v->vnni)
            two ? i_s16v_2(a) : i_s16v_1(a);
        else
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

void axl_vbmi_run_scaled(const struct axl_vbmi *v, const struct axl_vbmi_block *a)
{
    (void)v;
    (void)a; /* never called on such builds: the planes are never prepared */
}

#endif
