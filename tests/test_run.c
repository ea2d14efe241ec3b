/* axlut run as a library: the error statistics of a run report and the
 * predictions it counts (the command line end to end is in
 * tests/e2e/test_cli_run.c). */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "axlut/run.h"

/* Error statistics: equal outputs give SNR +inf, a NaN or inf among the
 * outputs (overflow in a narrow format) gives SNR -inf and MSE inf. */
Test(run, error_statistics_of_non_finite_outputs)
{
    const float ref[4] = {1.0f, -2.0f, 0.5f, 3.0f};
    float got[4] = {1.0f, -2.0f, 0.5f, 3.0f};
    struct axl_error_sums s;
    memset(&s, 0, sizeof s);
    axl_error_add(&s, got, ref, 4);
    struct axl_error e = axl_error_of(&s);
    cr_assert(isinf(e.snr_db) && e.snr_db > 0 && e.mse == 0.0);
    got[1] = NAN;
    memset(&s, 0, sizeof s);
    axl_error_add(&s, got, ref, 4);
    e = axl_error_of(&s);
    cr_assert(isinf(e.snr_db) && e.snr_db < 0, "snr %g", e.snr_db);
    cr_assert(isinf(e.mse) && isinf(e.max_abs));
    got[1] = INFINITY;
    memset(&s, 0, sizeof s);
    axl_error_add(&s, got, ref, 4);
    e = axl_error_of(&s);
    cr_assert(isinf(e.snr_db) && e.snr_db < 0, "snr %g", e.snr_db);
    got[1] = -2.5f;
    memset(&s, 0, sizeof s);
    axl_error_add(&s, got, ref, 4);
    e = axl_error_of(&s);
    cr_assert(fabs(e.snr_db - 10.0 * log10(14.25 / 0.25)) < 1e-9, "snr %g", e.snr_db);
}

/* NaN outputs (overflow in a narrow format) are never a correct prediction. */
Test(run, nan_scores_are_never_predictions)
{
    const float ok[4] = {0.1f, 2.0f, -1.0f, 0.5f};
    cr_assert_eq(axl_argmax(ok, 4), 1);
    cr_assert(axl_in_top_k(ok, 4, 1, 1) && !axl_in_top_k(ok, 4, 3, 1) && axl_in_top_k(ok, 4, 3, 2));
    const float nan[4] = {NAN, NAN, NAN, NAN};
    cr_assert_eq(axl_argmax(nan, 4), -1);
    for (int l = 0; l < 4; l++)
        cr_assert(!axl_in_top_k(nan, 4, l, 1) && !axl_in_top_k(nan, 4, l, 4), "label %d", l);
    const float some[4] = {NAN, 0.5f, NAN, -3.0f};
    cr_assert_eq(axl_argmax(some, 4), 1);
    cr_assert(!axl_in_top_k(some, 4, 0, 1) && axl_in_top_k(some, 4, 3, 2));
}
