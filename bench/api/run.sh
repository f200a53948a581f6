#!/usr/bin/env bash
# bench/api/run.sh — HTTP API throughput/latency benchmark for streamplane.
#
# Starts build/streamplane on a free loopback port with a temporary data dir,
# seeds BENCH_CLUSTERS clusters over BENCH_TENANTS tenants, then loads it with
# wrk from this machine:
#   (a) GET  /v1/clusters/{id}          one cluster
#   (b) GET  /v1/clusters?page_size=50  a list page of 50
#   (c) POST /v1/clusters               create (unique names)
# and, as the baseline, nginx serving the same GET-one-cluster body as a static
# file on loopback. Prints req/s, p50, p99 and the ratio to nginx's req/s, with
# the aims beside them (aims never fail the script; errors do make it say so).
#
# Usage: bash bench/api/run.sh           (see bench/README.md for the knobs)
#
# Everything it starts (server, nginx, wrk) is stopped on exit by a trap; the
# temporary directory is removed unless BENCH_KEEP=1.
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

# ---- knobs (environment) ----------------------------------------------------
THREADS=${BENCH_THREADS:-2}              # wrk -t
CONNS=${BENCH_CONNECTIONS:-32}           # wrk -c
DURATION=${BENCH_DURATION:-10s}          # wrk -d, per measured run
WARMUP=${BENCH_WARMUP:-2s}               # un-measured wrk run before each GET run ("0" = none)
WRK_TIMEOUT=${BENCH_TIMEOUT:-5s}         # wrk --timeout
TENANTS=${BENCH_TENANTS:-10}
CLUSTERS=${BENCH_CLUSTERS:-1000}
NGINX_WORKERS=${BENCH_NGINX_WORKERS:-auto}
NGINX_ACCESS_LOG=${BENCH_NGINX_ACCESS_LOG:-on}   # on|off (the server logs every request too)
SETTLE_TIMEOUT=${BENCH_SETTLE_TIMEOUT:-60}       # seconds to wait for the server to go idle after seeding
BIN=${STREAMPLANE_BIN:-$ROOT/build/streamplane}
SERVER_ARGS=${BENCH_SERVER_ARGS:-}               # extra flags for "streamplane serve"
ONLY=${BENCH_ONLY:-}                             # "nginx": baseline only (tests the harness without the server)
KEEP=${BENCH_KEEP:-0}                            # 1: keep the temp dir (logs, wrk output)
JSON_OUT=${BENCH_JSON:-}                         # path: also write the figures as JSON

# Tenant quotas: high enough that seeding and the POST run never hit them
# (the server caps max_clusters at 10,000 per tenant; POST rotates over all
# tenants, so up to TENANTS × 10,000 creates fit).
QUOTAS=${BENCH_TENANT_QUOTAS:-'{"max_clusters":10000,"max_brokers":100000,"max_storage_gib":100000000}'}

AIM_GET_RATIO=50      # GET one ≥ 50 % of nginx req/s
AIM_GET_P99_US=5000   # GET one p99 < 5 ms
AIM_POST_RPS=2000     # POST create ≥ 2,000/s

# ---- helpers ----------------------------------------------------------------
log()  { printf '[bench] %s\n' "$*" >&2; }
warn() { printf '[bench] WARNING: %s\n' "$*" >&2; }
die()  { printf '[bench] ERROR: %s\n' "$*" >&2; exit 1; }

PIDS=()       # every long-running process we started
TMP=""
SERVER_PID=""
NGINX_PID=""
WRK_PID=""

