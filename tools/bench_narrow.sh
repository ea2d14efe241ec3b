#!/bin/bash
# The exact bf16/fp16 paths (issue 13: the format study's 16-bit points)
# before and after, in one sitting, through whole networks:
#   tools/bench_narrow.sh OLD_AXLUT NEW_AXLUT DATA.h5 MODEL.onnx [LIMIT]
# runs `axlut run` of MODEL on LIMIT images (default 200) under each
# configuration below with each binary in turn, REPEAT rounds (default 3),
# THREADS OpenMP threads (default 1), and prints the markdown table: the
# approximate pass's seconds from each report (median), MAC/s over the
# model's multiply-accumulates, and new / old.  The outputs must agree:
# it compares the reports' output error and stops on a difference.
set -euo pipefail
old=$1 new=$2 data=$3 model=$4 limit=${5:-200}
rounds=${REPEAT:-3}
export OMP_NUM_THREADS=${THREADS:-1}
export OPENBLAS_THREAD_TIMEOUT=${OPENBLAS_THREAD_TIMEOUT:-4}
out=$(mktemp -d /tmp/axl-bench-narrow-XXXXXX)
trap 'rm -rf "$out"' EXIT
configs=("bf16|--format bf16" "fp16|--format fp16"
         "e3m3 into bf16|--format e3m3 --add add_exact --acc-format bf16"
         "e3m3 into fp16|--format e3m3 --add add_exact --acc-format fp16"
         "fp16 into fp16|--format fp16 --add add_exact --acc-format fp16")
for r in $(seq 1 "$rounds"); do
    for i in "${!configs[@]}"; do
        opts=${configs[$i]#*|}
        for which in old new; do
            bin=$old
            [ "$which" = new ] && bin=$new
            # shellcheck disable=SC2086
            "$bin" run "$model" --data "$data" --limit "$limit" --quiet $opts \
                --report "$out/${which}_${i}_$r.json"
        done
    done
done
/usr/bin/python3 - "$out" "$rounds" "$model" "$limit" "${configs[@]}" <<'PY'
import json, statistics, sys
out, rounds, model, limit = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
names = [c.split("|")[0] for c in sys.argv[5:]]
print(f"{model}, {limit} images, {rounds} round(s), medians of the approximate pass's seconds\n")
print("| configuration | old s | new s | old GMAC/s | new GMAC/s | new / old |")
print("|---|---:|---:|---:|---:|---:|")
for i, name in enumerate(names):
    t = {}
    for w in ("old", "new"):
        reps = [json.load(open(f"{out}/{w}_{i}_{r}.json")) for r in range(1, rounds + 1)]
        t[w] = statistics.median(x["seconds"] for x in reps)
        errs = {json.dumps(x["output_error"], sort_keys=True) for x in reps}
        t[w + "_err"] = errs
    if t["old_err"] != t["new_err"]:
        sys.exit(f"bench_narrow: {name}: the outputs differ between the binaries")
    macs = sum(l["macs_per_sample"] for l in reps[0]["layers"] if l.get("approximate")) * limit
    print(f"| {name} | {t['old']:.2f} | {t['new']:.2f} | {macs / t['old'] / 1e9:.2f} | "
          f"{macs / t['new'] / 1e9:.2f} | {t['old'] / t['new']:.2f}x |")
PY
