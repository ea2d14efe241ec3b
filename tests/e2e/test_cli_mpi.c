/* axlut gen --metrics-only and axlut under mpirun, end to end: metrics
 * without a table equal the full table's (in the file too), for 1 and 2
 * threads and 3 ranks; SIGINT leaves nothing written; `mpirun -n 3 axlut
 * sweep` gives the rows of one process (in the order points finish) and
 * resumes after a kill.  The MPI tests skip, saying so, where axlut was
 * built without MPI (AXL_MPIEXEC unset). */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <string.h>
#include <unistd.h>

#include "e2e.h"

static void setup(void)
{
    e2e_setup("/tmp/axl_mpi_XXXXXX");
    setenv("AXL_CACHE_DIR", g_dir, 1);
}

TestSuite(cli_mpi, .init = setup, .fini = e2e_teardown);

/* Sanitizer builds: Open MPI's runtime keeps memory until exit, from
 * components it has unloaded by then (so no suppression can name them);
 * under mpirun leaks are not checked, everything else ASan checks is, and
 * the same library code is leak-checked by the single-process runs. */
#define MPI_ENV "ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0\" "
#ifdef AXL_MPIEXEC
#define MPIRUN MPI_ENV AXL_MPIEXEC " --allow-run-as-root --oversubscribe --mca btl self,vader -n 3"
#define NEED_MPI() (void)0
#else
#define MPIRUN "false"
#define NEED_MPI() cr_skip_test("axlut was built without MPI (AXL_MPI)")
#endif

/* The /metrics attributes and the histogram of two files are identical
 * (h5py reads them independently of axlut); 0 when they are. */
static int same_metrics(const char *a, const char *b, char *err, size_t cap)
{
    char py[128];
    snprintf(py, sizeof py, "%s/same_metrics.py", g_dir);
    FILE *f = fopen(py, "w");
    cr_assert(f);
    fputs("import sys, h5py\n"
          "a, b = (h5py.File(p, 'r') for p in sys.argv[1:])\n"
          "ka, kb = set(a['metrics'].attrs), set(b['metrics'].attrs)\n"
          "assert ka == kb and len(ka) > 20, (ka ^ kb)\n"
          "bad = [k for k in ka if a['metrics'].attrs[k] != b['metrics'].attrs[k]]\n"
          "assert not bad, [(k, a['metrics'].attrs[k], b['metrics'].attrs[k]) for k in bad]\n"
          "assert (a['error_histogram'][:] == b['error_histogram'][:]).all()\n"
          "assert a['error_histogram'][:].sum() == a['metrics'].attrs['compared']\n",
          f);
    fclose(f);
    return e2e_sh(NULL, err, cap, "/usr/bin/python3 %s %s/%s %s/%s", py, g_dir, a, g_dir, b);
}

#ifndef AXL_MPI16 /* the quick tests; test_cli_mpi16 runs only the long one */
Test(cli_mpi, metrics_only_equals_the_table_for_threads_and_ranks, .timeout = 600)
{
    char err[4096];
    const char *gen = "gen mitchell --format int12";
    cr_assert_eq(e2e_sh("o.txt", err, sizeof err, "%s %s -o %s/t.h5", g_axlut, gen, g_dir), 0,
                 "%s", err);
    cr_assert_eq(e2e_sh("o.txt", err, sizeof err, "%s %s --metrics-only --threads 1 -o %s/m1.h5",
                        g_axlut, gen, g_dir), 0, "%s", err);
    cr_assert_eq(e2e_sh("o.txt", err, sizeof err, "%s %s --metrics-only --threads 2 -o %s/m2.h5",
                        g_axlut, gen, g_dir), 0, "%s", err);
    cr_expect_eq(same_metrics("t.h5", "m1.h5", err, sizeof err), 0, "table vs 1 thread: %s", err);
    cr_expect_eq(same_metrics("m1.h5", "m2.h5", err, sizeof err), 0, "1 vs 2 threads: %s", err);
    /* the file is metrics only, and says so */
    cr_expect_eq(e2e_sh(NULL, err, sizeof err,
                        "/usr/bin/python3 -c \"import h5py,sys; f=h5py.File(sys.argv[1]); "
                        "assert 'lut' not in f and f.attrs['metrics_only'] == 1\" %s/m1.h5", g_dir),
                 0, "%s", err);
    cr_expect_eq(e2e_sh("info.txt", err, sizeof err, "%s info %s/m1.h5 | grep -q 'metrics only'",
                        g_axlut, g_dir), 0, "axlut info: %s", err);
    cr_expect_eq(e2e_sh(NULL, err, sizeof err, "%s run x.onnx --data y.h5 --mul %s/m1.h5",
                        g_axlut, g_dir) != 0, 1);
    /* wide formats: refused without samples, sampled with intervals */
    cr_expect_eq(e2e_sh(NULL, err, sizeof err, "%s gen mul_exact --format fp32 --metrics-only "
                        "-o %s/w.h5", g_axlut, g_dir), 2);
    cr_expect(strstr(err, "--samples N"), "%s", err);
    cr_expect_eq(e2e_sh(NULL, err, sizeof err, "%s gen mul_exact --format fp32 --metrics-only "
                        "--samples 100000 --seed 3 -o %s/w.h5 > %s/w.txt && grep -q "
                        "'95%% intervals' %s/w.txt", g_axlut, g_dir, g_dir, g_dir), 0, "%s", err);
    NEED_MPI();
    cr_assert_eq(e2e_sh("o.txt", err, sizeof err, "%s %s %s --metrics-only -o %s/m3.h5", MPIRUN,
                        g_axlut, gen, g_dir), 0, "%s", err);
    cr_expect_eq(same_metrics("m1.h5", "m3.h5", err, sizeof err), 0, "1 vs 3 ranks: %s", err);
    cr_assert_eq(e2e_sh("o.txt", err, sizeof err, "%s %s gen mul_exact --format fp32 "
                        "--metrics-only --samples 100000 --seed 3 -o %s/w3.h5", MPIRUN, g_axlut,
                        g_dir), 0, "%s", err);
    cr_expect_eq(same_metrics("w.h5", "w3.h5", err, sizeof err), 0, "sampled, 3 ranks: %s", err);
}

