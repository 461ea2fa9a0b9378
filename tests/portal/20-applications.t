#!/usr/bin/env bash
# Applications: create, list, read, change and delete, owned by the caller and shared
# with its groups; bad input answers a precise 4xx and writes nothing; changes are
# audited and announced to the gateways (application.updated / .removed).
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/cp.sh"
. "$GH_ROOT/tests/portal/portal.sh"
trap cp_stop EXIT
portal_start o20 || { echo "0 passed, 1 failed"; exit 1; }
check_ok "tenant acme.com" tenant_create acme.com acmeadmin 'Acme-Adm1n'
check_ok "users" ldap_user carbon.super alice 'Al1ce-pw' subscriber
check_ok "bob" ldap_user carbon.super bob 'B0b-pw' subscriber
check_ok "dave" ldap_user carbon.super dave 'Dav3-pw' subscriber
check_ok "carol@acme.com" ldap_user acme.com carol 'Car0l-pw' subscriber
check_ok "group team: alice" ldap_group carbon.super team alice
check_ok "acme group team: carol" ldap_group acme.com team carol
ldapmodify -x -H "$GH_TEST_LDAP_URI" -D "$GH_TEST_LDAP_ROOTDN" -w "$GH_TEST_LDAP_ROOTPW" >/dev/null <<LDIF
dn: cn=team,ou=groups,o=carbon.super,$KM_LDAP_BASE
changetype: modify
add: member
member: uid=bob,ou=users,o=carbon.super,$KM_LDAP_BASE
LDIF
ALICE=$(user_token alice 'Al1ce-pw'); BOB=$(user_token bob 'B0b-pw'); DAVE=$(user_token dave 'Dav3-pw')
CAROL=$(user_token carol@acme.com 'Car0l-pw')

dpj "$ALICE" POST /applications '{"name":"App1","throttlingPolicy":"10PerMin","description":"x'"'"'; DROP TABLE gh_applications; --","tokenType":"JWT","attributes":{"team":"blue"}}' -D "$GH_TMP/h"
check_eq "POST /applications: 201" 201 "$CODE"
A1=$(jget "$BODY" applicationId)
check_match "a UUID" '^[0-9a-f-]{36}$' "$A1"
check_eq "Location" "$DP/applications/$A1" "$(tr -d '\r' <"$GH_TMP/h" | sed -n 's/^Location: //Ip')"
check_eq "fields" "App1 10PerMin JWT alice APPROVED 0 blue" \
	"$(printf '%s' "$BODY" | python3 -c 'import json,sys; a=json.load(sys.stdin); print(a["name"],a["throttlingPolicy"],a["tokenType"],a["owner"],a["status"],a["subscriptionCount"],a["attributes"]["team"])')"
check_eq "SQL metacharacters are stored as data" "x'; DROP TABLE gh_applications; --" \
	"$(sql "SELECT description FROM gh_applications WHERE id = '$A1'")"
check_eq "the row: tenant and owner" "carbon.super|alice|10PerMin" "$(sql "SELECT tenant, owner, tier FROM gh_applications WHERE id = '$A1'")"
check_eq "audited" "portal|alice|carbon.super|application.create" \
	"$(sql "SELECT component, actor, tenant, action FROM gh_audit WHERE target = '$A1'")"
dpj "$ALICE" POST /applications '{"name":"App1","throttlingPolicy":"Unlimited"}'
check_eq "the same name again: 409" 409 "$CODE"
dpj "$BOB" POST /applications '{"name":"App1","throttlingPolicy":"Unlimited"}'
check_eq "another owner may use the name" 201 "$CODE"
B1=$(jget "$BODY" applicationId)
dpj "$ALICE" POST /applications '{"name":"Opaque","throttlingPolicy":"Unlimited","tokenType":"OAUTH"}'
check_eq "tokenType OAUTH (WSO2's name for opaque tokens)" "201 OAUTH" "$CODE $(jget "$BODY" tokenType)"
check_eq "stored as OPAQUE" OPAQUE "$(sql "SELECT token_type FROM gh_applications WHERE name = 'Opaque'")"
O1=$(jget "$BODY" applicationId)

