/* Block-scaled plans (block_plan.h): the operands and the block adder
 * bound, the element product table built, the quantized weights kept. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block_plan.h"

int axl_block_plan_wanted(const struct axl_mac_spec *spec)
{
    return (spec->fmt_a && axl_block_format_is(spec->fmt_a)) ||
           (spec->fmt_w && axl_block_format_is(spec->fmt_w));
}

static const char *scale_name(const struct axl_block_format *bf)
{
    return bf->scale == AXL_BSCALE_E8M0 ? "E8M0" : "E4M3";
}

enum axl_status axl_block_plan_bind(struct axl_mac *m, const struct axl_mac_spec *spec, char *msg)
{
    const char *fa = spec->fmt_a ? spec->fmt_a : "fp32";
    const char *fw = spec->fmt_w ? spec->fmt_w : fa;
    if (!axl_block_format_is(fa) || !axl_block_format_is(fw))
        return axl_msgf(msg, AXL_ERR_INVALID, "activations %s and weights %s: a block-scaled "
                        "format needs both operands in block formats (axlut list formats)", fa,
                        fw);
    struct axl_block_plan *bp = calloc(1, sizeof *bp);
    if (!bp)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    m->blk = bp;
    enum axl_status st;
    if ((st = axl_block_format_parse(fa, &bp->bfa, msg)) != AXL_OK ||
        (st = axl_block_format_parse(fw, &bp->bfw, msg)) != AXL_OK)
        return st;
    if (bp->bfa.size != bp->bfw.size || bp->bfa.scale != bp->bfw.scale)
        return axl_msgf(msg, AXL_ERR_INVALID, "activations %s (blocks of %u, %s scales) and "
                        "weights %s (blocks of %u, %s scales): both operands need one block size "
                        "and scale encoding", bp->bfa.name, bp->bfa.size, scale_name(&bp->bfa),
                        bp->bfw.name, bp->bfw.size, scale_name(&bp->bfw));
    if (spec->wscale != AXL_WSCALE_NONE || spec->ascale != AXL_ASCALE_NONE || spec->scale_pow2 ||
        spec->scale_margin || spec->act_amax != 0.0f)
        return axl_msgf(msg, AXL_ERR_INVALID, "scaling (wscale, ascale, scale-pow2, "
                        "scale-margin, act-amax) is for unscaled floating formats; %s carries "
                        "its own block scales", bp->bfa.name);
    if (spec->order != AXL_ORDER_SEQUENTIAL)
        return axl_msgf(msg, AXL_ERR_INVALID, "block format %s: blocks accumulate in sequence "
                        "(order sequential); order %s is not supported", bp->bfa.name,
                        axl_order_name(spec->order));
    if (spec->round != AXL_ROUND_NEAREST_EVEN)
        return axl_msgf(msg, AXL_ERR_INVALID, "block format %s: elements round to nearest even "
                        "as the specification says; round %s is not supported", bp->bfa.name,
                        axl_round_name(spec->round));
    m->fa = bp->bfa.elem;
    m->fw = bp->bfw.elem;
    m->int_mode = 0; /* MXINT8's elements are integers, but scaled by blocks, not affinely */
    for (uint32_t c = 0; c < 256; c++)
        bp->svalue[c] = bp->bfa.scale == AXL_BSCALE_E4M3 ? axl_block_scale_value(&bp->bfa, c)
                                                          : 0.0f;
    return axl_emu_bind_scaling(m, spec, msg);
}

