/* tablegen: exhaustive evaluation of a design into a table (row a, column
 * b, the smallest entry type, signed products), refusals, and the choice
 * of path (full table, mantissa table of the core, too wide for either). */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/design.h"
#include "axlut/table.h"
#include "tablegen_fixtures.h"

/* --- evaluation ----------------------------------------------------------- */

Test(generate, entries_equal_design_row_a_col_b)
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

Test(generate, entry_type_is_smallest)
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

Test(generate, signed_products_every_quadrant)
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

Test(generate, code_wider_than_result_is_refused)
{
    struct axl_design_ctx c = ctx3("uint4", "uint4", "uint8");
    struct axl_table *t = NULL;
    char msg[AXL_MSG_LEN] = "";
    cr_assert_eq(axl_table_generate(&d_bad, &c, NULL, &t, msg), AXL_ERR_INVALID);
    cr_assert_null(t);
    cr_assert(strstr(msg, "a=0x7, b=0x9") && strstr(msg, "0x12345"), "%s", msg);
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

Test(generate, too_wide_refused_with_message)
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

Test(generate, mantissa_table_of_the_core)
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
