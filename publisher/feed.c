/*
 * The gateway data feed's events long-poll (GET /internal/data/v1/events)
 * and its retention, plus the feed's route table.  A poll reads the
 * events after its id on a worker (one statement: the retention mark, the
 * visible events and the highest id examined, so a pruning in between
 * cannot slip by); when there are none it waits ON THE LOOP in a list of
 * waiters (this file owns the list, the loop thread alone touches it),
 * each with a timer.  pub_feed_notify (the outbox listener, on the loop)
 * re-reads for the waiters behind the announced id; a waiter whose read
 * was in flight when a notification came reads again, so no wake-up is
 * lost.  A waiter whose client went away while its read is on a worker is
 * freed when the read comes back.  SIGTERM answers every waiter at once
 * so that shutdown never waits for a long-poll.  Every 60 s a pool job
 * prunes events older than feed.retention (gh_outbox_prune).
 */
#include <event2/event.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gh_codec.h"
#include "core/gh_log.h"
#include "publisher/pub_feed.h"

#define FEED_LIMIT_MAX 1000
#define FEED_SCAN_MAX 5000              /* rows examined per read (visible or not) */
#define FEED_WAITERS_MAX 4096
#define FEED_PRUNE_FIRST_MS 200
#define FEED_PRUNE_EVERY_S 60

struct waiter {
	struct waiter *prev, *next;
	int listed;
	struct gh_http_req *req;        /* NULL once answered or gone */
	char env[64];
	int64_t after;                  /* the id read after; advanced to each read's last */
	int limit;
	int timeout_ms;
	struct event *timer;
	int busy;                       /* a read is on a worker */
	int first;                      /* the first read has not come back yet */
	int64_t mark;                   /* feed.announced when the read started */
	/* the read's result (written by the worker while busy) */
	int status;
	int64_t last;
	int64_t nevents;
	char *body;
};

static struct {
	struct waiter *head;
	size_t n;
	int64_t announced;              /* highest id the listener announced */
	int closing;
	struct event *sigterm, *sigint, *prune_timer;
	int prune_busy;
	int64_t prune_deleted;
	int started;
} feed;

static void read_start(struct waiter *w);

int
pub_feed_env_allowed(int has_peer_id, const struct gh_peer_id *peer, const char *env, int *status,
    const char **why)
{
	size_t n = env ? strlen(env) : 0;

	*status = 400;
	if (n == 0 || n > 64) {
		*why = "environment (a gateway environment name) is required";
		return -1;
	}
	*status = 403;
	if (!has_peer_id || (strcmp(peer->role, "gw-internal") != 0 && strcmp(peer->role, "gw-external") != 0)) {
		*why = "Only gateway certificates may read the feed";
		return -1;
	}
	if (strcmp(peer->env, env) != 0) {
		*why = "This gateway's certificate is for another environment";
		return -1;
	}
	return 0;
}

static void
list_remove(struct waiter *w)
{
	if (!w->listed)
		return;
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		feed.head = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
	w->listed = 0;
	feed.n--;
}

static void
waiter_free(struct waiter *w)
{
	if (w->timer != NULL)
		event_free(w->timer);
	free(w->body);
	free(w);
}

/* The request is done with (answered or gone): unlist, and free unless a read is in flight. */
static void
waiter_finish(struct waiter *w)
{
	w->req = NULL;
	list_remove(w);
	if (w->timer != NULL)
		evtimer_del(w->timer);
	if (!w->busy)
		waiter_free(w);
}

static void
respond(struct waiter *w, int status, const char *body, size_t len)
{
	struct gh_http_req *req = w->req;

	if (req == NULL)
		return;
	req->on_abort = NULL;
	gh_http_resp_header(req, "Cache-Control", "no-store");
	gh_http_respond(req, status, "application/json", body, len);
	waiter_finish(w);
}

