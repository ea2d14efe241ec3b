/* Sweeps (include/axlut/sweep.h): format ranges and design lists, the
 * points, the table cache, resuming and running. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "axlut/block.h"
#include "axlut/format.h"
#include "axlut/graph.h"
#include "axlut/layers.h"
#include "axlut/run.h"
#include "axlut/sweep.h"
#include "axlut/table.h"
#include "layers_internal.h"

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
    struct axl_block_format bf;
    char sub[AXL_MSG_LEN];
    if (axl_block_format_parse(name, &bf, NULL) == AXL_OK) /* a block-scaled format: layers
                                                                 take it by name */
        snprintf(f.name, sizeof f.name, "%s", bf.name);
    else if (axl_format_parse(name, &f, sub) != AXL_OK)
        return axl_msgf(msg, AXL_ERR_INVALID, "%s", sub);
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        char(*p)[AXL_SWEEP_NAME] = realloc(*out, nc * sizeof **out);
        if (!p) {
            return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
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
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
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
            st = axl_msgf(msg, AXL_ERR_INVALID,
                          "format range '%s': expected e<X1>..<X2>m<Y1>..<Y2> "
                          "(e.g. e3..8m1..10; either bound may be one number)",
                          item);
            break;
        }
        if (e0 > e1 || m0 > m1) {
            st = axl_msgf(msg, AXL_ERR_INVALID,
                          "format range '%s': a range must go upwards (%ld..%ld)", item,
                          e0 > e1 ? e0 : m0, e0 > e1 ? e1 : m1);
            break;
        }
        for (long e = e0; e <= e1 && st == AXL_OK; e++)
            for (long m = m0; m <= m1 && st == AXL_OK; m++) {
                char name[AXL_SWEEP_NAME];
                snprintf(name, sizeof name, "e%ldm%ld", e, m);
                if ((st = add_name(out, n, &cap, name, msg)) != AXL_OK) {
                    char sub[AXL_MSG_LEN];
                    snprintf(sub, sizeof sub, "%s", msg);
                    axl_msgf(msg, st, "format range '%s': %s", item, sub);
                }
            }
    }
    free(copy);
    if (st == AXL_OK && *n == 0)
        st = axl_msgf(msg, AXL_ERR_INVALID, "the format list is empty");
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
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    }
    char *save = NULL;
    size_t k = 0;
    enum axl_status st = AXL_OK;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        struct axl_sweep_design *x = &d[k];
        char *save2 = NULL;
        char *name = strtok_r(item, ":", &save2);
        if (!name || strlen(name) >= sizeof x->name) {
            st = axl_msgf(msg, AXL_ERR_INVALID, "design list: an empty or too long name in '%s'",
                          list);
            break;
        }
        snprintf(x->name, sizeof x->name, "%s", name);
        for (char *p = strtok_r(NULL, ":", &save2); p; p = strtok_r(NULL, ":", &save2)) {
            if (!strchr(p, '=') || x->nparams >= 4 || strlen(p) >= sizeof x->params[0]) {
                st = axl_msgf(msg, AXL_ERR_INVALID,
                              "design list: '%s' of %s is not name=value (at most "
                              "4 parameters)",
                              p, x->name);
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
    if (st == AXL_OK && k == 0)
        st = axl_msgf(msg, AXL_ERR_INVALID, "the design list is empty");
    if (st != AXL_OK) {
        free(d);
        return st;
    }
    *out = d;
    *n = k;
    return AXL_OK;
}

/* ---- the points ------------------------------------------------------------ */

const char axl_sweep_csv_header[] =
    "model,design,format,acc_format,adder,layers,samples,top1,exact_top1,agreement,"
    "worst_layer_snr_db,output_snr_db,seconds";

struct point {
    struct axl_sweep_point p;
    size_t mi, di, ai; /* model, design, adder */
    char key[1024];    /* the first six columns, unquoted */
    int done;          /* finished by an earlier run */
    int mine;          /* in this shard (every point without shards) */
};

struct axl_sweep {
    struct axl_sweep_settings set;
    char (*fmts)[AXL_SWEEP_NAME], (*accs)[AXL_SWEEP_NAME];
    size_t nf, nacc, nd, nadd;
    struct axl_sweep_design *dl, *al;
    struct axl_graph **graphs;
    struct axl_dataset **dsets;
    struct point *pts;
    size_t np, cap;
    char (*rows)[1024]; /* keys of the rows of an earlier run */
    size_t nrows, ndone; /* rows; points among them */
    FILE *csv;
    char csv_path[1024];
    size_t nmine;        /* points of this shard */
    char hash[65];       /* of the definition (axl_sweep_hash) */
};

size_t axl_sweep_count(const struct axl_sweep *sw) { return sw->np; }
size_t axl_sweep_count_mine(const struct axl_sweep *sw) { return sw->nmine; }
const char *axl_sweep_hash(const struct axl_sweep *sw) { return sw->hash; }
size_t axl_sweep_done(const struct axl_sweep *sw) { return sw->ndone; }

void axl_sweep_free(struct axl_sweep *sw)
{
    if (!sw)
        return;
    for (size_t i = 0; sw->graphs && i < sw->set.nmodels; i++) {
        axl_dataset_close(sw->dsets ? sw->dsets[i] : NULL);
        axl_graph_free(sw->graphs[i]);
    }
    if (sw->csv)
        fclose(sw->csv);
    free(sw->graphs);
    free(sw->dsets);
    free(sw->pts);
    free(sw->rows);
    free(sw->fmts);
    free(sw->accs);
    free(sw->dl);
    free(sw->al);
    free(sw);
}

static enum axl_status add_point(struct axl_sweep *sw, size_t mi, const char *layers, size_t fi,
                                 size_t di, size_t ci, size_t ai, int adder, char *msg)
{
    if (sw->np == sw->cap) {
        size_t cap = sw->cap ? sw->cap * 2 : 64;
        struct point *q = realloc(sw->pts, cap * sizeof *q);
        if (!q)
            return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
        sw->pts = q;
        sw->cap = cap;
    }
    struct point *pt = &sw->pts[sw->np++];
    struct axl_sweep_point *p = &pt->p;
    p->model = sw->set.models[mi];
    p->design = sw->dl[di].label;
    p->format = sw->fmts[fi];
    p->acc = sw->accs[ci];
    p->adder = adder ? sw->al[ai].label : "";
    p->layers = layers;
    pt->mi = mi;
    pt->di = di;
    pt->ai = ai;
    snprintf(pt->key, sizeof pt->key, "%s,%s,%s,%s,%s,%s", p->model, p->design, p->format,
             p->acc, p->adder, p->layers);
    return AXL_OK;
}

/* Model x (layer) x format x design x accumulator x adder; with
 * sensitivity, one point per MAC layer on the first of each list. */
static enum axl_status make_points(struct axl_sweep *sw, char *msg)
{
    const struct axl_sweep_settings *s = &sw->set;
    enum axl_status st = AXL_OK;
    for (size_t mi = 0; mi < s->nmodels; mi++) {
        const struct axl_graph *g = sw->graphs[mi];
        size_t nl = s->sensitivity ? axl_graph_node_count(g) : 1;
        for (size_t li = 0; li < nl; li++) {
            const char *lay = s->layers ? s->layers : "*";
            if (s->sensitivity) {
                if (!axl_graph_node_is_mac(g, li))
                    continue;
                lay = axl_graph_node_name(g, li);
            }
            size_t fN = s->sensitivity ? 1 : sw->nf, dN = s->sensitivity ? 1 : sw->nd;
            size_t aN = s->sensitivity ? 1 : sw->nacc;
            size_t adN = s->sensitivity ? (sw->nadd ? 1 : 0) : sw->nadd;
            for (size_t fi = 0; fi < fN; fi++)
                for (size_t di = 0; di < dN; di++)
                    for (size_t ci = 0; ci < aN; ci++)
                        for (size_t ai = 0; ai < (adN ? adN : 1) && st == AXL_OK; ai++)
                            st = add_point(sw, mi, lay, fi, di, ci, ai, adN > 0, msg);
        }
    }
    return st;
}

/* The configuration of a point, as `axlut run` options would give it;
 * TABLE (a cached table file) replaces the design and its parameters, PATH
 * forces how products are evaluated. */
static enum axl_status point_layers(const struct axl_sweep *sw, const struct point *pt,
                                    const char *table, const char *path, int restrict_layers,
                                    struct axl_layers **out, char *msg)
{
    const struct axl_sweep_design *d = &sw->dl[pt->di];
    const struct axl_sweep_point *p = &pt->p;
    int exact_acc = !strcmp(p->acc, "fp32");
    struct axl_layers *l;
    enum axl_status st = axl_layers_new(&l, msg);
    if (st != AXL_OK)
        return st;
#define SET(k, v)                                                                                 \
    if (st == AXL_OK)                                                                             \
    st = axl_layers_set_default(l, k, v, msg)
    SET("mul", table ? table : d->name);
    for (int k = 0; !table && k < d->nparams; k++)
        SET("param", d->params[k]);
    SET("format", p->format);
    if (p->adder[0]) {
        const struct axl_sweep_design *ad = &sw->al[pt->ai];
        SET("add", ad->name);
        for (int k = 0; k < ad->nparams; k++)
            SET("add-param", ad->params[k]);
        if (!exact_acc)
            SET("acc-format", p->acc);
    } else if (!exact_acc) {
        SET("add", "add_exact"); /* each add rounded into the accumulator format */
        SET("acc-format", p->acc);
    }
    if (path)
        SET("path", path);
#undef SET
    if (st == AXL_OK && restrict_layers)
        st = axl_layers_set_only(l, p->layers, sw->set.sensitivity, msg);
    if (st != AXL_OK) {
        axl_layers_free(l);
        return st;
    }
    *out = l;
    return AXL_OK;
}

/* Every configuration is checked before any work, on the function path
 * (no tables are built). */
static enum axl_status check_points(const struct axl_sweep *sw, char *msg)
{
    for (size_t i = 0; i < sw->np; i++) {
        const struct point *pt = &sw->pts[i];
        char why[AXL_MSG_LEN];
        struct axl_layers *l = NULL;
        struct axl_mac *m = NULL;
        enum axl_status st = point_layers(sw, pt, NULL, "function", 0, &l, why);
        if (st == AXL_OK) {
            struct axl_mac_spec spec;
            int exact;
            axl_layers_resolve(l, "", "", &spec, &exact);
            st = axl_mac_create(&spec, &m, why);
        }
        axl_mac_free(m);
        axl_layers_free(l);
        if (st != AXL_OK)
            return axl_msgf(msg, st, "%s on %s: %s", pt->p.design, pt->p.format, why);
    }
    return AXL_OK;
}

/* The definition's hash and which points are this shard's.  The hash
 * covers what changes a row (dataset, limit, every point's key, in order):
 * two shards agree on it exactly when their point lists and results do. */
static enum axl_status split_points(struct axl_sweep *sw, char *msg)
{
    const struct axl_sweep_settings *s = &sw->set;
    int n = s->shard_count, k = s->shard_index;
    if (n < 0 || (n == 0 && k != 0) || (n > 0 && (k < 1 || k > n)))
        return axl_msgf(msg, AXL_ERR_INVALID, "shard %d/%d: expected I/N with 1 <= I <= N", k, n);
    size_t cap = 256 + strlen(s->data ? s->data : ""), len = 0;
    for (size_t i = 0; i < sw->np; i++)
        cap += strlen(sw->pts[i].key) + 1;
    char *text = malloc(cap);
    if (!text)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    len += (size_t)snprintf(text, cap, "axlut sweep v1\ndata=%s\nlimit=%lld\n",
                            s->data ? s->data : "", (long long)(s->limit > 0 ? s->limit : 0));
    sw->nmine = 0;
    for (size_t i = 0; i < sw->np; i++) {
        len += (size_t)snprintf(text + len, cap - len, "%s\n", sw->pts[i].key);
        sw->pts[i].mine = n == 0 || (int)(i % (size_t)n) == k - 1;
        sw->nmine += (size_t)sw->pts[i].mine;
    }
    axl_sha256_hex(text, len, sw->hash);
    free(text);
    return AXL_OK;
}

enum axl_status axl_sweep_create(const struct axl_sweep_settings *s, struct axl_sweep **out,
                                 char *msg)
{
    *out = NULL;
    struct axl_sweep *sw = calloc(1, sizeof *sw);
    if (!sw)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    sw->set = *s;
    enum axl_status st;
    if ((st = axl_sweep_formats(s->formats, &sw->fmts, &sw->nf, msg)) != AXL_OK ||
        (st = axl_sweep_formats(s->acc_formats ? s->acc_formats : "fp32", &sw->accs, &sw->nacc,
                                msg)) != AXL_OK ||
        (st = axl_sweep_designs(s->designs, &sw->dl, &sw->nd, msg)) != AXL_OK ||
        (s->adders && (st = axl_sweep_designs(s->adders, &sw->al, &sw->nadd, msg)) != AXL_OK))
        goto fail;
    sw->graphs = calloc(s->nmodels ? s->nmodels : 1, sizeof *sw->graphs);
    sw->dsets = calloc(s->nmodels ? s->nmodels : 1, sizeof *sw->dsets);
    if (!sw->graphs || !sw->dsets) {
        st = axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
        goto fail;
    }
    /* a line break in a path would split its row of the CSV */
    for (size_t i = 0; i < s->nmodels; i++)
        for (const char *c = s->models[i]; *c; c++)
            if ((unsigned char)*c < 0x20) {
                st = axl_msgf(msg, AXL_ERR_INVALID,
                              "model path '%s' holds a control character (a line break?): the "
                              "results file cannot hold it; rename the file",
                              s->models[i]);
                goto fail;
            }
    for (size_t i = 0; i < s->nmodels; i++)
        if ((st = axl_graph_load(s->models[i], &sw->graphs[i], msg)) != AXL_OK ||
            (st = axl_dataset_open(s->data, sw->graphs[i], &sw->dsets[i], msg)) != AXL_OK)
            goto fail;
    if ((st = make_points(sw, msg)) != AXL_OK || (st = check_points(sw, msg)) != AXL_OK ||
        (st = split_points(sw, msg)) != AXL_OK)
        goto fail;
    *out = sw;
    return AXL_OK;
fail:
    axl_sweep_free(sw);
    return st;
}

/* ---- resuming -------------------------------------------------------------- */

/* The key of a CSV line: its first six fields (commas inside quotes do not
 * count), quotes removed ("" inside quotes is one quote, as csv_field
 * writes it). */
static void line_key(const char *line, char *key, size_t cap)
{
    int commas = 0, inq = 0;
    size_t k = 0;
    for (size_t i = 0; line[i]; i++) {
        if (line[i] == '"' && !(inq && line[i + 1] == '"')) {
            inq = !inq;
            continue;
        }
        if (line[i] == '"')
            i++; /* the first of "" inside quotes: keep the second */
        if (line[i] == ',' && !inq && ++commas == 6)
            break;
        if (k + 1 < cap)
            key[k++] = line[i];
    }
    key[k] = '\0';
}

/* A shard's first line: the definition's hash, which shard, how many points. */
static void shard_line(const struct axl_sweep *sw, char *line, size_t cap)
{
    snprintf(line, cap, "# axlut sweep sha256=%s shard=%d/%d points=%zu", sw->hash,
             sw->set.shard_index, sw->set.shard_count, sw->np);
}

/* An earlier shard's file must be this very shard of this very sweep. */
static enum axl_status check_shard_line(const struct axl_sweep *sw, const char *csv,
                                        const char *line, char *msg)
{
    char want[200];
    shard_line(sw, want, sizeof want);
    if (sw->set.shard_count == 0)
        return axl_msgf(msg, AXL_ERR_FORMAT,
                        "%s holds one shard of a sweep: run with its --shard or merge it "
                        "(axlut sweep --merge)", csv);
    if (strncmp(line, "# axlut sweep sha256=", 21))
        return axl_msgf(msg, AXL_ERR_FORMAT,
                        "%s exists but is not the results of a sweep shard (first line)", csv);
    if (strcmp(line, want))
        return axl_msgf(msg, AXL_ERR_FORMAT,
                        "%s holds another shard or another sweep ('%.60s...'; this is shard "
                        "%d/%d of sha256=%.16s...): use another -o", csv, line,
                        sw->set.shard_index, sw->set.shard_count, sw->hash);
    return AXL_OK;
}

/* Reads the finished points of an earlier run; the file is cut after its
 * last complete line (an interrupted write leaves a partial one). */
static enum axl_status load_done(struct axl_sweep *sw, const char *csv, char *msg)
{
    FILE *f = fopen(csv, "r+");
    if (!f)
        return AXL_OK;
    char *line = NULL; /* a line of any length: a long path must not split it */
    size_t lcap = 0;
    ssize_t got;
    size_t cap = 0;
    long good = 0;
    int first = 1;
    enum axl_status st = AXL_OK;
    while ((got = getline(&line, &lcap, f)) > 0) {
        size_t l = (size_t)got;
        if (line[l - 1] != '\n')
            break;
        line[l - 1] = '\0';
        if (first == 1 && (sw->set.shard_count > 0 || line[0] == '#')) {
            if ((st = check_shard_line(sw, csv, line, msg)) != AXL_OK)
                break;
            first = 2;
        } else if (first) {
            if (strcmp(line, axl_sweep_csv_header)) {
                st = axl_msgf(msg, AXL_ERR_FORMAT,
                              "%s exists but is not an axlut sweep file (header)", csv);
                break;
            }
            first = 0;
        } else {
            if (sw->nrows == cap) {
                cap = cap ? cap * 2 : 64;
                char(*d)[1024] = realloc(sw->rows, cap * sizeof *d);
                if (!d) {
                    st = axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
                    break;
                }
                sw->rows = d;
            }
            line_key(line, sw->rows[sw->nrows++], sizeof sw->rows[0]);
        }
        good = ftell(f);
    }
    free(line);
    fclose(f);
    if (st != AXL_OK)
        return st;
    if (truncate(csv, good) != 0)
        return axl_msgf(msg, AXL_ERR_IO, "%s: cannot cut an unfinished line", csv);
    return AXL_OK;
}

enum axl_status axl_sweep_resume(struct axl_sweep *sw, const char *csv, char *msg)
{
    enum axl_status st = load_done(sw, csv, msg);
    if (st != AXL_OK)
        return st;
    for (size_t i = 0; i < sw->np; i++) {
        struct point *pt = &sw->pts[i];
        pt->done = 0;
        for (size_t k = 0; k < sw->nrows && !pt->done && pt->mine; k++)
            pt->done = !strcmp(sw->rows[k], pt->key);
        sw->ndone += (size_t)pt->done;
    }
    snprintf(sw->csv_path, sizeof sw->csv_path, "%s", csv);
    sw->csv = fopen(csv, sw->nrows || access(csv, F_OK) == 0 ? "a" : "w");
    if (!sw->csv)
        return axl_msgf(msg, AXL_ERR_IO, "%s: cannot write: %s", csv, strerror(errno));
    if (ftell(sw->csv) == 0) {
        if (sw->set.shard_count > 0) {
            char line[200];
            shard_line(sw, line, sizeof line);
            fprintf(sw->csv, "%s\n", line);
        }
        fprintf(sw->csv, "%s\n", axl_sweep_csv_header);
    }
    if (fflush(sw->csv) != 0 || ferror(sw->csv))
        return axl_msgf(msg, AXL_ERR_IO, "%s: cannot write: %s", csv, strerror(errno));
    return AXL_OK;
}

/* ---- running --------------------------------------------------------------- */

/* The cached full table of design d on format fmt, generated when missing;
 * "" when the formats are too wide for a full table (the engine then picks
 * the mantissa or function path itself). */
static enum axl_status cached_table(const struct axl_sweep *sw, const struct axl_sweep_design *d,
                                    const char *fmt, char *path, size_t cap, char *msg)
{
    path[0] = '\0';
    if (axl_block_format_is(fmt))
        return AXL_OK; /* the plan makes its element product table from the design */
    struct axl_format f;
    enum axl_status st = axl_format_parse(fmt, &f, msg);
    if (st != AXL_OK || f.bits > AXL_TABLE_MAX_BITS)
        return st;
    const struct axl_design *des = axl_design_find(d->name);
    if (!des)
        return AXL_OK; /* a user design or table file: the engine resolves it */
    struct axl_design_ctx c;
    const char *pp[4];
    for (int i = 0; i < d->nparams; i++)
        pp[i] = d->params[i];
    if ((st = axl_design_bind(des, &f, &f, NULL, pp, d->nparams, &c, msg)) != AXL_OK)
        return st;
    char key[512], hex[65], dir[900];
    int kl = snprintf(key, sizeof key, "%s|%s|%s|v%u|r%u", d->label, f.name, c.fr.name,
                      (unsigned)des->version, (unsigned)c.round);
    axl_sha256_hex(key, (size_t)kl, hex);
    if (axl_cache_path("tables", dir, sizeof dir) < 0)
        return axl_msgf(msg, AXL_ERR_IO, "cannot create the table cache (set AXL_CACHE_DIR)");
    snprintf(path, cap, "%s/%.16s.h5", dir, hex);
    if (access(path, R_OK) == 0)
        return AXL_OK;
    struct axl_table *t = NULL;
    if ((st = axl_table_generate(des, &c, NULL, &t, msg)) != AXL_OK)
        return st;
    st = axl_table_write(t, path, 1, msg);
    axl_table_free(t);
    if (st == AXL_OK && sw->set.on_notice) {
        char line[AXL_MSG_LEN + 1100];
        snprintf(line, sizeof line, "generated the table of %s on %s (%s)", d->label, f.name,
                 path);
        sw->set.on_notice(sw->set.user, line);
    }
    return st;
}

/* A field with a comma or a quote (a design label with parameters, a path)
 * is quoted, its quotes doubled (RFC 4180); line breaks never get here
 * (axl_sweep_create refuses them). */
static void csv_field(FILE *f, const char *s, int last)
{
    if (strpbrk(s, ",\"")) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
    fputc(last ? '\n' : ',', f);
}

/* One result line, flushed: a sweep stops at the first line that cannot be
 * written (a full disk) rather than computing points whose results are
 * lost; AXL_ERR_IO naming the file. */
static enum axl_status write_row(FILE *f, const char *path, const struct axl_sweep_point *p,
                                 const struct axl_run_report *r, char *msg)
{
    double worst = INFINITY;
    for (size_t k = 0; k < r->nlayers; k++)
        if (r->layers[k].approximate && r->layers[k].local.snr_db < worst)
            worst = r->layers[k].local.snr_db;
    csv_field(f, p->model, 0);
    csv_field(f, p->design, 0);
    csv_field(f, p->format, 0);
    csv_field(f, p->acc, 0);
    csv_field(f, p->adder, 0);
    csv_field(f, p->layers, 0);
    fprintf(f, "%lld,%.6f,%.6f,%.6f,%.3f,%.3f,%.3f\n", (long long)r->samples, r->top1,
            r->exact_top1, r->agreement, worst, r->output_error.snr_db, r->seconds);
    if (fflush(f) != 0 || ferror(f))
        return axl_msgf(msg, AXL_ERR_IO, "%s: cannot write the result of %s on %s: %s; the "
                        "sweep stopped (run it again to resume)", path, p->design, p->format,
                        strerror(errno ? errno : EIO));
    return AXL_OK;
}

/* One point: its table, its engines, a run, a line into out. */
static enum axl_status run_point(struct axl_sweep *sw, const struct point *pt, FILE *out,
                                 char *msg)
{
    const struct axl_sweep_point *p = &pt->p;
    char tpath[1024], why[AXL_MSG_LEN], what[400];
    snprintf(what, sizeof what, "%s on %s", p->design, p->format);
    struct axl_layers *l = NULL;
    struct axl_layer_macs lm = {0};
    enum axl_status st = cached_table(sw, &sw->dl[pt->di], p->format, tpath, sizeof tpath, why);
    if (st == AXL_OK)
        st = point_layers(sw, pt, tpath[0] ? tpath : NULL, NULL, 1, &l, why);
    if (st != AXL_OK) {
        axl_msgf(msg, st, "%s: %s", what, why);
        goto done;
    }
    if ((st = axl_layers_bind_as(l, sw->graphs[pt->mi], what, &lm, msg)) != AXL_OK)
        goto done;
    struct axl_run_settings rs = {sw->set.backend, sw->set.batch > 0 ? sw->set.batch : 64,
                                  sw->set.limit, NULL, NULL, NULL, 0, 0};
    struct axl_run_report r;
    st = axl_run_dataset(sw->graphs[pt->mi], lm.macs, sw->dsets[pt->mi], &rs, &r, why);
    if (st != AXL_OK) {
        axl_msgf(msg, st, "%s: %s", pt->key, why);
        goto done;
    }
    errno = 0;
    st = write_row(out, sw->csv_path, p, &r, msg);
    axl_run_report_free(&r);
done:
    axl_layer_macs_free(&lm);
    axl_layers_free(l);
    return st;
}

enum axl_status axl_sweep_run(struct axl_sweep *sw, char *msg)
{
    if (!sw->csv)
        return axl_msgf(msg, AXL_ERR_INVALID, "the sweep has no results file (axl_sweep_resume)");
    for (size_t i = 0; i < sw->np; i++) {
        const struct point *pt = &sw->pts[i];
        if (pt->done || !pt->mine)
            continue;
        if (sw->set.on_point)
            sw->set.on_point(sw->set.user, i, sw->np, &pt->p);
        enum axl_status st = run_point(sw, pt, sw->csv, msg);
        if (st != AXL_OK)
            return st;
    }
    return AXL_OK;
}

/* ---- points one at a time (a scheduler of the caller's: MPI ranks) -------- */

const struct axl_sweep_point *axl_sweep_point_at(const struct axl_sweep *sw, size_t i)
{
    return i < sw->np ? &sw->pts[i].p : NULL;
}

int axl_sweep_pending(const struct axl_sweep *sw, size_t i)
{
    return i < sw->np && sw->pts[i].mine && !sw->pts[i].done;
}

enum axl_status axl_sweep_run_point(struct axl_sweep *sw, size_t i, char *line, size_t cap,
                                    char *msg)
{
    if (i >= sw->np)
        return axl_msgf(msg, AXL_ERR_INVALID, "point %zu of %zu does not exist", i, sw->np);
    line[0] = '\0';
    FILE *f = fmemopen(line, cap, "w");
    if (!f)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    enum axl_status st = run_point(sw, &sw->pts[i], f, msg);
    long used = ftell(f);
    fclose(f);
    if (st == AXL_OK && (used <= 0 || (size_t)used >= cap || line[used - 1] != '\n'))
        return axl_msgf(msg, AXL_ERR_INVALID, "%s: the result line is longer than %zu bytes",
                        sw->pts[i].key, cap);
    return st;
}

enum axl_status axl_sweep_append(struct axl_sweep *sw, const char *line, char *msg)
{
    if (!sw->csv)
        return axl_msgf(msg, AXL_ERR_INVALID, "the sweep has no results file (axl_sweep_resume)");
    errno = 0;
    if (fputs(line, sw->csv) < 0 || fflush(sw->csv) != 0 || ferror(sw->csv))
        return axl_msgf(msg, AXL_ERR_IO, "%s: cannot write a result: %s; the sweep stopped (run "
                        "it again to resume)", sw->csv_path, strerror(errno ? errno : EIO));
    return AXL_OK;
}
