/* The table kernels alone, one thread, no encoding, im2col or stores: one
 * task (16 channels x 128 positions, K = 576 as ResNet-18's 64-channel 3x3
 * convolution) run again and again through the int8 byte-permute kernel
 * (cpu/vbmi.c) and the small-table kernels (cpu/small.c) in each mode and
 * ISA, rounds interleaved so that a change of load weighs on all; prints the
 * median GMAC/s of each and its ratio to the int8 kernel.  Built and run by
 * tools/bench_small.sh:
 *   cc -O2 -std=c11 -Iemu/mac -Iinclude -Itables tools/bench_small_kernel.c \
 *      emu/mac/cpu/small.c emu/mac/cpu/vbmi.c -lm */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpu/small.h"
#include "cpu/vbmi.h"

enum { K = 576, NN = 16, LEN = 128, REPS = 200, ROUNDS = 7, NK = 8 };

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void)
{
    static uint8_t x[K * LEN];
    static uint32_t w[NN * K], out[NN * LEN];
    static int32_t ti8[256 * 256], ti4[16 * 16], ti6[64 * 64];
    static float tf4[16 * 16], tf6[64 * 64];
    for (int i = 0; i < K * LEN; i++)
        x[i] = (uint8_t)(rand() % 16);
    for (int i = 0; i < NN * K; i++)
        w[i] = (uint32_t)(rand() % 16);
    for (int i = 0; i < 256 * 256; i++) /* int8 x int8 products */
        ti8[i] = (int8_t)(i & 255) * (int8_t)(i >> 8);
    for (int i = 0; i < 16 * 16; i++) { /* int4 products; quarters up to 36 as e2m1 */
        ti4[i] = ((i & 15) - 8) * ((i >> 4) - 8);
        tf4[i] = (float)((i * 7) % 145 - 72) / 4.0f;
    }
    for (int i = 0; i < 64 * 64; i++) { /* int6 products; e3m2-like wide floats */
        ti6[i] = ((i & 63) - 32) * ((i >> 6) - 32);
        tf6[i] = (float)((i * 13) % 255 - 127) * (float)(1 << (i % 13)) / 64.0f;
    }
    struct axl_vbmi v8;
    if (!axl_vbmi_prepare(&v8, NULL, ti8, 256, 256)) {
        fprintf(stderr, "bench_small_kernel: this CPU has no AVX-512 VBMI\n");
        return 1;
    }
    struct {
        const char *name;
        const float *tf;
        const int32_t *ti;
        uint32_t n;
        int isa;
        unsigned modes;
    } ks[NK - 1] = {
        {"int4 avx512", NULL, ti4, 16, AXL_SMALL_AVX512, AXL_SMALL_ALL_MODES},
        {"e2m1-like avx512", tf4, NULL, 16, AXL_SMALL_AVX512, AXL_SMALL_ALL_MODES},
        {"e2m1-like forced to HI16 avx512", tf4, NULL, 16, AXL_SMALL_AVX512, 1u << AXL_SMALL_HI16},
        {"int6 avx512 (VPERMB)", NULL, ti6, 64, AXL_SMALL_AVX512, AXL_SMALL_ALL_MODES},
        {"e3m2-like wide floats avx512 (VPERMB)", tf6, NULL, 64, AXL_SMALL_AVX512, AXL_SMALL_ALL_MODES},
        {"int4 avx2", NULL, ti4, 16, AXL_SMALL_AVX2, AXL_SMALL_ALL_MODES},
        {"e2m1-like avx2", tf4, NULL, 16, AXL_SMALL_AVX2, AXL_SMALL_ALL_MODES},
    };
    struct axl_small sm[NK - 1];
    for (int i = 0; i < NK - 1; i++)
        if (!axl_small_prepare(&sm[i], ks[i].tf, ks[i].ti, ks[i].n, ks[i].n, ks[i].isa,
                               ks[i].modes)) {
            fprintf(stderr, "bench_small_kernel: %s not prepared\n", ks[i].name);
            return 1;
        }
    double rate[NK][ROUNDS], macs = (double)REPS * K * NN * LEN;
    for (int r = 0; r < ROUNDS; r++) {
        struct axl_vbmi_block vb = {.rows = v8.rows, .stride = v8.stride, .x = x, .xs = LEN,
                                    .w = w, .k = K, .nn = NN, .len = LEN, .out = out};
        double t = now();
        for (int i = 0; i < REPS; i++)
            axl_vbmi_run(&v8, 1, &vb);
        rate[0][r] = macs / (now() - t);
        for (int k = 0; k < NK - 1; k++) {
            struct axl_small_block sb = {.x = x, .xs = LEN, .w = w, .k = K, .nn = NN,
                                         .len = LEN, .out = out};
            t = now();
            for (int i = 0; i < REPS; i++)
                axl_small_run(&sm[k], &sb);
            rate[k + 1][r] = macs / (now() - t);
        }
    }
    for (int k = 0; k < NK; k++)
        qsort(rate[k], ROUNDS, sizeof rate[k][0], cmp);
    printf("| kernel (1 thread, K=%d, 16 channels x %d positions) | GMAC/s | / int8 VBMI |\n"
           "|---|---|---|\n| int8 VBMI (S16) | %.2f | 1.00x |\n",
           K, LEN, rate[0][ROUNDS / 2] / 1e9);
    for (int k = 0; k < NK - 1; k++)
        printf("| %s (mode %s) | %.2f | %.2fx |\n", ks[k].name,
               sm[k].mode == AXL_SMALL_Q16 ? "Q16" : sm[k].mode == AXL_SMALL_HI16 ? "HI16" : "32",
               rate[k + 1][ROUNDS / 2] / 1e9,
               rate[k + 1][ROUNDS / 2] / rate[0][ROUNDS / 2]);
    for (int k = 0; k < NK - 1; k++)
        axl_small_free(&sm[k]);
    axl_vbmi_free(&v8);
    return 0;
}
