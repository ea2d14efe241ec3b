/* Exact float32 operators: element-wise functions, broadcasting binary
 * operators, Where, softmax and reductions (normalisations and pooling are
 * in ops_norm.c).  Binary arithmetic also runs on int64 (shape
 * arithmetic). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "autodiff.h"

/* ---- unary -------------------------------------------------------------------- */
enum un { U_RELU, U_LEAKY, U_SIGMOID, U_TANH, U_HSIG, U_HSWISH, U_ERF, U_GELU, U_GELU_TANH,
          U_SQRT, U_EXP, U_LOG, U_ABS, U_NEG, U_RECIP, U_FLOOR, U_CEIL, U_ELU, U_SOFTPLUS,
          U_CLIP, U_SIN, U_COS };

static const struct {
    const char *name;
    int op;
} k_unary[] = {
    {"Relu", U_RELU}, {"LeakyRelu", U_LEAKY}, {"Sigmoid", U_SIGMOID}, {"Tanh", U_TANH},
    {"HardSigmoid", U_HSIG}, {"HardSwish", U_HSWISH}, {"Erf", U_ERF}, {"Gelu", U_GELU},
    {"Sqrt", U_SQRT}, {"Exp", U_EXP}, {"Log", U_LOG}, {"Abs", U_ABS}, {"Neg", U_NEG},
    {"Reciprocal", U_RECIP}, {"Floor", U_FLOOR}, {"Ceil", U_CEIL}, {"Elu", U_ELU},
    {"Softplus", U_SOFTPLUS}, {"Clip", U_CLIP}, {"Sin", U_SIN}, {"Cos", U_COS},
};

static int unary_kind(const struct gnode *n)
{
    for (size_t i = 0; i < sizeof k_unary / sizeof k_unary[0]; i++)
        if (!strcmp(k_unary[i].name, n->op))
            return k_unary[i].op == U_GELU && !strcmp(ga_str(n, "approximate", "none"), "tanh")
                       ? U_GELU_TANH
                       : k_unary[i].op;
    return -1;
}

static enum axl_status unary_check(const struct axl_graph *g, const struct gnode *n, char *msg)
{
    if (!strcmp(n->op, "Gelu")) {
        const char *a = ga_str(n, "approximate", "none");
        if (strcmp(a, "none") && strcmp(a, "tanh"))
            return axl_msgf(msg, AXL_ERR_UNSUPPORTED,
                            "approximate='%.40s' is not supported "
                            "(none, tanh)",
                            a);
    }
    if (!strcmp(n->op, "Clip") && g->opset >= 11 && (ga_find(n, "min") || ga_find(n, "max")))
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED,
                        "min/max attributes are not valid from opset 11 "
                        "(they are inputs)");
    return AXL_OK;
}

static float scalar_in(struct run_ctx *c, const struct gnode *n, int i, float dflt)
{
    struct gtensor *t = in_t(c, n, i);
    return t && t->data && gt_numel(t) > 0 ? (float)gt_getd(t, 0) : dflt;
}

/* the attributes (and Clip's bounds) of a unary node */
struct uparams {
    int k; /* enum un */
    float alpha, beta, lo, hi;
};

static struct uparams unary_params(struct run_ctx *c, const struct gnode *n)
{
    struct uparams p;
    p.k = unary_kind(n);
    p.alpha = ga_float(n, "alpha", p.k == U_LEAKY ? 0.01f : p.k == U_HSIG ? 0.2f : 1.0f);
    p.beta = ga_float(n, "beta", 0.5f);
    p.lo = -INFINITY, p.hi = INFINITY;
    if (p.k == U_CLIP) {
        if (c->g->opset < 11) {
            p.lo = ga_float(n, "min", -FLT_MAX);
            p.hi = ga_float(n, "max", FLT_MAX);
        } else {
            p.lo = scalar_in(c, n, 1, -INFINITY);
            p.hi = scalar_in(c, n, 2, INFINITY);
        }
    }
    return p;
}

/* Neg and Abs also on integer tensors (the index and axis arithmetic of
 * exported graphs: a LayerNormalization expanded into its parts negates
 * an axis): int64 in, int64 out, wrapping as two's complement. */
static enum axl_status unary_shape(struct run_ctx *c, const struct gnode *n, char *msg)
{
    const struct gtensor *x = in_t(c, n, 0);
    if (x->dtype == GDT_I64 && (!strcmp(n->op, "Neg") || !strcmp(n->op, "Abs")))
        return set_out(c, n, 0, GDT_I64, x->ndim, x->dims, msg);
    return same_shape(c, n, msg);
}

static void unary_exec_int(const struct gtensor *xt, struct gtensor *yt, int neg)
{
    const int64_t *x = xt->data;
    int64_t *y = yt->data, cnt = gt_numel(xt);
    for (int64_t i = 0; i < cnt; i++)
        y[i] = neg || x[i] < 0 ? (int64_t)(0u - (uint64_t)x[i]) : x[i];
}

