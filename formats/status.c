#include <stdarg.h>
#include <string.h>
#include <stdio.h>

#include "axlut/status.h"

enum axl_status axl_msgf(char *msg, enum axl_status st, const char *fmt, ...)
{
    if (msg) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, AXL_MSG_LEN, fmt, ap);
        va_end(ap);
        /* Names from files (ONNX node, input and operator names, table
         * attributes) are pasted into messages as they are; a control
         * character among them (found by fuzzing) would break the one line
         * a message is, or drive the terminal.  They become '?'. */
        for (char *c = msg; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f)
                *c = '?';
    }
    return st;
}

/* Length of the valid UTF-8 sequence at s (1..4), 0 when invalid (RFC 3629:
 * no overlong forms, no surrogates, nothing above U+10FFFF). */
static int utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    int n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) || (c == 0xf0 && s[1] < 0x90) ||
        (c == 0xf4 && s[1] > 0x8f))
        return 0;
    return n;
}

char *axl_utf8_copy(char *out, size_t cap, const char *in)
{
    static const char repl[] = "\xef\xbf\xbd"; /* U+FFFD */
    size_t k = 0;
    for (const unsigned char *s = (const unsigned char *)in; *s;) {
        int n = utf8_len(s);
        const char *src = n ? (const char *)s : repl;
        size_t len = n ? (size_t)n : 3;
        if (k + len + 1 > cap)
            break;
        memcpy(out + k, src, len);
        k += len;
        s += n ? n : 1;
    }
    out[k] = 0;
    return out;
}

const char *axl_strerror(enum axl_status s)
{
    switch (s) {
    case AXL_OK: return "ok";
    case AXL_ERR_INVALID: return "invalid argument";
    case AXL_ERR_NOMEM: return "out of memory";
    case AXL_ERR_IO: return "input/output error";
    case AXL_ERR_FORMAT: return "malformed file";
    case AXL_ERR_MISMATCH: return "mismatch";
    case AXL_ERR_UNSUPPORTED: return "unsupported";
    case AXL_ERR_CUDA: return "CUDA error";
    case AXL_ERR_TOO_LARGE: return "too large";
    case AXL_ERR_COMPILE: return "compile error";
    }
    return "unknown status";
}
