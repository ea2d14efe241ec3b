#!/usr/bin/env bash
# tools/study.py end to end on a one-model zoo made of the LeNet fixture
# (two samples, no sensitivity pass): the sweeps run, and the Markdown has
# the tables and the commands.  Usage: study_smoke.sh SOURCE_DIR BUILD_DIR
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
/usr/bin/python3 "$src/tools/study.py" --zoo "$tmp/zoo" --data "$src/tests/data/models/lenet.h5" \
    -o "$tmp/STUDY.md" --work "$tmp/work" --limit 2 --axlut "$build/axlut" --no-sensitivity \
    --exponents 3 --search-accs fp32,fp16 --mul-formats e4m3 >/dev/null
test -s "$tmp/study/multipliers.png"
grep -q '^### lenet5' "$tmp/STUDY.md"
grep -q '| fp16 | ' "$tmp/STUDY.md"
grep -q '| fpmul_drum(k=3) |' "$tmp/STUDY.md"
grep -q '| fpadd_loa(k=4) |' "$tmp/STUDY.md"
grep -q 'axlut sweep' "$tmp/STUDY.md"
grep -q '^## Findings computed from the data' "$tmp/STUDY.md"
# the fixture has no labels: its model is named, not counted
grep -q 'Not counted, the dataset has no labels (no top-1): lenet5' "$tmp/STUDY.md"
# the computed findings on rows whose answers are known
/usr/bin/python3 - "$src/tools" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import study_findings as sf
def r(fmt, acc, top1, **kw):
    return dict(format=fmt, acc_format=acc, top1=top1, exact_top1=0.9, design="mul_exact",
                adder="", **kw)
a = {"name": "a", "exact": 0.9, "sr": [],
     "fr": [r("e3m2", "fp32", 0.85), r("e3m3", "fp32", 0.895), r("e2m3", "fp32", 0.80),
            r("e2m4", "fp32", 0.50), r("e3m3", "fp16", 0.70), r("e3m4", "fp16", 0.893)],
     "mr": [dict(r("e4m3fn", "fp32", 0.88), design="fpmul_x")],
     "ar": [dict(r("e4m3fn", "fp16", 0.10), adder="fpadd_y")]}
b = dict(a, name="b", fr=[r("e4m2", "fp32", 0.899)],
         mr=[dict(r("e4m3fn", "fp32", 0.897), design="fpmul_x")],
         ar=[dict(r("e4m3fn", "fp16", 0.90), adder="fpadd_y")])
text = "\n".join(sf.findings([a, b, dict(b, name="c", exact=float("nan"))], ["fp32", "fp16"]))
want = ["fp32 accumulator**: 7 bits on the 2 model(s)", "e3m3 (1), e4m2 (1)",
        "on 1 of the 1 model(s) where both ran",
        "fp16 accumulation** (every add rounded to fp16) needs the same smallest format as "
        "float32 accumulation on 0 of 1 model(s); more on a (7 -> 8 bits)",
        "`fpmul_x`: within 1 point on 1, within 2 on 1 of 2 model(s); median loss 1.15 points, "
        "worst a (2.00)", "`fpadd_y`: within 1 point on 1, within 2 on 1 of 2 model(s)",
        "2 model(s) counted", "no labels (no top-1): c"]
bad = [w for w in want if w not in text]
if bad:
    sys.exit("study_findings: missing %r in:\n%s" % (bad, text))
PY
# a model that is not in the zoo is refused before any work
if /usr/bin/python3 "$src/tools/study.py" --zoo "$tmp/zoo" --data "$src/tests/data/models/lenet.h5" \
    -o "$tmp/X.md" --models nosuch 2>/dev/null; then
    echo "FAIL: unknown model accepted" >&2
    exit 1
fi
test ! -e "$tmp/X.md"
echo "study_smoke: OK"