static enum axl_status unary_exec(struct run_ctx *c, const struct gnode *n, char *msg)
{
    (void)msg;
    const struct gtensor *xt = in_t(c, n, 0);
    if (xt->dtype == GDT_I64) {
        unary_exec_int(xt, out_t(c, n, 0), !strcmp(n->op, "Neg"));
        return AXL_OK;
    }
    const float *x = xt->data;
    float *y = out_t(c, n, 0)->data;
    int64_t cnt = gt_numel(xt);
    const struct uparams p = unary_params(c, n);
    const int k = p.k;
    const float alpha = p.alpha, beta = p.beta, lo = p.lo, hi = p.hi;
    /* the activations of CNNs, vectorised (the same expressions as below);
     * the if clauses name parallel: unnamed, they also turned the simd
     * construct off (OpenMP 5.0) for tensors of up to PAR_MIN elements */
    if (k == U_RELU) {
#pragma omp parallel for simd schedule(static) if (parallel : cnt > PAR_MIN)
        for (int64_t i = 0; i < cnt; i++)
            y[i] = x[i] > 0 ? x[i] : 0.0f;
        return AXL_OK;
    }
    if (k == U_CLIP) {
#pragma omp parallel for simd schedule(static) if (parallel : cnt > PAR_MIN)
        for (int64_t i = 0; i < cnt; i++)
            y[i] = x[i] < lo ? lo : x[i] > hi ? hi : x[i];
        return AXL_OK;
    }
#pragma omp parallel for schedule(static) if (cnt > PAR_MIN)
    for (int64_t i = 0; i < cnt; i++) {
        float v = x[i], r;
        switch (k) {
        case U_RELU: r = v > 0 ? v : 0.0f; break;
        case U_LEAKY: r = v >= 0 ? v : alpha * v; break;
        case U_SIGMOID: r = 1.0f / (1.0f + expf(-v)); break;
        case U_TANH: r = tanhf(v); break;
        case U_HSIG: r = fmaxf(0.0f, fminf(1.0f, alpha * v + beta)); break;
        case U_HSWISH: r = v * fmaxf(0.0f, fminf(1.0f, v / 6.0f + 0.5f)); break;
        case U_ERF: r = erff(v); break;
        case U_GELU: r = (float)(0.5 * v * (1.0 + erf(v / 1.4142135623730951))); break;
        case U_GELU_TANH:
            r = (float)(0.5 * v * (1.0 + tanh(0.7978845608028654 * (v + 0.044715 * v * v * v))));
            break;
        case U_SQRT: r = sqrtf(v); break;
        case U_EXP: r = expf(v); break;
        case U_LOG: r = logf(v); break;
        case U_ABS: r = fabsf(v); break;
        case U_NEG: r = -v; break;
        case U_RECIP: r = 1.0f / v; break;
        case U_FLOOR: r = floorf(v); break;
        case U_CEIL: r = ceilf(v); break;
        case U_ELU: r = v >= 0 ? v : alpha * (expf(v) - 1.0f); break;
        case U_SOFTPLUS: r = v > 20.0f ? v : log1pf(expf(v)); break;
        case U_CLIP: r = v < lo ? lo : v > hi ? hi : v; break;
        case U_SIN: r = sinf(v); break;
        default: r = cosf(v); break;
        }
        y[i] = r;
    }
    return AXL_OK;
}

/* d y / d x at x = v, y = r.  Where the function has a kink the value is
 * PyTorch's: Relu 0 and LeakyRelu alpha at 0, Abs 0 at 0, Elu alpha at 0,
 * HardSigmoid 0 at its corners, HardSwish -0.5 at -3 and 1.5 at 3, Clip 1
 * on its bounds (torch.clamp passes the gradient where min <= x <= max). */
static double unary_grad(const struct uparams *p, double v, double r)
{
    const double k0 = 0.7978845608028654, c3 = 0.044715; /* sqrt(2/pi), tanh-Gelu's cubic */
    switch (p->k) {
    case U_RELU: return v > 0;
    case U_LEAKY: return v > 0 ? 1.0 : p->alpha;
    case U_SIGMOID: return r * (1.0 - r);
    case U_TANH: return 1.0 - r * r;
    case U_HSIG: {
        float s = p->alpha * (float)v + p->beta;
        return s > 0.0f && s < 1.0f ? p->alpha : 0.0;
    }
    case U_HSWISH: return v < -3.0 ? 0.0 : v <= 3.0 ? v / 3.0 + 0.5 : 1.0;
    case U_ERF: return 1.1283791670955126 * exp(-v * v); /* 2/sqrt(pi) */
    case U_GELU: /* Phi(v) + v phi(v) */
        return 0.5 * (1.0 + erf(v / 1.4142135623730951)) +
               v * 0.3989422804014327 * exp(-0.5 * v * v);
    case U_GELU_TANH: {
        double t = tanh(k0 * (v + c3 * v * v * v));
        return 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * k0 * (1.0 + 3.0 * c3 * v * v);
    }
    case U_SQRT: return 0.5 / r;
    case U_EXP: return r;
    case U_LOG: return 1.0 / v;
    case U_ABS: return v > 0 ? 1.0 : v < 0 ? -1.0 : 0.0;
    case U_NEG: return -1.0;
    case U_RECIP: return -r * r;
    case U_ELU: return v > 0 ? 1.0 : p->alpha * exp(v);
    case U_SOFTPLUS: return v > 20.0 ? 1.0 : 1.0 / (1.0 + exp(-v)); /* the forward's threshold */
    case U_CLIP: return v >= p->lo && v <= p->hi;
    case U_SIN: return cos(v);
    case U_COS: return -sin(v);
    default: return 0.0; /* Floor, Ceil: piecewise constant */
    }
}

