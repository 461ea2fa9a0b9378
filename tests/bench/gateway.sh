#!/usr/bin/env bash
# Gateway benchmark (tests/bench/run gateway; make bench-gateway).  In one run,
# alternating, the same wrk (one thread, GH_BENCH_GW_CONNS connections, a Lua script
# cycling Bearer tokens) against: (a) the backend direct (nginx `return 200`); (b) nginx
# as a plain reverse proxy with upstream keep-alive; (c) HAProxy 2.6 with jwt_verify
# RS256 (alg pinned, exp, aud and iss checked) and a stick-table rate limit; (d)
# gw-internal's plain-HTTP port (gw-external has no plain listener; one core serves
# both) with RS256 JWTs, subscription check, throttling and analytics on, 100 tokens
# cycled; (e) the same with up to 100,000 distinct tokens minted by the key manager.
# Then the fixed-rate p99 of (d) against (b) at half nginx's throughput
# (build/bench/bench_rate: open loop, no coordinated omission), the gateway's VmRSS
# during (d) with 10,000 extra subscriptions loaded, and (b) against (d) over TLS.
# Servers on CPU 0, load generators and the control plane on CPU 1 (taskset).
# Every proxy is checked first: 200 with a valid token, 401 with a bad or no token.
# GH_BENCH_GW_HOLD=FILE (diagnosis): once everything is up, the URLs and process ids go to
# FILE and the script waits until FILE is removed (a profiler or load generator meanwhile).
set -u
cd "$(dirname "$0")/../.." || exit 2
export GH_ROOT=$PWD
export GH_BIN=${GH_BIN:-$GH_ROOT/build/bin}
export GH_BENCHBIN=${GH_BENCHBIN:-$GH_ROOT/build/bench}
RUNS=${GH_BENCH_RUNS:-3}
# The fixed-rate p99 is one tail figure per run, easily moved by a stall of the shared
# machine: more alternating rounds than the throughput phase (at least 5) for its medians.
RATE_RUNS=${GH_BENCH_GW_RATE_RUNS:-$(( RUNS > 5 ? RUNS : 5 ))}
SECS=${GH_BENCH_GW_SECONDS:-4}
CONNS=${GH_BENCH_GW_CONNS:-32}
NTOK=${GH_BENCH_GW_TOKENS:-100000}
MINT_SECS=${GH_BENCH_GW_MINT_SECONDS:-60}
NSUBS=${GH_BENCH_GW_SUBS:-10000}
CACHE=${GH_BENCH_GW_TOKEN_CACHE:-10000}
BASELINES_ONLY=${GH_BENCH_GW_BASELINES:-}
SERVER_CPU=0
CLIENT_CPU=1

TMP=$(mktemp -d /tmp/gh-bench-gw.XXXXXX) || exit 1
chmod 755 "$TMP"
export GH_TMP=$TMP/gw GH_RUN_DIR=$TMP
mkdir -p "$GH_TMP"

fail() {
	echo "error: $*" >&2
	exit 1
}

for tool in wrk nginx haproxy openssl taskset curl psql ldapadd base64; do
	command -v "$tool" >/dev/null || fail "$tool is not installed (make deps)"
done
for prog in gatehouse gatehouse-keymanager gatehouse-publisher gatehouse-portal gatehouse-gw-internal; do
	[ -x "$GH_BIN/$prog" ] || fail "$GH_BIN/$prog is missing: run 'make all' (make bench-gateway does)"
done
[ -x "$GH_BENCHBIN/bench_rate" ] || fail "$GH_BENCHBIN/bench_rate is missing: run 'make benches'"
taskset -c "$CLIENT_CPU" true 2>/dev/null || fail "CPU $CLIENT_CPU is not available: this benchmark needs 2 CPUs"
TICKS=$(getconf CLK_TCK) || fail "getconf CLK_TCK failed"
# What this script starts runs on CPU 1 (control plane, PostgreSQL, slapd, load
# generators) unless it is started on CPU 0 explicitly (the servers under test).
taskset -p -c "$CLIENT_CPU" $$ >/dev/null || fail "cannot pin the script to CPU $CLIENT_CPU"

. appliance/embedded/pg.sh
. appliance/embedded/slapd.sh
. tests/lib/gw.sh
. tests/bench/lib.sh

