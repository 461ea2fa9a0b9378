#!/usr/bin/env bash
# POST /oauth2/revoke (RFC 7009): 200 with an empty body for unknown and
# invalid tokens; another client's token is left alone (200, nothing
# revoked); revoking an access token (opaque or JWT) makes it inactive and
# writes its jti and a token.revoked event; revoking a refresh token revokes
# its whole family: every refresh token and every access token issued in it.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/km.sh"
trap km_stop EXIT
km_start revoke || { echo "0 passed, 1 failed"; exit 1; }

jget() { /usr/bin/python3 -c 'import json,sys
j=json.loads(sys.argv[1]); v=eval(sys.argv[2])
print(v if isinstance(v,str) else json.dumps(v))' "$1" "$2" 2>/dev/null || echo "<unparsable>"; }
mkclient() {
	sql "INSERT INTO gh_oauth_clients (client_id, secret_hash, tenant, owner, client_name, grant_types,
	     audience, token_type) VALUES ('$1', '$(sha "$2")', '$3', 'owner-$1', 'app-$1',
	     '{client_credentials,password,refresh_token}', 'gatehouse-gateway', '${4:-JWT}')"
}
# mkopaque TOKEN JTI CLIENT TENANT [FAMILY]
mkopaque() {
	local exp=$(( $(date +%s) + 600 )) iat=$(date +%s)
	local fam=${5:+"'$5'"}
	sql "INSERT INTO gh_opaque_tokens (token_hash, jti, client_id, family_id, claims, expires_at) VALUES
	     ('$(sha "$1")', '$2', '$3', ${fam:-NULL},
	      '{\"iss\":\"$KM_URL\",\"sub\":\"alice\",\"aud\":\"gatehouse-gateway\",\"exp\":$exp,\"iat\":$iat,
	        \"jti\":\"$2\",\"client_id\":\"$3\",\"scope\":\"default\",\"tenant\":\"$4\"}', to_timestamp($exp))"
}
# mkrefresh TOKEN FAMILY CLIENT [STATUS]
mkrefresh() {
	sql "INSERT INTO gh_refresh_tokens (token_hash, family_id, client_id, subject, tenant, scope, status, expires_at)
	     VALUES ('$(sha "$1")', '$2', '$3', 'alice', 'carbon.super', 'default', '${4:-active}', now() + interval '1 day')"
}
active() { jget "$(km_curl -u "$1:$2" -d "token=$3" "$KM_URL/oauth2/introspect")" 'j["active"]'; }
# revoke ID SECRET TOKEN [curl args]: prints "STATUS|BODY"
revoke() {
	local id=$1 secret=$2 token=$3; shift 3
	km_curl -u "$id:$secret" -o "$GH_TMP/rbody" -w '%{http_code}' --data-urlencode "token=$token" "$@" "$KM_URL/oauth2/revoke"
	printf '|%s' "$(cat "$GH_TMP/rbody")"
}
events() { sql "SELECT count(*) FROM gh_events WHERE type = 'token.revoked' AND payload->>'jti' = '$1'"; }

mkclient c1 secret-one carbon.super OPAQUE
mkclient c2 secret-two carbon.super
A=tok-a-$RANDOM$RANDOM$RANDOM
mkopaque "$A" jti-a c1 carbon.super

# -- unknown and invalid tokens: 200, empty body, nothing written
check_eq "unknown token: 200, empty body" "200|" "$(revoke c1 secret-one no-such-token)"
check_eq "garbage JWT: 200, empty body" "200|" "$(revoke c1 secret-one a.b.c)"
head -c 20000 /dev/urandom | base64 -w0 >"$GH_TMP/big"
check_eq "20 KB token: 200, empty body" "200|" \
	"$(km_curl -u c1:secret-one -o /dev/null -w '%{http_code}|' --data-urlencode "token@$GH_TMP/big" "$KM_URL/oauth2/revoke")"
check_eq "nothing revoked by them" "0" "$(sql 'SELECT count(*) FROM gh_revoked_tokens')"

# -- errors
r=$(km_curl -w ' %{http_code}' -d "token=$A" "$KM_URL/oauth2/revoke")
check_eq "no client authentication: 401 invalid_client" "invalid_client 401" "$(jget "${r% *}" 'j["error"]') ${r##* }"
r=$(km_curl -w ' %{http_code}' -u c1:secret-one "$KM_URL/oauth2/revoke" -d "x=1")
check_eq "missing token: 400 invalid_request" "invalid_request 400" "$(jget "${r% *}" 'j["error"]') ${r##* }"
r=$(km_curl -w ' %{http_code}' -u c1:secret-one "$KM_URL/oauth2/revoke" -d "token=$A" -d "token=$A")
check_eq "repeated token: 400 invalid_request" "invalid_request 400" "$(jget "${r% *}" 'j["error"]') ${r##* }"
check_eq "token still active after the refused requests" "true" "$(active c1 secret-one "$A")"

# -- another client's token is left alone
check_eq "another client's token: 200, empty body" "200|" "$(revoke c2 secret-two "$A")"
check_eq "... and it stays active" "true" "$(active c1 secret-one "$A")"
check_eq "... no revocation row" "0" "$(sql "SELECT count(*) FROM gh_revoked_tokens WHERE jti = 'jti-a'")"
check_eq "... the attempt is audited as a failure" "1" \
	"$(sql "SELECT count(*) FROM gh_audit WHERE action = 'token.revoke' AND actor = 'c2' AND outcome = 'failure'")"

# -- the owner revokes its opaque access token
check_eq "owner revokes: 200, empty body" "200|" "$(revoke c1 secret-one "$A" -d token_type_hint=access_token)"
check_eq "revoked token is inactive" "false" "$(active c1 secret-one "$A")"
check_eq "jti recorded with the token's expiry" "1" \
	"$(sql "SELECT count(*) FROM gh_revoked_tokens WHERE jti = 'jti-a' AND client_id = 'c1' AND expires_at > now() + interval '9 minutes'")"
check_eq "one token.revoked event for the gateways" "1" "$(events jti-a)"
check_eq "event carries jti, exp and the tenant" "carbon.super true" \
	"$(sql "SELECT tenant, (payload->>'exp')::bigint > extract(epoch from now()) FROM gh_events WHERE payload->>'jti' = 'jti-a'" | tr '|' ' ' | sed 's/ t$/ true/')"
check_eq "revocation audited" "1" \
	"$(sql "SELECT count(*) FROM gh_audit WHERE action = 'token.revoke' AND target = 'jti-a' AND outcome = 'success' AND actor = 'c1'")"
check_eq "revoking it again: 200, no second event" "200|1" "$(revoke c1 secret-one "$A" | cut -d'|' -f1)|$(events jti-a)"

# -- a refresh token revokes its family
F=family-$RANDOM
R1=rt-old-$RANDOM$RANDOM
R2=rt-new-$RANDOM$RANDOM
mkrefresh "$R1" "$F" c1 rotated
mkrefresh "$R2" "$F" c1
O2=tok-fam-$RANDOM$RANDOM
mkopaque "$O2" jti-fam-opaque c1 carbon.super "$F"
sql "INSERT INTO gh_family_tokens (jti, family_id, client_id, expires_at) VALUES
     ('jti-fam-jwt', '$F', 'c1', now() + interval '10 minutes'),
     ('jti-fam-expired', '$F', 'c1', now() - interval '1 minute')"
OTHER=tok-other-$RANDOM$RANDOM
mkopaque "$OTHER" jti-other-family c1 carbon.super other-family
check_eq "family members active before" "true true" "$(active c1 secret-one "$R2") $(active c1 secret-one "$O2")"
check_eq "another client cannot revoke the refresh token" "200|" "$(revoke c2 secret-two "$R2" -d token_type_hint=refresh_token)"
check_eq "... which stays active" "true" "$(active c1 secret-one "$R2")"
check_eq "owner revokes the refresh token: 200, empty body" "200|" "$(revoke c1 secret-one "$R2" -d token_type_hint=refresh_token)"
check_eq "refresh token inactive" "false" "$(active c1 secret-one "$R2")"
check_eq "every refresh token of the family revoked" "revoked" "$(sql "SELECT string_agg(DISTINCT status, ',') FROM gh_refresh_tokens WHERE family_id = '$F'")"
check_eq "opaque access token of the family inactive" "false" "$(active c1 secret-one "$O2")"
check_eq "JWT jti of the family revoked" "1" "$(sql "SELECT count(*) FROM gh_revoked_tokens WHERE jti = 'jti-fam-jwt'")"
check_eq "expired family token needs no revocation" "0" "$(sql "SELECT count(*) FROM gh_revoked_tokens WHERE jti = 'jti-fam-expired'")"
check_eq "events for both access tokens" "1 1" "$(events jti-fam-jwt) $(events jti-fam-opaque)"
check_eq "a token of another family is untouched" "true" "$(active c1 secret-one "$OTHER")"
check_eq "refresh revocation audited" "1" \
	"$(sql "SELECT count(*) FROM gh_audit WHERE action = 'token.revoke' AND target = '$F' AND outcome = 'success'")"
# revoking without a hint finds a refresh token too
F2=family2-$RANDOM
R3=rt-third-$RANDOM$RANDOM
mkrefresh "$R3" "$F2" c1
check_eq "refresh token without a hint: 200" "200|" "$(revoke c1 secret-one "$R3")"
check_eq "... revoked" "revoked" "$(sql "SELECT status FROM gh_refresh_tokens WHERE family_id = '$F2'")"

# -- a JWT access token (client_credentials)
JWT=$(jget "$(km_curl -u c2:secret-two -d grant_type=client_credentials "$KM_URL/oauth2/token")" 'j["access_token"]')
JTI=$(jget "$(km_curl -u c2:secret-two -d "token=$JWT" "$KM_URL/oauth2/introspect")" 'j["jti"]')
check_match "JWT active before" '^[0-9a-f]{16,}$' "$JTI"
check_eq "c1 cannot revoke c2's JWT" "200|true" "$(revoke c1 secret-one "$JWT" | cut -d'|' -f1)|$(active c2 secret-two "$JWT")"
check_eq "c2 revokes its JWT: 200, empty body" "200|" "$(revoke c2 secret-two "$JWT")"
check_eq "JWT inactive" "false" "$(active c2 secret-two "$JWT")"
check_eq "JWT's jti event" "1" "$(events "$JTI")"
check_eq "client_id form authentication works for revoke" "200" \
	"$(km_curl -o /dev/null -w '%{http_code}' -d client_id=c1 -d client_secret=secret-one -d token=nothing "$KM_URL/oauth2/revoke")"

check_match "revocations are counted" '^gatehouse_km_revocations_total [1-9][0-9]*$' "$(curl -s "$KM_MGMT_URL/metrics")"
km_kill "$KM_PID"; rc=$?
check_eq "clean exit" "0" "$rc"
check_nomatch "no sanitizer report" "ERROR: (Address|Leak)Sanitizer|runtime error" "$(cat "$KM_LOG")"
check_done
