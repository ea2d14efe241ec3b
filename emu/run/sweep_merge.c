/* Merging the shards of a sweep (axl_sweep_merge in include/axlut/sweep.h):
 * every shard's CSV opens with "# axlut sweep sha256=H shard=I/N points=P";
 * point i of the sweep is row i / N of shard i % N + 1, which gives the
 * rows back in the order one process writes them. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "axlut/sweep.h"

struct shard {
    char path[1024];
    char hash[65];
    int index, count;
    size_t points;
    char **rows; /* complete lines after the header, without '\n' */
    size_t nrows;
};

static void shard_free(struct shard *s)
{
    for (size_t i = 0; i < s->nrows; i++)
        free(s->rows[i]);
    free(s->rows);
}

/* Reads one shard file: its first line, the header, its complete rows. */
static enum axl_status shard_read(struct shard *s, char *msg)
{
    FILE *f = fopen(s->path, "r");
    if (!f)
        return axl_msgf(msg, AXL_ERR_IO, "%s: cannot read", s->path);
    char line[2048];
    enum axl_status st = AXL_OK;
    size_t cap = 0;
    if (!fgets(line, sizeof line, f) ||
        sscanf(line, "# axlut sweep sha256=%64[0-9a-f] shard=%d/%d points=%zu", s->hash, &s->index,
               &s->count, &s->points) != 4 ||
        strlen(s->hash) != 64) {
        st = axl_msgf(msg, AXL_ERR_INVALID,
                      "%s is not a shard of a sweep (its first line names none: run axlut "
                      "sweep with --shard I/N)", s->path);
    } else if (!fgets(line, sizeof line, f) || strcspn(line, "\n") != strlen(axl_sweep_csv_header) ||
               strncmp(line, axl_sweep_csv_header, strlen(axl_sweep_csv_header))) {
        st = axl_msgf(msg, AXL_ERR_INVALID, "%s: the second line is not a sweep's header", s->path);
    }
    char *row = NULL; /* rows of any length: a model path may be long */
    size_t rcap = 0;
    ssize_t got;
    while (st == AXL_OK && (got = getline(&row, &rcap, f)) > 0) {
        size_t l = (size_t)got;
        if (row[l - 1] != '\n')
            break; /* a line being written, or cut by a kill: not a finished point */
        row[l - 1] = '\0';
        if (s->nrows == cap) {
            cap = cap ? 2 * cap : 64;
            char **r = realloc(s->rows, cap * sizeof *r);
            if (!r) {
                st = axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
                break;
            }
            s->rows = r;
        }
        if (!(s->rows[s->nrows] = strdup(row))) {
            st = axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
            break;
        }
        s->nrows++;
    }
    free(row);
    fclose(f);
    return st;
}

/* A directory may hold other CSVs (a merged result): only files whose
 * first line names a sweep are shards. */
static int is_shard_file(const char *path)
{
    char head[16] = "";
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int ok = fgets(head, sizeof head, f) && !strncmp(head, "# axlut sweep ", 14);
    fclose(f);
    return ok;
}

/* The shard files named: files as given (or PREFIX for PREFIX.csv, as -o
 * names them), directories by their shard *.csv. */
static enum axl_status collect(const char *const *paths, size_t n, struct shard **out,
                               size_t *nout, char *msg)
{
    struct shard *v = NULL;
    size_t nv = 0, cap = 0;
    enum axl_status st = AXL_OK;
    for (size_t i = 0; i < n && st == AXL_OK; i++) {
        struct stat sb;
        char given[1024];
        snprintf(given, sizeof given, "%s", paths[i]);
        if (stat(given, &sb) != 0) {
            snprintf(given, sizeof given, "%s.csv", paths[i]);
            if (stat(given, &sb) != 0) {
                st = axl_msgf(msg, AXL_ERR_IO, "%s: no such shard file or directory", paths[i]);
                break;
            }
        }
        DIR *d = S_ISDIR(sb.st_mode) ? opendir(given) : NULL;
        if (S_ISDIR(sb.st_mode) && !d) {
            st = axl_msgf(msg, AXL_ERR_IO, "%s: cannot read the directory", paths[i]);
            break;
        }
        for (;;) {
            char name[1024];
            if (d) {
                struct dirent *e = readdir(d);
                if (!e)
                    break;
                size_t l = strlen(e->d_name);
                if (l < 5 || strcmp(e->d_name + l - 4, ".csv"))
                    continue;
                snprintf(name, sizeof name, "%s/%s", given, e->d_name);
                if (!is_shard_file(name))
                    continue;
            } else {
                snprintf(name, sizeof name, "%s", given);
            }
            if (nv == cap) {
                cap = cap ? 2 * cap : 16;
                struct shard *w = realloc(v, cap * sizeof *w);
                if (!w) {
                    st = axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
                    break;
                }
                v = w;
            }
            memset(&v[nv], 0, sizeof v[nv]);
            snprintf(v[nv].path, sizeof v[nv].path, "%s", name);
            nv++;
            if (!d)
                break;
        }
        if (d)
            closedir(d);
    }
    for (size_t i = 0; i < nv && st == AXL_OK; i++)
        st = shard_read(&v[i], msg);
    if (st == AXL_OK && nv == 0)
        st = axl_msgf(msg, AXL_ERR_INVALID, "no shard files given (no *.csv in the directory)");
    *out = v;
    *nout = nv;
    return st;
}

