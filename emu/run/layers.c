/* Per-layer MAC configurations (include/axlut/layers.h). */
#define _POSIX_C_SOURCE 200809L
#include <fnmatch.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/block.h"
#include "axlut/layers.h"
#include "layers_internal.h"

enum {
    F_MUL = 1 << 0, F_PARAMS = 1 << 1, F_FMT_A = 1 << 2, F_FMT_W = 1 << 3, F_FMT_P = 1 << 4,
    F_ROUND = 1 << 5, F_SEED = 1 << 6, F_ADD = 1 << 7, F_ADD_PARAMS = 1 << 8, F_ACC = 1 << 9,
    F_ORDER = 1 << 10, F_CHUNK = 1 << 11, F_PATH = 1 << 12, F_WQUANT = 1 << 13, F_EXACT = 1 << 14,
    F_WSCALE = 1 << 15, F_ASCALE = 1 << 16, F_SPOW2 = 1 << 17, F_SMARGIN = 1 << 18,
    F_AAMAX = 1 << 19, F_BADD = 1 << 20, F_BADD_PARAMS = 1 << 21, F_BACC = 1 << 22,
};

#define STR 128

/* One rule (or the default): the fields it sets, with their values. */
struct rule {
    char match[STR]; /* "" : any name */
    char op[32];     /* "" : any op */
    unsigned set;
    char mul[512], fmt_a[64], fmt_w[64], fmt_p[64], add[512], acc[64];
    char params[AXL_MAC_MAX_PARAMS][48];
    int nparams;
    char add_params[AXL_MAC_MAX_PARAMS][48];
    int nadd_params;
    char badd[512], bacc[64]; /* block accumulator of block-scaled formats */
    char badd_params[AXL_MAC_MAX_PARAMS][48];
    int nbadd_params;
    enum axl_round round;
    uint64_t seed;
    enum axl_order order;
    uint32_t chunk;
    enum axl_path path;
    enum axl_wquant wquant;
    int exact;
    enum axl_wscale wscale;
    enum axl_ascale ascale;
    int scale_pow2, scale_margin;
    float act_amax;
};

#define NFIELDS 23

struct axl_layers {
    struct rule def;
    struct rule *rules;
    size_t n;
    char source[512]; /* the JSON file it came from, or "" */
    char only[4 * STR]; /* a glob over layer names, or "" (every layer) */
};

enum axl_status axl_layers_new(struct axl_layers **out, char *msg)
{
    *out = calloc(1, sizeof **out);
    if (!*out) {
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    }
    return AXL_OK;
}

void axl_layers_free(struct axl_layers *l)
{
    if (!l)
        return;
    free(l->rules);
    free(l);
}

static int copy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        return 0;
    memcpy(dst, src, n + 1);
    return 1;
}

/* The refusal of a value that is none of an enum's names (listed from the
 * enum's own name function, values 0 .. n-1). */
static enum axl_status bad_enum(const char *what, const char *v, const char *(*name)(int), int n,
                                char *msg, const char *where)
{
    char allowed[160] = "";
    for (int i = 0; i < n; i++) {
        strncat(allowed, name(i), sizeof allowed - strlen(allowed) - 1);
        if (i + 1 < n)
            strncat(allowed, ", ", sizeof allowed - strlen(allowed) - 1);
    }
    return axl_msgf(msg, AXL_ERR_INVALID, "%s%s '%s' is not one of %s", where, what, v, allowed);
}

static const char *order_name(int i) { return axl_order_name((enum axl_order)i); }
static const char *path_name(int i) { return axl_path_name((enum axl_path)i); }
static const char *wquant_name(int i) { return axl_wquant_name((enum axl_wquant)i); }
static const char *wscale_name(int i) { return axl_wscale_name((enum axl_wscale)i); }
static const char *ascale_name(int i) { return axl_ascale_name((enum axl_ascale)i); }

