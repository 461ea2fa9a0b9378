/*
 * Cluster-wide throttling counters: POST /internal/throttle/v1/sync
 * (PROTOCOL.md).  A table of keys, each a sliding window over two fixed
 * windows aligned on this process's clock and summed over every gateway;
 * per gateway process a session mapping its key ids to keys.  A sync adds
 * the deltas and answers the estimates that changed since the session was
 * last told.  Everything lives on the loop (no lock, no database);
 * sessions expire after a minute of silence, unreferenced keys once their
 * windows are empty.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/gh_log.h"
#include "gateway/tmsync_wire.h"
#include "gateway/trafficmanager/tm.h"

#define SESSION_TTL_MS 60000
#define SWEEP_EVERY_MS 1000

struct tm_key {
	struct tm_key *next;
	uint64_t hash;
	int64_t window_ms, limit;
	int64_t start, cur, prev;       /* fixed windows: start is a multiple of window_ms */
	int64_t last_ms;                /* last delta */
	uint32_t refs;                  /* sessions naming it */
	size_t klen;
	char key[];
};

/* A key as one session knows it. */
struct tm_skey {
	struct tm_key *k;
	uint64_t told16;                /* the estimate last answered */
	int64_t last_delta;
};

struct tm_session {
	struct tm_session *next;
	char node[64], env[TS_MAX_ENV + 1];
	uint64_t instance, epoch, seq;
	int64_t last_seen;
	uint32_t nkeys, cap;
	struct tm_skey *keys;
};

static struct {
	struct tm_key **b;
	size_t nb, nkeys;
	struct tm_session *sessions;
	size_t nsessions;
	struct event *sweep;
} sy;

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t
key_hash(const char *s, size_t n, int64_t w)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	h ^= (uint64_t)w;
	return h * 1099511628211ULL;
}

/* Move k's fixed windows on to now. */
static void
key_roll(struct tm_key *k, int64_t now)
{
	int64_t w = k->window_ms, ws;

	if (now - k->start < w)
		return;
	ws = now - now % w;
	k->prev = ws - k->start == w ? k->cur : 0;
	k->cur = 0;
	k->start = ws;
}

/* The sliding-window estimate of k at now, times TS_FIXED, rounded. */
static uint64_t
key_estimate16(struct tm_key *k, int64_t now)
{
	double w, el, est;

	key_roll(k, now);
	if (k->prev == 0)
		return (uint64_t)k->cur * TS_FIXED;
	w = (double)k->window_ms;
	el = (double)(now - k->start);
	est = (double)k->prev * (w - el) / w + (double)k->cur;
	return (uint64_t)(est * TS_FIXED + 0.5);
}

static int
table_grow(void)
{
	size_t nb = sy.nb ? sy.nb * 2 : 1024;
	struct tm_key **b = calloc(nb, sizeof(*b));

	if (b == NULL)
		return -1;
	for (size_t i = 0; i < sy.nb; i++) {
		while (sy.b[i] != NULL) {
			struct tm_key *k = sy.b[i];

			sy.b[i] = k->next;
			k->next = b[k->hash & (nb - 1)];
			b[k->hash & (nb - 1)] = k;
		}
	}
	free(sy.b);
	sy.b = b;
	sy.nb = nb;
	return 0;
}

/* The key (text, window), made when absent; NULL on ENOMEM. */
static struct tm_key *
key_intern(const struct ts_def *d, int64_t now)
{
	uint64_t h = key_hash(d->key, d->key_len, d->window_ms);
	struct tm_key *k;

	if (sy.nkeys >= sy.nb && table_grow() != 0 && sy.nb == 0)
		return NULL;
	for (k = sy.b[h & (sy.nb - 1)]; k != NULL; k = k->next)
		if (k->hash == h && k->window_ms == d->window_ms && k->klen == d->key_len &&
		    memcmp(k->key, d->key, d->key_len) == 0)
			break;
	if (k == NULL) {
		k = calloc(1, sizeof(*k) + d->key_len + 1);
		if (k == NULL)
			return NULL;
		memcpy(k->key, d->key, d->key_len);
		k->klen = d->key_len;
		k->hash = h;
		k->window_ms = d->window_ms;
		k->start = now - now % d->window_ms;
		k->last_ms = now;
		k->next = sy.b[h & (sy.nb - 1)];
		sy.b[h & (sy.nb - 1)] = k;
		sy.nkeys++;
	}
	k->limit = d->limit;
	return k;
}

static void
session_release_keys(struct tm_session *s)
{
	for (uint32_t i = 0; i < s->nkeys; i++)
		s->keys[i].k->refs--;
	free(s->keys);
	s->keys = NULL;
	s->nkeys = s->cap = 0;
}

static void
session_unlink(struct tm_session *s)
{
	for (struct tm_session **pp = &sy.sessions; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			sy.nsessions--;
			break;
		}
	}
	session_release_keys(s);
	free(s);
}

