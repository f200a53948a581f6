# tests/kafka-bed/lib.sh — what every real-Kafka-on-the-bed scenario uses.
# Sourced by run.sh (which sets the run up once) and by each scenario file
# (which runs in a shell of its own, with run.sh's state in $KB_STATE).
# README.md beside it says how to write a scenario.
#
# Waits are bounded polls of real components converging (JVMs on a loaded
# machine): generous limits, and a miss fails the check that waited.

# ---- checks and counts: each scenario prints "ok   - ..." / "FAIL - ..." --
ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; return 1; fi; }
# a compound condition as one shell expression, evaluated when checked
check_sh() { if eval "$2"; then ok "$1"; else bad "$1"; return 1; fi; }
# a scenario that cannot go on: one failure, and the scenario ends
give_up() { bad "$*"; exit 1; }
# a figure for the closing note: also collected in $KB_STATE/figures
figure() { echo "figure: $*"; echo "$*" >>"$KB_STATE/figures"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ---- streamplane's API (run.sh's server; $API, $ADMIN, $KEY) ---------------
sp_as() { # TOKEN METHOD PATH [BODY]: prints the body, fails on >= 400
	local a=(-sf -X "$2" "$API$3" -H "Authorization: Bearer $1")
	[ $# -ge 4 ] && a+=(-H 'Content-Type: application/json' -d "$4")
	curl "${a[@]}"
}
sp() { sp_as "$KEY" "$@"; }          # as the tenant
sp_admin() { sp_as "$ADMIN" "$@"; }  # as the operator
sp_code() { curl -s -o /dev/null -w '%{http_code}' "$API$1" -H "Authorization: Bearer $KEY"; }
phase() { sp GET "/v1/clusters/$1" | jq -r .status.phase; }
wait_phase() { # CLUSTER PHASE SECONDS
	local end=$((SECONDS + $3))
	while [ $SECONDS -lt $end ]; do [ "$(phase "$1")" = "$2" ] && return 0; sleep 1; done
	return 1
}
wait_gone() { # CLUSTER SECONDS: GET answers 404
	local end=$((SECONDS + $2))
	while [ $SECONDS -lt $end ]; do [ "$(sp_code "/v1/clusters/$1")" = 404 ] && return 0; sleep 1; done
	return 1
}
bootstrap() { sp GET "/v1/clusters/$1" | jq -r '.status.external_bootstrap_servers // empty'; }

# cluster_create NAME BODY-JSON: POSTs it, records NAME -> id in the run's
# state (run.sh deletes whatever is left at the end) and prints the id.
cluster_create() {
	local id
	id=$(sp POST /v1/clusters "$2" | jq -r '.id // empty')
	[ -n "$id" ] || return 1
	echo "$id" >"$KB_STATE/clusters/$1"
	echo "$id"
}
cluster_id() { cat "$KB_STATE/clusters/$1" 2>/dev/null; }

# The shared cluster: three brokers over the runner's three zones, external
# access through LoadBalancer Services, the tenant's config below. The first
# scenario that asks creates it and waits for RUNNING (the figure POST to
# RUNNING is printed); the others reuse it. Sets C (id), NS, EXT (external
# bootstrap servers) and KBIN (the Kafka tools of its version).
SHARED_CONFIG='{"log.retention.hours":"72","min.insync.replicas":"2","num.partitions":"3"}'
# shared_cluster_post: POSTs the shared cluster without waiting for it (a
# scenario that declares things while it provisions, 00-topics.sh) and
# prints its id; shared_cluster then waits for it as for its own.
shared_cluster_post() {
	date +%s >"$KB_STATE/shared.posted"
	cluster_create shared '{"name":"orders","kafka_version":"'"$KB_KAFKA"'","brokers":3,"storage_gib":10,
		"external_access":{"type":"loadbalancer"},"config":'"$SHARED_CONFIG"'}'
}
shared_cluster() {
	C=$(cluster_id shared)
	if [ -z "$C" ] || [ ! -f "$KB_STATE/shared.running" ]; then
		[ -n "$C" ] || C=$(shared_cluster_post) || give_up "POST /v1/clusters for the shared cluster"
		local took
		if wait_phase "$C" RUNNING 600; then
			took=$(($(date +%s) - $(cat "$KB_STATE/shared.posted")))
			ok "a 3-broker cluster created through the API is RUNNING on real brokers"
			figure "POST to RUNNING, 3 brokers + 3 controllers on the bed: $took s"
			touch "$KB_STATE/shared.running"
		else
			took=$(($(date +%s) - $(cat "$KB_STATE/shared.posted")))
			sp GET "/v1/clusters/$C" | jq .status
			give_up "the shared cluster RUNNING (phase $(phase "$C") after $took s)"
		fi
	fi
	[ "$(phase "$C")" = RUNNING ] || wait_phase "$C" RUNNING 300 || give_up "the shared cluster is RUNNING (it is $(phase "$C"))"
	NS=sp-$C
	EXT=$(bootstrap "$C")
	KBIN=$(kafka_bin "$(sp GET "/v1/clusters/$C" | jq -r .status.kafka_version)")
}