stop_pid() {  # TERM, wait up to 5 s, then KILL (children of nginx too)
  local pid=$1 kids i
  kill -0 "$pid" 2>/dev/null || return 0
  kids=$(ps -o pid= --ppid "$pid" 2>/dev/null || true)
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    warn "pid $pid did not stop on TERM, sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  for i in $kids; do kill -0 "$i" 2>/dev/null && kill -KILL "$i" 2>/dev/null || true; done
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM ERR
  local pid
  for pid in ${WRK_PID:+"$WRK_PID"} "${PIDS[@]}"; do stop_pid "$pid"; done
  if [ "$rc" -ne 0 ] && [ -n "$TMP" ] && [ -s "$TMP/server.log" ]; then
    log "last lines of the server log ($TMP/server.log):"
    tail -n 30 "$TMP/server.log" >&2 || true
  fi
  if [ -n "$TMP" ] && [ -d "$TMP" ]; then
    if [ "$KEEP" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'log "failed at line $LINENO: $BASH_COMMAND"' ERR

free_port() {  # a port nobody listens on, below the ephemeral range
  local p i
  for i in $(seq 1 100); do
    p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 12000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      if ! command -v ss >/dev/null || [ -z "$(ss -Htan "sport = :$p" 2>/dev/null)" ]; then
        echo "$p"; return 0
      fi
    fi
  done
  return 1
}

us_to_ms() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }
fmt_int()  { awk -v x="$1" 'BEGIN { printf "%.0f", x }'; }

# json_str KEY: first "KEY":"value" in stdin (tolerates whitespace), value printed
json_str() {
  grep -o "\"$1\"[[:space:]]*:[[:space:]]*\"[^\"]*\"" | head -n 1 |
    sed 's/^.*:[[:space:]]*"\(.*\)"$/\1/' || true
}

# api METHOD PATH TOKEN [BODY] -> sets HTTP_CODE and RESP
api() {
  local method=$1 path=$2 token=$3 body=${4-}
  local args=(-sS -o "$TMP/resp.json" -w '%{http_code}' -X "$method" --max-time 15
              -H "Authorization: Bearer $token")
  if [ -n "$body" ]; then args+=(-H 'Content-Type: application/json' --data-binary "$body"); fi
  : >"$TMP/resp.json"
  HTTP_CODE=$(curl "${args[@]}" "$BASE$path" 2>"$TMP/curl.err") || HTTP_CODE=000
  RESP=$(cat "$TMP/resp.json")
}

# list_ids TOKEN [QUERY]: every kc- id visible to TOKEN, one a line, paging with page_size=500
list_ids() {
  local token=$1 query=${2-} tok="" page=0 out
  while :; do
    page=$((page + 1))
    [ "$page" -le 1000 ] || die "list paging did not end after 1000 pages (next_page_token never empty?)"
    local args=(-sS -G --max-time 30 -H "Authorization: Bearer $token" --data-urlencode "page_size=500")
    [ -n "$tok" ] && args+=(--data-urlencode "page_token=$tok")
    [ -n "$query" ] && args+=(--data-urlencode "$query")
    out=$(curl "${args[@]}" -w '\n%{http_code}' "$BASE/v1/clusters") || die "list request failed"
    local code=${out##*$'\n'} body=${out%$'\n'*}
    [ "$code" = 200 ] || die "GET /v1/clusters answered $code: ${body:0:300}"
    printf '%s' "$body" | grep -o '"id"[[:space:]]*:[[:space:]]*"kc-[^"]*"' | sed 's/.*"\(kc-[^"]*\)"$/\1/' || true
    tok=$(printf '%s' "$body" | json_str next_page_token)
    [ -n "$tok" ] || break
  done
}

cpu_ticks() {  # utime+stime of a pid, in clock ticks
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
  s=${s##*) }
  awk '{ print $12 + $13 }' <<<"$s"
}

# settle PID: wait until the process uses < 5 % of one CPU over 1 s (workers done with the seed)
settle() {
  local pid=$1 hz start prev now i
  hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
  start=$SECONDS
  prev=$(cpu_ticks "$pid")
  while :; do
    sleep 1
    now=$(cpu_ticks "$pid")
    if [ $(( (now - prev) * 100 )) -lt $(( hz * 5 )) ]; then
      log "server idle after $((SECONDS - start)) s"
      return 0
    fi
    prev=$now
    if [ $((SECONDS - start)) -ge "$SETTLE_TIMEOUT" ]; then
      warn "server still busy after ${SETTLE_TIMEOUT} s (background work will disturb the figures)"
      return 0
    fi
  done
}

declare -A R=()   # results: R[name.key]

# run_wrk NAME URL SCRIPT [ENV=VALUE ...]: measured wrk run, results into R[NAME.*]
run_wrk() {
  local name=$1 url=$2 script=$3; shift 3
  local out="$TMP/wrk-$name.out" line kv
  if [ "$WARMUP" != 0 ] && [ "$script" != post.lua ]; then
    env BENCH_LUA_DIR="$HERE" "$@" wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" --timeout "$WRK_TIMEOUT" \
      -s "$HERE/$script" "$url" >"$TMP/wrk-$name.warmup.out" 2>&1 &
    WRK_PID=$!; wait "$WRK_PID" || true; WRK_PID=""
  fi
  log "wrk $name: -t$THREADS -c$CONNS -d$DURATION $url"
  env BENCH_LUA_DIR="$HERE" "$@" wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --timeout "$WRK_TIMEOUT" \
    --latency -s "$HERE/$script" "$url" >"$out" 2>&1 &
  WRK_PID=$!
  if ! wait "$WRK_PID"; then WRK_PID=""; cat "$out" >&2; die "wrk failed for $name"; fi
  WRK_PID=""
  line=$(grep '^BENCH_RESULT ' "$out" | tail -n 1) || { cat "$out" >&2; die "no BENCH_RESULT line from wrk for $name"; }
  for kv in ${line#BENCH_RESULT }; do R["$name.${kv%%=*}"]=${kv#*=}; done
  grep '^BENCH_ERROR_BODY ' "$out" >&2 || true
}

errors_of() {  # total failures (status ≥ 400, socket errors, timeouts) of a run
  local n=$1
  echo $(( ${R[$n.status_errors]} + ${R[$n.connect_errors]} + ${R[$n.read_errors]} + ${R[$n.write_errors]} + ${R[$n.timeouts]} ))
}

# ---- prerequisites ----------------------------------------------------------
need_install=()
command -v wrk  >/dev/null || need_install+=(wrk)
command -v curl >/dev/null || need_install+=(curl)
NGINX=$(command -v nginx || true)
[ -n "$NGINX" ] || { [ -x /usr/sbin/nginx ] && NGINX=/usr/sbin/nginx; } || true
[ -n "$NGINX" ] || need_install+=(nginx-light)
if [ "${#need_install[@]}" -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing ${need_install[*]}; install them (apt-get install -y ${need_install[*]})"
  log "installing ${need_install[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${need_install[@]}" >/dev/null 2>&1 ||
    { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y "${need_install[@]}" >/dev/null; } ||
    die "apt-get install ${need_install[*]} failed"
  NGINX=$(command -v nginx || echo /usr/sbin/nginx)
fi
[ "$CONNS" -ge "$THREADS" ] || die "BENCH_CONNECTIONS ($CONNS) must be ≥ BENCH_THREADS ($THREADS)"

if [ "$ONLY" != nginx ] && [ ! -x "$BIN" ]; then
  if [ -f "$ROOT/Makefile" ] && make -C "$ROOT" -n build >/dev/null 2>&1; then
    log "no $BIN: running make build"
    make -C "$ROOT" build >&2 || die "make build failed"
  fi
  [ -x "$BIN" ] || die "no server binary at $BIN (and no working 'make build' target at $ROOT). Set STREAMPLANE_BIN, or BENCH_ONLY=nginx to test the harness."
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/streamplane-bench.XXXXXX")
chmod 755 "$TMP"   # nginx workers may run as another user
RUN_TAG=$(tr -dc 'a-z0-9' </dev/urandom | head -c 6 || true)

# ---- server -----------------------------------------------------------------
ADMIN_TOKEN="bench-admin-$(tr -dc 'a-zA-Z0-9' </dev/urandom | head -c 32 || true)"
BASE=""
GET_PATH=""

start_server() {
  local attempt port i
  for attempt in 1 2 3; do
    port=$(free_port) || die "no free port"
    mkdir -p "$TMP/data"
    # shellcheck disable=SC2086
    STREAMPLANE_ADMIN_TOKEN="$ADMIN_TOKEN" "$BIN" serve --listen "127.0.0.1:$port" --data-dir "$TMP/data" \
      --rate-limit 0 --log-format text $SERVER_ARGS >"$TMP/server.log" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    BASE="http://127.0.0.1:$port"
    for i in $(seq 1 200); do
      if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
      if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$BASE/healthz" || true)" = 200 ]; then
        log "server up on $BASE (pid $SERVER_PID, data dir $TMP/data)"
        return 0
      fi
      sleep 0.1
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then die "server not healthy on $BASE after 20 s"; fi
    wait "$SERVER_PID" 2>/dev/null || true
    if grep -qi 'in use' "$TMP/server.log"; then warn "port $port taken, retrying"; cp "$TMP/server.log" "$TMP/server.attempt$attempt.log"; continue; fi
    die "server exited during start-up"
  done
  die "could not start the server on a free port"
}

seed() {
  local i t per rem n j cfg name t0 codes tok
  log "creating $TENANTS tenants and their API keys"
  TENANT_IDS=(); TENANT_TOKENS=()
  for i in $(seq 1 "$TENANTS"); do
    api POST /v1/tenants "$ADMIN_TOKEN" "{\"name\":\"bench-t$i\",\"quotas\":$QUOTAS}"
    [ "$HTTP_CODE" = 201 ] || die "POST /v1/tenants answered $HTTP_CODE: ${RESP:0:300}"
    t=$(json_str id <<<"$RESP")
    [[ "$t" == tn-* ]] || die "POST /v1/tenants: no tn- id in ${RESP:0:300}"
    api POST "/v1/tenants/$t/api-keys" "$ADMIN_TOKEN" '{"name":"bench"}'
    [ "$HTTP_CODE" = 201 ] || die "POST /v1/tenants/$t/api-keys answered $HTTP_CODE: ${RESP:0:300}"
    TENANT_IDS+=("$t")
    TENANT_TOKENS+=("$(json_str secret <<<"$RESP")")
    [ -n "${TENANT_TOKENS[-1]}" ] || die "no secret in the api-key answer: ${RESP:0:300}"
  done

  per=$((CLUSTERS / TENANTS)); rem=$((CLUSTERS % TENANTS))
  log "seeding $CLUSTERS clusters (one keep-alive curl per tenant, $TENANTS in parallel)"
  t0=$(date +%s.%N)
  local curl_pids=()
  for i in $(seq 1 "$TENANTS"); do
    n=$per; [ "$i" -le "$rem" ] && n=$((n + 1))
    cfg="$TMP/seed-$i.curlrc"
    tok=${TENANT_TOKENS[$((i - 1))]}
    for j in $(seq 1 "$n"); do
      printf -v name 'c-%d-%04d' "$i" "$j"
      [ "$j" -gt 1 ] && printf 'next\n'
      printf 'url = "%s/v1/clusters"\n' "$BASE"
      printf 'header = "Authorization: Bearer %s"\n' "$tok"
      printf 'header = "Content-Type: application/json"\n'
      printf 'data-binary = "{\\"name\\":\\"%s\\",\\"kafka_version\\":\\"3.9.1\\",\\"brokers\\":3,\\"storage_gib\\":100}"\n' "$name"
      printf 'output = "/dev/null"\n'
      printf 'write-out = "%%{http_code}\\n"\n'
      printf 'max-time = 30\n'
    done >"$cfg"
    curl -sS -K "$cfg" >"$TMP/seed-$i.codes" 2>"$TMP/seed-$i.err" &
    curl_pids+=($!)
  done
  local saved=("${PIDS[@]}")
  PIDS+=("${curl_pids[@]}")          # stopped by the trap if we are interrupted
  for i in "${curl_pids[@]}"; do wait "$i" || true; done
  PIDS=("${saved[@]}")
  SEED_SECONDS=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
  codes=$(cat "$TMP"/seed-*.codes | sort | uniq -c | awk '{ printf "%s×%s ", $2, $1 }')
  log "seed answers: $codes(in $SEED_SECONDS s)"
  local ok
  ok=$(cat "$TMP"/seed-*.codes | grep -c '^20[12]$' || true)
  [ "$ok" -eq "$CLUSTERS" ] || { cat "$TMP"/seed-*.err >&2 || true; die "seeding created $ok of $CLUSTERS clusters (answers: $codes)"; }

  # verify by counting what each tenant sees, and what the operator sees
  local total=0 c
  for i in $(seq 1 "$TENANTS"); do
    n=$per; [ "$i" -le "$rem" ] && n=$((n + 1))
    c=$(list_ids "${TENANT_TOKENS[$((i - 1))]}" | sort -u | wc -l)
    [ "$c" -eq "$n" ] || die "tenant $i lists $c clusters, expected $n"
    total=$((total + c))
  done
  c=$(list_ids "$ADMIN_TOKEN" | sort -u | wc -l)
  [ "$c" -eq "$CLUSTERS" ] || warn "operator lists $c clusters, expected $CLUSTERS"
  log "verified: every tenant lists its own clusters ($total in all), operator lists $c"
}

start_nginx() {  # start_nginx BODYFILE URLPATH
  local body=$1 path=$2 port nd i user_line=""
  nd="$TMP/nginx"
  mkdir -p "$nd/html$(dirname "$path")" "$nd/logs"
  cp "$body" "$nd/html$path"
  chmod -R a+rX "$nd/html"
  port=$(free_port) || die "no free port"
  [ "$(id -u)" = 0 ] && user_line="user root;"
  local access="access_log $nd/logs/access.log;"
  [ "$NGINX_ACCESS_LOG" = off ] && access="access_log off;"
  cat >"$nd/nginx.conf" <<EOF
# generated by bench/api/run.sh: static baseline for GET /v1/clusters/{id}
$user_line
daemon off;
master_process on;
worker_processes $NGINX_WORKERS;
pid $nd/nginx.pid;
error_log $nd/logs/error.log warn;
events { worker_connections 4096; }
http {
    types { }
    default_type application/json;
    $access
    sendfile on;
    tcp_nodelay on;
    keepalive_timeout 75s;
    keepalive_requests 1000000;   # libmicrohttpd does not cap requests per connection either
    server_tokens off;
    client_body_temp_path $nd/tmp_body;
    proxy_temp_path $nd/tmp_proxy;
    fastcgi_temp_path $nd/tmp_fastcgi;
    uwsgi_temp_path $nd/tmp_uwsgi;
    scgi_temp_path $nd/tmp_scgi;
    server {
        listen 127.0.0.1:$port;
        root $nd/html;
        location / { try_files \$uri =404; }
    }
}
EOF
  "$NGINX" -t -q -p "$nd/" -e "$nd/logs/error.log" -c "$nd/nginx.conf" 2>"$nd/logs/test.err" ||
    { cat "$nd/logs/test.err" >&2; die "nginx -t failed"; }
  "$NGINX" -p "$nd/" -e "$nd/logs/error.log" -c "$nd/nginx.conf" >"$nd/logs/stdout.log" 2>&1 &
  NGINX_PID=$!
  PIDS+=("$NGINX_PID")
  NGINX_BASE="http://127.0.0.1:$port"
  for i in $(seq 1 100); do
    kill -0 "$NGINX_PID" 2>/dev/null || { cat "$nd/logs/error.log" >&2; die "nginx exited"; }
    if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$NGINX_BASE$path" || true)" = 200 ]; then
      cmp -s <(curl -s "$NGINX_BASE$path") "$body" || die "nginx serves a different body"
      log "nginx up on $NGINX_BASE (pid $NGINX_PID, worker_processes $NGINX_WORKERS, access_log $NGINX_ACCESS_LOG)"
      return 0
    fi
    sleep 0.1
  done
  die "nginx did not answer on $NGINX_BASE$path"
}

stop_nginx() {
  [ -n "$NGINX_PID" ] || return 0
  stop_pid "$NGINX_PID"
  local keep=() p
  for p in "${PIDS[@]}"; do [ "$p" = "$NGINX_PID" ] || keep+=("$p"); done
  PIDS=("${keep[@]}")
  NGINX_PID=""
}

# ---- run --------------------------------------------------------------------
CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)
log "machine: $(nproc) CPUs ($CPU_MODEL); wrk -t$THREADS -c$CONNS -d$DURATION; temp dir $TMP"

SCENARIOS=()
if [ "$ONLY" = nginx ]; then
  # harness self-test: a stand-in body of the same shape
  GET_PATH="/v1/clusters/kc-selftest0000000"
  cat >"$TMP/cluster.json" <<'EOF'
{"id":"kc-selftest0000000","tenant_id":"tn-selftest0000000","name":"orders","kafka_version":"3.9.1","brokers":3,"storage_gib":100,"status":{"phase":"PROVISIONING","observed_generation":0,"brokers_ready":0,"conditions":[]},"generation":1,"resource_version":"1","created_at":"2025-01-01T00:00:00Z","updated_at":"2025-01-01T00:00:00Z"}
EOF
else
  start_server
  seed
  settle "$SERVER_PID"
  GET_TOKEN=${TENANT_TOKENS[0]}
  GET_ID=$(list_ids "$GET_TOKEN" | head -n 1)
  [ -n "$GET_ID" ] || die "no cluster id to GET"
  GET_PATH="/v1/clusters/$GET_ID"
  api GET "$GET_PATH" "$GET_TOKEN"
  [ "$HTTP_CODE" = 200 ] || die "GET $GET_PATH answered $HTTP_CODE: ${RESP:0:300}"
  cp "$TMP/resp.json" "$TMP/cluster.json"
  PHASES=$(curl -s -H "Authorization: Bearer $ADMIN_TOKEN" "$BASE/v1/clusters?page_size=500" |
           grep -o '"phase"[[:space:]]*:[[:space:]]*"[A-Z_]*"' | sed 's/.*"\([A-Z_]*\)"$/\1/' | sort | uniq -c |
           awk '{ printf "%s×%s ", $2, $1 }')
  log "phases of the first 500 clusters after settling: ${PHASES:-none shown}"
fi
BODY_BYTES=$(wc -c <"$TMP/cluster.json")
log "GET-one body: $BODY_BYTES bytes"

start_nginx "$TMP/cluster.json" "$GET_PATH"
run_wrk nginx "$NGINX_BASE$GET_PATH" get.lua BENCH_TOKEN="${GET_TOKEN:-none}"
stop_nginx
SCENARIOS+=(nginx)

if [ "$ONLY" != nginx ]; then
  run_wrk get_one "$BASE$GET_PATH" get.lua BENCH_TOKEN="$GET_TOKEN"
  SCENARIOS+=(get_one)
  run_wrk get_list "$BASE/v1/clusters?page_size=50" get.lua BENCH_TOKEN="$GET_TOKEN"
  SCENARIOS+=(get_list)
  TOKENS_CSV=$(IFS=,; echo "${TENANT_TOKENS[*]}")
  run_wrk post_create "$BASE/v1/clusters" post.lua BENCH_TOKENS="$TOKENS_CSV" BENCH_RUN="$RUN_TAG"
  SCENARIOS+=(post_create)
  # cross-check: every 201/202 must be a cluster that lists afterwards
  CREATED=$(( ${R[post_create.s202]:-0} + ${R[post_create.s201]:-0} ))
  AFTER=$(list_ids "$ADMIN_TOKEN" | sort -u | wc -l)
  R[post_create.created]=$CREATED
  R[post_create.listed_after]=$AFTER
  # wrk stops with up to one request in flight per connection: the server may
  # complete those after wrk stopped counting, so up to $CONNS more may list.
  EXTRA=$((AFTER - CLUSTERS - CREATED))
  if [ "$EXTRA" -lt 0 ]; then
    warn "LOST WRITES? after the POST run the operator lists $AFTER clusters, fewer than $CLUSTERS seeded + $CREATED answered 2xx"
  elif [ "$EXTRA" -gt "$CONNS" ]; then
    warn "after the POST run the operator lists $AFTER clusters: $EXTRA more than $CLUSTERS seeded + $CREATED answered 2xx (more than the $CONNS that can be in flight when wrk stops)"
  else
    log "cross-check: $CREATED creates answered 2xx; $AFTER clusters listed = $CLUSTERS + $CREATED + $EXTRA in flight when wrk stopped"
  fi
  SERVER_RSS=$(awk '/^VmRSS/ { print $2 " " $3 }' "/proc/$SERVER_PID/status" 2>/dev/null || echo "?")
  kill -0 "$SERVER_PID" 2>/dev/null || die "server died during the benchmark"
fi

# ---- report -----------------------------------------------------------------
label() { case $1 in
  nginx) echo "nginx static GET (baseline)";; get_one) echo "GET one cluster";;
  get_list) echo "GET list page of 50";; post_create) echo "POST create cluster";; esac; }

