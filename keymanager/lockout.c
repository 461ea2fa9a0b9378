/*
 * Lock-outs after repeated failures, per client, per user name and per
 * real client address.  The counters are rows of gh_lockouts, updated by
 * one statement each, so every key manager node sees the same state and
 * concurrent failures never lose a count.
 *
 * Checking a lock must not cost the token path a database round trip, so
 * each process keeps the set of locks in force, re-read when it is older
 * than LOCK_SET_MAX_AGE_MS (a lock taken on another node is seen within
 * that time) and updated at once when this process locks something.
 * User logins, which bind to LDAP anyway, ask the database directly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keymanager/km.h"

#define LOCK_SET_MAX_AGE_MS 250
#define LOCK_SET_MAX 4096

static const char *const kind_names[] = { "client", "user", "addr" };

struct lock_entry {
	int kind;
	char *key;
	int64_t until_ms;
	int64_t added_ms;       /* taken by this process (set_add), 0 when read from the database */
};

static pthread_mutex_t set_mu = PTHREAD_MUTEX_INITIALIZER;
static struct lock_entry *set;
static size_t set_n;
static int64_t set_loaded_ms = -1000000;
static int set_loading;

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
set_replace(struct lock_entry *n, size_t count)
{
	for (size_t i = 0; i < set_n; i++)
		free(set[i].key);
	free(set);
	set = n;
	set_n = count;
}

/*
 * Carry into n[0..*count) (room for cap) the locks this process took
 * since `since` and still in force: a reload that began before they were
 * written would otherwise drop them until the next one.
 */
static void
set_carry(struct lock_entry *n, size_t *count, size_t cap, int64_t since, int64_t now)
{
	for (size_t i = 0; i < set_n && *count < cap; i++) {
		if (set[i].added_ms < since || set[i].until_ms <= now)
			continue;
		n[*count] = set[i];
		n[*count].key = strdup(set[i].key);
		if (n[*count].key != NULL)
			(*count)++;
	}
}

/* Re-read the locks in force when the copy is stale (one reader at a time). */
static void
set_refresh(struct gh_pg *db)
{
	struct lock_entry *n = NULL;
	size_t count = 0, cap;
	PGresult *res;
	int rows;
	int64_t started = now_ms();

	pthread_mutex_lock(&set_mu);
	if (set_loading || started - set_loaded_ms < LOCK_SET_MAX_AGE_MS) {
		pthread_mutex_unlock(&set_mu);
		return;
	}
	set_loading = 1;
	pthread_mutex_unlock(&set_mu);
	res = gh_pg_exec(db, "SELECT kind, key, (extract(epoch from locked_until) * 1000)::bigint "
	    "FROM gh_lockouts WHERE locked_until > now() LIMIT 4096", 0, NULL);
	rows = res ? gh_pg_nrows(res) : 0;
	pthread_mutex_lock(&set_mu);
	cap = (size_t)rows + set_n;
	pthread_mutex_unlock(&set_mu);
	if (cap > 0)
		n = calloc(cap + 64, sizeof(*n));
	for (int i = 0; n != NULL && i < rows; i++) {
		const char *k = gh_pg_get(res, i, 0);
		int64_t until = 0;
		n[count].kind = strcmp(k, "client") == 0 ? KM_LOCK_CLIENT :
		    strcmp(k, "user") == 0 ? KM_LOCK_USER : KM_LOCK_ADDR;
		n[count].key = strdup(gh_pg_get(res, i, 1));
		gh_pg_get_int64(res, i, 2, &until);
		n[count].until_ms = until;
		if (n[count].key != NULL)
			count++;
	}
	pthread_mutex_lock(&set_mu);
	if (res != NULL) {
		if (n != NULL)
			set_carry(n, &count, cap + 64, started, now_ms());
		set_replace(n, count);
		set_loaded_ms = now_ms();
	} else {
		for (size_t i = 0; i < count; i++)
			free(n[i].key);
		free(n);
	}
	set_loading = 0;
	pthread_mutex_unlock(&set_mu);
	PQclear(res);
}

/* Add a lock this process just took, so that it holds here at once. */
static void
set_add(enum km_lock_kind kind, const char *key, int64_t until_ms)
{
	struct lock_entry *n;

	pthread_mutex_lock(&set_mu);
	if (set_n < LOCK_SET_MAX && (n = realloc(set, (set_n + 1) * sizeof(*set))) != NULL) {
		set = n;
		set[set_n].kind = kind;
		set[set_n].key = strdup(key);
		set[set_n].until_ms = until_ms;
		set[set_n].added_ms = now_ms();
		if (set[set_n].key != NULL)
			set_n++;
	}
	pthread_mutex_unlock(&set_mu);
}

int
km_lock_check(struct gh_pg *db, enum km_lock_kind kind, const char *key)
{
	int64_t now = now_ms();
	int locked = 0;

	if (key == NULL || key[0] == '\0')
		return 0;
	set_refresh(db);
	pthread_mutex_lock(&set_mu);
	for (size_t i = 0; i < set_n && !locked; i++)
		locked = set[i].kind == (int)kind && set[i].until_ms > now && strcmp(set[i].key, key) == 0;
	pthread_mutex_unlock(&set_mu);
	return locked;
}

int
km_lock_check_cached(enum km_lock_kind kind, const char *key)
{
	int64_t now = now_ms();
	int locked = 0;

	if (key == NULL || key[0] == '\0')
		return 0;
	pthread_mutex_lock(&set_mu);
	if (now - set_loaded_ms >= LOCK_SET_MAX_AGE_MS) {
		pthread_mutex_unlock(&set_mu);
		return -1;
	}
	for (size_t i = 0; i < set_n && !locked; i++)
		locked = set[i].kind == (int)kind && set[i].until_ms > now && strcmp(set[i].key, key) == 0;
	pthread_mutex_unlock(&set_mu);
	return locked;
}

int
km_lock_check_fresh(struct gh_pg *db, enum km_lock_kind kind, const char *key)
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
	int64_t until = 0;

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
	    "RETURNING coalesce((extract(epoch from locked_until) * 1000)::bigint, 0)",
	    5, p, &until) != 0)
		return -1;
	if (until > now_ms()) {
		KM_COUNT(lockouts);
		set_add(kind, key, until);
		return 1;
	}
	return 0;
}

void
km_lock_reset(struct gh_pg *db, enum km_lock_kind kind, const char *key)
{
	const char *p[2] = { kind_names[kind], key };

	if (key != NULL && key[0] != '\0')
		gh_pg_cmd(db, "DELETE FROM gh_lockouts WHERE kind = $1 AND key = $2 "
		    "AND (locked_until IS NULL OR locked_until <= now())", 2, p, NULL);
}

void
km_lock_free(void)
{
	pthread_mutex_lock(&set_mu);
	set_replace(NULL, 0);
	pthread_mutex_unlock(&set_mu);
}
