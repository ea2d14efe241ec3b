/* axlut snn end to end: a run with its report, and the bad inputs (T = 0, a
 * calibration set of the wrong shape, an operator that cannot spike, an
 * unknown adder), each one line on stderr, exit status 2 and no report. */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"
#include "labelled_data.h"

static void setup(void) { e2e_setup("/tmp/axl_snn_cli_XXXXXX"); }

TestSuite(cli_snn, .init = setup, .fini = e2e_teardown, .timeout = 600);

#define sh(err, cap, ...) e2e_sh(NULL, err, cap, __VA_ARGS__)

/* g_dir/name: n samples of side x side pixels (labelled_data.h) */
static const char *data_file(const char *name, int n, int side)
{
    static char p[2][300];
    static int k;
    k ^= 1;
    snprintf(p[k], sizeof p[k], "%s/%s", g_dir, name);
    write_labelled_images(p[k], n, side, 1.0f, 1, 0);
    return p[k];
}

static int exists(const char *name)
{
    char p[400];
    snprintf(p, sizeof p, "%s/%s", g_dir, name);
    return access(p, F_OK) == 0;
}

static int lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

Test(cli_snn, converts_evaluates_and_reports)
{
    char err[4096];
    const char *d = data_file("d.h5", 24, 28);
    int rc = sh(err, sizeof err,
                "'%s' snn '%s' --data '%s' --calib '%s' --steps 16,4 --acc-format fp16 "
                "--add fpadd_loa --add-param k=4 --report '%s/r.json' --save-outputs '%s/o.h5' "
                "--quiet", g_axlut, g_lenet, d, d, g_dir, g_dir);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert(exists("r.json") && exists("o.h5"));
    rc = sh(err, sizeof err, "grep -c '\"top1\":' '%s/r.json' | grep -qx 2 && "
            "grep -q '\"ann_top1\":' '%s/r.json' && grep -q '\"steps\": 4,' '%s/r.json' && "
            "grep -q 'fpadd_loa(k=4)' '%s/r.json' && grep -q '\"synops_per_sample\"' '%s/r.json'",
            g_dir, g_dir, g_dir, g_dir, g_dir);
    cr_assert_eq(rc, 0, "the report lacks a field");
    /* the table on stdout: one row per T */
    rc = e2e_sh("out.txt", err, sizeof err, "'%s' snn '%s' --data '%s' --calib '%s' --steps 8 "
                "--kernel dense --limit 10", g_axlut, g_lenet, d, d);
    cr_assert_eq(rc, 0, "%s", err);
    rc = sh(err, sizeof err, "grep -q 'ANN (exact fp32) top-1' '%s/out.txt' && "
            "grep -Eq '^ +8 ' '%s/out.txt' && grep -q '/pool1/MaxPool' '%s/out.txt'", g_dir, g_dir,
            g_dir);
    cr_assert_eq(rc, 0, "the printed report lacks a line");
    /* leaky IF, spike-count readout, the automatic kernel: the rate error in both */
    rc = e2e_sh("out2.txt", err, sizeof err, "'%s' snn '%s' --data '%s' --calib '%s' --steps 8 "
                "--leak 0.05 --readout spikes --kernel auto --limit 10 --report '%s/r2.json'",
                g_axlut, g_lenet, d, d, g_dir);
    cr_assert_eq(rc, 0, "%s", err);
    rc = sh(err, sizeof err, "grep -q 'leak 0.05' '%s/out2.txt' && grep -q 'spikes readout' "
            "'%s/out2.txt' && grep -q 'rate err' '%s/out2.txt' && grep -q '\"rate_error\": [0-9]' "
            "'%s/r2.json' && grep -q '\"kernel\": \"auto\"' '%s/r2.json'", g_dir, g_dir, g_dir,
            g_dir, g_dir);
    cr_assert_eq(rc, 0, "the leak, readout, kernel or rate error is missing from the output");
    /* a layer configuration: fc1 in an int16 membrane with LOA, the rest as the options say */
    char cfg[400];
    snprintf(cfg, sizeof cfg, "%s/cfg.json", g_dir);
    FILE *f = fopen(cfg, "w");
    cr_assert(f && fputs("{\"layers\": [{\"match\": \"/fc1/Gemm\", \"acc_format\": \"int16\", "
                         "\"add\": \"loa\", \"add_params\": {\"k\": 3}}]}\n", f) >= 0 &&
              fclose(f) == 0);
    rc = e2e_sh("out3.txt", err, sizeof err, "'%s' snn '%s' --data '%s' --calib '%s' --steps 8 "
                "--acc-format fp16 --config '%s' --limit 10", g_axlut, g_lenet, d, d, cfg);
    cr_assert_eq(rc, 0, "%s", err);
    rc = sh(err, sizeof err, "grep -q 'per-layer config' '%s/out3.txt'", g_dir);
    cr_assert_eq(rc, 0, "the configuration is not named in the output");
    /* --device cuda: the same table as the cpu's (on the GPU, or after a
     * one-line notice on the CPU where there is none) */
    const char *cfg4 = "--steps 4,8 --acc-format bf16 --add fpadd_loa --add-param k=2 --limit 6";
    rc = e2e_sh("cpu.txt", err, sizeof err, "'%s' snn '%s' --data '%s' --calib '%s' %s", g_axlut,
                g_lenet, d, d, cfg4);
    cr_assert_eq(rc, 0, "%s", err);
    rc = e2e_sh("cuda.txt", err, sizeof err, "'%s' snn '%s' --data '%s' --calib '%s' %s "
                "--device cuda", g_axlut, g_lenet, d, d, cfg4);
    cr_assert_eq(rc, 0, "%s", err);
    rc = sh(err, sizeof err, "cd '%s' && grep -v '^time:' cpu.txt >a && grep -v '^time:' "
            "cuda.txt >b && cmp -s a b", g_dir);
    cr_assert_eq(rc, 0, "--device cuda printed another report than the cpu");
}

