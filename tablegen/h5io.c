/* Table files: HDF5 writer and validating reader (layout in
 * tables/SCHEMA.md).
 *
 * Explicit little-endian file types, native memory types, every call
 * checked, one cleanup block per function.  HDF5's own error printing is
 * switched off while we work (library code does not print) and restored. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* enum axl_op has no name table of its own yet (include/axlut/design.h) */

/* The six format groups of attributes: prefix and where it lives in info. */
#define N_FMT 6
static const char *const k_fmt_attr[N_FMT] = {"a_format",       "b_format",       "result_format",
                                              "table_a_format", "table_b_format",
                                              "table_result_format"};

static struct axl_format *fmt_slot(struct axl_table_info *in, int i)
{
    struct axl_format *s[N_FMT] = {&in->fa, &in->fb, &in->fr, &in->ta, &in->tb, &in->tr};
    return s[i];
}

struct h5_quiet {
    H5E_auto2_t func;
    void *data;
};

static void quiet_on(struct h5_quiet *q)
{
    H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static void quiet_off(const struct h5_quiet *q) { H5Eset_auto2(H5E_DEFAULT, q->func, q->data); }

/* --- writing ------------------------------------------------------------- */

static int put_attr(hid_t loc, const char *name, hid_t ftype, hid_t mtype, const void *v)
{
    hid_t sp = H5Screate(H5S_SCALAR), a = -1;
    int rc = -1;
    if (sp < 0)
        return -1;
    if ((a = H5Acreate2(loc, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT)) < 0)
        goto fail;
    if (H5Awrite(a, mtype, v) < 0)
        goto fail;
    rc = 0;
fail:
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(sp);
    return rc;
}

static int put_str(hid_t loc, const char *name, const char *s)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    int rc = -1;
    if (t < 0)
        return -1;
    if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0)
        goto fail;
    rc = put_attr(loc, name, t, t, &s);
fail:
    H5Tclose(t);
    return rc;
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

/* Metric attributes of /metrics: name and offset of a double or a count. */
struct metric_field {
    const char *name;
    size_t off;
    int is_count;
};

