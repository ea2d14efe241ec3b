set(AXL_FORMATS_SOURCES formats/format.c formats/block.c formats/status.c)
