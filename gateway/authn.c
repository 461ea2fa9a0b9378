/*
 * The authentication phase: picks the credential the API's securityScheme
 * enables (Authorization: Bearer — a JWT or an opaque token —, the apikey
 * header, Authorization: Basic on the internal zone), verifies it
 * (jwt.c, introspect.c, int_basic.c), and fills r->who and r->app.  Also
 * the refusals every scheme shares (401 900901/900902 with their
 * WWW-Authenticate challenges, 429 900800 from the failed-authentication
 * limiter, 503 900900), each worker's caches and key-manager client, and
 * the completion queue on which the LDAP threads hand results back to a
 * worker.  Authorization and apikey headers are never forwarded upstream
 * (the proxy leaves them out).
 */
#include <event2/event.h>
#include <pthread.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/gh_codec.h"
#include "core/gh_log.h"
#include "gateway/auth.h"

int64_t
gw_auth_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the completion queue ---- */

struct wq_item {
	struct wq_item *next;
	void (*fn)(void *arg);
	void *arg;
};

struct gw_wq {
	pthread_mutex_t mu;
	int refs;                       /* the worker's, plus one per job in flight */
	int closed;
	struct event *ev;               /* on the worker's base */
	struct wq_item *head, *tail;
};

static void
wq_unref(struct gw_wq *q)
{
	int last;

	pthread_mutex_lock(&q->mu);
	last = --q->refs == 0;
	pthread_mutex_unlock(&q->mu);
	if (!last)
		return;
	pthread_mutex_destroy(&q->mu);
	free(q);
}

void
gw_wq_put(struct gw_wq *q)
{
	wq_unref(q);
}

static void
wq_run(struct wq_item *it)
{
	while (it != NULL) {
		struct wq_item *next = it->next;
		it->fn(it->arg);
		free(it);
		it = next;
	}
}

static void
wq_drain(evutil_socket_t fd, short what, void *arg)
{
	struct gw_wq *q = arg;
	struct wq_item *it;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&q->mu);
	it = q->head;
	q->head = q->tail = NULL;
	pthread_mutex_unlock(&q->mu);
	wq_run(it);
}

static struct gw_wq *
wq_new(struct event_base *base)
{
	struct gw_wq *q = calloc(1, sizeof(*q));

	if (q == NULL)
		return NULL;
	pthread_mutex_init(&q->mu, NULL);
	q->refs = 1;
	q->ev = event_new(base, -1, 0, wq_drain, q);
	if (q->ev == NULL) {
		pthread_mutex_destroy(&q->mu);
		free(q);
		return NULL;
	}
	return q;
}

/* Worker teardown: no more posts; run what was posted already; drop the worker's reference. */
static void
wq_close(struct gw_wq *q)
{
	struct wq_item *it;

	pthread_mutex_lock(&q->mu);
	q->closed = 1;
	it = q->head;
	q->head = q->tail = NULL;
	event_free(q->ev);
	q->ev = NULL;
	pthread_mutex_unlock(&q->mu);
	wq_run(it);
	wq_unref(q);
}

struct gw_wq *
gw_wq_get(struct gw_worker *w)
{
	struct gw_authn_worker *aw = w->authn_ctx;

	if (aw == NULL || aw->wq == NULL)
		return NULL;
	pthread_mutex_lock(&aw->wq->mu);
	aw->wq->refs++;
	pthread_mutex_unlock(&aw->wq->mu);
	return aw->wq;
}

int
gw_wq_post(struct gw_wq *q, void (*fn)(void *arg), void *arg)
{
	struct wq_item *it = malloc(sizeof(*it));
	int rc = -1;

	pthread_mutex_lock(&q->mu);
	if (it != NULL && !q->closed) {
		it->next = NULL;
		it->fn = fn;
		it->arg = arg;
		if (q->tail != NULL)
			q->tail->next = it;
		else
			q->head = it;
		q->tail = it;
		it = NULL;
		/* under our mutex, so that wq_close cannot free the event meanwhile */
		event_active(q->ev, 0, 0);
		rc = 0;
	}
	pthread_mutex_unlock(&q->mu);
	free(it);
	wq_unref(q);
	return rc;
}

