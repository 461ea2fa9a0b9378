#!/usr/bin/env bash
# Bad input across the key manager's endpoints: each gets a precise error, and
# nothing is written (clients, refresh tokens, family tokens, opaque tokens,
# codes, revocations, events, LDAP entries unchanged; only the audit rows of
# the failures are added).  Malformed and oversized JSON and form bodies,
# LDAP filter injection as user names, an empty password, a DCR for somebody
# else, a grant the client may not use, bad client secrets, the internal API
# with the wrong certificate role; then a reused refresh token (which revokes
# its family).
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/km.sh"
trap km_stop EXIT
# The harness's curl is the load balancer: each failing request comes from
# another address, so the per-address lock-out never hides the error under test.
km_start bad "[http]" "trusted_proxies = 127.0.0.1" || { echo "0 passed, 1 failed"; exit 1; }

XFF=0
call() {
	local o
	XFF=$((XFF + 1))
	o=$(km_curl -H "X-Forwarded-For: 10.45.$((XFF / 250)).$((XFF % 250 + 1))" -w '\n%{http_code}' "$@")
	BODY=${o%$'\n'*}; CODE=${o##*$'\n'}
}
pki_call() {
	local role=$1 o; shift
	o=$(km_curl --cert "$KM_PKI/$role.crt" --key "$KM_PKI/$role.key" -w '\n%{http_code}' "$@")
	BODY=${o%$'\n'*}; CODE=${o##*$'\n'}
}
# oauth_err NAME STATUS ERROR: the last reply is RFC 6749 §5.2 JSON with that error.
oauth_err() {
	check_eq "$1: $2 $3" "$2 $3" "$CODE $(jget "$BODY" error)"
}
# rest_err NAME STATUS: the last reply is {"code","message","description"} with that status.
rest_err() {
	local desc
	desc=$(jget "$BODY" description)
	check_eq "$1: $2 {code:$2, message, description}" "$2 $2 ok" \
		"$CODE $(jget "$BODY" code) $([ "$(jget "$BODY" message)" != "<absent>" ] && [ "$desc" != "<absent>" ] && echo ok)"
}
ldap_user() {
	local dn="uid=$2,ou=users,o=$1,$KM_LDAP_BASE"
	printf 'dn: %s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\n' "$dn" "$2" "$2" "$2" |
		ldapadd -x -H "$GH_TEST_LDAP_URI" -D "$GH_TEST_LDAP_ROOTDN" -w "$GH_TEST_LDAP_ROOTPW" >/dev/null &&
		ldappasswd -x -H "$GH_TEST_LDAP_URI" -D "$GH_TEST_LDAP_ROOTDN" -w "$GH_TEST_LDAP_ROOTPW" -s "$3" "$dn" >/dev/null
}
TABLES="gh_oauth_clients gh_refresh_tokens gh_family_tokens gh_opaque_tokens gh_auth_codes gh_revoked_tokens gh_events gh_tenants"
counts() {
	local t out=""
	for t in $TABLES; do out="$out$t=$(psql "$KM_DB" -qAt -c "SELECT count(*) FROM $t") "; done
	out="${out}ldap=$(ldapsearch -x -LLL -H "$GH_TEST_LDAP_URI" -D "$GH_TEST_LDAP_ROOTDN" -w "$GH_TEST_LDAP_ROOTPW" \
		-b "$KM_LDAP_BASE" dn | grep -c '^dn:')"
	echo "$out"
}
audit() { psql "$KM_DB" -qAt -c "SELECT count(*) FROM gh_audit WHERE outcome <> 'success'"; }
DCR=$KM_URL/client-registration/v0.17/register
TOKEN=$KM_URL/oauth2/token

# Set-up: a password client, a client_credentials-only client, a user without roles.
call -u "admin:$KM_ADMIN_PW" -H 'Content-Type: application/json' \
	-d '{"clientName":"bad_pw","owner":"admin","grantType":"password refresh_token","saasApp":false}' "$DCR"
check_eq "set-up: DCR of a password client" "200" "$CODE"
CID=$(jget "$BODY" clientId); CSECRET=$(jget "$BODY" clientSecret)
call -u "admin:$KM_ADMIN_PW" -H 'Content-Type: application/json' \
	-d '{"clientName":"bad_cc","owner":"admin","grantType":"client_credentials","saasApp":false}' "$DCR"
check_eq "set-up: DCR of a client_credentials client" "200" "$CODE"
CC_ID=$(jget "$BODY" clientId); CC_SECRET=$(jget "$BODY" clientSecret)
DAVE_PW="Dave-$(head -c 6 /dev/urandom | base64 | tr -d '/+=')"
check_ok "set-up: user dave (no role)" ldap_user carbon.super dave "$DAVE_PW"

BEFORE=$(counts)
echo "# rows before: $BEFORE"
AUDIT_BEFORE=$(audit)

# --- DCR: JSON bodies --------------------------------------------------------
call -u "admin:$KM_ADMIN_PW" -H 'Content-Type: application/json' -d '{"clientName":"x","owner":' "$DCR"
rest_err "DCR: truncated JSON" 400
call -u "admin:$KM_ADMIN_PW" -H 'Content-Type: application/json' -d '["clientName","x"]' "$DCR"
rest_err "DCR: JSON that is no object" 400
call -u "admin:$KM_ADMIN_PW" -H 'Content-Type: application/json' -d '{"owner":"admin","grantType":"client_credentials"}' "$DCR"
rest_err "DCR: no clientName" 400
call -u "admin:$KM_ADMIN_PW" -H 'Content-Type: application/json' -d '{"clientName":42,"owner":"admin","grantType":"client_credentials"}' "$DCR"
rest_err "DCR: clientName of the wrong type" 400
call -u "admin:$KM_ADMIN_PW" -H 'Content-Type: application/json' -d '{"clientName":"x","owner":"admin","grantType":"client_credentials magic"}' "$DCR"
rest_err "DCR: an unknown grant type" 400
call -u "admin:$KM_ADMIN_PW" -H 'Content-Type: application/json' --data-binary $'{"clientName":"x\xff\xfe","owner":"admin","grantType":"client_credentials"}' "$DCR"
rest_err "DCR: invalid UTF-8" 400
head -c 1100000 /dev/zero | tr '\0' 'a' | sed 's/^/{"clientName":"/; s/$/","owner":"admin","grantType":"client_credentials"}/' >"$GH_TMP/big.json"
call -u "admin:$KM_ADMIN_PW" -H 'Content-Type: application/json' --data-binary "@$GH_TMP/big.json" "$DCR"
check_eq "DCR: a 1.1 MB JSON body: 413 (http.max_body_bytes = 1m)" "413" "$CODE"
call -u "admin:$KM_ADMIN_PW" -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' --data-binary "@$GH_TMP/big.json" "$DCR"
check_eq "DCR: the same body chunked: 413" "413" "$CODE"
call -u "admin:wrong-password" -H 'Content-Type: application/json' \
	-d '{"clientName":"x","owner":"admin","grantType":"client_credentials"}' "$DCR"
rest_err "DCR: a wrong password" 401
call -H 'Content-Type: application/json' -d '{"clientName":"x","owner":"admin","grantType":"client_credentials"}' "$DCR"
rest_err "DCR: no credentials" 401
call -u "dave:$DAVE_PW" -H 'Content-Type: application/json' \
	-d '{"clientName":"x","owner":"admin","grantType":"client_credentials"}' "$DCR"
rest_err "DCR by dave whose owner is admin" 403

# --- token endpoint: form bodies ---------------------------------------------
call -u "$CC_ID:$CC_SECRET" -H 'Content-Type: application/json' -d '{"grant_type":"client_credentials"}' "$TOKEN"
oauth_err "token: a JSON body" 400 invalid_request
call -u "$CC_ID:$CC_SECRET" -d grant_type=client_credentials -d grant_type=password "$TOKEN"
oauth_err "token: grant_type twice" 400 invalid_request
call -u "$CC_ID:$CC_SECRET" -d 'grant_type=client_credentials&scope=%zz' "$TOKEN"
oauth_err "token: bad percent-encoding" 400 invalid_request
call -u "$CC_ID:$CC_SECRET" -d 'scope=default' "$TOKEN"
oauth_err "token: no grant_type" 400 invalid_request
call -u "$CC_ID:$CC_SECRET" -d grant_type=urn:example:magic "$TOKEN"
oauth_err "token: unknown grant_type" 400 unsupported_grant_type
head -c 1100000 /dev/zero | tr '\0' 'a' | sed 's/^/grant_type=client_credentials\&scope=/' >"$GH_TMP/big.form"
call -u "$CC_ID:$CC_SECRET" --data-binary "@$GH_TMP/big.form" "$TOKEN"
check_eq "token: a 1.1 MB form body: 413" "413" "$CODE"
call -u "$CC_ID:$CC_SECRET" -G -d grant_type=client_credentials "$TOKEN"
check_match "token: GET is refused (405, or 404 unrouted)" '^(404|405)$' "$CODE"
call -u "$CC_ID:not-the-secret" -d grant_type=client_credentials "$TOKEN"
oauth_err "token: a wrong client secret" 401 invalid_client
check_match "... with WWW-Authenticate: Basic" '^WWW-Authenticate: Basic' \
	"$(km_curl -D - -o /dev/null -H 'X-Forwarded-For: 10.45.99.1' -u "$CC_ID:not-the-secret" -d grant_type=client_credentials "$TOKEN" | tr -d '\r')"
call -u "no-such-client:whatever" -d grant_type=client_credentials "$TOKEN"
oauth_err "token: an unknown client" 401 invalid_client
call -u "$CC_ID:$CC_SECRET" -d grant_type=client_credentials --data-urlencode "client_secret=$CC_SECRET" "$TOKEN"
oauth_err "token: Basic and a form secret together" 400 invalid_request

# --- password grant ----------------------------------------------------------
for name in '*)(uid=*' 'x)(|(objectClass=*' 'admin)(|(uid=*' '*' 'admin*'; do
	call -u "$CID:$CSECRET" --data-urlencode grant_type=password --data-urlencode "username=$name" \
		--data-urlencode "password=$KM_ADMIN_PW" "$TOKEN"
	oauth_err "password grant: user name '$name' with admin's password" 400 invalid_grant
done
call -u "$CID:$CSECRET" -d grant_type=password -d username=admin -d password= "$TOKEN"
oauth_err "password grant: an empty password" 400 invalid_grant
call -u "$CID:$CSECRET" -d grant_type=password -d username=admin "$TOKEN"
oauth_err "password grant: no password" 400 invalid_request
call -u "$CID:$CSECRET" -d grant_type=password -d username= -d password=x "$TOKEN"
check_match "password grant: an empty user name: 400 invalid_request or invalid_grant" \
	'^400 (invalid_request|invalid_grant)$' "$CODE $(jget "$BODY" error)"
call -u "$CC_ID:$CC_SECRET" --data-urlencode grant_type=password --data-urlencode username=admin \
	--data-urlencode "password=$KM_ADMIN_PW" "$TOKEN"
oauth_err "password grant by a client_credentials-only client" 400 unauthorized_client
call -u "$CID:$CSECRET" -d grant_type=client_credentials "$TOKEN"
oauth_err "client_credentials by a password-only client" 400 unauthorized_client
call -u "$CID:$CSECRET" -d grant_type=refresh_token -d refresh_token=never-issued "$TOKEN"
oauth_err "refresh_token: an unknown refresh token" 400 invalid_grant

# --- introspect and revoke -----------------------------------------------------
call -d token=abc "$KM_URL/oauth2/introspect"
oauth_err "introspect without client authentication" 401 invalid_client
call -u "$CC_ID:$CC_SECRET" -d '' "$KM_URL/oauth2/introspect"
oauth_err "introspect without a token" 400 invalid_request
call -u "$CC_ID:$CC_SECRET" -d token=not.a.jwt "$KM_URL/oauth2/introspect"
check_eq "introspect a garbage token: 200 {active:false}" '200 {"active": false}' "$CODE $(jget "$BODY" '')"
call -d token=abc "$KM_URL/oauth2/revoke"
oauth_err "revoke without client authentication" 401 invalid_client
call -u "$CC_ID:$CC_SECRET" -d '' "$KM_URL/oauth2/revoke"
oauth_err "revoke without a token" 400 invalid_request

# --- internal API: the wrong certificate role -----------------------------------
CLIENT_BODY='{"owner":"admin","tenant":"carbon.super","applicationId":"app-45","applicationName":"Bad","tier":"Unlimited","keyType":"PRODUCTION","grantTypes":["client_credentials"],"callbackUrl":""}'
for role in gw-internal gw-external publisher; do
	pki_call "$role" -H 'Content-Type: application/json' -d "$CLIENT_BODY" "$KM_INTERNAL_URL/internal/km/v1/clients"
	rest_err "internal clients API with the $role certificate" 403
done
for role in gw-internal gw-external; do
	pki_call "$role" -H 'Content-Type: application/json' \
		-d '{"domain":"evil.com","adminUsername":"eve","adminPassword":"Eve-12345678"}' "$KM_INTERNAL_URL/internal/km/v1/users/tenants"
	rest_err "internal users API with the $role certificate" 403
	pki_call "$role" -H 'Content-Type: application/json' \
		-d '{"applicationId":"app-45","keyType":"PRODUCTION"}' "$KM_INTERNAL_URL/internal/km/v1/tokens"
	rest_err "internal tokens API with the $role certificate" 403
done
check_eq "internal port without a client certificate: no TLS session" "000" \
	"$(km_curl -o /dev/null -w '%{http_code}' -d "$CLIENT_BODY" "$KM_INTERNAL_URL/internal/km/v1/clients" 2>/dev/null)"
# A certificate naming the portal's role but made by another CA.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=portal \
	-addext "subjectAltName=URI:gatehouse://portal/-/mallory" -keyout "$GH_TMP/fake.key" -out "$GH_TMP/fake.crt" 2>/dev/null
check_eq "a portal certificate from another CA: no TLS session" "000" \
	"$(km_curl --cert "$GH_TMP/fake.crt" --key "$GH_TMP/fake.key" -o /dev/null -w '%{http_code}' \
		-H 'Content-Type: application/json' -d "$CLIENT_BODY" "$KM_INTERNAL_URL/internal/km/v1/clients" 2>/dev/null)"
pki_call portal -H 'Content-Type: application/json' -d '{"owner":"admin",' "$KM_INTERNAL_URL/internal/km/v1/clients"
rest_err "internal clients API (portal): truncated JSON" 400
pki_call portal -H 'Content-Type: application/json' \
	-d '{"owner":"admin","tenant":"carbon.super","applicationId":"app-45","applicationName":"Bad","tier":"Unlimited","keyType":"TESTING","grantTypes":["client_credentials"]}' \
	"$KM_INTERNAL_URL/internal/km/v1/clients"
rest_err "internal clients API (portal): key type TESTING" 400

# --- nothing written ---------------------------------------------------------------
AFTER=$(counts)
check_eq "nothing written by any of the above" "$BEFORE" "$AFTER"
check_match "the failures are audited" '^[1-9]' "$(( $(audit) - AUDIT_BEFORE ))"
check_eq "the injection attempts are audited as failures with the names tried" "1" \
	"$(psql "$KM_DB" -qAt -c "SELECT count(*) FROM gh_audit WHERE action = 'user.login' AND outcome = 'failure' AND actor = '*)(uid=*'")"
check_eq "admin is not locked out (5 failures of other names)" "200" \
	"$(km_curl -o /dev/null -w '%{http_code}' -H 'X-Forwarded-For: 10.45.200.1' -u "$CID:$CSECRET" \
		--data-urlencode grant_type=password --data-urlencode username=admin --data-urlencode "password=$KM_ADMIN_PW" "$TOKEN")"

# --- a reused refresh token revokes its family -----------------------------------
call -u "$CID:$CSECRET" --data-urlencode grant_type=password --data-urlencode username=dave \
	--data-urlencode "password=$DAVE_PW" "$TOKEN"
check_eq "dave logs in" "200" "$CODE"
A1=$(jget "$BODY" access_token) R1=$(jget "$BODY" refresh_token)
call -u "$CID:$CSECRET" --data-urlencode grant_type=refresh_token --data-urlencode "refresh_token=$R1" "$TOKEN"
check_eq "first refresh: 200" "200" "$CODE"
A2=$(jget "$BODY" access_token) R2=$(jget "$BODY" refresh_token)
call -u "$CID:$CSECRET" --data-urlencode grant_type=refresh_token --data-urlencode "refresh_token=$R1" "$TOKEN"
oauth_err "the rotated refresh token again" 400 invalid_grant
call -u "$CID:$CSECRET" --data-urlencode grant_type=refresh_token --data-urlencode "refresh_token=$R2" "$TOKEN"
oauth_err "its successor is revoked with the family" 400 invalid_grant
call -u "$CID:$CSECRET" --data-urlencode "token=$A2" "$KM_URL/oauth2/introspect"
check_eq "the family's access token is inactive" "false" "$(jget "$BODY" active)"
call -u "$CID:$CSECRET" --data-urlencode "token=$A1" "$KM_URL/oauth2/introspect"
check_eq "the family's first access token is inactive" "false" "$(jget "$BODY" active)"
call -u "$CC_ID:$CC_SECRET" --data-urlencode grant_type=refresh_token --data-urlencode "refresh_token=$R2" "$TOKEN"
check_match "another client's refresh token: 400 (unauthorized_client or invalid_grant)" \
	'^400 (unauthorized_client|invalid_grant)$' "$CODE $(jget "$BODY" error)"

km_kill "$KM_PID"; rc=$?
check_eq "SIGTERM stops it cleanly" "0" "$rc"
check_nomatch "no sanitizer report" "ERROR: (Address|Leak)Sanitizer|runtime error" "$(cat "$KM_LOG")"
check_done
