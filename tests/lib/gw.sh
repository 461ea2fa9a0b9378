# Gateway test harness (sourced by tests/gateway/*.t and the gateway benchmark), on top of
# cp.sh (key manager + publisher + portal).
#   gw_setup NAME          cp_start NAME, two recording backends (BE_PROD_URL, BE_SAND_URL,
#                          logs BE_PROD_LOG, BE_SAND_LOG; every byte in $LOG.raw) and
#                          ADM (an admin management token with every scope)
#   gw_api NAME CONTEXT VERSION ENVS [JSON-MEMBERS]
#                          create an API through the publisher (endpoints: the two backends;
#                          operations GET/POST/PUT/DELETE/PATCH on /*; policies Gold, Silver,
#                          Unlimited), a revision, deploy to ENVS ("Internal", "External" or
#                          "Internal External"), publish; prints its id.  JSON-MEMBERS (e.g.
#                          '"securityScheme":["oauth2","api_key"]') are added to the body;
#                          GW_ENDPOINTS (an endpointConfig object) and GW_TIERS ('"Gold","Bronze"')
#                          replace the defaults.
#   gw_app NAME API_ID [TIER] [KEYTYPE]   an application of user 'dev' (created on first use)
#                          subscribed to API_ID, keys generated: sets APP_ID, CK, CS, TOKEN
#                          (client_credentials JWT)
#   gw_token CK CS         a client_credentials access token
#   gw_start ZONE [extra config lines]   start gw-internal or gw-external (section lines
#                          may follow, e.g. "trusted_proxies = 127.0.0.1") on free ports:
#                          exports GWI_URL/GWI_HTTP_URL/GWI_MGMT/GWI_PID/GWI_LOG or
#                          GWE_URL/GWE_MGMT/GWE_PID/GWE_LOG; waits for /health
#   gw_stop ZONE           stop one gateway (SIGTERM; non-zero when it had to be killed)
#   gw_teardown            stop gateways, backends and the control plane
#   gwi ARGS / gwe ARGS    curl to gw-internal / gw-external with the node's CA
#   gw_wait_code WANT MS CURL-ARGS...   poll until the status is WANT (≤ MS ms); prints it
. "$GH_ROOT/tests/lib/cp.sh"
GH_GW_PIDS=""
GH_BE_PIDS=""

_gw_backend() {	# NAME -> sets _BE_PORT
	local name=$1 log=$GH_TMP/backend-$1.log out=$GH_TMP/backend-$1.out pid
	: >"$log"; : >"$log.raw"; : >"$out"
	/usr/bin/python3 "$GH_ROOT/tests/lib/backend.py" "$name" 0 "$log" >"$out" 2>&1 &
	pid=$!
	GH_BE_PIDS="$GH_BE_PIDS $pid"
	for _ in $(seq 1 100); do grep -q '^READY ' "$out" && break; sleep 0.05; done
	_BE_PORT=$(sed -n 's/^READY //p' "$out")
	[ -n "$_BE_PORT" ] || { echo "backend $name did not start: $(cat "$out")" >&2; return 1; }
}

gw_setup() {
	cp_start "$1" || return 1
	_gw_backend prod || return 1
	BE_PROD_URL=http://127.0.0.1:$_BE_PORT BE_PROD_LOG=$GH_TMP/backend-prod.log
	_gw_backend sandbox || return 1
	BE_SAND_URL=http://127.0.0.1:$_BE_PORT BE_SAND_LOG=$GH_TMP/backend-sandbox.log
	ADM=$(admin_token)
	export BE_PROD_URL BE_PROD_LOG BE_SAND_URL BE_SAND_LOG ADM
}

