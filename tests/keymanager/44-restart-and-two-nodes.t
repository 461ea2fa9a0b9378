#!/usr/bin/env bash
# A restarted key manager still validates and introspects the tokens it issued
# (keys and state live in PostgreSQL), and two key manager processes on one
# database sign with the same keys, introspect each other's tokens, see each
# other's revocations and share lock-outs: a user locked out on node 1 (the
# configured number of wrong passwords, each from another client address) is
# refused on node 2 with the right password, from yet another address.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/km.sh"
trap km_stop EXIT
# The harness's curl is the load balancer: its X-Forwarded-For is believed.
km_start two "[http]" "trusted_proxies = 127.0.0.1" || { echo "0 passed, 1 failed"; exit 1; }

PYJWT=$GH_ROOT/tests/keymanager/interop-pyjwt.py
# verified URL TOKEN...: how many tokens PyJWT verifies with URL's JWKS.
verified() { local u=$1; shift; /usr/bin/python3 "$PYJWT" "$u/oauth2/jwks" "$KM_CA" "$KM_URL" gatehouse-management "$@" 2>&1 | grep -c '^verified '; }
introspect() {  # introspect URL TOKEN: the active member, via the DCR client
	call -u "$CID:$CSECRET" --data-urlencode "token=$2" "$1/oauth2/introspect"
	[ "$CODE" = 200 ] && jget "$BODY" active || echo "HTTP $CODE $BODY"
}
kids() { km_curl "$1/oauth2/jwks" | /usr/bin/python3 -c 'import json,sys; print(" ".join(sorted(k["kid"] for k in json.load(sys.stdin)["keys"])))'; }
# km_restart: the node's key manager again, same configuration and ports.
km_restart() {
	"$GH_BIN/gatehouse-keymanager" --config "$KM_CONF" >>"$KM_LOG" 2>&1 &
	KM_PID=$!
	GH_KM_PIDS="$GH_KM_PIDS $KM_PID"
	_km_wait "$KM_MGMT_URL" "$KM_PID"
}
# km_second: a second key manager process on the same node and database, other
# ports.  (Not km.sh's km_start_again: its sed also rewrites [db] port.)
km_second() {
	local d=$GH_TMP/two port iport mport
	port=$(gh_free_port); iport=$(gh_free_port); mport=$(gh_free_port)
	awk -v p="$port" -v i="$iport" -v m="$mport" '
		/^\[/ { sect = $0 }
		sect == "[keymanager]" && /^port = / { print "port = " p; next }
		sect == "[keymanager]" && /^internal_port = / { print "internal_port = " i; next }
		sect == "[keymanager]" && /^mgmt_port = / { print "mgmt_port = " m; next }
		{ print }' "$KM_CONF" >"$d/node2.conf"
	chmod 600 "$d/node2.conf"
	"$GH_BIN/gatehouse-keymanager" --config "$d/node2.conf" >>"$d/keymanager2.log" 2>&1 &
	KM2_PID=$!
	GH_KM_PIDS="$GH_KM_PIDS $KM2_PID"
	KM2_URL=https://localhost:$port
	_km_wait "http://127.0.0.1:$mport" "$KM2_PID"
}
ldap_user() {
	local dn="uid=$2,ou=users,o=$1,$KM_LDAP_BASE"
	printf 'dn: %s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\n' "$dn" "$2" "$2" "$2" |
		ldapadd -x -H "$GH_TEST_LDAP_URI" -D "$GH_TEST_LDAP_ROOTDN" -w "$GH_TEST_LDAP_ROOTPW" >/dev/null &&
		ldappasswd -x -H "$GH_TEST_LDAP_URI" -D "$GH_TEST_LDAP_ROOTDN" -w "$GH_TEST_LDAP_ROOTPW" -s "$3" "$dn" >/dev/null
}
password_grant() {  # password_grant URL FROM_ADDR USER PASSWORD
	call -u "$CID:$CSECRET" -H "X-Forwarded-For: $2" --data-urlencode grant_type=password \
		--data-urlencode "username=$3" --data-urlencode "password=$4" "$1/oauth2/token"
}

call -u "admin:$KM_ADMIN_PW" -H 'Content-Type: application/json' \
	-d '{"clientName":"two_nodes","owner":"admin","grantType":"client_credentials password refresh_token","saasApp":false}' \
	"$KM_URL/client-registration/v0.17/register"
check_eq "DCR: 200" "200" "$CODE"
CID=$(jget "$BODY" clientId); CSECRET=$(jget "$BODY" clientSecret)

call -u "$CID:$CSECRET" -d grant_type=client_credentials "$KM_URL/oauth2/token"
check_eq "client_credentials token before the restart: 200" "200" "$CODE"
T1=$(jget "$BODY" access_token)
password_grant "$KM_URL" 10.44.0.100 admin "$KM_ADMIN_PW"
check_eq "password-grant token before the restart: 200" "200" "$CODE"
T2=$(jget "$BODY" access_token); R2=$(jget "$BODY" refresh_token)
call -u "$CID:$CSECRET" -d grant_type=client_credentials "$KM_URL/oauth2/token"
T3=$(jget "$BODY" access_token)
call -u "$CID:$CSECRET" --data-urlencode "token=$T3" "$KM_URL/oauth2/revoke"
check_eq "a third token revoked before the restart" "200" "$CODE"
KIDS_BEFORE=$(kids "$KM_URL")

# --- restart ----------------------------------------------------------------
km_kill "$KM_PID"; rc=$?
check_eq "stopped cleanly" "0" "$rc"
check_eq "stopped: the port is closed" "000" "$(km_curl -o /dev/null -w '%{http_code}' "$KM_URL/oauth2/jwks" 2>/dev/null)"
check_ok "started again with the same configuration" km_restart
check_eq "after the restart: the same published keys" "$KIDS_BEFORE" "$(kids "$KM_URL")"
check_eq "after the restart: client_credentials token introspects active" "true" "$(introspect "$KM_URL" "$T1")"
check_eq "after the restart: password-grant token introspects active" "true" "$(introspect "$KM_URL" "$T2")"
check_eq "after the restart: the revoked token stays inactive" "false" "$(introspect "$KM_URL" "$T3")"
check_eq "after the restart: both tokens verify against the JWKS (PyJWT)" "2" "$(verified "$KM_URL" "$T1" "$T2")"
call -u "$CID:$CSECRET" --data-urlencode grant_type=refresh_token --data-urlencode "refresh_token=$R2" "$KM_URL/oauth2/token"
check_eq "after the restart: the refresh token works" "200" "$CODE"

# --- a second process on the same database -----------------------------------
check_ok "a second key manager on the same database" km_second
check_eq "both publish identical key sets" "$(kids "$KM_URL")" "$(kids "$KM2_URL")"
check_match "... and it is not empty" '^[^ ]+' "$(kids "$KM2_URL")"
call -u "$CID:$CSECRET" -d grant_type=client_credentials "$KM2_URL/oauth2/token"
check_eq "node 2 issues: 200" "200" "$CODE"
N2=$(jget "$BODY" access_token)
check_eq "node 2's token names the same issuer" "$KM_URL" "$(jget "$(/usr/bin/python3 -c '
import base64, sys
p = sys.argv[1].split(".")[1]
print(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)).decode())' "$N2")" iss)"
check_eq "node 1's tokens introspect active on node 2" "true true" "$(introspect "$KM2_URL" "$T1") $(introspect "$KM2_URL" "$T2")"
check_eq "node 2's token introspects active on node 1" "true" "$(introspect "$KM_URL" "$N2")"
check_eq "node 2's token verifies with node 1's JWKS and node 1's with node 2's" "1 2" \
	"$(verified "$KM_URL" "$N2") $(verified "$KM2_URL" "$T1" "$T2")"
