/*
 * PostgreSQL access for the control plane (publisher, portal, keymanager,
 * trafficmanager).  No gateway links this library.
 *
 * Rules every caller can rely on:
 *   - SQL text is always a constant of the caller's source; values travel
 *     only as parameters ($1, $2, ...) through PQexecParams or
 *     PQsendQueryParams.  No function here takes SQL built from data.
 *   - Text parameters cannot carry a NUL byte: the counted API refuses one
 *     (SQLSTATE 22021) before anything reaches libpq.
 *   - Every failing call leaves the SQLSTATE and message on the connection
 *     (gh_pg_sqlstate, gh_pg_errmsg): 23505 is a unique violation (map it
 *     to 409), 40001/40P01 serialization failure/deadlock (retried by
 *     gh_pg_run_tx), 08xxx a lost or refused connection.
 *
 * Two ways to use it:
 *   - Blocking (commands such as `gatehouse init`, tests, and the worker
 *     threads of the pool): gh_pg_connect, gh_pg_exec..., gh_pg_run_tx.
 *   - Event loop (services): gh_pg_pool_new makes N worker threads, each
 *     owning one connection.  gh_pg_pool_run queues "run this function in a
 *     transaction on some pooled connection"; a worker runs it with the
 *     blocking API (so a job may hold a multi-statement transaction), then
 *     posts the completion back, and the done callback runs on the loop
 *     thread.  The loop itself never waits on the database.
 *   - gh_outbox_listener: a LISTEN gh_events connection driven by the loop
 *     (libpq async on PQsocket), for the feed's long-poll wake-ups.
 *
 * Ownership: a struct gh_pg is used by one thread at a time.  PGresult
 * pointers returned here are the caller's and are freed with PQclear.
 */
#ifndef GH_PG_H
#define GH_PG_H

#include <stddef.h>
#include <stdint.h>
#include <postgresql/libpq-fe.h>

struct event_base;
struct gh_pg;

/* SQLSTATEs this library sets itself (others come from the server). */
#define GH_PG_SQLSTATE_NUL_IN_TEXT	"22021"	/* text parameter held a NUL */
#define GH_PG_SQLSTATE_BAD_ARG		"22023"	/* misuse: bad parameter count */
#define GH_PG_SQLSTATE_CONN_REFUSED	"08001"	/* could not connect */
#define GH_PG_SQLSTATE_CONN_LOST	"08006"	/* connection broke */
#define GH_PG_SQLSTATE_COMMIT_UNKNOWN	"08007"	/* lost during COMMIT */
#define GH_PG_SQLSTATE_NOMEM		"53200"

/* Advisory lock keys (pg_advisory_xact_lock) owned by this library. */
#define GH_PG_LOCK_OUTBOX	INT64_C(0x67685f6f7574626f)	/* "gh_outbo" */
#define GH_PG_LOCK_MIGRATE	INT64_C(0x67685f6d69677261)	/* "gh_migra" */

/* ---- connections (pg.c) ------------------------------------------- */

struct gh_settings;

/*
 * The conninfo of a node configuration's db.* settings (each value quoted
 * and escaped; conninfo.c).  malloc'd, holds the password: free with
 * gh_free_secret.  NULL when too long or out of memory.
 */
char *gh_pg_conninfo(const struct gh_settings *s);

/*
 * Allocate a handle for conninfo (a libpq connection string, copied)
 * without connecting; the first use connects.  Returns NULL only when out
 * of memory.  Free with gh_pg_close.
 */
struct gh_pg *gh_pg_new(const char *conninfo);

/*
 * Allocate and connect.  Returns the handle, or NULL when the connection
 * failed, after writing libpq's reason into errbuf (errlen bytes; errbuf
 * may be NULL).  Free with gh_pg_close.
 */
struct gh_pg *gh_pg_connect(const char *conninfo, char *errbuf, size_t errlen);

/* Close the connection and free the handle.  NULL is accepted. */
void gh_pg_close(struct gh_pg *db);

/*
 * Make sure the handle has a live connection: (re)connect when it has
 * none, when libpq marks it broken, or when the idle socket shows that the
 * server closed it (pg_terminate_backend, restart).  Never reconnects
 * inside an open transaction (that would silently lose its statements).
 * Returns 0 when connected, -1 with SQLSTATE 08001/08006 otherwise.
 * Every exec function calls it first, so callers rarely need it.
 */
int gh_pg_ensure(struct gh_pg *db);

