/* tablegen: HDF5 table files: write and load round trip, h5py reads them,
 * truncated, foreign and inconsistent files refused with a message naming
 * the file or the attribute; every built-in's table read back equals its
 * function. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/design.h"
#include "axlut/table.h"
#include "tablegen_fixtures.h"

/* --- files -------------------------------------------------------------------- */

Test(table_io, write_load_round_trip)
{
    struct axl_design_ctx c = ctx3("int8", "int8", "int16");
    struct axl_table *t = gen(&d_s_mul, &c, 0);
    const char *p = tmp_path("rt.h5");
    char msg[AXL_MSG_LEN] = "";
    cr_assert_eq(axl_table_write(t, p, 1, msg), AXL_OK, "%s", msg);
    cr_assert_eq(axl_table_write(t, p, 0, msg), AXL_ERR_INVALID);
    cr_assert(strstr(msg, "exists") && strstr(msg, "--force"), "%s", msg);
    struct axl_table *u = NULL;
    cr_assert_eq(axl_table_load(p, &u, msg), AXL_OK, "%s", msg);
    const struct axl_table_info *a = axl_table_info(t), *b = axl_table_info(u);
    cr_assert(!memcmp(axl_table_data(t), axl_table_data(u), 65536 * 2));
    cr_assert(!memcmp(&a->metrics, &b->metrics, sizeof a->metrics));
    cr_assert_str_eq(b->design, "t_s_mul");
    cr_assert_str_eq(b->fa.name, "int8");
    cr_assert_str_eq(b->fr.name, "int16");
    cr_assert_eq(b->design_version, 3);
    cr_assert_eq(b->op, AXL_OP_MUL);
    cr_assert_str_eq(b->created, a->created);
    axl_table_free(u);

    /* with a parameter and a source hash */
    struct axl_design_ctx c2 = ctx3("uint8", "uint8", "uint9");
    c2.param[0] = 3;
    struct axl_table_opts o;
    memset(&o, 0, sizeof o);
    o.source_sha256 = "00ff";
    struct axl_table *t2 = NULL;
    cr_assert_eq(axl_table_generate(&d_trunc_add, &c2, &o, &t2, msg), AXL_OK);
    cr_assert_eq(axl_table_write(t2, p, 1, msg), AXL_OK, "%s", msg);
    struct axl_table_info in;
    cr_assert_eq(axl_table_load_info(p, &in, msg), AXL_OK, "%s", msg);
    cr_assert_str_eq(in.parameters, "k=3");
    cr_assert_eq(in.nparams, 1);
    cr_assert_eq(in.param[0], 3);
    cr_assert_str_eq(in.source_sha256, "00ff");
    axl_table_free(t2);
    axl_table_free(t);
}

Test(table_io, h5py_reads_the_table)
{
    struct axl_design_ctx c = ctx3("uint4", "uint4", "uint8");
    struct axl_table *t = gen(&d_one_wrong, &c, 0);
    const char *p = tmp_path("py.h5");
    char msg[AXL_MSG_LEN] = "", cmd[2048];
    cr_assert_eq(axl_table_write(t, p, 1, msg), AXL_OK, "%s", msg);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import h5py, sys\n"
             "f = h5py.File('%s', 'r')\n"
             "assert f['lut'].shape == (16, 16), f['lut'].shape\n"
             "assert f['lut'].dtype == 'uint8'\n"
             "assert f['lut'][3, 5] == 16 and f['lut'][5, 3] == 15\n"
             "assert isinstance(f.attrs['design'], str) and f.attrs['design'] == 't_one_wrong'\n"
             "assert f.attrs['a_format'] == 'uint4' and f.attrs['path'] == 'full'\n"
             "assert int(f.attrs['schema_version']) == 1\n"
             "assert abs(f['metrics'].attrs['MAE'] - 1/256) < 1e-15\n"
             "assert abs(f['metrics'].attrs['EP%%'] - 100/256) < 1e-12\n"
             "assert f['error_histogram'].shape == (64,) and f['error_histogram'][32] == 255\n"
             "\"",
             p);
    if (run_sh("/usr/bin/python3 -c 'import h5py' 2>/dev/null") != 0) {
        axl_table_free(t);
        cr_skip_test("Debian's python3-h5py is not installed");
    }
    cr_assert_eq(run_sh(cmd), 0, "h5py check failed on %s", p);
    axl_table_free(t);
}

static void copy_prefix(const char *from, const char *to, long n)
{
    FILE *f = fopen(from, "rb"), *g = fopen(to, "wb");
    cr_assert(f && g);
    for (long i = 0; i < n; i++) {
        int ch = fgetc(f);
        if (ch == EOF)
            break;
        fputc(ch, g);
    }
    fclose(f);
    fclose(g);
}

