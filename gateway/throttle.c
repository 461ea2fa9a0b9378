/*
 * Throttling: deny policies first
 * (403, 900805), then the subscription tier, the application tier, the
 * API policy, the resource policy, the subscription's burst control and,
 * for Basic and unauthenticated callers, the Unauthenticated tier.  Every
 * limit is a sliding window over two fixed windows; a request that would
 * exceed any is refused with 429 (900800) and Retry-After and counts in
 * none.  Counters live in a process-wide table with striped mutexes; with
 * a traffic manager (tmsync.c) a counter also keeps what it counted since
 * the last sync and the cluster-wide count the traffic manager answered,
 * and admits against their sum (burst control stays local).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/gw.h"
#include "core/gh_ipaddr.h"
#include "gateway/throttle.h"

#define NSTRIPES 256
#define NBUCKETS 256                    /* per stripe */
#define SWEEP_MS 5000

struct rl_entry {
	struct rl_entry *next;
	uint64_t hash;
	int64_t window_ms;
	int64_t start;                  /* current fixed window's start (multiple of window_ms) */
	int64_t cur, prev;
	int64_t last_ms;
	int64_t limit;                  /* last limit taken against it (sent to the traffic manager) */
	int local;                      /* never synced (burst control) */
	uint32_t tid, tepoch;           /* key id in sync session tepoch (tid 0: none) */
	int64_t unsent, inflight;       /* counted since the last collect / sent, not yet answered */
	int64_t global16;               /* cluster-wide count answered last, times 16 */
	char key[];
};

struct rl_stripe {
	pthread_mutex_t mu;
	int64_t last_sweep;
	struct rl_entry *b[NBUCKETS];
} __attribute__((aligned(64)));

static struct rl_stripe stripes[NSTRIPES];
static pthread_once_t stripes_once = PTHREAD_ONCE_INIT;
/* enum gw_rl_mode in the low byte, the gateways sharing a limit above */
static uint32_t rl_mode;

void
gw_rl_set_mode(enum gw_rl_mode mode, uint32_t gateways)
{
	if (gateways < 1)
		gateways = 1;
	if (gateways > 0xffffff)
		gateways = 0xffffff;
	__atomic_store_n(&rl_mode, (uint32_t)mode | gateways << 8, __ATOMIC_RELAXED);
}

enum gw_rl_mode
gw_rl_mode_get(uint32_t *gateways)
{
	uint32_t m = __atomic_load_n(&rl_mode, __ATOMIC_RELAXED);

	if (gateways != NULL)
		*gateways = m >> 8 ? m >> 8 : 1;
	return (enum gw_rl_mode)(m & 0xff);
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
stripes_init(void)
{
	for (int i = 0; i < NSTRIPES; i++)
		pthread_mutex_init(&stripes[i].mu, NULL);
}

static uint64_t
fnv(const char *s, int64_t w)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	h ^= (uint64_t)w;
	h *= 1099511628211ULL;
	return h;
}

static void
sweep(struct rl_stripe *st, int64_t now)
{
	st->last_sweep = now;
	for (int i = 0; i < NBUCKETS; i++) {
		struct rl_entry **pp = &st->b[i];

		while (*pp != NULL) {
			struct rl_entry *e = *pp;

			if (now - e->last_ms > 2 * e->window_ms && e->unsent == 0 && e->inflight == 0) {
				*pp = e->next;
				free(e);
			} else {
				pp = &e->next;
			}
		}
	}
}

static struct rl_entry *
entry_find(struct rl_stripe *st, uint64_t h, const char *key, int64_t w)
{
	struct rl_entry *e;

	for (e = st->b[(h >> 8) % NBUCKETS]; e != NULL; e = e->next)
		if (e->hash == h && e->window_ms == w && strcmp(e->key, key) == 0)
			break;
	return e;
}

/* Move e's fixed windows on to now. */
static void
entry_roll(struct rl_entry *e, int64_t now)
{
	int64_t w = e->window_ms, ws;

	if (now - e->start < w)
		return;
	ws = now - now % w;
	e->prev = ws - e->start == w ? e->cur : 0;
	e->cur = 0;
	e->start = ws;
}

