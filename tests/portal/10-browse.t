#!/usr/bin/env bash
# Browsing the DevPortal: who sees which API (visibility, roles, tenants and
# subscriptionAvailability, lifecycle state, deployment and displayOnDevportal),
# sites by host name, search, tags, gateway URLs, the OpenAPI document and the tiers.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/cp.sh"
. "$GH_ROOT/tests/portal/portal.sh"
trap cp_stop EXIT
portal_start o10 || { echo "0 passed, 1 failed"; exit 1; }
check_ok "tenant acme.com" tenant_create acme.com acmeadmin 'Acme-Adm1n'
check_ok "alice (subscriber)" ldap_user carbon.super alice 'Al1ce-pw' subscriber
check_ok "bob (subscriber)" ldap_user carbon.super bob 'B0b-pw' subscriber
check_ok "alice is a partner" ldap_group carbon.super partners alice
check_ok "carol@acme.com (subscriber)" ldap_user acme.com carol 'Car0l-pw' subscriber
ALICE=$(user_token alice 'Al1ce-pw'); BOB=$(user_token bob 'B0b-pw'); CAROL=$(user_token carol@acme.com 'Car0l-pw')
check_match "tokens" '^ey.*' "$ALICE$BOB$CAROL"

api_add pub1 carbon.super PizzaShack /pizza PUBLISHED Internal,External \
	"$(api_def PUBLIC '[]' ALL_TENANTS '[]' '["Gold","Bronze"]' '["food","pizza"]' 'Pizza for everyone')"
api_add int1 carbon.super Payroll /payroll PUBLISHED Internal "$(api_def PUBLIC '[]' CURRENT_TENANT '[]' '["Gold"]' '["hr"]')"
api_add res1 carbon.super Partners /partners PUBLISHED Internal,External \
	"$(api_def RESTRICTED '["partners"]' CURRENT_TENANT '[]' '["Gold"]' '[]')"
api_add priv1 carbon.super Secret /secret PUBLISHED External "$(api_def PRIVATE '[]' CURRENT_TENANT '[]' '["Gold"]' '[]')"
api_add new1 carbon.super Draft /draft CREATED Internal "$(api_def PUBLIC '[]' ALL_TENANTS '[]' '["Gold"]' '[]')"
api_add dep1 carbon.super Deprecated /old DEPRECATED External "$(api_def PUBLIC '[]' ALL_TENANTS '[]' '["Gold"]' '["old"]')"
api_add blk1 carbon.super Blocked /blocked BLOCKED Internal "$(api_def PUBLIC '[]' ALL_TENANTS '[]' '["Gold"]' '[]')"
api_add hid1 carbon.super Hidden /hidden PUBLISHED Internal "$(api_def PUBLIC '[]' ALL_TENANTS '[]' '["Gold"]' '[]')" false
api_add nod1 carbon.super Undeployed /undeployed PUBLISHED "" "$(api_def PUBLIC '[]' ALL_TENANTS '[]' '["Gold"]' '[]')"
api_add spec1 carbon.super Specific /specific PUBLISHED Internal \
	"$(api_def PUBLIC '[]' SPECIFIC_TENANTS '["acme.com"]' '["Gold"]' '[]')"
api_add acme1 acme.com Widgets /t/acme.com/widgets PUBLISHED Internal "$(api_def PUBLIC '[]' CURRENT_TENANT '[]' '["Gold"]' '[]')"

names() { printf '%s' "$BODY" | python3 -c 'import json,sys; print(",".join(a["name"] for a in json.load(sys.stdin)["list"]))'; }

dp "" GET /apis
check_eq "anonymous: 200" 200 "$CODE"
check_eq "anonymous sees the PUBLIC, published or deprecated, deployed and displayed APIs of carbon.super" \
	"Deprecated,Payroll,PizzaShack,Specific" "$(names)"
check_eq "count" 4 "$(jget "$BODY" count)"
check_eq "pagination.total" 4 "$(jget "$BODY" pagination.total)"
check_eq "APIInfo fields" "pub1 /pizza 1.0.0 admin PUBLISHED" \
	"$(printf '%s' "$BODY" | python3 -c 'import json,sys; a=[x for x in json.load(sys.stdin)["list"] if x["id"]=="pub1"][0]; print(a["id"],a["context"],a["version"],a["provider"],a["lifeCycleStatus"])')"
check_match "throttlingPolicies and tags" '"throttlingPolicies": \["Gold", "Bronze"\].*' \
	"$(printf '%s' "$BODY" | python3 -c 'import json,sys; print(json.dumps([x for x in json.load(sys.stdin)["list"] if x["id"]=="pub1"][0], sort_keys=True))')"
