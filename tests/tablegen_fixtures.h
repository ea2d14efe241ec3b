/* What the table-generator tests share (test_generate, test_metrics,
 * test_table_io, test_user_design, e2e/test_cli_gen): small designs defined
 * here, independent of the built-ins; contexts built by hand; one temporary
 * directory per test process (also the user-design cache); the user-design
 * sources that crash, hang or exit; running a shell command or the built
 * `axlut`.
 *
 * Everything is static inline or static const, so a test file that uses
 * part of it gets no unused-function warning.  Include it after defining
 * _POSIX_C_SOURCE 200809L (mkdtemp, setenv). */
#ifndef AXL_TESTS_TABLEGEN_FIXTURES_H
#define AXL_TESTS_TABLEGEN_FIXTURES_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "axlut/design.h"
#include "axlut/table.h"

/* --- designs defined here, independent of the built-ins ---------------- */

static inline uint32_t eval_u_mul(const struct axl_design_ctx *c, uint32_t a, uint32_t b)
{
    (void)c;
    return a * b;
}

/* exact except one pair: 3 x 5 = 16 */
static inline uint32_t eval_one_wrong(const struct axl_design_ctx *c, uint32_t a, uint32_t b)
{
    (void)c;
    return a == 3 && b == 5 ? 16u : a * b;
}

/* truncated adder: low k bits of each operand dropped */
static inline uint32_t eval_trunc_add(const struct axl_design_ctx *c, uint32_t a, uint32_t b)
{
    uint32_t m = ~((1u << c->param[0]) - 1u);
    return (a & m) + (b & m);
}

/* floating multiplier through float32 (exact for these widths) and encode */
static inline uint32_t eval_f_mul(const struct axl_design_ctx *c, uint32_t a, uint32_t b)
{
    float x = axl_format_decode(&c->fa, a) * axl_format_decode(&c->fb, b);
    return axl_format_encode(&c->fr, x, (enum axl_round)c->round, 0);
}

/* the same with the lowest mantissa bit of positive results cleared */
static inline uint32_t eval_f_mul_lsb(const struct axl_design_ctx *c, uint32_t a, uint32_t b)
{
    uint32_t r = eval_f_mul(c, a, b);
    int keep = axl_format_is_nan(&c->fr, r) || axl_format_is_inf(&c->fr, r) ||
               ((r >> (c->fr.bits - 1)) & 1u);
    return keep ? r : r & ~1u;
}

static inline uint32_t eval_f_add(const struct axl_design_ctx *c, uint32_t a, uint32_t b)
{
    float x = axl_format_decode(&c->fa, a) + axl_format_decode(&c->fb, b);
    return axl_format_encode(&c->fr, x, (enum axl_round)c->round, 0);
}

/* signed 8-bit multiplier returning sign-extended negative products */
static inline uint32_t eval_s_mul(const struct axl_design_ctx *c, uint32_t a, uint32_t b)
{
    (void)c;
    return (uint32_t)((int32_t)(int8_t)a * (int32_t)(int8_t)b);
}

static inline uint32_t eval_bad_code(const struct axl_design_ctx *c, uint32_t a, uint32_t b)
{
    (void)c;
    return a == 7 && b == 9 ? 0x12345u : a * b;
}

#define TEST_DESIGN(nm, opv, fn)                                                                   \
    {.abi = AXL_DESIGN_ABI, .name = nm, .description = "test design", .citation = "none",       \
     .op = opv, .operands = AXL_OPERANDS_ANY, .eval = fn, .version = 3}

