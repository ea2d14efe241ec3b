/* axlut bench end to end: `axlut bench --case tiny --json` writes a list of
 * cases with the keys and sane numbers the issue asks for. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The value after "key": in a JSON text, as a number; NAN for null; the
 * occurrence `nth` (0-based) of the key; -INFINITY when missing. */
static double json_value(const char *text, const char *key, int nth)
{
    char pat[96];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = text;
    for (int i = 0; i <= nth; i++) {
        p = strstr(p, pat);
        if (!p)
            return -INFINITY;
        p += strlen(pat);
    }
    while (*p == ' ')
        p++;
    if (!strncmp(p, "null", 4))
        return NAN;
    char *end;
    double v = strtod(p, &end);
    return end == p ? -INFINITY : v;
}

static int count(const char *text, const char *s)
{
    int n = 0;
    for (const char *p = strstr(text, s); p; p = strstr(p + 1, s))
        n++;
    return n;
}

Test(cli_bench, cli_writes_json, .timeout = 300)
{
    const char *bdir = getenv("AXL_BUILD_DIR");
    cr_assert(bdir, "AXL_BUILD_DIR is not set (run through ctest)");
    char json[256], cmd[1024];
    snprintf(json, sizeof json, "/tmp/axl-test-bench-%ld.json", (long)getpid());
    snprintf(cmd, sizeof cmd, "'%s/axlut' bench --case tiny --reps 1 --json '%s' > /dev/null",
             bdir, json);
    cr_assert_eq(system(cmd), 0, "%s failed", cmd);
    FILE *f = fopen(json, "r");
    cr_assert(f, "%s was not written", json);
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    remove(json);
    text[n] = 0;
    cr_assert(n > 0 && n < sizeof text - 1);
    cr_assert_eq(text[0], '[', "a JSON list");
    /* tiny_conv and tiny_gemm, each for the eighteen configs (five, the
     * four small tables of emu/mac/cpu/small.c, three of block-scaled layers
     * and the unscaled e4m3 table they are compared with, the mantissa
     * path's slow case, the integer function path, LOA into int16 and
     * int32 accumulators of integer layers, exact fp16 products and exact
     * adds into bf16) */
    int cases = count(text, "\"name\":");
    cr_assert_eq(cases, 36, "%d cases", cases);
    cr_assert(strstr(text, "\"tiny_conv/fp16_exact\""));
    cr_assert(strstr(text, "\"tiny_gemm/e4m3_exact_bf16acc\""));
    cr_assert(strstr(text, "\"tiny_conv/int8_mitchell_loa16\""));
    cr_assert(strstr(text, "\"tiny_gemm/int8_mitchell_loa32\""));
    cr_assert(strstr(text, "\"tiny_conv/int4_mitchell\""));
    cr_assert(strstr(text, "\"tiny_gemm/e3m2_mitchell\""));
    cr_assert(strstr(text, "\"tiny_conv/mxfp4_exact\""));
    cr_assert(strstr(text, "\"tiny_gemm/mxfp8_exact\""));
    cr_assert(strstr(text, "\"tiny_gemm/bf16_mitchell_mant_loa16\""));
    cr_assert(strstr(text, "\"tiny_conv/fp32_mitchell_fn\""));
    cr_assert(strstr(text, "\"tiny_gemm/e4m3_drum4_loa16\""));
    cr_assert(strstr(text, "\"batch_isa\""));
    cr_assert(strstr(text, "\"tiny_conv/int8_mitchell\""));
    cr_assert(strstr(text, "\"tiny_gemm/bf16_mitchell_fn\""));
    cr_assert(strstr(text, "\"tiny_conv/int8_mitchell_fn\""));
    int have_blas = !strstr(text, "\"blas\": \"none\"");
    const char *keys[] = {"macs", "approx_macs_per_s", "naive_lut_macs_per_s",
                          "exact_blas_macs_per_s", "seconds", "threads"};
    for (int c = 0; c < cases; c++)
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            double v = json_value(text, keys[k], c);
            cr_assert(v != -INFINITY, "case %d: key %s missing", c, keys[k]);
            if (isnan(v) && !have_blas && !strcmp(keys[k], "exact_blas_macs_per_s"))
                continue;
            cr_expect(isfinite(v) && v > 0.0, "case %d: %s = %g", c, keys[k], v);
        }
    /* shapes: 2*5*5*4*3*3*3 MACs of the convolution, 17*9*33 of the GEMM */
    cr_expect_eq(json_value(text, "macs", 0), 5400.0);
    cr_expect_eq(json_value(text, "macs", 18), 17.0 * 9 * 33);
    /* every approximate result is near the exact one: the kernels ran.
     * Config 11 (bench/cases.c) is MXFP4: its blocks keep the fixture's small
     * weights, with the error of a 1-bit mantissa (the e2m1 configs are
     * scaled per tensor, bench_config_scaled).  Config 14 adds int8
     * products in an int16 register, which wraps on these sums: any finite
     * error */
    for (int c = 0; c < cases && have_blas; c++) {
        double e = json_value(text, "approx_rel_rms_err", c);
        double bound = c % 18 == 11 ? 0.35 : c % 18 == 14 ? INFINITY : 0.2;
        cr_expect(e >= 0.0 && e < bound, "case %d: relative error %g against float32", c, e);
    }
}

