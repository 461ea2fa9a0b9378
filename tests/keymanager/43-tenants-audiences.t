#!/usr/bin/env bash
# Tenants and audiences (DESIGN.md "Tokens, tenants and audiences"):
# - tenant acme.com made through the internal users API (publisher certificate);
# - alice (carbon.super) and alice@acme.com are different users: each logs in
#   with her own password only, and her token names her own tenant;
# - bob@gmail.com is a super-tenant user while gmail.com is no tenant;
# - a tenant's client sees other tenants' tokens as inactive (both ways);
# - application-key clients (portal, internal API) get gateway tokens, DCR
#   clients management tokens: one audience each, never both.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/km.sh"
trap km_stop EXIT
# The harness's curl is the load balancer: each request comes from another
# address, so the deliberate failures never lock the test's own address out.
km_start ten "[http]" "trusted_proxies = 127.0.0.1" || { echo "0 passed, 1 failed"; exit 1; }

XFF=0
call() {
	local o
	XFF=$((XFF + 1))
	o=$(km_curl -H "X-Forwarded-For: 10.43.$((XFF / 250)).$((XFF % 250 + 1))" -w '\n%{http_code}' "$@")
	BODY=${o%$'\n'*}; CODE=${o##*$'\n'}
}
pki_call() {
	local role=$1 o; shift
	o=$(km_curl --cert "$KM_PKI/$role.crt" --key "$KM_PKI/$role.key" -w '\n%{http_code}' "$@")
	BODY=${o%$'\n'*}; CODE=${o##*$'\n'}
}
# ldap_user TENANT UID PASSWORD: a user entry written straight into the directory.
ldap_user() {
	local dn="uid=$2,ou=users,o=$1,$KM_LDAP_BASE"
	printf 'dn: %s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\n' "$dn" "$2" "$2" "$2" |
		ldapadd -x -H "$GH_TEST_LDAP_URI" -D "$GH_TEST_LDAP_ROOTDN" -w "$GH_TEST_LDAP_ROOTPW" >/dev/null &&
		ldappasswd -x -H "$GH_TEST_LDAP_URI" -D "$GH_TEST_LDAP_ROOTDN" -w "$GH_TEST_LDAP_ROOTPW" -s "$3" "$dn" >/dev/null
}
dcr() {  # dcr USER PASSWORD OWNER NAME GRANTS: sets CID, CSECRET
	call -u "$1:$2" -H 'Content-Type: application/json' \
		-d "{\"clientName\":\"$4\",\"owner\":\"$3\",\"grantType\":\"$5\",\"callbackUrl\":\"\",\"saasApp\":false}" \
		"$KM_URL/client-registration/v0.17/register"
	CID=$(jget "$BODY" clientId); CSECRET=$(jget "$BODY" clientSecret)
}
password_grant() {  # password_grant CID SECRET USER PASSWORD
	call -u "$1:$2" --data-urlencode grant_type=password --data-urlencode "username=$3" \
		--data-urlencode "password=$4" "$KM_URL/oauth2/token"
}
introspect() {  # introspect CID SECRET TOKEN: prints the active member
	call -u "$1:$2" --data-urlencode "token=$3" "$KM_URL/oauth2/introspect"
	[ "$CODE" = 200 ] && jget "$BODY" active || echo "HTTP $CODE $BODY"
}

ACME_PW="Acme-$(head -c 6 /dev/urandom | base64 | tr -d '/+=')"
ALICE_PW="Alice-$(head -c 6 /dev/urandom | base64 | tr -d '/+=')"
BOB_PW="Bob-$(head -c 6 /dev/urandom | base64 | tr -d '/+=')"

# --- tenant acme.com through the internal users API -------------------------
pki_call publisher -H 'Content-Type: application/json' \
	-d "{\"domain\":\"acme.com\",\"adminUsername\":\"alice\",\"adminPassword\":\"$ACME_PW\"}" \
	"$KM_INTERNAL_URL/internal/km/v1/users/tenants"
check_eq "create tenant acme.com (publisher certificate): 201" "201" "$CODE"
check_eq "tenant row" "active" "$(psql "$KM_DB" -qAt -c "SELECT status FROM gh_tenants WHERE domain = 'acme.com'")"
check_ok "its LDAP subtree and admin user" ldapsearch -x -LLL -H "$GH_TEST_LDAP_URI" -D "$GH_TEST_LDAP_ROOTDN" \
	-w "$GH_TEST_LDAP_ROOTPW" -b "uid=alice,ou=users,o=acme.com,$KM_LDAP_BASE" -s base dn
pki_call publisher -H 'Content-Type: application/json' \
	-d "{\"domain\":\"acme.com\",\"adminUsername\":\"alice\",\"adminPassword\":\"$ACME_PW\"}" \
	"$KM_INTERNAL_URL/internal/km/v1/users/tenants"
check_eq "the same tenant again: 409" "409" "$CODE"
check_eq "the same tenant again: JSON error code" "409" "$(jget "$BODY" code)"

# alice of carbon.super and bob@gmail.com, straight into the directory.
check_ok "alice in carbon.super" ldap_user carbon.super alice "$ALICE_PW"
check_ok "bob@gmail.com in carbon.super" ldap_user carbon.super bob@gmail.com "$BOB_PW"

# A tenant whose domain existing super-tenant user names end in is refused.
pki_call publisher -H 'Content-Type: application/json' \
	-d "{\"domain\":\"gmail.com\",\"adminUsername\":\"admin\",\"adminPassword\":\"$ACME_PW\"}" \
	"$KM_INTERNAL_URL/internal/km/v1/users/tenants"
check_eq "tenant gmail.com while bob@gmail.com exists: 409" "409" "$CODE"
check_eq "no gmail.com tenant row" "0" "$(psql "$KM_DB" -qAt -c "SELECT count(*) FROM gh_tenants WHERE domain = 'gmail.com'")"

# --- clients: one per tenant (DCR), one application key (portal) ------------
dcr admin "$KM_ADMIN_PW" admin super_cli "client_credentials password"
check_eq "DCR by the super tenant's admin: 200" "200" "$CODE"
S_ID=$CID S_SECRET=$CSECRET
dcr alice@acme.com "$ACME_PW" alice@acme.com acme_cli "client_credentials password"
check_eq "DCR by acme's admin alice@acme.com: 200" "200" "$CODE"
A_ID=$CID A_SECRET=$CSECRET
check_eq "acme's DCR client belongs to acme.com" "acme.com" \
	"$(psql "$KM_DB" -qAt -c "SELECT tenant FROM gh_oauth_clients WHERE client_id = '$A_ID'")"

# --- two alices -------------------------------------------------------------
password_grant "$S_ID" "$S_SECRET" alice "$ALICE_PW"
check_eq "alice (carbon.super) with her password: 200" "200" "$CODE"
TS=$(jget "$BODY" access_token); CS=$(jwt_claims "$TS")
check_eq "alice's token: sub" "alice" "$(jget "$CS" sub)"
check_eq "alice's token: tenant" "carbon.super" "$(jget "$CS" tenant)"
password_grant "$A_ID" "$A_SECRET" alice@acme.com "$ACME_PW"
check_eq "alice@acme.com with her password: 200" "200" "$CODE"
TA=$(jget "$BODY" access_token); CA=$(jwt_claims "$TA")
check_eq "alice@acme.com's token: sub" "alice@acme.com" "$(jget "$CA" sub)"
check_eq "alice@acme.com's token: tenant" "acme.com" "$(jget "$CA" tenant)"
check_ne "two different subjects" "$(jget "$CS" sub)" "$(jget "$CA" sub)"
password_grant "$S_ID" "$S_SECRET" alice "$ACME_PW"
check_eq "alice (carbon.super) with acme alice's password: 400" "400" "$CODE"
check_eq "... invalid_grant" "invalid_grant" "$(jget "$BODY" error)"
password_grant "$A_ID" "$A_SECRET" alice@acme.com "$ALICE_PW"
check_eq "alice@acme.com with carbon.super alice's password: 400" "400" "$CODE"
check_eq "... invalid_grant" "invalid_grant" "$(jget "$BODY" error)"
# acme's admin holds acme's admin role, not the super tenant's.
call -u "$A_ID:$A_SECRET" --data-urlencode grant_type=password --data-urlencode username=alice@acme.com \
	--data-urlencode "password=$ACME_PW" -d scope=apim:admin "$KM_URL/oauth2/token"
check_eq "acme's admin gets apim:admin in acme" "apim:admin" "$(jget "$BODY" scope)"
call -u "$S_ID:$S_SECRET" --data-urlencode grant_type=password --data-urlencode username=alice \
	--data-urlencode "password=$ALICE_PW" -d scope=apim:admin "$KM_URL/oauth2/token"
check_eq "carbon.super's alice (no role) does not" "default" "$(jget "$BODY" scope)"

# --- bob@gmail.com ------------------------------------------------------------
password_grant "$S_ID" "$S_SECRET" bob@gmail.com "$BOB_PW"
check_eq "bob@gmail.com logs in (gmail.com is no tenant): 200" "200" "$CODE"
CB=$(jwt_claims "$(jget "$BODY" access_token)")
check_eq "bob's token: sub" "bob@gmail.com" "$(jget "$CB" sub)"
check_eq "bob's token: tenant carbon.super" "carbon.super" "$(jget "$CB" tenant)"
password_grant "$A_ID" "$A_SECRET" bob@gmail.com "$BOB_PW"
check_match "acme's client does not take a carbon.super user" '^(400|401)$' "$CODE"

# --- introspection across tenants -------------------------------------------
check_eq "acme's client introspects acme's token: active" "true" "$(introspect "$A_ID" "$A_SECRET" "$TA")"
call -u "$A_ID:$A_SECRET" --data-urlencode "token=$TS" "$KM_URL/oauth2/introspect"
check_eq "acme's client introspects a carbon.super token: 200, exactly {\"active\":false}" \
	'200 {"active": false}' "$CODE $(jget "$BODY" '')"
check_eq "carbon.super's client introspects acme's token: inactive" "false" "$(introspect "$S_ID" "$S_SECRET" "$TA")"
check_eq "carbon.super's client introspects its own: active" "true" "$(introspect "$S_ID" "$S_SECRET" "$TS")"
# acme's client cannot revoke carbon.super's token either (only the owning client).
call -u "$A_ID:$A_SECRET" --data-urlencode "token=$TS" "$KM_URL/oauth2/revoke"
check_eq "revocation by another tenant's client: 200 (RFC 7009) ..." "200" "$CODE"
check_eq "... but nothing revoked" "true" "$(introspect "$S_ID" "$S_SECRET" "$TS")"

# --- audiences ----------------------------------------------------------------
pki_call portal -H 'Content-Type: application/json' \
	-d '{"owner":"admin","tenant":"carbon.super","applicationId":"app-43","applicationName":"PizzaApp","tier":"Unlimited","keyType":"PRODUCTION","grantTypes":["client_credentials"],"callbackUrl":""}' \
	"$KM_INTERNAL_URL/internal/km/v1/clients"
check_eq "application key by the portal: 201" "201" "$CODE"
G_ID=$(jget "$BODY" clientId) G_SECRET=$(jget "$BODY" clientSecret)
check_match "application key: clientId" '^[A-Za-z0-9_-]{20,}$' "$G_ID"
check_eq "key-created event in the outbox" "1" \
	"$(psql "$KM_DB" -qAt -c "SELECT count(*) FROM gh_events WHERE type LIKE 'key%created%' AND payload::text LIKE '%$G_ID%'")"
call -u "$G_ID:$G_SECRET" -d grant_type=client_credentials "$KM_URL/oauth2/token"
check_eq "application key token: 200" "200" "$CODE"
TG=$(jget "$BODY" access_token); CG=$(jwt_claims "$TG")
check_eq "application key token: aud is exactly gatehouse-gateway" '"gatehouse-gateway"' "$(jget "$CG" aud | sed 's/^[^"[{].*/"&"/')"
check_eq "application key token: keytype" "PRODUCTION" "$(jget "$CG" keytype)"
check_eq "application key token: application.id" "app-43" "$(jget "$CG" application.id)"
check_eq "application key token: application.name" "PizzaApp" "$(jget "$CG" application.name)"
check_eq "application key token: application.tier" "Unlimited" "$(jget "$CG" application.tier)"
check_eq "application key token: application.owner" "admin" "$(jget "$CG" application.owner)"
check_eq "application key token: tenant" "carbon.super" "$(jget "$CG" tenant)"
call -u "$S_ID:$S_SECRET" -d grant_type=client_credentials "$KM_URL/oauth2/token"
CM=$(jwt_claims "$(jget "$BODY" access_token)")
check_eq "DCR client token: aud is exactly gatehouse-management" '"gatehouse-management"' "$(jget "$CM" aud | sed 's/^[^"[{].*/"&"/')"
check_eq "DCR client token: no application" "<absent>" "$(jget "$CM" application)"
check_eq "DCR client token: no keytype" "<absent>" "$(jget "$CM" keytype)"
for t in "$TS" "$TA"; do
	check_eq "password-grant token: aud gatehouse-management" "gatehouse-management" "$(jget "$(jwt_claims "$t")" aud)"
done
# Asking for the other audience changes nothing.
call -u "$G_ID:$G_SECRET" -d grant_type=client_credentials -d audience=gatehouse-management \
	-d resource=gatehouse-management "$KM_URL/oauth2/token"
check_match "a gateway client asking for the management audience does not get it" \
	'^(400 .*|200 gatehouse-gateway)$' "$CODE $(jget "$(jwt_claims "$(jget "$BODY" access_token)")" aud)"
check_eq "clients table: every client has one audience, DCR ones management" "0" \
	"$(psql "$KM_DB" -qAt -c "SELECT count(*) FROM gh_oauth_clients WHERE (app_id IS NULL) <> (audience = 'gatehouse-management')")"

km_kill "$KM_PID"; rc=$?
check_eq "SIGTERM stops it cleanly" "0" "$rc"
check_nomatch "no sanitizer report" "ERROR: (Address|Leak)Sanitizer|runtime error" "$(cat "$KM_LOG")"
check_done
