/* Shared pieces of the axlut command-line front end. */
#ifndef AXLUT_TOOLS_CLI_H
#define AXLUT_TOOLS_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "axlut/emu.h"
#include "axlut/format.h"
#include "axlut/table.h"

struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
};

/* Exit codes: 0 success, 1 failure while working, 2 bad usage or input. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* The exit status for a library error once the inputs are open: CLI_USAGE
 * where the input is at fault (invalid, malformed, mismatched, unsupported,
 * too large), CLI_FAIL for a failure while working (memory, I/O, CUDA, the
 * compiler).  Errors opening an input stay CLI_USAGE at their call. */
int cli_exit_for(enum axl_status st);

/* CLI_OK when path is a regular file, a directory or missing (the library
 * then says what is wrong); CLI_USAGE after one line "CMD: PATH: not a
 * regular file" for a device, FIFO or socket, which could be endless
 * (/dev/zero) or block forever. */
int cli_input_file(const char *cmd, const char *path);

/* A file named on the command line: the option that names it and the path
 * (NULL: not given). */
struct cli_file {
    const char *opt, *path;
};
/* CLI_OK when no output is the same file as an input or another output;
 * CLI_USAGE after one line "CMD: OPT PATH is the same file as OPT PATH
 * (...)" otherwise, before any work.  Existing files are compared by
 * device and inode, so another path or a hard link to an input counts;
 * outputs that do not exist yet, by name. */
int cli_outputs_distinct(const char *cmd, const struct cli_file *outs, size_t nout,
                         const struct cli_file *ins, size_t nin);

/* A progress bar on stderr: "LABEL [====>    ] done/total SUFFIX" over the
 * previous one, erased when done reaches total. */
void cli_bar(const char *label, int64_t done, int64_t total, const char *suffix);
/* A dataset run's progress callback (axl_run_progress_fn): a "samples" bar
 * when *(int *)tty is nonzero (stderr is a terminal), nothing otherwise. */
void cli_samples_bar(void *tty, int64_t done, int64_t total);

/* v as a percentage with two decimals ("91.92%"), "-" for NaN. */
void cli_pct(char *buf, size_t n, double v);

/* 1 when argv[i] asks for help. */
int cli_is_help(const char *arg);

/* --device cpu|cuda: the backend to use; cuda without a visible GPU gives
 * a one-line notice and the CPU.  CLI_USAGE (message printed) otherwise. */
int cli_backend(const char *cmd, const char *device, enum axl_backend *out);

/* JSON output (tools/cli_json.c).  A number as printf's "%.<digits>g"
 * writes it: the same value, an integer where that text is one, null for
 * inf and NaN. */
struct json_t;
struct json_t *cli_json_number(double v, int digits);
/* Text from a file (a table's citation, a path) as a JSON string, invalid
 * UTF-8 bytes replaced by U+FFFD (jansson refuses them). */
struct json_t *cli_json_text(const char *s);
/* Writes root (and drops the reference) indented by two, reals with
 * `digits` significant digits, then a newline: to path through path.tmp,
 * renamed when complete, or to stdout when path is NULL.  An exit status;
 * messages start with cmd. */
int cli_json_write(struct json_t *root, const char *path, int digits, const char *cmd);

/* 1 when arg is one of the MAC options of `axlut run` (--mul, --format,
 * ...), with *key the configuration field it sets (axl_layers_set_default). */
int cli_mac_option(const char *arg, const char **key);

/* axlut bench --network (tools/cli_bench_net.c). */
struct cli_bench_net {
    const char *model, *data;
    enum axl_backend be;
    int64_t batch, limit;
    int reps;
    const char *mac_keys[64], *mac_vals[64];
    int nmac;
};
int cli_bench_network(const struct cli_bench_net *o);

int cli_list(int argc, char **argv);
int cli_quantize(int argc, char **argv);
/* The block-scaled part of `list formats` and of `quantize` (cli_block.c):
 * vals[nv] from the arguments, or stdin with raw. */
void cli_list_block_formats(void);
int cli_quantize_block(const char *name, enum axl_round round, uint64_t seed, int raw, int decode,
                       const float *vals, int nv);
int cli_run(int argc, char **argv);
int cli_sweep(int argc, char **argv);
int cli_train(int argc, char **argv);
int cli_snn(int argc, char **argv);
int cli_gen(int argc, char **argv);

/* axlut gen --metrics-only (cli_charz.c): metrics without a table into
 * a->out, `summary` printing them; an exit status. */
struct cli_charz_args {
    const char *out;
    int force, threads;
    uint64_t samples, seed;
    const char *source_sha256;
};
int cli_gen_metrics(const struct axl_design *d, const struct axl_design_ctx *c,
                    const struct cli_charz_args *a, void (*summary)(const struct axl_table_info *));

/* MPI (cli_mpi.c): the world axlut runs in.  Without MPI built in, or when
 * not started by mpirun, one rank of one. */
struct cli_mpi {
    int rank, size;
};
/* Starts MPI when axlut runs under mpirun (first call; later calls give the
 * same answer); cli_mpi_end finishes it at exit. */
void cli_mpi_world(struct cli_mpi *w);
void cli_mpi_end(void);
/* 1 when ok is nonzero on every rank (each rank must call it). */
int cli_mpi_all_ok(const struct cli_mpi *w, int ok);
/* --metrics-only over the ranks: rows split in contiguous ranges, the
 * per-row statistics gathered on rank 0 and combined there in row order,
 * the histogram counts summed: the same bits as one process. */
enum axl_status cli_mpi_charz(const struct cli_mpi *w, struct axl_charz *z, char *msg);
/* A sweep over the ranks: rank 0 (whose sweep is resumed) hands the
 * pending points out one by one (two in flight per rank), runs points
 * itself in between, and appends each line as it arrives; the other ranks
 * run what they get.  A failed point is printed with its message and the
 * others go on (AXL_ERR_INVALID at the end: a rerun retries it); the failed
 * points of the run, with their messages, are written to FAILED (a CSV,
 * RESULTS.failed.csv; temporary name, renamed when complete), and a FAILED
 * left by an earlier run is removed when this one has no failure. */
struct axl_sweep;
enum axl_status cli_mpi_sweep(const struct cli_mpi *w, struct axl_sweep *sw, int tty,
                              const char *failed, char *msg);
int cli_info(int argc, char **argv);
int cli_bench(int argc, char **argv);
int cli_list_designs(void);

#endif