SRV_PIDS=""
GW_PID=""
cleanup() {
	local p
	for p in $SRV_PIDS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	[ -n "$GW_PID" ] && km_kill "$GW_PID" >/dev/null 2>&1
	cp_stop >/dev/null 2>&1
	gh_slapd_stop "$TMP/slapd" >/dev/null 2>&1
	gh_pg_stop "$TMP/pg" >/dev/null 2>&1
	[ -n "${GH_KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- helpers -----------------------------------------------------------------

# wait_port PORT PID: until something accepts on 127.0.0.1:PORT (5 s).
wait_port() {
	for _ in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# start_server NAME COMMAND...: on CPU 0, output in $TMP/NAME.out; sets SRV_PID.
start_server() {
	local name=$1; shift
	taskset -c "$SERVER_CPU" "$@" >"$TMP/$name.out" 2>&1 &
	SRV_PID=$!
	SRV_PIDS="$SRV_PIDS $SRV_PID"
}

# nginx_conf NAME HTTP-BLOCK-TEXT: a private nginx configuration, one process.
nginx_conf() {
	mkdir -p "$TMP/$1-tmp"
	cat >"$TMP/$1.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $TMP/$1.pid;
error_log $TMP/$1.err warn;
events { worker_connections 8192; }
http {
	access_log off;
	client_body_temp_path $TMP/$1-tmp/body;
	proxy_temp_path $TMP/$1-tmp/proxy;
	fastcgi_temp_path $TMP/$1-tmp/fastcgi;
	uwsgi_temp_path $TMP/$1-tmp/uwsgi;
	scgi_temp_path $TMP/$1-tmp/scgi;
$2
}
CONF
}

# code_of CURL-ARGS...: the HTTP status (000 when no answer).
code_of() { curl -s -k -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }

# to_ms VALUE-WITH-UNIT (wrk's 812.00us, 1.20ms, 2.01s): milliseconds.
to_ms() {
	awk -v v="$1" 'BEGIN {
		n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
		if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
		printf "%.3f\n", n }'
}

# wrk_run NAME URL TOKENFILE SECONDS PID: prints "REQ_PER_S P99_MS CPU_US_PER_REQ" (CPU of
# PID, the server under test).  Fails on a non-2xx answer or socket errors.
wrk_run() {
	local name=$1 url=$2 toks=$3 secs=$4 pid=$5 out=$TMP/wrk-$1.txt t0 t1 requests rps non2xx errors p99
	t0=$(cpu_ticks "$pid") || fail "$name: the server is gone"
	taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"${secs}s" --latency -s "$TMP/tokens.lua" "$url" -- "$toks" \
		>"$out" 2>&1 || { cat "$out" >&2; fail "$name: wrk failed"; }
	t1=$(cpu_ticks "$pid") || fail "$name: the server died during the run"
	requests=$(awk '/requests in/ {print $1}' "$out")
	rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
	p99=$(awk '$1 == "99%" {print $2}' "$out")
	non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")
	errors=$(sed -n 's/.*Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1 \2 \3 \4/p' "$out")
	[ -n "$requests" ] && [ -n "$rps" ] && [ -n "$p99" ] || { cat "$out" >&2; fail "$name: could not read wrk's output"; }
	[ "$requests" -gt 0 ] || { cat "$out" >&2; fail "$name: wrk made no request"; }
	[ -z "$non2xx" ] || { cat "$out" >&2; fail "$name: $non2xx non-2xx answers"; }
	if [ -n "$errors" ]; then
		set -- $errors
		[ "$1" -eq 0 ] && [ "$3" -eq 0 ] && [ "$4" -eq 0 ] && [ "$2" -le $(( requests / 100 )) ] ||
			{ cat "$out" >&2; fail "$name: socket errors $errors (connect read write timeout)"; }
	fi
	awk -v r="$rps" -v p="$(to_ms "$p99")" -v t=$(( t1 - t0 )) -v hz="$TICKS" -v n="$requests" \
		'BEGIN {printf "%s %s %.1f\n", r, p, t / hz * 1e6 / n}'
}

# rate_run NAME URL RATE: bench_rate at RATE req/s with the 100-token pool; prints
# "P99_MS ACHIEVED P50_MS P999_MS".
rate_run() {
	local name=$1 url=$2 rate=$3 out=$TMP/rate-$1.txt line
	taskset -c "$CLIENT_CPU" "$GH_BENCHBIN/bench_rate" -s -c "$CONNS" -r "$rate" -d "$SECS" -T "$TMP/tokens100" "$url" \
		>"$out" 2>&1 || { cat "$out" >&2; fail "$name: bench_rate failed"; }
	line=$(grep '^rate: ' "$out") || { cat "$out" >&2; fail "$name: no result from bench_rate"; }
	case $line in
	*" errors=0 "*" non2xx=0 "*) ;;
	*) fail "$name: bench_rate saw errors or non-2xx answers: $line" ;;
	esac
	case $line in *" timeouts=0 "*) ;; *) echo "# $name: $line" >&2 ;; esac
	printf '%s\n' "$line" | sed -n 's/.* achieved=\([0-9.]*\) p50_ms=\([0-9.]*\) .* p99_ms=\([0-9.]*\) p999_ms=\([0-9.]*\) .*/\3 \1 \2 \4/p'
}

