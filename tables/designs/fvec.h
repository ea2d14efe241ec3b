/* AVX-512 building blocks of the floating format layer: the unpack of 16
 * codes and the round-and-pack of 16 results for a format given at run
 * time, and the format arithmetic every floating multiplier and adder puts
 * around its integer core (fpmul.h: split; fpadd.h: specials, alignment,
 * the complement of an effective subtraction, normalisation).
 *
 * Why by hand: the designs' batch forms are `omp simd` loops around the
 * one scalar definition (batch_impl.h), and GCC 12 vectorises the unpack
 * and the round-and-pack of that definition into about two thirds of the
 * loop's vector instructions (BENCHMARKS.md, issue 13: ~1.0 ns unpack and
 * specials, 1.3 ns round-and-pack, 1.0 ns core per fp32 Mitchell product).
 * These blocks are the same arithmetic written once for 16 lanes, shared by
 * every design; the design's own core stays its `omp simd` loop.
 *
 * Reference: axl_float_unpack (common.h) and axl_format_pack (format.h)
 * remain the definition; every block here gives their bits exactly
 * (test_fvec: all codes of 16-bit formats, random and boundary fp32 codes,
 * random significands and exponents of every class).  Round-and-pack here
 * is nearest-even with no sticky remainder (what the designs pass); the
 * other rounding modes keep the scalar definition.
 *
 * Lanes: codes, signs (0/1), exponents k (int32) and significands of up
 * to 32 bits in one __m512i of 16 x 32 bits; 64-bit significands (fp32
 * products) as two __m512i of 8 x 64 bits, lanes 0-7 and 8-15. */
#ifndef AXLUT_TABLES_DESIGNS_FVEC_H
#define AXLUT_TABLES_DESIGNS_FVEC_H

#if defined(__x86_64__) && defined(__GNUC__)
#define AXL_FVEC_HAVE 1
#include <immintrin.h>

#include "designs/common.h"
#include "designs/fpadd.h"

#define AXL_FVEC_TARGET                                                                           \
    __attribute__((target("avx512f,avx512cd,avx512bw,avx512dq,avx512vl,bmi2,lzcnt")))
#define AXL_FVEC AXL_FVEC_TARGET __attribute__((always_inline)) static inline

/* What the blocks need of a floating format, computed once per batch. */
struct axl_fvec_fmt {
    int32_t m, em, bias, special, subnormals;
    uint32_t mag_mask, frac_mask, emax; /* emax: the all-ones biased exponent */
    uint32_t maxmag, nan, inf[2];       /* inf[s]: axl_float_inf of sign s */
    int32_t maxte;                      /* the largest finite biased exponent */
    uint32_t ovf_mag, ovf_signed;       /* nearest-even overflow: sign | ovf_mag, or nan */
};

static inline void axl_fvec_fmt_init(struct axl_fvec_fmt *v, const struct axl_format *f)
{
    v->m = f->mbits;
    v->em = f->ebits + f->mbits;
    v->bias = f->bias;
    v->special = f->special;
    v->subnormals = f->subnormals;
    v->mag_mask = axl_mask32(v->em);
    v->frac_mask = axl_mask32(v->m);
    v->emax = (1u << f->ebits) - 1u;
    v->maxmag = axl_format_max_mag(f);
    v->maxte = (int32_t)(v->maxmag >> v->m);
    v->nan = axl_format_nan_code(f);
    v->inf[0] = axl_float_inf(f, 0);
    v->inf[1] = axl_float_inf(f, 1);
    /* axl_format_pack's overflow under nearest-even */
    v->ovf_signed = 1;
    v->ovf_mag = 0;
    if (f->overflow == AXL_OVERFLOW_SATURATE || f->special == AXL_SPECIAL_FINITE)
        v->ovf_mag = v->maxmag;
    else if (f->special == AXL_SPECIAL_IEEE)
        v->ovf_mag = v->emax << v->m;
    else
        v->ovf_signed = 0;
}

/* axl_float_unpack of 16 codes: classes as masks (finite = none of them),
 * and for finite lanes sig and k as the scalar gives them (0 elsewhere). */
struct axl_fvec_unpacked {
    __m512i sign, sig, k;
    __mmask16 nan, inf, zero;
};

