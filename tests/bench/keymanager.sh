#!/usr/bin/env bash
# Key manager benchmark (tests/bench/run keymanager; make bench-keymanager).
# client_credentials tokens per second from one key manager worker on one core,
# for RS256 and then ES256, each beside `openssl speed`'s sign rate for the same
# algorithm measured in the same run on the same core.  A private PostgreSQL and
# slapd as tests/run makes them (appliance/embedded), a node made by
# tests/lib/km.sh's km_start with the RELEASE binaries (build/bin), then the key
# manager restarted with keymanager.workers = 1 and keys.token_alg = ALG on
# CPU 0 (taskset), PostgreSQL and slapd moved to CPU 1 beside wrk.  wrk POSTs
# grant_type=client_credentials with the DCR client's Basic credentials (a Lua
# script) over kept-alive TLS connections.  A sample of the tokens is checked
# first: 200, a JWT of the right alg that PyJWT verifies through the JWKS URL.
# Runs alternate wrk and openssl speed; medians of GH_BENCH_RUNS runs.
set -u
cd "$(dirname "$0")/../.." || exit 2
export GH_ROOT=$PWD
export GH_BIN=${GH_BIN:-$GH_ROOT/build/bin}
RUNS=${GH_BENCH_RUNS:-3}
SECONDS_WRK=${GH_BENCH_KM_SECONDS:-5}
SECONDS_SSL=${GH_BENCH_SSL_SECONDS:-3}
CONNS=${GH_BENCH_KM_CONNS:-8}
SERVER_CPU=0
CLIENT_CPU=1

TMP=$(mktemp -d /tmp/gh-bench-km.XXXXXX) || exit 1
chmod 755 "$TMP"
export GH_TMP=$TMP/km GH_RUN_DIR=$TMP
mkdir -p "$GH_TMP"

fail() {
	echo "error: $*" >&2
	exit 1
}

for tool in wrk openssl taskset curl psql ldapadd base64; do
	command -v "$tool" >/dev/null || fail "$tool is not installed (make deps)"
done
for prog in gatehouse gatehouse-keymanager; do
	[ -x "$GH_BIN/$prog" ] || fail "$GH_BIN/$prog is missing: run 'make all' (make bench-keymanager does)"
done
taskset -c "$CLIENT_CPU" true 2>/dev/null || fail "CPU $CLIENT_CPU is not available: this benchmark needs 2 CPUs"
TICKS=$(getconf CLK_TCK) || fail "getconf CLK_TCK failed"

. appliance/embedded/pg.sh
. appliance/embedded/slapd.sh
. tests/lib/km.sh

