/* Running a network over a dataset with the exact network alongside
 * (include/axlut/run.h). */
#define _POSIX_C_SOURCE 200809L
#include <hdf5.h>
#include <jansson.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "axlut/run.h"

void axl_error_add(struct axl_error_sums *s, const float *got, const float *ref, int64_t n)
{
    double ref2 = 0, err2 = 0, dot = 0, a2 = 0, mx = s->max_abs;
    for (int64_t i = 0; i < n; i++) {
        double r = ref[i], g = got[i], e = g - r;
        ref2 += r * r;
        err2 += e * e;
        dot += g * r;
        a2 += g * g;
        if (fabs(e) > mx || e != e)
            mx = e != e ? INFINITY : fabs(e);
    }
    s->n += (double)n;
    s->ref2 += ref2;
    s->err2 += err2;
    s->dot += dot;
    s->a2 += a2;
    s->max_abs = mx;
}

struct axl_error axl_error_of(const struct axl_error_sums *s)
{
    struct axl_error e;
    /* a NaN or infinite output (overflow in a narrow format) is an
     * unbounded error: SNR -inf, not the +inf of no error at all */
    int unbounded = !isfinite(s->err2);
    e.mse = unbounded ? INFINITY : s->n > 0 ? s->err2 / s->n : 0;
    e.snr_db = unbounded ? -INFINITY : s->err2 > 0 ? 10.0 * log10(s->ref2 / s->err2) : INFINITY;
    e.max_abs = s->max_abs;
    e.cosine = s->a2 > 0 && s->ref2 > 0 ? s->dot / sqrt(s->a2 * s->ref2) : (s->err2 == 0 ? 1 : 0);
    return e;
}

void axl_run_report_free(struct axl_run_report *r)
{
    if (!r)
        return;
    free(r->layers);
    memset(r, 0, sizeof *r);
}

/* ---- the observer state ------------------------------------------------- */

struct run_state {
    const struct axl_graph *g;
    size_t nnodes;
    const struct axl_mac *const *macs;
    int64_t *layer_of;           /* node -> index in report->layers, -1 */
    struct axl_tensor *exact;    /* node -> exact network's first output (MAC nodes) */
    struct axl_run_report *rep;
    int pass_exact;
    double t_last;
    /* saving */
    hid_t h5;
    int64_t row;                 /* first sample of this batch */
    int64_t total;
    int save_layers;
    hid_t *layer_dsets;          /* node -> dataset or -1 */
    char err[AXL_MSG_LEN];
    int failed;
};

static int copy_tensor(struct axl_tensor *dst, const struct axl_tensor *src)
{
    int64_t n = axl_tensor_numel(src);
    float *p = realloc(dst->data, (size_t)(n > 0 ? n : 1) * sizeof *p);
    if (!p)
        return 0;
    memcpy(p, src->data, (size_t)n * sizeof *p);
    *dst = *src;
    dst->data = p;
    return 1;
}

/* HDF5 names cannot hold '/', which exported node names often do. */
static void h5_name(const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s", name);
    for (char *p = out; *p; p++)
        if (*p == '/')
            *p = '|';
    if (!out[0] || out[0] == '.')
        snprintf(out, cap, "node");
}