AXL_FVEC struct axl_fvec_unpacked axl_fvec_unpack(const struct axl_fvec_fmt *v, __m512i code)
{
    struct axl_fvec_unpacked u;
    const __m512i zero = _mm512_setzero_si512();
    __m512i mag = _mm512_and_si512(code, _mm512_set1_epi32((int)v->mag_mask));
    __m512i te = _mm512_srlv_epi32(mag, _mm512_set1_epi32(v->m));
    __m512i frac = _mm512_and_si512(mag, _mm512_set1_epi32((int)v->frac_mask));
    u.sign = _mm512_and_si512(_mm512_srlv_epi32(code, _mm512_set1_epi32(v->em)), _mm512_set1_epi32(1));
    u.nan = u.inf = 0;
    switch (v->special) {
    case AXL_SPECIAL_IEEE:
        u.nan = _mm512_cmpeq_epi32_mask(te, _mm512_set1_epi32((int)v->emax)) &
                _mm512_cmpneq_epi32_mask(frac, zero);
        u.inf = _mm512_cmpeq_epi32_mask(mag, _mm512_set1_epi32((int)(v->emax << v->m)));
        break;
    case AXL_SPECIAL_FN:
        u.nan = _mm512_cmpeq_epi32_mask(mag, _mm512_set1_epi32((int)v->mag_mask));
        break;
    case AXL_SPECIAL_FNUZ: /* the whole code: the "-0" code, nothing above it */
        u.nan = _mm512_cmpeq_epi32_mask(code, _mm512_set1_epi32((int)(1u << v->em)));
        break;
    default:
        break;
    }
    __mmask16 tez = _mm512_cmpeq_epi32_mask(te, zero);
    __mmask16 z = _mm512_cmpeq_epi32_mask(mag, zero) | (v->subnormals ? (__mmask16)0 : tez);
    u.zero = z & (__mmask16)~(u.nan | u.inf);
    __mmask16 fin = (__mmask16)~(u.nan | u.inf | u.zero);
    __m512i sig = _mm512_mask_or_epi32(frac, (__mmask16)~tez, frac, _mm512_set1_epi32((int)(1u << v->m)));
    u.sig = _mm512_maskz_mov_epi32(fin, sig);
    __m512i k = _mm512_sub_epi32(_mm512_max_epi32(te, _mm512_set1_epi32(1)),
                                 _mm512_set1_epi32(v->bias + v->m));
    u.k = _mm512_maskz_mov_epi32(fin, k);
    return u;
}

/* The 32-bit half of round-and-pack, after the significand is rounded to
 * qi (before the increment `up`), te the biased exponent, z the lanes whose
 * significand is 0: axl_format_pack from `qi += up` on. */
AXL_FVEC __m512i axl_fvec_pack_tail(const struct axl_fvec_fmt *v, __m512i sign, __m512i qi,
                                    __mmask16 up, __m512i te, __mmask16 z)
{
    const __m512i zero = _mm512_setzero_si512();
    qi = _mm512_mask_add_epi32(qi, up, qi, _mm512_set1_epi32(1));
    /* ((te - 1) << m) + qi for normals; past the top exponent the overflow
     * test below decides and this sum is not used (it fits 32 bits for
     * every te up to maxte) */
    __mmask16 normal = _mm512_cmpgt_epi32_mask(te, zero);
    __m512i hi = _mm512_sllv_epi32(_mm512_sub_epi32(te, _mm512_set1_epi32(1)), _mm512_set1_epi32(v->m));
    __m512i mag = _mm512_mask_add_epi32(qi, normal, qi, hi);
    __mmask16 ovf = _mm512_cmpgt_epi32_mask(te, _mm512_set1_epi32(v->maxte)) |
                    _mm512_cmpgt_epu32_mask(mag, _mm512_set1_epi32((int)v->maxmag));
    ovf &= (__mmask16)~z;
    __mmask16 keep = (__mmask16)~z;
    if (!v->subnormals) /* flush a rounded subnormal */
        keep &= _mm512_cmpge_epu32_mask(mag, _mm512_set1_epi32((int)(1u << v->m)));
    mag = _mm512_maskz_mov_epi32(keep, mag);
    __m512i sbit = _mm512_sllv_epi32(sign, _mm512_set1_epi32(v->em));
    __m512i res = _mm512_or_si512(sbit, mag);
    if (v->special == AXL_SPECIAL_FNUZ) /* one unsigned zero */
        res = _mm512_maskz_mov_epi32(_mm512_cmpneq_epi32_mask(mag, zero), res);
    __m512i ovr = v->ovf_signed ? _mm512_or_si512(sbit, _mm512_set1_epi32((int)v->ovf_mag))
                                : _mm512_set1_epi32((int)v->nan);
    return _mm512_mask_blend_epi32(ovf, res, ovr);
}

