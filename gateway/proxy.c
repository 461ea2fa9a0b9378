/*
 * The proxy phase: picks an endpoint of the API (production or sandbox
 * list by the caller's key type, round-robin, skipping endpoints ejected
 * by passive health), forwards the request through the worker's gh_httpc
 * keep-alive pools with its end-to-end headers (never hop-by-hop, framing
 * or credential headers) plus X-Forwarded-*, X-Request-ID and the backend
 * JWT, retries an idempotent request once on another endpoint when the
 * connection failed before any response byte, and answers with the
 * backend's status, end-to-end headers and body, or 502/504 (101503,
 * 101504) when the backend failed before its head.  The response body is
 * streamed: the backend's head becomes the client's (its Content-Length
 * kept, else chunked), chunks are passed on as they arrive, and reading
 * the backend pauses while the client's output is above the server's
 * high-water mark; a backend failing after its head cuts the client's
 * connection (a truncated response, never a made-up ending).  The
 * request body is streamed too (the head hook sets stream_body): up to
 * PRE_BODY bytes are held first, so that a small body is read whole and
 * checked (framing, the API's limit) before the backend hears of it and
 * is sent (and retried) as before; past that the request starts and
 * the pieces go to the backend as they arrive (Content-Length kept,
 * else chunked), reading the client pauses while the backend's
 * connection is above its high-water mark, and it is never retried.  A
 * large body refused mid-way (over the API's limit, timeout, client
 * gone) cancels the backend call: the backend sees an incomplete body.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/gh_log.h"
#include "gateway/backend_jwt.h"
#include "gateway/gw.h"
#include "core/gh_ipaddr.h"
#include "gateway/proxy.h"

#define HEALTH_SLOTS 4096
#define MAX_FWD_HEADERS 128
#define UPSTREAM_MAX_BODY (64u << 20)
#define PRE_BODY GH_HTTP_BODY_BUFFER

/* ---- passive health ---- */

struct health_slot {
	uint64_t hash;                  /* 0: free */
	int64_t until_ms;
};

static struct health_slot health[HEALTH_SLOTS];

static uint64_t
url_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h == 0 ? 1 : h;
}

/* The slot of url (claimed when create), or NULL. */
static struct health_slot *
health_slot(const char *url, int create)
{
	uint64_t h = url_hash(url);

	for (size_t i = 0; i < 16; i++) {
		struct health_slot *s = &health[(h + i) % HEALTH_SLOTS];
		uint64_t cur = __atomic_load_n(&s->hash, __ATOMIC_ACQUIRE), zero = 0;

		if (cur == h)
			return s;
		if (cur == 0) {
			if (!create)
				return NULL;
			if (__atomic_compare_exchange_n(&s->hash, &zero, h, 0, __ATOMIC_ACQ_REL,
			    __ATOMIC_ACQUIRE) || zero == h)
				return s;
		}
	}
	return NULL;
}

void
gw_health_eject(const char *url, int64_t now_ms, int64_t for_ms)
{
	struct health_slot *s = health_slot(url, 1);

	if (s != NULL)
		__atomic_store_n(&s->until_ms, now_ms + for_ms, __ATOMIC_RELEASE);
}

int
gw_health_ejected(const char *url, int64_t now_ms)
{
	struct health_slot *s = health_slot(url, 0);

	return s != NULL && __atomic_load_n(&s->until_ms, __ATOMIC_ACQUIRE) > now_ms;
}

/* ---- per worker ---- */

struct proxy_worker {
	unsigned rr;
	struct gw_bjwt_cache *bjwt;
};

static int64_t eject_ms, connect_timeout_ms, timeout_ms;
static const char *trusted;             /* read and replaced atomically (SIGHUP) */

int
gw_proxy_init(void)
{
	eject_ms = gw_setting_int("upstream_eject");
	connect_timeout_ms = gw_setting_int("upstream_connect_timeout");
	timeout_ms = gw_setting_int("upstream_timeout");
	trusted = gw_setting_str("trusted_proxies");
	return 0;
}

