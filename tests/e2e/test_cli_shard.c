/* Sharded sweeps end to end: three shards merged give the rows of one
 * process (apart from the seconds column), a killed shard resumes, and
 * shards of different sweeps, missing or unfinished shards are refused
 * with one line and exit 2, writing nothing. */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <string.h>
#include <unistd.h>

#include "e2e.h"

static void setup(void)
{
    e2e_setup("/tmp/axl_shard_XXXXXX");
    setenv("AXL_CACHE_DIR", g_dir, 1);
}

TestSuite(cli_shard, .init = setup, .fini = e2e_teardown);

/* 8 points: 2 formats x 2 designs x 2 accumulators. */
static const char k_sweep[] = "--formats e4m3,e3m2 --designs mul_exact,fpmul_mitchell "
                              "--acc-formats fp32,fp16 --limit 48 --quiet";

/* The file without the last column of each line (seconds) and without a
 * shard's first line; malloc'd. */
static char *rows_of(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert(f, "%s", path);
    size_t cap = 1 << 16, k = 0;
    char *buf = malloc(cap), line[2048];
    cr_assert(buf);
    buf[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        char *c = strrchr(line, ',');
        if (c)
            *c = '\0';
        k += (size_t)snprintf(buf + k, cap - k, "%s\n", line);
        cr_assert(k < cap);
    }
    fclose(f);
    return buf;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static int sweep(const char *extra, const char *out, char *err, size_t cap)
{
    return e2e_sh("out.txt", err, cap, "%s sweep '%s' --data '%s' %s %s -o %s/%s", g_axlut,
                  g_lenet, g_lenet_data, k_sweep, extra, g_dir, out);
}

Test(cli_shard, three_shards_merge_into_the_single_run_and_resume, .timeout = 600)
{
    char err[4096], out[1200];
    cr_assert_eq(sweep("", "single", err, sizeof err), 0, "%s", err);
    cr_assert_eq(e2e_sh(NULL, NULL, 0, "mkdir %s/shards", g_dir), 0);
    for (int k = 1; k <= 3; k++) {
        char opt[32], name[32];
        snprintf(opt, sizeof opt, "--shard %d/3", k);
        snprintf(name, sizeof name, "shards/s%d", k);
        cr_assert_eq(sweep(opt, name, err, sizeof err), 0, "shard %d: %s", k, err);
    }
    char *single = rows_of(strcat(strcpy(out, g_dir), "/single.csv"));
    cr_assert_eq(count_lines(single), 9, "%s", single);
    /* 8 points over 3 shards: 3, 3 and 2 rows, the same list on every shard */
    size_t want[3] = {3, 3, 2};
    for (int k = 1; k <= 3; k++) {
        snprintf(out, sizeof out, "%s/shards/s%d.csv", g_dir, k);
        char *r = rows_of(out);
        cr_expect_eq(count_lines(r), want[k - 1] + 1, "shard %d:\n%s", k, r);
        free(r);
    }
    /* shard 2 killed after its first point, half way through a line */
    cr_assert_eq(e2e_sh(NULL, NULL, 0,
                        "cd %s/shards && head -n 3 s2.csv > cut && printf 'lenet,mul' >> cut && "
                        "mv cut s2.csv", g_dir), 0);
    cr_assert_eq(e2e_sh(NULL, err, sizeof err, "%s sweep --merge %s/early %s/shards", g_axlut,
                        g_dir, g_dir), 2, "an unfinished shard was merged");
    cr_expect(strstr(err, "has 1 of its 3 points"), "%s", err);
    cr_assert_eq(e2e_sh("resumed.txt", err, sizeof err, "%s sweep '%s' --data '%s' %s --shard 2/3 "
                        "-o %s/shards/s2", g_axlut, g_lenet, g_lenet_data,
                        "--formats e4m3,e3m2 --designs mul_exact,fpmul_mitchell "
                        "--acc-formats fp32,fp16 --limit 48", g_dir), 0, "%s", err);
    cr_assert_eq(e2e_sh(NULL, NULL, 0, "grep -q '3 points (1 from an earlier run)' %s/resumed.txt",
                        g_dir), 0, "the resumed shard did not keep its finished point");
    /* merged by directory and by files: exactly the single run's rows */
    cr_assert_eq(e2e_sh(NULL, err, sizeof err, "%s sweep --merge %s/merged %s/shards", g_axlut,
                        g_dir, g_dir), 0, "%s", err);
    char *merged = rows_of(strcat(strcpy(out, g_dir), "/merged.csv"));
    cr_expect_str_eq(merged, single);
    free(merged);
    cr_assert_eq(e2e_sh(NULL, err, sizeof err,
                        "%s sweep --merge %s/m2 %s/shards/s3.csv %s/shards/s1 %s/shards/s2.csv",
                        g_axlut, g_dir, g_dir, g_dir, g_dir), 0, "%s", err);
    merged = rows_of(strcat(strcpy(out, g_dir), "/m2.csv"));
    cr_expect_str_eq(merged, single);
    free(merged);
    free(single);
    cr_assert_eq(e2e_sh(NULL, err, sizeof err,
                        "/usr/bin/python3 -c \"import json,sys; a=json.load(open(sys.argv[1])); "
                        "b=json.load(open(sys.argv[2])); [x.pop('seconds') for x in a+b]; "
                        "assert a == b and len(a) == 8\" %s/merged.json %s/single.json",
                        g_dir, g_dir), 0, "JSON differs: %s", err);
}

Test(cli_shard, shards_of_different_sweeps_are_refused, .timeout = 600)
{
    char err[4096];
    cr_assert_eq(sweep("--shard 1/2", "a1", err, sizeof err), 0, "%s", err);
    cr_assert_eq(e2e_sh("out.txt", err, sizeof err,
                        "%s sweep '%s' --data '%s' --formats e4m3 --designs mul_exact --limit 48 "
                        "--quiet --shard 2/2 -o %s/b2", g_axlut, g_lenet, g_lenet_data, g_dir), 0,
                 "%s", err);
    cr_assert_eq(e2e_sh(NULL, err, sizeof err, "%s sweep --merge %s/m %s/a1 %s/b2", g_axlut, g_dir,
                        g_dir, g_dir), 2);
    cr_expect(strstr(err, "shards of different sweeps"), "%s", err);
    cr_expect_eq(count_lines(err), 1, "%s", err);
    cr_expect_neq(access(strcat(strcpy(err, g_dir), "/m.csv"), F_OK), 0, "a refused merge wrote");
    /* a shard missing, a shard given twice */
    cr_assert_eq(e2e_sh(NULL, err, sizeof err, "%s sweep --merge %s/m %s/a1", g_axlut, g_dir,
                        g_dir), 2);
    cr_expect(strstr(err, "shard 2/2 of the sweep") && strstr(err, "missing"), "%s", err);
    cr_assert_eq(e2e_sh(NULL, err, sizeof err, "%s sweep --merge %s/m %s/a1 %s/a1.csv", g_axlut,
                        g_dir, g_dir, g_dir), 2);
    cr_expect(strstr(err, "are both shard 1/2"), "%s", err);
    /* resuming into another shard's file, a single run into a shard's file */
    cr_assert_eq(sweep("--shard 2/2", "a1", err, sizeof err), 2);
    cr_expect(strstr(err, "holds another shard or another sweep"), "%s", err);
    cr_assert_eq(sweep("", "a1", err, sizeof err), 2);
    cr_expect(strstr(err, "holds one shard of a sweep"), "%s", err);
    cr_assert_eq(sweep("--shard 3/2", "x", err, sizeof err), 2);
    cr_expect(strstr(err, "--shard '3/2'"), "%s", err);
    /* a plain sweep's file is not a shard */
    cr_assert_eq(e2e_sh(NULL, err, sizeof err, "printf '%%s\\n' '%s' > %s/plain.csv && "
                        "%s sweep --merge %s/m %s/plain.csv", "model,design", g_dir, g_axlut,
                        g_dir, g_dir), 2);
    cr_expect(strstr(err, "is not a shard of a sweep"), "%s", err);
}

/* The Slurm route: tools/slurm/submit_sweep.sh with a stand-in sbatch that
 * runs each array task (SLURM_ARRAY_TASK_ID/COUNT set as Slurm sets them),
 * then the dependent merge; the result is the single run's. */
Test(cli_shard, slurm_template_gives_the_single_run, .timeout = 600)
{
    char err[4096], path[1200];
    cr_assert_eq(sweep("", "single", err, sizeof err), 0, "%s", err);
    cr_assert_eq(e2e_sh(NULL, err, sizeof err,
                        "mkdir -p %s/bin && cat > %s/bin/sbatch <<'SH'\n"
                        "#!/bin/bash\n"
                        "# stand-in: --parsable [--array=1-N | --dependency=...] SCRIPT\n"
                        "arr= dep=\n"
                        "for a; do case $a in --array=*) arr=${a#--array=};; "
                        "--dependency=*) dep=1;; --*) ;; *) s=$a;; esac; done\n"
                        "if [ -n \"$arr\" ]; then n=${arr#1-}; for i in $(seq 1 $n); do "
                        "SLURM_ARRAY_TASK_ID=$i SLURM_ARRAY_TASK_COUNT=$n bash \"$s\" >&2 || exit 1; "
                        "done; echo 41; else [ -n \"$dep\" ] && bash \"$s\" >&2; echo 42; fi\n"
                        "SH\n"
                        "chmod +x %s/bin/sbatch", g_dir, g_dir, g_dir), 0, "%s", err);
    cr_assert_eq(e2e_sh(NULL, err, sizeof err,
                        "cd %s && PATH=%s/bin:$PATH AXLUT=%s %s/tools/slurm/submit_sweep.sh 3 "
                        "viaslurm '%s' --data '%s' %s", g_dir, g_dir, g_axlut, g_src, g_lenet,
                        g_lenet_data, k_sweep), 0, "%s", err);
    char *single = rows_of(strcat(strcpy(path, g_dir), "/single.csv"));
    char *merged = rows_of(strcat(strcpy(path, g_dir), "/viaslurm.csv"));
    cr_expect_eq(count_lines(merged), 9, "%s", merged);
    cr_expect_str_eq(merged, single);
    cr_expect_eq(e2e_sh(NULL, NULL, 0, "test -s %s/shards/sweep_3.csv", g_dir), 0);
    free(single);
    free(merged);
}
