/* `axlut gen` and `axlut info` end to end: tables through the command
 * line (user designs, a wrapped model with swapped operands, signed tables,
 * mantissa tables), crashes and timeouts, bad inputs (one line, an exit
 * status, nothing written) and tools/plot_table.py on the tables. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "axlut/design.h"
#include "axlut/table.h"
#include "tablegen_fixtures.h"

/* --- the CLI ---------------------------------------------------------------- */

Test(cli_gen, cli_gen_and_info)
{
    const char *srcdir = getenv("AXL_SOURCE_DIR");
    char cmd[4096];
    const char *out = tmp_path("cli.h5");
    char outp[512];
    snprintf(outp, sizeof outp, "%s", out);
    snprintf(cmd, sizeof cmd, "%s gen %s/tables/examples/my_lomul.c --param k=4 -o %s >/dev/null",
             axlut_bin(), srcdir ? srcdir : ".", outp);
    cr_assert_eq(run_sh(cmd), 0, "%s", cmd);
    /* no overwrite without --force */
    cr_assert_eq(run_sh(cmd), 2);
    snprintf(cmd, sizeof cmd,
             "%s gen %s/tables/examples/my_lomul.c --param k=4 -o %s --force >/dev/null",
             axlut_bin(), srcdir ? srcdir : ".", outp);
    cr_assert_eq(run_sh(cmd), 0);
    snprintf(cmd, sizeof cmd,
             "%s info %s --json | /usr/bin/python3 -c \"import json, sys\n"
             "d = json.load(sys.stdin)\n"
             "assert d['design'] == 'my_lomul' and d['parameters'] == 'k=4'\n"
             "assert d['rows'] == 256 and d['metrics']['pairs'] == 65536\n"
             "assert len(d['design_source_sha256']) == 64\"",
             axlut_bin(), outp);
    cr_assert_eq(run_sh(cmd), 0, "%s", cmd);
    snprintf(cmd, sizeof cmd, "%s info %s >/dev/null", axlut_bin(), outp);
    cr_assert_eq(run_sh(cmd), 0);

    /* bad inputs: one line, exit 2, no output file */
    const char *none = tmp_path("none.h5");
    char nonep[512];
    snprintf(nonep, sizeof nonep, "%s", none);
    const char *bad_args[] = {
        "gen no_such_design --format uint8 -o %s",
        "gen %s/tables/examples/my_lomul.c --format e9m9 -o %s",
        "gen %s/tables/examples/my_lomul.c --param zz=1 -o %s",
        "gen %s/tables/examples/my_lomul.c --param k=99 -o %s",
        "gen %s/tables/examples/my_lomul.c --round sideways -o %s",
    };
    for (size_t i = 0; i < sizeof bad_args / sizeof bad_args[0]; i++) {
        char args[1024];
        if (i == 0)
            snprintf(args, sizeof args, bad_args[i], nonep);
        else
            snprintf(args, sizeof args, bad_args[i], srcdir ? srcdir : ".", nonep);
        snprintf(cmd, sizeof cmd, "%s %s 2>%s/err.txt", axlut_bin(), args, tmp_dir());
        cr_expect_eq(run_sh(cmd), 2, "%s", cmd);
        cr_expect_neq(access(nonep, F_OK), 0, "%s left an output", args);
        snprintf(cmd, sizeof cmd, "test $(wc -l < %s/err.txt) -eq 1", tmp_dir());
        cr_expect_eq(run_sh(cmd), 0, "%s: not one line of error", args);
    }
    const char *text = tmp_path("junk.h5");
    write_text(text, "junk");
    snprintf(cmd, sizeof cmd, "%s info %s 2>/dev/null", axlut_bin(), text);
    cr_expect_eq(run_sh(cmd), 2);

    /* a compile error: the compiler's messages, one summary line, exit 1 */
    const char *bad = tmp_path("broken.c");
    write_text(bad, "#include <axlut/design.h>\nbroken!\n");
    snprintf(cmd, sizeof cmd, "%s gen %s --format uint8 -o %s 2>%s/err.txt", axlut_bin(), bad,
             nonep, tmp_dir());
    cr_expect_eq(run_sh(cmd), 1);
    snprintf(cmd, sizeof cmd, "tail -n 1 %s/err.txt | grep -q 'broken.c: compilation'", tmp_dir());
    cr_expect_eq(run_sh(cmd), 0);
    cr_expect_neq(access(nonep, F_OK), 0);
}

