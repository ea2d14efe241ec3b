set(AXL_EMU_SOURCES emu/mac.c emu/encode.c emu/cpu/kernels.c)
set(AXL_EMU_CUDA_SOURCES emu/cuda/device_info.cu emu/cuda/mac_cuda.cu)
