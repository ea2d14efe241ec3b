/* AVX2 building blocks of the floating format layer: fvec.h's blocks
 * (unpack, nearest-even round-and-pack on 32- and 64-bit significands, the
 * multipliers' split, the adders' align and join) for 8 lanes of 32 bits,
 * for CPUs without AVX-512, plus the leading-zero count AVX2 lacks.
 *
 * Why a second file and not one width-generic one: AVX-512 carries the
 * classes and selects in mask registers (__mmask16, masked moves), AVX2 in
 * vectors of all-ones lanes (blendv); a formulation generic over both
 * would put an abstraction between every compare and its use, and the
 * AVX-512 blocks are the faster path that must not pay for it.  What is
 * width-free is shared: the format's constants (struct axl_fvec_fmt,
 * axl_fvec_fmt_init) and the reference each block is tested against
 * (test_fvec runs both widths through the same cases).  The statements
 * below follow fvec.h's one for one, so that a fix to one shows where the
 * other needs it.
 *
 * Lanes: codes, signs (0/1), exponents k and significands of up to 32
 * bits in one __m256i of 8 x 32 bits; 64-bit significands as two __m256i
 * of 4 x 64 bits, lanes 0-3 and 4-7.  A class or condition is a __m256i
 * whose lanes are all ones where it holds and 0 elsewhere. */
#ifndef AXLUT_TABLES_DESIGNS_FVEC_AVX2_H
#define AXLUT_TABLES_DESIGNS_FVEC_AVX2_H

#include "designs/fvec.h"

#ifdef AXL_FVEC_HAVE
/* the AVX2 instantiation's BATCH_TARGET (batch_isas.h): an always-inline
 * block must not ask for more than the form it is inlined into */
#define AXL_FV8_TARGET __attribute__((target("avx2,bmi2,lzcnt")))
#define AXL_FV8 AXL_FV8_TARGET __attribute__((always_inline)) static inline

AXL_FV8 __m256i axl_fv8_set(int32_t x) { return _mm256_set1_epi32(x); }
AXL_FV8 __m256i axl_fv8_not(__m256i m) { return _mm256_xor_si256(m, _mm256_set1_epi32(-1)); }
/* m ? a : b, lane by lane */
AXL_FV8 __m256i axl_fv8_sel(__m256i m, __m256i a, __m256i b) { return _mm256_blendv_epi8(b, a, m); }
AXL_FV8 __m256i axl_fv8_eq(__m256i a, __m256i b) { return _mm256_cmpeq_epi32(a, b); }
AXL_FV8 __m256i axl_fv8_gt(__m256i a, __m256i b) { return _mm256_cmpgt_epi32(a, b); }
/* unsigned a >= b and a > b (AVX2 compares only signed) */
AXL_FV8 __m256i axl_fv8_geu(__m256i a, __m256i b) { return _mm256_cmpeq_epi32(_mm256_max_epu32(a, b), a); }
AXL_FV8 __m256i axl_fv8_gtu(__m256i a, __m256i b) { return axl_fv8_not(axl_fv8_geu(b, a)); }
/* (a & b) != 0 */
AXL_FV8 __m256i axl_fv8_test(__m256i a, __m256i b)
{
    return axl_fv8_not(_mm256_cmpeq_epi32(_mm256_and_si256(a, b), _mm256_setzero_si256()));
}
AXL_FV8 __m256i axl_fv8_test64(__m256i a, __m256i b)
{
    return axl_fv8_not(_mm256_cmpeq_epi64(_mm256_and_si256(a, b), _mm256_setzero_si256()));
}
/* max(a, 0) on 64-bit lanes (no vpmaxsq before AVX-512) */
AXL_FV8 __m256i axl_fv8_pos64(__m256i a) { return _mm256_and_si256(a, _mm256_cmpgt_epi64(a, _mm256_setzero_si256())); }

/* Leading zeros of 8 x 32 bits (32 for 0), as vplzcntd gives them: the
 * exponent of the lane's conversion to float.  Conversion rounds, and a
 * run of ones at the top could round up into the next power of two; v
 * keeps only the top bit of each run of ones (v & ~(v >> 1)), so no 24-bit
 * window of it is all ones and the exponent is exact.  The conversion is
 * signed: it takes x >> 1, which is below 2^31, and adds the 1 back. */