/* the CLI: one line with the signal and the pair, exit 1, nothing written */
Test(cli_gen, cli_crash_and_timeout_write_nothing, .timeout = 60)
{
    const struct {
        const char *file, *src, *opts, *words;
    } cases[] = {
        {"c_segv.c", k_segv_src, "", "SIGSEGV"},
        {"c_fpe.c", k_fpe_src, "--threads 2", "SIGFPE"},
        {"c_loop.c", k_loop_src, "--timeout 2", "did not finish within 2 s"},
    };
    const uint32_t pairs[][2] = {{0x93, 0x2a}, {0x05, 0x11}, {0x40, 0x07}};
    char cmd[4096], out[512], err[512];
    snprintf(out, sizeof out, "%s", tmp_path("crash_out.h5"));
    snprintf(err, sizeof err, "%s", tmp_path("crash_err.txt"));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char src[512];
        snprintf(src, sizeof src, "%s", tmp_path(cases[i].file));
        write_text(src, cases[i].src);
        snprintf(cmd, sizeof cmd, "%s gen %s --format uint8 --param armed=1 %s -o %s 2>%s",
                 axlut_bin(), src, cases[i].opts, out, err);
        cr_expect_eq(run_sh(cmd), 1, "%s", cmd);
        cr_expect_neq(access(out, F_OK), 0, "%s left an output", cases[i].file);
        snprintf(cmd, sizeof cmd,
                 "test $(wc -l < %s) -eq 1 && grep -q '%s' %s && grep -q 'a=0x%x, b=0x%x' %s && "
                 "grep -q 'nothing written' %s",
                 err, cases[i].words, err, pairs[i][0], pairs[i][1], err, err);
        cr_expect_eq(run_sh(cmd), 0, "%s: not the expected one line", cases[i].file);
    }
    /* no temporary left next to the output either */
    snprintf(cmd, sizeof cmd, "! ls %s* 2>/dev/null | grep -q .", out);
    cr_expect_eq(run_sh(cmd), 0);
}

/* --- a model with another signature, wrapped --------------------------------- */

/* A broken-array multiplier written the way many published C libraries of
 * circuits write their models: uint64_t f(uint64_t B, uint64_t A), weight
 * operand first.  Rows of partial products come from the bits of B (the
 * weight), so the unit is not commutative and a wrapper that forgot to swap
 * would give another table. */
static const char k_wrapped_src[] =
    "#include <axlut/design.h>\n"
    "static uint64_t bam8u(uint64_t B, uint64_t A, int hbl, int vbl)\n"
    "{\n"
    "    uint64_t p = 0;\n"
    "    for (int i = 0; i < 8; i++)          /* row i: bit i of B */\n"
    "        for (int j = 0; j < 8; j++)      /* column j: bit j of A */\n"
    "            if (i >= hbl && i + j >= vbl && ((B >> i) & (A >> j) & 1u))\n"
    "                p += 1ull << (i + j);\n"
    "    return p;\n"
    "}\n"
    "/* the wrapper: five lines */\n"
    "static uint32_t eval(const struct axl_design_ctx *c, uint32_t a, uint32_t b)\n"
    "{\n"
    "    return (uint32_t)bam8u(b, a, c->param[0], c->param[1]); /* B = weight = b */\n"
    "}\n"
    "const struct axl_design axl_user_design = { .abi = AXL_DESIGN_ABI, .name = \"bam8u\",\n"
    "  .description = \"broken-array multiplier, model with swapped operands\",\n"
    "  .op = AXL_OP_MUL, .operands = AXL_OPERANDS_FIXED, .fmt_a = \"uint8\", .fmt_b = \"uint8\",\n"
    "  .fmt_r = \"uint16\", .nparams = 2,\n"
    "  .params = {{\"hbl\", 0, 0, 8, \"rows dropped\"}, {\"vbl\", 0, 0, 16, \"columns dropped\"}},\n"
    "  .eval = eval, .version = 1 };\n";

