#!/usr/bin/env bash
# The rest of the developer portal's web UI in headless Chromium against the real services:
# control plane + traffic manager + gw-external; two portal sites (ext.localhost lists
# External only, every other host every environment); tenants acme.com (users dev1 and dev2,
# dev2 in the role gold-partners) and closed.org (self sign-up off); APIs of acme.com deployed
# to Internal and External, Internal only, RESTRICTED to gold-partners, imported from an
# OpenAPI document with markup in its text, a few tagged "bulk" for paging; carbon.super's
# PUBLIC and PRIVATE APIs open to all tenants.  tests/web/devportal-more.mjs drives the
# browser (its checks and "N passed, N failed" line are counted by tests/run); the checks
# after it read what the browser did from the other side (backends, tokens, audit).
. "$GH_ROOT/tests/lib/tm.sh"
. "$GH_ROOT/tests/lib/check.sh"
trap gw_teardown EXIT

CP_EXTRA_CONF=("sites = ext.localhost=External; *=*")
gw_setup web3 || { echo "0 passed, 1 failed"; exit 1; }
# ext.localhost signs in too: its callback joins the login client's redirect URIs.
sed -i 's/^hostnames = .*/hostnames = localhost, 127.0.0.1, ext.localhost/' "$KM_CONF"
out=$("$GH_BIN/gatehouse" init --first --config "$KM_CONF" --admin-password-file "$GH_TMP/web3/admin-password" 2>&1)
check_match "init registers ext.localhost's callback" "https://ext.localhost:${PORTAL_URL##*:}/devportal/callback" "$out"
tm_start || { echo "$_pass passed, $((_fail + 1)) failed"; exit 1; }
gw_start gw-external "analytics_interval = 200ms" "spool_dir = $GH_TMP/spool" ||
	{ echo "$_pass passed, $((_fail + 1)) failed"; exit 1; }
sql "UPDATE gh_environments SET vhosts = '[{\"host\": \"localhost\", \"httpsPort\": ${GWE_URL##*:}}]' WHERE name = 'External'"
EXT_URL=https://ext.localhost:${PORTAL_URL##*:}

tenant_create acme.com acmeadmin 'Acme-adm1n-pw' || { echo "tenant_create failed"; echo "$_pass passed, $((_fail + 1)) failed"; exit 1; }
tenant_create closed.org closedadmin 'Closed-adm1n-pw' || { echo "$_pass passed, $((_fail + 1)) failed"; exit 1; }
ACME=$(mgmt_token 'acmeadmin@acme.com' 'Acme-adm1n-pw' "$ALL_SCOPES")
pcall "$ACME" -X PUT -H 'Content-Type: application/json' -d '{"selfSignUp": true}' "$PUB_URL/api/am/admin/v4/tenant-settings"
check_eq "acme.com turns self sign-up on" 200 "$CODE"
PW1='Dev1-pass-word' PW1_NEW='Dev1-new-pass-2' PW2='Dev2-pass-word'
ldap_user acme.com dev1 "$PW1" subscriber && ldap_user acme.com dev2 "$PW2" subscriber
check_eq "users dev1 and dev2 of acme.com" 0 $?
printf 'dn: cn=gold-partners,ou=groups,o=acme.com,%s\nobjectClass: groupOfNames\ncn: gold-partners\nmember: uid=dev2,ou=users,o=acme.com,%s\n' \
	"$KM_LDAP_BASE" "$KM_LDAP_BASE" | ldapadd -x -H "$GH_TEST_LDAP_URI" -D "$GH_TEST_LDAP_ROOTDN" -w "$GH_TEST_LDAP_ROOTPW" >/dev/null
check_eq "dev2 holds the role gold-partners" 0 $?

CORS="\"corsConfiguration\": {\"corsConfigurationEnabled\": true, \"accessControlAllowOrigins\": [\"$PORTAL_URL\", \"$EXT_URL\"],
	\"accessControlAllowHeaders\": [\"authorization\", \"content-type\", \"apikey\"], \"accessControlAllowMethods\": [\"GET\", \"POST\"]}"
