/*
 * Cluster-wide throttling, the gateway's side: a thread with its own
 * event_base that every sync_interval collects the counters' deltas
 * (throttle.c), posts them to the traffic manager (PROTOCOL.md, "POST
 * /internal/throttle/v1/sync") with the gateway's certificate and hands
 * the cluster-wide counts back to the counters.  Without an answer for
 * max(3 intervals, 500 ms) every node enforces its share of each limit
 * (limit / gateways of its environment) until syncs succeed again.  A
 * failed sync is retried after a capped exponential back-off (the
 * interval doubling up to 5 s, or 20 intervals when that is less, so that
 * counting resumes soon after a restart; reset by an answer): an
 * unreachable traffic manager costs a TLS handshake that often, not
 * every interval.  The key ids of a session are interned here
 * (thread-owned table).
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/gh_codec.h"
#include "core/gh_log.h"
#include "gateway/gw.h"
#include "gateway/throttle.h"
#include "gateway/tmsync_wire.h"

#define SYNC_TIMEOUT_MS 300
#define DOWN_MIN_MS 500
#define BACKOFF_MAX_MS 5000
#define BACKOFF_MAX_INTERVALS 20

/* A key of the current session. */
struct ts_rec {
	struct ts_rec *next;
	uint64_t hash;
	int64_t window_ms;
	int64_t global16;
	uint32_t id;
	size_t klen;
	char key[];
};

static struct {
	pthread_t th;
	int running;
	struct event_base *base;
	struct event *tick, *stop_ev, *stop_timer;
	struct gh_httpc *http;
	char url[600];
	int64_t interval_ms, down_after_ms;
	int64_t backoff_ms, backoff_max_ms;     /* 0: no failure since the last answer */
	int64_t next_try_ms;                    /* no sync sent before (after a failure) */
	uint64_t instance, epoch, seq;
	/* the session's keys */
	struct ts_rec **b, **byid;
	size_t nb, nrec, capid;
	/* the batch in flight or to retry */
	struct ts_def *defs;
	struct ts_delta *deltas;
	size_t ndefs, capdefs, ndeltas, capdeltas;
	struct ts_buf body;
	int pending;            /* body holds a batch not yet answered */
	int inflight;           /* a request is outstanding */
	int fresh;              /* the next batch starts a session (TS_F_NEW) */
	int bye;                /* the batch in flight is the last one */
	int stopping;
	int closing;            /* the client is being freed: answers are errors to ignore */
	int share;              /* enforcing this node's share */
	uint32_t gateways;
	int64_t started, last_ok;
	char last_err[160];     /* why the last sync failed */
} ts;

static int64_t
mono_ms(void)
{
	struct timespec ts_;

	clock_gettime(CLOCK_MONOTONIC, &ts_);
	return (int64_t)ts_.tv_sec * 1000 + ts_.tv_nsec / 1000000;
}

static uint64_t
rec_hash(const char *s, int64_t w)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	h ^= (uint64_t)w;
	return h * 1099511628211ULL;
}

/* Forget the session's keys and start a new session (the next batch names every key). */
static void
session_new(void)
{
	for (size_t i = 0; i < ts.nrec; i++)
		free(ts.byid[i]);
	ts.nrec = 0;
	if (ts.b != NULL)
		memset(ts.b, 0, ts.nb * sizeof(*ts.b));
	ts.epoch++;
	ts.seq = 0;
	ts.fresh = 1;
	ts.pending = 0;
}

static int
rec_grow(void)
{
	size_t nb = ts.nb ? ts.nb * 2 : 1024;
	struct ts_rec **b = calloc(nb, sizeof(*b));

	if (b == NULL)
		return -1;
	for (size_t i = 0; i < ts.nrec; i++) {
		struct ts_rec *r = ts.byid[i];

		r->next = b[r->hash & (nb - 1)];
		b[r->hash & (nb - 1)] = r;
	}
	free(ts.b);
	ts.b = b;
	ts.nb = nb;
	return 0;
}

