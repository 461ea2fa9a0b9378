#!/usr/bin/env bash
# The publisher console in headless Chromium against the real services: control plane,
# gw-external and gw-internal; tenant acme.com with an API owner (creator + publisher)
# and a developer.  tests/web/publisher.mjs drives the browser in three phases:
#   owner   the owner signs in, creates an API with the form (stored XSS refused or
#           inert), adds an operation, creates a revision, ticks External only in the
#           deploy dialog and publishes; imports an OpenAPI document with markup in its
#           text; CSRF refusals and cookie flags;
#   block   (after the developer subscribed through the REST APIs) analytics charts, and
#           the owner blocks the subscription;
#   admin   carbon.super's admin toggles acme.com's self sign-up (the portal's sign-up
#           answers accordingly), creates a deny policy, resets a user's password, reads
#           the audit log; 375 px.
# Between the phases this script checks the portal, the gateways and the database.
. "$GH_ROOT/tests/lib/gw.sh"
. "$GH_ROOT/tests/lib/check.sh"
trap gw_teardown EXIT

gw_setup web || { echo "0 passed, 1 failed"; exit 1; }
out=$("$GH_BIN/gatehouse" init --first --config "$KM_CONF" --admin-password-file "$GH_TMP/web/admin-password" 2>&1)
check_match "init registers the console's login client for the publisher's port" \
	"login client gatehouse-publisher-console \(https://localhost:${PUB_URL##*:}/publisher/callback" "$out"

gw_start gw-external || { echo "$_pass passed, $((_fail + 1)) failed"; exit 1; }
E_URL=$GWE_URL
gw_start gw-internal || { echo "$_pass passed, $((_fail + 1)) failed"; exit 1; }
I_URL=$GWI_URL
sql "UPDATE gh_environments SET vhosts = '[{\"host\": \"localhost\", \"httpsPort\": ${E_URL##*:}}]' WHERE name = 'External'"
sql "UPDATE gh_environments SET vhosts = '[{\"host\": \"localhost\", \"httpsPort\": ${I_URL##*:}}]' WHERE name = 'Internal'"

tenant_create acme.com acmeadmin 'Acme-adm1n-pw' || { echo "tenant_create failed"; echo "$_pass passed, $((_fail + 1)) failed"; exit 1; }
ldap_user acme.com owner 'Owner-pass-123' creator publisher || echo "ldap_user owner failed"
ldap_user acme.com dev1 'Dev1-pass-123' subscriber || echo "ldap_user dev1 failed"
ldap_user carbon.super victim 'Victim-pass-123' subscriber || echo "ldap_user victim failed"

mkdir -p "$GH_ROOT/tests/out"
STATE=$GH_TMP/publisher-state.json
XSS_DESC='Shop data <img src=x onerror="alert(1)"><script>alert(2)</script>'
export PUB_URL PORTAL_URL KM_URL KM_ADMIN_PW BE_PROD_URL XSS_DESC STATE OUT_DIR=$GH_ROOT/tests/out
phase() {
	local t0=$SECONDS
	PHASE=$1 timeout 60 node "$GH_ROOT/tests/web/publisher.mjs"
	local rc=$?
	[ $rc -eq 0 ] || echo "publisher.mjs $1 exited $rc"
	echo "# phase $1: $((SECONDS - t0))s"
}

# ---- the owner's journey ----
phase owner
API_ID=$(jget "$(cat "$STATE" 2>/dev/null || echo '{}')" apiId)
check_match "the console created the API" '^[0-9a-f-]{36}$' "$API_ID"
check_eq "published, by the owner" "PUBLISHED|owner@acme.com" \
	"$(sql "SELECT status, provider FROM gh_apis WHERE id = '$API_ID'")"
check_eq "deployed to External only" "External" "$(sql "SELECT string_agg(environment, ',') FROM gh_deployments WHERE api_id = '$API_ID'")"
check_eq "the operation added in the console is stored" 1 \
	"$(sql "SELECT count(*) FROM gh_apis a, jsonb_array_elements(a.definition->'operations') o WHERE a.id = '$API_ID' AND o->>'target' = '/items' AND o->>'verb' = 'GET'")"
check_eq "scopes, tiers, sandbox, CORS and GeoIP edited in the console are stored" \
	'shop:read|["Gold", "Silver", "Unlimited"]|t|t|{"mode": "deny", "countries": ["KP", "IR"]}' \
	"$(sql "SELECT definition->'scopes'->0->>'name', definition->'policies', definition->'endpointConfig' ? 'sandbox_endpoints',
		(definition->'corsConfiguration'->>'corsConfigurationEnabled')::boolean, definition->'geoRestriction' FROM gh_apis WHERE id = '$API_ID'")"
pcall "" -H 'X-WSO2-Tenant: acme.com' "$PORTAL_URL/api/am/devportal/v3/apis?query=AcmeShop"
check_match "the developer portal lists it (anonymous)" "\"id\": *\"$API_ID\"" "$BODY"

