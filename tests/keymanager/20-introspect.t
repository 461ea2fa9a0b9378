#!/usr/bin/env bash
# POST /oauth2/introspect (RFC 7662): opaque, refresh and JWT access tokens
# are active for an authenticated client of their tenant and inactive for
# another tenant's client; expired, revoked, not-before and garbage tokens
# (random, 20 KiB, binary, forged JWTs) answer {"active":false}; client
# authentication and request errors are RFC 6749 §5.2 errors.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/km.sh"
trap km_stop EXIT
km_start intro || { echo "0 passed, 1 failed"; exit 1; }

# jget JSON EXPR: a Python expression on j (the parsed JSON), printed (JSON for non-strings)
jget() { /usr/bin/python3 -c 'import json,sys
j=json.loads(sys.argv[1]); v=eval(sys.argv[2])
print(v if isinstance(v,str) else json.dumps(v))' "$1" "$2" 2>/dev/null || echo "<unparsable>"; }
# mkclient ID SECRET TENANT [TOKEN_TYPE]
mkclient() {
	sql "INSERT INTO gh_oauth_clients (client_id, secret_hash, tenant, owner, client_name, grant_types,
	     audience, token_type) VALUES ('$1', '$(sha "$2")', '$3', 'owner-$1', 'app-$1',
	     '{client_credentials,password,refresh_token}', 'gatehouse-gateway', '${4:-JWT}')"
}
# mkopaque TOKEN JTI CLIENT TENANT [EXPIRES_IN_SECONDS] [FAMILY] [IAT]
mkopaque() {
	local exp=$(( $(date +%s) + ${5:-600} )) iat=${7:-$(date +%s)}
	local fam=${6:+"'$6'"}
	sql "INSERT INTO gh_opaque_tokens (token_hash, jti, client_id, family_id, claims, expires_at) VALUES
	     ('$(sha "$1")', '$2', '$3', ${fam:-NULL},
	      '{\"iss\":\"$KM_URL\",\"sub\":\"alice\",\"aud\":\"gatehouse-gateway\",\"exp\":$exp,\"iat\":$iat,
	        \"nbf\":$iat,\"jti\":\"$2\",\"client_id\":\"$3\",\"azp\":\"$3\",\"scope\":\"default read\",
	        \"tenant\":\"$4\"}', to_timestamp($exp))"
}
# introspect ID SECRET [curl args...]: prints "STATUS BODY"
introspect() {
	local id=$1 secret=$2; shift 2
	km_curl -u "$id:$secret" -w ' %{http_code}' "$@" "$KM_URL/oauth2/introspect"
}

sql "INSERT INTO gh_tenants (domain, name) VALUES ('acme.com', 'Acme')"
mkclient c1 secret-one carbon.super OPAQUE
mkclient c2 secret-two carbon.super
mkclient a1 secret-acme acme.com
OP1=opaque-$(head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
mkopaque "$OP1" jti-op1 c1 carbon.super

# -- an opaque token, by its client, another client of its tenant, another tenant's client
r=$(introspect c1 secret-one -d "token=$OP1")
check_eq "opaque token: 200" "200" "${r##* }"
body=${r% *}
check_eq "opaque token: active" "true" "$(jget "$body" 'j["active"]')"
check_eq "opaque token: client_id" "c1" "$(jget "$body" 'j["client_id"]')"
check_eq "opaque token: username is sub" "alice alice" "$(jget "$body" 'j["username"]+" "+j["sub"]')"
check_eq "opaque token: token_type Bearer" "Bearer" "$(jget "$body" 'j["token_type"]')"
check_eq "opaque token: scope, jti, iss, aud, tenant" "default read|jti-op1|$KM_URL|gatehouse-gateway|carbon.super" \
	"$(jget "$body" '"|".join([j["scope"],j["jti"],j["iss"],j["aud"],j["tenant"]])')"
check_eq "opaque token: exp, iat, nbf are numbers" "true" \
	"$(jget "$body" 'all(isinstance(j[k],int) for k in ("exp","iat","nbf"))')"
r=$(introspect c2 secret-two -d "token=$OP1" -d token_type_hint=access_token)
check_eq "a client of the same tenant sees it active" "true 200" "$(jget "${r% *}" 'j["active"]') ${r##* }"
r=$(introspect a1 secret-acme -d "token=$OP1")
check_eq "another tenant's client sees it inactive (only active:false)" '{"active":false} 200' "$r"
# credentials in the form instead of Basic
r=$(km_curl -w ' %{http_code}' -d client_id=c1 -d client_secret=secret-one --data-urlencode "token=$OP1" "$KM_URL/oauth2/introspect")
check_eq "client_secret_post works too" "true 200" "$(jget "${r% *}" 'j["active"]') ${r##* }"

# -- inactive opaque tokens: expired, revoked jti, issued before the client's not-before time
OPX=expired-$RANDOM$RANDOM
mkopaque "$OPX" jti-expired c1 carbon.super -5
check_eq "expired opaque token is inactive" '{"active":false} 200' "$(introspect c1 secret-one -d "token=$OPX")"
OPR=revoked-$RANDOM$RANDOM
mkopaque "$OPR" jti-revoked c1 carbon.super
sql "INSERT INTO gh_revoked_tokens (jti, client_id, tenant, expires_at) VALUES ('jti-revoked', 'c1', 'carbon.super', now() + interval '1 hour')"
check_eq "revoked opaque token is inactive" '{"active":false} 200' "$(introspect c1 secret-one -d "token=$OPR")"
OPN=notbefore-$RANDOM$RANDOM
mkopaque "$OPN" jti-old c1 carbon.super 600 "" $(( $(date +%s) - 100 ))
check_eq "token before not_before still active" "true" "$(jget "$(introspect c1 secret-one -d "token=$OPN" | sed 's/ [0-9]*$//')" 'j["active"]')"
sql "UPDATE gh_oauth_clients SET not_before = now() - interval '50 seconds' WHERE client_id = 'c1'"
check_eq "token issued before the client's not-before time is inactive" '{"active":false} 200' \
	"$(introspect c1 secret-one -d "token=$OPN")"
check_eq "a token issued after it stays active" "true" "$(jget "$(introspect c1 secret-one -d "token=$OP1" | sed 's/ [0-9]*$//')" 'j["active"]')"

# -- refresh tokens
RT=refresh-$RANDOM$RANDOM$RANDOM
sql "INSERT INTO gh_refresh_tokens (token_hash, family_id, client_id, subject, tenant, scope, expires_at)
     VALUES ('$(sha "$RT")', 'fam-1', 'c1', 'alice', 'carbon.super', 'default', now() + interval '1 day')"
r=$(introspect c1 secret-one -d "token=$RT" -d token_type_hint=refresh_token)
body=${r% *}
check_eq "refresh token: active, token_type refresh_token" "true refresh_token" "$(jget "$body" 'str(j["active"]).lower()+" "+j["token_type"]')"
check_eq "refresh token: client_id, sub, tenant, scope" "c1 alice carbon.super default" \
	"$(jget "$body" '" ".join([j["client_id"],j["sub"],j["tenant"],j["scope"]])')"
check_eq "refresh token without a hint is found too" "true" "$(jget "$(introspect c1 secret-one -d "token=$RT" | sed 's/ [0-9]*$//')" 'j["active"]')"
check_eq "refresh token: other tenant inactive" '{"active":false} 200' "$(introspect a1 secret-acme -d "token=$RT")"
sql "UPDATE gh_refresh_tokens SET status = 'rotated' WHERE token_hash = '$(sha "$RT")'"
check_eq "rotated refresh token is inactive" '{"active":false} 200' "$(introspect c1 secret-one -d "token=$RT")"

# -- garbage: each must answer 200 {"active":false}
g=$GH_TMP/garbage
check_eq "unknown token" '{"active":false} 200' "$(introspect c1 secret-one -d token=nope)"
check_eq "empty token" '{"active":false} 200' "$(introspect c1 secret-one -d token=)"
head -c 300 /dev/urandom | base64 -w0 >"$g.b64"
check_eq "random base64" '{"active":false} 200' "$(introspect c1 secret-one --data-urlencode "token@$g.b64")"
head -c 20480 /dev/urandom | base64 -w0 | head -c 20480 >"$g.big"
check_eq "20 KiB token" '{"active":false} 200' "$(introspect c1 secret-one --data-urlencode "token@$g.big")"
head -c 4096 /dev/urandom | tr -d '\000' >"$g.bin"
check_eq "binary (NUL-free) token" '{"active":false} 200' "$(introspect c1 secret-one --data-urlencode "token@$g.bin")"
printf 'a.b.c' >"$g.abc"
check_eq "three dots-separated parts" '{"active":false} 200' "$(introspect c1 secret-one --data-urlencode "token@$g.abc")"
b64u() { printf %s "$1" | base64 -w0 | tr '+/' '-_' | tr -d '='; }
FORGED="$(b64u '{"alg":"RS256","kid":"no-such-kid","typ":"JWT"}').$(b64u "{\"iss\":\"$KM_URL\",\"exp\":9999999999,\"jti\":\"x\",\"client_id\":\"c1\",\"tenant\":\"carbon.super\",\"iat\":1}").$(b64u sig)"
check_eq "forged JWT with an unknown kid" '{"active":false} 200' "$(introspect c1 secret-one -d "token=$FORGED")"
NONE="$(b64u '{"alg":"none"}').$(b64u "{\"iss\":\"$KM_URL\",\"exp\":9999999999}")."
check_eq "alg none JWT" '{"active":false} 200' "$(introspect c1 secret-one -d "token=$NONE")"

# -- JWT access tokens (client_credentials)
tok=$(km_curl -u c2:secret-two -d grant_type=client_credentials "$KM_URL/oauth2/token")
JWT=$(jget "$tok" 'j["access_token"]')
r=$(introspect c2 secret-two -d "token=$JWT")
body=${r% *}
check_eq "JWT: active" "true 200" "$(jget "$body" 'str(j["active"]).lower()') ${r##* }"
check_eq "JWT: iss, client_id, aud, tenant, token_type" "$KM_URL c2 gatehouse-gateway carbon.super Bearer" \
	"$(jget "$body" '" ".join([j["iss"],j["client_id"],j["aud"],j["tenant"],j["token_type"]])')"
check_match "JWT: jti is set" '^[0-9a-f]{16,}$' "$(jget "$body" 'j["jti"]')"
check_eq "JWT: another tenant's client sees it inactive" '{"active":false} 200' "$(introspect a1 secret-acme -d "token=$JWT")"
# a JWT whose signature has one byte changed
sig=${JWT##*.}; c0=${sig:5:1}; [ "$c0" = A ] && c1=B || c1=A
check_eq "JWT with a changed signature is inactive" '{"active":false} 200' \
	"$(introspect c2 secret-two -d "token=${JWT%.*}.${sig:0:5}$c1${sig:6}")"
# claims changed, signature kept
hdr=${JWT%%.*}
check_eq "JWT with changed claims is inactive" '{"active":false} 200' \
	"$(introspect c2 secret-two -d "token=$hdr.$(b64u "{\"iss\":\"$KM_URL\",\"exp\":9999999999,\"jti\":\"x\",\"client_id\":\"c2\",\"tenant\":\"carbon.super\",\"iat\":1}").$sig")"
sql "DELETE FROM gh_oauth_clients WHERE client_id = 'c2'"
check_eq "JWT of a deleted client is inactive" '{"active":false} 200' "$(introspect c1 secret-one -d "token=$JWT")"

# -- request errors
r=$(km_curl -w ' %{http_code}' -d "token=$OP1" "$KM_URL/oauth2/introspect")
check_eq "no client authentication: 401 invalid_client" "invalid_client 401" "$(jget "${r% *}" 'j["error"]') ${r##* }"
r=$(introspect c1 wrong-secret -d "token=$OP1")
check_eq "wrong secret: 401 invalid_client" "invalid_client 401" "$(jget "${r% *}" 'j["error"]') ${r##* }"
r=$(introspect c1 secret-one -d "tok=$OP1")
check_eq "missing token: 400 invalid_request" "invalid_request 400" "$(jget "${r% *}" 'j["error"]') ${r##* }"
r=$(introspect c1 secret-one -d "token=$OP1" -d "token=$OP1")
check_eq "repeated token: 400 invalid_request" "invalid_request 400" "$(jget "${r% *}" 'j["error"]') ${r##* }"
r=$(introspect c1 secret-one -H 'Content-Type: application/json' -d "{\"token\":\"$OP1\"}")
check_eq "JSON body: 400 invalid_request" "invalid_request 400" "$(jget "${r% *}" 'j["error"]') ${r##* }"
r=$(introspect c1 secret-one -d 'token=%zz')
check_eq "malformed form: 400 invalid_request" "invalid_request 400" "$(jget "${r% *}" 'j["error"]') ${r##* }"
check_eq "GET is not allowed" "405" "$(km_curl -o /dev/null -w '%{http_code}' -u c1:secret-one "$KM_URL/oauth2/introspect")"
check_eq "answers are not cached" "no-store" \
	"$(km_curl -D - -o /dev/null -u c1:secret-one -d "token=$OP1" "$KM_URL/oauth2/introspect" | tr -d '\r' | sed -n 's/^[Cc]ache-[Cc]ontrol: //p')"

check_match "introspections are counted" '^gatehouse_km_introspections_total [1-9][0-9]+$' "$(curl -s "$KM_MGMT_URL/metrics")"
km_kill "$KM_PID"; rc=$?
check_eq "clean exit" "0" "$rc"
check_nomatch "no sanitizer report" "ERROR: (Address|Leak)Sanitizer|runtime error" "$(cat "$KM_LOG")"
check_done
