/* The AVX-512 and AVX2 building blocks of the floating format layer
 * (tables/designs/fvec.h, fvec_avx2.h) against the scalar definitions
 * they stand for, both widths through the same cases:
 * axl_fvec_unpack against axl_float_unpack over every code of the formats
 * up to 16 bits (fp16, bf16 and the other families: FN, FNUZ, FINITE,
 * saturating, no subnormals, no mantissa bits) and 2^24 random fp32 codes
 * plus every boundary code of each class; axl_fvec_pack32_rne / pack64_rne against
 * axl_format_pack (nearest-even, no sticky) over random significands of
 * every width with exponents from below the smallest subnormal to past
 * the largest finite value, exact ties of both parities, and zero.  The
 * designs built from them (batch_fvec.h) are test_batch's.  Mismatches:
 * the first ten printed in hex.  The AVX2 leading-zero counts against
 * __builtin_clz / clzll: every 32-bit input (sanitizer builds: every 16th
 * block of 8), and every bit position of a
 * 64-bit lane under random lower bits.  Skips where the CPU has no AVX-512
 * (AVX2 for the AVX2 tests). */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "axlut/design.h"
#include "designs/batch_spec.h"
#include "designs/fvec.h"
#include "designs/fvec_avx2.h"
#include "designs/registry.h"

#ifdef AXL_FVEC_HAVE

#include "san_stride.h"

static int have_avx512(void) { return axl_design_batch_hw_level() >= 2; }
static int have_avx2(void) { return axl_design_batch_hw_level() >= 1; }

/* The classes of lane l from three bit masks: two at once is never right. */
static uint32_t lane_class(unsigned nan, unsigned inf, unsigned zero, int l)
{
    if (((nan & inf) | (nan & zero) | (inf & zero)) >> l & 1)
        return 99;
    return (nan >> l) & 1 ? AXL_FC_NAN : (inf >> l) & 1 ? AXL_FC_INF : (zero >> l) & 1 ? AXL_FC_ZERO : AXL_FC_FINITE;
}

/* AVX2: a condition (all-ones lanes) as a bit mask; anything but all ones
 * or 0 in a lane is a broken condition, reported as lane 31 */
AXL_FV8_TARGET static unsigned cond8(__m256i m)
{
    unsigned bits = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(m));
    __m256i full = _mm256_cmpeq_epi32(m, _mm256_set1_epi32(-1)), none = _mm256_cmpeq_epi32(m, _mm256_setzero_si256());
    if (_mm256_movemask_epi8(_mm256_or_si256(full, none)) != -1)
        bits |= 1u << 31;
    return bits;
}

AXL_FV8_TARGET static void vec_unpack8(const struct axl_format *f, const uint32_t *code, size_t n,
                                       struct axl_unpacked *out)
{
    struct axl_fvec_fmt v;
    axl_fvec_fmt_init(&v, f);
    for (size_t i = 0; i < n; i += 8) {
        struct axl_fv8_unpacked u = axl_fv8_unpack(&v, _mm256_loadu_si256((const __m256i *)(code + i)));
        uint32_t sign[8], sig[8];
        int32_t k[8];
        _mm256_storeu_si256((__m256i *)sign, u.sign);
        _mm256_storeu_si256((__m256i *)sig, u.sig);
        _mm256_storeu_si256((__m256i *)k, u.k);
        unsigned nan = cond8(u.nan), inf = cond8(u.inf), zero = cond8(u.zero);
        for (int l = 0; l < 8; l++) {
            struct axl_unpacked *o = &out[i + (size_t)l];
            o->cls = (nan | inf | zero) >> 31 ? 98 : lane_class(nan, inf, zero, l);
            o->sign = sign[l];
            o->sig = sig[l];
            o->k = k[l];
        }
    }
}

