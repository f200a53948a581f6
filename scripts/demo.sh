#!/usr/bin/env bash
# make demo — the bed (a real Kubernetes control plane on loopback: etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler, KWOK; scripts/bed)
# and streamplane wired together, the bed registered as a data plane with
# streamplane's own ServiceAccount (deploy/rbac.yaml), and a tenant with a
# key: watch a cluster come up with curl. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
LISTEN=${LISTEN:-127.0.0.1:8080}
DATA_DIR=${DATA_DIR:-./data-demo}
API=http://$LISTEN
BED=$DATA_DIR/bed

mkdir -p "$DATA_DIR"
scripts/bed up "$BED"
# shellcheck disable=SC1091
. "$BED/env"
build/streamplane serve --listen "$LISTEN" --data-dir "$DATA_DIR" --log-format text 2>"$DATA_DIR/streamplane.log" &
sp=$!
trap 'kill $sp 2>/dev/null; wait $sp 2>/dev/null; scripts/bed down "$BED"' EXIT INT TERM
for _ in $(seq 100); do curl -sf $API/healthz >/dev/null && break; sleep 0.1; done
ADMIN=$(cat "$DATA_DIR/admin-token")

jq -n --arg server "$BED_SERVER" --arg token "$(cat "$BED_SA_TOKEN_FILE")" --arg ca "$(base64 -w0 "$BED_CA")" \
  '{name: "bed", zones: ["a","b","c"], kafka_access: "external",
    kubernetes: {server: $server, token: $token, ca_data: $ca}}' \
  | curl -sf -X POST $API/v1/data-planes -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' -d @- \
  >/dev/null || true     # already registered on a second run
TENANT=$(curl -sf -X POST $API/v1/tenants -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
  -d "{\"name\":\"demo-$RANDOM\"}" | jq -r .id)
KEY=$(curl -sf -X POST $API/v1/tenants/$TENANT/api-keys -H "Authorization: Bearer $ADMIN" \
  -H 'Content-Type: application/json' -d '{"name":"demo"}' | jq -r .secret)

cat <<MSG
streamplane : $API            (logs: $DATA_DIR/streamplane.log)
bed         : $BED_SERVER   (Kubernetes $BED_K8S_VERSION; admin kubeconfig: $BED_KUBECONFIG)

There is no Kafka on the bed (KWOK runs no containers): a cluster turns RUNNING
on its pods, with KafkaReady Unknown (reason NoRoute).

In another terminal:
  KEY=$KEY
  curl -s -X POST $API/v1/clusters -H "Authorization: Bearer \$KEY" -H 'Content-Type: application/json' \\
    -d '{"name":"orders","kafka_version":"3.9.1","brokers":3,"storage_gib":100}' | jq '{id, status}'
  # then, a few times:
  curl -s $API/v1/clusters -H "Authorization: Bearer \$KEY" | jq '.items[] | {name, status: .status.phase, ready: .status.brokers_ready}'
  curl -s $API/v1/operations -H "Authorization: Bearer \$KEY" | jq '.items[] | {type, state, progress_percent, steps}'
  # the pods on the real API server, and the nodes (zones) they were scheduled on:
  kubectl --kubeconfig $BED_KUBECONFIG get pods -A -o wide
  curl -s --cacert $BED_CA -H "Authorization: Bearer \$(cat $BED_SA_TOKEN_FILE)" $BED_SERVER/api/v1/pods \\
    | jq -r '.items[] | "\(.metadata.namespace) \(.metadata.name) \(.status.phase) \(.spec.nodeName)"'

Ctrl-C stops both.
MSG
wait $sp