/* The entry of (key, window) in st (locked), made when absent; NULL on ENOMEM. */
static struct rl_entry *
entry_get(struct rl_stripe *st, uint64_t h, const char *key, int64_t w, int64_t now)
{
	struct rl_entry *e, **head = &st->b[(h >> 8) % NBUCKETS];
	size_t klen;

	if (now - st->last_sweep > SWEEP_MS)
		sweep(st, now);
	e = entry_find(st, h, key, w);
	if (e == NULL) {
		klen = strlen(key);
		e = calloc(1, sizeof(*e) + klen + 1);
		if (e == NULL)
			return NULL;
		memcpy(e->key, key, klen + 1);
		e->hash = h;
		e->window_ms = w;
		e->start = now - now % w;
		e->next = *head;
		*head = e;
	}
	entry_roll(e, now);
	e->last_ms = now;
	return e;
}

/* Smallest integer >= x, for x >= 0 (no libm). */
static int64_t
ceil_pos(double x)
{
	int64_t i = (int64_t)x;

	return (double)i < x ? i + 1 : i;
}

/* Sliding-window estimate of the requests counted in the last window_ms. */
static double
estimate(const struct rl_entry *e, int64_t now)
{
	double w = (double)e->window_ms, el = (double)(now - e->start);

	return (double)e->prev * (w - el) / w + (double)e->cur;
}

/* Milliseconds until one more request fits in e at count. */
static int64_t
wait_ms(const struct rl_entry *e, int64_t count, int64_t now)
{
	double w = (double)e->window_ms, el = (double)(now - e->start), t;

	if (count <= 0)
		return e->start + e->window_ms - now;
	if (e->cur + 1 > count) {
		/* wait for the window to end, then for the carried weight to fall */
		t = (double)(e->start + e->window_ms - now);
		if (e->cur > 0 && count - 1 < e->cur)
			t += w * (1.0 - (double)(count - 1) / (double)e->cur);
		return ceil_pos(t);
	}
	if (e->prev <= 0)
		return 0;
	t = w * (1.0 - (double)(count - 1 - e->cur) / (double)e->prev) - el;
	return t > 0 ? ceil_pos(t) : 0;
}

/* What e holds against its limit in mode: the cluster-wide count plus ours since, or our window. */
static double
entry_used(const struct rl_entry *e, enum gw_rl_mode mode, int64_t now)
{
	if (mode == GW_RL_CLUSTER && !e->local)
		return (double)e->global16 / 16.0 + (double)(e->unsent + e->inflight);
	return estimate(e, now);
}

/* The limit l stands for on this node in mode. */
static double
limit_cap(const struct gw_rl_limit *l, enum gw_rl_mode mode, uint32_t gateways)
{
	if (mode == GW_RL_SHARE && !l->local)
		return (double)l->count / (double)gateways;
	return (double)l->count;
}

/* Milliseconds until one more request fits, for a refusal in mode. */
static int64_t
refusal_wait_ms(const struct rl_entry *e, const struct gw_rl_limit *l, enum gw_rl_mode mode,
    double used, double cap, int64_t now)
{
	int64_t local = wait_ms(e, (int64_t)cap, now), cluster;

	if (mode != GW_RL_CLUSTER || l->local)
		return local;
	/* a sliding window loses at most count per window as it slides; ours alone waits local */
	if (l->count <= 0)
		return e->window_ms;
	cluster = ceil_pos((used + 1.0 - cap) * (double)e->window_ms / (double)l->count);
	return cluster > local ? cluster : local;
}

