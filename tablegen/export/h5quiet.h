/* HDF5 prints its own error stack on every failed call; axlut's one-line
 * messages say what is wrong, so readers and writers of HDF5 files switch
 * that printing off around their calls and restore it after.  Exported by
 * the tablegen layer to the layers above (the dataset reader). */
#ifndef AXLUT_TABLEGEN_H5QUIET_H
#define AXLUT_TABLEGEN_H5QUIET_H

#include <hdf5.h>

/* HDF5's error handler, saved while it is switched off. */
struct axl_h5_quiet {
    H5E_auto2_t func;
    void *data;
    int saved; /* 1 when printing was switched off (and must be restored) */
};

/* Switch HDF5's error printing off, saving the handler in q; -1 (nothing
 * changed) when HDF5 cannot. */
static inline int axl_h5_quiet_on(struct axl_h5_quiet *q)
{
    q->saved = H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data) >= 0 &&
               H5Eset_auto2(H5E_DEFAULT, NULL, NULL) >= 0;
    return q->saved ? 0 : -1;
}

/* Restore the handler saved by axl_h5_quiet_on (nothing when it switched
 * nothing off); -1 when HDF5 cannot. */
static inline int axl_h5_quiet_off(const struct axl_h5_quiet *q)
{
    return !q->saved || H5Eset_auto2(H5E_DEFAULT, q->func, q->data) >= 0 ? 0 : -1;
}

#endif
