set(AXL_EMU_SOURCES)
set(AXL_EMU_CUDA_SOURCES emu/cuda/device_info.cu)
