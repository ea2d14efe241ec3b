/* Contracts of the lower layers that have no test file of their own: the
 * table path's name table, public table and user-design functions that
 * nothing else in the tree calls. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/design.h"
#include "axlut/format.h"
#include "axlut/table.h"
#include "axlut/user_design.h"

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

/* axl_table_from_entries gives back the entries and the metrics that
 * generation computed. */
Test(table_from_entries, matches_a_generated_table)
{
    char msg[AXL_MSG_LEN] = "";
    const struct axl_design *d = axl_design_find("drum");
    cr_assert(d != NULL);
    struct axl_format i8;
    cr_assert_eq(axl_format_parse("int8", &i8, msg), AXL_OK);
    const char *params[] = {"k=4"};
    struct axl_design_ctx c;
    cr_assert_eq(axl_design_bind(d, &i8, &i8, NULL, params, 1, &c, msg), AXL_OK, "%s", msg);
    struct axl_table *t = NULL, *u = NULL;
    cr_assert_eq(axl_table_generate(d, &c, NULL, &t, msg), AXL_OK, "%s", msg);
    const struct axl_table_info *in = axl_table_info(t);
    uint32_t *e = malloc(in->rows * in->cols * sizeof *e);
    cr_assert(e != NULL);
    for (uint32_t a = 0; a < in->rows; a++)
        for (uint32_t b = 0; b < in->cols; b++)
            e[a * in->cols + b] = axl_table_entry(t, a, b);
    struct axl_table_info info = *in;
    info.rows = info.cols = 0; /* derived again from the formats, */
    info.entry_bytes = 4;      /* and so is the entry width */
    /* entries in the table's entry width, little-endian as in memory here */
    void *packed = malloc(in->rows * in->cols * in->entry_bytes);
    cr_assert(packed != NULL);
    for (uint64_t i = 0; i < in->rows * in->cols; i++) {
        uint32_t v = e[i];
        memcpy((char *)packed + i * in->entry_bytes, &v, in->entry_bytes);
    }
    cr_assert_eq(axl_table_from_entries(&info, packed, &u, msg), AXL_OK, "%s", msg);
    const struct axl_table_info *un = axl_table_info(u);
    cr_expect_eq(un->rows, in->rows);
    cr_expect_eq(un->cols, in->cols);
    long bad = 0;
    for (uint32_t a = 0; a < in->rows; a++)
        for (uint32_t b = 0; b < in->cols; b++)
            bad += axl_table_entry(u, a, b) != e[a * in->cols + b];
    cr_expect_eq(bad, 0, "%ld entries differ", bad);
    cr_expect_eq(un->metrics.errors, in->metrics.errors);
    cr_expect_eq(un->metrics.mae, in->metrics.mae);
    cr_expect_eq(un->metrics.wce, in->metrics.wce);
    free(packed);
    free(e);
    axl_table_free(u);
    axl_table_free(t);
}

/* axl_user_design_path names the file the design was compiled from. */
Test(user_design, path_is_the_source)
{
    const char *root = getenv("AXL_SOURCE_DIR");
    cr_assert(root != NULL, "AXL_SOURCE_DIR is not set (run through ctest)");
    char dir[] = "/tmp/axl_contracts_XXXXXX";
    cr_assert(mkdtemp(dir) != NULL);
    setenv("AXL_CACHE_DIR", dir, 1);
    char src[4096];
    snprintf(src, sizeof src, "%s/tables/examples/my_lomul.c", root);
    struct axl_user_design *u = NULL;
    char msg[AXL_MSG_LEN] = "", *log = NULL;
    cr_assert_eq(axl_user_design_load(src, &u, &log, msg), AXL_OK, "%s\n%s", msg, log ? log : "");
    cr_expect_str_eq(axl_user_design_path(u), src);
    axl_user_design_free(u);
    free(log);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}
