#!/usr/bin/env bash
# A key rotated on one key manager process must sign on every process soon
# after, even on one that only issues tokens (no JWKS request, no
# introspection of a new kid would ever make it reload its keys).  Otherwise
# it keeps signing with the retired key, also after that key has left every
# JWKS.  Two processes on one database, ES256 (the loop's fast path): the
# second issues tokens only; within KM_KEYS_SIGN_MAX_AGE_MS (10 s) of a
# rotation made on the first, it signs with the new key.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/km.sh"
trap km_stop EXIT
km_start rotsign "[keys]" "token_alg = ES256" || { echo "0 passed, 1 failed"; exit 1; }
km_start_again rotsign || { echo "0 passed, 1 failed"; exit 1; }

call -u "admin:$KM_ADMIN_PW" -H 'Content-Type: application/json' \
	-d '{"clientName":"rot","owner":"admin","grantType":"client_credentials"}' \
	"$KM_URL/client-registration/v0.17/register"
check_eq "DCR: 200" "200" "$CODE"
CID=$(jget "$BODY" clientId); CSECRET=$(jget "$BODY" clientSecret)
kid() { printf '%s' "$1" | cut -d. -f1 | tr '_-' '/+' | base64 -d 2>/dev/null | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin).get("kid",""))'; }
tok2() { call -u "$CID:$CSECRET" -d grant_type=client_credentials "$KM2_URL/oauth2/token"; jget "$BODY" access_token; }

K1=$(kid "$(tok2)")
check_ne "node 2 signs" "" "$K1"
call -X POST "$KM_MGMT_URL/keys/rotate?alg=ES256"
check_eq "rotate ES256 on node 1: 200" "200" "$CODE"
K2=$(jget "$BODY" kid)
check_ne "a new kid" "$K1" "$K2"
sleep 11
for i in 1 2 3; do
	check_eq "node 2, token $i after 11 s, signs with the new key" "$K2" "$(kid "$(tok2)")"
done

km_kill "$KM2_PID"; rc=$?
check_eq "node 2 stops cleanly" "0" "$rc"
km_kill "$KM_PID"; rc=$?
check_eq "node 1 stops cleanly" "0" "$rc"
check_nomatch "no sanitizer report" "ERROR: (Address|Leak)Sanitizer|runtime error" \
	"$(cat "$KM_LOG" "$GH_TMP/rotsign/keymanager2.log")"
check_done
