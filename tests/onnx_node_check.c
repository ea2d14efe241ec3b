/* The ONNX backend node tests (onnx/backend/test/data/node, shipped by
 * Debian's libonnx-testdata) run through axlut's graph executor.
 *
 * A node test applies when every operator of its model is in axlut's
 * operator table, every graph input is floating (axlut's inputs are float
 * data; shapes, axes and indices must be constants of the model) and every
 * output numeric; each that
 * applies is loaded, run on the CPU in exact float32 on every stored data
 * set, and compared with the stored outputs: equal shapes, NaN where NaN
 * is expected, and |got - want| <= ATOL + RTOL * |want| (the tolerances of
 * ONNX's own backend test runner, onnx/backend/test/runner: rtol 1e-3,
 * atol 1e-7; integer outputs compare exactly after conversion to float).
 *
 * Usage: onnx_node_check NODE_DIR KNOWN.txt
 * KNOWN.txt lists node tests that apply but are refused at load or fail,
 * one "name  reason" a line (# comments): they are reported, not failed.
 * Exit 0 when every other applicable test passes, 1 otherwise (also when a
 * listed test now passes: the list must shrink with the fixes, and when
 * nothing ran at all), 77 (skip) when NODE_DIR does not exist. */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "axlut/graph.h"
#include "graph_internal.h"
#include "onnx.pb-c.h"

#define RTOL 1e-3
#define ATOL 1e-7
#define MAX_IO 16

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* 1 for the element types a float32 tensor can hold for comparison. */
static int numeric(int t)
{
    switch (t) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16:
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8:
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8:
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32:
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL:
        return 1;
    default:
        return 0;
    }
}

static int floating(int t)
{
    return t == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ||
           t == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ||
           t == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16;
}

static float half_to_float(uint16_t h)
{
    int e = (h >> 10) & 31, m = h & 1023;
    float v = e == 0 ? ldexpf((float)m, -24) : e == 31 ? (m ? NAN : INFINITY)
                                                       : ldexpf((float)(m | 1024), e - 25);
    return (h >> 15) ? -v : v;
}

/* A stored tensor as float32 (written by this test, independent of the
 * importer's conversion); 0 when its type is not numeric. */
static int tensor_from_pb(const char *path, struct axl_tensor *t, int *is_int)
{
    size_t len;
    uint8_t *buf = read_all(path, &len);
    if (!buf)
        return 0;
    Onnx__TensorProto *tp = onnx__tensor_proto__unpack(NULL, len, buf);
    free(buf);
    if (!tp || !numeric(tp->data_type) || tp->n_dims > AXL_MAX_DIMS) {
        if (tp)
            onnx__tensor_proto__free_unpacked(tp, NULL);
        return 0;
    }
    memset(t, 0, sizeof *t);
    t->ndim = (int)tp->n_dims;
    int64_t n = 1;
    for (size_t i = 0; i < tp->n_dims; i++)
        n *= t->dims[i] = tp->dims[i];
    t->data = malloc((size_t)(n ? n : 1) * sizeof(float));
    const int dt = tp->data_type;
    *is_int = dt != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT &&
              dt != ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE &&
              dt != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16;
    const uint8_t *raw = tp->has_raw_data ? tp->raw_data.data : NULL;
    for (int64_t i = 0; i < n; i++) {
        double v = 0;
        switch (dt) {
        case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: {
            float f;
            if (raw)
                memcpy(&f, raw + 4 * i, 4);
            else
                f = tp->float_data[i];
            v = f;
            break;
        }
        case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
            if (raw)
                memcpy(&v, raw + 8 * i, 8);
            else
                v = tp->double_data[i];
            break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16: {
            uint16_t h;
            if (raw)
                memcpy(&h, raw + 2 * i, 2);
            else
                h = (uint16_t)tp->int32_data[i];
            v = half_to_float(h);
            break;
        }
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: {
            int64_t x;
            if (raw)
                memcpy(&x, raw + 8 * i, 8);
            else
                x = tp->int64_data[i];
            v = (double)x;
            break;
        }
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: {
            int32_t x;
            if (raw)
                memcpy(&x, raw + 4 * i, 4);
            else
                x = tp->int32_data[i];
            v = x;
            break;
        }
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT8:
            v = raw ? (int8_t)raw[i] : tp->int32_data[i];
            break;
        default: /* UINT8, BOOL */
            v = raw ? raw[i] : tp->int32_data[i];
            break;
        }
        t->data[i] = (float)v;
    }
    onnx__tensor_proto__free_unpacked(tp, NULL);
    return 1;
}

