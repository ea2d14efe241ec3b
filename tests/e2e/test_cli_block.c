/* Block-scaled formats and scaling through the command line: `list
 * formats` shows them, `quantize` prints whole blocks (padding included),
 * --raw writes scale and element codes and --raw --decode reads them back,
 * --scale prints the scale it chose, and bad input exits 2 with one line. */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"

static void setup(void) { e2e_setup("/tmp/axl_block_XXXXXX"); }

TestSuite(cli_block, .init = setup, .fini = e2e_teardown, .timeout = 120);

#define sh(err, cap, ...) e2e_sh("out.txt", err, cap, __VA_ARGS__)

static int lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* The whole of g_dir/out.txt (static buffer). */
static const char *out(void)
{
    static char buf[1 << 16];
    char path[128];
    snprintf(path, sizeof path, "%s/out.txt", g_dir);
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    return buf;
}

static int count(const char *s, const char *word)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, word)); p += strlen(word))
        n++;
    return n;
}

Test(cli_block, list_formats_shows_them)
{
    char err[1024];
    int rc = sh(err, sizeof err, "'%s' list formats", g_axlut);
    cr_assert_eq(rc, 0, "%s", err);
    const char *o = out();
    const char *names[] = {"mxfp8 ", "mxfp8e5m2", "mxfp6e3m2", "mxfp6e2m3", "mxfp4", "mxint8",
                           "nvfp4"};
    for (int i = 0; i < 7; i++)
        cr_expect(strstr(o, names[i]), "no %s in:\n%s", names[i], o);
    cr_expect(strstr(o, "nvfp4         16 e2m1     E4M3"), "%s", o);
}

Test(cli_block, quantize_prints_whole_blocks)
{
    char err[1024];
    /* 40 values: two blocks of 32, the second padded with 24 zeros; block
     * 0's amax 31 gives 2^(4 - 2) = 4 = E8M0 0x81, block 1's 39 gives
     * 2^(5 - 2) = 8 = 0x82 */
    char args[1024] = "";
    for (int i = 0; i < 40; i++)
        snprintf(args + strlen(args), sizeof args - strlen(args), " %d", i);
    int rc = sh(err, sizeof err, "'%s' quantize mxfp4 %s", g_axlut, args);
    cr_assert_eq(rc, 0, "%s", err);
    const char *o = out();
    cr_expect(strstr(o, "40 values in 2 blocks of 32 x e2m1"), "%s", o);
    cr_expect(strstr(o, "block 0: scale 0x81 = 4"), "%s", o);
    cr_expect(strstr(o, "block 1: scale 0x82 = 8"), "%s", o);
    cr_expect_eq(count(o, "(pad)"), 24, "%s", o);
}

Test(cli_block, raw_round_trip)
{
    char err[1024];
    /* 1.0f and 6.0f: amax 6 -> scale 2^(2-2) = 1, E8M0 0x7f; e2m1 codes 2 and 7 */
    int rc = sh(err, sizeof err,
                "printf '\\000\\000\\200\\077\\000\\000\\300\\100' | '%s' quantize mxfp4 --raw "
                "> '%s/q.bin' && od -An -tx4 -v '%s/q.bin' | tr -s ' \\n' ' '",
                g_axlut, g_dir, g_dir);
    cr_assert_eq(rc, 0, "%s", err);
    char want[1024] = " 0000007f 00000002 00000007";
    for (int i = 0; i < 30; i++)
        strcat(want, " 00000000");
    strcat(want, " ");
    cr_expect_str_eq(out(), want);
    rc = sh(err, sizeof err, "'%s' quantize mxfp4 --raw --decode < '%s/q.bin' | od -An -tf4 -v "
                             "| tr -s ' \\n' ' '", g_axlut, g_dir);
    cr_assert_eq(rc, 0, "%s", err);
    cr_expect(!strncmp(out(), " 1 6 0 0 ", 9), "%s", out());
    cr_expect_eq(count(out(), " "), 33, "%s", out());
    /* nvfp4: the tensor scale first (6 * 448 / 6 = 448.0f = 0x43e00000) */
    rc = sh(err, sizeof err,
            "printf '\\000\\000\\200\\077\\000\\000\\300\\100' | '%s' quantize nvfp4 --raw | "
            "od -An -tx4 -v | tr -s ' \\n' ' '", g_axlut);
    cr_assert_eq(rc, 0, "%s", err);
    cr_expect(!strncmp(out(), " 43e00000 ", 10), "%s", out());
}

Test(cli_block, scale_option)
{
    char err[1024];
    int rc = sh(err, sizeof err, "'%s' quantize e4m3 --scale amax-pow2 0.001 -0.0003", g_axlut);
    cr_assert_eq(rc, 0, "%s", err);
    /* 448 / 0.001 = 448000 -> 2^18 = 262144 */
    cr_expect(strstr(out(), "scale s = 262144"), "%s", out());
    cr_expect(strstr(out(), "0x78"), "0.001 * 2^18 = 262.1 -> 256 = e4m3 0x78: %s", out());
}

Test(cli_block, bad_input_exits_2_with_one_line)
{
    static const char *const cmds[][2] = {
        {"quantize int8 --scale amax 1", "integer"},
        {"quantize mxint8 --scale amax 1", "block scales"},
        {"quantize mxfp8 --decode 1", "--raw"},
        {"quantize e4m3 --scale amax --raw", "--scale"},
        {"quantize e4m3 --scale half 1", "amax-pow2"},
        {"quantize mxfp9 1", "mxfp9"},
    };
    char err[1024];
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        int rc = sh(err, sizeof err, "'%s' %s </dev/null", g_axlut, cmds[i][0]);
        cr_expect_eq(rc, 2, "%s: exit %d", cmds[i][0], rc);
        cr_expect(lines(err) == 1 && strstr(err, cmds[i][1]), "%s: %s", cmds[i][0], err);
    }
    /* raw decode of a stream that is not whole blocks, and a partial value */
    int rc = sh(err, sizeof err, "printf '\\177\\000\\000\\000' | '%s' quantize mxfp4 --raw "
                                 "--decode", g_axlut);
    cr_expect_eq(rc, 2, "exit %d", rc);
    cr_expect(lines(err) == 1 && strstr(err, "blocks"), "%s", err);
    rc = sh(err, sizeof err, "printf '\\000\\000\\200' | '%s' quantize mxfp4 --raw", g_axlut);
    cr_expect_eq(rc, 2, "exit %d", rc);
    cr_expect(lines(err) == 1 && strstr(err, "partial"), "%s", err);
}
