/*
 * The blocking PostgreSQL handle: one libpq connection, its conninfo (to
 * reconnect on next use after a break) and the SQLSTATE and message of
 * the last failure.  Statements go only through PQexecParams with
 * parameters; text parameters holding a NUL are refused here.  Also the
 * transaction helpers and gh_pg_run_tx with its retry rules.  A handle
 * is owned by one thread at a time; results belong to the caller.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/gh_log.h"
#include "pg/gh_pg.h"

#define RUN_TX_ATTEMPTS	5

struct gh_pg {
	char *conninfo;
	PGconn *conn;
	int in_tx;
	unsigned connects;
	char sqlstate[6];
	char errmsg[512];
};

static void
set_err(struct gh_pg *db, const char *state, const char *msg)
{
	size_t n;

	snprintf(db->sqlstate, sizeof(db->sqlstate), "%s", state);
	snprintf(db->errmsg, sizeof(db->errmsg), "%s", msg != NULL ? msg : "");
	n = strlen(db->errmsg);
	while (n > 0 && (db->errmsg[n - 1] == '\n' || db->errmsg[n - 1] == ' '))
		db->errmsg[--n] = '\0';
}

static void
clear_err(struct gh_pg *db)
{
	db->sqlstate[0] = '\0';
	db->errmsg[0] = '\0';
}

/* Server notices (e.g. "relation already exists, skipping") go to the debug log, not stderr. */
static void
notice_to_log(void *arg, const char *message)
{
	(void)arg;
	gh_log_debug("pg_notice", NULL, "%s", message);
}

struct gh_pg *
gh_pg_new(const char *conninfo)
{
	struct gh_pg *db;

	db = calloc(1, sizeof(*db));
	if (db == NULL)
		return NULL;
	db->conninfo = strdup(conninfo != NULL ? conninfo : "");
	if (db->conninfo == NULL) {
		free(db);
		return NULL;
	}
	return db;
}

struct gh_pg *
gh_pg_connect(const char *conninfo, char *errbuf, size_t errlen)
{
	struct gh_pg *db;

	db = gh_pg_new(conninfo);
	if (db == NULL) {
		if (errbuf != NULL && errlen > 0)
			snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	if (gh_pg_ensure(db) != 0) {
		if (errbuf != NULL && errlen > 0)
			snprintf(errbuf, errlen, "%s", db->errmsg);
		gh_pg_close(db);
		return NULL;
	}
	return db;
}

void
gh_pg_close(struct gh_pg *db)
{
	if (db == NULL)
		return;
	if (db->conn != NULL)
		PQfinish(db->conn);
	free(db->conninfo);
	free(db);
}

/*
 * An idle connection has nothing to say: if its socket is readable, the
 * server sent a FATAL message or closed it.  Read what is there (up to a
 * few rounds, the message then the EOF) and report whether libpq now
 * considers it broken.
 */
static int
idle_conn_broken(PGconn *conn)
{
	struct pollfd pfd;

	for (int i = 0; i < 8; i++) {
		if (PQstatus(conn) != CONNECTION_OK)
			return 1;
		pfd.fd = PQsocket(conn);
		if (pfd.fd < 0)
			return 1;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, 0) <= 0)
			return 0;
		if (pfd.revents & (POLLERR | POLLNVAL))
			return 1;
		if (PQconsumeInput(conn) == 0)
			return 1;
		/* Drop stray notifications: nobody LISTENs on a pooled connection. */
		for (PGnotify *n; (n = PQnotifies(conn)) != NULL;)
			PQfreemem(n);
	}
	return PQstatus(conn) != CONNECTION_OK;
}

int
gh_pg_ensure(struct gh_pg *db)
{
	if (db->conn != NULL && !db->in_tx && idle_conn_broken(db->conn)) {
		gh_log_warn("pg_reconnect", NULL, "connection lost (%s); reconnecting",
		    PQerrorMessage(db->conn));
		PQfinish(db->conn);
		db->conn = NULL;
	}
	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
		return 0;
	if (db->in_tx) {
		set_err(db, GH_PG_SQLSTATE_CONN_LOST,
		    "connection lost inside a transaction");
		return -1;
	}
	if (db->conn != NULL) {
		PQfinish(db->conn);
		db->conn = NULL;
	}
	db->conn = PQconnectdb(db->conninfo);
	if (db->conn == NULL) {
		set_err(db, GH_PG_SQLSTATE_NOMEM, "out of memory");
		return -1;
	}
	if (PQstatus(db->conn) != CONNECTION_OK) {
		set_err(db, GH_PG_SQLSTATE_CONN_REFUSED, PQerrorMessage(db->conn));
		PQfinish(db->conn);
		db->conn = NULL;
		return -1;
	}
	PQsetNoticeProcessor(db->conn, notice_to_log, NULL);
	db->connects++;
	return 0;
}

const char *
gh_pg_sqlstate(const struct gh_pg *db)
{
	return db->sqlstate;
}

