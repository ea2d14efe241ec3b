/* The fast exact adds and multiplies in bf16 and fp16 (axl_round_bf16,
 * axl_round_fp16 in emu/mac/mac_step.h) against the add_exact and
 * mul_exact designs they replace in the kernels: for codes a, b of the
 * format,
 *
 *     round(decode(a) + decode(b))  ==  decode(add_exact(a, b))
 *     round(decode(a) * decode(b))  ==  decode(mul_exact(a, b))
 *
 * bit for bit (signed zeros included; every NaN is the design's canonical
 * NaN).  Built twice: test_narrow_add (label quick) takes every code a
 * against 1024 codes b (the specials, the boundaries of the subnormal and
 * overflow ranges, and a random sample); test_narrow_add_sweep (label
 * sweep, AXL_NARROW_ALL) takes all 2^32 pairs of each format. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "axlut/design.h"
#include "axlut/format.h"
#include "mac_step.h"

static void check_format(const char *name, int kind, int mul)
{
    struct axl_format f;
    struct axl_design_ctx c;
    char msg[AXL_MSG_LEN];
    cr_assert_eq(axl_format_parse(name, &f, msg), AXL_OK, "%s", msg);
    const struct axl_design *d = axl_design_find(mul ? "mul_exact" : "add_exact");
    cr_assert(d);
    cr_assert_eq(axl_design_bind(d, &f, &f, &f, NULL, 0, &c, msg), AXL_OK, "%s", msg);
    const float nan = axl_format_decode(&f, axl_format_nan_code(&f));

    static uint32_t bs[65536];
    uint32_t nb = 0;
#ifdef AXL_NARROW_ALL
    for (uint32_t b = 0; b < 65536; b++)
        bs[nb++] = b;
#else
    /* boundaries: zeros, smallest subnormals, largest subnormal and
     * smallest normal, one, largest finite, inf, a NaN, both signs */
    const uint32_t m = f.mbits, e = f.ebits;
    const uint32_t edge[] = {0, 1, 2, 3, (1u << m) - 1, 1u << m, (1u << m) + 1,
                             (uint32_t)f.bias << m, ((1u << e) - 2) << m | ((1u << m) - 1),
                             ((1u << e) - 2) << m, ((1u << e) - 1) << m, (((1u << e) - 1) << m) | 1};
    for (uint32_t s = 0; s < 2; s++)
        for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++)
            bs[nb++] = edge[i] | (s << 15);
    uint64_t st = 12345;
    while (nb < 1024)
        bs[nb++] = axl_rand32(7, st++) & 0xFFFFu;
#endif
    long bad = 0;
#pragma omp parallel for schedule(dynamic, 256) reduction(+ : bad)
    for (uint32_t a = 0; a < 65536; a++) {
        float fa = axl_format_decode(&f, a);
        for (uint32_t j = 0; j < nb; j++) {
            uint32_t b = bs[j];
            float fb = axl_format_decode(&f, b);
            float x = mul ? fa * fb : fa + fb;
            float got = kind == 1 ? axl_round_bf16(x, nan) : axl_round_fp16(x, nan);
            float exp = axl_format_decode(&f, d->eval(&c, a, b));
            if (axl_f32_bits(got) != axl_f32_bits(exp)) {
                if (bad < 10)
#pragma omp critical(narrow_print)
                    fprintf(stderr, "MISMATCH %s 0x%04" PRIx32 " %c 0x%04" PRIx32 ": got 0x%08" PRIx32
                            " expected 0x%08" PRIx32 "\n", name, a, mul ? '*' : '+', b, axl_f32_bits(got),
                            axl_f32_bits(exp));
                bad++;
            }
        }
    }
    cr_assert_eq(bad, 0, "%s: %ld results differ from %s", name, bad, d->name);
}

Test(narrow_add, bf16_equals_add_exact, .timeout = 1800) { check_format("bf16", 1, 0); }
Test(narrow_add, fp16_equals_add_exact, .timeout = 1800) { check_format("fp16", 2, 0); }
Test(narrow_mul, bf16_equals_mul_exact, .timeout = 1800) { check_format("bf16", 1, 1); }
Test(narrow_mul, fp16_equals_mul_exact, .timeout = 1800) { check_format("fp16", 2, 1); }
