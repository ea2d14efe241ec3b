/* User designs: a design written as one C file (include/axlut/design.h
 * says what it defines), compiled, cached and loaded; and evaluating such
 * untrusted code without risking the caller: the table is filled by a child
 * process with a time limit.
 *
 * A design that crashes (SIGSEGV, SIGFPE, ...), ends the process, or never
 * returns must not take axlut down with it, and must be reported with the
 * operand pair it was evaluating.  The child writes the entries into shared
 * memory; each of its threads also records the (a, b) it is about to
 * evaluate, so the parent can name the pair after a crash or a timeout.
 * Metrics are computed by the parent (they never call the design).
 */
#ifndef AXLUT_USER_DESIGN_H
#define AXLUT_USER_DESIGN_H

#include <stdint.h>

#include "axlut/table.h"

#ifdef __cplusplus
extern "C" {
#endif

struct axl_user_design; /* opaque: the loaded shared object */

/* Compile the C file `path` with $CC (default cc) -O3 -fPIC -shared (as the
 * batch wrapper includes it; -O2 alone when that fails) against
 * axlut's headers into a shared object cached by the SHA-256 of source,
 * compiler and flags (under $AXL_CACHE_DIR, $XDG_CACHE_HOME/axlut or
 * ~/.cache/axlut), validate it in a child process, then load it and check
 * its `axl_user_design` descriptor (ABI, name, eval).  The child loads the
 * object (its constructors run), reads every string of the descriptor and
 * probes eval over every pair of the 8-bit formats the design accepts and
 * a sample of wider ones; a crash, exit or hang there (killed after
 * axl_user_design_timeout() seconds) is AXL_ERR_INVALID with one line
 * naming the step, the signal and the pair, and the design never runs in
 * the caller.  On AXL_ERR_COMPILE, *log (if log is not NULL) receives the
 * compiler's output (malloc'd, caller frees; NULL when none). */
enum axl_status axl_user_design_load(const char *path, struct axl_user_design **out, char **log,
                                     char *msg);
/* The same with the child's time limit given (<= 0: no limit). */
enum axl_status axl_user_design_load_timeout(const char *path, double timeout_s,
                                             struct axl_user_design **out, char **log, char *msg);
/* The time limit of checks and evaluations of user designs that are not
 * given one: $AXL_DESIGN_TIMEOUT seconds when set (0: no limit), else
 * AXL_ISOLATE_DEFAULT_TIMEOUT. */
double axl_user_design_timeout(void);
const struct axl_design *axl_user_design_get(const struct axl_user_design *u);
/* Hex SHA-256 of the source file (64 characters). */
const char *axl_user_design_sha256(const struct axl_user_design *u);
/* Path of the cached shared object. */
const char *axl_user_design_object(const struct axl_user_design *u);
/* The C source that was compiled (for the GPU: NVRTC compiles it again)
 * and the path it came from. */
const char *axl_user_design_source(const struct axl_user_design *u);
const char *axl_user_design_path(const struct axl_user_design *u);
/* The batch forms generated around the design's eval (design.h): the
 * user's file is compiled as included by a generated wrapper that defines
 * them (-O3 -march=native, -ffp-contract=off so the eval's bits do not
 * change); both NULL when that compilation failed and the file was
 * compiled alone. */
void axl_user_design_batch(const struct axl_user_design *u, axl_batch_row_fn *row,
                           axl_batch_pair_fn *pair);
void axl_user_design_free(struct axl_user_design *u);

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

/* For a design that runs in-process as a function (an adder on every
 * accumulation): where c's operand formats fit a full table, every pair is
 * evaluated once in a child (axl_table_generate_isolated, the entries
 * dropped), so no pair can crash or hang the caller later; wider formats
 * have only the load-time probe, and AXL_OK is returned unchecked. */
enum axl_status axl_user_design_check_pairs(const struct axl_design *d,
                                            const struct axl_design_ctx *c, double timeout_s,
                                            char *msg);

/* "SIGSEGV" for SIGSEGV, ...; "signal N" for others (static or per-thread storage). */
const char *axl_signal_name(int sig);

#ifdef __cplusplus
}
#endif

#endif