int
gw_rl_take(const struct gw_rl_limit *l, size_t n, int64_t now_ms, struct gw_rl_verdict *v)
{
	int64_t best_rem = INT64_MAX;
	uint32_t gateways;
	enum gw_rl_mode mode = gw_rl_mode_get(&gateways);

	pthread_once(&stripes_once, stripes_init);
	memset(v, 0, sizeof(*v));
	v->level = -1;
	/* pass 1: would it fit everywhere? */
	for (size_t i = 0; i < n; i++) {
		uint64_t h = fnv(l[i].key, l[i].window_ms);
		struct rl_stripe *st = &stripes[h % NSTRIPES];
		struct rl_entry *e;
		double used, cap;

		if (l[i].window_ms <= 0)
			continue;
		pthread_mutex_lock(&st->mu);
		e = entry_get(st, h, l[i].key, l[i].window_ms, now_ms);
		if (e == NULL) {
			pthread_mutex_unlock(&st->mu);
			continue;
		}
		e->local = l[i].local;
		e->limit = l[i].count;
		used = entry_used(e, mode, now_ms);
		cap = limit_cap(&l[i], mode, gateways);
		if (used + 1.0 > cap + 1e-9) {
			int64_t ms = refusal_wait_ms(e, &l[i], mode, used, cap, now_ms);

			v->refused = 1;
			v->level = (int)i;
			v->retry_after_s = ms <= 0 ? 1 : (ms + 999) / 1000;
			v->limit = l[i].count;
			v->remaining = 0;
			v->reset_s = (e->start + e->window_ms - now_ms + 999) / 1000;
			pthread_mutex_unlock(&st->mu);
			return 1;
		}
		pthread_mutex_unlock(&st->mu);
	}
	/* pass 2: count it in each */
	for (size_t i = 0; i < n; i++) {
		uint64_t h = fnv(l[i].key, l[i].window_ms);
		struct rl_stripe *st = &stripes[h % NSTRIPES];
		struct rl_entry *e;
		int64_t rem;

		if (l[i].window_ms <= 0)
			continue;
		pthread_mutex_lock(&st->mu);
		e = entry_get(st, h, l[i].key, l[i].window_ms, now_ms);
		if (e != NULL) {
			double left;

			e->cur++;
			if (mode != GW_RL_ALONE && !e->local)
				e->unsent++;
			left = limit_cap(&l[i], mode, gateways) - entry_used(e, mode, now_ms);
			rem = left > 0 ? (int64_t)left : 0;
			if (rem < best_rem) {
				best_rem = rem;
				v->level = (int)i;
				v->limit = l[i].count;
				v->remaining = rem;
				v->reset_s = (e->start + e->window_ms - now_ms + 999) / 1000;
			}
		}
		pthread_mutex_unlock(&st->mu);
	}
	return 0;
}

void
gw_rl_collect(uint32_t epoch, int64_t now_ms, gw_rl_visit_fn visit, void *arg)
{
	pthread_once(&stripes_once, stripes_init);
	for (int i = 0; i < NSTRIPES; i++) {
		struct rl_stripe *st = &stripes[i];

		pthread_mutex_lock(&st->mu);
		for (int j = 0; j < NBUCKETS; j++) {
			for (struct rl_entry *e = st->b[j]; e != NULL; e = e->next) {
				int64_t delta, g = -1, est;
				uint32_t tid;

				if (e->local)
					continue;
				/* the window's count bounds what is still worth sending (after an outage) */
				if (now_ms > e->start)
					entry_roll(e, now_ms);
				est = ceil_pos(estimate(e, now_ms > e->start ? now_ms : e->start));
				if (e->tepoch != epoch || e->tid == 0) {
					/* new to the session: its whole window */
					delta = est;
					tid = visit(arg, 0, e->key, e->window_ms, e->limit, delta, &g);
					if (tid == 0)
						continue;
					e->tid = tid;
					e->tepoch = epoch;
					e->inflight = delta;
					e->unsent = 0;
					if (g >= 0)
						e->global16 = g;
					continue;
				}
				if (e->unsent <= 0)
					continue;
				delta = e->unsent < est ? e->unsent : est;
				if (delta > 0 && visit(arg, e->tid, e->key, e->window_ms, e->limit, delta, &g) == 0)
					continue;
				e->inflight += delta;
				e->unsent = 0;
			}
		}
		pthread_mutex_unlock(&st->mu);
	}
}

