/* What the end-to-end tests share: the built axlut (g_axlut), the source
 * tree (g_src), a temporary directory per suite (g_dir, removed after it)
 * and running a shell command with its stderr captured. */
#ifndef AXLUT_TESTS_E2E_H
#define AXLUT_TESTS_E2E_H

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

static char g_dir[64];
static char g_axlut[1024], g_src[1024];
static char g_lenet[1200], g_lenet_data[1200]; /* the LeNet-5 fixture and its data */

/* tmpl: the temporary directory's mkdtemp template. */
static inline void e2e_setup(const char *tmpl)
{
    const char *b = getenv("AXL_BUILD_DIR"), *s = getenv("AXL_SOURCE_DIR");
    cr_assert(b && s, "AXL_BUILD_DIR and AXL_SOURCE_DIR must be set (ctest sets them)");
    snprintf(g_axlut, sizeof g_axlut, "%s/axlut", b);
    snprintf(g_src, sizeof g_src, "%s", s);
    snprintf(g_lenet, sizeof g_lenet, "%s/tests/data/models/lenet.onnx", s);
    snprintf(g_lenet_data, sizeof g_lenet_data, "%s/tests/data/models/lenet.h5", s);
    snprintf(g_dir, sizeof g_dir, "%s", tmpl);
    cr_assert(mkdtemp(g_dir));
}

static inline void e2e_teardown(void)
{
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        cr_log_warn("could not remove %s", g_dir);
}

/* Runs the command fmt, ... through the shell with stderr in err (cap
 * bytes; may be NULL) and, when out_file is not NULL, stdout into
 * g_dir/out_file; its exit status, -1 when it did not exit. */
static inline int e2e_sh(const char *out_file, char *err, size_t cap, const char *fmt, ...)
{
    char cmd[4096], full[4700], ef[128], of[200] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    snprintf(ef, sizeof ef, "%s/stderr.txt", g_dir);
    if (out_file)
        snprintf(of, sizeof of, " >'%s/%s'", g_dir, out_file);
    snprintf(full, sizeof full, "%s%s 2>'%s'", cmd, of, ef);
    int rc = system(full);
    if (err) {
        err[0] = '\0';
        FILE *f = fopen(ef, "r");
        if (f) {
            size_t n = fread(err, 1, cap - 1, f);
            err[n] = '\0';
            fclose(f);
        }
    }
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

#endif
