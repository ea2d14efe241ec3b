/* CPU vs GPU, bit for bit, for whole networks: the model fixtures of
 * tests/data/models (lenet always; resnet_bn, mobilenetv2_block and
 * transformer_block when they load) run through the graph executor with
 * every MAC node under one configuration, once on the CPU backend and once
 * on the CUDA backend, and every output compared by its bits.  test_gpu_mac
 * covers single kernels; this covers the shapes, groups, transposes and
 * activation-by-activation products that real layers give the kernels.
 *
 * Without a visible GPU the CPU half still runs (so a configuration that
 * the CPU refuses is caught here too), then the test skips. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mac_spec.h"
#include "axlut/emu.h"
#include "axlut/graph.h"
#include "axlut/mac.h"
#include "model_fixtures.h"

/* One MAC configuration for every MAC node; mul NULL: the graph's own exact
 * fp32 configuration (no per-node entries at all). */
struct cfg {
    const char *label;
    const char *mul, *mp, *fmt, *add, *ap, *acc;
    enum axl_order order;
    enum axl_path path;
};

static const struct cfg k_cfgs[] = {
    {"exact fp32", NULL, NULL, NULL, NULL, NULL, NULL, AXL_ORDER_SEQUENTIAL, AXL_PATH_AUTO},
    {"int8 mul_exact", "mul_exact", NULL, "int8", NULL, NULL, NULL, AXL_ORDER_SEQUENTIAL,
     AXL_PATH_AUTO},
    {"e4m3 fpmul_drum k=4", "fpmul_drum", "k=4", "e4m3", NULL, NULL, NULL, AXL_ORDER_SEQUENTIAL,
     AXL_PATH_AUTO},
    {"bf16 fpmul_mitchell, mantissa table", "fpmul_mitchell", NULL, "bf16", NULL, NULL, NULL,
     AXL_ORDER_SEQUENTIAL, AXL_PATH_MANTISSA},
    {"e4m3 mul_exact, fpadd_loa k=4 into fp16", "mul_exact", NULL, "e4m3", "fpadd_loa", "k=4",
     "fp16", AXL_ORDER_SEQUENTIAL, AXL_PATH_AUTO},
    {"e5m2 fpmul_mitchell, pairwise", "fpmul_mitchell", NULL, "e5m2", NULL, NULL, NULL,
     AXL_ORDER_PAIRWISE, AXL_PATH_AUTO},
};
#define NCFG (sizeof k_cfgs / sizeof k_cfgs[0])

static const char *const k_models[] = {"lenet", "resnet_bn", "mobilenetv2_block",
                                       "transformer_block"};
#define NMODEL (sizeof k_models / sizeof k_models[0])

static struct axl_mac *make_mac(const struct cfg *c)
{
    if (!c->mul)
        return NULL;
    struct axl_mac_spec s;
    mac_spec_of(&s, c->mul, c->mp, c->fmt, c->add, c->ap, c->acc, c->order, c->path);
    char msg[AXL_MSG_LEN] = "";
    struct axl_mac *m = NULL;
    cr_assert_eq(axl_mac_create(&s, &m, msg), AXL_OK, "%s: %s", c->label, msg);
    if (c->path != AXL_PATH_AUTO)
        cr_assert_eq(axl_mac_path(m), c->path, "%s: path %s", c->label,
                     axl_path_name(axl_mac_path(m)));
    return m;
}

/* One model fixture: the graph and the inputs of its .h5. */
struct model {
    const char *name;
    struct axl_graph *g;
    size_t nin, nout;
    struct axl_tensor in[8];
};

/* 0 when the fixture does not load (logged); lenet must. */
static int load_model(const char *name, struct model *m)
{
    const char *src = getenv("AXL_SOURCE_DIR");
    char path[1200], msg[AXL_MSG_LEN] = "";
    memset(m, 0, sizeof *m);
    m->name = name;
    snprintf(path, sizeof path, "%s/tests/data/models/%s.onnx", src ? src : ".", name);
    enum axl_status st = axl_graph_load(path, &m->g, msg);
    if (st != AXL_OK) {
        cr_assert(strcmp(name, "lenet"), "lenet: %s", msg);
        cr_log_warn("%s does not load, not compared: %s", name, msg);
        return 0;
    }
    m->nin = axl_graph_input_count(m->g);
    m->nout = axl_graph_output_count(m->g);
    cr_assert(m->nin <= 8 && m->nout <= 16, "%s: %zu inputs, %zu outputs", name, m->nin, m->nout);
    snprintf(path, sizeof path, "%s/tests/data/models/%s.h5", src ? src : ".", name);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert_geq(f, 0, "cannot open %s", path);
    for (size_t i = 0; i < m->nin; i++)
        cr_assert(read_h5(f, "inputs", axl_graph_input_name(m->g, i), &m->in[i]), "%s: no input %s",
                  path, axl_graph_input_name(m->g, i));
    H5Fclose(f);
    return 1;
}

