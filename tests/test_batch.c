/* Batch forms of designs (design.h: axl_design_batch, axl_user_design_batch)
 * against the scalar eval, bit for bit: every built-in design, with its
 * default parameters and another setting, over every operand pair of
 * formats up to 8 + 8 bits (nearest-even and stochastic rounding here, every
 * mode in test_batch_sweep), and random pairs of bf16, fp16, fp32 and int16
 * (2^18 per design and format here, 2^24 in test_batch_sweep, which also
 * takes all 2^32 pairs of the bf16 and fp16 adders); every ISA level this CPU has (AVX-512, AVX2,
 * baseline), both forms (row: one weight code against a block; pair: a
 * block of independent adds).  A user design compiled both ways: alone
 * (-O2, as before batch forms existed) and through the generated wrapper.
 * The block decode and encode of the kernels against the scalar ones.
 * Mismatches: the first ten printed in hex. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/design.h"
#include "axlut/user_design.h"
#include "designs/registry.h"
#include "tablegen_fixtures.h"

#ifdef AXL_BATCH_FULL
#define WIDE_SIDE 4096 /* 2^24 pairs */
#define NARROW_ROUNDS 5 /* every rounding mode on formats up to 8 bits */
#else
#define WIDE_SIDE 512 /* 2^18 pairs */
#define NARROW_ROUNDS 2 /* nearest-even and stochastic */
#endif

/* Two results agree: the same code, or (nan_fmt not NULL) two NaN codes of
 * that format. */
static int same(uint32_t x, uint32_t y, const struct axl_format *nan_fmt)
{
    return x == y || (nan_fmt && axl_format_is_nan(nan_fmt, x) && axl_format_is_nan(nan_fmt, y));
}

/* Compares the batch forms bt with the scalar eval f over as x bs; returns
 * the number of mismatches (row and pair forms together).  nan_fmt: see
 * same(). */
static long compare_nan(const struct axl_design_batch *bt, axl_eval_fn f,
                        const struct axl_design_ctx *c, const uint32_t *as, size_t na,
                        const uint32_t *bs, size_t nb, const char *what,
                        const struct axl_format *nan_fmt)
{
    long bad = 0;
#pragma omp parallel for schedule(dynamic, 4) reduction(+ : bad)
    for (size_t j = 0; j < nb; j++) {
        uint32_t *out = malloc(na * sizeof *out), *y = malloc(na * sizeof *y);
        cr_assert(out && y);
        /* row: weight bs[j] against every a */
        bt->row(c, as, bs[j], out, (int64_t)na);
        for (size_t i = 0; i < na; i++) {
            uint32_t exp = f(c, as[i], bs[j]);
            if (!same(out[i], exp, nan_fmt)) {
                if (bad < 10)
                    fprintf(stderr, "MISMATCH %s row: f(0x%" PRIx32 ", 0x%" PRIx32 ") = 0x%" PRIx32
                            ", batch 0x%" PRIx32 "\n", what, as[i], bs[j], exp, out[i]);
                bad++;
            }
        }
        /* pair: a[i] + bs[(j + i) % nb], every pair once over all j; in place
         * (out = x), as the accumulators use it */
        for (size_t i = 0; i < na; i++) {
            y[i] = bs[(j + i) % nb];
            out[i] = as[i];
        }
        bt->pair(c, out, y, out, (int64_t)na);
        for (size_t i = 0; i < na; i++) {
            uint32_t exp = f(c, as[i], y[i]);
            if (!same(out[i], exp, nan_fmt)) {
                if (bad < 10)
                    fprintf(stderr, "MISMATCH %s pair: f(0x%" PRIx32 ", 0x%" PRIx32 ") = 0x%" PRIx32
                            ", batch 0x%" PRIx32 "\n", what, as[i], y[i], exp, out[i]);
                bad++;
            }
        }
        free(out);
        free(y);
    }
    return bad;
}

static long compare(const struct axl_design_batch *bt, axl_eval_fn f,
                    const struct axl_design_ctx *c, const uint32_t *as, size_t na,
                    const uint32_t *bs, size_t nb, const char *what)
{
    return compare_nan(bt, f, c, as, na, bs, nb, what, NULL);
}

