# Traffic-manager test harness (sourced by tests/trafficmanager/*.t and the traffic-manager
# benchmark), on top of gw.sh (key manager + publisher + portal + gateways + backends).
#   tm_start [extra config lines]   start gatehouse-trafficmanager on free ports of the
#                          node of cp_start (call it after gw_setup, before gw_start: it
#                          adds cluster.trafficmanager_url to the node's configuration,
#                          which the gateways started after it copy).  Exports TM_URL
#                          (https, mutual TLS), TM_MGMT, TM_PID, TM_LOG, TM_CONF;
#                          waits for /health.
#   tm_stop                SIGTERM (non-zero when it had to be killed)
#   tm_kill                SIGKILL
#   tm_restart             start it again on the same ports and configuration
#   tm_curl ROLE curl-args curl to the traffic manager with the certificate of ROLE
#                          (gw-internal, gw-external, publisher, ...)
#   tm_sql SQL             run SQL in the node's database (prints rows, '|'-separated)
. "$GH_ROOT/tests/lib/gw.sh"

tm_start() {
	local port mport
	port=$(_km_port); mport=$(_km_port)
	TM_CONF=$GH_TMP/trafficmanager.conf
	{
		printf '[cluster]\ntrafficmanager_url = https://localhost:%s\n' "$port"
	} >>"$KM_CONF"
	cp "$KM_CONF" "$TM_CONF"
	{
		printf '[trafficmanager]\nlisten = 127.0.0.1\nport = %s\nmgmt_port = %s\n' "$port" "$mport"
		for line in "$@"; do printf '%s\n' "$line"; done
	} >>"$TM_CONF"
	TM_URL=https://localhost:$port TM_MGMT=http://127.0.0.1:$mport TM_LOG=$GH_TMP/trafficmanager.log
	export TM_URL TM_MGMT TM_LOG TM_CONF
	tm_restart
}

tm_restart() {
	"$GH_BIN/gatehouse-trafficmanager" --config "$TM_CONF" >>"$TM_LOG" 2>&1 &
	TM_PID=$!
	export TM_PID
	GH_GW_PIDS="$GH_GW_PIDS $TM_PID"
	_km_wait "$TM_MGMT" "$TM_PID" || { echo "trafficmanager did not start:"; tail -20 "$TM_LOG"; return 1; }
}

tm_stop() { km_kill "$TM_PID"; }

tm_kill() { kill -9 "$TM_PID" 2>/dev/null; wait "$TM_PID" 2>/dev/null; return 0; }

tm_curl() { local r=$1; shift; curl -s --cacert "$KM_CA" --cert "$KM_PKI/$r.crt" --key "$KM_PKI/$r.key" "$@"; }

tm_sql() { sql "$@"; }
