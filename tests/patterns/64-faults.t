#!/usr/bin/env bash
# Faults under steady load, on the internal/external topology of 60-internal-external.t
# (control-plane node cp and PostgreSQL/slapd host db in the LAN, gw-external and HAProxy in
# the DMZ, the client on the internet).  For each of the key manager, the traffic manager,
# the publisher, PostgreSQL and slapd in turn: 10 s of JWT traffic at a fixed rate from the
# internet through the load balancer and gw-external (tests/patterns/topo_load.py records
# every status); 2 s in, the component is killed (SIGKILL; PostgreSQL: immediate shutdown),
# new logins (password grants through login.example) are tried every 0.4 s while it is down,
# and 3 s later it is started again.  The JWT traffic keeps 0 errors; logins fail cleanly with
# a clear message while the key manager, the database or the directory is down and keep
# working otherwise; everything recovers within 30 s of the restart (a login, a new
# subscription reaching the gateway through the restarted publisher's feed, the traffic
# manager's counter sync); and once the spools drain, PostgreSQL holds exactly one analytics
# event per answered request.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/topo.sh"
T0=$(date +%s)
RATE=${TOPO_RATE:-120} SECS=10
fail_setup() { echo "setup failed: $*"; echo "$_pass passed, $((_fail + 1)) failed"; exit 1; }
ALL_SCOPES="apim:admin apim:api_view apim:api_create apim:api_manage apim:api_publish apim:subscribe apim:app_manage apim:sub_manage apim:subscription_view"
now() { date +%s%3N; }

topo_init || fail_setup "router"
topo_host inet internet 10 && topo_host lb dmz 10 && topo_host gwe dmz 20 &&
	topo_host db lan 5 && topo_host cp lan 10 && topo_host be lan 30 && topo_host lanc lan 40 || fail_setup "hosts"
INSIDE="cp.lan=$IP_cp km.lan=$IP_cp pub.lan=$IP_cp tm.lan=$IP_cp portal.lan=$IP_cp login.example=$IP_cp
	be.lan=$IP_be db.lan=$IP_db gwe.dmz=$IP_gwe"
