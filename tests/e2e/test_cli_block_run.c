/* Block-scaled layers through the command line: `run --format mxfp4` and a
 * per-layer configuration with a block adder run the LeNet fixture; a
 * table generated for a block format records it (`gen`, `info`) and serves
 * the layer with the same bits as the design itself; a sweep over block
 * formats gives each point the figures of `run` with the same options;
 * bad configurations exit 2 with one line naming the layer and leave no
 * report behind. */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"

static void setup(void) { e2e_setup("/tmp/axl_blockrun_XXXXXX"); }

TestSuite(cli_block_run, .init = setup, .fini = e2e_teardown, .timeout = 300);

#define sh(err, cap, ...) e2e_sh("out.txt", err, cap, __VA_ARGS__)

static int lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* The whole of g_dir/NAME (static buffer). */
static const char *file(const char *name)
{
    static char buf[1 << 17];
    char path[256];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    return buf;
}

static int exists(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "rb");
    if (f)
        fclose(f);
    return f != NULL;
}

Test(cli_block_run, run_and_config)
{
    char err[2048];
    int rc = sh(err, sizeof err, "'%s' run '%s' --data '%s' --limit 6 --format mxfp4",
                g_axlut, g_lenet, g_lenet_data);
    cr_assert_eq(rc, 0, "%s", err);
    const char *o = file("out.txt");
    cr_expect(strstr(o, "blocks mxfp4 x mxfp4 of 32, block sum fp32"), "%s", o);
    cr_expect(strstr(o, "top-1"), "%s", o);
    /* per layer: NVFP4 with an approximate block adder on one layer */
    FILE *f = fopen(strcat(strcpy(err, g_dir), "/cfg.json"), "w");
    cr_assert(f);
    fprintf(f, "{\"default\": {\"format\": \"nvfp4\"}, \"layers\": [{\"match\": \"*fc1*\", "
               "\"mul\": \"fpmul_drum\", \"params\": {\"k\": 3}, \"block_add\": \"fpadd_loa\", "
               "\"block_add_params\": {\"k\": 5}, \"block_acc_format\": \"fp16\"}]}\n");
    fclose(f);
    rc = sh(err, sizeof err, "'%s' run '%s' --data '%s' --limit 6 --config '%s/cfg.json'",
            g_axlut, g_lenet, g_lenet_data, g_dir);
    cr_assert_eq(rc, 0, "%s", err);
    o = file("out.txt");
    cr_expect(strstr(o, "fpmul_drum(k=3) e2m1 x e2m1 -> fp32") &&
                  strstr(o, "blocks nvfp4 x nvfp4 of 16, block sum fpadd_loa on fp16") &&
                  strstr(o, "blocks nvfp4 x nvfp4 of 16, block sum fp32"),
              "%s", o);
}

/* A table for a block format: recorded, shown, and the same outputs as
 * the design it was generated from. */
Test(cli_block_run, table_for_a_block_format)
{
    char err[2048];
    int rc = sh(err, sizeof err, "'%s' gen fpmul_mitchell --format mxfp6e2m3 -o '%s/t.h5'",
                g_axlut, g_dir);
    cr_assert_eq(rc, 0, "%s", err);
    rc = sh(err, sizeof err, "'%s' info '%s/t.h5'", g_axlut, g_dir);
    cr_assert_eq(rc, 0, "%s", err);
    const char *o = file("out.txt");
    cr_expect(strstr(o, "e2m3 x e2m3 -> fp32") &&
                  strstr(o, "serves the element products of block format mxfp6e2m3"),
              "%s", o);
    rc = sh(err, sizeof err, "'%s' info --json '%s/t.h5'", g_axlut, g_dir);
    cr_assert_eq(rc, 0, "%s", err);
    cr_expect(strstr(file("out.txt"), "\"block_format\": \"mxfp6e2m3\""), "%s",
              file("out.txt"));
    const char *how[] = {"'%s/t.h5'", "fpmul_mitchell"};
    char outs[2][64];
    for (int i = 0; i < 2; i++) {
        char mul[300];
        snprintf(mul, sizeof mul, how[i], g_dir);
        snprintf(outs[i], sizeof outs[i], "y%d.h5", i);
        rc = sh(err, sizeof err, "'%s' run '%s' --data '%s' --limit 5 --format mxfp6e2m3 --mul "
                "%s --quiet --save-outputs '%s/%s'", g_axlut, g_lenet, g_lenet_data, mul, g_dir,
                outs[i]);
        cr_assert_eq(rc, 0, "%s", err);
    }
    rc = sh(err, sizeof err, "/usr/bin/python3 -c \"import h5py,numpy,sys; "
            "a=h5py.File(sys.argv[1]); b=h5py.File(sys.argv[2]); k=[]; "
            "a.visititems(lambda n, o: k.append(n) if isinstance(o, h5py.Dataset) else None); "
            "assert k, 'no datasets'; "
            "sys.exit(0 if all(numpy.array_equal(a[x][()], b[x][()]) for x in k) else 1)\" "
            "'%s/y0.h5' '%s/y1.h5'", g_dir, g_dir);
    cr_expect_eq(rc, 0, "the table and the design differ: %s", err);
}

