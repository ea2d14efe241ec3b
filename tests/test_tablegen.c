/* tablegen: evaluation, metrics on hand-checkable designs, the HDF5 file
 * (round trip, h5py, corrupt files), user designs, the CLI. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "axlut/design.h"
#include "axlut/table.h"
#include "axlut/user_design.h"

/* --- designs defined here, independent of the built-ins ---------------- */

static uint32_t eval_u_mul(const struct axl_design_ctx *c, uint32_t a, uint32_t b)
{
    (void)c;
    return a * b;
}

/* exact except one pair: 3 x 5 = 16 */
static uint32_t eval_one_wrong(const struct axl_design_ctx *c, uint32_t a, uint32_t b)
{
    (void)c;
    return a == 3 && b == 5 ? 16u : a * b;
}

/* truncated adder: low k bits of each operand dropped */
static uint32_t eval_trunc_add(const struct axl_design_ctx *c, uint32_t a, uint32_t b)
{
    uint32_t m = ~((1u << c->param[0]) - 1u);
    return (a & m) + (b & m);
}

/* floating multiplier through float32 (exact for these widths) and encode */
static uint32_t eval_f_mul(const struct axl_design_ctx *c, uint32_t a, uint32_t b)
{
    float x = axl_format_decode(&c->fa, a) * axl_format_decode(&c->fb, b);
    return axl_format_encode(&c->fr, x, (enum axl_round)c->round, 0);
}

/* the same with the lowest mantissa bit of positive results cleared */
static uint32_t eval_f_mul_lsb(const struct axl_design_ctx *c, uint32_t a, uint32_t b)
{
    uint32_t r = eval_f_mul(c, a, b);
    int keep = axl_format_is_nan(&c->fr, r) || axl_format_is_inf(&c->fr, r) ||
               ((r >> (c->fr.bits - 1)) & 1u);
    return keep ? r : r & ~1u;
}

static uint32_t eval_f_add(const struct axl_design_ctx *c, uint32_t a, uint32_t b)
{
    float x = axl_format_decode(&c->fa, a) + axl_format_decode(&c->fb, b);
    return axl_format_encode(&c->fr, x, (enum axl_round)c->round, 0);
}

/* signed 8-bit multiplier returning sign-extended negative products */
static uint32_t eval_s_mul(const struct axl_design_ctx *c, uint32_t a, uint32_t b)
{
    (void)c;
    return (uint32_t)((int32_t)(int8_t)a * (int32_t)(int8_t)b);
}

static uint32_t eval_bad_code(const struct axl_design_ctx *c, uint32_t a, uint32_t b)
{
    (void)c;
    return a == 7 && b == 9 ? 0x12345u : a * b;
}

#define TEST_DESIGN(nm, opv, fn)                                                                   \
    {.abi = AXL_DESIGN_ABI, .name = nm, .description = "test design", .citation = "none",       \
     .op = opv, .operands = AXL_OPERANDS_ANY, .eval = fn, .version = 3}

static const struct axl_design d_u_mul = TEST_DESIGN("t_u_mul", AXL_OP_MUL, eval_u_mul);
static const struct axl_design d_one_wrong = TEST_DESIGN("t_one_wrong", AXL_OP_MUL, eval_one_wrong);
static const struct axl_design d_f_mul = TEST_DESIGN("t_f_mul", AXL_OP_MUL, eval_f_mul);
static const struct axl_design d_f_mul_lsb = TEST_DESIGN("t_f_mul_lsb", AXL_OP_MUL, eval_f_mul_lsb);
static const struct axl_design d_f_add = TEST_DESIGN("t_f_add", AXL_OP_ADD, eval_f_add);
static const struct axl_design d_s_mul = TEST_DESIGN("t_s_mul", AXL_OP_MUL, eval_s_mul);
static const struct axl_design d_bad = TEST_DESIGN("t_bad", AXL_OP_MUL, eval_bad_code);
static const struct axl_design d_trunc_add = {
    .abi = AXL_DESIGN_ABI, .name = "t_trunc_add", .description = "truncated adder",
    .citation = "none", .op = AXL_OP_ADD, .operands = AXL_OPERANDS_UINT, .eval = eval_trunc_add,
    .version = 1, .nparams = 1, .params = {{"k", 4, 0, 8, "bits dropped"}}};

static struct axl_format fmt(const char *name)
{
    struct axl_format f;
    char msg[AXL_MSG_LEN];
    if (axl_format_parse(name, &f, msg) != AXL_OK) {
        /* wide integer results (uint24, int32) are not in the parser's grammar */
        unsigned n = 0;
        memset(&f, 0, sizeof f);
        if (sscanf(name, "uint%u", &n) == 1)
            f.kind = AXL_KIND_UINT;
        else if (sscanf(name, "int%u", &n) == 1)
            f.kind = AXL_KIND_INT;
        cr_assert(n > 0, "format %s: %s", name, msg);
        f.bits = (uint8_t)n;
        snprintf(f.name, sizeof f.name, "%s", name);
    }
    return f;
}

/* A context built by hand, so these tests do not depend on axl_design_bind. */
static struct axl_design_ctx ctx3(const char *a, const char *b, const char *r)
{
    struct axl_design_ctx c;
    memset(&c, 0, sizeof c);
    c.fa = fmt(a);
    c.fb = fmt(b);
    c.fr = fmt(r);
    c.round = AXL_ROUND_NEAREST_EVEN;
    return c;
}

static struct axl_table *gen(const struct axl_design *d, const struct axl_design_ctx *c,
                             int threads)
{
    struct axl_table_opts o;
    memset(&o, 0, sizeof o);
    o.threads = threads;
    struct axl_table *t = NULL;
    char msg[AXL_MSG_LEN] = "";
    enum axl_status s = axl_table_generate(d, c, &o, &t, msg);
    cr_assert(s == AXL_OK, "generate %s: %s", d->name, msg);
    return t;
}

static char g_dir[256];

