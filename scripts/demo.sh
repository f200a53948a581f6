#!/usr/bin/env bash
# make demo — kube-sim (the Kubernetes API test double) and streamplane wired
# together on loopback, a data plane registered, and a tenant with a key:
# watch a cluster come up with curl. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
KSIM_PORT=${KSIM_PORT:-16443}
LISTEN=${LISTEN:-127.0.0.1:8080}
DATA_DIR=${DATA_DIR:-./data-demo}
API=http://$LISTEN
KSIM_TOKEN=demo-kube-sim-token-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')

build/kube-sim --listen 127.0.0.1:$KSIM_PORT --token "$KSIM_TOKEN" --pod-ready-ms 1500 2>"$DATA_DIR.kube-sim.log" &
ksim=$!
mkdir -p "$DATA_DIR"
build/streamplane serve --listen "$LISTEN" --data-dir "$DATA_DIR" --log-format text 2>"$DATA_DIR/streamplane.log" &
sp=$!
trap 'kill $ksim $sp 2>/dev/null; wait 2>/dev/null' EXIT INT TERM
for _ in $(seq 100); do curl -sf $API/healthz >/dev/null && break; sleep 0.1; done
ADMIN=$(cat "$DATA_DIR/admin-token")

curl -sf -X POST $API/v1/data-planes -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
  -d "{\"name\":\"sim\",\"zones\":[\"a\",\"b\",\"c\"],\"allow_insecure_transport\":true,\"kubernetes\":{\"server\":\"http://127.0.0.1:$KSIM_PORT\",\"token\":\"$KSIM_TOKEN\"},\"kafka_access\":\"external\"}" \
  >/dev/null || true     # already registered on a second run
TENANT=$(curl -sf -X POST $API/v1/tenants -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
  -d "{\"name\":\"demo-$RANDOM\"}" | jq -r .id)
KEY=$(curl -sf -X POST $API/v1/tenants/$TENANT/api-keys -H "Authorization: Bearer $ADMIN" \
  -H 'Content-Type: application/json' -d '{"name":"demo"}' | jq -r .secret)

cat <<MSG
streamplane : $API            (logs: $DATA_DIR/streamplane.log)
kube-sim    : http://127.0.0.1:$KSIM_PORT   (a Kubernetes API test double; pods turn ready after 1.5 s)

In another terminal:
  KEY=$KEY
  curl -s -X POST $API/v1/clusters -H "Authorization: Bearer \$KEY" -H 'Content-Type: application/json' \\
    -d '{"name":"orders","kafka_version":"3.9","brokers":3,"storage_gib":100,"external_access":{"type":"loadbalancer"}}' | jq '{id, status}'
  # then, a few times:
  curl -s $API/v1/clusters -H "Authorization: Bearer \$KEY" | jq '.items[] | {name, status: .status.phase, ready: .status.brokers_ready}'
  curl -s $API/v1/operations -H "Authorization: Bearer \$KEY" | jq '.items[] | {type, state, progress_percent, steps}'
  # Kafka health, live (kafka-sim behind kube-sim answers the Kafka protocol):
  curl -s $API/v1/clusters/<id>/health -H "Authorization: Bearer \$KEY" | jq .
  # stop broker 1's process and watch the cluster turn DEGRADED, then start it again:
  curl -s -X POST http://127.0.0.1:$KSIM_PORT/_sim/kafka/sp-<id>/brokers/1/stop
  curl -s -X POST http://127.0.0.1:$KSIM_PORT/_sim/kafka/sp-<id>/brokers/1/start
  # the objects in "Kubernetes":
  curl -s -H "Authorization: Bearer $KSIM_TOKEN" http://127.0.0.1:$KSIM_PORT/api/v1/pods | jq -r '.items[].metadata.name'

Ctrl-C stops both.
MSG
wait
