#!/usr/bin/env bash
# The shared cluster comes up on real brokers, and a user outside the
# cluster uses it: RUNNING only once the real brokers answer; clients through
# status.external_bootstrap_servers (the LoadBalancer Services, forwarded
# from loopback by the runner); what Kafka itself says about the rendered
# objects (quorum, advertised names, the tenant's config, broker.rack, JMX).
. "$(dirname "$0")/lib.sh"
shared_cluster
check "status.external_bootstrap_servers lists 3 loopback addresses" \
	[ "$(tr ',' '\n' <<<"$EXT" | grep -c '^127\.')" = 3 ]

# ---- a user outside the cluster: Kafka's tools and librdkafka ---------------
"$KBIN/kafka-topics.sh" --bootstrap-server "$EXT" --create --topic lifecycle --partitions 3 \
	--replication-factor 3 >/dev/null 2>"$KB_STATE/topic.err"
check "a topic with replication factor 3 is created through the external listeners" [ $? = 0 ] ||
	cat "$KB_STATE/topic.err"
seq 1 200 | sed 's/^/order-/' >"$KB_STATE/sent"
# idempotent: a retry after a slow answer (a loaded machine) writes no duplicate
kcat -P -b "$EXT" -t lifecycle -X acks=all -X enable.idempotence=true -X message.timeout.ms=120000 \
	<"$KB_STATE/sent" 2>"$KB_STATE/produce.err"
prc=$?
check_sh "a librdkafka producer (acks=all) through the external bootstrap servers: 200 acknowledged" \
	'[ $prc = 0 ] && ! grep -q "Delivery failed" "$KB_STATE/produce.err"' || cat "$KB_STATE/produce.err"
check "a librdkafka consumer reads all 200 back, each once" cmp -s <(sort "$KB_STATE/sent") <(kcat_all "$EXT" lifecycle)
"$KBIN/kafka-configs.sh" --bootstrap-server "$EXT" --describe --entity-type brokers --entity-name 1 --all \
	>"$KB_STATE/configs" 2>&1
check_sh "DescribeConfigs reports the tenant's config (log.retention.hours=72, min.insync.replicas=2)" \
	'grep -q "log.retention.hours=72 sensitive=false synonyms={STATIC_BROKER_CONFIG:log.retention.hours=72" "$KB_STATE/configs" &&
	grep -q "min.insync.replicas=2 sensitive=false synonyms={STATIC_BROKER_CONFIG" "$KB_STATE/configs"'
# the zone of the node broker-1 runs on, as the API server has it
node=$(kapi GET "/api/v1/namespaces/$NS/pods/kafka-broker-1" | jq -r .spec.nodeName)
zone=$(kapi GET "/api/v1/nodes/$node" | jq -r '.metadata.labels["topology.kubernetes.io/zone"]')
check "broker.rack is the zone of broker-1's node ($node, $zone)" grep -qE "^  broker.rack=$zone " "$KB_STATE/configs"
check "the brokers are spread over the runner's three zones" [ "$(for i in 0 1 2; do
	kapi GET "/api/v1/namespaces/$NS/pods/kafka-broker-$i" | jq -r .spec.nodeName; done | sort -u | wc -l)" = 3 ]

# ---- inside the cluster: `kubectl exec` into broker-0 ----------------------
B=kafka-bootstrap.$NS.svc.cluster.local:9092
pod_exec "$NS" kafka-broker-0 /opt/kafka/bin/kafka-metadata-quorum.sh --bootstrap-server "$B" describe --status \
	>"$KB_STATE/quorum" 2>&1
check "the controller quorum has a leader among the rendered voters 1000..1002" \
	grep -qE '^LeaderId:[[:space:]]+100[0-2]$' "$KB_STATE/quorum"
check "the quorum's voters are the rendered controller.quorum.voters" \
	grep -q "kafka-controller-2.kafka-controller.$NS.svc.cluster.local:9093" "$KB_STATE/quorum"
pod_exec "$NS" kafka-broker-0 kcat -b "$B" -L -J >"$KB_STATE/meta" 2>/dev/null
check_sh "librdkafka metadata inside the cluster lists brokers 0, 1, 2 at their advertised pod names" \
	'[ "$(jq -c "[.brokers[] | .id] | sort" "$KB_STATE/meta" 2>/dev/null)" = "[0,1,2]" ] &&
	grep -q "kafka-broker-1.kafka-broker.$NS.svc.cluster.local:9092" "$KB_STATE/meta"'
pod_exec "$NS" kafka-broker-0 curl -sf http://127.0.0.1:9404/metrics >"$KB_STATE/metrics" 2>&1
check "the JMX exporter agent serves Kafka metrics on :9404" \
	grep -q '^kafka_server_replicamanager_leadercount' "$KB_STATE/metrics"
jvm_memory "$NS"
