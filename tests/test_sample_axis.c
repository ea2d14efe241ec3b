/* The sample axis (graph.h, run.h; issue 14): models whose first axis is
 * not a free batch run with ONNX's semantics.  A fixed first dimension F
 * runs batches of exactly F (a count that does not fill them is refused);
 * an output that does not follow a symbolic batch (Transpose, Concat,
 * Flatten, ReduceMean over axis 0) makes the run one input of all samples;
 * saved outputs keep their own shape (or one entry per batch of F).  Every
 * saved output is compared with a reference computed here in double from
 * the dataset and the model's weights, whatever --batch asked for. */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "axlut/dataset.h"
#include "axlut/graph.h"
#include "axlut/run.h"
#include "axlut/train.h"

#define NS 10 /* samples */
#define NF 4  /* features */

static char g_dir[64];
static float g_x[NS][NF];

static void setup(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/axl_axis_XXXXXX");
    cr_assert(mkdtemp(g_dir));
    for (int i = 0; i < NS; i++)
        for (int k = 0; k < NF; k++)
            g_x[i][k] = (float)((i * 7 + k * 3) % 11) * 0.25f - 1.0f;
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        cr_log_warn("could not remove %s", g_dir);
}

TestSuite(sample_axis, .init = setup, .fini = teardown, .timeout = 120);

static const char *in_dir(const char *name)
{
    static char p[4][256];
    static int k;
    char *s = p[k++ % 4];
    snprintf(s, 256, "%s/%s", g_dir, name);
    return s;
}

static void write_data(const char *path)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(f >= 0);
    hsize_t dims[2] = {NS, NF}, nl = NS;
    int64_t labels[NS];
    for (int i = 0; i < NS; i++)
        labels[i] = i % 3;
    hid_t sp = H5Screate_simple(2, dims, NULL);
    hid_t d = H5Dcreate2(f, "/inputs", H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, g_x) >= 0);
    H5Dclose(d), H5Sclose(sp);
    sp = H5Screate_simple(1, &nl, NULL);
    d = H5Dcreate2(f, "/labels", H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, labels) >= 0);
    H5Dclose(d), H5Sclose(sp);
    H5Fclose(f);
}

static struct axl_graph *load(const char *name)
{
    char path[1024], msg[AXL_MSG_LEN];
    const char *s = getenv("AXL_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/tests/data/onnx_ops/%s.onnx", s ? s : ".", name);
    struct axl_graph *g = NULL;
    cr_assert_eq(axl_graph_load(path, &g, msg), AXL_OK, "%s: %s", name, msg);
    return g;
}

/* The constant second input of the graph's only exposed node (a weight). */
static struct axl_tensor weight(const struct axl_graph *g)
{
    struct axl_node_input in;
    axl_graph_node_input(g, 0, 1, &in);
    cr_assert_eq(in.kind, AXL_SOURCE_CONST);
    return in.value;
}

/* /outputs/y of path: its rank, dims and values (malloc'd). */
static float *read_y(const char *path, int *ndim, hsize_t *dims)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(f >= 0, "%s", path);
    hid_t d = H5Dopen2(f, "/outputs/y", H5P_DEFAULT), sp = H5Dget_space(d);
    *ndim = H5Sget_simple_extent_ndims(sp);
    H5Sget_simple_extent_dims(sp, dims, NULL);
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    float *v = malloc((size_t)n * sizeof *v);
    cr_assert(v && H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    H5Sclose(sp), H5Dclose(d), H5Fclose(f);
    return v;
}

/* Runs model over the dataset (batch asked: 3, limit: all or `limit`),
 * saving the outputs; the report in rep, the status returned. */
static enum axl_status run(struct axl_graph *g, int64_t limit, const char *out,
                           struct axl_run_report *rep, char *msg)
{
    const char *data = in_dir("d.h5");
    write_data(data);
    struct axl_dataset *ds = NULL;
    cr_assert_eq(axl_dataset_open(data, g, &ds, msg), AXL_OK, "%s", msg);
    struct axl_run_settings set = {AXL_BACKEND_CPU, 3, limit, NULL, NULL, out, 0, 0};
    enum axl_status st = axl_run_dataset(g, NULL, ds, &set, rep, msg);
    axl_dataset_close(ds);
    return st;
}

struct expect {
    const char *model;
    int ndim;
    hsize_t dims[3];
    int64_t batch;       /* samples per run */
    const char *batching; /* in report.batching ("" for none) */
};

