#!/usr/bin/env bash
# schemathesis (the real API fuzzer, from PyPI) against a fresh server, once
# with the operator token and once with a tenant API key, every check on.
# usage: tests/schemathesis/run.sh BIN [MAX_EXAMPLES] [SEED]
#   make test: 8 examples per operation and phase, fixed seed (bounded)
#   make fuzz: MAX_EXAMPLES=200, a random seed (see Makefile)
# Prints "N passed, M failed": one check per credential (schemathesis exit 0).
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BIN=${1:-build/streamplane}
MAX=${2:-8}
SEED=${3:-42}
bash tests/clients/tools.sh schemathesis || { echo "0 passed, 1 failed"; exit 1; }
ST=${STREAMPLANE_CACHE:-$HOME/.cache/streamplane}/schemathesis-4.32.5/venv/bin/schemathesis
. tests/clients/server.sh
# Workers 1: a cluster the fuzzer creates goes through its life as for any
# client. Rate limiting and the failed-authentication limit off: the fuzzer
# sends hundreds of requests without credentials on purpose, and 429 answers
# are the generated client's test.
sp_start "$BIN" --workers 1 --rate-limit 0 --auth-failure-limit 0 --health-seconds 0 || { echo "0 passed, 2 failed"; exit 1; }
trap sp_stop EXIT
sp_tenant fuzz-tenant || { echo "no tenant"; echo "0 passed, 2 failed"; exit 1; }

passed=0; failed=0
run() {  # run LABEL TOKEN
  local label=$1 token=$2 rc
  echo "-- schemathesis as $label (max examples $MAX, seed $SEED)"
  # from the temporary directory: schemathesis keeps a cache in its cwd
  (cd "$SP_TMP" && "$ST" --config-file "$ROOT/tests/schemathesis/schemathesis.toml" \
    run "$ROOT/openapi/openapi.yaml" --url "$SP_URL" \
    -H "Authorization: Bearer $token" \
    --checks all --phases examples,coverage,fuzzing,stateful \
    --max-examples "$MAX" --seed "$SEED" --workers 1 --request-timeout 10 \
    --no-color --generation-database none --report junit --report-dir "$SP_TMP/report-$label" --warnings off)
  rc=$?
  if [ $rc -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "schemathesis as $label: exit $rc"; fi
}
run operator "$SP_ADMIN"
run tenant "$SP_KEY"
if grep -qE '^[^ ]+ error |AddressSanitizer|runtime error' "$SP_TMP/server.log"; then
  echo "the server logged errors:"; grep -E '^[^ ]+ error |AddressSanitizer|runtime error' "$SP_TMP/server.log" | head -20
  failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
