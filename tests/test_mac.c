#define _POSIX_C_SOURCE 200809L
/* The MAC engine's CPU kernels against the naive reference (tests/mac_ref.h),
 * bit for bit in approximate modes; exact mode against float64; integer
 * mode against a plain integer reference. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "axlut/design.h"
#include "axlut/mac.h"
#include "designs/builtin.h"
#include "plan.h"
#include "prepare.h"
#include "mac_ref.h"

static float frand(uint64_t seed, uint64_t i, float scale)
{
    return scale * ((float)(axl_rand32(seed, i) >> 8) / 8388608.0f - 1.0f);
}

/* Values spread over 2^-10 .. 2^10 times scale, so that float32 sums of
 * products round and the accumulation order shows in the bits. */
static float *rand_tensor(int64_t n, uint64_t seed, float scale)
{
    float *x = malloc((size_t)n * sizeof *x);
    cr_assert(x);
    for (int64_t i = 0; i < n; i++)
        x[i] = ldexpf(frand(seed, (uint64_t)i, scale), (int)(axl_rand32(seed + 77, (uint64_t)i) % 21) - 10);
    return x;
}

struct shape {
    int64_t n, c, h, w, oc, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, g;
    int bias;
};

/* 1x1 kernels, stride 2, padding, dilation, groups, depthwise, batch > 1,
 * bias present and absent. */