static void free_model(struct model *m)
{
    for (size_t i = 0; i < 8; i++)
        free(m->in[i].data);
    axl_graph_free(m->g);
}

/* Runs m with mac on every MAC node (NULL: the graph's exact config). */
static void run_model(const struct model *m, const struct axl_mac *mac, enum axl_backend be,
                      const char *label, struct axl_tensor *out)
{
    size_t nn = axl_graph_node_count(m->g);
    const struct axl_mac **macs = calloc(nn ? nn : 1, sizeof *macs);
    cr_assert(macs);
    for (size_t i = 0; i < nn; i++)
        macs[i] = axl_graph_node_is_mac(m->g, i) ? mac : NULL;
    struct axl_run_opts o;
    memset(&o, 0, sizeof o);
    o.backend = be;
    o.mac = mac ? macs : NULL;
    char msg[AXL_MSG_LEN] = "";
    enum axl_status st = axl_graph_run(m->g, &o, m->in, out, msg);
    free(macs);
    cr_assert_eq(st, AXL_OK, "%s, %s on %s: %s", m->name, label,
                 be == AXL_BACKEND_CUDA ? "cuda" : "cpu", msg);
}

/* Mismatching elements of two outputs (shapes first); the first ten in hex.
 * NaN against NaN counts as equal whatever the payloads, as in test_gpu_mac. */
static int64_t compare(const char *what, const struct axl_tensor *c, const struct axl_tensor *g)
{
    cr_assert_eq(c->ndim, g->ndim, "%s: rank %d on the cpu, %d on cuda", what, c->ndim, g->ndim);
    for (int d = 0; d < c->ndim; d++)
        cr_assert_eq(c->dims[d], g->dims[d], "%s: dimension %d", what, d);
    int64_t n = axl_tensor_numel(c), bad = 0;
    if (!memcmp(c->data, g->data, (size_t)n * sizeof(float)))
        return 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t bc, bg;
        memcpy(&bc, &c->data[i], 4);
        memcpy(&bg, &g->data[i], 4);
        if (bc == bg || (c->data[i] != c->data[i] && g->data[i] != g->data[i]))
            continue;
        if (bad++ < 10)
            cr_log_error("%s [%lld]: cpu %08x (%g), cuda %08x (%g)", what, (long long)i, bc,
                         (double)c->data[i], bg, (double)g->data[i]);
    }
    return bad;
}

Test(gpu, graph_parity, .timeout = 600)
{
    int gpu = axl_cuda_device_count(NULL, 0) > 0;
    struct model models[NMODEL];
    struct axl_mac *macs[NCFG];
    for (size_t c = 0; c < NCFG; c++)
        macs[c] = make_mac(&k_cfgs[c]);
    int loaded = 0, compared = 0, cpu_runs = 0;
    int64_t bad_total = 0;
    for (size_t mi = 0; mi < NMODEL; mi++) {
        struct model *m = &models[mi];
        if (!load_model(k_models[mi], m))
            continue;
        loaded++;
        for (size_t c = 0; c < NCFG; c++) {
            struct axl_tensor oc[16], og[16];
            run_model(m, macs[c], AXL_BACKEND_CPU, k_cfgs[c].label, oc);
            cpu_runs++;
            if (gpu) {
                run_model(m, macs[c], AXL_BACKEND_CUDA, k_cfgs[c].label, og);
                for (size_t o = 0; o < m->nout; o++) {
                    char what[300];
                    snprintf(what, sizeof what, "%s, %s, output %s", m->name, k_cfgs[c].label,
                             axl_graph_output_name(m->g, o));
                    int64_t bad = compare(what, &oc[o], &og[o]);
                    cr_expect_eq(bad, 0, "%s: %lld of %lld outputs differ", what, (long long)bad,
                                 (long long)axl_tensor_numel(&oc[o]));
                    bad_total += bad;
                    axl_tensor_free(&og[o]);
                }
                compared++;
            }
            for (size_t o = 0; o < m->nout; o++)
                axl_tensor_free(&oc[o]);
        }
        free_model(m);
    }
    for (size_t c = 0; c < NCFG; c++)
        axl_mac_free(macs[c]);
    cr_log_info("%d models loaded, %d cpu runs, %d compared with cuda", loaded, cpu_runs,
                compared);
    cr_assert_gt(loaded, 0);
    if (!gpu)
        cr_skip_test("no CUDA device visible (the cpu half ran: %d runs)", cpu_runs);
    /* a device is there: comparing nothing would be a silent pass */
    cr_assert_eq(compared, loaded * (int)NCFG, "%d of %d model x configuration runs compared",
                 compared, loaded * (int)NCFG);
    cr_assert_eq(bad_total, 0, "%lld CPU/GPU mismatches", (long long)bad_total);
}