Test(cli_gen, wrapped_swapped_model_equals_builtin_through_cli)
{
    char src[512], tu[512], tb[512], cmd[4096];
    snprintf(src, sizeof src, "%s", tmp_path("bam8u.c"));
    write_text(src, k_wrapped_src);
    const char *levels[][2] = {{"2", "5"}, {"0", "6"}, {"3", "0"}};
    for (int l = 0; l < 3; l++) {
        snprintf(tu, sizeof tu, "%s", tmp_path("w_user.h5"));
        snprintf(tb, sizeof tb, "%s", tmp_path("w_builtin.h5"));
        snprintf(cmd, sizeof cmd,
                 "%s gen %s --param hbl=%s --param vbl=%s -o %s --force >/dev/null && "
                 "%s gen bam --format uint8 --param hbl=%s --param vbl=%s -o %s --force >/dev/null",
                 axlut_bin(), src, levels[l][0], levels[l][1], tu, axlut_bin(), levels[l][0],
                 levels[l][1], tb);
        cr_assert_eq(run_sh(cmd), 0, "%s", cmd);
        struct axl_table *u = load_table(tu), *b = load_table(tb);
        int bad = 0, swapped_differs = 0;
        for (uint32_t x = 0; x < 256; x++)
            for (uint32_t y = 0; y < 256; y++) {
                uint32_t eu = axl_table_entry(u, x, y), eb = axl_table_entry(b, x, y);
                if (eu != eb && bad++ < 10)
                    cr_log_error("hbl=%s vbl=%s a=0x%02x b=0x%02x: user 0x%04x, built-in 0x%04x",
                                 levels[l][0], levels[l][1], x, y, eu, eb);
                swapped_differs += axl_table_entry(b, y, x) != eb;
            }
        cr_expect_eq(bad, 0, "hbl=%s vbl=%s: %d entries differ", levels[l][0], levels[l][1], bad);
        const struct axl_metrics *mu = &axl_table_info(u)->metrics, *mb = &axl_table_info(b)->metrics;
        cr_expect(mu->mae == mb->mae && mu->errors == mb->errors && mu->wre == mb->wre);
        /* with a horizontal break the unit is not commutative: the check can fail */
        if (levels[l][0][0] != '0')
            cr_expect_gt(swapped_differs, 0);
        axl_table_free(u);
        axl_table_free(b);
    }
}

/* --- signed tables, entry by entry ------------------------------------------- */

/* DRUM on magnitudes, written independently of tables/designs/drum.h:
 * keep k bits from the leading one, set the lowest kept bit. */
static uint64_t drum_model(uint64_t x, uint64_t y, int k)
{
    uint64_t v[2] = {x, y};
    int sh[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        int t = -1;
        for (int bit = 0; bit < 64; bit++)
            if ((v[i] >> bit) & 1u)
                t = bit;
        if (t >= k) {
            sh[i] = t - k + 1;
            v[i] = (v[i] >> sh[i]) | 1u;
        }
    }
    return (v[0] * v[1]) << (sh[0] + sh[1]);
}

