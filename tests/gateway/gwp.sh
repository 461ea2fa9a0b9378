# Helpers of the proxy/throttling/GeoIP tests (tests/gateway/4x-*.t), on top of gw.sh.
#   gwp_api NAME CONTEXT VERSION ENVS ENDPOINT-CONFIG [JSON-MEMBERS]
#       as gw_api, with the endpointConfig given (several endpoints, a dead one ...)
#       (GWP_TIERS: the subscription tiers, default "Gold","Silver","Unlimited")
#   gwp_spool ZONE      the gateway's analytics spool files (node.data_dir/spool-ZONE)
gwp_api() { GW_ENDPOINTS=$5 GW_TIERS=${GWP_TIERS:-} gw_api "$1" "$2" "$3" "$4" "${6:-}"; }

gwp_spool() {
	local dir
	dir=$(sed -n 's/^data_dir *= *//p' "$KM_CONF" | head -1)
	ls "$dir/spool-$1"/spool-*.jsonl 2>/dev/null
}
