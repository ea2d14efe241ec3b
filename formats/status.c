#include <stdarg.h>
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
