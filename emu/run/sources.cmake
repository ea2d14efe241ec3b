set(AXL_RUN_SOURCES emu/run/dataset.c emu/run/layers.c emu/run/report.c emu/run/run.c
    emu/run/sweep.c emu/run/sweep_merge.c emu/run/outputs.c emu/run/train.c emu/run/checkpoint.c
    emu/run/snn.c emu/run/snn_convert.c emu/run/snn_calib.c emu/run/snn_encode.c
    emu/run/snn_arith.c emu/run/snn_sim.c emu/run/snn_kern.c emu/run/snn_device.c emu/run/snn_eval.c emu/run/abi.c)
# the SNN simulation on the device, or its stand-in
set(AXL_RUN_CUDA_SOURCES emu/run/snn_cuda.cu)
set(AXL_RUN_NOCUDA_SOURCES emu/run/snn_cuda_none.c)
