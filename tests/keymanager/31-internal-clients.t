#!/usr/bin/env bash
# The internal client API of application keys over mutual TLS with the
# portal's certificate: create (secret once, gateway audience, application
# columns), read (never the secret), update, regenerate-secret (new secret,
# not-before) and delete, each with its event in gh_events and its audit
# row; a second key of the same (application, key type) is 409 with
# nothing written; other certificate roles get 403, no certificate no TLS;
# bad input 400 with nothing written.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/km.sh"
trap km_stop EXIT
km_start kmclients || { echo "0 passed, 1 failed"; exit 1; }

C=$KM_INTERNAL_URL/internal/km/v1/clients
jf() { python3 -c 'import json,sys
d=json.load(sys.stdin)
for k in sys.argv[1].split("."):
    d=d[int(k)] if isinstance(d,list) else d.get(k) if isinstance(d,dict) else None
print(d if isinstance(d,str) else json.dumps(d))' "$1"; }
# as ROLE METHOD URL [BODY]: body, then the status on the last line (ROLE "none": no certificate)
as() {
	local role=$1 method=$2 url=$3 cert=()
	[ "$role" != none ] && cert=(--cert "$KM_PKI/$role.crt" --key "$KM_PKI/$role.key")
	if [ $# -ge 4 ]; then
		km_curl "${cert[@]}" -X "$method" -H 'Content-Type: application/json' --data-binary "$4" -w '\n%{http_code}' "$url"
	else
		km_curl "${cert[@]}" -X "$method" -w '\n%{http_code}' "$url"
	fi
}
status() { printf '%s\n' "$1" | tail -n 1; }
body() { printf '%s\n' "$1" | sed '$d'; }
# mod JSON KEY=VALUE_JSON... (KEY= removes the member)
mod() { python3 -c 'import json,sys
d=json.loads(sys.argv[1])
for a in sys.argv[2:]:
    k,_,v=a.partition("=")
    if v == "": d.pop(k, None)
    else: d[k]=json.loads(v)
print(json.dumps(d))' "$@"; }
counts() { sql "SELECT (SELECT count(*) FROM gh_oauth_clients) || '/' || (SELECT count(*) FROM gh_events)"; }

APP='{"owner":"admin","tenant":"carbon.super","applicationId":"6f1c2d3e-0000-4000-8000-000000000001","applicationName":"App One","tier":"Unlimited","keyType":"PRODUCTION","grantTypes":["client_credentials","password"],"callbackUrl":"https://app.example/cb","tokenType":"JWT","validityTime":1800}'

# --- create
out=$(as portal POST "$C" "$APP")
b=$(body "$out")
check_eq "create: 201" "201" "$(status "$out")"
id=$(jf clientId <<<"$b"); secret=$(jf clientSecret <<<"$b")
check_match "clientId" '^[A-Za-z0-9_-]{27}$' "$id"
check_match "clientSecret returned once" '^[A-Za-z0-9_-]{43}$' "$secret"
check_eq "applicationId" "6f1c2d3e-0000-4000-8000-000000000001" "$(jf applicationId <<<"$b")"
check_eq "keyType" "PRODUCTION" "$(jf keyType <<<"$b")"
check_eq "grantTypes" '["client_credentials", "password"]' "$(jf grantTypes <<<"$b")"
check_eq "validityTime" "1800" "$(jf validityTime <<<"$b")"
check_eq "audience" "gatehouse-gateway" "$(jf audience <<<"$b")"
check_eq "stored row" "gatehouse-gateway|6f1c2d3e-0000-4000-8000-000000000001|App One|Unlimited|admin|admin|PRODUCTION|JWT|1800|https://app.example/cb|$(sha "$secret")" \
	"$(sql "SELECT audience, app_id, app_name, app_tier, app_owner, owner, key_type, token_type, validity_seconds, callback_url, secret_hash FROM gh_oauth_clients WHERE client_id = '$id'")"
check_eq "key.created event with the client" "key.created|$id|PRODUCTION|carbon.super" \
	"$(sql "SELECT type, payload->>'client_id', payload->>'key_type', tenant FROM gh_events ORDER BY id DESC LIMIT 1")"
sandbox=$(mod "$APP" keyType='"SANDBOX"' tokenType='"OPAQUE"')
out=$(as portal POST "$C" "$sandbox")
check_eq "the SANDBOX key of the same application: 201" "201" "$(status "$out")"
sid=$(jf clientId <<<"$(body "$out")")
check_eq "an opaque-token client" "OPAQUE|SANDBOX" "$(sql "SELECT token_type, key_type FROM gh_oauth_clients WHERE client_id = '$sid'")"

# --- duplicate (applicationId, keyType): 409, nothing written
n0=$(counts)
out=$(as portal POST "$C" "$APP")
check_eq "second PRODUCTION key of one application: 409" "409" "$(status "$out")"
check_eq "409 is a JSON error" "409" "$(jf code <<<"$(body "$out")")"
check_eq "nothing written (clients/events)" "$n0" "$(counts)"

# --- read
out=$(as portal GET "$C/$id")
b=$(body "$out")
check_eq "read: 200" "200" "$(status "$out")"
check_eq "read: the application name" "App One" "$(jf applicationName <<<"$b")"
check_eq "read: never the secret" "null" "$(jf clientSecret <<<"$b")"
check_nomatch "read: the secret nowhere in the body" "$secret" "$b"
check_eq "read an unknown client: 404" "404" "$(status "$(as portal GET "$C/nosuchclient")")"
psql "$KM_DB" -qAt -c "INSERT INTO gh_oauth_clients (client_id, secret_hash, tenant, owner, client_name, grant_types, audience) VALUES ('mgmt1', 'x', 'carbon.super', 'admin', 'cli', '{password}', 'gatehouse-management')"
check_eq "a management client is no application key: 404" "404" "$(status "$(as portal GET "$C/mgmt1")")"

# --- update
n0=$(counts)
out=$(as portal PUT "$C/$id" '{"applicationName":"App One Renamed","tier":"Gold","grantTypes":["client_credentials","refresh_token"]}')
b=$(body "$out")
check_eq "update: 200" "200" "$(status "$out")"
check_eq "update: new name in the reply" "App One Renamed" "$(jf applicationName <<<"$b")"
check_eq "update: stored" "App One Renamed|Gold|client_credentials refresh_token|https://app.example/cb|t" \
	"$(sql "SELECT app_name, app_tier, array_to_string(grant_types,' '), callback_url, updated_at > created_at FROM gh_oauth_clients WHERE client_id = '$id'")"
check_eq "key.updated event" "key.updated|$id|App One Renamed|Gold" \
	"$(sql "SELECT type, payload->>'client_id', payload->>'application_name', payload->>'tier' FROM gh_events ORDER BY id DESC LIMIT 1")"
n0=$(counts)
out=$(as portal PUT "$C/$id" '{"grantTypes":["authorization_code"],"callbackUrl":null}')
check_eq "update to authorization_code without a callback: 400" "400" "$(status "$out")"
check_eq "nothing written" "$n0|client_credentials refresh_token" "$(counts)|$(sql "SELECT array_to_string(grant_types,' ') FROM gh_oauth_clients WHERE client_id = '$id'")"
check_eq "update with nothing to change: 400" "400" "$(status "$(as portal PUT "$C/$id" '{}')")"
check_eq "update with a wrong type: 400" "400" "$(status "$(as portal PUT "$C/$id" '{"tier":5}')")"
check_eq "update an unknown client: 404" "404" "$(status "$(as portal PUT "$C/nosuch" '{"tier":"Gold"}')")"
check_eq "no event from refused updates" "$n0" "$(counts)"

# --- regenerate the secret
out=$(as portal POST "$C/$id/regenerate-secret")
b=$(body "$out")
check_eq "regenerate-secret: 200" "200" "$(status "$out")"
secret2=$(jf clientSecret <<<"$b")
check_match "a new secret" '^[A-Za-z0-9_-]{43}$' "$secret2"
check_ne "different from the old one" "$secret" "$secret2"
check_eq "stored as the new secret's hash" "$(sha "$secret2")" "$(sql "SELECT secret_hash FROM gh_oauth_clients WHERE client_id = '$id'")"
nb=$(sql "SELECT extract(epoch from not_before)::bigint FROM gh_oauth_clients WHERE client_id = '$id'")
now=$(date +%s)
check_eq "not_before is now (earlier tokens die)" "1" "$(( nb >= now - 5 && nb <= now ? 1 : 0 ))"
check_eq "client.revoked event with not_before" "client.revoked|$id|$nb" \
	"$(sql "SELECT type, payload->>'client_id', payload->>'not_before' FROM gh_events ORDER BY id DESC LIMIT 1")"
check_eq "regenerate an unknown client: 404" "404" "$(status "$(as portal POST "$C/nosuch/regenerate-secret")")"

# --- roles: only the portal
n0=$(counts)
for role in gw-external publisher gw-internal; do
	check_eq "$role may not create: 403" "403" "$(status "$(as "$role" POST "$C" "$(mod "$APP" applicationId='"app-2"')")")"
	check_eq "$role may not read: 403" "403" "$(status "$(as "$role" GET "$C/$id")")"
done
check_eq "gw-external may not delete: 403" "403" "$(status "$(as gw-external DELETE "$C/$id")")"
check_eq "gw-external may not regenerate: 403" "403" "$(status "$(as gw-external POST "$C/$id/regenerate-secret")")"
check_eq "no certificate: no TLS session" "000" "$(status "$(as none GET "$C/$id" 2>/dev/null)")"
check_eq "nothing written by refused callers" "$n0" "$(counts)"

# --- bad input: 400, nothing written
bad() {
	local o; o=$(as portal POST "$C" "$2")
	check_eq "$1: 400" "400" "$(status "$o")"
}
A2=$(mod "$APP" applicationId='"app-3"')
bad "malformed JSON" '{"owner":"admin",'
bad "keyType missing" "$(mod "$A2" keyType=)"
bad "keyType DEV" "$(mod "$A2" keyType='"DEV"')"
bad "tokenType X" "$(mod "$A2" tokenType='"X"')"
bad "grantTypes a string" "$(mod "$A2" grantTypes='"password"')"
bad "grantTypes of numbers" "$(mod "$A2" grantTypes='[1]')"
bad "implicit grant" "$(mod "$A2" grantTypes='["implicit"]')"
bad "validityTime a string" "$(mod "$A2" validityTime='"1h"')"
bad "applicationName a number" "$(mod "$A2" applicationName='7')"
bad "unknown tenant" "$(mod "$A2" tenant='"nope.example"')"
bad "owner an LDAP filter" "$(mod "$A2" owner='"*)(uid=*"')"
bad "applicationId with a slash" "$(mod "$A2" applicationId='"a/b"')"
sql "INSERT INTO gh_tenants (domain, name) VALUES ('acme.com', 'acme.com')"
bad "owner not of the tenant" "$(mod "$A2" owner='"alice@acme.com"')"
check_eq "wrong Content-Type: 400" "400" "$(status "$(km_portal_curl -H 'Content-Type: text/plain' --data-binary "$A2" -w '\n%{http_code}' "$C")")"
check_eq "nothing written by bad input" "$n0" "$(counts)"

# --- delete
out=$(as portal DELETE "$C/$sid")
check_eq "delete: 204" "204" "$(status "$out")"
check_eq "the row is gone" "0" "$(sql "SELECT count(*) FROM gh_oauth_clients WHERE client_id = '$sid'")"
check_eq "key.removed event" "key.removed|$sid|SANDBOX" \
	"$(sql "SELECT type, payload->>'client_id', payload->>'key_type' FROM gh_events ORDER BY id DESC LIMIT 1")"
check_eq "read after delete: 404" "404" "$(status "$(as portal GET "$C/$sid")")"
check_eq "delete again: 404" "404" "$(status "$(as portal DELETE "$C/$sid")")"

check_eq "the events in order" "key.created key.created key.updated client.revoked key.removed" \
	"$(sql "SELECT string_agg(type, ' ' ORDER BY id) FROM gh_events WHERE type LIKE 'key.%' OR type = 'client.revoked'")"
check_eq "audit rows by the portal" "key.create key.create key.create key.update key.regenerate_secret key.delete" \
	"$(sql "SELECT string_agg(action, ' ' ORDER BY id) FROM gh_audit WHERE actor LIKE 'portal:%'")"
check_eq "the refused duplicate is audited as a failure" "1" "$(sql "SELECT count(*) FROM gh_audit WHERE action = 'key.create' AND outcome = 'failure'")"

km_kill "$KM_PID"; rc=$?
check_eq "clean exit" "0" "$rc"
check_nomatch "no sanitizer report" "ERROR: (Address|Leak)Sanitizer|runtime error" "$(cat "$KM_LOG")"
check_done
