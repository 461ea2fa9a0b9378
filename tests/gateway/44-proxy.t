#!/usr/bin/env bash
# The proxy end to end on gw-internal: round-robin over two production endpoints of which
# one is dead (idempotent requests retried on the other, the dead one ejected, POSTs not
# retried once the ejection ends: 502 101503), a backend that dies mid-response (a clean
# 502), a slow backend (504 101504), a SANDBOX key reaching the sandbox backend, what the
# backend receives (no credentials, X-Forwarded-*, X-Request-ID, and an X-JWT-Assertion that
# verifies against the key manager's /oauth2/jwks/backend/Internal with PyJWT), the client's
# X-Forwarded-For ignored from an untrusted peer and extended from a trusted one, CORS
# preflights answered at the gateway, and one analytics event per request in the spool.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/gw.sh"
. "$GH_ROOT/tests/gateway/gwp.sh"
trap gw_teardown EXIT
gw_setup g44 || { echo "0 passed, 1 failed"; exit 1; }
DEAD=$(_km_port)
EC="{\"endpoint_type\":\"load_balance\",\"production_endpoints\":[{\"url\":\"http://127.0.0.1:$DEAD\"},{\"url\":\"$BE_PROD_URL\"}],\"sandbox_endpoints\":{\"url\":\"$BE_SAND_URL/sb\"}}"
CORS='"corsConfiguration":{"corsConfigurationEnabled":true,"accessControlAllowOrigins":["https://portal.example"],"accessControlAllowCredentials":true,"accessControlAllowHeaders":["authorization","content-type"],"accessControlAllowMethods":["GET","POST"]}'
API=$(gwp_api Lb /lb 1.0 "Internal" "$EC" "\"backendJwt\":true,$CORS")
check_match "an API with a dead and a live endpoint" '^[0-9a-f-]{36}$' "$API"
gw_app LbSand "$API" Gold SANDBOX || echo "FAIL: sandbox application"
SAND_TOKEN=$TOKEN
gw_app LbApp "$API" Gold || echo "FAIL: application"
# one worker: its round robin alone decides which endpoint a request goes to
gw_start gw-internal "trusted_proxies = 127.0.0.2" "upstream_eject = 1500ms" "upstream_timeout = 2s" \
	"upstream_connect_timeout = 500ms" "workers = 1" || { echo "0 passed, 1 failed"; exit 1; }
U=$GWI_HTTP_URL/lb/1.0
AUTH="Authorization: Bearer $TOKEN"
n() { wc -l <"$1"; }

# Retry and ejection.
B0=$(n "$BE_PROD_LOG")
codes=""
for i in 1 2 3 4; do codes="$codes $(gwi -o /dev/null -w '%{http_code}' -H "$AUTH" -H "X-Request-ID: get-$i" "$U/items/$i")"; done
check_eq "GETs all succeed: the dead endpoint's ones are retried on the live one" " 200 200 200 200" "$codes"
check_eq "the live backend got each once" 4 $(( $(n "$BE_PROD_LOG") - B0 ))
codes=""
for i in 1 2 3 4; do codes="$codes $(gwi -o /dev/null -w '%{http_code}' -H "$AUTH" -d x "$U/orders")"; done
check_eq "while the dead endpoint is ejected POSTs all go to the live one" " 200 200 200 200" "$codes"
check_match "upstream errors are counted" 'gatehouse_gw_upstream_errors_total [1-9]' "$(curl -s "$GWI_MGMT/metrics")"
sleep 1.7
codes=""
for i in 1 2; do codes="$codes $(gwi -o "$GH_TMP/post$i" -w '%{http_code}' -H "$AUTH" -d x "$U/orders")"; done
check_match "once the ejection ends a POST to the dead endpoint is not retried: 502" '502' "$codes"
check_eq "its body" '{"code":101503,"message":"Runtime Error","description":"Error connecting to the back end"}' \
	"$(cat "$GH_TMP"/post1 "$GH_TMP"/post2 | grep -o '{"code":101503[^}]*}' | head -1)"

