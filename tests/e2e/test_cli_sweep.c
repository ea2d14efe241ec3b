/* axlut sweep end to end: points equal to single `axlut run` calls, the
 * plots of the result, resuming after an interruption, bad lists refused
 * before any work. */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char g_dir[64], g_cmd[8192];

static int sh(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_cmd, sizeof g_cmd, fmt, ap);
    va_end(ap);
    int rc = system(g_cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* The CSV without its last column (seconds), for comparing runs. */
static char *strip_seconds(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert(f, "%s", path);
    static char buf[1 << 16];
    size_t k = 0;
    char line[2048];
    while (fgets(line, sizeof line, f)) {
        char *c = strrchr(line, ',');
        if (c)
            *c = '\0';
        k += (size_t)snprintf(buf + k, sizeof buf - k, "%s\n", line);
    }
    fclose(f);
    return buf;
}

Test(cli_sweep, points_equal_single_runs_and_resume, .timeout = 300)
{
    const char *b = getenv("AXL_BUILD_DIR"), *s = getenv("AXL_SOURCE_DIR");
    cr_assert(b && s);
    snprintf(g_dir, sizeof g_dir, "/tmp/axl_sweep_XXXXXX");
    cr_assert(mkdtemp(g_dir));
    char model[1024], data[1024];
    snprintf(model, sizeof model, "%s/tests/data/models/lenet.onnx", s);
    snprintf(data, sizeof data, "%s/tests/data/models/lenet.h5", s);
    setenv("AXL_CACHE_DIR", g_dir, 1);
    const char *args = "--formats e4m3,e3..4m2 --designs mul_exact,fpmul_mitchell "
                       "--acc-formats fp32,fp16 --quiet";
    cr_assert_eq(sh("%s/axlut sweep '%s' --data '%s' %s -o %s/full", b, model, data, args, g_dir),
                 0, "%s", g_cmd);
    /* each point as a single run: compare agreement and SNRs with the report */
    cr_assert_eq(sh("%s/axlut run '%s' --data '%s' --mul fpmul_mitchell --format e4m3 --add add_exact "
                    "--acc-format fp16 --quiet --report %s/one.json", b, model, data, g_dir), 0);
    cr_assert_eq(sh("/usr/bin/python3 - %s <<'PY'\n"
                    "import csv, json, sys, math\n"
                    "d = sys.argv[1]\n"
                    "rows = list(csv.DictReader(open(d + '/full.csv')))\n"
                    "assert len(rows) == 12, len(rows)\n"
                    "r = [x for x in rows if x['design'] == 'fpmul_mitchell' and x['format'] == 'e4m3fn'"
                    " and x['acc_format'] == 'fp16'][0]\n"
                    "j = json.load(open(d + '/one.json'))\n"
                    "worst = min(l['layer_error']['snr_db'] for l in j['layers'] if l['approximate'])\n"
                    "assert abs(float(r['agreement']) - j['agreement']) < 1e-6, (r, j['agreement'])\n"
                    "assert abs(float(r['worst_layer_snr_db']) - worst) < 1e-3, (r, worst)\n"
                    "assert abs(float(r['output_snr_db']) - j['output_error']['snr_db']) < 1e-3\n"
                    "js = json.load(open(d + '/full.json'))\n"
                    "assert len(js) == 12 and js[0]['format'] == 'e4m3fn'\n"
                    "PY", g_dir), 0, "sweep point differs from the single run");
    /* the plots of the result */
    cr_assert_eq(sh("/usr/bin/python3 %s/tools/plot_sweep.py %s/full.csv -o %s/plots >/dev/null && "
                    "test -s %s/plots/lenet_formats.png && test -s %s/plots/designs.png",
                    s, g_dir, g_dir, g_dir, g_dir), 0, "%s", g_cmd);
    /* an interrupted sweep: the first 5 points and half a line, then resume */
    cr_assert_eq(sh("head -n 6 %s/full.csv > %s/part.csv && printf 'models/x,mul' >> %s/part.csv",
                    g_dir, g_dir, g_dir), 0);
    cr_assert_eq(sh("%s/axlut sweep '%s' --data '%s' %s -o %s/part", b, model, data, args, g_dir),
                 0, "%s", g_cmd);
    char *full = strdup(strip_seconds(strcat(strcpy((char[256]){0}, g_dir), "/full.csv")));
    char *part = strip_seconds(strcat(strcpy((char[256]){0}, g_dir), "/part.csv"));
    cr_assert_str_eq(part, full, "resumed results differ");
    free(full);
    /* bad lists are refused before any work, exit 2 */
    cr_assert_eq(sh("%s/axlut sweep '%s' --data '%s' --formats e3..1m2 --designs mul_exact -o %s/bad "
                    "2>/dev/null", b, model, data, g_dir), 2);
    cr_assert_eq(sh("test ! -e %s/bad.csv", g_dir), 0);
    cr_assert_eq(sh("%s/axlut sweep '%s' --data '%s' --formats int8 --designs fpmul_drum -o %s/bad "
                    "2>/dev/null", b, model, data, g_dir), 2);
    sh("rm -rf '%s'", g_dir);
}
