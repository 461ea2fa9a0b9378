# Control-plane test harness (sourced by tests/publisher/*.t, tests/portal/*.t and
# the publisher benchmark), on top of km.sh.
#   cp_start NAME [extra config lines]
#       km_start NAME, then gatehouse-publisher and gatehouse-portal on the same node
#       (free loopback ports).  Exports what km_start does and:
#       PUB_URL (https, REST), FEED_URL (https, mutual TLS), PUB_MGMT_URL,
#       PORTAL_URL, PORTAL_MGMT_URL, PUB_PID, PORTAL_PID, PUB_LOG, PORTAL_LOG,
#       CP_CLIENT / CP_SECRET (a SaaS management client of admin: password grants
#       for users of every tenant)
#   cp_stop               stop publisher, portal and key manager
#   cp_restart_publisher  stop and start the publisher again (same ports)
#   mgmt_token USER PASSWORD "SCOPES"   print a management access token (password grant)
#   admin_token           a token of carbon.super's admin with every management scope
#   ldap_user TENANT UID PASSWORD [ROLE...]   a user straight into the directory
#   tenant_create DOMAIN ADMIN PASSWORD  a tenant through the key manager's user API
#   pcall TOKEN curl-args...   curl to the publisher/portal with the token; sets CODE, BODY
#   feed_curl ROLE curl-args...  curl with the CA and the certificate of ROLE
#                              (gw-internal: env Internal; gw-external: env External)
. "$GH_ROOT/tests/lib/km.sh"
GH_CP_PIDS=""
ALL_SCOPES="apim:admin apim:api_view apim:api_create apim:api_delete apim:api_manage apim:api_publish apim:api_import_export apim:tier_view apim:tier_manage apim:subscription_view apim:subscription_block apim:subscribe apim:app_manage apim:sub_manage apim:api_key apim:tenant_manage apim:admin_operations apim:store_settings apim:publisher_settings"

cp_start() {
	local name=$1; shift
	local pport fport pmport oport omport
	km_start "$name" "$@" || return 1
	pport=$(_km_port); fport=$(_km_port); pmport=$(_km_port); oport=$(_km_port); omport=$(_km_port)
	cat >>"$KM_CONF" <<CONF
[cluster]
keymanager_url = $KM_URL
keymanager_internal_url = $KM_INTERNAL_URL
feed_url = https://localhost:$fport
[publisher]
listen = 127.0.0.1
port = $pport
feed_port = $fport
mgmt_port = $pmport
workers = 3
[portal]
listen = 127.0.0.1
port = $oport
mgmt_port = $omport
workers = 3
CONF
	for line in "${CP_EXTRA_CONF[@]:-}"; do [ -n "$line" ] && printf '%s\n' "$line" >>"$KM_CONF"; done
	PUB_URL=https://localhost:$pport
	FEED_URL=https://localhost:$fport
	PUB_MGMT_URL=http://127.0.0.1:$pmport
	PORTAL_URL=https://localhost:$oport
	PORTAL_MGMT_URL=http://127.0.0.1:$omport
	PUB_LOG=$GH_TMP/$name/publisher.log
	PORTAL_LOG=$GH_TMP/$name/portal.log
	_cp_start_publisher || return 1
	"$GH_BIN/gatehouse-portal" --config "$KM_CONF" >>"$PORTAL_LOG" 2>&1 &
	PORTAL_PID=$!
	GH_CP_PIDS="$GH_CP_PIDS $PORTAL_PID"
	_km_wait "$PORTAL_MGMT_URL" "$PORTAL_PID" || { echo "portal did not start:"; cat "$PORTAL_LOG"; return 1; }
	local out
	out=$(km_curl -u "admin:$KM_ADMIN_PW" -H 'Content-Type: application/json' --data-binary \
		'{"callbackUrl":"https://localhost/cb","clientName":"cp-tests","owner":"admin","grantType":"password refresh_token client_credentials","saasApp":true}' \
		"$KM_URL/client-registration/v0.17/register")
	CP_CLIENT=$(jget "$out" clientId); CP_SECRET=$(jget "$out" clientSecret)
	[ -n "$CP_CLIENT" ] && [ "$CP_CLIENT" != "<absent>" ] || { echo "cp_start: DCR failed: $out"; return 1; }
	export PUB_URL FEED_URL PUB_MGMT_URL PORTAL_URL PORTAL_MGMT_URL PUB_PID PORTAL_PID PUB_LOG PORTAL_LOG \
		CP_CLIENT CP_SECRET
}

