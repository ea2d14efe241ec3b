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
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/block_mac.h"
#include "axlut/design.h"
#include "axlut/mac.h"

static const char *k_formats[] = {"mxfp8", "mxfp8e5m2", "mxfp6e3m2", "mxfp6e2m3",
                                  "mxfp4", "mxint8",    "nvfp4"};
#define NFMT (sizeof k_formats / sizeof k_formats[0])

/* What one case configures: the engine's spec and the reference's arithmetic. */
struct cfg {
    const char *fmt;
    const char *mul;    /* NULL: mul_exact */
    const char *param;  /* one multiplier parameter or NULL */
    const char *badd;   /* block adder or NULL */
    const char *bparam;
    const char *bacc;
    const char *add;    /* adder across blocks or NULL */
    const char *acc;
};

struct bound {
    struct axl_design_ctx c;
    const struct axl_design *d;
};

static uint32_t via(const void *ctx, uint32_t a, uint32_t b)
{
    const struct bound *x = ctx;
    return x->d->eval(&x->c, a, b);
}

struct ref {
    struct axl_block_format bf;
    struct bound mul, badd, add;
    struct axl_block_mul arith;
};

static void bind_ref(const struct cfg *k, struct ref *r)
{
    char msg[AXL_MSG_LEN];
    memset(r, 0, sizeof *r);
    cr_assert_eq(axl_block_format_parse(k->fmt, &r->bf, NULL), AXL_OK);
    struct axl_format fp32;
    axl_format_parse("fp32", &fp32, NULL);
    r->mul.d = axl_design_find(k->mul ? k->mul : "mul_exact");
    cr_assert(r->mul.d);
    const int isint = r->bf.elem.kind != AXL_KIND_FLOAT;
    const char *pp[1] = {k->param};
    cr_assert_eq(axl_design_bind(r->mul.d, &r->bf.elem, &r->bf.elem, isint ? NULL : &fp32, pp,
                                 k->param ? 1 : 0, &r->mul.c, msg),
                 AXL_OK, "%s", msg);
    r->arith.eval = via;
    r->arith.ctx = &r->mul;
    r->arith.fp = r->mul.c.fr;
    if (k->badd) {
        cr_assert_eq(axl_format_parse(k->bacc, &r->arith.fbacc, NULL), AXL_OK);
        r->badd.d = axl_design_find(k->badd);
        const char *bp[1] = {k->bparam};
        cr_assert_eq(axl_design_bind(r->badd.d, &r->arith.fbacc, &r->arith.fbacc,
                                     &r->arith.fbacc, bp, k->bparam ? 1 : 0, &r->badd.c, msg),
                     AXL_OK, "%s", msg);
        r->arith.badd = via;
        r->arith.badd_ctx = &r->badd;
    }
    if (k->add) {
        cr_assert_eq(axl_format_parse(k->acc, &r->arith.facc, NULL), AXL_OK);
        r->add.d = axl_design_find(k->add);
        cr_assert_eq(axl_design_bind(r->add.d, &r->arith.facc, &r->arith.facc, &r->arith.facc,
                                     NULL, 0, &r->add.c, msg),
                     AXL_OK, "%s", msg);
        r->arith.add = via;
        r->arith.add_ctx = &r->add;
    }
}

static struct axl_mac *plan_of(const struct cfg *k)
{
    struct axl_mac_spec s = {0};
    s.fmt_a = k->fmt;
    s.mul = k->mul;
    if (k->param) {
        s.mul_params[0] = k->param;
        s.n_mul_params = 1;
    }
    s.block_add = k->badd;
    if (k->bparam) {
        s.block_add_params[0] = k->bparam;
        s.n_block_add_params = 1;
    }
    s.fmt_block_acc = k->bacc;
    s.add = k->add;
    s.fmt_acc = k->acc;
    struct axl_mac *m;
    char msg[AXL_MSG_LEN];
    cr_assert_eq(axl_mac_create(&s, &m, msg), AXL_OK, "%s: %s", k->fmt, msg);
    return m;
}

/* Values of many magnitudes (blocks scaled far apart), signs, zeros and a
 * block of zeros now and then. */
static void fill(float *v, int64_t n, unsigned seed)
{
    srand(seed);
    for (int64_t i = 0; i < n; i++) {
        int r = rand() % 16;
        float x = (float)ldexp((double)(rand() % 2001 - 1000) / 1000.0, rand() % 24 - 12);
        v[i] = r == 0 ? 0.0f : x;
    }
    if (n > 40)
        memset(v + 3, 0, 34 * sizeof *v);
}

/* Bitwise comparison; at most ten mismatches printed.  Fails when every
 * output is zero (a run that computed nothing). */
