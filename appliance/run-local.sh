#!/usr/bin/env bash
# make run: an all-in-one node on this machine, with its embedded PostgreSQL and
# slapd under ./var (kept between runs).  Builds nothing itself (make does);
# starts the servers, writes var/gatehouse.conf on first use, runs
# `gatehouse init --first` (a no-op after the first time) and prints what to do next.
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
VAR=$ROOT/var
GH=$ROOT/build/bin/gatehouse
PG_PORT=${GH_PG_PORT:-15432}
LDAP_PORT=${GH_LDAP_PORT:-1389}
mkdir -p "$VAR"
chmod 755 "$VAR"
. appliance/embedded/pg.sh
. appliance/embedded/slapd.sh

# PostgreSQL runs as the postgres user, which must be able to reach its folder. A checkout
# under a private home (/root is 0700) is not reachable: the cluster then lives in
# /var/lib/gatehouse-run/<checkout hash>/pg and var/pg links to it.
if [ ! -e "$VAR/pg" ] && ! runuser -u postgres -- test -x "$VAR" 2>/dev/null; then
	alt=/var/lib/gatehouse-run/$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)
	mkdir -p "$alt/pg"
	chmod 755 /var/lib/gatehouse-run "$alt"
	ln -s "$alt/pg" "$VAR/pg"
fi
mkdir -p "$VAR/pg"
PGD=$(readlink -f "$VAR/pg")
if ! runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$PGD/data" status >/dev/null 2>&1; then
	gh_pg_start "$PGD" "$PG_PORT" || { echo "make run: PostgreSQL did not start (see $PGD/pg.log)"; exit 1; }
fi
if [ ! -f "$VAR/slapd/pid" ] || ! kill -0 "$(cat "$VAR/slapd/pid")" 2>/dev/null; then
	GH_SLAPD_ARGON2=1 gh_slapd_start "$VAR/slapd" "$LDAP_PORT" || { echo "make run: slapd did not start (see $VAR/slapd/slapd.log)"; exit 1; }