/* SQLSTATE of the last failure ("" after a success); never NULL. */
const char *gh_pg_sqlstate(const struct gh_pg *db);

/* Message of the last failure ("" after a success); never NULL. */
const char *gh_pg_errmsg(const struct gh_pg *db);

/*
 * Record a failure of the caller's own (sqlstate: 5 characters, message
 * copied), e.g. before a transaction body returns -1 for a reason that
 * did not come from the server.
 */
void gh_pg_set_error(struct gh_pg *db, const char *sqlstate, const char *message);

/* 1 when the last failure had exactly this SQLSTATE (e.g. "23505"). */
int gh_pg_is(const struct gh_pg *db, const char *sqlstate);

/* The libpq connection (NULL before the first connect); borrowed. */
PGconn *gh_pg_raw(struct gh_pg *db);

/* Server process id of the connection, 0 when not connected. */
int gh_pg_backend_pid(const struct gh_pg *db);

/* Number of times this handle (re)established its connection. */
unsigned gh_pg_connects(const struct gh_pg *db);

/* ---- statements (pg.c) -------------------------------------------- */

/*
 * Run one statement, sql a constant with $1..$n placeholders, params[i]
 * a NUL-terminated text value or NULL for SQL NULL.  Returns the result
 * (PGRES_TUPLES_OK or PGRES_COMMAND_OK), which the caller frees with
 * PQclear, or NULL on failure with the SQLSTATE and message on db.
 */
PGresult *gh_pg_exec(struct gh_pg *db, const char *sql, int nparams,
    const char *const *params);

/*
 * Same with counted values: lens[i] bytes of params[i] (lens may be NULL:
 * then every value is a C string).  binary may be NULL; binary[i] != 0
 * sends params[i] as raw bytes for a bytea parameter (any byte allowed).
 * A text value that contains a NUL byte is refused before libpq sees it
 * (NULL returned, SQLSTATE 22021).
 */
PGresult *gh_pg_exec_len(struct gh_pg *db, const char *sql, int nparams,
    const char *const *params, const size_t *lens, const int *binary);

/*
 * Run a statement and drop its result.  *affected (may be NULL) receives
 * the number of rows it inserted, updated, deleted or returned.
 * Returns 0, or -1 with the SQLSTATE on db.
 */
int gh_pg_cmd(struct gh_pg *db, const char *sql, int nparams,
    const char *const *params, int64_t *affected);

/*
 * Run a query whose first row's first column is an integer (count(*),
 * RETURNING id, ...) into *out.  Returns 0; 1 when there is no row or the
 * value is NULL (*out untouched); -1 on failure.
 */
int gh_pg_query_int64(struct gh_pg *db, const char *sql, int nparams,
    const char *const *params, int64_t *out);

/* ---- result helpers (pg.c) ---------------------------------------- */

/* Rows in a result. */
int gh_pg_nrows(const PGresult *res);

/* Text value at (row, col), borrowed from res; NULL for SQL NULL or out of range. */
const char *gh_pg_get(const PGresult *res, int row, int col);

/* Length in bytes of the value at (row, col); 0 for NULL. */
size_t gh_pg_get_len(const PGresult *res, int row, int col);

/* Integer value at (row, col) into *out.  Returns 0, -1 for NULL or not an integer. */
int gh_pg_get_int64(const PGresult *res, int row, int col, int64_t *out);

/*
 * bytea value at (row, col), decoded into a malloc'd buffer of *len bytes
 * that the caller frees (explicit_bzero first if it is secret).  NULL for
 * SQL NULL or when out of memory.
 */
unsigned char *gh_pg_get_bytea(const PGresult *res, int row, int col, size_t *len);

/* Format v as decimal text into buf (at least 21 bytes); returns buf. */
char *gh_pg_i64(char *buf, int64_t v);

/* ---- transactions (pg.c) ------------------------------------------ */

#define GH_PG_TX_SERIALIZABLE	0x1	/* ISOLATION LEVEL SERIALIZABLE */
#define GH_PG_TX_READ_ONLY	0x2	/* READ ONLY */
#define GH_PG_NO_TX		0x4	/* pool only: call fn outside a transaction */

/* BEGIN with flags above (0: READ COMMITTED, read-write).  0 or -1. */
int gh_pg_tx_begin(struct gh_pg *db, int flags);

/*
 * COMMIT.  Returns 0, or -1: the transaction did not commit (SQLSTATE of
 * the reason, e.g. 40001), or 08007 when the connection broke during
 * COMMIT and the outcome is unknown.
 */
