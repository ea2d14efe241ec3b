/* Exit statuses through the command line: bad input (an empty dataset,
 * unreadable labels, an array attribute, a design that is not a C file, a
 * device instead of a file, a partial raw value) exits 2 with one line
 * naming the file and nothing of HDF5's own; a huge --batch runs; and
 * `quantize --decode` turns codes into values. */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"
#include "model_fixtures.h"

static void setup(void) { e2e_setup("/tmp/axl_exit_XXXXXX"); }

TestSuite(cli_exit, .init = setup, .fini = e2e_teardown, .timeout = 300);

static const char *in_dir(const char *name) { return path_in(g_dir, name); }

/* Runs a shell command (stdout to g_dir/out.bin); its exit status, stderr in err. */
#define sh(err, cap, ...) e2e_sh("out.bin", err, cap, __VA_ARGS__)

static int lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* A lenet dataset of n samples: float32 inputs, or uint8 with a scale of
 * scale_len values; labels as integers or as strings. */
static void write_dataset(const char *path, hsize_t n, int scale_len, int string_labels)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(f >= 0);
    hsize_t dims[4] = {n, 1, 28, 28};
    hid_t sp = H5Screate_simple(4, dims, NULL);
    hid_t ds = H5Dcreate2(f, "inputs", scale_len ? H5T_STD_U8LE : H5T_IEEE_F32LE, sp,
                          H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(ds >= 0);
    if (n) {
        float *v = calloc(n * 784, sizeof *v);
        cr_assert(H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
        free(v);
    }
    if (scale_len) {
        double vals[4] = {0.1, 0.2, 0.3, 0.4}, off = 0;
        hsize_t k = (hsize_t)scale_len;
        hid_t as = H5Screate_simple(1, &k, NULL), ss = H5Screate(H5S_SCALAR);
        hid_t a = H5Acreate2(ds, "scale", H5T_IEEE_F64LE, as, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a, H5T_NATIVE_DOUBLE, vals);
        H5Aclose(a);
        a = H5Acreate2(ds, "offset", H5T_IEEE_F64LE, ss, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a, H5T_NATIVE_DOUBLE, &off);
        H5Aclose(a);
        H5Sclose(as);
        H5Sclose(ss);
    }
    H5Dclose(ds);
    H5Sclose(sp);
    if (n) {
        hid_t ls = H5Screate_simple(1, &n, NULL);
        hid_t t = string_labels ? H5Tcopy(H5T_C_S1) : H5Tcopy(H5T_STD_I64LE);
        if (string_labels)
            H5Tset_size(t, 8);
        char *buf = calloc(n, 8);
        hid_t l = H5Dcreate2(f, "labels", t, ls, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        cr_assert(H5Dwrite(l, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
        free(buf);
        H5Dclose(l);
        H5Tclose(t);
        H5Sclose(ls);
    }
    H5Fclose(f);
}

/* exit 2, one line that names `names`, no report */
static void expect_bad_input(int rc, const char *err, const char *names, const char *what)
{
    cr_expect_eq(rc, 2, "%s: exit %d: %s", what, rc, err);
    cr_expect_eq(lines(err), 1, "%s: not one line: %s", what, err);
    cr_expect(strstr(err, names), "%s: '%s' not named in: %s", what, names, err);
    cr_expect(!strstr(err, "HDF5-DIAG"), "%s: HDF5 printed its own: %s", what, err);
    cr_expect_neq(access(in_dir("rep.json"), F_OK), 0, "%s: left a report", what);
}

Test(cli_exit, bad_datasets_exit_2_with_one_line)
{
    char err[8192];
    const char *empty = in_dir("empty.h5");
    write_dataset(empty, 0, 0, 0);
    int rc = sh(err, sizeof err, "'%s' run '%s' --data '%s' --quiet --report '%s'", g_axlut,
                g_lenet, empty, in_dir("rep.json"));
    expect_bad_input(rc, err, empty, "empty dataset");

    const char *strl = in_dir("string_labels.h5");
    write_dataset(strl, 3, 0, 1);
    rc = sh(err, sizeof err, "'%s' run '%s' --data '%s' --quiet --report '%s'", g_axlut,
            g_lenet, strl, in_dir("rep.json"));
    expect_bad_input(rc, err, strl, "string labels");

    const char *arr = in_dir("array_scale.h5");
    write_dataset(arr, 2, 4, 0);
    rc = sh(err, sizeof err, "'%s' run '%s' --data '%s' --quiet --report '%s'", g_axlut,
            g_lenet, arr, in_dir("rep.json"));
    expect_bad_input(rc, err, arr, "array scale");
    cr_expect(strstr(err, "'scale'"), "%s", err);

    rc = sh(err, sizeof err, "'%s' sweep '%s' --data '%s' --formats bf16 --designs mul_exact "
            "-o '%s' --quiet", g_axlut, g_lenet, empty, in_dir("sw"));
    cr_expect_eq(rc, 2, "sweep over an empty dataset: exit %d: %s", rc, err);
    cr_expect(strstr(err, empty), "%s", err);
}

Test(cli_exit, huge_batch_runs_the_samples_there_are)
{
    char err[4096];
    int rc = sh(err, sizeof err, "'%s' run '%s' --data '%s' --quiet --batch 2305843009213693952 "
                "--report '%s'", g_axlut, g_lenet, g_lenet_data, in_dir("big.json"));
    cr_expect_eq(rc, 0, "exit %d: %s", rc, err);
    rc = sh(err, sizeof err, "grep -q '\"samples\": 2' '%s'", in_dir("big.json"));
    cr_expect_eq(rc, 0, "the report does not hold 2 samples");
}

Test(cli_exit, devices_and_non_c_designs_exit_2)
{
    char err[4096];
    /* a design that is endless: must be refused, not read (timeout: a hang) */
    const char *zc = in_dir("zero.c");
    cr_assert_eq(symlink("/dev/zero", zc), 0);
    int rc = sh(err, sizeof err, "timeout 60 '%s' gen '%s' --format uint8 -o '%s'", g_axlut, zc,
                in_dir("t.h5"));
    expect_bad_input(rc, err, zc, "gen /dev/zero");
    cr_expect_neq(access(in_dir("t.h5"), F_OK), 0);

    const char *txt = in_dir("notes.txt");
    FILE *f = fopen(txt, "w");
    fputs("not C\n", f);
    fclose(f);
    rc = sh(err, sizeof err, "'%s' gen '%s' --format uint8 -o '%s'", g_axlut, txt,
            in_dir("t.h5"));
    expect_bad_input(rc, err, txt, "gen on a text file");

    rc = sh(err, sizeof err, "timeout 60 '%s' run /dev/zero --data '%s' --quiet --report '%s'",
            g_axlut, g_lenet_data, in_dir("rep.json"));
    expect_bad_input(rc, err, "/dev/zero", "run /dev/zero");
    rc = sh(err, sizeof err, "timeout 60 '%s' run '%s' --data /dev/zero --quiet --report '%s'",
            g_axlut, g_lenet, in_dir("rep.json"));
    expect_bad_input(rc, err, "/dev/zero", "run --data /dev/zero");
}

Test(cli_exit, quantize_raw_refuses_a_partial_value)
{
    char err[4096];
    /* 1.0f and three bytes more: the whole value is written, then exit 2 */
    int rc = sh(err, sizeof err, "printf '\\000\\000\\200\\077abc' | '%s' quantize bf16 --raw",
                g_axlut);
    cr_expect_eq(rc, 2, "exit %d: %s", rc, err);
    cr_expect_eq(lines(err), 1, "%s", err);
    cr_expect(strstr(err, "partial"), "%s", err);
    rc = sh(err, sizeof err, "test \"$(od -An -tx4 '%s/out.bin' | tr -d ' ')\" = 00003f80",
            g_dir);
    cr_expect_eq(rc, 0, "the whole value's code is not 0x3f80");
    /* a whole stream is fine */
    rc = sh(err, sizeof err, "printf '\\000\\000\\200\\077' | '%s' quantize bf16 --raw", g_axlut);
    cr_expect_eq(rc, 0, "exit %d: %s", rc, err);
}

Test(cli_exit, quantize_decode_prints_values_of_codes)
{
    char err[4096];
    int rc = sh(err, sizeof err, "'%s' quantize e4m3 --decode 0x38 0x3c 64 0", g_axlut);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, err);
    char out[512] = "", word[4][2][32];
    FILE *f = fopen(in_dir("out.bin"), "r");
    cr_assert(f);
    cr_assert(fgets(out, sizeof out, f)); /* the header */
    for (int i = 0; i < 4; i++)
        cr_assert_eq(fscanf(f, "%31s %31s", word[i][0], word[i][1]), 2);
    fclose(f);
    static const char *const want[4][2] = {{"0x38", "1"}, {"0x3c", "1.5"}, {"0x40", "2"},
                                           {"0x00", "0"}};
    for (int i = 0; i < 4; i++)
        cr_expect(!strcmp(word[i][0], want[i][0]) && !strcmp(word[i][1], want[i][1]),
                  "line %d: %s %s, want %s %s", i, word[i][0], word[i][1], want[i][0],
                  want[i][1]);
    /* a code wider than the format, and text: exit 2, one line */
    rc = sh(err, sizeof err, "'%s' quantize e4m3 --decode 0x100", g_axlut);
    cr_expect_eq(rc, 2, "exit %d: %s", rc, err);
    cr_expect(lines(err) == 1 && strstr(err, "0x100"), "%s", err);
    rc = sh(err, sizeof err, "'%s' quantize e4m3 --decode 1.5", g_axlut);
    cr_expect_eq(rc, 2, "exit %d: %s", rc, err);
    /* --raw --decode: uint32 codes in, float32 values out (0x3c: 1.5f) */
    rc = sh(err, sizeof err, "printf '\\074\\000\\000\\000' | '%s' quantize e4m3 --raw --decode",
            g_axlut);
    cr_expect_eq(rc, 0, "exit %d: %s", rc, err);
    rc = sh(err, sizeof err, "test \"$(od -An -tx4 '%s/out.bin' | tr -d ' ')\" = 3fc00000",
            g_dir);
    cr_expect_eq(rc, 0, "--raw --decode of 0x3c is not 1.5f");
    rc = sh(err, sizeof err, "printf '\\000\\001\\000\\000' | '%s' quantize e4m3 --raw --decode",
            g_axlut);
    cr_expect_eq(rc, 2, "a raw code too wide: exit %d: %s", rc, err);
}
