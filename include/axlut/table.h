/* Tables: a design evaluated over every pair of operand codes, its error
 * metrics against the exact unit, and the HDF5 file that holds both.
 *
 * Two kinds of table ("paths"):
 *   full      every (a, b) code pair of the operand formats, when each operand
 *             has at most AXL_TABLE_MAX_BITS bits (2^24 entries at most);
 *   mantissa  for a floating design that declares itself mantissa-only
 *             (sign and exponent exact): the table of its integer core
 *             (design->mantissa_core) over uint(m+1) x uint(m+1), the two
 *             significands with the hidden bit, for m <= AXL_TABLE_MAX_MANTISSA.
 * Anything wider has no table: the emulator calls the design's function.
 *
 * Entries are result codes in the smallest of uint8/uint16/uint32 that
 * holds the result format; row = operand a (activation), column = operand b
 * (weight): entry[a * cols + b].  The file layout and every metric are
 * defined in tables/SCHEMA.md.
 */
#ifndef AXLUT_TABLE_H
#define AXLUT_TABLE_H

#include <stddef.h>
#include <signal.h>
#include <stdint.h>

#include "design.h"
#include "format.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AXL_TABLE_SCHEMA_VERSION 1
#define AXL_TABLE_MAX_BITS 12     /* per operand, full tables */
#define AXL_TABLE_MAX_MANTISSA 11 /* mantissa bits, mantissa tables */
#define AXL_TABLE_HIST_BINS 64
#define AXL_TABLE_PROGRESS_MIN (1u << 20) /* progress reported above this many entries */

/* Stored in table files as the strings "full" and "mantissa". */
enum axl_table_path { AXL_TABLE_FULL = 0, AXL_TABLE_MANTISSA = 1 };

/* "full" or "mantissa" ("?" out of range), and its parser (AXL_ERR_INVALID
 * for another name). */
AXL_ENUM_NAMES_DECL(axl_table_path, axl_table_path_name, axl_table_path_parse);

/* Error of a table against the exact unit on the same formats; every field
 * is defined in tables/SCHEMA.md. */
struct axl_metrics {
    uint64_t pairs;          /* all operand pairs */
    uint64_t compared;       /* exact and approximate results both finite */
    uint64_t errors;         /* pairs whose result differs from exact (any pair) */
    uint64_t nan_results;    /* approximate result NaN */
    uint64_t inf_results;    /* approximate result +-inf */
    uint64_t exact_nonfinite; /* exact result NaN or +-inf */
    uint64_t special_mismatch; /* non-finite on one side and not the same on the other */
    uint64_t rel_pairs;      /* compared pairs with exact result != 0 */
    double ep;               /* errors / pairs */
    double mean_error;       /* bias: mean of (approx - exact) over compared */
    double mae, mse, rmse;
    double wce;              /* max |approx - exact| over compared */
    double mred;             /* mean |approx - exact| / |exact| over rel_pairs */
    double wre;              /* signed (approx - exact) / exact of largest magnitude */
    double max_exact;        /* max |exact| over compared */
    double nmed;             /* mae / max_exact (0 when max_exact is 0) */
    uint32_t wce_a, wce_b;   /* first pair (row-major) reaching wce */
    uint32_t wre_a, wre_b;   /* first pair reaching |wre| */
    /* The forms of the EvoApprox8b library, in percent. */
    double output_range;     /* 2^(result bits) for integers, 2 * max finite for floats */
    double ep_pct, mre_pct, wcre_pct, mae_pct, wce_pct;
    /* Histogram of (approx - exact) over compared pairs: bin i covers
     * [-R + i*w, -R + (i+1)*w), w = 2R/64, R = hist_range = wce, the last
     * bin closed; with R == 0 every pair is in bin 32. */
    double hist_range;
    uint64_t hist[AXL_TABLE_HIST_BINS];
    /* Sampled characterisation (axlut gen --metrics-only --samples N): the
     * number of uniformly drawn pairs (0: every pair was evaluated), the
     * seed, and the half-width of each mean's 95% confidence interval. */
    uint64_t samples, seed;
    double ci95_mean_error, ci95_mae, ci95_mse, ci95_mred, ci95_ep;
};

#define AXL_TABLE_STR 512

