/* SNN conversion and simulation (include/axlut/snn.h): the IF dynamics of
 * layers against a reference loop written here, bit for bit; the
 * normalisation against a percentile computed here; the batched kernels
 * (event, dense, auto) giving the bits of the scalar reference kernel under
 * every built-in adder; every membrane add going through the adder
 * (a user adder that adds one more than it should, checked by the same
 * reference); the LeNet fixture approaching its ANN as T grows; refusals. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/layers.h"
#include "axlut/snn.h"
#include "axlut/train.h"
#include "model_fixtures.h"
#include "labelled_data.h"
#include "snn_ref.h"

static char g_dir[64];

static void setup(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/axl_snn_XXXXXX");
    cr_assert(mkdtemp(g_dir));
    setenv("AXL_CACHE_DIR", g_dir, 1); /* the user design's object */
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(snn, .init = setup, .fini = teardown, .timeout = 600);

/* n LeNet-shaped samples (labelled_data.h) with amplitude amp */
static const char *make_data_amp(const char *name, int n, float amp, uint32_t seed)
{
    const char *p = path_in(g_dir, name);
    write_labelled_images(p, n, 28, amp, seed, 0);
    return p;
}

static const char *make_data(const char *name, int n)
{
    return make_data_amp(name, n, 1.5f, 12345);
}



/* The input currents I_j = sum_i w_ji x_i of a conv layer in fp32 (the
 * weights' codes are their values), summed over (channel, kernel row,
 * kernel column) as the MAC engine's sequential order does: padding left
 * out (adding its +-0 products to a sum started at +0 changes nothing). */
static uint32_t *direct_currents(const struct axl_snn_layer_info *li,
                                 const struct axl_snn_layer_codes *c, const struct axl_window *w,
                                 const float *x)
{
    uint32_t *cur = malloc((size_t)li->neurons * 4);
    int64_t cpg = w->c / w->groups;
    for (int64_t j = 0; j < li->neurons; j++) {
        int64_t oc = j / (w->oh * w->ow), oy = j / w->ow % w->oh, ox = j % w->ow;
        int64_t grp = oc / (w->oc / w->groups);
        float sum = 0;
        for (int64_t ci = 0; ci < cpg; ci++)
            for (int64_t ky = 0; ky < w->kh; ky++)
                for (int64_t kx = 0; kx < w->kw; kx++) {
                    int64_t y = oy * w->stride_h - w->pad_t + ky * w->dil_h;
                    int64_t xx = ox * w->stride_w - w->pad_l + kx * w->dil_w;
                    if (y < 0 || y >= w->h || xx < 0 || xx >= w->w)
                        continue;
                    float wv;
                    memcpy(&wv, &c->w[((oc * cpg + ci) * w->kh + ky) * w->kw + kx], 4);
                    sum += wv * x[((grp * cpg + ci) * w->h + y) * w->w + xx];
                }
        memcpy(&cur[j], &sum, 4);
    }
    return cur;
}

/* The currents of the first layer through the MAC engine configured by
 * spec (its own tests prove it against references): what the SNN must
 * use when given a multiplier for its input products. */
static uint32_t *mac_currents(const struct axl_snn_layer_info *li,
                              const struct axl_snn_layer_codes *c, const struct axl_window *w,
                              const float *x, const struct axl_mac_spec *spec)
{
    char msg[AXL_MSG_LEN];
    struct axl_mac *m = NULL;
    cr_assert_eq(axl_mac_create(spec, &m, msg), AXL_OK, "%s", msg);
    float *y = malloc((size_t)li->neurons * sizeof *y), *wv = malloc((size_t)c->nw * 4);
    memcpy(wv, c->w, (size_t)c->nw * 4); /* fp32 membrane: the codes are the values */
    struct axl_conv_args a = {
        .n = 1, .c = w->c, .h = w->h, .w = w->w, .oc = w->oc, .kh = w->kh, .kw = w->kw,
        .stride_h = w->stride_h, .stride_w = w->stride_w, .pad_t = w->pad_t, .pad_l = w->pad_l,
        .pad_b = w->pad_b, .pad_r = w->pad_r, .dil_h = w->dil_h, .dil_w = w->dil_w,
        .groups = w->groups, .x = x, .weight = wv, .y = y};
    cr_assert_eq(axl_mac_conv2d(m, AXL_BACKEND_CPU, &a, msg), AXL_OK, "%s", msg);
    uint32_t *cur = malloc((size_t)li->neurons * 4);
    memcpy(cur, y, (size_t)li->neurons * 4);
    free(y), free(wv);
    axl_mac_free(m);
    return cur;
}