# rss_sampler PID FILE: VmRSS (kB) of PID every 0.25 s into FILE until killed (shell
# builtins but sleep: it shares the load generator's CPU).
rss_sampler() {
	local k v rest
	while [ -r "/proc/$1/status" ]; do
		while read -r k v rest; do
			[ "$k" = VmRSS: ] && { printf '%s\n' "$v" >>"$2"; break; }
		done <"/proc/$1/status"
		sleep 0.25
	done
}

# mint N FILE CONNS: client_credentials tokens of the benchmark application (wrk, a Lua
# script whose response() keeps each access token), at most MINT_SECS seconds; FILE
# gets the distinct tokens, at most N.
mint() {
	local n=$1 file=$2 conns=$3 threads=1 per pid
	[ "$n" -ge 1000 ] && threads=2
	per=$(( (n + threads - 1) / threads ))
	rm -f "$TMP"/mint.out.*
	taskset -c 0,1 wrk -t"$threads" -c"$conns" -d"${MINT_SECS}s" -s "$TMP/mint.lua" "$KM_URL/oauth2/token" \
		-- "$TMP/mint.out" "$per" >"$TMP/mint.txt" 2>&1 &
	pid=$!
	# wrk sleeps its whole duration even when every thread stopped: SIGINT ends it early.
	while kill -0 "$pid" 2>/dev/null; do
		sleep 0.2
		[ "$(cat "$TMP"/mint.out.* 2>/dev/null | wc -l)" -ge "$n" ] && { kill -INT "$pid" 2>/dev/null; break; }
	done
	wait "$pid" || { cat "$TMP/mint.txt" >&2; fail "minting with wrk failed"; }
	cat "$TMP"/mint.out.* 2>/dev/null | sort -u | head -n "$n" >"$file"
}

# check_auth NAME URL: 200 {"ok":true} with a valid token, 401 with a broken signature or none.
check_auth() {
	local name=$1 url=$2 body bad c
	body=$(curl -s -k --max-time 5 -H "Authorization: Bearer $TOKEN" -w ' %{http_code}' "$url")
	[ "$body" = '{"ok":true} 200' ] || fail "$name: a valid token got: $body"
	# The 10th signature character from the end changed (not the last one: its low bits are
	# unused, so some changes there still verify): same length, still base64url.
	case ${TOKEN: -10:1} in A) c=B ;; *) c=A ;; esac
	bad=${TOKEN:0:${#TOKEN}-10}$c${TOKEN: -9}
	[ "$(code_of -H "Authorization: Bearer $bad" "$url")" = 401 ] || fail "$name: a token with a broken signature was not refused with 401"
	[ "$(code_of "$url")" = 401 ] || fail "$name: a request without a token was not refused with 401"
	[ "$(code_of -H "Authorization: Bearer $(sed -n 2p "$TMP/tokens100k")" "$url")" = 200 ] ||
		fail "$name: a token of the 100k set was refused"
	echo "# $name: 200 with a valid token, 401 with a broken signature and with no token"
}

# --- PostgreSQL, slapd, the control plane, the backend -------------------------

for try in 1 2 3; do gh_pg_start "$TMP/pg" && break; [ $try = 3 ] && fail "PostgreSQL did not start"; done
for try in 1 2 3; do gh_slapd_start "$TMP/slapd" && break; [ $try = 3 ] && fail "slapd did not start"; gh_slapd_stop "$TMP/slapd"; done
pin_tree "$CLIENT_CPU" "$(head -n 1 "$TMP/pg/data/postmaster.pid")" || fail "cannot pin PostgreSQL to CPU $CLIENT_CPU"
pin_tree "$CLIENT_CPU" "$(cat "$TMP/slapd/pid")" || fail "cannot pin slapd to CPU $CLIENT_CPU"

cp_start bench "[keys]" "token_alg = RS256" >"$TMP/cp-start.log" 2>&1 ||
	{ cat "$TMP/cp-start.log" >&2; fail "the control plane did not start (cp_start)"; }

BE_PORT=$(gh_free_port)
nginx_conf backend "	server {
		listen 127.0.0.1:$BE_PORT;
		keepalive_requests 1000000;
		default_type application/json;
		location / { return 200 '{\"ok\":true}'; }
	}"