static enum axl_status unary_backward(struct grad_ctx *gc, const struct gnode *n, char *msg)
{
    const float *dy = grad_out(gc, n, 0);
    float *gx;
    enum axl_status st = grad_in(gc, n, 0, &gx, msg);
    const struct uparams p = unary_params(gc->c, n);
    if (st != AXL_OK || !gx || !dy || p.k == U_FLOOR || p.k == U_CEIL ||
        out_t(gc->c, n, 0)->dtype != GDT_F32)
        return st;
    const struct gtensor *xt = in_t(gc->c, n, 0);
    const float *x = xt->data, *y = out_t(gc->c, n, 0)->data;
    int64_t cnt = gt_numel(xt);
#pragma omp parallel for schedule(static) if (cnt > PAR_MIN)
    for (int64_t i = 0; i < cnt; i++) {
        double d = unary_grad(&p, x[i], y[i]);
        if (d != 0.0) /* a masked element stays 0 whatever dy holds, as torch's where */
            gx[i] += (float)(dy[i] * d);
    }
    return AXL_OK;
}

/* ---- binary, broadcasting ----------------------------------------------------- */
enum bin { B_ADD, B_SUB, B_MUL, B_DIV, B_POW, B_MAX, B_MIN, B_PRELU, B_EQ, B_LT, B_GT, B_LE, B_GE,
           B_AND, B_OR, B_MOD, B_FMOD /* Mod with fmod=1: the sign of the dividend */ };

static int bin_kind(const char *op)
{
    static const char *names[] = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "PRelu",
                                  "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual",
                                  "And", "Or", "Mod"};
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        if (!strcmp(names[i], op))
            return i;
    return -1;
}

static enum axl_status bin_check(const struct axl_graph *g, const struct gnode *n, char *msg)
{
    if (g->opset < 7 && ga_find(n, "broadcast"))
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "legacy broadcast attribute");
    return AXL_OK;
}

static enum axl_status bin_shape(struct run_ctx *c, const struct gnode *n, char *msg)
{
    struct gtensor *a = in_t(c, n, 0), *b = in_t(c, n, 1);
    int k = bin_kind(n->op), nd;
    int64_t d[AXL_MAX_DIMS + 1];
    if (a->ndim > AXL_MAX_DIMS || b->ndim > AXL_MAX_DIMS)
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "rank above %d", AXL_MAX_DIMS);
    enum axl_status st = bcast_shape(a, b, &nd, d, msg);
    if (st != AXL_OK)
        return st;
    if (a->dtype != b->dtype && k != B_POW)
        return axl_msgf(msg, AXL_ERR_INVALID, "inputs of different element types");
    if (k == B_PRELU && (a->dtype != GDT_F32))
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "integer PRelu");
    int dt = k >= B_EQ && k <= B_OR ? GDT_I64 : a->dtype;
    if (k == B_POW && a->dtype != GDT_F32)
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "integer Pow");
    return set_out(c, n, 0, dt, nd, d, msg);
}

static float fbin(int k, float a, float b)
{
    switch (k) {
    case B_ADD: return a + b;
    case B_SUB: return a - b;
    case B_MUL: return a * b;
    case B_DIV: return a / b;
    case B_POW: return b == 2.0f ? a * a : b == 0.5f ? sqrtf(a) : powf(a, b);
    case B_MAX: return a >= b || isnan(a) ? a : b;
    case B_MIN: return a <= b || isnan(a) ? a : b;
    case B_PRELU: return a >= 0 ? a : a * b;
    case B_MOD: { float r = fmodf(a, b); return r != 0 && ((r < 0) != (b < 0)) ? r + b : r; }
    case B_FMOD: return fmodf(a, b);
    default: return 0;
    }
}

static int64_t fcmp(int k, double a, double b)
{
    switch (k) {
    case B_EQ: return a == b;
    case B_LT: return a < b;
    case B_GT: return a > b;
    case B_LE: return a <= b;
    case B_GE: return a >= b;
    case B_AND: return a != 0 && b != 0;
    default: return a != 0 || b != 0;
    }
}

static int64_t ibin(int k, int64_t a, int64_t b, int *err)
{
    switch (k) {
    case B_ADD: return (int64_t)((uint64_t)a + (uint64_t)b);
    case B_SUB: return (int64_t)((uint64_t)a - (uint64_t)b);
    case B_MUL: return (int64_t)((uint64_t)a * (uint64_t)b);
    case B_DIV:
        if (!b || (a == INT64_MIN && b == -1)) {
            *err = 1;
            return 0;
        }
        return a / b;
    case B_MOD:
        if (!b || (a == INT64_MIN && b == -1)) {
            *err = 1;
            return 0;
        }
        {
            int64_t m = a % b;
            return m != 0 && ((m < 0) != (b < 0)) ? m + b : m;
        }
    case B_FMOD:
        if (!b || (a == INT64_MIN && b == -1)) {
            *err = 1;
            return 0;
        }
        return a % b; /* C's remainder takes the dividend's sign, as fmod=1 asks */
    case B_MAX: return a > b ? a : b;
    case B_MIN: return a < b ? a : b;
    default: return 0;
    }
}

/* One row of a float Add, Sub, Mul or Div whose operands run along it
 * (stride 1) or stay put (stride 0): vectorised, the same expression as
 * fbin's; 0 when the row is not of that kind (fbin's loop does it). */
