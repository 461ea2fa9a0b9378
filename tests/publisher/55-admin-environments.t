#!/usr/bin/env bash
# Admin API, gateway environments: Internal and External exist; create, read, update,
# delete (super-tenant admins only; any admin lists); names unique (409); bad input 400
# with nothing written; an environment with a deployment can be neither deleted nor
# turned into another type (409); external environments have no plain-HTTP port.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/cp.sh"
trap cp_stop EXIT
cp_start p55 || { echo "0 passed, 1 failed"; exit 1; }
A=$PUB_URL/api/am/admin/v4
J='Content-Type: application/json'
TOK=$(admin_token)
nenv() { sql "SELECT count(*) || ':' || md5(string_agg(name || display_name || type || description || vhosts::text, ',' ORDER BY name)) FROM gh_environments"; }

pcall "$TOK" "$A/environments"
check_eq "GET /environments" 200 "$CODE"
check_eq "Internal and External exist" "2 External Internal" "$(jget "$BODY" count) $(jget "$BODY" list.0.name) $(jget "$BODY" list.1.name)"
check_eq "External's shape" 'External external [{"host": "localhost", "httpsPort": 8243}]' \
	"$(jget "$BODY" list.0.id) $(jget "$BODY" list.0.type) $(jget "$BODY" list.0.vhosts)"

pcall "$TOK" -X POST -H "$J" -d '{"name":"Lab","displayName":"Lab gateways","type":"internal","description":"test bench","vhosts":[{"host":"lab.example.com","httpsPort":8443,"httpPort":8080},{"host":"10.0.0.7","httpsPort":9443}]}' "$A/environments"
check_eq "POST /environments" "201 Lab internal" "$CODE $(jget "$BODY" id) $(jget "$BODY" type)"
check_eq "its vhosts" '[{"host": "lab.example.com", "httpPort": 8080, "httpsPort": 8443}, {"host": "10.0.0.7", "httpsPort": 9443}]' "$(jget "$BODY" vhosts)"
check_eq "a row in gh_environments" "Lab gateways" "$(sql "SELECT display_name FROM gh_environments WHERE name = 'Lab'")"
check_eq "an audit row" 1 "$(sql "SELECT count(*) FROM gh_audit WHERE action = 'environment.create' AND target = 'Lab'")"
pcall "$TOK" -X POST -H "$J" -d '{"name":"Lab","type":"external","vhosts":[{"host":"x.org","httpsPort":443}]}' "$A/environments"
check_eq "the same name again: 409" 409 "$CODE"

S0=$(nenv)
for bad in '{"name":"Bad name","type":"internal","vhosts":[{"host":"a.org","httpsPort":443}]}' \
	'{"name":"X1","type":"hybrid","vhosts":[{"host":"a.org","httpsPort":443}]}' \
	'{"name":"X1","type":"internal"}' '{"name":"X1","type":"internal","vhosts":[]}' \
	'{"name":"X1","type":"internal","vhosts":[{"host":"a b.org","httpsPort":443}]}' \
	'{"name":"X1","type":"internal","vhosts":[{"host":"a.org","httpsPort":70000}]}' \
	'{"name":"X1","type":"internal","vhosts":[{"host":"a.org","httpsPort":"443"}]}' \
	'{"name":"X1","type":"internal","vhosts":[{"host":"a.org"}]}' \
	'{"name":"X1","type":"external","vhosts":[{"host":"a.org","httpsPort":443,"httpPort":80}]}' \
	'{"name":"X1","type":"internal","vhosts":[{"host":"a.org","httpsPort":443},{"host":"A.org","httpsPort":444}]}' \
	'{"name":"X1","type":"internal","vhosts":"a.org"}' '{"name":["X1"],"type":"internal","vhosts":[{"host":"a.org","httpsPort":443}]}' \
	"{\"name\":\"X1'--\",\"type\":\"internal\",\"vhosts\":[{\"host\":\"a.org\",\"httpsPort\":443}]}" \
	'{"name":"X1","type":"internal","displayName":"tab\there","vhosts":[{"host":"a.org","httpsPort":443}]}' \
	'{"name":"X1","type":"internal","vhosts":[{"host":"a.org","httpsPort":443}],"colour":1}' '{"name":"X1"'; do
	pcall "$TOK" -X POST -H "$J" -d "$bad" "$A/environments"
	check_eq "bad environment answers 400: $bad" 400 "$CODE"
