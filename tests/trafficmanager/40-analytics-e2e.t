#!/usr/bin/env bash
# Analytics end to end: a traffic mix of known shape goes through gw-external (behind a
# trusted load balancer, countries from a GeoIP database the test writes), the gateway ships
# its spool to the traffic manager, and the publisher's and the portal's analytics APIs give
# exact counts by status, country and application, latency percentiles within one histogram
# bucket, and only the caller's own traffic (another tenant's admin and another developer
# see none of it).
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/tm.sh"
trap gw_teardown EXIT
gw_setup t40 || { echo "0 passed, 1 failed"; exit 1; }
tm_start || { echo "0 passed, 1 failed"; exit 1; }
DB=$GH_TMP/geo.mmdb
perl "$GH_ROOT/tests/gateway/geo-db.pl" "$DB"
API=$(gw_api AnaE2E /anae2e 1.0 External)
check_match "an API on External" '^[0-9a-f-]{36}$' "$API"
gw_app AppA "$API" Gold || echo "FAIL: application A"
TA=$TOKEN APP_A=$APP_ID
gw_app AppB "$API" Gold || echo "FAIL: application B"
TB=$TOKEN APP_B=$APP_ID
gw_start gw-external "geoip_db = $DB" "trusted_proxies = 127.0.0.2" "spool_dir = $GH_TMP/spool" \
	"analytics_interval = 200ms" || { echo "0 passed, 1 failed"; exit 1; }
FROM=$(( $(date +%s%3N) - 60000 ))

# send COUNT TOKEN PATH XFF: COUNT requests through the load balancer address
send() {
	local n=$1 t=$2 p=$3 x=$4 auth=() i
	[ -n "$t" ] && auth=(-H "Authorization: Bearer $t")
	for i in $(seq 1 "$n"); do
		gwe -o /dev/null -w '%{http_code}\n' --interface 127.0.0.2 "${auth[@]}" \
			-H "X-Forwarded-For: $x" "$GWE_URL$p"
	done
}
OUT=$GH_TMP/codes
{
	send 20 "$TA" /anae2e/1.0/status/200 192.0.2.10      # A, FR, 200, fast
	send 10 "$TA" /anae2e/1.0/slow/120 198.51.100.10     # A, DE, 200, about 120 ms
	send 5 "$TA" /anae2e/1.0/status/500 203.0.113.10     # A, unknown, 500
	send 8 "$TB" /anae2e/1.0/status/404 192.0.2.11       # B, FR, 404
	send 4 "" /anae2e/1.0/status/200 198.51.100.11       # no token, DE, 401
} >"$OUT"
check_eq "the client saw 30 x 200, 4 x 401, 8 x 404, 5 x 500" "30 4 8 5" \
	"$(for c in 200 401 404 500; do grep -c "^$c\$" "$OUT"; done | xargs)"
TO=$(( $(date +%s%3N) + 60000 ))
for _ in $(seq 1 100); do
	[ "$(sql "SELECT count(*) FROM gh_analytics_events WHERE api_id = '$API'")" = 47 ] && break
	sleep 0.1
done
check_eq "47 events stored" 47 "$(sql "SELECT count(*) FROM gh_analytics_events WHERE api_id = '$API'")"
check_eq "the rollups hold 47 requests" 47 \
	"$(sql "SELECT coalesce(sum(requests), 0) FROM gh_analytics_minute WHERE api_id = '$API'")"

P=$PUB_URL/api/am/publisher/v4/analytics D=$PORTAL_URL/api/am/devportal/v3/analytics
Q="from=$FROM&to=$TO"
j() { printf '%s' "$BODY" | /usr/bin/python3 -c "import json,sys; b=json.load(sys.stdin); print($1)"; }
pcall "$ADM" "$P/requests?$Q"
check_eq "publisher requests: 200" 200 "$CODE"
check_eq "publisher: 47 requests, 17 errors" "47 17" "$(j 'b["summary"]["requests"], b["summary"]["errors"]')"
pcall "$ADM" "$P/status?$Q"
check_eq "publisher by status class" "2xx=30 4xx=12 5xx=5" \
	"$(j '" ".join("%s=%d" % (e["statusClass"], e["requests"]) for e in b["list"] if e["requests"])')"
pcall "$ADM" "$P/countries?$Q"
check_eq "publisher by country (GeoIP)" "FR=28 DE=14 unknown=5" \
	"$(j '" ".join("%s=%d" % (e["country"], e["requests"]) for e in b["list"])')"
pcall "$ADM" "$P/top-applications?$Q"
check_eq "publisher top applications" "AppA=35 AppB=8" \
	"$(j '" ".join("%s=%d" % (e["applicationName"], e["requests"]) for e in b["list"])')"
pcall "$ADM" "$P/top-apis?$Q"
check_eq "publisher top APIs" "AnaE2E=47" "$(j '" ".join("%s=%d" % (e["apiName"], e["requests"]) for e in b["list"])')"
pcall "$ADM" "$P/latency?$Q&applicationId=$APP_A"
# AppA: 25 fast requests and 10 of about 120 ms: p50 fast, p95 in the (100, 150] bucket
check_eq "latency p95 of AppA in the bucket of 120 ms" 150 "$(j 'b["summary"]["p95"]')"
check_eq "latency p50 of AppA is a fast bucket" yes "$(j '"yes" if b["summary"]["p50"] <= 70 else b["summary"]["p50"]')"
check_eq "latency max of AppA at least 120 ms" yes "$(j '"yes" if 120 <= b["summary"]["max"] <= 150 else b["summary"]["max"]')"

DEVT=$DEV_TOKEN
pcall "$DEVT" "$D/requests?$Q"
check_eq "portal: the developer's 43 requests" "200 43" "$CODE $(j 'b["summary"]["requests"]')"
pcall "$DEVT" "$D/status?$Q&applicationId=$APP_B"
check_eq "portal: AppB's 404s" "4xx=8" \
	"$(j '" ".join("%s=%d" % (e["statusClass"], e["requests"]) for e in b["list"] if e["requests"])')"
ldap_user carbon.super eve 'Ev3-pass-123' subscriber 2>/dev/null
EVE=$(mgmt_token eve 'Ev3-pass-123' "apim:subscribe apim:app_manage")
pcall "$EVE" "$D/requests?$Q"
check_eq "portal: another developer sees none of it" "200 0" "$CODE $(j 'b["summary"]["requests"]')"
tenant_create acme.com acmeadmin 'Acme-Adm1n' >/dev/null 2>&1
ACME=$(mgmt_token acmeadmin@acme.com 'Acme-Adm1n' "apim:api_view apim:subscribe")
pcall "$ACME" "$P/requests?$Q"
check_eq "publisher: another tenant's admin sees none of it" "200 0" "$CODE $(j 'b["summary"]["requests"]')"
pcall "$ACME" "$P/requests?$Q&apiId=$API"
check_eq "publisher: another tenant naming the API sees none of it" "200 0" "$CODE $(j 'b["summary"]["requests"]')"
check_match "the gateway's spool is drained" 'gatehouse_gw_spool_depth 0' "$(curl -s "$GWE_MGMT/metrics")"
check_done