AXL_FV8 __m256i axl_fv8_lzcnt32(__m256i x)
{
    __m256i v = _mm256_srli_epi32(x, 1);
    v = _mm256_andnot_si256(_mm256_srli_epi32(v, 1), v);
    __m256i e = _mm256_srli_epi32(_mm256_castps_si256(_mm256_cvtepi32_ps(v)), 23);
    /* e - 126 is x's top bit for x >= 2; x = 1 and x = 0 give v = 0, e = 0,
     * and the minimum makes 31, to which x = 0 adds one */
    __m256i lz = _mm256_min_epu32(_mm256_sub_epi32(axl_fv8_set(157), e), axl_fv8_set(31));
    return _mm256_sub_epi32(lz, _mm256_cmpeq_epi32(x, _mm256_setzero_si256()));
}

/* ... of 4 x 64 bits (64 for 0) from the two 32-bit halves' counts: the
 * low half's counts only where the high half is 0. */
AXL_FV8 __m256i axl_fv8_lzcnt64(__m256i x)
{
    __m256i t = axl_fv8_lzcnt32(x);
    __m256i hi = _mm256_srli_epi64(t, 32), lo = _mm256_and_si256(t, _mm256_set1_epi64x(0xFFFFFFFF));
    __m256i hz = _mm256_cmpeq_epi64(hi, _mm256_set1_epi64x(32));
    return _mm256_add_epi64(hi, _mm256_and_si256(hz, lo));
}

/* The low 32 bits of 4 + 4 lanes of 64 bits as 8 lanes of 32 (lo: lanes 0-3). */
AXL_FV8 __m256i axl_fv8_join64(__m256i lo, __m256i hi)
{
    const __m256i even = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
    return _mm256_blend_epi32(_mm256_permutevar8x32_epi32(lo, even), _mm256_permutevar8x32_epi32(hi, even), 0xF0);
}
/* 8 lanes of 32 bits into 4 + 4 of 64: zero-extended (u) or sign-extended
 * (s: a condition's all-ones lanes stay all ones) */
AXL_FV8 __m256i axl_fv8_lo64u(__m256i v) { return _mm256_cvtepu32_epi64(_mm256_castsi256_si128(v)); }
AXL_FV8 __m256i axl_fv8_hi64u(__m256i v) { return _mm256_cvtepu32_epi64(_mm256_extracti128_si256(v, 1)); }
AXL_FV8 __m256i axl_fv8_lo64s(__m256i v) { return _mm256_cvtepi32_epi64(_mm256_castsi256_si128(v)); }
AXL_FV8 __m256i axl_fv8_hi64s(__m256i v) { return _mm256_cvtepi32_epi64(_mm256_extracti128_si256(v, 1)); }

/* axl_float_unpack of 8 codes: fvec.h's axl_fvec_unpack. */
struct axl_fv8_unpacked {
    __m256i sign, sig, k;
    __m256i nan, inf, zero;
};

AXL_FV8 struct axl_fv8_unpacked axl_fv8_unpack(const struct axl_fvec_fmt *v, __m256i code)
{
    struct axl_fv8_unpacked u;
    const __m256i zero = _mm256_setzero_si256();
    __m256i mag = _mm256_and_si256(code, axl_fv8_set((int)v->mag_mask));
    __m256i te = _mm256_srlv_epi32(mag, axl_fv8_set(v->m));
    __m256i frac = _mm256_and_si256(mag, axl_fv8_set((int)v->frac_mask));
    u.sign = _mm256_and_si256(_mm256_srlv_epi32(code, axl_fv8_set(v->em)), axl_fv8_set(1));
    u.nan = u.inf = zero;
    switch (v->special) {
    case AXL_SPECIAL_IEEE:
        u.nan = _mm256_andnot_si256(axl_fv8_eq(frac, zero), axl_fv8_eq(te, axl_fv8_set((int)v->emax)));
        u.inf = axl_fv8_eq(mag, axl_fv8_set((int)(v->emax << v->m)));
        break;
    case AXL_SPECIAL_FN:
        u.nan = axl_fv8_eq(mag, axl_fv8_set((int)v->mag_mask));
        break;
    case AXL_SPECIAL_FNUZ: /* the whole code: the "-0" code, nothing above it */
        u.nan = axl_fv8_eq(code, axl_fv8_set((int)(1u << v->em)));
        break;
    default:
        break;
    }
    __m256i tez = axl_fv8_eq(te, zero);
    __m256i z = axl_fv8_eq(mag, zero);
    if (!v->subnormals)
        z = _mm256_or_si256(z, tez);
    __m256i nonfin = _mm256_or_si256(u.nan, u.inf);
    u.zero = _mm256_andnot_si256(nonfin, z);
    nonfin = _mm256_or_si256(nonfin, u.zero);
    __m256i sig = _mm256_or_si256(frac, _mm256_andnot_si256(tez, axl_fv8_set((int)(1u << v->m))));
    u.sig = _mm256_andnot_si256(nonfin, sig);
    __m256i k = _mm256_sub_epi32(_mm256_max_epi32(te, axl_fv8_set(1)), axl_fv8_set(v->bias + v->m));
    u.k = _mm256_andnot_si256(nonfin, k);
    return u;
}

