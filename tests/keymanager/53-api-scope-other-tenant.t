#!/usr/bin/env bash
# An API's scope is granted only to the roles the API binds it to; the rule
# "a scope bound to no role is open to everyone" must not make another
# tenant's API scope open: a caller of carbon.super asking for the scope
# "premium" that acme.com's API binds to its role "gold" gets nothing for
# it (its tenant binds nothing of that name), while a scope bound nowhere
# stays open and a carbon.super API scope still goes by its roles.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/km.sh"
trap km_stop EXIT
km_start apiscope || { echo "0 passed, 1 failed"; exit 1; }

sql "INSERT INTO gh_tenants (domain, name) VALUES ('acme.com', 'Acme')" >/dev/null
sql "INSERT INTO gh_api_scopes (tenant, api_id, name, roles) VALUES
	('acme.com', 'api-b', 'premium', '{gold}'),
	('carbon.super', 'api-a', 'reports', '{admin}'),
	('carbon.super', 'api-a', 'secret', '{gold}')" >/dev/null
sql "INSERT INTO gh_oauth_clients (client_id, secret_hash, tenant, owner, client_name, grant_types, audience,
	app_id, app_name, app_tier, app_owner, key_type)
	VALUES ('app', '$(sha app-secret-0123456789)', 'carbon.super', 'admin', 'app', '{client_credentials}',
	'gatehouse-gateway', 'app-1', 'App', 'Gold', 'admin', 'PRODUCTION')" >/dev/null
scope() {
	call -u app:app-secret-0123456789 "$KM_URL/oauth2/token" -d grant_type=client_credentials \
		--data-urlencode "scope=$1"
	printf '%s %s' "$CODE" "$(jget "$BODY" scope)"
}
check_eq "acme.com's API scope is not granted to a carbon.super caller" "200 default" "$(scope premium)"
check_eq "a scope bound nowhere stays open" "200 freebie" "$(scope freebie)"
check_eq "carbon.super's API scope bound to admin: granted to admin" "200 reports" "$(scope reports)"
check_eq "carbon.super's API scope bound to gold: refused to admin" "200 default" "$(scope secret)"
check_eq "mixed request: only what is allowed" "200 reports freebie" "$(scope 'premium reports freebie secret')"

km_kill "$KM_PID"; rc=$?
check_eq "stops cleanly" "0" "$rc"
check_nomatch "no sanitizer report" "ERROR: (Address|Leak)Sanitizer|runtime error" "$(cat "$KM_LOG")"
check_done
