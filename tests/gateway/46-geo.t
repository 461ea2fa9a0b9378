#!/usr/bin/env bash
# GeoIP on gw-external with a country database the test writes (tests/gateway/geo-db.pl,
# MaxMind::DB::Writer): an API in allow mode (FR) lets France in and refuses Germany and
# addresses the database does not know (403, 900806); an API in deny mode (DE) refuses
# Germany only; the client address comes from X-Forwarded-For only because the peer is a
# configured load balancer (an untrusted peer's header is ignored); SIGHUP reloads a
# replaced database; the country lands in the analytics events.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/gw.sh"
. "$GH_ROOT/tests/gateway/gwp.sh"
trap gw_teardown EXIT
gw_setup g46 || { echo "0 passed, 1 failed"; exit 1; }
DB=$GH_TMP/geo.mmdb
perl "$GH_ROOT/tests/gateway/geo-db.pl" "$DB"
check_ok "a test GeoIP database" test -s "$DB"
EC="{\"endpoint_type\":\"http\",\"production_endpoints\":{\"url\":\"$BE_PROD_URL\"},\"sandbox_endpoints\":{\"url\":\"$BE_SAND_URL\"}}"
A1=$(gwp_api GeoAllow /geoa 1.0 External "$EC" '"geoRestriction":{"mode":"allow","countries":["FR"]}')
check_match "an API allowing FR" '^[0-9a-f-]{36}$' "$A1"
A2=$(gwp_api GeoDeny /geod 1.0 External "$EC" '"geoRestriction":{"mode":"deny","countries":["DE"]}')
check_match "an API denying DE" '^[0-9a-f-]{36}$' "$A2"
gw_app GeoApp "$A1" Gold || echo "FAIL: application"
T1=$TOKEN
gw_app GeoApp2 "$A2" Gold || echo "FAIL: application 2"
T2=$TOKEN
gw_start gw-external "geoip_db = $DB" "trusted_proxies = 127.0.0.2" || { echo "0 passed, 1 failed"; exit 1; }
st() {	# TOKEN PATH XFF [curl args]: status through the trusted load balancer
	local t=$1 p=$2 x=$3; shift 3
	gwe -o /dev/null -w '%{http_code}' --interface 127.0.0.2 -H "Authorization: Bearer $t" -H "X-Forwarded-For: $x" -H "X-Request-ID: geo-$x-${p//\//_}" "$@" "$GWE_URL$p"
}
check_eq "allow FR: from France" 200 "$(st "$T1" /geoa/1.0/x 192.0.2.5)"
check_eq "allow FR: from Germany" 403 "$(st "$T1" /geoa/1.0/x 198.51.100.5)"
check_eq "allow FR: from an unknown address" 403 "$(st "$T1" /geoa/1.0/x 203.0.113.5)"
check_eq "allow FR: from IPv6 Japan" 403 "$(st "$T1" /geoa/1.0/x 2001:db8::5)"
check_match "the refusal" '"code":900806' "$(gwe --interface 127.0.0.2 -H "Authorization: Bearer $T1" -H 'X-Forwarded-For: 198.51.100.5' "$GWE_URL/geoa/1.0/x")"
check_eq "deny DE: from Germany" 403 "$(st "$T2" /geod/1.0/x 198.51.100.5)"
check_eq "deny DE: from France" 200 "$(st "$T2" /geod/1.0/x 192.0.2.5)"
check_eq "deny DE: from an unknown address" 200 "$(st "$T2" /geod/1.0/x 203.0.113.5)"
check_eq "an untrusted peer's X-Forwarded-For is ignored (127.0.0.1 is NZ)" 403 \
	"$(gwe -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $T1" -H 'X-Forwarded-For: 192.0.2.5' "$GWE_URL/geoa/1.0/x")"
perl "$GH_ROOT/tests/gateway/geo-db.pl" "$DB.new" alt && mv "$DB.new" "$DB"
kill -HUP "$GWE_PID"
check_eq "after SIGHUP the new database (192.0.2.0/24 now BE) is used" 403 \
	"$(gw_wait_code 403 3000 --interface 127.0.0.2 -H "Authorization: Bearer $T1" -H 'X-Forwarded-For: 192.0.2.5' "$GWE_URL/geoa/1.0/y")"
check_ok "the gateway is still up" kill -0 "$GWE_PID"
check_ok "gw-external stops" gw_stop gw-external
SPOOL=$(gwp_spool gw-external)
check_eq "the country in the analytics events" "FR DE" \
	"$(jget "$(grep -h '"correlationId":"geo-192.0.2.5-_geoa_1.0_x"' $SPOOL | head -1)" country) $(jget "$(grep -h '"correlationId":"geo-198.51.100.5-_geod_1.0_x"' $SPOOL | head -1)" country)"
check_done