static void same_bits(const char *what, const float *got, const float *want, int64_t n)
{
    int64_t bad = 0, nonzero = 0;
    for (int64_t i = 0; i < n; i++) {
        nonzero += want[i] != 0.0f;
        if (memcmp(&got[i], &want[i], sizeof got[i])) {
            if (bad < 10)
                cr_log_error("%s: output %lld is %a, the reference %a", what, (long long)i,
                             (double)got[i], (double)want[i]);
            bad++;
        }
    }
    cr_expect_eq(bad, 0, "%s: %lld of %lld outputs differ", what, (long long)bad, (long long)n);
    cr_expect_gt(nonzero, 0, "%s: every output is zero", what);
}

static void gemm_case(const struct cfg *k, int64_t M, int64_t N, int64_t K, int ta, int tb,
                      unsigned seed)
{
    struct ref r;
    bind_ref(k, &r);
    struct axl_mac *m = plan_of(k);
    float *a = malloc((size_t)(M * K) * 4), *b = malloc((size_t)(N * K) * 4);
    float *bias = malloc((size_t)N * 4), *c = malloc((size_t)(M * N) * 4);
    float *c2 = malloc((size_t)(M * N) * 4);
    fill(a, M * K, seed);
    fill(b, N * K, seed + 1);
    for (int64_t i = 0; i < N; i++)
        bias[i] = (float)i * 0.375f - 1.0f;
    struct axl_gemm_args g = {.trans_a = ta, .trans_b = tb, .m = M, .n = N, .k = K, .a = a,
                              .lda = ta ? M : K, .b = b, .ldb = tb ? K : N, .bias = bias,
                              .c = c, .ldc = N};
    char msg[AXL_MSG_LEN], what[160];
    cr_assert_eq(axl_mac_gemm(m, AXL_BACKEND_CPU, &g, msg), AXL_OK, "%s", msg);
    g.c = c2;
    cr_assert_eq(axl_block_gemm_ref(&r.bf, &r.bf, &r.arith, &g, msg), AXL_OK, "%s", msg);
    snprintf(what, sizeof what, "gemm %s mul=%s badd=%s add=%s %lldx%lldx%lld ta=%d tb=%d",
             k->fmt, k->mul ? k->mul : "exact", k->badd ? k->badd : "fp32",
             k->add ? k->add : "fp32", (long long)M, (long long)N, (long long)K, ta, tb);
    same_bits(what, c, c2, M * N);
    axl_mac_free(m);
    free(a), free(b), free(bias), free(c), free(c2);
}

struct conv_shape {
    int64_t n, c, h, w, oc, kh, kw, stride, pad, dil, groups;
};

static void conv_case(const struct cfg *k, struct conv_shape s, unsigned seed)
{
    struct ref r;
    bind_ref(k, &r);
    struct axl_mac *m = plan_of(k);
    int64_t nx = s.n * s.c * s.h * s.w, nw = s.oc * (s.c / s.groups) * s.kh * s.kw;
    float *x = malloc((size_t)nx * 4), *w = malloc((size_t)nw * 4), *bias = malloc((size_t)s.oc * 4);
    fill(x, nx, seed);
    fill(w, nw, seed + 7);
    for (int64_t i = 0; i < s.oc; i++)
        bias[i] = (float)i * 0.25f;
    struct axl_conv_args a = {.n = s.n, .c = s.c, .h = s.h, .w = s.w, .oc = s.oc, .kh = s.kh,
                              .kw = s.kw, .stride_h = s.stride, .stride_w = s.stride,
                              .pad_t = s.pad, .pad_l = s.pad, .pad_b = s.pad, .pad_r = s.pad,
                              .dil_h = s.dil, .dil_w = s.dil, .groups = s.groups, .x = x,
                              .weight = w, .bias = bias};
    int64_t oh, ow;
    char msg[AXL_MSG_LEN], what[200];
    cr_assert_eq(axl_conv_out_size(&a, &oh, &ow, msg), AXL_OK, "%s", msg);
    int64_t ny = s.n * s.oc * oh * ow;
    float *y = malloc((size_t)ny * 4), *y2 = malloc((size_t)ny * 4);
    a.y = y;
    cr_assert_eq(axl_mac_conv2d(m, AXL_BACKEND_CPU, &a, msg), AXL_OK, "%s", msg);
    a.y = y2;
    cr_assert_eq(axl_block_conv2d_ref(&r.bf, &r.bf, &r.arith, &a, msg), AXL_OK, "%s", msg);
    snprintf(what, sizeof what, "conv %s mul=%s badd=%s c=%lld oc=%lld %lldx%lld g=%lld",
             k->fmt, k->mul ? k->mul : "exact", k->badd ? k->badd : "fp32", (long long)s.c,
             (long long)s.oc, (long long)s.kh, (long long)s.kw, (long long)s.groups);
    same_bits(what, y, y2, ny);
    axl_mac_free(m);
    free(x), free(w), free(bias), free(y), free(y2);
}

/* The approximate element multipliers of a format: floating designs on
 * floating elements, integer designs on MXINT8's. */
static const char *mitchell_of(const char *fmt)
{
    return strcmp(fmt, "mxint8") ? "fpmul_mitchell" : "mitchell";
}

static const char *drum_of(const char *fmt) { return strcmp(fmt, "mxint8") ? "fpmul_drum" : "drum"; }

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
