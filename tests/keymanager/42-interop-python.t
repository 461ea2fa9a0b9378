#!/usr/bin/env bash
# Interoperability with Debian's python3-jwt (PyJWT 2.6, /usr/bin/python3):
# PyJWKClient fetches our JWKS over HTTPS (trusting only the node's CA) and
# verifies a client_credentials token of a DCR client (audience
# gatehouse-management, our issuer), RS256 and then ES256 after a restart
# with keys.token_alg = ES256; wrong audience, wrong issuer, a tampered token
# and an untrusted server certificate are refused.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/km.sh"
trap km_stop EXIT
km_start py || { echo "0 passed, 1 failed"; exit 1; }

PYJWT=$GH_ROOT/tests/keymanager/interop-pyjwt.py
verify() { /usr/bin/python3 "$PYJWT" "$KM_URL/oauth2/jwks" "$@" 2>&1; }

call -u "admin:$KM_ADMIN_PW" -H 'Content-Type: application/json' \
	-d '{"clientName":"python_interop","owner":"admin","grantType":"client_credentials","saasApp":false}' \
	"$KM_URL/client-registration/v0.17/register"
check_eq "DCR: 200" "200" "$CODE"
CID=$(jget "$BODY" clientId); CSECRET=$(jget "$BODY" clientSecret)

cc_token() {
	call -u "$CID:$CSECRET" -d grant_type=client_credentials "$KM_URL/oauth2/token"
	[ "$CODE" = 200 ] || { echo "token: $CODE $BODY" >&2; return 1; }
	jget "$BODY" access_token
}

T=$(cc_token)
check_match "client_credentials token is a JWT" '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' "$T"
KID=$(printf '%s' "$T" | cut -d. -f1 | /usr/bin/python3 -c 'import base64,json,sys; h=sys.stdin.read().strip(); print(json.loads(base64.urlsafe_b64decode(h+"="*(-len(h)%4)))["kid"])')
out=$(verify "$KM_CA" "$KM_URL" gatehouse-management "$T")
check_match "PyJWKClient verifies the RS256 token (aud gatehouse-management)" "^verified .+ carbon\.super $KID\$" "$out"
check_eq "PyJWT refuses it for the gateway audience" "refused InvalidAudienceError" \
	"$(verify "$KM_CA" "$KM_URL" gatehouse-gateway "$T")"
check_eq "PyJWT refuses another issuer" "refused InvalidIssuerError" \
	"$(verify "$KM_CA" "https://localhost:1" gatehouse-management "$T")"
h=${T%%.*}; rest=${T#*.}; p=${rest%%.*}; s=${rest#*.}
p2=$(printf '%s' "$p" | /usr/bin/python3 -c '
import base64, json, sys
p = sys.stdin.read().strip(); c = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
c["aud"] = "gatehouse-gateway"
print(base64.urlsafe_b64encode(json.dumps(c).encode()).rstrip(b"=").decode())')
check_eq "PyJWT refuses a token whose claims were changed" "refused InvalidSignatureError" \
	"$(verify "$KM_CA" "$KM_URL" gatehouse-gateway "$h.$p2.$s")"
check_eq "PyJWKClient refuses a server certificate its CA file does not trust" "refused PyJWKClientError" \
	"$(verify /etc/ssl/certs/ca-certificates.crt "$KM_URL" gatehouse-management "$T")"

# The JWKS publishes public keys only, each with kid, kty, alg and use sig.
call "$KM_URL/oauth2/jwks"
check_eq "JWKS: 200" "200" "$CODE"
facts=$(printf '%s' "$BODY" | /usr/bin/python3 -c '
import json, sys
ks = json.load(sys.stdin)["keys"]
priv = [k["kid"] for k in ks if any(x in k for x in ("d", "p", "q", "dp", "dq", "qi"))]
algs = sorted(set(k.get("alg") for k in ks))
print("private" if priv else "public", " ".join(algs),
      all(k.get("use", "sig") == "sig" and k.get("kid") for k in ks))')
check_eq "JWKS: public halves of RS256 and ES256 keys, all with kid and use sig" "public ES256 RS256 True" "$facts"

# ES256: the same node restarted with keys.token_alg = ES256.
km_kill "$KM_PID"; rc=$?
check_eq "stopped cleanly" "0" "$rc"
sed -i 's/^\[keys\]$/[keys]\ntoken_alg = ES256/' "$KM_CONF"
"$GH_BIN/gatehouse-keymanager" --config "$KM_CONF" >>"$KM_LOG" 2>&1 &
KM_PID=$!
GH_KM_PIDS="$GH_KM_PIDS $KM_PID"
_km_wait "$KM_MGMT_URL" "$KM_PID" || { cat "$KM_LOG"; check_ok "restart with ES256" false; check_done; exit; }
T2=$(cc_token)
alg=$(printf '%s' "$T2" | cut -d. -f1 | /usr/bin/python3 -c 'import base64,json,sys; h=sys.stdin.read().strip(); print(json.loads(base64.urlsafe_b64decode(h+"="*(-len(h)%4)))["alg"])')
check_eq "keys.token_alg = ES256 signs ES256" "ES256" "$alg"
out=$(verify "$KM_CA" "$KM_URL" gatehouse-management "$T2" "$T")
check_eq "PyJWKClient verifies the ES256 token and still the RS256 one" "2" "$(printf '%s\n' "$out" | grep -c '^verified .* carbon\.super ')"

km_kill "$KM_PID"; rc=$?
check_eq "SIGTERM stops it cleanly" "0" "$rc"
check_nomatch "no sanitizer report" "ERROR: (Address|Leak)Sanitizer|runtime error" "$(cat "$KM_LOG")"
check_done
