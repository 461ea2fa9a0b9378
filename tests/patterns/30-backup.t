#!/usr/bin/env bash
# Backup and restore.  Node b1 (all-in-one, embedded PostgreSQL and slapd) gets an API deployed
# to both environments, a developer's application subscribed to it and keys; `gatehouse backup`
# runs while a client keeps calling the API (no call fails): the folder is 0700, every file
# 0600, the manifest's SHA-256 match.  b1 is stopped.  A copy of the backup with one byte
# changed is refused by `gatehouse restore`, which then changes nothing.  The backup restored
# into b2 — a fresh node with its own data folder, ports and passwords — gets b1's key of the
# signing keys; `gatehouse run` starts b2, which serves the same API, application and
# subscription: the application's old client credentials get a token from b2's key manager and
# that token calls the API through b2's gw-external.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/node.sh"
G=$GH_BIN/gatehouse
BK=$GH_TMP/backup
BEPID=
cleanup() {
	kill $BEPID 2>/dev/null
	[ -n "${NODE_PID:-}" ] && kill -9 "$NODE_PID" 2>/dev/null
	for n in b1 b2 b3; do for p in $(node_pids $n); do kill -9 "$p" 2>/dev/null; done; done
}
trap cleanup EXIT

node_conf b1
node_init b1 || { check_eq "init b1" ok failed; check_done; exit 1; }
node_run b1 || { check_eq "b1 ready" ready failed; check_done; exit 1; }
node_use b1 || check_eq "management client on b1" ok failed
_gw_backend prod; BE_PROD_URL=http://127.0.0.1:$_BE_PORT; BE_SAND_URL=$BE_PROD_URL
BEPID=$GH_BE_PIDS
ADM=$(admin_token)
api=$(gw_api Orders /orders 2.0 "Internal External")
gw_app orderapp "$api" Unlimited
app=$APP_ID CK1=$CK CS1=$CS
check_eq "b1 serves the API through gw-external" 200 "$(gw_wait_code 200 10000 -H "Authorization: Bearer $TOKEN" "$GWE_URL/orders/2.0/list")"
apis1=$(pcall "$ADM" "$PUB_URL/api/am/publisher/v4/apis"; jget "$BODY" list.0.id)
subs1=$(pcall "$DEV_TOKEN" "$PORTAL_URL/api/am/devportal/v3/subscriptions?applicationId=$app"; jget "$BODY" count)