void
gw_proxy_set_trusted(const char *list)
{
	__atomic_store_n(&trusted, list, __ATOMIC_RELEASE);
}

int
gw_proxy_worker_init(struct gw_worker *w)
{
	struct gh_httpc_cfg c;
	struct proxy_worker *pw = calloc(1, sizeof(*pw));

	if (pw == NULL)
		return -1;
	memset(&c, 0, sizeof(c));
	c.ssl = gw.tls_upstream;
	c.connect_timeout_ms = (int)connect_timeout_ms;
	c.timeout_ms = (int)timeout_ms;
	c.max_idle_per_host = 64;
	c.max_body_bytes = UPSTREAM_MAX_BODY;
	w->upstream = gh_httpc_new(w->base, &c);
	pw->bjwt = gw_bjwt_cache_new();
	if (w->upstream == NULL || pw->bjwt == NULL) {
		gh_httpc_free(w->upstream);
		w->upstream = NULL;
		gw_bjwt_cache_free(pw->bjwt);
		free(pw);
		return -1;
	}
	pw->rr = (unsigned)w->id * 7919u;
	w->proxy_ctx = pw;
	return 0;
}

void
gw_proxy_worker_free(struct gw_worker *w)
{
	struct proxy_worker *pw = w->proxy_ctx;

	/* in-flight requests get their callbacks (ECLOSED) here */
	gh_httpc_free(w->upstream);
	w->upstream = NULL;
	if (pw != NULL) {
		gw_bjwt_cache_free(pw->bjwt);
		free(pw);
	}
	w->proxy_ctx = NULL;
}

/* ---- the request ---- */

struct proxy_req {
	struct gw_req *r;
	const struct gw_endpoint *eps;
	size_t neps;
	size_t tried;                   /* index of the endpoint of the last attempt */
	struct gh_http_header h[MAX_FWD_HEADERS];
	size_t nh;
	char xff[1024], *bjwt;
	struct gh_httpc_call *call;     /* the attempt in flight; NULL once its on_done ran */
	int head_sent;                  /* the client's response is started */
	int paused;                     /* the backend read waits for the client's output */
	int upload;                     /* the client's body is streamed to this attempt */
	unsigned char *pre;             /* body bytes held before the backend is called */
	size_t pre_len;
	int up_paused;                  /* the client's body waits for the backend's drain */
	void (*prev_abort)(struct gh_http_req *req, void *arg);
	void *prev_abort_arg;
};

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct hdr_name {
	const char *name;
	size_t len;
};

#define HN(s) { s, sizeof(s) - 1 }

/* Whether n (of length len) is one of list (ends with a NULL name); lengths first. */
static int
name_in(const char *n, size_t len, const struct hdr_name *list)
{
	for (; list->name != NULL; list++)
		if (list->len == len && strncasecmp(n, list->name, len) == 0)
			return 1;
	return 0;
}

/* Headers never forwarded either way: hop-by-hop and framing. */
static int
hop_by_hop_len(const char *n, size_t len)
{
	static const struct hdr_name hop[] = { HN("connection"), HN("keep-alive"), HN("te"),
		HN("trailer"), HN("trailers"), HN("transfer-encoding"), HN("upgrade"), HN("content-length"),
		HN("host"), HN("proxy-connection"), { NULL, 0 } };

	if (len >= 6 && strncasecmp(n, "proxy-", 6) == 0)
		return 1;
	return name_in(n, len, hop);
}

/* Whether name is listed in a Connection header value (nominated hop-by-hop). */
static int
nominated(const char *conn, const char *name)
{
	size_t nl = strlen(name);

	for (const char *p = conn; p != NULL && *p != '\0';) {
		const char *e;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		e = p;
		while (*e != '\0' && *e != ',' && *e != ' ' && *e != '\t')
			e++;
		if ((size_t)(e - p) == nl && strncasecmp(p, name, nl) == 0)
			return 1;
		p = e;
	}
	return 0;
}

