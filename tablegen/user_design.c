/* User designs: a C file compiled by the system compiler into a shared
 * object, cached by content hash, loaded with dlopen.
 *
 * The cache key covers the source, the compiler command, the flags, the
 * header directory and the design ABI, so editing any of them rebuilds.
 * The object is compiled under a temporary name and renamed, so two runs
 * racing on the same design never load a half-written file. */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700 /* realpath */
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "axlut/user_design.h"
#include "axlut/config.h"
#include "internal.h"

#ifndef AXL_SOURCE_INCLUDEDIR
#define AXL_SOURCE_INCLUDEDIR ""
#endif
#ifndef AXL_INSTALL_INCLUDEDIR
#define AXL_INSTALL_INCLUDEDIR "/usr/local/include"
#endif

#define PATH_CAP 4096

struct axl_user_design {
    void *handle;
    const struct axl_design *design;
    char sha256[65];
    char object[PATH_CAP];
    char *source; /* the C text that was compiled (NUL-terminated) */
    axl_batch_row_fn row; /* the generated batch forms (NULL: none) */
    axl_batch_pair_fn pair;
    char path[PATH_CAP];
};

static char *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
        if (len == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return NULL;
    }
    *n = len;
    return buf;
}

static int mkdir_p(const char *dir)
{
    char p[PATH_CAP];
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST)
                return -1;
            *s = '/';
        }
    return mkdir(p, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

static int cache_dir(char *out, size_t cap)
{
    const char *e;
    if ((e = getenv("AXL_CACHE_DIR")) && *e)
        snprintf(out, cap, "%s", e);
    else if ((e = getenv("XDG_CACHE_HOME")) && *e)
        snprintf(out, cap, "%s/axlut", e);
    else if ((e = getenv("HOME")) && *e)
        snprintf(out, cap, "%s/.cache/axlut", e);
    else
        return -1;
    return 0;
}

int axl_cache_path(const char *sub, char *out, size_t cap)
{
    char dir[PATH_CAP];
    if (cache_dir(dir, sizeof dir) < 0)
        return -1;
    int n = snprintf(out, cap, "%s%s%s", dir, sub && *sub ? "/" : "", sub ? sub : "");
    if (n < 0 || (size_t)n >= cap)
        return -1;
    return mkdir_p(out);
}

static const char *include_dir(void)
{
    char p[PATH_CAP];
    snprintf(p, sizeof p, "%s/axlut/design.h", AXL_SOURCE_INCLUDEDIR);
    return AXL_SOURCE_INCLUDEDIR[0] && access(p, R_OK) == 0 ? AXL_SOURCE_INCLUDEDIR
                                                            : AXL_INSTALL_INCLUDEDIR;
}

/* The flags of the two compilations: the batch one (the user's file
 * included by a generated wrapper, see write_wrapper) for this host's
 * vector ISA, and the plain one, used when the batch one fails.
 * -ffp-contract=off keeps a * b + c two roundings where -march=native
 * offers fused multiply-adds, so the eval gives the bits it gave at -O2;
 * -fno-semantic-interposition lets the wrapper read the descriptor's eval
 * pointer at compile time and inline it. */
static const char *const k_batch_flags[] = {"-O3", "-march=native", "-ffp-contract=off",
                                            "-fno-semantic-interposition", "-fopenmp-simd",
                                            "-fPIC", "-shared", NULL};
static const char *const k_plain_flags[] = {"-O2", "-fPIC", "-shared", NULL};
#define WRAPPER_VERSION "batch-wrapper 1"

/* Runs $CC (which may be several words, e.g. "ccache gcc") through sh with
 * the arguments passed untouched; stdout and stderr go to `log`. Returns
 * the exit status, or -1 when it could not run. */
static int run_compiler(const char *cc, const char *const *flags, const char *inc, const char *src,
                        const char *obj, const char *log)
{
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    char idir[PATH_CAP + 4];
    snprintf(idir, sizeof idir, "-I%s", inc);
    const char *argv[24];
    int n = 0;
    argv[n++] = "sh";
    argv[n++] = "-c";
    argv[n++] = "exec $AXL_TG_CC \"$@\"";
    argv[n++] = "sh";
    for (int i = 0; flags[i]; i++)
        argv[n++] = flags[i];
    argv[n++] = idir;
    argv[n++] = "-o";
    argv[n++] = obj;
    argv[n++] = src;
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid < 0) {
        close(fd);
        return -1;
    }
    if (pid == 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
        setenv("AXL_TG_CC", cc, 1);
        execv("/bin/sh", (char *const *)argv);
        _exit(127);
    }
    close(fd);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The wrapper translation unit: the user's file, included as it is, and
 * the batch forms of design.h around its eval, which the compiler inlines
 * into `omp simd` loops (the descriptor is a constant it can read).  The
 * user's file needs nothing new. */
static int write_wrapper(const char *wrapper, const char *user_path)
{
    char abs[PATH_CAP];
    if (!realpath(user_path, abs))
        return -1;
    if (strchr(abs, '"') || strchr(abs, '\\') || strchr(abs, '\n'))
        return -1; /* not spellable in an #include line: no batch forms */
    FILE *f = fopen(wrapper, "w");
    if (!f)
        return -1;
    fprintf(f,
            "/* generated by axlut (" WRAPPER_VERSION "): batch forms of a user design */\n"
            "#include \"%s\"\n"
            "void axl_user_batch_row(const struct axl_design_ctx *c, const uint32_t *a,\n"
            "                        uint32_t b, uint32_t *out, int64_t n);\n"
            "void axl_user_batch_pair(const struct axl_design_ctx *c, const uint32_t *x,\n"
            "                         const uint32_t *y, uint32_t *out, int64_t n);\n"
            "void axl_user_batch_row(const struct axl_design_ctx *c, const uint32_t *a,\n"
            "                        uint32_t b, uint32_t *out, int64_t n)\n"
            "{\n"
            "#pragma omp simd\n"
            "    for (int64_t i = 0; i < n; i++)\n"
            "        out[i] = axl_user_design.eval(c, a[i], b);\n"
            "}\n"
            "void axl_user_batch_pair(const struct axl_design_ctx *c, const uint32_t *x,\n"
            "                         const uint32_t *y, uint32_t *out, int64_t n)\n"
            "{\n"
            "#pragma omp simd\n"
            "    for (int64_t i = 0; i < n; i++)\n"
            "        out[i] = axl_user_design.eval(c, x[i], y[i]);\n"
            "}\n",
            abs);
    return fclose(f) == 0 ? 0 : -1;
}

static int valid_name(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return 0;
    return 1;
}

enum axl_status axl_tg_check_design(const char *path, const struct axl_design *d, char *msg)
{
    if (d->abi != AXL_DESIGN_ABI) {
        return axl_msgf(msg, AXL_ERR_MISMATCH,
                        "%s: design ABI %u, but this axlut expects ABI %d (set .abi = "
                        "AXL_DESIGN_ABI and rebuild against this axlut's <axlut/design.h>)",
                        path, d->abi, AXL_DESIGN_ABI);
    }
    const char *bad = NULL;
    if (!valid_name(d->name))
        bad = ".name must be a non-empty [A-Za-z0-9_] identifier (e.g. mul8u_FTA)";
    else if (!d->eval)
        bad = ".eval is NULL";
    else if (d->op > AXL_OP_ADD)
        bad = ".op must be AXL_OP_MUL or AXL_OP_ADD";
    else if (d->operands > AXL_OPERANDS_ANY)
        bad = ".operands is not an enum axl_operands value";
    else if (d->nparams > AXL_DESIGN_MAX_PARAMS)
        bad = ".nparams exceeds AXL_DESIGN_MAX_PARAMS";
    else if (d->operands == AXL_OPERANDS_FIXED && (!d->fmt_a || !d->fmt_b || !d->fmt_r))
        bad = "fixed operands need .fmt_a, .fmt_b and .fmt_r";
    else if (d->mantissa_only && !d->mantissa_core)
        bad = ".mantissa_only needs .mantissa_core";
    for (uint32_t i = 0; !bad && i < d->nparams; i++)
        if (!valid_name(d->params[i].name))
            bad = "a parameter name is not a [A-Za-z0-9_] identifier";
    if (bad) {
        return axl_msgf(msg, AXL_ERR_INVALID, "%s: axl_user_design: %s", path, bad);
    }
    return AXL_OK;
}

/* The compiler's output in the file logp, NUL-terminated (NULL when empty
 * or unreadable). */
static char *read_log(const char *logp)
{
    size_t ln = 0;
    char *text = read_file(logp, &ln);
    if (!text || ln == 0) {
        free(text);
        return NULL;
    }
    char *t2 = realloc(text, ln + 1);
    if (!t2) {
        free(text);
        return NULL;
    }
    t2[ln] = '\0';
    return t2;
}

/* Compiles the design at path into the cache as `object` (built under a
 * temporary name, then renamed): with the batch wrapper first, and if that
 * fails (a file that cannot be included that way, a compiler without the
 * flags), the file alone, as before, without batch forms.  When the
 * compiler fails, its output goes to *log (log NULL: dropped). */
static enum axl_status compile_design(const char *path, const char *cc, const char *inc,
                                      const char *dir, const char *key, const char *object,
                                      char **log, char *msg)
{
    char tmp[PATH_CAP], logp[PATH_CAP], wrap[PATH_CAP];
    snprintf(tmp, sizeof tmp, "%s/%s.so.tmp%ld", dir, key, (long)getpid());
    snprintf(logp, sizeof logp, "%s/%s.log.tmp%ld", dir, key, (long)getpid());
    snprintf(wrap, sizeof wrap, "%s/%s.wrap%ld.c", dir, key, (long)getpid());
    int rc = -1;
    if (write_wrapper(wrap, path) == 0)
        rc = run_compiler(cc, k_batch_flags, inc, wrap, tmp, logp);
    unlink(wrap);
    if (rc != 0)
        rc = run_compiler(cc, k_plain_flags, inc, path, tmp, logp);
    if (rc != 0) {
        char *text = read_log(logp);
        if (log && text)
            *log = text;
        else
            free(text);
        unlink(tmp);
        unlink(logp);
        if (rc < 0)
            return axl_msgf(msg, AXL_ERR_COMPILE, "%s: cannot run the C compiler '%s'", path, cc);
        if (rc == 127)
            return axl_msgf(msg, AXL_ERR_COMPILE,
                            "%s: the C compiler '%s' was not found (set CC)", path, cc);
        return axl_msgf(msg, AXL_ERR_COMPILE, "%s: compilation with '%s' failed (exit %d)", path,
                        cc, rc);
    }
    unlink(logp);
    if (rename(tmp, object) != 0) {
        enum axl_status st = axl_msgf(msg, AXL_ERR_IO,
                                      "%s: cannot store the compiled design in %s: %s", path, dir,
                                      strerror(errno));
        unlink(tmp);
        return st;
    }
    return AXL_OK;
}

/* What the batch compilation's -march=native means on this machine, for
 * the cache key: an object built for another CPU is not reused. */
static void cpu_signature(char *out, size_t cap)
{
    snprintf(out, cap, "cpu?");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[4096];
    size_t used = 0;
    out[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) && strncmp(line, "flags", 5))
            continue;
        used += (size_t)snprintf(out + used, cap > used ? cap - used : 0, "%s", line);
        if (used >= cap || !strncmp(line, "flags", 5))
            break;
    }
    fclose(f);
}

