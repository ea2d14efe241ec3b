/* axlut under mpirun (built with -DAXL_MPI): the world, --metrics-only over
 * ranks, and sweeps whose points rank 0 hands out.  Without MPI built in
 * every function here says "one rank of one".
 *
 * MPI starts only when mpirun launched us (its environment variables), so
 * that a plain `axlut` built with MPI never pays for, or depends on, an MPI
 * runtime. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/sweep.h"
#include "cli.h"

#ifdef AXL_HAVE_MPI
#include <mpi.h>

static int g_started = -1; /* -1: not asked yet */
static struct cli_mpi g_world = {0, 1};

void cli_mpi_world(struct cli_mpi *w)
{
    if (g_started < 0) {
        g_started = 0;
        const char *sz = getenv("OMPI_COMM_WORLD_SIZE");
        if (!sz)
            sz = getenv("PMI_SIZE");
        if (sz && atoi(sz) > 1) {
            int provided;
            MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
            MPI_Comm_rank(MPI_COMM_WORLD, &g_world.rank);
            MPI_Comm_size(MPI_COMM_WORLD, &g_world.size);
            g_started = 1;
            atexit(cli_mpi_end);
        }
    }
    *w = g_world;
}

void cli_mpi_end(void)
{
    int fin = 0;
    if (g_started == 1 && MPI_Finalized(&fin) == MPI_SUCCESS && !fin)
        MPI_Finalize();
}

int cli_mpi_all_ok(const struct cli_mpi *w, int ok)
{
    int all = ok;
    if (w->size > 1)
        MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return all;
}

/* Every rank learns whether any failed; the first failing rank's message
 * reaches every rank.  AXL_OK when none failed. */
static enum axl_status agree(const struct cli_mpi *w, enum axl_status st, char *msg)
{
    int mine = st == AXL_OK ? w->size : w->rank, first, code = (int)st;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (first == w->size)
        return AXL_OK;
    MPI_Bcast(&code, 1, MPI_INT, first, MPI_COMM_WORLD);
    MPI_Bcast(msg, AXL_MSG_LEN, MPI_CHAR, first, MPI_COMM_WORLD);
    return (enum axl_status)code;
}

enum axl_status cli_mpi_charz(const struct cli_mpi *w, struct axl_charz *z, char *msg)
{
    const uint64_t U = axl_charz_units(z), R = (uint64_t)w->size;
    const uint64_t u0 = U * (uint64_t)w->rank / R, u1 = U * (uint64_t)(w->rank + 1) / R;
    size_t ub;
    char *data = axl_charz_stats_data(z, &ub);
    if ((uint64_t)ub * U > (uint64_t)INT32_MAX)
        return axl_msgf(msg, AXL_ERR_TOO_LARGE, "too many units to gather over MPI");
    enum axl_status st = agree(w, axl_charz_stats(z, u0, u1, msg), msg);
    if (st != AXL_OK)
        return st;
    /* every rank gets every unit's statistics and combines them in unit
     * order, so all agree on the worst error the histogram spans */
    int *counts = malloc(2 * (size_t)w->size * sizeof *counts);
    if (!counts)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    int *displs = counts + w->size;
    for (int r = 0; r < w->size; r++) {
        uint64_t a = U * (uint64_t)r / R, b = U * (uint64_t)(r + 1) / R;
        counts[r] = (int)((b - a) * ub);
        displs[r] = (int)(a * ub);
    }
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_BYTE, data, counts, displs, MPI_BYTE, MPI_COMM_WORLD);
    free(counts);
    axl_charz_combine(z);
    st = agree(w, axl_charz_hist(z, u0, u1, msg), msg);
    if (st != AXL_OK)
        return st;
    uint64_t *h = axl_charz_hist_data(z);
    MPI_Allreduce(MPI_IN_PLACE, h, AXL_TABLE_HIST_BINS, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    return AXL_OK;
}


/* ---- sweeps: rank 0 hands out points, writes the lines ------------------ */

enum { TAG_POINT = 1, TAG_STOP = 2, TAG_RESULT = 3 };
enum { LINE_CAP = 4096, IN_FLIGHT = 2 };

/* A worker's answer for one point. */
struct result {
    int64_t index;
    int32_t status;
    char line[LINE_CAP];
    char msg[AXL_MSG_LEN];
};

