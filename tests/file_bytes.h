/* Whole small files as bytes, for tests that corrupt or copy fixtures
 * (flipped bytes, truncations, renamed copies): at most 1 MiB. */
#ifndef AXL_TEST_FILE_BYTES_H
#define AXL_TEST_FILE_BYTES_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

/* The bytes of path (malloc'd) and their count in *n. */
static inline unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "%s", path);
    unsigned char *b = malloc(1 << 20);
    cr_assert(b);
    *n = fread(b, 1, 1 << 20, f);
    fclose(f);
    cr_assert(*n > 0 && *n < (1 << 20), "%s: empty or over 1 MiB", path);
    return b;
}

/* n bytes b into path (replaced). */
static inline void spill(const char *path, const unsigned char *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert(f, "%s", path);
    cr_assert_eq(fwrite(b, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
}

#endif
