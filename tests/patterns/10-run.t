#!/usr/bin/env bash
# gatehouse run on an all-in-one node with its embedded PostgreSQL and slapd: init makes the
# user gatehouse; run starts the eight processes in dependency order and tells systemd READY=1
# (the NOTIFY_SOCKET datagrams are read by a small listener); status reports each process,
# its health, version, feed lag and spool depth, in text and JSON; every process runs as
# gatehouse with no_new_privs; a killed process comes back after a back-off that doubles;
# SIGHUP reaches every daemon (not slapd, which SIGHUP would stop); on SIGTERM a request in
# flight through a gateway still gets its answer, the gateways stop first, then the control
# plane, then storage, STOPPING=1 is sent, every process is gone and run exits 0; the
# analytics of every call made reach the database (the spool was flushed on the way down).
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/node.sh"
G=$GH_BIN/gatehouse
D=$GH_TMP/n1

# the systemd side of sd_notify: one datagram a line
/usr/bin/python3 - "$GH_TMP/notify.sock" "$GH_TMP/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        f.write(s.recv(4096).decode().replace("\n", " | ") + "\n")
PY
NPID=$!
BEPID=
trap 'kill $NPID $BEPID 2>/dev/null; [ -n "${NODE_PID:-}" ] && kill -9 $NODE_PID 2>/dev/null; for p in $(node_pids n1); do kill -9 $p 2>/dev/null; done' EXIT
for _ in $(seq 1 50); do [ -S "$GH_TMP/notify.sock" ] && break; sleep 0.05; done

node_conf n1
. "$D/env"
out=$(node_init n1 && cat "$D/init.log")
check_match "init made the embedded PostgreSQL cluster" "created +embedded PostgreSQL cluster" "$out"
check_match "init made the embedded slapd" "created +embedded slapd" "$out"
check_ok "the user gatehouse exists after init" id gatehouse
check_eq "the configuration stays 0600" 600 "$(stat -c %a "$D/node.conf")"
check_eq "the configuration is the node user's (read again on SIGHUP)" gatehouse "$(stat -c %U "$D/node.conf")"
check_eq "the CA key stays root's" root "$(stat -c %U "$D/data/pki/ca.key")"

t0=$(date +%s%N)
NOTIFY_SOCKET=$GH_TMP/notify.sock node_run n1 || { check_eq "gatehouse run became ready" ready failed; check_done; exit 1; }
echo "ready after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
sleep 0.3
check_match "READY=1 sent to NOTIFY_SOCKET" "READY=1" "$(cat "$GH_TMP/notify.log")"
order=$(grep '"event":"up"' "$D/run.log" | sed -n 's/.*"msg":"\([a-z-]*\):.*/\1/p' | tr '\n' ' ')
check_eq "processes came up in dependency order" \
	"postgresql slapd keymanager publisher portal trafficmanager gw-internal gw-external " "$order"

out=$("$G" status --config "$D/node.conf"); rc=$?
echo "$out"
check_eq "status exits 0 when all are healthy" 0 "$rc"
check_eq "status lists eight running, healthy processes" 8 "$(printf '%s\n' "$out" | grep -c ' running .* healthy ')"
check_match "status shows a gateway's feed lag and spool depth" "gw-external .*feed lag [0-9]+ ms, spool [0-9]+ bytes" "$out"
check_match "status shows the traffic manager's keys and gateways" "trafficmanager .*keys [0-9]+, gateways [0-9]+" "$out"
json=$("$G" status --config "$D/node.conf" --json)
check_eq "status --json" "True 8 0.8.0 True True" "$(printf '%s' "$json" | /usr/bin/python3 -c '
import json, sys
j = json.load(sys.stdin)
p = {x["name"]: x for x in j["processes"]}
print(j["healthy"], len(j["processes"]), p["keymanager"]["version"], "feed_lag_ms" in p["gw-internal"],
      "gateways" in p["trafficmanager"])')"

uid=$(id -u gatehouse)
bad=""
for p in $(node_pids n1); do
	u=$(awk '/^Uid:/ {print $2}' "/proc/$p/status"); nnp=$(awk '/^NoNewPrivs:/ {print $2}' "/proc/$p/status")
	[ "$u" = "$uid" ] && [ "$nnp" = 1 ] || bad="$bad $(tr '\0' ' ' <"/proc/$p/cmdline" | cut -c1-60)(uid $u nnp $nnp)"
done
check_eq "every process runs as gatehouse with no_new_privs" "" "$bad"
check_eq "the supervisor stays root (it restarts daemons that bind as root)" 0 "$(awk '/^Uid:/ {print $2}' /proc/$NODE_PID/status)"

# a crash: back-off restarts, doubling
old=$(cat "$D/data/run/portal.pid")
kill -9 "$old"
for _ in $(seq 1 100); do
	new=$(cat "$D/data/run/portal.pid" 2>/dev/null)
	[ -n "$new" ] && [ "$new" != "$old" ] && curl -sf "$N_PORTAL_MGMT/health" >/dev/null && break
	sleep 0.1
