/* axlut run end to end: exact mode against PyTorch's outputs through the
 * command line, the report and the saved outputs, per-layer configs that
 * change only their layers, and the bad inputs, each with its message,
 * exit status 2 and no report file. */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "axlut/run.h"
#include "e2e.h"
#include "model_fixtures.h"

static void setup(void) { e2e_setup("/tmp/axl_run_XXXXXX"); }

TestSuite(cli_run, .init = setup, .fini = e2e_teardown, .timeout = 300);

/* Runs a shell command; returns its exit status, stderr in err. */
#define sh(err, cap, ...) e2e_sh(NULL, err, cap, __VA_ARGS__)

static float *read_f32(const char *path, const char *dset, long long *n)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(f >= 0, "cannot open %s", path);
    hid_t d = H5Dopen2(f, dset, H5P_DEFAULT);
    cr_assert(d >= 0, "%s has no %s", path, dset);
    hid_t sp = H5Dget_space(d);
    *n = H5Sget_simple_extent_npoints(sp);
    float *v = malloc((size_t)*n * sizeof *v);
    cr_assert(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    H5Sclose(sp);
    H5Dclose(d);
    H5Fclose(f);
    return v;
}

static int exists(const char *dir, const char *name)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

/* Exact mode (no MAC options) equals PyTorch within 1e-4 of the output's
 * largest magnitude, for every model fixture, through the command line. */
Test(cli_run, exact_mode_matches_pytorch_through_cli)
{
    static const char *models[] = {"lenet", "resnet_bn", "mobilenetv2_block", "transformer_block"};
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        char err[2048], model[1200], data[1200], out[200];
        snprintf(model, sizeof model, "%s/tests/data/models/%s.onnx", g_src, models[i]);
        snprintf(data, sizeof data, "%s/tests/data/models/%s.h5", g_src, models[i]);
        snprintf(out, sizeof out, "%s/%s_out.h5", g_dir, models[i]);
        int rc = sh(err, sizeof err, "'%s' run '%s' --data '%s' --save-outputs '%s' --quiet",
                    g_axlut, model, data, out);
        cr_assert_eq(rc, 0, "%s: exit %d: %s", models[i], rc, err);
        /* the fixture's output dataset has the model's output name */
        hid_t f = H5Fopen(data, H5F_ACC_RDONLY, H5P_DEFAULT);
        hid_t gr = H5Gopen2(f, "outputs", H5P_DEFAULT);
        char name[256];
        H5Lget_name_by_idx(gr, ".", H5_INDEX_NAME, H5_ITER_INC, 0, name, sizeof name, H5P_DEFAULT);
        H5Gclose(gr);
        H5Fclose(f);
        char ds[300];
        snprintf(ds, sizeof ds, "/outputs/%s", name);
        long long n1, n2;
        float *want = read_f32(data, ds, &n1), *got = read_f32(out, ds, &n2);
        cr_assert_eq(n1, n2, "%s: %lld outputs, want %lld", models[i], n2, n1);
        double mx = 0, err_max = 0;
        for (long long k = 0; k < n1; k++) {
            mx = fmax(mx, fabs(want[k]));
            err_max = fmax(err_max, fabs((double)got[k] - want[k]));
        }
        cr_expect(err_max <= 1e-4 * mx, "%s: max error %g, largest output %g", models[i], err_max,
                  mx);
        free(want);
        free(got);
    }
}

/* A config that approximates one layer changes it and what follows, and
 * leaves every layer before it bit-identical to the exact network. */
Test(cli_run, per_layer_config_changes_only_its_layer)
{
    char err[2048];
    const char *model = g_lenet, *data = g_lenet_data, *cfg = path_in(g_dir, "cfg.json");
    const char *ex = path_in(g_dir, "exact.h5"), *ap = path_in(g_dir, "approx.h5");
    const char *rep = path_in(g_dir, "r.json");
    FILE *f = fopen(cfg, "w");
    fputs("{\"layers\": [{\"match\": \"/fc1/Gemm\", \"mul\": \"fpmul_mitchell\", "
          "\"format\": \"e4m3\"}]}\n", f);
    fclose(f);
    cr_assert_eq(sh(err, sizeof err, "'%s' run '%s' --data '%s' --save-outputs '%s' --save-layers --quiet",
                    g_axlut, model, data, ex), 0, "%s", err);
    cr_assert_eq(sh(err, sizeof err, "'%s' run '%s' --data '%s' --config '%s' --save-outputs '%s' "
                    "--save-layers --report '%s' --quiet", g_axlut, model, data, cfg, ap, rep),
                 0, "%s", err);
    static const char *before[] = {"/layers/|conv1|Conv", "/layers/|conv2|Conv",
                                   "/layers/|flatten|Flatten"};
    for (size_t i = 0; i < 3; i++) {
        long long n1, n2;
        float *a = read_f32(ex, before[i], &n1), *b = read_f32(ap, before[i], &n2);
        cr_assert_eq(n1, n2);
        cr_expect_eq(memcmp(a, b, (size_t)n1 * sizeof *a), 0, "%s changed", before[i]);
        free(a);
        free(b);
    }
    long long n1, n2;
    float *a = read_f32(ex, "/layers/|fc1|Gemm", &n1), *b = read_f32(ap, "/layers/|fc1|Gemm", &n2);
    cr_expect_neq(memcmp(a, b, (size_t)n1 * sizeof *a), 0, "fc1 did not change");
    free(a);
    free(b);
    /* the report says which layer is approximate and how */
    cr_assert_eq(sh(err, sizeof err, "/usr/bin/python3 -c \"import json,sys; r=json.load(open('%s')); "
                    "L={l['name']: l for l in r['layers']}; "
                    "assert L['/fc1/Gemm']['approximate'] and L['/fc1/Gemm']['path']=='table', L['/fc1/Gemm']; "
                    "assert not L['/conv1/Conv']['approximate']; "
                    "assert L['/conv1/Conv']['accumulated_error']['snr_db'] is None; "
                    "assert L['/fc1/Gemm']['layer_error']['snr_db'] > 10; "
                    "assert r['samples'] == 2 and 'agreement' in r\"", rep), 0, "%s", err);
}

