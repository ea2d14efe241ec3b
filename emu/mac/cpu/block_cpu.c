/* CPU kernels (OpenMP) of block-scaled layers (emu/mac/block_plan.h): the
 * bits of axl_block_gemm_ref / axl_block_conv2d_ref, fast.
 *
 * Both reduce to one core over blocks, as kernels.c's core over codes:
 *
 *     out[n][m] = ACROSS_b  scale(SUM_i P(X[b,i][m], W[n][b,i]), XS[b][m], WS[n][b])
 *
 * X holds activation element codes with the output position m contiguous
 * (for convolutions an im2col of blocks: tap-major, channel blocks within a
 * tap, as the reference reduces), XS their block scale codes; W and WS the
 * weights' codes and scales, one row per output channel.  For a fixed
 * weight code the products of every activation code are one row of the
 * plan's product table, so a block's sum is `size` gathers into a block of
 * MB partial sums, each in element order; then one scaling per position
 * and block.  A task runs NG channels over MB positions block by block, so
 * the block's activation codes (size x MB codes) stay in L1 while every
 * channel of the task consumes them.
 *
 * Where the block sums and the adds across blocks are exact float32 (no
 * adder design) and the CPU has AVX-512 VBMI, the plan is `fused`
 * (block_plan.h): one register kernel per task of 16 channels does the
 * block sums, the scaling and the adds across blocks without the sums
 * leaving the registers (cpu/bscale.h), the small-table kernel for element
 * formats of at most 64 codes (e2m1, FP6), the VBMI kernel for 256 (e4m3,
 * e5m2, int8); the activation codes go straight into bytes, and for
 * convolutions in MX formats with floating elements they are quantized
 * where they lie (axl_block_quantize_cols: channel-major, the input's own
 * layout), so that the im2col copies runs of rows instead of transposing
 * every pixel's codes twice.  The rest runs
 * run_task: AXL_CPU_KERNEL=gather, AXL_CPU_KERNEL=avx2 for FP4/FP6 elements
 * (the small tables' AVX2 kernels have no fused form), block adders and
 * adders across blocks on codes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "../block_plan.h"
#include "bscale.h"
#include "gather.h"
#include "../mac_step.h"

#define MB 128 /* output positions per task */
#define NG 8   /* output channels per task */
_Static_assert(NG <= AXL_VBMI_NG, "a task fits the VBMI kernel");
_Static_assert(AXL_SMALL_NG == AXL_VBMI_NG, "one fused task size for both kernels");


/* The scaled terms of one block for one channel: MX, ldexp by the two
 * shared exponents (a multiply by 2^e gives ldexpf's bits while 2^e is a
 * normal float32, both being one correct rounding); NVFP4, two multiplies.
 * A NaN scale makes the term NaN, as the reference writes it.  The common
 * case (no NaN scale, every 2^e normal) is one vectorisable pass; the rest
 * goes lane by lane. */
AXL_CLONES static void scale_mx(const float *restrict s, const uint32_t *restrict xs, uint32_t ws,
                                float *restrict t, int n)
{
    const int ew = (int)ws - 127;
    int odd = ws == 255u;
    for (int i = 0; i < n; i++) {
        int e = (int)xs[i] - 127 + ew;
        odd |= (xs[i] == 255u) | (e < -126) | (e > 127);
    }
    if (!odd) {
        for (int i = 0; i < n; i++)
            t[i] = s[i] * axl_f32_from_bits((xs[i] + ws - 127u) << 23);
        return;
    }
    for (int i = 0; i < n; i++) {
        int e = (int)xs[i] - 127 + ew;
        if (xs[i] == 255u || ws == 255u)
            t[i] = NAN;
        else if (e >= -126 && e <= 127)
            t[i] = s[i] * axl_f32_from_bits((uint32_t)(e + 127) << 23);
        else
            t[i] = ldexpf(s[i], e);
    }
}

static void scale_nv(const struct axl_block_plan *bp, const float *s, const uint32_t *xs,
                     uint32_t ws, float *t, int n)
{
    const float sw = bp->svalue[ws];
    for (int i = 0; i < n; i++) {
        float sa = bp->svalue[xs[i]];
        t[i] = isnan(sa) || isnan(sw) ? NAN : (s[i] * sa) * sw;
    }
}

/* Block sums by permutes: for element formats of at most 16 (e2m1) or 64
 * (e3m2, e2m3) codes, the product row of one weight code is one or four
 * AVX-512 registers, so a lookup of 16 activation codes is one permute
 * (two and a blend for 64) instead of 16 gathered loads.  Each lane still
 * adds its products in element order, in float32: the same bits. */
#if defined(__x86_64__) && defined(__GNUC__)
#define PERM_TARGET __attribute__((target("avx512f")))

