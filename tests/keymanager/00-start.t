#!/usr/bin/env bash
# The key manager starts on a node made by gatehouse init, answers /health and
# /metrics on its management port, serves HTTPS with the node's CA, and stops
# cleanly on SIGTERM.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/km.sh"
trap km_stop EXIT
km_start start || { echo "0 passed, 1 failed"; exit 1; }
check_match "health" '"status":"UP"' "$(curl -s "$KM_MGMT_URL/health")"
check_match "metrics are Prometheus text" '^# TYPE gatehouse_km_tokens_issued_total counter' "$(curl -s "$KM_MGMT_URL/metrics")"
check_eq "public port speaks TLS with the node's CA" "404" "$(km_curl -o /dev/null -w '%{http_code}' "$KM_URL/nothing")"
check_eq "internal port refuses a client without a certificate" "000" \
	"$(km_curl -o /dev/null -w '%{http_code}' "$KM_INTERNAL_URL/internal/km/v1/clients" 2>/dev/null)"
km_kill "$KM_PID"; rc=$?
check_eq "SIGTERM stops it cleanly (exit 0, no sanitizer report)" "0" "$rc"
check_nomatch "no sanitizer report" "ERROR: (Address|Leak)Sanitizer|runtime error" "$(cat "$KM_LOG")"
check_done