/* One sweep, every shard once, every shard finished. */
static enum axl_status check(struct shard *v, size_t nv, struct shard ***by_index, char *msg)
{
    const struct shard *a = &v[0];
    if (a->count < 1 || a->count > 1000000 || a->points > ((size_t)1 << 40))
        return axl_msgf(msg, AXL_ERR_INVALID, "%s: shard line out of range", a->path);
    for (size_t i = 1; i < nv; i++)
        if (strcmp(v[i].hash, a->hash) || v[i].count != a->count || v[i].points != a->points)
            return axl_msgf(msg, AXL_ERR_INVALID,
                            "%s and %s are shards of different sweeps (definition sha256 "
                            "%.12s... vs %.12s...)", a->path, v[i].path, a->hash, v[i].hash);
    struct shard **b = calloc((size_t)a->count, sizeof *b);
    if (!b)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    enum axl_status st = AXL_OK;
    for (size_t i = 0; i < nv && st == AXL_OK; i++) {
        int k = v[i].index;
        if (k < 1 || k > a->count)
            st = axl_msgf(msg, AXL_ERR_INVALID, "%s: shard %d/%d out of range", v[i].path, k,
                          a->count);
        else if (b[k - 1])
            st = axl_msgf(msg, AXL_ERR_INVALID, "%s and %s are both shard %d/%d", b[k - 1]->path,
                          v[i].path, k, a->count);
        else
            b[k - 1] = &v[i];
    }
    for (int k = 0; k < a->count && st == AXL_OK; k++) {
        size_t want = a->points > (size_t)k ? (a->points - (size_t)k - 1) / (size_t)a->count + 1 : 0;
        if (!b[k])
            st = axl_msgf(msg, AXL_ERR_INVALID, "shard %d/%d of the sweep (sha256 %.12s...) is "
                          "missing", k + 1, a->count, a->hash);
        else if (b[k]->nrows != want)
            st = axl_msgf(msg, AXL_ERR_INVALID,
                          "%s: shard %d/%d has %zu of its %zu points (finish it: run it again "
                          "with the same command)", b[k]->path, k + 1, a->count, b[k]->nrows, want);
    }
    if (st != AXL_OK) {
        free(b);
        return st;
    }
    *by_index = b;
    return AXL_OK;
}

enum axl_status axl_sweep_merge(const char *const *paths, size_t n, const char *csv,
                                const char *json, char *msg)
{
    struct shard *v = NULL, **b = NULL;
    size_t nv = 0;
    enum axl_status st = collect(paths, n, &v, &nv, msg);
    if (st == AXL_OK)
        st = check(v, nv, &b, msg);
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", csv, (long)getpid());
    FILE *f = st == AXL_OK ? fopen(tmp, "w") : NULL;
    if (st == AXL_OK && !f)
        st = axl_msgf(msg, AXL_ERR_IO, "%s: cannot write", csv);
    if (f) {
        int bad = fprintf(f, "%s\n", axl_sweep_csv_header) < 0;
        size_t N = (size_t)v[0].count;
        for (size_t i = 0; i < v[0].points && !bad; i++)
            bad = fprintf(f, "%s\n", b[i % N]->rows[i / N]) < 0;
        bad |= fclose(f) != 0;
        if (bad || rename(tmp, csv) != 0) {
            unlink(tmp);
            st = axl_msgf(msg, AXL_ERR_IO, "%s: cannot write", csv);
        }
    }
    if (st == AXL_OK && json)
        st = axl_sweep_write_json(csv, json, msg);
    for (size_t i = 0; i < nv; i++)
        shard_free(&v[i]);
    free(v);
    free(b);
    return st;
}
