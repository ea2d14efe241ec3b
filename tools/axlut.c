/* axlut: the command-line front end.  One binary, subcommands, --help at
 * every level.  Each subcommand lives in its own tools/cli_*.c file and is
 * registered in the table below. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "axlut/config.h"
#include "axlut/emu.h"
#include "axlut/table.h"
#include "baselines.h"
#include "cli.h"

static const struct cli_command k_commands[] = {
    {"list", "list built-in formats or designs", cli_list},
    {"quantize", "encode values into a format and show the codes", cli_quantize},
    {"gen", "evaluate a design into a table file with its error metrics", cli_gen},
    {"info", "show what a table file holds and its metrics", cli_info},
    {"run", "run an ONNX network over a dataset with approximate layers", cli_run},
    {"train", "fine-tune a network through its approximate layers (retraining)", cli_train},
    {"snn", "convert a ReLU network into a spiking one and evaluate it over time steps", cli_snn},
    {"sweep", "run every combination of formats, designs and accumulators", cli_sweep},
    {"bench", "measure the MAC kernels against BLAS and a naive LUT loop", cli_bench},
};

#define N_COMMANDS (sizeof k_commands / sizeof k_commands[0])

static void usage(FILE *out)
{
    fprintf(out, "usage: axlut [--version] [--help] COMMAND [ARGS]\n\n"
                 "Emulate deep neural networks on approximate or reduced-precision\n"
                 "multiply-accumulate hardware.\n\ncommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-10s %s\n", k_commands[i].name, k_commands[i].summary);
    fprintf(out, "\n'axlut COMMAND --help' describes each command.\n");
}

static void version(void)
{
    char gpu[256] = "";
    int ngpu = axl_cuda_device_count(gpu, sizeof gpu);
    printf("axlut %s (commit %s)\n", AXL_VERSION, AXL_GIT_COMMIT);
    printf("build: %s, CUDA backend %s, OpenMP %d threads\n", AXL_BUILD_TYPE,
           axl_cuda_compiled() ? "compiled in" : "not compiled", omp_get_max_threads());
    if (ngpu > 0)
        printf("GPUs visible: %d (%s)\n", ngpu, gpu);
    else
        printf("GPUs visible: 0\n");
}

/* OpenBLAS chooses its kernels when the library loads, before main, by the
 * CPU model or from OPENBLAS_CORETYPE.  Debian 12's 0.3.21 does not know
 * CPUs newer than it (Sapphire and Emerald Rapids, model 207 here) and falls
 * back to its SSE3 kernels, 3-4x slower at the exact reference, the shadows
 * and training's gradient products.  Where the user has not chosen a core
 * and the CPU runs a better kernel set (bench_blas_core_hint: SkylakeX
 * with AVX-512, Haswell with AVX2), the program sets the variable and
 * executes itself again; nothing has run yet.  If that fails it goes on as
 * before.  OPENBLAS_CORETYPE set to any value (even Prescott) opts out. */
static void choose_blas_core(char **argv)
{
    if (getenv("OPENBLAS_CORETYPE"))
        return;
    const char *core = bench_blas_core_hint();
    if (!core || setenv("OPENBLAS_CORETYPE", core, 1))
        return;
    execv("/proc/self/exe", argv);
}

int main(int argc, char **argv)
{
    choose_blas_core(argv);
    axl_file_io_init(); /* a full disk or ulimit -f: one line and exit 1, not a crash */
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V") || !strcmp(argv[1], "version")) {
        version();
        return 0;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(argv[1], k_commands[i].name))
            return k_commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "axlut: unknown command '%s' (try 'axlut --help')\n", argv[1]);
    return 2;
}
