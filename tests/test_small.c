#define _POSIX_C_SOURCE 200809L
/* The register-held small-table kernels (emu/mac/cpu/small.c):
 *   - the kernel alone against a plain k-ordered loop written here, on every
 *     (activation code, weight code) pair of 16 x 16 and 64 x 64 tables (and
 *     narrower ones), every plane mode, float and int tables, both ISAs, and
 *     on sums over odd shapes (positions not a multiple of 64, reductions
 *     across int16 tiles, channel counts not a multiple of the blocking);
 *   - whole plans (int4, uint4, e2m1, FP6 e3m2 / e2m3, int6) against the
 *     naive reference (tests/mac_ref.h) and against the gather path
 *     (AXL_CPU_KERNEL=gather), under every AXL_CPU_KERNEL switch. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/mac.h"
#include "mac_ref.h"
#include "plan.h"

static uint32_t bits_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float float_of(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* ---- the kernel alone --------------------------------------------------- */

/* Table kinds, each made for one mode (and tried in the others it fits). */
enum kind { Q16_FLOAT, Q16_FLOAT_TINY, HI16_FLOAT, F32_FLOAT, Q16_INT, I32_INT, KIND_COUNT };
static const char *const k_kind_names[] = {"q16 float", "q16 float (units 2^-130)",
                                           "hi16 float", "32-bit float", "q16 int",
                                           "32-bit int"};
static const int k_kind_mode[] = {AXL_SMALL_Q16, AXL_SMALL_Q16, AXL_SMALL_HI16, AXL_SMALL_32,
                                  AXL_SMALL_Q16, AXL_SMALL_32};

/* Entries of a table of kind KIND: tf or ti filled ([b * na + a]). */
static void make_table(enum kind kind, uint32_t n, uint64_t seed, float *tf, int32_t *ti)
{
    for (uint32_t i = 0; i < n; i++) {
        uint32_t r = axl_rand32(seed, i), r2 = axl_rand32(seed + 1, i);
        int32_t units = (int32_t)(r % 40001u) - 20000; /* K * 20000 <= 2^24 for K <= 838 */
        switch (kind) {
        case Q16_FLOAT: /* units of 1/8; one entry in 8 is -0 or +0 */
            tf[i] = (r2 & 7u) == 0 ? ((r2 & 8u) ? -0.0f : 0.0f) : ldexpf((float)units, -3);
            break;
        case Q16_FLOAT_TINY: /* subnormal and normal values of units 2^-130 */
            tf[i] = ldexpf((float)units, -130);
            break;
        case HI16_FLOAT: /* 8 significant bits, exponents over 2^-20 .. 2^20 */
            tf[i] = float_of((r & 0x8000FFFFu & ~0xFFFFu) | ((107u + r2 % 41u) << 23) |
                             ((r >> 16) & 0x7Fu) << 16);
            break;
        case F32_FLOAT: /* every significand bit used */
            tf[i] = float_of((r & 0x807FFFFFu) | ((107u + r2 % 41u) << 23));
            break;
        case Q16_INT:
            ti[i] = (int32_t)(r % 65535u) - 32767;
            break;
        default: /* full int32: the sums wrap */
            ti[i] = (int32_t)r;
            break;
        }
    }
}

static int is_float_kind(enum kind k) { return k <= F32_FLOAT; }

/* The task as a plain loop: float32 adds in k order from +0, or int32 adds
 * that wrap. */
static void task_ref(const float *tf, const int32_t *ti, uint32_t na,
                     const struct axl_small_block *a, uint32_t *out)
{
    for (int64_t n = 0; n < a->nn; n++)
        for (int64_t i = 0; i < a->len; i++) {
            float f = 0.0f;
            uint32_t u = 0;
            for (int64_t k = 0; k < a->k; k++) {
                size_t e = (size_t)a->w[n * a->k + k] * na + a->x[k * a->xs + i];
                if (tf)
                    f += tf[e];
                else
                    u += (uint32_t)ti[e];
            }
            out[n * 128 + i] = tf ? bits_of(f) : u;
        }
}

