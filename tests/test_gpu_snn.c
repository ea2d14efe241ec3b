/* SNN simulation on the CUDA device against the CPU, bit for bit: readouts
 * at every listed T, spike and synaptic-add counts per layer, rate errors,
 * for LeNet (direct and Bernoulli coding), the residual fixture and the
 * concat fixture, under exact float32, int16, fp16 and bf16 membranes with
 * approximate adders, leak, both resets and the spike readout, with the
 * device's event, dense and auto kernels.
 *
 * Without a visible GPU the CPU half still runs, then the test skips. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/emu.h"
#include "axlut/snn.h"
#include "labelled_data.h"
#include "model_fixtures.h"
#include "snn_ref.h"

static char g_dir[64];

static void setup(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/axl_gsnn_XXXXXX");
    cr_assert(mkdtemp(g_dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(gpu_snn, .init = setup, .fini = teardown, .timeout = 600);

struct cfg {
    const char *model, *acc, *add, *param;
    int bernoulli, zero_reset, spikes_readout;
    double leak;
};

static const struct cfg k_cfgs[] = {
    {"lenet", NULL, NULL, NULL, 0, 0, 0, 0},
    {"lenet", "int16", "loa", "k=4", 1, 0, 0, 0},
    {"lenet", "fp16", "fpadd_eta1", "k=4", 0, 1, 0, 0.0625},
    {"lenet", "bf16", "fpadd_aca", "k=4", 1, 0, 1, 0},
    {"resnet_bn", "fp16", "fpadd_loa", "k=2", 1, 0, 0, 0},
    {"resnet_bn", "int16", "trunc_add", "k=3", 0, 0, 0, 0},
    {"inception_mini", "int16", "ama5", "k=4", 0, 0, 1, 0.05},
};
#define NCFG (sizeof k_cfgs / sizeof k_cfgs[0])

/* one simulation's results */
struct res {
    float *ro;
    int64_t *spk, *adds;
    double *rerr;
};

static void res_free(struct res *r) { free(r->ro), free(r->spk), free(r->adds), free(r->rerr); }

static struct res simulate(const struct axl_snn *s, const struct axl_tensor *x,
                           enum axl_backend be, enum axl_snn_kernel kern, const int64_t *steps,
                           int nsteps, const float *const *ann)
{
    char msg[AXL_MSG_LEN];
    size_t nl = axl_snn_layer_count(s);
    int64_t C = axl_snn_outputs(s), B = x->dims[0];
    struct res r = {malloc((size_t)(nsteps * B * C) * sizeof(float)),
                    calloc((size_t)nsteps * nl, sizeof(int64_t)),
                    calloc((size_t)nsteps * nl, sizeof(int64_t)),
                    calloc((size_t)nsteps * nl, sizeof(double))};
    cr_assert(r.ro && r.spk && r.adds && r.rerr);
    struct axl_snn_sim o = {.kernel = kern, .steps = steps, .nsteps = nsteps, .ann = ann,
                            .rate_err = r.rerr, .backend = be};
    cr_assert_eq(axl_snn_simulate(s, x, &o, r.ro, r.spk, r.adds, msg), AXL_OK, "%s", msg);
    return r;
}

/* the ANN's activation of every layer with one (calibrated node), for the
 * rate errors: made up here, any values serve a comparison of backends */
static float **fake_ann(const struct axl_snn *s, int64_t B)
{
    size_t nl = axl_snn_layer_count(s);
    float **ann = calloc(nl, sizeof *ann);
    cr_assert(ann);
    for (size_t k = 0; k < nl; k++) {
        struct axl_snn_layer_info li;
        axl_snn_layer(s, k, &li);
        ann[k] = malloc((size_t)(B * li.neurons) * sizeof(float) + 4);
        cr_assert(ann[k]);
        for (int64_t j = 0; j < B * li.neurons; j++)
            ann[k][j] = (float)((j * 37 + (int64_t)k * 11) % 23) / 7.0f - 1.0f;
    }
    return ann;
}

