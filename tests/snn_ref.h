/* The SNN tests' shared references (test_snn.c, test_snn_graph.c): one
 * layer's IF dynamics written from the semantics of include/axlut/snn.h and
 * nothing else, the percentile of a node's activations, the comparison of
 * the kernels, a +1 adder.  Header-only, static: each test includes it once. */
#ifndef AXLUT_TESTS_SNN_REF_H
#define AXLUT_TESTS_SNN_REF_H

#include <criterion/criterion.h>
#include <hdf5.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/snn.h"

static struct axl_snn *convert(const struct axl_graph *g, const char *calib,
                               const struct axl_snn_settings *s)
{
    char msg[AXL_MSG_LEN];
    struct axl_dataset *d = NULL;
    cr_assert_eq(axl_dataset_open(calib, g, &d, msg), AXL_OK, "%s", msg);
    struct axl_snn *snn = NULL;
    cr_assert_eq(axl_snn_convert(g, d, s, &snn, msg), AXL_OK, "%s", msg);
    axl_dataset_close(d);
    return snn;
}

/* the first n samples of a dataset */
static inline struct axl_tensor read_inputs(const struct axl_graph *g, const char *path,
                                             int64_t n)
{
    char msg[AXL_MSG_LEN];
    struct axl_dataset *d = NULL;
    struct axl_tensor t = {0};
    cr_assert_eq(axl_dataset_open(path, g, &d, msg), AXL_OK, "%s", msg);
    cr_assert_eq(axl_dataset_read(d, 0, n, &t, NULL, msg), AXL_OK, "%s", msg);
    axl_dataset_close(d);
    return t;
}

/* ---- the reference: one layer's IF dynamics, written from the semantics
 * of snn.h and nothing else ------------------------------------------------ */

struct ref_arith {
    struct axl_format f;
    int plus_one; /* the add_plus1 user design on intN: x + y + 1, saturated */
    double leak;  /* leaky IF: F */
};

static inline uint32_t ref_add(const struct ref_arith *a, uint32_t x, uint32_t y)
{
    if (a->f.kind == AXL_KIND_FLOAT) { /* fp32, exact */
        float fx, fy;
        memcpy(&fx, &x, 4), memcpy(&fy, &y, 4);
        float r = fx + fy;
        uint32_t u;
        memcpy(&u, &r, 4);
        return u;
    }
    int n = a->f.bits;
    int64_t vx = (int32_t)(x << (32 - n)) >> (32 - n), vy = (int32_t)(y << (32 - n)) >> (32 - n);
    int64_t v = vx + vy + (a->plus_one ? 1 : 0), hi = (1 << (n - 1)) - 1, lo = -hi - 1;
    v = v > hi ? hi : v < lo ? lo : v;
    return (uint32_t)v & ((1u << n) - 1u);
}

static inline uint32_t ref_neg(const struct ref_arith *a, uint32_t w)
{
    if (a->f.kind == AXL_KIND_FLOAT)
        return w ^ 0x80000000u;
    int n = a->f.bits;
    int32_t v = -((int32_t)(w << (32 - n)) >> (32 - n));
    v = v > (1 << (n - 1)) - 1 ? (1 << (n - 1)) - 1 : v;
    return (uint32_t)v & ((1u << n) - 1u);
}

static inline double ref_value(const struct ref_arith *a, uint32_t c)
{
    if (a->f.kind == AXL_KIND_FLOAT) {
        float f;
        memcpy(&f, &c, 4);
        return f;
    }
    int n = a->f.bits;
    return (int32_t)(c << (32 - n)) >> (32 - n);
}

/* The synaptic adds of neuron j from spikes `in`, gathered over its
 * receptive field in ascending input order, onto x. */
static inline uint32_t ref_synaptic(const struct ref_arith *a, const struct axl_snn_layer_info *li,
                             const struct axl_snn_layer_codes *c, const struct axl_window *w,
                             const int8_t *in, int64_t j, uint32_t x)
{
    if (li->kind == AXL_SNN_DENSE) {
        for (int64_t i = 0; i < li->inputs; i++)
            if (in[i])
                x = ref_add(a, x, in[i] > 0 ? c->w[j * li->inputs + i]
                                            : ref_neg(a, c->w[j * li->inputs + i]));
        return x;
    }
    int64_t oc = j / (w->oh * w->ow), oy = j / w->ow % w->oh, ox = j % w->ow;
    int64_t cpg = w->c / w->groups, grp = oc / (w->oc / w->groups);
    for (int64_t ci = 0; ci < cpg; ci++)
        for (int64_t ky = 0; ky < w->kh; ky++)
            for (int64_t kx = 0; kx < w->kw; kx++) {
                int64_t y = oy * w->stride_h - w->pad_t + ky * w->dil_h;
                int64_t xx = ox * w->stride_w - w->pad_l + kx * w->dil_w;
                if (y < 0 || y >= w->h || xx < 0 || xx >= w->w)
                    continue;
                int8_t s = in[((grp * cpg + ci) * w->h + y) * w->w + xx];
                uint32_t wc = c->w[((oc * cpg + ci) * w->kh + ky) * w->kw + kx];
                if (s)
                    x = ref_add(a, x, s > 0 ? wc : ref_neg(a, wc));
            }
    return x;
}

