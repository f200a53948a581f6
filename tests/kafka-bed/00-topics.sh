#!/usr/bin/env bash
# Declared topics and consumer-group lag on real Kafka (issue 14). Runs
# first: it POSTs the shared cluster and declares topics on it at once,
# while it provisions (as a Terraform apply does), then checks with Kafka's
# own tools that once the cluster is RUNNING the topics exist with their
# partitions, replication factor and config; that a config change reaches
# the broker (DescribeConfigs) and keeps a key set outside streamplane
# (AlterConfigs replaces the whole set: read, merge, write); that partitions
# grow; that a topic made outside is listed as unmanaged and survives; that
# the lag streamplane reports for a consumer group equals produced minus
# committed (and what kafka-consumer-groups.sh says); and that a deleted
# topic leaves Kafka.
. "$(dirname "$0")/lib.sh"
[ -z "$(cluster_id shared)" ] || give_up "00-topics.sh must run before the shared cluster exists"
tp() { echo "/v1/clusters/$C/topics${1:+/$1}"; }
topic_field() { sp GET "$(tp "$1")" | jq -r "$2"; }
# wait_topic NAME SECONDS: READY at its current generation
wait_topic() {
	local end=$((SECONDS + $2)) j
	while [ $SECONDS -lt $end ]; do
		j=$(sp GET "$(tp "$1")") &&
			[ "$(jq -r '.status.phase' <<<"$j")" = READY ] &&
			[ "$(jq -r '.status.observed_generation == .generation' <<<"$j")" = true ] && return 0
		sleep 1
	done
	sp GET "$(tp "$1")" | jq -c .status
	return 1
}

# ---- declared while the cluster provisions -------------------------------------
C=$(shared_cluster_post) || give_up "POST /v1/clusters for the shared cluster"
sp POST "$(tp)" '{"name":"declared","partitions":3,"replication_factor":3,
	"config":{"retention.ms":"7200000","max.message.bytes":"200000"}}' >/dev/null ||
	give_up "POST a topic while the cluster provisions"
sp POST "$(tp)" '{"name":"lagged","partitions":2}' >/dev/null || give_up "POST a second topic"
check_sh "a topic declared while the cluster provisions is accepted and waits (PENDING, WaitingForCluster)" \
	'[ "$(topic_field declared .status.phase)/$(topic_field declared .status.reason)" = PENDING/WaitingForCluster ] &&
	 [ "$(phase "$C")" = PROVISIONING ]'
shared_cluster
check "...and is READY once the cluster is RUNNING" wait_topic declared 180
check "the second one too" wait_topic lagged 60
# partitions and replicas as librdkafka metadata has them: "PARTITIONS/REPLICAS of partition 0"
shape() { kcat -L -J -b "$EXT" -t "$1" 2>/dev/null | jq -r '.topics[0] | "\(.partitions | length)/\(.partitions[0].replicas | length)"'; }
# eventually SECONDS EXPR: EXPR holds within SECONDS (brokers learn metadata a moment after the controller)
eventually() { local end=$((SECONDS + $1)); until eval "$2"; do [ $SECONDS -ge $end ] && return 1; sleep 1; done; }
# Kafka's own tools give up after fixed times (ConfigCommand: 30 s) that a
# loaded machine can exceed while their JVM starts: a few tries, bounded
tool() { local i out; for i in 1 2 3; do out=$("$@" 2>&1) && { echo "$out"; return 0; }; done; echo "$out"; return 1; }
configs() { tool "$KBIN/kafka-configs.sh" --bootstrap-server "$EXT" --describe --entity-type topics --entity-name "$1"; }
check "Kafka has it with 3 partitions and replication factor 3 (metadata)" eventually 30 '[ "$(shape declared)" = 3/3 ]'
configs declared >"$KB_STATE/c-declared"
check_sh "...and the declared config (DescribeConfigs: retention.ms=7200000, max.message.bytes=200000)" \
	'grep -q "retention.ms=7200000" "$KB_STATE/c-declared" && grep -q "max.message.bytes=200000" "$KB_STATE/c-declared"' ||
	cat "$KB_STATE/c-declared"
check "the default replication factor is min(3, brokers): Kafka has lagged with 2 partitions of 3 replicas" \
	eventually 30 '[ "$(shape lagged)" = 2/3 ]'

# ---- a config change reaches the broker; a key set outside stays -------------
tool "$KBIN/kafka-configs.sh" --bootstrap-server "$EXT" --alter --entity-type topics --entity-name declared \
	--add-config min.cleanable.dirty.ratio=0.4 >/dev/null || give_up "set a config outside streamplane"
sp PATCH "$(tp declared)" '{"config":{"retention.ms":"3600000","max.message.bytes":null,"segment.ms":"600000"}}' \
	>/dev/null || give_up "PATCH the topic's config"
check "the changed topic is READY again at its new generation" wait_topic declared 180
configs declared >"$KB_STATE/c-declared"
check_sh "DescribeConfigs: retention.ms=3600000 and segment.ms=600000, max.message.bytes no longer set" \
	'grep -q "retention.ms=3600000" "$KB_STATE/c-declared" && grep -q "segment.ms=600000" "$KB_STATE/c-declared" &&
	 ! grep -q "max.message.bytes" "$KB_STATE/c-declared"' || cat "$KB_STATE/c-declared"
check "...and the key set outside streamplane is still there (read, merge, write)" \
	grep -q "min.cleanable.dirty.ratio=0.4" "$KB_STATE/c-declared"

