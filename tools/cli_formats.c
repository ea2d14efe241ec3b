/* axlut list formats, axlut quantize. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/format.h"
#include "cli.h"

int cli_is_help(const char *arg) { return !strcmp(arg, "--help") || !strcmp(arg, "-h"); }

int cli_backend(const char *cmd, const char *device, enum axl_backend *out)
{
    *out = AXL_BACKEND_CPU;
    if (!strcmp(device, "cpu"))
        return CLI_OK;
    if (strcmp(device, "cuda")) {
        fprintf(stderr, "%s: --device must be cpu or cuda, not '%s'\n", cmd, device);
        return CLI_USAGE;
    }
    if (axl_cuda_device_count(NULL, 0) > 0)
        *out = AXL_BACKEND_CUDA;
    else
        fprintf(stderr, "%s: notice: no CUDA device %s; running on the CPU\n", cmd,
                axl_cuda_compiled() ? "is visible" : "(built without CUDA)");
    return CLI_OK;
}

static void print_value(float v)
{
    if (isnan(v))
        printf("%-14s", "nan");
    else if (isinf(v))
        printf("%-14s", v > 0 ? "inf" : "-inf");
    else
        printf("%-14.7g", (double)v);
}

static int list_formats(void)
{
    printf("%-10s %4s %5s %14s %14s %14s %14s  %s\n", "name", "bits", "bias", "max finite",
           "min normal", "min subnormal", "epsilon", "spec / note");
    for (size_t i = 0; i < axl_format_named_count(); i++) {
        struct axl_format f;
        char msg[AXL_MSG_LEN];
        if (axl_format_parse(axl_format_named(i), &f, msg) != AXL_OK) {
            fprintf(stderr, "axlut: internal error: %s\n", msg);
            return CLI_FAIL;
        }
        printf("%-10s %4u ", axl_format_named(i), (unsigned)f.bits);
        if (f.kind == AXL_KIND_FLOAT)
            printf("%5d ", (int)f.bias);
        else
            printf("%5s ", "-");
        print_value(axl_format_max_finite(&f));
        printf(" ");
        if (f.kind == AXL_KIND_FLOAT) {
            print_value(axl_format_min_normal(&f));
            printf(" ");
            if (f.subnormals && f.mbits)
                print_value(axl_format_min_subnormal(&f));
            else
                printf("%-14s", "none");
            printf(" ");
            print_value(axl_format_epsilon(&f));
        } else {
            printf("%-14s %-14s %-14s", "-", "-", "-");
        }
        if (f.kind == AXL_KIND_FLOAT)
            printf("  e%um%u %s: %s\n", (unsigned)f.ebits, (unsigned)f.mbits, axl_special_name(f.special),
                   axl_format_named_note(i));
        else
            printf("  %s\n", axl_format_named_note(i));
    }
    printf("\nCustom formats: e<X>m<Y>[b<bias>][fn|fnuz|fin|ieee][nosub][sat|nonsat],\n"
           "1<=X<=8, 0<=Y<=23; named formats also take [nosub][sat|nonsat] (fp16nosub).\n"
           "Integers: int<N>, uint<N>, 2<=N<=16.  See docs/FORMATS.md.\n");
    return CLI_OK;
}

int cli_list(int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        FILE *o = argc < 2 ? stderr : stdout;
        fprintf(o, "usage: axlut list formats|designs\n\n"
                   "  formats  every named number format with its range and precision\n"
                   "  designs  every built-in arithmetic design with parameters and citation\n");
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    if (!strcmp(argv[1], "formats"))
        return list_formats();
    if (!strcmp(argv[1], "designs"))
        return cli_list_designs();
    fprintf(stderr, "axlut list: unknown list '%s' (formats or designs)\n", argv[1]);
    return CLI_USAGE;
}

static void quantize_usage(FILE *o)
{
    fprintf(o,
            "usage: axlut quantize FORMAT [--round MODE] [--seed N] [--raw] [--] VALUE...\n\n"
            "Encodes each VALUE (float32) into FORMAT and prints the code in hex and the\n"
            "value it decodes to.  Negative values work as they are or after '--'.\n\n"
            "  --round MODE  nearest (default), zero, up, down, stochastic\n"
            "  --seed N      seed of stochastic rounding (value i uses element index i)\n"
            "  --raw         read little-endian float32 from stdin, write little-endian\n"
            "                uint32 codes to stdout\n");
}

/* A value argument: a number as strtof reads it (also inf, nan, -0). */
static int parse_value(const char *s, float *v)
{
    char *end;
    errno = 0;
    *v = strtof(s, &end);
    return end != s && *end == '\0';
}

