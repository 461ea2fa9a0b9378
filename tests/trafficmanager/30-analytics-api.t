#!/usr/bin/env bash
# The analytics REST API (publisher for API owners, portal for application owners) over a
# traffic mix of known shape (tests/lib/an_mix.py: 3 APIs x 2 applications x status classes
# x countries over 3 hours, plus a second tenant's traffic): exact counts per bucket for
# every granularity with empty buckets as zeros, percentiles in the bucket of the exact
# value, top-N order and limits, countries with unknown, the range's bounds, and tenant
# isolation on both sides.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/an.sh"
trap cp_stop EXIT
an_start an30 || { echo "0 passed, 1 failed"; exit 1; }
check_ok "the mix is loaded" an_load
check_eq "rows of the mix" 2738 "$(sql 'SELECT count(*) FROM gh_analytics_minute')"
R=$AN_RANGE
H3=$((AN_T0 + 3 * 3600000))
CS=pub:carbon.super

# ---- publisher, carbon.super's admin ----------------------------------------------------
an pub "$ADM" requests "$R&granularity=hour"
check_eq "requests by hour: 200" 200 "$CODE"
check_eq "requests by hour match the mix" ok "$(an_check $CS requests "$R&granularity=hour")"
check_eq "carbon.super's requests in 3 h (figure of the mix)" 79416 "$(an_j 'b["summary"]["requests"]')"
check_eq "three hourly buckets, by hour" "3 $AN_T0 2025-01-01T00:00:00.000Z hour" \
	"$(an_j '" ".join(str(x) for x in (b["count"], b["list"][0]["timestamp"], b["list"][0]["time"], b["granularity"]))')"
check_eq "each hour: requests, errors (4xx+5xx), throttled" \
	"$(an_total $CS requests "from=$AN_T0&to=$((AN_T0 + 3600000))") $(an_total $CS errors "from=$AN_T0&to=$((AN_T0 + 3600000))") $(an_total $CS throttled "from=$AN_T0&to=$((AN_T0 + 3600000))")" \
	"$(an_j '" ".join(str(b["list"][0][k]) for k in ("requests", "errors", "throttled"))')"

an pub "$ADM" requests "$R&granularity=minute"
check_eq "requests by minute match the mix" ok "$(an_check $CS requests "$R&granularity=minute")"
check_eq "180 minute buckets; 135 empty ones as zeros" "180 135" \
	"$(an_j '"%d %d" % (b["count"], sum(1 for p in b["list"] if p["requests"] == 0 and p["errors"] == 0 and p["throttled"] == 0))')"

an pub "$ADM" requests "from=2025-01-01T00:00:00Z&to=2025-01-01T03:00:00Z"
check_eq "RFC 3339 range, granularity chosen from the span (minute)" ok \
	"$(an_check $CS requests "from=2025-01-01T00:00:00Z&to=2025-01-01T03:00:00Z")"
an pub "$ADM" requests "from=2025-01-01T01:00:00%2B01:00&to=2025-01-01T05:00:00%2B02:00&granularity=hour"
check_eq "RFC 3339 with offsets: the same range" ok "$(an_check $CS requests "$R&granularity=hour")"
an pub "$ADM" requests "$R&granularity=day"
check_eq "by day: one bucket at midnight UTC" "1 $AN_T0 79416" \
	"$(an_j '"%d %d %d" % (b["count"], b["list"][0]["timestamp"], b["list"][0]["requests"])')"
an pub "$ADM" requests "from=$((AN_T0 - 60000))&to=$AN_T0&granularity=minute"
check_eq "a row just before the range is its own minute" "1000" "$(an_j 'b["summary"]["requests"]')"
an pub "$ADM" requests "from=$H3&to=$((H3 + 60000))"
check_eq "the row at 'to' belongs to the next range (to is exclusive)" "1000" "$(an_j 'b["summary"]["requests"]')"
an pub "$ADM" requests "from=$((AN_T0 + 30 * 60000))&to=$((AN_T0 + 90 * 60000))&granularity=hour"
check_eq "a range inside hours: rows filtered by minute, bucketed by hour" ok \
	"$(an_check $CS requests "from=$((AN_T0 + 30 * 60000))&to=$((AN_T0 + 90 * 60000))&granularity=hour")"