#define ROW_OP(OP)                                                                                 \
    do {                                                                                           \
        if (ia && ib) {                                                                            \
            _Pragma("omp simd") for (int64_t i = 0; i < len; i++) y[i] = a[i] OP b[i];             \
        } else if (ia) {                                                                           \
            const float bv = b[0];                                                                 \
            _Pragma("omp simd") for (int64_t i = 0; i < len; i++) y[i] = a[i] OP bv;               \
        } else {                                                                                   \
            const float av = a[0];                                                                 \
            _Pragma("omp simd") for (int64_t i = 0; i < len; i++) y[i] = av OP b[i];               \
        }                                                                                          \
    } while (0)

static int fbin_row(int k, const float *a, int64_t ia, const float *b, int64_t ib, float *y,
                    int64_t len)
{
    if ((ia != 0 && ia != 1) || (ib != 0 && ib != 1) || (!ia && !ib))
        return 0;
    switch (k) {
    case B_ADD: ROW_OP(+); return 1;
    case B_SUB: ROW_OP(-); return 1;
    case B_MUL: ROW_OP(*); return 1;
    case B_DIV: ROW_OP(/); return 1;
    default: return 0;
    }
}
#undef ROW_OP

static enum axl_status bin_exec(struct run_ctx *c, const struct gnode *n, char *msg)
{
    const struct gtensor *a = in_t(c, n, 0), *b = in_t(c, n, 1);
    struct gtensor *y = out_t(c, n, 0);
    int k = bin_kind(n->op), r = y->ndim;
    if (k == B_MOD && ga_int(n, "fmod", 0) != 0)
        k = B_FMOD;
    int64_t sa[AXL_MAX_DIMS], sb[AXL_MAX_DIMS];
    bcast_strides(a, r, y->dims, sa);
    bcast_strides(b, r, y->dims, sb);
    int64_t inner = r ? y->dims[r - 1] : 1, ia = r ? sa[r - 1] : 0, ib = r ? sb[r - 1] : 0;
    int64_t outer = inner ? gt_numel(y) / inner : 0;
    int cmp = k >= B_EQ && k <= B_OR, err = 0;
    int fl = a->dtype == GDT_F32;
    /* both float: rows through fbin_row where it takes them */
    int ff = fl && b->dtype == GDT_F32 && !cmp;
#pragma omp parallel for schedule(static) if (outer * inner > PAR_MIN) reduction(| : err)
    for (int64_t o = 0; o < outer; o++) {
        int64_t oa = 0, ob = 0, rem = o;
        for (int d = r - 2; d >= 0; d--) {
            int64_t q = rem % y->dims[d];
            rem /= y->dims[d];
            oa += q * sa[d];
            ob += q * sb[d];
        }
        if (ff && fbin_row(k, (const float *)a->data + oa, ia, (const float *)b->data + ob, ib,
                           (float *)y->data + o * inner, inner))
            continue;
        for (int64_t i = 0; i < inner; i++) {
            int64_t pa = oa + i * ia, pb = ob + i * ib, po = o * inner + i;
            if (cmp)
                ((int64_t *)y->data)[po] = fcmp(k, gt_getd(a, pa), gt_getd(b, pb));
            else if (fl)
                ((float *)y->data)[po] = fbin(k, ((const float *)a->data)[pa],
                                              (float)gt_getd(b, pb));
            else
                ((int64_t *)y->data)[po] = ibin(k, ((const int64_t *)a->data)[pa],
                                                ((const int64_t *)b->data)[pb], &err);
        }
    }
    if (err)
        return axl_msgf(msg, AXL_ERR_INVALID, "integer division by zero");
    return AXL_OK;
}

/* ---- backward of the broadcasting operators ------------------------------------------- */
/* Where a backward adds input i's gradient computed at the output's shape
 * y: straight into the input's gradient when the input has the output's
 * size (then it was not broadcast), else into a temporary that sink_close
 * sums over the broadcast dimensions.  dst NULL: no gradient wanted. */
struct sink {
    float *dst, *tmp;
};

static enum axl_status sink_open(struct grad_ctx *gc, const struct gnode *n, int i,
                                 const struct gtensor *y, struct sink *s, char *msg)
{
    s->dst = s->tmp = NULL;
    const struct gtensor *x = in_t(gc->c, n, i);
    float *g;
    if (!x || x->dtype != GDT_F32)
        return AXL_OK;
    enum axl_status st = grad_in(gc, n, i, &g, msg);
    int64_t cnt = gt_numel(y);
    if (st != AXL_OK || !g || gt_numel(x) == cnt) {
        s->dst = g;
        return st;
    }
    if (!(s->tmp = calloc((size_t)(cnt > 0 ? cnt : 1), sizeof(float))))
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory for a gradient of %lld values",
                        (long long)cnt);
    s->dst = s->tmp;
    return AXL_OK;
}

/* st, or the reduction's failure; frees the temporary either way */
static enum axl_status sink_close(struct grad_ctx *gc, const struct gnode *n, int i,
                                  const struct gtensor *y, struct sink *s, enum axl_status st,
                                  char *msg)
{
    if (s->tmp && st == AXL_OK)
        st = grad_in_reduce(gc, n, i, s->tmp, y->ndim, y->dims, msg);
    free(s->tmp);
    s->tmp = s->dst = NULL;
    return st;
}

/* d y / d a and d y / d b of y = a (op) b; ties of Max and Min split the
 * gradient evenly and PRelu's slope gets none at x = 0, as in PyTorch
 * (torch.maximum, torch.minimum, F.prelu) */
