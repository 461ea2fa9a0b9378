#!/usr/bin/env bash
# The developer portal's web UI in headless Chromium against the real services:
# control plane + gw-external; tenant acme.com (self sign-up on) with an API deployed
# to External whose CORS allows the portal's origin and whose description holds a
# stored-XSS payload; then tests/web/devportal.mjs drives the browser (its checks and
# "N passed, N failed" line are counted by tests/run).
. "$GH_ROOT/tests/lib/gw.sh"
. "$GH_ROOT/tests/lib/check.sh"
trap gw_teardown EXIT

gw_setup web || { echo "0 passed, 1 failed"; exit 1; }

# gatehouse init again: the login clients follow the ports cp_start appended (idempotent).
out=$("$GH_BIN/gatehouse" init --first --config "$KM_CONF" --admin-password-file "$GH_TMP/web/admin-password" 2>&1)
check_match "init updates the devportal login client's redirect URIs" \
	"updated +login client gatehouse-devportal \(https://localhost:${PORTAL_URL##*:}/devportal/callback" "$out"
out=$("$GH_BIN/gatehouse" init --first --config "$KM_CONF" --admin-password-file "$GH_TMP/web/admin-password" 2>&1)
check_match "a third init changes nothing" "unchanged login client gatehouse-devportal" "$out"
check_eq "the login client is a SaaS management client with PKCE's grant" \
	"gatehouse-management|t|{authorization_code,refresh_token}" \
	"$(sql "SELECT audience, saas, grant_types FROM gh_oauth_clients WHERE client_id = 'gatehouse-devportal'")"
check_nomatch "its secret is stored sealed, never in clear" '^[A-Za-z0-9_-]{43}$' \
	"$(sql "SELECT secret_sealed FROM gh_web_clients WHERE ui = 'devportal'")"

gw_start gw-external || { echo "$_pass passed, $((_fail + 1)) failed"; exit 1; }
sql "UPDATE gh_environments SET vhosts = '[{\"host\": \"localhost\", \"httpsPort\": ${GWE_URL##*:}}]' WHERE name = 'External'"

tenant_create acme.com acmeadmin 'Acme-adm1n-pw' || { echo "tenant_create failed"; echo "$_pass passed, $((_fail + 1)) failed"; exit 1; }
ADM=$(mgmt_token 'acmeadmin@acme.com' 'Acme-adm1n-pw' "$ALL_SCOPES")
pcall "$ADM" -X PUT -H 'Content-Type: application/json' -d '{"selfSignUp": true}' "$PUB_URL/api/am/admin/v4/tenant-settings"
check_eq "acme.com turns self sign-up on" 200 "$CODE"

XSS_DESC='Weather data <img src=x onerror="alert(1)"><script>alert(2)</script>'
API_ID=$(gw_api "AcmeWeather" /weather 1.0.0 External "\"description\": \"Weather data <img src=x onerror=\\\"alert(1)\\\"><script>alert(2)</script>\",
	\"corsConfiguration\": {\"corsConfigurationEnabled\": true, \"accessControlAllowOrigins\": [\"$PORTAL_URL\"],
	\"accessControlAllowHeaders\": [\"authorization\", \"content-type\"], \"accessControlAllowMethods\": [\"GET\", \"POST\"]}")
check_match "the API is created, deployed to External and published" '^[0-9a-f-]{36}$' "$API_ID"
pcall "" -H 'X-WSO2-Tenant: acme.com' "$PORTAL_URL/api/am/devportal/v3/apis/$API_ID"
check_eq "anonymous REST read of the PUBLIC API" 200 "$CODE"

mkdir -p "$GH_ROOT/tests/out"
PORTAL_URL=$PORTAL_URL GWE_URL=$GWE_URL API_ID=$API_ID XSS_DESC=$XSS_DESC OUT_DIR=$GH_ROOT/tests/out \
	KM_URL=$KM_URL timeout 110 node "$GH_ROOT/tests/web/devportal.mjs"
rc=$?
[ $rc -eq 0 ] || echo "devportal.mjs exited $rc"

check_eq "the sessions live in the database (one signed-in row left)" 1 \
	"$(sql "SELECT count(*) FROM gh_web_sessions WHERE kind = 'session' AND username = 'dev1' AND tenant = 'acme.com'")"
check_eq "no session id is stored in clear (keys are SHA-256 hex)" 0 \
	"$(sql "SELECT count(*) FROM gh_web_sessions WHERE id_hash !~ '^[0-9a-f]{64}$'")"
check_eq "the logout revoked the first session's tokens at the key manager" t \
	"$(sql "SELECT count(*) >= 1 FROM gh_revoked_tokens")"
check_match "the portal audited web logins" '^[1-9]' "$(sql "SELECT count(*) FROM gh_audit WHERE action = 'web.login'")"
check_done