/* ---- start-up, workers ---- */

int
gw_authn_init(void)
{
	gw_authfail_init(gw_setting_int("auth_failures_per_min"));
	return 0;
}

int
gw_authn_worker_init(struct gw_worker *w)
{
	struct gw_authn_worker *aw = calloc(1, sizeof(*aw));
	struct gh_httpc_cfg hc;
	int64_t total = gw_setting_int("token_cache_entries");
	size_t per = (size_t)(total > 0 ? total : 0) / (size_t)(gw.nworkers > 0 ? gw.nworkers : 1);

	if (aw == NULL)
		return -1;
	w->authn_ctx = aw;
	if (total > 0 && per == 0)
		per = 1;
	aw->wq = wq_new(w->base);
	w->tokens = gw_token_cache_new(per);
	w->opaque = gw_introspect_cache_new(per);
	memset(&hc, 0, sizeof(hc));
	hc.ssl = gw.tls_internal;
	hc.connect_timeout_ms = 2000;
	hc.timeout_ms = 5000;
	hc.max_idle_per_host = 8;
	hc.max_body_bytes = 64 * 1024;
	w->km = gh_httpc_new(w->base, &hc);
	if (aw->wq == NULL || w->tokens == NULL || w->opaque == NULL || w->km == NULL) {
		gw_authn_worker_free(w);
		return -1;
	}
	return 0;
}

void
gw_authn_worker_free(struct gw_worker *w)
{
	struct gw_authn_worker *aw = w->authn_ctx;

	/* Introspections in flight get their callback now and resume their requests. */
	gh_httpc_free(w->km);
	w->km = NULL;
	if (aw != NULL) {
		if (aw->wq != NULL)
			wq_close(aw->wq);
		if (aw->basic != NULL && aw->basic_free != NULL)
			aw->basic_free(aw->basic);
		free(aw);
	}
	w->authn_ctx = NULL;
	gw_token_cache_free(w->tokens);
	w->tokens = NULL;
	gw_introspect_cache_free(w->opaque);
	w->opaque = NULL;
}

/* ---- refusals ---- */

enum gw_rc
gw_authn_refuse(struct gw_req *r, int basic, const char *why)
{
	char hdr[512], desc[512];

	GW_COUNT(auth_failures);
	snprintf(desc, sizeof(desc), "%s. Make sure you have provided the correct security credentials", why);
	if (r->http == NULL)
		return gw_reply_error(r, 401, 900901, "Invalid Credentials", desc);
	gw_authfail_note(r->http->client_addr, gw_auth_now_ms());
	if (basic)
		snprintf(hdr, sizeof(hdr), "Basic realm=\"%s\"", GW_REALM);
	else
		snprintf(hdr, sizeof(hdr), "Bearer realm=\"%s\", error=\"invalid_token\", error_description=\"%s\"",
		    GW_REALM, why);
	gh_http_resp_header(r->http, "WWW-Authenticate", hdr);
	gh_log_info("auth_failed", r->http->request_id, "%s: %s", r->http->client_addr, why);
	return gw_reply_error(r, 401, 900901, "Invalid Credentials", desc);
}

enum gw_rc
gw_authn_limit(struct gw_req *r)
{
	char ra[16];
	int retry = 60;

	if (r->http == NULL || !gw_authfail_blocked(r->http->client_addr, gw_auth_now_ms(), &retry))
		return GW_OK;
	snprintf(ra, sizeof(ra), "%d", retry);
	gh_http_resp_header(r->http, "Retry-After", ra);
	r->throttled = 1;
	GW_COUNT(throttled);
	return gw_reply_error(r, 429, 900800, "Message throttled out",
	    "Too many failed authentications from this address. Try again later");
}

enum gw_rc
gw_authn_unavailable(struct gw_req *r, const char *why)
{
	if (r->http != NULL)
		gh_log_warn("auth_unavailable", r->http->request_id, "%s", why);
	return gw_reply_error(r, 503, 900900, "Unclassified Authentication Failure", why);
}

