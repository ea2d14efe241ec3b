#!/bin/bash
# Before/after of the designs' batch forms (issue 13), in one sitting:
#   tools/bench_batch.sh OLD_AXLUT NEW_AXLUT [CASE] [OUTDIR]
# runs `axlut bench --case CASE` (default gemm256: every config on the
# 256^3 GEMM, the function path and the approximate adder included) with the
# old binary and with the new one at each batch ISA (AXL_CPU_KERNEL unset =
# the widest, avx2, scalar), alternating binaries for REPEAT rounds so that a
# change of load weighs on all, and prints the markdown table of
# BENCHMARKS.md (tools/bench_batch_table.py) from the JSON files.
# THREADS=N passes --threads N (default: every core); under load, 1 thread
# gives steadier ratios than 2, whose barriers wait for a descheduled thread.
set -euo pipefail
old=$1 new=$2 case=${3:-gemm256} out=${4:-/tmp/axl-bench-batch}
rounds=${REPEAT:-2}
thr=()
[ -n "${THREADS:-}" ] && thr=(--threads "$THREADS")
# OpenBLAS's worker threads spin for about 2^28 cycles after each BLAS call
# (its default OPENBLAS_THREAD_TIMEOUT), on the cores the engine's OpenMP
# threads then want: a millisecond-long case right after the BLAS baseline
# then waited out time slices at each of its barriers (gemm256/int8_mitchell
# measured 0.54 GMAC/s in one round, 14 in another).  2^4 cycles: they sleep
# at once.  (OpenBLAS reads these when it loads, so axlut cannot set them.)
export OPENBLAS_THREAD_TIMEOUT=${OPENBLAS_THREAD_TIMEOUT:-4} OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX}
mkdir -p "$out"
for r in $(seq 1 "$rounds"); do
    "$old" bench --case "$case" --reps 3 "${thr[@]}" --json "$out/old_$r.json" >/dev/null
    "$new" bench --case "$case" --reps 3 "${thr[@]}" --json "$out/new_$r.json" >/dev/null
    AXL_CPU_KERNEL=avx2 "$new" bench --case "$case" --reps 3 "${thr[@]}" --json "$out/avx2_$r.json" >/dev/null
    AXL_CPU_KERNEL=scalar "$new" bench --case "$case" --reps 3 "${thr[@]}" --json "$out/scalar_$r.json" >/dev/null
done
/usr/bin/python3 "$(dirname "$0")/bench_batch_table.py" "$out" "$rounds"