static int
request_header_dropped(const char *n, const char *conn)
{
	static const struct hdr_name own[] = { HN("authorization"), HN("apikey"), HN("x-jwt-assertion"),
		HN("x-forwarded-for"), HN("x-forwarded-proto"), HN("x-forwarded-host"), HN("x-request-id"),
		HN("forwarded"), HN("expect"), { NULL, 0 } };
	size_t len = strlen(n);

	if (hop_by_hop_len(n, len) || (conn != NULL && nominated(conn, n)))
		return 1;
	return name_in(n, len, own);
}

static void
add_header(struct proxy_req *p, const char *name, const char *value)
{
	if (p->nh < MAX_FWD_HEADERS) {
		p->h[p->nh].name = (char *)name;
		p->h[p->nh].value = (char *)value;
		p->nh++;
	}
}

/* The forwarded header set (borrowing from r->http, which outlives every attempt). */
static void
build_headers(struct proxy_req *p, struct gh_http_req *hr, struct gw_worker *w)
{
	const char *conn = gh_http_req_header(hr, "connection");
	const char *host = gh_http_req_header(hr, "host");
	const struct gw_api *api = p->r->match.api;
	size_t xl = 0;

	for (size_t i = 0; i < hr->nheaders; i++)
		if (!request_header_dropped(hr->headers[i].name, conn))
			add_header(p, hr->headers[i].name, hr->headers[i].value);
	/*
	 * X-Forwarded-For: through a trusted proxy the chain it sent plus the
	 * proxy; from anyone else only the address we saw (a client's own
	 * X-Forwarded-For is not passed on).
	 */
	p->xff[0] = '\0';
	if (gh_ip_in_list(hr->peer_addr, __atomic_load_n(&trusted, __ATOMIC_ACQUIRE))) {
		for (size_t i = 0; i < hr->nheaders; i++) {
			if (strcasecmp(hr->headers[i].name, "x-forwarded-for") != 0)
				continue;
			xl += (size_t)snprintf(p->xff + xl, sizeof(p->xff) - xl, "%s%s", xl ? ", " : "",
			    hr->headers[i].value);
			if (xl >= sizeof(p->xff)) {
				xl = 0;         /* too long to be honest: start again from what we saw */
				p->xff[0] = '\0';
				break;
			}
		}
		if (xl > 0)
			snprintf(p->xff + xl, sizeof(p->xff) - xl, ", %s", hr->peer_addr);
	}
	/* the address we saw is the whole header: borrowed (r->http outlives every attempt) */
	add_header(p, "X-Forwarded-For", p->xff[0] != '\0' ? p->xff : hr->client_addr);
	add_header(p, "X-Forwarded-Proto", hr->tls ? "https" : "http");
	if (host != NULL)
		add_header(p, "X-Forwarded-Host", host);
	add_header(p, "X-Request-ID", hr->request_id);
	if (api->backend_jwt) {
		struct proxy_worker *pw = w->proxy_ctx;
		const char *t = gw_backend_jwt_assertion(pw->bjwt, p->r);

		p->bjwt = t ? strdup(t) : NULL;
		if (p->bjwt != NULL)
			add_header(p, "X-JWT-Assertion", p->bjwt);
	}
}

/* Index of the endpoint to try next (not skip), or -1 when none is left. */
static long
pick(struct proxy_req *p, struct proxy_worker *pw, long skip)
{
	int64_t now = now_us() / 1000;
	unsigned start = pw->rr++;
	long fallback = -1;

	for (size_t i = 0; i < p->neps; i++) {
		size_t k = (start + i) % p->neps;

		if ((long)k == skip)
			continue;
		if (!gw_health_ejected(p->eps[k].url, now))
			return (long)k;
		if (fallback < 0)
			fallback = (long)k;
	}
	/* every endpoint is ejected: try one anyway rather than refuse */
	return fallback;
}