static void worker(struct axl_sweep *sw)
{
    struct result *r = malloc(sizeof *r);
    for (;;) {
        int64_t i;
        MPI_Status ms;
        MPI_Recv(&i, 1, MPI_INT64_T, 0, MPI_ANY_TAG, MPI_COMM_WORLD, &ms);
        if (ms.MPI_TAG == TAG_STOP)
            break;
        if (!r) {
            MPI_Abort(MPI_COMM_WORLD, CLI_FAIL); /* cannot even say so */
            return;
        }
        r->index = i;
        r->msg[0] = '\0';
        r->status = (int32_t)axl_sweep_run_point(sw, (size_t)i, r->line, sizeof r->line, r->msg);
        MPI_Send(r, (int)sizeof *r, MPI_BYTE, 0, TAG_RESULT, MPI_COMM_WORLD);
    }
    free(r);
}

struct dispatch {
    struct axl_sweep *sw;
    size_t *todo, ntodo, next, done, failed;
    int tty;
    FILE *fails; /* the failed points' CSV lines, in memory until the end */
};

/* One CSV field, quoted where it holds a comma, a quote or a line break
 * (RFC 4180: quotes doubled), as the results CSV quotes its fields. */
static void csv_field(FILE *f, const char *s, int last)
{
    if (strpbrk(s, ",\"\r\n")) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', f);
            fputc(*s == '\r' || *s == '\n' ? ' ' : *s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
    fputc(last ? '\n' : ',', f);
}

static const char k_failed_header[] = "point,model,design,format,acc_format,adder,layers,message";

/* The failed points of this run into PATH (temporary name, renamed when
 * complete); none: a PATH left by an earlier run is removed, so that the
 * file never lists a point that has since succeeded. */
static enum axl_status write_failed(const char *path, const char *text, size_t failed, char *msg)
{
    if (!failed) {
        remove(path);
        return AXL_OK;
    }
    char tmp[1200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return axl_msgf(msg, AXL_ERR_INVALID, "%s: path too long", path);
    FILE *f = fopen(tmp, "w");
    int bad = !f || fprintf(f, "%s\n%s", k_failed_header, text ? text : "") < 0;
    if (f)
        bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        remove(tmp);
        return axl_msgf(msg, AXL_ERR_IO, "%s: cannot write the list of failed points", path);
    }
    return AXL_OK;
}

/* Records one finished point (its line, or its message). */
static enum axl_status record(struct dispatch *d, const struct result *r, char *msg)
{
    d->done++;
    if (r->status != AXL_OK) {
        const struct axl_sweep_point *p = axl_sweep_point_at(d->sw, (size_t)r->index);
        fprintf(stderr, "%saxlut sweep: point %lld (%s %s %s %s) failed: %s\n", d->tty ? "\n" : "",
                (long long)r->index + 1, p ? p->model : "?", p ? p->design : "?",
                p ? p->format : "?", p ? p->acc : "?", r->msg);
        d->failed++;
        if (d->fails) {
            fprintf(d->fails, "%lld,", (long long)r->index + 1);
            csv_field(d->fails, p ? p->model : "?", 0);
            csv_field(d->fails, p ? p->design : "?", 0);
            csv_field(d->fails, p ? p->format : "?", 0);
            csv_field(d->fails, p ? p->acc : "?", 0);
            csv_field(d->fails, p ? p->adder : "?", 0);
            csv_field(d->fails, p ? p->layers : "?", 0);
            csv_field(d->fails, r->msg, 1);
        }
    } else if (axl_sweep_append(d->sw, r->line, msg) != AXL_OK) {
        return AXL_ERR_IO;
    }
    if (d->tty)
        cli_bar("points", (int64_t)d->done, (int64_t)d->ntodo, "");
    return AXL_OK;
}

/* Sends worker w its next point, or STOP when none is left. */
static void feed(struct dispatch *d, int w, int *stopped)
{
    if (d->next < d->ntodo) {
        int64_t i = (int64_t)d->todo[d->next++];
        MPI_Send(&i, 1, MPI_INT64_T, w, TAG_POINT, MPI_COMM_WORLD);
    } else if (!stopped[w]) {
        int64_t none = -1;
        MPI_Send(&none, 1, MPI_INT64_T, w, TAG_STOP, MPI_COMM_WORLD);
        stopped[w] = 1;
    }
}

enum axl_status cli_mpi_sweep(const struct cli_mpi *w, struct axl_sweep *sw, int tty,
                              const char *failed, char *msg)
{
    if (w->rank != 0) {
        worker(sw);
        return AXL_OK;
    }
    char *fails_text = NULL;
    size_t fails_len = 0;
    struct dispatch d = {sw, NULL, 0, 0, 0, 0, tty, open_memstream(&fails_text, &fails_len)};
    size_t n = axl_sweep_count(sw);
    struct result *r = malloc(sizeof *r);
    d.todo = malloc((n ? n : 1) * sizeof *d.todo);
    int *stopped = calloc((size_t)w->size, sizeof *stopped);
    enum axl_status st = AXL_OK;
    if (!r || !d.todo || !stopped || !d.fails) {
        /* the workers wait for points: abort them rather than hang */
        fprintf(stderr, "axlut sweep: out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, CLI_FAIL);
    }
    for (size_t i = 0; i < n; i++)
        if (axl_sweep_pending(sw, i))
            d.todo[d.ntodo++] = i;
    /* each worker holds up to IN_FLIGHT points, so that it starts its next
     * one while rank 0 is busy with a point of its own */
    int inflight = 0;
    for (int k = 0; k < IN_FLIGHT; k++)
        for (int q = 1; q < w->size; q++) {
            size_t before = d.next;
            feed(&d, q, stopped);
            inflight += d.next > before;
        }
    while ((d.next < d.ntodo || inflight > 0) && st == AXL_OK) {
        int flag = 0;
        MPI_Status ms;
        /* results that came in: record them, refill their sender */
        while (st == AXL_OK && inflight > 0 &&
               (MPI_Iprobe(MPI_ANY_SOURCE, TAG_RESULT, MPI_COMM_WORLD, &flag, &ms), flag)) {
            MPI_Recv(r, (int)sizeof *r, MPI_BYTE, ms.MPI_SOURCE, TAG_RESULT, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
            inflight--;
            st = record(&d, r, msg);
            size_t before = d.next;
            feed(&d, ms.MPI_SOURCE, stopped);
            inflight += d.next > before;
        }
        if (st != AXL_OK)
            break;
        if (d.next < d.ntodo) { /* rank 0 runs a point too */
            r->index = (int64_t)d.todo[d.next++];
            r->msg[0] = '\0';
            r->status = (int32_t)axl_sweep_run_point(sw, (size_t)r->index, r->line,
                                                     sizeof r->line, r->msg);
            st = record(&d, r, msg);
        } else if (inflight > 0) {
            MPI_Probe(MPI_ANY_SOURCE, TAG_RESULT, MPI_COMM_WORLD, &ms);
        }
    }
    if (st != AXL_OK) {
        fprintf(stderr, "axlut sweep: %s\n", msg);
        MPI_Abort(MPI_COMM_WORLD, CLI_FAIL);
    }
    for (int q = 1; q < w->size; q++)
        feed(&d, q, stopped);
    if (tty)
        fprintf(stderr, "\r%60s\r", "");
    fclose(d.fails);
    if (write_failed(failed, fails_text, d.failed, msg) != AXL_OK)
        st = AXL_ERR_IO;
    else if (d.failed)
        st = axl_msgf(msg, AXL_ERR_INVALID, "%zu of %zu points failed (their messages above and "
                      "in %s); run the sweep again to retry them", d.failed, d.ntodo, failed);
    free(fails_text);
    free(stopped);
    free(d.todo);
    free(r);
    return st;
}

#else

void cli_mpi_world(struct cli_mpi *w)
{
    w->rank = 0;
    w->size = 1;
}

void cli_mpi_end(void) {}

int cli_mpi_all_ok(const struct cli_mpi *w, int ok)
{
    (void)w;
    return ok;
}

enum axl_status cli_mpi_charz(const struct cli_mpi *w, struct axl_charz *z, char *msg)
{
    (void)w;
    return axl_charz_run(z, msg);
}

enum axl_status cli_mpi_sweep(const struct cli_mpi *w, struct axl_sweep *sw, int tty,
                              const char *failed, char *msg)
{
    (void)failed;
    (void)w;
    (void)tty;
    return axl_sweep_run(sw, msg);
}

#endif
