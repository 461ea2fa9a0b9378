#!/usr/bin/env bash
# The publisher starts beside a key manager and answers /health and /metrics on
# its management port, and management tokens reach its REST port.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/cp.sh"
trap cp_stop EXIT
cp_start p00 || { echo "0 passed, 1 failed"; exit 1; }
check_eq "publisher /health" '{"status":"UP","component":"publisher"}' "$(curl -s "$PUB_MGMT_URL/health")"
check_match "publisher /metrics" 'gatehouse_publisher_requests_total' "$(curl -s "$PUB_MGMT_URL/metrics")"
check_eq "portal /health" '{"status":"UP","component":"portal"}' "$(curl -s "$PORTAL_MGMT_URL/health")"
TOK=$(admin_token)
check_match "an admin management token" '^ey' "$TOK"
check_match "it carries apim:api_create" 'apim:api_create' "$(jwt_claims "$TOK")"
check_eq "the feed refuses a caller without a certificate (403: TLS asks for one, only enrolment is open)" "403" \
	"$(curl -s -o /dev/null -w '%{http_code}' --cacert "$KM_CA" "$FEED_URL/internal/data/v1/snapshot?environment=Internal")"
check_ok "the publisher stops on SIGTERM with status 0" km_kill "$PUB_PID"
check_ok "the portal stops on SIGTERM with status 0" km_kill "$PORTAL_PID"
check_done
