#!/usr/bin/env bash
# Keys of applications through the key manager: generate-keys (PRODUCTION, SANDBOX),
# the secret shown once, oauth-keys without it, client_credentials tokens carrying the
# application, regenerate-secret (the old secret stops working), generate-token,
# API keys (generate, revoke), the key manager's clients following an application's
# name and tier, and 503 with nothing changed when the key manager is down.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/cp.sh"
. "$GH_ROOT/tests/portal/portal.sh"
trap cp_stop EXIT
portal_start o30 || { echo "0 passed, 1 failed"; exit 1; }
check_ok "alice" ldap_user carbon.super alice 'Al1ce-pw' subscriber
check_ok "bob" ldap_user carbon.super bob 'B0b-pw' subscriber
check_ok "group team" ldap_group carbon.super team bob
ALICE=$(user_token alice 'Al1ce-pw'); BOB=$(user_token bob 'B0b-pw')
dpj "$ALICE" POST /applications '{"name":"Keys","throttlingPolicy":"10PerMin"}'
K1=$(jget "$BODY" applicationId)
dpj "$BOB" POST /applications '{"name":"Bobs","throttlingPolicy":"Unlimited","groups":["team"]}'
B1=$(jget "$BODY" applicationId)

token_cc() { km_curl -u "$1:$2" -d grant_type=client_credentials "$KM_URL/oauth2/token"; }

ev0=$(sql "SELECT coalesce(max(id), 0) FROM gh_events")
dpj "$ALICE" POST "/applications/$K1/generate-keys" \
	'{"keyType":"PRODUCTION","grantTypesToBeSupported":["client_credentials"],"callbackUrl":null,"validityTime":"3600"}' -D "$GH_TMP/h"
check_eq "generate-keys PRODUCTION: 200" 200 "$CODE"
CK=$(jget "$BODY" consumerKey); CS=$(jget "$BODY" consumerSecret)
check_eq "keyMappingId is the consumerKey" "$CK" "$(jget "$BODY" keyMappingId)"
check_eq "WSO2 fields" "Resident Key Manager COMPLETED PRODUCTION [\"client_credentials\"] null" \
	"$(jget "$BODY" keyManager) $(jget "$BODY" keyState) $(jget "$BODY" keyType) $(jget "$BODY" supportedGrantTypes) $(jget "$BODY" token)"
check_match "the secret is shown" '^.{20,}$' "$CS"
check_match "no-store" 'Cache-Control: no-store' "$(cat "$GH_TMP/h")"
check_eq "the client at the key manager" "gatehouse-gateway|$K1|Keys|10PerMin|alice|carbon.super|PRODUCTION|3600" \
	"$(sql "SELECT audience, app_id, app_name, app_tier, app_owner, tenant, key_type, validity_seconds FROM gh_oauth_clients WHERE client_id = '$CK'")"
check_eq "the secret is stored hashed" "$(sha "$CS")" "$(sql "SELECT secret_hash FROM gh_oauth_clients WHERE client_id = '$CK'")"
check_eq "key.created written by the key manager" "key.created|$K1" \
	"$(sql "SELECT type, payload->>'application_id' FROM gh_events WHERE id > $ev0")"
check_eq "audited by the portal" "keys.generate" "$(sql "SELECT action FROM gh_audit WHERE component = 'portal' AND target = '$CK'")"
dpj "$ALICE" POST "/applications/$K1/generate-keys" '{"keyType":"PRODUCTION"}'
check_eq "a second PRODUCTION key: 409" 409 "$CODE"
dpj "$ALICE" POST "/applications/$K1/generate-keys" '{"keyType":"SANDBOX","grantTypesToBeSupported":["client_credentials","password"],"scopes":["default"],"validityTime":600}'
check_eq "generate-keys SANDBOX with a token: 200" 200 "$CODE"
SK=$(jget "$BODY" consumerKey)
STOK=$(jget "$BODY" token.accessToken)
check_eq "the token's validity" 600 "$(jget "$BODY" token.validityTime)"
check_eq "its claims: a gateway token of the application's sandbox key" "gatehouse-gateway SANDBOX $K1 Keys 10PerMin alice" \
	"$(jwt_claims "$STOK" | python3 -c 'import json,sys; c=json.load(sys.stdin); print(c["aud"], c["keytype"], c["application"]["id"], c["application"]["name"], c["application"]["tier"], c["application"]["owner"])')"
bad_gk() { dpj "$ALICE" POST "/applications/$K1/generate-keys" "$2"; check_eq "$1" 400 "$CODE"; }
n0=$(count_rows gh_oauth_clients)
bad_gk "keyType missing" '{}'
bad_gk "keyType unknown" '{"keyType":"STAGING"}'
bad_gk "grant types not an array" '{"keyType":"SANDBOX","grantTypesToBeSupported":"password"}'
bad_gk "validityTime not a number" '{"keyType":"SANDBOX","validityTime":"soon"}'
bad_gk "another key manager" '{"keyType":"SANDBOX","keyManager":"Okta"}'
check_eq "no client written" "$n0" "$(count_rows gh_oauth_clients)"

