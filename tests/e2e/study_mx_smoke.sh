#!/usr/bin/env bash
# The MX section of tools/study.py (--mx-only, tools/study_mx.py) end to end
# on a one-model zoo made of the LeNet fixture, two samples: every point
# runs once and leaves its report; a second run runs nothing (resumed from
# the reports); a point whose report is gone runs again, alone; another
# --limit does not read the reports of the first; progress and the
# estimate of the time left are printed.  Usage: study_mx_smoke.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1 build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/zoo"
cp "$src/tests/data/models/lenet.onnx" "$tmp/zoo/lenet5.onnx"
cat > "$tmp/zoo/zoo.json" <<'JSON'
{"models": {"lenet5": {"description": "LeNet fixture", "params": 61706, "macs_per_sample": 416520}}}
JSON
export AXL_CACHE_DIR="$tmp/cache"
study() {
    /usr/bin/python3 "$src/tools/study.py" --zoo "$tmp/zoo" --data "$src/tests/data/models/lenet.h5" \
        -o "$tmp/STUDY.md" --work "$tmp/work" --axlut "$build/axlut" --mx-only "$@"
}
fail() { echo "FAIL: $*" >&2; exit 1; }
study --limit 2 > "$tmp/log1"
n=$(ls "$tmp/work" | grep -c '^lenet5_mx_n2_.*\.json$' || true)
[ "$n" = 27 ] || fail "$n reports after the first run, expected 27"
[ "$(grep -c '^\$ ' "$tmp/log1")" = 27 ] || fail "the first run did not run 27 points"
grep -q '^study_mx: 1 model(s) x 27 points, 2 images each: 0 done' "$tmp/log1" || fail "no plan line"
grep -q 'lenet5 mxfp4_exact: [0-9]* s; \[[0-9]*/27\] .* left (' "$tmp/log1" || fail "no progress line"
grep -q '\[27/27\]' "$tmp/log1" || fail "progress never reached 27/27"
grep -q '^<!-- study_mx: begin -->' "$tmp/STUDY.md" || fail "no section"
grep -q '^| mxfp4, DRUM k=3 elements | ' "$tmp/STUDY.md" || fail "no MXFP4 DRUM row"
grep -q '^| e5m2, scaling per-channel | ' "$tmp/STUDY.md" || fail "no e5m2 per-channel row"
grep -q "^| e4m3, scaling per-channel, Mitchell products | " "$tmp/STUDY.md" || fail "no Mitchell per-channel row"
if grep -q '| fail |' "$tmp/STUDY.md"; then fail "a point failed"; fi
# resumed: nothing runs
study --limit 2 > "$tmp/log2"
if grep -q '^\$ ' "$tmp/log2"; then fail "a finished study ran points again"; fi
grep -q '27 done (reports in .*), 0 to run' "$tmp/log2" || fail "the resumed run did not count the reports"
# an interrupted study (one report missing) runs that point only
rm "$tmp/work/lenet5_mx_n2_mxint8_drum.json"
study --limit 2 > "$tmp/log3"
[ "$(grep -c '^\$ ' "$tmp/log3")" = 1 ] || fail "not exactly one point ran after one was lost"
grep -q -- '--report [^ ]*lenet5_mx_n2_mxint8_drum.json --format mxint8 --mul drum --param k=4' \
    "$tmp/log3" || fail "the lost point was not the one run"
grep -q 'about .* left (0 point(s) to run)' "$tmp/log3" || fail "no estimate after the rerun"
# another number of images: its own reports
study --limit 1 --models lenet5 > "$tmp/log4" 2>&1 &
pid=$!
# interrupted midway: the reports written are whole
sleep 3
kill -INT "$pid" 2>/dev/null || true
wait "$pid" || true
for f in "$tmp"/work/lenet5_mx_n1_*.json; do
    [ -e "$f" ] || continue
    /usr/bin/python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$f" || fail "$f: not a whole report"
done
study --limit 1 > "$tmp/log5"
n=$(ls "$tmp/work" | grep -c '^lenet5_mx_n1_.*\.json$' || true)
[ "$n" = 27 ] || fail "$n reports at --limit 1, expected 27"
grep -q '^| exact network | ' "$tmp/STUDY.md" || fail "no exact row"
grep -q 'Top-1 (%) on 1 test images' "$tmp/STUDY.md" || fail "the section is not of the last run"
# the Mitchell-and-scale finding on reports whose answers are known
/usr/bin/python3 - "$src/tools" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import study_mx as sm
def rep(top1, *snr):
    return {"top1": top1, "exact_top1": 0.9,
            "layers": [{"approximate": True, "layer_error": {"snr_db": x}} for x in snr]}
tops = {"e4m3_none": 0.89, "e4m3_per-tensor": 0.895, "e4m3_per-channel": 0.895,
        "mxfp8_exact": 0.893, "e4m3_none_mitchell": 0.88, "e4m3_per-tensor_mitchell": 0.85,
        "e4m3_per-channel_mitchell": 0.80, "mxfp8_mitchell": 0.60}
a = {t: rep(v, 20.0, 24.0, 30.0) for t, v in tops.items()}
a["mxfp8_mitchell"] = rep(0.60, 17.0, 21.0, 30.0)
b = dict(a, **{"mxfp8_mitchell": rep(0.87, 18.0, 20.0, 22.0)})
text = "\n".join(sm.findings({"m1": a, "m2": b}))
want = ["median loss of Mitchell on e4m3 none 2.00, per-tensor 5.00, per-channel 10.00, "
        "MXFP8 blocks 16.50 points", "exact products: none 1.00, per-tensor 0.50, per-channel "
        "0.50, MXFP8 0.70", "the loss grows at each finer step on 1 of 2 models",
        "moves by -3.5 dB from unscaled e4m3 to MXFP8 with Mitchell's products and by +0.0 dB "
        "with exact ones: the difference is Mitchell's"]
bad = [w for w in want if w not in text]
if bad:
    sys.exit("study_mx findings: missing %r in:\n%s" % (bad, text))
PY
echo "study_mx_smoke: OK"
