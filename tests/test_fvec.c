/* The AVX-512 building blocks of the floating format layer
 * (tables/designs/fvec.h) against the scalar definitions they stand for:
 * axl_fvec_unpack against axl_float_unpack over every code of the formats
 * up to 16 bits (fp16, bf16 and the other families: FN, FNUZ, FINITE,
 * saturating, no subnormals, no mantissa bits) and 2^24 random fp32 codes
 * plus every boundary code of each class; axl_fvec_pack32_rne / pack64_rne against
 * axl_format_pack (nearest-even, no sticky) over random significands of
 * every width with exponents from below the smallest subnormal to past
 * the largest finite value, exact ties of both parities, and zero.  The
 * designs built from them (batch_fvec.h) are test_batch's.  Mismatches:
 * the first ten printed in hex.  Skips where the CPU has no AVX-512. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "axlut/design.h"
#include "designs/batch_spec.h"
#include "designs/fvec.h"
#include "designs/registry.h"

#ifdef AXL_FVEC_HAVE

static int have_avx512(void) { return axl_design_batch_hw_level() >= 2; }

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
            o->cls = (u.nan >> l) & 1 ? AXL_FC_NAN
                     : (u.inf >> l) & 1 ? AXL_FC_INF
                     : (u.zero >> l) & 1 ? AXL_FC_ZERO
                                         : AXL_FC_FINITE;
            if (((u.nan & u.inf) | (u.nan & u.zero) | (u.inf & u.zero)) >> l & 1)
                o->cls = 99; /* two classes at once: never right */
            o->sign = sign[l];
            o->sig = sig[l];
            o->k = k[l];
        }
    }
}

static long check_unpack(const char *name, const uint32_t *code, size_t n)
{
    struct axl_format f;
    char msg[AXL_MSG_LEN];
    cr_assert_eq(axl_format_parse(name, &f, msg), AXL_OK, "%s", msg);
    struct axl_unpacked *got = malloc(n * sizeof *got);
    cr_assert(got);
    vec_unpack(&f, code, n, got);
    long bad = 0;
    for (size_t i = 0; i < n; i++) {
        struct axl_unpacked e = axl_float_unpack(&f, code[i]);
        if (e.cls != got[i].cls || e.sign != got[i].sign || e.sig != got[i].sig || e.k != got[i].k) {
            if (bad < 10)
                fprintf(stderr,
                        "MISMATCH unpack %s 0x%" PRIx32 ": scalar cls %u sign %u sig 0x%" PRIx32
                        " k %d, vector cls %u sign %u sig 0x%" PRIx32 " k %d\n",
                        name, code[i], e.cls, e.sign, e.sig, e.k, got[i].cls, got[i].sign, got[i].sig,
                        got[i].k);
            bad++;
        }
    }
    free(got);
    return bad;
}

Test(fvec, unpack_every_code_up_to_16_bits)
{
    if (!have_avx512())
        cr_skip_test("no AVX-512");
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
        bad += check_unpack(names[i], code, n);
        total += n;
        free(code);
    }
    cr_assert_geq(total, 2u * 65536u);
    cr_assert_eq(bad, 0, "%ld unpacked codes differ from axl_float_unpack", bad);
}

Test(fvec, unpack_fp32_random_and_boundaries, .timeout = 300)
{
    if (!have_avx512())
        cr_skip_test("no AVX-512");
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
    long bad = check_unpack("fp32", code, n) + check_unpack("tf32", code, n);
    free(code);
    cr_assert_eq(bad, 0, "%ld unpacked codes differ from axl_float_unpack", bad);
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

static long check_pack(const char *name, int wide, size_t n)
{
    struct axl_format f;
    char msg[AXL_MSG_LEN];
    cr_assert_eq(axl_format_parse(name, &f, msg), AXL_OK, "%s: %s", name, msg);
    uint32_t *sign = malloc(n * sizeof *sign), *got = malloc(n * sizeof *got);
    uint64_t *sig = malloc(n * sizeof *sig);
    int32_t *k = malloc(n * sizeof *k);
    cr_assert(sign && got && sig && k);
    pack_cases(&f, wide ? 64 : 32, n, 31 + (uint64_t)wide, sign, sig, k);
    vec_pack(&f, wide, sign, sig, k, n, got);
    long bad = 0, classes[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        uint32_t e = axl_format_pack(&f, sign[i], sig[i], k[i], 0, AXL_ROUND_NEAREST_EVEN, 0);
        float x = axl_format_decode(&f, e);
        classes[x == 0.0f ? 0 : axl_format_is_nan(&f, e) ? 3 : axl_format_is_inf(&f, e) ||
                                (e & ((1u << (f.bits - 1)) - 1u)) == axl_format_max_mag(&f) ? 2 : 1]++;
        if (e != got[i]) {
            if (bad < 10)
                fprintf(stderr,
                        "MISMATCH pack%d %s sign %u sig 0x%" PRIx64 " k %d: scalar 0x%" PRIx32
                        ", vector 0x%" PRIx32 "\n",
                        wide ? 64 : 32, name, sign[i], sig[i], k[i], e, got[i]);
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

Test(fvec, pack32_random_significands_and_exponents, .timeout = 300)
{
    if (!have_avx512())
        cr_skip_test("no AVX-512");
    long bad = 0;
    for (size_t i = 0; i < sizeof k_pack_formats / sizeof k_pack_formats[0]; i++)
        bad += check_pack(k_pack_formats[i], 0, (size_t)1 << 20);
    cr_assert_eq(bad, 0, "%ld packed codes differ from axl_format_pack", bad);
}

Test(fvec, pack64_random_significands_and_exponents, .timeout = 300)
{
    if (!have_avx512())
        cr_skip_test("no AVX-512");
    long bad = 0;
    for (size_t i = 0; i < sizeof k_pack_formats / sizeof k_pack_formats[0]; i++)
        bad += check_pack(k_pack_formats[i], 1, (size_t)1 << 20);
    cr_assert_eq(bad, 0, "%ld packed codes differ from axl_format_pack", bad);
}

#else
Test(fvec, not_built_here) { cr_skip_test("fvec.h needs x86-64 and GNU C"); }
#endif