#define MD(n, f) {n, offsetof(struct axl_metrics, f), 0}
#define MC(n, f) {n, offsetof(struct axl_metrics, f), 1}
static const struct metric_field k_metrics[] = {
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
#define N_METRICS (sizeof k_metrics / sizeof k_metrics[0])

static int put_metrics(hid_t g, const struct axl_metrics *m)
{
    for (size_t i = 0; i < N_METRICS; i++) {
        const char *p = (const char *)m + k_metrics[i].off;
        if (k_metrics[i].is_count) {
            uint64_t v;
            memcpy(&v, p, sizeof v);
            if (put_u64(g, k_metrics[i].name, v) < 0)
                return -1;
        } else {
            double v;
            memcpy(&v, p, sizeof v);
            if (put_f64(g, k_metrics[i].name, v) < 0)
                return -1;
        }
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
static hid_t mem_uint_type(uint32_t bytes)
{
    return bytes == 1 ? H5T_NATIVE_UINT8 : bytes == 2 ? H5T_NATIVE_UINT16 : H5T_NATIVE_UINT32;
}

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
    if (H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0 && H5Pset_deflate(dcpl, 1) < 0)
        goto fail;
    if (H5Pset_fletcher32(dcpl) < 0)
        goto fail;
    if ((ds = H5Dcreate2(f, "lut", file_uint_type(in->entry_bytes), sp, H5P_DEFAULT, dcpl,
                         H5P_DEFAULT)) < 0)
        goto fail;
    if (H5Dwrite(ds, mem_uint_type(in->entry_bytes), H5S_ALL, H5S_ALL, H5P_DEFAULT, t->data) < 0)
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
    if (ds >= 0)
        H5Dclose(ds);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (sp >= 0)
        H5Sclose(sp);
    return rc;
}

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
    if (a >= 0)
        H5Aclose(a);
    if (ds >= 0)
        H5Dclose(ds);
    if (esp >= 0)
        H5Sclose(esp);
    if (sp >= 0)
        H5Sclose(sp);
    return rc;
}

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
        put_str(f, "parameters", in->parameters) < 0)
        return -1;
    for (uint32_t i = 0; i < in->nparams; i++) {
        char n[48];
        snprintf(n, sizeof n, "param_%s", in->param_names[i]);
        if (put_i32(f, n, in->param[i]) < 0)
            return -1;
    }
    for (int i = 0; i < N_FMT; i++)
        if (put_format(f, k_fmt_attr[i], fmt_slot((struct axl_table_info *)in, i)) < 0)
            return -1;
    return 0;
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
    snprintf(tmp, plen, "%s.tmp%ld", path, (long)getpid());
    struct h5_quiet q;
    quiet_on(&q);
    enum axl_status s = AXL_ERR_IO;
    const char *what = "create";
    hid_t f = -1, g = -1;
    if ((f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT)) < 0)
        goto fail;
    what = "write attributes to";
    if (write_root(f, &t->info) < 0)
        goto fail;
    what = "write /lut to";
    if (write_lut(f, t) < 0)
        goto fail;
    what = "write /metrics to";
    if ((g = H5Gcreate2(f, "metrics", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        put_metrics(g, &t->info.metrics) < 0)
        goto fail;
    what = "write /error_histogram to";
    if (write_hist(f, &t->info.metrics) < 0)
        goto fail;
    H5Gclose(g);
    g = -1;
    what = "close";
    herr_t cr = H5Fclose(f);
    f = -1;
    if (cr < 0)
        goto fail;
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
    quiet_off(&q);
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
    s = axl_msgf(msg, AXL_ERR_IO, "%s: cannot %s %s (HDF5 error; is the directory writable?)", path,
                 what, what[0] == 'c' && what[1] == 'r' ? "it" : "the file");
cleanup:
    if (g >= 0)
        H5Gclose(g);
    if (f >= 0)
        H5Fclose(f);
    unlink(tmp);
    quiet_off(&q);
    free(tmp);
    return s;
}

static htri_t is_hdf5(const char *path)
{
#if H5_VERSION_GE(1, 12, 0)
    return H5Fis_accessible(path, H5P_DEFAULT);
#else
    return H5Fis_hdf5(path);
#endif
}

/* --- reading ------------------------------------------------------------- */

struct rd {
    const char *path;
    char *msg;
};

static enum axl_status missing(struct rd *r, const char *obj, const char *name, const char *why)
{
    return axl_msgf(r->msg, AXL_ERR_FORMAT, "%s: not a valid axlut table: %s%s%s %s", r->path, obj,
                    obj[0] ? "/" : "", name, why);
}

static enum axl_status get_str(struct rd *r, hid_t loc, const char *obj, const char *name,
                               char *out, size_t cap)
{
    enum axl_status s = AXL_ERR_FORMAT;
    hid_t a = -1, t = -1, mt = -1, sp = -1;
    if (H5Aexists(loc, name) <= 0)
        return missing(r, obj, name, "attribute is missing");
    if ((a = H5Aopen(loc, name, H5P_DEFAULT)) < 0 || (t = H5Aget_type(a)) < 0 ||
        (sp = H5Aget_space(a)) < 0)
        goto bad;
    if (H5Tget_class(t) != H5T_STRING || H5Sget_simple_extent_npoints(sp) != 1)
        goto bad;
    htri_t var = H5Tis_variable_str(t);
    if (var < 0 || (mt = H5Tcopy(H5T_C_S1)) < 0)
        goto bad;
    if (var) {
        char *v = NULL;
        if (H5Tset_size(mt, H5T_VARIABLE) < 0 || H5Tset_cset(mt, H5Tget_cset(t)) < 0 ||
            H5Aread(a, mt, &v) < 0)
            goto bad;
        snprintf(out, cap, "%s", v ? v : "");
        H5free_memory(v);
    } else {
        size_t n = H5Tget_size(t);
        char *v = calloc(n + 1, 1);
        if (!v || H5Tset_size(mt, n + 1) < 0 || H5Aread(a, mt, v) < 0) {
            free(v);
            goto bad;
        }
        snprintf(out, cap, "%s", v);
        free(v);
    }
    s = AXL_OK;
    goto done;
bad:
    s = missing(r, obj, name, "attribute is not a readable string");
done:
    if (mt >= 0)
        H5Tclose(mt);
    if (sp >= 0)
        H5Sclose(sp);
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    return s;
}

/* A scalar numeric attribute read through HDF5's conversion to `mtype`. */
static enum axl_status get_num(struct rd *r, hid_t loc, const char *obj, const char *name,
                               hid_t mtype, void *out)
{
    enum axl_status s = AXL_ERR_FORMAT;
    hid_t a = -1, t = -1, sp = -1;
    if (H5Aexists(loc, name) <= 0)
        return missing(r, obj, name, "attribute is missing");
    if ((a = H5Aopen(loc, name, H5P_DEFAULT)) < 0 || (t = H5Aget_type(a)) < 0 ||
        (sp = H5Aget_space(a)) < 0)
        goto bad;
    H5T_class_t c = H5Tget_class(t);
    if ((c != H5T_INTEGER && c != H5T_FLOAT) || H5Sget_simple_extent_npoints(sp) != 1)
        goto bad;
    if (H5Aread(a, mtype, out) < 0)
        goto bad;
    s = AXL_OK;
    goto done;
bad:
    s = missing(r, obj, name, "attribute is not a readable number");
done:
    if (sp >= 0)
        H5Sclose(sp);
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    return s;
}

/* A format name: the parser's grammar, or int<N>/uint<N> up to 32 bits
 * (wide integer results of integer multipliers). */
static int parse_format(const char *name, struct axl_format *f)
{
    if (axl_format_parse(name, f, NULL) == AXL_OK)
        return 0;
    unsigned n;
    char tail;
    int is_u = !strncmp(name, "uint", 4);
    const char *digits = is_u ? name + 4 : !strncmp(name, "int", 3) ? name + 3 : NULL;
    if (!digits || sscanf(digits, "%u%c", &n, &tail) != 1 || n < 1 || n > 32)
        return -1;
    *f = axl_tg_uint_format(n);
    if (!is_u) {
        f->kind = AXL_KIND_INT;
        snprintf(f->name, sizeof f->name, "int%u", n);
    }
    return 0;
}

static enum axl_status get_format(struct rd *r, hid_t f, const char *prefix,
                                  struct axl_format *out)
{
    char name[AXL_FORMAT_NAME_LEN + 8], s[32], n[64];
    enum axl_status st;
    if ((st = get_str(r, f, "", prefix, name, sizeof name)) != AXL_OK)
        return st;
    if (parse_format(name, out) < 0) {
        return axl_msgf(r->msg, AXL_ERR_FORMAT,
                        "%s: not a valid axlut table: %s '%s' is not a format", r->path, prefix,
                        name);
    }
    /* the fields must agree with the name (integers: kind and width) */
    uint32_t bits, ebits, mbits, sub;
    int32_t bias;
#define FIELD(suffix) (snprintf(n, sizeof n, "%s_%s", prefix, suffix), n)
    if ((st = get_str(r, f, "", FIELD("kind"), s, sizeof s)) != AXL_OK)
        return st;
    enum axl_format_kind kind;
    if (axl_format_kind_parse(s, &kind) != AXL_OK || kind != out->kind)
        goto differs;
    if ((st = get_num(r, f, "", FIELD("bits"), H5T_NATIVE_UINT32, &bits)) != AXL_OK)
        return st;
    if (bits != out->bits)
        goto differs;
    if (out->kind != AXL_KIND_FLOAT)
        return AXL_OK;
    if ((st = get_num(r, f, "", FIELD("ebits"), H5T_NATIVE_UINT32, &ebits)) != AXL_OK ||
        (st = get_num(r, f, "", FIELD("mbits"), H5T_NATIVE_UINT32, &mbits)) != AXL_OK ||
        (st = get_num(r, f, "", FIELD("bias"), H5T_NATIVE_INT32, &bias)) != AXL_OK ||
        (st = get_num(r, f, "", FIELD("subnormals"), H5T_NATIVE_UINT32, &sub)) != AXL_OK)
        return st;
    if (ebits != out->ebits || mbits != out->mbits || bias != out->bias ||
        sub != out->subnormals)
        goto differs;
    if ((st = get_str(r, f, "", FIELD("special"), s, sizeof s)) != AXL_OK)
        return st;
    enum axl_special special;
    if (axl_special_parse(s, &special) != AXL_OK || special != out->special)
        goto differs;
    if ((st = get_str(r, f, "", FIELD("overflow"), s, sizeof s)) != AXL_OK)
        return st;
    enum axl_overflow overflow;
    if (axl_overflow_parse(s, &overflow) != AXL_OK || overflow != out->overflow)
        goto differs;
    return AXL_OK;
differs:
    return axl_msgf(r->msg, AXL_ERR_FORMAT,
                    "%s: not a valid axlut table: %s does not match the format %s", r->path, n,
                    name);
#undef FIELD
}

static enum axl_status read_info(struct rd *r, hid_t f, struct axl_table_info *in)
{
    enum axl_status st;
    uint32_t ver;
    char s[64];
    memset(in, 0, sizeof *in);
    if (H5Aexists(f, "schema_version") <= 0 || H5Aexists(f, "design") <= 0) {
        return axl_msgf(r->msg, AXL_ERR_FORMAT,
                        "%s: not an axlut table (no schema_version or design attribute)", r->path);
    }
    if ((st = get_num(r, f, "", "schema_version", H5T_NATIVE_UINT32, &ver)) != AXL_OK)
        return st;
    if (ver != AXL_TABLE_SCHEMA_VERSION) {
        return axl_msgf(r->msg, AXL_ERR_FORMAT,
                        "%s: schema_version %u is not known to this axlut (it reads %d)", r->path,
                        ver, AXL_TABLE_SCHEMA_VERSION);
    }
    struct {
        const char *name;
        char *out;
        size_t cap;
    } strs[] = {
        {"design", in->design, sizeof in->design},
        {"description", in->description, sizeof in->description},
        {"citation", in->citation, sizeof in->citation},
        {"design_source_sha256", in->source_sha256, sizeof in->source_sha256},
        {"core_design", in->core_design, sizeof in->core_design},
        {"parameters", in->parameters, sizeof in->parameters},
        {"generator_version", in->generator_version, sizeof in->generator_version},
        {"generator_commit", in->generator_commit, sizeof in->generator_commit},
        {"created", in->created, sizeof in->created},
    };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if ((st = get_str(r, f, "", strs[i].name, strs[i].out, strs[i].cap)) != AXL_OK)
            return st;
    if ((st = get_num(r, f, "", "design_version", H5T_NATIVE_UINT32, &in->design_version)) !=
        AXL_OK)
        return st;
    if ((st = get_str(r, f, "", "op", s, sizeof s)) != AXL_OK)
        return st;
    enum axl_op op;
    if (axl_op_parse(s, &op) != AXL_OK)
        return missing(r, "", "op", "is neither mul nor add");
    in->op = (uint32_t)op;
    if ((st = get_str(r, f, "", "path", s, sizeof s)) != AXL_OK)
        return st;
    enum axl_table_path path;
    if (axl_table_path_parse(s, &path) != AXL_OK)
        return missing(r, "", "path", "is neither full nor mantissa");
    in->path = (uint32_t)path;
    enum axl_round rm;
    if ((st = get_str(r, f, "", "round", s, sizeof s)) != AXL_OK)
        return st;
    if (axl_round_parse(s, &rm) != AXL_OK)
        return missing(r, "", "round", "is not a rounding mode");
    in->round = rm;
    /* parameters: "k=4,n=2", each also an integer attribute param_<name> */
    char plist[AXL_TABLE_STR];
    snprintf(plist, sizeof plist, "%s", in->parameters);
    for (char *save = NULL, *tok = strtok_r(plist, ",", &save); tok && in->nparams < AXL_DESIGN_MAX_PARAMS;
         tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq)
            return missing(r, "", "parameters", "is not a list of name=value");
        *eq = '\0';
        char an[48];
        snprintf(in->param_names[in->nparams], sizeof in->param_names[0], "%s", tok);
        snprintf(an, sizeof an, "param_%s", tok);
        if ((st = get_num(r, f, "", an, H5T_NATIVE_INT32, &in->param[in->nparams])) != AXL_OK)
            return st;
        in->nparams++;
    }
    for (int i = 0; i < N_FMT; i++)
        if ((st = get_format(r, f, k_fmt_attr[i], fmt_slot(in, i))) != AXL_OK)
            return st;
    if (in->path == AXL_TABLE_FULL) {
        if (!axl_format_equal(&in->fa, &in->ta) || !axl_format_equal(&in->fb, &in->tb) ||
            !axl_format_equal(&in->fr, &in->tr))
            return missing(r, "", "table_a_format", "(or b, result) differs from the unit's "
                                                    "formats in a full table");
    } else {
        if (in->fa.kind != AXL_KIND_FLOAT || in->fb.kind != AXL_KIND_FLOAT ||
            in->ta.kind != AXL_KIND_UINT || in->tb.kind != AXL_KIND_UINT ||
            in->ta.bits != in->fa.mbits + 1u || in->tb.bits != in->fb.mbits + 1u)
            return missing(r, "", "table_a_format", "(or b) is not the significand width of "
                                                    "a mantissa table");
        if (!in->core_design[0])
            return missing(r, "", "core_design", "is empty in a mantissa table");
    }
    char m2[AXL_MSG_LEN];
    if (in->ta.bits > 16 || in->tb.bits > 16 || axl_tg_finish_info(in, m2) != AXL_OK)
        return missing(r, "", "table_a_format", "(or b) is too wide for a table");
    return AXL_OK;
}

