#!/bin/bash
# Submits an axlut sweep as N array tasks and its merge as a dependent job.
#   tools/slurm/submit_sweep.sh N RESULTS SWEEP ARGS...
# e.g.
#   tools/slurm/submit_sweep.sh 8 results models/lenet5_fmnist.onnx \
#       --data fmnist.h5 --formats e3..5m1..4 --designs mul_exact,fpmul_mitchell
# RESULTS.csv and RESULTS.json appear when every shard has finished.
set -euo pipefail
if [ $# -lt 3 ]; then
    sed -n '2,8p' "$0" >&2
    exit 2
fi
N=$1 RESULTS=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
export SWEEP_ARGS="$*" RESULTS SHARD_DIR=${SHARD_DIR:-shards}
mkdir -p "$SHARD_DIR"
array=$(sbatch --parsable --array="1-$N" "$here/sweep_array.sbatch")
sbatch --parsable --dependency="afterok:${array%%;*}" "$here/merge.sbatch"
