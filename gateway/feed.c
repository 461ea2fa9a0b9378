/*
 * The feed thread: takes the data feed's snapshot at start (or the copy on
 * disk when the feed cannot be reached), then long-polls its events,
 * applies them to the model (model.c), rebuilds and publishes the store
 * once per batch and writes the model to disk (debounced, tmp + fsync +
 * rename).  When no event came for MODEL_IDLE_MS the model is kept as its
 * serialized JSON text only (a json-c tree costs about ten times the
 * text): the next batch parses it again (about 50 ms with 10,000
 * subscriptions), and a burst of batches shares one tree.  It also keeps the key manager's JWKS (gw.jwks) and registers
 * this node's backend-JWT public key.  Everything runs on the thread's own
 * event_base; other threads only wake it (gw_feed_jwks_refresh) or stop it.
 * The thread owns the model; the published stores belong to store.c.
 */
#include <dlfcn.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <libgen.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/gh_json.h"
#include "core/gh_log.h"
#include "gateway/gw.h"

#define POLL_TIMEOUT_MS 25000           /* the long-poll's wait, asked of the feed */
#define START_CONNECT_MS 3000           /* at start, the feed must answer within about this */
#define START_TIMEOUT_MS 5000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define RETRY_MAX_MS 30000              /* JWKS and backend-key retries */
#define WRITE_DEBOUNCE_MS 200
#define MODEL_IDLE_MS 5000              /* the model's tree is kept this long after a change */
#define JWKS_MIN_INTERVAL_MS 10000
#define MAX_FEED_BODY ((size_t)256 * 1024 * 1024)

struct feed {
	pthread_t thread;
	int started;
	int stopping;                   /* atomic */
	struct event_base *base;
	struct gh_httpc *http;
	struct event *stop_ev, *retry_ev, *write_ev, *lag_ev, *jwks_ev, *jwks_retry_ev, *bkey_ev, *drop_ev;
	struct json_object *model;      /* the snapshot with the events applied, as a tree (or NULL) */
	char *text;                     /* ... serialized (NULL when stale); one of the two is set */
	size_t text_len;
	int64_t last;                   /* event id to poll after */
	int need_snapshot;
	int backoff_ms;
	char base_url[1024];            /* cluster.feed_url without a trailing '/' */
	char env_q[512];                /* the environment, percent-encoded */
	char snap_path[1024];
	int snap_fd;                    /* opened before the privilege drop: the in-place fallback */
	int dirty, write_pending;
	int64_t last_write_ms, last_answer_ms;
	int jwks_busy, jwks_again, jwks_backoff_ms;
	int64_t jwks_req_ms;            /* atomic: last JWKS fetch started (rate limit) */
	int bkey_done, bkey_busy, bkey_backoff_ms;
};

static struct feed F;

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
timer_ms(struct event *ev, int64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };

	evtimer_add(ev, &tv);
}

static int
stopping(void)
{
	return __atomic_load_n(&F.stopping, __ATOMIC_ACQUIRE);
}

/* A feed error's description ({"description"} or {"message"}) or the status text, into buf. */
static void
error_text(const struct gh_httpc_resp *r, char *buf, size_t len)
{
	struct json_object *o = r->body ? json_tokener_parse((const char *)r->body) : NULL;
	const char *d = NULL;

	if (o != NULL && json_object_is_type(o, json_type_object))
		d = gh_json_str(o, "description") ? gh_json_str(o, "description") : gh_json_str(o, "message");
	snprintf(buf, len, "%d %s", r->status, d ? d : gh_http_status_text(r->status));
	json_object_put(o);
}

/* ---- the model on disk ---- */

static int model_text(void);

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Rewrite the snapshot through the descriptor opened before the privilege
 * drop, when the folder is not writable by the unprivileged user: not
 * atomic (a crash mid-write leaves a file the next start refuses to parse,
 * and it then needs the feed), so only the fallback.
 */
