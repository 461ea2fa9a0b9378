#!/usr/bin/env bash
# make run: an all-in-one Gatehouse node on this machine's loopback, in the foreground.
#   1. writes var/gatehouse.conf on first use (embedded PostgreSQL and slapd under the node's
#      data folder, every listener on 127.0.0.1, generated passwords; mode 0600);
#   2. gatehouse init --first (a no-op after the first time);
#   3. gatehouse run (the supervisor: PostgreSQL, slapd, key manager, publisher, portal,
#      traffic manager, both gateways), and a small demo backend;
#   4. once the node is ready, a demo set-up (each step only when missing): a tenant demo.com,
#      a developer, the API "Demo" on the demo backend deployed to both gateway environments
#      and published, the developer's application subscribed to it with keys;
#   5. prints the URLs, the logins and a curl line that gets a token and calls the API, then
#      waits: Ctrl-C (or make stop) stops everything cleanly.
# Builds nothing (make does).  Overrides for tests: GH_RUN_VAR (instead of ./var), GH_RUN_BIN
# (instead of build/bin), GH_RUN_PORT_OFFSET (added to every port).
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
VAR=${GH_RUN_VAR:-$ROOT/var}
BIN=${GH_RUN_BIN:-$ROOT/build/bin}
GH=$BIN/gatehouse
O=${GH_RUN_PORT_OFFSET:-0}
PY=/usr/bin/python3
port() { echo $(( $1 + O )); }
KM=$(port 9445) KMI=$(port 9447) KMM=$(port 19445) PUB=$(port 9443) FEED=$(port 9446) PUBM=$(port 19443)
POR=$(port 9444) PORM=$(port 19444) TM=$(port 9611) TMM=$(port 19611)
GWI=$(port 8244) GWIH=$(port 8281) GWIM=$(port 18244) GWE=$(port 8243) GWEM=$(port 18243)
PGP=$(port 15432) LDP=$(port 1389) BEP=$(port 8300)
CONF=$VAR/gatehouse.conf

say() { printf 'make run: %s\n' "$*"; }
die() { say "$*" >&2; exit 1; }
[ -x "$GH" ] || die "$GH is missing: run 'make' first"
[ "$(id -u)" = 0 ] || die "run as root: the node switches to the user gatehouse and starts PostgreSQL as it"
mkdir -p "$VAR"
chmod 755 "$VAR"
if [ -f "$CONF" ] && ! grep -q '^embedded_db = on' "$CONF"; then
	die "$VAR holds a node of an older make run (PostgreSQL and slapd started by hand): stop it and remove $VAR first"
fi

# The data folder: PostgreSQL and slapd run as the user gatehouse, who must reach it.  A checkout
# under a private home (/root is 0700) is not reachable: the data folder then lives under
# /var/lib/gatehouse-run/<checkout hash> and var/data links to it.
DATA=$VAR/data
if [ ! -e "$DATA" ] && ! runuser -u nobody -- test -x "$VAR" 2>/dev/null; then
	alt=/var/lib/gatehouse-run/$(printf '%s' "$VAR" | sha256sum | cut -c1-12)
	mkdir -p "$alt"
	chmod 755 /var/lib/gatehouse-run "$alt"
	ln -s "$alt" "$DATA"
fi
[ -L "$DATA" ] && DATA=$(readlink -f "$DATA")

