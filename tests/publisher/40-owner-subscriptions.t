#!/usr/bin/env bash
# Subscriptions seen by the API owner: list per API (apim:subscription_view), block
# (BLOCKED, PROD_ONLY_BLOCKED) and unblock (apim:subscription_block) with a
# subscription.updated event for the API's environments; another tenant's
# subscriptions answer 404; an API with subscriptions cannot be deleted (409).
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/cp.sh"
trap cp_stop EXIT
cp_start p40 || { echo "0 passed, 1 failed"; exit 1; }
P=$PUB_URL/api/am/publisher/v4
TOK=$(admin_token)
pcall "$TOK" -H 'Content-Type: application/json' -d '{"name":"Shop","context":"/shop","version":"1","policies":["Gold","Silver"]}' "$P/apis"
ID=$(jget "$BODY" id)
pcall "$TOK" -X POST "$P/apis/$ID/revisions"; REV=$(jget "$BODY" id)
pcall "$TOK" -X POST -H 'Content-Type: application/json' -d '[{"name":"Internal"},{"name":"External"}]' "$P/apis/$ID/deploy-revision?revisionId=$REV"
check_eq "deployed to both" 201 "$CODE"
# The portal (another component) makes applications and subscriptions; here straight in SQL.
sql "INSERT INTO gh_applications (id, tenant, name, owner, tier) VALUES ('app-1', 'carbon.super', 'ShopApp', 'dev1', '10PerMin'), ('app-2', 'carbon.super', 'Other', 'dev2', 'Unlimited')" >/dev/null
sql "INSERT INTO gh_subscriptions (id, api_id, app_id, tenant, api_tenant, tier, subscriber) VALUES
	('sub-1', '$ID', 'app-1', 'carbon.super', 'carbon.super', 'Gold', 'dev1'),
	('sub-2', '$ID', 'app-2', 'carbon.super', 'carbon.super', 'Silver', 'dev2')" >/dev/null

pcall "$TOK" "$P/subscriptions?apiId=$ID"
check_eq "list answers 200 with both" "200 2 2" "$CODE $(jget "$BODY" count) $(jget "$BODY" pagination.total)"
check_eq "WSO2's fields" "sub-1 app-1 ShopApp dev1 Gold UNBLOCKED" \
	"$(jget "$BODY" list.0.subscriptionId) $(jget "$BODY" list.0.applicationInfo.applicationId) $(jget "$BODY" list.0.applicationInfo.name) $(jget "$BODY" list.0.applicationInfo.owner) $(jget "$BODY" list.0.throttlingPolicy) $(jget "$BODY" list.0.subscriptionStatus)"
pcall "$TOK" "$P/subscriptions?apiId=$ID&limit=1&offset=1"
check_eq "paged" "1 sub-2" "$(jget "$BODY" count) $(jget "$BODY" list.0.subscriptionId)"
pcall "$TOK" "$P/subscriptions"
check_eq "without apiId: every subscription to the tenant's APIs" 2 "$(jget "$BODY" count)"

b=$(sql "SELECT max(id) FROM gh_events")
pcall "$TOK" -X POST "$P/subscriptions/block-subscription?subscriptionId=sub-1&blockState=BLOCKED"
check_eq "block answers 200" 200 "$CODE"
check_eq "status BLOCKED" BLOCKED "$(sql "SELECT status FROM gh_subscriptions WHERE id = 'sub-1'")"
check_eq "subscription.updated for both environments" "subscription.updated|{External,Internal}" "$(sql "SELECT type, environments FROM gh_events WHERE id > $b")"
pl=$(sql "SELECT payload FROM gh_events WHERE id > $b")
check_eq "the Subscription shape" "sub-1 $ID app-1 carbon.super carbon.super Gold BLOCKED" \
	"$(jget "$pl" id) $(jget "$pl" apiId) $(jget "$pl" applicationId) $(jget "$pl" tenant) $(jget "$pl" apiTenant) $(jget "$pl" tier) $(jget "$pl" status)"
