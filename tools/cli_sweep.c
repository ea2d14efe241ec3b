/* axlut sweep: every combination of models, formats, designs and
 * accumulators over a dataset, resumable, in CSV and JSON. */
#define _POSIX_C_SOURCE 200809L
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "axlut/graph.h"
#include "axlut/run.h"
#include "axlut/sweep.h"
#include "axlut/table.h"
#include "cli.h"

static void usage(FILE *o)
{
    fprintf(o,
        "usage: axlut sweep MODEL.onnx... --data DATA.h5 --formats LIST --designs LIST\n"
        "                   [--acc-formats LIST] [--adders LIST] [--layers GLOB]\n"
        "                   [--sensitivity] [--limit N] [--batch N] [--device cpu|cuda]\n"
        "                   -o RESULTS [--quiet]\n\n"
        "Runs every combination (model x format x design x accumulator x adder) like\n"
        "`axlut run` and records per point the top-1 accuracy, agreement with the exact\n"
        "network, the worst layer SNR, the output SNR and the time, in RESULTS.csv\n"
        "(one line per point, written as it finishes) and RESULTS.json.  A sweep that\n"
        "was interrupted resumes where it stopped when run again with the same -o.\n\n"
        "  --formats LIST      names or ranges: e4m3,bf16,e3..8m1..10\n"
        "  --designs LIST      multipliers with parameters: mul_exact,fpmul_drum:k=4\n"
        "  --acc-formats LIST  accumulators: fp32 (exact adds, the default) or formats\n"
        "                      in which each add is rounded (add_exact), e.g. fp32,fp16,bf16\n"
        "  --adders LIST       adder designs on the accumulator, e.g. fpadd_loa:k=4\n"
        "  --layers GLOB       approximate only the MAC layers whose name matches\n"
        "  --sensitivity       approximate one layer at a time (first format and design)\n"
        "                      and rank the layers by the accuracy they cost\n"
        "Full tables are generated once into the table cache ($AXL_CACHE_DIR/tables,\n"
        "else ~/.cache/axlut/tables) and reused.\n");
}

struct point {
    const char *model;
    const char *design;  /* label */
    size_t di;
    const char *format;
    const char *acc;     /* "fp32" or a format */
    const char *adder;   /* label or "" */
    size_t ai;
    const char *layers;  /* glob, layer name or "*" */
    char key[1024];
};

static const char k_header[] =
    "model,design,format,acc_format,adder,layers,samples,top1,exact_top1,agreement,"
    "worst_layer_snr_db,output_snr_db,seconds";

static void make_key(struct point *p)
{
    snprintf(p->key, sizeof p->key, "%s,%s,%s,%s,%s,%s", p->model, p->design, p->format, p->acc,
             p->adder, p->layers);
}

/* CSV fields here never hold commas or quotes except design labels with
 * parameters, which are quoted. */
static void csv_field(FILE *f, const char *s, int last)
{
    if (strchr(s, ','))
        fprintf(f, "\"%s\"", s);
    else
        fputs(s, f);
    fputc(last ? '\n' : ',', f);
}

/* The cached full table of design d on format f, generated when missing;
 * "" when the formats are too wide for a full table (the engine then picks
 * the mantissa or function path itself). */
static int cached_table(const struct axl_sweep_design *d, const char *fmt, char *path, size_t cap,
                        int quiet, char *msg)
{
    path[0] = '\0';
    struct axl_format f;
    if (axl_format_parse(fmt, &f, msg) != AXL_OK)
        return 0;
    if (f.bits > AXL_TABLE_MAX_BITS)
        return 1;
    const struct axl_design *des = axl_design_find(d->name);
    if (!des)
        return 1; /* a user design or table file: the engine resolves it */
    struct axl_design_ctx c;
    const char *pp[4];
    for (int i = 0; i < d->nparams; i++)
        pp[i] = d->params[i];
    if (axl_design_bind(des, &f, &f, NULL, pp, d->nparams, &c, msg) != AXL_OK)
        return 0;
    char key[512], hex[65], dir[900];
    int kl = snprintf(key, sizeof key, "%s|%s|%s|v%u|r%u", d->label, f.name, c.fr.name,
                      (unsigned)des->version, (unsigned)c.round);
    axl_sha256_hex(key, (size_t)kl, hex);
    if (axl_cache_path("tables", dir, sizeof dir) < 0) {
        snprintf(msg, AXL_MSG_LEN, "cannot create the table cache (set AXL_CACHE_DIR)");
        return 0;
    }
    snprintf(path, cap, "%s/%.16s.h5", dir, hex);
    if (access(path, R_OK) == 0)
        return 1;
    struct axl_table *t = NULL;
    if (axl_table_generate(des, &c, NULL, &t, msg) != AXL_OK)
        return 0;
    enum axl_status st = axl_table_write(t, path, 1, msg);
    axl_table_free(t);
    if (st != AXL_OK)
        return 0;
    if (!quiet)
        fprintf(stderr, "axlut sweep: generated the table of %s on %s (%s)\n", d->label, f.name,
                path);
    return 1;
}

