#!/usr/bin/env bash
# gatehouse init --first and check-config, end to end on the private PostgreSQL
# and slapd: the first run creates the CA, certificates, key-encryption key,
# schema, signing keys and the super tenant's LDAP entries; the second run
# changes nothing and says so; check-config names the line of each error.
set -u
. "$GH_ROOT/tests/lib/check.sh"
GH=$GH_BIN/gatehouse
D=$GH_TMP
db=init_$$
psql "$GH_TEST_PG" -qAt -c "CREATE DATABASE $db" >/dev/null
base="ou=init$$,$GH_TEST_LDAP_BASE"
printf 'dn: %s\nobjectClass: organizationalUnit\nou: init%s\n' "$base" "$$" |
	ldapadd -x -H "$GH_TEST_LDAP_URI" -D "$GH_TEST_LDAP_ROOTDN" -w "$GH_TEST_LDAP_ROOTPW" >/dev/null
cat >"$D/node.conf" <<CONF
# test node
[node]
name = test1
role = all-in-one
data_dir = $D/data
hostnames = localhost, 127.0.0.1

[db]
host = 127.0.0.1
port = $GH_TEST_PG_PORT
name = $db
user = postgres
sslmode = disable

[ldap]
uri = $GH_TEST_LDAP_URI
base_dn = $base
bind_dn = $GH_TEST_LDAP_ROOTDN
bind_password = "$GH_TEST_LDAP_ROOTPW"
CONF

# check-config
out=$("$GH" check-config "$D/node.conf" 2>&1); rc=$?
check_eq "check-config accepts a valid file" 0 "$rc"
check_match "check-config says valid" "valid" "$out"
cat >"$D/bad.conf" <<'CONF'
[node]
role = everything
name = ok
[db]
port = 99999
pasword = x
[ldap]
uri
CONF
out=$("$GH" check-config "$D/bad.conf" 2>&1); rc=$?
check_eq "check-config refuses a bad file" 1 "$rc"
check_match "names line 2 (bad role)" "bad.conf:2\].*node.role" "$out"
check_match "names line 5 (port range)" "bad.conf:5\].*out of range" "$out"
check_match "names line 6 with a suggestion" "bad.conf:6\].*did you mean 'db.password'" "$out"
check_match "names line 8 (missing =)" "bad.conf:8\].*missing '='" "$out"
out=$("$GH" check-config "$D/none.conf" 2>&1); rc=$?
check_eq "check-config on a missing file fails" 1 "$rc"
"$GH" init >/dev/null 2>&1; rc=$?
check_eq "init without --first is a usage error" 2 "$rc"

# first run
out=$(unset GATEHOUSE_ADMIN_PASSWORD; "$GH" init --first --config "$D/node.conf" 2>&1); rc=$?
echo "$out"
check_eq "init --first succeeds" 0 "$rc"
check_match "creates the CA" "created +internal CA" "$out"
pw=$(printf '%s\n' "$out" | sed -n 's/.*password (shown once): //p')
check_ne "prints a generated admin password once" "" "$pw"
check_eq "CA key is 0600" 600 "$(stat -c %a "$D/data/pki/ca.key")"
check_eq "config is 0600" 600 "$(stat -c %a "$D/node.conf")"
check_match "KEK appended to the config" "signing_kek = " "$(cat "$D/node.conf")"
check_eq "config with KEK still valid" 0 "$("$GH" check-config "$D/node.conf" >/dev/null 2>&1; echo $?)"
for c in node publisher portal keymanager trafficmanager gw-internal gw-external; do
	check_ok "certificate $c verifies" openssl verify -CAfile "$D/data/pki/ca.crt" "$D/data/pki/$c.crt"
done
check_match "gateway certificate names its role and environment" "URI:gatehouse://gw-external/External/test1" \
	"$(openssl x509 -in "$D/data/pki/gw-external.crt" -noout -ext subjectAltName)"
