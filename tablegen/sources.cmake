set(AXL_TABLEGEN_SOURCES tablegen/generate.c tablegen/charz.c tablegen/metrics.c tablegen/h5io.c tablegen/h5read.c
                         tablegen/user_design.c tablegen/sha256.c
                         tablegen/isolate.c tablegen/validate.c tablegen/tmpfile.c
                         tablegen/child.c tablegen/table_load.c)
