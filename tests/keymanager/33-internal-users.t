#!/usr/bin/env bash
# The internal user API, checked in the directory itself with ldapwhoami
# and ldapsearch: sign-up (a subscriber; the super tenant open unless its
# settings say selfSignUp false, other tenants only when they say true;
# 409 for an existing user; 400 for weak or empty passwords and filter
# characters in names), tenant creation by the publisher (gh_tenants row,
# LDAP subtree, default groups, its admin; tenant.created event; refused
# when super-tenant users such as bob@gmail.com end in the domain), password
# change with the old password, admin reset, and role membership.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/km.sh"
trap km_stop EXIT
km_start kmusers || { echo "0 passed, 1 failed"; exit 1; }

U=$KM_INTERNAL_URL/internal/km/v1/users
jf() { python3 -c 'import json,sys
d=json.load(sys.stdin)
for k in sys.argv[1].split("."):
    d=d[int(k)] if isinstance(d,list) else d.get(k) if isinstance(d,dict) else None
print(d if isinstance(d,str) else json.dumps(d))' "$1"; }
as() {	# ROLE METHOD URL BODY
	km_curl --cert "$KM_PKI/$1.crt" --key "$KM_PKI/$1.key" -X "$2" -H 'Content-Type: application/json' \
		--data-binary "$4" -w '\n%{http_code}' "$3"
}
st() { as "$@" | tail -n 1; }
body() { printf '%s\n' "$1" | sed '$d'; }
udn() { echo "uid=$2,ou=users,o=$1,$KM_LDAP_BASE"; }
whoami_ok() {	# TENANT USER PASSWORD: "yes" when the directory accepts the password
	ldapwhoami -x -H "$GH_TEST_LDAP_URI" -D "$(udn "$1" "$2")" -w "$3" >/dev/null 2>&1 && echo yes || echo no
}
groups_of() {	# TENANT USER: the user's groups, sorted, space-separated
	ldapsearch -x -LLL -H "$GH_TEST_LDAP_URI" -D "$GH_TEST_LDAP_ROOTDN" -w "$GH_TEST_LDAP_ROOTPW" \
		-b "ou=groups,o=$1,$KM_LDAP_BASE" "(member=$(udn "$1" "$2"))" cn 2>/dev/null |
		sed -n 's/^cn: //p' | sort | tr '\n' ' ' | sed 's/ $//'
}
exists() {	# DN: "yes" when the entry exists
	ldapsearch -x -LLL -H "$GH_TEST_LDAP_URI" -D "$GH_TEST_LDAP_ROOTDN" -w "$GH_TEST_LDAP_ROOTPW" \
		-s base -b "$1" dn >/dev/null 2>&1 && echo yes || echo no
}

# --- sign-up in the super tenant
out=$(as portal POST "$U/signup" '{"tenant":"carbon.super","username":"dave","password":"Dave-pass-1","firstName":"Dave","lastName":"Jones","email":"dave@example.com"}')
check_eq "sign-up: 201" "201" "$(printf '%s\n' "$out" | tail -n 1)"
check_eq "sign-up: the reply" '["subscriber"]' "$(jf roles <<<"$(body "$out")")"
check_eq "the new user binds with its password" "yes" "$(whoami_ok carbon.super dave Dave-pass-1)"
check_eq "the new user is a subscriber" "subscriber" "$(groups_of carbon.super dave)"
check_match "profile attributes" 'mail: dave@example.com' "$(ldapsearch -x -LLL -H "$GH_TEST_LDAP_URI" -D "$GH_TEST_LDAP_ROOTDN" -w "$GH_TEST_LDAP_ROOTPW" -s base -b "$(udn carbon.super dave)" mail cn sn)"
check_eq "sign-up audited" "1" "$(sql "SELECT count(*) FROM gh_audit WHERE action = 'user.signup' AND target = 'dave' AND outcome = 'success'")"
check_eq "the publisher may sign users up too" "201" "$(st publisher POST "$U/signup" '{"tenant":"carbon.super","username":"erin","password":"Erin-pass-1"}')"
check_eq "sign-up of an existing user: 409" "409" "$(st portal POST "$U/signup" '{"tenant":"carbon.super","username":"dave","password":"Other-pass-1"}')"
check_eq "the existing user's password is unchanged" "yes" "$(whoami_ok carbon.super dave Dave-pass-1)"
check_eq "weak password: 400" "400" "$(st portal POST "$U/signup" '{"tenant":"carbon.super","username":"frank","password":"short"}')"
check_eq "empty password: 400" "400" "$(st portal POST "$U/signup" '{"tenant":"carbon.super","username":"frank","password":""}')"
check_eq "no password: 400" "400" "$(st portal POST "$U/signup" '{"tenant":"carbon.super","username":"frank"}')"
check_eq "'*)(uid=*' as user name: 400" "400" "$(st portal POST "$U/signup" '{"tenant":"carbon.super","username":"*)(uid=*","password":"Long-enough-1"}')"
check_eq "'x)(|(objectClass=*' as user name: 400" "400" "$(st portal POST "$U/signup" '{"tenant":"carbon.super","username":"x)(|(objectClass=*","password":"Long-enough-1"}')"
check_eq "password a number: 400" "400" "$(st portal POST "$U/signup" '{"tenant":"carbon.super","username":"frank","password":12345678}')"
check_eq "unknown tenant: 404" "404" "$(st portal POST "$U/signup" '{"tenant":"nope.example","username":"frank","password":"Long-enough-1"}')"
check_eq "malformed JSON: 400" "400" "$(st portal POST "$U/signup" '{"tenant":')"
check_eq "no refused user was created" "no" "$(exists "$(udn carbon.super frank)")"
check_eq "gw-external may not sign up: 403" "403" "$(st gw-external POST "$U/signup" '{"tenant":"carbon.super","username":"frank","password":"Long-enough-1"}')"
sql "UPDATE gh_tenants SET settings = '{\"selfSignUp\": false}' WHERE domain = 'carbon.super'"
check_eq "super tenant with selfSignUp false: 403" "403" "$(st portal POST "$U/signup" '{"tenant":"carbon.super","username":"frank","password":"Long-enough-1"}')"
check_eq "... and no user" "no" "$(exists "$(udn carbon.super frank)")"
sql "UPDATE gh_tenants SET settings = '{}' WHERE domain = 'carbon.super'"
check_eq "a super-tenant user named like an e-mail address" "201" "$(st portal POST "$U/signup" '{"tenant":"carbon.super","username":"bob@gmail.com","password":"Bob-pass-12"}')"

# --- tenants
n0=$(sql "SELECT count(*) FROM gh_tenants")
out=$(as publisher POST "$U/tenants" '{"domain":"gmail.com","adminUsername":"boss","adminPassword":"Boss-pass-1"}')
check_eq "tenant gmail.com while bob@gmail.com is a super-tenant user: 409" "409" "$(printf '%s\n' "$out" | tail -n 1)"
check_match "... explained" 'super tenant' "$(body "$out")"
check_eq "... no tenant row" "$n0" "$(sql "SELECT count(*) FROM gh_tenants")"
check_eq "... no LDAP subtree" "no" "$(exists "o=gmail.com,$KM_LDAP_BASE")"
out=$(as publisher POST "$U/tenants" '{"domain":"Acme.com","adminUsername":"boss","adminPassword":"Boss-pass-1","firstName":"Big","lastName":"Boss","email":"boss@acme.com"}')
check_eq "tenant creation: 201" "201" "$(printf '%s\n' "$out" | tail -n 1)"
check_eq "the domain is lower-cased; the admin's full name" "acme.com|boss@acme.com" "$(b=$(body "$out"); echo "$(jf domain <<<"$b")|$(jf adminUsername <<<"$b")")"
check_eq "gh_tenants row" "active|{}" "$(sql "SELECT status, settings FROM gh_tenants WHERE domain = 'acme.com'")"
check_eq "tenant.created event" "tenant.created|acme.com|boss" "$(sql "SELECT type, payload->>'domain', payload->>'admin' FROM gh_events ORDER BY id DESC LIMIT 1")"
check_eq "the tenant admin binds (ldapwhoami)" "yes" "$(whoami_ok acme.com boss Boss-pass-1)"
check_eq "the tenant admin is in the admin group" "admin" "$(groups_of acme.com boss)"
check_eq "the four default groups" "admin creator publisher subscriber" \
	"$(ldapsearch -x -LLL -H "$GH_TEST_LDAP_URI" -D "$GH_TEST_LDAP_ROOTDN" -w "$GH_TEST_LDAP_ROOTPW" -b "ou=groups,o=acme.com,$KM_LDAP_BASE" '(objectClass=groupOfNames)' cn | sed -n 's/^cn: //p' | sort | tr '\n' ' ' | sed 's/ $//')"
check_eq "tenant creation audited" "1" "$(sql "SELECT count(*) FROM gh_audit WHERE action = 'user.tenant.create' AND tenant = 'acme.com' AND outcome = 'success'")"
check_eq "the same domain again: 409" "409" "$(st publisher POST "$U/tenants" '{"domain":"acme.com","adminUsername":"boss2","adminPassword":"Boss-pass-1"}')"
check_eq "the portal may not create tenants: 403" "403" "$(st portal POST "$U/tenants" '{"domain":"other.com","adminUsername":"boss","adminPassword":"Boss-pass-1"}')"
check_eq "a domain without a dot: 400" "400" "$(st publisher POST "$U/tenants" '{"domain":"localhost","adminUsername":"boss","adminPassword":"Boss-pass-1"}')"
check_eq "a domain with a filter in it: 400" "400" "$(st publisher POST "$U/tenants" '{"domain":"a*)(o=*.com","adminUsername":"boss","adminPassword":"Boss-pass-1"}')"
check_eq "carbon.super: 400" "400" "$(st publisher POST "$U/tenants" '{"domain":"carbon.super","adminUsername":"boss","adminPassword":"Boss-pass-1"}')"
check_eq "a weak admin password: 400" "400" "$(st publisher POST "$U/tenants" '{"domain":"other.com","adminUsername":"boss","adminPassword":"x"}')"
check_eq "no tenant made by refused requests" "$((n0 + 1))" "$(sql "SELECT count(*) FROM gh_tenants")"
check_eq "... nor its subtree" "no" "$(exists "o=other.com,$KM_LDAP_BASE")"

# --- sign-up in a tenant: closed until its settings open it
check_eq "sign-up in a new tenant (no selfSignUp setting): 403" "403" "$(st portal POST "$U/signup" '{"tenant":"acme.com","username":"alice","password":"Alice-pass-1"}')"
sql "UPDATE gh_tenants SET settings = '{\"selfSignUp\": true}' WHERE domain = 'acme.com'"
check_eq "after selfSignUp true: 201" "201" "$(st portal POST "$U/signup" '{"tenant":"acme.com","username":"alice@acme.com","password":"Alice-pass-1"}')"
check_eq "alice@acme.com is alice in acme.com" "yes|subscriber" "$(whoami_ok acme.com alice Alice-pass-1)|$(groups_of acme.com alice)"
check_eq "alice of carbon.super is another user (absent)" "no" "$(exists "$(udn carbon.super alice)")"
check_eq "a super-tenant name ending in a tenant's domain: 409" "409" "$(st portal POST "$U/signup" '{"tenant":"carbon.super","username":"carl@acme.com","password":"Carl-pass-12"}')"

# --- password change (the user's own, with the old password)
check_eq "change: 204" "204" "$(st portal POST "$U/password" '{"tenant":"carbon.super","username":"dave","oldPassword":"Dave-pass-1","newPassword":"Dave-pass-2"}')"
check_eq "the new password binds" "yes" "$(whoami_ok carbon.super dave Dave-pass-2)"
check_eq "the old one no more" "no" "$(whoami_ok carbon.super dave Dave-pass-1)"
check_eq "a wrong old password: 401" "401" "$(st portal POST "$U/password" '{"tenant":"carbon.super","username":"dave","oldPassword":"Dave-pass-1","newPassword":"Dave-pass-3"}')"
check_eq "a weak new password: 400" "400" "$(st portal POST "$U/password" '{"tenant":"carbon.super","username":"dave","oldPassword":"Dave-pass-2","newPassword":"short"}')"
check_eq "an empty old password: 400" "400" "$(st portal POST "$U/password" '{"tenant":"carbon.super","username":"dave","oldPassword":"","newPassword":"Dave-pass-3"}')"
check_eq "still the changed password" "yes" "$(whoami_ok carbon.super dave Dave-pass-2)"
check_eq "gw-external may not change passwords: 403" "403" "$(st gw-external POST "$U/password" '{"tenant":"carbon.super","username":"dave","oldPassword":"Dave-pass-2","newPassword":"Dave-pass-3"}')"
check_eq "change audited, the failure as a failed login" "1|1" "$(sql "SELECT (SELECT count(*) FROM gh_audit WHERE action = 'user.password.change' AND outcome = 'success') || '|' || (SELECT count(*) FROM gh_audit WHERE action = 'user.login' AND outcome = 'failure' AND target = 'dave')")"

# --- admin reset
check_eq "reset: 204" "204" "$(st publisher POST "$U/password-reset" '{"tenant":"carbon.super","username":"dave","newPassword":"Dave-pass-9"}')"
check_eq "the reset password binds" "yes" "$(whoami_ok carbon.super dave Dave-pass-9)"
check_eq "the user's failure count is cleared" "0" "$(sql "SELECT count(*) FROM gh_lockouts WHERE kind = 'user' AND key = 'carbon.super/dave'")"
check_eq "reset of an unknown user: 404" "404" "$(st publisher POST "$U/password-reset" '{"tenant":"carbon.super","username":"nobody","newPassword":"Long-enough-1"}')"
check_eq "the portal may not reset: 403" "403" "$(st portal POST "$U/password-reset" '{"tenant":"carbon.super","username":"dave","newPassword":"Dave-pass-8"}')"
check_eq "still the reset password" "yes" "$(whoami_ok carbon.super dave Dave-pass-9)"
check_eq "reset in a tenant" "204|yes" "$(st publisher POST "$U/password-reset" '{"tenant":"acme.com","username":"boss","newPassword":"Boss-pass-2"}')|$(whoami_ok acme.com boss Boss-pass-2)"

# --- roles
out=$(as publisher PUT "$U/roles" '{"tenant":"carbon.super","username":"dave","roles":["creator","publisher"]}')
check_eq "roles: 200" "200" "$(printf '%s\n' "$out" | tail -n 1)"
check_eq "roles: the reply" '["creator", "publisher"]' "$(jf roles <<<"$(body "$out")")"
check_eq "roles: in the directory (subscriber removed)" "creator publisher" "$(groups_of carbon.super dave)"
check_eq "a role that does not exist: 400" "400" "$(st publisher PUT "$U/roles" '{"tenant":"carbon.super","username":"dave","roles":["creator","wizard"]}')"
check_eq "... nothing changed" "creator publisher" "$(groups_of carbon.super dave)"
check_eq "roles not a list: 400" "400" "$(st publisher PUT "$U/roles" '{"tenant":"carbon.super","username":"dave","roles":"admin"}')"
check_eq "roles of an unknown user: 404" "404" "$(st publisher PUT "$U/roles" '{"tenant":"carbon.super","username":"nobody","roles":[]}')"
check_eq "the portal may not set roles: 403" "403" "$(st portal PUT "$U/roles" '{"tenant":"carbon.super","username":"dave","roles":["admin"]}')"
check_eq "... dave is no admin" "creator publisher" "$(groups_of carbon.super dave)"
check_eq "no roles at all" "200|" "$(st publisher PUT "$U/roles" '{"tenant":"carbon.super","username":"dave","roles":[]}')|$(groups_of carbon.super dave)"
check_eq "roles audited" "2" "$(sql "SELECT count(*) FROM gh_audit WHERE action = 'user.roles.set' AND outcome = 'success'")"

km_kill "$KM_PID"; rc=$?
check_eq "clean exit" "0" "$rc"
check_nomatch "no sanitizer report" "ERROR: (Address|Leak)Sanitizer|runtime error" "$(cat "$KM_LOG")"
check_done