/* Runs the kernel on A and compares with task_ref; returns mismatches. */
static int run_and_compare(const struct axl_small *s, const float *tf, const int32_t *ti,
                           uint32_t na, struct axl_small_block *a, const char *what)
{
    static uint32_t got[16 * 128], want[16 * 128];
    memset(got, 0xAB, sizeof got);
    a->out = got;
    axl_small_run(s, a);
    task_ref(tf, ti, na, a, want);
    /* the same task written position-major (the GEMM layout) */
    static uint32_t pm[128 * 16];
    memset(pm, 0xCD, sizeof pm);
    a->out = pm;
    a->pos_major = 1;
    axl_small_run(s, a);
    a->pos_major = 0;
    a->out = got;
    int bad = 0;
    for (int64_t n = 0; n < a->nn; n++)
        for (int64_t i = 0; i < a->len; i++)
            if (got[n * 128 + i] != want[n * 128 + i] || pm[i * 16 + n] != want[n * 128 + i]) {
                if (bad < 10)
                    cr_log_error("%s: channel %lld position %lld: got %08x (position-major "
                                 "%08x) want %08x", what, (long long)n, (long long)i,
                                 got[n * 128 + i], pm[i * 16 + n], want[n * 128 + i]);
                bad++;
            }
    return bad;
}

/* Every (a, b) pair as its own output (K = 1), then random sums over odd
 * shapes; returns mismatches. */
static int check_table(const struct axl_small *s, const float *tf, const int32_t *ti,
                       uint32_t na, uint32_t nb, const char *label)
{
    const int64_t xs = 160; /* an activation stride that is not the block */
    const int64_t kmax = 800;
    uint8_t *x = malloc((size_t)(kmax * xs));
    uint32_t *w = malloc((size_t)(16 * kmax) * sizeof *w);
    cr_assert(x && w);
    int bad = 0;
    char what[200];
    for (int64_t i = 0; i < 128; i++)
        x[i] = (uint8_t)(i % na);
    for (uint32_t b0 = 0; b0 < nb; b0 += 16) {
        struct axl_small_block a = {.x = x, .xs = xs, .w = w, .k = 1, .len = 128};
        a.nn = nb - b0 < 16 ? nb - b0 : 16;
        for (int64_t n = 0; n < a.nn; n++)
            w[n] = b0 + (uint32_t)n;
        snprintf(what, sizeof what, "%s: pairs with weight codes %u..", label, b0);
        bad += run_and_compare(s, tf, ti, na, &a, what);
    }
    static const struct {
        int64_t nn, k, len;
    } shapes[] = {{16, 200, 128}, {3, 5, 37}, {1, 800, 128}, {5, 64, 64}, {16, 130, 1},
                  {7, 65, 65}, {14, 300, 100}, {16, 1, 63}};
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        struct axl_small_block a = {.x = x, .xs = xs, .w = w, .k = shapes[si].k,
                                    .nn = shapes[si].nn, .len = shapes[si].len};
        if (!axl_small_usable(s, a.k))
            continue;
        for (int64_t i = 0; i < kmax * xs; i++)
            x[i] = (uint8_t)(axl_rand32(si + 100, (uint64_t)i) % na);
        for (int64_t i = 0; i < a.nn * a.k; i++)
            w[i] = axl_rand32(si + 200, (uint64_t)i) % nb;
        snprintf(what, sizeof what, "%s: %lld channels, k %lld, %lld positions", label,
                 (long long)a.nn, (long long)a.k, (long long)a.len);
        bad += run_and_compare(s, tf, ti, na, &a, what);
    }
    free(x);
    free(w);
    return bad;
}

