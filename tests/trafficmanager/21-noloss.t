#!/usr/bin/env bash
# No analytics event is lost: 600 requests (200s, 404s and 401s) through two gw-external
# processes while the traffic manager is restarted twice, once after being down for 20 s, and
# one gateway is killed with SIGKILL mid-run and started again on the same spool: once the
# spools drain, PostgreSQL holds exactly one event per response the client received (a request
# cut by the kill is sent again and counts once more only when it got a response), the
# rollups add up to the same number and no id is stored twice.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/tm.sh"
trap gw_teardown EXIT
gw_setup t21 || { echo "0 passed, 1 failed"; exit 1; }
tm_start || { echo "0 passed, 1 failed"; exit 1; }
API=$(gw_api NoLoss /noloss 1.0 External)
check_match "an API on External" '^[0-9a-f-]{36}$' "$API"
gw_app NoLossApp "$API" Gold || echo "FAIL: application"
N=600

g1() { gw_start gw-external "spool_dir = $GH_TMP/spool1" "snapshot_file = $GH_TMP/snap1.json" \
	"analytics_interval = 300ms" && G1_URL=$GWE_URL G1_PID=$GWE_PID G1_MGMT=$GWE_MGMT; }
g1 || { echo "0 passed, 1 failed"; exit 1; }
gw_start gw-external "spool_dir = $GH_TMP/spool2" "snapshot_file = $GH_TMP/snap2.json" \
	"analytics_interval = 300ms" || { echo "0 passed, 1 failed"; exit 1; }
G2_URL=$GWE_URL G2_PID=$GWE_PID G2_MGMT=$GWE_MGMT
printf '%s\n%s\n' "$G1_URL" "$G2_URL" >"$GH_TMP/urls"

# The client: N requests at 15/s over both gateways (the list is re-read: a restarted gateway
# has new ports); a request without a response is sent again to the next gateway.
/usr/bin/python3 - "$GH_TMP/urls" "$TOKEN" "$N" "$KM_CA" "$GH_TMP/client.json" <<'PY' &
import http.client, json, ssl, sys, time, urllib.parse
urls_file, token, n, ca, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
ctx = ssl.create_default_context(cafile=ca)
conns, counts, answered, retries, lost = {}, {}, 0, 0, 0
start = time.time()
for i in range(n):
    wait = start + i / 15.0 - time.time()
    if wait > 0:
        time.sleep(wait)
    kind = i % 3
    path = "/nothing/1.0/x" if kind == 1 else "/noloss/1.0/item/%d" % i
    headers = {"Authorization": "Bearer " + token} if kind == 0 else {}
    for attempt in range(400):
        urls = [l.strip() for l in open(urls_file) if l.strip()]
        u = urls[(i + attempt) % len(urls)]
        try:
            c = conns.get(u)
            if c is None:
                p = urllib.parse.urlsplit(u)
                c = conns[u] = http.client.HTTPSConnection(p.hostname, p.port, context=ctx, timeout=5)
            c.request("GET", path, headers=headers)
            r = c.getresponse()
            r.read()
            counts[r.status] = counts.get(r.status, 0) + 1
            answered += 1
            break
        except Exception:
            old = conns.pop(u, None)
            if old is not None:
                old.close()
            retries += 1
            time.sleep(0.05)
    else:
        lost += 1
json.dump({"answered": answered, "counts": counts, "retries": retries, "lost": lost}, open(out, "w"))
PY
CLIENT=$!

sleep 3
check_ok "traffic manager restart 1: stops" tm_stop
tm_restart || echo "FAIL: traffic manager restart 1"
sleep 3
kill -9 "$G1_PID"; wait "$G1_PID" 2>/dev/null
g1 || echo "FAIL: gateway 1 did not start again"
printf '%s\n%s\n' "$G1_URL" "$G2_URL" >"$GH_TMP/urls"
sleep 2
check_ok "traffic manager restart 2: stops" tm_stop
sleep 10
D1=$(curl -s "$G2_MGMT/metrics" | sed -n 's/^gatehouse_gw_spool_depth //p')
sleep 10
tm_restart || echo "FAIL: traffic manager restart 2"
wait "$CLIENT"
OUT=$(cat "$GH_TMP/client.json")
ANS=$(jget "$OUT" answered)
check_eq "every request got a response in the end" "$N 0" "$ANS $(jget "$OUT" lost)"
check_match "a mix of 200s, 401s and 404s" '"200": [0-9]+.*|"401": [0-9]+' "$OUT"
check_ne "while the traffic manager is down, the spool grows" "0" "${D1:-0}"

