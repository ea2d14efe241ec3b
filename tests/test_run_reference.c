/* A dataset run's exact reference (axl_run_report.reference): run (the
 * approximate layers' reference through the fast exact kernels), skipped
 * on request (accuracy identical, every comparison absent), and the same
 * network when every layer is exact (one pass, compared with itself). */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/dataset.h"
#include "axlut/layers.h"
#include "axlut/run.h"

static struct axl_graph *g_graph;
static struct axl_dataset *g_data;
static char g_dir[] = "/tmp/axl_ref_XXXXXX", g_path[64];

/* NS random images with labels (lenet's own file has neither enough
 * samples nor labels) */
#define NS 12
static void write_data(const char *path)
{
    static float x[NS * 28 * 28];
    int64_t lab[NS];
    uint64_t s = 5;
    for (int i = 0; i < NS * 28 * 28; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        x[i] = (float)(s >> 40) / (float)(1 << 24);
    }
    for (int i = 0; i < NS; i++)
        lab[i] = (i * 7) % 10;
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dx[4] = {NS, 1, 28, 28}, dl[1] = {NS};
    hid_t sx = H5Screate_simple(4, dx, NULL), sl = H5Screate_simple(1, dl, NULL);
    hid_t ix = H5Dcreate2(f, "inputs", H5T_IEEE_F32LE, sx, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t il = H5Dcreate2(f, "labels", H5T_STD_I64LE, sl, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(f >= 0 && ix >= 0 && il >= 0);
    cr_assert(H5Dwrite(ix, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) >= 0);
    cr_assert(H5Dwrite(il, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, lab) >= 0);
    H5Dclose(ix), H5Dclose(il), H5Sclose(sx), H5Sclose(sl), H5Fclose(f);
}

static void setup(void)
{
    const char *s = getenv("AXL_SOURCE_DIR");
    cr_assert(s, "AXL_SOURCE_DIR must be set (ctest sets it)");
    char model[1024], msg[AXL_MSG_LEN];
    snprintf(model, sizeof model, "%s/tests/data/models/lenet.onnx", s);
    cr_assert(mkdtemp(g_dir));
    snprintf(g_path, sizeof g_path, "%s/data.h5", g_dir);
    write_data(g_path);
    cr_assert_eq(axl_graph_load(model, &g_graph, msg), AXL_OK, "%s", msg);
    cr_assert_eq(axl_dataset_open(g_path, g_graph, &g_data, msg), AXL_OK, "%s", msg);
}

static void teardown(void)
{
    axl_dataset_close(g_data);
    axl_graph_free(g_graph);
    remove(g_path);
    remove(g_dir);
}

TestSuite(run_reference, .init = setup, .fini = teardown);

/* lenet over its dataset: approximate (e4m3 products through a table) or,
 * with approx 0, every layer exact. */
static void run(int approx, int no_reference, struct axl_run_report *r)
{
    char msg[AXL_MSG_LEN];
    struct axl_layers *l;
    cr_assert_eq(axl_layers_new(&l, msg), AXL_OK);
    if (approx) {
        cr_assert_eq(axl_layers_set_default(l, "mul", "fpmul_drum", msg), AXL_OK, "%s", msg);
        cr_assert_eq(axl_layers_set_default(l, "param", "k=3", msg), AXL_OK, "%s", msg);
        cr_assert_eq(axl_layers_set_default(l, "format", "e4m3", msg), AXL_OK, "%s", msg);
    }
    struct axl_layer_macs b;
    cr_assert_eq(axl_layers_bind(l, g_graph, &b, msg), AXL_OK, "%s", msg);
    struct axl_run_settings s = {AXL_BACKEND_CPU, 2, 0, NULL, NULL, NULL, 0, no_reference};
    cr_assert_eq(axl_run_dataset(g_graph, b.macs, g_data, &s, r, msg), AXL_OK, "%s", msg);
    axl_layer_macs_free(&b);
    axl_layers_free(l);
}

static json_t *report_json(const struct axl_run_report *r)
{
    char path[64], msg[AXL_MSG_LEN];
    snprintf(path, sizeof path, "%s/r.json", g_dir);
    cr_assert_eq(axl_run_report_write_json(r, path, "m", "d", msg), AXL_OK, "%s", msg);
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    cr_assert(j, "%s", e.text);
    remove(path);
    return j;
}

Test(run_reference, skipped_keeps_accuracy_and_drops_every_comparison)
{
    struct axl_run_report with, without;
    run(1, 0, &with);
    run(1, 1, &without);
    cr_expect_eq(with.reference, AXL_REFERENCE_RUN);
    cr_expect_eq(without.reference, AXL_REFERENCE_SKIPPED);
    cr_assert(with.samples == NS && without.samples == NS);
    cr_expect(with.has_labels && !isnan(with.top1), "lenet's data has labels");
    cr_expect_eq(with.top1, without.top1, "accuracy %g against %g", with.top1, without.top1);
    cr_expect_eq(with.top5, without.top5);
    cr_expect(!isnan(with.agreement) && !isnan(with.exact_top1) && isfinite(with.output_error.snr_db));
    cr_expect(isnan(without.agreement) && isnan(without.exact_top1) && isnan(without.exact_top5));
    cr_expect(isnan(without.output_error.snr_db) && isnan(without.output_error.mse));
    cr_expect_eq(without.exact_seconds, 0.0);
    cr_assert_eq(with.nlayers, without.nlayers);
    for (size_t i = 0; i < with.nlayers; i++) {
        cr_expect(isfinite(with.layers[i].local.snr_db), "layer %zu", i);
        cr_expect(isnan(without.layers[i].local.snr_db) && isnan(without.layers[i].accum.snr_db),
                  "layer %zu has errors without a reference", i);
    }
    /* the JSON says so, and has no error fields rather than zeros */
    json_t *jw = report_json(&with), *jn = report_json(&without);
    cr_expect_str_eq(json_string_value(json_object_get(jw, "reference")), "run");
    cr_expect_str_eq(json_string_value(json_object_get(jn, "reference")), "skipped");
    cr_expect(json_object_get(jw, "output_error") && !json_object_get(jn, "output_error"));
    json_t *lw = json_array_get(json_object_get(jw, "layers"), 0);
    json_t *ln = json_array_get(json_object_get(jn, "layers"), 0);
    cr_assert(lw && ln);
    cr_expect(json_object_get(lw, "layer_error") && json_object_get(lw, "accumulated_error"));
    cr_expect(!json_object_get(ln, "layer_error") && !json_object_get(ln, "accumulated_error"));
    cr_expect(json_is_null(json_object_get(jn, "agreement")));
    json_decref(jw);
    json_decref(jn);
    axl_run_report_free(&with);
    axl_run_report_free(&without);
}

Test(run_reference, an_exact_network_is_its_own_reference)
{
    struct axl_run_report ex, ap;
    run(0, 0, &ex);
    run(1, 0, &ap);
    cr_expect_eq(ex.reference, AXL_REFERENCE_SAME);
    cr_expect_eq(ex.agreement, 1.0);
    cr_expect_eq(ex.top1, ex.exact_top1);
    cr_expect(isinf(ex.output_error.snr_db) && ex.output_error.snr_db > 0);
    cr_expect_eq(ex.exact_seconds, 0.0, "one pass only");
    for (size_t i = 0; i < ex.nlayers; i++)
        cr_expect(isinf(ex.layers[i].accum.snr_db) && ex.layers[i].accum.mse == 0.0,
                  "layer %zu", i);
    /* the approximate run's reference (fast kernels) is the exact network
     * to float32 rounding: the same exact accuracy */
    cr_expect_eq(ap.reference, AXL_REFERENCE_RUN);
    cr_expect_eq(ap.exact_top1, ex.top1, "exact top-1 %g, the exact network's %g", ap.exact_top1,
                 ex.top1);
    axl_run_report_free(&ex);
    axl_run_report_free(&ap);
}

/* A pool of run buffers: the same bits as fresh buffers, and from the
 * second run on no allocation but the outputs handed to the caller. */
Test(run_reference, a_pool_reuses_buffers_and_keeps_the_bits)
{
    char msg[AXL_MSG_LEN];
    struct axl_graph_pool *pool;
    cr_assert_eq(axl_graph_pool_new(&pool, msg), AXL_OK);
    struct axl_tensor in = {4, {3, 1, 28, 28}, malloc(3 * 28 * 28 * sizeof(float))};
    for (int i = 0; i < 3 * 28 * 28; i++)
        in.data[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
    struct axl_run_opts o;
    memset(&o, 0, sizeof o);
    struct axl_tensor fresh, pooled;
    cr_assert_eq(axl_graph_run(g_graph, &o, &in, &fresh, msg), AXL_OK, "%s", msg);
    o.pool = pool;
    uint64_t after[4];
    for (int r = 0; r < 4; r++) {
        cr_assert_eq(axl_graph_run(g_graph, &o, &in, &pooled, msg), AXL_OK, "%s", msg);
        after[r] = axl_graph_pool_allocations(pool);
        cr_assert_eq(axl_tensor_numel(&pooled), axl_tensor_numel(&fresh));
        cr_expect_eq(memcmp(pooled.data, fresh.data,
                            (size_t)axl_tensor_numel(&fresh) * sizeof(float)), 0, "run %d", r);
        axl_tensor_free(&pooled);
    }
    size_t nout = axl_graph_output_count(g_graph);
    cr_expect(after[0] > nout, "the first run allocated %llu buffers", (unsigned long long)after[0]);
    for (int r = 1; r < 4; r++)
        cr_expect(after[r] - after[r - 1] <= nout, "run %d allocated %llu buffers", r,
                  (unsigned long long)(after[r] - after[r - 1]));
    axl_tensor_free(&fresh);
    free(in.data);
    axl_graph_pool_free(pool);
}
