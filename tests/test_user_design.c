/* tablegen: user designs: compiled, cached, loaded, checked (ABI, compile
 * errors, missing symbol); the example design against its own model; crash,
 * hang and exit isolation, each reported with the operand pair. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/design.h"
#include "axlut/table.h"
#include "axlut/user_design.h"
#include "tablegen_fixtures.h"

/* --- user designs --------------------------------------------------------- */

Test(user_design, user_design_compiles_loads_and_matches)
{
    const char *src = tmp_path("u_one.c");
    write_text(src, k_user_src);
    struct axl_user_design *u = NULL;
    char msg[AXL_MSG_LEN] = "", *log = NULL;
    cr_assert_eq(axl_user_design_load(src, &u, &log, msg), AXL_OK, "%s\n%s", msg,
                 log ? log : "");
    const struct axl_design *d = axl_user_design_get(u);
    cr_assert_str_eq(d->name, "u_one");
    cr_assert_eq(strlen(axl_user_design_sha256(u)), 64);
    char obj[4096];
    snprintf(obj, sizeof obj, "%s", axl_user_design_object(u));
    cr_assert(strstr(obj, "/cache/") != NULL, "%s", obj);

    struct axl_design_ctx c = ctx3("uint4", "uint4", "uint8");
    struct axl_table *t1 = gen(d, &c, 0), *t2 = gen(&d_one_wrong, &c, 0);
    cr_assert(!memcmp(axl_table_data(t1), axl_table_data(t2), 256));
    cr_assert(!memcmp(&axl_table_info(t1)->metrics, &axl_table_info(t2)->metrics,
                      sizeof(struct axl_metrics)));
    axl_table_free(t1);
    axl_table_free(t2);
    axl_user_design_free(u);

    /* a second load hits the cache: same object */
    cr_assert_eq(axl_user_design_load(src, &u, NULL, msg), AXL_OK, "%s", msg);
    cr_assert_str_eq(axl_user_design_object(u), obj);
    axl_user_design_free(u);
}

Test(user_design, user_design_abi_mismatch_and_compile_error)
{
    char msg[AXL_MSG_LEN] = "", *log = NULL;
    struct axl_user_design *u = NULL;
    const char *src = tmp_path("u_abi.c");
    write_text(src, "#include <axlut/design.h>\n"
                    "static uint32_t ev(const struct axl_design_ctx *c, uint32_t a, uint32_t b)\n"
                    "{ (void)c; return a * b; }\n"
                    "const struct axl_design axl_user_design = { .abi = 99, .name = \"u_abi\",\n"
                    "  .op = AXL_OP_MUL, .operands = AXL_OPERANDS_UINT, .eval = ev };\n");
    cr_assert_eq(axl_user_design_load(src, &u, &log, msg), AXL_ERR_MISMATCH, "%s", msg);
    cr_assert_null(u);
    cr_assert(strstr(msg, src) && strstr(msg, "ABI 99") && strstr(msg, "expects ABI 1"), "%s",
              msg);

    const char *bad = tmp_path("u_bad.c");
    write_text(bad, "#include <axlut/design.h>\nthis is not C;\n");
    cr_assert_eq(axl_user_design_load(bad, &u, &log, msg), AXL_ERR_COMPILE);
    cr_assert(strstr(msg, bad) && strstr(msg, "failed"), "%s", msg);
    cr_assert_not_null(log);
    cr_assert(strstr(log, "error") != NULL, "%s", log);
    free(log);

    const char *nosym = tmp_path("u_nosym.c");
    write_text(nosym, "int axl_something_else = 1;\n");
    cr_assert_eq(axl_user_design_load(nosym, &u, NULL, msg), AXL_ERR_COMPILE);
    cr_assert(strstr(msg, "axl_user_design"), "%s", msg);

    cr_assert_eq(axl_user_design_load(tmp_path("none.c"), &u, NULL, msg), AXL_ERR_IO);
}

/* Independent model of the example: truncated array multiplier, product
 * columns below 2^k dropped. */
