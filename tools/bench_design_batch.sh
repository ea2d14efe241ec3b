#!/bin/bash
# The designs' batch forms alone, before and after a change of the shared
# floating code (tools/bench_design_batch.c: ns per result in thread CPU
# seconds, one thread, every ISA level of this CPU):
#   tools/bench_design_batch.sh OLD_SRC OLD_BUILD NEW_SRC NEW_BUILD [ROUNDS]
# builds the tool against each build's format and design objects (OLD_BUILD
# needs only `cmake --build OLD_BUILD --target axlut_tables`), runs the two
# alternately ROUNDS times (default 3) and prints the median of each as a
# markdown table with the ratio.
set -euo pipefail
osrc=$1 obuild=$2 nsrc=$3 nbuild=$4 rounds=${5:-3}
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d /tmp/axl-bdb.XXXXXX)
build() { # SRC BUILD OUT
    local objs
    objs=$(find "$2/CMakeFiles/axlut_formats.dir" "$2/CMakeFiles/axlut_tables.dir" -name '*.o')
    # shellcheck disable=SC2086
    cc -O2 -std=c11 -fopenmp -I"$1/include" -I"$2/include" -I"$1/tables" \
        "$here/bench_design_batch.c" $objs -lm -o "$3"
}
build "$osrc" "$obuild" "$out/old"
build "$nsrc" "$nbuild" "$out/new"
for r in $(seq 1 "$rounds"); do
    "$out/old" > "$out/old_$r.tsv"
    "$out/new" > "$out/new_$r.tsv"
done
/usr/bin/python3 - "$out" "$rounds" <<'PY'
import csv, statistics, sys
out, n = sys.argv[1], int(sys.argv[2])
def load(w):
    v = {}
    for r in range(1, n + 1):
        for row in csv.DictReader(open(f"{out}/{w}_{r}.tsv"), delimiter="\t"):
            v.setdefault((row["case"], row["isa"]), []).append(float(row["ns_per_result"]))
    return {k: statistics.median(x) for k, x in v.items()}
old, new = load("old"), load("new")
print(f"{n} round(s), median ns per result (thread CPU time)\n")
print("| case | ISA | before ns | after ns | speed-up |")
print("|---|---|---:|---:|---:|")
for k in new:
    o = old.get(k)
    print(f"| {k[0]} | {k[1]} | {o:.2f} | {new[k]:.2f} | {o / new[k]:.2f}x |" if o else
          f"| {k[0]} | {k[1]} | - | {new[k]:.2f} | - |")
PY
rm -rf "$out"
