/* Evaluation of a design in a child process with a time limit.
 *
 * The child is forked after the table's shape is known.  It fills the
 * entries in a shared anonymous mapping with plain pthreads (not OpenMP: a
 * libgomp thread pool that the parent created before fork() does not exist
 * in the child, and the child's first parallel region would wait for it
 * forever).  Layout of the mapping:
 *
 *   +-------------------------------+ 0
 *   | struct shared: state, message, |
 *   | rows handed out / done, and    |
 *   | one 64-byte slot per thread:   |
 *   |   row being evaluated (-1 idle)|
 *   |   column being evaluated       |
 *   +-------------------------------+ data_off (page aligned)
 *   | entries, rows * cols * eb      |
 *   +-------------------------------+
 *
 * Each thread stores its row before a row and its column before every
 * entry (one store to a cache line of its own; small next to the indirect
 * call).  A fault handler, which runs on the faulting thread (on an
 * alternate stack, so a stack overflow is caught too), records which slot
 * crashed and re-raises the signal with its default action; the parent then
 * reads the pair from that slot.  After a timeout the parent names the pairs
 * of the slots still busy.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include "axlut/user_design.h"

#include <errno.h>
#include <omp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
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

#define MAX_SLOTS 256
#define ALT_STACK (64 * 1024)

enum { ST_RUNNING = 0, ST_DONE = 1, ST_ERROR = 2 };

struct slot {
    volatile int64_t row; /* -1: idle */
    volatile uint32_t b;
    char pad[64 - sizeof(int64_t) - sizeof(uint32_t)];
};

struct shared {
    volatile int32_t state;
    volatile int32_t crashed_slot; /* -1: none recorded */
    volatile int32_t crash_sig;
    int32_t status;                /* ST_ERROR: enum axl_status */
    char msg[AXL_MSG_LEN];
    _Atomic uint64_t next_row;
    _Atomic uint64_t rows_done;
    struct slot slots[MAX_SLOTS];
};

