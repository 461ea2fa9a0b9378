#!/usr/bin/env bash
# Authentication and authorization end to end: every scheme (JWT, opaque token, API key, Basic on
# gw-internal only), missing and invalid credentials with WSO2's codes and WWW-Authenticate
# challenges, a management-audience token, no subscription, a blocked subscription, a revoked
# token, a revoked API key and a regenerated secret each refused within 1 s (through the feed),
# and the failed-authentication limiter (429).
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/gw.sh"
trap gw_teardown EXIT
gw_setup g30 || { echo "0 passed, 1 failed"; exit 1; }
D=$PORTAL_URL/api/am/devportal/v3
P=$PUB_URL/api/am/publisher/v4
SEC='"securityScheme":["oauth2","api_key","basic_auth"]'
API=$(gw_api Auth /auth 1.0 "Internal External" "$SEC")
OTHER=$(gw_api Other /other 1.0 "Internal External")
gw_app AuthApp "$API" Gold || echo "FAIL: application"
gw_start gw-internal "auth_failures_per_min = 20" || { echo "0 passed, 1 failed"; exit 1; }
gw_start gw-external || { echo "0 passed, 1 failed"; exit 1; }

# hdrs URL curl-args: status line and headers only
hdrs() { gwi -o /dev/null -D - "$@" | tr -d '\r'; }
st() { gwi -o /dev/null -w '%{http_code}' "$@"; }

# --- JWT
check_eq "JWT: 200 on gw-external" "200" "$(st -H "Authorization: Bearer $TOKEN" "$GWE_URL/auth/1.0/x")"
check_eq "JWT: 200 on gw-internal" "200" "$(st -H "Authorization: Bearer $TOKEN" "$GWI_URL/auth/1.0/x")"
check_eq "JWT: cached, 200 again" "200" "$(st -H "Authorization: Bearer $TOKEN" "$GWE_URL/auth/1.0/x")"
check_nomatch "the Authorization header is not forwarded" 'Bearer' "$(tail -1 "$BE_PROD_LOG")"

# --- missing and invalid
H=$(hdrs "$GWE_URL/auth/1.0/x")
check_match "no credentials: 401" '^HTTP/1.1 401' "$H"
check_match "no credentials: Bearer challenge" '^WWW-Authenticate: Bearer realm="gatehouse"$' "$H"
check_match "no credentials: code 900902" '"code":900902' "$(gwe "$GWE_URL/auth/1.0/x")"
check_match "gw-internal, Basic enabled: a Basic challenge too" '^WWW-Authenticate: Basic realm="gatehouse"' \
	"$(hdrs "$GWI_URL/auth/1.0/x")"
H=$(hdrs -H "Authorization: Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0." "$GWE_URL/auth/1.0/x")
check_match "alg none: 401 invalid_token" '^WWW-Authenticate: Bearer realm="gatehouse", error="invalid_token"' "$H"
check_match "a forged token: 900901" '"code":900901' \
	"$(gwe -H "Authorization: Bearer ${TOKEN%.*}.AAAA" "$GWE_URL/auth/1.0/x")"
check_eq "a scheme the API does not enable counts as missing" "401" \
	"$(st -H "apikey: $TOKEN" "$GWE_URL/other/1.0/x")"
check_eq "an access token in the apikey header is refused" "401" "$(st -H "apikey: $TOKEN" "$GWE_URL/auth/1.0/x")"
check_eq "a management-audience token: 401" "401" "$(st -H "Authorization: Bearer $ADM" "$GWE_URL/auth/1.0/x")"

# --- opaque tokens (an application whose token type is OPAQUE)
pcall "$DEV_TOKEN" -H 'Content-Type: application/json' \
	-d '{"name":"OpaqueApp","throttlingPolicy":"Unlimited","tokenType":"OAUTH"}' "$D/applications"
OAPP=$(jget "$BODY" applicationId)
pcall "$DEV_TOKEN" -H 'Content-Type: application/json' \
	-d "{\"apiId\":\"$API\",\"applicationId\":\"$OAPP\",\"throttlingPolicy\":\"Gold\"}" "$D/subscriptions"
pcall "$DEV_TOKEN" -H 'Content-Type: application/json' \
	-d '{"keyType":"PRODUCTION","grantTypesToBeSupported":["client_credentials"]}' "$D/applications/$OAPP/generate-keys"
OCK=$(jget "$BODY" consumerKey); OCS=$(jget "$BODY" consumerSecret)
OTOK=$(gw_token "$OCK" "$OCS")
if [ -n "$OTOK" ] && [ "${OTOK#ey}" = "$OTOK" ]; then
	check_eq "opaque token: introspected, 200" "200" \
		"$(gw_wait_code 200 3000 -H "Authorization: Bearer $OTOK" "$GWE_URL/auth/1.0/x")"
	check_eq "opaque token: cached, 200" "200" "$(st -H "Authorization: Bearer $OTOK" "$GWE_URL/auth/1.0/x")"
else
	_ko "opaque token" "the key manager gave [${OTOK:0:20}...] (not opaque)"
fi
check_eq "an unknown opaque token: 401" "401" \
	"$(st -H "Authorization: Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "$GWE_URL/auth/1.0/x")"

