#!/usr/bin/env bash
# The analytics collector (POST /internal/analytics/v1/events): a batch is stored once (events
# and per-minute rollups), a batch sent again is all duplicates, a malformed batch is refused
# whole (400/413/415) and logged with nothing written, a publisher's certificate gets 403;
# retention makes today's and tomorrow's partitions, drops the days past it and their rollups.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/tm.sh"
trap gw_teardown EXIT
gw_setup t20 || { echo "0 passed, 1 failed"; exit 1; }
tm_start || { echo "0 passed, 1 failed"; exit 1; }

# gen FILE COUNT TS_MS [LATENCY] [extra JSON members]: COUNT events of app A of tenant t20.example
gen() {
	/usr/bin/python3 - "$@" <<'PY'
import json, os, sys
f, n, ts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
lat = int(sys.argv[4]) if len(sys.argv) > 4 else 12
with open(f, "w") as out:
    for i in range(n):
        out.write(json.dumps({"id": os.urandom(16).hex(), "apiId": "api-20", "apiName": "Twenty",
            "apiVersion": "1.0", "apiContext": "/twenty", "apiResourceTemplate": "/*", "apiMethod": "GET",
            "applicationId": "app-20", "applicationName": "A", "applicationOwner": "dev",
            "applicationTenant": "carbon.super", "keyType": "PRODUCTION", "userName": "dev",
            "tenant": "carbon.super", "userIp": "127.0.0.1", "country": None, "userAgent": "t/1",
            "proxyResponseCode": 200 if i % 3 else 404, "targetResponseCode": 200, "responseLatency": lat + i,
            "backendLatency": 1, "correlationId": "c%d" % i, "gatewayNode": "n1", "environment": "External",
            "timestamp": ts + i}) + "\n")
PY
}
post() {	# ROLE FILE [content type] -> prints "CODE BODY"
	local o
	o=$(tm_curl "$1" -w '\n%{http_code}' -X POST -H "Content-Type: ${3:-application/x-ndjson}" \
		--data-binary "@$2" "$TM_URL/internal/analytics/v1/events")
	printf '%s %s' "${o##*$'\n'}" "${o%$'\n'*}"
}
count() { sql "SELECT count(*) FROM gh_analytics_events"; }
NOW=$(date +%s%3N)

gen "$GH_TMP/b1" 30 "$NOW"
check_eq "a batch of 30 is stored" '200 {"accepted":30,"duplicates":0}' "$(post gw-external "$GH_TMP/b1")"
check_eq "30 events in PostgreSQL" 30 "$(count)"
check_eq "rollups: 30 requests, 20 of class 2, 10 of class 4" "30|20|10" \
	"$(sql "SELECT sum(requests), sum(requests) FILTER (WHERE status_class = 2), sum(requests) FILTER (WHERE status_class = 4) FROM gh_analytics_minute")"
