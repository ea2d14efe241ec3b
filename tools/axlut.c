/* axlut: the command-line front end.  One binary, subcommands, --help at
 * every level.  Each subcommand lives in its own tools/cli_*.c file and is
 * registered in the table below. */
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "axlut/config.h"
#include "axlut/emu.h"
#include "axlut/table.h"
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

int main(int argc, char **argv)
{
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
