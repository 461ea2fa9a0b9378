#!/usr/bin/env bash
# Admin API, throttling policies (subscription, application, advanced): WSO2's built-ins
# listed for every tenant; create/read/update/delete per tenant with one event and one
# audit row per change; validation (counts, time units, limit types, conditions) 400 with
# nothing written; names unique per tenant and kind (409, also against built-ins);
# built-ins cannot be deleted (403) nor changed by a tenant's admin (403); a policy in
# use cannot be deleted (409); another tenant's policy is 404.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/cp.sh"
trap cp_stop EXIT
cp_start p60 || { echo "0 passed, 1 failed"; exit 1; }
P=$PUB_URL/api/am/admin/v4/throttling/policies
J='Content-Type: application/json'
TOK=$(admin_token)
state() { sql "SELECT count(*) || ':' || md5(coalesce(string_agg(id || tenant || definition::text, ',' ORDER BY id), '')) FROM gh_throttle_policies"; }

pcall "$TOK" "$P/subscription"
check_eq "GET subscription policies" "200 5" "$CODE $(jget "$BODY" count)"
check_match "Gold is 5000 per minute" '"Gold"' "$BODY"
check_eq "Gold's limit" "REQUESTCOUNTLIMIT 5000 min 1" "$(printf '%s' "$BODY" | python3 -c '
import json,sys; l=[p for p in json.load(sys.stdin)["list"] if p["policyName"]=="Gold"][0]["defaultLimit"]
print(l["type"], l["requestCount"]["requestCount"], l["requestCount"]["timeUnit"], l["requestCount"]["unitTime"])')"
pcall "$TOK" "$P/application"
check_eq "application built-ins" "200 4" "$CODE $(jget "$BODY" count)"
pcall "$TOK" "$P/advanced"
check_eq "advanced built-ins" "200 4" "$CODE $(jget "$BODY" count)"

E0=$(maxev)
pcall "$TOK" -X POST -H "$J" -d '{"policyName":"Sixty","displayName":"60 per 6 s","description":"time-scaled","defaultLimit":{"type":"REQUESTCOUNTLIMIT","requestCount":{"timeUnit":"sec","unitTime":6,"requestCount":60}},"rateLimitCount":10,"rateLimitTimeUnit":"sec","stopOnQuotaReach":true}' "$P/subscription"
check_eq "POST subscription policy" 201 "$CODE"
SID=$(jget "$BODY" policyId)
check_eq "its definition" "Sixty 60 6 sec 10 sec SubscriptionThrottlePolicy" \
	"$(jget "$BODY" policyName) $(jget "$BODY" defaultLimit.requestCount.requestCount) $(jget "$BODY" defaultLimit.requestCount.unitTime) $(jget "$BODY" defaultLimit.requestCount.timeUnit) $(jget "$BODY" rateLimitCount) $(jget "$BODY" rateLimitTimeUnit) $(jget "$BODY" type)"
check_eq "stored for carbon.super" "carbon.super|subscription|Sixty" "$(sql "SELECT tenant, kind, name FROM gh_throttle_policies WHERE id = '$SID'")"
check_eq "one policy.created event for every environment" "1|Sixty|subscription|carbon.super|t" \
	"$(sql "SELECT count(*), max(payload->>'name'), max(payload->>'kind'), max(payload->>'tenant'), bool_and(environments IS NULL) FROM gh_events WHERE id > $E0 AND type = 'policy.created'")"
check_eq "and its audit row" 1 "$(sql "SELECT count(*) FROM gh_audit WHERE action = 'policy.create' AND target = '$SID'")"

