/* Characterisation without a table (axl_charz_*): over every pair it gives
 * exactly the metrics and histogram of the full table; the result is the
 * same bits for 1 and 2 threads and for the work split in ranges the way
 * MPI ranks split it; sampled metrics cover the exhaustive ones within
 * their confidence intervals; a stop request and a metrics file that is
 * not a table behave. */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "axlut/design.h"
#include "axlut/table.h"

static struct axl_design_ctx bind(const char *design, const char *fmt, const char *param,
                                  const struct axl_design **d)
{
    struct axl_format f;
    char msg[AXL_MSG_LEN];
    cr_assert_eq(axl_format_parse(fmt, &f, msg), AXL_OK, "%s", msg);
    *d = axl_design_find(design);
    cr_assert(*d, "%s", design);
    struct axl_design_ctx c;
    const char *p[1] = {param};
    cr_assert_eq(axl_design_bind(*d, &f, &f, NULL, p, param ? 1 : 0, &c, msg), AXL_OK, "%s", msg);
    return c;
}

/* Whole metrics, field by field where they differ (memcmp would hide which). */
static void expect_same(const struct axl_metrics *a, const struct axl_metrics *b, const char *what)
{
    cr_expect_eq(a->pairs, b->pairs, "%s pairs", what);
    cr_expect_eq(a->compared, b->compared, "%s compared", what);
    cr_expect_eq(a->errors, b->errors, "%s errors", what);
    cr_expect_eq(a->rel_pairs, b->rel_pairs, "%s rel_pairs", what);
    cr_expect_eq(a->nan_results + a->inf_results, b->nan_results + b->inf_results, "%s", what);
    cr_expect(a->mean_error == b->mean_error, "%s bias %.17g vs %.17g", what, a->mean_error,
              b->mean_error);
    cr_expect(a->mae == b->mae, "%s MAE %.17g vs %.17g", what, a->mae, b->mae);
    cr_expect(a->mse == b->mse, "%s MSE %.17g vs %.17g", what, a->mse, b->mse);
    cr_expect(a->mred == b->mred, "%s MRED %.17g vs %.17g", what, a->mred, b->mred);
    cr_expect(a->wce == b->wce && a->wce_a == b->wce_a && a->wce_b == b->wce_b, "%s WCE", what);
    cr_expect(a->wre == b->wre && a->wre_a == b->wre_a && a->wre_b == b->wre_b, "%s WRE", what);
    cr_expect(a->hist_range == b->hist_range, "%s hist range", what);
    cr_expect_eq(memcmp(a->hist, b->hist, sizeof a->hist), 0, "%s histogram", what);
    cr_expect_eq(memcmp(a, b, sizeof *a), 0, "%s: some other field differs", what);
}

static struct axl_metrics charz(const struct axl_design *d, const struct axl_design_ctx *c,
                                int threads, uint64_t samples, int split)
{
    struct axl_charz_opts o = {.threads = threads, .samples = samples, .seed = 7};
    struct axl_charz *z;
    char msg[AXL_MSG_LEN];
    cr_assert_eq(axl_charz_create(d, c, &o, &z, msg), AXL_OK, "%s", msg);
    uint64_t U = axl_charz_units(z);
    if (split <= 1) {
        cr_assert_eq(axl_charz_run(z, msg), AXL_OK, "%s", msg);
    } else {
        /* the ranks' split: contiguous ranges, computed in reverse order */
        for (int r = split - 1; r >= 0; r--)
            cr_assert_eq(axl_charz_stats(z, U * (uint64_t)r / (uint64_t)split,
                                         U * (uint64_t)(r + 1) / (uint64_t)split, msg), AXL_OK);
        axl_charz_combine(z);
        for (int r = 0; r < split; r++)
            cr_assert_eq(axl_charz_hist(z, U * (uint64_t)r / (uint64_t)split,
                                        U * (uint64_t)(r + 1) / (uint64_t)split, msg), AXL_OK);
    }
    struct axl_metrics m = axl_charz_info(z)->metrics;
    cr_assert(axl_charz_info(z)->metrics_only);
    axl_charz_free(z);
    return m;
}

