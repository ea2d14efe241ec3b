/* The membrane arithmetic of a converted SNN (include/axlut/snn.h): the
 * membrane format and its adder bound through the design registry, the
 * weight format, for the network (the settings) and per layer (a
 * configuration in axlut run's language, include/axlut/layers.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/layers.h"
#include "snn_internal.h"

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* the adder design by name: built-in or a user's C file (one per network) */
static enum axl_status find_adder(struct axl_snn *s, const char *name,
                                  const struct axl_design **d, char *msg)
{
    if (ends_with(name, ".c")) {
        if (s->user && strcmp(s->user_path, name))
            return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "%s: one user adder per network (%s is "
                            "loaded)", name, s->user_path);
        if (!s->user) {
            char *log = NULL;
            enum axl_status st = axl_user_design_load(name, &s->user, &log, msg);
            free(log);
            if (st != AXL_OK)
                return st;
            snprintf(s->user_path, sizeof s->user_path, "%s", name);
        }
        *d = axl_user_design_get(s->user);
    } else if (!(*d = axl_design_find(name))) {
        return axl_msgf(msg, AXL_ERR_INVALID,
                        "unknown design '%s' (axlut list designs shows them)", name);
    }
    if ((*d)->op != AXL_OP_ADD)
        return axl_msgf(msg, AXL_ERR_MISMATCH, "design '%s' is a multiplier, not an adder", name);
    return AXL_OK;
}

/* a and fw from formats (NULL: fp32) and an adder (NULL or "exact": exact) */
static enum axl_status bind(struct axl_snn *s, struct snn_arith *a, struct axl_format *fw,
                            const char *fmt_w, const char *fmt_acc, const char *add,
                            const char *const *params, int nparams, char *msg)
{
    enum axl_status rc;
    memset(a, 0, sizeof *a);
    if ((rc = axl_format_parse(fmt_w ? fmt_w : "fp32", fw, msg)) != AXL_OK ||
        (rc = axl_format_parse(fmt_acc ? fmt_acc : "fp32", &a->facc, msg)) != AXL_OK)
        return rc;
    if (fw->kind == AXL_KIND_UINT || a->facc.kind == AXL_KIND_UINT)
        return axl_msgf(msg, AXL_ERR_INVALID, "%s %s: weights and membranes are signed (use "
                        "int%u)", fw->kind == AXL_KIND_UINT ? "weight format" : "membrane format",
                        fw->kind == AXL_KIND_UINT ? fw->name : a->facc.name,
                        fw->kind == AXL_KIND_UINT ? fw->bits : a->facc.bits);
    struct axl_format f32;
    axl_format_parse("fp32", &f32, NULL);
    int exact = !add || !strcmp(add, "exact") || !strcmp(add, "fp32");
    a->is_int = a->facc.kind == AXL_KIND_INT;
    a->mask = a->facc.bits == 32 ? 0xFFFFFFFFu : (1u << a->facc.bits) - 1u;
    if (exact && axl_format_equal(&a->facc, &f32)) {
        if (nparams)
            return axl_msgf(msg, AXL_ERR_INVALID, "exact adds take no parameters");
        a->f32 = 1;
        return AXL_OK;
    }
    const char *name = exact ? "add_exact" : add;
    if ((rc = find_adder(s, name, &a->d, msg)) != AXL_OK ||
        (rc = axl_design_bind(a->d, &a->facc, &a->facc, a->is_int ? NULL : &a->facc,
                              params, nparams, &a->c, msg)) != AXL_OK)
        return rc;
    /* a user's adder runs in-process on every membrane add: every pair
     * first, in a child, where the membrane format fits a table */
    if (s->user && a->d == axl_user_design_get(s->user) &&
        (rc = axl_user_design_check_pairs(a->d, &a->c, axl_user_design_timeout(), msg)) != AXL_OK)
        return rc;
    a->bt = axl_design_batch(a->d);
    if (s->user && a->d == axl_user_design_get(s->user))
        axl_user_design_batch(s->user, &a->bt.row, &a->bt.pair);
    if (!a->is_int) {
        if (!axl_format_equal(&a->c.fr, &a->facc))
            return axl_msgf(msg, AXL_ERR_MISMATCH, "adder '%s' gives %s results, the membrane "
                            "is %s", name, a->c.fr.name, a->facc.name);
        return AXL_OK;
    }
    if (a->c.fr.kind != AXL_KIND_INT || a->c.fr.bits < a->facc.bits || a->c.fr.bits > 32)
        return axl_msgf(msg, AXL_ERR_MISMATCH, "adder '%s' gives %s results for an %s membrane",
                        name, a->c.fr.name, a->facc.name);
    a->rbits = a->c.fr.bits;
    a->hi = (int32_t)((1u << (a->facc.bits - 1)) - 1u);
    a->lo = -a->hi - 1;
    return AXL_OK;
}

