#!/usr/bin/env bash
# Throttling end to end on gw-internal with time-scaled policies: an API policy of 10
# requests per 2 s lets 10 through and refuses the 11th with 429 (900800), Retry-After and
# X-RateLimit-*, counts nothing for refusals, and lets requests in again once Retry-After
# has passed; a subscription tier of 5 per 2 s the same at its level; deny policies (IP via a
# trusted proxy's X-Forwarded-For, USER, APPLICATION, API) refuse with 403 (900805) within
# a few seconds of their creation and stop when deleted.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/gw.sh"
. "$GH_ROOT/tests/gateway/gwp.sh"
trap gw_teardown EXIT
gw_setup g45 || { echo "0 passed, 1 failed"; exit 1; }
A=$PUB_URL/api/am/admin/v4
J='Content-Type: application/json'
pcall "$ADM" -X POST -H "$J" -d '{"policyName":"Ten2s","defaultLimit":{"type":"REQUESTCOUNTLIMIT","requestCount":{"timeUnit":"sec","unitTime":2,"requestCount":10}}}' "$A/throttling/policies/advanced"
check_eq "an advanced policy of 10 per 2 s" 201 "$CODE"
pcall "$ADM" -X POST -H "$J" -d '{"policyName":"Five2s","defaultLimit":{"type":"REQUESTCOUNTLIMIT","requestCount":{"timeUnit":"sec","unitTime":2,"requestCount":5}},"stopOnQuotaReach":true}' "$A/throttling/policies/subscription"
check_eq "a subscription policy of 5 per 2 s" 201 "$CODE"
EC="{\"endpoint_type\":\"http\",\"production_endpoints\":{\"url\":\"$BE_PROD_URL\"},\"sandbox_endpoints\":{\"url\":\"$BE_SAND_URL\"}}"
API1=$(gwp_api Thr /thr 1.0 Internal "$EC" '"apiThrottlingPolicy":"Ten2s"')
check_match "an API under Ten2s" '^[0-9a-f-]{36}$' "$API1"
API2=$(GWP_TIERS='"Five2s","Unlimited"' gwp_api Thr2 /thr2 1.0 Internal "$EC")
check_match "an API offering Five2s" '^[0-9a-f-]{36}$' "$API2"
gw_app ThrApp "$API1" Unlimited || echo "FAIL: application 1"
T1=$TOKEN
gw_app ThrApp2 "$API2" Five2s || echo "FAIL: application 2"
T2=$TOKEN
gw_start gw-internal "trusted_proxies = 127.0.0.1" || { echo "0 passed, 1 failed"; exit 1; }
U=$GWI_HTTP_URL

burst() {	# TOKEN URL N: the status codes of N quick requests
	local out=""
	for _ in $(seq 1 "$3"); do out="$out $(gwi -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" "$2")"; done
	printf '%s\n' "$out"
}
B0=$(wc -l <"$BE_PROD_LOG")
check_eq "API policy: 10 pass, the 11th and 12th are refused" \
	" 200 200 200 200 200 200 200 200 200 200 429 429" "$(burst "$T1" "$U/thr/1.0/a" 12)"
check_eq "the backend got exactly 10" 10 $(( $(wc -l <"$BE_PROD_LOG") - B0 ))
H=$(gwi -D - -o "$GH_TMP/429" -H "Authorization: Bearer $T1" "$U/thr/1.0/a" | tr -d '\r')
check_match "429" '^HTTP/1.1 429' "$H"
check_match "Retry-After" '^Retry-After: [1-4]$' "$(printf '%s\n' "$H" | grep -i '^retry-after')"
check_eq "X-RateLimit-Limit and Remaining" "X-RateLimit-Limit: 10 X-RateLimit-Remaining: 0" \
	"$(printf '%s\n' "$H" | grep -i '^x-ratelimit-limit') $(printf '%s\n' "$H" | grep -i '^x-ratelimit-remaining')"
check_match "X-RateLimit-Reset" '^X-RateLimit-Reset: [0-9]+$' "$(printf '%s\n' "$H" | grep -i '^x-ratelimit-reset')"
check_match "code 900800 naming the level" '"code":900800,"message":"Message throttled out".*api level' "$(cat "$GH_TMP/429")"
RA=$(printf '%s\n' "$H" | sed -n 's/^Retry-After: //p')
sleep "${RA:-2}"; sleep 0.2
H=$(gwi -D - -o /dev/null -H "Authorization: Bearer $T1" "$U/thr/1.0/a" | tr -d '\r')
check_match "after Retry-After a request passes" '^HTTP/1.1 200' "$H"
check_match "with X-RateLimit-Remaining" '^X-RateLimit-Remaining: [0-9]+$' "$(printf '%s\n' "$H" | grep -i '^x-ratelimit-remaining')"
check_match "the refused requests did not count" 'gatehouse_gw_throttled_total [3-9]' "$(curl -s "$GWI_MGMT/metrics")"

check_eq "subscription tier Five2s: 5 pass" " 200 200 200 200 200 429" "$(burst "$T2" "$U/thr2/1.0/b" 6)"
check_match "refused at the subscription level" 'subscription level' \
	"$(gwi -H "Authorization: Bearer $T2" "$U/thr2/1.0/b")"

# Deny policies (on API2; one at a time, each deleted after).
D=$A/throttling/deny-policies
deny_case() {	# LABEL BODY CURL-EXTRA...
	local label=$1 body=$2 id; shift 2
	pcall "$ADM" -X POST -H "$J" -d "$body" "$D"
	[ "$CODE" = 201 ] || { _ko "$label: create $CODE $BODY"; return; }
	id=$(jget "$BODY" conditionId)
	sleep 2.1     # let Five2s's window pass
	check_eq "$label: 403" 403 "$(gw_wait_code 403 5000 -H "Authorization: Bearer $T2" "$@" "$U/thr2/1.0/d")"
	check_match "$label: 900805" '"code":900805,"message":"Message blocked"' \
		"$(gwi -H "Authorization: Bearer $T2" "$@" "$U/thr2/1.0/d")"
	pcall "$ADM" -X DELETE "$D/$id"
	sleep 2.1
	check_eq "$label: lifted when deleted" 200 "$(gw_wait_code 200 5000 -H "Authorization: Bearer $T2" "$@" "$U/thr2/1.0/d")"
}
deny_case "IP deny via the trusted proxy's X-Forwarded-For" \
	'{"conditionType":"IP","conditionValue":{"fixedIp":"203.0.113.50","invert":false},"conditionStatus":true}' \
	-H 'X-Forwarded-For: 203.0.113.50'
check_eq "another client address passes meanwhile" 200 \
	"$(gwi -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $T2" -H 'X-Forwarded-For: 203.0.113.51' "$U/thr2/1.0/d")"
deny_case "IPRANGE deny" \
	'{"conditionType":"IPRANGE","conditionValue":{"startingIp":"198.51.100.0","endingIp":"198.51.100.255","invert":false}}' \
	-H 'X-Forwarded-For: 198.51.100.9'
deny_case "USER deny" '{"conditionType":"USER","conditionValue":"dev"}'
deny_case "APPLICATION deny" '{"conditionType":"APPLICATION","conditionValue":"dev:ThrApp2"}'
deny_case "API deny" '{"conditionType":"API","conditionValue":"/thr2/1.0"}'
check_done
