/* Private pieces shared by the tablegen sources. */
#ifndef AXLUT_TABLEGEN_INTERNAL_H
#define AXLUT_TABLEGEN_INTERNAL_H

#include "axlut/table.h"

struct axl_table {
    struct axl_table_info info;
    void *data; /* rows * cols * entry_bytes */
};

/* Bytes per entry for a result format of `bits` bits. */
static inline uint32_t axl_entry_bytes(uint32_t bits) { return bits <= 8 ? 1 : bits <= 16 ? 2 : 4; }

static inline uint32_t axl_entry_get(const void *data, uint32_t bytes, uint64_t i)
{
    switch (bytes) {
    case 1:
        return ((const uint8_t *)data)[i];
    case 2:
        return ((const uint16_t *)data)[i];
    default:
        return ((const uint32_t *)data)[i];
    }
}

/* A uintN format descriptor for 1 <= n <= 32 (the parser stops at 16). */
struct axl_format axl_tg_uint_format(uint32_t n);

/* Derive rows, cols and entry_bytes from the table formats; checks limits. */
enum axl_status axl_tg_finish_info(struct axl_table_info *info, char *msg);

#endif
