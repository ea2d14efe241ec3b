set(AXL_TABLES_SOURCES tables/designs/registry.c tables/designs/batch.c tables/designs/batch_sig32.c
    tables/designs/batch_avx2.c tables/designs/batch_sig32_avx2.c tables/design_bind.c)
# The AVX2 batch units take the leading-one position from a float
# conversion (hd.h: AXL_MSB_BY_FLOAT); GCC if-converts it only when it may
# assume that no floating-point flag is observed.  The bits do not change:
# only the conversion's exponent is used, and that is exact (hd.h).
if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
  set_source_files_properties(tables/designs/batch_avx2.c tables/designs/batch_sig32_avx2.c
                              PROPERTIES COMPILE_OPTIONS "-fno-trapping-math")
endif()