static uint32_t lomul_ref(uint32_t a, uint32_t b, int k)
{
    uint32_t p = 0;
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 8; j++)
            if (i + j >= k)
                p += (((a >> i) & (b >> j) & 1u) << (i + j));
    return p;
}

Test(user_design, example_user_design_matches_its_model)
{
    const char *srcdir = getenv("AXL_SOURCE_DIR");
    char path[1024], msg[AXL_MSG_LEN] = "", *log = NULL;
    snprintf(path, sizeof path, "%s/tables/examples/my_lomul.c", srcdir ? srcdir : ".");
    struct axl_user_design *u = NULL;
    cr_assert_eq(axl_user_design_load(path, &u, &log, msg), AXL_OK, "%s\n%s", msg,
                 log ? log : "");
    const struct axl_design *d = axl_user_design_get(u);
    struct axl_design_ctx c = ctx3("uint8", "uint8", "uint16");
    for (int k = 0; k <= 8; k += 4) {
        c.param[0] = k;
        struct axl_table *t = gen(d, &c, 0);
        int bad = 0;
        for (uint32_t a = 0; a < 256; a++)
            for (uint32_t b = 0; b < 256; b++)
                if (axl_table_entry(t, a, b) != lomul_ref(a, b, k) && bad++ < 10)
                    cr_log_error("k=%d a=%x b=%x: %x, model %x", k, a, b, axl_table_entry(t, a, b),
                                 lomul_ref(a, b, k));
        cr_expect_eq(bad, 0);
        if (k == 0)
            cr_expect_eq(axl_table_info(t)->metrics.errors, 0);
        axl_table_free(t);
    }
    axl_user_design_free(u);
}

/* --- crash and hang isolation --------------------------------------------- */

static struct axl_user_design *load_src(const char *name, const char *text)
{
    const char *src = tmp_path(name);
    write_text(src, text);
    struct axl_user_design *u = NULL;
    char msg[AXL_MSG_LEN] = "", *log = NULL;
    cr_assert_eq(axl_user_design_load(src, &u, &log, msg), AXL_OK, "%s\n%s", msg, log ? log : "");
    return u;
}

struct crash_case {
    const char *file, *src;
    uint32_t outcome;
    int sig;
    uint32_t a, b;
    const char *words; /* in the message */
};

Test(user_design, isolated_crash_hang_exit_reported_with_pair, .timeout = 60)
{
    const struct crash_case cases[] = {
        {"i_segv.c", k_segv_src, AXL_ISOLATE_SIGNAL, SIGSEGV, 0x93, 0x2a, "crashed: SIGSEGV"},
        {"i_fpe.c", k_fpe_src, AXL_ISOLATE_SIGNAL, SIGFPE, 0x05, 0x11, "crashed: SIGFPE"},
        {"i_stack.c", k_stack_src, AXL_ISOLATE_SIGNAL, SIGSEGV, 0xc8, 0x03, "crashed: SIGSEGV"},
        {"i_exit.c", k_exit_src, AXL_ISOLATE_EXIT, 0, 0x09, 0x09, "exit status 3"},
        {"i_loop.c", k_loop_src, AXL_ISOLATE_TIMEOUT, 0, 0x40, 0x07, "did not finish within 1 s"},
    };
    struct axl_design_ctx c = ctx3("uint8", "uint8", "uint16");
    c.param[0] = 1; /* armed */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int threads = 1; threads <= 2; threads++) {
            const struct crash_case *k = &cases[i];
            struct axl_user_design *u = load_src(k->file, k->src);
            struct axl_table_opts o;
            memset(&o, 0, sizeof o);
            o.threads = threads;
            struct axl_table *t = NULL;
            struct axl_isolate_report rep;
            char msg[AXL_MSG_LEN] = "", pair[64];
            enum axl_status s =
                axl_table_generate_isolated(axl_user_design_get(u), &c, &o, 1.0, &t, &rep, msg);
            cr_expect_eq(s, AXL_ERR_INVALID, "%s: status %d", k->file, s);
            cr_expect_null(t);
            cr_expect_eq(rep.outcome, k->outcome, "%s: outcome %u: %s", k->file, rep.outcome, msg);
            if (k->sig)
                cr_expect_eq(rep.signal, k->sig, "%s: signal %d", k->file, rep.signal);
            /* exit() says nothing about which thread called it: with two threads
             * busy, the report may name both pairs in flight (the message is
             * checked to contain the right one below) */
            int ambiguous = k->outcome == AXL_ISOLATE_EXIT && threads > 1 && !rep.have_pair;
            cr_expect(ambiguous || (rep.have_pair && rep.a == k->a && rep.b == k->b),
                      "%s, %d threads: pair (%x, %x): %s", k->file, threads, rep.a, rep.b, msg);
            snprintf(pair, sizeof pair, "a=0x%x, b=0x%x", k->a, k->b);
            cr_expect(strstr(msg, pair) && strstr(msg, k->words), "%s: %s", k->file, msg);
            axl_table_free(t);
            axl_user_design_free(u);
        }
}

