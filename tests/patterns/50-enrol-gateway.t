#!/usr/bin/env bash
# Enrolment of a gateway node (DESIGN.md "Enrolment"), on loopback: the first node's admin
# issues a gateway-external token; a second node folder runs `gatehouse init --enroll` with it,
# gets a gw-external certificate for External, and its gatehouse-gw-external serves an API
# deployed to External and registers its backend-JWT key.  The token works once and only for
# its role; an expired or revoked token is refused; a node that is given another CA
# fingerprint (or an altered token) refuses the server and writes nothing; the DMZ node's
# folder holds no CA key, database or LDAP credentials and no signing-key KEK; the admin API
# lists and revokes tokens, and only the super tenant's admin may use it; the feed port still
# refuses every other path without a gateway certificate; failures are rate-limited.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/gw.sh"
G=$GH_BIN/gatehouse
N2_PID=""
cleanup() { [ -n "$N2_PID" ] && km_kill "$N2_PID"; gw_teardown; }
trap cleanup EXIT
gw_setup e50 || { echo "0 passed, 1 failed"; exit 1; }
A=$PUB_URL/api/am/admin/v4/enrolment-tokens
ENROLL=$FEED_URL/internal/enroll/v1
CA_FP=$(openssl x509 -in "$KM_CA" -outform DER | sha256sum | cut -d' ' -f1)

# node_conf DIR NAME: a fresh node folder with only its own settings.
node_conf() {
	mkdir -p "$1"
	printf '[node]\nname = %s\ndata_dir = %s/data\nhostnames = localhost, 127.0.0.1\n[log]\nlevel = warn\n' \
		"$2" "$1" >"$1/node.conf"
}
# new_token ROLE [ENV]: issue a token (sets CODE, BODY, TOK).
new_token() {
	local env=""
	[ -n "${2:-}" ] && env=",\"environment\":\"$2\""
	jpost "$ADM" "$A" "{\"role\":\"$1\"$env,\"expiresIn\":600}"
	TOK=$(jget "$BODY" token)
}
# enroll_raw JSON: POST to the enrolment endpoint without a client certificate (sets CODE, BODY).
enroll_raw() { pcall "" -H 'Content-Type: application/json' --data-binary "$1" "$ENROLL"; }
csr_json() {	# TOKEN NODE [ROLE]: a request body with one fresh CSR for every component
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$GH_TMP/x.key" \
		-subj /CN=x -out "$GH_TMP/x.csr" 2>/dev/null
	/usr/bin/python3 -c 'import json,sys
d={"token":sys.argv[1],"node":sys.argv[2],"csr":open(sys.argv[3]).read()}
if len(sys.argv) > 4: d["role"]=sys.argv[4]
print(json.dumps(d))' "$1" "$2" "$GH_TMP/x.csr" "${@:3}"
}

# ---- issuing ----
new_token gateway-external External
check_eq "a gateway-external token is issued (201)" 201 "$CODE"
check_match "the token is self-describing (ghe1.FP.SECRET)" '^ghe1\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$' "$TOK"
check_eq "the answer carries the CA's fingerprint" "sha256:$CA_FP" "$(jget "$BODY" caFingerprint)"
check_eq "role and environment" "gateway-external External" "$(jget "$BODY" role) $(jget "$BODY" environment)"
check_match "expiresAt is an ISO time" '^20[0-9-]+T[0-9:]+Z$' "$(jget "$BODY" expiresAt)"
check_eq "only the token's SHA-256 is stored" "1 0" \
	"$(sql "SELECT count(*) FROM gh_enrolment_tokens WHERE hash = '$(sha "$TOK")'") $(sql "SELECT count(*) FROM gh_enrolment_tokens WHERE hash = '$TOK'")"
