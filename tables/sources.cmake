set(AXL_TABLES_SOURCES tables/designs/registry.c tables/designs/batch.c tables/design_bind.c)