an pub "$ADM" errors "$R&granularity=hour"
check_eq "errors by hour, 4xx and 5xx, match the mix" ok "$(an_check $CS errors "$R&granularity=hour")"
check_eq "errors: byStatusClass names" "4xx,5xx" "$(an_j '",".join(c["statusClass"] for c in b["byStatusClass"])')"

an pub "$ADM" latency "$R&granularity=hour"
check_eq "latency by hour: p50/p95/p99 from the summed histograms, avg, max" ok \
	"$(an_check $CS latency "$R&granularity=hour")"
check_eq "overall: max is the one request in the open bucket (> 60 s)" 61000 "$(an_j 'b["summary"]["max"]')"
an pub "$ADM" latency "$R&granularity=hour&apiId=api-pizza"
check_eq "latency of the fast API (3..6 ms; failures 1.4..4.4 s)" ok \
	"$(an_check $CS latency "$R&granularity=hour&apiId=api-pizza")"
check_eq "its p50 is the bucket bound 5 ms, p99 the 5000 ms bucket" "5 5000" "$(an_j '"%d %d" % (b["summary"]["p50"], b["summary"]["p99"])')"
an pub "$ADM" latency "$R&granularity=minute&apiId=api-stocks"
check_eq "latency by minute of the slow API, empty minutes as zeros" ok \
	"$(an_check $CS latency "$R&granularity=minute&apiId=api-stocks")"

an pub "$ADM" top-apis "$R"
check_eq "top APIs: order and counts" ok "$(an_check $CS top-apis "$R")"
check_eq "top APIs: Weather, Pizza, Stocks" "api-weather,api-pizza,api-stocks" "$(an_j '",".join(a["apiId"] for a in b["list"])')"
an pub "$ADM" top-apis "$R&limit=2"
check_eq "top APIs, limit 2: two of three" "2 3 api-weather,api-pizza" \
	"$(an_j '"%d %d %s" % (b["count"], b["total"], ",".join(a["apiId"] for a in b["list"]))')"
an pub "$ADM" top-applications "$R"
check_eq "top applications: dev's, eve's and carol's (acme.com) calling Pizza" ok \
	"$(an_check $CS top-applications "$R")"
check_eq "top applications' order" "app-dev,app-eve,app-carol" "$(an_j '",".join(a["applicationId"] for a in b["list"])')"
an pub "$ADM" top-applications "$R&apiId=api-pizza&limit=1"
check_eq "top applications of one API, limit 1" ok "$(an_check $CS top-applications "$R&apiId=api-pizza&limit=1")"
an pub "$ADM" countries "$R"
check_eq "countries: US, DE, unknown ('' in the rollups), FR" ok "$(an_check $CS countries "$R")"
check_eq "countries' order" "US,DE,unknown,FR" "$(an_j '",".join(c["country"] for c in b["list"])')"
an pub "$ADM" countries "$R&applicationId=app-eve&limit=2"
check_eq "countries of one application, limit 2" ok "$(an_check $CS countries "$R&applicationId=app-eve&limit=2")"
an pub "$ADM" status "$R"
check_eq "by status class, 1xx..5xx" ok "$(an_check $CS status "$R")"
check_eq "status classes listed" "1xx,2xx,3xx,4xx,5xx" "$(an_j '",".join(c["statusClass"] for c in b["list"])')"
an pub "$ADM" requests "$R&granularity=hour&applicationId=app-dev"
check_eq "requests of one application" ok "$(an_check $CS requests "$R&granularity=hour&applicationId=app-dev")"
an pub "$ADM" requests "$R&granularity=hour&apiId=api-weather&applicationId=app-eve"
check_eq "requests of one API and one application" ok \
	"$(an_check $CS requests "$R&granularity=hour&apiId=api-weather&applicationId=app-eve")"

# ---- publisher, acme.com's admin: only acme.com's API ----------------------------------
an pub "$ACME" requests "$R&granularity=hour"
check_eq "acme.com's requests: its API only (carol's and dev's calls)" ok "$(an_check pub:acme.com requests "$R&granularity=hour")"
check_eq "acme.com's figure" "99" "$(an_j 'b["summary"]["requests"]')"
# carol's calls to Widgets, by hand: every 20 minutes 7 requests of 10, 17, 24, 31, 38, 45 and
# 52 ms and one failure of 1410 ms, 9 times: 72 requests; nearest rank 36 is 31 ms (bucket
# 31..50), ranks 69 and 72 are 1410 ms (bucket 1001..1500); avg 1627 / 8 = 203.375.
an pub "$ACME" latency "$R&apiId=api-widgets&applicationId=app-carol&granularity=hour"
check_eq "a known latency distribution: requests avg max p50 p95 p99" "72 203.38 1410 50 1500 1500" \
	"$(an_j '" ".join(str(b["summary"][k]) for k in ("requests", "avg", "max", "p50", "p95", "p99"))')"
