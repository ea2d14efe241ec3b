/* Contracts of the lower layers that have no test file of their own: the
 * table path's name table. */
#include <criterion/criterion.h>

#include "axlut/table.h"

Test(table_path, names_round_trip)
{
    enum axl_table_path p;
    cr_expect_str_eq(axl_table_path_name(AXL_TABLE_FULL), "full");
    cr_expect_str_eq(axl_table_path_name(AXL_TABLE_MANTISSA), "mantissa");
    cr_expect_str_eq(axl_table_path_name((enum axl_table_path)7), "?");
    cr_expect_eq(axl_table_path_parse("mantissa", &p), AXL_OK);
    cr_expect_eq(p, AXL_TABLE_MANTISSA);
    cr_expect_eq(axl_table_path_parse("full", &p), AXL_OK);
    cr_expect_eq(p, AXL_TABLE_FULL);
    cr_expect_eq(axl_table_path_parse("table", &p), AXL_ERR_INVALID);
    cr_expect_eq(axl_table_path_parse(NULL, &p), AXL_ERR_INVALID);
}
