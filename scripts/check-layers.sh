#!/usr/bin/env bash
# The dependency graph is server -> api -> core <- workers, all above store
# and common (DESIGN.md §2). This checks every #include of the layers'
# sources against it and names each one that points the wrong way.
# Prints "N passed, M failed" (one check per layer).
set -uo pipefail
cd "$(dirname "$0")/.."
# layer: the folders it may include besides its own
declare -A ALLOWED=(
  [common]=""
  [store]="common"
  [core]="store common"
  [api]="core store common"
  [workers]="core store common"
)
passed=0; failed=0
for layer in common store core api workers; do
  bad=0
  while IFS= read -r line; do
    file=${line%%:*}
    inc=$(sed -E 's/.*#include "([^"]+)".*/\1/' <<<"${line#*:}")
    # resolve the include against the including file's folder
    target=$(realpath -m --relative-to=. "$(dirname "$file")/$inc")
    top=${target%%/*}
    [ "$top" = "$layer" ] && continue
    [ ! -e "$target" ] && [ ! -e "$inc" ] && continue          # a system or generated header
    [ -e "$target" ] || { target=$inc; top=${inc%%/*}; }          # include path rooted at the repo
    ok=0
    for a in ${ALLOWED[$layer]}; do [ "$top" = "$a" ] && ok=1; done
    if [ $ok = 0 ]; then echo "  $file includes $target ($layer -> $top is not allowed)"; bad=1; fi
  done < <(grep -rnH --include='*.c' --include='*.h' '#include "' "$layer" | sed -E 's/^([^:]+):[0-9]+:/\1:/')
  if [ $bad = 0 ]; then echo "ok   $layer -> {${ALLOWED[$layer]// /, }}"; passed=$((passed + 1))
  else echo "FAIL $layer"; failed=$((failed + 1)); fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
