#!/usr/bin/env bash
# Revisions (immutable copies, at most 5: the 6th answers 400 as WSO2), deploy to
# Internal only, then External too, redeploy another revision, undeploy; the events in
# gh_events after each step (type, environments, payload); deleting a deployed
# revision is refused; unknown environment or vhost answers 400.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/cp.sh"
trap cp_stop EXIT
cp_start p35 || { echo "0 passed, 1 failed"; exit 1; }
P=$PUB_URL/api/am/publisher/v4
TOK=$(admin_token)
ev() { sql "SELECT type, environments FROM gh_events WHERE id > $1 ORDER BY id"; }
last() { sql "SELECT coalesce(max(id), 0) FROM gh_events"; }

jpost "$TOK" "$P/apis" '{"name":"Rev","context":"/rev","version":"1","description":"first",
 "endpointConfig":{"endpoint_type":"http","production_endpoints":"http://b1.example"},"backendJwt":true,
 "geoRestriction":{"mode":"allow","countries":["DE"]},"maxRequestBodyBytes":1000}'
ID=$(jget "$BODY" id)
jpost "$TOK" "$P/apis/$ID/revisions" '{"description":"one"}'
check_eq "revision 1 answers 201" "201 Revision 1 one" "$CODE $(jget "$BODY" displayName) $(jget "$BODY" description)"
check_eq "revision shape" "$ID []" "$(jget "$BODY" apiInfo.id) $(jget "$BODY" deploymentInfo)"
R1=$(jget "$BODY" id)
pcall "$TOK" -X PUT -H 'Content-Type: application/json' -d '{"description":"second"}' "$P/apis/$ID"
check_eq "the revision is a frozen copy" "first" "$(sql "SELECT definition->>'description' FROM gh_api_revisions WHERE id = '$R1'")"
pcall "$TOK" -X POST "$P/apis/$ID/revisions"
R2=$(jget "$BODY" id)
check_eq "revision 2 without a body" "201 Revision 2" "$CODE $(jget "$BODY" displayName)"
for i in 3 4 5; do pcall "$TOK" -X POST -H 'Content-Type: application/json' -d '{}' "$P/apis/$ID/revisions"; done
check_eq "revision 5" "201 Revision 5" "$CODE $(jget "$BODY" displayName)"
R5=$(jget "$BODY" id)
pcall "$TOK" -X POST -H 'Content-Type: application/json' -d '{}' "$P/apis/$ID/revisions"
check_eq "the 6th answers 400" 400 "$CODE"
check_match "as WSO2 says" "Maximum number of revisions per API reached" "$(jget "$BODY" description)"
check_eq "five rows" 5 "$(sql "SELECT count(*) FROM gh_api_revisions WHERE api_id = '$ID'")"
pcall "$TOK" "$P/apis/$ID/revisions"
check_eq "list of 5" 5 "$(jget "$BODY" count)"
pcall "$TOK" "$P/apis/$ID/revisions/$R2"
check_eq "GET one revision" "200 Revision 2" "$CODE $(jget "$BODY" displayName)"
pcall "$TOK" "$P/apis/$ID/revisions/00000000-0000-4000-8000-000000000000"
check_eq "unknown revision: 404" 404 "$CODE"

# Deploy to Internal only.
b=$(last)
jpost "$TOK" "$P/apis/$ID/deploy-revision?revisionId=$R1" '[{"name":"Internal","displayOnDevportal":true}]'
check_eq "deploy to Internal answers 201" 201 "$CODE"
check_eq "the deployment, with the default vhost" "Internal $R1 localhost true" \
	"$(jget "$BODY" 0.name) $(jget "$BODY" 0.revisionUuid) $(jget "$BODY" 0.vhost) $(jget "$BODY" 0.displayOnDevportal)"
