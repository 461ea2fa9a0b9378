#!/usr/bin/env bash
# Foundation benchmark (tests/bench/run foundation; make bench-foundation).
# 1. HTTP: wrk against build/bench/bench_http (gh_http_server) and against nginx
#    answering the same GET /hello, plain HTTP then TLS.  Servers on CPU 0, wrk on
#    CPU 1, 1 thread, 32 keep-alive connections; runs alternate ours/nginx and the
#    medians of GH_BENCH_RUNS runs are reported: req/s, p99 latency, CPU per request
#    (utime+stime of the server from /proc/PID/stat over the requests wrk counted).
# 2. JOSE: build/bench/bench_jose (gh_jws_sign/gh_jws_verify) against
#    `openssl speed rsa2048 ecdsap256 ed25519`, alternating, medians.
# Every figure is measured in this run.  A failed measurement exits 1 with an error.
set -u
cd "$(dirname "$0")/../.." || exit 2
GH_BENCHBIN=${GH_BENCHBIN:-$PWD/build/bench}
RUNS=${GH_BENCH_RUNS:-3}           # runs per figure; the median is reported
HTTP_SECONDS=${GH_BENCH_HTTP_SECONDS:-4}
JOSE_SECONDS=${GH_BENCH_JOSE_SECONDS:-2}
CONNS=32
SERVER_CPU=0
CLIENT_CPU=1

TMP=$(mktemp -d /tmp/gh-bench.XXXXXX) || exit 1
SERVER_PIDS=()

cleanup() {
	for p in "${SERVER_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${SERVER_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	[ -n "${GH_KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	echo "error: $*" >&2
	exit 1
}

# --- helpers -----------------------------------------------------------------

. tests/bench/lib.sh

# A TCP port nobody listens on in 20000..59999.
free_port() {
	local p used
	used=$(ss -Htln 2>/dev/null | awk '{print $4}' | sed 's/.*://')
	for _ in $(seq 1 50); do
		p=$(( 20000 + RANDOM % 40000 ))
		grep -qx "$p" <<<"$used" || { echo "$p"; return 0; }
	done
	return 1
}

# Wait until url answers 200 with body {"ok":true}; 1 with a message otherwise.
wait_hello() {
	local name=$1 url=$2 pid=$3 body=
	for _ in $(seq 1 50); do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "error: $name exited before answering on $url" >&2
			return 1
		fi
		body=$(curl -sk --max-time 2 -o - -w ' %{http_code}' "$url" 2>/dev/null) &&
			[ "$body" = '{"ok":true} 200' ] && return 0
		sleep 0.1
	done
	echo "error: $name does not answer 200 {\"ok\":true} on $url (last: '$body')" >&2
	return 1
}

# Latency from wrk ("476.00us", "1.08ms", "1.02s", "2.00m") in milliseconds.
to_ms() {
	awk -v v="$1" 'BEGIN {
		n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
		if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
		else if (u != "ms") exit 1
		printf "%.3f\n", n }'
}

# --- HTTP --------------------------------------------------------------------

for tool in wrk nginx openssl taskset curl ss; do
	command -v "$tool" >/dev/null || fail "$tool is not installed (make deps)"
done
for prog in bench_http bench_jose; do
	[ -x "$GH_BENCHBIN/$prog" ] || fail "$GH_BENCHBIN/$prog is missing: run 'make all benches'"
done
taskset -c "$CLIENT_CPU" true 2>/dev/null || fail "CPU $CLIENT_CPU is not available: this benchmark needs 2 CPUs"
TICKS=$(getconf CLK_TCK) || fail "getconf CLK_TCK failed"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$TMP/key.pem" -out "$TMP/cert.pem" >/dev/null 2>&1 ||
	fail "could not make the TLS certificate"

# Our server: bench_http PORT [--tls CERT KEY] on CPU 0.  Its access log (one
# JSON line per request on stderr) is still formatted and written, to /dev/null.
start_ours() {
	local name=$1 port=$2 scheme=$3 pid
	shift 3
	taskset -c "$SERVER_CPU" "$GH_BENCHBIN/bench_http" "$port" "$@" \
		>"$TMP/$name.out" 2>/dev/null &
	pid=$!
	SERVER_PIDS+=("$pid")
	wait_hello "$name" "$scheme://127.0.0.1:$port/hello" "$pid" ||
		fail "bench_http did not start (run it by hand: $GH_BENCHBIN/bench_http $port $*)"
	echo "$pid" >"$TMP/$name.pid"
}

