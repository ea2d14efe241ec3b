/* Prepared weights: each weight tensor encoded once per plan, not once per
 * call.  A network's layers are called for every batch and every pass with
 * the same weights; encoding them (a format conversion per element, and for
 * integers a range search per channel) cost as much as a small layer's
 * products.
 *
 * The cache is keyed by the tensor's address and layout, and keeps the
 * values it encoded: a call whose tensor holds other values (weights
 * updated in place by training, or a MatMul whose second operand is an
 * activation) encodes again, so the cache can never serve stale codes.
 * Comparing costs one read of the tensor, a small fraction of encoding it.
 * Encoding is a pure function of (plan, values, layout): served codes are
 * the ones a fresh encoding would give, bit for bit.  The cache holds at
 * most AXL_WCACHE_BYTES (least recently used entries not in use go first);
 * several threads may use one plan.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"

#define AXL_WCACHE_BYTES ((size_t)1 << 30)

struct wentry {
    const float *src; /* the key: address and layout */
    int64_t nout, k, sn, sk;
    float *vals;      /* the values encoded, in W[n][k] order */
    struct axl_weights w;
    uint32_t *codes;
    struct axl_quant *qw;
    int64_t *sumw;
    void (*dev_free)(void *);
    int users;
    uint64_t stamp; /* last use */
    size_t bytes;
    struct wentry *next;
};

struct axl_wcache {
    pthread_mutex_t lock;
    struct wentry *head;
    size_t bytes;
    uint64_t clock;
    int64_t encoded, reused;
    int off; /* axl_mac_cache_weights(m, 0): encode on every call (measurements) */
};

enum axl_status axl_wcache_create(struct axl_wcache **out)
{
    struct axl_wcache *c = calloc(1, sizeof *c);
    if (!c || pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        *out = NULL;
        return AXL_ERR_NOMEM;
    }
    *out = c;
    return AXL_OK;
}

static void entry_free(struct wentry *e)
{
    if (e->dev_free && e->w.dev)
        e->dev_free(e->w.dev);
    free(e->vals);
    free(e->codes);
    free(e->qw);
    free(e->sumw);
    free(e);
}

void axl_wcache_free(struct axl_wcache *c)
{
    if (!c)
        return;
    for (struct wentry *e = c->head, *next; e; e = next) {
        next = e->next;
        entry_free(e);
    }
    pthread_mutex_destroy(&c->lock);
    free(c);
}

void axl_wcache_counts(const struct axl_mac *m, int64_t *encoded, int64_t *reused)
{
    struct axl_wcache *c = m->wcache;
    pthread_mutex_lock(&c->lock);
    *encoded = c->encoded;
    *reused = c->reused;
    pthread_mutex_unlock(&c->lock);
}

/* 1 when the tensor holds the values e encoded (bit for bit: -0 is not +0,
 * a NaN is its own bits). */
static int same_values(const struct wentry *e, const float *w)
{
    if (e->sk == 1 && e->sn == e->k) {
        /* by both threads where the tensor is large: one thread comparing
         * the 4 MiB of a 1024x1024 layer's weights (8 MiB read) left the
         * other idle for about a tenth of the layer (issue 19) */
        const size_t bytes = (size_t)(e->nout * e->k) * sizeof *w, piece = (size_t)1 << 16;
        const int64_t pieces = (int64_t)((bytes + piece - 1) / piece);
        int differ = 0;
#pragma omp parallel for schedule(static) reduction(| : differ) if (bytes >= ((size_t)1 << 20))
        for (int64_t p = 0; p < pieces; p++) {
            size_t off = (size_t)p * piece, len = bytes - off < piece ? bytes - off : piece;
            differ |= memcmp((const char *)e->vals + off, (const char *)w + off, len) != 0;
        }
        return !differ;
    }
    for (int64_t n = 0; n < e->nout; n++)
        for (int64_t j = 0; j < e->k; j++)
            if (memcmp(&e->vals[n * e->k + j], &w[n * e->sn + j * e->sk], sizeof *w))
                return 0;
    return 1;
}

/* Encodes the tensor into e (whose buffers exist). */
static void encode_into(const struct axl_mac *m, struct wentry *e, const float *w)
{
    if (e->dev_free && e->w.dev)
        e->dev_free(e->w.dev);
    e->w.dev = NULL;
    e->dev_free = NULL;
    const int64_t nout = e->nout, k = e->k, sn = e->sn, sk = e->sk;
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < nout; n++)
        for (int64_t j = 0; j < k; j++)
            e->vals[n * k + j] = w[n * sn + j * sk];
    axl_emu_encode_weights(m, w, nout, k, sn, sk, e->codes, e->qw);
    if (e->sumw) {
#pragma omp parallel for schedule(static)
        for (int64_t n = 0; n < nout; n++) {
            int64_t s = 0;
            for (int64_t j = 0; j < k; j++)
                s += (int64_t)axl_format_decode(&m->fw, e->codes[n * k + j]);
            e->sumw[n] = s;
        }
    }
}

