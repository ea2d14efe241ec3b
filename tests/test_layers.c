/* Per-layer configurations: JSON and command-line defaults, precedence,
 * globs and op rules, and the errors for bad files and unknown layers. */
#define _DEFAULT_SOURCE /* mkstemp */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "axlut/layers.h"

static char g_path[64];

static const char *write_json(const char *text)
{
    snprintf(g_path, sizeof g_path, "/tmp/axl_layers_XXXXXX");
    int fd = mkstemp(g_path);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    return g_path;
}

static const char *const k_names[] = {"conv1", "features.0", "features.3", "fc1", "fc2"};
static const char *const k_ops[] = {"Conv", "Conv", "Conv", "Gemm", "Gemm"};

Test(layers, json_rules_in_order)
{
    char msg[AXL_MSG_LEN];
    struct axl_layers *l;
    const char *p = write_json(
        "{\"default\": {\"mul\": \"fpmul_drum\", \"params\": {\"k\": 4}, \"format\": \"e4m3\"},\n"
        " \"layers\": [\n"
        "  {\"match\": \"features.*\", \"format\": \"e5m2\", \"order\": \"pairwise\"},\n"
        "  {\"op\": \"Gemm\", \"mul\": \"mul_exact\", \"format\": \"bf16\", \"add\": \"add_exact\",\n"
        "   \"acc_format\": \"fp16\"},\n"
        "  {\"match\": \"conv1\", \"exact\": true},\n"
        "  {\"match\": \"fc2\", \"op\": \"Gemm\", \"format\": \"fp16\"}\n"
        " ]}\n");
    cr_assert_eq(axl_layers_load_json(p, &l, msg), AXL_OK, "%s", msg);
    unlink(p);
    cr_assert(axl_layers_any(l));
    cr_assert_eq(axl_layers_check(l, k_names, k_ops, 5, msg), AXL_OK, "%s", msg);
    struct axl_mac_spec s;
    int exact;
    axl_layers_resolve(l, "conv1", "Conv", &s, &exact);
    cr_assert(exact);
    axl_layers_resolve(l, "features.3", "Conv", &s, &exact);
    cr_assert(!exact);
    cr_assert_str_eq(s.mul, "fpmul_drum");
    cr_assert_eq(s.n_mul_params, 1);
    cr_assert_str_eq(s.mul_params[0], "k=4");
    cr_assert_str_eq(s.fmt_a, "e5m2");
    cr_assert_eq(s.order, AXL_ORDER_PAIRWISE);
    axl_layers_resolve(l, "fc1", "Gemm", &s, &exact);
    cr_assert(!exact);
    cr_assert_str_eq(s.mul, "mul_exact");
    cr_assert_str_eq(s.fmt_a, "bf16");
    cr_assert_str_eq(s.add, "add_exact");
    cr_assert_str_eq(s.fmt_acc, "fp16");
    cr_assert_eq(s.n_mul_params, 1, "params come from the default unless replaced");
    axl_layers_resolve(l, "fc2", "Gemm", &s, &exact);
    cr_assert_str_eq(s.fmt_a, "fp16");
    cr_assert_str_eq(s.mul, "mul_exact");
    axl_layers_free(l);
}

Test(layers, command_line_default_and_exact_rule)
{
    char msg[AXL_MSG_LEN];
    struct axl_layers *l;
    cr_assert_eq(axl_layers_new(&l, msg), AXL_OK);
    cr_assert(!axl_layers_any(l));
    struct axl_mac_spec s;
    int exact;
    axl_layers_resolve(l, "conv1", "Conv", &s, &exact);
    cr_assert(exact);
    cr_assert_eq(axl_layers_set_default(l, "mul", "mitchell", msg), AXL_OK);
    cr_assert_eq(axl_layers_set_default(l, "format", "int8", msg), AXL_OK);
    cr_assert_eq(axl_layers_set_default(l, "order", "chunked", msg), AXL_OK);
    cr_assert_eq(axl_layers_set_default(l, "chunk", "16", msg), AXL_OK);
    axl_layers_resolve(l, "anything", "MatMul", &s, &exact);
    cr_assert(!exact);
    cr_assert_str_eq(s.mul, "mitchell");
    cr_assert_str_eq(s.fmt_a, "int8");
    cr_assert_eq(s.chunk, 16);
    cr_assert_eq(axl_layers_set_default(l, "format", "e9m30", msg), AXL_ERR_INVALID);
    cr_assert(strstr(msg, "e9m30"), "%s", msg);
    cr_assert_eq(axl_layers_set_default(l, "order", "random", msg), AXL_ERR_INVALID);
    cr_assert(strstr(msg, "sequential"), "%s", msg);
    cr_assert_eq(axl_layers_set_default(l, "colour", "red", msg), AXL_ERR_INVALID);
    axl_layers_free(l);
}

Test(layers, unknown_layer_is_an_error_with_a_suggestion)
{
    char msg[AXL_MSG_LEN];
    struct axl_layers *l;
    const char *p = write_json("{\"layers\": [{\"match\": \"fetures.0\", \"format\": \"e4m3\"}]}");
    cr_assert_eq(axl_layers_load_json(p, &l, msg), AXL_OK, "%s", msg);
    unlink(p);
    cr_assert_eq(axl_layers_check(l, k_names, k_ops, 5, msg), AXL_ERR_INVALID);
    cr_assert(strstr(msg, "fetures.0") && strstr(msg, "features.0"), "%s", msg);
    axl_layers_free(l);
    p = write_json("{\"layers\": [{\"op\": \"ConvTranspose\", \"format\": \"e4m3\"}]}");
    cr_assert_eq(axl_layers_load_json(p, &l, msg), AXL_OK, "%s", msg);
    unlink(p);
    cr_assert_eq(axl_layers_check(l, k_names, k_ops, 5, msg), AXL_ERR_INVALID);
    axl_layers_free(l);
}

Test(layers, bad_files_name_file_and_key)
{
    static const char *const bad[] = {
        "{\"default\": {\"format\": \"e4m3\"",            /* truncated */
        "[1, 2]",                                         /* not an object */
        "{\"defaults\": {}}",                             /* unknown top-level key */
        "{\"layers\": [{\"format\": \"e4m3\"}]}",          /* rule without match/op */
        "{\"layers\": [{\"match\": \"a\", \"frmat\": \"e4m3\"}]}", /* unknown key */
        "{\"default\": {\"params\": {\"k\": \"four\"}}}",  /* param not an integer */
        "{\"default\": {\"format\": \"e4m3q\"}}",          /* bad format */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char msg[AXL_MSG_LEN];
        struct axl_layers *l = NULL;
        const char *p = write_json(bad[i]);
        cr_assert_neq(axl_layers_load_json(p, &l, msg), AXL_OK, "case %zu accepted", i);
        cr_assert_null(l);
        cr_assert(strstr(msg, p), "case %zu: message does not name the file: %s", i, msg);
        unlink(p);
    }
}
