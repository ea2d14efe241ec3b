#!/bin/bash
# The table path before and after issue 19, in one sitting:
#   tools/bench_kern.sh OLD_AXLUT NEW_AXLUT [OUTDIR]
# runs `axlut bench` on the issue's shapes (conv 64ch 56x56 3x3 at batch 1
# and 16, the 256x1024x1024 linear layer) for the int8 and the e4m3 table,
# with the old binary (it must know the shapes: bench/cases.c of this
# commit), the new one, the new one with AXL_CPU_KERNEL=vbmi-basic (no VNNI,
# no half planes) and with AXL_CPU_KERNEL=gather (the AVX2 gather path),
# alternating binaries for REPEAT rounds (default 2) so that a change of
# load weighs on all; each run has exact BLAS and the naive LUT loop in it.
# THREADS (default 2) sets --threads.  Then prints the markdown tables of
# BENCHMARKS.md: GMAC/s (medians over the rounds) with ratios, and the
# roofline (tools/roofline.py).  On a loaded machine run THREADS=1 RATE=cpu:
# rates per process CPU second, which time-slicing does not inflate.
set -euo pipefail
old=$1 new=$2 out=${3:-/tmp/axl-bench-kern}
rounds=${REPEAT:-2} threads=${THREADS:-2}
export AXL_RATE=${RATE:-wall}
export OPENBLAS_THREAD_TIMEOUT=${OPENBLAS_THREAD_TIMEOUT:-4} OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX}
mkdir -p "$out"
rm -f "$out"/*.json
cases=()
for s in conv64_56x56_b1 conv64_56x56_b16 linear256x1024x1024; do
    for c in int8_mitchell e4m3_drum4; do cases+=("$s/$c"); done
done
for r in $(seq 1 "$rounds"); do
    for c in "${cases[@]}"; do
        f=${c//\//_}
        "$old" bench --case "$c" --reps 3 --threads "$threads" --json "$out/old_${f}_$r.json" >/dev/null
        "$new" bench --case "$c" --reps 3 --threads "$threads" --json "$out/new_${f}_$r.json" >/dev/null
        AXL_CPU_KERNEL=vbmi-basic "$new" bench --case "$c" --reps 3 --threads "$threads" \
            --json "$out/basic_${f}_$r.json" >/dev/null
        AXL_CPU_KERNEL=gather "$new" bench --case "$c" --reps 3 --threads "$threads" \
            --json "$out/gather_${f}_$r.json" >/dev/null
    done
done
/usr/bin/python3 - "$out" <<'EOF'
import glob, json, os, statistics, sys
out = sys.argv[1]
rows = {}
suf = "_macs_per_cpu_s" if os.environ["AXL_RATE"] == "cpu" else "_macs_per_s"
for f in glob.glob(os.path.join(out, "*.json")):
    kind = os.path.basename(f).split("_")[0]
    for r in json.load(open(f)):
        k = (r["shape_name"], r["config"])
        d = rows.setdefault(k, {})
        d.setdefault(kind, []).append(r["approx" + suf] / 1e9)
        d.setdefault("blas", []).append(r["exact_blas" + suf] / 1e9)
        d.setdefault("naive", []).append(r["naive_lut" + suf] / 1e9)
med = lambda v: statistics.median(v) if v else float("nan")
print("| case | before | after | after / before | vbmi-basic | gather (AVX2) "
      "| naive LUT | BLAS fp32 | BLAS / after |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for (s, c), d in sorted(rows.items()):
    o, n = med(d.get("old", [])), med(d.get("new", []))
    b = med(d["blas"])
    print(f"| {s}/{c} | {o:.2f} | {n:.2f} | {n / o:.2f}x | {med(d.get('basic', [])):.2f} "
          f"| {med(d.get('gather', [])):.2f} | {med(d['naive']):.2f} | {b:.1f} | {b / n:.1f}x |")
EOF
echo
/usr/bin/python3 "$(dirname "$0")/roofline.py" --cores "$threads" --rate "$AXL_RATE" \
    --bench "$out"/new_*.json
