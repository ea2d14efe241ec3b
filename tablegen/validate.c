/* Validation of a user design in a child process, before axlut loads it.
 *
 * dlopen runs a shared object's constructors, and reading the descriptor
 * follows the user's pointers: either can crash, end or hang the process
 * that does it.  So a forked child does both first, then probes eval over
 * operand pairs of formats the design accepts (every pair of the 8-bit
 * ones, a sample of wider ones), and reports through a shared mapping which
 * step it reached and which pair it was on.  Only when the child comes back
 * clean does the caller dlopen the object itself.
 *
 * What the probe cannot promise: a design may still crash on a pair it did
 * not try.  Where a layer's formats fit a table, axlut evaluates the whole
 * table in a child anyway (axl_table_generate_isolated); a design evaluated
 * as a function (operands too wide for a table) runs in-process.
 *
 * The child is single-threaded and uses no OpenMP (a pool the parent made
 * before fork() does not exist in the child). */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "internal.h"

/* Steps of the child, in order; the parent names the one a failure hit. */
enum { PH_LOAD = 0, PH_DESCRIPTOR = 1, PH_PROBE = 2, PH_DONE = 3, PH_REFUSED = 4 };

#define PROBE_SAMPLE 4096 /* pairs of a format pair too wide to probe whole */

struct vshared {
    volatile int32_t phase;
    volatile int32_t status;       /* PH_REFUSED: enum axl_status */
    const char *volatile field;    /* PH_DESCRIPTOR: the member being read */
    volatile uint32_t a, b;        /* PH_PROBE: the pair being evaluated */
    char formats[64];              /* PH_PROBE: "uint8 x uint8" */
    char name[64];                 /* the design's name once it was read */
    char msg[AXL_MSG_LEN];
};

/* strlen that the parent never runs on the user's pointers: a wild one
 * faults here, in the child, with sh->field naming the member. */
static void touch(struct vshared *sh, const char *field, const char *s)
{
    sh->field = field;
    if (s) {
        volatile size_t n = strlen(s);
        (void)n;
    }
}

static void touch_descriptor(struct vshared *sh, const struct axl_design *d)
{
    sh->field = "the descriptor itself";
    volatile uint32_t abi = d->abi;
    (void)abi;
    touch(sh, ".name", d->name);
    touch(sh, ".description", d->description);
    touch(sh, ".citation", d->citation);
    touch(sh, ".fmt_a", d->fmt_a);
    touch(sh, ".fmt_b", d->fmt_b);
    touch(sh, ".fmt_r", d->fmt_r);
    touch(sh, ".mantissa_core", d->mantissa_core);
    uint32_t np = d->nparams < AXL_DESIGN_MAX_PARAMS ? d->nparams : AXL_DESIGN_MAX_PARAMS;
    for (uint32_t i = 0; i < np; i++) {
        touch(sh, "a parameter's .name", d->params[i].name);
        touch(sh, "a parameter's .help", d->params[i].help);
    }
    sh->field = NULL;
}

static uint32_t next_rand(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*s >> 33);
}

/* Evaluates d over fa x fb (bound with default parameters); a format pair
 * the design does not accept is skipped (1 returned when it was probed). */