/* the leak's addend -F v: the product in float32, rounded to nearest-even
 * in the membrane format (fp32, or intN saturated) */
static inline uint32_t ref_leak(const struct ref_arith *a, double F, uint32_t x)
{
    float p = -(float)F * (float)ref_value(a, x);
    if (a->f.kind == AXL_KIND_FLOAT) {
        uint32_t u;
        memcpy(&u, &p, 4);
        return u;
    }
    int n = a->f.bits;
    double r = nearbyint((double)p), hi = (1 << (n - 1)) - 1;
    r = r > hi ? hi : r < -hi - 1 ? -hi - 1 : r;
    return (uint32_t)(int32_t)r & ((1u << n) - 1u);
}

/* The bias (per channel of conv_per neurons), then the threshold and
 * reset by subtraction, of neuron j with membrane x. */
static inline uint32_t ref_fire(const struct ref_arith *a, const struct axl_snn_layer_info *li,
                         const struct axl_snn_layer_codes *c, int64_t conv_per, int64_t j,
                         uint32_t x, int8_t *out)
{
    if (c->b)
        x = ref_add(a, x, c->b[j / conv_per]);
    *out = 0;
    if (li->spiking && ref_value(a, x) >= ref_value(a, c->theta)) {
        *out = 1;
        x = ref_add(a, x, c->neg_theta);
    }
    return x;
}

/* One step of one layer: the leak (IF layers, a->leak), the synaptic input
 * of neuron j from spikes `in` or its input current cur[j], the bias, the
 * threshold and reset by subtraction. */
static inline void ref_layer_step(const struct ref_arith *a, const struct axl_snn_layer_info *li,
                           const struct axl_snn_layer_codes *c, const struct axl_window *w,
                           const int8_t *in, const uint32_t *cur, uint32_t *v, int8_t *out)
{
    for (int64_t j = 0; j < li->neurons; j++) {
        uint32_t x = v[j];
        if (a->leak > 0 && li->spiking)
            x = ref_add(a, x, ref_leak(a, a->leak, x));
        if (cur)
            x = ref_add(a, x, cur[j]); /* direct coding: the input current */
        else
            x = ref_synaptic(a, li, c, w, in, j, x);
        v[j] = ref_fire(a, li, c, li->kind == AXL_SNN_DENSE ? 1 : w->oh * w->ow, j, x, &out[j]);
    }
}

/* the layer called name */
static inline size_t layer_named(const struct axl_snn *s, const char *name)
{
    for (size_t k = 0; k < axl_snn_layer_count(s); k++) {
        struct axl_snn_layer_info li;
        axl_snn_layer(s, k, &li);
        if (!strcmp(li.name, name))
            return k;
    }
    cr_assert_fail("no layer %s", name);
    return 0;
}

struct collect {
    int64_t node;
    float *v;
    int64_t n, cap;
};

static inline void collect_positive(void *user, size_t node, const struct axl_tensor *out,
                             const struct axl_tensor *exact)
{
    (void)exact;
    struct collect *c = user;
    if ((int64_t)node != c->node)
        return;
    int64_t n = axl_tensor_numel(&out[0]);
    if (c->n + n > c->cap) {
        c->cap = 2 * (c->n + n);
        c->v = realloc(c->v, (size_t)c->cap * sizeof *c->v);
    }
    for (int64_t i = 0; i < n; i++)
        if (out[0].data[i] > 0)
            c->v[c->n++] = out[0].data[i];
}

