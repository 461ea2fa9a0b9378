#!/usr/bin/env bash
# Enrolment of a second control-plane node, and role-aware init, on loopback.  A control-plane
# token enrols a node folder that gets the publisher, portal, keymanager and trafficmanager
# certificates, the database and LDAP settings and the signing-key KEK; that node's key manager
# and publisher start on their own ports against the same database and answer: a token issued
# by the second key manager verifies at the first node's gateway, and the second publisher
# serves the first one's APIs.  Only the first node holds the CA key, so the second publisher
# cannot enrol anyone (503).  `gatehouse init --first --role ROLE` writes node.role and issues
# only that role's certificates; a gateway role cannot be a first node.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/gw.sh"
G=$GH_BIN/gatehouse
N2_PIDS=""
cleanup() { for p in $N2_PIDS; do km_kill "$p"; done; gw_teardown; }
trap cleanup EXIT
gw_setup e52 || { echo "0 passed, 1 failed"; exit 1; }
A=$PUB_URL/api/am/admin/v4/enrolment-tokens

jpost "$ADM" "$A" '{"role":"control-plane"}'
check_eq "a control-plane token (201, no environment)" "201 null" "$CODE $(jget "$BODY" environment)"
check_eq "expiresIn defaults to an hour" 3600 \
	"$(( $(date -d "$(jget "$BODY" expiresAt)" +%s) - $(date -d "$(jget "$BODY" createdAt)" +%s) ))"
CP_TOK=$(jget "$BODY" token)

N2=$GH_TMP/cp2
mkdir -p "$N2"
kp=$(_km_port) kip=$(_km_port) kmp=$(_km_port) pp=$(_km_port) pfp=$(_km_port) pmp=$(_km_port)
cat >"$N2/node.conf" <<CONF
[node]
name = cp2
data_dir = $N2/data
hostnames = localhost, 127.0.0.1
[keymanager]
listen = 127.0.0.1
port = $kp
internal_port = $kip
mgmt_port = $kmp
workers = 2
[publisher]
listen = 127.0.0.1
port = $pp
feed_port = $pfp
mgmt_port = $pmp
workers = 2
[log]
level = warn
CONF
out=$("$G" init --enroll "$FEED_URL" --token "$CP_TOK" --config "$N2/node.conf" 2>&1); rc=$?
check_eq "the control-plane node enrols (exit 0)" 0 "$rc"; [ "$rc" = 0 ] || echo "$out"
check_eq "its certificates: the four components and the node's" \
	"ca.crt keymanager.crt keymanager.key node.crt node.key portal.crt portal.key publisher.crt publisher.key trafficmanager.crt trafficmanager.key" \
	"$(ls "$N2/data/pki" | tr '\n' ' ' | sed 's/ $//')"
check_match "named for cp2" 'URI:gatehouse://keymanager/-/cp2' \
	"$(openssl x509 -in "$N2/data/pki/keymanager.crt" -noout -ext subjectAltName)"
check_eq "no CA key" "" "$(find "$N2" -name ca.key)"
C=$(cat "$N2/node.conf")
check_match "the database settings" "name = \"$(sed -n 's/^name = \(km_.*\)/\1/p' "$KM_CONF")\"" "$C"
check_match "the LDAP settings" "bind_password = \"$GH_TEST_LDAP_ROOTPW\"" "$C"
# (base64 holds '+' and '/': compared as fixed text, not as a pattern)
check_ok "the signing-key KEK" grep -qF "signing_kek = \"$(sed -n 's/^signing_kek = //p' "$KM_CONF")\"" "$N2/node.conf"
check_match "one issuer for every key manager" "public_url = \"$KM_URL\"" "$C"
check_match "the role" 'role = "control-plane"' "$C"
check_eq "the configuration is 0600" 600 "$(stat -c %a "$N2/node.conf")"
check_ok "and valid" "$G" check-config "$N2/node.conf"
out=$("$G" init --enroll "$FEED_URL" --token "$CP_TOK" --config "$N2/node.conf" 2>&1); rc=$?
check_match "init --enroll again: already initialised, nothing changed (exit 0)" "0 .*already initialised.*nothing changed" "$rc $out"

# Its key manager and publisher, on the shared database.
"$GH_BIN/gatehouse-keymanager" --config "$N2/node.conf" >>"$N2/keymanager.log" 2>&1 &
N2_PIDS="$N2_PIDS $!"
_km_wait "http://127.0.0.1:$kmp" "$!" || { echo "FAIL: second key manager"; tail "$N2/keymanager.log"; }
"$GH_BIN/gatehouse-publisher" --config "$N2/node.conf" >>"$N2/publisher.log" 2>&1 &
N2_PIDS="$N2_PIDS $!"
_km_wait "http://127.0.0.1:$pmp" "$!" || { echo "FAIL: second publisher"; tail "$N2/publisher.log"; }
check_eq "the second key manager answers" '{"status":"UP","component":"keymanager"}' "$(curl -s "http://127.0.0.1:$kmp/health")"

