#!/usr/bin/env bash
# Publisher benchmark (tests/bench/run publisher; make bench-publisher): feed
# propagation, the time from a committed change to its event at a long-polling gateway.
# A private PostgreSQL and slapd as tests/run makes them (appliance/embedded), a node
# made by tests/lib/cp.sh's cp_start with the RELEASE binaries (build/bin): key
# manager, publisher (data feed on its port with mutual TLS) and portal.  Then
# build/bench/bench_feed commits GH_BENCH_FEED_CHANGES (1000) changes on its own
# PostgreSQL connection, each with its event in the same transaction as the outbox
# writes it (subscriptions, token revocations, deployments in turn) and long-polls the
# feed over one kept-alive TLS connection with gw-internal's certificate, timing
# commit-return to event-arrival on one clock (bench_feed.c).  A sample poll and a
# snapshot are checked first.  Prints bench: feed_p50_ms, feed_p99_ms and
# ratio: feed_p99_ms V target<=50.
set -u
cd "$(dirname "$0")/../.." || exit 2
export GH_ROOT=$PWD
export GH_BIN=${GH_BIN:-$GH_ROOT/build/bin}
export GH_BENCHBIN=${GH_BENCHBIN:-$GH_ROOT/build/bench}
CHANGES=${GH_BENCH_FEED_CHANGES:-1000}

TMP=$(mktemp -d /tmp/gh-bench-pub.XXXXXX) || exit 1
chmod 755 "$TMP"
export GH_TMP=$TMP/pub GH_RUN_DIR=$TMP
mkdir -p "$GH_TMP"

fail() {
	echo "error: $*" >&2
	exit 1
}

for tool in openssl curl psql ldapadd python3; do
	command -v "$tool" >/dev/null || fail "$tool is not installed (make deps)"
done
for prog in gatehouse gatehouse-keymanager gatehouse-publisher gatehouse-portal; do
	[ -x "$GH_BIN/$prog" ] || fail "$GH_BIN/$prog is missing: run 'make all' (make bench-publisher does)"
done
[ -x "$GH_BENCHBIN/bench_feed" ] || fail "$GH_BENCHBIN/bench_feed is missing: run 'make benches'"

. appliance/embedded/pg.sh
. appliance/embedded/slapd.sh
. tests/lib/cp.sh

cleanup() {
	cp_stop >/dev/null 2>&1
	gh_slapd_stop "$TMP/slapd" >/dev/null 2>&1
	gh_pg_stop "$TMP/pg" >/dev/null 2>&1
	[ -n "${GH_KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for try in 1 2 3; do gh_pg_start "$TMP/pg" && break; [ $try = 3 ] && fail "PostgreSQL did not start"; done
for try in 1 2 3; do gh_slapd_start "$TMP/slapd" && break; [ $try = 3 ] && fail "slapd did not start"; gh_slapd_stop "$TMP/slapd"; done

cp_start bench >"$TMP/cp-start.log" 2>&1 || { cat "$TMP/cp-start.log" >&2; fail "the control plane did not start (cp_start)"; }

# The feed answers gw-internal: a snapshot and an empty poll.
snap=$(feed_curl gw-internal -w '\n%{http_code}' "$FEED_URL/internal/data/v1/snapshot?environment=Internal")
[ "${snap##*$'\n'}" = 200 ] || fail "snapshot: ${snap}"
eid=$(printf '%s' "${snap%$'\n'*}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["eventId"])') || fail "snapshot without eventId"
poll=$(feed_curl gw-internal -w '\n%{http_code}' "$FEED_URL/internal/data/v1/events?environment=Internal&after=$eid&timeout=0")
[ "${poll##*$'\n'}" = 200 ] || fail "events: ${poll}"
echo "# snapshot at event $eid and an empty poll: 200"

"$GH_BENCHBIN/bench_feed" "$KM_DB" "$FEED_URL" "$KM_CA" "$KM_PKI/gw-internal.crt" "$KM_PKI/gw-internal.key" \
	Internal "$CHANGES" >"$TMP/bench.out" 2>"$TMP/bench.err" || { cat "$TMP/bench.out" "$TMP/bench.err" >&2; fail "bench_feed failed"; }
cat "$TMP/bench.out"
sent=$(curl -s "$PUB_MGMT_URL/metrics" | awk '$1 == "gatehouse_feed_events_sent_total" {print $2}')
echo "# the publisher sent $sent events"
[ "${sent:-0}" -ge "$CHANGES" ] || fail "the publisher counted $sent events sent, expected at least $CHANGES"
