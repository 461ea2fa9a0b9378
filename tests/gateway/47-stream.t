#!/usr/bin/env bash
# Responses stream through the gateway: a 20 MB body (Content-Length and chunked) passes a
# gw-internal whose request body limit is 1 MB, read by a client slower than the backend,
# while the gateway's VmRSS grows far less than 20 MB (the backend is read only as fast as
# the client takes it); and the first chunk of a backend that pauses 1 s after it reaches
# the client before that second is over.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/gw.sh"
. "$GH_ROOT/tests/gateway/gwp.sh"
trap gw_teardown EXIT
gw_setup g47 || { echo "0 passed, 1 failed"; exit 1; }
API=$(gw_api Stream /stream 1.0 "Internal")
check_match "an API" '^[0-9a-f-]{36}$' "$API"
gw_app StreamApp "$API" Gold || echo "FAIL: application"
# ASan keeps freed blocks in a quarantine (256 MB by default), which would count every
# chunk that passed as resident: keep it small so VmRSS shows what the gateway holds.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=4:thread_local_quarantine_size_kb=64"
gw_start gw-internal "max_body_bytes = 1m" "workers = 1" || { echo "0 passed, 1 failed"; exit 1; }
U=$GWI_HTTP_URL/stream/1.0
AUTH="Authorization: Bearer $TOKEN"
N=$((20 * 1024 * 1024))
rss() { awk '/^VmRSS/ {print $2}' "/proc/$GWI_PID/status"; }

# warm up: the worker's pools, buffers and the token cache
gwi -o /dev/null -H "$AUTH" "$U/stream/1000000"
for kind in stream chunked; do
	base=$(rss)
	peak=$base
	gwi -o "$GH_TMP/$kind.out" -D "$GH_TMP/$kind.head" --limit-rate 8M -H "$AUTH" "$U/$kind/$N" &
	cpid=$!
	while kill -0 "$cpid" 2>/dev/null; do
		r=$(rss); [ "${r:-0}" -gt "$peak" ] && peak=$r
		sleep 0.05
	done
	wait "$cpid"
	check_eq "$kind: curl got the whole body" 0 "$?"
	check_eq "$kind: 20 MB through a gateway with max_body_bytes = 1m" "$N" "$(wc -c <"$GH_TMP/$kind.out")"
	check_eq "$kind: every byte the backend's" 0 "$(tr -d s <"$GH_TMP/$kind.out" | wc -c)"
	grow=$(( peak - base ))
	echo "# $kind: VmRSS $base kB before, $peak kB at most (+$grow kB)"
	check_ok "$kind: the gateway's VmRSS grew by less than 6 MB (+$grow kB)" test "$grow" -lt 6144
done
check_match "Content-Length kept" '^Content-Length: 20971520' "$(tr -d '\r' <"$GH_TMP/stream.head")"
check_match "no length from the backend: chunked" '^Transfer-Encoding: chunked' "$(tr -d '\r' <"$GH_TMP/chunked.head")"

# The first chunk arrives before the backend finished.
start=$(date +%s%3N)
gwi -N -H "$AUTH" "$U/drip" | while IFS= read -r line; do
	echo "$(( $(date +%s%3N) - start )) $line"
done >"$GH_TMP/drip"
cat "$GH_TMP/drip" | sed 's/^/# /'
first=$(awk '$2 == "first" {print $1}' "$GH_TMP/drip")
rest=$(awk '$2 == "rest" {print $1}' "$GH_TMP/drip")
check_ok "the first chunk within 900 ms (${first:-none} ms)" test "${first:-9999}" -lt 900
check_ok "the rest after the backend's 1 s pause (${rest:-none} ms)" test "${rest:-0}" -ge 950

# The gateway is fine after a client that leaves in the middle of a stream.
timeout 1 curl -s -o /dev/null --limit-rate 1M -H "$AUTH" "$U/stream/$N"
check_eq "a client leaving mid-stream: the next request is answered" 200 \
	"$(gwi -o /dev/null -w '%{http_code}' -H "$AUTH" "$U/stream/10")"
check_eq "and the gateway is alive" 0 "$(kill -0 "$GWI_PID"; echo $?)"
check_done