static const struct axl_design d_u_mul = TEST_DESIGN("t_u_mul", AXL_OP_MUL, eval_u_mul);
static const struct axl_design d_one_wrong = TEST_DESIGN("t_one_wrong", AXL_OP_MUL, eval_one_wrong);
static const struct axl_design d_f_mul = TEST_DESIGN("t_f_mul", AXL_OP_MUL, eval_f_mul);
static const struct axl_design d_f_mul_lsb = TEST_DESIGN("t_f_mul_lsb", AXL_OP_MUL, eval_f_mul_lsb);
static const struct axl_design d_f_add = TEST_DESIGN("t_f_add", AXL_OP_ADD, eval_f_add);
static const struct axl_design d_s_mul = TEST_DESIGN("t_s_mul", AXL_OP_MUL, eval_s_mul);
static const struct axl_design d_bad = TEST_DESIGN("t_bad", AXL_OP_MUL, eval_bad_code);
static const struct axl_design d_trunc_add = {
    .abi = AXL_DESIGN_ABI, .name = "t_trunc_add", .description = "truncated adder",
    .citation = "none", .op = AXL_OP_ADD, .operands = AXL_OPERANDS_UINT, .eval = eval_trunc_add,
    .version = 1, .nparams = 1, .params = {{"k", 4, 0, 8, "bits dropped"}}};

/* --- formats, contexts, tables ------------------------------------------ */

static inline struct axl_format fmt(const char *name)
{
    struct axl_format f;
    char msg[AXL_MSG_LEN];
    if (axl_format_parse(name, &f, msg) != AXL_OK) {
        /* wide integer results (uint24, int32) are not in the parser's grammar */
        unsigned n = 0;
        memset(&f, 0, sizeof f);
        if (sscanf(name, "uint%u", &n) == 1)
            f.kind = AXL_KIND_UINT;
        else if (sscanf(name, "int%u", &n) == 1)
            f.kind = AXL_KIND_INT;
        cr_assert(n > 0, "format %s: %s", name, msg);
        f.bits = (uint8_t)n;
        snprintf(f.name, sizeof f.name, "%s", name);
    }
    return f;
}

/* A context built by hand, so these tests do not depend on axl_design_bind. */
static inline struct axl_design_ctx ctx3(const char *a, const char *b, const char *r)
{
    struct axl_design_ctx c;
    memset(&c, 0, sizeof c);
    c.fa = fmt(a);
    c.fb = fmt(b);
    c.fr = fmt(r);
    c.round = AXL_ROUND_NEAREST_EVEN;
    return c;
}

static inline struct axl_table *gen(const struct axl_design *d, const struct axl_design_ctx *c,
                                    int threads)
{
    struct axl_table_opts o;
    memset(&o, 0, sizeof o);
    o.threads = threads;
    struct axl_table *t = NULL;
    char msg[AXL_MSG_LEN] = "";
    enum axl_status s = axl_table_generate(d, c, &o, &t, msg);
    cr_assert(s == AXL_OK, "generate %s: %s", d->name, msg);
    return t;
}

static inline struct axl_table *load_table(const char *path)
{
    struct axl_table *t = NULL;
    char msg[AXL_MSG_LEN] = "";
    cr_assert_eq(axl_table_load(path, &t, msg), AXL_OK, "%s", msg);
    return t;
}

/* --- files and commands ------------------------------------------------- */

/* The test process's temporary directory, made on first use; user designs
 * are cached under it (AXL_CACHE_DIR), not in the user's cache. */
static inline const char *tmp_dir(void)
{
    static char dir[256];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/axl_tablegen_XXXXXX");
        cr_assert(mkdtemp(dir) != NULL);
        char cache[300];
        snprintf(cache, sizeof cache, "%s/cache", dir);
        setenv("AXL_CACHE_DIR", cache, 1);
    }
    return dir;
}

/* tmp_dir()/name; the last eight results stay valid. */
static inline const char *tmp_path(const char *name)
{
    static char p[8][512];
    static int i;
    const char *dir = tmp_dir();
    i = (i + 1) % 8;
    snprintf(p[i], sizeof p[i], "%s/%s", dir, name);
    return p[i];
}

