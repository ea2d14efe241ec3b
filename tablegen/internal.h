/* Private pieces shared by the tablegen sources. */
#ifndef AXLUT_TABLEGEN_INTERNAL_H
#define AXLUT_TABLEGEN_INTERNAL_H

#include "axlut/table.h"
#include "axlut/user_design.h"

struct axl_table {
    struct axl_table_info info;
    void *data; /* rows * cols * entry_bytes */
};

/* Bytes per entry for a result format of `bits` bits. */
static inline uint32_t axl_entry_bytes(uint32_t bits) { return bits <= 8 ? 1 : bits <= 16 ? 2 : 4; }

static inline uint32_t axl_entry_get(const void *data, uint32_t bytes, uint64_t i)
{
    switch (bytes) {
    case 1:
        return ((const uint8_t *)data)[i];
    case 2:
        return ((const uint16_t *)data)[i];
    default:
        return ((const uint32_t *)data)[i];
    }
}

/* A uintN format descriptor for 1 <= n <= 32 (the parser stops at 16). */
struct axl_format axl_tg_uint_format(uint32_t n);

/* Read and check the table file at path in this process (h5read.c): info
 * into *in, and the entries into a new *out unless out is NULL.  HDF5 is not
 * robust to corrupt files (it can crash, hang or allocate without bound),
 * so axl_table_load and axl_table_load_info call this in a child process
 * (read_child.c). */
enum axl_status axl_tg_table_read(const char *path, struct axl_table_info *in,
                                  struct axl_table **out, char *msg);

/* Derive rows, cols and entry_bytes from the table formats; checks limits. */
enum axl_status axl_tg_finish_info(struct axl_table_info *info, char *msg);

/* The table `d` bound as `c` gives, without entries (data NULL), and what
 * fills it: *ed and *ec are the design and context to evaluate over the
 * table's axes (the integer core over the significands for mantissa
 * tables, `d` and `c` otherwise). */
enum axl_status axl_tg_prepare(const struct axl_design *d, const struct axl_design_ctx *c,
                               const struct axl_table_opts *o, struct axl_table **out,
                               const struct axl_design **ed, struct axl_design_ctx *ec,
                               char *msg);

/* A result code with bits above the result format is a bug in the design,
 * except a sign-extended negative integer, which is accepted and masked. */
static inline int axl_tg_fix_code(const struct axl_format *fr, uint32_t *code)
{
    if (fr->bits >= 32)
        return 1;
    uint32_t mask = (1u << fr->bits) - 1u;
    uint32_t hi = *code & ~mask;
    if (hi == 0)
        return 1;
    if (fr->kind == AXL_KIND_INT && hi == ~mask && ((*code >> (fr->bits - 1)) & 1u)) {
        *code &= mask;
        return 1;
    }
    return 0;
}

/* The design's name, description, parameters, formats and provenance. */
void axl_tg_fill_common(struct axl_table_info *info, const struct axl_design *d,
                        const struct axl_design_ctx *c, const char *sha);

/* ---- metrics (metrics.c), shared with metrics-only characterisation ---- */

/* Sums and worst cases of one unit of pairs: a table row, or a chunk of
 * sampled pairs.  Units are combined in unit order (axl_tg_combine), which
 * makes the metrics independent of threads and ranks. */
struct axl_tg_row_stat {
    double sum_err, sum_abs, sum_sq, sum_red;
    double sum_q, sum_red2; /* err^4 and rel^2: the sampled metrics' intervals */
    double wce, wre_mag, wre, max_exact;
    uint32_t wce_a, wce_b, wre_a, wre_b;
    uint64_t compared, errors, nan, inf, exact_nf, mismatch, rel;
};

double axl_tg_decode_d(const struct axl_format *f, uint32_t code);
/* The rounding of the exact reference (stochastic designs: nearest). */
enum axl_round axl_tg_ref_round(const struct axl_table_info *in);
/* One pair (codes a, b, decoded xa, yb) whose unit gave `code`, into r. */
void axl_tg_pair_stat(const struct axl_table_info *in, enum axl_round round, uint32_t code,
                      uint32_t a, uint32_t b, double xa, double yb, struct axl_tg_row_stat *r);
/* Row a of a table (cols entries at row), into r. */
void axl_tg_row_stat(const struct axl_table_info *in, enum axl_round round, const void *row,
                     uint64_t a, double xa, const double *yv, struct axl_tg_row_stat *r);
/* The pair's error into the histogram h over [-R, R]. */
void axl_tg_pair_hist(const struct axl_table_info *in, enum axl_round round, uint32_t code,
                      double xa, double yb, double R, uint64_t *h);
/* n units in order into out (whose samples field says whether to add the
 * intervals); pairs: every pair of the evaluation. */
void axl_tg_combine(const struct axl_table_info *in, const struct axl_tg_row_stat *rs,
                    uint64_t n, uint64_t pairs, struct axl_metrics *out);

/* Evaluate row `a` of a table (cols entries of eb bytes at data + a * cols).
 * `cur_b`, when not NULL, receives each column just before its evaluation,
 * so that a crash can be traced to its operand pair.  Returns the first
 * column whose code is wider than the result format (*bad_code: that code;
 * the entry is stored as 0), or UINT64_MAX. */
static inline uint64_t axl_tg_eval_row(const struct axl_design *d, const struct axl_design_ctx *c,
                                       uint64_t cols, uint32_t eb, void *data, uint64_t a,
                                       volatile uint32_t *cur_b, uint32_t *bad_code)
{
    uint64_t bad = UINT64_MAX;
    const uint64_t base = a * cols;
    for (uint64_t b = 0; b < cols; b++) {
        if (cur_b)
            *cur_b = (uint32_t)b;
        uint32_t code = d->eval(c, (uint32_t)a, (uint32_t)b);
        if (!axl_tg_fix_code(&c->fr, &code)) {
            if (bad == UINT64_MAX) {
                bad = b;
                *bad_code = code;
            }
            code = 0;
        }
        if (eb == 1)
            ((uint8_t *)data)[base + b] = (uint8_t)code;
        else if (eb == 2)
            ((uint16_t *)data)[base + b] = (uint16_t)code;
        else
            ((uint32_t *)data)[base + b] = code;
    }
    return bad;
}

/* The message for a code wider than the result format at (a, b). */
enum axl_status axl_tg_bad_code(const struct axl_design *d, const struct axl_design_ctx *c,
                                uint64_t a, uint64_t b, uint32_t code, char *msg);

/* The descriptor checks of a user design (ABI, name, eval, ...); a one-line
 * message naming path on failure.  Follows the descriptor's pointers: call
 * it only on a design validated by axl_tg_validate_design. */
enum axl_status axl_tg_check_design(const char *path, const struct axl_design *d, char *msg);

/* Loads the compiled design `object` in a forked child, reads its
 * descriptor and probes eval (tablegen/validate.c), killing the child after
 * timeout_s (<= 0: no limit).  AXL_OK when it came back clean; otherwise
 * the descriptor's refusal, or AXL_ERR_INVALID naming the step (load,
 * descriptor member, probed pair) and the signal, exit status or limit. */
enum axl_status axl_tg_validate_design(const char *path, const char *object, double timeout_s,
                                       char *msg);

#endif
