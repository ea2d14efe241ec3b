/* The backward of every operator against PyTorch autograd: the fixtures of
 * tests/data/grad_ops (tools/make_grad_fixtures.py: one-operator models,
 * their outputs and the vector-Jacobian products for a random dout, from
 * torch in float64), plus central finite differences computed here from
 * axlut's own forward for smooth cases, so that a backward that agrees with
 * a wrong fixture still fails. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autodiff.h"
#include "axlut/graph.h"

#define MAXT 16

struct fixture {
    uint32_t nin, nout, npar, flags;
    float atol, rtol;
    struct axl_tensor in[MAXT], out[MAXT], dout[MAXT], gin[MAXT], gpar[MAXT];
    char pname[MAXT][128];
};

static const char *src_dir(void)
{
    const char *s = getenv("AXL_SOURCE_DIR");
    cr_assert(s, "AXL_SOURCE_DIR must be set (ctest sets it)");
    return s;
}

static int get_tensor(FILE *f, struct axl_tensor *t)
{
    uint32_t nd;
    memset(t, 0, sizeof *t);
    if (fread(&nd, 4, 1, f) != 1 || nd > AXL_MAX_DIMS)
        return 0;
    t->ndim = (int)nd;
    if (nd && fread(t->dims, 8, nd, f) != nd)
        return 0;
    int64_t n = axl_tensor_numel(t);
    t->data = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    return t->data && (n == 0 || fread(t->data, 4, (size_t)n, f) == (size_t)n);
}

static void read_fixture(const char *path, struct fixture *x)
{
    FILE *f = fopen(path, "rb");
    char magic[8];
    cr_assert(f, "cannot open %s", path);
    memset(x, 0, sizeof *x);
    int ok = fread(magic, 8, 1, f) == 1 && !memcmp(magic, "AXLGRD1", 8) &&
             fread(&x->nin, 4, 1, f) == 1 && fread(&x->nout, 4, 1, f) == 1 &&
             fread(&x->npar, 4, 1, f) == 1 && fread(&x->flags, 4, 1, f) == 1 &&
             fread(&x->atol, 4, 1, f) == 1 && fread(&x->rtol, 4, 1, f) == 1 &&
             x->nin <= MAXT && x->nout <= MAXT && x->npar <= MAXT;
    for (uint32_t i = 0; ok && i < x->nin; i++)
        ok = get_tensor(f, &x->in[i]);
    for (uint32_t i = 0; ok && i < x->nout; i++)
        ok = get_tensor(f, &x->out[i]);
    for (uint32_t i = 0; ok && i < x->nout; i++)
        ok = get_tensor(f, &x->dout[i]);
    for (uint32_t i = 0; ok && i < x->nin; i++)
        ok = get_tensor(f, &x->gin[i]);
    for (uint32_t i = 0; ok && i < x->npar; i++) {
        uint32_t len;
        ok = fread(&len, 4, 1, f) == 1 && len < sizeof x->pname[i] &&
             fread(x->pname[i], 1, len, f) == len && get_tensor(f, &x->gpar[i]);
    }
    fclose(f);
    cr_assert(ok, "%s: not a gradient fixture (or truncated)", path);
}

static void free_fixture(struct fixture *x)
{
    for (int i = 0; i < MAXT; i++) {
        free(x->in[i].data), free(x->out[i].data), free(x->dout[i].data);
        free(x->gin[i].data), free(x->gpar[i].data);
    }
}

/* the number of elements of got that differ from want beyond tolerance;
 * the first is reported */
static int compare(const char *cs, const char *what, const float *got, const float *want,
                   int64_t n, float atol, float rtol)
{
    int bad = 0;
    for (int64_t k = 0; k < n; k++) {
        float tol = atol + rtol * fabsf(want[k]);
        if (!(fabsf(got[k] - want[k]) <= tol)) {
            if (!bad)
                cr_log_error("%s: %s[%lld] = %.9g, torch %.9g", cs, what, (long long)k,
                             (double)got[k], (double)want[k]);
            bad++;
        }
    }
    return bad;
}

static struct axl_run_opts fwd_opts(const struct fixture *x)
{
    struct axl_run_opts o;
    memset(&o, 0, sizeof o);
    o.train = (x->flags & 2) != 0;
    o.bn_train = o.train;
    return o;
}

/* sum(dout * outputs) of one forward, in double */
static double loss_of(struct axl_graph *g, const struct fixture *x)
{
    struct axl_tensor out[MAXT];
    char msg[AXL_MSG_LEN];
    struct axl_run_opts o = fwd_opts(x);
    cr_assert_eq(axl_graph_run(g, &o, x->in, out, msg), AXL_OK, "%s", msg);
    double l = 0;
    for (uint32_t i = 0; i < x->nout; i++) {
        for (int64_t k = 0; k < axl_tensor_numel(&out[i]); k++)
            l += (double)x->dout[i].data[k] * out[i].data[k];
        axl_tensor_free(&out[i]);
    }
    return l;
}

