/* Reverse-mode differentiation over the graph: the trainable parameters,
 * the forward that keeps its values (the tape) and the backward that walks
 * the exposed nodes in reverse, calling each operator's backward
 * (autodiff.h says what those see). */
#include <stdlib.h>
#include <string.h>

#include "autodiff.h"
#include "axlut/hd.h"

#ifdef AXL_HAVE_BLAS
#include <cblas.h>
/* OpenBLAS's, repeated so that another cblas.h cannot leave them undeclared */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
#endif

struct axl_tape {
    const struct axl_graph *g;
    struct run_ctx c;
    const struct axl_mac **mac; /* per exposed node: the forward's configuration */
};

/* value v's constant data as a public tensor (shared, writable) */
static struct axl_tensor value_tensor(struct axl_graph *g, int v)
{
    struct axl_tensor t;
    memset(&t, 0, sizeof t);
    const struct gtensor *c = &g->vals[v].c;
    t.ndim = c->ndim;
    memcpy(t.dims, c->dims, sizeof t.dims);
    t.data = c->data;
    return t;
}

/* ---- parameters ----------------------------------------------------------- */
static int diff_input(const struct gnode *n, int i)
{
    return i < 32 ? !(n->def->nodiff >> i & 1) : 1;
}

enum axl_status axl_graph_find_params(struct axl_graph *g, char *msg)
{
    for (int v = 0; v < g->nvals; v++)
        g->vals[v].param = -1;
    free(g->params);
    g->params = NULL;
    g->nparams = 0;
    int *list = malloc(((size_t)g->nvals + 1) * sizeof *list);
    if (!list)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    for (size_t p = 0; p < g->npub; p++) {
        const struct gnode *n = &g->nodes[g->pub[p]];
        for (int i = 0; i < n->n_in; i++) {
            int v = n->in[i];
            if (v < 0 || !diff_input(n, i))
                continue;
            struct gvalue *gv = &g->vals[v];
            if (gv->kind != V_CONST || !gv->is_init || gv->c.dtype != GDT_F32 ||
                gt_numel(&gv->c) <= 1 || gv->param >= 0)
                continue;
            gv->param = g->nparams;
            list[g->nparams++] = v;
        }
    }
    g->params = list;
    free(g->buffers);
    g->nbuffers = 0;
    if (!(g->buffers = malloc(((size_t)g->nvals + 1) * sizeof *g->buffers)))
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    for (size_t p = 0; p < g->npub; p++) {
        const struct gnode *n = &g->nodes[g->pub[p]];
        for (int i = 3; i < 5 && !strcmp(n->op, "BatchNormalization") && i < n->n_in; i++) {
            int v = n->in[i], dup = 0;
            if (v < 0 || g->vals[v].kind != V_CONST || !g->vals[v].is_init ||
                g->vals[v].c.dtype != GDT_F32)
                continue;
            for (int k = 0; k < g->nbuffers; k++)
                dup |= g->buffers[k] == v;
            if (!dup)
                g->buffers[g->nbuffers++] = v;
        }
    }
    return AXL_OK;
}

size_t axl_graph_buffer_count(const struct axl_graph *g) { return (size_t)g->nbuffers; }

const char *axl_graph_buffer_name(const struct axl_graph *g, size_t i)
{
    return i < (size_t)g->nbuffers ? g->vals[g->buffers[i]].name : NULL;
}

struct axl_tensor axl_graph_buffer(struct axl_graph *g, size_t i)
{
    struct axl_tensor t;
    memset(&t, 0, sizeof t);
    return i < (size_t)g->nbuffers ? value_tensor(g, g->buffers[i]) : t;
}

size_t axl_graph_param_count(const struct axl_graph *g) { return (size_t)g->nparams; }

const char *axl_graph_param_name(const struct axl_graph *g, size_t i)
{
    return i < (size_t)g->nparams ? g->vals[g->params[i]].name : NULL;
}

struct axl_tensor axl_graph_param(struct axl_graph *g, size_t i)
{
    struct axl_tensor t;
    memset(&t, 0, sizeof t);
    return i < (size_t)g->nparams ? value_tensor(g, g->params[i]) : t;
}