# oauth-keys never show the secret
dp "$ALICE" GET "/applications/$K1/oauth-keys"
check_eq "oauth-keys: two keys" "200 2" "$CODE $(jget "$BODY" count)"
check_nomatch "never the secret" "consumerSecret|$CS" "$BODY"
dp "$ALICE" GET "/applications/$K1/oauth-keys/$CK"
check_eq "one key" "200 PRODUCTION" "$CODE $(jget "$BODY" keyType)"
check_nomatch "without the secret" "consumerSecret|$CS" "$BODY"
dp "$ALICE" GET "/applications/$K1"
check_eq "the application lists its keys" "PRODUCTION,SANDBOX" \
	"$(printf '%s' "$BODY" | python3 -c 'import json,sys; print(",".join(k["keyType"] for k in json.load(sys.stdin)["keys"]))')"
check_nomatch "without secrets" "$CS" "$BODY"
dp "$ALICE" GET "/applications/$K1/oauth-keys/nope"
check_eq "an unknown keyMappingId: 404" 404 "$CODE"
dp "$BOB" GET "/applications/$K1/oauth-keys"
check_eq "another user's application: 404" 404 "$CODE"
dp "$ALICE" GET "/applications/$B1/oauth-keys/$CK"
check_eq "a key of another application: 404" 404 "$CODE"

# The key works at the token endpoint, with the application in its claims
out=$(token_cc "$CK" "$CS")
TOK=$(jget "$out" access_token)
check_match "client_credentials with the new key" '^ey' "$TOK"
check_eq "claims" "gatehouse-gateway PRODUCTION $K1 10PerMin carbon.super" \
	"$(jwt_claims "$TOK" | python3 -c 'import json,sys; c=json.load(sys.stdin); print(c["aud"], c["keytype"], c["application"]["id"], c["application"]["tier"], c["application"]["tenant"])')"

# regenerate-secret
dp "$ALICE" POST "/applications/$K1/oauth-keys/$CK/regenerate-secret"
check_eq "regenerate-secret: 200" "200 $CK" "$CODE $(jget "$BODY" consumerKey)"
CS2=$(jget "$BODY" consumerSecret)
check_ne "a new secret" "$CS" "$CS2"
check_eq "the old secret fails" "<absent>" "$(jget "$(token_cc "$CK" "$CS")" access_token)"
check_match "the new one works" '^ey' "$(jget "$(token_cc "$CK" "$CS2")" access_token)"

# generate-token (WSO2's UI flow), PUT oauth-keys
dpj "$ALICE" POST "/applications/$K1/oauth-keys/$CK/generate-token" '{"consumerSecret":"x","validityPeriod":900,"scopes":[]}'
check_eq "generate-token" "200 900" "$CODE $(jget "$BODY" validityTime)"
check_eq "a PRODUCTION token of the application" "PRODUCTION $K1" \
	"$(jwt_claims "$(jget "$BODY" accessToken)" | python3 -c 'import json,sys; c=json.load(sys.stdin); print(c["keytype"], c["application"]["id"])')"
dpj "$ALICE" POST "/applications/$K1/oauth-keys/$CK/generate-token" '{"validityPeriod":"x"}'
check_eq "generate-token with a bad validityPeriod: 400" 400 "$CODE"
dpj "$ALICE" PUT "/applications/$K1/oauth-keys/$CK" '{"supportedGrantTypes":["client_credentials","authorization_code"],"callbackUrl":"https://app.example/cb"}'
check_eq "PUT oauth-keys" "200 https://app.example/cb" "$CODE $(jget "$BODY" callbackUrl)"
check_eq "stored" "{client_credentials,authorization_code}" "$(sql "SELECT grant_types FROM gh_oauth_clients WHERE client_id = '$CK'")"
dpj "$ALICE" PUT "/applications/$K1/oauth-keys/$CK" '{"supportedGrantTypes":["implicit"]}'
check_eq "an unknown grant type: 400 from the key manager" 400 "$CODE"
dpj "$ALICE" PUT "/applications/$K1/oauth-keys/$CK" '{}'
check_eq "nothing to change: 400" 400 "$CODE"

# A shared application's member generates keys; the owner stays the owner
dpj "$BOB" POST "/applications/$B1/generate-keys" '{"keyType":"PRODUCTION"}'
check_eq "bob on his shared application" 200 "$CODE"

