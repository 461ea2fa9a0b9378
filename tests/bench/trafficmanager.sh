#!/usr/bin/env bash
# Traffic-manager benchmark (tests/bench/run trafficmanager; make bench-trafficmanager).
# (1) tm_cpu_pct: the traffic manager (release build, on CPU 0) serving build/bench/bench_tmsync
#     (on CPU 1): 8 simulated gateway processes x 10,000 active keys, every key counted on
#     every gateway at each 100 ms sync, for 10 s; the traffic manager's utime+stime from
#     /proc/PID/stat as a percentage of one core over that time.
# (2) tm_overhead_pct: gw-internal's plain-HTTP throughput (one worker on CPU 0, RS256 JWT,
#     subscription check, a subscription policy with a limit never reached so every request
#     is counted, analytics on; the same wrk load as tests/bench/gateway.sh's (d) on CPU 1)
#     with the traffic manager on (cluster counting, 100 ms syncs) against an identical gateway
#     with cluster.trafficmanager_url = none (counting alone), alternating runs, medians:
#     100 x (1 - on/off).
set -u
cd "$(dirname "$0")/../.." || exit 2
export GH_ROOT=$PWD
export GH_BIN=${GH_BIN:-$GH_ROOT/build/bin}
export GH_BENCHBIN=${GH_BENCHBIN:-$GH_ROOT/build/bench}
RUNS=${GH_BENCH_RUNS:-3}
SECS=${GH_BENCH_GW_SECONDS:-4}
CONNS=${GH_BENCH_GW_CONNS:-32}
SIM_GW=${GH_BENCH_TM_GATEWAYS:-8}
SIM_KEYS=${GH_BENCH_TM_KEYS:-10000}
SIM_SECS=${GH_BENCH_TM_SECONDS:-10}
SERVER_CPU=0
CLIENT_CPU=1

TMP=$(mktemp -d /tmp/gh-bench-tm.XXXXXX) || exit 1
chmod 755 "$TMP"
export GH_TMP=$TMP/tm GH_RUN_DIR=$TMP
mkdir -p "$GH_TMP"

fail() {
	echo "error: $*" >&2
	exit 1
}

for tool in wrk nginx taskset curl psql ldapadd; do
	command -v "$tool" >/dev/null || fail "$tool is not installed (make deps)"
done
for prog in gatehouse gatehouse-keymanager gatehouse-publisher gatehouse-portal gatehouse-gw-internal \
	gatehouse-trafficmanager; do
	[ -x "$GH_BIN/$prog" ] || fail "$GH_BIN/$prog is missing: run 'make all' (make bench-trafficmanager does)"
done
[ -x "$GH_BENCHBIN/bench_tmsync" ] || fail "$GH_BENCHBIN/bench_tmsync is missing: run 'make benches'"
taskset -c "$CLIENT_CPU" true 2>/dev/null || fail "CPU $CLIENT_CPU is not available: this benchmark needs 2 CPUs"
TICKS=$(getconf CLK_TCK) || fail "getconf CLK_TCK failed"
taskset -p -c "$CLIENT_CPU" $$ >/dev/null || fail "cannot pin the script to CPU $CLIENT_CPU"

. appliance/embedded/pg.sh
. appliance/embedded/slapd.sh
. tests/lib/tm.sh
. tests/bench/lib.sh