/* The exponents of round-and-pack from the significand's top bit msb:
 * te (biased) and shift, the bits of sig below the result's ulp. */
AXL_FVEC void axl_fvec_pack_exps(const struct axl_fvec_fmt *v, __m512i msb, __m512i k, __m512i *te,
                                 __m512i *shift)
{
    __m512i ue = _mm512_add_epi32(msb, k);
    *te = _mm512_add_epi32(ue, _mm512_set1_epi32(v->bias));
    __mmask16 normal = _mm512_cmpgt_epi32_mask(*te, _mm512_setzero_si512());
    __m512i q = _mm512_mask_sub_epi32(_mm512_set1_epi32(1 - v->bias - v->m), normal, ue,
                                      _mm512_set1_epi32(v->m));
    *shift = _mm512_sub_epi32(q, k);
}

/* Ties to even: with no mantissa bits a normal's code is its exponent. */
AXL_FVEC __mmask16 axl_fvec_odd(const struct axl_fvec_fmt *v, __m512i qi, __m512i te)
{
    __m512i one = _mm512_set1_epi32(1);
    if (v->m == 0)
        qi = _mm512_mask_mov_epi32(qi, _mm512_cmpgt_epi32_mask(te, _mm512_setzero_si512()), te);
    return _mm512_test_epi32_mask(qi, one);
}

/* axl_format_pack(f, sign, sig, k, 0, AXL_ROUND_NEAREST_EVEN, 0) for
 * significands of up to 32 bits.  Variable shifts by 32 or more give 0,
 * as the scalar's cases past the significand's width do. */
AXL_FVEC __m512i axl_fvec_pack32_rne(const struct axl_fvec_fmt *v, __m512i sign, __m512i sig, __m512i k)
{
    const __m512i zero = _mm512_setzero_si512();
    __mmask16 z = _mm512_cmpeq_epi32_mask(sig, zero);
    __m512i msb = _mm512_sub_epi32(_mm512_set1_epi32(31), _mm512_lzcnt_epi32(sig));
    __m512i te, shift;
    axl_fvec_pack_exps(v, msb, k, &te, &shift);
    /* shift <= 0: sig << -shift (exact); > 0: sig >> shift and round */
    __m512i qi = _mm512_srlv_epi32(_mm512_sllv_epi32(sig, _mm512_max_epi32(_mm512_sub_epi32(zero, shift), zero)),
                                   _mm512_max_epi32(shift, zero));
    /* a count below 0 is a huge unsigned count: 0, as round_bit and below
     * are where shift <= 0; below past 32 bits only matters with round_bit */
    __m512i one = _mm512_set1_epi32(1);
    __mmask16 rb = _mm512_test_epi32_mask(_mm512_srlv_epi32(sig, _mm512_sub_epi32(shift, one)), one);
    __mmask16 below = _mm512_test_epi32_mask(_mm512_sllv_epi32(sig, _mm512_sub_epi32(_mm512_set1_epi32(33), shift)),
                                             _mm512_set1_epi32(-1));
    __mmask16 up = rb & (below | axl_fvec_odd(v, qi, te));
    return axl_fvec_pack_tail(v, sign, qi, up, te, z);
}

/* The same for 64-bit significands, lanes 0-7 in lo and 8-15 in hi. */
AXL_FVEC __m512i axl_fvec_join64(__m512i lo, __m512i hi)
{
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi64_epi32(lo)), _mm512_cvtepi64_epi32(hi), 1);
}