int64_t axl_graph_find_param(const struct axl_graph *g, const char *name)
{
    for (int i = 0; i < g->nparams; i++)
        if (!strcmp(g->vals[g->params[i]].name, name))
            return i;
    return -1;
}

/* want[v]: v is a parameter (or, with inputs, a graph input) or a float
 * value computed from one through differentiable inputs. */
static unsigned char *wanted(const struct axl_graph *g, const struct run_ctx *c, int inputs)
{
    unsigned char *want = calloc((size_t)g->nvals + 1, 1);
    if (!want)
        return NULL;
    for (int i = 0; i < g->nparams; i++)
        want[g->params[i]] = 1;
    for (int i = 0; inputs && i < g->nin; i++)
        want[g->inputs[i]] = 1;
    for (size_t p = 0; p < g->npub; p++) {
        const struct gnode *n = &g->nodes[g->pub[p]];
        int any = 0;
        for (int i = 0; i < n->n_in; i++)
            if (n->in[i] >= 0 && want[n->in[i]] && diff_input(n, i))
                any = 1;
        for (int i = 0; any && i < n->n_out; i++) {
            int v = n->out[i];
            if (v >= 0 && (!c || c->rt[v].dtype == GDT_F32))
                want[v] = 1;
        }
    }
    return want;
}

enum axl_status axl_graph_check_backward(const struct axl_graph *g, char *msg)
{
    unsigned char *want = wanted(g, NULL, 0);
    if (!want)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    enum axl_status st = AXL_OK;
    for (size_t p = 0; p < g->npub && st == AXL_OK; p++) {
        const struct gnode *n = &g->nodes[g->pub[p]];
        int any = 0;
        for (int i = 0; i < n->n_in; i++)
            if (n->in[i] >= 0 && want[n->in[i]] && diff_input(n, i))
                any = 1;
        if (any && !n->def->backward)
            st = axl_msgf(msg, AXL_ERR_UNSUPPORTED,
                          "%.100s: node '%.120s' (%.40s) has no backward: the model cannot be "
                          "trained", g->path, n->name, n->op);
    }
    free(want);
    return st;
}

/* ---- helpers for the operators ------------------------------------------------ */
const float *grad_out(struct grad_ctx *gc, const struct gnode *n, int i)
{
    if (i >= n->n_out || n->out[i] < 0)
        return NULL;
    return gc->grad[n->out[i]].data;
}

enum axl_status grad_in(struct grad_ctx *gc, const struct gnode *n, int i, float **g, char *msg)
{
    *g = NULL;
    if (i >= n->n_in || n->in[i] < 0 || !gc->want[n->in[i]] || !diff_input(n, i))
        return AXL_OK;
    int v = n->in[i];
    struct gtensor *t = &gc->grad[v];
    if (!t->data) {
        const struct gtensor *x = &gc->c->rt[v];
        int64_t cnt = gt_numel(x);
        t->dtype = GDT_F32;
        t->ndim = x->ndim;
        memcpy(t->dims, x->dims, sizeof t->dims);
        t->data = calloc((size_t)(cnt > 0 ? cnt : 1), sizeof(float));
        if (!t->data)
            return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory for a gradient of %lld values",
                            (long long)cnt);
        t->owned = 1;
    }
    *g = t->data;
    return AXL_OK;
}

enum axl_status grad_in_reduce(struct grad_ctx *gc, const struct gnode *n, int i,
                               const float *g, int ondim, const int64_t *odims, char *msg)
{
    float *gi;
    enum axl_status st = grad_in(gc, n, i, &gi, msg);
    if (st != AXL_OK || !gi)
        return st;
    const struct gtensor *x = in_t(gc->c, n, i);
    int64_t str[AXL_MAX_DIMS], cnt = gt_count(ondim, odims);
    bcast_strides(x, ondim, odims, str);
    /* sequential: several outputs add into one input element */
    for (int64_t o = 0; o < cnt; o++) {
        int64_t rem = o, off = 0;
        for (int d = ondim - 1; d >= 0; d--) {
            off += rem % odims[d] * str[d];
            rem /= odims[d];
        }
        gi[off] += g[o];
    }
    return AXL_OK;
}

