#!/usr/bin/env bash
# The partially and fully distributed patterns as topologies (zones, router and rules as in
# 60-internal-external.t; PostgreSQL and slapd on host db in the LAN).
#   partially distributed: a control-plane node (cp: key manager, publisher, portal, traffic
#     manager) and two gateway nodes enrolled from it (gw-internal in the LAN, gw-external in
#     the DMZ behind HAProxy).
#   fully distributed (its own database and LDAP subtree): one process per node.  The first
#     node (pub, gatehouse init --first) runs the publisher, which holds the CA and serves
#     enrolment; a key manager started from the first node's folder only bootstraps the
#     deployment (the admin API needs a token before any key manager node exists); the key
#     manager, portal and traffic manager nodes and both gateway nodes are enrolled from the
#     first, then the bootstrap key manager stops and login.example moves to the key manager
#     node.
# Both pass the same flow: publish an API to both environments -> subscribe through the portal
# -> a token from login.example -> a call through gw-internal from the LAN and through the
# load balancer and gw-external from the internet.  An enrolment token works once and only for
# its role, and a node given another deployment's CA fingerprint refuses the server.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/topo.sh"
T0=$(date +%s)
fail_setup() { echo "setup failed: $*"; echo "$_pass passed, $((_fail + 1)) failed"; exit 1; }
ALL_SCOPES="apim:admin apim:api_view apim:api_create apim:api_manage apim:api_publish apim:subscribe apim:app_manage apim:sub_manage apim:subscription_view"

topo_init || fail_setup "router"
topo_host inet internet 10 && topo_host lb dmz 10 && topo_host gwe dmz 20 &&
	topo_host db lan 5 && topo_host cp lan 10 && topo_host km lan 11 && topo_host pub lan 12 &&
	topo_host portal lan 13 && topo_host tm lan 14 && topo_host gwi lan 20 && topo_host be lan 30 &&
	topo_host lanc lan 40 || fail_setup "hosts"
