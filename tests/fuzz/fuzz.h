/* Shared by the fuzz targets (tests/fuzz/README.md): the libFuzzer entry
 * point, and the one scratch file through which a target hands its input to
 * library calls that read a path.
 *
 * The same target sources build two ways: with clang and libFuzzer
 * (-DAXL_FUZZ=ON), and, in every ordinary build, linked with replay.c, a
 * main() that runs the entry point once per file given, so that the quick
 * suite (and its ASan/UBSan build) replays the seeds and every input the
 * fuzzer ever found. */
#ifndef AXLUT_FUZZ_H
#define AXLUT_FUZZ_H

#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char fuzz_path_[4096];

static void fuzz_unlink_(void)
{
    if (fuzz_path_[0])
        unlink(fuzz_path_);
}

/* Writes data to this process's scratch file (named once, ending in ext,
 * under $TMPDIR or /tmp, removed at exit) and returns its path; NULL when it
 * cannot be written, which a target treats as "nothing to test". */
static inline const char *fuzz_file(const uint8_t *data, size_t size, const char *ext)
{
    if (!fuzz_path_[0]) {
        const char *dir = getenv("TMPDIR");
        snprintf(fuzz_path_, sizeof fuzz_path_, "%s/axl-fuzz-%ld%s", dir && dir[0] ? dir : "/tmp",
                 (long)getpid(), ext);
        atexit(fuzz_unlink_);
    }
    FILE *f = fopen(fuzz_path_, "wb");
    if (!f)
        return NULL;
    int ok = fwrite(data, 1, size, f) == size;
    ok &= fclose(f) == 0;
    return ok ? fuzz_path_ : NULL;
}

/* A NUL-terminated copy of data (free it), or NULL. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s) {
        memcpy(s, data, size);
        s[size] = 0;
    }
    return s;
}

/* Every one-line message the library returns must be one line of valid
 * length: a target checks it after each failing call (the CLI prints it as
 * is).  Traps, so that libFuzzer records the input. */
static inline void fuzz_check_msg(const char *msg)
{
    size_t n = strnlen(msg, 4096);
    if (n == 0 || n >= 4096 || memchr(msg, '\n', n))
        __builtin_trap();
}

#endif
