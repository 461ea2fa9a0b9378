#!/usr/bin/env bash
# Cluster-wide accuracy: three gw-external processes on loopback share one subscription limited
# to 60 requests per 6 s (Sixty6s, standing for 600/min).  Offered at twice the limit (20/s, each
# request at its scheduled time) spread 70/20/10 across them for 32 s, every full 6-s window (the
# traffic manager's alignment) accepts 60 ±3; again while the 20% gateway is restarted (SIGTERM,
# started again) in the middle.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/trafficmanager/tmsync.sh"
trap gw_teardown EXIT
tms_setup t11 || { echo "0 passed, 1 failed"; exit 1; }
for i in 0 1 2; do tms_gw_start $i || { echo "0 passed, 1 failed"; exit 1; }; done
for _ in $(seq 1 40); do
	NG=$(curl -s "$TM_MGMT/metrics" | sed -n 's/^gatehouse_tm_gateways //p')
	[ "$NG" = 3 ] && break
	sleep 0.05
done
check_eq "the traffic manager sees three gateway processes" 3 "$NG"
sleep 6.5      # the warm-up requests leave the window

O1=$GH_TMP/load1
tms_load "$O1" ${TMS_SECS:-32} 7 2 1
check_eq "every request answered 200 or 429" "" "$(awk '$3 != 200 && $3 != 429' "$O1" | head -3)"
check_eq "offered 640, spread 70/20/10" "448 128 64" \
	"$(awk '{n[$2]++} END {print n[0], n[1], n[2]}' "$O1")"
tms_check_windows "70/20/10 at twice the limit: 60 ±3 in every full window" "$O1" 0 0
# (in one window the 10% gateway may find the limit already full: counted over the whole run)
check_eq "every gateway admits part of the traffic" yes \
	"$(awk '$3 == 200 {n[$2]++} END {print (n[0] > 0 && n[1] > 0 && n[2] > 0) ? "yes" : n[0] " " n[1] " " n[2]}' "$O1")"

O2=$GH_TMP/load2
tms_load "$O2" ${TMS_SECS:-32} 7 2 1 &
LP=$!
sleep 14
T0=$(tms_now_ms)
check_ok "the 20% gateway restarts in the middle" tms_gw_restart 1
T1=$(tms_now_ms)
wait "$LP"
echo "restart from $T0 to $T1 ms"
check_eq "no 5xx" "" "$(awk '$3 >= 500' "$O2" | head -3)"
tms_check_windows "with one gateway restarted: 60 ±3 in every full window" "$O2" 0 0
check_done