# nginx with a private prefix: one process, no daemon, no access log, keep-alive
# with its defaults (keepalive_requests 1000, like gh_http's max_requests_per_conn).
start_nginx() {
	local name=$1 port=$2 scheme=$3 dir=$TMP/$1 listen pid
	mkdir -p "$dir/logs" "$dir/tmp"
	listen="listen 127.0.0.1:$port;"
	[ "$scheme" = https ] && listen="listen 127.0.0.1:$port ssl;
		ssl_certificate $TMP/cert.pem;
		ssl_certificate_key $TMP/key.pem;"
	cat >"$dir/nginx.conf" <<-CONF
	daemon off;
	master_process off;
	worker_processes 1;
	pid $dir/nginx.pid;
	error_log $dir/logs/error.log warn;
	events { worker_connections 1024; }
	http {
		access_log off;
		client_body_temp_path $dir/tmp/body;
		proxy_temp_path $dir/tmp/proxy;
		fastcgi_temp_path $dir/tmp/fastcgi;
		uwsgi_temp_path $dir/tmp/uwsgi;
		scgi_temp_path $dir/tmp/scgi;
		keepalive_timeout 60s;
		server {
			$listen
			location = /hello {
				default_type application/json;
				return 200 '{"ok":true}';
			}
		}
	}
	CONF
	taskset -c "$SERVER_CPU" nginx -p "$dir/" -c "$dir/nginx.conf" -e "$dir/logs/error.log" \
		>"$dir/logs/stdout.log" 2>&1 &
	pid=$!
	SERVER_PIDS+=("$pid")
	wait_hello "$name" "$scheme://127.0.0.1:$port/hello" "$pid" ||
		{ cat "$dir/logs/error.log" "$dir/logs/stdout.log" >&2; fail "nginx did not start"; }
	echo "$pid" >"$TMP/$name.pid"
}

# One wrk run against a server: prints "REQ_PER_S P99_MS CPU_US_PER_REQ".
wrk_run() {
	local name=$1 url=$2 seconds=$3 pid t0 t1 out requests rps p99 errors non2xx cpu
	pid=$(cat "$TMP/$name.pid")
	out=$TMP/wrk-$name.txt
	t0=$(cpu_ticks "$pid") || fail "$name is gone (pid $pid)"
	taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"${seconds}s" --latency "$url" >"$out" 2>&1 ||
		{ cat "$out" >&2; fail "wrk against $name failed"; }
	t1=$(cpu_ticks "$pid") || fail "$name died during the run (pid $pid)"
	requests=$(awk '/requests in/ {print $1}' "$out")
	rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
	p99=$(awk '$1 == "99%" {print $2}' "$out")
	non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")
	errors=$(sed -n 's/.*Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1 \2 \3 \4/p' "$out")
	[ -n "$requests" ] && [ -n "$rps" ] && [ -n "$p99" ] ||
		{ cat "$out" >&2; fail "could not read wrk's output for $name"; }
	[ "$requests" -gt 0 ] || { cat "$out" >&2; fail "wrk made no request to $name"; }
	[ -z "$non2xx" ] || { cat "$out" >&2; fail "$name answered $non2xx non-2xx responses"; }
	if [ -n "$errors" ]; then
		# A few read errors are connections closed after keepalive_requests; more is a failure.
		set -- $errors
		[ "$1" -eq 0 ] && [ "$3" -eq 0 ] && [ "$4" -eq 0 ] && [ "$2" -le $(( requests / 100 )) ] ||
			{ cat "$out" >&2; fail "wrk saw socket errors against $name: $errors (connect read write timeout)"; }
	fi
	p99=$(to_ms "$p99") || fail "unknown latency unit in wrk's output for $name"
	[ $(( t1 - t0 )) -gt 0 ] || fail "no CPU time measured for $name (pid $pid)"
	cpu=$(awk -v t=$(( t1 - t0 )) -v hz="$TICKS" -v n="$requests" 'BEGIN {printf "%.3f\n", t / hz * 1e6 / n}')
	echo "$rps $p99 $cpu"
}

