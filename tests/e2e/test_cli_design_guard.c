/* User designs that crash, hang, exit or have a wild descriptor, through
 * every command that takes one (run, sweep, train, snn, gen): each is
 * checked in a child before axlut loads it and refused with exit 2 and one
 * line naming the design, what happened and the operand pair; none leaves
 * an output.  Designs that misbehave only with armed=1 (a pair the load-time
 * probe cannot see) are caught where their table or every adder pair is
 * evaluated in a child. */
#define _DEFAULT_SOURCE /* mkdtemp, setenv */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"

static void setup(void)
{
    e2e_setup("/tmp/axl_guard_XXXXXX");
    char cache[128];
    snprintf(cache, sizeof cache, "%s/cache", g_dir);
    setenv("AXL_CACHE_DIR", cache, 1);
    setenv("AXL_DESIGN_TIMEOUT", "2", 1);
}

TestSuite(cli_guard, .init = setup, .fini = e2e_teardown, .timeout = 300);

#define HEAD                                                                                       \
    "#include <stdlib.h>\n#include <axlut/design.h>\n"                                          \
    "static uint32_t ev(const struct axl_design_ctx *c, uint32_t a, uint32_t b)\n"
#define DESC(name, op)                                                                             \
    "const struct axl_design axl_user_design = { .abi = AXL_DESIGN_ABI, .name = \"" name "\",\n" \
    "  .op = " op ", .operands = AXL_OPERANDS_ANY, .eval = ev, .version = 1,\n"                  \
    "  .nparams = 1, .params = {{\"armed\", 0, 0, 1, \"misbehave without the probe\"}} };\n"
/* misbehave on (0x93, 0x2a), seen by the load-time probe; the armed ones
 * on (0x94, 0x2b) only when armed=1, which the probe (default parameters)
 * never sets */
#define ALWAYS "(a == 0x93 && b == 0x2a)"
#define ARMED "(c->param[0] && a == 0x94 && b == 0x2b)"
#define SEGV(w, n) HEAD "{ if " w " { volatile int *p = 0; return *p; }\n return a * b; }\n" \
    DESC(n, "AXL_OP_MUL")
#define LOOP(w, n) HEAD "{ volatile int s = 1; while (" w " && s) {}\n return a * b; }\n" \
    DESC(n, "AXL_OP_MUL")
#define EXIT0(w, n) HEAD "{ if " w " exit(0); return a * b; }\n" DESC(n, "AXL_OP_MUL")
#define ADD_ABORT(w, n) HEAD "{ if " w " abort(); return a ^ b; }\n" DESC(n, "AXL_OP_ADD")

static const char k_segv[] = SEGV(ALWAYS, "g_segv"), k_segv_armed[] = SEGV(ARMED, "g_segv"),
                  k_loop[] = LOOP(ALWAYS, "g_loop"), k_loop_armed[] = LOOP(ARMED, "g_loop"),
                  k_exit0[] = EXIT0(ALWAYS, "g_exit0"), k_exit0_armed[] = EXIT0(ARMED, "g_exit0"),
                  k_add_segv[] = ADD_ABORT(ALWAYS, "g_add"),
                  k_add_armed[] = ADD_ABORT(ARMED, "g_add");
static const char k_ctor[] = HEAD "{ (void)c; return a * b; }\n"
                                  "int *volatile g_null;\n"
                                  "__attribute__((constructor)) static void boom(void) "
                                  "{ *g_null = 1; }\n" DESC("g_ctor", "AXL_OP_MUL");
static const char k_wild[] = HEAD "{ (void)c; return a * b; }\n"
                                  "const struct axl_design axl_user_design = { .abi = "
                                  "AXL_DESIGN_ABI, .name = (const char *)8,\n"
                                  "  .op = AXL_OP_MUL, .eval = ev };\n";

static const char *design(const char *name, const char *src)
{
    static char path[8][256];
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, 256, "%s/%s", g_dir, name);
    FILE *f = fopen(p, "w");
    cr_assert(f);
    fputs(src, f);
    fclose(f);
    return p;
}

/* Runs the command; expects exit `want`, one line on stderr with every one
 * of `words`, and nothing at g_dir/out*. */
static void expect(int want, const char *const *words, const char *fmt, const char *arg)
{
    char err[2048], cmd[3000];
    snprintf(cmd, sizeof cmd, fmt, g_axlut, arg);
    int rc = e2e_sh(NULL, err, sizeof err, "%s", cmd);
    cr_expect_eq(rc, want, "%s: exit %d: %s", cmd, rc, err);
    const char *nl = strchr(err, '\n');
    cr_expect(nl && nl[1] == '\0', "%s: not one line: %s", cmd, err);
    for (const char *const *w = words; *w; w++)
        cr_expect(strstr(err, *w), "%s: no '%s' in: %s", cmd, *w, err);
    char probe[600];
    snprintf(probe, sizeof probe, "ls '%s'/out* 2>/dev/null | grep -q .", g_dir);
    cr_expect_neq(system(probe), 0, "%s left an output", cmd);
}



