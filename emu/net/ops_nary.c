/* Sum, Mean, Max and Min of one or more inputs (ONNX's variadic forms),
 * broadcast multidirectionally, float only, folded left in input order in
 * float32 as ONNX's reference does (numpy's pairwise calls).  Max and Min
 * of exactly two inputs are the binary operators of ops_elem.c, which also
 * have a backward; these have none. */
#include <math.h>
#include <string.h>

#include "graph_internal.h"

#define NARY_MAX 8

enum { N_SUM, N_MEAN, N_MAX, N_MIN };

static int nary_kind(const char *op)
{
    return !strcmp(op, "Sum") ? N_SUM : !strcmp(op, "Mean") ? N_MEAN
                                        : !strcmp(op, "Max") ? N_MAX : N_MIN;
}

/* inputs given (omitted trailing ones are not counted by the table) */
static int nary_count(const struct gnode *n)
{
    int k = 0;
    while (k < n->n_in && n->in[k] >= 0)
        k++;
    return k;
}

enum axl_status axl_nary_shape(struct run_ctx *c, const struct gnode *n, char *msg)
{
    int k = nary_count(n);
    if (k < 1 || k > NARY_MAX || k != n->n_in)
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "1 to %d inputs, none omitted, are supported",
                        NARY_MAX);
    struct gtensor acc;
    memset(&acc, 0, sizeof acc);
    for (int i = 0; i < k; i++) {
        enum axl_status st = float_input(c, n, i, msg);
        if (st != AXL_OK)
            return st;
        const struct gtensor *x = in_t(c, n, i);
        if (x->ndim > AXL_MAX_DIMS)
            return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "rank above %d", AXL_MAX_DIMS);
        if (i == 0) {
            acc.ndim = x->ndim;
            memcpy(acc.dims, x->dims, sizeof acc.dims);
        } else {
            int nd; /* bcast_shape reads acc while it writes: a separate result */
            int64_t d[AXL_MAX_DIMS];
            if ((st = bcast_shape(&acc, x, &nd, d, msg)) != AXL_OK)
                return st;
            acc.ndim = nd;
            memcpy(acc.dims, d, sizeof d);
        }
    }
    return set_out(c, n, 0, GDT_F32, acc.ndim, acc.dims, msg);
}

static float fold(int kind, float acc, float v)
{
    switch (kind) {
    case N_MAX: return acc >= v || isnan(acc) ? acc : v;
    case N_MIN: return acc <= v || isnan(acc) ? acc : v;
    default: return acc + v;
    }
}

enum axl_status axl_nary_exec(struct run_ctx *c, const struct gnode *n, char *msg)
{
    (void)msg;
    struct gtensor *y = out_t(c, n, 0);
    const int k = nary_count(n), r = y->ndim, kind = nary_kind(n->op);
    int64_t str[NARY_MAX][AXL_MAX_DIMS];
    const float *x[NARY_MAX];
    for (int i = 0; i < k; i++) {
        const struct gtensor *t = in_t(c, n, i);
        bcast_strides(t, r, y->dims, str[i]);
        x[i] = t->data;
    }
    float *out = y->data;
    const int64_t cnt = gt_numel(y);
    for (int64_t o = 0; o < cnt; o++) {
        int64_t off[NARY_MAX] = {0}, rem = o;
        for (int d = r - 1; d >= 0; d--) {
            int64_t q = rem % y->dims[d];
            rem /= y->dims[d];
            for (int i = 0; i < k; i++)
                off[i] += q * str[i][d];
        }
        float acc = x[0][off[0]];
        for (int i = 1; i < k; i++)
            acc = fold(kind, acc, x[i][off[i]]);
        out[o] = kind == N_MEAN ? acc / (float)k : acc;
    }
    return AXL_OK;
}

const struct op_def axl_ops_nary[] = {
    {"Sum", "", 1, NARY_MAX, 1, 1, 0, 0, NULL, axl_nary_shape, axl_nary_exec, NULL, 0},
    {"Mean", "", 1, NARY_MAX, 1, 1, 0, 0, NULL, axl_nary_shape, axl_nary_exec, NULL, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};