for _ in $(seq 1 150); do
	[ "$(sql "SELECT count(*) FROM gh_analytics_events")" -ge "$ANS" ] &&
		[ "$(curl -s "$G1_MGMT/metrics" | sed -n 's/^gatehouse_gw_spool_depth //p')" = 0 ] &&
		[ "$(curl -s "$G2_MGMT/metrics" | sed -n 's/^gatehouse_gw_spool_depth //p')" = 0 ] && break
	sleep 0.2
done
check_eq "exactly one event per response in PostgreSQL" "$ANS" "$(sql "SELECT count(*) FROM gh_analytics_events")"
check_eq "no id twice" "$ANS" "$(sql "SELECT count(DISTINCT id) FROM gh_analytics_events")"
check_eq "rollups add up to the same" "$ANS" "$(sql "SELECT sum(requests) FROM gh_analytics_minute")"
check_eq "statuses as the client saw them" \
	"$(printf '%s' "$OUT" | /usr/bin/python3 -c 'import json,sys; c=json.load(sys.stdin)["counts"]; print(" ".join("%s:%s" % (k, c[k]) for k in sorted(c)))')" \
	"$(sql "SELECT string_agg(status || ':' || n, ' ' ORDER BY status) FROM (SELECT status, count(*) n FROM gh_analytics_events GROUP BY status) s")"
check_eq "both gateways' spools are drained" "0 0" \
	"$(curl -s "$G1_MGMT/metrics" | sed -n 's/^gatehouse_gw_spool_depth //p') $(curl -s "$G2_MGMT/metrics" | sed -n 's/^gatehouse_gw_spool_depth //p')"
check_eq "no batch was refused" "" "$(ls "$GH_TMP"/spool1/rejected-* "$GH_TMP"/spool2/rejected-* 2>/dev/null)"
check_match "shipped events are counted" 'gatehouse_gw_analytics_shipped_total [1-9]' "$(curl -s "$G2_MGMT/metrics")"
check_eq "the application's owner and tenant reach the events" "dev carbon.super" \
	"$(sql "SELECT DISTINCT app_owner || ' ' || app_tenant FROM gh_analytics_events WHERE status = 200")"

# A spool line the traffic manager refuses (400): its batch is set aside, shipping goes on.
check_ok "gateway 2 stops" km_kill "$G2_PID"
printf '{"id":"not-an-id","timestamp":1}\n' >"$GH_TMP/spool2/spool-7-00000001.jsonl"
gw_start gw-external "spool_dir = $GH_TMP/spool2" "snapshot_file = $GH_TMP/snap2.json" \
	"analytics_interval = 300ms" || echo "FAIL: gateway 2 did not start again"
for _ in $(seq 1 50); do ls "$GH_TMP"/spool2/rejected-* >/dev/null 2>&1 && break; sleep 0.1; done
check_match "the refused batch is kept aside" 'not-an-id' "$(cat "$GH_TMP"/spool2/rejected-* 2>/dev/null)"
check_eq "and its spool file is gone" "" "$(ls "$GH_TMP/spool2/spool-7-00000001.jsonl" 2>/dev/null)"
check_match "counted" 'gatehouse_gw_analytics_rejected_total 1' "$(curl -s "$GWE_MGMT/metrics")"
check_match "and logged" 'ship_rejected.*400' "$(cat "$GWE_LOG")"
check_eq "nothing else changed" "$ANS" "$(sql "SELECT count(*) FROM gh_analytics_events")"
check_done