start_server backend nginx -c "$TMP/backend.conf" -p "$TMP"
BE_PID=$SRV_PID
wait_port "$BE_PORT" "$BE_PID" || { cat "$TMP/backend.out" "$TMP/backend.err" >&2; fail "the backend nginx did not start"; }
BE_URL=http://127.0.0.1:$BE_PORT
[ "$(curl -s "$BE_URL/bench/1.0/hello")" = '{"ok":true}' ] || fail "the backend does not answer {\"ok\":true}"

# --- the API, the application, tokens ------------------------------------------

BE_PROD_URL=$BE_URL BE_SAND_URL=$BE_URL
ADM=$(admin_token)
[ -n "$ADM" ] && [ "$ADM" != "<absent>" ] || fail "no admin token"
export BE_PROD_URL BE_SAND_URL ADM
API_ID=$(gw_api Bench /bench 1.0 Internal) || fail "gw_api: the benchmark API was not created and deployed"
gw_app BenchApp "$API_ID" Unlimited >"$TMP/app.log" 2>&1 || { cat "$TMP/app.log" >&2; fail "gw_app failed"; }
[ -n "${TOKEN:-}" ] || fail "no token for the benchmark application"
hdr=$(printf '%s' "${TOKEN%%.*}" | /usr/bin/python3 -c 'import base64,json,sys; h=sys.stdin.read().strip(); print(json.loads(base64.urlsafe_b64decode(h+"="*(-len(h)%4)))["alg"])')
[ "$hdr" = RS256 ] || fail "the application's token is not RS256 but $hdr"
CLAIMS=$(jwt_claims "$TOKEN")
ISS=$(jget "$CLAIMS" iss)
AUD=$(jget "$CLAIMS" aud)
echo "# token: RS256, ${#TOKEN} bytes, iss $ISS, aud $AUD"

cat >"$TMP/tokens.lua" <<'LUA'
-- Cycles through the tokens of the file given after "--", one per request.
local toks, n, i = {}, 0, 0
function init(args)
	for line in io.lines(args[1]) do
		n = n + 1
		toks[n] = "Bearer " .. line
	end
	-- each run starts at another place of the cycle
	math.randomseed(os.time())
	i = math.random(n) - 1
end
function request()
	i = i % n + 1
	return wrk.format(nil, nil, {["Authorization"] = toks[i]})
end
LUA
BASIC=$(printf '%s:%s' "$CK" "$CS" | base64 -w0)
cat >"$TMP/mint.lua" <<LUA
-- Keeps every access token answered, in FILE.THREAD, until LIMIT tokens per thread.
local counter = 0
function setup(thread)
	thread:set("id", counter)
	counter = counter + 1
end
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $BASIC"
local f, count, limit
function init(args)
	f = io.open(args[1] .. "." .. id, "w")
	limit = tonumber(args[2])
	count = 0
end
function response(status, headers, body)
	if status ~= 200 or count >= limit then return end
	local t = body:match('"access_token":"([^"]+)"')
	if t then
		f:write(t, "\n")
		count = count + 1
		if count % 1000 == 0 or count >= limit then f:flush() end
		if count >= limit then wrk.thread:stop() end
	end
end
LUA

# The key manager may use both CPUs while it mints (nothing is timed meanwhile).
pin_tree 0,1 "$KM_PID"
mint 100 "$TMP/tokens100" 4
[ "$(wc -l <"$TMP/tokens100")" = 100 ] || fail "only $(wc -l <"$TMP/tokens100") of 100 tokens were minted"
t0=$(date +%s.%N)
mint "$NTOK" "$TMP/tokens100k" 16
t1=$(date +%s.%N)
pin_tree "$CLIENT_CPU" "$KM_PID"
NBIG=$(wc -l <"$TMP/tokens100k")
[ "$NBIG" -ge 1000 ] || fail "only $NBIG distinct tokens were minted"
echo "# minted $NBIG distinct tokens in $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}') s (wanted $NTOK)"

# --- 10,000 more applications, each with a key and a subscription --------------

# Straight into PostgreSQL, copied from the benchmark application's rows, before the gateway
# starts: its snapshot then holds them.
sql "INSERT INTO gh_applications (id, tenant, name, owner, tier, token_type)
	SELECT 'bench-app-' || g, a.tenant, a.name || '-' || g, a.owner, a.tier, a.token_type
	FROM gh_applications a, generate_series(1, $NSUBS) g WHERE a.id = '$APP_ID';
INSERT INTO gh_oauth_clients (client_id, secret_hash, tenant, owner, client_name, grant_types, audience,
	token_type, app_id, app_name, app_tier, app_owner, key_type)
	SELECT 'benchck' || g, c.secret_hash, c.tenant, c.owner, c.client_name || '-' || g, c.grant_types,
	c.audience, c.token_type, 'bench-app-' || g, c.app_name || '-' || g, c.app_tier, c.app_owner, c.key_type
	FROM gh_oauth_clients c, generate_series(1, $NSUBS) g WHERE c.app_id = '$APP_ID';