static int quantize_raw(const struct axl_format *f, enum axl_round r, uint64_t seed)
{
    float in[4096];
    uint32_t out[4096];
    uint64_t index = 0;
    size_t n;
    while ((n = fread(in, sizeof in[0], 4096, stdin)) > 0) {
        for (size_t i = 0; i < n; i++, index++)
            out[i] = axl_format_encode(f, in[i], r, axl_rand32(seed, index));
        if (fwrite(out, sizeof out[0], n, stdout) != n) {
            fprintf(stderr, "axlut quantize: write to stdout failed\n");
            return CLI_FAIL;
        }
    }
    if (ferror(stdin)) {
        fprintf(stderr, "axlut quantize: read from stdin failed\n");
        return CLI_FAIL;
    }
    return CLI_OK;
}

int cli_quantize(int argc, char **argv)
{
    const char *fmt_name = NULL;
    enum axl_round round = AXL_ROUND_NEAREST_EVEN;
    uint64_t seed = 0;
    int raw = 0, only_values = 0;
    float *vals = calloc((size_t)argc, sizeof *vals);
    int nv = 0;
    if (!vals)
        return CLI_FAIL;
    int rc = CLI_USAGE;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        float v;
        if (!only_values && cli_is_help(a)) {
            quantize_usage(stdout);
            rc = CLI_OK;
            goto done;
        } else if (!only_values && !strcmp(a, "--")) {
            only_values = 1;
        } else if (!only_values && !strcmp(a, "--round")) {
            if (i + 1 >= argc || axl_round_parse(argv[i + 1], &round) != AXL_OK) {
                fprintf(stderr, "axlut quantize: --round needs one of nearest, zero, up, down, "
                                "stochastic\n");
                goto done;
            }
            i++;
        } else if (!only_values && !strcmp(a, "--seed")) {
            char *end;
            if (i + 1 >= argc || (seed = strtoull(argv[i + 1], &end, 0), *end != '\0')) {
                fprintf(stderr, "axlut quantize: --seed needs an integer\n");
                goto done;
            }
            i++;
        } else if (!only_values && !strcmp(a, "--raw")) {
            raw = 1;
        } else if (!fmt_name && !(a[0] == '-' && parse_value(a, &v))) {
            if (!only_values && a[0] == '-' && a[1] == '-') {
                fprintf(stderr, "axlut quantize: unknown option '%s'\n", a);
                goto done;
            }
            fmt_name = a;
        } else if (parse_value(a, &v)) {
            vals[nv++] = v;
        } else {
            fprintf(stderr, "axlut quantize: '%s' is not a number\n", a);
            goto done;
        }
    }
    if (!fmt_name) {
        quantize_usage(stderr);
        goto done;
    }
    struct axl_format f;
    char msg[AXL_MSG_LEN];
    if (axl_format_parse(fmt_name, &f, msg) != AXL_OK) {
        fprintf(stderr, "axlut quantize: %s\n", msg);
        goto done;
    }
    if (raw) {
        if (nv) {
            fprintf(stderr, "axlut quantize: --raw reads values from stdin, not arguments\n");
            goto done;
        }
        rc = quantize_raw(&f, round, seed);
        goto done;
    }
    if (nv == 0) {
        fprintf(stderr, "axlut quantize: no values given\n");
        goto done;
    }
    int hexw = (f.bits + 3) / 4;
    printf("%-16s %-*s %s\n", "value", hexw + 2 > 6 ? hexw + 2 : 6, "code", f.name);
    for (int i = 0; i < nv; i++) {
        uint32_t code = axl_format_encode(&f, vals[i], round, axl_rand32(seed, (uint64_t)i));
        char hex[16];
        snprintf(hex, sizeof hex, "0x%0*x", hexw, code);
        printf("%-16.9g %-*s ", (double)vals[i], hexw + 2 > 6 ? hexw + 2 : 6, hex);
        print_value(axl_format_decode(&f, code));
        printf("\n");
    }
    rc = CLI_OK;
done:
    free(vals);
    return rc;
}
