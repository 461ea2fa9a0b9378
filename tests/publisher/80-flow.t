#!/usr/bin/env bash
# The whole flow of issue 4 by REST, against a real key manager, PostgreSQL and slapd:
# create → import OpenAPI → revision → deploy to Internal only → publish → an application
# subscribes with Gold and generates keys → deploy to External too → block the subscription
# → unblock → block the API → re-publish → deprecate → retire.  Each environment's feed
# carries exactly the right events in order; a reader that reconnects with after=N gets
# exactly the rest; one behind the retention gets 410.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/cp.sh"
trap cp_stop EXIT
cp_start p80 || { echo "0 passed, 1 failed"; exit 1; }
P=$PUB_URL/api/am/publisher/v4
D=$PORTAL_URL/api/am/devportal/v3
ADM=$(admin_token)
ldap_user carbon.super dev 'Dev-pass-123' subscriber || echo "FAIL: cannot add dev"
DEV=$(mgmt_token dev 'Dev-pass-123' "apim:subscribe apim:app_manage apim:sub_manage apim:api_key")
check_match "a subscriber's management token" '^ey' "$DEV"
START=$(sql "SELECT coalesce(max(id), 0) FROM gh_events")

# feed ENV AFTER: "type type ..." of the events after AFTER that ENV's gateway sees
feed_types() {
	local r=gw-internal; [ "$1" = External ] && r=gw-external
	feed_curl "$r" "$FEED_URL/internal/data/v1/events?environment=$1&after=$2&timeout=200" |
	python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join(e["type"] for e in d["events"]))'
}

# create, then import an OpenAPI document into a second version of the flow
pcall "$ADM" -H 'Content-Type: application/json' -d '{"name":"Flow","context":"/flow","version":"1.0.0",
 "policies":["Gold","Silver"],"endpointConfig":{"endpoint_type":"http","production_endpoints":{"url":"http://127.0.0.1:9/"},
 "sandbox_endpoints":{"url":"http://127.0.0.1:9/"}},"operations":[{"target":"/items","verb":"GET"}]}' "$P/apis"
check_eq "create: 201" "201" "$CODE"
API=$(jget "$BODY" id)
cat >"$GH_TMP/oas.yaml" <<'YAML'
openapi: 3.0.1
info:
  title: Flow Import
  version: 2.0.0
paths:
  /items:
    get:
      responses:
        "200":
          description: ok
  /items/{id}:
    get:
      responses:
        "200":
          description: ok
    delete:
      responses:
        "204":
          description: gone
YAML
pcall "$ADM" -F "file=@$GH_TMP/oas.yaml" \
	-F 'additionalProperties={"name":"FlowImport","context":"/flowimport","version":"2.0.0","policies":["Gold"]}' \
	"$P/apis/import-openapi"
check_eq "import OpenAPI (YAML): 201" "201" "$CODE"
check_eq "imported operations" "3" "$(jget "$BODY" operations | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"

pcall "$ADM" -H 'Content-Type: application/json' -d '{"description":"first"}' "$P/apis/$API/revisions"
check_eq "revision: 201" "201" "$CODE"
REV=$(jget "$BODY" id)
pcall "$ADM" -H 'Content-Type: application/json' -d '[{"name":"Internal","vhost":"localhost","displayOnDevportal":true}]' \
	"$P/apis/$API/deploy-revision?revisionId=$REV"
check_eq "deploy to Internal: 201" "201" "$CODE"
pcall "$ADM" -X POST "$P/apis/change-lifecycle?action=Publish&apiId=$API"
check_eq "publish: 200" "200" "$CODE"
check_eq "published" "PUBLISHED" "$(sql "SELECT status FROM gh_apis WHERE id = '$API'")"

