#!/usr/bin/env bash
# tests/install/run.sh BUILD_DIR TMP_DIR: install the axlut built in BUILD_DIR
# under TMP_DIR/prefix, then build tests/install/main.c against it twice, as a
# user would: with CMake (find_package(axlut)) and with pkg-config, and check
# what both programs print.  Registered as the ctest test install_consumer.
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 BUILD_DIR TMP_DIR" >&2
    exit 2
fi
build=$(cd "$1" && pwd)
tmp=$2
cmake=${CMAKE:-cmake}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
prefix="$tmp/prefix"
rm -rf "$tmp"
mkdir -p "$tmp"

echo "== cmake --install $build --prefix $prefix"
"$cmake" --install "$build" --prefix "$prefix" >"$tmp/install.log"
for f in bin/axlut include/axlut/format.h include/axlut/config.h; do
    [ -e "$prefix/$f" ] || { echo "FAIL: $prefix/$f was not installed" >&2; exit 1; }
done
libdir=$(dirname "$(find "$prefix" -name libaxlut.a | head -n 1)")
[ -f "$libdir/libaxlut.a" ] || { echo "FAIL: libaxlut.a was not installed" >&2; exit 1; }
# the shared library beside it, with its SONAME link and the development link
so=$(readelf -d "$libdir/libaxlut.so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ -n "$so" ] && [ -e "$libdir/$so" ] || { echo "FAIL: libaxlut.so or its SONAME link ($so) missing" >&2; exit 1; }

check() { # NAME PROGRAM
    local out
    out=$("$2")
    echo "$1: $out"
    case "$out" in
    *"e4m3fn 3.14159 -> 0x45 -> 3.25"*"cuda compiled"*"gemm 1 2 3 4"*) ;;
    *) echo "FAIL: $1 printed the wrong result" >&2; exit 1 ;;
    esac
}

echo "== CMake consumer: find_package(axlut), CMAKE_PREFIX_PATH=$prefix"
"$cmake" -S "$here" -B "$tmp/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" >"$tmp/cmake-configure.log" \
    || { cat "$tmp/cmake-configure.log"; exit 1; }
"$cmake" --build "$tmp/cmake-build" >"$tmp/cmake-build.log" 2>&1 \
    || { cat "$tmp/cmake-build.log"; exit 1; }
check cmake "$tmp/cmake-build/consumer"

echo "== pkg-config consumer: cc main.c \$(pkg-config --cflags --libs axlut)"
flags=$(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs axlut)
echo "pkg-config: $flags"
# shellcheck disable=SC2086  # the flags are words
cc -std=c11 -Wall -Wextra -Werror "$here/main.c" -o "$tmp/consumer-pc" $flags
# -laxlut finds the shared library first: the program runs against it
ldd "$tmp/consumer-pc" | grep -q "libaxlut.so" || { echo "FAIL: pkg-config consumer not linked to libaxlut.so" >&2; exit 1; }
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
check pkg-config "$tmp/consumer-pc"

echo "== installed axlut binary"
"$prefix/bin/axlut" --version
"$prefix/bin/axlut" quantize e4m3 3.14159 | grep -q 0x45 || { echo "FAIL: installed axlut quantize" >&2; exit 1; }
echo "install_consumer: OK"