dp "$ALICE" GET /apis
check_eq "alice (partners) also sees RESTRICTED and PRIVATE" "Deprecated,Partners,Payroll,PizzaShack,Secret,Specific" "$(names)"
dp "$BOB" GET /apis
check_eq "bob (no partners role) sees PRIVATE but not RESTRICTED" "Deprecated,Payroll,PizzaShack,Secret,Specific" "$(names)"
dp "$CAROL" GET /apis
check_eq "carol browses her own tenant by default" "Widgets" "$(names)"
dp "$CAROL" GET /apis -H 'X-WSO2-Tenant: carbon.super'
check_eq "carol browsing carbon.super: ALL_TENANTS and SPECIFIC_TENANTS(acme.com) only" "Deprecated,PizzaShack,Specific" "$(names)"
dp "$CAROL" GET /apis/int1
check_eq "carol cannot read a CURRENT_TENANT API of carbon.super" 404 "$CODE"
dp "$CAROL" GET /apis/priv1
check_eq "nor a PRIVATE one" 404 "$CODE"
dp "$CAROL" GET /apis/pub1
check_eq "but reads an ALL_TENANTS one" 200 "$CODE"
dp "" GET /apis -H 'X-WSO2-Tenant: acme.com'
check_eq "anonymous browsing acme.com" "Widgets" "$(names)"
dp "" GET /apis -H 'X-WSO2-Tenant: nope.example'
check_eq "an unknown tenant: 404" 404 "$CODE"
sql "UPDATE gh_tenants SET status = 'inactive' WHERE domain = 'acme.com'" >/dev/null
dp "" GET /apis -H 'X-WSO2-Tenant: acme.com'
check_eq "an inactive tenant: 404" 404 "$CODE"
sql "UPDATE gh_tenants SET status = 'active' WHERE domain = 'acme.com'" >/dev/null
dp "$ALICE" GET /apis/res1
check_eq "alice reads the RESTRICTED API" 200 "$CODE"
dp "$BOB" GET /apis/res1
check_eq "bob does not" 404 "$CODE"
for id in new1 blk1 hid1 nod1; do
	dp "$ALICE" GET /apis/$id
	check_eq "$id is not shown" 404 "$CODE"
done
dp "" GET /apis -H 'Authorization: Bearer not-a-token'
check_eq "a bad token is refused even where anonymous callers are allowed" 401 "$CODE"

# Sites
dp "" GET /apis -H 'Host: ext.example.com'
check_eq "the external site lists only APIs deployed to External" "Deprecated,PizzaShack" "$(names)"
dp "$ALICE" GET /apis -H 'Host: EXT.example.com:443'
check_eq "host is case-insensitive, port ignored" "Deprecated,Partners,PizzaShack,Secret" "$(names)"
dp "" GET /apis/int1 -H 'Host: ext.example.com'
check_eq "an Internal-only API is not found on the external site" 404 "$CODE"
dp "" GET /apis -H 'Host: other.example.com'
check_eq "a host with no site: 404" 404 "$CODE"
dp "" GET /throttling-policies/subscription -H 'Host: other.example.com'
check_eq "for everything" 404 "$CODE"

# One API: URLs of each environment of the site, tiers, scopes; never the backend
dp "" GET /apis/pub1
check_eq "GET /apis/{id}" 200 "$CODE"
check_eq "endpointURLs of Internal and External" \
	"External https://localhost:8243/pizza/1.0.0 None|Internal https://localhost:8244/pizza/1.0.0 http://localhost:8281/pizza/1.0.0" \
	"$(printf '%s' "$BODY" | python3 -c 'import json,sys; print("|".join("%s %s %s" % (e["environmentName"], e["URLs"]["https"], e["URLs"]["http"]) for e in json.load(sys.stdin)["endpointURLs"]))')"
check_eq "environment types" "external,internal" \
	"$(printf '%s' "$BODY" | python3 -c 'import json,sys; print(",".join(e["environmentType"] for e in json.load(sys.stdin)["endpointURLs"]))')"
check_eq "tiers with descriptions" "Gold:Allows 5000 requests per minute,Bronze:Allows 1000 requests per minute" \
	"$(printf '%s' "$BODY" | python3 -c 'import json,sys; print(",".join(t["tierName"]+":"+t["description"] for t in json.load(sys.stdin)["tiers"]))')"
check_eq "scopes" "items:write" "$(jget "$BODY" scopes.0.key)"
check_eq "operations" "/items/{id}" "$(jget "$BODY" operations.1.target)"
check_nomatch "the backend endpoint is never shown" 'backend.internal|endpointConfig' "$BODY"
dp "" GET /apis/pub1 -H 'Host: ext.example.com'
check_eq "the external site shows only its environment's URL" "External" \
	"$(printf '%s' "$BODY" | python3 -c 'import json,sys; print(",".join(e["environmentName"] for e in json.load(sys.stdin)["endpointURLs"]))')"
sql "UPDATE gh_apis SET is_default_version = true WHERE id = 'pub1'" >/dev/null
dp "" GET /apis/pub1
check_eq "defaultVersionURLs" "https://localhost:8243/pizza" "$(jget "$BODY" endpointURLs.0.defaultVersionURLs.https)"
dp "" GET "/apis/'%3B%20DROP%20TABLE%20gh_apis%3B--"
check_eq "an id with SQL metacharacters is just not found" 404 "$CODE"

