# Helpers of the cluster-throttling tests (tests/trafficmanager/1x-*.t), on top of tm.sh.
#   tms_setup NAME      gw_setup NAME, tm_start, a subscription policy Sixty6s (60 requests per
#                       6 s, stop on quota: stands for 600/min) through the admin API, an API
#                       /tms/1.0 offering it on External, an application subscribed with it
#                       (TOKEN); sets TMS_POLICY_ID
#   tms_gw_start I      start gw-external number I (own spool_dir and snapshot_file); sets
#                       G_URL[I], G_MGMT[I], G_PID[I], G_CONF[I]; waits until it serves the API
#   tms_gw_restart I    SIGTERM it and start it again with the same configuration and ports
#   tms_load OUT SECONDS W0 W1 W2   20 requests/s at fixed times spread by weight (tmsync.py)
#   tms_windows OUT     accepted per 6-s window of the traffic manager's alignment, full windows
#                       ("start_ms total n0 n1 n2")
#   tms_metric I NAME   a gateway's metric value
. "$GH_ROOT/tests/lib/tm.sh"
TMS_PY=$GH_ROOT/tests/trafficmanager/tmsync.py
TMS_LIMIT=60 TMS_WINDOW=6000
declare -a G_URL G_MGMT G_PID G_CONF

tms_setup() {
	local A J api
	gw_setup "$1" || return 1
	tm_start || return 1
	A=$PUB_URL/api/am/admin/v4 J='Content-Type: application/json'
	pcall "$ADM" -X POST -H "$J" -d '{"policyName":"Sixty6s","defaultLimit":{"type":"REQUESTCOUNTLIMIT","requestCount":{"timeUnit":"sec","unitTime":6,"requestCount":60}},"stopOnQuotaReach":true}' "$A/throttling/policies/subscription"
	[ "$CODE" = 201 ] || { echo "tms_setup: policy $CODE $BODY" >&2; return 1; }
	TMS_POLICY_ID=$(jget "$BODY" policyId)
	api=$(GW_TIERS='"Sixty6s","Unlimited"' gw_api Tms /tms 1.0 External) || return 1
	gw_app TmsApp "$api" Sixty6s || return 1
	export TMS_POLICY_ID
}

tms_gw_start() {
	local i=$1; shift
	gw_start gw-external "spool_dir = $GH_TMP/spool$i" "snapshot_file = $GH_TMP/snap$i.json" "$@" || return 1
	G_URL[$i]=$GWE_URL G_MGMT[$i]=$GWE_MGMT G_PID[$i]=$GWE_PID
	G_CONF[$i]=$GH_TMP/gw$i.conf
	cp "$GWE_CONF" "${G_CONF[$i]}"
	[ "$(gw_wait_code 200 10000 -H "Authorization: Bearer $TOKEN" "${G_URL[$i]}/tms/1.0/warm")" = 200 ] ||
		{ echo "gateway $i does not serve the API" >&2; return 1; }
}

tms_gw_restart() {
	local i=$1 pid
	km_kill "${G_PID[$i]}"
	"$GH_BIN/gatehouse-gw-external" --config "${G_CONF[$i]}" >>"$GH_TMP/gw$i-restart.log" 2>&1 &
	pid=$!
	GH_GW_PIDS="$GH_GW_PIDS $pid"
	G_PID[$i]=$pid
	_km_wait "${G_MGMT[$i]}" "$pid" || { echo "gateway $i did not restart" >&2; return 1; }
}

tms_load() {
	local out=$1 secs=$2
	python3 "$TMS_PY" load "$out" 20 "$secs" "$TOKEN" /tms/1.0/load "$KM_CA" \
		"${G_URL[0]}:$3" "${G_URL[1]}:$4" "${G_URL[2]}:$5"
}

tms_windows() { python3 "$TMS_PY" windows "$1" "$TMS_WINDOW"; }

tms_metric() { curl -s "${G_MGMT[$1]}/metrics" | sed -n "s/^$2 //p"; }

# tms_check_windows LABEL OUT FROM_MS TO_MS: every full window inside [FROM, TO) (monotonic ms;
# 0 0 for all) accepted the limit ±5% or ±3, whichever is larger; at least one such window.
tms_check_windows() {
	local label=$1 out=$2 from=$3 to=$4 n=0 bad="" tol=$(( TMS_LIMIT * 5 / 100 ))
	[ "$tol" -lt 3 ] && tol=3
	while read -r start total rest; do
		[ "$from" -gt 0 ] && [ "$start" -lt "$from" ] && continue
		[ "$to" -gt 0 ] && [ $((start + TMS_WINDOW)) -gt "$to" ] && continue
		n=$((n + 1))
		d=$((total - TMS_LIMIT)); [ "$d" -lt 0 ] && d=$((-d))
		[ "$d" -gt "$tol" ] && bad="$bad [$start: $total ($rest)]"
	done < <(tms_windows "$out")
	if [ "$n" -ge 1 ] && [ -z "$bad" ]; then _ok; else
		_ko "$label" "$n windows, off by more than $tol:$bad; all: $(tms_windows "$out" | tr '\n' ';')"; fi
}

tms_now_ms() { python3 -c 'import time; print(int(time.monotonic()*1000))'; }
