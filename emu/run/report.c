/* The JSON reports of the run layer: a run's (include/axlut/run.h), a
 * sweep's results (include/axlut/sweep.h) and an SNN evaluation's
 * (include/axlut/snn.h), all written with jansson to a
 * temporary name and renamed when complete. */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "axlut/run.h"
#include "axlut/snn.h"
#include "axlut/sweep.h"
#include "tmpfile.h"

/* TEXT into PATH through PATH.tmpPID; 0 on success, nothing left behind
 * otherwise. */
static int write_atomic(const char *path, const char *text)
{
    char tmp[1100];
    if (axl_tmp_name(path, tmp, sizeof tmp) != 0)
        return -1;
    axl_tmp_clean_stale(path); /* left by writers that were killed */
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    int bad = fputs(text, f) < 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* ---- a run ------------------------------------------------------------------ */

/* Text from files (layer names, paths) as a JSON string: JSON is UTF-8, and
 * jansson refuses anything else, which used to drop the whole layer from
 * the report; invalid bytes become U+FFFD.  NULL: null. */
static json_t *text(const char *s)
{
    if (!s)
        return json_null();
    size_t cap = 3 * strlen(s) + 4;
    char *b = malloc(cap);
    json_t *j = b ? json_string(axl_utf8_copy(b, cap, s)) : NULL;
    free(b);
    return j;
}

/* JSON numbers cannot be inf or NaN: those become null. */
static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *error_json(const struct axl_error *e)
{
    return json_pack("{s:o, s:o, s:o, s:o}", "mse", num(e->mse), "snr_db", num(e->snr_db),
                     "max_abs", num(e->max_abs), "cosine", num(e->cosine));
}

/* A layer; its errors only where there was a reference (errs). */
static json_t *layer_json(const struct axl_layer_report *L, int errs)
{
    json_t *shape = json_array();
    for (int d = 0; d < L->ndim; d++)
        json_array_append_new(shape, json_integer((json_int_t)L->dims[d]));
    json_t *o = json_pack("{s:o, s:o, s:o, s:b, s:b, s:o, s:s, s:I, s:o}", "name",
                          text(L->name), "op", text(L->op), "output_shape", shape,
                          "output_per_sample", L->per_sample, "approximate", L->approximate,
                          "config", text(L->config), "path",
                          L->approximate ? axl_path_name(L->path) : "exact", "macs_per_sample",
                          (json_int_t)L->macs, "seconds", num(L->seconds));
    if (o && errs) {
        json_object_set_new(o, "layer_error", error_json(&L->local));
        json_object_set_new(o, "accumulated_error", error_json(&L->accum));
    }
    return o;
}

static const char *reference_name(int ref)
{
    return ref == AXL_REFERENCE_SKIPPED ? "skipped" : ref == AXL_REFERENCE_SAME ? "same" : "run";
}

/* root (whose reference this takes; NULL when building it failed) as
 * indented JSON to path, atomically. */
static enum axl_status write_report(json_t *root, const char *path, char *msg)
{
    char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(9)) : NULL;
    json_decref(root);
    if (!text)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory building the report");
    int rc = write_atomic(path, text);
    free(text);
    if (rc != 0)
        return axl_msgf(msg, AXL_ERR_IO, "%s: cannot write the report", path);
    return AXL_OK;
}

enum axl_status axl_run_report_write_json(const struct axl_run_report *r, const char *path,
                                          const char *model, const char *data, char *msg)
{
    const int errs = r->reference != AXL_REFERENCE_SKIPPED;
    json_t *layers = json_array();
    for (size_t i = 0; i < r->nlayers; i++)
        json_array_append_new(layers, layer_json(&r->layers[i], errs));
    json_t *root = json_pack(
        "{s:s, s:o, s:o, s:I, s:I, s:s, s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
        "axlut_report", "1", "model", text(model), "data", text(data), "samples",
        (json_int_t)r->samples, "batch", (json_int_t)r->batch, "batching", r->batching,
        "has_labels", r->has_labels, "top1", num(r->top1), "top5", num(r->top5), "exact_top1",
        num(r->exact_top1), "exact_top5", num(r->exact_top5), "agreement", num(r->agreement),
        "seconds", num(r->seconds), "exact_seconds", num(r->exact_seconds), "samples_per_s",
        num(r->samples_per_s), "output_error", error_json(&r->output_error), "layers", layers);
    /* "reference": whether the exact network ran; skipped: no errors at all */
    if (root && json_object_set_new(root, "reference", json_string(reference_name(r->reference))))
        root = (json_decref(root), NULL);
    if (root && !errs)
        json_object_del(root, "output_error");
    return write_report(root, path, msg);
}

/* ---- a sweep's results ------------------------------------------------------ */

#define SWEEP_COLUMNS 13

static const char *const k_sweep_columns[SWEEP_COLUMNS] = {
    "model", "design", "format", "acc_format", "adder", "layers", "samples", "top1",
    "exact_top1", "agreement", "worst_layer_snr_db", "output_snr_db", "seconds"};

/* A number of the CSV as JSON: its value as written (an integer stays an
 * integer), null for nan, inf and an empty field. */
static json_t *csv_number(const char *v)
{
    if (!v[0] || strstr(v, "nan") || strstr(v, "inf"))
        return json_null();
    char *end;
    long long i = strtoll(v, &end, 10);
    if (!*end)
        return json_integer((json_int_t)i);
    return json_real(strtod(v, NULL));
}

/* One CSV line as an object: the first six columns are strings (quotes
 * removed, "" inside quotes one quote), the others numbers. */