pcall "$TOK" -X POST -H "$J" -d '{"policyName":"Burst20","defaultLimit":{"type":"BANDWIDTHLIMIT","bandwidth":{"timeUnit":"min","unitTime":1,"dataAmount":5,"dataUnit":"MB"}},"burstLimit":{"rateLimitCount":20,"rateLimitTimeUnit":"min"}}' "$P/application"
check_eq "POST application policy (bandwidth, burst)" "201 5 MB 20" "$CODE $(jget "$BODY" defaultLimit.bandwidth.dataAmount) $(jget "$BODY" defaultLimit.bandwidth.dataUnit) $(jget "$BODY" burstLimit.rateLimitCount)"
AID=$(jget "$BODY" policyId)
pcall "$TOK" -X POST -H "$J" -d '{"policyName":"Adv1","defaultLimit":{"type":"REQUESTCOUNTLIMIT","requestCount":{"timeUnit":"min","unitTime":1,"requestCount":100}},"conditionalGroups":[{"description":"office","conditions":[{"type":"IPCONDITION","invertCondition":false,"ipCondition":{"ipConditionType":"IPRANGE","startingIP":"10.0.0.1","endingIP":"10.0.0.255"}},{"type":"HEADERCONDITION","headerCondition":{"headerName":"X-Team","headerValue":"blue"}}],"limit":{"type":"REQUESTCOUNTLIMIT","requestCount":{"timeUnit":"min","unitTime":1,"requestCount":1000}}}]}' "$P/advanced"
check_eq "POST advanced policy with a conditional group" "201 IPCONDITION blue 1000" "$CODE $(jget "$BODY" conditionalGroups.0.conditions.0.type) $(jget "$BODY" conditionalGroups.0.conditions.1.headerCondition.headerValue) $(jget "$BODY" conditionalGroups.0.limit.requestCount.requestCount)"
VID=$(jget "$BODY" policyId)

S0=$(state); E1=$(maxev)
LIM='"defaultLimit":{"type":"REQUESTCOUNTLIMIT","requestCount":{"timeUnit":"min","unitTime":1,"requestCount":10}}'
for bad in "{\"policyName\":\"Z\"}" \
	"{\"policyName\":\"Z\",\"defaultLimit\":{\"type\":\"REQUESTCOUNTLIMIT\",\"requestCount\":{\"timeUnit\":\"min\",\"unitTime\":1,\"requestCount\":0}}}" \
	"{\"policyName\":\"Z\",\"defaultLimit\":{\"type\":\"REQUESTCOUNTLIMIT\",\"requestCount\":{\"timeUnit\":\"min\",\"unitTime\":1,\"requestCount\":-5}}}" \
	"{\"policyName\":\"Z\",\"defaultLimit\":{\"type\":\"REQUESTCOUNTLIMIT\",\"requestCount\":{\"timeUnit\":\"fortnight\",\"unitTime\":1,\"requestCount\":5}}}" \
	"{\"policyName\":\"Z\",\"defaultLimit\":{\"type\":\"REQUESTCOUNTLIMIT\",\"requestCount\":{\"timeUnit\":\"min\",\"unitTime\":0,\"requestCount\":5}}}" \
	"{\"policyName\":\"Z\",\"defaultLimit\":{\"type\":\"REQUESTCOUNTLIMIT\",\"requestCount\":{\"timeUnit\":\"min\",\"unitTime\":1,\"requestCount\":\"5\"}}}" \
	"{\"policyName\":\"Z\",\"defaultLimit\":{\"type\":\"REQUESTCOUNTLIMIT\"}}" \
	"{\"policyName\":\"Z\",\"defaultLimit\":{\"type\":\"SOMELIMIT\",\"requestCount\":{\"timeUnit\":\"min\",\"unitTime\":1,\"requestCount\":5}}}" \
	"{\"policyName\":\"Z\",\"defaultLimit\":{\"type\":\"BANDWIDTHLIMIT\",\"bandwidth\":{\"timeUnit\":\"min\",\"unitTime\":1,\"dataAmount\":5,\"dataUnit\":\"TB\"}}}" \
	"{\"policyName\":\"Z\",$LIM,\"rateLimitCount\":5}" \
	"{\"policyName\":\"Z\",$LIM,\"rateLimitCount\":5,\"rateLimitTimeUnit\":\"day\"}" \
	"{\"policyName\":\"Z\",$LIM,\"billingPlan\":\"GRATIS\"}" \
	"{\"policyName\":\"Z z\",$LIM}" "{\"policyName\":\"Z';--\",$LIM}" "{\"policyName\":7,$LIM}" \
	"{\"policyName\":\"Z\",$LIM,\"stopOnQuotaReach\":\"yes\"}" "{\"policyName\":\"Z\",$LIM,\"unknownField\":1}" \
	"{\"policyName\":\"Z\",$LIM,\"description\":\"bell\u0007\"}" "{\"policyName\":\"Z\",$LIM" "[]"; do
	pcall "$TOK" -X POST -H "$J" -d "$bad" "$P/subscription"
	check_eq "bad subscription policy answers 400: $bad" 400 "$CODE"
