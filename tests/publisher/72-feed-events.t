#!/usr/bin/env bash
# The data feed's events long-poll: events visible to each environment in id order,
# `last` past the ones skipped, `after=N` gets exactly the rest; a poll with nothing new
# waits (on the loop) and answers within 100 ms of a commit, or empty at its timeout;
# 410 behind the retention mark (set by hand, and by the real pruning of events older
# than feed.retention) and when the id is ahead of the feed; bad queries 400, another
# environment 403; a client that goes away; SIGTERM answers waiting polls at once.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/cp.sh"
trap cp_stop EXIT
cp_start p72 || { echo "0 passed, 1 failed"; exit 1; }
F=$FEED_URL/internal/data/v1
LOCK=$((0x67685f6f7574626f))
# ev TYPE ENVS_SQL: one event committed as gh_outbox_append does (ENVS_SQL: NULL or '{..}')
ev() { sql "BEGIN; SELECT pg_advisory_xact_lock($LOCK); WITH e AS (INSERT INTO gh_events (tenant, type, payload, environments) VALUES ('carbon.super', '$1', '{\"n\": 1}', $2) RETURNING id) SELECT pg_notify('gh_events', id::text) FROM e; COMMIT" >/dev/null; }
poll() { feed_curl "$1" "$F/events?environment=$2&after=$3${4:+&$4}"; }
types() { printf '%s' "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join(e["type"] for e in d["events"]), d["last"])'; }
pcode() { feed_curl "$1" -o /dev/null -w '%{http_code}' "$F/events?environment=$2&after=$3${4:+&$4}"; }

E0=$(sql "SELECT coalesce(max(id), 0) FROM gh_events")
ev e.all NULL; ev e.int "'{Internal}'"; ev e.ext "'{External}'"; ev e.both "'{Internal,External}'"; ev e.none "'{}'"; ev e.all2 NULL; ev e.int2 "'{Internal}'"
EMAX=$(sql "SELECT max(id) FROM gh_events")
check_eq "Internal sees its events in order, last is the highest examined" "e.all e.int e.both e.all2 e.int2 $EMAX" "$(types "$(poll gw-internal Internal "$E0" timeout=0)")"
check_eq "External sees its own" "e.all e.ext e.both e.all2 $EMAX" "$(types "$(poll gw-external External "$E0" timeout=0)")"
OUT=$(poll gw-internal Internal "$E0" timeout=0)
check_eq "an event's shape" "e.all carbon.super {\"n\": 1} $((E0 + 1))" "$(jget "$OUT" events.0.type) $(jget "$OUT" events.0.tenant) $(jget "$OUT" events.0.payload) $(jget "$OUT" events.0.id)"
check_match "createdAt in milliseconds" '^1[0-9]{12}$' "$(jget "$OUT" events.0.createdAt)"
check_eq "after=N gets exactly the rest" "e.both e.all2 e.int2 $EMAX" "$(types "$(poll gw-internal Internal $((E0 + 3)) timeout=0)")"
check_eq "limit=2 stops after two visible events" "e.all e.int $((E0 + 2))" "$(types "$(poll gw-internal Internal "$E0" "timeout=0&limit=2")")"
check_eq "only invisible events after N: empty, last moves past them" " $EMAX" "$(types "$(poll gw-external External $((E0 + 6)) timeout=0)")"

# waiting
T0=$(date +%s%N)
OUT=$(poll gw-internal Internal "$EMAX" timeout=700)
T1=$(date +%s%N)
check_eq "nothing new: empty at the timeout" " $EMAX" "$(types "$OUT")"
check_eq "after waiting about 700 ms" 1 "$(( (T1 - T0) / 1000000 >= 650 && (T1 - T0) / 1000000 < 2000 ))"
best=999999
for try in 1 2 3; do
	last=$(sql "SELECT max(id) FROM gh_events")
	( poll gw-internal Internal "$last" timeout=5000 >"$GH_TMP/wait.out"; date +%s%N >"$GH_TMP/wait.t" ) &
	WP=$!
	sleep 0.4
	ev e.wake NULL
	TC=$(date +%s%N)
	wait $WP
	ms=$(( ($(cat "$GH_TMP/wait.t") - TC) / 1000000 ))
	echo "# wake-up $try: ${ms} ms after the commit returned"
	[ "$ms" -lt "$best" ] && best=$ms
	[ "$ms" -lt 100 ] && break
done
check_eq "a waiting poll returns within 100 ms of a commit (best ${best} ms)" 1 "$(( best < 100 ))"
check_eq "with the new event" "e.wake" "$(jget "$(cat "$GH_TMP/wait.out")" events.0.type)"
last=$(sql "SELECT max(id) FROM gh_events")
( poll gw-external External "$last" timeout=3000 >"$GH_TMP/w2.out" ) &
WP=$!
sleep 0.3
ev e.int.only "'{Internal}'"
sleep 0.3
ev e.ext.only "'{External}'"
wait $WP
check_eq "a waiting External poll skips an Internal-only event and gets its own" "e.ext.only $((last + 2))" "$(types "$(cat "$GH_TMP/w2.out")")"

# bad requests
check_eq "another environment: 403" 403 "$(pcode gw-internal External 0 timeout=0)"
for q in "environment=Internal" "environment=Internal&after=abc" "environment=Internal&after=-1" "after=1" \
	"environment=Internal&after=1&timeout=x" "environment=Internal&after=1&limit=0" "environment=Internal&after=1%27%3B--" \
	"environment=Internal&after=1&after=2"; do
	check_eq "bad events query answers 400: $q" 400 "$(code feed_curl gw-internal "$F/events?$q")"
done
NOW=$(sql "SELECT max(id) FROM gh_events")
check_eq "an id ahead of the feed: 410" 410 "$(pcode gw-internal Internal $((NOW + 1000)) timeout=0)"

# retention mark
sql "INSERT INTO gh_settings_kv (name, value) VALUES ('outbox.pruned_through', '$((E0 + 2))') ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value" >/dev/null
check_eq "behind the retention mark: 410" 410 "$(pcode gw-internal Internal $((E0 + 1)) timeout=0)"
check_match "with a JSON error" '"code":410' "$(poll gw-internal Internal $((E0 + 1)) timeout=0)"
check_eq "at the mark: 200" 200 "$(pcode gw-internal Internal $((E0 + 2)) timeout=0)"
check_match "410s are counted" 'gatehouse_feed_gone_total [2-9]' "$(curl -s "$PUB_MGMT_URL/metrics")"
check_match "polls and events are counted" 'gatehouse_feed_events_sent_total [1-9]' "$(curl -s "$PUB_MGMT_URL/metrics")"

# real pruning: events older than the retention (7 days) go at start-up, the mark rises
sql "UPDATE gh_events SET created_at = now() - interval '8 days' WHERE id <= $((E0 + 4))" >/dev/null
cp_restart_publisher
for _ in $(seq 1 40); do [ "$(sql "SELECT count(*) FROM gh_events WHERE id <= $((E0 + 4))")" = 0 ] && break; sleep 0.1; done
check_eq "the publisher pruned the old events" 0 "$(sql "SELECT count(*) FROM gh_events WHERE id <= $((E0 + 4))")"
check_eq "and raised the mark" $((E0 + 4)) "$(sql "SELECT value FROM gh_settings_kv WHERE name = 'outbox.pruned_through'")"
check_eq "a gateway at E0+3 must take a snapshot" 410 "$(pcode gw-internal Internal $((E0 + 3)) timeout=0)"
check_eq "one at E0+4 reads on" "e.all2" "$(jget "$(poll gw-internal Internal $((E0 + 4)) timeout=0)" events.0.type)"

# a client that goes away, then events and polls go on
last=$(sql "SELECT max(id) FROM gh_events")
for i in 1 2 3; do feed_curl gw-internal --max-time 0.2 "$F/events?environment=Internal&after=$last&timeout=5000" >/dev/null; done
ev e.after.abort NULL
check_eq "after clients went away the feed still answers" "e.after.abort" "$(jget "$(poll gw-internal Internal "$last" timeout=1000)" events.0.type)"

# shutdown answers waiting polls
last=$(sql "SELECT max(id) FROM gh_events")
( poll gw-internal Internal "$last" timeout=20000 >"$GH_TMP/w3.out" ) &
WP=$!
sleep 0.3
T0=$(date +%s%N)
check_ok "SIGTERM with a poll waiting: exit status 0" km_kill "$PUB_PID"
wait $WP
check_eq "the waiting poll was answered empty" " $last" "$(types "$(cat "$GH_TMP/w3.out")")"
check_eq "and shutdown took under 2 s" 1 "$(( ($(date +%s%N) - T0) / 1000000 < 2000 ))"
check_done
