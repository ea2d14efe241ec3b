/* Datasets in HDF5 (include/axlut/dataset.h). */
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include "axlut/dataset.h"
#include "child.h"
#include "dataset_internal.h"
#include "h5quiet.h"

struct input_src {
    hid_t dset;
    int is_u8;
    double scale, offset;
    int ndim;
    hsize_t dims[AXL_MAX_DIMS];
};

struct axl_dataset {
    char path[512];
    hid_t file;
    size_t ninputs;
    struct input_src *in;
    hid_t labels;
    hid_t targets;    /* float /targets, -1 when absent */
    int64_t tper;     /* its values per sample */
    int64_t count;
};

void axl_dataset_close(struct axl_dataset *d)
{
    if (!d)
        return;
    for (size_t i = 0; d->in && i < d->ninputs; i++)
        if (d->in[i].dset >= 0)
            H5Dclose(d->in[i].dset);
    if (d->labels >= 0)
        H5Dclose(d->labels);
    if (d->targets >= 0)
        H5Dclose(d->targets);
    if (d->file >= 0)
        H5Fclose(d->file);
    free(d->in);
    free(d);
}

int64_t axl_dataset_count(const struct axl_dataset *d) { return d->count; }
const char *axl_dataset_path(const struct axl_dataset *d) { return d->path; }
int axl_dataset_has_labels(const struct axl_dataset *d) { return d->labels >= 0; }
int64_t axl_dataset_target_size(const struct axl_dataset *d)
{
    return d->targets >= 0 ? d->tper : 0;
}

/* A scalar attribute (one element) read as a double: 1, 0 when missing or
 * unreadable, -1 when it holds another number of values, *count of them
 * (reading an array into v would write past it). */
static int read_attr_double(hid_t obj, const char *name, double *v, int64_t *count)
{
    if (H5Aexists(obj, name) <= 0)
        return 0;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0)
        return 0;
    hid_t sp = H5Aget_space(a);
    hssize_t np = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    if (sp >= 0)
        H5Sclose(sp);
    if (np != 1) {
        *count = (int64_t)np;
        H5Aclose(a);
        return -1;
    }
    herr_t r = H5Aread(a, H5T_NATIVE_DOUBLE, v);
    H5Aclose(a);
    return r >= 0;
}

/* a * b into *out; 0 when it exceeds limit (or a, b are negative). */
static int mul_within(int64_t a, int64_t b, int64_t limit, int64_t *out)
{
    if (a < 0 || b < 0 || (a && b > limit / a))
        return 0;
    *out = a * b;
    return 1;
}

