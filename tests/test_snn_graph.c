/* SNNs of graphs that are not chains (include/axlut/snn.h): residual Adds
 * (resnet_bn: an identity shortcut and a 1x1-conv shortcut) against a
 * reference written in the test, bit for bit; Concat (inception_mini)
 * passing its sources' spikes in order under one lambda; the kernels and
 * the thread count leaving the bits alone; the spike-count readout; the
 * per-layer rate error against the ANN's activations. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <hdf5.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/snn.h"
#include "model_fixtures.h"
#include "labelled_data.h"
#include "snn_ref.h"

static char g_dir[64];

static void setup(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/axl_snng_XXXXXX");
    cr_assert(mkdtemp(g_dir));
    setenv("AXL_CACHE_DIR", g_dir, 1); /* the user design's object */
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(snn_graph, .init = setup, .fini = teardown, .timeout = 600);

/* g_dir/name: n samples of c x side x side uniform noise in [-1, 2) with
 * labels i % 10 (snn_ref.h) */
static const char *noise_data(const char *name, int n, int c, int side, uint32_t seed)
{
    return snn_noise_data(path_in(g_dir, name), n, c, side, seed);
}

/* the trace of layer k, sample 1, T steps (all three records) */
static struct axl_snn_trace trace_of(const struct axl_snn *s, size_t k,
                                     const struct axl_tensor *x, int64_t T)
{
    struct axl_snn_layer_info li;
    axl_snn_layer(s, k, &li);
    struct axl_snn_trace tr = {k, 1, calloc((size_t)(T * li.neurons) + 1, 4),
                               calloc((size_t)(T * li.inputs) + 1, 1),
                               calloc((size_t)(T * li.neurons) + 1, 1)};
    int64_t steps[1] = {T};
    struct axl_snn_sim o = {.steps = steps, .nsteps = 1, .trace = &tr};
    float *ro = malloc((size_t)(x->dims[0] * axl_snn_outputs(s)) * sizeof *ro);
    char msg[AXL_MSG_LEN];
    cr_assert_eq(axl_snn_simulate(s, x, &o, ro, NULL, NULL, msg), AXL_OK, "%s", msg);
    free(ro);
    return tr;
}

static void trace_free(struct axl_snn_trace *t) { free(t->v), free(t->in), free(t->out); }

static struct axl_window window_of(const struct axl_graph *g, const char *name)
{
    struct axl_window w = {0};
    char msg[AXL_MSG_LEN];
    cr_assert_eq(axl_graph_node_window(g, (size_t)axl_graph_find_node(g, name), &w, msg), AXL_OK,
                 "%s", msg);
    return w;
}

/* The Add layer k against the semantics of snn.h: per neuron, every
 * projection's synaptic adds (in layer order, each over its own input
 * spikes), the identity shortcut, the bias, the threshold.  Mismatches. */