gen() { head -c 18 /dev/urandom | base64 | tr -d '/+='; }
if [ ! -f "$CONF" ]; then
	(umask 077; cat >"$CONF" <<CONF
# Gatehouse all-in-one node made by make run: embedded PostgreSQL and slapd, loopback only.
# Reference of every setting: docs/CONFIG.md.
[node]
name = local
role = all-in-one
data_dir = $DATA
hostnames = localhost, 127.0.0.1
embedded_db = on
embedded_ldap = on
log_dir = $VAR/log

[db]
host = 127.0.0.1
port = $PGP
name = gatehouse
user = gatehouse
password = "$(gen)"
sslmode = disable

[ldap]
uri = ldap://127.0.0.1:$LDP
base_dn = dc=gatehouse
bind_dn = cn=admin,dc=gatehouse
bind_password = "$(gen)"

[cluster]
keymanager_url = https://localhost:$KM
keymanager_internal_url = https://localhost:$KMI
feed_url = https://localhost:$FEED
trafficmanager_url = https://localhost:$TM

[keymanager]
listen = 127.0.0.1
port = $KM
internal_port = $KMI
mgmt_port = $KMM
public_url = https://localhost:$KM

[publisher]
listen = 127.0.0.1
port = $PUB
feed_port = $FEED
mgmt_port = $PUBM

[portal]
listen = 127.0.0.1
port = $POR
mgmt_port = $PORM

[trafficmanager]
listen = 127.0.0.1
port = $TM
mgmt_port = $TMM

[gw-internal]
listen = 127.0.0.1
https_port = $GWI
http_port = $GWIH
mgmt_port = $GWIM

[gw-external]
listen = 127.0.0.1
https_port = $GWE
mgmt_port = $GWEM
CONF
	)
	say "wrote $CONF"
fi
[ -f "$VAR/admin-password" ] || (umask 077; printf 'admin-%s\n' "$(gen | cut -c1-12)" >"$VAR/admin-password")
[ -f "$VAR/developer-password" ] || (umask 077; printf 'dev-%s\n' "$(gen | cut -c1-12)" >"$VAR/developer-password")
if ! "$GH" init --first --config "$CONF" --admin-password-file "$VAR/admin-password" >"$VAR/init.out" 2>"$VAR/init.log"; then
	cat "$VAR/init.out"; grep -v '^{' "$VAR/init.log" || true
	die "gatehouse init failed (above; its log: $VAR/init.log)"
fi
grep -v '^unchanged' "$VAR/init.out" || true

# The demo backend: a small HTTP server on loopback answering JSON.
"$PY" - "$BEP" >>"$VAR/demo-backend.log" 2>&1 <<'PY' &
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Demo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace") if n else ""
        out = json.dumps({"message": "Hello from the Gatehouse demo backend",
                          "method": self.command, "path": self.path, "body": body,
                          "forwardedFor": self.headers.get("X-Forwarded-For"),
                          "backendJwt": bool(self.headers.get("X-JWT-Assertion"))}).encode() + b"\n"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = answer

    def log_message(self, fmt, *args):
        sys.stderr.write("demo-backend: " + (fmt % args) + "\n")

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Demo).serve_forever()
PY
BE_PID=$!

touch "$VAR/run.log"
from=$(( $(wc -l <"$VAR/run.log") + 1 ))
"$GH" run --config "$CONF" >>"$VAR/run.log" 2>&1 &
RUN_PID=$!
echo "$RUN_PID" >"$VAR/run.pid"
stopping=0
stop() {
	[ "$stopping" = 1 ] && return
	stopping=1
	say "stopping (gateways, control plane, then PostgreSQL and slapd) ..."
	kill -INT "$RUN_PID" 2>/dev/null || true
}
finish() {
	kill "$BE_PID" 2>/dev/null || true
	wait "$BE_PID" 2>/dev/null || true
	rm -f "$VAR/run.pid"
}
trap stop INT TERM
trap finish EXIT

# Wait for READY (gatehouse run logs "ready" once every process answers /health).
ready=0
for _ in $(seq 1 900); do
	tail -n +"$from" "$VAR/run.log" | grep -q '"event":"ready"' && { ready=1; break; }
	kill -0 "$RUN_PID" 2>/dev/null || break
	sleep 0.2
done
if [ "$ready" = 0 ]; then
	tail -n +"$from" "$VAR/run.log" | tail -20
	stop
	wait "$RUN_PID" 2>/dev/null || true
	die "the node did not come up (log: $VAR/run.log and $VAR/log/)"
fi

