/* The block scaling of block-scaled layers inside the register kernels
 * (cpu/vbmi.c, cpu/small.c): the kernels sum one block of `size`
 * reductions into float32 registers, and this scales the block's sums by
 * the two block scales and adds them into the running totals, as
 * axl_block_dot_ref does (include/axlut/block.h):
 *
 *   MX (E8M0)  t = ldexp(s, xs + ws - 254): a multiply by 2^e, one correct
 *              rounding, when 2^e is a normal float32 for every lane of the
 *              block; otherwise in float64, where s * 2^e is exact, and one
 *              rounding back to float32 (the same bits as ldexpf); a NaN
 *              scale code (255) gives NaN
 *   NVFP4      t = (s * sa) * sw, two float32 multiplies (a NaN scale gives
 *              NaN through them)
 *   totals     tot += t, float32, blocks in order.
 *
 * A NaN result's sign and payload may differ from the scalar path's; the
 * callers write every NaN output as the canonical NAN, as the reference
 * does.  The kernels hold sums in their own order of positions (vector 4j +
 * q, dword 4L + i): ORDER_A position 64j + 16L + 4q + i, ORDER_B 64j + 16L +
 * 8(q >> 1) + 2i + (q & 1); bscale_block lays each block's activation
 * scales out in that order once per task, for every channel of it. */
#ifndef AXLUT_EMU_CPU_BSCALE_H
#define AXLUT_EMU_CPU_BSCALE_H

#include <stdint.h>
#include <string.h>

/* The scales of one task (set by cpu/block_cpu.c). */
struct axl_bscale {
    int64_t size, nb;    /* reductions per block, blocks */
    int nvfp;            /* E4M3 scales (NVFP4), else E8M0 */
    const uint32_t *xs;  /* activation scale codes: block b, position i at xs[b * xss + i]
                            (readable for 128 positions) */
    int64_t xss;
    const uint32_t *ws;  /* weight scale codes of the task's channels: ws[n * nb + b] */
    const float *svalue; /* E4M3: the value of each scale code */
};

/* One block's activation scales in a kernel's order of positions: E8M0
 * codes (and their least and largest), or E4M3 values as float bits. */
struct axl_bscale_blk {
    _Alignas(64) uint32_t c[128];
    uint32_t lo, hi;
};

static inline void axl_bscale_block(const struct axl_bscale *bs, int64_t b, int order_b,
                                    struct axl_bscale_blk *blk)
{
    const uint32_t *xs = bs->xs + b * bs->xss;
    uint32_t lo = 255, hi = 0;
    for (int v = 0; v < 8; v++)
        for (int d = 0; d < 16; d++) {
            int q = v % 4, pos = 64 * (v / 4) + 16 * (d / 4) +
                                 (order_b ? 8 * (q >> 1) + 2 * (d % 4) + (q & 1) : 4 * q + d % 4);
            uint32_t c = xs[pos];
            if (bs->nvfp) {
                memcpy(&blk->c[16 * v + d], &bs->svalue[c], sizeof c);
            } else {
                blk->c[16 * v + d] = c;
                lo = c < lo ? c : lo;
                hi = c > hi ? c : hi;
            }
        }
    blk->lo = lo;
    blk->hi = hi;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define AXL_BSCALE_INLINE __attribute__((target("avx512f"), always_inline)) static inline

/* MX out of the fast range: s * 2^e in float64, rounded once to float32. */
AXL_BSCALE_INLINE __m512 axl_bscale_wide(__m512 s, __m512i e)
{
    const __m512i bias = _mm512_set1_epi64(1023);
    __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(s));
    __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s), 1)));
    __m512i elo = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(e));
    __m512i ehi = _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(e, 1));
    __m512d flo = _mm512_castsi512_pd(_mm512_slli_epi64(_mm512_add_epi64(elo, bias), 52));
    __m512d fhi = _mm512_castsi512_pd(_mm512_slli_epi64(_mm512_add_epi64(ehi, bias), 52));
    __m256 rlo = _mm512_cvtpd_ps(_mm512_mul_pd(lo, flo));
    __m256 rhi = _mm512_cvtpd_ps(_mm512_mul_pd(hi, fhi));
    return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(rlo)),
                                               _mm256_castps_pd(rhi), 1));
}

/* tot[v] += scaled sum[v] for NVEC vectors of 16 positions; WS the weight
 * scale code of this channel and block. */
AXL_BSCALE_INLINE void axl_bscale_add(const struct axl_bscale *bs, const struct axl_bscale_blk *blk,
                                      uint32_t ws, const __m512 *sum, __m512i *tot, const int nvec)
{
    if (bs->nvfp) {
        const __m512 sw = _mm512_set1_ps(bs->svalue[ws]);
        for (int v = 0; v < nvec; v++) {
            __m512 sa = _mm512_load_ps((const float *)(const void *)(blk->c + 16 * v));
            __m512 t = _mm512_mul_ps(_mm512_mul_ps(sum[v], sa), sw);
            tot[v] = _mm512_castps_si512(_mm512_add_ps(_mm512_castsi512_ps(tot[v]), t));
        }
        return;
    }
    const int elo = (int)blk->lo + (int)ws - 254, ehi = (int)blk->hi + (int)ws - 254;
    if (ws != 255u && blk->hi != 255u && elo >= -126 && ehi <= 127) {
        /* 2^e = float bits (xs + ws - 127) << 23, a normal number */
        const __m512i wb = _mm512_set1_epi32((int)ws - 127);
        for (int v = 0; v < nvec; v++) {
            __m512i c = _mm512_load_si512(blk->c + 16 * v);
            __m512 f = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(c, wb), 23));
            tot[v] = _mm512_castps_si512(
                _mm512_add_ps(_mm512_castsi512_ps(tot[v]), _mm512_mul_ps(sum[v], f)));
        }
        return;
    }
    const __m512i wb = _mm512_set1_epi32((int)ws - 254), nan_code = _mm512_set1_epi32(255);
    const __m512 nan = _mm512_castsi512_ps(_mm512_set1_epi32(0x7FC00000));
    for (int v = 0; v < nvec; v++) {
        __m512i c = _mm512_load_si512(blk->c + 16 * v);
        __m512 t = axl_bscale_wide(sum[v], _mm512_add_epi32(c, wb));
        __mmask16 isnan = ws == 255u ? (__mmask16)0xFFFF : _mm512_cmpeq_epi32_mask(c, nan_code);
        t = _mm512_mask_blend_ps(isnan, t, nan);
        tot[v] = _mm512_castps_si512(_mm512_add_ps(_mm512_castsi512_ps(tot[v]), t));
    }
}
#endif

#endif
