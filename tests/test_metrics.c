/* tablegen: the error metrics of a table, on designs whose errors can be
 * counted by hand or have a closed form, floating specials, thread count,
 * and the published facts about built-in multipliers. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/design.h"
#include "axlut/table.h"
#include "tablegen_fixtures.h"

/* --- metrics ---------------------------------------------------------------- */

Test(metrics, metrics_one_wrong_pair)
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

Test(metrics, metrics_truncated_adder_closed_form)
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

Test(metrics, float_exact_designs_have_zero_error)
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

Test(metrics, float_specials_counted_apart)
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

Test(metrics, metrics_same_with_1_and_2_threads)
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

Test(metrics, published_facts_from_table_metrics, .timeout = 120)
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
