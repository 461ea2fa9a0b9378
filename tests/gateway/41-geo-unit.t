#!/bin/sh
# GeoIP lookups and reloads against a database made here (tests/gateway/geo-db.pl).
d=$(mktemp -d /tmp/gh-test.geo.XXXXXX) || exit 1
trap 'rm -rf "$d"' EXIT
perl "$GH_ROOT/tests/gateway/geo-db.pl" "$d/geo.mmdb" || { echo "0 passed, 1 failed"; exit 1; }
"$GH_TESTBIN/test_gw_geo" "$d/geo.mmdb"