/* The upstream URL in buf (cap bytes) when it fits, else malloc'd (the caller frees it then); NULL on ENOMEM. */
static char *
upstream_url(const struct gw_endpoint *ep, const char *rest, const char *query, char *buf, size_t cap)
{
	const char *h = ep->host;
	int v6 = strchr(h, ':') != NULL;
	size_t n = strlen(ep->scheme) + strlen(h) + strlen(ep->base_path) + strlen(rest) +
	    (query ? strlen(query) : 0) + 32;
	char *u = n <= cap ? buf : malloc(n), *o, digits[12];
	unsigned port = (unsigned)ep->port;
	size_t nd = 0;

	if (u == NULL)
		return NULL;
	/* scheme://host:port base_path rest ?query, without a printf per request */
	o = u;
	o = stpcpy(o, ep->scheme);
	o = stpcpy(o, v6 ? "://[" : "://");
	o = stpcpy(o, h);
	o = stpcpy(o, v6 ? "]:" : ":");
	do
		digits[nd++] = (char)('0' + port % 10);
	while ((port /= 10) > 0 && nd < sizeof(digits));
	while (nd > 0)
		*o++ = digits[--nd];
	o = stpcpy(o, ep->base_path);
	o = stpcpy(o, (*rest == '\0' && *ep->base_path == '\0') ? "/" : rest);
	if (query != NULL) {
		*o++ = '?';
		o = stpcpy(o, query);
	}
	*o = '\0';
	return u;
}

static int proxy_head(const struct gh_httpc_resp *resp, void *arg);
static int proxy_data(const void *data, size_t len, void *arg);
static void proxy_done(enum gh_httpc_err err, const char *errstr, void *arg);

static const struct gh_httpc_stream proxy_stream = { proxy_head, proxy_data, proxy_done };

/* A piece of the client's body: on to the backend; pause the client while it is full. */
static void
proxy_body(struct gh_http_req *req, const void *data, size_t len, void *arg)
{
	struct proxy_req *p = arg;
	int rc;

	if (p->call == NULL)
		return;
	rc = gh_httpc_call_write(p->call, data, len);
	if (rc < 0) {
		/* the backend call is failing: its on_done answers */
		gh_http_req_pause_body(req, 1);
		return;
	}
	if (rc > 0) {
		p->up_paused = 1;
		gh_http_req_pause_body(req, 1);
	}
}

static void
proxy_body_end(struct gh_http_req *req, void *arg)
{
	struct proxy_req *p = arg;

	(void)req;
	if (p->call != NULL)
		gh_httpc_call_write_end(p->call);
}

/* The backend took the queued body bytes: read the client again. */
static void
proxy_up_drain(void *arg)
{
	struct proxy_req *p = arg;

	if (p->up_paused && p->r->http != NULL) {
		p->up_paused = 0;
		gh_http_req_pause_body(p->r->http, 0);
	}
}

/* The declared Content-Length of the client's body, -1 when chunked. */
static long long
body_length(const struct gh_http_req *hr)
{
	const char *cl = gh_http_req_header(hr, "content-length");
	char *end;
	long long n;

	if (cl == NULL || gh_http_req_header(hr, "transfer-encoding") != NULL)
		return -1;
	n = strtoll(cl, &end, 10);
	return end == cl || *end != '\0' || n < 0 ? -1 : n;
}

