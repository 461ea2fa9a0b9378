#!/usr/bin/env bash
# The user-name lock-out cannot be dodged by spelling the name differently:
# LDAP matches uid without regard to case (and to insignificant spaces), so
# "dave", "Dave" and "DAVE" are one account and must share one failure count.
# Five wrong passwords under five spellings, from five addresses, lock dave
# out; a name with a space or a byte outside printable ASCII never reaches
# LDAP; an admin's password reset lifts the lock whatever the spelling.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/km.sh"
trap km_stop EXIT
km_start lockcase "[http]" "trusted_proxies = 127.0.0.1" || { echo "0 passed, 1 failed"; exit 1; }
LDAP_ARGS=(-x -H "$GH_TEST_LDAP_URI" -D "$GH_TEST_LDAP_ROOTDN" -w "$GH_TEST_LDAP_ROOTPW")

dn="uid=dave,ou=users,o=carbon.super,$KM_LDAP_BASE"
printf 'dn: %s\nobjectClass: inetOrgPerson\nuid: dave\ncn: dave\nsn: dave\n' "$dn" | ldapadd "${LDAP_ARGS[@]}" >/dev/null
ldappasswd "${LDAP_ARGS[@]}" -s 'Dav3-pass' "$dn" >/dev/null
sql "INSERT INTO gh_oauth_clients (client_id, secret_hash, tenant, owner, client_name, grant_types, audience)
	VALUES ('cli', '$(sha cli-secret-0123456789)', 'carbon.super', 'admin', 'cli', '{password}',
	'gatehouse-management')" >/dev/null

# pw NAME PASSWORD ADDR: password grant; sets CODE and BODY
pw() {
	call -u cli:cli-secret-0123456789 -H "X-Forwarded-For: $3" "$KM_URL/oauth2/token" \
		-d grant_type=password --data-urlencode "username=$1" --data-urlencode "password=$2"
}

pw DAVE 'Dav3-pass' 203.0.113.50
check_eq "LDAP matches the name in any case: DAVE signs in" "200" "$CODE"
pw 'dave ' 'Dav3-pass' 203.0.113.51
check_eq "a name with a space does not reach LDAP" "400 invalid_grant" "$CODE $(jget "$BODY" error)"

i=1
for name in dave Dave dAve daVe davE; do
	pw "$name" "bad-$i" 203.0.113.$i
	check_eq "wrong password as $name: invalid_grant" "400 invalid_grant" "$CODE $(jget "$BODY" error)"
	i=$((i + 1))
done
pw dave 'Dav3-pass' 203.0.113.99
check_eq "five failures under five spellings lock dave out" "400" "$CODE"
check_match "the refusal is the lock-out" "locked" "$(jget "$BODY" error_description)"
pw DAVE 'Dav3-pass' 203.0.113.98
check_match "DAVE is locked out too" "locked" "$(jget "$BODY" error_description)"
check_eq "one failure count for the user" "1" "$(sql "SELECT count(*) FROM gh_lockouts WHERE kind = 'user'")"

out=$(km_curl --cert "$KM_PKI/publisher.crt" --key "$KM_PKI/publisher.key" -w '\n%{http_code}' \
	-H 'Content-Type: application/json' -d '{"tenant":"carbon.super","username":"Dave","newPassword":"N3w-dave-pass"}' \
	"$KM_INTERNAL_URL/internal/km/v1/users/password-reset")
check_eq "reset as Dave: 204" "204" "${out##*$'\n'}"
pw dave 'N3w-dave-pass' 203.0.113.97
check_eq "the reset lifted the lock of dave" "200" "$CODE"

km_kill "$KM_PID"; rc=$?
check_eq "stops cleanly" "0" "$rc"
check_nomatch "no sanitizer report" "ERROR: (Address|Leak)Sanitizer|runtime error" "$(cat "$KM_LOG")"
check_done
