/* What the PyTorch fixtures of test_grad_ops cannot check about the
 * operators that move data: Dropout's training forward and backward (its
 * mask comes from axlut's own stream, not from torch's generator), and the
 * opset-18 forms that the fixture generator's onnx cannot write (Split's
 * num_outputs, Pad's axes).  Models: tests/data/grad_train, written by
 * tools/grad_cases_move.py. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autodiff.h"
#include "axlut/graph.h"
#include "graph_internal.h"

/* Dropout models: x is (N, 100); 400 rows give 40000 elements, more than
 * PAR_MIN, so that the forward and the backward run on threads */
#define ROWS 400
#define COLS 100
#define NUM (ROWS * COLS)
_Static_assert(NUM > PAR_MIN, "the Dropout tests should run threaded");

static struct axl_graph *load(const char *name)
{
    const char *src = getenv("AXL_SOURCE_DIR");
    char path[1024], msg[AXL_MSG_LEN];
    cr_assert(src, "AXL_SOURCE_DIR must be set (ctest sets it)");
    snprintf(path, sizeof path, "%s/tests/data/grad_train/%s.onnx", src, name);
    struct axl_graph *g = NULL;
    cr_assert_eq(axl_graph_load(path, &g, msg), AXL_OK, "%s", msg);
    return g;
}

/* deterministic values in [-1.5, -0.5] u [0.5, 1.5]: none is zero, so a
 * zero output means a dropped element */
static void fill(float *v, int64_t n, uint32_t seed)
{
    uint32_t s = seed * 2654435761u + 1;
    for (int64_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        float m = 0.5f + (float)(s >> 8) / 16777216.0f;
        v[i] = s & 1 ? m : -m;
    }
}

struct drop_run {
    float y[NUM], mask[NUM];
};

/* one run of a Dropout model on x (N = ROWS) */
static void run_dropout(struct axl_graph *g, const float *x, int train, uint64_t seed,
                        struct drop_run *r)
{
    struct axl_tensor in = {2, {ROWS, COLS}, (float *)x}, out[2];
    struct axl_run_opts o;
    char msg[AXL_MSG_LEN];
    memset(&o, 0, sizeof o);
    o.train = train;
    o.seed = seed;
    cr_assert_eq(axl_graph_run(g, &o, &in, out, msg), AXL_OK, "%s", msg);
    memcpy(r->y, out[0].data, sizeof r->y);
    memcpy(r->mask, out[1].data, sizeof r->mask);
    axl_tensor_free(&out[0]);
    axl_tensor_free(&out[1]);
}

static float scale_of(float ratio) { return 1.0f / (1.0f - ratio); }

Test(grad_train, dropout_inference_is_the_identity)
{
    static const char *models[] = {"dropout_opset10", "dropout_opset13",
                                   "dropout_training_mode"};
    static float x[NUM];
    static struct drop_run r;
    fill(x, NUM, 1);
    for (int m = 0; m < 3; m++) {
        struct axl_graph *g = load(models[m]);
        /* training_mode = true in the model does not matter: the run option does */
        run_dropout(g, x, 0, 7, &r);
        cr_expect(!memcmp(r.y, x, sizeof x), "%s: inference changed the values", models[m]);
        int ones = 0;
        for (int i = 0; i < NUM; i++)
            ones += r.mask[i] == 1.0f;
        cr_expect_eq(ones, NUM, "%s: the inference mask drops %d elements", models[m],
                     NUM - ones);
        axl_graph_free(g);
    }
}

/* the training forward of one model: about ratio dropped, kept ones scaled
 * by exactly 1/(1 - ratio), the mask agreeing, and the mask dropout_keep
 * draws one element after the other (whatever the threads did) */
static void check_training_forward(const char *name, float ratio)
{
    static float x[NUM];
    static struct drop_run r;
    struct axl_graph *g = load(name);
    const float scale = scale_of(ratio);
    const uint64_t seed = 0x5EEDu;
    struct gnode node; /* dropout_keep reads the node's place in the file */
    memset(&node, 0, sizeof node);
    fill(x, NUM, 2);
    run_dropout(g, x, 1, seed, &r);
    int dropped = 0, bad_val = 0, bad_mask = 0, bad_draw = 0;
    for (int i = 0; i < NUM; i++) {
        int keep = r.mask[i] == 1.0f;
        dropped += !keep;
        bad_mask += !(r.mask[i] == 0.0f || r.mask[i] == 1.0f) || keep != (r.y[i] != 0.0f);
        bad_val += keep ? r.y[i] != x[i] * scale : r.y[i] != 0.0f;
        bad_draw += keep != dropout_keep(seed, &node, i, ratio);
    }
    /* a binomial count: five standard deviations either side */
    double mean = NUM * (double)ratio, sd = sqrt(NUM * (double)ratio * (1.0 - ratio));
    cr_expect(fabs(dropped - mean) <= 5 * sd, "%s: %d of %d dropped with ratio %g", name,
              dropped, NUM, (double)ratio);
    cr_expect_eq(bad_val, 0, "%s: %d values are neither x / (1 - ratio) nor 0", name, bad_val);
    cr_expect_eq(bad_mask, 0, "%s: %d mask entries disagree with the output", name, bad_mask);
    cr_expect_eq(bad_draw, 0, "%s: %d mask entries are not dropout_keep's", name, bad_draw);
    axl_graph_free(g);
}

