#!/usr/bin/env bash
# Real Apache Kafka on the real Kubernetes bed, driven through streamplane's
# API: the scenarios tests/kafka-bed/NN-*.sh in order (those marked
# "alongside" beside the others), against one streamplane and one tenant,
# sharing clusters where they can (README.md).
#
# The bed is tests/run.sh's (STREAMPLANE_BED_ENV) when set, else one of its
# own (BED_WITH_RUNNER=1 scripts/bed up: three runner nodes beside KWOK's).
# Its runner nodes run every pod of the clusters for real
# (scripts/podrunner.py: real JVMs from Maven Central's jars); streamplane registers the bed as a data plane with the runner's
# zones, so its clusters land there and never on KWOK's nodes.
#   usage: tests/kafka-bed/run.sh BUILD/streamplane [SCENARIO-GLOB]
# Prints every check, the figures, and "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
BIN=$(realpath "${1:-build/streamplane}")
ONLY=${2:-}
passed=0; failed=0
finish() { echo "$passed passed, $failed failed"; [ "$failed" = 0 ] && [ "$passed" -gt 0 ]; exit $?; }
[ "$(id -u)" = 0 ] || { echo "the pod runner needs root (network and mount namespaces)"; failed=1; finish; }

KB_STATE=$(mktemp -d /tmp/sp-kafka-bed.XXXXXX)
mkdir -p "$KB_STATE/clusters"
own_bed= spid= interrupted=
declare -A pids=() t0s=()   # running scenarios: name -> pid, start time
. tests/kafka-bed/lib.sh

cleanup() {
	local f c
	for f in "$KB_STATE"/producer-*.pid; do [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null; done
	# whatever a scenario left: deleted, so that no JVM outlives the stage
	for f in "$KB_STATE"/clusters/*; do
		[ -f "$f" ] && [ -n "$spid" ] || continue
		c=$(cat "$f"); sp DELETE "/v1/clusters/$c" >/dev/null 2>&1 && echo "deleting $c (left by a scenario)"
	done
	# (interrupted: the bed's own shutdown stops what is left)
	for f in "$KB_STATE"/clusters/*; do [ -f "$f" ] && [ -n "$spid" ] && [ -z "$interrupted" ] && wait_gone "$(cat "$f")" 300; done
	[ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
	[ -n "$own_bed" ] && scripts/bed down "$own_bed" >/dev/null 2>&1
	if [ "$failed" = 0 ] || [ -z "${KEEP:-}" ]; then rm -rf "$KB_STATE" "$own_bed"; else echo "kept $KB_STATE"; fi
}
trap cleanup EXIT
trap 'interrupted=1; for p in "${pids[@]}"; do [ -z "$p" ] || kill -TERM "$p" 2>/dev/null; done; exit 143' TERM INT

# ---- the bed ----------------------------------------------------------------
if [ -z "${STREAMPLANE_BED_ENV:-}" ]; then
	own_bed=$(mktemp -d /tmp/sp-kafka-bed-bed.XXXXXX)
	BED_WITH_RUNNER=1 scripts/bed up "$own_bed" >"$KB_STATE/bed.log" 2>&1 || { cat "$KB_STATE/bed.log"; failed=1; finish; }
	STREAMPLANE_BED_ENV=$own_bed/env
fi
set -a
# shellcheck disable=SC1090
. "$STREAMPLANE_BED_ENV"
set +a
if [ -z "${BED_RUNNER_STATE:-}" ]; then
	echo "the bed has no runner nodes (BED_NODES lines with manager runner)"; failed=1; finish
fi
KB_KAFKA=${KB_KAFKA:-3.9}
scripts/kafka build >/dev/null && scripts/kafka jmx >/dev/null ||
	{ echo "Kafka from Maven Central (scripts/kafka)"; failed=1; finish; }

# ---- streamplane, the bed as its data plane, a tenant ------------------------
port=$(free_port)
ADMIN=kafka-bed-admin-token-0123456789
API=http://127.0.0.1:$port
STREAMPLANE_ADMIN_TOKEN=$ADMIN "$BIN" serve --listen 127.0.0.1:$port --data-dir "$KB_STATE/data" \
	--health-seconds 2 --resync-seconds 5 --log-format text 2>"$KB_STATE/server.log" &
spid=$!
for _ in $(seq 400); do curl -sf "$API/healthz" >/dev/null && break; sleep 0.05; done
plane=$(jq -n --arg s "$BED_SERVER" --arg t "$(cat "$BED_SA_TOKEN_FILE")" --arg ca "$(base64 -w0 "$BED_CA")" \
	--arg z "$BED_RUNNER_ZONES" '{name:"bed-runner", region:"local", zones:($z | split(",")),
	capacity:{max_brokers:24}, kubernetes:{server:$s, token:$t, ca_data:$ca}, kafka_access:"external"}')
sp_admin POST /v1/data-planes "$plane" >/dev/null || { echo "registering the bed as a data plane failed"; failed=1; finish; }
T=$(sp_admin POST /v1/tenants '{"name":"onbed","quotas":{"max_clusters":6,"max_brokers":18}}' | jq -r .id)
KEY=$(sp_admin POST "/v1/tenants/$T/api-keys" '{"name":"t"}' | jq -r .secret)
[ -n "$KEY" ] && [ "$KEY" != null ] || { echo "no tenant key"; failed=1; finish; }
export API ADMIN KEY T KB_STATE KB_KAFKA BIN

# ---- the scenarios ------------------------------------------------------------
# In order, one after the other (they share clusters), except those marked
# "# kafka-bed: alongside" (a cluster and a streamplane of their own): those
# start first and run beside the others; they are counted before the 9x ones.
start() { # SCENARIO: in the background (so that a TERM is handled at once)
	local n; n=$(basename "$1" .sh)
	bash "$1" >"$KB_STATE/out-$n" 2>&1 &
	pids[$n]=$! t0s[$n]=$(date +%s)
}
count() { # SCENARIO: waits for it, prints and counts it
	local n rc p m; n=$(basename "$1" .sh)
	wait "${pids[$n]}"; rc=$?; pids[$n]=
	echo "-- $n.sh"
	cat "$KB_STATE/out-$n"
	p=$(grep -c '^ok   - ' "$KB_STATE/out-$n"); m=$(grep -c '^FAIL - ' "$KB_STATE/out-$n")
	# a scenario that failed without saying which check did: one failure
	[ "$rc" = 0 ] || [ "$m" -gt 0 ] || { m=1; echo "FAIL - $n.sh exited $rc"; }
	passed=$((passed + p)); failed=$((failed + m))
	# its time: from its start to its last line (one alongside may end long before it is counted)
	echo "   ($n.sh: $p passed, $m failed, $(($(stat -c %Y "$KB_STATE/out-$n") - ${t0s[$n]})) s)"
}
chain=() beside=()
for f in tests/kafka-bed/[0-9][0-9]-*.sh; do
	[ -z "$ONLY" ] || [[ $(basename "$f") == $ONLY ]] || continue
	if grep -q '^# kafka-bed: alongside' "$f"; then beside+=("$f"); else chain+=("$f"); fi
done
for f in "${beside[@]}"; do start "$f"; done
for f in "${chain[@]}"; do
	if [[ $(basename "$f") == 9* ]]; then for g in "${beside[@]}"; do count "$g"; done; beside=(); fi
	start "$f"; count "$f"
done
for g in "${beside[@]}"; do count "$g"; done
[ "$failed" = 0 ] || { echo "streamplane's log (tail):"; tail -n 30 "$KB_STATE/server.log"; }
finish