Test(small, kernels_equal_plain_loop_on_every_code_pair, .timeout = 300)
{
    static const int isas[] = {AXL_SMALL_AVX512, AXL_SMALL_AVX2};
    static const char *const isa_names[] = {"avx512", "avx2"};
    static const uint32_t sizes[][2] = {{16, 16}, {64, 64}, {4, 4}, {16, 9}, {36, 64}, {8, 40}};
    int runs = 0, bad = 0;
    for (int ii = 0; ii < 2; ii++) {
        if (!axl_small_isa_supported(isas[ii])) {
            cr_log_info("this CPU cannot run the %s kernels", isa_names[ii]);
            continue;
        }
        for (size_t zi = 0; zi < sizeof sizes / sizeof sizes[0]; zi++) {
            uint32_t na = sizes[zi][0], nb = sizes[zi][1];
            float *tf = malloc((size_t)na * nb * sizeof *tf);
            int32_t *ti = malloc((size_t)na * nb * sizeof *ti);
            cr_assert(tf && ti);
            for (int kind = 0; kind < KIND_COUNT; kind++) {
                make_table((enum kind)kind, na * nb, 1000 * zi + (uint64_t)kind, tf, ti);
                const float *f = is_float_kind((enum kind)kind) ? tf : NULL;
                const int32_t *t = f ? NULL : ti;
                struct axl_small s;
                /* the mode a plan would choose ... */
                cr_assert(axl_small_prepare(&s, f, t, na, nb, isas[ii], AXL_SMALL_ALL_MODES));
                cr_assert_eq(s.mode, k_kind_mode[kind], "%s: mode %d", k_kind_names[kind], s.mode);
                axl_small_free(&s);
                /* ... and every mode the table fits */
                for (int mode = AXL_SMALL_Q16; mode < AXL_SMALL_MODE_COUNT_; mode++) {
                    if (!axl_small_prepare(&s, f, t, na, nb, isas[ii], 1u << mode)) {
                        /* 32 holds anything; a table refuses the mode it was made for
                         * only if the order of modes gave it another */
                        cr_assert(mode != AXL_SMALL_32 && mode != k_kind_mode[kind],
                                  "%s refused mode %d", k_kind_names[kind], mode);
                        continue;
                    }
                    cr_assert_eq(s.width, na <= 16 ? 16 : 64);
                    char label[160];
                    snprintf(label, sizeof label, "%s %ux%u %s in mode %d", isa_names[ii], na, nb,
                             k_kind_names[kind], mode);
                    bad += check_table(&s, f, t, na, nb, label);
                    axl_small_free(&s);
                    runs++;
                }
            }
            free(tf);
            free(ti);
        }
    }
    if (axl_small_isa_supported(AXL_SMALL_AVX2))
        cr_assert_geq(runs, 2 * 6 * 4, "only %d tables ran", runs);
    cr_assert_eq(bad, 0, "%d sums differ from the plain loop", bad);
}