static int check_add(const struct axl_graph *g, const struct axl_snn *s, size_t k,
                     const struct axl_tensor *x, int64_t T, const struct ref_arith *a)
{
    struct axl_snn_layer_info li, pli[4];
    struct axl_snn_layer_codes c, pc[4];
    struct axl_window pw[4];
    struct axl_snn_trace pt[4];
    int np = 0;
    axl_snn_layer(s, k, &li);
    axl_snn_layer_codes(s, k, &c);
    cr_assert_eq(li.kind, AXL_SNN_ADD);
    for (size_t p = 0; p < k; p++) {
        axl_snn_layer(s, p, &pli[np]);
        if (pli[np].into != (int64_t)k)
            continue;
        cr_assert_eq(pli[np].kind, AXL_SNN_CONV);
        axl_snn_layer_codes(s, p, &pc[np]);
        pw[np] = window_of(g, pli[np].name);
        pt[np] = trace_of(s, p, x, T);
        np++;
    }
    cr_assert(np >= 1 && np <= 2, "%s: %d projections", li.name, np);
    struct axl_snn_trace tr = trace_of(s, k, x, T);
    uint32_t *v = calloc((size_t)li.neurons, 4);
    int8_t *out = calloc((size_t)li.neurons, 1);
    int bad = 0, spikes = 0, ident = 0;
    int64_t per = pw[0].oh * pw[0].ow;
    for (int64_t t = 0; t < T; t++) {
        const int8_t *in = tr.in + t * li.inputs;
        for (int64_t j = 0; j < li.neurons; j++) {
            uint32_t y = v[j];
            for (int p = 0; p < np; p++)
                y = ref_synaptic(a, &pli[p], &pc[p], &pw[p], pt[p].in + t * pli[p].inputs, j, y);
            if (li.source >= 0 && in[j]) {
                y = ref_add(a, y, in[j] > 0 ? c.w[0] : ref_neg(a, c.w[0]));
                ident++;
            }
            v[j] = ref_fire(a, &li, &c, per, j, y, &out[j]);
            spikes += out[j];
            if (v[j] == tr.v[t * li.neurons + j] && out[j] == tr.out[t * li.neurons + j])
                continue;
            if (bad++ < 10)
                cr_log_error("%s step %lld neuron %lld: v %08x, reference %08x", li.name,
                             (long long)t + 1, (long long)j, tr.v[t * li.neurons + j], v[j]);
        }
    }
    cr_assert(spikes > 0 && (li.source < 0 || ident > 0), "%s: %d spikes, %d shortcut spikes",
              li.name, spikes, ident);
    for (int p = 0; p < np; p++)
        trace_free(&pt[p]);
    trace_free(&tr);
    free(v), free(out);
    return bad;
}

Test(snn_graph, residual_adds_match_a_reference_bit_for_bit)
{
    struct axl_graph *g = fixture_graph("resnet_bn");
    const char *data = noise_data("d.h5", 24, 3, 16, 5);
    const char *src = path_in(g_dir, "add_plus1.c");
    FILE *f = fopen(src, "w");
    cr_assert(f && fputs(k_plus1, f) >= 0 && fclose(f) == 0);
    for (int intmem = 0; intmem < 2; intmem++) {
        struct axl_snn_settings st;
        axl_snn_defaults(&st);
        st.fmt_acc = intmem ? "int16" : NULL;
        st.add = intmem ? src : NULL; /* +1 on every add: none may bypass the adder */
        struct axl_snn *s = convert(g, data, &st);
        struct axl_tensor x = read_inputs(g, data, 2);
        struct ref_arith a = {.plus_one = intmem};
        axl_format_parse(intmem ? "int16" : "fp32", &a.f, NULL);
        int adds = 0, idents = 0;
        for (size_t k = 0; k < axl_snn_layer_count(s); k++) {
            struct axl_snn_layer_info li;
            axl_snn_layer(s, k, &li);
            if (li.kind != AXL_SNN_ADD)
                continue;
            adds++, idents += li.source >= 0;
            cr_expect(li.spiking && li.lambda > 0 && li.lambda != 1, "%s", li.name);
            cr_expect_eq(check_add(g, s, k, &x, 16, &a), 0, "%s (%s membrane)", li.name,
                         intmem ? "int16" : "fp32");
        }
        cr_expect(adds == 2 && idents == 1, "%d Adds, %d with an identity shortcut", adds, idents);
        axl_tensor_free(&x);
        axl_snn_free(s);
    }
    axl_graph_free(g);
}

Test(snn_graph, kernels_agree_on_residual_and_concat_layers)
{
    struct axl_graph *g = fixture_graph("resnet_bn");
    const char *data = noise_data("r.h5", 16, 3, 16, 9);
    struct axl_snn_settings st;
    axl_snn_defaults(&st);
    st.fmt_acc = "fp16";
    st.add = "fpadd_ama5";
    st.add_params[0] = "k=4";
    st.n_add_params = 1;
    st.coding = AXL_SNN_CODING_BERNOULLI;
    st.seed = 3;
    compare_kernels(g, data, &st);
    axl_graph_free(g);
    g = fixture_graph("inception_mini");
    data = noise_data("i.h5", 16, 3, 12, 11);
    axl_snn_defaults(&st);
    st.fmt_acc = "int16";
    st.add = "eta1";
    st.add_params[0] = "k=3";
    st.n_add_params = 1;
    st.fmt_w = "int8";
    st.leak = 0.05;
    st.readout = AXL_SNN_READOUT_SPIKES;
    compare_kernels(g, data, &st);
    axl_graph_free(g);
}

