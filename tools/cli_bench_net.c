/* axlut bench --network: whole-network throughput, images per second of the
 * approximate pass of `axlut run`, with each layer's weights prepared once
 * by its plan (the default) and, in the same run as the baseline, encoded
 * again on every call (axl_mac_cache_weights(m, 0)); then the whole of
 * `axlut run` (dataset reads included) with its exact reference and
 * without it (--no-reference: the approximate pass alone, no shadows), and
 * the exact reference pass by itself.  Rounds alternate all of them so that
 * a change of load weighs on each. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/dataset.h"
#include "axlut/graph.h"
#include "axlut/layers.h"
#include "axlut/run.h"
#include "cli.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* One pass over the dataset; images/s of the approximate pass (ips), of
 * the whole call (whole, may be NULL) and of the exact pass (exact, may be
 * NULL; 0 when it did not run). */
static int one_run(const struct axl_graph *g, const struct axl_layer_macs *lm,
                   struct axl_dataset *ds, const struct axl_run_settings *set, double *ips,
                   double *whole, double *exact)
{
    char msg[AXL_MSG_LEN];
    struct axl_run_report rep;
    memset(&rep, 0, sizeof rep);
    double t0 = omp_get_wtime();
    enum axl_status st = axl_run_dataset(g, lm->macs, ds, set, &rep, msg);
    double t = omp_get_wtime() - t0;
    if (st != AXL_OK) {
        fprintf(stderr, "axlut bench: %s\n", msg);
        axl_run_report_free(&rep);
        return cli_exit_for(st);
    }
    *ips = rep.samples_per_s;
    if (whole)
        *whole = t > 0 ? (double)rep.samples / t : 0;
    if (exact)
        *exact = rep.exact_seconds > 0 ? (double)rep.samples / rep.exact_seconds : 0;
    axl_run_report_free(&rep);
    return CLI_OK;
}

static void cache_weights(const struct axl_layer_macs *lm, int on)
{
    for (size_t i = 0; i < lm->nowned; i++)
        axl_mac_cache_weights(lm->owned[i], on);
}

int cli_bench_network(const struct cli_bench_net *o)
{
    char msg[AXL_MSG_LEN];
    int rc = CLI_USAGE;
    struct axl_graph *g = NULL;
    struct axl_layers *layers = NULL;
    struct axl_dataset *ds = NULL;
    struct axl_layer_macs lm = {0};
    if (cli_input_file("axlut bench", o->model) != CLI_OK ||
        cli_input_file("axlut bench", o->data) != CLI_OK)
        goto done;
    if (axl_graph_load(o->model, &g, msg) != AXL_OK || axl_layers_new(&layers, msg) != AXL_OK) {
        fprintf(stderr, "axlut bench: %s\n", msg);
        goto done;
    }
    for (int i = 0; i < o->nmac; i++)
        if (axl_layers_set_default(layers, o->mac_keys[i], o->mac_vals[i], msg) != AXL_OK) {
            fprintf(stderr, "axlut bench: --%s: %s\n", o->mac_keys[i], msg);
            goto done;
        }
    if (axl_layers_bind(layers, g, &lm, msg) != AXL_OK ||
        axl_dataset_open(o->data, g, &ds, msg) != AXL_OK) {
        fprintf(stderr, "axlut bench: %s\n", msg);
        goto done;
    }
    int reps = o->reps > 0 ? o->reps : 3;
    struct axl_run_settings set = {o->be, o->batch > 0 ? o->batch : 50, o->limit, NULL, NULL,
                                   NULL, 0, 0};
    struct axl_run_settings alone = set;
    alone.no_reference = 1;
    double once[64], every[64], with_ref[64], exact[64], no_ref[64], ips;
    printf("axlut bench --network %s: %lld image(s) a pass, batch %lld, %d thread(s), %d "
           "round(s)\n", o->model, (long long)o->limit, (long long)set.batch,
           omp_get_max_threads(), reps);
    cache_weights(&lm, 1); /* warm-up: tables built, weights encoded, caches warm */
    if ((rc = one_run(g, &lm, ds, &set, &ips, NULL, NULL)) != CLI_OK)
        goto done;
    for (int r = 0; r < reps; r++) {
        cache_weights(&lm, 1);
        if ((rc = one_run(g, &lm, ds, &set, &once[r], &with_ref[r], &exact[r])) != CLI_OK ||
            (rc = one_run(g, &lm, ds, &alone, &ips, &no_ref[r], NULL)) != CLI_OK)
            goto done;
        cache_weights(&lm, 0);
        if ((rc = one_run(g, &lm, ds, &set, &every[r], NULL, NULL)) != CLI_OK)
            goto done;
    }
    cache_weights(&lm, 1);
    double a = median(once, reps), b = median(every, reps);
    printf("%-40s %12s\n", "weights", "images/s");
    printf("%-40s %12.4g\n", "prepared once per plan (default)", a);
    printf("%-40s %12.4g\n", "encoded on every call (baseline)", b);
    printf("ratio %.3g (medians of the approximate pass, shadow layers included)\n", a / b);
    /* no_ref first: median() sorts in place, and the table prints medians only */
    double nr = median(no_ref, reps), wr = median(with_ref, reps), ex = median(exact, reps);
    printf("\n%-40s %12s\n", "whole axlut run (dataset reads included)", "images/s");
    printf("%-40s %12.4g\n", "with the exact reference (default)", wr);
    printf("%-40s %12.4g\n", "approximate pass alone (--no-reference)", nr);
    printf("%-40s %12.4g\n", "exact reference pass by itself", ex);
    rc = CLI_OK;
done:
    axl_layer_macs_free(&lm);
    axl_dataset_close(ds);
    axl_layers_free(layers);
    axl_graph_free(g);
    return rc;
}
