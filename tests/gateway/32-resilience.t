#!/usr/bin/env bash
# Resilience and TLS: with the key manager down, JWT traffic continues (the JWKS is cached;
# tokens not seen before are still verified), opaque tokens cannot be checked (503, never
# 200); TLS sessions are resumed on the public listener.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/gw.sh"
trap gw_teardown EXIT
gw_setup g32 || { echo "0 passed, 1 failed"; exit 1; }
API=$(gw_api Res /res 1.0 "External")
gw_app ResApp "$API" Gold
gw_start gw-external || { echo "0 passed, 1 failed"; exit 1; }
st() { gwe -o /dev/null -w '%{http_code}' "$@"; }
T2=$(gw_token "$CK" "$CS")
check_eq "first token, key manager up: 200" "200" "$(gw_wait_code 200 2000 -H "Authorization: Bearer $TOKEN" "$GWE_URL/res/1.0/a")"

km_stop
check_eq "the key manager is down" "000" "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$KM_CA" "$KM_URL/oauth2/jwks")"
check_eq "a token already verified: still 200" "200" "$(st -H "Authorization: Bearer $TOKEN" "$GWE_URL/res/1.0/b")"
check_eq "a token never seen by the gateway: verified with the cached keys, 200" "200" \
	"$(st -H "Authorization: Bearer $T2" "$GWE_URL/res/1.0/c")"
sig=${T2##*.}; mid=${sig:100:1}; [ "$mid" = A ] && rep=B || rep=A
check_eq "a forged token (one signature character changed): still 401" "401" \
	"$(st -H "Authorization: Bearer ${T2%.*}.${sig:0:100}$rep${sig:101}" "$GWE_URL/res/1.0/d")"
code=$(st -H "Authorization: Bearer opaque-token-value-0123456789" "$GWE_URL/res/1.0/e")
check_match "an opaque token cannot be introspected: refused, never 200" '^(401|503)$' "$code"
check_match "gw-external stays healthy" '"status":"UP"' "$(curl -s "$GWE_MGMT/health")"

# TLS session resumption on the public listener
port=${GWE_URL##*:}
# (the request and the pause let the TLS 1.3 session ticket arrive before s_client leaves)
(printf 'GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n'; sleep 0.5) |
	openssl s_client -connect "127.0.0.1:$port" -servername localhost -CAfile "$KM_CA" -sess_out "$GH_TMP/sess" \
	>"$GH_TMP/s1" 2>&1
out=$( (printf 'GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n'; sleep 0.5) |
	openssl s_client -connect "127.0.0.1:$port" -servername localhost -CAfile "$KM_CA" -sess_in "$GH_TMP/sess" 2>&1)
check_match "a TLS session is resumed" '^Reused, ' "$out"
check_done
