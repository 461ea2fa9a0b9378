/*
 * Analytics partitions and retention.  A timer on tmgr.base runs a job on
 * a pool worker at start and every five minutes: the daily partitions of
 * today and tomorrow (UTC) are made ahead, partitions whose whole day is
 * older than trafficmanager.retention are dropped, and per-minute rollup
 * rows older than the retention are deleted.  Partition DDL goes through
 * two session functions (pg_temp) that take the day or the table name as
 * a parameter, so no SQL text is ever built from data.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/gh_log.h"
#include "gateway/trafficmanager/tm.h"

#define DAY_MS INT64_C(86400000)
#define RETENTION_EVERY_S 300

static const char sql_fn_make[] =
	"CREATE OR REPLACE FUNCTION pg_temp.gh_an_partition(d bigint) RETURNS void LANGUAGE plpgsql AS $f$"
	" DECLARE day date := date '1970-01-01' + d::int;"
	" BEGIN"
	" EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF gh_analytics_events"
	" FOR VALUES FROM (%L) TO (%L)', 'gh_analytics_events_' || to_char(day, 'YYYYMMDD'),"
	" to_char(day, 'YYYY-MM-DD') || ' 00:00:00+00', to_char(day + 1, 'YYYY-MM-DD') || ' 00:00:00+00');"
	" END $f$";

static const char sql_fn_drop[] =
	"CREATE OR REPLACE FUNCTION pg_temp.gh_an_drop(name text) RETURNS void LANGUAGE plpgsql AS $f$"
	" BEGIN"
	" IF name !~ '^gh_analytics_events_[0-9]{8}$' THEN"
	" RAISE EXCEPTION 'not an analytics partition: %', name; END IF;"
	" EXECUTE format('DROP TABLE IF EXISTS %I', name);"
	" END $f$";

static const char sql_missing[] =
	"SELECT d FROM unnest($1::bigint[]) AS d"
	" WHERE to_regclass('gh_analytics_events_' || to_char(date '1970-01-01' + d::int, 'YYYYMMDD')) IS NULL";

/* "{1,2,3}" of days[0..n) into buf. */
static void
days_array(char *buf, size_t cap, const int64_t *days, size_t n)
{
	size_t len = 0;

	buf[len++] = '{';
	for (size_t i = 0; i < n && len + 24 < cap; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s%lld", i ? "," : "", (long long)days[i]);
	snprintf(buf + len, cap - len, "}");
}

int
tm_partitions_make(struct gh_pg *db, const int64_t *days, size_t n)
{
	char arr[64 * 24 + 8];
	PGresult *res;
	int missing;

	if (n == 0)
		return 0;
	if (n > 64)
		n = 64;
	days_array(arr, sizeof(arr), days, n);
	res = gh_pg_exec(db, sql_missing, 1, (const char *const[]){ arr });
	if (res == NULL)
		return -1;
	missing = gh_pg_nrows(res);
	PQclear(res);
	if (missing == 0)
		return 0;
	{
		char key[24];

		gh_pg_i64(key, TM_LOCK_PARTITIONS);
		if (gh_pg_cmd(db, "SELECT pg_advisory_xact_lock($1::bigint)", 1, (const char *const[]){ key },
		    NULL) != 0 ||
		    gh_pg_cmd(db, sql_fn_make, 0, NULL, NULL) != 0 ||
		    gh_pg_cmd(db, "SELECT pg_temp.gh_an_partition(d) FROM unnest($1::bigint[]) AS d", 1,
		    (const char *const[]){ arr }, NULL) != 0)
			return -1;
	}
	return 0;
}

struct retention_job {
	int64_t now_ms, retention_ms;
	int64_t dropped, deleted;
	int running;
};

static struct retention_job job;
static struct event *timer;

/* Day number (since 1970-01-01) of "gh_analytics_events_YYYYMMDD", or -1. */
static int64_t
partition_day(const char *name)
{
	const char *p = "gh_analytics_events_";
	struct tm t;
	int y, mo, d;
	char tail;

	if (strncmp(name, p, strlen(p)) != 0 || strlen(name) != strlen(p) + 8 ||
	    sscanf(name + strlen(p), "%4d%2d%2d%c", &y, &mo, &d, &tail) != 3)
		return -1;
	memset(&t, 0, sizeof(t));
	t.tm_year = y - 1900;
	t.tm_mon = mo - 1;
	t.tm_mday = d;
	return (int64_t)timegm(&t) / 86400;
}

static int
retention_tx(struct gh_pg *db, void *arg)
{
	struct retention_job *j = arg;
	int64_t today = j->now_ms / DAY_MS, ahead[2] = { today, today + 1 };
	int64_t cutoff = j->now_ms - j->retention_ms;
	char cut[24];
	PGresult *res;
	int fn = 0;

	j->dropped = j->deleted = 0;
	if (tm_partitions_make(db, ahead, 2) != 0)
		return -1;
	res = gh_pg_exec(db, "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
	    " WHERE i.inhparent = 'gh_analytics_events'::regclass ORDER BY 1", 0, NULL);
	if (res == NULL)
		return -1;
	for (int r = 0; r < gh_pg_nrows(res); r++) {
		const char *name = gh_pg_get(res, r, 0);
		int64_t day = name != NULL ? partition_day(name) : -1;

		/* the whole day is past the retention: its end is before the cut-off */
		if (day < 0 || (day + 1) * DAY_MS > cutoff)
			continue;
		if (!fn && (gh_pg_cmd(db, sql_fn_drop, 0, NULL, NULL) != 0 ||
		    gh_pg_cmd(db, "SELECT pg_advisory_xact_lock($1::bigint)", 1,
		    (const char *const[]){ gh_pg_i64(cut, TM_LOCK_PARTITIONS) }, NULL) != 0)) {
			PQclear(res);
			return -1;
		}
		fn = 1;
		if (gh_pg_cmd(db, "SELECT pg_temp.gh_an_drop($1)", 1, (const char *const[]){ name }, NULL) != 0) {
			PQclear(res);
			return -1;
		}
		j->dropped++;
	}
	PQclear(res);
	gh_pg_i64(cut, cutoff);
	if (gh_pg_cmd(db, "DELETE FROM gh_analytics_minute"
	    " WHERE minute < timestamptz 'epoch' + $1::bigint * interval '1 millisecond'", 1,
	    (const char *const[]){ cut }, &j->deleted) != 0)
		return -1;
	return 0;
}

static void
retention_done(int rc, const char *sqlstate, const char *message, void *arg)
{
	struct retention_job *j = arg;

	j->running = 0;
	if (rc == GH_PG_CANCELLED)
		return;
	TM_COUNT(retention_runs, 1);
	if (rc != 0) {
		TM_COUNT(retention_errors, 1);
		gh_log_error("retention", NULL, "analytics retention failed: %s %s", sqlstate, message);
		return;
	}
	TM_COUNT(dropped_partitions, (uint64_t)j->dropped);
	TM_COUNT(rollups_deleted, (uint64_t)j->deleted);
	if (j->dropped > 0 || j->deleted > 0)
		gh_log_info("retention", NULL, "dropped %lld daily partitions and %lld rollup rows older than %lld s",
		    (long long)j->dropped, (long long)j->deleted, (long long)(j->retention_ms / 1000));
}

static void
retention_tick(evutil_socket_t fd, short what, void *arg)
{
	struct timespec ts;
	struct timeval tv = { RETENTION_EVERY_S, 0 };

	(void)fd;
	(void)what;
	(void)arg;
	evtimer_add(timer, &tv);
	if (job.running)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	job.now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	job.retention_ms = tmgr.retention_ms;
	job.running = 1;
	if (gh_pg_pool_run(tmgr.pool, 0, retention_tx, retention_done, &job) != 0)
		job.running = 0;
}

int
tm_retention_start(void)
{
	struct timeval now = { 0, 0 };

	timer = evtimer_new(tmgr.base, retention_tick, NULL);
	if (timer == NULL)
		return -1;
	return evtimer_add(timer, &now);
}

void
tm_retention_stop(void)
{
	if (timer != NULL)
		event_free(timer);
	timer = NULL;
}
