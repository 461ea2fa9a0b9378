#!/usr/bin/env bash
# The authorization code flow end to end with curl, as a browser would run it:
# GET /oauth2/authorize → sign-in page (sessionDataKey, CSRF cookie) → POST the
# credentials → 302 with code and state → POST /oauth2/token with the PKCE
# verifier.  Also: error pages (never a redirect) for a bad client or
# redirect_uri, error redirects after that (RFC 6749 §4.1.2.1), page headers
# and HTML escaping, tampered sessions and CSRF, PKCE mismatch, wrong
# redirect_uri, expired and reused codes (a reuse revokes what the code issued),
# lock-out through the sign-in page, and that refused requests write nothing.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/km.sh"
trap km_stop EXIT
km_start authz "[http]" "trusted_proxies = 127.0.0.1" || { echo "0 passed, 1 failed"; exit 1; }
PY=/usr/bin/python3
LDAP_ARGS=(-x -H "$GH_TEST_LDAP_URI" -D "$GH_TEST_LDAP_ROOTDN" -w "$GH_TEST_LDAP_ROOTPW")
COOKIE_NAME=__Host-gh_authz_csrf

# client_add ID SECRET "GRANTS" CALLBACK [NAME]
client_add() {
	sql "INSERT INTO gh_oauth_clients (client_id, secret_hash, tenant, owner, client_name, grant_types,
		callback_url, audience) VALUES ('$1', '$(sha "$2")', 'carbon.super', 'admin', \$n\$${5:-$1 app}\$n\$,
		string_to_array('$3', ' '), '$4', 'gatehouse-management')" >/dev/null
}
ldap_user() {
	local dn="uid=$1,ou=users,o=carbon.super,$KM_LDAP_BASE"
	printf 'dn: %s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\n' "$dn" "$1" "$1" "$1" |
		ldapadd "${LDAP_ARGS[@]}" >/dev/null || echo "ldapadd $dn failed"
	ldappasswd "${LDAP_ARGS[@]}" -s "$2" "$dn" >/dev/null || echo "ldappasswd $dn failed"
}
XFF=198.51.100.10
# req URL [curl args...]: sets CODE, BODY, HDRS (CR stripped), LOC
req() {
	local out
	out=$(km_curl -D "$GH_TMP/hdrs" -H "X-Forwarded-For: $XFF" -w '\n%{http_code}' "$@")
	CODE=${out##*$'\n'}
	BODY=${out%$'\n'*}
	HDRS=$(tr -d '\r' <"$GH_TMP/hdrs")
	LOC=$(printf '%s\n' "$HDRS" | sed -n 's/^[Ll]ocation: //p')
}
jf() { printf '%s' "$BODY" | $PY -c 'import json,sys
d=json.load(sys.stdin); v=d.get(sys.argv[1]); print("" if v is None else v)' "$1" 2>/dev/null; }
# qp URL NAME: a query parameter of a URL, decoded
qp() { $PY -c 'import sys,urllib.parse as u
q=u.parse_qs(u.urlsplit(sys.argv[1]).query); print(q.get(sys.argv[2],[""])[0])' "$1" "$2"; }
claims() { $PY -c 'import sys,json,base64
t=sys.argv[1].split(".")[1]; t+="="*(-len(t)%4); d=json.loads(base64.urlsafe_b64decode(t))
print(d.get(sys.argv[2],""))' "$1" "$2"; }
verifier() { head -c 48 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'; }
challenge() { printf '%s' "$1" | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '=\n'; }
counts() { sql "SELECT (SELECT count(*) FROM gh_refresh_tokens) || '/' || (SELECT count(*) FROM gh_family_tokens)
	|| '/' || (SELECT count(*) FROM gh_revoked_tokens) || '/' || (SELECT count(*) FROM gh_events)
	|| '/' || (SELECT count(*) FROM gh_auth_codes) || '/' || (SELECT count(*) FROM gh_auth_codes WHERE used_at IS NOT NULL)"; }

# authorize CLIENT REDIRECT CHALLENGE [extra -d args]: GET the sign-in page; sets SDK and CSRF
authorize() {
	local c=$1 r=$2 ch=$3; shift 3
	req -G "$KM_URL/oauth2/authorize" -d response_type=code -d "client_id=$c" --data-urlencode "redirect_uri=$r" \
		-d state=st-123 --data-urlencode "scope=apim:admin openid" -d "code_challenge=$ch" \
		-d code_challenge_method=S256 "$@"
	SDK=$(printf '%s' "$BODY" | sed -n 's/.*name="sessionDataKey" value="\([^"]*\)".*/\1/p')
	CSRF=$(printf '%s\n' "$HDRS" | sed -n "s/^[Ss]et-[Cc]ookie: $COOKIE_NAME=\([^;]*\);.*/\1/p")
}
# login USER PASSWORD [curl args]: submit the sign-in form with SDK and CSRF
login() {
	local u=$1 p=$2; shift 2
	req "$KM_URL/oauth2/authorize" -H "Cookie: $COOKIE_NAME=$CSRF" --data-urlencode "sessionDataKey=$SDK" \
		--data-urlencode "csrf=$CSRF" --data-urlencode "username=$u" --data-urlencode "password=$p" "$@"
}
# code_flow VERIFIER: authorize + login as admin; sets AUTH_CODE
code_flow() {
	authorize web "$CB" "$(challenge "$1")"
	login admin "$KM_ADMIN_PW"
	AUTH_CODE=$(qp "$LOC" code)
}
exchange() { # CODE VERIFIER [REDIRECT] [client:secret]
	req "$KM_URL/oauth2/token" -u "${4:-web:web-secret-0123456789}" -d grant_type=authorization_code \
		--data-urlencode "code=$1" --data-urlencode "code_verifier=$2" --data-urlencode "redirect_uri=${3:-$CB}"
}

CB=https://app.example/cb?from=gatehouse
client_add web web-secret-0123456789 "authorization_code refresh_token" "$CB" 'Web <b>"console"</b>'
client_add other other-secret-0123456789 "authorization_code" "https://other.example/cb"
client_add multi multi-secret-0123456789 "authorization_code" 'regexp=(https://a.example/cb|https://b\.example/cb)'
client_add nocode nocode-secret-0123456789 "client_credentials" "https://nocode.example/cb"
ldap_user erin 'Er1n-pass'

# ---- the sign-in page ----
V1=$(verifier)
authorize web "$CB" "$(challenge "$V1")"
check_eq "authorize: 200 sign-in page" "200" "$CODE"
check_match "page: HTML" "^Content-Type: text/html" "$HDRS"
check_match "page: title" "<title>Gatehouse — sign in</title>" "$BODY"
check_match "page: no-store" "^Cache-Control: no-store" "$HDRS"
check_match "page: frames denied" "^X-Frame-Options: DENY" "$HDRS"
check_match "page: CSP" "^Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; form-action 'self'" "$HDRS"
check_match "page: CSRF cookie Secure HttpOnly" "^Set-Cookie: $COOKIE_NAME=[A-Za-z0-9_-]+; Path=/; Max-Age=600; Secure; HttpOnly; SameSite=Lax" "$HDRS"
check_match "page: client name escaped" "Web &lt;b&gt;&quot;console&quot;&lt;/b&gt;" "$BODY"
check_nomatch "page: client name never raw" '<b>"console"' "$BODY"
check_match "page: form posts back to authorize" '<form method="post" action="authorize"' "$BODY"
check_ne "page: sessionDataKey" "" "$SDK"
check_match "page: csrf field equals the cookie" "name=\"csrf\" value=\"$CSRF\"" "$BODY"
check_eq "showing the page writes nothing" "0" "$(sql "SELECT count(*) FROM gh_auth_codes")"

# ---- bad credentials on the page ----
before=$(counts)
login admin wrong-password
check_eq "wrong password: 401 page again" "401" "$CODE"
check_match "wrong password: message" "Invalid user name or password" "$BODY"
check_match "wrong password: same session kept" "value=\"$SDK\"" "$BODY"
check_eq "wrong password: no redirect" "" "$LOC"
login '<img src=x onerror=alert(1)>' wrong
check_match "echoed user name escaped" 'value="&lt;img src=x onerror=alert\(1\)&gt;"' "$BODY"
check_nomatch "echoed user name never raw" '<img src=x' "$BODY"
login admin ""
check_eq "empty password: 401, no bind" "401" "$CODE"
login '*)(uid=*' "$KM_ADMIN_PW"
check_eq "user name *)(uid=* : 401" "401" "$CODE"
req "$KM_URL/oauth2/authorize" --data-urlencode "sessionDataKey=${SDK%?}x" --data-urlencode "csrf=$CSRF" \
	-H "Cookie: $COOKIE_NAME=$CSRF" -d username=admin --data-urlencode "password=$KM_ADMIN_PW"
check_eq "tampered sessionDataKey: 400 error page" "400" "$CODE"
check_match "tampered sessionDataKey: HTML page" "sign-in session is invalid" "$BODY"
FORGED=$($PY -c 'import sys,base64,json
p,m=sys.argv[1].split(".")
d=json.loads(base64.urlsafe_b64decode(p+"="*(-len(p)%4))); d["r"]="https://evil.example/cb"
print(base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")+"."+m)' "$SDK")
req "$KM_URL/oauth2/authorize" --data-urlencode "sessionDataKey=$FORGED" --data-urlencode "csrf=$CSRF" \
	-H "Cookie: $COOKIE_NAME=$CSRF" -d username=admin --data-urlencode "password=$KM_ADMIN_PW"
check_eq "session with a changed redirect_uri: 400, no redirect" "400 " "$CODE $LOC"
req "$KM_URL/oauth2/authorize" --data-urlencode "sessionDataKey=$SDK" --data-urlencode "csrf=$CSRF" \
	-d username=admin --data-urlencode "password=$KM_ADMIN_PW"
check_eq "no CSRF cookie: 403" "403" "$CODE"
req "$KM_URL/oauth2/authorize" --data-urlencode "sessionDataKey=$SDK" -d csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA \
	-H "Cookie: $COOKIE_NAME=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" -d username=admin --data-urlencode "password=$KM_ADMIN_PW"
check_eq "CSRF token of another session: 403" "403" "$CODE"
req "$KM_URL/oauth2/authorize" -H 'Content-Type: application/json' -d '{"sessionDataKey":"x"}'
check_eq "JSON body: 400" "400" "$CODE"
check_eq "nothing written by refused sign-ins" "$before" "$(counts)"

# ---- success: code, then tokens ----
login admin "$KM_ADMIN_PW"
check_eq "sign-in: 302" "302" "$CODE"
check_match "redirect keeps the registered query and adds code and state" \
	'^https://app\.example/cb\?from=gatehouse&code=[A-Za-z0-9_-]{43}&state=st-123$' "$LOC"
C1=$(qp "$LOC" code)
check_eq "code stored only as SHA-256" "1/0" \
	"$(sql "SELECT count(*) FILTER (WHERE code_hash = '$(sha "$C1")') || '/' || count(*) FILTER (WHERE code_hash = '$C1') FROM gh_auth_codes")"
check_eq "code: subject, scope, redirect stored" "admin|apim:admin openid|$CB" \
	"$(sql "SELECT subject || '|' || scope || '|' || redirect_uri FROM gh_auth_codes WHERE code_hash = '$(sha "$C1")'")"
check_eq "code issuance audited" "1" "$(sql "SELECT count(*) FROM gh_audit WHERE action = 'oauth.code_issued' AND actor = 'admin' AND target = 'web' AND client_addr = '$XFF'")"

before=$(counts)
exchange "$C1" "$(verifier)"
check_eq "PKCE mismatch: invalid_grant" "400 invalid_grant" "$CODE $(jf error)"
exchange "$C1" short
check_eq "malformed verifier: invalid_grant" "400 invalid_grant" "$CODE $(jf error)"
exchange "$C1" "$V1" "https://app.example/cb"
check_eq "wrong redirect_uri: invalid_grant" "400 invalid_grant" "$CODE $(jf error)"
exchange "$C1" "$V1" "$CB" other:other-secret-0123456789
check_eq "another client's code: invalid_grant" "400 invalid_grant" "$CODE $(jf error)"
req "$KM_URL/oauth2/token" -u web:web-secret-0123456789 -d grant_type=authorization_code --data-urlencode "code=$C1" --data-urlencode "redirect_uri=$CB"
check_eq "no code_verifier: invalid_request" "400 invalid_request" "$CODE $(jf error)"
check_eq "refused exchanges write nothing (code still unused)" "$before" "$(counts)"

exchange "$C1" "$V1"
check_eq "exchange: 200" "200" "$CODE"
A1=$(jf access_token); R1=$(jf refresh_token)
check_ne "exchange: refresh token" "" "$R1"
check_eq "exchange: scope from the code" "apim:admin openid" "$(jf scope)"
check_eq "code JWT: sub" "admin" "$(claims "$A1" sub)"
check_eq "code JWT: aud" "gatehouse-management" "$(claims "$A1" aud)"
check_eq "code JWT: client_id" "web" "$(claims "$A1" client_id)"
check_eq "code JWT: iss" "$KM_URL" "$(claims "$A1" iss)"
check_eq "code marked used" "1" "$(sql "SELECT count(*) FROM gh_auth_codes WHERE code_hash = '$(sha "$C1")' AND used_at IS NOT NULL")"
J1=$(claims "$A1" jti)

# refresh from the code's family
req "$KM_URL/oauth2/token" -u web:web-secret-0123456789 -d grant_type=refresh_token --data-urlencode "refresh_token=$R1"
check_eq "refresh after code: 200" "200" "$CODE"
R2=$(jf refresh_token); J2=$(claims "$(jf access_token)" jti)

# reuse of the code revokes everything it issued
ev=$(sql "SELECT count(*) FROM gh_events WHERE type = 'token.revoked'")
exchange "$C1" "$V1"
check_eq "reused code: invalid_grant" "400 invalid_grant" "$CODE $(jf error)"
check_eq "reused code: the first access token is listed in gh_revoked_tokens" "1" \
	"$(sql "SELECT count(*) FROM gh_revoked_tokens WHERE jti = '$J1'")"
check_eq "reused code: the refreshed access token too" "1" "$(sql "SELECT count(*) FROM gh_revoked_tokens WHERE jti = '$J2'")"
check_eq "reused code: two token.revoked events" "2" "$(( $(sql "SELECT count(*) FROM gh_events WHERE type = 'token.revoked'") - ev ))"
check_eq "reused code: revocation audited" "1" \
	"$(sql "SELECT count(*) FROM gh_audit WHERE action = 'token.family_revoked' AND details->>'reason' = 'authorization code reused'")"
req "$KM_URL/oauth2/token" -u web:web-secret-0123456789 -d grant_type=refresh_token --data-urlencode "refresh_token=$R2"
check_eq "reused code: its refresh tokens are dead" "400 invalid_grant" "$CODE $(jf error)"

# expiry
V3=$(verifier); code_flow "$V3"; C3=$AUTH_CODE
check_ne "second code" "" "$C3"
sql "UPDATE gh_auth_codes SET expires_at = now() - interval '1 second' WHERE code_hash = '$(sha "$C3")'" >/dev/null
exchange "$C3" "$V3"
check_eq "expired code: invalid_grant" "400 invalid_grant" "$CODE $(jf error)"
check_match "expired code: said so" "expired" "$(jf error_description)"

# a code without state, and the client's own grant check at the token endpoint
V4=$(verifier)
req -G "$KM_URL/oauth2/authorize" -d response_type=code -d client_id=web --data-urlencode "redirect_uri=$CB" \
	-d "code_challenge=$(challenge "$V4")" -d code_challenge_method=S256
SDK=$(printf '%s' "$BODY" | sed -n 's/.*name="sessionDataKey" value="\([^"]*\)".*/\1/p')
CSRF=$(printf '%s\n' "$HDRS" | sed -n "s/^[Ss]et-[Cc]ookie: $COOKIE_NAME=\([^;]*\);.*/\1/p")
login erin 'Er1n-pass'
check_match "no state: none echoed" '^https://app\.example/cb\?from=gatehouse&code=[A-Za-z0-9_-]+$' "$LOC"
exchange "$(qp "$LOC" code)" "$V4"
check_eq "erin's code: 200, default scope" "200 default" "$CODE $(jf scope)"
check_eq "erin's token: sub" "erin" "$(claims "$(jf access_token)" sub)"

# ---- authorization request errors ----
CH=$(challenge "$(verifier)")
before=$(counts)
authorize nobody "$CB" "$CH"
check_eq "unknown client: 400 page, no redirect" "400 " "$CODE $LOC"
check_match "unknown client: HTML" "^Content-Type: text/html" "$HDRS"
authorize web "https://evil.example/cb" "$CH"
check_eq "wrong redirect_uri: 400 page, no redirect" "400 " "$CODE $LOC"
check_match "wrong redirect_uri: explained" "redirect_uri" "$BODY"
authorize web "${CB}x" "$CH"
check_eq "redirect_uri with a suffix: 400" "400 " "$CODE $LOC"
req -G "$KM_URL/oauth2/authorize" -d response_type=code -d client_id=web -d "code_challenge=$CH" -d code_challenge_method=S256
check_eq "missing redirect_uri: 400 page" "400 " "$CODE $LOC"
authorize web "$CB" "$CH" -d client_id=web
check_eq "repeated client_id: 400 page" "400 " "$CODE $LOC"
authorize multi "https://b.example/cb" "$CH"
check_eq "regexp= callback: an alternative matches" "200" "$CODE"
authorize multi "https://a.example/cb" "$CH"
check_eq "regexp= callback: the other alternative matches" "200" "$CODE"
authorize multi "https://bXexample/cb" "$CH"
check_eq "regexp= callback: no pattern matching beyond the literals" "400" "$CODE"

req -G "$KM_URL/oauth2/authorize" -d response_type=token -d client_id=web --data-urlencode "redirect_uri=$CB" -d state=s1 -d "code_challenge=$CH" -d code_challenge_method=S256
check_eq "response_type=token: 302" "302" "$CODE"
check_eq "response_type=token: unsupported_response_type" "unsupported_response_type s1" "$(qp "$LOC" error) $(qp "$LOC" state)"
check_match "error redirect keeps the registered query" '^https://app\.example/cb\?from=gatehouse&error=' "$LOC"
req -G "$KM_URL/oauth2/authorize" -d response_type=code -d client_id=web --data-urlencode "redirect_uri=$CB" \
	-d "code_challenge=$CH" -d code_challenge_method=plain
check_eq "plain PKCE refused: invalid_request" "302 invalid_request" "$CODE $(qp "$LOC" error)"
req -G "$KM_URL/oauth2/authorize" -d response_type=code -d client_id=web --data-urlencode "redirect_uri=$CB" -d state=s2
check_eq "no code_challenge: invalid_request" "302 invalid_request s2" "$CODE $(qp "$LOC" error) $(qp "$LOC" state)"
req -G "$KM_URL/oauth2/authorize" -d response_type=code -d client_id=web --data-urlencode "redirect_uri=$CB" \
	--data-urlencode 'scope=apim:admin "x"' -d "code_challenge=$CH" -d code_challenge_method=S256
check_eq "bad scope: invalid_scope" "302 invalid_scope" "$CODE $(qp "$LOC" error)"
authorize nocode "https://nocode.example/cb" "$CH"
check_eq "client without the code grant: unauthorized_client" "302 unauthorized_client" "$CODE $(qp "$LOC" error)"
req "$KM_URL/oauth2/authorize" -d response_type=code -d client_id=web --data-urlencode "redirect_uri=$CB" \
	-d "code_challenge=$CH" -d code_challenge_method=S256
check_eq "POST authorization request: the sign-in page" "200" "$CODE"
check_eq "refused authorization requests write nothing" "$before" "$(counts)"

# ---- lock-out through the sign-in page ----
V5=$(verifier)
authorize web "$CB" "$(challenge "$V5")"
for i in 1 2 3 4 5; do
	XFF=203.0.113.$((20 + i))
	login erin "bad-$i"
	check_eq "erin wrong password $i: 401" "401" "$CODE"
done
XFF=203.0.113.40
login erin 'Er1n-pass'
check_eq "locked out: the right password is refused" "401 " "$CODE $LOC"
check_match "locked out: said so" "locked" "$BODY"

km_kill "$KM_PID"; rc=$?
check_eq "stops cleanly" "0" "$rc"
check_nomatch "no sanitizer report" "ERROR: (Address|Leak)Sanitizer|runtime error" "$(cat "$KM_LOG")"
check_done
