/* Hardening of the network layer (issue 14, items 1 and 2): sizes that
 * would wrap int64 or exceed one tensor's limit, geometry attributes at
 * absurd values, and missing inputs or run-time data where constants are
 * needed.  Each bad_* model of tests/data/onnx_ops (tools/make_op_fixtures.py,
 * limit_cases) must be refused at load with one line naming its node and
 * what is wrong; the edge cases that ONNX defines must give its results. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/graph.h"

static void ops_path(char *buf, size_t len, const char *name)
{
    const char *s = getenv("AXL_SOURCE_DIR");
    snprintf(buf, len, "%s/tests/data/onnx_ops/%s", s ? s : ".", name);
}

struct refusal {
    const char *file, *node, *what;
    enum axl_status status;
};

static const struct refusal refusals[] = {
    /* 1: sizes that wrap */
    {"bad_range_huge.onnx", "range_big", "2147483648", AXL_ERR_UNSUPPORTED},
    {"bad_cos_huge.onnx", "cos_big", "2147483648", AXL_ERR_UNSUPPORTED},
    {"bad_expand_huge.onnx", "expand_big", "2147483648", AXL_ERR_UNSUPPORTED},
    {"bad_tile_huge.onnx", "tile_big", "repeats", AXL_ERR_UNSUPPORTED},
    {"bad_reshape_wrap.onnx", "reshape_wrap", "multiply past", AXL_ERR_INVALID},
    {"bad_maxpool_pads.onnx", "pool_big", "pads", AXL_ERR_UNSUPPORTED},
    {"bad_conv_dilations.onnx", "conv_dil", "dilations", AXL_ERR_UNSUPPORTED},
    {"bad_pad_huge.onnx", "pad_big", "pads", AXL_ERR_UNSUPPORTED},
    /* opsets 1 to 6: Concat's axis was optional (default 1) before opset 4 */
    {"bad_concat_opset3.onnx", "concat_old", "Concat at opset 3", AXL_ERR_UNSUPPORTED},
    /* 2: missing inputs and data */
    {"bad_slice_data_only.onnx", "slice_1", "starts and ends", AXL_ERR_INVALID},
    {"bad_pad_data_only.onnx", "pad_1", "pads", AXL_ERR_INVALID},
    {"bad_cos_runtime.onnx", "cos_rt", "run-time", AXL_ERR_UNSUPPORTED},
    {"bad_gather_scalar_data.onnx", "gather_s", "scalar", AXL_ERR_INVALID},
};

Test(net_limits, refusals_name_node_and_cause)
{
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        const struct refusal *r = &refusals[i];
        char path[1024], msg[AXL_MSG_LEN] = "";
        struct axl_graph *g = NULL;
        ops_path(path, sizeof path, r->file);
        enum axl_status st = axl_graph_load(path, &g, msg);
        cr_expect_eq(st, r->status, "%s: status %d (%s), expected %d", r->file, st, msg,
                     r->status);
        cr_expect_null(g, "%s: loaded", r->file);
        cr_expect(strstr(msg, r->node), "%s: '%s' does not name node '%s'", r->file, msg, r->node);
        cr_expect(strstr(msg, r->what), "%s: '%s' does not say '%s'", r->file, msg, r->what);
        cr_expect(!strchr(msg, '\n'), "%s: not one line: %s", r->file, msg);
        cr_log_info("%s", msg);
        axl_graph_free(g);
    }
}

/* Loads name, runs it on x and checks the single output's shape and values
 * exactly (a copy involves no arithmetic). */