/* central differences at a few elements of v against the backward's g */
static int finite_diff(const char *cs, const char *what, struct axl_graph *g,
                       const struct fixture *x, float *v, const float *gr, int64_t n)
{
    int bad = 0;
    int64_t step = n > 6 ? n / 6 : 1;
    for (int64_t k = 0; k < n; k += step) {
        float keep = v[k], eps = 1e-2f * fmaxf(1.0f, fabsf(keep));
        v[k] = keep + eps;
        double lp = loss_of(g, x);
        v[k] = keep - eps;
        double lm = loss_of(g, x);
        v[k] = keep;
        double fd = (lp - lm) / (2.0 * (double)eps);
        if (!(fabs(fd - gr[k]) <= 2e-2 * (1.0 + fabs(fd)))) {
            cr_log_error("%s: d loss / d %s[%lld]: backward %.6g, finite difference %.6g", cs,
                         what, (long long)k, (double)gr[k], fd);
            bad++;
        }
    }
    return bad;
}

static float *zeros(const struct axl_tensor *t)
{
    int64_t n = axl_tensor_numel(t);
    float *p = calloc((size_t)(n > 0 ? n : 1), sizeof *p);
    cr_assert(p);
    return p;
}

/* One fixture: forward against torch, backward against torch, and finite
 * differences; the number of mismatches. */
static int check_case(const char *name)
{
    char path[1024], msg[AXL_MSG_LEN];
    struct fixture x;
    snprintf(path, sizeof path, "%s/tests/data/grad_ops/%s.grad", src_dir(), name);
    read_fixture(path, &x);
    snprintf(path, sizeof path, "%s/tests/data/grad_ops/%s.onnx", src_dir(), name);
    struct axl_graph *g = NULL;
    cr_assert_eq(axl_graph_load_trainable(path, &g, msg), AXL_OK, "%s", msg);
    cr_assert_eq(axl_graph_check_backward(g, msg), AXL_OK, "%s", msg);
    cr_assert_eq(axl_graph_input_count(g), x.nin, "%s: inputs", name);
    struct axl_tensor out[MAXT];
    struct axl_tape *tape = NULL;
    struct axl_run_opts o = fwd_opts(&x);
    cr_assert_eq(axl_graph_forward(g, &o, x.in, out, &tape, msg), AXL_OK, "%s: %s", name, msg);
    int bad = 0;
    for (uint32_t i = 0; i < x.nout; i++) {
        bad += compare(name, "output", out[i].data, x.out[i].data, axl_tensor_numel(&x.out[i]),
                       x.atol, x.rtol);
        axl_tensor_free(&out[i]);
    }
    size_t np = axl_graph_param_count(g);
    float **pg = calloc(np + 1, sizeof *pg), *ig[MAXT];
    int64_t pidx[MAXT];
    cr_assert(pg);
    for (uint32_t i = 0; i < x.nin; i++)
        ig[i] = zeros(&x.in[i]);
    for (uint32_t i = 0; i < x.npar; i++) {
        pidx[i] = axl_graph_find_param(g, x.pname[i]);
        cr_assert(pidx[i] >= 0, "%s: '%s' is not a parameter of the graph", name, x.pname[i]);
        pg[pidx[i]] = zeros(&x.gpar[i]);
    }
    cr_assert_eq(np, x.npar, "%s: %zu parameters, the fixture has %u", name, np, x.npar);
    struct axl_grad_opts go = {0};
    cr_assert_eq(axl_graph_backward(tape, &go, x.dout, pg, ig, msg), AXL_OK, "%s: %s", name, msg);
    axl_tape_free(tape);
    for (uint32_t i = 0; i < x.nin; i++)
        bad += compare(name, axl_graph_input_name(g, i), ig[i], x.gin[i].data,
                       axl_tensor_numel(&x.in[i]), x.atol, x.rtol);
    for (uint32_t i = 0; i < x.npar; i++)
        bad += compare(name, x.pname[i], pg[pidx[i]], x.gpar[i].data,
                       axl_tensor_numel(&x.gpar[i]), x.atol, x.rtol);
    if (!(x.flags & 1)) {
        for (uint32_t i = 0; i < x.nin; i++)
            bad += finite_diff(name, axl_graph_input_name(g, i), g, &x, x.in[i].data, ig[i],
                               axl_tensor_numel(&x.in[i]));
        for (uint32_t i = 0; i < x.npar; i++) {
            struct axl_tensor p = axl_graph_param(g, (size_t)pidx[i]);
            bad += finite_diff(name, x.pname[i], g, &x, p.data, pg[pidx[i]],
                               axl_tensor_numel(&p));
        }
    }
    for (uint32_t i = 0; i < x.nin; i++)
        free(ig[i]);
    for (size_t i = 0; i < np; i++)
        free(pg[i]);
    free(pg);
    axl_graph_free(g);
    free_fixture(&x);
    return bad;
}

