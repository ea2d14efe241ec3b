/* Do the byte-permute kernels (cpu/vbmi.c) wait on their table rows?  One
 * task (16 channels x 128 positions) run again and again, one thread, with
 * the weight codes spread over all 256 rows of a 256 x 256 table (each row
 * load comes from L2: the planes are 128 KB) and with a single code (the
 * row stays in L1), for the two layouts of the issue-19 shapes: float
 * entries with the sign-symmetric half planes (HI16S, e4m3 tables) and
 * int16 entries summed by VPDPWSSD (S16 + VNNI, int8 tables), at K = 1024
 * (the 256x1024x1024 linear layer) and K = 576 (the 64-channel 3x3
 * convolution).  Rounds interleaved; prints the median GMAC per CPU second
 * as markdown.
 *   cc -O2 -std=c11 -Iemu/mac -Iinclude -Itables tools/bench_vbmi_rows.c \
 *      emu/mac/cpu/vbmi.c -o /tmp/bench_vbmi_rows && /tmp/bench_vbmi_rows */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpu/vbmi.h"

enum { KMAX = 1024, NN = 16, LEN = 128, ROUNDS = 7 };

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); /* per CPU second: time-slicing on a loaded
                                                    machine does not count */
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void)
{
    static uint8_t x[KMAX * LEN];
    static uint32_t w_all[NN * KMAX], w_one[NN * KMAX], out[NN * LEN], bits[256 * 256];
    srand(1);
    for (int i = 0; i < KMAX * LEN; i++)
        x[i] = (uint8_t)rand();
    for (int i = 0; i < NN * KMAX; i++) {
        w_all[i] = (uint32_t)rand() & 255u;
        w_one[i] = 7;
    }
    struct axl_vbmi v[2]; /* HI16S, S16 + VNNI */
    for (int b = 0; b < 256; b++) /* float bits, low half zero, sign-symmetric columns */
        for (int a = 0; a < 128; a++) {
            bits[b * 256 + a] = (uint32_t)rand() << 16 & 0x7FFF0000u;
            bits[b * 256 + a + 128] = bits[b * 256 + a] ^ 0x80000000u;
        }
    int ok = axl_vbmi_prepare(&v[0], (const float *)(const void *)bits, NULL, 256, 256);
    for (int i = 0; i < 256 * 256; i++) /* int8 x int8 products */
        bits[i] = (uint32_t)((int8_t)(i & 255) * (int8_t)(i >> 8));
    ok = ok && axl_vbmi_prepare(&v[1], NULL, (const int32_t *)(const void *)bits, 256, 256);
    if (!ok || v[0].mode != AXL_VBMI_HI16S || v[1].mode != AXL_VBMI_S16 || !v[1].vnni) {
        fprintf(stderr, "bench_vbmi_rows: no AVX-512 VBMI + VNNI (or the refinements are off)\n");
        return 1;
    }
    static const int ks[2] = {1024, 576};
    double rate[2][2][2][ROUNDS]; /* layout, K, one row */
    for (int r = 0; r < ROUNDS; r++)
        for (int l = 0; l < 2; l++)
            for (int ki = 0; ki < 2; ki++)
                for (int one = 0; one < 2; one++) {
                    struct axl_vbmi_block blk = {.rows = v[l].rows, .stride = v[l].stride,
                                                 .x = x, .xs = LEN,
                                                 .w = one ? w_one : w_all, .k = ks[ki],
                                                 .nn = NN, .len = LEN, .out = out};
                    int reps = 100;
                    double t = now();
                    for (int i = 0; i < reps; i++)
                        axl_vbmi_run(&v[l], l, &blk);
                    rate[l][ki][one][r] = (double)reps * ks[ki] * NN * LEN / (now() - t);
                }
    printf("| kernel (1 thread, 16 channels x 128 positions) | K | GMAC/s, codes over 256 rows "
           "| GMAC/s, one row | one row / 256 rows |\n|---|---:|---:|---:|---:|\n");
    static const char *const names[2] = {"HI16S (e4m3-like)", "S16 + VNNI (int8)"};
    for (int l = 0; l < 2; l++)
        for (int ki = 0; ki < 2; ki++) {
            qsort(rate[l][ki][0], ROUNDS, sizeof(double), cmp);
            qsort(rate[l][ki][1], ROUNDS, sizeof(double), cmp);
            double all = rate[l][ki][0][ROUNDS / 2] / 1e9, one = rate[l][ki][1][ROUNDS / 2] / 1e9;
            printf("| %s | %d | %.2f | %.2f | %.2fx |\n", names[l], ks[ki], all, one, one / all);
        }
    axl_vbmi_free(&v[0]);
    axl_vbmi_free(&v[1]);
    return 0;
}