enum axl_status axl_user_design_load(const char *path, struct axl_user_design **out, char **log,
                                     char *msg)
{
    return axl_user_design_load_timeout(path, axl_user_design_timeout(), out, log, msg);
}

enum axl_status axl_user_design_load_timeout(const char *path, double timeout_s,
                                             struct axl_user_design **out, char **log, char *msg)
{
    *out = NULL;
    if (log)
        *log = NULL;
    size_t n;
    char *src = read_file(path, &n);
    if (!src) {
        return axl_msgf(msg, AXL_ERR_IO, "%s: cannot read: %s", path,
                        strerror(errno ? errno : EIO));
    }
    struct axl_user_design *u = calloc(1, sizeof *u);
    char *keybuf = NULL, dir[PATH_CAP / 2];
    enum axl_status st = AXL_ERR_NOMEM;
    if (!u)
        goto out;
    axl_sha256_hex(src, n, u->sha256);
    snprintf(u->path, sizeof u->path, "%s", path);
    if (!(u->source = malloc(n + 1)))
        goto out;
    memcpy(u->source, src, n);
    u->source[n] = '\0';

    const char *cc = getenv("CC");
    if (!cc || !*cc)
        cc = "cc";
    const char *inc = include_dir();
    char tail[PATH_CAP * 4], cpu[PATH_CAP];
    cpu_signature(cpu, sizeof cpu);
    int tl = snprintf(tail, sizeof tail,
                      "%c%s%c-O2 -fPIC -shared%c%s%cabi=%d%c%s%c" WRAPPER_VERSION
                      " -O3 -march=native -ffp-contract=off -fno-semantic-interposition "
                      "-fopenmp-simd%c%s",
                      0, cc, 0, 0, inc, 0, AXL_DESIGN_ABI, 0, AXL_VERSION, 0, 0, cpu);
    if (tl < 0 || (size_t)tl >= sizeof tail || !(keybuf = malloc(n + (size_t)tl)))
        goto out;
    memcpy(keybuf, src, n);
    memcpy(keybuf + n, tail, (size_t)tl);
    char key[65];
    axl_sha256_hex(keybuf, n + (size_t)tl, key);