static const char *tmp_path(const char *name)
{
    static char p[8][512];
    static int i;
    if (!g_dir[0]) {
        snprintf(g_dir, sizeof g_dir, "/tmp/axl_tablegen_XXXXXX");
        cr_assert(mkdtemp(g_dir) != NULL);
        char cache[300];
        snprintf(cache, sizeof cache, "%s/cache", g_dir);
        setenv("AXL_CACHE_DIR", cache, 1);
    }
    i = (i + 1) % 8;
    snprintf(p[i], sizeof p[i], "%s/%s", g_dir, name);
    return p[i];
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert(f != NULL, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

static int run_sh(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *axlut_bin(void)
{
    static char p[1024];
    const char *b = getenv("AXL_BUILD_DIR");
    snprintf(p, sizeof p, "%s/axlut", b ? b : ".");
    return p;
}

/* --- evaluation ----------------------------------------------------------- */

Test(tablegen, entries_equal_design_row_a_col_b)
{
    struct axl_design_ctx c = ctx3("uint4", "uint4", "uint8");
    struct axl_table *t = gen(&d_one_wrong, &c, 0);
    const struct axl_table_info *in = axl_table_info(t);
    cr_assert_eq(in->rows, 16);
    cr_assert_eq(in->cols, 16);
    cr_assert_eq(in->entry_bytes, 1);
    cr_assert_eq(in->path, AXL_TABLE_FULL);
    int bad = 0;
    for (uint32_t a = 0; a < 16; a++)
        for (uint32_t b = 0; b < 16; b++)
            if (axl_table_entry(t, a, b) != eval_one_wrong(&c, a, b) && bad++ < 10)
                cr_log_error("a=%x b=%x: %x", a, b, axl_table_entry(t, a, b));
    cr_assert_eq(bad, 0);
    /* row is a: the wrong pair is (3, 5), not (5, 3) */
    cr_assert_eq(((const uint8_t *)axl_table_data(t))[3 * 16 + 5], 16);
    cr_assert_eq(((const uint8_t *)axl_table_data(t))[5 * 16 + 3], 15);
    axl_table_free(t);
}

Test(tablegen, entry_type_is_smallest)
{
    struct axl_design_ctx c = ctx3("uint4", "uint4", "uint8");
    struct axl_table *t = gen(&d_u_mul, &c, 0);
    cr_assert_eq(axl_table_info(t)->entry_bytes, 1);
    axl_table_free(t);
    c = ctx3("uint8", "uint8", "uint16");
    t = gen(&d_u_mul, &c, 0);
    cr_assert_eq(axl_table_info(t)->entry_bytes, 2);
    axl_table_free(t);
    c = ctx3("uint9", "uint9", "uint18");
    t = gen(&d_u_mul, &c, 0);
    cr_assert_eq(axl_table_info(t)->entry_bytes, 4);
    cr_assert_eq(axl_table_entry(t, 511, 511), 511u * 511u);
    axl_table_free(t);
}

Test(tablegen, signed_products_every_quadrant)
{
    struct axl_design_ctx c = ctx3("int8", "int8", "int16");
    struct axl_table *t = gen(&d_s_mul, &c, 0);
    int bad = 0;
    for (int x = -128; x < 128; x++)
        for (int y = -128; y < 128; y++) {
            uint32_t code = axl_table_entry(t, (uint32_t)x & 0xFF, (uint32_t)y & 0xFF);
            int v = (int16_t)(uint16_t)code;
            if (v != x * y && bad++ < 10)
                cr_log_error("%d x %d: table %d", x, y, v);
        }
    cr_assert_eq(bad, 0);
    cr_assert_eq(axl_table_entry(t, 0x80, 0x80), 0x4000u); /* -128 x -128 */
    cr_assert_eq(axl_table_info(t)->metrics.errors, 0);
    axl_table_free(t);
}

Test(tablegen, code_wider_than_result_is_refused)
{
    struct axl_design_ctx c = ctx3("uint4", "uint4", "uint8");
    struct axl_table *t = NULL;
    char msg[AXL_MSG_LEN] = "";
    cr_assert_eq(axl_table_generate(&d_bad, &c, NULL, &t, msg), AXL_ERR_INVALID);
    cr_assert_null(t);
    cr_assert(strstr(msg, "a=0x7, b=0x9") && strstr(msg, "0x12345"), "%s", msg);
}

/* --- metrics ---------------------------------------------------------------- */

Test(tablegen, metrics_one_wrong_pair)
{
    struct axl_design_ctx c = ctx3("uint4", "uint4", "uint8");
    struct axl_table *t = gen(&d_one_wrong, &c, 0);
    const struct axl_metrics *m = &axl_table_info(t)->metrics;
    cr_expect_eq(m->pairs, 256);
    cr_expect_eq(m->compared, 256);
    cr_expect_eq(m->errors, 1);
    cr_expect_eq(m->rel_pairs, 225); /* 15 x 15 nonzero products */
    cr_expect_eq(m->ep, 1.0 / 256);
    cr_expect_eq(m->mean_error, 1.0 / 256);
    cr_expect_eq(m->mae, 1.0 / 256);
    cr_expect_eq(m->mse, 1.0 / 256);
    cr_expect_eq(m->rmse, sqrt(1.0 / 256));
    cr_expect_eq(m->wce, 1);
    cr_expect_eq(m->wce_a, 3);
    cr_expect_eq(m->wce_b, 5);
    cr_expect(fabs(m->mred - (1.0 / 15) / 225) < 1e-15);
    cr_expect(fabs(m->wre - 1.0 / 15) < 1e-15);
    cr_expect_eq(m->max_exact, 225);
    cr_expect(fabs(m->nmed - (1.0 / 256) / 225) < 1e-15);
    cr_expect_eq(m->output_range, 256);
    cr_expect(fabs(m->ep_pct - 100.0 / 256) < 1e-12);
    cr_expect(fabs(m->mae_pct - 100.0 / 256 / 256) < 1e-12);
    cr_expect(fabs(m->wce_pct - 100.0 / 256) < 1e-12);
    cr_expect(fabs(m->wcre_pct - 100.0 / 15) < 1e-12);
    cr_expect_eq(m->hist_range, 1);
    cr_expect_eq(m->hist[32], 255);
    cr_expect_eq(m->hist[63], 1);
    axl_table_free(t);
}

Test(tablegen, metrics_truncated_adder_closed_form)
{
    /* error = -((a mod 2^k) + (b mod 2^k)): two independent uniform 0..15 */
    struct axl_design_ctx c = ctx3("uint8", "uint8", "uint9");
    c.param[0] = 4;
    struct axl_table *t = gen(&d_trunc_add, &c, 0);
    const struct axl_metrics *m = &axl_table_info(t)->metrics;
    cr_expect_eq(m->errors, 65536 - 256);
    cr_expect(fabs(m->mean_error + 15.0) < 1e-12, "bias %g", m->mean_error);
    cr_expect(fabs(m->mae - 15.0) < 1e-12);
    cr_expect(fabs(m->mse - (2 * 255.0 / 12 + 225.0)) < 1e-9, "mse %g", m->mse); /* 267.5 */
    cr_expect_eq(m->wce, 30);
    cr_expect_eq(m->output_range, 512);
    cr_expect(fabs(m->mae_pct - 100.0 * 15 / 512) < 1e-12);
    cr_expect_eq(m->rel_pairs, 65535); /* only 0 + 0 is skipped */
    cr_expect_eq(m->wre, -1.0);       /* 1 + 0 -> 0 */
    uint64_t n = 0;
    for (int i = 0; i < AXL_TABLE_HIST_BINS; i++)
        n += m->hist[i];
    cr_expect_eq(n, 65536);
    cr_expect_eq(m->hist[0], 256); /* error -30: (15,15) low nibbles; edge bin */
    axl_table_free(t);
}

Test(tablegen, float_exact_designs_have_zero_error)
{
    const char *mul_fmts[] = {"e4m3", "e5m2", "e3m2", "e2m3", "e4m3fnuz", "e3m2nosub"};
    for (size_t i = 0; i < sizeof mul_fmts / sizeof mul_fmts[0]; i++) {
        struct axl_design_ctx c = ctx3(mul_fmts[i], mul_fmts[i], mul_fmts[i]);
        for (int r = 0; r < 4; r++) {
            c.round = (uint8_t)r;
            struct axl_table *t = gen(&d_f_mul, &c, 0);
            const struct axl_metrics *m = &axl_table_info(t)->metrics;
            cr_expect_eq(m->errors, 0, "%s round %d: %llu errors", mul_fmts[i], r,
                         (unsigned long long)m->errors);
            cr_expect_eq(m->special_mismatch, 0);
            axl_table_free(t);
        }
    }
    /* sums of these narrow formats are exact in float32 */
    const char *add_fmts[] = {"e3m2", "e2m3", "e4m3", "e2m1"};
    for (size_t i = 0; i < sizeof add_fmts / sizeof add_fmts[0]; i++) {
        struct axl_design_ctx c = ctx3(add_fmts[i], add_fmts[i], add_fmts[i]);
        struct axl_table *t = gen(&d_f_add, &c, 0);
        cr_expect_eq(axl_table_info(t)->metrics.errors, 0, "add %s", add_fmts[i]);
        axl_table_free(t);
    }
}

Test(tablegen, float_specials_counted_apart)
{
    /* e5m2 (IEEE): NaN and inf operands give non-finite exact results that
     * the exact design matches; none of them enter the means */
    struct axl_design_ctx c = ctx3("e5m2", "e5m2", "e5m2");
    struct axl_table *t = gen(&d_f_mul, &c, 0);
    const struct axl_metrics *m = &axl_table_info(t)->metrics;
    cr_expect_gt(m->nan_results, 0);
    cr_expect_gt(m->inf_results, 0);
    cr_expect_eq(m->nan_results + m->inf_results, m->exact_nonfinite);
    cr_expect_eq(m->compared + m->exact_nonfinite, m->pairs);
    cr_expect_eq(m->mae, 0);
    axl_table_free(t);
}

Test(tablegen, metrics_same_with_1_and_2_threads)
{
    /* nonzero floating errors of both signs to sum, over 2^22 pairs */
    struct axl_design_ctx c = ctx3("e5m5", "e5m5", "e5m5");
    struct axl_table *t1 = gen(&d_f_mul_lsb, &c, 1);
    struct axl_table *t2 = gen(&d_f_mul_lsb, &c, 2);
    const struct axl_table_info *i1 = axl_table_info(t1), *i2 = axl_table_info(t2);
    cr_assert_eq(i1->rows * i1->cols, 1u << 22);
    cr_assert(!memcmp(axl_table_data(t1), axl_table_data(t2), (size_t)(1u << 22) * 2));
    cr_assert(!memcmp(&i1->metrics, &i2->metrics, sizeof i1->metrics));
    cr_assert_gt(i1->metrics.errors, 0);
    cr_assert_lt(i1->metrics.mean_error, 0);
    axl_table_free(t1);
    axl_table_free(t2);
}

/* --- paths ------------------------------------------------------------------ */

static const struct axl_design d_wide = {.abi = AXL_DESIGN_ABI, .name = "t_wide",
                                         .op = AXL_OP_MUL, .operands = AXL_OPERANDS_FLOAT,
                                         .eval = eval_f_mul, .version = 1};
static const struct axl_design d_mant = {.abi = AXL_DESIGN_ABI, .name = "t_mant",
                                         .op = AXL_OP_MUL, .operands = AXL_OPERANDS_FLOAT,
                                         .eval = eval_f_mul, .version = 1, .mantissa_only = 1,
                                         .mantissa_core = "t_core"};
static const struct axl_design d_core = {.abi = AXL_DESIGN_ABI, .name = "t_core",
                                         .op = AXL_OP_MUL, .operands = AXL_OPERANDS_UINT,
                                         .eval = eval_u_mul, .version = 1};

Test(tablegen, too_wide_refused_with_message)
{
    struct axl_design_ctx c = ctx3("fp16", "fp16", "fp16");
    struct axl_table *t = NULL;
    char msg[AXL_MSG_LEN] = "";
    cr_assert_eq(axl_table_generate(&d_wide, &c, NULL, &t, msg), AXL_ERR_TOO_LARGE);
    cr_assert_null(t);
    cr_assert(strstr(msg, "16+16 bits") && strstr(msg, "call the design's function directly"),
              "%s", msg);
    c = ctx3("fp32", "fp32", "fp32");
    cr_assert_eq(axl_table_generate(&d_mant, &c, NULL, &t, msg), AXL_ERR_TOO_LARGE);
    cr_assert(strstr(msg, "11 bits") && strstr(msg, "directly"), "%s", msg);
    c = ctx3("uint13", "uint13", "uint26");
    cr_assert_eq(axl_table_generate(&d_u_mul, &c, NULL, &t, msg), AXL_ERR_TOO_LARGE);
    cr_assert(strstr(msg, "13+13 bits"), "%s", msg);
    enum axl_table_path p;
    c = ctx3("uint12", "uint12", "uint24");
    cr_assert_eq(axl_table_choose_path(&d_u_mul, &c, 0, &p, msg), AXL_OK);
    cr_assert_eq(p, AXL_TABLE_FULL);
}

Test(tablegen, mantissa_table_of_the_core)
{
    struct axl_design_ctx c = ctx3("bf16", "bf16", "bf16");
    struct axl_table_opts o;
    memset(&o, 0, sizeof o);
    o.mantissa_core = &d_core;
    struct axl_table *t = NULL;
    char msg[AXL_MSG_LEN] = "";
    cr_assert_eq(axl_table_generate(&d_mant, &c, &o, &t, msg), AXL_OK, "%s", msg);
    const struct axl_table_info *in = axl_table_info(t);
    cr_assert_eq(in->path, AXL_TABLE_MANTISSA);
    cr_assert_eq(in->rows, 256); /* uint8: 7 mantissa bits + hidden */
    cr_assert_str_eq(in->ta.name, "uint8");
    cr_assert_str_eq(in->tr.name, "uint16");
    cr_assert_str_eq(in->fa.name, "bf16");
    cr_assert_str_eq(in->core_design, "t_core");
    cr_assert_eq(axl_table_entry(t, 0xC0, 0x81), 0xC0u * 0x81u);
    cr_assert_eq(in->metrics.errors, 0);
    const char *p = tmp_path("mant.h5");
    cr_assert_eq(axl_table_write(t, p, 1, msg), AXL_OK, "%s", msg);
    struct axl_table *u = NULL;
    cr_assert_eq(axl_table_load(p, &u, msg), AXL_OK, "%s", msg);
    cr_assert_eq(axl_table_info(u)->path, AXL_TABLE_MANTISSA);
    cr_assert_str_eq(axl_table_info(u)->tb.name, "uint8");
    axl_table_free(u);
    axl_table_free(t);
}

/* --- files -------------------------------------------------------------------- */

Test(tablegen, write_load_round_trip)
{
    struct axl_design_ctx c = ctx3("int8", "int8", "int16");
    struct axl_table *t = gen(&d_s_mul, &c, 0);
    const char *p = tmp_path("rt.h5");
    char msg[AXL_MSG_LEN] = "";
    cr_assert_eq(axl_table_write(t, p, 1, msg), AXL_OK, "%s", msg);
    cr_assert_eq(axl_table_write(t, p, 0, msg), AXL_ERR_INVALID);
    cr_assert(strstr(msg, "exists") && strstr(msg, "--force"), "%s", msg);
    struct axl_table *u = NULL;
    cr_assert_eq(axl_table_load(p, &u, msg), AXL_OK, "%s", msg);
    const struct axl_table_info *a = axl_table_info(t), *b = axl_table_info(u);
    cr_assert(!memcmp(axl_table_data(t), axl_table_data(u), 65536 * 2));
    cr_assert(!memcmp(&a->metrics, &b->metrics, sizeof a->metrics));
    cr_assert_str_eq(b->design, "t_s_mul");
    cr_assert_str_eq(b->fa.name, "int8");
    cr_assert_str_eq(b->fr.name, "int16");
    cr_assert_eq(b->design_version, 3);
    cr_assert_eq(b->op, AXL_OP_MUL);
    cr_assert_str_eq(b->created, a->created);
    axl_table_free(u);

    /* with a parameter and a source hash */
    struct axl_design_ctx c2 = ctx3("uint8", "uint8", "uint9");
    c2.param[0] = 3;
    struct axl_table_opts o;
    memset(&o, 0, sizeof o);
    o.source_sha256 = "00ff";
    struct axl_table *t2 = NULL;
    cr_assert_eq(axl_table_generate(&d_trunc_add, &c2, &o, &t2, msg), AXL_OK);
    cr_assert_eq(axl_table_write(t2, p, 1, msg), AXL_OK, "%s", msg);
    struct axl_table_info in;
    cr_assert_eq(axl_table_load_info(p, &in, msg), AXL_OK, "%s", msg);
    cr_assert_str_eq(in.parameters, "k=3");
    cr_assert_eq(in.nparams, 1);
    cr_assert_eq(in.param[0], 3);
    cr_assert_str_eq(in.source_sha256, "00ff");
    axl_table_free(t2);
    axl_table_free(t);
}

Test(tablegen, h5py_reads_the_table)
{
    struct axl_design_ctx c = ctx3("uint4", "uint4", "uint8");
    struct axl_table *t = gen(&d_one_wrong, &c, 0);
    const char *p = tmp_path("py.h5");
    char msg[AXL_MSG_LEN] = "", cmd[2048];
    cr_assert_eq(axl_table_write(t, p, 1, msg), AXL_OK, "%s", msg);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import h5py, sys\n"
             "f = h5py.File('%s', 'r')\n"
             "assert f['lut'].shape == (16, 16), f['lut'].shape\n"
             "assert f['lut'].dtype == 'uint8'\n"
             "assert f['lut'][3, 5] == 16 and f['lut'][5, 3] == 15\n"
             "assert isinstance(f.attrs['design'], str) and f.attrs['design'] == 't_one_wrong'\n"
             "assert f.attrs['a_format'] == 'uint4' and f.attrs['path'] == 'full'\n"
             "assert int(f.attrs['schema_version']) == 1\n"
             "assert abs(f['metrics'].attrs['MAE'] - 1/256) < 1e-15\n"
             "assert abs(f['metrics'].attrs['EP%%'] - 100/256) < 1e-12\n"
             "assert f['error_histogram'].shape == (64,) and f['error_histogram'][32] == 255\n"
             "\"",
             p);
    if (run_sh("/usr/bin/python3 -c 'import h5py' 2>/dev/null") != 0) {
        axl_table_free(t);
        cr_skip_test("Debian's python3-h5py is not installed");
    }
    cr_assert_eq(run_sh(cmd), 0, "h5py check failed on %s", p);
    axl_table_free(t);
}

static void copy_prefix(const char *from, const char *to, long n)
{
    FILE *f = fopen(from, "rb"), *g = fopen(to, "wb");
    cr_assert(f && g);
    for (long i = 0; i < n; i++) {
        int ch = fgetc(f);
        if (ch == EOF)
            break;
        fputc(ch, g);
    }
    fclose(f);
    fclose(g);
}

Test(tablegen, corrupt_and_foreign_files_refused)
{
    struct axl_design_ctx c = ctx3("uint8", "uint8", "uint16");
    struct axl_table *t = gen(&d_u_mul, &c, 0);
    char good[512];
    snprintf(good, sizeof good, "%s", tmp_path("good.h5"));
    char msg[AXL_MSG_LEN] = "";
    cr_assert_eq(axl_table_write(t, good, 1, msg), AXL_OK, "%s", msg);
    axl_table_free(t);
    struct axl_table *u = NULL;

    FILE *f = fopen(good, "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    long cuts[] = {0, 100, 1000, size / 2, size - 100};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        char bad[512];
        snprintf(bad, sizeof bad, "%s", tmp_path("trunc.h5"));
        copy_prefix(good, bad, cuts[i]);
        msg[0] = '\0';
        enum axl_status s = axl_table_load(bad, &u, msg);
        cr_expect_neq(s, AXL_OK, "truncated at %ld loaded", cuts[i]);
        cr_expect_null(u);
        cr_expect(strstr(msg, bad) != NULL, "message does not name the file: %s", msg);
    }

    const char *text = tmp_path("text.h5");
    write_text(text, "not a table\n");
    cr_assert_eq(axl_table_load(text, &u, msg), AXL_ERR_FORMAT);
    cr_assert(strstr(msg, "not an HDF5 file"), "%s", msg);
    cr_assert_eq(axl_table_load(tmp_path("missing.h5"), &u, msg), AXL_ERR_IO);

    /* a valid HDF5 file without one attribute: named in the message */
    char noattr[512];
    snprintf(noattr, sizeof noattr, "%s", tmp_path("noattr.h5"));
    copy_prefix(good, noattr, size);
    hid_t h = H5Fopen(noattr, H5F_ACC_RDWR, H5P_DEFAULT);
    cr_assert_geq(h, 0);
    cr_assert_geq(H5Adelete(h, "b_format_bits"), 0);
    H5Fclose(h);
    cr_assert_eq(axl_table_load(noattr, &u, msg), AXL_ERR_FORMAT);
    cr_assert(strstr(msg, "b_format_bits") && strstr(msg, "missing"), "%s", msg);

    /* a format that does not match the dataset's shape */
    copy_prefix(good, noattr, size);
    h = H5Fopen(noattr, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t st = H5Tcopy(H5T_C_S1);
    H5Tset_size(st, H5T_VARIABLE);
    const char *u7 = "uint7";
    uint32_t seven = 7;
    hid_t sp = H5Screate(H5S_SCALAR);
    H5Adelete(h, "table_a_format");
    H5Adelete(h, "a_format");
    hid_t at = H5Acreate2(h, "table_a_format", st, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(at, st, &u7);
    H5Aclose(at);
    at = H5Acreate2(h, "a_format", st, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(at, st, &u7);
    H5Aclose(at);
    at = H5Aopen(h, "a_format_bits", H5P_DEFAULT);
    H5Awrite(at, H5T_NATIVE_UINT32, &seven);
    H5Aclose(at);
    at = H5Aopen(h, "table_a_format_bits", H5P_DEFAULT);
    H5Awrite(at, H5T_NATIVE_UINT32, &seven);
    H5Aclose(at);
    H5Sclose(sp);
    H5Tclose(st);
    H5Fclose(h);
    cr_assert_eq(axl_table_load(noattr, &u, msg), AXL_ERR_FORMAT);
    cr_assert(strstr(msg, "256 x 256") && strstr(msg, "128 x 256"), "%s", msg);
}

/* --- user designs --------------------------------------------------------- */

static const char k_user_src[] =
    "#include <axlut/design.h>\n"
    "static uint32_t ev(const struct axl_design_ctx *c, uint32_t a, uint32_t b)\n"
    "{ (void)c; return a == 3 && b == 5 ? 16u : a * b; }\n"
    "const struct axl_design axl_user_design = { .abi = AXL_DESIGN_ABI, .name = \"u_one\",\n"
    "  .description = \"d\", .citation = \"c\", .op = AXL_OP_MUL,\n"
    "  .operands = AXL_OPERANDS_UINT, .eval = ev, .version = 2 };\n";

Test(tablegen, user_design_compiles_loads_and_matches)
{
    const char *src = tmp_path("u_one.c");
    write_text(src, k_user_src);
    struct axl_user_design *u = NULL;
    char msg[AXL_MSG_LEN] = "", *log = NULL;
    cr_assert_eq(axl_user_design_load(src, &u, &log, msg), AXL_OK, "%s\n%s", msg,
                 log ? log : "");
    const struct axl_design *d = axl_user_design_get(u);
    cr_assert_str_eq(d->name, "u_one");
    cr_assert_eq(strlen(axl_user_design_sha256(u)), 64);
    char obj[4096];
    snprintf(obj, sizeof obj, "%s", axl_user_design_object(u));
    cr_assert(strstr(obj, "/cache/") != NULL, "%s", obj);

    struct axl_design_ctx c = ctx3("uint4", "uint4", "uint8");
    struct axl_table *t1 = gen(d, &c, 0), *t2 = gen(&d_one_wrong, &c, 0);
    cr_assert(!memcmp(axl_table_data(t1), axl_table_data(t2), 256));
    cr_assert(!memcmp(&axl_table_info(t1)->metrics, &axl_table_info(t2)->metrics,
                      sizeof(struct axl_metrics)));
    axl_table_free(t1);
    axl_table_free(t2);
    axl_user_design_free(u);

    /* a second load hits the cache: same object */
    cr_assert_eq(axl_user_design_load(src, &u, NULL, msg), AXL_OK, "%s", msg);
    cr_assert_str_eq(axl_user_design_object(u), obj);
    axl_user_design_free(u);
}

Test(tablegen, user_design_abi_mismatch_and_compile_error)
{
    char msg[AXL_MSG_LEN] = "", *log = NULL;
    struct axl_user_design *u = NULL;
    const char *src = tmp_path("u_abi.c");
    write_text(src, "#include <axlut/design.h>\n"
                    "static uint32_t ev(const struct axl_design_ctx *c, uint32_t a, uint32_t b)\n"
                    "{ (void)c; return a * b; }\n"
                    "const struct axl_design axl_user_design = { .abi = 99, .name = \"u_abi\",\n"
                    "  .op = AXL_OP_MUL, .operands = AXL_OPERANDS_UINT, .eval = ev };\n");
    cr_assert_eq(axl_user_design_load(src, &u, &log, msg), AXL_ERR_MISMATCH, "%s", msg);
    cr_assert_null(u);
    cr_assert(strstr(msg, src) && strstr(msg, "ABI 99") && strstr(msg, "expects ABI 1"), "%s",
              msg);

    const char *bad = tmp_path("u_bad.c");
    write_text(bad, "#include <axlut/design.h>\nthis is not C;\n");
    cr_assert_eq(axl_user_design_load(bad, &u, &log, msg), AXL_ERR_COMPILE);
    cr_assert(strstr(msg, bad) && strstr(msg, "failed"), "%s", msg);
    cr_assert_not_null(log);
    cr_assert(strstr(log, "error") != NULL, "%s", log);
    free(log);

    const char *nosym = tmp_path("u_nosym.c");
    write_text(nosym, "int axl_something_else = 1;\n");
    cr_assert_eq(axl_user_design_load(nosym, &u, NULL, msg), AXL_ERR_COMPILE);
    cr_assert(strstr(msg, "axl_user_design"), "%s", msg);

    cr_assert_eq(axl_user_design_load(tmp_path("none.c"), &u, NULL, msg), AXL_ERR_IO);
}

/* Independent model of the example: truncated array multiplier, product
 * columns below 2^k dropped. */
static uint32_t lomul_ref(uint32_t a, uint32_t b, int k)
{
    uint32_t p = 0;
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 8; j++)
            if (i + j >= k)
                p += (((a >> i) & (b >> j) & 1u) << (i + j));
    return p;
}

Test(tablegen, example_user_design_matches_its_model)
{
    const char *srcdir = getenv("AXL_SOURCE_DIR");
    char path[1024], msg[AXL_MSG_LEN] = "", *log = NULL;
    snprintf(path, sizeof path, "%s/tables/examples/my_lomul.c", srcdir ? srcdir : ".");
    struct axl_user_design *u = NULL;
    cr_assert_eq(axl_user_design_load(path, &u, &log, msg), AXL_OK, "%s\n%s", msg,
                 log ? log : "");
    const struct axl_design *d = axl_user_design_get(u);
    struct axl_design_ctx c = ctx3("uint8", "uint8", "uint16");
    for (int k = 0; k <= 8; k += 4) {
        c.param[0] = k;
        struct axl_table *t = gen(d, &c, 0);
        int bad = 0;
        for (uint32_t a = 0; a < 256; a++)
            for (uint32_t b = 0; b < 256; b++)
                if (axl_table_entry(t, a, b) != lomul_ref(a, b, k) && bad++ < 10)
                    cr_log_error("k=%d a=%x b=%x: %x, model %x", k, a, b, axl_table_entry(t, a, b),
                                 lomul_ref(a, b, k));
        cr_expect_eq(bad, 0);
        if (k == 0)
            cr_expect_eq(axl_table_info(t)->metrics.errors, 0);
        axl_table_free(t);
    }
    axl_user_design_free(u);
}

/* --- the CLI ---------------------------------------------------------------- */

Test(tablegen, cli_gen_and_info)
{
    const char *srcdir = getenv("AXL_SOURCE_DIR");
    char cmd[4096];
    const char *out = tmp_path("cli.h5");
    char outp[512];
    snprintf(outp, sizeof outp, "%s", out);
    snprintf(cmd, sizeof cmd, "%s gen %s/tables/examples/my_lomul.c --param k=4 -o %s >/dev/null",
             axlut_bin(), srcdir ? srcdir : ".", outp);
    cr_assert_eq(run_sh(cmd), 0, "%s", cmd);
    /* no overwrite without --force */
    cr_assert_eq(run_sh(cmd), 2);
    snprintf(cmd, sizeof cmd,
             "%s gen %s/tables/examples/my_lomul.c --param k=4 -o %s --force >/dev/null",
             axlut_bin(), srcdir ? srcdir : ".", outp);
    cr_assert_eq(run_sh(cmd), 0);
    snprintf(cmd, sizeof cmd,
             "%s info %s --json | /usr/bin/python3 -c \"import json, sys\n"
             "d = json.load(sys.stdin)\n"
             "assert d['design'] == 'my_lomul' and d['parameters'] == 'k=4'\n"
             "assert d['rows'] == 256 and d['metrics']['pairs'] == 65536\n"
             "assert len(d['design_source_sha256']) == 64\"",
             axlut_bin(), outp);
    cr_assert_eq(run_sh(cmd), 0, "%s", cmd);
    snprintf(cmd, sizeof cmd, "%s info %s >/dev/null", axlut_bin(), outp);
    cr_assert_eq(run_sh(cmd), 0);

    /* bad inputs: one line, exit 2, no output file */
    const char *none = tmp_path("none.h5");
    char nonep[512];
    snprintf(nonep, sizeof nonep, "%s", none);
    const char *bad_args[] = {
        "gen no_such_design --format uint8 -o %s",
        "gen %s/tables/examples/my_lomul.c --format e9m9 -o %s",
        "gen %s/tables/examples/my_lomul.c --param zz=1 -o %s",
        "gen %s/tables/examples/my_lomul.c --param k=99 -o %s",
        "gen %s/tables/examples/my_lomul.c --round sideways -o %s",
    };
    for (size_t i = 0; i < sizeof bad_args / sizeof bad_args[0]; i++) {
        char args[1024];
        if (i == 0)
            snprintf(args, sizeof args, bad_args[i], nonep);
        else
            snprintf(args, sizeof args, bad_args[i], srcdir ? srcdir : ".", nonep);
        snprintf(cmd, sizeof cmd, "%s %s 2>%s/err.txt", axlut_bin(), args, g_dir);
        cr_expect_eq(run_sh(cmd), 2, "%s", cmd);
        cr_expect_neq(access(nonep, F_OK), 0, "%s left an output", args);
        snprintf(cmd, sizeof cmd, "test $(wc -l < %s/err.txt) -eq 1", g_dir);
        cr_expect_eq(run_sh(cmd), 0, "%s: not one line of error", args);
    }
    const char *text = tmp_path("junk.h5");
    write_text(text, "junk");
    snprintf(cmd, sizeof cmd, "%s info %s 2>/dev/null", axlut_bin(), text);
    cr_expect_eq(run_sh(cmd), 2);

    /* a compile error: the compiler's messages, one summary line, exit 1 */
    const char *bad = tmp_path("broken.c");
    write_text(bad, "#include <axlut/design.h>\nbroken!\n");
    snprintf(cmd, sizeof cmd, "%s gen %s --format uint8 -o %s 2>%s/err.txt", axlut_bin(), bad,
             nonep, g_dir);
    cr_expect_eq(run_sh(cmd), 1);
    snprintf(cmd, sizeof cmd, "tail -n 1 %s/err.txt | grep -q 'broken.c: compilation'", g_dir);
    cr_expect_eq(run_sh(cmd), 0);
    cr_expect_neq(access(nonep, F_OK), 0);
}

/* --- crash and hang isolation --------------------------------------------- */


static const char k_segv_src[] =
    "#include <axlut/design.h>\n"
    "static uint32_t ev(const struct axl_design_ctx *c, uint32_t a, uint32_t b)\n"
    "{ (void)c; if (a == 0x93 && b == 0x2a) { volatile int *p = 0; return (uint32_t)*p; }\n"
    "  return a * b; }\n"
    "const struct axl_design axl_user_design = { .abi = AXL_DESIGN_ABI, .name = \"u_segv\",\n"
    "  .op = AXL_OP_MUL, .operands = AXL_OPERANDS_UINT, .eval = ev, .version = 1 };\n";

static const char k_fpe_src[] =
    "#include <axlut/design.h>\n"
    "static uint32_t ev(const struct axl_design_ctx *c, uint32_t a, uint32_t b)\n"
    "{ (void)c; volatile uint32_t d = b - 0x11u; return a == 0x05 ? a / d : a * b; }\n"
    "const struct axl_design axl_user_design = { .abi = AXL_DESIGN_ABI, .name = \"u_fpe\",\n"
    "  .op = AXL_OP_MUL, .operands = AXL_OPERANDS_UINT, .eval = ev, .version = 1 };\n";

static const char k_loop_src[] =
    "#include <axlut/design.h>\n"
    "static uint32_t ev(const struct axl_design_ctx *c, uint32_t a, uint32_t b)\n"
    "{ (void)c; volatile int spin = 1; while (a == 0x40 && b == 0x07 && spin) {}\n"
    "  return a * b; }\n"
    "const struct axl_design axl_user_design = { .abi = AXL_DESIGN_ABI, .name = \"u_loop\",\n"
    "  .op = AXL_OP_MUL, .operands = AXL_OPERANDS_UINT, .eval = ev, .version = 1 };\n";

/* infinite recursion: the fault handler must run on its alternate stack */
static const char k_stack_src[] =
    "#include <axlut/design.h>\n"
    "static uint32_t deep(volatile uint32_t n)\n"
    "{ volatile char pad[256]; pad[0] = (char)n; return n ? deep(n + 1) + (uint32_t)pad[0] : 0; }\n"
    "static uint32_t ev(const struct axl_design_ctx *c, uint32_t a, uint32_t b)\n"
    "{ (void)c; return a == 0xc8 && b == 0x03 ? deep(1) : a * b; }\n"
    "const struct axl_design axl_user_design = { .abi = AXL_DESIGN_ABI, .name = \"u_stack\",\n"
    "  .op = AXL_OP_MUL, .operands = AXL_OPERANDS_UINT, .eval = ev, .version = 1 };\n";

static const char k_exit_src[] =
    "#include <stdlib.h>\n#include <axlut/design.h>\n"
    "static uint32_t ev(const struct axl_design_ctx *c, uint32_t a, uint32_t b)\n"
    "{ (void)c; if (a == 9 && b == 9) exit(3); return a * b; }\n"
    "const struct axl_design axl_user_design = { .abi = AXL_DESIGN_ABI, .name = \"u_exit\",\n"
    "  .op = AXL_OP_MUL, .operands = AXL_OPERANDS_UINT, .eval = ev, .version = 1 };\n";

static struct axl_user_design *load_src(const char *name, const char *text)
{
    const char *src = tmp_path(name);
    write_text(src, text);
    struct axl_user_design *u = NULL;
    char msg[AXL_MSG_LEN] = "", *log = NULL;
    cr_assert_eq(axl_user_design_load(src, &u, &log, msg), AXL_OK, "%s\n%s", msg, log ? log : "");
    return u;
}

struct crash_case {
    const char *file, *src;
    uint32_t outcome;
    int sig;
    uint32_t a, b;
    const char *words; /* in the message */
};

Test(tablegen, isolated_crash_hang_exit_reported_with_pair, .timeout = 60)
{
    const struct crash_case cases[] = {
        {"i_segv.c", k_segv_src, AXL_ISOLATE_SIGNAL, SIGSEGV, 0x93, 0x2a, "crashed: SIGSEGV"},
        {"i_fpe.c", k_fpe_src, AXL_ISOLATE_SIGNAL, SIGFPE, 0x05, 0x11, "crashed: SIGFPE"},
        {"i_stack.c", k_stack_src, AXL_ISOLATE_SIGNAL, SIGSEGV, 0xc8, 0x03, "crashed: SIGSEGV"},
        {"i_exit.c", k_exit_src, AXL_ISOLATE_EXIT, 0, 0x09, 0x09, "exit status 3"},
        {"i_loop.c", k_loop_src, AXL_ISOLATE_TIMEOUT, 0, 0x40, 0x07, "did not finish within 1 s"},
    };
    struct axl_design_ctx c = ctx3("uint8", "uint8", "uint16");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int threads = 1; threads <= 2; threads++) {
            const struct crash_case *k = &cases[i];
            struct axl_user_design *u = load_src(k->file, k->src);
            struct axl_table_opts o;
            memset(&o, 0, sizeof o);
            o.threads = threads;
            struct axl_table *t = NULL;
            struct axl_isolate_report rep;
            char msg[AXL_MSG_LEN] = "", pair[64];
            enum axl_status s =
                axl_table_generate_isolated(axl_user_design_get(u), &c, &o, 1.0, &t, &rep, msg);
            cr_expect_eq(s, AXL_ERR_INVALID, "%s: status %d", k->file, s);
            cr_expect_null(t);
            cr_expect_eq(rep.outcome, k->outcome, "%s: outcome %u: %s", k->file, rep.outcome, msg);
            if (k->sig)
                cr_expect_eq(rep.signal, k->sig, "%s: signal %d", k->file, rep.signal);
            /* exit() says nothing about which thread called it: with two threads
             * busy, the report may name both pairs in flight (the message is
             * checked to contain the right one below) */
            int ambiguous = k->outcome == AXL_ISOLATE_EXIT && threads > 1 && !rep.have_pair;
            cr_expect(ambiguous || (rep.have_pair && rep.a == k->a && rep.b == k->b),
                      "%s, %d threads: pair (%x, %x): %s", k->file, threads, rep.a, rep.b, msg);
            snprintf(pair, sizeof pair, "a=0x%x, b=0x%x", k->a, k->b);
            cr_expect(strstr(msg, pair) && strstr(msg, k->words), "%s: %s", k->file, msg);
            axl_table_free(t);
            axl_user_design_free(u);
        }
}

Test(tablegen, isolated_equals_in_process)
{
    struct axl_user_design *u = load_src("i_good.c", k_user_src);
    const struct axl_design *d = axl_user_design_get(u);
    const char *fm[][3] = {{"uint8", "uint8", "uint16"}, {"uint10", "uint9", "uint19"}};
    for (int f = 0; f < 2; f++)
        for (int threads = 1; threads <= 3; threads++) {
            struct axl_design_ctx c = ctx3(fm[f][0], fm[f][1], fm[f][2]);
            struct axl_table_opts o;
            memset(&o, 0, sizeof o);
            o.threads = threads;
            struct axl_table *ti = NULL;
            struct axl_isolate_report rep;
            char msg[AXL_MSG_LEN] = "";
            cr_assert_eq(axl_table_generate_isolated(d, &c, &o, 0, &ti, &rep, msg), AXL_OK, "%s",
                         msg);
            cr_assert_eq(rep.outcome, AXL_ISOLATE_OK);
            struct axl_table *tp = gen(d, &c, threads);
            const struct axl_table_info *a = axl_table_info(ti), *b = axl_table_info(tp);
            cr_assert_eq(a->rows * a->cols, b->rows * b->cols);
            cr_assert(!memcmp(axl_table_data(ti), axl_table_data(tp),
                              (size_t)(a->rows * a->cols * a->entry_bytes)));
            cr_assert(!memcmp(&a->metrics, &b->metrics, sizeof a->metrics));
            axl_table_free(ti);
            axl_table_free(tp);
        }
    /* a design's refusal (a code wider than its result) passes through */
    struct axl_design_ctx c = ctx3("uint4", "uint4", "uint8");
    struct axl_table *t = NULL;
    struct axl_isolate_report rep;
    char msg[AXL_MSG_LEN] = "";
    cr_assert_eq(axl_table_generate_isolated(&d_bad, &c, NULL, 5, &t, &rep, msg), AXL_ERR_INVALID);
    cr_assert_eq(rep.outcome, AXL_ISOLATE_ERROR);
    cr_assert(strstr(msg, "a=0x7, b=0x9") && strstr(msg, "0x12345"), "%s", msg);
    cr_assert_null(t);
    axl_user_design_free(u);
    cr_assert_str_eq(axl_signal_name(SIGSEGV), "SIGSEGV");
    cr_assert_str_eq(axl_signal_name(SIGFPE), "SIGFPE");
}

/* the CLI: one line with the signal and the pair, exit 1, nothing written */
Test(tablegen, cli_crash_and_timeout_write_nothing, .timeout = 60)
{
    const struct {
        const char *file, *src, *opts, *words;
    } cases[] = {
        {"c_segv.c", k_segv_src, "", "SIGSEGV"},
        {"c_fpe.c", k_fpe_src, "--threads 2", "SIGFPE"},
        {"c_loop.c", k_loop_src, "--timeout 2", "did not finish within 2 s"},
    };
    const uint32_t pairs[][2] = {{0x93, 0x2a}, {0x05, 0x11}, {0x40, 0x07}};
    char cmd[4096], out[512], err[512];
    snprintf(out, sizeof out, "%s", tmp_path("crash_out.h5"));
    snprintf(err, sizeof err, "%s", tmp_path("crash_err.txt"));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char src[512];
        snprintf(src, sizeof src, "%s", tmp_path(cases[i].file));
        write_text(src, cases[i].src);
        snprintf(cmd, sizeof cmd, "%s gen %s --format uint8 %s -o %s 2>%s", axlut_bin(), src,
                 cases[i].opts, out, err);
        cr_expect_eq(run_sh(cmd), 1, "%s", cmd);
        cr_expect_neq(access(out, F_OK), 0, "%s left an output", cases[i].file);
        snprintf(cmd, sizeof cmd,
                 "test $(wc -l < %s) -eq 1 && grep -q '%s' %s && grep -q 'a=0x%x, b=0x%x' %s && "
                 "grep -q 'nothing written' %s",
                 err, cases[i].words, err, pairs[i][0], pairs[i][1], err, err);
        cr_expect_eq(run_sh(cmd), 0, "%s: not the expected one line", cases[i].file);
    }
    /* no temporary left next to the output either */
    snprintf(cmd, sizeof cmd, "! ls %s* 2>/dev/null | grep -q .", out);
    cr_expect_eq(run_sh(cmd), 0);
}

/* --- a model with another signature, wrapped --------------------------------- */

/* A broken-array multiplier written the way many published C libraries of
 * circuits write their models: uint64_t f(uint64_t B, uint64_t A), weight
 * operand first.  Rows of partial products come from the bits of B (the
 * weight), so the unit is not commutative and a wrapper that forgot to swap
 * would give another table. */
static const char k_wrapped_src[] =
    "#include <axlut/design.h>\n"
    "static uint64_t bam8u(uint64_t B, uint64_t A, int hbl, int vbl)\n"
    "{\n"
    "    uint64_t p = 0;\n"
    "    for (int i = 0; i < 8; i++)          /* row i: bit i of B */\n"
    "        for (int j = 0; j < 8; j++)      /* column j: bit j of A */\n"
    "            if (i >= hbl && i + j >= vbl && ((B >> i) & (A >> j) & 1u))\n"
    "                p += 1ull << (i + j);\n"
    "    return p;\n"
    "}\n"
    "/* the wrapper: five lines */\n"
    "static uint32_t eval(const struct axl_design_ctx *c, uint32_t a, uint32_t b)\n"
    "{\n"
    "    return (uint32_t)bam8u(b, a, c->param[0], c->param[1]); /* B = weight = b */\n"
    "}\n"
    "const struct axl_design axl_user_design = { .abi = AXL_DESIGN_ABI, .name = \"bam8u\",\n"
    "  .description = \"broken-array multiplier, model with swapped operands\",\n"
    "  .op = AXL_OP_MUL, .operands = AXL_OPERANDS_FIXED, .fmt_a = \"uint8\", .fmt_b = \"uint8\",\n"
    "  .fmt_r = \"uint16\", .nparams = 2,\n"
    "  .params = {{\"hbl\", 0, 0, 8, \"rows dropped\"}, {\"vbl\", 0, 0, 16, \"columns dropped\"}},\n"
    "  .eval = eval, .version = 1 };\n";

static struct axl_table *load_table(const char *path)
{
    struct axl_table *t = NULL;
    char msg[AXL_MSG_LEN] = "";
    cr_assert_eq(axl_table_load(path, &t, msg), AXL_OK, "%s", msg);
    return t;
}

Test(tablegen, wrapped_swapped_model_equals_builtin_through_cli)
{
    char src[512], tu[512], tb[512], cmd[4096];
    snprintf(src, sizeof src, "%s", tmp_path("bam8u.c"));
    write_text(src, k_wrapped_src);
    const char *levels[][2] = {{"2", "5"}, {"0", "6"}, {"3", "0"}};
    for (int l = 0; l < 3; l++) {
        snprintf(tu, sizeof tu, "%s", tmp_path("w_user.h5"));
        snprintf(tb, sizeof tb, "%s", tmp_path("w_builtin.h5"));
        snprintf(cmd, sizeof cmd,
                 "%s gen %s --param hbl=%s --param vbl=%s -o %s --force >/dev/null && "
                 "%s gen bam --format uint8 --param hbl=%s --param vbl=%s -o %s --force >/dev/null",
                 axlut_bin(), src, levels[l][0], levels[l][1], tu, axlut_bin(), levels[l][0],
                 levels[l][1], tb);
        cr_assert_eq(run_sh(cmd), 0, "%s", cmd);
        struct axl_table *u = load_table(tu), *b = load_table(tb);
        int bad = 0, swapped_differs = 0;
        for (uint32_t x = 0; x < 256; x++)
            for (uint32_t y = 0; y < 256; y++) {
                uint32_t eu = axl_table_entry(u, x, y), eb = axl_table_entry(b, x, y);
                if (eu != eb && bad++ < 10)
                    cr_log_error("hbl=%s vbl=%s a=0x%02x b=0x%02x: user 0x%04x, built-in 0x%04x",
                                 levels[l][0], levels[l][1], x, y, eu, eb);
                swapped_differs += axl_table_entry(b, y, x) != eb;
            }
        cr_expect_eq(bad, 0, "hbl=%s vbl=%s: %d entries differ", levels[l][0], levels[l][1], bad);
        const struct axl_metrics *mu = &axl_table_info(u)->metrics, *mb = &axl_table_info(b)->metrics;
        cr_expect(mu->mae == mb->mae && mu->errors == mb->errors && mu->wre == mb->wre);
        /* with a horizontal break the unit is not commutative: the check can fail */
        if (levels[l][0][0] != '0')
            cr_expect_gt(swapped_differs, 0);
        axl_table_free(u);
        axl_table_free(b);
    }
}

/* --- signed tables, entry by entry ------------------------------------------- */

/* DRUM on magnitudes, written independently of tables/designs/drum.h:
 * keep k bits from the leading one, set the lowest kept bit. */
static uint64_t drum_model(uint64_t x, uint64_t y, int k)
{
    uint64_t v[2] = {x, y};
    int sh[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        int t = -1;
        for (int bit = 0; bit < 64; bit++)
            if ((v[i] >> bit) & 1u)
                t = bit;
        if (t >= k) {
            sh[i] = t - k + 1;
            v[i] = (v[i] >> sh[i]) | 1u;
        }
    }
    return (v[0] * v[1]) << (sh[0] + sh[1]);
}

Test(tablegen, signed_int8_tables_every_quadrant_and_most_negative)
{
    const char *designs[] = {"mul_exact", "drum"};
    for (int n = 0; n < 2; n++) {
        char p[512], cmd[2048];
        snprintf(p, sizeof p, "%s", tmp_path("signed.h5"));
        snprintf(cmd, sizeof cmd, "%s gen %s --format int8 -o %s --force >/dev/null", axlut_bin(),
                 designs[n], p);
        cr_assert_eq(run_sh(cmd), 0, "%s", cmd);
        struct axl_table *t = load_table(p);
        const struct axl_table_info *in = axl_table_info(t);
        cr_assert_str_eq(in->tr.name, "int16");
        const int k = 6; /* drum's default */
        /* mismatches by region: nn, np, pn, pp, rows/cols of -128 */
        int bad[5] = {0, 0, 0, 0, 0}, seen[5] = {0, 0, 0, 0, 0};
        for (int x = -128; x < 128; x++)
            for (int y = -128; y < 128; y++) {
                int64_t mag = n == 0 ? (int64_t)abs(x) * abs(y)
                                     : (int64_t)drum_model((uint64_t)abs(x), (uint64_t)abs(y), k);
                int64_t want = (x < 0) != (y < 0) ? -mag : mag;
                int got = (int16_t)(uint16_t)axl_table_entry(t, (uint32_t)x & 0xFF, (uint32_t)y & 0xFF);
                int r = x == -128 || y == -128 ? 4 : x < 0 ? (y < 0 ? 0 : 1) : (y < 0 ? 2 : 3);
                seen[r]++;
                if (got != want && bad[r]++ < 5)
                    cr_log_error("%s %d x %d: table %d, model %lld", designs[n], x, y, got,
                                 (long long)want);
            }
        static const char *names[] = {"negative x negative", "negative x positive",
                                      "positive x negative", "positive x positive",
                                      "most negative code"};
        for (int r = 0; r < 5; r++)
            cr_expect_eq(bad[r], 0, "%s: %d of %d wrong in %s", designs[n], bad[r], seen[r],
                         names[r]);
        /* the corners by hand */
        cr_expect_eq(axl_table_entry(t, 0x80, 0x80), n == 0 ? 0x4000u : (uint32_t)drum_model(128, 128, k));
        cr_expect_eq((int16_t)axl_table_entry(t, 0x80, 0x7F),
                     n == 0 ? -128 * 127 : -(int)drum_model(128, 127, k));
        cr_expect_eq((int16_t)axl_table_entry(t, 0xFF, 0xFF), 1);
        if (n == 0)
            cr_expect_eq(in->metrics.errors, 0);
        axl_table_free(t);
    }
}

/* --- metrics of built-in tables against published facts --------------------- */

static struct axl_table *gen_builtin(const char *name, const char *fa, const char *param)
{
    const struct axl_design *d = axl_design_find(name);
    cr_assert_not_null(d, "no built-in %s", name);
    struct axl_format f = fmt(fa);
    struct axl_design_ctx c;
    char msg[AXL_MSG_LEN] = "";
    const char *p[] = {param};
    cr_assert_eq(axl_design_bind(d, &f, &f, NULL, p, param ? 1 : 0, &c, msg), AXL_OK, "%s", msg);
    return gen(d, &c, 0);
}

Test(tablegen, published_facts_from_table_metrics, .timeout = 120)
{
    /* exact designs: no error at all, floating ones included */
    const char *exact[][2] = {{"mul_exact", "uint8"}, {"mul_exact", "int8"},  {"mul_exact", "e4m3"},
                              {"mul_exact", "e5m2"},  {"mul_exact", "int12"}, {"add_exact", "uint8"},
                              {"add_exact", "int8"},  {"add_exact", "e4m3"},  {"mul_exact", "fp16"},
                              {"loa", "uint8"},       {"loa", "int8"}};
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++) {
        int loa = !strcmp(exact[i][0], "loa");
        struct axl_table *t = gen_builtin(exact[i][0], exact[i][1], loa ? "k=0" : NULL);
        const struct axl_metrics *m = &axl_table_info(t)->metrics;
        cr_expect(m->errors == 0 && m->mae == 0 && m->wce == 0 && m->mean_error == 0 &&
                      m->special_mismatch == 0,
                  "%s %s%s: %llu errors, MAE %g", exact[i][0], exact[i][1], loa ? " k=0" : "",
                  (unsigned long long)m->errors, m->mae);
        axl_table_free(t);
    }
    struct axl_table *t = gen_builtin("loa", "uint8", "k=4"); /* and not exact with k > 0 */
    cr_expect_gt(axl_table_info(t)->metrics.errors, 0);
    axl_table_free(t);

    /* Mitchell (1962): never overestimates (every error <= 0, so the bias is
     * minus the MAE), worst relative error -1/9 = -11.1 % (3 x 3 -> 8) */
    const char *mf[] = {"uint8", "uint12"};
    for (int i = 0; i < 2; i++) {
        t = gen_builtin("mitchell", mf[i], NULL);
        const struct axl_metrics *m = &axl_table_info(t)->metrics;
        cr_expect(fabs(m->mean_error + m->mae) <= 1e-12 * m->mae, "%s bias %.17g, MAE %.17g",
                  mf[i], m->mean_error, m->mae);
        cr_expect(fabs(m->wre + 1.0 / 9.0) < 1e-12, "%s worst relative %.17g", mf[i], m->wre);
        cr_expect(m->wre_a == 3 && m->wre_b == 3, "at (%u, %u)", m->wre_a, m->wre_b);
        cr_expect(fabs(m->wcre_pct - 100.0 / 9.0) < 1e-9);
        for (int b = AXL_TABLE_HIST_BINS / 2 + 1; b < AXL_TABLE_HIST_BINS; b++)
            cr_expect_eq(m->hist[b], 0, "%s: positive errors in bin %d", mf[i], b);
        cr_expect(m->mred > 0.035 && m->mred < 0.041, "%s MRED %g", mf[i], m->mred);
        axl_table_free(t);
    }

    /* DRUM (Hashemi et al. 2015): unbiased; on uint12 with k = 6 the mean error
     * is a few percent of the MAE and under 0.1 % of the mean product, where
     * Mitchell's bias is its whole MAE */
    t = gen_builtin("drum", "uint12", "k=6");
    const struct axl_metrics *m = &axl_table_info(t)->metrics;
    double mean_product = (4095.0 / 2) * (4095.0 / 2);
    cr_log_info("drum uint12 k=6: bias %g, MAE %g, MRED %g", m->mean_error, m->mae, m->mred);
    cr_expect(fabs(m->mean_error) < 0.05 * m->mae, "bias %g, MAE %g", m->mean_error, m->mae);
    cr_expect(fabs(m->mean_error) < 1e-3 * mean_product, "bias %g", m->mean_error);
    cr_expect(m->mred > 0.010 && m->mred < 0.020, "MRED %g", m->mred);
    axl_table_free(t);
}

/* --- every built-in's table, read back through HDF5, equals its function ----- */

Test(tablegen, every_builtin_table_read_back_equals_eval, .timeout = 120)
{
    int checked = 0;
    for (size_t i = 0; i < axl_design_count(); i++) {
        const struct axl_design *d = axl_design_at(i);
        const char *fs[2];
        int nf = 0;
        if (d->operands == AXL_OPERANDS_FLOAT) {
            fs[nf++] = "e4m3";
            fs[nf++] = "e5m2";
        } else if (d->operands == AXL_OPERANDS_FIXED) {
            fs[nf++] = d->fmt_a;
        } else {
            fs[nf++] = "uint8";
            fs[nf++] = d->operands == AXL_OPERANDS_ANY ? "e4m3" : "int7";
        }
        for (int f = 0; f < nf; f++) {
            struct axl_format fa = fmt(fs[f]);
            struct axl_design_ctx c;
            char msg[AXL_MSG_LEN] = "", p[512];
            cr_assert_eq(axl_design_bind(d, &fa, &fa, NULL, NULL, 0, &c, msg), AXL_OK, "%s: %s",
                         d->name, msg);
            struct axl_table *t = gen(d, &c, 0);
            snprintf(p, sizeof p, "%s", tmp_path("readback.h5"));
            cr_assert_eq(axl_table_write(t, p, 1, msg), AXL_OK, "%s", msg);
            axl_table_free(t);
            t = load_table(p);
            const struct axl_table_info *in = axl_table_info(t);
            cr_assert_eq(in->path, AXL_TABLE_FULL);
            cr_assert_str_eq(in->design, d->name);
            int bad = 0;
            uint32_t mask = c.fr.bits >= 32 ? 0xFFFFFFFFu : (1u << c.fr.bits) - 1u;
            for (uint32_t a = 0; a < in->rows; a++)
                for (uint32_t b = 0; b < in->cols; b++) {
                    uint32_t want = d->eval(&c, a, b) & mask, got = axl_table_entry(t, a, b);
                    if (got != want && bad++ < 10)
                        cr_log_error("%s %s a=0x%x b=0x%x: file 0x%x, eval 0x%x", d->name,
                                     fs[f], a, b, got, want);
                }
            cr_expect_eq(bad, 0, "%s over %s: %d entries differ", d->name, fs[f], bad);
            axl_table_free(t);
            checked++;
        }
    }
    cr_expect_geq(checked, (int)axl_design_count());
}

/* --- mantissa tables of built-ins through the CLI ---------------------------- */

Test(tablegen, cli_mantissa_table_of_fpmul_drum)
{
    char p[512], cmd[4096];
    snprintf(p, sizeof p, "%s", tmp_path("fpdrum.h5"));
    snprintf(cmd, sizeof cmd, "%s gen fpmul_drum --format bf16 --param k=5 -o %s >/dev/null",
             axlut_bin(), p);
    cr_assert_eq(run_sh(cmd), 0, "%s", cmd);
    snprintf(cmd, sizeof cmd,
             "%s info %s --json | /usr/bin/python3 -c \"import json, sys\n"
             "d = json.load(sys.stdin)\n"
             "assert d['path'] == 'mantissa', d['path']\n"
             "assert d['core_design'] == 'drum' and d['parameters'] == 'k=5'\n"
             "assert d['a_format']['name'] == 'bf16' and d['table_a_format']['name'] == 'uint8'\n"
             "assert d['table_result_format']['name'] == 'uint16' and d['rows'] == 256\"",
             axlut_bin(), p);
    cr_assert_eq(run_sh(cmd), 0, "%s", cmd);
    snprintf(cmd, sizeof cmd, "%s info %s | grep -q '^table       mantissa: core drum'",
             axlut_bin(), p);
    cr_assert_eq(run_sh(cmd), 0, "info does not show the mantissa path");
    struct axl_table *t = load_table(p);
    int bad = 0;
    for (uint32_t a = 0; a < 256; a++)
        for (uint32_t b = 0; b < 256; b++)
            if (axl_table_entry(t, a, b) != drum_model(a, b, 5) && bad++ < 10)
                cr_log_error("significands 0x%02x x 0x%02x: 0x%04x, drum 0x%04x", a, b,
                             axl_table_entry(t, a, b), (unsigned)drum_model(a, b, 5));
    cr_expect_eq(bad, 0);
    axl_table_free(t);

    /* fp32's 23 mantissa bits are past the 11 of a mantissa table */
    snprintf(cmd, sizeof cmd, "%s gen fpmul_mitchell --format fp32 -o %s.fp32 2>%s.err",
             axlut_bin(), p, p);
    cr_expect_eq(run_sh(cmd), 2);
    snprintf(cmd, sizeof cmd,
             "test $(wc -l < %s.err) -eq 1 && grep -q 'm=23 > 11' %s.err && "
             "grep -q 'emulator will call the design' %s.err && ! test -e %s.fp32",
             p, p, p, p);
    cr_expect_eq(run_sh(cmd), 0, "fp32 refusal");
}

/* --- bad inputs through the CLI: message, exit status, no output ------------- */

Test(tablegen, cli_bad_inputs_message_status_no_output)
{
    const char *srcdir = getenv("AXL_SOURCE_DIR");
    char ex[1024], out[512], err[512], junk[512], abi[512], cmd[8192];
    snprintf(ex, sizeof ex, "%s/tables/examples/my_lomul.c", srcdir ? srcdir : ".");
    snprintf(out, sizeof out, "%s", tmp_path("bad_out.h5"));
    snprintf(err, sizeof err, "%s", tmp_path("bad_err.txt"));
    snprintf(junk, sizeof junk, "%s", tmp_path("junk2.h5"));
    write_text(junk, "junk");
    snprintf(abi, sizeof abi, "%s", tmp_path("abi2.c"));
    write_text(abi, "#include <axlut/design.h>\n"
                    "static uint32_t ev(const struct axl_design_ctx *c, uint32_t a, uint32_t b)\n"
                    "{ (void)c; return a * b; }\n"
                    "const struct axl_design axl_user_design = { .abi = 99, .name = \"u\",\n"
                    "  .op = AXL_OP_MUL, .operands = AXL_OPERANDS_UINT, .eval = ev };\n");
    /* @EX@: the example design, @OUT@: the output, @JUNK@: a file that is not a
     * table, @ABI@: a design of another ABI */
    const struct {
        const char *args, *words;
        int rc;
    } cases[] = {
        {"gen no_such_design --format uint8 -o @OUT@", "unknown design 'no_such_design'", 2},
        {"gen loa -o @OUT@", "needs --format", 2},
        {"gen loa --format uint8", "no output given", 2},
        {"gen loa --format uint13 -o @OUT@", "too wide for a table", 2},
        {"gen loa --format e9m9 -o @OUT@", "e9m9", 2},
        {"gen @EX@ --format e4m3 -o @OUT@", "e4m3", 2},
        {"gen @EX@ --param zz=1 -o @OUT@", "zz", 2},
        {"gen @EX@ --param k=99 -o @OUT@", "99", 2},
        {"gen @EX@ --param k -o @OUT@", "expected NAME=VALUE", 2},
        {"gen @EX@ --round sideways -o @OUT@", "sideways", 2},
        {"gen @EX@ --threads 0 -o @OUT@", "--threads", 2},
        {"gen @EX@ --timeout -1 -o @OUT@", "--timeout", 2},
        {"gen @EX@ --frobnicate -o @OUT@", "unknown option '--frobnicate'", 2},
        {"gen @EX@ extra -o @OUT@", "unexpected argument 'extra'", 2},
        {"gen @ABI@ -o @OUT@", "expects ABI 1", 2},
        {"gen /nonexistent/x.c --format uint8 -o @OUT@", "cannot read", 2},
        {"gen loa --format uint8 -o /nonexistent/dir/t.h5", "/nonexistent/dir", 1},
        {"info @JUNK@", "@JUNK@", 2},
        {"info /nonexistent.h5", "/nonexistent.h5", 2},
        {"info", "no table given", 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* substitute the placeholders */
        char args[2048] = "", words[512] = "";
        const char *from[] = {"@EX@", "@OUT@", "@JUNK@", "@ABI@"}, *to[] = {ex, out, junk, abi};
        for (int pass = 0; pass < 2; pass++) {
            const char *s = pass ? cases[i].words : cases[i].args;
            char *d = pass ? words : args;
            size_t cap = pass ? sizeof words : sizeof args, n = 0;
            while (*s && n + 1 < cap) {
                int hit = 0;
                for (int k = 0; k < 4 && !hit; k++)
                    if (!strncmp(s, from[k], strlen(from[k]))) {
                        n += (size_t)snprintf(d + n, cap - n, "%s", to[k]);
                        s += strlen(from[k]);
                        hit = 1;
                    }
                if (!hit)
                    d[n++] = *s++;
            }
            d[n] = '\0';
        }
        snprintf(cmd, sizeof cmd, "%s %s >/dev/null 2>%s", axlut_bin(), args, err);
        cr_expect_eq(run_sh(cmd), cases[i].rc, "axlut %s: exit status", args);
        cr_expect_neq(access(out, F_OK), 0, "axlut %s left an output", args);
        char wf[512];
        snprintf(wf, sizeof wf, "%s", tmp_path("bad_words.txt"));
        write_text(wf, words);
        snprintf(cmd, sizeof cmd, "grep -qF -f %s %s", wf, err);
        cr_expect_eq(run_sh(cmd), 0, "axlut %s: message lacks '%s'", args, words);
        snprintf(cmd, sizeof cmd, "test $(wc -l < %s) -eq 1", err);
        cr_expect_eq(run_sh(cmd), 0, "axlut %s: not one line of error", args);
    }
    /* a file that exists is kept without --force */
    write_text(out, "keep me");
    snprintf(cmd, sizeof cmd, "%s gen loa --format uint8 -o %s 2>%s", axlut_bin(), out, err);
    cr_expect_eq(run_sh(cmd), 2);
    snprintf(cmd, sizeof cmd, "grep -q 'keep me' %s && grep -q -- '--force' %s", out, err);
    cr_expect_eq(run_sh(cmd), 0);
    unlink(out);
}

/* --- tools/plot_table.py ----------------------------------------------------- */

Test(tablegen, plot_script_draws_a_png, .timeout = 120)
{
    const char *srcdir = getenv("AXL_SOURCE_DIR");
    const char *designs[] = {"drum --format int8", "fpmul_mitchell --format e4m3",
                             "fpmul_drum --format bf16"};
    for (int i = 0; i < 3; i++) {
        char t[512], png[512], cmd[4096];
        snprintf(t, sizeof t, "%s", tmp_path("plot.h5"));
        snprintf(png, sizeof png, "%s", tmp_path("plot.png"));
        unlink(png);
        snprintf(cmd, sizeof cmd, "%s gen %s -o %s --force >/dev/null", axlut_bin(), designs[i], t);
        cr_assert_eq(run_sh(cmd), 0, "%s", cmd);
        /* --check: the script's own decoding of the codes and its exact
         * results reproduce the file's MAE and error count */
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tools/plot_table.py %s -o %s --check",
                 srcdir ? srcdir : ".", t, png);
        cr_assert_eq(run_sh(cmd), 0, "%s", cmd);
        FILE *f = fopen(png, "rb");
        cr_assert_not_null(f, "%s: no PNG", designs[i]);
        unsigned char sig[8] = {0};
        size_t n = fread(sig, 1, 8, f);
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        fclose(f);
        static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
        cr_expect(n == 8 && !memcmp(sig, png_sig, 8), "%s: not a PNG", designs[i]);
        cr_expect_gt(size, 30 * 1024, "%s: PNG of %ld bytes", designs[i], size);
    }
}
