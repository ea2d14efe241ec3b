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
mkdir -p "$out"
for r in $(seq 1 "$rounds"); do
    "$old" bench --case "$case" --reps 3 "${thr[@]}" --json "$out/old_$r.json" >/dev/null
    "$new" bench --case "$case" --reps 3 "${thr[@]}" --json "$out/new_$r.json" >/dev/null
    AXL_CPU_KERNEL=avx2 "$new" bench --case "$case" --reps 3 "${thr[@]}" --json "$out/avx2_$r.json" >/dev/null
    AXL_CPU_KERNEL=scalar "$new" bench --case "$case" --reps 3 "${thr[@]}" --json "$out/scalar_$r.json" >/dev/null
done
/usr/bin/python3 "$(dirname "$0")/bench_batch_table.py" "$out" "$rounds"
