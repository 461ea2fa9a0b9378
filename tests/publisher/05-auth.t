#!/usr/bin/env bash
# Management-token checks of the publisher and the portal (DESIGN.md "Tokens, tenants and
# audiences"): Bearer tokens of audience gatehouse-management only, verified against the
# key manager's JWKS; missing, malformed, forged, gateway-audience, revoked (RFC 7009) and
# client-revoked tokens answer 401 with WWW-Authenticate; a missing scope answers 403.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/cp.sh"
trap cp_stop EXIT
cp_start p05 || { echo "0 passed, 1 failed"; exit 1; }
P=$PUB_URL/api/am/publisher/v4
D=$PORTAL_URL/api/am/devportal/v3
status() { km_curl -o /dev/null -w '%{http_code}' "$@"; }

check_eq "publisher: no token → 401" "401" "$(status "$P/apis")"
check_match "publisher: WWW-Authenticate Bearer" '^www-authenticate: Bearer' \
	"$(km_curl -D - -o /dev/null "$P/apis" | tr -d '\r' | tr 'A-Z' 'a-z' | sed -n 's/^www-authenticate: bearer/www-authenticate: Bearer/p')"
check_eq "publisher: error body" "401" "$(jget "$(km_curl "$P/apis")" code)"
check_eq "publisher: Basic instead of Bearer → 401" "401" "$(status -u "admin:$KM_ADMIN_PW" "$P/apis")"
check_eq "publisher: garbage token → 401" "401" "$(status -H 'Authorization: Bearer abc.def.ghi' "$P/apis")"
TOK=$(mgmt_token admin "$KM_ADMIN_PW" "apim:api_view apim:subscribe")
check_eq "publisher: a management token with apim:api_view → 200" "200" "$(status -H "Authorization: Bearer $TOK" "$P/apis")"
VIEW=$(mgmt_token admin "$KM_ADMIN_PW" "apim:api_view")
check_eq "portal: /applications with only apim:api_view → 403" "403" \
	"$(status -H "Authorization: Bearer $VIEW" "$D/applications")"
check_eq "publisher: POST /apis without apim:api_create → 403" "403" \
	"$(status -H "Authorization: Bearer $TOK" -H 'Content-Type: application/json' -d '{}' "$P/apis")"
check_eq "publisher: no row written by the refused create" "0" "$(sql "SELECT count(*) FROM gh_apis")"
# a forged signature: the payload of a real token, signed by nobody
FORGED="${TOK%.*}.$(printf 'x%.0s' $(seq 1 342))"
check_eq "publisher: forged signature → 401" "401" "$(status -H "Authorization: Bearer $FORGED" "$P/apis")"
# alg none with the same claims
NONE="$(printf '{"alg":"none"}' | base64 -w0 | tr '+/' '-_' | tr -d '=').$(echo "$TOK" | cut -d. -f2)."
check_eq "publisher: alg none → 401" "401" "$(status -H "Authorization: Bearer $NONE" "$P/apis")"
# a gateway token (application client) is refused by the management APIs
sql "INSERT INTO gh_applications (id, tenant, name, owner) VALUES ('app-05', 'carbon.super', 'A05', 'admin')" >/dev/null
out=$(km_portal_curl -H 'Content-Type: application/json' -d '{"applicationId":"app-05","applicationName":"A05","tier":"Unlimited","keyType":"PRODUCTION","owner":"admin","tenant":"carbon.super","grantTypes":["client_credentials"]}' \
	"$KM_INTERNAL_URL/internal/km/v1/clients")
GCK=$(jget "$out" consumerKey); GCS=$(jget "$out" consumerSecret)
[ "$GCK" = "<absent>" ] && { GCK=$(jget "$out" clientId); GCS=$(jget "$out" clientSecret); }
GTOK=$(jget "$(km_curl -u "$GCK:$GCS" -d grant_type=client_credentials "$KM_URL/oauth2/token")" access_token)
check_match "a gateway token" '"aud": ?"gatehouse-gateway"' "$(jwt_claims "$GTOK")"
check_eq "publisher: gateway-audience token → 401" "401" "$(status -H "Authorization: Bearer $GTOK" "$P/apis")"
check_eq "portal: gateway-audience token → 401" "401" "$(status -H "Authorization: Bearer $GTOK" "$D/applications")"
# revoked through RFC 7009: refused at once, on both services
REV=$(mgmt_token admin "$KM_ADMIN_PW" "apim:api_view")
check_eq "before revocation → 200" "200" "$(status -H "Authorization: Bearer $REV" "$P/apis")"
km_curl -u "$CP_CLIENT:$CP_SECRET" -d "token=$REV" "$KM_URL/oauth2/revoke" >/dev/null
check_eq "publisher: revoked token → 401" "401" "$(status -H "Authorization: Bearer $REV" "$P/apis")"
check_eq "portal: revoked token → 401" "401" "$(status -H "Authorization: Bearer $REV" "$D/apis")"
# a deactivated tenant's tokens are refused (its admin included)
ACME_PW="Acme-$(head -c 6 /dev/urandom | base64 | tr -d '/+=')"
tenant_create acme.com boss "$ACME_PW" || echo "FAIL: tenant acme.com"
ACME=$(mgmt_token boss@acme.com "$ACME_PW" "apim:api_view")
check_eq "an active tenant's admin → 200" "200" "$(status -H "Authorization: Bearer $ACME" "$P/apis")"
sql "UPDATE gh_tenants SET status = 'inactive' WHERE domain = 'acme.com'" >/dev/null
check_eq "publisher: the tenant deactivated → 401" "401" "$(status -H "Authorization: Bearer $ACME" "$P/apis")"
check_eq "portal: the tenant deactivated → 401" "401" "$(status -H "Authorization: Bearer $ACME" "$D/applications")"
check_match "the reason is given" 'tenant is not active' "$(km_curl -H "Authorization: Bearer $ACME" "$P/apis")"
# every token of a client issued before its not-before time is refused
sql "UPDATE gh_oauth_clients SET not_before = now() + interval '1 second' WHERE client_id = '$CP_CLIENT'" >/dev/null
check_eq "a token issued before its client's not-before → 401" "401" "$(status -H "Authorization: Bearer $TOK" "$P/apis")"
check_done