static int
add_delta(uint32_t id, int64_t delta)
{
	if (ts.ndeltas == ts.capdeltas) {
		size_t cap = ts.capdeltas ? ts.capdeltas * 2 : 256;
		struct ts_delta *d = realloc(ts.deltas, cap * sizeof(*d));

		if (d == NULL)
			return -1;
		ts.deltas = d;
		ts.capdeltas = cap;
	}
	ts.deltas[ts.ndeltas++] = (struct ts_delta){ .id = id, .delta = (uint64_t)delta };
	return 0;
}

/* gw_rl_visit_fn: put a counter's delta (and its name when new to the session) in the batch. */
static uint32_t
visit(void *arg, uint32_t tid, const char *key, int64_t window_ms, int64_t limit, int64_t delta,
    int64_t *global16)
{
	struct ts_rec *r;
	uint64_t h;
	size_t klen;

	(void)arg;
	if (delta > (int64_t)TS_MAX_DELTA)
		delta = (int64_t)TS_MAX_DELTA;
	if (tid != 0)
		return add_delta(tid - 1, delta) == 0 ? tid : 0;
	h = rec_hash(key, window_ms);
	for (r = ts.nb ? ts.b[h & (ts.nb - 1)] : NULL; r != NULL; r = r->next)
		if (r->hash == h && r->window_ms == window_ms && strcmp(r->key, key) == 0)
			break;
	if (r != NULL) {
		*global16 = r->global16;
		if (delta > 0 && add_delta(r->id, delta) != 0)
			return 0;
		return r->id + 1;
	}
	klen = strlen(key);
	if (ts.nrec >= TS_MAX_KEYS || klen == 0 || klen > TS_MAX_KEY || window_ms > TS_MAX_WINDOW_MS)
		return 0;
	if (ts.nrec >= ts.nb && rec_grow() != 0)
		return 0;
	if (ts.nrec == ts.capid) {
		size_t cap = ts.capid ? ts.capid * 2 : 1024;
		struct ts_rec **p = realloc(ts.byid, cap * sizeof(*p));

		if (p == NULL)
			return 0;
		ts.byid = p;
		ts.capid = cap;
	}
	if (ts.ndefs == ts.capdefs) {
		size_t cap = ts.capdefs ? ts.capdefs * 2 : 256;
		struct ts_def *d = realloc(ts.defs, cap * sizeof(*d));

		if (d == NULL)
			return 0;
		ts.defs = d;
		ts.capdefs = cap;
	}
	if ((r = calloc(1, sizeof(*r) + klen + 1)) == NULL)
		return 0;
	memcpy(r->key, key, klen + 1);
	r->klen = klen;
	r->hash = h;
	r->window_ms = window_ms;
	r->id = (uint32_t)ts.nrec;
	if (delta > 0 && add_delta(r->id, delta) != 0) {
		free(r);
		return 0;
	}
	ts.byid[ts.nrec++] = r;
	r->next = ts.b[h & (ts.nb - 1)];
	ts.b[h & (ts.nb - 1)] = r;
	ts.defs[ts.ndefs++] = (struct ts_def){ .id = r->id, .window_ms = window_ms,
	    .limit = limit < 0 ? 0 : (limit > TS_MAX_LIMIT ? TS_MAX_LIMIT : limit),
	    .key = r->key, .key_len = klen };
	*global16 = 0;
	return r->id + 1;
}

