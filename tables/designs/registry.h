/* Private to the library: which built-in id a descriptor is. */
#ifndef AXLUT_TABLES_DESIGNS_REGISTRY_H
#define AXLUT_TABLES_DESIGNS_REGISTRY_H

#include <stdint.h>

#include "axlut/design.h"

/* The enum axl_design_id of `d` when d is one of the registry's own
 * descriptors (compared by address, so a user design that copies a
 * built-in's fields stays a user design); AXL_DESIGN_USER (0) otherwise. */
uint32_t axl_design_builtin_id(const struct axl_design *d);

#endif
