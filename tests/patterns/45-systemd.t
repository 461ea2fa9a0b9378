#!/usr/bin/env bash
# The systemd units: for every role, gatehouse.service with that role's drop-in passes
# `systemd-analyze verify` without a warning, and the unit has what DESIGN.md and issue 8 ask:
# Type=notify running `gatehouse run`, Restart=on-failure, reload by SIGHUP, KillMode=mixed
# (the ordered drain is gatehouse run's), NoNewPrivileges, ProtectSystem=strict with the data
# folder writable, PrivateTmp, a capability bounding set.
. "$GH_ROOT/tests/lib/check.sh"
S=$GH_ROOT/appliance/systemd
U=$S/gatehouse.service
for k in 'Type=notify' 'ExecStart=/usr/bin/gatehouse run --config /etc/gatehouse/gatehouse.conf' \
	'Restart=on-failure' 'ExecReload=/bin/kill -HUP $MAINPID' 'KillMode=mixed' 'NoNewPrivileges=yes' \
	'ProtectSystem=strict' 'ReadWritePaths=/var/lib/gatehouse' 'PrivateTmp=yes' 'NotifyAccess=main'; do
	check_eq "gatehouse.service has $k" 1 "$(grep -cxF -- "$k" "$U")"
done
check_match "a capability bounding set without CAP_SYS_ADMIN" '^CapabilityBoundingSet=CAP_SETUID CAP_SETGID' "$(grep -v SYS_ADMIN "$U")"
roles="all-in-one control-plane publisher portal keymanager trafficmanager gateway-internal gateway-external"
for r in $roles; do
	check_ok "a drop-in for role $r" test -s "$S/roles/$r.conf"
	T=$GH_TMP/$r
	mkdir -p "$T"
	sed "s|/usr/bin/gatehouse|$GH_BIN/gatehouse|g" "$U" >"$T/gatehouse.service"
	cat "$S/roles/$r.conf" >>"$T/gatehouse.service"
	if command -v systemd-analyze >/dev/null; then
		out=$(cd "$T" && systemd-analyze verify --man=no ./gatehouse.service 2>&1); rc=$?
		check_eq "systemd-analyze verify: $r (exit status and warnings)" "0 " "$rc $out"
	fi
done
check_match "gateway-external's sandbox is the tightest" "MemoryDenyWriteExecute=yes" "$(cat "$S/roles/gateway-external.conf")"
check_done
