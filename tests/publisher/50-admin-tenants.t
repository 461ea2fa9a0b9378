#!/usr/bin/env bash
# Admin API, tenants: created through the key manager (LDAP, gh_tenants, tenant.created),
# settings (selfSignUp, honoured by the key manager's sign-up), status changes that
# reach both environments' feeds, a tenant admin's own settings, roles (a creator and a
# tenant admin get 403 on tenant management), bad input answered 4xx with nothing written,
# and 503 when the key manager is down.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/cp.sh"
trap cp_stop EXIT
cp_start p50 || { echo "0 passed, 1 failed"; exit 1; }
A=$PUB_URL/api/am/admin/v4
J='Content-Type: application/json'
TOK=$(admin_token)
ntenants() { sql "SELECT count(*) FROM gh_tenants"; }

# --- create ---
pcall "$TOK" -X POST -H "$J" -d '{"domain":"acme.com","adminUsername":"boss","adminPassword":"Secret-123","settings":{"selfSignUp":true}}' "$A/tenants"
check_eq "POST /tenants answers 201" 201 "$CODE"
check_eq "the new tenant's domain" acme.com "$(jget "$BODY" domain)"
check_eq "it is active" active "$(jget "$BODY" status)"
check_eq "its settings" '{"selfSignUp": true}' "$(jget "$BODY" settings)"
check_match "createdTime is ISO 8601" '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T' "$(jget "$BODY" createdTime)"
check_eq "gh_tenants holds selfSignUp true" true "$(sql "SELECT settings->>'selfSignUp' FROM gh_tenants WHERE domain = 'acme.com'")"
check_eq "the key manager wrote tenant.created" 1 "$(sql "SELECT count(*) FROM gh_events WHERE type = 'tenant.created' AND tenant = 'acme.com'")"
check_eq "the tenant admin can sign in" 1 "$(t=$(mgmt_token boss@acme.com Secret-123 apim:admin); [ -n "$t" ] && [ "$t" != "<absent>" ] && echo 1)"
check_eq "an audit row of the publisher" 1 "$(sql "SELECT count(*) FROM gh_audit WHERE component = 'publisher' AND action = 'tenant.create' AND target = 'acme.com' AND actor = 'admin'")"

N0=$(ntenants)
pcall "$TOK" -X POST -H "$J" -d '{"domain":"acme.com","adminUsername":"boss2","adminPassword":"Secret-123"}' "$A/tenants"
check_eq "the same domain again: 409" 409 "$CODE"
for bad in '{"domain":' '[1,2]' '{"domain":5,"adminUsername":"a","adminPassword":"Secret-123"}' \
	'{"domain":"x.org","adminUsername":"a"}' '{"domain":"x.org","adminUsername":"a","adminPassword":"short"}' \
	'{"domain":"no_dots","adminUsername":"a","adminPassword":"Secret-123"}' \
	'{"domain":"x.org","adminUsername":"a","adminPassword":"Secret-123","settings":{"selfSignUp":"yes"}}' \
	'{"domain":"x.org","adminUsername":"a","adminPassword":"Secret-123","settings":{"signup":true}}' \
	'{"domain":"x.org","adminUsername":"a","adminPassword":"Secret-123","colour":"red"}' \
	"{\"domain\":\"x'; DROP TABLE gh_tenants; --.org\",\"adminUsername\":\"a\",\"adminPassword\":\"Secret-123\"}"; do
	pcall "$TOK" -X POST -H "$J" -d "$bad" "$A/tenants"
	check_eq "bad tenant body answers 400: $bad" 400 "$CODE"
done
pcall "$TOK" -X POST -H 'Content-Type: text/plain' -d '{}' "$A/tenants"
check_eq "a body that is not JSON by type: 415" 415 "$CODE"
check_eq "nothing was written by the refused requests" "$N0" "$(ntenants)"

# --- read ---
pcall "$TOK" "$A/tenants"
check_eq "GET /tenants" 200 "$CODE"
check_eq "lists carbon.super and acme.com" 2 "$(jget "$BODY" count)"
check_eq "first in the list" acme.com "$(jget "$BODY" list.0.domain)"
pcall "$TOK" "$A/tenants/acme.com"
check_eq "GET /tenants/acme.com" "200 active" "$CODE $(jget "$BODY" status)"
pcall "$TOK" "$A/tenants/nope.org"
check_eq "an unknown tenant: 404" 404 "$CODE"

# --- roles ---
ldap_user carbon.super carl Carl-pass-1 creator
CTOK=$(mgmt_token carl Carl-pass-1 "apim:admin apim:api_create")
pcall "$CTOK" "$A/tenants"
check_eq "a creator's token on the admin API: 403" 403 "$CODE"
pcall "$CTOK" -X POST -H "$J" -d '{"domain":"c.org","adminUsername":"a","adminPassword":"Secret-123"}' "$A/tenants"
check_eq "a creator cannot create tenants: 403" 403 "$CODE"
TTOK=$(mgmt_token boss@acme.com Secret-123 "apim:admin")
pcall "$TTOK" "$A/tenants"
check_eq "a tenant's admin cannot list tenants: 403" 403 "$CODE"
pcall "$TTOK" -X PUT -H "$J" -d '{"status":"inactive"}' "$A/tenants/carbon.super"
check_eq "a tenant's admin cannot change tenants: 403" 403 "$CODE"
pcall "" "$A/tenants"
check_eq "no token: 401" 401 "$CODE"