# Bad input: nothing written
n0=$(count_rows gh_applications)
bad() {
	dpj "$ALICE" POST /applications "$2"
	check_eq "$1" "${3:-400}" "$CODE"
}
bad "invalid JSON" '{"name":"X",'
bad "not an object" '["name"]'
bad "single quotes" "{'name':'X','throttlingPolicy':'Unlimited'}"
bad "trailing text" '{"name":"X","throttlingPolicy":"Unlimited"} x'
bad "name missing" '{"throttlingPolicy":"Unlimited"}'
bad "name not a string" '{"name":12,"throttlingPolicy":"Unlimited"}'
bad "name empty" '{"name":"","throttlingPolicy":"Unlimited"}'
bad "name too long" "{\"name\":\"$(printf 'a%.0s' $(seq 71))\",\"throttlingPolicy\":\"Unlimited\"}"
bad "name with a quote" "{\"name\":\"a'b\",\"throttlingPolicy\":\"Unlimited\"}"
bad "name with a control character" '{"name":"a\u0001b","throttlingPolicy":"Unlimited"}'
bad "throttlingPolicy missing" '{"name":"X"}'
bad "throttlingPolicy a subscription tier" '{"name":"X","throttlingPolicy":"Gold"}'
bad "throttlingPolicy unknown" '{"name":"X","throttlingPolicy":"Platinum"}'
bad "throttlingPolicy with SQL" "{\"name\":\"X\",\"throttlingPolicy\":\"Unlimited' OR '1'='1\"}"
bad "throttlingPolicy not a string" '{"name":"X","throttlingPolicy":["Unlimited"]}'
bad "tokenType unknown" '{"name":"X","throttlingPolicy":"Unlimited","tokenType":"SAML"}'
bad "description too long" "{\"name\":\"X\",\"throttlingPolicy\":\"Unlimited\",\"description\":\"$(printf 'd%.0s' $(seq 513))\"}"
bad "groups not an array" '{"name":"X","throttlingPolicy":"Unlimited","groups":"team"}'
bad "a group the caller is not in" '{"name":"X","throttlingPolicy":"Unlimited","groups":["admin"]}'
bad "attributes not an object" '{"name":"X","throttlingPolicy":"Unlimited","attributes":["a"]}'
bad "attribute not a string" '{"name":"X","throttlingPolicy":"Unlimited","attributes":{"a":1}}'
pcall "$ALICE" -X POST -H 'Content-Type: text/plain' --data-binary '{"name":"X","throttlingPolicy":"Unlimited"}' "$PORTAL_URL$DP/applications"
check_eq "not application/json: 415" 415 "$CODE"
check_eq "no row written by any of them" "$n0" "$(count_rows gh_applications)"
dpj "" POST /applications '{"name":"X","throttlingPolicy":"Unlimited"}'
check_eq "no token: 401" 401 "$CODE"
VIEW=$(mgmt_token alice 'Al1ce-pw' "apim:api_view")
dpj "$VIEW" POST /applications '{"name":"X","throttlingPolicy":"Unlimited"}'
check_eq "a token without apim:app_manage or apim:subscribe: 403" 403 "$CODE"
ONLY=$(mgmt_token alice 'Al1ce-pw' "apim:app_manage")
dp "$ONLY" GET /applications
check_eq "apim:app_manage alone lists applications" 200 "$CODE"

