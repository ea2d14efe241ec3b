set(AXL_EMU_SOURCES emu/mac.c emu/encode.c emu/layers.c emu/cpu/kernels.c emu/cpu/vbmi.c
    emu/onnx_import.c emu/graph.c emu/ops_elem.c emu/ops_shape.c emu/ops_move.c
    emu/ops_mac.c emu/dataset.c emu/run.c emu/sweep.c)
set(AXL_EMU_CUDA_SOURCES emu/cuda/device_info.cu emu/cuda/mac_cuda.cu emu/cuda/user_kernel.cu)
# Headers NVRTC needs to build kernels around user designs at run time,
# embedded into the library (tools/embed_headers.cmake).
set(AXL_NVRTC_HEADERS include/axlut/hd.h include/axlut/status.h include/axlut/format.h
    include/axlut/design.h include/axlut/mac_step.h emu/cuda/mac_kernel.cuh
    tables/designs/aca.h tables/designs/add_exact.h tables/designs/ama5.h tables/designs/bam.h
    tables/designs/builtin.h tables/designs/common.h tables/designs/cores.h tables/designs/drum.h
    tables/designs/eta1.h tables/designs/fpadd.h tables/designs/fpmul.h
    tables/designs/kulkarni.h tables/designs/loa.h tables/designs/mbm.h
    tables/designs/mitchell.h tables/designs/mul_exact.h tables/designs/roba.h
    tables/designs/trunc_add.h)