Test(snn_graph, concat_passes_its_sources_spikes_in_order_under_one_lambda)
{
    struct axl_graph *g = fixture_graph("inception_mini");
    const char *data = noise_data("d.h5", 20, 3, 12, 21);
    struct axl_snn *s = convert(g, data, NULL);
    struct axl_tensor all = read_inputs(g, data, 20), x = read_inputs(g, data, 2);
    size_t k = layer_named(s, "/Concat");
    struct axl_snn_layer_info ci;
    axl_snn_layer(s, k, &ci);
    cr_assert_eq(ci.kind, AXL_SNN_CONCAT);
    const char *srcs[] = {"/b1/b1.0/Conv", "/b3/b3.0/Conv", "/bp/bp.1/bp.1.0/Conv"};
    int64_t T = 12, off = 0;
    struct axl_snn_trace ct = trace_of(s, k, &x, T);
    double pmax = 0;
    int bad = 0, spikes = 0;
    for (int i = 0; i < 3; i++) {
        size_t q = layer_named(s, srcs[i]);
        struct axl_snn_layer_info li;
        axl_snn_layer(s, q, &li);
        pmax = fmax(pmax, exact_percentile(g, srcs[i], &all, 99.9));
        cr_expect_eq(li.lambda, ci.lambda, "%s: lambda %g, the concat's %g", srcs[i], li.lambda,
                     ci.lambda);
        struct axl_snn_trace tr = trace_of(s, q, &x, T);
        for (int64_t t = 0; t < T; t++)
            for (int64_t j = 0; j < li.neurons; j++) {
                spikes += tr.out[t * li.neurons + j];
                bad += tr.out[t * li.neurons + j] != ct.out[t * ci.neurons + off + j];
            }
        off += li.neurons;
        trace_free(&tr);
    }
    cr_expect_eq(off, ci.neurons);
    cr_expect(spikes > 0 && bad == 0, "%d spikes, %d differ", spikes, bad);
    /* the shared lambda: the largest of the sources' percentiles */
    cr_expect(ci.lambda >= pmax && ci.lambda <= pmax * (1 + 0x1p-7), "lambda %.9g, largest "
              "percentile %.9g", ci.lambda, pmax);
    trace_free(&ct);
    axl_tensor_free(&x);
    axl_tensor_free(&all);
    axl_snn_free(s);
    axl_graph_free(g);
}

Test(snn_graph, the_spike_readout_is_the_count_of_the_last_layers_spikes)
{
    struct axl_graph *g = fixture_graph("lenet");
    const char *data = noise_data("d.h5", 16, 1, 28, 4);
    struct axl_snn_settings st;
    axl_snn_defaults(&st);
    st.readout = AXL_SNN_READOUT_SPIKES;
    struct axl_snn *s = convert(g, data, &st);
    struct axl_tensor x = read_inputs(g, data, 2);
    size_t last = axl_snn_layer_count(s) - 1;
    struct axl_snn_layer_info li;
    axl_snn_layer(s, last, &li);
    cr_expect(li.readout && li.spiking && li.lambda != 1, "readout: spiking %d, lambda %g",
              li.spiking, li.lambda);
    int64_t T = 24, steps[1] = {24}, C = axl_snn_outputs(s);
    struct axl_snn_trace tr = trace_of(s, last, &x, T);
    float ro[2 * 16];
    char msg[AXL_MSG_LEN];
    struct axl_snn_sim o = {.steps = steps, .nsteps = 1};
    cr_assert_eq(axl_snn_simulate(s, &x, &o, ro, NULL, NULL, msg), AXL_OK, "%s", msg);
    int total = 0;
    for (int64_t j = 0; j < C; j++) {
        int n = 0;
        for (int64_t t = 0; t < T; t++)
            n += tr.out[t * C + j];
        total += n;
        cr_expect_eq(ro[C + j], (float)n, "class %lld: readout %g, %d spikes", (long long)j,
                     ro[C + j], n);
    }
    cr_expect_gt(total, 0);
    trace_free(&tr);
    axl_tensor_free(&x);
    axl_snn_free(s);
    axl_graph_free(g);
}