# ---- partitions grow; never shrink -------------------------------------------
sp PATCH "$(tp declared)" '{"partitions":5}' >/dev/null || give_up "PATCH partitions 3 -> 5"
check "the grown topic is READY again" wait_topic declared 180
check "Kafka has 5 partitions (metadata)" eventually 30 '[ "$(shape declared)" = 5/3 ]'
check "fewer partitions answer 422" [ "$(curl -s -o /dev/null -w '%{http_code}' -X PATCH "$API$(tp declared)" \
	-H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -d '{"partitions":4}')" = 422 ]

# ---- topics made outside the API: listed as unmanaged, never touched -------
tool "$KBIN/kafka-topics.sh" --bootstrap-server "$EXT" --create --if-not-exists --topic outside --partitions 1 \
	--replication-factor 1 >/dev/null || give_up "create a topic outside streamplane"
sp GET "$(tp)?timeout_ms=5000" >"$KB_STATE/list" || give_up "GET the topic list"
check_sh "the list shows the declared topics as items and 'outside' as unmanaged (read live)" \
	'[ "$(jq -c "[.items[].name] | sort" "$KB_STATE/list")" = "[\"declared\",\"lagged\"]" ] &&
	 [ "$(jq -r .unmanaged_source "$KB_STATE/list")" = live ] &&
	 jq -e ".unmanaged[] | select(.name == \"outside\" and .partitions == 1)" "$KB_STATE/list" >/dev/null' ||
	cat "$KB_STATE/list"

# ---- lag: produced minus committed, for a consumer this test runs ----------
produce() { # PARTITION COUNT FIRST: numbered messages into one partition of lagged
	seq "$3" $(($3 + $2 - 1)) | sed 's/^/m-/' | kcat -P -b "$EXT" -t lagged -p "$1" -X acks=all 2>>"$KB_STATE/lag.err"
}
produce 0 60 1 && produce 1 40 61 || give_up "produce 100 messages to lagged"
# a librdkafka consumer in group billing reads to the end of both partitions
# and commits as it leaves; then 30 more arrive (20 and 10) that it has not read
kcat -C -b "$EXT" -G billing lagged -e -q -X auto.offset.reset=earliest >"$KB_STATE/lag-read" 2>/dev/null
check "the consumer read all 100" [ "$(wc -l <"$KB_STATE/lag-read")" = 100 ]
produce 0 20 101 && produce 1 10 121 || give_up "produce 30 more"
g=$(sp GET "/v1/clusters/$C/consumer-groups/billing?timeout_ms=5000") || give_up "GET the consumer group"
echo "$g" | jq -c '{state, total_lag, partitions}'
check_sh "the group's log-end offsets are the 80 and 50 produced, its committed offsets the 60 and 40 read" \
	'[ "$(jq -c "[.partitions[] | [.partition, .log_end_offset, .committed_offset]]" <<<"$g")" = "[[0,80,60],[1,50,40]]" ]'
check_sh "lag reported = produced - committed: 20 and 10, 30 in all" \
	'[ "$(jq -c "[.partitions[].lag]" <<<"$g")" = "[20,10]" ] && [ "$(jq .total_lag <<<"$g")" = 30 ]'
tool "$KBIN/kafka-consumer-groups.sh" --bootstrap-server "$EXT" --describe --group billing --timeout 60000 >"$KB_STATE/cg"
check "kafka-consumer-groups.sh agrees (its LAG column adds up to 30)" \
	[ "$(awk '$2 == "lagged" {s += $6} END {print s}' "$KB_STATE/cg")" = 30 ] || cat "$KB_STATE/cg"
check_sh "the group is listed, Empty once its consumer left" \
	'sp GET "/v1/clusters/$C/consumer-groups?timeout_ms=5000" |
	 jq -e ".items[] | select(.group_id == \"billing\" and .state == \"Empty\")" >/dev/null'
check "an unknown group answers 404" [ "$(sp_code "/v1/clusters/$C/consumer-groups/nobody?timeout_ms=5000")" = 404 ]

# ---- delete; a name deleted and declared again; unmanaged topics stay -------
sp DELETE "$(tp declared)" >/dev/null || give_up "DELETE the topic"
# declared again at once (a Terraform replacement): the name is free while the
# old one is being deleted, and the workers delete before they create
sp POST "$(tp)" '{"name":"declared","partitions":2}' >/dev/null || give_up "declare 'declared' again"
check "the topic declared again is READY" wait_topic declared 180
check "Kafka has a new topic of that name: 2 partitions (created anew, not the old one kept)" \
	eventually 30 '[ "$(shape declared)" = 2/3 ]'
sp DELETE "$(tp lagged)" >/dev/null || give_up "DELETE lagged"
end=$((SECONDS + 120))
until [ "$(sp_code "$(tp lagged)")" = 404 ] || [ $SECONDS -ge $end ]; do sleep 1; done
check "a deleted topic answers 404 once Kafka no longer has it" [ "$(sp_code "$(tp lagged)")" = 404 ]
listed() { kcat -L -J -b "$EXT" 2>/dev/null | jq -r '.topics[].topic' >"$KB_STATE/topics"; }
check_sh "Kafka no longer lists it; 'outside' (unmanaged) is still there" \
	'eventually 30 "listed && ! grep -qx lagged \"\$KB_STATE/topics\"" && grep -qx outside "$KB_STATE/topics"' ||
	cat "$KB_STATE/topics"
