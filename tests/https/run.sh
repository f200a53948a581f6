#!/usr/bin/env bash
# HTTPS (--tls-cert/--tls-key, libmicrohttpd's TLS) with curl, and the rule
# that plain HTTP beyond loopback needs --insecure-http (with a warning).
# usage: tests/https/run.sh BIN      prints "N passed, M failed"
set -uo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-build/streamplane}
passed=0; failed=0
check() { if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "ok   $1"; else failed=$((failed + 1)); echo "FAIL $1"; fi; }
. tests/clients/server.sh
W=$(mktemp -d)
trap 'sp_stop; rm -rf "$W"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$W/key.pem" -out "$W/cert.pem" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=other \
  -keyout /dev/null -out "$W/other.pem" 2>/dev/null

sp_start "$BIN" --tls-cert "$W/cert.pem" --tls-key "$W/key.pem" --workers 1
check "the server starts with --tls-cert/--tls-key" $?
[ "$(curl -s --cacert "$W/cert.pem" "$SP_URL/healthz" -o /dev/null -w '%{http_code}')" = 200 ]
check "curl over HTTPS, verifying the certificate: 200" $?
sp_tenant tls-team
[ "$(curl -s --cacert "$W/cert.pem" -H "Authorization: Bearer $SP_KEY" "$SP_URL/v1/usage" -o /dev/null -w '%{http_code}')" = 200 ]
check "a tenant key works over HTTPS" $?
! curl -s --cacert "$W/other.pem" "$SP_URL/healthz" -o /dev/null
check "a client trusting another certificate refuses the connection" $?
! curl -s "http://127.0.0.1:$SP_PORT/healthz" -o /dev/null -m 5
check "plain HTTP to the HTTPS port gets no answer" $?
sp_stop

out=$("$BIN" serve --listen 0.0.0.0:0 --data-dir "$W/d1" --log-format text 2>&1); rc=$?
[ $rc -ne 0 ] && grep -q 'refusing plain HTTP on 0.0.0.0:0' <<<"$out"
check "plain HTTP on a non-loopback address is refused (exit $rc) without --insecure-http" $?
"$BIN" serve --listen 0.0.0.0:0 --data-dir "$W/d2" --log-format text --insecure-http 2>"$W/insecure.log" &
pid=$!
for _ in $(seq 100); do grep -q listening "$W/insecure.log" && break; sleep 0.05; done
kill $pid; wait $pid 2>/dev/null
grep -q 'warn  serving plain HTTP on 0.0.0.0:0 (--insecure-http)' "$W/insecure.log" && grep -q listening "$W/insecure.log"
check "with --insecure-http it serves and logs a warning" $?
out=$("$BIN" serve --tls-cert "$W/cert.pem" --data-dir "$W/d3" 2>&1); rc=$?
[ $rc -eq 2 ] && grep -q 'go together' <<<"$out"
check "--tls-cert without --tls-key is a usage error" $?
out=$("$BIN" serve --listen 127.0.0.1:0 --tls-cert "$W/nope.pem" --tls-key "$W/key.pem" --data-dir "$W/d4" 2>&1); rc=$?
[ $rc -ne 0 ] && grep -q "cannot read $W/nope.pem" <<<"$out"
check "a missing certificate file stops the start with its name" $?

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
