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

#include <float.h>

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

/* The fast element encoding of axl_block_quantize (formats/block.c:
 * fast_elem) against the rule it replaces, axl_format_encode_pow2 of each
 * value by the block's scale: the midpoints between neighbouring element
 * values (ties) and one float32 ulp either side, at scales across E8M0's
 * range, and random float32 values of every magnitude.  Each block holds
 * the largest element value times 2^se first, so that its scale is se. */
Test(block_fused, fast_element_encoding_is_encode_pow2, .timeout = 120)
{
    const int ses[] = {-127, -126, -120, -60, -9, -1, 0, 1, 7, 40, 100, 112};
    for (size_t f = 0; f < NFMT; f++) {
        struct axl_block_format bf;
        cr_assert_eq(axl_block_format_parse(k_formats[f], &bf, NULL), AXL_OK);
        if (bf.scale != AXL_BSCALE_E8M0)
            continue;
        const uint32_t maxmag = axl_format_max_mag(&bf.elem);
        const double top = (double)axl_format_decode(&bf.elem, maxmag);
        enum { NV = 1 << 16 };
        float *v = malloc(NV * sizeof *v);
        int64_t n = 0, bad = 0, checked = 0;
        srand(1200 + (unsigned)f);
        for (size_t si = 0; si < sizeof ses / sizeof ses[0]; si++) {
            int se = ses[si];
            if (se + bf.emax > 127)
                continue;
            n = 0;
            for (uint32_t c = 0; c < maxmag && n + 31 * 6 < NV; c++) {
                double lo = axl_format_decode(&bf.elem, c), hi = axl_format_decode(&bf.elem, c + 1);
                float mid = (float)ldexp((lo + hi) / 2.0, se + bf.elem_shift);
                if (n % bf.size == 0)
                    v[n++] = (float)ldexp(top, se + bf.elem_shift);
                v[n++] = mid;
                v[n++] = -nextafterf(mid, INFINITY);
                v[n++] = nextafterf(mid, 0.0f);
            }
            while (n < NV) {
                if (n % bf.size == 0) {
                    v[n++] = (float)ldexp(top, se + bf.elem_shift);
                    continue;
                }
                uint32_t u = ((uint32_t)rand() << 16) ^ (uint32_t)rand();
                float x;
                memcpy(&x, &u, sizeof x);
                if (!isfinite(x))
                    x = 0.0f;
                /* magnitudes at and below the block's: frexp's exponent cut to it */
                int e;
                float fr = frexpf(x, &e);
                v[n++] = ldexpf(fr, (e % (bf.emax + 30)) - 20 + se);
            }
            uint32_t *codes = malloc(NV * sizeof *codes), *scales = malloc(NV * sizeof *scales);
            float ts;
            cr_assert_eq(axl_block_quantize(&bf, v, NV, AXL_ROUND_NEAREST_EVEN, 0, NULL, codes,
                                            scales, &ts, NULL),
                         AXL_OK);
            for (int64_t i = 0; i < NV; i++) {
                uint32_t s = scales[i / bf.size];
                if (s == 255u)
                    continue;
                uint32_t want = axl_format_encode_pow2(&bf.elem, v[i], -((int)s - 127) -
                                                       bf.elem_shift, AXL_ROUND_NEAREST_EVEN, 0);
                if (bf.elem.kind == AXL_KIND_INT && want == 1u << (bf.elem.bits - 1))
                    want++;
                checked++;
                if (codes[i] != want && bad++ < 10)
                    cr_log_error("%s se=%d: %a -> %#x, encode_pow2 %#x", k_formats[f], se,
                                 (double)v[i], codes[i], want);
            }
            free(codes);
            free(scales);
        }
        free(v);
        cr_expect_eq(bad, 0, "%s: %lld of %lld element codes differ", k_formats[f],
                     (long long)bad, (long long)checked);
        cr_expect_gt(checked, 100000, "%s: too few codes checked", k_formats[f]);
    }
}

/* axl_block_quantize_cols (a convolution's input quantized where it lies,
 * channel-major) against axl_block_quantize of each column: every format
 * it serves (and none else), columns of values of every magnitude, ties
 * between element values and values rounding past the largest one at
 * scales across E8M0's range, zero columns, NaN and inf, partial last
 * blocks, tiles of columns (64) crossed, strides wider than the columns. */
