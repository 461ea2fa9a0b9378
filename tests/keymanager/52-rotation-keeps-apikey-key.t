#!/usr/bin/env bash
# A rotation keeps the previous signing key published until the last token
# it signed expires (issue 3).  API keys live up to ten years and are signed
# with the current key, so after a rotation the old key must stay published
# at least until the API keys it signed expire - not only for the longest
# access-token lifetime of a client.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/km.sh"
trap km_stop EXIT
km_start rotapikey || { echo "0 passed, 1 failed"; exit 1; }

out=$(km_portal_curl -w '\n%{http_code}' -H 'Content-Type: application/json' \
	-d '{"applicationId":"app-1","keyType":"PRODUCTION","tenant":"carbon.super","owner":"admin","applicationName":"A","validityPeriod":2592000}' \
	"$KM_INTERNAL_URL/internal/km/v1/apikeys")
check_eq "API key for 30 days: 200" "200" "${out##*$'\n'}"
KEY=$(jget "${out%$'\n'*}" apikey)
EXP=$(jget "$(jwt_claims "$KEY")" exp)
KID=$(printf '%s' "$KEY" | cut -d. -f1 | tr '_-' '/+' | base64 -d 2>/dev/null | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["kid"])')
check_ne "the API key names its kid" "" "$KID"

call -X POST "$KM_MGMT_URL/keys/rotate?alg=RS256"
check_eq "rotate: 200" "200" "$CODE"
check_eq "the API key's signing key is retired" "retired" "$(sql "SELECT status FROM gh_signing_keys WHERE kid = '$KID'")"
check_eq "... and stays published until the API key expires" "t" \
	"$(sql "SELECT not_after >= to_timestamp($EXP) FROM gh_signing_keys WHERE kid = '$KID'")"
check_match "the JWKS publishes it" "\"kid\":\"$KID\"" "$(km_curl "$KM_URL/oauth2/jwks")"

km_kill "$KM_PID"; rc=$?
check_eq "stops cleanly" "0" "$rc"
check_nomatch "no sanitizer report" "ERROR: (Address|Leak)Sanitizer|runtime error" "$(cat "$KM_LOG")"
check_done
