#!/usr/bin/env bash
# Schema upgrades: a database left at version 4 by an older release, holding data (a tenant, a
# gateway environment, a feed event), is brought to this release's version by `gatehouse init`
# on the newer binaries: the missing migrations (5 and later) are applied in order, recorded, and
# nothing that was there is lost; a second init finds nothing to do.
. "$GH_ROOT/tests/lib/check.sh"
G=$GH_BIN/gatehouse
D=$GH_TMP
db=mig_$$
psql "$GH_TEST_PG" -qAt -c "CREATE DATABASE $db" >/dev/null
CI="host=127.0.0.1 port=$GH_TEST_PG_PORT user=postgres dbname=$db"
q() { psql "$CI" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }
base="ou=mig$$,$GH_TEST_LDAP_BASE"
printf 'dn: %s\nobjectClass: organizationalUnit\nou: mig%s\n' "$base" "$$" |
	ldapadd -x -H "$GH_TEST_LDAP_URI" -D "$GH_TEST_LDAP_ROOTDN" -w "$GH_TEST_LDAP_ROOTPW" >/dev/null

out=$("$GH_TESTBIN/test_node_migrate" "$CI" 4 2>&1)
check_match "the database is at version 4 (migrations 1..4 only)" "passed, 0 failed" "$out"
check_eq "version 4 recorded" "1,2,3,4" "$(q "SELECT string_agg(version::text, ',' ORDER BY version) FROM gh_schema_migrations")"
q "INSERT INTO gh_tenants (domain, name) VALUES ('acme.com', 'Acme')"
q "INSERT INTO gh_environments (name, display_name, type, vhosts) VALUES ('Staging', 'Staging', 'internal', '[{\"host\":\"staging.local\",\"httpsPort\":8244}]')"
q "INSERT INTO gh_events (tenant, type, payload, environments) VALUES ('acme.com', 'API_DEPLOYED', '{\"apiId\":\"old-1\"}', '{Staging}')"
before=$(q "SELECT (SELECT string_agg(domain, ',' ORDER BY domain) FROM gh_tenants) || ' ' ||
	(SELECT string_agg(name, ',' ORDER BY name) FROM gh_environments) || ' ' ||
	(SELECT string_agg(type || ':' || (payload->>'apiId'), ',') FROM gh_events)")
check_eq "the old data" "acme.com,carbon.super External,Internal,Staging API_DEPLOYED:old-1" "$before"
check_eq "no analytics tables yet" "f" "$(q "SELECT to_regclass('gh_analytics_minute') IS NOT NULL")"

cat >"$D/node.conf" <<CONF
[node]
name = mig1
role = all-in-one
data_dir = $D/data
[db]
host = 127.0.0.1
port = $GH_TEST_PG_PORT
name = $db
user = postgres
sslmode = disable
[ldap]
uri = $GH_TEST_LDAP_URI
base_dn = $base
bind_dn = $GH_TEST_LDAP_ROOTDN
bind_password = "$GH_TEST_LDAP_ROOTPW"
CONF
chmod 600 "$D/node.conf"
printf 'Mig-admin-1\n' >"$D/pw"
out=$("$G" init --first --config "$D/node.conf" --admin-password-file "$D/pw" 2>&1); rc=$?
echo "$out" | grep -v '^{'
check_eq "init on the newer version succeeds" 0 "$rc"
# the newest version this build knows: the last entry of appliance/pg/schema.c's table
LATEST=$(sed -n 's/^\t{ \([0-9]*\), ".*/\1/p' "$GH_ROOT/appliance/pg/schema.c" | tail -1)
check_match "init applies the $((LATEST - 4)) missing migrations" \
	"created +database schema \($((LATEST - 4)) migrations applied\)" "$out"
check_match "migration 5 is logged" "applied migration 5 \(analytics" "$out"
check_match "migration 6 is logged" "applied migration 6 \(web UIs" "$out"
check_eq "the schema is at version $LATEST, every step recorded" "$(seq -s, 1 "$LATEST")" \
	"$(q "SELECT string_agg(version::text, ',' ORDER BY version) FROM gh_schema_migrations")"
check_eq "the new tables exist" "t t" "$(q "SELECT to_regclass('gh_analytics_minute') IS NOT NULL, to_regclass('gh_web_sessions') IS NOT NULL" | tr '|' ' ')"
after=$(q "SELECT (SELECT string_agg(domain, ',' ORDER BY domain) FROM gh_tenants) || ' ' ||
	(SELECT string_agg(name, ',' ORDER BY name) FROM gh_environments) || ' ' ||
	(SELECT string_agg(type || ':' || (payload->>'apiId'), ',') FROM gh_events WHERE type = 'API_DEPLOYED')")
check_eq "nothing that was there is lost" "$before" "$after"
check_eq "the environment's details are intact" "staging.local" "$(q "SELECT vhosts->0->>'host' FROM gh_environments WHERE name = 'Staging'")"
out=$("$G" init --first --config "$D/node.conf" 2>&1)
check_match "a second init finds the schema up to date" "unchanged database schema \(up to date\)" "$out"
check_done
