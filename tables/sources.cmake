set(AXL_TABLES_SOURCES tables/designs/registry.c tables/designs/batch.c tables/designs/batch_sig32.c
    tables/design_bind.c)