/* Collect the counters into a new batch and encode it; 0 or -1. */
static int
batch_build(unsigned flags)
{
	struct ts_req req;

	ts.ndefs = ts.ndeltas = 0;
	gw_rl_collect((uint32_t)ts.epoch, mono_ms(), visit, NULL);
	memset(&req, 0, sizeof(req));
	req.flags = flags | (ts.fresh ? TS_F_NEW : 0);
	req.instance = ts.instance;
	req.epoch = ts.epoch;
	req.seq = ++ts.seq;
	snprintf(req.env, sizeof(req.env), "%s", gw.env != NULL ? gw.env : "");
	req.defs = ts.defs;
	req.ndefs = ts.ndefs;
	req.deltas = ts.deltas;
	req.ndeltas = ts.ndeltas;
	ts.body.len = 0;
	if (ts_req_encode(&ts.body, &req) != 0) {
		gh_log_error("tm_sync", NULL, "cannot encode a throttle sync of %zu keys", ts.ndefs + ts.ndeltas);
		ts_buf_free(&ts.body);
		session_new();
		return -1;
	}
	ts.pending = 1;
	return 0;
}

static void set_lag(int64_t now);

/* The traffic manager answered the batch: hand back acks and counts. */
static void
batch_done(const struct ts_resp *resp)
{
	for (size_t i = 0; i < ts.ndeltas; i++) {
		struct ts_rec *r = ts.byid[ts.deltas[i].id];

		gw_rl_apply(r->key, r->window_ms, (int64_t)ts.deltas[i].delta, -1);
	}
	for (size_t i = 0; i < resp->ncounts; i++) {
		struct ts_rec *r;

		if (resp->counts[i].id >= ts.nrec)
			continue;
		r = ts.byid[resp->counts[i].id];
		r->global16 = (int64_t)resp->counts[i].count16;
		gw_rl_apply(r->key, r->window_ms, 0, r->global16);
	}
	ts.pending = 0;
	ts.fresh = 0;
	ts.ndefs = ts.ndeltas = 0;
}

static void send_batch(void);

/* A sync failed: the next one waits the doubled back-off (the interval first, capped). */
static void
backoff_grow(int64_t now)
{
	ts.backoff_ms = ts.backoff_ms == 0 ? ts.interval_ms : ts.backoff_ms * 2;
	if (ts.backoff_ms > ts.backoff_max_ms)
		ts.backoff_ms = ts.backoff_max_ms;
	ts.next_try_ms = now + ts.backoff_ms;
}

static void
on_answer(struct gh_httpc_resp *res, void *arg)
{
	struct ts_resp resp;
	char err[160];
	int64_t now = mono_ms();
	int answered = 0;       /* the traffic manager took the batch or asked for a new session */

	(void)arg;
	ts.inflight = 0;
	if (ts.closing)
		return;
	if (res->error != GH_HTTPC_OK) {
		GW_COUNT(tm_sync_errors);
		snprintf(ts.last_err, sizeof(ts.last_err), "%s", res->errstr ? res->errstr : "error");
		gh_log_debug("tm_sync", NULL, "throttle sync: %s", ts.last_err);
		goto done;
	}
	if (res->status == 409) {
		/* the traffic manager does not know the session (restarted): name every key again */
		gh_log_info("tm_sync_session", NULL, "the traffic manager lost the throttle session: "
		    "sending every counter again");
		session_new();
		answered = 1;
		goto done;
	}
	if (res->status != 200) {
		GW_COUNT(tm_sync_errors);
		snprintf(ts.last_err, sizeof(ts.last_err), "status %d", res->status);
		gh_log_warn("tm_sync", NULL, "throttle sync refused with %d: %.200s", res->status,
		    res->body ? (const char *)res->body : "");
		/* a refused body is not sent again: start over with every counter */
		if (res->status >= 400 && res->status < 500)
			session_new();
		goto done;
	}
	if (ts_resp_decode(res->body, res->body_len, &resp, err, sizeof(err)) != 0) {
		GW_COUNT(tm_sync_errors);
		snprintf(ts.last_err, sizeof(ts.last_err), "%s", err);
		gh_log_warn("tm_sync", NULL, "throttle sync answer: %s", err);
		goto done;
	}
	batch_done(&resp);
	ts_resp_clear(&resp);
	GW_COUNT(tm_syncs);
	ts.last_ok = now;
	ts.gateways = resp.gateways;
	if (ts.share)
		gh_log_warn("tm_reachable", NULL, "throttle sync answered again: counting cluster-wide "
		    "(%u gateways in %s)", ts.gateways, gw.env);
	ts.share = 0;
	gw_rl_set_mode(GW_RL_CLUSTER, ts.gateways);
	answered = 1;
done:
	if (answered) {
		ts.backoff_ms = 0;
		ts.next_try_ms = 0;
	} else {
		backoff_grow(now);
	}
	set_lag(now);
	if (ts.stopping) {
		if (ts.bye || ts.pending || ts.fresh) {
			event_base_loopbreak(ts.base);
			return;
		}
		if (batch_build(TS_F_BYE) != 0) {
			event_base_loopbreak(ts.base);
			return;
		}
		ts.bye = 1;
		send_batch();
		if (!ts.inflight)
			event_base_loopbreak(ts.base);
	}
}