# the backup, under load
(
	ok=0 bad=0
	while [ ! -e "$GH_TMP/stop" ]; do
		c=$(curl -s --cacert "$KM_CA" -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$GWE_URL/orders/2.0/load")
		[ "$c" = 200 ] && ok=$((ok + 1)) || bad=$((bad + 1))
	done
	echo "$ok $bad" >"$GH_TMP/load.out"
) &
LOAD=$!
sleep 0.5
out=$("$G" backup "$BK" --config "$GH_TMP/b1/node.conf" 2>&1); rc=$?
echo "$out"
sleep 0.5
touch "$GH_TMP/stop"; wait "$LOAD"
read -r ok bad <"$GH_TMP/load.out"
echo "load during the backup: $ok answered 200, $bad did not"
check_eq "gatehouse backup succeeds" 0 "$rc"
check_eq "no call failed during the backup" 0 "$bad"
check_eq "calls went on during the backup" 1 "$([ "$ok" -gt 5 ] && echo 1)"
check_eq "the backup folder is 0700" 700 "$(stat -c %a "$BK")"
check_eq "every file is 0600" "" "$(find "$BK" -type f ! -perm 600)"
for f in postgresql.dump ldap.ldif gatehouse.conf pki/ca.key pki/ca.crt manifest.json; do
	check_ok "the backup has $f" test -s "$BK/$f"
done
check_match "the configuration in it holds the signing-key encryption key" "signing_kek = " "$(cat "$BK/gatehouse.conf")"
sums=$(/usr/bin/python3 -c '
import json, sys, hashlib, os
m = json.load(open(sys.argv[1] + "/manifest.json"))
bad = [f["path"] for f in m["files"] if hashlib.sha256(open(os.path.join(sys.argv[1], f["path"]), "rb").read()).hexdigest() != f["sha256"]]
print(len(m["files"]) >= 6, m["schema_version"], ",".join(bad) or "ok")' "$BK")
LATEST=$(sed -n 's/^\t{ \([0-9]*\), ".*/\1/p' "$GH_ROOT/appliance/pg/schema.c" | tail -1)
check_eq "the manifest's SHA-256 match (files listed, schema version, mismatches)" "True $LATEST ok" "$sums"
check_match "the directory export holds the developer" "uid=dev,ou=users,o=carbon.super,dc=gatehouse" "$(cat "$BK/ldap.ldif")"
node_stop b1
check_eq "b1 stops cleanly" 0 "$NODE_RC"

# a damaged backup is refused, and nothing is made
cp -a "$BK" "$GH_TMP/damaged"
printf '\xff' | dd of="$GH_TMP/damaged/postgresql.dump" bs=1 seek=100 conv=notrunc 2>/dev/null
node_conf b3
out=$("$G" restore "$GH_TMP/damaged" --config "$GH_TMP/b3/node.conf" 2>&1); rc=$?
check_eq "restore refuses a damaged backup" 1 "$rc"
check_match "it names the file that does not match" "postgresql.dump does not match its checksum" "$out"
check_eq "and changes nothing" "absent" "$([ -e "$GH_TMP/b3/data" ] && echo present || echo absent)"
check_nomatch "the configuration is untouched" "signing_kek" "$(cat "$GH_TMP/b3/node.conf")"

# restore into a fresh node b2
node_conf b2
cp "$GH_TMP/b1/admin-password" "$GH_TMP/b2/admin-password"
out=$("$G" restore "$BK" --config "$GH_TMP/b2/node.conf" 2>&1); rc=$?
echo "$out" | grep -v '^{'
check_eq "restore into a fresh node succeeds" 0 "$rc"
check_eq "b2 got b1's signing-key encryption key" "$(grep '^signing_kek' "$BK/gatehouse.conf")" "$(grep '^signing_kek' "$GH_TMP/b2/node.conf")"
check_eq "the CA key is back, 0600" 600 "$(stat -c %a "$GH_TMP/b2/data/pki/ca.key")"
check_eq "the same CA" "$(openssl x509 -in "$BK/pki/ca.crt" -noout -fingerprint)" \
	"$(openssl x509 -in "$GH_TMP/b2/data/pki/ca.crt" -noout -fingerprint)"
out=$("$G" restore "$BK" --config "$GH_TMP/b2/node.conf" 2>&1); rc=$?
check_eq "a second restore into the same node is refused" 1 "$rc"
check_match "because the node is not fresh" "not empty: restore needs a fresh node" "$out"

node_run b2 || { check_eq "b2 ready" ready failed; check_done; exit 1; }
DEV_TOKEN=
node_use b2 || check_eq "management client on b2 (admin's password came with the directory)" ok failed
ADM=$(admin_token)
check_eq "b2's publisher has the same API" "$apis1" "$(pcall "$ADM" "$PUB_URL/api/am/publisher/v4/apis"; jget "$BODY" list.0.id)"
DEV_TOKEN=$(mgmt_token dev 'Dev-pass-123' "apim:subscribe apim:app_manage apim:sub_manage")
check_ne "the developer signs in on b2 (directory restored)" "" "$DEV_TOKEN"
check_eq "b2's portal has the application" orderapp "$(pcall "$DEV_TOKEN" "$PORTAL_URL/api/am/devportal/v3/applications/$app"; jget "$BODY" name)"
check_eq "and its subscription" "$subs1" "$(pcall "$DEV_TOKEN" "$PORTAL_URL/api/am/devportal/v3/subscriptions?applicationId=$app"; jget "$BODY" count)"
TOKEN2=$(gw_token "$CK1" "$CS1")
check_ne "the application's old credentials get a token from b2's key manager" "" "$TOKEN2"
check_eq "that token calls the API through b2's gw-external" 200 \
	"$(gw_wait_code 200 15000 -H "Authorization: Bearer $TOKEN2" "$GWE_URL/orders/2.0/after-restore")"
check_match "the backend saw the call" "after-restore" "$(tail -3 "$GH_TMP/backend-prod.log")"
check_eq "and through b2's gw-internal" 200 "$(gw_wait_code 200 5000 -H "Authorization: Bearer $TOKEN2" "$GWI_URL/orders/2.0/x")"
node_stop b2
check_eq "b2 stops cleanly" 0 "$NODE_RC"
check_done
