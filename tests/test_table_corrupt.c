/* Corrupt table files (issue 14, class 4): every single-byte change of a
 * table file, at a stride over the whole file, is either read as a table
 * whose entries are codes of its result format, or refused with one line
 * naming the file, never a crash, a hang or an allocation without bound.
 * HDF5 1.10 itself crashes, loops or asks for terabytes on many of these
 * files (tests/fuzz/README.md); axl_table_load reads in a child process
 * (tablegen/read_child.c), and this test runs under ASan/UBSan in CI. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/design.h"
#include "axlut/table.h"
#include "tablegen_fixtures.h"
#include "file_bytes.h"

/* One verdict: AXL_OK with every entry a code of the result format, or
 * AXL_ERR_FORMAT with one line naming the file; returns 1 when refused. */
static int judge(const char *path, size_t off, unsigned x)
{
    char msg[AXL_MSG_LEN] = "";
    struct axl_table *t = NULL;
    struct axl_table_info in;
    enum axl_status si = axl_table_load_info(path, &in, msg);
    cr_assert(si == AXL_OK || si == AXL_ERR_FORMAT, "byte %zu ^ 0x%x: info status %d: %s", off,
              x, si, msg);
    enum axl_status s = axl_table_load(path, &t, msg);
    cr_assert(s == AXL_OK || s == AXL_ERR_FORMAT, "byte %zu ^ 0x%x: status %d: %s", off, x, s,
              msg);
    if (s != AXL_OK) {
        cr_assert(t == NULL);
        cr_assert(msg[0] && !strchr(msg, '\n'), "byte %zu ^ 0x%x: not one line: %s", off, x, msg);
        cr_assert(strstr(msg, path), "byte %zu ^ 0x%x: the file is not named: %s", off, x, msg);
        return 1;
    }
    const struct axl_table_info *ti = axl_table_info(t);
    const unsigned char *e = axl_table_data(t);
    cr_assert_eq(ti->entry_bytes, 1u);
    for (uint64_t i = 0; i < ti->rows * ti->cols; i++)
        cr_assert(ti->tr.bits >= 8 || e[i] >> ti->tr.bits == 0, "byte %zu: entry %llu = 0x%x",
                  off, (unsigned long long)i, e[i]);
    axl_table_free(t);
    return 0;
}

Test(table_corrupt, flipped_bytes_are_read_or_refused_in_one_line, .timeout = 900)
{
    /* a hang is stopped after 10 s here, not the 60 s default */
    setenv("AXL_READ_TIMEOUT", "10", 1);
    struct axl_design_ctx c = ctx3("int4", "int4", "int8");
    struct axl_table *t = gen(&d_s_mul, &c, 1);
    const char *good = tmp_path("good.h5"), *bad = tmp_path("bad.h5");
    char msg[AXL_MSG_LEN] = "";
    cr_assert_eq(axl_table_write(t, good, 1, msg), AXL_OK, "%s", msg);
    axl_table_free(t);
    size_t n;
    unsigned char *b = slurp(good, &n);
    cr_assert_eq(judge(good, 0, 0), 0, "the unchanged table is refused");
    /* every 37th byte, alternately all bits and the lowest (a length or an
     * offset that is off by one) */
    size_t tried = 0, refused = 0;
    for (size_t off = 0; off < n; off += 37) {
        unsigned x = tried % 2 ? 0x01 : 0xff;
        b[off] ^= (unsigned char)x;
        spill(bad, b, n);
        refused += (size_t)judge(bad, off, x);
        tried++;
        b[off] ^= (unsigned char)x;
    }
    /* the header, the object headers and the attributes are most of a
     * small table file: many changes must be refused */
    cr_log_info("%zu corrupt files, %zu refused", tried, refused);
    cr_assert_gt(refused, tried / 10, "%zu of %zu refused", refused, tried);
    free(b);
}

/* A table whose /lut claims far more entries than the file holds: an
 * allocation bounded by the file, not by what the dataspace claims. */
Test(table_corrupt, truncated_file_is_refused)
{
    struct axl_design_ctx c = ctx3("int4", "int4", "int8");
    struct axl_table *t = gen(&d_s_mul, &c, 1);
    const char *good = tmp_path("good2.h5"), *bad = tmp_path("trunc.h5");
    char msg[AXL_MSG_LEN] = "";
    cr_assert_eq(axl_table_write(t, good, 1, msg), AXL_OK, "%s", msg);
    axl_table_free(t);
    size_t n;
    unsigned char *b = slurp(good, &n);
    for (size_t keep = 0; keep < n; keep += n / 7 + 1) {
        spill(bad, b, keep);
        cr_assert_eq(judge(bad, keep, 0), 1, "a file cut to %zu of %zu bytes was accepted", keep,
                     n);
    }
    free(b);
}