Test(gpu_snn, device_simulation_gives_the_cpu_bits)
{
    int gpu = axl_cuda_device_count(NULL, 0) > 0;
    int64_t steps[3] = {4, 9, 20};
    int cpu_runs = 0, compared = 0;
    for (size_t i = 0; i < NCFG; i++) {
        const struct cfg *c = &k_cfgs[i];
        struct axl_graph *g = fixture_graph(c->model);
        char name[32];
        snprintf(name, sizeof name, "d%zu.h5", i);
        const char *data = !strcmp(c->model, "lenet")
                               ? (write_labelled_images(path_in(g_dir, name), 12, 28, 1.5f,
                                                        (uint32_t)(7 + i), 0),
                                  path_in(g_dir, name))
                               : snn_noise_data(path_in(g_dir, name), 12, 3,
                                                !strcmp(c->model, "resnet_bn") ? 16 : 12,
                                                (uint32_t)(5 + i));
        struct axl_snn_settings st;
        axl_snn_defaults(&st);
        st.fmt_acc = c->acc;
        st.add = c->add;
        st.add_params[0] = c->param;
        st.n_add_params = c->param != NULL;
        st.coding = c->bernoulli ? AXL_SNN_CODING_BERNOULLI : AXL_SNN_CODING_DIRECT;
        st.reset = c->zero_reset ? AXL_SNN_RESET_ZERO : AXL_SNN_RESET_SUBTRACT;
        st.readout = c->spikes_readout ? AXL_SNN_READOUT_SPIKES : AXL_SNN_READOUT_MEMBRANE;
        st.leak = c->leak;
        st.seed = 17 + i;
        struct axl_snn *s = convert(g, data, &st);
        struct axl_tensor x = read_inputs(g, data, 12);
        size_t nl = axl_snn_layer_count(s);
        int64_t C = axl_snn_outputs(s);
        float **ann = fake_ann(s, 12);
        struct res cpu = simulate(s, &x, AXL_BACKEND_CPU, AXL_SNN_KERNEL_EVENT, steps, 3,
                                  (const float *const *)ann);
        cpu_runs++;
        for (int kern = 0; gpu && kern < 3; kern++) {
            struct res dev = simulate(s, &x, AXL_BACKEND_CUDA, (enum axl_snn_kernel)kern, steps,
                                      3, (const float *const *)ann);
            const char *kn = axl_snn_kernel_name((enum axl_snn_kernel)kern);
            cr_expect(!memcmp(cpu.ro, dev.ro, (size_t)(3 * 12 * C) * sizeof(float)),
                      "%s %s %s (%s): readouts differ", c->model, c->acc ? c->acc : "fp32",
                      c->add ? c->add : "exact", kn);
            cr_expect(!memcmp(cpu.spk, dev.spk, 3 * nl * sizeof(int64_t)),
                      "%s cfg %zu (%s): spike counts differ", c->model, i, kn);
            cr_expect(!memcmp(cpu.adds, dev.adds, 3 * nl * sizeof(int64_t)),
                      "%s cfg %zu (%s): add counts differ", c->model, i, kn);
            cr_expect(!memcmp(cpu.rerr, dev.rerr, 3 * nl * sizeof(double)),
                      "%s cfg %zu (%s): rate errors differ", c->model, i, kn);
            res_free(&dev);
            compared++;
        }
        /* the comparison can fail: something spiked, the readout is not all zero */
        int64_t spk = 0;
        for (size_t k = 0; k + 1 < nl; k++)
            spk += cpu.spk[2 * nl + k];
        cr_expect_gt(spk, 0, "%s cfg %zu: no layer spiked", c->model, i);
        res_free(&cpu);
        for (size_t k = 0; k < nl; k++)
            free(ann[k]);
        free(ann);
        axl_tensor_free(&x);
        axl_snn_free(s);
        axl_graph_free(g);
    }
    if (!gpu)
        cr_skip_test("no CUDA device visible (the cpu half ran: %d runs)", cpu_runs);
    cr_expect_eq(compared, 3 * (int)NCFG);
}

/* what the device path refuses, in one line */
Test(gpu_snn, a_trace_is_recorded_on_the_cpu_only)
{
    struct axl_graph *g = fixture_graph("lenet");
    const char *data = path_in(g_dir, "t.h5");
    write_labelled_images(data, 4, 28, 1.5f, 3, 0);
    struct axl_snn_settings st;
    axl_snn_defaults(&st);
    struct axl_snn *s = convert(g, data, &st);
    struct axl_tensor x = read_inputs(g, data, 4);
    int64_t steps[1] = {3};
    struct axl_snn_layer_info li;
    axl_snn_layer(s, 0, &li);
    struct axl_snn_trace tr = {0, 0, calloc((size_t)(3 * li.neurons), 4), NULL, NULL};
    float ro[4 * 16];
    char msg[AXL_MSG_LEN];
    struct axl_snn_sim o = {.steps = steps, .nsteps = 1, .trace = &tr,
                            .backend = AXL_BACKEND_CUDA};
    cr_assert_leq(axl_snn_outputs(s), 16);
    cr_expect_eq(axl_snn_simulate(s, &x, &o, ro, NULL, NULL, msg), AXL_ERR_UNSUPPORTED);
    cr_expect(strstr(msg, "cpu only"), "%s", msg);
    free(tr.v);
    axl_tensor_free(&x);
    axl_snn_free(s);
    axl_graph_free(g);
}