static enum axl_status read_metrics(struct rd *r, hid_t f, struct axl_metrics *m)
{
    enum axl_status st;
    hid_t g = -1, ds = -1, sp = -1, a = -1;
    if (H5Lexists(f, "metrics", H5P_DEFAULT) <= 0 || (g = H5Gopen2(f, "metrics", H5P_DEFAULT)) < 0)
        return missing(r, "", "metrics", "group is missing");
    for (size_t i = 0; i < N_METRICS; i++) {
        char *p = (char *)m + k_metrics[i].off;
        st = get_num(r, g, "/metrics", k_metrics[i].name,
                     k_metrics[i].is_count ? H5T_NATIVE_UINT64 : H5T_NATIVE_DOUBLE, p);
        if (st != AXL_OK)
            goto out;
    }
    const char *ln[4] = {"wce_a", "wce_b", "wre_a", "wre_b"};
    uint32_t *lp[4] = {&m->wce_a, &m->wce_b, &m->wre_a, &m->wre_b};
    for (int i = 0; i < 4; i++)
        if ((st = get_num(r, g, "/metrics", ln[i], H5T_NATIVE_UINT32, lp[i])) != AXL_OK)
            goto out;
    st = AXL_ERR_FORMAT;
    if (H5Lexists(f, "error_histogram", H5P_DEFAULT) <= 0 ||
        (ds = H5Dopen2(f, "error_histogram", H5P_DEFAULT)) < 0 || (sp = H5Dget_space(ds)) < 0 ||
        H5Sget_simple_extent_ndims(sp) != 1 ||
        H5Sget_simple_extent_npoints(sp) != AXL_TABLE_HIST_BINS ||
        H5Dread(ds, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, m->hist) < 0) {
        st = missing(r, "", "error_histogram", "is missing or not 64 counts");
        goto out;
    }
    if ((st = get_num(r, ds, "/error_histogram", "range", H5T_NATIVE_DOUBLE, &m->hist_range)) !=
        AXL_OK)
        goto out;
    st = AXL_OK;
out:
    if (a >= 0)
        H5Aclose(a);
    if (sp >= 0)
        H5Sclose(sp);
    if (ds >= 0)
        H5Dclose(ds);
    H5Gclose(g);
    return st;
}