static const struct shape k_shapes[] = {
    {1, 3, 7, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {2, 4, 5, 5, 6, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1},
    {1, 5, 9, 8, 3, 3, 3, 2, 2, 1, 0, 1, 2, 1, 1, 1, 0},
    {1, 4, 9, 9, 4, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 2, 1},
    {2, 6, 6, 7, 6, 3, 3, 1, 2, 1, 1, 1, 1, 1, 1, 6, 1},
    /* two blocks of positions (162 = 128 + 34), reduction tiles (144 > 64),
     * channel groups (20 = 16 + 4) */
    {2, 16, 9, 9, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    /* batch 5 over several blocks (5 * 121 = 605 positions, the last block
     * of 93), K = 3 * 3 * 3 = 27 per group of 3 groups, no bias */
    {5, 9, 11, 11, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3, 0},
    {1, 2, 4, 13, 5, 1, 5, 1, 1, 0, 2, 0, 2, 1, 1, 1, 1},
    {3, 3, 1, 1, 7, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1},
};

static void args_for(const struct shape *s, struct axl_conv_args *a, float **x, float **w,
                     float **b, uint64_t seed)
{
    memset(a, 0, sizeof *a);
    a->n = s->n;
    a->c = s->c;
    a->h = s->h;
    a->w = s->w;
    a->oc = s->oc;
    a->kh = s->kh;
    a->kw = s->kw;
    a->stride_h = s->sh;
    a->stride_w = s->sw;
    a->pad_t = s->pt;
    a->pad_l = s->pl;
    a->pad_b = s->pb;
    a->pad_r = s->pr;
    a->dil_h = s->dh;
    a->dil_w = s->dw;
    a->groups = s->g;
    *x = rand_tensor(s->n * s->c * s->h * s->w, seed, 3.0f);
    *w = rand_tensor(s->oc * (s->c / s->g) * s->kh * s->kw, seed + 1, 1.0f);
    *b = s->bias ? rand_tensor(s->oc, seed + 2, 0.5f) : NULL;
    a->x = *x;
    a->weight = *w;
    a->bias = *b;
}

/* Builds the reference configuration from the same spec, independently of
 * the engine's internals. */
static void ref_for(const struct axl_mac_spec *sp, struct ref_cfg *r)
{
    char msg[AXL_MSG_LEN];
    memset(r, 0, sizeof *r);
    cr_assert_eq(axl_format_parse(sp->fmt_a, &r->fa, msg), AXL_OK, "%s", msg);
    cr_assert_eq(axl_format_parse(sp->fmt_w ? sp->fmt_w : sp->fmt_a, &r->fw, msg), AXL_OK);
    r->mul = axl_design_find(sp->mul);
    cr_assert(r->mul, "design %s", sp->mul);
    cr_assert_eq(axl_design_bind(r->mul, &r->fa, &r->fw, NULL, sp->mul_params, sp->n_mul_params,
                                 &r->mc, msg),
                 AXL_OK, "%s", msg);
    if (sp->add && strcmp(sp->add, "fp32")) {
        r->add = axl_design_find(sp->add);
        cr_assert(r->add);
        cr_assert_eq(axl_format_parse(sp->fmt_acc, &r->facc, msg), AXL_OK);
        cr_assert_eq(axl_design_bind(r->add, &r->facc, &r->facc, &r->facc, sp->add_params,
                                     sp->n_add_params, &r->ac, msg),
                     AXL_OK, "%s", msg);
    }
    r->order = sp->order;
    r->chunk = sp->chunk;
    r->round = sp->round;
    r->seed = sp->seed;
}

static int compare_bits(const char *what, const float *got, const float *want, int64_t n)
{
    int bad = 0;
    for (int64_t i = 0; i < n; i++) {
        if (axl_f32_bits(got[i]) != axl_f32_bits(want[i]) && !(isnan(got[i]) && isnan(want[i]))) {
            if (bad < 10)
                cr_log_error("%s: output %lld: got %08x (%g) want %08x (%g)", what, (long long)i,
                             axl_f32_bits(got[i]), (double)got[i], axl_f32_bits(want[i]),
                             (double)want[i]);
            bad++;
        }
    }
    return bad;
}

/* MAC on every test shape against either the reference R or a second
 * engine OTHER; returns the number of outputs whose bits differ. */
static int conv_every_shape(struct axl_mac *mac, const struct ref_cfg *r, struct axl_mac *other,
                            uint64_t seed, const char *label)
{
    char msg[AXL_MSG_LEN];
    int bad = 0;
    for (size_t si = 0; si < sizeof k_shapes / sizeof k_shapes[0]; si++) {
        struct axl_conv_args a;
        float *x, *w, *b;
        args_for(&k_shapes[si], &a, &x, &w, &b, seed + si);
        int64_t oh, ow;
        cr_assert_eq(axl_conv_out_size(&a, &oh, &ow, msg), AXL_OK, "%s", msg);
        int64_t ny = a.n * a.oc * oh * ow;
        float *y = malloc((size_t)ny * sizeof *y), *yr = malloc((size_t)ny * sizeof *yr);
        a.y = y;
        cr_assert_eq(axl_mac_conv2d(mac, AXL_BACKEND_CPU, &a, msg), AXL_OK, "%s", msg);
        a.y = yr;
        if (r)
            ref_conv2d(r, &a, oh, ow);
        else
            cr_assert_eq(axl_mac_conv2d(other, AXL_BACKEND_CPU, &a, msg), AXL_OK, "%s", msg);
        char what[160];
        snprintf(what, sizeof what, "%s shape %zu", label, si);
        bad += compare_bits(what, y, yr, ny);
        free(x);
        free(w);
        free(b);
        free(y);
        free(yr);
    }
    return bad;
}

static void check_conv_against_ref(struct axl_mac_spec *sp, const char *label)
{
    char msg[AXL_MSG_LEN];
    struct axl_mac *mac;
    cr_assert_eq(axl_mac_create(sp, &mac, msg), AXL_OK, "%s: %s", label, msg);
    struct ref_cfg r;
    ref_for(sp, &r);
    int bad = conv_every_shape(mac, &r, NULL, 100, label);
    axl_mac_free(mac);
    cr_assert_eq(bad, 0, "%s: %d outputs differ from the reference", label, bad);
}

static struct axl_mac_spec spec_of(const char *mul, const char *fmt, const char *add,
                                   const char *acc, enum axl_order order)
{
    struct axl_mac_spec s;
    memset(&s, 0, sizeof s);
    s.mul = mul;
    s.fmt_a = fmt;
    s.add = add;
    s.fmt_acc = acc;
    s.order = order;
    s.chunk = 5;
    return s;
}

Test(mac, approx_float_table_every_order, .timeout = 120)
{
    static const enum axl_order orders[] = {AXL_ORDER_SEQUENTIAL, AXL_ORDER_PAIRWISE,
                                            AXL_ORDER_CHUNKED};
    static const char *fmts[] = {"e4m3", "e5m6"};
    for (int f = 0; f < 2; f++)
        for (int o = 0; o < 3; o++) {
            struct axl_mac_spec s = spec_of("fpmul_mitchell", fmts[f], NULL, NULL, orders[o]);
            char label[64];
            snprintf(label, sizeof label, "fpmul_mitchell %s %s", fmts[f], axl_order_name(orders[o]));
            check_conv_against_ref(&s, label);
        }
}

Test(mac, approx_adder_every_order, .timeout = 120)
{
    static const enum axl_order orders[] = {AXL_ORDER_SEQUENTIAL, AXL_ORDER_PAIRWISE,
                                            AXL_ORDER_CHUNKED};
    for (int o = 0; o < 3; o++) {
        struct axl_mac_spec s = spec_of("fpmul_drum", "e5m2", "fpadd_loa", "fp16", orders[o]);
        s.mul_params[0] = "k=3";
        s.n_mul_params = 1;
        s.add_params[0] = "k=4";
        s.n_add_params = 1;
        char label[64];
        snprintf(label, sizeof label, "drum+loa fp16 acc %s", axl_order_name(orders[o]));
        check_conv_against_ref(&s, label);
    }
}

/* Exact adds into bf16 / fp16 take the kernels' fast accumulation
 * (acc_fast); the reference calls add_exact per add. */
Test(mac, exact_narrow_accumulator_every_order, .timeout = 120)
{
    static const enum axl_order orders[] = {AXL_ORDER_SEQUENTIAL, AXL_ORDER_PAIRWISE,
                                            AXL_ORDER_CHUNKED};
    static const char *accs[] = {"bf16", "fp16"};
    for (int a = 0; a < 2; a++)
        for (int o = 0; o < 3; o++) {
            struct axl_mac_spec s = spec_of("fpmul_mitchell", "e4m3", "add_exact", accs[a], orders[o]);
            char label[64];
            snprintf(label, sizeof label, "add_exact %s acc %s", accs[a], axl_order_name(orders[o]));
            check_conv_against_ref(&s, label);
            s = spec_of("mul_exact", accs[a], NULL, NULL, orders[o]);
            snprintf(label, sizeof label, "mul_exact %s, fp32 adds %s", accs[a],
                     axl_order_name(orders[o]));
            check_conv_against_ref(&s, label);
            s = spec_of("mul_exact", "bf16", "add_exact", accs[a], orders[o]);
            snprintf(label, sizeof label, "bf16 products, add_exact %s acc %s", accs[a],
                     axl_order_name(orders[o]));
            check_conv_against_ref(&s, label);
        }
}

/* The VBMI byte-permute kernels (emu/mac/cpu/vbmi.c) against the gather
 * kernels (AXL_CPU_KERNEL=gather) on the same inputs, for every plane
 * layout: float entries in 16 bits (fp8 products; sign-symmetric half
 * planes where the table allows), and in 32 bits (e2m5 exact products kept
 * in fp32), int32 entries in int16 (VNNI) and uint16; and the same with
 * the refinements off (AXL_CPU_KERNEL=vbmi-basic: full planes, shifts). */
static int vbmi_one(struct axl_mac *fast, struct axl_mac *slow, const char *label)
{
    char msg[AXL_MSG_LEN];
    int bad = conv_every_shape(fast, NULL, slow, 300, label);
    /* a GEMM with 200 rows: two blocks, the second of 72 positions */
    int64_t M = 200, N = 33, K = 150;
    float *A = rand_tensor(M * K, 31, 2.0f), *B = rand_tensor(K * N, 32, 0.5f);
    float *bias = rand_tensor(N, 33, 0.1f);
    float *C1 = malloc((size_t)(M * N) * sizeof *C1), *C2 = malloc((size_t)(M * N) * sizeof *C2);
    struct axl_gemm_args g = {0, 0, M, N, K, A, K, B, N, bias, C1, N};
    cr_assert_eq(axl_mac_gemm(fast, AXL_BACKEND_CPU, &g, msg), AXL_OK, "%s", msg);
    g.c = C2;
    cr_assert_eq(axl_mac_gemm(slow, AXL_BACKEND_CPU, &g, msg), AXL_OK, "%s", msg);
    bad += compare_bits(label, C1, C2, M * N);
    free(A);
    free(B);
    free(bias);
    free(C1);
    free(C2);
    return bad;
}

static void vbmi_vs_gather(struct axl_mac_spec *sp, int want_mode, int want_basic,
                           const char *label)
{
    char msg[AXL_MSG_LEN];
    struct axl_mac *fast, *basic, *slow;
    cr_assert_eq(axl_mac_create(sp, &fast, msg), AXL_OK, "%s: %s", label, msg);
    setenv("AXL_CPU_KERNEL", "vbmi-basic", 1);
    cr_assert_eq(axl_mac_create(sp, &basic, msg), AXL_OK, "%s: %s", label, msg);
    setenv("AXL_CPU_KERNEL", "gather", 1);
    cr_assert_eq(axl_mac_create(sp, &slow, msg), AXL_OK, "%s: %s", label, msg);
    unsetenv("AXL_CPU_KERNEL");
    cr_assert_eq(slow->vb.mode, AXL_VBMI_NONE, "%s", label);
    if (axl_vbmi_available()) {
        cr_assert_eq(fast->vb.mode, want_mode, "%s: plane layout %d", label, fast->vb.mode);
        cr_assert_eq(basic->vb.mode, want_basic, "%s: basic plane layout %d", label,
                     basic->vb.mode);
        cr_assert_eq(basic->vb.vnni, 0, "%s", label);
    } else {
        cr_log_info("%s: this CPU has no AVX-512 VBMI, only the gather path runs", label);
    }
    int bad = vbmi_one(fast, slow, label);
    char lb[96];
    snprintf(lb, sizeof lb, "%s (vbmi-basic)", label);
    bad += vbmi_one(basic, slow, lb);
    axl_mac_free(fast);
    axl_mac_free(basic);
    axl_mac_free(slow);
    cr_assert_eq(bad, 0, "%s: %d outputs differ between the VBMI and gather kernels", label, bad);
}

Test(mac, vbmi_kernels_equal_gather_kernels, .timeout = 240)
{
    struct axl_mac_spec s = spec_of("fpmul_mitchell", "e4m3", NULL, NULL, AXL_ORDER_SEQUENTIAL);
    vbmi_vs_gather(&s, AXL_VBMI_HI16S, AXL_VBMI_HI16, "fpmul_mitchell e4m3");
    s = spec_of("fpmul_drum", "e5m2", NULL, NULL, AXL_ORDER_SEQUENTIAL);
    s.mul_params[0] = "k=3";
    s.n_mul_params = 1;
    /* 0 x inf is NaN whatever the signs: not sign-symmetric, full planes */
    vbmi_vs_gather(&s, AXL_VBMI_HI16, AXL_VBMI_HI16, "fpmul_drum e5m2 (inf and NaN codes)");
    s = spec_of("mul_exact", "e2m5", NULL, NULL, AXL_ORDER_SEQUENTIAL);
    s.fmt_p = "fp32";
    vbmi_vs_gather(&s, AXL_VBMI_32, AXL_VBMI_32, "mul_exact e2m5 -> fp32");
    s = spec_of("mitchell", "int8", NULL, NULL, AXL_ORDER_SEQUENTIAL);
    vbmi_vs_gather(&s, AXL_VBMI_S16, AXL_VBMI_S16, "mitchell int8");
    s = spec_of("drum", "uint8", NULL, NULL, AXL_ORDER_SEQUENTIAL);
    vbmi_vs_gather(&s, AXL_VBMI_U16, AXL_VBMI_U16, "drum uint8");
    s = spec_of("mul_exact", "int4", NULL, NULL, AXL_ORDER_PAIRWISE);
    vbmi_vs_gather(&s, AXL_VBMI_S16, AXL_VBMI_S16, "mul_exact int4 (any order: int32 adds)");
}

/* Zero-point sums of unsigned activations (uint4, uint6: codes below 2^N
 * summed as bytes from the tiles; uint8) with the asymmetric weights whose
 * zero points make them count: the byte kernels against the gather path,
 * which decodes each 32-bit code.  (Signed formats are symmetric: their
 * zero points are 0 and the sums are not computed.) */
Test(mac, unsigned_zero_point_sums_equal_gather, .timeout = 120)
{
    static const char *const acts[] = {"uint4", "uint6", "uint8"};
    char msg[AXL_MSG_LEN];
    int bad = 0;
    for (int i = 0; i < 3; i++) {
        struct axl_mac_spec sp = spec_of("mul_exact", acts[i], NULL, NULL, AXL_ORDER_SEQUENTIAL);
        struct axl_mac *fast, *slow;
        cr_assert_eq(axl_mac_create(&sp, &fast, msg), AXL_OK, "%s: %s", acts[i], msg);
        setenv("AXL_CPU_KERNEL", "gather", 1);
        cr_assert_eq(axl_mac_create(&sp, &slow, msg), AXL_OK, "%s: %s", acts[i], msg);
        unsetenv("AXL_CPU_KERNEL");
        char label[64];
        snprintf(label, sizeof label, "mul_exact %s", acts[i]);
        bad += conv_every_shape(fast, NULL, slow, 300 + (uint64_t)i, label);
        axl_mac_free(fast);
        axl_mac_free(slow);
    }
    cr_assert_eq(bad, 0, "%d outputs differ between the byte and gather kernels", bad);
}

/* A convolution larger than one im2col chunk (2 MiB of tiles: 48x48 images
 * of 32 channels give 663,552 byte codes or 2.6 MB of 32-bit codes per
 * image, so batch 4 runs in chunks of 3 + 1 images on the byte kernels and
 * of one image on the gather path) against the same layer run one image
 * per call (one chunk each; int8 with a fixed activation range, so that
 * every call quantizes alike) and, for e4m3, against the reference. */
Test(mac, conv_in_several_chunks_equals_one_image_per_call, .timeout = 240)
{
    static const struct shape big = {4, 32, 48, 48, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    static const char *const fmts[] = {"int8", "e4m3"};
    char msg[AXL_MSG_LEN];
    for (int f = 0; f < 2; f++) {
        struct axl_mac_spec sp = spec_of(f ? "fpmul_mitchell" : "mitchell", fmts[f], NULL, NULL,
                                         AXL_ORDER_SEQUENTIAL);
        if (!f) {
            sp.act_range_set = 1;
            sp.act_min = -20.0f;
            sp.act_max = 20.0f;
        }
        struct axl_conv_args a;
        float *x, *w, *b;
        args_for(&big, &a, &x, &w, &b, 500 + (uint64_t)f);
        int64_t oh, ow;
        cr_assert_eq(axl_conv_out_size(&a, &oh, &ow, msg), AXL_OK, "%s", msg);
        const int64_t per_x = a.c * a.h * a.w, per_y = a.oc * oh * ow, ny = a.n * per_y;
        float *y = malloc((size_t)ny * sizeof *y), *y1 = malloc((size_t)ny * sizeof *y1);
        float *yr = malloc((size_t)ny * sizeof *yr);
        cr_assert(y && y1 && yr);
        if (f) {
            struct ref_cfg r;
            ref_for(&sp, &r);
            a.y = yr;
            ref_conv2d(&r, &a, oh, ow);
        }
        for (int gather = 0; gather < 2; gather++) {
            if (gather)
                setenv("AXL_CPU_KERNEL", "gather", 1);
            struct axl_mac *mac;
            cr_assert_eq(axl_mac_create(&sp, &mac, msg), AXL_OK, "%s: %s", fmts[f], msg);
            unsetenv("AXL_CPU_KERNEL");
            memset(y, 0xFF, (size_t)ny * sizeof *y); /* NaN: an output never written shows */
            a.y = y;
            cr_assert_eq(axl_mac_conv2d(mac, AXL_BACKEND_CPU, &a, msg), AXL_OK, "%s", msg);
            struct axl_conv_args one = a;
            one.n = 1;
            for (int64_t i = 0; i < a.n; i++) {
                one.x = x + i * per_x;
                one.y = y1 + i * per_y;
                cr_assert_eq(axl_mac_conv2d(mac, AXL_BACKEND_CPU, &one, msg), AXL_OK, "%s", msg);
            }
            char what[80];
            snprintf(what, sizeof what, "%s %s, 4 images of 48x48x32", fmts[f],
                     gather ? "gather" : "byte kernels");
            int bad = compare_bits(what, y, y1, ny);
            if (f)
                bad += compare_bits(what, y, yr, ny);
            axl_mac_free(mac);
            cr_assert_eq(bad, 0, "%s: %d outputs differ", what, bad);
        }
        free(x);
        free(w);
        free(b);
        free(y);
        free(y1);
        free(yr);
    }
}

/* A last im2col chunk with fewer images than the others: its blocks are
 * sized for a whole chunk, and the blocks past its positions have no
 * output.  16 channels of 24x24 give 331,776 bytes of 32-bit codes per
 * image, so 7 images run as 6 + 1, and the second call has 22 blocks of
 * 128 positions past its 576.  The code accumulators in pairwise and
 * chunked order copied a negative length there (a crash: batch 50 of
 * LeNet-5 with `--order pairwise --add fpadd_ama5`); sequential order ran
 * them for nothing.  Against the same layer run one image per call. */
Test(mac, conv_partial_last_chunk_with_code_accumulators, .timeout = 240)
{
    static const struct shape sh = {7, 16, 24, 24, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    static const enum axl_order orders[] = {AXL_ORDER_SEQUENTIAL, AXL_ORDER_PAIRWISE,
                                            AXL_ORDER_CHUNKED};
    char msg[AXL_MSG_LEN];
    for (int o = 0; o < 3; o++) {
        struct axl_mac_spec sp = spec_of("fpmul_mitchell", "e4m3", "fpadd_loa", "fp16", orders[o]);
        struct axl_conv_args a;
        float *x, *w, *b;
        args_for(&sh, &a, &x, &w, &b, 700 + (uint64_t)o);
        int64_t oh, ow;
        cr_assert_eq(axl_conv_out_size(&a, &oh, &ow, msg), AXL_OK, "%s", msg);
        const int64_t per_x = a.c * a.h * a.w, per_y = a.oc * oh * ow, ny = a.n * per_y;
        float *y = malloc((size_t)ny * sizeof *y), *y1 = malloc((size_t)ny * sizeof *y1);
        cr_assert(y && y1);
        struct axl_mac *mac;
        cr_assert_eq(axl_mac_create(&sp, &mac, msg), AXL_OK, "%s", msg);
        memset(y, 0xFF, (size_t)ny * sizeof *y); /* NaN: an output never written shows */
        a.y = y;
        cr_assert_eq(axl_mac_conv2d(mac, AXL_BACKEND_CPU, &a, msg), AXL_OK, "%s", msg);
        struct axl_conv_args one = a;
        one.n = 1;
        for (int64_t i = 0; i < a.n; i++) {
            one.x = x + i * per_x;
            one.y = y1 + i * per_y;
            cr_assert_eq(axl_mac_conv2d(mac, AXL_BACKEND_CPU, &one, msg), AXL_OK, "%s", msg);
        }
        char what[80];
        snprintf(what, sizeof what, "fpadd_loa into fp16, %s, 7 images in chunks of 6 + 1",
                 axl_order_name(orders[o]));
        int bad = compare_bits(what, y, y1, ny);
        axl_mac_free(mac);
        free(x);
        free(w);
        free(b);
        free(y);
        free(y1);
        cr_assert_eq(bad, 0, "%s: %d outputs differ", what, bad);
    }
}

/* The quantizer's nearest-even shortcut equals the format's encoder on
 * every integer format: ties, saturation, large values, NaN and inf. */
Test(mac, integer_quantization_shortcut_equals_encoder)
{
    static const char *fmts[] = {"int2", "int4", "int8", "int12", "int16",
                                 "uint2", "uint4", "uint8", "uint12", "uint16"};
    const struct axl_quant qs[] = {{1.0f, 0}, {0.037f, 0}, {0.5f, 7}, {3.0f, 100}, {1e-6f, 1}};
    long bad = 0;
    for (size_t fi = 0; fi < sizeof fmts / sizeof fmts[0]; fi++) {
        struct axl_format f;
        cr_assert_eq(axl_format_parse(fmts[fi], &f, NULL), AXL_OK);
        for (size_t qi = 0; qi < sizeof qs / sizeof qs[0]; qi++) {
            for (uint32_t i = 0; i < (1u << 18); i++) {
                float x;
                if (i < 4096) /* halves and quarters around small integers, both signs */
                    x = ((float)i - 2048.0f) * 0.25f * qs[qi].s;
                else if (i < 4200) {
                    const float sp[] = {NAN, INFINITY, -INFINITY, 1e30f, -1e30f, 4194303.5f,
                                        -4194303.5f, 8388609.0f, 16777216.0f, -0.0f};
                    x = sp[i % 10];
                } else
                    x = axl_f32_from_bits(axl_rand32(fi * 100 + qi, i));
                uint32_t got = axl_emu_quantize(&f, qs[qi], x, AXL_ROUND_NEAREST_EVEN, 0);
                uint32_t want = axl_format_encode(&f, x / qs[qi].s + (float)qs[qi].z,
                                                  AXL_ROUND_NEAREST_EVEN, 0);
                if (got != want && bad++ < 10)
                    cr_log_error("%s x=%a s=%g z=%d: got %u want %u", fmts[fi], (double)x,
                                 (double)qs[qi].s, (int)qs[qi].z, got, want);
            }
        }
    }
    cr_assert_eq(bad, 0, "%ld quantized codes differ from axl_format_encode", bad);
}

Test(mac, function_path_equals_table_path_and_reference, .timeout = 120)
{
    struct axl_mac_spec s = spec_of("fpmul_mitchell", "e4m3", NULL, NULL, AXL_ORDER_SEQUENTIAL);
    s.path = AXL_PATH_FUNCTION;
    check_conv_against_ref(&s, "function path");
    s = spec_of("fpmul_mitchell", "bf16", NULL, NULL, AXL_ORDER_PAIRWISE);
    check_conv_against_ref(&s, "bf16 function path (auto)");
}

Test(mac, stochastic_rounding_of_operands, .timeout = 120)
{
    struct axl_mac_spec s = spec_of("mul_exact", "e4m3", NULL, NULL, AXL_ORDER_SEQUENTIAL);
    s.round = AXL_ROUND_STOCHASTIC;
    s.seed = 99;
    check_conv_against_ref(&s, "stochastic e4m3");
}

/* Exact mode: fp32 x fp32 products, fp32 adds, within float32 rounding of
 * a float64 reference: |y - ref| <= K * 2^-23 * sum |x w| (+ bias). */
Test(mac, exact_fp32_against_double, .timeout = 60)
{
    char msg[AXL_MSG_LEN];
    struct axl_mac_spec s = spec_of("mul_exact", "fp32", NULL, NULL, AXL_ORDER_SEQUENTIAL);
    struct axl_mac *mac;
    cr_assert_eq(axl_mac_create(&s, &mac, msg), AXL_OK, "%s", msg);
    cr_assert_eq(axl_mac_path(mac), AXL_PATH_FUNCTION);
    for (size_t si = 0; si < sizeof k_shapes / sizeof k_shapes[0]; si++) {
        const struct shape *sh = &k_shapes[si];
        struct axl_conv_args a;
        float *x, *w, *b;
        args_for(sh, &a, &x, &w, &b, 7 + si);
        int64_t oh, ow;
        cr_assert_eq(axl_conv_out_size(&a, &oh, &ow, msg), AXL_OK);
        int64_t ny = a.n * a.oc * oh * ow;
        float *y = malloc((size_t)ny * sizeof *y);
        a.y = y;
        cr_assert_eq(axl_mac_conv2d(mac, AXL_BACKEND_CPU, &a, msg), AXL_OK, "%s", msg);
        int64_t cg = a.c / a.groups, ocg = a.oc / a.groups, K = cg * a.kh * a.kw;
        for (int64_t n = 0; n < a.n; n++)
            for (int64_t o = 0; o < a.oc; o++)
                for (int64_t yy = 0; yy < oh; yy++)
                    for (int64_t xx = 0; xx < ow; xx++) {
                        double sum = 0, mag = 0;
                        int64_t g = o / ocg;
                        for (int64_t ci = 0; ci < cg; ci++)
                            for (int64_t i = 0; i < a.kh; i++)
                                for (int64_t j = 0; j < a.kw; j++) {
                                    int64_t iy = yy * a.stride_h - a.pad_t + i * a.dil_h;
                                    int64_t ix = xx * a.stride_w - a.pad_l + j * a.dil_w;
                                    if (iy < 0 || iy >= a.h || ix < 0 || ix >= a.w)
                                        continue;
                                    double p = (double)x[((n * a.c + g * cg + ci) * a.h + iy) * a.w + ix] *
                                               (double)w[((o * cg + ci) * a.kh + i) * a.kw + j];
                                    sum += p;
                                    mag += fabs(p);
                                }
                        if (b) {
                            sum += b[o];
                            mag += fabs(b[o]);
                        }
                        double got = y[((n * a.oc + o) * oh + yy) * ow + xx];
                        double tol = (double)(K + 2) * ldexp(1.0, -23) * mag + 1e-30;
                        cr_assert(fabs(got - sum) <= tol, "shape %zu: got %.9g want %.9g (tol %g)",
                                  si, got, sum, tol);
                    }
        free(x);
        free(w);
        free(b);
        free(y);
    }
    axl_mac_free(mac);
}

/* Integer mode: exact int8 products against quantize-then-integer-dot in
 * int64, dequantized the documented way. */
Test(mac, int8_exact_against_integer_reference, .timeout = 60)
{
    static const char *fmts[] = {"int8", "uint8", "int4"};
    for (int fi = 0; fi < 3; fi++) {
        char msg[AXL_MSG_LEN];
        struct axl_mac_spec s = spec_of("mul_exact", fmts[fi], NULL, NULL, AXL_ORDER_SEQUENTIAL);
        struct axl_mac *mac;
        cr_assert_eq(axl_mac_create(&s, &mac, msg), AXL_OK, "%s", msg);
        struct axl_format f;
        axl_format_parse(fmts[fi], &f, NULL);
        /* GEMM: M x K activations, K x N weights, per-channel weight scales */
        int64_t M = 9, N = 7, K = 33;
        float *A = rand_tensor(M * K, 3, 2.0f), *B = rand_tensor(K * N, 4, 0.5f);
        float *bias = rand_tensor(N, 5, 0.1f), *C = malloc((size_t)(M * N) * sizeof *C);
        struct axl_gemm_args g = {0, 0, M, N, K, A, K, B, N, bias, C, N};
        cr_assert_eq(axl_mac_gemm(mac, AXL_BACKEND_CPU, &g, msg), AXL_OK, "%s", msg);
        /* the reference quantization */
        int is_int = f.kind == AXL_KIND_INT;
        double qmax = is_int ? (double)((1 << (f.bits - 1)) - 1) : (double)((1 << f.bits) - 1);
        float lo = 0, hi = 0;
        for (int64_t i = 0; i < M * K; i++) {
            lo = fminf(lo, A[i]);
            hi = fmaxf(hi, A[i]);
        }
        float sa;
        int32_t za = 0;
        if (is_int) {
            sa = fmaxf(fabsf(lo), fabsf(hi)) / (float)qmax;
        } else {
            sa = (hi - lo) / (float)qmax;
            za = (int32_t)nearbyintf(-lo / sa);
        }
        for (int64_t n = 0; n < N; n++) {
            float wl = INFINITY, wh = -INFINITY;
            for (int64_t k = 0; k < K; k++) {
                wl = fminf(wl, B[k * N + n]);
                wh = fmaxf(wh, B[k * N + n]);
            }
            float sw;
            int32_t zw = 0;
            if (is_int) {
                sw = fmaxf(fabsf(wl), fabsf(wh)) / (float)qmax;
            } else {
                wl = fminf(wl, 0);
                wh = fmaxf(wh, 0);
                sw = (wh - wl) / (float)qmax;
                zw = (int32_t)fminf(fmaxf(nearbyintf(-wl / sw), 0), (float)qmax);
            }
            for (int64_t mm = 0; mm < M; mm++) {
                int64_t dot = 0;
                for (int64_t k = 0; k < K; k++) {
                    double qa = nearbyint((double)(A[mm * K + k] / sa + (float)za));
                    double qw = nearbyint((double)(B[k * N + n] / sw + (float)zw));
                    double lo_q = is_int ? -qmax - 1 : 0;
                    qa = fmin(fmax(qa, lo_q), qmax);
                    qw = fmin(fmax(qw, lo_q), qmax);
                    dot += ((int64_t)qa - za) * ((int64_t)qw - zw);
                }
                float want = (sa * sw) * (float)dot + bias[n];
                cr_assert_eq(axl_f32_bits(C[mm * N + n]), axl_f32_bits(want),
                             "%s C[%lld][%lld] got %g want %g", fmts[fi], (long long)mm,
                             (long long)n, (double)C[mm * N + n], (double)want);
            }
        }
        free(A);
        free(B);
        free(bias);
        free(C);
        axl_mac_free(mac);
    }
}

/* GEMM with every transpose combination equals the reference through a
 * 1x1 convolution of the same data. */
Test(mac, gemm_transposes_match_naive, .timeout = 60)
{
    char msg[AXL_MSG_LEN];
    struct axl_mac_spec s = spec_of("fpmul_drum", "e4m3", NULL, NULL, AXL_ORDER_PAIRWISE);
    struct axl_mac *mac;
    cr_assert_eq(axl_mac_create(&s, &mac, msg), AXL_OK, "%s", msg);
    struct ref_cfg r;
    ref_for(&s, &r);
    int64_t M = 5, N = 6, K = 17;
    float *A = rand_tensor(M * K, 11, 2.0f), *B = rand_tensor(K * N, 12, 1.0f);
    float *bias = rand_tensor(N, 13, 0.3f);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            /* store A, B transposed as asked; stochastic indices are offsets
             * of the stored tensors, so only nearest rounding is compared */
            float *As = malloc((size_t)(M * K) * sizeof *As), *Bs = malloc((size_t)(K * N) * sizeof *Bs);
            for (int64_t i = 0; i < M; i++)
                for (int64_t k = 0; k < K; k++)
                    As[ta ? k * M + i : i * K + k] = A[i * K + k];
            for (int64_t k = 0; k < K; k++)
                for (int64_t n = 0; n < N; n++)
                    Bs[tb ? n * K + k : k * N + n] = B[k * N + n];
            float *C = malloc((size_t)(M * N) * sizeof *C);
            struct axl_gemm_args g = {ta, tb, M, N, K, As, ta ? M : K, Bs, tb ? K : N, bias, C, N};
            cr_assert_eq(axl_mac_gemm(mac, AXL_BACKEND_CPU, &g, msg), AXL_OK, "%s", msg);
            union ref_val *v = malloc((size_t)K * sizeof *v);
            for (int64_t i = 0; i < M; i++)
                for (int64_t n = 0; n < N; n++) {
                    for (int64_t k = 0; k < K; k++)
                        v[k] = ref_product(&r, axl_format_encode(&r.fa, A[i * K + k], 0, 0),
                                           axl_format_encode(&r.fw, B[k * N + n], 0, 0));
                    float want = ref_reduce(&r, v, K) + bias[n];
                    cr_assert_eq(axl_f32_bits(C[i * N + n]), axl_f32_bits(want),
                                 "ta=%d tb=%d C[%lld][%lld]", ta, tb, (long long)i, (long long)n);
                }
            free(v);
            free(C);
            free(As);
            free(Bs);
        }
    free(A);
    free(B);
    free(bias);
    axl_mac_free(mac);
}

Test(mac, bad_configurations_are_refused)
{
    char msg[AXL_MSG_LEN];
    struct axl_mac *mac;
    struct axl_mac_spec s = spec_of("no_such_design", "e4m3", NULL, NULL, AXL_ORDER_SEQUENTIAL);
    cr_assert_eq(axl_mac_create(&s, &mac, msg), AXL_ERR_INVALID);
    cr_assert(strstr(msg, "no_such_design"), "%s", msg);
    s = spec_of("loa", "uint8", NULL, NULL, AXL_ORDER_SEQUENTIAL);
    cr_assert_neq(axl_mac_create(&s, &mac, msg), AXL_OK);
    cr_assert(strstr(msg, "adder"), "%s", msg);
    s = spec_of("mul_exact", "fp16", NULL, NULL, AXL_ORDER_SEQUENTIAL);
    s.path = AXL_PATH_TABLE;
    cr_assert_eq(axl_mac_create(&s, &mac, msg), AXL_ERR_INVALID);
    cr_assert(strstr(msg, "fp16"), "%s", msg);
    s = spec_of("mul_exact", "e4m3", NULL, NULL, AXL_ORDER_CHUNKED);
    s.chunk = 0;
    cr_assert_eq(axl_mac_create(&s, &mac, msg), AXL_ERR_INVALID);
    s = spec_of("mul_exact", "e4m3", NULL, NULL, AXL_ORDER_SEQUENTIAL);
    cr_assert_eq(axl_mac_create(&s, &mac, msg), AXL_OK, "%s", msg);
    struct axl_conv_args a;
    memset(&a, 0, sizeof a);
    a.n = 1, a.c = 3, a.h = 2, a.w = 2, a.oc = 4, a.kh = 3, a.kw = 3, a.stride_h = 1;
    a.stride_w = 1, a.dil_h = 1, a.dil_w = 1, a.groups = 1;
    float buf[64] = {0};
    a.x = buf, a.weight = buf, a.y = buf;
    cr_assert_eq(axl_mac_conv2d(mac, AXL_BACKEND_CPU, &a, msg), AXL_ERR_INVALID);
    cr_assert(strstr(msg, "kernel"), "%s", msg);
    a.groups = 2;
    cr_assert_eq(axl_mac_conv2d(mac, AXL_BACKEND_CPU, &a, msg), AXL_ERR_INVALID);
    axl_mac_free(mac);
}

/* The mantissa-table path: the same bits as the design's function (which
 * the reference calls), for a format too wide for a full table (bf16, auto
 * choice) and, forced, for a narrow one; with an adder design too. */
Test(mac, mantissa_path_equals_function, .timeout = 120)
{
    char msg[AXL_MSG_LEN];
    struct axl_mac *mac;
    struct axl_mac_spec s = spec_of("fpmul_drum", "bf16", NULL, NULL, AXL_ORDER_SEQUENTIAL);
    cr_assert_eq(axl_mac_create(&s, &mac, msg), AXL_OK, "%s", msg);
    cr_assert_eq(axl_mac_path(mac), AXL_PATH_MANTISSA);
    char d[320];
    axl_mac_describe(mac, d, sizeof d);
    cr_assert(strstr(d, "via mantissa"), "%s", d);
    axl_mac_free(mac);
    check_conv_against_ref(&s, "bf16 fpmul_drum mantissa (auto)");
    s = spec_of("fpmul_mitchell", "e5m2", NULL, NULL, AXL_ORDER_PAIRWISE);
    s.path = AXL_PATH_MANTISSA;
    check_conv_against_ref(&s, "e5m2 fpmul_mitchell mantissa (forced)");
    s = spec_of("fpmul_bam", "fp16", "fpadd_eta1", "fp16", AXL_ORDER_CHUNKED);
    check_conv_against_ref(&s, "fp16 bam mantissa + eta1 adder");
    /* refusals name the reason */
    s = spec_of("fpmul_drum", "fp32", NULL, NULL, AXL_ORDER_SEQUENTIAL);
    s.path = AXL_PATH_MANTISSA;
    cr_assert_eq(axl_mac_create(&s, &mac, msg), AXL_ERR_INVALID);
    cr_assert(strstr(msg, "1..11"), "%s", msg);
    s = spec_of("fpadd_loa", "fp16", NULL, NULL, AXL_ORDER_SEQUENTIAL);
    s.mul = "fpmul_drum";
    s.fmt_w = "bf16";
    s.path = AXL_PATH_MANTISSA;
    cr_assert_eq(axl_mac_create(&s, &mac, msg), AXL_ERR_INVALID);
    cr_assert(strstr(msg, "mantissa widths"), "%s", msg);
}

/* The CPU kernels replace the mantissa table by the design's batch forms
 * only where the table is the core's own products.  The table is the
 * integer design's, whose results saturate at 2^(2m+2) - 1 while
 * axl_fpmul's core does not: they differ exactly where the core passes that
 * bound (fpmul_mbm from m = 6 on: 10 pairs of bf16 significands, 861 of
 * fp16), and there the table stays (the mantissa path's product is then one
 * code below the function's for 6 and 820 of those pairs, as before batch
 * forms).  Every built-in
 * mantissa design on bf16, fp16 and e4m3 with an adder (the slow mantissa
 * cases), and a table one entry off. */
Test(mac, mantissa_table_checked_before_batch_forms_replace_it, .timeout = 120)
{
    static const char *const fmts[] = {"bf16", "fp16", "e4m3"};
    char msg[AXL_MSG_LEN];
    int checked = 0, replaced = 0;
    for (size_t i = 0; i < axl_design_count(); i++) {
        const struct axl_design *d = axl_design_at(i);
        if (!(axl_design_caps(d) & AXL_CAP_MANTISSA))
            continue;
        for (size_t f = 0; f < sizeof fmts / sizeof fmts[0]; f++) {
            struct axl_mac_spec s = spec_of(d->name, fmts[f], "fpadd_loa", "fp16",
                                            AXL_ORDER_SEQUENTIAL);
            s.path = AXL_PATH_MANTISSA;
            struct axl_mac *mac;
            cr_assert_eq(axl_mac_create(&s, &mac, msg), AXL_OK, "%s", msg);
            cr_assert_eq(mac->src, AXL_SRC_MANTISSA, "%s %s", d->name, fmts[f]);
            /* reference: the unsaturated core of the mantissa widths never
             * passes the saturating table's bound */
            const uint32_t n = mac->fa.mbits + 1, rows = 1u << n;
            const uint64_t bound = (1ull << (2 * n)) - 1u;
            int over = 0;
            for (uint64_t x = 0; x < rows && !over; x++)
                for (uint64_t y = 0; y < rows && !over; y++)
                    over = axl_umul_core(axl_design_core(mac->mul_c.id), mac->mul_c.param, x, y,
                                         (int)n) > bound;
            cr_expect_eq(mac->mt_is_core, !over, "%s %s: mt_is_core %d, core past the table's "
                         "bound %d", d->name, fmts[f], mac->mt_is_core, over);
            replaced += mac->mt_is_core;
            if (mac->mt_is_core) {
                mac->mt[rows * mac->mt_cols - 2] ^= 1u; /* one entry off */
                cr_expect(!axl_plan_mantissa_is_core(mac, rows, mac->mt_cols), "%s %s",
                          d->name, fmts[f]);
                mac->mt[rows * mac->mt_cols - 2] ^= 1u;
                cr_expect(axl_plan_mantissa_is_core(mac, rows, mac->mt_cols), "%s %s", d->name,
                          fmts[f]);
            }
            axl_mac_free(mac);
            checked++;
        }
    }
    cr_assert_geq(checked, 6 * 3, "only %d designs x formats checked", checked);
    cr_assert(replaced > 0 && replaced < checked, "replaced %d of %d", replaced, checked);
}

/* Exact float32 mode uses the hardware multiply: the same bits as the
 * mul_exact design (which the reference calls), in every order, also when
 * products are subnormal or overflow. */
Test(mac, exact_fp32_fast_path_equals_design, .timeout = 120)
{
    struct axl_mac_spec s = spec_of("mul_exact", "fp32", NULL, NULL, AXL_ORDER_SEQUENTIAL);
    check_conv_against_ref(&s, "fp32 exact sequential");
    s.order = AXL_ORDER_PAIRWISE;
    check_conv_against_ref(&s, "fp32 exact pairwise");
    /* subnormal and overflowing products through a GEMM */
    char msg[AXL_MSG_LEN];
    struct axl_mac *mac;
    s.order = AXL_ORDER_SEQUENTIAL;
    cr_assert_eq(axl_mac_create(&s, &mac, msg), AXL_OK, "%s", msg);
    struct ref_cfg r;
    ref_for(&s, &r);
    float A[2 * 3] = {1e-20f, -3e-21f, 2e30f, 5e-39f, 1.0f, -1e-45f};
    float B[3 * 2] = {1e-20f, 7e-19f, 4e-25f, 3e10f, 1e20f, -2.0f};
    float C[4];
    struct axl_gemm_args g = {0, 0, 2, 2, 3, A, 3, B, 2, NULL, C, 2};
    cr_assert_eq(axl_mac_gemm(mac, AXL_BACKEND_CPU, &g, msg), AXL_OK, "%s", msg);
    union ref_val v[3];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            for (int k = 0; k < 3; k++)
                v[k] = ref_product(&r, axl_f32_bits(A[i * 3 + k]), axl_f32_bits(B[k * 2 + j]));
            float want = ref_reduce(&r, v, 3);
            cr_assert_eq(axl_f32_bits(C[i * 2 + j]), axl_f32_bits(want), "C[%d][%d] %g vs %g", i,
                         j, (double)C[i * 2 + j], (double)want);
        }
    axl_mac_free(mac);
}

/* The activation range of integer layers skips NaNs (they quantize to code
 * 0, the code of 0.0 in symmetric int8): a GEMM whose activations hold
 * NaNs (and -0, +-largest magnitudes) gives the bits of the same GEMM with
 * 0.0 in their place, on a tensor large enough for the vector body, the
 * tail and (M * K >= 2^17) both threads' halves. */
Test(mac, int_range_skips_nans, .timeout = 60)
{
    char msg[AXL_MSG_LEN];
    struct axl_mac_spec s = spec_of("mitchell", "int8", NULL, NULL, AXL_ORDER_SEQUENTIAL);
    struct axl_mac *mac;
    cr_assert_eq(axl_mac_create(&s, &mac, msg), AXL_OK, "%s", msg);
    int64_t M = 131, N = 5, K = 1003; /* M * K = 131393: odd, over 2^17 */
    float *A = rand_tensor(M * K, 41, 2.0f), *Z = malloc((size_t)(M * K) * sizeof *Z);
    float *B = rand_tensor(K * N, 42, 0.5f);
    float *C1 = malloc((size_t)(M * N) * sizeof *C1), *C2 = malloc((size_t)(M * N) * sizeof *C2);
    cr_assert(Z && C1 && C2);
    A[0] = -0.0f;
    A[1000] = 3.5f; /* the largest magnitude, in the middle */
    A[M * K - 2] = -3.25f;
    memcpy(Z, A, (size_t)(M * K) * sizeof *Z);
    const int64_t nan_at[] = {1, 17, 65536, 65537, M * K - 1};
    for (int i = 0; i < 5; i++) {
        A[nan_at[i]] = i % 2 ? -NAN : NAN;
        Z[nan_at[i]] = 0.0f;
    }
    struct axl_gemm_args g = {0, 0, M, N, K, A, K, B, N, NULL, C1, N};
    cr_assert_eq(axl_mac_gemm(mac, AXL_BACKEND_CPU, &g, msg), AXL_OK, "%s", msg);
    g.a = Z;
    g.c = C2;
    cr_assert_eq(axl_mac_gemm(mac, AXL_BACKEND_CPU, &g, msg), AXL_OK, "%s", msg);
    cr_expect_eq(compare_bits("int8 with NaN activations", C1, C2, M * N), 0);
    axl_mac_free(mac);
    free(A);
    free(Z);
    free(B);
    free(C1);
    free(C2);
}
