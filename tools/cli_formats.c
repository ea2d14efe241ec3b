/* axlut list formats, axlut quantize. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "axlut/block.h"
#include "axlut/format.h"
#include "axlut/scale.h"
#include "cli.h"

int cli_exit_for(enum axl_status st)
{
    switch (st) {
    case AXL_OK: return CLI_OK;
    case AXL_ERR_INVALID:
    case AXL_ERR_FORMAT:
    case AXL_ERR_MISMATCH:
    case AXL_ERR_UNSUPPORTED:
    case AXL_ERR_TOO_LARGE: return CLI_USAGE;
    default: return CLI_FAIL; /* NOMEM, IO, CUDA, COMPILE (the compiler's own failure) */
    }
}

int cli_input_file(const char *cmd, const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0 || S_ISREG(sb.st_mode) || S_ISDIR(sb.st_mode))
        return CLI_OK;
    fprintf(stderr, "%s: %s: not a regular file\n", cmd, path);
    return CLI_USAGE;
}

/* 1 when a and b name one file: the same device and inode when both
 * exist, the same name otherwise. */
static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    int ea = stat(a, &sa) == 0, eb = stat(b, &sb) == 0;
    if (ea && eb)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    return !ea && !eb && !strcmp(a, b);
}

int cli_outputs_distinct(const char *cmd, const struct cli_file *outs, size_t nout,
                         const struct cli_file *ins, size_t nin)
{
    for (size_t i = 0; i < nout; i++) {
        if (!outs[i].path)
            continue;
        for (size_t k = 0; k < nin + i; k++) {
            const struct cli_file *o = k < nin ? &ins[k] : &outs[k - nin];
            if (!o->path || !same_file(outs[i].path, o->path))
                continue;
            fprintf(stderr, "%s: %s %s is the same file as %s %s (%s); choose another %s\n",
                    cmd, outs[i].opt, outs[i].path, o->opt, o->path,
                    k < nin ? "it would be replaced by the output" : "both outputs would write it",
                    outs[i].opt);
            return CLI_USAGE;
        }
    }
    return CLI_OK;
}

void cli_pct(char *buf, size_t n, double v)
{
    if (isnan(v))
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%.2f%%", 100 * v);
}

void cli_bar(const char *label, int64_t done, int64_t total, const char *suffix)
{
    int w = 40, filled = (int)(w * done / (total ? total : 1));
    fprintf(stderr, "\r%s [", label);
    for (int i = 0; i < w; i++)
        fputc(i < filled ? '=' : (i == filled ? '>' : ' '), stderr);
    fprintf(stderr, "] %lld/%lld%s", (long long)done, (long long)total, suffix);
    if (done >= total)
        fprintf(stderr, "\r%*s\r", 100, "");
    fflush(stderr);
}

void cli_samples_bar(void *tty, int64_t done, int64_t total)
{
    if (*(const int *)tty)
        cli_bar("samples", done, total, "");
}

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
    cli_list_block_formats();
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
            "usage: axlut quantize FORMAT [--round MODE] [--seed N] [--scale S] [--raw] [--] VALUE...\n"
            "       axlut quantize FORMAT --decode [--raw] CODE...\n\n"
            "Encodes each VALUE (float32) into FORMAT and prints the code in hex and the\n"
            "value it decodes to.  Negative values work as they are or after '--'.\n"
            "With --decode, prints the value of each CODE (decimal or 0x hex) instead.\n\n"
            "  --round MODE  nearest (default), zero, up, down, stochastic\n"
            "  --seed N      seed of stochastic rounding (value i uses element index i)\n"
            "  --decode      decode codes of FORMAT to values\n"
            "  --scale S     floating formats: encode x * s, s from the values' largest\n"
            "                magnitude: amax (s = max finite / amax) or amax-pow2 (s rounded\n"
            "                down to a power of two); prints s and decode(code) / s\n"
            "  --raw         read little-endian float32 from stdin, write little-endian\n"
            "                uint32 codes to stdout (with --decode: uint32 codes in,\n"
            "                float32 values out); a trailing partial value is an error\n\n"
            "Block-scaled formats (mxfp8, mxfp8e5m2, mxfp6e3m2, mxfp6e2m3, mxfp4, mxint8,\n"
            "nvfp4) quantize consecutive values in whole blocks (the last one padded with\n"
            "zeros) and print each block's scale code and its elements' codes.  Their\n"
            "--raw output is, per block, the scale code and the element codes as uint32\n"
            "(nvfp4: the float32 tensor scale first); --raw --decode reads that back.\n");
}