Test(user_design, isolated_equals_in_process)
{
    struct axl_user_design *u = load_src("i_good.c", k_user_src);
    const struct axl_design *d = axl_user_design_get(u);
    const char *fm[][3] = {{"uint8", "uint8", "uint16"}, {"uint10", "uint9", "uint19"}};
    for (int f = 0; f < 2; f++)
        for (int threads = 1; threads <= 3; threads++) {
            struct axl_design_ctx c = ctx3(fm[f][0], fm[f][1], fm[f][2]);
            struct axl_table_opts o;
            memset(&o, 0, sizeof o);
            o.threads = threads;
            struct axl_table *ti = NULL;
            struct axl_isolate_report rep;
            char msg[AXL_MSG_LEN] = "";
            cr_assert_eq(axl_table_generate_isolated(d, &c, &o, 0, &ti, &rep, msg), AXL_OK, "%s",
                         msg);
            cr_assert_eq(rep.outcome, AXL_ISOLATE_OK);
            struct axl_table *tp = gen(d, &c, threads);
            const struct axl_table_info *a = axl_table_info(ti), *b = axl_table_info(tp);
            cr_assert_eq(a->rows * a->cols, b->rows * b->cols);
            cr_assert(!memcmp(axl_table_data(ti), axl_table_data(tp),
                              (size_t)(a->rows * a->cols * a->entry_bytes)));
            cr_assert(!memcmp(&a->metrics, &b->metrics, sizeof a->metrics));
            axl_table_free(ti);
            axl_table_free(tp);
        }
    /* a design's refusal (a code wider than its result) passes through */
    struct axl_design_ctx c = ctx3("uint4", "uint4", "uint8");
    struct axl_table *t = NULL;
    struct axl_isolate_report rep;
    char msg[AXL_MSG_LEN] = "";
    cr_assert_eq(axl_table_generate_isolated(&d_bad, &c, NULL, 5, &t, &rep, msg), AXL_ERR_INVALID);
    cr_assert_eq(rep.outcome, AXL_ISOLATE_ERROR);
    cr_assert(strstr(msg, "a=0x7, b=0x9") && strstr(msg, "0x12345"), "%s", msg);
    cr_assert_null(t);
    axl_user_design_free(u);
    cr_assert_str_eq(axl_signal_name(SIGSEGV), "SIGSEGV");
    cr_assert_str_eq(axl_signal_name(SIGFPE), "SIGFPE");
}

/* Published circuit names keep their case (EvoApprox's mul8u_FTA); a name
 * with any other character is refused, and the message says the rule. */
