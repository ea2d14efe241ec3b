/* Faults of the machine and of the command line (issue 14, class 6): a
 * file-size limit (as a full disk: ulimit -f, with SIGXFSZ ignored, makes
 * writes fail with EFBIG) gives one line and exit 1 from gen, run
 * --save-outputs and sweep, never a crash at exit inside HDF5, and leaves
 * no file; a sweep stops at the first result line it cannot write and
 * resumes later; temporaries of killed writers are removed by the next
 * writer; an output that is an input (another path, a hard link) is
 * refused before any work with exit 2, and the input is untouched. */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "e2e.h"

static void setup(void)
{
    e2e_setup("/tmp/axl_faults_XXXXXX");
    char cache[128];
    snprintf(cache, sizeof cache, "%s/cache", g_dir);
    setenv("AXL_CACHE_DIR", cache, 1);
}

TestSuite(cli_faults, .init = setup, .fini = e2e_teardown, .timeout = 300);

static int one_line(const char *s)
{
    const char *nl = strchr(s, '\n');
    return nl && nl[1] == '\0';
}

/* 0 when nothing in g_dir starts with name (the output or a temporary). */
static int leftovers(const char *name)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -q '^%s'", g_dir, name);
    return system(cmd) == 0;
}

Test(cli_faults, size_limit_is_one_line_not_a_crash)
{
    char err[2048];
    /* the uint8 table is 128 KiB; 8 KiB are allowed */
    int rc = e2e_sh(NULL, err, sizeof err, "ulimit -f 8; '%s' gen mul_exact --format uint8 -o "
                    "'%s/t.h5'", g_axlut, g_dir);
    cr_expect_eq(rc, 1, "gen: exit %d: %s", rc, err);
    cr_expect(one_line(err) && strstr(err, "t.h5: cannot write") && strstr(err, "File too large"),
              "gen: %s", err);
    cr_expect(!leftovers("t.h5"), "gen left its output or a temporary");

    rc = e2e_sh(NULL, err, sizeof err, "ulimit -f 1; '%s' run '%s' --data '%s' --quiet "
                "--save-outputs '%s/o.h5' --save-layers", g_axlut, g_lenet, g_lenet_data, g_dir);
    cr_expect_eq(rc, 1, "run: exit %d: %s", rc, err);
    cr_expect(one_line(err) && strstr(err, "o.h5: cannot") && strstr(err, "File too large"),
              "run: %s", err);
    cr_expect(!leftovers("o.h5"), "run left its output or a temporary");
}

Test(cli_faults, sweep_stops_at_a_result_it_cannot_write_and_resumes)
{
    char err[2048];
    /* 16 formats too wide for tables (no table cache written), lines of
     * about 100 bytes: the limit of 1 KiB is reached within the sweep */
    const char *sweep = "'%s' sweep '%s' --data '%s' --formats e5..8m7..10 --designs mul_exact "
                        "-o '%s/r' --quiet";
    char cmd[2048];
    snprintf(cmd, sizeof cmd, sweep, g_axlut, g_lenet, g_lenet_data, g_dir);
    int rc = e2e_sh(NULL, err, sizeof err, "ulimit -f 1; %s", cmd);
    cr_expect_eq(rc, 1, "exit %d: %s", rc, err);
    cr_expect(one_line(err) && strstr(err, "r.csv: cannot write the result of mul_exact") &&
                  strstr(err, "File too large") && strstr(err, "the sweep stopped"),
              "%s", err);
    char path[300];
    snprintf(path, sizeof path, "%s/r.json", g_dir);
    cr_expect_neq(access(path, F_OK), 0, "the JSON of a stopped sweep was written");
    /* again without the limit: it resumes, and every point is there once */
    rc = e2e_sh(NULL, err, sizeof err, "%s", cmd);
    cr_expect_eq(rc, 0, "resume: exit %d: %s", rc, err);
    rc = e2e_sh(NULL, err, sizeof err, "test $(grep -c mul_exact '%s/r.csv') -eq 16 && "
                "test $(sort '%s/r.csv' | uniq -d | wc -l) -eq 0", g_dir, g_dir);
    cr_expect_eq(rc, 0, "the resumed CSV does not hold each of the 16 points once");
}

