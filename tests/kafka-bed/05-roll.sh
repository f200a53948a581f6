#!/usr/bin/env bash
# The rolling restart engine on real Kafka (issue 13). A dynamic broker
# config goes in live: no pod restarts and the brokers report the new value.
# Then a roll (POST /v1/clusters/{id}/restart) under an acks=all producer on
# a topic with replication factor 3 and min.insync.replicas=2: every pod
# restarts exactly once (each pod's uid changes once, and the step that
# restarted it names the uid it has at the end), controllers first with the
# active one last, then brokers; no acknowledged message is lost.
# bench/roll sets KB_ROLL_BROKERS: a cluster of its own with that many brokers.
. "$(dirname "$0")/lib.sh"
NB=${KB_ROLL_BROKERS:-3}
if [ "$NB" = 3 ]; then
	shared_cluster
else
	C=$(cluster_create rollbench '{"name":"rollbench","kafka_version":"'"$KB_KAFKA"'","brokers":'"$NB"',"storage_gib":10,
		"external_access":{"type":"loadbalancer"},"config":'"$SHARED_CONFIG"'}') || give_up "POST a $NB-broker cluster"
	wait_phase "$C" RUNNING 900 || give_up "the $NB-broker cluster is RUNNING (it is $(phase "$C"))"
	NS=sp-$C
	EXT=$(bootstrap "$C")
	KBIN=$(kafka_bin "$(sp GET "/v1/clusters/$C" | jq -r .status.kafka_version)")
fi
PODS=$((NB + 3))
TOPIC=rolled
"$KBIN/kafka-topics.sh" --bootstrap-server "$EXT" --create --topic $TOPIC --partitions 3 --replication-factor 3 \
	--config min.insync.replicas=2 >/dev/null 2>&1 || give_up "create topic $TOPIC"

uids() { # "pod uid" of the cluster's Kafka pods, sorted
	kapi GET "/api/v1/namespaces/$NS/pods?labelSelector=app.kubernetes.io%2Fname%3Dkafka" |
		jq -r '.items[] | "\(.metadata.name) \(.metadata.uid)"' | sort
}
op_end() { # OPERATION-ID SECONDS: prints its state once it ended (TIMEOUT otherwise)
	local end=$((SECONDS + $2)) st
	while [ $SECONDS -lt $end ]; do
		st=$(sp GET "/v1/operations/$1" | jq -r .state)
		case $st in SUCCEEDED | FAILED | CANCELLED) echo "$st"; return 0 ;; esac
		sleep 2
	done
	echo TIMEOUT
}
before=$(uids)
[ "$(wc -l <<<"$before")" = $PODS ] || give_up "the cluster has $PODS Kafka pods ($(wc -l <<<"$before"))"

# ---- a dynamic config: live, nothing restarts --------------------------------
op=$(sp PATCH "/v1/clusters/$C" '{"config":{"log.retention.ms":"7200000"}}' | jq -r .status.current_operation_id)
[ -n "$op" ] && [ "$op" != null ] || give_up "PATCH config answers an operation"
st=$(op_end "$op" 300)
check "the dynamic config change SUCCEEDED ($st)" [ "$st" = SUCCEEDED ]
path=$(sp GET "/v1/operations/$op" | jq -r .path)
check_sh "its path says it went in live ($path)" '[[ $path == *"applied live"* && $path == *"no pod restarts"* ]]'
check_sh "no pod restarted (every uid as before)" '[ "$(uids)" = "$before" ]'
check_sh "broker 0 reports log.retention.ms=7200000" \
	'"$KBIN/kafka-configs.sh" --bootstrap-server "$EXT" --describe --entity-type brokers --entity-name 0 2>/dev/null |
	 grep -q "log.retention.ms=7200000"'

# ---- a roll under an acks=all producer ---------------------------------------
producer_start "$EXT" $TOPIC
end=$((SECONDS + 180))
until [ "$(acked_count $TOPIC)" -ge 20 ] || [ $SECONDS -ge $end ]; do sleep 1; done
check "the producer (acks=all) is acknowledged before the roll" [ "$(acked_count $TOPIC)" -ge 20 ] ||
	tail -5 "$KB_STATE/producer-$TOPIC.err"