GW_TOK=$TOK GW_TOK_ID=$(jget "$BODY" id)
jpost "$ADM" "$A" '{"role":"gateway-external"}'
check_eq "a gateway token needs an environment (400)" 400 "$CODE"
jpost "$ADM" "$A" '{"role":"gateway-external","environment":"Internal"}'
check_eq "a gateway-external token for an internal environment (400)" 400 "$CODE"
jpost "$ADM" "$A" '{"role":"gateway-internal","environment":"Nowhere"}'
check_eq "an environment that does not exist (400)" 400 "$CODE"
jpost "$ADM" "$A" '{"role":"control-plane","environment":"External"}'
check_eq "an environment on a control-plane token (400)" 400 "$CODE"
jpost "$ADM" "$A" '{"role":"bishop"}'
check_eq "an unknown role (400)" 400 "$CODE"
jpost "$ADM" "$A" '{"role":"publisher","expiresIn":999999}'
check_eq "expiresIn beyond a day (400)" 400 "$CODE"
jpost "$ADM" "$A" '{"role":"publisher","expires":60}'
check_eq "an unknown member (400)" 400 "$CODE"
check_eq "a token without apim:admin may not issue tokens (403)" 403 \
	"$(code km_curl -H "Authorization: Bearer $(mgmt_token admin "$KM_ADMIN_PW" "apim:api_view")" \
		-H 'Content-Type: application/json' -d '{"role":"publisher"}' "$A")"
tenant_create acme.com acmeadmin 'Acme-adm1n-pw' || echo "FAIL: tenant"
TADM=$(mgmt_token acmeadmin@acme.com 'Acme-adm1n-pw' "apim:admin")
jpost "$TADM" "$A" '{"role":"publisher"}'
check_eq "a tenant's admin may not issue tokens (403: enrolment is deployment-wide)" 403 "$CODE"
check_eq "nor list them (403)" 403 "$(code km_curl -H "Authorization: Bearer $TADM" "$A")"
check_eq "the issue is audited" 1 \
	"$(sql "SELECT count(*) FROM gh_audit WHERE action = 'enrolment_token.create' AND target = '$GW_TOK_ID'")"

# ---- a node that does not trust the server writes nothing ----
N2=$GH_TMP/dmz
node_conf "$N2" dmz1
SUM0=$(sha256sum "$N2/node.conf")
out=$("$G" init --enroll "$FEED_URL" --token "$GW_TOK" --config "$N2/node.conf" \
	--ca-fingerprint "sha256:$(printf '%064d' 7)" 2>&1); rc=$?
check_eq "another --ca-fingerprint: refused (exit 1)" 1 "$rc"
check_match "... with a clear message" 'refusing to enrol.*nothing written' "$out"
BAD=${GW_TOK:0:5}$( [ "${GW_TOK:5:1}" = A ] && echo B || echo A )${GW_TOK:6}
out=$("$G" init --enroll "$FEED_URL" --token "$BAD" --config "$N2/node.conf" 2>&1); rc=$?
check_eq "a token whose fingerprint is altered: refused (exit 1)" 1 "$rc"
check_match "... the server's CA does not match" "refusing to enrol.*sha256:$CA_FP.*nothing written" "$out"
check_eq "nothing was written" "$SUM0 absent" "$(sha256sum "$N2/node.conf") $([ -e "$N2/data" ] && echo present || echo absent)"
check_eq "the token is still unused" active "$(jget "$(km_curl -H "Authorization: Bearer $ADM" "$A/$GW_TOK_ID")" status)"

# ---- enrolment of the DMZ node ----
out=$("$G" init --enroll "$FEED_URL" --token "$GW_TOK" --config "$N2/node.conf" 2>&1); rc=$?
check_eq "gatehouse init --enroll exits 0" 0 "$rc"; [ "$rc" = 0 ] || echo "$out"
check_match "it verified the server's CA" "verified  the server's CA \(sha256 $CA_FP\)" "$out"
SAN=$(openssl x509 -in "$N2/data/pki/gw-external.crt" -noout -ext subjectAltName 2>/dev/null)
check_match "a gw-external certificate for External and this node" 'URI:gatehouse://gw-external/External/dmz1' "$SAN"
check_ok "it chains to the deployment's CA" openssl verify -CAfile "$KM_CA" "$N2/data/pki/gw-external.crt"
check_eq "the CA certificate is the first node's" "$CA_FP" \
	"$(openssl x509 -in "$N2/data/pki/ca.crt" -outform DER | sha256sum | cut -d' ' -f1)"