/* Opens /lut and checks its shape and type; reads it when data != NULL. */
static enum axl_status read_lut(struct rd *r, hid_t f, const struct axl_table_info *in,
                                void *data)
{
    enum axl_status st = AXL_ERR_FORMAT;
    hid_t ds = -1, sp = -1, t = -1;
    hsize_t dims[2];
    if (H5Lexists(f, "lut", H5P_DEFAULT) <= 0 || (ds = H5Dopen2(f, "lut", H5P_DEFAULT)) < 0) {
        st = missing(r, "", "lut", "dataset is missing");
        goto out;
    }
    if ((sp = H5Dget_space(ds)) < 0 || (t = H5Dget_type(ds)) < 0)
        goto bad;
    if (H5Sget_simple_extent_ndims(sp) != 2 || H5Sget_simple_extent_dims(sp, dims, NULL) < 0) {
        st = missing(r, "", "lut", "is not a 2-D dataset");
        goto out;
    }
    if (dims[0] != in->rows || dims[1] != in->cols) {
        st =
            axl_msgf(r->msg, AXL_ERR_FORMAT,
                     "%s: not a valid axlut table: /lut is %llu x %llu but the formats %s x %s "
                     "need %llu x %llu",
                     r->path, (unsigned long long)dims[0], (unsigned long long)dims[1], in->ta.name,
                     in->tb.name, (unsigned long long)in->rows, (unsigned long long)in->cols);
        goto out;
    }
    if (H5Tget_class(t) != H5T_INTEGER || H5Tget_sign(t) != H5T_SGN_NONE ||
        H5Tget_size(t) != in->entry_bytes) {
        st = axl_msgf(r->msg, AXL_ERR_FORMAT,
                      "%s: not a valid axlut table: /lut entries must be %u-byte unsigned integers "
                      "for results in %s",
                      r->path, in->entry_bytes * 8u, in->tr.name);
        goto out;
    }
    if (data) {
        if (H5Dread(ds, mem_uint_type(in->entry_bytes), H5S_ALL, H5S_ALL, H5P_DEFAULT, data) <
            0) {
            st = axl_msgf(r->msg, AXL_ERR_FORMAT,
                          "%s: /lut cannot be read (truncated or corrupt file: checksum or "
                          "decompression failed)",
                          r->path);
            goto out;
        }
        if (in->tr.bits < 32) {
            uint64_t n = in->rows * in->cols;
            for (uint64_t i = 0; i < n; i++)
                if (axl_entry_get(data, in->entry_bytes, i) >> in->tr.bits) {
                    st = axl_msgf(r->msg, AXL_ERR_FORMAT,
                                  "%s: not a valid axlut table: /lut[%llu][%llu] = 0x%x is not a "
                                  "code of %s",
                                  r->path, (unsigned long long)(i / in->cols),
                                  (unsigned long long)(i % in->cols),
                                  axl_entry_get(data, in->entry_bytes, i), in->tr.name);
                    goto out;
                }
        }
    }
    st = AXL_OK;
    goto out;
bad:
    st = missing(r, "", "lut", "cannot be opened");
out:
    if (t >= 0)
        H5Tclose(t);
    if (sp >= 0)
        H5Sclose(sp);
    if (ds >= 0)
        H5Dclose(ds);
    return st;
}

