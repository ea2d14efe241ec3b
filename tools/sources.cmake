set(AXL_CLI_SOURCES tools/axlut.c tools/cli_formats.c tools/cli_designs.c tools/cli_gen.c)