Test(grad_ops, every_fixture_against_torch, .timeout = 600)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/data/grad_ops", src_dir());
    DIR *d = opendir(dir);
    cr_assert(d, "cannot list %s", dir);
    struct dirent *e;
    int cases = 0, failed = 0;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".grad") || l > 200)
            continue;
        char name[256];
        memcpy(name, e->d_name, l - 5);
        name[l - 5] = 0;
        int bad = check_case(name);
        cr_expect_eq(bad, 0, "%s: %d mismatches", name, bad);
        failed += bad != 0;
        cases++;
    }
    closedir(d);
    cr_log_info("%d gradient fixtures, %d failed", cases, failed);
    cr_assert_gt(cases, 0, "no fixture ran");
}

/* The operators the zoo and the demo use must all have a backward. */
Test(grad_ops, required_operators_have_a_backward)
{
    static const char *need[] = {
        "Conv", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Relu", "LeakyRelu", "Clip",
        "Sigmoid", "Tanh", "HardSwish", "HardSigmoid", "Erf", "Softmax", "MaxPool",
        "AveragePool", "GlobalAveragePool", "BatchNormalization", "LayerNormalization",
        "Flatten", "Reshape", "Transpose", "Concat", "Split", "Slice", "Squeeze", "Unsqueeze",
        "ReduceMean", "Pow", "Sqrt", "Dropout", "Gather", "Expand", "Identity", "Where", "Cast",
        NULL};
    int missing = 0;
    for (int i = 0; need[i]; i++) {
        const struct op_def *d = axl_op_find(need[i]);
        cr_assert(d, "%s is not an operator", need[i]);
        if (!d->backward) {
            cr_log_error("%s has no backward", need[i]);
            missing++;
        }
    }
    cr_assert_eq(missing, 0, "%d operators without a backward", missing);
}

/* A weight read through a node folded at load (Transpose of the
 * initializer): an inference load folds it into a constant, a training
 * load keeps it a parameter. */
Test(grad_ops, training_load_keeps_weights_behind_folded_nodes)
{
    char path[1024], msg[AXL_MSG_LEN];
    snprintf(path, sizeof path, "%s/tests/data/grad_ops/matmul_transposed_weight.onnx",
             src_dir());
    struct axl_graph *g = NULL;
    cr_assert_eq(axl_graph_load(path, &g, msg), AXL_OK, "%s", msg);
    cr_assert_eq(axl_graph_param_count(g), 0);
    axl_graph_free(g);
    cr_assert_eq(axl_graph_load_trainable(path, &g, msg), AXL_OK, "%s", msg);
    cr_assert_eq(axl_graph_param_count(g), 1);
    cr_assert_str_eq(axl_graph_param_name(g, 0), "W");
    axl_graph_free(g);
}

/* The gemm_basic fixture loaded for training with every MAC node under
 * mul_exact on e2m3 operands (largest value 7.5, smallest 0.125). */
struct e2m3_gemm {
    struct axl_graph *g;
    struct axl_mac *m;
    const struct axl_mac **macs; /* per exposed node */
};

static struct e2m3_gemm e2m3_gemm_open(void)
{
    char path[1024], msg[AXL_MSG_LEN];
    struct e2m3_gemm f = {NULL, NULL, NULL};
    snprintf(path, sizeof path, "%s/tests/data/grad_ops/gemm_basic.onnx", src_dir());
    cr_assert_eq(axl_graph_load_trainable(path, &f.g, msg), AXL_OK, "%s", msg);
    struct axl_mac_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.mul = "mul_exact";
    spec.fmt_a = "e2m3";
    cr_assert_eq(axl_mac_create(&spec, &f.m, msg), AXL_OK, "%s", msg);
    size_t nn = axl_graph_node_count(f.g);
    f.macs = calloc(nn, sizeof *f.macs);
    cr_assert(f.macs);
    for (size_t i = 0; i < nn; i++)
        f.macs[i] = axl_graph_node_is_mac(f.g, i) ? f.m : NULL;
    return f;
}

