/* A MAC configuration of the tests as a spec: the fields most tests vary. */
#ifndef AXLUT_TESTS_MAC_SPEC_H
#define AXLUT_TESTS_MAC_SPEC_H

#include <string.h>

#include "axlut/mac.h"

/* mp and ap are one "name=value" parameter each, or NULL. */
static inline void mac_spec_of(struct axl_mac_spec *s, const char *mul, const char *mp,
                               const char *fmt, const char *add, const char *ap, const char *acc,
                               enum axl_order order, enum axl_path path)
{
    memset(s, 0, sizeof *s);
    s->mul = mul;
    s->mul_params[0] = mp;
    s->n_mul_params = mp != NULL;
    s->fmt_a = fmt;
    s->add = add;
    s->add_params[0] = ap;
    s->n_add_params = ap != NULL;
    s->fmt_acc = acc;
    s->order = order;
    s->path = path;
}

#endif