Test(cli_guard, run_refuses_designs_the_probe_catches)
{
    char base[3000];
    snprintf(base, sizeof base, "%%s run '%s' --data '%s' --save-outputs %s/out.h5 --format uint8 "
                                "--mul '%%s'",
             g_lenet, g_lenet_data, g_dir);
    expect(2, (const char *[]){"design g_segv crashed: SIGSEGV", "a=0x93, b=0x2a", "uint8", NULL},
           base, design("segv.c", k_segv));
    expect(2, (const char *[]){"design g_loop did not finish within 2 s", "a=0x93, b=0x2a", NULL},
           base, design("loop.c", k_loop));
    /* exit(0) in a design once made `run` exit 0 with no output */
    expect(2, (const char *[]){"design g_exit0 ended the process with exit status 0",
                               "a=0x93, b=0x2a", "must return, not exit", NULL},
           base, design("exit0.c", k_exit0));
    expect(2, (const char *[]){"ctor.c: loading the compiled design", "constructors",
                               "crashed: SIGSEGV", NULL},
           base, design("ctor.c", k_ctor));
    expect(2, (const char *[]){"wild.c: axl_user_design: reading .name crashed", NULL}, base,
           design("wild.c", k_wild));
}

/* armed=1: the pair is outside the probe, the table of the layer's formats
 * (or every adder pair) is evaluated in a child */
Test(cli_guard, run_catches_pairs_the_probe_missed)
{
    char base[3000];
    snprintf(base, sizeof base, "%%s run '%s' --data '%s' --save-outputs %s/out.h5 --format uint8 "
                                "--mul '%%s' --param armed=1",
             g_lenet, g_lenet_data, g_dir);
    expect(2, (const char *[]){"generating the table", "crashed: SIGSEGV", "a=0x94, b=0x2b",
                               NULL},
           base, design("segv_a.c", k_segv_armed));
    expect(2, (const char *[]){"did not finish within 2 s", "a=0x94, b=0x2b", NULL}, base,
           design("loop_a.c", k_loop_armed));
    expect(2, (const char *[]){"exit status 0", "a=0x94, b=0x2b", NULL}, base,
           design("exit0_a.c", k_exit0_armed));
    snprintf(base, sizeof base, "%%s run '%s' --data '%s' --save-outputs %s/out.h5 --format e5m2 "
                                "--acc-format e5m2 --add '%%s' --add-param armed=1",
             g_lenet, g_lenet_data, g_dir);
    expect(2, (const char *[]){"checking design g_add on every e5m2 x e5m2 pair",
                               "crashed: SIGABRT", "a=0x94, b=0x2b", NULL},
           base, design("add_a.c", k_add_armed));
}

Test(cli_guard, sweep_train_snn_gen_refuse_them_too)
{
    char fmt[3000];
    snprintf(fmt, sizeof fmt,
             "%%s sweep '%s' --data '%s' --formats uint8 --designs '%%s' -o %s/out",
             g_lenet, g_lenet_data, g_dir);
    expect(2, (const char *[]){"design g_segv crashed: SIGSEGV", "a=0x93, b=0x2a", NULL}, fmt,
           design("segv.c", k_segv));
    snprintf(fmt, sizeof fmt, "%%s train '%s' --data '%s' --format e4m3 --epochs 1 --mul '%%s' "
                              "-o %s/out.onnx",
             g_lenet, g_lenet_data, g_dir);
    expect(2, (const char *[]){"design g_loop did not finish within 2 s", NULL}, fmt,
           design("loop.c", k_loop));
    snprintf(fmt, sizeof fmt, "%%s snn '%s' --data '%s' --calib '%s' --steps 2 --acc-format e4m3 "
                              "--add '%%s' --report %s/out.json",
             g_lenet, g_lenet_data, g_lenet_data, g_dir);
    expect(2, (const char *[]){"design g_add crashed: SIGABRT", "a=0x93, b=0x2a", NULL}, fmt,
           design("add.c", k_add_segv));
    snprintf(fmt, sizeof fmt, "%%s gen '%%s' --format uint8 --timeout 1 -o %s/out.h5", g_dir);
    expect(2, (const char *[]){"ctor.c: loading the compiled design", "crashed: SIGSEGV", NULL},
           fmt, design("ctor.c", k_ctor));
    expect(2, (const char *[]){"design g_loop did not finish within 1 s", NULL}, fmt,
           design("loop.c", k_loop));
}
