/* hd.h's leading-one position from a float conversion (AXL_MSB_BY_FLOAT,
 * the form the AVX2 batch units use: tables/designs/batch_avx2.c) against
 * __builtin_clz / __builtin_clzll: axl_msb32 over every nonzero 32-bit
 * input (sanitizer builds: every 16th), axl_msb64 with the top bit at every position under random lower
 * bits and under runs of ones of every length (the inputs a conversion
 * rounds up into the next power of two).  This unit is compiled with
 * AXL_MSB_BY_FLOAT, as those units are. */
#define AXL_MSB_BY_FLOAT 1

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>

#include "axlut/hd.h"
#include "designs/common.h"

#include "san_stride.h"

Test(msb_float, msb32_every_input, .timeout = 300)
{
    long bad = 0;
    uint64_t seen = 0;
    for (uint64_t i = 1; i < ((uint64_t)1 << 32); i += SAN_STRIDE) {
        uint32_t x = (uint32_t)i;
        int e = 31 - __builtin_clz(x), got = axl_msb32(x);
        if (got != e) {
            if (bad < 10)
                fprintf(stderr, "MISMATCH msb32 0x%" PRIx32 ": %d, by float %d\n", x, e, got);
            bad++;
        }
        seen++;
    }
    cr_assert_eq(seen, (((uint64_t)1 << 32) - 2u) / SAN_STRIDE + 1u);
    cr_assert_eq(bad, 0, "%ld positions differ from __builtin_clz", bad);
}

Test(msb_float, msb64_every_position)
{
    long bad = 0, seen = 0;
    for (int p = 0; p < 64; p++)
        for (uint32_t r = 0; r < (1u << 14); r++) {
            uint64_t low = ((uint64_t)axl_rand32(43, 2 * r) << 32) | axl_rand32(43, 2 * r + 1);
            if (r % 2 == 0 && p > 0) /* ones in the top t bits below p, random under them */
                low |= ~(uint64_t)0 << (p - 1 - (int)((r / 2) % (uint32_t)p));
            uint64_t x = ((uint64_t)1 << p) | (low & (((uint64_t)1 << p) - 1u));
            int e = 63 - __builtin_clzll(x), got = axl_msb64(x);
            if (got != e) {
                if (bad < 10)
                    fprintf(stderr, "MISMATCH msb64 0x%" PRIx64 ": %d, by float %d\n", x, e, got);
                bad++;
            }
            seen++;
        }
    cr_assert_eq(seen, 64L << 14);
    cr_assert_eq(bad, 0, "%ld positions differ from __builtin_clzll", bad);
}