INSERT INTO gh_subscriptions (id, api_id, app_id, tenant, api_tenant, tier, status, subscriber)
	SELECT 'bench-sub-' || g, s.api_id, 'bench-app-' || g, s.tenant, s.api_tenant, s.tier, s.status, s.subscriber
	FROM gh_subscriptions s, generate_series(1, $NSUBS) g WHERE s.app_id = '$APP_ID';" >/dev/null ||
	fail "inserting $NSUBS subscriptions failed"
nsubs=$(feed_curl gw-internal "$FEED_URL/internal/data/v1/snapshot?environment=Internal" |
	/usr/bin/python3 -c 'import json,sys; s=json.load(sys.stdin); print(len(s["subscriptions"]), len(s["applications"]))')
echo "# the Internal snapshot holds $nsubs subscriptions and applications"
[ "${nsubs%% *}" -gt "$NSUBS" ] || fail "the snapshot holds ${nsubs%% *} subscriptions, expected more than $NSUBS"

# --- the proxies -----------------------------------------------------------------

CERT=$KM_PKI/gw-internal.crt KEY=$KM_PKI/gw-internal.key
NX_PORT=$(gh_free_port) NX_TLS_PORT=$(gh_free_port)
nginx_conf proxy "	upstream backend {
		server 127.0.0.1:$BE_PORT;
		keepalive 64;
	}
	server {
		listen 127.0.0.1:$NX_PORT;
		listen 127.0.0.1:$NX_TLS_PORT ssl;
		ssl_certificate $CERT;
		ssl_certificate_key $KEY;
		location / {
			proxy_pass http://backend;
			proxy_http_version 1.1;
			proxy_set_header Connection \"\";
		}
	}"
start_server nginx nginx -c "$TMP/proxy.conf" -p "$TMP"
NX_PID=$SRV_PID
wait_port "$NX_PORT" "$NX_PID" || { cat "$TMP/nginx.out" "$TMP/proxy.err" >&2; fail "the nginx proxy did not start"; }

# HAProxy: the key manager's RS256 public key as a bare PEM (jwt_verify refuses certificates).
KID=$(printf '%s' "${TOKEN%%.*}" | /usr/bin/python3 -c 'import base64,json,sys; h=sys.stdin.read().strip(); print(json.loads(base64.urlsafe_b64decode(h+"="*(-len(h)%4))).get("kid",""))')
# The JWK's n and e as a DER RSAPublicKey (python3 without extra modules), then openssl makes
# the SubjectPublicKeyInfo PEM.
km_curl "$KM_URL/oauth2/jwks" | /usr/bin/python3 -c '
import base64, json, sys
def der_len(n):
    if n < 128: return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b
def der_int(b64):
    v = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4)).lstrip(b"\0")
    if not v or v[0] & 0x80: v = b"\0" + v
    return b"\x02" + der_len(len(v)) + v
for k in json.load(sys.stdin)["keys"]:
    if k.get("kid") == sys.argv[1] and k.get("kty") == "RSA":
        body = der_int(k["n"]) + der_int(k["e"])
        sys.stdout.buffer.write(b"\x30" + der_len(len(body)) + body)
        sys.exit(0)
sys.exit(1)' "$KID" >"$TMP/km-pub.der" || fail "no RSA key $KID in the key manager's JWKS"
openssl rsa -RSAPublicKey_in -inform DER -in "$TMP/km-pub.der" -pubout -out "$TMP/km-pub.pem" 2>"$TMP/openssl.err" ||
	{ cat "$TMP/openssl.err" >&2; fail "openssl could not make a PEM of the key manager's key"; }
HA_PORT=$(gh_free_port)
cat >"$TMP/haproxy.cfg" <<CONF
global
	nbthread 1
	maxconn 4000
defaults
	mode http
	timeout connect 5s
	timeout client 30s
	timeout server 30s
	timeout http-keep-alive 30s
	option http-keep-alive
frontend bench
	bind 127.0.0.1:$HA_PORT
	http-request set-var(txn.bearer) http_auth_bearer
	http-request deny deny_status 401 unless { var(txn.bearer),jwt_header_query('\$.alg') -m str RS256 }
	http-request set-var(txn.now) date()
	http-request set-var(txn.exp) var(txn.bearer),jwt_payload_query('\$.exp','int')
	http-request deny deny_status 401 unless { var(txn.exp),sub(txn.now) -m int gt 0 }
	http-request deny deny_status 401 unless { var(txn.bearer),jwt_payload_query('\$.aud') -m str $AUD }
	http-request deny deny_status 401 unless { var(txn.bearer),jwt_payload_query('\$.iss') -m str $ISS }
	http-request deny deny_status 401 unless { var(txn.bearer),jwt_verify("RS256","$TMP/km-pub.pem") -m int 1 }
	http-request set-var(txn.client) var(txn.bearer),jwt_payload_query('\$.azp')
	http-request track-sc0 var(txn.client) table limits
	http-request deny deny_status 429 if { sc_http_req_rate(0) gt 100000000 }
	default_backend backend
