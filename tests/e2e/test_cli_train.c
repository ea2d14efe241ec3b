/* axlut train end to end: a run with validation, report and checkpoints
 * whose output axlut run reads, resuming, and the bad inputs, each with one
 * line naming what is wrong, exit status 2 and no output file. */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"
#include "labelled_data.h"

static void setup(void) { e2e_setup("/tmp/axl_train_cli_XXXXXX"); }

TestSuite(cli_train, .init = setup, .fini = e2e_teardown, .timeout = 600);

#define sh(err, cap, ...) e2e_sh(NULL, err, cap, __VA_ARGS__)

/* g_dir/name: n LeNet-shaped samples (labelled_data.h), labels plus shift */
static const char *data_file(const char *name, int n, int shift)
{
    static char p[2][300];
    static int k;
    k ^= 1;
    snprintf(p[k], sizeof p[k], "%s/%s", g_dir, name);
    write_labelled_images(p[k], n, 28, 1.0f, 1, shift);
    return p[k];
}

static int exists(const char *name)
{
    char p[400];
    snprintf(p, sizeof p, "%s/%s", g_dir, name);
    return access(p, F_OK) == 0;
}

Test(cli_train, trains_reports_checkpoints_and_resumes)
{
    char err[4096];
    const char *d = data_file("d.h5", 64, 0);
    int rc = sh(err, sizeof err,
                "'%s' train '%s' --data '%s' --val '%s' -o '%s/out.onnx' --epochs 2 --batch 16 "
                "--report '%s/r.json' --checkpoint '%s/ck' --mul fpmul_drum --param k=4 "
                "--format e4m3 --backward approx --quiet",
                g_axlut, g_lenet, d, d, g_dir, g_dir, g_dir);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(exists("out.onnx") && exists("r.json") && exists("ck/epoch-0001.h5") &&
              exists("ck/epoch-0002.h5"));
    rc = sh(err, sizeof err, "grep -c '\"epoch\":' '%s/r.json' | grep -qx 2", g_dir);
    cr_assert_eq(rc, 0, "the report does not hold two epochs");
    rc = sh(err, sizeof err, "'%s' run '%s/out.onnx' --data '%s' --quiet", g_axlut, g_dir, d);
    cr_assert_eq(rc, 0, "axlut run cannot read the retrained model: %s", err);
    rc = sh(err, sizeof err,
            "'%s' train '%s' --data '%s' -o '%s/out2.onnx' --epochs 3 --batch 16 "
            "--checkpoint '%s/ck' --resume --mul fpmul_drum --param k=4 --format e4m3 "
            "--backward approx",
            g_axlut, g_lenet, d, g_dir, g_dir);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(exists("ck/epoch-0003.h5") && exists("out2.onnx"));
}

Test(cli_train, bad_inputs_are_one_line_and_exit_2)
{
    char err[4096];
    const char *ok = data_file("ok.h5", 32, 0), *range = data_file("range.h5", 32, 3);
    struct {
        const char *args, *want;
    } cases[] = {
        {"--data '%s' -o '%s/o.onnx'", "labels"}, /* the fixture's data has no labels */
        {"--data '%s' -o '%s/o.onnx'", "outside"},
        {"--data '%s' -o '%s/o.onnx' --lr 1e30 --momentum 0 --schedule constant --batch 8",
         "NaN"},
        {"--data '%s' -o '%s/no/such/dir/o.onnx'", "cannot be written"},
        {"--data '%s' --output-missing '%s'", "unknown option"},
        {"--data '%s' -o '%s/o.onnx' --backward sideways", "--backward"},
        {"--data '%s' -o '%s/o.onnx' --resume", "--checkpoint"},
    };
    const char *data[] = {g_lenet_data, range, ok, ok, ok, ok, ok};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char args[600], cmd[1200];
        snprintf(args, sizeof args, cases[i].args, data[i], g_dir);
        snprintf(cmd, sizeof cmd, "'%s' train '%s' %s --quiet", g_axlut, g_lenet, args);
        int rc = sh(err, sizeof err, "%s", cmd);
        cr_expect_eq(rc, 2, "case %zu: exit %d: %s", i, rc, err);
        cr_expect(strstr(err, cases[i].want), "case %zu: '%s' not in: %s", i, cases[i].want,
                  err);
        cr_expect(!strchr(err, '\n') || strchr(err, '\n') == err + strlen(err) - 1,
                  "case %zu: more than one line: %s", i, err);
        cr_expect(!exists("o.onnx"), "case %zu left an output", i);
    }
}

/* An operator without a backward is refused before any work, naming it. */
Test(cli_train, operator_without_backward_is_named)
{
    char err[4096];
    const char *d = data_file("d.h5", 8, 0);
    int rc = sh(err, sizeof err, "'%s' train '%s/tests/data/onnx_ops/convtranspose.onnx' "
                "--data '%s' -o '%s/o.onnx'", g_axlut, g_src, d, g_dir);
    cr_assert_eq(rc, 2, "%s", err);
    cr_assert(strstr(err, "ConvTranspose") && strstr(err, "no backward"), "%s", err);
    cr_assert(!exists("o.onnx"));
}

/* A bad number is one line (not also "unknown option"), exit 2. */
Test(cli_train, bad_numbers_are_one_line)
{
    char err[4096];
    const char *opts[] = {"--epochs 0", "--batch 1.5", "--seed abc", "--lr -1", "--limit x"};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        int rc = sh(err, sizeof err, "'%s' train '%s' --data x.h5 -o '%s/o.onnx' %s", g_axlut,
                    g_lenet, g_dir, opts[i]);
        cr_expect_eq(rc, 2, "%s: exit %d", opts[i], rc);
        cr_expect(strchr(err, '\n') == err + strlen(err) - 1, "%s: %s", opts[i], err);
        cr_expect(!strstr(err, "unknown option"), "%s: %s", opts[i], err);
    }
}
