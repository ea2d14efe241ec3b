/* Training checkpoints (emu/run/checkpoint.c): one HDF5 file per epoch,
 * DIR/epoch-NNNN.h5, written to a temporary name and renamed:
 *   /params/NNNN     float32, attribute name: each parameter
 *   /buffers/NNNN    float32, attribute name: running statistics
 *   /state1/NNNN     float32: SGD momentum or Adam's first moment
 *   /state2/NNNN     float32: Adam's second moment (Adam only)
 *   /history         float64 [epochs][AXL_CKPT_COLS]: the report so far
 *   root attributes: epoch, step (optimizer steps so far), optimizer,
 *                    seed, format ("axlut-checkpoint-1")
 */
#ifndef AXLUT_EMU_RUN_CHECKPOINT_H
#define AXLUT_EMU_RUN_CHECKPOINT_H

#include "axlut/train.h"

#define AXL_CKPT_COLS 10

struct axl_ckpt {
    int epoch;
    int64_t step;
    enum axl_optimizer optimizer;
    uint64_t seed;
    float **state1, **state2; /* per parameter; state2 NULL unless Adam */
    int nhist;
    double (*hist)[AXL_CKPT_COLS];
};

/* Writes DIR/epoch-NNNN.h5 for c->epoch from g's parameters and buffers;
 * the written path in path (1024 bytes). */
enum axl_status axl_ckpt_write(const char *dir, struct axl_graph *g, const struct axl_ckpt *c,
                               char *path, char *msg);

/* Reads the checkpoint of the highest epoch in dir into g and c (state
 * arrays allocated by the caller, hist allocated here: free it).  AXL_OK
 * with c->epoch 0 when dir holds none; an error naming the file when it
 * does not fit the model or the optimizer. */
enum axl_status axl_ckpt_read_latest(const char *dir, struct axl_graph *g, struct axl_ckpt *c,
                                     char *path, char *msg);

#endif
