/* ONNX import and the graph executor: every operator fixture of
 * tests/data/onnx_ops (tools/make_op_fixtures.py, references from numpy and
 * torch) in exact mode; refusals with their messages; per-node MAC configs
 * and shadow runs through the observer; the model fixtures of
 * tests/data/models (every one that has its .h5, and at least one). */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <dirent.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "axlut/graph.h"
#include "model_fixtures.h"

static const char *src_dir(void)
{
    const char *s = getenv("AXL_SOURCE_DIR");
    return s ? s : ".";
}

static void ops_path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/tests/data/onnx_ops/%s", src_dir(), name);
}

/* ---- reference files (format in tools/make_op_fixtures.py) ---------------- */
struct ref {
    uint32_t nin, nout;
    struct axl_tensor t[16];
};

static int read_ref(const char *path, struct ref *r)
{
    memset(r, 0, sizeof *r);
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    char magic[8];
    int ok = fread(magic, 1, 8, f) == 8 && !memcmp(magic, "AXLREF1", 8) &&
             fread(&r->nin, 4, 1, f) == 1 && fread(&r->nout, 4, 1, f) == 1 &&
             r->nin + r->nout <= 16;
    for (uint32_t i = 0; ok && i < r->nin + r->nout; i++) {
        uint32_t nd;
        ok = fread(&nd, 4, 1, f) == 1 && nd <= AXL_MAX_DIMS;
        r->t[i].ndim = (int)nd;
        ok = ok && fread(r->t[i].dims, 8, nd, f) == nd;
        int64_t n = ok ? axl_tensor_numel(&r->t[i]) : 0;
        r->t[i].data = malloc((size_t)(n ? n : 1) * sizeof(float));
        ok = ok && r->t[i].data && fread(r->t[i].data, 4, (size_t)n, f) == (size_t)n;
    }
    fclose(f);
    return ok;
}

static void free_ref(struct ref *r)
{
    for (int i = 0; i < 16; i++)
        free(r->t[i].data);
}

/* max |got - want| <= tol * max |want| (and shapes equal); logs otherwise */
static int close_enough(const char *what, const struct axl_tensor *got,
                        const struct axl_tensor *want, double tol)
{
    if (got->ndim != want->ndim) {
        cr_log_error("%s: rank %d, expected %d", what, got->ndim, want->ndim);
        return 0;
    }
    for (int d = 0; d < got->ndim; d++)
        if (got->dims[d] != want->dims[d]) {
            cr_log_error("%s: dimension %d is %lld, expected %lld", what, d,
                         (long long)got->dims[d], (long long)want->dims[d]);
            return 0;
        }
    int64_t n = axl_tensor_numel(want);
    double mx = 0, err = 0;
    int64_t at = 0;
    for (int64_t i = 0; i < n; i++)
        mx = fmax(mx, fabs(want->data[i]));
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)got->data[i] - want->data[i]);
        if (e > err || isnan(got->data[i])) {
            err = isnan(got->data[i]) ? INFINITY : e;
            at = i;
        }
    }
    if (err > tol * fmax(mx, 1e-30) + 1e-7) {
        cr_log_error("%s: max error %g at %lld (got %g, want %g), max |ref| %g", what, err,
                     (long long)at, (double)got->data[at], (double)want->data[at], mx);
        return 0;
    }
    return 1;
}

