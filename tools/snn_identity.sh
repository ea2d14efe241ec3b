#!/bin/bash
# SNN outputs byte-identical between two axlut binaries (issue 12: the
# batched synaptic kernels must not change a bit of the scalar ones):
#   tools/snn_identity.sh OLD_AXLUT NEW_AXLUT DATA.h5 [OUTDIR]
# runs `axlut snn` on LeNet-5 (models/lenet5_fmnist.onnx, the first 40
# images of DATA.h5, e.g. the Fashion-MNIST test set of tools/make_dataset.py;
# calibration on the same images) and on the residual fixture
# (tests/data/models/resnet_bn.onnx with its own data) under int16, fp16 and
# bf16 membranes and several approximate adders, the old binary with its
# default kernel, the new one with each of event, dense and auto; saves the
# readouts (--save-outputs) and compares them with h5diff (exact).  Exit
# status 1 when any differs.
set -uo pipefail
old=$1 new=$2 data=$3 out=${4:-/tmp/axl-snn-identity}
root=$(cd "$(dirname "$0")/.." && pwd)
models=("$root/models/lenet5_fmnist.onnx|$data"
        "$root/tests/data/models/resnet_bn.onnx|$root/tests/data/models/resnet_bn.h5")
cfgs=(
    "--acc-format int16 --add loa --add-param k=4"
    "--acc-format int16 --add aca --add-param k=6 --format-w int8"
    "--acc-format int16 --add eta1 --add-param k=3 --coding bernoulli --seed 3"
    "--acc-format fp16 --add fpadd_loa --add-param k=2"
    "--acc-format fp16 --add fpadd_trunc_add --add-param k=4 --reset zero"
    "--acc-format bf16 --add fpadd_eta1 --add-param k=2 --coding bernoulli"
    "--acc-format bf16 --add fpadd_ama5 --add-param k=4 --leak 0.0625"
    "--acc-format fp16"
    "--coding bernoulli --seed 5"
)
mkdir -p "$out"
bad=0 n=0
for m in "${!models[@]}"; do
    model=${models[$m]%%|*} d=${models[$m]#*|}
    for i in "${!cfgs[@]}"; do
        base="$out/m${m}_c$i"
        # shellcheck disable=SC2086 # the options are meant to split
        if ! "$old" snn "$model" --data "$d" --calib "$d" --calib-limit 40 --limit 40 \
            --steps 8,24 --quiet ${cfgs[$i]} --save-outputs "$base.old.h5" >"$base.old.log" 2>&1; then
            echo "model $m config $i failed with the old binary: $(tail -1 "$base.old.log")"
            bad=1
            continue
        fi
        for kern in event dense auto; do
            # shellcheck disable=SC2086
            if ! "$new" snn "$model" --data "$d" --calib "$d" --calib-limit 40 --limit 40 \
                --steps 8,24 --quiet --kernel $kern ${cfgs[$i]} \
                --save-outputs "$base.$kern.h5" >"$base.$kern.log" 2>&1; then
                echo "model $m config $i failed with the new binary ($kern): $(tail -1 "$base.$kern.log")"
                bad=1
            elif h5diff -q "$base.old.h5" "$base.$kern.h5" >/dev/null 2>&1; then
                n=$((n + 1))
            else
                echo "model $m config $i ($kern): outputs differ: ${cfgs[$i]}"
                bad=1
            fi
        done
    done
done
echo "$n runs byte-identical to the old binary's outputs$([ $bad = 1 ] && echo '; some FAILED')"
exit $bad
