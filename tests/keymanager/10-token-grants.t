#!/usr/bin/env bash
# POST /oauth2/token against a real key manager, PostgreSQL and slapd, with curl:
# client_credentials (management and application audiences, scopes from the
# owner's roles), password (tenants, saas, LDAP-injection names, empty password,
# lock-out per user name across addresses), refresh_token rotation and reuse
# detection (the whole family revoked, events for the gateways), every RFC 6749
# §5.2 error code, and that bad requests write nothing.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/km.sh"
trap km_stop EXIT
km_start tok "[http]" "trusted_proxies = 127.0.0.1" || { echo "0 passed, 1 failed"; exit 1; }
PY=/usr/bin/python3
LDAP_ARGS=(-x -H "$GH_TEST_LDAP_URI" -D "$GH_TEST_LDAP_ROOTDN" -w "$GH_TEST_LDAP_ROOTPW")

# client_add ID SECRET TENANT OWNER "GRANTS" AUDIENCE [APP_ID] [SAAS] [TOKEN_TYPE]
client_add() {
	local app=${7:-}
	sql "INSERT INTO gh_oauth_clients (client_id, secret_hash, tenant, owner, client_name, grant_types,
		audience, app_id, app_name, app_tier, app_owner, key_type, saas, token_type)
		VALUES ('$1', '$(sha "$2")', '$3', '$4', '$1 app', string_to_array('$5', ' '), '$6',
		NULLIF('$app', ''), CASE WHEN '$app' <> '' THEN 'App $app' END,
		CASE WHEN '$app' <> '' THEN 'Gold' END, CASE WHEN '$app' <> '' THEN '$4' END,
		CASE WHEN '$app' <> '' THEN 'SANDBOX' END, ${8:-false}, '${9:-JWT}')" >/dev/null
}
# ldap_user TENANT UID PASSWORD [GROUP...]
ldap_user() {
	local t=$1 u=$2 pw=$3 dn; shift 3
	dn="uid=$u,ou=users,o=$t,$KM_LDAP_BASE"
	printf 'dn: %s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\n' "$dn" "$u" "$u" "$u" |
		ldapadd "${LDAP_ARGS[@]}" >/dev/null || echo "ldapadd $dn failed"
	ldappasswd "${LDAP_ARGS[@]}" -s "$pw" "$dn" >/dev/null || echo "ldappasswd $dn failed"
	for g in "$@"; do
		printf 'dn: cn=%s,ou=groups,o=%s,%s\nchangetype: modify\nadd: member\nmember: %s\n' \
			"$g" "$t" "$KM_LDAP_BASE" "$dn" | ldapmodify "${LDAP_ARGS[@]}" >/dev/null
	done
}
# token [curl args...]: POST /oauth2/token from address $XFF; sets CODE, BODY, HDRS
XFF=198.51.100.1
token() {
	local out
	out=$(km_curl -D "$GH_TMP/hdrs" -H "X-Forwarded-For: $XFF" -w '\n%{http_code}' "$KM_URL/oauth2/token" "$@")
	CODE=${out##*$'\n'}
	BODY=${out%$'\n'*}
	HDRS=$(tr -d '\r' <"$GH_TMP/hdrs")
}
jf() { printf '%s' "$BODY" | $PY -c 'import json,sys
d=json.load(sys.stdin); v=d.get(sys.argv[1])
print("" if v is None else json.dumps(v) if isinstance(v,(dict,list)) else v)' "$1" 2>/dev/null; }
# verify_jwt TOKEN AUD: verifies with PyJWT against the stored public keys; prints the claims
verify_jwt() {
	JWKS=$(sql "SELECT json_agg(public_jwk) FROM gh_signing_keys") $PY - "$1" "$2" "$KM_URL" <<'EOF' 2>&1
import jwt, json, os, sys
tok, aud, iss = sys.argv[1:4]
hdr = jwt.get_unverified_header(tok)
k = [x for x in json.loads(os.environ["JWKS"]) if x.get("kid") == hdr["kid"]][0]
alg = k.get("alg") or {"RSA": "RS256", "EC": "ES256"}[k["kty"]]
pk = jwt.PyJWK(k, alg)
print(json.dumps(jwt.decode(tok, pk.key, algorithms=[alg], audience=aud, issuer=iss), sort_keys=True))
EOF
}
cl() { printf '%s' "$1" | $PY -c 'import json,sys
d=json.load(sys.stdin)
for k in sys.argv[1].split("."): d=d.get(k) if isinstance(d,dict) else None
print("" if d is None else d)' "$2"; }
counts() { sql "SELECT (SELECT count(*) FROM gh_refresh_tokens) || '/' || (SELECT count(*) FROM gh_family_tokens)
	|| '/' || (SELECT count(*) FROM gh_revoked_tokens) || '/' || (SELECT count(*) FROM gh_events)
	|| '/' || (SELECT count(*) FROM gh_auth_codes) || '/' || (SELECT count(*) FROM gh_opaque_tokens)
	|| '/' || (SELECT count(*) FROM gh_refresh_tokens WHERE status <> 'active')"; }

# ---- fixtures: a tenant, users, clients ----
sql "INSERT INTO gh_tenants (domain, name) VALUES ('acme.com', 'Acme')" >/dev/null
printf 'dn: o=acme.com,%s\nobjectClass: organization\no: acme.com\n\ndn: ou=users,o=acme.com,%s\nobjectClass: organizationalUnit\nou: users\n\ndn: ou=groups,o=acme.com,%s\nobjectClass: organizationalUnit\nou: groups\n\ndn: cn=subscriber,ou=groups,o=acme.com,%s\nobjectClass: groupOfNames\ncn: subscriber\nmember: ou=groups,o=acme.com,%s\n' \
	"$KM_LDAP_BASE" "$KM_LDAP_BASE" "$KM_LDAP_BASE" "$KM_LDAP_BASE" "$KM_LDAP_BASE" | ldapadd "${LDAP_ARGS[@]}" >/dev/null
ldap_user acme.com alice 'Al1ce-acme!' subscriber
ldap_user carbon.super carol 'Car0l-pass' subscriber
ldap_user carbon.super dave 'Dav3-pass'
client_add mgmt mgmt-secret-0123456789 carbon.super admin "client_credentials password refresh_token" gatehouse-management
client_add app app-secret-0123456789 carbon.super admin "client_credentials" gatehouse-gateway app-1
client_add acme acme-secret-0123456789 acme.com alice@acme.com "password refresh_token" gatehouse-management
client_add saas saas-secret-0123456789 carbon.super admin "password" gatehouse-management "" true
client_add opq opq-secret-0123456789 carbon.super admin "password refresh_token" gatehouse-management "" false OPAQUE
MG=(-u mgmt:mgmt-secret-0123456789)

# ---- client_credentials ----
before=$(counts)
token "${MG[@]}" -d grant_type=client_credentials
check_eq "client_credentials: 200" "200" "$CODE"
check_eq "client_credentials: Bearer" "Bearer" "$(jf token_type)"
check_eq "client_credentials: expires_in" "3600" "$(jf expires_in)"
check_eq "client_credentials: no refresh token" "" "$(jf refresh_token)"
check_eq "client_credentials: scope default" "default" "$(jf scope)"
check_match "token response is no-store" "^Cache-Control: no-store" "$HDRS"
C=$(verify_jwt "$(jf access_token)" gatehouse-management)
check_eq "cc JWT verifies (PyJWT, stored JWK): aud" "gatehouse-management" "$(cl "$C" aud)"
check_eq "cc JWT: iss is the public URL" "$KM_URL" "$(cl "$C" iss)"
check_eq "cc JWT: sub is the owner" "admin" "$(cl "$C" sub)"
check_eq "cc JWT: client_id" "mgmt" "$(cl "$C" client_id)"
check_eq "cc JWT: azp" "mgmt" "$(cl "$C" azp)"
check_eq "cc JWT: tenant" "carbon.super" "$(cl "$C" tenant)"
check_eq "cc JWT: no application claim for a management client" "" "$(cl "$C" application)"
check_eq "client_credentials writes nothing" "$before" "$(counts)"
check_fail "a management token does not verify as a gateway token" \
	$PY -c 'import sys,json; json.loads(sys.argv[1])' "$(verify_jwt "$(jf access_token)" gatehouse-gateway)"

token "${MG[@]}" -d grant_type=client_credentials --data-urlencode "scope=apim:api_view apim:admin apim:subscribe custom:x"
check_eq "cc with scopes: 200" "200" "$CODE"
check_eq "cc scopes from the owner's roles (admin)" "apim:api_view apim:admin apim:subscribe custom:x" "$(jf scope)"
check_eq "cc scope claim" "apim:api_view apim:admin apim:subscribe custom:x" "$(cl "$(verify_jwt "$(jf access_token)" gatehouse-management)" scope)"

token -d grant_type=client_credentials -d client_id=app -d client_secret=app-secret-0123456789
check_eq "cc application client, form auth: 200" "200" "$CODE"
C=$(verify_jwt "$(jf access_token)" gatehouse-gateway)
check_eq "app JWT: aud gatehouse-gateway" "gatehouse-gateway" "$(cl "$C" aud)"
check_eq "app JWT: application.id" "app-1" "$(cl "$C" application.id)"
check_eq "app JWT: application.tier" "Gold" "$(cl "$C" application.tier)"
check_eq "app JWT: application.tenant" "carbon.super" "$(cl "$C" application.tenant)"
check_eq "app JWT: keytype" "SANDBOX" "$(cl "$C" keytype)"

# ---- password ----
before=$(counts)
token "${MG[@]}" -d grant_type=password -d username=admin --data-urlencode "password=$KM_ADMIN_PW" \
	--data-urlencode "scope=apim:admin apim:api_create openid"
check_eq "password: 200" "200" "$CODE"
check_eq "password: scopes of admin's roles" "apim:admin apim:api_create openid" "$(jf scope)"
check_ne "password: refresh token" "" "$(jf refresh_token)"
ADMIN_ACCESS=$(jf access_token); R1=$(jf refresh_token)
C=$(verify_jwt "$ADMIN_ACCESS" gatehouse-management)
check_eq "password JWT: sub" "admin" "$(cl "$C" sub)"
check_eq "password JWT: tenant" "carbon.super" "$(cl "$C" tenant)"
check_eq "refresh token stored only as SHA-256" "1/0" \
	"$(sql "SELECT count(*) FILTER (WHERE token_hash = '$(sha "$R1")') || '/' || count(*) FILTER (WHERE token_hash = '$R1') FROM gh_refresh_tokens")"
check_eq "password: access jti recorded in its family" "1" \
	"$(sql "SELECT count(*) FROM gh_family_tokens f JOIN gh_refresh_tokens r USING (family_id) WHERE r.token_hash = '$(sha "$R1")' AND f.jti = '$(cl "$C" jti)'")"
check_eq "login audited" "1" "$(sql "SELECT count(*) FROM gh_audit WHERE action = 'user.login' AND actor = 'admin' AND outcome = 'success' AND client_addr = '$XFF'")"

token -u acme:acme-secret-0123456789 -d grant_type=password -d username=alice@acme.com -d 'password=Al1ce-acme!' -d scope=apim:subscribe
check_eq "tenant user on the tenant's client: 200" "200" "$CODE"
C=$(verify_jwt "$(jf access_token)" gatehouse-management)
check_eq "tenant JWT: sub alice@acme.com" "alice@acme.com" "$(cl "$C" sub)"
check_eq "tenant JWT: tenant acme.com" "acme.com" "$(cl "$C" tenant)"
check_eq "tenant JWT: subscriber role gives apim:subscribe" "apim:subscribe" "$(cl "$C" scope)"
token "${MG[@]}" -d grant_type=password -d username=alice@acme.com -d 'password=Al1ce-acme!'
check_eq "tenant user on a super-tenant client: invalid_grant" "400 invalid_grant" "$CODE $(jf error)"
token -u saas:saas-secret-0123456789 -d grant_type=password -d username=alice@acme.com -d 'password=Al1ce-acme!'
check_eq "tenant user on a saas client: 200" "200" "$CODE"
check_eq "saas: token in the user's tenant" "acme.com" "$(cl "$(verify_jwt "$(jf access_token)" gatehouse-management)" tenant)"
check_eq "client without refresh_token grant gets no refresh token" "" "$(jf refresh_token)"
token -u acme:acme-secret-0123456789 -d grant_type=password -d username=alice -d 'password=Al1ce-acme!'
check_eq "alice (carbon.super) is not alice@acme.com" "400 invalid_grant" "$CODE $(jf error)"

token -u opq:opq-secret-0123456789 -d grant_type=password -d username=carol -d 'password=Car0l-pass'
check_eq "opaque client: 200" "200" "$CODE"
OPQ_ACCESS=$(jf access_token); OPQ_R=$(jf refresh_token)
check_eq "opaque token stored only as SHA-256, in its family" "1" \
	"$(sql "SELECT count(*) FROM gh_opaque_tokens WHERE token_hash = '$(sha "$OPQ_ACCESS")' AND family_id IS NOT NULL")"

# ---- bad input: each a precise error, nothing written ----
XFF=198.51.100.2
before=$(counts)
token "${MG[@]}" -d grant_type=password --data-urlencode 'username=*)(uid=*' --data-urlencode "password=$KM_ADMIN_PW"
check_eq "user name *)(uid=* : invalid_grant" "400 invalid_grant" "$CODE $(jf error)"
token "${MG[@]}" -d grant_type=password --data-urlencode 'username=x)(|(objectClass=*' --data-urlencode "password=$KM_ADMIN_PW"
check_eq "user name x)(|(objectClass=* : invalid_grant" "400 invalid_grant" "$CODE $(jf error)"
token "${MG[@]}" -d grant_type=password -d username=admin -d password=
check_eq "empty password: invalid_grant" "400 invalid_grant" "$CODE $(jf error)"
check_eq "empty password refused before LDAP (audited, not counted)" "1/0" \
	"$(sql "SELECT (SELECT count(*) FROM gh_audit WHERE action = 'user.login' AND details->>'reason' = 'empty password') || '/' || (SELECT count(*) FROM gh_lockouts WHERE kind = 'user' AND key = 'carbon.super/admin')")"
XFF=198.51.100.3
token "${MG[@]}" -d grant_type=password -d username=admin -d password=wrong
check_eq "wrong password: invalid_grant" "400 invalid_grant" "$CODE $(jf error)"
token "${MG[@]}" -d grant_type=password -d username=admin
check_eq "password grant without password: invalid_request" "400 invalid_request" "$CODE $(jf error)"
token "${MG[@]}" -d ""
check_eq "no grant_type: invalid_request" "400 invalid_request" "$CODE $(jf error)"
token "${MG[@]}" -d grant_type=client_credentials -d scope=a -d scope=b
check_eq "repeated parameter: invalid_request" "400 invalid_request" "$CODE $(jf error)"
token "${MG[@]}" -H 'Content-Type: application/json' -d '{"grant_type":"client_credentials"}'
check_eq "JSON body: invalid_request" "400 invalid_request" "$CODE $(jf error)"
token "${MG[@]}" -d 'grant_type=client_credentials&scope=%zz'
check_eq "malformed form: invalid_request" "400 invalid_request" "$CODE $(jf error)"
token "${MG[@]}" -d grant_type=implicit
check_eq "unknown grant: unsupported_grant_type" "400 unsupported_grant_type" "$CODE $(jf error)"
token -d grant_type=password -d client_id=app -d client_secret=app-secret-0123456789 -d username=admin --data-urlencode "password=$KM_ADMIN_PW"
check_eq "password on a client without that grant: unauthorized_client" "400 unauthorized_client" "$CODE $(jf error)"
token "${MG[@]}" -d grant_type=client_credentials --data-urlencode 'scope=apim:admin "quoted"'
check_eq "bad scope syntax: invalid_scope" "400 invalid_scope" "$CODE $(jf error)"
token "${MG[@]}" -d grant_type=client_credentials --data-urlencode 'scope=a  b'
check_eq "double space in scope: invalid_scope" "400 invalid_scope" "$CODE $(jf error)"
token -u mgmt:wrong-secret -d grant_type=client_credentials
check_eq "wrong client secret: 401 invalid_client" "401 invalid_client" "$CODE $(jf error)"
check_match "401 carries WWW-Authenticate" "^WWW-Authenticate: Basic" "$HDRS"
token -d grant_type=client_credentials -d client_id=nobody -d client_secret=x
check_eq "unknown client: 401 invalid_client" "401 invalid_client" "$CODE $(jf error)"
token -d grant_type=client_credentials
check_eq "no client authentication: 401 invalid_client" "401 invalid_client" "$CODE $(jf error)"
token "${MG[@]}" -d grant_type=refresh_token -d refresh_token=not-a-token
check_eq "unknown refresh token: invalid_grant" "400 invalid_grant" "$CODE $(jf error)"
token "${MG[@]}" -d grant_type=refresh_token
check_eq "refresh grant without token: invalid_request" "400 invalid_request" "$CODE $(jf error)"
token -u acme:acme-secret-0123456789 -d grant_type=refresh_token --data-urlencode "refresh_token=$R1"
check_eq "another client's refresh token: invalid_grant" "400 invalid_grant" "$CODE $(jf error)"
token "${MG[@]}" -d grant_type=refresh_token --data-urlencode "refresh_token=$R1" -d scope=apim:api_publish
check_eq "refresh with a wider scope: invalid_scope" "400 invalid_scope" "$CODE $(jf error)"
check_eq "nothing written by any bad request" "$before" "$(counts)"
check_eq "the other client's attempt did not revoke the family" "active" "$(sql "SELECT status FROM gh_refresh_tokens WHERE token_hash = '$(sha "$R1")'")"

# ---- refresh rotation and reuse detection ----
XFF=198.51.100.4
FAM=$(sql "SELECT family_id FROM gh_refresh_tokens WHERE token_hash = '$(sha "$R1")'")
token "${MG[@]}" -d grant_type=refresh_token --data-urlencode "refresh_token=$R1"
check_eq "refresh: 200" "200" "$CODE"
R2=$(jf refresh_token); A2=$(jf access_token)
check_ne "refresh: a new refresh token" "$R1" "$R2"
check_eq "refresh: same scope" "apim:admin apim:api_create openid" "$(jf scope)"
check_eq "refresh: the old token is rotated" "rotated" "$(sql "SELECT status FROM gh_refresh_tokens WHERE token_hash = '$(sha "$R1")'")"
check_eq "refresh: the new one is in the same family" "$FAM" "$(sql "SELECT family_id FROM gh_refresh_tokens WHERE token_hash = '$(sha "$R2")'")"
C=$(verify_jwt "$A2" gatehouse-management)
check_eq "refreshed JWT: sub" "admin" "$(cl "$C" sub)"
token "${MG[@]}" -d grant_type=refresh_token --data-urlencode "refresh_token=$R2" -d scope=apim:admin
check_eq "refresh with a narrower scope: 200" "200 apim:admin" "$CODE $(jf scope)"
R3=$(jf refresh_token)
check_eq "narrowed scope kept by the next refresh token" "apim:admin" "$(sql "SELECT scope FROM gh_refresh_tokens WHERE token_hash = '$(sha "$R3")'")"
NJTI=$(sql "SELECT count(*) FROM gh_family_tokens WHERE family_id = '$FAM'")
check_eq "three access tokens in the family" "3" "$NJTI"
ev_before=$(sql "SELECT count(*) FROM gh_events WHERE type = 'token.revoked'")
token "${MG[@]}" -d grant_type=refresh_token --data-urlencode "refresh_token=$R1"
check_eq "reused refresh token: invalid_grant" "400 invalid_grant" "$CODE $(jf error)"
check_eq "reuse revokes every refresh token of the family" "3" \
	"$(sql "SELECT count(*) FROM gh_refresh_tokens WHERE family_id = '$FAM' AND status = 'revoked'")"
check_eq "reuse revokes every access token of the family" "3" \
	"$(sql "SELECT count(*) FROM gh_revoked_tokens r JOIN gh_family_tokens f USING (jti) WHERE f.family_id = '$FAM'")"
check_eq "the first access token is listed" "1" \
	"$(sql "SELECT count(*) FROM gh_revoked_tokens WHERE jti = '$(cl "$(verify_jwt "$ADMIN_ACCESS" gatehouse-management)" jti)'")"
check_eq "one token.revoked event per access token" "3" \
	"$(( $(sql "SELECT count(*) FROM gh_events WHERE type = 'token.revoked'") - ev_before ))"
check_eq "events carry jti and exp" "1" \
	"$(sql "SELECT count(*) FROM gh_events WHERE type = 'token.revoked' AND payload->>'jti' = '$(cl "$C" jti)' AND (payload->>'exp')::bigint = $(cl "$C" exp)")"
check_eq "family revocation audited" "1" \
	"$(sql "SELECT count(*) FROM gh_audit WHERE action = 'token.family_revoked' AND target = '$FAM' AND details->>'reason' = 'refresh token reused'")"
token "${MG[@]}" -d grant_type=refresh_token --data-urlencode "refresh_token=$R3"
check_eq "the family's newest refresh token no longer works" "400 invalid_grant" "$CODE $(jf error)"

token -u opq:opq-secret-0123456789 -d grant_type=refresh_token --data-urlencode "refresh_token=$OPQ_R"
check_eq "opaque refresh: 200" "200" "$CODE"
token -u opq:opq-secret-0123456789 -d grant_type=refresh_token --data-urlencode "refresh_token=$OPQ_R"
check_eq "opaque refresh reuse: invalid_grant" "400 invalid_grant" "$CODE $(jf error)"
check_eq "opaque access tokens of the family revoked" "2" \
	"$(sql "SELECT count(*) FROM gh_revoked_tokens r JOIN gh_opaque_tokens o USING (jti) WHERE o.token_hash = '$(sha "$OPQ_ACCESS")' OR o.family_id = (SELECT family_id FROM gh_opaque_tokens WHERE token_hash = '$(sha "$OPQ_ACCESS")')")"

# ---- lock-out per user name, from different addresses ----
for i in 1 2 3 4 5; do
	XFF=203.0.113.$i
	token "${MG[@]}" -d grant_type=password -d username=dave -d password=bad-$i
	check_eq "dave wrong password $i: invalid_grant" "400 invalid_grant" "$CODE $(jf error)"
done
XFF=203.0.113.99
token "${MG[@]}" -d grant_type=password -d username=dave -d 'password=Dav3-pass'
check_eq "after 5 failures the right password is refused" "400 invalid_grant" "$CODE $(jf error)"
check_match "and the reason is the lock-out" "locked" "$(jf error_description)"
token "${MG[@]}" -d grant_type=password -d username=carol -d 'password=Car0l-pass'
check_eq "another user from a fresh address still signs in" "200" "$CODE"
check_eq "lock-out audited" "1" "$(sql "SELECT count(*) FROM gh_audit WHERE action = 'user.login' AND actor = 'dave' AND outcome = 'locked'")"

km_kill "$KM_PID"; rc=$?
check_eq "stops cleanly" "0" "$rc"
check_nomatch "no sanitizer report" "ERROR: (Address|Leak)Sanitizer|runtime error" "$(cat "$KM_LOG")"
check_done