static void equals_full_table(const char *design, const char *fmt, const char *param)
{
    const struct axl_design *d;
    struct axl_design_ctx c = bind(design, fmt, param, &d);
    struct axl_table *t;
    char msg[AXL_MSG_LEN], what[96];
    struct axl_table_opts to = {.threads = 2};
    cr_assert_eq(axl_table_generate(d, &c, &to, &t, msg), AXL_OK, "%s", msg);
    cr_assert_eq(axl_table_info(t)->path, AXL_TABLE_FULL);
    struct axl_metrics m1 = charz(d, &c, 1, 0, 1), m2 = charz(d, &c, 2, 0, 3);
    snprintf(what, sizeof what, "%s on %s, 1 thread", design, fmt);
    expect_same(&m1, &axl_table_info(t)->metrics, what);
    snprintf(what, sizeof what, "%s on %s, 2 threads, 3 ranges", design, fmt);
    expect_same(&m2, &axl_table_info(t)->metrics, what);
    cr_expect_gt(m1.errors, 0, "%s: an exact design proves little", design);
    axl_table_free(t);
}

Test(charz, equals_the_full_tables_metrics_12_bit, .timeout = 300)
{
    equals_full_table("mitchell", "int12", NULL);
    equals_full_table("drum", "uint12", "k=4");
}

Test(charz, equals_the_full_tables_metrics_8_bit_floats_and_adders, .timeout = 300)
{
    equals_full_table("fpmul_mitchell", "e4m3", NULL);
    equals_full_table("fpadd_loa", "e4m3", "k=4");
    equals_full_table("loa", "int10", "k=4");
}

/* Sampled: the intervals hold the exhaustive means (seed fixed, so this is
 * deterministic), the result does not depend on threads or the split, and
 * fp32 (no table possible) samples work. */
Test(charz, samples_cover_the_exhaustive_metrics, .timeout = 300)
{
    const struct axl_design *d;
    struct axl_design_ctx c = bind("mitchell", "int12", NULL, &d);
    struct axl_metrics all = charz(d, &c, 2, 0, 1);
    struct axl_metrics s1 = charz(d, &c, 1, 300000, 1), s2 = charz(d, &c, 2, 300000, 3);
    expect_same(&s1, &s2, "sampled, 1 vs 2 threads and 3 ranges");
    cr_assert_eq(s1.samples, 300000);
    cr_assert_eq(s1.pairs, 300000);
    cr_assert_eq(s1.seed, 7);
    /* scale: what an interval must be small against (the bias is 0 here) */
    struct {
        const char *name;
        double s, ci, exact, scale;
    } m[] = {{"bias", s1.mean_error, s1.ci95_mean_error, all.mean_error, all.rmse},
             {"MAE", s1.mae, s1.ci95_mae, all.mae, all.mae},
             {"MSE", s1.mse, s1.ci95_mse, all.mse, all.mse},
             {"MRED", s1.mred, s1.ci95_mred, all.mred, all.mred},
             {"EP", s1.ep, s1.ci95_ep, all.ep, all.ep}};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        cr_expect(m[i].ci > 0 && m[i].ci < 0.05 * m[i].scale, "%s interval %g", m[i].name,
                  m[i].ci);
        cr_expect(fabs(m[i].s - m[i].exact) <= 1.5 * m[i].ci, "%s: %g +- %g misses %g",
                  m[i].name, m[i].s, m[i].ci, m[i].exact);
    }
    /* another seed draws other pairs */
    struct axl_charz_opts o = {.threads = 1, .samples = 300000, .seed = 8};
    struct axl_charz *z;
    char msg[AXL_MSG_LEN];
    cr_assert_eq(axl_charz_create(d, &c, &o, &z, msg), AXL_OK);
    cr_assert_eq(axl_charz_run(z, msg), AXL_OK);
    cr_expect(axl_charz_info(z)->metrics.mae != s1.mae);
    axl_charz_free(z);
    /* fp32: exact multiplier, no error at all over a million draws */
    struct axl_design_ctx f = bind("mul_exact", "fp32", NULL, &d);
    struct axl_metrics e = charz(d, &f, 2, 1000000, 1);
    cr_expect_eq(e.errors, 0);
    cr_expect_eq(e.special_mismatch, 0);
    cr_expect_gt(e.compared, 800000); /* about an eighth of the products overflow */
}

