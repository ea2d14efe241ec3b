#!/usr/bin/env bash
# The library's layers and the direction of their dependencies:
#   run -> net -> mac -> tablegen -> tables -> formats
# Private headers are kept apart by the build (each layer's own directory is
# on its private include path only).  The public headers all live in
# include/axlut, so this check does the rest: no file of a layer includes a
# public header of a layer above it.  Exit 1 with one line per offence.
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"

# layer rank of each public header
declare -A rank=(
  [hd.h]=0 [status.h]=0 [format.h]=0 [block.h]=0 [scale.h]=0 [config.h]=0
  [design.h]=1
  [table.h]=2 [user_design.h]=2
  [emu.h]=3 [mac.h]=3 [block_mac.h]=3
  [graph.h]=4
  [abi.h]=5 [dataset.h]=5 [layers.h]=5 [run.h]=5 [snn.h]=5 [sweep.h]=5 [train.h]=5
)
layer_of() { # path -> rank
  case "$1" in
  formats/*) echo 0 ;;
  tables/*) echo 1 ;;
  tablegen/*) echo 2 ;;
  emu/mac/*) echo 3 ;;
  emu/net/*) echo 4 ;;
  emu/run/*) echo 5 ;;
  include/axlut/*) echo "${rank[$(basename "$1")]:-}" ;;
  *) echo "" ;;
  esac
}
# the library's sources: git's list in a checkout, else the files on disk
list_sources() {
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files 'formats/*' 'tables/*' 'tablegen/*' 'emu/*' 'include/axlut/*'
  else
    find formats tables tablegen emu include/axlut -type f
  fi | grep -E '\.(c|h|cu|cuh)$'
}
bad=0
checked=0
while IFS= read -r f; do
  me=$(layer_of "$f")
  [ -n "$me" ] || { [[ $f == include/axlut/* ]] && { echo "$f: a public header with no layer (add it to tests/check_layers.sh)"; bad=1; }; continue; }
  checked=$((checked + 1))
  while IFS= read -r inc; do
    h=$(basename "$inc")
    r=${rank[$h]:-}
    if [ -z "$r" ]; then
      echo "$f: includes axlut/$h, a public header with no layer"; bad=1
    elif [ "$r" -gt "$me" ]; then
      echo "$f: includes axlut/$h of a higher layer"; bad=1
    fi
  done < <(if [[ $f == include/axlut/* ]]; then
             sed -n 's|^#include "\(axlut/\)\{0,1\}\([a-z_]*\.h\)".*|\2|p' "$f"
           else
             sed -n 's|^#include "axlut/\([a-z_]*\.h\)".*|\1|p' "$f"
           fi)
done < <(list_sources)
if [ "$checked" -lt 20 ]; then
  echo "check_layers: only $checked files checked; the layout has changed?"; exit 1
fi
[ "$bad" = 0 ] && echo "check_layers: $checked files, every include points down"
exit "$bad"
