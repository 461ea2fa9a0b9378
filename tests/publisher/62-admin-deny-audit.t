#!/usr/bin/env bash
# Admin API, deny policies (API, APPLICATION, USER, IP, IPRANGE) with per-type validation,
# normalized values, duplicates 409, PATCH of the status, delete, events and audit rows,
# tenant isolation; and the audit log: every component's rows for carbon.super's admins,
# only its own tenant's for a tenant admin, with filters and paging validated.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/cp.sh"
trap cp_stop EXIT
cp_start p62 || { echo "0 passed, 1 failed"; exit 1; }
A=$PUB_URL/api/am/admin/v4
D=$A/throttling/deny-policies
J='Content-Type: application/json'
TOK=$(admin_token)
state() { sql "SELECT count(*) || ':' || md5(coalesce(string_agg(id || condition_value::text || condition_status, ',' ORDER BY id), '')) FROM gh_deny_policies"; }

E0=$(maxev)
pcall "$TOK" -X POST -H "$J" -d '{"conditionType":"IP","conditionValue":{"fixedIp":"192.0.2.10","invert":false},"conditionStatus":true}' "$D"
check_eq "POST an IP deny policy" "201 IP 192.0.2.10 true" "$CODE $(jget "$BODY" conditionType) $(jget "$BODY" conditionValue.fixedIp) $(jget "$BODY" conditionStatus)"
IPID=$(jget "$BODY" conditionId)
check_eq "deny.created for every environment" "deny.created|IP|carbon.super|t" "$(sql "SELECT type, payload->>'conditionType', payload->>'tenant', environments IS NULL FROM gh_events WHERE id > $E0")"
pcall "$TOK" -X POST -H "$J" -d '{"conditionType":"IPRANGE","conditionValue":{"startingIp":"2001:db8:0:0::1","endingIp":"2001:db8::ffff","invert":true}}' "$D"
check_eq "POST an IPv6 range (normalized)" "201 2001:db8::1 2001:db8::ffff true" "$CODE $(jget "$BODY" conditionValue.startingIp) $(jget "$BODY" conditionValue.endingIp) $(jget "$BODY" conditionValue.invert)"
pcall "$TOK" -X POST -H "$J" -d '{"conditionType":"API","conditionValue":"/pizza/1.0.0"}' "$D"
check_eq "POST an API deny policy" "201 /pizza/1.0.0" "$CODE $(jget "$BODY" conditionValue)"
pcall "$TOK" -X POST -H "$J" -d '{"conditionType":"APPLICATION","conditionValue":"alice:PizzaApp"}' "$D"
check_eq "POST an APPLICATION deny policy" 201 "$CODE"
pcall "$TOK" -X POST -H "$J" -d '{"conditionType":"USER","conditionValue":"mallory@evil.com"}' "$D"
check_eq "POST a USER deny policy" 201 "$CODE"
UID_=$(jget "$BODY" conditionId)

S0=$(state); E1=$(maxev)
for bad in '{"conditionType":"IP","conditionValue":{"fixedIp":"300.1.1.1"}}' '{"conditionType":"IP","conditionValue":"1.2.3.4"}' \
	'{"conditionType":"IP","conditionValue":{"fixedIp":"1.2.3.4","invert":"no"}}' '{"conditionType":"IP","conditionValue":{"ip":"1.2.3.4"}}' \
	'{"conditionType":"IPRANGE","conditionValue":{"startingIp":"10.0.0.9","endingIp":"10.0.0.1"}}' \
	'{"conditionType":"IPRANGE","conditionValue":{"startingIp":"10.0.0.1","endingIp":"::1"}}' \
	'{"conditionType":"IPRANGE","conditionValue":{"startingIp":"10.0.0.1"}}' \
	'{"conditionType":"API","conditionValue":"pizza"}' '{"conditionType":"API","conditionValue":"/pizza"}' '{"conditionType":"API","conditionValue":"/pi zza/1"}' \
	'{"conditionType":"APPLICATION","conditionValue":"noColon"}' '{"conditionType":"APPLICATION","conditionValue":":app"}' \
	'{"conditionType":"USER","conditionValue":""}' '{"conditionType":"USER","conditionValue":5}' '{"conditionType":"USER"}' \
	'{"conditionType":"HOST","conditionValue":"x"}' '{"conditionType":"USER","conditionValue":"x","conditionStatus":"on"}' \
	"{\"conditionType\":\"USER\",\"conditionValue\":\"x'; DELETE FROM gh_deny_policies; --\"}" '{"conditionType":"USER"'; do
	pcall "$TOK" -X POST -H "$J" -d "$bad" "$D"
	check_eq "bad deny policy answers 400: $bad" 400 "$CODE"
done
pcall "$TOK" -X POST -H "$J" -d '{"conditionType":"IP","conditionValue":{"fixedIp":"192.0.2.10"}}' "$D"
check_eq "the same condition again: 409" 409 "$CODE"
check_eq "nothing written by the refused requests" "$S0 $E1" "$(state) $(maxev)"