gw_api() {
	local name=$1 ctx=$2 ver=$3 envs=$4 extra=${5:-} P=$PUB_URL/api/am/publisher/v4 id rev dep=""
	[ -n "$extra" ] && extra=",$extra"
	local ec=${GW_ENDPOINTS:-"{\"endpoint_type\":\"http\",\"production_endpoints\":{\"url\":\"$BE_PROD_URL\"},
		\"sandbox_endpoints\":{\"url\":\"$BE_SAND_URL\"}}"}
	pcall "$ADM" -H 'Content-Type: application/json' -d "{\"name\":\"$name\",\"context\":\"$ctx\",
		\"version\":\"$ver\",\"policies\":[${GW_TIERS:-\"Gold\",\"Silver\",\"Unlimited\"}],
		\"endpointConfig\":$ec,
		\"operations\":[{\"target\":\"/*\",\"verb\":\"GET\"},{\"target\":\"/*\",\"verb\":\"POST\"},
		{\"target\":\"/*\",\"verb\":\"PUT\"},{\"target\":\"/*\",\"verb\":\"DELETE\"},
		{\"target\":\"/*\",\"verb\":\"PATCH\"}]$extra}" "$P/apis"
	[ "$CODE" = 201 ] || { echo "gw_api: create $CODE $BODY" >&2; return 1; }
	id=$(jget "$BODY" id)
	pcall "$ADM" -H 'Content-Type: application/json' -d '{"description":"gw test"}' "$P/apis/$id/revisions"
	[ "$CODE" = 201 ] || { echo "gw_api: revision $CODE $BODY" >&2; return 1; }
	rev=$(jget "$BODY" id)
	for e in $envs; do dep="$dep${dep:+,}{\"name\":\"$e\",\"vhost\":\"localhost\",\"displayOnDevportal\":true}"; done
	pcall "$ADM" -H 'Content-Type: application/json' -d "[$dep]" "$P/apis/$id/deploy-revision?revisionId=$rev"
	[ "$CODE" = 201 ] || { echo "gw_api: deploy $CODE $BODY" >&2; return 1; }
	pcall "$ADM" -X POST "$P/apis/change-lifecycle?action=Publish&apiId=$id"
	[ "$CODE" = 200 ] || { echo "gw_api: publish $CODE $BODY" >&2; return 1; }
	printf '%s\n' "$id"
}

gw_token() {
	jget "$(km_curl -u "$1:$2" -d grant_type=client_credentials "$KM_URL/oauth2/token")" access_token
}

gw_app() {
	local name=$1 api=$2 tier=${3:-Gold} kt=${4:-PRODUCTION} D=$PORTAL_URL/api/am/devportal/v3
	if [ -z "${DEV_TOKEN:-}" ]; then
		ldap_user carbon.super dev 'Dev-pass-123' subscriber 2>/dev/null
		DEV_TOKEN=$(mgmt_token dev 'Dev-pass-123' "apim:subscribe apim:app_manage apim:sub_manage apim:api_key")
	fi
	pcall "$DEV_TOKEN" -H 'Content-Type: application/json' -d "{\"name\":\"$name\",\"throttlingPolicy\":\"Unlimited\"}" \
		"$D/applications"
	[ "$CODE" = 201 ] || { echo "gw_app: application $CODE $BODY" >&2; return 1; }
	APP_ID=$(jget "$BODY" applicationId)
	pcall "$DEV_TOKEN" -H 'Content-Type: application/json' \
		-d "{\"apiId\":\"$api\",\"applicationId\":\"$APP_ID\",\"throttlingPolicy\":\"$tier\"}" "$D/subscriptions"
	[ "$CODE" = 201 ] || { echo "gw_app: subscribe $CODE $BODY" >&2; return 1; }
	pcall "$DEV_TOKEN" -H 'Content-Type: application/json' \
		-d "{\"keyType\":\"$kt\",\"grantTypesToBeSupported\":[\"client_credentials\"]}" \
		"$D/applications/$APP_ID/generate-keys"
	[ "$CODE" = 200 ] || { echo "gw_app: keys $CODE $BODY" >&2; return 1; }
	CK=$(jget "$BODY" consumerKey); CS=$(jget "$BODY" consumerSecret)
	TOKEN=$(gw_token "$CK" "$CS")
	export APP_ID CK CS TOKEN DEV_TOKEN
}

gw_start() {
	local zone=$1; shift
	local conf=$GH_TMP/$zone.conf port mport hport="" pid log up
	port=$(_km_port); mport=$(_km_port)
	cp "$KM_CONF" "$conf"
	{
		printf '[%s]\nlisten = 127.0.0.1\nhttps_port = %s\nmgmt_port = %s\n' "$zone" "$port" "$mport"
		case " $* " in *" workers = "*) ;; *) printf 'workers = 2\n' ;; esac
		if [ "$zone" = gw-internal ]; then hport=$(_km_port); printf 'http_port = %s\n' "$hport"; fi
		for line in "$@"; do printf '%s\n' "$line"; done
	} >>"$conf"
	log=$GH_TMP/$zone.log
	"$GH_BIN/gatehouse-$zone" --config "$conf" >>"$log" 2>&1 &
	pid=$!
	GH_GW_PIDS="$GH_GW_PIDS $pid"
	_km_wait "http://127.0.0.1:$mport" "$pid" || { echo "$zone did not start:"; tail -20 "$log"; return 1; }
	if [ "$zone" = gw-internal ]; then
		GWI_URL=https://localhost:$port GWI_HTTP_URL=http://127.0.0.1:$hport GWI_MGMT=http://127.0.0.1:$mport
		GWI_PID=$pid GWI_LOG=$log GWI_CONF=$conf
		export GWI_URL GWI_HTTP_URL GWI_MGMT GWI_PID GWI_LOG GWI_CONF
	else
		GWE_URL=https://localhost:$port GWE_MGMT=http://127.0.0.1:$mport GWE_PID=$pid GWE_LOG=$log GWE_CONF=$conf
		export GWE_URL GWE_MGMT GWE_PID GWE_LOG GWE_CONF
	fi
}

gw_stop() {
	if [ "$1" = gw-internal ]; then km_kill "$GWI_PID"; else km_kill "$GWE_PID"; fi
}

gw_teardown() {
	for p in $GH_GW_PIDS; do km_kill "$p"; done
	for p in $GH_BE_PIDS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	GH_GW_PIDS="" GH_BE_PIDS=""
	cp_stop
}

gwi() { curl -s --cacert "$KM_CA" "$@"; }
gwe() { curl -s --cacert "$KM_CA" "$@"; }

gw_wait_code() {
	local want=$1 ms=$2 code=""; shift 2
	local end=$(( $(date +%s%3N) + ms ))
	while :; do
		code=$(curl -s --cacert "$KM_CA" -o /dev/null -w '%{http_code}' "$@")
		[ "$code" = "$want" ] && break
		[ "$(date +%s%3N)" -ge "$end" ] && break
		sleep 0.05
	done
	printf '%s\n' "$code"
}