API=$(gw_api Second /second 1.0 External)
gw_app SecondApp "$API" Gold || echo "FAIL: application"
gw_start gw-external || echo "FAIL: gateway"
T2=$(jget "$(curl -s --cacert "$N2/data/pki/ca.crt" -u "$CK:$CS" -d grant_type=client_credentials \
	"https://localhost:$kp/oauth2/token")" access_token)
check_match "the second key manager issues a token" '^ey' "$T2"
check_eq "with the deployment's issuer" "$KM_URL" "$(jget "$(jwt_claims "$T2")" iss)"
check_eq "it verifies at the first node's gateway" 200 \
	"$(gw_wait_code 200 5000 -H "Authorization: Bearer $T2" "$GWE_URL/second/1.0/x")"
MT=$(jget "$(curl -s --cacert "$N2/data/pki/ca.crt" -u "$CP_CLIENT:$CP_SECRET" -d grant_type=password \
	--data-urlencode username=admin --data-urlencode "password=$KM_ADMIN_PW" --data-urlencode "scope=apim:api_view apim:admin" \
	"https://localhost:$kp/oauth2/token")" access_token)
check_match "the second publisher serves the first one's APIs" '"name" ?: ?"Second"' \
	"$(curl -s --cacert "$N2/data/pki/ca.crt" -H "Authorization: Bearer $MT" "https://localhost:$pp/api/am/publisher/v4/apis/$API")"
jpost "$ADM" "$A" '{"role":"publisher"}'
P_TOK=$(jget "$BODY" token)
check_eq "it holds no CA key, so it enrols no one (503)" 503 \
	"$(code curl -s --cacert "$N2/data/pki/ca.crt" -H 'Content-Type: application/json' \
		-d "{\"token\":\"$P_TOK\",\"node\":\"n\",\"csr\":\"x\"}" "https://localhost:$pfp/internal/enroll/v1")"
check_eq "... and its feed refuses a caller without a certificate (403)" 403 \
	"$(code curl -s --cacert "$N2/data/pki/ca.crt" "https://localhost:$pfp/internal/data/v1/snapshot?environment=External")"

# ---- gatehouse init --first --role ----
R=$GH_TMP/role
mkdir -p "$R"
grep -v '^role = ' "$KM_CONF" | sed "s|^data_dir = .*|data_dir = $R/data|" >"$R/node.conf"
out=$("$G" init --first --role control-plane --config "$R/node.conf" --admin-password-file "$GH_TMP/e52/admin-password" 2>&1); rc=$?
check_eq "init --first --role control-plane (exit 0)" 0 "$rc"; [ "$rc" = 0 ] || echo "$out"
check_match "node.role is written" 'role = "control-plane"' "$(cat "$R/node.conf")"
check_eq "only the role's certificates" \
	"ca.crt ca.key keymanager.crt keymanager.key node.crt node.key portal.crt portal.key publisher.crt publisher.key trafficmanager.crt trafficmanager.key" \
	"$(ls "$R/data/pki" | tr '\n' ' ' | sed 's/ $//')"
out=$("$G" init --first --role control-plane --config "$R/node.conf" --admin-password-file "$GH_TMP/e52/admin-password" 2>&1); rc=$?
check_match "a second run changes nothing" '0 .*unchanged role control-plane.*already initialised' "$(echo $rc $out)"
out=$("$G" init --first --role publisher --config "$R/node.conf" 2>&1); rc=$?
check_match "--role that the file contradicts: refused" '1 .*says node.role = control-plane but --role is publisher' "$(echo $rc $out)"
printf '[node]\nname = g\ndata_dir = %s/g\n' "$GH_TMP" >"$GH_TMP/g.conf"
out=$("$G" init --first --role gateway-external --config "$GH_TMP/g.conf" 2>&1); rc=$?
check_match "a gateway cannot be a first node" '1 .*cannot be a deployment.s first node' "$(echo $rc $out)"
out=$("$G" init --first --role bishop --config "$GH_TMP/g.conf" 2>&1); rc=$?
check_match "an unknown role is refused, naming the choices" '1 .*control-plane' "$(echo $rc $out)"
check_eq "... and neither wrote anything" "0" "$(grep -c role "$GH_TMP/g.conf")"
check_done
