#!/usr/bin/env bash
# Two clients deploy and undeploy the same API to Internal at once, 20 times each
# (each with its own revision).  Every deploy/undeploy locks the API row first, so
# the outcome is one consistent state: replaying the Internal events in id order
# never undeploys what is not deployed, ends where gh_deployments ends, and there is
# exactly one event per successful request.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/cp.sh"
trap cp_stop EXIT
cp_start p38 || { echo "0 passed, 1 failed"; exit 1; }
P=$PUB_URL/api/am/publisher/v4
TOK=$(admin_token)
pcall "$TOK" -H 'Content-Type: application/json' -d '{"name":"Race","context":"/race","version":"1"}' "$P/apis"
ID=$(jget "$BODY" id)
pcall "$TOK" -X POST "$P/apis/$ID/revisions"; RA=$(jget "$BODY" id)
pcall "$TOK" -X POST "$P/apis/$ID/revisions"; RB=$(jget "$BODY" id)
check_match "two revisions" '^[0-9a-f-]{36} [0-9a-f-]{36}$' "$RA $RB"
base=$(sql "SELECT coalesce(max(id), 0) FROM gh_events")

client() { # revision out-file
	for _ in $(seq 1 20); do
		for op in deploy undeploy; do
			c=$(km_curl -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOK" \
				-H 'Content-Type: application/json' -d '[{"name":"Internal"}]' \
				"$P/apis/$ID/$op-revision?revisionId=$1")
			echo "$op $c" >>"$2"
		done
	done
}
client "$RA" "$GH_TMP/a" &
pa=$!
client "$RB" "$GH_TMP/b" &
pb=$!
wait "$pa" "$pb"
cat "$GH_TMP/a" "$GH_TMP/b" >"$GH_TMP/all"
check_eq "80 answers" 80 "$(wc -l <"$GH_TMP/all")"
check_eq "every deploy succeeded" 40 "$(grep -c '^deploy 201' "$GH_TMP/all")"
check_nomatch "no server error" ' (5[0-9][0-9]|000)$' "$(cat "$GH_TMP/all")"
okd=$(grep -c '^deploy 201' "$GH_TMP/all"); oku=$(grep -c '^undeploy 201' "$GH_TMP/all")
check_match "some undeploys succeeded, the others were refused with 400" '^[1-9]' "$oku $(grep -c '^undeploy 400' "$GH_TMP/all")"
check_eq "undeploys: 201 or 400 only" 40 "$(( oku + $(grep -c '^undeploy 400' "$GH_TMP/all") ))"
check_eq "one api.deployed per successful deploy" "$okd" "$(sql "SELECT count(*) FROM gh_events WHERE id > $base AND type = 'api.deployed'")"
check_eq "one api.undeployed per successful undeploy" "$oku" "$(sql "SELECT count(*) FROM gh_events WHERE id > $base AND type = 'api.undeployed'")"
check_eq "every event is for Internal only" "{Internal}" "$(sql "SELECT DISTINCT environments FROM gh_events WHERE id > $base")"
replay=$(sql "SELECT type || ' ' || coalesce(payload->'api'->>'revisionId', '-') FROM gh_events WHERE id > $base ORDER BY id" | awk '
	$1 == "api.deployed" { state = $2 }
	$1 == "api.undeployed" { if (state == "") bad++; state = "" }
	END { printf "%s %d", (state == "" ? "none" : state), bad }')
table=$(sql "SELECT coalesce((SELECT revision_id FROM gh_deployments WHERE api_id = '$ID' AND environment = 'Internal'), 'none')")
check_eq "the events replay to what gh_deployments holds, never undeploying nothing" "$table 0" "$replay"
last=$(sql "SELECT type FROM gh_events WHERE id > $base ORDER BY id DESC LIMIT 1")
if [ "$table" = none ]; then want=api.undeployed; else want=api.deployed; fi
check_eq "the last event agrees with the table" "$want" "$last"
check_done