int dropout_keep(uint64_t seed, const struct gnode *n, int64_t i, float ratio)
{
    /* the project's counter-based generator (axlut/hd.h), a stream per node */
    uint32_t r = axl_rand32(seed ^ axl_mix64((uint64_t)n->file_index), (uint64_t)i);
    return (float)(r >> 8) * (1.0f / 16777216.0f) >= ratio;
}

/* ---- forward and backward ---------------------------------------------------- */
enum axl_status axl_graph_forward(const struct axl_graph *g, const struct axl_run_opts *opts,
                                  const struct axl_tensor *inputs, struct axl_tensor *outputs,
                                  struct axl_tape **tape, char *msg)
{
    *tape = NULL;
    struct axl_tape *t = calloc(1, sizeof *t);
    if (!t || !(t->mac = calloc(g->npub + 1, sizeof *t->mac))) {
        free(t);
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    }
    t->g = g;
    for (size_t p = 0; p < g->npub; p++) {
        const struct axl_mac *m = opts && opts->mac && g->nodes[g->pub[p]].def->is_mac
                                      ? opts->mac[p] : NULL;
        t->mac[p] = m ? m : opts && opts->exact ? opts->exact : g->exact;
    }
    enum axl_status st = axl_graph_exec(g, opts, inputs, outputs, &t->c, 1, msg);
    if (st != AXL_OK) {
        axl_tape_free(t);
        return st;
    }
    *tape = t;
    return AXL_OK;
}

void axl_tape_free(struct axl_tape *t)
{
    if (!t)
        return;
    axl_run_release(t->g, &t->c);
    free(t->mac);
    free(t);
}

static void add_into(float *dst, const struct gtensor *src)
{
    if (!dst || !src->data)
        return;
    int64_t cnt = gt_numel(src);
    const float *s = src->data;
    for (int64_t k = 0; k < cnt; k++)
        dst[k] += s[k];
}

enum axl_status axl_graph_backward(struct axl_tape *tape, const struct axl_grad_opts *o,
                                   const struct axl_tensor *dout, float *const *param_grad,
                                   float *const *input_grad, char *msg)
{
    const struct axl_graph *g = tape->g;
    struct grad_ctx gc;
    char tmp[AXL_MSG_LEN];
    enum axl_status st = AXL_OK;
    memset(&gc, 0, sizeof gc);
    gc.c = &tape->c;
    gc.approx = o && o->approx;
    gc.exact = g->exact;
    unsigned char *want = wanted(g, gc.c, input_grad != NULL);
    gc.want = want;
    gc.grad = calloc((size_t)g->nvals + 1, sizeof *gc.grad);
    if (!want || !gc.grad) {
        free(want);
        free(gc.grad);
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    }
    /* the seeds: the loss's gradient with respect to each output */
    for (int i = 0; i < g->nout && st == AXL_OK; i++) {
        int v = g->outputs[i];
        const struct gtensor *y = &gc.c->rt[v];
        if (!dout[i].data || !want[v])
            continue;
        if (dout[i].ndim != y->ndim || memcmp(dout[i].dims, y->dims,
                                              (size_t)y->ndim * sizeof *y->dims)) {
            st = axl_msgf(msg, AXL_ERR_MISMATCH, "the gradient of output '%.100s' is not shaped "
                          "as the output", g->vals[v].name);
            break;
        }
        int64_t cnt = gt_numel(y);
        struct gtensor *t = &gc.grad[v];
        if (!t->data) {
            *t = *y;
            t->owned = 1;
            if (!(t->data = calloc((size_t)(cnt > 0 ? cnt : 1), sizeof(float))))
                st = axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
        }
        for (int64_t k = 0; st == AXL_OK && k < cnt; k++)
            ((float *)t->data)[k] += dout[i].data[k];
    }
    for (size_t p = g->npub; st == AXL_OK && p-- > 0;) {
        const struct gnode *n = &g->nodes[g->pub[p]];
        int has_out = 0, has_in = 0;
        for (int i = 0; i < n->n_out; i++)
            if (grad_out(&gc, n, i))
                has_out = 1;
        for (int i = 0; i < n->n_in; i++)
            if (n->in[i] >= 0 && want[n->in[i]] && diff_input(n, i))
                has_in = 1;
        if (has_out && has_in) {
            gc.mac = tape->mac[p];
            tmp[0] = 0;
            if (!n->def->backward)
                st = axl_msgf(msg, AXL_ERR_UNSUPPORTED, "node '%.120s' (%.40s) has no backward",
                              n->name, n->op);
            else if ((st = n->def->backward(&gc, n, tmp)) != AXL_OK)
                st = axl_msgf(msg, st, "backward of node '%.120s' (%.40s): %s", n->name, n->op,
                              tmp);
        }
        /* an output's gradient is complete once its producer ran */
        for (int i = 0; i < n->n_out; i++)
            if (n->out[i] >= 0 && !g->vals[n->out[i]].is_output)
                gt_free(&gc.grad[n->out[i]]);
    }
    for (int i = 0; st == AXL_OK && i < g->nparams; i++)
        if (param_grad && param_grad[i])
            add_into(param_grad[i], &gc.grad[g->params[i]]);
    for (int i = 0; st == AXL_OK && input_grad && i < g->nin; i++)
        add_into(input_grad[i], &gc.grad[g->inputs[i]]);
    for (int v = 0; v < g->nvals; v++)
        gt_free(&gc.grad[v]);
    free(gc.grad);
    free(want);
    return st;
}

