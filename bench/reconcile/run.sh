#!/usr/bin/env bash
# bench/reconcile — how fast the workers provision clusters on a data plane,
# and what Kafka health checks cost.
#
# Part 1, for each size (100, then 1,000 clusters) and each worker count (4,
# 8): a fresh kube-sim with 2 ms added to every Kubernetes request, a fresh
# streamplane, one data plane; create 1-broker clusters (no external access,
# so RUNNING goes by the pods) as fast as the API takes them, then measure
#   - seconds until every cluster is RUNNING,
#   - Kubernetes requests per cluster (kube-sim logs one line per request),
#   - Kubernetes requests per minute once everything is idle (resync every 30 s),
#   - peak RSS of streamplane,
# and print the lower bound  requests/cluster x 2 ms x clusters / workers  beside
# the measured time, and their ratio.
#
# Part 2, the cost of Kafka: BENCH_HEALTH_N clusters (1 broker, external
# access through a LoadBalancer, so RUNNING waits for Kafka metadata and the
# health checks run against kafka-sim inside kube-sim), 4 workers, health
# every BENCH_HEALTH_S seconds, with the librdkafka client cache at each size
# in BENCH_KAFKA_CLIENTS: seconds to RUNNING, then over BENCH_IDLE_S idle
# seconds metadata reads per minute (beside the n x 60 / interval the
# interval asks for), clients created per minute (cache misses), Kubernetes
# requests per minute, peak RSS.
#
# Figures, not a pass/fail test.
# Env: BENCH_SIZES="100 1000", BENCH_WORKERS="4 8", BENCH_LATENCY_MS=2, BENCH_IDLE_S=30,
#      BENCH_HEALTH_N=100 (0 skips), BENCH_HEALTH_S=10, BENCH_KAFKA_CLIENTS="64 128".
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x build/streamplane ] && [ -x build/kube-sim ] || make build
SIZES=${BENCH_SIZES:-100 1000}
WORKERS=${BENCH_WORKERS:-4 8}
LAT=${BENCH_LATENCY_MS:-2}
IDLE=${BENCH_IDLE_S:-30}
HN=${BENCH_HEALTH_N:-100}
HS=${BENCH_HEALTH_S:-10}
KCS=${BENCH_KAFKA_CLIENTS:-64 128}
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]:-}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
kreqs() { grep -cE '^kube-sim: [A-Z]+ /api' "$1" || true; }
metric() { curl -sf "$API/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
A="Authorization: Bearer bench-admin-token-0123456789"; J='Content-Type: application/json'

# start RUN STREAMPLANE-FLAGS...: kube-sim and streamplane, a data plane
# (kafka_access external) and a tenant. Sets kpid spid API tid.
start() {
  local run=$1; shift
  mkdir -p "$run"
  local kport sport
  kport=$(free_port); sport=$(free_port)
  build/kube-sim --listen 127.0.0.1:$kport --token bench-ksim-token-0123 --pod-ready-ms 50 2>"$run/ksim.log" &
  kpid=$!; pids+=($kpid)
  STREAMPLANE_ADMIN_TOKEN=bench-admin-token-0123456789 build/streamplane serve --listen 127.0.0.1:$sport \
    --data-dir "$run/data" --rate-limit 0 --log-level warn "$@" 2>"$run/sp.log" &
  spid=$!; pids+=($spid)
  API=http://127.0.0.1:$sport
  for _ in $(seq 100); do curl -sf $API/healthz >/dev/null && curl -sf http://127.0.0.1:$kport/healthz >/dev/null && break; sleep 0.05; done
  curl -sf -X POST http://127.0.0.1:$kport/_sim/faults -H "$J" -d "{\"latency_ms\":$LAT}" >/dev/null
  curl -sf -X POST $API/v1/data-planes -H "$A" -H "$J" -d "{\"name\":\"sim\",\"capacity\":{\"max_brokers\":100000},\"kafka_access\":\"external\",\"allow_insecure_transport\":true,\"kubernetes\":{\"server\":\"http://127.0.0.1:$kport\",\"token\":\"bench-ksim-token-0123\"}}" >/dev/null
  tid=$(curl -sf -X POST $API/v1/tenants -H "$A" -H "$J" -d '{"name":"bench","quotas":{"max_clusters":10000,"max_brokers":100000,"max_storage_gib":100000000}}' | jq -r .id)
}

stop() { kill $spid $kpid 2>/dev/null || true; wait $spid $kpid 2>/dev/null || true; }

# create RUN N EXTRA-JSON: N 1-broker clusters through one keep-alive curl
# (--next between requests). Sets accepted.
create() {
  local cfg=$1/create.cfg i
  : > "$cfg"
  for i in $(seq 1 $2); do
    [ $i -gt 1 ] && echo "next" >> "$cfg"
    printf 'url = "%s/v1/clusters"\nrequest = "POST"\nheader = "%s"\nheader = "%s"\ndata = "{\\"tenant_id\\":\\"%s\\",\\"name\\":\\"c%d\\",\\"kafka_version\\":\\"3.9.1\\",\\"brokers\\":1,\\"storage_gib\\":10%s}"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' \
      "$API" "$A" "$J" "$tid" "$i" "$3" >> "$cfg"
  done
  accepted=$(curl -s -K "$cfg" | grep -c '^202$' || true)
}

# wait_running N: until N clusters are RUNNING (paging through the list).
# Sets done_at ("" if never).
wait_running() {
  local running tok page
  done_at=""
  for _ in $(seq 3000); do
    running=0; tok=""
    while :; do
      page=$(curl -sf "$API/v1/clusters?page_size=500${tok:+&page_token=$tok}" -H "$A")
      running=$((running + $(jq '[.items[] | select(.status.phase=="RUNNING")] | length' <<<"$page")))
      tok=$(jq -r '.next_page_token // empty' <<<"$page"); [ -n "$tok" ] || break
    done
    if [ "$running" -ge "$1" ]; then done_at=$(date +%s.%N); return; fi
    sleep 0.2
  done
}

results=()
for n in $SIZES; do
  for w in $WORKERS; do
    run=$tmp/run-$n-$w
    start "$run" --workers $w --resync-seconds 30
    before=$(kreqs "$run/ksim.log")
    t0=$(date +%s.%N)
    create "$run" $n ""
    wait_running $n
    after=$(kreqs "$run/ksim.log")
    if [ -n "$done_at" ]; then secs=$(echo "$done_at - $t0" | bc -l); else secs=NaN; fi
    per=$(echo "($after - $before) / $n" | bc -l)
    # idle: requests in a window after everything settled
    sleep 2; i0=$(kreqs "$run/ksim.log"); sleep "$IDLE"; i1=$(kreqs "$run/ksim.log")
    idle_pm=$(echo "($i1 - $i0) * 60 / $IDLE" | bc -l)
    rss=$(awk '/VmHWM/ {print $2}' /proc/$spid/status)
    bound=$(echo "$per * $LAT / 1000 * $n / $w" | bc -l)
    ratio=$( [ "$secs" = NaN ] && echo NaN || echo "$secs / $bound" | bc -l)
    results+=("$(printf '%6d %7d %8d %10s %10.1f %10.2f %8s %12.0f %10d' $n $w $accepted \
      "$( [ "$secs" = NaN ] && echo 'not done' || printf '%.2f' "$secs")" "$per" "$bound" \
      "$( [ "$ratio" = NaN ] && echo '-' || printf '%.1fx' "$ratio")" "$idle_pm" "$rss")")
    stop
  done
done

hresults=()
for kc in $KCS; do
  [ "$HN" -gt 0 ] || break
  run=$tmp/health-$kc
  start "$run" --workers 4 --resync-seconds 300 --health-seconds $HS --kafka-clients $kc
  before=$(kreqs "$run/ksim.log")
  t0=$(date +%s.%N)
  create "$run" $HN ',\"external_access\":{\"type\":\"loadbalancer\"}'
  wait_running $HN
  secs=$( [ -n "$done_at" ] && printf '%.2f' "$(echo "$done_at - $t0" | bc -l)" || echo 'not done')
  per=$(echo "($(kreqs "$run/ksim.log") - $before) / $HN" | bc -l)
  sleep 2
  r0=$(metric streamplane_kafka_metadata_reads_total); c0=$(metric streamplane_kafka_clients_created_total)
  f0=$(metric streamplane_kafka_metadata_read_failures_total); i0=$(kreqs "$run/ksim.log")
  sleep "$IDLE"
  r1=$(metric streamplane_kafka_metadata_reads_total); c1=$(metric streamplane_kafka_clients_created_total)
  f1=$(metric streamplane_kafka_metadata_read_failures_total); i1=$(kreqs "$run/ksim.log")
  notrun=$(curl -sf "$API/v1/clusters?page_size=500" -H "$A" | jq '[.items[] | select(.status.phase!="RUNNING")] | length')
  rss=$(awk '/VmHWM/ {print $2}' /proc/$spid/status)
  hresults+=("$(printf '%6d %8d %8d %10s %10.1f %12.0f %12.0f %12.0f %9d %10.0f %10d %9d' $HN $kc $accepted "$secs" "$per" \
    "$(echo "($r1 - $r0) * 60 / $IDLE" | bc -l)" "$(echo "$HN * 60 / $HS" | bc -l)" \
    "$(echo "($c1 - $c0) * 60 / $IDLE" | bc -l)" $((f1 - f0)) "$(echo "($i1 - $i0) * 60 / $IDLE" | bc -l)" "$rss" "$notrun")")
  stop
done

echo
echo "streamplane reconcile benchmark — $(date -u +%FT%TZ)"
echo "  machine : $(nproc) CPUs (kube-sim, streamplane and curl share them)"
echo "  kube-sim: +${LAT} ms per request, pods ready 50 ms after creation; 1-broker clusters (1 controller + 1 broker)"
if [ ${#results[@]} -gt 0 ]; then
  echo "  bound   : requests/cluster x ${LAT} ms x clusters / workers (what the latency alone costs)"
  echo
  printf '%6s %7s %8s %10s %10s %10s %8s %12s %10s\n' clusters workers accepted "secs" "req/clust" "bound s" ratio "idle req/min" "peak KiB"
  for r in "${results[@]}"; do echo "$r"; done
fi
if [ ${#hresults[@]} -gt 0 ]; then
  echo
  echo "Kafka health: $HN 1-broker clusters with a LoadBalancer, 4 workers, a check every ${HS} s (jittered), kafka-sim in kube-sim"
  echo "  (idle figures over ${IDLE} s; 'asked' = clusters x 60 / interval; 'not RUN' counted at the end)"
  printf '%6s %8s %8s %10s %10s %12s %12s %12s %9s %10s %10s %9s\n' clusters cache accepted "secs" "req/clust" \
    "reads/min" "asked/min" "created/min" failures "k8s req/min" "peak KiB" "not RUN"
  for r in "${hresults[@]}"; do echo "$r"; done
fi
