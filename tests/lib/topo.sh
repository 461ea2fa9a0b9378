# Topology harness (sourced by tests/patterns/6*.t): network namespaces joined by veth pairs to
# one router namespace, one bridge per zone, nftables rules in the router, and daemons run
# inside the namespaces.  Nothing here touches the root namespace's network: every address
# lives only in namespaces this run made (10.20.Z.H; zone Z: internet 1, dmz 2, lan 3), every
# namespace name starts with a prefix unique to the run, and topo_teardown (set as the EXIT
# trap by topo_init) kills what the run started and deletes them.
#   topo_init                  the router (forwarding on, nftables table "topo": policy drop
#                              between zones, traffic inside a zone free, replies to allowed
#                              connections pass, the rest rejected at once) and the zone bridges
#   topo_host NAME ZONE H      a namespace $TOPO_P-NAME with eth0 = 10.20.Z.H/24, lo up, a route
#                              to 10.20.0.0/16 only (no default route); exports IP_NAME
#   topo_names NAME "HOST=ADDR ..."  /etc/hosts (and a resolv.conf pointing at 127.0.0.1) seen by
#                              commands run in NAME (ip netns exec bind-mounts /etc/netns/NS/)
#   topo_allow FROM TO PORT... a firewall hole: host FROM may open TCP connections to TO's PORTs
#   topo_refused               packets the router refused so far
#   at NAME CMD...             run CMD in NAME's namespace
#   topo_run NAME LOG CMD...   start CMD in NAME's namespace in the background (sets TOPO_PID,
#                              remembered for the teardown)
#   topo_kill PID              SIGTERM, wait up to 5 s, then SIGKILL (0: it stopped by itself)
#   topo_wait_port NAME PORT [SECONDS] [PID]   until something listens on PORT inside NAME
#   topo_reach FROM ADDR PORT  0 when a TCP connection from FROM to ADDR:PORT opens within 2 s
#   topo_listeners NAME        "addr:port" of every TCP listener in NAME not on loopback
#   topo_pg_start NAME DIR     PostgreSQL 15 (appliance/embedded/pg.sh's cluster) listening on
#                              127.0.0.1 and NAME's address, port 5432; a role gatehouse with a
#                              password and its database gatehouse; exports TOPO_DB_PW, TOPO_DB
#                              (superuser conninfo without dbname, to use inside NAME), TOPO_PG_DIR
#   topo_pg_stop / topo_pg_restart    pg_ctl stop -m immediate / start again
#   topo_slapd_start NAME DIR  slapd (appliance/embedded/slapd.sh's directory) on NAME's address
#                              and 127.0.0.1, port 389; exports TOPO_LDAP_PW, TOPO_SLAPD_PID
#   topo_slapd_stop / topo_slapd_restart
#   topo_public_ca DIR NAME... a "public" CA (not Gatehouse's) and one certificate for the NAMEs,
#                              DIR/public.pem (certificate and key, for HAProxy) and
#                              DIR/public-ca.crt (for clients)
#   topo_lb_cfg DIR LBADDR API PORTAL LOGIN   the load balancer's configuration (see below)
#   topo_haproxy NAME CFG      HAProxy (foreground, -db) in NAME, until it listens; sets TOPO_PID
#   tsql SQL                   one statement in the gatehouse database (as postgres, inside the
#                              database host), unaligned output
# Node helpers (Gatehouse processes, started directly with --config as the other harnesses do):
#   topo_conf DIR NODE HOSTNAMES    a node folder DIR with node.conf holding [node] and [log]
#   topo_cp_conf DIR DBHOST    append db (database TOPO_DB_NAME, default gatehouse), LDAP
#                              (base TOPO_LDAP_BASE, default dc=gatehouse), cluster URLs and
#                              component settings for a deployment's first node
#   topo_control_plane DIR     the first node in host cp (node cp1, database and directory on
#                            host db): topo_conf, topo_cp_conf, `gatehouse init --first --role
#                            control-plane` with a generated admin password (TOPO_ADMIN_PW),
#                            TOPO_CA, then its keymanager, publisher, portal, trafficmanager
#   topo_proc NAME DIR COMPONENT    start gatehouse-COMPONENT in NAME with DIR/node.conf and wait
#                              for its /health on the management port; sets TOPO_PID and
#                              PID_COMPONENT_NAME (dashes as underscores)
#   topo_issue ROLE [ENV]      an enrolment token through the admin API (sets TOK)
#   topo_enroll NAME DIR ROLE [ENV]  topo_issue, then gatehouse init --enroll in NAME
#   tcall NAME CURL-ARGS...    curl in NAME with the node's CA (TOPO_CA); sets CODE and BODY
#   topo_mgmt_client NAME      a management client of admin by DCR (sets CP_CLIENT, CP_SECRET)
#   topo_token NAME USER PASSWORD SCOPES   a password-grant management token (printed)
#   topo_api NAME CTX ENVS BACKEND-URL [JSON-MEMBERS]   create, revise, deploy, publish (prints id)
#   topo_app NAME PORTAL-URL DEVTOKEN APP API [TIER]   application, subscription, keys: CK, CS
#   topo_backend NAME PORT LOG [JWKS-URL]   tests/patterns/topo_backend.py on NAME's address
# Cluster names (km.lan, pub.lan, tm.lan, portal.lan, login.example) come from each host's
# topo_names: the key manager's issuer https://login.example is its public port 443 inside and
# the load balancer on the internet.
set -u
. "$GH_ROOT/tests/lib/km.sh"
TOPO_P=gh$(printf '%04x' $((RANDOM % 65536)))$$
TOPO_NSES=""
TOPO_PIDS=""
TOPO_PG_DIR="" TOPO_SLAPD_DIR="" TOPO_SLAPD_PID="" TOPO_DB_HOST=""
TOPO_CURL_MAX=${TOPO_CURL_MAX:-10}

