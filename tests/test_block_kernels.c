/* Block-scaled layers through the MAC engine (emu/mac/block_plan.h,
 * cpu/block_cpu.c) against the reference layers axl_block_gemm_ref /
 * axl_block_conv2d_ref (block_mac.h), bit for bit: every block format, odd
 * sizes and partial last blocks, transposed GEMM operands, groups and
 * depthwise convolutions with padding, stride and dilation, approximate
 * element multipliers (Mitchell, DRUM), an approximate block adder and an
 * adder across blocks; the weights' cache; the refusals of bad
 * configurations.  The reference gets its own design contexts, bound here,
 * and evaluates every product through the design's function, where the
 * engine reads a product table. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "block_cases.h"

Test(block_kernels, gemm_every_format_exact_products, .timeout = 300)
{
    for (size_t f = 0; f < NFMT; f++) {
        struct cfg k = {.fmt = k_formats[f]};
        gemm_case(&k, 7, 5, 70, 0, 0, 10 + (unsigned)f); /* partial last block */
        gemm_case(&k, 130, 3, 33, 1, 1, 20 + (unsigned)f); /* two position blocks */
        gemm_case(&k, 2, 19, 64, 0, 1, 30 + (unsigned)f); /* whole blocks, > NG channels */
        gemm_case(&k, 1, 1, 5, 1, 0, 40 + (unsigned)f);   /* one short block */
    }
}

Test(block_kernels, gemm_default_multiplier_is_the_exact_product)
{
    /* the engine's default element multiplier against the reference's
     * exact path (no design at all) */
    for (size_t f = 0; f < NFMT; f++) {
        struct axl_block_format bf;
        cr_assert_eq(axl_block_format_parse(k_formats[f], &bf, NULL), AXL_OK);
        struct cfg k = {.fmt = k_formats[f]};
        struct axl_mac *m = plan_of(&k);
        enum { M = 9, N = 6, K = 75 };
        float a[M * K], b[K * N], c[M * N], c2[M * N];
        fill(a, M * K, 50 + (unsigned)f);
        fill(b, K * N, 60 + (unsigned)f);
        struct axl_gemm_args g = {.m = M, .n = N, .k = K, .a = a, .lda = K, .b = b, .ldb = N,
                                  .c = c, .ldc = N};
        char msg[AXL_MSG_LEN];
        cr_assert_eq(axl_mac_gemm(m, AXL_BACKEND_CPU, &g, msg), AXL_OK, "%s", msg);
        g.c = c2;
        cr_assert_eq(axl_block_gemm_ref(&bf, &bf, NULL, &g, msg), AXL_OK, "%s", msg);
        same_bits(k_formats[f], c, c2, M * N);
        axl_mac_free(m);
    }
}

Test(block_kernels, gemm_approximate_multipliers_and_adders, .timeout = 300)
{
    for (size_t f = 0; f < NFMT; f++) {
        const char *fmt = k_formats[f];
        int isint = !strcmp(fmt, "mxint8");
        struct cfg mit = {.fmt = fmt, .mul = mitchell_of(fmt)};
        struct cfg drum = {.fmt = fmt, .mul = drum_of(fmt), .param = isint ? "k=4" : "k=3"};
        gemm_case(&mit, 11, 7, 70, 0, 0, 70 + (unsigned)f);
        gemm_case(&drum, 11, 7, 70, 1, 0, 80 + (unsigned)f);
        /* an approximate block adder on fp16 codes, and adds across blocks
         * by an approximate adder on bf16 */
        struct cfg bad = {.fmt = fmt, .mul = mitchell_of(fmt), .badd = "fpadd_loa",
                          .bparam = "k=6", .bacc = "fp16"};
        gemm_case(&bad, 9, 5, 99, 0, 1, 90 + (unsigned)f);
        struct cfg both = {.fmt = fmt, .badd = "fpadd_trunc_add", .bparam = "k=3",
                           .bacc = "bf16", .add = "fpadd_eta1", .acc = "fp32"};
        gemm_case(&both, 4, 9, 130, 0, 0, 100 + (unsigned)f);
        struct cfg exact_acc = {.fmt = fmt, .badd = "add_exact", .bacc = "e5m7",
                                .add = "add_exact", .acc = "bf16"};
        gemm_case(&exact_acc, 3, 3, 64, 0, 0, 110 + (unsigned)f);
    }
}

