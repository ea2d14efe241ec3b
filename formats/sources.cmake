set(AXL_FORMATS_SOURCES formats/format.c formats/status.c)