AXL_FVEC __m512i axl_fvec_pack64_rne(const struct axl_fvec_fmt *v, __m512i sign, __m512i siglo,
                                     __m512i sighi, __m512i k)
{
    const __m512i zero = _mm512_setzero_si512();
    __mmask16 z = (__mmask16)(_mm512_cmpeq_epi64_mask(siglo, zero) |
                              ((unsigned)_mm512_cmpeq_epi64_mask(sighi, zero) << 8));
    __m512i lz = axl_fvec_join64(_mm512_lzcnt_epi64(siglo), _mm512_lzcnt_epi64(sighi));
    __m512i msb = _mm512_sub_epi32(_mm512_set1_epi32(63), lz);
    __m512i te, shift;
    axl_fvec_pack_exps(v, msb, k, &te, &shift);
    __m512i sh[2] = {_mm512_cvtepi32_epi64(_mm512_castsi512_si256(shift)),
                     _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(shift, 1))};
    __m512i sg[2] = {siglo, sighi}, q[2];
    unsigned rb = 0, below = 0;
    const __m512i one = _mm512_set1_epi64(1);
    for (int h = 0; h < 2; h++) {
        q[h] = _mm512_srlv_epi64(_mm512_sllv_epi64(sg[h], _mm512_max_epi64(_mm512_sub_epi64(zero, sh[h]), zero)),
                                 _mm512_max_epi64(sh[h], zero));
        rb |= (unsigned)_mm512_test_epi64_mask(_mm512_srlv_epi64(sg[h], _mm512_sub_epi64(sh[h], one)), one)
              << (8 * h);
        below |= (unsigned)_mm512_test_epi64_mask(
                     _mm512_sllv_epi64(sg[h], _mm512_sub_epi64(_mm512_set1_epi64(65), sh[h])),
                     _mm512_set1_epi64(-1))
                 << (8 * h);
    }
    /* qi has at most m + 1 <= 24 bits (format.h: the ulp is placed so) */
    __m512i qi = axl_fvec_join64(q[0], q[1]);
    __mmask16 up = (__mmask16)rb & ((__mmask16)below | axl_fvec_odd(v, qi, te));
    return axl_fvec_pack_tail(v, sign, qi, up, te, z);
}

/* ---- the multipliers' split (fpmul.h: axl_fpmul_split) ----------------- */

/* The significands of the finite lanes widened to m + 1 bits (m the wider
 * operand mantissa), k the product's exponent; `special` lanes take `res`
 * (NaN, infinity); the others, zero lanes among them, go through the core
 * and pack, a zero lane with a significand product forced to 0. */
struct axl_fvec_mul_parts {
    __m512i sign, sx, sy, k, res;
    __mmask16 special, fin;
};

AXL_FVEC struct axl_fvec_mul_parts axl_fvec_mul_split(const struct axl_fvec_fmt *fa,
                                                      const struct axl_fvec_fmt *fb,
                                                      const struct axl_fvec_fmt *fr, __m512i a,
                                                      __m512i b)
{
    struct axl_fvec_mul_parts r;
    struct axl_fvec_unpacked x = axl_fvec_unpack(fa, a), y = axl_fvec_unpack(fb, b);
    const int m = fa->m > fb->m ? fa->m : fb->m;
    r.sign = _mm512_xor_si512(x.sign, y.sign);
    __mmask16 inf = x.inf | y.inf, zero = x.zero | y.zero;
    __mmask16 nan = x.nan | y.nan | (inf & zero);
    r.special = nan | inf;
    __m512i infc = _mm512_mask_mov_epi32(_mm512_set1_epi32((int)fr->inf[0]),
                                         _mm512_test_epi32_mask(r.sign, r.sign),
                                         _mm512_set1_epi32((int)fr->inf[1]));
    r.res = _mm512_mask_mov_epi32(infc, nan, _mm512_set1_epi32((int)fr->nan));
    r.fin = (__mmask16)~(r.special | zero);
    r.sx = _mm512_maskz_mov_epi32(r.fin, _mm512_sllv_epi32(x.sig, _mm512_set1_epi32(m - fa->m)));
    r.sy = _mm512_maskz_mov_epi32(r.fin, _mm512_sllv_epi32(y.sig, _mm512_set1_epi32(m - fb->m)));
    r.k = _mm512_maskz_mov_epi32(
        r.fin, _mm512_sub_epi32(_mm512_add_epi32(x.k, y.k), _mm512_set1_epi32(2 * m - fa->m - fb->m)));
    return r;
}

/* ---- the adders' format arithmetic (fpadd.h), 32-bit lanes ------------- */

