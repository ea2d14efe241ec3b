/* Characterising a design without a table (include/axlut/table.h,
 * axl_charz_*): the same per-pair statistics as metrics.c over every pair
 * or over counter-based random samples, unit by unit.
 *
 * Samples are drawn from a counter-based generator (SplitMix64, Steele,
 * Lea and Flood, "Fast splittable pseudorandom number generators",
 * OOPSLA 2014): pair k is a function of (seed, k) alone, so any thread or
 * rank that takes a unit draws the very pairs a single process would. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct axl_charz {
    const struct axl_design *d;
    struct axl_design_ctx c;
    struct axl_charz_opts o;
    struct axl_table_info info;
    enum axl_round round;
    uint64_t units, pairs;
    double *xv, *yv;             /* decoded operands (every pair) */
    struct axl_tg_row_stat *rs;  /* per unit */
    uint64_t hist[AXL_TABLE_HIST_BINS];
    uint64_t done, total;        /* progress over the units given */
};

uint64_t axl_charz_units(const struct axl_charz *z) { return z->units; }
uint64_t *axl_charz_hist_data(struct axl_charz *z) { return z->hist; }
const struct axl_table_info *axl_charz_info(struct axl_charz *z)
{
    memcpy(z->info.metrics.hist, z->hist, sizeof z->hist);
    return &z->info;
}

void *axl_charz_stats_data(struct axl_charz *z, size_t *unit_bytes)
{
    *unit_bytes = sizeof *z->rs;
    return z->rs;
}

void axl_charz_free(struct axl_charz *z)
{
    if (!z)
        return;
    free(z->xv);
    free(z->yv);
    free(z->rs);
    free(z);
}

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint32_t mask_of(const struct axl_format *f)
{
    return f->bits >= 32 ? 0xffffffffu : (1u << f->bits) - 1u;
}

/* Sample k: codes a and b from one 64-bit draw, independent halves. */
static void sample(const struct axl_charz *z, uint64_t k, uint32_t *a, uint32_t *b)
{
    uint64_t r = splitmix64(z->o.seed * 0x2545f4914f6cdd1dull + k);
    *a = (uint32_t)r & mask_of(&z->c.fa);
    *b = (uint32_t)(r >> 32) & mask_of(&z->c.fb);
}

enum axl_status axl_charz_create(const struct axl_design *d, const struct axl_design_ctx *c,
                                 const struct axl_charz_opts *o, struct axl_charz **out,
                                 char *msg)
{
    *out = NULL;
    if (!d || !c || !d->eval)
        return axl_msgf(msg, AXL_ERR_INVALID, "design %s has no eval function",
                        d && d->name ? d->name : "(null)");
    if (!o->samples && (c->fa.bits > 16 || c->fb.bits > 16))
        return axl_msgf(msg, AXL_ERR_TOO_LARGE,
                        "design %s over %s x %s: %u+%u bits are too many pairs to enumerate "
                        "(at most 16+16); sample them (--samples N)", d->name, c->fa.name,
                        c->fb.name, (unsigned)c->fa.bits, (unsigned)c->fb.bits);
    struct axl_charz *z = calloc(1, sizeof *z);
    if (!z)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    z->d = d;
    z->c = *c;
    z->o = *o;
    axl_tg_fill_common(&z->info, d, c, o->source_sha256);
    z->info.path = AXL_TABLE_FULL;
    z->info.metrics_only = 1;
    z->info.ta = c->fa;
    z->info.tb = c->fb;
    z->info.tr = c->fr;
    z->info.rows = (uint64_t)1 << c->fa.bits;
    z->info.cols = (uint64_t)1 << c->fb.bits;
    z->info.entry_bytes = c->fr.bits <= 8 ? 1 : c->fr.bits <= 16 ? 2 : 4;
    z->round = axl_tg_ref_round(&z->info);
    if (o->samples) {
        z->units = (o->samples + AXL_CHARZ_CHUNK - 1) / AXL_CHARZ_CHUNK;
        z->pairs = o->samples;
        z->info.metrics.samples = o->samples;
        z->info.metrics.seed = o->seed;
    } else {
        z->units = z->info.rows;
        z->pairs = z->info.rows * z->info.cols;
        z->xv = malloc(z->info.rows * sizeof *z->xv);
        z->yv = malloc(z->info.cols * sizeof *z->yv);
    }
    z->rs = calloc(z->units, sizeof *z->rs);
    if (!z->rs || (!o->samples && (!z->xv || !z->yv))) {
        axl_charz_free(z);
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    }
    for (uint64_t a = 0; z->xv && a < z->info.rows; a++)
        z->xv[a] = axl_tg_decode_d(&c->fa, (uint32_t)a);
    for (uint64_t b = 0; z->yv && b < z->info.cols; b++)
        z->yv[b] = axl_tg_decode_d(&c->fb, (uint32_t)b);
    *out = z;
    return AXL_OK;
}

/* The pairs of unit u, each through fn: exhaustive rows in column order,
 * sample chunks in draw order.  Returns the first bad pair's index within
 * the whole evaluation (UINT64_MAX: none), its code in *bad_code. */
