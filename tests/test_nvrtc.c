/* NVRTC builds a GPU kernel around a user design: the program compiles to
 * PTX here (NVRTC needs no GPU), a design that is not valid C++20 is
 * refused with NVRTC's log, and on a machine with a GPU the kernel gives
 * the CPU's bits (test_gpu_mac covers built-ins; this covers user code). */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "axlut/emu.h"
#include "axlut/mac.h"
#include "cuda/user_kernel.h"
#include "mac_step.h"

/* the CUDA backend's source kind of a user multiplier (AXL_CUDA_SRC_USER) */
#define USER_SRC AXL_SRC_COUNT_

static char g_path[1024];

static const char *example(void)
{
    const char *src = getenv("AXL_SOURCE_DIR");
    snprintf(g_path, sizeof g_path, "%s/tables/examples/my_lomul.c", src ? src : ".");
    return g_path;
}

static struct axl_mac *user_mac(const char *path, const char *fmt)
{
    struct axl_mac_spec s;
    memset(&s, 0, sizeof s);
    s.mul = path;
    s.fmt_a = fmt;
    s.path = AXL_PATH_FUNCTION;
    char msg[AXL_MSG_LEN];
    struct axl_mac *m = NULL;
    cr_assert_eq(axl_mac_create(&s, &m, msg), AXL_OK, "%s", msg);
    return m;
}

Test(nvrtc, user_design_compiles_to_ptx, .timeout = 120)
{
    struct axl_mac *m = user_mac(example(), "uint8");
    char msg[AXL_MSG_LEN], *ptx = NULL, *log = NULL;
    /* integer accumulation, user product, sequential */
    enum axl_status st = axl_user_kernel_ptx(m, 1, 0, AXL_ACC_INT, USER_SRC, 0, 90, &ptx, &log, msg);
    cr_assert_eq(st, AXL_OK, "%s\n%s", msg, log ? log : "");
    cr_assert(ptx && strstr(ptx, ".entry axl_user_conv"), "no kernel entry in the PTX");
    free(ptx);
    free(log);
    axl_mac_free(m);
}

Test(nvrtc, design_that_is_not_cxx20_is_refused_with_log, .timeout = 120)
{
    char dir[] = "/tmp/axl_nvrtc_XXXXXX";
    cr_assert(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/ooo.c", dir);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    /* valid C11; in C++20 designated initialisers must follow member order */
    fputs("#include <axlut/design.h>\n"
          "static uint32_t ev(const struct axl_design_ctx *c, uint32_t a, uint32_t b)\n"
          "{ (void)c; return (a * b) & 0xFFFFu; }\n"
          "const struct axl_design axl_user_design = { .name = \"ooo\", .abi = AXL_DESIGN_ABI,\n"
          "  .description = \"d\", .citation = \"c\", .op = AXL_OP_MUL,\n"
          "  .operands = AXL_OPERANDS_FIXED, .fmt_a = \"uint8\", .fmt_b = \"uint8\",\n"
          "  .fmt_r = \"uint16\", .eval = ev, .version = 1 };\n",
          f);
    fclose(f);
    struct axl_mac *m = user_mac(path, "uint8");
    char msg[AXL_MSG_LEN], *ptx = NULL, *log = NULL;
    enum axl_status st = axl_user_kernel_ptx(m, 1, 0, AXL_ACC_INT, USER_SRC, 0, 90, &ptx, &log, msg);
    cr_assert_eq(st, AXL_ERR_COMPILE, "%s", msg);
    cr_assert(strstr(msg, "C++20"), "%s", msg);
    cr_assert(log && strlen(log) > 0, "no NVRTC log");
    free(ptx);
    free(log);
    axl_mac_free(m);
    remove(path);
    rmdir(dir);
}

Test(gpu, user_design_parity, .timeout = 300)
{
    if (axl_cuda_device_count(NULL, 0) == 0)
        cr_skip_test("no CUDA device visible");
    struct axl_mac *m = user_mac(example(), "uint8");
    struct axl_conv_args a;
    memset(&a, 0, sizeof a);
    a.n = 2, a.c = 3, a.h = 9, a.w = 8, a.oc = 5, a.kh = 3, a.kw = 3, a.stride_h = 1, a.stride_w = 2;
    a.pad_t = a.pad_l = a.pad_b = a.pad_r = 1, a.dil_h = a.dil_w = 1, a.groups = 1;
    float x[2 * 3 * 9 * 8], w[5 * 3 * 9], b[5], yc[2 * 5 * 9 * 4], yg[2 * 5 * 9 * 4];
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
        x[i] = (float)((i * 37) % 101) / 50.0f;
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        w[i] = (float)((i * 53) % 89) / 80.0f;
    for (int i = 0; i < 5; i++)
        b[i] = 0.25f * (float)i;
    a.x = x, a.weight = w, a.bias = b, a.y = yc;
    char msg[AXL_MSG_LEN];
    cr_assert_eq(axl_mac_conv2d(m, AXL_BACKEND_CPU, &a, msg), AXL_OK, "%s", msg);
    a.y = yg;
    cr_assert_eq(axl_mac_conv2d(m, AXL_BACKEND_CUDA, &a, msg), AXL_OK, "%s", msg);
    for (size_t i = 0; i < sizeof yc / sizeof yc[0]; i++)
        cr_assert_eq(axl_f32_bits(yc[i]), axl_f32_bits(yg[i]), "y[%zu]: cpu %g gpu %g", i,
                     (double)yc[i], (double)yg[i]);
    axl_mac_free(m);
}
