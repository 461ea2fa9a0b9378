/*
 * Lock-outs after repeated failures, per client, per user name and per
 * real client address.  The counters are rows of gh_lockouts, updated by
 * one statement each, so every key manager node sees the same state and
 * concurrent failures never lose a count.
 */
#include <stdio.h>
#include <string.h>

#include "keymanager/km.h"

static const char *const kind_names[] = { "client", "user", "addr" };

int
km_lock_check(struct gh_pg *db, enum km_lock_kind kind, const char *key)
{
	const char *p[2] = { kind_names[kind], key };
	int64_t locked = 0;

	if (key == NULL || key[0] == '\0')
		return 0;
	if (gh_pg_query_int64(db, "SELECT count(*) FROM gh_lockouts WHERE kind = $1 AND key = $2 "
	    "AND locked_until > now()", 2, p, &locked) != 0)
		return -1;
	return locked > 0;
}

int
km_lock_fail(struct gh_pg *db, enum km_lock_kind kind, const char *key)
{
	char window[24], max[24], duration[24];
	const char *p[5] = { kind_names[kind], key, window, max, duration };
	int64_t locked = 0;

	if (key == NULL || key[0] == '\0')
		return 0;
	snprintf(window, sizeof(window), "%lld", (long long)km.lock_window);
	snprintf(max, sizeof(max), "%d", km.lock_failures);
	snprintf(duration, sizeof(duration), "%lld", (long long)km.lock_duration);
	if (gh_pg_query_int64(db,
	    "INSERT INTO gh_lockouts AS l (kind, key, failures, window_start, locked_until) "
	    "VALUES ($1, $2, 1, now(), CASE WHEN $4::int <= 1 THEN now() + make_interval(secs => $5::bigint) END) "
	    "ON CONFLICT (kind, key) DO UPDATE SET "
	    "  failures = CASE WHEN l.window_start < now() - make_interval(secs => $3::bigint) "
	    "    THEN 1 ELSE l.failures + 1 END, "
	    "  window_start = CASE WHEN l.window_start < now() - make_interval(secs => $3::bigint) "
	    "    THEN now() ELSE l.window_start END, "
	    "  locked_until = CASE WHEN (CASE WHEN l.window_start < now() - make_interval(secs => $3::bigint) "
	    "    THEN 1 ELSE l.failures + 1 END) >= $4::int "
	    "    THEN now() + make_interval(secs => $5::bigint) ELSE l.locked_until END "
	    "RETURNING (locked_until IS NOT NULL AND locked_until > now())::int",
	    5, p, &locked) != 0)
		return -1;
	if (locked)
		KM_COUNT(lockouts);
	return locked > 0;
}

void
km_lock_reset(struct gh_pg *db, enum km_lock_kind kind, const char *key)
{
	const char *p[2] = { kind_names[kind], key };

	if (key != NULL && key[0] != '\0')
		gh_pg_cmd(db, "DELETE FROM gh_lockouts WHERE kind = $1 AND key = $2 "
		    "AND (locked_until IS NULL OR locked_until <= now())", 2, p, NULL);
}