NGINX_RPS=${R[nginx.rps]}
echo
echo "streamplane API benchmark — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "  machine : $(nproc) CPUs, $CPU_MODEL (wrk, nginx and the server share them)"
echo "  load    : wrk -t$THREADS -c$CONNS -d$DURATION --timeout $WRK_TIMEOUT over 127.0.0.1, keep-alive, no pacing"
if [ "$ONLY" != nginx ]; then
  echo "  data    : $CLUSTERS clusters over $TENANTS tenants (seeded in ${SEED_SECONDS} s), GET-one body $BODY_BYTES bytes"
fi
echo "  nginx   : worker_processes $NGINX_WORKERS, access_log $NGINX_ACCESS_LOG, static file with default_type application/json"
echo
printf '  %-28s %10s %9s %9s %9s %9s   %s\n' scenario 'req/s' 'p50 ms' 'p99 ms' errors 'vs nginx' aim
printf '  %-28s %10s %9s %9s %9s %9s   %s\n' ---------------------------- ---------- --------- --------- --------- --------- ---
BAD=0
for s in "${SCENARIOS[@]}"; do
  rps=${R[$s.rps]}; p50=${R[$s.p50_us]}; p99=${R[$s.p99_us]}; err=$(errors_of "$s")
  ratio=$(awk -v a="$rps" -v b="$NGINX_RPS" 'BEGIN { if (b > 0) printf "%.1f%%", 100 * a / b; else print "-" }')
  aim=""
  case $s in
    get_one)
      met=$(awk -v a="$rps" -v b="$NGINX_RPS" -v p="$p99" -v r="$AIM_GET_RATIO" -v l="$AIM_GET_P99_US" \
              'BEGIN { print ((b > 0 && 100 * a / b >= r) ? "met" : "MISSED") " / " ((p < l) ? "met" : "MISSED") }')
      aim="≥ ${AIM_GET_RATIO}% of nginx / p99 < $((AIM_GET_P99_US / 1000)) ms: $met";;
    post_create)
      ok_rps=$(awk -v c="${R[$s.created]}" -v d="${R[$s.duration_us]}" 'BEGIN { printf "%.0f", c / (d / 1e6) }')
      R[$s.created_per_s]=$ok_rps
      met=$(awk -v x="$ok_rps" -v a="$AIM_POST_RPS" 'BEGIN { print (x >= a) ? "met" : "MISSED" }')
      aim="≥ $AIM_POST_RPS created/s: $met ($ok_rps created/s)";;
    nginx) aim="(baseline)";;
    *) aim="-";;
  esac
  printf '  %-28s %10s %9s %9s %9s %9s   %s\n' "$(label "$s")" "$(fmt_int "$rps")" "$(us_to_ms "$p50")" \
    "$(us_to_ms "$p99")" "$err" "$ratio" "$aim"
  [ "$err" -eq 0 ] || BAD=1