Test(block_kernels, conv_every_format, .timeout = 300)
{
    const struct conv_shape shapes[] = {
        {2, 5, 6, 7, 4, 3, 3, 1, 1, 1, 1},   /* 5 channels: one partial block per tap */
        {1, 40, 5, 5, 3, 3, 2, 2, 1, 1, 1},  /* 40 channels, stride 2, 3x2 kernel */
        {2, 6, 9, 9, 6, 3, 3, 1, 2, 2, 6},   /* depthwise, dilation 2 */
        {1, 68, 4, 4, 4, 1, 1, 1, 0, 1, 2},  /* 1x1 in two groups of 34 */
    };
    for (size_t f = 0; f < NFMT; f++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            struct cfg k = {.fmt = k_formats[f]};
            conv_case(&k, shapes[s], 200 + (unsigned)(f * 10 + s));
        }
}

Test(block_kernels, conv_approximate_multiplier_and_block_adder, .timeout = 300)
{
    const struct conv_shape s = {2, 36, 5, 6, 6, 3, 3, 1, 1, 1, 2};
    for (size_t f = 0; f < NFMT; f++) {
        const char *fmt = k_formats[f];
        struct cfg k = {.fmt = fmt, .mul = drum_of(fmt), .param = "k=3", .badd = "fpadd_ama5",
                        .bparam = "k=5", .bacc = "fp16"};
        conv_case(&k, s, 300 + (unsigned)f);
        struct cfg mit = {.fmt = fmt, .mul = mitchell_of(fmt), .add = "fpadd_loa",
                          .acc = "fp32"};
        conv_case(&mit, s, 320 + (unsigned)f);
    }
}

/* The same sums by gathers where the permute kernels would serve (e2m1,
 * e3m2, e2m3 elements on an AVX-512 machine): the environment chooses the
 * kernel when a plan is made. */
Test(block_kernels, gather_kernel_every_format, .timeout = 300)
{
    cr_assert_eq(setenv("AXL_CPU_KERNEL", "gather", 1), 0);
    const struct conv_shape sh = {2, 40, 5, 6, 4, 3, 3, 1, 1, 1, 2};
    for (size_t f = 0; f < NFMT; f++) {
        struct cfg k = {.fmt = k_formats[f], .mul = mitchell_of(k_formats[f])};
        gemm_case(&k, 9, 6, 70, 0, 0, 500 + (unsigned)f);
        conv_case(&k, sh, 510 + (unsigned)f);
    }
}

/* The weights are quantized once and reused; a tensor changed in place is
 * quantized again (training changes weights between calls). */
Test(block_kernels, weights_cached_and_requantized)
{
    struct cfg k = {.fmt = "nvfp4", .mul = "fpmul_mitchell"};
    struct ref r;
    bind_ref(&k, &r);
    struct axl_mac *m = plan_of(&k);
    enum { M = 6, N = 4, K = 50 };
    float a[M * K], b[K * N], c[M * N], c2[M * N];
    fill(a, M * K, 400);
    fill(b, K * N, 401);
    struct axl_gemm_args g = {.m = M, .n = N, .k = K, .a = a, .lda = K, .b = b, .ldb = N, .c = c,
                              .ldc = N};
    char msg[AXL_MSG_LEN];
    for (int round = 0; round < 3; round++) {
        if (round == 2)
            for (int i = 0; i < K * N; i++)
                b[i] = -2.0f * b[i] + 0.5f;
        g.c = c;
        cr_assert_eq(axl_mac_gemm(m, AXL_BACKEND_CPU, &g, msg), AXL_OK, "%s", msg);
        g.c = c2;
        cr_assert_eq(axl_block_gemm_ref(&r.bf, &r.bf, &r.arith, &g, msg), AXL_OK, "%s", msg);
        same_bits(round == 2 ? "weights changed in place" : "weights cached", c, c2, M * N);
    }
    axl_mac_free(m);
}