static void bin_grad(int k, double a, double b, double *da, double *db)
{
    switch (k) {
    case B_ADD: *da = 1.0, *db = 1.0; break;
    case B_SUB: *da = 1.0, *db = -1.0; break;
    case B_MUL: *da = b, *db = a; break;
    case B_DIV: *da = 1.0 / b, *db = -a / (b * b); break;
    case B_POW: /* torch: 0 for a zero exponent, and for a zero base with b >= 0 */
        *da = b == 0.0 ? 0.0 : b * pow(a, b - 1.0);
        *db = a == 0.0 && b >= 0.0 ? 0.0 : pow(a, b) * log(a);
        break;
    case B_MAX:
        *da = a == b ? 0.5 : a < b ? 0.0 : 1.0;
        *db = a == b ? 0.5 : a > b ? 0.0 : 1.0;
        break;
    case B_MIN:
        *da = a == b ? 0.5 : a > b ? 0.0 : 1.0;
        *db = a == b ? 0.5 : a < b ? 0.0 : 1.0;
        break;
    default: /* PRelu: a the input, b the slope */
        *da = a > 0 ? 1.0 : b;
        *db = a > 0 ? 0.0 : a;
        break;
    }
}

static enum axl_status bin_backward(struct grad_ctx *gc, const struct gnode *n, char *msg)
{
    const struct gtensor *a = in_t(gc->c, n, 0), *b = in_t(gc->c, n, 1);
    const struct gtensor *y = out_t(gc->c, n, 0);
    const float *dy = grad_out(gc, n, 0);
    if (!dy || y->dtype != GDT_F32)
        return AXL_OK;
    struct sink sa, sb = {NULL, NULL};
    enum axl_status st = sink_open(gc, n, 0, y, &sa, msg);
    if (st == AXL_OK)
        st = sink_open(gc, n, 1, y, &sb, msg);
    int k = bin_kind(n->op), r = y->ndim;
    int64_t str_a[AXL_MAX_DIMS], str_b[AXL_MAX_DIMS], cnt = gt_numel(y);
    bcast_strides(a, r, y->dims, str_a);
    bcast_strides(b, r, y->dims, str_b);
    float *ga = sa.dst, *gb = sb.dst;
    int64_t todo = st == AXL_OK && (ga || gb) ? cnt : 0;
#pragma omp parallel for schedule(static) if (todo > PAR_MIN)
    for (int64_t o = 0; o < todo; o++) {
        int64_t rem = o, pa = 0, pb = 0;
        for (int d = r - 1; d >= 0; d--) {
            int64_t q = rem % y->dims[d];
            rem /= y->dims[d];
            pa += q * str_a[d], pb += q * str_b[d];
        }
        double da, db;
        bin_grad(k, ((const float *)a->data)[pa], gt_getd(b, pb), &da, &db);
        if (ga && da != 0.0)
            ga[o] += (float)(dy[o] * da);
        if (gb && db != 0.0)
            gb[o] += (float)(dy[o] * db);
    }
    st = sink_close(gc, n, 0, y, &sa, st, msg);
    return sink_close(gc, n, 1, y, &sb, st, msg);
}

/* Sum, Mean, Max, Min with any number of inputs are folded pairwise by the
 * binary ones; here only the two-input forms are listed. */

/* ---- Where ------------------------------------------------------------------------ */
static enum axl_status where_shape(struct run_ctx *c, const struct gnode *n, char *msg)
{
    struct gtensor *cd = in_t(c, n, 0), *x = in_t(c, n, 1), *y = in_t(c, n, 2);
    struct gtensor tmp;
    memset(&tmp, 0, sizeof tmp);
    enum axl_status st = bcast_shape(cd, x, &tmp.ndim, tmp.dims, msg);
    if (st == AXL_OK)
        st = bcast_shape(&tmp, y, &tmp.ndim, tmp.dims, msg);
    if (st == AXL_OK && x->dtype != y->dtype)
        st = axl_msgf(msg, AXL_ERR_INVALID, "X and Y have different element types");
    if (st == AXL_OK && cd->dtype != GDT_I64)
        st = axl_msgf(msg, AXL_ERR_INVALID, "the condition is not boolean");
    return st != AXL_OK ? st : set_out(c, n, 0, x->dtype, tmp.ndim, tmp.dims, msg);
}

static enum axl_status where_exec(struct run_ctx *c, const struct gnode *n, char *msg)
{
    (void)msg;
    const struct gtensor *cd = in_t(c, n, 0), *x = in_t(c, n, 1), *yv = in_t(c, n, 2);
    struct gtensor *o = out_t(c, n, 0);
    int r = o->ndim;
    int64_t s0[AXL_MAX_DIMS], s1[AXL_MAX_DIMS], s2[AXL_MAX_DIMS], cnt = gt_numel(o);
    bcast_strides(cd, r, o->dims, s0);
    bcast_strides(x, r, o->dims, s1);
    bcast_strides(yv, r, o->dims, s2);
    size_t es = gt_esize(o->dtype);
    for (int64_t i = 0; i < cnt; i++) {
        int64_t rem = i, p0 = 0, p1 = 0, p2 = 0;
        for (int d = r - 1; d >= 0; d--) {
            int64_t q = rem % o->dims[d];
            rem /= o->dims[d];
            p0 += q * s0[d], p1 += q * s1[d], p2 += q * s2[d];
        }
        int take = ((const int64_t *)cd->data)[p0] != 0;
        memcpy((char *)o->data + (size_t)i * es,
               take ? (const char *)x->data + (size_t)p1 * es : (const char *)yv->data + (size_t)p2 * es,
               es);
    }
    return AXL_OK;
}

