#!/usr/bin/env bash
# `gatehouse enrolment-token` on the first node: a one-use token straight into the database
# (how the first key-manager node of a fully distributed deployment joins, before any key
# manager can issue admin tokens).  The token enrols a gw-external node once; a gateway role
# needs an existing environment of its zone; a node without the CA key refuses to issue; bad
# arguments exit 2.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/cp.sh"
G=$GH_BIN/gatehouse
trap cp_stop EXIT
cp_start e56 || { echo "0 passed, 1 failed"; exit 1; }
out=$("$G" enrolment-token --role gateway-external --environment External --config "$KM_CONF" 2>&1); rc=$?
check_eq "a token for gateway-external on External" 0 "$rc"
TOK=$(printf '%s\n' "$out" | sed -n 's/^token  *//p')
check_match "it is printed once, self-describing" '^ghe1\.' "$TOK"
check_match "with the CA fingerprint" "ca fingerprint  sha256:$(openssl x509 -in "$KM_CA" -outform DER | sha256sum | cut -d' ' -f1)" "$out"
check_eq "only its hash is stored" "1|0" "$(sql "SELECT count(*) FILTER (WHERE hash = encode(sha256(convert_to('$TOK', 'UTF8')), 'hex')), count(*) FILTER (WHERE hash = '$TOK') FROM gh_enrolment_tokens")"
N=$GH_TMP/n56
mkdir -p "$N"
printf '[node]\nname = dmz56\ndata_dir = %s/data\nhostnames = localhost, 127.0.0.1\n[log]\nlevel = warn\n' "$N" >"$N/node.conf"
out=$("$G" init --enroll "$FEED_URL" --token "$TOK" --config "$N/node.conf" 2>&1); rc=$?
check_eq "the token enrols a gw-external node" 0 "$rc"; [ "$rc" = 0 ] || echo "$out"
check_match "its certificate names the role, environment and node" 'gatehouse://gw-external/External/dmz56' \
	"$(openssl x509 -in "$N/data/pki/gw-external.crt" -noout -ext subjectAltName 2>&1)"
printf '[node]\nname = dmz57\ndata_dir = %s/data2\n' "$N" >"$N/again.conf"
check_fail "the same token a second time is refused" "$G" init --enroll "$FEED_URL" --token "$TOK" --config "$N/again.conf"
out=$("$G" enrolment-token --role gateway-external --environment Internal --config "$KM_CONF" 2>&1); rc=$?
check_eq "an environment of the other zone is refused" "1" "$rc"
check_match "... saying so" 'no external gateway environment' "$out"
out=$("$G" enrolment-token --role keymanager --environment External --config "$KM_CONF" 2>&1); rc=$?
check_eq "an environment for a control-plane role: usage error" 2 "$rc"
check_eq "an unknown role: usage error" 2 "$("$G" enrolment-token --role bishop --config "$KM_CONF" >/dev/null 2>&1; echo $?)"
check_eq "a lifetime out of range: usage error" 2 \
	"$("$G" enrolment-token --role keymanager --expires-in 5 --config "$KM_CONF" >/dev/null 2>&1; echo $?)"
out=$("$G" enrolment-token --role keymanager --config "$N/node.conf" 2>&1); rc=$?
check_eq "a node without the CA key refuses" 1 "$rc"
check_match "... and says where tokens come from" 'holds no CA key' "$out"
check_done