/* Set one field of a rule from text; `where` prefixes messages. */
static enum axl_status set_field(struct rule *r, const char *key, const char *v, char *msg,
                                 const char *where)
{
    char tmp[AXL_MSG_LEN];
    struct axl_format f;
    if (!strcmp(key, "mul")) {
        if (!copy(r->mul, sizeof r->mul, v))
            goto toolong;
        r->set |= F_MUL;
    } else if (!strcmp(key, "param") || !strcmp(key, "add-param") ||
               !strcmp(key, "block-add-param")) {
        int add = key[0] == 'a', badd = key[0] == 'b';
        int *n = badd ? &r->nbadd_params : add ? &r->nadd_params : &r->nparams;
        char (*p)[48] = badd ? r->badd_params : add ? r->add_params : r->params;
        unsigned flag = badd ? F_BADD_PARAMS : add ? F_ADD_PARAMS : F_PARAMS;
        if (!strchr(v, '=')) {
            return axl_msgf(msg, AXL_ERR_INVALID, "%s%s '%s' must be name=value", where, key, v);
        }
        if (!(r->set & flag))
            *n = 0;
        if (*n >= AXL_MAC_MAX_PARAMS) {
            return axl_msgf(msg, AXL_ERR_INVALID, "%sat most %d %ss", where, AXL_MAC_MAX_PARAMS,
                            key);
        }
        if (!copy(p[*n], sizeof p[*n], v))
            goto toolong;
        (*n)++;
        r->set |= flag;
    } else if ((!strcmp(key, "format") || !strcmp(key, "format-w")) &&
               axl_block_format_is(v)) { /* block-scaled: the plan checks the pair */
        copy(!strcmp(key, "format") ? r->fmt_a : r->fmt_w, 64, v);
        r->set |= !strcmp(key, "format") ? F_FMT_A : F_FMT_W;
    } else if (!strcmp(key, "block-add")) {
        if (!copy(r->badd, sizeof r->badd, v))
            goto toolong;
        r->set |= F_BADD;
    } else if (!strcmp(key, "block-acc-format")) {
        if (axl_format_parse(v, &f, tmp) != AXL_OK)
            return axl_msgf(msg, AXL_ERR_INVALID, "%s%s: %.400s", where, key, tmp);
        copy(r->bacc, sizeof r->bacc, f.name);
        r->set |= F_BACC;
    } else if (!strcmp(key, "format") || !strcmp(key, "format-w") || !strcmp(key, "format-p") ||
               !strcmp(key, "acc-format")) {
        /* an integer layer's accumulator may be wider than any operand
         * format (int17..int32); the plan checks which kind of layer */
        enum axl_status st = axl_format_parse(v, &f, tmp);
        if (st != AXL_OK && !strcmp(key, "acc-format") && !strncmp(v, "int", 3))
            st = axl_format_parse_int_acc(v, &f, tmp);
        if (st != AXL_OK)
            return axl_msgf(msg, AXL_ERR_INVALID, "%s%s: %.400s", where, key, tmp);
        char *dst = !strcmp(key, "format")     ? r->fmt_a
                    : !strcmp(key, "format-w") ? r->fmt_w
                    : !strcmp(key, "format-p") ? r->fmt_p
                                               : r->acc;
        copy(dst, 64, f.name);
        r->set |= !strcmp(key, "format")     ? F_FMT_A
                  : !strcmp(key, "format-w") ? F_FMT_W
                  : !strcmp(key, "format-p") ? F_FMT_P
                                             : F_ACC;
    } else if (!strcmp(key, "round")) {
        if (axl_round_parse(v, &r->round) != AXL_OK) {
            return axl_msgf(msg, AXL_ERR_INVALID,
                            "%sround '%s' is not one of nearest, zero, up, down, "
                            "stochastic",
                            where, v);
        }
        r->set |= F_ROUND;
    } else if (!strcmp(key, "seed")) {
        char *end;
        r->seed = strtoull(v, &end, 0);
        if (*v == '\0' || *end != '\0') {
            return axl_msgf(msg, AXL_ERR_INVALID, "%sseed '%s' is not an integer", where, v);
        }
        r->set |= F_SEED;
    } else if (!strcmp(key, "add")) {
        if (!copy(r->add, sizeof r->add, v))
            goto toolong;
        r->set |= F_ADD;
    } else if (!strcmp(key, "order")) {
        if (axl_order_parse(v, &r->order) != AXL_OK)
            return bad_enum("order", v, order_name, AXL_ORDER_CHUNKED + 1, msg, where);
        r->set |= F_ORDER;
    } else if (!strcmp(key, "chunk")) {
        char *end;
        long c = strtol(v, &end, 10);
        if (*v == '\0' || *end != '\0' || c < 1 || c > 1 << 20) {
            return axl_msgf(msg, AXL_ERR_INVALID, "%schunk '%s' must be an integer in 1..1048576",
                            where, v);
        }
        r->chunk = (uint32_t)c;
        r->set |= F_CHUNK;
    } else if (!strcmp(key, "path")) {
        if (axl_path_parse(v, &r->path) != AXL_OK)
            return bad_enum("path", v, path_name, AXL_PATH_FUNCTION + 1, msg, where);
        r->set |= F_PATH;
    } else if (!strcmp(key, "wquant")) {
        if (axl_wquant_parse(v, &r->wquant) != AXL_OK)
            return bad_enum("wquant", v, wquant_name, AXL_WQUANT_PER_TENSOR + 1, msg, where);
        r->set |= F_WQUANT;
    } else if (!strcmp(key, "exact")) {
        r->exact = !strcmp(v, "1") || !strcmp(v, "true");
        r->set |= F_EXACT;
    } else if (!strcmp(key, "wscale")) {
        if (axl_wscale_parse(v, &r->wscale) != AXL_OK)
            return bad_enum("wscale", v, wscale_name, AXL_WSCALE_CHANNEL + 1, msg, where);
        r->set |= F_WSCALE;
    } else if (!strcmp(key, "ascale")) {
        if (axl_ascale_parse(v, &r->ascale) != AXL_OK)
            return bad_enum("ascale", v, ascale_name, AXL_ASCALE_CALIBRATED + 1, msg, where);
        r->set |= F_ASCALE;
    } else if (!strcmp(key, "scale-pow2")) {
        if (strcmp(v, "0") && strcmp(v, "1") && strcmp(v, "true") && strcmp(v, "false"))
            return axl_msgf(msg, AXL_ERR_INVALID, "%sscale-pow2 '%s' must be 0, 1, true or false",
                            where, v);
        r->scale_pow2 = !strcmp(v, "1") || !strcmp(v, "true");
        r->set |= F_SPOW2;
    } else if (!strcmp(key, "scale-margin")) {
        char *end;
        long c = strtol(v, &end, 10);
        if (*v == '\0' || *end != '\0' || c < 0 || c > AXL_SCALE_MAX_MARGIN)
            return axl_msgf(msg, AXL_ERR_INVALID, "%sscale-margin '%s' must be an integer in "
                            "0..%d", where, v, AXL_SCALE_MAX_MARGIN);
        r->scale_margin = (int)c;
        r->set |= F_SMARGIN;
    } else if (!strcmp(key, "act-amax")) {
        char *end;
        float a = strtof(v, &end);
        if (*v == '\0' || *end != '\0' || !(a > 0.0f) || !isfinite(a))
            return axl_msgf(msg, AXL_ERR_INVALID, "%sact-amax '%s' must be a finite number > 0",
                            where, v);
        r->act_amax = a;
        r->set |= F_AAMAX;
    } else {
        return axl_msgf(
            msg, AXL_ERR_INVALID,
            "%sunknown key '%s' (allowed: mul, params, format, format_w, "
            "format_p, round, seed, add, add_params, acc_format, order, chunk, path, wquant, "
            "wscale, ascale, scale_pow2, scale_margin, act_amax, block_add, block_add_params, "
            "block_acc_format, exact, and in layer rules "
            "match, op)",
            where, key);
    }
    return AXL_OK;
toolong:
    return axl_msgf(msg, AXL_ERR_INVALID, "%s%s value too long", where, key);
}