static int run_fixture(const char *name)
{
    char path[1024], msg[AXL_MSG_LEN], what[300];
    struct ref r;
    struct axl_graph *g = NULL;
    snprintf(path, sizeof path, "%s/tests/data/onnx_ops/%s.ref", src_dir(), name);
    if (!read_ref(path, &r)) {
        cr_log_error("%s: cannot read the reference", name);
        free_ref(&r);
        return 0;
    }
    snprintf(path, sizeof path, "%s/tests/data/onnx_ops/%s.onnx", src_dir(), name);
    enum axl_status st = axl_graph_load(path, &g, msg);
    int ok = st == AXL_OK;
    if (!ok)
        cr_log_error("%s: load: %s", name, msg);
    struct axl_tensor out[16];
    if (ok && (axl_graph_input_count(g) != r.nin || axl_graph_output_count(g) != r.nout)) {
        cr_log_error("%s: %zu inputs %zu outputs, the reference has %u and %u", name,
                     axl_graph_input_count(g), axl_graph_output_count(g), r.nin, r.nout);
        ok = 0;
    }
    if (ok && (st = axl_graph_run(g, NULL, r.t, out, msg)) != AXL_OK) {
        cr_log_error("%s: run: %s", name, msg);
        ok = 0;
    }
    for (uint32_t i = 0; ok && i < r.nout; i++) {
        snprintf(what, sizeof what, "%s output %u", name, i);
        ok &= close_enough(what, &out[i], &r.t[r.nin + i], 1e-5);
    }
    if (st == AXL_OK && g)
        for (uint32_t i = 0; i < r.nout; i++)
            axl_tensor_free(&out[i]);
    axl_graph_free(g);
    free_ref(&r);
    return ok;
}

Test(graph, every_operator_fixture, .timeout = 120)
{
    char dir[1024];
    ops_path(dir, sizeof dir, "");
    DIR *d = opendir(dir);
    cr_assert(d, "no fixture directory %s", dir);
    int n = 0, bad = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".ref"))
            continue;
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(len - 4), e->d_name);
        n++;
        if (!run_fixture(name))
            bad++;
    }
    closedir(d);
    cr_expect(n >= 90, "only %d fixtures found in %s", n, dir);
    cr_expect_eq(bad, 0, "%d of %d fixtures failed (see the log)", bad, n);
}

/* ---- introspection and batches ------------------------------------------------- */
Test(graph, introspection_and_batch)
{
    char path[1024], msg[AXL_MSG_LEN];
    struct axl_graph *g;
    ops_path(path, sizeof path, "chain.onnx");
    cr_assert_eq(axl_graph_load(path, &g, msg), AXL_OK, "%s", msg);
    cr_assert_eq(axl_graph_node_count(g), 5);
    const char *names[] = {"conv1", "relu1", "conv2", "relu2", "conv3"};
    for (size_t i = 0; i < 5; i++) {
        cr_expect_str_eq(axl_graph_node_name(g, i), names[i]);
        cr_expect_eq(axl_graph_node_is_mac(g, i), i % 2 == 0);
    }
    cr_expect_str_eq(axl_graph_node_op(g, 3), "Relu");
    cr_expect_eq(axl_graph_find_node(g, "conv2"), 2);
    cr_expect_eq(axl_graph_find_node(g, "nope"), -1);
    int64_t dims[AXL_MAX_DIMS];
    cr_assert_eq(axl_graph_input_shape(g, 0, dims), 4);
    cr_expect(dims[0] == -1 && dims[1] == 3 && dims[2] == 8 && dims[3] == 8);
    cr_assert_eq(axl_graph_output_shape(g, 0, dims), 4);
    cr_expect(dims[0] == -1 && dims[1] == 2 && dims[2] == 8);
    struct axl_node_info info[5];
    cr_assert_eq(axl_graph_describe(g, 4, info, msg), AXL_OK, "%s", msg);
    cr_expect_eq(info[0].macs, 4LL * 4 * 8 * 8 * 3 * 9);
    cr_expect_eq(info[2].macs, 4LL * 5 * 8 * 8 * 4 * 9);
    cr_expect_eq(info[1].macs, 0);
    cr_expect(info[4].ndim == 4 && info[4].dims[0] == 4 && info[4].dims[1] == 2);

    /* batch 1 of the batch-2 reference: the first sample */
    struct ref r;
    ops_path(path, sizeof path, "chain.ref");
    cr_assert(read_ref(path, &r));
    struct axl_tensor in = r.t[0], out, want = r.t[1];
    in.dims[0] = 1;
    want.dims[0] = 1;
    cr_assert_eq(axl_graph_run(g, NULL, &in, &out, msg), AXL_OK, "%s", msg);
    cr_expect(close_enough("chain batch 1", &out, &want, 1e-5));
    axl_tensor_free(&out);
    free_ref(&r);
    axl_graph_free(g);
}