# ---- the bed: admin calls, pods, processes --------------------------------
kapi() { # METHOD PATH [BODY [CONTENT-TYPE]]: the bed's API server as its admin
	local a=(-sS --fail-with-body --max-time 20 --cacert "$BED_CA" --cert "$BED_DIR/pki/admin.crt"
		--key "$BED_DIR/pki/admin.key" -X "$1" "$BED_SERVER$2")
	[ $# -ge 3 ] && a+=(-H "Content-Type: ${4:-application/json}" --data-binary "$3")
	curl "${a[@]}"
}
kapi_code() { # PATH: the HTTP status of a GET as the bed's admin
	curl -s -o /dev/null -w '%{http_code}' --max-time 20 --cacert "$BED_CA" --cert "$BED_DIR/pki/admin.crt" \
		--key "$BED_DIR/pki/admin.key" "$BED_SERVER$1"
}
pod_dir() { echo "$BED_RUNNER_STATE/pods/${1}_$2"; }   # NS POD: the runner's folder of a pod
# pod_exec NS POD CMD...: `kubectl exec` into a pod, as the image's user
pod_exec() {
	local ns=$1 pod=$2; shift 2
	nsenter -t "$(cat "$(pod_dir "$ns" "$pod")/pause.pid")" -n -m -u -- \
		setpriv --reuid 1000 --regid 1000 --clear-groups -- env HOME=/tmp PATH=/usr/bin:/bin "$@"
}
# cluster_jvms NS: "PID POD" for every JVM running in the namespace's pods
# (found by network namespace: other clusters and runs have their own)
cluster_jvms() {
	local f n p nets=""
	for f in "$BED_RUNNER_STATE/pods/${1}"_*/pause.pid; do
		[ -f "$f" ] || continue
		n=$(readlink "/proc/$(cat "$f")/ns/net" 2>/dev/null) && nets+="$n ${f%/pause.pid}"$'\n'
	done
	[ -n "$nets" ] || return 0
	for p in $(pgrep -x java); do
		n=$(readlink "/proc/$p/ns/net" 2>/dev/null) || continue
		f=$(awk -v n="$n" '$1 == n {print $2; exit}' <<<"$nets")
		[ -n "$f" ] && echo "$p ${f##*_}"
	done
}
# pod_nets NS: the network namespaces of the namespace's running pods
pod_nets() {
	local f
	for f in "$BED_RUNNER_STATE/pods/${1}"_*/pause.pid; do
		[ -f "$f" ] && readlink "/proc/$(cat "$f")/ns/net" 2>/dev/null
	done | sort -u
}
# procs_in_nets NETS: the processes in any of those network namespaces
procs_in_nets() {
	local q
	[ -n "$1" ] || return 0
	for q in /proc/[0-9]*; do
		grep -qxF "$(readlink "$q/ns/net" 2>/dev/null)" <<<"$1" && echo "${q#/proc/}"
	done
	return 0
}
jvm_memory() { # NS: prints each JVM's resident memory and the total (a figure)
	local p pod rows
	rows=$(cluster_jvms "$1" | while read -r p pod; do
		echo "$pod $(($(awk '/VmRSS/{print $2}' "/proc/$p/status") / 1024))"; done | sort)
	figure "JVM resident memory (MiB), $1: $(tr '\n' ' ' <<<"$rows")total $(awk '{s+=$2} END{print s}' <<<"$rows")"
}

# ---- Kafka's own tools and librdkafka (kcat), from the host ---------------
# The tools are short-lived JVMs: the client compiler only and the serial
# collector cost a loaded machine least (Kafka's defaults suit servers).
export KAFKA_JVM_PERFORMANCE_OPTS="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Djava.awt.headless=true"
kafka_bin() { echo "$(scripts/kafka build "$1")/bin"; }   # VERSION -> folder of the tools
kcat_all() { # BOOTSTRAP TOPIC: every message of the topic, sorted
	kcat -C -b "$1" -t "$2" -o beginning -e -q -X fetch.wait.max.ms=100 2>/dev/null | sort
}
# full_isr BOOTSTRAP TOPIC PARTITIONS: every partition has all 3 replicas in sync
full_isr() {
	[ "$("$KBIN/kafka-topics.sh" --bootstrap-server "$1" --describe --topic "$2" 2>/dev/null |
		grep -cE 'Isr: [0-9]+,[0-9]+,[0-9]+([[:space:]]|$)')" = "$3" ]
}

# ---- availability: a background producer and its verifier -----------------
# producer_start BOOTSTRAP TOPIC: Kafka's VerifiableProducer (what Kafka's own
# system tests use) with acks=all, numbered values, about 20 a second; each
# acknowledged value is a "producer_send_success" line of its output.
producer_start() {
	KAFKA_HEAP_OPTS="-Xmx128m" nice -n 5 "$KBIN/kafka-run-class.sh" org.apache.kafka.tools.VerifiableProducer \
		--bootstrap-server "$1" --topic "$2" --acks -1 --throughput 20 --max-messages -1 \
		--producer.config <(printf 'delivery.timeout.ms=120000\nrequest.timeout.ms=15000\n') \
		>"$KB_STATE/producer-$2.out" 2>"$KB_STATE/producer-$2.err" &
	echo $! >"$KB_STATE/producer-$2.pid"
}
producer_stop() { # TOPIC: stops it (it flushes what it has in flight first)
	local p; p=$(cat "$KB_STATE/producer-$1.pid" 2>/dev/null) || return 0
	kill -TERM "$p" 2>/dev/null
	for _ in $(seq 600); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$p" 2>/dev/null
	rm -f "$KB_STATE/producer-$1.pid"
}
acked() { # TOPIC: the acknowledged values, sorted
	jq -r 'select(.name == "producer_send_success") | .value' "$KB_STATE/producer-$1.out" 2>/dev/null | sort
}
acked_count() { acked "$1" | wc -l; }
# verify_acked BOOTSTRAP TOPIC: every acknowledged value is consumable
# (librdkafka consumer); prints how many are missing when some are
verify_acked() {
	local missing
	missing=$(comm -23 <(acked "$2" | sort -u) <(kcat_all "$1" "$2" | sort -u) | wc -l)
	[ "$missing" = 0 ] || echo "$missing acknowledged messages of $2 are missing"
	[ "$missing" = 0 ]
}