/* The MAC specification of a point; `table` (a cached table file) replaces
 * the design and its parameters when given.  Strings point into the lists. */
static void point_spec(const struct point *p, const struct axl_sweep_design *dl,
                       const struct axl_sweep_design *al, const char *table,
                       struct axl_mac_spec *s)
{
    const struct axl_sweep_design *d = &dl[p->di];
    memset(s, 0, sizeof *s);
    s->mul = table ? table : d->name;
    for (int k = 0; !table && k < d->nparams; k++)
        s->mul_params[k] = d->params[k];
    s->n_mul_params = table ? 0 : d->nparams;
    s->fmt_a = p->format;
    int exact_acc = !strcmp(p->acc, "fp32");
    if (p->adder[0]) {
        const struct axl_sweep_design *ad = &al[p->ai];
        s->add = ad->name;
        for (int k = 0; k < ad->nparams; k++)
            s->add_params[k] = ad->params[k];
        s->n_add_params = ad->nparams;
        s->fmt_acc = exact_acc ? NULL : p->acc;
    } else if (!exact_acc) {
        s->add = "add_exact"; /* each add rounded into the accumulator format */
        s->fmt_acc = p->acc;
    }
}

struct row {
    char key[1024];
    char line[2048];
};

/* Reads the finished points of an earlier run; the file is cut after its
 * last complete line (an interrupted write leaves a partial one). */
static int load_done(const char *csv, struct row **rows, size_t *nrows, char *msg)
{
    *rows = NULL;
    *nrows = 0;
    FILE *f = fopen(csv, "r+");
    if (!f)
        return 1;
    char line[2048];
    size_t cap = 0;
    long good = 0;
    int first = 1;
    while (fgets(line, sizeof line, f)) {
        size_t l = strlen(line);
        if (l == 0 || line[l - 1] != '\n')
            break;
        if (first) {
            line[l - 1] = '\0';
            if (strcmp(line, k_header)) {
                snprintf(msg, AXL_MSG_LEN, "%s exists but is not an axlut sweep file (header)", csv);
                fclose(f);
                return 0;
            }
            first = 0;
            good = ftell(f);
            continue;
        }
        if (*nrows == cap) {
            cap = cap ? cap * 2 : 64;
            struct row *r = realloc(*rows, cap * sizeof *r);
            if (!r) {
                fclose(f);
                return 0;
            }
            *rows = r;
        }
        struct row *r = &(*rows)[(*nrows)++];
        snprintf(r->line, sizeof r->line, "%s", line);
        /* the key: the first six fields */
        int commas = 0, inq = 0;
        size_t i = 0;
        for (; line[i] && commas < 6; i++) {
            if (line[i] == '"')
                inq = !inq;
            else if (line[i] == ',' && !inq)
                commas++;
        }
        snprintf(r->key, sizeof r->key, "%.*s", (int)(i ? i - 1 : 0), line);
        good = ftell(f);
    }
    fclose(f);
    if (truncate(csv, good) != 0) {
        snprintf(msg, AXL_MSG_LEN, "%s: cannot cut an unfinished line", csv);
        return 0;
    }
    return 1;
}

static void unquote_key(const char *in, char *out, size_t cap)
{
    size_t k = 0;
    for (; *in && k + 1 < cap; in++)
        if (*in != '"')
            out[k++] = *in;
    out[k] = '\0';
}