static void
send_batch(void)
{
	struct gh_http_header h[] = { { "Content-Type", "application/octet-stream" } };
	struct gh_httpc_opts o = { .connect_timeout_ms = SYNC_TIMEOUT_MS, .timeout_ms = SYNC_TIMEOUT_MS };

	if (gh_httpc_request_opts(ts.http, &o, "POST", ts.url, h, 1, ts.body.p, ts.body.len, on_answer,
	    NULL) != 0) {
		GW_COUNT(tm_sync_errors);
		return;
	}
	ts.inflight = 1;
}

/* Publish the sync lag; enter this node's share once syncs failed for long enough. */
static void
set_lag(int64_t now)
{
	int64_t lag = now - (ts.last_ok ? ts.last_ok : ts.started);

	__atomic_store_n(&gw.metrics.throttle_sync_lag_ms, (uint64_t)(lag > 0 ? lag : 0), __ATOMIC_RELAXED);
	if (!ts.share && lag > ts.down_after_ms) {
		ts.share = 1;
		gw_rl_set_mode(GW_RL_SHARE, ts.gateways);
		gh_log_warn("tm_unreachable", NULL, "no throttle sync for %lld ms (%s): enforcing this "
		    "node's share (1/%u) of every limit until the traffic manager answers", (long long)lag,
		    ts.last_err[0] ? ts.last_err : (ts.inflight ? "no answer yet" : "not sent"),
		    ts.gateways ? ts.gateways : 1);
	}
	__atomic_store_n(&gw.metrics.throttle_local_share, (uint64_t)ts.share, __ATOMIC_RELAXED);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	set_lag(mono_ms());
	if (ts.inflight || ts.stopping || (ts.next_try_ms != 0 && mono_ms() < ts.next_try_ms))
		return;
	if (!ts.pending && batch_build(0) != 0)
		return;
	send_batch();
	if (!ts.inflight)
		backoff_grow(mono_ms());
}

static void
on_stop(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = { 0, 2 * SYNC_TIMEOUT_MS * 1000 };

	(void)fd;
	(void)what;
	(void)arg;
	ts.stopping = 1;
	event_del(ts.tick);
	event_add(ts.stop_timer, &tv);
	if (ts.inflight)
		return;         /* on_answer sends the last one */
	if (ts.pending || ts.fresh || batch_build(TS_F_BYE) != 0) {
		event_base_loopbreak(ts.base);
		return;
	}
	ts.bye = 1;
	send_batch();
	if (!ts.inflight)
		event_base_loopbreak(ts.base);
}

static void
on_stop_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	event_base_loopbreak(ts.base);
}

static void *
sync_main(void *arg)
{
	(void)arg;
	event_base_dispatch(ts.base);
	return NULL;
}

