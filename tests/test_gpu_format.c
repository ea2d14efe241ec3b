/* CPU vs GPU, bit for bit: encode (every rounding mode, stochastic included)
 * and decode of the same inputs.  Skips where no GPU is visible. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "axlut/emu.h"
#include "axlut/format.h"
#include "gpu_format_kernels.h"

static const char *k_formats[] = {"fp32", "tf32", "bf16", "fp16", "dlfloat16", "e4m3", "e5m2",
                                  "e4m3fnuz", "e5m2fnuz", "e3m2", "e2m3", "e2m1", "e5m4b12",
                                  "e5m2nosub", "int8", "uint4", "int16"};

Test(gpu, format_parity, .timeout = 300)
{
    if (axl_cuda_device_count(NULL, 0) == 0)
        cr_skip_test("no CUDA device visible");
    const size_t n = 1u << 20;
    float *x = malloc(n * sizeof *x);
    uint32_t *gc = malloc(n * sizeof *gc), *gb = malloc(n * sizeof *gb);
    cr_assert(x && gc && gb);
    for (size_t i = 0; i < n; i++) {
        /* random bit patterns, half of them scaled into the formats' ranges */
        uint32_t r = axl_rand32(7, i);
        if (i & 1)
            r = (r & 0x807FFFFFu) | ((100u + (r >> 23) % 56u) << 23);
        x[i] = axl_f32_from_bits(r);
    }
    size_t bad = 0;
    for (size_t fi = 0; fi < sizeof k_formats / sizeof k_formats[0]; fi++) {
        struct axl_format f;
        char msg[AXL_MSG_LEN];
        cr_assert_eq(axl_format_parse(k_formats[fi], &f, msg), AXL_OK, "%s", msg);
        for (int r = 0; r <= AXL_ROUND_STOCHASTIC; r++) {
            cr_assert(axlt_gpu_encode(&f, x, gc, gb, n, r, 1234), "CUDA call failed");
            for (size_t i = 0; i < n; i++) {
                uint32_t c = axl_format_encode(&f, x[i], (enum axl_round)r, axl_rand32(1234, i));
                uint32_t b = axl_f32_bits(axl_format_decode(&f, c));
                if (c != gc[i] || b != gb[i]) {
                    if (bad < 10)
                        cr_log_error("%s %s x=%08x: cpu %08x/%08x gpu %08x/%08x", f.name,
                                     axl_round_name((enum axl_round)r), axl_f32_bits(x[i]), c, b,
                                     gc[i], gb[i]);
                    bad++;
                }
            }
        }
    }
    free(x);
    free(gc);
    free(gb);
    cr_assert_eq(bad, 0, "%zu CPU/GPU mismatches", bad);
}