/* --network: both measurements print, as positive rates, and their ratio;
 * a model without its dataset is refused as bad usage. */
Test(cli_bench, network_prepared_against_per_call_weights, .timeout = 300)
{
    const char *bdir = getenv("AXL_BUILD_DIR"), *sdir = getenv("AXL_SOURCE_DIR");
    cr_assert(bdir && sdir, "AXL_BUILD_DIR / AXL_SOURCE_DIR are not set (run through ctest)");
    char out[256], cmd[2048];
    snprintf(out, sizeof out, "/tmp/axl-test-bench-net-%ld.txt", (long)getpid());
    snprintf(cmd, sizeof cmd,
             "'%s/axlut' bench --network '%s/tests/data/models/lenet.onnx' --data "
             "'%s/tests/data/models/lenet.h5' --limit 4 --batch 2 --reps 1 --mul fpmul_drum "
             "--param k=4 --format e4m3 > '%s'",
             bdir, sdir, sdir, out);
    cr_assert_eq(system(cmd), 0, "%s failed", cmd);
    FILE *f = fopen(out, "r");
    cr_assert(f);
    static char text[1 << 14];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    remove(out);
    text[n] = 0;
    double once = -1, every = -1, ratio = -1;
    const char *p = strstr(text, "prepared once per plan (default)");
    const char *q = strstr(text, "encoded on every call (baseline)");
    const char *r = strstr(text, "ratio ");
    cr_assert(p && q && r, "%s", text);
    sscanf(p + strlen("prepared once per plan (default)"), "%lf", &once);
    sscanf(q + strlen("encoded on every call (baseline)"), "%lf", &every);
    sscanf(r + strlen("ratio "), "%lf", &ratio);
    cr_expect(once > 0 && every > 0 && ratio > 0, "%s", text);
    /* the whole run with and without the exact reference, and the reference alone */
    static const char *const whole[] = {"with the exact reference (default)",
                                        "approximate pass alone (--no-reference)",
                                        "exact reference pass by itself"};
    for (size_t i = 0; i < 3; i++) {
        const char *w = strstr(text, whole[i]);
        double v = -1;
        cr_assert(w, "no '%s' in %s", whole[i], text);
        sscanf(w + strlen(whole[i]), "%lf", &v);
        cr_expect(v > 0, "%s: %g", whole[i], v);
    }
    snprintf(cmd, sizeof cmd, "'%s/axlut' bench --network '%s/tests/data/models/lenet.onnx' "
             "2> /dev/null", bdir, sdir);
    int rc = system(cmd);
    cr_expect(WIFEXITED(rc) && WEXITSTATUS(rc) == 2, "no --data: exit %d", rc);
}

/* The "core NAME" of `axlut bench`'s blas line, run with OPENBLAS_CORETYPE
 * as given (NULL: unset); 0 when the build has no OpenBLAS. */
static int blas_core(const char *coretype, char *core, size_t cap)
{
    const char *bdir = getenv("AXL_BUILD_DIR");
    cr_assert(bdir, "AXL_BUILD_DIR is not set (run through ctest)");
    char cmd[1024], line[1024];
    snprintf(cmd, sizeof cmd, "env %s%s '%s/axlut' bench --case tiny_gemm --reps 1 2>&1",
             coretype ? "OPENBLAS_CORETYPE=" : "-u OPENBLAS_CORETYPE",
             coretype ? coretype : "", bdir);
    FILE *p = popen(cmd, "r");
    cr_assert(p, "%s", cmd);
    int found = 0;
    while (fgets(line, sizeof line, p)) {
        const char *c = strstr(line, "blas: OpenBLAS");
        if (c && (c = strstr(c, ", core ")) && sscanf(c + 7, "%63s", core) == 1 && cap > 63)
            found = 1;
    }
    cr_assert_eq(pclose(p), 0, "%s failed", cmd);
    return found;
}

/* Debian 12's OpenBLAS falls back to SSE3 kernels on CPUs newer than it;
 * axlut then chooses the kernel set the CPU runs (tools/axlut.c), unless
 * the user chose one. */
Test(cli_bench, blas_core_matches_the_cpu_unless_chosen, .timeout = 300)
{
    char core[64] = "";
    if (!blas_core(NULL, core, sizeof core))
        cr_skip_test("built without OpenBLAS");
    int old = !strcmp(core, "Prescott") || !strcmp(core, "Core2") || !strcmp(core, "Nehalem") ||
              !strcmp(core, "Sandybridge");
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2"))
        cr_expect(!old, "OpenBLAS runs the %s kernels on a CPU with AVX2", core);
    cr_assert(blas_core("Prescott", core, sizeof core));
    cr_expect_str_eq(core, "Prescott", "the user's OPENBLAS_CORETYPE is kept");
}
