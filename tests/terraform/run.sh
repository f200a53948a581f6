#!/usr/bin/env bash
# examples/terraform/ run by OpenTofu with the Mastercard/restapi provider,
# offline (the provider comes from a filesystem mirror in the cache, built
# from the Go module proxy), against a fresh server over HTTPS.
# usage: tests/terraform/run.sh BIN          prints "N passed, M failed"
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BIN=${1:-build/streamplane}
CACHE=${STREAMPLANE_CACHE:-$HOME/.cache/streamplane}
# TOFU=/path/to/terraform runs the same with Terraform (not what make test does)
if [ -z "${TOFU:-}" ]; then
  bash tests/clients/tools.sh restapi tofu || { echo "0 passed, 1 failed"; exit 1; }
  TOFU=$CACHE/opentofu-1.12.6/bin/tofu
else
  bash tests/clients/tools.sh restapi || { echo "0 passed, 1 failed"; exit 1; }
fi
passed=0; failed=0
check() {  # check WHAT CONDITION-EXIT-CODE [DETAIL]
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "ok   $1"
  else failed=$((failed + 1)); echo "FAIL $1${3:+: $3}"; fi
}

. tests/clients/server.sh
W=$(mktemp -d)
trap 'sp_stop; rm -rf "$W"' EXIT
# a self-signed certificate for 127.0.0.1; the provider trusts it through SSL_CERT_FILE
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$W/key.pem" -out "$W/cert.pem" 2>/dev/null
sp_start "$BIN" --workers 2 --health-seconds 0 --tls-cert "$W/cert.pem" --tls-key "$W/key.pem" \
  || { echo "0 passed, 1 failed"; exit 1; }
sp_tenant tf-team || { echo "no tenant"; echo "0 passed, 1 failed"; exit 1; }
CURL=(curl -s --cacert "$W/cert.pem" -H "Authorization: Bearer $SP_KEY")
code() { "${CURL[@]}" -o /dev/null -w '%{http_code}' "$SP_URL/v1/clusters/$1"; }
field() { "${CURL[@]}" "$SP_URL/v1/clusters/$1" | jq -r "$2"; }
wait_code() {  # wait_code ID CODE: the workers finish a change within moments
  local i; for i in $(seq 600); do [ "$(code "$1")" = "$2" ] && return 0; sleep 0.1; done; return 1
}
curl -sf --cacert "$W/cert.pem" "$SP_URL/healthz" >/dev/null
check "curl reaches the server over HTTPS, trusting its certificate" $?

