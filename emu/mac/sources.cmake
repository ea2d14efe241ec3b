set(AXL_MAC_SOURCES emu/mac/mac.c emu/mac/plan.c emu/mac/prepare.c emu/mac/weights.c emu/mac/encode.c emu/mac/block_ref.c
    emu/mac/block_plan.c emu/mac/cpu/block_cpu.c
    emu/mac/cpu/kernels.c emu/mac/cpu/vbmi.c
    emu/mac/cpu/small.c)
set(AXL_MAC_CUDA_SOURCES emu/mac/cuda/device_info.cu emu/mac/cuda/mac_cuda.cu emu/mac/cuda/block_cuda.cu
    emu/mac/cuda/user_kernel.cu)
set(AXL_MAC_NOCUDA_SOURCES emu/mac/cuda/none.c)
# Headers NVRTC needs to build kernels around user designs at run time,
# embedded into the library (tools/embed_headers.cmake) under the names they
# are included by.
set(AXL_NVRTC_HEADERS include/axlut/hd.h include/axlut/status.h include/axlut/format.h
    include/axlut/design.h include/axlut/emu.h include/axlut/mac.h include/axlut/scale.h
    emu/mac/mac_step.h emu/mac/cuda/mac_kernel.cuh
    tables/designs/aca.h tables/designs/add_exact.h tables/designs/ama5.h tables/designs/bam.h
    tables/designs/builtin.h tables/designs/common.h tables/designs/cores.h tables/designs/drum.h
    tables/designs/eta1.h tables/designs/fpadd.h tables/designs/fpmul.h
    tables/designs/kulkarni.h tables/designs/loa.h tables/designs/mbm.h
    tables/designs/mitchell.h tables/designs/mul_exact.h tables/designs/roba.h
    tables/designs/trunc_add.h)
# The quantization and range loops of encode.c choose between floats by
# comparisons; GCC if-converts them into vector compares and blends (and so
# vectorises the loops) only where comparisons may be assumed not to trap.
# No value changes: axlut never reads the floating-point exception flags.
# (The scalar loops cost a 256^3 int4 GEMM 50% of its kernel's time, issue 19.)
# The same for kernels.c: axl_round_fp16's subnormal range is a float add,
# which GCC otherwise keeps behind a branch, and the fused bf16/fp16 loops
# stayed scalar (issue 13).
set_source_files_properties(emu/mac/encode.c emu/mac/cpu/kernels.c PROPERTIES
    COMPILE_OPTIONS "$<$<C_COMPILER_ID:GNU,Clang>:-fno-trapping-math>")
