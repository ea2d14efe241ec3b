#!/bin/bash
# Whole-network outputs byte-identical between two axlut binaries (issue 13:
# the designs' batch forms must not change a bit):
#   tools/batch_identity.sh OLD_AXLUT NEW_AXLUT DATA.h5 [OUTDIR]
# runs LeNet-5 (models/lenet5_fmnist.onnx, 100 images of DATA.h5, e.g. the
# Fashion-MNIST test set of tools/demo) with each binary on configurations
# that use the function path, the mantissa path (its slow cases, code
# accumulators, through the batch forms where the table is the core's, and
# fpmul_mbm's, whose table is not), code accumulators with
# approximate adders in every order, the integer function path and a user
# design, saves the outputs (--save-outputs) and compares them with h5diff
# (exact).  Exit status 1 when any differs.
set -uo pipefail
old=$1 new=$2 data=$3 out=${4:-/tmp/axl-batch-identity}
root=$(cd "$(dirname "$0")/.." && pwd)
model=$root/models/lenet5_fmnist.onnx
cfgs=(
    "--mul fpmul_drum --param k=4 --format bf16 --path function"
    "--mul fpmul_mitchell --format fp32"
    "--mul mul_exact --format e4m3 --add fpadd_loa --add-param k=4 --acc-format fp16"
    "--mul fpmul_drum --param k=4 --format bf16"
    "--mul fpmul_mitchell --format bf16 --add fpadd_loa --acc-format bf16"
    "--mul fpmul_mitchell --format bf16 --path function --add fpadd_eta1 --acc-format fp16 --order pairwise"
    "--mul fpmul_mbm --format e4m3 --add fpadd_aca --acc-format e5m2 --order chunked --chunk 7"
    "--mul drum --param k=4 --format int8 --path function"
    "--mul mitchell --format uint8 --path function"
    "--mul mul_exact --format int8 --path function"
    "--mul $root/tables/examples/my_lomul.c --param k=6 --format uint8 --path function"
    "--mul fpmul_roba --format fp16 --path function --add fpadd_trunc_add --acc-format fp16 --round stochastic"
    "--mul fpmul_kulkarni --format fp16 --add fpadd_ama5 --acc-format fp16 --order pairwise"
    "--mul fpmul_mbm --format bf16 --add fpadd_loa --acc-format bf16"
    "--mul fpmul_bam --format bf16 --path function --add fpadd_aca --acc-format bf16 --round down"
)
mkdir -p "$out/old" "$out/new"
bad=0
for i in "${!cfgs[@]}"; do
    for which in old new; do
        bin=$old
        [ "$which" = new ] && bin=$new
        # shellcheck disable=SC2086 # the options are meant to split
        if ! "$bin" run "$model" --data "$data" --limit 100 --batch 50 --quiet ${cfgs[$i]} \
            --save-outputs "$out/$which/out_$i.h5" >"$out/$which/log_$i.txt" 2>&1; then
            echo "config $i failed with $which: $(tail -1 "$out/$which/log_$i.txt")"
            bad=1
        fi
    done
    if h5diff -q "$out/old/out_$i.h5" "$out/new/out_$i.h5" >/dev/null 2>&1; then
        echo "identical: ${cfgs[$i]}"
    else
        echo "DIFFERENT: ${cfgs[$i]}"
        bad=1
    fi
done
exit $bad
