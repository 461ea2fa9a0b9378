#!/usr/bin/env bash
# Two all-in-one nodes active/active behind the DMZ load balancer (zones, router and rules as
# in 60-internal-external.t), on one external PostgreSQL and LDAP (host db) and one traffic
# manager (on n1).  n1 is the first node (gatehouse init --first --role all-in-one); n2 is
# enrolled from it with an all-in-one token and runs everything but the traffic manager.  Each
# node reaches its own services under the cluster's names (km.lan, pub.lan, login.example ...);
# HAProxy balances api.example, portal.example and login.example over both, retrying a failed
# request on the other node (retry-on all-retryable-errors, option redispatch).
# A developer signs in to the portal's web UI through the load balancer (authorization code
# with PKCE: the pre-session and the session live in PostgreSQL, so either node may serve each
# step) and the session cookie works on both nodes.  Then, under 10 s of fixed-rate JWT
# traffic, every process of n1 is killed (SIGKILL): no request is lost, the session still
# works, logins and new applications keep working on n2; n1 restarts, both serve again, and
# once the spools drain PostgreSQL holds one analytics event per answered request.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/topo.sh"
T0=$(date +%s)
RATE=${TOPO_RATE:-120} SECS=10
fail_setup() { echo "setup failed: $*"; echo "$_pass passed, $((_fail + 1)) failed"; exit 1; }
ALL_SCOPES="apim:admin apim:api_view apim:api_create apim:api_manage apim:api_publish apim:subscribe apim:app_manage apim:sub_manage apim:subscription_view"
now() { date +%s%3N; }

topo_init || fail_setup "router"
topo_host inet internet 10 && topo_host lb dmz 10 && topo_host db lan 5 && topo_host n1 lan 10 &&
	topo_host n2 lan 11 && topo_host be lan 30 && topo_host lanc lan 40 || fail_setup "hosts"
# each node uses its own services; the traffic manager is n1's
at_node() { echo "km.lan=$1 pub.lan=$1 portal.lan=$1 login.example=$1 tm.lan=$IP_n1 n1.lan=$IP_n1 n2.lan=$IP_n2 be.lan=$IP_be db.lan=$IP_db"; }
topo_names n1 "$(at_node "$IP_n1")"
topo_names n2 "$(at_node "$IP_n2")"
for h in db be lanc lb; do topo_names $h "$(at_node "$IP_n1")"; done
topo_names inet "api.example=$IP_lb portal.example=$IP_lb login.example=$IP_lb"
topo_allow inet lb 443
topo_allow lb n1 443 9444 8243
topo_allow lb n2 443 9444 8243
topo_pg_start db "$GH_TMP/pg" || fail_setup "postgresql"
topo_slapd_start db "$GH_TMP/slapd" || fail_setup "slapd"
topo_backend be 8080 "$GH_TMP/be.log" || fail_setup "backend"

# what topo_cp_conf gives the first node and n2 keeps as its own settings
NODE_CP="[keymanager]
port = 443
workers = 2
[publisher]
workers = 2
[portal]
workers = 2
sites = portal.example=External; *=Internal,External
[http]
trusted_proxies = $IP_lb"
NODE_GW="[gw-external]
workers = 2
trusted_proxies = $IP_lb
analytics_interval = 200ms
[gw-internal]
workers = 1"
N1=$GH_TMP/n1 N2=$GH_TMP/n2
topo_conf "$N1" n1 "n1.lan, km.lan, pub.lan, tm.lan, portal.lan, login.example, portal.example, $IP_n1"
topo_cp_conf "$N1" db
printf '%s\n' "$NODE_GW" >>"$N1/node.conf"
TOPO_ADMIN_PW="Adm1n-$(head -c 6 /dev/urandom | base64 | tr -d '/+=')"
printf '%s\n' "$TOPO_ADMIN_PW" >"$N1/admin-password"
at n1 "$GH_BIN/gatehouse" init --first --role all-in-one --config "$N1/node.conf" \
	--admin-password-file "$N1/admin-password" >"$N1/init.log" 2>&1 || { cat "$N1/init.log"; fail_setup "init"; }
TOPO_CA=$N1/data/pki/ca.crt
N1_PROCS="keymanager publisher portal trafficmanager gw-external gw-internal"
N2_PROCS="keymanager publisher portal gw-external gw-internal"
for c in $N1_PROCS; do topo_proc n1 "$N1" $c || fail_setup "n1 $c"; done
topo_mgmt_client lanc || fail_setup "management client"
ADM=$(topo_token lanc admin "$TOPO_ADMIN_PW" "$ALL_SCOPES")
TOPO_ADMIN_AT=lanc
topo_conf "$N2" n2 "n2.lan, km.lan, pub.lan, portal.lan, login.example, portal.example, $IP_n2"
printf '%s\n%s\n' "$NODE_CP" "$NODE_GW" >>"$N2/node.conf"
topo_issue all-in-one || fail_setup "all-in-one token"
at n2 "$GH_BIN/gatehouse" init --enroll https://n1.lan:9446 --token "$TOK" --config "$N2/node.conf" >"$N2/enroll.log" 2>&1 ||
	{ cat "$N2/enroll.log"; fail_setup "n2 enrolment"; }