# --- a tenant admin's own settings, honoured by the key manager's sign-up ---
pcall "$TTOK" "$A/tenant-settings"
check_eq "GET /tenant-settings of acme.com" "200 acme.com true" "$CODE $(jget "$BODY" tenant) $(jget "$BODY" selfSignUp)"
signup() {
	curl -s -o /dev/null -w '%{http_code}' --cacert "$KM_CA" --cert "$KM_PKI/publisher.crt" --key "$KM_PKI/publisher.key" \
		-H "$J" -d "{\"tenant\":\"acme.com\",\"username\":\"$1\",\"password\":\"Passw0rd-1\"}" \
		"$KM_INTERNAL_URL/internal/km/v1/users/signup"
}
check_eq "sign-up is open in acme.com" 201 "$(signup dev1)"
pcall "$TTOK" -X PUT -H "$J" -d '{"selfSignUp":false}' "$A/tenant-settings"
check_eq "PUT /tenant-settings" "200 false" "$CODE $(jget "$BODY" selfSignUp)"
check_eq "sign-up is now refused by the key manager" 403 "$(signup dev2)"
pcall "$TTOK" -X PUT -H "$J" -d '{"selfSignUp":"no"}' "$A/tenant-settings"
check_eq "PUT /tenant-settings with a string: 400" 400 "$CODE"
pcall "$TOK" "$A/tenant-settings"
check_eq "carbon.super's own settings default to open sign-up" "carbon.super true" "$(jget "$BODY" tenant) $(jget "$BODY" selfSignUp)"

# --- status: deactivation reaches both environments' feeds ---
E0=$(sql "SELECT coalesce(max(id), 0) FROM gh_events")
for bad in '{"status":"paused"}' '{}' '{"status":1}' '{"domain":"other.com","status":"active"}'; do
	pcall "$TOK" -X PUT -H "$J" -d "$bad" "$A/tenants/acme.com"
	check_eq "bad tenant update answers 400: $bad" 400 "$CODE"
done
pcall "$TOK" -X PUT -H "$J" -d '{"status":"inactive"}' "$A/tenants/carbon.super"
check_eq "the super tenant cannot be deactivated: 409" 409 "$CODE"
pcall "$TOK" -X PUT -H "$J" -d '{"status":"inactive"}' "$A/tenants/nope.org"
check_eq "deactivating an unknown tenant: 404" 404 "$CODE"
check_eq "no event from the refused updates" "$E0" "$(sql "SELECT coalesce(max(id), 0) FROM gh_events")"
pcall "$TOK" -X PUT -H "$J" -d '{"status":"inactive","settings":{"selfSignUp":true}}' "$A/tenants/acme.com"
check_eq "deactivate acme.com" "200 inactive" "$CODE $(jget "$BODY" status)"
check_eq "gh_tenants says inactive" inactive "$(sql "SELECT status FROM gh_tenants WHERE domain = 'acme.com'")"
check_eq "one tenant.updated for every environment" "1|t" "$(sql "SELECT count(*), bool_and(environments IS NULL) FROM gh_events WHERE type = 'tenant.updated' AND id > $E0")"
for env in Internal External; do
	role=gw-internal; [ $env = External ] && role=gw-external
	out=$(feed_curl $role "$FEED_URL/internal/data/v1/events?environment=$env&after=$E0&timeout=0")
	check_eq "the $env feed carries tenant.updated" "tenant.updated acme.com inactive" \
		"$(jget "$out" events.0.type) $(jget "$out" events.0.payload.domain) $(jget "$out" events.0.payload.status)"
done
E1=$(sql "SELECT max(id) FROM gh_events")
pcall "$TOK" -X PUT -H "$J" -d '{"status":"inactive"}' "$A/tenants/acme.com"
check_eq "the same status again: 200 and no new event" "200 $E1" "$CODE $(sql "SELECT max(id) FROM gh_events")"
pcall "$TOK" -X PUT -H "$J" -d '{"status":"ACTIVE"}' "$A/tenants/acme.com"
check_eq "reactivate (status case-insensitive)" "200 active" "$CODE $(jget "$BODY" status)"
check_eq "tenant.updated active" active "$(sql "SELECT payload->>'status' FROM gh_events WHERE type = 'tenant.updated' ORDER BY id DESC LIMIT 1")"
check_eq "audit rows of the three status updates" 3 "$(sql "SELECT count(*) FROM gh_audit WHERE action = 'tenant.update' AND target = 'acme.com' AND details ? 'status'")"

# --- the key manager unreachable ---
km_kill "$KM_PID"
pcall "$TOK" -X POST -H "$J" -d '{"domain":"late.org","adminUsername":"a","adminPassword":"Secret-123"}' "$A/tenants"
check_eq "tenant creation with the key manager down: 503" 503 "$CODE"
check_eq "and no tenant row" 0 "$(sql "SELECT count(*) FROM gh_tenants WHERE domain = 'late.org'")"
check_done
