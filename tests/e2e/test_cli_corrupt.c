/* Corrupt input files through the command line (issue 14, class 4): a
 * table file or a dataset with one byte changed, at a stride over the whole
 * file, makes `axlut info`, `axlut run --mul T.h5` and `axlut run --data`
 * either work or exit 2 with one line naming the file, never crash, hang or
 * print HDF5's own diagnostics, and leave no report behind.  HDF5 1.10
 * crashes on many of these files in its own process (tests/fuzz/README.md);
 * axlut reads them in a child process (tablegen/export/child.h). */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"
#include "../file_bytes.h"

static void setup(void)
{
    e2e_setup("/tmp/axl_corrupt_XXXXXX");
    setenv("AXL_READ_TIMEOUT", "10", 1); /* a hang is stopped after 10 s, not 60 */
}

TestSuite(cli_corrupt, .init = setup, .fini = e2e_teardown, .timeout = 600);

#define sh(err, cap, ...) e2e_sh("out.txt", err, cap, __VA_ARGS__)

static int lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* One command on a corrupt file: exit 0, or 2 with one line naming it.
 * Returns 1 when refused. */
static int judge(int rc, const char *err, const char *file, const char *what, size_t off)
{
    cr_assert(rc == 0 || rc == 2, "%s, byte %zu flipped: exit %d: %s", what, off, rc, err);
    if (rc == 0)
        return 0;
    cr_assert_eq(lines(err), 1, "%s, byte %zu flipped: not one line:\n%s", what, off, err);
    cr_assert(strstr(err, file), "%s, byte %zu flipped: the file is not named: %s", what, off, err);
    return 1;
}

Test(cli_corrupt, table_with_a_flipped_byte_is_read_or_refused_in_one_line)
{
    char err[8192], good[300], bad[300], rep[300];
    snprintf(good, sizeof good, "%s/t.h5", g_dir);
    snprintf(bad, sizeof bad, "%s/bad.h5", g_dir);
    snprintf(rep, sizeof rep, "%s/report.json", g_dir);
    cr_assert_eq(sh(err, sizeof err, "cd '%s' && '%s' gen mul_exact --format int4 -o '%s'", g_dir,
                    g_axlut, good),
                 0, "%s", err);
    size_t n;
    unsigned char *b = slurp(good, &n);
    size_t tried = 0, refused = 0, run_checked = 0;
    for (size_t off = 0; off < n; off += 151) {
        b[off] ^= 0xff;
        spill(bad, b, n);
        b[off] ^= 0xff;
        int rc = sh(err, sizeof err, "'%s' info '%s'", g_axlut, bad);
        int r = judge(rc, err, bad, "axlut info", off);
        refused += (size_t)r;
        tried++;
        /* the same file as a multiplier of a run: refused the same way, and
         * no report written (every 8th refused file: a run costs more) */
        if (r && refused % 8 == 1) {
            rc = sh(err, sizeof err, "'%s' run '%s' --data '%s' --mul '%s' --format int4 --limit 2 "
                    "--report '%s'",
                    g_axlut, g_lenet, g_lenet_data, bad, rep);
            cr_assert_eq(rc, 2, "axlut run --mul, byte %zu flipped: exit %d: %s", off, rc, err);
            judge(rc, err, bad, "axlut run --mul", off);
            cr_assert(access(rep, F_OK) != 0, "a report was left behind");
            run_checked++;
        }
    }
    cr_log_info("%zu corrupt tables, %zu refused, %zu also as --mul", tried, refused, run_checked);
    cr_assert_gt(refused, tried / 10, "%zu of %zu refused", refused, tried);
    cr_assert_gt(run_checked, 0, "no refused table tried with --mul");
    free(b);
}

Test(cli_corrupt, dataset_with_a_flipped_byte_is_read_or_refused_in_one_line)
{
    char err[8192], bad[300];
    snprintf(bad, sizeof bad, "%s/bad_data.h5", g_dir);
    size_t n;
    unsigned char *b = slurp(g_lenet_data, &n);
    size_t tried = 0, refused = 0;
    /* the metadata (superblock, object headers, B-trees) is at the start
     * of a small file, the samples after it: a finer stride there */
    for (size_t off = 0; off < n; off += off < 4096 ? 67 : 1031) {
        b[off] ^= 0xff;
        spill(bad, b, n);
        b[off] ^= 0xff;
        int rc = sh(err, sizeof err, "'%s' run '%s' --data '%s' --limit 2", g_axlut, g_lenet, bad);
        refused += (size_t)judge(rc, err, bad, "axlut run --data", off);
        tried++;
    }
    cr_log_info("%zu corrupt datasets, %zu refused", tried, refused);
    cr_assert_gt(refused, 0, "none of %zu refused", tried);
    free(b);
}