static struct tm_session *
session_find(const char *node, uint64_t instance)
{
	for (struct tm_session *s = sy.sessions; s != NULL; s = s->next)
		if (s->instance == instance && strcmp(s->node, node) == 0)
			return s;
	return NULL;
}

/* Gateway processes of env that synced in the last minute (expired sessions are gone). */
static uint32_t
env_gateways(const char *env)
{
	uint32_t n = 0;

	for (struct tm_session *s = sy.sessions; s != NULL; s = s->next)
		if (strcmp(s->env, env) == 0)
			n++;
	return n;
}

static void
sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	int64_t now = mono_ms();
	struct tm_session *s, *next;

	(void)fd;
	(void)what;
	(void)arg;
	for (s = sy.sessions; s != NULL; s = next) {
		next = s->next;
		if (now - s->last_seen > SESSION_TTL_MS) {
			gh_log_info("sync_session_expired", NULL, "gateway %s (%s) silent for a minute: "
			    "session of %u keys dropped", s->node, s->env, s->nkeys);
			session_unlink(s);
		}
	}
	for (size_t i = 0; i < sy.nb; i++) {
		struct tm_key **pp = &sy.b[i];

		while (*pp != NULL) {
			struct tm_key *k = *pp;

			if (k->refs == 0 && now - k->last_ms > 2 * k->window_ms) {
				*pp = k->next;
				free(k);
				sy.nkeys--;
			} else {
				pp = &k->next;
			}
		}
	}
}

/* Refuse the body with 400, logged, nothing applied. */
static void
refuse(struct gh_http_req *req, const char *why)
{
	TM_COUNT(sync_refused, 1);
	gh_log_warn("sync_refused", req->request_id, "gateway %s (%s): malformed throttle sync: %s",
	    req->peer_id.node, req->client_addr, why);
	gh_http_respond_error(req, 400, "Bad Request", why);
}

/*
 * The session r speaks of, made or reset for a new one; *dup set when r
 * repeats the request last applied.  NULL after answering 409 (unknown
 * session: the gateway must name its keys again) or 500.
 */
static struct tm_session *
session_for(struct gh_http_req *req, const struct ts_req *r, int64_t now, int *dup)
{
	struct tm_session *s = session_find(req->peer_id.node, r->instance);

	*dup = 0;
	if (s != NULL && s->epoch == r->epoch && s->seq == r->seq) {
		*dup = 1;
		return s;
	}
	if (r->flags & TS_F_NEW) {
		if (s == NULL) {
			s = calloc(1, sizeof(*s));
			if (s == NULL) {
				gh_http_respond_error(req, 500, "Internal Server Error", "out of memory");
				return NULL;
			}
			snprintf(s->node, sizeof(s->node), "%s", req->peer_id.node);
			s->instance = r->instance;
			s->next = sy.sessions;
			sy.sessions = s;
			sy.nsessions++;
			gh_log_info("sync_session", req->request_id, "gateway %s (%s): new session",
			    s->node, r->env);
		} else {
			session_release_keys(s);
		}
		snprintf(s->env, sizeof(s->env), "%s", r->env);
		s->epoch = r->epoch;
		s->seq = r->seq;
		s->last_seen = now;
		return s;
	}
	if (s == NULL || s->epoch != r->epoch || r->seq != s->seq + 1) {
		gh_http_respond_error(req, 409, "Conflict", "Unknown throttle sync session: start a new "
		    "one and name every key again");
		return NULL;
	}
	return s;
}

/*
 * Check the key ids of r against a session holding base keys, before
 * anything is applied: NULL, or why r is malformed.
 */
static const char *
check_ids(uint32_t base, const struct ts_req *r)
{
	if (r->ndefs > 0 && r->defs[0].id != base)
		return "key definitions do not start at the session's next key id";
	if ((size_t)base + r->ndefs > TS_MAX_KEYS)
		return "too many keys in the session";
	for (size_t i = 0; i < r->ndeltas; i++)
		if (r->deltas[i].id >= base + r->ndefs)
			return "a delta names a key id never defined in the session";
	return NULL;
}

static void
answer(struct gh_http_req *req, struct tm_session *s, int all, int64_t now)
{
	struct ts_buf b = { 0 };
	struct ts_count *c = NULL;
	struct ts_resp resp = { .flags = all ? TS_F_ALL : 0 };
	size_t n = 0;

	if (s->nkeys > 0 && (c = malloc(s->nkeys * sizeof(*c))) == NULL)
		goto oom;
	for (uint32_t i = 0; i < s->nkeys; i++) {
		struct tm_skey *sk = &s->keys[i];
		uint64_t v;

		/* dormant: nothing counted for two windows and the gateway told 0 already */
		if (sk->told16 == 0 && !all && now - sk->k->last_ms > 2 * sk->k->window_ms)
			continue;
		v = key_estimate16(sk->k, now);
		if (!all && v == sk->told16)
			continue;
		sk->told16 = v;
		c[n].id = i;
		c[n].count16 = v;
		n++;
	}
	resp.gateways = env_gateways(s->env);
	resp.counts = c;
	resp.ncounts = n;
	if (ts_resp_encode(&b, &resp) != 0)
		goto oom;
	gh_http_respond(req, 200, "application/octet-stream", b.p, b.len);
	free(c);
	ts_buf_free(&b);
	return;
oom:
	free(c);
	ts_buf_free(&b);
	gh_http_respond_error(req, 500, "Internal Server Error", "out of memory");
}

