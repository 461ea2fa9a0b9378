#!/usr/bin/env bash
# Bad input, each a precise 4xx and nothing half-written: invalid JSON, wrong types,
# SQL metacharacters in every string field and query parameter (refused where the
# field forbids them, else stored as plain data), a body over the limit (413),
# colliding and reserved contexts, malformed URL templates and endpoints, unknown
# tiers and policies, missing dependent fields.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/cp.sh"
trap cp_stop EXIT
cp_start p45 || { echo "0 passed, 1 failed"; exit 1; }
P=$PUB_URL/api/am/publisher/v4
TOK=$(admin_token)
count() { sql "SELECT count(*) FROM gh_apis"; }
SQLI="'; DROP TABLE gh_apis; --"

jpost "$TOK" "$P/apis" '{"name":"Base","context":"/base","version":"1","scopes":[{"name":"base:read"}]}'
BID=$(jget "$BODY" id)
check_eq "a base API" 201 "$CODE"

# bad CODE LABEL JSON: the create answers CODE with an error body and writes nothing.
bad() {
	local before; before=$(count)
	jpost "$TOK" "$P/apis" "$3"
	check_eq "$2: $1" "$1 $1" "$CODE $(jget "$BODY" code)"
	[ "$(count)" = "$before" ] || check_eq "$2: nothing written" "$before" "$(count)"
}
A='"name":"X","version":"1"'
bad 400 "invalid JSON" '{"name":'
bad 400 "trailing garbage" '{"name":"X","context":"/x","version":"1"} x'
bad 400 "an array body" '[1]'
bad 400 "an empty body" ''
bad 400 "name missing" '{"context":"/x","version":"1"}'
bad 400 "context missing" '{"name":"X","version":"1"}'
bad 400 "version missing" '{"name":"X","context":"/x"}'
bad 400 "name a number" '{"name":5,"context":"/x","version":"1"}'
bad 400 "version a number" '{"name":"X","context":"/x","version":1}'
bad 400 "transport a string" "{$A,\"context\":\"/x\",\"transport\":\"http\"}"
bad 400 "transport ftp" "{$A,\"context\":\"/x\",\"transport\":[\"ftp\"]}"
bad 400 "policies a string" "{$A,\"context\":\"/x\",\"policies\":\"Gold\"}"
bad 400 "tags of numbers" "{$A,\"context\":\"/x\",\"tags\":[1]}"
bad 400 "backendJwt yes" "{$A,\"context\":\"/x\",\"backendJwt\":\"yes\"}"
bad 400 "isDefaultVersion a string" "{$A,\"context\":\"/x\",\"isDefaultVersion\":\"true\"}"
bad 400 "maxRequestBodyBytes a string" "{$A,\"context\":\"/x\",\"maxRequestBodyBytes\":\"10\"}"
bad 400 "maxRequestBodyBytes 0" "{$A,\"context\":\"/x\",\"maxRequestBodyBytes\":0}"
bad 400 "maxRequestBodyBytes negative" "{$A,\"context\":\"/x\",\"maxRequestBodyBytes\":-5}"
bad 400 "maxRequestBodyBytes fractional" "{$A,\"context\":\"/x\",\"maxRequestBodyBytes\":1.5}"
bad 400 "operations an object" "{$A,\"context\":\"/x\",\"operations\":{}}"
bad 400 "endpointConfig a string" "{$A,\"context\":\"/x\",\"endpointConfig\":\"http://a\"}"
bad 400 "type SOAP" "{$A,\"context\":\"/x\",\"type\":\"SOAP\"}"
bad 400 "securityScheme unknown" "{$A,\"context\":\"/x\",\"securityScheme\":[\"magic\"]}"
bad 400 "visibility unknown" "{$A,\"context\":\"/x\",\"visibility\":\"SECRET\"}"
bad 400 "RESTRICTED without visibleRoles" "{$A,\"context\":\"/x\",\"visibility\":\"RESTRICTED\"}"
bad 400 "SPECIFIC_TENANTS without tenants" "{$A,\"context\":\"/x\",\"subscriptionAvailability\":\"SPECIFIC_TENANTS\"}"
bad 400 "geoRestriction mode maybe" "{$A,\"context\":\"/x\",\"geoRestriction\":{\"mode\":\"maybe\",\"countries\":[\"DE\"]}}"
bad 400 "geoRestriction lower-case country" "{$A,\"context\":\"/x\",\"geoRestriction\":{\"mode\":\"allow\",\"countries\":[\"de\"]}}"
bad 400 "geoRestriction 3-letter country" "{$A,\"context\":\"/x\",\"geoRestriction\":{\"mode\":\"allow\",\"countries\":[\"DEU\"]}}"
bad 400 "geoRestriction without countries" "{$A,\"context\":\"/x\",\"geoRestriction\":{\"mode\":\"allow\"}}"
bad 400 "a name of 61 characters" "{\"name\":\"$(printf 'n%.0s' $(seq 61))\",\"context\":\"/x\",\"version\":\"1\"}"
bad 400 "a description of 20001 characters" "{$A,\"context\":\"/x\",\"description\":\"$(head -c 20001 /dev/zero | tr '\0' d)\"}"
bad 400 "a control character in the name" '{"name":"a\u0001b","context":"/x","version":"1"}'
bad 400 "a NUL in the description" "{$A,\"context\":\"/x\",\"description\":\"a\\u0000b\"}"