# Backend failures.
# Responses are streamed: the backend's head (Content-Length: 1000) is already the
# client's when the backend dies, so the client's response is cut (curl: exit 18).
gwi -o "$GH_TMP/die" -w '%{http_code}' -H "$AUTH" "$U/die" >"$GH_TMP/die.code"
check_eq "a backend that dies mid-response: the client's response is cut" 18 "$?"
check_eq "after the backend's head" 200 "$(cat "$GH_TMP/die.code")"
check_eq "with only the bytes the backend sent" 7 "$(wc -c <"$GH_TMP/die")"
T0=$(date +%s%3N)
gwi -o "$GH_TMP/slow" -w '%{http_code}' -H "$AUTH" "$U/slow/4000" >"$GH_TMP/slow.code"
T1=$(date +%s%3N)
check_eq "a backend slower than upstream_timeout: 504" 504 "$(cat "$GH_TMP/slow.code")"
check_match "with 101504" '"code":101504' "$(cat "$GH_TMP/slow")"
check_match "after about 2 s" '^(1[89]|2[0-9]|3[0-4])[0-9][0-9]$' "$((T1 - T0))"
check_eq "a backend status passes through" 418 "$(gwi -o /dev/null -w '%{http_code}' -H "$AUTH" "$U/status/418")"

# What the backend receives.
gwi -o /dev/null -H "$AUTH" -H 'apikey: secret-key' -H 'X-JWT-Assertion: forged' -H 'X-Forwarded-For: 6.6.6.6' \
	-H 'X-Custom: kept' -H 'Proxy-Authorization: Basic eDp5' -H 'X-Request-ID: seen-1' "$U/look?a=1&b=%20c"
REQ=$(grep '"seen-1"' "$BE_PROD_LOG" | tail -1)
check_eq "the path after the context and version" "/look" "$(jget "$REQ" path)"
check_eq "the query unchanged" "a=1&b=%20c" "$(jget "$REQ" query)"
check_eq "no Authorization" "<absent>" "$(jget "$REQ" headers.authorization)"
check_eq "no apikey" "<absent>" "$(jget "$REQ" headers.apikey)"
check_eq "no Proxy-Authorization" "<absent>" "$(jget "$REQ" headers.proxy-authorization)"
check_eq "other headers kept" "kept" "$(jget "$REQ" headers.x-custom)"
check_eq "X-Forwarded-For from an untrusted peer: the peer alone" "127.0.0.1" "$(jget "$REQ" headers.x-forwarded-for)"
check_eq "X-Forwarded-Proto" "http" "$(jget "$REQ" headers.x-forwarded-proto)"
check_eq "X-Request-ID" "seen-1" "$(jget "$REQ" headers.x-request-id)"
JWT=$(jget "$REQ" headers.x-jwt-assertion)
check_ne "the client's X-JWT-Assertion replaced" "forged" "$JWT"
KID=$(/usr/bin/python3 -c 'import jwt,sys; print(jwt.get_unverified_header(sys.argv[1])["kid"])' "$JWT" 2>/dev/null)
for _ in $(seq 1 60); do km_curl "$KM_URL/oauth2/jwks/backend/Internal" | grep -q "$KID" && break; sleep 0.1; done
VER=$(SSL_CERT_FILE=$KM_CA /usr/bin/python3 - "$KM_URL/oauth2/jwks/backend/Internal" "$JWT" <<'PY' 2>&1
import jwt, sys
k = jwt.PyJWKClient(sys.argv[1]).get_signing_key_from_jwt(sys.argv[2])
c = jwt.decode(sys.argv[2], k.key, algorithms=["ES256"], options={"verify_aud": False})
print(c["iss"], c["http://wso2.org/claims/apicontext"], c["http://wso2.org/claims/keytype"], c["http://wso2.org/claims/applicationname"])
PY
)
check_eq "X-JWT-Assertion verifies against the key manager's backend JWKS" \
	"gatehouse-gateway/Internal /lb PRODUCTION LbApp" "$VER"