# Sharing with groups
dpj "$ALICE" POST /applications '{"name":"Shared","throttlingPolicy":"Unlimited","groups":["team"]}'
check_eq "shared with team" "201 [\"team\"]" "$CODE $(jget "$BODY" groups)"
S1=$(jget "$BODY" applicationId)
names() { printf '%s' "$BODY" | python3 -c 'import json,sys; print(",".join(a["name"]+"/"+a["owner"] for a in json.load(sys.stdin)["list"]))'; }
dp "$ALICE" GET /applications
check_eq "alice lists her applications" "App1/alice,Opaque/alice,Shared/alice" "$(names)"
dp "$BOB" GET /applications
check_eq "bob (team) lists his own and the shared one" "App1/bob,Shared/alice" "$(names)"
dp "$DAVE" GET /applications
check_eq "dave lists none" "0" "$(jget "$BODY" count)"
dp "$CAROL" GET /applications
check_eq "carol (acme.com, also in a group named team) sees none of carbon.super's" "0" "$(jget "$BODY" count)"
dp "$BOB" GET "/applications/$S1"
check_eq "bob reads the shared application" 200 "$CODE"
dpj "$BOB" PUT "/applications/$S1" '{"description":"mine now"}'
check_eq "but only the owner changes it" 403 "$CODE"
dp "$BOB" DELETE "/applications/$S1"
check_eq "or deletes it" 403 "$CODE"
dp "$DAVE" GET "/applications/$S1"
check_eq "dave: 404" 404 "$CODE"
dp "$CAROL" GET "/applications/$A1"
check_eq "another tenant: 404" 404 "$CODE"
dp "$ALICE" GET "/applications/$B1"
check_eq "another owner's: 404" 404 "$CODE"
dp "$ALICE" GET "/applications?query=shar"
check_eq "query by name" "Shared/alice" "$(names)"
dp "$ALICE" GET "/applications?limit=1&offset=1"
check_eq "paging" "Opaque/alice 3" "$(names) $(jget "$BODY" pagination.total)"

# Change and delete
ev0=$(sql "SELECT coalesce(max(id), 0) FROM gh_events")
dpj "$ALICE" PUT "/applications/$A1" '{"name":"App1b","throttlingPolicy":"20PerMin","description":""}'
check_eq "PUT: 200" "200 App1b 20PerMin" "$CODE $(jget "$BODY" name) $(jget "$BODY" throttlingPolicy)"
check_eq "description emptied" "" "$(jget "$BODY" description)"
check_eq "application.updated for every environment" "application.updated|*|App1b|20PerMin" \
	"$(sql "SELECT type, coalesce(array_to_string(environments, ','), '*'), payload->>'name', payload->>'tier' FROM gh_events WHERE id > $ev0")"
check_eq "audited" "application.update" "$(sql "SELECT action FROM gh_audit WHERE target = '$A1' ORDER BY id DESC LIMIT 1")"
dpj "$ALICE" PUT "/applications/$A1" '{"name":"Shared"}'
check_eq "PUT to a name the owner already uses: 409" 409 "$CODE"
dpj "$ALICE" PUT "/applications/$A1" '{"throttlingPolicy":"Gold"}'
check_eq "PUT with a subscription tier: 400" 400 "$CODE"
dpj "$ALICE" PUT "/applications/$A1" '{"name":""}'
check_eq "PUT with an empty name: 400" 400 "$CODE"
dpj "$ALICE" PUT "/applications/$A1" '{"name":'
check_eq "PUT with invalid JSON: 400" 400 "$CODE"
check_eq "none of them changed the row" "App1b|20PerMin" "$(sql "SELECT name, tier FROM gh_applications WHERE id = '$A1'")"
check_eq "nor wrote an event" 1 "$(sql "SELECT count(*) FROM gh_events WHERE id > $ev0")"
dpj "$ALICE" PUT "/applications/$O1" '{"tokenType":"JWT"}'
check_eq "tokenType may change while there are no keys" "200 JWT" "$CODE $(jget "$BODY" tokenType)"
ev1=$(sql "SELECT max(id) FROM gh_events")
dp "$ALICE" DELETE "/applications/$A1"
check_eq "DELETE: 200" 200 "$CODE"
dp "$ALICE" GET "/applications/$A1"
check_eq "gone" 404 "$CODE"
check_eq "application.removed for every environment" "application.removed|*|$A1" \
	"$(sql "SELECT type, coalesce(array_to_string(environments, ','), '*'), payload->>'id' FROM gh_events WHERE id > $ev1")"
check_eq "audited" "application.delete" "$(sql "SELECT action FROM gh_audit WHERE target = '$A1' ORDER BY id DESC LIMIT 1")"
dp "$ALICE" DELETE "/applications/$A1"
check_eq "DELETE again: 404" 404 "$CODE"
dp "$ALICE" DELETE "/applications/%27%20OR%201%3D1"
check_eq "an id with SQL metacharacters: 404" 404 "$CODE"
check_eq "nothing else deleted" 3 "$(count_rows gh_applications)"
check_done