/* Every code of f, or n random codes (fixed seed). */
static uint32_t *codes(const struct axl_format *f, size_t *n, size_t want, uint64_t seed)
{
    size_t all = (size_t)1 << f->bits;
    *n = f->bits <= 8 ? all : want;
    uint32_t *v = malloc(*n * sizeof *v);
    cr_assert(v);
    for (size_t i = 0; i < *n; i++)
        v[i] = f->bits <= 8 ? (uint32_t)i
                            : axl_rand32(seed, i) & (f->bits == 32 ? 0xFFFFFFFFu
                                                                   : (uint32_t)(all - 1));
    /* the specials of wide formats are rare among random codes: put the
     * zeros, infinities and a NaN of both signs first */
    if (f->bits > 8 && f->kind == AXL_KIND_FLOAT && *n >= 8) {
        uint32_t s = 1u << (f->bits - 1), inf = (((1u << f->ebits) - 1u) << f->mbits);
        const uint32_t sp[8] = {0, s, inf, inf | s, inf | 1u, 1u, s | 1u, inf - 1u};
        memcpy(v, sp, sizeof sp);
    }
    return v;
}

/* One design on operand formats fa x fb with parameters p (NULL: defaults),
 * at every ISA level and the given rounding modes. */
static long check_design(const struct axl_design *d, const char *fa_name, const char *fb_name,
                         const char *const *p, int np, const int *rounds, int nr)
{
    struct axl_format fa, fb;
    char msg[AXL_MSG_LEN];
    cr_assert_eq(axl_format_parse(fa_name, &fa, msg), AXL_OK, "%s", msg);
    cr_assert_eq(axl_format_parse(fb_name, &fb, msg), AXL_OK, "%s", msg);
    struct axl_design_ctx c;
    const struct axl_format *fr = d->op == AXL_OP_ADD && fa.kind == AXL_KIND_FLOAT ? &fa : NULL;
    if (axl_design_bind(d, &fa, &fb, fr, p, np, &c, msg) != AXL_OK)
        return -1; /* the design does not take these formats */
    size_t na, nb;
    uint32_t *as = codes(&fa, &na, WIDE_SIDE, 11), *bs = codes(&fb, &nb, WIDE_SIDE, 12);
    long bad = 0;
    for (int level = 0; level <= axl_design_batch_hw_level(); level++) {
        struct axl_design_batch bt = axl_design_batch_at_level(d, level);
        cr_assert(bt.row && bt.pair, "%s has no batch forms", d->name);
        for (int r = 0; r < nr; r++) {
            c.round = (uint8_t)rounds[r];
            char what[160];
            snprintf(what, sizeof what, "%s %s x %s %s round %d level %d", d->name, fa_name,
                     fb_name, np ? p[0] : "", rounds[r], level);
            bad += compare(&bt, d->eval, &c, as, na, bs, nb, what);
        }
    }
    free(as);
    free(bs);
    return bad;
}

/* A second setting of every parameter: one above its minimum. */
static int other_params(const struct axl_design *d, char (*buf)[48], const char **p)
{
    int n = 0;
    for (uint32_t i = 0; i < d->nparams; i++) {
        const struct axl_design_param *q = &d->params[i];
        int v = q->min + 1 <= q->max ? q->min + 1 : q->min;
        if (v == q->def && q->def + 1 <= q->max)
            v = q->def + 1;
        snprintf(buf[n], 48, "%s=%d", q->name, v);
        p[n] = buf[n];
        n++;
    }
    return n;
}

static const int k_all_rounds[] = {AXL_ROUND_NEAREST_EVEN, AXL_ROUND_STOCHASTIC,
                                   AXL_ROUND_TOWARD_ZERO, AXL_ROUND_UP, AXL_ROUND_DOWN};
static const int k_wide_rounds[] = {AXL_ROUND_NEAREST_EVEN, AXL_ROUND_STOCHASTIC};

static void check_formats(const char *const (*pairs)[2], size_t npairs, const int *rounds, int nr)
{
    long bad = 0;
    int checked = 0;
    for (size_t i = 0; i < axl_design_count(); i++) {
        const struct axl_design *d = axl_design_at(i);
        char buf[AXL_DESIGN_MAX_PARAMS][48];
        const char *p[AXL_DESIGN_MAX_PARAMS];
        int np = other_params(d, buf, p);
        for (size_t f = 0; f < npairs; f++)
            for (int set = 0; set < (np ? 2 : 1); set++) {
                long b = check_design(d, pairs[f][0], pairs[f][1], set ? p : NULL, set ? np : 0,
                                      rounds, nr);
                if (b >= 0) {
                    bad += b;
                    checked++;
                }
            }
    }
    cr_assert_gt(checked, 0, "no design took any of the formats");
    cr_assert_eq(bad, 0, "%ld batch results differ from the scalar eval", bad);
}