_zone_idx() { case $1 in internet) echo 1 ;; dmz) echo 2 ;; lan) echo 3 ;; *) return 1 ;; esac; }

at() { local n=$1; shift; ip netns exec "$TOPO_P-$n" "$@"; }

topo_init() {
	command -v nft >/dev/null || { echo "topo: nft is missing (apt-get install nftables)"; return 1; }
	command -v haproxy >/dev/null || { echo "topo: haproxy is missing"; return 1; }
	trap topo_teardown EXIT
	trap 'exit 143' TERM	# (so that the EXIT trap runs when tests/run's timeout stops the test)
	trap 'exit 130' INT
	_topo_sweep
	ip netns add "$TOPO_P-router" || return 1
	TOPO_NSES="$TOPO_NSES router"
	at router ip link set lo up
	at router sysctl -qw net.ipv4.ip_forward=1
	local z i
	for z in internet dmz lan; do
		i=$(_zone_idx $z)
		at router ip link add "br-$z" type bridge || return 1
		at router ip addr add "10.20.$i.1/24" dev "br-$z"
		at router ip link set "br-$z" up
	done
	at router nft -f - <<'NFT' || return 1
table inet topo {
	chain allow {
	}
	chain forward {
		type filter hook forward priority 0; policy drop;
		ct state established,related accept
		ct state invalid drop
		ip saddr 10.20.1.0/24 ip daddr 10.20.1.0/24 accept
		ip saddr 10.20.2.0/24 ip daddr 10.20.2.0/24 accept
		ip saddr 10.20.3.0/24 ip daddr 10.20.3.0/24 accept
		jump allow
		meta l4proto tcp counter name refused reject with tcp reset
		counter name refused reject with icmpx type admin-prohibited
	}
	chain input {
		type filter hook input priority 0; policy drop;
		ct state established,related accept
		iif lo accept
		meta l4proto tcp reject with tcp reset
		reject with icmpx type admin-prohibited
	}
	counter refused {
	}
}
NFT
}

# Namespaces of an earlier run of these tests that was killed before its teardown: named like
# ours, their test's process gone, nothing running in them.
_topo_sweep() {
	local ns pid
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		[[ $ns =~ ^gh[0-9a-f]{4}([0-9]+)-[a-z0-9-]+$ ]] || continue
		pid=${BASH_REMATCH[1]}
		kill -0 "$pid" 2>/dev/null && continue
		[ -z "$(ip netns pids "$ns" 2>/dev/null)" ] || continue
		ip netns del "$ns" 2>/dev/null && rm -rf "/etc/netns/$ns"
	done
}

