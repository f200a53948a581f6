#!/usr/bin/env bash
# Runs every libFuzzer harness in fuzz/ for SECONDS each, after replaying the
# inputs that once crashed it (fuzz/regress/<harness>/: each crash found
# becomes one, and a test of its own where the bug was). One harness is one
# test: it passes when neither the replay nor the run found a crash, leak or
# failed check. Ends with "N passed, M failed".
#   usage: fuzz/run.sh FUZZ_BUILD_DIR SECONDS [CORPUS_ROOT]
# CORPUS_ROOT keeps what each run learned (make fuzz keeps it in the cache,
# outside the clone); without it the corpus is a temporary directory.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=$1 SECONDS_EACH=$2 ROOT=${3:-}
passed=0 failed=0
for bin in "$BUILD"/fuzz/fuzz_*; do
  name=$(basename "$bin")
  if [ -n "$ROOT" ]; then corpus=$ROOT/$name; mkdir -p "$corpus"; else corpus=$(mktemp -d); fi
  artifacts=$(mktemp -d)
  log=$(mktemp)
  ok=1
  if [ -d "fuzz/regress/$name" ] && [ -n "$(ls -A "fuzz/regress/$name")" ]; then
    "$bin" -rss_limit_mb=2048 -timeout=10 fuzz/regress/"$name"/* >"$log" 2>&1 || ok=0
  fi
  if [ $ok = 1 ]; then
    "$bin" -max_total_time="$SECONDS_EACH" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$artifacts/" "$corpus" "fuzz/seeds/$name" >"$log" 2>&1 || ok=0
  fi
  runs=$(grep -E '^#[0-9]+' "$log" | tail -1 | sed -E 's/^#([0-9]+).*/\1/')
  if [ $ok = 1 ]; then
    passed=$((passed + 1)); echo "ok   $name: ${runs:-0} inputs in ${SECONDS_EACH}s"
  else
    failed=$((failed + 1)); echo "FAIL $name (artifacts in $artifacts):"; tail -40 "$log"
    mkdir -p "$BUILD/fuzz-failures" && cp -r "$artifacts" "$BUILD/fuzz-failures/$name" 2>/dev/null
  fi
  [ -z "$ROOT" ] && rm -rf "$corpus"
  [ $ok = 1 ] && rm -rf "$artifacts"
  rm -f "$log"
done
[ $((passed + failed)) -gt 0 ] || failed=1
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