Test(cli_snn, bad_inputs_are_one_line_and_exit_2)
{
    char err[4096];
    const char *d = data_file("d.h5", 8, 28), *small = data_file("small.h5", 8, 14);
    char mbv2[1200];
    snprintf(mbv2, sizeof mbv2, "%s/tests/data/models/mobilenetv2_block.onnx", g_src);
    struct {
        const char *args, *want;
    } cases[] = {
        {"--steps 0", "T = 0"},
        {"--steps 8,x", "T = x"},
        {"--steps 8 --add nope", "unknown design 'nope'"},
        {"--steps 8 --acc-format int16 --add fpadd_loa", "int16"},
        {"--steps 8 --acc-format e9m9", "e9m9"},
        {"--steps 8 --percentile 0", "--percentile"},
        {"--steps 8 --leak 1", "--leak"},
        {"--steps 8 --readout logits", "--readout"},
        {"--steps 8 --kernel sparse", "--kernel"},
        {"--steps 8 --auto-dense 0", "--auto-dense"},
        {"--steps 8 --auto-dense 1.5", "--auto-dense"},
        {"--steps 8 --device tpu", "--device"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = sh(err, sizeof err, "'%s' snn '%s' --data '%s' --calib '%s' %s --report "
                    "'%s/bad.json' --save-outputs '%s/bad.h5'", g_axlut, g_lenet, d, d,
                    cases[i].args, g_dir, g_dir);
        cr_expect_eq(rc, 2, "%s: exit %d", cases[i].args, rc);
        cr_expect(strstr(err, cases[i].want) && lines(err) == 1, "%s: %s", cases[i].args, err);
    }
    /* a calibration set of the wrong shape: named, before any work */
    int rc = sh(err, sizeof err, "'%s' snn '%s' --data '%s' --calib '%s' --steps 8 --report "
                "'%s/bad.json'", g_axlut, g_lenet, d, small, g_dir);
    cr_expect_eq(rc, 2);
    cr_expect(strstr(err, small) && lines(err) == 1, "%s", err);
    /* an operator that cannot become spiking, named with its node */
    rc = sh(err, sizeof err, "'%s' snn '%s' --data '%s' --calib '%s' --steps 8 --report "
            "'%s/bad.json'", g_axlut, mbv2, d, d, g_dir);
    cr_expect_eq(rc, 2);
    cr_expect(strstr(err, "(Clip)") && strstr(err, "node '") && lines(err) == 1, "%s", err);
    /* a layer configuration whose rule names no layer */
    char cfg[400];
    snprintf(cfg, sizeof cfg, "%s/cfg.json", g_dir);
    FILE *f = fopen(cfg, "w");
    cr_assert(f && fputs("{\"layers\": [{\"match\": \"/fc9/Gemm\", \"add\": \"loa\"}]}\n",
                         f) >= 0 && fclose(f) == 0);
    rc = sh(err, sizeof err, "'%s' snn '%s' --data '%s' --calib '%s' --steps 8 --config '%s' "
            "--acc-format int16 --report '%s/bad.json'", g_axlut, g_lenet, d, d, cfg, g_dir);
    cr_expect_eq(rc, 2);
    cr_expect(strstr(err, "/fc9/Gemm") && lines(err) == 1, "%s", err);
    /* missing arguments */
    rc = sh(err, sizeof err, "'%s' snn '%s' --data '%s' --steps 8", g_axlut, g_lenet, d);
    cr_expect_eq(rc, 2);
    cr_expect(strstr(err, "--calib") && lines(err) == 1, "%s", err);
    cr_expect(!exists("bad.json") && !exists("bad.h5"), "a report or outputs file was written "
              "for a refused run");
}