topo_host() {
	local name=$1 zone=$2 h=$3 i ns=$TOPO_P-$1
	i=$(_zone_idx "$zone") || { echo "topo_host: unknown zone $zone"; return 1; }
	ip netns add "$ns" || return 1
	TOPO_NSES="$TOPO_NSES $name"
	ip link add eth0 netns "$ns" type veth peer name "v-$name" netns "$TOPO_P-router" || return 1
	at router ip link set "v-$name" master "br-$zone"
	at router ip link set "v-$name" up
	at "$name" ip link set lo up
	at "$name" ip addr add "10.20.$i.$h/24" dev eth0
	at "$name" ip link set eth0 up
	at "$name" ip route add 10.20.0.0/16 via "10.20.$i.1"
	printf -v "IP_${name//-/_}" '%s' "10.20.$i.$h"
	export "IP_${name//-/_}"
}

topo_names() {
	local d=/etc/netns/$TOPO_P-$1 kv
	mkdir -p "$d"
	{
		printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n'
		for kv in $2; do printf '%s\t%s\n' "${kv#*=}" "${kv%%=*}"; done
	} >"$d/hosts"
	printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$d/resolv.conf"
}

# topo_allow FROM TO PORT...
topo_allow() {
	local f=$1 t=$2 fa ta ports; shift 2
	fa=$(eval echo "\$IP_${f//-/_}") ta=$(eval echo "\$IP_${t//-/_}")
	ports=$(echo "$*" | sed 's/ /, /g')
	at router nft add rule inet topo allow ip saddr "$fa" ip daddr "$ta" tcp dport "{ $ports }" accept
}

# Packets the router refused so far.
topo_refused() { at router nft list counter inet topo refused | sed -n 's/.*packets \([0-9]*\).*/\1/p'; }

topo_run() {
	local n=$1 log=$2; shift 2
	ip netns exec "$TOPO_P-$n" "$@" >>"$log" 2>&1 &
	TOPO_PID=$!
	TOPO_PIDS="$TOPO_PID $TOPO_PIDS"
}

topo_kill() {
	local pid=$1 rc=0
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; rc=1; fi
	wait "$pid" 2>/dev/null
	return $rc
}

