/* Table lookups by byte permutes (AVX-512 VBMI) for operand formats of at
 * most 8 bits: emu/mac/cpu/vbmi.c explains the method. */
#ifndef AXLUT_EMU_CPU_VBMI_H
#define AXLUT_EMU_CPU_VBMI_H

#include <stddef.h>
#include <stdint.h>

enum axl_vbmi_mode {
    AXL_VBMI_NONE = 0,
    AXL_VBMI_HI16, /* float entries whose low 16 bits are zero: two planes, bytes 2-3 */
    AXL_VBMI_S16,  /* int32 entries within int16: two planes, sign-extended */
    AXL_VBMI_U16,  /* int32 entries within uint16: two planes, zero-extended */
    AXL_VBMI_32,   /* any: four planes */
    AXL_VBMI_HI16S /* as HI16, and the product of code a | 0x80 is that of a with the sign
                      bit flipped (sign-magnitude formats): planes of 128 entries, the
                      row's flip byte (0x80 or 0) in bytes 128..191 of plane 0 */
};

/* The table as byte planes: row b at rows + b * stride, plane p at
 * + 256 * p, entry a at + a (rows padded to 256 entries with 0). */
struct axl_vbmi {
    uint8_t *rows;
    size_t stride;
    int mode, planes;
    int vnni; /* AXL_VBMI_S16: products widened and added by VPDPWSSD */
    /* the byte the kernels read for activation code a (callers convert
     * codes through it): a, except in AXL_VBMI_HI16S where a code whose
     * entries equal those of a - 128 (a NaN's) reads as a - 128 */
    uint8_t xmap[256];
};

#define AXL_VBMI_NG 16 /* output channels per task */
#define AXL_VBMI_KT 64 /* reductions per tile */

struct axl_bscale; /* cpu/bscale.h */

/* One task: NN (<= AXL_VBMI_NG) channels with weight codes w[n * k + kk]
 * over LEN (<= 128) positions whose activation codes are x[kk * xs + i]
 * (xs = 128 where the caller lays each block's tile out contiguously);
 * writes the raw 32-bit sums (float or int32 bits) to out[n * 128 + i]
 * (positions up to LEN rounded to 64 are written). */
struct axl_vbmi_block {
    const uint8_t *rows;
    size_t stride;
    const uint8_t *x;
    int64_t xs;
    const uint32_t *w;
    int64_t k, nn;
    int64_t len;
    uint32_t *out;
    /* 1: out[i * 16 + n] instead (position-major, unscaled tasks only): a
     * GEMM's outputs are rows of channels, written from 16 contiguous sums */
    int pos_major;
    /* block-scaled layers (axl_vbmi_run_scaled): the scales of the blocks
     * of bs->size reductions (k = bs->nb * bs->size) */
    const struct axl_bscale *bs;
};

/* 1 where this CPU has AVX-512 VBMI and VNNI and AXL_CPU_KERNEL is not
 * "gather". */
int axl_vbmi_available(void);
/* 1 where the refinements are allowed: int16 products summed by VPDPWSSD
 * and the sign-symmetric half planes (AXL_VBMI_HI16S);
 * AXL_CPU_KERNEL=vbmi-basic turns them off, so that tests compare the two. */
int axl_vbmi_refined(void);
/* Builds the planes of a transposed table (tf: float entries, or ti: int32
 * entries, [b * na + a]); returns 0 (and leaves V empty) where the table
 * does not qualify (more than 256 codes per operand), the CPU lacks VBMI,
 * or memory is short: the caller then keeps the gather path. */
int axl_vbmi_prepare(struct axl_vbmi *v, const float *tf, const int32_t *ti, uint32_t na,
                     uint32_t nb);
void axl_vbmi_free(struct axl_vbmi *v);
/* Runs one task; ISINT selects int32 adds (else float32 adds). */
void axl_vbmi_run(const struct axl_vbmi *v, int isint, const struct axl_vbmi_block *a);
/* A block-scaled task (float tables: modes HI16, HI16S, 32): the float32
 * sums of each block scaled by the block scales and added across blocks in
 * order (cpu/bscale.h); writes the float32 totals to out[n * 128 + i]. */
void axl_vbmi_run_scaled(const struct axl_vbmi *v, const struct axl_vbmi_block *a);

#endif
