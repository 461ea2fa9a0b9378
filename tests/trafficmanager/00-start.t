#!/usr/bin/env bash
# The traffic manager starts beside a control plane, answers /health and /metrics on its
# management port, takes gateway certificates only on its gateway port, and stops cleanly on
# SIGTERM; gateways start with it configured.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/tm.sh"
trap gw_teardown EXIT
gw_setup t00 || { echo "0 passed, 1 failed"; exit 1; }
tm_start || { echo "0 passed, 1 failed"; exit 1; }
check_match "trafficmanager /health" '"status":"UP".*"trafficmanager"' "$(curl -s "$TM_MGMT/health")"
check_match "trafficmanager /metrics" 'gatehouse_tm_events_total' "$(curl -s "$TM_MGMT/metrics")"
check_eq "a publisher's certificate is refused" "403" \
	"$(tm_curl publisher -o /dev/null -w '%{http_code}' -X POST --data-binary x "$TM_URL/internal/throttle/v1/sync")"
check_eq "no client certificate: no TLS session" "000" \
	"$(curl -s --cacert "$KM_CA" -o /dev/null -w '%{http_code}' -X POST -d x "$TM_URL/internal/analytics/v1/events")"
check_eq "an unknown path answers 404" "404" \
	"$(tm_curl gw-external -o /dev/null -w '%{http_code}' "$TM_URL/internal/nothing")"
gw_start gw-external || { echo "0 passed, 1 failed"; exit 1; }
check_match "gw-external starts with the traffic manager configured" '"status":"UP"' "$(curl -s "$GWE_MGMT/health")"
gwe -o /dev/null -H "Authorization: Bearer nope" "$GWE_URL/none/1.0/x"
for u in "$KM_MGMT_URL km_request" "$PUB_MGMT_URL publisher_request" "$PORTAL_MGMT_URL portal_request" \
	"$GWE_MGMT gw_request" "$TM_MGMT tm_batch"; do
	set -- $u
	check_match "$2 latency histogram on $1/metrics" \
		"# TYPE gatehouse_$2_duration_seconds histogram" "$(curl -s "$1/metrics")"
done
check_match "the gateway's histogram counted a request" 'gatehouse_gw_request_duration_seconds_count [1-9]' \
	"$(curl -s "$GWE_MGMT/metrics")"
check_ok "trafficmanager stops on SIGTERM with status 0" tm_stop
check_done