Test(grad_train, dropout_training_forward)
{
    check_training_forward("dropout_opset10", 0.25f);       /* ratio attribute */
    check_training_forward("dropout_opset13", 0.3f);        /* ratio input */
    check_training_forward("dropout_training_mode", 0.5f); /* training_mode not read */
}

Test(grad_train, dropout_mask_follows_the_seed)
{
    static float x[NUM];
    static struct drop_run a, b, c;
    struct axl_graph *g = load("dropout_opset13");
    fill(x, NUM, 3);
    run_dropout(g, x, 1, 11, &a);
    run_dropout(g, x, 1, 11, &b);
    run_dropout(g, x, 1, 12, &c);
    cr_expect(!memcmp(a.mask, b.mask, sizeof a.mask), "the same seed gave another mask");
    cr_expect(!memcmp(a.y, b.y, sizeof a.y), "the same seed gave other values");
    int differ = 0;
    for (int i = 0; i < NUM; i++)
        differ += a.mask[i] != c.mask[i];
    /* two independent masks of ratio 0.3 differ at 2 * 0.3 * 0.7 = 42% of the elements */
    cr_expect_gt(differ, NUM / 4, "seeds 11 and 12 differ at only %d of %d elements", differ,
                 NUM);
    axl_graph_free(g);
}

/* forward with a tape, then the backward of dout through y (none through
 * the mask); the gradient of x into gx, the forward's outputs into r */
static void dropout_grad(struct axl_graph *g, const float *x, int train, uint64_t seed,
                         const float *dout, float *gx, struct drop_run *r)
{
    struct axl_tensor in = {2, {ROWS, COLS}, (float *)x}, out[2];
    struct axl_tensor dt[2] = {{2, {ROWS, COLS}, (float *)dout}, {2, {ROWS, COLS}, NULL}};
    struct axl_run_opts o;
    struct axl_tape *tape = NULL;
    char msg[AXL_MSG_LEN];
    memset(&o, 0, sizeof o);
    o.train = train;
    o.seed = seed;
    cr_assert_eq(axl_graph_check_backward(g, msg), AXL_OK, "%s", msg);
    cr_assert_eq(axl_graph_forward(g, &o, &in, out, &tape, msg), AXL_OK, "%s", msg);
    memcpy(r->y, out[0].data, sizeof r->y);
    memcpy(r->mask, out[1].data, sizeof r->mask);
    axl_tensor_free(&out[0]);
    axl_tensor_free(&out[1]);
    memset(gx, 0, NUM * sizeof *gx);
    float *ig[1] = {gx};
    cr_assert_eq(axl_graph_backward(tape, NULL, dt, NULL, ig, msg), AXL_OK, "%s", msg);
    axl_tape_free(tape);
}

Test(grad_train, dropout_backward_is_the_mask_times_the_scale)
{
    static float x[NUM], dout[NUM], gx[NUM];
    static struct drop_run r, plain;
    const float ratio = 0.3f, scale = scale_of(ratio);
    struct axl_graph *g = load("dropout_opset13");
    fill(x, NUM, 4);
    fill(dout, NUM, 5);
    dropout_grad(g, x, 1, 99, dout, gx, &r);
    /* the tape's forward draws the mask a plain run draws */
    run_dropout(g, x, 1, 99, &plain);
    cr_expect(!memcmp(r.mask, plain.mask, sizeof r.mask), "the tape's mask is another one");
    int bad = 0, dropped = 0;
    for (int i = 0; i < NUM; i++) {
        float want = dout[i] * r.mask[i] * scale;
        if (memcmp(&gx[i], &want, sizeof want) && !(gx[i] == 0.0f && want == 0.0f) && !bad++)
            cr_log_error("dx[%d] = %.9g, dout * mask / (1 - ratio) = %.9g", i, (double)gx[i],
                         (double)want);
        dropped += r.mask[i] == 0.0f;
    }
    cr_expect_eq(bad, 0, "%d gradient elements differ", bad);
    cr_expect_gt(dropped, 0, "nothing was dropped");
    /* outside training the gradient passes unchanged */
    dropout_grad(g, x, 0, 99, dout, gx, &r);
    cr_expect(!memcmp(gx, dout, sizeof gx), "the inference backward is not the identity");
    axl_graph_free(g);
}

