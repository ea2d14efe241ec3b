#!/usr/bin/env bash
# The ctest driver of the fuzz targets (tests/fuzz/README.md):
#
#   run.sh fuzz|replay NAME EXE AXLUT SRC WORK
#
# gathers target NAME's seeds into WORK/seeds (tables are generated with
# AXLUT gen; the other seeds are fixtures of SRC), then
#   fuzz:   runs the libFuzzer executable EXE for AXL_FUZZ_SECONDS (default
#           60) over WORK/corpus (kept between runs), the seeds and
#           SRC/tests/fuzz/found/NAME; a finding is written to WORK/artifacts/
#           and fails the test (copy it into found/NAME once fixed).
#           table and dataset: their targets call the HDF5 readers in the
#           fuzzer's process, where HDF5 itself crashes on corrupt files; they
#           are fuzzed with -fork=1 -ignore_crashes=1 (crashes, hangs and
#           out-of-memory inputs are kept in WORK/artifacts/), and every such
#           input must then be answered by the CLI (axlut info, axlut run),
#           which reads in a child process, with one line and exit status 2;
#   replay: runs EXE (replay.c) once over the seeds and found/NAME.
set -euo pipefail
mode=$1 name=$2 exe=$3 axlut=$4 src=$5 work=$6
seeds=$work/seeds
found=$src/tests/fuzz/found/$name
mkdir -p "$seeds" "$work/corpus" "$work/artifacts"
# the targets' scratch files (fuzz.h) go to a directory of this run, emptied
# first: a child that crashes under -fork=1 never reaches its atexit, and its
# file would otherwise stay in /tmp
export TMPDIR=$work/tmp
rm -rf "$TMPDIR"
mkdir -p "$TMPDIR"

case "$name" in
table)
    # one table of each kind: full integer, full float, mantissa, adder,
    # with parameters; the smallest formats keep the files small
    gen() { # OUT DESIGN ARGS...
        [ -s "$seeds/$1" ] || (cd "$work" && "$axlut" gen "${@:2}" -o "$seeds/$1" >/dev/null)
    }
    gen int4.h5 mul_exact --format int4
    gen e2m1.h5 mul_exact --format e2m1
    gen drum_u4.h5 drum --param k=2 --format uint4
    gen fpmul_e4m3.h5 fpmul_drum --param k=3 --format e4m3
    gen add_e2m1.h5 add_exact --format e2m1
    ;;
dataset) cp -f "$src"/tests/data/models/*.h5 "$seeds/" ;;
onnx)
    cp -f "$src"/tests/data/onnx_ops/*.onnx "$seeds/"
    for m in resnet_bn mobilenetv2_block transformer_block; do
        cp -f "$src/tests/data/models/$m.onnx" "$seeds/"
    done
    ;;
format | layers) cp -f "$src/tests/fuzz/seeds/$name"/* "$seeds/" ;;
*) echo "run.sh: unknown target $name" >&2; exit 2 ;;
esac

dirs=("$seeds")
[ -d "$found" ] && dirs+=("$found")
export OMP_NUM_THREADS=1
if [ "$mode" = replay ]; then
    # a file that hangs HDF5 (found/) is stopped after 10 s, not 60
    export AXL_READ_TIMEOUT=${AXL_READ_TIMEOUT:-10}
    exec "$exe" "${dirs[@]}"
fi
# -timeout: an input that runs this long is a hang; -malloc_limit_mb: one
# allocation this large (a size read from the file, unchecked) is a finding
opts=(-max_total_time="${AXL_FUZZ_SECONDS:-60}" -timeout=20 -rss_limit_mb=2560
      -malloc_limit_mb=1024 -max_len=65536 -print_final_stats=1
      -artifact_prefix="$work/artifacts/")
case "$name" in
table | dataset) ;;
*) exec "$exe" "${opts[@]}" "$work/corpus" "${dirs[@]}" ;;
esac

log=$work/fuzz.log
touch "$work/started" # the inputs of this run are the newer ones
rc=0
"$exe" "${opts[@]}" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    "$work/corpus" "${dirs[@]}" >"$log" 2>&1 || rc=$?
grep -E '^(INFO: fuzzed|#[0-9]+: cov)' "$log" | tail -n 2
# with -fork, libFuzzer exits with the status of its last job (a finding
# it was told to ignore: 70 for a hang, 77 for a leak inside HDF5); it ran
# when it says it fuzzed to the end
if [ "$rc" != 0 ] && ! grep -q '^INFO: fuzzed for' "$log"; then
    echo "run.sh: the fuzzer failed (exit $rc); its log: $log" >&2
    exit 1
fi
n=0 bad=0
for a in "$work"/artifacts/*; do
    [ -f "$a" ] && [ "$a" -nt "$work/started" ] || continue
    n=$((n + 1))
    if [ "$name" = table ]; then
        cmd=("$axlut" info "$a")
    else
        cmd=("$axlut" run "$src/tests/data/models/resnet_bn.onnx" --data "$a")
    fi
    got=0
    AXL_READ_TIMEOUT=10 "${cmd[@]}" >/dev/null 2>"$work/err.txt" || got=$?
    lines=$(wc -l <"$work/err.txt")
    if [ "$got" != 2 ] || [ "$lines" != 1 ]; then
        echo "run.sh: ${cmd[*]}: exit $got, $lines lines on stderr (want 2 and 1):" >&2
        head -n 5 "$work/err.txt" >&2
        bad=$((bad + 1))
    fi
done
echo "run.sh: $n inputs crashed, hung or exhausted memory in the fuzzer's process;" \
    "the CLI answered $((n - bad)) of them with one line and exit status 2"
[ "$bad" = 0 ]