/* unpack n codes (n a multiple of 16) into the scalar struct's fields */
AXL_FVEC_TARGET static void vec_unpack(const struct axl_format *f, const uint32_t *code, size_t n,
                                       struct axl_unpacked *out)
{
    struct axl_fvec_fmt v;
    axl_fvec_fmt_init(&v, f);
    for (size_t i = 0; i < n; i += 16) {
        struct axl_fvec_unpacked u = axl_fvec_unpack(&v, _mm512_loadu_si512(code + i));
        uint32_t sign[16], sig[16];
        int32_t k[16];
        _mm512_storeu_si512(sign, u.sign);
        _mm512_storeu_si512(sig, u.sig);
        _mm512_storeu_si512(k, u.k);
        for (int l = 0; l < 16; l++) {
            struct axl_unpacked *o = &out[i + (size_t)l];
            o->cls = lane_class(u.nan, u.inf, u.zero, l);
            o->sign = sign[l];
            o->sig = sig[l];
            o->k = k[l];
        }
    }
}

/* w: 16 the AVX-512 blocks, 8 the AVX2 ones (n a multiple of w) */
static long check_unpack(int w, const char *name, const uint32_t *code, size_t n)
{
    struct axl_format f;
    char msg[AXL_MSG_LEN];
    cr_assert_eq(axl_format_parse(name, &f, msg), AXL_OK, "%s", msg);
    struct axl_unpacked *got = malloc(n * sizeof *got);
    cr_assert(got);
    if (w == 16)
        vec_unpack(&f, code, n, got);
    else
        vec_unpack8(&f, code, n, got);
    long bad = 0;
    for (size_t i = 0; i < n; i++) {
        struct axl_unpacked e = axl_float_unpack(&f, code[i]);
        if (e.cls != got[i].cls || e.sign != got[i].sign || e.sig != got[i].sig || e.k != got[i].k) {
            if (bad < 10)
                fprintf(stderr,
                        "MISMATCH unpack%d %s 0x%" PRIx32 ": scalar cls %u sign %u sig 0x%" PRIx32
                        " k %d, vector cls %u sign %u sig 0x%" PRIx32 " k %d\n",
                        w, name, code[i], e.cls, e.sign, e.sig, e.k, got[i].cls, got[i].sign, got[i].sig,
                        got[i].k);
            bad++;
        }
    }
    free(got);
    return bad;
}

static void unpack_every_code(int w)
{
    const char *const names[] = {"fp16",  "bf16",  "e5m10fn", "e5m10nosub", "e4m3", "e4m3fnuz",
                                 "e5m2",  "e3m2",  "e2m3",    "e2m1",       "e4m3nosub", "e6m9",
                                 "e4m0fn", "e3m0fin", "e4m0fnuz"};
    long bad = 0;
    size_t total = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct axl_format f;
        char msg[AXL_MSG_LEN];
        cr_assert_eq(axl_format_parse(names[i], &f, msg), AXL_OK, "%s: %s", names[i], msg);
        size_t n = (size_t)1 << f.bits;
        if (n < 16)
            n = 16; /* codes past the format's width: the scalar masks them too */
        uint32_t *code = malloc(n * sizeof *code);
        cr_assert(code);
        for (size_t c = 0; c < n; c++)
            code[c] = (uint32_t)c;
        bad += check_unpack(w, names[i], code, n);
        total += n;
        free(code);
    }
    cr_assert_geq(total, 2u * 65536u);
    cr_assert_eq(bad, 0, "%ld unpacked codes differ from axl_float_unpack", bad);
}

Test(fvec, unpack_every_code_up_to_16_bits)
{
    if (!have_avx512())
        cr_skip_test("no AVX-512");
    unpack_every_code(16);
}

Test(fvec, unpack_every_code_up_to_16_bits_avx2)
{
    if (!have_avx2())
        cr_skip_test("no AVX2");
    unpack_every_code(8);
}