/* ---- opset 18 forms ----------------------------------------------------------------------- */
Test(grad_train, split_num_outputs_gradient)
{
    /* x (5, 2) in parts of 2, 2 and 1 rows; the middle part is no output */
    struct axl_graph *g = load("split_num_outputs");
    float x[10], d0[4], d2[2], gx[10] = {0};
    fill(x, 10, 6);
    fill(d0, 4, 7);
    fill(d2, 2, 8);
    struct axl_tensor in = {2, {5, 2}, x}, out[2];
    struct axl_tensor dt[2] = {{2, {2, 2}, d0}, {2, {1, 2}, d2}};
    struct axl_tape *tape = NULL;
    char msg[AXL_MSG_LEN];
    cr_assert_eq(axl_graph_forward(g, NULL, &in, out, &tape, msg), AXL_OK, "%s", msg);
    cr_expect(out[0].dims[0] == 2 && out[1].dims[0] == 1, "parts of %lld and %lld rows",
              (long long)out[0].dims[0], (long long)out[1].dims[0]);
    cr_expect(!memcmp(out[0].data, x, 4 * sizeof *x) && !memcmp(out[1].data, x + 8, 2 * sizeof *x),
              "the parts are not x's rows 0-1 and 4");
    axl_tensor_free(&out[0]);
    axl_tensor_free(&out[1]);
    float *ig[1] = {gx};
    cr_assert_eq(axl_graph_backward(tape, NULL, dt, NULL, ig, msg), AXL_OK, "%s", msg);
    axl_tape_free(tape);
    const float want[10] = {d0[0], d0[1], d0[2], d0[3], 0, 0, 0, 0, d2[0], d2[1]};
    for (int i = 0; i < 10; i++)
        cr_expect_eq(gx[i], want[i], "dx[%d] = %g, want %g", i, (double)gx[i],
                     (double)want[i]);
    axl_graph_free(g);
}

/* the forward and the gradient of x of one Pad model (y is 2x2x7x6) */
static void pad_run(const char *name, const float *x, const float *dout, float *y, float *gx)
{
    struct axl_graph *g = load(name);
    struct axl_tensor in = {4, {2, 2, 4, 3}, (float *)x}, out;
    struct axl_tensor dt = {4, {2, 2, 7, 6}, (float *)dout};
    struct axl_tape *tape = NULL;
    char msg[AXL_MSG_LEN];
    cr_assert_eq(axl_graph_forward(g, NULL, &in, &out, &tape, msg), AXL_OK, "%s: %s", name,
                 msg);
    cr_assert_eq(axl_tensor_numel(&out), 2 * 2 * 7 * 6, "%s: output shape", name);
    memcpy(y, out.data, 2 * 2 * 7 * 6 * sizeof *y);
    axl_tensor_free(&out);
    float *ig[1] = {gx};
    memset(gx, 0, 2 * 2 * 4 * 3 * sizeof *gx);
    cr_assert_eq(axl_graph_backward(tape, NULL, &dt, NULL, ig, msg), AXL_OK, "%s", msg);
    axl_tape_free(tape);
    axl_graph_free(g);
}

Test(grad_train, pad_axes_as_full_pads)
{
    float x[48], dout[168], y18[168], y13[168], g18[48], g13[48];
    fill(x, 48, 9);
    fill(dout, 168, 10);
    pad_run("pad_axes_opset18", x, dout, y18, g18);
    pad_run("pad_axes_opset13", x, dout, y13, g13);
    cr_expect(!memcmp(y18, y13, sizeof y18), "the axes form pads otherwise");
    cr_expect(!memcmp(g18, g13, sizeof g18), "the axes form's gradient differs");
    /* reflect padding adds border copies' gradients: the sum is kept */
    double s_in = 0, s_out = 0;
    for (int i = 0; i < 48; i++)
        s_in += g18[i];
    for (int i = 0; i < 168; i++)
        s_out += dout[i];
    cr_expect(fabs(s_in - s_out) < 1e-4, "gradient sum %g, dout sum %g", s_in, s_out);
}