PERM_TARGET static void sums_perm16(const float *ptf, uint32_t na, const uint32_t *wr,
                                    const uint32_t *xb, int64_t xs, int64_t size, int lv,
                                    float *s)
{
    for (int v = 0; v < lv; v += 16) {
        __m512 acc = _mm512_setzero_ps();
        for (int64_t i = 0; i < size; i++) {
            __m512 row = _mm512_loadu_ps(ptf + (size_t)wr[i] * na);
            __m512i ix = _mm512_loadu_si512((const void *)(xb + i * xs + v));
            acc = _mm512_add_ps(acc, _mm512_permutexvar_ps(ix, row));
        }
        _mm512_storeu_ps(s + v, acc);
    }
}

PERM_TARGET static void sums_perm64(const float *ptf, uint32_t na, const uint32_t *wr,
                                    const uint32_t *xb, int64_t xs, int64_t size, int lv,
                                    float *s)
{
    const __m512i bit5 = _mm512_set1_epi32(32);
    for (int v = 0; v < lv; v += 16) {
        __m512 acc = _mm512_setzero_ps();
        for (int64_t i = 0; i < size; i++) {
            const float *row = ptf + (size_t)wr[i] * na;
            __m512i ix = _mm512_loadu_si512((const void *)(xb + i * xs + v));
            __m512 lo = _mm512_permutex2var_ps(_mm512_loadu_ps(row), ix, _mm512_loadu_ps(row + 16));
            __m512 hi = _mm512_permutex2var_ps(_mm512_loadu_ps(row + 32), ix,
                                               _mm512_loadu_ps(row + 48));
            __mmask16 up = _mm512_test_epi32_mask(ix, bit5);
            acc = _mm512_add_ps(acc, _mm512_mask_blend_ps(up, lo, hi));
        }
        _mm512_storeu_ps(s + v, acc);
    }
}

int axl_block_cpu_perm(const struct axl_block_plan *bp)
{
    const char *e = getenv("AXL_CPU_KERNEL");
    if ((e && !strcmp(e, "gather")) || bp->bcode)
        return 0;
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f"))
        return 0;
    return bp->na == 16 ? 16 : bp->na == 64 ? 64 : 0;
}
#else
int axl_block_cpu_perm(const struct axl_block_plan *bp)
{
    (void)bp;
    return 0;
}
#endif

/* The block sums of one block for one channel: exact float32 adds, or the
 * block adder on codes, decoded. */
static void block_sums(const struct axl_block_core *c, const uint32_t *wr, const uint32_t *xb,
                       int64_t len, int lv, float *s)
{
    const struct axl_block_plan *bp = c->bp;
#if defined(__x86_64__) && defined(__GNUC__)
    if (bp->perm == 16) {
        sums_perm16(bp->ptf, bp->na, wr, xb, c->mcount, c->size, lv, s);
        return;
    }
    if (bp->perm == 64) {
        sums_perm64(bp->ptf, bp->na, wr, xb, c->mcount, c->size, lv, s);
        return;
    }
#endif
    if (!bp->bcode) {
        memset(s, 0, sizeof(float) * MB);
        for (int64_t i = 0; i < c->size; i++)
            gather_add_f32(s, bp->ptf + (size_t)wr[i] * bp->na, xb + i * c->mcount, lv);
        return;
    }
    uint32_t acc[MB], p[MB];
    for (int64_t l = 0; l < len; l++)
        acc[l] = bp->bacc_zero;
    for (int64_t i = 0; i < c->size; i++) {
        const uint32_t *row = bp->ptc + (size_t)wr[i] * bp->na, *x = xb + i * c->mcount;
        for (int64_t l = 0; l < len; l++)
            p[l] = row[x[l]];
        axl_batch_pair(&bp->badd_b, &bp->badd_c, acc, p, acc, len);
    }
    axl_batch_decode(&bp->fbacc, acc, s, len);
}

/* Output row n of a task from its float32 totals: the NVFP4 tensor
 * scales, the canonical NaN, the bias. */
static void store(const struct axl_block_core *c, int64_t n, int64_t m0, int64_t len,
                  const float *acc)
{
    const float bias = c->bias ? c->bias[n] : 0.0f;
    const int nvfp = c->bp->bfa.scale == AXL_BSCALE_E4M3;
    int64_t img = m0 / c->p, q = m0 % c->p; /* position m0 + l: image img, pixel q */
    float *o = c->out + img * c->oi + n * c->sn;
    for (int64_t l = 0; l < len; l++) {
        float y = acc[l];
        if (nvfp)
            y *= c->tsinv;
        if (isnan(y)) /* the canonical NaN, as the reference gives it */
            y = NAN;
        o[q * c->sm] = c->bias ? y + bias : y;
        if (++q == c->p) { /* the next image */
            q = 0;
            o += c->oi;
        }
    }
}

