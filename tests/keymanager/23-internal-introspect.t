#!/usr/bin/env bash
# POST /internal/km/v1/introspect on the mutual-TLS port: gateways (the
# gw-external and gw-internal certificates) introspect tokens of every
# tenant, with a form or a JSON body; the portal's and publisher's
# certificates get 403; a client without a certificate fails the handshake.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/km.sh"
trap km_stop EXIT
km_start internal || { echo "0 passed, 1 failed"; exit 1; }

jget() { /usr/bin/python3 -c 'import json,sys
j=json.loads(sys.argv[1]); v=eval(sys.argv[2])
print(v if isinstance(v,str) else json.dumps(v))' "$1" "$2" 2>/dev/null || echo "<unparsable>"; }
# as ROLE [curl args]: a call with ROLE's certificate; prints "BODY STATUS"
as() {
	local role=$1; shift
	curl -s --cacert "$KM_CA" --cert "$KM_PKI/$role.crt" --key "$KM_PKI/$role.key" -w ' %{http_code}' "$@" \
		"$KM_INTERNAL_URL/internal/km/v1/introspect"
}
sql "INSERT INTO gh_tenants (domain, name) VALUES ('acme.com', 'Acme')"
sql "INSERT INTO gh_oauth_clients (client_id, secret_hash, tenant, owner, client_name, grant_types, audience, token_type) VALUES
     ('c1', '$(sha secret-one)', 'carbon.super', 'owner', 'app', '{client_credentials}', 'gatehouse-gateway', 'JWT'),
     ('a1', '$(sha secret-acme)', 'acme.com', 'owner@acme.com', 'app', '{client_credentials}', 'gatehouse-gateway', 'OPAQUE')"
exp=$(( $(date +%s) + 600 ))
OP=acme-opaque-$RANDOM$RANDOM$RANDOM
sql "INSERT INTO gh_opaque_tokens (token_hash, jti, client_id, claims, expires_at) VALUES ('$(sha "$OP")', 'jti-acme', 'a1',
     '{\"iss\":\"$KM_URL\",\"sub\":\"bob@acme.com\",\"aud\":\"gatehouse-gateway\",\"exp\":$exp,\"iat\":$(date +%s),\"jti\":\"jti-acme\",
       \"client_id\":\"a1\",\"scope\":\"default\",\"tenant\":\"acme.com\",\"keytype\":\"SANDBOX\",
       \"application\":{\"id\":\"app-1\",\"name\":\"App\",\"tier\":\"Unlimited\",\"owner\":\"bob@acme.com\",\"tenant\":\"acme.com\"}}',
     to_timestamp($exp))"
JWT=$(jget "$(km_curl -u c1:secret-one -d grant_type=client_credentials "$KM_URL/oauth2/token")" 'j["access_token"]')

# -- gateways
r=$(as gw-external -d "token=$OP")
check_eq "gw-external, form body: 200 active" "true 200" "$(jget "${r% *}" 'j["active"]') ${r##* }"
check_eq "another tenant's token is visible to gateways" "acme.com a1 bob@acme.com" \
	"$(jget "${r% *}" '" ".join([j["tenant"],j["client_id"],j["username"]])')"
check_eq "application and keytype are answered" "app-1 SANDBOX" "$(jget "${r% *}" 'j["application"]["id"]+" "+j["keytype"]')"
r=$(as gw-internal -H 'Content-Type: application/json' -d "{\"token\":\"$JWT\"}")
check_eq "gw-internal, JSON body, a JWT: 200 active" "true 200" "$(jget "${r% *}" 'j["active"]') ${r##* }"
check_eq "JWT answer: client_id, iss, token_type" "c1 $KM_URL Bearer" "$(jget "${r% *}" '" ".join([j["client_id"],j["iss"],j["token_type"]])')"
check_eq "garbage: active false" '{"active":false} 200' "$(as gw-external -d token=garbage.token.here)"
check_eq "unknown opaque token: active false" '{"active":false} 200' \
	"$(as gw-external -H 'Content-Type: application/json' -d '{"token":"nope"}')"
sql "INSERT INTO gh_revoked_tokens (jti, client_id, tenant, expires_at) VALUES ('jti-acme', 'a1', 'acme.com', to_timestamp($exp))"
check_eq "revoked token: active false" '{"active":false} 200' "$(as gw-external -d "token=$OP")"
r=$(as gw-external -H 'Content-Type: application/json' -d '{"token":"a\u0000b"}')
check_match "JSON token with an escaped NUL: refused or inactive, never active" '^(\{"active":false\} 200|.* 400)$' "$r"
printf '{"token":"%s"}' "$(head -c 20000 /dev/urandom | base64 -w0)" >"$GH_TMP/big.json"
check_eq "20 KB JSON token: active false" '{"active":false} 200' \
	"$(as gw-internal -H 'Content-Type: application/json' --data-binary "@$GH_TMP/big.json")"
r=$(as gw-external -H 'Content-Type: application/json' -d '{"token":')
check_eq "malformed JSON: 400 with a Gatehouse error body" "400 400" "$(jget "${r% *}" 'j["code"]') ${r##* }"
r=$(as gw-external -H 'Content-Type: text/plain' -d "token=$OP")
check_eq "wrong Content-Type: 400" "400" "${r##* }"
r=$(as gw-external -d "x=1")
check_eq "missing token: 400" "400" "${r##* }"
r=$(as gw-external -d "token=a" -d "token=b")
check_eq "repeated token: 400" "400" "${r##* }"

# -- not gateways
r=$(as portal -d "token=$JWT")
check_eq "portal certificate: 403" "403 403" "$(jget "${r% *}" 'j["code"]') ${r##* }"
check_nomatch "portal learns nothing about the token" 'active' "${r% *}"
r=$(as publisher -d "token=$JWT")
check_eq "publisher certificate: 403" "403" "${r##* }"
check_eq "no client certificate: the TLS handshake fails" "000" \
	"$(curl -s --cacert "$KM_CA" -o /dev/null -w '%{http_code}' -d "token=$JWT" "$KM_INTERNAL_URL/internal/km/v1/introspect")"
check_eq "not on the public port" "404" "$(km_curl -o /dev/null -w '%{http_code}' -d "token=$JWT" "$KM_URL/internal/km/v1/introspect")"

km_kill "$KM_PID"; rc=$?
check_eq "clean exit" "0" "$rc"
check_nomatch "no sanitizer report" "ERROR: (Address|Leak)Sanitizer|runtime error" "$(cat "$KM_LOG")"
check_done
