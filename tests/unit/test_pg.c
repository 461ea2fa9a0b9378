/*
 * Tests of the pg library against a real PostgreSQL 15 (tests/foundation/
 * 50-pg.t makes two fresh databases and passes their conninfo): hostile
 * parameters, errors and SQLSTATEs, transactions and their retries,
 * migrations (also concurrent), the outbox ordered-commit rule under
 * concurrent writers, pruning, LISTEN/NOTIFY and the event-loop pool.
 * Usage: test_pg MAIN_CONNINFO MIGRATION_CONNINFO
 */
#include <event2/event.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/gh_log.h"
#include "pg/gh_pg.h"
#include "th.h"

static const char *main_ci, *mig_ci;

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
q64(struct gh_pg *db, const char *sql, int n, const char *const *p)
{
	int64_t v = -999;

	if (gh_pg_query_int64(db, sql, n, p, &v) != 0)
		fprintf(stderr, "query failed: %s: %s %s\n", sql, gh_pg_sqlstate(db), gh_pg_errmsg(db));
	return v;
}

/* ---- connections and hostile parameters --------------------------- */

static void
test_connect_failure(void)
{
	char err[256] = "";
	struct gh_pg *db;

	TH_TEST("connect failure is reported");
	db = gh_pg_connect("host=127.0.0.1 port=1 dbname=none connect_timeout=2", err, sizeof(err));
	TH_CHECK(db == NULL);
	TH_CHECK(err[0] != '\0');
}

static void
test_hostile(struct gh_pg *db)
{
	static const char *const hostile[] = {
		"'; DROP TABLE x; --",
		"\\' OR 1=1",
		"' OR 1=1 --",
		"$1",
		"$2::text); DELETE FROM x; --",
		"\"double\" 'single' `back`",
		"back\\slash\\\\ and \\x00 and \\0",
		"E'\\047'",
		"Gr\xc3\xbc\xc3\x9f" "e \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\x89 \xe2\x80\xae rtl",
		"line1\nline2\r\n\ttab",
		"",
	};
	const size_t nh = sizeof(hostile) / sizeof(hostile[0]);
	size_t big_len = 1024 * 1024, blen = 0;
	char *big;
	const char *p[2];
	size_t lens[2];
	int bin[2];
	PGresult *res;
	unsigned char *bytes;
	int ok_rt = 0, ok_count = 0;

	TH_TEST("hostile parameters round-trip and do nothing else");
	TH_CHECK(gh_pg_cmd(db, "CREATE TABLE x (id serial PRIMARY KEY, v text)", 0, NULL, NULL) == 0);
	TH_CHECK(gh_pg_cmd(db, "CREATE TABLE b (v bytea)", 0, NULL, NULL) == 0);
	for (size_t i = 0; i < nh; i++) {
		p[0] = hostile[i];
		res = gh_pg_exec(db, "INSERT INTO x (v) VALUES ($1) RETURNING v", 1, p);
		if (res != NULL && gh_pg_get_len(res, 0, 0) == strlen(hostile[i]) &&
		    memcmp(gh_pg_get(res, 0, 0), hostile[i], strlen(hostile[i])) == 0)
			ok_rt++;
		else
			fprintf(stderr, "round trip failed for [%s]: %s\n", hostile[i], gh_pg_errmsg(db));
		PQclear(res);
		if (q64(db, "SELECT count(*) FROM x WHERE v = $1", 1, p) == 1)
			ok_count++;
	}
	TH_CHECK_EQ_INT(ok_rt, nh);
	TH_CHECK_EQ_INT(ok_count, nh);
	TH_CHECK_EQ_INT(q64(db, "SELECT count(*) FROM x", 0, NULL), nh);
	TH_CHECK_EQ_INT(q64(db, "SELECT count(*) FROM pg_tables WHERE tablename = 'x'", 0, NULL), 1);
	/* "$1" as a value is the text "$1", never a placeholder. */
	p[0] = "$1";
	p[1] = "$2";
	res = gh_pg_exec(db, "SELECT $1::text || '|' || $2::text", 2, p);
	TH_CHECK_EQ_STR(gh_pg_get(res, 0, 0), "$1|$2");
	PQclear(res);

	TH_TEST("1 MiB parameter round-trips byte-exact");
	big = malloc(big_len + 1);
	for (size_t i = 0; i < big_len; i++)
		big[i] = "ab'\"\\;-$ xy"[i % 11];
	big[big_len] = '\0';
	p[0] = big;
	lens[0] = big_len;
	res = gh_pg_exec_len(db, "INSERT INTO x (v) VALUES ($1) RETURNING v, length(v)", 1, p, lens, NULL);
	TH_CHECK(res != NULL);
	TH_CHECK_EQ_INT(gh_pg_get_len(res, 0, 0), big_len);
	TH_CHECK(gh_pg_get(res, 0, 0) != NULL && memcmp(gh_pg_get(res, 0, 0), big, big_len) == 0);
	TH_CHECK_EQ_STR(gh_pg_get(res, 0, 1), "1048576");
	PQclear(res);
	free(big);

	TH_TEST("a NUL in a text parameter is refused before libpq");
	p[0] = "abc\0def";
	lens[0] = 7;
	res = gh_pg_exec_len(db, "INSERT INTO x (v) VALUES ($1)", 1, p, lens, NULL);
	TH_CHECK(res == NULL);
	TH_CHECK_EQ_STR(gh_pg_sqlstate(db), GH_PG_SQLSTATE_NUL_IN_TEXT);
	TH_CHECK(gh_pg_is(db, "22021"));
	TH_CHECK_EQ_INT(q64(db, "SELECT count(*) FROM x", 0, NULL), nh + 1);
	TH_CHECK_EQ_STR(gh_pg_sqlstate(db), "");

	TH_TEST("bytea with NUL bytes travels as binary; SQL NULL");
	p[0] = "\0\x01'\\\xff\0";
	lens[0] = 6;
	bin[0] = 1;
	res = gh_pg_exec_len(db, "INSERT INTO b (v) VALUES ($1) RETURNING v", 1, p, lens, bin);
	bytes = gh_pg_get_bytea(res, 0, 0, &blen);
	TH_CHECK(bytes != NULL && blen == 6 && memcmp(bytes, "\0\x01'\\\xff\0", 6) == 0);
	free(bytes);
	PQclear(res);
	p[0] = NULL;
	res = gh_pg_exec(db, "SELECT $1::text IS NULL, $1::text", 1, p);
	TH_CHECK_EQ_STR(gh_pg_get(res, 0, 0), "t");
	TH_CHECK(gh_pg_get(res, 0, 1) == NULL);
	PQclear(res);
}