static void e2m3_gemm_close(struct e2m3_gemm *f)
{
    free(f->macs);
    axl_mac_free(f->m);
    axl_graph_free(f->g);
}

/* --backward approx: the gradient products through a narrow format.
 * Output gradients of about 1e-3 lie far below e2m3's smallest value
 * (0.125): without the per-tensor scaling they would all flush to zero.
 * With it, the weight gradient of a Gemm must be near the straight-through
 * one (e2m3 keeps 3 mantissa bits: a few percent). */
Test(grad_ops, approximate_backward_scales_small_gradients)
{
    char msg[AXL_MSG_LEN];
    struct e2m3_gemm f = e2m3_gemm_open();
    struct axl_graph *g = f.g;
    const struct axl_mac **macs = f.macs;
    struct axl_tensor in, out, dout;
    float a[24], d[20];
    memset(&in, 0, sizeof in);
    in.ndim = 2, in.dims[0] = 4, in.dims[1] = 6, in.data = a;
    for (int i = 0; i < 24; i++)
        a[i] = (float)((i * 7) % 11) / 4.0f - 1.25f;
    for (int i = 0; i < 20; i++)
        d[i] = 1e-3f * (float)((i * 5) % 9 - 4);
    struct axl_run_opts o;
    memset(&o, 0, sizeof o);
    o.mac = macs;
    float *gr[2][4];
    for (int mode = 0; mode < 2; mode++) {
        struct axl_tape *tape = NULL;
        cr_assert_eq(axl_graph_forward(g, &o, &in, &out, &tape, msg), AXL_OK, "%s", msg);
        dout = out;
        dout.data = d;
        size_t np = axl_graph_param_count(g);
        for (size_t i = 0; i < np; i++) {
            struct axl_tensor p = axl_graph_param(g, i);
            gr[mode][i] = calloc((size_t)axl_tensor_numel(&p), sizeof(float));
        }
        struct axl_grad_opts go = {mode};
        cr_assert_eq(axl_graph_backward(tape, &go, &dout, gr[mode], NULL, msg), AXL_OK, "%s",
                     msg);
        axl_tape_free(tape);
        axl_tensor_free(&out);
    }
    int64_t b = axl_graph_find_param(g, "B");
    struct axl_tensor pb = axl_graph_param(g, (size_t)b);
    double num = 0, den = 0;
    for (int64_t i = 0; i < axl_tensor_numel(&pb); i++) {
        double e = (double)gr[1][b][i] - gr[0][b][i];
        num += e * e;
        den += (double)gr[0][b][i] * gr[0][b][i];
    }
    cr_assert(den > 0);
    cr_assert(num < 0.01 * den, "approximate weight gradient off by %.3g (relative)",
              sqrt(num / den));
    for (int mode = 0; mode < 2; mode++)
        for (size_t i = 0; i < axl_graph_param_count(g); i++)
            free(gr[mode][i]);
    e2m3_gemm_close(&f);
}

/* The straight-through estimator passes no gradient to an activation that
 * the format clipped (e2m3 holds at most 7.5), and passes it elsewhere. */
Test(grad_ops, straight_through_stops_at_clipped_operands)
{
    char msg[AXL_MSG_LEN];
    struct e2m3_gemm f = e2m3_gemm_open();
    struct axl_graph *g = f.g;
    const struct axl_mac **macs = f.macs;
    float a[24], d[20], ga[24] = {0};
    for (int i = 0; i < 24; i++)
        a[i] = (float)(i % 5) * 0.5f - 1.0f;
    a[7] = 20.0f; /* clipped to 7.5 */
    for (int i = 0; i < 20; i++)
        d[i] = 0.5f;
    struct axl_tensor in = {2, {4, 6}, a}, out, dout;
    struct axl_run_opts o;
    memset(&o, 0, sizeof o);
    o.mac = macs;
    struct axl_tape *tape = NULL;
    cr_assert_eq(axl_graph_forward(g, &o, &in, &out, &tape, msg), AXL_OK, "%s", msg);
    dout = out;
    dout.data = d;
    float *ig[1] = {ga};
    struct axl_grad_opts go = {0};
    cr_assert_eq(axl_graph_backward(tape, &go, &dout, NULL, ig, msg), AXL_OK, "%s", msg);
    cr_assert_eq(ga[7], 0.0f, "a clipped activation got gradient %g", (double)ga[7]);
    int nonzero = 0;
    for (int i = 0; i < 24; i++)
        nonzero += i != 7 && ga[i] != 0.0f;
    cr_assert_eq(nonzero, 23, "the other activations must get their gradient");
    axl_tape_free(tape);
    axl_tensor_free(&out);
    e2m3_gemm_close(&f);
}