/* The condition carries no gradient (nodiff); X's and Y's are the output's
 * where it took them. */
static enum axl_status where_backward(struct grad_ctx *gc, const struct gnode *n, char *msg)
{
    const struct gtensor *cd = in_t(gc->c, n, 0), *y = out_t(gc->c, n, 0);
    const float *dy = grad_out(gc, n, 0);
    if (!dy || y->dtype != GDT_F32)
        return AXL_OK;
    struct sink sx, sy = {NULL, NULL};
    enum axl_status st = sink_open(gc, n, 1, y, &sx, msg);
    if (st == AXL_OK)
        st = sink_open(gc, n, 2, y, &sy, msg);
    int r = y->ndim;
    int64_t s0[AXL_MAX_DIMS], cnt = gt_numel(y);
    bcast_strides(cd, r, y->dims, s0);
    float *gx = sx.dst, *gy = sy.dst;
    int64_t todo = st == AXL_OK && (gx || gy) ? cnt : 0;
#pragma omp parallel for schedule(static) if (todo > PAR_MIN)
    for (int64_t i = 0; i < todo; i++) {
        int64_t rem = i, p0 = 0;
        for (int d = r - 1; d >= 0; d--) {
            p0 += rem % y->dims[d] * s0[d];
            rem /= y->dims[d];
        }
        float *g = ((const int64_t *)cd->data)[p0] != 0 ? gx : gy;
        if (g)
            g[i] += dy[i];
    }
    st = sink_close(gc, n, 1, y, &sx, st, msg);
    return sink_close(gc, n, 2, y, &sy, st, msg);
}

/* ---- softmax ------------------------------------------------------------------------ */
/* the softmax's rows: outer x len x inner, normalised along len */
static enum axl_status softmax_geom(struct run_ctx *c, const struct gnode *n, int64_t *outer,
                                   int64_t *len, int64_t *inner, char *msg)
{
    const struct gtensor *xt = in_t(c, n, 0);
    int r = xt->ndim;
    int64_t axis = ga_int(n, "axis", c->g->opset < 13 ? 1 : -1);
    int ax = norm_axis(axis, r, n, msg);
    if (ax < 0)
        return AXL_ERR_INVALID;
    *outer = *len = *inner = 1;
    for (int d = 0; d < r; d++) {
        if (d < ax)
            *outer *= xt->dims[d];
        else if (d == ax || c->g->opset < 13) /* before 13: coerced to 2-D at axis */
            *len *= xt->dims[d];
        else
            *inner *= xt->dims[d];
    }
    return AXL_OK;
}

static enum axl_status softmax_exec(struct run_ctx *c, const struct gnode *n, char *msg)
{
    const struct gtensor *xt = in_t(c, n, 0);
    int64_t outer, len, inner;
    enum axl_status st = softmax_geom(c, n, &outer, &len, &inner, msg);
    if (st != AXL_OK)
        return st;
    const float *x = xt->data;
    float *y = out_t(c, n, 0)->data;
    int logsm = !strcmp(n->op, "LogSoftmax");
#pragma omp parallel for schedule(static) if (outer * inner * len > PAR_MIN)
    for (int64_t oi = 0; oi < outer * inner; oi++) {
        int64_t o = oi / inner, i = oi % inner, base = o * len * inner + i;
        float mx = -INFINITY;
        for (int64_t k = 0; k < len; k++)
            mx = fmaxf(mx, x[base + k * inner]);
        double s = 0;
        for (int64_t k = 0; k < len; k++)
            s += exp((double)x[base + k * inner] - mx);
        for (int64_t k = 0; k < len; k++) {
            double v = (double)x[base + k * inner] - mx;
            y[base + k * inner] = logsm ? (float)(v - log(s)) : (float)(exp(v) / s);
        }
    }
    return AXL_OK;
}

/* From the outputs y: Softmax dx = y (dy - sum(dy y)), LogSoftmax
 * dx = dy - exp(y) sum(dy), each sum along the row (the forward's rows,
 * opset < 13's 2-D coercion included). */
static enum axl_status softmax_backward(struct grad_ctx *gc, const struct gnode *n, char *msg)
{
    int64_t outer, len, inner;
    const float *dy = grad_out(gc, n, 0);
    float *gx;
    enum axl_status st = grad_in(gc, n, 0, &gx, msg);
    if (st != AXL_OK || !gx || !dy)
        return st;
    if ((st = softmax_geom(gc->c, n, &outer, &len, &inner, msg)) != AXL_OK)
        return st;
    const float *y = out_t(gc->c, n, 0)->data;
    int logsm = !strcmp(n->op, "LogSoftmax");
#pragma omp parallel for schedule(static) if (outer * inner * len > PAR_MIN)
    for (int64_t oi = 0; oi < outer * inner; oi++) {
        int64_t base = oi / inner * len * inner + oi % inner;
        double s = 0;
        for (int64_t k = 0; k < len; k++)
            s += logsm ? (double)dy[base + k * inner]
                       : (double)dy[base + k * inner] * y[base + k * inner];
        for (int64_t k = 0; k < len; k++) {
            int64_t e = base + k * inner;
            gx[e] += logsm ? (float)(dy[e] - exp((double)y[e]) * s)
                           : (float)(y[e] * (dy[e] - s));
        }
    }
    return AXL_OK;
}

