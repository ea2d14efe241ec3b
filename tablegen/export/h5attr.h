/* String attributes of HDF5 objects, as every axlut file writes them
 * (variable-length UTF-8, so that h5py reads them as str) and reads them
 * (variable or fixed length), and the close that keeps a failure.
 * Exported by the tablegen layer to the layers above (outputs, training
 * checkpoints). */
#ifndef AXLUT_TABLEGEN_H5ATTR_H
#define AXLUT_TABLEGEN_H5ATTR_H

#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Closes id with close when it is valid; -1 when that close fails, so that
 * a writer's `rc |= axl_h5_close(...)` keeps its -1. */
static inline int axl_h5_close(hid_t id, herr_t (*close)(hid_t))
{
    return id >= 0 && close(id) < 0 ? -1 : 0;
}

/* " (No space left on device)" into buf for the errno values of a full
 * disk, a size limit or an I/O error that a failed HDF5 write leaves
 * behind; "" for others (HDF5 sets no errno of its own). */
static inline const char *axl_h5_disk_error(int err, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (err == ENOSPC || err == EFBIG || err == EDQUOT || err == EIO)
        snprintf(buf, cap, " (%s)", strerror(err));
    return buf;
}

/* A scalar variable-length UTF-8 string attribute name = value on loc; 0,
 * or -1 on any HDF5 failure. */
static inline int axl_h5_put_str(hid_t loc, const char *name, const char *value)
{
    hid_t t = -1, sp = -1, a = -1;
    int rc = -1;
    if ((t = H5Tcopy(H5T_C_S1)) >= 0 && H5Tset_size(t, H5T_VARIABLE) >= 0 &&
        H5Tset_cset(t, H5T_CSET_UTF8) >= 0 && (sp = H5Screate(H5S_SCALAR)) >= 0 &&
        (a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
        H5Awrite(a, t, &value) >= 0)
        rc = 0;
    rc |= axl_h5_close(a, H5Aclose);
    rc |= axl_h5_close(sp, H5Sclose);
    rc |= axl_h5_close(t, H5Tclose);
    return rc;
}

/* The scalar string attribute `name` of loc into out (cap bytes,
 * truncated): 1; 0 when there is none; -1 when it is not a readable string. */
static inline int axl_h5_get_str(hid_t loc, const char *name, char *out, size_t cap)
{
    out[0] = 0;
    if (H5Aexists(loc, name) <= 0)
        return 0;
    int ok = 0;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT), t = a >= 0 ? H5Aget_type(a) : -1;
    hid_t sp = a >= 0 ? H5Aget_space(a) : -1, mt = H5Tcopy(H5T_C_S1);
    htri_t var = t >= 0 ? H5Tis_variable_str(t) : -1;
    if (sp >= 0 && mt >= 0 && var >= 0 && H5Tget_class(t) == H5T_STRING &&
        H5Sget_simple_extent_npoints(sp) == 1) {
        if (var) {
            char *v = NULL;
            ok = H5Tset_size(mt, H5T_VARIABLE) >= 0 && H5Tset_cset(mt, H5Tget_cset(t)) >= 0 &&
                 H5Aread(a, mt, &v) >= 0;
            if (ok)
                snprintf(out, cap, "%s", v ? v : "");
            H5free_memory(v);
        } else {
            size_t n = H5Tget_size(t);
            char *v = calloc(n + 1, 1);
            ok = v && H5Tset_size(mt, n + 1) >= 0 && H5Aread(a, mt, v) >= 0;
            if (ok)
                snprintf(out, cap, "%s", v);
            free(v);
        }
    }
    (void)axl_h5_close(mt, H5Tclose);
    (void)axl_h5_close(sp, H5Sclose);
    (void)axl_h5_close(t, H5Tclose);
    (void)axl_h5_close(a, H5Aclose);
    return ok ? 1 : -1;
}

#endif