# names KM PUB PORTAL TM: where the service names point (the same in the LAN and the DMZ)
names() {
	local h all="cp.lan=$IP_cp km.lan=$(eval echo "\$IP_$1") login.example=$(eval echo "\$IP_$1")
		pub.lan=$(eval echo "\$IP_$2") portal.lan=$(eval echo "\$IP_$3") tm.lan=$(eval echo "\$IP_$4")
		gwi.lan=$IP_gwi be.lan=$IP_be db.lan=$IP_db gwe.dmz=$IP_gwe"
	for h in lb gwe db cp km pub portal tm gwi be lanc; do topo_names $h "$all"; done
}
names cp cp cp cp
topo_names inet "api.example=$IP_lb portal.example=$IP_lb login.example=$IP_lb"
topo_allow inet lb 443
topo_allow lb cp 443 9444
topo_allow lb km 443
topo_allow lb portal 9444
topo_allow gwe cp 443 9447 9446 9611
topo_allow gwe km 443 9447
topo_allow gwe pub 9446
topo_allow gwe tm 9611
topo_allow gwe be 8080
topo_pg_start db "$GH_TMP/pg" || fail_setup "postgresql"
topo_slapd_start db "$GH_TMP/slapd" || fail_setup "slapd"
topo_backend be 8080 "$GH_TMP/be.log" || fail_setup "backend"
LB=$GH_TMP/lb
topo_public_ca "$LB" api.example portal.example login.example || fail_setup "public CA"
CA_PUB=$LB/public-ca.crt
icall() { local o; o=$(at inet curl -s --max-time 10 --cacert "$CA_PUB" -w '\n%{http_code}' "$@"); BODY=${o%$'\n'*}; CODE=${o##*$'\n'}; }
TOPO_ADMIN_AT=lanc

# admin_setup: the management client and an admin token (ADM), from the LAN
admin_setup() {
	topo_mgmt_client lanc || return 1
	ADM=$(topo_token lanc admin "$TOPO_ADMIN_PW" "$ALL_SCOPES")
	[ "${ADM#ey}" != "$ADM" ] || { echo "admin token: $BODY"; return 1; }
}

# gateways TAG: a gw-internal node (gwi) and a gw-external node (gwe) enrolled from this deployment
gateways() {
	GWI=$GH_TMP/gwi-$1 GWE=$GH_TMP/gwe-$1
	topo_conf "$GWI" "gwi-$1" "gwi.lan, $IP_gwi" &&
		topo_enroll gwi "$GWI" gateway-internal Internal &&
		printf '[gw-internal]\nworkers = 2\n' >>"$GWI/node.conf" &&
		topo_proc gwi "$GWI" gw-internal || return 1
	topo_conf "$GWE" "gwe-$1" "gwe.dmz, $IP_gwe" &&
		topo_enroll gwe "$GWE" gateway-external External &&
		printf '[gw-external]\nworkers = 2\ntrusted_proxies = %s\n' "$IP_lb" >>"$GWE/node.conf" &&
		topo_proc gwe "$GWE" gw-external
}

# flow TAG: publish -> subscribe -> token -> call, through both gateways
flow() {
	local tag=$1 api tok itok code t
	api=$(topo_api lanc "/$tag" "Internal External" http://be.lan:8080)
	check_match "$tag: the API is published to both environments" '^[0-9a-f-]{36}$' "$api"
	CK="" CS=""
	topo_app lanc https://portal.lan:9444 "$ADM" "App-$tag" "$api" Gold
	check_eq "$tag: subscribed, keys generated through the portal" "200 yes" "$CODE $([ -n "$CK" ] && echo yes)"
	tcall lanc -u "$CK:$CS" -d grant_type=client_credentials https://login.example/oauth2/token
	tok=$(jget "$BODY" access_token)
	check_eq "$tag: a token from the key manager (LAN)" "200 https://login.example" "$CODE $(jget "$(jwt_claims "$tok")" iss)"
	t=$(date +%s%3N)
	for _ in $(seq 1 100); do
		code=$(at lanc curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Authorization: Bearer $tok" "http://gwi.lan:8281/$tag/1.0/x")
		[ "$code" = 200 ] && break
		sleep 0.1
	done
	check_eq "$tag: the call through gw-internal from the LAN (200, $(( $(date +%s%3N) - t )) ms after publishing)" 200 "$code"
	icall -u "$CK:$CS" -d grant_type=client_credentials https://login.example/oauth2/token
	itok=$(jget "$BODY" access_token)
	check_eq "$tag: a token through login.example from the internet" 200 "$CODE"
	for _ in $(seq 1 50); do
		icall -H "Authorization: Bearer $itok" "https://api.example/$tag/1.0/y"
		[ "$CODE" = 200 ] && break
		sleep 0.1
	done
	check_eq "$tag: the call through the load balancer and gw-external from the internet (200)" "200 /y" "$CODE $(jget "$BODY" path)"
}

# ================= partially distributed =================
CP=$GH_TMP/cp
topo_control_plane "$CP" || fail_setup "control plane"
CA_A=$(openssl x509 -in "$TOPO_CA" -outform DER | sha256sum | cut -d' ' -f1)
admin_setup || fail_setup "admin"
gateways part || fail_setup "gateways"
cp "$TOPO_CA" "$LB/internal-ca.crt"
topo_lb_cfg "$LB" "$IP_lb" "$IP_gwe:8243:gwe.dmz" "$IP_cp:9444:portal.lan" "$IP_cp:443:login.example"
topo_haproxy lb "$LB/haproxy.cfg" || fail_setup "haproxy"
LB_PID=$TOPO_PID
echo "partially distributed: up in $(( $(date +%s) - T0 ))s"
flow part
check_eq "the gateway nodes are two more nodes of the deployment" "gwe-part gwi-part" \
	"$(tsql "SELECT string_agg(node, ' ' ORDER BY node) FROM gh_backend_keys" 2>&1)"
# (the first deployment's publisher stays up: below, a node of the second is sent to it)
for p in $PID_gw_internal_gwi $PID_gw_external_gwe $LB_PID $PID_trafficmanager_cp $PID_portal_cp $PID_keymanager_cp; do
	topo_kill "$p"
done
T1=$(date +%s)
echo "partially distributed: done in $(( T1 - T0 ))s"

# ================= fully distributed =================
tsql "CREATE DATABASE gatehouse2 OWNER gatehouse" >/dev/null || fail_setup "database 2"
printf 'dn: ou=full,dc=gatehouse\nobjectClass: organizationalUnit\nou: full\n' |
	at db ldapadd -x -H ldap://127.0.0.1:389 -D cn=admin,dc=gatehouse -w "$TOPO_LDAP_PW" >/dev/null || fail_setup "ldap 2"
TOPO_DB_NAME=gatehouse2 TOPO_LDAP_BASE=ou=full,dc=gatehouse
# bootstrap: login.example is the first node until the key manager node runs
names pub pub portal tm
PUB=$GH_TMP/pub
topo_conf "$PUB" pub1 "pub.lan, login.example, $IP_pub"
topo_cp_conf "$PUB" db
at pub "$GH_BIN/gatehouse" init --first --role control-plane --config "$PUB/node.conf" \
	--admin-password-file "$CP/admin-password" >"$PUB/init.log" 2>&1 || { cat "$PUB/init.log"; fail_setup "init 2"; }
TOPO_CA=$PUB/data/pki/ca.crt
CA_B=$(openssl x509 -in "$TOPO_CA" -outform DER | sha256sum | cut -d' ' -f1)
check_ne "the second deployment has its own CA" "$CA_A" "$CA_B"
topo_proc pub "$PUB" publisher || fail_setup "publisher"
topo_proc pub "$PUB" keymanager || fail_setup "bootstrap key manager"
BOOT_KM=$TOPO_PID
admin_setup || fail_setup "admin 2"

# the key manager node
KM=$GH_TMP/km
topo_conf "$KM" km1 "km.lan, login.example, $IP_km"
printf '[keymanager]\nport = 443\nworkers = 2\n[http]\ntrusted_proxies = %s\n' "$IP_lb" >>"$KM/node.conf"
topo_enroll km "$KM" keymanager || fail_setup "km enrolment"
KM_TOK=$TOK
check_eq "the key manager node: its certificate only, no CA key" "ca.crt keymanager.crt keymanager.key node.crt node.key" \
	"$(ls "$KM/data/pki" | tr '\n' ' ' | sed 's/ $//')"
check_ok "... the signing-key KEK and the database settings came with it" grep -q '^signing_kek = ' "$KM/node.conf"
topo_proc km "$KM" keymanager || fail_setup "km node"
names km pub portal tm
topo_kill "$BOOT_KM"
ADM=$(topo_token lanc admin "$TOPO_ADMIN_PW" "$ALL_SCOPES")
tcall lanc -H "Authorization: Bearer $ADM" "https://pub.lan:9443/api/am/admin/v4/enrolment-tokens"
check_eq "a token of the key manager node is accepted by the publisher node" 200 "$CODE"

# one enrolment check of each kind
topo_conf "$GH_TMP/x1" x1 "x1.lan"
out=$(at portal "$GH_BIN/gatehouse" init --enroll https://pub.lan:9446 --token "$KM_TOK" --config "$GH_TMP/x1/node.conf" 2>&1)
check_match "the key manager's token a second time: refused" 'refused the enrolment \(401\)' "$out"
topo_issue trafficmanager || fail_setup "token"
out=$(at portal "$GH_BIN/gatehouse" init --enroll https://pub.lan:9446 --token "$TOK" --role portal --config "$GH_TMP/x1/node.conf" 2>&1)
check_match "a traffic-manager token used for a portal node: refused" 'refused the enrolment \(403\)' "$out"
TM_TOK=$TOK
out=$(at tm "$GH_BIN/gatehouse" init --enroll https://pub.lan:9446 --token "$TM_TOK" --ca-fingerprint "sha256:$CA_A" \
	--config "$GH_TMP/x1/node.conf" 2>&1); rc=$?
check_eq "a node told the first deployment's CA refuses the second's token and server" "1 absent" \
	"$rc $([ -e "$GH_TMP/x1/data" ] && echo present || echo absent)"
check_match "... and says why" "sha256:$CA_B but --ca-fingerprint says sha256:$CA_A: refusing to enrol \\(nothing written\\)" "$out"
out=$(at tm "$GH_BIN/gatehouse" init --enroll https://cp.lan:9446 --token "$TM_TOK" --config "$GH_TMP/x1/node.conf" 2>&1); rc=$?
check_eq "a node sent to another deployment's enrolment server (CA $(echo "$CA_A" | cut -c1-8)...) refuses it" "1 absent" \
	"$rc $([ -e "$GH_TMP/x1/data" ] && echo present || echo absent)"
check_match "... naming the CA it found" "sha256:$CA_A.*refusing to enrol|refusing to enrol.*sha256:$CA_A" "$out"
topo_kill "$PID_publisher_cp"

# the portal and traffic manager nodes
PO=$GH_TMP/portal TM=$GH_TMP/tm
topo_conf "$PO" portal1 "portal.lan, $IP_portal"
printf '[portal]\nworkers = 2\nsites = portal.example=External; *=Internal,External\n[http]\ntrusted_proxies = %s\n' "$IP_lb" >>"$PO/node.conf"
topo_enroll portal "$PO" portal || fail_setup "portal enrolment"
topo_proc portal "$PO" portal || fail_setup "portal node"
topo_conf "$TM" tm1 "tm.lan, $IP_tm"
printf '[trafficmanager]\nworkers = 2\n' >>"$TM/node.conf"
at tm "$GH_BIN/gatehouse" init --enroll https://pub.lan:9446 --token "$TM_TOK" --config "$TM/node.conf" >"$TM/enroll.log" 2>&1 ||
	{ cat "$TM/enroll.log"; fail_setup "tm enrolment"; }
check_nomatch "the traffic manager node holds no LDAP settings or KEK" 'bind_password|signing_kek' "$(cat "$TM/node.conf")"
topo_proc tm "$TM" trafficmanager || fail_setup "tm node"
gateways full || fail_setup "gateways 2"
cp "$TOPO_CA" "$LB/internal-ca.crt"
topo_lb_cfg "$LB" "$IP_lb" "$IP_gwe:8243:gwe.dmz" "$IP_portal:9444:portal.lan" "$IP_km:443:login.example"
topo_haproxy lb "$LB/haproxy.cfg" || fail_setup "haproxy 2"
procs=""
for n in pub km portal tm; do
	procs="$procs $n:$(for p in $(ip netns pids "$TOPO_P-$n"); do cat /proc/$p/comm; done | tr '\n' ',' | sed 's/,$//')"
done
check_eq "one process per control-plane node" " pub:gatehouse-publi km:gatehouse-keyma portal:gatehouse-porta tm:gatehouse-traff" "$procs"
check_eq "only the first node holds the CA key" "$PUB/data/pki/ca.key" \
	"$(find "$PUB" "$KM" "$PO" "$TM" "$GWI" "$GWE" -name ca.key)"
echo "fully distributed: up in $(( $(date +%s) - T1 ))s"
flow full
check_eq "the traffic manager node recorded gw-external's analytics events" "gwe-full" \
	"$(for _ in $(seq 1 30); do r=$(tsql "SELECT string_agg(DISTINCT gateway_node, ' ') FROM gh_analytics_events WHERE environment = 'External'" 2>/dev/null); [ -n "$r" ] && break; sleep 0.2; done; echo "$r")"
echo "total $(( $(date +%s) - T0 ))s"
check_done