Test(cli_gen, signed_int8_tables_every_quadrant_and_most_negative)
{
    const char *designs[] = {"mul_exact", "drum"};
    for (int n = 0; n < 2; n++) {
        char p[512], cmd[2048];
        snprintf(p, sizeof p, "%s", tmp_path("signed.h5"));
        snprintf(cmd, sizeof cmd, "%s gen %s --format int8 -o %s --force >/dev/null", axlut_bin(),
                 designs[n], p);
        cr_assert_eq(run_sh(cmd), 0, "%s", cmd);
        struct axl_table *t = load_table(p);
        const struct axl_table_info *in = axl_table_info(t);
        cr_assert_str_eq(in->tr.name, "int16");
        const int k = 6; /* drum's default */
        /* mismatches by region: nn, np, pn, pp, rows/cols of -128 */
        int bad[5] = {0, 0, 0, 0, 0}, seen[5] = {0, 0, 0, 0, 0};
        for (int x = -128; x < 128; x++)
            for (int y = -128; y < 128; y++) {
                int64_t mag = n == 0 ? (int64_t)abs(x) * abs(y)
                                     : (int64_t)drum_model((uint64_t)abs(x), (uint64_t)abs(y), k);
                int64_t want = (x < 0) != (y < 0) ? -mag : mag;
                int got = (int16_t)(uint16_t)axl_table_entry(t, (uint32_t)x & 0xFF, (uint32_t)y & 0xFF);
                int r = x == -128 || y == -128 ? 4 : x < 0 ? (y < 0 ? 0 : 1) : (y < 0 ? 2 : 3);
                seen[r]++;
                if (got != want && bad[r]++ < 5)
                    cr_log_error("%s %d x %d: table %d, model %lld", designs[n], x, y, got,
                                 (long long)want);
            }
        static const char *names[] = {"negative x negative", "negative x positive",
                                      "positive x negative", "positive x positive",
                                      "most negative code"};
        for (int r = 0; r < 5; r++)
            cr_expect_eq(bad[r], 0, "%s: %d of %d wrong in %s", designs[n], bad[r], seen[r],
                         names[r]);
        /* the corners by hand */
        cr_expect_eq(axl_table_entry(t, 0x80, 0x80), n == 0 ? 0x4000u : (uint32_t)drum_model(128, 128, k));
        cr_expect_eq((int16_t)axl_table_entry(t, 0x80, 0x7F),
                     n == 0 ? -128 * 127 : -(int)drum_model(128, 127, k));
        cr_expect_eq((int16_t)axl_table_entry(t, 0xFF, 0xFF), 1);
        if (n == 0)
            cr_expect_eq(in->metrics.errors, 0);
        axl_table_free(t);
    }
}

/* --- mantissa tables of built-ins through the CLI ---------------------------- */

Test(cli_gen, cli_mantissa_table_of_fpmul_drum)
{
    char p[512], cmd[4096];
    snprintf(p, sizeof p, "%s", tmp_path("fpdrum.h5"));
    snprintf(cmd, sizeof cmd, "%s gen fpmul_drum --format bf16 --param k=5 -o %s >/dev/null",
             axlut_bin(), p);
    cr_assert_eq(run_sh(cmd), 0, "%s", cmd);
    snprintf(cmd, sizeof cmd,
             "%s info %s --json | /usr/bin/python3 -c \"import json, sys\n"
             "d = json.load(sys.stdin)\n"
             "assert d['path'] == 'mantissa', d['path']\n"
             "assert d['core_design'] == 'drum' and d['parameters'] == 'k=5'\n"
             "assert d['a_format']['name'] == 'bf16' and d['table_a_format']['name'] == 'uint8'\n"
             "assert d['table_result_format']['name'] == 'uint16' and d['rows'] == 256\"",
             axlut_bin(), p);
    cr_assert_eq(run_sh(cmd), 0, "%s", cmd);
    snprintf(cmd, sizeof cmd, "%s info %s | grep -q '^table       mantissa: core drum'",
             axlut_bin(), p);
    cr_assert_eq(run_sh(cmd), 0, "info does not show the mantissa path");
    struct axl_table *t = load_table(p);
    int bad = 0;
    for (uint32_t a = 0; a < 256; a++)
        for (uint32_t b = 0; b < 256; b++)
            if (axl_table_entry(t, a, b) != drum_model(a, b, 5) && bad++ < 10)
                cr_log_error("significands 0x%02x x 0x%02x: 0x%04x, drum 0x%04x", a, b,
                             axl_table_entry(t, a, b), (unsigned)drum_model(a, b, 5));
    cr_expect_eq(bad, 0);
    axl_table_free(t);

    /* fp32's 23 mantissa bits are past the 11 of a mantissa table */
    snprintf(cmd, sizeof cmd, "%s gen fpmul_mitchell --format fp32 -o %s.fp32 2>%s.err",
             axlut_bin(), p, p);
    cr_expect_eq(run_sh(cmd), 2);
    snprintf(cmd, sizeof cmd,
             "test $(wc -l < %s.err) -eq 1 && grep -q 'm=23 > 11' %s.err && "
             "grep -q 'emulator will call the design' %s.err && ! test -e %s.fp32",
             p, p, p, p);
    cr_expect_eq(run_sh(cmd), 0, "fp32 refusal");
}

