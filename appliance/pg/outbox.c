/*
 * The transactional outbox: gh_events rows written in the same transaction
 * as the change they announce.  Appending takes one advisory lock first so
 * that event ids commit in increasing order (DESIGN.md "Data flow"), then
 * inserts and notifies channel gh_events with the new id.  Reading returns
 * events after an id in id order; pruning enforces the feed's retention and
 * records how far it went so the feed can answer 410 Gone.  Returned event
 * arrays belong to the caller.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "pg/gh_pg.h"

#define PRUNED_KEY	"outbox.pruned_through"

static atomic_int outbox_skip_lock;

void
gh_outbox_testing_skip_lock(int skip)
{
	atomic_store(&outbox_skip_lock, skip ? 1 : 0);
}

int
gh_outbox_append(struct gh_pg *db, const char *tenant, const char *type,
    const char *payload_json, int64_t *id_out)
{
	return gh_outbox_append_env(db, tenant, type, payload_json, NULL, id_out);
}

int
gh_outbox_append_env(struct gh_pg *db, const char *tenant, const char *type,
    const char *payload_json, const char *environments_json, int64_t *id_out)
{
	char key[24], idbuf[24];
	const char *lock_params[1] = { gh_pg_i64(key, GH_PG_LOCK_OUTBOX) };
	const char *ins_params[4] = { tenant, type, payload_json, environments_json };
	const char *notify_params[2] = { GH_OUTBOX_CHANNEL, NULL };
	int64_t id;

	if (!gh_pg_in_tx(db)) {
		/* Without a transaction the lock would end before the insert commits. */
		gh_pg_set_error(db, "25P01", "gh_outbox_append needs an open transaction");
		return -1;
	}
	if (tenant == NULL || type == NULL || payload_json == NULL) {
		gh_pg_set_error(db, "22004", "gh_outbox_append: tenant, type and payload are required");
		return -1;
	}
	if (!atomic_load(&outbox_skip_lock) &&
	    gh_pg_cmd(db, "SELECT pg_advisory_xact_lock($1::bigint)", 1,
	    lock_params, NULL) != 0)
		return -1;
	if (gh_pg_query_int64(db, "INSERT INTO gh_events (tenant, type, payload, environments) "
	    "VALUES ($1, $2, $3::jsonb, CASE WHEN $4::jsonb IS NULL THEN NULL "
	    "ELSE ARRAY(SELECT jsonb_array_elements_text($4::jsonb)) END) RETURNING id",
	    4, ins_params, &id) != 0)
		return -1;
	notify_params[1] = gh_pg_i64(idbuf, id);
	if (gh_pg_cmd(db, "SELECT pg_notify($1, $2)", 2, notify_params, NULL) != 0)
		return -1;
	if (id_out != NULL)
		*id_out = id;
	return 0;
}

static char *
dup_or_empty(const char *s)
{
	return strdup(s != NULL ? s : "");
}

int
gh_outbox_read(struct gh_pg *db, int64_t after_id, int limit,
    struct gh_outbox_event **events_out, size_t *n_out)
{
	char abuf[24], lbuf[24];
	const char *params[2] = { gh_pg_i64(abuf, after_id), gh_pg_i64(lbuf, limit) };
	struct gh_outbox_event *ev = NULL;
	PGresult *res;
	int n;

	*events_out = NULL;
	*n_out = 0;
	if (limit < 1 || limit > 10000)
		limit = limit < 1 ? 1 : 10000;
	gh_pg_i64(lbuf, limit);
	res = gh_pg_exec(db, "SELECT id, tenant, type, payload::text, "
	    "(extract(epoch FROM created_at) * 1000)::bigint "
	    "FROM gh_events WHERE id > $1::bigint ORDER BY id LIMIT $2::int",
	    2, params);
	if (res == NULL)
		return -1;
	n = gh_pg_nrows(res);
	if (n > 0) {
		ev = calloc((size_t)n, sizeof(*ev));
		if (ev == NULL)
			goto nomem;
	}
	for (int i = 0; i < n; i++) {
		if (gh_pg_get_int64(res, i, 0, &ev[i].id) != 0 ||
		    gh_pg_get_int64(res, i, 4, &ev[i].created_ms) != 0)
			ev[i].created_ms = 0;
		ev[i].tenant = dup_or_empty(gh_pg_get(res, i, 1));
		ev[i].type = dup_or_empty(gh_pg_get(res, i, 2));
		ev[i].payload = dup_or_empty(gh_pg_get(res, i, 3));
		if (ev[i].tenant == NULL || ev[i].type == NULL || ev[i].payload == NULL) {
			gh_outbox_events_free(ev, (size_t)n);
			goto nomem;
		}
	}
	PQclear(res);
	*events_out = ev;
	*n_out = (size_t)n;
	return 0;
nomem:
	PQclear(res);
	return -1;
}

void
gh_outbox_events_free(struct gh_outbox_event *ev, size_t n)
{
	if (ev == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(ev[i].tenant);
		free(ev[i].type);
		free(ev[i].payload);
	}
	free(ev);
}

struct prune_args {
	int64_t retention;
	int64_t deleted;
};

static int
prune_tx(struct gh_pg *db, void *arg)
{
	struct prune_args *pa = arg;
	char rbuf[24];
	const char *params[2] = { gh_pg_i64(rbuf, pa->retention), PRUNED_KEY };
	PGresult *res;
	int64_t high = 0;

	/* The newest event always stays, so the feed still knows where ids are. */
	res = gh_pg_exec(db, "WITH d AS (DELETE FROM gh_events "
	    "WHERE created_at < now() - make_interval(secs => $1::bigint) "
	    "AND id < (SELECT max(id) FROM gh_events) RETURNING id) "
	    "SELECT count(*), coalesce(max(id), 0) FROM d", 1, params);
	if (res == NULL)
		return -1;
	if (gh_pg_get_int64(res, 0, 0, &pa->deleted) != 0 ||
	    gh_pg_get_int64(res, 0, 1, &high) != 0)
		pa->deleted = high = 0;
	PQclear(res);
	if (high == 0)
		return 0;
	params[0] = gh_pg_i64(rbuf, high);
	return gh_pg_cmd(db, "INSERT INTO gh_settings_kv (name, value) VALUES ($2, $1) "
	    "ON CONFLICT (name) DO UPDATE SET value = greatest("
	    "gh_settings_kv.value::bigint, EXCLUDED.value::bigint)::text",
	    2, params, NULL);
}

int
gh_outbox_prune(struct gh_pg *db, int64_t retention_seconds, int64_t *deleted)
{
	struct prune_args pa = { retention_seconds, 0 };

	if (gh_pg_run_tx(db, 0, prune_tx, &pa) != 0)
		return -1;
	if (deleted != NULL)
		*deleted = pa.deleted;
	return 0;
}

int
gh_outbox_oldest_id(struct gh_pg *db, int64_t *id_out)
{
	return gh_pg_query_int64(db, "SELECT coalesce(min(id), 0) FROM gh_events",
	    0, NULL, id_out) == 0 ? 0 : -1;
}

int
gh_outbox_pruned_through(struct gh_pg *db, int64_t *id_out)
{
	const char *params[1] = { PRUNED_KEY };
	int rc;

	rc = gh_pg_query_int64(db, "SELECT value::bigint FROM gh_settings_kv "
	    "WHERE name = $1", 1, params, id_out);
	if (rc == 1)
		*id_out = 0;
	return rc < 0 ? -1 : 0;
}
