/* The fused block-scaled CPU kernels (block sums, block scaling and the
 * adds across blocks in registers: cpu/bscale.h, axl_small_run_scaled,
 * axl_vbmi_run_scaled) against the reference layers, bit for bit: that the
 * plans take them where they apply (and not where an adder design runs),
 * shapes that cross every blocking of the kernels (more than 16 channels,
 * position blocks of 128 with a last one under 64, partial last blocks),
 * groups, depthwise and strided convolutions, approximate element
 * multipliers, blocks scaled far apart (scalings that leave float32's
 * normal range, through the float64 path), NaN and inf inputs; and the
 * AVX2 setting, where the small tables fall back to the unfused path. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "block_cases.h"
#include "block_plan.h"

/* Whether this CPU runs the fused kernels for a format's element table. */
static int fusable(const char *fmt)
{
    struct axl_block_format bf;
    cr_assert_eq(axl_block_format_parse(fmt, &bf, NULL), AXL_OK);
    return bf.elem.bits <= 6 ? axl_small_isa() == AXL_SMALL_AVX512 : axl_vbmi_available();
}

Test(block_fused, chosen_where_they_apply)
{
    int tried = 0;
    for (size_t f = 0; f < NFMT; f++) {
        const char *fmt = k_formats[f];
        if (!fusable(fmt))
            continue;
        tried++;
        const struct cfg plain = {.fmt = fmt}, mit = {.fmt = fmt, .mul = mitchell_of(fmt)};
        const struct cfg across = {.fmt = fmt, .add = "fpadd_loa", .acc = "fp32"};
        const struct cfg within = {.fmt = fmt, .badd = "fpadd_loa", .bparam = "k=6",
                                   .bacc = "fp16"};
        struct axl_mac *m = plan_of(&plain);
        cr_expect_eq(m->blk->fused, 1, "%s: exact products not fused", fmt);
        axl_mac_free(m);
        m = plan_of(&mit);
        cr_expect_eq(m->blk->fused, 1, "%s: Mitchell products not fused", fmt);
        axl_mac_free(m);
        m = plan_of(&across);
        cr_expect_eq(m->blk->fused, 0, "%s: an adder across blocks runs on codes", fmt);
        axl_mac_free(m);
        m = plan_of(&within);
        cr_expect_eq(m->blk->fused, 0, "%s: a block adder runs on codes", fmt);
        axl_mac_free(m);
    }
    if (!tried)
        cr_skip_test("no AVX-512 VBMI on this CPU: the fused kernels never run");
}

Test(block_fused, gemm_shapes_across_the_blockings, .timeout = 300)
{
    for (size_t f = 0; f < NFMT; f++) {
        const char *fmt = k_formats[f];
        struct cfg k = {.fmt = fmt}, mit = {.fmt = fmt, .mul = mitchell_of(fmt)};
        /* 300 positions: blocks of 128, 128 and 44 (one vector); 37
         * channels: two tasks of 16 and one of 5; K = 100: a partial
         * last block */
        gemm_case(&k, 300, 37, 100, 0, 0, 700 + (unsigned)f);
        gemm_case(&mit, 300, 37, 100, 1, 1, 710 + (unsigned)f);
        gemm_case(&k, 64, 18, 96, 0, 1, 720 + (unsigned)f); /* one vector, whole blocks */
        gemm_case(&mit, 65, 3, 17, 1, 0, 730 + (unsigned)f); /* one short block */
    }
}

Test(block_fused, conv_shapes_across_the_blockings, .timeout = 300)
{
    const struct conv_shape shapes[] = {
        {2, 70, 9, 9, 20, 3, 3, 1, 1, 1, 1},   /* 162 positions, 20 channels, 70 = 2 x 32 + 6 */
        {1, 64, 12, 12, 36, 3, 3, 2, 1, 1, 2}, /* two groups of 32 channels, stride 2 */
        {1, 24, 16, 16, 24, 3, 3, 1, 1, 1, 24}, /* depthwise: blocks of one channel */
        {3, 33, 7, 5, 17, 1, 3, 1, 2, 2, 1},   /* 1x3, dilation 2, wide padding */
    };
    for (size_t f = 0; f < NFMT; f++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            const char *fmt = k_formats[f];
            struct cfg k = {.fmt = fmt};
            struct cfg d = {.fmt = fmt, .mul = drum_of(fmt), .param = "k=3"};
            conv_case(s % 2 ? &d : &k, shapes[s], 800 + (unsigned)(f * 10 + s));
        }
}

/* fill's values, blocks of 16 scaled by 2^e far apart (|e| from 80 to 115,
 * or 0), a few NaN and inf: MX scalings leave float32's normal range both
 * ways (the float64 path of cpu/bscale.h), products underflow and overflow. */
static void fill_wide(float *v, int64_t n, unsigned seed)
{
    fill(v, n, seed);
    srand(seed * 7u + 1u);
    for (int64_t b = 0; b < n; b += 16) {
        int e = rand() % 5 == 0 ? 0 : (rand() % 2 ? 1 : -1) * (80 + rand() % 36);
        for (int64_t i = b; i < n && i < b + 16; i++)
            v[i] = ldexpf(v[i], e);
    }
    if (n > 400) {
        v[101] = NAN;
        v[250] = INFINITY;
        v[399] = -INFINITY;
    }
}

Test(block_fused, wide_scales_nan_and_inf, .timeout = 300)
{
    const struct conv_shape sh = {2, 40, 8, 8, 18, 3, 3, 1, 1, 1, 1};
    for (size_t f = 0; f < NFMT; f++) {
        const char *fmt = k_formats[f];
        struct cfg k = {.fmt = fmt}, mit = {.fmt = fmt, .mul = mitchell_of(fmt)};
        gemm_case_with(&k, 200, 20, 96, 0, 0, fill_wide, fill_wide, 900 + (unsigned)f);
        gemm_case_with(&mit, 130, 17, 70, 1, 0, fill_wide, fill, 910 + (unsigned)f);
        gemm_case_with(&k, 150, 19, 64, 0, 1, fill, fill_wide, 920 + (unsigned)f);
        conv_case_with(&k, sh, fill_wide, 930 + (unsigned)f);
        conv_case_with(&mit, sh, fill_wide, 940 + (unsigned)f);
    }
}

/* AXL_CPU_KERNEL=avx2: the small tables' AVX2 kernels have no fused form,
 * so FP4 and FP6 elements take the unfused path; same bits either way. */
Test(block_fused, avx2_setting, .timeout = 300)
{
    cr_assert_eq(setenv("AXL_CPU_KERNEL", "avx2", 1), 0);
    const struct conv_shape sh = {2, 40, 6, 6, 18, 3, 3, 1, 1, 1, 2};
    for (size_t f = 0; f < NFMT; f++) {
        const char *fmt = k_formats[f];
        struct axl_block_format bf;
        cr_assert_eq(axl_block_format_parse(fmt, &bf, NULL), AXL_OK);
        struct cfg k = {.fmt = fmt, .mul = mitchell_of(fmt)};
        if (bf.elem.bits <= 6) {
            struct axl_mac *m = plan_of(&k);
            cr_expect_eq(m->blk->fused, 0, "%s: fused under AXL_CPU_KERNEL=avx2", fmt);
            axl_mac_free(m);
        }
        gemm_case(&k, 140, 20, 70, 0, 0, 1000 + (unsigned)f);
        conv_case_with(&k, sh, fill_wide, 1010 + (unsigned)f);
    }
}
