#!/usr/bin/env bash
# Secrets at rest: `gatehouse init` refuses a configuration file that holds keys.signing_kek or
# db.password and that other users may read, `gatehouse run` refuses that and a loose CA key or
# component key too, each time naming the file, what it holds and the chmod that fixes it,
# before anything starts.  node.run_as defaults to gatehouse (the user init makes).
. "$GH_ROOT/tests/lib/check.sh"
G=$GH_BIN/gatehouse
D=$GH_TMP

cat >"$D/a.conf" <<CONF
[node]
name = s1
data_dir = $D/data
[db]
password = "not-for-others"
CONF
chmod 644 "$D/a.conf"
out=$("$G" init --first --config "$D/a.conf" 2>&1); rc=$?
check_eq "init refuses a 0644 file holding db.password" 1 "$rc"
check_match "init says which file, what it holds and the fix" \
	"a.conf is mode 0644 but holds db.password.*chmod 600 .*a.conf" "$out"
check_eq "init created nothing" "" "$(ls "$D/data" 2>/dev/null)"

printf '[keys]\nsigning_kek = %s\n' "$(head -c 32 /dev/urandom | base64)" >"$D/k.conf"
chmod 640 "$D/k.conf"
out=$("$G" init --first --config "$D/k.conf" 2>&1); rc=$?
check_eq "init refuses a 0640 file holding keys.signing_kek" 1 "$rc"
check_match "names keys.signing_kek" "mode 0640 but holds keys.signing_kek" "$out"

# run: the configuration (any secret), the CA key, a component key
mkdir -p "$D/data/pki"
printf 'x\n' >"$D/data/pki/ca.key"; printf 'x\n' >"$D/data/pki/ca.crt"; printf 'x\n' >"$D/data/pki/portal.key"
chmod 600 "$D/data/pki/ca.key" "$D/data/pki/portal.key"
cat >"$D/r.conf" <<CONF
[node]
name = s1
data_dir = $D/data
log_dir = $D/log
[ldap]
bind_password = "directory secret"
CONF
chmod 604 "$D/r.conf"
out=$("$G" run --config "$D/r.conf" 2>&1); rc=$?
check_eq "run refuses a world-readable file holding ldap.bind_password" 1 "$rc"
check_match "run names the file and the fix" "r.conf is mode 0604 but holds ldap.bind_password.*chmod 600" "$out"
chmod 600 "$D/r.conf"
chmod 644 "$D/data/pki/ca.key"
out=$("$G" run --config "$D/r.conf" 2>&1); rc=$?
check_eq "run refuses a 0644 CA key" 1 "$rc"
check_match "run says it is the CA's private key" "ca.key is mode 0644 but holds the CA's private key.*chmod 600" "$out"
chmod 600 "$D/data/pki/ca.key"
chmod 660 "$D/data/pki/portal.key"
out=$("$G" run --config "$D/r.conf" 2>&1); rc=$?
check_eq "run refuses a 0660 component key" 1 "$rc"
check_match "run names the component key" "portal.key is mode 0660 but holds a private key" "$out"
check_eq "run started nothing" "" "$(ls "$D/log" 2>/dev/null; ls "$D/data/run" 2>/dev/null)"

check_match "node.run_as defaults to gatehouse" "node.run_as +text +default=gatehouse" "$("$G" check-config --list)"
check_done
