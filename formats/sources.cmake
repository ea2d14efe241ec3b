set(AXL_FORMATS_SOURCES formats/format.c formats/block.c formats/scale.c formats/status.c)
