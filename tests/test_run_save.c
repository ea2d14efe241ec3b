/* A run's files: the outputs file of --save-outputs (complete or absent,
 * never half-written) and the JSON report. */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "axlut/dataset.h"
#include "axlut/layers.h"
#include "axlut/run.h"

static char g_dir[64];
static struct axl_graph *g_graph;
static struct axl_dataset *g_data;

static void setup(void)
{
    const char *s = getenv("AXL_SOURCE_DIR");
    cr_assert(s, "AXL_SOURCE_DIR must be set (ctest sets it)");
    char model[1024], data[1024], msg[AXL_MSG_LEN];
    snprintf(model, sizeof model, "%s/tests/data/models/lenet.onnx", s);
    snprintf(data, sizeof data, "%s/tests/data/models/lenet.h5", s);
    cr_assert_eq(axl_graph_load(model, &g_graph, msg), AXL_OK, "%s", msg);
    cr_assert_eq(axl_dataset_open(data, g_graph, &g_data, msg), AXL_OK, "%s", msg);
    snprintf(g_dir, sizeof g_dir, "/tmp/axl_save_XXXXXX");
    cr_assert(mkdtemp(g_dir));
}

static void teardown(void)
{
    axl_dataset_close(g_data);
    axl_graph_free(g_graph);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    cr_expect_eq(system(cmd), 0);
}

TestSuite(run_save, .init = setup, .fini = teardown);

/* Files in g_dir. */
static int count_files(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "exit $(ls -A '%s' | wc -l)", g_dir);
    return WEXITSTATUS(system(cmd));
}

static enum axl_status run(const char *save, int layers, struct axl_run_report *r, char *msg)
{
    struct axl_layers *l;
    cr_assert_eq(axl_layers_new(&l, msg), AXL_OK);
    cr_assert_eq(axl_layers_set_default(l, "mul", "mul_exact", msg), AXL_OK);
    cr_assert_eq(axl_layers_set_default(l, "format", "bf16", msg), AXL_OK);
    struct axl_layer_macs b;
    cr_assert_eq(axl_layers_bind(l, g_graph, &b, msg), AXL_OK, "%s", msg);
    struct axl_run_settings s = {AXL_BACKEND_CPU, 1, 0, NULL, NULL, save, layers, 0};
    enum axl_status st = axl_run_dataset(g_graph, b.macs, g_data, &s, r, msg);
    axl_layer_macs_free(&b);
    axl_layers_free(l);
    return st;
}

Test(run_save, outputs_and_layers_complete)
{
    char path[128], msg[AXL_MSG_LEN];
    snprintf(path, sizeof path, "%s/out.h5", g_dir);
    struct axl_run_report r;
    cr_assert_eq(run(path, 1, &r, msg), AXL_OK, "%s", msg);
    int64_t samples = r.samples;
    cr_expect_eq(samples, axl_dataset_count(g_data));
    axl_run_report_free(&r);
    cr_expect_eq(count_files(), 1, "no temporary file left");
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert_geq(f, 0);
    cr_expect_gt(H5Lexists(f, "outputs", H5P_DEFAULT), 0);
    hid_t d = H5Dopen2(f, "/layers/|fc3|Gemm", H5P_DEFAULT);
    cr_assert_geq(d, 0);
    hid_t sp = H5Dget_space(d);
    hsize_t dims[2];
    cr_expect_eq(H5Sget_simple_extent_ndims(sp), 2);
    H5Sget_simple_extent_dims(sp, dims, NULL);
    cr_expect_eq(dims[0], (hsize_t)samples);
    cr_expect_eq(dims[1], 10);
    cr_expect_gt(H5Aexists(d, "node"), 0);
    H5Sclose(sp);
    H5Dclose(d);
    H5Fclose(f);
}

Test(run_save, nothing_left_when_the_file_cannot_be_made)
{
    char path[128], msg[AXL_MSG_LEN];
    snprintf(path, sizeof path, "%s/no/such/dir/out.h5", g_dir);
    struct axl_run_report r;
    cr_assert_eq(run(path, 0, &r, msg), AXL_ERR_IO);
    cr_expect(strstr(msg, "cannot create the outputs file"), "%s", msg);
    cr_expect_eq(r.nlayers, 0, "the report is emptied on error");
    cr_expect_eq(count_files(), 0);
}

Test(run_save, report_json_keys_and_nulls)
{
    char path[128], msg[AXL_MSG_LEN];
    snprintf(path, sizeof path, "%s/r.json", g_dir);
    struct axl_run_report r;
    cr_assert_eq(run(NULL, 0, &r, msg), AXL_OK, "%s", msg);
    cr_assert_eq(axl_run_report_write_json(&r, path, "m \"quoted\".onnx", NULL, msg), AXL_OK,
                 "%s", msg);
    axl_run_report_free(&r);
    cr_expect_eq(count_files(), 1);
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    cr_assert_not_null(j, "%s", err.text);
    static const char *keys[] = {"axlut_report", "model", "data", "samples", "batch",
                                 "batching", "has_labels",
                                 "top1", "top5", "exact_top1", "exact_top5", "agreement",
                                 "seconds", "exact_seconds", "samples_per_s", "output_error",
                                 "layers", "reference"};
    const char *key;
    json_t *v;
    size_t k = 0;
    json_object_foreach(j, key, v)
    {
        cr_expect_str_eq(key, keys[k]);
        k++;
    }
    cr_expect_eq(k, sizeof keys / sizeof keys[0]);
    cr_expect_str_eq(json_string_value(json_object_get(j, "model")), "m \"quoted\".onnx");
    cr_expect(json_is_null(json_object_get(j, "data")));
    cr_expect_eq(json_array_size(json_object_get(j, "layers")), 5);
    json_decref(j);
}