# Contexts.
for ctx in /oauth2 /oauth2/token /.well-known /devportal /publisher/x /api/am/x /internal /client-registration \
	/health /metrics /t/x /T/acme.com/x /OAuth2; do
	bad 400 "reserved context $ctx" "{$A,\"context\":\"$ctx\"}"
done
for ctx in pizza / //a /a//b /a/../b /a%20b '/a?b=1' '/a b' '/a/' '/{version}/x' "/x$SQLI"; do
	bad 400 "malformed context '$ctx'" "{$A,\"context\":\"$ctx\"}"
done
bad 409 "a context+version taken" '{"name":"Base","context":"/base","version":"1"}'
bad 409 "a context used by another API name" '{"name":"Other","context":"/base","version":"2"}'
bad 409 "a name+version taken under another context" '{"name":"Base","context":"/base2","version":"1"}'
bad 409 "a scope of another API" '{"name":"Other","context":"/other","version":"1","scopes":[{"name":"base:read"}]}'
jpost "$TOK" "$P/apis" '{"name":"Base","context":"/base","version":"2"}'
check_eq "a new version of the same name shares the context" 201 "$CODE"

# URL templates.
for t in '{' '/{' '/{}' '/{a}{b}' '/a/../b' '//a' '/a%20' '/a b' '/a?x=1' '/*/x' 'items' '/{1a}' '/a#b' "/x$SQLI"; do
	bad 400 "malformed URL template '$t'" "{$A,\"context\":\"/x\",\"operations\":[{\"target\":\"$t\",\"verb\":\"GET\"}]}"
done
bad 400 "unknown verb" "{$A,\"context\":\"/x\",\"operations\":[{\"target\":\"/a\",\"verb\":\"FETCH\"}]}"
bad 400 "unknown authType" "{$A,\"context\":\"/x\",\"operations\":[{\"target\":\"/a\",\"verb\":\"GET\",\"authType\":\"Maybe\"}]}"
bad 400 "an operation twice" "{$A,\"context\":\"/x\",\"operations\":[{\"target\":\"/a\",\"verb\":\"GET\"},{\"target\":\"/a\",\"verb\":\"get\"}]}"
bad 400 "an undeclared operation scope" "{$A,\"context\":\"/x\",\"operations\":[{\"target\":\"/a\",\"verb\":\"GET\",\"scopes\":[\"nope\"]}]}"
bad 400 "a scope name with spaces" "{$A,\"context\":\"/x\",\"scopes\":[{\"name\":\"a b\"}]}"

# Endpoints.
for u in ftp://a.example 'http://' 'http://a b' 'javascript:alert(1)' 'http://user@host.example' 'http://a.example:99999' '/relative' "http://a.example/$SQLI"; do
	bad 400 "endpoint '$u'" "{$A,\"context\":\"/x\",\"endpointConfig\":{\"endpoint_type\":\"http\",\"production_endpoints\":{\"url\":\"$u\"}}}"
done
bad 400 "endpoint_type unknown" "{$A,\"context\":\"/x\",\"endpointConfig\":{\"endpoint_type\":\"carrier-pigeon\"}}"

# Policies.
bad 400 "unknown subscription tier" "{$A,\"context\":\"/x\",\"policies\":[\"Gold\",\"Platinum\"]}"
check_match "naming it" "Platinum" "$(jget "$BODY" description)"
bad 400 "unknown API throttling policy" "{$A,\"context\":\"/x\",\"apiThrottlingPolicy\":\"Huge\"}"
bad 400 "a subscription tier as API policy" "{$A,\"context\":\"/x\",\"apiThrottlingPolicy\":\"Gold\"}"
bad 400 "unknown operation policy" "{$A,\"context\":\"/x\",\"operations\":[{\"target\":\"/a\",\"verb\":\"GET\",\"throttlingPolicy\":\"Nope\"}]}"
bad 400 "SQL as a tier" "{$A,\"context\":\"/x\",\"policies\":[\"$SQLI\"]}"

