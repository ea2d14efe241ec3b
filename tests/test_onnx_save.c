/* Saving a trained graph back to ONNX (axl_graph_save): the reloaded file
 * holds the parameters' new values bit for bit and computes what the graph
 * in memory computes; everything else is unchanged (the outputs of the
 * reloaded graph with its old parameters put back are the source's);
 * failures name the output file and leave nothing behind.  Field-by-field
 * comparison with onnx itself: tests/onnx_save_check.py. */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "axlut/graph.h"
#include "model_fixtures.h"

static char g_dir[64];

static void setup(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/axl_onnx_save_XXXXXX");
    cr_assert(mkdtemp(g_dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    cr_expect_eq(system(cmd), 0);
}

TestSuite(onnx_save, .init = setup, .fini = teardown, .timeout = 300);

static const char *const k_fixtures[] = {"lenet", "resnet_bn", "mobilenetv2_block",
                                         "transformer_block"};

/* Entries of dir other than . and .. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert(d, "cannot list %s", dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    cr_assert(in && out, "cannot copy %s to %s", from, to);
    char buf[65536];
    for (size_t n; (n = fread(buf, 1, sizeof buf, in)) > 0;)
        cr_assert_eq(fwrite(buf, 1, n, out), n);
    fclose(in);
    cr_assert_eq(fclose(out), 0);
}

static const char *fixture_path(const char *name)
{
    static char p[1024];
    const char *src = getenv("AXL_SOURCE_DIR");
    cr_assert(src, "AXL_SOURCE_DIR must be set (ctest sets it)");
    snprintf(p, sizeof p, "%s/tests/data/models/%s.onnx", src, name);
    return p;
}

/* The fixture's input /inputs/input (batch 2); free() its data. */
static struct axl_tensor fixture_input(const char *name)
{
    char h5[1024];
    snprintf(h5, sizeof h5, "%s", fixture_path(name));
    strcpy(h5 + strlen(h5) - 4, "h5");
    hid_t f = H5Fopen(h5, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(f >= 0, "cannot open %s", h5);
    struct axl_tensor t;
    cr_assert(read_h5(f, "inputs", "input", &t), "%s: no /inputs/input", h5);
    H5Fclose(f);
    return t;
}

/* The graph's one output on in (exact, CPU); axl_tensor_free it. */
static struct axl_tensor run1(const struct axl_graph *g, const struct axl_tensor *in)
{
    char msg[AXL_MSG_LEN];
    struct axl_tensor y;
    cr_assert_eq(axl_graph_output_count(g), 1);
    cr_assert_eq(axl_graph_run(g, NULL, in, &y, msg), AXL_OK, "%s", msg);
    return y;
}

/* a and b have the same shape and the same bits; the first mismatches in hex. */
static void expect_same(const struct axl_tensor *a, const struct axl_tensor *b, const char *what)
{
    cr_assert_eq(a->ndim, b->ndim, "%s: rank %d vs %d", what, a->ndim, b->ndim);
    for (int d = 0; d < a->ndim; d++)
        cr_assert_eq(a->dims[d], b->dims[d], "%s: dimension %d differs", what, d);
    int64_t n = axl_tensor_numel(a), bad = 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t x, y;
        memcpy(&x, &a->data[i], 4);
        memcpy(&y, &b->data[i], 4);
        if (x != y && bad++ < 10)
            cr_log_error("%s[%lld]: %08x vs %08x", what, (long long)i, x, y);
    }
    cr_expect_eq(bad, 0, "%s: %lld of %lld values differ", what, (long long)bad, (long long)n);
}

/* The parameters of a and b: same names, shapes and values. */
static void expect_same_params(struct axl_graph *a, struct axl_graph *b, const char *model)
{
    size_t n = axl_graph_param_count(a);
    cr_assert_eq(axl_graph_param_count(b), n, "%s: %zu vs %zu parameters", model, n,
                 axl_graph_param_count(b));
    cr_assert_gt(n, 0, "%s: the fixture should have parameters", model);
    for (size_t i = 0; i < n; i++) {
        char what[300];
        snprintf(what, sizeof what, "%s: %s", model, axl_graph_param_name(a, i));
        cr_assert_str_eq(axl_graph_param_name(a, i), axl_graph_param_name(b, i));
        struct axl_tensor ta = axl_graph_param(a, i), tb = axl_graph_param(b, i);
        expect_same(&ta, &tb, what);
    }
}

/* Every parameter value x becomes 2x + 1 (exact in float32 for these). */
static void modify(struct axl_graph *g)
{
    for (size_t i = 0; i < axl_graph_param_count(g); i++) {
        struct axl_tensor t = axl_graph_param(g, i);
        for (int64_t k = 0; k < axl_tensor_numel(&t); k++)
            t.data[k] = 2 * t.data[k] + 1;
    }
}

/* Copies the parameter values of from into to (same graph). */
static void copy_params(struct axl_graph *to, struct axl_graph *from)
{
    for (size_t i = 0; i < axl_graph_param_count(from); i++) {
        struct axl_tensor a = axl_graph_param(to, i), b = axl_graph_param(from, i);
        memcpy(a.data, b.data, (size_t)axl_tensor_numel(&b) * sizeof(float));
    }
}

/* Modify, save, reload: the parameters and the outputs are the modified
 * graph's; with the source's parameters copied back the reloaded graph
 * computes the source's outputs, so nothing else changed. */
static void roundtrip(const char *name)
{
    char msg[AXL_MSG_LEN];
    struct axl_graph *g = fixture_graph(name), *orig = fixture_graph(name), *h;
    struct axl_tensor in = fixture_input(name);
    struct axl_tensor y_orig = run1(orig, &in);
    modify(g);
    struct axl_tensor y_mod = run1(g, &in);
    cr_expect_neq(memcmp(y_orig.data, y_mod.data, (size_t)axl_tensor_numel(&y_mod) * 4), 0,
                  "%s: modifying the parameters should change the output", name);
    const char *out = path_in(g_dir, "saved.onnx");
    cr_assert_eq(axl_graph_save(g, out, msg), AXL_OK, "%s", msg);
    cr_assert_eq(axl_graph_load(out, &h, msg), AXL_OK, "%s", msg);
    expect_same_params(g, h, name);
    struct axl_tensor y_h = run1(h, &in);
    expect_same(&y_mod, &y_h, name);
    copy_params(h, orig);
    struct axl_tensor y_back = run1(h, &in);
    expect_same(&y_orig, &y_back, name);
    cr_expect_eq(count_entries(g_dir), 1, "%s: only the saved file in %s", name, g_dir);
    remove(out);
    axl_tensor_free(&y_orig);
    axl_tensor_free(&y_mod);
    axl_tensor_free(&y_h);
    axl_tensor_free(&y_back);
    free(in.data);
    axl_graph_free(h);
    axl_graph_free(orig);
    axl_graph_free(g);
}

Test(onnx_save, modified_params_roundtrip)
{
    for (size_t i = 0; i < sizeof k_fixtures / sizeof *k_fixtures; i++)
        roundtrip(k_fixtures[i]);
}

Test(onnx_save, unmodified_same_outputs)
{
    char msg[AXL_MSG_LEN];
    for (size_t i = 0; i < sizeof k_fixtures / sizeof *k_fixtures; i++) {
        const char *name = k_fixtures[i];
        struct axl_graph *g = fixture_graph(name), *h;
        struct axl_tensor in = fixture_input(name), y = run1(g, &in);
        const char *out = path_in(g_dir, "same.onnx");
        cr_assert_eq(axl_graph_save(g, out, msg), AXL_OK, "%s", msg);
        cr_assert_eq(axl_graph_load(out, &h, msg), AXL_OK, "%s", msg);
        expect_same_params(g, h, name);
        struct axl_tensor y2 = run1(h, &in);
        expect_same(&y, &y2, name);
        axl_tensor_free(&y);
        axl_tensor_free(&y2);
        free(in.data);
        axl_graph_free(h);
        axl_graph_free(g);
    }
}

/* Saving over the file the graph was loaded from. */
Test(onnx_save, over_the_source)
{
    char msg[AXL_MSG_LEN];
    const char *self = path_in(g_dir, "self.onnx");
    copy_file(fixture_path("lenet"), self);
    struct axl_graph *g, *h;
    cr_assert_eq(axl_graph_load(self, &g, msg), AXL_OK, "%s", msg);
    modify(g);
    cr_assert_eq(axl_graph_save(g, self, msg), AXL_OK, "%s", msg);
    cr_assert_eq(axl_graph_load(self, &h, msg), AXL_OK, "%s", msg);
    expect_same_params(g, h, "lenet saved over itself");
    cr_expect_eq(count_entries(g_dir), 1, "no temporary file left in %s", g_dir);
    axl_graph_free(h);
    axl_graph_free(g);
}

static void expect_refused(const struct axl_graph *g, const char *out, enum axl_status want,
                           const char *why)
{
    char msg[AXL_MSG_LEN] = "";
    cr_assert_eq(axl_graph_save(g, out, msg), want, "saving to %s: %s", out, msg);
    cr_expect(strstr(msg, out), "the message names %s: %s", out, msg);
    cr_expect(strstr(msg, why), "the message says '%s': %s", why, msg);
    cr_expect_null(strchr(msg, '\n'), "one line: %s", msg);
}

Test(onnx_save, unwritable_path)
{
    struct axl_graph *g = fixture_graph("lenet");
    /* a directory that does not exist */
    char out[256];
    snprintf(out, sizeof out, "%s/missing/out.onnx", g_dir);
    expect_refused(g, out, AXL_ERR_IO, "cannot be written");
    cr_expect_neq(access(out, F_OK), 0);
    cr_expect_eq(count_entries(g_dir), 0, "nothing left in %s", g_dir);
    /* a directory in the way: the temporary file is written, the rename fails */
    snprintf(out, sizeof out, "%s/taken", g_dir);
    cr_assert_eq(mkdir(out, 0700), 0);
    expect_refused(g, out, AXL_ERR_IO, "cannot be written");
    cr_expect_eq(count_entries(g_dir), 1, "only the directory in %s", g_dir);
    cr_expect_eq(count_entries(out), 0, "nothing in %s", out);
    axl_graph_free(g);
}

/* The source replaced by another model after load: the parameters are not
 * there any more; nothing is written. */
Test(onnx_save, source_changed)
{
    char msg[AXL_MSG_LEN];
    const char *src = path_in(g_dir, "src.onnx"), *out = path_in(g_dir, "out.onnx");
    copy_file(fixture_path("lenet"), src);
    struct axl_graph *g;
    cr_assert_eq(axl_graph_load(src, &g, msg), AXL_OK, "%s", msg);
    copy_file(fixture_path("resnet_bn"), src);
    expect_refused(g, out, AXL_ERR_MISMATCH, "changed since");
    remove(src);
    expect_refused(g, out, AXL_ERR_IO, src);
    cr_expect_eq(count_entries(g_dir), 0, "nothing left in %s", g_dir);
    axl_graph_free(g);
}

Test(onnx_save, bad_arguments)
{
    char msg[AXL_MSG_LEN];
    struct axl_graph *g = fixture_graph("lenet");
    cr_expect_eq(axl_graph_save(g, NULL, msg), AXL_ERR_INVALID);
    cr_expect_eq(axl_graph_save(g, "", msg), AXL_ERR_INVALID);
    cr_expect_eq(axl_graph_save(NULL, path_in(g_dir, "x.onnx"), msg), AXL_ERR_INVALID);
    cr_expect_eq(count_entries(g_dir), 0);
    axl_graph_free(g);
}