/* What the core gets: X + Y over w bits (w = W, or W + 1 with Y the two's
 * complement of the aligned small significand), and what the join needs. */
struct axl_fvec_add_parts {
    __m512i x, y, w, sign, kbig, res;
    __mmask16 special, sub, zero; /* zero: both operands zero, the sum is sign's zero */
};

/* fpadd.h steps 1-3 up to the core, nearest-even (an exact zero sum of
 * opposite signs is +0); m the wider operand mantissa, W = m + 4 <= 27. */
AXL_FVEC struct axl_fvec_add_parts axl_fvec_add_split(const struct axl_fvec_fmt *fa,
                                                      const struct axl_fvec_fmt *fb,
                                                      const struct axl_fvec_fmt *fr, __m512i a,
                                                      __m512i b)
{
    struct axl_fvec_add_parts r;
    struct axl_fvec_unpacked x = axl_fvec_unpack(fa, a), y = axl_fvec_unpack(fb, b);
    const int m = fa->m > fb->m ? fa->m : fb->m, W = m + 1 + AXL_FPADD_GUARD;
    __mmask16 sdiff = _mm512_cmpneq_epi32_mask(x.sign, y.sign);
    __mmask16 nan = x.nan | y.nan | (x.inf & y.inf & sdiff);
    __mmask16 inf = (x.inf | y.inf) & (__mmask16)~nan;
    r.special = nan | inf;
    __m512i isign = _mm512_mask_mov_epi32(y.sign, x.inf, x.sign);
    __m512i infc = _mm512_mask_mov_epi32(_mm512_set1_epi32((int)fr->inf[0]),
                                         _mm512_test_epi32_mask(isign, isign),
                                         _mm512_set1_epi32((int)fr->inf[1]));
    r.res = _mm512_mask_mov_epi32(infc, nan, _mm512_set1_epi32((int)fr->nan));
    r.zero = x.zero & y.zero & (__mmask16)~r.special;

    __m512i sx = _mm512_sllv_epi32(x.sig, _mm512_set1_epi32(m - fa->m + AXL_FPADD_GUARD));
    __m512i sy = _mm512_sllv_epi32(y.sig, _mm512_set1_epi32(m - fb->m + AXL_FPADD_GUARD));
    __m512i kx = _mm512_sub_epi32(x.k, _mm512_set1_epi32(m - fa->m + AXL_FPADD_GUARD));
    __m512i ky = _mm512_sub_epi32(y.k, _mm512_set1_epi32(m - fb->m + AXL_FPADD_GUARD));
    kx = _mm512_mask_mov_epi32(kx, x.zero, ky); /* a zero aligns to nothing */
    ky = _mm512_mask_mov_epi32(ky, y.zero, kx);
    /* (kx, sx) >= (ky, sy) lexicographically, as fpadd.h's one comparison */
    __mmask16 xbig = _mm512_cmpgt_epi32_mask(kx, ky) |
                     (_mm512_cmpeq_epi32_mask(kx, ky) & _mm512_cmpge_epu32_mask(sx, sy));
    __m512i big = _mm512_mask_blend_epi32(xbig, sy, sx), small = _mm512_mask_blend_epi32(xbig, sx, sy);
    r.kbig = _mm512_mask_blend_epi32(xbig, ky, kx);
    __m512i ksmall = _mm512_mask_blend_epi32(xbig, kx, ky);
    r.sign = _mm512_mask_blend_epi32(xbig, y.sign, x.sign);
    r.sub = sdiff;

    /* shift the small one right by d, jamming what falls out into its LSB;
     * past W + 1 only the jam is left (d <= W + 1 <= 28 below, so the
     * left shift that finds the lost bits is by 4 or more) */
    const __m512i one = _mm512_set1_epi32(1);
    __m512i d = _mm512_sub_epi32(r.kbig, ksmall);
    __mmask16 lost = _mm512_test_epi32_mask(_mm512_sllv_epi32(small, _mm512_sub_epi32(_mm512_set1_epi32(32), d)),
                                            _mm512_set1_epi32(-1));
    __m512i al = _mm512_mask_or_epi32(_mm512_srlv_epi32(small, d), lost, _mm512_srlv_epi32(small, d), one);
    __mmask16 far = _mm512_cmpgt_epi32_mask(d, _mm512_set1_epi32(W + 1));
    al = _mm512_mask_mov_epi32(al, far, _mm512_maskz_mov_epi32(_mm512_test_epi32_mask(small, small), one));
    /* effective subtraction: big + (2^(W+1) - small) over W + 1 bits */
    __m512i neg = _mm512_and_si512(_mm512_sub_epi32(_mm512_setzero_si512(), al),
                                   _mm512_set1_epi32((int)axl_mask32(W + 1)));
    r.x = big;
    r.y = _mm512_mask_mov_epi32(al, r.sub, neg);
    r.w = _mm512_mask_mov_epi32(_mm512_set1_epi32(W), r.sub, _mm512_set1_epi32(W + 1));
    return r;
}