void
gw_rl_apply(const char *key, int64_t window_ms, int64_t acked, int64_t global16)
{
	uint64_t h = fnv(key, window_ms);
	struct rl_stripe *st = &stripes[h % NSTRIPES];
	struct rl_entry *e;

	pthread_once(&stripes_once, stripes_init);
	pthread_mutex_lock(&st->mu);
	e = entry_find(st, h, key, window_ms);
	if (e != NULL) {
		e->inflight -= acked;
		if (e->inflight < 0)
			e->inflight = 0;
		if (global16 >= 0)
			e->global16 = global16;
	}
	pthread_mutex_unlock(&st->mu);
}

void
gw_rl_reset(void)
{
	pthread_once(&stripes_once, stripes_init);
	for (int i = 0; i < NSTRIPES; i++) {
		pthread_mutex_lock(&stripes[i].mu);
		for (int j = 0; j < NBUCKETS; j++) {
			while (stripes[i].b[j] != NULL) {
				struct rl_entry *e = stripes[i].b[j];

				stripes[i].b[j] = e->next;
				free(e);
			}
		}
		pthread_mutex_unlock(&stripes[i].mu);
	}
}

/* ---- deny policies ---- */

static int
user_is(const char *value, const char *user, const char *tenant)
{
	size_t ul;

	if (user == NULL || *user == '\0')
		return 0;
	if (strcmp(value, user) == 0)
		return 1;
	/* "user@tenant" names the same user as "user" of that tenant */
	ul = strlen(user);
	return tenant != NULL && strncmp(value, user, ul) == 0 && value[ul] == '@' &&
	    strcmp(value + ul + 1, tenant) == 0;
}

int
gw_deny_matches(const struct gw_deny *d, const struct gw_deny_subject *s)
{
	unsigned char ip[16];
	int hit = 0;
	size_t cl;

	if (d->tenant != NULL && d->tenant[0] != '\0' && strcmp(d->tenant, "*") != 0 &&
	    (s->api_tenant == NULL || strcmp(d->tenant, s->api_tenant) != 0))
		return 0;
	switch (d->type) {
	case GW_DENY_API:
		/* "/context/version"; the context alone blocks every version */
		if (d->value == NULL || s->api_context == NULL)
			return 0;
		cl = strlen(s->api_context);
		hit = strncmp(d->value, s->api_context, cl) == 0 &&
		    (d->value[cl] == '\0' || (d->value[cl] == '/' && s->api_version != NULL &&
		    strcmp(d->value + cl + 1, s->api_version) == 0));
		return hit;
	case GW_DENY_APPLICATION:
		if (d->value == NULL || s->app_owner == NULL || s->app_name == NULL)
			return 0;
		cl = strlen(s->app_owner);
		return strncmp(d->value, s->app_owner, cl) == 0 && d->value[cl] == ':' &&
		    strcmp(d->value + cl + 1, s->app_name) == 0;
	case GW_DENY_USER:
		return d->value != NULL && user_is(d->value, s->user, s->user_tenant);
	case GW_DENY_IP:
	case GW_DENY_IPRANGE:
		/* invert (WSO2: IP conditions only): block every address but these */
		if (gh_ip_parse(s->ip, ip) != 0)
			return d->invert;
		hit = memcmp(ip, d->ip_lo, 16) >= 0 && memcmp(ip, d->ip_hi, 16) <= 0;
		return d->invert ? !hit : hit;
	}
	return 0;
}

/* ---- the phase ---- */

static const char *const deny_names[] = { "API", "APPLICATION", "USER", "IP", "IPRANGE" };

/* Add policy p (may be NULL) as a limit of level keyed by key. */
static void
add_limit(struct gw_rl_limit *l, size_t *n, const struct gw_policy *p, const char *level,
    int burst, const char *k1, const char *k2, const char *k3)
{
	struct gw_rl_limit *x = &l[*n];

	if (p == NULL || p->unlimited)
		return;
	if (burst ? (p->burst_count <= 0 || p->burst_window_ms <= 0) : p->window_ms <= 0)
		return;
	x->level = level;
	x->local = burst;
	x->count = burst ? p->burst_count : p->count;
	x->window_ms = burst ? p->burst_window_ms : p->window_ms;
	snprintf(x->key, sizeof(x->key), "%s|%s|%s|%s", level, k1 ? k1 : "", k2 ? k2 : "", k3 ? k3 : "");
	(*n)++;
}