/* the ANN's outputs of named nodes over x */
struct grab {
    const struct axl_graph *g;
    const char *const *names;
    int n;
    float **out;
};

static void grab_node(void *user, size_t node, const struct axl_tensor *out,
                      const struct axl_tensor *exact)
{
    (void)exact;
    struct grab *c = user;
    for (int i = 0; i < c->n; i++)
        if (!strcmp(axl_graph_node_name(c->g, node), c->names[i])) {
            size_t n = (size_t)axl_tensor_numel(&out[0]);
            c->out[i] = malloc(n * sizeof(float));
            memcpy(c->out[i], out[0].data, n * sizeof(float));
        }
}

Test(snn_graph, rate_error_is_the_distance_from_the_ann_activation)
{
    struct axl_graph *g = fixture_graph("lenet");
    const char *data = noise_data("d.h5", 16, 1, 28, 8);
    struct axl_snn *s = convert(g, data, NULL);
    struct axl_tensor x = read_inputs(g, data, 2);
    const char *names[] = {"/conv2/Conv", "/pool2/MaxPool", "/fc1/Gemm"};
    float *acts[3] = {0};
    struct grab gr = {g, names, 3, acts};
    struct axl_run_opts ro = {.observe = grab_node, .user = &gr};
    struct axl_tensor y = {0};
    char msg[AXL_MSG_LEN];
    cr_assert_eq(axl_graph_run(g, &ro, &x, &y, msg), AXL_OK, "%s", msg);
    size_t nl = axl_snn_layer_count(s);
    const float **ann = calloc(nl, sizeof *ann);
    size_t ks[3];
    for (int i = 0; i < 3; i++)
        ks[i] = layer_named(s, names[i]), ann[ks[i]] = acts[i];
    int64_t steps[2] = {5, 12};
    double *err = calloc(2 * nl, sizeof *err);
    float *out = malloc((size_t)(2 * 2 * axl_snn_outputs(s)) * sizeof *out);
    struct axl_snn_sim o = {.steps = steps, .nsteps = 2, .ann = ann, .rate_err = err};
    cr_assert_eq(axl_snn_simulate(s, &x, &o, out, NULL, NULL, msg), AXL_OK, "%s", msg);
    for (int i = 0; i < 3; i++) {
        struct axl_snn_layer_info li;
        axl_snn_layer(s, ks[i], &li);
        double want[2] = {0, 0};
        for (int64_t b = 0; b < 2; b++) {
            struct axl_snn_trace tr = {ks[i], b, NULL, NULL, calloc((size_t)(12 * li.neurons), 1)};
            struct axl_snn_sim ot = {.steps = steps, .nsteps = 2, .trace = &tr};
            cr_assert_eq(axl_snn_simulate(s, &x, &ot, out, NULL, NULL, msg), AXL_OK, "%s", msg);
            for (int r = 0; r < 2; r++)
                for (int64_t j = 0; j < li.neurons; j++) {
                    int n = 0;
                    for (int64_t t = 0; t < steps[r]; t++)
                        n += tr.out[t * li.neurons + j];
                    double a = acts[i][b * li.neurons + j];
                    want[r] += fabs(n * li.lambda / (double)steps[r] - (a > 0 ? a : 0));
                }
            free(tr.out);
        }
        for (int r = 0; r < 2; r++)
            cr_expect(want[r] > 0 && fabs(err[r * nl + ks[i]] - want[r]) <= 1e-9 * want[r],
                      "%s T=%lld: rate error %.12g, reference %.12g", names[i],
                      (long long)steps[r], err[r * nl + ks[i]], want[r]);
    }
    /* the evaluation's report: a mean per neuron for the layers that spike */
    struct axl_dataset *d = NULL;
    cr_assert_eq(axl_dataset_open(data, g, &d, msg), AXL_OK, "%s", msg);
    struct axl_snn_report r;
    cr_assert_eq(axl_snn_evaluate(s, g, d, steps, 2, NULL, &r, msg), AXL_OK, "%s", msg);
    for (size_t k = 0; k < r.nlayers; k++) {
        const struct axl_snn_layer_result *L = &r.layers[k];
        int own = L->info.spiking || L->info.kind == AXL_SNN_MAXPOOL;
        cr_expect(own ? L->rate_err[1] >= 0 && L->ann_mean > 0 : isnan(L->rate_err[1]),
                  "%s: rate error %g, ANN mean %g", L->info.name, L->rate_err[1], L->ann_mean);
    }
    axl_snn_report_free(&r);
    axl_dataset_close(d);
    for (int i = 0; i < 3; i++)
        free(acts[i]);
    free(ann), free(err), free(out);
    axl_tensor_free(&y);
    axl_tensor_free(&x);
    axl_snn_free(s);
    axl_graph_free(g);
}

