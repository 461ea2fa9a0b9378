#!/usr/bin/env bash
# Subscriptions: an application of the caller subscribes to an API it may see and that
# is available to its tenant, with a tier the API allows; each change is written with
# its event (subscription.created with the application, .updated, .removed) visible to
# the environments the API is deployed to, and audited; refusals write nothing.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/cp.sh"
. "$GH_ROOT/tests/portal/portal.sh"
trap cp_stop EXIT
portal_start o40 || { echo "0 passed, 1 failed"; exit 1; }
check_ok "tenant acme.com" tenant_create acme.com acmeadmin 'Acme-Adm1n'
check_ok "alice" ldap_user carbon.super alice 'Al1ce-pw' subscriber
check_ok "bob" ldap_user carbon.super bob 'B0b-pw' subscriber
check_ok "carol@acme.com" ldap_user acme.com carol 'Car0l-pw' subscriber
ALICE=$(user_token alice 'Al1ce-pw'); BOB=$(user_token bob 'B0b-pw'); CAROL=$(user_token carol@acme.com 'Car0l-pw')
api_add pub1 carbon.super PizzaShack /pizza PUBLISHED Internal,External \
	"$(api_def PUBLIC '[]' ALL_TENANTS '[]' '["Gold","Silver"]' '[]')"
api_add cur1 carbon.super Payroll /payroll PUBLISHED Internal "$(api_def PUBLIC '[]' CURRENT_TENANT '[]' '["Gold"]' '[]')"
api_add dep1 carbon.super Old /old DEPRECATED Internal "$(api_def PUBLIC '[]' ALL_TENANTS '[]' '["Gold"]' '[]')"
api_add pro1 carbon.super Proto /proto PROTOTYPED Internal "$(api_def PUBLIC '[]' ALL_TENANTS '[]' '["Gold"]' '[]')"
api_add int1 carbon.super Inside /inside PUBLISHED Internal "$(api_def PUBLIC '[]' ALL_TENANTS '[]' '["Gold"]' '[]')"
api_add res1 carbon.super Partners /partners PUBLISHED Internal \
	"$(api_def RESTRICTED '["partners"]' CURRENT_TENANT '[]' '["Gold"]' '[]')"
dpj "$ALICE" POST /applications '{"name":"AliceApp","throttlingPolicy":"Unlimited"}'
A=$(jget "$BODY" applicationId)
dpj "$BOB" POST /applications '{"name":"BobApp","throttlingPolicy":"Unlimited"}'
B=$(jget "$BODY" applicationId)
dpj "$CAROL" POST /applications '{"name":"CarolApp","throttlingPolicy":"Unlimited"}'
C=$(jget "$BODY" applicationId)
check_match "three applications" '^[0-9a-f-]{36}$' "$C"

ev0=$(sql "SELECT max(id) FROM gh_events")
dpj "$ALICE" POST /subscriptions "{\"apiId\":\"pub1\",\"applicationId\":\"$A\",\"throttlingPolicy\":\"Gold\"}" -D "$GH_TMP/h"
check_eq "subscribe with Gold: 201" 201 "$CODE"
S1=$(jget "$BODY" subscriptionId)
check_eq "Location" "$DP/subscriptions/$S1" "$(tr -d '\r' <"$GH_TMP/h" | sed -n 's/^Location: //Ip')"
check_eq "fields" "pub1 $A Gold UNBLOCKED PizzaShack AliceApp" \
	"$(jget "$BODY" apiId) $(jget "$BODY" applicationId) $(jget "$BODY" throttlingPolicy) $(jget "$BODY" status) $(jget "$BODY" apiInfo.name) $(jget "$BODY" applicationInfo.name)"
check_eq "the row" "carbon.super|carbon.super|Gold|UNBLOCKED|alice" \
	"$(sql "SELECT tenant, api_tenant, tier, status, subscriber FROM gh_subscriptions WHERE id = '$S1'")"
check_eq "subscription.created for the API's environments, with the application" \
	"subscription.created|External,Internal|$S1|pub1|$A|carbon.super|Gold|UNBLOCKED|AliceApp|JWT" \
	"$(sql "SELECT type, array_to_string(environments, ','), payload->>'id', payload->>'apiId', payload->>'applicationId', payload->>'apiTenant', payload->>'tier', payload->>'status', payload->'application'->>'name', payload->'application'->>'tokenType' FROM gh_events WHERE id > $ev0")"
check_eq "the payload's keys as FEED.md says" "apiId apiTenant application applicationId id status tenant tier" \
	"$(sql "SELECT string_agg(k, ' ' ORDER BY k COLLATE \"C\") FROM gh_events, jsonb_object_keys(payload) k WHERE id > $ev0")"
check_eq "audited" "portal|alice|subscription.create" \
	"$(sql "SELECT component, actor, action FROM gh_audit WHERE target = '$S1'")"
dp "$ALICE" GET "/applications/$A"
check_eq "subscriptionCount" 1 "$(jget "$BODY" subscriptionCount)"

