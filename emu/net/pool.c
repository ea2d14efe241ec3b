/* Buffers a series of runs of one graph reuses (axl_run_opts.pool): every
 * value a run computes takes the smallest free buffer that holds it and
 * gives it back after its last use, so that from the second batch on a
 * dataset run allocates nothing (the same shapes come back in the same
 * order) and the kernel does not zero fresh pages for every batch. */
#include <stdlib.h>

#include "graph_internal.h"

struct blk {
    void *p;
    size_t bytes;
};

struct axl_graph_pool {
    struct blk *free;
    size_t n, cap;
    uint64_t allocations;
};

enum axl_status axl_graph_pool_new(struct axl_graph_pool **out, char *msg)
{
    *out = calloc(1, sizeof **out);
    return *out ? AXL_OK : axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
}

void axl_graph_pool_free(struct axl_graph_pool *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        free(p->free[i].p);
    free(p->free);
    free(p);
}

uint64_t axl_graph_pool_allocations(const struct axl_graph_pool *p)
{
    return p ? p->allocations : 0;
}

void *pool_get(struct axl_graph_pool *p, size_t bytes, size_t *got)
{
    size_t best = p->n;
    for (size_t i = 0; i < p->n; i++)
        if (p->free[i].bytes >= bytes && (best == p->n || p->free[i].bytes < p->free[best].bytes))
            best = i;
    if (best < p->n) {
        void *d = p->free[best].p;
        *got = p->free[best].bytes;
        p->free[best] = p->free[--p->n];
        return d;
    }
    void *d = malloc(bytes ? bytes : 1);
    if (d)
        p->allocations++;
    *got = bytes ? bytes : 1;
    return d;
}

void pool_put(struct axl_graph_pool *p, void *data, size_t bytes)
{
    if (!data)
        return;
    if (p->n == p->cap) {
        size_t nc = p->cap ? 2 * p->cap : 16;
        struct blk *f = realloc(p->free, nc * sizeof *f);
        if (!f) { /* cannot keep it: give it back to the system instead */
            free(data);
            return;
        }
        p->free = f;
        p->cap = nc;
    }
    p->free[p->n++] = (struct blk){data, bytes};
}