static void run_task(const struct axl_block_core *c, int64_t n0, int64_t n1, int64_t m0, int64_t len)
{
    const struct axl_mac *m = c->m;
    const struct axl_block_plan *bp = c->bp;
    const int code_acc = m->add_d != NULL; /* every adder design runs on codes here */
    const int lv = (int)((len + 15) & ~15); /* whole vectors; the buffers are padded to MB */
    float accf[NG][MB];
    uint32_t accc[NG][MB];
    for (int64_t j = 0; j < n1 - n0; j++)
        for (int64_t l = 0; l < MB; l++) {
            accf[j][l] = 0.0f;
            accc[j][l] = m->acc_zero;
        }
    float s[MB], t[MB];
    uint32_t tc[MB];
    const int vbmi = bp->vb.mode != AXL_VBMI_NONE;
    union { /* the VBMI kernel's raw sums of one block, NG channels */
        _Alignas(64) uint32_t u[NG * MB];
        float f[NG * MB];
    } raw;
    uint32_t wblk[NG * AXL_BLOCK_MAX_SIZE];
    for (int64_t b = 0; b < c->nb; b++) {
        const uint32_t *xb = c->x + b * c->size * c->mcount + m0;
        const uint32_t *xsb = c->xs + b * c->mcount + m0;
        if (vbmi) { /* the block's sums of every channel of the task at once */
            for (int64_t n = n0; n < n1; n++)
                memcpy(wblk + (n - n0) * c->size, c->w + (n * c->nb + b) * c->size,
                       (size_t)c->size * sizeof *wblk);
            struct axl_vbmi_block vb = {.rows = bp->vb.rows, .stride = bp->vb.stride,
                                        .x = c->x8 + b * c->size * c->mcount + m0,
                                        .xs = c->mcount, .w = wblk, .k = c->size,
                                        .nn = n1 - n0, .len = len, .out = raw.u};
            axl_vbmi_run(&bp->vb, 0, &vb);
        }
        for (int64_t n = n0; n < n1; n++) {
            const uint32_t *wr = c->w + (n * c->nb + b) * c->size;
            uint32_t ws = c->ws[n * c->nb + b];
            if (vbmi)
                memcpy(s, raw.f + (n - n0) * MB, sizeof s);
            else
                block_sums(c, wr, xb, len, lv, s);
            if (bp->bfa.scale == AXL_BSCALE_E8M0)
                scale_mx(s, xsb, ws, t, (int)len);
            else
                scale_nv(bp, s, xsb, ws, t, (int)len);
            if (code_acc) {
                for (int64_t l = 0; l < len; l++)
                    tc[l] = axl_format_encode(&m->facc, t[l], AXL_ROUND_NEAREST_EVEN, 0);
                axl_batch_pair(&m->add_b, &m->add_c, accc[n - n0], tc, accc[n - n0], len);
            } else {
                float *a = accf[n - n0];
                for (int64_t l = 0; l < len; l++)
                    a[l] += t[l];
            }
        }
    }
    for (int64_t n = n0; n < n1; n++) {
        if (code_acc)
            axl_batch_decode(&m->facc, accc[n - n0], accf[n - n0], len);
        store(c, n, m0, len, accf[n - n0]);
    }
}

/* A task through the fused kernels: block sums, scaling and the adds
 * across blocks in registers (block_plan.h: fused). */
static void run_task_fused(const struct axl_block_core *c, int64_t n0, int64_t n1, int64_t m0,
                           int64_t len)
{
    const struct axl_block_plan *bp = c->bp;
    union {
        _Alignas(64) uint32_t u[AXL_VBMI_NG * MB];
        float f[AXL_VBMI_NG * MB];
    } tot;
    const struct axl_bscale bs = {.size = c->size, .nb = c->nb,
                                  .nvfp = bp->bfa.scale == AXL_BSCALE_E4M3, .xs = c->xs + m0,
                                  .xss = c->mcount, .ws = c->ws + n0 * c->nb,
                                  .svalue = bp->svalue};
    const uint8_t *x = c->x8 + m0;
    const uint32_t *w = c->w + n0 * c->nb * c->size;
    if (bp->sm.mode != AXL_SMALL_NONE) {
        struct axl_small_block a = {.x = x, .xs = c->mcount, .w = w, .k = c->nb * c->size,
                                    .nn = n1 - n0, .len = len, .out = tot.u, .bs = &bs};
        axl_small_run_scaled(&bp->sm, &a);
    } else {
        struct axl_vbmi_block a = {.rows = bp->vb.rows, .stride = bp->vb.stride, .x = x,
                                   .xs = c->mcount, .w = w, .k = c->nb * c->size,
                                   .nn = n1 - n0, .len = len, .out = tot.u, .bs = &bs};
        axl_vbmi_run_scaled(&bp->vb, &a);
    }
    if (c->sn != 1 || c->oi != 0) {
        for (int64_t n = n0; n < n1; n++)
            store(c, n, m0, len, tot.f + (n - n0) * MB);
        return;
    }
    /* a GEMM's rows (channels contiguous): position by position, so that
     * the writes follow the rows instead of crossing them; as store does */
    const int nvfp = bp->bfa.scale == AXL_BSCALE_E4M3;
    for (int64_t l = 0; l < len; l++) {
        float *o = c->out + (m0 + l) * c->sm;
        for (int64_t n = n0; n < n1; n++) {
            float y = tot.f[(n - n0) * MB + l];
            if (nvfp)
                y *= c->tsinv;
            if (isnan(y))
                y = NAN;
            o[n] = c->bias ? y + c->bias[n] : y;
        }
    }
}

