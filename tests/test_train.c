/* axlut train as a library: determinism, exact resume from a checkpoint,
 * the NaN stop, and bad datasets.  Accuracy against PyTorch is proven by
 * tests/e2e/train_step_check.py (one step on three models) and by the
 * LeNet-5 run of the retraining report. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <hdf5.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "axlut/train.h"
#include "model_fixtures.h"
#include "labelled_data.h"

static char g_dir[64];

static void setup(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/axl_train_XXXXXX");
    cr_assert(mkdtemp(g_dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    cr_assert_eq(system(cmd), 0);
}

/* n LeNet-shaped samples (labelled_data.h), labels shifted by label_shift;
 * no labels when label_shift < 0 */
static const char *make_data(const char *name, int n, int label_shift)
{
    const char *p = path_in(g_dir, name);
    write_labelled_images(p, n, 28, 1.5f, 12345, label_shift);
    return p;
}

/* trains a fresh LeNet fixture; the concatenated parameters (malloc'd) */
static float *train_lenet(const char *data, struct axl_train_settings *s, enum axl_status want,
                          char *msg, struct axl_train_report *rep_out)
{
    struct axl_graph *g = fixture_graph("lenet");
    struct axl_dataset *d = NULL;
    cr_assert_eq(axl_dataset_open(data, g, &d, msg), AXL_OK, "%s", msg);
    struct axl_train_report rep;
    enum axl_status st = axl_train(g, NULL, d, NULL, s, &rep, msg);
    cr_assert_eq(st, want, "status %d: %s", st, msg);
    float *all = param_values(g, NULL);
    if (rep_out)
        *rep_out = rep;
    else
        axl_train_report_free(&rep);
    axl_dataset_close(d);
    axl_graph_free(g);
    return all;
}

static size_t lenet_params(void)
{
    struct axl_graph *g = fixture_graph("lenet");
    size_t total = 0;
    free(param_values(g, &total));
    axl_graph_free(g);
    return total;
}

TestSuite(train, .init = setup, .fini = teardown, .timeout = 600);

Test(train, learns_and_is_deterministic)
{
    char msg[AXL_MSG_LEN];
    const char *data = make_data("d.h5", 200, 0);
    struct axl_train_settings s;
    axl_train_defaults(&s);
    s.epochs = 3;
    s.batch = 20;
    s.lr = 0.02f;
    s.seed = 5;
    struct axl_train_report rep;
    float *a = train_lenet(data, &s, AXL_OK, msg, &rep);
    cr_assert_eq(rep.nepochs, 3);
    cr_assert(rep.epochs[2].train_loss < rep.epochs[0].train_loss, "loss %g then %g",
              rep.epochs[0].train_loss, rep.epochs[2].train_loss);
    axl_train_report_free(&rep);
    float *b = train_lenet(data, &s, AXL_OK, msg, NULL);
    cr_assert(!memcmp(a, b, lenet_params() * sizeof *a), "two runs with one seed differ");
    s.seed = 6;
    float *c = train_lenet(data, &s, AXL_OK, msg, NULL);
    cr_assert(memcmp(a, c, lenet_params() * sizeof *a), "another seed gave the same weights");
    free(a), free(b), free(c);
}

Test(train, resume_continues_exactly)
{
    char msg[AXL_MSG_LEN];
    const char *data = make_data("d.h5", 120, 0);
    struct axl_train_settings s;
    axl_train_defaults(&s);
    s.epochs = 3;
    s.batch = 16;
    s.optimizer = AXL_OPTIMIZER_ADAM;
    s.lr = 1e-3f;
    s.checkpoint_dir = path_in(g_dir, "full");
    float *full = train_lenet(data, &s, AXL_OK, msg, NULL);
    /* stopped after epoch 2 (the run of 3 epochs with its last checkpoint
     * removed), then resumed */
    char ck[1024];
    snprintf(ck, sizeof ck, "%s/epoch-0003.h5", s.checkpoint_dir);
    cr_assert_eq(unlink(ck), 0, "%s was not written", ck);
    s.resume = 1;
    struct axl_train_report rep;
    float *resumed = train_lenet(data, &s, AXL_OK, msg, &rep);
    cr_assert_eq(rep.start_epoch, 3);
    cr_assert_eq(rep.nepochs, 3, "the report keeps the epochs before the resume");
    axl_train_report_free(&rep);
    cr_assert(!memcmp(full, resumed, lenet_params() * sizeof *full),
              "resuming gave other weights than the uninterrupted run");
    free(full), free(resumed);
}

