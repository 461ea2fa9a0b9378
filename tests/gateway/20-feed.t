#!/usr/bin/env bash
# The gateways' configuration comes from the data feed: an API deployed to Internal only
# is routed by gw-internal and 404 on gw-external, one deployed to both by both; a deploy,
# an undeploy, a redeployed revision and a lifecycle change reach the gateways within 1 s;
# the routed path is the normalised one (encodings refused with 400); a 410 from the feed
# leads to a fresh snapshot; the disk snapshot lets a gateway start and serve with the
# publisher down, and it catches up when the publisher returns; a gateway started on an
# environment it may not serve exits non-zero and says why.  "Routed" is seen as 401 (the
# APIs need a token and none is sent); "not routed" as the WSO2 404.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/gw.sh"
trap gw_teardown EXIT
gw_setup g20 || { echo "0 passed, 1 failed"; exit 1; }
P=$PUB_URL/api/am/publisher/v4
st() { curl -s --cacert "$KM_CA" -o /dev/null -w '%{http_code}' "$@"; }
metric() { curl -s "$1/metrics" | sed -n "s/^$2 //p"; }
deployed_rev() { pcall "$ADM" "$P/apis/$1/revisions?query=deployed:true"; jget "$BODY" list.0.id; }

IONLY=$(gw_api IntOnly /intonly 1.0 Internal)
BOTH=$(gw_api Both /both 1.0 "Internal External")
check_match "two APIs deployed" '^[0-9a-f-]{36} [0-9a-f-]{36}$' "$IONLY $BOTH"
gw_start gw-internal || { echo "0 passed, 1 failed"; exit 1; }
gw_start gw-external || { echo "0 passed, 1 failed"; exit 1; }

# Which gateway serves what.
check_eq "Internal-only API: routed by gw-internal" 401 "$(st "$GWI_URL/intonly/1.0/x")"
check_eq "Internal-only API: routed by gw-internal over plain HTTP" 401 "$(st "$GWI_HTTP_URL/intonly/1.0/x")"
check_eq "Internal-only API: 404 on gw-external" 404 "$(st "$GWE_URL/intonly/1.0/x")"
check_match "as WSO2's 404" '"code":404.*"message":"Not Found".*No matching resource' "$(gwe "$GWE_URL/intonly/1.0/x")"
check_eq "API of both: routed by gw-internal" 401 "$(st "$GWI_URL/both/1.0/x")"
check_eq "API of both: routed by gw-external" 401 "$(st "$GWE_URL/both/1.0/x")"
check_eq "an unknown context: 404" 404 "$(st "$GWI_URL/nothing/1.0/x")"
check_eq "an unknown version: 404" 404 "$(st "$GWI_URL/both/9.9/x")"

# Changes while running.
LATE=$(gw_api Late /late 1.0 External)
check_eq "deployed while running: routed by gw-external within 1 s" 401 "$(gw_wait_code 401 1000 "$GWE_URL/late/1.0/x")"
check_eq "and not by gw-internal" 404 "$(st "$GWI_URL/late/1.0/x")"
REV=$(deployed_rev "$BOTH")
jpost "$ADM" "$P/apis/$BOTH/undeploy-revision?revisionId=$REV" '[{"name":"External"}]'
check_eq "undeploy from External" 201 "$CODE"
check_eq "undeployed: 404 on gw-external within 1 s" 404 "$(gw_wait_code 404 1000 "$GWE_URL/both/1.0/x")"
check_eq "still routed by gw-internal" 401 "$(st "$GWI_URL/both/1.0/x")"
pcall "$ADM" -X PUT -H 'Content-Type: application/json' \
	--data-binary '{"operations":[{"target":"/only/{id}","verb":"GET"}]}' "$P/apis/$IONLY"
check_eq "operations changed" 200 "$CODE"
pcall "$ADM" -H 'Content-Type: application/json' -d '{"description":"second"}' "$P/apis/$IONLY/revisions"
R2=$(jget "$BODY" id)
jpost "$ADM" "$P/apis/$IONLY/deploy-revision?revisionId=$R2" '[{"name":"Internal","vhost":"localhost"}]'
check_eq "revision 2 deployed to Internal" 201 "$CODE"
check_eq "its resource is routed within 1 s" 401 "$(gw_wait_code 401 1000 "$GWI_URL/intonly/1.0/only/7")"
check_eq "the old wildcard resource is gone" 404 "$(st "$GWI_URL/intonly/1.0/x")"
check_eq "another verb on the new resource: 405" 405 "$(st -X POST "$GWI_URL/intonly/1.0/only/7")"
check_match "with Allow" '[Aa]llow: GET' "$(curl -s --cacert "$KM_CA" -D - -o /dev/null -X POST "$GWI_URL/intonly/1.0/only/7")"
pcall "$ADM" -X POST "$P/apis/change-lifecycle?action=Block&apiId=$LATE"
check_eq "Late blocked" 200 "$CODE"
check_eq "a BLOCKED API answers 503 within 1 s" 503 "$(gw_wait_code 503 1000 "$GWE_URL/late/1.0/x")"
check_match "with WSO2's code" '"code":700700' "$(gwe "$GWE_URL/late/1.0/x")"

# The routed path is the normalised one.
for p in '/intonly/1.0/only/%2e%2e/x' '/intonly/1.0/only/..;/x' '/intonly/1.0/only%2f7' '/intonly/1.0/only/%252e%252e' \
	'/intonly/1.0//only/7' '/intonly/1.0/only/7%00' '/intonly/1.0/only/../only/7' '/intonly/1.0/only/7;x=1'; do
	check_eq "refused: $p" 400 "$(st --path-as-is "$GWI_URL$p")"