for h in lb gwe db cp be lanc; do topo_names $h "$INSIDE"; done
topo_names inet "api.example=$IP_lb portal.example=$IP_lb login.example=$IP_lb"
topo_allow inet lb 443
topo_allow lb cp 443 9444
topo_allow gwe cp 443 9447 9446 9611
topo_allow gwe be 8080
topo_pg_start db "$GH_TMP/pg" || fail_setup "postgresql"
topo_slapd_start db "$GH_TMP/slapd" || fail_setup "slapd"
CP=$GH_TMP/cp
topo_control_plane "$CP" || fail_setup "control plane"
topo_mgmt_client lanc || fail_setup "management client"
ADM=$(topo_token lanc admin "$TOPO_ADMIN_PW" "$ALL_SCOPES")
topo_backend be 8080 "$GH_TMP/be.log" || fail_setup "backend"
TOPO_ADMIN_AT=lanc
API=$(topo_api lanc /load External http://be.lan:8080) || fail_setup "API"
GWE=$GH_TMP/gwe
topo_conf "$GWE" gwe1 "gwe.dmz, $IP_gwe"
topo_enroll gwe "$GWE" gateway-external External || fail_setup "gwe enrolment"
printf '[gw-external]\nworkers = 2\ntrusted_proxies = %s\nanalytics_interval = 200ms\n' "$IP_lb" >>"$GWE/node.conf"
topo_proc gwe "$GWE" gw-external || fail_setup "gw-external"
LB=$GH_TMP/lb
topo_public_ca "$LB" api.example portal.example login.example || fail_setup "public CA"
cp "$TOPO_CA" "$LB/internal-ca.crt"
topo_lb_cfg "$LB" "$IP_lb" "$IP_gwe:8243:gwe.dmz" "$IP_cp:9444:portal.lan" "$IP_cp:443:login.example"
topo_haproxy lb "$LB/haproxy.cfg" || fail_setup "haproxy"
CA_PUB=$LB/public-ca.crt
icall() { local o; o=$(at inet curl -s --max-time 10 --cacert "$CA_PUB" -w '\n%{http_code}' "$@"); BODY=${o%$'\n'*}; CODE=${o##*$'\n'}; }

# the application whose JWT carries the load, and a user who logs in during the faults
topo_app lanc https://portal.lan:9444 "$ADM" LoadApp "$API" Unlimited || fail_setup "application"
tcall lanc -u "$CK:$CS" -d grant_type=client_credentials https://login.example/oauth2/token
TOKEN=$(jget "$BODY" access_token)
tcall lanc -H 'Content-Type: application/json' -d '{"username":"prober","password":"Prober-pass-1"}' https://portal.lan:9444/devportal/signup
[ "$CODE" = 201 ] || fail_setup "sign-up $CODE $BODY"
for _ in $(seq 1 50); do
	at inet curl -s -o /dev/null -w '%{http_code}' --cacert "$CA_PUB" -H "Authorization: Bearer $TOKEN" \
		-H 'X-Request-ID: warm' https://api.example/load/1.0/warm | grep -q 200 && break
	sleep 0.1
done
login() {
	icall -u "$CP_CLIENT:$CP_SECRET" -d grant_type=password --data-urlencode username=prober \
		--data-urlencode password=Prober-pass-1 --data-urlencode scope=apim:subscribe https://login.example/oauth2/token
}
login
[ "$CODE" = 200 ] || fail_setup "login $CODE $BODY"
gwe_metric() { at gwe curl -s --max-time 2 http://127.0.0.1:18243/metrics | sed -n "s/^$1 //p"; }
echo "topology up in $(( $(date +%s) - T0 ))s; load: $RATE requests/s for ${SECS}s per fault"

# ---- how each component is killed, started and seen recovered ----
kill_km() { kill -9 "$PID_keymanager_cp"; wait "$PID_keymanager_cp" 2>/dev/null; }
kill_tm() { kill -9 "$PID_trafficmanager_cp"; wait "$PID_trafficmanager_cp" 2>/dev/null; }
kill_pub() { kill -9 "$PID_publisher_cp"; wait "$PID_publisher_cp" 2>/dev/null; }
kill_pg() { topo_pg_stop; }
kill_slapd() { topo_slapd_stop; }
start_km() { topo_proc cp "$CP" keymanager; }
start_tm() { topo_proc cp "$CP" trafficmanager; }
start_pub() { topo_proc cp "$CP" publisher; }
start_pg() { topo_pg_restart; }
start_slapd() { topo_slapd_restart; }
login_ok() { login; [ "$CODE" = 200 ]; }
ok_km() { login_ok; }
ok_pg() { login_ok; }
ok_slapd() { login_ok; }
SYNCS0=0
ok_tm() { [ "$(gwe_metric gatehouse_gw_throttle_local_share)" = 0 ] && [ "$(gwe_metric gatehouse_gw_tm_syncs_total)" -gt "$SYNCS0" ]; }
# the publisher: a subscription made after its restart reaches the gateway through its feed
NEWTOK=""
ok_pub() {
	if [ -z "$NEWTOK" ]; then
		topo_app lanc https://portal.lan:9444 "$ADM" "After-$(now)" "$API" Unlimited >/dev/null 2>&1 || return 1
		tcall lanc -u "$CK:$CS" -d grant_type=client_credentials https://login.example/oauth2/token
		NEWTOK=$(jget "$BODY" access_token)
		[ "${NEWTOK#ey}" != "$NEWTOK" ] || { NEWTOK=""; return 1; }
	fi
	icall -H "Authorization: Bearer $NEWTOK" -H 'X-Request-ID: newsub' https://api.example/load/1.0/new
	[ "$CODE" = 200 ]
}
# what a failed login said: "STATUS message"
said() {
	local m
	[ "$CODE" = 200 ] && { printf '200 a token'; return; }
	m=$(jget "$BODY" error_description)
	case $m in "<"*) m=$(jget "$BODY" description) ;; esac
	case $m in "<"*) m=$(printf '%s' "$BODY" | sed 's/<[^>]*>/ /g' | tr -s ' \n' ' ' | sed 's/^ //' | cut -c1-80) ;; esac
	printf '%s %s' "$CODE" "$m"
}

TOTAL=0
# phase NAME DOWN-LOGINS: DOWN-LOGINS is "fail" (logins must fail cleanly while it is down) or "work"
phase() {
	local c=$1 want=$2 lp tk tr rec probes="" msgs="" sum n ok
	at inet env SSL_CERT_FILE="$CA_PUB" /usr/bin/python3 "$GH_ROOT/tests/patterns/topo_load.py" \
		https://api.example/load/1.0/steady "$RATE" "$SECS" "f$c" "$GH_TMP/load-$c.txt" \
		"Authorization: Bearer $TOKEN" >"$GH_TMP/load-$c.json" 2>&1 &
	lp=$!
	sleep 2
	[ "$c" = tm ] && SYNCS0=$(gwe_metric gatehouse_gw_tm_syncs_total)
	"kill_$c"
	tk=$(now)
	while [ $(( $(now) - tk )) -lt 3000 ]; do
		login
		probes="$probes $CODE"
		case " $msgs " in *"$(said)"*) ;; *) msgs="$msgs${msgs:+ | }$(said)" ;; esac
		sleep 0.4
	done
	[ "$c" = tm ] && SYNCS0=$(gwe_metric gatehouse_gw_tm_syncs_total)
	"start_$c" >/dev/null || echo "FAIL: $c did not start again"
	tr=$(now)
	rec=""
	while [ $(( $(now) - tr )) -lt 30000 ]; do
		if "ok_$c"; then rec=$(( $(now) - tr )); break; fi
		sleep 0.2
	done
	wait "$lp"
	sum=$(cat "$GH_TMP/load-$c.json")
	n=$(jget "$sum" sent)
	ok=$(jget "$sum" statuses.200)
	TOTAL=$((TOTAL + n))
	check_eq "$c killed and restarted: $n JWT requests at $RATE/s, every one 200 (p99 $(jget "$sum" p99_ms) ms, max $(jget "$sum" max_ms) ms)" \
		"{\"200\": $n}" "$(jget "$sum" statuses)"
	[ "$ok" = "$n" ] || echo "  load: $sum"
	if [ "$want" = fail ]; then
		check_match "$c down: every login fails ($(echo $probes | wc -w) tries) with a 503" '^( 503)+$' "$probes"
		check_match "... and a clear message: $msgs" '^503 .*[A-Za-z]{4}' "$msgs"
	else
		check_match "$c down: logins keep working ($(echo $probes | wc -w) tries)" '^( 200)+$' "$probes"
	fi
	check_match "$c recovers within 30 s of its restart (${rec:-never} ms)" '^[0-9]+$' "$rec"
	echo "$c: $n requests $(jget "$sum" statuses) p50 $(jget "$sum" p50_ms) p99 $(jget "$sum" p99_ms) max $(jget "$sum" max_ms) ms;" \
		"logins while down:$probes ($msgs); recovered ${rec:-never} ms after the restart"
}