Test(train, nan_loss_stops_and_keeps_the_last_good_weights)
{
    char msg[AXL_MSG_LEN];
    const char *data = make_data("d.h5", 64, 0);
    struct axl_train_settings s;
    axl_train_defaults(&s);
    s.epochs = 2;
    s.batch = 16;
    s.lr = 1e30f;
    s.momentum = 0;
    s.schedule = AXL_SCHEDULE_CONSTANT;
    struct axl_graph *g = fixture_graph("lenet");
    struct axl_tensor p0 = axl_graph_param(g, 0);
    size_t n0 = (size_t)axl_tensor_numel(&p0);
    float *before = malloc(n0 * sizeof *before);
    memcpy(before, p0.data, n0 * sizeof *before);
    struct axl_dataset *d = NULL;
    cr_assert_eq(axl_dataset_open(data, g, &d, msg), AXL_OK, "%s", msg);
    struct axl_train_report rep;
    cr_assert_eq(axl_train(g, NULL, d, NULL, &s, &rep, msg), AXL_ERR_INVALID);
    cr_assert(strstr(msg, "NaN") || strstr(msg, "infinite"), "%s", msg);
    cr_assert(strstr(msg, "epoch 1"), "%s", msg);
    cr_assert(!memcmp(before, p0.data, n0 * sizeof *before), "weights not restored");
    axl_train_report_free(&rep);
    axl_dataset_close(d);
    axl_graph_free(g);
    free(before);
}

Test(train, datasets_without_labels_or_with_bad_ones_are_refused)
{
    char msg[AXL_MSG_LEN];
    struct axl_train_settings s;
    axl_train_defaults(&s);
    s.epochs = 1;
    free(train_lenet(make_data("nolabels.h5", 10, -1), &s, AXL_ERR_INVALID, msg, NULL));
    cr_assert(strstr(msg, "nolabels.h5") && strstr(msg, "labels"), "%s", msg);
    free(train_lenet(make_data("range.h5", 10, 5), &s, AXL_ERR_INVALID, msg, NULL));
    cr_assert(strstr(msg, "range.h5") && strstr(msg, "outside"), "%s", msg);
}

/* Regression: /targets instead of /labels, mean squared error.  A single
 * Gemm (the gemm_basic gradient fixture: y = A B + C, A 4x6) fitted to
 * targets that some B and C reach exactly: the loss must fall to nearly 0. */
Test(train, regression_targets_mean_squared_error)
{
    char msg[AXL_MSG_LEN];
    const char *p = path_in(g_dir, "reg.h5");
    float a[4][6], y[4][5];
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 6; k++)
            a[i][k] = (float)((i * 7 + k * 3) % 5) - 2.0f;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 5; j++) {
            y[i][j] = 0.25f * (float)j;
            for (int k = 0; k < 6; k++)
                y[i][j] += 0.1f * (float)((j + k) % 3 - 1) * a[i][k];
        }
    hid_t f = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t da[2] = {4, 6}, dy[2] = {4, 5};
    hid_t s1 = H5Screate_simple(2, da, NULL), s2 = H5Screate_simple(2, dy, NULL);
    hid_t d1 = H5Dcreate2(f, "/inputs", H5T_IEEE_F32LE, s1, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t d2 = H5Dcreate2(f, "/targets", H5T_IEEE_F32LE, s2, H5P_DEFAULT, H5P_DEFAULT,
                          H5P_DEFAULT);
    cr_assert(H5Dwrite(d1, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, a) >= 0);
    cr_assert(H5Dwrite(d2, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, y) >= 0);
    H5Dclose(d1), H5Dclose(d2), H5Sclose(s1), H5Sclose(s2), H5Fclose(f);
    char model[1024];
    snprintf(model, sizeof model, "%s/tests/data/grad_ops/gemm_basic.onnx",
             getenv("AXL_SOURCE_DIR"));
    struct axl_graph *g = NULL;
    cr_assert_eq(axl_graph_load(model, &g, msg), AXL_OK, "%s", msg);
    struct axl_dataset *d = NULL;
    cr_assert_eq(axl_dataset_open(p, g, &d, msg), AXL_OK, "%s", msg);
    cr_assert_eq(axl_dataset_target_size(d), 5);
    struct axl_train_settings s;
    axl_train_defaults(&s);
    s.epochs = 300;
    s.batch = 4;
    s.lr = 0.02f;
    s.schedule = AXL_SCHEDULE_CONSTANT;
    struct axl_train_report rep;
    cr_assert_eq(axl_train(g, NULL, d, NULL, &s, &rep, msg), AXL_OK, "%s", msg);
    double first = rep.epochs[0].train_loss, last = rep.epochs[rep.nepochs - 1].train_loss;
    cr_assert(last < 1e-3 * first && last < 1e-4, "loss %g -> %g", first, last);
    cr_assert(isnan(rep.epochs[0].train_acc));
    axl_train_report_free(&rep);
    axl_dataset_close(d);
    axl_graph_free(g);
}

/* The bits of a run do not depend on the thread count (train.h). */
Test(train, thread_count_does_not_change_the_bits)
{
    char msg[AXL_MSG_LEN];
    const char *data = make_data("d.h5", 96, 0);
    struct axl_train_settings s;
    axl_train_defaults(&s);
    s.epochs = 1;
    s.batch = 32;
    omp_set_num_threads(1);
    float *one = train_lenet(data, &s, AXL_OK, msg, NULL);
    omp_set_num_threads(3);
    float *three = train_lenet(data, &s, AXL_OK, msg, NULL);
    cr_assert(!memcmp(one, three, lenet_params() * sizeof *one),
              "1 and 3 threads gave other weights");
    free(one), free(three);
}
