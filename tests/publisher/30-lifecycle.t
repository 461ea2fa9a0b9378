#!/usr/bin/env bash
# WSO2's default lifecycle: every transition, an illegal one (409 naming the allowed
# actions), history, state; api.state events for the environments where the API is
# deployed; RETIRED undeploys everywhere; publishing a default version takes the
# default from the other versions.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/cp.sh"
trap cp_stop EXIT
cp_start p30 || { echo "0 passed, 1 failed"; exit 1; }
P=$PUB_URL/api/am/publisher/v4
TOK=$(admin_token)
lc() { pcall "$TOK" -X POST -G --data-urlencode "action=$1" --data-urlencode "apiId=$2" "$P/apis/change-lifecycle"; }

jpost "$TOK" "$P/apis" '{"name":"Life","context":"/life","version":"1"}'
ID=$(jget "$BODY" id)
pcall "$TOK" "$P/apis/$ID/lifecycle-state"
check_eq "CREATED state with its actions" "Created Publish,Deploy as a Prototype" \
	"$(jget "$BODY" state) $(printf '%s' "$BODY" | python3 -c 'import json,sys; print(",".join(t["event"] for t in json.load(sys.stdin)["availableTransitions"]))')"

step() { # action expected-state
	lc "$1" "$ID"
	check_eq "$1 → $2" "200 APPROVED $2" "$CODE $(jget "$BODY" workflowStatus) $(jget "$BODY" lifecycleState.state)"
}
step "Deploy as a Prototype" Prototyped
step "Demote to Created" Created
step "Publish" Published
check_eq "available after Published" "Block,Deprecate,Demote to Created,Deploy as a Prototype" \
	"$(printf '%s' "$BODY" | python3 -c 'import json,sys; print(",".join(t["event"] for t in json.load(sys.stdin)["lifecycleState"]["availableTransitions"]))')"
step "Deploy as a Prototype" Prototyped
step "Publish" Published
step "Demote to Created" Created
lc "Retire" "$ID"
check_eq "an illegal transition: 409" 409 "$CODE"
check_match "naming the allowed actions" "allowed actions: Publish, Deploy as a Prototype" "$(jget "$BODY" description)"
check_eq "state unchanged" CREATED "$(sql "SELECT status FROM gh_apis WHERE id = '$ID'")"
lc "Explode" "$ID"
check_eq "an unknown action: 409" 409 "$CODE"
step "publish" Published   # case-insensitive, as the WSO2 UI sends mixed case

# Deploy to Internal, then state changes reach Internal only.
pcall "$TOK" -X POST -H 'Content-Type: application/json' -d '{"description":"r1"}' "$P/apis/$ID/revisions"
REV=$(jget "$BODY" id)
pcall "$TOK" -X POST -H 'Content-Type: application/json' -d '[{"name":"Internal"}]' "$P/apis/$ID/deploy-revision?revisionId=$REV"
check_eq "deployed to Internal" 201 "$CODE"
base=$(sql "SELECT coalesce(max(id), 0) FROM gh_events")
step "Block" Blocked
step "Re-Publish" Published
step "Block" Blocked
step "Deprecate" Deprecated
check_eq "api.state events to Internal only" "api.state|{Internal}|BLOCKED
api.state|{Internal}|PUBLISHED
api.state|{Internal}|BLOCKED
api.state|{Internal}|DEPRECATED" "$(sql "SELECT type, environments, payload->>'lifeCycleStatus' FROM gh_events WHERE id > $base ORDER BY id")"
check_eq "payload shape" "{\"apiId\": \"$ID\", \"tenant\": \"carbon.super\", \"lifeCycleStatus\": \"DEPRECATED\", \"isDefaultVersion\": false}" \
	"$(sql "SELECT payload FROM gh_events ORDER BY id DESC LIMIT 1")"
base=$(sql "SELECT max(id) FROM gh_events")
step "Retire" Retired
check_eq "retire: state then undeployed" "api.state|{Internal}|RETIRED
api.undeployed|{Internal}|" "$(sql "SELECT type, environments, payload->>'lifeCycleStatus' FROM gh_events WHERE id > $base ORDER BY id")"
check_eq "no deployment left" 0 "$(sql "SELECT count(*) FROM gh_deployments WHERE api_id = '$ID'")"
pcall "$TOK" "$P/apis/$ID/lifecycle-state"
check_eq "RETIRED is final" "Retired []" "$(jget "$BODY" state) $(jget "$BODY" availableTransitions)"
lc "Publish" "$ID"
check_eq "nothing leaves RETIRED" 409 "$CODE"
check_match "none allowed" "allowed actions: none" "$(jget "$BODY" description)"
pcall "$TOK" -X POST -H 'Content-Type: application/json' -d '[{"name":"Internal"}]' "$P/apis/$ID/deploy-revision?revisionId=$REV"
check_eq "a retired API cannot be deployed: 409" 409 "$CODE"

pcall "$TOK" "$P/apis/$ID/lifecycle-history"
check_eq "history: every change" 12 "$(jget "$BODY" count)"
check_eq "first entry" "CREATED PROTOTYPED admin" "$(jget "$BODY" list.0.previousState) $(jget "$BODY" list.0.postState) $(jget "$BODY" list.0.user)"
check_eq "last entry" "DEPRECATED RETIRED" "$(jget "$BODY" list.11.previousState) $(jget "$BODY" list.11.postState)"
check_match "with a time" '^20[0-9-]+T' "$(jget "$BODY" list.0.updatedTime)"
check_eq "audited" 12 "$(sql "SELECT count(*) FROM gh_audit WHERE action = 'api.lifecycle'")"

# Parameters.
pcall "$TOK" -X POST "$P/apis/change-lifecycle?action=Publish"
check_eq "apiId missing: 400" 400 "$CODE"
lc "Publish" "00000000-0000-4000-8000-000000000000"
check_eq "unknown API: 404" 404 "$CODE"

# Default version.
jpost "$TOK" "$P/apis" '{"name":"Dv","context":"/dv","version":"1","isDefaultVersion":true}'
V1=$(jget "$BODY" id)
jpost "$TOK" "$P/apis" '{"name":"Dv","context":"/dv","version":"2","isDefaultVersion":true}'
V2=$(jget "$BODY" id)
check_eq "two versions share the context" "201 /dv" "$CODE $(jget "$BODY" context)"
dbase=$(sql "SELECT coalesce(max(id), 0) FROM gh_events")
lc "Publish" "$V2"
check_eq "publishing v2 as default takes it from v1" "f t" \
	"$(sql "SELECT is_default_version FROM gh_apis WHERE id = '$V1'") $(sql "SELECT is_default_version FROM gh_apis WHERE id = '$V2'")"
check_eq "v1 losing the default is announced before v2's state" "$V1 false|$V2 true" \
	"$(sql "SELECT string_agg((payload->>'apiId') || ' ' || (payload->>'isDefaultVersion'), '|' ORDER BY id) FROM gh_events WHERE id > $dbase AND type = 'api.state'")"
check_done
