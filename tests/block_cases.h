/* Block-scaled layer cases for the tests (test_block_kernels.c,
 * test_block_fused.c): a plan from a small configuration, the reference
 * layers axl_block_gemm_ref / axl_block_conv2d_ref with their own design
 * contexts (every product through the design's function, where the engine
 * reads a product table), and a bitwise comparison. */
#ifndef AXLUT_TESTS_BLOCK_CASES_H
#define AXLUT_TESTS_BLOCK_CASES_H

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

static inline uint32_t via(const void *ctx, uint32_t a, uint32_t b)
{
    const struct bound *x = ctx;
    return x->d->eval(&x->c, a, b);
}

struct ref {
    struct axl_block_format bf;
    struct bound mul, badd, add;
    struct axl_block_mul arith;
};

static inline void bind_ref(const struct cfg *k, struct ref *r)
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

static inline struct axl_mac *plan_of(const struct cfg *k)
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
static inline void fill(float *v, int64_t n, unsigned seed)
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
static inline void same_bits(const char *what, const float *got, const float *want, int64_t n)
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

typedef void (*fill_fn)(float *v, int64_t n, unsigned seed);

/* The engine's GEMM against the reference's, operands from FILL_A and
 * FILL_B (fill when NULL). */
static inline void gemm_case_with(const struct cfg *k, int64_t M, int64_t N, int64_t K, int ta, int tb,
                           fill_fn fill_a, fill_fn fill_b, unsigned seed)
{
    struct ref r;
    bind_ref(k, &r);
    struct axl_mac *m = plan_of(k);
    float *a = malloc((size_t)(M * K) * 4), *b = malloc((size_t)(N * K) * 4);
    float *bias = malloc((size_t)N * 4), *c = malloc((size_t)(M * N) * 4);
    float *c2 = malloc((size_t)(M * N) * 4);
    (fill_a ? fill_a : fill)(a, M * K, seed);
    (fill_b ? fill_b : fill)(b, N * K, seed + 1);
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

static inline void gemm_case(const struct cfg *k, int64_t M, int64_t N, int64_t K, int ta, int tb,
                      unsigned seed)
{
    gemm_case_with(k, M, N, K, ta, tb, NULL, NULL, seed);
}

struct conv_shape {
    int64_t n, c, h, w, oc, kh, kw, stride, pad, dil, groups;
};

static inline void conv_case_with(const struct cfg *k, struct conv_shape s, fill_fn fill_x,
                           unsigned seed)
{
    struct ref r;
    bind_ref(k, &r);
    struct axl_mac *m = plan_of(k);
    int64_t nx = s.n * s.c * s.h * s.w, nw = s.oc * (s.c / s.groups) * s.kh * s.kw;
    float *x = malloc((size_t)nx * 4), *w = malloc((size_t)nw * 4), *bias = malloc((size_t)s.oc * 4);
    (fill_x ? fill_x : fill)(x, nx, seed);
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

static inline void conv_case(const struct cfg *k, struct conv_shape s, unsigned seed)
{
    conv_case_with(k, s, NULL, seed);
}

/* The approximate element multipliers of a format: floating designs on
 * floating elements, integer designs on MXINT8's. */
static inline const char *mitchell_of(const char *fmt)
{
    return strcmp(fmt, "mxint8") ? "fpmul_mitchell" : "mitchell";
}

static inline const char *drum_of(const char *fmt) { return strcmp(fmt, "mxint8") ? "fpmul_drum" : "drum"; }

#endif