static void unpack_fp32(int w)
{
    const size_t nr = (size_t)1 << 24;
    /* every class's edges, both signs: zeros, the subnormal range, the
     * normal range, infinity, the NaN range */
    const uint32_t edge[] = {0x00000000u, 0x00000001u, 0x00000002u, 0x003FFFFFu, 0x00400000u,
                             0x007FFFFEu, 0x007FFFFFu, 0x00800000u, 0x00800001u, 0x3F800000u,
                             0x3FFFFFFFu, 0x7F000000u, 0x7F7FFFFEu, 0x7F7FFFFFu, 0x7F800000u,
                             0x7F800001u, 0x7FC00000u, 0x7FFFFFFFu};
    const size_t ne = 2 * sizeof edge / sizeof edge[0];
    size_t n = (nr + ne + 15) & ~(size_t)15;
    uint32_t *code = malloc(n * sizeof *code);
    cr_assert(code);
    size_t j = 0;
    for (size_t i = 0; i < ne / 2; i++) {
        code[j++] = edge[i];
        code[j++] = edge[i] | 0x80000000u;
    }
    while (j < n) {
        code[j] = axl_rand32(21, j);
        j++;
    }
    long bad = check_unpack(w, "fp32", code, n) + check_unpack(w, "tf32", code, n);
    free(code);
    cr_assert_eq(bad, 0, "%ld unpacked codes differ from axl_float_unpack", bad);
}

Test(fvec, unpack_fp32_random_and_boundaries, .timeout = 300)
{
    if (!have_avx512())
        cr_skip_test("no AVX-512");
    unpack_fp32(16);
}

Test(fvec, unpack_fp32_random_and_boundaries_avx2, .timeout = 300)
{
    if (!have_avx2())
        cr_skip_test("no AVX2");
    unpack_fp32(8);
}

/* ---- round-and-pack ------------------------------------------------------ */

AXL_FVEC_TARGET static void vec_pack(const struct axl_format *f, int wide, const uint32_t *sign,
                                     const uint64_t *sig, const int32_t *k, size_t n, uint32_t *out)
{
    struct axl_fvec_fmt v;
    axl_fvec_fmt_init(&v, f);
    for (size_t i = 0; i < n; i += 16) {
        __m512i s = _mm512_loadu_si512(sign + i), kk = _mm512_loadu_si512(k + i), r;
        if (wide) {
            r = axl_fvec_pack64_rne(&v, s, _mm512_loadu_si512(sig + i), _mm512_loadu_si512(sig + i + 8), kk);
        } else {
            __m512i lo = _mm512_loadu_si512(sig + i), hi = _mm512_loadu_si512(sig + i + 8);
            r = axl_fvec_pack32_rne(&v, s, axl_fvec_join64(lo, hi), kk);
        }
        _mm512_storeu_si512(out + i, r);
    }
}

AXL_FV8_TARGET static void vec_pack8(const struct axl_format *f, int wide, const uint32_t *sign,
                                     const uint64_t *sig, const int32_t *k, size_t n, uint32_t *out)
{
    struct axl_fvec_fmt v;
    axl_fvec_fmt_init(&v, f);
    for (size_t i = 0; i < n; i += 8) {
        __m256i s = _mm256_loadu_si256((const __m256i *)(sign + i)), kk = _mm256_loadu_si256((const __m256i *)(k + i));
        __m256i lo = _mm256_loadu_si256((const __m256i *)(sig + i)), hi = _mm256_loadu_si256((const __m256i *)(sig + i + 4));
        __m256i r = wide ? axl_fv8_pack64_rne(&v, s, lo, hi, kk) : axl_fv8_pack32_rne(&v, s, axl_fv8_join64(lo, hi), kk);
        _mm256_storeu_si256((__m256i *)(out + i), r);
    }
}

/* Random (sign, sig, k) for format f: significands of 0 to `bits` bits,
 * exponents that put the value anywhere from far below the smallest
 * subnormal to far past the largest finite value, and every fourth an exact
 * tie (a 1 just below the ulp, nothing under it) at a random position. */