static int probe_pair(struct vshared *sh, const struct axl_design *d, const char *fa_name,
                      const char *fb_name)
{
    struct axl_format fa, fb;
    struct axl_design_ctx c;
    char msg[AXL_MSG_LEN];
    if (axl_format_parse(fa_name, &fa, msg) != AXL_OK ||
        axl_format_parse(fb_name, &fb, msg) != AXL_OK ||
        axl_design_bind(d, &fa, &fb, NULL, NULL, 0, &c, msg) != AXL_OK)
        return 0;
    snprintf(sh->formats, sizeof sh->formats, "%s x %s", fa.name, fb.name);
    const uint64_t na = 1ull << fa.bits, nb = 1ull << fb.bits;
    if (na * nb <= (1ull << 16)) {
        for (uint64_t a = 0; a < na; a++)
            for (uint64_t b = 0; b < nb; b++) {
                sh->a = (uint32_t)a;
                sh->b = (uint32_t)b;
                (void)d->eval(&c, (uint32_t)a, (uint32_t)b);
            }
        return 1;
    }
    /* the codes where designs branch (zero, one, the sign bit, the top),
     * crossed, then pseudo-random pairs */
    const uint32_t ma = (uint32_t)(na - 1), mb = (uint32_t)(nb - 1);
    const uint32_t ea[] = {0, 1, ma >> 1, (ma >> 1) + 1, ma - 1, ma};
    const uint32_t eb[] = {0, 1, mb >> 1, (mb >> 1) + 1, mb - 1, mb};
    for (size_t i = 0; i < 6; i++)
        for (size_t j = 0; j < 6; j++) {
            sh->a = ea[i];
            sh->b = eb[j];
            (void)d->eval(&c, ea[i], eb[j]);
        }
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    for (int k = 0; k < PROBE_SAMPLE; k++) {
        uint32_t a = next_rand(&seed) & ma, b = next_rand(&seed) & mb;
        sh->a = a;
        sh->b = b;
        (void)d->eval(&c, a, b);
    }
    return 1;
}

/* The formats probed per operand class: the 8-bit ones whole, a wider one
 * sampled. */
static void probe(struct vshared *sh, const struct axl_design *d)
{
    static const char *const uints[] = {"uint8", "uint12"}, *const ints[] = {"int8", "int12"},
                             *const floats[] = {"e4m3", "e5m2", "fp16", "bf16"};
    const int u = d->operands == AXL_OPERANDS_UINT || d->operands == AXL_OPERANDS_ANYINT ||
                  d->operands == AXL_OPERANDS_ANY;
    const int s = d->operands == AXL_OPERANDS_INT || d->operands == AXL_OPERANDS_ANYINT ||
                  d->operands == AXL_OPERANDS_ANY;
    const int f = d->operands == AXL_OPERANDS_FLOAT || d->operands == AXL_OPERANDS_ANY;
    if (d->operands == AXL_OPERANDS_FIXED)
        probe_pair(sh, d, d->fmt_a, d->fmt_b);
    for (int i = 0; i < 2; i++) {
        if (u)
            probe_pair(sh, d, uints[i], uints[i]);
        if (s)
            probe_pair(sh, d, ints[i], ints[i]);
    }
    for (int i = 0; f && i < 4; i++)
        probe_pair(sh, d, floats[i], floats[i]);
}

