/* Table files: the HDF5 writer (layout in tables/SCHEMA.md; the reader is
 * h5read.c).
 *
 * Explicit little-endian file types, native memory types, every call
 * checked, one cleanup block per function closing every handle.  The file
 * is written under a temporary name and renamed when complete, so a failure
 * leaves nothing behind.  HDF5's own error printing is switched off while we
 * work (library code does not print) and restored. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "h5io.h"
#include "tmpfile.h"

/* enum axl_op has no name table of its own yet (include/axlut/design.h) */

const char *const axl_h5_fmt_attr[AXL_H5_N_FMT] = {"a_format",       "b_format",
                                                   "result_format",  "table_a_format",
                                                   "table_b_format", "table_result_format"};

struct axl_format *axl_h5_fmt_slot(struct axl_table_info *in, int i)
{
    struct axl_format *s[AXL_H5_N_FMT] = {&in->fa, &in->fb, &in->fr, &in->ta, &in->tb, &in->tr};
    return s[i];
}

/* --- writing ------------------------------------------------------------- */

/* A scalar attribute `name` of file type ftype on loc, written from v; -1 on
 * any HDF5 failure (a close included). */

static int put_attr(hid_t loc, const char *name, hid_t ftype, hid_t mtype, const void *v)
{
    hid_t sp = -1, a = -1;
    int rc = -1;
    if ((sp = H5Screate(H5S_SCALAR)) < 0)
        goto fail;
    if ((a = H5Acreate2(loc, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT)) < 0)
        goto fail;
    if (H5Awrite(a, mtype, v) < 0)
        goto fail;
    rc = 0;
fail:
    rc |= axl_h5_close(a, H5Aclose);
    rc |= axl_h5_close(sp, H5Sclose);
    return rc;
}


/* A variable-length UTF-8 string attribute (h5attr.h), under a short name
 * beside the numeric writers. */
static int put_str(hid_t loc, const char *name, const char *s)
{
    return axl_h5_put_str(loc, name, s);
}

static int put_u32(hid_t loc, const char *name, uint32_t v)
{
    return put_attr(loc, name, H5T_STD_U32LE, H5T_NATIVE_UINT32, &v);
}
static int put_i32(hid_t loc, const char *name, int32_t v)
{
    return put_attr(loc, name, H5T_STD_I32LE, H5T_NATIVE_INT32, &v);
}
static int put_u64(hid_t loc, const char *name, uint64_t v)
{
    return put_attr(loc, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, &v);
}
static int put_f64(hid_t loc, const char *name, double v)
{
    return put_attr(loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v);
}

static int put_format(hid_t loc, const char *prefix, const struct axl_format *f)
{
    char n[64];
#define FIELD(suffix) (snprintf(n, sizeof n, "%s_%s", prefix, suffix), n)
    if (put_str(loc, prefix, f->name) < 0 ||
        put_str(loc, FIELD("kind"), axl_format_kind_name(f->kind < 3 ? f->kind : 0)) < 0 ||
        put_u32(loc, FIELD("bits"), f->bits) < 0 || put_u32(loc, FIELD("ebits"), f->ebits) < 0 ||
        put_u32(loc, FIELD("mbits"), f->mbits) < 0 || put_i32(loc, FIELD("bias"), f->bias) < 0 ||
        put_str(loc, FIELD("special"), axl_special_name(f->special < 4 ? f->special : 0)) < 0 ||
        put_u32(loc, FIELD("subnormals"), f->subnormals) < 0 ||
        put_str(loc, FIELD("overflow"), axl_overflow_name(f->overflow < 2 ? f->overflow : 0)) < 0)
        return -1;
#undef FIELD
    return 0;
}

