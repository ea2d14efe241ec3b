/* Design-space sweeps: every combination of models, formats, designs,
 * accumulators and adders run over a dataset (the points of `axlut sweep`),
 * resumable, with results in CSV and JSON.
 *
 * A point is a configuration as `axlut run --mul DESIGN --format FMT ...`
 * gives it, restricted to the layers a glob selects (layers.h); each runs
 * like axl_run_dataset and leaves one line in RESULTS.csv, written as it
 * finishes, so that a sweep run again with the same results file skips the
 * points it finds there.  Full tables are generated once into the table
 * cache ($AXL_CACHE_DIR/tables, else ~/.cache/axlut/tables) and reused.
 *
 * Format lists are comma-separated format names or ranges
 * e<X1>..<X2>m<Y1>..<Y2> (either bound may be a single number:
 * e4m1..3, e3..8m2), which expand to every eXmY pair, exponent outermost.
 * Design lists are comma-separated design names, each with optional
 * parameters after colons: fpmul_drum:k=4, loa:k=2.
 */
#ifndef AXLUT_SWEEP_H
#define AXLUT_SWEEP_H

#include <stddef.h>
#include <stdint.h>

#include "emu.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AXL_SWEEP_NAME 64

/* Expand a format list; *out (malloc'd array of *n names of
 * AXL_SWEEP_NAME bytes) is freed by the caller.  Every name is checked with
 * axl_format_parse; a bad range or name gives AXL_ERR_INVALID and one line
 * saying which part is wrong. */
enum axl_status axl_sweep_formats(const char *list, char (**out)[AXL_SWEEP_NAME], size_t *n,
                                  char *msg);

struct axl_sweep_design {
    char name[AXL_SWEEP_NAME];
    char params[4][48]; /* "k=4" */
    int nparams;
    char label[160];    /* "fpmul_drum(k=4)" */
};

/* Split a design list (names are not checked here: the engine does). */
enum axl_status axl_sweep_designs(const char *list, struct axl_sweep_design **out, size_t *n,
                                  char *msg);

/* One point: the columns that name it in the results. */
struct axl_sweep_point {
    const char *model;
    const char *design; /* label: "fpmul_drum(k=4)" */
    const char *format;
    const char *acc;    /* "fp32" (exact adds) or the accumulator format */
    const char *adder;  /* adder label, or "" */
    const char *layers; /* the glob, "*", or (sensitivity) one layer's name */
};

typedef void (*axl_sweep_point_fn)(void *user, size_t i, size_t n,
                                   const struct axl_sweep_point *p);
typedef void (*axl_sweep_notice_fn)(void *user, const char *line);

struct axl_sweep_settings {
    const char *const *models;
    size_t nmodels;
    const char *data;
    const char *formats, *designs; /* lists as above */
    const char *acc_formats;       /* NULL: "fp32" */
    const char *adders;            /* NULL: none */
    const char *layers;            /* glob over layer names; NULL: every MAC layer */
    int sensitivity;               /* one layer at a time, first format and design */
    enum axl_backend backend;
    int64_t batch, limit;          /* <= 0: 64, every sample */
    axl_sweep_point_fn on_point;   /* before each point that runs; may be NULL */
    axl_sweep_notice_fn on_notice; /* one line when a table is generated; may be NULL */
    void *user;
    /* Shard shard_index (1..shard_count) of shard_count: the points whose
     * index i in the full list has i % shard_count == shard_index - 1.  Every
     * shard builds the same list, so the split is the same on every machine
     * and under resume.  0/0: every point. */
    int shard_index, shard_count;
};

/* The header line of RESULTS.csv. */
extern const char axl_sweep_csv_header[];

struct axl_sweep; /* opaque: the points, the models and their dataset */

/* Parse the lists, load the models and open the dataset for each, build
 * the points and check every configuration (no table is built yet).  Free
 * with axl_sweep_free. */
enum axl_status axl_sweep_create(const struct axl_sweep_settings *s, struct axl_sweep **out,
                                 char *msg);
size_t axl_sweep_count(const struct axl_sweep *sw);
/* Points of this shard (axl_sweep_count without shards). */
size_t axl_sweep_count_mine(const struct axl_sweep *sw);
/* Hex SHA-256 of the sweep's definition: the dataset, the limit and every
 * point's key in order.  Shards of one sweep share it; a shard's CSV opens
 * with the line "# axlut sweep sha256=HASH shard=I/N points=P". */
const char *axl_sweep_hash(const struct axl_sweep *sw);

/* Open the results CSV: the points an earlier run finished are read (an
 * unfinished last line is cut off), and the file is created with its
 * header when missing.  A file that is not a sweep's is refused. */
enum axl_status axl_sweep_resume(struct axl_sweep *sw, const char *csv, char *msg);
/* Points that axl_sweep_resume found finished. */
size_t axl_sweep_done(const struct axl_sweep *sw);

/* Run the points not finished yet, appending one line per point to the
 * CSV; the first failure stops the sweep (the lines of the points before
 * it stay). */
enum axl_status axl_sweep_run(struct axl_sweep *sw, char *msg);

/* Points one at a time, for a scheduler of the caller's (MPI ranks): the
 * columns of point i (NULL past the end); whether it is this shard's and
 * not finished by an earlier run; running it into its CSV line (ending in
 * '\n', at most cap bytes) without writing anything; appending a finished
 * line to the results CSV opened by axl_sweep_resume. */
const struct axl_sweep_point *axl_sweep_point_at(const struct axl_sweep *sw, size_t i);
int axl_sweep_pending(const struct axl_sweep *sw, size_t i);
enum axl_status axl_sweep_run_point(struct axl_sweep *sw, size_t i, char *line, size_t cap,
                                    char *msg);
enum axl_status axl_sweep_append(struct axl_sweep *sw, const char *line, char *msg);

/* JSON of every row of a results CSV: a list of objects with the columns
 * as keys, numbers as numbers, nan and inf as null (written to a temporary
 * name, renamed when complete). */
enum axl_status axl_sweep_write_json(const char *csv, const char *json, char *msg);

/* Combine the CSVs of every shard of one sweep (paths: n files, or
 * directories whose *.csv shard files are all taken) into csv and json,
 * rows in the order a single run writes them.  Shards of different sweeps,
 * a missing or repeated shard and a shard with unfinished points are
 * refused (AXL_ERR_INVALID, one line naming the file); nothing is written
 * then.  Outputs go to a temporary name, renamed when complete. */
enum axl_status axl_sweep_merge(const char *const *paths, size_t n, const char *csv,
                                const char *json, char *msg);

void axl_sweep_free(struct axl_sweep *sw);

#ifdef __cplusplus
}
#endif

#endif