topo_wait_port() {
	local n=$1 p=$2 secs=${3:-10} pid=${4:-} end
	end=$(( $(date +%s%3N) + secs * 1000 ))
	while [ "$(date +%s%3N)" -lt "$end" ]; do
		at "$n" ss -Hltn "sport = :$p" | grep -q . && return 0
		[ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null && return 1
		sleep 0.05
	done
	return 1
}

topo_reach() { at "$1" timeout 2 bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null; }

topo_listeners() {
	at "$1" ss -Hltn | awk '{print $4}' | grep -v -E '^(127\.|\[::1\])' | sed 's/^\*:/0.0.0.0:/; s/^\[::\]:/0.0.0.0:/' | sort -u
}

# ---- PostgreSQL and slapd inside a namespace ----
PG_BIN=/usr/lib/postgresql/15/bin
_topo_pg_ctl_start() {
	local d=$TOPO_PG_DIR a
	a=$(eval echo "\$IP_${TOPO_DB_HOST//-/_}")
	at "$TOPO_DB_HOST" bash -c "cd '$d' && runuser -u postgres -- $PG_BIN/pg_ctl -D '$d/data' -l '$d/pg.log' -w -o \
		\"-c listen_addresses=127.0.0.1,$a -p 5432 -k $d -c fsync=off -c full_page_writes=off -c max_connections=300\" \
		start >/dev/null" || { tail -20 "$d/pg.log"; return 1; }
}

topo_pg_start() {
	local n=$1 d=$2
	TOPO_PG_DIR=$d TOPO_DB_HOST=$n
	at "$n" bash -c ". '$GH_ROOT/appliance/embedded/pg.sh' && gh_pg_start '$d' 5432" || return 1
	TOPO_DB_PW="Db-$(head -c 12 /dev/urandom | base64 | tr -d '/+=')"
	TOPO_DB="host=127.0.0.1 port=5432 user=postgres"
	at "$n" psql "host=127.0.0.1 port=5432 user=postgres dbname=postgres" -qAtX -v ON_ERROR_STOP=1 \
		-c "CREATE ROLE gatehouse LOGIN PASSWORD '$TOPO_DB_PW'" -c "CREATE DATABASE gatehouse OWNER gatehouse" >/dev/null || return 1
	printf 'host all gatehouse 10.20.0.0/16 scram-sha-256\n' >>"$d/data/pg_hba.conf"
	at "$n" bash -c ". '$GH_ROOT/appliance/embedded/pg.sh' && gh_pg_stop '$d'"
	_topo_pg_ctl_start
	export TOPO_DB_PW TOPO_DB TOPO_PG_DIR
}

topo_pg_stop() {
	[ -n "$TOPO_PG_DIR" ] || return 0
	at "$TOPO_DB_HOST" bash -c "cd '$TOPO_PG_DIR' && runuser -u postgres -- $PG_BIN/pg_ctl -D '$TOPO_PG_DIR/data' -m immediate -w stop" >/dev/null 2>&1
}
topo_pg_restart() { _topo_pg_ctl_start; }

tsql() { at "$TOPO_DB_HOST" psql "$TOPO_DB dbname=${TOPO_DB_NAME:-gatehouse}" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }

_topo_slapd_run() {
	local d=$TOPO_SLAPD_DIR a
	a=$(eval echo "\$IP_${TOPO_DB_HOST//-/_}")
	topo_run "$TOPO_DB_HOST" "$d/slapd.log" slapd -F "$d/slapd.d" -h "ldap://$a:389/ ldap://127.0.0.1:389/" -d 0
	TOPO_SLAPD_PID=$TOPO_PID
	topo_wait_port "$TOPO_DB_HOST" 389 10 "$TOPO_SLAPD_PID"
}

topo_slapd_start() {
	local n=$1 d=$2
	TOPO_SLAPD_DIR=$d TOPO_DB_HOST=$n
	# generate the directory (slapd.sh starts it on 127.0.0.1), then serve it on the LAN address too
	at "$n" bash -c ". '$GH_ROOT/appliance/embedded/slapd.sh' && gh_slapd_start '$d' 389 && gh_slapd_stop '$d'" >/dev/null 2>&1 || return 1
	TOPO_LDAP_PW=$(cat "$d/rootpw")
	export TOPO_LDAP_PW
	_topo_slapd_run
}

topo_slapd_stop() { [ -n "$TOPO_SLAPD_PID" ] && { kill -9 "$TOPO_SLAPD_PID" 2>/dev/null; wait "$TOPO_SLAPD_PID" 2>/dev/null; }; TOPO_SLAPD_PID=""; }
topo_slapd_restart() { _topo_slapd_run; }

# ---- the load balancer ----
topo_public_ca() {
	local d=$1 san="" n; shift
	for n in "$@"; do san="$san${san:+,}DNS:$n"; done
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=Public Test Root" \
		-keyout "$d/public-ca.key" -out "$d/public-ca.crt" 2>/dev/null || return 1
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
		-keyout "$d/public.key" -out "$d/public.csr" 2>/dev/null || return 1
	printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san" >"$d/public.ext"
	openssl x509 -req -in "$d/public.csr" -CA "$d/public-ca.crt" -CAkey "$d/public-ca.key" -CAcreateserial \
		-days 2 -extfile "$d/public.ext" -out "$d/public.crt" 2>/dev/null || return 1
	cat "$d/public.crt" "$d/public.key" >"$d/public.pem"
	chmod 600 "$d/public.pem" "$d/public.key" "$d/public-ca.key"
}

# topo_lb_cfg DIR LBADDR API PORTAL LOGIN: DIR/haproxy.cfg for the DMZ load balancer: public TLS
# (DIR/public.pem) on LBADDR:443, routing by host name (api.example, portal.example,
# login.example) to the servers of each list ("ADDR:PORT:NAME ...", NAME the name checked in the
# server's certificate, which must chain to DIR/internal-ca.crt), X-Forwarded-For added; a
# server that fails is retried on another (retry-on all-retryable-errors, redispatch) and
# health-checked every 300 ms; any other host name gets 404 from the load balancer itself.
topo_lb_cfg() {
	local d=$1 lba=$2 api=$3 portal=$4 login=$5 b s i list
	{
		printf 'global\n\tmaxconn 4000\n\tnbthread 1\n'
		printf 'defaults\n\tmode http\n\ttimeout connect 1s\n\ttimeout client 30s\n\ttimeout server 30s\n'
		printf '\ttimeout http-request 10s\n\ttimeout queue 5s\n\toption forwardfor\n\toption redispatch\n'
		printf '\tretries 3\n\tretry-on all-retryable-errors\n\tdefault-server check inter 300 fall 2 rise 2\n'
		printf 'frontend public\n\tbind %s:443 ssl crt %s/public.pem\n' "$lba" "$d"
		printf '\thttp-request set-header X-Forwarded-Proto https\n'
		for b in api portal login; do
			printf '\tuse_backend %s if { req.hdr(host),field(1,:) -i %s.example }\n' "$b" "$b"
		done
		printf '\tdefault_backend unknown\n'
		for b in api portal login; do
			printf 'backend %s\n\tbalance roundrobin\n' "$b"
			case $b in api) list=$api ;; portal) list=$portal ;; login) list=$login ;; esac
			i=0
			for s in $list; do
				i=$((i + 1))
				printf '\tserver %s%d %s ssl verify required ca-file %s/internal-ca.crt verifyhost %s\n' \
					"$b" "$i" "${s%:*}" "$d" "${s##*:}"
			done
		done
		printf 'backend unknown\n\thttp-request return status 404 content-type application/json string %s\n' \
			"'{\"code\":404,\"message\":\"Not Found\",\"description\":\"unknown host\"}'"
	} >"$d/haproxy.cfg"
}