const char *
gh_pg_errmsg(const struct gh_pg *db)
{
	return db->errmsg;
}

void
gh_pg_set_error(struct gh_pg *db, const char *sqlstate, const char *message)
{
	set_err(db, sqlstate != NULL ? sqlstate : "", message);
}

int
gh_pg_is(const struct gh_pg *db, const char *sqlstate)
{
	return strcmp(db->sqlstate, sqlstate) == 0;
}

PGconn *
gh_pg_raw(struct gh_pg *db)
{
	return db->conn;
}

int
gh_pg_backend_pid(const struct gh_pg *db)
{
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK)
		return 0;
	return PQbackendPID(db->conn);
}

unsigned
gh_pg_connects(const struct gh_pg *db)
{
	return db->connects;
}

/* Take the error of a failed result (or of the connection when res is NULL). */
static void
set_err_from(struct gh_pg *db, const PGresult *res)
{
	const char *state = NULL, *msg = NULL;

	if (res != NULL) {
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		if (msg == NULL)
			msg = PQresultErrorMessage(res);
	}
	if (msg == NULL || msg[0] == '\0')
		msg = PQerrorMessage(db->conn);
	if (state == NULL)
		state = PQstatus(db->conn) != CONNECTION_OK ?
		    GH_PG_SQLSTATE_CONN_LOST : "XX000";
	set_err(db, state, msg);
}

PGresult *
gh_pg_exec_len(struct gh_pg *db, const char *sql, int nparams,
    const char *const *params, const size_t *lens, const int *binary)
{
	int *plens = NULL, *pfmts = NULL;
	PGresult *res;
	ExecStatusType st;

	clear_err(db);
	if (sql == NULL || nparams < 0 || nparams > 65535 ||
	    (nparams > 0 && params == NULL)) {
		set_err(db, GH_PG_SQLSTATE_BAD_ARG, "bad statement or parameter count");
		return NULL;
	}
	if (lens != NULL || binary != NULL) {
		plens = calloc((size_t)nparams + 1, sizeof(*plens));
		pfmts = calloc((size_t)nparams + 1, sizeof(*pfmts));
		if (plens == NULL || pfmts == NULL) {
			set_err(db, GH_PG_SQLSTATE_NOMEM, "out of memory");
			res = NULL;
			goto out;
		}
	}
	for (int i = 0; plens != NULL && i < nparams; i++) {
		size_t len;

		if (params[i] == NULL)
			continue;
		len = lens != NULL ? lens[i] : strlen(params[i]);
		if (len > INT_MAX) {
			set_err(db, GH_PG_SQLSTATE_BAD_ARG, "parameter too long");
			res = NULL;
			goto out;
		}
		pfmts[i] = binary != NULL && binary[i] ? 1 : 0;
		if (!pfmts[i] && memchr(params[i], '\0', len) != NULL) {
			char msg[96];

			snprintf(msg, sizeof(msg),
			    "text parameter $%d contains a NUL byte", i + 1);
			set_err(db, GH_PG_SQLSTATE_NUL_IN_TEXT, msg);
			res = NULL;
			goto out;
		}
		plens[i] = (int)len;
	}
	if (gh_pg_ensure(db) != 0) {
		res = NULL;
		goto out;
	}
	res = PQexecParams(db->conn, sql, nparams, NULL, params, plens, pfmts, 0);
	st = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		set_err_from(db, res);
		PQclear(res);
		res = NULL;
	}
out:
	free(plens);
	free(pfmts);
	return res;
}

PGresult *
gh_pg_exec(struct gh_pg *db, const char *sql, int nparams,
    const char *const *params)
{
	return gh_pg_exec_len(db, sql, nparams, params, NULL, NULL);
}

int
gh_pg_cmd(struct gh_pg *db, const char *sql, int nparams,
    const char *const *params, int64_t *affected)
{
	PGresult *res;
	const char *t;

	res = gh_pg_exec(db, sql, nparams, params);
	if (res == NULL)
		return -1;
	if (affected != NULL) {
		t = PQcmdTuples(res);
		*affected = t != NULL && t[0] != '\0' ? strtoll(t, NULL, 10) : 0;
	}
	PQclear(res);
	return 0;
}

int
gh_pg_query_int64(struct gh_pg *db, const char *sql, int nparams,
    const char *const *params, int64_t *out)
{
	PGresult *res;
	int rc;

	res = gh_pg_exec(db, sql, nparams, params);
	if (res == NULL)
		return -1;
	rc = gh_pg_nrows(res) > 0 && gh_pg_get_int64(res, 0, 0, out) == 0 ? 0 : 1;
	PQclear(res);
	return rc;
}

int
gh_pg_nrows(const PGresult *res)
{
	return res != NULL ? PQntuples(res) : 0;
}