static void expect_run(const char *name, const struct axl_tensor *x, int ndim,
                       const int64_t *dims, const float *want, int64_t nwant)
{
    char path[1024], msg[AXL_MSG_LEN] = "";
    struct axl_graph *g = NULL;
    ops_path(path, sizeof path, name);
    cr_assert_eq(axl_graph_load(path, &g, msg), AXL_OK, "%s: %s", name, msg);
    struct axl_tensor out[1];
    cr_assert_eq(axl_graph_run(g, NULL, x, out, msg), AXL_OK, "%s: %s", name, msg);
    cr_expect_eq(out[0].ndim, ndim, "%s: rank %d, want %d", name, out[0].ndim, ndim);
    for (int d = 0; d < ndim && d < out[0].ndim; d++)
        cr_expect_eq(out[0].dims[d], dims[d], "%s: dim %d is %lld, want %lld", name, d,
                     (long long)out[0].dims[d], (long long)dims[d]);
    if (axl_tensor_numel(&out[0]) == nwant)
        for (int64_t k = 0; k < nwant; k++)
            cr_expect_eq(out[0].data[k], want[k], "%s: [%lld] is %g, want %g", name,
                         (long long)k, out[0].data[k], want[k]);
    else
        cr_expect_fail("%s: %lld values, want %lld", name, (long long)axl_tensor_numel(&out[0]),
                       (long long)nwant);
    axl_tensor_free(&out[0]);
    axl_graph_free(g);
}

/* steps of INT64_MAX and INT64_MIN (with ends at the other extreme) take one
 * element per axis: x[..., 0:1] and x[..., 3:4] */
Test(net_limits, slice_extreme_steps)
{
    float xv[32], a[8], b[8];
    for (int i = 0; i < 32; i++)
        xv[i] = (float)i;
    for (int r = 0; r < 8; r++)
        a[r] = (float)(4 * r), b[r] = (float)(4 * r + 3);
    struct axl_tensor x = {.ndim = 4, .dims = {1, 2, 4, 4}, .data = xv};
    const int64_t dims[4] = {1, 2, 4, 1};
    expect_run("slice_step_max.onnx", &x, 4, dims, a, 8);
    expect_run("slice_step_min.onnx", &x, 4, dims, b, 8);
}

/* a scalar index drops the axis (ONNX: rank q + r - 1 = 1) */
Test(net_limits, gather_scalar_index)
{
    float xv[6] = {0, 1, 2, 3, 4, 5}, want[2] = {1, 4};
    struct axl_tensor x = {.ndim = 2, .dims = {2, 3}, .data = xv};
    const int64_t dims[1] = {2};
    expect_run("gather_scalar_index.onnx", &x, 1, dims, want, 2);
}

/* An operator whose meaning at opset 6 equals a supported version's runs:
 * Elu(alpha 0.5) against its definition computed here in double. */
Test(net_limits, old_opset_operator_runs)
{
    char path[1024], msg[AXL_MSG_LEN] = "";
    struct axl_graph *g = NULL;
    ops_path(path, sizeof path, "elu_opset6.onnx");
    cr_assert_eq(axl_graph_load(path, &g, msg), AXL_OK, "%s", msg);
    float xv[32];
    for (int i = 0; i < 32; i++)
        xv[i] = (float)(i - 16);
    struct axl_tensor x = {4, {1, 2, 4, 4}, xv}, out[1];
    cr_assert_eq(axl_graph_run(g, NULL, &x, out, msg), AXL_OK, "%s", msg);
    cr_assert_eq(axl_tensor_numel(&out[0]), 32);
    for (int i = 0; i < 32; i++) {
        double v = xv[i], want = v > 0 ? v : 0.5 * (exp(v) - 1);
        cr_expect(fabs(out[0].data[i] - want) <= 1e-6 * (1 + fabs(want)), "[%d] %g, want %g", i,
                  out[0].data[i], want);
    }
    axl_tensor_free(&out[0]);
    axl_graph_free(g);
}

/* Mod with fmod=1 takes the dividend's sign (C's fmodf, not Python's %);
 * Cast to float16 rounds to the nearest half, ties to even, overflow to
 * infinity (references worked out by hand below). */