/* The block adder: exact float32, or an adder design on codes of its format. */
static enum axl_status bind_block_adder(struct axl_mac *m, const struct axl_mac_spec *spec,
                                        char *msg)
{
    struct axl_block_plan *bp = m->blk;
    const char *add = spec->block_add;
    const char *fmt = spec->fmt_block_acc ? spec->fmt_block_acc : "fp32";
    enum axl_status st;
    if ((st = axl_format_parse(fmt, &bp->fbacc, msg)) != AXL_OK)
        return st;
    if (!add || !strcmp(add, "fp32") || !strcmp(add, "exact")) {
        if (strcmp(bp->fbacc.name, "fp32"))
            return axl_msgf(msg, AXL_ERR_INVALID, "block accumulator format %s needs a block "
                            "adder design (e.g. block-add add_exact)", bp->fbacc.name);
        return AXL_OK;
    }
    if (bp->fbacc.kind != AXL_KIND_FLOAT)
        return axl_msgf(msg, AXL_ERR_INVALID, "block accumulator format %s must be floating",
                        bp->fbacc.name);
    if ((st = axl_plan_find_design(add, AXL_OP_ADD, &bp->badd_d, &bp->badd_user, msg)) != AXL_OK)
        return st;
    if ((st = axl_design_bind(bp->badd_d, &bp->fbacc, &bp->fbacc, &bp->fbacc,
                              spec->block_add_params, spec->n_block_add_params, &bp->badd_c,
                              msg)) != AXL_OK)
        return st;
    if (!axl_format_equal(&bp->badd_c.fr, &bp->fbacc))
        return axl_msgf(msg, AXL_ERR_MISMATCH, "block adder '%s' gives %s results, the block "
                        "accumulator is %s", add, bp->badd_c.fr.name, bp->fbacc.name);
    bp->badd_b = axl_design_batch(bp->badd_d);
    if (bp->badd_user)
        axl_user_design_batch(bp->badd_user, &bp->badd_b.row, &bp->badd_b.pair);
    bp->bcode = 1;
    bp->bacc_zero = axl_format_encode(&bp->fbacc, 0.0f, AXL_ROUND_NEAREST_EVEN, 0);
    return AXL_OK;
}

static enum axl_status cache_create(struct axl_block_plan *bp);

enum axl_status axl_block_plan_prepare(struct axl_mac *m, const struct axl_mac_spec *spec,
                                       char *msg)
{
    struct axl_block_plan *bp = m->blk;
    enum axl_status st;
    if ((st = bind_block_adder(m, spec, msg)) != AXL_OK)
        return st;
    if (cache_create(bp) != AXL_OK)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    /* element products as axl_block_dot_ref makes them: the multiplier's
     * code (the full table where the plan has one, else the function, which
     * gives the same bits), decoded, times 2^(elem_shift_a + elem_shift_w) */
    const int use_table = m->path == AXL_PATH_TABLE && m->table;
    if (!use_table && !m->mul_d)
        return axl_msgf(msg, AXL_ERR_INVALID, "block format %s: the multiplier has neither a "
                        "full table nor a function", bp->bfa.name);
    if (m->fa.bits > 12 || m->fw.bits > 12)
        return axl_msgf(msg, AXL_ERR_INVALID, "block element formats of at most 12 bits");
    bp->na = 1u << m->fa.bits;
    bp->nw = 1u << m->fw.bits;
    size_t n = (size_t)bp->na * bp->nw;
    if (bp->bcode)
        bp->ptc = malloc(n * sizeof *bp->ptc);
    else
        bp->ptf = malloc(n * sizeof *bp->ptf);
    if (!bp->ptc && !bp->ptf)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory for a %zu-entry product table", n);
    if (!bp->bcode && m->add_d == NULL && axl_small_isa() == AXL_SMALL_AVX512)
        bp->perm = 0; /* decided below, once the table is known */
    else
        bp->perm = axl_block_cpu_perm(bp);
    const int shift = bp->bfa.elem_shift + bp->bfw.elem_shift;
    for (uint32_t w = 0; w < bp->nw; w++)
        for (uint32_t a = 0; a < bp->na; a++) {
            uint32_t code = use_table ? axl_table_entry(m->table, a, w)
                                      : m->mul_d->eval(&m->mul_c, a, w);
            float p = ldexpf(axl_format_decode(&m->fp, code), shift);
            size_t i = (size_t)w * bp->na + a;
            if (bp->bcode)
                bp->ptc[i] = axl_format_encode(&bp->fbacc, p, AXL_ROUND_NEAREST_EVEN, 0);
            else
                bp->ptf[i] = p;
        }
    /* the fused kernels where they serve (exact float32 adds within and
     * across blocks); else permutes, VBMI block sums or gathers */
    /* (Q16 only where a block's products fit one int16 tile, as e2m1's
     * do; e2m3's products, up to 3600 units, take float32 adds) */
    const unsigned modes[2] = {AXL_SMALL_ALL_MODES, AXL_SMALL_ALL_MODES & ~(1u << AXL_SMALL_Q16)};
    for (int i = 0; i < 2 && !bp->fused; i++) {
        if (bp->bcode || m->add_d != NULL || axl_small_isa() != AXL_SMALL_AVX512 ||
            !axl_small_prepare(&bp->sm, bp->ptf, NULL, bp->na, bp->nw, AXL_SMALL_AVX512,
                               modes[i]))
            break;
        if (axl_small_scaled_usable(&bp->sm, bp->bfa.size))
            bp->fused = 1;
        else
            axl_small_free(&bp->sm);
    }
    if (!bp->fused && !bp->perm)
        bp->perm = axl_block_cpu_perm(bp);
    if (!bp->bcode && !bp->perm && !bp->fused &&
        axl_vbmi_prepare(&bp->vb, bp->ptf, NULL, bp->na, bp->nw))
        bp->fused = m->add_d == NULL;
    return AXL_OK;
}

