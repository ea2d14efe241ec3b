/* Training checkpoints (checkpoint.h).  Every HDF5 call is checked; a
 * checkpoint is written to DIR/epoch-NNNN.h5.tmpPID and renamed, so that a
 * run killed while writing leaves the previous one intact. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "h5attr.h"
#include "tmpfile.h"

#define CKPT_FORMAT "axlut-checkpoint-1"

static enum axl_status put_attr(hid_t obj, const char *key, hid_t type, const void *v)
{
    hid_t sp = H5Screate(H5S_SCALAR), a = -1;
    enum axl_status st = AXL_ERR_IO;
    if (sp >= 0 && (a = H5Acreate2(obj, key, type, sp, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
        H5Awrite(a, type, v) >= 0)
        st = AXL_OK;
    if (a >= 0 && H5Aclose(a) < 0)
        st = AXL_ERR_IO;
    if (sp >= 0)
        H5Sclose(sp);
    return st;
}

/* /group/NNNN: n float32 values, with the value's name as an attribute */
static enum axl_status put_array(hid_t f, const char *group, size_t i, const char *name,
                                 const float *v, int64_t n)
{
    char path[64];
    snprintf(path, sizeof path, "/%s/%04zu", group, i);
    hsize_t dim = (hsize_t)n;
    hid_t sp = H5Screate_simple(1, &dim, NULL), d = -1;
    enum axl_status st = AXL_ERR_IO;
    if (sp >= 0 &&
        (d = H5Dcreate2(f, path, H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
        H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0)
        st = name ? (axl_h5_put_str(d, "name", name) ? AXL_ERR_IO : AXL_OK) : AXL_OK;
    if (d >= 0 && H5Dclose(d) < 0)
        st = AXL_ERR_IO;
    if (sp >= 0)
        H5Sclose(sp);
    return st;
}

static enum axl_status put_group(hid_t f, const char *name)
{
    hid_t g = H5Gcreate2(f, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    return g >= 0 && H5Gclose(g) >= 0 ? AXL_OK : AXL_ERR_IO;
}

static enum axl_status write_body(hid_t f, struct axl_graph *g, const struct axl_ckpt *c)
{
    size_t np = axl_graph_param_count(g), nb = axl_graph_buffer_count(g);
    int32_t ep = c->epoch, opt = (int32_t)c->optimizer;
    int64_t step = c->step;
    uint64_t seed = c->seed;
    enum axl_status st = axl_h5_put_str(f, "format", CKPT_FORMAT) ? AXL_ERR_IO : AXL_OK;
    if (st == AXL_OK)
        st = put_attr(f, "epoch", H5T_NATIVE_INT32, &ep);
    if (st == AXL_OK)
        st = put_attr(f, "step", H5T_NATIVE_INT64, &step);
    if (st == AXL_OK)
        st = put_attr(f, "optimizer", H5T_NATIVE_INT32, &opt);
    if (st == AXL_OK)
        st = put_attr(f, "seed", H5T_NATIVE_UINT64, &seed);
    const char *groups[] = {"/params", "/buffers", "/state1", "/state2"};
    for (int k = 0; k < 4 && st == AXL_OK; k++)
        st = put_group(f, groups[k]);
    for (size_t i = 0; i < np && st == AXL_OK; i++) {
        struct axl_tensor p = axl_graph_param(g, i);
        int64_t n = axl_tensor_numel(&p);
        st = put_array(f, "params", i, axl_graph_param_name(g, i), p.data, n);
        if (st == AXL_OK)
            st = put_array(f, "state1", i, NULL, c->state1[i], n);
        if (st == AXL_OK && c->state2)
            st = put_array(f, "state2", i, NULL, c->state2[i], n);
    }
    for (size_t i = 0; i < nb && st == AXL_OK; i++) {
        struct axl_tensor b = axl_graph_buffer(g, i);
        st = put_array(f, "buffers", i, axl_graph_buffer_name(g, i), b.data,
                       axl_tensor_numel(&b));
    }
    if (st == AXL_OK) {
        hsize_t dims[2] = {(hsize_t)c->nhist, AXL_CKPT_COLS};
        hid_t sp = H5Screate_simple(2, dims, NULL), d = -1;
        st = AXL_ERR_IO;
        if (sp >= 0 && (d = H5Dcreate2(f, "/history", H5T_IEEE_F64LE, sp, H5P_DEFAULT,
                                       H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
            (c->nhist == 0 ||
             H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, c->hist) >= 0))
            st = AXL_OK;
        if (d >= 0 && H5Dclose(d) < 0)
            st = AXL_ERR_IO;
        if (sp >= 0)
            H5Sclose(sp);
    }
    return st;
}

enum axl_status axl_ckpt_write(const char *dir, struct axl_graph *g, const struct axl_ckpt *c,
                               char *path, char *msg)
{
    char tmp[1100];
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return axl_msgf(msg, AXL_ERR_IO, "%s: cannot create the checkpoint directory (%s)", dir,
                        strerror(errno));
    snprintf(path, 1024, "%s/epoch-%04d.h5", dir, c->epoch);
    axl_tmp_name(path, tmp, sizeof tmp);
    axl_tmp_clean_stale(path); /* left by writers that were killed */
    enum axl_status st = AXL_ERR_IO;
    H5E_BEGIN_TRY
    {
        hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
        if (f >= 0) {
            st = write_body(f, g, c);
            if (H5Fclose(f) < 0)
                st = AXL_ERR_IO;
        }
    }
    H5E_END_TRY;
    if (st == AXL_OK && rename(tmp, path) != 0)
        st = AXL_ERR_IO;
    if (st != AXL_OK) {
        unlink(tmp);
        char p[1024];
        snprintf(p, sizeof p, "%s", path);
        path[0] = 0;
        return axl_msgf(msg, st, "%s: cannot write the checkpoint", p);
    }
    return AXL_OK;
}

/* ---- reading ------------------------------------------------------------------ */
static int get_attr(hid_t obj, const char *key, hid_t type, void *v)
{
    if (H5Aexists(obj, key) <= 0)
        return 0;
    hid_t a = H5Aopen(obj, key, H5P_DEFAULT);
    int ok = a >= 0 && H5Aread(a, type, v) >= 0;
    if (a >= 0)
        H5Aclose(a);
    return ok;
}

/* /group/NNNN into v (n values, and named name when name is not NULL) */
static int get_array(hid_t f, const char *group, size_t i, const char *name, float *v,
                     int64_t n)
{
    char path[64], got[1024];
    snprintf(path, sizeof path, "/%s/%04zu", group, i);
    if (H5Lexists(f, path, H5P_DEFAULT) <= 0)
        return 0;
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT), sp = d >= 0 ? H5Dget_space(d) : -1;
    hsize_t dim = 0;
    int ok = sp >= 0 && H5Sget_simple_extent_ndims(sp) == 1 &&
             H5Sget_simple_extent_dims(sp, &dim, NULL) == 1 && dim == (hsize_t)n &&
             (!name || (axl_h5_get_str(d, "name", got, sizeof got) == 1 && !strcmp(got, name))) &&
             H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0;
    if (sp >= 0)
        H5Sclose(sp);
    if (d >= 0)
        H5Dclose(d);
    return ok;
}

static int get_history(hid_t f, struct axl_ckpt *c)
{
    hid_t d = H5Dopen2(f, "/history", H5P_DEFAULT), sp = d >= 0 ? H5Dget_space(d) : -1;
    hsize_t dims[2] = {0, 0};
    int ok = sp >= 0 && H5Sget_simple_extent_ndims(sp) == 2 &&
             H5Sget_simple_extent_dims(sp, dims, NULL) == 2 && dims[1] == AXL_CKPT_COLS &&
             dims[0] < 100000 && (c->hist = calloc(dims[0] + 1, sizeof *c->hist)) != NULL &&
             (dims[0] == 0 ||
              H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, c->hist) >= 0);
    c->nhist = ok ? (int)dims[0] : 0;
    if (sp >= 0)
        H5Sclose(sp);
    if (d >= 0)
        H5Dclose(d);
    return ok;
}

/* what in the file does not fit: NULL when everything does */
static const char *read_body(hid_t f, struct axl_graph *g, struct axl_ckpt *c)
{
    char fmt[64];
    int32_t ep = 0, opt = -1;
    if (axl_h5_get_str(f, "format", fmt, sizeof fmt) != 1 || strcmp(fmt, CKPT_FORMAT))
        return "not an axlut checkpoint";
    if (!get_attr(f, "epoch", H5T_NATIVE_INT32, &ep) || ep < 1 ||
        !get_attr(f, "step", H5T_NATIVE_INT64, &c->step) || c->step < 0 ||
        !get_attr(f, "optimizer", H5T_NATIVE_INT32, &opt))
        return "its epoch, step or optimizer is missing";
    if (opt != (int32_t)c->optimizer)
        return "it was written by another optimizer";
    size_t np = axl_graph_param_count(g), nb = axl_graph_buffer_count(g);
    for (size_t i = 0; i < np; i++) {
        struct axl_tensor p = axl_graph_param(g, i);
        int64_t n = axl_tensor_numel(&p);
        if (!get_array(f, "params", i, axl_graph_param_name(g, i), p.data, n) ||
            !get_array(f, "state1", i, NULL, c->state1[i], n) ||
            (c->state2 && !get_array(f, "state2", i, NULL, c->state2[i], n)))
            return "its parameters or optimizer state do not match the model's";
    }
    for (size_t i = 0; i < nb; i++) {
        struct axl_tensor b = axl_graph_buffer(g, i);
        if (!get_array(f, "buffers", i, axl_graph_buffer_name(g, i), b.data,
                       axl_tensor_numel(&b)))
            return "its running statistics do not match the model's";
    }
    if (!get_history(f, c))
        return "its history is missing or malformed";
    c->epoch = ep;
    return NULL;
}

/* the highest N of DIR/epoch-N.h5, 0 when none */
static int latest_epoch(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int best = 0;
    while (d && (e = readdir(d))) {
        int n = 0, len = 0;
        if (sscanf(e->d_name, "epoch-%d.h5%n", &n, &len) == 1 && e->d_name[len] == 0 && n > best)
            best = n;
    }
    if (d)
        closedir(d);
    return best;
}

enum axl_status axl_ckpt_read_latest(const char *dir, struct axl_graph *g, struct axl_ckpt *c,
                                     char *path, char *msg)
{
    int ep = latest_epoch(dir);
    c->epoch = 0;
    path[0] = 0;
    if (ep == 0)
        return AXL_OK;
    snprintf(path, 1024, "%s/epoch-%04d.h5", dir, ep);
    const char *bad = "cannot be opened as HDF5";
    H5E_BEGIN_TRY
    {
        hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        if (f >= 0) {
            bad = read_body(f, g, c);
            H5Fclose(f);
        }
    }
    H5E_END_TRY;
    if (bad)
        return axl_msgf(msg, AXL_ERR_MISMATCH, "%s: cannot resume from it: %s", path, bad);
    return AXL_OK;
}
