set(AXL_CLI_SOURCES tools/axlut.c tools/cli_formats.c tools/cli_block.c tools/cli_designs.c tools/cli_gen.c tools/cli_charz.c tools/cli_mpi.c
    tools/cli_json.c tools/cli_bench.c tools/cli_bench_net.c tools/cli_run.c tools/cli_train.c tools/cli_snn.c tools/cli_sweep.c bench/cases.c bench/naive_lut.c bench/blas.c)
