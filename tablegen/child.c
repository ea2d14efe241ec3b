/* A child process for reading untrusted files (export/child.h says why). */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "axlut/user_design.h" /* axl_signal_name */

#if defined(__SANITIZE_ADDRESS__)
#define AXL_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AXL_UNDER_ASAN 1
#endif
#endif

/* Address space the child may add to what it inherits, besides the caller's. */
#define HEADROOM (1024ull << 20)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double timeout_s(void)
{
    const char *e = getenv("AXL_READ_TIMEOUT");
    char *end;
    double t = e ? strtod(e, &end) : 0.0;
    return e && end != e && *end == 0 && t > 0 && t < 1e6 ? t : AXL_CHILD_TIMEOUT_S;
}

/* What the child has now (the parent's mappings) plus room for the work.
 * Not under AddressSanitizer, which reserves terabytes of shadow memory up
 * front (and reports huge requests itself). */
static void limit_memory(uint64_t extra)
{
#ifndef AXL_UNDER_ASAN
    unsigned long long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return;
    int ok = fscanf(f, "%llu", &pages) == 1;
    fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    if (!ok || page <= 0)
        return;
    struct rlimit rl;
    rl.rlim_cur = rl.rlim_max = (rlim_t)(pages * (unsigned long long)page + extra + HEADROOM);
    setrlimit(RLIMIT_AS, &rl);
#else
    (void)extra;
#endif
}

int axl_child_start(struct axl_child *c, uint64_t extra_bytes, char *msg)
{
    int fds[2];
    memset(c, 0, sizeof *c);
    c->fd = -1;
    if (pipe(fds) != 0) {
        axl_msgf(msg, AXL_ERR_IO, "cannot make a child process to read in: pipe: %s",
                 strerror(errno));
        return -1;
    }
    fflush(NULL); /* nothing buffered is written twice */
    c->pid = fork();
    if (c->pid < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        axl_msgf(msg, AXL_ERR_IO, "cannot make a child process to read in: fork: %s", strerror(e));
        return -1;
    }
    if (c->pid == 0) {
        close(fds[0]);
        c->fd = fds[1];
#ifdef __linux__
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a parent that was killed */
#endif
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, STDERR_FILENO);
            close(null);
        }
        struct rlimit nocore = {0, 0};
        setrlimit(RLIMIT_CORE, &nocore);
        limit_memory(extra_bytes);
        return 0;
    }
    close(fds[1]);
    c->fd = fds[0];
    c->timeout = timeout_s();
    c->deadline = now_s() + c->timeout;
    return 1;
}

int axl_child_send(struct axl_child *c, const void *p, size_t n)
{
    const char *s = p;
    while (n > 0) {
        ssize_t w = write(c->fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

_Noreturn void axl_child_exit(struct axl_child *c, int rc)
{
    close(c->fd);
    _exit(rc);
}

int axl_child_recv(struct axl_child *c, void *p, size_t n)
{
    char *s = p;
    while (n > 0) {
        double left = c->deadline - now_s();
        if (left <= 0) {
            c->stuck = 1;
            return -1;
        }
        struct pollfd pf = {c->fd, POLLIN, 0};
        int pr = poll(&pf, 1, (int)(left * 1000.0) + 1);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0) {
            c->lost = 1;
            return -1;
        }
        if (pr == 0)
            continue;
        ssize_t r = read(c->fd, s, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            c->lost = 1;
            return -1;
        }
        s += r;
        n -= (size_t)r;
    }
    return 0;
}

enum axl_status axl_child_end(struct axl_child *c, int give_up, const char *path, char *msg)
{
    int status = 0;
    close(c->fd);
    c->fd = -1;
    if (give_up || c->stuck || c->lost)
        kill(c->pid, SIGKILL); /* nothing more to wait for (a dead child ignores it) */
    while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (c->stuck)
        return axl_msgf(msg, AXL_ERR_FORMAT,
                        "%s: reading it did not finish within %g s; stopped (a corrupt file?)",
                        path, c->timeout);
    if (give_up)
        return AXL_OK; /* the caller has its own verdict */
    if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
        return axl_msgf(msg, AXL_ERR_FORMAT,
                        "%s: reading it crashed the HDF5 library (%s): a corrupt file", path,
                        axl_signal_name(WTERMSIG(status)));
    if (c->lost || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return axl_msgf(msg, AXL_ERR_FORMAT,
                        "%s: reading it failed inside the HDF5 library (out of memory, or exit "
                        "status %d): a corrupt file",
                        path, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return AXL_OK;
}