static struct wentry *entry_new(const struct axl_mac *m, const float *w, int64_t nout, int64_t k,
                                int64_t sn, int64_t sk)
{
    struct wentry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    size_t nk = (size_t)(nout * k);
    e->src = w;
    e->nout = nout, e->k = k, e->sn = sn, e->sk = sk;
    e->vals = malloc(nk * sizeof *e->vals);
    e->codes = malloc(nk * sizeof *e->codes);
    e->qw = malloc((size_t)nout * sizeof *e->qw);
    e->sumw = m->int_mode ? malloc((size_t)nout * sizeof *e->sumw) : NULL;
    if (!e->vals || !e->codes || !e->qw || (m->int_mode && !e->sumw)) {
        entry_free(e);
        return NULL;
    }
    e->bytes = nk * (sizeof *e->vals + sizeof *e->codes) + (size_t)nout * 16;
    e->w.nout = nout;
    e->w.k = k;
    e->w.codes = e->codes;
    e->w.qw = e->qw;
    e->w.sumw = e->sumw;
    return e;
}

/* Drops the least recently used entries nobody uses until the cache fits. */
static void evict(struct axl_wcache *c)
{
    while (c->bytes > AXL_WCACHE_BYTES) {
        struct wentry **victim = NULL;
        for (struct wentry **p = &c->head; *p; p = &(*p)->next)
            if ((*p)->users == 0 && (!victim || (*p)->stamp < (*victim)->stamp))
                victim = p;
        if (!victim)
            return;
        struct wentry *e = *victim;
        *victim = e->next;
        c->bytes -= e->bytes;
        entry_free(e);
    }
}

enum axl_status axl_weights_acquire(const struct axl_mac *m, const float *w, int64_t nout,
                                    int64_t k, int64_t sn, int64_t sk,
                                    const struct axl_weights **out, char *msg)
{
    struct axl_wcache *c = m->wcache;
    struct wentry *hit = NULL, *stale = NULL;
    pthread_mutex_lock(&c->lock);
    for (struct wentry *e = c->head; e && !hit; e = e->next) {
        if (e->src != w || e->nout != nout || e->k != k || e->sn != sn || e->sk != sk)
            continue;
        if (same_values(e, w))
            hit = e;
        else if (e->users == 0 && !stale)
            stale = e;
    }
    if (hit && c->off && hit->users == 0) {
        encode_into(m, hit, w);
        c->encoded++;
    } else if (hit && !c->off) {
        c->reused++;
    } else if (stale) { /* same tensor, new values: encode again in place */
        hit = stale;
        encode_into(m, hit, w);
        c->encoded++;
    } else {
        hit = entry_new(m, w, nout, k, sn, sk);
        if (!hit) {
            pthread_mutex_unlock(&c->lock);
            *out = NULL;
            return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory encoding %lldx%lld weights",
                            (long long)nout, (long long)k);
        }
        encode_into(m, hit, w);
        c->encoded++;
        hit->next = c->head;
        c->head = hit;
        c->bytes += hit->bytes;
    }
    hit->users++;
    hit->stamp = ++c->clock;
    evict(c);
    pthread_mutex_unlock(&c->lock);
    *out = &hit->w;
    return AXL_OK;
}

void axl_mac_cache_weights(struct axl_mac *m, int on)
{
    struct axl_wcache *c = m->wcache;
    pthread_mutex_lock(&c->lock);
    c->off = !on;
    pthread_mutex_unlock(&c->lock);
}

void axl_weights_release(const struct axl_mac *m, const struct axl_weights *w)
{
    if (!w)
        return;
    struct axl_wcache *c = m->wcache;
    pthread_mutex_lock(&c->lock);
    for (struct wentry *e = c->head; e; e = e->next)
        if (&e->w == w) {
            e->users--;
            break;
        }
    evict(c);
    pthread_mutex_unlock(&c->lock);
}

int axl_weights_set_dev(const struct axl_mac *m, const struct axl_weights *w, void *dev,
                        void (*dev_free)(void *))
{
    struct axl_wcache *c = m->wcache;
    int done = 0;
    pthread_mutex_lock(&c->lock);
    for (struct wentry *e = c->head; e; e = e->next)
        if (&e->w == w) {
            if (!e->w.dev) {
                e->w.dev = dev;
                e->dev_free = dev_free;
                done = 1;
            }
            break;
        }
    pthread_mutex_unlock(&c->lock);
    return done;
}