# SQL metacharacters: refused by name/version, plain data elsewhere.
bad 400 "SQL in the name" "{\"name\":\"$SQLI\",\"context\":\"/x\",\"version\":\"1\"}"
bad 400 "SQL in the version" "{\"name\":\"X\",\"context\":\"/x\",\"version\":\"$SQLI\"}"
bad 400 "% in the version" '{"name":"X","context":"/x","version":"1%"}'
DATA="$SQLI % _ \\\\ \\\" done"
jpost "$TOK" "$P/apis" "{\"name\":\"Data_1\",\"context\":\"/data\",\"version\":\"1\",\"description\":\"$DATA\",
 \"tags\":[\"$SQLI\",\"%\",\"_\",\"\\\\\"],\"visibility\":\"RESTRICTED\",\"visibleRoles\":[\"$SQLI\"],
 \"scopes\":[{\"name\":\"data:x\",\"description\":\"$SQLI\",\"bindings\":[\"$SQLI\",\"a,b\",\"{c}\"]}]}"
check_eq "SQL metacharacters in free text are stored as data" 201 "$CODE"
DID=$(jget "$BODY" id)
check_eq "description round-trips" "$SQLI % _ \\ \" done" "$(jget "$BODY" description)"
check_eq "tags round-trip" "[\"'; DROP TABLE gh_apis; --\", \"%\", \"_\", \"\\\\\"]" "$(jget "$BODY" tags)"
check_eq "role names round-trip into gh_api_scopes" "3 $SQLI" \
	"$(sql "SELECT cardinality(roles) FROM gh_api_scopes WHERE api_id = '$DID'") $(sql "SELECT roles[1] FROM gh_api_scopes WHERE api_id = '$DID'")"
q() { pcall "$TOK" -G --data-urlencode "query=$1" "$P/apis"; }
for term in '%' '_' '\' "$SQLI" "name:%" "name:_" "context:%" "version:%" "status:$SQLI" "description:'"; do
	q "$term"
	check_eq "query '$term' is matched literally" "200" "$CODE"
	case "$term" in
	_|name:_) check_eq "'_' matches only names holding '_'" "1 Data_1" "$(jget "$BODY" count) $(jget "$BODY" list.0.name)" ;;
	"description:'") check_eq "a quote in the description matches" "1" "$(jget "$BODY" count)" ;;
	*) check_eq "no match for '$term'" 0 "$(jget "$BODY" count)" ;;
	esac
done
pcall "$TOK" "$P/apis?limit=$(printf %s "1;DROP" | sed 's/;/%3B/')"
check_eq "SQL in limit: 400" 400 "$CODE"
pcall "$TOK" "$P/apis/%27%3B%20DROP%20TABLE%20gh_apis%3B%20--"
check_eq "SQL as an API id: 404" 404 "$CODE"
pcall "$TOK" -X POST -G --data-urlencode "action=$SQLI" --data-urlencode "apiId=$BID" "$P/apis/change-lifecycle"
check_eq "SQL as a lifecycle action: 409" 409 "$CODE"
pcall "$TOK" -X POST -H 'Content-Type: application/json' -d '[{"name":"Internal"}]' "$P/apis/$BID/deploy-revision?revisionId=%27%3B--"
check_eq "SQL as a revision id: 404" 404 "$CODE"
pcall "$TOK" -X POST -H 'Content-Type: application/json' -d "{}" "$P/apis/$BID/revisions"
REV=$(jget "$BODY" id)
pcall "$TOK" -X POST -H 'Content-Type: application/json' --data-binary "[{\"name\":\"$SQLI\"}]" "$P/apis/$BID/deploy-revision?revisionId=$REV"
check_eq "SQL as an environment: 400" 400 "$CODE"
pcall "$TOK" -X POST -H 'Content-Type: application/json' --data-binary '{"description":5}' "$P/apis/$BID/revisions"
check_eq "a revision description of the wrong type: 400" 400 "$CODE"
pcall "$TOK" -X PUT -H 'Content-Type: application/json' --data-binary '{"policies":["Nope"]}' "$P/apis/$BID"
check_eq "PUT with an unknown tier: 400" 400 "$CODE"
pcall "$TOK" -X PUT -H 'Content-Type: application/json' --data-binary '{"description":' "$P/apis/$BID"
check_eq "PUT with invalid JSON: 400" 400 "$CODE"
check_eq "the base API unchanged by refused PUTs" '["Unlimited"]' "$(sql "SELECT definition->'policies' FROM gh_apis WHERE id = '$BID'")"

# 413: a body over http.max_body_bytes (1 MiB) is refused by the HTTP layer.
before=$(count)
{ printf '{"name":"Big","context":"/big","version":"1","description":"'; head -c 1100000 /dev/zero | tr '\0' a; printf '"}'; } >"$GH_TMP/big.json"
pcall "$TOK" -H 'Content-Type: application/json' --data-binary "@$GH_TMP/big.json" "$P/apis"
check_eq "an over-limit body: 413" 413 "$CODE"
check_eq "nothing written" "$before" "$(count)"
check_eq "the table is intact" 3 "$(sql "SELECT count(*) FROM gh_apis")"
check_eq "one create audited per API" 3 "$(sql "SELECT count(*) FROM gh_audit WHERE action = 'api.create'")"
check_done