# ---- the demo set-up: REST calls, each step only when missing ----
CA=$DATA/pki/ca.crt
PW=$(cat "$VAR/admin-password")
DEVPW=$(cat "$VAR/developer-password")
c() { curl -s --cacert "$CA" "$@"; }
j() { "$PY" -c 'import json,sys
try:
    v = json.load(sys.stdin)
    for k in sys.argv[1].split("."):
        v = v[int(k)] if isinstance(v, list) else v[k]
    print(v if not isinstance(v, (dict, list)) else json.dumps(v))
except Exception:
    pass' "$1"; }
demo() {
	local out cid cs adm dev api rev app ck cs2 code
	if [ ! -s "$VAR/demo-client.json" ]; then
		(umask 077; c -u "admin:$PW" -H 'Content-Type: application/json' \
			-d '{"clientName":"make_run_demo","owner":"admin","grantType":"client_credentials password refresh_token","saasApp":true}' \
			"https://localhost:$KM/client-registration/v0.17/register" >"$VAR/demo-client.json")
	fi
	cid=$(j clientId <"$VAR/demo-client.json"); cs=$(j clientSecret <"$VAR/demo-client.json")
	[ -n "$cid" ] || { say "client registration failed: $(cat "$VAR/demo-client.json")"; return 1; }
	tok() { c -u "$cid:$cs" -d grant_type=password --data-urlencode "username=$1" --data-urlencode "password=$2" \
		--data-urlencode "scope=$3" "https://localhost:$KM/oauth2/token" | j access_token; }
	adm=$(tok admin "$PW" "apim:admin apim:api_view apim:api_create apim:api_publish apim:api_manage apim:tenant_manage apim:admin_operations apim:tier_view")
	[ -n "$adm" ] || { say "no admin token"; return 1; }
	A() { c -H "Authorization: Bearer $adm" -H 'Content-Type: application/json' "$@"; }
	# a tenant, with its own admin
	code=$(A -o /dev/null -w '%{http_code}' -d "{\"domain\":\"demo.com\",\"adminUsername\":\"admin\",\"adminPassword\":\"$PW\"}" \
		"https://localhost:$PUB/api/am/admin/v4/tenants")
	case $code in 201) say "created tenant demo.com (admin@demo.com)" ;; 409) ;; *) say "tenant demo.com: HTTP $code" ;; esac
	# a developer, by the portal's self sign-up
	code=$(c -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -H "Origin: https://localhost:$POR" \
		-d "{\"username\":\"developer\",\"password\":\"$DEVPW\",\"firstName\":\"Demo\",\"lastName\":\"Developer\",\"email\":\"developer@example.com\"}" \
		"https://localhost:$POR/devportal/signup")
	case $code in 201) say "created user developer (self sign-up)" ;; 409) ;; *) say "developer sign-up: HTTP $code" ;; esac
	# the API
	api=$(A "https://localhost:$PUB/api/am/publisher/v4/apis?query=name:Demo" | j list.0.id)
	if [ -z "$api" ]; then
		out=$(A -d "{\"name\":\"Demo\",\"context\":\"/demo\",\"version\":\"1.0\",\"description\":\"make run's demo API\",
			\"policies\":[\"Gold\",\"Unlimited\"],
			\"endpointConfig\":{\"endpoint_type\":\"http\",\"production_endpoints\":{\"url\":\"http://127.0.0.1:$BEP\"},
				\"sandbox_endpoints\":{\"url\":\"http://127.0.0.1:$BEP\"}},
			\"operations\":[{\"target\":\"/*\",\"verb\":\"GET\"},{\"target\":\"/*\",\"verb\":\"POST\"}]}" \
			"https://localhost:$PUB/api/am/publisher/v4/apis")
		api=$(printf '%s' "$out" | j id)
		[ -n "$api" ] || { say "creating the demo API failed: $out"; return 1; }
		rev=$(A -d '{"description":"make run"}' "https://localhost:$PUB/api/am/publisher/v4/apis/$api/revisions" | j id)
		A -o /dev/null -d '[{"name":"Internal","vhost":"localhost","displayOnDevportal":true},{"name":"External","vhost":"localhost","displayOnDevportal":true}]' \
			"https://localhost:$PUB/api/am/publisher/v4/apis/$api/deploy-revision?revisionId=$rev"
		A -o /dev/null -X POST "https://localhost:$PUB/api/am/publisher/v4/apis/change-lifecycle?action=Publish&apiId=$api"
		say "created API Demo /demo/1.0, deployed to Internal and External, published"
	fi
	# the developer's application, subscribed, with keys
	if [ ! -s "$VAR/demo-app.env" ]; then
		dev=$(tok developer "$DEVPW" "apim:subscribe apim:app_manage apim:sub_manage")
		[ -n "$dev" ] || { say "the developer cannot sign in"; return 1; }
		D() { c -H "Authorization: Bearer $dev" -H 'Content-Type: application/json' "$@"; }
		app=$(D -d '{"name":"DemoApp","throttlingPolicy":"Unlimited","description":"make run"}' \
			"https://localhost:$POR/api/am/devportal/v3/applications" | j applicationId)
		[ -n "$app" ] || { say "creating the demo application failed"; return 1; }
		D -o /dev/null -d "{\"apiId\":\"$api\",\"applicationId\":\"$app\",\"throttlingPolicy\":\"Gold\"}" \
			"https://localhost:$POR/api/am/devportal/v3/subscriptions"
		out=$(D -d '{"keyType":"PRODUCTION","grantTypesToBeSupported":["client_credentials"]}' \
			"https://localhost:$POR/api/am/devportal/v3/applications/$app/generate-keys")
		ck=$(printf '%s' "$out" | j consumerKey); cs2=$(printf '%s' "$out" | j consumerSecret)
		[ -n "$ck" ] || { say "generating keys failed: $out"; return 1; }
		(umask 077; printf 'DEMO_CK=%s\nDEMO_CS=%s\n' "$ck" "$cs2" >"$VAR/demo-app.env")
		say "created application DemoApp of developer, subscribed to Demo (Gold), keys generated"
	fi
}
demo || say "the demo set-up is incomplete (see above); the node runs"
. "$VAR/demo-app.env" 2>/dev/null || true
# the feed reaches the gateways within a moment: wait until the API answers
if [ -n "${DEMO_CK:-}" ]; then
	for _ in $(seq 1 100); do
		t=$(c -u "$DEMO_CK:$DEMO_CS" -d grant_type=client_credentials "https://localhost:$KM/oauth2/token" | j access_token)
		[ "$(c -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $t" "https://localhost:$GWE/demo/1.0/hello")" = 200 ] && break
		sleep 0.2
	done
