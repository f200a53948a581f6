# tests/clients/server.sh — sourced by the client tests: a fresh streamplane
# on a free loopback port with a temporary data directory.
#   sp_start BIN [serve flags...]   sets SP_PORT, SP_URL, SP_TMP, SP_PID, SP_ADMIN
#   sp_tenant NAME                  sets SP_TENANT and SP_KEY (a fresh tenant and key)
#   sp_stop                         stops it and removes the directory
# The operator token is fixed per run so the tests need not read files.

sp_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

sp_start() {
  local bin=$1; shift
  SP_TMP=$(mktemp -d)
  SP_PORT=$(sp_free_port)
  SP_ADMIN=spa_clients_test_token_$RANDOM$RANDOM
  local scheme=http
  case " $* " in *" --tls-cert "*) scheme=https ;; esac
  SP_URL=$scheme://127.0.0.1:$SP_PORT
  STREAMPLANE_ADMIN_TOKEN=$SP_ADMIN "$bin" serve --listen 127.0.0.1:$SP_PORT \
    --data-dir "$SP_TMP/data" --log-format text "$@" 2>"$SP_TMP/server.log" &
  SP_PID=$!
  local i
  for i in $(seq 200); do
    curl -skf "$SP_URL/healthz" >/dev/null 2>&1 && return 0
    kill -0 $SP_PID 2>/dev/null || break
    sleep 0.05
  done
  echo "streamplane did not start:"; cat "$SP_TMP/server.log"
  return 1
}

sp_tenant() {
  local name=$1
  SP_TENANT=$(curl -skf -X POST "$SP_URL/v1/tenants" -H "Authorization: Bearer $SP_ADMIN" \
    -H 'Content-Type: application/json' \
    -d "{\"name\":\"$name\",\"quotas\":{\"max_clusters\":50,\"max_brokers\":500}}" | jq -r .id)
  SP_KEY=$(curl -skf -X POST "$SP_URL/v1/tenants/$SP_TENANT/api-keys" -H "Authorization: Bearer $SP_ADMIN" \
    -H 'Content-Type: application/json' -d '{"name":"test"}' | jq -r .secret)
  [ -n "$SP_TENANT" ] && [ "$SP_TENANT" != null ] && [ -n "$SP_KEY" ] && [ "$SP_KEY" != null ]
}

sp_stop() {
  [ -n "${SP_PID:-}" ] && { kill $SP_PID 2>/dev/null; wait $SP_PID 2>/dev/null; }
  SP_PID=
  [ -n "${SP_TMP:-}" ] && rm -rf "$SP_TMP"
  SP_TMP=
}
