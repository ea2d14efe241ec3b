#!/usr/bin/env bash
# tests/check_exports.sh LIBAXLUT_SO SOURCE_DIR: the shared library exports
# the public C API and nothing else.  Independent of the generator
# (tools/export_map.cmake): a name counts as public when include/axlut/*.h
# spells "axl_NAME(" (or declares it through AXL_ENUM_NAMES_DECL) and does
# not define it AXL_HD inline; then
#   every exported symbol is public (no layer internals, protobuf, CUDA runtime),
#   every public function is exported (none lost by the version script),
#   the SONAME is libaxlut.so.MAJOR.MINOR.
set -euo pipefail
lib=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

nm -D --defined-only "$lib" | awk '{print $NF}' | sort -u >"$tmp/exported"
cat "$src"/include/axlut/*.h >"$tmp/headers"
{
    grep -ohE '\baxl_[a-z0-9_]+ *\(' "$tmp/headers" | sed 's/ *($//'
    grep -ohE 'AXL_ENUM_NAMES_DECL\(axl_[a-z0-9_]+, *axl_[a-z0-9_]+, *axl_[a-z0-9_]+\)' "$tmp/headers" |
        sed -E 's/^[^,]*, *([a-z0-9_]+), *([a-z0-9_]+)\)$/\1\n\2/'
} | sort -u >"$tmp/mentioned"
grep -ohE 'AXL_HD[^(;]*\baxl_[a-z0-9_]+\(' "$tmp/headers" | grep -oE 'axl_[a-z0-9_]+\($' |
    sed 's/($//' | sort -u >"$tmp/inline"
comm -23 "$tmp/mentioned" "$tmp/inline" >"$tmp/public"

fail=0
n=$(wc -l <"$tmp/exported")
if [ "$n" -lt 100 ]; then
    echo "FAIL: only $n symbols exported by $lib" >&2
    fail=1
fi
extra=$(comm -23 "$tmp/exported" "$tmp/public")
if [ -n "$extra" ]; then
    echo "FAIL: exported but not public (not declared in include/axlut/*.h):" >&2
    echo "$extra" | head -n 20 >&2
    fail=1
fi
# a name the headers mention only in a comment is not a function: those are
# the mentioned names that no declaration line (ending in ';' or ',') holds
missing=$(comm -13 "$tmp/exported" "$tmp/public")
for name in $missing; do
    if grep -qE "^[^/*]*[A-Za-z0-9_][ *]+\b$name\(" "$tmp/headers"; then
        echo "FAIL: public function $name is not exported" >&2
        fail=1
    fi
done
soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
case "$soname" in
libaxlut.so.[0-9]*.[0-9]*) ;;
*) echo "FAIL: SONAME '$soname' is not libaxlut.so.MAJOR.MINOR" >&2; fail=1 ;;
esac
[ "$fail" = 0 ] && echo "check_exports: $n public functions exported, nothing else; SONAME $soname"
exit "$fail"
