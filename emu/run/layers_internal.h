/* Within the run layer: binding with the caller's name for the engines. */
#ifndef AXLUT_RUN_LAYERS_INTERNAL_H
#define AXLUT_RUN_LAYERS_INTERNAL_H

#include "axlut/layers.h"

/* axl_layers_bind, with an engine that fails reported as "WHAT: why"
 * instead of naming the layer (a sweep point names its design and format);
 * what NULL: the layer. */
enum axl_status axl_layers_bind_as(const struct axl_layers *l, const struct axl_graph *g,
                                   const char *what, struct axl_layer_macs *out, char *msg);

#endif