/* Simulates s on the first samples of x for T steps tracing layer k of
 * sample 1, and checks the trace against the reference step by step:
 * membranes bit for bit, spikes equal.  cur_of: the first layer under
 * direct coding in fp32, driven by the currents of sample 1 (exact: a loop
 * written here; with a multiplier: the MAC engine with that spec).  The
 * number of mismatches (the first ten logged as errors when log is set). */
static int check_layer(const struct axl_graph *g, const struct axl_snn *s, size_t k,
                       const struct axl_tensor *x, int64_t T, const struct ref_arith *a, int log,
                       const struct axl_mac_spec *cur_of)
{
    struct axl_snn_layer_info li;
    struct axl_snn_layer_codes c;
    axl_snn_layer(s, k, &li);
    axl_snn_layer_codes(s, k, &c);
    struct axl_window w = {0};
    char msg[AXL_MSG_LEN];
    if (li.kind == AXL_SNN_CONV)
        cr_assert_eq(axl_graph_node_window(g, (size_t)axl_graph_find_node(g, li.name), &w, msg),
                     AXL_OK, "%s", msg);
    struct axl_snn_trace tr = {k, 1, malloc((size_t)(T * li.neurons) * 4),
                               malloc((size_t)(T * li.inputs)), malloc((size_t)(T * li.neurons))};
    int64_t steps[1] = {T};
    struct axl_snn_sim o = {.steps = steps, .nsteps = 1, .trace = &tr};
    float *ro = malloc((size_t)(x->dims[0] * axl_snn_outputs(s)) * sizeof *ro);
    cr_assert_eq(axl_snn_simulate(s, x, &o, ro, NULL, NULL, msg), AXL_OK, "%s", msg);
    uint32_t *v = calloc((size_t)li.neurons, 4);
    uint32_t *cur = !cur_of ? NULL
                  : cur_of->mul ? mac_currents(&li, &c, &w, x->data + li.inputs, cur_of)
                                : direct_currents(&li, &c, &w, x->data + li.inputs);
    int8_t *out = calloc((size_t)li.neurons, 1);
    int bad = 0, spikes = 0, inputs = cur != NULL;
    for (int64_t t = 0; t < T; t++) {
        ref_layer_step(a, &li, &c, &w, tr.in + t * li.inputs, cur, v, out);
        for (int64_t i = 0; i < li.inputs; i++)
            inputs += tr.in[t * li.inputs + i] != 0;
        for (int64_t j = 0; j < li.neurons; j++) {
            spikes += out[j];
            if (v[j] == tr.v[t * li.neurons + j] && out[j] == tr.out[t * li.neurons + j])
                continue;
            if (bad++ < 10 && log)
                cr_log_error("layer %s step %lld neuron %lld: v %08x, reference %08x; spike %d, "
                             "reference %d", li.name, (long long)t + 1, (long long)j,
                             tr.v[t * li.neurons + j], v[j], tr.out[t * li.neurons + j], out[j]);
        }
    }
    /* a test that saw no spikes in or out would prove little */
    cr_assert(inputs > 0 && (spikes > 0 || !li.spiking), "layer %s: %d input spikes, %d spikes",
              li.name, inputs, spikes);
    free(tr.v), free(tr.in), free(tr.out), free(ro), free(v), free(out), free(cur);
    return bad;
}

/* The max-pool gate of layer k against the rule of snn.h: the spikes of the
 * window's input with the highest count so far (ties: the lowest index). */