/* Start one attempt on endpoint k.  0 started, -1 (nothing will call back). */
static int
attempt(struct proxy_req *p, size_t k)
{
	struct gw_req *r = p->r;
	struct gh_http_req *hr = r->http;
	char ubuf[1024];                /* most URLs: no allocation */
	char *url = upstream_url(&p->eps[k], r->match.rest ? r->match.rest : "", hr->query, ubuf,
	    sizeof(ubuf));
	int rc;

	if (url == NULL)
		return -1;
	p->tried = k;
	r->ep = &p->eps[k];
	if (r->t_upstream_us == 0)
		r->t_upstream_us = now_us();
	if (p->upload) {
		rc = gh_httpc_request_upload(r->w->upstream, NULL, hr->method, url, p->h, p->nh,
		    body_length(hr), proxy_up_drain, &proxy_stream, p, &p->call);
		if (rc == 0) {
			hr->on_body = proxy_body;
			hr->on_body_end = proxy_body_end;
			hr->body_arg = p;
			if (gh_httpc_call_write(p->call, p->pre, p->pre_len) != 0) {
				p->up_paused = 1;
				gh_http_req_pause_body(hr, 1);
			}
			free(p->pre);
			p->pre = NULL;
			p->pre_len = 0;
		}
	} else if (p->pre != NULL || hr->stream_body) {
		rc = gh_httpc_request_stream(r->w->upstream, NULL, hr->method, url, p->h, p->nh,
		    p->pre, p->pre_len, &proxy_stream, p, &p->call);
	} else {
		rc = gh_httpc_request_stream(r->w->upstream, NULL, hr->method, url, p->h, p->nh,
		    hr->body, hr->body_len, &proxy_stream, p, &p->call);
	}
	if (url != ubuf)
		free(url);
	return rc;
}

static void
proxy_free(struct proxy_req *p)
{
	free(p->pre);
	free(p->bjwt);
	free(p);
}

static int
idempotent(const char *m)
{
	return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "PUT") == 0 ||
	    strcmp(m, "DELETE") == 0 || strcmp(m, "OPTIONS") == 0;
}

/* Copy the backend's end-to-end response headers onto the client's response. */
static void
copy_response_headers(struct gh_http_req *hr, const struct gh_httpc_resp *resp)
{
	const char *conn = gh_httpc_resp_header(resp, "connection");
	size_t own = hr->nresp_headers;     /* set by the gateway's phases (CORS) */

	for (size_t i = 0; i < resp->nheaders; i++) {
		const char *n = resp->headers[i].name;
		int dup = 0;

		size_t len = strlen(n);

		if (hop_by_hop_len(n, len) || (conn != NULL && nominated(conn, n)) ||
		    (len == 4 && strcasecmp(n, "date") == 0) || (len == 12 && strcasecmp(n, "x-request-id") == 0))
			continue;
		/* the gateway's own CORS answer wins over the backend's */
		if (own > 0 && len >= 15 && strncasecmp(n, "access-control-", 15) == 0)
			for (size_t j = 0; j < own; j++)
				if (strcasecmp(hr->resp_headers[j].name, n) == 0)
					dup = 1;
		if (!dup)
			gh_http_resp_header(hr, n, resp->headers[i].value);
	}
}

/* The client's output drained: read the backend again. */
static void
proxy_drain(struct gh_http_req *req, void *arg)
{
	struct proxy_req *p = arg;

	(void)req;
	if (p->paused && p->call != NULL) {
		p->paused = 0;
		gh_httpc_resume(p->call);
	}
}

/*
 * The client went away (or its body was refused mid-way): the pipeline
 * learns it, and the backend call is given up.
 */
static void
proxy_abort(struct gh_http_req *req, void *arg)
{
	struct proxy_req *p = arg;

	if (p->prev_abort != NULL)
		p->prev_abort(req, p->prev_abort_arg);
	p->r->http = NULL;
	if (p->call != NULL) {
		gh_httpc_cancel(p->call);
		return;
	}
	/* still holding the first body bytes: no backend call to wait for */
	{
		struct gw_req *r = p->r;

		proxy_free(p);
		gw_pipeline_resume(r, GW_DONE);
	}
}