cleanup() {
	km_stop >/dev/null 2>&1
	gh_slapd_stop "$TMP/slapd" >/dev/null 2>&1
	gh_pg_stop "$TMP/pg" >/dev/null 2>&1
	[ -n "${GH_KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- helpers -----------------------------------------------------------------

. tests/bench/lib.sh

# Move a process and its children (PostgreSQL's backends fork from the postmaster later,
# and inherit its CPU set) to CPU_LIST.
metric() {
	curl -s "$KM_MGMT_URL/metrics" | awk -v n="$1" '$1 == n {print $2}'
}

# --- PostgreSQL, slapd, a node -------------------------------------------------

for try in 1 2 3; do gh_pg_start "$TMP/pg" && break; [ $try = 3 ] && fail "PostgreSQL did not start"; done
for try in 1 2 3; do gh_slapd_start "$TMP/slapd" && break; [ $try = 3 ] && fail "slapd did not start"; gh_slapd_stop "$TMP/slapd"; done
pin_tree "$CLIENT_CPU" "$(head -n 1 "$TMP/pg/data/postmaster.pid")" || fail "cannot pin PostgreSQL to CPU $CLIENT_CPU"
pin_tree "$CLIENT_CPU" "$(cat "$TMP/slapd/pid")" || fail "cannot pin slapd to CPU $CLIENT_CPU"

km_start bench >"$TMP/km-start.log" 2>&1 || { cat "$TMP/km-start.log" >&2; fail "the key manager did not start (km_start)"; }
km_kill "$KM_PID"
# workers = 1: one signing thread; keys.token_alg is set per run below.
sed -i 's/^workers = .*/workers = 1/' "$KM_CONF"
sed -i 's/^\[keys\]$/[keys]\ntoken_alg = RS256/' "$KM_CONF"
grep -q '^token_alg = ' "$KM_CONF" || fail "no [keys] section in $KM_CONF (gatehouse init writes it)"

# km_run ALG: the key manager with keys.token_alg = ALG on CPU 0.
km_run() {
	sed -i "s/^token_alg = .*/token_alg = $1/" "$KM_CONF"
	taskset -c "$SERVER_CPU" "$GH_BIN/gatehouse-keymanager" --config "$KM_CONF" >>"$KM_LOG" 2>&1 &
	KM_PID=$!
	GH_KM_PIDS="$GH_KM_PIDS $KM_PID"
	_km_wait "$KM_MGMT_URL" "$KM_PID" || { cat "$KM_LOG" >&2; fail "the key manager ($1) did not start"; }
}

km_run RS256
reg=$(km_curl -u "admin:$KM_ADMIN_PW" -H 'Content-Type: application/json' -w '\n%{http_code}' \
	-d '{"clientName":"bench_cc","owner":"admin","grantType":"client_credentials","saasApp":false}' \
	"$KM_URL/client-registration/v0.17/register")
[ "${reg##*$'\n'}" = 200 ] || fail "DCR of the benchmark client failed: $reg"
read -r CID CSECRET < <(printf '%s' "${reg%$'\n'*}" | /usr/bin/python3 -c 'import json,sys; o=json.load(sys.stdin); print(o["clientId"], o["clientSecret"])') ||
	fail "DCR answer without clientId/clientSecret: $reg"
BASIC=$(printf '%s:%s' "$CID" "$CSECRET" | base64 -w0)
cat >"$TMP/cc.lua" <<LUA
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $BASIC"
LUA

# check_sample ALG: 5 tokens, each 200 and a JWT of ALG that PyJWT verifies via the JWKS URL.
check_sample() {
	local alg=$1 i o code tok toks=() verified
	for i in 1 2 3 4 5; do
		o=$(km_curl -u "$CID:$CSECRET" -d grant_type=client_credentials -w '\n%{http_code}' "$KM_URL/oauth2/token")
		code=${o##*$'\n'}
		[ "$code" = 200 ] || fail "sample token $i ($alg): HTTP $code: ${o%$'\n'*}"
		tok=$(printf '%s' "${o%$'\n'*}" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])') ||
			fail "sample token $i ($alg): no access_token"
		[[ $tok =~ ^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$ ]] || fail "sample token $i ($alg) is no JWT: $tok"
		[ "$(printf '%s' "${tok%%.*}" | /usr/bin/python3 -c 'import base64,json,sys; h=sys.stdin.read().strip(); print(json.loads(base64.urlsafe_b64decode(h+"="*(-len(h)%4)))["alg"])')" = "$alg" ] ||
			fail "sample token $i is not signed $alg"
		toks+=("$tok")
	done
	verified=$(/usr/bin/python3 tests/keymanager/interop-pyjwt.py "$KM_URL/oauth2/jwks" "$KM_CA" "$KM_URL" \
		gatehouse-management "${toks[@]}" 2>&1 | grep -c '^verified ')
	[ "$verified" = 5 ] || fail "PyJWT verified $verified of 5 sample $alg tokens"
	echo "# $alg: 5 sample tokens: 200, JWT $alg, verified by PyJWT through $KM_URL/oauth2/jwks"
}

# wrk_run SECONDS: prints "TOKENS_PER_S CPU_US_PER_TOKEN".
wrk_run() {
	local seconds=$1 out=$TMP/wrk.txt t0 t1 n0 n1 requests rps non2xx errors
	t0=$(cpu_ticks "$KM_PID") || fail "the key manager is gone"
	n0=$(metric gatehouse_km_tokens_issued_total)
	taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"${seconds}s" -s "$TMP/cc.lua" "$KM_URL/oauth2/token" >"$out" 2>&1 ||
		{ cat "$out" >&2; fail "wrk failed"; }
	t1=$(cpu_ticks "$KM_PID") || fail "the key manager died during the run"
	n1=$(metric gatehouse_km_tokens_issued_total)
	requests=$(awk '/requests in/ {print $1}' "$out")
	rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
	non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")
	errors=$(sed -n 's/.*Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1 \2 \3 \4/p' "$out")
	[ -n "$requests" ] && [ -n "$rps" ] || { cat "$out" >&2; fail "could not read wrk's output"; }
	[ "$requests" -gt 0 ] || { cat "$out" >&2; fail "wrk made no request"; }
	[ -z "$non2xx" ] || { cat "$out" >&2; fail "the key manager answered $non2xx non-2xx responses"; }
	if [ -n "$errors" ]; then
		set -- $errors
		[ "$1" -eq 0 ] && [ "$3" -eq 0 ] && [ "$4" -eq 0 ] && [ "$2" -le $(( requests / 100 )) ] ||
			{ cat "$out" >&2; fail "wrk saw socket errors: $errors (connect read write timeout)"; }
	fi
	# Every answer counted by wrk must be a token the key manager counted as issued.
	[ -n "$n0" ] && [ -n "$n1" ] && [ $(( n1 - n0 )) -ge "$requests" ] ||
		fail "the key manager counted $(( ${n1:-0} - ${n0:-0} )) tokens for $requests answers"
	[ $(( t1 - t0 )) -gt 0 ] || fail "no CPU time measured for the key manager"
	awk -v r="$rps" -v t=$(( t1 - t0 )) -v hz="$TICKS" -v n="$requests" 'BEGIN {printf "%s %.1f\n", r, t / hz * 1e6 / n}'
}

# openssl_sign ALG: openssl speed's sign/s for rsa2048 or ecdsap256 on CPU 0.
openssl_sign() {
	local what=$1 out=$TMP/speed.txt
	taskset -c "$SERVER_CPU" openssl speed -seconds "$SECONDS_SSL" "$what" >"$out" 2>"$TMP/speed.err" ||
		{ cat "$TMP/speed.err" >&2; fail "openssl speed $what failed"; }
	case $what in
	rsa2048) awk '/^rsa 2048 bits/ {print $(NF - 1)}' "$out" ;;
	ecdsap256) awk '/ecdsa \(nistp256\)/ {print $(NF - 1)}' "$out" ;;
	esac | grep -E '^[0-9.]+$' || { cat "$out" >&2; fail "could not read openssl speed's sign rate"; }
}