static int check_gate(const struct axl_graph *g, const struct axl_snn *s, size_t k,
                      const struct axl_tensor *x, int64_t T)
{
    struct axl_snn_layer_info li;
    axl_snn_layer(s, k, &li);
    struct axl_window w;
    char msg[AXL_MSG_LEN];
    cr_assert_eq(axl_graph_node_window(g, (size_t)axl_graph_find_node(g, li.name), &w, msg),
                 AXL_OK, "%s", msg);
    struct axl_snn_trace tr = {k, 1, NULL, malloc((size_t)(T * li.inputs)),
                               malloc((size_t)(T * li.neurons))};
    int64_t steps[1] = {T};
    struct axl_snn_sim o = {.steps = steps, .nsteps = 1, .trace = &tr};
    float *ro = malloc((size_t)(x->dims[0] * axl_snn_outputs(s)) * sizeof *ro);
    cr_assert_eq(axl_snn_simulate(s, x, &o, ro, NULL, NULL, msg), AXL_OK, "%s", msg);
    int *cnt = calloc((size_t)li.inputs, sizeof *cnt), bad = 0, passed = 0;
    for (int64_t t = 0; t < T; t++) {
        const int8_t *in = tr.in + t * li.inputs;
        for (int64_t i = 0; i < li.inputs; i++)
            cnt[i] += in[i];
        for (int64_t j = 0; j < li.neurons; j++) {
            int64_t ch = j / (w.oh * w.ow), oy = j / w.ow % w.oh, ox = j % w.ow, best = -1;
            for (int64_t ky = 0; ky < w.kh; ky++)
                for (int64_t kx = 0; kx < w.kw; kx++) {
                    int64_t y = oy * w.stride_h - w.pad_t + ky * w.dil_h;
                    int64_t xx = ox * w.stride_w - w.pad_l + kx * w.dil_w;
                    int64_t i = (ch * w.h + y) * w.w + xx;
                    if (y >= 0 && y < w.h && xx >= 0 && xx < w.w && (best < 0 || cnt[i] > cnt[best]))
                        best = i;
                }
            passed += in[best];
            bad += tr.out[t * li.neurons + j] != in[best];
        }
    }
    cr_assert(passed > 0, "the gate %s passed no spike", li.name);
    free(tr.in), free(tr.out), free(ro), free(cnt);
    return bad;
}


/* ---- tests ------------------------------------------------------------------ */

Test(snn, if_dynamics_match_a_reference_bit_for_bit)
{
    struct axl_graph *g = fixture_graph("lenet");
    const char *data = make_data("d.h5", 64);
    struct axl_snn *s = convert(g, data, NULL);
    struct axl_tensor x = read_inputs(g, data, 2);
    struct ref_arith a = {.f = {0}};
    axl_format_parse("fp32", &a.f, NULL);
    const char *names[] = {"/conv1/Conv", "/conv2/Conv", "/fc1/Gemm", "/fc2/Gemm", "/fc3/Gemm"};
    struct axl_mac_spec exact = {0};
    for (int i = 0; i < 5; i++) /* conv1: the analog input's current */
        cr_expect_eq(check_layer(g, s, layer_named(s, names[i]), &x, 24, &a, 1,
                                 i == 0 ? &exact : NULL), 0, "%s", names[i]);
    cr_expect_eq(check_gate(g, s, layer_named(s, "/pool1/MaxPool"), &x, 24), 0);
    cr_expect_eq(check_gate(g, s, layer_named(s, "/pool2/MaxPool"), &x, 24), 0);
    axl_tensor_free(&x);
    axl_snn_free(s);
    axl_graph_free(g);
}

/* --mul: the first layer's products through the multiplier (Mitchell's
 * logarithmic one on e4m3 operands): its currents are the MAC engine's
 * with that configuration, and they differ from the exact ones */