Test(user_design, names_are_letters_digits_underscore)
{
    static const char *const names[] = {"mul8u_FTA", "mul-8u", "mul 8u", ""};
    static const int ok[] = {1, 0, 0, 0};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char msg[AXL_MSG_LEN] = "", text[1024], file[32];
        snprintf(text, sizeof text,
                 "#include <axlut/design.h>\n"
                 "static uint32_t ev(const struct axl_design_ctx *c, uint32_t a, uint32_t b)\n"
                 "{ (void)c; return a * b; }\n"
                 "const struct axl_design axl_user_design = { .abi = AXL_DESIGN_ABI,\n"
                 "  .name = \"%s\", .op = AXL_OP_MUL, .operands = AXL_OPERANDS_UINT,\n"
                 "  .eval = ev, .version = 1 };\n",
                 names[i]);
        snprintf(file, sizeof file, "u_name%zu.c", i);
        const char *src = tmp_path(file);
        write_text(src, text);
        struct axl_user_design *u = NULL;
        enum axl_status st = axl_user_design_load(src, &u, NULL, msg);
        if (ok[i]) {
            cr_expect_eq(st, AXL_OK, "'%s': %s", names[i], msg);
            cr_expect(u && !strcmp(axl_user_design_get(u)->name, names[i]));
        } else {
            cr_expect_eq(st, AXL_ERR_INVALID, "'%s' accepted", names[i]);
            cr_expect(strstr(msg, "[A-Za-z0-9_]"), "'%s': %s", names[i], msg);
        }
        axl_user_design_free(u);
    }
}

/* --- validation before loading: nothing of a bad design runs here ---------- */

#define EV_HEAD                                                                                    \
    "#include <stdlib.h>\n#include <axlut/design.h>\n"                                          \
    "static uint32_t ev(const struct axl_design_ctx *c, uint32_t a, uint32_t b)\n"
#define DESC(name, ops)                                                                            \
    "const struct axl_design axl_user_design = { .abi = AXL_DESIGN_ABI, .name = \"" name "\",\n" \
    "  .op = AXL_OP_MUL, .operands = " ops ", .eval = ev, .version = 1 };\n"

struct load_case {
    const char *file, *src;
    const char *words[3]; /* all in the message */
};

/* Each design misbehaves where the validation child meets it: in eval on a
 * probed pair, in a constructor, or behind a pointer of its descriptor.  A
 * crash here would take the test process down; each must come back as
 * AXL_ERR_INVALID with one line. */