Test(net_limits, mod_fmod_and_cast_to_float16)
{
    static const float d[4] = {2.0f, -3.0f, 3.0f, -2.5f};
    float xv[4] = {-4.5f, 7.25f, -3.0f, 5.5f};
    const char *models[] = {"mod_fmod.onnx", "cast_fp16.onnx"};
    for (int m = 0; m < 2; m++) {
        char path[1024], msg[AXL_MSG_LEN] = "";
        struct axl_graph *g = NULL;
        ops_path(path, sizeof path, models[m]);
        cr_assert_eq(axl_graph_load(path, &g, msg), AXL_OK, "%s", msg);
        /* fp16 cases: a tie between two halves (1 + 2^-11), a value past
         * the largest half (65520 rounds up to infinity), a subnormal */
        float hv[4] = {1.00048828125f, 65520.0f, -3.0e-6f, 0.1f};
        /* 1 + 2^-11 is halfway between 1 and 1 + 2^-10: the even one, 1;
         * 65520 is halfway between 65504 and 2^16: infinity; -3e-6 is
         * -50.33 steps of 2^-24: -50 * 2^-24; 0.1 is 1638.4 steps of 2^-14
         * in [2^-4, 2^-3): 1638 * 2^-14 */
        const float hw[4] = {1.0f, INFINITY, -50.0f * 0x1p-24f, 1638.0f * 0x1p-14f};
        struct axl_tensor x = {2, {1, 4}, m ? hv : xv}, out[1];
        cr_assert_eq(axl_graph_run(g, NULL, &x, out, msg), AXL_OK, "%s", msg);
        for (int i = 0; i < 4; i++) {
            float want = m ? hw[i] : fmodf(xv[i], d[i]);
            cr_expect(out[0].data[i] == want, "%s [%d]: %a, want %a", models[m], i,
                      out[0].data[i], want);
        }
        axl_tensor_free(&out[0]);
        axl_graph_free(g);
    }
}

/* Sum, Mean, Max and Min of one to three inputs, broadcast ([1,3], [3],
 * [2,1,3] -> [2,1,3]), against sums and comparisons written here. */
Test(net_limits, variadic_sum_mean_max_min)
{
    char path[1024], msg[AXL_MSG_LEN] = "";
    struct axl_graph *g = NULL;
    ops_path(path, sizeof path, "nary_ops.onnx");
    cr_assert_eq(axl_graph_load(path, &g, msg), AXL_OK, "%s", msg);
    static const float a[3] = {0.5f, -2.0f, 3.0f};
    static const float b[2][3] = {{1.0f, 1.0f, -1.0f}, {-4.0f, 0.25f, 2.0f}};
    float xv[3] = {-4.5f, 7.25f, -3.0f};
    struct axl_tensor x = {2, {1, 3}, xv}, out[4];
    cr_assert_eq(axl_graph_run(g, NULL, &x, out, msg), AXL_OK, "%s", msg);
    cr_assert_eq(axl_tensor_numel(&out[0]), 6);
    cr_assert_eq(axl_tensor_numel(&out[2]), 6);
    cr_assert(axl_tensor_numel(&out[1]) == 3 && axl_tensor_numel(&out[3]) == 3);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++) {
            float s = xv[j] + a[j] + b[i][j];
            float m = xv[j] > a[j] ? xv[j] : a[j];
            m = m > b[i][j] ? m : b[i][j];
            cr_expect_eq(out[0].data[i * 3 + j], s, "sum [%d][%d]", i, j);
            cr_expect_eq(out[2].data[i * 3 + j], m, "max [%d][%d]", i, j);
        }
    for (int j = 0; j < 3; j++) {
        cr_expect_eq(out[1].data[j], (xv[j] + a[j]) / 2, "mean [%d]", j);
        cr_expect_eq(out[3].data[j], xv[j], "min of one [%d]", j);
    }
    for (int k = 0; k < 4; k++)
        axl_tensor_free(&out[k]);
    axl_graph_free(g);
}
