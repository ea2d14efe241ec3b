/* The roofline of the byte-permute table kernels (emu/mac/cpu/vbmi.c) on
 * the machine it runs on: the clock (a chain of dependent multiplies, three
 * cycles each), the throughput of each vector instruction the kernels use
 * (12 independent chains, so that latency does not limit it) and of pairs
 * of them (which ones share a port), and then, from the instructions the
 * kernels execute per 64 MACs in each plane layout, the ceiling in MAC per
 * cycle and GMAC/s per core.  The counts per layout are read off the
 * kernel's source (the table in k_layouts below, kept beside it); the port
 * model is what the pairs measure.  Output: one JSON object on stdout,
 * read by tools/roofline.py.
 *
 *   cc -O2 -mavx512f -mavx512bw -mavx512vbmi -mavx512vnni bench/roofline.c -o roofline
 *
 * Standalone on purpose (no library): it measures the core, not axlut. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <time.h>

/* Thread CPU time: on a loaded machine time-slicing does not count (a
 * sibling hyperthread's load still does). */
static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#define ITERS 20000000L

/* Seconds per iteration of a loop body of BODY (12 independent
 * instructions on zmm4..zmm15, reading zmm0..zmm3), best of 3. */
#define Z12(I)                                                                                    \
    I(4) I(5) I(6) I(7) I(8) I(9) I(10) I(11) I(12) I(13) I(14) I(15)
#define TIME_BODY(NAME, BODY)                                                                     \
    static double NAME(void)                                                                      \
    {                                                                                             \
        double best = 1e9;                                                                        \
        for (int r = 0; r < 3; r++) {                                                             \
            double t0 = now();                                                                    \
            for (long i = 0; i < ITERS; i++)                                                      \
                __asm__ volatile(BODY ::: "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",         \
                                 "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");           \
            double t = (now() - t0) / ITERS;                                                      \
            best = t < best ? t : best;                                                           \
        }                                                                                         \
        return best;                                                                              \
    }

#define PERM(r) "vpermi2b %%zmm1, %%zmm0, %%zmm" #r "\n\t"
#define UNPK(r) "vpunpcklbw %%zmm1, %%zmm0, %%zmm" #r "\n\t"
#define ADDD(r) "vpaddd %%zmm1, %%zmm" #r ", %%zmm" #r "\n\t"
#define ADDPS(r) "vaddps %%zmm1, %%zmm" #r ", %%zmm" #r "\n\t"
#define SLLD(r) "vpslld $16, %%zmm0, %%zmm" #r "\n\t"
#define ANDD(r) "vpandd %%zmm1, %%zmm0, %%zmm" #r "\n\t"
#define TERN(r) "vpternlogd $0x78, %%zmm1, %%zmm0, %%zmm" #r "\n\t"
#define BLND(r) "vpblendmb %%zmm1, %%zmm0, %%zmm" #r "%{%%k1%}\n\t"
#define DPWS(r) "vpdpwssd %%zmm1, %%zmm0, %%zmm" #r "\n\t"
#define PERM_SLLD(r) PERM(r) SLLD(r)
#define PERM_ADDD(r) PERM(r) ADDD(r)

TIME_BODY(t_perm, Z12(PERM))
TIME_BODY(t_unpk, Z12(UNPK))
TIME_BODY(t_addd, Z12(ADDD))
TIME_BODY(t_addps, Z12(ADDPS))
TIME_BODY(t_slld, Z12(SLLD))
TIME_BODY(t_andd, Z12(ANDD))
TIME_BODY(t_tern, Z12(TERN))
TIME_BODY(t_blnd, Z12(BLND))
TIME_BODY(t_dpws, Z12(DPWS))
TIME_BODY(t_perm_slld, Z12(PERM_SLLD))
TIME_BODY(t_perm_addd, Z12(PERM_ADDD))

/* Seconds per cycle: 12 dependent 64-bit multiplies per iteration, 3
 * cycles each on Intel since Sandy Bridge and on AMD since Zen (a chain of
 * adds of an immediate would not do: Golden Cove folds those at rename). */
static double t_cycle(void)
{
    double best = 1e9;
    for (int r = 0; r < 3; r++) {
        uint64_t x = 1;
        double t0 = now();
        for (long i = 0; i < ITERS; i++)
            __asm__ volatile("imul %0, %0\n\timul %0, %0\n\timul %0, %0\n\timul %0, %0\n\t"
                             "imul %0, %0\n\timul %0, %0\n\timul %0, %0\n\timul %0, %0\n\t"
                             "imul %0, %0\n\timul %0, %0\n\timul %0, %0\n\timul %0, %0"
                             : "+r"(x));
        double t = (now() - t0) / ITERS / 36.0;
        best = t < best ? t : best;
    }
    return best;
}

int main(void)
{
    __asm__ volatile("vpxord %%zmm0, %%zmm0, %%zmm0\n\tvpxord %%zmm1, %%zmm1, %%zmm1\n\t"
                     "kxnorq %%k1, %%k1, %%k1" ::: "xmm0", "xmm1", "k1");
    double cyc = t_cycle();
    struct {
        const char *name;
        double (*f)(void);
    } k[] = {{"vpermi2b", t_perm},   {"vpunpcklbw", t_unpk}, {"vpaddd", t_addd},
             {"vaddps", t_addps},    {"vpslld", t_slld},     {"vpandd", t_andd},
             {"vpternlogd", t_tern}, {"vpblendmb", t_blnd},  {"vpdpwssd", t_dpws},
             {"vpermi2b+vpslld", t_perm_slld}, {"vpermi2b+vpaddd", t_perm_addd}};
    printf("{\"ghz\": %.4f, \"per_cycle\": {", 1e-9 / cyc);
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        double t = k[i].f();
        /* instructions (or pairs) completed per cycle */
        printf("%s\"%s\": %.3f", i ? ", " : "", k[i].name, 12.0 * cyc / t);
    }
    printf("}}\n");
    return 0;
}