/* ---- refusals ---------------------------------------------------------------------- */
static void expect_load_error(const char *path, enum axl_status want, const char *s1,
                              const char *s2)
{
    char msg[AXL_MSG_LEN] = "";
    struct axl_graph *g = (struct axl_graph *)&msg; /* must come back NULL */
    enum axl_status st = axl_graph_load(path, &g, msg);
    cr_expect_eq(st, want, "%s: status %d (%s), expected %d", path, st, msg, want);
    cr_expect_null(g);
    cr_expect(strstr(msg, s1), "'%s' does not name '%s'", msg, s1);
    if (s2)
        cr_expect(strstr(msg, s2), "'%s' does not name '%s'", msg, s2);
    cr_expect(!strchr(msg, '\n'), "not one line: %s", msg);
    cr_log_info("%s", msg);
}

Test(graph, refusals)
{
    char path[1024], tmp[1024];
    ops_path(path, sizeof path, "bad_op.onnx");
    expect_load_error(path, AXL_ERR_UNSUPPORTED, "nms_1", "NonMaxSuppression");
    ops_path(path, sizeof path, "bad_attr.onnx");
    expect_load_error(path, AXL_ERR_UNSUPPORTED, "pad_wrap", "wrap");
    ops_path(path, sizeof path, "bad_missing_init.onnx");
    expect_load_error(path, AXL_ERR_FORMAT, "w_missing", "bad_missing_init.onnx");
    ops_path(path, sizeof path, "bad_conv3d.onnx");
    expect_load_error(path, AXL_ERR_UNSUPPORTED, "conv3d", "Conv");
    expect_load_error("/nonexistent/model.onnx", AXL_ERR_IO, "/nonexistent/model.onnx", NULL);

    /* a text file, and a model cut in half */
    snprintf(tmp, sizeof tmp, "/tmp/axl_test_graph_%d.onnx", (int)getpid());
    FILE *f = fopen(tmp, "w");
    cr_assert(f);
    fputs("this is not a model\nat all\n", f);
    fclose(f);
    expect_load_error(tmp, AXL_ERR_FORMAT, tmp, "ONNX");
    ops_path(path, sizeof path, "conv_basic.onnx");
    f = fopen(path, "rb");
    cr_assert(f);
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    f = fopen(tmp, "wb");
    cr_assert(f);
    fwrite(buf, 1, n / 2, f);
    fclose(f);
    expect_load_error(tmp, AXL_ERR_FORMAT, tmp, NULL);
    remove(tmp);
}

Test(graph, wrong_input_shape)
{
    char path[1024], msg[AXL_MSG_LEN];
    struct axl_graph *g;
    ops_path(path, sizeof path, "chain.onnx");
    cr_assert_eq(axl_graph_load(path, &g, msg), AXL_OK, "%s", msg);
    float data[2 * 3 * 8 * 9] = {0};
    struct axl_tensor in = {4, {2, 3, 8, 9}, data}, out;
    cr_expect_eq(axl_graph_run(g, NULL, &in, &out, msg), AXL_ERR_MISMATCH);
    cr_expect(strstr(msg, "'x'") && strstr(msg, "2x3x8x9") && strstr(msg, "-1x3x8x8"), "%s", msg);
    cr_expect_null(out.data);
    struct axl_tensor in3 = {3, {3, 8, 8}, data};
    cr_expect_eq(axl_graph_run(g, NULL, &in3, &out, msg), AXL_ERR_MISMATCH);
    cr_log_info("%s", msg);
    axl_graph_free(g);
}

/* ---- per-node configurations, observer, shadow ----------------------------------- */
struct record {
    struct axl_tensor out[8], shadow[8];
    int have_shadow[8];
};

