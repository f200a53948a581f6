#!/usr/bin/env bash
# bench/pki: what each operation of the per-cluster CA (workers/pki) costs:
# median and slowest of N runs, in milliseconds.
# usage: bash bench/pki/run.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
if [ ! -f "$BUILD/CMakeCache.txt" ]; then make build >/dev/null; fi
cmake --build "$BUILD" --target pki_bench -j"$(nproc)" >/dev/null
echo "host: $(nproc) cores, $(uname -sr), $(openssl version), $(date -u +%Y-%m-%dT%H:%MZ)"
"$BUILD/pki_bench" "${1:-50}"
