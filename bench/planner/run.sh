#!/usr/bin/env bash
# bench/planner: the partition reassignment planner on the synthetic clusters
# of issue 13 (1,000 topics x 12 partitions x RF 3, 3 racks, 3..30 brokers).
# Prints, per scaling step, plan time, replica moves against the minimum any
# plan needs, leader changes against theirs, skews and batches.
# usage: bash bench/planner/run.sh [topics] [runs] [moves per batch]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
if [ ! -x "$BUILD/planner_bench" ] || [ workers/kafka/planner.c -nt "$BUILD/planner_bench" ] || [ bench/planner/planner_bench.c -nt "$BUILD/planner_bench" ] || [ tests/common/planner_synth.c -nt "$BUILD/planner_bench" ]; then
  if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    make build >/dev/null
  fi
  cmake --build "$BUILD" --target planner_bench -j"$(nproc)" >/dev/null
fi
echo "host: $(nproc) cores, $(uname -sr), $(date -u +%Y-%m-%dT%H:%MZ)"
"$BUILD/planner_bench" "${1:-1000}" "${2:-5}" "${3:-1000}"