check_eq "one api.deployed for Internal" "api.deployed|{Internal}" "$(ev "$b")"
pl=$(sql "SELECT payload FROM gh_events WHERE id > $b")
check_eq "payload: environment and RuntimeApi" "Internal $ID $R1 Internal localhost" \
	"$(jget "$pl" environment) $(jget "$pl" api.id) $(jget "$pl" api.revisionId) $(jget "$pl" api.environment) $(jget "$pl" api.vhost)"
check_eq "RuntimeApi from the frozen revision" "first http://b1.example true 1000 allow" \
	"$(sql "SELECT payload->'api'->'endpointConfig'->'production_endpoints'->>'url' FROM gh_events WHERE id > $b" | sed 's/^/first /') $(jget "$pl" api.backendJwt) $(jget "$pl" api.maxRequestBodyBytes) $(jget "$pl" api.geoRestriction.mode)"
check_eq "with subscriptions and applications" "[] []" "$(jget "$pl" subscriptions) $(jget "$pl" applications)"
pcall "$TOK" "$P/apis/$ID/deployments"
check_eq "GET deployments" "200 Internal Revision 1" "$CODE $(jget "$BODY" 0.name) $(jget "$BODY" 0.displayName)"
pcall "$TOK" "$P/apis/$ID/revisions?query=deployed:true"
check_eq "deployed:true lists revision 1" "1 $R1 Internal" "$(jget "$BODY" count) $(jget "$BODY" list.0.id) $(jget "$BODY" list.0.deploymentInfo.0.name)"
pcall "$TOK" "$P/apis/$ID/revisions?query=deployed:false"
check_eq "deployed:false lists the other 4" 4 "$(jget "$BODY" count)"

# External too.
b=$(last)
jpost "$TOK" "$P/apis/$ID/deploy-revision?revisionId=$R1" '[{"name":"External","vhost":"localhost","displayOnDevportal":false}]'
check_eq "deploy to External too" 201 "$CODE"
check_eq "api.deployed for External only" "api.deployed|{External}" "$(ev "$b")"
check_eq "two deployments" "External|$R1|f
Internal|$R1|t" "$(sql "SELECT environment, revision_id, display_on_devportal FROM gh_deployments WHERE api_id = '$ID' ORDER BY environment")"

# Lifecycle now reaches both.
b=$(last)
pcall "$TOK" -X POST "$P/apis/change-lifecycle?action=Publish&apiId=$ID"
check_eq "api.state for both environments" "api.state|{External,Internal}" "$(ev "$b")"

# Another revision replaces the one deployed on Internal.
b=$(last)
jpost "$TOK" "$P/apis/$ID/deploy-revision?revisionId=$R2" '[{"name":"Internal"}]'
check_eq "redeploy revision 2 to Internal" "201 api.deployed|{Internal}" "$CODE $(ev "$b")"
check_eq "it replaced revision 1 there" "External|$R1
Internal|$R2" "$(sql "SELECT environment, revision_id FROM gh_deployments WHERE api_id = '$ID' ORDER BY environment")"
check_eq "the event carries the new definition" second "$(sql "SELECT payload->'api'->>'revisionId' = '$R2' FROM gh_events WHERE id > $b" | sed 's/^t$/second/')"