Test(snn, first_layer_products_go_through_the_multiplier)
{
    struct axl_graph *g = fixture_graph("lenet");
    const char *data = make_data("d.h5", 32);
    struct axl_snn_settings st;
    axl_snn_defaults(&st);
    st.mul = "fpmul_mitchell";
    st.fmt_in = "e4m3";
    struct axl_snn *s = convert(g, data, &st);
    struct axl_tensor x = read_inputs(g, data, 2);
    struct ref_arith a = {.f = {0}};
    axl_format_parse("fp32", &a.f, NULL);
    struct axl_mac_spec spec = {.mul = "fpmul_mitchell", .fmt_a = "e4m3"}, exact = {0};
    size_t k = layer_named(s, "/conv1/Conv");
    cr_expect_eq(check_layer(g, s, k, &x, 12, &a, 1, &spec), 0);
    cr_expect_gt(check_layer(g, s, k, &x, 12, &a, 0, &exact), 0);
    char d[256];
    axl_snn_describe(s, d, sizeof d);
    cr_expect(strstr(d, "fpmul_mitchell in e4m3"), "%s", d);
    axl_tensor_free(&x);
    axl_snn_free(s);
    /* Bernoulli input spikes have no products to approximate */
    char msg[AXL_MSG_LEN];
    struct axl_dataset *ds = NULL;
    cr_assert_eq(axl_dataset_open(data, g, &ds, msg), AXL_OK, "%s", msg);
    st.coding = AXL_SNN_CODING_BERNOULLI;
    cr_expect_eq(axl_snn_convert(g, ds, &st, &s, msg), AXL_ERR_INVALID);
    cr_expect(strstr(msg, "direct coding") && !s, "%s", msg);
    axl_dataset_close(ds);
    axl_graph_free(g);
}

/* --config: per-layer arithmetic in axlut run's language; every layer
 * matches a reference in its own arithmetic, bit for bit (the +1 adder in
 * one layer only), and a rule naming no layer is refused */
Test(snn, a_layer_configuration_sets_each_layers_arithmetic)
{
    struct axl_graph *g = fixture_graph("lenet");
    const char *data = make_data("d.h5", 32);
    const char *src = path_in(g_dir, "add_plus1.c"), *cfg = path_in(g_dir, "cfg.json");
    FILE *f = fopen(src, "w");
    cr_assert(f && fputs(k_plus1, f) >= 0 && fclose(f) == 0);
    cr_assert((f = fopen(cfg, "w")));
    fprintf(f, "{\"layers\": [{\"match\": \"/fc1/Gemm\", \"add\": \"%s\"},\n"
               "  {\"match\": \"/conv2/Conv\", \"exact\": true}]}\n", src);
    cr_assert(fclose(f) == 0);
    char msg[AXL_MSG_LEN];
    struct axl_layers *layers = NULL;
    cr_assert_eq(axl_layers_load_json(cfg, &layers, msg), AXL_OK, "%s", msg);
    /* the default: int16 membranes, add_exact (axlut snn's --acc-format does this) */
    cr_assert_eq(axl_layers_set_default(layers, "acc-format", "int16", msg), AXL_OK, "%s", msg);
    struct axl_snn_settings st;
    axl_snn_defaults(&st);
    st.fmt_acc = "int16"; /* add_exact elsewhere */
    st.coding = AXL_SNN_CODING_BERNOULLI;
    st.config = layers;
    struct axl_snn *s = convert(g, data, &st);
    struct axl_tensor x = read_inputs(g, data, 2);
    struct ref_arith i16 = {.f = {0}}, i16p = {.plus_one = 1}, f32 = {.f = {0}};
    axl_format_parse("int16", &i16.f, NULL);
    axl_format_parse("int16", &i16p.f, NULL);
    axl_format_parse("fp32", &f32.f, NULL);
    const char *names[] = {"/conv1/Conv", "/conv2/Conv", "/fc1/Gemm", "/fc2/Gemm", "/fc3/Gemm"};
    const struct ref_arith *want[] = {&i16, &f32, &i16p, &i16, &i16};
    for (int i = 0; i < 5; i++) {
        size_t k = layer_named(s, names[i]);
        struct axl_snn_layer_codes c;
        axl_snn_layer_codes(s, k, &c);
        cr_expect_eq(c.facc.bits, want[i]->f.bits, "%s: membrane %s", names[i], c.facc.name);
        cr_expect_eq(check_layer(g, s, k, &x, 16, want[i], 1, NULL), 0, "%s", names[i]);
    }
    axl_tensor_free(&x);
    axl_snn_free(s);
    axl_layers_free(layers);
    cr_assert((f = fopen(cfg, "w")));
    fputs("{\"layers\": [{\"match\": \"/fc9/Gemm\", \"add\": \"loa\"}]}\n", f);
    cr_assert(fclose(f) == 0);
    cr_assert_eq(axl_layers_load_json(cfg, &layers, msg), AXL_OK, "%s", msg);
    struct axl_dataset *d = NULL;
    cr_assert_eq(axl_dataset_open(data, g, &d, msg), AXL_OK, "%s", msg);
    st.config = layers;
    cr_expect_eq(axl_snn_convert(g, d, &st, &s, msg), AXL_ERR_INVALID);
    cr_expect(strstr(msg, "/fc9/Gemm") && !s, "%s", msg);
    axl_dataset_close(d);
    axl_layers_free(layers);
    axl_graph_free(g);
}

