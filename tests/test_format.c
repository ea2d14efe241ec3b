#include <criterion/criterion.h>

#include "axlut/format.h"

Test(format, parse_fp16)
{
    struct axl_format f;
    char msg[AXL_MSG_LEN];
    cr_assert_eq(axl_format_parse("fp16", &f, msg), AXL_OK, "%s", msg);
    cr_assert_eq(f.ebits, 5);
    cr_assert_eq(f.mbits, 10);
    cr_assert_eq(f.bias, 15);
    cr_assert_eq(axl_format_encode(&f, 1.0f, AXL_ROUND_NEAREST_EVEN, 0), 0x3C00u);
}