cp examples/terraform/*.tf "$W/"
# the provider from a filesystem mirror: nothing is fetched (OpenTofu's
# registry host, and Terraform's for TOFU=terraform)
P=$CACHE/restapi-1.20.0/bin/terraform-provider-restapi
for h in registry.opentofu.org registry.terraform.io; do
  mkdir -p "$W/mirror/$h/mastercard/restapi/1.20.0/linux_amd64"
  ln -s "$P" "$W/mirror/$h/mastercard/restapi/1.20.0/linux_amd64/terraform-provider-restapi_v1.20.0"
done
cat > "$W/tofurc" <<RC
provider_installation {
  filesystem_mirror {
    path    = "$W/mirror"
    include = ["registry.opentofu.org/mastercard/restapi", "registry.terraform.io/mastercard/restapi"]
  }
}
RC
export TF_CLI_CONFIG_FILE=$W/tofurc TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1
export SSL_CERT_FILE=$W/cert.pem TF_VAR_api_url=$SP_URL TF_VAR_api_token=$SP_KEY
tf() { (cd "$W" && "$TOFU" "$@" -no-color) > "$W/last.log" 2>&1; local rc=$?; cat "$W/last.log" | tail -20; return $rc; }

# a topic declared with the cluster, in the same apply (accepted while it provisions)
export TF_VAR_topics='{ events = { partitions = 3, config = { "retention.ms" = "3600000" } } }'
topic() { "${CURL[@]}" "$SP_URL/v1/clusters/$1/topics/events" | jq -r "$2"; }

tf init; check "tofu init, offline from the mirror" $?
tf apply -auto-approve; check "tofu apply creates the cluster" $?
ID=$(cd "$W" && "$TOFU" output -raw cluster_id 2>/dev/null)
[ "$(field "$ID" '.brokers,.kafka_version,.config."log.retention.hours"' | tr '\n' ' ')" = "3 3.9 168 " ]
check "the cluster exists as the module said ($ID)" $?
[ "$(topic "$ID" '.partitions,.config."retention.ms",.status.replication_factor' | tr '\n' ' ')" = "3 3600000 3 " ]
check "its topic was declared in the same apply (3 partitions, retention.ms, replication factor 3)" $?
tf plan -detailed-exitcode; check "tofu plan reports no changes after apply" $?

export TF_VAR_brokers=5
export TF_VAR_topics='{ events = { partitions = 6, config = { "retention.ms" = "3600000" } } }'
tf apply -auto-approve -var 'config={"log.retention.hours"="72","min.insync.replicas"="2"}'
check "tofu apply of more brokers and a config value" $?
[ "$(field "$ID" '.brokers,.config."log.retention.hours",.generation' | tr '\n' ' ')" = "5 72 2 " ]
check "the same cluster now has 5 brokers and retention 72 (generation 2)" $?
[ "$(topic "$ID" '.partitions,.generation' | tr '\n' ' ')" = "6 2 " ]
check "and its topic 6 partitions (a PATCH: generation 2)" $?
tf plan -detailed-exitcode -var 'config={"log.retention.hours"="72","min.insync.replicas"="2"}'
check "tofu plan reports no changes after the update" $?
TFV=(-var 'config={"log.retention.hours"="72","min.insync.replicas"="2"}')

"${CURL[@]}" -o /dev/null -X DELETE "$SP_URL/v1/clusters/$ID"
wait_code "$ID" 404; check "someone deletes the cluster through the API (GET 404 once the workers are done)" $?
tf plan -detailed-exitcode "${TFV[@]}"; [ $? -eq 2 ]; check "tofu plan sees it gone and plans to create it" $?
tf apply -auto-approve "${TFV[@]}"; check "tofu apply recreates it" $?
ID2=$(cd "$W" && "$TOFU" output -raw cluster_id 2>/dev/null)
[ -n "$ID2" ] && [ "$ID2" != "$ID" ] && [ "$(code "$ID2")" = 200 ] && [ "$(field "$ID2" .brokers)" = 5 ] &&
  [ "$(topic "$ID2" .partitions)" = 6 ]
check "the new cluster ($ID2) exists with 5 brokers, and its topic with 6 partitions" $?
tf plan -detailed-exitcode "${TFV[@]}"; check "tofu plan reports no changes after the re-create" $?

# a replacement deletes and creates the same name in one apply, long before
# the workers have finished the deletion: the old cluster gives up its name
tf apply -auto-approve -replace=restapi_object.cluster "${TFV[@]}"; check "tofu apply -replace (DELETE, then POST of the same name)" $?
ID3=$(cd "$W" && "$TOFU" output -raw cluster_id 2>/dev/null)
[ -n "$ID3" ] && [ "$ID3" != "$ID2" ] && [ "$(code "$ID3")" = 200 ] && wait_code "$ID2" 404 &&
  [ "$(topic "$ID3" .partitions)" = 6 ]
check "the replacement ($ID3) lives with its topic, the replaced one is gone" $?

tf destroy -auto-approve "${TFV[@]}"; check "tofu destroy" $?
wait_code "$ID3" 404; check "after destroy the cluster answers 404" $?
[ "$("${CURL[@]}" "$SP_URL/v1/clusters" | jq '.items | length')" = 0 ]
check "and the tenant has no cluster left" $?

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