enum axl_status axl_layers_set_default(struct axl_layers *l, const char *key, const char *value,
                                       char *msg)
{
    return set_field(&l->def, key, value, msg, "");
}

/* Whether a rule makes its layers exact (1), approximate (0), or says
 * nothing about it (-1): "exact" when given, else approximate as soon as it
 * gives any MAC field. */
static int rule_exact(const struct rule *r)
{
    if (r->set & F_EXACT)
        return r->exact;
    return r->set ? 0 : -1;
}

int axl_layers_any(const struct axl_layers *l)
{
    if (rule_exact(&l->def) == 0)
        return 1;
    for (size_t i = 0; i < l->n; i++)
        if (rule_exact(&l->rules[i]) == 0)
            return 1;
    return 0;
}

/* JSON key spelling: underscores for the option's dashes. */
static void key_of(const char *json_key, char *out, size_t cap)
{
    snprintf(out, cap, "%s", json_key);
    for (char *p = out; *p; p++)
        if (*p == '_')
            *p = '-';
    if (!strcmp(out, "params"))
        snprintf(out, cap, "param");
    else if (!strcmp(out, "add-params"))
        snprintf(out, cap, "add-param");
    else if (!strcmp(out, "block-add-params"))
        snprintf(out, cap, "block-add-param");
}

