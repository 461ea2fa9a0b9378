/*
 * Versioned schema migrations.  Each migration not yet recorded in
 * gh_schema_migrations runs, in version order, in its own transaction that
 * first takes pg_advisory_xact_lock(GH_PG_LOCK_MIGRATE) and then re-reads
 * what is applied, so two migrators started together apply every version
 * exactly once and the second finds nothing to do.  The migration table
 * itself is created under the same lock.
 */
#include <stdio.h>

#include "core/gh_log.h"
#include "pg/gh_pg.h"

struct one_migration {
	const struct gh_pg_migration *m;
	int applied;
};

static int
lock_and_prepare(struct gh_pg *db)
{
	char key[24];
	const char *params[1] = { gh_pg_i64(key, GH_PG_LOCK_MIGRATE) };

	if (gh_pg_cmd(db, "SELECT pg_advisory_xact_lock($1::bigint)", 1, params, NULL) != 0)
		return -1;
	return gh_pg_cmd(db, "CREATE TABLE IF NOT EXISTS gh_schema_migrations ("
	    "version integer PRIMARY KEY, name text NOT NULL, "
	    "applied_at timestamptz NOT NULL DEFAULT now())", 0, NULL, NULL);
}

static int
migrate_one_tx(struct gh_pg *db, void *arg)
{
	struct one_migration *om = arg;
	char vbuf[24];
	const char *params[2] = { gh_pg_i64(vbuf, om->m->version), om->m->name };
	int64_t seen;
	int rc;

	om->applied = 0;
	if (lock_and_prepare(db) != 0)
		return -1;
	rc = gh_pg_query_int64(db, "SELECT version FROM gh_schema_migrations "
	    "WHERE version = $1::int", 1, params, &seen);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return 0;	/* already there: commit the empty transaction */
	for (const char *const *s = om->m->stmts; *s != NULL; s++)
		if (gh_pg_cmd(db, *s, 0, NULL, NULL) != 0)
			return -1;
	if (gh_pg_cmd(db, "INSERT INTO gh_schema_migrations (version, name) "
	    "VALUES ($1::int, $2)", 2, params, NULL) != 0)
		return -1;
	om->applied = 1;
	return 0;
}

int
gh_pg_migrate(struct gh_pg *db, const struct gh_pg_migration *m, size_t n)
{
	int applied = 0;

	for (size_t i = 0; i < n; i++) {
		if (m[i].version <= 0 || m[i].stmts == NULL ||
		    (i > 0 && m[i].version <= m[i - 1].version)) {
			gh_pg_set_error(db, GH_PG_SQLSTATE_BAD_ARG,
			    "migration versions must be positive and increasing");
			return -1;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct one_migration om = { &m[i], 0 };

		if (gh_pg_run_tx(db, 0, migrate_one_tx, &om) != 0) {
			gh_log_error("pg_migrate", NULL, "migration %d (%s) failed: %s %s",
			    m[i].version, m[i].name, gh_pg_sqlstate(db), gh_pg_errmsg(db));
			return -1;
		}
		if (om.applied) {
			gh_log_info("pg_migrate", NULL, "applied migration %d (%s)",
			    m[i].version, m[i].name);
			applied++;
		}
	}
	return applied;
}

int
gh_pg_migrate_schema(struct gh_pg *db)
{
	return gh_pg_migrate(db, gh_schema, gh_schema_count);
}

int
gh_pg_schema_version(struct gh_pg *db, int64_t *out)
{
	int64_t exists = 0;

	if (gh_pg_query_int64(db, "SELECT (to_regclass('gh_schema_migrations') "
	    "IS NOT NULL)::int", 0, NULL, &exists) != 0)
		return -1;
	*out = 0;
	if (!exists)
		return 0;
	return gh_pg_query_int64(db, "SELECT coalesce(max(version), 0) "
	    "FROM gh_schema_migrations", 0, NULL, out) < 0 ? -1 : 0;
}