/* Block formats in a sweep: every point the agreement, output SNR (and
 * top-1 where the data has labels) that `run` reports for the same format
 * and multiplier. */
Test(cli_block_run, sweep_over_block_formats)
{
    char err[2048];
    int rc = sh(err, sizeof err, "'%s' sweep '%s' --data '%s' --limit 6 --formats mxfp4,nvfp4 "
                "--designs mul_exact,fpmul_mitchell -o '%s/sw' --quiet", g_axlut, g_lenet,
                g_lenet_data, g_dir);
    cr_assert_eq(rc, 0, "%s", err);
    const char *fmts[] = {"mxfp4", "nvfp4"}, *muls[] = {"mul_exact", "fpmul_mitchell"};
    for (int i = 0; i < 4; i++) {
        const char *fmt = fmts[i / 2], *mul = muls[i % 2];
        rc = sh(err, sizeof err, "'%s' run '%s' --data '%s' --limit 6 --format %s --mul %s "
                "--quiet --report '%s/r%d.json'", g_axlut, g_lenet, g_lenet_data, fmt, mul,
                g_dir, i);
        cr_assert_eq(rc, 0, "%s", err);
        rc = sh(err, sizeof err, "/usr/bin/python3 -c \"import csv,json,math,sys; "
                "rows=[r for r in csv.DictReader(open(sys.argv[1])) if r['format']==sys.argv[3] "
                "and r['design']==sys.argv[4]]; assert len(rows)==1, rows; r=rows[0]; "
                "j=json.load(open(sys.argv[2])); "
                "ok=(j['top1'] is None or abs(float(r['top1'])-j['top1'])<1e-6) and "
                "abs(float(r['agreement'])-"
                "j['agreement'])<1e-6 and abs(float(r['output_snr_db'])-j['output_error']"
                "['snr_db'])<1e-3; sys.exit(0 if ok else 1)\" '%s/sw.csv' '%s/r%d.json' %s %s",
                g_dir, g_dir, i, fmt, mul);
        cr_expect_eq(rc, 0, "%s %s: the sweep's point differs from run: %s", fmt, mul, err);
    }
}

Test(cli_block_run, bad_input_exits_2_with_one_line)
{
    static const char *const cases[][2] = {
        {"--format mxfp8 --format-w nvfp4", "one block size"},
        {"--format mxfp4 --format-w e2m1", "both operands"},
        {"--format mxint8 --wscale per-tensor", "own block scales"},
        {"--format mxfp8 --ascale dynamic", "own block scales"},
        {"--format mxfp4 --order pairwise", "sequential"},
        {"--format mxfp4 --round stochastic", "nearest even"},
        {"--format mxfp4 --block-acc-format fp16", "block adder"},
        {"--format mxfp4 --block-add nosuch", "nosuch"},
    };
    char err[2048];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = sh(err, sizeof err, "'%s' run '%s' --data '%s' --limit 2 --report '%s/r.json' %s",
                    g_axlut, g_lenet, g_lenet_data, g_dir, cases[i][0]);
        cr_expect_eq(rc, 2, "%s: exit %d", cases[i][0], rc);
        cr_expect(lines(err) == 1 && strstr(err, cases[i][1]) && strstr(err, "layer"),
                  "%s: %s", cases[i][0], err);
        cr_expect(!exists("r.json"), "%s: a report was written", cases[i][0]);
    }
    int rc = sh(err, sizeof err, "'%s' gen fpmul_mitchell --format mxfp4 --format-b nvfp4 -o "
                "'%s/t.h5'", g_axlut, g_dir);
    cr_expect_eq(rc, 2, "exit %d", rc);
    cr_expect(lines(err) == 1 && strstr(err, "one block format"), "%s", err);
    cr_expect(!exists("t.h5"));
}