/* The JSON of every row of the CSV (rewritten from scratch each time). */
static int write_json(const char *csv, const char *json, char *msg)
{
    FILE *in = fopen(csv, "r");
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", json, (long)getpid());
    FILE *out = fopen(tmp, "w");
    if (!in || !out) {
        if (in)
            fclose(in);
        if (out)
            fclose(out);
        snprintf(msg, AXL_MSG_LEN, "%s: cannot write", json);
        return 0;
    }
    static const char *names[] = {"model", "design", "format", "acc_format", "adder", "layers",
                                  "samples", "top1", "exact_top1", "agreement",
                                  "worst_layer_snr_db", "output_snr_db", "seconds"};
    char line[2048];
    int first = 1, header = 1;
    fputs("[\n", out);
    while (fgets(line, sizeof line, in)) {
        if (header) {
            header = 0;
            continue;
        }
        line[strcspn(line, "\n")] = '\0';
        fprintf(out, "%s  {", first ? "" : ",\n");
        first = 0;
        char *p = line;
        for (int fi = 0; fi < 13; fi++) {
            char val[1024];
            size_t k = 0;
            int inq = 0;
            while (*p && (inq || *p != ',')) {
                if (*p == '"')
                    inq = !inq;
                else if (k + 1 < sizeof val)
                    val[k++] = *p;
                p++;
            }
            val[k] = '\0';
            if (*p == ',')
                p++;
            if (fi < 6)
                fprintf(out, "%s\"%s\": \"%s\"", fi ? ", " : "", names[fi], val);
            else
                fprintf(out, ", \"%s\": %s", names[fi],
                        strstr(val, "nan") || strstr(val, "inf") || !val[0] ? "null" : val);
        }
        fputs("}", out);
    }
    fputs("\n]\n", out);
    fclose(in);
    if (fclose(out) != 0 || rename(tmp, json) != 0) {
        unlink(tmp);
        snprintf(msg, AXL_MSG_LEN, "%s: cannot write", json);
        return 0;
    }
    return 1;
}

