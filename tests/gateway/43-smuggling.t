#!/usr/bin/env bash
# The edge refuses what it must: 77 malformed or smuggling requests (CL+TE, double CL, bad
# chunks, obs-fold, bare LF/CR, space before colon, NUL and CTLs, odd methods and versions,
# absolute- and authority-form targets, huge heads, encoded traversal ...), each with a
# valid token, on gw-internal (plain HTTP) and gw-external (TLS): every one is refused and
# none reaches the backend (its byte log holds no MARK).  Headers sent one byte at a time
# are cut at the header timeout (408); a body over the API's maxRequestBodyBytes gets 413
# and the backend gets nothing of it.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/gw.sh"
trap gw_teardown EXIT
gw_setup g43 || { echo "0 passed, 1 failed"; exit 1; }
API=$(gw_api Smug /smug 1.0 "Internal External" '"maxRequestBodyBytes":1000')
check_match "an API with a 1000-byte body limit" '^[0-9a-f-]{36}$' "$API"
gw_app SmugApp "$API" Gold || echo "FAIL: application"
gw_start gw-internal "header_timeout = 1s" || { echo "0 passed, 1 failed"; exit 1; }
gw_start gw-external "header_timeout = 1s" || { echo "0 passed, 1 failed"; exit 1; }
AUTH="Authorization: Bearer $TOKEN"

check_eq "a well-formed request passes (internal)" 200 \
	"$(gwi -o /dev/null -w '%{http_code}' -H "$AUTH" "$GWI_HTTP_URL/smug/1.0/CONTROL1")"
check_eq "a well-formed request passes (external)" 200 \
	"$(gwe -o /dev/null -w '%{http_code}' -H "$AUTH" "$GWE_URL/smug/1.0/CONTROL2")"
check_match "the backend saw them" 'CONTROL2' "$(cat "$BE_PROD_LOG")"

run_cases() {	# label host port mode
	local out n=0
	out=$(/usr/bin/python3 "$GH_ROOT/tests/gateway/smuggle.py" "$2" "$3" "$4" /smug/1.0 "$TOKEN")
	printf '%s\n' "$out" >"$GH_TMP/smuggle-$1.out"
	while IFS= read -r line; do
		n=$((n + 1))
		case $line in
		PASS*) _ok ;;
		*) _ko "$1: $line" ;;
		esac
	done <<<"$out"
	check_eq "$1: every case ran" 77 "$n"
	# refused by the parser or the router, not later (a 401 would mean the token was lost)
	check_eq "$1: no case reached authentication" "" "$(grep -E '\((401|403|429)\)' "$GH_TMP/smuggle-$1.out")"
}
run_cases internal 127.0.0.1 "${GWI_HTTP_URL##*:}" plain
run_cases external 127.0.0.1 "${GWE_URL##*:}" tls
check_eq "no refused request reached the backend" 0 "$(grep -c 'MARK' "$BE_PROD_LOG.raw")"
check_eq "nor the sandbox backend" 0 "$(grep -c 'MARK' "$BE_SAND_LOG.raw")"

# Headers one byte every 0.3 s: cut at the 1 s header timeout.
SLOW=$(/usr/bin/python3 - "${GWI_HTTP_URL##*:}" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
req = b"GET /smug/1.0/SLOWLORIS HTTP/1.1\r\nHost: localhost\r\nX-Pad: " + b"a" * 40 + b"\r\n\r\n"
t0 = time.time(); got = b""
try:
    for b in req:
        s.send(bytes([b])); time.sleep(0.3)
        s.setblocking(False)
        try:
            got += s.recv(4096)
        except BlockingIOError:
            pass
        s.setblocking(True)
        if got:
            break
    s.settimeout(3)
    while b"\r\n\r\n" not in got:
        c = s.recv(4096)
        if not c:
            break
        got += c
except OSError:
    pass
print("%s %.1f" % (got.split(b" ")[1].decode() if got else "closed", time.time() - t0))
PY
)
check_match "slow headers get 408" '^408 ' "$SLOW"
check_match "within about the header timeout" ' (0\.[89]|1\.[0-9]|2\.[0-4])$' "$SLOW"
check_eq "the slow request never reached the backend" 0 "$(grep -c 'SLOWLORIS' "$BE_PROD_LOG.raw")"

# A body over the API's limit: 413 as it arrives, and the backend sees nothing.
head -c 5000 /dev/zero | tr '\0' 'B' >"$GH_TMP/big"
check_eq "a 5000-byte body to a 1000-byte API gets 413 (external)" 413 \
	"$(gwe -o /dev/null -w '%{http_code}' -H "$AUTH" --data-binary @"$GH_TMP/big" "$GWE_URL/smug/1.0/BIGBODY1")"
check_eq "chunked too (internal)" 413 \
	"$(gwi -o /dev/null -w '%{http_code}' -H "$AUTH" -H 'Transfer-Encoding: chunked' --data-binary @"$GH_TMP/big" "$GWI_HTTP_URL/smug/1.0/BIGBODY2")"
check_eq "a 900-byte body passes" 200 \
	"$(head -c 900 "$GH_TMP/big" | gwe -o /dev/null -w '%{http_code}' -H "$AUTH" --data-binary @- "$GWE_URL/smug/1.0/SMALLBODY")"
check_eq "the backend saw none of the big bodies" 0 "$(grep -c 'BIGBODY' "$BE_PROD_LOG.raw")"
check_done