static json_t *csv_row(const char *line)
{
    json_t *o = json_object();
    const char *p = line;
    char *val = malloc(strlen(line) + 1); /* a field is never longer than its line */
    if (!val) {
        json_decref(o);
        return NULL;
    }
    for (int fi = 0; o && fi < SWEEP_COLUMNS; fi++) {
        size_t k = 0;
        int inq = 0;
        while (*p && (inq || *p != ',')) {
            if (*p == '"' && inq && p[1] == '"')
                p++; /* "" inside quotes: one quote */
            else if (*p == '"') {
                inq = !inq;
                p++;
                continue;
            }
            val[k++] = *p;
            p++;
        }
        val[k] = '\0';
        if (*p == ',')
            p++;
        json_object_set_new(o, k_sweep_columns[fi], fi < 6 ? text(val) : csv_number(val));
    }
    free(val);
    return o;
}

/* The rows one per line, as `axlut sweep` has always laid them out:
 * "[\n  {row},\n  {row}\n]\n".  Reals with 15 digits give back exactly the
 * decimal the CSV holds (it never holds more). */
static char *rows_text(FILE *in)
{
    size_t cap = 4096, len = 2, lcap = 0;
    char *text = malloc(cap), *line = NULL; /* lines of any length (long paths) */
    if (!text)
        return NULL;
    memcpy(text, "[\n", 3);
    int header = 1, first = 1;
    while (getline(&line, &lcap, in) > 0) {
        if (line[0] == '#') /* a shard's line naming its sweep */
            continue;
        if (header) {
            header = 0;
            continue;
        }
        line[strcspn(line, "\n")] = '\0';
        json_t *row = csv_row(line);
        char *r = row ? json_dumps(row, JSON_REAL_PRECISION(15)) : NULL;
        json_decref(row);
        if (!r) {
            free(line);
            free(text);
            return NULL;
        }
        size_t need = len + strlen(r) + 8;
        if (need > cap) {
            char *t = realloc(text, 2 * need);
            if (!t) {
                free(r);
                free(line);
                free(text);
                return NULL;
            }
            text = t;
            cap = 2 * need;
        }
        len += (size_t)snprintf(text + len, cap - len, "%s  %s", first ? "" : ",\n", r);
        first = 0;
        free(r);
    }
    free(line);
    char *t = realloc(text, len + 4);
    if (!t) {
        free(text);
        return NULL;
    }
    memcpy(t + len, "\n]\n", 4);
    return t;
}

enum axl_status axl_sweep_write_json(const char *csv, const char *json, char *msg)
{
    FILE *in = fopen(csv, "r");
    if (!in)
        return axl_msgf(msg, AXL_ERR_IO, "%s: cannot write", json);
    char *text = rows_text(in);
    fclose(in);
    int rc = text ? write_atomic(json, text) : -1;
    free(text);
    if (rc != 0)
        return axl_msgf(msg, AXL_ERR_IO, "%s: cannot write", json);
    return AXL_OK;
}

/* ---- an SNN evaluation ------------------------------------------------------ */

static json_t *snn_layer_json(const struct axl_snn_layer_result *L, int nsteps,
                              const struct axl_snn_step_result *steps)
{
    json_t *per = json_array();
    for (int i = 0; i < nsteps; i++)
        json_array_append_new(per, json_pack("{s:I, s:o, s:o, s:o}", "steps",
                                             (json_int_t)steps[i].steps, "firing_rate",
                                             num(L->rate[i]), "synops_per_sample",
                                             num(L->synops[i]), "rate_error",
                                             num(L->rate_err[i])));
    const struct axl_snn_layer_info *f = &L->info;
    return json_pack("{s:o, s:o, s:s, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:o, s:i, s:o, s:o}",
                     "name", text(f->name), "op", text(f->op), "kind",
                     axl_snn_layer_kind_name(f->kind), "spiking", f->spiking, "readout",
                     f->readout, "source", (json_int_t)f->source, "into", (json_int_t)f->into,
                     "inputs", (json_int_t)f->inputs, "neurons", (json_int_t)f->neurons,
                     "synapses", (json_int_t)f->synapses, "lambda", num(f->lambda), "frac_bits",
                     f->frac_bits, "ann_mean_activation", num(L->ann_mean), "per_steps", per);
}

enum axl_status axl_snn_report_write_json(const struct axl_snn_report *r, const char *path,
                                          const char *model, const char *data, char *msg)
{
    json_t *steps = json_array(), *layers = json_array();
    for (int i = 0; i < r->nsteps; i++)
        json_array_append_new(steps, json_pack("{s:I, s:o, s:o}", "steps",
                                               (json_int_t)r->steps[i].steps, "top1",
                                               num(r->steps[i].top1), "agreement",
                                               num(r->steps[i].agreement)));
    for (size_t k = 0; k < r->nlayers; k++)
        json_array_append_new(layers, snn_layer_json(&r->layers[k], r->nsteps, r->steps));
    json_t *root = json_pack(
        "{s:s, s:o, s:o, s:I, s:b, s:o, s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "axlut_snn_report",
        "1", "model", text(model), "data", text(data), "samples", (json_int_t)r->samples, "has_labels",
        r->has_labels, "ann_top1", num(r->ann_top1), "arithmetic", r->arithmetic, "kernel",
        r->kernel, "percentile", num(r->percentile), "seconds", num(r->seconds), "ann_seconds",
        num(r->ann_seconds), "steps", steps, "layers", layers);
    return write_report(root, path, msg);
}