b=$(sql "SELECT max(id) FROM gh_events")
pcall "$TOK" -X POST "$P/subscriptions/block-subscription?subscriptionId=sub-2&blockState=PROD_ONLY_BLOCKED"
check_eq "PROD_ONLY_BLOCKED" "200 PROD_ONLY_BLOCKED PROD_ONLY_BLOCKED" "$CODE $(sql "SELECT status FROM gh_subscriptions WHERE id = 'sub-2'") $(sql "SELECT payload->>'status' FROM gh_events WHERE id > $b")"
b=$(sql "SELECT max(id) FROM gh_events")
pcall "$TOK" -X POST "$P/subscriptions/unblock-subscription?subscriptionId=sub-1"
check_eq "unblock" "200 UNBLOCKED UNBLOCKED" "$CODE $(sql "SELECT status FROM gh_subscriptions WHERE id = 'sub-1'") $(sql "SELECT payload->>'status' FROM gh_events WHERE id > $b")"
check_eq "audited" "subscription.block|2
subscription.unblock|1" "$(sql "SELECT action, count(*) FROM gh_audit WHERE action LIKE 'subscription.%' GROUP BY action ORDER BY action")"

b=$(sql "SELECT max(id) FROM gh_events")
pcall "$TOK" -X POST "$P/subscriptions/block-subscription?subscriptionId=sub-1&blockState=PAUSED"
check_eq "an unknown blockState: 400" 400 "$CODE"
pcall "$TOK" -X POST "$P/subscriptions/block-subscription?subscriptionId=sub-1"
check_eq "blockState missing: 400" 400 "$CODE"
pcall "$TOK" -X POST "$P/subscriptions/block-subscription?blockState=BLOCKED"
check_eq "subscriptionId missing: 400" 400 "$CODE"
pcall "$TOK" -X POST "$P/subscriptions/block-subscription?subscriptionId=nope&blockState=BLOCKED"
check_eq "unknown subscription: 404" 404 "$CODE"
pcall "$TOK" -X POST "$P/subscriptions/block-subscription?subscriptionId=%27%3B%20DROP%20TABLE%20gh_subscriptions%3B%20--&blockState=BLOCKED"
check_eq "SQL in subscriptionId is data: 404" 404 "$CODE"
check_eq "no event from the refusals" 0 "$(sql "SELECT count(*) FROM gh_events WHERE id > $b")"

# Roles and tenants.
ldap_user carbon.super chris Cr3ator-pw creator
CRE=$(mgmt_token chris Cr3ator-pw "apim:api_view apim:api_create apim:subscription_view apim:subscription_block")
pcall "$CRE" "$P/subscriptions?apiId=$ID"
check_eq "a creator views subscriptions" 200 "$CODE"
pcall "$CRE" -X POST "$P/subscriptions/block-subscription?subscriptionId=sub-1&blockState=BLOCKED"
check_eq "a creator cannot block (apim:subscription_block)" 403 "$CODE"
check_ok "tenant acme.com" tenant_create acme.com acmeadmin Acme-Adm1n-pw
ACME=$(mgmt_token acmeadmin@acme.com Acme-Adm1n-pw "$ALL_SCOPES")
pcall "$ACME" -X POST "$P/subscriptions/block-subscription?subscriptionId=sub-1&blockState=BLOCKED"
check_eq "acme cannot block carbon.super's subscription: 404" 404 "$CODE"
pcall "$ACME" "$P/subscriptions"
check_eq "acme lists none" 0 "$(jget "$BODY" count)"
check_eq "sub-1 still UNBLOCKED" UNBLOCKED "$(sql "SELECT status FROM gh_subscriptions WHERE id = 'sub-1'")"

pcall "$TOK" -X DELETE "$P/apis/$ID"
check_eq "an API with subscriptions cannot be deleted: 409" 409 "$CODE"
check_eq "it stays, deployed" "1 2" "$(sql "SELECT count(*) FROM gh_apis") $(sql "SELECT count(*) FROM gh_deployments")"
check_done
