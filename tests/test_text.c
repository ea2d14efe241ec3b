/* Text from files (formats/status.c): axl_utf8_copy keeps valid UTF-8 and
 * replaces each byte that does not start a valid sequence by U+FFFD (RFC
 * 3629's rules: no overlong forms, no surrogates, nothing above U+10FFFF),
 * checked against a decoder written here from the RFC's table; axl_msgf
 * keeps a message on one line. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "axlut/status.h"

#define FFFD "\xef\xbf\xbd"

Test(text, utf8_copy_cases)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"plain", "plain"},
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
        {"\xe9t\xe9", FFFD "t" FFFD},                    /* Latin-1 */
        {"\xc0\x80", FFFD FFFD},                          /* overlong NUL */
        {"\xe0\x80\xaf", FFFD FFFD FFFD},                 /* overlong '/' */
        {"\xed\xa0\x80", FFFD FFFD FFFD},                 /* a surrogate */
        {"\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD},        /* above U+10FFFF */
        {"\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"},         /* U+10FFFF */
        {"ab\xe2\x82", "ab" FFFD FFFD},                   /* cut short */
        {"\xff\xfe", FFFD FFFD},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[64];
        cr_expect_str_eq(axl_utf8_copy(out, sizeof out, cases[i].in), cases[i].out, "case %zu", i);
    }
}

/* A reference decoder from RFC 3629's table of well-formed sequences. */
static int ref_len(const unsigned char *s)
{
    static const struct {
        unsigned char lo0, hi0, lo1, hi1;
        int n;
    } rows[] = {
        {0x00, 0x7f, 0, 0, 1},       {0xc2, 0xdf, 0x80, 0xbf, 2}, {0xe0, 0xe0, 0xa0, 0xbf, 3},
        {0xe1, 0xec, 0x80, 0xbf, 3}, {0xed, 0xed, 0x80, 0x9f, 3}, {0xee, 0xef, 0x80, 0xbf, 3},
        {0xf0, 0xf0, 0x90, 0xbf, 4}, {0xf1, 0xf3, 0x80, 0xbf, 4}, {0xf4, 0xf4, 0x80, 0x8f, 4},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        if (s[0] < rows[r].lo0 || s[0] > rows[r].hi0)
            continue;
        if (rows[r].n == 1)
            return 1;
        if (s[1] < rows[r].lo1 || s[1] > rows[r].hi1)
            return 0;
        for (int k = 2; k < rows[r].n; k++)
            if (s[k] < 0x80 || s[k] > 0xbf)
                return 0;
        return rows[r].n;
    }
    return 0;
}

/* Every sequence of up to three bytes from a set that covers each row's
 * boundaries, with a tail: the copy equals the reference's. */
Test(text, utf8_copy_equals_a_reference_decoder)
{
    static const unsigned char v[] = {0x01, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0,
                                      0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0,
                                      0xf1, 0xf3, 0xf4, 0xf5, 0xff};
    const size_t nv = sizeof v;
    int bad = 0;
    for (size_t a = 0; a < nv; a++)
        for (size_t b = 0; b < nv; b++)
            for (size_t c = 0; c < nv; c++)
                for (size_t d = 0; d < nv; d += 3) {
                    unsigned char in[6] = {v[a], v[b], v[c], v[d], 'z', 0};
                    char want[64], got[64];
                    size_t k = 0;
                    for (const unsigned char *s = in; *s;) {
                        int n = ref_len(s);
                        memcpy(want + k, n ? (const char *)s : FFFD, n ? (size_t)n : 3);
                        k += n ? (size_t)n : 3;
                        s += n ? n : 1;
                    }
                    want[k] = 0;
                    axl_utf8_copy(got, sizeof got, (const char *)in);
                    if (strcmp(got, want) && bad++ < 10)
                        cr_log_error("%02x %02x %02x %02x: differs", in[0], in[1], in[2], in[3]);
                }
    cr_assert_eq(bad, 0, "%d inputs differ", bad);
}

Test(text, utf8_copy_truncates_at_a_character)
{
    char out[6];
    /* "a" + U+20AC (3 bytes) + "b": room for 5 bytes and the NUL */
    cr_assert_str_eq(axl_utf8_copy(out, sizeof out, "a\xe2\x82\xac" "bc"), "a\xe2\x82\xac" "b");
    cr_assert_str_eq(axl_utf8_copy(out, 4, "ab\xe2\x82\xac"), "ab");
}

Test(text, messages_are_one_line)
{
    char msg[AXL_MSG_LEN];
    cr_assert_eq(axl_msgf(msg, AXL_ERR_FORMAT, "node '%s': %s", "two\nlines\r\x1b[31m", "bad"),
                 AXL_ERR_FORMAT);
    cr_assert_str_eq(msg, "node 'two?lines??[31m': bad");
}