static enum axl_status rule_from_json(json_t *obj, struct rule *r, int is_default, char *msg,
                                      const char *where)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        char key[48], val[512];
        key_of(k, key, sizeof key);
        if (!is_default && (!strcmp(k, "match") || !strcmp(k, "op"))) {
            if (!json_is_string(v) || !copy(!strcmp(k, "match") ? r->match : r->op,
                                            !strcmp(k, "match") ? sizeof r->match : sizeof r->op,
                                            json_string_value(v))) {
                return axl_msgf(msg, AXL_ERR_INVALID, "%s'%s' must be a (short) string", where, k);
            }
            continue;
        }
        if (!strcmp(key, "param") || !strcmp(key, "add-param") ||
            !strcmp(key, "block-add-param")) {
            if (!json_is_object(v)) {
                return axl_msgf(msg, AXL_ERR_INVALID, "%s'%s' must be an object like {\"k\": 4}",
                                where, k);
            }
            const char *pk;
            json_t *pv;
            json_object_foreach(v, pk, pv)
            {
                if (!json_is_integer(pv)) {
                    return axl_msgf(msg, AXL_ERR_INVALID, "%s%s.%s must be an integer", where, k,
                                    pk);
                }
                snprintf(val, sizeof val, "%s=%lld", pk, (long long)json_integer_value(pv));
                if (set_field(r, key, val, msg, where) != AXL_OK)
                    return AXL_ERR_INVALID;
            }
            continue;
        }
        if (json_is_string(v))
            snprintf(val, sizeof val, "%s", json_string_value(v));
        else if (json_is_integer(v))
            snprintf(val, sizeof val, "%lld", (long long)json_integer_value(v));
        else if (json_is_boolean(v))
            snprintf(val, sizeof val, "%s", json_is_true(v) ? "1" : "0");
        else if (json_is_real(v))
            snprintf(val, sizeof val, "%.9g", json_real_value(v));
        else {
            return axl_msgf(msg, AXL_ERR_INVALID, "%s'%s' must be a string, number or boolean",
                            where, k);
        }
        if (set_field(r, key, val, msg, where) != AXL_OK)
            return AXL_ERR_INVALID;
    }
    if (!is_default && !r->match[0] && !r->op[0]) {
        return axl_msgf(msg, AXL_ERR_INVALID,
                        "%sa layer rule needs \"match\" (a name or glob) or \"op\"", where);
    }
    return AXL_OK;
}

