/*
 * Moving a request to a worker and its reply back (gh_call.h).
 * gh_call_route_worker (on the loop) copies what the worker may read out
 * of the gh_http_req into a gh_call and queues it on the service's pool;
 * the worker runs the route's gh_work_fn with a pooled connection;
 * call_done (on the loop) sends the reply unless the client went away.
 * The call is freed there, once.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/gh_codec.h"
#include "core/gh_log.h"
#include "core/gh_service.h"
#include "pg/gh_call.h"

static struct gh_call_svc svc;

void
gh_call_init(const struct gh_call_svc *s)
{
	svc = *s;
}

static void
call_free(struct gh_call *c)
{
	if (c->ctx != NULL && svc.ctx_free != NULL)
		svc.ctx_free(c->ctx);
	free(c->method);
	free(c->path);
	free(c->query);
	for (size_t i = 0; i < c->nheaders; i++) {
		free(c->headers[i].name);
		free(c->headers[i].value);
	}
	free(c->headers);
	if (c->body != NULL)
		gh_free_secret_n(c->body, c->body_len);
	for (size_t i = 0; i < c->nparams; i++) {
		free(c->param_names[i]);
		free(c->param_values[i]);
	}
	free(c->ctype);
	if (c->rbody != NULL)
		gh_free_secret_n(c->rbody, c->rbody_len);
	for (size_t i = 0; i < c->nrheaders; i++) {
		free(c->rheaders[i].name);
		free(c->rheaders[i].value);
	}
	free(c);
}

static void
call_abort(struct gh_http_req *req, void *arg)
{
	struct gh_call *c = arg;

	(void)req;
	c->req = NULL;
}

static int
call_work(struct gh_pg *db, void *arg)
{
	struct gh_call *c = arg;

	if (svc.before != NULL)
		svc.before(db);
	c->fn(c, db);
	return 0;
}

static void
call_done(int rc, const char *sqlstate, const char *message, void *arg)
{
	struct gh_call *c = arg;
	struct gh_http_req *req = c->req;

	if (req != NULL) {
		req->on_abort = NULL;
		if (rc != 0 && sqlstate != NULL && (strncmp(sqlstate, "08", 2) == 0 ||
		    strncmp(sqlstate, "57P", 3) == 0)) {
			/* connection exception or the server shutting down or starting: try again */
			gh_log_error("worker", req->request_id, "database unavailable (%s %s)", sqlstate,
			    message ? message : "-");
			gh_http_resp_header(req, "Retry-After", "5");
			gh_http_respond_error(req, 503, "Service Unavailable",
			    "The database is unavailable; try again shortly");
		} else if (rc != 0 || c->status == 0) {
			gh_log_error("worker", req->request_id, "no reply (rc %d, %s %s)", rc,
			    sqlstate ? sqlstate : "-", message ? message : "-");
			gh_http_respond_error(req, 500, "Internal Server Error",
			    "The request could not be completed");
		} else {
			for (size_t i = 0; i < c->nrheaders; i++)
				gh_http_resp_header(req, c->rheaders[i].name, c->rheaders[i].value);
			gh_http_respond(req, c->status, c->ctype, c->rbody, c->rbody_len);
		}
		if (svc.latency != NULL)
			gh_hist_observe(svc.latency, gh_mono_us() - c->t_start_us);
	}
	call_free(c);
}

struct fast_route {
	gh_fast_fn fast;
	gh_work_fn fn;
};

static void call_start(struct gh_http_req *req, const struct gh_route_match *m, gh_work_fn fn,
    gh_fast_fn fast);

void
gh_call_route_worker(struct gh_http_req *req, const struct gh_route_match *m, void *fn)
{
	call_start(req, m, (gh_work_fn)fn, NULL);
}

static void
route_fast(struct gh_http_req *req, const struct gh_route_match *m, void *arg)
{
	const struct fast_route *fr = arg;

	call_start(req, m, fr->fn, fr->fast);
}