gwi -o /dev/null --interface 127.0.0.2 -H "$AUTH" -H 'X-Forwarded-For: 203.0.113.7' -H 'X-Request-ID: seen-2' "$U/look"
REQ=$(grep '"seen-2"' "$BE_PROD_LOG" | tail -1)
check_eq "X-Forwarded-For from a trusted proxy: its chain and the proxy" "203.0.113.7, 127.0.0.2" \
	"$(jget "$REQ" headers.x-forwarded-for)"

# Sandbox.
S0=$(n "$BE_SAND_LOG")
check_eq "a SANDBOX key gets 200" 200 "$(gwi -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $SAND_TOKEN" "$U/sandy")"
check_eq "from the sandbox backend" 1 $(( $(n "$BE_SAND_LOG") - S0 ))
check_eq "under its base path" "/sb/sandy" "$(jget "$(tail -1 "$BE_SAND_LOG")" path)"

# CORS.
B0=$(n "$BE_PROD_LOG")
H=$(gwi -D - -o /dev/null -X OPTIONS -H 'Origin: https://portal.example' -H 'Access-Control-Request-Method: POST' "$U/items")
check_match "a preflight is answered 204 without credentials" '^HTTP/1.1 204' "$H"
check_match "allowing the origin" 'https://portal.example' "$(printf '%s' "$H" | grep -i '^access-control-allow-origin')"
check_match "and the methods" 'POST' "$(printf '%s' "$H" | grep -i '^access-control-allow-methods')"
H=$(gwi -D - -o /dev/null -X OPTIONS -H 'Origin: https://evil.example' -H 'Access-Control-Request-Method: POST' "$U/items")
check_eq "an origin not listed gets no Allow-Origin" "" "$(printf '%s' "$H" | grep -i '^access-control-allow-origin')"
check_eq "preflights never reach the backend" 0 $(( $(n "$BE_PROD_LOG") - B0 ))
H=$(gwi -D - -o /dev/null -H "$AUTH" -H 'Origin: https://portal.example' "$U/items")
check_match "a request from an allowed origin carries Allow-Origin" 'https://portal.example' "$(printf '%s' "$H" | grep -i '^access-control-allow-origin')"

# Analytics: one event per request (the gateway flushes on SIGTERM).
REQS=$(curl -s "$GWI_MGMT/metrics" | sed -n 's/^gatehouse_gw_requests_total //p')
check_ok "gw-internal stops" gw_stop gw-internal
SPOOL=$(gwp_spool gw-internal)
check_eq "one event per request" "$REQS" "$(cat $SPOOL | wc -l)"
EV=$(grep '"correlationId":"seen-1"' $SPOOL)
check_eq "its API, method, application and key type" "Lb 1.0 /lb /* GET LbApp PRODUCTION" \
	"$(jget "$EV" apiName) $(jget "$EV" apiVersion) $(jget "$EV" apiContext) $(jget "$EV" apiResourceTemplate) $(jget "$EV" apiMethod) $(jget "$EV" applicationName) $(jget "$EV" keyType)"
check_eq "response codes, client, node and environment" "200 200 127.0.0.1 Internal" \
	"$(jget "$EV" proxyResponseCode) $(jget "$EV" targetResponseCode) $(jget "$EV" userIp) $(jget "$EV" environment)"
check_match "an id, latencies and a timestamp" '^[0-9a-f]{32} [0-9]+ [0-9]+ 1[0-9]{12}$' \
	"$(jget "$EV" id) $(jget "$EV" responseLatency) $(jget "$EV" backendLatency) $(jget "$EV" timestamp)"
EV=$(grep '"proxyResponseCode":504' $SPOOL | head -1)
check_eq "a refusal's error code" 101504 "$(jget "$EV" errorCode)"
check_done