_cp_start_publisher() {
	"$GH_BIN/gatehouse-publisher" --config "$KM_CONF" >>"$PUB_LOG" 2>&1 &
	PUB_PID=$!
	GH_CP_PIDS="$GH_CP_PIDS $PUB_PID"
	_km_wait "$PUB_MGMT_URL" "$PUB_PID" || { echo "publisher did not start:"; cat "$PUB_LOG"; return 1; }
	export PUB_PID
}

cp_restart_publisher() {
	km_kill "$PUB_PID"
	_cp_start_publisher
}

cp_stop() {
	for p in $GH_CP_PIDS; do km_kill "$p"; done
	GH_CP_PIDS=""
	km_stop
}

mgmt_token() {
	local out
	out=$(km_curl -u "$CP_CLIENT:$CP_SECRET" -d grant_type=password --data-urlencode "username=$1" \
		--data-urlencode "password=$2" --data-urlencode "scope=$3" "$KM_URL/oauth2/token")
	jget "$out" access_token
}

admin_token() { mgmt_token admin "$KM_ADMIN_PW" "$ALL_SCOPES"; }

ldap_user() {
	local t=$1 u=$2 pw=$3 dn; shift 3
	local args=(-x -H "$GH_TEST_LDAP_URI" -D "$GH_TEST_LDAP_ROOTDN" -w "$GH_TEST_LDAP_ROOTPW")
	dn="uid=$u,ou=users,o=$t,$KM_LDAP_BASE"
	printf 'dn: %s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\n' "$dn" "$u" "$u" "$u" |
		ldapadd "${args[@]}" >/dev/null || return 1
	ldappasswd "${args[@]}" -s "$pw" "$dn" >/dev/null || return 1
	for g in "$@"; do
		printf 'dn: cn=%s,ou=groups,o=%s,%s\nchangetype: modify\nadd: member\nmember: %s\n' \
			"$g" "$t" "$KM_LDAP_BASE" "$dn" | ldapmodify "${args[@]}" >/dev/null || return 1
	done
}

tenant_create() {
	curl -s -o /dev/null -w '%{http_code}' --cacert "$KM_CA" --cert "$KM_PKI/publisher.crt" \
		--key "$KM_PKI/publisher.key" -H 'Content-Type: application/json' \
		-d "{\"domain\":\"$1\",\"adminUsername\":\"$2\",\"adminPassword\":\"$3\"}" \
		"$KM_INTERNAL_URL/internal/km/v1/users/tenants" | grep -q '^201$'
}

pcall() {
	local tok=$1 o; shift
	if [ -n "$tok" ]; then
		o=$(km_curl -H "Authorization: Bearer $tok" -w '\n%{http_code}' "$@")
	else
		o=$(km_curl -w '\n%{http_code}' "$@")
	fi
	BODY=${o%$'\n'*}; CODE=${o##*$'\n'}
}

# jpost TOKEN URL JSON: POST a JSON body with pcall (sets CODE and BODY).
jpost() { pcall "$1" -H 'Content-Type: application/json' --data-binary "$3" "$2"; }

# maxev: the id of the newest gh_events row (0 when none).
maxev() { sql "SELECT coalesce(max(id), 0) FROM gh_events"; }

# code CURL-COMMAND...: run it and print only the HTTP status.
code() { "$@" -o /dev/null -w '%{http_code}'; }

feed_curl() { local r=$1; shift; curl -s --cacert "$KM_CA" --cert "$KM_PKI/$r.crt" --key "$KM_PKI/$r.key" "$@"; }
