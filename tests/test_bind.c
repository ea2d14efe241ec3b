/* Binding layer configurations to a graph (axl_layers_bind): the engine of
 * every node, shared where the configuration is the same, restriction to a
 * glob or a literal name, and the errors naming the rule or the layer. */
#define _DEFAULT_SOURCE /* mkstemp */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "axlut/graph.h"
#include "axlut/layers.h"
#include "model_fixtures.h"

static struct axl_graph *g_graph;

static void setup(void) { g_graph = fixture_graph("lenet"); }

static void teardown(void) { axl_graph_free(g_graph); }

/* The node of a layer name. */
static size_t node_of(const char *name)
{
    for (size_t i = 0; i < axl_graph_node_count(g_graph); i++)
        if (!strcmp(axl_graph_node_name(g_graph, i), name))
            return i;
    cr_assert_fail("no node %s", name);
    return 0;
}

static const char *const k_macs[] = {"/conv1/Conv", "/conv2/Conv", "/fc1/Gemm", "/fc2/Gemm",
                                     "/fc3/Gemm"};

static struct axl_layers *default_layers(const char *mul, const char *fmt)
{
    char msg[AXL_MSG_LEN];
    struct axl_layers *l;
    cr_assert_eq(axl_layers_new(&l, msg), AXL_OK);
    cr_assert_eq(axl_layers_set_default(l, "mul", mul, msg), AXL_OK, "%s", msg);
    cr_assert_eq(axl_layers_set_default(l, "format", fmt, msg), AXL_OK, "%s", msg);
    return l;
}

TestSuite(bind, .init = setup, .fini = teardown);

Test(bind, default_shared_by_every_mac_layer)
{
    char msg[AXL_MSG_LEN];
    struct axl_layers *l = default_layers("mul_exact", "e4m3");
    struct axl_layer_macs b;
    cr_assert_eq(axl_layers_bind(l, g_graph, &b, msg), AXL_OK, "%s", msg);
    cr_assert_eq(b.n, axl_graph_node_count(g_graph));
    cr_assert_eq(b.nowned, 1, "one configuration, one engine");
    size_t nmac = 0;
    for (size_t i = 0; i < b.n; i++) {
        cr_expect_eq(b.macs[i] != NULL, axl_graph_node_is_mac(g_graph, i), "node %zu", i);
        nmac += b.macs[i] != NULL;
    }
    cr_assert_eq(nmac, 5);
    char d[320];
    axl_mac_describe(b.macs[node_of("/fc3/Gemm")], d, sizeof d);
    cr_expect(strstr(d, "e4m3"), "%s", d);
    axl_layer_macs_free(&b);
    axl_layer_macs_free(&b); /* emptied: a second free is harmless */
    axl_layers_free(l);
}

Test(bind, empty_configuration_is_exact)
{
    char msg[AXL_MSG_LEN];
    struct axl_layers *l;
    cr_assert_eq(axl_layers_new(&l, msg), AXL_OK);
    struct axl_layer_macs b;
    cr_assert_eq(axl_layers_bind(l, g_graph, &b, msg), AXL_OK, "%s", msg);
    cr_assert_eq(b.nowned, 0);
    for (size_t i = 0; i < b.n; i++)
        cr_expect_null(b.macs[i]);
    axl_layer_macs_free(&b);
    axl_layers_free(l);
}

/* A configuration from a file holding `json` (written to a temporary file
 * whose name lands in path, removed after loading). */
