#!/usr/bin/env bash
# Runs every test stage and ends with one line of counts:
#   "<passed> passed, <failed> failed"
# usage: tests/run.sh BUILD_DIR [ASAN_BUILD_DIR [FUZZ_BUILD_DIR]]   (any may be "")
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-}
ASAN=${2:-}
FUZZ=${3:-}
passed=0; failed=0; stages_failed=(); timings=()

# Check prints "100%: Checks: N, Failures: F, Errors: E".
count_check() {
  local line n f e
  line=$(grep -E '^[0-9]+%: Checks: [0-9]+' "$1" | tail -1)
  if [ -z "$line" ]; then failed=$((failed + 1)); return; fi
  n=$(sed -E 's/.*Checks: ([0-9]+).*/\1/' <<<"$line")
  f=$(sed -E 's/.*Failures: ([0-9]+).*/\1/' <<<"$line")
  e=$(sed -E 's/.*Errors: ([0-9]+).*/\1/' <<<"$line")
  passed=$((passed + n - f - e)); failed=$((failed + f + e))
}
# Node scripts print "N passed, M failed".
count_plain() {
  local line
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
  if [ -z "$line" ]; then failed=$((failed + 1)); return; fi
  passed=$((passed + $(cut -d' ' -f1 <<<"$line"))); failed=$((failed + $(cut -d' ' -f3 <<<"$line")))
}

# A tool that checks many items is one test: it passes when it checked
# some and none failed (its own line still shows how many it checked).
count_one() {
  local line
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
  if [ -n "$line" ] && [ "$(cut -d' ' -f3 <<<"$line")" = 0 ] && [ "$(cut -d' ' -f1 <<<"$line")" -gt 0 ]; then
    passed=$((passed + 1)); else failed=$((failed + 1)); fi
}
# redocly lint: one check; it passes when the command exits 0.
count_lint() {
  if grep -qE "Woohoo! Your API description is valid|validated in" "$1" && ! grep -qE "[0-9]+ errors? " "$1"; then
    passed=$((passed + 1)); else failed=$((failed + 1)); fi
}

stage() {  # stage NAME COUNTER CMD...
  local name=$1 counter=$2; shift 2
  local log t0=$SECONDS; log=$(mktemp)
  echo "== $name"
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  $counter "$log"
  [ "$rc" -eq 0 ] || stages_failed+=("$name")
  rm -f "$log"
  timings+=("$(printf '%5d s  %s' $((SECONDS - t0)) "$name")")
}

# stage_bg NAME CMD...: starts a stage in the background, its output kept;
# stage_join NAME COUNTER prints and counts it where it stands in the order
# (a stage that mostly waits on real components overlaps the others).
declare -A bg_pid bg_log bg_t0
stage_bg() {
  local name=$1; shift
  bg_log[$name]=$(mktemp); bg_t0[$name]=$SECONDS
  "$@" >"${bg_log[$name]}" 2>&1 </dev/null &
  bg_pid[$name]=$!
}
stage_join() {
  local name=$1 counter=$2 rc
  [ -n "${bg_pid[$name]:-}" ] || return 0
  echo "== $name"
  wait "${bg_pid[$name]}"; rc=$?
  cat "${bg_log[$name]}"
  echo "(started in the background; done $((SECONDS - ${bg_t0[$name]})) s after it started)"
  $counter "${bg_log[$name]}"
  [ "$rc" -eq 0 ] || stages_failed+=("$name")
  rm -f "${bg_log[$name]}"; bg_pid[$name]=""
}
bg_stop() { local p; for p in "${bg_pid[@]}"; do [ -z "$p" ] || { kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; }; done; }

run_suite() {  # run_suite BUILD_DIR LABEL
  local b=$1 label=$2
  rm -f "$b/e2e-exchanges.jsonl"
  stage "unit ($label)" count_check "$b/unit_tests"
  stage "renderer ($label)" count_check "$b/render_tests"
  [ -x "$b/kube_sim_tests" ] && stage "kube-sim ($label)" count_check "$b/kube_sim_tests"
  [ -x "$b/kafka_tests" ] && stage "kafka health ($label)" count_check "$b/kafka_tests"
  [ -x "$b/kafka_sim_tests" ] && stage "kafka-sim ($label)" count_check "$b/kafka_sim_tests"
  stage "e2e ($label)" count_check "$b/e2e_tests"
  if [ -n "$BED_DIR" ]; then
    stage "kubernetes on the bed ($label)" count_check "$b/bed_tests"
  fi
}

