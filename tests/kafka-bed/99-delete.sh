#!/usr/bin/env bash
# Last: every cluster the scenarios made is deleted through the API; the
# deletion finishes (GET answers 404, the namespace is gone) and no process
# of any of them is left (none in any of its pods' network namespaces).
. "$(dirname "$0")/lib.sh"
for f in "$KB_STATE"/clusters/*; do
	[ -f "$f" ] || continue
	c=$(cat "$f") name=$(basename "$f")
	nets=$(pod_nets "sp-$c")
	jvms=$(cluster_jvms "sp-$c" | wc -l)
	sp DELETE "/v1/clusters/$c" >/dev/null || { bad "DELETE the $name cluster"; continue; }
	check "deleting the $name cluster finishes (GET answers 404)" wait_gone "$c" 300
	check "...its namespace is gone" [ "$(kapi_code "/api/v1/namespaces/sp-$c")" = 404 ]
	end=$((SECONDS + 120))
	until [ -z "$(procs_in_nets "$nets")" ] || [ $SECONDS -ge $end ]; do sleep 1; done
	check_sh "...and none of its processes is left (it had $jvms JVMs in $(wc -l <<<"$nets") pods)" \
		'[ "$jvms" -gt 0 ] && [ -z "$(procs_in_nets "$nets")" ]' && rm -f "$f"
done