static void child_main(struct vshared *sh, const char *path, const char *object)
{
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a parent that was killed */
#endif
    /* the design's faults must end the child with their signal, whatever
     * handlers the parent installed */
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        signal(sigs[i], SIG_DFL);
    sh->phase = PH_LOAD;
    dlerror();
    void *h = dlopen(object, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        sh->status = axl_msgf(sh->msg, AXL_ERR_COMPILE, "%s: cannot load the compiled design: %s",
                              path, e ? e : "dlopen failed");
        sh->phase = PH_REFUSED;
        _exit(0);
    }
    const struct axl_design *d = dlsym(h, "axl_user_design");
    if (!d) {
        sh->status = axl_msgf(sh->msg, AXL_ERR_COMPILE,
                              "%s: defines no 'axl_user_design' (const struct axl_design "
                              "axl_user_design = { .abi = AXL_DESIGN_ABI, ... })",
                              path);
        sh->phase = PH_REFUSED;
        _exit(0);
    }
    sh->phase = PH_DESCRIPTOR;
    touch_descriptor(sh, d);
    enum axl_status st = axl_tg_check_design(path, d, sh->msg);
    if (st != AXL_OK) {
        sh->status = st;
        sh->phase = PH_REFUSED;
        _exit(0);
    }
    snprintf(sh->name, sizeof sh->name, "%s", d->name);
    sh->phase = PH_PROBE;
    probe(sh, d);
    sh->phase = PH_DONE;
    _exit(0);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The one line for a child that did not come back clean. */
static enum axl_status judge(const struct vshared *sh, const char *path, int status,
                             int timed_out, double timeout_s, char *msg)
{
    char how[160];
    if (timed_out)
        snprintf(how, sizeof how, "did not finish within %g s", timeout_s);
    else if (WIFSIGNALED(status))
        snprintf(how, sizeof how, "crashed: %s (%s)", axl_signal_name(WTERMSIG(status)),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(how, sizeof how, "ended the process with exit status %d",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    const char *hint = timed_out ? " (a loop that never ends? a longer limit: --timeout or "
                                   "AXL_DESIGN_TIMEOUT)"
                       : WIFSIGNALED(status) ? ""
                                             : " (a design must return, not exit)";
    switch (sh->phase) {
    case PH_LOAD:
        return axl_msgf(msg, AXL_ERR_INVALID,
                        "%s: loading the compiled design, which runs its constructors, %s%s",
                        path, how, hint);
    case PH_DESCRIPTOR:
        return axl_msgf(msg, AXL_ERR_INVALID,
                        "%s: axl_user_design: reading %s %s: a pointer of the descriptor that "
                        "is not a string?",
                        path, sh->field ? sh->field : "the descriptor", how);
    default:
        return axl_msgf(msg, AXL_ERR_INVALID,
                        "design %s %s while evaluating a=0x%x, b=0x%x (%s, a probe before "
                        "loading it)%s",
                        sh->name, how, sh->a, sh->b, sh->formats, hint);
    }
}

enum axl_status axl_tg_validate_design(const char *path, const char *object, double timeout_s,
                                       char *msg)
{
    struct vshared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE,
                              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED)
        return axl_msgf(msg, AXL_ERR_NOMEM, "%s: cannot map memory to check the design: %s",
                        path, strerror(errno));
    memset(sh, 0, sizeof *sh);
    fflush(NULL); /* a design that calls exit() must not print our buffers twice */
    const double t0 = now_s();
    pid_t pid = fork();
    if (pid < 0) {
        munmap(sh, sizeof *sh);
        return axl_msgf(msg, AXL_ERR_IO, "%s: cannot start a process to check the design: %s",
                        path, strerror(errno));
    }
    if (pid == 0)
        child_main(sh, path, object); /* does not return */

    int status = 0, timed_out = 0;
    struct timespec nap = {0, 200000}; /* 0.2 ms, growing to 20 ms */
    enum axl_status st = AXL_OK;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR) {
            st = axl_msgf(msg, AXL_ERR_IO, "%s: lost the process checking the design: %s", path,
                          strerror(errno));
            kill(pid, SIGKILL);
            break;
        }
        if (timeout_s > 0 && now_s() - t0 > timeout_s) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            timed_out = 1;
            break;
        }
        nanosleep(&nap, NULL);
        if (nap.tv_nsec < 20000000)
            nap.tv_nsec *= 2;
    }
    if (st == AXL_OK) {
        if (!timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
            sh->phase == PH_REFUSED)
            st = axl_msgf(msg, (enum axl_status)sh->status, "%s", sh->msg);
        else if (timed_out || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
                 sh->phase != PH_DONE)
            st = judge(sh, path, status, timed_out, timeout_s, msg);
    }
    munmap(sh, sizeof *sh);
    return st;
}

double axl_user_design_timeout(void)
{
    const char *e = getenv("AXL_DESIGN_TIMEOUT");
    if (e && *e) {
        char *end;
        double t = strtod(e, &end);
        if (*end == '\0' && t >= 0)
            return t;
    }
    return AXL_ISOLATE_DEFAULT_TIMEOUT;
}