enum verdict { V_NA, V_REFUSED, V_FAIL, V_PASS };

/* Why a node test does not apply (its operators or element types), or
 * NULL when it does. */
static const char *applies(const char *model, char *why, size_t cap)
{
    size_t len;
    uint8_t *buf = read_all(model, &len);
    if (!buf)
        return "no model";
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, buf);
    free(buf);
    if (!m || !m->graph) {
        if (m)
            onnx__model_proto__free_unpacked(m, NULL);
        return "unreadable model";
    }
    const char *r = NULL;
    const Onnx__GraphProto *g = m->graph;
    for (size_t i = 0; !r && i < g->n_node; i++) {
        const char *d = g->node[i]->domain;
        if ((d && *d && strcmp(d, "ai.onnx")) || !axl_op_find(g->node[i]->op_type)) {
            snprintf(why, cap, "operator %s", g->node[i]->op_type);
            r = why;
        }
    }
    for (size_t k = 0; !r && k < 2; k++) {
        size_t n = k ? g->n_output : g->n_input;
        for (size_t i = 0; !r && i < n; i++) {
            const Onnx__ValueInfoProto *vi = k ? g->output[i] : g->input[i];
            const Onnx__TypeProto *tp = vi->type;
            if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
                !numeric(tp->tensor_type->elem_type)) {
                snprintf(why, cap, "%s of a non-numeric type", k ? "an output" : "an input");
                r = why;
            } else if (!k && !floating(tp->tensor_type->elem_type)) {
                /* axlut's graph inputs are float data: shapes, axes and
                 * indices must be constants of the model */
                snprintf(why, cap, "an integer graph input");
                r = why;
            }
        }
    }
    onnx__model_proto__free_unpacked(m, NULL);
    return r;
}

static int compare(const struct axl_tensor *got, const struct axl_tensor *want, int is_int,
                   char *why, size_t cap)
{
    int64_t n = axl_tensor_numel(want);
    int same = got->ndim == want->ndim;
    for (int d = 0; same && d < want->ndim; d++)
        same = got->dims[d] == want->dims[d];
    if (!same || !got->data) {
        char a[128] = "", b[128] = "";
        for (int d = 0; d < got->ndim; d++)
            snprintf(a + strlen(a), sizeof a - strlen(a), "%s%lld", d ? "x" : "",
                     (long long)got->dims[d]);
        for (int d = 0; d < want->ndim; d++)
            snprintf(b + strlen(b), sizeof b - strlen(b), "%s%lld", d ? "x" : "",
                     (long long)want->dims[d]);
        snprintf(why, cap, "shape [%s], expected [%s]", a, b);
        return 0;
    }
    for (int64_t i = 0; i < n; i++) {
        float g = got->data[i], w = want->data[i];
        int ok;
        if (isnan(w))
            ok = isnan(g);
        else if (isinf(w) || is_int)
            ok = g == w;
        else
            ok = fabs((double)g - (double)w) <= ATOL + RTOL * fabs((double)w);
        if (!ok) {
            snprintf(why, cap, "element %lld: %.9g, expected %.9g", (long long)i, g, w);
            return 0;
        }
    }
    return 1;
}

