/* The byte-permute kernels (emu/mac/cpu/vbmi.c) called directly, against a
 * scalar loop written here: synthetic tables that put the extremes of each
 * plane layout in play (int16 -32768 and 32767, uint16 65535, float
 * entries with sign, NaN and inf bit patterns, 32-bit entries), every
 * task shape the callers give (1..16 channels, 1..128 positions, reductions
 * shorter and longer than a tile and not a multiple of it), with the
 * refinements (VNNI, sign-symmetric half planes) on and off. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/vbmi.h"
#include "axlut/hd.h"

enum table_kind { T_HI16_SYM, T_HI16, T_S16, T_U16, T_I32, T_F32 };

/* A transposed table [b * na + a] of the kind asked for. */
static uint32_t *make_table(enum table_kind kind, uint32_t na, uint32_t nb, uint64_t seed)
{
    uint32_t *t = malloc((size_t)na * nb * sizeof *t);
    cr_assert(t);
    for (uint32_t b = 0; b < nb; b++)
        for (uint32_t a = 0; a < na; a++) {
            uint32_t r = axl_rand32(seed, (uint64_t)b * na + a), v;
            switch (kind) {
            case T_HI16_SYM:
            case T_HI16: /* float bits with the low half zero: any sign, exponent, NaN, inf */
                v = r & 0xFFFF0000u;
                break;
            case T_S16: /* int16, the extremes often */
                v = (uint32_t)(int32_t)(int16_t)(r % 7 == 0 ? (r & 8 ? 32767 : -32768) : (int16_t)r);
                break;
            case T_U16:
                v = r % 7 == 0 ? 65535u : (r & 0xFFFFu) | 0x8000u * (r >> 31);
                break;
            default: /* any 32 bits (float: small values so that sums round) */
                v = kind == T_F32 ? (r & 0x83FFFFFFu) | 0x38000000u : r;
                break;
            }
            t[(size_t)b * na + a] = v;
        }
    if (kind == T_HI16_SYM) { /* the entry of a | 0x80 is that of a, sign flipped, but
                                 in row 5 (as a NaN weight's) and in columns 0xFF and
                                 0x80 (as a second NaN code's) */
        for (uint32_t b = 0; b < nb; b++)
            for (uint32_t a = 0; a < 128; a++)
                t[(size_t)b * na + (a | 128)] =
                    t[(size_t)b * na + a] ^ (b == 5 || a == 127 || a == 0 ? 0 : 0x80000000u);
    }
    return t;
}

