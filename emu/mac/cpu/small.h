/* Table lookups held in registers for operand formats of at most 64 codes
 * (int4/uint4 and narrower, FP4 e2m1, FP6 e3m2/e2m3, int6: any pair of
 * formats whose table is at most 64 x 64): emu/mac/cpu/small.c explains
 * the method.  Any plan whose table has at most 64 activation codes can
 * use it as its product source: it reads the transposed table the plan
 * prepared (float32 or int32 entries, [b * na + a]) and nothing else. */
#ifndef AXLUT_EMU_CPU_SMALL_H
#define AXLUT_EMU_CPU_SMALL_H

#include <stddef.h>
#include <stdint.h>

/* How a row's entries are held (values are tested; keep them). */
enum axl_small_mode {
    AXL_SMALL_NONE = 0,
    AXL_SMALL_Q16,  /* every entry an integer number of units q (a power of two; 1 for
                       integer tables) within +-32767: two planes, int16 partial sums */
    AXL_SMALL_HI16, /* float entries whose low 16 bits are zero: two planes, bytes 2-3 */
    AXL_SMALL_32,   /* any: four planes */
    AXL_SMALL_MODE_COUNT_
};
#define AXL_SMALL_ALL_MODES 0xEu /* bit (1 << mode) for each mode a prepare may choose */

/* Which vector instructions the kernel uses (values are tested; keep them). */
enum axl_small_isa {
    AXL_SMALL_ISA_NONE = 0,
    AXL_SMALL_AVX2,   /* VPSHUFB on 256 bits: 32 lookups per shuffle */
    AXL_SMALL_AVX512, /* VPSHUFB / VPERMB on 512 bits (AVX-512 BW + VBMI): 64 lookups */
};

/* The table as byte planes: row b at rows + b * stride, plane p at
 * + p * width, entry a at + a (rows padded with 0 to width = 16 or 64). */
struct axl_small {
    uint8_t *rows;
    size_t stride;
    int mode, planes, width, isa, isint;
    float quantum; /* Q16: the value of one unit (1 for integer tables) */
    int qexp;      /* Q16: log2(quantum) (a power of two) */
    int32_t qmax;  /* Q16: the largest |entry| in units (at least 1) */
};

#define AXL_SMALL_NG 16  /* output channels per task */
#define AXL_SMALL_KT 64  /* reductions per tile */
#define AXL_SMALL_LEN 128 /* positions per task, at most */

struct axl_bscale; /* cpu/bscale.h */

/* One task: NN (<= AXL_SMALL_NG) channels with weight codes w[n * k + kk]
 * over LEN (<= 128) positions whose activation codes are x[kk * xs + i]
 * (readable up to position 128); writes the 32-bit sums (float32 bits for
 * float tables, int32 for integer tables) to out[n * 128 + i], positions
 * up to LEN rounded to 64. */
struct axl_small_block {
    const uint8_t *x;
    int64_t xs;
    const uint32_t *w;
    int64_t k, nn;
    int64_t len;
    uint32_t *out;
    /* 1: out[i * 16 + n] instead (position-major, unscaled tasks only): a
     * GEMM's outputs are rows of channels, written from 16 contiguous sums */
    int pos_major;
    /* block-scaled layers (axl_small_run_scaled): the scales of the blocks
     * of bs->size reductions (k = bs->nb * bs->size) */
    const struct axl_bscale *bs;
};

/* The widest kernel this CPU runs, narrowed by AXL_CPU_KERNEL: "avx2"
 * gives AXL_SMALL_AVX2, "gather" or "scalar" AXL_SMALL_ISA_NONE. */
int axl_small_isa(void);
/* 1 where this CPU can run ISA's kernel (whatever AXL_CPU_KERNEL says). */
int axl_small_isa_supported(int isa);
/* Builds the planes of a transposed table (tf: float entries, or ti: int32
 * entries, [b * na + a]) for ISA, in the first of the modes in MODES (a
 * mask of 1 << mode; AXL_SMALL_ALL_MODES) that holds every entry, in the
 * order Q16, HI16, 32.  Returns 0 (and leaves S empty) where the table does
 * not qualify (more than 64 activation codes; for ISA AVX2 more than 16),
 * the CPU cannot run ISA, no mode in MODES fits, or memory is short: the
 * caller then keeps its other paths. */
int axl_small_prepare(struct axl_small *s, const float *tf, const int32_t *ti, uint32_t na,
                      uint32_t nb, int isa, unsigned modes);
void axl_small_free(struct axl_small *s);
/* 1 where S was prepared and gives the bits of k-ordered float32 (or int32)
 * adds over a reduction of length K: for float tables in Q16, every partial
 * sum must stay exact (K * qmax <= 2^24). */
int axl_small_usable(const struct axl_small *s, int64_t k);
/* Runs one task (S prepared and usable for a->k). */
void axl_small_run(const struct axl_small *s, const struct axl_small_block *a);
/* 1 where S (a float table) serves block-scaled tasks of blocks of SIZE
 * reductions: AVX-512, and in Q16 a block within one exact int16 tile. */
int axl_small_scaled_usable(const struct axl_small *s, int64_t size);
/* A block-scaled task (S scaled-usable for a->bs->size): each block's
 * float32 sums scaled by the block scales and added across blocks in order
 * (cpu/bscale.h); writes the float32 totals to out[n * 128 + i]. */
void axl_small_run_scaled(const struct axl_small *s, const struct axl_small_block *a);

#endif
