#!/usr/bin/env bash
# The portal starts beside the publisher and the key manager (cp_start), answers
# /health and /metrics on its management port, and stops cleanly on SIGTERM.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/cp.sh"
trap cp_stop EXIT
cp_start o00 || { echo "0 passed, 1 failed"; exit 1; }
check_eq "portal /health" '{"status":"UP","component":"portal"}' "$(curl -s "$PORTAL_MGMT_URL/health")"
m=$(curl -s "$PORTAL_MGMT_URL/metrics")
check_match "portal /metrics: counters" '^gatehouse_portal_requests_total [0-9]+$' "$m"
check_match "portal /metrics: pool gauge" '# TYPE gatehouse_portal_pool_pending gauge' "$m"
check_eq "the management port is plain HTTP on loopback" "000" \
	"$(curl -s -o /dev/null -w '%{http_code}' "https://127.0.0.1:${PORTAL_MGMT_URL##*:}/health")"
check_ok "the portal stops on SIGTERM with status 0" km_kill "$PORTAL_PID"
check_done
