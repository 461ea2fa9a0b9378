#!/usr/bin/env bash
# WSO2's CLI flow (apictl and the scripts of its documentation) with curl:
# DCR with the admin's Basic credentials -> password grant with the client it
# returned -> refresh (rotation) -> revoke the refresh token -> that refresh
# token is refused (invalid_grant) and the access token issued from it
# introspects inactive.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/km.sh"
trap km_stop EXIT
km_start cli || { echo "0 passed, 1 failed"; exit 1; }


# 1. DCR, exactly as WSO2's documentation shows it.
call -u "admin:$KM_ADMIN_PW" -H 'Content-Type: application/json' \
	-d '{"callbackUrl":"www.google.lk","clientName":"rest_api_publisher","owner":"admin","grantType":"client_credentials password refresh_token","saasApp":true}' \
	"$KM_URL/client-registration/v0.17/register"
check_eq "DCR answers 200" "200" "$CODE"
CID=$(jget "$BODY" clientId); CSECRET=$(jget "$BODY" clientSecret)
check_match "DCR returns a clientId" '^[A-Za-z0-9_-]{20,}$' "$CID"
check_match "DCR returns a clientSecret" '^[A-Za-z0-9_-]{32,}$' "$CSECRET"
check_eq "DCR clientName" "rest_api_publisher" "$(jget "$BODY" clientName)"
check_eq "DCR callBackURL" "www.google.lk" "$(jget "$BODY" callBackURL)"
check_eq "DCR isSaasApplication" "true" "$(jget "$BODY" isSaasApplication)"
check_eq "DCR appOwner" "admin" "$(jget "$BODY" appOwner)"
check_match "DCR jsonString names the grant types" 'password' "$(jget "$BODY" jsonString)"
row=$(psql "$KM_DB" -qAt -c "SELECT secret_hash, audience FROM gh_oauth_clients WHERE client_id = '$CID'")
check_eq "the secret is stored as its SHA-256, the client is a management client" \
	"$(printf '%s' "$CSECRET" | sha256sum | cut -d' ' -f1)|gatehouse-management" "$row"

# 2. Password grant with the returned client (Basic), WSO2's publisher scopes.
logins() { psql "$KM_DB" -qAt -c "SELECT count(*) FROM gh_audit WHERE action = 'user.login' AND actor = 'admin' AND outcome = '$1'"; }
LOGINS=$(logins success)
call -u "$CID:$CSECRET" --data-urlencode grant_type=password --data-urlencode username=admin \
	--data-urlencode "password=$KM_ADMIN_PW" --data-urlencode 'scope=apim:api_view apim:api_create' \
	"$KM_URL/oauth2/token"
check_eq "password grant: 200" "200" "$CODE"
A1=$(jget "$BODY" access_token); R1=$(jget "$BODY" refresh_token)
check_eq "password grant: token_type" "Bearer" "$(jget "$BODY" token_type)"
check_eq "password grant: both scopes granted to admin" "apim:api_view apim:api_create" "$(jget "$BODY" scope)"
check_match "password grant: expires_in" '^[1-9][0-9]*$' "$(jget "$BODY" expires_in)"
check_match "password grant: a refresh token" '^[A-Za-z0-9_-]{40,}$' "$R1"
C1=$(jwt_claims "$A1")
check_eq "access token: sub" "admin" "$(jget "$C1" sub)"
check_eq "access token: aud is the management audience" "gatehouse-management" "$(jget "$C1" aud)"
check_eq "access token: iss is the public URL" "$KM_URL" "$(jget "$C1" iss)"
check_eq "access token: tenant" "carbon.super" "$(jget "$C1" tenant)"
check_eq "access token: client_id" "$CID" "$(jget "$C1" client_id)"
check_eq "access token: azp" "$CID" "$(jget "$C1" azp)"

# A wrong password with the same client is refused with RFC 6749's code.
call -u "$CID:$CSECRET" -d grant_type=password -d username=admin -d password=wrong-password "$KM_URL/oauth2/token"
check_eq "wrong password: 400" "400" "$CODE"
check_eq "wrong password: invalid_grant" "invalid_grant" "$(jget "$BODY" error)"

# 3. Refresh: new access and refresh tokens, the old refresh token rotated.
call -u "$CID:$CSECRET" --data-urlencode grant_type=refresh_token --data-urlencode "refresh_token=$R1" \
	"$KM_URL/oauth2/token"
check_eq "refresh: 200" "200" "$CODE"
A2=$(jget "$BODY" access_token); R2=$(jget "$BODY" refresh_token)
check_match "refresh: a new refresh token" '^[A-Za-z0-9_-]{40,}$' "$R2"
check_ne "refresh: rotated (new value)" "$R1" "$R2"
check_ne "refresh: a new access token" "$A1" "$A2"
check_eq "refresh: same scopes" "apim:api_view apim:api_create" "$(jget "$BODY" scope)"
check_eq "refreshed token: sub" "admin" "$(jget "$(jwt_claims "$A2")" sub)"

call -u "$CID:$CSECRET" --data-urlencode "token=$A2" "$KM_URL/oauth2/introspect"
check_eq "introspect before revocation: 200" "200" "$CODE"
check_eq "introspect before revocation: active" "true" "$(jget "$BODY" active)"
check_eq "introspect: client_id" "$CID" "$(jget "$BODY" client_id)"
check_eq "introspect: scope" "apim:api_view apim:api_create" "$(jget "$BODY" scope)"

# 4. Revoke the current refresh token (RFC 7009, as the CLI's logout does).
call -u "$CID:$CSECRET" --data-urlencode "token=$R2" -d token_type_hint=refresh_token "$KM_URL/oauth2/revoke"
check_eq "revoke: 200" "200" "$CODE"

# 5. The revoked refresh token no longer works; the access token from it is inactive.
call -u "$CID:$CSECRET" --data-urlencode grant_type=refresh_token --data-urlencode "refresh_token=$R2" \
	"$KM_URL/oauth2/token"
check_eq "refresh after revocation: 400" "400" "$CODE"
check_eq "refresh after revocation: invalid_grant" "invalid_grant" "$(jget "$BODY" error)"
check_match "refresh after revocation: error_description" '.' "$(jget "$BODY" error_description)"
call -u "$CID:$CSECRET" --data-urlencode "token=$A2" "$KM_URL/oauth2/introspect"
check_eq "introspect after revocation: 200" "200" "$CODE"
check_eq "introspect after revocation: exactly {\"active\":false}" '{"active": false}' "$(jget "$BODY" '')"
# Revoking again, or an unknown token, is still 200 (RFC 7009 §2.2).
call -u "$CID:$CSECRET" --data-urlencode "token=$R2" "$KM_URL/oauth2/revoke"
check_eq "revoke again: 200" "200" "$CODE"
call -u "$CID:$CSECRET" -d token=never-issued "$KM_URL/oauth2/revoke"
check_eq "revoke an unknown token: 200" "200" "$CODE"

check_eq "the password grant's login is audited (one success row)" "$((LOGINS + 1))" "$(logins success)"
n=$(psql "$KM_DB" -qAt -c "SELECT count(*) FROM gh_audit WHERE action = 'user.login' AND outcome = 'failure' AND client_addr = '127.0.0.1'")
check_eq "the failed login is audited with the client address" "1" "$n"

km_kill "$KM_PID"; rc=$?
check_eq "SIGTERM stops it cleanly" "0" "$rc"
check_nomatch "no sanitizer report" "ERROR: (Address|Leak)Sanitizer|runtime error" "$(cat "$KM_LOG")"
check_done