static enum gw_rc
missing(struct gw_req *r, int basic)
{
	char hdr[64];

	snprintf(hdr, sizeof(hdr), "Bearer realm=\"%s\"", GW_REALM);
	gh_http_resp_header(r->http, "WWW-Authenticate", hdr);
	if (basic) {
		snprintf(hdr, sizeof(hdr), "Basic realm=\"%s\"", GW_REALM);
		gh_http_resp_header(r->http, "WWW-Authenticate", hdr);
	}
	return gw_reply_error(r, 401, 900902, "Missing Credentials",
	    basic ? "Invalid Credentials. Make sure your API invocation call has a header: "
	    "'Authorization: Bearer ACCESS_TOKEN', 'Authorization: Basic CREDENTIALS' or 'apikey: API_KEY'" :
	    "Invalid Credentials. Make sure your API invocation call has a header: "
	    "'Authorization: Bearer ACCESS_TOKEN' or 'apikey: API_KEY'");
}

enum gw_rc
gw_authn_accept(struct gw_req *r)
{
	struct gw_principal *p = &r->who;
	const char *why;

	if (gw_principal_live(r->store, p, &why) != 0)
		return gw_authn_refuse(r, p->kind == 4, why);
	r->app = NULL;
	if (p->app_id[0] != '\0') {
		r->app = gw_store_app(r->store, p->app_id);
		if (r->app == NULL) {
			/* the feed has not brought the application yet: the token's own claim */
			p->claim_app.id = p->app_id;
			p->claim_app.name = p->app_name;
			p->claim_app.tenant = p->app_tenant[0] ? p->app_tenant : p->tenant;
			p->claim_app.owner = p->app_owner;
			p->claim_app.tier = p->app_tier[0] ? p->app_tier : "Unlimited";
			p->claim_app.token_type = p->kind == 2 ? "OPAQUE" : "JWT";
			r->app = &p->claim_app;
		}
	}
	return GW_OK;
}

/* ---- the schemes ---- */

static int
scheme_is(const char *v, const char *scheme)
{
	size_t n = strlen(scheme);

	return strncasecmp(v, scheme, n) == 0 && v[n] == ' ';
}

/* A JWT: an access token (apikey 0) or an API key (apikey 1). */
static enum gw_rc
jwt(struct gw_req *r, const char *tok, size_t len, int apikey)
{
	struct gw_worker *w = r->w;
	int64_t now = gw_auth_now_ms();
	enum gw_verdict v;
	enum gw_rc rc;
	const char *why = "The token is invalid";
	unsigned char d[32];
	size_t klen;
	int dr = gw_token_cache_digest_jws(w->tokens, tok, len, d, &klen), hashed = dr >= 0;

	/*
	 * hashed once: d is the signing input's digest (dr 1), which the
	 * signature check takes, and a miss that verifies is stored under it
	 * with the signature (the tail) compared byte for byte
	 */
	if (!hashed || gw_token_cache_get_dt(w->tokens, d, tok + klen, len - klen, now, &r->who) != 1) {
		if ((rc = gw_authn_limit(r)) != GW_OK)
			return rc;
		pthread_rwlock_rdlock(&gw.jwks_lock);
		v = gw_jwt_verify_md(tok, len, dr == 1 ? d : NULL, gw.jwks, r->store->issuer, now / 1000,
		    &r->who, &why);
		pthread_rwlock_unlock(&gw.jwks_lock);
		if (v == GW_TOK_UNKNOWN_KID)
			gw_feed_jwks_refresh();
		if (v != GW_TOK_OK)
			return gw_authn_refuse(r, 0, why);
		if (hashed)
			gw_token_cache_put_dt(w->tokens, d, tok + klen, len - klen, r->who.exp * 1000, &r->who);
	}
	if (apikey && r->who.kind != 3)
		return gw_authn_refuse(r, 0, "The apikey header must hold an API key");
	if (!apikey && r->who.kind == 3)
		return gw_authn_refuse(r, 0, "An API key goes in the apikey header");
	return gw_authn_accept(r);
}

