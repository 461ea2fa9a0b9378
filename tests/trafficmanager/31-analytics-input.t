#!/usr/bin/env bash
# The analytics REST API refuses what it must: every malformed query parameter gets 400 with
# the JSON error body naming the parameter (logged), on the publisher and on the portal; a
# missing or bad token 401, a token without the scope 403 (before any parameter is looked
# at); an unknown report 404; a method other than GET 405.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/an.sh"
trap cp_stop EXIT
an_start an31 || { echo "0 passed, 1 failed"; exit 1; }
T=$AN_T0

# query | a phrase of the description
BAD=(
	"from=yesterday|'from' must be an RFC 3339 date-time"
	"from=|'from' must be"
	"from=2025-01-01T00:00:00|'from' must be"
	"from=2025-01-01|'from' must be"
	"from=-5|'from' must be"
	"to=2025-02-30T00:00:00Z|'to' must be"
	"to=2025-01-01T24:00:00Z|'to' must be"
	"from=$T&to=$T|'to' must be later than 'from'"
	"from=$((T + 1))&to=$T|'to' must be later than 'from'"
	"from=2024-01-01T00:00:00Z&to=2025-01-01T00:00:01Z|longer than 366 days"
	"granularity=week|'granularity' must be minute, hour or day"
	"granularity=|'granularity' must be"
	"from=$T&to=$((T + 2 * 86400000))&granularity=minute|more than 1500 buckets at granularity minute"
	"from=2024-01-01T00:00:00Z&to=2024-12-31T00:00:00Z&granularity=hour|more than 1500 buckets at granularity hour"
	"limit=0|'limit' must be an integer from 1 to 100"
	"limit=101|'limit' must be"
	"limit=abc|'limit' must be"
	"limit=|'limit' must be"
	"limit=1e2|'limit' must be"
	"apiId=|'apiId' must be"
	"apiId=a%20b|'apiId' must be"
	"apiId=x%27%20OR%201%3D1--|'apiId' must be"
	"applicationId=$(printf 'a%.0s' $(seq 1 129))|'applicationId' must be"
	"applicationId=%E2%82%AC|'applicationId' must be"
	"environment=Production|Unknown query parameter 'environment'"
	"%C3%A9t%C3%A9=1|Unknown query parameter '?'"
	"from=$T&from=$((T + 1))|Query parameter 'from' is given more than once"
	"limit=5&limit=5|Query parameter 'limit' is given more than once"
	"from=%zz|The query string is malformed"
	"apiId=%00|The query string is malformed"
)

bad_all() {
	local side=$1 tok=$2 report=$3 fails="" q want
	for c in "${BAD[@]}"; do
		q=${c%%|*} want=${c#*|}
		an "$side" "$tok" "$report" "$q"
		if [ "$CODE" != 400 ] || [ "$(an_j 'b["code"], b["message"]')" != "400 Bad Request" ] ||
			! printf '%s' "$(an_j 'b["description"]')" | grep -qF -- "$want"; then
			fails="$fails [$q: $CODE $BODY]"
		fi
	done
	echo "${fails:-none}"
}

check_eq "publisher: every malformed parameter of requests is 400 with its reason" none "$(bad_all pub "$ADM" requests)"
check_eq "publisher: the same on top-apis" none "$(bad_all pub "$ADM" top-apis)"
check_eq "portal: every malformed parameter of latency is 400 with its reason" none "$(bad_all dev "$DEV" latency)"
check_eq "portal: the same on countries" none "$(bad_all dev "$DEV" countries)"
check_match "the 400s are logged with their reason (publisher)" "analytics.*'granularity' must be" "$(cat "$PUB_LOG")"
check_match "the 400s are logged with their reason (portal)" "analytics.*'limit' must be" "$(cat "$PORTAL_LOG")"
an pub "$ADM" status "from=$T&to=$((T + 60000))&granularity=minute&limit=100&apiId=a&applicationId=b"
check_eq "every parameter at once, valid: 200" 200 "$CODE"
an dev "$DEV" requests "from=2025-01-01T00:00:00.5%2B01:00&to=2025-01-01T00:00:00Z"
check_eq "fractions and offsets are read: 00:00:00.5+01:00 is 23:00:00.500Z" "200 $((T - 3600000 + 500))" "$CODE $(an_j 'b["from"]')"

# ---- tokens and scopes ------------------------------------------------------------------
NOVIEW=$(mgmt_token acmeadmin@acme.com 'Acme-Adm1n' "apim:subscribe")
NOSUB=$(mgmt_token dev 'D3v-pw' "apim:app_manage")
VIEWONLY=$(mgmt_token admin "$KM_ADMIN_PW" "apim:api_view")
check_match "tokens with fewer scopes" '^ey.*ey.*ey' "$NOVIEW $NOSUB $VIEWONLY"
for side in pub dev; do
	an "$side" "" requests
	check_eq "$side: no token: 401" 401 "$CODE"
	check_eq "$side: 401 is the JSON error" "401 Unauthorized" "$(an_j 'b["code"], b["message"]')"
	an "$side" "not-a-token" requests
	check_eq "$side: a garbage token: 401" 401 "$CODE"
	an "$side" "" requests "limit=0"
	check_eq "$side: no token and a bad parameter: 401 first" 401 "$CODE"
	an "$side" "${ADM%.*}.${DEV##*.}" requests
	check_eq "$side: admin's claims under another token's signature: 401" 401 "$CODE"
done
check_match "publisher 401 asks for a Bearer token" 'WWW-Authenticate: Bearer' \
	"$(km_curl -D - -o /dev/null "$PUB_URL/api/am/publisher/v4/analytics/requests")"
an pub "$DEV" requests
check_eq "publisher: a subscriber's token (no apim:api_view): 403" "403 403 Forbidden" "$CODE $(an_j 'b["code"], b["message"]')"
check_match "... naming the scope" 'apim:api_view' "$(an_j 'b["description"]')"
an pub "$NOVIEW" top-apis
check_eq "publisher: acme.com's admin with apim:subscribe only: 403" 403 "$CODE"
an pub "$NOVIEW" top-apis "limit=0"
check_eq "publisher: 403 before the parameters are looked at" 403 "$CODE"
an pub "$VIEWONLY" top-apis
check_eq "publisher: apim:api_view is enough" 200 "$CODE"
an dev "$NOSUB" requests
check_eq "portal: a token without apim:subscribe: 403" 403 "$CODE"
check_match "... naming the scope" 'apim:subscribe' "$(an_j 'b["description"]')"
an dev "$VIEWONLY" requests
check_eq "portal: apim:api_view is not enough" 403 "$CODE"
an dev "$DEV" requests
check_eq "portal: apim:subscribe is enough" 200 "$CODE"

# ---- paths and methods -----------------------------------------------------------------
an pub "$ADM" nothing
check_eq "publisher: an unknown report: 404 JSON" "404 404 Not Found" "$CODE $(an_j 'b["code"], b["message"]')"
an dev "$DEV" Requests
check_eq "portal: report names are exact: 404" 404 "$CODE"
pcall "$ADM" -X POST "$PUB_URL/api/am/publisher/v4/analytics/requests"
check_eq "publisher: POST: 405" 405 "$CODE"
pcall "$DEV" -X DELETE "$PORTAL_URL/api/am/devportal/v3/analytics/status"
check_eq "portal: DELETE: 405" 405 "$CODE"
check_done