static void pack_cases(const struct axl_format *f, int bits, size_t n, uint64_t seed, uint32_t *sign,
                       uint64_t *sig, int32_t *k)
{
    const int lo = 1 - f->bias - f->mbits - 8, hi = (1 << f->ebits) - f->bias + 4;
    for (size_t i = 0; i < n; i++) {
        uint64_t r = ((uint64_t)axl_rand32(seed, 4 * i) << 32) | axl_rand32(seed, 4 * i + 1);
        uint32_t c = axl_rand32(seed, 4 * i + 2), d = axl_rand32(seed, 4 * i + 3);
        int nb = (int)(c % (uint32_t)(bits + 1)); /* 0..bits significant bits */
        uint64_t s = nb == 0 ? 0 : (r >> (64 - nb)) | ((uint64_t)1 << (nb - 1));
        if ((c >> 8) % 4 == 0 && nb >= 2) {
            /* a tie: keep t bits above the ulp, then 1, then zeros */
            int t = 1 + (int)((c >> 12) % (uint32_t)(f->mbits + 1));
            if (t + 1 <= nb) {
                int below = nb - t - 1;
                s = (s >> (below + 1) << (below + 1)) | ((uint64_t)1 << below);
            }
        }
        sig[i] = s;
        int ue = lo + (int)(d % (uint32_t)(hi - lo + 1)); /* the value's exponent */
        k[i] = ue - (nb ? nb - 1 : 0);
        sign[i] = (c >> 30) & 1u;
    }
}

static long check_pack(int w, const char *name, int wide, size_t n)
{
    struct axl_format f;
    char msg[AXL_MSG_LEN];
    cr_assert_eq(axl_format_parse(name, &f, msg), AXL_OK, "%s: %s", name, msg);
    uint32_t *sign = malloc(n * sizeof *sign), *got = malloc(n * sizeof *got);
    uint64_t *sig = malloc(n * sizeof *sig);
    int32_t *k = malloc(n * sizeof *k);
    cr_assert(sign && got && sig && k);
    pack_cases(&f, wide ? 64 : 32, n, 31 + (uint64_t)wide, sign, sig, k);
    if (w == 16)
        vec_pack(&f, wide, sign, sig, k, n, got);
    else
        vec_pack8(&f, wide, sign, sig, k, n, got);
    long bad = 0, classes[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        uint32_t e = axl_format_pack(&f, sign[i], sig[i], k[i], 0, AXL_ROUND_NEAREST_EVEN, 0);
        float x = axl_format_decode(&f, e);
        classes[x == 0.0f ? 0 : axl_format_is_nan(&f, e) ? 3 : axl_format_is_inf(&f, e) ||
                                (e & ((1u << (f.bits - 1)) - 1u)) == axl_format_max_mag(&f) ? 2 : 1]++;
        if (e != got[i]) {
            if (bad < 10)
                fprintf(stderr,
                        "MISMATCH pack%d (%d lanes) %s sign %u sig 0x%" PRIx64 " k %d: scalar 0x%" PRIx32
                        ", vector 0x%" PRIx32 "\n",
                        wide ? 64 : 32, w, name, sign[i], sig[i], k[i], e, got[i]);
            bad++;
        }
    }
    /* the cases reach zero, finite values and the top (max or inf) */
    cr_assert(classes[0] > 0 && classes[1] > 0 && classes[2] > 0, "%s: cases miss a class", name);
    free(sign);
    free(got);
    free(sig);
    free(k);
    return bad;
}

static const char *const k_pack_formats[] = {
    "fp32", "bf16", "fp16", "tf32", "e5m10fn", "e5m10nosub", "e5m10sat", "e4m3",
    "e4m3fnuz", "e5m2", "e5m2sat", "e3m2", "e2m3", "e2m1", "e4m3nosub", "e6m9",
    "e4m0fn", "e3m0fin", "e4m0fnuz"}; /* with no mantissa bits ties go by the exponent */

static void pack_all(int w, int wide)
{
    long bad = 0;
    for (size_t i = 0; i < sizeof k_pack_formats / sizeof k_pack_formats[0]; i++)
        bad += check_pack(w, k_pack_formats[i], wide, (size_t)1 << 20);
    cr_assert_eq(bad, 0, "%ld packed codes differ from axl_format_pack", bad);
}

Test(fvec, pack32_random_significands_and_exponents, .timeout = 300)
{
    if (!have_avx512())
        cr_skip_test("no AVX-512");
    pack_all(16, 0);
}

Test(fvec, pack64_random_significands_and_exponents, .timeout = 300)
{
    if (!have_avx512())
        cr_skip_test("no AVX-512");
    pack_all(16, 1);
}

Test(fvec, pack32_random_significands_and_exponents_avx2, .timeout = 300)
{
    if (!have_avx2())
        cr_skip_test("no AVX2");
    pack_all(8, 0);
}