Test(batch, every_design_every_pair_up_to_8_bits, .timeout = 600)
{
    static const char *const pairs[][2] = {{"e4m3", "e4m3"}, {"e5m2", "e5m2"}, {"e2m1", "e2m1"},
                                           {"e3m2", "e2m3"}, {"e4m3", "e5m2"}, {"int8", "int8"},
                                           {"uint8", "uint8"}, {"int4", "int4"}};
    check_formats(pairs, sizeof pairs / sizeof pairs[0], k_all_rounds, NARROW_ROUNDS);
}

Test(batch, every_design_random_pairs_bf16_fp16_fp32, .timeout = 3600)
{
    static const char *const pairs[][2] = {{"bf16", "bf16"}, {"fp16", "fp16"}, {"fp32", "fp32"},
                                           {"int16", "int16"}};
    check_formats(pairs, sizeof pairs / sizeof pairs[0], k_wide_rounds, 2);
}

#ifdef AXL_BATCH_FULL
/* All 2^32 pairs of the floating adders on bf16 and fp16, nearest-even, at
 * the level in use. */
Test(batch, adders_every_pair_bf16_fp16, .timeout = 86400)
{
    const char *const adders[] = {"add_exact", "fpadd_loa", "fpadd_ama5", "fpadd_eta1",
                                  "fpadd_trunc_add", "fpadd_aca"};
    const char *const fmts[] = {"bf16", "fp16"};
    long bad = 0;
    for (size_t i = 0; i < sizeof adders / sizeof adders[0]; i++)
        for (size_t f = 0; f < 2; f++) {
            const struct axl_design *d = axl_design_find(adders[i]);
            cr_assert(d);
            struct axl_format fm;
            struct axl_design_ctx c;
            char msg[AXL_MSG_LEN];
            cr_assert_eq(axl_format_parse(fmts[f], &fm, msg), AXL_OK);
            cr_assert_eq(axl_design_bind(d, &fm, &fm, &fm, NULL, 0, &c, msg), AXL_OK, "%s", msg);
            uint32_t *all = malloc(65536 * sizeof *all);
            cr_assert(all);
            for (uint32_t a = 0; a < 65536; a++)
                all[a] = a;
            struct axl_design_batch bt = axl_design_batch(d);
            char what[96];
            snprintf(what, sizeof what, "%s %s (%s)", adders[i], fmts[f], axl_design_batch_isa());
            bad += compare(&bt, d->eval, &c, all, 65536, all, 65536, what);
            free(all);
        }
    cr_assert_eq(bad, 0, "%ld batch sums differ from the scalar eval", bad);
}
#endif

/* ---- user designs: compiled alone and through the wrapper ---------------- */

/* A floating user design whose eval has a multiply feeding an add (which
 * -march=native could contract into a fused multiply-add if the wrapper's
 * flags allowed it) and a branch. */
static const char k_float_user[] =
    "#include <axlut/design.h>\n"
    "#include <string.h>\n"
    "static float dec(uint32_t c) { uint32_t u = c << 16; float f; memcpy(&f, &u, 4); return f; }\n"
    "static uint32_t eval(const struct axl_design_ctx *c, uint32_t a, uint32_t b)\n"
    "{\n"
    "    (void)c;\n"
    "    float x = dec(a), y = dec(b);\n"
    "    float r = x * y + x * 0.001f;\n"
    "    if (r > 100.0f) r = 100.0f;\n"
    "    uint32_t u; memcpy(&u, &r, 4);\n"
    "    return (u >> 16) & 0xFFFFu;\n"
    "}\n"
    "const struct axl_design axl_user_design = {.abi = AXL_DESIGN_ABI, .name = \"fma_bait\",\n"
    "    .description = \"x*y + x/1000, truncated to bf16\", .op = AXL_OP_MUL,\n"
    "    .operands = AXL_OPERANDS_FIXED, .fmt_a = \"bf16\", .fmt_b = \"bf16\", .fmt_r = \"bf16\",\n"
    "    .eval = eval, .version = 1};\n";

/* The file compiled alone, as axlut compiled user designs before batch
 * forms: the reference eval. */
