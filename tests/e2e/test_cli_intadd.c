/* Approximate adders in integer layers through the command line: the
 * trained LeNet-5 on Fashion-MNIST with LOA into int32 and int16
 * accumulators (plausible accuracy and per-layer error; int8 products
 * overflowing an int16 register, as they must), and the bad inputs, each
 * with one line, exit status 2 and no report; `axlut gen` of a 32-bit
 * adder refused. */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"

static void setup(void) { e2e_setup("/tmp/axl_intadd_XXXXXX"); }

TestSuite(cli_intadd, .init = setup, .fini = e2e_teardown, .timeout = 600);

#define sh(err, cap, ...) e2e_sh(NULL, err, cap, __VA_ARGS__)

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert(f, "cannot open %s", path);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* The number after "key": in text from position from. */
static double num_after(const char *text, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(text, pat);
    cr_assert(p, "no %s in the report", key);
    return strtod(p + strlen(pat), NULL);
}

/* The layer error's SNR of the layer named name. */
static double layer_snr(const char *text, const char *name)
{
    char pat[128];
    snprintf(pat, sizeof pat, "\"name\": \"%s\"", name);
    const char *p = strstr(text, pat);
    cr_assert(p, "no layer %s in the report", name);
    p = strstr(p, "\"layer_error\"");
    cr_assert(p);
    return num_after(p, "snr_db");
}

Test(cli_intadd, lenet5_fmnist_with_loa_accumulators)
{
    char model[1200], data[300], err[2048];
    snprintf(model, sizeof model, "%s/models/lenet5_fmnist.onnx", g_src);
    snprintf(data, sizeof data, "%s/fm.h5", g_dir);
    if (access(model, R_OK) != 0 || access("/usr/share/datasets/fashion-mnist", R_OK) != 0)
        cr_skip_test("the trained LeNet-5 or the Fashion-MNIST files are not here");
    int rc = sh(err, sizeof err, "/usr/bin/python3 '%s/tools/make_dataset.py' --limit 400 -o '%s'",
                g_src, data);
    cr_assert_eq(rc, 0, "make_dataset: %s", err);
    static const struct {
        const char *args;
        double min_top1, min_snr_conv1, max_snr_conv1;
    } runs[] = {
        /* int8 x int8 products into int32 through LOA (k = 4): a few low
         * bits per add approximate, within a point of exact */
        {"--format int8 --add loa --add-param k=4 --acc-format int32", 0.85, 35, 1e9},
        /* int6 operands: sums of 25..400 products of |p| <= 1024 fit int16 */
        {"--format int6 --add loa --add-param k=4 --acc-format int16", 0.80, 20, 1e9},
        /* int8 products (up to 16129) overflow an int16 register within a
         * few adds of conv1's 25: the wrap destroys the layer */
        {"--format int8 --add loa --add-param k=4 --acc-format int16", 0.0, -1e9, 10},
    };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        char rep[300];
        snprintf(rep, sizeof rep, "%s/r%zu.json", g_dir, i);
        rc = sh(err, sizeof err, "'%s' run '%s' --data '%s' %s --report '%s' --quiet", g_axlut,
                model, data, runs[i].args, rep);
        cr_assert_eq(rc, 0, "%s: exit %d: %s", runs[i].args, rc, err);
        const char *t = slurp(rep);
        double top1 = num_after(t, "top1"), exact = num_after(t, "exact_top1");
        double snr = layer_snr(t, "/conv1/Conv");
        cr_expect(strstr(t, "add=loa on int"), "%s: the configuration is not in the report",
                  runs[i].args);
        cr_expect(exact > 0.85, "exact LeNet-5 at %g", exact);
        cr_expect(top1 >= runs[i].min_top1, "%s: top-1 %g (exact %g)", runs[i].args, top1, exact);
        cr_expect(snr >= runs[i].min_snr_conv1 && snr <= runs[i].max_snr_conv1,
                  "%s: conv1 SNR %g dB", runs[i].args, snr);
    }
}

Test(cli_intadd, bad_inputs_exit_2_with_one_line)
{
    static const struct {
        const char *args, *words;
    } cases[] = {
        {"--format int8 --add fpadd_loa --acc-format int16", "takes floating"},
        {"--format int8 --add loa --acc-format int8", "narrower than the products"},
        {"--format uint8 --add loa --acc-format int16", "at least int17"},
        {"--format int8 --add loa --acc-format int40", "2 <= N <= 32"},
        {"--format int8 --add loa --acc-format uint16", "signed int<N>"},
        {"--format int8 --add loa --acc-format fp16", "signed int<N>"},
        {"--format int8 --add loa --acc-format int16x", "int16x"},
        {"--format int8 --acc-format int16", "needs an adder design"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[2048], rep[300];
        snprintf(rep, sizeof rep, "%s/bad%zu.json", g_dir, i);
        int rc = sh(err, sizeof err, "'%s' run '%s' --data '%s' %s --report '%s' --quiet", g_axlut,
                    g_lenet, g_lenet_data, cases[i].args, rep);
        cr_expect_eq(rc, 2, "case %zu (%s): exit %d: %s", i, cases[i].args, rc, err);
        cr_expect(strstr(err, cases[i].words), "case %zu: message lacks '%s': %s", i,
                  cases[i].words, err);
        int lines = 0;
        for (char *p = err; *p; p++)
            lines += *p == '\n';
        cr_expect_eq(lines, 1, "case %zu: %d lines: %s", i, lines, err);
        cr_expect(access(rep, F_OK) != 0, "case %zu left a report", i);
    }
}

Test(cli_intadd, gen_refuses_a_32_bit_adder)
{
    char err[2048], out[300];
    snprintf(out, sizeof out, "%s/loa32.h5", g_dir);
    int rc = sh(err, sizeof err, "'%s' gen loa --format int32 -o '%s'", g_axlut, out);
    cr_expect_eq(rc, 2, "exit %d: %s", rc, err);
    cr_expect(strstr(err, "no table that wide"), "%s", err);
    cr_expect(strchr(err, '\n') == strrchr(err, '\n'), "one line: %s", err);
    cr_expect(access(out, F_OK) != 0, "a table was written");
}
