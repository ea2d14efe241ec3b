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
# a model that is not in the zoo is refused before any work
if /usr/bin/python3 "$src/tools/study.py" --zoo "$tmp/zoo" --data "$src/tests/data/models/lenet.h5" \
    -o "$tmp/X.md" --models nosuch 2>/dev/null; then
    echo "FAIL: unknown model accepted" >&2
    exit 1
fi
test ! -e "$tmp/X.md"
echo "study_smoke: OK"
