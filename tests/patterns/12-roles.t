#!/usr/bin/env bash
# Which processes each role runs (the plan gatehouse run follows, as gatehouse status --json
# lists it for a node that is not running; status then exits 1): all-in-one with its embedded
# servers, control-plane, the four single roles, both gateway roles; node.without leaves a
# process out; embedded servers are refused on a gateway node; the appliance's status file
# (DATA/appliance-status, image/) is shown first, and its error makes status exit 1.
. "$GH_ROOT/tests/lib/check.sh"
G=$GH_BIN/gatehouse
plan() {
	printf '[node]\nrole = %s\ndata_dir = %s/data\n%s\n' "$1" "$GH_TMP" "${2:-}" >"$GH_TMP/p.conf"
	chmod 600 "$GH_TMP/p.conf"
	"$G" status --json --config "$GH_TMP/p.conf" 2>&1 | /usr/bin/python3 -c '
import json, sys
try:
    j = json.load(sys.stdin)
    print(" ".join(p["name"] for p in j["processes"]), j["healthy"])
except Exception as e:
    print("not json")'
}
emb=$'embedded_db = on\nembedded_ldap = on\n[db]\npassword = "x"\n[ldap]\nbind_password = "y"\nuri = ldap://127.0.0.1:1389'
check_eq "all-in-one, embedded" "postgresql slapd keymanager publisher portal trafficmanager gw-internal gw-external False" "$(plan all-in-one "$emb")"
check_eq "all-in-one on external servers" "keymanager publisher portal trafficmanager gw-internal gw-external False" "$(plan all-in-one)"
check_eq "control-plane" "keymanager publisher portal trafficmanager False" "$(plan control-plane)"
for r in publisher portal keymanager trafficmanager; do
	check_eq "role $r" "$r False" "$(plan $r)"
done
check_eq "gateway-internal" "gw-internal False" "$(plan gateway-internal)"
check_eq "gateway-external" "gw-external False" "$(plan gateway-external)"
check_eq "node.without" "keymanager publisher portal gw-internal gw-external False" "$(plan all-in-one 'without = trafficmanager')"
"$G" status --config "$GH_TMP/p.conf" >/dev/null 2>&1; rc=$?
check_eq "status exits 1 for a node that is not running" 1 "$rc"
printf '[node]\nrole = gateway-external\ndata_dir = %s/data\nembedded_db = on\n' "$GH_TMP" >"$GH_TMP/g.conf"
out=$("$G" status --config "$GH_TMP/g.conf" 2>&1)
check_match "embedded servers are refused on a gateway node" "node.embedded_db and node.embedded_ldap are for all-in-one and control-plane nodes" "$out"
printf '[node]\nrole = all-in-one\ndata_dir = %s/data\nembedded_ldap = on\nrun_as = nobody\n[ldap]\nbind_password = "y"\n' "$GH_TMP" >"$GH_TMP/l.conf"
chmod 600 "$GH_TMP/l.conf"
check_match "an embedded slapd on a port below 1024 is refused (it runs as node.run_as)" \
	"slapd runs as user nobody, which cannot bind port 389 \(below 1024\): give ldap.uri a port from 1024 up" \
	"$("$G" status --config "$GH_TMP/l.conf" 2>&1)"

# the appliance's status file
mkdir -p "$GH_TMP/data"
printf 'state=error\nrole=gateway-external\nmessage=configuration error (1), fix it and boot again: config-drive:gatehouse.conf:3: bad\ntime=2026-11-26T10:00:00Z\n' \
	>"$GH_TMP/data/appliance-status"
printf '[node]\nrole = gateway-external\ndata_dir = %s/data\n' "$GH_TMP" >"$GH_TMP/a.conf"
chmod 600 "$GH_TMP/a.conf"
out=$("$G" status --config "$GH_TMP/a.conf" 2>&1); rc=$?
check_match "status shows the appliance's error first" \
	'^appliance: error, role gateway-external \(2026-11-26T10:00:00Z\): configuration error \(1\), fix it and boot again: config-drive:gatehouse.conf:3: bad' "$out"
check_match "... and says so last" 'the appliance reports an error$' "$out"
check_eq "... exit status 1" 1 "$rc"
check_eq "status --json carries it" "error config-drive:gatehouse.conf:3: bad False" "$("$G" status --json --config "$GH_TMP/a.conf" 2>/dev/null |
	/usr/bin/python3 -c 'import json,sys; j=json.load(sys.stdin); a=j["appliance"]; print(a["state"], a["message"].split(": ",1)[1], j["healthy"])')"
printf 'state=ok\nrole=gateway-external\nmessage=gateway-external node initialised\ntime=2026-11-26T10:00:00Z\n' >"$GH_TMP/data/appliance-status"
check_match "an ok appliance state is shown" '^appliance: ok, role gateway-external .*: gateway-external node initialised' \
	"$("$G" status --config "$GH_TMP/a.conf" 2>&1)"
check_done
