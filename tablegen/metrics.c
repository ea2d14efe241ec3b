/* Error metrics of a table against the exact unit on the same formats
 * (definitions in tables/SCHEMA.md).
 *
 * The exact reference is computed here, independently of any design: the
 * integer product or sum of the decoded operands, or for floating results
 * the exact product or sum rounded once into the result format.  A product
 * of two float32 values is exact in double; a sum is not always, so its
 * rounding error is recovered with TwoSum (Knuth, TAOCP vol. 2, 4.2.2) and
 * passed to the one round-and-pack routine as the sticky remainder.
 *
 * Floating-point sums are accumulated per row and the rows added in row
 * order, so the metrics are the same bits for any number of threads. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

double axl_tg_decode_d(const struct axl_format *f, uint32_t code)
{
    if (f->kind == AXL_KIND_INT) {
        int64_t v = f->bits >= 32 ? (int64_t)code : (int64_t)(code & ((1u << f->bits) - 1u));
        if ((v >> (f->bits - 1)) & 1)
            v -= (int64_t)1 << f->bits;
        return (double)v;
    }
    if (f->kind == AXL_KIND_UINT)
        return (double)code;
    return (double)axl_format_decode(f, code);
}

/* r + e (exactly, |e| below half an ulp of r) rounded into f. */
static uint32_t round_into(const struct axl_format *f, double r, double e, enum axl_round round)
{
    if (isnan(r) || isinf(r))
        return axl_format_encode(f, (float)r, round, 0);
    uint32_t sign = signbit(r) ? 1u : 0u;
    if (r == 0)
        return axl_format_pack(f, sign, 0, 0, 0, round, 0);
    int ex;
    double m = frexp(fabs(r), &ex);
    uint64_t sig = (uint64_t)ldexp(m, 53);
    int k = ex - 53;
    uint32_t sticky = 0;
    if (e != 0) {
        sticky = 1;
        if ((e < 0) != (r < 0))
            sig -= 1; /* the true magnitude is below |r| */
    }
    return axl_format_pack(f, sign, sig, k, sticky, round, 0);
}

/* The exact unit's result for operand values x, y. */
static double exact_result(const struct axl_table_info *in, enum axl_round round, double x,
                           double y)
{
    double r, e = 0;
    if (in->op == AXL_OP_MUL) {
        r = x * y;
    } else {
        r = x + y;
        if (isfinite(r)) { /* TwoSum */
            double bv = r - x, av = r - bv;
            e = (x - av) + (y - bv);
        }
    }
    if (in->tr.kind != AXL_KIND_FLOAT)
        return r;
    return axl_tg_decode_d(&in->tr, round_into(&in->tr, r, e, round));
}

/* One pair of codes a, b (values xa, yb) whose unit gave `code`: returns 1
 * when both results are finite and sets *err, *exact. */
static int classify(const struct axl_table_info *in, enum axl_round round, uint32_t code,
                    double xa, double yb, struct axl_tg_row_stat *rs, double *err, double *exact)
{
    double ap = axl_tg_decode_d(&in->tr, code);
    double ex = exact_result(in, round, xa, yb);
    int equal = (isnan(ap) && isnan(ex)) || ap == ex;
    if (rs) {
        rs->nan += isnan(ap) != 0;
        rs->inf += isinf(ap) != 0;
        rs->exact_nf += !isfinite(ex);
        rs->errors += !equal;
    }
    if (isfinite(ap) && isfinite(ex)) {
        *err = ap - ex;
        *exact = ex;
        return 1;
    }
    if (rs && !equal)
        rs->mismatch++;
    return 0;
}

void axl_tg_pair_stat(const struct axl_table_info *in, enum axl_round round, uint32_t code,
                      uint32_t a, uint32_t b, double xa, double yb, struct axl_tg_row_stat *r)
{
    double err, ex;
    if (!classify(in, round, code, xa, yb, r, &err, &ex))
        return;
    double ae = fabs(err);
    r->compared++;
    r->sum_err += err;
    r->sum_abs += ae;
    r->sum_sq += err * err;
    r->sum_q += err * err * err * err;
    if (ae > r->wce) {
        r->wce = ae;
        r->wce_a = a;
        r->wce_b = b;
    }
    if (fabs(ex) > r->max_exact)
        r->max_exact = fabs(ex);
    if (ex != 0) {
        double rel = err / ex;
        r->rel++;
        r->sum_red += fabs(rel);
        r->sum_red2 += rel * rel;
        if (fabs(rel) > r->wre_mag) {
            r->wre_mag = fabs(rel);
            r->wre = rel;
            r->wre_a = a;
            r->wre_b = b;
        }
    }
}