Test(small, refuses_what_it_cannot_hold)
{
    static float tf[65 * 4];
    struct axl_small s;
    for (int i = 0; i < 65 * 4; i++)
        tf[i] = 1.0f;
    cr_assert_not(axl_small_prepare(&s, tf, NULL, 65, 4, AXL_SMALL_AVX2, AXL_SMALL_ALL_MODES));
    cr_assert_eq(s.mode, AXL_SMALL_NONE);
    cr_assert_not(axl_small_prepare(&s, tf, NULL, 16, 4, AXL_SMALL_ISA_NONE, AXL_SMALL_ALL_MODES));
    cr_assert_not(axl_small_usable(&s, 1));
    if (!axl_small_isa_supported(AXL_SMALL_AVX2))
        return;
    /* a float32 Q16 table serves only reductions whose partial sums stay exact */
    tf[0] = 4096.0f; /* 4096 units of 1: K <= 4096 */
    cr_assert(axl_small_prepare(&s, tf, NULL, 16, 4, AXL_SMALL_AVX2, AXL_SMALL_ALL_MODES));
    cr_assert_eq(s.mode, AXL_SMALL_Q16);
    cr_assert_eq(s.qmax, 4096);
    cr_assert(axl_small_usable(&s, 4096));
    cr_assert_not(axl_small_usable(&s, 4097));
    axl_small_free(&s);
    /* NaN and infinities never go into integers */
    tf[1] = INFINITY;
    cr_assert(axl_small_prepare(&s, tf, NULL, 16, 4, AXL_SMALL_AVX2, AXL_SMALL_ALL_MODES));
    cr_assert_eq(s.mode, AXL_SMALL_HI16);
    axl_small_free(&s);
    /* int tables: no bound on K (int32 adds wrap) */
    static int32_t ti[16 * 4];
    ti[3] = -32767;
    cr_assert(axl_small_prepare(&s, NULL, ti, 16, 4, AXL_SMALL_AVX2, AXL_SMALL_ALL_MODES));
    cr_assert_eq(s.mode, AXL_SMALL_Q16);
    cr_assert(axl_small_usable(&s, 1ll << 40));
    axl_small_free(&s);
    ti[3] = -32768;
    cr_assert(axl_small_prepare(&s, NULL, ti, 16, 4, AXL_SMALL_AVX2, AXL_SMALL_ALL_MODES));
    cr_assert_eq(s.mode, AXL_SMALL_32);
    axl_small_free(&s);
}

/* ---- whole plans ---------------------------------------------------------- */

static float *rand_tensor(int64_t n, uint64_t seed, float scale)
{
    float *x = malloc((size_t)n * sizeof *x);
    cr_assert(x);
    for (int64_t i = 0; i < n; i++)
        x[i] = scale * ((float)(axl_rand32(seed, (uint64_t)i) >> 8) / 8388608.0f - 1.0f);
    return x;
}

/* conv shapes: odd positions, stride 2, groups, batch > 1, reductions over
 * several tiles, channel counts off the blocking */
static const int64_t k_convs[][9] = {
    /* n, c, h, w, oc, kernel, stride, pad, groups */
    {1, 3, 7, 6, 5, 3, 1, 1, 1},   {2, 16, 9, 9, 20, 3, 1, 1, 1}, {3, 4, 11, 10, 7, 3, 2, 1, 1},
    {2, 6, 6, 7, 6, 3, 1, 1, 2},  {1, 40, 8, 8, 33, 3, 1, 1, 1}, {4, 8, 1, 1, 17, 1, 1, 0, 1},
};

static void conv_of(const int64_t *d, struct axl_conv_args *a)
{
    memset(a, 0, sizeof *a);
    a->n = d[0];
    a->c = d[1];
    a->h = d[2];
    a->w = d[3];
    a->oc = d[4];
    a->kh = a->kw = d[5];
    a->stride_h = a->stride_w = d[6];
    a->pad_t = a->pad_l = a->pad_b = a->pad_r = d[7];
    a->dil_h = a->dil_w = 1;
    a->groups = d[8];
}

static int compare_outputs(const char *what, const float *got, const float *want, int64_t n)
{
    int bad = 0;
    for (int64_t i = 0; i < n; i++)
        if (bits_of(got[i]) != bits_of(want[i]) && !(isnan(got[i]) && isnan(want[i]))) {
            if (bad < 10)
                cr_log_error("%s: output %lld: got %08x (%g) want %08x (%g)", what, (long long)i,
                             bits_of(got[i]), (double)got[i], bits_of(want[i]), (double)want[i]);
            bad++;
        }
    return bad;
}

/* Runs every conv shape and a GEMM of 200 x 33 x 150 through FAST and
 * OTHER (or, for float formats, the naive reference R); mismatches. */
