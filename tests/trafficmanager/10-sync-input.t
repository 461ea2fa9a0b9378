#!/usr/bin/env bash
# POST /internal/throttle/v1/sync (PROTOCOL.md): a gateway's new session is answered with its
# keys' cluster-wide counts; an unknown session gets 409; malformed bodies (empty, truncated,
# bad magic or version, a huge count, a key too long, a varint overflow, trailing bytes, an
# undefined key id, a count beyond the body) are refused whole with 400 and logged, and the
# traffic manager keeps serving; a publisher's certificate gets 403.  A gateway started with
# the traffic manager syncs (metrics on both sides); one with cluster.trafficmanager_url = none
# counts alone and never syncs.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/tm.sh"
trap gw_teardown EXIT
gw_setup t10 || { echo "0 passed, 1 failed"; exit 1; }
tm_start || { echo "0 passed, 1 failed"; exit 1; }
B=$GH_TMP/bodies
python3 "$GH_ROOT/tests/trafficmanager/tmsync.py" bodies "$B"
S=$TM_URL/internal/throttle/v1/sync
post() { tm_curl "$1" -o "$GH_TMP/out" -w '%{http_code}' -H 'Content-Type: application/octet-stream' \
	--data-binary "@$2" "$S"; }
check_eq "a new session naming one key: 200" 200 "$(post gw-external "$B/valid.bin")"
check_eq "answered in binary with the key's count (2 = 32/16) and 1 gateway" \
	"47485441 01 00 01 01 00 20" "$(od -An -tx1 -v "$GH_TMP/out" | tr -s ' \n' ' ' | sed 's/^ //;s/ $//' |
	sed 's/^47 48 54 41/47485441/')"
check_eq "the same request again (a retry) is answered, not counted twice" 200 "$(post gw-external "$B/valid.bin")"
check_eq "still 2" "20" "$(od -An -tx1 -v "$GH_TMP/out" | tr -s ' \n' ' ' | awk '{print $NF}')"
check_match "the traffic manager holds the key and the gateway" 'gatehouse_tm_keys 1.*gatehouse_tm_gateways 1' \
	"$(curl -s "$TM_MGMT/metrics" | tr '\n' ' ')"
python3 - "$GH_TMP/unknown.bin" <<'PY'
import sys, struct
sys.path.insert(0, __import__('os').environ['GH_ROOT'] + '/tests/trafficmanager')
import tmsync
open(sys.argv[1], 'wb').write(tmsync.head(0, instance=99, seq=5) + tmsync.varint(0) + tmsync.varint(0))
PY
check_eq "an unknown session: 409" 409 "$(post gw-external "$GH_TMP/unknown.bin")"
for f in "$B"/bad-*.bin; do
	n=$(basename "$f" .bin)
	check_eq "$n: 400" 400 "$(post gw-internal "$f")"
	check_match "$n: error body" '"code":400,"message":"Bad Request","description":' "$(cat "$GH_TMP/out")"
done
check_match "refusals are logged" 'sync_refused.*malformed throttle sync' "$(cat "$TM_LOG")"
check_match "refusals are counted" 'gatehouse_tm_sync_refused_total 1[0-9]' "$(curl -s "$TM_MGMT/metrics")"
check_eq "the traffic manager keeps serving" 200 "$(post gw-external "$B/valid.bin")"
check_eq "a publisher's certificate: 403" 403 "$(post publisher "$B/valid.bin")"
check_eq "a portal's certificate: 403" 403 "$(post portal "$B/valid.bin")"

gw_start gw-external "spool_dir = $GH_TMP/spool1" "snapshot_file = $GH_TMP/snap1.json" ||
	{ echo "0 passed, 1 failed"; exit 1; }
sleep 0.5
M=$(curl -s "$GWE_MGMT/metrics")
check_match "the gateway syncs" 'gatehouse_gw_tm_syncs_total [1-9]' "$M"
check_match "not in local share" 'gatehouse_gw_throttle_local_share 0' "$M"
check_match "sync lag under a second" 'gatehouse_gw_throttle_sync_lag_ms [0-9]{1,3}$' \
	"$(printf '%s\n' "$M" | grep '^gatehouse_gw_throttle_sync_lag_ms')"
check_match "the traffic manager sees two gateway processes" 'gatehouse_tm_gateways 2' "$(curl -s "$TM_MGMT/metrics")"
E1=$GWE_MGMT P1=$GWE_PID
cp "$KM_CONF" "$GH_TMP/km.conf.save"
sed -i 's/^trafficmanager_url = .*/trafficmanager_url = none/' "$KM_CONF"
gw_start gw-external "spool_dir = $GH_TMP/spool2" "snapshot_file = $GH_TMP/snap2.json" ||
	{ echo "0 passed, 1 failed"; exit 1; }
cp "$GH_TMP/km.conf.save" "$KM_CONF"
sleep 0.5
check_match "trafficmanager_url = none: no sync" 'gatehouse_gw_tm_syncs_total 0' "$(curl -s "$GWE_MGMT/metrics")"
check_match "... and no local share" 'gatehouse_gw_throttle_local_share 0' "$(curl -s "$GWE_MGMT/metrics")"
check_ok "a gateway stopping ends its session" km_kill "$P1"
sleep 0.2
check_match "the session ended at once" 'gatehouse_tm_gateways 1' "$(curl -s "$TM_MGMT/metrics")"
check_done
