#!/usr/bin/env bash
# docs/CONFIG.md, the reference page of every configuration key with its default, is what
# `gatehouse check-config --list --markdown` prints from the settings tables: a key added or
# changed without regenerating the page fails here.  Every key of `--list` is on the page.
. "$GH_ROOT/tests/lib/check.sh"
G=$GH_BIN/gatehouse
"$G" check-config --list --markdown >"$GH_TMP/CONFIG.md"
d=$(diff -u "$GH_ROOT/docs/CONFIG.md" "$GH_TMP/CONFIG.md" | head -40)
check_eq "docs/CONFIG.md is up to date (regenerate: gatehouse check-config --list --markdown > docs/CONFIG.md)" "" "$d"
missing=""
for k in $("$G" check-config --list | awk '{print $1}'); do
	grep -q "^| \`$k\` |" "$GH_ROOT/docs/CONFIG.md" || missing="$missing $k"
done
check_eq "every key is documented" "" "$missing"
check_match "a default is shown" '^\| `db.port` \| port \| `5432` \|' "$(cat "$GH_ROOT/docs/CONFIG.md")"
check_match "a secret is marked" '^\| `keys.signing_kek` \| text, secret \| \(none\) \|' "$(cat "$GH_ROOT/docs/CONFIG.md")"
check_done