check_eq "rollups carry the application's owner, tenant and names" "dev carbon.super Twenty 1.0 A ''" \
	"$(sql "SELECT DISTINCT app_owner || ' ' || app_tenant || ' ' || api_name || ' ' || api_version || ' ' || app_name || ' ''' || country || '''' FROM gh_analytics_minute")"
check_eq "rollup histogram sums to the requests, latency sum and max" "30|30|795|41" \
	"$(sql "SELECT sum(requests), (SELECT sum(x) FROM gh_analytics_minute m2, unnest(m2.latency_hist) x), sum(latency_sum), max(latency_max) FROM gh_analytics_minute")"
check_match "today's partition exists" "gh_analytics_events_$(date -u +%Y%m%d)" \
	"$(sql "SELECT relname FROM pg_class WHERE relname LIKE 'gh_analytics_events_2%'")"

check_eq "the same batch again: all duplicates" '200 {"accepted":0,"duplicates":30}' "$(post gw-internal "$GH_TMP/b1")"
check_eq "counts unchanged" "30 30" "$(count) $(sql "SELECT sum(requests) FROM gh_analytics_minute")"

# Malformed batches: refused whole, nothing written.
head -3 "$GH_TMP/b1" >"$GH_TMP/bad"; echo 'not json' >>"$GH_TMP/bad"
check_match "a line that is not JSON: 400 naming line 4" '^400 .*line 4: not a JSON object' "$(post gw-external "$GH_TMP/bad")"
gen "$GH_TMP/b2" 3 "$NOW"
cp "$GH_TMP/b2" "$GH_TMP/bad"; sed 's/"id": "[0-9a-f]*", //' "$GH_TMP/b2" | head -1 >>"$GH_TMP/bad"
check_match "a line without an id: 400" '^400 .*line 4: id must be' "$(post gw-external "$GH_TMP/bad")"
sed '2s/"id": "[0-9a-f]*"/"id": "XYZ"/' "$GH_TMP/b2" >"$GH_TMP/bad"
check_match "a bad id: 400 naming line 2" '^400 .*line 2: id must be' "$(post gw-external "$GH_TMP/bad")"
sed '3s/"responseLatency": [0-9]*/"responseLatency": -5/' "$GH_TMP/b2" >"$GH_TMP/bad"
check_match "a negative latency: 400" '^400 .*line 3: responseLatency' "$(post gw-external "$GH_TMP/bad")"
sed '1s/"proxyResponseCode": [0-9]*/"proxyResponseCode": "200"/' "$GH_TMP/b2" >"$GH_TMP/bad"
check_match "a status that is a string: 400" '^400 .*line 1: proxyResponseCode' "$(post gw-external "$GH_TMP/bad")"
sed '1s/"userAgent": "t\/1"/"userAgent": "a\\u0001b"/' "$GH_TMP/b2" >"$GH_TMP/bad"
check_match "a control character in a string: 400" '^400 .*line 1: userAgent' "$(post gw-external "$GH_TMP/bad")"
: >"$GH_TMP/bad"
check_match "an empty batch: 400" '^400 ' "$(post gw-external "$GH_TMP/bad")"
head -c 9437184 /dev/zero | tr '\0' 'x' >"$GH_TMP/big"
check_match "a 9 MB body: 413" '^413' "$(post gw-external "$GH_TMP/big")"
check_match "not application/x-ndjson: 415" '^415' "$(post gw-external "$GH_TMP/b2" application/json)"
check_match "a publisher's certificate: 403" '^403' "$(post publisher "$GH_TMP/b2")"
check_eq "nothing of them was written" "30 30" "$(count) $(sql "SELECT sum(requests) FROM gh_analytics_minute")"
check_match "refusals are logged" 'events_refused.*line 4: not a JSON object' "$(cat "$TM_LOG")"
# 7 × 400, 415, 403 (the 9 MB body is refused by the port's http.max_body_bytes before the route)
check_eq "metrics count the refused batches" "gatehouse_tm_batch_refused_total 9" \
	"$(curl -s "$TM_MGMT/metrics" | grep '^gatehouse_tm_batch_refused_total')"

# Retention: events of three days ago, then the traffic manager restarted with retention = 1d.
OLD=$(( NOW - 3 * 86400000 ))
OLD_DAY=$(date -u -d "@$(( OLD / 1000 ))" +%Y%m%d)
gen "$GH_TMP/b3" 5 "$OLD"
check_eq "events of three days ago are stored" '200 {"accepted":5,"duplicates":0}' "$(post gw-external "$GH_TMP/b3")"
check_eq "in their own day's partition" 5 "$(sql "SELECT count(*) FROM gh_analytics_events_$OLD_DAY")"
check_ok "traffic manager stops" tm_stop
echo 'retention = 1d' >>"$TM_CONF"
tm_restart
for _ in $(seq 1 100); do
	[ -z "$(sql "SELECT 1 FROM pg_class WHERE relname = 'gh_analytics_events_$OLD_DAY'")" ] && break
	sleep 0.1
done
check_eq "the old day's partition is dropped" "" "$(sql "SELECT relname FROM pg_class WHERE relname = 'gh_analytics_events_$OLD_DAY'")"
check_eq "its rollups are deleted, today's are kept" "0|30" \
	"$(sql "SELECT count(*) FILTER (WHERE minute < now() - interval '1 day'), coalesce(sum(requests) FILTER (WHERE minute >= now() - interval '1 day'), 0) FROM gh_analytics_minute")"
check_eq "today's events are kept" 30 "$(count)"
check_match "tomorrow's partition is made ahead" "gh_analytics_events_$(date -u -d tomorrow +%Y%m%d)" \
	"$(sql "SELECT relname FROM pg_class WHERE relname LIKE 'gh_analytics_events_2%'")"
check_match "metrics count the dropped partition" 'gatehouse_tm_dropped_partitions_total 1' "$(curl -s "$TM_MGMT/metrics")"
check_ok "trafficmanager stops" tm_stop
check_done
