/* Reading an untrusted file in a child process.
 *
 * HDF5 1.10 is not robust to corrupt files: fuzzing axlut's readers
 * (tests/fuzz/README.md) made it write out of bounds while reading
 * variable-length strings from the global heap, ask for terabytes while
 * loading object headers into its metadata cache, loop, leak, and print
 * pages of diagnostics at exit.  No check before a read and no change of
 * schema rules those out, so a reader of table and dataset files does its
 * HDF5 work in a forked child and sends the result back through a pipe:
 *
 *     struct axl_child c;
 *     int r = axl_child_start(&c, extra_bytes, msg);
 *     if (r < 0) return error;                      (msg says why)
 *     if (r == 0) {                                 (the child)
 *         ... axl_child_send(&c, ...) ...
 *         axl_child_exit(&c, 0);                    (never returns)
 *     }
 *     ... axl_child_recv(&c, ...) ...               (the parent)
 *     st = axl_child_end(&c, give_up, path, msg);
 *
 * The child's stderr goes to /dev/null (a sanitizer's report becomes the
 * parent's one line), it dumps no core, and, outside AddressSanitizer
 * builds, its address space is limited to what it inherits plus
 * extra_bytes plus 1 GiB.  It never returns into the caller's code (it
 * leaves with _exit: neither the parent's stdio buffers nor HDF5's handlers
 * of the parent's open files run twice).  The parent waits at most
 * AXL_CHILD_TIMEOUT_S seconds in all (environment variable
 * AXL_READ_TIMEOUT, in seconds, to change it).  Exported by the tablegen
 * layer to the layers above (the dataset reader). */
#ifndef AXLUT_TABLEGEN_CHILD_H
#define AXLUT_TABLEGEN_CHILD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "axlut/status.h"

#define AXL_CHILD_TIMEOUT_S 60.0

struct axl_child {
    pid_t pid;
    int fd;          /* the child's end (write) in the child, the parent's (read) */
    double deadline; /* parent: the monotonic time it gives up */
    double timeout;  /* seconds */
    int stuck;       /* parent: a receive passed the deadline */
    int lost;        /* parent: a receive met the end of the pipe early */
};

/* Forks: 0 in the child, 1 in the parent, -1 (AXL_ERR_IO in msg) when no
 * child could be made. */
int axl_child_start(struct axl_child *c, uint64_t extra_bytes, char *msg);
/* Child: sends n bytes; -1 when the parent is gone. */
int axl_child_send(struct axl_child *c, const void *p, size_t n);
/* Child: ends the process with status rc. */
_Noreturn void axl_child_exit(struct axl_child *c, int rc);
/* Parent: receives n bytes before the deadline; 0, or -1 (c->stuck or
 * c->lost set). */
int axl_child_recv(struct axl_child *c, void *p, size_t n);
/* Parent: reaps the child (killed first when give_up or a receive failed)
 * and returns AXL_OK when it exited with status 0 and every receive
 * succeeded; otherwise AXL_ERR_FORMAT with one line "PATH: reading it ..."
 * saying how it ended (a signal, a time-out, an exit status). */
enum axl_status axl_child_end(struct axl_child *c, int give_up, const char *path, char *msg);

#endif