/* token68 (RFC 7235) characters before any '=': 1, and '.': 2; others 0. */
static const unsigned char tok68[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 2, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
	0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1,
	0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* Bytes of [lo, hi] among the 16 of c (ASCII ranges: bytes >= 0x80 are negative, never in). */
#ifdef __SSE2__
static inline __m128i
in_range(__m128i c, char lo, char hi)
{
	return _mm_and_si128(_mm_cmpgt_epi8(c, _mm_set1_epi8((char)(lo - 1))),
	    _mm_cmplt_epi8(c, _mm_set1_epi8((char)(hi + 1))));
}
#endif

/* The length of the run of tok68 characters (the table above) at the start of s[0..n). */
static size_t
tok68_span(const char *s, size_t n)
{
	size_t i = 0;

#ifdef __SSE2__
	/* 16 bytes at a time: a token is about a kilobyte */
	for (; i + 16 <= n; i += 16) {
		__m128i c = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		__m128i ok = _mm_or_si128(_mm_or_si128(in_range(c, 'A', 'Z'), in_range(c, 'a', 'z')),
		    _mm_or_si128(in_range(c, '0', '9'), in_range(c, '-', '/')));    /* - . / */
		unsigned m;

		ok = _mm_or_si128(ok, _mm_or_si128(_mm_cmpeq_epi8(c, _mm_set1_epi8('_')),
		    _mm_or_si128(_mm_cmpeq_epi8(c, _mm_set1_epi8('~')), _mm_cmpeq_epi8(c, _mm_set1_epi8('+')))));
		m = (unsigned)_mm_movemask_epi8(ok);
		if (m != 0xffff)
			return i + (size_t)__builtin_ctz(~m);
	}
#endif
	while (i < n && tok68[(unsigned char)s[i]] != 0)
		i++;
	return i;
}

/*
 * The credential of "Bearer <token68>" (scheme_is has checked "Bearer "):
 * what gh_http_bearer_parse accepts and whether the token is shaped as a
 * JWT (gw_jwt_shaped: three non-empty parts), with the same refusals.
 */
static enum gw_rc
bearer(struct gw_req *r, const char *authorization)
{
	const char *tok = authorization + 7, *d1, *d2 = NULL;
	size_t n = strlen(tok), i = tok68_span(tok, n), len;
	int shaped;

	for (len = i; tok[len] == '='; len++)
		;
	if (n > GW_TOKEN_MAX)
		return gw_authn_refuse(r, 0, "The token is too long");
	if (i == 0 || len != n)
		return gw_authn_refuse(r, 0, "The Authorization header is malformed");
	/* exactly two dots in the run, neither first nor doubled, something after the second */
	shaped = (d1 = memchr(tok, '.', i)) != NULL && d1 != tok &&
	    (d2 = memchr(d1 + 1, '.', i - (size_t)(d1 + 1 - tok))) != NULL && d2 != d1 + 1 &&
	    memchr(d2 + 1, '.', i - (size_t)(d2 + 1 - tok)) == NULL && d2 + 1 != tok + len;
	if (shaped)
		return jwt(r, tok, len, 0);
	return gw_introspect(r, tok, len);
}

enum gw_rc
gw_phase_authn(struct gw_req *r)
{
	const struct gw_api *api = r->match.api;
	const struct gw_operation *op = r->match.op;
	const char *authz, *apikey;
	unsigned sec;
	int basic;
	enum gw_rc rc;

	if (api == NULL || op == NULL || op->no_auth)
		return GW_DECLINED;
	sec = api->security != 0 ? api->security : GW_SEC_OAUTH2;
	basic = (sec & GW_SEC_BASIC) && gw_zone.allows_basic;
	authz = gh_http_req_header(r->http, "authorization");
	apikey = gh_http_req_header(r->http, "apikey");
	if (authz != NULL && (sec & GW_SEC_OAUTH2) && scheme_is(authz, "Bearer"))
		return bearer(r, authz);
	if (authz != NULL && basic && scheme_is(authz, "Basic")) {
		rc = gw_zone_basic(r, authz);
		if (rc != GW_DECLINED)
			return rc;
	}
	if (apikey != NULL && (sec & GW_SEC_APIKEY)) {
		if (strlen(apikey) > GW_TOKEN_MAX)
			return gw_authn_refuse(r, 0, "The API key is too long");
		return jwt(r, apikey, strlen(apikey), 1);
	}
	return missing(r, basic);
}
