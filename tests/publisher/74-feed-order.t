#!/usr/bin/env bash
# The feed's ordering under 8 concurrent writers: each commits events as
# gh_outbox_append does (advisory lock first, insert, notify) with random sleeps inside
# its transaction, some events for Internal only, some for External only, some for all;
# one reader per environment long-polls with after=last.  Each reader must end having
# seen every id visible to its environment exactly once, in increasing order, none
# skipped, and `last` never going backwards.
. "$GH_ROOT/tests/lib/check.sh"
. "$GH_ROOT/tests/lib/cp.sh"
trap cp_stop EXIT
cp_start p74 || { echo "0 passed, 1 failed"; exit 1; }
LOCK=$((0x67685f6f7574626f))
WRITERS=8
PER=${GH_FEED_ORDER_EVENTS:-20}
E0=$(sql "SELECT coalesce(max(id), 0) FROM gh_events")

# reader ROLE ENV OUT: long-poll until the writers are done and the feed is drained
cat >"$GH_TMP/reader.py" <<'PY'
import json, os, ssl, sys, http.client
role, env, after, out, done = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
pki, ca, port = os.environ["KM_PKI"], os.environ["KM_CA"], int(os.environ["FEED_URL"].rsplit(":", 1)[1])
ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(f"{pki}/{role}.crt", f"{pki}/{role}.key")
conn = http.client.HTTPSConnection("localhost", port, context=ctx)
seen, lasts, polls = [], [], 0
while True:
    finished = os.path.exists(done)
    conn.request("GET", f"/internal/data/v1/events?environment={env}&after={after}&timeout={200 if finished else 2000}")
    r = conn.getresponse(); body = r.read(); polls += 1
    if r.status != 200:
        print("status", r.status, body); sys.exit(1)
    d = json.loads(body)
    seen += [e["id"] for e in d["events"] if e["type"] == "order.test"]
    lasts.append(d["last"]); after = d["last"]
    if finished and not d["events"]:
        break
json.dump({"seen": seen, "lasts": lasts, "polls": polls}, open(out, "w"))
PY
rm -f "$GH_TMP/done"
for env in Internal External; do
	role=gw-internal; [ $env = External ] && role=gw-external
	python3 "$GH_TMP/reader.py" $role $env "$E0" "$GH_TMP/$env.json" "$GH_TMP/done" >"$GH_TMP/$env.log" 2>&1 &
	eval "R_$env=\$!"
done
writer() {
	local w=$1 i envs
	for i in $(seq 1 "$PER"); do
		case $(( (w + i) % 3 )) in 0) envs=NULL ;; 1) envs="'{Internal}'" ;; 2) envs="'{External}'" ;; esac
		psql "$KM_DB" -qAtX -v ON_ERROR_STOP=1 >/dev/null <<SQL || echo "writer $w failed at $i"
BEGIN;
SELECT pg_sleep(random() * 0.005);
SELECT pg_advisory_xact_lock($LOCK);
WITH e AS (INSERT INTO gh_events (tenant, type, payload, environments)
  VALUES ('carbon.super', 'order.test', '{"w": $w, "i": $i}', $envs) RETURNING id)
SELECT pg_notify('gh_events', id::text) FROM e;
SELECT pg_sleep(random() * 0.01);
COMMIT;
SQL
	done
}
pids=""
for w in $(seq 1 $WRITERS); do writer "$w" >"$GH_TMP/writer$w.log" 2>&1 & pids="$pids $!"; done
wait $pids
touch "$GH_TMP/done"
wait "$R_Internal" "$R_External"
cat "$GH_TMP"/writer*.log "$GH_TMP"/*.log 2>/dev/null | head -5
check_eq "every writer committed" $((WRITERS * PER)) "$(sql "SELECT count(*) FROM gh_events WHERE type = 'order.test'")"
for env in Internal External; do
	want=$(sql "SELECT string_agg(id::text, ',' ORDER BY id) FROM gh_events WHERE type = 'order.test' AND (environments IS NULL OR '$env' = ANY (environments))")
	got=$(python3 -c 'import json,sys; print(",".join(map(str, json.load(open(sys.argv[1]))["seen"])))' "$GH_TMP/$env.json" 2>/dev/null)
	check_eq "$env's reader saw every visible id once, in order, none skipped" "$want" "$got"
	check_eq "$env's last never went backwards" ok "$(python3 -c '
import json,sys; l=json.load(open(sys.argv[1]))["lasts"]; print("ok" if all(a <= b for a, b in zip(l, l[1:])) else l)' "$GH_TMP/$env.json" 2>/dev/null)"
	echo "# $env: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["seen"]), "events in", d["polls"], "polls")' "$GH_TMP/$env.json" 2>/dev/null)"
done
check_done