check_eq "keys and the configuration are 0600" "600 600 600" \
	"$(stat -c %a "$N2/data/pki/gw-external.key" "$N2/data/gw-external-backend-key.pem" "$N2/node.conf" | tr '\n' ' ' | sed 's/ $//')"
check_eq "only the gateway's certificates (no control-plane ones)" "ca.crt gw-external.crt gw-external.key node.crt node.key" \
	"$(ls "$N2/data/pki" | tr '\n' ' ' | sed 's/ $//')"
check_ok "the configuration file is valid" "$G" check-config "$N2/node.conf"
check_match "it names the role and the environment" 'role = "gateway-external"' "$(cat "$N2/node.conf")"
check_match "... and the feed" "feed_url = \"$FEED_URL\"" "$(cat "$N2/node.conf")"
check_eq "the token is used, by dmz1" "used dmz1" \
	"$(T=$(km_curl -H "Authorization: Bearer $ADM" "$A/$GW_TOK_ID"); echo "$(jget "$T" status) $(jget "$T" usedByNode)")"
check_eq "the redemption is audited" 1 \
	"$(sql "SELECT count(*) FROM gh_audit WHERE action = 'enrolment.redeem' AND target = '$GW_TOK_ID' AND outcome = 'success'")"

# The DMZ node's folder: no CA key, no database or LDAP credentials, no signing-key KEK.
KEK=$(sed -n 's/^signing_kek = //p' "$KM_CONF" | tr -d '"')
CA_PUB=$(openssl x509 -in "$KM_CA" -noout -pubkey)
leaks=""
while IFS= read -r -d '' f; do
	grep -qF "$KEK" "$f" && leaks="$leaks kek:$f"
	grep -qF "$GH_TEST_LDAP_ROOTPW" "$f" && leaks="$leaks ldap-password:$f"
	grep -qE '^\[(db|ldap|keys)\]|bind_password|signing_kek|^password' "$f" && leaks="$leaks setting:$f"
	if grep -q 'PRIVATE KEY' "$f"; then
		[ "$(openssl pkey -in "$f" -pubout 2>/dev/null)" = "$CA_PUB" ] && leaks="$leaks ca-key:$f"
	fi
done < <(find "$N2" -type f -print0)
check_eq "the DMZ folder holds no CA key, db/LDAP credentials or KEK (every file)" "" "$leaks"
check_eq "the DMZ folder holds no ca.key" "" "$(find "$N2" -name 'ca.key')"

# The enrolled node serves an API deployed to External.
gport=$(_km_port); gmport=$(_km_port)
printf '[gw-external]\nlisten = 127.0.0.1\nhttps_port = %s\nmgmt_port = %s\nworkers = 2\n' "$gport" "$gmport" >>"$N2/node.conf"
API=$(gw_api Enrolled /enrolled 1.0 External)
gw_app EnrolledApp "$API" Gold || echo "FAIL: application"
"$GH_BIN/gatehouse-gw-external" --config "$N2/node.conf" >>"$N2/gw.log" 2>&1 &
N2_PID=$!
_km_wait "http://127.0.0.1:$gmport" "$N2_PID" || { echo "FAIL: the enrolled gateway did not start"; tail -20 "$N2/gw.log"; }
check_match "the enrolled gateway serves External" '"environment":"External"' "$(curl -s "http://127.0.0.1:$gmport/health")"
check_eq "an API call through the enrolled gateway (token from the key manager)" 200 \
	"$(gw_wait_code 200 5000 -H "Authorization: Bearer $TOKEN" "https://localhost:$gport/enrolled/1.0/x")"