int gh_pg_tx_commit(struct gh_pg *db);

/* ROLLBACK; keeps the SQLSTATE of the failure that caused it.  Safe on a broken connection. */
void gh_pg_tx_rollback(struct gh_pg *db);

/* 1 inside a transaction opened with gh_pg_tx_begin. */
int gh_pg_in_tx(const struct gh_pg *db);

/*
 * A transaction body: runs on db inside BEGIN...; returns 0 to commit,
 * anything else to roll back (-1 for a database failure, whose SQLSTATE
 * is on db; positive values are the caller's own reasons).
 */
typedef int (*gh_pg_tx_fn)(struct gh_pg *db, void *arg);

/*
 * Run fn(db, arg) in a transaction (flags as gh_pg_tx_begin) and commit.
 * The whole transaction is retried, up to 5 attempts with a short random
 * back-off, on serialization failure (40001), deadlock (40P01) and on a
 * connection lost before COMMIT was sent (reconnecting first), so fn must
 * be safe to run again: it should only write its outputs into arg.
 * Returns 0 when committed, fn's non-zero value when fn asked for a
 * rollback, or -1 when the database failed (SQLSTATE on db).
 */
int gh_pg_run_tx(struct gh_pg *db, int flags, gh_pg_tx_fn fn, void *arg);

/* ---- event-loop pool (pool.c) ------------------------------------- */

struct gh_pg_pool;

/*
 * Called on the loop thread when a job ends: rc as gh_pg_run_tx returns
 * (or GH_PG_CANCELLED when the pool was freed first); sqlstate and message
 * describe a failure ("" otherwise) and are valid during the call only.
 */
typedef void (*gh_pg_done_fn)(int rc, const char *sqlstate,
    const char *message, void *arg);

#define GH_PG_CANCELLED	(-2)

/*
 * Start nconns worker threads (1..64), each owning one connection to
 * conninfo (copied), made lazily and replaced when broken.  Completions
 * are delivered on base through an eventfd, so base needs no thread
 * locking.  Returns NULL on failure.  Use from the loop thread only.
 */
struct gh_pg_pool *gh_pg_pool_new(struct event_base *base,
    const char *conninfo, int nconns);

/*
 * Queue a job: some worker runs fn(db, arg) via gh_pg_run_tx(flags) (or
 * directly with GH_PG_NO_TX), then done(rc, ..., arg) runs on the loop.
 * fn runs on a worker thread: it must touch only arg and db.  arg is the
 * caller's until done has run.  Returns 0, or -1 when out of memory or the
 * pool is shutting down (done will not be called).
 */
int gh_pg_pool_run(struct gh_pg_pool *pool, int flags, gh_pg_tx_fn fn,
    gh_pg_done_fn done, void *arg);

/* Jobs queued or running and not yet delivered. */
int gh_pg_pool_pending(const struct gh_pg_pool *pool);

/*
 * Stop the pool from the loop thread: running jobs finish, their done
 * callbacks and those of jobs never started (rc GH_PG_CANCELLED) run
 * before this returns, connections are closed.  NULL is accepted.
 */
void gh_pg_pool_free(struct gh_pg_pool *pool);

/* ---- schema migrations (migrate.c, schema.c) ---------------------- */

struct gh_pg_migration {
	int version;			/* > 0, strictly increasing in a table */
	const char *name;
	const char *const *stmts;	/* constant statements, NULL-terminated */
};

/* The built-in schema of Gatehouse (schema.c), in version order. */
extern const struct gh_pg_migration gh_schema[];
extern const size_t gh_schema_count;

/*
 * Apply each migration of m[0..n) not yet recorded in
 * gh_schema_migrations(version, name, applied_at), in order, each in its
 * own transaction holding pg_advisory_xact_lock(GH_PG_LOCK_MIGRATE), so
 * concurrent migrators apply every version exactly once.  Returns how
 * many were applied (0: nothing to do), or -1 with the SQLSTATE on db
 * (the failing migration is rolled back, earlier ones stay).
 */
int gh_pg_migrate(struct gh_pg *db, const struct gh_pg_migration *m, size_t n);

/* gh_pg_migrate with the built-in schema. */
int gh_pg_migrate_schema(struct gh_pg *db);

/* Highest applied version into *out (0 when none).  0 or -1. */
int gh_pg_schema_version(struct gh_pg *db, int64_t *out);