/* fvec.h's axl_fvec_pack_tail: axl_format_pack from `qi += up` on. */
AXL_FV8 __m256i axl_fv8_pack_tail(const struct axl_fvec_fmt *v, __m256i sign, __m256i qi, __m256i up,
                                  __m256i te, __m256i z)
{
    const __m256i zero = _mm256_setzero_si256();
    qi = _mm256_sub_epi32(qi, up); /* up's lanes are -1 */
    __m256i normal = axl_fv8_gt(te, zero);
    __m256i hi = _mm256_sllv_epi32(_mm256_sub_epi32(te, axl_fv8_set(1)), axl_fv8_set(v->m));
    __m256i mag = _mm256_add_epi32(qi, _mm256_and_si256(normal, hi));
    __m256i ovf = _mm256_or_si256(axl_fv8_gt(te, axl_fv8_set(v->maxte)), axl_fv8_gtu(mag, axl_fv8_set((int)v->maxmag)));
    ovf = _mm256_andnot_si256(z, ovf);
    __m256i drop = z;
    if (!v->subnormals) /* flush a rounded subnormal */
        drop = _mm256_or_si256(drop, axl_fv8_not(axl_fv8_geu(mag, axl_fv8_set((int)(1u << v->m)))));
    mag = _mm256_andnot_si256(drop, mag);
    __m256i sbit = _mm256_sllv_epi32(sign, axl_fv8_set(v->em));
    __m256i res = _mm256_or_si256(sbit, mag);
    if (v->special == AXL_SPECIAL_FNUZ) /* one unsigned zero */
        res = _mm256_andnot_si256(axl_fv8_eq(mag, zero), res);
    __m256i ovr = v->ovf_signed ? _mm256_or_si256(sbit, axl_fv8_set((int)v->ovf_mag)) : axl_fv8_set((int)v->nan);
    return axl_fv8_sel(ovf, ovr, res);
}

/* fvec.h's axl_fvec_pack_exps: te and shift from the top bit msb. */
AXL_FV8 void axl_fv8_pack_exps(const struct axl_fvec_fmt *v, __m256i msb, __m256i k, __m256i *te, __m256i *shift)
{
    __m256i ue = _mm256_add_epi32(msb, k);
    *te = _mm256_add_epi32(ue, axl_fv8_set(v->bias));
    __m256i normal = axl_fv8_gt(*te, _mm256_setzero_si256());
    __m256i q = axl_fv8_sel(normal, _mm256_sub_epi32(ue, axl_fv8_set(v->m)), axl_fv8_set(1 - v->bias - v->m));
    *shift = _mm256_sub_epi32(q, k);
}

/* Ties to even: with no mantissa bits a normal's code is its exponent. */
AXL_FV8 __m256i axl_fv8_odd(const struct axl_fvec_fmt *v, __m256i qi, __m256i te)
{
    if (v->m == 0)
        qi = axl_fv8_sel(axl_fv8_gt(te, _mm256_setzero_si256()), te, qi);
    return axl_fv8_test(qi, axl_fv8_set(1));
}

