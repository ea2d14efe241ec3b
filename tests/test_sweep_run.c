/* The sweep in the library (axl_sweep_*): points, the table cache, results
 * in CSV and JSON, and resuming after an interruption. */
#define _DEFAULT_SOURCE /* mkdtemp, setenv */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "axlut/sweep.h"

static char g_dir[64], g_model[1024], g_data[1024];

static void setup(void)
{
    const char *s = getenv("AXL_SOURCE_DIR");
    cr_assert(s, "AXL_SOURCE_DIR must be set (ctest sets it)");
    snprintf(g_model, sizeof g_model, "%s/tests/data/models/lenet.onnx", s);
    snprintf(g_data, sizeof g_data, "%s/tests/data/models/lenet.h5", s);
    snprintf(g_dir, sizeof g_dir, "/tmp/axl_sweep_XXXXXX");
    cr_assert(mkdtemp(g_dir));
    char cache[128];
    snprintf(cache, sizeof cache, "%s/cache", g_dir);
    setenv("AXL_CACHE_DIR", cache, 1);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    cr_expect_eq(system(cmd), 0);
}

TestSuite(sweep_run, .init = setup, .fini = teardown);

struct seen {
    int points, notices;
};

static void on_point(void *user, size_t i, size_t n, const struct axl_sweep_point *p)
{
    struct seen *s = user;
    cr_expect_lt(i, n);
    cr_expect_str_eq(p->layers, "*");
    s->points++;
}

static void on_notice(void *user, const char *line)
{
    struct seen *s = user;
    cr_expect(strstr(line, "generated the table of"), "%s", line);
    s->notices++;
}

static struct axl_sweep_settings settings(struct seen *seen)
{
    static const char *models[1];
    models[0] = g_model;
    struct axl_sweep_settings s = {.models = models, .nmodels = 1, .data = g_data,
                                   .formats = "e4m3,bf16", .designs = "mul_exact,fpmul_drum:k=4",
                                   .limit = 16, .batch = 8, .on_point = on_point,
                                   .on_notice = on_notice, .user = seen};
    return s;
}

/* Runs a whole sweep into PREFIX.csv/.json; returns the points found done. */
static size_t sweep(const char *prefix, struct seen *seen)
{
    char msg[AXL_MSG_LEN], csv[256], json[256];
    snprintf(csv, sizeof csv, "%s/%s.csv", g_dir, prefix);
    snprintf(json, sizeof json, "%s/%s.json", g_dir, prefix);
    struct axl_sweep_settings s = settings(seen);
    struct axl_sweep *sw;
    cr_assert_eq(axl_sweep_create(&s, &sw, msg), AXL_OK, "%s", msg);
    cr_assert_eq(axl_sweep_count(sw), 4);
    cr_assert_eq(axl_sweep_resume(sw, csv, msg), AXL_OK, "%s", msg);
    size_t done = axl_sweep_done(sw);
    cr_assert_eq(axl_sweep_run(sw, msg), AXL_OK, "%s", msg);
    axl_sweep_free(sw);
    cr_assert_eq(axl_sweep_write_json(csv, json, msg), AXL_OK, "%s", msg);
    return done;
}

/* The CSV's lines without the last column (seconds). */
static int read_rows(const char *prefix, char rows[][512], int max)
{
    char path[256], line[1024];
    snprintf(path, sizeof path, "%s/%s.csv", g_dir, prefix);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    int n = 0;
    while (n < max && fgets(line, sizeof line, f)) {
        char *last = strrchr(line, ',');
        cr_assert_not_null(last);
        *last = '\0';
        snprintf(rows[n++], 512, "%s", line);
    }
    fclose(f);
    return n;
}

Test(sweep_run, points_csv_json_and_the_table_cache)
{
    struct seen seen = {0, 0};
    cr_assert_eq(sweep("a", &seen), 0);
    cr_expect_eq(seen.points, 4);
    cr_expect_eq(seen.notices, 2, "one table per design on e4m3 (bf16 has none)");
    char rows[8][512];
    cr_assert_eq(read_rows("a", rows, 8), 5);
    cr_expect_str_eq(rows[0], "model,design,format,acc_format,adder,layers,samples,top1,"
                              "exact_top1,agreement,worst_layer_snr_db,output_snr_db");
    cr_expect(strstr(rows[3], ",\"fpmul_drum(k=4)\",e4m3fn,") == NULL &&
                  strstr(rows[2], "fpmul_drum(k=4),e4m3fn,fp32,,*,2,nan,nan,"),
              "%s | %s", rows[2], rows[3]);

    char path[256];
    snprintf(path, sizeof path, "%s/a.json", g_dir);
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    cr_assert_not_null(j, "%s", err.text);
    cr_assert_eq(json_array_size(j), 4);
    json_t *r = json_array_get(j, 1);
    const char *key;
    json_t *v;
    int k = 0;
    static const char *order[] = {"model", "design", "format", "acc_format", "adder", "layers",
                                  "samples", "top1", "exact_top1", "agreement",
                                  "worst_layer_snr_db", "output_snr_db", "seconds"};
    json_object_foreach(r, key, v)
    {
        cr_expect_str_eq(key, order[k]);
        k++;
    }
    cr_expect_eq(k, 13);
    cr_expect_str_eq(json_string_value(json_object_get(r, "design")), "fpmul_drum(k=4)");
    cr_expect(json_is_integer(json_object_get(r, "samples")));
    cr_expect_eq(json_integer_value(json_object_get(r, "samples")), 2, "the dataset's two");
    cr_expect(json_is_null(json_object_get(r, "top1")), "no labels: nan in the CSV, null here");
    cr_expect(json_is_real(json_object_get(r, "agreement")));
    json_decref(j);

    /* a second sweep finds its tables in the cache */
    seen.notices = 0;
    sweep("b", &seen);
    cr_expect_eq(seen.notices, 0);
}

