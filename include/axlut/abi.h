/* The memory layout of the public structures, for bindings that mirror them
 * without a C compiler (python/axlut declares them with ctypes).  A mirror
 * that falls behind a header (a field added on one branch, the binding
 * written on another) makes the library read and write past the caller's
 * object; a binding compares its mirrors with these answers when it loads
 * the library and refuses to load on any difference, naming the field.
 * Covered: the structures callers allocate or the library fills through a
 * pointer (format, design, design ctx, metrics, table info and options,
 * MAC spec, GEMM and conv arguments, layer MACs, run settings and report). */
#ifndef AXLUT_ABI_H
#define AXLUT_ABI_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* sizeof(struct TYPE) for TYPE named without "struct " ("axl_run_report");
 * 0 for a structure not covered. */
size_t axl_abi_sizeof(const char *type);

/* Field i (0-based, declaration order) of struct TYPE: its name (static
 * storage), with its offset and its size in bytes (an array's whole size)
 * in *offset and *size when not NULL; NULL past the last field or for a
 * structure not covered. */
const char *axl_abi_field(const char *type, size_t i, size_t *offset, size_t *size);

#ifdef __cplusplus
}
#endif

#endif
