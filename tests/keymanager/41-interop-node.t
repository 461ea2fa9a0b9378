#!/usr/bin/env bash
# Interoperability with Node clients nobody here wrote (npm openid-client v6
# and jose, pinned in tests/package.json): discovery of our metadata, a
# client_credentials token, introspection, revocation, and verification of the
# JWT through our JWKS URL (createRemoteJWKSet) with issuer and audience checks.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/km.sh"
trap km_stop EXIT
if [ ! -d "$GH_ROOT/tests/node_modules/openid-client" ] || [ ! -d "$GH_ROOT/tests/node_modules/jose" ]; then
	check_ok "npm packages installed by make deps (tests/node_modules/openid-client, jose)" false
	check_done; exit
fi
km_start node || { echo "0 passed, 1 failed"; exit 1; }


call -u "admin:$KM_ADMIN_PW" -H 'Content-Type: application/json' \
	-d '{"clientName":"node_interop","owner":"admin","grantType":"client_credentials","callbackUrl":"","saasApp":false}' \
	"$KM_URL/client-registration/v0.17/register"
check_eq "DCR of the Node client: 200" "200" "$CODE"
CID=$(jget "$BODY" clientId); CSECRET=$(jget "$BODY" clientSecret)

# Both discovery documents name the same issuer, and it is the configured URL.
for doc in openid-configuration oauth-authorization-server; do
	call "$KM_URL/.well-known/$doc"
	check_eq "$doc: 200" "200" "$CODE"
	check_eq "$doc: issuer" "$KM_URL" "$(jget "$BODY" issuer)"
	check_eq "$doc: jwks_uri" "$KM_URL/oauth2/jwks" "$(jget "$BODY" jwks_uri)"
	check_eq "$doc: introspection_endpoint" "$KM_URL/oauth2/introspect" "$(jget "$BODY" introspection_endpoint)"
	check_eq "$doc: revocation_endpoint" "$KM_URL/oauth2/revoke" "$(jget "$BODY" revocation_endpoint)"
done

out=$(cd "$GH_ROOT/tests" && NODE_EXTRA_CA_CERTS=$KM_CA timeout 30 node keymanager/interop-openid.mjs \
	"$KM_URL" "$CID" "$CSECRET" 2>&1)
line() { printf '%s\n' "$out" | sed -n "s/^$1: //p" | head -n 1; }
check_eq "openid-client discovers the metadata" "ok" "$(line discovery)"
check_eq "openid-client sees our issuer" "$KM_URL" "$(line issuer)"
check_eq "metadata token_endpoint" "$KM_URL/oauth2/token" "$(line token_endpoint)"
check_eq "metadata lists client_credentials" "true" "$(line 'grant_types_supported has client_credentials')"
check_eq "openid-client gets a client_credentials token" "ok" "$(line cc)"
check_eq "token_type bearer" "bearer" "$(line token_type)"
check_eq "expires_in > 0" "true" "$(line 'expires_in positive')"
check_eq "signed RS256 by default" "RS256" "$(line alg)"
check_eq "header names its kid" "true" "$(line 'kid present')"
check_eq "jose verifies it through createRemoteJWKSet (issuer, audience gatehouse-management)" "ok" "$(line jose)"
check_match "jose: sub is the client or its owner" "^($CID|admin)\$" "$(line 'jose sub')"
check_eq "jose: client_id" "$CID" "$(line 'jose client_id')"
check_eq "jose: tenant" "carbon.super" "$(line 'jose tenant')"
check_eq "jose refuses it for the gateway audience" "refused ERR_JWT_CLAIM_VALIDATION_FAILED" "$(line 'jose gateway audience')"
check_eq "jose refuses another issuer" "refused ERR_JWT_CLAIM_VALIDATION_FAILED" "$(line 'jose foreign issuer')"
check_eq "jose refuses a flipped signature" "refused ERR_JWS_SIGNATURE_VERIFICATION_FAILED" "$(line 'jose tampered')"
check_eq "openid-client introspects it: active" "true" "$(line 'introspect1 active')"
check_eq "introspection names the client" "$CID" "$(line 'introspect1 client_id')"
check_eq "openid-client revokes it" "ok" "$(line revoke)"
check_eq "introspected again: inactive" "false" "$(line 'introspect2 active')"
check_eq "jose still verifies the signature (revocation is the key manager's)" "ok" "$(line 'jose after revoke')"
check_match "a wrong secret: 401 invalid_client, or the Basic challenge" \
	'^refused (invalid_client 401|OAUTH_WWW_AUTHENTICATE_CHALLENGE 401 [Bb]asic)' "$(line 'wrong secret')"
if [ "$_fail" -ne 0 ]; then printf 'node output:\n%s\n' "$out"; fi

n=$(psql "$KM_DB" -qAt -c "SELECT count(*) FROM gh_revoked_tokens")
check_eq "the revocation is stored as one jti" "1" "$n"
km_kill "$KM_PID"; rc=$?
check_eq "SIGTERM stops it cleanly" "0" "$rc"
check_nomatch "no sanitizer report" "ERROR: (Address|Leak)Sanitizer|runtime error" "$(cat "$KM_LOG")"
check_done