/* want[] of the model, computed from g_x (and its weight) in double. */
static void reference(const char *m, const struct axl_graph *g, double *want)
{
    if (!strcmp(m, "axis_fixed1") || !strcmp(m, "axis_fixed5")) {
        struct axl_tensor w = weight(g); /* 4 x 3 */
        for (int i = 0; i < NS; i++)
            for (int j = 0; j < 3; j++) {
                double a = 0;
                for (int k = 0; k < NF; k++)
                    a += (double)g_x[i][k] * w.data[k * 3 + j];
                want[i * 3 + j] = a;
            }
    } else if (!strcmp(m, "axis_gemm_ta")) {
        struct axl_tensor b = weight(g); /* 5 x 3: per batch of 5, x^T b */
        for (int bt = 0; bt < 2; bt++)
            for (int k = 0; k < NF; k++)
                for (int j = 0; j < 3; j++) {
                    double a = 0;
                    for (int r = 0; r < 5; r++)
                        a += (double)g_x[bt * 5 + r][k] * b.data[r * 3 + j];
                    want[(bt * NF + k) * 3 + j] = a;
                }
    } else if (!strcmp(m, "axis_transpose")) {
        for (int i = 0; i < NS; i++)
            for (int k = 0; k < NF; k++)
                want[k * NS + i] = g_x[i][k];
    } else if (!strcmp(m, "axis_mean0") || !strcmp(m, "axis_mean_all")) {
        double all = 0;
        for (int k = 0; k < NF; k++) {
            double a = 0;
            for (int i = 0; i < NS; i++)
                a += g_x[i][k];
            want[k] = a / NS;
            all += a;
        }
        if (!strcmp(m, "axis_mean_all"))
            want[0] = all / (NS * NF);
    } else { /* concat0, flatten0: the samples in order (twice for concat) */
        for (int r = 0; r < 2; r++)
            for (int i = 0; i < NS * NF; i++)
                if (r == 0 || !strcmp(m, "axis_concat0"))
                    want[r * NS * NF + i] = g_x[i / NF][i % NF];
    }
}

Test(sample_axis, outputs_follow_onnx_semantics)
{
    static const struct expect cases[] = {
        {"axis_fixed1", 2, {NS, 3}, 1, "batches of exactly 1 sample:"},
        {"axis_fixed5", 2, {NS, 3}, 5, "batches of exactly 5 samples"},
        /* one entry per batch of 5 */
        {"axis_gemm_ta", 3, {2, NF, 3}, 5, "batches of exactly 5 samples"},
        {"axis_transpose", 2, {NF, NS}, NS, "all 10 samples as one input"},
        {"axis_mean0", 2, {1, NF}, NS, "all 10 samples as one input"},
        {"axis_mean_all", 0, {0}, NS, "all 10 samples as one input"},
        {"axis_concat0", 2, {2 * NS, NF}, NS, "all 10 samples as one input"},
        {"axis_flatten0", 2, {1, NS * NF}, NS, "all 10 samples as one input"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const struct expect *e = &cases[c];
        struct axl_graph *g = load(e->model);
        struct axl_run_report rep;
        char msg[AXL_MSG_LEN] = "";
        const char *out = in_dir("o.h5");
        remove(out);
        cr_assert_eq(run(g, 0, out, &rep, msg), AXL_OK, "%s: %s", e->model, msg);
        cr_expect_eq(rep.samples, NS, "%s", e->model);
        cr_expect_eq(rep.batch, e->batch, "%s: batch %lld", e->model, (long long)rep.batch);
        cr_expect(strstr(rep.batching, e->batching), "%s: '%s'", e->model, rep.batching);
        int nd;
        hsize_t dims[8];
        float *got = read_y(out, &nd, dims);
        cr_expect_eq(nd, e->ndim, "%s: rank %d", e->model, nd);
        size_t n = 1;
        for (int d = 0; d < nd && d < e->ndim; d++) {
            cr_expect_eq(dims[d], e->dims[d], "%s: dim %d is %llu", e->model, d,
                         (unsigned long long)dims[d]);
            n *= dims[d];
        }
        double want[2 * NS * NF];
        reference(e->model, g, want);
        int bad = 0;
        for (size_t i = 0; i < n && nd == e->ndim; i++)
            if (fabs(got[i] - want[i]) > 1e-5 * (1 + fabs(want[i])) && bad++ < 5)
                cr_expect_fail("%s: [%zu] %g, want %g", e->model, i, got[i], want[i]);
        free(got);
        axl_run_report_free(&rep);
        axl_graph_free(g);
    }
}

/* A fixed first dimension of 5 and 7 samples: refused before any work,
 * the message saying why and what runs; nothing written. */
Test(sample_axis, fixed_batch_refuses_a_count_that_does_not_fit)
{
    struct axl_graph *g = load("axis_fixed5");
    struct axl_run_report rep;
    char msg[AXL_MSG_LEN] = "";
    const char *out = in_dir("o7.h5");
    cr_assert_eq(run(g, 7, out, &rep, msg), AXL_ERR_INVALID);
    cr_expect(strstr(msg, "7 samples do not fill batches of 5") &&
                  strstr(msg, "fixed first dimension of 5") && strstr(msg, "--limit 5"),
              "%s", msg);
    cr_expect_neq(access(out, F_OK), 0, "an output was written");
    cr_assert_eq(run(g, 3, out, &rep, msg), AXL_ERR_INVALID);
    cr_expect(strstr(msg, "at least 5 are needed"), "%s", msg);
    axl_graph_free(g);
}

/* What the graph says of its sample axis, and the layer report: a Gemm
 * with transA has no per-sample output, so its shape is the whole run's. */
Test(sample_axis, graph_and_report_know_the_axis)
{
    static const struct {
        const char *model;
        int64_t fixed;
        int per_sample;
    } k[] = {{"axis_fixed1", 1, 1},    {"axis_fixed5", 5, 1},    {"axis_gemm_ta", 5, 0},
             {"axis_transpose", 0, 0}, {"axis_mean0", 0, 0},     {"axis_concat0", 0, 0},
             {"axis_flatten0", 0, 0},  {"axis_mean_all", 0, 0}};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        struct axl_graph *g = load(k[i].model);
        cr_expect_eq(axl_graph_fixed_batch(g), k[i].fixed, "%s", k[i].model);
        cr_expect_eq(axl_graph_output_per_sample(g, 0), k[i].per_sample, "%s", k[i].model);
        axl_graph_free(g);
    }
    struct axl_graph *g = load("axis_gemm_ta");
    struct axl_run_report rep;
    char msg[AXL_MSG_LEN] = "";
    cr_assert_eq(run(g, 0, NULL, &rep, msg), AXL_OK, "%s", msg);
    cr_assert_eq(rep.nlayers, 1);
    cr_expect_eq(rep.layers[0].per_sample, 0);
    cr_expect(rep.layers[0].ndim == 2 && rep.layers[0].dims[0] == NF && rep.layers[0].dims[1] == 3,
              "shape %lldx%lld", (long long)rep.layers[0].dims[0],
              (long long)rep.layers[0].dims[1]);
    /* 4 x 3 outputs of 5 products each, per batch of 5 samples */
    cr_expect_eq(rep.layers[0].macs, NF * 3 * 5 / 5);
    axl_run_report_free(&rep);
    axl_graph_free(g);
}

