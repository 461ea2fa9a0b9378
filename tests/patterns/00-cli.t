#!/usr/bin/env bash
# The node command: `gatehouse help` lists its subcommands; `check-config` accepts a valid
# file, and refuses a bad one with the file, the line and the fix, exiting non-zero; `init`
# checks the whole file before it makes anything.
. "$GH_ROOT/tests/lib/check.sh"
G=$GH_BIN/gatehouse
check_match "gatehouse help lists init and check-config" 'init.*check-config' "$("$G" help | tr '\n' ' ')"
printf '[node]\nname = n1\nrole = all-in-one\n[gw-external]\nhttps_port = 8443\n' >"$GH_TMP/ok.conf"
check_match "a valid file" 'valid' "$("$G" check-config "$GH_TMP/ok.conf" 2>&1)"
printf '[node]\nrole = bishop\n[gw-external]\nhttps_port = 99999\n' >"$GH_TMP/bad.conf"
out=$("$G" check-config "$GH_TMP/bad.conf" 2>&1); rc=$?
check_eq "a bad file exits 1" 1 "$rc"
check_match "the bad role is named with its line" 'bad.conf:2' "$out"
check_match "the bad port is named" 'https_port' "$out"
check_fail "an unknown command fails" "$G" frobnicate
# init checks the whole file before it makes anything (a mistake in a gateway's section here)
printf '[node]\nname = n1\ndata_dir = %s/d\n[gw-external]\nhttps_port = 99999\n' "$GH_TMP" >"$GH_TMP/bad2.conf"
chmod 600 "$GH_TMP/bad2.conf"
out=$("$G" init --first --config "$GH_TMP/bad2.conf" 2>&1); rc=$?
check_eq "init --first on a file with a mistake exits 1" 1 "$rc"
check_match "... naming it" 'https_port' "$out"
check_fail "... having made nothing" test -e "$GH_TMP/d"
check_done