Test(block_fused, quantize_cols_is_quantize, .timeout = 120)
{
    const int64_t lens[] = {1, 31, 32, 33, 64, 70, 100}, ncols[] = {1, 17, 64, 65, 130};
    int served = 0;
    for (size_t f = 0; f < NFMT; f++) {
        struct axl_block_format bf;
        cr_assert_eq(axl_block_format_parse(k_formats[f], &bf, NULL), AXL_OK);
        const int want_served = bf.scale == AXL_BSCALE_E8M0 && bf.elem.kind == AXL_KIND_FLOAT;
        const double top = (double)axl_format_decode(&bf.elem, axl_format_max_mag(&bf.elem));
        const double step = top - (double)axl_format_decode(&bf.elem, axl_format_max_mag(&bf.elem) - 1);
        int64_t bad = 0, checked = 0;
        for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++)
            for (size_t ci = 0; ci < sizeof ncols / sizeof ncols[0]; ci++) {
                const int64_t len = lens[li], nc = ncols[ci], xst = nc + 3, ost = nc + 5;
                const int64_t nb = axl_block_count(&bf, len);
                float *x = calloc((size_t)(len * xst), sizeof *x), *col = malloc((size_t)len * sizeof *col);
                uint8_t *codes = malloc((size_t)(nb * bf.size * ost));
                uint32_t *sc = malloc((size_t)(nb * ost) * sizeof *sc);
                uint32_t *rc = malloc((size_t)(nb * bf.size) * sizeof *rc), *rs = malloc((size_t)nb * sizeof *rs);
                srand(1400 + (unsigned)(f * 100 + li * 10 + ci));
                for (int64_t c = 0; c < nc; c++) {
                    int se = (int)(c % 9) * 31 - 127 - bf.emax; /* scales across E8M0 */
                    for (int64_t i = 0; i < len; i++) {
                        float v;
                        switch ((c + i) % 5) {
                        case 0: v = (float)ldexp(top, se); break; /* the block's largest */
                        case 1: v = (float)ldexp(top + step / 2.0, se); break; /* past it: saturates */
                        case 2: v = (float)ldexp((double)rand() / RAND_MAX * top, se); break;
                        case 3: v = (float)ldexp((double)(rand() % 16) / 8.0, se); break; /* ties */
                        default: v = (float)ldexp((double)rand() / RAND_MAX, se - rand() % 12); break;
                        }
                        x[i * xst + c] = rand() % 2 ? -v : v;
                    }
                    if (c % 13 == 4)
                        for (int64_t i = 0; i < len; i++)
                            x[i * xst + c] = 0.0f;
                    if (c % 17 == 6)
                        x[(len - 1) * xst + c] = c % 2 ? NAN : -INFINITY;
                }
                int got = axl_block_quantize_cols(&bf, x, len, nc, xst, codes, sc, ost);
                cr_expect_eq(got, want_served, "%s: served %d", k_formats[f], got);
                if (!got) {
                    free(x); free(col); free(codes); free(sc); free(rc); free(rs);
                    continue;
                }
                served++;
                for (int64_t c = 0; c < nc; c++) {
                    for (int64_t i = 0; i < len; i++)
                        col[i] = x[i * xst + c];
                    float ts;
                    cr_assert_eq(axl_block_quantize(&bf, col, len, AXL_ROUND_NEAREST_EVEN, 0, NULL,
                                                    rc, rs, &ts, NULL), AXL_OK);
                    for (int64_t b = 0; b < nb; b++) {
                        checked++;
                        if (sc[b * ost + c] != rs[b] && bad++ < 10)
                            cr_log_error("%s len %lld col %lld block %lld: scale %u, want %u",
                                         k_formats[f], (long long)len, (long long)c, (long long)b,
                                         sc[b * ost + c], rs[b]);
                    }
                    for (int64_t i = 0; i < nb * bf.size; i++) {
                        checked++;
                        if (codes[i * ost + c] != rc[i] && bad++ < 10)
                            cr_log_error("%s len %lld col %lld element %lld (%a): %#x, want %#x",
                                         k_formats[f], (long long)len, (long long)c, (long long)i,
                                         i < len ? (double)col[i] : 0.0, codes[i * ost + c], rc[i]);
                    }
                }
                free(x); free(col); free(codes); free(sc); free(rc); free(rs);
            }
        cr_expect_eq(bad, 0, "%s: %lld of %lld codes and scales differ", k_formats[f],
                     (long long)bad, (long long)checked);
    }
    cr_expect_geq(served, 4, "quantize_cols served too few formats");
}

#if defined(__x86_64__) && defined(__GNUC__)
#include "cpu/bscale.h"

