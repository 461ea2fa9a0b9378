# Helpers of the proxy/throttling/GeoIP tests (tests/gateway/4x-*.t), on top of gw.sh.
#   gwp_api NAME CONTEXT VERSION ENVS ENDPOINT-CONFIG [JSON-MEMBERS]
#       as gw_api, with the endpointConfig given (several endpoints, a dead one ...)
#       (GWP_TIERS: the subscription tiers, default "Gold","Silver","Unlimited")
#   gwp_spool ZONE      the gateway's analytics spool files (node.data_dir/spool-ZONE)
gwp_api() {
	local name=$1 ctx=$2 ver=$3 envs=$4 ec=$5 extra=${6:-} P=$PUB_URL/api/am/publisher/v4 id rev dep=""
	[ -n "$extra" ] && extra=",$extra"
	pcall "$ADM" -H 'Content-Type: application/json' -d "{\"name\":\"$name\",\"context\":\"$ctx\",
		\"version\":\"$ver\",\"policies\":[${GWP_TIERS:-\"Gold\",\"Silver\",\"Unlimited\"}],\"endpointConfig\":$ec,
		\"operations\":[{\"target\":\"/*\",\"verb\":\"GET\"},{\"target\":\"/*\",\"verb\":\"POST\"},
		{\"target\":\"/*\",\"verb\":\"PUT\"},{\"target\":\"/*\",\"verb\":\"DELETE\"},
		{\"target\":\"/*\",\"verb\":\"PATCH\"}]$extra}" "$P/apis"
	[ "$CODE" = 201 ] || { echo "gwp_api: create $CODE $BODY" >&2; return 1; }
	id=$(jget "$BODY" id)
	pcall "$ADM" -H 'Content-Type: application/json' -d '{"description":"gw test"}' "$P/apis/$id/revisions"
	[ "$CODE" = 201 ] || { echo "gwp_api: revision $CODE $BODY" >&2; return 1; }
	rev=$(jget "$BODY" id)
	for e in $envs; do dep="$dep${dep:+,}{\"name\":\"$e\",\"vhost\":\"localhost\",\"displayOnDevportal\":true}"; done
	pcall "$ADM" -H 'Content-Type: application/json' -d "[$dep]" "$P/apis/$id/deploy-revision?revisionId=$rev"
	[ "$CODE" = 201 ] || { echo "gwp_api: deploy $CODE $BODY" >&2; return 1; }
	pcall "$ADM" -X POST "$P/apis/change-lifecycle?action=Publish&apiId=$id"
	[ "$CODE" = 200 ] || { echo "gwp_api: publish $CODE $BODY" >&2; return 1; }
	printf '%s\n' "$id"
}

gwp_spool() {
	local dir
	dir=$(sed -n 's/^data_dir *= *//p' "$KM_CONF" | head -1)
	ls "$dir/spool-$1"/spool-*.jsonl 2>/dev/null
}