void axl_tg_row_stat(const struct axl_table_info *in, enum axl_round round, const void *row,
                     uint64_t a, double xa, const double *yv, struct axl_tg_row_stat *r)
{
    for (uint64_t b = 0; b < in->cols; b++)
        axl_tg_pair_stat(in, round, axl_entry_get(row, in->entry_bytes, b), (uint32_t)a,
                         (uint32_t)b, xa, yv[b], r);
}

void axl_tg_pair_hist(const struct axl_table_info *in, enum axl_round round, uint32_t code,
                      double xa, double yb, double R, uint64_t *h)
{
    double err, ex;
    if (!classify(in, round, code, xa, yb, NULL, &err, &ex))
        return;
    int bin = AXL_TABLE_HIST_BINS / 2;
    if (R > 0) {
        double f = floor((err + R) / (2.0 * R / AXL_TABLE_HIST_BINS));
        bin = f < 0 ? 0 : f > AXL_TABLE_HIST_BINS - 1 ? AXL_TABLE_HIST_BINS - 1 : (int)f;
    }
    h[bin]++;
}

enum axl_round axl_tg_ref_round(const struct axl_table_info *in)
{
    return in->round == AXL_ROUND_STOCHASTIC || in->round > AXL_ROUND_STOCHASTIC
               ? AXL_ROUND_NEAREST_EVEN
               : (enum axl_round)in->round;
}

/* First pass: each row's sums and worst cases, into rs[row] (rows in any
 * order, each row's pairs in column order). */
static void row_stats(const struct axl_table_info *in, enum axl_round round, const void *entries,
                      const double *xv, const double *yv, int nt, struct axl_tg_row_stat *rs)
{
    const uint64_t rows = in->rows, cols = in->cols;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 4)
    for (int64_t a = 0; a < (int64_t)rows; a++)
        axl_tg_row_stat(in, round, (const char *)entries + (size_t)a * cols * in->entry_bytes,
                        (uint64_t)a, xv[a], yv, &rs[a]);
}

/* The units' statistics (rows, or chunks of samples) added in unit order
 * (so the same bits for any number of threads or ranks), and the metrics
 * that follow from the totals. */
void axl_tg_combine(const struct axl_table_info *in, const struct axl_tg_row_stat *rs,
                    uint64_t n, uint64_t pairs, struct axl_metrics *out)
{
    double sum_err = 0, sum_abs = 0, sum_sq = 0, sum_red = 0, wre_mag = 0;
    double sum_q = 0, sum_red2 = 0;
    int have_wce = 0;
    for (uint64_t a = 0; a < n; a++) {
        const struct axl_tg_row_stat *r = &rs[a];
        sum_err += r->sum_err;
        sum_abs += r->sum_abs;
        sum_sq += r->sum_sq;
        sum_red += r->sum_red;
        sum_q += r->sum_q;
        sum_red2 += r->sum_red2;
        out->compared += r->compared;
        out->errors += r->errors;
        out->nan_results += r->nan;
        out->inf_results += r->inf;
        out->exact_nonfinite += r->exact_nf;
        out->special_mismatch += r->mismatch;
        out->rel_pairs += r->rel;
        if (r->max_exact > out->max_exact)
            out->max_exact = r->max_exact;
        if (r->wce > out->wce || (!have_wce && r->wce > 0)) {
            out->wce = r->wce;
            out->wce_a = r->wce_a;
            out->wce_b = r->wce_b;
            have_wce = 1;
        }
        if (r->wre_mag > wre_mag) {
            wre_mag = r->wre_mag;
            out->wre = r->wre;
            out->wre_a = r->wre_a;
            out->wre_b = r->wre_b;
        }
    }
    out->pairs = pairs;
    out->ep = (double)out->errors / (double)out->pairs;
    if (out->compared) {
        double n = (double)out->compared;
        out->mean_error = sum_err / n;
        out->mae = sum_abs / n;
        out->mse = sum_sq / n;
        out->rmse = sqrt(out->mse);
    }
    if (out->rel_pairs)
        out->mred = sum_red / (double)out->rel_pairs;
    out->nmed = out->max_exact > 0 ? out->mae / out->max_exact : 0;
    out->output_range = in->tr.kind == AXL_KIND_FLOAT
                            ? 2.0 * (double)axl_format_max_finite(&in->tr)
                            : ldexp(1.0, in->tr.bits);
    out->ep_pct = 100.0 * out->ep;
    out->mre_pct = 100.0 * out->mred;
    out->wcre_pct = 100.0 * wre_mag;
    out->mae_pct = 100.0 * out->mae / out->output_range;
    out->wce_pct = 100.0 * out->wce / out->output_range;
    /* Sampled metrics: the normal approximation of each mean's 95% interval,
     * 1.96 standard errors (the pairs are independent uniform draws). */
    if (out->samples) {
        double n = (double)out->compared, nr = (double)out->rel_pairs, np = (double)pairs;
        double v_err = n > 1 ? (sum_sq / n - out->mean_error * out->mean_error) : 0;
        double v_abs = n > 1 ? (sum_sq / n - out->mae * out->mae) : 0;
        double v_sq = n > 1 ? (sum_q / n - out->mse * out->mse) : 0;
        double v_red = nr > 1 ? (sum_red2 / nr - out->mred * out->mred) : 0;
        out->ci95_mean_error = n > 1 ? 1.96 * sqrt(fmax(v_err, 0) / (n - 1)) : INFINITY;
        out->ci95_mae = n > 1 ? 1.96 * sqrt(fmax(v_abs, 0) / (n - 1)) : INFINITY;
        out->ci95_mse = n > 1 ? 1.96 * sqrt(fmax(v_sq, 0) / (n - 1)) : INFINITY;
        out->ci95_mred = nr > 1 ? 1.96 * sqrt(fmax(v_red, 0) / (nr - 1)) : INFINITY;
        out->ci95_ep = 1.96 * sqrt(out->ep * (1 - out->ep) / np);
    }
}