/* Training a model exported with a fixed batch: batches of exactly F
 * whatever was asked, and a set that does not fill them is refused. */
Test(sample_axis, training_uses_the_fixed_batch)
{
    const char *data = in_dir("d.h5");
    write_data(data);
    for (int m = 0; m < 2; m++) {
        struct axl_graph *g = load(m ? "axis_fixed5" : "axis_fixed1");
        char msg[AXL_MSG_LEN] = "";
        struct axl_dataset *ds = NULL;
        cr_assert_eq(axl_dataset_open(data, g, &ds, msg), AXL_OK, "%s", msg);
        struct axl_train_settings s;
        memset(&s, 0, sizeof s);
        s.epochs = 1;
        s.batch = 4; /* neither 1 nor 5 */
        s.limit = m ? 7 : 0;
        struct axl_train_report rep;
        enum axl_status st = axl_train(g, NULL, ds, NULL, &s, &rep, msg);
        if (m) {
            cr_expect_eq(st, AXL_ERR_INVALID);
            cr_expect(strstr(msg, "7 samples do not fill batches of 5"), "%s", msg);
        } else {
            cr_expect_eq(st, AXL_OK, "%s", msg);
            cr_expect(rep.nepochs == 1 && rep.epochs[0].samples == NS, "%d epochs",
                      rep.nepochs);
        }
        axl_train_report_free(&rep);
        axl_dataset_close(ds);
        axl_graph_free(g);
    }
}

/* A mean over the samples is no prediction of any one of them, even when
 * it has the shape of one ([1, C] for a single sample): no accuracy. */
Test(sample_axis, no_accuracy_from_an_output_off_the_sample_axis)
{
    struct axl_graph *g = load("axis_mean0");
    struct axl_run_report rep;
    char msg[AXL_MSG_LEN] = "";
    cr_assert_eq(run(g, 1, NULL, &rep, msg), AXL_OK, "%s", msg);
    cr_expect(rep.has_labels && isnan(rep.top1) && isnan(rep.agreement), "top-1 %g", rep.top1);
    axl_run_report_free(&rep);
    axl_graph_free(g);
}