/* A configuration from parsed JSON (taking root); path names it in messages. */
static enum axl_status from_json(json_t *root, const char *path, struct axl_layers **out,
                                 char *msg)
{
    struct axl_layers *l;
    enum axl_status st = axl_layers_new(&l, msg);
    if (st != AXL_OK) {
        json_decref(root);
        return st;
    }
    char where[256];
    if (!json_is_object(root)) {
        st = axl_msgf(msg, AXL_ERR_FORMAT, "%s: the configuration must be a JSON object", path);
        goto done;
    }
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v)
    {
        if (!strcmp(k, "default")) {
            snprintf(where, sizeof where, "%s: default: ", path);
            if (json_is_string(v) && !strcmp(json_string_value(v), "exact"))
                continue;
            if (!json_is_object(v)) {
                st = axl_msgf(msg, AXL_ERR_FORMAT, "%sexpected an object or \"exact\"", where);
                goto done;
            }
            if ((st = rule_from_json(v, &l->def, 1, msg, where)) != AXL_OK)
                goto done;
        } else if (!strcmp(k, "layers")) {
            if (!json_is_array(v)) {
                st =
                    axl_msgf(msg, AXL_ERR_FORMAT, "%s: \"layers\" must be an array of rules", path);
                goto done;
            }
            size_t n = json_array_size(v);
            l->rules = calloc(n ? n : 1, sizeof *l->rules);
            if (!l->rules) {
                st = axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
                goto done;
            }
            for (size_t i = 0; i < n; i++) {
                json_t *r = json_array_get(v, i);
                snprintf(where, sizeof where, "%s: layers[%zu]: ", path, i);
                if (!json_is_object(r)) {
                    st = axl_msgf(msg, AXL_ERR_FORMAT, "%sexpected an object", where);
                    goto done;
                }
                if ((st = rule_from_json(r, &l->rules[i], 0, msg, where)) != AXL_OK)
                    goto done;
                l->n = i + 1;
            }
        } else {
            st = axl_msgf(msg, AXL_ERR_FORMAT, "%s: unknown key '%s' (allowed: default, layers)",
                          path, k);
            goto done;
        }
    }
done:
    json_decref(root);
    if (st != AXL_OK) {
        axl_layers_free(l);
        return st;
    }
    snprintf(l->source, sizeof l->source, "%s", path);
    *out = l;
    return AXL_OK;
}

enum axl_status axl_layers_load_json(const char *path, struct axl_layers **out, char *msg)
{
    json_error_t err;
    *out = NULL;
    json_t *root = json_load_file(path, 0, &err);
    if (!root)
        return axl_msgf(msg, AXL_ERR_FORMAT, "%s: line %d: %s", path, err.line, err.text);
    return from_json(root, path, out, msg);
}

enum axl_status axl_layers_parse_json(const char *text, const char *source,
                                      struct axl_layers **out, char *msg)
{
    json_error_t err;
    *out = NULL;
    if (!source)
        source = "configuration";
    json_t *root = json_loads(text, 0, &err);
    if (!root)
        return axl_msgf(msg, AXL_ERR_FORMAT, "%s: line %d: %s", source, err.line, err.text);
    return from_json(root, source, out, msg);
}

static int matches(const struct rule *r, const char *name, const char *op)
{
    if (r->match[0] && fnmatch(r->match, name, 0) != 0)
        return 0;
    if (r->op[0] && strcmp(r->op, op) != 0)
        return 0;
    return 1;
}

enum axl_status axl_layers_set_only(struct axl_layers *l, const char *pattern, int literal,
                                    char *msg)
{
    size_t k = 0;
    for (const char *p = pattern; *p; p++) {
        if (k + 3 > sizeof l->only)
            return axl_msgf(msg, AXL_ERR_INVALID, "layer pattern '%s' is too long", pattern);
        if (literal && strchr("*?[\\", *p))
            l->only[k++] = '\\'; /* fnmatch: the character itself */
        l->only[k++] = *p;
    }
    l->only[k] = '\0';
    return AXL_OK;
}

/* The rule each field of layer NAME comes from: the last matching rule that
 * gives it (the default first), NULL where none does.  Returns whether the
 * layer stays exact. */
static int resolve_sources(const struct axl_layers *l, const char *name, const char *op,
                           const struct rule *src[NFIELDS])
{
    for (int b = 0; b < NFIELDS; b++)
        src[b] = l->def.set & (1u << b) ? &l->def : NULL;
    if (l->only[0] && fnmatch(l->only, name, 0) != 0)
        return 1;
    int ex = rule_exact(&l->def) == 0 ? 0 : 1;
    for (size_t i = 0; i < l->n; i++) {
        const struct rule *r = &l->rules[i];
        if (!matches(r, name, op))
            continue;
        for (int b = 0; b < NFIELDS; b++)
            if (r->set & (1u << b))
                src[b] = r;
        if (rule_exact(r) >= 0)
            ex = rule_exact(r);
    }
    return ex;
}