const char *axl_signal_name(int sig)
{
    static const struct {
        int sig;
        const char *name;
    } names[] = {
        {SIGSEGV, "SIGSEGV"}, {SIGFPE, "SIGFPE"},   {SIGBUS, "SIGBUS"},   {SIGILL, "SIGILL"},
        {SIGABRT, "SIGABRT"}, {SIGTRAP, "SIGTRAP"}, {SIGSYS, "SIGSYS"},   {SIGKILL, "SIGKILL"},
        {SIGTERM, "SIGTERM"}, {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"}, {SIGHUP, "SIGHUP"},
        {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"}, {SIGXCPU, "SIGXCPU"}, {SIGXFSZ, "SIGXFSZ"},
        {SIGUSR1, "SIGUSR1"}, {SIGUSR2, "SIGUSR2"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].sig == sig)
            return names[i].name;
    static _Thread_local char buf[32];
    snprintf(buf, sizeof buf, "signal %d", sig);
    return buf;
}

/* --- the child ------------------------------------------------------------ */

struct job {
    struct shared *sh;
    const struct axl_design *d;
    const struct axl_design_ctx *c;
    uint64_t rows, cols;
    uint32_t eb;
    void *data;
    pthread_mutex_t lock;
    uint64_t bad; /* first bad entry, row-major */
    uint32_t bad_code;
};

struct worker_arg {
    struct job *job;
    int slot;
};

static struct shared *g_sh;
static _Thread_local int tl_slot = -1;
static struct sigaction g_default;
static const int k_fault_sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS};

/* Runs on the faulting thread: only async-signal-safe work. */
static void on_fault(int sig)
{
    if (g_sh && tl_slot >= 0 && g_sh->crashed_slot < 0) {
        g_sh->crashed_slot = tl_slot;
        g_sh->crash_sig = sig;
    }
    sigaction(sig, &g_default, NULL);
    raise(sig); /* pending until the handler returns, then the default action */
}

/* Our own alternate signal stack (a stack overflow in the design is still
 * reported); the previous one is kept in *old and put back by
 * alt_stack_off, because a runtime may own it (AddressSanitizer unmaps its
 * own at thread exit and aborts if it finds ours). */
static void *alt_stack_on(stack_t *old)
{
    stack_t ss;
    memset(&ss, 0, sizeof ss);
    memset(old, 0, sizeof *old);
    ss.ss_sp = malloc(ALT_STACK);
    ss.ss_size = ALT_STACK;
    if (ss.ss_sp && sigaltstack(&ss, old) != 0) {
        free(ss.ss_sp);
        return NULL;
    }
    return ss.ss_sp;
}

static void alt_stack_off(void *stack, const stack_t *old)
{
    if (!stack)
        return;
    if (old->ss_sp) {
        sigaltstack(old, NULL);
    } else {
        stack_t none;
        memset(&none, 0, sizeof none);
        none.ss_flags = SS_DISABLE;
        sigaltstack(&none, NULL);
    }
    free(stack);
}

static void *worker(void *p)
{
    struct worker_arg *w = p;
    struct job *j = w->job;
    struct slot *s = &j->sh->slots[w->slot];
    stack_t old;
    void *stack = alt_stack_on(&old);
    tl_slot = w->slot;
    for (;;) {
        uint64_t a = atomic_fetch_add(&j->sh->next_row, 1);
        if (a >= j->rows)
            break;
        s->row = (int64_t)a;
        uint32_t code = 0;
        uint64_t b = axl_tg_eval_row(j->d, j->c, j->cols, j->eb, j->data, a, &s->b, &code);
        s->row = -1;
        if (b != UINT64_MAX) {
            pthread_mutex_lock(&j->lock);
            if (a * j->cols + b < j->bad) {
                j->bad = a * j->cols + b;
                j->bad_code = code;
            }
            pthread_mutex_unlock(&j->lock);
        }
        atomic_fetch_add(&j->sh->rows_done, 1);
    }
    tl_slot = -1;
    alt_stack_off(stack, &old);
    return NULL;
}

static void child_main(struct job *j, int nt)
{
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a parent that was killed */
#endif
    g_sh = j->sh;
    memset(&g_default, 0, sizeof g_default);
    g_default.sa_handler = SIG_DFL;
    sigemptyset(&g_default.sa_mask);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fault;
    sa.sa_flags = SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof k_fault_sigs / sizeof k_fault_sigs[0]; i++)
        sigaction(k_fault_sigs[i], &sa, NULL);

    pthread_t tid[MAX_SLOTS];
    struct worker_arg args[MAX_SLOTS];
    int started = 0;
    for (int i = 1; i < nt; i++) {
        args[i].job = j;
        args[i].slot = i;
        if (pthread_create(&tid[i], NULL, worker, &args[i]) != 0)
            break;
        started = i;
    }
    args[0].job = j;
    args[0].slot = 0;
    worker(&args[0]);
    for (int i = 1; i <= started; i++)
        pthread_join(tid[i], NULL);
    if (j->bad != UINT64_MAX) {
        j->sh->status = (int32_t)axl_tg_bad_code(j->d, j->c, j->bad / j->cols, j->bad % j->cols,
                                                 j->bad_code, j->sh->msg);
        j->sh->state = ST_ERROR;
    } else {
        j->sh->state = ST_DONE;
    }
    _exit(0);
}

/* --- the parent ----------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* "<lead> a=0x3, b=0x5" from the crashed slot, or else the busy ones. */
static void describe_pairs(const struct shared *sh, int nt, int crashed, const char *lead,
                           struct axl_isolate_report *rep, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (crashed >= 0 && crashed < nt && sh->slots[crashed].row >= 0) {
        rep->have_pair = 1;
        rep->a = (uint32_t)sh->slots[crashed].row;
        rep->b = sh->slots[crashed].b;
        snprintf(buf, cap, "%s a=0x%x, b=0x%x", lead, rep->a, rep->b);
        return;
    }
    int busy = 0;
    size_t used = 0;
    for (int i = 0; i < nt; i++) {
        if (sh->slots[i].row < 0)
            continue;
        if (busy == 0) {
            rep->a = (uint32_t)sh->slots[i].row;
            rep->b = sh->slots[i].b;
        }
        if (busy < 4) {
            int n = snprintf(buf + used, cap - used, "%s a=0x%x, b=0x%x",
                             busy == 0 ? lead : " or", (unsigned)sh->slots[i].row,
                             sh->slots[i].b);
            if (n > 0 && used + (size_t)n < cap)
                used += (size_t)n;
        }
        busy++;
    }
    rep->have_pair = busy == 1;
    if (busy > 4 && used + 16 < cap)
        snprintf(buf + used, cap - used, " (and %d more)", busy - 4);
}

/* Threads the child runs: opts->threads, else OpenMP's count, within 1 to
 * MAX_SLOTS and at most one a row. */
static int thread_count(const struct axl_table_opts *o, uint64_t rows)
{
    int nt = o->threads > 0 ? o->threads : omp_get_max_threads();
    if (nt < 1)
        nt = 1;
    if (nt > MAX_SLOTS)
        nt = MAX_SLOTS;
    if ((uint64_t)nt > rows)
        nt = (int)rows;
    return nt;
}