# Refusals, nothing written.
b=$(last)
jpost "$TOK" "$P/apis/$ID/deploy-revision?revisionId=$R1" '[{"name":"Nowhere"}]'
check_eq "unknown environment: 400" 400 "$CODE"
jpost "$TOK" "$P/apis/$ID/deploy-revision?revisionId=$R1" '[{"name":"Internal","vhost":"evil.example"}]'
check_eq "a vhost not of the environment: 400" 400 "$CODE"
jpost "$TOK" "$P/apis/$ID/deploy-revision?revisionId=$R1" '[{"name":"Internal"},{"name":"Internal"}]'
check_eq "an environment twice: 400" 400 "$CODE"
jpost "$TOK" "$P/apis/$ID/deploy-revision?revisionId=$R1" '[]'
check_eq "an empty list: 400" 400 "$CODE"
jpost "$TOK" "$P/apis/$ID/deploy-revision?revisionId=$R1" '{"name":"Internal"}'
check_eq "an object instead of a list: 400" 400 "$CODE"
jpost "$TOK" "$P/apis/$ID/deploy-revision" '[{"name":"Internal"}]'
check_eq "revisionId missing: 400" 400 "$CODE"
jpost "$TOK" "$P/apis/$ID/deploy-revision?revisionId=00000000-0000-4000-8000-000000000000" '[{"name":"Internal"}]'
check_eq "unknown revision: 404" 404 "$CODE"
jpost "$TOK" "$P/apis/$ID/deploy-revision?revisionId=$R1" '[{"name":"External"},{"name":"Nowhere"}]'
check_eq "one bad environment refuses the whole list" 400 "$CODE"
check_eq "no event and no change from the refusals" "0 External|$R1 Internal|$R2" \
	"$(sql "SELECT count(*) FROM gh_events WHERE id > $b") $(sql "SELECT environment || '|' || revision_id FROM gh_deployments WHERE api_id = '$ID' ORDER BY environment" | tr '\n' ' ' | sed 's/ $//')"
pcall "$TOK" -X DELETE "$P/apis/$ID/revisions/$R2"
check_eq "deleting a deployed revision: 409" 409 "$CODE"
pcall "$TOK" -X DELETE "$P/apis/$ID/revisions/$R5"
check_eq "deleting an undeployed one" 200 "$CODE"
pcall "$TOK" -X POST -H 'Content-Type: application/json' -d '{}' "$P/apis/$ID/revisions"
check_eq "then a new one may be made" 201 "$CODE"

# Undeploy.
b=$(last)
jpost "$TOK" "$P/apis/$ID/undeploy-revision?revisionId=$R1" '[{"name":"Internal"}]'
check_eq "undeploying a revision not deployed there: 400" 400 "$CODE"
jpost "$TOK" "$P/apis/$ID/undeploy-revision?revisionId=$R1" '[{"name":"External"}]'
check_eq "undeploy from External answers 201" 201 "$CODE"
check_eq "api.undeployed for External" "api.undeployed|{External}" "$(ev "$b")"
check_eq "payload" "External $ID carbon.super" \
	"$(sql "SELECT payload->>'environment', payload->>'apiId', payload->>'tenant' FROM gh_events ORDER BY id DESC LIMIT 1" | tr '|' ' ')"
check_eq "Internal stays" "Internal" "$(sql "SELECT environment FROM gh_deployments WHERE api_id = '$ID'")"
b=$(last)
pcall "$TOK" -X POST "$P/apis/$ID/undeploy-revision?revisionId=$R2&allEnvironments=true"
check_eq "undeploy everywhere" "201 api.undeployed|{Internal}" "$CODE $(ev "$b")"
check_eq "audited deploys and undeploys" "api.deploy|3
api.undeploy|2" "$(sql "SELECT action, count(*) FROM gh_audit WHERE action IN ('api.deploy', 'api.undeploy') GROUP BY action ORDER BY action")"

# Deleting a deployed API undeploys it.
jpost "$TOK" "$P/apis/$ID/deploy-revision?revisionId=$R1" '[{"name":"Internal"},{"name":"External"}]'
b=$(last)
pcall "$TOK" -X DELETE "$P/apis/$ID"
check_eq "delete answers 200" 200 "$CODE"
check_eq "api.undeployed per environment" "api.undeployed|{External}
api.undeployed|{Internal}" "$(ev "$b" | sort)"
check_eq "nothing of the API left" "0 0 0" "$(sql "SELECT count(*) FROM gh_api_revisions") $(sql "SELECT count(*) FROM gh_deployments") $(sql "SELECT count(*) FROM gh_apis")"
check_done