PIDS=""
cleanup() {
	local p
	for p in $PIDS; do km_kill "$p" >/dev/null 2>&1; done
	[ -n "${TM_PID:-}" ] && km_kill "$TM_PID" >/dev/null 2>&1
	cp_stop >/dev/null 2>&1
	gh_slapd_stop "$TMP/slapd" >/dev/null 2>&1
	gh_pg_stop "$TMP/pg" >/dev/null 2>&1
	[ -n "${GH_KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for try in 1 2 3; do gh_pg_start "$TMP/pg" && break; [ $try = 3 ] && fail "PostgreSQL did not start"; done
for try in 1 2 3; do gh_slapd_start "$TMP/slapd" && break; [ $try = 3 ] && fail "slapd did not start"; gh_slapd_stop "$TMP/slapd"; done
cp_start tmbench "[keys]" "token_alg = RS256" >"$TMP/cp-start.log" 2>&1 ||
	{ cat "$TMP/cp-start.log" >&2; fail "the control plane did not start (cp_start)"; }
# the node file of the "off" gateway: no traffic manager
cp "$KM_CONF" "$TMP/node-off.conf"
printf '[cluster]\ntrafficmanager_url = none\n' >>"$TMP/node-off.conf"
tm_start >"$TMP/tm-start.log" 2>&1 || { cat "$TMP/tm-start.log" >&2; fail "the traffic manager did not start"; }
pin_tree "$SERVER_CPU" "$TM_PID" || fail "cannot pin the traffic manager"

# --- (1) tm_cpu_pct ----------------------------------------------------------------

t0=$(cpu_ticks "$TM_PID") || fail "the traffic manager is gone"
w0=$(date +%s%N)
taskset -c "$CLIENT_CPU" "$GH_BENCHBIN/bench_tmsync" -u "$TM_URL/internal/throttle/v1/sync" -a "$KM_CA" \
	-c "$KM_PKI/gw-external.crt" -k "$KM_PKI/gw-external.key" -g "$SIM_GW" -n "$SIM_KEYS" -i 100 \
	-d "$SIM_SECS" >"$TMP/bench_tmsync.out" 2>&1 || { cat "$TMP/bench_tmsync.out" >&2; fail "bench_tmsync failed"; }
w1=$(date +%s%N)
t1=$(cpu_ticks "$TM_PID") || fail "the traffic manager died during the run"
echo "# $(cat "$TMP/bench_tmsync.out")"
SYNCS=$(sed -n 's/.* syncs=\([0-9]*\) .*/\1/p' "$TMP/bench_tmsync.out")
WANT=$(( SIM_GW * SIM_SECS * 10 ))
[ "${SYNCS:-0}" -ge $(( WANT * 8 / 10 )) ] || fail "bench_tmsync made $SYNCS syncs of $WANT (the traffic manager did not keep up)"
TM_CPU=$(awk -v t=$(( t1 - t0 )) -v hz="$TICKS" -v ns=$(( w1 - w0 )) 'BEGIN {printf "%.1f", 100 * t / hz / (ns / 1e9)}')
echo "# traffic manager: $(curl -s "$TM_MGMT/metrics" | grep -E '^gatehouse_tm_(keys|gateways|syncs_total) ' | tr '\n' ' ')"
printf 'bench: tm_cpu_pct %s %%\n' "$TM_CPU"
echo "ratio: tm_cpu_pct $TM_CPU target<=50"

# --- (2) tm_overhead_pct -------------------------------------------------------------

A=$PUB_URL/api/am/admin/v4 J='Content-Type: application/json'
ADM=$(admin_token)
BE_PORT=$(gh_free_port)
command -v nginx >/dev/null || fail "nginx is not installed (make deps)"
mkdir -p "$TMP/nginx"
cat >"$TMP/nginx.conf" <<CONF
daemon off; master_process off; worker_processes 1; pid $TMP/nginx.pid; error_log $TMP/nginx.err warn;
events { worker_connections 8192; }
http { access_log off; client_body_temp_path $TMP/nginx/b; proxy_temp_path $TMP/nginx/p;
	fastcgi_temp_path $TMP/nginx/f; uwsgi_temp_path $TMP/nginx/u; scgi_temp_path $TMP/nginx/s;
	server { listen 127.0.0.1:$BE_PORT; keepalive_requests 1000000; default_type application/json;
		location / { return 200 '{"ok":true}'; } } }
CONF
# the backend shares CPU 1 with wrk: CPU 0 is the gateway's alone
taskset -c "$CLIENT_CPU" nginx -c "$TMP/nginx.conf" -p "$TMP" >"$TMP/nginx.out" 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 1 100); do curl -s "http://127.0.0.1:$BE_PORT/" >/dev/null && break; sleep 0.05; done
export BE_PROD_URL=http://127.0.0.1:$BE_PORT BE_SAND_URL=http://127.0.0.1:$BE_PORT ADM
pcall "$ADM" -X POST -H "$J" -d '{"policyName":"Huge","defaultLimit":{"type":"REQUESTCOUNTLIMIT","requestCount":{"timeUnit":"min","unitTime":1,"requestCount":2000000000}},"stopOnQuotaReach":true}' "$A/throttling/policies/subscription"
[ "$CODE" = 201 ] || fail "subscription policy: $CODE $BODY"
API_ID=$(GW_TIERS='"Huge","Unlimited"' gw_api Bench /bench 1.0 Internal) || fail "gw_api failed"
gw_app BenchApp "$API_ID" Huge >"$TMP/app.log" 2>&1 || { cat "$TMP/app.log" >&2; fail "gw_app failed"; }
: >"$TMP/tokens"
for _ in $(seq 1 20); do gw_token "$CK" "$CS" >>"$TMP/tokens"; done
cat >"$TMP/tokens.lua" <<'LUA'
local toks, n, i = {}, 0, 0
function init(args)
	for line in io.lines(args[1]) do n = n + 1; toks[n] = "Bearer " .. line end
	math.randomseed(os.time()); i = math.random(n) - 1
end
function request()
	i = i % n + 1
	return wrk.format(nil, nil, {["Authorization"] = toks[i]})
end
LUA

# gw_bench NAME NODE-FILE: gw-internal, one worker, on CPU 0; sets GW_URL_<NAME>, GW_PID_<NAME>.
gw_bench() {
	local name=$1 conf=$TMP/gw-$1.conf port hport mport pid
	port=$(gh_free_port) hport=$(gh_free_port) mport=$(gh_free_port)
	cp "$2" "$conf"
	printf '[gw-internal]\nlisten = 127.0.0.1\nhttps_port = %s\nhttp_port = %s\nmgmt_port = %s\nworkers = 1\naccess_log = off\nspool_dir = %s\nsnapshot_file = %s\n' \
		"$port" "$hport" "$mport" "$TMP/spool-$name" "$TMP/snap-$name.json" >>"$conf"
	taskset -c "$SERVER_CPU" "$GH_BIN/gatehouse-gw-internal" --config "$conf" >>"$TMP/gw-$name.log" 2>&1 &
	pid=$!
	PIDS="$PIDS $pid"
	_km_wait "http://127.0.0.1:$mport" "$pid" || { tail -20 "$TMP/gw-$name.log" >&2; fail "gw-internal ($name) did not start"; }
	printf -v "GW_URL_$name" '%s' "http://127.0.0.1:$hport/bench/1.0/hello"
	printf -v "GW_PID_$name" '%s' "$pid"
	printf -v "GW_MGMT_$name" '%s' "http://127.0.0.1:$mport"
}
gw_bench on "$KM_CONF"
gw_bench off "$TMP/node-off.conf"
for n in on off; do
	u=GW_URL_$n
	[ "$(curl -s -H "Authorization: Bearer $(head -1 "$TMP/tokens")" "${!u}")" = '{"ok":true}' ] ||
		fail "gw-internal ($n) does not serve the API"
done

# wrk_rps NAME URL PID: requests per second (fails on errors or non-2xx).
wrk_rps() {
	local out=$TMP/wrk-$1.txt non2xx
	taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"${4:-$SECS}s" -s "$TMP/tokens.lua" "$2" -- "$TMP/tokens" \
		>"$out" 2>&1 || { cat "$out" >&2; fail "$1: wrk failed"; }
	kill -0 "$3" 2>/dev/null || fail "$1: the gateway died"
	non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")
	[ -z "$non2xx" ] || { cat "$out" >&2; fail "$1: $non2xx non-2xx answers"; }
	awk '/^Requests\/sec:/ {print $2}' "$out"
}
wrk_rps on-warm "$GW_URL_on" "$GW_PID_on" 1 >/dev/null
wrk_rps off-warm "$GW_URL_off" "$GW_PID_off" 1 >/dev/null
ON="" OFF=""
for r in $(seq 1 "$RUNS"); do
	ON="$ON $(wrk_rps on "$GW_URL_on" "$GW_PID_on")" || exit 1
	OFF="$OFF $(wrk_rps off "$GW_URL_off" "$GW_PID_off")" || exit 1
done
echo "# runs (req/s): on:$ON off:$OFF"
M=$(curl -s "$GW_MGMT_on/metrics")
printf '%s\n' "$M" | grep -q '^gatehouse_gw_throttle_local_share 0' || fail "the 'on' gateway is not counting cluster-wide"
echo "# 'on' gateway: $(printf '%s\n' "$M" | grep -E '^gatehouse_gw_(tm_syncs_total|tm_sync_errors_total|throttle_sync_lag_ms) ' | tr '\n' ' ')"
[ "$(curl -s "$GW_MGMT_off/metrics" | sed -n 's/^gatehouse_gw_tm_syncs_total //p')" = 0 ] || fail "the 'off' gateway synced"
MON=$(median $ON) MOFF=$(median $OFF)
printf 'bench: gw_tm_on_req_per_s %.0f req/s\n' "$MON"
printf 'bench: gw_tm_off_req_per_s %.0f req/s\n' "$MOFF"
OVER=$(awk -v a="$MON" -v b="$MOFF" 'BEGIN {printf "%.1f", 100 * (1 - a / b)}')
printf 'bench: tm_overhead_pct %s %%\n' "$OVER"
echo "ratio: tm_overhead_pct $OVER target<=5"