/* A value argument: a number as strtof reads it (also inf, nan, -0). */
static int parse_value(const char *s, float *v)
{
    char *end;
    errno = 0;
    *v = strtof(s, &end);
    return end != s && *end == '\0';
}

/* A code argument of f: decimal or 0x hex, below 2^bits. */
static int parse_code(const struct axl_format *f, const char *s, uint32_t *code)
{
    int hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    const char *digits = hex ? s + 2 : s;
    char *end;
    if (!(hex ? isxdigit((unsigned char)digits[0]) : isdigit((unsigned char)digits[0])))
        return 0;
    errno = 0;
    unsigned long long v = strtoull(digits, &end, hex ? 16 : 10);
    if (*end || errno == ERANGE || v >> f->bits)
        return 0;
    *code = (uint32_t)v;
    return 1;
}

/* --raw: 4-byte items from stdin, each item through one() into 4 bytes on
 * stdout.  A trailing partial item is refused (CLI_USAGE), not dropped. */
static int raw_stream(const struct axl_format *f, enum axl_round r, uint64_t seed, int decode)
{
    unsigned char in[4 * 4096];
    uint32_t out[4096];
    uint64_t index = 0;
    size_t have = 0, n;
    while ((n = fread(in + have, 1, sizeof in - have, stdin)) > 0) {
        have += n;
        size_t items = have / 4;
        for (size_t i = 0; i < items; i++, index++) {
            if (decode) {
                uint32_t code;
                memcpy(&code, in + 4 * i, 4);
                if (code >> f->bits) {
                    fprintf(stderr, "axlut quantize: code %llu (0x%x) does not fit in %s (%u "
                                    "bits)\n",
                            (unsigned long long)index, code, f->name, (unsigned)f->bits);
                    return CLI_USAGE;
                }
                float v = axl_format_decode(f, code);
                memcpy(&out[i], &v, 4);
            } else {
                float v;
                memcpy(&v, in + 4 * i, 4);
                out[i] = axl_format_encode(f, v, r, axl_rand32(seed, index));
            }
        }
        if (fwrite(out, sizeof out[0], items, stdout) != items) {
            fprintf(stderr, "axlut quantize: write to stdout failed\n");
            return CLI_FAIL;
        }
        have -= 4 * items;
        memmove(in, in + 4 * items, have);
    }
    if (ferror(stdin)) {
        fprintf(stderr, "axlut quantize: read from stdin failed\n");
        return CLI_FAIL;
    }
    if (have) {
        fprintf(stderr, "axlut quantize: stdin ends with a partial %s (%zu of 4 bytes) after "
                        "%llu whole ones\n",
                decode ? "code" : "value", have, (unsigned long long)index);
        return CLI_USAGE;
    }
    return CLI_OK;
}

