#!/usr/bin/env bash
# A rolling restart of real Kafka on the bed, timed (issue 13's bench/roll):
# runs tests/kafka-bed's roll scenario (05-roll.sh) on a cluster of its own
# with BROKERS brokers and 3 controllers, under an acks=all producer, and
# prints the roll's wall time against the sum of the pods' own restart times
# (each restart step's started_at .. finished_at: delete, the new pod ready,
# the broker back, 0 under-replicated partitions), the producer's
# acknowledged count and send errors, and its worst pause (the longest gap
# between two acknowledgements, a bound on the worst latency a client saw).
# Fails only when it cannot run.
#   usage: bench/roll/run.sh [BUILD/streamplane] [BROKERS]   (as root; default 5)
set -uo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-build/streamplane}
export KB_ROLL_BROKERS=${2:-5}
[ "$(id -u)" = 0 ] || { echo "needs root (the pod runner)"; exit 1; }
[ -x "$BIN" ] || make build >/dev/null || exit 1
out=$(mktemp)
trap 'rm -f "$out"' EXIT
bash tests/kafka-bed/run.sh "$BIN" '05-*' | tee "$out" | grep -E '^(ok|FAIL|figure)'
grep -q '^figure: roll of' "$out" || { echo "the roll did not run; see above"; exit 1; }