static int
snapshot_write_in_place(const char *text)
{
	size_t n = strlen(text), off = 0;

	while (off < n) {
		ssize_t w = pwrite(F.snap_fd, text + off, n - off, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		off += (size_t)w;
	}
	if (ftruncate(F.snap_fd, (off_t)n) != 0 || fsync(F.snap_fd) != 0)
		goto fail;
	F.last_write_ms = now_ms();
	F.dirty = 0;
	return 0;
fail:
	gh_log_warn("feed", NULL, "cannot write the snapshot %s: %s", F.snap_path, strerror(errno));
	return -1;
}

/* Write the model to F.snap_path (tmp, fsync, rename, fsync of the folder).  0 or -1 (logged). */
static int
snapshot_write(void)
{
	char tmp[1100], dir[1024];
	const char *text;
	int fd, dfd;

	if (F.snap_path[0] == '\0' || (F.model == NULL && F.text == NULL))
		return 0;
	if (model_text() != 0) {
		gh_log_warn("feed", NULL, "cannot write the snapshot %s: out of memory", F.snap_path);
		return -1;
	}
	text = F.text;
	snprintf(tmp, sizeof(tmp), "%s.tmp", F.snap_path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 && (errno == EACCES || errno == EPERM) && F.snap_fd >= 0)
		return snapshot_write_in_place(text);
	if (fd < 0 || fchmod(fd, 0600) != 0 || write_all(fd, text, strlen(text)) != 0 || fsync(fd) != 0) {
		gh_log_warn("feed", NULL, "cannot write the snapshot %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, F.snap_path) != 0) {
		gh_log_warn("feed", NULL, "cannot rename %s: %s", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", F.snap_path);
	if ((dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
	F.last_write_ms = now_ms();
	F.dirty = 0;
	return 0;
}

static void
on_write(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	F.write_pending = 0;
	if (F.dirty)
		snapshot_write();
}

/* The model changed: write it within WRITE_DEBOUNCE_MS (at most one write per period). */
static void
mark_dirty(void)
{
	int64_t wait;

	F.dirty = 1;
	if (F.write_pending || F.write_ev == NULL)
		return;
	wait = F.last_write_ms + WRITE_DEBOUNCE_MS - now_ms();
	F.write_pending = 1;
	timer_ms(F.write_ev, wait > 0 ? wait : 0);
}

/* The model from the disk copy, when it is of our environment; NULL otherwise. */
static struct json_object *
snapshot_read(void)
{
	struct json_object *o = NULL, *env;
	const char *why = NULL;
	struct stat st;
	char *buf = NULL;
	int fd = open(F.snap_path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || st.st_size <= 0 || (size_t)st.st_size > MAX_FEED_BODY ||
	    (buf = malloc((size_t)st.st_size + 1)) == NULL)
		goto out;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			goto out;
		got += (size_t)r;
	}
	if ((o = gh_json_parse_object(buf, got, &why)) == NULL) {
		gh_log_warn("feed", NULL, "the snapshot %s is unreadable: %s", F.snap_path, why);
		goto out;
	}
	if (!json_object_object_get_ex(o, "environment", &env) || gh_json_str(env, "name") == NULL ||
	    strcmp(gh_json_str(env, "name"), gw.env) != 0) {
		gh_log_warn("feed", NULL, "the snapshot %s is of another environment; ignored", F.snap_path);
		json_object_put(o);
		o = NULL;
	}
out:
	free(buf);
	close(fd);
	return o;
}

/* ---- model → store ---- */

/*
 * Give the freed memory of a model tree back to the system: the tree is
 * tens of MB of small objects on this thread's arena, which sees little
 * other traffic, so neither jemalloc's decay nor glibc's trimming would
 * run for a long time.  jemalloc (the release allocator) when linked:
 * flush this thread's cache and purge every arena; glibc: malloc_trim.
 */
static void
malloc_release(void)
{
	int (*ctl)(const char *, void *, size_t *, void *, size_t);

	*(void **)&ctl = dlsym(RTLD_DEFAULT, "mallctl");
	if (ctl != NULL) {
		ctl("thread.tcache.flush", NULL, NULL, NULL, 0);
		ctl("arena.4096.purge", NULL, NULL, NULL, 0);   /* 4096: MALLCTL_ARENAS_ALL */
		return;
	}
	malloc_trim(0);
}

/* F.text from F.model when it is stale (NULL); 0, or -1 when out of memory. */
static int
model_text(void)
{
	const char *t;
	size_t n = 0;

	if (F.text != NULL || F.model == NULL)
		return 0;
	t = json_object_to_json_string_length(F.model, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	if (t == NULL || (F.text = malloc(n + 1)) == NULL)
		return -1;
	memcpy(F.text, t, n + 1);
	F.text_len = n;
	return 0;
}

/* Keep the model as its text only and give the tree's memory back (the tree stays when out of memory). */
static void
model_drop(void)
{
	if (F.model == NULL || model_text() != 0)
		return;
	json_object_put(F.model);
	F.model = NULL;
	malloc_release();
}

/* The model changed (F.text is stale): the tree goes MODEL_IDLE_MS after the last change. */
static void
model_changed(void)
{
	free(F.text);
	F.text = NULL;
	F.text_len = 0;
	if (F.drop_ev != NULL)
		timer_ms(F.drop_ev, MODEL_IDLE_MS);
	else
		model_drop();
}

/* model (taken) becomes the model. */
static void
model_set(struct json_object *model)
{
	json_object_put(F.model);
	F.model = model;
	model_changed();
}

static void
on_drop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	model_drop();
}

/* The model as a tree, parsed again from F.text when it was dropped (owned by F); NULL on failure. */
static struct json_object *
model_get(void)
{
	struct json_tokener *tok;

	if (F.model != NULL || F.text == NULL)
		return F.model;
	/* our own serialization: no need of gh_json_parse's strict checks */
	if ((tok = json_tokener_new_ex(GH_JSON_MAX_DEPTH)) == NULL)
		return NULL;
	F.model = json_tokener_parse_ex(tok, F.text, (int)F.text_len);
	if (F.model != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(F.model, json_type_object))) {
		json_object_put(F.model);
		F.model = NULL;
	}
	json_tokener_free(tok);
	if (F.model == NULL)
		gh_log_error("feed", NULL, "the model cannot be parsed again");
	return F.model;
}

/* Build and publish the store of model; 0 or -1 (logged, nothing published). */
static int
publish_model(struct json_object *model)
{
	const char *why;
	struct gw_store *s = gw_store_build(model, &why);

	if (s == NULL) {
		gh_log_error("feed", NULL, "the feed's configuration is unusable: %s", why);
		return -1;
	}
	gw_store_publish(s);
	return 0;
}

static int64_t
model_event_id(struct json_object *model)
{
	long long id = 0;

	return gh_json_int(model, "eventId", &id) == 0 ? (int64_t)id : 0;
}

/* ---- JWKS ---- */

static void jwks_url_copy(char *buf, size_t len);
static void jwks_fetch(void);

static void
jwks_install(const struct gh_httpc_resp *r, const char *url)
{
	enum gh_jose_err err;
	size_t skipped = 0;
	struct gh_jwks *set, *old;

	set = gh_jwks_parse((const char *)r->body, r->body_len, &skipped, &err);
	if (set == NULL) {
		gh_log_warn("jwks", NULL, "the JWKS at %s is malformed; keeping the keys we have", url);
		return;
	}
	pthread_rwlock_wrlock(&gw.jwks_lock);
	old = gw.jwks;
	gw.jwks = set;
	pthread_rwlock_unlock(&gw.jwks_lock);
	gh_jwks_free(old);
	gh_log_info("jwks", NULL, "%zu signing key%s from %s", set->count, set->count == 1 ? "" : "s", url);
}

static void
jwks_failed(void)
{
	if (stopping())
		return;
	F.jwks_backoff_ms = F.jwks_backoff_ms ? F.jwks_backoff_ms * 2 : 1000;
	if (F.jwks_backoff_ms > RETRY_MAX_MS)
		F.jwks_backoff_ms = RETRY_MAX_MS;
	timer_ms(F.jwks_retry_ev, F.jwks_backoff_ms);
}

static void
on_jwks(struct gh_httpc_resp *r, void *arg)
{
	char url[1024];

	(void)arg;
	F.jwks_busy = 0;
	if (stopping())
		return;
	GW_COUNT(jwks_fetches);
	if (F.jwks_again) {
		F.jwks_again = 0;
		jwks_fetch();
		return;
	}
	jwks_url_copy(url, sizeof(url));
	if (r->error != GH_HTTPC_OK || r->status != 200 || r->body == NULL) {
		gh_log_warn("jwks", NULL, "JWKS fetch from %s failed (%s); keeping the keys we have", url,
		    r->error != GH_HTTPC_OK ? r->errstr : gh_http_status_text(r->status));
		jwks_failed();
		return;
	}
	F.jwks_backoff_ms = 0;
	jwks_install(r, url);
}

/* The JWKS URL into buf: the zone's jwks_url, else the current store's ("" when none). */
static void
jwks_url_copy(char *buf, size_t len)
{
	const char *set = gw_setting_str("jwks_url");
	struct gw_store *s;

	if (set != NULL && *set != '\0') {
		snprintf(buf, len, "%s", set);
		return;
	}
	s = gw_store_acquire();

	snprintf(buf, len, "%s", s != NULL && s->jwks_url != NULL ? s->jwks_url : "");
	gw_store_unref(s);
}

static void
jwks_fetch(void)
{
	struct gh_httpc_opts o = { 3000, 10000 };
	char url[1024];

	if (F.jwks_busy || stopping())
		return;
	jwks_url_copy(url, sizeof(url));
	if (url[0] == '\0')
		return;
	__atomic_store_n(&F.jwks_req_ms, now_ms(), __ATOMIC_RELAXED);
	if (gh_httpc_request_opts(F.http, &o, "GET", url, NULL, 0, NULL, 0, on_jwks, NULL) != 0) {
		gh_log_warn("jwks", NULL, "the JWKS URL %s is not usable", url);
		return;
	}
	F.jwks_busy = 1;
}

static void
on_jwks_ev(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	jwks_fetch();
}

void
gw_feed_jwks_refresh(void)
{
	int64_t now = now_ms(), last = __atomic_load_n(&F.jwks_req_ms, __ATOMIC_RELAXED);

	if (F.jwks_ev == NULL || stopping() || now - last < JWKS_MIN_INTERVAL_MS)
		return;
	if (!__atomic_compare_exchange_n(&F.jwks_req_ms, &last, now, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return;         /* another thread asked at the same moment */
	event_active(F.jwks_ev, 0, 0);
}

/* ---- backend key ---- */

static void bkey_post(void);

static void
on_bkey(struct gh_httpc_resp *r, void *arg)
{
	char text[300];

	(void)arg;
	F.bkey_busy = 0;
	if (stopping())
		return;
	if (r->error == GH_HTTPC_OK && (r->status == 200 || r->status == 201)) {
		F.bkey_done = 1;
		gh_log_info("backend-key", NULL, "backend-JWT key %s registered with the feed", gw.backend_kid);
		return;
	}
	if (r->error == GH_HTTPC_OK && r->status >= 400 && r->status < 500) {
		/* our key or kid is refused: trying again changes nothing */
		F.bkey_done = 1;
		error_text(r, text, sizeof(text));
		gh_log_error("backend-key", NULL, "the feed refuses backend-JWT key %s: %s", gw.backend_kid, text);
		return;
	}
	F.bkey_backoff_ms = F.bkey_backoff_ms ? F.bkey_backoff_ms * 2 : 1000;
	if (F.bkey_backoff_ms > RETRY_MAX_MS)
		F.bkey_backoff_ms = RETRY_MAX_MS;
	timer_ms(F.bkey_ev, F.bkey_backoff_ms);
}

static void
bkey_post(void)
{
	static const struct gh_http_header ct = { "Content-Type", "application/json" };
	struct json_object *o, *jwk;
	char url[1200];
	const char *body;

	if (gw.backend_key == NULL || F.bkey_done || F.bkey_busy || stopping())
		return;
	if ((jwk = gh_jwk_to_json(gw.backend_key)) == NULL || (o = json_object_new_object()) == NULL) {
		json_object_put(jwk);
		return;
	}
	json_object_object_add(o, "kid", json_object_new_string(gw.backend_kid));
	json_object_object_add(o, "jwk", jwk);
	body = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	snprintf(url, sizeof(url), "%s/internal/data/v1/backend-keys", F.base_url);
	if (gh_httpc_request(F.http, "POST", url, &ct, 1, body, strlen(body), on_bkey, NULL) == 0)
		F.bkey_busy = 1;
	json_object_put(o);
}

static void
on_bkey_ev(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	bkey_post();
}

/* ---- snapshot and events ---- */

static void feed_next(void);

static void
feed_failed(const char *what)
{
	GW_COUNT(feed_errors);
	if (stopping())
		return;
	gh_log_warn("feed", NULL, "%s; retrying in %d ms, serving the current configuration", what, F.backoff_ms);
	timer_ms(F.retry_ev, F.backoff_ms);
	F.backoff_ms *= 2;
	if (F.backoff_ms > BACKOFF_MAX_MS)
		F.backoff_ms = BACKOFF_MAX_MS;
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	feed_next();
}

static void
got_snapshot(struct gh_httpc_resp *r)
{
	struct json_object *model;
	const char *why;

	if ((model = gh_json_parse_object(r->body, r->body_len, &why)) == NULL) {
		feed_failed("the feed's snapshot is not JSON");
		return;
	}
	if (publish_model(model) != 0) {
		json_object_put(model);
		feed_failed("the feed's snapshot is unusable");
		return;
	}
	F.last = model_event_id(model);
	model_set(model);
	F.need_snapshot = 0;
	GW_COUNT(feed_snapshots);
	gh_log_info("feed", NULL, "snapshot of event %lld taken", (long long)F.last);
	mark_dirty();
	feed_next();
}

/* Apply one batch; 0, or -1 when an event could not be applied (a snapshot follows). */
static int
apply_events(struct json_object *evs, int64_t last)
{
	size_t n = json_object_array_length(evs), applied = 0;
	int jwks = 0;
	int64_t top = last;
	struct json_object *model;

	if (n == 0 && top == F.last)
		return 0;               /* the long poll's timeout: nothing to parse */
	if ((model = model_get()) == NULL)
		return -1;
	model_changed();
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(evs, i), *payload = NULL;
		const char *type = gh_json_str(e, "type");
		long long id = 0;
		int rc;

		json_object_object_get_ex(e, "payload", &payload);
		if (type == NULL || gh_json_int(e, "id", &id) != 0 || (rc = gw_model_apply(model, type, payload)) < 0) {
			gh_log_warn("feed", NULL, "event %lld (%s) cannot be applied; taking a fresh snapshot", id,
			    type ? type : "?");
			return -1;
		}
		if (rc == 1)
			jwks = 1;
		if (id > top)
			top = id;
		applied++;
	}
	__atomic_add_fetch(&gw.metrics.feed_events, applied, __ATOMIC_RELAXED);
	if (top != F.last) {
		json_object_object_add(model, "eventId", json_object_new_int64(top));
		F.last = top;
		mark_dirty();
	}
	if (applied > 0 && publish_model(model) != 0)
		return -1;
	if (jwks) {
		/* a fetch in flight may predate the rotation: fetch again once it is done */
		if (F.jwks_busy)
			F.jwks_again = 1;
		else
			jwks_fetch();
	}
	return 0;
}

static void
got_events(struct gh_httpc_resp *r)
{
	struct json_object *o, *evs;
	const char *why;
	long long last = 0;

	if ((o = gh_json_parse_object(r->body, r->body_len, &why)) == NULL ||
	    (evs = gh_json_array(o, "events")) == NULL || gh_json_int(o, "last", &last) != 0) {
		json_object_put(o);
		feed_failed("the feed's events answer is malformed");
		return;
	}
	if (apply_events(evs, (int64_t)last) != 0)
		F.need_snapshot = 1;
	json_object_put(o);
	feed_next();
}

static void
on_feed(struct gh_httpc_resp *r, void *arg)
{
	char text[300], what[400];
	int snapshot = arg != NULL;

	if (stopping())
		return;
	if (r->error != GH_HTTPC_OK) {
		snprintf(what, sizeof(what), "the data feed cannot be reached: %s", r->errstr);
		feed_failed(what);
		return;
	}
	F.last_answer_ms = now_ms();
	__atomic_store_n(&gw.feed_lag_ms, 0, __ATOMIC_RELAXED);
	if (r->status == 200) {
		F.backoff_ms = BACKOFF_MIN_MS;
		bkey_post();
		if (snapshot)
			got_snapshot(r);
		else
			got_events(r);
		return;
	}
	if (!snapshot && r->status == 410) {
		gh_log_warn("feed", NULL, "event %lld is past the feed's retention: taking a fresh snapshot",
		    (long long)F.last);
		F.need_snapshot = 1;
		feed_next();
		return;
	}
	error_text(r, text, sizeof(text));
	snprintf(what, sizeof(what), "the data feed answers %s", text);
	feed_failed(what);
}

static void
feed_next(void)
{
	struct gh_httpc_opts o = { START_CONNECT_MS, POLL_TIMEOUT_MS + 10000 };
	char url[2048];

	if (stopping())
		return;
	if (F.need_snapshot)
		snprintf(url, sizeof(url), "%s/internal/data/v1/snapshot?environment=%s", F.base_url, F.env_q);
	else
		snprintf(url, sizeof(url), "%s/internal/data/v1/events?environment=%s&after=%lld&timeout=%d",
		    F.base_url, F.env_q, (long long)F.last, POLL_TIMEOUT_MS);
	if (gh_httpc_request_opts(F.http, &o, "GET", url, NULL, 0, NULL, 0, on_feed,
	    F.need_snapshot ? (void *)1 : NULL) != 0)
		feed_failed("the data feed's URL is not usable");
}

static void
on_lag(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	__atomic_store_n(&gw.feed_lag_ms, now_ms() - F.last_answer_ms, __ATOMIC_RELAXED);
}

static void
on_stop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	event_base_loopbreak(F.base);
}

static void *
feed_main(void *arg)
{
	(void)arg;
	bkey_post();
	if (gw.jwks == NULL)
		timer_ms(F.jwks_retry_ev, 1000);
	feed_next();
	event_base_dispatch(F.base);
	return NULL;
}

/* ---- start and stop ---- */

static void
settings(void)
{
	const char *url = gh_settings_str(gw.cfg, "cluster.feed_url");
	const char *file = gw_setting_str("snapshot_file");
	const char *dir = gh_settings_str(gw.cfg, "node.data_dir");
	size_t n, o = 0;

	snprintf(F.base_url, sizeof(F.base_url), "%s", url ? url : "https://localhost:9446");
	n = strlen(F.base_url);
	while (n > 0 && F.base_url[n - 1] == '/')
		F.base_url[--n] = '\0';
	for (const char *p = gw.env ? gw.env : ""; *p && o + 4 < sizeof(F.env_q); p++) {
		unsigned char c = (unsigned char)*p;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("-._~", c))
			F.env_q[o++] = (char)c;
		else
			o += (size_t)snprintf(F.env_q + o, sizeof(F.env_q) - o, "%%%02X", c);
	}
	F.env_q[o] = '\0';
	if (file != NULL && file[0] != '\0')
		snprintf(F.snap_path, sizeof(F.snap_path), "%s", file);
	else
		snprintf(F.snap_path, sizeof(F.snap_path), "%s/%s-snapshot.json", dir ? dir : ".", gw_zone.name);
}

/* The first snapshot, blocking: 1 published, 0 unreachable, -1 refused (printed). */
static int
first_snapshot(void)
{
	struct gh_httpc_cfg cfg = { gw.tls_internal, START_CONNECT_MS, START_TIMEOUT_MS, 0, 0, MAX_FEED_BODY };
	struct gh_httpc_resp r;
	struct json_object *model = NULL;
	char url[2048], text[300];
	const char *why;
	int rc = 0;

	snprintf(url, sizeof(url), "%s/internal/data/v1/snapshot?environment=%s", F.base_url, F.env_q);
	if (gh_httpc_fetch(&cfg, "GET", url, NULL, 0, NULL, 0, &r) != 0) {
		gh_log_warn("feed", NULL, "the data feed %s cannot be reached: %s", F.base_url, r.errstr);
		goto out;
	}
	F.last_answer_ms = now_ms();
	if (r.status == 400 || r.status == 403 || r.status == 404) {
		error_text(&r, text, sizeof(text));
		fprintf(stderr, "gatehouse-%s: the data feed %s refuses environment '%s': %s (check %s.environment "
		    "and this node's gateway certificate)\n", gw_zone.name, F.base_url, gw.env, text, gw_zone.name);
		rc = -1;
		goto out;
	}
	if (r.status != 200) {
		error_text(&r, text, sizeof(text));
		gh_log_warn("feed", NULL, "the data feed answers %s", text);
		goto out;
	}
	if ((model = gh_json_parse_object(r.body, r.body_len, &why)) == NULL) {
		gh_log_warn("feed", NULL, "the feed's snapshot is not JSON: %s", why);
		goto out;
	}
	if (publish_model(model) != 0) {
		json_object_put(model);
		goto out;
	}
	F.last = model_event_id(model);
	gh_httpc_resp_clear(&r);        /* the body's memory goes before the model's text is made */
	model_set(model);               /* no event loop yet: dropped to its text at once */
	GW_COUNT(feed_snapshots);
	gh_log_info("feed", NULL, "snapshot of event %lld taken from %s", (long long)F.last, F.base_url);
	snapshot_write();
	rc = 1;
out:
	gh_httpc_resp_clear(&r);
	return rc;
}

/* The first JWKS, blocking with short timeouts; the thread retries when it fails. */
static void
first_jwks(void)
{
	struct gh_httpc_cfg cfg = { gw.tls_internal, 2000, 3000, 0, 0, 0 };
	struct gh_httpc_resp r;
	char url[1024];

	jwks_url_copy(url, sizeof(url));
	if (url[0] == '\0')
		return;
	F.jwks_req_ms = now_ms();
	GW_COUNT(jwks_fetches);
	if (gh_httpc_fetch(&cfg, "GET", url, NULL, 0, NULL, 0, &r) == 0 && r.status == 200 && r.body != NULL)
		jwks_install(&r, url);
	else
		gh_log_warn("jwks", NULL, "the key manager's JWKS (%s) cannot be fetched yet (%s); retrying", url,
		    r.error != GH_HTTPC_OK ? r.errstr : gh_http_status_text(r.status));
	gh_httpc_resp_clear(&r);
}

static void
feed_free(void)
{
	struct event **evs[] = { &F.stop_ev, &F.retry_ev, &F.write_ev, &F.lag_ev, &F.jwks_ev, &F.jwks_retry_ev,
		&F.bkey_ev, &F.drop_ev };

	if (F.http != NULL)
		gh_httpc_free(F.http);
	F.http = NULL;
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
		if (*evs[i] != NULL)
			event_free(*evs[i]);
		*evs[i] = NULL;
	}
	if (F.base != NULL)
		event_base_free(F.base);
	F.base = NULL;
	json_object_put(F.model);
	F.model = NULL;
	free(F.text);
	F.text = NULL;
	F.text_len = 0;
	if (F.snap_fd >= 0)
		close(F.snap_fd);
	F.snap_fd = -1;
}

int
gw_feed_start(void)
{
	struct gh_httpc_cfg cfg = { NULL, START_CONNECT_MS, POLL_TIMEOUT_MS + 10000, 2, 0, MAX_FEED_BODY };
	struct timeval sec = { 1, 0 };
	int rc;

	memset(&F, 0, sizeof(F));
	F.snap_fd = -1;
	settings();
	F.backoff_ms = BACKOFF_MIN_MS;
	if ((rc = first_snapshot()) < 0)
		return -1;
	if (rc == 0) {
		struct json_object *model = snapshot_read();

		if (model == NULL || publish_model(model) != 0) {
			json_object_put(model);
			return -1;
		}
		F.last = model_event_id(model);
		model_set(model);
		F.last_answer_ms = now_ms();
		gh_log_warn("feed", NULL, "serving the snapshot on disk (%s, event %lld) until the feed answers",
		    F.snap_path, (long long)F.last);
	}
	/* after the first (atomic) write: a descriptor that stays writable after the privilege drop */
	F.snap_fd = open(F.snap_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	first_jwks();
	cfg.ssl = gw.tls_internal;
	F.base = event_base_new();
	if (F.base == NULL || (F.http = gh_httpc_new(F.base, &cfg)) == NULL ||
	    (F.stop_ev = event_new(F.base, -1, 0, on_stop, NULL)) == NULL ||
	    (F.retry_ev = evtimer_new(F.base, on_retry, NULL)) == NULL ||
	    (F.write_ev = evtimer_new(F.base, on_write, NULL)) == NULL ||
	    (F.lag_ev = event_new(F.base, -1, EV_PERSIST, on_lag, NULL)) == NULL ||
	    (F.jwks_ev = event_new(F.base, -1, 0, on_jwks_ev, NULL)) == NULL ||
	    (F.jwks_retry_ev = evtimer_new(F.base, on_jwks_ev, NULL)) == NULL ||
	    (F.bkey_ev = evtimer_new(F.base, on_bkey_ev, NULL)) == NULL ||
	    (F.drop_ev = evtimer_new(F.base, on_drop, NULL)) == NULL) {
		fprintf(stderr, "gatehouse-%s: the feed thread: out of memory\n", gw_zone.name);
		goto fail;
	}
	event_add(F.lag_ev, &sec);
	if (pthread_create(&F.thread, NULL, feed_main, NULL) != 0) {
		fprintf(stderr, "gatehouse-%s: cannot start the feed thread\n", gw_zone.name);
		goto fail;
	}
	F.started = 1;
	return 0;
fail:
	feed_free();
	gw_store_publish(NULL);
	return -1;
}

void
gw_feed_stop(void)
{
	struct gh_jwks *old;

	__atomic_store_n(&F.stopping, 1, __ATOMIC_RELEASE);
	if (F.started) {
		event_active(F.stop_ev, 0, 0);
		pthread_join(F.thread, NULL);
		F.started = 0;
	}
	if (F.dirty)
		snapshot_write();
	feed_free();
	gw_store_publish(NULL);
	pthread_rwlock_wrlock(&gw.jwks_lock);
	old = gw.jwks;
	gw.jwks = NULL;
	pthread_rwlock_unlock(&gw.jwks_lock);
	gh_jwks_free(old);
}
