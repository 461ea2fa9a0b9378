#!/usr/bin/env bash
# Tokens the portal asks for: a gateway token for an application key
# without its secret (subject the application owner, scopes from the
# owner's roles, the requested lifetime), and API keys: a JWT whose claims
# are checked after decoding and whose signature is verified with Node's
# crypto against the stored public key; revocation by jti writes
# gh_revoked_tokens and an apikey.revoked event once.  Only the portal's
# certificate is let in; bad input is 400.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/km.sh"
trap km_stop EXIT
km_start kmtokens || { echo "0 passed, 1 failed"; exit 1; }

I=$KM_INTERNAL_URL/internal/km/v1
jf() { python3 -c 'import json,sys
d=json.load(sys.stdin)
for k in sys.argv[1].split("."):
    d=d[int(k)] if isinstance(d,list) else d.get(k) if isinstance(d,dict) else None
print(d if isinstance(d,str) else json.dumps(d))' "$1"; }
mod() { python3 -c 'import json,sys
d=json.loads(sys.argv[1])
for a in sys.argv[2:]:
    k,_,v=a.partition("=")
    if v == "": d.pop(k, None)
    else: d[k]=json.loads(v)
print(json.dumps(d))' "$@"; }
as() {	# ROLE METHOD URL BODY
	km_curl --cert "$KM_PKI/$1.crt" --key "$KM_PKI/$1.key" -X "$2" -H 'Content-Type: application/json' \
		--data-binary "$4" -w '\n%{http_code}' "$3"
}
status() { printf '%s\n' "$1" | tail -n 1; }
body() { printf '%s\n' "$1" | sed '$d'; }
jwt_part() { python3 -c 'import sys,base64
p=sys.argv[1].split(".")[int(sys.argv[2])]; p+="="*(-len(p)%4)
print(base64.urlsafe_b64decode(p).decode())' "$1" "$2"; }
# jwt_verify TOKEN: "ok" when its signature verifies with the stored public key of its kid
jwt_verify() {
	local kid jwk
	kid=$(jwt_part "$1" 0 | jf kid)
	jwk=$(sql "SELECT public_jwk FROM gh_signing_keys WHERE kid = '$kid'")
	node -e 'const crypto = require("crypto");
const [h, p, s] = process.argv[1].split(".");
const key = crypto.createPublicKey({ key: JSON.parse(process.argv[2]), format: "jwk" });
const alg = JSON.parse(Buffer.from(h, "base64url")).alg;
const data = Buffer.from(h + "." + p), sig = Buffer.from(s, "base64url");
let ok = false;
if (alg === "RS256") ok = crypto.verify("sha256", data, key, sig);
else if (alg === "ES256") ok = crypto.verify("sha256", data, { key, dsaEncoding: "ieee-p1363" }, sig);
else if (alg === "EdDSA") ok = crypto.verify(null, data, key, sig);
console.log(ok ? "ok" : "bad");' "$1" "$jwk" 2>&1
}
ldap_user() {	# TENANT USER PASSWORD
	printf 'dn: uid=%s,ou=users,o=%s,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\n' \
		"$2" "$1" "$KM_LDAP_BASE" "$2" "$2" "$2" |
		ldapadd -x -H "$GH_TEST_LDAP_URI" -D "$GH_TEST_LDAP_ROOTDN" -w "$GH_TEST_LDAP_ROOTPW" >/dev/null
}
ldap_user carbon.super bob x || echo "FAIL: cannot add bob"

APP='{"owner":"admin","tenant":"carbon.super","applicationId":"app-1","applicationName":"App One","tier":"Gold","keyType":"PRODUCTION","grantTypes":["client_credentials"],"validityTime":1800}'
id=$(jf clientId <<<"$(body "$(as portal POST "$I/clients" "$APP")")")
bobid=$(jf clientId <<<"$(body "$(as portal POST "$I/clients" "$(mod "$APP" owner='"bob"' applicationId='"app-bob"' keyType='"SANDBOX"')")")")
check_match "two application keys made" '^[A-Za-z0-9_-]{27} [A-Za-z0-9_-]{27}$' "$id $bobid"

# --- tokens minted for an application key
out=$(as portal POST "$I/tokens" "{\"clientId\":\"$id\"}")
b=$(body "$out")
check_eq "mint: 200" "200" "$(status "$out")"
at=$(jf access_token <<<"$b")
check_eq "token_type Bearer" "Bearer" "$(jf token_type <<<"$b")"
check_eq "expires_in: the client's validity" "1800" "$(jf expires_in <<<"$b")"
check_eq "no refresh token" "null" "$(jf refresh_token <<<"$b")"
check_eq "the signature verifies" "ok" "$(jwt_verify "$at")"
p=$(jwt_part "$at" 1)
check_eq "claims: aud, sub (the owner), client, tenant, keytype" "gatehouse-gateway|admin|$id|carbon.super|PRODUCTION" \
	"$(jf aud <<<"$p")|$(jf sub <<<"$p")|$(jf client_id <<<"$p")|$(jf tenant <<<"$p")|$(jf keytype <<<"$p")"
check_eq "claims: application" '{"id": "app-1", "name": "App One", "tier": "Gold", "owner": "admin", "tenant": "carbon.super"}' "$(jf application <<<"$p")"
check_eq "claims: issuer" "$KM_URL" "$(jf iss <<<"$p")"
out=$(as portal POST "$I/tokens" "{\"clientId\":\"$id\",\"validityPeriod\":600,\"scope\":\"apim:subscribe apim:admin\"}")
b=$(body "$out")
p=$(jwt_part "$(jf access_token <<<"$b")" 1)
check_eq "validityPeriod: expires_in" "600" "$(jf expires_in <<<"$b")"
check_eq "validityPeriod: exp - iat" "600" "$(( $(jf exp <<<"$p") - $(jf iat <<<"$p") ))"
check_eq "scopes the owner's roles allow (admin)" "apim:subscribe apim:admin" "$(jf scope <<<"$b")"
out=$(as portal POST "$I/tokens" "{\"clientId\":\"$bobid\",\"scope\":\"apim:subscribe apim:admin\"}")
b=$(body "$out")
check_eq "an owner without roles gets no management scope" "default" "$(jf scope <<<"$b")"
check_eq "its subject and keytype" "bob|SANDBOX" "$(p=$(jwt_part "$(jf access_token <<<"$b")" 1); echo "$(jf sub <<<"$p")|$(jf keytype <<<"$p")")"
check_eq "unknown client: 404" "404" "$(status "$(as portal POST "$I/tokens" '{"clientId":"nosuch"}')")"
psql "$KM_DB" -qAt -c "INSERT INTO gh_oauth_clients (client_id, secret_hash, tenant, owner, client_name, grant_types, audience) VALUES ('mgmt1', 'x', 'carbon.super', 'admin', 'cli', '{password}', 'gatehouse-management')"
check_eq "a management client: 400" "400" "$(status "$(as portal POST "$I/tokens" '{"clientId":"mgmt1"}')")"
check_eq "clientId missing: 400" "400" "$(status "$(as portal POST "$I/tokens" '{}')")"
check_eq "validityPeriod a string: 400" "400" "$(status "$(as portal POST "$I/tokens" "{\"clientId\":\"$id\",\"validityPeriod\":\"1h\"}")")"
check_eq "scope a list: 400" "400" "$(status "$(as portal POST "$I/tokens" "{\"clientId\":\"$id\",\"scope\":[\"a\"]}")")"
check_eq "gw-external may not mint: 403" "403" "$(status "$(as gw-external POST "$I/tokens" "{\"clientId\":\"$id\"}")")"
check_eq "publisher may not mint: 403" "403" "$(status "$(as publisher POST "$I/tokens" "{\"clientId\":\"$id\"}")")"
check_eq "no token row written for JWTs" "0" "$(sql "SELECT count(*) FROM gh_opaque_tokens")"

# --- API keys
KEY='{"applicationId":"app-1","keyType":"PRODUCTION","validityPeriod":3600,"tenant":"carbon.super","owner":"admin","applicationName":"App One","tier":"Gold","apis":[{"name":"PizzaShack","context":"/pizzashack","version":"1.0.0","publisher":"admin"}]}'
out=$(as portal POST "$I/apikeys" "$KEY")
b=$(body "$out")
check_eq "apikey: 200" "200" "$(status "$out")"
ak=$(jf apikey <<<"$b")
check_eq "validityTime" "3600" "$(jf validityTime <<<"$b")"
check_eq "apikey signature verifies" "ok" "$(jwt_verify "$ak")"
p=$(jwt_part "$ak" 1)
IFS=. read -r th _ ts <<<"$at"; IFS=. read -r _ ap _ <<<"$ak"
check_eq "a token with another payload does not verify" "bad" "$(jwt_verify "$th.$ap.$ts")"
check_eq "apikey claims: iss, sub, aud, token_type, keytype, tenant" "$KM_URL|admin|gatehouse-gateway|apiKey|PRODUCTION|carbon.super" \
	"$(jf iss <<<"$p")|$(jf sub <<<"$p")|$(jf aud <<<"$p")|$(jf token_type <<<"$p")|$(jf keytype <<<"$p")|$(jf tenant <<<"$p")"
check_eq "apikey claims: application" '{"id": "app-1", "name": "App One", "tier": "Gold", "owner": "admin", "tenant": "carbon.super"}' "$(jf application <<<"$p")"
check_eq "apikey lifetime" "3600" "$(( $(jf exp <<<"$p") - $(jf iat <<<"$p") ))"
jti=$(jf jti <<<"$p")
check_match "apikey jti" '^[0-9a-f]{32}$' "$jti"
check_eq "apikey subscribed APIs" "PizzaShack" "$(jf subscribedAPIs.0.name <<<"$p")"
check_eq "apikey creation audited" "1" "$(sql "SELECT count(*) FROM gh_audit WHERE action = 'apikey.create' AND target = '$jti'")"
out=$(as portal POST "$I/apikeys" "$(mod "$KEY" validityPeriod=-1 apis=)")
p=$(jwt_part "$(jf apikey <<<"$(body "$out")")" 1)
check_eq "no expiry asked: ten years" "315360000|315360000" "$(jf validityTime <<<"$(body "$out")")|$(( $(jf exp <<<"$p") - $(jf iat <<<"$p") ))"
check_eq "a second key has another jti" "1" "$([ "$(jf jti <<<"$p")" != "$jti" ] && echo 1)"
bad() { check_eq "apikey $1: 400" "400" "$(status "$(as portal POST "$I/apikeys" "$2")")"; }
bad "keyType DEV" "$(mod "$KEY" keyType='"DEV"')"
bad "owner missing" "$(mod "$KEY" owner=)"
bad "owner an LDAP filter" "$(mod "$KEY" owner='"*)(uid=*"')"
bad "apis not a list" "$(mod "$KEY" apis='{"name":"x"}')"
bad "apis of numbers" "$(mod "$KEY" apis='[1]')"
bad "unknown tenant" "$(mod "$KEY" tenant='"nope.example"')"
bad "validityPeriod a string" "$(mod "$KEY" validityPeriod='"1h"')"
bad "malformed JSON" '{"applicationId":'
check_eq "gw-external may not issue API keys: 403" "403" "$(status "$(as gw-external POST "$I/apikeys" "$KEY")")"

# --- API key revocation
exp=$(( $(date +%s) + 3600 ))
out=$(as portal POST "$I/apikeys/revoke" "{\"jti\":\"$jti\",\"exp\":$exp}")
check_eq "revoke: 200" "200" "$(status "$out")"
check_eq "revoke: the reply" "true" "$(jf revoked <<<"$(body "$out")")"
check_eq "revoked jti stored with its expiry" "$exp|carbon.super" "$(sql "SELECT extract(epoch from expires_at)::bigint, tenant FROM gh_revoked_tokens WHERE jti = '$jti'")"
check_eq "apikey.revoked event" "apikey.revoked|$jti|$exp" "$(sql "SELECT type, payload->>'jti', payload->>'exp' FROM gh_events ORDER BY id DESC LIMIT 1")"
check_eq "revoke again: 200" "200" "$(status "$(as portal POST "$I/apikeys/revoke" "{\"jti\":\"$jti\",\"exp\":$exp}")")"
check_eq "revoke again: no second event" "1" "$(sql "SELECT count(*) FROM gh_events WHERE type = 'apikey.revoked'")"
check_eq "revoke a bad jti: 400" "400" "$(status "$(as portal POST "$I/apikeys/revoke" "{\"jti\":\"a b\",\"exp\":$exp}")")"
check_eq "revoke without exp: 400" "400" "$(status "$(as portal POST "$I/apikeys/revoke" "{\"jti\":\"abc\"}")")"
check_eq "gw-external may not revoke: 403" "403" "$(status "$(as gw-external POST "$I/apikeys/revoke" "{\"jti\":\"abc\",\"exp\":$exp}")")"
check_eq "nothing written by refused revocations" "1" "$(sql "SELECT count(*) FROM gh_revoked_tokens")"

km_kill "$KM_PID"; rc=$?
check_eq "clean exit" "0" "$rc"
check_nomatch "no sanitizer report" "ERROR: (Address|Leak)Sanitizer|runtime error" "$(cat "$KM_LOG")"
check_done