Test(snn_graph, the_thread_count_does_not_change_the_bits)
{
    struct axl_graph *g = fixture_graph("resnet_bn");
    const char *data = noise_data("d.h5", 12, 3, 16, 13);
    struct axl_snn_settings st;
    axl_snn_defaults(&st);
    st.fmt_acc = "bf16";
    st.add = "fpadd_loa";
    st.add_params[0] = "k=3";
    st.n_add_params = 1;
    st.leak = 0.02;
    struct axl_snn *s = convert(g, data, &st);
    struct axl_dataset *d = NULL;
    char msg[AXL_MSG_LEN];
    cr_assert_eq(axl_dataset_open(data, g, &d, msg), AXL_OK, "%s", msg);
    int64_t steps[2] = {6, 14};
    struct axl_snn_report r[2];
    struct axl_snn_eval e = {.kernel = AXL_SNN_KERNEL_AUTO, .batch = 12};
    int threads[2] = {1, 3};
    for (int i = 0; i < 2; i++) {
        omp_set_num_threads(threads[i]);
        cr_assert_eq(axl_snn_evaluate(s, g, d, steps, 2, &e, &r[i], msg), AXL_OK, "%s", msg);
    }
    for (int t = 0; t < 2; t++)
        cr_expect(r[0].steps[t].top1 == r[1].steps[t].top1 &&
                  r[0].steps[t].agreement == r[1].steps[t].agreement);
    int spiked = 0;
    for (size_t k = 0; k < r[0].nlayers; k++)
        for (int t = 0; t < 2; t++) {
            const struct axl_snn_layer_result *a = &r[0].layers[k], *b = &r[1].layers[k];
            spiked += a->rate[t] > 0;
            cr_expect(!memcmp(&a->rate[t], &b->rate[t], sizeof(double)) &&
                      !memcmp(&a->synops[t], &b->synops[t], sizeof(double)) &&
                      !memcmp(&a->rate_err[t], &b->rate_err[t], sizeof(double)),
                      "%s T=%lld differs between 1 and 3 threads", a->info.name,
                      (long long)steps[t]);
        }
    cr_expect_gt(spiked, 8);
    struct axl_tensor x = read_inputs(g, data, 12);
    int64_t C = axl_snn_outputs(s);
    float *ro[2];
    for (int i = 0; i < 2; i++) {
        omp_set_num_threads(threads[i]);
        ro[i] = malloc((size_t)(2 * 12 * C) * sizeof(float));
        struct axl_snn_sim o = {.kernel = AXL_SNN_KERNEL_EVENT, .steps = steps, .nsteps = 2};
        cr_assert_eq(axl_snn_simulate(s, &x, &o, ro[i], NULL, NULL, msg), AXL_OK, "%s", msg);
    }
    cr_expect(!memcmp(ro[0], ro[1], (size_t)(2 * 12 * C) * sizeof(float)), "the readouts differ");
    free(ro[0]), free(ro[1]);
    axl_tensor_free(&x);
    axl_snn_report_free(&r[0]);
    axl_snn_report_free(&r[1]);
    axl_dataset_close(d);
    axl_snn_free(s);
    axl_graph_free(g);
}