topo_haproxy() {
	local n=$1 cfg=$2
	haproxy -c -q -f "$cfg" || { echo "topo_haproxy: bad configuration $cfg"; return 1; }
	topo_run "$n" "${cfg%.cfg}.log" haproxy -db -f "$cfg"
	topo_wait_port "$n" 443 10 "$TOPO_PID"
}

# ---- Gatehouse nodes ----
topo_conf() {
	mkdir -p "$1"
	printf '[node]\nname = %s\ndata_dir = %s/data\nhostnames = %s\n[log]\nlevel = warn\n' "$2" "$1" "$3" >"$1/node.conf"
	chmod 600 "$1/node.conf"
}

topo_control_plane() {
	local d=$1 c
	topo_conf "$d" cp1 "cp.lan, km.lan, pub.lan, tm.lan, portal.lan, login.example, $IP_cp"
	topo_cp_conf "$d" db
	TOPO_ADMIN_PW="Adm1n-$(head -c 6 /dev/urandom | base64 | tr -d '/+=')"
	printf '%s\n' "$TOPO_ADMIN_PW" >"$d/admin-password"
	at cp "$GH_BIN/gatehouse" init --first --role control-plane --config "$d/node.conf" \
		--admin-password-file "$d/admin-password" >"$d/init.log" 2>&1 || { cat "$d/init.log"; return 1; }
	TOPO_CA=$d/data/pki/ca.crt
	for c in keymanager publisher portal trafficmanager; do
		topo_proc cp "$d" $c || { echo "topo_control_plane: $c did not start"; return 1; }
	done
}

# topo_cp_conf DIR DBHOST: the first node's shared settings.  The key manager's public
# port is 443 so that its issuer https://login.example is one URL inside (split horizon: the
# name resolves to the key manager in the LAN and DMZ, to the load balancer on the internet).
topo_cp_conf() {
	local d=$1 dba
	dba=$(eval echo "\$IP_${2//-/_}")
	cat >>"$d/node.conf" <<CONF
[db]
host = $dba
port = 5432
name = ${TOPO_DB_NAME:-gatehouse}
user = gatehouse
password = "$TOPO_DB_PW"
sslmode = disable
[ldap]
uri = ldap://$dba:389
base_dn = ${TOPO_LDAP_BASE:-dc=gatehouse}
bind_dn = cn=admin,dc=gatehouse
bind_password = "$TOPO_LDAP_PW"
[http]
trusted_proxies = ${TOPO_LB_IPS:-10.20.2.10}
[cluster]
keymanager_url = https://login.example
keymanager_internal_url = https://km.lan:9447
feed_url = https://pub.lan:9446
trafficmanager_url = https://tm.lan:9611
[keymanager]
port = 443
public_url = https://login.example
workers = 2
[publisher]
workers = 2
[portal]
workers = 2
sites = portal.example=External; *=Internal,External
[trafficmanager]
workers = 2
CONF
}