backend limits
	stick-table type string len 64 size 100k expire 60s store http_req_rate(1s)
backend backend
	http-reuse always
	server be 127.0.0.1:$BE_PORT
CONF
haproxy -c -f "$TMP/haproxy.cfg" >"$TMP/haproxy-check.txt" 2>&1 || { cat "$TMP/haproxy-check.txt" >&2; fail "haproxy refuses its configuration"; }
start_server haproxy haproxy -db -f "$TMP/haproxy.cfg"
HA_PID=$SRV_PID
wait_port "$HA_PORT" "$HA_PID" || { cat "$TMP/haproxy.out" >&2; fail "haproxy did not start"; }

PATH_=/bench/1.0/hello
[ "$(curl -s "http://127.0.0.1:$NX_PORT$PATH_")" = '{"ok":true}' ] || fail "nginx (plain) does not proxy to the backend"
[ "$(curl -s -k "https://127.0.0.1:$NX_TLS_PORT$PATH_")" = '{"ok":true}' ] || fail "nginx (TLS) does not proxy to the backend"
echo "# backend and nginx (plain and TLS): 200 {\"ok\":true}"
check_auth haproxy_jwt "http://127.0.0.1:$HA_PORT$PATH_"

# The gateway: gw-internal, one worker, on CPU 0.
if [ -z "$BASELINES_ONLY" ]; then
	GW_PORT=$(gh_free_port) GW_HTTP_PORT=$(gh_free_port) GW_MGMT_PORT=$(gh_free_port)
	cp "$KM_CONF" "$TMP/gw-internal.conf"
	# No traffic manager in this benchmark (throttling is the node's own, analytics stay in the
	# spool): with the default cluster.trafficmanager_url the gateway would try
	# https://localhost:9611 every sync_interval (100 ms), and on a shared machine whatever
	# listens there (another checkout's traffic manager) costs a TLS handshake on the server
	# CPU each time (about 1 ms, measured), a stall the fixed-rate p99 sees.
	printf '[gw-internal]\nlisten = 127.0.0.1\nhttps_port = %s\nhttp_port = %s\nmgmt_port = %s\nworkers = 1\naccess_log = off\ntoken_cache_entries = %s\n[cluster]\ntrafficmanager_url = none\n' \
		"$GW_PORT" "$GW_HTTP_PORT" "$GW_MGMT_PORT" "$CACHE" >>"$TMP/gw-internal.conf"
	taskset -c "$SERVER_CPU" "$GH_BIN/gatehouse-gw-internal" --config "$TMP/gw-internal.conf" >>"$TMP/gw-internal.log" 2>&1 &
	GW_PID=$!
	_km_wait "http://127.0.0.1:$GW_MGMT_PORT" "$GW_PID" || { tail -20 "$TMP/gw-internal.log" >&2; fail "gw-internal did not start"; }
	GW_URL=http://127.0.0.1:$GW_HTTP_PORT$PATH_
	GW_TLS_URL=https://localhost:$GW_PORT$PATH_
	check_auth gw "$GW_URL"
	[ "$(curl -s --cacert "$KM_CA" -H "Authorization: Bearer $TOKEN" "$GW_TLS_URL")" = '{"ok":true}' ] ||
		fail "gw-internal (TLS) does not serve the API"
	echo "# gw-internal: workers = 1, access_log = off, token_cache_entries = $CACHE, no traffic manager; TLS answers too"
	echo "# gateway VmRSS after start ($nsubs subscriptions and applications): $(awk '/^VmRSS:/ {print $2}' "/proc/$GW_PID/status") kB"
fi

# Diagnosis (GH_BENCH_GW_HOLD=FILE): everything is up; the URLs and process ids are written
# to FILE and the script waits until FILE is removed, so that a profiler can be pointed at them.
if [ -n "${GH_BENCH_GW_HOLD:-}" ]; then
	printf 'TMP=%s\nBE_PID=%s\nNX_PID=%s\nHA_PID=%s\nGW_PID=%s\nBE_URL=%s\nNX_URL=%s\nHA_URL=%s\nGW_URL=%s\nGW_TLS_URL=%s\n' \
		"$TMP" "$BE_PID" "$NX_PID" "$HA_PID" "${GW_PID:-}" "$BE_URL$PATH_" "http://127.0.0.1:$NX_PORT$PATH_" \
		"http://127.0.0.1:$HA_PORT$PATH_" "${GW_URL:-}" "https://127.0.0.1:${GW_PORT:-0}$PATH_" >"$GH_BENCH_GW_HOLD"
	while [ -e "$GH_BENCH_GW_HOLD" ]; do sleep 1; done
fi

# --- throughput: (a)-(e), alternating ------------------------------------------

DIRECT_URL=$BE_URL$PATH_ NX_URL=http://127.0.0.1:$NX_PORT$PATH_ HA_URL=http://127.0.0.1:$HA_PORT$PATH_
names=(direct nginx haproxy_jwt)
urls=("$DIRECT_URL" "$NX_URL" "$HA_URL")
toks=("$TMP/tokens100" "$TMP/tokens100" "$TMP/tokens100")
pids=("$BE_PID" "$NX_PID" "$HA_PID")
if [ -z "$BASELINES_ONLY" ]; then
	names+=(gw_tokens100 gw_tokens100k)
	urls+=("$GW_URL" "$GW_URL")
	toks+=("$TMP/tokens100" "$TMP/tokens100k")
	pids+=("$GW_PID" "$GW_PID")
fi
declare -A RPS P99 CPU
for i in "${!names[@]}"; do
	wrk_run "${names[$i]}" "${urls[$i]}" "${toks[$i]}" 1 "${pids[$i]}" >/dev/null	# warm-up
done
: >"$TMP/rss.txt"
for run in $(seq 1 "$RUNS"); do
	for i in "${!names[@]}"; do
		n=${names[$i]}
		[ "$n" = gw_tokens100 ] && { rss_sampler "$GW_PID" "$TMP/rss.txt" & sampler=$!; }
		r=$(wrk_run "$n" "${urls[$i]}" "${toks[$i]}" "$SECS" "${pids[$i]}") || exit 1
		[ "$n" = gw_tokens100 ] && { kill "$sampler"; wait "$sampler" 2>/dev/null; }
		set -- $r
		RPS[$n]="${RPS[$n]:-} $1" P99[$n]="${P99[$n]:-} $2" CPU[$n]="${CPU[$n]:-} $3"
		echo "# run $run $n: $1 req/s, p99 $2 ms, ${3} us CPU per request (the server's own)"
	done
done
declare -A M
for n in "${names[@]}"; do
	M[$n]=$(median ${RPS[$n]})
	printf 'bench: %s_req_per_s %.0f req/s\n' "$n" "${M[$n]}"
	printf 'bench: %s_p99 %.3f ms\n' "$n" "$(median ${P99[$n]})"
	printf 'bench: %s_cpu_per_req %.1f us\n' "$n" "$(median ${CPU[$n]})"
done

# Diagnosis, not a figure (GH_BENCH_GW_PERF=1): where the gateway's CPU goes in (d) and (e).
if [ -n "${GH_BENCH_GW_PERF:-}" ] && [ -z "$BASELINES_ONLY" ] && command -v perf >/dev/null; then
	for i in "${!names[@]}"; do
		case ${names[$i]} in gw_*) ;; *) continue ;; esac
		perf record -q -g -o "$TMP/perf-${names[$i]}.data" -p "$GW_PID" -- sleep "$SECS" >/dev/null 2>&1 &
		prec=$!
		wrk_run "${names[$i]}" "${urls[$i]}" "${toks[$i]}" "$SECS" "$GW_PID" >/dev/null
		wait "$prec"
		perf report -q -i "$TMP/perf-${names[$i]}.data" --no-children --percent-limit 1.5 --stdio -g none 2>/dev/null |
			grep -E '^ +[0-9.]+%' | head -n 25 | sed "s/^ */# perf ${names[$i]}: /"
	done