void
gh_call_route_fast(struct gh_router *r, const char *method, const char *pattern, gh_fast_fn fast,
    gh_work_fn fn)
{
	/* One per route for the life of the process (routes are never removed). */
	static struct fast_route table[16];
	static size_t n;

	if (n == sizeof(table) / sizeof(table[0]))
		abort();
	table[n].fast = fast;
	table[n].fn = fn;
	if (gh_router_add(r, method, pattern, route_fast, &table[n]) != 0) {
		fprintf(stderr, "%s: bad route %s %s\n", svc.name ? svc.name : "gatehouse", method, pattern);
		abort();
	}
	n++;
}

static void
call_start(struct gh_http_req *req, const struct gh_route_match *m, gh_work_fn fn, gh_fast_fn fast)
{
	struct gh_call *c = calloc(1, sizeof(*c));
	int bad = 0;

	if (svc.requests != NULL)
		__atomic_add_fetch(svc.requests, 1, __ATOMIC_RELAXED);
	if (c == NULL)
		goto oom;
	c->fn = fn;
	c->req = req;
	c->t_start_us = gh_mono_us();
	bad |= (c->method = strdup(req->method)) == NULL;
	bad |= (c->path = strdup(req->path)) == NULL;
	if (req->query != NULL)
		bad |= (c->query = strdup(req->query)) == NULL;
	c->headers = calloc(req->nheaders ? req->nheaders : 1, sizeof(*c->headers));
	bad |= c->headers == NULL;
	for (size_t i = 0; !bad && i < req->nheaders; i++) {
		c->headers[i].name = strdup(req->headers[i].name);
		c->headers[i].value = strdup(req->headers[i].value);
		c->nheaders++;
		bad |= c->headers[i].name == NULL || c->headers[i].value == NULL;
	}
	if (!bad && req->body != NULL) {
		c->body = malloc(req->body_len + 1);
		bad |= c->body == NULL;
		if (c->body != NULL) {
			memcpy(c->body, req->body, req->body_len);
			c->body[req->body_len] = '\0';
			c->body_len = req->body_len;
		}
	}
	for (size_t i = 0; !bad && i < m->nparams; i++) {
		c->param_names[i] = strdup(m->params[i].name);
		c->param_values[i] = strdup(m->params[i].value);
		c->nparams++;
		bad |= c->param_names[i] == NULL || c->param_values[i] == NULL;
	}
	snprintf(c->request_id, sizeof(c->request_id), "%s", req->request_id);
	snprintf(c->client_addr, sizeof(c->client_addr), "%s", req->client_addr);
	c->has_peer_id = req->has_peer_id;
	c->peer_id = req->peer_id;
	if (bad)
		goto oom;
	if (fast != NULL && fast(c)) {
		call_done(0, NULL, NULL, c);
		return;
	}
	if (c->status != 0 || c->nrheaders != 0) {
		/* a fast path that declined leaves no reply behind */
		gh_reply_raw(c, 0, NULL, NULL, 0);
		for (size_t i = 0; i < c->nrheaders; i++) {
			free(c->rheaders[i].name);
			free(c->rheaders[i].value);
		}
		c->nrheaders = 0;
	}
	req->on_abort = call_abort;
	req->abort_arg = c;
	if (gh_pg_pool_run(svc.pool, GH_PG_NO_TX, call_work, call_done, c) != 0) {
		req->on_abort = NULL;
		call_free(c);
		gh_http_respond_error(req, 503, "Service Unavailable", "The service is shutting down");
	}
	return;
oom:
	if (c != NULL)
		call_free(c);
	gh_http_respond_error(req, 500, "Internal Server Error", "Out of memory");
}

void
gh_call_route(struct gh_router *r, const char *method, const char *pattern, gh_work_fn fn)
{
	if (gh_router_add(r, method, pattern, gh_call_route_worker, (void *)fn) != 0) {
		fprintf(stderr, "%s: bad route %s %s\n", svc.name ? svc.name : "gatehouse", method, pattern);
		abort();
	}
}

