/* Reports (issue 14, class 7): text from files reaches JSON and HDF5 intact.
 * A model path with quotes, commas and 1,500 characters is one row of the
 * sweep's CSV and JSON, and resuming finds it (no duplicate); a path with a
 * line break is refused; layers whose names repeat or are not UTF-8 stay in
 * --save-layers and --report; `info --json` prints valid UTF-8 for a table
 * whose citation is not.  The JSON is parsed with jansson, which refuses
 * invalid UTF-8. */
#define _GNU_SOURCE /* mkdtemp, memmem */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "e2e.h"
#include "../file_bytes.h"

static void setup(void) { e2e_setup("/tmp/axl_reports_XXXXXX"); }

TestSuite(cli_reports, .init = setup, .fini = e2e_teardown, .timeout = 600);

#define sh(err, cap, ...) e2e_sh("out.txt", err, cap, __VA_ARGS__)

static char g_model[1200], g_data[1200];

static void fixtures(void)
{
    snprintf(g_model, sizeof g_model, "%s/tests/data/models/resnet_bn.onnx", g_src);
    snprintf(g_data, sizeof g_data, "%s/tests/data/models/resnet_bn.h5", g_src);
}

/* Replaces the one occurrence of what (len bytes) in b by with (same length). */
static void patch(unsigned char *b, size_t n, const char *what, const char *with, size_t len)
{
    unsigned char *hit = memmem(b, n, what, len);
    cr_assert(hit, "fixture changed: '%s' not found", what + 2);
    cr_assert(!memmem(hit + 1, n - (size_t)(hit + 1 - b), what, len), "'%s' twice", what + 2);
    memcpy(hit, with, len);
}

static json_t *load_json(const char *path)
{
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    cr_assert(j, "%s: not valid JSON (or not UTF-8): %s at line %d", path, e.text, e.line);
    return j;
}

Test(cli_reports, sweep_paths_with_quotes_commas_and_length_are_one_row_and_resume)
{
    fixtures();
    char err[8192], dir[2200], m1[2400], m2[2400], out[2400], csv[2400], json[2400];
    /* a/we"ird,dir/xxx.../xxx.../m"odel.onnx: about 1,500 characters */
    snprintf(dir, sizeof dir, "%s/we\"ird,dir", g_dir);
    cr_assert_eq(mkdir(dir, 0700), 0);
    snprintf(m2, sizeof m2, "%s/b.onnx", dir);
    for (int i = 0; i < 6; i++) {
        size_t l = strlen(dir);
        dir[l] = '/';
        memset(dir + l + 1, 'x', 240);
        dir[l + 241] = 0;
        cr_assert_eq(mkdir(dir, 0700), 0);
    }
    snprintf(m1, sizeof m1, "%s/m\"odel.onnx", dir);
    size_t n;
    unsigned char *b = slurp(g_model, &n);
    spill(m1, b, n);
    spill(m2, b, n);
    free(b);
    snprintf(out, sizeof out, "%s/sw", g_dir);
    snprintf(csv, sizeof csv, "%s.csv", out);
    snprintf(json, sizeof json, "%s.json", out);
    for (int pass = 0; pass < 2; pass++) {
        int rc = sh(err, sizeof err,
                    "'%s' sweep '%s' '%s' --data '%s' --formats e4m3 --designs mul_exact -o '%s'",
                    g_axlut, m1, m2, g_data, out);
        cr_assert_eq(rc, 0, "pass %d: %s", pass, err);
        char said[4096] = "", op[2400];
        snprintf(op, sizeof op, "%s/out.txt", g_dir);
        FILE *o = fopen(op, "r");
        cr_assert(o);
        said[fread(said, 1, sizeof said - 1, o)] = 0;
        fclose(o);
        cr_assert(strstr(said, pass ? "(2 from an earlier run)" : "(0 from an earlier run)"),
                  "pass %d: %s", pass, said);
    }
    json_t *rows = load_json(json);
    cr_assert_eq(json_array_size(rows), 2, "rows: %zu", json_array_size(rows));
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(rows, 0), "model")), m1);
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(rows, 1), "model")), m2);
    json_decref(rows);
    /* the header and two rows, nothing appended by the resumed run */
    FILE *f = fopen(csv, "r");
    cr_assert(f);
    int lines = 0;
    for (int c; (c = fgetc(f)) != EOF;)
        lines += c == '\n';
    fclose(f);
    cr_expect_eq(lines, 3);
}