static inline void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert(f != NULL, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

/* A shell command's exit status (-1 when a signal ended it). */
static inline int run_sh(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The built `axlut` (ctest sets AXL_BUILD_DIR). */
static inline const char *axlut_bin(void)
{
    static char p[1024];
    const char *b = getenv("AXL_BUILD_DIR");
    snprintf(p, sizeof p, "%s/axlut", b ? b : ".");
    return p;
}

/* --- user designs ------------------------------------------------------- */

/* d_one_wrong as a user design */
static const char k_user_src[] =
    "#include <axlut/design.h>\n"
    "static uint32_t ev(const struct axl_design_ctx *c, uint32_t a, uint32_t b)\n"
    "{ (void)c; return a == 3 && b == 5 ? 16u : a * b; }\n"
    "const struct axl_design axl_user_design = { .abi = AXL_DESIGN_ABI, .name = \"u_one\",\n"
    "  .description = \"d\", .citation = \"c\", .op = AXL_OP_MUL,\n"
    "  .operands = AXL_OPERANDS_UINT, .eval = ev, .version = 2 };\n";

/* Designs that crash, hang or exit on one pair (named in each), but only
 * with armed=1: the probe of axl_user_design_load evaluates designs with
 * their default parameters, so these model a pair the probe missed and
 * reach the isolated table generation. */
#define ARMED \
    "\n  .nparams = 1, .params = {{\"armed\", 0, 0, 1, \"misbehave on the pair\"}}"
static const char k_segv_src[] =
    "#include <axlut/design.h>\n"
    "static uint32_t ev(const struct axl_design_ctx *c, uint32_t a, uint32_t b)\n"
    "{ if (c->param[0] && a == 0x93 && b == 0x2a) { volatile int *p = 0; return (uint32_t)*p; }\n"
    "  return a * b; }\n"
    "const struct axl_design axl_user_design = { .abi = AXL_DESIGN_ABI, .name = \"u_segv\",\n"
    "  .op = AXL_OP_MUL, .operands = AXL_OPERANDS_UINT, .eval = ev, .version = 1," ARMED " };\n";

static const char k_fpe_src[] =
    "#include <axlut/design.h>\n"
    "static uint32_t ev(const struct axl_design_ctx *c, uint32_t a, uint32_t b)\n"
    "{ volatile uint32_t d = b - 0x11u; return c->param[0] && a == 0x05 ? a / d : a * b; }\n"
    "const struct axl_design axl_user_design = { .abi = AXL_DESIGN_ABI, .name = \"u_fpe\",\n"
    "  .op = AXL_OP_MUL, .operands = AXL_OPERANDS_UINT, .eval = ev, .version = 1," ARMED " };\n";

static const char k_loop_src[] =
    "#include <axlut/design.h>\n"
    "static uint32_t ev(const struct axl_design_ctx *c, uint32_t a, uint32_t b)\n"
    "{ volatile int spin = 1; while (c->param[0] && a == 0x40 && b == 0x07 && spin) {}\n"
    "  return a * b; }\n"
    "const struct axl_design axl_user_design = { .abi = AXL_DESIGN_ABI, .name = \"u_loop\",\n"
    "  .op = AXL_OP_MUL, .operands = AXL_OPERANDS_UINT, .eval = ev, .version = 1," ARMED " };\n";

/* infinite recursion: the fault handler must run on its alternate stack */
static const char k_stack_src[] =
    "#include <axlut/design.h>\n"
    "static uint32_t deep(volatile uint32_t n)\n"
    "{ volatile char pad[256]; pad[0] = (char)n; return n ? deep(n + 1) + (uint32_t)pad[0] : 0; }\n"
    "static uint32_t ev(const struct axl_design_ctx *c, uint32_t a, uint32_t b)\n"
    "{ return c->param[0] && a == 0xc8 && b == 0x03 ? deep(1) : a * b; }\n"
    "const struct axl_design axl_user_design = { .abi = AXL_DESIGN_ABI, .name = \"u_stack\",\n"
    "  .op = AXL_OP_MUL, .operands = AXL_OPERANDS_UINT, .eval = ev, .version = 1," ARMED " };\n";

static const char k_exit_src[] =
    "#include <stdlib.h>\n#include <axlut/design.h>\n"
    "static uint32_t ev(const struct axl_design_ctx *c, uint32_t a, uint32_t b)\n"
    "{ if (c->param[0] && a == 9 && b == 9) exit(3); return a * b; }\n"
    "const struct axl_design axl_user_design = { .abi = AXL_DESIGN_ABI, .name = \"u_exit\",\n"
    "  .op = AXL_OP_MUL, .operands = AXL_OPERANDS_UINT, .eval = ev, .version = 1," ARMED " };\n";

#endif
