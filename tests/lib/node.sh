# Node test harness (sourced by tests/patterns/*.t): all-in-one nodes run by `gatehouse run`,
# each with its embedded PostgreSQL and slapd under its own data folder, every port free.
#   node_conf NAME [extra config lines]   write $GH_TMP/NAME/node.conf (mode 0600) and
#                        $GH_TMP/NAME/env (the node's URLs and ports, see node_use)
#   node_init NAME       gatehouse init --first (admin password in $GH_TMP/NAME/admin-password)
#   node_run NAME        gatehouse run in the background (supervisor log $GH_TMP/NAME/run.log,
#                        the processes' logs in $GH_TMP/NAME/log/); waits until `gatehouse status`
#                        says every process is healthy; exports NODE_PID
#   node_stop NAME       SIGTERM to the supervisor and wait (≤ 60 s); its exit status in NODE_RC
#   node_use NAME        export what tests/lib/cp.sh and gw.sh helpers read (KM_URL, KM_CA, KM_PKI,
#                        KM_CONF, KM_ADMIN_PW, KM_LDAP_BASE, PUB_URL, PORTAL_URL, GWI_URL,
#                        GWI_HTTP_URL, GWE_URL, *_MGMT, GH_TEST_LDAP_* of the embedded slapd, and
#                        KM_DB for sql), then register a management client (CP_CLIENT, CP_SECRET)
#   node_pids NAME       the pids of the node's processes (from its pid files), one a line
. "$GH_ROOT/tests/lib/gw.sh"
. "$GH_ROOT/appliance/embedded/pg.sh"

node_conf() {
	local name=$1 d=$GH_TMP/$1; shift
	local p=() i
	for i in $(seq 0 16); do p[$i]=$(gh_free_port); done
	mkdir -p "$d"
	local dbpw ldpw
	dbpw=db-$(head -c 9 /dev/urandom | base64 | tr -d '/+=')
	ldpw=ld-$(head -c 9 /dev/urandom | base64 | tr -d '/+=')
	(umask 077; cat >"$d/node.conf" <<CONF
[node]
name = $name
role = all-in-one
data_dir = $d/data
hostnames = localhost, 127.0.0.1
embedded_db = on
embedded_ldap = on
log_dir = $d/log
start_timeout = 120s
[db]
host = 127.0.0.1
port = ${p[0]}
name = gatehouse
user = gatehouse
password = "$dbpw"
sslmode = disable
[ldap]
uri = ldap://127.0.0.1:${p[1]}
base_dn = dc=gatehouse
bind_dn = cn=admin,dc=gatehouse
bind_password = "$ldpw"
[cluster]
keymanager_url = https://localhost:${p[2]}
keymanager_internal_url = https://localhost:${p[3]}
feed_url = https://localhost:${p[6]}
trafficmanager_url = https://localhost:${p[10]}
[keymanager]
listen = 127.0.0.1
port = ${p[2]}
internal_port = ${p[3]}
mgmt_port = ${p[4]}
public_url = https://localhost:${p[2]}
workers = 2
[publisher]
listen = 127.0.0.1
port = ${p[5]}
feed_port = ${p[6]}
mgmt_port = ${p[7]}
workers = 2
[portal]
listen = 127.0.0.1
port = ${p[8]}
mgmt_port = ${p[9]}
workers = 2
[trafficmanager]
listen = 127.0.0.1
port = ${p[10]}
mgmt_port = ${p[11]}
workers = 1
[gw-internal]
listen = 127.0.0.1
https_port = ${p[12]}
http_port = ${p[13]}
mgmt_port = ${p[14]}
workers = 1
[gw-external]
listen = 127.0.0.1
https_port = ${p[15]}
mgmt_port = ${p[16]}
workers = 1
CONF
	for line in "$@"; do printf '%s\n' "$line" >>"$d/node.conf"; done)
	cat >"$d/env" <<ENV
N_KM_URL=https://localhost:${p[2]}
N_KM_INTERNAL_URL=https://localhost:${p[3]}
N_KM_MGMT=http://127.0.0.1:${p[4]}
N_PUB_URL=https://localhost:${p[5]}
N_FEED_URL=https://localhost:${p[6]}
N_PUB_MGMT=http://127.0.0.1:${p[7]}
N_PORTAL_URL=https://localhost:${p[8]}
N_PORTAL_MGMT=http://127.0.0.1:${p[9]}
N_TM_MGMT=http://127.0.0.1:${p[11]}
N_GWI_URL=https://localhost:${p[12]}
N_GWI_HTTP_URL=http://127.0.0.1:${p[13]}
N_GWI_MGMT=http://127.0.0.1:${p[14]}
N_GWE_URL=https://localhost:${p[15]}
N_GWE_MGMT=http://127.0.0.1:${p[16]}
N_PG_PORT=${p[0]}
N_LDAP_URI=ldap://127.0.0.1:${p[1]}
N_LDAP_PW='$ldpw'
N_DB_PW='$dbpw'
ENV
}

