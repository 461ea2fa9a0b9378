# Helpers of the DevPortal tests (sourced by tests/portal/1*.t .. 4*.t after check.sh and cp.sh).
#   portal_start NAME     cp_start with two sites: ext.example.com lists External only,
#                         localhost lists Internal and External; any other host has no site
#   dp TOKEN METHOD PATH [curl args]        a DevPortal call (TOKEN "" = anonymous); sets CODE, BODY
#   dpj TOKEN METHOD PATH JSON [curl args]  the same with a JSON body
#   api_def VIS ROLES AVAIL TENANTS POLICIES TAGS [DESC]   a RuntimeApi-shaped definition
#   api_add ID TENANT NAME CONTEXT STATUS ENVS DEF [DISPLAY]  an API with revision 1 deployed
#                         to ENVS (comma-separated) straight into the database
#   ldap_group TENANT GROUP UID   a new LDAP group with one member
#   user_token USER PW    a management token with the DevPortal scopes the user's roles allow
#   count_rows TABLE      rows of a table
DP=/api/am/devportal/v3
DP_SCOPES="apim:subscribe apim:app_manage apim:sub_manage apim:api_key"

portal_start() {
	CP_EXTRA_CONF=('sites = "ext.example.com=External; localhost=Internal,External"')
	cp_start "$1"
}

dp() { local tok=$1 m=$2 path=$3; shift 3; pcall "$tok" -X "$m" "$@" "$PORTAL_URL$DP$path"; }
dpj() {
	local tok=$1 m=$2 path=$3 body=$4; shift 4
	pcall "$tok" -X "$m" -H 'Content-Type: application/json' --data-binary "$body" "$@" "$PORTAL_URL$DP$path"
}

api_def() {
	printf '{"visibility":"%s","visibleRoles":%s,"subscriptionAvailability":"%s","subscriptionAvailableTenants":%s,"policies":%s,"tags":%s,"description":"%s","operations":[{"target":"/items","verb":"GET","authType":"Application & Application User","throttlingPolicy":"Unlimited","scopes":[]},{"target":"/items/{id}","verb":"POST","authType":"Application","throttlingPolicy":"Unlimited","scopes":[]}],"scopes":[{"name":"items:write","description":"write items","bindings":["admin"]}],"endpointConfig":{"endpoint_type":"http","production_endpoints":{"url":"http://backend.internal:9000"}}}' \
		"$1" "$2" "$3" "$4" "$5" "$6" "${7:-An API}"
}

api_add() {
	local id=$1 t=$2 n=$3 ctx=$4 st=$5 envs=$6 def=$7 disp=${8:-true}
	sql "INSERT INTO gh_apis (id, tenant, name, context, version, provider, status, definition)
		VALUES ('$id', '$t', '$n', '$ctx', '1.0.0', 'admin', '$st', '$def'::jsonb)" >/dev/null || return 1
	sql "INSERT INTO gh_api_revisions (id, api_id, number, definition) VALUES ('$id-r1', '$id', 1, '$def'::jsonb)" \
		>/dev/null || return 1
	for e in ${envs//,/ }; do
		sql "INSERT INTO gh_deployments (api_id, environment, revision_id, vhost, display_on_devportal)
			VALUES ('$id', '$e', '$id-r1', 'localhost', $disp)" >/dev/null || return 1
	done
}

ldap_group() {
	printf 'dn: cn=%s,ou=groups,o=%s,%s\nobjectClass: groupOfNames\ncn: %s\nmember: uid=%s,ou=users,o=%s,%s\n' \
		"$2" "$1" "$KM_LDAP_BASE" "$2" "$3" "$1" "$KM_LDAP_BASE" |
		ldapadd -x -H "$GH_TEST_LDAP_URI" -D "$GH_TEST_LDAP_ROOTDN" -w "$GH_TEST_LDAP_ROOTPW" >/dev/null
}

user_token() { mgmt_token "$1" "$2" "$DP_SCOPES"; }

count_rows() { sql "SELECT count(*) FROM $1"; }
