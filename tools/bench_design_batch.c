/* The designs' batch forms alone (design.h: axl_design_batch), one thread,
 * timed in thread CPU seconds so that a loaded machine weighs less: for
 * each case (design, parameter, format, form), blocks of 128 results (the
 * kernels' block) over fixed random operand codes, at every ISA level this
 * CPU has; prints the median ns per result of ROUNDS rounds.  No kernel,
 * decode or accumulator around the form: what a change of the floating
 * designs' shared code (unpack, specials, round-and-pack) does to the forms
 * the function path and the code accumulators call.  Built and run by
 * tools/bench_design_batch.sh against two builds' object files. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "axlut/design.h"
#include "axlut/format.h"
#include "designs/registry.h"

enum { LEN = 128, NBLK = 64, REPS = 400, ROUNDS = 7 };

struct bcase {
    const char *design, *param, *format;
    int pair; /* 0: row (one weight, as the function path), 1: pair (an accumulator) */
};

static const struct bcase k_cases[] = {
    {"fpmul_mitchell", NULL, "fp32", 0},  {"fpmul_mitchell", NULL, "bf16", 0},
    {"fpmul_mitchell", NULL, "fp16", 0},  {"fpmul_drum", "k=4", "bf16", 0},
    {"fpadd_loa", "k=4", "fp16", 1},      {"fpadd_loa", "k=4", "bf16", 1},
    {"fpadd_loa", "k=4", "fp32", 1},      {"add_exact", NULL, "fp16", 1},
};

/* the results go somewhere the compiler cannot drop */
static volatile uint32_t g_sink;

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median ns per result of the case at one ISA level; < 0 when it does not bind. */
static double run_case(const struct bcase *k, int level)
{
    const struct axl_design *d = axl_design_find(k->design);
    struct axl_format f;
    struct axl_design_ctx c;
    char msg[AXL_MSG_LEN];
    if (!d || axl_format_parse(k->format, &f, msg) != AXL_OK)
        return -1;
    const char *p[1] = {k->param};
    if (axl_design_bind(d, &f, &f, d->op == AXL_OP_ADD ? &f : NULL, p, k->param ? 1 : 0, &c,
                        msg) != AXL_OK)
        return -1;
    struct axl_design_batch bt = axl_design_batch_at_level(d, level);
    static uint32_t x[NBLK][LEN], y[NBLK][LEN], out[LEN];
    /* finite values of moderate exponent, as a layer's activations,
     * weights and partial sums are: random codes with the exponent's top
     * bit cleared and the next one set (no NaN, inf or huge value) */
    const uint32_t top = 1u << (f.ebits + f.mbits - 1), next = top >> 1;
    const uint32_t mask = f.bits == 32 ? 0xFFFFFFFFu : (1u << f.bits) - 1u;
    for (int b = 0; b < NBLK; b++)
        for (int i = 0; i < LEN; i++) {
            x[b][i] = ((axl_rand32(1, (uint64_t)b * LEN + i) & mask) & ~top) | next;
            y[b][i] = ((axl_rand32(2, (uint64_t)b * LEN + i) & mask) & ~top) | next;
        }
    double t[ROUNDS];
    uint32_t sink = 0;
    for (int r = 0; r < ROUNDS; r++) {
        double t0 = cpu_now();
        for (int rep = 0; rep < REPS; rep++)
            for (int b = 0; b < NBLK; b++) {
                if (k->pair)
                    axl_batch_pair(&bt, &c, x[b], y[b], out, LEN);
                else
                    axl_batch_row(&bt, &c, x[b], y[b][rep % LEN], out, LEN);
                sink ^= out[rep % LEN];
            }
        t[r] = (cpu_now() - t0) * 1e9 / ((double)REPS * NBLK * LEN);
    }
    g_sink = sink;
    qsort(t, ROUNDS, sizeof t[0], cmpd);
    return t[ROUNDS / 2];
}

int main(void)
{
    static const char *const isa[] = {"scalar", "avx2", "avx512"};
    printf("case\tisa\tns_per_result\n");
    for (size_t i = 0; i < sizeof k_cases / sizeof k_cases[0]; i++)
        for (int level = axl_design_batch_hw_level(); level >= 0; level--) {
            const struct bcase *k = &k_cases[i];
            double ns = run_case(k, level);
            if (ns < 0)
                continue;
            printf("%s%s%s/%s/%s\t%s\t%.3f\n", k->design, k->param ? ":" : "",
                   k->param ? k->param : "", k->format, k->pair ? "pair" : "row", isa[level], ns);
            fflush(stdout);
        }
    return 0;
}