/* ---- errors and transactions -------------------------------------- */

static int
dup_tenant_tx(struct gh_pg *db, void *arg)
{
	const char *p[2] = { "carbon.super", "duplicate" };

	(*(int *)arg)++;
	return gh_pg_cmd(db, "INSERT INTO gh_tenants (domain, name) VALUES ($1, $2)", 2, p, NULL);
}

struct retry_args {
	int attempts;
	const char *fail_sqlstate;	/* raise this on the first attempt */
	int kill_self;			/* or terminate our own backend */
	const char *marker;
};

static int
retry_tx(struct gh_pg *db, void *arg)
{
	struct retry_args *ra = arg;
	const char *p[1] = { ra->marker };

	ra->attempts++;
	if (gh_pg_cmd(db, "INSERT INTO gh_settings_kv (name, value) VALUES ($1, 'x')", 1, p, NULL) != 0)
		return -1;
	if (ra->attempts == 1 && ra->kill_self)
		return gh_pg_cmd(db, "SELECT pg_terminate_backend(pg_backend_pid())", 0, NULL, NULL);
	/* The failure's SQLSTATE was put in the session setting gh.test_state. */
	if (ra->attempts == 1 && ra->fail_sqlstate != NULL)
		return gh_pg_cmd(db, "DO $$ BEGIN RAISE EXCEPTION 'forced' USING ERRCODE = "
		    "current_setting('gh.test_state'); END $$", 0, NULL, NULL);
	return 0;
}

