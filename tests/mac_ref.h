/* A naive reference of the MAC semantics, written apart from the kernels:
 * plain nested loops over the output, each product through the design's
 * own function, padding checked per tap, and the pairwise order summed
 * level by level (adjacent pairs, an odd last element passed up) instead of
 * the kernels' binary-counter stack.  Slow on purpose. */
#ifndef AXLT_MAC_REF_H
#define AXLT_MAC_REF_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/design.h"
#include "axlut/format.h"
#include "axlut/mac.h"

struct ref_cfg {
    const struct axl_design *mul;
    struct axl_design_ctx mc;
    const struct axl_design *add; /* NULL: exact float32 */
    struct axl_design_ctx ac;
    struct axl_format fa, fw, facc;
    enum axl_order order;
    uint32_t chunk;
    enum axl_round round;
    uint64_t seed;
};

/* One accumulator value: float32 (add == NULL) or a facc code. */
union ref_val {
    float f;
    uint32_t c;
};

static union ref_val ref_add(const struct ref_cfg *r, union ref_val x, union ref_val y)
{
    union ref_val s;
    if (!r->add)
        s.f = x.f + y.f;
    else
        s.c = r->add->eval(&r->ac, x.c, y.c);
    return s;
}

static union ref_val ref_product(const struct ref_cfg *r, uint32_t a, uint32_t b)
{
    uint32_t p = r->mul->eval(&r->mc, a, b);
    union ref_val v;
    if (!r->add)
        v.f = axl_format_decode(&r->mc.fr, p);
    else if (memcmp(&r->mc.fr, &r->facc, offsetof(struct axl_format, name)) != 0)
        v.c = axl_format_encode(&r->facc, axl_format_decode(&r->mc.fr, p), AXL_ROUND_NEAREST_EVEN,
                                0);
    else
        v.c = p;
    return v;
}

/* Reduce the K products of one output by the configured order; the result
 * as float32. */
static float ref_reduce(const struct ref_cfg *r, union ref_val *v, int64_t k)
{
    union ref_val zero;
    if (!r->add)
        zero.f = 0.0f;
    else
        zero.c = axl_format_encode(&r->facc, 0.0f, AXL_ROUND_NEAREST_EVEN, 0);
    union ref_val acc = zero;
    if (r->order == AXL_ORDER_SEQUENTIAL) {
        for (int64_t i = 0; i < k; i++)
            acc = ref_add(r, acc, v[i]);
    } else if (r->order == AXL_ORDER_PAIRWISE) {
        int64_t n = k;
        while (n > 1) {
            int64_t o = 0;
            for (int64_t i = 0; i + 1 < n; i += 2)
                v[o++] = ref_add(r, v[i], v[i + 1]);
            if (n & 1)
                v[o++] = v[n - 1];
            n = o;
        }
        acc = v[0];
    } else {
        for (int64_t s = 0; s < k; s += r->chunk) {
            union ref_val part = v[s];
            for (int64_t i = s + 1; i < k && i < s + (int64_t)r->chunk; i++)
                part = ref_add(r, part, v[i]);
            acc = ref_add(r, acc, part);
        }
    }
    return r->add ? axl_format_decode(&r->facc, acc.c) : acc.f;
}

/* conv2d in floating formats, stochastic indices as the kernels define
 * them (offset in the activation / weight tensor). */
static void ref_conv2d(const struct ref_cfg *r, const struct axl_conv_args *a, int64_t oh,
                       int64_t ow)
{
    int64_t cg = a->c / a->groups, ocg = a->oc / a->groups;
    int64_t K = cg * a->kh * a->kw;
    union ref_val *v = malloc((size_t)K * sizeof *v);
    uint32_t zero = axl_format_encode(&r->fa, 0.0f, AXL_ROUND_NEAREST_EVEN, 0);
    uint64_t wseed = r->seed ^ 0x5745494748545321ull;
    for (int64_t n = 0; n < a->n; n++)
        for (int64_t o = 0; o < a->oc; o++)
            for (int64_t y = 0; y < oh; y++)
                for (int64_t x = 0; x < ow; x++) {
                    int64_t g = o / ocg, t = 0;
                    for (int64_t ci = 0; ci < cg; ci++)
                        for (int64_t i = 0; i < a->kh; i++)
                            for (int64_t j = 0; j < a->kw; j++, t++) {
                                int64_t iy = y * a->stride_h - a->pad_t + i * a->dil_h;
                                int64_t ix = x * a->stride_w - a->pad_l + j * a->dil_w;
                                uint32_t ac = zero;
                                if (iy >= 0 && iy < a->h && ix >= 0 && ix < a->w) {
                                    int64_t off = ((n * a->c + g * cg + ci) * a->h + iy) * a->w + ix;
                                    ac = axl_format_encode(&r->fa, a->x[off], r->round,
                                                           axl_rand32(r->seed, (uint64_t)off));
                                }
                                int64_t woff = ((o * cg + ci) * a->kh + i) * a->kw + j;
                                uint32_t wcode = axl_format_encode(&r->fw, a->weight[woff], r->round,
                                                                   axl_rand32(wseed, (uint64_t)woff));
                                v[t] = ref_product(r, ac, wcode);
                            }
                    float s = ref_reduce(r, v, K);
                    if (a->bias)
                        s += a->bias[o];
                    a->y[((n * a->oc + o) * oh + y) * ow + x] = s;
                }
    free(v);
}

#endif