static void copy_tensor(struct axl_tensor *dst, const struct axl_tensor *src)
{
    *dst = *src;
    size_t n = (size_t)axl_tensor_numel(src);
    dst->data = malloc(n * sizeof(float));
    memcpy(dst->data, src->data, n * sizeof(float));
}

static void observe(void *user, size_t node, const struct axl_tensor *out,
                    const struct axl_tensor *exact)
{
    struct record *r = user;
    if (node >= 8)
        return;
    copy_tensor(&r->out[node], &out[0]);
    if (exact) {
        copy_tensor(&r->shadow[node], exact);
        r->have_shadow[node] = 1;
    }
}

static void free_record(struct record *r)
{
    for (int i = 0; i < 8; i++) {
        free(r->out[i].data);
        free(r->shadow[i].data);
    }
}

static int bit_equal(const struct axl_tensor *a, const struct axl_tensor *b)
{
    int64_t n = axl_tensor_numel(a);
    return n == axl_tensor_numel(b) && !memcmp(a->data, b->data, (size_t)n * sizeof(float));
}

Test(graph, per_node_mac_and_shadow, .timeout = 60)
{
    char path[1024], msg[AXL_MSG_LEN];
    struct axl_graph *g, *tail;
    struct ref r;
    ops_path(path, sizeof path, "chain.onnx");
    cr_assert_eq(axl_graph_load(path, &g, msg), AXL_OK, "%s", msg);
    ops_path(path, sizeof path, "chain_tail.onnx");
    cr_assert_eq(axl_graph_load(path, &tail, msg), AXL_OK, "%s", msg);
    ops_path(path, sizeof path, "chain.ref");
    cr_assert(read_ref(path, &r));
    struct axl_mac_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.fmt_a = "bf16";
    struct axl_mac *bf16;
    cr_assert_eq(axl_mac_create(&spec, &bf16, msg), AXL_OK, "%s", msg);

    struct record ex, ap, ap2;
    memset(&ex, 0, sizeof ex);
    memset(&ap, 0, sizeof ap);
    memset(&ap2, 0, sizeof ap2);
    struct axl_run_opts o;
    memset(&o, 0, sizeof o);
    o.observe = observe;
    o.user = &ex;
    struct axl_tensor out;
    cr_assert_eq(axl_graph_run(g, &o, r.t, &out, msg), AXL_OK, "%s", msg);
    cr_expect(close_enough("chain exact", &out, &r.t[1], 1e-5));
    axl_tensor_free(&out);
    for (int i = 0; i < 5; i++)
        cr_expect(!ex.have_shadow[i]);

    /* bf16 activations on conv2 only */
    const struct axl_mac *macs[5] = {NULL, NULL, bf16, NULL, NULL};
    o.mac = macs;
    o.shadow = 1;
    o.user = &ap;
    cr_assert_eq(axl_graph_run(g, &o, r.t, &out, msg), AXL_OK, "%s", msg);
    axl_tensor_free(&out);
    cr_expect(bit_equal(&ap.out[0], &ex.out[0]), "conv1 changed");
    cr_expect(bit_equal(&ap.out[1], &ex.out[1]), "relu1 changed");
    cr_expect(!bit_equal(&ap.out[2], &ex.out[2]), "conv2 did not change under bf16");
    cr_expect(!ap.have_shadow[0] && !ap.have_shadow[1] && !ap.have_shadow[3]);
    cr_assert(ap.have_shadow[2]);
    cr_expect(bit_equal(&ap.shadow[2], &ex.out[2]), "the shadow of conv2 is not its exact output");

    /* conv2 and conv3: conv3's shadow is the exact conv of its approximate input */
    macs[4] = bf16;
    o.user = &ap2;
    cr_assert_eq(axl_graph_run(g, &o, r.t, &out, msg), AXL_OK, "%s", msg);
    axl_tensor_free(&out);
    cr_assert(ap2.have_shadow[4]);
    cr_assert_eq(axl_graph_run(tail, NULL, &ap2.out[3], &out, msg), AXL_OK, "%s", msg);
    cr_expect(bit_equal(&ap2.shadow[4], &out), "the shadow of conv3 is not exact on its input");
    cr_expect(!bit_equal(&ap2.out[4], &out));
    axl_tensor_free(&out);

    /* a MAC config given for the exact path is used for nodes without one */
    struct axl_run_opts o2;
    memset(&o2, 0, sizeof o2);
    o2.exact = bf16;
    cr_assert_eq(axl_graph_run(g, &o2, r.t, &out, msg), AXL_OK, "%s", msg);
    cr_expect(!bit_equal(&out, &ex.out[4]));
    axl_tensor_free(&out);

    free_record(&ex);
    free_record(&ap);
    free_record(&ap2);
    axl_mac_free(bf16);
    free_ref(&r);
    axl_graph_free(g);
    axl_graph_free(tail);
}

