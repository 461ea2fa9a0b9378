/*
 * The outbox listener: one dedicated libpq connection driven by the event
 * loop without blocking it.  It connects (PQconnectStart/PQconnectPoll),
 * sends LISTEN gh_events, asks for the current max(id) as a catch-up, then
 * sits on PQsocket consuming notifications and reporting the highest id of
 * each batch to its callback.  Any failure closes the connection and
 * retries on a back-off timer.  The loop thread owns everything here.
 */
#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "core/gh_log.h"
#include "pg/gh_pg.h"

#define BACKOFF_MIN_MS	50
#define BACKOFF_MAX_MS	2000

enum listener_state {
	L_DOWN,		/* waiting for the retry timer */
	L_CONNECTING,	/* PQconnectPoll in progress */
	L_LISTEN,	/* LISTEN sent */
	L_CATCHUP,	/* SELECT max(id) sent */
	L_READY,	/* idle, receiving notifications */
};

struct gh_outbox_listener {
	struct event_base *base;
	char *conninfo;
	gh_outbox_notify_fn cb;
	void *arg;
	PGconn *conn;
	struct event *io;
	struct event *retry;
	enum listener_state state;
	int backoff_ms;
	int64_t catchup_max;
};

static void listener_start(struct gh_outbox_listener *l);
static void on_io(evutil_socket_t fd, short what, void *arg);

static void
listener_notice(void *arg, const char *message)
{
	(void)arg;
	gh_log_debug("pg_notice", NULL, "%s", message);
}

static void
close_conn(struct gh_outbox_listener *l)
{
	if (l->io != NULL) {
		event_free(l->io);
		l->io = NULL;
	}
	if (l->conn != NULL) {
		PQfinish(l->conn);
		l->conn = NULL;
	}
}

static void
listener_fail(struct gh_outbox_listener *l, const char *why)
{
	struct timeval tv;

	gh_log_warn("pg_listener", NULL, "%s: %s; retrying in %d ms", why,
	    l->conn != NULL ? PQerrorMessage(l->conn) : "no connection", l->backoff_ms);
	close_conn(l);
	l->state = L_DOWN;
	tv.tv_sec = l->backoff_ms / 1000;
	tv.tv_usec = (l->backoff_ms % 1000) * 1000;
	l->backoff_ms = l->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : l->backoff_ms * 2;
	evtimer_add(l->retry, &tv);
}

/* Watch the socket for what, replacing the previous watch (the socket may change while connecting). */
static int
watch(struct gh_outbox_listener *l, short what)
{
	if (l->io != NULL) {
		event_free(l->io);
		l->io = NULL;
	}
	if (PQsocket(l->conn) < 0)
		return -1;
	l->io = event_new(l->base, PQsocket(l->conn), what, on_io, l);
	if (l->io == NULL || event_add(l->io, NULL) != 0)
		return -1;
	return 0;
}

/* Send a constant query without parameters, then wait for its answer. */
static void
send_query(struct gh_outbox_listener *l, const char *sql, enum listener_state next)
{
	if (PQsendQueryParams(l->conn, sql, 0, NULL, NULL, NULL, NULL, 0) == 0) {
		listener_fail(l, "sending a query failed");
		return;
	}
	l->state = next;
	if (watch(l, EV_READ | EV_WRITE | EV_PERSIST) != 0)
		listener_fail(l, "cannot watch the connection");
}

static void
connect_step(struct gh_outbox_listener *l)
{
	switch (PQconnectPoll(l->conn)) {
	case PGRES_POLLING_READING:
		if (watch(l, EV_READ) != 0)
			listener_fail(l, "cannot watch the connection");
		return;
	case PGRES_POLLING_WRITING:
		if (watch(l, EV_WRITE) != 0)
			listener_fail(l, "cannot watch the connection");
		return;
	case PGRES_POLLING_OK:
		PQsetNoticeProcessor(l->conn, listener_notice, NULL);
		if (PQsetnonblocking(l->conn, 1) != 0) {
			listener_fail(l, "cannot make the connection non-blocking");
			return;
		}
		send_query(l, "LISTEN " GH_OUTBOX_CHANNEL, L_LISTEN);
		return;
	default:
		listener_fail(l, "connect failed");
		return;
	}
}

static int64_t
drain_notifications(struct gh_outbox_listener *l, int *any)
{
	int64_t max = 0;
	PGnotify *n;

	*any = 0;
	while ((n = PQnotifies(l->conn)) != NULL) {
		if (strcmp(n->relname, GH_OUTBOX_CHANNEL) == 0) {
			char *end;
			long long v;

			errno = 0;
			v = strtoll(n->extra, &end, 10);
			if (errno == 0 && *end == '\0' && end != n->extra) {
				*any = 1;
				if (v > max)
					max = v;
			}
		}
		PQfreemem(n);
	}
	return max;
}