    st = AXL_ERR_IO;
    if (cache_dir(dir, sizeof dir) < 0 || mkdir_p(dir) < 0) {
        st = axl_msgf(msg, AXL_ERR_IO,
                      "%s: cannot create the design cache directory %s (set AXL_CACHE_DIR)", path,
                      dir);
        goto out;
    }
    snprintf(u->object, sizeof u->object, "%s/%s.so", dir, key);
    if (access(u->object, R_OK) != 0 &&
        (st = compile_design(path, cc, inc, dir, key, u->object, log, msg)) != AXL_OK)
        goto out;
    /* constructors, the descriptor's pointers and a probe of eval run in a
     * child first: nothing of the design runs here unless it came back */
    if ((st = axl_tg_validate_design(path, u->object, timeout_s, msg)) != AXL_OK)
        goto out;
    st = AXL_ERR_COMPILE;
    dlerror();
    if (!(u->handle = dlopen(u->object, RTLD_NOW | RTLD_LOCAL))) {
        const char *e = dlerror();
        st = axl_msgf(msg, AXL_ERR_COMPILE, "%s: cannot load the compiled design: %s", path,
                      e ? e : "dlopen failed");
        goto out;
    }
    void *sym = dlsym(u->handle, "axl_user_design");
    if (!sym) {
        st = axl_msgf(msg, AXL_ERR_COMPILE,
                      "%s: defines no 'axl_user_design' (const struct axl_design "
                      "axl_user_design = { .abi = AXL_DESIGN_ABI, ... })",
                      path);
        goto out;
    }
    u->design = sym;
    /* present when the batch wrapper compiled; else the scalar loops serve */
    *(void **)&u->row = dlsym(u->handle, "axl_user_batch_row");
    *(void **)&u->pair = dlsym(u->handle, "axl_user_batch_pair");
    if ((st = axl_tg_check_design(path, u->design, msg)) != AXL_OK)
        goto out;
    *out = u;
    u = NULL;
out:
    axl_user_design_free(u);
    free(keybuf);
    free(src);
    return st;
}

const struct axl_design *axl_user_design_get(const struct axl_user_design *u) { return u->design; }
const char *axl_user_design_sha256(const struct axl_user_design *u) { return u->sha256; }
const char *axl_user_design_object(const struct axl_user_design *u) { return u->object; }
const char *axl_user_design_source(const struct axl_user_design *u) { return u->source; }
const char *axl_user_design_path(const struct axl_user_design *u) { return u->path; }

void axl_user_design_batch(const struct axl_user_design *u, axl_batch_row_fn *row,
                           axl_batch_pair_fn *pair)
{
    *row = u->row;
    *pair = u->pair;
}

void axl_user_design_free(struct axl_user_design *u)
{
    if (!u)
        return;
    if (u->handle)
        dlclose(u->handle);
    free(u->source);
    free(u);
}
