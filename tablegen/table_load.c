/* axl_table_load and axl_table_load_info: the reader of h5read.c run in a
 * child process (export/child.h says why; the fuzzing that showed it is in
 * tests/fuzz/README.md).  The child sends
 *
 *   struct reply (status, message, info)  then  rows * cols * entry_bytes
 *
 * and the parent checks that the info it got holds together before it
 * allocates anything from it: the shape follows from the formats, and the
 * table is no larger than the file could hold (deflate compresses at most
 * 1032:1). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "axlut/block.h"
#include "child.h"
#include "h5io.h"
#include "internal.h"

#define MAX_DEFLATE_RATIO 1032u

struct reply {
    int32_t status;
    char msg[AXL_MSG_LEN];
    struct axl_table_info info;
};

static _Noreturn void child_main(struct axl_child *c, const char *path, int want_data)
{
    struct reply *rep = calloc(1, sizeof *rep);
    if (!rep)
        axl_child_exit(c, 3);
    struct axl_table *t = NULL;
    rep->status = (int32_t)axl_tg_table_read(path, &rep->info, want_data ? &t : NULL, rep->msg);
    int rc = axl_child_send(c, rep, sizeof *rep);
    if (rc == 0 && t)
        rc = axl_child_send(c, t->data, (size_t)(t->info.rows * t->info.cols * t->info.entry_bytes));
    axl_child_exit(c, rc == 0 ? 0 : 4);
}

/* Strings end inside their arrays; the shape follows from the formats. */
static int consistent(struct axl_table_info *in, uint64_t max_bytes)
{
#define TERM(a) ((a)[sizeof(a) - 1] = 0)
    TERM(in->design);
    TERM(in->core_design);
    TERM(in->description);
    TERM(in->citation);
    TERM(in->parameters);
    TERM(in->source_sha256);
    TERM(in->generator_version);
    TERM(in->generator_commit);
    TERM(in->created);
    TERM(in->block_format);
    for (int i = 0; i < AXL_DESIGN_MAX_PARAMS; i++)
        TERM(in->param_names[i]);
    for (int i = 0; i < AXL_H5_N_FMT; i++)
        TERM(axl_h5_fmt_slot(in, i)->name);
#undef TERM
    struct axl_table_info c = *in;
    char m[AXL_MSG_LEN];
    /* a block format's element format is both operands' */
    struct axl_block_format bf;
    if (in->block_format[0] &&
        (axl_block_format_parse(in->block_format, &bf, NULL) != AXL_OK ||
         !axl_format_equal(&bf.elem, &in->fa) || !axl_format_equal(&bf.elem, &in->fb)))
        return 0;
    return in->nparams <= AXL_DESIGN_MAX_PARAMS && axl_tg_finish_info(&c, m) == AXL_OK &&
           c.rows == in->rows && c.cols == in->cols && c.entry_bytes == in->entry_bytes &&
           in->metrics_only <= 1 &&
           /* a metrics-only file (gen --metrics-only) has no /lut to hold */
           (in->metrics_only || in->rows * in->cols * in->entry_bytes <= max_bytes);
}

static enum axl_status load(const char *path, struct axl_table_info *in, struct axl_table **out,
                            char *msg)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return axl_msgf(msg, AXL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    const uint64_t max_bytes = (uint64_t)sb.st_size * MAX_DEFLATE_RATIO;
    struct axl_child c;
    int r = axl_child_start(&c, 2 * max_bytes, msg);
    if (r < 0)
        return AXL_ERR_IO;
    if (r == 0)
        child_main(&c, path, out != NULL);
    enum axl_status st = AXL_OK;
    struct axl_table *t = NULL;
    struct reply *rep = calloc(1, sizeof *rep);
    int got = 0; /* the child's whole answer arrived */
    if (!rep) {
        st = axl_msgf(msg, AXL_ERR_NOMEM, "%s: out of memory", path);
    } else if (axl_child_recv(&c, rep, sizeof *rep) == 0) {
        rep->msg[AXL_MSG_LEN - 1] = 0;
        if (rep->status != AXL_OK) {
            int known = rep->status > 0 && rep->status <= AXL_ERR_COMPILE;
            st = axl_msgf(msg, known ? (enum axl_status)rep->status : AXL_ERR_FORMAT, "%s",
                          rep->msg[0] ? rep->msg : "reading the table failed");
        } else if (!consistent(&rep->info, max_bytes)) {
            st = axl_msgf(msg, AXL_ERR_FORMAT,
                          "%s: not a valid axlut table: its attributes do not hold together "
                          "(corrupt file)",
                          path);
        } else if (out) {
            size_t bytes = (size_t)(rep->info.rows * rep->info.cols * rep->info.entry_bytes);
            if (!(t = calloc(1, sizeof *t)) || !(t->data = malloc(bytes))) {
                st = axl_msgf(msg, AXL_ERR_NOMEM, "%s: out of memory for its table", path);
            } else {
                t->info = rep->info;
                got = axl_child_recv(&c, t->data, bytes) == 0;
            }
        } else {
            got = 1;
        }
    }
    /* once refused by our own verdict, how the child ends changes nothing;
     * otherwise a child that did not answer in full, or did not exit
     * cleanly, is the verdict */
    enum axl_status end = axl_child_end(&c, st != AXL_OK, path, st == AXL_OK ? msg : NULL);
    if (st == AXL_OK && (end != AXL_OK || !got))
        st = end != AXL_OK ? end
                           : axl_msgf(msg, AXL_ERR_FORMAT, "%s: reading it failed (a corrupt file)",
                                      path);
    if (st == AXL_OK) {
        *in = rep->info;
        if (out) {
            *out = t;
            t = NULL;
        }
    }
    axl_table_free(t);
    free(rep);
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
