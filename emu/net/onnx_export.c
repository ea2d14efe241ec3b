/* Writing a graph back to ONNX after training: the graph's own source file,
 * re-read and unpacked with protobuf-c, with the data of every initializer
 * that is a trainable parameter replaced by the parameter's current values.
 * Everything else in the file (nodes, attributes, names, doc strings,
 * opsets, metadata, value infos, the other initializers, fields this
 * onnx.proto does not know) is packed again as it was.
 *
 * A replaced initializer is written as FLOAT with little-endian raw_data,
 * whatever its type in the source: the graph holds float32 values, and an
 * fp16, bf16 or double initializer rounded back to its type would lose what
 * training changed.  Such a model (rare: the importer computes in float32
 * anyway) then holds FLOAT weights where its nodes may expect another type,
 * which the emulator accepts and a strict ONNX type check does not.
 *
 * An initializer read more than once (the importer keeps the first) is
 * replaced wherever it appears.  The output is written to OUT.tmpPID in the
 * same directory and renamed over OUT, so OUT is complete or untouched, and
 * saving over the source file is safe. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "graph_internal.h"
#include "onnx.pb-c.h"

enum { OT_FLOAT = 1 }; /* ONNX TensorProto.DataType */

/* An initializer before its data was replaced, and the replacement's bytes:
 * the unpacked message gets its own pointers back before it is freed. */
struct swap {
    Onnx__TensorProto *tp;
    Onnx__TensorProto saved;
    uint8_t *raw;
};

static int same_dims(const Onnx__TensorProto *tp, const struct gtensor *c)
{
    if (tp->n_dims != (size_t)c->ndim)
        return 0;
    for (size_t i = 0; i < tp->n_dims; i++)
        if (tp->dims[i] != c->dims[i])
            return 0;
    return 1;
}

/* n float32 values as ONNX raw_data: little-endian whatever the host. */
static uint8_t *le_bytes(const float *x, int64_t n)
{
    uint8_t *b = malloc((size_t)(n ? n : 1) * 4);
    if (!b)
        return NULL;
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        for (int k = 0; k < 4; k++)
            b[4 * i + k] = (uint8_t)(u >> (8 * k));
    }
    return b;
}

/* tp holds FLOAT raw data and nothing in the other data fields. */
static void set_float_raw(Onnx__TensorProto *tp, uint8_t *raw, size_t len)
{
    tp->has_data_type = 1;
    tp->data_type = OT_FLOAT;
    tp->has_raw_data = 1;
    tp->raw_data.data = raw;
    tp->raw_data.len = len;
    tp->n_float_data = 0;
    tp->float_data = NULL;
    tp->n_int32_data = 0;
    tp->int32_data = NULL;
    tp->n_string_data = 0;
    tp->string_data = NULL;
    tp->n_int64_data = 0;
    tp->int64_data = NULL;
    tp->n_double_data = 0;
    tp->double_data = NULL;
    tp->n_uint64_data = 0;
    tp->uint64_data = NULL;
}

/* The index among parameters then buffers (the values training changes)
 * of the value called name, -1 when it is neither. */
static int64_t changed_value(const struct axl_graph *g, const char *name)
{
    int64_t p = axl_graph_find_param(g, name);
    for (int b = 0; p < 0 && b < g->nbuffers; b++)
        if (!strcmp(g->vals[g->buffers[b]].name, name))
            p = g->nparams + b;
    return p;
}

static int changed_index(const struct axl_graph *g, int64_t p)
{
    return p < g->nparams ? g->params[p] : g->buffers[p - g->nparams];
}

/* Replaces the parameters' (and running statistics') initializers in gp, recording each in sw (room
 * for gp->n_initializer).  Errors are the reason only (the caller names the
 * output file). */