/* The spec's strings point into the rules: nothing is copied, and the
 * spec stays valid as long as the configuration does. */
static void spec_of(const struct rule *const src[NFIELDS], struct axl_mac_spec *spec)
{
    memset(spec, 0, sizeof *spec);
    if (src[0])
        spec->mul = src[0]->mul;
    if (src[1]) {
        for (int i = 0; i < src[1]->nparams; i++)
            spec->mul_params[i] = src[1]->params[i];
        spec->n_mul_params = src[1]->nparams;
    }
    if (src[2])
        spec->fmt_a = src[2]->fmt_a;
    if (src[3])
        spec->fmt_w = src[3]->fmt_w;
    if (src[4])
        spec->fmt_p = src[4]->fmt_p;
    if (src[5])
        spec->round = src[5]->round;
    if (src[6])
        spec->seed = src[6]->seed;
    if (src[7])
        spec->add = src[7]->add;
    if (src[8]) {
        for (int i = 0; i < src[8]->nadd_params; i++)
            spec->add_params[i] = src[8]->add_params[i];
        spec->n_add_params = src[8]->nadd_params;
    }
    if (src[9])
        spec->fmt_acc = src[9]->acc;
    if (src[10])
        spec->order = src[10]->order;
    spec->chunk = src[11] ? src[11]->chunk : 8;
    if (src[12])
        spec->path = src[12]->path;
    if (src[13])
        spec->wquant = src[13]->wquant;
    if (src[15])
        spec->wscale = src[15]->wscale;
    if (src[16])
        spec->ascale = src[16]->ascale;
    if (src[17])
        spec->scale_pow2 = src[17]->scale_pow2;
    if (src[18])
        spec->scale_margin = src[18]->scale_margin;
    if (src[19])
        spec->act_amax = src[19]->act_amax;
    if (src[20])
        spec->block_add = src[20]->badd;
    if (src[21]) {
        for (int i = 0; i < src[21]->nbadd_params; i++)
            spec->block_add_params[i] = src[21]->badd_params[i];
        spec->n_block_add_params = src[21]->nbadd_params;
    }
    if (src[22])
        spec->fmt_block_acc = src[22]->bacc;
}

void axl_layers_resolve(const struct axl_layers *l, const char *name, const char *op,
                        struct axl_mac_spec *spec, int *exact)
{
    const struct rule *src[NFIELDS];
    *exact = resolve_sources(l, name, op, src);
    if (!*exact)
        spec_of(src, spec);
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 99;
    size_t d[65][65];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            size_t x = d[i - 1][j] + 1, y = d[i][j - 1] + 1;
            d[i][j] = c < x ? (c < y ? c : y) : (x < y ? x : y);
        }
    return d[la][lb];
}

enum axl_status axl_layers_check(const struct axl_layers *l, const char *const *names,
                                 const char *const *ops, size_t n, char *msg)
{
    for (size_t i = 0; i < l->n; i++) {
        const struct rule *r = &l->rules[i];
        int hit = 0;
        for (size_t j = 0; j < n && !hit; j++)
            hit = matches(r, names[j], ops[j]);
        if (hit)
            continue;
        const char *best = NULL;
        size_t bd = 4;
        for (size_t j = 0; r->match[0] && j < n; j++) {
            size_t d = edit_distance(r->match, names[j]);
            if (d < bd) {
                bd = d;
                best = names[j];
            }
        }
        return axl_msgf(msg, AXL_ERR_INVALID,
                        "layer rule %zu (match '%s'%s%s) matches no approximable layer%s%s%s", i,
                        r->match[0] ? r->match : "*", r->op[0] ? ", op " : "", r->op,
                        best ? " (did you mean '" : "", best ? best : "", best ? "'?)" : "");
    }
    return AXL_OK;
}

