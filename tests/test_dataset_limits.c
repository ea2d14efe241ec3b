/* Datasets that are malformed or absurd: an array where a scalar attribute
 * belongs, sizes that would wrap, labels that are not integers, and a huge
 * batch.  Each is refused with one message naming the file (or, for the
 * batch, run as the samples allow), and HDF5 prints nothing of its own. */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "axlut/dataset.h"
#include "axlut/layers.h"
#include "axlut/run.h"
#include "model_fixtures.h"

static char g_dir[64];
static struct axl_graph *g_graph;

static void setup(void)
{
    g_graph = fixture_graph("lenet");
    snprintf(g_dir, sizeof g_dir, "/tmp/axl_dslim_XXXXXX");
    cr_assert(mkdtemp(g_dir));
}

static void teardown(void)
{
    axl_graph_free(g_graph);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    cr_expect_eq(system(cmd), 0);
}

TestSuite(dataset_limits, .init = setup, .fini = teardown, .timeout = 120);

static const char *path_in_dir(const char *name) { return path_in(g_dir, name); }

/* What a dataset file holds, for write_dataset. */
struct spec {
    int64_t samples;         /* lenet's inputs: samples x 1 x 28 x 28 */
    int u8;                  /* uint8 with scale/offset instead of float32 */
    int scale_len;           /* elements of the scale attribute (1: scalar) */
    int huge_inner;          /* inner dims of 2^40 (chunked, never written) */
    int string_labels;       /* labels as strings, not integers */
};

static void write_dataset(const char *path, const struct spec *sp)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(f >= 0);
    hsize_t dims[4] = {(hsize_t)sp->samples, 1, 28, 28};
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (sp->huge_inner) {
        dims[2] = dims[3] = (hsize_t)1 << 40;
        hsize_t chunk[4] = {1, 1, 1, 1};
        cr_assert(H5Pset_chunk(dcpl, 4, chunk) >= 0);
    }
    hid_t space = H5Screate_simple(4, dims, NULL);
    hid_t type = sp->u8 ? H5T_STD_U8LE : H5T_IEEE_F32LE;
    hid_t ds = H5Dcreate2(f, "inputs", type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    cr_assert(ds >= 0);
    if (!sp->huge_inner && sp->samples > 0) {
        size_t n = (size_t)sp->samples * 784;
        float *v = malloc(n * sizeof *v);
        unsigned char *c = malloc(n);
        cr_assert(v && c);
        for (size_t i = 0; i < n; i++) {
            v[i] = (float)((i * 37) % 101) / 101.0f;
            c[i] = (unsigned char)((i * 37) % 256);
        }
        cr_assert(H5Dwrite(ds, sp->u8 ? H5T_NATIVE_UCHAR : H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL,
                           H5P_DEFAULT, sp->u8 ? (void *)c : (void *)v) >= 0);
        free(v);
        free(c);
    }
    if (sp->u8) {
        double vals[8] = {0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08}, off = 0;
        hsize_t n = (hsize_t)sp->scale_len;
        hid_t as = sp->scale_len == 1 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, NULL);
        hid_t a = H5Acreate2(ds, "scale", H5T_IEEE_F64LE, as, H5P_DEFAULT, H5P_DEFAULT);
        cr_assert(H5Awrite(a, H5T_NATIVE_DOUBLE, vals) >= 0);
        H5Aclose(a);
        H5Sclose(as);
        as = H5Screate(H5S_SCALAR);
        a = H5Acreate2(ds, "offset", H5T_IEEE_F64LE, as, H5P_DEFAULT, H5P_DEFAULT);
        cr_assert(H5Awrite(a, H5T_NATIVE_DOUBLE, &off) >= 0);
        H5Aclose(a);
        H5Sclose(as);
    }
    H5Dclose(ds);
    H5Sclose(space);
    H5Pclose(dcpl);
    if (sp->samples > 0) {
        hsize_t n = (hsize_t)sp->samples;
        hid_t ls = H5Screate_simple(1, &n, NULL);
        if (sp->string_labels) {
            hid_t st = H5Tcopy(H5T_C_S1);
            H5Tset_size(st, 4);
            char *txt = calloc((size_t)n, 4);
            for (hsize_t i = 0; i < n; i++)
                memcpy(txt + 4 * i, "cat", 4);
            hid_t l = H5Dcreate2(f, "labels", st, ls, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
            cr_assert(H5Dwrite(l, st, H5S_ALL, H5S_ALL, H5P_DEFAULT, txt) >= 0);
            H5Dclose(l);
            H5Tclose(st);
            free(txt);
        } else {
            int64_t *lab = malloc((size_t)n * sizeof *lab);
            for (hsize_t i = 0; i < n; i++)
                lab[i] = (int64_t)(i % 10);
            hid_t l = H5Dcreate2(f, "labels", H5T_STD_I64LE, ls, H5P_DEFAULT, H5P_DEFAULT,
                                 H5P_DEFAULT);
            cr_assert(H5Dwrite(l, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, lab) >= 0);
            H5Dclose(l);
            free(lab);
        }
        H5Sclose(ls);
    }
    H5Fclose(f);
}