/* Everything a table file says about itself. */
struct axl_table_info {
    uint32_t path;                 /* enum axl_table_path */
    uint32_t op;                   /* enum axl_op */
    uint32_t round;                /* enum axl_round the design was bound with */
    struct axl_format fa, fb, fr;  /* the unit's operand and result formats */
    struct axl_format ta, tb, tr;  /* the table's axes and entries: fa, fb, fr for
                                      full tables, the core's for mantissa tables */
    uint64_t rows, cols;           /* 2^ta.bits, 2^tb.bits */
    uint32_t entry_bytes;          /* 1, 2 or 4 */
    uint32_t design_version;
    uint32_t nparams;
    char param_names[AXL_DESIGN_MAX_PARAMS][32];
    int32_t param[AXL_DESIGN_MAX_PARAMS];
    char design[64];
    char core_design[64];          /* mantissa tables; "" otherwise */
    char description[AXL_TABLE_STR];
    char citation[AXL_TABLE_STR];
    char parameters[AXL_TABLE_STR]; /* "k=4,n=2", "" without parameters */
    char source_sha256[72];        /* user designs; "" for built-ins */
    char generator_version[32];
    char generator_commit[48];
    char created[32];              /* ISO 8601 UTC */
    struct axl_metrics metrics;
    uint32_t metrics_only;         /* a file of metrics without /lut (gen --metrics-only) */
    char block_format[16];         /* the block-scaled format (block.h) whose element
                                      products the table serves, "" for none */
};

struct axl_table; /* opaque: info + entries */

/* Progress of a long evaluation: called from one thread at a time, with
 * done <= total entries. */
typedef void (*axl_progress_fn)(void *user, uint64_t done, uint64_t total);

struct axl_table_opts {
    int threads;           /* OpenMP threads; 0: the OpenMP default */
    int max_bits;          /* per-operand limit of full tables; 0: AXL_TABLE_MAX_BITS */
    axl_progress_fn progress; /* may be NULL; only for tables over AXL_TABLE_PROGRESS_MIN */
    void *progress_user;
    const char *source_sha256; /* user designs: hex SHA-256 of the source */
    /* Mantissa tables: the integer core; NULL looks up design->mantissa_core
     * among the built-ins. */
    const struct axl_design *mantissa_core;
    int skip_metrics; /* in-memory tables for the emulator: no metrics */
    const char *block_format; /* recorded: the block format the table serves (its element
                                 formats are the operands'); NULL or "" for none */
};

/* Which table serves `d` bound as `c`: full, mantissa, or none.  No table
 * gives AXL_ERR_TOO_LARGE and a message saying the emulator will call the
 * design's function directly.  max_bits 0 means AXL_TABLE_MAX_BITS. */
enum axl_status axl_table_choose_path(const struct axl_design *d, const struct axl_design_ctx *c,
                                      int max_bits, enum axl_table_path *out, char *msg);

/* Evaluate `d` (bound as `c`) over every operand pair and compute its
 * metrics.  The result is the same for any number of threads.  On success
 * *out owns a new table (axl_table_free); on error *out is NULL and msg
 * says why (e.g. a result code wider than the result format, naming the
 * operands). opts may be NULL. */
enum axl_status axl_table_generate(const struct axl_design *d, const struct axl_design_ctx *c,
                                   const struct axl_table_opts *opts, struct axl_table **out,
                                   char *msg);

/* Metrics of `n` results (row-major over rows x cols codes of ta, tb, result
 * codes of tr, operation op) against the exact unit.  Used by generate and
 * by tests; `entry_bytes` is 1, 2 or 4. threads 0: the OpenMP default. */
enum axl_status axl_table_compute_metrics(const struct axl_table_info *info, const void *entries,
                                          int threads, struct axl_metrics *out, char *msg);

/* For a program (the axlut CLI) before any other axlut call: HDF5's exit
 * handler is not installed, because a file whose close failed on a full
 * disk is left half-open by HDF5 1.10 and its handler then crashes at exit
 * (each file axlut writes is closed, or removed on failure, before it
 * returns); and SIGXFSZ is ignored, so that a write past the file-size
 * limit (ulimit -f) fails with EFBIG like one to a full disk and is
 * reported as such instead of killing the process.  Both are process-wide:
 * a library user decides for itself. */
void axl_file_io_init(void);

/* Write a table to `path` (HDF5, tables/SCHEMA.md) through a temporary file
 * renamed when complete.  An existing `path` is refused (AXL_ERR_INVALID)
 * unless `force`. */
enum axl_status axl_table_write(const struct axl_table *t, const char *path, int force,
                                char *msg);

/* Load and validate a table file: schema version, every attribute, the
 * dataset's shape and type against the formats.  AXL_ERR_IO when the file
 * cannot be opened, AXL_ERR_FORMAT when it is not a valid axlut table, with
 * the file and the field named in msg.  The file is read in a child process
 * (HDF5 can crash, hang or allocate without bound on a corrupt file): such
 * a file is AXL_ERR_FORMAT too, after at most 60 s (environment variable
 * AXL_READ_TIMEOUT, in seconds, to change it). */
