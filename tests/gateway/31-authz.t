#!/usr/bin/env bash
# Authorization at the gateway across tenants and scopes (DESIGN.md "Tenants at the gateway"):
# another tenant's token on a CURRENT_TENANT API is refused even with a subscription row; the
# same tenant is allowed on an ALL_TENANTS API; an operation scope missing from the token
# answers 403 with an insufficient_scope challenge; a deactivated tenant's tokens stop within
# 1 s.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/gw.sh"
trap gw_teardown EXIT
gw_setup g31 || { echo "0 passed, 1 failed"; exit 1; }
A=$PUB_URL/api/am/admin/v4
D=$PORTAL_URL/api/am/devportal/v3
CUR=$(gw_api Cur /cur 1.0 External)
ALL=$(gw_api All /all 1.0 External '"subscriptionAvailability":"ALL_TENANTS"')
SCO=$(gw_api Sco /sco 1.0 External '"scopes":[{"name":"read_items","description":"r","bindings":["subscriber"]}],
	"operations":[{"target":"/secret","verb":"GET","scopes":["read_items"]},{"target":"/open","verb":"GET"}]')
check_match "three APIs deployed" '^[0-9a-f-]{36} [0-9a-f-]{36} [0-9a-f-]{36}$' "$CUR $ALL $SCO"
gw_start gw-external || { echo "0 passed, 1 failed"; exit 1; }
st() { gwe -o /dev/null -w '%{http_code}' "$@"; }

# --- acme.com, a tenant of its own
pcall "$ADM" -H 'Content-Type: application/json' \
	-d '{"domain":"acme.com","adminUsername":"boss","adminPassword":"Boss-pass-123"}' "$A/tenants"
check_eq "tenant acme.com: 201" "201" "$CODE"
ldap_user acme.com devb 'Devb-pass-123' subscriber || echo "FAIL: acme user"
DEVB=$(mgmt_token devb@acme.com 'Devb-pass-123' "apim:subscribe apim:app_manage apim:sub_manage")
pcall "$DEVB" -H 'Content-Type: application/json' -d '{"name":"AcmeApp","throttlingPolicy":"Unlimited"}' "$D/applications"
check_eq "acme application: 201" "201" "$CODE"
AAPP=$(jget "$BODY" applicationId)
pcall "$DEVB" -H 'X-WSO2-Tenant: carbon.super' -H 'Content-Type: application/json' \
	-d "{\"apiId\":\"$ALL\",\"applicationId\":\"$AAPP\",\"throttlingPolicy\":\"Gold\"}" "$D/subscriptions"
check_eq "acme subscribes to carbon.super's ALL_TENANTS API: 201" "201" "$CODE"
pcall "$DEVB" -H 'X-WSO2-Tenant: carbon.super' -H 'Content-Type: application/json' \
	-d "{\"apiId\":\"$CUR\",\"applicationId\":\"$AAPP\",\"throttlingPolicy\":\"Gold\"}" "$D/subscriptions"
check_eq "acme cannot subscribe to the CURRENT_TENANT API: 404" "404" "$CODE"
pcall "$DEVB" -H 'Content-Type: application/json' -d '{"keyType":"PRODUCTION","grantTypesToBeSupported":["client_credentials"]}' \
	"$D/applications/$AAPP/generate-keys"
check_eq "acme keys: 200" "200" "$CODE"
ATOK=$(gw_token "$(jget "$BODY" consumerKey)" "$(jget "$BODY" consumerSecret)")
check_match "acme's token names its tenant" '"tenant": ?"acme.com"' "$(jwt_claims "$ATOK")"
check_eq "acme's token on the ALL_TENANTS API: 200" "200" "$(gw_wait_code 200 2000 -H "Authorization: Bearer $ATOK" "$GWE_URL/all/1.0/x")"

# A subscription row to the CURRENT_TENANT API, written behind the portal's back (with its
# event, as the outbox writes it): the gateway still refuses the other tenant.
psql "$KM_DB" -qAtX -v ON_ERROR_STOP=1 >/dev/null <<SQL
BEGIN;
SELECT pg_advisory_xact_lock(x'67685f6f7574626f'::bigint);
INSERT INTO gh_subscriptions (id, api_id, app_id, tenant, api_tenant, tier, subscriber)
VALUES ('sub-forced', '$CUR', '$AAPP', 'acme.com', 'carbon.super', 'Gold', 'devb@acme.com');
WITH e AS (INSERT INTO gh_events (tenant, type, payload, environments) VALUES ('acme.com', 'subscription.created',
  jsonb_build_object('id', 'sub-forced', 'apiId', '$CUR', 'applicationId', '$AAPP', 'tenant', 'acme.com',
  'apiTenant', 'carbon.super', 'tier', 'Gold', 'status', 'UNBLOCKED'), '{External}') RETURNING id)
SELECT pg_notify('gh_events', id::text) FROM e;
COMMIT;
SQL
sleep 0.5
out=$(gwe -w '\n%{http_code}' -H "Authorization: Bearer $ATOK" "$GWE_URL/cur/1.0/x")
check_eq "acme's token on the CURRENT_TENANT API, even with a subscription: 403" "403" "${out##*$'\n'}"
check_match "the WSO2 code 900908" '"code": ?900908' "${out%$'\n'*}"

# --- scopes
gw_app ScoApp "$SCO" Gold
check_eq "an operation without scopes: 200" "200" "$(gw_wait_code 200 2000 -H "Authorization: Bearer $TOKEN" "$GWE_URL/sco/1.0/open")"
hdr=$(gwe -D - -o "$GH_TMP/body" -H "Authorization: Bearer $TOKEN" "$GWE_URL/sco/1.0/secret" | tr -d '\r')
check_match "a token without the operation's scope: 403" '^HTTP/1.1 403' "$hdr"
check_match "its WSO2 code 900910" '"code": ?900910' "$(cat "$GH_TMP/body")"
check_match "WWW-Authenticate names insufficient_scope" '^[Ww][Ww][Ww]-[Aa]uthenticate: Bearer .*error="insufficient_scope"' "$hdr"
STOK=$(jget "$(km_curl -u "$CK:$CS" -d grant_type=client_credentials -d scope=read_items "$KM_URL/oauth2/token")" access_token)
check_match "a token with the scope (bound to the owner's role)" 'read_items' "$(jwt_claims "$STOK")"
check_eq "with the scope: 200" "200" "$(st -H "Authorization: Bearer $STOK" "$GWE_URL/sco/1.0/secret")"

# --- a deactivated tenant stops at once
pcall "$ADM" -X PUT -H 'Content-Type: application/json' -d '{"status":"inactive"}' "$A/tenants/acme.com"
check_eq "deactivate acme.com: 200" "200" "$CODE"
code=$(gw_wait_code 401 1000 -H "Authorization: Bearer $ATOK" "$GWE_URL/all/1.0/x")
check_match "acme's token within 1 s of the deactivation: refused" '^40[13]$' "$code"
check_eq "carbon.super's traffic goes on" "200" "$(st -H "Authorization: Bearer $STOK" "$GWE_URL/sco/1.0/secret")"
check_done