const char *
gh_call_header(const struct gh_call *c, const char *name)
{
	for (size_t i = 0; i < c->nheaders; i++)
		if (strcasecmp(c->headers[i].name, name) == 0)
			return c->headers[i].value;
	return NULL;
}

int
gh_call_ctype_is(const struct gh_call *c, const char *want)
{
	const char *ct = gh_call_header(c, "Content-Type");
	size_t n = strlen(want);

	return ct != NULL && strncasecmp(ct, want, n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t');
}

const char *
gh_call_param(const struct gh_call *c, const char *name)
{
	for (size_t i = 0; i < c->nparams; i++)
		if (strcmp(c->param_names[i], name) == 0)
			return c->param_values[i];
	return NULL;
}

char *
gh_call_query(const struct gh_call *c, const char *name)
{
	struct gh_form f;
	const char *v;
	char *out = NULL;

	if (c->query == NULL || gh_form_parse(c->query, strlen(c->query), 64, &f) != 0)
		return NULL;
	v = gh_form_get(&f, name);
	if (v != NULL)
		out = strdup(v);
	gh_form_free(&f);
	return out;
}

void
gh_reply_raw(struct gh_call *c, int status, const char *ctype, const char *body, size_t len)
{
	free(c->ctype);
	if (c->rbody != NULL)
		gh_free_secret_n(c->rbody, c->rbody_len);
	c->ctype = ctype ? strdup(ctype) : NULL;
	c->rbody = NULL;
	c->rbody_len = 0;
	if (len > 0) {
		c->rbody = malloc(len);
		if (c->rbody == NULL) {
			c->status = 0;
			return;
		}
		memcpy(c->rbody, body, len);
		c->rbody_len = len;
	}
	c->status = status;
}

void
gh_reply_json(struct gh_call *c, int status, struct json_object *body)
{
	size_t len;
	const char *s = json_object_to_json_string_length(body,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	gh_reply_raw(c, status, "application/json", s, len);
}

void
gh_reply_error(struct gh_call *c, int status, const char *message, const char *description)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "code", json_object_new_int(status));
	json_object_object_add(o, "message", json_object_new_string(message));
	json_object_object_add(o, "description", json_object_new_string(description ? description : ""));
	gh_reply_json(c, status, o);
	json_object_put(o);
}

void
gh_reply_oauth_error(struct gh_call *c, int status, const char *error, const char *description)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "error", json_object_new_string(error));
	if (description != NULL)
		json_object_object_add(o, "error_description", json_object_new_string(description));
	gh_reply_json(c, status, o);
	json_object_put(o);
	gh_reply_header(c, "Cache-Control", "no-store");
	gh_reply_header(c, "Pragma", "no-cache");
	if (status == 401)
		gh_reply_header(c, "WWW-Authenticate", "Basic realm=\"gatehouse\"");
}

void
gh_reply_header(struct gh_call *c, const char *name, const char *value)
{
	for (size_t i = 0; i < c->nrheaders; i++) {
		if (strcasecmp(c->rheaders[i].name, name) == 0) {
			char *v = strdup(value);
			if (v != NULL) {
				free(c->rheaders[i].value);
				c->rheaders[i].value = v;
			}
			return;
		}
	}
	if (c->nrheaders == sizeof(c->rheaders) / sizeof(c->rheaders[0]))
		return;
	c->rheaders[c->nrheaders].name = strdup(name);
	c->rheaders[c->nrheaders].value = strdup(value);
	if (c->rheaders[c->nrheaders].name == NULL || c->rheaders[c->nrheaders].value == NULL) {
		free(c->rheaders[c->nrheaders].name);
		free(c->rheaders[c->nrheaders].value);
		return;
	}
	c->nrheaders++;
}