/* Leaky IF: each step first v += enc(-F v) through the adder, in fp32 and
 * in an int16 membrane whose adder adds one more (the leak's add too); a
 * reference without the leak differs */
Test(snn, leaky_if_dynamics_match_a_reference_bit_for_bit)
{
    struct axl_graph *g = fixture_graph("lenet");
    const char *data = make_data("d.h5", 32);
    const char *src = path_in(g_dir, "add_plus1.c");
    FILE *f = fopen(src, "w");
    cr_assert(f && fputs(k_plus1, f) >= 0 && fclose(f) == 0);
    const char *names[] = {"/conv2/Conv", "/fc1/Gemm", "/fc2/Gemm", "/fc3/Gemm"};
    for (int intmem = 0; intmem < 2; intmem++) {
        struct axl_snn_settings st;
        axl_snn_defaults(&st);
        st.leak = 0.125;
        st.fmt_acc = intmem ? "int16" : NULL;
        st.add = intmem ? src : NULL;
        st.coding = AXL_SNN_CODING_BERNOULLI;
        struct axl_snn *s = convert(g, data, &st);
        struct axl_tensor x = read_inputs(g, data, 2);
        struct ref_arith a = {.plus_one = intmem, .leak = 0.125};
        axl_format_parse(intmem ? "int16" : "fp32", &a.f, NULL);
        for (int i = 0; i < 4; i++)
            cr_expect_eq(check_layer(g, s, layer_named(s, names[i]), &x, 20, &a, 1, NULL), 0,
                         "%s, %s membrane", names[i], intmem ? "int16" : "fp32");
        a.leak = 0; /* the leak does change the membranes */
        cr_expect_gt(check_layer(g, s, layer_named(s, "/conv2/Conv"), &x, 20, &a, 0, NULL), 0);
        axl_tensor_free(&x);
        axl_snn_free(s);
    }
    axl_graph_free(g);
}

Test(snn, normalisation_is_the_percentile_of_the_activations)
{
    struct axl_graph *g = fixture_graph("lenet");
    const char *data = make_data("d.h5", 48);
    struct axl_snn_settings st;
    axl_snn_defaults(&st);
    st.percentile = 99.0;
    st.batch = 7; /* batches do not change the histograms */
    struct axl_snn *s = convert(g, data, &st);
    struct axl_tensor x = read_inputs(g, data, 48);
    const char *nodes[] = {"/conv1/Conv", "/conv2/Conv", "/fc1/Gemm", "/fc2/Gemm"};
    for (int i = 0; i < 4; i++) {
        struct axl_snn_layer_info li;
        axl_snn_layer(s, layer_named(s, nodes[i]), &li);
        double want = exact_percentile(g, nodes[i], &x, 99.0);
        cr_expect(li.lambda >= want && li.lambda <= want * (1 + 0x1p-7), "%s: lambda %.9g, "
                  "the percentile %.9g", nodes[i], li.lambda, want);
    }
    /* fc1: w * lambda(pool2) / lambda(fc1), b / lambda(fc1), in fp32 */
    size_t k = layer_named(s, "/fc1/Gemm");
    struct axl_snn_layer_info li, src;
    struct axl_snn_layer_codes c;
    axl_snn_layer(s, k, &li);
    axl_snn_layer(s, k - 1, &src);
    axl_snn_layer_codes(s, k, &c);
    cr_assert_str_eq(src.name, "/pool2/MaxPool");
    struct axl_node_input w, b;
    size_t node = (size_t)axl_graph_find_node(g, "/fc1/Gemm");
    axl_graph_node_input(g, node, 1, &w);
    axl_graph_node_input(g, node, 2, &b);
    cr_assert(w.kind == AXL_SOURCE_CONST && b.kind == AXL_SOURCE_CONST);
    cr_assert_eq(c.nw, 120 * 400);
    int bad = 0;
    for (int64_t j = 0; j < 120; j++) {
        for (int64_t i = 0; i < 400; i++) {
            float want = (float)((double)w.value.data[j * 400 + i] * (src.lambda / li.lambda));
            uint32_t u;
            memcpy(&u, &want, 4);
            bad += u != c.w[j * 400 + i];
        }
        float want = (float)((double)b.value.data[j] * (1.0 / li.lambda));
        uint32_t u;
        memcpy(&u, &want, 4);
        bad += u != c.b[j];
    }
    cr_expect_eq(bad, 0, "%d weights or biases are not normalised", bad);
    axl_tensor_free(&x);
    axl_snn_free(s);
    axl_graph_free(g);
}