/* The backend's head: start the client's response with it. */
static int
proxy_head(const struct gh_httpc_resp *resp, void *arg)
{
	struct proxy_req *p = arg;
	struct gw_req *r = p->r;
	struct gh_http_req *hr = r->http;
	const char *cl = gh_httpc_resp_header(resp, "content-length");
	long long clen = -1;

	if (hr == NULL)
		return -1;
	if (cl != NULL) {
		char *end;

		clen = strtoll(cl, &end, 10);
		if (end == cl || *end != '\0' || clen < 0)
			clen = -1;
	}
	r->upstream_status = resp->status;
	r->status = resp->status;
	copy_response_headers(hr, resp);
	gw_rate_limit_headers(r, hr);
	if (gh_http_respond_start(hr, resp->status, NULL, clen) != 0)
		return -1;
	p->head_sent = 1;
	hr->on_drain = proxy_drain;
	hr->drain_arg = p;
	return 0;
}

/* A piece of the backend's body: on to the client; pause while its output is full. */
static int
proxy_data(const void *data, size_t len, void *arg)
{
	struct proxy_req *p = arg;
	struct gh_http_req *hr = p->r->http;
	int rc;

	if (hr == NULL)
		return -1;
	rc = gh_http_respond_write(hr, data, len);
	if (rc < 0)
		return -1;
	if (rc > 0)
		p->paused = 1;
	return rc;
}

static void
proxy_done(enum gh_httpc_err err, const char *errstr, void *arg)
{
	struct proxy_req *p = arg;
	struct gw_req *r = p->r;
	struct proxy_worker *pw = r->w->proxy_ctx;
	int before_response = err == GH_HTTPC_ECONNECT ||
	    (err == GH_HTTPC_ETIMEOUT && errstr != NULL && strcmp(errstr, "connect timeout") == 0);

	p->call = NULL;
	p->paused = 0;
	r->t_upstream_done_us = now_us();
	if (before_response)
		gw_health_eject(p->eps[p->tried].url, r->t_upstream_done_us / 1000, eject_ms);
	if (r->http == NULL) {
		/* the client went away: nothing to answer */
		proxy_free(p);
		gw_pipeline_resume(r, GW_DONE);
		return;
	}
	if (p->head_sent) {
		struct gh_http_req *hr = r->http;

		hr->on_abort = NULL;
		hr->on_drain = NULL;
		r->http = NULL;
		if (err == GH_HTTPC_OK) {
			gh_http_respond_end(hr);
		} else {
			GW_COUNT(upstream_errors);
			gh_log_warn("upstream", hr->request_id, "%s: %s after the head",
			    p->eps[p->tried].url, errstr ? errstr : "error");
			gh_http_respond_abort(hr);
		}
		proxy_free(p);
		gw_pipeline_resume(r, GW_DONE);
		return;
	}
	/* failed before the head: nothing was sent to the client yet */
	r->http->on_abort = p->prev_abort;
	r->http->abort_arg = p->prev_abort_arg;
	{
		long k;

		GW_COUNT(upstream_errors);
		gh_log_warn("upstream", r->http->request_id, "%s: %s", p->eps[p->tried].url,
		    errstr ? errstr : "error");
		if (before_response && r->retries == 0 && idempotent(r->http->method) && pw != NULL &&
		    !p->upload &&
		    (k = pick(p, pw, (long)p->tried)) >= 0) {
			r->retries++;
			r->http->on_abort = proxy_abort;
			r->http->abort_arg = p;
			if (attempt(p, (size_t)k) == 0)
				return;
			r->http->on_abort = p->prev_abort;
			r->http->abort_arg = p->prev_abort_arg;
		}
		proxy_free(p);
		if (err == GH_HTTPC_ETIMEOUT)
			gw_reply_error(r, 504, 101504, "Runtime Error", "Timed out waiting for the back end");
		else if (err == GH_HTTPC_ECONNECT)
			gw_reply_error(r, 502, 101503, "Runtime Error", "Error connecting to the back end");
		else
			gw_reply_error(r, 502, 101503, "Runtime Error",
			    "The back end sent an incomplete or malformed response");
		gw_pipeline_resume(r, GW_DONE);
	}
}