# measure ALG SPEEDNAME NAME TARGET
measure() {
	local alg=$1 speed=$2 name=$3 target=$4 i r
	local -a k=() c=() o=()
	check_sample "$alg"
	wrk_run 2 >/dev/null   # warm-up: TLS sessions, caches, the worker's connection
	for i in $(seq 1 "$RUNS"); do
		r=$(wrk_run "$SECONDS_WRK") || exit 1
		set -- $r; k+=("$1"); c+=("$2")
		r=$(openssl_sign "$speed") || exit 1
		o+=("$r")
		echo "# $name run $i: key manager ${k[-1]} tokens/s (${c[-1]} us CPU per token); openssl $speed sign ${o[-1]}/s"
	done
	local mk mc mo
	mk=$(median "${k[@]}"); mc=$(median "${c[@]}"); mo=$(median "${o[@]}")
	printf 'bench: km_cc_tokens_%s %.0f tokens/s\n' "$name" "$mk"
	printf 'bench: km_cc_cpu_per_token_%s %.1f us\n' "$name" "$mc"
	printf 'bench: openssl_sign_%s %.0f sign/s\n' "$name" "$mo"
	echo "ratio: km_cc_${name}_vs_openssl_sign $(divide "$mk" "$mo") target>=$target"
}

measure RS256 rsa2048 rs256 0.7
km_kill "$KM_PID" || fail "the key manager did not stop cleanly"
km_run ES256
measure ES256 ecdsap256 es256 0.4
km_kill "$KM_PID" || fail "the key manager did not stop cleanly"

# Not a target, a diagnosis: the SQL statements one client_credentials token costs,
# counted in PostgreSQL's log (log_statement = all for the node's database, set
# after the timed runs; a new key manager process so its connections take it).
DBNAME=$(printf '%s\n' "$KM_DB" | sed -n 's/.*dbname=\([^ ]*\).*/\1/p')
psql "$GH_TEST_PG" -qAt -c "ALTER DATABASE $DBNAME SET log_statement = 'all'" >/dev/null ||
	fail "cannot set log_statement"
km_run ES256
km_curl -o /dev/null -u "$CID:$CSECRET" -d grant_type=client_credentials "$KM_URL/oauth2/token"
sleep 0.2
m0=$(wc -l <"$TMP/pg/pg.log")
for i in $(seq 1 20); do
	[ "$(km_curl -o /dev/null -w '%{http_code}' -u "$CID:$CSECRET" -d grant_type=client_credentials \
		"$KM_URL/oauth2/token")" = 200 ] || fail "diagnostic token $i was refused"
done
sleep 0.2
stmts=$(tail -n +"$((m0 + 1))" "$TMP/pg/pg.log" | grep -cE 'LOG:  (statement|execute)')
printf 'bench: km_cc_sql_statements_per_token %s statements\n' "$(divide "$stmts" 20 1)"
tail -n +"$((m0 + 1))" "$TMP/pg/pg.log" | grep -E 'LOG:  (statement|execute)' |
	sed -E 's/.*LOG:  (statement|execute[^:]*): //' | cut -c1-70 | sort | uniq -c | sort -rn | head -n 8 |
	sed 's/^/# sql per 20 tokens: /'
km_kill "$KM_PID" || fail "the key manager did not stop cleanly"
exit 0
