#!/usr/bin/env bash
# Builds streamplane in every build type with every compiler, each with
# -Wall -Wextra -Werror (CMakeLists.txt), as CI does: GCC and clang, Release,
# RelWithDebInfo and Debug. Optimised builds run analyses (-Wstringop-*,
# -Warray-bounds) that a Debug build never does, and clang warns about other
# things than GCC, so a warning that breaks one of them breaks the build.
#
# usage: scripts/build-matrix.sh [OUT_DIR]      (default: build-matrix)
#   SP_MATRIX_CC="gcc clang"  SP_MATRIX_TYPES="Release RelWithDebInfo Debug"
#   SP_MATRIX_SKIP="gcc-RelWithDebInfo"  (builds made elsewhere, e.g. by make build)
# Prints one line per build and ends with "N passed, M failed".
# `make test` runs it; `make build-matrix` runs it alone.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-build-matrix}
CCS=${SP_MATRIX_CC:-gcc clang}
TYPES=${SP_MATRIX_TYPES:-Release RelWithDebInfo Debug}
# ccache keeps objects outside the clone, so a second run (or a fresh clone
# with a warm cache) compiles only what changed
LAUNCH=()
if command -v ccache >/dev/null; then
  export CCACHE_DIR=${CCACHE_DIR:-${STREAMPLANE_CACHE:-$HOME/.cache/streamplane}/ccache}
  # paths relative to the clone, so a clone at another path hits the same objects
  export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=true
  LAUNCH=(-DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
passed=0; failed=0
for cc in $CCS; do
  if ! command -v "$cc" >/dev/null; then
    echo "FAIL $cc: not installed (make deps installs it)"; failed=$((failed + 1)); continue
  fi
  for t in $TYPES; do
    case " ${SP_MATRIX_SKIP:-} " in *" $cc-$t "*) continue ;; esac
    dir="$OUT/$cc-$t"
    log="$dir.log"
    mkdir -p "$OUT"
    if CC=$cc cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$t" "${LAUNCH[@]}" >"$log" 2>&1 &&
       nice cmake --build "$dir" -j"$(nproc)" >>"$log" 2>&1; then
      echo "ok   $cc $t"; passed=$((passed + 1))
    else
      echo "FAIL $cc $t (log: $log)"; grep -E "error|warning" "$log" | head -20
      failed=$((failed + 1))
    fi
  done
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
