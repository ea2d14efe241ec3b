/* Training on the CUDA backend against the CPU, bit for bit: the LeNet
 * fixture trained for a few steps under an approximate configuration with
 * the approximate backward (forward and gradient products through the
 * MAC kernels of the backend), once per backend; every parameter must come
 * out with the same bits.  The CPU half always runs; without a visible GPU
 * the test then skips. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/emu.h"
#include "axlut/train.h"
#include "mac_spec.h"
#include "model_fixtures.h"
#include "labelled_data.h"

static char g_dir[64];

static const char *make_data(int n)
{
    const char *p = path_in(g_dir, "d.h5");
    write_labelled_images(p, n, 28, 1.5f, 4242, 0);
    return p;
}

/* the parameters after training on backend be, concatenated (malloc'd) */
static float *train_on(enum axl_backend be, const char *data, size_t *count)
{
    char msg[AXL_MSG_LEN];
    struct axl_graph *g = fixture_graph("lenet");
    struct axl_mac_spec spec;
    mac_spec_of(&spec, "fpmul_drum", "k=4", "e4m3", NULL, NULL, NULL, AXL_ORDER_SEQUENTIAL,
                AXL_PATH_AUTO);
    struct axl_mac *m = NULL;
    cr_assert_eq(axl_mac_create(&spec, &m, msg), AXL_OK, "%s", msg);
    size_t nn = axl_graph_node_count(g);
    const struct axl_mac **macs = calloc(nn, sizeof *macs);
    for (size_t i = 0; i < nn; i++)
        macs[i] = axl_graph_node_is_mac(g, i) ? m : NULL;
    struct axl_dataset *d = NULL;
    cr_assert_eq(axl_dataset_open(data, g, &d, msg), AXL_OK, "%s", msg);
    struct axl_train_settings s;
    axl_train_defaults(&s);
    s.backend = be;
    s.epochs = 1;
    s.batch = 16;
    s.backward_approx = 1;
    struct axl_train_report rep;
    cr_assert_eq(axl_train(g, macs, d, NULL, &s, &rep, msg), AXL_OK, "%s", msg);
    axl_train_report_free(&rep);
    float *all = param_values(g, count);
    axl_dataset_close(d);
    free(macs);
    axl_mac_free(m);
    axl_graph_free(g);
    return all;
}

Test(gpu_train, cuda_training_equals_cpu_bit_for_bit, .timeout = 600)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/axl_gpu_train_XXXXXX");
    cr_assert(mkdtemp(g_dir));
    const char *data = make_data(48);
    size_t nc = 0, ng = 0;
    float *cpu = train_on(AXL_BACKEND_CPU, data, &nc);
    int gpu = axl_cuda_device_count(NULL, 0) > 0;
    float *cuda = gpu ? train_on(AXL_BACKEND_CUDA, data, &ng) : NULL;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    cr_assert_eq(system(cmd), 0);
    if (!gpu) {
        free(cpu);
        cr_skip_test("no CUDA device visible (the cpu half ran)");
    }
    cr_assert_eq(nc, ng);
    size_t bad = 0;
    for (size_t i = 0; i < nc; i++)
        if (memcmp(&cpu[i], &cuda[i], sizeof *cpu)) {
            if (bad < 10)
                cr_log_error("parameter value %zu: cpu %a, cuda %a", i, (double)cpu[i],
                             (double)cuda[i]);
            bad++;
        }
    free(cpu), free(cuda);
    cr_assert_eq(bad, 0, "%zu of %zu parameter values differ", bad, nc);
}
