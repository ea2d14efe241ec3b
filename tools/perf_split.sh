#!/bin/bash
# Where a layer's time goes outside its kernel, before and after (issue 19):
#   tools/perf_split.sh CASE AXLUT...      e.g. gemm256/int4_mitchell OLD NEW
# FREQ (default perf's 4000) samples per second: a 1 ms case such as
# gemm256 gives a few hundred of the engine's samples at the default, where
# a share moves by a few points from run to run; FREQ=15000 gives ~4x more.
# records `axlut bench --case CASE --threads THREADS(1) --reps 32` under
# perf for each binary and prints one markdown table: the engine's own
# symbols (the naive LUT loop, BLAS, the dynamic loader and the kernel are
# left out) as percentages of the engine's samples.  Percentages, not
# rates, so that a loaded machine can still tell where the time goes.
set -euo pipefail
case=$1
shift
threads=${THREADS:-1} work=$(mktemp -d /tmp/axl-perf-split-XXXXXX)
trap 'rm -rf "$work"' EXIT
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-SkylakeX} OPENBLAS_THREAD_TIMEOUT=${OPENBLAS_THREAD_TIMEOUT:-4}
i=0
for bin in "$@"; do
    perf record -F "${FREQ:-4000}" -q -o "$work/$i.data" "$bin" bench --case "$case" --threads "$threads" --reps 32 \
        >/dev/null 2>&1
    perf report -i "$work/$i.data" --no-children --sort sym --stdio 2>/dev/null |
        grep '%' | grep -v '^#' >"$work/$i.txt" || true
    i=$((i + 1))
done
/usr/bin/python3 - "$work" "$case" "$@" <<'PY'
import re, sys
work, case, bins = sys.argv[1], sys.argv[2], sys.argv[3:]
skip = re.compile(r"bench_lut|naive|sgemm|_dl_|do_lookup|check_match|fmaxf|\[k\]|strcmp|"
                  r"strlen|cli_bench|0x0000|intel_check|cpu_indicator|get_common|handle_intel|"
                  r"init_cpu|H5|malloc|mmap|eval_builtin|axl_umul|plt")
cols = []
for i, _ in enumerate(bins):
    d = {}
    for line in open(f"{work}/{i}.txt"):
        m = re.match(r"\s*([\d.]+)%\s+\[\.\]\s+(\S+)", line)
        if m and not skip.search(m.group(2)):
            d[m.group(2)] = d.get(m.group(2), 0) + float(m.group(1))
    tot = sum(d.values()) or 1.0
    cols.append({k: 100 * v / tot for k, v in d.items()})
names = sorted({k for c in cols for k, v in c.items() if v >= 1.0},
               key=lambda k: -max(c.get(k, 0) for c in cols))
print(f"| {case}: share of the engine's samples | " + " | ".join(bins) + " |")
print("|---|" + "---:|" * len(bins))
for k in names:
    print(f"| {k} | " + " | ".join(f"{c.get(k, 0):.1f}%" for c in cols) + " |")
PY