/* A second operand that comes from a new buffer on every call (attention's
 * activation x activation MatMul) is quantized each time, and the plan
 * keeps a bounded number of them (a leak would show under ASan). */
Test(block_kernels, many_weight_buffers)
{
    struct cfg k = {.fmt = "mxfp6e3m2"};
    struct ref r;
    bind_ref(&k, &r);
    struct axl_mac *m = plan_of(&k);
    enum { M = 3, N = 2, K = 40 };
    float a[M * K], c[M * N], c2[M * N];
    fill(a, M * K, 600);
    char msg[AXL_MSG_LEN];
    for (int call = 0; call < 40; call++) {
        float *b = malloc(K * N * sizeof *b);
        fill(b, K * N, 601 + (unsigned)call);
        struct axl_gemm_args g = {.m = M, .n = N, .k = K, .a = a, .lda = K, .b = b, .ldb = N,
                                  .c = c, .ldc = N};
        cr_assert_eq(axl_mac_gemm(m, AXL_BACKEND_CPU, &g, msg), AXL_OK, "%s", msg);
        g.c = c2;
        cr_assert_eq(axl_block_gemm_ref(&r.bf, &r.bf, &r.arith, &g, msg), AXL_OK, "%s", msg);
        same_bits("a new weight buffer per call", c, c2, M * N);
        free(b);
    }
    axl_mac_free(m);
}

static void refused(struct axl_mac_spec s, const char *needle)
{
    struct axl_mac *m = (struct axl_mac *)1;
    char msg[AXL_MSG_LEN] = "";
    cr_expect_neq(axl_mac_create(&s, &m, msg), AXL_OK, "accepted: %s %s", s.fmt_a,
                  s.fmt_w ? s.fmt_w : "");
    cr_expect_null(m);
    cr_expect(strstr(msg, needle) != NULL, "message '%s' lacks '%s'", msg, needle);
    cr_expect(!strchr(msg, '\n'), "one line: '%s'", msg);
}

Test(block_kernels, bad_configurations_refused)
{
    refused((struct axl_mac_spec){.fmt_a = "mxfp8", .fmt_w = "nvfp4"}, "one block size");
    refused((struct axl_mac_spec){.fmt_a = "mxfp4", .fmt_w = "e2m1"}, "both operands");
    refused((struct axl_mac_spec){.fmt_a = "e4m3", .fmt_w = "mxfp8"}, "both operands");
    refused((struct axl_mac_spec){.fmt_a = "mxfp8", .wscale = AXL_WSCALE_CHANNEL}, "own block");
    refused((struct axl_mac_spec){.fmt_a = "mxint8", .ascale = AXL_ASCALE_DYNAMIC}, "own block");
    refused((struct axl_mac_spec){.fmt_a = "mxfp4", .order = AXL_ORDER_PAIRWISE}, "sequential");
    refused((struct axl_mac_spec){.fmt_a = "mxfp4", .round = AXL_ROUND_STOCHASTIC},
            "nearest even");
    refused((struct axl_mac_spec){.fmt_a = "mxfp4", .fmt_block_acc = "fp16"}, "block adder");
    refused((struct axl_mac_spec){.fmt_a = "mxfp4", .block_add = "fpmul_mitchell"}, "adder");
    refused((struct axl_mac_spec){.fmt_a = "mxfp4", .block_add = "add_exact",
                                  .fmt_block_acc = "int16"},
            "floating");
}

Test(block_kernels, description_names_the_blocks)
{
    struct cfg k = {.fmt = "mxfp4", .mul = "fpmul_drum", .param = "k=3", .badd = "fpadd_loa",
                    .bacc = "fp16"};
    struct axl_mac *m = plan_of(&k);
    char d[400];
    axl_mac_describe(m, d, sizeof d);
    cr_expect(strstr(d, "e2m1 x e2m1") && strstr(d, "blocks mxfp4 x mxfp4 of 32") &&
                  strstr(d, "fpadd_loa on fp16"),
              "%s", d);
    axl_mac_free(m);
}