# Runs alternate ours/nginx; then prints the figures of one protocol.
http_compare() {
	local proto=$1 scheme=$2 ours=$3 nginx=$4 port_ours=$5 port_nginx=$6 i r
	local -a o_rps=() o_p99=() o_cpu=() n_rps=() n_p99=() n_cpu=()
	local url_o="$scheme://127.0.0.1:$port_ours/hello" url_n="$scheme://127.0.0.1:$port_nginx/hello"
	# Warm-up: connections, caches, CPU frequency.
	wrk_run "$ours" "$url_o" 1 >/dev/null
	wrk_run "$nginx" "$url_n" 1 >/dev/null
	for i in $(seq 1 "$RUNS"); do
		r=$(wrk_run "$ours" "$url_o" "$HTTP_SECONDS") || exit 1
		set -- $r; o_rps+=("$1"); o_p99+=("$2"); o_cpu+=("$3")
		r=$(wrk_run "$nginx" "$url_n" "$HTTP_SECONDS") || exit 1
		set -- $r; n_rps+=("$1"); n_p99+=("$2"); n_cpu+=("$3")
		echo "# $proto run $i: ours ${o_rps[-1]} req/s p99 ${o_p99[-1]} ms cpu ${o_cpu[-1]} us/req;" \
			"nginx ${n_rps[-1]} req/s p99 ${n_p99[-1]} ms cpu ${n_cpu[-1]} us/req"
	done
	local mo_rps mn_rps mo_p99 mn_p99 mo_cpu mn_cpu
	mo_rps=$(median "${o_rps[@]}"); mn_rps=$(median "${n_rps[@]}")
	mo_p99=$(median "${o_p99[@]}"); mn_p99=$(median "${n_p99[@]}")
	mo_cpu=$(median "${o_cpu[@]}"); mn_cpu=$(median "${n_cpu[@]}")
	printf 'bench: %s_server_req_per_s %.0f req/s\n' "$proto" "$mo_rps"
	printf 'bench: %s_nginx_req_per_s %.0f req/s\n' "$proto" "$mn_rps"
	printf 'bench: %s_server_p99 %.3f ms\n' "$proto" "$mo_p99"
	printf 'bench: %s_nginx_p99 %.3f ms\n' "$proto" "$mn_p99"
	printf 'bench: %s_server_cpu_per_req %.2f us\n' "$proto" "$mo_cpu"
	printf 'bench: %s_nginx_cpu_per_req %.2f us\n' "$proto" "$mn_cpu"
	echo "ratio: ${proto}_server_vs_nginx $(divide "$mo_rps" "$mn_rps") target>=1.0"
	echo "ratio: ${proto}_server_cpu_per_req_vs_nginx $(divide "$mo_cpu" "$mn_cpu") target<=1.0"
}

PORT_OURS=$(free_port) || fail "no free port"
PORT_NGINX=$(free_port) || fail "no free port"
[ "$PORT_OURS" != "$PORT_NGINX" ] || PORT_NGINX=$(( PORT_OURS + 1 ))
start_ours ours_http "$PORT_OURS" http
start_nginx nginx_http "$PORT_NGINX" http
http_compare http http ours_http nginx_http "$PORT_OURS" "$PORT_NGINX"

PORT_OURS=$(free_port) || fail "no free port"
PORT_NGINX=$(free_port) || fail "no free port"
[ "$PORT_OURS" != "$PORT_NGINX" ] || PORT_NGINX=$(( PORT_OURS + 1 ))
start_ours ours_https "$PORT_OURS" https --tls "$TMP/cert.pem" "$TMP/key.pem"
start_nginx nginx_https "$PORT_NGINX" https
http_compare https https ours_https nginx_https "$PORT_OURS" "$PORT_NGINX"

# The servers are done: stop them before the CPU-bound JOSE runs.
for p in "${SERVER_PIDS[@]}"; do kill "$p" 2>/dev/null; done
for p in "${SERVER_PIDS[@]}"; do wait "$p" 2>/dev/null; done
SERVER_PIDS=()

