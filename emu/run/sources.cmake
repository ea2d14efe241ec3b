set(AXL_RUN_SOURCES emu/run/dataset.c emu/run/layers.c emu/run/report.c emu/run/run.c
    emu/run/sweep.c emu/run/outputs.c emu/run/train.c emu/run/checkpoint.c)
