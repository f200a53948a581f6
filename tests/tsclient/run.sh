#!/usr/bin/env bash
# The generated TypeScript client: openapi-typescript turns openapi.yaml into
# types, `tsc --strict` compiles the portal flow against them (a document a
# generator misreads fails here), and Node runs it against a fresh server.
# usage: tests/tsclient/run.sh BIN BUILD_DIR
# Prints "N passed, M failed" (the compile is one check, then the flow's).
set -uo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-build/streamplane}
OUT=${2:-build}/tsclient
rm -rf "$OUT"; mkdir -p "$OUT"
cp tests/tsclient/portal.ts tests/tsclient/tsconfig.json "$OUT/"
if ! npx --no-install openapi-typescript openapi/openapi.yaml -o "$OUT/api.d.ts" >"$OUT/gen.log" 2>&1; then
  cat "$OUT/gen.log"; echo "0 passed, 1 failed"; exit 1
fi
if ! (cd "$OUT" && ../../node_modules/.bin/tsc --strict -p tsconfig.json); then
  echo "tsc --strict failed on the generated client"; echo "0 passed, 1 failed"; exit 1
fi
echo "ok   generated client compiles with tsc --strict"
. tests/clients/server.sh
# a small bucket, so the portal meets 429 and its headers
sp_start "$BIN" --workers 2 --rate-limit 10 --rate-burst 15 --health-seconds 0 || { echo "0 passed, 2 failed"; exit 1; }
trap sp_stop EXIT
SP_URL=$SP_URL SP_ADMIN=$SP_ADMIN node "$OUT/out/portal.js" | tee "$OUT/flow.log"
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$OUT/flow.log" | tail -1)
p=$(cut -d' ' -f1 <<<"${line:-0 passed, 1 failed}"); f=$(cut -d' ' -f3 <<<"${line:-0 passed, 1 failed}")
echo "$((p + 1)) passed, $f failed"
[ "$f" -eq 0 ] && [ "$p" -gt 0 ]