Test(snn, dense_and_event_driven_kernels_give_the_same_bits)
{
    struct axl_graph *g = fixture_graph("lenet");
    const char *data = make_data("d.h5", 32);
    struct axl_snn_settings st;
    axl_snn_defaults(&st);
    st.fmt_acc = "fp16";
    st.add = "fpadd_loa";
    st.add_params[0] = "k=4";
    st.n_add_params = 1;
    st.coding = AXL_SNN_CODING_BERNOULLI; /* signed input spikes into conv1 */
    st.seed = 7;
    compare_kernels(g, data, &st);
    axl_snn_defaults(&st);
    st.fmt_acc = "int16";
    st.add = "loa";
    st.add_params[0] = "k=3";
    st.n_add_params = 1;
    st.fmt_w = "int8";
    compare_kernels(g, data, &st);
    axl_graph_free(g);
}

/* The batched kernels (a block of adds per adder call) against the scalar
 * reference, for int16, fp16 and bf16 membranes and the built-in adders
 * (ETA-I in int16 and AMA5 in floats: test_snn_graph); Bernoulli coding
 * for signed input spikes, reset to zero and a leak on some so that every
 * kind of add is exercised. */
Test(snn, batched_kernels_give_the_reference_bits_under_every_adder)
{
    struct axl_graph *g = fixture_graph("lenet");
    const char *data = make_data("d.h5", 32);
    static const struct {
        const char *acc, *add, *param;
    } cfg[] = {
        {"int16", "loa", "k=4"},       {"fp16", "fpadd_eta1", "k=4"},
        {"int16", "ama5", "k=4"},      {"bf16", "fpadd_trunc_add", "k=4"},
        {"int16", "aca", "k=6"},       {"fp16", "fpadd_aca", "k=4"},
        {"bf16", "fpadd_loa", "k=2"},  {"int16", "trunc_add", "k=3"},
        {"fp32", NULL, NULL}, /* exact float32 adds: added at once, not queued */
    };
    for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++) {
        struct axl_snn_settings st;
        axl_snn_defaults(&st);
        st.fmt_acc = cfg[i].acc;
        st.add = cfg[i].add;
        st.add_params[0] = cfg[i].param;
        st.n_add_params = cfg[i].param != NULL;
        st.coding = i % 2 ? AXL_SNN_CODING_BERNOULLI : AXL_SNN_CODING_DIRECT;
        st.reset = i % 3 == 2 ? AXL_SNN_RESET_ZERO : AXL_SNN_RESET_SUBTRACT;
        st.leak = i == 4 ? 0.125 : 0;
        st.seed = 11 + i;
        cr_log_info("%s %s %s", cfg[i].acc, cfg[i].add, cfg[i].param ? cfg[i].param : "");
        compare_kernels(g, data, &st);
    }
    axl_graph_free(g);
}