int cli_quantize(int argc, char **argv)
{
    const char *fmt_name = NULL;
    enum axl_round round = AXL_ROUND_NEAREST_EVEN;
    uint64_t seed = 0;
    int raw = 0, decode = 0, only_values = 0, scale_mode = 0;
    float *vals = calloc((size_t)argc, sizeof *vals);
    const char **texts = calloc((size_t)argc, sizeof *texts);
    int nv = 0;
    if (!vals || !texts) {
        free(vals);
        free(texts);
        return CLI_FAIL;
    }
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
        } else if (!only_values && !strcmp(a, "--scale")) {
            if (i + 1 >= argc || (strcmp(argv[i + 1], "amax") && strcmp(argv[i + 1], "amax-pow2"))) {
                fprintf(stderr, "axlut quantize: --scale needs amax or amax-pow2\n");
                goto done;
            }
            scale_mode = strcmp(argv[++i], "amax") ? 2 : 1;
        } else if (!only_values && !strcmp(a, "--raw")) {
            raw = 1;
        } else if (!only_values && !strcmp(a, "--decode")) {
            decode = 1;
        } else if (!fmt_name && !(a[0] == '-' && parse_value(a, &v))) {
            if (!only_values && a[0] == '-' && a[1] == '-') {
                fprintf(stderr, "axlut quantize: unknown option '%s'\n", a);
                goto done;
            }
            fmt_name = a;
        } else if (parse_value(a, &v)) {
            texts[nv] = a;
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
    if (axl_block_format_is(fmt_name)) {
        if (scale_mode) {
            fprintf(stderr, "axlut quantize: --scale is for plain floating formats; %s carries "
                            "its own block scales\n", fmt_name);
            goto done;
        }
        rc = cli_quantize_block(fmt_name, round, seed, raw, decode, vals, nv);
        goto done;
    }
    struct axl_format f;
    char msg[AXL_MSG_LEN];
    if (axl_format_parse(fmt_name, &f, msg) != AXL_OK) {
        fprintf(stderr, "axlut quantize: %s\n", msg);
        goto done;
    }
    if (scale_mode && f.kind != AXL_KIND_FLOAT) {
        fprintf(stderr, "axlut quantize: --scale is for floating formats; %s is an integer "
                        "format (affine quantization has its own scale)\n", f.name);
        goto done;
    }
    if (scale_mode && (raw || decode)) {
        fprintf(stderr, "axlut quantize: --scale takes values as arguments (not --raw or "
                        "--decode): it prints the scale it chose\n");
        goto done;
    }
    if (raw) {
        if (nv) {
            fprintf(stderr, "axlut quantize: --raw reads values from stdin, not arguments\n");
            goto done;
        }
        rc = raw_stream(&f, round, seed, decode);
        goto done;
    }
    if (nv == 0) {
        fprintf(stderr, "axlut quantize: no %s given\n", decode ? "codes" : "values");
        goto done;
    }
    int hexw = (f.bits + 3) / 4;
    if (decode) {
        uint32_t *codes = calloc((size_t)nv, sizeof *codes);
        if (!codes) {
            rc = CLI_FAIL;
            goto done;
        }
        for (int i = 0; i < nv; i++)
            if (!parse_code(&f, texts[i], &codes[i])) {
                fprintf(stderr, "axlut quantize: '%s' is not a code of %s (decimal or 0x hex "
                                "below 2^%u)\n",
                        texts[i], f.name, (unsigned)f.bits);
                free(codes);
                goto done;
            }
        printf("%-*s %s\n", hexw + 2 > 6 ? hexw + 2 : 6, "code", f.name);
        for (int i = 0; i < nv; i++) {
            char hex[16];
            snprintf(hex, sizeof hex, "0x%0*x", hexw, codes[i]);
            printf("%-*s ", hexw + 2 > 6 ? hexw + 2 : 6, hex);
            print_value(axl_format_decode(&f, codes[i]));
            printf("\n");
        }
        free(codes);
        rc = CLI_OK;
        goto done;
    }
    float s = 1.0f;
    if (scale_mode) {
        s = axl_scale_for(&f, axl_scale_amax(vals, nv, 1), scale_mode == 2, 0);
        printf("scale s = %.9g (amax %.9g); codes of x * s, decoded / s\n", (double)s,
               (double)axl_scale_amax(vals, nv, 1));
    }
    printf("%-16s %-*s %s\n", "value", hexw + 2 > 6 ? hexw + 2 : 6, "code", f.name);
    for (int i = 0; i < nv; i++) {
        uint32_t code = axl_format_encode(&f, vals[i] * s, round, axl_rand32(seed, (uint64_t)i));
        char hex[16];
        snprintf(hex, sizeof hex, "0x%0*x", hexw, code);
        printf("%-16.9g %-*s ", (double)vals[i], hexw + 2 > 6 ? hexw + 2 : 6, hex);
        print_value(axl_format_decode(&f, code) / s);
        printf("\n");
    }
    rc = CLI_OK;
done:
    free(vals);
    free(texts);
    return rc;
}