done
check_ne "a killed portal is started again" "$old" "$new"
check_match "the restart is logged with its back-off" "portal \(pid $old\) ended: signal 9.*restarting in 500 ms" "$(cat "$D/run.log")"
for _ in $(seq 1 50); do grep -q 'portal: healthy again after restart 1' "$D/run.log" && break; sleep 0.1; done
kill -9 "$new"
for _ in $(seq 1 100); do grep -q 'portal: healthy again after restart 2' "$D/run.log" && break; sleep 0.1; done
check_match "a second crash waits twice as long" "portal \(pid $new\) ended: signal 9.*restarting in 1000 ms" "$(cat "$D/run.log")"
check_eq "status is healthy again after the restarts" 0 "$("$G" status --config "$D/node.conf" >/dev/null; echo $?)"

# SIGHUP is passed on to the daemons; slapd keeps running
slapd_pid=$(cat "$D/data/run/slapd.pid")
kill -HUP "$NODE_PID"
sleep 1
for c in keymanager publisher portal trafficmanager gw-internal gw-external; do
	check_match "SIGHUP reached $c (it read its configuration again)" '"event":"reload".*read again' "$(cat "$D/log/$c.log")"
done
check_eq "slapd was not sent SIGHUP (it would stop)" "$slapd_pid" "$(cat "$D/data/run/slapd.pid")"
check_ok "the supervisor survives SIGHUP" kill -0 "$NODE_PID"

# traffic: an API, an application, calls through gw-external
node_use n1 || check_eq "management client registered" ok failed
_gw_backend prod; BE_PROD_URL=http://127.0.0.1:$_BE_PORT; BE_SAND_URL=$BE_PROD_URL
BEPID=$GH_BE_PIDS
ADM=$(admin_token)
api=$(gw_api Pets /pets 1.0 "Internal External")
gw_app petapp "$api" Unlimited
code=$(gw_wait_code 200 10000 -H "Authorization: Bearer $TOKEN" "$GWE_URL/pets/1.0/x")
check_eq "a call through gw-external answers 200" 200 "$code"
n=1
for _ in $(seq 1 9); do
	curl -s --cacert "$KM_CA" -o /dev/null -H "Authorization: Bearer $TOKEN" "$GWE_URL/pets/1.0/x" && n=$((n + 1))
done
for _ in $(seq 1 5); do
	curl -s --cacert "$KM_CA" -o /dev/null -H "Authorization: Bearer $TOKEN" "$GWI_URL/pets/1.0/x" && n=$((n + 1))
done

# SIGTERM with a request in flight (the backend waits 1.5 s before answering)
curl -s --cacert "$KM_CA" -o "$GH_TMP/slow.out" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
	"$GWE_URL/pets/1.0/slow/1500" >"$GH_TMP/slow.code" &
SLOW=$!
sleep 0.4
pids=$(node_pids n1)
t0=$(date +%s%N)
kill -TERM "$NODE_PID"
wait "$NODE_PID"; rc=$?
echo "stopped in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
NODE_PID=
wait "$SLOW"
check_eq "gatehouse run exits 0 after SIGTERM" 0 "$rc"
check_eq "the request in flight got its answer" 200 "$(cat "$GH_TMP/slow.code")"
n=$((n + 1))
left=""
for p in $pids; do kill -0 "$p" 2>/dev/null && left="$left $p"; done
check_eq "every process of the node is gone" "" "$left"
check_eq "no process of the node's binaries is left" "" "$(pgrep -f "$D/node.conf" || true)"
seq=$(grep -E '"event":"(stop|stopped)"' "$D/run.log" | sed -n 's/.*"msg":"\([a-z-]*\): .*/\1/p' | tr '\n' ' ')
echo "stop sequence: $seq"
pos() { printf '%s\n' "$seq" | tr ' ' '\n' | grep -n "^$1$" | tail -1 | cut -d: -f1; }
first_cp=$(printf '%s\n' "$seq" | tr ' ' '\n' | grep -n '^keymanager$' | head -1 | cut -d: -f1)
check_eq "gateways stop before the control plane" 1 "$([ "$(pos gw-external)" -lt "$first_cp" ] && [ "$(pos gw-internal)" -lt "$first_cp" ] && echo 1)"
first_st=$(printf '%s\n' "$seq" | tr ' ' '\n' | grep -n '^postgresql$' | head -1 | cut -d: -f1)
check_eq "the control plane stops before PostgreSQL and slapd" 1 "$([ "$(pos keymanager)" -lt "$first_st" ] && [ "$(pos trafficmanager)" -lt "$first_st" ] && echo 1)"
check_match "STOPPING=1 sent to NOTIFY_SOCKET" "STOPPING=1" "$(cat "$GH_TMP/notify.log")"
check_nomatch "no process needed SIGKILL" "SIGKILL" "$(cat "$D/run.log")"
check_nomatch "no sanitizer report in any log" "AddressSanitizer|runtime error" "$(cat "$D"/log/*.log)"
check_eq "status exits 1 when the node is down" 1 "$("$G" status --config "$D/node.conf" >/dev/null; echo $?)"

# the spool was flushed on the way down: every call is in the database
node_run n1 || check_eq "gatehouse run starts again" ready failed
events=$(sql "SELECT count(*) FROM gh_analytics_events WHERE api_id = '$api' AND status = 200")
check_eq "all $n calls reached the analytics tables" "$n" "$events"
node_stop n1
check_done