static void
test_errors_and_tx(struct gh_pg *db)
{
	const char *p[2];
	int calls = 0;
	unsigned before;
	struct retry_args ra;

	TH_TEST("unique violation gives 23505");
	p[0] = "carbon.super";
	p[1] = "again";
	TH_CHECK(gh_pg_cmd(db, "INSERT INTO gh_tenants (domain, name) VALUES ($1, $2)", 2, p, NULL) == -1);
	TH_CHECK_EQ_STR(gh_pg_sqlstate(db), "23505");
	TH_CHECK(strstr(gh_pg_errmsg(db), "gh_tenants_domain_key") != NULL);
	TH_CHECK_EQ_INT(gh_pg_run_tx(db, 0, dup_tenant_tx, &calls), -1);
	TH_CHECK_EQ_STR(gh_pg_sqlstate(db), "23505");
	TH_CHECK_EQ_INT(calls, 1);
	TH_CHECK(!gh_pg_in_tx(db));
	TH_CHECK_EQ_INT(q64(db, "SELECT count(*) FROM gh_tenants WHERE domain = 'carbon.super'", 0, NULL), 1);
	TH_CHECK(gh_pg_cmd(db, "SELECT * FROM no_such_table", 0, NULL, NULL) == -1);
	TH_CHECK_EQ_STR(gh_pg_sqlstate(db), "42P01");

	TH_TEST("rollback discards, commit keeps");
	p[0] = "tx.rolled";
	TH_CHECK(gh_pg_tx_begin(db, 0) == 0);
	TH_CHECK(gh_pg_cmd(db, "INSERT INTO gh_settings_kv (name, value) VALUES ($1, 'v')", 1, p, NULL) == 0);
	gh_pg_tx_rollback(db);
	TH_CHECK_EQ_INT(q64(db, "SELECT count(*) FROM gh_settings_kv WHERE name = $1", 1, p), 0);
	p[0] = "tx.kept";
	TH_CHECK(gh_pg_tx_begin(db, GH_PG_TX_SERIALIZABLE) == 0);
	TH_CHECK(gh_pg_cmd(db, "INSERT INTO gh_settings_kv (name, value) VALUES ($1, 'v')", 1, p, NULL) == 0);
	TH_CHECK(gh_pg_tx_commit(db) == 0);
	TH_CHECK_EQ_INT(q64(db, "SELECT count(*) FROM gh_settings_kv WHERE name = $1", 1, p), 1);
	TH_CHECK(gh_pg_tx_begin(db, GH_PG_TX_READ_ONLY) == 0);
	TH_CHECK(gh_pg_cmd(db, "INSERT INTO gh_settings_kv (name, value) VALUES ('ro', 'v')", 0, NULL, NULL) == -1);
	TH_CHECK_EQ_STR(gh_pg_sqlstate(db), "25006");
	TH_CHECK(gh_pg_tx_commit(db) == -1);	/* aborted transaction does not commit */
	TH_CHECK(!gh_pg_in_tx(db));

	TH_TEST("run_tx retries 40001 and 40P01, not 23505");
	memset(&ra, 0, sizeof(ra));
	ra.fail_sqlstate = "40001";
	ra.marker = "retry.40001";
	TH_CHECK(gh_pg_cmd(db, "SELECT set_config('gh.test_state', '40001', false)", 0, NULL, NULL) == 0);
	TH_CHECK_EQ_INT(gh_pg_run_tx(db, 0, retry_tx, &ra), 0);
	TH_CHECK_EQ_INT(ra.attempts, 2);
	p[0] = ra.marker;
	TH_CHECK_EQ_INT(q64(db, "SELECT count(*) FROM gh_settings_kv WHERE name = $1", 1, p), 1);
	memset(&ra, 0, sizeof(ra));
	ra.fail_sqlstate = "40P01";
	ra.marker = "retry.40P01";
	TH_CHECK(gh_pg_cmd(db, "SELECT set_config('gh.test_state', '40P01', false)", 0, NULL, NULL) == 0);
	TH_CHECK_EQ_INT(gh_pg_run_tx(db, 0, retry_tx, &ra), 0);
	TH_CHECK_EQ_INT(ra.attempts, 2);
	memset(&ra, 0, sizeof(ra));
	ra.fail_sqlstate = "23505";
	ra.marker = "retry.23505";
	TH_CHECK(gh_pg_cmd(db, "SELECT set_config('gh.test_state', '23505', false)", 0, NULL, NULL) == 0);
	TH_CHECK_EQ_INT(gh_pg_run_tx(db, 0, retry_tx, &ra), -1);
	TH_CHECK_EQ_INT(ra.attempts, 1);
	TH_CHECK_EQ_STR(gh_pg_sqlstate(db), "23505");
	p[0] = ra.marker;
	TH_CHECK_EQ_INT(q64(db, "SELECT count(*) FROM gh_settings_kv WHERE name = $1", 1, p), 0);

	TH_TEST("connection lost before COMMIT: reconnect and retry");
	before = gh_pg_connects(db);
	memset(&ra, 0, sizeof(ra));
	ra.kill_self = 1;
	ra.marker = "retry.killed";
	TH_CHECK_EQ_INT(gh_pg_run_tx(db, 0, retry_tx, &ra), 0);
	TH_CHECK_EQ_INT(ra.attempts, 2);
	TH_CHECK_EQ_INT(gh_pg_connects(db), before + 1);
	p[0] = ra.marker;
	TH_CHECK_EQ_INT(q64(db, "SELECT count(*) FROM gh_settings_kv WHERE name = $1", 1, p), 1);
}

/* ---- migrations --------------------------------------------------- */

static const char *const t_slow[] = { "CREATE TABLE t_slow (x int)", "SELECT pg_sleep(0.1)", NULL };
static const char *const t_fill[] = { "INSERT INTO t_slow VALUES (1)", NULL };
static const char *const t_more[] = { "ALTER TABLE t_slow ADD COLUMN y int", NULL };
static const char *const t_bad[] = { "CREATE TABLE t_bad (x int)", "SELECT no_such_function()", NULL };

#define NMIG_TEST 4
static struct gh_pg_migration all_mig[16];
static size_t all_mig_n;

struct migrator {
	pthread_t tid;
	int applied;
};

static void *
migrator_main(void *arg)
{
	struct migrator *m = arg;
	struct gh_pg *db = gh_pg_connect(mig_ci, NULL, 0);

	m->applied = db != NULL ? gh_pg_migrate(db, all_mig, all_mig_n) : -100;
	gh_pg_close(db);
	return NULL;
}

