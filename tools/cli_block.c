/* axlut list formats (the block-scaled part) and axlut quantize of a
 * block-scaled format: whole blocks of consecutive values, element codes
 * and block scales.
 *
 * --raw layout, little-endian 32-bit words: for nvfp4 first the float32
 * tensor scale, then per block the scale code and `size` element codes
 * (the last block zero-padded).  --raw --decode reads that back and writes
 * every element of every block as float32. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/block.h"
#include "cli.h"

static const char *scale_name(const struct axl_block_format *bf)
{
    return bf->scale == AXL_BSCALE_E8M0 ? "E8M0" : "E4M3";
}

void cli_list_block_formats(void)
{
    printf("\nBlock-scaled formats (blocks along the reduction axis; docs/FORMATS.md):\n");
    printf("%-10s %5s %-8s %-6s %5s  %s\n", "name", "block", "element", "scale", "emax",
           "spec / note");
    for (size_t i = 0; i < axl_block_named_count(); i++) {
        struct axl_block_format bf;
        if (axl_block_format_parse(axl_block_named(i), &bf, NULL) != AXL_OK)
            continue;
        printf("%-10s %5u %-8s %-6s %5d  %s\n", bf.name, (unsigned)bf.size, bf.elem.name,
               scale_name(&bf), (int)bf.emax, axl_block_named_note(i));
    }
}

static void print_value(float v)
{
    if (isnan(v))
        printf("%s", "nan");
    else if (isinf(v))
        printf("%s", v > 0 ? "inf" : "-inf");
    else
        printf("%.7g", (double)v);
}

/* Reads all of stdin (4-byte items); NULL with a message on a partial
 * item or a read error (*rc set). */
