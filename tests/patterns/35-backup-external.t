#!/usr/bin/env bash
# Backup and restore of a node on an external PostgreSQL and LDAP (the run's shared servers):
# the directory is exported with ldapsearch through ldap.bind_dn and comes back with ldapadd
# under another, empty base (every DN moved there, group members too), the database goes into
# another, empty database; a database or directory that is not empty is refused.  The restored
# node's key manager opens the backup's signing keys with the backup's key-encryption key and
# issues a token to the application's old credentials, and the admin signs in with the old
# password.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/gw.sh"
G=$GH_BIN/gatehouse
trap 'cp_stop >/dev/null 2>&1; [ -n "${KMR_PID:-}" ] && kill $KMR_PID 2>/dev/null' EXIT
cp_start e1 || { check_eq "control plane e1" ok failed; check_done; exit 1; }
BE_PROD_URL=http://127.0.0.1:9 BE_SAND_URL=http://127.0.0.1:9
ADM=$(admin_token)
api=$(gw_api Stock /stock 1.0 "External")
gw_app stockapp "$api" Gold
check_ne "an API and a subscribed application with keys on e1" "" "$CK"
kids1=$(sql "SELECT string_agg(kid, ',' ORDER BY kid) FROM gh_signing_keys")

BK=$GH_TMP/backup
out=$("$G" backup "$BK" --config "$KM_CONF" 2>&1); rc=$?
echo "$out" | grep -v '^{'
check_eq "backup of a node on external servers succeeds" 0 "$rc"
check_eq "the directory was exported with ldapsearch" ldapsearch \
	"$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ldap_export"])' "$BK/manifest.json")"
check_match "the export holds the developer" "^dn: uid=dev,ou=users,o=carbon.super,$KM_LDAP_BASE" "$(cat "$BK/ldap.ldif")"
cp_stop

# the restore target: another database, another (empty) base, another data folder, no KEK yet
db2=rst_$$
psql "$GH_TEST_PG" -qAt -c "CREATE DATABASE $db2" >/dev/null
base2="ou=rst$$,$GH_TEST_LDAP_BASE"
printf 'dn: %s\nobjectClass: organizationalUnit\nou: rst%s\n' "$base2" "$$" |
	ldapadd -x -H "$GH_TEST_LDAP_URI" -D "$GH_TEST_LDAP_ROOTDN" -w "$GH_TEST_LDAP_ROOTPW" >/dev/null
R=$GH_TMP/r
mkdir -p "$R"
sed -e "s|^name = km_.*|name = $db2|" -e "s|^base_dn = .*|base_dn = $base2|" -e "s|^data_dir = .*|data_dir = $R/data|" \
	-e '/signing_kek/d' -e '/written by gatehouse init/d' "$KM_CONF" >"$R/node.conf"
chmod 600 "$R/node.conf"
out=$("$G" restore "$BK" --config "$R/node.conf" 2>&1); rc=$?
echo "$out" | grep -v '^{'
check_eq "restore onto external servers succeeds" 0 "$rc"
RDB="host=127.0.0.1 port=$GH_TEST_PG_PORT user=postgres dbname=$db2"
rq() { psql "$RDB" -qAtX -c "$1"; }
check_eq "the API is in the new database" "$api" "$(rq "SELECT id FROM gh_apis WHERE name = 'Stock'")"
check_eq "the signing keys came along" "$kids1" "$(rq "SELECT string_agg(kid, ',' ORDER BY kid) FROM gh_signing_keys")"
ls_=(-x -H "$GH_TEST_LDAP_URI" -D "$GH_TEST_LDAP_ROOTDN" -w "$GH_TEST_LDAP_ROOTPW")
check_eq "the developer is under the new base" 1 \
	"$(ldapsearch -LLL "${ls_[@]}" -b "$base2" '(uid=dev)' dn | grep -c '^dn: ')"
check_match "group members were moved to the new base" "member: uid=admin,ou=users,o=carbon.super,$base2" \
	"$(ldapsearch -LLL -o ldif-wrap=no "${ls_[@]}" -b "cn=admin,ou=groups,o=carbon.super,$base2" -s base member)"
check_ok "the admin binds under the new base with the old password" \
	ldapwhoami -x -H "$GH_TEST_LDAP_URI" -D "uid=admin,ou=users,o=carbon.super,$base2" -w "$KM_ADMIN_PW"

out=$("$G" restore "$BK" --config "$R/node.conf" 2>&1); rc=$?
check_eq "a restore onto a node that is not fresh is refused" 1 "$rc"
rm -rf "$R/data"
out=$("$G" restore "$BK" --config "$R/node.conf" 2>&1); rc=$?
check_eq "a restore onto a directory and a database that are not empty is refused" 1 "$rc"
check_match "it says why" "is not empty: restore needs an empty ldap.base_dn" "$out"
check_eq "and took away what it made" absent "$([ -e "$R/data" ] && echo present || echo absent)"

# the restored node signs tokens: the key manager on the restored configuration
rm -rf "$R/data"
cp -a "$BK/pki" "$R/data-pki" && mkdir -p "$R/data" && mv "$R/data-pki" "$R/data/pki"
"$GH_BIN/gatehouse-keymanager" --config "$R/node.conf" >"$R/km.log" 2>&1 &
KMR_PID=$!
_km_wait "$KM_MGMT_URL" "$KMR_PID" || cat "$R/km.log"
tok=$(jget "$(km_curl -u "$CK:$CS" -d grant_type=client_credentials "$KM_URL/oauth2/token")" access_token)
check_match "the application's old credentials get a JWT from the restored key manager" '^ey' "$tok"
kid=$(/usr/bin/python3 -c 'import base64, json, sys
h = sys.argv[1].split(".")[0]
print(json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))["kid"])' "$tok" 2>/dev/null)
check_match "signed with a restored key" "(^|,)$kid(,|$)" "$kids1"
kill "$KMR_PID"; wait "$KMR_PID" 2>/dev/null; KMR_PID=
check_done