an pub "$ACME" top-apis "$R"
check_eq "acme.com's top APIs: Widgets alone" "api-widgets" "$(an_j '",".join(a["apiId"] for a in b["list"])')"
an pub "$ACME" top-applications "$R"
check_eq "acme.com sees which applications call its API (carol's and dev's)" ok "$(an_check pub:acme.com top-applications "$R")"
an pub "$ACME" requests "$R&apiId=api-pizza&granularity=hour"
check_eq "acme.com asking for carbon.super's API: 200, nothing (no existence leak)" "200 0 3" \
	"$CODE $(an_j '"%d %d" % (b["summary"]["requests"], b["count"])')"
an pub "$ACME" countries "$R&apiId=api-pizza"
check_eq "nor its countries" "0" "$(an_j 'b["count"]')"
an pub "$ADM" requests "$R&apiId=api-widgets&granularity=hour"
check_eq "carbon.super asking for acme.com's API: nothing" "0" "$(an_j 'b["summary"]["requests"]')"

# ---- portal: application owners see their own applications' traffic --------------------
an dev "$DEV" requests "$R&granularity=hour"
check_eq "dev (portal): his application's requests, to every tenant's APIs" ok \
	"$(an_check dev:dev:carbon.super requests "$R&granularity=hour")"
an dev "$DEV" top-applications "$R"
check_eq "dev's top applications: his own only" "app-dev" "$(an_j '",".join(a["applicationId"] for a in b["list"])')"
an dev "$DEV" top-apis "$R"
check_eq "dev's top APIs include acme.com's Widgets" ok "$(an_check dev:dev:carbon.super top-apis "$R")"
an dev "$DEV" latency "$R&granularity=hour"
check_eq "dev's latency" ok "$(an_check dev:dev:carbon.super latency "$R&granularity=hour")"
an dev "$DEV" errors "$R&granularity=minute"
check_eq "dev's errors by minute" ok "$(an_check dev:dev:carbon.super errors "$R&granularity=minute")"
an dev "$DEV" countries "$R"
check_eq "dev's countries" ok "$(an_check dev:dev:carbon.super countries "$R")"
an dev "$DEV" status "$R"
check_eq "dev's status classes" ok "$(an_check dev:dev:carbon.super status "$R")"
an dev "$EVE" requests "$R&granularity=hour"
check_eq "eve: her application only" ok "$(an_check dev:eve:carbon.super requests "$R&granularity=hour")"
an dev "$DEV" requests "$R&applicationId=app-eve&granularity=hour"
check_eq "dev filtering on eve's application: 200 and nothing" "200 0" "$CODE $(an_j 'b["summary"]["requests"]')"
an dev "$CAROL" top-apis "$R"
check_eq "carol@acme.com: her application's calls, to acme.com's and carbon.super's APIs" ok \
	"$(an_check dev:carol@acme.com:acme.com top-apis "$R")"
check_eq "carol's top APIs" "api-widgets,api-pizza" "$(an_j '",".join(a["apiId"] for a in b["list"])')"
an dev "$CAROL" top-applications "$R&applicationId=app-dev"
check_eq "carol filtering on dev's application: nothing" "0" "$(an_j 'b["count"]')"
an dev "$ADM" requests "$R"
check_eq "carbon.super's admin owns no application: zeros" "200 0" "$CODE $(an_j 'b["summary"]["requests"]')"
an dev "$ACME" requests "$R"
check_eq "acme.com's admin on the portal: nothing of carol's" "0" "$(an_j 'b["summary"]["requests"]')"

# ---- defaults: the last hour, by minute ------------------------------------------------
an pub "$ADM" requests
check_eq "no parameters: the last hour by minute (60 or 61 buckets), nothing in it" "minute 3600000 0" \
	"$(an_j '"%s %d %d" % (b["granularity"], b["to"] - b["from"], b["summary"]["requests"])')"
check_match "... 60 or 61 buckets" '^6[01]$' "$(an_j 'b["count"]')"
check_done