/* Opens one input dataset and checks it against the model input. */
static enum axl_status open_input(struct axl_dataset *d, hid_t loc, const char *dname,
                                  const char *shown, const struct axl_graph *g, size_t gi,
                                  struct input_src *src, char *msg)
{
    src->dset = -1;
    if (H5Lexists(loc, dname, H5P_DEFAULT) <= 0 ||
        (src->dset = H5Dopen2(loc, dname, H5P_DEFAULT)) < 0) {
        return axl_msgf(msg, AXL_ERR_FORMAT, "%s: no dataset %s (model input '%s')", d->path, shown,
                 axl_graph_input_name(g, gi));
    }
    hid_t type = H5Dget_type(src->dset), space = H5Dget_space(src->dset);
    H5T_class_t cls = H5Tget_class(type);
    size_t size = H5Tget_size(type);
    int nd = H5Sget_simple_extent_ndims(space);
    int ok = nd >= 1 && nd <= AXL_MAX_DIMS;
    if (ok)
        H5Sget_simple_extent_dims(space, src->dims, NULL);
    H5Tclose(type);
    H5Sclose(space);
    if (!ok) {
        return axl_msgf(msg, AXL_ERR_FORMAT, "%s: %s has %d dimensions (1 to %d allowed)", d->path,
                        shown, nd, AXL_MAX_DIMS);
    }
    src->ndim = nd;
    /* every size computed from the dims later (samples x values per sample
     * x 4 bytes) must fit in int64_t and size_t */
    int64_t per = 1;
    for (int i = 1; i < nd; i++)
        if (src->dims[i] > (hsize_t)INT64_MAX ||
            !mul_within(per, (int64_t)src->dims[i], INT64_MAX / (int64_t)sizeof(float), &per))
            return axl_msgf(msg, AXL_ERR_TOO_LARGE, "%s: %s has too many values per sample",
                            d->path, shown);
    if (src->dims[0] > (hsize_t)INT64_MAX)
        return axl_msgf(msg, AXL_ERR_TOO_LARGE, "%s: %s has too many samples", d->path, shown);
    if (cls == H5T_FLOAT) {
        src->is_u8 = 0;
    } else if (cls == H5T_INTEGER && size == 1) {
        src->is_u8 = 1;
        static const char *const names[2] = {"scale", "offset"};
        for (int k = 0; k < 2; k++) {
            int64_t nv = 0;
            int r = read_attr_double(src->dset, names[k], k ? &src->offset : &src->scale, &nv);
            if (r < 0)
                return axl_msgf(msg, AXL_ERR_FORMAT,
                                "%s: %s attribute '%s' must be a single number (it holds %lld "
                                "values)",
                                d->path, shown, names[k], (long long)nv);
            if (r == 0)
                return axl_msgf(msg, AXL_ERR_FORMAT,
                                "%s: %s is uint8 but lacks its 'scale' and 'offset' "
                                "attributes (value = scale * code + offset)",
                                d->path, shown);
        }
    } else {
        return axl_msgf(msg, AXL_ERR_FORMAT, "%s: %s must be float32 or uint8 with scale/offset",
                        d->path, shown);
    }
    /* shape after the sample axis against the model's */
    int64_t gd[AXL_MAX_DIMS];
    int gn = axl_graph_input_shape(g, gi, gd);
    int match = gn == nd;
    for (int i = 1; match && i < nd; i++)
        match = gd[i] < 0 || (hsize_t)gd[i] == src->dims[i];
    if (!match) {
        char want[128] = "", got[128] = "";
        size_t wl = 0, gl = 0;
        for (int i = 0; i < gn && wl < sizeof want; i++)
            wl += (size_t)snprintf(want + wl, sizeof want - wl, i ? "x%lld" : "%lld",
                                   (long long)gd[i]);
        for (int i = 0; i < nd && gl < sizeof got; i++)
            gl += (size_t)snprintf(got + gl, sizeof got - gl, i ? "x%llu" : "%llu",
                                   (unsigned long long)src->dims[i]);
        return axl_msgf(msg, AXL_ERR_MISMATCH,
                        "%s: %s has shape %s, model input '%s' wants %s (-1: any)", d->path, shown,
                        got, axl_graph_input_name(g, gi), want);
    }
    return AXL_OK;
}

/* /targets: floating, the sample first, at most 2^31 values per sample */
static enum axl_status open_targets(struct axl_dataset *d, char *msg)
{
    hsize_t dims[AXL_MAX_DIMS];
    d->targets = H5Dopen2(d->file, "targets", H5P_DEFAULT);
    hid_t sp = d->targets >= 0 ? H5Dget_space(d->targets) : -1;
    hid_t ty = d->targets >= 0 ? H5Dget_type(d->targets) : -1;
    int nd = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    int ok = nd >= 1 && nd <= AXL_MAX_DIMS && H5Sget_simple_extent_dims(sp, dims, NULL) == nd &&
             ty >= 0 && H5Tget_class(ty) == H5T_FLOAT && dims[0] == (hsize_t)d->count;
    d->tper = 1;
    for (int k = 1; ok && k < nd; k++)
        ok = mul_within(d->tper, (int64_t)dims[k], (int64_t)1 << 31, &d->tper);
    if (ty >= 0)
        H5Tclose(ty);
    if (sp >= 0)
        H5Sclose(sp);
    if (!ok)
        return axl_msgf(msg, AXL_ERR_FORMAT, "%s: /targets must be floating point with one row "
                        "per sample (%lld)", d->path, (long long)d->count);
    return AXL_OK;
}

