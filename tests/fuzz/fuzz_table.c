/* Fuzz target: a table file (HDF5), as `axlut info` and `--mul T.h5` read
 * one.  A table that loads must hold what its info promises (every entry a
 * code of the result format).
 *
 * Under libFuzzer it calls the reader itself (axl_tg_table_read), in this
 * process, so that the fuzzer sees its coverage; HDF5's own crashes on
 * corrupt files are expected there (run.sh fuzzes this target with
 * -fork and -ignore_crashes, then checks that `axlut info` answers each
 * crashing input with one line and exit status 2).  Replayed in ordinary
 * builds it calls axl_table_load, which reads in a child process
 * (tablegen/read_child.c): no input may crash it. */
#include "fuzz.h"

#include <axlut/table.h>

#ifdef AXL_FUZZ_DIRECT
#include "internal.h"
#define LOAD(path, t, msg) read_direct(path, t, msg)
static enum axl_status read_direct(const char *path, struct axl_table **t, char *msg)
{
    struct axl_table_info in;
    return axl_tg_table_read(path, &in, t, msg);
}
#else
#define LOAD(path, t, msg) axl_table_load(path, t, msg)
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(data, size, ".h5");
    if (!path)
        return 0;
    char msg[AXL_MSG_LEN];
    struct axl_table *t = NULL;
    if (LOAD(path, &t, msg) != AXL_OK) {
        fuzz_check_msg(msg);
        return 0;
    }
    const struct axl_table_info *in = axl_table_info(t);
    const uint8_t *e = axl_table_data(t);
    uint64_t n = in->rows * in->cols, acc = 0;
    /* touch every entry: ASan sees a table shorter than rows x cols */
    for (uint64_t i = 0; i < n * in->entry_bytes; i++)
        acc += e[i];
    if (in->tr.bits < 8 && in->entry_bytes == 1)
        for (uint64_t i = 0; i < n; i++)
            if (e[i] >> in->tr.bits)
                __builtin_trap();
    (void)acc;
    axl_table_free(t);
    return 0;
}
