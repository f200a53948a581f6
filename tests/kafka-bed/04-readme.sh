#!/usr/bin/env bash
# kafka-bed: alongside (a streamplane and a cluster of its own)
# The README's bed block (the first ```sh block after "## The bed"), run as
# written against the suite's bed: a 1-broker cluster created through the
# API on the runner's nodes, a message produced and consumed through its
# external bootstrap servers with kcat. The only changes: the bed is the
# suite's (no `scripts/bed up/down`), streamplane is this build on a free
# port with a temporary data directory (for `make run &`).
. "$(dirname "$0")/lib.sh"
tmp=$KB_STATE/readme
mkdir -p "$tmp"
port=$(free_port)
awk '/^## The bed/{f=1} f&&/^```sh/{b=1;next} b&&/^```/{exit} b' README.md |
	sed -e '/scripts\/bed up \/tmp\/bed/d' -e '/scripts\/bed down \/tmp\/bed/d' \
		-e "s#^make run &.*#'$BIN' serve --listen 127.0.0.1:$port --data-dir '$tmp/data' --health-seconds 2 --log-format text 2>'$tmp/server.log' \\& echo \$! >'$tmp/pid'; for _ in \$(seq 300); do curl -sf http://127.0.0.1:$port/healthz >/dev/null \&\& break; sleep 0.1; done#" \
		-e "s#/tmp/bed#$BED_DIR#g" -e "s#127.0.0.1:8080#127.0.0.1:$port#g" -e "s#data/admin-token#$tmp/data/admin-token#g" \
	>"$tmp/walk.sh"
grep -q "serve --listen 127.0.0.1:$port" "$tmp/walk.sh" && grep -q kcat "$tmp/walk.sh" ||
	give_up "README.md has the bed block (make run &, kcat)"
(cd "$tmp" && timeout 900 bash -e -o pipefail walk.sh >out.txt 2>&1)
rc=$?
cat "$tmp/out.txt"
check_sh "the README's bed block runs as written (exit $rc)" '[ $rc = 0 ]'
check "...its cluster's two pods ran on the runner's nodes" \
	[ "$(grep -cE '^kafka-(broker|controller)-0 Running bed-r[0-9]$' "$tmp/out.txt")" = 2 ]
check "...and kcat read back through the external bootstrap servers what it produced" \
	grep -qE '^hello from kc-[a-z0-9]+$' "$tmp/out.txt"
check "...and the cluster is being deleted" grep -qx DELETING "$tmp/out.txt"
# what it started goes: its cluster (asked by the operator), then its server
admin() { curl -sf "http://127.0.0.1:$port$1" -H "Authorization: Bearer $(cat "$tmp/data/admin-token")"; }
for id in $(admin /v1/clusters | jq -r '.items[] | select(.status.phase != "DELETING") | .id'); do
	curl -sf -X DELETE "http://127.0.0.1:$port/v1/clusters/$id" -H "Authorization: Bearer $(cat "$tmp/data/admin-token")" >/dev/null
done
end=$((SECONDS + 300))
until [ "$(admin /v1/clusters | jq '.items | length')" = 0 ] || [ $SECONDS -ge $end ]; do sleep 2; done
check "...and the deletion finishes" [ "$(admin /v1/clusters | jq '.items | length')" = 0 ]
kill "$(cat "$tmp/pid")" 2>/dev/null
