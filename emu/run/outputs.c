/* The outputs file of a run (emu/run/outputs.h).  Every HDF5 call is
 * checked; each function has one cleanup block closing what it opened. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "h5attr.h"
#include "outputs.h"
#include "tmpfile.h"

struct axl_outputs {
    char path[1024], tmp[1100];
    hid_t file;
    size_t n;
    hid_t *dsets; /* [n], -1 until created */
    int err;      /* errno of the first failed write (a full disk: ENOSPC) */
};

static enum axl_status make_group(hid_t file, const char *name)
{
    hid_t g = H5Gcreate2(file, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        return AXL_ERR_IO;
    return H5Gclose(g) < 0 ? AXL_ERR_IO : AXL_OK;
}

enum axl_status axl_outputs_open(const char *path, int layers, size_t nslots,
                                 struct axl_outputs **out, char *msg)
{
    *out = NULL;
    struct axl_outputs *w = calloc(1, sizeof *w);
    hid_t *d = calloc(nslots ? nslots : 1, sizeof *d);
    if (!w || !d) {
        free(w);
        free(d);
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    }
    w->dsets = d;
    w->n = nslots;
    w->file = -1;
    for (size_t i = 0; i < nslots; i++)
        w->dsets[i] = -1;
    snprintf(w->path, sizeof w->path, "%s", path);
    axl_tmp_name(path, w->tmp, sizeof w->tmp);
    axl_tmp_clean_stale(path); /* left by writers that were killed */
    enum axl_status st = AXL_ERR_IO;
    errno = 0;
    H5E_BEGIN_TRY
    {
        w->file = H5Fcreate(w->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
        if (w->file >= 0 && (st = make_group(w->file, "/outputs")) == AXL_OK && layers)
            st = make_group(w->file, "/layers");
    }
    H5E_END_TRY;
    if (st != AXL_OK) {
        char why[96];
        axl_h5_disk_error(errno, why, sizeof why);
        axl_outputs_close(w, 0, NULL);
        return axl_msgf(msg, AXL_ERR_IO, "%s: cannot create the outputs file%s", path, why);
    }
    *out = w;
    return AXL_OK;
}

/* HDF5 names cannot hold '/', which exported node names often do; h5py
 * reads names and string attributes as UTF-8, so invalid bytes become
 * U+FFFD. */
static void h5_name(const char *name, char *out, size_t cap)
{
    axl_utf8_copy(out, cap, name);
    for (char *p = out; *p; p++)
        if (*p == '/')
            *p = '|';
    if (!out[0] || out[0] == '.')
        snprintf(out, cap, "node");
}

/* A chunked float32 dataset [total, dims[1..]] in group. */
static hid_t make_dset(hid_t file, const char *group, const char *name, const char *node,
                       const struct axl_tensor *t, int64_t total)
{
    hsize_t dims[AXL_MAX_DIMS], chunk[AXL_MAX_DIMS];
    dims[0] = (hsize_t)total;
    chunk[0] = 1;
    for (int i = 1; i < t->ndim; i++)
        dims[i] = chunk[i] = (hsize_t)t->dims[i];
    char path[600], hn[400], node8[1200];
    h5_name(name, hn, sizeof hn);
    snprintf(path, sizeof path, "%s/%s", group, hn);
    /* two nodes of one name (ONNX does not forbid it), or names that only
     * differ in '/' and '|': NAME#2, NAME#3... (the attribute `node` tells
     * them apart); a layer must not vanish from the file */
    for (int k = 2; H5Lexists(file, path, H5P_DEFAULT) > 0 && k < 100000; k++)
        snprintf(path, sizeof path, "%s/%s#%d", group, hn, k);
    hid_t sp = -1, pl = -1, d = -1;
    if ((sp = H5Screate_simple(t->ndim, dims, NULL)) < 0 ||
        (pl = H5Pcreate(H5P_DATASET_CREATE)) < 0 || H5Pset_chunk(pl, t->ndim, chunk) < 0 ||
        (d = H5Dcreate2(file, path, H5T_IEEE_F32LE, sp, H5P_DEFAULT, pl, H5P_DEFAULT)) < 0)
        goto fail;
    if (node && axl_h5_put_str(d, "node", axl_utf8_copy(node8, sizeof node8, node)) != 0) {
        H5Dclose(d);
        d = -1;
    }
fail:
    if (pl >= 0)
        H5Pclose(pl);
    if (sp >= 0)
        H5Sclose(sp);
    return d;
}

static enum axl_status write_rows(hid_t d, const struct axl_tensor *t, int64_t row)
{
    hsize_t off[AXL_MAX_DIMS] = {0}, cnt[AXL_MAX_DIMS];
    off[0] = (hsize_t)row;
    for (int i = 0; i < t->ndim; i++)
        cnt[i] = (hsize_t)t->dims[i];
    enum axl_status st = AXL_ERR_IO;
    hid_t fs = -1, ms = -1;
    if ((fs = H5Dget_space(d)) < 0 || (ms = H5Screate_simple(t->ndim, cnt, NULL)) < 0 ||
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, NULL, cnt, NULL) < 0 ||
        H5Dwrite(d, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, t->data) < 0)
        goto fail;
    st = AXL_OK;
fail:
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    return st;
}

enum axl_status axl_outputs_write(struct axl_outputs *w, size_t slot, const char *group,
                                  const char *name, const char *node, const struct axl_tensor *t,
                                  int64_t row, int64_t total)
{
    if (slot >= w->n || t->ndim < 1)
        return AXL_ERR_INVALID;
    enum axl_status st = AXL_ERR_IO;
    errno = 0;
    H5E_BEGIN_TRY
    {
        if (w->dsets[slot] < 0)
            w->dsets[slot] = make_dset(w->file, group, name, node, t, total);
        if (w->dsets[slot] >= 0)
            st = write_rows(w->dsets[slot], t, row);
    }
    H5E_END_TRY;
    if (st != AXL_OK && !w->err)
        w->err = errno;
    return st;
}

enum axl_status axl_outputs_write_whole(struct axl_outputs *w, size_t slot, const char *group,
                                        const char *name, const char *node,
                                        const struct axl_tensor *t)
{
    if (slot >= w->n || w->dsets[slot] >= 0)
        return AXL_ERR_INVALID;
    hsize_t dims[AXL_MAX_DIMS];
    for (int i = 0; i < t->ndim; i++)
        dims[i] = (hsize_t)t->dims[i];
    char path[600], hn[400];
    h5_name(name, hn, sizeof hn);
    snprintf(path, sizeof path, "%s/%s", group, hn);
    enum axl_status st = AXL_ERR_IO;
    hid_t sp = -1;
    errno = 0;
    H5E_BEGIN_TRY
    {
        sp = t->ndim ? H5Screate_simple(t->ndim, dims, NULL) : H5Screate(H5S_SCALAR);
        if (sp >= 0)
            w->dsets[slot] = H5Dcreate2(w->file, path, H5T_IEEE_F32LE, sp, H5P_DEFAULT,
                                        H5P_DEFAULT, H5P_DEFAULT);
        if (w->dsets[slot] >= 0 && (!node || axl_h5_put_str(w->dsets[slot], "node", node) == 0) &&
            (axl_tensor_numel(t) == 0 ||
             H5Dwrite(w->dsets[slot], H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t->data) >=
                 0))
            st = AXL_OK;
        if (sp >= 0)
            H5Sclose(sp);
    }
    H5E_END_TRY;
    if (st != AXL_OK && !w->err)
        w->err = errno;
    return st;
}

enum axl_status axl_outputs_close(struct axl_outputs *w, int commit, char *msg)
{
    if (!w)
        return AXL_OK;
    int bad = 0;
    errno = 0;
    H5E_BEGIN_TRY
    {
        for (size_t i = 0; i < w->n; i++)
            if (w->dsets[i] >= 0)
                bad |= H5Dclose(w->dsets[i]) < 0;
        if (w->file >= 0)
            bad |= H5Fclose(w->file) < 0;
    }
    H5E_END_TRY;
    enum axl_status st = AXL_OK;
    if (bad && !w->err)
        w->err = errno;
    if (commit && (bad || rename(w->tmp, w->path) != 0)) {
        char why[96];
        axl_h5_disk_error(bad ? w->err : errno, why, sizeof why);
        st = axl_msgf(msg, AXL_ERR_IO, "%s: cannot write the outputs file%s", w->path, why);
    }
    if (!commit || st != AXL_OK)
        unlink(w->tmp);
    free(w->dsets);
    free(w);
    return st;
}
