/* axlut gen --metrics-only: a design's metrics and error histogram without
 * its table, over every pair (operands of up to 16 bits each) or over
 * --samples N drawn pairs; on one process (OpenMP) or, when axlut runs
 * under mpirun with MPI built in, over every rank (cli_mpi.c). */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void show(void *user, uint64_t done, uint64_t total)
{
    (void)user;
    cli_bar("units", (int64_t)done, (int64_t)total, "");
}

int cli_gen_metrics(const struct axl_design *d, const struct axl_design_ctx *c,
                    const struct cli_charz_args *a, void (*summary)(const struct axl_table_info *))
{
    char msg[AXL_MSG_LEN];
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    struct cli_mpi mpi;
    cli_mpi_world(&mpi);
    struct axl_charz_opts o = {
        .threads = a->threads, .samples = a->samples, .seed = a->seed,
        .progress = isatty(2) && mpi.rank == 0 ? show : NULL, .stop = &g_stop,
        .source_sha256 = a->source_sha256};
    struct axl_charz *z = NULL;
    double t0 = now_s();
    int rc = CLI_OK;
    enum axl_status st = axl_charz_create(d, c, &o, &z, msg);
    if (st != AXL_OK) {
        rc = CLI_USAGE;
    } else {
        st = mpi.size > 1 ? cli_mpi_charz(&mpi, z, msg) : axl_charz_run(z, msg);
        rc = st == AXL_OK ? CLI_OK : cli_exit_for(st);
    }
    if (st == AXL_OK && mpi.rank == 0) {
        if ((st = axl_charz_write(z, a->out, a->force, msg)) != AXL_OK)
            rc = st == AXL_ERR_INVALID ? CLI_USAGE : CLI_FAIL;
    }
    if (st != AXL_OK && mpi.rank == 0)
        fprintf(stderr, "axlut gen: %s%s\n", msg, g_stop ? "" : "; nothing written");
    if (st == AXL_OK && mpi.rank == 0) {
        const struct axl_table_info *in = axl_charz_info(z);
        double dt = now_s() - t0;
        printf("wrote %s in %.2f s (%.3g pairs/s over %d rank(s))\n", a->out, dt,
               (double)in->metrics.pairs / (dt > 0 ? dt : 1e-9), mpi.size);
        summary(in);
    }
    axl_charz_free(z);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return rc;
}
