#!/bin/sh
# pg library against the private PostgreSQL: two fresh databases per run,
# one for everything and one where concurrent migrators start from nothing.
. "$GH_ROOT/appliance/embedded/pg.sh"
main=$(gh_pg_newdb "gh_pg_main_$$") || { echo "cannot create database"; echo "0 passed, 1 failed"; exit 1; }
mig=$(gh_pg_newdb "gh_pg_mig_$$") || { echo "cannot create database"; echo "0 passed, 1 failed"; exit 1; }
exec "$GH_TESTBIN/test_pg" "$main" "$mig"