/* A chunked float dataset [total, dims[1..]] under `where`. */
static hid_t make_dset(hid_t file, const char *group, const char *name, const struct axl_tensor *t,
                       int64_t total, const char *real_name)
{
    hsize_t dims[AXL_MAX_DIMS], chunk[AXL_MAX_DIMS];
    dims[0] = (hsize_t)total;
    chunk[0] = 1;
    for (int i = 1; i < t->ndim; i++)
        dims[i] = chunk[i] = (hsize_t)t->dims[i];
    if (t->ndim == 0)
        return -1;
    char path[600], hn[400];
    h5_name(name, hn, sizeof hn);
    snprintf(path, sizeof path, "%s/%s", group, hn);
    hid_t sp = H5Screate_simple(t->ndim, dims, NULL);
    hid_t pl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(pl, t->ndim, chunk);
    hid_t d = H5Dcreate2(file, path, H5T_IEEE_F32LE, sp, H5P_DEFAULT, pl, H5P_DEFAULT);
    H5Pclose(pl);
    H5Sclose(sp);
    if (d >= 0 && real_name) {
        hid_t st = H5Tcopy(H5T_C_S1);
        H5Tset_size(st, H5T_VARIABLE);
        H5Tset_cset(st, H5T_CSET_UTF8);
        hid_t as = H5Screate(H5S_SCALAR);
        hid_t a = H5Acreate2(d, "node", st, as, H5P_DEFAULT, H5P_DEFAULT);
        if (a >= 0) {
            H5Awrite(a, st, &real_name);
            H5Aclose(a);
        }
        H5Sclose(as);
        H5Tclose(st);
    }
    return d;
}

static int write_rows(hid_t d, const struct axl_tensor *t, int64_t row)
{
    hsize_t off[AXL_MAX_DIMS] = {0}, cnt[AXL_MAX_DIMS];
    off[0] = (hsize_t)row;
    for (int i = 0; i < t->ndim; i++)
        cnt[i] = (hsize_t)t->dims[i];
    hid_t fs = H5Dget_space(d), ms = H5Screate_simple(t->ndim, cnt, NULL);
    herr_t r = H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, NULL, cnt, NULL);
    if (r >= 0)
        r = H5Dwrite(d, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, t->data);
    H5Sclose(ms);
    H5Sclose(fs);
    return r >= 0;
}

static void observe(void *user, size_t node, const struct axl_tensor *out,
                    const struct axl_tensor *exact)
{
    struct run_state *s = user;
    double now = omp_get_wtime();
    double dt = now - s->t_last;
    s->t_last = now;
    if (s->failed)
        return;
    int64_t li = s->layer_of[node];
    if (s->pass_exact) {
        if (li >= 0 && !copy_tensor(&s->exact[node], &out[0])) {
            snprintf(s->err, sizeof s->err, "out of memory keeping layer outputs");
            s->failed = 1;
        }
        return;
    }
    if (li >= 0) {
        struct axl_layer_report *L = &s->rep->layers[li];
        L->seconds += dt;
        int64_t n = axl_tensor_numel(&out[0]);
        if (exact)
            axl_error_add(&L->local_sums, out[0].data, exact->data, n);
        else /* an exact layer: its own error is zero by definition */
            axl_error_add(&L->local_sums, out[0].data, out[0].data, n);
        if (s->exact[node].data && axl_tensor_numel(&s->exact[node]) == n)
            axl_error_add(&L->accum_sums, out[0].data, s->exact[node].data, n);
    }
    if (s->save_layers && s->h5 >= 0) {
        if (s->layer_dsets[node] < 0 && s->row == 0)
            s->layer_dsets[node] = make_dset(s->h5, "/layers", axl_graph_node_name(s->g, node),
                                             &out[0], s->total, axl_graph_node_name(s->g, node));
        if (s->layer_dsets[node] >= 0 && !write_rows(s->layer_dsets[node], &out[0], s->row)) {
            snprintf(s->err, sizeof s->err, "writing layer %s to the outputs file failed",
                     axl_graph_node_name(s->g, node));
            s->failed = 1;
        }
    }
}

/* A NaN score is below every number: never a prediction (-1 when all are
 * NaN, which agrees with nothing). */
int64_t axl_argmax(const float *v, int64_t n)
{
    int64_t b = -1;
    for (int64_t i = 0; i < n; i++)
        if (v[i] == v[i] && (b < 0 || v[i] > v[b]))
            b = i;
    return b;
}

/* 1 when label is among the k largest of v (ties broken by index); a NaN
 * score for the label is never among them. */
int axl_in_top_k(const float *v, int64_t n, int64_t label, int k)
{
    if (label < 0 || label >= n || v[label] != v[label])
        return 0;
    int above = 0;
    for (int64_t i = 0; i < n; i++)
        if (v[i] > v[label] || (v[i] == v[label] && i < label))
            above++;
    return above < k;
}