/* axl_format_pack(f, sign, sig, k, 0, AXL_ROUND_NEAREST_EVEN, 0) for
 * significands of up to 32 bits; AVX2's variable shifts give 0 for counts
 * of 32 or more (a negative count is one), as AVX-512's do. */
AXL_FV8 __m256i axl_fv8_pack32_rne(const struct axl_fvec_fmt *v, __m256i sign, __m256i sig, __m256i k)
{
    const __m256i zero = _mm256_setzero_si256(), one = axl_fv8_set(1);
    __m256i z = axl_fv8_eq(sig, zero);
    __m256i msb = _mm256_sub_epi32(axl_fv8_set(31), axl_fv8_lzcnt32(sig));
    __m256i te, shift;
    axl_fv8_pack_exps(v, msb, k, &te, &shift);
    __m256i qi = _mm256_srlv_epi32(_mm256_sllv_epi32(sig, _mm256_max_epi32(_mm256_sub_epi32(zero, shift), zero)),
                                   _mm256_max_epi32(shift, zero));
    __m256i rb = axl_fv8_test(_mm256_srlv_epi32(sig, _mm256_sub_epi32(shift, one)), one);
    __m256i below = axl_fv8_test(_mm256_sllv_epi32(sig, _mm256_sub_epi32(axl_fv8_set(33), shift)), axl_fv8_set(-1));
    __m256i up = _mm256_and_si256(rb, _mm256_or_si256(below, axl_fv8_odd(v, qi, te)));
    return axl_fv8_pack_tail(v, sign, qi, up, te, z);
}

/* The same for 64-bit significands, lanes 0-3 in lo and 4-7 in hi. */
AXL_FV8 __m256i axl_fv8_pack64_rne(const struct axl_fvec_fmt *v, __m256i sign, __m256i siglo, __m256i sighi,
                                   __m256i k)
{
    const __m256i zero = _mm256_setzero_si256();
    __m256i z = axl_fv8_join64(_mm256_cmpeq_epi64(siglo, zero), _mm256_cmpeq_epi64(sighi, zero));
    __m256i lz = axl_fv8_join64(axl_fv8_lzcnt64(siglo), axl_fv8_lzcnt64(sighi));
    __m256i msb = _mm256_sub_epi32(axl_fv8_set(63), lz);
    __m256i te, shift;
    axl_fv8_pack_exps(v, msb, k, &te, &shift);
    const __m256i sh[2] = {axl_fv8_lo64s(shift), axl_fv8_hi64s(shift)}, sg[2] = {siglo, sighi};
    const __m256i one = _mm256_set1_epi64x(1);
    __m256i q[2], rb[2], below[2];
    for (int h = 0; h < 2; h++) {
        q[h] = _mm256_srlv_epi64(_mm256_sllv_epi64(sg[h], axl_fv8_pos64(_mm256_sub_epi64(zero, sh[h]))),
                                 axl_fv8_pos64(sh[h]));
        rb[h] = axl_fv8_test64(_mm256_srlv_epi64(sg[h], _mm256_sub_epi64(sh[h], one)), one);
        below[h] = axl_fv8_test64(_mm256_sllv_epi64(sg[h], _mm256_sub_epi64(_mm256_set1_epi64x(65), sh[h])),
                                  _mm256_set1_epi64x(-1));
    }
    /* qi has at most m + 1 <= 24 bits (format.h: the ulp is placed so) */
    __m256i qi = axl_fv8_join64(q[0], q[1]);
    __m256i up = _mm256_and_si256(axl_fv8_join64(rb[0], rb[1]),
                                  _mm256_or_si256(axl_fv8_join64(below[0], below[1]), axl_fv8_odd(v, qi, te)));
    return axl_fv8_pack_tail(v, sign, qi, up, te, z);
}

/* ---- the multipliers' split: fvec.h's axl_fvec_mul_split ---------------- */

struct axl_fv8_mul_parts {
    __m256i sign, sx, sy, k, res;
    __m256i special, fin;
};