/* --- bad inputs through the CLI: message, exit status, no output ------------- */

Test(cli_gen, cli_bad_inputs_message_status_no_output)
{
    const char *srcdir = getenv("AXL_SOURCE_DIR");
    char ex[1024], out[512], err[512], junk[512], abi[512], cmd[8192];
    snprintf(ex, sizeof ex, "%s/tables/examples/my_lomul.c", srcdir ? srcdir : ".");
    snprintf(out, sizeof out, "%s", tmp_path("bad_out.h5"));
    snprintf(err, sizeof err, "%s", tmp_path("bad_err.txt"));
    snprintf(junk, sizeof junk, "%s", tmp_path("junk2.h5"));
    write_text(junk, "junk");
    snprintf(abi, sizeof abi, "%s", tmp_path("abi2.c"));
    write_text(abi, "#include <axlut/design.h>\n"
                    "static uint32_t ev(const struct axl_design_ctx *c, uint32_t a, uint32_t b)\n"
                    "{ (void)c; return a * b; }\n"
                    "const struct axl_design axl_user_design = { .abi = 99, .name = \"u\",\n"
                    "  .op = AXL_OP_MUL, .operands = AXL_OPERANDS_UINT, .eval = ev };\n");
    /* @EX@: the example design, @OUT@: the output, @JUNK@: a file that is not a
     * table, @ABI@: a design of another ABI */
    const struct {
        const char *args, *words;
        int rc;
    } cases[] = {
        {"gen no_such_design --format uint8 -o @OUT@", "unknown design 'no_such_design'", 2},
        {"gen loa -o @OUT@", "needs --format", 2},
        {"gen loa --format uint8", "no output given", 2},
        {"gen loa --format uint13 -o @OUT@", "too wide for a table", 2},
        {"gen loa --format e9m9 -o @OUT@", "e9m9", 2},
        {"gen @EX@ --format e4m3 -o @OUT@", "e4m3", 2},
        {"gen @EX@ --param zz=1 -o @OUT@", "zz", 2},
        {"gen @EX@ --param k=99 -o @OUT@", "99", 2},
        {"gen @EX@ --param k -o @OUT@", "expected NAME=VALUE", 2},
        {"gen @EX@ --round sideways -o @OUT@", "sideways", 2},
        {"gen @EX@ --threads 0 -o @OUT@", "--threads", 2},
        {"gen @EX@ --timeout -1 -o @OUT@", "--timeout", 2},
        {"gen @EX@ --frobnicate -o @OUT@", "unknown option '--frobnicate'", 2},
        {"gen @EX@ extra -o @OUT@", "unexpected argument 'extra'", 2},
        {"gen @ABI@ -o @OUT@", "expects ABI 1", 2},
        {"gen /nonexistent/x.c --format uint8 -o @OUT@", "cannot read", 2},
        {"gen loa --format uint8 -o /nonexistent/dir/t.h5", "/nonexistent/dir", 1},
        {"info @JUNK@", "@JUNK@", 2},
        {"info /nonexistent.h5", "/nonexistent.h5", 2},
        {"info", "no table given", 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* substitute the placeholders */
        char args[2048] = "", words[512] = "";
        const char *from[] = {"@EX@", "@OUT@", "@JUNK@", "@ABI@"}, *to[] = {ex, out, junk, abi};
        for (int pass = 0; pass < 2; pass++) {
            const char *s = pass ? cases[i].words : cases[i].args;
            char *d = pass ? words : args;
            size_t cap = pass ? sizeof words : sizeof args, n = 0;
            while (*s && n + 1 < cap) {
                int hit = 0;
                for (int k = 0; k < 4 && !hit; k++)
                    if (!strncmp(s, from[k], strlen(from[k]))) {
                        n += (size_t)snprintf(d + n, cap - n, "%s", to[k]);
                        s += strlen(from[k]);
                        hit = 1;
                    }
                if (!hit)
                    d[n++] = *s++;
            }
            d[n] = '\0';
        }
        snprintf(cmd, sizeof cmd, "%s %s >/dev/null 2>%s", axlut_bin(), args, err);
        cr_expect_eq(run_sh(cmd), cases[i].rc, "axlut %s: exit status", args);
        cr_expect_neq(access(out, F_OK), 0, "axlut %s left an output", args);
        char wf[512];
        snprintf(wf, sizeof wf, "%s", tmp_path("bad_words.txt"));
        write_text(wf, words);
        snprintf(cmd, sizeof cmd, "grep -qF -f %s %s", wf, err);
        cr_expect_eq(run_sh(cmd), 0, "axlut %s: message lacks '%s'", args, words);
        snprintf(cmd, sizeof cmd, "test $(wc -l < %s) -eq 1", err);
        cr_expect_eq(run_sh(cmd), 0, "axlut %s: not one line of error", args);
    }
    /* a file that exists is kept without --force */
    write_text(out, "keep me");
    snprintf(cmd, sizeof cmd, "%s gen loa --format uint8 -o %s 2>%s", axlut_bin(), out, err);
    cr_expect_eq(run_sh(cmd), 2);
    snprintf(cmd, sizeof cmd, "grep -q 'keep me' %s && grep -q -- '--force' %s", out, err);
    cr_expect_eq(run_sh(cmd), 0);
    unlink(out);
}

/* --- tools/plot_table.py ----------------------------------------------------- */

Test(cli_gen, plot_script_draws_a_png, .timeout = 120)
{
    const char *srcdir = getenv("AXL_SOURCE_DIR");
    const char *designs[] = {"drum --format int8", "fpmul_mitchell --format e4m3",
                             "fpmul_drum --format bf16"};
    for (int i = 0; i < 3; i++) {
        char t[512], png[512], cmd[4096];
        snprintf(t, sizeof t, "%s", tmp_path("plot.h5"));
        snprintf(png, sizeof png, "%s", tmp_path("plot.png"));
        unlink(png);
        snprintf(cmd, sizeof cmd, "%s gen %s -o %s --force >/dev/null", axlut_bin(), designs[i], t);
        cr_assert_eq(run_sh(cmd), 0, "%s", cmd);
        /* --check: the script's own decoding of the codes and its exact
         * results reproduce the file's MAE and error count */
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tools/plot_table.py %s -o %s --check",
                 srcdir ? srcdir : ".", t, png);
        cr_assert_eq(run_sh(cmd), 0, "%s", cmd);
        FILE *f = fopen(png, "rb");
        cr_assert_not_null(f, "%s: no PNG", designs[i]);
        unsigned char sig[8] = {0};
        size_t n = fread(sig, 1, 8, f);
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        fclose(f);
        static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
        cr_expect(n == 8 && !memcmp(sig, png_sig, 8), "%s: not a PNG", designs[i]);
        cr_expect_gt(size, 30 * 1024, "%s: PNG of %ld bytes", designs[i], size);
    }
}

/* The summary shows a rounding mode only where results are rounded:
 * floating results, not the exact integers of an integer design. */
Test(cli_gen, rounding_shown_for_floating_results_only)
{
    static const struct {
        const char *args, *want;
        int has_round;
    } cases[] = {
        {"gen drum --param k=4 --format int8", "-> int16\n", 0},
        {"gen fpmul_drum --param k=4 --format e4m3", "-> e4m3fn, round nearest\n", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char cmd[1024], line[256] = "";
        const char *txt = tmp_path("summary.txt");
        snprintf(cmd, sizeof cmd, "%s %s -o %s --force | grep '^operation' > %s", axlut_bin(),
                 cases[i].args, tmp_path("round.h5"), txt);
        cr_assert_eq(run_sh(cmd), 0, "%s", cmd);
        FILE *f = fopen(txt, "r");
        cr_assert(f && fgets(line, sizeof line, f), "no summary from %s", cmd);
        fclose(f);
        cr_expect(strstr(line, cases[i].want), "%s: %s", cases[i].args, line);
        cr_expect_eq(strstr(line, "round") != NULL, cases[i].has_round, "%s: %s", cases[i].args,
                     line);
    }
}