const char *
gh_pg_get(const PGresult *res, int row, int col)
{
	if (res == NULL || row < 0 || col < 0 || row >= PQntuples(res) ||
	    col >= PQnfields(res) || PQgetisnull(res, row, col))
		return NULL;
	return PQgetvalue(res, row, col);
}

size_t
gh_pg_get_len(const PGresult *res, int row, int col)
{
	if (gh_pg_get(res, row, col) == NULL)
		return 0;
	return (size_t)PQgetlength(res, row, col);
}

int
gh_pg_get_int64(const PGresult *res, int row, int col, int64_t *out)
{
	const char *s = gh_pg_get(res, row, col);
	char *end;
	long long v;

	if (s == NULL || s[0] == '\0')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

unsigned char *
gh_pg_get_bytea(const PGresult *res, int row, int col, size_t *len)
{
	const char *s = gh_pg_get(res, row, col);
	unsigned char *raw, *copy;
	size_t n;

	if (s == NULL)
		return NULL;
	raw = PQunescapeBytea((const unsigned char *)s, &n);
	if (raw == NULL)
		return NULL;
	copy = malloc(n > 0 ? n : 1);
	if (copy != NULL) {
		memcpy(copy, raw, n);
		*len = n;
	}
	explicit_bzero(raw, n);
	PQfreemem(raw);
	return copy;
}

char *
gh_pg_i64(char *buf, int64_t v)
{
	snprintf(buf, 21, "%" PRId64, v);
	return buf;
}

int
gh_pg_tx_begin(struct gh_pg *db, int flags)
{
	static const char *const begins[4] = {
		"BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE",
		"BEGIN ISOLATION LEVEL SERIALIZABLE READ WRITE",
		"BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY",
		"BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY",
	};

	if (db->in_tx) {
		set_err(db, "25001", "a transaction is already open");
		return -1;
	}
	if (gh_pg_cmd(db, begins[flags & 3], 0, NULL, NULL) != 0)
		return -1;
	db->in_tx = 1;
	return 0;
}

int
gh_pg_tx_commit(struct gh_pg *db)
{
	PGresult *res;
	int rc = 0;

	if (!db->in_tx) {
		set_err(db, "25P01", "no transaction is open");
		return -1;
	}
	res = gh_pg_exec(db, "COMMIT", 0, NULL);
	db->in_tx = 0;
	if (res == NULL) {
		if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK)
			set_err(db, GH_PG_SQLSTATE_COMMIT_UNKNOWN,
			    "connection lost during COMMIT; outcome unknown");
		return -1;
	}
	/* COMMIT of an aborted transaction answers "ROLLBACK". */
	if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
		set_err(db, "40000", "transaction was aborted and rolled back");
		rc = -1;
	}
	PQclear(res);
	return rc;
}

void
gh_pg_tx_rollback(struct gh_pg *db)
{
	char state[6], msg[sizeof(db->errmsg)];
	PGresult *res;

	if (!db->in_tx)
		return;
	db->in_tx = 0;
	if (db->conn == NULL || PQstatus(db->conn) != CONNECTION_OK)
		return;
	memcpy(state, db->sqlstate, sizeof(state));
	memcpy(msg, db->errmsg, sizeof(msg));
	res = PQexecParams(db->conn, "ROLLBACK", 0, NULL, NULL, NULL, NULL, 0);
	PQclear(res);
	memcpy(db->sqlstate, state, sizeof(state));
	memcpy(db->errmsg, msg, sizeof(msg));
}

int
gh_pg_in_tx(const struct gh_pg *db)
{
	return db->in_tx;
}

static int
retryable(const struct gh_pg *db, int commit_sent)
{
	if (gh_pg_is(db, "40001") || gh_pg_is(db, "40P01"))
		return 1;
	/* A transaction cut off before COMMIT was sent certainly rolled back. */
	return !commit_sent && strncmp(db->sqlstate, "08", 2) == 0 &&
	    !gh_pg_is(db, GH_PG_SQLSTATE_COMMIT_UNKNOWN);
}

int
gh_pg_run_tx(struct gh_pg *db, int flags, gh_pg_tx_fn fn, void *arg)
{
	int rc = -1;

	for (int attempt = 1; attempt <= RUN_TX_ATTEMPTS; attempt++) {
		if (attempt > 1) {
			struct timespec ts = { 0, (long)(1 + rand() % (4 << attempt)) * 1000000L };

			nanosleep(&ts, NULL);
		}
		if (gh_pg_tx_begin(db, flags) != 0) {
			rc = -1;
			if (retryable(db, 0))
				continue;
			return rc;
		}
		rc = fn(db, arg);
		if (rc != 0) {
			int dberr = db->sqlstate[0] != '\0';

			gh_pg_tx_rollback(db);
			if (rc == -1 && dberr && retryable(db, 0))
				continue;
			return rc;
		}
		if (gh_pg_tx_commit(db) == 0)
			return 0;
		rc = -1;
		if (!retryable(db, 1))
			return rc;
	}
	return rc;
}