done
for bad in "{\"policyName\":\"Z\",$LIM,\"conditionalGroups\":[{\"conditions\":[],\"limit\":{\"type\":\"REQUESTCOUNTLIMIT\",\"requestCount\":{\"timeUnit\":\"min\",\"unitTime\":1,\"requestCount\":5}}}]}" \
	"{\"policyName\":\"Z\",$LIM,\"conditionalGroups\":[{\"conditions\":[{\"type\":\"IPCONDITION\",\"ipCondition\":{\"ipConditionType\":\"IPSPECIFIC\",\"specificIP\":\"999.1.1.1\"}}],\"limit\":{\"type\":\"REQUESTCOUNTLIMIT\",\"requestCount\":{\"timeUnit\":\"min\",\"unitTime\":1,\"requestCount\":5}}}]}" \
	"{\"policyName\":\"Z\",$LIM,\"conditionalGroups\":[{\"conditions\":[{\"type\":\"COOKIECONDITION\"}],\"limit\":{\"type\":\"REQUESTCOUNTLIMIT\",\"requestCount\":{\"timeUnit\":\"min\",\"unitTime\":1,\"requestCount\":5}}}]}" \
	"{\"policyName\":\"Z\",$LIM,\"conditionalGroups\":[{\"conditions\":[{\"type\":\"HEADERCONDITION\",\"headerCondition\":{\"headerName\":\"X\",\"headerValue\":\"y\"}}]}]}"; do
	pcall "$TOK" -X POST -H "$J" -d "$bad" "$P/advanced"
	check_eq "bad advanced policy answers 400: ${bad:0:150}" 400 "$CODE"
done
pcall "$TOK" -X POST -H "$J" -d "{\"policyName\":\"Z\",$LIM,\"burstLimit\":{\"rateLimitCount\":5,\"rateLimitTimeUnit\":\"week\"}}" "$P/application"
check_eq "bad burst limit: 400" 400 "$CODE"
pcall "$TOK" -X POST -H "$J" -d "{\"policyName\":\"Sixty\",$LIM}" "$P/subscription"
check_eq "the same name in the same tenant and kind: 409" 409 "$CODE"
pcall "$TOK" -X POST -H "$J" -d "{\"policyName\":\"gold\",$LIM}" "$P/subscription"
check_eq "a built-in's name: 409" 409 "$CODE"
check_eq "nothing written by the refused requests" "$S0 $E1" "$(state) $(maxev)"
pcall "$TOK" -X POST -H "$J" -d "{\"policyName\":\"Sixty\",$LIM}" "$P/application"
check_eq "the same name in another kind is fine" 201 "$CODE"

pcall "$TOK" "$P/subscription/$SID"
check_eq "GET one policy" "200 Sixty $SID" "$CODE $(jget "$BODY" policyName) $(jget "$BODY" policyId)"
pcall "$TOK" "$P/application/$SID"
check_eq "the id under another kind: 404" 404 "$CODE"
E2=$(maxev)
pcall "$TOK" -X PUT -H "$J" -d '{"policyName":"Sixty","description":"now 120","defaultLimit":{"type":"REQUESTCOUNTLIMIT","requestCount":{"timeUnit":"sec","unitTime":6,"requestCount":120}}}' "$P/subscription/$SID"
check_eq "PUT updates" "200 120 now 120" "$CODE $(jget "$BODY" defaultLimit.requestCount.requestCount) $(jget "$BODY" description)"
check_eq "policy.updated with the new definition" "policy.updated 120" "$(sql "SELECT type, payload->'definition'->'defaultLimit'->'requestCount'->>'requestCount' FROM gh_events WHERE id > $E2" | tr '|' ' ')"
pcall "$TOK" -X PUT -H "$J" -d "{\"policyName\":\"Other\",$LIM}" "$P/subscription/$SID"
check_eq "renaming: 400" 400 "$CODE"
pcall "$TOK" -X PUT -H "$J" -d "{\"defaultLimit\":{\"type\":\"REQUESTCOUNTLIMIT\"}}" "$P/subscription/$SID"
check_eq "a bad update: 400" 400 "$CODE"
check_eq "still 120" 120 "$(sql "SELECT definition->'defaultLimit'->'requestCount'->>'requestCount' FROM gh_throttle_policies WHERE id = '$SID'")"