static void *compile_plain(const char *src, const char *so)
{
    const char *srcdir = getenv("AXL_SOURCE_DIR");
    cr_assert(srcdir, "AXL_SOURCE_DIR is not set");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "${CC:-cc} -O2 -fPIC -shared -I%s/include -o %s %s", srcdir, so, src);
    cr_assert_eq(run_sh(cmd), 0, "%s", cmd);
    void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    cr_assert(h, "%s", dlerror());
    return h;
}

static void check_user(const char *src, const char *fa_name, const char *param)
{
    char so[600];
    snprintf(so, sizeof so, "%s.plain.so", src);
    void *h = compile_plain(src, so);
    const struct axl_design *plain = dlsym(h, "axl_user_design");
    cr_assert(plain);
    struct axl_user_design *u = NULL;
    char msg[AXL_MSG_LEN] = "", *log = NULL;
    cr_assert_eq(axl_user_design_load(src, &u, &log, msg), AXL_OK, "%s\n%s", msg, log ? log : "");
    const struct axl_design *d = axl_user_design_get(u);
    struct axl_design_batch bt = axl_design_batch(d);
    cr_assert(!bt.row && !bt.pair, "a user design is not a built-in");
    axl_user_design_batch(u, &bt.row, &bt.pair);
    cr_assert(bt.row && bt.pair, "the batch wrapper did not compile");

    struct axl_format fa;
    cr_assert_eq(axl_format_parse(fa_name, &fa, msg), AXL_OK);
    struct axl_design_ctx c;
    const char *p[1] = {param};
    cr_assert_eq(axl_design_bind(d, &fa, &fa, NULL, p, param ? 1 : 0, &c, msg), AXL_OK, "%s", msg);
    size_t na, nb;
    uint32_t *as = codes(&fa, &na, WIDE_SIDE, 21), *bs = codes(&fa, &nb, WIDE_SIDE, 22);
    /* The one freedom: which NaN a float operation of the user's code
     * propagates is the compiler's choice (x86 returns the first operand's
     * payload, and a multiply is commutative, so any two compilations may
     * differ); the built-ins use integer arithmetic and are compared
     * exactly. */
    const struct axl_format *nanf = c.fr.kind == AXL_KIND_FLOAT ? &c.fr : NULL;
    long bad = compare_nan(&bt, plain->eval, &c, as, na, bs, nb, d->name, nanf);
    free(as);
    free(bs);
    axl_user_design_free(u);
    dlclose(h);
    cr_assert_eq(bad, 0, "%ld results of the wrapper's batch forms differ from the file "
                 "compiled alone", bad);
}

Test(batch, user_design_compiled_both_ways, .timeout = 600)
{
    const char *srcdir = getenv("AXL_SOURCE_DIR");
    cr_assert(srcdir);
    char ex[1024];
    snprintf(ex, sizeof ex, "%s/tables/examples/my_lomul.c", srcdir);
    const char *copy = tmp_path("my_lomul.c");
    char cmd[2200];
    snprintf(cmd, sizeof cmd, "cp %s %s", ex, copy);
    cr_assert_eq(run_sh(cmd), 0);
    check_user(copy, "uint8", "k=6");
    check_user(copy, "uint8", "k=3");
    const char *fsrc = tmp_path("fma_bait.c");
    write_text(fsrc, k_float_user);
    check_user(fsrc, "bf16", NULL);
}

/* The formats the batch forms specialise (batch.c: k_spec) are bf16, fp16
 * and fp32 as the parser gives them: had a field differed, those formats
 * would quietly take the slow generic loops. */
Test(batch, specialised_formats_are_the_parsed_ones)
{
    const char *const names[] = {"bf16", "fp16", "fp32", "e4m3", "e5m2", "e5m10fn", "e5m10nosub"};
    const int want[] = {1, 2, 3, 0, 0, 0, 0};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct axl_format f;
        char msg[AXL_MSG_LEN];
        cr_assert_eq(axl_format_parse(names[i], &f, msg), AXL_OK, "%s", msg);
        cr_expect_eq(axl_batch_spec_format(&f), want[i], "%s", names[i]);
    }
}

/* ... and the integer ones (k_ispec) are the formats design_bind gives the
 * adders on int8 and int16 and the multipliers on int8 and uint8 (the
 * exact designs included); the other widths take the generic loop. */