/* The CPU runner (block_plan.h: axl_block_runner). */
static enum axl_status run_core(const struct axl_block_core *c, int64_t groups, int64_t xg,
                                int64_t xsg, int64_t wg, int64_t wsg, int64_t og, char *msg)
{
    uint8_t *x8 = NULL;
    const int fused = c->bp->fused;
    if (!c->x8 && (c->bp->vb.mode != AXL_VBMI_NONE || fused)) { /* activation codes as bytes, once per call,
                                              through the planes' code map (vbmi.h: the
                                              sign-symmetric layout reads some codes as
                                              others) */
        int64_t nx = (groups - 1) * xg + c->nb * c->size * c->mcount;
        if (!(x8 = malloc((size_t)nx)))
            return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < nx; i++)
            x8[i] = c->bp->vb.mode != AXL_VBMI_NONE ? c->bp->vb.xmap[c->x[i] & 255]
                                                    : (uint8_t)c->x[i];
    }
    const int64_t ng = fused ? AXL_VBMI_NG : NG;
    int64_t nblk = c->mcount / MB, nch = (c->n + ng - 1) / ng;
    int64_t per_group = nblk * nch;
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t task = 0; task < groups * per_group; task++) {
        int64_t g = task / per_group, r = task % per_group;
        int64_t blk = r / nch, n0 = (r % nch) * ng;
        int64_t n1 = n0 + ng < c->n ? n0 + ng : c->n;
        struct axl_block_core cg = *c;
        cg.x = c->x ? c->x + g * xg : NULL;
        cg.xs = c->xs + g * xsg;
        cg.x8 = c->x8 ? c->x8 + g * xg : x8 ? x8 + g * xg : NULL;
        cg.w = c->w + g * wg;
        cg.ws = c->ws + g * wsg;
        cg.out = c->out + g * og;
        cg.bias = c->bias ? c->bias + g * c->n : NULL;
        int64_t m0 = blk * MB;
        int64_t len = c->mvalid - m0 < MB ? c->mvalid - m0 : MB;
        if (fused)
            run_task_fused(&cg, n0, n1, m0, len);
        else
            run_task(&cg, n0, n1, m0, len);
    }
    free(x8);
    return AXL_OK;
}

/* Quantized activations: nvec vectors of len values, value (v, i) from
 * get, or for a convolution's input CONV (vectors of one image and group,
 * pixel by pixel, of the group's channels); codes [nvec][nb * size], scales [nvec][nb], the tensor scale from
 * the largest finite magnitude of them all (NVFP4), as the reference. */
struct qacts {
    uint32_t *codes, *scales;
    int64_t nb;
    float ts;
};

typedef float (*get_fn)(const void *ctx, int64_t v, int64_t i);

static enum axl_status quantize_acts(const struct axl_block_format *bf, int64_t nvec, int64_t len,
                                     get_fn get, const void *ctx,
                                     const struct axl_conv_args *conv, struct qacts *q, char *msg)
{
    q->nb = axl_block_count(bf, len);
    q->codes = malloc((size_t)(nvec * q->nb * bf->size) * sizeof *q->codes);
    q->scales = malloc((size_t)(nvec * q->nb) * sizeof *q->scales);
    float *buf = malloc((size_t)(nvec * len) * sizeof *buf);
    if (!q->codes || !q->scales || !buf) {
        free(buf);
        return axl_msgf(msg, AXL_ERR_NOMEM, "block format %s: out of memory for %lld x %lld "
                        "activations", bf->name, (long long)nvec, (long long)len);
    }
    float amax = 0.0f;
    if (conv) { /* NCHW to one vector per pixel: a transpose by tiles of TP pixels, whose
                   rows of the vectors stay in cache while every channel is written */
        enum { TP = 64 };
        const int64_t hw = conv->h * conv->w, tiles = (hw + TP - 1) / TP;
#pragma omp parallel for schedule(static) reduction(max : amax)
        for (int64_t it = 0; it < (nvec / hw) * tiles; it++) {
            int64_t ig = it / tiles, p0 = (it % tiles) * TP;
            int64_t p1 = p0 + TP < hw ? p0 + TP : hw;
            const float *src = conv->x + ig * len * hw; /* (img, g): channels g*len.. */
            float *dst = buf + ig * hw * len;
            for (int64_t i = 0; i < len; i++)
                for (int64_t p = p0; p < p1; p++) {
                    float x = src[i * hw + p], a = fabsf(x);
                    dst[p * len + i] = x;
                    if (a > amax && a - a == 0.0f)
                        amax = a;
                }
        }
    } else {
#pragma omp parallel for schedule(static) reduction(max : amax)
        for (int64_t v = 0; v < nvec; v++)
            for (int64_t i = 0; i < len; i++) {
                float x = get(ctx, v, i), a = fabsf(x);
                buf[v * len + i] = x;
                if (a > amax && a - a == 0.0f)
                    amax = a;
            }
    }
    q->ts = axl_block_tensor_scale(bf, amax);
    const float *given = bf->scale == AXL_BSCALE_E4M3 ? &q->ts : NULL;
    int bad = 0;
#pragma omp parallel for schedule(static) reduction(| : bad)
    for (int64_t v = 0; v < nvec; v++) {
        float t;
        bad |= axl_block_quantize(bf, buf + v * len, len, AXL_ROUND_NEAREST_EVEN, 0, given,
                                  q->codes + v * q->nb * bf->size, q->scales + v * q->nb, &t,
                                  NULL) != AXL_OK;
    }
    free(buf);
    if (bad)
        return axl_msgf(msg, AXL_ERR_INVALID, "block format %s: the activations could not be "
                        "quantized", bf->name);
    return AXL_OK;
}