static enum axl_status replace_params(const struct axl_graph *g, Onnx__GraphProto *gp,
                                      struct swap *sw, size_t *nsw, char *why)
{
    unsigned char *seen = calloc((size_t)(g->nparams + g->nbuffers) + 1, 1);
    if (!seen)
        return axl_msgf(why, AXL_ERR_NOMEM, "out of memory");
    enum axl_status st = AXL_OK;
    for (size_t i = 0; st == AXL_OK && i < gp->n_initializer; i++) {
        Onnx__TensorProto *tp = gp->initializer[i];
        const char *name = tp->name ? tp->name : "";
        if (tp->n_external_data ||
            (tp->has_data_location &&
             tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)) {
            st = axl_msgf(why, AXL_ERR_UNSUPPORTED,
                          "initializer '%.150s' keeps its data in an external file, which "
                          "saving does not support",
                          name);
            break;
        }
        int64_t p = changed_value(g, name);
        if (p < 0)
            continue;
        const struct gtensor *c = &g->vals[changed_index(g, p)].c;
        if (!same_dims(tp, c)) {
            st = axl_msgf(why, AXL_ERR_MISMATCH,
                          "initializer '%.150s' in %.200s has another shape than when the "
                          "graph was loaded (the file changed since)",
                          name, g->path);
            break;
        }
        int64_t n = gt_numel(c);
        uint8_t *raw = le_bytes(c->data, n);
        if (!raw) {
            st = axl_msgf(why, AXL_ERR_NOMEM, "out of memory for initializer '%.150s'", name);
            break;
        }
        sw[*nsw].tp = tp;
        sw[*nsw].saved = *tp;
        sw[*nsw].raw = raw;
        (*nsw)++;
        set_float_raw(tp, raw, (size_t)n * 4);
        seen[p] = 1;
    }
    for (int p = 0; st == AXL_OK && p < g->nparams + g->nbuffers; p++)
        if (!seen[p])
            st = axl_msgf(why, AXL_ERR_MISMATCH,
                          "%.200s has no initializer '%.150s' any more (the file changed since "
                          "the graph was loaded)",
                          g->path, g->vals[changed_index(g, p)].name);
    free(seen);
    return st;
}

/* len bytes into path through path.tmpPID; nothing is left behind on error. */
static enum axl_status write_atomic(const char *path, const uint8_t *buf, size_t len, char *why)
{
    size_t plen = strlen(path) + 32;
    char *tmp = malloc(plen);
    if (!tmp)
        return axl_msgf(why, AXL_ERR_NOMEM, "out of memory");
    snprintf(tmp, plen, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        int e = errno;
        free(tmp);
        return axl_msgf(why, AXL_ERR_IO, "%s", strerror(e));
    }
    int e = 0;
    if (len && fwrite(buf, 1, len, f) != len)
        e = errno ? errno : EIO;
    if (fclose(f) != 0 && !e)
        e = errno ? errno : EIO;
    if (!e && rename(tmp, path) != 0)
        e = errno ? errno : EIO;
    if (e)
        remove(tmp);
    free(tmp);
    if (e)
        return axl_msgf(why, AXL_ERR_IO, "%s", strerror(e));
    return AXL_OK;
}

/* m packed into out_path. */
static enum axl_status pack_and_write(const Onnx__ModelProto *m, const char *out_path,
                                      char *why)
{
    size_t len = onnx__model_proto__get_packed_size(m);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return axl_msgf(why, AXL_ERR_NOMEM, "out of memory for %zu bytes", len);
    size_t got = onnx__model_proto__pack(m, buf);
    enum axl_status st = got == len ? write_atomic(out_path, buf, len, why)
                                    : axl_msgf(why, AXL_ERR_INVALID,
                                               "protobuf packing gave %zu bytes, expected %zu",
                                               got, len);
    free(buf);
    return st;
}

enum axl_status axl_graph_save(const struct axl_graph *g, const char *out_path, char *msg)
{
    if (!g || !out_path || !*out_path)
        return axl_msgf(msg, AXL_ERR_INVALID, "axl_graph_save: %s",
                        !g ? "no graph" : "no output path");
    char why[AXL_MSG_LEN];
    uint8_t *buf = NULL;
    size_t len = 0;
    enum axl_status st = axl_onnx_read_bytes(g->path, &buf, &len, why);
    if (st != AXL_OK)
        return axl_msgf(msg, st, "%.200s: cannot be written: reading the source model: %s",
                        out_path, why);
    Onnx__ModelProto *m = len ? onnx__model_proto__unpack(NULL, len, buf) : NULL;
    free(buf);
    if (!m || !m->graph) {
        if (m)
            onnx__model_proto__free_unpacked(m, NULL);
        return axl_msgf(msg, AXL_ERR_FORMAT,
                        "%.200s: cannot be written: the source model %.200s no longer parses (the "
                        "file changed since the graph was loaded)",
                        out_path, g->path);
    }
    Onnx__GraphProto *gp = m->graph;
    struct swap *sw = malloc((gp->n_initializer + 1) * sizeof *sw);
    size_t nsw = 0;
    if (!sw)
        st = axl_msgf(why, AXL_ERR_NOMEM, "out of memory");
    else if ((st = replace_params(g, gp, sw, &nsw, why)) == AXL_OK)
        st = pack_and_write(m, out_path, why);
    for (size_t i = 0; i < nsw; i++) {
        *sw[i].tp = sw[i].saved;
        free(sw[i].raw);
    }
    free(sw);
    onnx__model_proto__free_unpacked(m, NULL);
    if (st != AXL_OK)
        return axl_msgf(msg, st, "%.200s: cannot be written: %s", out_path, why);
    return AXL_OK;
}