fi

# --- fixed-rate latency: nginx and the gateway at half nginx's throughput ---------

RATE=$(awk -v r="${M[nginx]}" 'BEGIN {printf "%d", r / 2}')
rnames=(nginx)
rurls=("$NX_URL")
[ -z "$BASELINES_ONLY" ] && { rnames+=(gw); rurls+=("$GW_URL"); }
declare -A RP99
for run in $(seq 1 "$RATE_RUNS"); do
	for i in "${!rnames[@]}"; do
		n=${rnames[$i]}
		r=$(rate_run "$n" "${rurls[$i]}" "$RATE") || exit 1
		set -- $r
		RP99[$n]="${RP99[$n]:-} $1"
		echo "# fixed rate run $run $n: $RATE req/s offered, $2 achieved, p50 $3 ms, p99 $1 ms, p99.9 $4 ms"
	done
done
printf 'bench: fixed_rate %s req/s\n' "$RATE"
for n in "${rnames[@]}"; do
	printf 'bench: %s_fixed_rate_p99 %.3f ms\n' "$n" "$(median ${RP99[$n]})"
done

# --- TLS: nginx and the gateway -------------------------------------------------

tnames=(nginx_tls)
turls=("https://127.0.0.1:$NX_TLS_PORT$PATH_")
tpids=("$NX_PID")
if [ -z "$BASELINES_ONLY" ]; then
	tnames+=(gw_tls)
	turls+=("https://127.0.0.1:$GW_PORT$PATH_")
	tpids+=("$GW_PID")