check_eq "n2 enrolled as all-in-one: every component's certificate, no CA key" \
	"ca.crt gw-external.crt gw-external.key gw-internal.crt gw-internal.key keymanager.crt keymanager.key node.crt node.key portal.crt portal.key publisher.crt publisher.key trafficmanager.crt trafficmanager.key" \
	"$(ls "$N2/data/pki" | tr '\n' ' ' | sed 's/ $//')"
check_match "n2 shares n1's database, directory and traffic manager" \
	"trafficmanager_url = \"https://tm.lan:9611\".*host = \"$IP_db\".*uri = \"ldap://$IP_db:389\"" "$(tr '\n' ' ' <"$N2/node.conf")"
for c in $N2_PROCS; do topo_proc n2 "$N2" $c || fail_setup "n2 $c"; done
API=$(topo_api lanc /aa External http://be.lan:8080) || fail_setup "API"
LB=$GH_TMP/lb
topo_public_ca "$LB" api.example portal.example login.example || fail_setup "public CA"
cp "$TOPO_CA" "$LB/internal-ca.crt"
topo_lb_cfg "$LB" "$IP_lb" "$IP_n1:8243:n1.lan $IP_n2:8243:n2.lan" "$IP_n1:9444:n1.lan $IP_n2:9444:n2.lan" \
	"$IP_n1:443:n1.lan $IP_n2:443:n2.lan"
topo_haproxy lb "$LB/haproxy.cfg" || fail_setup "haproxy"
CA_PUB=$LB/public-ca.crt
JAR=$GH_TMP/cookies
icall() {
	local o
	o=$(at inet curl -s --max-time 10 --cacert "$CA_PUB" -c "$JAR" -b "$JAR" -D "$GH_TMP/hdrs" -w '\n%{http_code}' "$@")
	BODY=${o%$'\n'*}; CODE=${o##*$'\n'}
	LOC=$(tr -d '\r' <"$GH_TMP/hdrs" | sed -n 's/^[Ll]ocation: //p')
}
echo "two all-in-one nodes up in $(( $(date +%s) - T0 ))s"

# ---- a developer, an application, and a web session through the load balancer ----
icall -H 'Content-Type: application/json' -d '{"username":"webdev","password":"Web-dev-pass-7"}' https://portal.example/devportal/signup
check_eq "sign-up through the load balancer (201)" 201 "$CODE"
icall https://portal.example/devportal/login
check_match "the portal sends the browser to login.example" '^https://login\.example/oauth2/authorize\?' "$LOC"
icall "$LOC"
SDK=$(printf '%s' "$BODY" | sed -n 's/.*name="sessionDataKey" value="\([^"]*\)".*/\1/p')
CSRF=$(awk '$6 == "__Host-gh_authz_csrf" {print $7}' "$JAR")
check_eq "the sign-in page (200) with its session data key" "200 yes" "$CODE $([ -n "$SDK" ] && [ -n "$CSRF" ] && echo yes)"
icall --data-urlencode "sessionDataKey=$SDK" --data-urlencode "csrf=$CSRF" --data-urlencode username=webdev \
	--data-urlencode password=Web-dev-pass-7 https://login.example/oauth2/authorize
check_match "signed in: back to the portal's callback" '^https://portal\.example/devportal/callback\?code=' "$LOC"
icall "$LOC"
check_eq "the callback starts a session (302)" 302 "$CODE"
SESSION=$(awk '$6 == "__Host-gh_devportal" {print $6 "=" $7}' "$JAR")
check_match "a session cookie" '^__Host-[A-Za-z_]+=.{20,}' "$SESSION"
sess_on() {	# NODE: the session probe straight at one node's portal (from the load balancer's host)
	at lb curl -s --max-time 5 --cacert "$TOPO_CA" -H "Cookie: $SESSION" --resolve "portal.example:9444:$(eval echo "\$IP_$1")" \
		https://portal.example:9444/devportal/session | /usr/bin/python3 -c 'import json,sys
try: d=json.load(sys.stdin); print(d.get("authenticated"), d.get("user"))
except Exception: print("no answer")'
}
check_eq "the session works on n1" "True webdev" "$(sess_on n1)"
check_eq "... and on n2" "True webdev" "$(sess_on n2)"
DEV=$(topo_token lanc webdev Web-dev-pass-7 "apim:subscribe apim:app_manage apim:sub_manage")
topo_app lanc https://portal.lan:9444 "$DEV" AaApp "$API" Unlimited || fail_setup "application"
icall -u "$CK:$CS" -d grant_type=client_credentials https://login.example/oauth2/token
TOKEN=$(jget "$BODY" access_token)
for _ in $(seq 1 50); do
	icall -H "Authorization: Bearer $TOKEN" -H 'X-Request-ID: warm' https://api.example/aa/1.0/warm
	[ "$CODE" = 200 ] && break
	sleep 0.1
done
check_eq "the API answers through the load balancer" 200 "$CODE"
served() { at "$1" curl -s --max-time 2 "http://127.0.0.1:18243/metrics" | sed -n 's/^gatehouse_gw_requests_total //p'; }

# ---- n1 killed under load ----
B1=$(served n1) B2=$(served n2)
at inet env SSL_CERT_FILE="$CA_PUB" /usr/bin/python3 "$GH_ROOT/tests/patterns/topo_load.py" \
	https://api.example/aa/1.0/steady "$RATE" "$SECS" aa "$GH_TMP/load.txt" "Authorization: Bearer $TOKEN" >"$GH_TMP/load.json" 2>&1 &
LP=$!
sleep 3
K1=$(served n1)
tk=$(now)
KILLED=$(ip netns pids "$TOPO_P-n1")
for p in $KILLED; do kill -9 "$p"; done
{ for p in $KILLED; do case " $TOPO_PIDS " in *" $p "*) wait "$p" ;; esac; done; } 2>/dev/null
sleep 1
check_eq "n1 is down: no process left in its namespace" "" "$(ip netns pids "$TOPO_P-n1")"
check_eq "the session still works through the load balancer (n2)" "200 true webdev" \
	"$(icall https://portal.example/devportal/session; echo "$CODE $(jget "$BODY" authenticated) $(jget "$BODY" user)")"
icall -u "$CP_CLIENT:$CP_SECRET" -d grant_type=password --data-urlencode username=webdev \
	--data-urlencode password=Web-dev-pass-7 --data-urlencode scope=apim:subscribe https://login.example/oauth2/token
check_eq "logins keep working through login.example (n2's key manager)" 200 "$CODE"
topo_app lanc https://n2.lan:9444 "$DEV" AaApp2 "$API" Unlimited
check_eq "a new application, subscription and keys on n2 (data written while n1 is down)" 200 "$CODE"
at lanc curl -s --max-time 5 --cacert "$TOPO_CA" -u "$CK:$CS" -d grant_type=client_credentials --resolve "login.example:443:$IP_n2" \
	https://login.example/oauth2/token >"$GH_TMP/t2.json"
T2=$(jget "$(cat "$GH_TMP/t2.json")" access_token)
code=""
for _ in $(seq 1 50); do
	icall -H "Authorization: Bearer $T2" -H 'X-Request-ID: new-on-n2' https://api.example/aa/1.0/new
	code=$CODE; [ "$code" = 200 ] && break
	sleep 0.1
done
check_eq "... and its token works through the load balancer" 200 "$code"
wait "$LP"
SUM=$(cat "$GH_TMP/load.json")
N=$(jget "$SUM" sent)
check_eq "$N requests at $RATE/s while n1 died: every one 200 (p99 $(jget "$SUM" p99_ms) ms, max $(jget "$SUM" max_ms) ms)" \
	"{\"200\": $N}" "$(jget "$SUM" statuses)"
[ "$(jget "$SUM" statuses.200)" = "$N" ] || echo "  load: $SUM"
A2=$(served n2)
check_eq "both nodes carried the load before the kill" yes "$([ $((K1 - B1)) -gt 20 ] && echo yes)"
check_eq "n2 carried it after" yes "$([ $((A2 - B2)) -gt $((N / 2)) ] && echo yes)"

# ---- n1 back ----
tr=$(now)
for c in $N1_PROCS; do topo_proc n1 "$N1" $c || echo "FAIL: n1 $c did not start again"; done
R1=$(served n1)
for _ in $(seq 1 100); do
	icall -H "Authorization: Bearer $TOKEN" -H 'X-Request-ID: back' https://api.example/aa/1.0/back
	[ "$(served n1)" -gt "$R1" ] && break
	sleep 0.1
done
check_eq "n1 serves again through the load balancer ($(( $(now) - tr )) ms after its restart began)" yes \
	"$([ "$(served n1)" -gt "$R1" ] && echo yes)"
check_eq "the session works on n1 again" "True webdev" "$(sess_on n1)"
t=$(now)
for _ in $(seq 1 150); do
	got=$(tsql "SELECT count(*) FROM gh_analytics_events WHERE correlation_id LIKE 'aa-%'")
	[ "${got:-0}" -ge "$N" ] && break
	sleep 0.2
done
check_eq "one analytics event per answered request, none lost with n1's traffic manager and gateway ($(( $(now) - t )) ms)" "$N" "$got"
check_eq "... none twice" "$N" "$(tsql "SELECT count(DISTINCT correlation_id) FROM gh_analytics_events WHERE correlation_id LIKE 'aa-%'")"
check_eq "... from both nodes' gateways" "gw-external n1 yes, n2 yes" \
	"gw-external $(tsql "SELECT string_agg(gateway_node || ' ' || CASE WHEN count > 0 THEN 'yes' END, ', ' ORDER BY gateway_node) FROM (SELECT gateway_node, count(*) FROM gh_analytics_events WHERE correlation_id LIKE 'aa-%' GROUP BY 1) x")"
echo "total $(( $(date +%s) - T0 ))s"
check_done