static void
sync_handler(struct gh_http_req *req, const struct gh_route_match *m, void *arg)
{
	struct ts_req r;
	struct tm_session *s;
	char err[160];
	const char *why;
	int64_t now = mono_ms();
	int dup, fresh;

	(void)m;
	(void)arg;
	if (!tm_peer_is_gateway(req)) {
		TM_COUNT(sync_refused, 1);
		return;
	}
	if (req->body_len > tmgr.max_batch_bytes) {
		TM_COUNT(sync_refused, 1);
		gh_log_warn("sync_refused", req->request_id, "gateway %s: sync of %zu bytes", req->peer_id.node,
		    req->body_len);
		gh_http_respond_error(req, 413, "Payload Too Large", "The sync body is larger than "
		    "trafficmanager.max_batch_bytes");
		return;
	}
	if (ts_req_decode(req->body, req->body_len, &r, err, sizeof(err)) != 0) {
		refuse(req, err);
		return;
	}
	fresh = (r.flags & TS_F_NEW) != 0;
	/* a new session's body is checked before the session is reset */
	if (fresh && (why = check_ids(0, &r)) != NULL) {
		refuse(req, why);
		goto out;
	}
	if ((s = session_for(req, &r, now, &dup)) == NULL)
		goto out;
	s->last_seen = now;
	if (dup) {
		answer(req, s, 1, now);
		goto out;
	}
	if (!fresh && (why = check_ids(s->nkeys, &r)) != NULL) {
		refuse(req, why);
		goto out;
	}
	if (s->nkeys + r.ndefs > s->cap) {
		uint32_t cap = s->cap ? s->cap : 64;
		struct tm_skey *k;

		while (cap < s->nkeys + r.ndefs)
			cap *= 2;
		if ((k = realloc(s->keys, cap * sizeof(*k))) == NULL) {
			gh_http_respond_error(req, 500, "Internal Server Error", "out of memory");
			goto out;
		}
		s->keys = k;
		s->cap = cap;
	}
	for (size_t i = 0; i < r.ndefs; i++) {
		struct tm_key *k = key_intern(&r.defs[i], now);

		if (k == NULL) {
			gh_http_respond_error(req, 500, "Internal Server Error", "out of memory");
			goto out;
		}
		k->refs++;
		s->keys[s->nkeys++] = (struct tm_skey){ .k = k, .told16 = 0, .last_delta = now };
	}
	for (size_t i = 0; i < r.ndeltas; i++) {
		struct tm_skey *sk = &s->keys[r.deltas[i].id];

		key_roll(sk->k, now);
		sk->k->cur += (int64_t)r.deltas[i].delta;
		sk->k->last_ms = now;
		sk->last_delta = now;
	}
	s->seq = r.seq;
	TM_COUNT(syncs, 1);
	TM_COUNT(sync_keys, r.ndeltas);
	if (r.flags & TS_F_BYE)     /* before the answer frees req */
		gh_log_info("sync_session_end", req->request_id, "gateway %s (%s) stopped: session dropped",
		    s->node, s->env);
	answer(req, s, 0, now);
	if (r.flags & TS_F_BYE)
		session_unlink(s);
out:
	ts_req_clear(&r);
}

int
tm_sync_init(void)
{
	struct timeval tv = { SWEEP_EVERY_MS / 1000, (SWEEP_EVERY_MS % 1000) * 1000 };

	if (table_grow() != 0)
		return -1;
	sy.sweep = event_new(tmgr.base, -1, EV_PERSIST, sweep_cb, NULL);
	if (sy.sweep == NULL || event_add(sy.sweep, &tv) != 0)
		return -1;
	return 0;
}

void
tm_sync_routes(struct gh_router *r)
{
	gh_router_add(r, "POST", "/internal/throttle/v1/sync", sync_handler, NULL);
}

size_t
tm_sync_keys(void)
{
	return sy.nkeys;
}

size_t
tm_sync_gateways(void)
{
	return sy.nsessions;
}

void
tm_sync_shutdown(void)
{
	if (sy.sweep != NULL)
		event_free(sy.sweep);
	while (sy.sessions != NULL)
		session_unlink(sy.sessions);
	for (size_t i = 0; i < sy.nb; i++) {
		while (sy.b[i] != NULL) {
			struct tm_key *k = sy.b[i];

			sy.b[i] = k->next;
			free(k);
		}
	}
	free(sy.b);
	memset(&sy, 0, sizeof(sy));
}
