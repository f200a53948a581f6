#!/usr/bin/env bash
# The browser CORS test (tests/cors/browser.mjs) with Debian's chromium.
# usage: tests/cors/run.sh BIN      prints "N passed, M failed"
set -uo pipefail
cd "$(dirname "$0")/../.."
bash tests/clients/tools.sh chromium || { echo "0 passed, 1 failed"; exit 1; }
err=$(mktemp)
node tests/cors/browser.mjs "${1:-build/streamplane}" 2>"$err" > "$err.out"
rc=$?
# Debian's chromium wrapper complains on stderr about its memory check; the
# rest of stderr is shown before the counts, so the counts stay the last line
grep -v 'unexpected operator' "$err"
grep -v '^[0-9]* passed, [0-9]* failed' "$err.out"
grep '^[0-9]* passed, [0-9]* failed' "$err.out" || echo "0 passed, 1 failed"
rm -f "$err" "$err.out"
exit $rc
