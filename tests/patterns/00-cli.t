#!/usr/bin/env bash
# The node command: `gatehouse help` lists its subcommands; `check-config` accepts a valid
# file, and refuses a bad one with the file, the line and the fix, exiting non-zero.
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
check_done