fi
for i in "${!tnames[@]}"; do
	wrk_run "${tnames[$i]}" "${turls[$i]}" "$TMP/tokens100" 1 "${tpids[$i]}" >/dev/null
done
for run in $(seq 1 "$RUNS"); do
	for i in "${!tnames[@]}"; do
		n=${tnames[$i]}
		r=$(wrk_run "$n" "${turls[$i]}" "$TMP/tokens100" "$SECS" "${tpids[$i]}") || exit 1
		set -- $r
		RPS[$n]="${RPS[$n]:-} $1" P99[$n]="${P99[$n]:-} $2" CPU[$n]="${CPU[$n]:-} $3"
		echo "# TLS run $run $n: $1 req/s, p99 $2 ms, ${3} us CPU per request"
	done
done
for n in "${tnames[@]}"; do
	M[$n]=$(median ${RPS[$n]})
	printf 'bench: %s_req_per_s %.0f req/s\n' "$n" "${M[$n]}"
	printf 'bench: %s_p99 %.3f ms\n' "$n" "$(median ${P99[$n]})"
	printf 'bench: %s_cpu_per_req %.1f us\n' "$n" "$(median ${CPU[$n]})"
done

# --- ratios ---------------------------------------------------------------------

if [ -n "$BASELINES_ONLY" ]; then
	echo "# GH_BENCH_GW_BASELINES is set: the gateway was not measured, no ratio"
	exit 0
fi
# Evidence that the phases ran: the gateway's counters and its analytics spool.
curl -s "http://127.0.0.1:$GW_MGMT_PORT/metrics" | grep -E '^gatehouse_gw_[a-z_]*(requests|token|jwt|cache|verif|throttl|analytics|spool|subscri)[a-z_]*(\{| )' |
	head -n 20 | sed 's/^/# metric: /'
SPOOL=$(sed -n 's/^data_dir = //p' "$KM_CONF" | head -n 1)/spool-gw-internal
echo "# analytics spool $SPOOL: $(du -sb "$SPOOL" 2>/dev/null | cut -f1 | grep . || echo "no folder,") bytes"
# CPU seconds of each gateway thread over the whole run (worker, feed, analytics writer...;
# they are unnamed: by thread id, the main thread first).
thr=""
for t in /proc/"$GW_PID"/task/*; do
	st=$(cat "$t/stat" 2>/dev/null) || continue
	set -- ${st##*) }
	thr="$thr ${t##*/}=$(awk -v t=$(( ${12} + ${13} )) -v hz="$TICKS" 'BEGIN {printf "%.1f", t / hz}')"
done
echo "# gateway threads, CPU seconds:$thr"
RSS_KB=$(sort -n "$TMP/rss.txt" | tail -n 1)
[ -n "$RSS_KB" ] || fail "no VmRSS sample of the gateway"
HWM_KB=$(awk '/^VmHWM:/ {print $2}' "/proc/$GW_PID/status")
echo "# gateway VmRSS: max $RSS_KB kB over $(wc -l <"$TMP/rss.txt") samples during gw_tokens100; VmHWM $HWM_KB kB at the end"
RSS_MIB=$(divide "$RSS_KB" 1024 1)
printf 'bench: gw_rss_mib %s MiB\n' "$RSS_MIB"
echo "ratio: gw_vs_nginx $(divide "${M[gw_tokens100]}" "${M[nginx]}") target>=0.8"
echo "ratio: gw_100k_vs_haproxy_jwt $(divide "${M[gw_tokens100k]}" "${M[haproxy_jwt]}") target>=1.2"
echo "ratio: gw_p99_vs_nginx $(divide "$(median ${RP99[gw]})" "$(median ${RP99[nginx]})") target<=1.5"
echo "ratio: gw_rss_mib $RSS_MIB target<=64"
echo "ratio: gw_tls_vs_nginx_tls $(divide "${M[gw_tls]}" "${M[nginx_tls]}") target>=0.8"
exit 0