static inline int cmp_f(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* the p-th percentile (nearest rank) of node's positive outputs over x */
static inline double exact_percentile(const struct axl_graph *g, const char *node,
                               const struct axl_tensor *x, double p)
{
    struct collect c = {axl_graph_find_node(g, node), NULL, 0, 0};
    struct axl_run_opts o = {.observe = collect_positive, .user = &c};
    struct axl_tensor out = {0};
    char msg[AXL_MSG_LEN];
    cr_assert_eq(axl_graph_run(g, &o, x, &out, msg), AXL_OK, "%s", msg);
    axl_tensor_free(&out);
    cr_assert(c.n > 0);
    qsort(c.v, (size_t)c.n, sizeof *c.v, cmp_f);
    int64_t rank = (int64_t)ceil(p / 100.0 * (double)c.n);
    double r = c.v[rank - 1];
    free(c.v);
    return r;
}

/* event, dense and auto give the bits of the scalar reference (ref) for
 * every layer's membranes, spikes, readouts and counts */
static inline void compare_kernels(const struct axl_graph *g, const char *data,
                            const struct axl_snn_settings *st)
{
    struct axl_snn *s = convert(g, data, st);
    struct axl_tensor x = read_inputs(g, data, 3);
    int64_t steps[2] = {5, 12}, T = 12, C = axl_snn_outputs(s);
    size_t nl = axl_snn_layer_count(s);
    char msg[AXL_MSG_LEN];
    for (size_t k = 0; k < nl; k++) {
        struct axl_snn_layer_info li;
        axl_snn_layer(s, k, &li);
        struct axl_snn_trace tr[4];
        float *ro[4];
        int64_t spk[4][2 * 64], add[4][2 * 64];
        cr_assert_leq(nl, 64);
        for (int kern = 0; kern < 4; kern++) { /* event, dense, auto, ref */
            tr[kern] = (struct axl_snn_trace){k, 2, calloc((size_t)(T * li.neurons), 4),
                                              calloc((size_t)(T * li.inputs), 1),
                                              calloc((size_t)(T * li.neurons), 1)};
            ro[kern] = malloc((size_t)(2 * 3 * C) * sizeof(float));
            struct axl_snn_sim o = {.kernel = (enum axl_snn_kernel)kern, .steps = steps,
                                    .nsteps = 2, .trace = &tr[kern]};
            cr_assert_eq(axl_snn_simulate(s, &x, &o, ro[kern], spk[kern], add[kern], msg), AXL_OK,
                         "%s", msg);
        }
        /* the batched kernels against the scalar reference (ref) */
        for (int q = 0; q < 3; q++) {
            const char *kn = axl_snn_kernel_name((enum axl_snn_kernel)q);
            cr_expect(!memcmp(tr[3].v, tr[q].v, (size_t)(T * li.neurons) * 4),
                      "%s: membranes differ (ref, %s)", li.name, kn);
            cr_expect(!memcmp(tr[3].out, tr[q].out, (size_t)(T * li.neurons)),
                      "%s: spikes differ (ref, %s)", li.name, kn);
            cr_expect(!memcmp(tr[3].in, tr[q].in, (size_t)(T * li.inputs)));
            cr_expect(!memcmp(ro[3], ro[q], (size_t)(2 * 3 * C) * sizeof(float)),
                      "readouts differ (ref, %s)", kn);
            cr_expect(!memcmp(spk[3], spk[q], 2 * nl * sizeof(int64_t)));
            cr_expect(!memcmp(add[3], add[q], 2 * nl * sizeof(int64_t)),
                      "synaptic add counts differ (ref, %s)", kn);
        }
        for (int kern = 0; kern < 4; kern++)
            free(tr[kern].v), free(tr[kern].in), free(tr[kern].out), free(ro[kern]);
    }
    axl_tensor_free(&x);
    axl_snn_free(s);
}

/* path: n samples of c x side x side uniform noise in [-1, 2) with
 * labels i % 10 */
static inline const char *snn_noise_data(const char *p, int n, int c, int side, uint32_t seed)
{
    hid_t f = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(f >= 0);
    size_t per = (size_t)c * (size_t)side * (size_t)side;
    float *x = malloc((size_t)n * per * sizeof *x);
    int64_t *y = malloc((size_t)n * sizeof *y);
    uint32_t s = seed;
    for (size_t i = 0; i < (size_t)n * per; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)(s >> 8) / 16777216.0f * 3.0f - 1.0f;
    }
    for (int i = 0; i < n; i++)
        y[i] = i % 10;
    hsize_t dims[4] = {(hsize_t)n, (hsize_t)c, (hsize_t)side, (hsize_t)side}, ld = (hsize_t)n;
    hid_t sp = H5Screate_simple(4, dims, NULL);
    hid_t d = H5Dcreate2(f, "/inputs", H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) >= 0);
    H5Dclose(d), H5Sclose(sp);
    sp = H5Screate_simple(1, &ld, NULL);
    d = H5Dcreate2(f, "/labels", H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    cr_assert(H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, y) >= 0);
    H5Dclose(d), H5Sclose(sp), H5Fclose(f);
    free(x), free(y);
    return p;
}

/* An int adder that adds one more than the exact sum: a membrane that got
 * any add some other way would differ from the reference, which adds one
 * at every synaptic, bias and reset add. */
static const char k_plus1[] =
    "#include <axlut/design.h>\n"
    "static uint32_t ev(const struct axl_design_ctx *c, uint32_t a, uint32_t b)\n"
    "{\n"
    "    int n = c->fa.bits, r = c->fr.bits;\n"
    "    int32_t x = (int32_t)(a << (32 - n)) >> (32 - n), y = (int32_t)(b << (32 - n)) >> (32 - n);\n"
    "    return (uint32_t)(x + y + 1) & ((1u << r) - 1u);\n"
    "}\n"
    "const struct axl_design axl_user_design = {.abi = AXL_DESIGN_ABI, .name = \"add_plus1\",\n"
    "    .description = \"exact sum plus one\", .citation = \"test\", .op = AXL_OP_ADD,\n"
    "    .operands = AXL_OPERANDS_INT, .eval = ev, .version = 1};\n";


#endif