done
if [ "$ONLY" != nginx ]; then
  echo
  echo "  POST statuses: $(for k in "${!R[@]}"; do [[ $k == post_create.s[0-9]* ]] && printf '%s=%s ' "${k#post_create.s}" "${R[$k]}"; done)"
  echo "  server RSS after the runs: $SERVER_RSS"
fi
echo
if [ "$BAD" = 1 ]; then
  echo "  !!! SOME REQUESTS FAILED (status ≥ 400, socket errors or timeouts; see 'errors' above)."
  echo "  !!! Figures of a run with errors do not measure the intended work."
  for s in "${SCENARIOS[@]}"; do
    e=$(errors_of "$s")
    [ "$e" -eq 0 ] || echo "  !!! $(label "$s"): status≥400=${R[$s.status_errors]} connect=${R[$s.connect_errors]} read=${R[$s.read_errors]} write=${R[$s.write_errors]} timeout=${R[$s.timeouts]} of ${R[$s.requests]}"
  done
  echo
fi

if [ -n "$JSON_OUT" ]; then
  {
    echo "{"
    echo "  \"threads\": $THREADS, \"connections\": $CONNS, \"duration\": \"$DURATION\", \"cpus\": $(nproc),"
    echo "  \"nginx_workers\": \"$NGINX_WORKERS\", \"clusters\": $CLUSTERS, \"tenants\": $TENANTS,"
    echo "  \"scenarios\": {"
    n=0
    for s in "${SCENARIOS[@]}"; do
      n=$((n + 1)); sep=","; [ "$n" -eq "${#SCENARIOS[@]}" ] && sep=""
      printf '    "%s": {"rps": %s, "p50_us": %s, "p99_us": %s, "requests": %s, "errors": %s}%s\n' \
        "$s" "${R[$s.rps]}" "${R[$s.p50_us]}" "${R[$s.p99_us]}" "${R[$s.requests]}" "$(errors_of "$s")" "$sep"
    done
    echo "  }"
    echo "}"
  } >"$JSON_OUT"
  log "wrote $JSON_OUT"
fi