Test(sweep_run, resumes_after_an_interruption)
{
    struct seen seen = {0, 0};
    sweep("full", &seen);
    char full[8][512];
    cr_assert_eq(read_rows("full", full, 8), 5);

    /* an interrupted run: two points finished, the third half-written */
    char src[256], dst[256], line[1024];
    snprintf(src, sizeof src, "%s/full.csv", g_dir);
    snprintf(dst, sizeof dst, "%s/part.csv", g_dir);
    FILE *in = fopen(src, "r"), *out = fopen(dst, "w");
    cr_assert(in && out);
    for (int i = 0; i < 3 && fgets(line, sizeof line, in); i++)
        fputs(line, out);
    cr_assert_not_null(fgets(line, sizeof line, in));
    fwrite(line, 1, strlen(line) / 2, out);
    fclose(in);
    fclose(out);

    seen.points = 0;
    cr_assert_eq(sweep("part", &seen), 2);
    cr_expect_eq(seen.points, 2, "only the points not finished run");
    char part[8][512];
    cr_assert_eq(read_rows("part", part, 8), 5);
    for (int i = 0; i < 5; i++)
        cr_expect_str_eq(part[i], full[i]);
    /* done: a third run runs nothing */
    seen.points = 0;
    cr_assert_eq(sweep("part", &seen), 4);
    cr_expect_eq(seen.points, 0);
}

Test(sweep_run, refuses_a_file_that_is_not_a_sweep)
{
    char msg[AXL_MSG_LEN], csv[256];
    snprintf(csv, sizeof csv, "%s/other.csv", g_dir);
    FILE *f = fopen(csv, "w");
    fputs("a,b,c\n1,2,3\n", f);
    fclose(f);
    struct seen seen = {0, 0};
    struct axl_sweep_settings s = settings(&seen);
    struct axl_sweep *sw;
    cr_assert_eq(axl_sweep_create(&s, &sw, msg), AXL_OK, "%s", msg);
    cr_expect_eq(axl_sweep_resume(sw, csv, msg), AXL_ERR_FORMAT);
    cr_expect(strstr(msg, "is not an axlut sweep file"), "%s", msg);
    axl_sweep_free(sw);
}

Test(sweep_run, bad_configuration_before_any_work)
{
    char msg[AXL_MSG_LEN];
    struct seen seen = {0, 0};
    struct axl_sweep_settings s = settings(&seen);
    s.designs = "mul_exact,no_such_design";
    struct axl_sweep *sw = (struct axl_sweep *)1;
    cr_assert_neq(axl_sweep_create(&s, &sw, msg), AXL_OK);
    cr_expect_null(sw);
    cr_expect(!strncmp(msg, "no_such_design on e4m3fn: ", 26), "%s", msg);
}

Test(sweep_run, json_escapes_strings_and_keeps_values)
{
    char msg[AXL_MSG_LEN], csv[256], json[256];
    snprintf(csv, sizeof csv, "%s/hand.csv", g_dir);
    snprintf(json, sizeof json, "%s/hand.json", g_dir);
    FILE *f = fopen(csv, "w");
    fprintf(f, "%s\n", axl_sweep_csv_header);
    fputs("m\\x\ty.onnx,\"d(k=4,j=2)\",e4m3fn,fp32,,*,100,0.870000,0.900000,nan,inf,-inf,"
          "0.100\n",
          f);
    fclose(f);
    cr_assert_eq(axl_sweep_write_json(csv, json, msg), AXL_OK, "%s", msg);
    json_error_t err;
    json_t *j = json_load_file(json, 0, &err);
    cr_assert_not_null(j, "%s", err.text);
    json_t *r = json_array_get(j, 0);
    cr_expect_str_eq(json_string_value(json_object_get(r, "model")), "m\\x\ty.onnx");
    cr_expect_str_eq(json_string_value(json_object_get(r, "design")), "d(k=4,j=2)");
    cr_expect_eq(json_integer_value(json_object_get(r, "samples")), 100);
    cr_expect_eq(json_real_value(json_object_get(r, "top1")), strtod("0.870000", NULL));
    cr_expect_eq(json_real_value(json_object_get(r, "seconds")), 0.1);
    cr_expect(json_is_null(json_object_get(r, "agreement")));
    cr_expect(json_is_null(json_object_get(r, "worst_layer_snr_db")));
    cr_expect(json_is_null(json_object_get(r, "output_snr_db")));
    json_decref(j);
}