enum axl_status snn_bind_arith(struct axl_snn *s, const struct axl_snn_settings *st, char *msg)
{
    return bind(s, &s->ar, &s->fw, st->fmt_w, st->fmt_acc, st->add, st->add_params,
                st->n_add_params, msg);
}

/* the layers a rule may name: every one with synapses or neurons */
static int configurable(const struct snn_layer *l)
{
    return l->kind != AXL_SNN_MAXPOOL && l->kind != AXL_SNN_CONCAT;
}

/* Layer l's arithmetic from the configuration: a rule's add, add_params,
 * acc_format and format_w (or format) replace the settings' for it;
 * "exact" makes it fp32 with exact adds. */
static enum axl_status bind_layer(struct axl_snn *s, struct snn_layer *l,
                                  const struct axl_snn_settings *st, char *msg)
{
    struct axl_mac_spec sp;
    int exact = 0;
    memset(&sp, 0, sizeof sp);
    axl_layers_resolve(st->config, l->name, l->op, &sp, &exact);
    enum axl_status rc;
    if (exact) {
        rc = bind(s, &l->ar, &l->fw, NULL, NULL, NULL, NULL, 0, msg);
    } else {
        const char *fw = sp.fmt_w ? sp.fmt_w : sp.fmt_a ? sp.fmt_a : st->fmt_w;
        const char *facc = sp.fmt_acc ? sp.fmt_acc : st->fmt_acc;
        int own = sp.add != NULL;
        rc = bind(s, &l->ar, &l->fw, fw, facc, own ? sp.add : st->add,
                  own ? sp.add_params : st->add_params,
                  own ? sp.n_add_params : st->n_add_params, msg);
    }
    if (rc != AXL_OK) {
        char why[AXL_MSG_LEN];
        snprintf(why, sizeof why, "%s", msg);
        return axl_msgf(msg, rc, "layer '%.200s' of the configuration: %s", l->name, why);
    }
    return AXL_OK;
}

enum axl_status snn_bind_layers(struct axl_snn *s, const struct axl_snn_settings *st,
                                struct axl_mac_spec *first, char *msg)
{
    if (st->config) {
        const char **names = calloc(s->n + 1, sizeof *names), **ops = calloc(s->n + 1, sizeof *ops);
        size_t n = 0;
        if (!names || !ops) {
            free(names), free(ops);
            return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
        }
        for (size_t k = 0; k < s->n; k++)
            if (configurable(&s->L[k]))
                names[n] = s->L[k].name, ops[n++] = s->L[k].op;
        enum axl_status rc = axl_layers_check(st->config, names, ops, n, msg);
        free(names), free(ops);
        if (rc != AXL_OK)
            return rc;
    }
    for (size_t k = 0; k < s->n; k++) {
        struct snn_layer *l = &s->L[k];
        l->ar = s->ar, l->fw = s->fw;
        enum axl_status rc = st->config && configurable(l) ? bind_layer(s, l, st, msg) : AXL_OK;
        if (rc != AXL_OK)
            return rc;
    }
    /* a projection adds into its Add's membrane: the Add's arithmetic */
    for (size_t k = 0; k < s->n; k++)
        if (s->L[k].into >= 0)
            s->L[k].ar = s->L[s->L[k].into].ar, s->L[k].fw = s->L[s->L[k].into].fw;
    /* the first layer's products: the settings', or its rule's multiplier */
    if (st->config && s->n) {
        struct axl_mac_spec sp;
        int exact = 0;
        memset(&sp, 0, sizeof sp);
        axl_layers_resolve(st->config, s->L[0].name, s->L[0].op, &sp, &exact);
        if (!exact && sp.mul) {
            first->mul = sp.mul;
            first->fmt_a = sp.fmt_a;
            first->n_mul_params = sp.n_mul_params;
            for (int i = 0; i < sp.n_mul_params; i++)
                first->mul_params[i] = sp.mul_params[i];
        }
    }
    return AXL_OK;
}
