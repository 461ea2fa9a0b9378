#!/usr/bin/env bash
# Both gateways start beside a control plane, load their environment from the data feed,
# answer /health on their management ports, and serve an API deployed to their
# environment; each stops cleanly on SIGTERM.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/gw.sh"
trap gw_teardown EXIT
gw_setup g00 || { echo "0 passed, 1 failed"; exit 1; }
API=$(gw_api Hello /hello 1.0 "Internal External")
check_match "an API deployed to both environments" '^[0-9a-f-]{36}$' "$API"
gw_app HelloApp "$API" Gold || echo "FAIL: application"
check_match "an application token" '^ey' "$TOKEN"
gw_start gw-internal || { echo "0 passed, 1 failed"; exit 1; }
gw_start gw-external || { echo "0 passed, 1 failed"; exit 1; }
check_match "gw-internal /health" '"status":"UP".*"environment":"Internal"' "$(curl -s "$GWI_MGMT/health")"
check_match "gw-external /health" '"status":"UP".*"environment":"External"' "$(curl -s "$GWE_MGMT/health")"
check_match "gw-internal /metrics" 'gatehouse_gw_requests_total' "$(curl -s "$GWI_MGMT/metrics")"
check_eq "gw-internal serves the API over HTTPS" "200" \
	"$(gwi -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$GWI_URL/hello/1.0/items")"
check_eq "gw-internal serves the API over plain HTTP" "200" \
	"$(gwi -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$GWI_HTTP_URL/hello/1.0/items")"
check_eq "gw-external serves the API" "200" \
	"$(gwe -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$GWE_URL/hello/1.0/items")"
check_match "the backend saw the request" '"path": "/items"' "$(tail -1 "$BE_PROD_LOG")"
check_ok "gw-internal stops on SIGTERM with status 0" gw_stop gw-internal
check_ok "gw-external stops on SIGTERM with status 0" gw_stop gw-external
check_done
