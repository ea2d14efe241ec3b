/* Table files: the validating HDF5 reader (layout in tables/SCHEMA.md; the
 * writer is h5io.c), run in a child process by read_child.c.
 *
 * Every attribute the schema names is checked for presence, type and
 * agreement with the others before a table is handed out; a file that fails
 * is refused with one line naming the file and the attribute.  HDF5's own
 * error printing is switched off while we work and restored. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "h5io.h"

/* >0 when path is an HDF5 file (the call was renamed in HDF5 1.12). */
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
    uint64_t file_size;
};

static enum axl_status missing(struct rd *r, const char *obj, const char *name, const char *why)
{
    return axl_msgf(r->msg, AXL_ERR_FORMAT, "%s: not a valid axlut table: %s%s%s %s", r->path, obj,
                    obj[0] ? "/" : "", name, why);
}

static enum axl_status get_str(struct rd *r, hid_t loc, const char *obj, const char *name,
                               char *out, size_t cap)
{
    int got = axl_h5_get_str(loc, name, out, cap);
    if (got == 0)
        return missing(r, obj, name, "attribute is missing");
    if (got < 0)
        return missing(r, obj, name, "attribute is not a readable string");
    return AXL_OK;
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
    (void)axl_h5_close(sp, H5Sclose);
    (void)axl_h5_close(t, H5Tclose);
    (void)axl_h5_close(a, H5Aclose);
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
    /* optional: tables of no block-scaled format (and older files) lack it */
    in->block_format[0] = '\0';
    if (H5Aexists(f, "block_format") > 0 &&
        (st = get_str(r, f, "", "block_format", in->block_format, sizeof in->block_format)) !=
            AXL_OK)
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
    for (int i = 0; i < AXL_H5_N_FMT; i++)
        if ((st = get_format(r, f, axl_h5_fmt_attr[i], axl_h5_fmt_slot(in, i))) != AXL_OK)
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
    if (H5Aexists(f, "metrics_only") > 0) {
        /* a characterisation without /lut: sampled formats may be wider */
        if ((st = get_num(r, f, "", "metrics_only", H5T_NATIVE_UINT32, &in->metrics_only)) !=
            AXL_OK)
            return st;
        if (in->ta.bits > 32 || in->tb.bits > 32)
            return missing(r, "", "table_a_format", "(or b) is wider than 32 bits");
        in->rows = (uint64_t)1 << in->ta.bits;
        in->cols = (uint64_t)1 << in->tb.bits;
        in->entry_bytes = in->tr.bits <= 8 ? 1 : in->tr.bits <= 16 ? 2 : 4;
        return AXL_OK;
    }
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
    for (size_t i = 0; i < axl_h5_n_metrics; i++) {
        char *p = (char *)m + axl_h5_metrics[i].off;
        st = get_num(r, g, "/metrics", axl_h5_metrics[i].name,
                     axl_h5_metrics[i].is_count ? H5T_NATIVE_UINT64 : H5T_NATIVE_DOUBLE, p);
        if (st != AXL_OK)
            goto out;
    }
    if (H5Aexists(g, "samples") > 0) {
        const char *cn[5] = {"ci95_mean_error", "ci95_mae", "ci95_mse", "ci95_mred", "ci95_ep"};
        double *cv[5] = {&m->ci95_mean_error, &m->ci95_mae, &m->ci95_mse, &m->ci95_mred,
                         &m->ci95_ep};
        if ((st = get_num(r, g, "/metrics", "samples", H5T_NATIVE_UINT64, &m->samples)) !=
                AXL_OK ||
            (st = get_num(r, g, "/metrics", "seed", H5T_NATIVE_UINT64, &m->seed)) != AXL_OK)
            goto out;
        for (int i = 0; i < 5; i++)
            if ((st = get_num(r, g, "/metrics", cn[i], H5T_NATIVE_DOUBLE, cv[i])) != AXL_OK)
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
    (void)axl_h5_close(a, H5Aclose);
    (void)axl_h5_close(sp, H5Sclose);
    (void)axl_h5_close(ds, H5Dclose);
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
    /* A corrupt dataspace can claim gigabytes that the file does not hold,
     * and HDF5 would fill the missing chunks with zeros: the bytes stored
     * must be in the file and, deflated at most 1032:1 (deflate's limit),
     * hold the whole table. */
    uint64_t need = in->rows * in->cols * in->entry_bytes;
    hsize_t stored = H5Dget_storage_size(ds);
    if (stored == 0 || stored > r->file_size || stored * 1032u < need) {
        st = axl_msgf(r->msg, AXL_ERR_FORMAT,
                      "%s: not a valid axlut table: /lut stores %llu bytes, which cannot hold "
                      "%llu x %llu entries (truncated or corrupt file)",
                      r->path, (unsigned long long)stored, (unsigned long long)in->rows,
                      (unsigned long long)in->cols);
        goto out;
    }
    if (data) {
        if (H5Dread(ds, axl_h5_mem_uint_type(in->entry_bytes), H5S_ALL, H5S_ALL, H5P_DEFAULT, data) <
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
    (void)axl_h5_close(t, H5Tclose);
    (void)axl_h5_close(sp, H5Sclose);
    (void)axl_h5_close(ds, H5Dclose);
    return st;
}

enum axl_status axl_tg_table_read(const char *path, struct axl_table_info *in,
                                  struct axl_table **out, char *msg)
{
    struct rd r = {path, msg, 0};
    struct axl_h5_quiet q;
    struct stat sb;
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        return axl_msgf(msg, AXL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    int st_ok = fstat(fileno(probe), &sb) == 0;
    fclose(probe);
    if (!st_ok || !S_ISREG(sb.st_mode))
        return axl_msgf(msg, AXL_ERR_IO, "%s: not a regular file", path);
    r.file_size = (uint64_t)sb.st_size;
    if (axl_h5_quiet_on(&q) < 0)
        return axl_msgf(msg, AXL_ERR_IO, "%s: cannot switch HDF5's error printing off to read it",
                        path);
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
    if (in->metrics_only) {
        st = out ? axl_msgf(msg, AXL_ERR_FORMAT,
                            "%s holds only the metrics of %s (axlut gen --metrics-only), no "
                            "table to evaluate with", path, in->design)
                 : AXL_OK;
        goto out;
    }
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
    (void)axl_h5_close(f, H5Fclose);
    /* the table is read (or refused) by now: a handler that cannot be
     * restored changes neither */
    (void)axl_h5_quiet_off(&q);
    return st;
}