XSS_TAG='<img src=x onerror=alert(7)>'
acme_api() { ADM=$ACME gw_api "$@"; }
API_BOTH=$(acme_api MoreWeather /moreweather 1.0.0 "Internal External" "\"securityScheme\": [\"oauth2\", \"api_key\"],
	\"tags\": [\"weather\", \"$XSS_TAG\"], \"description\": \"Forecasts <script>alert(6)</script>\", $CORS")
API_INT=$(acme_api InternalOnly /internalonly 1.0.0 Internal '"tags": ["weather"]')
API_RESTR=$(acme_api AcmeRestricted /restricted 1.0.0 External '"visibility": "RESTRICTED", "visibleRoles": ["gold-partners"]')
for i in 1 2 3; do acme_api "Bulk$i" "/bulk$i" 1.0.0 External '"tags": ["bulk"]' >/dev/null; done
API_SPUB=$(gw_api SuperPublic /superpublic 1.0.0 External '"subscriptionAvailability": "ALL_TENANTS"')
API_SPRIV=$(gw_api SuperPrivate /superprivate 1.0.0 External '"visibility": "PRIVATE", "subscriptionAvailability": "ALL_TENANTS"')
for v in "$API_BOTH" "$API_INT" "$API_RESTR" "$API_SPUB" "$API_SPRIV"; do
	check_match "an API is created, deployed and published" '^[0-9a-f-]{36}$' "$v"
done
pcall "$ACME" -H 'Content-Type: application/json' -d '{"name": "Bad<b>Name", "context": "/badname", "version": "1.0.0"}' \
	"$PUB_URL/api/am/publisher/v4/apis"
check_eq "the publisher refuses markup in API names (so names cannot carry XSS)" 400 "$CODE"

# An API imported from an OpenAPI document with markup in its texts, deployed to External.
OA_DOC='{"openapi": "3.0.1", "info": {"title": "OpenApiXss", "version": "1.0.0",
 "description": "Info <script>alert(8)</script> and <img src=x onerror=alert(9)>"},
 "paths": {"/items/{id}": {"get": {"summary": "Get <b>one</b> item", "description": "Returns <script>alert(10)</script>",
   "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"},
     "description": "The id <img src=x onerror=alert(11)>"}],
   "responses": {"200": {"description": "OK <iframe src=javascript:alert(12)></iframe>"}}}}}}'
printf '%s' "$OA_DOC" >"$GH_TMP/openapi.json"
P=$PUB_URL/api/am/publisher/v4
pcall "$ACME" -F "file=@$GH_TMP/openapi.json;type=application/json" -F "additionalProperties={\"name\": \"OpenApiXss\",
	\"context\": \"/openapixss\", \"version\": \"1.0.0\", \"policies\": [\"Gold\", \"Unlimited\"],
	\"endpointConfig\": {\"endpoint_type\": \"http\", \"production_endpoints\": {\"url\": \"$BE_PROD_URL\"},
	\"sandbox_endpoints\": {\"url\": \"$BE_SAND_URL\"}}}" "$P/apis/import-openapi"
check_eq "the OpenAPI document is imported (with endpoints and policies)" 201 "$CODE"
API_OA=$(jget "$BODY" id)
pcall "$ACME" -H 'Content-Type: application/json' -d '{"description":"r1"}' "$P/apis/$API_OA/revisions"
REV=$(jget "$BODY" id)
pcall "$ACME" -H 'Content-Type: application/json' -d '[{"name":"External","vhost":"localhost","displayOnDevportal":true}]' \
	"$P/apis/$API_OA/deploy-revision?revisionId=$REV"
check_eq "it is deployed to External" 201 "$CODE"
pcall "$ACME" -X POST "$P/apis/change-lifecycle?action=Publish&apiId=$API_OA"
check_eq "and published" 200 "$CODE"

D=$PORTAL_URL/api/am/devportal/v3
pcall "" -H 'X-WSO2-Tenant: closed.org' "$D/settings"
check_eq "GET /settings: closed.org has self sign-up off" "200 false" "$CODE $(jget "$BODY" selfSignUp)"
pcall "" -H 'X-WSO2-Tenant: acme.com' "$D/settings"
check_eq "GET /settings: acme.com has it on" "200 true" "$CODE $(jget "$BODY" selfSignUp)"
pcall "" -H 'Content-Type: application/json' -d '{"tenant": "closed.org", "username": "eve", "password": "Eve-pass-word"}' \
	"$PORTAL_URL/devportal/signup"