Test(batch, integer_specialisations_are_the_bound_ones)
{
    static const struct {
        const char *design, *fmt;
        int want;
    } cases[] = {{"loa", "int8", 1},      {"loa", "int16", 2},  {"eta1", "int16", 2},
                 {"mitchell", "int8", 3}, {"drum", "uint8", 4}, {"loa", "uint8", 0},
                 {"loa", "int12", 0},     {"mitchell", "int16", 0}, {"add_exact", "int16", 2},
                 {"mul_exact", "int8", 3}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct axl_format f;
        struct axl_design_ctx c;
        char msg[AXL_MSG_LEN];
        const struct axl_design *d = axl_design_find(cases[i].design);
        cr_assert(d);
        cr_assert_eq(axl_format_parse(cases[i].fmt, &f, msg), AXL_OK, "%s", msg);
        cr_assert_eq(axl_design_bind(d, &f, &f, NULL, NULL, 0, &c, msg), AXL_OK, "%s", msg);
        cr_expect_eq(axl_batch_ispec_of(&c), cases[i].want, "%s on %s", cases[i].design,
                     cases[i].fmt);
    }
}

/* The kernels' block decode and encode (nearest-even) against the scalar
 * axl_format_decode / axl_format_encode, at every ISA level: every code of
 * the formats up to 16 bits, 2^20 random codes of fp32; for encode, 2^20
 * random float32 bit patterns (every class: NaNs, infinities, subnormals,
 * values past every format's range) and the values halfway between codes.
 * Floats are compared by their bits. */
Test(batch, decode_and_encode_blocks_equal_scalar, .timeout = 600)
{
    const char *const names[] = {"bf16", "fp16", "fp32", "e4m3", "e5m2", "e5m10fn", "int8"};
    const int64_t n = 1 << 20;
    uint32_t *codes = malloc((size_t)n * sizeof *codes), *enc = malloc((size_t)n * sizeof *enc);
    float *vals = malloc((size_t)n * sizeof *vals), *dec = malloc((size_t)n * sizeof *dec);
    cr_assert(codes && enc && vals && dec);
    long bad = 0, checked = 0;
    for (size_t fi = 0; fi < sizeof names / sizeof names[0]; fi++) {
        struct axl_format f;
        char msg[AXL_MSG_LEN];
        cr_assert_eq(axl_format_parse(names[fi], &f, msg), AXL_OK, "%s", msg);
        int64_t nc = f.bits <= 16 ? (int64_t)1 << f.bits : n;
        for (int64_t i = 0; i < nc; i++)
            codes[i] = f.bits <= 16 ? (uint32_t)i : axl_rand32(21, (uint64_t)i);
        /* floats: random bit patterns, then the midpoints of adjacent codes */
        for (int64_t i = 0; i < n; i++) {
            uint32_t u = axl_rand32(22, (uint64_t)i);
            memcpy(&vals[i], &u, sizeof u);
        }
        if (f.kind == AXL_KIND_FLOAT)
            for (int64_t i = 0; i + 1 < nc && i < n / 2; i++)
                vals[2 * i] = 0.5f * (axl_format_decode(&f, codes[i]) +
                                      axl_format_decode(&f, codes[i + 1]));
        for (int level = 0; level <= axl_design_batch_hw_level(); level++) {
            axl_batch_decode_at_level(level, &f, codes, dec, nc);
            for (int64_t i = 0; i < nc; i++) {
                float want = axl_format_decode(&f, codes[i]);
                if (memcmp(&want, &dec[i], sizeof want)) {
                    if (bad < 10)
                        fprintf(stderr, "MISMATCH decode %s level %d: 0x%" PRIx32 "\n",
                                names[fi], level, codes[i]);
                    bad++;
                }
            }
            axl_batch_encode_at_level(level, &f, vals, enc, n);
            for (int64_t i = 0; i < n; i++) {
                uint32_t want = axl_format_encode(&f, vals[i], AXL_ROUND_NEAREST_EVEN, 0);
                if (want != enc[i]) {
                    if (bad < 10)
                        fprintf(stderr, "MISMATCH encode %s level %d: %a -> 0x%" PRIx32
                                ", batch 0x%" PRIx32 "\n", names[fi], level, (double)vals[i],
                                want, enc[i]);
                    bad++;
                }
            }
            checked += nc + n;
        }
    }
    free(codes);
    free(enc);
    free(vals);
    free(dec);
    cr_assert_gt(checked, 0);
    cr_assert_eq(bad, 0, "%ld block results differ from the scalar ones", bad);
}
