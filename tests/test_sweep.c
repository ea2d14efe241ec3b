/* axlut sweep as a library: the format-range and design-list parsers (the
 * command line end to end is in tests/e2e/test_cli_sweep.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/sweep.h"

Test(sweep, format_ranges)
{
    char msg[AXL_MSG_LEN];
    char(*f)[AXL_SWEEP_NAME];
    size_t n;
    cr_assert_eq(axl_sweep_formats("e3..5m1..2,bf16", &f, &n, msg), AXL_OK, "%s", msg);
    cr_assert_eq(n, 7);
    cr_assert_str_eq(f[0], "e3m1");
    cr_assert_str_eq(f[1], "e3m2"); /* the OCP shape keeps its OCP meaning */
    cr_assert_str_eq(f[5], "e5m2");
    cr_assert_str_eq(f[6], "bf16");
    free(f);
    cr_assert_eq(axl_sweep_formats("e4m1..3", &f, &n, msg), AXL_OK, "%s", msg);
    cr_assert_eq(n, 3);
    free(f);
    static const char *bad[][2] = {
        {"e9m30", "9 exponent bits"}, {"e3..1m2", "upwards"}, {"e3..m2", "expected"},
        {"e3..5m1..30", "mantissa bits is out of range"}, {"foo", "foo"}, {"", "empty"},
        {"e2..3m", "expected"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        f = NULL;
        cr_expect_eq(axl_sweep_formats(bad[i][0], &f, &n, msg), AXL_ERR_INVALID, "'%s' accepted",
                     bad[i][0]);
        cr_expect(strstr(msg, bad[i][1]), "'%s': %s", bad[i][0], msg);
        cr_expect_null(f);
    }
}

Test(sweep, design_lists)
{
    char msg[AXL_MSG_LEN];
    struct axl_sweep_design *d;
    size_t n;
    cr_assert_eq(axl_sweep_designs("mul_exact,fpmul_drum:k=4,bam:hbl=1:vbl=3", &d, &n, msg), AXL_OK,
                 "%s", msg);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(d[1].label, "fpmul_drum(k=4)");
    cr_assert_eq(d[2].nparams, 2);
    cr_assert_str_eq(d[2].params[1], "vbl=3");
    free(d);
    cr_assert_eq(axl_sweep_designs("drum:k", &d, &n, msg), AXL_ERR_INVALID);
    cr_assert(strstr(msg, "name=value"), "%s", msg);
}
