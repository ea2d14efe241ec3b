/* Exhaustive sweeps over all 2^32 float32 inputs (label "sweep"):
 *   - fp32 -> fp16, nearest-even, against the compiler's (_Float16) cast;
 *   - fp32 -> bf16, nearest-even, against a slow rounding in double;
 *   - decode(encode(x)) for fp16 against (float)(_Float16)x.
 * NaN inputs: only "is a NaN" is compared (payloads differ by design).
 * Each prints its first ten mismatches in hex.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "axlut/format.h"

/* ISO C11 has no _Float16; gcc and clang have it on x86-64 and aarch64. */
__extension__ typedef _Float16 half_t;

#define N_INPUTS (UINT64_C(1) << 32)

static struct axl_format fmt(const char *name)
{
    struct axl_format f;
    char msg[AXL_MSG_LEN];
    cr_assert_eq(axl_format_parse(name, &f, msg), AXL_OK, "%s", msg);
    return f;
}

static void mismatch(long *count, const char *what, uint32_t in, uint32_t got, uint32_t exp)
{
    long n;
#pragma omp atomic capture
    n = (*count)++;
    if (n < 10) {
#pragma omp critical(axl_sweep_print)
        fprintf(stderr, "MISMATCH %s in=0x%08" PRIx32 " got=0x%08" PRIx32 " exp=0x%08" PRIx32 "\n", what,
                in, got, exp);
    }
}

/* The compiler's float -> _Float16 conversion.  Without F16C, gcc calls
 * a soft-float routine that makes the sweep take many minutes; with it the
 * same cast becomes vcvtps2ph (rounding per MXCSR: nearest-even). */
static uint16_t half_bits_generic(float x)
{
    half_t h = (half_t)x;
    uint16_t u;
    memcpy(&u, &h, sizeof u);
    return u;
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("f16c"))) static uint16_t half_bits_f16c(float x)
{
    half_t h = (half_t)x;
    uint16_t u;
    memcpy(&u, &h, sizeof u);
    return u;
}

__attribute__((target("f16c"))) static float half_roundtrip_f16c(float x) { return (float)(half_t)x; }
static int have_f16c(void) { return __builtin_cpu_supports("f16c"); }
#else
static uint16_t half_bits_f16c(float x) { return half_bits_generic(x); }
static float half_roundtrip_f16c(float x) { return (float)(half_t)x; }
static int have_f16c(void) { return 0; }
#endif

static float half_roundtrip_generic(float x) { return (float)(half_t)x; }

Test(format_sweep, fp16_encode_vs_compiler, .timeout = 600)
{
    struct axl_format f = fmt("fp16");
    const int f16c = have_f16c();
    long bad = 0;
    double t0 = omp_get_wtime();
#pragma omp parallel for schedule(static, 65536) reduction(+ : bad)
    for (uint64_t i = 0; i < N_INPUTS; i++) {
        uint32_t u = (uint32_t)i;
        float x = axl_f32_from_bits(u);
        uint32_t got = axl_format_encode(&f, x, AXL_ROUND_NEAREST_EVEN, 0);
        uint32_t exp = f16c ? half_bits_f16c(x) : half_bits_generic(x);
        int ok = isnan(x) ? axl_format_is_nan(&f, got) && (exp & 0x7FFFu) > 0x7C00u : got == exp;
        if (!ok)
            mismatch(&bad, "fp16 encode", u, got, exp);
    }
    fprintf(stderr, "fp16 encode sweep: %.1f s, %d threads, f16c %d\n", omp_get_wtime() - t0,
            omp_get_max_threads(), f16c);
    cr_expect_eq(bad, 0, "%ld of 2^32 inputs differ", bad);
}

/* x rounded to bfloat16 (8 significant bits, exponents -126..127,
 * subnormals down to 2^-133) to nearest, ties to even, in double precision
 * arithmetic: returns the rounded value (+-inf past the largest). */
static double g_pow2[400]; /* g_pow2[i] = 2^(i - 200) */

static void init_pow2(void)
{
    for (int i = 0; i < 400; i++)
        g_pow2[i] = ldexp(1.0, i - 200);
}

static double bf16_round_slow(double x)
{
    if (x == 0 || isinf(x) || isnan(x))
        return x;
    double a = fabs(x);
    int e;
    frexp(a, &e);          /* a = m * 2^e, 0.5 <= m < 1: a's binade starts at 2^(e-1) */
    int q = e - 1 - 7;     /* exponent of one ulp at 8 significant bits */
    if (q < -133)
        q = -133;          /* subnormal range: fixed ulp */
    double n = a * g_pow2[200 - q]; /* a in ulps, exact */
    double fl = floor(n), rest = n - fl;
    if (rest > 0.5 || (rest == 0.5 && floor(fl / 2) * 2 != fl))
        fl += 1;
    double r = fl * g_pow2[200 + q];
    if (r > 0x1.FEp127)
        r = INFINITY;
    return x < 0 ? -r : r;
}

Test(format_sweep, bf16_encode_vs_slow_rounding, .timeout = 600)
{
    struct axl_format f = fmt("bf16");
    init_pow2();
    long bad = 0;
    double t0 = omp_get_wtime();
#pragma omp parallel for schedule(static, 65536) reduction(+ : bad)
    for (uint64_t i = 0; i < N_INPUTS; i++) {
        uint32_t u = (uint32_t)i;
        float x = axl_f32_from_bits(u);
        uint32_t got = axl_format_encode(&f, x, AXL_ROUND_NEAREST_EVEN, 0);
        float gv = axl_format_decode(&f, got);
        float ev = (float)bf16_round_slow((double)x);
        int ok = isnan(x) ? axl_format_is_nan(&f, got)
                          : axl_f32_bits(gv) == axl_f32_bits(ev) && (got & 0xFFFF0000u) == 0;
        if (!ok)
            mismatch(&bad, "bf16 encode (decoded value)", u, axl_f32_bits(gv), axl_f32_bits(ev));
    }
    fprintf(stderr, "bf16 encode sweep: %.1f s, %d threads\n", omp_get_wtime() - t0,
            omp_get_max_threads());
    cr_expect_eq(bad, 0, "%ld of 2^32 inputs differ", bad);
}

Test(format_sweep, fp16_roundtrip_vs_compiler, .timeout = 600)
{
    struct axl_format f = fmt("fp16");
    const int f16c = have_f16c();
    long bad = 0;
    double t0 = omp_get_wtime();
#pragma omp parallel for schedule(static, 65536) reduction(+ : bad)
    for (uint64_t i = 0; i < N_INPUTS; i++) {
        uint32_t u = (uint32_t)i;
        float x = axl_f32_from_bits(u);
        float got = axl_format_decode(&f, axl_format_encode(&f, x, AXL_ROUND_NEAREST_EVEN, 0));
        float exp = f16c ? half_roundtrip_f16c(x) : half_roundtrip_generic(x);
        int ok = isnan(exp) ? isnan(got) : axl_f32_bits(got) == axl_f32_bits(exp);
        if (!ok)
            mismatch(&bad, "fp16 decode(encode)", u, axl_f32_bits(got), axl_f32_bits(exp));
    }
    fprintf(stderr, "fp16 round-trip sweep: %.1f s, %d threads, f16c %d\n", omp_get_wtime() - t0,
            omp_get_max_threads(), f16c);
    cr_expect_eq(bad, 0, "%ld of 2^32 inputs differ", bad);
}