Test(cli_mpi, sigint_leaves_nothing_written, .timeout = 300)
{
    char err[4096];
    int rc = e2e_sh(NULL, err, sizeof err,
                    "(%s gen mitchell --format int16 --metrics-only -o %s/big.h5 & p=$!; sleep 1; "
                    "kill -INT $p; wait $p)", g_axlut, g_dir);
    cr_expect(rc != 0, "an interrupted run exited 0");
    cr_expect(strstr(err, "interrupted"), "%s", err);
    cr_expect_eq(e2e_sh(NULL, NULL, 0, "ls %s | grep -q big", g_dir), 1,
                 "a file (or its temporary) was left behind");
}

static const char k_sweep[] = "--formats e4m3,e3m2 --designs mul_exact,fpmul_mitchell "
                              "--acc-formats fp32,fp16 --limit 48 --quiet";

/* The rows of a results CSV without the seconds column, sorted. */
static int same_rows(const char *a, const char *b)
{
    return e2e_sh(NULL, NULL, 0,
                  "cd %s && test $(wc -l < %s) -ge 2 && sed 's/,[^,]*$//' %s | sort > a.s && "
                  "sed 's/,[^,]*$//' %s | sort > b.s && cmp a.s b.s", g_dir, a, a, b);
}

Test(cli_mpi, mpirun_sweep_gives_the_single_runs_rows_and_resumes, .timeout = 600)
{
    NEED_MPI();
    char err[4096];
    cr_assert_eq(e2e_sh("o.txt", err, sizeof err, "%s sweep '%s' --data '%s' %s -o %s/single",
                        g_axlut, g_lenet, g_lenet_data, k_sweep, g_dir), 0, "%s", err);
    cr_assert_eq(e2e_sh("o.txt", err, sizeof err, "%s %s sweep '%s' --data '%s' %s -o %s/par",
                        MPIRUN, g_axlut, g_lenet, g_lenet_data, k_sweep, g_dir), 0, "%s", err);
    cr_expect_eq(e2e_sh(NULL, NULL, 0, "test $(wc -l < %s/par.csv) -eq 9", g_dir), 0);
    cr_expect_eq(same_rows("single.csv", "par.csv"), 0, "mpirun -n 3 rows differ");
    cr_expect_eq(e2e_sh(NULL, NULL, 0, "/usr/bin/python3 -c \"import json,sys; "
                        "assert len(json.load(open(sys.argv[1]))) == 8\" %s/par.json", g_dir), 0);
    /* killed after 3 points, one line half written: the rerun finishes it */
    cr_assert_eq(e2e_sh(NULL, NULL, 0, "cd %s && head -n 4 par.csv > cut && printf 'lenet,mu' "
                        ">> cut && mv cut par.csv", g_dir), 0);
    cr_assert_eq(e2e_sh("o.txt", err, sizeof err, "%s %s sweep '%s' --data '%s' %s -o %s/par",
                        MPIRUN, g_axlut, g_lenet, g_lenet_data,
                        "--formats e4m3,e3m2 --designs mul_exact,fpmul_mitchell "
                        "--acc-formats fp32,fp16 --limit 48", g_dir), 0, "%s", err);
    cr_expect_eq(e2e_sh(NULL, NULL, 0, "grep -q '8 points (3 from an earlier run)' %s/o.txt",
                        g_dir), 0, "the rerun did not keep the finished points");
    cr_expect_eq(same_rows("single.csv", "par.csv"), 0, "resumed mpirun rows differ");
    /* bad input: every rank stops, one line, exit 2, no hang */
    cr_expect_eq(e2e_sh(NULL, err, sizeof err, "%s %s sweep '%s' --data '%s' --formats e4m3 "
                        "--designs nosuch -o %s/bad", MPIRUN, g_axlut, g_lenet, g_lenet_data,
                        g_dir), 2, "%s", err);
}