q() { psql "host=127.0.0.1 port=$GH_TEST_PG_PORT user=postgres dbname=$db" -qAt -c "$1"; }
check_eq "migrations applied" "1" "$(q 'SELECT count(*) > 0 FROM gh_schema_migrations' | sed 's/t/1/')"
check_eq "two signing keys" "2" "$(q "SELECT count(*) FROM gh_signing_keys WHERE status='active'")"
check_eq "signing keys RS256 and ES256" "ES256,RS256" "$(q "SELECT string_agg(alg, ',' ORDER BY alg) FROM gh_signing_keys")"
check_eq "private keys are not stored in clear" "0" \
	"$(q "SELECT count(*) FROM gh_signing_keys WHERE position('PRIVATE'::bytea in private_key_enc) > 0")"
check_eq "public JWK has no private member" "0" "$(q "SELECT count(*) FROM gh_signing_keys WHERE public_jwk ? 'd'")"
admin_dn=$(ldapsearch -LLL -x -H "$GH_TEST_LDAP_URI" -D "$GH_TEST_LDAP_ROOTDN" -w "$GH_TEST_LDAP_ROOTPW" \
	-b "$base" '(uid=admin)' dn | sed -n 's/^dn: //p')
check_ne "admin user in LDAP" "" "$admin_dn"
check_ok "admin binds with the printed password (ldapwhoami)" \
	ldapwhoami -x -H "$GH_TEST_LDAP_URI" -D "$admin_dn" -w "$pw"
check_fail "admin refuses a wrong password" \
	ldapwhoami -x -H "$GH_TEST_LDAP_URI" -D "$admin_dn" -w "$pw-x"
stored=$(ldapsearch -LLL -x -H "$GH_TEST_LDAP_URI" -D "$GH_TEST_LDAP_ROOTDN" -w "$GH_TEST_LDAP_ROOTPW" \
	-b "$admin_dn" -s base userPassword | sed -n 's/^userPassword:: //p' | base64 -d)
check_match "admin password is stored hashed" "^\{" "$stored"
groups=$(ldapsearch -LLL -x -H "$GH_TEST_LDAP_URI" -D "$GH_TEST_LDAP_ROOTDN" -w "$GH_TEST_LDAP_ROOTPW" \
	-b "$base" '(objectClass=groupOfNames)' cn | sed -n 's/^cn: //p' | sort | tr '\n' ' ')
check_eq "role groups" "admin creator publisher subscriber " "$groups"

# second run: nothing changes
sum1=$(cat "$D/node.conf" "$D"/data/pki/* | sha256sum)
keys1=$(q "SELECT string_agg(kid, ',' ORDER BY kid) FROM gh_signing_keys")
out=$("$GH" init --first --config "$D/node.conf" 2>&1); rc=$?
echo "$out"
check_eq "second init succeeds" 0 "$rc"
check_match "second init says nothing changed" "nothing changed" "$out"
check_nomatch "second init creates nothing" "^created" "$out"
check_eq "files unchanged" "$sum1" "$(cat "$D/node.conf" "$D"/data/pki/* | sha256sum)"
check_eq "signing keys unchanged" "$keys1" "$(q "SELECT string_agg(kid, ',' ORDER BY kid) FROM gh_signing_keys")"
check_ok "admin password unchanged" ldapwhoami -x -H "$GH_TEST_LDAP_URI" -D "$admin_dn" -w "$pw"

# a certificate that names another environment (made by an older version) is issued again
cp "$D/data/pki/gw-external.crt" "$D/data/pki/gw-internal.crt"
cp "$D/data/pki/gw-external.key" "$D/data/pki/gw-internal.key"
out=$("$GH" init --first --config "$D/node.conf" 2>&1)
check_match "init replaces a gateway certificate naming another role or environment" \
	"replacing certificate .*gw-internal.crt" "$out"
check_match "the new one names gw-internal/Internal" "URI:gatehouse://gw-internal/Internal/" \
	"$(openssl x509 -in "$D/data/pki/gw-internal.crt" -noout -ext subjectAltName)"
check_ok "and verifies against the CA" openssl verify -CAfile "$D/data/pki/ca.crt" "$D/data/pki/gw-internal.crt"

# a gateway node may not be a first node
sed 's/role = all-in-one/role = gateway-external/' "$D/node.conf" >"$D/gw.conf"
"$GH" init --first --config "$D/gw.conf" >/dev/null 2>&1; rc=$?
check_eq "gateway role refused for --first" 1 "$rc"
check_done