node_init() {
	local d=$GH_TMP/$1
	[ -f "$d/admin-password" ] || printf 'Adm1n-%s\n' "$(head -c 6 /dev/urandom | base64 | tr -d '/+=')" >"$d/admin-password"
	"$GH_BIN/gatehouse" init --first --config "$d/node.conf" --admin-password-file "$d/admin-password" \
		>"$d/init.log" 2>&1 || { cat "$d/init.log"; return 1; }
}

node_run() {
	local d=$GH_TMP/$1 from
	touch "$d/run.log"
	from=$(( $(wc -l <"$d/run.log") + 1 ))
	"$GH_BIN/gatehouse" run --config "$d/node.conf" >>"$d/run.log" 2>&1 &
	NODE_PID=$!
	export NODE_PID
	for _ in $(seq 1 600); do
		tail -n +"$from" "$d/run.log" | grep -q '"event":"ready"' && return 0
		kill -0 "$NODE_PID" 2>/dev/null || { echo "gatehouse run ended:"; tail -30 "$d/run.log"; return 1; }
		sleep 0.2
	done
	echo "gatehouse run: not ready after 120 s"; tail -30 "$d/run.log"; return 1
}

node_stop() {
	local pid=${NODE_PID:-}
	NODE_RC=0
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 1 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
	wait "$pid" 2>/dev/null
	NODE_RC=$?
	NODE_PID=
}

node_pids() {
	local f
	for f in "$GH_TMP/$1"/data/run/*.pid; do
		[ -f "$f" ] || continue
		case $f in */gatehouse.pid) continue ;; esac
		cat "$f"
	done
}

node_use() {
	local d=$GH_TMP/$1
	. "$d/env"
	KM_URL=$N_KM_URL KM_INTERNAL_URL=$N_KM_INTERNAL_URL KM_MGMT_URL=$N_KM_MGMT
	KM_CONF=$d/node.conf KM_PKI=$d/data/pki KM_CA=$d/data/pki/ca.crt
	KM_ADMIN_PW=$(cat "$d/admin-password") KM_LDAP_BASE=dc=gatehouse
	KM_DB="host=127.0.0.1 port=$N_PG_PORT user=gatehouse password=$N_DB_PW dbname=gatehouse"
	PUB_URL=$N_PUB_URL FEED_URL=$N_FEED_URL PUB_MGMT_URL=$N_PUB_MGMT
	PORTAL_URL=$N_PORTAL_URL PORTAL_MGMT_URL=$N_PORTAL_MGMT
	GWI_URL=$N_GWI_URL GWI_HTTP_URL=$N_GWI_HTTP_URL GWI_MGMT=$N_GWI_MGMT
	GWE_URL=$N_GWE_URL GWE_MGMT=$N_GWE_MGMT
	GH_TEST_LDAP_URI=$N_LDAP_URI GH_TEST_LDAP_ROOTDN=cn=admin,dc=gatehouse GH_TEST_LDAP_ROOTPW=$N_LDAP_PW
	export KM_URL KM_INTERNAL_URL KM_MGMT_URL KM_CONF KM_PKI KM_CA KM_ADMIN_PW KM_LDAP_BASE KM_DB \
		PUB_URL FEED_URL PUB_MGMT_URL PORTAL_URL PORTAL_MGMT_URL GWI_URL GWI_HTTP_URL GWI_MGMT \
		GWE_URL GWE_MGMT GH_TEST_LDAP_URI GH_TEST_LDAP_ROOTDN GH_TEST_LDAP_ROOTPW
	local out
	out=$(km_curl -u "admin:$KM_ADMIN_PW" -H 'Content-Type: application/json' --data-binary \
		'{"callbackUrl":"https://localhost/cb","clientName":"node-tests","owner":"admin","grantType":"password refresh_token client_credentials","saasApp":true}' \
		"$KM_URL/client-registration/v0.17/register")
	CP_CLIENT=$(jget "$out" clientId); CP_SECRET=$(jget "$out" clientSecret)
	export CP_CLIENT CP_SECRET
	[ -n "$CP_CLIENT" ] && [ "$CP_CLIENT" != "<absent>" ]
}
