#!/bin/sh
# Whole-network outputs byte for byte against an older axlut binary:
#   tools/net_identity.sh BASE_AXLUT NEW_AXLUT DATA.h5 MODEL.onnx...
# Every model under an int8 table (Mitchell), an e4m3 table (DRUM k=4),
# exact mode, and the bf16/fp16 paths (exact bf16 products; fp16 products
# and exact adds into fp16; Mitchell e4m3 products added into bf16), with the same batch and samples; the saved /outputs of
# the approximate network must be identical bits (the layer saves too
# with SAVE_LAYERS=1, which takes the configured network's every layer).
# LIMIT (default 16) and BATCH (default 8) choose the samples.  Exit 1 on
# the first difference.
set -eu
[ $# -ge 4 ] || { echo "usage: $0 BASE_AXLUT NEW_AXLUT DATA.h5 MODEL.onnx..." >&2; exit 2; }
base=$1 new=$2 data=$3
shift 3
limit=${LIMIT:-16} batch=${BATCH:-8}
layers=""
[ "${SAVE_LAYERS:-0}" = 1 ] && layers=--save-layers
work=$(mktemp -d /tmp/axl-identity-XXXXXX)
trap 'rm -rf "$work"' EXIT
status=0
for model in "$@"; do
    for cfg in "int8:--mul mitchell --format int8" "e4m3:--mul fpmul_drum --param k=4 --format e4m3" \
               "exact:" "bf16:--format bf16" "fp16-fp16acc:--format fp16 --add add_exact --acc-format fp16" \
               "e4m3-bf16acc:--mul fpmul_mitchell --format e4m3 --add add_exact --acc-format bf16"; do
        name=${cfg%%:*} opts=${cfg#*:}
        for which in base new; do
            eval bin=\$$which
            # shellcheck disable=SC2086
            "$bin" run "$model" --data "$data" --limit "$limit" --batch "$batch" $opts \
                --save-outputs "$work/$which.h5" $layers --quiet
        done
        if /usr/bin/python3 - "$work/base.h5" "$work/new.h5" <<'EOF'
import sys
import h5py
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
names = []
a.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
bad = [n for n in names if n not in b or a[n][()].tobytes() != b[n][()].tobytes()]
print(f"{len(names)} dataset(s), {len(bad)} different" + (f": {bad[:3]}" if bad else ""))
sys.exit(1 if bad or not names else 0)
EOF
        then echo "identical: $(basename "$model") $name"
        else echo "DIFFERENT: $(basename "$model") $name"; status=1
        fi
    done
done
exit $status