AXL_FV8 struct axl_fv8_mul_parts axl_fv8_mul_split(const struct axl_fvec_fmt *fa, const struct axl_fvec_fmt *fb,
                                                   const struct axl_fvec_fmt *fr, __m256i a, __m256i b)
{
    struct axl_fv8_mul_parts r;
    struct axl_fv8_unpacked x = axl_fv8_unpack(fa, a), y = axl_fv8_unpack(fb, b);
    const int m = fa->m > fb->m ? fa->m : fb->m;
    r.sign = _mm256_xor_si256(x.sign, y.sign);
    __m256i inf = _mm256_or_si256(x.inf, y.inf), zero = _mm256_or_si256(x.zero, y.zero);
    __m256i nan = _mm256_or_si256(_mm256_or_si256(x.nan, y.nan), _mm256_and_si256(inf, zero));
    r.special = _mm256_or_si256(nan, inf);
    __m256i infc = axl_fv8_sel(axl_fv8_test(r.sign, r.sign), axl_fv8_set((int)fr->inf[1]), axl_fv8_set((int)fr->inf[0]));
    r.res = axl_fv8_sel(nan, axl_fv8_set((int)fr->nan), infc);
    r.fin = axl_fv8_not(_mm256_or_si256(r.special, zero));
    r.sx = _mm256_and_si256(r.fin, _mm256_sllv_epi32(x.sig, axl_fv8_set(m - fa->m)));
    r.sy = _mm256_and_si256(r.fin, _mm256_sllv_epi32(y.sig, axl_fv8_set(m - fb->m)));
    r.k = _mm256_and_si256(r.fin, _mm256_sub_epi32(_mm256_add_epi32(x.k, y.k), axl_fv8_set(2 * m - fa->m - fb->m)));
    return r;
}

/* ---- the adders' format arithmetic: fvec.h's add split, fix and join ---- */

struct axl_fv8_add_parts {
    __m256i x, y, w, sign, kbig, res;
    __m256i special, sub, zero;
};

AXL_FV8 struct axl_fv8_add_parts axl_fv8_add_split(const struct axl_fvec_fmt *fa, const struct axl_fvec_fmt *fb,
                                                   const struct axl_fvec_fmt *fr, __m256i a, __m256i b)
{
    struct axl_fv8_add_parts r;
    struct axl_fv8_unpacked x = axl_fv8_unpack(fa, a), y = axl_fv8_unpack(fb, b);
    const int m = fa->m > fb->m ? fa->m : fb->m, W = m + 1 + AXL_FPADD_GUARD;
    __m256i sdiff = axl_fv8_not(axl_fv8_eq(x.sign, y.sign));
    __m256i nan = _mm256_or_si256(_mm256_or_si256(x.nan, y.nan), _mm256_and_si256(_mm256_and_si256(x.inf, y.inf), sdiff));
    __m256i inf = _mm256_andnot_si256(nan, _mm256_or_si256(x.inf, y.inf));
    r.special = _mm256_or_si256(nan, inf);
    __m256i isign = axl_fv8_sel(x.inf, x.sign, y.sign);
    __m256i infc = axl_fv8_sel(axl_fv8_test(isign, isign), axl_fv8_set((int)fr->inf[1]), axl_fv8_set((int)fr->inf[0]));
    r.res = axl_fv8_sel(nan, axl_fv8_set((int)fr->nan), infc);
    r.zero = _mm256_andnot_si256(r.special, _mm256_and_si256(x.zero, y.zero));

    __m256i sx = _mm256_sllv_epi32(x.sig, axl_fv8_set(m - fa->m + AXL_FPADD_GUARD));
    __m256i sy = _mm256_sllv_epi32(y.sig, axl_fv8_set(m - fb->m + AXL_FPADD_GUARD));
    __m256i kx = _mm256_sub_epi32(x.k, axl_fv8_set(m - fa->m + AXL_FPADD_GUARD));
    __m256i ky = _mm256_sub_epi32(y.k, axl_fv8_set(m - fb->m + AXL_FPADD_GUARD));
    kx = axl_fv8_sel(x.zero, ky, kx); /* a zero aligns to nothing */
    ky = axl_fv8_sel(y.zero, kx, ky);
    __m256i xbig = _mm256_or_si256(axl_fv8_gt(kx, ky), _mm256_and_si256(axl_fv8_eq(kx, ky), axl_fv8_geu(sx, sy)));
    __m256i big = axl_fv8_sel(xbig, sx, sy), small = axl_fv8_sel(xbig, sy, sx);
    r.kbig = axl_fv8_sel(xbig, kx, ky);
    __m256i ksmall = axl_fv8_sel(xbig, ky, kx);
    r.sign = axl_fv8_sel(xbig, x.sign, y.sign);
    r.sub = sdiff;

    /* fvec.h: shift right by d, the lost bits jammed into the LSB */
    const __m256i one = axl_fv8_set(1);
    __m256i d = _mm256_sub_epi32(r.kbig, ksmall);
    __m256i lost = axl_fv8_test(_mm256_sllv_epi32(small, _mm256_sub_epi32(axl_fv8_set(32), d)), axl_fv8_set(-1));
    __m256i al = _mm256_or_si256(_mm256_srlv_epi32(small, d), _mm256_and_si256(lost, one));
    __m256i far = axl_fv8_gt(d, axl_fv8_set(W + 1));
    al = axl_fv8_sel(far, _mm256_and_si256(axl_fv8_test(small, small), one), al);
    __m256i neg = _mm256_and_si256(_mm256_sub_epi32(_mm256_setzero_si256(), al), axl_fv8_set((int)axl_mask32(W + 1)));
    r.x = big;
    r.y = axl_fv8_sel(r.sub, neg, al);
    r.w = axl_fv8_sel(r.sub, axl_fv8_set(W + 1), axl_fv8_set(W));
    return r;
}