static void
test_migrations(struct gh_pg *db)
{
	struct migrator ms[4];
	struct gh_pg *db2;
	struct gh_pg_migration bad = { 2000, "bad", t_bad };
	int64_t v = -1;
	int sum = 0, errors = 0;

	TH_TEST("migrations: first run applies all, second none");
	TH_CHECK(gh_pg_schema_version(db, &v) == 0);
	TH_CHECK_EQ_INT(v, 0);
	TH_CHECK_EQ_INT(gh_pg_migrate_schema(db), gh_schema_count);
	TH_CHECK_EQ_INT(gh_pg_migrate_schema(db), 0);
	TH_CHECK(gh_pg_schema_version(db, &v) == 0);
	TH_CHECK_EQ_INT(v, gh_schema[gh_schema_count - 1].version);
	TH_CHECK_EQ_INT(q64(db, "SELECT count(*) FROM gh_schema_migrations", 0, NULL), gh_schema_count);
	TH_CHECK_EQ_INT(q64(db, "SELECT id FROM gh_tenants WHERE domain = 'carbon.super' AND status = 'active'",
	    0, NULL), -1234);
	TH_CHECK_EQ_INT(q64(db, "SELECT count(*) FROM information_schema.tables WHERE table_name IN "
	    "('gh_events', 'gh_tenants', 'gh_signing_keys', 'gh_settings_kv')", 0, NULL), 4);

	TH_TEST("migrations: four concurrent migrators apply each version once");
	for (size_t i = 0; i < gh_schema_count; i++)
		all_mig[all_mig_n++] = gh_schema[i];
	all_mig[all_mig_n++] = (struct gh_pg_migration){ 1001, "test slow", t_slow };
	all_mig[all_mig_n++] = (struct gh_pg_migration){ 1002, "test fill", t_fill };
	all_mig[all_mig_n++] = (struct gh_pg_migration){ 1003, "test more", t_more };
	for (int i = 0; i < 4; i++)
		pthread_create(&ms[i].tid, NULL, migrator_main, &ms[i]);
	for (int i = 0; i < 4; i++) {
		pthread_join(ms[i].tid, NULL);
		if (ms[i].applied < 0)
			errors++;
		else
			sum += ms[i].applied;
	}
	TH_CHECK_EQ_INT(errors, 0);
	TH_CHECK_EQ_INT(sum, all_mig_n);
	db2 = gh_pg_connect(mig_ci, NULL, 0);
	TH_CHECK(db2 != NULL);
	if (db2 == NULL)
		return;
	TH_CHECK_EQ_INT(q64(db2, "SELECT count(*) FROM gh_schema_migrations", 0, NULL), all_mig_n);
	TH_CHECK_EQ_INT(q64(db2, "SELECT count(DISTINCT version) FROM gh_schema_migrations", 0, NULL), all_mig_n);
	TH_CHECK_EQ_INT(q64(db2, "SELECT count(*) FROM t_slow", 0, NULL), 1);

	TH_TEST("a failing migration is rolled back and not recorded");
	TH_CHECK_EQ_INT(gh_pg_migrate(db2, &bad, 1), -1);
	TH_CHECK_EQ_STR(gh_pg_sqlstate(db2), "42883");
	TH_CHECK_EQ_INT(q64(db2, "SELECT count(*) FROM gh_schema_migrations WHERE version = 2000", 0, NULL), 0);
	TH_CHECK_EQ_INT(q64(db2, "SELECT count(*) FROM pg_tables WHERE tablename = 't_bad'", 0, NULL), 0);
	TH_CHECK_EQ_INT(gh_pg_migrate(db2, all_mig, all_mig_n), 0);
	gh_pg_close(db2);
}

/* ---- outbox -------------------------------------------------------- */

#define WRITERS 8
#define TX_PER_WRITER 25
#define MAX_IDS (WRITERS * TX_PER_WRITER * 3)

struct ordering {
	pthread_mutex_t mu;
	int64_t committed[MAX_IDS];
	size_t ncommitted;
	int64_t seen[MAX_IDS + 16];
	size_t nseen;
	atomic_int writers_left;
	atomic_int errors;
	int rollbacks;
};

struct writer {
	pthread_t tid;
	struct ordering *o;
	unsigned seed;
};

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	struct ordering *o = w->o;
	struct gh_pg *db = gh_pg_connect(main_ci, NULL, 0);
	int64_t ids[3];
	char payload[64];

	for (int t = 0; db != NULL && t < TX_PER_WRITER; t++) {
		int k = 1 + rand_r(&w->seed) % 3, rollback = rand_r(&w->seed) % 5 == 0, failed = 0;
		struct timespec ts = { 0, (long)(rand_r(&w->seed) % 5001) * 1000L };

		if (gh_pg_tx_begin(db, 0) != 0) {
			atomic_fetch_add(&o->errors, 1);
			continue;
		}
		for (int i = 0; i < k && !failed; i++) {
			snprintf(payload, sizeof(payload), "{\"seed\": %u, \"tx\": %d}", w->seed, t);
			failed = gh_outbox_append(db, "carbon.super", "test.order", payload, &ids[i]) != 0;
		}
		nanosleep(&ts, NULL);
		if (failed || rollback) {
			gh_pg_tx_rollback(db);
			if (failed)
				atomic_fetch_add(&o->errors, 1);
			continue;
		}
		if (gh_pg_tx_commit(db) != 0) {
			atomic_fetch_add(&o->errors, 1);
			continue;
		}
		pthread_mutex_lock(&o->mu);
		for (int i = 0; i < k; i++)
			o->committed[o->ncommitted++] = ids[i];
		pthread_mutex_unlock(&o->mu);
	}
	if (db == NULL)
		atomic_fetch_add(&o->errors, 1);
	gh_pg_close(db);
	atomic_fetch_sub(&o->writers_left, 1);
	return NULL;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Run the workload; the reader (this thread) polls gh_outbox_read after
 * the last id it saw.  Returns the number of committed ids it never saw;
 * *monotonic tells whether its sequence was strictly increasing.
 */