# Refusals: nothing written
n0=$(count_rows gh_subscriptions); e0=$(sql "SELECT max(id) FROM gh_events")
refuse() { local tok=$1 what=$2 want=$3 body=$4; shift 4; dpj "$tok" POST /subscriptions "$body" "$@"; check_eq "$what" "$want" "$CODE"; }
refuse "$ALICE" "the same subscription again: 409" 409 "{\"apiId\":\"pub1\",\"applicationId\":\"$A\",\"throttlingPolicy\":\"Silver\"}"
refuse "$BOB" "a tier the API does not allow: 403" 403 "{\"apiId\":\"pub1\",\"applicationId\":\"$B\",\"throttlingPolicy\":\"Bronze\"}"
refuse "$BOB" "an application tier: 403" 403 "{\"apiId\":\"pub1\",\"applicationId\":\"$B\",\"throttlingPolicy\":\"10PerMin\"}"
refuse "$BOB" "an unknown tier: 403" 403 "{\"apiId\":\"pub1\",\"applicationId\":\"$B\",\"throttlingPolicy\":\"Platinum\"}"
refuse "$BOB" "a tier with SQL: 400" 400 "{\"apiId\":\"pub1\",\"applicationId\":\"$B\",\"throttlingPolicy\":\"Gold' OR '1'='1\"}"
refuse "$BOB" "no tier: 400" 400 "{\"apiId\":\"pub1\",\"applicationId\":\"$B\"}"
refuse "$BOB" "a tier that is not a string: 400" 400 "{\"apiId\":\"pub1\",\"applicationId\":\"$B\",\"throttlingPolicy\":5}"
refuse "$BOB" "no apiId: 400" 400 "{\"applicationId\":\"$B\",\"throttlingPolicy\":\"Gold\"}"
refuse "$BOB" "apiId not a string: 400" 400 "{\"apiId\":[\"pub1\"],\"applicationId\":\"$B\",\"throttlingPolicy\":\"Gold\"}"
refuse "$BOB" "an unknown API: 404" 404 "{\"apiId\":\"nope\",\"applicationId\":\"$B\",\"throttlingPolicy\":\"Gold\"}"
refuse "$BOB" "an apiId with SQL: 404" 404 "{\"apiId\":\"pub1' OR '1'='1\",\"applicationId\":\"$B\",\"throttlingPolicy\":\"Gold\"}"
refuse "$BOB" "another user's application: 404" 404 "{\"apiId\":\"pub1\",\"applicationId\":\"$A\",\"throttlingPolicy\":\"Gold\"}"
refuse "$BOB" "a DEPRECATED API takes no new subscriptions: 403" 403 "{\"apiId\":\"dep1\",\"applicationId\":\"$B\",\"throttlingPolicy\":\"Gold\"}"
refuse "$BOB" "nor a PROTOTYPED one: 403" 403 "{\"apiId\":\"pro1\",\"applicationId\":\"$B\",\"throttlingPolicy\":\"Gold\"}"
refuse "$BOB" "a RESTRICTED API bob may not see: 404" 404 "{\"apiId\":\"res1\",\"applicationId\":\"$B\",\"throttlingPolicy\":\"Gold\"}"
refuse "$BOB" "an Internal-only API through the external site: 404" 404 \
	"{\"apiId\":\"int1\",\"applicationId\":\"$B\",\"throttlingPolicy\":\"Gold\"}" -H 'Host: ext.example.com'
refuse "$CAROL" "acme.com cannot subscribe to carbon.super's CURRENT_TENANT API: 404" 404 \
	"{\"apiId\":\"cur1\",\"applicationId\":\"$C\",\"throttlingPolicy\":\"Gold\"}"
refuse "$BOB" "invalid JSON: 400" 400 '{"apiId":"pub1",'
refuse "$BOB" "an array: 400" 400 '[]'
pcall "$BOB" -X POST --data-binary "{\"apiId\":\"pub1\",\"applicationId\":\"$B\",\"throttlingPolicy\":\"Gold\"}" \
	-H 'Content-Type: application/x-www-form-urlencoded' "$PORTAL_URL$DP/subscriptions"
check_eq "not JSON: 415" 415 "$CODE"
VIEW=$(mgmt_token bob 'B0b-pw' "apim:api_key")
refuse "$VIEW" "a token without apim:sub_manage or apim:subscribe: 403" 403 "{\"apiId\":\"pub1\",\"applicationId\":\"$B\",\"throttlingPolicy\":\"Gold\"}"
check_eq "no subscription written" "$n0" "$(count_rows gh_subscriptions)"
check_eq "no event written" "$e0" "$(sql "SELECT max(id) FROM gh_events")"

# Across tenants: ALL_TENANTS
SUBONLY=$(mgmt_token carol@acme.com 'Car0l-pw' "apim:sub_manage")
dpj "$SUBONLY" POST /subscriptions "{\"apiId\":\"pub1\",\"applicationId\":\"$C\",\"throttlingPolicy\":\"Silver\"}"
check_eq "acme.com subscribes to carbon.super's ALL_TENANTS API (apim:sub_manage alone)" 201 "$CODE"
SC=$(jget "$BODY" subscriptionId)
check_eq "the row: the application's tenant and the API's" "acme.com|carbon.super|carol@acme.com" \
	"$(sql "SELECT tenant, api_tenant, subscriber FROM gh_subscriptions WHERE id = '$SC'")"
