#!/usr/bin/env bash
# Publisher v4 /apis: create with WSO2's defaults filled in and stored normalized
# (endpoints as {"url"} objects, backendJwt a boolean, scopes where the key manager
# reads them), read, update (name/version/context frozen), delete, audit rows.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/cp.sh"
trap cp_stop EXIT
cp_start p10 || { echo "0 passed, 1 failed"; exit 1; }
P=$PUB_URL/api/am/publisher/v4
TOK=$(admin_token)
jput() { pcall "$1" -X PUT -H 'Content-Type: application/json' --data-binary "$3" "$2"; }

# A minimal API: every default as WSO2 fills it.
hdr=$GH_TMP/hdr
out=$(km_curl -D "$hdr" -H "Authorization: Bearer $TOK" -H 'Content-Type: application/json' \
	--data-binary '{"name":"Pizza","context":"/pizza","version":"1.0.0"}' "$P/apis")
ID=$(jget "$out" id)
check_match "POST /apis answers 201" '^HTTP/[0-9.]+ 201' "$(head -1 "$hdr")"
check_match "with a Location of the new API" "^[Ll]ocation: /api/am/publisher/v4/apis/$ID" "$(grep -i '^location:' "$hdr" | tr -d '\r')"
check_eq "type defaults to HTTP" HTTP "$(jget "$out" type)"
check_eq "transport defaults" '["http", "https"]' "$(jget "$out" transport)"
check_eq "securityScheme defaults" '["oauth2"]' "$(jget "$out" securityScheme)"
check_eq "policies default to Unlimited" '["Unlimited"]' "$(jget "$out" policies)"
check_eq "visibility PUBLIC" PUBLIC "$(jget "$out" visibility)"
check_eq "subscriptionAvailability CURRENT_TENANT" CURRENT_TENANT "$(jget "$out" subscriptionAvailability)"
check_eq "lifeCycleStatus CREATED" CREATED "$(jget "$out" lifeCycleStatus)"
check_eq "backendJwt false" false "$(jget "$out" backendJwt)"
check_eq "isDefaultVersion false" false "$(jget "$out" isDefaultVersion)"
check_eq "provider is the caller" admin "$(jget "$out" provider)"
check_eq "WSO2's default resources: five verbs on /*" 5 "$(jget "$out" operations | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
check_eq "operation defaults" '{"authType": "Application & Application User", "scopes": [], "target": "/*", "throttlingPolicy": "Unlimited", "verb": "GET"}' "$(jget "$out" operations.0)"
check_eq "the row is CREATED in carbon.super" "carbon.super|/pizza|CREATED" "$(sql "SELECT tenant, context, status FROM gh_apis WHERE id = '$ID'")"

# A full API: endpoints in either form, scopes, operations, Gatehouse's own fields.
FULL='{"name":"Orders","context":"/orders","version":"v1","description":"Orders of the shop",
 "transport":["https"],"tags":["shop","orders"],"policies":["Gold","Silver"],"apiThrottlingPolicy":"10KPerMin",
 "securityScheme":["oauth2","api_key"],"visibility":"RESTRICTED","visibleRoles":["internal"],
 "subscriptionAvailability":"SPECIFIC_TENANTS","subscriptionAvailableTenants":["acme.com"],
 "endpointConfig":{"endpoint_type":"http","production_endpoints":"https://backend.example:8443/orders",
   "sandbox_endpoints":[{"url":"http://sb1.example/orders"},"http://sb2.example/orders"]},
 "scopes":[{"name":"orders:read","description":"Read orders","bindings":["admin","reader"]},
   {"scope":{"name":"orders:write","description":"Write"},"shared":false}],
 "operations":[{"target":"/items/{id}","verb":"get","authType":"Application","throttlingPolicy":"20KPerMin","scopes":["orders:read"]},
   {"target":"/items","verb":"POST","scopes":["orders:write"]},{"target":"/files/*","verb":"GET","authType":"None"}],
 "corsConfiguration":{"corsConfigurationEnabled":true,"accessControlAllowOrigins":["https://shop.example"]},
 "isDefaultVersion":true,"geoRestriction":{"mode":"deny","countries":["KP","IR"]},
 "maxRequestBodyBytes":65536,"backendJwt":"on"}'