Test(table_io, corrupt_and_foreign_files_refused)
{
    struct axl_design_ctx c = ctx3("uint8", "uint8", "uint16");
    struct axl_table *t = gen(&d_u_mul, &c, 0);
    char good[512];
    snprintf(good, sizeof good, "%s", tmp_path("good.h5"));
    char msg[AXL_MSG_LEN] = "";
    cr_assert_eq(axl_table_write(t, good, 1, msg), AXL_OK, "%s", msg);
    axl_table_free(t);
    struct axl_table *u = NULL;

    FILE *f = fopen(good, "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    long cuts[] = {0, 100, 1000, size / 2, size - 100};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        char bad[512];
        snprintf(bad, sizeof bad, "%s", tmp_path("trunc.h5"));
        copy_prefix(good, bad, cuts[i]);
        msg[0] = '\0';
        enum axl_status s = axl_table_load(bad, &u, msg);
        cr_expect_neq(s, AXL_OK, "truncated at %ld loaded", cuts[i]);
        cr_expect_null(u);
        cr_expect(strstr(msg, bad) != NULL, "message does not name the file: %s", msg);
    }

    const char *text = tmp_path("text.h5");
    write_text(text, "not a table\n");
    cr_assert_eq(axl_table_load(text, &u, msg), AXL_ERR_FORMAT);
    cr_assert(strstr(msg, "not an HDF5 file"), "%s", msg);
    cr_assert_eq(axl_table_load(tmp_path("missing.h5"), &u, msg), AXL_ERR_IO);

    /* a valid HDF5 file without one attribute: named in the message */
    char noattr[512];
    snprintf(noattr, sizeof noattr, "%s", tmp_path("noattr.h5"));
    copy_prefix(good, noattr, size);
    hid_t h = H5Fopen(noattr, H5F_ACC_RDWR, H5P_DEFAULT);
    cr_assert_geq(h, 0);
    cr_assert_geq(H5Adelete(h, "b_format_bits"), 0);
    H5Fclose(h);
    cr_assert_eq(axl_table_load(noattr, &u, msg), AXL_ERR_FORMAT);
    cr_assert(strstr(msg, "b_format_bits") && strstr(msg, "missing"), "%s", msg);

    /* a format that does not match the dataset's shape */
    copy_prefix(good, noattr, size);
    h = H5Fopen(noattr, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t st = H5Tcopy(H5T_C_S1);
    H5Tset_size(st, H5T_VARIABLE);
    const char *u7 = "uint7";
    uint32_t seven = 7;
    hid_t sp = H5Screate(H5S_SCALAR);
    H5Adelete(h, "table_a_format");
    H5Adelete(h, "a_format");
    hid_t at = H5Acreate2(h, "table_a_format", st, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(at, st, &u7);
    H5Aclose(at);
    at = H5Acreate2(h, "a_format", st, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(at, st, &u7);
    H5Aclose(at);
    at = H5Aopen(h, "a_format_bits", H5P_DEFAULT);
    H5Awrite(at, H5T_NATIVE_UINT32, &seven);
    H5Aclose(at);
    at = H5Aopen(h, "table_a_format_bits", H5P_DEFAULT);
    H5Awrite(at, H5T_NATIVE_UINT32, &seven);
    H5Aclose(at);
    H5Sclose(sp);
    H5Tclose(st);
    H5Fclose(h);
    cr_assert_eq(axl_table_load(noattr, &u, msg), AXL_ERR_FORMAT);
    cr_assert(strstr(msg, "256 x 256") && strstr(msg, "128 x 256"), "%s", msg);
}

/* --- every built-in's table, read back through HDF5, equals its function ----- */

Test(table_io, every_builtin_table_read_back_equals_eval, .timeout = 120)
{
    int checked = 0;
    for (size_t i = 0; i < axl_design_count(); i++) {
        const struct axl_design *d = axl_design_at(i);
        const char *fs[2];
        int nf = 0;
        if (d->operands == AXL_OPERANDS_FLOAT) {
            fs[nf++] = "e4m3";
            fs[nf++] = "e5m2";
        } else if (d->operands == AXL_OPERANDS_FIXED) {
            fs[nf++] = d->fmt_a;
        } else {
            fs[nf++] = "uint8";
            fs[nf++] = d->operands == AXL_OPERANDS_ANY ? "e4m3" : "int7";
        }
        for (int f = 0; f < nf; f++) {
            struct axl_format fa = fmt(fs[f]);
            struct axl_design_ctx c;
            char msg[AXL_MSG_LEN] = "", p[512];
            cr_assert_eq(axl_design_bind(d, &fa, &fa, NULL, NULL, 0, &c, msg), AXL_OK, "%s: %s",
                         d->name, msg);
            struct axl_table *t = gen(d, &c, 0);
            snprintf(p, sizeof p, "%s", tmp_path("readback.h5"));
            cr_assert_eq(axl_table_write(t, p, 1, msg), AXL_OK, "%s", msg);
            axl_table_free(t);
            t = load_table(p);
            const struct axl_table_info *in = axl_table_info(t);
            cr_assert_eq(in->path, AXL_TABLE_FULL);
            cr_assert_str_eq(in->design, d->name);
            int bad = 0;
            uint32_t mask = c.fr.bits >= 32 ? 0xFFFFFFFFu : (1u << c.fr.bits) - 1u;
            for (uint32_t a = 0; a < in->rows; a++)
                for (uint32_t b = 0; b < in->cols; b++) {
                    uint32_t want = d->eval(&c, a, b) & mask, got = axl_table_entry(t, a, b);
                    if (got != want && bad++ < 10)
                        cr_log_error("%s %s a=0x%x b=0x%x: file 0x%x, eval 0x%x", d->name,
                                     fs[f], a, b, got, want);
                }
            cr_expect_eq(bad, 0, "%s over %s: %d entries differ", d->name, fs[f], bad);
            axl_table_free(t);
            checked++;
        }
    }
    cr_expect_geq(checked, (int)axl_design_count());
}