# API keys
dpj "$ALICE" POST "/applications/$K1/api-keys/PRODUCTION/generate" '{"validityPeriod":3600,"additionalProperties":{}}'
check_eq "api-keys generate" "200 3600" "$CODE $(jget "$BODY" validityTime)"
AK=$(jget "$BODY" apikey)
check_eq "an API key of the application" "apiKey PRODUCTION $K1" \
	"$(jwt_claims "$AK" | python3 -c 'import json,sys; c=json.load(sys.stdin); print(c["token_type"], c["keytype"], c["application"]["id"])')"
dpj "$ALICE" POST "/applications/$K1/api-keys/STAGING/generate" '{}'
check_eq "an unknown key type: 400" 400 "$CODE"
dpj "$BOB" POST "/applications/$B1/api-keys/PRODUCTION/revoke" "{\"apikey\":\"$AK\"}"
check_eq "another application's key cannot be revoked through mine" 400 "$CODE"
dpj "$ALICE" POST "/applications/$K1/api-keys/PRODUCTION/revoke" '{"apikey":"not.a.jwt"}'
check_eq "not an API key: 400" 400 "$CODE"
JTI=$(jwt_claims "$AK" | python3 -c 'import json,sys; print(json.load(sys.stdin)["jti"])')
dpj "$ALICE" POST "/applications/$K1/api-keys/PRODUCTION/revoke" "{\"apikey\":\"$AK\"}"
check_eq "revoke" 200 "$CODE"
check_eq "revoked by jti, announced" "1 1" "$(sql "SELECT count(*) FROM gh_revoked_tokens WHERE jti = '$JTI'") $(sql "SELECT count(*) FROM gh_events WHERE type = 'apikey.revoked' AND payload->>'jti' = '$JTI'")"

# The key manager's clients follow the application's name and tier
ev1=$(sql "SELECT max(id) FROM gh_events")
dpj "$ALICE" PUT "/applications/$K1" '{"name":"Renamed","throttlingPolicy":"50PerMin"}'
check_eq "rename and re-tier: 200" 200 "$CODE"
check_eq "both clients updated" "Renamed|50PerMin
Renamed|50PerMin" "$(sql "SELECT app_name, app_tier FROM gh_oauth_clients WHERE app_id = '$K1' ORDER BY key_type")"
check_eq "events: key.updated twice, then application.updated" "key.updated key.updated application.updated" \
	"$(sql "SELECT string_agg(type, ' ' ORDER BY id) FROM gh_events WHERE id > $ev1")"
check_eq "new tokens carry the new tier" 50PerMin \
	"$(jwt_claims "$(jget "$(token_cc "$CK" "$CS2")" access_token)" | python3 -c 'import json,sys; print(json.load(sys.stdin)["application"]["tier"])')"
dpj "$ALICE" PUT "/applications/$K1" '{"tokenType":"OAUTH"}'
check_eq "tokenType cannot change once there are keys" 400 "$CODE"

# DELETE a key, then an application with keys
dp "$ALICE" DELETE "/applications/$K1/oauth-keys/$SK"
check_eq "DELETE oauth-keys: 204" 204 "$CODE"
check_eq "the client is gone" 0 "$(sql "SELECT count(*) FROM gh_oauth_clients WHERE client_id = '$SK'")"
ev2=$(sql "SELECT max(id) FROM gh_events")
dp "$BOB" DELETE "/applications/$B1"
check_eq "DELETE an application with a key" 200 "$CODE"
check_eq "its client removed at the key manager, then the application" "key.removed application.removed" \
	"$(sql "SELECT string_agg(type, ' ' ORDER BY id) FROM gh_events WHERE id > $ev2")"
check_eq "no client left" 0 "$(sql "SELECT count(*) FROM gh_oauth_clients WHERE app_id = '$B1'")"

# The key manager down: 503 and nothing changed
km_kill "$KM_PID"
ev3=$(sql "SELECT max(id) FROM gh_events")
dpj "$ALICE" PUT "/applications/$K1" '{"name":"Again"}'
check_eq "rename with the key manager down: 503" 503 "$CODE"
check_eq "the application is unchanged" Renamed "$(sql "SELECT name FROM gh_applications WHERE id = '$K1'")"
dp "$ALICE" DELETE "/applications/$K1"
check_eq "delete with the key manager down: 503" 503 "$CODE"
check_eq "the application is still there" 1 "$(sql "SELECT count(*) FROM gh_applications WHERE id = '$K1'")"
dpj "$ALICE" POST "/applications/$K1/generate-keys" '{"keyType":"SANDBOX"}'
check_eq "generate-keys with the key manager down: 503" 503 "$CODE"
check_eq "no event written" "$ev3" "$(sql "SELECT max(id) FROM gh_events")"
dpj "$ALICE" PUT "/applications/$K1" '{"description":"only text"}'
check_eq "a change the key manager need not know still works" 200 "$CODE"
check_done
