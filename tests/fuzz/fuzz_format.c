/* Fuzz target: a format name (axl_format_parse, as --format reads one).  A
 * name that parses must describe a format whose codes encode and decode
 * consistently: decode(encode(decode(c))) == decode(c) for values that
 * float32 holds as normal numbers. */
#include "fuzz.h"

#include <math.h>

#include <axlut/format.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *name = fuzz_cstr(data, size);
    if (!name)
        return 0;
    struct axl_format f;
    char msg[AXL_MSG_LEN];
    if (axl_format_parse(name, &f, msg) != AXL_OK) {
        fuzz_check_msg(msg);
        free(name);
        return 0;
    }
    if (f.bits < 1 || f.bits > 32 || !memchr(f.name, 0, sizeof f.name))
        __builtin_trap();
    /* a handful of codes, spread over the code space */
    uint32_t mask = f.bits == 32 ? 0xffffffffu : (1u << f.bits) - 1u;
    for (uint32_t k = 0; k < 64; k++) {
        uint32_t c = (uint32_t)(k * 0x9e3779b9u) & mask;
        float v = axl_format_decode(&f, c);
        /* a value float cannot hold exactly (a wide bias) proves nothing */
        if (!isfinite(v) || (v != 0.0f && fabsf(v) < 1.17549435e-38f))
            continue;
        uint32_t c2 = axl_format_encode(&f, v, AXL_ROUND_NEAREST_EVEN, 0);
        float v2 = axl_format_decode(&f, c2);
        if (!(v2 == v))
            __builtin_trap();
    }
    free(name);
    return 0;
}