/* ---- GEMM --------------------------------------------------------------- */

static float gemm_a(const void *ctx, int64_t m, int64_t k)
{
    const struct axl_gemm_args *g = ctx;
    return g->trans_a ? g->a[k * g->lda + m] : g->a[m * g->lda + k];
}

/* The fused runner's activations of a GEMM in an MX format with floating
 * elements: A as columns (A^T: its own layout when trans_a, else
 * transposed by tiles), quantized straight into the kernel's byte codes
 * X8[kk][m] and scales XS[b][m] (axl_block_quantize_cols), through the
 * VBMI planes' code map; positions past M hold code 0 (mapped) and scale
 * 0, as gemm_run lays them out.  0: a format it does not serve (nothing
 * allocated); -1: out of memory. */
static int gemm_cols(const struct axl_block_plan *bp, const struct axl_gemm_args *g, int64_t nb,
                     int64_t Mp, uint8_t **x8o, uint32_t **xso)
{
    const struct axl_block_format *bf = &bp->bfa;
    const int64_t M = g->m, K = g->k, sz = bf->size;
    if (bf->scale != AXL_BSCALE_E8M0 || bf->elem.kind != AXL_KIND_FLOAT || bf->elem.bits > 8)
        return 0;
    uint8_t *x8 = malloc((size_t)(nb * sz * Mp));
    uint32_t *xs = malloc((size_t)(nb * Mp) * sizeof *xs);
    float *at = g->trans_a ? NULL : malloc((size_t)(K * M) * sizeof *at);
    if (!x8 || !xs || (!g->trans_a && !at)) {
        free(x8);
        free(xs);
        free(at);
        return -1;
    }
    enum { TT = 32 };
    if (at) {
#pragma omp parallel for schedule(static)
        for (int64_t k0 = 0; k0 < K; k0 += TT)
            for (int64_t m0 = 0; m0 < M; m0 += TT)
                for (int64_t k = k0; k < k0 + TT && k < K; k++)
                    for (int64_t i = m0; i < m0 + TT && i < M; i++)
                        at[k * M + i] = g->a[i * g->lda + k];
    }
    const float *src = at ? at : g->a;
    const int64_t xst = at ? M : g->lda, tc = 256, tiles = (M + tc - 1) / tc;
    int ok = 1;
#pragma omp parallel for schedule(static) reduction(& : ok)
    for (int64_t t = 0; t < tiles; t++) {
        int64_t c0 = t * tc, nc = M - c0 < tc ? M - c0 : tc;
        ok &= axl_block_quantize_cols(bf, src + c0, K, nc, xst, x8 + c0, xs + c0, Mp);
    }
    free(at);
    const uint8_t *map = bp->vb.mode != AXL_VBMI_NONE ? bp->vb.xmap : NULL;
#pragma omp parallel for schedule(static)
    for (int64_t kk = 0; kk < nb * sz; kk++) {
        uint8_t *r = x8 + kk * Mp;
        for (int64_t i = 0; i < Mp; i++)
            r[i] = i < M ? (map ? map[r[i]] : r[i]) : (map ? map[0] : 0);
    }
    for (int64_t b = 0; b < nb; b++)
        for (int64_t i = M; i < Mp; i++)
            xs[b * Mp + i] = 0;
    *x8o = x8;
    *xso = xs;
    return ok ? 1 : (free(x8), free(xs), 0);
}

