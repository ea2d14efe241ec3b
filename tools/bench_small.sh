#!/bin/bash
# Small tables in registers (issue 19): 4-bit and 6-bit tables against the
# int8 table path and exact float32 BLAS, in one sitting:
#   tools/bench_small.sh NEW_AXLUT [OLD_AXLUT] [OUTDIR]
# runs `axlut bench` on SHAPES (default: the first ResNet-18 convolution at
# batch 1 and 8, the second at batch 1, the 256^3 GEMM) for the int8 Mitchell table and
# the int4 / e2m1 / e3m2 tables, with the new binary at each kernel ISA
# (AXL_CPU_KERNEL unset = AVX-512, avx2, gather) and with the old binary
# (the "before" of the same configs), alternating for REPEAT rounds so that a
# change of load weighs on all, then prints the markdown table of
# BENCHMARKS.md (tools/bench_small_table.py) from the JSON files; then the
# kernels alone (tools/bench_small_kernel.c, built here from the sources).
set -euo pipefail
new=$1 old=${2:-} out=${3:-/tmp/axl-bench-small}
rounds=${REPEAT:-2}
# THREADS (default 2) sets --threads; RATE=cpu reports GMAC per process CPU
# second, which time-slicing on a loaded machine does not inflate (use it
# with THREADS=1)
threads=${THREADS:-2}
export AXL_RATE=${RATE:-wall}
shapes=${SHAPES:-"conv64_56x56_b1 conv128_28x28_b1 conv64_56x56_b8 gemm256"}
configs="int8_mitchell int4_mitchell e2m1_exact e2m1_mitchell e3m2_mitchell"
# OpenBLAS's worker threads spin for about 2^28 cycles after each BLAS call
# (its default OPENBLAS_THREAD_TIMEOUT), on the cores the engine's OpenMP
# threads then want: a millisecond-long case right after the BLAS baseline
# then waited out time slices at each of its barriers (gemm256/int8_mitchell
# measured 0.54 GMAC/s in one round, 14 in another).  2^4 cycles: they sleep
# at once.  (OpenBLAS reads these when it loads, so axlut cannot set them.)
export OPENBLAS_THREAD_TIMEOUT=${OPENBLAS_THREAD_TIMEOUT:-4} OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX}
mkdir -p "$out"
rm -f "$out"/*.json
run() { # KIND BINARY [ENV...]: one JSON per case and round
    local kind=$1 bin=$2 s c
    shift 2
    for s in $shapes; do
        for c in $configs; do
            env "$@" "$bin" bench --case "$s/$c" --reps 3 --threads "$threads" \
                --json "$out/${kind}_${r}_${s}_${c}.json" >/dev/null 2>&1 ||
                echo "skipped: $kind $s/$c (the binary does not know the case)" >&2
        done
    done
}
for r in $(seq 1 "$rounds"); do
    run new "$new"
    run avx2 "$new" AXL_CPU_KERNEL=avx2
    run gather "$new" AXL_CPU_KERNEL=gather
    if [ -n "$old" ]; then run old "$old"; fi
done
/usr/bin/python3 "$(dirname "$0")/bench_small_table.py" "$out"
# the kernels alone (no encoding, im2col or stores), one thread
src=$(cd "$(dirname "$0")/.." && pwd)
cc -O2 -std=c11 -I"$src/emu/mac" -I"$src/include" -I"$src/tables" "$src/tools/bench_small_kernel.c" \
    "$src/emu/mac/cpu/small.c" "$src/emu/mac/cpu/vbmi.c" -lm -o "$out/bench_small_kernel"
echo
"$out/bench_small_kernel"