check_match "the backend saw it" '"path": "/x"' "$(tail -1 "$BE_PROD_LOG")"
for _ in $(seq 1 50); do
	[ "$(sql "SELECT count(*) FROM gh_backend_keys WHERE environment = 'External' AND node = 'dmz1'")" = 1 ] && break
	sleep 0.1
done
check_eq "its backend-JWT key is registered through the feed" 1 \
	"$(sql "SELECT count(*) FROM gh_backend_keys WHERE environment = 'External' AND node = 'dmz1'")"
check_match "... and published by the key manager" '"kid"' "$(km_curl "$KM_URL/oauth2/jwks/backend/External")"

# ---- the token once, only for its role ----
N3=$GH_TMP/dmz3
node_conf "$N3" dmz3
out=$("$G" init --enroll "$FEED_URL" --token "$GW_TOK" --config "$N3/node.conf" 2>&1); rc=$?
check_eq "the same token a second time: refused (exit 1)" 1 "$rc"
check_match "... 401" 'refused the enrolment \(401\)' "$out"
check_eq "... and nothing written" absent "$([ -e "$N3/data" ] && echo present || echo absent)"
enroll_raw "$(csr_json "$GW_TOK" dmz3)"
check_eq "the used token on the wire: 401" 401 "$CODE"
check_eq "one generic message" "The enrolment token is unknown, used, revoked or expired" "$(jget "$BODY" description)"
new_token gateway-external External
T2=$TOK T2_ID=$(jget "$BODY" id)
out=$("$G" init --enroll "$FEED_URL" --token "$T2" --role control-plane --config "$N3/node.conf" 2>&1); rc=$?
check_match "a gateway-external token used as control-plane: 403" 'refused the enrolment \(403\)' "$out"
check_eq "... and the token stays unused" active "$(jget "$(km_curl -H "Authorization: Bearer $ADM" "$A/$T2_ID")" status)"
sql "UPDATE gh_enrolment_tokens SET expires_at = now() - interval '1 second' WHERE id = '$T2_ID'" >/dev/null
enroll_raw "$(csr_json "$T2" dmz3)"
check_eq "an expired token: 401" 401 "$CODE"
check_eq "its state is expired" expired "$(jget "$(km_curl -H "Authorization: Bearer $ADM" "$A/$T2_ID")" status)"

# ---- malformed requests ----
new_token gateway-external External
T3=$TOK T3_ID=$(jget "$BODY" id)
enroll_raw '{"token":'
check_eq "malformed JSON: 400" 400 "$CODE"
enroll_raw "{\"token\":\"$T3\",\"node\":\"dmz3\",\"csr\":\"-----BEGIN CERTIFICATE REQUEST-----\\nAAAA\\n-----END CERTIFICATE REQUEST-----\\n\"}"
check_eq "a malformed CSR: 400" 400 "$CODE"
enroll_raw "{\"token\":\"$T3\",\"node\":\"bad/name\",\"csr\":\"x\"}"
check_eq "a bad node name: 400" 400 "$CODE"
enroll_raw "$(csr_json "not-a-token" dmz3)"
check_eq "a token of another format: 400" 400 "$CODE"
check_eq "... none of them used the token" active "$(jget "$(km_curl -H "Authorization: Bearer $ADM" "$A/$T3_ID")" status)"

