#!/usr/bin/env bash
# WSO2's dynamic client registration with curl: WSO2 and RFC 7591 field
# names and their answers, the stored management client (audience, no
# application, secret as SHA-256), re-registration rotating the secret,
# owners (self, a tenant admin for another user, refused otherwise), and
# bad input each answered precisely with nothing written: bad Basic
# credentials, an LDAP filter as user name, malformed, oversized and
# wrongly typed JSON; last the user lock-out.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/km.sh"
trap km_stop EXIT
km_start dcr || { echo "0 passed, 1 failed"; exit 1; }

REG=$KM_URL/client-registration/v0.17/register
# jf PATH: a member of the JSON document on stdin (a.b.0.c); strings bare, others as JSON
jf() { python3 -c 'import json,sys
d=json.load(sys.stdin)
for k in sys.argv[1].split("."):
    d=d[int(k)] if isinstance(d,list) else d.get(k) if isinstance(d,dict) else None
print(d if isinstance(d,str) else json.dumps(d))' "$1"; }
# dcr USER:PASSWORD BODY [curl args]: prints the body, then the status on the last line
dcr() { local cred=$1 body=$2; shift 2; km_curl -u "$cred" -H 'Content-Type: application/json' \
	--data-binary "$body" -w '\n%{http_code}' "$@" "$REG"; }
status() { printf '%s\n' "$1" | tail -n 1; }
body() { printf '%s\n' "$1" | sed '$d'; }
ldap_user() {	# TENANT USER PASSWORD
	printf 'dn: uid=%s,ou=users,o=%s,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\n' \
		"$2" "$1" "$KM_LDAP_BASE" "$2" "$2" "$2" |
		ldapadd -x -H "$GH_TEST_LDAP_URI" -D "$GH_TEST_LDAP_ROOTDN" -w "$GH_TEST_LDAP_ROOTPW" >/dev/null &&
	ldappasswd -x -H "$GH_TEST_LDAP_URI" -D "$GH_TEST_LDAP_ROOTDN" -w "$GH_TEST_LDAP_ROOTPW" \
		-s "$3" "uid=$2,ou=users,o=$1,$KM_LDAP_BASE" >/dev/null
}
nclients() { sql "SELECT count(*) FROM gh_oauth_clients"; }
ldap_user carbon.super bob 'Bob-pass-1' || echo "FAIL: cannot add bob"
ldap_user carbon.super carol 'Carol-pass-1' || echo "FAIL: cannot add carol"

# --- WSO2 field names (apictl's request)
out=$(dcr "admin:$KM_ADMIN_PW" '{"callbackUrl":"www.google.lk","clientName":"rest_api_publisher","owner":"admin","grantType":"client_credentials password refresh_token","saasApp":true}')
b=$(body "$out")
check_eq "WSO2 DCR answers 200" "200" "$(status "$out")"
id=$(jf clientId <<<"$b"); secret=$(jf clientSecret <<<"$b")
check_match "clientId is random base64url" '^[A-Za-z0-9_-]{27}$' "$id"
check_match "clientSecret is random base64url" '^[A-Za-z0-9_-]{43}$' "$secret"
check_eq "clientName" "rest_api_publisher" "$(jf clientName <<<"$b")"
check_eq "callBackURL" "www.google.lk" "$(jf callBackURL <<<"$b")"
check_eq "isSaasApplication" "true" "$(jf isSaasApplication <<<"$b")"
check_eq "appOwner" "admin" "$(jf appOwner <<<"$b")"
js=$(jf jsonString <<<"$b")
check_eq "jsonString.grant_types" "client_credentials password refresh_token" "$(jf grant_types <<<"$js")"
check_eq "jsonString.redirect_uris" "www.google.lk" "$(jf redirect_uris <<<"$js")"
check_eq "jsonString.client_name" "rest_api_publisher" "$(jf client_name <<<"$js")"
check_eq "no RFC 7591 members for WSO2 names" "null" "$(jf client_id <<<"$b")"
row=$(sql "SELECT audience, coalesce(app_id,'-'), token_type, tenant, owner, array_to_string(grant_types,' '), saas, secret_hash FROM gh_oauth_clients WHERE client_id = '$id'")
check_eq "stored as a management client" "gatehouse-management|-|JWT|carbon.super|admin|client_credentials password refresh_token|t|$(sha "$secret")" "$row"
check_eq "audit client.create" "1" "$(sql "SELECT count(*) FROM gh_audit WHERE action = 'client.create' AND target = '$id' AND outcome = 'success' AND actor = 'admin'")"
check_match "metric clients_created" 'gatehouse_km_clients_created_total 1' "$(curl -s "$KM_MGMT_URL/metrics")"

# --- re-registration: same client id, a new secret (WSO2 would return the old one; we keep only hashes)
out=$(dcr "admin:$KM_ADMIN_PW" '{"callbackUrl":"www.google.lk","clientName":"rest_api_publisher","owner":"admin","grantType":"password","saasApp":false}')
b=$(body "$out")
check_eq "re-registration answers 200" "200" "$(status "$out")"
check_eq "re-registration keeps the client id" "$id" "$(jf clientId <<<"$b")"
secret2=$(jf clientSecret <<<"$b")
check_ne "re-registration rotates the secret" "$secret" "$secret2"
check_eq "the stored hash is the new secret's" "$(sha "$secret2")" "$(sql "SELECT secret_hash FROM gh_oauth_clients WHERE client_id = '$id'")"
check_eq "re-registration keeps the first grant types" "client_credentials password refresh_token" "$(jf grant_types <<<"$(jf jsonString <<<"$b")")"
check_eq "still one client of that name" "1" "$(sql "SELECT count(*) FROM gh_oauth_clients WHERE client_name = 'rest_api_publisher'")"

# --- RFC 7591 field names
out=$(dcr "admin:$KM_ADMIN_PW" '{"client_name":"cli-rfc","redirect_uris":["https://app.example/cb"],"grant_types":["authorization_code","refresh_token"]}')
b=$(body "$out")
check_eq "RFC 7591 registration answers 201" "201" "$(status "$out")"
rid=$(jf client_id <<<"$b")
check_eq "client_id equals clientId" "$(jf clientId <<<"$b")" "$rid"
check_eq "client_secret equals clientSecret" "$(jf clientSecret <<<"$b")" "$(jf client_secret <<<"$b")"
check_eq "grant_types array" '["authorization_code", "refresh_token"]' "$(jf grant_types <<<"$b")"
check_eq "redirect_uris array" '["https://app.example/cb"]' "$(jf redirect_uris <<<"$b")"
check_eq "client_name" "cli-rfc" "$(jf client_name <<<"$b")"
check_eq "client_secret_expires_at" "0" "$(jf client_secret_expires_at <<<"$b")"
check_eq "owner taken from the caller" "admin|https://app.example/cb|authorization_code refresh_token" \
	"$(sql "SELECT owner, callback_url, array_to_string(grant_types,' ') FROM gh_oauth_clients WHERE client_id = '$rid'")"
out=$(dcr "admin:$KM_ADMIN_PW" '{"client_name":"no-cb","grant_types":["authorization_code"]}')
check_eq "authorization_code without a redirect URI: 400" "400" "$(status "$out")"

# --- owners
n0=$(nclients)
out=$(dcr "bob:Bob-pass-1" '{"clientName":"steal","owner":"admin","grantType":"client_credentials"}')
check_eq "a user registering for someone else: 403" "403" "$(status "$out")"
check_eq "the 403 is a JSON error" "403" "$(jf code <<<"$(body "$out")")"
out=$(dcr "bob:Bob-pass-1" '{"clientName":"steal","owner":"admin@carbon.super","grantType":"client_credentials"}')
check_eq "also with the owner's full name: 403" "403" "$(status "$out")"
out=$(dcr "admin:$KM_ADMIN_PW" '{"clientName":"x","owner":"alice@acme.com"}')
check_eq "an admin registering for a user that does not exist (acme.com is no tenant yet): 400" "400" "$(status "$out")"
sql "INSERT INTO gh_tenants (domain, name) VALUES ('acme.com', 'acme.com')"
out=$(dcr "admin:$KM_ADMIN_PW" '{"clientName":"x","owner":"alice@acme.com"}')
check_eq "an admin registering for a user of another tenant: 403" "403" "$(status "$out")"
printf 'dn: o=acme.com,%s\nobjectClass: organization\no: acme.com\n\ndn: ou=users,o=acme.com,%s\nobjectClass: organizationalUnit\nou: users\n' \
	"$KM_LDAP_BASE" "$KM_LDAP_BASE" | ldapadd -x -H "$GH_TEST_LDAP_URI" -D "$GH_TEST_LDAP_ROOTDN" -w "$GH_TEST_LDAP_ROOTPW" >/dev/null
ldap_user acme.com alice 'Alice-pass-1' || echo "FAIL: cannot add alice@acme.com"
out=$(dcr "alice@acme.com:Alice-pass-1" '{"clientName":"alice-cli","owner":"admin"}')
check_eq "a tenant user registering for a super-tenant user: 403" "403" "$(status "$out")"
out=$(dcr "alice@acme.com:Alice-pass-1" '{"clientName":"alice-cli","owner":"alice@acme.com","grantType":"password"}')
check_eq "a tenant user registering for itself: 200" "200" "$(status "$out")"
check_eq "its owner is its full name" "alice@acme.com" "$(jf appOwner <<<"$(body "$out")")"
check_eq "stored in its tenant" "acme.com|alice@acme.com" "$(sql "SELECT tenant, owner FROM gh_oauth_clients WHERE client_name = 'alice-cli'")"
check_eq "nothing written by refused owners (one client: alice's)" "$((n0 + 1))" "$(nclients)"
out=$(dcr "bob:Bob-pass-1" '{"clientName":"bobs-cli","owner":"bob","grantType":"password refresh_token"}')
check_eq "a user registering for itself: 200" "200" "$(status "$out")"
check_eq "its owner" "bob" "$(jf appOwner <<<"$(body "$out")")"
out=$(dcr "admin:$KM_ADMIN_PW" '{"clientName":"for-bob","owner":"bob"}')
check_eq "an admin registering for another user of its tenant: 200" "200" "$(status "$out")"
check_eq "owned by that user" "bob|client_credentials" "$(sql "SELECT owner, array_to_string(grant_types,' ') FROM gh_oauth_clients WHERE client_name = 'for-bob'")"

# --- bad input: 400 and nothing written
n0=$(nclients)
bad() {	# NAME BODY [curl args]
	local name=$1 body=$2; shift 2
	local o; o=$(dcr "admin:$KM_ADMIN_PW" "$body" "$@")
	check_eq "$name: 400" "400" "$(status "$o")"
	check_match "$name: JSON error" '"code":400' "$(body "$o")"
}
bad "malformed JSON" '{"clientName":"m","owner":"admin",'
bad "not an object" '["clientName"]'
bad "trailing text" '{"clientName":"m","owner":"admin"} x'
bad "clientName a number" '{"clientName":123,"owner":"admin"}'
bad "clientName missing" '{"owner":"admin"}'
bad "clientName too long" "{\"clientName\":\"$(printf 'a%.0s' $(seq 1 101))\",\"owner\":\"admin\"}"
bad "clientName with a quote" '{"clientName":"a\"b","owner":"admin"}'
bad "owner missing (WSO2 names)" '{"clientName":"m"}'
bad "saasApp a string" '{"clientName":"m","owner":"admin","saasApp":"yes"}'
bad "grantType a list" '{"clientName":"m","owner":"admin","grantType":["password"]}'
bad "grant_types a string" '{"client_name":"m","grant_types":"password"}'
bad "implicit grant" '{"clientName":"m","owner":"admin","grantType":"implicit"}'
bad "unknown grant" '{"clientName":"m","owner":"admin","grantType":"client_credentials magic"}'
bad "two redirect URIs" '{"client_name":"m","redirect_uris":["https://a/","https://b/"]}'
bad "both spellings" '{"clientName":"m","client_name":"m","owner":"admin"}'
bad "a NUL in a string" '{"clientName":"m\u0000x","owner":"admin"}'
out=$(km_curl -u "admin:$KM_ADMIN_PW" -H 'Content-Type: text/plain' --data-binary '{"clientName":"m","owner":"admin"}' -w '\n%{http_code}' "$REG")
check_eq "wrong Content-Type: 400" "400" "$(status "$out")"
head -c 2097152 /dev/zero | tr '\0' 'a' >"$GH_TMP/big"
check_eq "2 MiB body: 413" "413" "$(km_curl -u "admin:$KM_ADMIN_PW" -H 'Content-Type: application/json' --data-binary @"$GH_TMP/big" -o /dev/null -w '%{http_code}' "$REG")"
check_eq "nothing written by bad input" "$n0" "$(nclients)"

# --- authentication (failures count towards the address lock-out: 5, so these come last)
out=$(km_curl -H 'Content-Type: application/json' --data-binary '{"clientName":"m","owner":"admin"}' -D "$GH_TMP/h" -w '\n%{http_code}' "$REG")
check_eq "no credentials: 401" "401" "$(status "$out")"
check_match "401 asks for Basic" '^WWW-Authenticate: Basic' "$(cat "$GH_TMP/h")"
check_eq "401 is a JSON error" "401" "$(jf code <<<"$(body "$out")")"
out=$(dcr "admin:" '{"clientName":"m","owner":"admin"}')
check_eq "empty password: 401" "401" "$(status "$out")"
out=$(dcr "admin:wrong-password" '{"clientName":"wrong","owner":"admin"}' -D "$GH_TMP/h")
check_eq "wrong password: 401" "401" "$(status "$out")"
check_match "wrong password: WWW-Authenticate" '^WWW-Authenticate: Basic' "$(cat "$GH_TMP/h")"
out=$(dcr '*)(uid=*:x' '{"clientName":"inject","owner":"*)(uid=*"}')
check_eq "'*)(uid=*' as user name: 401" "401" "$(status "$out")"
out=$(dcr 'x)(|(objectClass=*:x' '{"clientName":"inject2"}')
check_eq "'x)(|(objectClass=*' as user name: 401" "401" "$(status "$out")"
check_eq "nothing written by failed authentication" "$n0" "$(nclients)"
check_eq "failed logins audited" "3" "$(sql "SELECT count(*) FROM gh_audit WHERE action = 'user.login' AND outcome = 'failure'")"
for i in 1 2; do dcr "carol:bad-$i" '{"clientName":"c","owner":"carol"}' >/dev/null; done
out=$(dcr "carol:Carol-pass-1" '{"clientName":"c","owner":"carol"}')
check_eq "after five failures the right password is refused: 401" "401" "$(status "$out")"
check_match "the lock-out is explained" 'locked out' "$(body "$out")"
check_eq "nothing written while locked out" "$n0" "$(nclients)"

km_kill "$KM_PID"; rc=$?
check_eq "clean exit" "0" "$rc"
check_nomatch "no sanitizer report" "ERROR: (Address|Leak)Sanitizer|runtime error" "$(cat "$KM_LOG")"
check_done
