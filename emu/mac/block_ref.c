/* Reference GEMM and convolution in block-scaled formats
 * (include/axlut/block_mac.h): quantize once, then one axl_block_dot_ref
 * per output.  Written for clarity, not speed. */
#include <stdlib.h>
#include <string.h>

#include "axlut/block_mac.h"

/* A tensor cut into vectors of len values, each quantized into nb blocks:
 * codes [nvec][nb * size], scales [nvec][nb], one tensor scale. */
struct qvecs {
    int64_t nvec, len, nb, size;
    uint32_t *codes, *scales;
    float ts;
};

static void qvecs_free(struct qvecs *q)
{
    free(q->codes);
    free(q->scales);
}

/* get(ctx, v, i): value i of vector v.  The NVFP4 tensor scale comes from
 * every value of every vector (one tensor). */
static enum axl_status quantize_vecs(const struct axl_block_format *bf, int64_t nvec, int64_t len,
                                     float (*get)(const void *, int64_t, int64_t),
                                     const void *ctx, struct qvecs *q, char *msg)
{
    memset(q, 0, sizeof *q);
    q->nvec = nvec;
    q->len = len;
    q->nb = axl_block_count(bf, len);
    q->size = bf->size;
    float *buf = malloc((size_t)(len > 0 ? len : 1) * sizeof *buf);
    q->codes = malloc((size_t)(nvec * q->nb * q->size > 0 ? nvec * q->nb * q->size : 1) * 4);
    q->scales = malloc((size_t)(nvec * q->nb > 0 ? nvec * q->nb : 1) * 4);
    if (!buf || !q->codes || !q->scales) {
        free(buf);
        qvecs_free(q);
        return axl_msgf(msg, AXL_ERR_NOMEM, "block reference: out of memory for %lld x %lld "
                        "values", (long long)nvec, (long long)len);
    }
    float amax = 0.0f;
    for (int64_t v = 0; v < nvec; v++)
        for (int64_t i = 0; i < len; i++) {
            float a = get(ctx, v, i);
            a = a < 0 ? -a : a;
            if (a > amax && a - a == 0.0f) /* finite */
                amax = a;
        }
    q->ts = axl_block_tensor_scale(bf, amax);
    const float *given = bf->scale == AXL_BSCALE_E4M3 ? &q->ts : NULL;
    enum axl_status st = AXL_OK;
    for (int64_t v = 0; v < nvec && st == AXL_OK; v++) {
        for (int64_t i = 0; i < len; i++)
            buf[i] = get(ctx, v, i);
        float ts;
        st = axl_block_quantize(bf, buf, len, AXL_ROUND_NEAREST_EVEN, 0, given,
                                q->codes + v * q->nb * q->size, q->scales + v * q->nb, &ts, msg);
    }
    free(buf);
    if (st != AXL_OK)
        qvecs_free(q);
    return st;
}

static enum axl_status check_formats(const struct axl_block_format *fa,
                                     const struct axl_block_format *fw, char *msg)
{
    if (fa->size != fw->size || fa->scale != fw->scale)
        return axl_msgf(msg, AXL_ERR_INVALID, "block formats %s and %s differ in block size or "
                        "scale encoding", fa->name, fw->name);
    return AXL_OK;
}

/* ---- GEMM --------------------------------------------------------------- */

static float gemm_a(const void *ctx, int64_t m, int64_t k)
{
    const struct axl_gemm_args *g = ctx;
    return g->trans_a ? g->a[k * g->lda + m] : g->a[m * g->lda + k];
}

static float gemm_b(const void *ctx, int64_t n, int64_t k)
{
    const struct axl_gemm_args *g = ctx;
    return g->trans_b ? g->b[n * g->ldb + k] : g->b[k * g->ldb + n];
}

enum axl_status axl_block_gemm_ref(const struct axl_block_format *fa,
                                   const struct axl_block_format *fw,
                                   const struct axl_block_mul *mul, const struct axl_gemm_args *g,
                                   char *msg)
{
    enum axl_status st = check_formats(fa, fw, msg);
    if (st != AXL_OK)
        return st;
    if (g->m < 1 || g->n < 1 || g->k < 1)
        return axl_msgf(msg, AXL_ERR_INVALID, "block gemm: sizes must be positive");
    struct qvecs qa, qw;
    if ((st = quantize_vecs(fa, g->m, g->k, gemm_a, g, &qa, msg)) != AXL_OK)
        return st;
    if ((st = quantize_vecs(fw, g->n, g->k, gemm_b, g, &qw, msg)) != AXL_OK) {
        qvecs_free(&qa);
        return st;
    }
    const int64_t nb = qa.nb, sz = qa.size;
    for (int64_t m = 0; m < g->m && st == AXL_OK; m++)
        for (int64_t n = 0; n < g->n && st == AXL_OK; n++) {
            struct axl_block_vec va = {fa, qa.codes + m * nb * sz, qa.scales + m * nb, qa.ts};
            struct axl_block_vec vw = {fw, qw.codes + n * nb * sz, qw.scales + n * nb, qw.ts};
            float y;
            st = axl_block_dot_ref(&va, &vw, nb, mul, &y, msg);
            g->c[m * g->ldc + n] = g->bias ? y + g->bias[n] : y;
        }
    qvecs_free(&qa);
    qvecs_free(&qw);
    return st;
}