# the application side, through the portal
pcall "$DEV" -H 'Content-Type: application/json' -d '{"name":"FlowApp","throttlingPolicy":"Unlimited"}' "$D/applications"
check_eq "application: 201" "201" "$CODE"
APP=$(jget "$BODY" applicationId)
pcall "$DEV" -H 'Content-Type: application/json' -d "{\"apiId\":\"$API\",\"applicationId\":\"$APP\",\"throttlingPolicy\":\"Gold\"}" "$D/subscriptions"
check_eq "subscribe with Gold: 201" "201" "$CODE"
SUB=$(jget "$BODY" subscriptionId)
pcall "$DEV" -H 'Content-Type: application/json' -d '{"keyType":"PRODUCTION","grantTypesToBeSupported":["client_credentials"]}' \
	"$D/applications/$APP/generate-keys"
check_eq "generate keys: 200" "200" "$CODE"
CK=$(jget "$BODY" consumerKey); CS=$(jget "$BODY" consumerSecret)
TOK=$(km_curl -u "$CK:$CS" -d grant_type=client_credentials "$KM_URL/oauth2/token" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("access_token",""))')
check_match "the application's gateway token" '"aud": ?"gatehouse-gateway"' "$(jwt_claims "$TOK")"

pcall "$ADM" -H 'Content-Type: application/json' -d '[{"name":"External","vhost":"localhost","displayOnDevportal":true}]' \
	"$P/apis/$API/deploy-revision?revisionId=$REV"
check_eq "deploy to External too: 201" "201" "$CODE"
MID=$(sql "SELECT max(id) FROM gh_events")
pcall "$ADM" -X POST "$P/subscriptions/block-subscription?subscriptionId=$SUB&blockState=BLOCKED"
check_eq "block the subscription: 200" "200" "$CODE"
pcall "$ADM" -X POST "$P/subscriptions/unblock-subscription?subscriptionId=$SUB"
check_eq "unblock: 200" "200" "$CODE"
for a in Block Re-Publish Deprecate Retire; do
	pcall "$ADM" -X POST "$P/apis/change-lifecycle?action=$a&apiId=$API"
	check_eq "lifecycle $a: 200" "200" "$CODE"
done
check_eq "retired and undeployed" "RETIRED 0" "$(sql "SELECT status FROM gh_apis WHERE id = '$API'") $(sql "SELECT count(*) FROM gh_deployments WHERE api_id = '$API'")"

check_eq "Internal's feed, in order" \
	"api.deployed api.state subscription.created key.created subscription.updated subscription.updated api.state api.state api.state api.state api.undeployed" \
	"$(feed_types Internal "$START")"
check_eq "External's feed, in order" \
	"key.created api.deployed subscription.updated subscription.updated api.state api.state api.state api.state api.undeployed" \
	"$(feed_types External "$START")"
check_eq "Internal, reconnecting after the External deployment: exactly the rest" \
	"subscription.updated subscription.updated api.state api.state api.state api.state api.undeployed" \
	"$(feed_types Internal "$MID")"
check_eq "External, reconnecting after the External deployment: exactly the rest" \
	"subscription.updated subscription.updated api.state api.state api.state api.state api.undeployed" \
	"$(feed_types External "$MID")"
states=$(feed_curl gw-internal "$FEED_URL/internal/data/v1/events?environment=Internal&after=$MID&timeout=200" |
	python3 -c 'import json,sys; print(" ".join(e["payload"].get("lifeCycleStatus", e["payload"].get("status","")) for e in json.load(sys.stdin)["events"]))')
check_eq "the payloads carry the states" "BLOCKED UNBLOCKED BLOCKED PUBLISHED DEPRECATED RETIRED " "$states"

# behind the retention: events before the pruned mark are gone
sql "INSERT INTO gh_settings_kv (name, value) VALUES ('outbox.pruned_through', '$MID')
     ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value" >/dev/null
check_eq "a reader behind the retention: 410" "410" \
	"$(feed_curl gw-internal -o /dev/null -w '%{http_code}' "$FEED_URL/internal/data/v1/events?environment=Internal&after=$START&timeout=100")"
check_eq "a reader at the mark: 200" "200" \
	"$(feed_curl gw-internal -o /dev/null -w '%{http_code}' "$FEED_URL/internal/data/v1/events?environment=Internal&after=$MID&timeout=100")"
check_done