# One real Kubernetes control plane (scripts/bed: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, KWOK) for the whole run; it is
# built first when the cache lacks it. A bed that does not come up is a
# failed stage, never a skipped one. Its nodes: three KWOK nodes in zones
# a, b, c (the bed tests' data planes), and three the pod runner owns in
# zones run-a, run-b, run-c (tests/kafka-bed's data plane: real Kafka; the
# runner needs root, and without it that stage fails, saying so).
BED_DIR=""
[ "$(id -u)" = 0 ] && export BED_WITH_RUNNER=1
bed_down() { bg_stop; [ -n "$BED_DIR" ] && scripts/bed down "$BED_DIR" >/dev/null 2>&1; [ -n "$BED_DIR" ] && rm -rf "$BED_DIR"; }
trap bed_down EXIT
trap 'bed_down; exit 143' TERM INT
BED_DIR=$(mktemp -d /tmp/sp-bed-XXXXXX)
echo "== bed up"
if scripts/bed up "$BED_DIR"; then
  export STREAMPLANE_BED_ENV=$BED_DIR/env
else
  echo "the bed did not come up; its logs:"; tail -n 20 "$BED_DIR"/logs/*.log 2>/dev/null
  stages_failed+=("bed up"); failed=$((failed + 1)); rm -rf "$BED_DIR"; BED_DIR=""
fi

# Real Kafka on the bed starts now, in the background: it mostly waits on
# JVMs and Kubernetes controllers; it is printed and counted at the end.
KAFKA_BED="real Kafka on the bed, through streamplane's API (tests/kafka-bed)"
if [ -n "$BUILD" ] && [ -n "$BED_DIR" ]; then
  stage_bg "$KAFKA_BED" bash tests/kafka-bed/run.sh "$BUILD/streamplane"
fi

if [ -n "$BUILD" ]; then
  # $BUILD is GCC RelWithDebInfo already: the matrix builds the other five
  stage "build matrix (GCC, clang x Release, RelWithDebInfo, Debug; -Werror)" count_plain \
    env SP_MATRIX_SKIP=gcc-RelWithDebInfo bash scripts/build-matrix.sh
  stage "layers: server -> api -> core <- workers, store below" count_plain bash scripts/check-layers.sh
  run_suite "$BUILD" "release"
  "$BUILD/streamplane" routes > "$BUILD/routes.txt"
  export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
  stage "openapi lint (@redocly/cli)" count_lint npx --no-install redocly lint openapi/openapi.yaml --format=stylish
  stage "openapi routes match the server" count_one node tests/openapi/check-routes.mjs openapi/openapi.yaml "$BUILD/routes.txt"
  stage "real responses validate against openapi" count_one node tests/openapi/validate-responses.mjs openapi/openapi.yaml "$BUILD/e2e-exchanges.jsonl"
  matrix=$(mktemp -d)
  "$BUILD/render-matrix" "$matrix" >/dev/null
  stage "rendered objects validate (kubernetes-models)" count_one node tests/render/validate-objects.mjs "$matrix"
  rm -rf "$matrix"
  stage "openapi tools self-test" count_plain node tests/openapi/selftest.mjs
  stage "README walk-through, as written" count_plain bash tests/readme/run.sh "$BUILD/streamplane"
  # the real clients: each finds what the tests above do not
  stage "schemathesis (operator token, tenant key)" count_plain bash tests/schemathesis/run.sh "$BUILD/streamplane"
  stage "generated TypeScript client (tsc --strict, portal flow)" count_plain bash tests/tsclient/run.sh "$BUILD/streamplane" "$BUILD"
  stage "CORS in headless Chromium (playwright-core)" count_plain bash tests/cors/run.sh "$BUILD/streamplane"
  stage "HTTPS and plain HTTP beyond loopback" count_plain bash tests/https/run.sh "$BUILD/streamplane"
  stage "Terraform module with OpenTofu and Mastercard/restapi, over HTTPS" count_plain bash tests/terraform/run.sh "$BUILD/streamplane"
fi
if [ -n "$ASAN" ]; then
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  export CK_DEFAULT_TIMEOUT=60
  run_suite "$ASAN" "ASan+UBSan"
fi

if [ -n "$FUZZ" ]; then
  # each harness is one test: a few seconds of fuzzing after its regressions
  stage "fuzz (libFuzzer, ${FUZZ_SECONDS_TEST:-4} s each)" count_plain bash fuzz/run.sh "$FUZZ" "${FUZZ_SECONDS_TEST:-4}"
fi

# last: the Kafka stage had every other stage's time to overlap with
stage_join "$KAFKA_BED" count_plain

echo
echo "stage wall times (total $SECONDS s):"
printf '%s\n' "${timings[@]}"
echo
if [ ${#stages_failed[@]} -gt 0 ]; then
  echo "failed stages: ${stages_failed[*]}"
  failed=$((failed > 0 ? failed : 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ ${#stages_failed[@]} -eq 0 ]