# --- JOSE --------------------------------------------------------------------

# `openssl speed` prints "rsa 2048 bits ... sign/s verify/s",
# " 256 bits ecdsa (nistp256) ..." and " 253 bits EdDSA (Ed25519) ..." rows.
openssl_rates() {
	local out=$TMP/speed.txt
	taskset -c "$SERVER_CPU" openssl speed -seconds "$JOSE_SECONDS" rsa2048 ecdsap256 ed25519 \
		>"$out" 2>"$TMP/speed.err" || { cat "$TMP/speed.err" >&2; fail "openssl speed failed"; }
	awk '
		/^rsa 2048 bits/            { rs = $(NF - 1); rv = $NF }
		/ecdsa \(nistp256\)/        { es = $(NF - 1); ev = $NF }
		/EdDSA \(Ed25519\)/         { ds = $(NF - 1); dv = $NF }
		END { if (rs == "" || rv == "" || es == "" || ev == "" || ds == "" || dv == "") exit 1
		      print rs, rv, es, ev, ds, dv }' "$out" ||
		{ cat "$out" >&2; fail "could not read the rates in openssl speed's output"; }
}

jose_rates() {
	local out=$TMP/jose.txt v name
	taskset -c "$SERVER_CPU" "$GH_BENCHBIN/bench_jose" "$JOSE_SECONDS" >"$out" ||
		{ cat "$out" >&2; fail "bench_jose failed"; }
	for name in rs256_sign rs256_verify es256_sign es256_verify eddsa_sign eddsa_verify; do
		v=$(awk -v n="jose_$name" '$1 == "bench:" && $2 == n && $4 == "ops/s" {print $3}' "$out")
		[ -n "$v" ] && [ "$v" -gt 0 ] 2>/dev/null || { cat "$out" >&2; fail "bench_jose printed no rate for $name"; }
		printf '%s ' "$v"
	done
	echo
	awk '$2 ~ /_token_size$/' "$out" >"$TMP/jose-sizes.txt"
}

declare -a J_RS=() J_RV=() J_ES=() J_EV=() J_DS=() J_DV=()
declare -a O_RS=() O_RV=() O_ES=() O_EV=() O_DS=() O_DV=()
for i in $(seq 1 "$RUNS"); do
	r=$(jose_rates) || exit 1
	set -- $r; J_RS+=("$1"); J_RV+=("$2"); J_ES+=("$3"); J_EV+=("$4"); J_DS+=("$5"); J_DV+=("$6")
	r=$(openssl_rates) || exit 1
	set -- $r; O_RS+=("$1"); O_RV+=("$2"); O_ES+=("$3"); O_EV+=("$4"); O_DS+=("$5"); O_DV+=("$6")
	echo "# jose run $i: verify/s ours rs256 ${J_RV[-1]} es256 ${J_EV[-1]} eddsa ${J_DV[-1]};" \
		"openssl rsa2048 ${O_RV[-1]} p256 ${O_EV[-1]} ed25519 ${O_DV[-1]}"
done
cat "$TMP/jose-sizes.txt"
for v in "rs256 J_RS J_RV rsa2048 O_RS O_RV" "es256 J_ES J_EV ecdsap256 O_ES O_EV" \
	"eddsa J_DS J_DV ed25519 O_DS O_DV"; do
	set -- $v
	declare -n js=$2 jv=$3 os=$5 ov=$6
	ms_js=$(median "${js[@]}"); ms_jv=$(median "${jv[@]}")
	ms_os=$(median "${os[@]}"); ms_ov=$(median "${ov[@]}")
	printf 'bench: jose_%s_sign %.0f ops/s\n' "$1" "$ms_js"
	printf 'bench: jose_%s_verify %.0f ops/s\n' "$1" "$ms_jv"
	printf 'bench: openssl_%s_sign %.0f ops/s\n' "$4" "$ms_os"
	printf 'bench: openssl_%s_verify %.0f ops/s\n' "$4" "$ms_ov"
	echo "ratio: jose_$1_verify_vs_openssl $(divide "$ms_jv" "$ms_ov") target>=0.8"
	unset -n js jv os ov
done
exit 0