pcall "$TOK" "$D"
check_eq "GET lists five" "200 5" "$CODE $(jget "$BODY" count)"
pcall "$TOK" "$D/$IPID"
check_eq "GET one" "200 $IPID" "$CODE $(jget "$BODY" conditionId)"
pcall "$TOK" "$A/throttling/deny-policy/$IPID"
check_eq "WSO2's singular path" 200 "$CODE"
pcall "$TOK" -X PATCH -H "$J" -d '{"conditionStatus":false}' "$D/$IPID"
check_eq "PATCH disables it" "200 false" "$CODE $(jget "$BODY" conditionStatus)"
check_eq "deny.updated" "deny.updated|false" "$(sql "SELECT type, payload->>'conditionStatus' FROM gh_events ORDER BY id DESC LIMIT 1")"
pcall "$TOK" -X PATCH -H "$J" -d '{"conditionStatus":"off"}' "$D/$IPID"
check_eq "PATCH with a string: 400" 400 "$CODE"
pcall "$TOK" -X PATCH -H "$J" -d '{}' "$D/$IPID"
check_eq "PATCH without conditionStatus: 400" 400 "$CODE"

tenant_create acme.com boss Secret-123
TT=$(mgmt_token boss@acme.com Secret-123 apim:admin)
pcall "$TT" "$D"
check_eq "acme.com has none" "200 0" "$CODE $(jget "$BODY" count)"
for m in GET DELETE; do
	pcall "$TT" -X $m "$D/$IPID"
	check_eq "$m of carbon.super's deny policy by acme.com: 404" 404 "$CODE"
done
pcall "$TT" -X PATCH -H "$J" -d '{"conditionStatus":true}' "$D/$IPID"
check_eq "PATCH by acme.com: 404" 404 "$CODE"
pcall "$TT" -X POST -H "$J" -d '{"conditionType":"IP","conditionValue":{"fixedIp":"192.0.2.10"}}' "$D"
check_eq "acme.com may deny the same address" 201 "$CODE"
E2=$(maxev)
pcall "$TOK" -X DELETE "$D/$UID_"
check_eq "DELETE" 200 "$CODE"
check_eq "deny.removed with the condition" "deny.removed|USER|mallory@evil.com" "$(sql "SELECT type, payload->>'conditionType', payload->>'conditionValue' FROM gh_events WHERE id > $E2")"
pcall "$TOK" -X DELETE "$D/$UID_"
check_eq "DELETE again: 404" 404 "$CODE"
check_eq "audit rows of the deny changes" "7 1 1" "$(sql "SELECT count(*) FROM gh_audit WHERE action LIKE 'deny.%' AND tenant = 'carbon.super'") $(sql "SELECT count(*) FROM gh_audit WHERE action = 'deny.update'") $(sql "SELECT count(*) FROM gh_audit WHERE action = 'deny.create' AND tenant = 'acme.com'")"

# --- audit log ---
pcall "$TOK" "$A/audit?limit=1000"
check_eq "GET /audit" 200 "$CODE"
TOTAL=$(sql "SELECT count(*) FROM gh_audit")
check_eq "carbon.super's admin sees every row" "$TOTAL" "$(jget "$BODY" pagination.total)"
check_match "rows of the key manager" '"component": "keymanager"' "$(jget "$BODY" list)"
check_match "rows of the publisher" '"component": "publisher"' "$(jget "$BODY" list)"
check_eq "newest first" "$(sql "SELECT max(id) FROM gh_audit")" "$(jget "$BODY" list.0.id)"
check_match "clientAddress recorded" '127\.0\.0\.1' "$(jget "$BODY" list.0.clientAddress)"
pcall "$TOK" "$A/audit?component=publisher&action=deny.create&limit=2&offset=1"
check_eq "filters and paging" "200 2 6 1 2" "$CODE $(jget "$BODY" count) $(jget "$BODY" pagination.total) $(jget "$BODY" pagination.offset) $(jget "$BODY" pagination.limit)"
pcall "$TOK" "$A/audit?tenant=acme.com&actor=boss@acme.com"
check_eq "by tenant and actor" "1 deny.create" "$(jget "$BODY" count) $(jget "$BODY" list.0.action)"
pcall "$TOK" "$A/audit?from=2000-01-01T00:00:00Z&to=2000-01-02"
check_eq "a window with nothing in it" "200 0" "$CODE $(jget "$BODY" count)"
pcall "$TT" "$A/audit?limit=1000"
check_eq "acme.com's admin sees only acme.com's rows" "200 $(sql "SELECT count(*) FROM gh_audit WHERE tenant = 'acme.com'") acme.com" \
	"$CODE $(jget "$BODY" pagination.total) $(printf '%s' "$BODY" | python3 -c 'import json,sys; print(",".join(sorted({r["tenant"] for r in json.load(sys.stdin)["list"]})))')"
pcall "$TT" "$A/audit?tenant=carbon.super"
check_eq "and cannot ask for another tenant's: 403" 403 "$CODE"
for q in "limit=0" "limit=5000" "limit=abc" "offset=-1" "from=yesterday" "to=2024-13-45T99:99:99Z" "component=Key%20Manager" "action=x%27%3B--"; do
	pcall "$TOK" "$A/audit?$q"
	check_eq "bad audit query answers 400: $q" 400 "$CODE"
done
ldap_user carbon.super carl Carl-pass-1 creator
pcall "$(mgmt_token carl Carl-pass-1 "apim:admin apim:api_view")" "$A/audit"
check_eq "a creator's token: 403" 403 "$CODE"
check_done