static long
ordering_run(struct gh_pg *db, struct ordering *o, int *monotonic, unsigned seed)
{
	struct writer w[WRITERS];
	struct gh_outbox_event *ev;
	size_t n, j = 0;
	int64_t last = 0;
	long missing = 0;
	int final = 0;

	memset(o, 0, sizeof(*o));
	pthread_mutex_init(&o->mu, NULL);
	*monotonic = 1;
	gh_pg_query_int64(db, "SELECT coalesce(max(id), 0) FROM gh_events", 0, NULL, &last);
	atomic_store(&o->writers_left, WRITERS);
	for (int i = 0; i < WRITERS; i++) {
		w[i].o = o;
		w[i].seed = seed + (unsigned)i * 7919u;
		pthread_create(&w[i].tid, NULL, writer_main, &w[i]);
	}
	for (;;) {
		/* After the writers are done, read until a read comes back empty. */
		if (!final && atomic_load(&o->writers_left) == 0)
			final = 1;
		if (gh_outbox_read(db, last, 50, &ev, &n) != 0) {
			atomic_fetch_add(&o->errors, 1);
			break;
		}
		for (size_t i = 0; i < n; i++) {
			if (ev[i].id <= last)
				*monotonic = 0;
			last = ev[i].id;
			if (o->nseen < sizeof(o->seen) / sizeof(o->seen[0]))
				o->seen[o->nseen++] = ev[i].id;
		}
		gh_outbox_events_free(ev, n);
		if (final && n == 0)
			break;
		if (n == 0)
			usleep(200);
	}
	for (int i = 0; i < WRITERS; i++)
		pthread_join(w[i].tid, NULL);
	qsort(o->committed, o->ncommitted, sizeof(int64_t), cmp_i64);
	/* Every committed id must be in the reader's (sorted) sequence. */
	for (size_t i = 0; i < o->ncommitted; i++) {
		while (j < o->nseen && o->seen[j] < o->committed[i])
			j++;
		if (j >= o->nseen || o->seen[j] != o->committed[i])
			missing++;
	}
	pthread_mutex_destroy(&o->mu);
	return missing;
}

static void
test_outbox_order(struct gh_pg *db)
{
	static struct ordering o;
	int monotonic;
	long missing;
	int64_t t0;

	TH_TEST("outbox: reader never skips a committed id (8 concurrent writers)");
	t0 = now_ms();
	missing = ordering_run(db, &o, &monotonic, 12345u);
	TH_CHECK_EQ_INT(atomic_load(&o.errors), 0);
	TH_CHECK(o.ncommitted > 100);
	TH_CHECK(monotonic);
	TH_CHECK_EQ_INT(missing, 0);
	TH_CHECK_EQ_INT(o.nseen, o.ncommitted);	/* and saw nothing that did not commit */
	printf("# ordered: %zu committed ids, reader saw %zu, missed %ld (%" PRId64 " ms)\n",
	    o.ncommitted, o.nseen, missing, now_ms() - t0);

	/* Negative control, information only: without the lock, commits overtake each other. */
	gh_outbox_testing_skip_lock(1);
	t0 = now_ms();
	missing = ordering_run(db, &o, &monotonic, 777u);
	gh_outbox_testing_skip_lock(0);
	printf("# negative control (no advisory lock): %zu committed, reader missed %ld (%" PRId64 " ms)\n",
	    o.ncommitted, missing, now_ms() - t0);
}