enum axl_status axl_table_load(const char *path, struct axl_table **out, char *msg);

/* Read only the metadata and metrics (no entries). */
enum axl_status axl_table_load_info(const char *path, struct axl_table_info *out, char *msg);

void axl_table_free(struct axl_table *t);

const struct axl_table_info *axl_table_info(const struct axl_table *t);
/* The entries, rows * cols of entry_bytes each. */
const void *axl_table_data(const struct axl_table *t);
/* One entry (a < rows, b < cols). */
uint32_t axl_table_entry(const struct axl_table *t, uint32_t a, uint32_t b);

/* Build a table from given entries (copied), e.g. for tests or for tables
 * made elsewhere; metrics are computed.  `info` must have path, op, the six
 * formats and the names filled; rows/cols/entry_bytes are derived. */
enum axl_status axl_table_from_entries(const struct axl_table_info *info, const void *entries,
                                       struct axl_table **out, char *msg);

/* ---- characterisation without a table (axlut gen --metrics-only) ----
 *
 * A design's metrics and error histogram over every operand pair of formats
 * of up to 16 bits each (2^32 pairs for two 16-bit operands), or over N
 * uniformly drawn pairs for wider formats (each metric's mean then with a
 * 95% confidence interval), computed without storing a table.  The work is
 * split in units (a row of operand a, or a chunk of AXL_CHARZ_CHUNK samples)
 * that any thread or process may take: each unit's sums are kept apart and
 * added in unit order, so the metrics are the same bits for any number of
 * threads or MPI ranks, and equal axl_table_generate's where a table fits.
 * Two passes: the statistics, then (once the worst error is known) the
 * histogram. */
#define AXL_CHARZ_CHUNK (1u << 16)

struct axl_charz_opts {
    int threads;              /* 0: the OpenMP default */
    uint64_t samples, seed;   /* samples 0: every pair (operands of <= 16 bits each) */
    axl_progress_fn progress; /* units done of both passes over the units given; may be NULL */
    void *progress_user;
    volatile const sig_atomic_t *stop; /* set (a signal handler) to stop between units; may be NULL */
    const char *source_sha256; /* user designs */
};

struct axl_charz; /* opaque */

/* Binds the work; no evaluation yet.  AXL_ERR_TOO_LARGE (one line) for
 * operands too wide to enumerate without samples. */
enum axl_status axl_charz_create(const struct axl_design *d, const struct axl_design_ctx *c,
                                 const struct axl_charz_opts *o, struct axl_charz **out,
                                 char *msg);
uint64_t axl_charz_units(const struct axl_charz *z);
/* First pass over units [u0, u1): their statistics.  AXL_ERR_INVALID for a
 * code wider than the result format (naming the pair), AXL_ERR_IO when
 * *stop was set ("interrupted"). */
enum axl_status axl_charz_stats(struct axl_charz *z, uint64_t u0, uint64_t u1, char *msg);
/* The per-unit statistics (units * *unit_bytes bytes, plain data): a
 * process that computed other units copies them in here before combining. */
void *axl_charz_stats_data(struct axl_charz *z, size_t *unit_bytes);
/* The metrics from every unit's statistics (all must be computed). */
void axl_charz_combine(struct axl_charz *z);
/* Second pass over units [u0, u1), after axl_charz_combine: adds their
 * errors into the histogram (axl_charz_hist_data: AXL_TABLE_HIST_BINS
 * counts, to be summed across processes). */
enum axl_status axl_charz_hist(struct axl_charz *z, uint64_t u0, uint64_t u1, char *msg);
uint64_t *axl_charz_hist_data(struct axl_charz *z);
/* Info and metrics (hist included once every unit's histogram is in). */
const struct axl_table_info *axl_charz_info(struct axl_charz *z);
/* Every unit in this process: both passes and the combination. */
enum axl_status axl_charz_run(struct axl_charz *z, char *msg);
/* The metrics file: a table file without /lut (metrics_only = 1), written
 * like axl_table_write. */
enum axl_status axl_charz_write(struct axl_charz *z, const char *path, int force, char *msg);
void axl_charz_free(struct axl_charz *z);

/* axlut's cache directory ($AXL_CACHE_DIR, $XDG_CACHE_HOME/axlut or
 * ~/.cache/axlut) joined with `sub` ("" or NULL for the directory itself),
 * created when missing.  -1 when there is none or it cannot be made. */
int axl_cache_path(const char *sub, char *out, size_t cap);

/* SHA-256 of a buffer as 64 hex characters and a NUL. */
void axl_sha256_hex(const void *data, size_t n, char hex[65]);

#ifdef __cplusplus
}
#endif

#endif