int
gw_tmsync_start(void)
{
	const char *url = gw_tm_url();
	struct timeval tv;
	size_t ul;

	/* no traffic manager: this node counts alone */
	if (url == NULL) {
		gw_rl_set_mode(GW_RL_ALONE, 1);
		return 0;
	}
	ul = strlen(url);
	while (ul > 0 && url[ul - 1] == '/')
		ul--;
	snprintf(ts.url, sizeof(ts.url), "%.*s/internal/throttle/v1/sync", (int)ul, url);
	ts.interval_ms = gw_setting_int("sync_interval");
	if (ts.interval_ms <= 0)
		ts.interval_ms = 100;
	ts.down_after_ms = 3 * ts.interval_ms > DOWN_MIN_MS ? 3 * ts.interval_ms : DOWN_MIN_MS;
	ts.backoff_max_ms = BACKOFF_MAX_INTERVALS * ts.interval_ms < BACKOFF_MAX_MS ?
	    BACKOFF_MAX_INTERVALS * ts.interval_ms : BACKOFF_MAX_MS;
	if (ts.backoff_max_ms < ts.interval_ms)
		ts.backoff_max_ms = ts.interval_ms;
	if (gh_random_bytes(&ts.instance, sizeof(ts.instance)) != 0) {
		fprintf(stderr, "gatehouse-%s: no random bytes for the throttle sync\n", gw_zone.name);
		return -1;
	}
	ts.gateways = 1;
	ts.started = mono_ms();
	session_new();
	ts.base = event_base_new();
	if (ts.base == NULL)
		goto fail;
	ts.http = gh_httpc_new(ts.base, &(struct gh_httpc_cfg){ .ssl = gw.tls_internal,
	    .connect_timeout_ms = SYNC_TIMEOUT_MS, .timeout_ms = SYNC_TIMEOUT_MS, .max_idle_per_host = 2 });
	ts.tick = event_new(ts.base, -1, EV_PERSIST, on_tick, NULL);
	ts.stop_ev = event_new(ts.base, -1, 0, on_stop, NULL);
	ts.stop_timer = evtimer_new(ts.base, on_stop_timer, NULL);
	tv.tv_sec = ts.interval_ms / 1000;
	tv.tv_usec = (ts.interval_ms % 1000) * 1000;
	if (ts.http == NULL || ts.tick == NULL || ts.stop_ev == NULL || ts.stop_timer == NULL ||
	    event_add(ts.tick, &tv) != 0)
		goto fail;
	gw_rl_set_mode(GW_RL_CLUSTER, 1);
	if (pthread_create(&ts.th, NULL, sync_main, NULL) != 0)
		goto fail;
	ts.running = 1;
	gh_log_info("tm_sync_start", NULL, "throttle sync to %s every %lld ms", ts.url, (long long)ts.interval_ms);
	return 0;
fail:
	fprintf(stderr, "gatehouse-%s: cannot start the throttle sync thread\n", gw_zone.name);
	gw_rl_set_mode(GW_RL_ALONE, 1);
	gw_tmsync_stop();
	return -1;
}

void
gw_tmsync_stop(void)
{
	if (ts.running) {
		event_active(ts.stop_ev, EV_TIMEOUT, 0);
		pthread_join(ts.th, NULL);
		ts.running = 0;
	}
	ts.closing = 1;
	if (ts.http != NULL)
		gh_httpc_free(ts.http);
	if (ts.tick != NULL)
		event_free(ts.tick);
	if (ts.stop_ev != NULL)
		event_free(ts.stop_ev);
	if (ts.stop_timer != NULL)
		event_free(ts.stop_timer);
	if (ts.base != NULL)
		event_base_free(ts.base);
	for (size_t i = 0; i < ts.nrec; i++)
		free(ts.byid[i]);
	free(ts.byid);
	free(ts.b);
	free(ts.defs);
	free(ts.deltas);
	ts_buf_free(&ts.body);
	memset(&ts, 0, sizeof(ts));
}