/* ---- quantized weights -------------------------------------------------- */

struct bwentry {
    const float *src; /* the key: address and view */
    int64_t nvo, nvt, len, so, st, si;
    float *vals; /* the values quantized, in vector order */
    float *raw;  /* a dense view (its offsets fill 0 .. n - 1): w[0 .. n) as it was, so
                    that a call compares it with one memcmp (else NULL) */
    uint32_t *codes, *scales;
    struct axl_bweights w;
    int users;
    uint64_t stamp; /* last use */
    struct bwentry *next;
};

/* At most this many tensors per plan: a plan serves one layer, but the
 * second operand of an activation x activation MatMul (attention) comes
 * from a new buffer on every call, and must not pile up. */
#define BW_MAX_ENTRIES 16

struct axl_bwcache {
    pthread_mutex_t lock;
    struct bwentry *head;
    int count;
    uint64_t clock;
};

static enum axl_status cache_create(struct axl_block_plan *bp)
{
    bp->wcache = calloc(1, sizeof *bp->wcache);
    if (!bp->wcache || pthread_mutex_init(&bp->wcache->lock, NULL) != 0) {
        free(bp->wcache);
        bp->wcache = NULL;
        return AXL_ERR_NOMEM;
    }
    return AXL_OK;
}

static void bwentry_free(struct bwentry *e)
{
    if (!e)
        return;
    free(e->vals);
    free(e->raw);
    free(e->codes);
    free(e->scales);
    free(e);
}

void axl_block_plan_free(struct axl_block_plan *bp)
{
    if (!bp)
        return;
    if (bp->wcache) {
        for (struct bwentry *e = bp->wcache->head, *next; e; e = next) {
            next = e->next;
            bwentry_free(e);
        }
        pthread_mutex_destroy(&bp->wcache->lock);
        free(bp->wcache);
    }
    axl_user_design_free(bp->badd_user);
    axl_vbmi_free(&bp->vb);
    axl_small_free(&bp->sm);
    free(bp->ptf);
    free(bp->ptc);
    free(bp);
}

/* Drops the least recently used entries nobody holds while there are too
 * many (under the lock). */
static void evict(struct axl_bwcache *c)
{
    while (c->count > BW_MAX_ENTRIES) {
        struct bwentry **victim = NULL;
        for (struct bwentry **p = &c->head; *p; p = &(*p)->next)
            if ((*p)->users == 0 && (!victim || (*p)->stamp < (*victim)->stamp))
                victim = p;
        if (!victim)
            return;
        struct bwentry *e = *victim;
        *victim = e->next;
        bwentry_free(e);
        c->count--;
    }
}

static float view_at(const struct bwentry *e, const float *w, int64_t v, int64_t i)
{
    return w[(v / e->nvt) * e->so + (v % e->nvt) * e->st + i * e->si];
}

static int same_values(const struct bwentry *e, const float *w)
{
    if (e->raw)
        return !memcmp(e->raw, w, (size_t)(e->nvo * e->nvt * e->len) * sizeof *w);
    for (int64_t v = 0; v < e->nvo * e->nvt; v++)
        for (int64_t i = 0; i < e->len; i++) {
            float x = view_at(e, w, v, i);
            if (memcmp(&e->vals[v * e->len + i], &x, sizeof x))
                return 0;
        }
    return 1;
}

/* Quantizes the tensor into e, as the reference does: the NVFP4 tensor
 * scale from the largest finite magnitude of the whole view. */