static struct axl_layers *config_of(const char *json, char path[64])
{
    char msg[AXL_MSG_LEN];
    snprintf(path, 64, "/tmp/axl_bind_XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(json, f);
    fclose(f);
    struct axl_layers *l;
    cr_assert_eq(axl_layers_load_json(path, &l, msg), AXL_OK, "%s", msg);
    unlink(path);
    return l;
}

Test(bind, rules_give_one_engine_per_configuration)
{
    char path[64], msg[AXL_MSG_LEN];
    struct axl_layers *l =
        config_of("{\"default\": {\"mul\": \"mul_exact\", \"format\": \"e4m3\"},\n"
                  " \"layers\": [{\"match\": \"/conv1/Conv\", \"exact\": true},\n"
                  "            {\"op\": \"Gemm\", \"format\": \"bf16\"}]}\n",
                  path);
    struct axl_layer_macs b;
    cr_assert_eq(axl_layers_bind(l, g_graph, &b, msg), AXL_OK, "%s", msg);
    cr_assert_eq(b.nowned, 2, "conv2 on the default, the Gemms on their rule");
    cr_expect_null(b.macs[node_of("/conv1/Conv")]);
    const struct axl_mac *fc1 = b.macs[node_of("/fc1/Gemm")];
    cr_assert_not_null(fc1);
    cr_expect_eq(fc1, b.macs[node_of("/fc2/Gemm")]);
    cr_expect_eq(fc1, b.macs[node_of("/fc3/Gemm")]);
    cr_expect_neq(fc1, b.macs[node_of("/conv2/Conv")]);
    char d[320];
    axl_mac_describe(fc1, d, sizeof d);
    cr_expect(strstr(d, "bf16"), "%s", d);
    axl_layer_macs_free(&b);
    axl_layers_free(l);
}

Test(bind, rule_matching_nothing_names_the_file)
{
    char path[64], msg[AXL_MSG_LEN];
    struct axl_layers *l =
        config_of("{\"layers\": [{\"match\": \"/conv3/Conv\", \"exact\": true}]}\n", path);
    struct axl_layer_macs b;
    cr_assert_eq(axl_layers_bind(l, g_graph, &b, msg), AXL_ERR_INVALID);
    cr_expect(!strncmp(msg, path, strlen(path)) && strstr(msg, ": layer rule 0"), "%s", msg);
    cr_expect(strstr(msg, "did you mean '/conv1/Conv'") || strstr(msg, "/conv2/Conv"), "%s",
              msg);
    cr_expect_null(b.macs);
    axl_layers_free(l);
}

Test(bind, engine_failure_names_the_layer)
{
    char msg[AXL_MSG_LEN];
    struct axl_layers *l = default_layers("no_such_design", "e4m3");
    struct axl_layer_macs b;
    cr_assert_neq(axl_layers_bind(l, g_graph, &b, msg), AXL_OK);
    cr_expect(!strncmp(msg, "layer /conv1/Conv (Conv): ", 26), "%s", msg);
    cr_expect_null(b.macs);
    cr_expect_eq(b.nowned, 0);
    axl_layers_free(l);
}

Test(bind, only_a_glob_or_a_literal_name)
{
    char msg[AXL_MSG_LEN];
    static const struct {
        const char *pattern;
        int literal;
        unsigned want; /* bit i: k_macs[i] approximate */
    } cases[] = {
        {"/fc*", 0, 0x1c},           {"/conv?/Conv", 0, 0x03}, {"/conv?/Conv", 1, 0x00},
        {"/conv2/Conv", 1, 0x02},    {"*", 0, 0x1f},           {"/nothing", 0, 0x00},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct axl_layers *l = default_layers("mul_exact", "bf16");
        cr_assert_eq(axl_layers_set_only(l, cases[c].pattern, cases[c].literal, msg), AXL_OK);
        struct axl_layer_macs b;
        cr_assert_eq(axl_layers_bind(l, g_graph, &b, msg), AXL_OK, "%s", msg);
        for (size_t i = 0; i < 5; i++) {
            int want = (cases[c].want >> i) & 1;
            cr_expect_eq(b.macs[node_of(k_macs[i])] != NULL, want, "%s%s: %s",
                         cases[c].pattern, cases[c].literal ? " (literal)" : "", k_macs[i]);
            struct axl_mac_spec s;
            int exact;
            axl_layers_resolve(l, k_macs[i], "Conv", &s, &exact);
            cr_expect_eq(!exact, want, "resolve agrees with bind on %s", k_macs[i]);
        }
        cr_expect_eq(b.nowned, cases[c].want ? 1u : 0u);
        axl_layer_macs_free(&b);
        axl_layers_free(l);
    }
}