# ---- listing and revoking ----
L=$(km_curl -H "Authorization: Bearer $ADM" "$A")
check_match "GET lists the tokens" '"count" ?: ?3,' "$L"
check_nomatch "... without secrets" 'ghe1\.|"hash"|"token"' "$L"
check_match "... with their state" '"status" ?: ?"used"' "$L"
check_eq "GET ?status=used" "$GW_TOK_ID" "$(jget "$(km_curl -H "Authorization: Bearer $ADM" "$A?status=used")" list.0.id)"
pcall "$ADM" -X DELETE "$A/$T3_ID"
check_eq "DELETE revokes an unused token" "200 revoked" "$CODE $(jget "$BODY" status)"
enroll_raw "$(csr_json "$T3" dmz3)"
check_eq "a revoked token: 401" 401 "$CODE"
check_eq "DELETE of a used token: 409" 409 "$(code km_curl -X DELETE -H "Authorization: Bearer $ADM" "$A/$GW_TOK_ID")"
check_eq "DELETE of an unknown token: 404" 404 "$(code km_curl -X DELETE -H "Authorization: Bearer $ADM" "$A/nope")"

# ---- a LAN gateway: gw-internal, and the LDAP settings for Basic authentication ----
new_token gateway-internal Internal
N4=$GH_TMP/lan4
node_conf "$N4" lan4
out=$("$G" init --enroll "$FEED_URL/" --token "$TOK" --config "$N4/node.conf" 2>&1); rc=$?
check_eq "a gateway-internal node enrols (the URL may end in /)" 0 "$rc"; [ "$rc" = 0 ] || echo "$out"
check_match "a gw-internal certificate for Internal" 'URI:gatehouse://gw-internal/Internal/lan4' \
	"$(openssl x509 -in "$N4/data/pki/gw-internal.crt" -noout -ext subjectAltName 2>/dev/null)"
C4=$(cat "$N4/node.conf")
check_match "its LDAP settings (Basic authentication)" "bind_password = \"$GH_TEST_LDAP_ROOTPW\"" "$C4"
check_nomatch "no database settings, no KEK" '^\[db\]|signing_kek' "$C4"

# ---- the feed port: enrolment is the one open path ----
check_eq "the feed refuses a snapshot without a certificate (403)" 403 \
	"$(code km_curl "$FEED_URL/internal/data/v1/snapshot?environment=External")"
check_eq "... and a POST without one (403, before its body)" 403 \
	"$(code km_curl -H 'Content-Type: application/json' --data-binary '{"kid":"k","jwk":{}}' "$FEED_URL/internal/data/v1/backend-keys")"
check_eq "... and an unknown path (403)" 403 "$(code km_curl "$FEED_URL/internal/enroll/v1/x")"
check_eq "a portal certificate is no gateway's (403)" 403 \
	"$(code feed_curl portal "$FEED_URL/internal/data/v1/snapshot?environment=External")"
check_eq "the gateway's certificate still reads the feed (200)" 200 \
	"$(code curl -s --cacert "$KM_CA" --cert "$N2/data/pki/gw-external.crt" --key "$N2/data/pki/gw-external.key" \
		"$FEED_URL/internal/data/v1/snapshot?environment=External")"
check_eq "... but not another environment's (403)" 403 \
	"$(code curl -s --cacert "$KM_CA" --cert "$N2/data/pki/gw-external.crt" --key "$N2/data/pki/gw-external.key" \
		"$FEED_URL/internal/data/v1/snapshot?environment=Internal")"

# ---- failures are rate-limited per client address ----
last=""
for _ in $(seq 1 12); do
	enroll_raw "$(csr_json "ghe1.$(printf 'A%.0s' $(seq 1 43)).$(printf 'B%.0s' $(seq 1 43))" dmz3)"
	last=$CODE
	[ "$CODE" = 429 ] && break
done
check_eq "repeated failures from one address: 429" 429 "$last"
check_match "... with Retry-After" '^[0-9]+$' "$(km_curl -o /dev/null -D - -H 'Content-Type: application/json' \
	--data-binary '{}' "$ENROLL" | sed -n 's/^Retry-After: *//Ip' | tr -d '\r')"
check_ok "the enrolled gateway stops on SIGTERM" km_kill "$N2_PID"
N2_PID=""
check_done