/* The memory parent and child share (struct shared, then the entries on a
 * page boundary), *map_len bytes, and the job that fills it; MAP_FAILED
 * (errno set) when it cannot be mapped. */
static void *map_job(const struct axl_table_info *in, const struct axl_design *ed,
                     const struct axl_design_ctx *ec, struct job *job, size_t *map_len)
{
    const size_t bytes = (size_t)(in->rows * in->cols * in->entry_bytes);
    const long page = sysconf(_SC_PAGESIZE) > 0 ? sysconf(_SC_PAGESIZE) : 4096;
    const size_t data_off = (sizeof(struct shared) + (size_t)page - 1) / (size_t)page * (size_t)page;
    *map_len = data_off + bytes;
    void *map = mmap(NULL, *map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        return map;
    struct shared *sh = map;
    sh->state = ST_RUNNING;
    sh->crashed_slot = -1;
    atomic_init(&sh->next_row, 0);
    atomic_init(&sh->rows_done, 0);
    for (int i = 0; i < MAX_SLOTS; i++)
        sh->slots[i].row = -1;
    memset(job, 0, sizeof *job);
    job->sh = sh;
    job->d = ed;
    job->c = ec;
    job->rows = in->rows;
    job->cols = in->cols;
    job->eb = in->entry_bytes;
    job->data = (char *)map + data_off;
    job->bad = UINT64_MAX;
    pthread_mutex_init(&job->lock, NULL);
    return map;
}

/* Waits for the evaluating process pid, showing its progress through
 * o->progress (o NULL: none) and killing it after timeout_s (*timed_out then
 * set); *status as waitpid gives it.  An error only when the process is lost. */
static enum axl_status wait_child(pid_t pid, struct shared *sh, const struct axl_table_info *in,
                                  const struct axl_table_opts *o, double t0, double timeout_s,
                                  const char *name, int *status, int *timed_out, char *msg)
{
    const uint64_t total = in->rows * in->cols;
    struct timespec nap = {0, 200000}; /* 0.2 ms, growing to 20 ms */
    uint64_t shown = 0;
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return AXL_OK;
        if (r < 0 && errno != EINTR) {
            enum axl_status s = axl_msgf(msg, AXL_ERR_IO,
                                         "lost the process evaluating design %s: %s", name,
                                         strerror(errno));
            kill(pid, SIGKILL);
            return s;
        }
        if (timeout_s > 0 && now_s() - t0 > timeout_s) {
            kill(pid, SIGKILL);
            while (waitpid(pid, status, 0) < 0 && errno == EINTR)
                ;
            *timed_out = 1;
            return AXL_OK;
        }
        if (o) {
            uint64_t done = atomic_load(&sh->rows_done) * in->cols;
            if (done != shown && done < total)
                o->progress(o->progress_user, shown = done, total);
        }
        nanosleep(&nap, NULL);
        if (nap.tv_nsec < 20000000)
            nap.tv_nsec *= 2;
    }
}

/* How the evaluation ended, from the process's status and the shared state:
 * AXL_OK when it finished, else rep filled and the message naming the pairs
 * the threads were on. */
static enum axl_status judge_child(const struct axl_design *d, struct shared *sh, int nt,
                                   const struct axl_table_info *in, int status, int timed_out,
                                   double timeout_s, struct axl_isolate_report *rep, char *msg)
{
    char where[256];
    const char *kind = in->path == AXL_TABLE_MANTISSA ? " (significands)" : "";
    if (timed_out) {
        rep->outcome = AXL_ISOLATE_TIMEOUT;
        describe_pairs(sh, nt, -1, ", still evaluating", rep, where, sizeof where);
        return axl_msgf(msg, AXL_ERR_INVALID,
                        "design %s did not finish within %g s%s%s; stopped it (a loop that never "
                        "ends? a longer limit: --timeout or AXL_DESIGN_TIMEOUT)",
                        d->name, timeout_s, where, kind);
    }
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        rep->outcome = AXL_ISOLATE_SIGNAL;
        rep->signal = sig;
        describe_pairs(sh, nt, sh->crashed_slot, " while evaluating", rep, where, sizeof where);
        return axl_msgf(msg, AXL_ERR_INVALID, "design %s crashed: %s (%s)%s%s", d->name,
                        axl_signal_name(sig), strsignal(sig), where, kind);
    }
    if (sh->state == ST_ERROR)
        return axl_msgf(msg, (enum axl_status)sh->status, "%s", sh->msg);
    if (sh->state != ST_DONE || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        rep->outcome = AXL_ISOLATE_EXIT;
        rep->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        describe_pairs(sh, nt, -1, " while evaluating", rep, where, sizeof where);
        return axl_msgf(msg, AXL_ERR_INVALID,
                        "design %s ended the evaluation with exit status %d%s%s (a design must "
                        "return, not exit)",
                        d->name, rep->exit_status, where, kind);
    }
    return AXL_OK;
}

