/* Evaluating untrusted design code (a user's C file) without risking the
 * caller: the table is filled by a child process with a time limit.
 *
 * A design that crashes (SIGSEGV, SIGFPE, ...), ends the process, or never
 * returns must not take axlut down with it, and must be reported with the
 * operand pair it was evaluating.  The child writes the entries into shared
 * memory; each of its threads also records the (a, b) it is about to
 * evaluate, so the parent can name the pair after a crash or a timeout.
 * Metrics are computed by the parent (they never call the design).
 */
#ifndef AXLUT_TABLEGEN_ISOLATE_H
#define AXLUT_TABLEGEN_ISOLATE_H

#include <stdint.h>

#include "axlut/table.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AXL_ISOLATE_DEFAULT_TIMEOUT 60.0 /* seconds */

/* How an isolated evaluation ended. */
enum axl_isolate_outcome {
    AXL_ISOLATE_OK = 0,      /* table complete */
    AXL_ISOLATE_ERROR = 1,   /* refused or failed normally (bad result code, memory, ...) */
    AXL_ISOLATE_SIGNAL = 2,  /* the child was killed by a signal (a crash) */
    AXL_ISOLATE_TIMEOUT = 3, /* the time limit passed: the child was killed */
    AXL_ISOLATE_EXIT = 4,    /* the design ended the child itself (exit, _exit) */
};

struct axl_isolate_report {
    uint32_t outcome;        /* enum axl_isolate_outcome */
    int signal;              /* AXL_ISOLATE_SIGNAL: the signal number */
    int exit_status;         /* AXL_ISOLATE_EXIT: the child's exit status */
    int have_pair;           /* 1 when (a, b) names the pair being evaluated */
    uint32_t a, b;           /* the table's axes: codes, or significands for mantissa tables */
    double seconds;          /* wall time of the evaluation */
};

/* axl_table_generate, with the evaluation done in a forked child process
 * that is killed after `timeout_s` seconds (<= 0: no limit).  The same table
 * and metrics as axl_table_generate.  A crash, an exit of the child or a
 * timeout gives AXL_ERR_INVALID with one line in msg naming the design, the
 * signal (e.g. "SIGSEGV") or the limit, and the operand pair; `rep` (may be
 * NULL) says the same in fields.  *out is NULL on any error. */
enum axl_status axl_table_generate_isolated(const struct axl_design *d,
                                            const struct axl_design_ctx *c,
                                            const struct axl_table_opts *opts, double timeout_s,
                                            struct axl_table **out,
                                            struct axl_isolate_report *rep, char *msg);

/* "SIGSEGV" for SIGSEGV, ...; "signal N" for others (static or per-thread storage). */
const char *axl_signal_name(int sig);

#ifdef __cplusplus
}
#endif

#endif
