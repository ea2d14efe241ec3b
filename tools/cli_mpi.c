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

#else

void cli_mpi_world(struct cli_mpi *w)
{
    w->rank = 0;
    w->size = 1;
}

void cli_mpi_end(void) {}

enum axl_status cli_mpi_charz(const struct cli_mpi *w, struct axl_charz *z, char *msg)
{
    (void)w;
    return axl_charz_run(z, msg);
}

#endif