static enum axl_status dataset_open(const char *path, const struct axl_graph *g,
                                    struct axl_dataset **out, char *msg)
{
    *out = NULL;
    struct axl_dataset *d = calloc(1, sizeof *d);
    if (!d)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    d->file = d->labels = d->targets = -1;
    snprintf(d->path, sizeof d->path, "%s", path);
    enum axl_status st = AXL_ERR_FORMAT;
    H5E_BEGIN_TRY { d->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT); }
    H5E_END_TRY;
    if (d->file < 0) {
        FILE *f = fopen(path, "rb");
        if (f)
            fclose(f);
        st = axl_msgf(msg, f ? AXL_ERR_FORMAT : AXL_ERR_IO, "%s: %s", path,
                 f ? "not an HDF5 file (a dataset needs /inputs and optional /labels)"
                   : "cannot open");
        goto fail;
    }
    d->ninputs = axl_graph_input_count(g);
    d->in = calloc(d->ninputs, sizeof *d->in);
    if (!d->in) {
        st = axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < d->ninputs; i++)
        d->in[i].dset = -1;
    int is_group = 0;
    if (H5Lexists(d->file, "inputs", H5P_DEFAULT) > 0) {
        hid_t o = H5Oopen(d->file, "inputs", H5P_DEFAULT);
        if (o >= 0) {
            is_group = H5Iget_type(o) == H5I_GROUP;
            H5Oclose(o);
        }
    }
    if (is_group) {
        hid_t grp = H5Gopen2(d->file, "inputs", H5P_DEFAULT);
        for (size_t i = 0; i < d->ninputs; i++) {
            char shown[300];
            snprintf(shown, sizeof shown, "/inputs/%s", axl_graph_input_name(g, i));
            if ((st = open_input(d, grp, axl_graph_input_name(g, i), shown, g, i, &d->in[i],
                                 msg)) != AXL_OK) {
                H5Gclose(grp);
                goto fail;
            }
        }
        H5Gclose(grp);
    } else {
        if (d->ninputs != 1) {
            st = axl_msgf(msg, AXL_ERR_FORMAT, "%s: the model has %zu inputs, so /inputs must "
                          "be a group with one dataset per input name", path, d->ninputs);
            goto fail;
        }
        if ((st = open_input(d, d->file, "inputs", "/inputs", g, 0, &d->in[0], msg)) != AXL_OK)
            goto fail;
    }
    d->count = (int64_t)d->in[0].dims[0];
    for (size_t i = 1; i < d->ninputs; i++)
        if ((int64_t)d->in[i].dims[0] != d->count) {
            st = axl_msgf(msg, AXL_ERR_FORMAT, "%s: inputs have different sample counts", path);
            goto fail;
        }
    if (H5Lexists(d->file, "labels", H5P_DEFAULT) > 0) {
        d->labels = H5Dopen2(d->file, "labels", H5P_DEFAULT);
        hid_t sp = H5Dget_space(d->labels);
        hsize_t n = 0;
        int nd = H5Sget_simple_extent_ndims(sp);
        if (nd == 1)
            H5Sget_simple_extent_dims(sp, &n, NULL);
        H5Sclose(sp);
        if (nd != 1 || n != (hsize_t)d->count) {
            st = axl_msgf(msg, AXL_ERR_FORMAT,
                          "%s: /labels must be 1-D with one label per sample (%lld)", path,
                          (long long)d->count);
            goto fail;
        }
    }
    if (H5Lexists(d->file, "targets", H5P_DEFAULT) > 0 &&
        (st = open_targets(d, msg)) != AXL_OK)
        goto fail;
    *out = d;
    return AXL_OK;
fail:
    axl_dataset_close(d);
    return st;
}

