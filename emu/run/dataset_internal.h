/* The dataset reader without its child-process probe (dataset.c): for the
 * fuzz target, which needs the reader's coverage in its own process. */
#ifndef AXLUT_RUN_DATASET_INTERNAL_H
#define AXLUT_RUN_DATASET_INTERNAL_H

#include "axlut/dataset.h"

/* axl_dataset_open without the probe of the file in a child process. */
enum axl_status axl_dataset_open_direct(const char *path, const struct axl_graph *g,
                                        struct axl_dataset **out, char *msg);

#endif