Test(cli_reports, sweep_refuses_a_model_path_with_a_line_break)
{
    fixtures();
    char err[4096], m[400], out[400], csv[420];
    snprintf(m, sizeof m, "%s/two\nlines.onnx", g_dir);
    size_t n;
    unsigned char *b = slurp(g_model, &n);
    spill(m, b, n);
    free(b);
    snprintf(out, sizeof out, "%s/nl", g_dir);
    snprintf(csv, sizeof csv, "%s.csv", out);
    int rc = sh(err, sizeof err,
                "'%s' sweep \"$(printf '%%s/two\\nlines.onnx' '%s')\" --data '%s' --formats e4m3 "
                "--designs mul_exact -o '%s'",
                g_axlut, g_dir, g_data, out);
    cr_assert_eq(rc, 2, "exit %d: %s", rc, err);
    cr_assert(strstr(err, "control character"), "%s", err);
    cr_assert(access(csv, F_OK) != 0, "a CSV was left behind");
}

Test(cli_reports, layers_with_repeated_or_non_utf8_names_stay_in_outputs_and_report)
{
    fixtures();
    char err[8192], model[400], outs[400], rep[400];
    snprintf(model, sizeof model, "%s/names.onnx", g_dir);
    snprintf(outs, sizeof outs, "%s/o.h5", g_dir);
    snprintf(rep, sizeof rep, "%s/r.json", g_dir);
    size_t n;
    unsigned char *b = slurp(g_model, &n);
    /* node names (protobuf field 3, 18 bytes): conv2 of layer1 renamed
     * conv1 (a repeat), conv1 of layer2 given two bytes that are not UTF-8 */
    patch(b, n, "\x1a\x12/layer1/conv2/Conv", "\x1a\x12/layer1/conv1/Conv", 20);
    patch(b, n, "\x1a\x12/layer2/conv1/Conv", "\x1a\x12/layer2/co\xe9\xff" "1/Conv", 20);
    spill(model, b, n);
    free(b);
    int rc = sh(err, sizeof err,
                "'%s' run '%s' --data '%s' --format e4m3 --save-outputs '%s' --save-layers "
                "--report '%s'",
                g_axlut, model, g_data, outs, rep);
    cr_assert_eq(rc, 0, "%s", err);
    json_t *r = load_json(rep);
    json_t *layers = json_object_get(r, "layers");
    int conv1 = 0, fffd = 0;
    for (size_t i = 0; i < json_array_size(layers); i++) {
        const char *nm = json_string_value(json_object_get(json_array_get(layers, i), "name"));
        cr_assert(nm);
        conv1 += !strcmp(nm, "/layer1/conv1/Conv");
        fffd += !strcmp(nm, "/layer2/co\xef\xbf\xbd\xef\xbf\xbd" "1/Conv");
    }
    cr_expect_eq(json_array_size(layers), 7, "%zu layers in the report", json_array_size(layers));
    cr_expect_eq(conv1, 2, "the repeated name is in the report %d times", conv1);
    cr_expect_eq(fffd, 1, "the non-UTF-8 name is in the report %d times", fffd);
    json_decref(r);
    hid_t f = H5Fopen(outs, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(f >= 0);
    cr_expect(H5Lexists(f, "/layers/|layer1|conv1|Conv", H5P_DEFAULT) > 0);
    cr_expect(H5Lexists(f, "/layers/|layer1|conv1|Conv#2", H5P_DEFAULT) > 0,
              "the second layer of a repeated name is missing");
    cr_expect(H5Lexists(f, "/layers/|layer2|co\xef\xbf\xbd\xef\xbf\xbd" "1|Conv", H5P_DEFAULT) > 0,
              "the layer whose name is not UTF-8 is missing");
    H5Fclose(f);
}

Test(cli_reports, info_json_is_utf8_for_a_citation_that_is_not)
{
    char err[8192], t[400], outp[400];
    snprintf(t, sizeof t, "%s/t.h5", g_dir);
    cr_assert_eq(sh(err, sizeof err, "cd '%s' && '%s' gen mul_exact --format int4 -o '%s'", g_dir,
                    g_axlut, t),
                 0, "%s", err);
    size_t n;
    unsigned char *b = slurp(t, &n);
    /* the citation, a variable-length string: its first byte made Latin-1 */
    patch(b, n, "IEEE 754-2019, correctly", "\xc9" "EEE 754-2019, correctly", 24);
    spill(t, b, n);
    free(b);
    int rc = e2e_sh("info.json", err, sizeof err, "'%s' info --json '%s'", g_axlut, t);
    cr_assert_eq(rc, 0, "%s", err);
    snprintf(outp, sizeof outp, "%s/info.json", g_dir);
    json_t *j = load_json(outp);
    const char *cite = json_string_value(json_object_get(j, "citation"));
    cr_assert(cite && !strncmp(cite, "\xef\xbf\xbd" "EEE 754-2019", 15), "citation: %s", cite);
    json_decref(j);
}