/*
 * Call the backend (first attempt).  0 started; -1 when it could not
 * start: the client got a 502 (the caller ends the pipeline).
 */
static int
proxy_start(struct proxy_req *p)
{
	struct gw_req *r = p->r;
	long k = pick(p, r->w->proxy_ctx, -1);

	if (k >= 0 && attempt(p, (size_t)k) == 0)
		return 0;
	r->http->on_abort = p->prev_abort;
	r->http->abort_arg = p->prev_abort_arg;
	proxy_free(p);
	GW_COUNT(upstream_errors);
	gw_reply_error(r, 502, 101503, "Runtime Error", "Error connecting to the back end");
	return -1;
}

/* A piece of the client's body before the backend is called: held, up to PRE_BODY. */
static void
proxy_pre_body(struct gh_http_req *req, const void *data, size_t len, void *arg)
{
	struct proxy_req *p = arg;
	struct gw_req *r = p->r;
	unsigned char *b = realloc(p->pre, p->pre_len + len);

	if (b == NULL) {
		gh_http_req_pause_body(req, 1);
		req->on_abort = p->prev_abort;
		req->abort_arg = p->prev_abort_arg;
		proxy_free(p);
		gw_reply_error(r, 500, 101500, "Internal Server Error", "Out of memory");
		gw_pipeline_resume(r, GW_DONE);
		return;
	}
	p->pre = b;
	memcpy(p->pre + p->pre_len, data, len);
	p->pre_len += len;
	if (p->pre_len < PRE_BODY)
		return;
	/* a large body: streamed from here on */
	p->upload = 1;
	if (proxy_start(p) != 0)
		gw_pipeline_resume(r, GW_DONE);
}

/* The whole body was held: call the backend with it, as a buffered request. */
static void
proxy_pre_end(struct gh_http_req *req, void *arg)
{
	struct proxy_req *p = arg;
	struct gw_req *r = p->r;

	(void)req;
	if (proxy_start(p) != 0)
		gw_pipeline_resume(r, GW_DONE);
}

enum gw_rc
gw_phase_proxy(struct gw_req *r)
{
	const struct gw_api *api = r->match.api;
	struct proxy_worker *pw = r->w->proxy_ctx;
	int sandbox = strcmp(r->who.key_type, "SANDBOX") == 0;
	struct proxy_req *p;

	if (api == NULL || pw == NULL || r->w->upstream == NULL)
		return GW_ERROR;
	if ((sandbox ? api->nsand : api->nprod) == 0) {
		/* WSO2: a key of the other kind offered to an API without such endpoints */
		return gw_reply_error(r, 401, 900901, "Invalid Credentials", sandbox ?
		    "Sandbox key offered to an API with no sandbox endpoint" :
		    "Production key offered to an API with no production endpoint");
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return GW_ERROR;
	p->r = r;
	p->eps = sandbox ? api->sand : api->prod;
	p->neps = sandbox ? api->nsand : api->nprod;
	build_headers(p, r->http, r->w);
	p->prev_abort = r->http->on_abort;
	p->prev_abort_arg = r->http->abort_arg;
	r->http->on_abort = proxy_abort;
	r->http->abort_arg = p;
	if (r->http->stream_body) {
		/* hold the first PRE_BODY bytes (or the whole body) before calling the backend */
		r->http->on_body = proxy_pre_body;
		r->http->on_body_end = proxy_pre_end;
		r->http->body_arg = p;
		gh_http_req_pause_body(r->http, 0);
		return GW_AGAIN;
	}
	return proxy_start(p) == 0 ? GW_AGAIN : GW_DONE;
}
