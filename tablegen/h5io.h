/* What the table writer (h5io.c) and the table reader (h5read.c) share: the
 * names of the attribute groups in a table file (tables/SCHEMA.md), the
 * memory types of /lut, and switching HDF5's own error printing off while
 * library code works (library code does not print). */
#ifndef AXLUT_TABLEGEN_H5IO_H
#define AXLUT_TABLEGEN_H5IO_H

#include <hdf5.h>
#include <stddef.h>

#include "h5attr.h"
#include "h5quiet.h"
#include "internal.h"

/* The six format groups of attributes: prefix and where it lives in info. */
#define AXL_H5_N_FMT 6
extern const char *const axl_h5_fmt_attr[AXL_H5_N_FMT];
struct axl_format *axl_h5_fmt_slot(struct axl_table_info *in, int i);

/* Metric attributes of /metrics: name and offset of a double or a count. */
struct axl_h5_metric {
    const char *name;
    size_t off;
    int is_count;
};
extern const struct axl_h5_metric axl_h5_metrics[];
extern const size_t axl_h5_n_metrics;

/* The native memory type of /lut entries of `bytes` bytes (1, 2 or 4). */
hid_t axl_h5_mem_uint_type(uint32_t bytes);



#endif