/* ---- convolution -------------------------------------------------------- */

/* Activation vectors: one per (image, group, pixel), the group's channels. */
static float conv_x(const void *ctx, int64_t v, int64_t c)
{
    const struct axl_conv_args *a = ctx;
    int64_t hw = a->h * a->w, cg = a->c / a->groups;
    int64_t pix = v % hw, g = (v / hw) % a->groups, img = v / (hw * a->groups);
    return a->x[(img * a->c + g * cg + c) * hw + pix];
}

/* Weight vectors: one per (output channel, tap), the group's channels. */
static float conv_w(const void *ctx, int64_t v, int64_t c)
{
    const struct axl_conv_args *a = ctx;
    int64_t taps = a->kh * a->kw, cg = a->c / a->groups;
    int64_t tap = v % taps, o = v / taps;
    return a->weight[(o * cg + c) * taps + tap];
}

enum axl_status axl_block_conv2d_ref(const struct axl_block_format *fa,
                                     const struct axl_block_format *fw,
                                     const struct axl_block_mul *mul,
                                     const struct axl_conv_args *a, char *msg)
{
    enum axl_status st = check_formats(fa, fw, msg);
    if (st != AXL_OK)
        return st;
    int64_t oh, ow;
    if ((st = axl_conv_out_size(a, &oh, &ow, msg)) != AXL_OK)
        return st;
    const int64_t G = a->groups, cg = a->c / G, ocg = a->oc / G, taps = a->kh * a->kw;
    struct qvecs qx, qw;
    if ((st = quantize_vecs(fa, a->n * G * a->h * a->w, cg, conv_x, a, &qx, msg)) != AXL_OK)
        return st;
    if ((st = quantize_vecs(fw, a->oc * taps, cg, conv_w, a, &qw, msg)) != AXL_OK) {
        qvecs_free(&qx);
        return st;
    }
    const int64_t nbc = qx.nb, sz = qx.size, nb = taps * nbc;
    /* a tap in the padding: the blocks of zeros, as quantize gives them */
    float zeros[AXL_BLOCK_MAX_SIZE] = {0};
    uint32_t zc[AXL_BLOCK_MAX_SIZE], zs;
    float zts;
    uint32_t *ac = malloc((size_t)(nb * sz) * 4), *as = malloc((size_t)nb * 4);
    if (!ac || !as) {
        st = axl_msgf(msg, AXL_ERR_NOMEM, "block reference: out of memory");
        goto done;
    }
    if ((st = axl_block_quantize(fa, zeros, sz, AXL_ROUND_NEAREST_EVEN, 0,
                                 fa->scale == AXL_BSCALE_E4M3 ? &qx.ts : NULL, zc, &zs, &zts,
                                 msg)) != AXL_OK)
        goto done;
    for (int64_t img = 0; img < a->n && st == AXL_OK; img++)
        for (int64_t o = 0; o < a->oc && st == AXL_OK; o++) {
            int64_t g = o / ocg;
            for (int64_t oy = 0; oy < oh && st == AXL_OK; oy++)
                for (int64_t ox = 0; ox < ow && st == AXL_OK; ox++) {
                    for (int64_t t = 0; t < taps; t++) {
                        int64_t r = t / a->kw, s = t % a->kw;
                        int64_t iy = oy * a->stride_h - a->pad_t + r * a->dil_h;
                        int64_t ix = ox * a->stride_w - a->pad_l + s * a->dil_w;
                        int inside = iy >= 0 && iy < a->h && ix >= 0 && ix < a->w;
                        int64_t v = ((img * G + g) * a->h + iy) * a->w + ix;
                        for (int64_t j = 0; j < nbc; j++) {
                            memcpy(ac + (t * nbc + j) * sz,
                                   inside ? qx.codes + (v * nbc + j) * sz : zc, (size_t)sz * 4);
                            as[t * nbc + j] = inside ? qx.scales[v * nbc + j] : zs;
                        }
                    }
                    struct axl_block_vec va = {fa, ac, as, qx.ts};
                    struct axl_block_vec vw = {fw, qw.codes + o * taps * nbc * sz,
                                               qw.scales + o * taps * nbc, qw.ts};
                    float y;
                    st = axl_block_dot_ref(&va, &vw, nb, mul, &y, msg);
                    a->y[((img * a->oc + o) * oh + oy) * ow + ox] = a->bias ? y + a->bias[o] : y;
                }
        }
done:
    free(ac);
    free(as);
    qvecs_free(&qx);
    qvecs_free(&qw);
    return st;
}