static enum axl_status dataset_read(struct axl_dataset *d, int64_t start, int64_t n,
                                    struct axl_tensor *inputs, int64_t *labels, char *msg)
{
    enum axl_status st = AXL_ERR_IO;
    for (size_t i = 0; i < d->ninputs; i++)
        memset(&inputs[i], 0, sizeof inputs[i]);
    for (size_t i = 0; i < d->ninputs; i++) {
        struct input_src *s = &d->in[i];
        struct axl_tensor *t = &inputs[i];
        t->ndim = s->ndim;
        int64_t per = 1, numel;
        for (int k = 1; k < s->ndim; k++) {
            t->dims[k] = (int64_t)s->dims[k];
            per *= t->dims[k]; /* bounded when the dataset was opened */
        }
        t->dims[0] = n;
        if (!mul_within(n, per, (int64_t)(SIZE_MAX / sizeof(float) < INT64_MAX
                                              ? SIZE_MAX / sizeof(float) : INT64_MAX),
                        &numel)) {
            st = axl_msgf(msg, AXL_ERR_TOO_LARGE, "%s: %lld samples of %lld values do not fit in "
                          "memory", d->path, (long long)n, (long long)per);
            goto fail;
        }
        t->data = malloc((size_t)numel * sizeof(float));
        unsigned char *u8 = s->is_u8 ? malloc((size_t)numel) : NULL;
        if (!t->data || (s->is_u8 && !u8)) {
            free(u8);
            st = axl_msgf(msg, AXL_ERR_NOMEM, "out of memory reading %lld samples", (long long)n);
            goto fail;
        }
        hsize_t off[AXL_MAX_DIMS] = {0}, cnt[AXL_MAX_DIMS];
        off[0] = (hsize_t)start;
        cnt[0] = (hsize_t)n;
        for (int k = 1; k < s->ndim; k++)
            cnt[k] = s->dims[k];
        hid_t fs = H5Dget_space(s->dset);
        hid_t ms = H5Screate_simple(s->ndim, cnt, NULL);
        herr_t r = H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, NULL, cnt, NULL);
        if (r >= 0)
            r = H5Dread(s->dset, s->is_u8 ? H5T_NATIVE_UCHAR : H5T_NATIVE_FLOAT, ms, fs,
                        H5P_DEFAULT, s->is_u8 ? (void *)u8 : (void *)t->data);
        H5Sclose(ms);
        H5Sclose(fs);
        if (r < 0) {
            free(u8);
            st = axl_msgf(msg, AXL_ERR_IO, "%s: reading samples %lld..%lld failed (damaged file?)",
                     d->path, (long long)start, (long long)(start + n - 1));
            goto fail;
        }
        if (u8) {
            for (int64_t k = 0; k < numel; k++)
                t->data[k] = (float)(s->scale * u8[k] + s->offset);
            free(u8);
        }
    }
    if (labels && d->labels >= 0) {
        hsize_t off = (hsize_t)start, cnt = (hsize_t)n;
        hid_t fs = H5Dget_space(d->labels), ms = H5Screate_simple(1, &cnt, NULL);
        herr_t r = H5Sselect_hyperslab(fs, H5S_SELECT_SET, &off, NULL, &cnt, NULL);
        if (r >= 0)
            r = H5Dread(d->labels, H5T_NATIVE_INT64, ms, fs, H5P_DEFAULT, labels);
        H5Sclose(ms);
        H5Sclose(fs);
        if (r < 0) {
            st = axl_msgf(msg, AXL_ERR_FORMAT, "%s: reading /labels failed (not integers?)",
                          d->path);
            goto fail;
        }
    }
    return AXL_OK;
fail:
    for (size_t i = 0; i < d->ninputs; i++)
        axl_tensor_free(&inputs[i]);
    return st;
}

enum axl_status axl_dataset_open_direct(const char *path, const struct axl_graph *g,
                                        struct axl_dataset **out, char *msg)
{
    struct axl_h5_quiet q;
    (void)axl_h5_quiet_on(&q); /* HDF5 diagnostics off while a dataset is opened or read */
    enum axl_status st = dataset_open(path, g, out, msg);
    (void)axl_h5_quiet_off(&q);
    return st;
}

/* The probe's verdict, sent by the child. */
struct probe_reply {
    int32_t status;
    char msg[AXL_MSG_LEN];
};

/* In the child: open, and read the first and the last sample with their
 * labels and targets, which loads every object header and the ends of
 * every chunk index the run will use. */
static enum axl_status probe(const char *path, const struct axl_graph *g, char *msg)
{
    struct axl_dataset *d = NULL;
    enum axl_status st = axl_dataset_open_direct(path, g, &d, msg);
    struct axl_tensor *in = d ? calloc(d->ninputs ? d->ninputs : 1, sizeof *in) : NULL;
    float *tg = d && d->targets >= 0 && d->tper > 0 && d->tper < (1 << 26)
                    ? malloc((size_t)d->tper * sizeof *tg)
                    : NULL;
    if (st == AXL_OK && !in)
        st = axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    for (int k = 0; st == AXL_OK && k < 2 && d->count > 0; k++) {
        int64_t at = k ? d->count - 1 : 0, label;
        st = axl_dataset_read(d, at, 1, in, d->labels >= 0 ? &label : NULL, msg);
        for (size_t i = 0; i < d->ninputs; i++)
            axl_tensor_free(&in[i]);
        if (st == AXL_OK && tg)
            st = axl_dataset_read_targets(d, at, 1, tg, msg);
    }
    free(tg);
    free(in);
    axl_dataset_close(d);
    return st;
}