Test(cli_faults, temporaries_of_killed_writers_are_removed)
{
    char err[1024];
    /* a process id that is gone: a shell that has exited */
    FILE *p = popen("sh -c 'echo $$'", "r");
    cr_assert(p);
    long dead = 0;
    cr_assert_eq(fscanf(p, "%ld", &dead), 1);
    pclose(p);
    int rc = e2e_sh(NULL, err, sizeof err,
                    "cd '%s' && touch -d '1 hour ago' t.h5.tmp%ld && touch t.h5.tmp%ld.x && "
                    "touch -d '1 hour ago' t.h5.tmp1 && touch -d '1 hour ago' u.h5.tmp%ld && "
                    "touch t2.h5.tmp%ld",
                    g_dir, dead, dead, dead, dead);
    cr_assert_eq(rc, 0);
    rc = e2e_sh(NULL, err, sizeof err, "'%s' gen mul_exact --format uint4 -o '%s/t.h5' >/dev/null",
                g_axlut, g_dir);
    cr_assert_eq(rc, 0, "%s", err);
    char path[300];
    /* the stale one of a dead writer is gone; a live process's (pid 1), a
     * name that is not PATH.tmpPID and another output's are kept */
    snprintf(path, sizeof path, "%s/t.h5.tmp%ld", g_dir, dead);
    cr_expect_neq(access(path, F_OK), 0, "stale %s kept", path);
    snprintf(path, sizeof path, "%s/t.h5.tmp1", g_dir);
    cr_expect_eq(access(path, F_OK), 0, "a live process's temporary was removed");
    snprintf(path, sizeof path, "%s/t.h5.tmp%ld.x", g_dir, dead);
    cr_expect_eq(access(path, F_OK), 0, "a file of another name was removed");
    snprintf(path, sizeof path, "%s/u.h5.tmp%ld", g_dir, dead);
    cr_expect_eq(access(path, F_OK), 0, "another output's temporary was removed");
}

/* Every command refuses an output that is one of its inputs, named
 * otherwise (./, a hard link); the inputs keep their bytes. */
Test(cli_faults, output_over_an_input_is_refused)
{
    char err[2048];
    int rc = e2e_sh(NULL, err, sizeof err,
                    "cd '%s' && cp '%s' m.onnx && cp '%s' d.h5 && ln d.h5 link.h5 && "
                    "ln -s d.h5 d.csv && md5sum m.onnx d.h5 > sums",
                    g_dir, g_lenet, g_lenet_data);
    cr_assert_eq(rc, 0);
    static const struct {
        const char *args, *words;
    } cases[] = {
        {"run m.onnx --data d.h5 --save-outputs link.h5", "--save-outputs link.h5 is the same "
                                                          "file as --data d.h5"},
        {"run m.onnx --data d.h5 --report ./m.onnx", "--report ./m.onnx is the same file as the "
                                                     "model m.onnx"},
        {"run m.onnx --data d.h5 --report r.json --save-outputs r.json", "both outputs"},
        {"snn m.onnx --data d.h5 --calib d.h5 --steps 2 --report ../$(basename $PWD)/d.h5",
         "is the same file as --data d.h5"},
        {"train m.onnx --data d.h5 -o t.onnx --report link.h5", "--report link.h5 is the same"},
        {"sweep m.onnx --data d.h5 --formats uint8 --designs mul_exact -o d",
         "-o d.csv is the same file as --data d.h5"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rc = e2e_sh(NULL, err, sizeof err, "cd '%s' && '%s' %s", g_dir, g_axlut, cases[i].args);
        cr_expect_eq(rc, 2, "%s: exit %d: %s", cases[i].args, rc, err);
        cr_expect(one_line(err) && strstr(err, cases[i].words), "%s: %s", cases[i].args, err);
    }
    rc = e2e_sh(NULL, err, sizeof err, "cd '%s' && md5sum -c --quiet sums && ! test -e t.onnx",
                g_dir);
    cr_expect_eq(rc, 0, "an input changed or an output was written: %s", err);
}
