/* The entry points added for bindings of libaxlut.so (python/): array
 * encode/decode, configurations from JSON text, one layer's engine. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/format.h"
#include "axlut/layers.h"
#include "format_ref.h"

/* decode_array over every code against the slow reference; encode_array of
 * those values gives the codes back (NaN: a NaN code, -0 of FNUZ: 0). */
Test(binding, decode_and_encode_arrays_over_every_code)
{
    const char *names[] = {"e4m3", "e5m2", "e2m1", "fp16", "bf16", "int8", "uint4", "e3m2"};
    for (size_t fi = 0; fi < sizeof names / sizeof names[0]; fi++) {
        struct axl_format f;
        cr_assert_eq(axl_format_parse(names[fi], &f, NULL), AXL_OK);
        size_t n = (size_t)1 << f.bits;
        uint32_t *codes = malloc(n * sizeof *codes), *back = malloc(n * sizeof *back);
        float *vals = malloc(n * sizeof *vals);
        for (size_t i = 0; i < n; i++)
            codes[i] = (uint32_t)i;
        axl_format_decode_array(&f, codes, n, vals);
        axl_format_encode_array(&f, vals, n, AXL_ROUND_NEAREST_EVEN, 0, back);
        int bad = 0;
        for (size_t i = 0; i < n && bad < 10; i++) {
            double want = ref_decode(&f, (uint32_t)i);
            int ok = isnan(want) ? isnan(vals[i]) && ref_is_nan(&f, back[i])
                                 : (double)vals[i] == want && !signbit(vals[i]) == !signbit(want) &&
                                       (back[i] == i || (want == 0 && f.special == AXL_SPECIAL_FNUZ));
            if (!ok)
                cr_log_error("%s code 0x%zx: decoded %g (want %g), encoded back 0x%x", names[fi],
                             i, vals[i], want, back[i]),
                    bad++;
        }
        cr_expect_eq(bad, 0, "%s", names[fi]);
        free(codes), free(back), free(vals);
    }
}

/* Stochastic rounding: element i draws axl_rand32(seed, i), whatever the
 * threads, as axlut quantize numbers its values. */
Test(binding, stochastic_encode_array_numbers_elements)
{
    struct axl_format f;
    cr_assert_eq(axl_format_parse("e4m3", &f, NULL), AXL_OK);
    enum { N = 200000 };
    float *x = malloc(N * sizeof *x);
    uint32_t *c = malloc(N * sizeof *c);
    for (int i = 0; i < N; i++)
        x[i] = 1.0f + (float)(i % 97) / 1024.0f;
    axl_format_encode_array(&f, x, N, AXL_ROUND_STOCHASTIC, 42, c);
    int bad = 0, up = 0;
    for (int i = 0; i < N; i++) {
        uint32_t want = axl_format_encode(&f, x[i], AXL_ROUND_STOCHASTIC, axl_rand32(42, (uint64_t)i));
        bad += c[i] != want;
        up += axl_format_decode(&f, c[i]) > x[i];
    }
    cr_assert_eq(bad, 0);
    cr_assert(up > 0 && up < N, "stochastic rounding went one way only (%d up)", up);
    free(x), free(c);
}

Test(binding, parse_json_text_and_one_layer_engine)
{
    char msg[AXL_MSG_LEN], d[320];
    struct axl_layers *l;
    cr_assert_eq(axl_layers_parse_json("{\"default\": {\"mul\": \"fpmul_drum\", \"params\": {\"k\": 4},"
                                       " \"format\": \"e4m3\"}, \"layers\": [{\"match\": \"fc*\","
                                       " \"exact\": true}]}",
                                       "cfg", &l, msg),
                 AXL_OK, "%s", msg);
    struct axl_mac *m;
    cr_assert_eq(axl_layers_mac(l, "conv1", "Conv", &m, msg), AXL_OK, "%s", msg);
    axl_mac_describe(m, d, sizeof d);
    cr_expect(strstr(d, "fpmul_drum(k=4) e4m3fn x e4m3fn"), "%s", d);
    axl_mac_free(m);
    /* a layer the rules keep exact gets the exact float32 engine */
    cr_assert_eq(axl_layers_mac(l, "fc1", "Gemm", &m, msg), AXL_OK, "%s", msg);
    axl_mac_describe(m, d, sizeof d);
    cr_expect(strstr(d, "fp32 x fp32"), "%s", d);
    axl_mac_free(m);
    axl_layers_free(l);

    cr_assert_eq(axl_layers_parse_json("{\"default\": {\"colour\": 1}}", "mine", &l, msg),
                 AXL_ERR_INVALID);
    cr_expect(strstr(msg, "mine: default: ") && strstr(msg, "colour"), "%s", msg);
    cr_assert_null(l);
    cr_assert_eq(axl_layers_parse_json("{\"default\": ", NULL, &l, msg), AXL_ERR_FORMAT);
    cr_expect(strstr(msg, "configuration: line 1"), "%s", msg);

    cr_assert_eq(axl_layers_new(&l, msg), AXL_OK);
    cr_assert_eq(axl_layers_set_default(l, "mul", "no_such_design", msg), AXL_OK);
    cr_assert_eq(axl_layers_mac(l, "conv2", "Conv", &m, msg), AXL_ERR_INVALID);
    cr_expect(strstr(msg, "layer conv2 (Conv): ") && strstr(msg, "no_such_design"), "%s", msg);
    cr_assert_null(m);
    axl_layers_free(l);
}
