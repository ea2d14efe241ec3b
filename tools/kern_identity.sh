#!/bin/bash
# Whole-network outputs byte-identical between two axlut binaries (issue 19:
# the table kernels' new layouts must not change a bit):
#   tools/kern_identity.sh OLD_AXLUT NEW_AXLUT DATA.h5 [OUTDIR]
# runs the demo LeNet-5 (models/lenet5_fmnist.onnx, 200 images) and the zoo
# ResNet-18 ($AXL_ZOO/resnet18.onnx, default /work/zoo; 32 images) of DATA.h5
# (Fashion-MNIST: tools/make_dataset.py) with each binary on tables of every
# plane layout: int8 (S16, VNNI), e4m3 (sign-symmetric half planes), e5m2
# (full planes: 0 x inf breaks the symmetry), uint8 (U16); saves the outputs
# (--save-outputs) and compares them with cmp on the output datasets
# (h5diff, exact).  Exit status 1 when any differs.
set -uo pipefail
old=$1 new=$2 data=$3 out=${4:-/tmp/axl-kern-identity}
root=$(cd "$(dirname "$0")/.." && pwd)
zoo=${AXL_ZOO:-/work/zoo}
models=("$root/models/lenet5_fmnist.onnx:200" "$zoo/resnet18.onnx:32")
cfgs=(
    "--mul mitchell --format int8"
    "--mul fpmul_drum --param k=4 --format e4m3"
    "--mul fpmul_drum --param k=3 --format e5m2"
    "--mul drum --param k=4 --format uint8"
)
mkdir -p "$out/old" "$out/new"
bad=0
for mi in "${!models[@]}"; do
    model=${models[$mi]%%:*} limit=${models[$mi]##*:}
    for i in "${!cfgs[@]}"; do
        for which in old new; do
            bin=$old
            [ "$which" = new ] && bin=$new
            # shellcheck disable=SC2086
            "$bin" run "$model" --data "$data" --limit "$limit" ${cfgs[$i]} --quiet \
                --save-outputs "$out/$which/$mi-$i.h5" >/dev/null || { echo "run failed: $which $model ${cfgs[$i]}"; bad=1; }
        done
        if h5diff "$out/old/$mi-$i.h5" "$out/new/$mi-$i.h5" /outputs /outputs >/dev/null 2>&1; then
            echo "same bits: $(basename "$model") ${cfgs[$i]}"
        else
            echo "DIFFER:    $(basename "$model") ${cfgs[$i]}"
            bad=1
        fi
    done
done
exit $bad
