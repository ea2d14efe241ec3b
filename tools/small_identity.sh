#!/bin/bash
# Whole-network outputs byte-identical between two axlut binaries for the
# small tables held in registers (issue 19, emu/mac/cpu/small.c):
#   tools/small_identity.sh OLD_AXLUT NEW_AXLUT DATA.h5 [OUTDIR]
# runs LeNet-5 (models/lenet5_fmnist.onnx, 500 images of DATA.h5, e.g.
# `tools/make_dataset.py --split test --limit 500 -o DATA.h5`) on int4,
# e2m1 (FP4) and FP6 tables with the old binary and with the new one at each
# kernel ISA (AXL_CPU_KERNEL unset = AVX-512, avx2), saves the outputs
# (--save-outputs) and compares them with h5diff (exact).  Exit status 1
# when any differs.
set -uo pipefail
old=$1 new=$2 data=$3 out=${4:-/tmp/axl-small-identity}
root=$(cd "$(dirname "$0")/.." && pwd)
model=$root/models/lenet5_fmnist.onnx
cfgs=(
    "--mul mul_exact --format int4"
    "--mul mitchell --format int4"
    "--mul mul_exact --format e2m1"
    "--mul fpmul_mitchell --format e2m1"
    "--mul mul_exact --format e3m2 --format-p fp32"
    "--mul fpmul_mitchell --format e2m3"
)
mkdir -p "$out"
bad=0
for i in "${!cfgs[@]}"; do
    # shellcheck disable=SC2086 # the options are meant to split
    if ! "$old" run "$model" --data "$data" --limit 500 --batch 100 --quiet ${cfgs[$i]} \
        --save-outputs "$out/old_$i.h5" >"$out/old_$i.txt" 2>&1; then
        echo "config $i failed with the old binary: $(tail -1 "$out/old_$i.txt")"
        bad=1
        continue
    fi
    for isa in avx512 avx2; do
        env=()
        [ "$isa" = avx2 ] && env=(AXL_CPU_KERNEL=avx2)
        # shellcheck disable=SC2086
        if ! env "${env[@]}" "$new" run "$model" --data "$data" --limit 500 --batch 100 --quiet \
            ${cfgs[$i]} --save-outputs "$out/new_${isa}_$i.h5" >"$out/new_${isa}_$i.txt" 2>&1; then
            echo "config $i failed with the new binary ($isa): $(tail -1 "$out/new_${isa}_$i.txt")"
            bad=1
        elif h5diff -q "$out/old_$i.h5" "$out/new_${isa}_$i.h5" >/dev/null 2>&1; then
            echo "identical ($isa): ${cfgs[$i]}"
        else
            echo "DIFFERENT ($isa): ${cfgs[$i]}"
            bad=1
        fi
    done
done
exit $bad