/* The kernel's position of vector v, dword d (cpu/bscale.h). */
static int kpos(int v, int d, int order_b)
{
    int j = v / 4, q = v % 4, l = d / 4, i = d % 4;
    return 64 * j + 16 * l + (order_b ? 8 * (q >> 1) + 2 * i + (q & 1) : 4 * q + i);
}

__attribute__((target("avx512f"))) static void scale_once(const struct axl_bscale *bs,
                                                          int order_b, uint32_t ws, int off,
                                                          const float *sum, float *out)
{
    struct axl_bscale_blk blk;
    __m512 s[8];
    __m512i tot[8];
    axl_bscale_block(bs, 0, order_b, &blk);
    for (int v = 0; v < 8; v++) {
        s[v] = _mm512_loadu_ps(sum + 16 * v);
        tot[v] = _mm512_setzero_si512();
    }
    axl_bscale_add(bs, &blk, ws, off, s, tot, 8);
    for (int v = 0; v < 8; v++)
        _mm512_storeu_si512(out + 16 * v, tot[v]);
}

/* axl_bscale_block and axl_bscale_add against ldexpf lane by lane: every
 * E8M0 code on both sides (255: NaN), both orders of positions, sums of
 * every magnitude (subnormal, the largest, inf, NaN) with the unit folded
 * in (OFF), so that results are normal, subnormal, zero and inf: the
 * claim that VSCALEFPS rounds as ldexpf does, and the position maps.  And
 * NVFP4's two multiplies by the scale values. */
Test(block_fused, scalef_is_ldexpf)
{
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f"))
        cr_skip_test("no AVX-512 on this CPU");
    float svalue[256];
    for (int c = 0; c < 256; c++) {
        uint32_t u = (uint32_t)c << 20 ^ 0x3C000000u; /* assorted finite values */
        memcpy(&svalue[c], &u, sizeof u);
    }
    svalue[127] = NAN;
    uint32_t xs[128];
    float sum[128], got[128];
    int64_t bad = 0, checked = 0;
    srand(1300);
    for (int round = 0; round < 4000; round++) {
        const int order_b = round & 1, nvfp = round % 7 == 3;
        const int off = (round / 2) % 3 == 0 ? 0 : -2 - round % 5;
        const uint32_t ws = round < 256 ? (uint32_t)round : (uint32_t)(rand() % 256);
        const int with_nan = round % 5 == 0;
        for (int p = 0; p < 128; p++) {
            xs[p] = (uint32_t)((round * 128 + p) % 256);
            if (!with_nan && xs[p] == 255u)
                xs[p] = (uint32_t)(rand() % 255);
            uint32_t u = ((uint32_t)rand() << 16) ^ (uint32_t)rand();
            if (p % 16 == 5)
                u &= 0x807FFFFFu; /* subnormal */
            memcpy(&sum[p], &u, sizeof u);
            if (p == 7)
                sum[p] = INFINITY;
            if (p == 9)
                sum[p] = -FLT_MAX;
            if (p == 11)
                sum[p] = 0.0f;
        }
        const struct axl_bscale bs = {.size = 32, .nb = 1, .nvfp = nvfp, .xs = xs, .xss = 128,
                                      .ws = &ws, .svalue = svalue};
        float kin[128];
        for (int v = 0; v < 8; v++)
            for (int d = 0; d < 16; d++)
                kin[16 * v + d] = sum[kpos(v, d, order_b)];
        scale_once(&bs, order_b, ws, off, kin, got);
        for (int v = 0; v < 8; v++)
            for (int d = 0; d < 16; d++) {
                int p = kpos(v, d, order_b);
                float want;
                if (nvfp)
                    want = 0.0f + (sum[p] * svalue[xs[p]]) * svalue[ws];
                else if (xs[p] == 255u || ws == 255u)
                    want = NAN;
                else
                    want = 0.0f + ldexpf(sum[p], (int)xs[p] + (int)ws - 254 + off);
                float g = got[16 * v + d];
                checked++;
                if (isnan(want) ? !isnan(g) : memcmp(&want, &g, sizeof g) != 0) {
                    if (bad++ < 10)
                        cr_log_error("nvfp %d order_b %d xs %u ws %u off %d: %a -> %a, want %a",
                                     nvfp, order_b, xs[p], ws, off, (double)sum[p], (double)g,
                                     (double)want);
                }
            }
    }
    cr_expect_eq(bad, 0, "%lld of %lld scaled sums differ", (long long)bad, (long long)checked);
    cr_expect_gt(checked, 500000);
}
#endif