/* Read the answer of the query in flight.  Returns 1 when it is complete, 0 for more, -1 on error. */
static int
collect_result(struct gh_outbox_listener *l)
{
	PGresult *res;
	int bad = 0;

	while (!PQisBusy(l->conn)) {
		res = PQgetResult(l->conn);
		if (res == NULL)
			return bad ? -1 : 1;
		switch (PQresultStatus(res)) {
		case PGRES_COMMAND_OK:
			break;
		case PGRES_TUPLES_OK:
			if (l->state == L_CATCHUP && PQntuples(res) == 1 &&
			    !PQgetisnull(res, 0, 0))
				l->catchup_max = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
			break;
		default:
			gh_log_warn("pg_listener", NULL, "query failed: %s",
			    PQresultErrorMessage(res));
			bad = 1;
		}
		PQclear(res);
	}
	return 0;
}

static void
on_io(evutil_socket_t fd, short what, void *arg)
{
	struct gh_outbox_listener *l = arg;
	int64_t max;
	int any, done;

	(void)fd;
	if (l->state == L_CONNECTING) {
		connect_step(l);
		return;
	}
	if (what & EV_WRITE) {
		int left = PQflush(l->conn);

		if (left < 0) {
			listener_fail(l, "write failed");
			return;
		}
		/* Everything sent: only reading is left. */
		if (left == 0 && watch(l, EV_READ | EV_PERSIST) != 0) {
			listener_fail(l, "cannot watch the connection");
			return;
		}
	}
	if (!(what & EV_READ))
		return;
	if (PQconsumeInput(l->conn) == 0 || PQstatus(l->conn) != CONNECTION_OK) {
		listener_fail(l, "connection lost");
		return;
	}
	done = 0;
	if (l->state == L_LISTEN || l->state == L_CATCHUP) {
		done = collect_result(l);
		if (done < 0) {
			listener_fail(l, "LISTEN failed");
			return;
		}
	}
	max = drain_notifications(l, &any);
	if (any)
		l->cb(max, l->arg);
	if (done && l->state == L_LISTEN) {
		l->catchup_max = 0;
		send_query(l, "SELECT coalesce(max(id), 0) FROM gh_events", L_CATCHUP);
		return;
	}
	if (done && l->state == L_CATCHUP) {
		l->state = L_READY;
		l->backoff_ms = BACKOFF_MIN_MS;
		if (watch(l, EV_READ | EV_PERSIST) != 0) {
			listener_fail(l, "cannot watch the connection");
			return;
		}
		gh_log_info("pg_listener", NULL, "listening on " GH_OUTBOX_CHANNEL
		    " (backend %d)", PQbackendPID(l->conn));
		l->cb(l->catchup_max, l->arg);
	}
}

static void
listener_start(struct gh_outbox_listener *l)
{
	l->conn = PQconnectStart(l->conninfo);
	if (l->conn == NULL || PQstatus(l->conn) == CONNECTION_BAD) {
		listener_fail(l, "connect failed");
		return;
	}
	l->state = L_CONNECTING;
	if (watch(l, EV_WRITE) != 0)
		listener_fail(l, "cannot watch the connection");
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	listener_start(arg);
}

struct gh_outbox_listener *
gh_outbox_listener_new(struct event_base *base, const char *conninfo,
    gh_outbox_notify_fn cb, void *arg)
{
	struct gh_outbox_listener *l;

	if (base == NULL || conninfo == NULL || cb == NULL)
		return NULL;
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	l->base = base;
	l->cb = cb;
	l->arg = arg;
	l->backoff_ms = BACKOFF_MIN_MS;
	l->conninfo = strdup(conninfo);
	l->retry = evtimer_new(base, on_retry, l);
	if (l->conninfo == NULL || l->retry == NULL) {
		gh_outbox_listener_free(l);
		return NULL;
	}
	listener_start(l);
	return l;
}

int
gh_outbox_listener_ready(const struct gh_outbox_listener *l)
{
	return l->state == L_READY;
}

int
gh_outbox_listener_pid(const struct gh_outbox_listener *l)
{
	if (l->conn == NULL || PQstatus(l->conn) != CONNECTION_OK)
		return 0;
	return PQbackendPID(l->conn);
}

void
gh_outbox_listener_free(struct gh_outbox_listener *l)
{
	if (l == NULL)
		return;
	close_conn(l);
	if (l->retry != NULL)
		event_free(l->retry);
	free(l->conninfo);
	free(l);
}