static enum axl_status quantize_into(const struct axl_mac *m, struct bwentry *e, const float *w,
                                     char *msg)
{
    const struct axl_block_format *bf = &m->blk->bfw;
    const int64_t nvec = e->nvo * e->nvt, len = e->len, nb = e->w.nb;
    float amax = 0.0f;
    for (int64_t v = 0; v < nvec; v++)
        for (int64_t i = 0; i < len; i++) {
            float x = view_at(e, w, v, i), a = fabsf(x);
            e->vals[v * len + i] = x;
            if (a > amax && a - a == 0.0f)
                amax = a;
        }
    if (e->raw)
        memcpy(e->raw, w, (size_t)(nvec * len) * sizeof *w);
    float ts = axl_block_tensor_scale(bf, amax);
    const float *given = bf->scale == AXL_BSCALE_E4M3 ? &ts : NULL;
    int bad = 0;
#pragma omp parallel for schedule(static) reduction(| : bad)
    for (int64_t v = 0; v < nvec; v++) {
        float t;
        bad |= axl_block_quantize(bf, e->vals + v * len, len, AXL_ROUND_NEAREST_EVEN, 0, given,
                                  e->codes + v * nb * bf->size, e->scales + v * nb, &t,
                                  NULL) != AXL_OK;
    }
    e->w.ts = ts;
    if (bad)
        return axl_msgf(msg, AXL_ERR_INVALID, "block format %s: the weights could not be "
                        "quantized", bf->name);
    return AXL_OK;
}

enum axl_status axl_bweights_acquire(const struct axl_mac *m, const float *w, int64_t nvo,
                                     int64_t nvt, int64_t len, int64_t so, int64_t st, int64_t si,
                                     const struct axl_bweights **out, char *msg)
{
    struct axl_block_plan *bp = m->blk;
    struct axl_bwcache *c = bp->wcache;
    *out = NULL;
    struct bwentry *hit = NULL, *stale = NULL;
    pthread_mutex_lock(&c->lock);
    for (struct bwentry *e = c->head; e && !hit; e = e->next) {
        if (e->src != w || e->nvo != nvo || e->nvt != nvt || e->len != len || e->so != so ||
            e->st != st || e->si != si)
            continue;
        if (same_values(e, w))
            hit = e;
        else if (e->users == 0 && !stale)
            stale = e;
    }
    enum axl_status rc = AXL_OK;
    if (!hit && stale) {
        hit = stale;
        rc = quantize_into(m, hit, w, msg);
    } else if (!hit) {
        struct bwentry *e = calloc(1, sizeof *e);
        int64_t nvec = nvo * nvt, nb = axl_block_count(&bp->bfw, len);
        if (e) {
            *e = (struct bwentry){.src = w, .nvo = nvo, .nvt = nvt, .len = len, .so = so,
                                  .st = st, .si = si};
            e->vals = malloc((size_t)(nvec * len) * sizeof *e->vals);
            int dense = so >= 0 && st >= 0 && si >= 0 &&
                        (nvo - 1) * so + (nvt - 1) * st + (len - 1) * si + 1 == nvec * len;
            if (dense && nvec * len > 0)
                e->raw = malloc((size_t)(nvec * len) * sizeof *e->raw);
            e->codes = malloc((size_t)(nvec * nb * bp->bfw.size) * sizeof *e->codes);
            e->scales = malloc((size_t)(nvec * nb) * sizeof *e->scales);
        }
        if (!e || !e->vals || !e->codes || !e->scales) {
            bwentry_free(e);
            pthread_mutex_unlock(&c->lock);
            return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory quantizing %lld x %lld weights",
                            (long long)nvec, (long long)len);
        }
        e->w = (struct axl_bweights){.nvec = nvec, .nb = nb, .codes = e->codes,
                                     .scales = e->scales};
        rc = quantize_into(m, e, w, msg);
        e->next = c->head;
        c->head = e;
        hit = e;
        c->count++;
    }
    if (rc == AXL_OK) {
        hit->users++;
        hit->stamp = ++c->clock;
        evict(c);
        *out = &hit->w;
    } else {
        hit->src = NULL; /* never served again */
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

void axl_bweights_release(const struct axl_mac *m, const struct axl_bweights *w)
{
    struct axl_bwcache *c = m->blk->wcache;
    pthread_mutex_lock(&c->lock);
    for (struct bwentry *e = c->head; e; e = e->next)
        if (&e->w == w)
            e->users--;
    pthread_mutex_unlock(&c->lock);
}
