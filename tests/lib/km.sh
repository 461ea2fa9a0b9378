# Key manager test harness (sourced by tests/keymanager/*.t and the benchmark).
#   km_start NAME [extra config lines]
#       a node in $GH_TMP/NAME on the run's PostgreSQL and slapd: its own database
#       and its own LDAP subtree (ou=NAME-PID,dc=gatehouse), gatehouse init --first,
#       then gatehouse-keymanager on free loopback ports.  Exports:
#       KM_URL (public, https), KM_INTERNAL_URL (mutual TLS), KM_MGMT_URL (http),
#       KM_CA (the node's CA), KM_PKI (folder of component certificates: portal.crt/key,
#       publisher.*, gw-internal.*, gw-external.*, node.*), KM_CONF, KM_DB (conninfo),
#       KM_LDAP_BASE, KM_ADMIN_PW (password of 'admin' in carbon.super), KM_PID, KM_LOG.
#       KM_HOSTNAMES (optional, before km_start): more names for the node's certificates
#       (tests/image: 10.0.2.2, the host as a qemu guest sees it).
#   km_start_again NAME  a second key manager process on the same node (other ports);
#       exports KM2_URL, KM2_PID
#   km_stop             stop every key manager started here (SIGTERM, then wait)
#   km_curl ARGS...     curl with the node's CA
#   km_portal_curl ARGS...  curl with the CA and the portal's client certificate
# And small helpers the tests share (a test may define its own instead):
#   sql SQL             one statement on the node's database, unaligned output
#   sha TEXT            SHA-256 hex of TEXT
#   call ARGS...        km_curl; sets CODE (HTTP status) and BODY
#   jget JSON PATH      a member (a.b.0): strings raw, others as JSON; <absent> / <not json>
#   jwt_claims JWT      the JWT's payload as JSON text (<not a jwt>)
set -u
GH_KM_PIDS=""

_km_port() { gh_free_port; }