enum axl_status axl_run_dataset(const struct axl_graph *g, const struct axl_mac *const *macs,
                                struct axl_dataset *d, const struct axl_run_settings *set,
                                struct axl_run_report *rep, char *msg)
{
    memset(rep, 0, sizeof *rep);
    size_t nn = axl_graph_node_count(g), nin = axl_graph_input_count(g),
           nout = axl_graph_output_count(g);
    int64_t total = axl_dataset_count(d);
    if (set->limit > 0 && set->limit < total)
        total = set->limit;
    int64_t batch = set->batch > 0 ? set->batch : 32;
    if (total <= 0) {
        snprintf(msg, AXL_MSG_LEN, "the dataset holds no samples");
        return AXL_ERR_INVALID;
    }
    struct run_state s;
    memset(&s, 0, sizeof s);
    s.g = g;
    s.nnodes = nn;
    s.macs = macs;
    s.rep = rep;
    s.h5 = -1;
    s.total = total;
    s.save_layers = set->save_layers;
    s.layer_of = malloc(nn * sizeof *s.layer_of);
    s.exact = calloc(nn, sizeof *s.exact);
    s.layer_dsets = malloc(nn * sizeof *s.layer_dsets);
    struct axl_tensor *in = calloc(nin, sizeof *in), *out_a = calloc(nout, sizeof *out_a),
                      *out_e = calloc(nout, sizeof *out_e);
    int64_t *labels = malloc((size_t)batch * sizeof *labels);
    struct axl_node_info *info = calloc(nn, sizeof *info);
    hid_t *out_dsets = malloc(nout * sizeof *out_dsets);
    char tmp_path[1100] = "";
    enum axl_status st = AXL_ERR_NOMEM;
    if (!s.layer_of || !s.exact || !s.layer_dsets || !in || !out_a || !out_e || !labels || !info ||
        !out_dsets) {
        snprintf(msg, AXL_MSG_LEN, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < nout; i++)
        out_dsets[i] = -1;
    if ((st = axl_graph_describe(g, 1, info, msg)) != AXL_OK)
        goto done;
    size_t nl = 0;
    for (size_t i = 0; i < nn; i++) {
        s.layer_of[i] = axl_graph_node_is_mac(g, i) ? (int64_t)nl++ : -1;
        s.layer_dsets[i] = -1;
    }
    rep->layers = calloc(nl ? nl : 1, sizeof *rep->layers);
    if (!rep->layers) {
        st = AXL_ERR_NOMEM;
        snprintf(msg, AXL_MSG_LEN, "out of memory");
        goto done;
    }
    rep->nlayers = nl;
    for (size_t i = 0; i < nn; i++) {
        int64_t li = s.layer_of[i];
        if (li < 0)
            continue;
        struct axl_layer_report *L = &rep->layers[li];
        L->node = i;
        L->name = axl_graph_node_name(g, i);
        L->op = axl_graph_node_op(g, i);
        L->macs = info[i].macs;
        L->ndim = info[i].ndim;
        memcpy(L->dims, info[i].dims, sizeof L->dims);
        L->approximate = macs && macs[i];
        if (L->approximate) {
            axl_mac_describe(macs[i], L->config, sizeof L->config);
            L->path = axl_mac_path(macs[i]);
        } else {
            snprintf(L->config, sizeof L->config, "exact fp32");
            L->path = AXL_PATH_FUNCTION;
        }
    }
    if (set->save_outputs) {
        snprintf(tmp_path, sizeof tmp_path, "%s.tmp%ld", set->save_outputs, (long)getpid());
        H5E_BEGIN_TRY { s.h5 = H5Fcreate(tmp_path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT); }
        H5E_END_TRY;
        if (s.h5 < 0) {
            snprintf(msg, AXL_MSG_LEN, "%s: cannot create the outputs file", set->save_outputs);
            st = AXL_ERR_IO;
            goto done;
        }
        hid_t gr = H5Gcreate2(s.h5, "/outputs", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        H5Gclose(gr);
        if (set->save_layers) {
            gr = H5Gcreate2(s.h5, "/layers", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
            H5Gclose(gr);
        }
    }
    rep->has_labels = axl_dataset_has_labels(d);
    int64_t correct1 = 0, correct5 = 0, ecorrect1 = 0, ecorrect5 = 0, agree = 0;
    int classes = 0;
    for (int64_t start = 0; start < total; start += batch) {
        int64_t n = total - start < batch ? total - start : batch;
        if ((st = axl_dataset_read(d, start, n, in, labels, msg)) != AXL_OK)
            goto done;
        struct axl_run_opts o;
        memset(&o, 0, sizeof o);
        o.backend = set->backend;
        o.observe = observe;
        o.user = &s;
        /* the exact network: the reference for every layer */
        s.pass_exact = 1;
        s.t_last = omp_get_wtime();
        double t0 = omp_get_wtime();
        st = axl_graph_run(g, &o, in, out_e, msg);
        rep->exact_seconds += omp_get_wtime() - t0;
        if (st != AXL_OK || s.failed)
            goto run_failed;
        /* the configured network, each approximate layer with its shadow */
        s.pass_exact = 0;
        s.row = start;
        o.mac = macs;
        o.shadow = 1;
        t0 = omp_get_wtime();
        s.t_last = t0;
        st = axl_graph_run(g, &o, in, out_a, msg);
        rep->seconds += omp_get_wtime() - t0;
        if (st != AXL_OK || s.failed)
            goto run_failed;
        for (size_t i = 0; i < nout; i++)
            axl_error_add(&rep->out_sums, out_a[i].data, out_e[i].data, axl_tensor_numel(&out_a[i]));
        if (out_a[0].ndim == 2 && out_a[0].dims[0] == n) {
            int64_t c = out_a[0].dims[1];
            classes = (int)c;
            for (int64_t k = 0; k < n; k++) {
                const float *va = out_a[0].data + k * c, *ve = out_e[0].data + k * c;
                agree += axl_argmax(va, c) == axl_argmax(ve, c);
                if (rep->has_labels) {
                    correct1 += axl_in_top_k(va, c, labels[k], 1);
                    correct5 += axl_in_top_k(va, c, labels[k], 5);
                    ecorrect1 += axl_in_top_k(ve, c, labels[k], 1);
                    ecorrect5 += axl_in_top_k(ve, c, labels[k], 5);
                }
            }
        }
        if (s.h5 >= 0) {
            for (size_t i = 0; i < nout; i++) {
                if (out_dsets[i] < 0 && start == 0)
                    out_dsets[i] = make_dset(s.h5, "/outputs", axl_graph_output_name(g, i),
                                             &out_a[i], total, NULL);
                if (out_dsets[i] < 0 || !write_rows(out_dsets[i], &out_a[i], start)) {
                    snprintf(msg, AXL_MSG_LEN, "%s: writing outputs failed", set->save_outputs);
                    st = AXL_ERR_IO;
                    goto done;
                }
            }
        }
        for (size_t i = 0; i < nin; i++)
            axl_tensor_free(&in[i]);
        for (size_t i = 0; i < nout; i++) {
            axl_tensor_free(&out_a[i]);
            axl_tensor_free(&out_e[i]);
        }
        rep->samples += n;
        if (set->progress)
            set->progress(set->progress_user, start + n, total);
    }
    rep->top_k = classes;
    if (rep->samples > 0) {
        double ns = (double)rep->samples;
        rep->agreement = classes ? (double)agree / ns : NAN;
        rep->top1 = rep->has_labels && classes ? (double)correct1 / ns : NAN;
        rep->top5 = rep->has_labels && classes >= 5 ? (double)correct5 / ns : NAN;
        rep->exact_top1 = rep->has_labels && classes ? (double)ecorrect1 / ns : NAN;
        rep->exact_top5 = rep->has_labels && classes >= 5 ? (double)ecorrect5 / ns : NAN;
        rep->samples_per_s = rep->seconds > 0 ? ns / rep->seconds : 0;
    }
    for (size_t i = 0; i < rep->nlayers; i++) {
        rep->layers[i].local = axl_error_of(&rep->layers[i].local_sums);
        rep->layers[i].accum = axl_error_of(&rep->layers[i].accum_sums);
    }
    rep->output_error = axl_error_of(&rep->out_sums);
    st = AXL_OK;
    goto done;
run_failed:
    if (st == AXL_OK) {
        snprintf(msg, AXL_MSG_LEN, "%s", s.err);
        st = AXL_ERR_NOMEM;
    }
done:
    for (size_t i = 0; in && i < nin; i++)
        axl_tensor_free(&in[i]);
    for (size_t i = 0; out_a && i < nout; i++) {
        axl_tensor_free(&out_a[i]);
        axl_tensor_free(&out_e[i]);
    }
    for (size_t i = 0; s.exact && i < nn; i++)
        axl_tensor_free(&s.exact[i]);
    for (size_t i = 0; s.layer_dsets && i < nn; i++)
        if (s.layer_dsets[i] >= 0)
            H5Dclose(s.layer_dsets[i]);
    for (size_t i = 0; out_dsets && i < nout; i++)
        if (out_dsets[i] >= 0)
            H5Dclose(out_dsets[i]);
    if (s.h5 >= 0) {
        herr_t r = H5Fclose(s.h5);
        if (st == AXL_OK && (r < 0 || rename(tmp_path, set->save_outputs) != 0)) {
            snprintf(msg, AXL_MSG_LEN, "%s: cannot write the outputs file", set->save_outputs);
            st = AXL_ERR_IO;
        }
        if (st != AXL_OK)
            unlink(tmp_path);
    }
    free(s.layer_of);
    free(s.exact);
    free(s.layer_dsets);
    free(in);
    free(out_a);
    free(out_e);
    free(labels);
    free(info);
    free(out_dsets);
    if (st != AXL_OK)
        axl_run_report_free(rep);
    return st;
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

enum axl_status axl_run_report_write_json(const struct axl_run_report *r, const char *path,
                                          const char *model, const char *data, char *msg)
{
    json_t *layers = json_array();
    for (size_t i = 0; i < r->nlayers; i++) {
        const struct axl_layer_report *L = &r->layers[i];
        json_t *shape = json_array();
        for (int d = 0; d < L->ndim; d++)
            json_array_append_new(shape, json_integer((json_int_t)L->dims[d]));
        json_array_append_new(
            layers, json_pack("{s:s, s:s, s:o, s:b, s:s, s:s, s:I, s:o, s:o, s:o}", "name", L->name,
                              "op", L->op, "output_shape", shape, "approximate", L->approximate,
                              "config", L->config,
                              "path", L->approximate ? axl_path_name(L->path) : "exact",
                              "macs_per_sample", (json_int_t)L->macs, "seconds", num(L->seconds),
                              "layer_error", error_json(&L->local), "accumulated_error",
                              error_json(&L->accum)));
    }
    json_t *root = json_pack(
        "{s:s, s:s?, s:s?, s:I, s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
        "axlut_report", "1", "model", model, "data", data, "samples", (json_int_t)r->samples,
        "has_labels", r->has_labels, "top1", num(r->top1), "top5", num(r->top5), "exact_top1",
        num(r->exact_top1), "exact_top5", num(r->exact_top5), "agreement", num(r->agreement),
        "seconds", num(r->seconds), "exact_seconds", num(r->exact_seconds), "samples_per_s",
        num(r->samples_per_s), "output_error", error_json(&r->output_error), "layers", layers);
    if (!root) {
        snprintf(msg, AXL_MSG_LEN, "out of memory building the report");
        return AXL_ERR_NOMEM;
    }
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    int rc = json_dump_file(root, tmp, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
    json_decref(root);
    if (rc != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        snprintf(msg, AXL_MSG_LEN, "%s: cannot write the report", path);
        return AXL_ERR_IO;
    }
    return AXL_OK;
}