done
check_eq "nothing written by the refused requests" "$S0" "$(nenv)"

pcall "$TOK" "$A/environments/Lab"
check_eq "GET /environments/Lab" "200 Lab gateways" "$CODE $(jget "$BODY" displayName)"
pcall "$TOK" "$A/environments/Nope"
check_eq "an unknown environment: 404" 404 "$CODE"
pcall "$TOK" -X PUT -H "$J" -d '{"displayName":"Lab 2","vhosts":[{"host":"lab2.example.com","httpsPort":8444}]}' "$A/environments/Lab"
check_eq "PUT /environments/Lab" "200 Lab 2 lab2.example.com" "$CODE $(jget "$BODY" displayName) $(jget "$BODY" vhosts.0.host)"
pcall "$TOK" -X PUT -H "$J" -d '{"name":"Lab3"}' "$A/environments/Lab"
check_eq "the name cannot change: 400" 400 "$CODE"
pcall "$TOK" -X PUT -H "$J" -d '{"type":"external","vhosts":[{"host":"a.org","httpsPort":443,"httpPort":80}]}' "$A/environments/Lab"
check_eq "external with an httpPort: 400" 400 "$CODE"
pcall "$TOK" -X PUT -H "$J" -d '{"displayName":"x"}' "$A/environments/Nope"
check_eq "PUT on an unknown environment: 404" 404 "$CODE"

# roles
TT=$(tenant_create acme.com boss Secret-123 && mgmt_token boss@acme.com Secret-123 apim:admin)
pcall "$TT" "$A/environments"
check_eq "a tenant admin lists environments" "200 3" "$CODE $(jget "$BODY" count)"
pcall "$TT" -X POST -H "$J" -d '{"name":"Mine","type":"internal","vhosts":[{"host":"a.org","httpsPort":443}]}' "$A/environments"
check_eq "a tenant admin cannot create one: 403" 403 "$CODE"
pcall "$TT" -X DELETE "$A/environments/Lab"
check_eq "nor delete one: 403" 403 "$CODE"
ldap_user carbon.super carl Carl-pass-1 creator
pcall "$(mgmt_token carl Carl-pass-1 "apim:admin apim:api_view")" "$A/environments"
check_eq "a creator's token: 403" 403 "$CODE"

# deployments block delete and type changes
sql "INSERT INTO gh_apis (id, tenant, name, context, version, provider, definition) VALUES ('api-e1', 'carbon.super', 'E1', '/e1', '1.0', 'admin', '{}');
INSERT INTO gh_api_revisions (id, api_id, number, definition) VALUES ('rev-e1', 'api-e1', 1, '{}');
INSERT INTO gh_deployments (api_id, environment, revision_id, vhost) VALUES ('api-e1', 'Lab', 'rev-e1', 'lab2.example.com')" >/dev/null
pcall "$TOK" -X DELETE "$A/environments/Lab"
check_eq "delete with an API deployed: 409" 409 "$CODE"
pcall "$TOK" -X PUT -H "$J" -d '{"type":"external"}' "$A/environments/Lab"
check_eq "type change with an API deployed: 409" 409 "$CODE"
pcall "$TOK" -X PUT -H "$J" -d '{"description":"still internal"}' "$A/environments/Lab"
check_eq "other changes with an API deployed: 200" 200 "$CODE"
sql "DELETE FROM gh_deployments WHERE api_id = 'api-e1'" >/dev/null
sql "INSERT INTO gh_backend_keys (environment, node, kid, jwk) VALUES ('Lab', 'n1', 'k1', '{}')" >/dev/null
pcall "$TOK" -X DELETE "$A/environments/Lab"
check_eq "delete once undeployed" 200 "$CODE"
check_eq "row and backend keys gone" "0 0" "$(sql "SELECT count(*) FROM gh_environments WHERE name = 'Lab'") $(sql "SELECT count(*) FROM gh_backend_keys WHERE environment = 'Lab'")"
pcall "$TOK" -X DELETE "$A/environments/Lab"
check_eq "delete again: 404" 404 "$CODE"
check_done