km_start() {
	local name=$1; shift
	local d=$GH_TMP/$name
	mkdir -p "$d"
	. "$GH_ROOT/appliance/embedded/pg.sh"
	local db=km_${name//[^a-z0-9]/_}_$$
	psql "$GH_TEST_PG" -qAt -c "CREATE DATABASE $db" >/dev/null || return 1
	KM_LDAP_BASE="ou=$name-$$,$GH_TEST_LDAP_BASE"
	printf 'dn: %s\nobjectClass: organizationalUnit\nou: %s-%s\n' "$KM_LDAP_BASE" "$name" "$$" |
		ldapadd -x -H "$GH_TEST_LDAP_URI" -D "$GH_TEST_LDAP_ROOTDN" -w "$GH_TEST_LDAP_ROOTPW" >/dev/null || return 1
	local port iport mport
	port=$(_km_port); iport=$(_km_port); mport=$(_km_port)
	KM_ADMIN_PW="Adm1n-$(head -c 6 /dev/urandom | base64 | tr -d '/+=')"
	printf '%s\n' "$KM_ADMIN_PW" >"$d/admin-password"
	cat >"$d/node.conf" <<CONF
[node]
name = $name
role = all-in-one
data_dir = $d/data
hostnames = localhost, 127.0.0.1${KM_HOSTNAMES:+, $KM_HOSTNAMES}
[db]
host = 127.0.0.1
port = $GH_TEST_PG_PORT
name = $db
user = postgres
sslmode = disable
[ldap]
uri = $GH_TEST_LDAP_URI
base_dn = $KM_LDAP_BASE
bind_dn = $GH_TEST_LDAP_ROOTDN
bind_password = "$GH_TEST_LDAP_ROOTPW"
[keymanager]
listen = 127.0.0.1
port = $port
internal_port = $iport
mgmt_port = $mport
public_url = https://localhost:$port
workers = 3
lockout_failures = 5
[log]
level = warn
CONF
	for line in "$@"; do printf '%s\n' "$line" >>"$d/node.conf"; done
	"$GH_BIN/gatehouse" init --first --config "$d/node.conf" --admin-password-file "$d/admin-password" \
		>"$d/init.log" 2>&1 || { cat "$d/init.log"; return 1; }
	KM_CONF=$d/node.conf
	KM_PKI=$d/data/pki
	KM_CA=$KM_PKI/ca.crt
	KM_DB="host=127.0.0.1 port=$GH_TEST_PG_PORT user=postgres dbname=$db"
	KM_URL=https://localhost:$port
	KM_INTERNAL_URL=https://localhost:$iport
	KM_MGMT_URL=http://127.0.0.1:$mport
	KM_LOG=$d/keymanager.log
	"$GH_BIN/gatehouse-keymanager" --config "$KM_CONF" >>"$KM_LOG" 2>&1 &
	KM_PID=$!
	GH_KM_PIDS="$GH_KM_PIDS $KM_PID"
	_km_wait "$KM_MGMT_URL" "$KM_PID" || { echo "keymanager did not start:"; cat "$KM_LOG"; return 1; }
	export KM_URL KM_INTERNAL_URL KM_MGMT_URL KM_CA KM_PKI KM_CONF KM_DB KM_LDAP_BASE KM_ADMIN_PW KM_PID KM_LOG
}

_km_wait() {
	for _ in $(seq 1 100); do
		curl -sf "$1/health" >/dev/null 2>&1 && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# A second process on the same configuration, other ports (same database and keys).
km_start_again() {
	local name=$1 d=$GH_TMP/$1 port iport mport
	port=$(_km_port); iport=$(_km_port); mport=$(_km_port)
	# Only the [keymanager] ports change (the [db] section has a port too).
	awk -v p="$port" -v ip="$iport" -v mp="$mport" '
		/^\[/ { sec = $0 }
		sec == "[keymanager]" && /^port = / { print "port = " p; next }
		sec == "[keymanager]" && /^internal_port = / { print "internal_port = " ip; next }
		sec == "[keymanager]" && /^mgmt_port = / { print "mgmt_port = " mp; next }
		{ print }' "$KM_CONF" >"$d/node2.conf"
	chmod 600 "$d/node2.conf"
	"$GH_BIN/gatehouse-keymanager" --config "$d/node2.conf" >>"$d/keymanager2.log" 2>&1 &
	KM2_PID=$!
	GH_KM_PIDS="$GH_KM_PIDS $KM2_PID"
	KM2_URL=https://localhost:$port
	KM2_MGMT_URL=http://127.0.0.1:$mport
	_km_wait "$KM2_MGMT_URL" "$KM2_PID" || { cat "$d/keymanager2.log"; return 1; }
	export KM2_URL KM2_PID KM2_MGMT_URL
}

# Stop one process (SIGTERM) and wait; non-zero when it had to be killed or exited non-zero.
km_kill() {
	local pid=$1 rc=0
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; rc=1; fi
	wait "$pid" 2>/dev/null || rc=$?
	return $rc
}

km_stop() {
	for p in $GH_KM_PIDS; do km_kill "$p"; done
	GH_KM_PIDS=""
}

km_curl() { curl -s --cacert "$KM_CA" "$@"; }
km_portal_curl() { curl -s --cacert "$KM_CA" --cert "$KM_PKI/portal.crt" --key "$KM_PKI/portal.key" "$@"; }

sql() { psql "$KM_DB" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }
sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
call() { local o; o=$(km_curl -w '\n%{http_code}' "$@"); BODY=${o%$'\n'*}; CODE=${o##*$'\n'}; }
jget() {
	printf '%s' "$1" | /usr/bin/python3 -c '
import json, sys
try:
    v = json.load(sys.stdin)
except Exception:
    print("<not json>"); sys.exit()
for k in sys.argv[1].split(".") if sys.argv[1] else []:
    if isinstance(v, dict) and k in v: v = v[k]
    elif isinstance(v, list) and k.isdigit() and int(k) < len(v): v = v[int(k)]
    else: print("<absent>"); sys.exit()
print(v if isinstance(v, str) else json.dumps(v, sort_keys=True))' "$2"
}
jwt_claims() {
	/usr/bin/python3 -c '
import base64, sys
p = sys.argv[1].split(".")[1]
print(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)).decode())' "$1" 2>/dev/null || echo "<not a jwt>"
}