/* ---- reductions ----------------------------------------------------------------------- */
static int reduce_axes_from_input(const struct axl_graph *g, const struct gnode *n)
{
    return !strcmp(n->op, "ReduceSum") ? g->opset >= 13 : g->opset >= 18;
}

static enum axl_status reduce_check(const struct axl_graph *g, const struct gnode *n, char *msg)
{
    if (reduce_axes_from_input(g, n) && ga_find(n, "axes"))
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "axes attribute at opset %d (an input now)",
                        g->opset);
    return AXL_OK;
}

/* mask of reduced axes; 0 with keep_all set when nothing is reduced */
static enum axl_status reduce_mask(struct run_ctx *c, const struct gnode *n, unsigned *mask,
                                   char *msg)
{
    const struct gtensor *x = in_t(c, n, 0);
    int r = x->ndim;
    const int64_t *av = NULL;
    int64_t na;
    struct gtensor *at = NULL;
    if (reduce_axes_from_input(c->g, n)) {
        at = in_t(c, n, 1);
        if (at && !at->data)
            return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "axes computed from run-time data");
        na = at ? gt_numel(at) : 0;
    } else {
        na = ga_ints(n, "axes", &av);
        na = na < 0 ? 0 : na;
    }
    *mask = 0;
    if (na == 0) {
        if (ga_int(n, "noop_with_empty_axes", 0))
            return AXL_OK;
        *mask = (1u << r) - 1;
        return AXL_OK;
    }
    for (int64_t i = 0; i < na; i++) {
        int ax = norm_axis(at ? gt_geti(at, i) : av[i], r, n, msg);
        if (ax < 0)
            return AXL_ERR_INVALID;
        *mask |= 1u << ax;
    }
    return AXL_OK;
}

static enum axl_status reduce_shape(struct run_ctx *c, const struct gnode *n, char *msg)
{
    const struct gtensor *x = in_t(c, n, 0);
    unsigned mask;
    enum axl_status st = float_input(c, n, 0, msg);
    if (st == AXL_OK)
        st = reduce_mask(c, n, &mask, msg);
    if (st != AXL_OK)
        return st;
    int keep = (int)ga_int(n, "keepdims", 1), r = 0;
    int64_t d[AXL_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++) {
        if (!(mask >> i & 1))
            d[r++] = x->dims[i];
        else if (keep)
            d[r++] = 1;
    }
    return set_out(c, n, 0, GDT_F32, r, d, msg);
}

enum { R_MEAN, R_SUM, R_MAX, R_MIN };

static int reduce_kind(const struct gnode *n)
{
    return !strcmp(n->op, "ReduceMean") ? R_MEAN : !strcmp(n->op, "ReduceSum") ? R_SUM
         : !strcmp(n->op, "ReduceMax") ? R_MAX : R_MIN;
}

/* strides (element units of the output) of x's dimensions: 0 on reduced ones */
static void reduce_strides(const struct gtensor *x, unsigned mask, int64_t *ostr)
{
    int64_t s = 1;
    for (int i = x->ndim - 1; i >= 0; i--) {
        ostr[i] = (mask >> i & 1) ? 0 : s;
        s *= (mask >> i & 1) ? 1 : x->dims[i];
    }
}

/* the output element input element i is reduced into */
static int64_t reduce_out(const struct gtensor *x, const int64_t *ostr, int64_t i)
{
    int64_t o = 0;
    for (int d = x->ndim - 1; d >= 0; d--) {
        o += (i % x->dims[d]) * ostr[d];
        i /= x->dims[d];
    }
    return o;
}

static enum axl_status reduce_exec(struct run_ctx *c, const struct gnode *n, char *msg)
{
    const struct gtensor *xt = in_t(c, n, 0);
    struct gtensor *yt = out_t(c, n, 0);
    unsigned mask;
    enum axl_status st = reduce_mask(c, n, &mask, msg);
    if (st != AXL_OK)
        return st;
    int64_t ostr[AXL_MAX_DIMS], cnt = gt_numel(xt), ocnt = gt_numel(yt);
    reduce_strides(xt, mask, ostr);
    int kind = reduce_kind(n);
    double *acc = malloc((size_t)(ocnt > 0 ? ocnt : 1) * sizeof *acc);
    if (!acc)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < ocnt; i++)
        acc[i] = kind == R_MAX ? -INFINITY : kind == R_MIN ? INFINITY : 0.0;
    const float *x = xt->data;
    for (int64_t i = 0; i < cnt; i++) {
        int64_t o = reduce_out(xt, ostr, i);
        double v = x[i];
        if (kind == R_MEAN || kind == R_SUM)
            acc[o] += v;
        else if (kind == R_MAX)
            acc[o] = v > acc[o] ? v : acc[o];
        else
            acc[o] = v < acc[o] ? v : acc[o];
    }
    float *y = yt->data;
    double per = ocnt ? (double)cnt / (double)ocnt : 1;
    for (int64_t i = 0; i < ocnt; i++)
        y[i] = (float)(kind == R_MEAN ? acc[i] / per : acc[i]);
    free(acc);
    return AXL_OK;
}

/* ReduceMax and ReduceMin share the gradient evenly among the elements
 * equal to the extremum, as torch.amax and torch.amin do (torch.max(dim)
 * would give it all to one of them). */