acked0=$(acked_count $TOPIC)
t0=$SECONDS
op=$(sp POST "/v1/clusters/$C/restart" | jq -r .status.current_operation_id)
[ -n "$op" ] && [ "$op" != null ] || give_up "POST /restart answers an operation"
st=$(op_end "$op" 1500)
roll_s=$((SECONDS - t0))
O=$(sp GET "/v1/operations/$op")
check "the roll SUCCEEDED ($st after $roll_s s)" [ "$st" = SUCCEEDED ] || jq -c '.steps[-1], .error' <<<"$O"
after=$(uids)
changed=$(join <(echo "$before") <(echo "$after") | awk '$2 != $3' | wc -l)
check "every one of the $PODS pods has a new uid ($changed changed)" [ "$changed" = $PODS ]
# each restart step names the uid its pod has now: no pod restarted after its step
once=0
while read -r pod uid; do
	jq -e --arg p "restart $pod" --arg u "$uid" \
		'.steps[] | select(.name == $p and .state == "SUCCEEDED" and (.message | contains($u)))' <<<"$O" >/dev/null &&
		once=$((once + 1))
done <<<"$after"
check "each pod restarted exactly once: its step names the uid it has now ($once of $PODS)" [ "$once" = $PODS ]
order=$(jq -r '[.steps[] | select(.name | startswith("restart ")) | .name[8:]] | join(" ")' <<<"$O")
brokers=$(seq 0 $((NB - 1)) | sed 's/^/kafka-broker-/' | tr '\n' ' ' | sed 's/ $//')
check_sh "controllers first, then brokers in order ($order)" \
	'[[ $order == kafka-controller-?" "kafka-controller-?" "kafka-controller-?" $brokers" ]]'
found=$(jq -r '.steps[] | select(.name == "find the active controller") | .message' <<<"$O")
leader=$(sed -n 's/.*active controller is node \([0-9]*\).*/\1/p' <<<"$found")
if [ -n "$leader" ]; then
	check_sh "the active controller (node $leader, from the quorum) restarted last of the controllers" \
		'[ "$(cut -d" " -f3 <<<"$order")" = "kafka-controller-$((leader - 1000))" ]'
else
	ok "the quorum could not be read here, and the step says so: $found"
fi
# the restart times, for bench/roll's comparison
jq -r '.steps[] | select(.name | startswith("restart ")) | "\(.name[8:]) \(.started_at) \(.finished_at)"' <<<"$O" |
	while read -r pod a b; do echo "$pod $(($(date -d "$b" +%s) - $(date -d "$a" +%s)))"; done >"$KB_STATE/roll-steps"
sum=$(awk '{s += $2} END {print s}' "$KB_STATE/roll-steps")
figure "roll of 3 controllers + $NB brokers on the bed: $roll_s s, against $sum s for its $PODS pod restarts one after another; per pod (s): $(tr '\n' ' ' <"$KB_STATE/roll-steps")"
end=$((SECONDS + 120))
until [ "$(acked_count $TOPIC)" -ge $((acked0 + 40)) ] || [ $SECONDS -ge $end ]; do sleep 1; done
producer_stop $TOPIC
n=$(acked_count $TOPIC)
errs=$(jq -r 'select(.name == "producer_send_error") | .value' "$KB_STATE/producer-$TOPIC.out" 2>/dev/null | wc -l)
gap=$(jq -r 'select(.name == "producer_send_success") | .timestamp' "$KB_STATE/producer-$TOPIC.out" 2>/dev/null |
	sort -n | awk 'NR > 1 && $1 - p > g {g = $1 - p} {p = $1} END {print g + 0}')
figure "producer (acks=all, ~20/s) during the roll: $n acknowledged in all, $errs send errors, longest pause between two acknowledgements $gap ms"
check "the producer kept being acknowledged through the roll ($acked0 before it, $n in all)" [ "$n" -ge $((acked0 + 40)) ]
check "every acknowledged message survived (a librdkafka consumer reads all $n)" verify_acked "$EXT" $TOPIC
check "the cluster is RUNNING after the roll" wait_phase "$C" RUNNING 120