/* A point that fails on a rank (here: every point that needs a table, the
 * table cache being a regular file) does not stop the others; the failed
 * points are listed with their messages in RESULTS.failed.csv, and a rerun
 * that succeeds retries exactly them and removes the list. */
Test(cli_mpi, failed_points_are_listed_and_retried, .timeout = 600)
{
    NEED_MPI();
    char err[4096];
    cr_assert_eq(e2e_sh(NULL, NULL, 0, "echo x > %s/notadir", g_dir), 0);
    const char *pts = "--formats e4m3,bf16 --designs fpmul_mitchell --acc-formats fp32,fp16 "
                      "--limit 16 --quiet";
    int rc = e2e_sh("o.txt", err, sizeof err, "AXL_CACHE_DIR=%s/notadir %s %s sweep '%s' --data "
                    "'%s' %s -o %s/f", g_dir, MPIRUN, g_axlut, g_lenet, g_lenet_data, pts, g_dir);
    cr_expect_neq(rc, 0, "a sweep with failed points exited 0");
    cr_expect(strstr(err, "2 of 4 points failed") && strstr(err, "f.failed.csv"), "%s", err);
    /* the two bf16 points (no table) are results, the two e4m3 ones are listed */
    cr_expect_eq(e2e_sh(NULL, NULL, 0, "test $(wc -l < %s/f.csv) -eq 3 && test $(grep -c "
                        "',bf16,' %s/f.csv) -eq 2", g_dir, g_dir), 0, "results CSV");
    cr_expect_eq(e2e_sh(NULL, err, sizeof err,
                        "/usr/bin/python3 -c \"import csv,sys; r = list(csv.DictReader(open("
                        "sys.argv[1]))); assert len(r) == 2, r; "
                        "assert all(x['format'] == 'e4m3fn' or x['format'] == 'e4m3' for x in r), r; "
                        "assert sorted(x['acc_format'] for x in r) == ['fp16', 'fp32'], r; "
                        "assert all('cache' in x['message'] for x in r), r\" %s/f.failed.csv",
                        g_dir), 0, "failed list: %s", err);
    /* the rerun with a usable cache runs only those two and removes the list */
    cr_assert_eq(e2e_sh("o.txt", err, sizeof err, "%s %s sweep '%s' --data '%s' %s -o %s/f",
                        MPIRUN, g_axlut, g_lenet, g_lenet_data,
                        "--formats e4m3,bf16 --designs fpmul_mitchell --acc-formats fp32,fp16 "
                        "--limit 16", g_dir), 0, "%s", err);
    cr_expect_eq(e2e_sh(NULL, NULL, 0, "grep -q '4 points (2 from an earlier run)' %s/o.txt",
                        g_dir), 0, "the rerun did not keep the finished points");
    cr_expect_eq(e2e_sh(NULL, NULL, 0, "test $(wc -l < %s/f.csv) -eq 5 && ! test -e "
                        "%s/f.failed.csv", g_dir, g_dir), 0, "after the rerun");
}

#endif

#ifdef AXL_MPI16
/* 2^32 pairs of int16 through Mitchell's multiplier: one process of 2
 * threads and 3 ranks of 1 thread each (an uneven split) give the same
 * file contents (label sweep: minutes; the quick test runs int12 on 1 and
 * 3 ranks, and test_charz16 proves 1 vs 2 threads in-process). */
Test(cli_mpi, int16_metrics_same_for_threads_and_ranks, .timeout = 3600)
{
    NEED_MPI();
    char err[4096];
    const char *gen = "gen mitchell --format int16 --metrics-only";
    cr_assert_eq(e2e_sh("o.txt", err, sizeof err, "%s %s --threads 2 -o %s/t2.h5", g_axlut, gen,
                        g_dir), 0, "%s", err);
    cr_assert_eq(e2e_sh("o.txt", err, sizeof err, MPI_ENV "%s --allow-run-as-root "
                        "--oversubscribe --mca btl self,vader -n 3 %s %s --threads 1 -o %s/r3.h5",
                        AXL_MPIEXEC, g_axlut, gen, g_dir), 0, "%s", err);
    cr_expect_eq(same_metrics("t2.h5", "r3.h5", err, sizeof err), 0, "3 ranks: %s", err);
}
#endif
