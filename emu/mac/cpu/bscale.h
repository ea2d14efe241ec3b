/* The block scaling of block-scaled layers inside the register kernels
 * (cpu/vbmi.c, cpu/small.c): the kernels sum one block of `size`
 * reductions into float32 registers, and this scales the block's sums by
 * the two block scales and adds them into the running totals, as
 * axl_block_dot_ref does (include/axlut/block.h):
 *
 *   MX (E8M0)  t = ldexp(s, xs + ws - 254): one VSCALEFPS, the exact
 *              product rounded once, as ldexpf; a NaN scale code (255)
 *              gives NaN
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

/* One block's activation scales in a kernel's order of positions: for
 * E8M0, the float32 value code - 254 (so that code 255, NaN, reads 1.0)
 * and whether any code is 255; for E4M3, the scale values. */
struct axl_bscale_blk {
    _Alignas(64) float c[128];
    int nan;
};

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define AXL_BSCALE_INLINE __attribute__((target("avx512f"), always_inline)) static inline

/* The 4 x 4 transpose of 128-bit quarters: out q, quarter L = in L, quarter q. */
AXL_BSCALE_INLINE void axl_bscale_t4(const __m512i in[4], __m512i out[4])
{
    __m512i t0 = _mm512_shuffle_i32x4(in[0], in[1], 0x44), t1 = _mm512_shuffle_i32x4(in[0], in[1], 0xEE);
    __m512i t2 = _mm512_shuffle_i32x4(in[2], in[3], 0x44), t3 = _mm512_shuffle_i32x4(in[2], in[3], 0xEE);
    out[0] = _mm512_shuffle_i32x4(t0, t2, 0x88);
    out[1] = _mm512_shuffle_i32x4(t0, t2, 0xDD);
    out[2] = _mm512_shuffle_i32x4(t1, t3, 0x88);
    out[3] = _mm512_shuffle_i32x4(t1, t3, 0xDD);
}

/* Block B's activation scales into BLK, in the kernel's order: vector
 * 4j + q, dword 4L + i is position 64j + 16L + p(q, i) with p = 4q + i
 * (ORDER_A) or 8(q >> 1) + 2i + (q & 1) (ORDER_B): within each 64
 * positions a permute of every 16 (ORDER_B only) and a 4 x 4 transpose of
 * quarters, instead of 128 scalar moves per block. */
AXL_BSCALE_INLINE void axl_bscale_block(const struct axl_bscale *bs, int64_t b, int order_b,
                                        struct axl_bscale_blk *blk)
{
    const uint32_t *xs = bs->xs + b * bs->xss;
    const __m512i pb = _mm512_set_epi32(15, 13, 11, 9, 14, 12, 10, 8, 7, 5, 3, 1, 6, 4, 2, 0);
    const __m512i bias = _mm512_set1_epi32(254), nan_code = _mm512_set1_epi32(255);
    __mmask16 nan = 0;
    for (int j = 0; j < 2; j++) {
        __m512i in[4], out[4];
        for (int l = 0; l < 4; l++) {
            in[l] = _mm512_loadu_si512(xs + 64 * j + 16 * l);
            if (order_b)
                in[l] = _mm512_permutexvar_epi32(pb, in[l]);
        }
        axl_bscale_t4(in, out);
        for (int q = 0; q < 4; q++) {
            __m512 v;
            if (bs->nvfp) {
                v = _mm512_i32gather_ps(out[q], bs->svalue, 4);
            } else {
                nan |= _mm512_cmpeq_epi32_mask(out[q], nan_code);
                v = _mm512_cvtepi32_ps(_mm512_sub_epi32(out[q], bias));
            }
            _mm512_store_ps(blk->c + 16 * (4 * j + q), v);
        }
    }
    blk->nan = nan != 0;
}

/* tot[v] += scaled sum[v] for NVEC vectors of 16 positions; WS the weight
 * scale code of this channel and block.  MX: the sums are the block sums
 * times 2^-OFF (OFF = 0 where they are the sums themselves), and VSCALEFPS
 * multiplies by 2^(xs + ws - 254 + OFF) with one rounding of the exact
 * product, which is ldexpf's result in every range (normal, subnormal,
 * underflow to zero, overflow to inf; no DAZ in our MXCSR), so there is no
 * fast and slow range to tell apart (test_block_fused: scalef_is_ldexpf). */
AXL_BSCALE_INLINE void axl_bscale_add(const struct axl_bscale *bs, const struct axl_bscale_blk *blk,
                                      uint32_t ws, int off, const __m512 *sum, __m512i *tot,
                                      const int nvec)
{
    if (bs->nvfp) {
        const __m512 sw = _mm512_set1_ps(bs->svalue[ws]);
        for (int v = 0; v < nvec; v++) {
            __m512 sa = _mm512_load_ps(blk->c + 16 * v);
            __m512 t = _mm512_mul_ps(_mm512_mul_ps(sum[v], sa), sw);
            tot[v] = _mm512_castps_si512(_mm512_add_ps(_mm512_castsi512_ps(tot[v]), t));
        }
        return;
    }
    const __m512 ew = _mm512_set1_ps((float)((int)ws + off));
    if (ws != 255u && !blk->nan) {
        for (int v = 0; v < nvec; v++) {
            __m512 t = _mm512_scalef_ps(sum[v], _mm512_add_ps(_mm512_load_ps(blk->c + 16 * v), ew));
            tot[v] = _mm512_castps_si512(_mm512_add_ps(_mm512_castsi512_ps(tot[v]), t));
        }
        return;
    }
    const __m512 one = _mm512_set1_ps(1.0f); /* code 255 */
    const __m512 nan = _mm512_castsi512_ps(_mm512_set1_epi32(0x7FC00000));
    for (int v = 0; v < nvec; v++) {
        __m512 e = _mm512_load_ps(blk->c + 16 * v);
        __m512 t = _mm512_scalef_ps(sum[v], _mm512_add_ps(e, ew));
        __mmask16 isnan = ws == 255u ? (__mmask16)0xFFFF : _mm512_cmp_ps_mask(e, one, _CMP_EQ_OQ);
        t = _mm512_mask_blend_ps(isnan, t, nan);
        tot[v] = _mm512_castps_si512(_mm512_add_ps(_mm512_castsi512_ps(tot[v]), t));
    }
}
#endif

#endif