Test(snn, every_membrane_add_goes_through_the_adder)
{
    struct axl_graph *g = fixture_graph("lenet");
    const char *data = make_data("d.h5", 32);
    const char *src = path_in(g_dir, "add_plus1.c");
    FILE *f = fopen(src, "w");
    cr_assert(f && fputs(k_plus1, f) >= 0 && fclose(f) == 0);
    const char *names[] = {"/conv1/Conv", "/conv2/Conv", "/fc1/Gemm", "/fc2/Gemm", "/fc3/Gemm"};
    for (int plus = 0; plus < 2; plus++) {
        struct axl_snn_settings st;
        axl_snn_defaults(&st);
        st.fmt_acc = "int16";
        st.add = plus ? src : NULL; /* add_exact otherwise */
        st.coding = AXL_SNN_CODING_BERNOULLI; /* every layer driven by spikes */
        struct axl_snn *s = convert(g, data, &st);
        struct axl_tensor x = read_inputs(g, data, 2);
        struct ref_arith a = {.plus_one = plus};
        axl_format_parse("int16", &a.f, NULL);
        for (int i = 0; i < 5; i++)
            cr_expect_eq(check_layer(g, s, layer_named(s, names[i]), &x, 16, &a, 1, NULL), 0,
                         "%s with %s", names[i], plus ? "add_plus1" : "add_exact");
        if (plus) { /* the reference does see the difference */
            a.plus_one = 0;
            cr_expect_gt(check_layer(g, s, layer_named(s, "/fc1/Gemm"), &x, 16, &a, 0, NULL), 0);
        }
        axl_tensor_free(&x);
        axl_snn_free(s);
    }
    axl_graph_free(g);
}

Test(snn, a_trained_lenet_approaches_its_ann_as_t_grows)
{
    char msg[AXL_MSG_LEN];
    struct axl_graph *g = fixture_graph("lenet");
    /* a faint band: the task is not trivial, the ANN is far from 100% */
    const char *train = make_data_amp("train.h5", 200, 0.5f, 12345);
    const char *test = make_data_amp("test.h5", 100, 0.5f, 999);
    struct axl_dataset *tr = NULL, *te = NULL;
    cr_assert_eq(axl_dataset_open(train, g, &tr, msg), AXL_OK, "%s", msg);
    cr_assert_eq(axl_dataset_open(test, g, &te, msg), AXL_OK, "%s", msg);
    struct axl_train_settings ts;
    axl_train_defaults(&ts);
    ts.epochs = 3, ts.batch = 16, ts.optimizer = AXL_OPTIMIZER_ADAM, ts.lr = 0.002f, ts.seed = 1;
    struct axl_train_report trep;
    cr_assert_eq(axl_train(g, NULL, tr, NULL, &ts, &trep, msg), AXL_OK, "%s", msg);
    axl_train_report_free(&trep);
    struct axl_snn *s = NULL;
    cr_assert_eq(axl_snn_convert(g, tr, NULL, &s, msg), AXL_OK, "%s", msg);
    int64_t steps[] = {4, 16, 64};
    struct axl_snn_report r;
    cr_assert_eq(axl_snn_evaluate(s, g, te, steps, 3, NULL, &r, msg), AXL_OK, "%s", msg);
    cr_log_info("ANN top-1 %.2f; SNN top-1 / agreement: T=4 %.2f/%.2f, T=16 %.2f/%.2f, "
                "T=64 %.2f/%.2f", r.ann_top1, r.steps[0].top1, r.steps[0].agreement,
                r.steps[1].top1, r.steps[1].agreement, r.steps[2].top1, r.steps[2].agreement);
    cr_expect(r.ann_top1 > 0.4 && r.ann_top1 < 0.95, "the ANN's top-1 %.2f", r.ann_top1);
    cr_expect(r.steps[0].agreement < r.steps[1].agreement &&
              r.steps[1].agreement < r.steps[2].agreement, "agreement does not grow with T");
    cr_expect_geq(r.steps[2].agreement, 0.85);
    cr_expect(r.steps[0].top1 < r.steps[2].top1 && fabs(r.steps[2].top1 - r.ann_top1) <= 0.1,
              "top-1 %.2f at T=4, %.2f at T=64, the ANN's %.2f", r.steps[0].top1,
              r.steps[2].top1, r.ann_top1);
    /* the report: rates in [0, 1], synaptic adds grow with T, none for the gates */
    for (size_t k = 0; k < r.nlayers; k++) {
        const struct axl_snn_layer_result *L = &r.layers[k];
        cr_expect(L->rate[2] >= 0 && L->rate[2] <= 1, "%s rate %g", L->info.name, L->rate[2]);
        cr_expect(L->info.kind == AXL_SNN_MAXPOOL ? L->synops[2] == 0
                                                  : L->synops[0] < L->synops[2], "%s",
                  L->info.name);
    }
    axl_snn_report_free(&r);
    axl_snn_free(s);
    axl_dataset_close(tr);
    axl_dataset_close(te);
    axl_graph_free(g);
}