/* stderr into a file while fn runs; the number of bytes written there. */
static long stderr_bytes_during(void (*fn)(void *), void *arg)
{
    const char *p = path_in_dir("stderr.txt");
    fflush(stderr);
    int saved = dup(2), fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    fn(arg);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    FILE *f = fopen(p, "rb");
    cr_assert(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

struct open_call {
    const char *path;
    enum axl_status st;
    char msg[AXL_MSG_LEN];
};

static void do_open(void *arg)
{
    struct open_call *c = arg;
    struct axl_dataset *d = NULL;
    c->st = axl_dataset_open(c->path, g_graph, &d, c->msg);
    axl_dataset_close(d);
}

Test(dataset_limits, array_scale_attribute_is_refused_naming_file_and_attribute)
{
    struct open_call c = {path_in_dir("array_scale.h5"), AXL_OK, ""};
    write_dataset(c.path, &(struct spec){.samples = 2, .u8 = 1, .scale_len = 8});
    long quiet = stderr_bytes_during(do_open, &c);
    cr_assert_eq(c.st, AXL_ERR_FORMAT, "status %d: %s", c.st, c.msg);
    cr_expect(strstr(c.msg, c.path) && strstr(c.msg, "'scale'") && !strchr(c.msg, '\n'), "%s",
              c.msg);
    cr_expect_eq(quiet, 0, "HDF5 printed %ld bytes of its own", quiet);
    /* the same file with a scalar scale opens */
    write_dataset(c.path, &(struct spec){.samples = 2, .u8 = 1, .scale_len = 1});
    do_open(&c);
    cr_expect_eq(c.st, AXL_OK, "%s", c.msg);
}

Test(dataset_limits, huge_inner_dimensions_are_refused)
{
    struct open_call c = {path_in_dir("huge_inner.h5"), AXL_OK, ""};
    write_dataset(c.path, &(struct spec){.samples = 2, .huge_inner = 1});
    do_open(&c);
    cr_assert_eq(c.st, AXL_ERR_TOO_LARGE, "status %d: %s", c.st, c.msg);
    cr_expect(strstr(c.msg, c.path), "%s", c.msg);
}

Test(dataset_limits, reading_more_samples_than_memory_holds_is_refused)
{
    const char *p = path_in_dir("small.h5");
    write_dataset(p, &(struct spec){.samples = 2});
    struct axl_dataset *d;
    char msg[AXL_MSG_LEN];
    cr_assert_eq(axl_dataset_open(p, g_graph, &d, msg), AXL_OK, "%s", msg);
    struct axl_tensor in[1];
    /* 2^60 samples x 784 values x 4 bytes wraps size_t */
    enum axl_status st = axl_dataset_read(d, 0, (int64_t)1 << 60, in, NULL, msg);
    cr_expect_eq(st, AXL_ERR_TOO_LARGE, "status %d: %s", st, msg);
    cr_expect(strstr(msg, p), "%s", msg);
    axl_dataset_close(d);
}

struct run_call {
    struct axl_dataset *d;
    int64_t batch;
    enum axl_status st;
    struct axl_run_report rep;
    char msg[AXL_MSG_LEN];
};

static void do_run(void *arg)
{
    struct run_call *c = arg;
    struct axl_layers *l;
    struct axl_layer_macs b;
    cr_assert_eq(axl_layers_new(&l, c->msg), AXL_OK);
    cr_assert_eq(axl_layers_set_default(l, "mul", "mul_exact", c->msg), AXL_OK);
    cr_assert_eq(axl_layers_set_default(l, "format", "bf16", c->msg), AXL_OK);
    cr_assert_eq(axl_layers_bind(l, g_graph, &b, c->msg), AXL_OK, "%s", c->msg);
    struct axl_run_settings set = {AXL_BACKEND_CPU, c->batch, 0, NULL, NULL, NULL, 0, 0};
    c->st = axl_run_dataset(g_graph, b.macs, c->d, &set, &c->rep, c->msg);
    axl_layer_macs_free(&b);
    axl_layers_free(l);
}

Test(dataset_limits, huge_batch_runs_like_one_batch_of_all_samples)
{
    const char *p = path_in_dir("many.h5");
    write_dataset(p, &(struct spec){.samples = 96});
    char msg[AXL_MSG_LEN];
    struct run_call big = {.batch = (int64_t)2305843009213693952LL}, one = {.batch = 96};
    cr_assert_eq(axl_dataset_open(p, g_graph, &big.d, msg), AXL_OK, "%s", msg);
    cr_assert_eq(axl_dataset_open(p, g_graph, &one.d, msg), AXL_OK, "%s", msg);
    do_run(&big);
    do_run(&one);
    cr_assert_eq(big.st, AXL_OK, "%s", big.msg);
    cr_assert_eq(one.st, AXL_OK, "%s", one.msg);
    cr_expect_eq(big.rep.samples, 96);
    cr_expect_eq(big.rep.top1, one.rep.top1);
    cr_expect_eq(big.rep.output_error.snr_db, one.rep.output_error.snr_db);
    axl_run_report_free(&big.rep);
    axl_run_report_free(&one.rep);
    axl_dataset_close(big.d);
    axl_dataset_close(one.d);
}

/* Labels that are strings: refused when the file is opened (the probe in
 * a child process reads a sample's label at each end), in one line naming
 * the file and /labels, without HDF5's own printing. */
Test(dataset_limits, labels_that_are_not_integers_are_bad_input_and_quiet)
{
    struct open_call c = {path_in_dir("string_labels.h5"), AXL_OK, ""};
    write_dataset(c.path, &(struct spec){.samples = 4, .string_labels = 1});
    long quiet = stderr_bytes_during(do_open, &c);
    cr_expect_eq(c.st, AXL_ERR_FORMAT, "status %d: %s", c.st, c.msg);
    cr_expect(strstr(c.msg, c.path) && strstr(c.msg, "/labels") && !strchr(c.msg, '\n'), "%s",
              c.msg);
    cr_expect_eq(quiet, 0, "HDF5 printed %ld bytes of its own", quiet);
}

Test(dataset_limits, an_empty_dataset_is_invalid_input_naming_the_file)
{
    const char *p = path_in_dir("empty.h5");
    write_dataset(p, &(struct spec){.samples = 0});
    char msg[AXL_MSG_LEN];
    struct run_call c = {.batch = 32};
    cr_assert_eq(axl_dataset_open(p, g_graph, &c.d, msg), AXL_OK, "%s", msg);
    do_run(&c);
    cr_expect_eq(c.st, AXL_ERR_INVALID, "status %d: %s", c.st, c.msg);
    cr_expect(strstr(c.msg, p), "%s", c.msg);
    axl_dataset_close(c.d);
}