static float f_of(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* One task through the kernel and through the scalar loop; returns the
 * number of differing outputs (NaN compared by bits too). */
static int run_task(const struct axl_vbmi *v, const uint32_t *t, uint32_t na, uint32_t nb,
                    int isint, int64_t nn, int64_t len, int64_t k, uint64_t seed)
{
    uint8_t *x = aligned_alloc(64, (size_t)(k * 128));
    uint32_t *w = malloc((size_t)(nn * k) * sizeof *w);
    _Alignas(64) uint32_t out[AXL_VBMI_NG * 128];
    cr_assert(x && w);
    for (int64_t i = 0; i < k * 128; i++)
        x[i] = (uint8_t)(axl_rand32(seed, (uint64_t)i) % na);
    uint8_t *xk = aligned_alloc(64, (size_t)(k * 128)); /* as the callers convert them */
    cr_assert(xk);
    for (int64_t i = 0; i < k * 128; i++)
        xk[i] = v->xmap[x[i]];
    for (int64_t i = 0; i < nn * k; i++)
        w[i] = axl_rand32(seed + 1, (uint64_t)i) % nb;
    struct axl_vbmi_block a = {.rows = v->rows, .stride = v->stride, .x = xk, .xs = 128, .w = w,
                               .k = k, .nn = nn, .len = len, .out = out};
    axl_vbmi_run(v, isint, &a);
    _Alignas(64) uint32_t pm[128 * AXL_VBMI_NG]; /* the same task, position-major */
    memset(pm, 0xCD, sizeof pm);
    a.out = pm;
    a.pos_major = 1;
    axl_vbmi_run(v, isint, &a);
    int bad = 0;
    for (int64_t n = 0; n < nn; n++)
        for (int64_t i = 0; i < len; i++) {
            uint32_t want;
            if (isint) {
                uint32_t s = 0; /* wrapping int32 adds */
                for (int64_t kk = 0; kk < k; kk++)
                    s += t[(size_t)w[n * k + kk] * na + x[kk * 128 + i]];
                want = s;
            } else {
                float s = 0.0f; /* one float32 add per product, in k order */
                for (int64_t kk = 0; kk < k; kk++)
                    s += f_of(t[(size_t)w[n * k + kk] * na + x[kk * 128 + i]]);
                memcpy(&want, &s, sizeof want);
            }
            uint32_t got = out[n * 128 + i];
            if (pm[i * AXL_VBMI_NG + n] != got) {
                if (bad < 10)
                    cr_log_error("channel %lld position %lld: position-major %08x, "
                                 "channel-major %08x", (long long)n, (long long)i,
                                 pm[i * AXL_VBMI_NG + n], got);
                bad++;
            }
            if (got != want && !(f_of(got) != f_of(got) && f_of(want) != f_of(want) && !isint)) {
                if (bad < 10)
                    cr_log_error("channel %lld position %lld (nn %lld len %lld k %lld): %08x, "
                                 "want %08x", (long long)n, (long long)i, (long long)nn,
                                 (long long)len, (long long)k, got, want);
                bad++;
            }
        }
    free(x);
    free(xk);
    free(w);
    return bad;
}

/* Every task shape over one table. */
static void every_shape(enum table_kind kind, uint32_t na, int isint, int want_mode,
                        int refined, const char *label)
{
    if (!axl_vbmi_available()) {
        cr_log_info("no AVX-512 VBMI + VNNI here: %s not run", label);
        cr_skip_test();
    }
    if (!refined)
        setenv("AXL_CPU_KERNEL", "vbmi-basic", 1);
    uint32_t nb = 256;
    uint32_t *t = make_table(kind, na, nb, 17 + (uint64_t)kind);
    struct axl_vbmi v;
    int ok = axl_vbmi_prepare(&v, isint ? NULL : (const float *)(const void *)t,
                              isint ? (const int32_t *)(const void *)t : NULL, na, nb);
    unsetenv("AXL_CPU_KERNEL");
    cr_assert(ok, "%s: not prepared", label);
    cr_assert_eq(v.mode, want_mode, "%s: plane layout %d, want %d", label, v.mode, want_mode);
    static const int64_t nns[] = {1, 3, 16};
    static const int64_t lens[] = {1, 63, 64, 65, 100, 128};
    static const int64_t ks[] = {1, 7, 64, 65, 200};
    int bad = 0, runs = 0;
    for (size_t a = 0; a < 3; a++)
        for (size_t b = 0; b < 6; b++)
            for (size_t c = 0; c < 5; c++) {
                bad += run_task(&v, t, na, nb, isint, nns[a], lens[b], ks[c], 100 * a + 10 * b + c);
                runs++;
            }
    axl_vbmi_free(&v);
    free(t);
    cr_assert_eq(runs, 90);
    cr_assert_eq(bad, 0, "%s: %d outputs differ from the scalar loop", label, bad);
}

Test(vbmi, float_hi16_sign_symmetric) { every_shape(T_HI16_SYM, 256, 0, AXL_VBMI_HI16S, 1, "hi16s"); }
Test(vbmi, float_hi16_symmetric_table_basic)
{
    every_shape(T_HI16_SYM, 256, 0, AXL_VBMI_HI16, 0, "hi16 (refinements off)");
}
Test(vbmi, float_hi16_asymmetric) { every_shape(T_HI16, 256, 0, AXL_VBMI_HI16, 1, "hi16"); }
Test(vbmi, float_hi16_fewer_codes) { every_shape(T_HI16, 200, 0, AXL_VBMI_HI16, 1, "hi16 na=200"); }
Test(vbmi, float_32) { every_shape(T_F32, 256, 0, AXL_VBMI_32, 1, "float 32"); }
Test(vbmi, int_s16_vnni) { every_shape(T_S16, 256, 1, AXL_VBMI_S16, 1, "s16 vnni"); }
Test(vbmi, int_s16_basic) { every_shape(T_S16, 256, 1, AXL_VBMI_S16, 0, "s16 shifts"); }
Test(vbmi, int_u16) { every_shape(T_U16, 256, 1, AXL_VBMI_U16, 1, "u16"); }
Test(vbmi, int_32) { every_shape(T_I32, 256, 1, AXL_VBMI_32, 1, "int 32"); }

/* One entry off the symmetry (a NaN of the wrong sign, say) keeps the
 * full planes: the half planes would give the flipped bits. */
Test(vbmi, one_asymmetric_entry_keeps_full_planes)
{
    if (!axl_vbmi_available())
        cr_skip_test();
    uint32_t *t = make_table(T_HI16_SYM, 256, 256, 5);
    struct axl_vbmi v;
    cr_assert(axl_vbmi_prepare(&v, (const float *)(const void *)t, NULL, 256, 256));
    cr_assert_eq(v.mode, AXL_VBMI_HI16S);
    cr_assert_eq(v.xmap[0xFF], 0x7F);
    cr_assert_eq(v.xmap[0x80], 0x00);
    cr_assert_eq(v.xmap[0xC3], 0xC3);
    axl_vbmi_free(&v);
    t[(size_t)77 * 256 + 200] ^= 0x80000000u; /* row 77 flips on every column but 200 */
    cr_assert(axl_vbmi_prepare(&v, (const float *)(const void *)t, NULL, 256, 256));
    cr_assert_eq(v.mode, AXL_VBMI_HI16);
    cr_assert_eq(v.xmap[0xFF], 0xFF);
    axl_vbmi_free(&v);
    free(t);
}