# tenants
tenant_create acme.com boss Secret-123
TT=$(mgmt_token boss@acme.com Secret-123 apim:admin)
pcall "$TT" "$P/subscription"
check_eq "acme.com sees the built-ins only" "200 5" "$CODE $(jget "$BODY" count)"
pcall "$TT" "$P/subscription/$SID"
check_eq "carbon.super's policy is 404 for acme.com" 404 "$CODE"
pcall "$TT" -X PUT -H "$J" -d "{$LIM}" "$P/subscription/$SID"
check_eq "and cannot be changed (404)" 404 "$CODE"
pcall "$TT" -X DELETE "$P/subscription/$SID"
check_eq "nor deleted (404)" 404 "$CODE"
pcall "$TT" -X POST -H "$J" -d "{\"policyName\":\"Sixty\",$LIM}" "$P/subscription"
check_eq "acme.com may use the same name" 201 "$CODE"
check_eq "its event names its tenant" acme.com "$(sql "SELECT payload->>'tenant' FROM gh_events WHERE type = 'policy.created' ORDER BY id DESC LIMIT 1")"
pcall "$TT" -X PUT -H "$J" -d "{$LIM}" "$P/subscription/builtin-subscription-Gold"
check_eq "a tenant admin cannot change a built-in: 403" 403 "$CODE"
pcall "$TOK" -X DELETE "$P/subscription/builtin-subscription-Gold"
check_eq "nobody deletes a built-in: 403" 403 "$CODE"
pcall "$TOK" -X PUT -H "$J" -d '{"defaultLimit":{"type":"REQUESTCOUNTLIMIT","requestCount":{"timeUnit":"min","unitTime":1,"requestCount":6000}}}' "$P/subscription/builtin-subscription-Gold"
check_eq "carbon.super's admin may retune a built-in" "200 Gold 6000" "$CODE $(jget "$BODY" policyName) $(jget "$BODY" defaultLimit.requestCount.requestCount)"
ldap_user carbon.super carl Carl-pass-1 creator
pcall "$(mgmt_token carl Carl-pass-1 "apim:admin apim:tier_view")" "$P/subscription"
check_eq "a creator's token: 403" 403 "$CODE"

# in use
sql "INSERT INTO gh_applications (id, tenant, name, owner, tier) VALUES ('app-p1', 'carbon.super', 'P1', 'admin', 'Burst20')" >/dev/null
pcall "$TOK" -X DELETE "$P/application/$AID"
check_eq "an application policy in use: 409" 409 "$CODE"
sql "INSERT INTO gh_apis (id, tenant, name, context, version, provider, definition) VALUES ('api-p1', 'carbon.super', 'P1', '/p1', '1.0', 'admin', '{\"policies\":[\"Sixty\"],\"operations\":[{\"target\":\"/x\",\"verb\":\"GET\",\"throttlingPolicy\":\"Adv1\"}]}')" >/dev/null
pcall "$TOK" -X DELETE "$P/subscription/$SID"
check_eq "a subscription tier an API allows: 409" 409 "$CODE"
pcall "$TOK" -X DELETE "$P/advanced/$VID"
check_eq "an advanced policy of an operation: 409" 409 "$CODE"
sql "DELETE FROM gh_apis; DELETE FROM gh_applications" >/dev/null
E3=$(maxev)
pcall "$TOK" -X DELETE "$P/subscription/$SID"
check_eq "DELETE once unused" 200 "$CODE"
check_eq "row gone, policy.removed written" "0 policy.removed Sixty" "$(sql "SELECT count(*) FROM gh_throttle_policies WHERE id = '$SID'") $(sql "SELECT type, payload->>'name' FROM gh_events WHERE id > $E3" | tr '|' ' ')"
pcall "$TOK" -X DELETE "$P/subscription/$SID"
check_eq "DELETE again: 404" 404 "$CODE"
check_done