static void
test_outbox_api(struct gh_pg *db)
{
	struct gh_outbox_event *ev = NULL;
	size_t n = 0;
	int64_t a, b, c, oldest = -1, through = -1, deleted = -1, total;

	TH_TEST("outbox: append needs a transaction and valid JSON");
	TH_CHECK(gh_outbox_append(db, "carbon.super", "t", "{}", &a) == -1);
	TH_CHECK_EQ_STR(gh_pg_sqlstate(db), "25P01");
	TH_CHECK(gh_pg_tx_begin(db, 0) == 0);
	TH_CHECK(gh_outbox_append(db, "carbon.super", "t", "{not json", &a) == -1);
	TH_CHECK_EQ_STR(gh_pg_sqlstate(db), "22P02");
	gh_pg_tx_rollback(db);

	TH_TEST("outbox: read returns the fields in id order");
	TH_CHECK(gh_pg_tx_begin(db, 0) == 0);
	TH_CHECK(gh_outbox_append(db, "acme.com", "api.deployed", "{\"api\": \"'; DROP TABLE gh_events; --\"}", &a) == 0);
	TH_CHECK(gh_outbox_append(db, "carbon.super", "key.rotated", "{\"kid\":\"k1\"}", &b) == 0);
	TH_CHECK(gh_outbox_append(db, "carbon.super", "tenant.deactivated", "[1,2,3]", &c) == 0);
	TH_CHECK(gh_pg_tx_commit(db) == 0);
	TH_CHECK(a < b && b < c);
	TH_CHECK(gh_outbox_read(db, a - 1, 2, &ev, &n) == 0);
	TH_CHECK_EQ_INT(n, 2);
	if (n == 2) {
		TH_CHECK_EQ_INT(ev[0].id, a);
		TH_CHECK_EQ_STR(ev[0].tenant, "acme.com");
		TH_CHECK_EQ_STR(ev[0].type, "api.deployed");
		TH_CHECK_EQ_STR(ev[0].payload, "{\"api\": \"'; DROP TABLE gh_events; --\"}");
		TH_CHECK(ev[0].created_ms > 1600000000000LL);
		TH_CHECK_EQ_INT(ev[1].id, b);
		TH_CHECK_EQ_STR(ev[1].payload, "{\"kid\": \"k1\"}");
	}
	gh_outbox_events_free(ev, n);
	TH_CHECK(gh_outbox_read(db, c, 10, &ev, &n) == 0);
	TH_CHECK_EQ_INT(n, 0);
	TH_CHECK(ev == NULL);

	TH_TEST("outbox: prune keeps the newest event and records how far it went");
	total = q64(db, "SELECT count(*) FROM gh_events", 0, NULL);
	TH_CHECK(gh_outbox_prune(db, 3600, &deleted) == 0);
	TH_CHECK_EQ_INT(deleted, 0);
	TH_CHECK(gh_outbox_pruned_through(db, &through) == 0);
	TH_CHECK_EQ_INT(through, 0);
	TH_CHECK(gh_pg_cmd(db, "UPDATE gh_events SET created_at = now() - interval '8 days'", 0, NULL, NULL) == 0);
	TH_CHECK(gh_outbox_prune(db, 7 * 86400, &deleted) == 0);
	TH_CHECK_EQ_INT(deleted, total - 1);
	TH_CHECK(gh_outbox_oldest_id(db, &oldest) == 0);
	TH_CHECK_EQ_INT(oldest, c);
	TH_CHECK(gh_outbox_pruned_through(db, &through) == 0);
	TH_CHECK_EQ_INT(through, b);
	TH_CHECK(gh_outbox_prune(db, 7 * 86400, &deleted) == 0);
	TH_CHECK_EQ_INT(deleted, 0);
	TH_CHECK(gh_outbox_pruned_through(db, &through) == 0);
	TH_CHECK_EQ_INT(through, b);
}

/* ---- LISTEN/NOTIFY -------------------------------------------------- */

struct listen_state {
	int calls;
	int64_t max;
};

static void
on_notify(int64_t max_id, void *arg)
{
	struct listen_state *ls = arg;

	ls->calls++;
	if (max_id > ls->max)
		ls->max = max_id;
}

static void
tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(*(int *)arg)++;
}

/* Run the loop until *flag becomes non-zero (flag may be NULL) or ms pass. */
static void
run_loop(struct event_base *base, const int *flag, int64_t ms)
{
	int ticks = 0;
	struct event *t = event_new(base, -1, EV_PERSIST, tick, &ticks);
	struct timeval tv = { 0, 5000 };
	int64_t end = now_ms() + ms;

	event_add(t, &tv);
	while (now_ms() < end && (flag == NULL || *flag == 0))
		event_base_loop(base, EVLOOP_ONCE);
	event_free(t);
}

static int
append_one(struct gh_pg *db, int commit, int64_t *id)
{
	if (gh_pg_tx_begin(db, 0) != 0 ||
	    gh_outbox_append(db, "carbon.super", "test.listen", "{}", id) != 0)
		return -1;
	if (!commit) {
		gh_pg_tx_rollback(db);
		return 0;
	}
	return gh_pg_tx_commit(db);
}