static void
respond_error(struct waiter *w, int status, const char *message, const char *why)
{
	struct gh_http_req *req = w->req;

	if (req == NULL)
		return;
	req->on_abort = NULL;
	gh_http_respond_error(req, status, message, why);
	waiter_finish(w);
}

/* {"events":[],"last":after}: the timeout's answer (also on shutdown). */
static void
respond_empty(struct waiter *w)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "{\"events\":[],\"last\":%" PRId64 "}", w->after);

	PUB_COUNT(feed_polls);
	respond(w, 200, body, (size_t)n);
}

static void
on_abort(struct gh_http_req *req, void *arg)
{
	struct waiter *w = arg;

	(void)req;
	waiter_finish(w);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	respond_empty(arg);
}

/*
 * On a worker: the events after w->after visible to w->env, the retention
 * mark and the highest id examined, in one statement (one snapshot).
 */
static int
read_job(struct gh_pg *db, void *arg)
{
	struct waiter *w = arg;
	char abuf[24], lbuf[24], sbuf[24];
	const char *p[4] = { gh_pg_i64(abuf, w->after), w->env, gh_pg_i64(lbuf, w->limit),
		gh_pg_i64(sbuf, FEED_SCAN_MAX) };
	int64_t pruned = 0, maxid = 0;
	PGresult *res;

	free(w->body);
	w->body = NULL;
	w->nevents = 0;
	res = gh_pg_exec(db, "WITH ex AS (SELECT id, environments FROM gh_events WHERE id > $1::bigint "
	    "ORDER BY id LIMIT $4::int), "
	    "vis AS (SELECT id FROM ex WHERE environments IS NULL OR $2::text = ANY (environments) "
	    "ORDER BY id LIMIT $3::int) "
	    "SELECT coalesce((SELECT value::bigint FROM gh_settings_kv WHERE name = 'outbox.pruned_through'), 0), "
	    "(SELECT coalesce(max(id), 0) FROM gh_events), "
	    "EXISTS (SELECT 1 FROM gh_environments WHERE name = $2::text), "
	    "(SELECT count(*) FROM vis), "
	    "CASE WHEN (SELECT count(*) FROM vis) >= $3::int THEN (SELECT max(id) FROM vis) "
	    "ELSE coalesce((SELECT max(id) FROM ex), $1::bigint) END, "
	    "(SELECT coalesce(json_agg(json_build_object('id', e.id, 'type', e.type, 'tenant', e.tenant, "
	    "'createdAt', (extract(epoch FROM e.created_at) * 1000)::bigint, 'payload', e.payload) "
	    "ORDER BY e.id), '[]') FROM gh_events e JOIN vis ON vis.id = e.id)::text", 4, p);
	if (res == NULL) {
		w->status = strncmp(gh_pg_sqlstate(db), "08", 2) == 0 ? 503 : 500;
		return 0;
	}
	gh_pg_get_int64(res, 0, 0, &pruned);
	gh_pg_get_int64(res, 0, 1, &maxid);
	gh_pg_get_int64(res, 0, 3, &w->nevents);
	gh_pg_get_int64(res, 0, 4, &w->last);
	if (strcmp(gh_pg_get(res, 0, 2), "t") != 0)
		w->status = 404;
	else if (w->after < pruned || w->after > maxid)
		w->status = 410;
	else {
		w->status = 200;
		if (w->nevents > 0 && asprintf(&w->body, "{\"events\":%s,\"last\":%" PRId64 "}",
		    gh_pg_get(res, 0, 5), w->last) < 0) {
			w->body = NULL;
			w->status = 500;
		}
	}
	PQclear(res);
	return 0;
}

