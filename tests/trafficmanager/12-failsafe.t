#!/usr/bin/env bash
# Fail-safe: three gw-external processes share Sixty6s (60 per 6 s), offered 20/s spread evenly.
# The traffic manager killed (SIGKILL): within 1 s every gateway reports local share in /metrics
# and logs it once, no request gets a 5xx, and each full window accepts the limit in total, each
# gateway its third (20); restarted: the metric is back to 0 on every gateway (logged once) and
# cluster counting holds the limit again.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/trafficmanager/tmsync.sh"
trap gw_teardown EXIT
tms_setup t12 || { echo "0 passed, 1 failed"; exit 1; }
for i in 0 1 2; do tms_gw_start $i || { echo "0 passed, 1 failed"; exit 1; }; done
for i in 0 1 2; do check_eq "gateway $i counts cluster-wide" 0 "$(tms_metric $i gatehouse_gw_throttle_local_share)"; done
sleep 6.5
O=$GH_TMP/load
tms_load "$O" 34 1 1 1 &
LP=$!
sleep 5
tm_kill
TK=$(date +%s%3N)
# every gateway in local share within 1 s
declare -a SEEN
while :; do
	for i in 0 1 2; do
		[ -z "${SEEN[$i]:-}" ] && [ "$(tms_metric $i gatehouse_gw_throttle_local_share)" = 1 ] &&
			SEEN[$i]=$(( $(date +%s%3N) - TK ))
	done
	[ -n "${SEEN[0]:-}" ] && [ -n "${SEEN[1]:-}" ] && [ -n "${SEEN[2]:-}" ] && break
	[ $(( $(date +%s%3N) - TK )) -gt 2000 ] && break
	sleep 0.02
done
for i in 0 1 2; do
	check_eq "gateway $i: local share within 1 s of the kill (${SEEN[$i]:-never} ms)" ok \
		"$([ -n "${SEEN[$i]:-}" ] && [ "${SEEN[$i]}" -le 1000 ] && echo ok)"
done
TK=$(tms_now_ms)
check_match "the sync lag grows" '^[0-9]{3,}$' "$(tms_metric 0 gatehouse_gw_throttle_sync_lag_ms)"
sleep $(( 14 - ( $(tms_now_ms) - TK ) / 1000 ))
tm_restart
TR=$(tms_now_ms)
for i in 0 1 2; do
	while [ "$(tms_metric $i gatehouse_gw_throttle_local_share)" != 0 ] && [ $(( $(tms_now_ms) - TR )) -lt 3000 ]; do
		sleep 0.05
	done
	check_eq "gateway $i: cluster counting resumes" 0 "$(tms_metric $i gatehouse_gw_throttle_local_share)"
done
wait "$LP"
check_eq "no 5xx, every request answered" "" "$(awk '$3 != 200 && $3 != 429' "$O" | head -3)"
check_eq "entering local share logged once per gateway" 3 "$(grep -c '"tm_unreachable"' "$GH_TMP/gw-external.log")"
check_eq "leaving it logged once per gateway" 3 "$(grep -c '"tm_reachable"' "$GH_TMP/gw-external.log")"
tms_check_windows "traffic manager down: the limit in total in every full window" "$O" $((TK + 1000)) "$TR"
SHARE=$(tms_windows "$O" | awk -v a=$((TK + 1000)) -v b="$TR" '$1 >= a && $1 + 6000 <= b {print $3, $4, $5}')
check_match "... each gateway its third (20 ±1)" '^(( |^)(19|20|21))+$' "$(echo $SHARE)"
tms_check_windows "restarted: cluster counting holds the limit" "$O" $((TR + 1000)) 0
check_done