/* fpadd.h step 3's fix-up of a negative difference on the core's sums s
 * (their low 32 bits: a difference has W + 1 <= 28), and the sign of each
 * result; the lanes it rewrites are p->sub and p->zero. */
AXL_FVEC __m512i axl_fvec_add_fix(const struct axl_fvec_fmt *fa, const struct axl_fvec_fmt *fb,
                                  const struct axl_fvec_add_parts *p, __m512i s, __m512i *sign)
{
    const int m = fa->m > fb->m ? fa->m : fb->m, W = m + 1 + AXL_FPADD_GUARD;
    const __m512i zero = _mm512_setzero_si512();
    const __m512i mw = _mm512_set1_epi32((int)axl_mask32(W + 1));
    /* two zeros: whatever the core made of 0 + 0, the sum is a zero */
    s = _mm512_maskz_mov_epi32((__mmask16)~p->zero, s);
    s = _mm512_mask_and_epi32(s, p->sub, s, mw);
    __mmask16 negd = p->sub & _mm512_test_epi32_mask(s, _mm512_set1_epi32((int)(1u << W)));
    s = _mm512_mask_and_epi32(s, negd, _mm512_sub_epi32(zero, s), mw);
    __m512i sg = _mm512_mask_xor_epi32(p->sign, negd, p->sign, _mm512_set1_epi32(1));
    /* an exact zero difference is +0 under nearest-even; so is a zero sum
     * of two zeros of opposite signs (p->sign then is the big one's: the
     * two signs' AND is what fpadd.h gives) */
    *sign = _mm512_maskz_mov_epi32((__mmask16)~(p->sub & _mm512_cmpeq_epi32_mask(s, zero)), sg);
    return s;
}

/* fpadd.h step 4 on sums of 32-bit lanes (bf16, fp16: every sum fits). */
AXL_FVEC __m512i axl_fvec_add_join(const struct axl_fvec_fmt *fa, const struct axl_fvec_fmt *fb,
                                   const struct axl_fvec_fmt *fr, const struct axl_fvec_add_parts *p,
                                   __m512i s)
{
    __m512i sign;
    s = axl_fvec_add_fix(fa, fb, p, s, &sign);
    __m512i code = axl_fvec_pack32_rne(fr, sign, s, p->kbig);
    return _mm512_mask_blend_epi32(p->special, code, p->res);
}

/* The same on sums of 64-bit lanes (lanes 0-7 in lo, 8-15 in hi): the
 * lanes of an effective addition keep the core's whole sum, as fpadd.h
 * hands it to pack, whatever its width. */
AXL_FVEC __m512i axl_fvec_add_join64(const struct axl_fvec_fmt *fa, const struct axl_fvec_fmt *fb,
                                     const struct axl_fvec_fmt *fr,
                                     const struct axl_fvec_add_parts *p, __m512i lo, __m512i hi)
{
    __m512i sign;
    __m512i s = axl_fvec_add_fix(fa, fb, p, axl_fvec_join64(lo, hi), &sign);
    const __mmask16 fixed = p->sub | p->zero;
    lo = _mm512_mask_mov_epi64(lo, (__mmask8)fixed, _mm512_cvtepu32_epi64(_mm512_castsi512_si256(s)));
    hi = _mm512_mask_mov_epi64(hi, (__mmask8)(fixed >> 8),
                               _mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64(s, 1)));
    __m512i code = axl_fvec_pack64_rne(fr, sign, lo, hi, p->kbig);
    return _mm512_mask_blend_epi32(p->special, code, p->res);
}

#endif /* x86-64, GNU C */
#endif
