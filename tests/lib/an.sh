# Analytics REST API test harness (sourced by tests/trafficmanager/3*-analytics*.t), on cp.sh:
# no gateway and no traffic manager; the per-minute rollups are inserted straight into
# gh_analytics_minute (tests/lib/an_mix.py: a traffic mix of known shape).
#   an_start NAME      cp_start NAME; tenant acme.com; users dev and eve (carbon.super
#                      subscribers), carol@acme.com (subscriber); tokens ADM (carbon.super
#                      admin, every scope), ACME (acme.com's admin: apim:api_view
#                      apim:subscribe), DEV, EVE, CAROL (apim:subscribe apim:app_manage)
#   an_load            insert the mix
#   an pub|dev TOKEN REPORT [QUERY]   GET .../analytics/REPORT?QUERY on the publisher (pub)
#                      or the portal (dev); sets CODE and BODY
#   an_check SCOPE REPORT QUERY       BODY against the mix: prints "ok" or what differs
#                      (SCOPE pub:TENANT or dev:OWNER:TENANT, see an_mix.py)
#   an_total SCOPE FIELD QUERY        one figure of the mix (requests, errors, throttled, ...)
#   an_j EXPR          a Python expression over the reply b (json) of BODY, printed
#   AN_RANGE           from=T0&to=T0+3h (the mix's range, epoch ms)
. "$GH_ROOT/tests/lib/cp.sh"
AN_MIX=$GH_ROOT/tests/lib/an_mix.py
AN_T0=1735689600000
AN_RANGE="from=$AN_T0&to=$((AN_T0 + 3 * 3600000))"

an_start() {
	cp_start "$1" || return 1
	tenant_create acme.com acmeadmin 'Acme-Adm1n' || { echo "an_start: tenant acme.com"; return 1; }
	ldap_user carbon.super dev 'D3v-pw' subscriber || return 1
	ldap_user carbon.super eve 'Ev3-pw' subscriber || return 1
	ldap_user acme.com carol 'Car0l-pw' subscriber || return 1
	ADM=$(admin_token)
	ACME=$(mgmt_token acmeadmin@acme.com 'Acme-Adm1n' "apim:api_view apim:subscribe")
	DEV=$(mgmt_token dev 'D3v-pw' "apim:subscribe apim:app_manage")
	EVE=$(mgmt_token eve 'Ev3-pw' "apim:subscribe apim:app_manage")
	CAROL=$(mgmt_token carol@acme.com 'Car0l-pw' "apim:subscribe apim:app_manage")
	for t in "$ADM" "$ACME" "$DEV" "$EVE" "$CAROL"; do
		case $t in ey*) ;; *) echo "an_start: a token is missing: $t"; return 1 ;; esac
	done
	export ADM ACME DEV EVE CAROL
}

an_load() { /usr/bin/python3 "$AN_MIX" sql | psql "$KM_DB" -qAtX -v ON_ERROR_STOP=1 >/dev/null; }

an() {
	local side=$1 tok=$2 report=$3 q=${4:-} base
	if [ "$side" = pub ]; then base=$PUB_URL/api/am/publisher/v4; else base=$PORTAL_URL/api/am/devportal/v3; fi
	pcall "$tok" "$base/analytics/$report${q:+?$q}"
}

an_check() { printf '%s' "$BODY" | /usr/bin/python3 "$AN_MIX" check "$1" "$2" "$3"; }

an_total() { /usr/bin/python3 "$AN_MIX" total "$1" "$2" "$3"; }

an_j() { printf '%s' "$BODY" | /usr/bin/python3 -c 'import json,sys; b=json.load(sys.stdin); print('"$1"')' 2>/dev/null || echo "<bad>"; }