int cli_sweep(int argc, char **argv)
{
    const char *models[64], *data = NULL, *formats = NULL, *designs = NULL, *accs = "fp32",
               *adders = NULL, *layers_glob = NULL, *outp = NULL, *device = "cpu";
    int nmodels = 0, sensitivity = 0, quiet = 0;
    int64_t limit = 0, batch = 64;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (cli_is_help(a)) {
            usage(stdout);
            return CLI_OK;
        } else if (!strcmp(a, "--data") && has) {
            data = argv[++i];
        } else if (!strcmp(a, "--formats") && has) {
            formats = argv[++i];
        } else if (!strcmp(a, "--designs") && has) {
            designs = argv[++i];
        } else if (!strcmp(a, "--acc-formats") && has) {
            accs = argv[++i];
        } else if (!strcmp(a, "--adders") && has) {
            adders = argv[++i];
        } else if (!strcmp(a, "--layers") && has) {
            layers_glob = argv[++i];
        } else if (!strcmp(a, "-o") && has) {
            outp = argv[++i];
        } else if (!strcmp(a, "--device") && has) {
            device = argv[++i];
        } else if ((!strcmp(a, "--limit") || !strcmp(a, "--batch")) && has) {
            char *end;
            long long v = strtoll(argv[++i], &end, 10);
            if (*end || v < 1) {
                fprintf(stderr, "axlut sweep: %s needs a positive integer\n", a);
                return CLI_USAGE;
            }
            *(a[2] == 'l' ? &limit : &batch) = v;
        } else if (!strcmp(a, "--sensitivity")) {
            sensitivity = 1;
        } else if (!strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (a[0] == '-') {
            fprintf(stderr, "axlut sweep: unknown option '%s' or missing value (axlut sweep --help)\n", a);
            return CLI_USAGE;
        } else if (nmodels < 64) {
            models[nmodels++] = a;
        }
    }
    if (!nmodels || !data || !formats || !designs || !outp) {
        fprintf(stderr, "axlut sweep: %s (axlut sweep --help)\n",
                !nmodels ? "no model given" : !data ? "no dataset given (--data)"
                : !formats ? "no --formats given" : !designs ? "no --designs given"
                           : "no -o RESULTS given");
        return CLI_USAGE;
    }
    enum axl_backend be;
    if (cli_backend("axlut sweep", device, &be) != CLI_OK)
        return CLI_USAGE;
    char msg[AXL_MSG_LEN];
    char(*fmts)[AXL_SWEEP_NAME] = NULL, (*accl)[AXL_SWEEP_NAME] = NULL;
    size_t nf = 0, nacc = 0, nd = 0, nadd = 0;
    struct axl_sweep_design *dl = NULL, *al = NULL;
    int rc = CLI_USAGE;
    if (axl_sweep_formats(formats, &fmts, &nf, msg) != AXL_OK ||
        axl_sweep_formats(accs, &accl, &nacc, msg) != AXL_OK ||
        axl_sweep_designs(designs, &dl, &nd, msg) != AXL_OK ||
        (adders && axl_sweep_designs(adders, &al, &nadd, msg) != AXL_OK)) {
        fprintf(stderr, "axlut sweep: %s\n", msg);
        goto out;
    }
    if (!adders)
        nadd = 0;
    struct axl_graph **graphs = calloc((size_t)nmodels, sizeof *graphs);
    struct axl_dataset **dsets = calloc((size_t)nmodels, sizeof *dsets);
    if (!graphs || !dsets)
        goto out_g;
    for (int i = 0; i < nmodels; i++) {
        if (axl_graph_load(models[i], &graphs[i], msg) != AXL_OK ||
            axl_dataset_open(data, graphs[i], &dsets[i], msg) != AXL_OK) {
            fprintf(stderr, "axlut sweep: %s\n", msg);
            goto out_g;
        }
    }
    /* the points */
    size_t cap = 64, np = 0;
    struct point *pts = malloc(cap * sizeof *pts);
    if (!pts)
        goto out_g;
    for (int mi = 0; mi < nmodels; mi++) {
        struct axl_graph *g = graphs[mi];
        size_t nn = axl_graph_node_count(g);
        size_t nl = sensitivity ? nn : 1;
        for (size_t li = 0; li < nl; li++) {
            const char *lay = layers_glob ? layers_glob : "*";
            if (sensitivity) {
                if (!axl_graph_node_is_mac(g, li))
                    continue;
                lay = axl_graph_node_name(g, li);
            }
            size_t fN = sensitivity ? 1 : nf, dN = sensitivity ? 1 : nd;
            size_t aN = sensitivity ? 1 : nacc, adN = sensitivity ? (nadd ? 1 : 0) : nadd;
            for (size_t fi = 0; fi < fN; fi++)
                for (size_t di = 0; di < dN; di++)
                    for (size_t ci = 0; ci < aN; ci++)
                        for (size_t ai = 0; ai < (adN ? adN : 1); ai++) {
                            if (np == cap) {
                                cap *= 2;
                                struct point *q = realloc(pts, cap * sizeof *pts);
                                if (!q)
                                    goto out_p;
                                pts = q;
                            }
                            struct point *p = &pts[np++];
                            p->model = models[mi];
                            p->design = dl[di].label;
                            p->di = di;
                            p->format = fmts[fi];
                            p->acc = accl[ci];
                            p->adder = adN ? al[ai].label : "";
                            p->ai = ai;
                            p->layers = lay;
                            make_key(p);
                        }
        }
    }
    /* validate every configuration before any work (no tables are built) */
    for (size_t i = 0; i < np; i++) {
        struct axl_mac_spec s;
        point_spec(&pts[i], dl, al, NULL, &s);
        s.path = AXL_PATH_FUNCTION;
        struct axl_mac *m;
        if (axl_mac_create(&s, &m, msg) != AXL_OK) {
            fprintf(stderr, "axlut sweep: %s on %s: %s\n", pts[i].design, pts[i].format, msg);
            goto out_p;
        }
        axl_mac_free(m);
    }
    char csv[1100], json[1100];
    snprintf(csv, sizeof csv, "%s.csv", outp);
    snprintf(json, sizeof json, "%s.json", outp);
    struct row *done = NULL;
    size_t ndone = 0;
    if (!load_done(csv, &done, &ndone, msg)) {
        fprintf(stderr, "axlut sweep: %s\n", msg);
        goto out_p;
    }
    FILE *f = fopen(csv, ndone || access(csv, F_OK) == 0 ? "a" : "w");
    if (!f) {
        fprintf(stderr, "axlut sweep: %s: cannot write\n", csv);
        free(done);
        goto out_p;
    }
    if (ftell(f) == 0)
        fprintf(f, "%s\n", k_header);
    fflush(f);
    rc = CLI_FAIL;
    int tty = isatty(2) && !quiet;
    size_t skipped = 0;
    for (size_t i = 0; i < np; i++) {
        struct point *p = &pts[i];
        int is_done = 0;
        for (size_t k = 0; k < ndone && !is_done; k++) {
            char uk[1024];
            unquote_key(done[k].key, uk, sizeof uk);
            is_done = !strcmp(uk, p->key);
        }
        if (is_done) {
            skipped++;
            continue;
        }
        if (tty)
            fprintf(stderr, "\rpoint %zu/%zu: %s %s %s ... ", i + 1, np, p->design, p->format,
                    p->layers);
        size_t mi = 0;
        while (strcmp(models[mi], p->model))
            mi++;
        struct axl_graph *g = graphs[mi];
        size_t nn = axl_graph_node_count(g);
        char tpath[1024];
        if (!cached_table(&dl[p->di], p->format, tpath, sizeof tpath, quiet, msg)) {
            fprintf(stderr, "\naxlut sweep: %s on %s: %s\n", p->design, p->format, msg);
            break;
        }
        struct axl_mac_spec s;
        point_spec(p, dl, al, tpath[0] ? tpath : NULL, &s);
        struct axl_mac *m = NULL;
        if (axl_mac_create(&s, &m, msg) != AXL_OK) {
            fprintf(stderr, "\naxlut sweep: %s on %s: %s\n", p->design, p->format, msg);
            break;
        }
        const struct axl_mac **macs = calloc(nn, sizeof *macs);
        for (size_t n = 0; macs && n < nn; n++)
            if (axl_graph_node_is_mac(g, n) &&
                (sensitivity ? !strcmp(axl_graph_node_name(g, n), p->layers)
                             : fnmatch(p->layers, axl_graph_node_name(g, n), 0) == 0))
                macs[n] = m;
        struct axl_run_settings set = {be, batch, limit, NULL, NULL, NULL, 0};
        struct axl_run_report r;
        enum axl_status st = macs ? axl_run_dataset(g, macs, dsets[mi], &set, &r, msg)
                                  : AXL_ERR_NOMEM;
        free(macs);
        axl_mac_free(m);
        if (st != AXL_OK) {
            fprintf(stderr, "\naxlut sweep: %s: %s\n", p->key, msg);
            break;
        }
        double worst = INFINITY;
        for (size_t k = 0; k < r.nlayers; k++)
            if (r.layers[k].approximate && r.layers[k].local.snr_db < worst)
                worst = r.layers[k].local.snr_db;
        csv_field(f, p->model, 0);
        csv_field(f, p->design, 0);
        csv_field(f, p->format, 0);
        csv_field(f, p->acc, 0);
        csv_field(f, p->adder, 0);
        csv_field(f, p->layers, 0);
        fprintf(f, "%lld,%.6f,%.6f,%.6f,%.3f,%.3f,%.3f\n", (long long)r.samples, r.top1,
                r.exact_top1, r.agreement, worst, r.output_error.snr_db, r.seconds);
        fflush(f);
        axl_run_report_free(&r);
        if (i + 1 == np)
            rc = CLI_OK;
    }
    if (np == skipped)
        rc = CLI_OK;
    if (tty)
        fprintf(stderr, "\r%60s\r", "");
    fclose(f);
    free(done);
    if (rc == CLI_OK && !write_json(csv, json, msg)) {
        fprintf(stderr, "axlut sweep: %s\n", msg);
        rc = CLI_FAIL;
    }
    if (rc == CLI_OK && !quiet)
        printf("axlut sweep: %zu points (%zu from an earlier run) in %s and %s\n", np, skipped,
               csv, json);
out_p:
    free(pts);
out_g:
    for (int i = 0; graphs && i < nmodels; i++) {
        axl_dataset_close(dsets ? dsets[i] : NULL);
        axl_graph_free(graphs[i]);
    }
    free(graphs);
    free(dsets);
out:
    free(fmts);
    free(accl);
    free(dl);
    free(al);
    return rc;
}