check_eq "its event" "subscription.created|acme.com|acme.com|carbon.super" \
	"$(sql "SELECT type, tenant, payload->>'tenant', payload->>'apiTenant' FROM gh_events WHERE payload->>'id' = '$SC'")"

# Lists and reads
dp "$ALICE" GET "/subscriptions?applicationId=$A"
check_eq "by application" "1 $S1 pub1" "$(jget "$BODY" count) $(jget "$BODY" list.0.subscriptionId) $(jget "$BODY" list.0.apiInfo.id)"
dp "$ALICE" GET "/subscriptions?apiId=pub1"
check_eq "by API: only the caller's" "1 $S1" "$(jget "$BODY" count) $(jget "$BODY" list.0.subscriptionId)"
dp "$CAROL" GET /subscriptions
check_eq "carol's" "1 $SC" "$(jget "$BODY" count) $(jget "$BODY" list.0.subscriptionId)"
dp "$BOB" GET "/subscriptions?applicationId=$A"
check_eq "another user's application: 404" 404 "$CODE"
dp "$ALICE" GET "/subscriptions/$S1"
check_eq "one subscription" "200 Gold" "$CODE $(jget "$BODY" throttlingPolicy)"
dp "$BOB" GET "/subscriptions/$S1"
check_eq "not bob's: 404" 404 "$CODE"

# Change the tier; blocked subscriptions cannot be changed by the subscriber
e1=$(sql "SELECT max(id) FROM gh_events")
dpj "$ALICE" PUT "/subscriptions/$S1" "{\"apiId\":\"pub1\",\"applicationId\":\"$A\",\"throttlingPolicy\":\"Silver\"}"
check_eq "PUT to Silver" "200 Silver" "$CODE $(jget "$BODY" throttlingPolicy)"
check_eq "subscription.updated" "subscription.updated|External,Internal|Silver|f" \
	"$(sql "SELECT type, array_to_string(environments, ','), payload->>'tier', payload ? 'application' FROM gh_events WHERE id > $e1")"
dpj "$ALICE" PUT "/subscriptions/$S1" '{"throttlingPolicy":"Bronze"}'
check_eq "PUT to a tier the API does not allow: 403" 403 "$CODE"
dpj "$ALICE" PUT "/subscriptions/$S1" '{"throttlingPolicy":7}'
check_eq "PUT with a wrong type: 400" 400 "$CODE"
sql "UPDATE gh_subscriptions SET status = 'BLOCKED' WHERE id = '$S1'" >/dev/null
dpj "$ALICE" PUT "/subscriptions/$S1" '{"throttlingPolicy":"Gold"}'
check_eq "a BLOCKED subscription: 403" 403 "$CODE"
check_eq "unchanged" "Silver|BLOCKED" "$(sql "SELECT tier, status FROM gh_subscriptions WHERE id = '$S1'")"
check_eq "one event for all of that" 1 "$(sql "SELECT count(*) FROM gh_events WHERE id > $e1")"
sql "UPDATE gh_subscriptions SET status = 'UNBLOCKED' WHERE id = '$S1'" >/dev/null

# Delete; delete an application with subscriptions
e2=$(sql "SELECT max(id) FROM gh_events")
dp "$BOB" DELETE "/subscriptions/$S1"
check_eq "not bob's to delete: 404" 404 "$CODE"
dp "$ALICE" DELETE "/subscriptions/$S1"
check_eq "DELETE: 200" 200 "$CODE"
check_eq "gone" 0 "$(sql "SELECT count(*) FROM gh_subscriptions WHERE id = '$S1'")"
check_eq "subscription.removed" "subscription.removed|External,Internal|$S1" \
	"$(sql "SELECT type, array_to_string(environments, ','), payload->>'id' FROM gh_events WHERE id > $e2")"
check_eq "audited" "subscription.delete" "$(sql "SELECT action FROM gh_audit WHERE target = '$S1' ORDER BY id DESC LIMIT 1")"
dpj "$CAROL" POST /subscriptions "{\"apiId\":\"pub1\",\"applicationId\":\"$C\",\"throttlingPolicy\":\"Gold\"}"
check_eq "a duplicate for carol: 409" 409 "$CODE"
e3=$(sql "SELECT max(id) FROM gh_events")
dp "$CAROL" DELETE "/applications/$C"
check_eq "carol deletes her application" 200 "$CODE"
check_eq "its subscription removed, then the application" \
	"subscription.removed:External,Internal application.removed:*" \
	"$(sql "SELECT string_agg(type || ':' || coalesce(array_to_string(environments, ','), '*'), ' ' ORDER BY id) FROM gh_events WHERE id > $e3")"
check_eq "no subscription left" 0 "$(count_rows gh_subscriptions)"
check_match "metrics count subscriptions" 'gatehouse_portal_subscriptions_total 2' "$(curl -s "$PORTAL_MGMT_URL/metrics")"
check_done
