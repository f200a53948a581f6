#!/usr/bin/env bash
# Two 3-broker clusters of real Kafka at once, from what streamplane renders,
# run by the pod runner (local mode) with the heaps the test suite uses:
# prints, per cluster, the time from the runner's start until its 6 pods are
# Ready (real readiness probes), then every JVM's resident memory, the total,
# the machine's used memory before and with both clusters up, and the CPU
# both idle clusters take over 20 s. Fails only when it cannot run.
#   usage: bench/kafka/run.sh [BUILD/streamplane] [KAFKA_MINOR]   (as root)
set -uo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-build/streamplane}
MINOR=${2:-3.9}
HEAP_B=${HEAP_B:--Xms128m -Xmx512m}
HEAP_C=${HEAP_C:--Xms64m -Xmx256m}
[ "$(id -u)" = 0 ] || { echo "needs root (the pod runner)"; exit 1; }
[ -x "$BIN" ] || make build >/dev/null || exit 1
tmp=$(mktemp -d /tmp/sp-bench-kafka.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$tmp"; }
trap cleanup EXIT

used_mib() { free -m | awk '/^Mem:/{print $3}'; }
before=$(used_mib)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ADMIN=bench-kafka-admin-token-0123456789
STREAMPLANE_ADMIN_TOKEN=$ADMIN "$BIN" serve --listen 127.0.0.1:$port --data-dir "$tmp/data" --log-format text \
	2>"$tmp/server.log" &
pids+=($!)
API=http://127.0.0.1:$port
for _ in $(seq 100); do curl -sf $API/healthz >/dev/null && break; sleep 0.05; done
post() { curl -sf -X POST "$API$1" -H "Authorization: Bearer $2" -H 'Content-Type: application/json' -d "$3"; }
T=$(post /v1/tenants $ADMIN '{"name":"bench","quotas":{"max_clusters":2,"max_brokers":6}}' | jq -r .id)
KEY=$(post /v1/tenants/$T/api-keys $ADMIN '{"name":"b"}' | jq -r .secret)
ids=()
for name in one two; do
	ids+=("$(post /v1/clusters "$KEY" '{"name":"'$name'","kafka_version":"'"$MINOR"'","brokers":3,"storage_gib":10}' | jq -r .id)")
done
for c in "${ids[@]}"; do
	for _ in $(seq 300); do compgen -G "$tmp/data/manifests/$c/*statefulset-kafka-broker*" >/dev/null && break; sleep 0.1; done
done
VERSION=$(curl -sf "$API/v1/clusters/${ids[0]}" -H "Authorization: Bearer $KEY" | jq -r .status.kafka_version)
scripts/kafka build "$VERSION" >/dev/null && scripts/kafka jmx >/dev/null || exit 1

t0=$SECONDS
for i in 0 1; do
	/usr/bin/python3 scripts/podrunner.py local --manifests "$tmp/data/manifests/${ids[$i]}" --state "$tmp/run$i" \
		--heap "broker=$HEAP_B" --heap "controller=$HEAP_C" >"$tmp/runner$i.log" 2>&1 &
	pids+=($!)
done
ready() { jq '[.items[] | select(.status.conditions[]? | .type == "Ready" and .status == "True")] | length' \
	"$tmp/run$1/status.json" 2>/dev/null; }
took=("" "")
while [ $((SECONDS - t0)) -lt 900 ] && { [ -z "${took[0]}" ] || [ -z "${took[1]}" ]; }; do
	for i in 0 1; do [ -z "${took[$i]}" ] && [ "$(ready $i)" = 6 ] && took[$i]=$((SECONDS - t0)); done
	sleep 1
done
echo "Kafka $VERSION, heaps: brokers $HEAP_B, controllers $HEAP_C; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
for i in 0 1; do echo "cluster ${ids[$i]}: 6 pods Ready ${took[$i]:-not within 900} s after the runners started"; done
[ -n "${took[0]}" ] && [ -n "${took[1]}" ] || exit 1

netns_of() { readlink "/proc/$1/ns/net"; }
total=0; mine=()
for i in 0 1; do
	for p in $(pgrep -x java); do
		[ -f "$tmp/run$i/netns" ] || continue
		h=$(nsenter -t "$p" -u hostname 2>/dev/null) || continue
		pause=$(cat "$tmp/run$i/pods/sp-${ids[$i]}_$h/pause.pid" 2>/dev/null) || continue
		[ "$(netns_of "$p")" = "$(netns_of "$pause")" ] || continue
		rss=$(($(awk '/VmRSS/{print $2}' "/proc/$p/status") / 1024))
		total=$((total + rss)); mine+=("$p")
		echo "  ${ids[$i]} $h: $rss MiB resident"
	done
done
echo "JVM resident memory, both clusters: $total MiB; machine memory used: $before MiB before, $(used_mib) MiB now"
jiffies() { local s=0 p; for p in "${mine[@]}"; do s=$((s + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo $s; }
j0=$(jiffies); sleep 20; j1=$(jiffies)
echo "CPU of the ${#mine[@]} JVMs, idle, over 20 s: $(( (j1 - j0) * 100 / 20 / $(getconf CLK_TCK) ))% of one core"