Test(user_design, load_validates_in_a_child, .timeout = 120)
{
    const struct load_case cases[] = {
        {"v_segv.c",
         EV_HEAD "{ (void)c; if (a == 0x93 && b == 0x2a) { volatile int *p = 0; return *p; }\n"
                 "  return a * b; }\n" DESC("v_segv", "AXL_OPERANDS_UINT"),
         {"design v_segv crashed: SIGSEGV", "a=0x93, b=0x2a", "uint8 x uint8"}},
        {"v_loop.c",
         EV_HEAD "{ (void)c; volatile int s = 1; while (a == 0x80 && b == 0x81 && s) {}\n"
                 "  return a * b; }\n" DESC("v_loop", "AXL_OPERANDS_INT"),
         {"design v_loop did not finish within 1 s", "a=0x80, b=0x81", "int8 x int8"}},
        {"v_exit0.c",
         EV_HEAD "{ (void)c; if (a == 3 && b == 4) exit(0); return a * b; }\n" DESC(
             "v_exit0", "AXL_OPERANDS_ANYINT"),
         {"exit status 0", "a=0x3, b=0x4", "must return, not exit"}},
        /* a float design that crashes on fp16's largest code only: the
         * sampled edges of a wide format */
        {"v_fp16.c",
         EV_HEAD "{ if (c->fa.bits == 16 && a == 0xffff && b == 0) abort(); return a; }\n" DESC(
             "v_fp16", "AXL_OPERANDS_FLOAT"),
         {"crashed: SIGABRT", "a=0xffff, b=0x0", "fp16 x fp16"}},
        {"v_ctor_segv.c",
         EV_HEAD "{ (void)c; return a * b; }\n"
                 "int *volatile v_null; /* not static: the compiler cannot know it is 0 */\n"
                 "__attribute__((constructor)) static void boom(void) { *v_null = 1; }\n" DESC(
                     "v_ctor_segv", "AXL_OPERANDS_UINT"),
         {"runs its constructors, crashed: SIGSEGV", "loading the compiled design",
          "v_ctor_segv.c"}},
        {"v_ctor_exit.c",
         EV_HEAD "{ (void)c; return a * b; }\n"
                 "__attribute__((constructor)) static void bye(void) { exit(0); }\n" DESC(
                     "v_ctor_exit", "AXL_OPERANDS_UINT"),
         {"runs its constructors, ended the process with exit status 0",
          "loading the compiled design", "v_ctor_exit.c"}},
        {"v_ctor_loop.c",
         EV_HEAD "{ (void)c; return a * b; }\n"
                 "__attribute__((constructor)) static void spin(void)\n"
                 "{ volatile int s = 1; while (s) {} }\n" DESC("v_ctor_loop", "AXL_OPERANDS_UINT"),
         {"runs its constructors, did not finish within 1 s", "loading the compiled design",
          "v_ctor_loop.c"}},
        {"v_wild_name.c",
         EV_HEAD "{ (void)c; return a * b; }\n"
                 "const struct axl_design axl_user_design = { .abi = AXL_DESIGN_ABI,\n"
                 "  .name = (const char *)16, .op = AXL_OP_MUL, .operands = AXL_OPERANDS_UINT,\n"
                 "  .eval = ev, .version = 1 };\n",
         {"axl_user_design: reading .name crashed: SIGSEGV", "not a string", "v_wild_name.c"}},
        {"v_wild_help.c",
         EV_HEAD "{ (void)c; return a * b; }\n"
                 "const struct axl_design axl_user_design = { .abi = AXL_DESIGN_ABI,\n"
                 "  .name = \"v_wild_help\", .op = AXL_OP_MUL, .operands = AXL_OPERANDS_UINT,\n"
                 "  .eval = ev, .version = 1, .nparams = 1,\n"
                 "  .params = {{\"k\", 0, 0, 1, (const char *)24}} };\n",
         {"reading a parameter's .help crashed: SIGSEGV", "v_wild_help.c", ""}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct load_case *k = &cases[i];
        const char *src = tmp_path(k->file);
        write_text(src, k->src);
        struct axl_user_design *u = NULL;
        char msg[AXL_MSG_LEN] = "", *log = NULL;
        enum axl_status st = axl_user_design_load_timeout(src, 1.0, &u, &log, msg);
        cr_expect_eq(st, AXL_ERR_INVALID, "%s: status %d: %s\n%s", k->file, st, msg,
                     log ? log : "");
        cr_expect_null(u);
        cr_expect_null(strchr(msg, '\n'), "%s: more than one line: %s", k->file, msg);
        for (int w = 0; w < 3; w++)
            cr_expect(strstr(msg, k->words[w]), "%s: no '%s' in: %s", k->file, k->words[w], msg);
        free(log);
        axl_user_design_free(u);
    }
}

/* The limit: $AXL_DESIGN_TIMEOUT, else the default; a bad value is ignored. */
Test(user_design, design_timeout_from_the_environment)
{
    unsetenv("AXL_DESIGN_TIMEOUT");
    cr_expect_eq(axl_user_design_timeout(), AXL_ISOLATE_DEFAULT_TIMEOUT);
    setenv("AXL_DESIGN_TIMEOUT", "2.5", 1);
    cr_expect_eq(axl_user_design_timeout(), 2.5);
    setenv("AXL_DESIGN_TIMEOUT", "soon", 1);
    cr_expect_eq(axl_user_design_timeout(), AXL_ISOLATE_DEFAULT_TIMEOUT);
    setenv("AXL_DESIGN_TIMEOUT", "-1", 1);
    cr_expect_eq(axl_user_design_timeout(), AXL_ISOLATE_DEFAULT_TIMEOUT);
    unsetenv("AXL_DESIGN_TIMEOUT");
}
