/*
 * The request pipeline of a gateway (DESIGN.md): a fixed table of phases
 * run by one short loop.  A phase returns GW_OK or GW_DECLINED to go on,
 * GW_AGAIN when it waits (its callback re-enters with gw_pipeline_resume),
 * GW_DONE when a response went out, GW_ERROR for a 500.  The log step
 * (analytics and access log) always runs, once, when the request ends;
 * the struct gw_req and its store reference are freed there.  A client
 * that goes away mid-request detaches r->http; the waiting phase's
 * callback still resumes the pipeline, which then just ends it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/gh_log.h"
#include "gateway/gw.h"

static enum gw_rc (*const phases[])(struct gw_req *) = {
	gw_phase_route,
	gw_phase_cors,
	gw_phase_geo,
	gw_phase_authn,
	gw_phase_authz,
	gw_phase_throttle,
	gw_phase_proxy,
};

#define NPHASES ((int)(sizeof(phases) / sizeof(phases[0])))

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
req_end(struct gw_req *r)
{
	if (r->http != NULL) {
		/* a phase ended without answering */
		gw_reply_error(r, 500, 101500, "Internal Server Error", "The request could not be completed");
	}
	if (r->status >= 500)
		GW_COUNT(responses_5xx);
	else if (r->status >= 400)
		GW_COUNT(responses_4xx);
	else
		GW_COUNT(responses_2xx);
	gh_hist_observe(&gw.metrics.latency, now_us() - r->t_start_us);
	gw_analytics_log(r);
	gw_match_clear(&r->match);
	free(r->path);
	free(r->who.scope);
	if (r->who.roles != NULL) {
		for (size_t i = 0; r->who.roles[i] != NULL; i++)
			free(r->who.roles[i]);
		free(r->who.roles);
	}
	gw_store_unref(r->store);
	free(r);
}

static void
run(struct gw_req *r, enum gw_rc rc)
{
	for (;;) {
		switch (rc) {
		case GW_OK:
		case GW_DECLINED:
			if (r->http == NULL || ++r->phase >= NPHASES) {
				req_end(r);
				return;
			}
			break;
		case GW_AGAIN:
			return;
		case GW_DONE:
			req_end(r);
			return;
		case GW_ERROR:
		default:
			gw_reply_error(r, 500, 101500, "Internal Server Error", "The request could not be completed");
			req_end(r);
			return;
		}
		rc = phases[r->phase](r);
	}
}

void
gw_pipeline_resume(struct gw_req *r, enum gw_rc rc)
{
	if (rc == GW_AGAIN)
		return;
	if (r->http == NULL) {
		req_end(r);
		return;
	}
	run(r, rc);
}

static void
on_abort(struct gh_http_req *req, void *arg)
{
	struct gw_req *r = arg;

	(void)req;
	r->http = NULL;
	if (r->status == 0)
		r->status = 499;   /* client closed the request (nginx's code, for the log only) */
}

void
gw_pipeline_start(struct gh_http_req *req, void *arg)
{
	struct gw_worker *w = arg;
	struct gw_req *r = calloc(1, sizeof(*r));

	GW_COUNT(requests);
	if (r == NULL) {
		gh_http_respond_error_code(req, 500, 101500, "Internal Server Error", "Out of memory");
		return;
	}
	r->w = w;
	r->http = req;
	r->t_start_us = now_us();
	gw_analytics_begin(r);
	r->store = gw_worker_store(w);
	if (r->store == NULL) {
		free(r);
		gh_http_respond_error_code(req, 503, 101503, "Service Unavailable",
		    "The gateway has no configuration yet");
		return;
	}
	gw_store_ref(r->store);
	req->on_abort = on_abort;
	req->abort_arg = r;
	run(r, phases[0](r));
}

void
gw_pipeline_head(struct gh_http_req *req, void *arg)
{
	struct gw_worker *w = arg;
	struct gw_store *s = gw_worker_store(w);
	struct gw_match m;
	const char *host = gh_http_req_header(req, "host"), *why;
	char hbuf[256], *path = NULL;

	if (s == NULL || (gh_http_req_header(req, "content-length") == NULL &&
	    gh_http_req_header(req, "transfer-encoding") == NULL))
		return;
	snprintf(hbuf, sizeof(hbuf), "%s", host ? host : "");
	if (hbuf[0] != '[' && strchr(hbuf, ':') != NULL)
		*strchr(hbuf, ':') = '\0';
	memset(&m, 0, sizeof(m));
	if (gw_path_normalize(req->path, &path, &why) == 0 &&
	    gw_route(s, hbuf, path, req->method, &m) == 0 && m.api != NULL && m.api->max_body > 0)
		req->max_body_bytes = (size_t)m.api->max_body;
	gw_match_clear(&m);
	free(path);
	/*
	 * The body is streamed to the backend by the proxy phase, never held
	 * whole; the phases before it read only the head.  A request answered
	 * before the proxy closes its connection (the server never parses an
	 * unread body as a request).
	 */
	req->stream_body = 1;
}

void
gw_rate_limit_headers(const struct gw_req *r, struct gh_http_req *req)
{
	if (r->rl_limit[0] == '\0')
		return;
	gh_http_resp_header(req, "X-RateLimit-Limit", r->rl_limit);
	gh_http_resp_header(req, "X-RateLimit-Remaining", r->rl_remaining);
	gh_http_resp_header(req, "X-RateLimit-Reset", r->rl_reset);
}

void
gw_respond(struct gw_req *r, int status, const char *ctype, const void *body, size_t len)
{
	struct gh_http_req *req = r->http;

	r->status = status;
	if (req == NULL)
		return;
	gw_rate_limit_headers(r, req);
	req->on_abort = NULL;
	r->http = NULL;
	gh_http_respond(req, status, ctype, body, len);
}

enum gw_rc
gw_reply_error(struct gw_req *r, int status, long code, const char *message, const char *description)
{
	struct gh_http_req *req = r->http;
	int has_auth = 0;

	r->status = status;
	snprintf(r->error_code, sizeof(r->error_code), "%ld", code);
	if (req == NULL)
		return GW_DONE;
	if (status == 401) {
		for (size_t i = 0; i < req->nresp_headers; i++)
			if (strcasecmp(req->resp_headers[i].name, "WWW-Authenticate") == 0)
				has_auth = 1;
		if (!has_auth)
			gh_http_resp_header(req, "WWW-Authenticate", "Bearer realm=\"gatehouse\"");
	}
	gw_rate_limit_headers(r, req);
	req->on_abort = NULL;
	r->http = NULL;
	gh_http_respond_error_code(req, status, code, message, description);
	return GW_DONE;
}