# OpenAPI
dp "" GET /apis/pub1/swagger
check_eq "swagger made from the operations" "3.0.1 PizzaShack" "$(jget "$BODY" openapi) $(jget "$BODY" info.title)"
check_match "with its paths" '"/items/\{id\}": \{"post"' "$(jget "$BODY" paths)"
sql "UPDATE gh_apis SET swagger = '{\"openapi\":\"3.0.1\",\"info\":{\"title\":\"stored doc\",\"version\":\"1.0.0\"},\"paths\":{}}' WHERE id = 'dep1'" >/dev/null
dp "" GET /apis/dep1/swagger
check_eq "the stored document" "stored doc" "$(jget "$BODY" info.title)"
dp "$CAROL" GET /apis/int1/swagger
check_eq "no document of an API the caller may not see" 404 "$CODE"

# Search, paging, tags
dp "" GET "/apis?query=tag:pizza"
check_eq "query=tag:pizza" "PizzaShack" "$(names)"
dp "" GET "/apis?query=name:pay"
check_eq "query=name:pay" "Payroll" "$(names)"
dp "" GET "/apis?query=everyone"
check_eq "a bare word matches the description" "PizzaShack" "$(names)"
dp "" GET "/apis?query=foo:bar"
check_eq "an unknown search field: 400" 400 "$CODE"
before=$(count_rows gh_apis)
dp "" GET "/apis?query=name:%27%3B%20DROP%20TABLE%20gh_apis%3B--"
check_eq "SQL metacharacters in a query are data: 200" "200 0" "$CODE $(jget "$BODY" count)"
check_eq "nothing dropped" "$before" "$(count_rows gh_apis)"
dp "" GET "/apis?limit=2&offset=1"
check_eq "limit and offset" "Payroll,PizzaShack 4" "$(names) $(jget "$BODY" pagination.total)"
dp "" GET "/apis?limit=0"
check_eq "limit=0: 400" 400 "$CODE"
dp "" GET "/apis?offset=-1"
check_eq "offset=-1: 400" 400 "$CODE"
dp "" GET "/apis?limit=abc"
check_eq "limit=abc: 400" 400 "$CODE"
dp "" GET /tags
check_eq "tags of the visible APIs" "food:1,hr:1,old:1,pizza:1" \
	"$(printf '%s' "$BODY" | python3 -c 'import json,sys; print(",".join("%s:%d" % (t["value"], t["count"]) for t in json.load(sys.stdin)["list"]))')"
dp "" GET /tags -H 'Host: ext.example.com'
check_eq "tags of the external site" "food,old,pizza" \
	"$(printf '%s' "$BODY" | python3 -c 'import json,sys; print(",".join(t["value"] for t in json.load(sys.stdin)["list"]))')"

# Tiers
dp "" GET /throttling-policies/subscription
check_eq "subscription tiers" "Bronze,Gold,Silver,Unauthenticated,Unlimited" \
	"$(printf '%s' "$BODY" | python3 -c 'import json,sys; print(",".join(t["name"] for t in json.load(sys.stdin)["list"]))')"
dp "" GET /throttling-policies/subscription/Gold
check_eq "Gold" "5000 1 min REQUESTCOUNT FREE" \
	"$(printf '%s' "$BODY" | python3 -c 'import json,sys; t=json.load(sys.stdin); print(t["requestCount"], t["unitTime"], t["timeUnit"], t["quotaPolicyType"], t["tierPlan"])')"
dp "$CAROL" GET /throttling-policies/application
check_eq "application tiers" "10PerMin,20PerMin,50PerMin,Unlimited" \
	"$(printf '%s' "$BODY" | python3 -c 'import json,sys; print(",".join(t["name"] for t in json.load(sys.stdin)["list"]))')"
sql "INSERT INTO gh_throttle_policies (id, tenant, kind, name, definition) VALUES ('acme-app-5', 'acme.com', 'application', 'AcmeFive', '{\"description\":\"five\",\"defaultLimit\":{\"type\":\"REQUESTCOUNTLIMIT\",\"requestCount\":{\"timeUnit\":\"min\",\"unitTime\":1,\"requestCount\":5}}}')" >/dev/null
dp "$CAROL" GET /throttling-policies/application/AcmeFive
check_eq "a tenant's own tier, for its users" "200 5" "$CODE $(jget "$BODY" requestCount)"
dp "$ALICE" GET /throttling-policies/application/AcmeFive
check_eq "not for another tenant's" 404 "$CODE"
dp "" GET /throttling-policies/advanced
check_eq "an unknown policy level: 400" 400 "$CODE"
dp "" GET /throttling-policies/subscription/Platinum
check_eq "an unknown tier: 404" 404 "$CODE"
# portal.sites is checked at start-up
for spec in 'nohost' 'a.example=' 'a.example=Bad Env' 'a.example=*; A.EXAMPLE=Internal' 'bad_host!=*' ';'; do
	sed "s|^sites = .*|sites = \"$spec\"|" "$KM_CONF" >"$GH_TMP/bad.conf"
	out=$("$GH_BIN/gatehouse-portal" --config "$GH_TMP/bad.conf" 2>&1); rc=$?
	check_eq "sites '$spec' refused at start-up" "1" "$rc"
	check_match "naming the setting" 'portal.sites' "$out"
done
check_done