Test(fvec, pack64_random_significands_and_exponents_avx2, .timeout = 300)
{
    if (!have_avx2())
        cr_skip_test("no AVX2");
    pack_all(8, 1);
}

/* ---- AVX2 leading-zero counts ------------------------------------------- */

/* Every 32-bit input, 8 at a time; returns the mismatches and counts the
 * inputs checked into *seen. */
AXL_FV8_TARGET static long lz32_every_input(uint64_t *seen)
{
    long bad = 0;
    const __m256i step = _mm256_set1_epi32(8 * SAN_STRIDE);
    __m256i x = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (uint64_t i = 0; i < ((uint64_t)1 << 32); i += 8 * SAN_STRIDE) {
        uint32_t in[8], got[8];
        _mm256_storeu_si256((__m256i *)in, x);
        _mm256_storeu_si256((__m256i *)got, axl_fv8_lzcnt32(x));
        for (int l = 0; l < 8; l++) {
            uint32_t e = in[l] ? (uint32_t)__builtin_clz(in[l]) : 32u;
            if (got[l] != e) {
                if (bad < 10)
                    fprintf(stderr, "MISMATCH lzcnt32 0x%" PRIx32 ": %u, vector %u\n", in[l], e, got[l]);
                bad++;
            }
        }
        *seen += 8;
        x = _mm256_add_epi32(x, step);
    }
    return bad;
}

Test(fvec, lzcnt32_avx2_every_input, .timeout = 300)
{
    if (!have_avx2())
        cr_skip_test("no AVX2");
    uint64_t seen = 0;
    long bad = lz32_every_input(&seen);
    cr_assert_eq(seen, ((uint64_t)1 << 32) / SAN_STRIDE);
    cr_assert_eq(bad, 0, "%ld leading-zero counts differ from __builtin_clz", bad);
}

/* 64 bits: the top bit at every position (and 0), under 2^14 lower parts
 * each, lanes of both halves of the register: random, or a run of ones of
 * every length under the top bit (a float conversion rounds those up into
 * the next power of two, which random bits almost never show). */
AXL_FV8_TARGET static long lz64_positions(uint64_t *seen)
{
    long bad = 0;
    for (int p = -1; p < 64; p++)
        for (uint32_t r = 0; r < (1u << 14); r++) {
            uint64_t in[4], got[4];
            for (int l = 0; l < 4; l++) {
                uint64_t low = ((uint64_t)axl_rand32(41, 8 * r + 2 * (uint32_t)l) << 32) |
                               axl_rand32(41, 8 * r + 2 * (uint32_t)l + 1);
                if (r % 2 == 0 && p > 0) /* ones in the top t bits below p, random under them */
                    low |= ~(uint64_t)0 << (p - 1 - (int)((r / 2) % (uint32_t)p));
                in[l] = p < 0 ? 0 : ((uint64_t)1 << p) | (low & (((uint64_t)1 << p) - 1u));
            }
            _mm256_storeu_si256((__m256i *)got, axl_fv8_lzcnt64(_mm256_loadu_si256((const __m256i *)in)));
            for (int l = 0; l < 4; l++) {
                uint64_t e = in[l] ? (uint64_t)__builtin_clzll(in[l]) : 64u;
                if (got[l] != e) {
                    if (bad < 10)
                        fprintf(stderr, "MISMATCH lzcnt64 0x%" PRIx64 ": %" PRIu64 ", vector %" PRIu64 "\n",
                                in[l], e, got[l]);
                    bad++;
                }
                *seen += 1;
            }
        }
    return bad;
}

Test(fvec, lzcnt64_avx2_every_position)
{
    if (!have_avx2())
        cr_skip_test("no AVX2");
    uint64_t seen = 0;
    long bad = lz64_positions(&seen);
    cr_assert_eq(seen, 65u * 4u << 14);
    cr_assert_eq(bad, 0, "%ld leading-zero counts differ from __builtin_clzll", bad);
}

#else
Test(fvec, not_built_here) { cr_skip_test("fvec.h needs x86-64 and GNU C"); }
#endif