/* ---- outbox (outbox.c, listen.c) ---------------------------------- */

#define GH_OUTBOX_CHANNEL	"gh_events"

/*
 * Append an event in the caller's open transaction (db must be inside
 * gh_pg_tx_begin or a gh_pg_run_tx body).  Takes
 * pg_advisory_xact_lock(GH_PG_LOCK_OUTBOX) FIRST, then inserts, then
 * pg_notify('gh_events', id): writers of events are serialized from
 * their first event to their COMMIT, so ids commit in increasing order and
 * a reader that has seen id N never later finds a committed id below N.
 * Append as late in a transaction as possible: the lock is held until
 * COMMIT.  payload_json must be valid JSON (22P02 otherwise).  *id_out
 * (may be NULL) receives the id.  Returns 0 or -1 (SQLSTATE on db; -1
 * with 25P01 when db is not in a transaction).
 */
int gh_outbox_append(struct gh_pg *db, const char *tenant, const char *type,
    const char *payload_json, int64_t *id_out);

/*
 * The same for an event that only some gateway environments may see:
 * environments_json is a JSON array of environment names (the feed serves
 * the event only to those), or NULL for every environment (what
 * gh_outbox_append writes).
 */
int gh_outbox_append_env(struct gh_pg *db, const char *tenant, const char *type,
    const char *payload_json, const char *environments_json, int64_t *id_out);

struct gh_outbox_event {
	int64_t id;
	char *tenant;
	char *type;
	char *payload;		/* JSON text as stored (jsonb normal form) */
	int64_t created_ms;	/* Unix time in milliseconds */
};

/*
 * Read up to limit (1..10000) events with id > after_id in id order into a
 * malloc'd array (*events_out, *n_out; NULL/0 when none), freed with
 * gh_outbox_events_free.  Returns 0 or -1.
 */
int gh_outbox_read(struct gh_pg *db, int64_t after_id, int limit,
    struct gh_outbox_event **events_out, size_t *n_out);

/* Free an array from gh_outbox_read.  NULL is accepted. */
void gh_outbox_events_free(struct gh_outbox_event *ev, size_t n);

/*
 * Delete events older than retention_seconds, always keeping the newest
 * one, and raise the "pruned through" mark (gh_outbox_pruned_through) to
 * the highest id deleted, in one transaction of its own (db must not be in
 * one).  *deleted (may be NULL) receives the count.  Returns 0 or -1.
 */
int gh_outbox_prune(struct gh_pg *db, int64_t retention_seconds, int64_t *deleted);

/* Lowest id still in gh_events into *id_out (0 when empty).  0 or -1. */
int gh_outbox_oldest_id(struct gh_pg *db, int64_t *id_out);

/*
 * Highest id ever pruned into *id_out (0 when none).  A reader whose last
 * applied id is below it has missed events: the feed answers 410 Gone and
 * the reader takes a fresh snapshot.  0 or -1.
 */
int gh_outbox_pruned_through(struct gh_pg *db, int64_t *id_out);

/*
 * Test only: append without the advisory lock (1) or with it (0, the
 * default), to show what the lock prevents.  Never called by services.
 */
void gh_outbox_testing_skip_lock(int skip);

struct gh_outbox_listener;

/*
 * Called on the loop thread with the highest event id announced: after
 * each batch of notifications, and once after every (re)connect with
 * SELECT max(id) (so nothing missed while disconnected stays unnoticed).
 */
typedef void (*gh_outbox_notify_fn)(int64_t max_id, void *arg);

/*
 * A dedicated connection to conninfo (copied) that LISTENs on gh_events,
 * driven by events on PQsocket of base (connect, LISTEN and the catch-up
 * query are all non-blocking).  On failure it reconnects with back-off
 * (50 ms doubling to 2 s) and LISTENs again.  Returns NULL when out of
 * memory; connection trouble is retried, never returned.
 */
struct gh_outbox_listener *gh_outbox_listener_new(struct event_base *base,
    const char *conninfo, gh_outbox_notify_fn cb, void *arg);

/* 1 when connected and LISTENing. */
int gh_outbox_listener_ready(const struct gh_outbox_listener *l);

/* Server process id of the listening connection, 0 when none. */
int gh_outbox_listener_pid(const struct gh_outbox_listener *l);

/* Close and free (loop thread).  NULL is accepted. */
void gh_outbox_listener_free(struct gh_outbox_listener *l);

#endif
