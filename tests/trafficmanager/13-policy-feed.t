#!/usr/bin/env bash
# Policy changes and deny rules reach the gateways through the data feed within 1 s, with
# cluster-wide counting on: a subscription policy lowered through the admin API (PUT
# /throttling/policies/subscription/{id}) refuses the next requests within 1 s (the counts
# already made under it still hold), and a new deny policy blocks the API within 1 s.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/trafficmanager/tmsync.sh"
trap gw_teardown EXIT
tms_setup t13 || { echo "0 passed, 1 failed"; exit 1; }
tms_gw_start 0 || { echo "0 passed, 1 failed"; exit 1; }
A=$PUB_URL/api/am/admin/v4 J='Content-Type: application/json'
U=${G_URL[0]}/tms/1.0/p
ok=0
for _ in 1 2 3 4 5; do [ "$(gwe -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$U")" = 200 ] && ok=$((ok + 1)); done
check_eq "under Sixty6s: 5 of 5 pass" 5 "$ok"
pcall "$ADM" -X PUT -H "$J" -d '{"policyName":"Sixty6s","defaultLimit":{"type":"REQUESTCOUNTLIMIT","requestCount":{"timeUnit":"sec","unitTime":6,"requestCount":3}},"stopOnQuotaReach":true}' "$A/throttling/policies/subscription/$TMS_POLICY_ID"
T0=$(date +%s%3N)
check_eq "the policy lowered to 3 per 6 s" 200 "$CODE"
C=$(gw_wait_code 429 3000 -H "Authorization: Bearer $TOKEN" "$U")
EL=$(( $(date +%s%3N) - T0 ))
check_eq "refused (429) within 1 s of the change (${EL} ms)" "429 ok" "$C $([ "$EL" -le 1000 ] && echo ok)"
pcall "$ADM" -X POST -H "$J" -d '{"conditionType":"API","conditionValue":"/tms/1.0","conditionStatus":true}' \
	"$A/throttling/deny-policies"
T0=$(date +%s%3N)
check_eq "a deny policy on the API" 201 "$CODE"
C=$(gw_wait_code 403 3000 -H "Authorization: Bearer $TOKEN" "$U")
EL=$(( $(date +%s%3N) - T0 ))
check_eq "blocked (403) within 1 s (${EL} ms)" "403 ok" "$C $([ "$EL" -le 1000 ] && echo ok)"
check_match "900805" '"code":900805' "$(gwe -H "Authorization: Bearer $TOKEN" "$U")"
check_done