enum gw_rc
gw_phase_throttle(struct gw_req *r)
{
	const struct gw_store *s = r->store;
	const struct gw_api *api = r->match.api;
	const struct gw_operation *op = r->match.op;
	struct gw_deny_subject subj;
	struct gw_rl_limit lim[6];
	struct gw_rl_verdict v;
	const char *ip = r->http->client_addr;
	const char *user = r->who.sub[0] ? r->who.sub : NULL;
	size_t n = 0;
	char desc[160], ra[24];

	if (api == NULL)
		return GW_OK;
	memset(&subj, 0, sizeof(subj));
	subj.api_tenant = api->tenant;
	subj.api_context = api->context;
	subj.api_version = api->version;
	subj.app_owner = r->app ? r->app->owner : NULL;
	subj.app_name = r->app ? r->app->name : NULL;
	subj.user = user;
	subj.user_tenant = r->who.tenant[0] ? r->who.tenant : NULL;
	subj.ip = ip;
	for (size_t i = 0; i < s->ndenies; i++) {
		if (gw_deny_matches(s->denies[i], &subj)) {
			snprintf(desc, sizeof(desc), "You are not authorized to access the resource: blocked by a "
			    "deny policy (%s)", deny_names[s->denies[i]->type]);
			return gw_reply_error(r, 403, 900805, "Message blocked", desc);
		}
	}
	if (r->sub != NULL) {
		const struct gw_policy *p = gw_store_policy(s, 0, api->tenant, r->sub->tier);

		if (p == NULL && r->app != NULL)
			p = gw_store_policy(s, 0, r->app->tenant, r->sub->tier);
		if (p != NULL && p->stop_on_quota)
			add_limit(lim, &n, p, "subscription", 0, r->sub->id, NULL, NULL);
		add_limit(lim, &n, p, "subscription burst", 1, r->sub->id, NULL, NULL);
	}
	if (r->app != NULL && r->app->tier != NULL)
		add_limit(lim, &n, gw_store_policy(s, 1, r->app->tenant, r->app->tier), "application", 0,
		    r->app->id, user, NULL);
	if (api->api_policy != NULL)
		add_limit(lim, &n, gw_store_policy(s, 2, api->tenant, api->api_policy), "api", 0, api->id,
		    NULL, NULL);
	if (op != NULL && op->throttling_policy != NULL)
		add_limit(lim, &n, gw_store_policy(s, 2, api->tenant, op->throttling_policy), "resource", 0,
		    api->id, op->verb, op->target);
	if (r->who.kind == 4 || (r->who.kind == 0 && r->sub == NULL))
		add_limit(lim, &n, gw_store_policy(s, 0, api->tenant, "Unauthenticated"), "unauthenticated", 0,
		    api->id, r->who.kind == 4 ? user : NULL, r->who.kind == 4 ? NULL : ip);
	if (n == 0)
		return GW_OK;
	gw_rl_take(lim, n, mono_ms(), &v);
	if (v.level >= 0) {
		snprintf(r->rl_limit, sizeof(r->rl_limit), "%lld", (long long)v.limit);
		snprintf(r->rl_remaining, sizeof(r->rl_remaining), "%lld", (long long)v.remaining);
		snprintf(r->rl_reset, sizeof(r->rl_reset), "%lld", (long long)v.reset_s);
	}
	if (!v.refused)
		return GW_OK;
	r->throttled = 1;
	GW_COUNT(throttled);
	snprintf(ra, sizeof(ra), "%lld", (long long)v.retry_after_s);
	gh_http_resp_header(r->http, "Retry-After", ra);
	snprintf(desc, sizeof(desc), "You have exceeded your quota: the %s level limit of %lld requests "
	    "per %lld ms", lim[v.level].level, (long long)lim[v.level].count,
	    (long long)lim[v.level].window_ms);
	return gw_reply_error(r, 429, 900800, "Message throttled out", desc);
}

int
gw_throttle_init(void)
{
	pthread_once(&stripes_once, stripes_init);
	return 0;
}