# --- API key
pcall "$DEV_TOKEN" -H 'Content-Type: application/json' -d '{"validityPeriod":3600}' \
	"$D/applications/$APP_ID/api-keys/PRODUCTION/generate"
AKEY=$(jget "$BODY" apikey)
check_match "an API key" '^ey' "$AKEY"
check_eq "API key: 200" "200" "$(gw_wait_code 200 3000 -H "apikey: $AKEY" "$GWE_URL/auth/1.0/x")"
check_eq "API key as a Bearer token: 401" "401" "$(st -H "Authorization: Bearer $AKEY" "$GWE_URL/auth/1.0/x")"

# --- no subscription
check_match "no subscription: 403 900908" '"code":900908' \
	"$(gwe -H "Authorization: Bearer $TOKEN" "$GWE_URL/other/1.0/x")"

# --- Basic: gw-internal only
ldap_user carbon.super basicuser 'Basic-pass-1' subscriber
BAS=$(printf 'basicuser:Basic-pass-1' | base64 -w0)
check_eq "Basic on gw-internal: 200" "200" "$(st -H "Authorization: Basic $BAS" "$GWI_URL/auth/1.0/x")"
check_eq "Basic on gw-internal, cached: 200" "200" "$(st -H "Authorization: Basic $BAS" "$GWI_URL/auth/1.0/x")"
H=$(hdrs -H "Authorization: Basic $(printf 'basicuser:wrong' | base64 -w0)" "$GWI_URL/auth/1.0/x")
check_match "Basic, wrong password: 401" '^HTTP/1.1 401' "$H"
check_match "Basic, wrong password: a Basic challenge" '^WWW-Authenticate: Basic realm="gatehouse"' "$H"
check_eq "Basic on gw-external: 401" "401" "$(st -H "Authorization: Basic $BAS" "$GWE_URL/auth/1.0/x")"
check_match "Basic on gw-external: missing credentials" '"code":900902' \
	"$(gwe -H "Authorization: Basic $BAS" "$GWE_URL/auth/1.0/x")"

# --- blocked subscription
pcall "$DEV_TOKEN" "$D/subscriptions?applicationId=$APP_ID"
SUB=$(printf '%s' "$BODY" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["list"][0]["subscriptionId"])' 2>/dev/null)
pcall "$ADM" -X POST "$P/subscriptions/block-subscription?subscriptionId=$SUB&blockState=BLOCKED"
check_eq "blocked subscription: 403 within 1 s" "403" \
	"$(gw_wait_code 403 1000 -H "Authorization: Bearer $TOKEN" "$GWE_URL/auth/1.0/x")"
check_match "blocked subscription: 900907" '"code":900907' "$(gwe -H "Authorization: Bearer $TOKEN" "$GWE_URL/auth/1.0/x")"
pcall "$ADM" -X POST "$P/subscriptions/unblock-subscription?subscriptionId=$SUB"
check_eq "unblocked: 200 again" "200" "$(gw_wait_code 200 1000 -H "Authorization: Bearer $TOKEN" "$GWE_URL/auth/1.0/x")"

# --- revocations through the feed
T2=$(gw_token "$CK" "$CS")
check_eq "a second token: 200" "200" "$(st -H "Authorization: Bearer $T2" "$GWE_URL/auth/1.0/x")"
km_curl -u "$CK:$CS" -d "token=$T2" "$KM_URL/oauth2/revoke" >/dev/null
check_eq "a revoked token: 401 within 1 s" "401" \
	"$(gw_wait_code 401 1000 -H "Authorization: Bearer $T2" "$GWE_URL/auth/1.0/x")"
pcall "$DEV_TOKEN" -H 'Content-Type: application/json' -d "{\"apikey\":\"$AKEY\"}" \
	"$D/applications/$APP_ID/api-keys/PRODUCTION/revoke"
check_eq "a revoked API key: 401 within 1 s" "401" "$(gw_wait_code 401 1000 -H "apikey: $AKEY" "$GWE_URL/auth/1.0/x")"
sleep 1.1     # not-before has a resolution of one second
pcall "$DEV_TOKEN" -X POST "$D/applications/$APP_ID/oauth-keys/$CK/regenerate-secret"
check_eq "a regenerated secret: the old token 401 within 1 s" "401" \
	"$(gw_wait_code 401 1000 -H "Authorization: Bearer $TOKEN" "$GWE_URL/auth/1.0/x")"

# --- the failed-authentication limiter (gw-internal: 20 a minute)
for i in $(seq 1 25); do st -H "Authorization: Bearer x.y.z$i" "$GWI_URL/auth/1.0/x" >/dev/null; done
H=$(hdrs -H "Authorization: Bearer x.y.zz" "$GWI_URL/auth/1.0/x")
check_match "failed authentications: 429" '^HTTP/1.1 429' "$H"
check_match "429 with Retry-After" '^Retry-After: [0-9]+$' "$H"
check_match "429 code 900800" '"code":900800' "$(gwi -H "Authorization: Bearer x.y.zz" "$GWI_URL/auth/1.0/x")"
check_nomatch "no sanitizer report (gw-external)" "ERROR: (Address|Leak)Sanitizer|runtime error" "$(cat "$GWE_LOG")"
check_nomatch "no sanitizer report (gw-internal)" "ERROR: (Address|Leak)Sanitizer|runtime error" "$(cat "$GWI_LOG")"
check_done
