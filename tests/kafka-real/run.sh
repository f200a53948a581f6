#!/usr/bin/env bash
# Real Apache Kafka from exactly what streamplane rendered.
#
# streamplane (manifests target) renders a 3-broker multi-zone cluster; the
# pod runner (scripts/podrunner.py, local mode: it plays the StatefulSet
# controller and the kubelet, no API server) runs those objects unchanged as
# processes in their own network, mount and UTS namespaces, with /opt/kafka
# from Maven Central's jars (scripts/kafka). Then real clients check what a
# user would rely on. Prints "N passed, M failed".
#
# Not in `make test`: tests/kafka-bed checks all of this and more on the bed
# (the runner as the kubelet of real Kubernetes nodes, streamplane's API end
# to end). This one stays for the manifests target's objects without any
# API server (`podrunner.py local`), run by hand, e.g. for another version:
#   sudo tests/kafka-real/run.sh build/streamplane 4.1
#
# Waits are bounded polls of a real system converging (JVMs starting on two
# cores); the bounds are generous and a miss fails the check that waited.
#   usage: tests/kafka-real/run.sh BUILD/streamplane [KAFKA_VERSION]
set -uo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-build/streamplane}
MINOR=${2:-3.9}
passed=0; failed=0
ok() { passed=$((passed + 1)); echo "ok   - $*"; }
bad() { failed=$((failed + 1)); echo "FAIL - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
# a compound condition, as one shell expression evaluated when checked
check_sh() { if eval "$2"; then ok "$1"; else bad "$1"; return 1; fi; }
finish() { echo "$passed passed, $failed failed"; [ "$failed" = 0 ]; exit $?; }

if [ "$(id -u)" != 0 ]; then
	echo "the pod runner needs root (network and mount namespaces)"; failed=1; finish
fi

tmp=$(mktemp -d /tmp/sp-kafka-real.XXXXXX)
spid=; rpid=
cleanup() {
	[ -n "$rpid" ] && kill "$rpid" 2>/dev/null && wait "$rpid" 2>/dev/null
	[ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
	if [ "$failed" = 0 ] || [ -z "${KEEP:-}" ]; then rm -rf "$tmp"; else echo "kept $tmp"; fi
}
trap cleanup EXIT

# ---- 1. streamplane renders a cluster (manifests target) -----------------
scripts/kafka jmx >/dev/null || { bad "JMX exporter agent from Maven Central"; finish; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ADMIN=kafka-real-admin-token-0123456789
STREAMPLANE_ADMIN_TOKEN=$ADMIN "$BIN" serve --listen 127.0.0.1:$port --data-dir "$tmp/data" \
	--log-format text 2>"$tmp/server.log" &
spid=$!
API=http://127.0.0.1:$port
for _ in $(seq 100); do curl -sf $API/healthz >/dev/null && break; sleep 0.05; done
post() { curl -sf -X POST "$API$1" -H "Authorization: Bearer $2" -H 'Content-Type: application/json' -d "$3"; }
T=$(post /v1/tenants $ADMIN '{"name":"realkafka","quotas":{"max_clusters":2,"max_brokers":6}}' | jq -r .id)
KEY=$(post /v1/tenants/$T/api-keys $ADMIN '{"name":"t"}' | jq -r .secret)
C=$(post /v1/clusters "$KEY" '{"name":"orders","kafka_version":"'"$MINOR"'","brokers":3,"storage_gib":10,
	"config":{"log.retention.hours":"72","min.insync.replicas":"2","num.partitions":"3"}}' | jq -r .id)
# the manifests target writes DATA_DIR/manifests/<id>/ and then reports RUNNING
M=$tmp/data/manifests/$C
for _ in $(seq 300); do
	[ "$(curl -sf $API/v1/clusters/$C -H "Authorization: Bearer $KEY" | jq -r .status.phase)" = RUNNING ] && break
	sleep 0.1
done
compgen -G "$M/*statefulset-kafka-broker*" >/dev/null || { bad "streamplane wrote the cluster's manifests"; finish; }
NS=sp-$C
VERSION=$(curl -sf $API/v1/clusters/$C -H "Authorization: Bearer $KEY" | jq -r .status.kafka_version)
scripts/kafka build "$VERSION" >/dev/null || { bad "Kafka $VERSION from Maven Central"; finish; }

# ---- 2. the pod runner runs them ------------------------------------------
start_runner() {
	/usr/bin/python3 scripts/podrunner.py local --manifests "$M" --state "$tmp/run" \
		--heap 'broker=-Xms128m -Xmx512m' --heap 'controller=-Xms64m -Xmx256m' \
		--backoff-seconds 2 --max-grace-seconds 20 >>"$tmp/runner.log" 2>&1 &
	rpid=$!
}
st() { jq -r "$1" "$tmp/run/status.json" 2>/dev/null; }
ready_count() { st '[.items[] | select(.status.conditions[]? | .type == "Ready" and .status == "True")] | length'; }
wait_ready() { # N, seconds
	local end=$((SECONDS + $2))
	while [ $SECONDS -lt $end ]; do
		[ "$(ready_count)" = "$1" ] && return 0
		sleep 1
	done
	return 1
}
t0=$SECONDS
start_runner
if wait_ready 6 480; then
	ok "3 controllers and 3 brokers from the rendered objects are Ready (real readiness probes) in $((SECONDS - t0)) s"
else
	bad "pods Ready: $(ready_count)/6 after $((SECONDS - t0)) s"
	st '.items[] | "\(.metadata.name) \(.status.phase) \(.status.containerStatuses)"'
	tail -n 30 "$tmp"/run/pods/*/kafka.log "$tmp/runner.log"
	finish
fi

# `kubectl exec` into broker-0, as the image's user
pod() { echo "$tmp/run/pods/${NS}_$1"; }
kx() { local p=$1; shift
	nsenter -t "$(cat "$(pod "$p")/pause.pid")" -n -m -u -- setpriv --reuid 1000 --regid 1000 --clear-groups -- \
		env HOME=/tmp PATH=/usr/bin:/bin "$@"; }
B=kafka-bootstrap.$NS.svc.cluster.local:9092

# ---- 3. what Kafka itself says --------------------------------------------
kx kafka-broker-0 /opt/kafka/bin/kafka-metadata-quorum.sh --bootstrap-server "$B" describe --status >"$tmp/quorum" 2>&1
check "the controller quorum has a leader among the rendered voters 1000..1002" \
	grep -qE '^LeaderId:[[:space:]]+100[0-2]$' "$tmp/quorum"
check "the quorum's voters are the rendered controller.quorum.voters" \
	grep -q "kafka-controller-2.kafka-controller.$NS.svc.cluster.local:9093" "$tmp/quorum"
kx kafka-broker-0 kcat -b "$B" -L -J >"$tmp/meta" 2>/dev/null
check_sh "librdkafka metadata lists brokers 0, 1, 2 at their advertised pod names" \
	'[ "$(jq -c "[.brokers[] | .id] | sort" "$tmp/meta" 2>/dev/null)" = "[0,1,2]" ] &&
	grep -q "kafka-broker-1.kafka-broker.$NS.svc.cluster.local:9092" "$tmp/meta"'
kx kafka-broker-0 /opt/kafka/bin/kafka-configs.sh --bootstrap-server "$B" --describe --entity-type brokers \
	--entity-name 1 --all >"$tmp/configs" 2>&1
check_sh "DescribeConfigs reports the tenant's config (log.retention.hours=72, min.insync.replicas=2)" \
	'grep -q "log.retention.hours=72 sensitive=false synonyms={STATIC_BROKER_CONFIG:log.retention.hours=72" "$tmp/configs" &&
	grep -q "min.insync.replicas=2 sensitive=false synonyms={STATIC_BROKER_CONFIG" "$tmp/configs"'
check "broker.rack comes from the node's zone (broker-init)" grep -qE '^  broker.rack=zone-[abc] ' "$tmp/configs"
kx kafka-broker-0 curl -sf http://127.0.0.1:9404/metrics >"$tmp/metrics" 2>&1
check "the JMX exporter agent serves Kafka metrics on :9404" grep -q '^kafka_server_replicamanager_leadercount' "$tmp/metrics"

# ---- 4. produce with acks=all, consume everything back (librdkafka) -------
kx kafka-broker-0 /opt/kafka/bin/kafka-topics.sh --bootstrap-server "$B" --create --topic orders \
	--partitions 3 --replication-factor 3 >/dev/null 2>&1
seq 1 200 | sed 's/^/order-/' >"$tmp/sent"
kx kafka-broker-0 kcat -P -b "$B" -t orders -X acks=all -X message.timeout.ms=30000 <"$tmp/sent" 2>"$tmp/produce.err"
prc=$?
check_sh "a librdkafka producer (acks=all) had 200 messages acknowledged" '[ $prc = 0 ] && [ ! -s "$tmp/produce.err" ]'
consume() { kx kafka-broker-0 kcat -C -b "$B" -t orders -o beginning -e -q -X fetch.wait.max.ms=100 2>/dev/null | sort; }
consume >"$tmp/got"
check "a librdkafka consumer reads all 200 back" cmp -s <(sort "$tmp/sent") "$tmp/got"

# ---- 5. a broker process killed: the runner restarts it, it rejoins -------
# the JVM in this run's broker-2 (other runs on the machine have their own)
b2net=$(readlink "/proc/$(cat "$(pod kafka-broker-2)/pause.pid")/ns/net")
jpid=$(for p in $(pgrep -x java); do [ "$(readlink "/proc/$p/ns/net")" = "$b2net" ] && echo "$p"; done)
[ -n "$jpid" ] && kill -9 $jpid
ok_restart=1
end=$((SECONDS + 300))
until [ "$(st '.items[] | select(.metadata.name=="kafka-broker-2") | .status.containerStatuses[0].restartCount')" = 1 ] &&
	[ "$(ready_count)" = 6 ]; do
	[ $SECONDS -lt $end ] || { ok_restart=0; break; }
	sleep 1
done
exit2=$(st '.items[] | select(.metadata.name=="kafka-broker-2") | .status.containerStatuses[0].lastState.terminated.exitCode')
check_sh "broker-2 killed (exit 137) is restarted by the runner and Ready again" '[ $ok_restart = 1 ] && [ "$exit2" = 137 ]'
full_isr() { [ "$(kx kafka-broker-0 /opt/kafka/bin/kafka-topics.sh --bootstrap-server "$B" --describe \
	--topic orders 2>/dev/null | grep -cE 'Isr: [0-9],[0-9],[0-9]([[:space:]]|$)')" = 3 ]; }
end=$((SECONDS + 240)); isr_ok=1
until full_isr; do [ $SECONDS -ge $end ] && { isr_ok=0; break; }; sleep 2; done
check_sh "broker-2 is back in the ISR of every partition" '[ $isr_ok = 1 ]' ||
	kx kafka-broker-0 /opt/kafka/bin/kafka-topics.sh --bootstrap-server "$B" --describe --topic orders
check "every acknowledged message survived the kill" cmp -s <(sort "$tmp/sent") <(consume)

# ---- 6. memory, then every process stops with the runner ------------------
# this runner's pods only (other runs may share the machine): by network namespace
podnets=$(for f in "$tmp"/run/pods/*/pause.pid; do readlink "/proc/$(cat "$f")/ns/net"; done | sort -u)
ours() { local p; for p in $(pgrep -x java); do
	grep -qxF "$(readlink "/proc/$p/ns/net" 2>/dev/null)" <<<"$podnets" && echo "$p"; done; }
for p in $(ours); do
	echo "$(nsenter -t "$p" -u hostname) $(($(awk '/VmRSS/{print $2}' /proc/$p/status) / 1024)) MiB"
done | sort >"$tmp/rss"
echo "JVM resident memory: $(tr '\n' ',' <"$tmp/rss" | sed 's/,$//; s/,/, /g'); total $(awk '{s+=$2} END{print s}' "$tmp/rss") MiB"
bed=$(cat "$tmp/run/netns")
kill "$rpid"; wait "$rpid"; rpid=
check_sh "stopping the runner stops every Kafka process and removes the pod network" \
	'[ -z "$(ours)" ] && ! ip netns list | grep -q "^$bed\b"'
check "the claims' volumes outlive the pods (broker-2's log segments are there)" \
	compgen -G "$tmp/run/volumes/$NS/data-kafka-broker-2/kafka-log/orders-*" >/dev/null
finish