static void
read_done(int rc, const char *sqlstate, const char *message, void *arg)
{
	struct waiter *w = arg;

	(void)sqlstate;
	(void)message;
	w->busy = 0;
	if (w->req == NULL) {
		waiter_free(w);
		return;
	}
	if (rc != 0 || w->status >= 500) {
		respond_error(w, 503, "Service Unavailable", "The database is unavailable");
		return;
	}
	if (w->status == 404) {
		respond_error(w, 404, "Not Found", "No such environment");
		return;
	}
	if (w->status == 410) {
		PUB_COUNT(feed_gone);
		respond_error(w, 410, "Gone", "The events after this id are no longer kept (or the feed was "
		    "reset): take a snapshot");
		return;
	}
	if (w->nevents > 0) {
		PUB_COUNT(feed_polls);
		__atomic_add_fetch(&pub.metrics.feed_events_sent, (uint64_t)w->nevents, __ATOMIC_RELAXED);
		respond(w, 200, w->body, strlen(w->body));
		return;
	}
	w->after = w->last;
	if (w->first) {
		struct timeval tv = { w->timeout_ms / 1000, (w->timeout_ms % 1000) * 1000 };

		w->first = 0;
		if (w->timeout_ms == 0 || feed.closing) {
			respond_empty(w);
			return;
		}
		evtimer_add(w->timer, &tv);
	}
	/* A notification came while reading: what it announced may have been missed. */
	if (feed.announced > w->mark && w->after < feed.announced)
		read_start(w);
}

static void
read_start(struct waiter *w)
{
	w->busy = 1;
	w->mark = feed.announced;
	if (gh_pg_pool_run(pub.pool, GH_PG_NO_TX, read_job, read_done, w) != 0) {
		w->busy = 0;
		respond_error(w, 503, "Service Unavailable", "The service is shutting down");
	}
}

void
pub_feed_notify(int64_t max_id, void *arg)
{
	struct waiter *w, *next;

	(void)arg;
	if (max_id > feed.announced)
		feed.announced = max_id;
	for (w = feed.head; w != NULL; w = next) {
		next = w->next;
		if (!w->busy && !w->first && w->after < max_id)
			read_start(w);
	}
}

/* Answer every waiter now and take no new ones (shutdown). */
static void
feed_close_all(void)
{
	feed.closing = 1;
	while (feed.head != NULL)
		respond_empty(feed.head);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	feed_close_all();
}

/* 0 with *out from the query's name (def when absent) in [min, max]; -1 when malformed. */
static int
query_int(const struct gh_form *f, const char *name, int64_t min, int64_t max, int64_t def, int64_t *out)
{
	const char *v = gh_form_get(f, name);
	char *end = NULL;
	long long x;

	*out = def;
	if (v == NULL)
		return 0;
	if (gh_form_count(f, name) > 1 || v[0] < '0' || v[0] > '9' || strlen(v) > 19)
		return -1;
	x = strtoll(v, &end, 10);
	if (*end != '\0' || x < min)
		return -1;
	*out = x > max ? max : x;
	return 0;
}

/* GET /internal/data/v1/events?environment=&after=&timeout=&limit= (on the loop) */
static void
events_route(struct gh_http_req *req, const struct gh_route_match *m, void *arg)
{
	struct gh_form f = { 0 };
	struct waiter *w;
	const char *env, *why = NULL;
	int64_t after = -1, timeout = 0, limit = 0;
	int status;

	(void)m;
	(void)arg;
	if (req->query == NULL || gh_form_parse(req->query, strlen(req->query), 16, &f) != 0) {
		gh_form_free(&f);
		gh_http_respond_error(req, 400, "Bad Request", "environment and after are required");
		return;
	}
	env = gh_form_get(&f, "environment");
	if (pub_feed_env_allowed(req->has_peer_id, &req->peer_id, env, &status, &why) != 0) {
		gh_form_free(&f);
		gh_http_respond_error(req, status, status == 403 ? "Forbidden" : "Bad Request", why);
		return;
	}
	if (gh_form_get(&f, "after") == NULL || query_int(&f, "after", 0, INT64_MAX, 0, &after) != 0 ||
	    query_int(&f, "timeout", 0, pub.feed_poll_ms, pub.feed_poll_ms, &timeout) != 0 ||
	    query_int(&f, "limit", 1, FEED_LIMIT_MAX, FEED_LIMIT_MAX, &limit) != 0) {
		gh_form_free(&f);
		gh_http_respond_error(req, 400, "Bad Request", "after (an event id), timeout (milliseconds) and "
		    "limit (1 to 1000) must be non-negative integers");
		return;
	}
	if (feed.closing || feed.n >= FEED_WAITERS_MAX) {
		gh_form_free(&f);
		gh_http_respond_error(req, 503, "Service Unavailable", feed.closing ? "The feed is shutting down" :
		    "Too many gateways are waiting");
		return;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL || (w->timer = evtimer_new(pub.base, on_timeout, w)) == NULL) {
		free(w);
		gh_form_free(&f);
		gh_http_respond_error(req, 500, "Internal Server Error", "Out of memory");
		return;
	}
	snprintf(w->env, sizeof(w->env), "%s", env);
	gh_form_free(&f);
	w->req = req;
	w->after = after;
	w->limit = (int)limit;
	w->timeout_ms = (int)timeout;
	w->first = 1;
	w->next = feed.head;
	if (feed.head != NULL)
		feed.head->prev = w;
	feed.head = w;
	w->listed = 1;
	feed.n++;
	req->on_abort = on_abort;
	req->abort_arg = w;
	read_start(w);
}