/* Runs every data set of one node test directory. */
static enum verdict run_test(const char *dir, char *why, size_t cap)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    if (applies(path, why, cap))
        return V_NA;
    struct axl_graph *g = NULL;
    char msg[AXL_MSG_LEN];
    if (axl_graph_load(path, &g, msg) != AXL_OK) {
        snprintf(why, cap, "%s", msg);
        return V_REFUSED;
    }
    const size_t ni = axl_graph_input_count(g), no = axl_graph_output_count(g);
    enum verdict v = V_PASS;
    int sets = 0;
    for (int s = 0; v == V_PASS; s++) {
        char sd[1300];
        snprintf(sd, sizeof sd, "%s/test_data_set_%d", dir, s);
        struct stat st;
        if (stat(sd, &st) != 0)
            break;
        struct axl_tensor in[MAX_IO], out[MAX_IO], want[MAX_IO];
        int is_int[MAX_IO];
        memset(in, 0, sizeof in);
        memset(out, 0, sizeof out);
        memset(want, 0, sizeof want);
        size_t k;
        int ok = ni <= MAX_IO && no <= MAX_IO;
        for (k = 0; ok && k < ni; k++) {
            snprintf(path, sizeof path, "%s/input_%zu.pb", sd, k);
            int dummy;
            ok = tensor_from_pb(path, &in[k], &dummy);
        }
        for (k = 0; ok && k < no; k++) {
            snprintf(path, sizeof path, "%s/output_%zu.pb", sd, k);
            ok = tensor_from_pb(path, &want[k], &is_int[k]);
        }
        if (!ok) {
            snprintf(why, cap, "data set %d: an input or output could not be read", s);
            v = V_FAIL;
        } else if (axl_graph_run(g, NULL, in, out, msg) != AXL_OK) {
            snprintf(why, cap, "data set %d: %s", s, msg);
            v = V_FAIL;
        } else {
            for (k = 0; v == V_PASS && k < no; k++) {
                char w[256];
                if (!compare(&out[k], &want[k], is_int[k], w, sizeof w)) {
                    snprintf(why, cap, "data set %d, output %zu: %s", s, k, w);
                    v = V_FAIL;
                }
            }
        }
        for (k = 0; k < MAX_IO; k++) {
            free(in[k].data);
            axl_tensor_free(&out[k]);
            free(want[k].data);
        }
        sets++;
    }
    if (v == V_PASS && sets == 0) {
        snprintf(why, cap, "no data set");
        v = V_FAIL;
    }
    axl_graph_free(g);
    return v;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names listed in KNOWN.txt (first word of each line). */
static char **read_known(const char *path, size_t *n)
{
    *n = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char line[512], **v = NULL;
    size_t cap = 0;
    while (fgets(line, sizeof line, f)) {
        char name[256];
        if (line[0] == '#' || sscanf(line, "%255s", name) != 1)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            v = realloc(v, cap * sizeof *v);
        }
        v[(*n)++] = strdup(name);
    }
    fclose(f);
    qsort(v, *n, sizeof *v, cmp_str);
    return v;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: onnx_node_check NODE_DIR KNOWN.txt\n");
        return 2;
    }
    DIR *d = opendir(argv[1]);
    if (!d) {
        printf("no ONNX node tests at %s (apt-get install libonnx-testdata): skipped\n", argv[1]);
        return 77;
    }
    size_t nk;
    char **known = read_known(argv[2], &nk);
    char **names = NULL;
    size_t nn = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "test_", 5))
            continue;
        if (nn == cap) {
            cap = cap ? cap * 2 : 256;
            names = realloc(names, cap * sizeof *names);
        }
        names[nn++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, nn, sizeof *names, cmp_str);
    size_t count[4] = {0, 0, 0, 0}, unexpected = 0, stale = 0;
    for (size_t i = 0; i < nn; i++) {
        char dir[1100], why[AXL_MSG_LEN + 64] = "";
        snprintf(dir, sizeof dir, "%s/%s", argv[1], names[i]);
        enum verdict v = run_test(dir, why, sizeof why);
        count[v]++;
        int listed = known && bsearch(&names[i], known, nk, sizeof *known, cmp_str) != NULL;
        if (v == V_REFUSED || v == V_FAIL) {
            printf("%s %s: %s%s\n", v == V_REFUSED ? "REFUSED" : "FAILED ", names[i], why,
                   listed ? " (known)" : "");
            unexpected += !listed;
        } else if (v == V_PASS && listed) {
            printf("PASSES  %s: listed as known, remove it from %s\n", names[i], argv[2]);
            stale++;
        }
    }
    const size_t applicable = count[V_REFUSED] + count[V_FAIL] + count[V_PASS];
    printf("ONNX node tests: %zu in all, %zu apply (operators axlut has, numeric types); of "
           "those %zu loaded and ran, %zu passed, %zu failed, %zu refused at load; %zu failures "
           "or refusals not in the known list\n",
           nn, applicable, count[V_FAIL] + count[V_PASS], count[V_PASS], count[V_FAIL],
           count[V_REFUSED], unexpected);
    for (size_t i = 0; i < nn; i++)
        free(names[i]);
    free(names);
    for (size_t i = 0; i < nk; i++)
        free(known[i]);
    free(known);
    return count[V_PASS] == 0 || unexpected || stale ? 1 : 0;
}