jpost "$TOK" "$P/apis" "$FULL"
check_eq "a full API is created" 201 "$CODE"
OID=$(jget "$BODY" id)
check_eq "production endpoint normalized to {url}" '{"url": "https://backend.example:8443/orders"}' "$(jget "$BODY" endpointConfig.production_endpoints)"
check_eq "sandbox endpoints: a list of {url}" '[{"url": "http://sb1.example/orders"}, {"url": "http://sb2.example/orders"}]' "$(jget "$BODY" endpointConfig.sandbox_endpoints)"
check_eq "backendJwt on → true" true "$(jget "$BODY" backendJwt)"
check_eq "stored as a jsonb boolean" boolean "$(sql "SELECT jsonb_typeof(definition->'backendJwt') FROM gh_apis WHERE id = '$OID'")"
check_eq "verb upper-cased" GET "$(jget "$BODY" operations.0.verb)"
check_eq "operation tier kept" 20KPerMin "$(jget "$BODY" operations.0.throttlingPolicy)"
check_eq "WSO2's wrapped scope unwrapped" orders:write "$(jget "$BODY" scopes.1.name)"
check_eq "geoRestriction kept" '{"countries": ["KP", "IR"], "mode": "deny"}' "$(jget "$BODY" geoRestriction)"
check_eq "maxRequestBodyBytes kept" 65536 "$(jget "$BODY" maxRequestBodyBytes)"
check_eq "CORS defaults completed" '["GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"]' "$(jget "$BODY" corsConfiguration.accessControlAllowMethods)"
check_eq "isDefaultVersion column" t "$(sql "SELECT is_default_version FROM gh_apis WHERE id = '$OID'")"
check_eq "scopes stored where the key manager reads them" "orders:read|{admin,reader}
orders:write|{}" "$(sql "SELECT name, roles FROM gh_api_scopes WHERE api_id = '$OID' ORDER BY name")"

# Read.
pcall "$TOK" "$P/apis/$OID"
check_eq "GET /apis/{id}" "200 Orders v1 /orders" "$CODE $(jget "$BODY" name) $(jget "$BODY" version) $(jget "$BODY" context)"
pcall "$TOK" "$P/apis/00000000-0000-4000-8000-000000000000"
check_eq "an unknown id answers 404" 404 "$CODE"
check_eq "as a WSO2 error" 404 "$(jget "$BODY" code)"
pcall "$TOK" "$P/apis/not-an-id"
check_eq "a malformed id answers 404" 404 "$CODE"

# Update: members replace, the rest stays; identity frozen.
jput "$TOK" "$P/apis/$OID" '{"description":"New text","tags":["x"],"backendJwt":false}'
check_eq "PUT answers 200" 200 "$CODE"
check_eq "description changed" "New text" "$(jget "$BODY" description)"
check_eq "the rest kept" '["Gold", "Silver"]' "$(jget "$BODY" policies)"
check_eq "backendJwt off" false "$(sql "SELECT definition->'backendJwt' FROM gh_apis WHERE id = '$OID'")"
jput "$TOK" "$P/apis/$OID" '{"name":"Other"}'
check_eq "PUT cannot rename" 400 "$CODE"
jput "$TOK" "$P/apis/$OID" '{"version":"v2"}'
check_eq "PUT cannot change the version" 400 "$CODE"
jput "$TOK" "$P/apis/$OID" '{"context":"/elsewhere"}'
check_eq "PUT cannot change the context" 400 "$CODE"
jput "$TOK" "$P/apis/$OID" '{"context":"/orders","scopes":[{"name":"orders:read"}]}'
check_eq "dropping a scope that operations use is refused" 400 "$CODE"
check_match "naming it" "orders:write" "$(jget "$BODY" description)"
jput "$TOK" "$P/apis/$OID" '{"scopes":[{"name":"orders:read","bindings":["admin"]},{"name":"orders:write"}]}'
check_eq "scope bindings updated" "200 {admin}" "$CODE $(sql "SELECT roles FROM gh_api_scopes WHERE api_id = '$OID' AND name = 'orders:read'")"
check_eq "an update writes no feed event" 0 "$(sql "SELECT count(*) FROM gh_events WHERE type LIKE 'api.%'")"

# Delete.
pcall "$TOK" -X DELETE "$P/apis/$ID"
check_eq "DELETE answers 200" 200 "$CODE"
pcall "$TOK" "$P/apis/$ID"
check_eq "then it is gone" 404 "$CODE"
pcall "$TOK" -X DELETE "$P/apis/$ID"
check_eq "deleting again answers 404" 404 "$CODE"
pcall "$TOK" -X DELETE "$P/apis/$OID"
check_eq "scopes removed with the API" 0 "$(sql "SELECT count(*) FROM gh_api_scopes WHERE api_id = '$OID'")"
check_eq "every change audited with its real address" "api.create|2|127.0.0.1
api.delete|2|127.0.0.1
api.update|2|127.0.0.1" "$(sql "SELECT action, count(*), min(client_addr) FROM gh_audit WHERE component = 'publisher' GROUP BY action ORDER BY action")"
check_done