static int
prune_job(struct gh_pg *db, void *arg)
{
	(void)arg;
	feed.prune_deleted = 0;
	return gh_outbox_prune(db, pub.feed_retention, &feed.prune_deleted);
}

static void
prune_done(int rc, const char *sqlstate, const char *message, void *arg)
{
	(void)arg;
	feed.prune_busy = 0;
	if (rc == GH_PG_CANCELLED)
		return;
	if (rc != 0)
		gh_log_warn("feed_retention", NULL, "pruning the outbox failed: %s %s", sqlstate, message);
	else if (feed.prune_deleted > 0)
		gh_log_info("feed_retention", NULL, "pruned %" PRId64 " events older than %" PRId64 " s",
		    feed.prune_deleted, pub.feed_retention);
}

static void
on_prune_timer(evutil_socket_t fd, short what, void *arg)
{
	struct timeval every = { FEED_PRUNE_EVERY_S, 0 };

	(void)fd;
	(void)what;
	(void)arg;
	evtimer_add(feed.prune_timer, &every);
	if (feed.prune_busy || feed.closing)
		return;
	if (gh_pg_pool_run(pub.pool, GH_PG_NO_TX, prune_job, prune_done, NULL) == 0)
		feed.prune_busy = 1;
}

void
pub_feed_routes(struct gh_router *r)
{
	struct timeval first = { 0, FEED_PRUNE_FIRST_MS * 1000 };

	if (gh_router_add(r, "GET", PUB_FEED_BASE "/events", events_route, NULL) != 0)
		abort();
	pub_feed_snapshot_routes(r);
	pub_feed_backend_key_routes(r);
	if (feed.started || pub.base == NULL || pub.pool == NULL)
		return;
	feed.started = 1;
	feed.sigterm = evsignal_new(pub.base, SIGTERM, on_signal, NULL);
	feed.sigint = evsignal_new(pub.base, SIGINT, on_signal, NULL);
	feed.prune_timer = evtimer_new(pub.base, on_prune_timer, NULL);
	if (feed.sigterm != NULL)
		evsignal_add(feed.sigterm, NULL);
	if (feed.sigint != NULL)
		evsignal_add(feed.sigint, NULL);
	if (feed.prune_timer != NULL && pub.feed_retention > 0)
		evtimer_add(feed.prune_timer, &first);
}

void
pub_feed_shutdown(void)
{
	feed_close_all();
	if (feed.sigterm != NULL)
		event_free(feed.sigterm);
	if (feed.sigint != NULL)
		event_free(feed.sigint);
	if (feed.prune_timer != NULL)
		event_free(feed.prune_timer);
	feed.sigterm = feed.sigint = feed.prune_timer = NULL;
}