static enum axl_status reduce_backward(struct grad_ctx *gc, const struct gnode *n, char *msg)
{
    const float *dy = grad_out(gc, n, 0);
    float *gx;
    unsigned mask;
    enum axl_status st = grad_in(gc, n, 0, &gx, msg);
    if (st != AXL_OK || !gx || !dy)
        return st;
    if ((st = reduce_mask(gc->c, n, &mask, msg)) != AXL_OK)
        return st;
    const struct gtensor *xt = in_t(gc->c, n, 0), *yt = out_t(gc->c, n, 0);
    const float *x = xt->data, *y = yt->data;
    int64_t ostr[AXL_MAX_DIMS], cnt = gt_numel(xt), ocnt = gt_numel(yt);
    int kind = reduce_kind(n);
    double per = ocnt ? (double)cnt / (double)ocnt : 1;
    int64_t *ties = NULL;
    reduce_strides(xt, mask, ostr);
    if (kind == R_MAX || kind == R_MIN) {
        if (!(ties = calloc((size_t)(ocnt > 0 ? ocnt : 1), sizeof *ties)))
            return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
        for (int64_t i = 0; i < cnt; i++) {
            int64_t o = reduce_out(xt, ostr, i);
            ties[o] += x[i] == y[o];
        }
    }
#pragma omp parallel for schedule(static) if (cnt > PAR_MIN)
    for (int64_t i = 0; i < cnt; i++) {
        int64_t o = reduce_out(xt, ostr, i);
        if (kind == R_SUM)
            gx[i] += dy[o];
        else if (kind == R_MEAN)
            gx[i] += (float)(dy[o] / per);
        else if (x[i] == y[o])
            gx[i] += (float)((double)dy[o] / (double)ties[o]);
    }
    free(ties);
    return AXL_OK;
}

/* Max and Min take 1 to 8 inputs: two are the binary operator (with its
 * backward), others the n-ary fold of ops_nary.c (no backward) */
static int two_inputs(const struct gnode *n) { return n->n_in == 2 && n->in[1] >= 0; }

static enum axl_status minmax_shape(struct run_ctx *c, const struct gnode *n, char *msg)
{
    return two_inputs(n) ? bin_shape(c, n, msg) : axl_nary_shape(c, n, msg);
}

static enum axl_status minmax_exec(struct run_ctx *c, const struct gnode *n, char *msg)
{
    return two_inputs(n) ? bin_exec(c, n, msg) : axl_nary_exec(c, n, msg);
}

static enum axl_status minmax_backward(struct grad_ctx *gc, const struct gnode *n, char *msg)
{
    if (!two_inputs(n))
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "%s of %d inputs has no backward (two have)",
                        n->op, n->n_in);
    return bin_backward(gc, n, msg);
}

#define UN(name, attrs) {name, attrs, 1, 1, 1, 1, 0, 0, unary_check, unary_shape, unary_exec, \
                         unary_backward, 0}
/* arithmetic: both operands differentiable (Pow's exponent too; PRelu's slope) */
#define BIN(name) {name, "fmod", 2, 2, 1, 1, 0, 0, bin_check, bin_shape, bin_exec, bin_backward, 0}
/* comparisons and logic: integer outputs, no gradient through them; Mod
 * has no backward */
#define CMP(name) {name, "fmod", 2, 2, 1, 1, 0, 0, bin_check, bin_shape, bin_exec, NULL, 3}
/* the axes input is nodiff */
#define RED(name) {name, "axes,keepdims,noop_with_empty_axes", 1, 2, 1, 1, 0, 0, reduce_check, \
                   reduce_shape, reduce_exec, reduce_backward, 2}
const struct op_def axl_ops_elem[] = {
    UN("Relu", ""), UN("LeakyRelu", "alpha"), UN("Sigmoid", ""), UN("Tanh", ""),
    UN("HardSigmoid", "alpha,beta"), UN("HardSwish", ""), UN("Erf", ""), UN("Gelu", "approximate"),
    UN("Sqrt", ""), UN("Exp", ""), UN("Log", ""), UN("Abs", ""), UN("Neg", ""),
    UN("Reciprocal", ""), UN("Floor", ""), UN("Ceil", ""), UN("Elu", "alpha"),
    UN("Softplus", ""), UN("Sin", ""), UN("Cos", ""),
    /* min and max are bounds: nodiff */
    {"Clip", "min,max", 1, 3, 1, 1, 0, 0, unary_check, same_shape, unary_exec, unary_backward, 6},
    BIN("Add"), BIN("Sub"), BIN("Mul"), BIN("Div"), BIN("Pow"),
    {"Max", "", 1, 8, 1, 1, 0, 0, NULL, minmax_shape, minmax_exec, minmax_backward, 0},
    {"Min", "", 1, 8, 1, 1, 0, 0, NULL, minmax_shape, minmax_exec, minmax_backward, 0},
    BIN("PRelu"), CMP("Equal"), CMP("Less"), CMP("Greater"), CMP("LessOrEqual"),
    CMP("GreaterOrEqual"), CMP("And"), CMP("Or"),
    {"Mod", "fmod", 2, 2, 1, 1, 0, 0, bin_check, bin_shape, bin_exec, NULL, 0},
    {"Where", "", 3, 3, 1, 1, 0, 0, NULL, where_shape, where_exec, where_backward, 1},
    {"Softmax", "axis", 1, 1, 1, 1, 0, 0, NULL, same_shape, softmax_exec, softmax_backward, 0},
    {"LogSoftmax", "axis", 1, 1, 1, 1, 0, 0, NULL, same_shape, softmax_exec, softmax_backward, 0},
    RED("ReduceMean"), RED("ReduceSum"), RED("ReduceMax"), RED("ReduceMin"),
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};