static enum axl_status load(const char *path, struct axl_table_info *in, struct axl_table **out,
                            char *msg)
{
    struct rd r = {path, msg};
    struct h5_quiet q;
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        return axl_msgf(msg, AXL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    fclose(probe);
    quiet_on(&q);
    enum axl_status st = AXL_ERR_FORMAT;
    struct axl_table *t = NULL;
    hid_t f = -1;
    if (is_hdf5(path) <= 0 ||
        (f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0) {
        st = axl_msgf(msg, AXL_ERR_FORMAT, "%s: not an HDF5 file (or a truncated one)", path);
        goto out;
    }
    if ((st = read_info(&r, f, in)) != AXL_OK || (st = read_metrics(&r, f, &in->metrics)) != AXL_OK)
        goto out;
    if (out) {
        st = AXL_ERR_NOMEM;
        if (!(t = calloc(1, sizeof *t)) ||
            !(t->data = malloc(in->rows * in->cols * in->entry_bytes))) {
            st = axl_msgf(msg, AXL_ERR_NOMEM, "%s: out of memory for its table", path);
            goto out;
        }
        t->info = *in;
    }
    if ((st = read_lut(&r, f, in, t ? t->data : NULL)) != AXL_OK)
        goto out;
    if (out) {
        *out = t;
        t = NULL;
    }
out:
    axl_table_free(t);
    if (f >= 0)
        H5Fclose(f);
    quiet_off(&q);
    return st;
}

enum axl_status axl_table_load(const char *path, struct axl_table **out, char *msg)
{
    struct axl_table_info in;
    *out = NULL;
    return load(path, &in, out, msg);
}

enum axl_status axl_table_load_info(const char *path, struct axl_table_info *out, char *msg)
{
    return load(path, out, NULL, msg);
}