check_eq "sign-up in closed.org is refused" 403 "$CODE"
pcall "$ADM" -H 'X-WSO2-Tenant: carbon.super' "$D/apis/$API_SPRIV"
check_eq "carbon.super's own users see its PRIVATE API (so the browser's miss below means something)" 200 "$CODE"
pcall "" -H 'Host: ext.localhost' -H 'X-WSO2-Tenant: acme.com' "$D/apis/$API_INT"
check_eq "REST on the external site: the Internal-only API is not there" 404 "$CODE"

mkdir -p "$GH_ROOT/tests/out"
PORTAL_URL=$PORTAL_URL EXT_URL=$EXT_URL GWE_URL=$GWE_URL KM_URL=$KM_URL OUT_DIR=$GH_ROOT/tests/out \
	API_BOTH=$API_BOTH API_INT=$API_INT API_RESTR=$API_RESTR API_OA=$API_OA API_SPUB=$API_SPUB \
	API_SPRIV=$API_SPRIV XSS_TAG=$XSS_TAG PW1=$PW1 PW1_NEW=$PW1_NEW PW2=$PW2 \
	timeout 150 node "$GH_ROOT/tests/web/devportal-more.mjs"
rc=$?
[ $rc -eq 0 ] || echo "devportal-more.mjs exited $rc"

check_match "the sandbox backend got the sandbox key's call from the try-it console" '"path": "/ping"' \
	"$(cat "$BE_SAND_LOG")"
check_match "the password change is audited by the portal" '^[1-9]' \
	"$(sql "SELECT count(*) FROM gh_audit WHERE component = 'portal' AND action = 'user.password.change'")"
T=$(mgmt_token 'dev1@acme.com' "$PW1" 'apim:subscribe')
check_eq "the old password no longer gets a token" '<absent>' "$T"
T=$(mgmt_token 'dev1@acme.com' "$PW1_NEW" 'apim:subscribe')
check_match "the new one does" '^ey' "$T"
# The REST side of the password change (the browser used the session; a Bearer token works too).
T2=$(mgmt_token 'dev2@acme.com' "$PW2" 'apim:subscribe')
CP=$D/me/change-password
pcall "" -H 'Content-Type: application/json' -d '{"currentPassword": "x", "newPassword": "y"}' "$CP"
check_eq "change-password without credentials: 401" 401 "$CODE"
pcall "$T2" -H 'Content-Type: application/json' -d "{\"currentPassword\": \"$PW2\"}" "$CP"
check_eq "without newPassword: 400 naming it" "400 newPassword is required" "$CODE $(jget "$BODY" description)"
pcall "$T2" -H 'Content-Type: application/json' -d "{\"currentPassword\": \"$PW2\", \"newPassword\": \"short\"}" "$CP"
check_eq "a short new password: the key manager's 400" "400 newPassword must be 8 to 256 characters" \
	"$CODE $(jget "$BODY" description)"
pcall "$T2" -H 'Content-Type: application/json' -d "{\"currentPassword\": \"$PW2\", \"newPassword\": \"$PW2\"}" "$CP"
check_eq "the same password again: 400" 400 "$CODE"
pcall "$T2" -H 'Content-Type: text/plain' -d 'x' "$CP"
check_eq "not JSON: 415" 415 "$CODE"
pcall "$T2" -H 'Content-Type: application/json' -d "{\"currentPassword\": \"$PW2\", \"newPassword\": \"Dev2-other-pass\"}" "$CP"
check_eq "with a Bearer token: 200" 200 "$CODE"
check_match "the changed password gets a token" '^ey' "$(mgmt_token 'dev2@acme.com' 'Dev2-other-pass' 'apim:subscribe')"
check_eq "the edited application is stored with its new name and tier" "Keyboard App Renamed|20PerMin" \
	"$(sql "SELECT name, tier FROM gh_applications WHERE name LIKE 'Keyboard App%'")"
check_eq "the deleted application is gone" 0 "$(sql "SELECT count(*) FROM gh_applications WHERE name = 'Temp App'")"
check_done