/* ---- exact float32 products of the backward ------------------------------------ */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define GRAD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define GRAD_CLONES
#endif

/* c[0..n) += a * b[0..n): products and sums each rounded (no fused
 * multiply-add), so the result does not depend on the machine */
GRAD_CLONES static void axpy(float *restrict c, float a, const float *restrict b, int64_t n)
{
    for (int64_t j = 0; j < n; j++)
        c[j] += a * b[j];
}

enum axl_status grad_sgemm(int ta, int tb, int64_t m, int64_t n, int64_t k, const float *a,
                           int64_t lda, const float *b, int64_t ldb, float *c, char *msg)
{
#ifdef AXL_HAVE_BLAS
    if (m <= INT32_MAX && n <= INT32_MAX && k <= INT32_MAX && lda <= INT32_MAX &&
        ldb <= INT32_MAX) {
        /* OpenBLAS's own threads would fight OpenMP's (idle OpenMP threads
         * spin): blocks of rows of C in an OpenMP loop instead, OpenBLAS on
         * one thread meanwhile.  Blocks of a fixed height, so that every row
         * is computed the same way whatever the thread count. */
        const int64_t rb = 64;
        int keep = openblas_get_num_threads();
        openblas_set_num_threads(1);
#pragma omp parallel for schedule(dynamic) if (m > rb && m * n * k > 262144)
        for (int64_t i0 = 0; i0 < m; i0 += rb) {
            int64_t h = m - i0 < rb ? m - i0 : rb;
            cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                        tb ? CblasTrans : CblasNoTrans, (blasint)h, (blasint)n, (blasint)k, 1.0f,
                        ta ? a + i0 : a + i0 * lda, (blasint)lda, b, (blasint)ldb, 0.0f,
                        c + i0 * n, (blasint)n);
        }
        openblas_set_num_threads(keep);
        return AXL_OK;
    }
#endif
    /* op(B) as a dense k x n block, so that the inner loop runs along a row */
    float *bt = NULL;
    const float *bb = b;
    int64_t ldbb = ldb;
    if (tb || ldb != n) {
        if (!(bt = malloc((size_t)(k * n > 0 ? k * n : 1) * sizeof *bt)))
            return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
        for (int64_t p = 0; p < k; p++)
            for (int64_t j = 0; j < n; j++)
                bt[p * n + j] = tb ? b[j * ldb + p] : b[p * ldb + j];
        bb = bt;
        ldbb = n;
    }
    /* rows of C in parallel, each summed over p in order: the same bits for
     * any thread count */
#pragma omp parallel for schedule(static) if (m * n * k > 65536)
    for (int64_t i = 0; i < m; i++) {
        float *ci = c + i * n;
        memset(ci, 0, (size_t)n * sizeof *ci);
        for (int64_t p = 0; p < k; p++) {
            axpy(ci, ta ? a[p * lda + i] : a[i * lda + p], bb + p * ldbb, n);
        }
    }
    free(bt);
    return AXL_OK;
}
