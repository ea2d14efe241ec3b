/* Within the run layer: the outputs file of a run (--save-outputs).
 *
 * /outputs/NAME per model output and, when asked, /layers/NAME per node
 * (with an attribute `node` holding the node's real name: HDF5 names
 * cannot hold '/', which becomes '|'), float32 [samples, ...] chunked one
 * sample per chunk (an output whose first axis is not the sample axis:
 * as it is, or one entry per batch; emu/run/run.c).  Everything goes to
 * PATH.tmpPID, renamed to PATH by axl_outputs_close when all was written
 * and removed otherwise: a failed run leaves nothing half-written behind. */
#ifndef AXLUT_RUN_OUTPUTS_H
#define AXLUT_RUN_OUTPUTS_H

#include <stddef.h>
#include <stdint.h>

#include "axlut/graph.h"
#include "axlut/status.h"

struct axl_outputs;

/* The file with its groups, and room for NSLOTS datasets. */
enum axl_status axl_outputs_open(const char *path, int layers, size_t nslots,
                                 struct axl_outputs **out, char *msg);

/* Rows [row, row + t->dims[0]) of dataset SLOT, which the first call
 * creates as [total, t->dims[1..]] in GROUP ("/outputs" or "/layers"),
 * named after NAME, with the attribute node = NODE when NODE is given.
 * t has rank 1 or more.  AXL_ERR_IO when any HDF5 call fails (no message:
 * the caller names what it was writing). */
enum axl_status axl_outputs_write(struct axl_outputs *w, size_t slot, const char *group,
                                  const char *name, const char *node, const struct axl_tensor *t,
                                  int64_t row, int64_t total);

/* Dataset SLOT as t is, whatever its rank (a scalar too), for an output
 * whose first axis is not the sample axis, computed once over all the
 * samples; with the attribute node = NODE when NODE is given. */
enum axl_status axl_outputs_write_whole(struct axl_outputs *w, size_t slot, const char *group,
                                        const char *name, const char *node,
                                        const struct axl_tensor *t);

/* Close every handle; with commit, rename the file into place (else
 * remove it).  NULL is accepted. */
enum axl_status axl_outputs_close(struct axl_outputs *w, int commit, char *msg);

#endif
