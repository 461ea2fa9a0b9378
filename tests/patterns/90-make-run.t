#!/usr/bin/env bash
# make run, from a clean copy of the tree: the tracked files of this checkout copied to a new
# folder (no var/, no build/), and appliance/run-local.sh run there — what `make run` runs after
# building — with the binaries already built by this test run (GH_RUN_BIN) and its ports moved
# by an offset so that it cannot meet another node.  It must reach a successful API call: the
# test waits for the banner, checks the URLs it prints, runs the printed curl line (a token
# for the demo application, then a call through the external gateway to the demo backend),
# then sends SIGINT (Ctrl-C) and checks that everything stopped.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/appliance/embedded/pg.sh"
T=$GH_TMP/tree
mkdir -p "$T"
(cd "$GH_ROOT" && git ls-files -z | tar --null -T - -cf -) | tar -xf - -C "$T"
check_ok "the copy has no var/ and no build/" test ! -e "$T/var" -a ! -e "$T/build"
# an offset whose ports are all free
for _ in 1 2 3 4 5; do
	off=$(( 20000 + RANDOM % 20000 )); busy=0
	for p in 9443 9444 9445 9446 9447 9611 8243 8244 8281 8300 15432 1389 19443 19444 19445 19611 18243 18244; do
		ss -Htan "sport = :$((p + off))" | grep -q . && busy=1
	done
	[ "$busy" = 0 ] && break
done
P() { echo $(( $1 + off )); }
out=$GH_TMP/run.out
(cd "$T" && GH_RUN_BIN=$GH_BIN GH_RUN_PORT_OFFSET=$off exec env --default-signal=INT appliance/run-local.sh) >"$out" 2>&1 &
RUN=$!
cleanup() {
	kill -INT $RUN 2>/dev/null; sleep 1
	for f in "$T"/var/data/run/*.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done
}
trap cleanup EXIT
for _ in $(seq 1 600); do
	grep -q '^TOKEN=' "$out" && break
	kill -0 $RUN 2>/dev/null || break
	sleep 0.2
done
grep -v '^{' "$out" | sed -n '/^Gatehouse is up/,$p'
line=$(grep '^TOKEN=' "$out")
check_ne "make run printed the curl line" "" "$line"
check_match "it prints the publisher console's URL" "publisher console +https://localhost:$(P 9443)/publisher/" "$(cat "$out")"
check_match "it prints the portal's URL" "developer portal +https://localhost:$(P 9444)/devportal/" "$(cat "$out")"
check_match "it prints both gateways" "external https://localhost:$(P 8243) +internal https://localhost:$(P 8244)" "$(cat "$out")"
check_match "it prints the logins" "admin / admin-.*developer / dev-" "$(tr '\n' ' ' <"$out")"
CA=$T/var/data/pki/ca.crt
# (the publisher's web console is another issue's: its REST API answers on that port)
check_eq "the publisher's REST API answers (401 without a token)" 401 \
	"$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" "https://localhost:$(P 9443)/api/am/publisher/v4/apis")"
check_eq "the developer portal answers" 200 "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" "https://localhost:$(P 9444)/devportal/")"
body=$(cd "$T" && bash -c "$line")
check_match "the printed curl line calls the demo API through the external gateway" \
	'"message": "Hello from the Gatehouse demo backend".*"path": "/hello"' "$body"
code=$(cd "$T" && bash -c "${line% -H *} -o /dev/null -w '%{http_code}' -H ${line##* -H }")
check_eq "with status 200" 200 "$code"
check_eq "every listener is on loopback" "" "$(ss -Hltn | awk '{print $4}' | grep -E ":($(P 9443)|$(P 9444)|$(P 9445)|$(P 8243)|$(P 8244)|$(P 8281)|$(P 15432)|$(P 1389))$" | grep -v '^127\.0\.0\.1:')"
pids=$(cat "$T"/var/data/run/*.pid 2>/dev/null)
check_eq "nine processes ran (supervisor and eight)" 9 "$(echo $pids | wc -w)"
kill -INT $RUN
for _ in $(seq 1 300); do kill -0 $RUN 2>/dev/null || break; sleep 0.2; done
wait $RUN; rc=$?
tail -2 "$out"
check_eq "Ctrl-C ends make run with status 0" 0 "$rc"
left=""
for p in $pids; do kill -0 "$p" 2>/dev/null && left="$left $p"; done
check_eq "every process stopped" "" "$left"
check_eq "nothing of the copy is still running" "" "$(pgrep -f "$T/" || true)"
check_nomatch "no process had to be killed" "SIGKILL" "$(cat "$T/var/run.log")"
trap - EXIT
check_done