/* Second pass: the histogram of errors over [-wce, wce] (integer counts, so
 * the order of the additions does not matter). */
static void error_histogram(const struct axl_table_info *in, enum axl_round round,
                            const void *entries, const double *xv, const double *yv, int nt,
                            struct axl_metrics *out)
{
    const uint64_t rows = in->rows, cols = in->cols;
    const double R = out->wce;
    out->hist_range = R;
    uint64_t *hist = out->hist;
#pragma omp parallel num_threads(nt)
    {
        uint64_t h[AXL_TABLE_HIST_BINS] = {0};
#pragma omp for schedule(dynamic, 4)
        for (int64_t a = 0; a < (int64_t)rows; a++) {
            const void *row = (const char *)entries + (size_t)a * cols * in->entry_bytes;
            for (uint64_t b = 0; b < cols; b++)
                axl_tg_pair_hist(in, round, axl_entry_get(row, in->entry_bytes, b), xv[a], yv[b],
                                 R, h);
        }
#pragma omp critical(axl_tg_hist)
        for (int i = 0; i < AXL_TABLE_HIST_BINS; i++)
            hist[i] += h[i];
    }
}

enum axl_status axl_table_compute_metrics(const struct axl_table_info *in, const void *entries,
                                          int threads, struct axl_metrics *out, char *msg)
{
    const uint64_t rows = in->rows, cols = in->cols;
    const enum axl_round round = axl_tg_ref_round(in);
    const int nt = threads > 0 ? threads : omp_get_max_threads();
    memset(out, 0, sizeof *out);
    struct axl_tg_row_stat *rs = calloc(rows, sizeof *rs);
    double *xv = malloc(rows * sizeof *xv), *yv = malloc(cols * sizeof *yv);
    if (!rs || !xv || !yv) {
        free(rs);
        free(xv);
        free(yv);
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory computing the metrics of %s",
                        in->design);
    }
    for (uint64_t a = 0; a < rows; a++)
        xv[a] = axl_tg_decode_d(&in->ta, (uint32_t)a);
    for (uint64_t b = 0; b < cols; b++)
        yv[b] = axl_tg_decode_d(&in->tb, (uint32_t)b);
    row_stats(in, round, entries, xv, yv, nt, rs);
    axl_tg_combine(in, rs, rows, rows * cols, out);
    error_histogram(in, round, entries, xv, yv, nt, out);
    free(rs);
    free(xv);
    free(yv);
    return AXL_OK;
}