done
check_match "as a JSON error" '"code":400.*Invalid request path' "$(gwi --path-as-is "$GWI_URL/intonly/1.0/only/%2e%2e/x")"
check_eq "unreserved escapes are decoded before routing" 401 "$(st "$GWI_URL/%69ntonly/1%2e0/%6Fnly/7")"

# 410: the feed's retention passed the gateway's position.
S0=$(metric "$GWI_MGMT" gatehouse_gw_feed_snapshots_total)
sql "BEGIN; SELECT pg_advisory_xact_lock($((0x67685f6f7574626f)));
INSERT INTO gh_settings_kv (name, value) VALUES ('outbox.pruned_through', (SELECT max(id) + 1 FROM gh_events)::text)
 ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value;
INSERT INTO gh_events (tenant, type, payload) VALUES ('carbon.super', 'test.marker', '{}');
SELECT pg_notify('gh_events', (SELECT max(id) FROM gh_events)::text); COMMIT" >/dev/null
for _ in $(seq 1 60); do [ "$(metric "$GWI_MGMT" gatehouse_gw_feed_snapshots_total)" -gt "$S0" ] && break; sleep 0.05; done
check_eq "after a 410, gw-internal takes a fresh snapshot" "$((S0 + 1))" "$(metric "$GWI_MGMT" gatehouse_gw_feed_snapshots_total)"
check_match "and says so" 'past the feed.s retention' "$(cat "$GWI_LOG")"
check_eq "it still routes" 401 "$(st "$GWI_URL/intonly/1.0/only/7")"
check_eq "and follows the feed again" 401 "$(gw_wait_code 401 1000 "$GWI_URL/both/1.0/x")"

# The snapshot on disk.
SNAP=$GH_TMP/g20/data/gw-internal-snapshot.json
check_eq "gw-internal keeps its snapshot on disk, mode 600" 600 "$(stat -c %a "$SNAP" 2>/dev/null)"
check_match "of its environment" '"environment":\{"name":"Internal"' "$(head -c 300 "$SNAP")"
check_ok "gw-internal stops" gw_stop gw-internal
km_kill "$PUB_PID"
check_eq "the publisher is down" 000 "$(st "$FEED_URL/internal/data/v1/snapshot?environment=Internal")"
: >"$GH_TMP/gw-internal.log"
if gw_start gw-internal; then
	check_eq "with the publisher down, gw-internal starts from its disk snapshot and routes" 401 \
		"$(st "$GWI_URL/intonly/1.0/only/7")"
	check_match "it says it serves the disk snapshot" 'serving the snapshot on disk' "$(cat "$GWI_LOG")"
else
	_ko "gw-internal starts from its disk snapshot"
fi
_cp_start_publisher
LATE2=$(gw_api Late2 /late2 1.0 Internal)
check_eq "when the publisher is back, gw-internal catches up (back-off at most 5 s)" 401 \
	"$(gw_wait_code 401 7000 "$GWI_URL/late2/1.0/x")"
check_ok "gw-internal stops cleanly" gw_stop gw-internal

# A gateway on an environment it may not serve exits non-zero and says why.
wrong_zone() {	# ZONE ENV CERT_ENV -> prints the exit status and output
	local zone=$1 env=$2 cenv=$3 d=$GH_TMP/wrong-$1-$2 conf rc
	mkdir -p "$d/data/pki"
	cp "$KM_CA" "$d/data/pki/ca.crt"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/data/pki/$zone.key" \
		-subj "/CN=$zone" -out "$d/$zone.csr" 2>/dev/null
	openssl x509 -req -in "$d/$zone.csr" -CA "$KM_CA" -CAkey "$KM_PKI/ca.key" -set_serial "$RANDOM$RANDOM" -days 1 \
		-out "$d/data/pki/$zone.crt" -extfile <(printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth,serverAuth\nsubjectAltName=DNS:localhost,URI:gatehouse://%s/%s/wrong\n' "$zone" "$cenv") 2>/dev/null
	chmod 600 "$d/data/pki/$zone.key"
	conf=$d/node.conf
	sed "s|^data_dir = .*|data_dir = $d/data|" "$KM_CONF" >"$conf"
	printf '[%s]\nlisten = 127.0.0.1\nhttps_port = %s\nmgmt_port = %s\nworkers = 1\nenvironment = %s\n' \
		"$zone" "$(_km_port)" "$(_km_port)" "$env" >>"$conf"
	[ "$zone" = gw-internal ] && printf 'http_port = %s\n' "$(_km_port)" >>"$conf"
	timeout 20 "$GH_BIN/gatehouse-$zone" --config "$conf" >"$d/out" 2>&1
	rc=$?
	printf '%s %s\n' "$rc" "$(tr '\n' ' ' <"$d/out")"
}
OUT=$(wrong_zone gw-external Internal Internal)
check_match "gw-external on the Internal environment exits non-zero" '^[1-9][0-9]* ' "$OUT"
check_match "saying why" "environment 'Internal' is of type 'internal'; .* serves only environments of type 'external'" "$OUT"
OUT=$(wrong_zone gw-internal External External)
check_match "gw-internal on the External environment exits non-zero" '^[1-9][0-9]* ' "$OUT"
check_match "saying why" "environment 'External' is of type 'external'; .* serves only environments of type 'internal'" "$OUT"
OUT=$(wrong_zone gw-internal External Internal)
check_match "gw-internal whose certificate names another environment exits non-zero" '^[1-9][0-9]* ' "$OUT"
check_match "with the feed's refusal" "refuses environment 'External': 403 This gateway's certificate is for another environment" "$OUT"
check_done
