#!/usr/bin/env bash
# kafka-bed: alongside (a streamplane and a cluster of its own)
# kafka_access: in_cluster_dns, as in production: streamplane runs as a pod
# on the bed (a runner node: its own network namespace, /etc/hosts with the
# cluster's *.svc.cluster.local names, the ServiceAccount of deploy/rbac.yaml
# mounted by the API server's admission as for any pod), reaches the API
# server in-cluster, and reads Kafka's health at the in-cluster bootstrap
# name. The test reaches it as a user would, through a LoadBalancer Service.
# Its cluster is the other shape (single_zone, one broker) on the other
# major version (Kafka 4.1: Debian's librdkafka 2.0.2 reads its metadata).
#
# BED DIFFERENCE (written here, in the test's own Pod): no streamplane image
# exists, so the pod runs the build's binary from a hostPath volume on the
# Debian image (the runner's images are the host's root file system). Plain
# HTTP (--insecure-http): the pod network and the load balancer's address
# exist only on this machine's loopback and namespaces.
. "$(dirname "$0")/lib.sh"
POD=sp-in-cluster
gone() { kapi DELETE "/api/v1/namespaces/streamplane/$1" >/dev/null 2>&1; }
trap 'gone pods/$POD; gone services/$POD' EXIT
IADMIN=in-cluster-admin-token-0123456789
kapi POST /api/v1/namespaces/streamplane/pods "$(jq -n --arg pod "$POD" --arg bin "$(dirname "$BIN")" \
	--arg tok "$IADMIN" '{apiVersion:"v1", kind:"Pod", metadata:{name:$pod, labels:{app:$pod}},
	spec:{serviceAccountName:"streamplane", nodeSelector:{"bed.streamplane.dev/manager":"runner"},
	  securityContext:{runAsUser:1000, runAsGroup:1000, runAsNonRoot:true},
	  containers:[{name:"streamplane", image:"debian:bookworm-slim",
	    command:["/opt/streamplane/streamplane", "serve", "--listen", "0.0.0.0:8080", "--data-dir", "/var/lib/streamplane",
	             "--health-seconds", "2", "--resync-seconds", "5", "--log-format", "text", "--insecure-http"],
	    env:[{name:"STREAMPLANE_ADMIN_TOKEN", value:$tok}],
	    ports:[{name:"http", containerPort:8080}],
	    readinessProbe:{httpGet:{path:"/readyz", port:"http"}, periodSeconds:2},
	    volumeMounts:[{name:"bin", mountPath:"/opt/streamplane", readOnly:true}, {name:"data", mountPath:"/var/lib/streamplane"}]}],
	  volumes:[{name:"bin", hostPath:{path:$bin, type:"Directory"}}, {name:"data", emptyDir:{}}]}}')" \
	>/dev/null || give_up "a Pod running streamplane on a runner node"
kapi POST /api/v1/namespaces/streamplane/services "$(jq -n --arg pod "$POD" '{apiVersion:"v1", kind:"Service",
	metadata:{name:$pod}, spec:{type:"LoadBalancer", selector:{app:$pod},
	ports:[{name:"http", port:8080, targetPort:"http"}]}}')" >/dev/null || give_up "its LoadBalancer Service"
end=$((SECONDS + 180)) IAPI=
while [ $SECONDS -lt $end ]; do
	ip=$(kapi GET "/api/v1/namespaces/streamplane/services/$POD" | jq -r '.status.loadBalancer.ingress[0].ip // empty')
	[ -n "$ip" ] && curl -sf "http://$ip:8080/readyz" >/dev/null && { IAPI=http://$ip:8080; break; }
	sleep 1
done
check "streamplane runs as a pod on the bed, reached through its LoadBalancer Service" [ -n "$IAPI" ] ||
	{ tail -20 "$(pod_dir streamplane "$POD")/streamplane.log"; exit 1; }
# the same helpers, against the in-cluster streamplane
API=$IAPI ADMIN=$IADMIN
plane=$(jq -n --arg z "$BED_RUNNER_ZONES" '{name:"here", region:"local", zones:($z | split(",")),
	capacity:{max_brokers:6}, kubernetes:{in_cluster:true}, kafka_access:"in_cluster_dns"}')
sp_admin POST /v1/data-planes "$plane" >"$KB_STATE/plane.json"
check "it registers the cluster it runs in (kubernetes: in_cluster, kafka_access: in_cluster_dns)" \
	[ "$(jq -r .kafka_access "$KB_STATE/plane.json")" = in_cluster_dns ] || exit 1
T2=$(sp_admin POST /v1/tenants '{"name":"inside"}' | jq -r .id)
KEY=$(sp_admin POST "/v1/tenants/$T2/api-keys" '{"name":"t"}' | jq -r .secret)
t0=$SECONDS
C2=$(sp POST /v1/clusters '{"name":"dev","kafka_version":"4.1","brokers":1,"storage_gib":10,
	"availability":"single_zone"}' | jq -r .id)
if wait_phase "$C2" RUNNING 600; then
	ok "a 1-broker Kafka 4.1 cluster is RUNNING: its metadata read at its in-cluster name ($((SECONDS - t0)) s)"
else
	sp GET "/v1/clusters/$C2" | jq .status; give_up "the in-cluster streamplane's cluster RUNNING"
fi
sp GET "/v1/clusters/$C2/health" >"$KB_STATE/health.json"
check_sh "the live health reading (GET .../health) went to kafka-bootstrap.sp-$C2.svc.cluster.local:9092 and found broker 0" \
	'jq -e --arg b "kafka-bootstrap.sp-$C2.svc.cluster.local:9092" \
		".source == \"live\" and .bootstrap == \$b and .reachable == true and .broker_ids == [0]" \
		"$KB_STATE/health.json" >/dev/null' || cat "$KB_STATE/health.json"
jp=$(cluster_jvms "sp-$C2" | awk '$2 == "kafka-broker-0" {print $1}')
[ -n "$jp" ] && kill -9 "$jp"
check "the broker killed: DEGRADED, read from inside the cluster" wait_phase "$C2" DEGRADED 120
check "...and RUNNING again once the runner has restarted it" wait_phase "$C2" RUNNING 300
nets=$(pod_nets "sp-$C2")
sp DELETE "/v1/clusters/$C2" >/dev/null
check "deleting it through the in-cluster streamplane finishes (404)" wait_gone "$C2" 300
end=$((SECONDS + 120))
until [ -z "$(procs_in_nets "$nets")" ] || [ $SECONDS -ge $end ]; do sleep 1; done
check "...and none of its processes is left" [ -z "$(procs_in_nets "$nets")" ]