/* the message of a conversion check of fixture name */
static enum axl_status check_fixture(const char *name, char *msg)
{
    struct axl_graph *g = fixture_graph(name);
    enum axl_status st = axl_snn_check(g, msg);
    axl_graph_free(g);
    return st;
}

Test(snn, bad_inputs_are_refused_with_one_line)
{
    char msg[AXL_MSG_LEN];
    /* operators that cannot become spiking, named with their node */
    cr_expect_eq(check_fixture("resnet_bn", msg), AXL_OK, "%s", msg); /* residual Adds */
    cr_expect_eq(check_fixture("inception_mini", msg), AXL_OK, "%s", msg); /* Concat */
    cr_assert_eq(check_fixture("mobilenetv2_block", msg), AXL_ERR_UNSUPPORTED);
    cr_expect(strstr(msg, "(Clip)") && strstr(msg, "node '"), "%s", msg);
    cr_assert_eq(check_fixture("transformer_block", msg), AXL_ERR_UNSUPPORTED);
    cr_expect(!strchr(msg, '\n'), "%s", msg);

    struct axl_graph *g = fixture_graph("lenet");
    const char *data = make_data("d.h5", 8);
    struct axl_dataset *d = NULL;
    cr_assert_eq(axl_dataset_open(data, g, &d, msg), AXL_OK, "%s", msg);
    struct axl_snn *s = NULL;
    struct axl_snn_settings st;
    const char *bad_add[][2] = {{"nope", "unknown design"}, {"fpadd_loa", "int16"},
                                {"mul_exact", "multiplier"}};
    for (int i = 0; i < 3; i++) {
        axl_snn_defaults(&st);
        st.fmt_acc = "int16";
        st.add = bad_add[i][0];
        cr_expect_neq(axl_snn_convert(g, d, &st, &s, msg), AXL_OK, "%s", bad_add[i][0]);
        cr_expect(strstr(msg, bad_add[i][1]) && !s, "%s: %s", bad_add[i][0], msg);
    }
    axl_snn_defaults(&st);
    st.fmt_acc = "uint16";
    cr_expect_eq(axl_snn_convert(g, d, &st, &s, msg), AXL_ERR_INVALID);
    st.fmt_acc = NULL;
    st.percentile = 120;
    cr_expect_eq(axl_snn_convert(g, d, &st, &s, msg), AXL_ERR_INVALID);
    cr_expect(strstr(msg, "percentile"), "%s", msg);

    /* T = 0, steps out of order, a wrong input shape */
    cr_assert_eq(axl_snn_convert(g, d, NULL, &s, msg), AXL_OK, "%s", msg);
    struct axl_tensor x = read_inputs(g, data, 2);
    float out[2 * 10 * 2];
    int64_t zero[] = {0}, desc[] = {8, 4};
    struct axl_snn_sim o = {.steps = zero, .nsteps = 1};
    cr_expect_eq(axl_snn_simulate(s, &x, &o, out, NULL, NULL, msg), AXL_ERR_INVALID);
    cr_expect(strstr(msg, "T = 0"), "%s", msg);
    o.steps = desc, o.nsteps = 2;
    cr_expect_eq(axl_snn_simulate(s, &x, &o, out, NULL, NULL, msg), AXL_ERR_INVALID);
    struct axl_snn_report r;
    cr_expect_eq(axl_snn_evaluate(s, g, d, zero, 1, NULL, &r, msg), AXL_ERR_INVALID);
    cr_expect(strstr(msg, "T = 0"), "%s", msg);
    x.dims[3] = 14;
    o.nsteps = 1;
    cr_expect_eq(axl_snn_simulate(s, &x, &o, out, NULL, NULL, msg), AXL_ERR_MISMATCH);
    axl_tensor_free(&x);
    axl_snn_free(s);
    axl_dataset_close(d);
    axl_graph_free(g);
}
