#!/usr/bin/env bash
# GET /oauth2/jwks parses with Debian's python3-jwt (PyJWKSet) and npm jose
# (createRemoteJWKSet verifies our tokens); the RFC 8414 and OpenID Connect
# metadata; GET /oauth2/jwks/backend/{environment}; key rotation on the
# management port: the new key signs, tokens of the old one stay valid and
# its key stays published, and a second key manager process that still
# holds the old keys validates tokens of the new one.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/km.sh"
trap km_stop EXIT
km_start keys || { echo "0 passed, 1 failed"; exit 1; }
# A second process on the same node and database.  (Not km_start_again: its sed
# also rewrites the [db] port line.)
start_second() {
	local d=$GH_TMP/keys port iport mport
	port=$(gh_free_port); iport=$(gh_free_port); mport=$(gh_free_port)
	awk -v p="$port" -v i="$iport" -v m="$mport" '
		/^\[/ { sec = $0 }
		sec == "[keymanager]" && /^port = / { $0 = "port = " p }
		sec == "[keymanager]" && /^internal_port = / { $0 = "internal_port = " i }
		sec == "[keymanager]" && /^mgmt_port = / { $0 = "mgmt_port = " m }
		{ print }' "$KM_CONF" >"$d/node2.conf"
	chmod 600 "$d/node2.conf"
	"$GH_BIN/gatehouse-keymanager" --config "$d/node2.conf" >>"$d/keymanager2.log" 2>&1 &
	KM2_PID=$!
	GH_KM_PIDS="$GH_KM_PIDS $KM2_PID"
	KM2_URL=https://localhost:$port
	_km_wait "http://127.0.0.1:$mport" "$KM2_PID" || { cat "$d/keymanager2.log"; return 1; }
}
start_second || { echo "0 passed, 1 failed"; exit 1; }
export NODE_EXTRA_CA_CERTS=$KM_CA
JOSE="node $GH_ROOT/tests/keymanager/22-jose.mjs"

jget() { /usr/bin/python3 -c 'import json,sys
j=json.loads(sys.argv[1]); v=eval(sys.argv[2])
print(v if isinstance(v,str) else json.dumps(v))' "$1" "$2" 2>/dev/null || echo "<unparsable>"; }
hdr() { km_curl -D - -o /dev/null "$@" | tr -d '\r' | sed -n "s/^$H: //Ip"; }
sql "INSERT INTO gh_oauth_clients (client_id, secret_hash, tenant, owner, client_name, grant_types, audience)
     VALUES ('c1', '$(sha secret-one)', 'carbon.super', 'owner', 'app', '{client_credentials}', 'gatehouse-gateway')"
token() { jget "$(km_curl -u c1:secret-one -d grant_type=client_credentials "${1:-$KM_URL}/oauth2/token")" 'j["access_token"]'; }
active() { jget "$(km_curl -u c1:secret-one -d "token=$2" "$1/oauth2/introspect")" 'j["active"]'; }
jwks_kids() { jget "$(km_curl "$KM_URL/oauth2/jwks")" '",".join(sorted(k["kid"] for k in j["keys"]))'; }

# -- JWKS
check_eq "JWKS: 200" "200" "$(km_curl -o /dev/null -w '%{http_code}' "$KM_URL/oauth2/jwks")"
H=content-type; check_match "JWKS: application/json" '^application/json' "$(hdr "$KM_URL/oauth2/jwks")"
H=cache-control; check_match "JWKS: Cache-Control max-age=60" 'max-age=60' "$(hdr "$KM_URL/oauth2/jwks")"
km_curl "$KM_URL/oauth2/jwks" >"$GH_TMP/jwks.json"
check_eq "JWKS: python3-jwt PyJWKSet reads every key" "ok" "$(/usr/bin/python3 -c '
import json, sys, jwt
d = json.load(open(sys.argv[1]))
s = jwt.PyJWKSet.from_dict(d)
assert len(s.keys) == len(d["keys"]) >= 1
assert all(k.key_id and k.key_type in ("RSA", "EC") and k.key is not None for k in s.keys)
assert all(k["alg"] in ("RS256", "ES256") and k["use"] == "sig" for k in d["keys"])
assert not any("d" in k for k in d["keys"])
print("ok")' "$GH_TMP/jwks.json" 2>&1)"
check_match "JWKS: npm jose imports every key" '^keys [1-9]' "$($JOSE parse "$KM_URL/oauth2/jwks" 2>&1)"
T1=$(token)
K1=$($JOSE kid "$T1")
check_eq "npm jose verifies a token through the JWKS URL" "ok $K1 RS256" "$($JOSE verify "$KM_URL/oauth2/jwks" "$KM_URL" "$T1" 2>&1)"
check_eq "npm jose refuses another issuer" "fail ERR_JWT_CLAIM_VALIDATION_FAILED" \
	"$($JOSE verify "$KM_URL/oauth2/jwks" "https://evil.example" "$T1" 2>&1)"
check_eq "python3-jwt PyJWKClient verifies it" "c1" "$(SSL_CERT_FILE=$KM_CA /usr/bin/python3 -c '
import sys, jwt
c = jwt.PyJWKClient(sys.argv[1])
t = sys.argv[2]
print(jwt.decode(t, c.get_signing_key_from_jwt(t).key, algorithms=["RS256", "ES256"], audience="gatehouse-gateway", issuer=sys.argv[4])["client_id"])' \
	"$KM_URL/oauth2/jwks" "$T1" "$KM_CA" "$KM_URL" 2>&1 | tail -1)"

# -- metadata
for p in oauth-authorization-server openid-configuration; do
	m=$(km_curl "$KM_URL/.well-known/$p")
	check_eq "$p: issuer and endpoints" "$KM_URL|$KM_URL/oauth2/authorize|$KM_URL/oauth2/token|$KM_URL/oauth2/introspect|$KM_URL/oauth2/revoke|$KM_URL/oauth2/jwks|$KM_URL/client-registration/v0.17/register" \
		"$(jget "$m" '"|".join(j[k] for k in ("issuer","authorization_endpoint","token_endpoint","introspection_endpoint","revocation_endpoint","jwks_uri","registration_endpoint"))')"
	check_eq "$p: grants, response types, PKCE" "authorization_code,client_credentials,password,refresh_token|code|S256" \
		"$(jget "$m" '",".join(sorted(j["grant_types_supported"]))+"|"+",".join(j["response_types_supported"])+"|"+",".join(j["code_challenge_methods_supported"])')"
	check_eq "$p: client authentication methods" "client_secret_basic,client_secret_post x3" \
		"$(jget "$m" '(lambda a: ",".join(a[0])+" x"+str(len(set(map(tuple,a)))*0+len(a)) if all(x==a[0] for x in a) else "differ")([sorted(j[k]) for k in ("token_endpoint_auth_methods_supported","introspection_endpoint_auth_methods_supported","revocation_endpoint_auth_methods_supported")])')"
	check_eq "$p: OIDC subject types and id_token algs" "public|ES256,RS256" \
		"$(jget "$m" '",".join(j["subject_types_supported"])+"|"+",".join(sorted(j["id_token_signing_alg_values_supported"]))')"
	check_eq "$p: management scopes listed" "True True True" \
		"$(jget "$m" '" ".join(str(s in j["scopes_supported"]) for s in ("apim:api_create","apim:subscribe","openid"))')"
done

# -- backend keys per environment
check_eq "backend JWKS of an environment without keys: empty list" '{"keys":[]}' "$(km_curl "$KM_URL/oauth2/jwks/backend/production")"
BK=$($JOSE genkey gw-node-1)
sql "INSERT INTO gh_backend_keys (environment, node, kid, jwk) VALUES ('production', 'gw1', 'gw-node-1', '$BK')"
sql "INSERT INTO gh_backend_keys (environment, node, kid, jwk) VALUES ('production', 'gw2', 'broken', '{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\"}')"
sql "INSERT INTO gh_backend_keys (environment, node, kid, jwk) VALUES ('sandbox', 'gw3', 'gw-node-3', '$($JOSE genkey gw-node-3)')"
b=$(km_curl "$KM_URL/oauth2/jwks/backend/production")
check_eq "backend JWKS: the environment's valid key only" "gw-node-1" "$(jget "$b" '",".join(k["kid"] for k in j["keys"])')"
check_eq "backend JWKS: public members only (the stored d is not published)" "False ES256 P-256" \
	"$(jget "$b" '" ".join([str("d" in j["keys"][0]), j["keys"][0]["alg"], j["keys"][0]["crv"]])')"
check_eq "backend JWKS: x and y are the registered key's" "True" \
	"$(jget "$b" "str(j['keys'][0]['x'] == $(jget "$BK" 'j["x"]' | sed 's/.*/"&"/') and j['keys'][0]['y'] == $(jget "$BK" 'j["y"]' | sed 's/.*/"&"/'))")"
check_eq "backend JWKS: python3-jwt reads it" "gw-node-1" "$(/usr/bin/python3 -c '
import json, sys, jwt
print(",".join(k.key_id for k in jwt.PyJWKSet.from_dict(json.loads(sys.argv[1])).keys))' "$b" 2>&1)"
check_eq "backend JWKS: malformed environment name: 404" "404" \
	"$(km_curl -o /dev/null -w '%{http_code}' "$KM_URL/oauth2/jwks/backend/bad%20name")"
check_eq "backend JWKS: over-long environment name: 404" "404" \
	"$(km_curl -o /dev/null -w '%{http_code}' "$KM_URL/oauth2/jwks/backend/$(printf 'e%.0s' $(seq 1 65))")"
check_eq "backend JWKS: quote in the name: 404" "404" \
	"$(km_curl -o /dev/null -w '%{http_code}' "$KM_URL/oauth2/jwks/backend/x%27%20OR%201=1")"

# -- rotation
# The second process loads its keys now and keeps them (its JWKS copy is fresh).
check_eq "second process: old token active there" "true" "$(active "$KM2_URL" "$T1")"
check_eq "rotate with an unknown alg: 400" "400" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$KM_MGMT_URL/keys/rotate?alg=HS256")"
check_eq "rotate by GET: 405" "405" "$(curl -s -o /dev/null -w '%{http_code}' "$KM_MGMT_URL/keys/rotate")"
r=$(curl -s -w ' %{http_code}' -X POST "$KM_MGMT_URL/keys/rotate?alg=RS256")
K2=$(jget "${r% *}" 'j["kid"]')
check_eq "rotate RS256: 200" "200" "${r##* }"
check_ne "rotate RS256: a new kid" "$K1" "$K2"
T2=$(token)
check_eq "new tokens carry the new kid" "$K2" "$($JOSE kid "$T2")"
check_eq "the old token still introspects active" "true" "$(active "$KM_URL" "$T1")"
check_eq "the new token introspects active" "true" "$(active "$KM_URL" "$T2")"
check_match "JWKS publishes the old key" ",$K1," ",$(jwks_kids),"
check_match "JWKS publishes the new key" ",$K2," ",$(jwks_kids),"
check_eq "the old key is retired but kept until its tokens expire" "retired t" \
	"$(sql "SELECT status, not_after > now() + interval '5 minutes' FROM gh_signing_keys WHERE kid = '$K1'" | tr '|' ' ')"
check_eq "rotation event for the gateways" "1" "$(sql "SELECT count(*) FROM gh_events WHERE type = 'signing_key.rotated' AND payload->>'kid' = '$K2'")"
check_eq "rotation audited" "1" "$(sql "SELECT count(*) FROM gh_audit WHERE action = 'signing_key.rotate' AND target = '$K2'")"
check_eq "npm jose verifies old and new tokens through the JWKS URL" "ok $K1 RS256|ok $K2 RS256" \
	"$($JOSE verify "$KM_URL/oauth2/jwks" "$KM_URL" "$T1" "$T2" 2>&1 | paste -sd'|')"
check_eq "second process (old key table) validates the new key's token" "true" "$(active "$KM2_URL" "$T2")"
T3=$(token "$KM2_URL")
check_eq "second process now signs with the new key" "$K2" "$($JOSE kid "$T3")"
km_curl "$KM_URL/oauth2/jwks" >"$GH_TMP/jwks1.json"
r=$(curl -s -w ' %{http_code}' -X POST "$KM_MGMT_URL/keys/rotate?alg=ES256")
check_eq "rotate ES256: 200, alg ES256" "ES256 200" "$(jget "${r% *}" 'j["alg"]') ${r##* }"
km_curl "$KM_URL/oauth2/jwks" >"$GH_TMP/jwks2.json"
check_eq "JWKS after an ES256 rotation: one more EC key, python3-jwt reads all" "EC+1 RSA+0" "$(/usr/bin/python3 -c '
import json, sys, jwt
a = [k.key_type for k in jwt.PyJWKSet.from_dict(json.load(open(sys.argv[1]))).keys]
b = [k.key_type for k in jwt.PyJWKSet.from_dict(json.load(open(sys.argv[2]))).keys]
print(" ".join("%s+%d" % (t, b.count(t) - a.count(t)) for t in ("EC", "RSA")))' "$GH_TMP/jwks1.json" "$GH_TMP/jwks2.json" 2>&1)"
check_eq "tokens still RS256 with the configured algorithm" "$K2" "$($JOSE kid "$(token)")"

km_kill "$KM2_PID"; rc2=$?
km_kill "$KM_PID"; rc=$?
check_eq "clean exits" "0 0" "$rc $rc2"
check_nomatch "no sanitizer report" "ERROR: (Address|Leak)Sanitizer|runtime error" "$(cat "$KM_LOG" "$GH_TMP/keys/keymanager2.log")"
check_done