for c in ${TOPO_FAULTS:-km tm pub pg slapd}; do
	case $c in tm|pub) phase $c work ;; *) phase $c fail ;; esac
done

# ---- no analytics event lost ----
t=$(now)
for _ in $(seq 1 150); do
	got=$(tsql "SELECT count(*) FROM gh_analytics_events WHERE correlation_id ~ '^f(km|tm|pub|pg|slapd)-'" 2>/dev/null)
	[ "${got:-0}" -ge "$TOTAL" ] && break
	sleep 0.2
done
check_eq "every answered request is one analytics event in PostgreSQL ($TOTAL, $(( $(now) - t )) ms after the last phase)" \
	"$TOTAL" "$got"
[ "$got" = "$TOTAL" ] || tsql "SELECT split_part(correlation_id, '-', 1), count(*) FROM gh_analytics_events GROUP BY 1 ORDER BY 1"
check_eq "... none twice" "$TOTAL" \
	"$(tsql "SELECT count(DISTINCT correlation_id) FROM gh_analytics_events WHERE correlation_id ~ '^f(km|tm|pub|pg|slapd)-'")"
check_eq "the gateway's spool is drained" 0 "$(gwe_metric gatehouse_gw_spool_depth)"
echo "total $(( $(date +%s) - T0 ))s"
check_done