Test(charz, refusals_stop_and_the_metrics_file, .timeout = 300)
{
    const struct axl_design *d;
    struct axl_design_ctx c = bind("mul_exact", "fp32", NULL, &d);
    struct axl_charz_opts o = {.threads = 1};
    struct axl_charz *z = NULL;
    char msg[AXL_MSG_LEN];
    cr_assert_eq(axl_charz_create(d, &c, &o, &z, msg), AXL_ERR_TOO_LARGE);
    cr_expect(strstr(msg, "--samples"), "%s", msg);
    cr_assert_null(z);
    c = bind("mitchell", "int8", NULL, &d);
    volatile sig_atomic_t stop = 1;
    o.stop = &stop;
    cr_assert_eq(axl_charz_create(d, &c, &o, &z, msg), AXL_OK);
    cr_assert_eq(axl_charz_run(z, msg), AXL_ERR_IO);
    cr_expect(strstr(msg, "interrupted"), "%s", msg);
    axl_charz_free(z);
    stop = 0;
    cr_assert_eq(axl_charz_create(d, &c, &o, &z, msg), AXL_OK);
    cr_assert_eq(axl_charz_run(z, msg), AXL_OK, "%s", msg);
    char dir[] = "/tmp/axl_charz_XXXXXX", path[64];
    cr_assert(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/m.h5", dir);
    cr_assert_eq(axl_charz_write(z, path, 0, msg), AXL_OK, "%s", msg);
    struct axl_table_info in;
    cr_assert_eq(axl_table_load_info(path, &in, msg), AXL_OK, "%s", msg);
    cr_expect(in.metrics_only);
    expect_same(&in.metrics, &axl_charz_info(z)->metrics, "read back");
    struct axl_table *t = NULL;
    cr_expect_eq(axl_table_load(path, &t, msg), AXL_ERR_FORMAT);
    cr_expect(strstr(msg, "holds only the metrics"), "%s", msg);
    axl_charz_free(z);
    /* sampled file: its intervals come back */
    o.samples = 5000;
    cr_assert_eq(axl_charz_create(d, &c, &o, &z, msg), AXL_OK);
    cr_assert_eq(axl_charz_run(z, msg), AXL_OK);
    cr_assert_eq(axl_charz_write(z, path, 1, msg), AXL_OK, "%s", msg);
    cr_assert_eq(axl_table_load_info(path, &in, msg), AXL_OK, "%s", msg);
    expect_same(&in.metrics, &axl_charz_info(z)->metrics, "sampled, read back");
    axl_charz_free(z);
    unlink(path);
    rmdir(dir);
}

#ifdef AXL_CHARZ_16
/* 2^32 pairs of int16 through Mitchell's multiplier: 1 and 2 threads, and
 * the split of 3 ranks, give the same bits (label sweep: minutes). */
Test(charz16, int16_same_bits_for_threads_and_ranges, .timeout = 3600)
{
    const struct axl_design *d;
    struct axl_design_ctx c = bind("mitchell", "int16", NULL, &d);
    struct axl_metrics m1 = charz(d, &c, 1, 0, 1), m2 = charz(d, &c, 2, 0, 3);
    expect_same(&m1, &m2, "int16, 1 thread vs 2 threads in 3 ranges");
    cr_expect_eq(m1.pairs, (uint64_t)1 << 32);
}
#endif