static void
test_listen(struct gh_pg *db)
{
	struct event_base *base = event_base_new();
	struct listen_state ls = { 0, 0 };
	struct gh_outbox_listener *l;
	int64_t id = 0, rolled = 0, maxid = 0, end;
	int pid, pid2;
	char pbuf[24];
	const char *p[1];

	TH_TEST("listener: ready with a catch-up of the current max id");
	l = gh_outbox_listener_new(base, main_ci, on_notify, &ls);
	TH_CHECK(l != NULL);
	run_loop(base, &ls.calls, 5000);
	TH_CHECK(gh_outbox_listener_ready(l));
	TH_CHECK_EQ_INT(ls.calls, 1);
	gh_pg_query_int64(db, "SELECT max(id) FROM gh_events", 0, NULL, &maxid);
	TH_CHECK_EQ_INT(ls.max, maxid);

	TH_TEST("listener: nothing for a rolled-back append, the id for a committed one");
	ls.calls = 0;
	TH_CHECK(append_one(db, 0, &rolled) == 0);
	run_loop(base, NULL, 300);
	TH_CHECK_EQ_INT(ls.calls, 0);
	TH_CHECK(append_one(db, 1, &id) == 0);
	TH_CHECK(id > rolled);
	run_loop(base, &ls.calls, 3000);
	TH_CHECK_EQ_INT(ls.calls, 1);
	TH_CHECK_EQ_INT(ls.max, id);

	TH_TEST("listener: reconnects and LISTENs again after its backend is killed");
	pid = gh_outbox_listener_pid(l);
	TH_CHECK(pid > 0);
	p[0] = gh_pg_i64(pbuf, pid);
	TH_CHECK_EQ_INT(q64(db, "SELECT pg_terminate_backend($1::int)::int", 1, p), 1);
	TH_CHECK(append_one(db, 1, &id) == 0);
	end = now_ms() + 5000;
	while (now_ms() < end && ls.max < id)
		run_loop(base, NULL, 20);
	TH_CHECK_EQ_INT(ls.max, id);	/* by notification or by the catch-up query */
	end = now_ms() + 3000;
	while (now_ms() < end && !gh_outbox_listener_ready(l))
		run_loop(base, NULL, 20);
	pid2 = gh_outbox_listener_pid(l);
	TH_CHECK(gh_outbox_listener_ready(l));
	TH_CHECK(pid2 > 0 && pid2 != pid);
	ls.calls = 0;
	TH_CHECK(append_one(db, 1, &id) == 0);
	run_loop(base, &ls.calls, 3000);
	TH_CHECK_EQ_INT(ls.max, id);
	gh_outbox_listener_free(l);
	event_base_free(base);
}

/* ---- event-loop pool ------------------------------------------------ */

#define POOL_JOBS 100

struct pool_job_arg {
	int idx;
	int pid;
	int rc;
	int calls;
	int on_loop;
	char sqlstate[6];
	int sleep_ms;
};

static pthread_t loop_thread;
static int pool_done, pool_target;
static struct event_base *pool_base;

static int
pool_fn(struct gh_pg *db, void *arg)
{
	struct pool_job_arg *ja = arg;
	char ibuf[24], sbuf[24];
	const char *p[2] = { gh_pg_i64(ibuf, ja->idx), gh_pg_i64(sbuf, ja->sleep_ms) };
	int64_t pid;

	if (gh_pg_cmd(db, "INSERT INTO pool_t (job) VALUES ($1::int)", 1, p, NULL) != 0)
		return -1;
	if (gh_pg_query_int64(db, "SELECT pg_backend_pid() FROM pg_sleep($2::int / 1000.0), "
	    "(SELECT $1::int) AS j", 2, p, &pid) != 0)
		return -1;
	ja->pid = (int)pid;
	return 0;
}

static int
pool_dup_fn(struct gh_pg *db, void *arg)
{
	(void)arg;
	return gh_pg_cmd(db, "INSERT INTO gh_tenants (domain, name) VALUES ('carbon.super', 'x')", 0, NULL, NULL);
}

static void
pool_done_cb(int rc, const char *sqlstate, const char *message, void *arg)
{
	struct pool_job_arg *ja = arg;

	(void)message;
	ja->rc = rc;
	ja->calls++;
	ja->on_loop = pthread_equal(pthread_self(), loop_thread);
	snprintf(ja->sqlstate, sizeof(ja->sqlstate), "%s", sqlstate);
	if (++pool_done == pool_target)
		event_base_loopbreak(pool_base);
}

static int
has_pid(const int *pids, int n, int pid)
{
	for (int i = 0; i < n; i++)
		if (pids[i] == pid)
			return 1;
	return 0;
}

/* Distinct pids of jobs[0..n) into out; returns how many. */
static int
distinct_pids(const struct pool_job_arg *jobs, int n, int *out)
{
	int k = 0;

	for (int i = 0; i < n; i++)
		if (jobs[i].pid > 0 && !has_pid(out, k, jobs[i].pid))
			out[k++] = jobs[i].pid;
	return k;
}

static void
stop_loop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

/* Queue n jobs and run the loop until all are done (10 s at most). */
static void
pool_batch(struct gh_pg_pool *pool, struct pool_job_arg *jobs, int n, int sleep_ms, int *ticks)
{
	struct event *t = event_new(pool_base, -1, EV_PERSIST, tick, ticks);
	struct event *guard;
	struct timeval tv = { 0, 5000 }, limit = { 10, 0 };

	pool_done = 0;
	pool_target = n;
	for (int i = 0; i < n; i++) {
		memset(&jobs[i], 0, sizeof(jobs[i]));
		jobs[i].idx = i;
		jobs[i].sleep_ms = sleep_ms;
		gh_pg_pool_run(pool, 0, pool_fn, pool_done_cb, &jobs[i]);
	}
	event_add(t, &tv);
	guard = evtimer_new(pool_base, stop_loop, pool_base);
	event_add(guard, &limit);
	event_base_dispatch(pool_base);
	event_free(guard);
	event_free(t);
}