static int plan_vs(struct axl_mac *fast, struct axl_mac *other, const struct ref_cfg *r,
                   const char *label)
{
    char msg[AXL_MSG_LEN], what[200];
    int bad = 0;
    for (size_t si = 0; si < sizeof k_convs / sizeof k_convs[0]; si++) {
        struct axl_conv_args a;
        conv_of(k_convs[si], &a);
        int64_t oh, ow;
        cr_assert_eq(axl_conv_out_size(&a, &oh, &ow, msg), AXL_OK, "%s", msg);
        float *x = rand_tensor(a.n * a.c * a.h * a.w, 10 + si, 6.0f);
        float *w = rand_tensor(a.oc * (a.c / a.groups) * a.kh * a.kw, 20 + si, 3.0f);
        float *b = rand_tensor(a.oc, 30 + si, 0.5f);
        int64_t ny = a.n * a.oc * oh * ow;
        float *y1 = malloc((size_t)ny * sizeof *y1), *y2 = malloc((size_t)ny * sizeof *y2);
        a.x = x;
        a.weight = w;
        a.bias = si % 2 ? b : NULL;
        a.y = y1;
        cr_assert_eq(axl_mac_conv2d(fast, AXL_BACKEND_CPU, &a, msg), AXL_OK, "%s", msg);
        a.y = y2;
        if (r)
            ref_conv2d(r, &a, oh, ow);
        else
            cr_assert_eq(axl_mac_conv2d(other, AXL_BACKEND_CPU, &a, msg), AXL_OK, "%s", msg);
        snprintf(what, sizeof what, "%s conv %zu", label, si);
        bad += compare_outputs(what, y1, y2, ny);
        free(x);
        free(w);
        free(b);
        free(y1);
        free(y2);
    }
    if (r)
        return bad;
    int64_t M = 200, N = 33, K = 150;
    float *A = rand_tensor(M * K, 41, 6.0f), *B = rand_tensor(K * N, 42, 3.0f);
    float *C1 = malloc((size_t)(M * N) * sizeof *C1), *C2 = malloc((size_t)(M * N) * sizeof *C2);
    struct axl_gemm_args g = {0, 0, M, N, K, A, K, B, N, NULL, C1, N};
    cr_assert_eq(axl_mac_gemm(fast, AXL_BACKEND_CPU, &g, msg), AXL_OK, "%s", msg);
    g.c = C2;
    cr_assert_eq(axl_mac_gemm(other, AXL_BACKEND_CPU, &g, msg), AXL_OK, "%s", msg);
    snprintf(what, sizeof what, "%s gemm", label);
    bad += compare_outputs(what, C1, C2, M * N);
    free(A);
    free(B);
    free(C1);
    free(C2);
    return bad;
}

struct plan_case {
    const char *mul, *fmt, *fmt_p;
    int mode; /* the mode the plan must choose */
};

static const struct plan_case k_plans[] = {
    {"mul_exact", "int4", NULL, AXL_SMALL_Q16},
    {"mitchell", "int4", NULL, AXL_SMALL_Q16},
    {"drum", "uint4", NULL, AXL_SMALL_Q16},
    {"mul_exact", "int2", NULL, AXL_SMALL_Q16},
    {"mul_exact", "int6", NULL, AXL_SMALL_Q16},
    {"mul_exact", "e2m1", NULL, AXL_SMALL_Q16},
    {"mul_exact", "e2m1", "fp32", AXL_SMALL_Q16},
    {"fpmul_mitchell", "e2m1", NULL, AXL_SMALL_Q16},
    {"mul_exact", "e2m3", "fp32", AXL_SMALL_Q16},
    {"mul_exact", "e3m2", "fp32", AXL_SMALL_HI16},
    {"fpmul_mitchell", "e3m2", NULL, AXL_SMALL_Q16},
    {"mul_exact", "e4m0fin", "fp32", AXL_SMALL_HI16},
};