enum axl_status axl_table_generate_isolated(const struct axl_design *d,
                                            const struct axl_design_ctx *c,
                                            const struct axl_table_opts *opts, double timeout_s,
                                            struct axl_table **out,
                                            struct axl_isolate_report *rep, char *msg)
{
    struct axl_isolate_report rep0;
    if (!rep)
        rep = &rep0;
    memset(rep, 0, sizeof *rep);
    rep->outcome = AXL_ISOLATE_ERROR;
    struct axl_table_opts o0;
    memset(&o0, 0, sizeof o0);
    const struct axl_table_opts *o = opts ? opts : &o0;
    const struct axl_design *ed;
    struct axl_design_ctx ec;
    struct axl_table *t = NULL;
    *out = NULL;
    enum axl_status s = axl_tg_prepare(d, c, o, &t, &ed, &ec, msg);
    if (s != AXL_OK)
        return s;

    const struct axl_table_info *in = &t->info;
    const uint64_t total = in->rows * in->cols;
    const size_t bytes = (size_t)(total * in->entry_bytes);
    const int nt = thread_count(o, in->rows);
    struct job job;
    size_t map_len;
    void *map = map_job(in, ed, &ec, &job, &map_len);
    if (map == MAP_FAILED) {
        s = axl_msgf(msg, AXL_ERR_NOMEM,
                     "cannot map %zu bytes of shared memory for the table of %s: %s", map_len,
                     d->name, strerror(errno));
        axl_table_free(t);
        return s;
    }
    struct shared *sh = map;

    const int report = o->progress && total > AXL_TABLE_PROGRESS_MIN;
    if (report)
        o->progress(o->progress_user, 0, total);
    fflush(NULL); /* a design that calls exit() must not print our buffers twice */
    const double t0 = now_s();
    pid_t pid = fork();
    if (pid < 0) {
        s = axl_msgf(msg, AXL_ERR_IO, "cannot start a process to evaluate design %s: %s", d->name,
                     strerror(errno));
        goto fail;
    }
    if (pid == 0)
        child_main(&job, nt); /* does not return */

    int status = 0, timed_out = 0;
    if ((s = wait_child(pid, sh, in, report ? o : NULL, t0, timeout_s, d->name, &status,
                        &timed_out, msg)) != AXL_OK)
        goto fail;
    rep->seconds = now_s() - t0;

    if ((s = judge_child(d, sh, nt, in, status, timed_out, timeout_s, rep, msg)) != AXL_OK)
        goto fail;

    if (!(t->data = malloc(bytes))) {
        s = axl_msgf(msg, AXL_ERR_NOMEM, "out of memory for the table of %s", d->name);
        goto fail;
    }
    memcpy(t->data, job.data, bytes);
    munmap(map, map_len);
    pthread_mutex_destroy(&job.lock);
    map = NULL;
    if (report)
        o->progress(o->progress_user, total, total);
    if (!o->skip_metrics &&
        (s = axl_table_compute_metrics(&t->info, t->data, o->threads, &t->info.metrics, msg)) !=
            AXL_OK) {
        axl_table_free(t);
        return s;
    }
    rep->outcome = AXL_ISOLATE_OK;
    *out = t;
    return AXL_OK;

fail:
    munmap(map, map_len);
    pthread_mutex_destroy(&job.lock);
    axl_table_free(t);
    return s;
}

enum axl_status axl_user_design_check_pairs(const struct axl_design *d,
                                            const struct axl_design_ctx *c, double timeout_s,
                                            char *msg)
{
    if (c->fa.bits > AXL_TABLE_MAX_BITS || c->fb.bits > AXL_TABLE_MAX_BITS)
        return AXL_OK;
    struct axl_table_opts o;
    memset(&o, 0, sizeof o);
    o.skip_metrics = 1;
    o.max_bits = AXL_TABLE_MAX_BITS;
    struct axl_table *t = NULL;
    char tmp[AXL_MSG_LEN];
    enum axl_status st = axl_table_generate_isolated(d, c, &o, timeout_s, &t, NULL, tmp);
    axl_table_free(t);
    if (st != AXL_OK)
        return axl_msgf(msg, st, "checking design %.100s on every %s x %s pair: %.300s", d->name,
                        c->fa.name, c->fb.name, tmp);
    return AXL_OK;
}