enum axl_status axl_dataset_open(const char *path, const struct axl_graph *g,
                                 struct axl_dataset **out, char *msg)
{
    *out = NULL;
    /* HDF5 can crash, loop or allocate without bound on a corrupt file
     * (child.h): a child opens it first and reads a sample at each end;
     * only a file that passes is opened here.  Room for the child: chunks
     * that decompress to 16 times the file. */
    struct stat sb;
    uint64_t extra = stat(path, &sb) == 0 ? 16u * (uint64_t)sb.st_size : 0;
    struct axl_child c;
    int r = axl_child_start(&c, extra, msg);
    if (r < 0)
        return AXL_ERR_IO;
    if (r == 0) {
        struct probe_reply rep;
        memset(&rep, 0, sizeof rep);
        rep.status = (int32_t)probe(path, g, rep.msg);
        axl_child_exit(&c, axl_child_send(&c, &rep, sizeof rep) == 0 ? 0 : 4);
    }
    struct probe_reply rep;
    int got = axl_child_recv(&c, &rep, sizeof rep) == 0;
    enum axl_status end = axl_child_end(&c, 0, path, msg);
    if (end != AXL_OK)
        return end;
    if (!got)
        return axl_msgf(msg, AXL_ERR_FORMAT, "%s: reading it failed (a corrupt file)", path);
    rep.msg[AXL_MSG_LEN - 1] = 0;
    if (rep.status != AXL_OK) {
        int known = rep.status > 0 && rep.status <= AXL_ERR_COMPILE;
        return axl_msgf(msg, known ? (enum axl_status)rep.status : AXL_ERR_FORMAT, "%s",
                        rep.msg[0] ? rep.msg : "reading the dataset failed");
    }
    return axl_dataset_open_direct(path, g, out, msg);
}

enum axl_status axl_dataset_read(struct axl_dataset *d, int64_t start, int64_t n,
                                 struct axl_tensor *inputs, int64_t *labels, char *msg)
{
    struct axl_h5_quiet q;
    (void)axl_h5_quiet_on(&q); /* HDF5 diagnostics off while a dataset is opened or read */
    enum axl_status st = dataset_read(d, start, n, inputs, labels, msg);
    (void)axl_h5_quiet_off(&q);
    return st;
}

enum axl_status axl_dataset_read_targets(struct axl_dataset *d, int64_t start, int64_t n,
                                         float *out, char *msg)
{
    if (d->targets < 0)
        return axl_msgf(msg, AXL_ERR_INVALID, "%s has no /targets", d->path);
    struct axl_h5_quiet q;
    (void)axl_h5_quiet_on(&q);
    hsize_t off[AXL_MAX_DIMS] = {0}, cnt[AXL_MAX_DIMS];
    hid_t fs = H5Dget_space(d->targets);
    int nd = H5Sget_simple_extent_ndims(fs);
    herr_t r = nd >= 1 ? H5Sget_simple_extent_dims(fs, cnt, NULL) : -1;
    off[0] = (hsize_t)start;
    cnt[0] = (hsize_t)n;
    hid_t ms = r >= 0 ? H5Screate_simple(nd, cnt, NULL) : -1;
    if (r >= 0 && ms >= 0)
        r = H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, NULL, cnt, NULL);
    if (r >= 0 && ms >= 0)
        r = H5Dread(d->targets, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, out);
    if (ms >= 0)
        H5Sclose(ms);
    H5Sclose(fs);
    (void)axl_h5_quiet_off(&q);
    if (r < 0 || ms < 0)
        return axl_msgf(msg, AXL_ERR_IO, "%s: reading /targets failed (damaged file?)", d->path);
    return AXL_OK;
}