void axl_layer_macs_free(struct axl_layer_macs *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->nowned; i++)
        axl_mac_free(b->owned[i]);
    free(b->owned);
    free(b->macs);
    memset(b, 0, sizeof *b);
}

/* Every rule must match one of g's approximable layers. */
static enum axl_status check_graph(const struct axl_layers *l, const struct axl_graph *g,
                                   char *msg)
{
    size_t nn = axl_graph_node_count(g), nm = 0;
    const char **names = calloc(nn ? nn : 1, sizeof *names);
    const char **ops = calloc(nn ? nn : 1, sizeof *ops);
    enum axl_status st = AXL_ERR_NOMEM;
    if (!names || !ops) {
        axl_msgf(msg, st, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < nn; i++)
        if (axl_graph_node_is_mac(g, i)) {
            names[nm] = axl_graph_node_name(g, i);
            ops[nm++] = axl_graph_node_op(g, i);
        }
    char why[AXL_MSG_LEN];
    st = axl_layers_check(l, names, ops, nm, why);
    if (st != AXL_OK)
        axl_msgf(msg, st, "%s%s%s", l->source, l->source[0] ? ": " : "", why);
done:
    free(names);
    free(ops);
    return st;
}

/* An engine of b whose layers take every field from the same rules as src,
 * or NULL. */
static struct axl_mac *find_shared(const struct axl_layer_macs *b,
                                   const struct rule *(*srcs)[NFIELDS], const struct rule **src)
{
    for (size_t i = 0; i < b->nowned; i++)
        if (!memcmp(srcs[i], src, sizeof srcs[i]))
            return b->owned[i];
    return NULL;
}

enum axl_status axl_layers_bind_as(const struct axl_layers *l, const struct axl_graph *g,
                                   const char *what, struct axl_layer_macs *out, char *msg)
{
    memset(out, 0, sizeof *out);
    enum axl_status st = check_graph(l, g, msg);
    if (st != AXL_OK)
        return st;
    size_t nn = axl_graph_node_count(g);
    out->n = nn;
    out->macs = calloc(nn ? nn : 1, sizeof *out->macs);
    out->owned = calloc(nn ? nn : 1, sizeof *out->owned);
    const struct rule *(*srcs)[NFIELDS] = calloc(nn ? nn : 1, sizeof *srcs);
    if (!out->macs || !out->owned || !srcs) {
        st = axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < nn; i++) {
        if (!axl_graph_node_is_mac(g, i))
            continue;
        const char *name = axl_graph_node_name(g, i), *op = axl_graph_node_op(g, i);
        const struct rule **src = srcs[out->nowned];
        if (resolve_sources(l, name, op, src))
            continue;
        if ((out->macs[i] = find_shared(out, srcs, src)))
            continue;
        struct axl_mac_spec spec;
        spec_of(src, &spec);
        char why[AXL_MSG_LEN];
        if ((st = axl_mac_create(&spec, &out->owned[out->nowned], why)) != AXL_OK) {
            if (what)
                axl_msgf(msg, st, "%s: %s", what, why);
            else
                axl_msgf(msg, st, "layer %s (%s): %s", name, op, why);
            goto done;
        }
        out->macs[i] = out->owned[out->nowned++];
    }
done:
    free(srcs);
    if (st != AXL_OK)
        axl_layer_macs_free(out);
    return st;
}

enum axl_status axl_layers_bind(const struct axl_layers *l, const struct axl_graph *g,
                                struct axl_layer_macs *out, char *msg)
{
    return axl_layers_bind_as(l, g, NULL, out, msg);
}

enum axl_status axl_layers_mac(const struct axl_layers *l, const char *name, const char *op,
                               struct axl_mac **out, char *msg)
{
    const struct rule *src[NFIELDS];
    struct axl_mac_spec spec;
    memset(&spec, 0, sizeof spec); /* an exact layer: the graph's exact engine (graph.c) */
    if (!resolve_sources(l, name, op, src))
        spec_of(src, &spec);
    char why[AXL_MSG_LEN];
    enum axl_status st = axl_mac_create(&spec, out, why);
    if (st != AXL_OK)
        axl_msgf(msg, st, "layer %s (%s): %s", name, op, why);
    return st;
}
