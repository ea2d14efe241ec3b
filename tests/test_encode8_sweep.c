/* The byte encoder of narrow floating formats (emu/mac/encode.c, axl_enc8)
 * against axl_format_encode over every float32, for the formats and modes
 * the zoo runs use (e4m3, e5m2, e2m1 to nearest even; e4m3 toward zero):
 * the claim that the rounding sees only the bits the table is keyed on,
 * checked rather than argued.  Minutes of CPU: label sweep. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <string.h>

#include "plan.h"

static void sweep(const char *name, enum axl_round r)
{
    struct axl_format f;
    cr_assert_eq(axl_format_parse(name, &f, NULL), AXL_OK, "%s", name);
    struct axl_enc8 e;
    cr_assert_eq(axl_enc8_prepare(&e, &f, r), 1, "%s: no byte encoder", name);
    int64_t bad = 0, tried = 0;
    uint32_t first[10] = {0};
#pragma omp parallel for schedule(static) reduction(+ : bad, tried)
    for (int64_t hi = 0; hi < 65536; hi++)
        for (uint32_t lo = 0; lo < 65536; lo++) {
            uint32_t u = (uint32_t)hi << 16 | lo;
            float x;
            memcpy(&x, &u, sizeof x);
            tried++;
            if (axl_enc8_code(&e, x) != axl_format_encode(&f, x, r, 0)) {
                int64_t b = bad++;
                if (b < 10)
                    first[b] = u; /* a thread's own count: a hint, not the global first ten */
            }
        }
    for (int i = 0; i < 10 && i < bad; i++)
        cr_log_error("%s round %d: x=0x%08x differs", name, (int)r, first[i]);
    axl_enc8_free(&e);
    cr_assert_eq(tried, (int64_t)1 << 32, "%s: swept %lld floats", name, (long long)tried);
    cr_assert_eq(bad, 0, "%s round %d: %lld of 2^32 floats differ", name, (int)r, (long long)bad);
}

Test(encode8_sweep, e4m3_nearest, .timeout = 3600) { sweep("e4m3", AXL_ROUND_NEAREST_EVEN); }
Test(encode8_sweep, e5m2_nearest, .timeout = 3600) { sweep("e5m2", AXL_ROUND_NEAREST_EVEN); }
Test(encode8_sweep, e2m1_nearest, .timeout = 3600) { sweep("e2m1", AXL_ROUND_NEAREST_EVEN); }
Test(encode8_sweep, e4m3_toward_zero, .timeout = 3600) { sweep("e4m3", AXL_ROUND_TOWARD_ZERO); }
