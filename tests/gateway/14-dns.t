#!/usr/bin/env bash
# Backends named by host name: an API whose endpoint is http://localhost:PORT is proxied (the
# name resolved without blocking the worker, core/http_client.c), and one whose endpoint
# name resolves to nothing gets a JSON 502/503/504 within the connect timeout while, on the
# same single worker, the first API keeps answering at once.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/gw.sh"
. "$GH_ROOT/tests/gateway/gwp.sh"
trap gw_teardown EXIT
gw_setup g14 || { echo "0 passed, 1 failed"; exit 1; }
NAMED=${BE_PROD_URL/127.0.0.1/localhost}
PORT=${BE_PROD_URL##*:}
API=$(gwp_api Named /named 1.0 Internal "{\"endpoint_type\":\"http\",\"production_endpoints\":{\"url\":\"$NAMED\"}}")
check_match "an API whose backend is $NAMED" '^[0-9a-f-]{36}$' "$API"
API2=$(gwp_api Nowhere /nowhere 1.0 Internal "{\"endpoint_type\":\"http\",\"production_endpoints\":{\"url\":\"http://backend.gh-test.invalid:$PORT\"}}")
check_match "an API whose backend name resolves to nothing" '^[0-9a-f-]{36}$' "$API2"
gw_app DnsApp "$API" Gold || echo "FAIL: application"
TOK1=$TOKEN
gw_app DnsApp2 "$API2" Gold || echo "FAIL: application 2"
TOK2=$TOKEN
gw_start gw-internal "workers = 1" "upstream_connect_timeout = 1500ms" "upstream_timeout = 3s" ||
	{ echo "0 passed, 1 failed"; exit 1; }
B0=$(wc -l <"$BE_PROD_LOG")
check_eq "the localhost backend answers through the gateway" 200 \
	"$(gwi -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOK1" "$GWI_HTTP_URL/named/1.0/a")"
check_eq "and received the request" 1 $(( $(wc -l <"$BE_PROD_LOG") - B0 ))

# The unresolvable one in the background; the named one meanwhile, on the same worker.
T0=$(date +%s%3N)
( gwi -o "$GH_TMP/nowhere.body" -w '%{http_code}' -H "Authorization: Bearer $TOK2" \
	"$GWI_HTTP_URL/nowhere/1.0/a" >"$GH_TMP/nowhere.code"; date +%s%3N >"$GH_TMP/nowhere.t" ) &
BG=$!
codes="" slow=0
for i in 1 2 3 4 5 6 7 8; do
	t=$(date +%s%3N)
	codes="$codes $(gwi -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOK1" "$GWI_HTTP_URL/named/1.0/b$i")"
	[ $(( $(date +%s%3N) - t )) -lt 500 ] || slow=$((slow + 1))
done
check_eq "meanwhile the localhost API keeps answering" " 200 200 200 200 200 200 200 200" "$codes"
check_eq "each within 0.5 s" 0 "$slow"
wait "$BG"
check_match "the unresolvable backend: 502, 503 or 504" '^50[234]$' "$(cat "$GH_TMP/nowhere.code")"
check_match "with a JSON error body" '^\{"code":[0-9]+,"message":' "$(cat "$GH_TMP/nowhere.body")"
check_match "within the connect timeout (1.5 s, not a blocked resolver)" '^([0-9]{1,3}|1[0-9]{3}|2[0-4][0-9]{2})$' \
	"$(( $(cat "$GH_TMP/nowhere.t") - T0 ))"
check_eq "the worker still serves afterwards" 200 \
	"$(gwi -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOK1" "$GWI_HTTP_URL/named/1.0/c")"
check_done