#define MD(n, f) {n, offsetof(struct axl_metrics, f), 0}
#define MC(n, f) {n, offsetof(struct axl_metrics, f), 1}
const struct axl_h5_metric axl_h5_metrics[] = {
    MC("pairs", pairs), MC("compared", compared), MC("errors", errors),
    MC("nan_results", nan_results), MC("inf_results", inf_results),
    MC("exact_nonfinite", exact_nonfinite), MC("special_mismatch", special_mismatch),
    MC("rel_pairs", rel_pairs), MD("ep", ep), MD("mean_error", mean_error), MD("mae", mae),
    MD("mse", mse), MD("rmse", rmse), MD("wce", wce), MD("mred", mred), MD("wre", wre),
    MD("max_exact", max_exact), MD("nmed", nmed), MD("output_range", output_range),
    /* the EvoApprox8b forms, under that library's names */
    MD("MAE", mae), MD("WCE", wce), MD("MSE", mse), MD("EP%", ep_pct), MD("MRE%", mre_pct),
    MD("WCRE%", wcre_pct), MD("MAE%", mae_pct), MD("WCE%", wce_pct),
};
const size_t axl_h5_n_metrics = sizeof axl_h5_metrics / sizeof axl_h5_metrics[0];

static int put_metrics(hid_t g, const struct axl_metrics *m)
{
    for (size_t i = 0; i < axl_h5_n_metrics; i++) {
        const char *p = (const char *)m + axl_h5_metrics[i].off;
        if (axl_h5_metrics[i].is_count) {
            uint64_t v;
            memcpy(&v, p, sizeof v);
            if (put_u64(g, axl_h5_metrics[i].name, v) < 0)
                return -1;
        } else {
            double v;
            memcpy(&v, p, sizeof v);
            if (put_f64(g, axl_h5_metrics[i].name, v) < 0)
                return -1;
        }
    }
    if (m->samples) {
        const char *cn[5] = {"ci95_mean_error", "ci95_mae", "ci95_mse", "ci95_mred", "ci95_ep"};
        double cv[5] = {m->ci95_mean_error, m->ci95_mae, m->ci95_mse, m->ci95_mred, m->ci95_ep};
        if (put_u64(g, "samples", m->samples) < 0 || put_u64(g, "seed", m->seed) < 0)
            return -1;
        for (int i = 0; i < 5; i++)
            if (put_f64(g, cn[i], cv[i]) < 0)
                return -1;
    }
    uint32_t loc[4] = {m->wce_a, m->wce_b, m->wre_a, m->wre_b};
    const char *ln[4] = {"wce_a", "wce_b", "wre_a", "wre_b"};
    for (int i = 0; i < 4; i++)
        if (put_u32(g, ln[i], loc[i]) < 0)
            return -1;
    return 0;
}

static hid_t file_uint_type(uint32_t bytes)
{
    return bytes == 1 ? H5T_STD_U8LE : bytes == 2 ? H5T_STD_U16LE : H5T_STD_U32LE;
}
hid_t axl_h5_mem_uint_type(uint32_t bytes)
{
    return bytes == 1 ? H5T_NATIVE_UINT8 : bytes == 2 ? H5T_NATIVE_UINT16 : H5T_NATIVE_UINT32;
}

/* The dataset /lut: chunked, shuffled, deflated where HDF5 has zlib,
 * checksummed, with attributes saying what rows, columns and entries are. */
static int write_lut(hid_t f, const struct axl_table *t)
{
    const struct axl_table_info *in = &t->info;
    hsize_t dims[2] = {in->rows, in->cols};
    hsize_t chunk_rows = in->cols >= 65536 ? 1 : 65536 / in->cols;
    hsize_t chunk[2] = {chunk_rows < in->rows ? chunk_rows : in->rows, in->cols};
    hid_t sp = -1, dcpl = -1, ds = -1;
    int rc = -1;
    char note[128];
    if ((sp = H5Screate_simple(2, dims, NULL)) < 0 || (dcpl = H5Pcreate(H5P_DATASET_CREATE)) < 0)
        goto fail;
    if (H5Pset_chunk(dcpl, 2, chunk) < 0 || H5Pset_shuffle(dcpl) < 0)
        goto fail;
    htri_t deflate = H5Zfilter_avail(H5Z_FILTER_DEFLATE);
    if (deflate < 0 || (deflate > 0 && H5Pset_deflate(dcpl, 1) < 0))
        goto fail;
    if (H5Pset_fletcher32(dcpl) < 0)
        goto fail;
    if ((ds = H5Dcreate2(f, "lut", file_uint_type(in->entry_bytes), sp, H5P_DEFAULT, dcpl,
                         H5P_DEFAULT)) < 0)
        goto fail;
    if (H5Dwrite(ds, axl_h5_mem_uint_type(in->entry_bytes), H5S_ALL, H5S_ALL, H5P_DEFAULT,
                 t->data) < 0)
        goto fail;
    snprintf(note, sizeof note, "result code in %s", in->tr.name);
    if (put_str(ds, "rows", in->path == AXL_TABLE_FULL ? "code of operand a (activation)"
                                                        : "significand of a, hidden bit included") <
            0 ||
        put_str(ds, "columns", in->path == AXL_TABLE_FULL ? "code of operand b (weight)"
                                                           : "significand of b, hidden bit included") <
            0 ||
        put_str(ds, "entries", note) < 0)
        goto fail;
    rc = 0;
fail:
    rc |= axl_h5_close(ds, H5Dclose);
    rc |= axl_h5_close(dcpl, H5Pclose);
    rc |= axl_h5_close(sp, H5Sclose);
    return rc;
}

