#!/usr/bin/env bash
# Runs the README's curl walk-through, as written, against a fresh server.
# The only changes: the port and the data directory point at a temporary one.
# Prints "N passed, M failed" (one check: every command in the block succeeded).
# The bed's block (under "## The bed": real Kafka on the bed's runner nodes)
# is walked the same way by tests/kafka-bed/04-readme.sh, on the suite's bed.
set -uo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-build/streamplane}
tmp=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" serve --listen 127.0.0.1:$port --data-dir "$tmp/data" --log-format text 2>"$tmp/server.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do curl -sf http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.05; done

# the first ```sh block after "## Walk-through"
awk '/^## Walk-through/{f=1} f&&/^```sh/{b=1;next} b&&/^```/{exit} b' README.md \
  | sed -e "s#127.0.0.1:8080#127.0.0.1:$port#g" -e "s#data/admin-token#$tmp/data/admin-token#g" \
  > "$tmp/walk.sh"
[ -s "$tmp/walk.sh" ] || { echo "no walk-through block found in README.md"; echo "0 passed, 1 failed"; exit 1; }

if (cd "$tmp" && bash -e -o pipefail walk.sh > out.txt 2>&1); then
  cat "$tmp/out.txt"
  # spot-check what the walk-through is meant to show
  if grep -q '"3.9.1"' "$tmp/out.txt" && grep -q 'SCALE_OUT' "$tmp/out.txt" \
     && grep -q '"status": 422' "$tmp/out.txt" && grep -q '2 kind: "StatefulSet"' "$tmp/out.txt" \
     && grep -q '"DELETING"' "$tmp/out.txt" && grep -q 'is gone' "$tmp/out.txt"; then
    echo "1 passed, 0 failed"; exit 0
  fi
  echo "the walk-through ran but its output is not what README says"
else
  cat "$tmp/out.txt"; echo "the walk-through failed (see above)"
fi
echo "0 passed, 1 failed"
exit 1
