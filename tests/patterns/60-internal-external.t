#!/usr/bin/env bash
# The internal/external pattern as a topology (DESIGN.md "Trust between components"): zones
# internet, dmz and lan in their own network namespaces behind a router that forwards only
# what DESIGN.md allows (nftables).  lan: PostgreSQL and slapd (db), a control-plane node (cp:
# key manager, publisher, portal with an external site portal.example, traffic manager),
# gw-internal (gwi), a backend that verifies backend JWTs (be), a LAN consumer (lanc).  dmz:
# HAProxy (lb, public TLS, routing by host name: api.example -> gw-external, portal.example ->
# the portal, login.example -> the key manager's public port) and gw-external (gwe), enrolled
# with a gateway-external token.  internet: one client (inet).
# From the internet a developer signs up on the portal, registers a client, creates an
# application, subscribes, gets a token and calls the External API, all through the load
# balancer; the backend verifies gw-external's X-JWT-Assertion with the key manager's backend
# JWKS.  The Internal API does not answer there; no LAN or DMZ address or port other than the
# load balancer's 443 opens from the internet; the DMZ reaches only its holes in the LAN; the
# DMZ folders hold no database or LDAP password, CA key, KEK or key-manager key.  From the LAN
# the Internal API answers through gw-internal.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/topo.sh"
T0=$(date +%s)
fail_setup() { echo "setup failed: $*"; echo "$_pass passed, $((_fail + 1)) failed"; exit 1; }
ALL_SCOPES="apim:admin apim:api_view apim:api_create apim:api_manage apim:api_publish apim:subscribe apim:app_manage apim:sub_manage apim:subscription_view"

# ---- the network ----
topo_init || fail_setup "router"
topo_host inet internet 10 && topo_host lb dmz 10 && topo_host gwe dmz 20 &&
	topo_host db lan 5 && topo_host cp lan 10 && topo_host gwi lan 20 && topo_host be lan 30 &&
	topo_host lanc lan 40 || fail_setup "hosts"
INSIDE="cp.lan=$IP_cp km.lan=$IP_cp pub.lan=$IP_cp tm.lan=$IP_cp portal.lan=$IP_cp login.example=$IP_cp
	gwi.lan=$IP_gwi be.lan=$IP_be db.lan=$IP_db gwe.dmz=$IP_gwe"
for h in lb gwe db cp gwi be lanc; do topo_names $h "$INSIDE"; done
topo_names inet "api.example=$IP_lb portal.example=$IP_lb login.example=$IP_lb"
topo_allow inet lb 443
topo_allow lb cp 443 9444
topo_allow gwe cp 443 9447 9446 9611
topo_allow gwe be 8080
echo "network ready in $(( $(date +%s) - T0 ))s (prefix $TOPO_P)"