_mgmt_port() {
	case $1 in
	keymanager) echo 19445 ;; publisher) echo 19443 ;; portal) echo 19444 ;; trafficmanager) echo 19611 ;;
	gw-internal) echo 18244 ;; gw-external) echo 18243 ;;
	esac
}

topo_proc() {
	local n=$1 d=$2 c=$3 mp end
	mp=$(_mgmt_port "$c")
	topo_run "$n" "$d/$c.log" "$GH_BIN/gatehouse-$c" --config "$d/node.conf"
	printf -v "PID_${c//-/_}_${n//-/_}" '%s' "$TOPO_PID"
	end=$(( $(date +%s) + 30 ))
	while [ "$(date +%s)" -lt "$end" ]; do
		at "$n" curl -sf --max-time 2 "http://127.0.0.1:$mp/health" >/dev/null 2>&1 && return 0
		kill -0 "$TOPO_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "topo_proc: $c in $n did not start:"; tail -20 "$d/$c.log"
	return 1
}

tcall() {
	local n=$1 o; shift
	o=$(at "$n" curl -s --max-time "$TOPO_CURL_MAX" --cacert "$TOPO_CA" -w '\n%{http_code}' "$@")
	BODY=${o%$'\n'*}; CODE=${o##*$'\n'}
}

# topo_mgmt_client NAME: DCR as admin, from NAME, at the key manager's public URL
topo_mgmt_client() {
	tcall "$1" -u "admin:$TOPO_ADMIN_PW" -H 'Content-Type: application/json' --data-binary \
		'{"callbackUrl":"https://localhost/cb","clientName":"topo-tests","owner":"admin","grantType":"password refresh_token client_credentials","saasApp":true}' \
		"https://login.example/client-registration/v0.17/register"
	CP_CLIENT=$(jget "$BODY" clientId) CP_SECRET=$(jget "$BODY" clientSecret)
	[ "$CODE" = 200 ] || { echo "topo_mgmt_client: $CODE $BODY"; return 1; }
}

topo_token() {
	tcall "$1" -u "$CP_CLIENT:$CP_SECRET" -d grant_type=password --data-urlencode "username=$2" \
		--data-urlencode "password=$3" --data-urlencode "scope=$4" "https://login.example/oauth2/token"
	jget "$BODY" access_token
}

topo_issue() {
	local env=""
	[ -n "${2:-}" ] && env=",\"environment\":\"$2\""
	tcall "${TOPO_ADMIN_AT:-lanc}" -H "Authorization: Bearer $ADM" -H 'Content-Type: application/json' \
		--data-binary "{\"role\":\"$1\"$env,\"expiresIn\":600}" "https://pub.lan:9443/api/am/admin/v4/enrolment-tokens"
	TOK=$(jget "$BODY" token)
	[ "$CODE" = 201 ] || { echo "topo_issue: $CODE $BODY"; return 1; }
}

topo_enroll() {
	local n=$1 d=$2 r=$3 e=${4:-}
	topo_issue "$r" $e || return 1
	at "$n" "$GH_BIN/gatehouse" init --enroll https://pub.lan:9446 --token "$TOK" --config "$d/node.conf" \
		>"$d/enroll.log" 2>&1 || { echo "topo_enroll: $n:"; cat "$d/enroll.log"; return 1; }
}

# topo_api NAME CTX ENVS BACKEND [JSON-MEMBERS]: as tests/lib/gw.sh's gw_api, from NAME
topo_api() {
	local n=$1 ctx=$2 envs=$3 be=$4 extra=${5:-} P=https://pub.lan:9443/api/am/publisher/v4 id rev dep="" e
	[ -n "$extra" ] && extra=",$extra"
	tcall "$n" -H "Authorization: Bearer $ADM" -H 'Content-Type: application/json' -d "{\"name\":\"${ctx#/}\",
		\"context\":\"$ctx\",\"version\":\"1.0\",\"policies\":[\"Gold\",\"Unlimited\"],
		\"endpointConfig\":{\"endpoint_type\":\"http\",\"production_endpoints\":{\"url\":\"$be\"},
		\"sandbox_endpoints\":{\"url\":\"$be\"}},
		\"operations\":[{\"target\":\"/*\",\"verb\":\"GET\"},{\"target\":\"/*\",\"verb\":\"POST\"}]$extra}" "$P/apis"
	[ "$CODE" = 201 ] || { echo "topo_api: create $CODE $BODY" >&2; return 1; }
	id=$(jget "$BODY" id)
	tcall "$n" -H "Authorization: Bearer $ADM" -H 'Content-Type: application/json' -d '{"description":"topo"}' "$P/apis/$id/revisions"
	[ "$CODE" = 201 ] || { echo "topo_api: revision $CODE $BODY" >&2; return 1; }
	rev=$(jget "$BODY" id)
	for e in $envs; do dep="$dep${dep:+,}{\"name\":\"$e\",\"vhost\":\"localhost\",\"displayOnDevportal\":true}"; done
	tcall "$n" -H "Authorization: Bearer $ADM" -H 'Content-Type: application/json' -d "[$dep]" \
		"$P/apis/$id/deploy-revision?revisionId=$rev"
	[ "$CODE" = 201 ] || { echo "topo_api: deploy $CODE $BODY" >&2; return 1; }
	tcall "$n" -H "Authorization: Bearer $ADM" -X POST "$P/apis/change-lifecycle?action=Publish&apiId=$id"
	[ "$CODE" = 200 ] || { echo "topo_api: publish $CODE $BODY" >&2; return 1; }
	printf '%s\n' "$id"
}

# topo_app NAME PORTAL DEVTOKEN APPNAME API [TIER] [CURL-ARGS...]: sets APP_ID, CK, CS
topo_app() {
	local n=$1 D=$2/api/am/devportal/v3 t=$3 name=$4 api=$5 tier=${6:-Gold}; shift 6 2>/dev/null || shift $#
	tcall "$n" "$@" -H "Authorization: Bearer $t" -H 'Content-Type: application/json' \
		-d "{\"name\":\"$name\",\"throttlingPolicy\":\"Unlimited\"}" "$D/applications"
	[ "$CODE" = 201 ] || { echo "topo_app: application $CODE $BODY" >&2; return 1; }
	APP_ID=$(jget "$BODY" applicationId)
	tcall "$n" "$@" -H "Authorization: Bearer $t" -H 'Content-Type: application/json' \
		-d "{\"apiId\":\"$api\",\"applicationId\":\"$APP_ID\",\"throttlingPolicy\":\"$tier\"}" "$D/subscriptions"
	[ "$CODE" = 201 ] || { echo "topo_app: subscribe $CODE $BODY" >&2; return 1; }
	tcall "$n" "$@" -H "Authorization: Bearer $t" -H 'Content-Type: application/json' \
		-d '{"keyType":"PRODUCTION","grantTypesToBeSupported":["client_credentials"]}' \
		"$D/applications/$APP_ID/generate-keys"
	[ "$CODE" = 200 ] || { echo "topo_app: keys $CODE $BODY" >&2; return 1; }
	CK=$(jget "$BODY" consumerKey) CS=$(jget "$BODY" consumerSecret)
}

# topo_backend NAME PORT LOG [JWKS-URL]: tests/patterns/topo_backend.py in NAME (sets TOPO_PID)
topo_backend() {
	local n=$1 p=$2 log=$3 a
	a=$(eval echo "\$IP_${n//-/_}")
	: >"$log"
	SSL_CERT_FILE=${TOPO_CA:-} topo_run "$n" "$log.out" /usr/bin/python3 "$GH_ROOT/tests/patterns/topo_backend.py" \
		"$a" "$p" "$log" ${4:+"$4"}
	topo_wait_port "$n" "$p" 10 "$TOPO_PID"
}

topo_teardown() {
	local p n left
	trap - EXIT TERM INT
	for p in $TOPO_PIDS; do kill -TERM "$p" 2>/dev/null; done
	for _ in $(seq 1 60); do	# at most 3 s for all of them
		left=""
		for p in $TOPO_PIDS; do kill -0 "$p" 2>/dev/null && left=1; done
		[ -z "$left" ] && break
		sleep 0.05
	done
	for p in $TOPO_PIDS; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	TOPO_PIDS=""
	topo_pg_stop
	# a namespace goes when its last process does: kill what may linger (pg_ctl's postmaster)
	for n in $TOPO_NSES; do
		for p in $(ip netns pids "$TOPO_P-$n" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	done
	for n in $TOPO_NSES; do ip netns del "$TOPO_P-$n" 2>/dev/null; rm -rf "/etc/netns/$TOPO_P-$n"; done
	TOPO_NSES=""
}