AXL_FV8 __m256i axl_fv8_add_fix(const struct axl_fvec_fmt *fa, const struct axl_fvec_fmt *fb,
                                const struct axl_fv8_add_parts *p, __m256i s, __m256i *sign)
{
    const int m = fa->m > fb->m ? fa->m : fb->m, W = m + 1 + AXL_FPADD_GUARD;
    const __m256i zero = _mm256_setzero_si256(), mw = axl_fv8_set((int)axl_mask32(W + 1));
    s = _mm256_andnot_si256(p->zero, s);
    s = axl_fv8_sel(p->sub, _mm256_and_si256(s, mw), s);
    __m256i negd = _mm256_and_si256(p->sub, axl_fv8_test(s, axl_fv8_set((int)(1u << W))));
    s = axl_fv8_sel(negd, _mm256_and_si256(_mm256_sub_epi32(zero, s), mw), s);
    __m256i sg = _mm256_xor_si256(p->sign, _mm256_and_si256(negd, axl_fv8_set(1)));
    /* an exact zero difference is +0 under nearest-even (fvec.h) */
    *sign = _mm256_andnot_si256(_mm256_and_si256(p->sub, axl_fv8_eq(s, zero)), sg);
    return s;
}

AXL_FV8 __m256i axl_fv8_add_join(const struct axl_fvec_fmt *fa, const struct axl_fvec_fmt *fb,
                                 const struct axl_fvec_fmt *fr, const struct axl_fv8_add_parts *p, __m256i s)
{
    __m256i sign;
    s = axl_fv8_add_fix(fa, fb, p, s, &sign);
    return axl_fv8_sel(p->special, p->res, axl_fv8_pack32_rne(fr, sign, s, p->kbig));
}

/* On sums of 64-bit lanes (lanes 0-3 in lo, 4-7 in hi): an effective
 * addition's lanes keep the core's whole sum (fvec.h). */
AXL_FV8 __m256i axl_fv8_add_join64(const struct axl_fvec_fmt *fa, const struct axl_fvec_fmt *fb,
                                   const struct axl_fvec_fmt *fr, const struct axl_fv8_add_parts *p, __m256i lo,
                                   __m256i hi)
{
    __m256i sign;
    __m256i s = axl_fv8_add_fix(fa, fb, p, axl_fv8_join64(lo, hi), &sign);
    const __m256i fixed = _mm256_or_si256(p->sub, p->zero);
    lo = axl_fv8_sel(axl_fv8_lo64s(fixed), axl_fv8_lo64u(s), lo);
    hi = axl_fv8_sel(axl_fv8_hi64s(fixed), axl_fv8_hi64u(s), hi);
    return axl_fv8_sel(p->special, p->res, axl_fv8_pack64_rne(fr, sign, lo, hi, p->kbig));
}

#endif /* AXL_FVEC_HAVE */
#endif