#define FOR_EACH_PAIR(z, u, BODY)                                                                 \
    do {                                                                                          \
        uint64_t n_ = (z)->o.samples ? AXL_CHARZ_CHUNK : (z)->info.cols;                          \
        uint64_t k0_ = (u) * n_;                                                                  \
        if ((z)->o.samples && k0_ + n_ > (z)->o.samples)                                          \
            n_ = (z)->o.samples - k0_;                                                            \
        for (uint64_t j_ = 0; j_ < n_; j_++) {                                                    \
            uint32_t a, b;                                                                        \
            double xa, yb;                                                                        \
            if ((z)->o.samples) {                                                                 \
                sample((z), k0_ + j_, &a, &b);                                                    \
                xa = axl_tg_decode_d(&(z)->c.fa, a);                                              \
                yb = axl_tg_decode_d(&(z)->c.fb, b);                                              \
            } else {                                                                              \
                a = (uint32_t)(u);                                                                \
                b = (uint32_t)j_;                                                                 \
                xa = (z)->xv[a];                                                                  \
                yb = (z)->yv[b];                                                                  \
            }                                                                                     \
            uint32_t code = (z)->d->eval(&(z)->c, a, b);                                          \
            int ok = axl_tg_fix_code(&(z)->c.fr, &code);                                          \
            uint64_t at = k0_ + j_;                                                               \
            BODY                                                                                  \
        }                                                                                         \
    } while (0)

static void tick(struct axl_charz *z)
{
    uint64_t done;
#pragma omp atomic capture
    done = ++z->done;
    if (z->o.progress && omp_get_thread_num() == 0)
        z->o.progress(z->o.progress_user, done, z->total);
}

/* One pass (hist: the second) over units [u0, u1). */
static enum axl_status pass(struct axl_charz *z, uint64_t u0, uint64_t u1, int hist, char *msg)
{
    if (u1 > z->units)
        u1 = z->units;
    if (!hist) {
        z->done = 0;
        z->total = 2 * (u1 > u0 ? u1 - u0 : 0);
    }
    const int nt = z->o.threads > 0 ? z->o.threads : omp_get_max_threads();
    const double R = z->info.metrics.hist_range;
    uint64_t first_bad = UINT64_MAX, ua = 0, ub = 0;
    uint32_t bad_code = 0;
    int stopped = 0;
#pragma omp parallel num_threads(nt)
    {
        uint64_t h[AXL_TABLE_HIST_BINS] = {0};
        uint64_t my_bad = UINT64_MAX, my_a = 0, my_b = 0;
        uint32_t my_code = 0;
#pragma omp for schedule(dynamic, 1)
        for (int64_t ui = (int64_t)u0; ui < (int64_t)u1; ui++) {
            if (z->o.stop && *z->o.stop) {
#pragma omp atomic write
                stopped = 1;
                continue;
            }
            uint64_t u = (uint64_t)ui;
            struct axl_tg_row_stat *r = &z->rs[u];
            if (!hist)
                memset(r, 0, sizeof *r);
            FOR_EACH_PAIR(z, u, {
                if (!ok) {
                    if (at < my_bad) {
                        my_bad = at;
                        my_a = a;
                        my_b = b;
                        my_code = code;
                    }
                    continue;
                }
                if (hist)
                    axl_tg_pair_hist(&z->info, z->round, code, xa, yb, R, h);
                else
                    axl_tg_pair_stat(&z->info, z->round, code, a, b, xa, yb, r);
            });
            tick(z);
        }
#pragma omp critical(axl_charz)
        {
            if (my_bad < first_bad) {
                first_bad = my_bad;
                ua = my_a;
                ub = my_b;
                bad_code = my_code;
            }
            for (int i = 0; hist && i < AXL_TABLE_HIST_BINS; i++)
                z->hist[i] += h[i];
        }
    }
    if (first_bad != UINT64_MAX)
        return axl_tg_bad_code(z->d, &z->c, ua, ub, bad_code, msg);
    if (stopped)
        return axl_msgf(msg, AXL_ERR_IO, "interrupted: nothing written");
    return AXL_OK;
}

enum axl_status axl_charz_stats(struct axl_charz *z, uint64_t u0, uint64_t u1, char *msg)
{
    return pass(z, u0, u1, 0, msg);
}

void axl_charz_combine(struct axl_charz *z)
{
    struct axl_metrics *m = &z->info.metrics;
    uint64_t samples = m->samples, seed = m->seed;
    memset(m, 0, sizeof *m);
    m->samples = samples;
    m->seed = seed;
    axl_tg_combine(&z->info, z->rs, z->units, z->pairs, m);
    m->hist_range = m->wce;
    memset(z->hist, 0, sizeof z->hist);
}

enum axl_status axl_charz_hist(struct axl_charz *z, uint64_t u0, uint64_t u1, char *msg)
{
    return pass(z, u0, u1, 1, msg);
}

enum axl_status axl_charz_run(struct axl_charz *z, char *msg)
{
    enum axl_status st = axl_charz_stats(z, 0, z->units, msg);
    if (st != AXL_OK)
        return st;
    axl_charz_combine(z);
    st = axl_charz_hist(z, 0, z->units, msg);
    if (st == AXL_OK && z->o.progress)
        z->o.progress(z->o.progress_user, z->total, z->total);
    return st;
}

enum axl_status axl_charz_write(struct axl_charz *z, const char *path, int force, char *msg)
{
    struct axl_table t = {*axl_charz_info(z), NULL};
    return axl_table_write(&t, path, force, msg);
}