static void
test_pool(struct gh_pg *db)
{
	static struct pool_job_arg jobs[POOL_JOBS], again[40], tail[20], dup;
	struct gh_pg_pool *pool;
	int pids[64], pids2[64], npids, npids2, ok = 0, on_loop = 0, ticks = 0, fresh = 0, calls = 0;
	int victim, cancelled = 0;
	char vbuf[24];
	const char *p[1];
	int64_t end, gone = 1;

	loop_thread = pthread_self();
	pool_base = event_base_new();
	TH_CHECK(gh_pg_cmd(db, "CREATE TABLE pool_t (job int)", 0, NULL, NULL) == 0);

	TH_TEST("pool: 100 jobs on 4 connections, callbacks on the loop, loop never blocked");
	pool = gh_pg_pool_new(pool_base, main_ci, 4);
	TH_CHECK(pool != NULL);
	if (pool == NULL)
		return;
	pool_batch(pool, jobs, POOL_JOBS, 10, &ticks);
	for (int i = 0; i < POOL_JOBS; i++) {
		ok += jobs[i].rc == 0 && jobs[i].calls == 1 && jobs[i].pid > 0;
		on_loop += jobs[i].on_loop;
	}
	TH_CHECK_EQ_INT(ok, POOL_JOBS);
	TH_CHECK_EQ_INT(on_loop, POOL_JOBS);
	TH_CHECK_EQ_INT(gh_pg_pool_pending(pool), 0);
	npids = distinct_pids(jobs, POOL_JOBS, pids);
	TH_CHECK(npids >= 2 && npids <= 4);
	TH_CHECK_EQ_INT(q64(db, "SELECT count(*) FROM pool_t", 0, NULL), POOL_JOBS);
	TH_CHECK_EQ_INT(q64(db, "SELECT count(DISTINCT job) FROM pool_t", 0, NULL), POOL_JOBS);
	/* 100 jobs of 10 ms on 4 connections take >= 250 ms; the 5 ms timer kept ticking. */
	TH_CHECK_MSG(ticks >= 20, "only %d ticks", ticks);
	printf("# pool: %d connections used, %d loop ticks meanwhile\n", npids, ticks);

	TH_TEST("pool: SQLSTATE reaches the done callback");
	pool_done = 0;
	pool_target = 1;
	gh_pg_pool_run(pool, 0, pool_dup_fn, pool_done_cb, &dup);
	event_base_dispatch(pool_base);
	TH_CHECK_EQ_INT(dup.rc, -1);
	TH_CHECK_EQ_STR(dup.sqlstate, "23505");

	TH_TEST("pool: a terminated connection is replaced");
	victim = pids[0];
	p[0] = gh_pg_i64(vbuf, victim);
	TH_CHECK_EQ_INT(q64(db, "SELECT pg_terminate_backend($1::int)::int", 1, p), 1);
	end = now_ms() + 3000;
	while (now_ms() < end && gone != 0) {
		gone = q64(db, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1::int", 1, p);
		usleep(10000);
	}
	TH_CHECK_EQ_INT(gone, 0);
	pool_batch(pool, again, 40, 10, &ticks);
	ok = 0;
	for (int i = 0; i < 40; i++)
		ok += again[i].rc == 0 && again[i].calls == 1;
	TH_CHECK_EQ_INT(ok, 40);
	npids2 = distinct_pids(again, 40, pids2);
	for (int i = 0; i < npids2; i++)
		fresh += !has_pid(pids, npids, pids2[i]);
	TH_CHECK(!has_pid(pids2, npids2, victim));
	TH_CHECK_MSG(fresh >= 1, "no new backend among %d", npids2);

	TH_TEST("pool: free runs every callback once (finished or cancelled)");
	for (int i = 0; i < 20; i++) {
		memset(&tail[i], 0, sizeof(tail[i]));
		tail[i].idx = 1000 + i;
		tail[i].sleep_ms = 30;
		gh_pg_pool_run(pool, 0, pool_fn, pool_done_cb, &tail[i]);
	}
	usleep(10000);
	gh_pg_pool_free(pool);
	for (int i = 0; i < 20; i++) {
		calls += tail[i].calls;
		cancelled += tail[i].rc == GH_PG_CANCELLED;
	}
	TH_CHECK_EQ_INT(calls, 20);
	TH_CHECK(cancelled >= 1);
	event_base_free(pool_base);
}

int
main(int argc, char **argv)
{
	struct gh_pg *db;
	char err[512] = "";

	if (argc < 3) {
		fprintf(stderr, "usage: test_pg MAIN_CONNINFO MIGRATION_CONNINFO\n");
		printf("0 passed, 1 failed\n");
		return 1;
	}
	main_ci = argv[1];
	mig_ci = argv[2];
	gh_log_init("test_pg", 2, getenv("GH_TEST_VERBOSE") != NULL ? GH_LOG_INFO : GH_LOG_ERROR);
	test_connect_failure();
	db = gh_pg_connect(main_ci, err, sizeof(err));
	TH_TEST("connect");
	TH_CHECK_MSG(db != NULL, "%s", err);
	if (db == NULL)
		TH_END();
	test_migrations(db);
	test_hostile(db);
	test_errors_and_tx(db);
	test_outbox_api(db);
	test_outbox_order(db);
	test_listen(db);
	test_pool(db);
	gh_pg_close(db);
	TH_END();
}