static uint32_t *read_words(int64_t *n, int *rc)
{
    size_t cap = 4096, have = 0;
    unsigned char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + have, 1, cap - have, stdin)) > 0) {
        have += got;
        if (have == cap) {
            unsigned char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    if (!buf || ferror(stdin)) {
        fprintf(stderr, "axlut quantize: %s\n", buf ? "read from stdin failed" : "out of memory");
        free(buf);
        *rc = CLI_FAIL;
        return NULL;
    }
    if (have % 4) {
        fprintf(stderr, "axlut quantize: stdin ends with a partial value (%zu of 4 bytes) after "
                        "%zu whole ones\n", have % 4, have / 4);
        free(buf);
        *rc = CLI_USAGE;
        return NULL;
    }
    *n = (int64_t)(have / 4);
    return (uint32_t *)(void *)buf; /* malloc'd: aligned for any type */
}

static int write_words(const void *p, size_t n)
{
    if (fwrite(p, 4, n, stdout) != n) {
        fprintf(stderr, "axlut quantize: write to stdout failed\n");
        return CLI_FAIL;
    }
    return CLI_OK;
}

/* --raw --decode: the layout above in, float32 values out. */
static int raw_decode(const struct axl_block_format *bf)
{
    int rc = CLI_OK;
    int64_t n;
    uint32_t *w = read_words(&n, &rc);
    if (!w)
        return rc;
    const int64_t head = bf->scale == AXL_BSCALE_E4M3, per = 1 + bf->size;
    float ts = 1.0f;
    if (head && n >= 1)
        memcpy(&ts, &w[0], 4);
    if (n < head || (n - head) % per) {
        fprintf(stderr, "axlut quantize: %s --raw --decode reads %s%s blocks of 1 scale and %u "
                        "element codes; %lld words is not that\n", bf->name,
                head ? "the tensor scale, then " : "", "whole", (unsigned)bf->size, (long long)n);
        free(w);
        return CLI_USAGE;
    }
    int64_t nb = (n - head) / per;
    uint32_t *codes = malloc((size_t)(nb ? nb : 1) * bf->size * 4);
    uint32_t *scales = malloc((size_t)(nb ? nb : 1) * 4);
    float *out = malloc((size_t)(nb ? nb : 1) * bf->size * 4);
    if (!codes || !scales || !out) {
        fprintf(stderr, "axlut quantize: out of memory\n");
        rc = CLI_FAIL;
        goto done;
    }
    for (int64_t b = 0; b < nb; b++) {
        const uint32_t *blk = w + head + b * per;
        scales[b] = blk[0];
        for (int i = 0; i < bf->size; i++)
            codes[b * bf->size + i] = blk[1 + i];
        int bad_scale = bf->scale == AXL_BSCALE_E8M0 ? blk[0] > 0xFFu : blk[0] >> bf->sfmt.bits;
        int bad_code = 0;
        for (int i = 0; i < bf->size; i++)
            bad_code |= blk[1 + i] >> bf->elem.bits != 0;
        if (bad_scale || bad_code) {
            fprintf(stderr, "axlut quantize: block %lld: a %s that does not fit %s\n",
                    (long long)b, bad_scale ? "scale code" : "element code", bf->name);
            rc = CLI_USAGE;
            goto done;
        }
    }
    char msg[AXL_MSG_LEN];
    if (axl_block_decode(bf, codes, scales, ts, nb * bf->size, out, msg) != AXL_OK) {
        fprintf(stderr, "axlut quantize: %s\n", msg);
        rc = CLI_USAGE;
        goto done;
    }
    rc = write_words(out, (size_t)(nb * bf->size));
done:
    free(w);
    free(codes);
    free(scales);
    free(out);
    return rc;
}

int cli_quantize_block(const char *name, enum axl_round round, uint64_t seed, int raw, int decode,
                       const float *vals, int nv)
{
    struct axl_block_format bf;
    char msg[AXL_MSG_LEN];
    if (axl_block_format_parse(name, &bf, msg) != AXL_OK) {
        fprintf(stderr, "axlut quantize: %s\n", msg);
        return CLI_USAGE;
    }
    if (decode && !raw) {
        fprintf(stderr, "axlut quantize: --decode of %s reads blocks (scale and element codes) "
                        "with --raw, as quantize --raw writes them\n", bf.name);
        return CLI_USAGE;
    }
    if (raw && decode)
        return raw_decode(&bf);
    int rc = CLI_OK;
    float *in = NULL;
    int64_t n = nv;
    if (raw) {
        uint32_t *w = read_words(&n, &rc);
        if (!w)
            return rc;
        in = (float *)(void *)w;
    } else {
        if (nv == 0) {
            fprintf(stderr, "axlut quantize: no values given\n");
            return CLI_USAGE;
        }
        in = malloc((size_t)nv * sizeof *in);
        if (!in) {
            fprintf(stderr, "axlut quantize: out of memory\n");
            return CLI_FAIL;
        }
        memcpy(in, vals, (size_t)nv * sizeof *in);
    }
    int64_t nb = axl_block_count(&bf, n);
    uint32_t *codes = malloc((size_t)(nb ? nb : 1) * bf.size * 4);
    uint32_t *scales = malloc((size_t)(nb ? nb : 1) * 4);
    float *back = malloc((size_t)(nb ? nb : 1) * bf.size * 4);
    float ts;
    if (!codes || !scales || !back) {
        fprintf(stderr, "axlut quantize: out of memory\n");
        rc = CLI_FAIL;
        goto done;
    }
    if (axl_block_quantize(&bf, in, n, round, seed, NULL, codes, scales, &ts, msg) != AXL_OK ||
        axl_block_decode(&bf, codes, scales, ts, nb * bf.size, back, msg) != AXL_OK) {
        fprintf(stderr, "axlut quantize: %s\n", msg);
        rc = CLI_USAGE;
        goto done;
    }
    if (raw) {
        if (bf.scale == AXL_BSCALE_E4M3 && (rc = write_words(&ts, 1)) != CLI_OK)
            goto done;
        for (int64_t b = 0; b < nb && rc == CLI_OK; b++)
            if ((rc = write_words(&scales[b], 1)) == CLI_OK)
                rc = write_words(&codes[b * bf.size], bf.size);
        goto done;
    }
    int hexw = (bf.elem.bits + 3) / 4;
    printf("%s: %lld value%s in %lld block%s of %u x %s, %s scales", bf.name, (long long)n,
           n == 1 ? "" : "s", (long long)nb, nb == 1 ? "" : "s", (unsigned)bf.size, bf.elem.name,
           scale_name(&bf));
    if (bf.scale == AXL_BSCALE_E4M3)
        printf(", tensor scale %.9g (values = element * block scale / tensor scale)", (double)ts);
    printf("\n");
    for (int64_t b = 0; b < nb; b++) {
        uint32_t s = scales[b];
        printf("block %lld: scale 0x%02x = ", (long long)b, s);
        print_value(axl_block_scale_value(&bf, s));
        printf("\n%-16s %-6s %s\n", "value", "code", "decoded");
        for (int64_t i = b * bf.size; i < (b + 1) * bf.size; i++) {
            char v[32], hex[16];
            if (i < n)
                snprintf(v, sizeof v, "%.9g", (double)in[i]);
            else
                snprintf(v, sizeof v, "(pad)");
            snprintf(hex, sizeof hex, "0x%0*x", hexw, codes[i]);
            printf("%-16s %-6s ", v, hex);
            print_value(back[i]);
            printf("\n");
        }
    }
done:
    free(in);
    free(codes);
    free(scales);
    free(back);
    return rc;
}