# ---- the REST additions the console reads, for an owner without apim:admin ----
OWN=$(mgmt_token 'owner@acme.com' 'Owner-pass-123' "apim:api_view apim:tier_view")
pcall "$OWN" "$PUB_URL/api/am/publisher/v4/settings"
check_match "/settings lists the environments to an owner" '"name": *"External".*"type": *"external"' "$BODY"
pcall "$OWN" "$PUB_URL/api/am/publisher/v4/throttling-policies/subscription"
check_match "/throttling-policies/subscription lists the tiers" '"name": *"Gold"' "$BODY"
pcall "$OWN" "$PUB_URL/api/am/publisher/v4/throttling-policies/bogus"
check_eq "an unknown policy level: 400" 400 "$CODE"
pcall "$OWN" "$PUB_URL/api/am/admin/v4/users"
check_eq "the users list needs apim:admin (403)" 403 "$CODE"
A=$PUB_URL/api/am/admin/v4/users
pcall "$ADM" -H 'Content-Type: application/json' -d '{"newPassword":"short"}' "$A/victim/reset-password"
check_match "a short new password: 400 with the key manager's reason" '^400.*8 to 256' "$CODE $BODY"
pcall "$ADM" -H 'Content-Type: application/json' -d '{"newPassword":"Long-enough-123"}' "$A/nobody/reset-password"
check_eq "an unknown user: 404" 404 "$CODE"
pcall "$ADM" -H 'Content-Type: application/json' -d '{"newPassword":"Long-enough-123","x":1}' "$A/victim/reset-password"
check_eq "an unknown member: 400" 400 "$CODE"

# ---- the developer subscribes through the REST APIs ----
D=$PORTAL_URL/api/am/devportal/v3
DEV=$(mgmt_token 'dev1@acme.com' 'Dev1-pass-123' "apim:subscribe apim:app_manage apim:sub_manage")
pcall "$DEV" -H 'Content-Type: application/json' -d '{"name":"ShopApp","throttlingPolicy":"Unlimited"}' "$D/applications"
APP_ID=$(jget "$BODY" applicationId)
pcall "$DEV" -H 'Content-Type: application/json' -d "{\"apiId\":\"$API_ID\",\"applicationId\":\"$APP_ID\",\"throttlingPolicy\":\"Gold\"}" "$D/subscriptions"
check_eq "the developer subscribes with Gold" 201 "$CODE"
pcall "$DEV" -H 'Content-Type: application/json' -d '{"keyType":"PRODUCTION","grantTypesToBeSupported":["client_credentials"]}' \
	"$D/applications/$APP_ID/generate-keys"
TOKEN=$(gw_token "$(jget "$BODY" consumerKey)" "$(jget "$BODY" consumerSecret)")
U=/t/acme.com/shop/1.0.0/items
check_eq "gw-external serves the API" 200 "$(gw_wait_code 200 8000 -H "Authorization: Bearer $TOKEN" "$E_URL$U")"
check_eq "gw-internal does not (404)" 404 "$(gw_wait_code 404 3000 -H "Authorization: Bearer $TOKEN" "$I_URL$U")"

# Traffic for the charts: 20 minutes of rollups of this API.
sql "INSERT INTO gh_analytics_minute (minute, tenant, api_id, app_id, status_class, country, app_tenant, app_owner,
	api_name, api_version, app_name, requests, throttled, latency_sum, latency_max, latency_hist)
	SELECT date_trunc('minute', now()) - make_interval(mins => g), 'acme.com', '$API_ID', '$APP_ID', sc, 'DE',
	'acme.com', 'dev1', 'AcmeShop', '1.0.0', 'ShopApp', CASE WHEN sc = 2 THEN 40 + g * 3 ELSE 2 + g % 4 END, 0,
	(40 + g * 3) * 12, 90, CASE WHEN sc = 2
	  THEN array_fill(0::bigint, ARRAY[5]) || (35 + g * 3)::bigint || array_fill(0::bigint, ARRAY[3]) || 5::bigint || array_fill(0::bigint, ARRAY[19])
	  ELSE array_fill(0::bigint, ARRAY[9]) || (2 + g % 4)::bigint || array_fill(0::bigint, ARRAY[19]) END
	FROM generate_series(1, 20) g, (VALUES (2), (5)) s(sc)"

# ---- analytics and blocking in the console ----
phase block
out=$(curl -s --cacert "$KM_CA" -H "Authorization: Bearer $TOKEN" -w '\n%{http_code}' "$E_URL$U")
for _ in $(seq 1 40); do
	[ "${out##*$'\n'}" = 403 ] && break
	sleep 0.1
	out=$(curl -s --cacert "$KM_CA" -H "Authorization: Bearer $TOKEN" -w '\n%{http_code}' "$E_URL$U")
done
check_eq "after the block the developer's next call fails" 403 "${out##*$'\n'}"
check_match "with WSO2's code 900907" '900907' "${out%$'\n'*}"

# ---- admin pages ----
phase admin
check_eq "the password reset in the console works at the key manager" t \
	"$([ -n "$(mgmt_token victim 'Victim-new-pass-123' 'apim:subscribe')" ] && echo t || echo f)"
check_eq "the deny policy made in the console is stored" "USER|\"mallory\"|t" \
	"$(sql "SELECT condition_type, condition_value, condition_status FROM gh_deny_policies WHERE tenant = 'carbon.super'")"
check_match "the console's sign-ins are audited" '^[1-9]' \
	"$(sql "SELECT count(*) FROM gh_audit WHERE action = 'web.login' AND target = 'publisher'")"
check_eq "no publisher session id is stored in clear" 0 \
	"$(sql "SELECT count(*) FROM gh_web_sessions WHERE ui = 'publisher' AND id_hash !~ '^[0-9a-f]{64}$'")"
check_done