/* ---- model fixtures (tests/data/models/NAME.onnx + NAME.h5) ----------------------- */
Test(graph, model_fixtures, .timeout = 300)
{
    char dir[1024], path[1200], msg[AXL_MSG_LEN];
    snprintf(dir, sizeof dir, "%s/tests/data/models", src_dir());
    DIR *d = opendir(dir);
    cr_assert(d, "no model fixture directory %s", dir);
    struct dirent *e;
    /* pairs: NAME.onnx with a NAME.h5 beside it; n: those whose outputs were
     * compared.  A fixture that cannot be compared is a failure, and so is
     * a directory without any. */
    int pairs = 0, n = 0;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".onnx"))
            continue;
        snprintf(path, sizeof path, "%s/%.*s.h5", dir, (int)(len - 5), e->d_name);
        if (access(path, F_OK) != 0) {
            cr_log_info("%s: no .h5 beside it, not compared", e->d_name);
            continue;
        }
        pairs++;
        hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        cr_expect_geq(f, 0, "%s: not an HDF5 file", path);
        if (f < 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct axl_graph *g;
        enum axl_status st = axl_graph_load(path, &g, msg);
        cr_expect_eq(st, AXL_OK, "%s", msg);
        if (st != AXL_OK) {
            H5Fclose(f);
            continue;
        }
        struct axl_tensor in[8], want[8], out[8];
        size_t ni = axl_graph_input_count(g), no = axl_graph_output_count(g);
        int ok = ni <= 8 && no <= 8;
        memset(in, 0, sizeof in);
        memset(want, 0, sizeof want);
        for (size_t i = 0; ok && i < ni; i++)
            ok = read_h5(f, "inputs", axl_graph_input_name(g, i), &in[i]);
        for (size_t i = 0; ok && i < no; i++)
            ok = read_h5(f, "outputs", axl_graph_output_name(g, i), &want[i]);
        cr_expect(ok, "%s: inputs/outputs missing in its .h5", e->d_name);
        if (ok) {
            st = axl_graph_run(g, NULL, in, out, msg);
            cr_expect_eq(st, AXL_OK, "%s: %s", e->d_name, msg);
            for (size_t i = 0; st == AXL_OK && i < no; i++) {
                char what[300];
                snprintf(what, sizeof what, "%s output %zu", e->d_name, i);
                cr_expect(close_enough(what, &out[i], &want[i], 1e-4));
                axl_tensor_free(&out[i]);
            }
            n += st == AXL_OK;
        }
        for (int i = 0; i < 8; i++) {
            free(in[i].data);
            free(want[i].data);
        }
        H5Fclose(f);
        axl_graph_free(g);
    }
    closedir(d);
    cr_log_info("%d of %d model fixtures compared", n, pairs);
    cr_assert_gt(n, 0, "no model fixture compared in %s", dir);
    cr_assert_eq(n, pairs, "%d of the %d models with an .h5 beside them compared", n, pairs);
}
