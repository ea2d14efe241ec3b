/* Status codes returned by every axlut library function.
 *
 * Library code never exits or aborts: it returns one of these, and where it
 * can, fills a caller-provided message buffer with one line that names the
 * file, field or layer at fault.  Values only grow at the end.
 */
#ifndef AXLUT_STATUS_H
#define AXLUT_STATUS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum axl_status {
    AXL_OK = 0,
    AXL_ERR_INVALID = 1,     /* bad argument or malformed name */
    AXL_ERR_NOMEM = 2,
    AXL_ERR_IO = 3,          /* file could not be read or written */
    AXL_ERR_FORMAT = 4,      /* file contents malformed */
    AXL_ERR_MISMATCH = 5,    /* e.g. table formats differ from the layer's */
    AXL_ERR_UNSUPPORTED = 6,
    AXL_ERR_CUDA = 7,
    AXL_ERR_TOO_LARGE = 8,
    AXL_ERR_COMPILE = 9,     /* a user design failed to compile or load */
};

/* A static, human-readable name for a status. */
const char *axl_strerror(enum axl_status s);

/* Size of the message buffers that functions taking `char *msg` fill. */
#define AXL_MSG_LEN 512

#if defined(__GNUC__) && !defined(__CUDACC_RTC__)
#define AXL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define AXL_PRINTF(f, a)
#endif

/* The one way library code reports an error: writes one line (at most
 * AXL_MSG_LEN bytes, truncated) into msg unless msg is NULL, and returns st,
 *     return axl_msgf(msg, AXL_ERR_INVALID, "table '%s': %s", path, why); */
enum axl_status axl_msgf(char *msg, enum axl_status st, const char *fmt, ...) AXL_PRINTF(3, 4);

/* Text from files (names in an ONNX model, a table's citation) as valid
 * UTF-8, for JSON and HDF5 string attributes: in copied to out (cap bytes,
 * cap >= 4, truncated at a character boundary), each byte that does not
 * start a valid UTF-8 sequence replaced by U+FFFD.  Returns out. */
char *axl_utf8_copy(char *out, size_t cap, const char *in);

/* The name and the parser of an enum whose values index a table of names,
 * one definition for every enum that files or options spell out:
 *     const char *NAME_FN(enum T v)         the name, "?" out of range
 *     enum axl_status PARSE_FN(const char *s, enum T *out)
 *                                           AXL_ERR_INVALID for other text
 * AXL_ENUM_NAMES_DECL declares them (in the enum's header),
 * AXL_ENUM_NAMES_DEFINE defines them over TABLE (needs <string.h>). */
#define AXL_ENUM_NAMES_DECL(T, NAME_FN, PARSE_FN)                                                 \
    const char *NAME_FN(enum T v);                                                                \
    enum axl_status PARSE_FN(const char *s, enum T *out)
#define AXL_ENUM_NAMES_DEFINE(T, NAME_FN, PARSE_FN, TABLE)                                        \
    const char *NAME_FN(enum T v)                                                                 \
    {                                                                                             \
        return (unsigned)v < sizeof(TABLE) / sizeof(TABLE)[0] ? (TABLE)[v] : "?";                 \
    }                                                                                             \
    enum axl_status PARSE_FN(const char *s, enum T *out)                                          \
    {                                                                                             \
        for (unsigned i_ = 0; s && i_ < sizeof(TABLE) / sizeof(TABLE)[0]; i_++)                   \
            if (!strcmp(s, (TABLE)[i_])) {                                                        \
                *out = (enum T)i_;                                                                \
                return AXL_OK;                                                                    \
            }                                                                                     \
        return AXL_ERR_INVALID;                                                                   \
    }

#ifdef __cplusplus
}
#endif

#endif
