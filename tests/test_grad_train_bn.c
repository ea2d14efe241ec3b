/* BatchNormalization's training mode updates the graph's running
 * statistics as PyTorch's BatchNorm2d does (momentum m: running = (1 - m)
 * running + m batch, the variance's update with the unbiased batch
 * variance), the expected values worked out here from the batch in double;
 * a run without training leaves them alone.  The model is the gradient
 * fixture nm_bn_train (tools/grad_cases_norm.py). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/graph.h"
#include "graph_internal.h"

#define N 4
#define C 3
#define SP 9 /* 3 x 3 */
#define NX (N * C * SP)

struct bn_model {
    struct axl_graph *g;
    const struct gnode *bn;
    float *rmean, *rvar; /* the graph's running statistics */
};

static void load(struct bn_model *m)
{
    char path[1024], msg[AXL_MSG_LEN];
    const char *src = getenv("AXL_SOURCE_DIR");
    cr_assert(src, "AXL_SOURCE_DIR must be set (ctest sets it)");
    snprintf(path, sizeof path, "%s/tests/data/grad_ops/nm_bn_train.onnx", src);
    cr_assert_eq(axl_graph_load(path, &m->g, msg), AXL_OK, "%s", msg);
    m->bn = NULL;
    for (int i = 0; i < m->g->nnodes; i++)
        if (!strcmp(m->g->nodes[i].op, "BatchNormalization"))
            m->bn = &m->g->nodes[i];
    cr_assert(m->bn, "no BatchNormalization node");
    const struct gvalue *mv = &m->g->vals[m->bn->in[3]], *vv = &m->g->vals[m->bn->in[4]];
    cr_assert(mv->kind == V_CONST && vv->kind == V_CONST && gt_numel(&mv->c) == C &&
              gt_numel(&vv->c) == C);
    m->rmean = mv->c.data;
    m->rvar = vv->c.data;
    const struct gvalue *in = &m->g->vals[m->g->inputs[0]];
    cr_assert(in->ndecl == 4 && in->decl[0] == N && in->decl[1] == C &&
              in->decl[2] * in->decl[3] == SP);
}

static struct axl_tensor input(float *x, double shift)
{
    struct axl_tensor t;
    memset(&t, 0, sizeof t);
    t.ndim = 4;
    t.dims[0] = N, t.dims[1] = C, t.dims[2] = 3, t.dims[3] = 3;
    for (int i = 0; i < NX; i++) /* a different mean and spread per channel */
        x[i] = (float)(sin(0.37 * i + shift) * (1 + i / SP % C) + 0.25 * (i / SP % C) - shift);
    t.data = x;
    return t;
}

static void run(struct bn_model *m, const struct axl_tensor *x, int train, int bn_train)
{
    struct axl_run_opts o;
    struct axl_tensor y;
    char msg[AXL_MSG_LEN];
    memset(&o, 0, sizeof o);
    o.train = train;
    o.bn_train = bn_train;
    cr_assert_eq(axl_graph_run(m->g, &o, x, &y, msg), AXL_OK, "%s", msg);
    axl_tensor_free(&y);
}

/* what torch.nn.BatchNorm2d(momentum=tm) does to the running statistics
 * rm, rv for the batch x */
static void torch_update(const float *x, double tm, double *rm, double *rv)
{
    const int cnt = N * SP;
    for (int k = 0; k < C; k++) {
        double s = 0, v = 0;
        for (int i = 0; i < N; i++)
            for (int j = 0; j < SP; j++)
                s += x[(i * C + k) * SP + j];
        s /= cnt;
        for (int i = 0; i < N; i++)
            for (int j = 0; j < SP; j++)
                v += (x[(i * C + k) * SP + j] - s) * (x[(i * C + k) * SP + j] - s);
        rm[k] = (1 - tm) * rm[k] + tm * s;
        rv[k] = (1 - tm) * rv[k] + tm * v / (cnt - 1);
    }
}

static void expect_stats(const struct bn_model *m, const double *rm, const double *rv,
                         const char *when)
{
    for (int k = 0; k < C; k++) {
        cr_expect(fabs(m->rmean[k] - rm[k]) <= 1e-6 * (1 + fabs(rm[k])),
                  "%s: running mean[%d] = %.9g, expected %.9g", when, k, (double)m->rmean[k],
                  rm[k]);
        cr_expect(fabs(m->rvar[k] - rv[k]) <= 1e-6 * (1 + fabs(rv[k])),
                  "%s: running var[%d] = %.9g, expected %.9g", when, k, (double)m->rvar[k],
                  rv[k]);
    }
}

Test(grad_train_bn, training_updates_running_statistics_as_torch)
{
    struct bn_model m;
    load(&m);
    /* the fixture leaves momentum at ONNX's default 0.9: BatchNorm2d's 0.1 */
    double tm = 1.0 - ga_float(m.bn, "momentum", 0.9f);
    cr_assert(fabs(tm - 0.1) < 1e-6);
    double rm[C], rv[C];
    for (int k = 0; k < C; k++)
        rm[k] = m.rmean[k], rv[k] = m.rvar[k];
    float x[NX], x2[NX];
    struct axl_tensor t = input(x, 0.0), t2 = input(x2, 0.7);
    run(&m, &t, 1, 1);
    torch_update(x, tm, rm, rv);
    expect_stats(&m, rm, rv, "after one step");
    /* the tape's forward updates them too, and steps compound */
    struct axl_run_opts o;
    struct axl_tensor y;
    struct axl_tape *tape = NULL;
    char msg[AXL_MSG_LEN];
    memset(&o, 0, sizeof o);
    o.train = o.bn_train = 1;
    cr_assert_eq(axl_graph_forward(m.g, &o, &t2, &y, &tape, msg), AXL_OK, "%s", msg);
    axl_tensor_free(&y);
    axl_tape_free(tape);
    torch_update(x2, tm, rm, rv);
    expect_stats(&m, rm, rv, "after a second step");
    axl_graph_free(m.g);
}

Test(grad_train_bn, runs_without_batch_statistics_leave_them_alone)
{
    struct bn_model m;
    load(&m);
    float before[2][C], x[NX];
    memcpy(before[0], m.rmean, sizeof before[0]);
    memcpy(before[1], m.rvar, sizeof before[1]);
    struct axl_tensor t = input(x, 0.3);
    run(&m, &t, 0, 0); /* inference */
    run(&m, &t, 0, 1); /* bn_train counts only in a training run */
    run(&m, &t, 1, 0); /* training with frozen statistics */
    cr_expect(!memcmp(before[0], m.rmean, sizeof before[0]), "the running mean changed");
    cr_expect(!memcmp(before[1], m.rvar, sizeof before[1]), "the running variance changed");
    axl_graph_free(m.g);
}
