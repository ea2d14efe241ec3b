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