fi

R=${CA#$ROOT/}
cat <<MSG

Gatehouse is up: an all-in-one node on 127.0.0.1 (make run; Ctrl-C or make stop ends it)
  publisher console  https://localhost:$PUB/publisher/
  developer portal   https://localhost:$POR/devportal/
  gateways           external https://localhost:$GWE   internal https://localhost:$GWI and http://127.0.0.1:$GWIH
  key manager        https://localhost:$KM  (OAuth2; /.well-known/oauth-authorization-server)
  REST APIs          https://localhost:$PUB/api/am/publisher/v4  .../api/am/admin/v4  https://localhost:$POR/api/am/devportal/v3
  logins             admin / $PW  (publisher and admin; also admin@demo.com in tenant demo.com)
                     developer / $DEVPW  (developer portal)
  the node           $GH status --config $CONF
                     configuration $CONF, logs $VAR/run.log and $VAR/log/, internal CA $CA
                     (the browser warns about it: import $R or accept the warning)
  demo API           Demo /demo/1.0 on http://127.0.0.1:$BEP, in both gateways; application DemoApp

Call the demo API (a token for DemoApp, then a call through the external gateway):
TOKEN=\$(curl -s --cacert $R -u '${DEMO_CK:-?}:${DEMO_CS:-?}' -d grant_type=client_credentials https://localhost:$KM/oauth2/token | sed -n 's/.*"access_token":"\\([^"]*\\)".*/\\1/p'); curl -s --cacert $R -H "Authorization: Bearer \$TOKEN" https://localhost:$GWE/demo/1.0/hello

MSG

# In the foreground until gatehouse run ends (Ctrl-C, make stop, or a failure).
while kill -0 "$RUN_PID" 2>/dev/null; do
	wait "$RUN_PID" && rc=0 || rc=$?
done
rc=${rc:-0}
[ "$stopping" = 1 ] && [ "$rc" -ge 128 ] && rc=0
say "stopped (gatehouse run exited $rc)"
exit "$rc"
