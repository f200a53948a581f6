#!/usr/bin/env bash
# A broker's JVM killed with SIGKILL under a producer (acks=all): the
# cluster turns DEGRADED, the runner restarts the container (the API server
# shows the restart and exit code 137), the broker recovers its logs from
# the volume that outlived the process, rejoins the ISR, the cluster is
# RUNNING again, and every acknowledged message is still there.
. "$(dirname "$0")/lib.sh"
shared_cluster
"$KBIN/kafka-topics.sh" --bootstrap-server "$EXT" --create --topic killed --partitions 3 --replication-factor 3 \
	>/dev/null 2>&1 || give_up "create topic killed"
producer_start "$EXT" killed
end=$((SECONDS + 180))
until [ "$(acked_count killed)" -ge 20 ] || [ $SECONDS -ge $end ]; do sleep 1; done
check "the background producer (acks=all) is acknowledged before the kill" [ "$(acked_count killed)" -ge 20 ] ||
	tail -5 "$KB_STATE/producer-killed.err"
before=$(acked_count killed)

jp=$(cluster_jvms "$NS" | awk '$2 == "kafka-broker-1" {print $1}')
[ -n "$jp" ] || give_up "broker-1's JVM is running"
kill -9 "$jp"
check "the killed broker turns the cluster DEGRADED" wait_phase "$C" DEGRADED 120
check "...and RUNNING again once the runner has restarted it" wait_phase "$C" RUNNING 300
cs=$(kapi GET "/api/v1/namespaces/$NS/pods/kafka-broker-1" | jq -c '.status.containerStatuses[0]')
check_sh "the API server shows broker-1's restart (restartCount 1, last exit 137)" \
	'[ "$(jq .restartCount <<<"$cs")" = 1 ] && [ "$(jq .lastState.terminated.exitCode <<<"$cs")" = 137 ]'
end=$((SECONDS + 240))
until full_isr "$EXT" killed 3 || [ $SECONDS -ge $end ]; do sleep 2; done
check "broker-1 is back in the ISR of every partition" full_isr "$EXT" killed 3
# the producer goes on after the restart
end=$((SECONDS + 120))
until [ "$(acked_count killed)" -ge $((before + 40)) ] || [ $SECONDS -ge $end ]; do sleep 1; done
producer_stop killed
n=$(acked_count killed)
check "the producer kept being acknowledged through the kill ($before before it, $n in all)" [ "$n" -ge $((before + 40)) ]
check "every acknowledged message survived (a librdkafka consumer reads all $n)" verify_acked "$EXT" killed