/* argmax per row of /outputs/name (rows x C) */
static int64_t *saved_argmax(const char *path, const char *name, int64_t rows, int64_t C)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(f >= 0, "%s does not open", path);
    char ds[64];
    snprintf(ds, sizeof ds, "/outputs/%s", name);
    hid_t d = H5Dopen2(f, ds, H5P_DEFAULT);
    cr_assert(d >= 0, "%s: no %s", path, ds);
    hid_t sp = H5Dget_space(d);
    hsize_t dims[2];
    cr_assert_eq(H5Sget_simple_extent_dims(sp, dims, NULL), 2);
    cr_assert(dims[0] == (hsize_t)rows && dims[1] == (hsize_t)C, "%s is %llux%llu", ds,
              (unsigned long long)dims[0], (unsigned long long)dims[1]);
    float *v = malloc((size_t)(rows * C) * sizeof *v);
    cr_assert(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
    H5Sclose(sp), H5Dclose(d), H5Fclose(f);
    int64_t *am = malloc((size_t)rows * sizeof *am);
    for (int64_t r = 0; r < rows; r++) {
        am[r] = 0;
        for (int64_t c = 1; c < C; c++)
            if (v[r * C + c] > v[r * C + am[r]])
                am[r] = c;
    }
    free(v);
    return am;
}

/* the saved readouts give the report's top-1 and agreement at every T (rows
 * over several batches); a path that cannot be written is refused before
 * any work and leaves nothing */
Test(snn_graph, saved_outputs_hold_the_readout_at_every_t)
{
    struct axl_graph *g = fixture_graph("lenet");
    const char *data = noise_data("d.h5", 23, 1, 28, 17);
    struct axl_snn *s = convert(g, data, NULL);
    struct axl_dataset *d = NULL;
    char msg[AXL_MSG_LEN];
    cr_assert_eq(axl_dataset_open(data, g, &d, msg), AXL_OK, "%s", msg);
    int64_t steps[2] = {4, 16}, C = axl_snn_outputs(s);
    const char *out = path_in(g_dir, "o.h5");
    struct axl_snn_eval e = {.batch = 10, .save_outputs = out};
    struct axl_snn_report r;
    cr_assert_eq(axl_snn_evaluate(s, g, d, steps, 2, &e, &r, msg), AXL_OK, "%s", msg);
    int64_t *ann = saved_argmax(out, "ann", 23, C);
    for (int i = 0; i < 2; i++) {
        char name[16];
        snprintf(name, sizeof name, "snn_T%lld", (long long)steps[i]);
        int64_t *y = saved_argmax(out, name, 23, C);
        int right = 0, agree = 0;
        for (int64_t b = 0; b < 23; b++)
            right += y[b] == b % 10, agree += y[b] == ann[b];
        cr_expect(fabs(right / 23.0 - r.steps[i].top1) < 1e-9 &&
                  fabs(agree / 23.0 - r.steps[i].agreement) < 1e-9, "T=%lld: saved %d right, "
                  "%d agree; report %g, %g", (long long)steps[i], right, agree, r.steps[i].top1,
                  r.steps[i].agreement);
        free(y);
    }
    free(ann);
    axl_snn_report_free(&r);
    e.save_outputs = path_in(g_dir, "no/such/dir/o.h5");
    cr_expect_eq(axl_snn_evaluate(s, g, d, steps, 2, &e, &r, msg), AXL_ERR_IO);
    cr_expect(strstr(msg, "no/such/dir"), "%s", msg);
    axl_dataset_close(d);
    axl_snn_free(s);
    axl_graph_free(g);
}