check_eq "node 1's revocation holds on node 2" "false" "$(introspect "$KM2_URL" "$T3")"
call -u "$CID:$CSECRET" --data-urlencode "token=$N2" "$KM2_URL/oauth2/revoke"
check_eq "node 2 revokes its token" "200" "$CODE"
check_eq "node 2's revocation holds on node 1" "false" "$(introspect "$KM_URL" "$N2")"

# --- lock-out reached on node 1 holds on node 2 ------------------------------
CAROL_PW="Carol-$(head -c 6 /dev/urandom | base64 | tr -d '/+=')"
check_ok "user carol" ldap_user carbon.super carol "$CAROL_PW"
password_grant "$KM2_URL" 10.44.1.1 carol "$CAROL_PW"
check_eq "carol logs in on node 2 before the failures" "200" "$CODE"
LIMIT=$(sed -n 's/^lockout_failures *= *//p' "$KM_CONF")
codes=""
for i in $(seq 1 "$LIMIT"); do
	password_grant "$KM_URL" "10.44.2.$i" carol "wrong-$i"
	codes="$codes$CODE/$(jget "$BODY" error) "
done
check_match "$LIMIT wrong passwords on node 1, each from another address: 400 invalid_grant each" \
	"^(400/invalid_grant ){$LIMIT}\$" "$codes"
check_eq "carol is locked out in the shared table" "1" \
	"$(psql "$KM_DB" -qAt -c "SELECT count(*) FROM gh_lockouts WHERE kind = 'user' AND key LIKE '%carol' AND locked_until > now()")"
check_eq "no address is locked out" "0" \
	"$(psql "$KM_DB" -qAt -c "SELECT count(*) FROM gh_lockouts WHERE kind = 'addr' AND locked_until > now()")"
password_grant "$KM2_URL" 10.44.3.1 carol "$CAROL_PW"
check_eq "node 2 refuses carol's right password from a fresh address: 400" "400" "$CODE"
check_eq "... invalid_grant" "invalid_grant" "$(jget "$BODY" error)"
password_grant "$KM_URL" 10.44.3.2 carol "$CAROL_PW"
check_eq "node 1 refuses it too" "400" "$CODE"
password_grant "$KM2_URL" 10.44.3.3 admin "$KM_ADMIN_PW"
check_eq "another user still logs in on node 2" "200" "$CODE"
check_eq "the failures are audited with their real addresses" "$LIMIT" \
	"$(psql "$KM_DB" -qAt -c "SELECT count(DISTINCT client_addr) FROM gh_audit WHERE action = 'user.login' AND outcome = 'failure' AND client_addr LIKE '10.44.2.%'")"

km_kill "$KM2_PID"; rc2=$?
km_kill "$KM_PID"; rc=$?
check_eq "both stop cleanly" "0 0" "$rc $rc2"
check_nomatch "no sanitizer report" "ERROR: (Address|Leak)Sanitizer|runtime error" "$(cat "$KM_LOG" "$GH_TMP/two/keymanager2.log")"
check_done