static enum axl_status gemm_run(const struct axl_mac *m, const struct axl_gemm_args *g,
                                axl_block_runner run, int bytes, char *msg)
{
    const struct axl_block_plan *bp = m->blk;
    const int64_t M = g->m, N = g->n, K = g->k, sz = bp->bfa.size;
    const struct axl_bweights *bw;
    enum axl_status st = axl_bweights_acquire(m, g->b, N, 1, K, g->trans_b ? g->ldb : 1, 0,
                                              g->trans_b ? 1 : g->ldb, &bw, msg);
    if (st != AXL_OK)
        return st;
    struct qacts q = {.ts = 1.0f};
    const int64_t Mp = (M + MB - 1) / MB * MB;
    uint32_t *x = NULL, *xs = NULL;
    uint8_t *x8 = NULL;
    int cols = bytes ? gemm_cols(bp, g, axl_block_count(&bp->bfa, K), Mp, &x8, &xs) : 0;
    if (cols < 0) {
        st = axl_msgf(msg, AXL_ERR_NOMEM, "block gemm: out of memory for %lld x %lld codes",
                      (long long)Mp, (long long)K);
        goto done;
    }
    if (cols) {
        struct axl_block_core c = {.m = m, .bp = bp, .nb = axl_block_count(&bp->bfa, K),
                                   .size = sz, .mcount = Mp, .mvalid = M, .n = N, .x8 = x8,
                                   .xs = xs, .w = bw->codes, .ws = bw->scales,
                                   .tsinv = 1.0f / bw->ts, .bias = g->bias, .out = g->c,
                                   .sn = 1, .sm = g->ldc, .p = M, .oi = 0};
        st = run(&c, 1, 0, 0, 0, 0, 0, msg);
        goto done;
    }
    if ((st = quantize_acts(&bp->bfa, M, K, gemm_a, g, NULL, &q, msg)) != AXL_OK)
        goto done;
    const int64_t nb = q.nb;
    x = malloc((size_t)(nb * sz * Mp) * sizeof *x);
    xs = malloc((size_t)(nb * Mp) * sizeof *xs);
    if (!x || !xs) {
        st = axl_msgf(msg, AXL_ERR_NOMEM, "block gemm: out of memory for %lld x %lld codes",
                      (long long)Mp, (long long)(nb * sz));
        goto done;
    }
    /* X[kk][m]: positions past M hold code 0, and their outputs are dropped */
#pragma omp parallel for schedule(static)
    for (int64_t kk = 0; kk < nb * sz; kk++)
        for (int64_t i = 0; i < Mp; i++)
            x[kk * Mp + i] = i < M ? q.codes[i * nb * sz + kk] : 0;
    for (int64_t b = 0; b < nb; b++)
        for (int64_t i = 0; i < Mp; i++)
            xs[b * Mp + i] = i < M ? q.scales[i * nb + b] : 0;
    struct axl_block_core c = {.m = m, .bp = bp, .nb = nb, .size = sz, .mcount = Mp, .mvalid = M, .n = N,
                      .x = x, .xs = xs, .w = bw->codes, .ws = bw->scales,
                      .tsinv = 1.0f / (q.ts * bw->ts), .bias = g->bias, .out = g->c, .sn = 1,
                      .sm = g->ldc, .p = M, .oi = 0};
    st = run(&c, 1, 0, 0, 0, 0, 0, msg);
done:
    axl_bweights_release(m, bw);
    free(q.codes);
    free(q.scales);
    free(x);
    free(xs);
    free(x8);
    return st;
}

enum axl_status axl_block_gemm_run(const struct axl_mac *m, const struct axl_gemm_args *g,
                                   axl_block_runner run, char *msg)
{
    return gemm_run(m, g, run, 0, msg);
}

/* ---- convolution -------------------------------------------------------- */

/* BYTES: the element codes laid out as bytes (c.x8; c.x NULL) for the
 * fused kernels, straight from the quantized codes. */
