#!/usr/bin/env bash
# Request bodies stream through the gateway: a 20 MB upload (Content-Length, and chunked)
# passes a gw-internal whose max_body_bytes is 30 MB to the backend's /sink (which counts
# the bytes) while the gateway's VmRSS grows far less than 20 MB; an upload refused by
# authentication (401) never reaches the backend, and the connection is not reused for the
# unread body; an upload over the API's maxRequestBodyBytes gets 413: declared by its
# Content-Length before the backend hears of it, chunked as it arrives, the backend's call
# then cut so that it sees an incomplete body (never more than the limit allowed).
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/gw.sh"
trap gw_teardown EXIT
gw_setup g48 || { echo "0 passed, 1 failed"; exit 1; }
LIMIT=$((24 * 1024 * 1024))
API=$(gw_api Upload /upload 1.0 "Internal" "\"maxRequestBodyBytes\":$LIMIT")
check_match "an API with a 24 MB body limit" '^[0-9a-f-]{36}$' "$API"
gw_app UploadApp "$API" Gold || echo "FAIL: application"
# ASan's quarantine would count every freed piece as resident (see 47-stream.t).
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=4:thread_local_quarantine_size_kb=64"
gw_start gw-internal "max_body_bytes = 30m" "workers = 1" || { echo "0 passed, 1 failed"; exit 1; }
U=$GWI_HTTP_URL/upload/1.0
AUTH="Authorization: Bearer $TOKEN"
N=$((20 * 1024 * 1024))
rss() { awk '/^VmRSS/ {print $2}' "/proc/$GWI_PID/status"; }
sinks() { grep -c '"path": "/sink"' "$BE_PROD_LOG" 2>/dev/null; }
head -c "$N" /dev/zero | tr '\0' 'u' >"$GH_TMP/up"

# warm up: the worker's pools, buffers and the token cache
gwi -o /dev/null -H "$AUTH" --data-binary @"$GH_TMP/up" "$U/sink"
for kind in length chunked; do
	te=()
	[ "$kind" = chunked ] && te=(-H "Transfer-Encoding: chunked")
	base=$(rss)
	peak=$base
	gwi -o "$GH_TMP/$kind.out" -w '%{http_code}' --limit-rate 8M -H "$AUTH" "${te[@]}" \
		-H 'Content-Type: application/octet-stream' --data-binary @"$GH_TMP/up" \
		"$U/sink" >"$GH_TMP/$kind.code" &
	cpid=$!
	while kill -0 "$cpid" 2>/dev/null; do
		r=$(rss); [ "${r:-0}" -gt "$peak" ] && peak=$r
		sleep 0.05
	done
	wait "$cpid"
	check_eq "$kind: curl's upload ended" 0 "$?"
	check_eq "$kind: 200 from the backend" 200 "$(cat "$GH_TMP/$kind.code")"
	check_match "$kind: the backend counted all 20 MB" "\"sink_bytes\": $N, \"sink_complete\": true" \
		"$(cat "$GH_TMP/$kind.out")"
	grow=$(( peak - base ))
	echo "# $kind: VmRSS $base kB before, $peak kB at most (+$grow kB)"
	check_ok "$kind: the gateway's VmRSS grew by less than 6 MB (+$grow kB)" test "$grow" -lt 6144
done
check_match "Content-Length kept for the backend" '"content-length": "20971520"' \
	"$(cat "$GH_TMP/length.out")"
check_match "chunked stays chunked" '"transfer-encoding": "chunked"' "$(cat "$GH_TMP/chunked.out")"

# Refused by authentication: nothing reaches the backend; the connection is closed.
before=$(sinks)
check_eq "an upload without a token gets 401" 401 \
	"$(gwi -o /dev/null -w '%{http_code}' --data-binary @"$GH_TMP/up" "$U/sink")"
check_eq "chunked too" 401 \
	"$(gwi -o /dev/null -w '%{http_code}' -H 'Transfer-Encoding: chunked' --data-binary @"$GH_TMP/up" "$U/sink")"
OUT=$(/usr/bin/python3 - "${GWI_HTTP_URL##*:}" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
inner = b"GET /upload/1.0/SMUGGLED HTTP/1.1\r\nHost: localhost\r\n\r\n"
s.sendall(b"POST /upload/1.0/sink HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % (len(inner) + 100) + inner)
got = b""
try:
    while True:
        c = s.recv(65536)
        if not c:
            break
        got += c
except OSError:
    pass
print(got.count(b"HTTP/1.1 "), got.split(b" ")[1].decode() if got else "none")
PY
)
check_eq "a refused request's body is never read as the next request" "1 401" "$OUT"
sleep 0.3
check_eq "the backend saw none of the refused uploads" "$before" "$(sinks)"
check_eq "nor the smuggled request" 0 "$(grep -c SMUGGLED "$BE_PROD_LOG.raw")"

# Over the API's limit (24 MB): 413.
head -c $((26 * 1024 * 1024)) /dev/zero | tr '\0' 'v' >"$GH_TMP/big"
before=$(sinks)
check_eq "26 MB declared by Content-Length: 413" 413 \
	"$(gwi -o /dev/null -w '%{http_code}' -H "$AUTH" --data-binary @"$GH_TMP/big" "$U/sink")"
sleep 0.3
check_eq "and the backend heard nothing of it" "$before" "$(sinks)"
code=$(gwi -o /dev/null -w '%{http_code}' -H "$AUTH" -H 'Transfer-Encoding: chunked' \
	--data-binary @"$GH_TMP/big" "$U/sink")
check_eq "26 MB chunked: 413 as the bytes pass 24 MB" 413 "$code"
for _ in $(seq 50); do [ "$(sinks)" -gt "$before" ] && break; sleep 0.1; done
last=$(grep '"path": "/sink"' "$BE_PROD_LOG" | tail -1)
echo "# backend: $(printf '%s' "$last" | grep -o '"sink_bytes": [0-9]*, "sink_complete": [a-z]*')"
check_match "the backend's call was cut: an incomplete body" '"sink_complete": false' "$last"
got=$(printf '%s' "$last" | sed -n 's/.*"sink_bytes": \([0-9]*\).*/\1/p')
check_ok "no more than the limit reached it (${got:-none} bytes)" test "${got:-999999999}" -le "$LIMIT"
check_eq "the gateway is alive" 200 \
	"$(gwi -o /dev/null -w '%{http_code}' -H "$AUTH" --data-binary 'small' "$U/sink")"
check_done
