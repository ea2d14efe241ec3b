/* Format ranges and design lists of `axlut sweep` (include/axlut/sweep.h). */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/format.h"
#include "axlut/sweep.h"

/* "3" or "3..8": reads a bound or a range; returns characters used, 0 on
 * error. */
static int read_range(const char *s, long *lo, long *hi)
{
    char *end;
    if (!isdigit((unsigned char)*s))
        return 0;
    *lo = strtol(s, &end, 10);
    *hi = *lo;
    if (end[0] == '.' && end[1] == '.') {
        const char *t = end + 2;
        if (!isdigit((unsigned char)*t))
            return 0;
        *hi = strtol(t, &end, 10);
    }
    return (int)(end - s);
}

static enum axl_status add_name(char (**out)[AXL_SWEEP_NAME], size_t *n, size_t *cap,
                                const char *name, char *msg)
{
    struct axl_format f;
    char sub[AXL_MSG_LEN];
    if (axl_format_parse(name, &f, sub) != AXL_OK) {
        snprintf(msg, AXL_MSG_LEN, "%s", sub);
        return AXL_ERR_INVALID;
    }
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        char(*p)[AXL_SWEEP_NAME] = realloc(*out, nc * sizeof **out);
        if (!p) {
            snprintf(msg, AXL_MSG_LEN, "out of memory");
            return AXL_ERR_NOMEM;
        }
        *out = p;
        *cap = nc;
    }
    snprintf((*out)[(*n)++], AXL_SWEEP_NAME, "%s", f.name);
    return AXL_OK;
}

enum axl_status axl_sweep_formats(const char *list, char (**out)[AXL_SWEEP_NAME], size_t *n,
                                  char *msg)
{
    *out = NULL;
    *n = 0;
    size_t cap = 0;
    char *copy = strdup(list ? list : "");
    if (!copy) {
        snprintf(msg, AXL_MSG_LEN, "out of memory");
        return AXL_ERR_NOMEM;
    }
    enum axl_status st = AXL_OK;
    char *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item && st == AXL_OK;
         item = strtok_r(NULL, ",", &save)) {
        if (!strstr(item, "..")) {
            st = add_name(out, n, &cap, item, msg);
            continue;
        }
        long e0, e1, m0, m1;
        int used, ok = 0;
        const char *p = item;
        if (*p++ == 'e' && (used = read_range(p, &e0, &e1)) > 0) {
            p += used;
            if (*p++ == 'm' && (used = read_range(p, &m0, &m1)) > 0)
                ok = p[used] == '\0';
        }
        if (!ok) {
            snprintf(msg, AXL_MSG_LEN, "format range '%s': expected e<X1>..<X2>m<Y1>..<Y2> "
                     "(e.g. e3..8m1..10; either bound may be one number)", item);
            st = AXL_ERR_INVALID;
            break;
        }
        if (e0 > e1 || m0 > m1) {
            snprintf(msg, AXL_MSG_LEN, "format range '%s': a range must go upwards (%ld..%ld)",
                     item, e0 > e1 ? e0 : m0, e0 > e1 ? e1 : m1);
            st = AXL_ERR_INVALID;
            break;
        }
        for (long e = e0; e <= e1 && st == AXL_OK; e++)
            for (long m = m0; m <= m1 && st == AXL_OK; m++) {
                char name[AXL_SWEEP_NAME];
                snprintf(name, sizeof name, "e%ldm%ld", e, m);
                if ((st = add_name(out, n, &cap, name, msg)) != AXL_OK) {
                    char sub[AXL_MSG_LEN];
                    snprintf(sub, sizeof sub, "%s", msg);
                    snprintf(msg, AXL_MSG_LEN, "format range '%s': %s", item, sub);
                }
            }
    }
    free(copy);
    if (st == AXL_OK && *n == 0) {
        snprintf(msg, AXL_MSG_LEN, "the format list is empty");
        st = AXL_ERR_INVALID;
    }
    if (st != AXL_OK) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return st;
}

enum axl_status axl_sweep_designs(const char *list, struct axl_sweep_design **out, size_t *n,
                                  char *msg)
{
    *out = NULL;
    *n = 0;
    size_t cnt = 1;
    for (const char *p = list ? list : ""; *p; p++)
        cnt += *p == ',';
    struct axl_sweep_design *d = calloc(cnt, sizeof *d);
    char *copy = strdup(list ? list : "");
    if (!d || !copy) {
        free(d);
        free(copy);
        snprintf(msg, AXL_MSG_LEN, "out of memory");
        return AXL_ERR_NOMEM;
    }
    char *save = NULL;
    size_t k = 0;
    enum axl_status st = AXL_OK;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        struct axl_sweep_design *x = &d[k];
        char *save2 = NULL;
        char *name = strtok_r(item, ":", &save2);
        if (!name || strlen(name) >= sizeof x->name) {
            snprintf(msg, AXL_MSG_LEN, "design list: an empty or too long name in '%s'", list);
            st = AXL_ERR_INVALID;
            break;
        }
        snprintf(x->name, sizeof x->name, "%s", name);
        for (char *p = strtok_r(NULL, ":", &save2); p; p = strtok_r(NULL, ":", &save2)) {
            if (!strchr(p, '=') || x->nparams >= 4 || strlen(p) >= sizeof x->params[0]) {
                snprintf(msg, AXL_MSG_LEN, "design list: '%s' of %s is not name=value (at most "
                         "4 parameters)", p, x->name);
                st = AXL_ERR_INVALID;
                break;
            }
            snprintf(x->params[x->nparams++], sizeof x->params[0], "%s", p);
        }
        if (st != AXL_OK)
            break;
        size_t l = (size_t)snprintf(x->label, sizeof x->label, "%s", x->name);
        for (int i = 0; i < x->nparams && l < sizeof x->label; i++)
            l += (size_t)snprintf(x->label + l, sizeof x->label - l, "%s%s", i ? "," : "(",
                                  x->params[i]);
        if (x->nparams && l < sizeof x->label)
            snprintf(x->label + l, sizeof x->label - l, ")");
        k++;
    }
    free(copy);
    if (st == AXL_OK && k == 0) {
        snprintf(msg, AXL_MSG_LEN, "the design list is empty");
        st = AXL_ERR_INVALID;
    }
    if (st != AXL_OK) {
        free(d);
        return st;
    }
    *out = d;
    *n = k;
    return AXL_OK;
}