# ---- the LAN: database, directory, control plane ----
topo_pg_start db "$GH_TMP/pg" || fail_setup "postgresql"
topo_slapd_start db "$GH_TMP/slapd" || fail_setup "slapd"
CP=$GH_TMP/cp
topo_control_plane "$CP" || fail_setup "control plane"
echo "control plane up in $(( $(date +%s) - T0 ))s"
topo_mgmt_client lanc || fail_setup "management client"
ADM=$(topo_token lanc admin "$TOPO_ADMIN_PW" "$ALL_SCOPES")
[ "${ADM#ey}" != "$ADM" ] || fail_setup "admin token: $BODY"
topo_backend be 8080 "$GH_TMP/be-ext.log" https://login.example/oauth2/jwks/backend/External || fail_setup "backend"
topo_backend be 8081 "$GH_TMP/be-int.log" || fail_setup "backend 2"
TOPO_ADMIN_AT=lanc
EXT=$(topo_api lanc /ext External http://be.lan:8080 '"backendJwt":true') || fail_setup "External API"
INT=$(topo_api lanc /int Internal http://be.lan:8081) || fail_setup "Internal API"

# ---- gateways, enrolled ----
GWI=$GH_TMP/gwi GWE=$GH_TMP/gwe
topo_conf "$GWI" gwi1 "gwi.lan, $IP_gwi"
topo_enroll gwi "$GWI" gateway-internal Internal || fail_setup "gwi enrolment"
printf '[gw-internal]\nworkers = 2\n' >>"$GWI/node.conf"
topo_proc gwi "$GWI" gw-internal || fail_setup "gw-internal"
topo_conf "$GWE" gwe1 "gwe.dmz, $IP_gwe"
topo_enroll gwe "$GWE" gateway-external External || fail_setup "gwe enrolment"
printf '[gw-external]\nworkers = 2\ntrusted_proxies = %s\n' "$IP_lb" >>"$GWE/node.conf"
topo_proc gwe "$GWE" gw-external || fail_setup "gw-external"

# ---- the load balancer ----
LB=$GH_TMP/lb
topo_public_ca "$LB" api.example portal.example login.example || fail_setup "public CA"
cp "$TOPO_CA" "$LB/internal-ca.crt"
topo_lb_cfg "$LB" "$IP_lb" "$IP_gwe:8243:gwe.dmz" "$IP_cp:9444:portal.lan" "$IP_cp:443:login.example"
topo_haproxy lb "$LB/haproxy.cfg" || fail_setup "haproxy"
echo "topology up in $(( $(date +%s) - T0 ))s"

# ---- from the internet, through the load balancer ----
# (inet resolves the three public names to the load balancer; it trusts only the public CA)
CA_PUB=$LB/public-ca.crt
icall() { local o; o=$(at inet curl -s --max-time 10 --cacert "$CA_PUB" -w '\n%{http_code}' "$@"); BODY=${o%$'\n'*}; CODE=${o##*$'\n'}; }
DEVPW='Ext-dev-pass-42'
icall -H 'Content-Type: application/json' -d "{\"username\":\"extdev\",\"password\":\"$DEVPW\",\"email\":\"extdev@example.org\"}" \
	https://portal.example/devportal/signup
check_eq "a developer signs up on portal.example (201)" 201 "$CODE"
check_eq "... as a user of carbon.super" "extdev carbon.super" "$(jget "$BODY" username) $(jget "$BODY" tenant)"
icall -u "extdev:$DEVPW" -H 'Content-Type: application/json' \
	-d '{"clientName":"extdev-cli","owner":"extdev","grantType":"password refresh_token"}' \
	https://login.example/client-registration/v0.17/register
check_eq "the developer registers a client at login.example (200)" 200 "$CODE"; [ "$CODE" = 200 ] || echo "$BODY"
DC=$(jget "$BODY" clientId) DS=$(jget "$BODY" clientSecret)
check_eq "the key manager's audit sees the internet client's address (X-Forwarded-For from the load balancer)" \
	"$IP_inet" "$(tsql "SELECT client_addr FROM gh_audit WHERE action = 'client.create' AND actor = 'extdev'")"
tcall lanc -u "admin:$TOPO_ADMIN_PW" -H 'X-Forwarded-For: 203.0.113.9' -H 'Content-Type: application/json' \
	-d '{"clientName":"lan-cli","owner":"admin","grantType":"password"}' https://login.example/client-registration/v0.17/register
check_eq "... and a LAN host's own X-Forwarded-For is not believed" "$IP_lanc" \
	"$(tsql "SELECT client_addr FROM gh_audit WHERE action = 'client.create' AND details->>'client_name' = 'lan-cli'")"
icall -u "$DC:$DS" -d grant_type=password --data-urlencode username=extdev --data-urlencode "password=$DEVPW" \
	--data-urlencode "scope=apim:subscribe apim:app_manage apim:sub_manage" https://login.example/oauth2/token
DEV=$(jget "$BODY" access_token)
check_eq "a management token from login.example (200)" 200 "$CODE"
check_match "... with the subscriber's scopes" 'apim:subscribe' "$(jget "$BODY" scope)"
check_eq "... issued by https://login.example" https://login.example "$(jget "$(jwt_claims "$DEV")" iss)"
icall -H "Authorization: Bearer $DEV" https://portal.example/api/am/devportal/v3/apis
check_eq "portal.example lists the APIs (200)" 200 "$CODE"
check_match "... the External API" "\"$EXT\"" "$BODY"
check_nomatch "... but not the Internal one" "\"$INT\"" "$BODY"
icall -H "Authorization: Bearer $DEV" "https://portal.example/api/am/devportal/v3/apis/$INT"
check_eq "the Internal API is not found on portal.example (404)" 404 "$CODE"
CA_SAVE=$TOPO_CA TOPO_CA=$CA_PUB APP_ID="" CK="" CS=""
topo_app inet https://portal.example "$DEV" ExtApp "$EXT" Gold
check_eq "application, subscription and keys through portal.example" "201 200" "$( [ -n "${CK:-}" ] && echo 201) $CODE"
TOPO_CA=$CA_SAVE
icall -H "Authorization: Bearer $DEV" -H 'Content-Type: application/json' \
	-d "{\"apiId\":\"$INT\",\"applicationId\":\"$APP_ID\",\"throttlingPolicy\":\"Gold\"}" \
	https://portal.example/api/am/devportal/v3/subscriptions
check_ne "a subscription to the Internal API through portal.example is refused" 201 "$CODE"
icall -u "$CK:$CS" -d grant_type=client_credentials https://login.example/oauth2/token
TOKEN=$(jget "$BODY" access_token)
check_eq "an application token from login.example (200)" 200 "$CODE"
check_eq "... for gateways" "gatehouse-gateway https://login.example" \
	"$(C=$(jwt_claims "$TOKEN"); echo "$(jget "$C" aud) $(jget "$C" iss)")"
code=""
for _ in $(seq 1 50); do
	icall -H "Authorization: Bearer $TOKEN" https://api.example/ext/1.0/hello
	[ "$CODE" = 200 ] && break
	sleep 0.1
done
check_eq "the External API answers through api.example (200)" 200 "$CODE"
check_eq "the backend in the LAN verified gw-external's backend JWT with the key manager's JWKS" true "$(jget "$BODY" jwt.verified)"
check_eq "... signed for the application and the API" "ExtApp /ext PRODUCTION" \
	"$(printf '%s' "$BODY" | /usr/bin/python3 -c 'import json,sys; c=json.load(sys.stdin)["jwt"]["claims"]; w="http://wso2.org/claims/"
print(c[w+"applicationname"], c[w+"apicontext"], c[w+"keytype"])' 2>&1)"
check_eq "... by the key of node gwe1 (issuer gatehouse-gateway/External)" gatehouse-gateway/External "$(jget "$BODY" jwt.claims.iss)"
check_eq "the backend sees the real client behind the load balancer" "$IP_inet, $IP_lb" "$(jget "$BODY" xff)"
icall -H "Authorization: Bearer $TOKEN" https://api.example/ext/1.0/hello -H 'X-JWT-Assertion: forged'
check_eq "a client's own X-JWT-Assertion is replaced" "200 true" "$CODE $(jget "$BODY" jwt.verified)"
icall https://api.example/ext/1.0/hello
check_eq "without a token: 401 from gw-external" 401 "$CODE"
icall -H "Authorization: Bearer $DEV" https://api.example/ext/1.0/hello
check_eq "a management token is refused by gw-external (401)" 401 "$CODE"
icall -H "Authorization: Bearer $TOKEN" https://api.example/int/1.0/hello
check_eq "the Internal API does not answer through api.example (404)" 404 "$CODE"
check_eq "... and its backend saw nothing" 0 "$(wc -l <"$GH_TMP/be-int.log")"
icall -H 'Host: pub.lan' https://api.example/api/am/publisher/v4/apis
check_eq "another Host through the load balancer: 404 at the load balancer" 404 "$CODE"
icall https://login.example/api/am/admin/v4/enrolment-tokens
check_eq "login.example leads to the key manager only (no admin API there: 404)" 404 "$CODE"

# ---- nothing else of the LAN or DMZ opens from the internet ----
targets=""
for h in db cp gwi be lanc; do for l in $(topo_listeners $h); do targets="$targets ${l/0.0.0.0/$(eval echo "\$IP_$h")}"; done; done
check_match "the LAN listens on its services' ports (db, cp, gwi, be)" \
	"$IP_db:5432.*$IP_db:389|$IP_db:389.*$IP_db:5432" "$(echo $targets | tr ' ' '\n' | sort | tr '\n' ' ')"
check_nomatch "no management port listens beyond loopback" ':1[89][0-9]{3}( |$)' "$targets"
open=""
t1=$(date +%s%3N)
for t in $targets; do topo_reach inet "${t%:*}" "${t##*:}" && open="$open $t"; done
for t in $IP_cp:9443 $IP_cp:9446 $IP_cp:9447 $IP_cp:9611 $IP_cp:443 $IP_cp:9444 $IP_db:5432 $IP_db:389; do
	topo_reach inet "${t%:*}" "${t##*:}" && open="$open $t"
done
check_eq "from the internet no LAN address or port opens ($(echo $targets | wc -w) listeners + 8 service ports, $(( $(date +%s%3N) - t1 )) ms)" "" "$open"
open=""
for t in $IP_gwe:8243 $IP_lb:80 $IP_lb:8443 10.20.1.1:22; do topo_reach inet "${t%:*}" "${t##*:}" && open="$open $t"; done
check_eq "nor gw-external directly, nor another port of the load balancer or the router" "" "$open"
check_ok "the load balancer's 443 does" topo_reach inet "$IP_lb" 443
check_match "the router counted the refused attempts" '^[1-9][0-9]*$' "$(topo_refused)"

# ---- the DMZ reaches only its holes; the LAN needs nothing of the DMZ ----
open=""
for t in $IP_cp:9443 $IP_db:5432 $IP_db:389 $IP_gwi:8281 $IP_gwi:8244 $IP_be:8081; do topo_reach gwe "${t%:*}" "${t##*:}" && open="$open gwe->$t"; done
for t in $IP_cp:9446 $IP_cp:9447 $IP_cp:9611 $IP_be:8080 $IP_db:5432; do topo_reach lb "${t%:*}" "${t##*:}" && open="$open lb->$t"; done
check_eq "gw-external cannot reach the publisher's REST port, the database, LDAP or gw-internal; the LB only the portal and login" "" "$open"
check_ok "gw-external reaches the feed" topo_reach gwe "$IP_cp" 9446
check_fail "the LAN cannot open connections into the DMZ" topo_reach cp "$IP_gwe" 8243

# ---- what the DMZ holds ----
KEK=$(sed -n 's/^signing_kek = //p' "$CP/node.conf" | tr -d '"')
check_match "the control plane's KEK is known (the search below means something)" '^.{40,}$' "$KEK"
LAN_PUBS=""
for k in "$CP"/data/pki/*.key; do LAN_PUBS="$LAN_PUBS$(openssl pkey -in "$k" -pubout 2>/dev/null | sed -n 2p)"$'\n'; done
leaks="" nfiles=0 nkeys=0
while IFS= read -r -d '' f; do
	nfiles=$((nfiles + 1))
	grep -qF "$KEK" "$f" && leaks="$leaks kek:$f"
	grep -qF "$TOPO_DB_PW" "$f" && leaks="$leaks db-password:$f"
	grep -qF "$TOPO_LDAP_PW" "$f" && leaks="$leaks ldap-password:$f"
	grep -qE '^\[(db|ldap|keys)\]|bind_password|signing_kek' "$f" && leaks="$leaks setting:$f"
	if grep -q 'PRIVATE KEY' "$f"; then
		nkeys=$((nkeys + 1))
		p=$(openssl pkey -in "$f" -pubout 2>/dev/null | sed -n 2p)
		[ -n "$p" ] && printf '%s' "$LAN_PUBS" | grep -qF "$p" && leaks="$leaks lan-key:$f"
	fi
done < <(find "$GWE" "$LB" -type f -print0)
check_eq "the DMZ folders ($nfiles files, $nkeys private keys) hold no KEK, database or LDAP password, CA key or LAN key" "" "$leaks"
check_eq "... no ca.key" "" "$(find "$GWE" "$LB" -name ca.key)"
KM_KEYS=$(tsql "SELECT count(*) FROM gh_signing_keys" 2>/dev/null || echo 0)
check_match "the key manager's signing keys live only in PostgreSQL (sealed)" '^[1-9]' "$KM_KEYS"
check_eq "gw-external links neither libpq nor libldap" "" "$(ldd "$GH_BIN/gatehouse-gw-external" | grep -E 'libpq|libldap')"

# ---- from the LAN: the Internal API through gw-internal ----
topo_app lanc https://portal.lan:9444 "$ADM" LanApp "$INT" Gold
check_eq "a LAN application subscribed to the Internal API" 200 "$CODE"
tcall lanc -H "Authorization: Bearer $ADM" https://portal.lan:9444/api/am/devportal/v3/apis
check_match "the LAN site of the portal lists the Internal API" "\"$INT\"" "$BODY"
tcall lanc -u "$CK:$CS" -d grant_type=client_credentials https://login.example/oauth2/token
LTOK=$(jget "$BODY" access_token)
for _ in $(seq 1 50); do
	tcall lanc -H "Authorization: Bearer $LTOK" http://gwi.lan:8281/int/1.0/ping
	[ "$CODE" = 200 ] && break
	sleep 0.1
done
check_eq "the Internal API answers through gw-internal (HTTP)" 200 "$CODE"
check_eq "... from its backend" /ping "$(jget "$BODY" path)"
tcall lanc -H "Authorization: Bearer $LTOK" https://gwi.lan:8244/int/1.0/ping
check_eq "... and over HTTPS with the node's CA" 200 "$CODE"
tcall lanc -H "Authorization: Bearer $LTOK" http://gwi.lan:8281/ext/1.0/ping
check_eq "gw-internal does not serve the External API (404)" 404 "$CODE"
echo "total $(( $(date +%s) - T0 ))s"
check_done