/* Each bad input: one line naming the problem, exit 2, no report. */
Test(cli_run, bad_inputs_exit_2_without_report)
{
    const char *model = g_lenet, *data = g_lenet_data;
    char txt[200], trunc[200], cfg[200], badcfg[200], wrongdata[200];
    snprintf(txt, sizeof txt, "%s/notamodel.onnx", g_dir);
    snprintf(trunc, sizeof trunc, "%s/trunc.onnx", g_dir);
    snprintf(cfg, sizeof cfg, "%s/unknown_layer.json", g_dir);
    snprintf(badcfg, sizeof badcfg, "%s/bad.json", g_dir);
    snprintf(wrongdata, sizeof wrongdata, "%s/../tests/data/models/resnet_bn.h5", g_dir);
    FILE *f = fopen(txt, "w");
    fputs("this is not an ONNX model\n", f);
    fclose(f);
    char cmd[2600];
    snprintf(cmd, sizeof cmd, "head -c 5000 '%s' > '%s'", model, trunc);
    cr_assert_eq(system(cmd), 0);
    f = fopen(cfg, "w");
    fputs("{\"layers\": [{\"match\": \"/fc9/Gemm\", \"format\": \"e4m3\"}]}", f);
    fclose(f);
    f = fopen(badcfg, "w");
    fputs("{\"default\": {\"format\": \"e4m3\"", f);
    fclose(f);
    char resnet_data[1200];
    snprintf(resnet_data, sizeof resnet_data, "%s/tests/data/models/resnet_bn.h5", g_src);
    struct {
        const char *args, *words;
    } cases[] = {
        {"'/nonexistent/m.onnx' --data '%2$s'", "/nonexistent/m.onnx"},
        {"'%3$s' --data '%2$s'", "notamodel.onnx"},
        {"'%4$s' --data '%2$s'", "trunc.onnx"},
        {"'%1$s' --data '/nonexistent/d.h5'", "/nonexistent/d.h5"},
        {"'%1$s' --data '%7$s'", "shape"},
        {"'%1$s' --data '%2$s' --config '%5$s'", "fc9"},
        {"'%1$s' --data '%2$s' --config '%6$s'", "bad.json"},
        {"'%1$s' --data '%2$s' --format e9m30", "e9m30"},
        {"'%1$s' --data '%2$s' --mul nosuchdesign", "nosuchdesign"},
        {"'%1$s' --data '%2$s' --mul loa", "adder"},
        {"'%1$s' --data '%2$s' --order sideways", "sideways"},
        {"'%1$s'", "--data"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char args[3000], err[2048], rep[200];
        snprintf(rep, sizeof rep, "%s/rep%zu.json", g_dir, i);
        snprintf(args, sizeof args, cases[i].args, model, data, txt, trunc, cfg, badcfg,
                 resnet_data);
        int rc = sh(err, sizeof err, "'%s' run %s --report '%s' --quiet", g_axlut, args, rep);
        cr_expect_eq(rc, 2, "case %zu (%s): exit %d: %s", i, args, rc, err);
        cr_expect(strstr(err, cases[i].words), "case %zu: message lacks '%s': %s", i,
                  cases[i].words, err);
        int lines = 0;
        for (char *p = err; *p; p++)
            lines += *p == '\n';
        cr_expect_eq(lines, 1, "case %zu: %d lines: %s", i, lines, err);
        char name[32];
        snprintf(name, sizeof name, "rep%zu.json", i);
        cr_expect(!exists(g_dir, name), "case %zu left a report", i);
    }
}