static enum axl_status conv2d_run(const struct axl_mac *m, const struct axl_conv_args *a,
                                  int64_t oh, int64_t ow, axl_block_runner run, int bytes,
                                  char *msg)
{
    const struct axl_block_plan *bp = m->blk;
    const int64_t G = a->groups, cg = a->c / G, ocg = a->oc / G, taps = a->kh * a->kw;
    const int64_t P = oh * ow, hw = a->h * a->w, sz = bp->bfa.size;
    const struct axl_bweights *bw;
    /* weight vectors (o, tap) of the group's channels: value c at o*K + c*taps + tap */
    enum axl_status st = axl_bweights_acquire(m, a->weight, a->oc, taps, cg, cg * taps, 1, taps,
                                              &bw, msg);
    if (st != AXL_OK)
        return st;
    struct qacts q = {0};
    uint32_t *x = NULL, *xs = NULL;
    uint8_t *x8 = NULL, *c8 = NULL;
    /* byte codes of MX formats with floating elements: quantized where
     * they lie, channel-major (c8: image and group, then element row, then
     * pixel; q.scales: block row, then pixel), so that the im2col below
     * copies rows; else vectors of pixels through quantize_acts */
    int cols = bytes && bp->bfa.scale == AXL_BSCALE_E8M0;
    if (cols) {
        const int64_t nbc = axl_block_count(&bp->bfa, cg), nv = a->n * G;
        c8 = malloc((size_t)(nv * nbc * sz * hw));
        q.scales = malloc((size_t)(nv * nbc * hw) * sizeof *q.scales);
        q.nb = nbc;
        q.ts = 1.0f;
        if (!c8 || !q.scales) {
            st = axl_msgf(msg, AXL_ERR_NOMEM, "block conv2d: out of memory for %lld codes",
                          (long long)(nv * nbc * sz * hw));
            goto done;
        }
        enum { TC = 256 }; /* pixels per task */
        const int64_t tiles = (hw + TC - 1) / TC;
        int ok = 1;
#pragma omp parallel for schedule(static) reduction(& : ok)
        for (int64_t it = 0; it < nv * tiles; it++) {
            int64_t v = it / tiles, p0 = (it % tiles) * TC, np = hw - p0 < TC ? hw - p0 : TC;
            ok &= axl_block_quantize_cols(&bp->bfa, a->x + v * cg * hw + p0, cg, np, hw,
                                          c8 + v * nbc * sz * hw + p0,
                                          q.scales + v * nbc * hw + p0, hw);
        }
        if (!ok) { /* a format quantize_cols does not serve: the general path */
            free(c8);
            free(q.scales);
            c8 = NULL;
            q.scales = NULL;
            cols = 0;
        }
    }
    if (!cols && (st = quantize_acts(&bp->bfa, a->n * G * hw, cg, NULL, NULL, a, &q, msg)) != AXL_OK)
        goto done;
    const int64_t nbc = q.nb, nb = taps * nbc, kk = nb * sz;
    /* a tap in the padding: the block of zeros, as quantize gives it */
    float zeros[AXL_BLOCK_MAX_SIZE] = {0};
    uint32_t zc[AXL_BLOCK_MAX_SIZE], zs;
    float zts;
    if ((st = axl_block_quantize(&bp->bfa, zeros, sz, AXL_ROUND_NEAREST_EVEN, 0,
                                 bp->bfa.scale == AXL_BSCALE_E4M3 ? &q.ts : NULL, zc, &zs, &zts,
                                 msg)) != AXL_OK)
        goto done;
    /* images per chunk: an im2col buffer of at most 16 Mi codes */
    int64_t chunk = (16ll << 20) / (G * kk * P);
    chunk = chunk < 1 ? 1 : (chunk > a->n ? a->n : chunk);
    const int64_t Mp = (chunk * P + MB - 1) / MB * MB;
    if (bytes)
        x8 = malloc((size_t)(G * kk * Mp));
    else
        x = malloc((size_t)(G * kk * Mp) * sizeof *x);
    xs = malloc((size_t)(G * nb * Mp) * sizeof *xs);
    if ((!x && !x8) || !xs) {
        st = axl_msgf(msg, AXL_ERR_NOMEM, "block conv2d: out of memory for the im2col buffer "
                      "(%lld codes)", (long long)(G * kk * Mp));
        goto done;
    }
    for (int64_t img0 = 0; img0 < a->n && st == AXL_OK; img0 += chunk) {
        int64_t nimg = a->n - img0 < chunk ? a->n - img0 : chunk;
        /* im2col of blocks: X[g][(t, j, i)][pos], XS[g][(t, j)][pos], by
         * chunks of positions so that both threads have work at batch 1 */
        const int64_t pc = 512, nchunk = (Mp + pc - 1) / pc;
        const uint8_t *map = bp->vb.mode != AXL_VBMI_NONE ? bp->vb.xmap : NULL;
        if (c8) {
            /* from the channel-major codes: element row by element row,
             * positions contiguous on both sides (a shifted copy of the
             * input's rows) */
#pragma omp parallel for schedule(static)
            for (int64_t it = 0; it < G * taps * nchunk; it++) {
                int64_t gt = it / nchunk, g = gt / taps, t = gt % taps, r = t / a->kw, s = t % a->kw;
                int64_t p0 = (it % nchunk) * pc, p1 = p0 + pc < Mp ? p0 + pc : Mp;
                /* the chunk as runs of positions whose pixels follow each other
                 * (an output row's span inside the input, for stride 1) or lie
                 * in the padding (c = -1): each copied at once, row by row */
                struct { int64_t p, n, c, s; } run[512];
                int nr = 0;
                for (int64_t pos = p0; pos < p1; pos++) {
                    int64_t img = pos / P, oy = (pos % P) / ow, ox = pos % ow;
                    int64_t iy = oy * a->stride_h - a->pad_t + r * a->dil_h;
                    int64_t ix = ox * a->stride_w - a->pad_l + s * a->dil_w;
                    int inside = pos < nimg * P && iy >= 0 && iy < a->h && ix >= 0 && ix < a->w;
                    int64_t vg = (img0 + img) * G + g, pix = iy * a->w + ix;
                    int64_t c = inside ? vg * nbc * sz * hw + pix : -1;
                    if (nr && (c < 0 ? run[nr - 1].c < 0
                                     : run[nr - 1].c >= 0 && c == run[nr - 1].c + run[nr - 1].n)) {
                        run[nr - 1].n++;
                        continue;
                    }
                    run[nr].p = pos;
                    run[nr].n = 1;
                    run[nr].c = c;
                    run[nr].s = inside ? vg * nbc * hw + pix : -1;
                    nr++;
                }
                uint8_t *x8g = x8 + g * kk * Mp;
                uint32_t *xsg = xs + g * nb * Mp;
                for (int64_t j = 0; j < nbc; j++) {
                    for (int64_t i = 0; i < sz; i++) {
                        const uint8_t *cr = c8 + (j * sz + i) * hw;
                        uint8_t *o = x8g + ((t * nbc + j) * sz + i) * Mp;
                        const uint8_t z = map ? map[zc[i] & 255] : (uint8_t)zc[i];
                        for (int k = 0; k < nr; k++) {
                            uint8_t *d = o + run[k].p;
                            const uint8_t *from = cr + run[k].c;
                            if (run[k].c < 0)
                                memset(d, z, (size_t)run[k].n);
                            else if (map)
                                for (int64_t l = 0; l < run[k].n; l++)
                                    d[l] = map[from[l]];
                            else
                                memcpy(d, from, (size_t)run[k].n);
                        }
                    }
                    uint32_t *o = xsg + (t * nbc + j) * Mp;
                    const uint32_t *sr = q.scales + j * hw;
                    for (int k = 0; k < nr; k++)
                        for (int64_t l = 0; l < run[k].n; l++)
                            o[run[k].p + l] = run[k].c < 0 ? zs : sr[run[k].s + l];
                }
            }
        } else {
#pragma omp parallel for schedule(static)
            for (int64_t it = 0; it < G * taps * nchunk; it++) {
                int64_t gt = it / nchunk, g = gt / taps, t = gt % taps, r = t / a->kw, s = t % a->kw;
                int64_t p0 = (it % nchunk) * pc, p1 = p0 + pc < Mp ? p0 + pc : Mp;
                uint32_t *xg = x ? x + g * kk * Mp : NULL, *xsg = xs + g * nb * Mp;
                uint8_t *x8g = x8 ? x8 + g * kk * Mp : NULL;
                for (int64_t pos = p0; pos < p1; pos++) {
                    int64_t img = pos / P, oy = (pos % P) / ow, ox = pos % ow;
                    int64_t iy = oy * a->stride_h - a->pad_t + r * a->dil_h;
                    int64_t ix = ox * a->stride_w - a->pad_l + s * a->dil_w;
                    int inside = pos < nimg * P && iy >= 0 && iy < a->h && ix >= 0 && ix < a->w;
                    int64_t v = (((img0 + img) * G + g) * a->h + iy) * a->w + ix;
                    for (int64_t j = 0; j < nbc; j++) {
                        const uint32_t *src = inside ? q.codes + (v * nbc + j) * sz : zc;
                        if (x8g)
                            for (int64_t i = 0; i < sz; i++)
                                x8g[((t * nbc + j) * sz + i) * Mp + pos] =
                                    map ? map[src[i] & 255] : (uint8_t)src[i];
                        else
                            for (int64_t i = 0; i < sz; i++)
                                xg[((t * nbc + j) * sz + i) * Mp + pos] = src[i];
                        xsg[(t * nbc + j) * Mp + pos] = inside ? q.scales[v * nbc + j] : zs;
                    }
                }
            }
        }
        struct axl_block_core c = {.m = m, .bp = bp, .nb = nb, .size = sz, .mcount = Mp,
                          .mvalid = nimg * P, .n = ocg, .x = x, .x8 = x8, .xs = xs,
                          .w = bw->codes,
                          .ws = bw->scales, .tsinv = 1.0f / (q.ts * bw->ts), .bias = a->bias,
                          .out = a->y + img0 * a->oc * P, .sn = P, .sm = 1, .p = P,
                          .oi = a->oc * P};
        st = run(&c, G, kk * Mp, nb * Mp, ocg * kk, ocg * nb, ocg * P, msg);
    }
done:
    axl_bweights_release(m, bw);
    free(q.codes);
    free(q.scales);
    free(x);
    free(xs);
    free(x8);
    free(c8);
    return st;
}

enum axl_status axl_block_conv2d_run(const struct axl_mac *m, const struct axl_conv_args *a,
                                     int64_t oh, int64_t ow, axl_block_runner run, char *msg)
{
    return conv2d_run(m, a, oh, ow, run, 0, msg);
}

enum axl_status axl_block_cpu_gemm(const struct axl_mac *m, const struct axl_gemm_args *g,
                                   char *msg)
{
    return gemm_run(m, g, run_core, m->blk->fused, msg);
}

enum axl_status axl_block_cpu_conv2d(const struct axl_mac *m, const struct axl_conv_args *a,
                                     int64_t oh, int64_t ow, char *msg)
{
    return conv2d_run(m, a, oh, ow, run_core, m->blk->fused, msg);
}