fi
PGC="host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres"
if [ ! -f "$VAR/dbpw" ]; then
	(umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$VAR/dbpw")
	psql "$PGC" -qAt -v pw="$(cat "$VAR/dbpw")" <<'SQL' >/dev/null
CREATE ROLE gatehouse LOGIN PASSWORD :'pw';
CREATE DATABASE gatehouse OWNER gatehouse;
SQL
fi
if [ ! -f "$VAR/gatehouse.conf" ]; then
	(umask 077; cat >"$VAR/gatehouse.conf" <<CONF
# Gatehouse all-in-one node made by make run (embedded PostgreSQL and slapd)
[node]
name = local
role = all-in-one
data_dir = $VAR/data
hostnames = localhost, 127.0.0.1

[db]
host = 127.0.0.1
port = $PG_PORT
name = gatehouse
user = gatehouse
password = "$(cat "$VAR/dbpw")"
sslmode = disable

[ldap]
uri = ldap://127.0.0.1:$LDAP_PORT
base_dn = dc=gatehouse
bind_dn = cn=admin,dc=gatehouse
bind_password = "$(cat "$VAR/slapd/rootpw")"
CONF
	)
fi
pwfile=
if [ ! -f "$VAR/admin-password" ]; then
	(umask 077; printf 'admin-%s\n' "$(head -c 9 /dev/urandom | base64 | tr -d '/+=')" >"$VAR/admin-password")
fi
"$GH" init --first --config "$VAR/gatehouse.conf" --admin-password-file "$VAR/admin-password"

# start NAME BINARY MGMT_PORT: one daemon of the node, unless it already runs; waits for /health.
start() {
	local name=$1 bin=$ROOT/build/bin/$2 mport=$3
	if [ ! -f "$VAR/$name.pid" ] || ! kill -0 "$(cat "$VAR/$name.pid")" 2>/dev/null; then
		"$bin" --config "$VAR/gatehouse.conf" >>"$VAR/$name.log" 2>&1 &
		echo $! >"$VAR/$name.pid"
	fi
	for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$mport/health" >/dev/null && return 0; sleep 0.1; done
	echo "make run: $name did not start (see var/$name.log)"; tail -5 "$VAR/$name.log"; exit 1
}
# The key manager (HTTPS 9445, internal 9447), the publisher (REST 9443, feed 9446) and the
# portal (REST 9444); management ports 1944x on loopback.
start keymanager gatehouse-keymanager 19445
start publisher gatehouse-publisher 19443
start portal gatehouse-portal 19444
# The traffic manager (9611, mutual TLS: gateways' throttle sync and analytics events).
start trafficmanager gatehouse-trafficmanager 19611
# The gateways (gw-internal: HTTPS 8244 and HTTP 8281; gw-external: HTTPS 8243), configured
# by the publisher's data feed.
start gw-internal gatehouse-gw-internal 18244
start gw-external gatehouse-gw-external 18243

CA=$VAR/data/pki/ca.crt
PW=$(cat "$VAR/admin-password")
# A demo management client, registered once through WSO2's DCR endpoint.
if [ ! -f "$VAR/demo-client.json" ]; then
	(umask 077; curl -sf --cacert "$CA" -u "admin:$PW" -H 'Content-Type: application/json' \
		https://localhost:9445/client-registration/v0.17/register \
		-d '{"clientName":"make_run_demo","owner":"admin","grantType":"client_credentials password refresh_token","saasApp":true}' \
		>"$VAR/demo-client.json") || rm -f "$VAR/demo-client.json"
fi
CID=$(sed -n 's/.*"clientId":"\([^"]*\)".*/\1/p' "$VAR/demo-client.json" 2>/dev/null || true)
CSECRET=$(sed -n 's/.*"clientSecret":"\([^"]*\)".*/\1/p' "$VAR/demo-client.json" 2>/dev/null || true)

cat <<MSG

Gatehouse all-in-one node is up:
  publisher console  https://localhost:9443/publisher/    (sign in as the demo login below)
  developer portal   https://localhost:9444/devportal/    (sign up, or sign in as the demo login)
  key manager  https://localhost:9445  (OAuth2; metadata at /.well-known/oauth-authorization-server)
  publisher    https://localhost:9443/api/am/publisher/v4/apis   admin: /api/am/admin/v4/...
  data feed    https://localhost:9446/internal/data/v1/...   (gateway certificates only)
  portal       https://localhost:9444/api/am/devportal/v3/apis
  gateways     internal https://localhost:8244 and http://127.0.0.1:8281, external https://localhost:8243
  traffic mgr  https://localhost:9611 (gateway certificates only): throttle sync, analytics events
               health and metrics: http://127.0.0.1:1944{5,3,4}/health, 19611 (traffic manager) and 1824{4,3} (gateways), /metrics
  PostgreSQL   $PGC  (gatehouse's own login: user gatehouse, password in var/dbpw)
  slapd        ldap://127.0.0.1:$LDAP_PORT  base dc=gatehouse  (root password in var/slapd/rootpw)
  config       var/gatehouse.conf   (check it: build/bin/gatehouse check-config var/gatehouse.conf)
  certificates var/data/pki/        (internal CA: var/data/pki/ca.crt)
  demo login   admin / $PW   (super tenant carbon.super)

Get a token with curl (demo client registered by DCR: var/demo-client.json):
  curl --cacert var/data/pki/ca.crt -u '$CID:$CSECRET' \\
       https://localhost:9445/oauth2/token -d grant_type=client_credentials
  curl --cacert var/data/pki/ca.crt -u '$CID:$CSECRET' \\
       https://localhost:9445/oauth2/token -d grant_type=password -d username=admin -d 'password=$PW' -d 'scope=apim:api_view'
List APIs in the publisher with a management token:
  TOKEN=\$(curl -s --cacert var/data/pki/ca.crt -u '$CID:$CSECRET' https://localhost:9445/oauth2/token \\
       -d grant_type=password -d username=admin -d 'password=$PW' -d 'scope=apim:api_view apim:api_create' |
       sed -n 's/.*"access_token":"\\([^"]*\\)".*/\\1/p')
  curl --cacert var/data/pki/ca.crt -H "Authorization: Bearer \$TOKEN" https://localhost:9443/api/am/publisher/v4/apis
Register your own client (WSO2 DCR):
  curl --cacert var/data/pki/ca.crt -u 'admin:$PW' -H 'Content-Type: application/json' \\
       https://localhost:9445/client-registration/v0.17/register \\
       -d '{"clientName":"my_cli","owner":"admin","grantType":"client_credentials password refresh_token","saasApp":true}'
Stop: make stop
MSG