/* The plan made under AXL_CPU_KERNEL=ENV (NULL: unset). */
static struct axl_mac *plan_under(const struct axl_mac_spec *sp, const char *env)
{
    char msg[AXL_MSG_LEN];
    struct axl_mac *m;
    if (env)
        setenv("AXL_CPU_KERNEL", env, 1);
    else
        unsetenv("AXL_CPU_KERNEL");
    enum axl_status st = axl_mac_create(sp, &m, msg);
    unsetenv("AXL_CPU_KERNEL");
    cr_assert_eq(st, AXL_OK, "%s", msg);
    return m;
}

Test(small, plans_equal_gather_path_and_reference, .timeout = 600)
{
    static const char *const envs[] = {NULL, "avx2"};
    int bad = 0, ran = 0;
    for (size_t pi = 0; pi < sizeof k_plans / sizeof k_plans[0]; pi++) {
        const struct plan_case *pc = &k_plans[pi];
        struct axl_mac_spec s;
        memset(&s, 0, sizeof s);
        s.mul = pc->mul;
        s.fmt_a = pc->fmt;
        s.fmt_p = pc->fmt_p;
        s.order = AXL_ORDER_SEQUENTIAL;
        s.path = AXL_PATH_TABLE;
        struct axl_mac *slow = plan_under(&s, "gather");
        cr_assert_eq(slow->sm.mode, AXL_SMALL_NONE);
        struct axl_mac *scalar = plan_under(&s, "scalar");
        cr_assert_eq(scalar->sm.mode, AXL_SMALL_NONE);
        axl_mac_free(scalar);
        for (int ei = 0; ei < 2; ei++) {
            struct axl_mac *fast = plan_under(&s, envs[ei]);
            char label[160];
            snprintf(label, sizeof label, "%s %s%s%s (AXL_CPU_KERNEL=%s)", pc->mul, pc->fmt,
                     pc->fmt_p ? " -> " : "", pc->fmt_p ? pc->fmt_p : "",
                     envs[ei] ? envs[ei] : "unset");
            int want_isa = envs[ei] ? AXL_SMALL_AVX2 : AXL_SMALL_AVX512;
            if (!axl_small_isa_supported(want_isa)) {
                cr_log_info("%s: this CPU cannot run the kernel, the other paths ran", label);
            } else {
                cr_assert_eq(fast->sm.mode, pc->mode, "%s: mode %d", label, fast->sm.mode);
                cr_assert_eq(fast->sm.isa, want_isa, "%s: isa %d", label, fast->sm.isa);
                ran++;
            }
            bad += plan_vs(fast, slow, NULL, label);
            if (!fast->int_mode) { /* the naive reference speaks floating formats */
                struct ref_cfg r;
                char msg[AXL_MSG_LEN];
                memset(&r, 0, sizeof r);
                cr_assert_eq(axl_format_parse(pc->fmt, &r.fa, msg), AXL_OK);
                r.fw = r.fa;
                r.mul = axl_design_find(pc->mul);
                cr_assert(r.mul);
                struct axl_format fp;
                cr_assert_eq(axl_format_parse(pc->fmt_p ? pc->fmt_p : pc->fmt, &fp, msg), AXL_OK);
                cr_assert_eq(axl_design_bind(r.mul, &r.fa, &r.fw, pc->fmt_p ? &fp : NULL, NULL, 0,
                                             &r.mc, msg),
                             AXL_OK, "%s", msg);
                r.order = AXL_ORDER_SEQUENTIAL;
                bad += plan_vs(fast, NULL, &r, label);
            }
            axl_mac_free(fast);
        }
        axl_mac_free(slow);
    }
    if (axl_small_isa_supported(AXL_SMALL_AVX2))
        cr_assert_geq(ran, (int)(sizeof k_plans / sizeof k_plans[0]), "the kernel ran %d times",
                      ran);
    cr_assert_eq(bad, 0, "%d outputs differ", bad);
}