/* The dataset /error_histogram: the counts, their range and bin edges. */
static int write_hist(hid_t f, const struct axl_metrics *m)
{
    hsize_t n = AXL_TABLE_HIST_BINS, ne = AXL_TABLE_HIST_BINS + 1;
    double edges[AXL_TABLE_HIST_BINS + 1];
    double w = 2.0 * m->hist_range / AXL_TABLE_HIST_BINS;
    for (int i = 0; i <= AXL_TABLE_HIST_BINS; i++)
        edges[i] = -m->hist_range + i * w;
    hid_t sp = -1, ds = -1, esp = -1, a = -1;
    int rc = -1;
    if ((sp = H5Screate_simple(1, &n, NULL)) < 0 || (esp = H5Screate_simple(1, &ne, NULL)) < 0)
        goto fail;
    if ((ds = H5Dcreate2(f, "error_histogram", H5T_STD_U64LE, sp, H5P_DEFAULT, H5P_DEFAULT,
                         H5P_DEFAULT)) < 0)
        goto fail;
    if (H5Dwrite(ds, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, m->hist) < 0)
        goto fail;
    if (put_f64(ds, "range", m->hist_range) < 0 || put_f64(ds, "bin_width", w) < 0 ||
        put_str(ds, "description",
                "counts of (approximate - exact) over pairs with both results finite; bin i "
                "covers [edges[i], edges[i+1]), the last bin closed; edges = -range + i * "
                "bin_width; with range 0 every pair is in bin 32") < 0)
        goto fail;
    if ((a = H5Acreate2(ds, "edges", H5T_IEEE_F64LE, esp, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        H5Awrite(a, H5T_NATIVE_DOUBLE, edges) < 0)
        goto fail;
    rc = 0;
fail:
    rc |= axl_h5_close(a, H5Aclose);
    rc |= axl_h5_close(ds, H5Dclose);
    rc |= axl_h5_close(esp, H5Sclose);
    rc |= axl_h5_close(sp, H5Sclose);
    return rc;
}

/* The root attributes: provenance, design, parameters and the six formats. */
static int write_root(hid_t f, const struct axl_table_info *in)
{
    char gen[64];
    snprintf(gen, sizeof gen, "axlut %s", in->generator_version);
    if (put_u32(f, "schema_version", AXL_TABLE_SCHEMA_VERSION) < 0 ||
        put_str(f, "generator", gen) < 0 ||
        put_str(f, "generator_version", in->generator_version) < 0 ||
        put_str(f, "generator_commit", in->generator_commit) < 0 ||
        put_str(f, "created", in->created) < 0 || put_str(f, "design", in->design) < 0 ||
        put_str(f, "description", in->description) < 0 ||
        put_str(f, "citation", in->citation) < 0 ||
        put_u32(f, "design_version", in->design_version) < 0 ||
        put_str(f, "design_source_sha256", in->source_sha256) < 0 ||
        put_str(f, "op", axl_op_name(in->op < 2 ? (enum axl_op)in->op : AXL_OP_MUL)) < 0 ||
        put_str(f, "path", axl_table_path_name(in->path < 2 ? in->path : 0)) < 0 ||
        put_str(f, "core_design", in->core_design) < 0 ||
        put_str(f, "round", axl_round_name((enum axl_round)in->round)) < 0 ||
        put_str(f, "parameters", in->parameters) < 0 ||
        (in->block_format[0] && put_str(f, "block_format", in->block_format) < 0))
        return -1;
    for (uint32_t i = 0; i < in->nparams; i++) {
        char n[48];
        snprintf(n, sizeof n, "param_%s", in->param_names[i]);
        if (put_i32(f, n, in->param[i]) < 0)
            return -1;
    }
    for (int i = 0; i < AXL_H5_N_FMT; i++)
        if (put_format(f, axl_h5_fmt_attr[i], axl_h5_fmt_slot((struct axl_table_info *)in, i)) <
            0)
            return -1;
    return 0;
}

/* The whole table as a new HDF5 file `name`, closed; -1 with *what naming
 * the step that failed ("create", "write /lut to", ..., "close"). */
static int write_file(const char *name, const struct axl_table *t, const char **what)
{
    hid_t f = -1, g = -1;
    int rc = -1;
    *what = "create";
    if ((f = H5Fcreate(name, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT)) < 0)
        goto fail;
    *what = "write attributes to";
    if (write_root(f, &t->info) < 0)
        goto fail;
    *what = "write /lut to";
    if (t->data ? write_lut(f, t) < 0 : put_u32(f, "metrics_only", 1) < 0)
        goto fail;
    *what = "write /metrics to";
    if ((g = H5Gcreate2(f, "metrics", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        put_metrics(g, &t->info.metrics) < 0)
        goto fail;
    *what = "write /error_histogram to";
    if (write_hist(f, &t->info.metrics) < 0)
        goto fail;
    rc = 0;
    *what = "close";
fail:
    rc |= axl_h5_close(g, H5Gclose);
    rc |= axl_h5_close(f, H5Fclose);
    return rc;
}

void axl_file_io_init(void)
{
    H5dont_atexit();
    signal(SIGXFSZ, SIG_IGN);
}

enum axl_status axl_table_write(const struct axl_table *t, const char *path, int force,
                                char *msg)
{
    if (!force && access(path, F_OK) == 0) {
        return axl_msgf(msg, AXL_ERR_INVALID, "%s exists (use --force to overwrite)", path);
    }
    size_t plen = strlen(path) + 32;
    char *tmp = malloc(plen);
    if (!tmp)
        return AXL_ERR_NOMEM;
    axl_tmp_name(path, tmp, plen);
    axl_tmp_clean_stale(path); /* left by writers that were killed */
    struct axl_h5_quiet q;
    if (axl_h5_quiet_on(&q) < 0) {
        free(tmp);
        return axl_msgf(msg, AXL_ERR_IO, "%s: cannot switch HDF5's error printing off to write it",
                        path);
    }
    int quiet = 1;
    enum axl_status s = AXL_ERR_IO;
    const char *what = "create";
    int err = 0;
    errno = 0;
    if (write_file(tmp, t, &what) < 0) {
        err = errno;
        goto fail;
    }
    quiet = 0;
    if (axl_h5_quiet_off(&q) < 0) {
        s = axl_msgf(msg, AXL_ERR_IO, "%s: cannot restore HDF5's error printing after writing it",
                     path);
        goto cleanup;
    }
    what = "rename the finished table to";
    if (force) {
        if (rename(tmp, path) != 0)
            goto fail_errno;
    } else {
        /* link() refuses an existing name, so a file that appeared while we
         * worked is not overwritten either */
        if (link(tmp, path) != 0)
            goto fail_errno;
        unlink(tmp);
    }
    free(tmp);
    return AXL_OK;
fail_errno:
    if (errno == EEXIST) {
        s = axl_msgf(msg, AXL_ERR_INVALID, "%s exists (use --force to overwrite)", path);
    } else {
        s = axl_msgf(msg, AXL_ERR_IO, "%s: cannot %s it: %s", path, what, strerror(errno));
    }
    goto cleanup;
fail:
    {
        char why[96];
        axl_h5_disk_error(err, why, sizeof why);
        s = axl_msgf(msg, AXL_ERR_IO, "%s: cannot %s %s%s", path, what,
                     what[0] == 'c' && what[1] == 'r' ? "it" : "the file",
                     *why ? why : " (HDF5 error; is the directory writable?)");
    }
cleanup:
    unlink(tmp);
    /* the failure above is the one reported: a handler that cannot be
     * restored on top of it adds nothing the caller could act on */
    if (quiet)
        (void)axl_h5_quiet_off(&q);
    free(tmp);
    return s;
}
