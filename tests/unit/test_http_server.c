/*
 * Tests of the HTTP server (core/http_*.c) over real loopback sockets:
 * the server runs in-process on an event-loop thread and the test sends
 * raw bytes.  Proves the strict refusals (status, JSON body, close), what
 * a handler sees, keep-alive, pipelining order, Connection handling,
 * asynchronous handlers and on_abort, timeouts, trusted proxies, the
 * access log and graceful shutdown.
 */
#include <json-c/json.h>
#include <stdatomic.h>
#include <stdio.h>
#include <event2/event.h>

#include "core/gh_http.h"
#include "core/gh_log.h"
#include "th.h"
#include "th_http.h"

static struct gh_http_server *srv, *srv2;
static int port, port2;
static atomic_int aborted, async_done, shutdown_done;

/* ---- handlers (loop thread) ------------------------------------------ */

struct job {
	struct event *ev;
	struct gh_http_req *req;
	const char *text;
};

static void
job_fire(evutil_socket_t fd, short what, void *arg)
{
	struct job *j = arg;

	(void)fd;
	(void)what;
	gh_http_respond(j->req, 200, "text/plain", j->text, strlen(j->text));
	atomic_fetch_add(&async_done, 1);
	event_free(j->ev);
	free(j);
}

static void
job_abort(struct gh_http_req *req, void *arg)
{
	struct job *j = arg;

	(void)req;
	event_free(j->ev);
	free(j);
	atomic_fetch_add(&aborted, 1);
}

static void
respond_later(struct gh_http_req *req, int ms, const char *text)
{
	struct job *j = calloc(1, sizeof(*j));
	struct timeval tv = { 0, ms * 1000 };

	j->req = req;
	j->text = text;
	j->ev = evtimer_new(th_base, job_fire, j);
	req->on_abort = job_abort;
	req->abort_arg = j;
	evtimer_add(j->ev, &tv);
}

static void
add_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

static void
handler(struct gh_http_req *req, void *arg)
{
	(void)arg;
	if (strcmp(req->path, "/echo") == 0) {
		struct json_object *o = json_object_new_object();

		add_str(o, "method", req->method);
		add_str(o, "path", req->path);
		add_str(o, "query", req->query);
		add_str(o, "target", req->target);
		add_str(o, "body", (const char *)req->body);
		json_object_object_add(o, "body_len", json_object_new_int((int)req->body_len));
		add_str(o, "x_test", gh_http_req_header(req, "X-TEST"));
		add_str(o, "client", req->client_addr);
		add_str(o, "peer", req->peer_addr);
		add_str(o, "request_id", req->request_id);
		json_object_object_add(o, "nheaders", json_object_new_int((int)req->nheaders));
		json_object_object_add(o, "minor", json_object_new_int(req->http_minor));
		json_object_object_add(o, "tls", json_object_new_int(req->tls));
		gh_http_respond_json(req, 200, o);
		json_object_put(o);
	} else if (strcmp(req->path, "/async") == 0) {
		respond_later(req, 200, "async");
	} else if (strcmp(req->path, "/slow") == 0) {
		respond_later(req, 600, "slow");
	} else if (strcmp(req->path, "/hdr") == 0) {
		char b[64];
		int r1 = gh_http_resp_header(req, "X-Custom", "v1");
		int r2 = gh_http_resp_header(req, "X-Bad", "a\r\nInjected: 1");
		int r3 = gh_http_resp_header(req, "Content-Length", "5");
		int r4 = gh_http_resp_header(req, "Bad Name", "x");
		int r5 = gh_http_resp_header(req, "X-Bad2", "a\nb");
		snprintf(b, sizeof(b), "%d %d %d %d %d", r1, r2, r3, r4, r5);
		gh_http_respond(req, 201, "text/plain", b, strlen(b));
	} else if (strcmp(req->path, "/nocontent") == 0) {
		gh_http_respond(req, 204, NULL, NULL, 0);
	} else if (strcmp(req->path, "/code") == 0) {
		gh_http_respond_error_code(req, 401, 900901, "Invalid Credentials", "bad token");
	} else {
		gh_http_respond_error(req, 404, "Not Found", "no such resource");
	}
}

static void
start_servers(void *arg)
{
	struct gh_http_server_cfg cfg;
	char err[256];

	(void)arg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.name = "test";
	gh_http_limits_default(&cfg.limits);
	cfg.limits.max_header_bytes = 2048;
	cfg.limits.max_headers = 20;
	cfg.limits.max_url_bytes = 512;
	cfg.limits.max_body_bytes = 1024;
	cfg.limits.header_timeout_ms = 300;
	cfg.limits.body_timeout_ms = 400;
	cfg.limits.idle_timeout_ms = 800;
	cfg.limits.max_requests_per_conn = 5;
	cfg.trusted_proxies = "127.0.0.1, 10.0.0.9, 192.0.2.0/25, 2001:db8:aa::/48";
	cfg.handler = handler;
	srv = gh_http_server_new(th_base, &cfg);
	if (srv == NULL || gh_http_server_listen(srv, "127.0.0.1", 0, err, sizeof(err)) < 0)
		fprintf(stderr, "listen: %s\n", err);
	port = gh_http_server_port(srv);

	cfg.name = "test2";
	cfg.trusted_proxies = NULL;
	cfg.limits.idle_timeout_ms = 5000;
	cfg.limits.header_timeout_ms = 5000;
	srv2 = gh_http_server_new(th_base, &cfg);
	if (srv2 == NULL || gh_http_server_listen(srv2, "127.0.0.1", 0, err, sizeof(err)) < 0)
		fprintf(stderr, "listen: %s\n", err);
	port2 = gh_http_server_port(srv2);
}

static void
free_servers(void *arg)
{
	(void)arg;
	gh_http_server_free(srv);
	gh_http_server_free(srv2);
}

static void
on_shutdown_done(void *arg)
{
	(void)arg;
	atomic_store(&shutdown_done, 1);
}

static void
shutdown_srv2(void *arg)
{
	(void)arg;
	gh_http_server_shutdown(srv2, 3000, on_shutdown_done, NULL);
}

/* ---- helpers (test thread) -------------------------------------------- */

/* One request on a fresh connection: status, or -1; *closed tells whether the server closed. */
static int
one_shot(int p, const char *raw, size_t len, struct th_resp *r, int *closed)
{
	struct th_cli c;
	int rc;

	*closed = 0;
	if (th_cli_open(&c, p) < 0)
		return -1;
	if (th_cli_send(&c, raw, len) < 0) {
		th_cli_close(&c);
		return -1;
	}
	rc = th_cli_read_resp(&c, r, 0);
	*closed = th_cli_closed(&c, 2000);
	th_cli_close(&c);
	return rc < 0 ? -1 : r->status;
}

static struct json_object *
body_json(const struct th_resp *r)
{
	return json_tokener_parse(r->body);
}

static const char *
jstr(struct json_object *o, const char *k)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, k, &v) || v == NULL)
		return NULL;
	return json_object_get_string(v);
}

static int
jint(struct json_object *o, const char *k)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, k, &v))
		return -999;
	return json_object_get_int(v);
}

static void
check_refusal(const char *name, const char *raw, size_t len, int want)
{
	struct th_resp r;
	struct json_object *o;
	int closed, st;
	const char *ct;

	TH_TEST(name);
	st = one_shot(port, raw, len, &r, &closed);
	TH_CHECK_MSG(st == want, "%s: status %d, want %d", name, st, want);
	TH_CHECK_MSG(closed, "%s: connection not closed", name);
	ct = th_resp_header(&r, "Content-Type");
	TH_CHECK_MSG(ct != NULL && strcmp(ct, "application/json") == 0, "%s: content-type", name);
	o = body_json(&r);
	TH_CHECK_MSG(jint(o, "code") == want && jstr(o, "message") != NULL &&
	    jstr(o, "description") != NULL, "%s: JSON body %s", name, r.body);
	json_object_put(o);
	ct = th_resp_header(&r, "Connection");
	TH_CHECK_MSG(ct != NULL && strcmp(ct, "close") == 0, "%s: Connection header", name);
}

struct bad {
	const char *name;
	const char *raw;
	size_t len;
	int status;
};

#define BAD(n, lit, st) { n, lit, sizeof(lit) - 1, st }
#define H "Host: a\r\n"
#define POSTC "POST /echo HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n"

static const struct bad bads[] = {
	BAD("CL and TE", "POST /echo HTTP/1.1\r\n" H "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
	BAD("TE and CL", "POST /echo HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", 400),
	BAD("duplicate CL", "POST /echo HTTP/1.1\r\n" H "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400),
	BAD("CL list 1, 1", "POST /echo HTTP/1.1\r\n" H "Content-Length: 1, 1\r\n\r\na", 400),
	BAD("CL negative", "POST /echo HTTP/1.1\r\n" H "Content-Length: -1\r\n\r\n", 400),
	BAD("CL non-digit", "POST /echo HTTP/1.1\r\n" H "Content-Length: 3a\r\n\r\nabc", 400),
	BAD("CL plus sign", "POST /echo HTTP/1.1\r\n" H "Content-Length: +3\r\n\r\nabc", 400),
	BAD("CL empty", "POST /echo HTTP/1.1\r\n" H "Content-Length:\r\n\r\n", 400),
	BAD("CL huge", "POST /echo HTTP/1.1\r\n" H "Content-Length: 99999999999999999999999\r\n\r\n", 413),
	BAD("TE xchunked", "POST /echo HTTP/1.1\r\n" H "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 501),
	BAD("TE chunked, gzip", "POST /echo HTTP/1.1\r\n" H "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400),
	BAD("TE gzip, chunked", "POST /echo HTTP/1.1\r\n" H "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
	BAD("TE chunked twice in list", "POST /echo HTTP/1.1\r\n" H "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400),
	BAD("two TE headers", "POST /echo HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
	BAD("TE identity", "POST /echo HTTP/1.1\r\n" H "Transfer-Encoding: identity\r\n\r\n", 501),
	BAD("TE empty element", "POST /echo HTTP/1.1\r\n" H "Transfer-Encoding: ,chunked\r\n\r\n0\r\n\r\n", 400),
	BAD("TE in HTTP/1.0", "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
	BAD("chunk size non-hex", POSTC "zz\r\nabc\r\n0\r\n\r\n", 400),
	BAD("chunk size overflow", POSTC "fffffffffffffffff1\r\nabc\r\n0\r\n\r\n", 400),
	BAD("chunk size with space", POSTC "3 \r\nabc\r\n0\r\n\r\n", 400),
	BAD("chunk size negative", POSTC "-3\r\nabc\r\n0\r\n\r\n", 400),
	BAD("chunk data without CRLF", POSTC "3\r\nabcd\r\n0\r\n\r\n", 400),
	BAD("chunk data bare LF", POSTC "3\r\nabc\n0\r\n\r\n", 400),
	BAD("chunk size bare LF", POSTC "3\nabc\r\n0\r\n\r\n", 400),
	BAD("last chunk bare LF", POSTC "3\r\nabc\r\n0\n\r\n", 400),
	BAD("final line bare LF in body", POSTC "3\r\nabc\r\n0\r\n\n", 400),
	BAD("trailer field", POSTC "3\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n", 400),
	BAD("bad chunk extension", POSTC "3;\"x\r\nabc\r\n0\r\n\r\n", 400),
	BAD("chunked body too large", POSTC "400\r\n" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	    "\r\n1\r\nX\r\n0\r\n\r\n", 413),
	BAD("body too large by CL", "POST /echo HTTP/1.1\r\n" H "Content-Length: 1025\r\n\r\n", 413),
	BAD("obs-fold", "GET /echo HTTP/1.1\r\n" H "X-Test: a\r\n b\r\n\r\n", 400),
	BAD("obs-fold with tab", "GET /echo HTTP/1.1\r\n" H "X-Test: a\r\n\tb\r\n\r\n", 400),
	BAD("obs-fold first line", "GET /echo HTTP/1.1\r\n x: y\r\n" H "\r\n", 400),
	BAD("bare LF after request line", "GET /echo HTTP/1.1\n" H "\r\n", 400),
	BAD("bare LF in header", "GET /echo HTTP/1.1\r\n" "Host: a\nX-Test: b\r\n\r\n", 400),
	BAD("bare LF final line", "GET /echo HTTP/1.1\r\n" H "\n", 400),
	BAD("only bare LFs", "GET /echo HTTP/1.1\nHost: a\n\n", 400),
	BAD("bare CR in header", "GET /echo HTTP/1.1\r\n" H "X-Test: a\rb\r\n\r\n", 400),
	BAD("space before colon", "GET /echo HTTP/1.1\r\nHost : a\r\n\r\n", 400),
	BAD("tab before colon", "GET /echo HTTP/1.1\r\n" H "X-Test\t: a\r\n\r\n", 400),
	BAD("header without colon", "GET /echo HTTP/1.1\r\n" H "X-Test a\r\n\r\n", 400),
	BAD("empty header name", "GET /echo HTTP/1.1\r\n" H ": a\r\n\r\n", 400),
	BAD("NUL in header value", "GET /echo HTTP/1.1\r\n" H "X-Test: a\0b\r\n\r\n", 400),
	BAD("NUL in header name", "GET /echo HTTP/1.1\r\n" H "X-T\0est: a\r\n\r\n", 400),
	BAD("NUL in target", "GET /ec\0ho HTTP/1.1\r\n" H "\r\n", 400),
	BAD("control char in value", "GET /echo HTTP/1.1\r\n" H "X-Test: a\x01" "b\r\n\r\n", 400),
	BAD("DEL in value", "GET /echo HTTP/1.1\r\n" H "X-Test: a\x7f\r\n\r\n", 400),
	BAD("control char in target", "GET /ec\x1bho HTTP/1.1\r\n" H "\r\n", 400),
	BAD("DEL in target", "GET /echo\x7f HTTP/1.1\r\n" H "\r\n", 400),
	BAD("non-ASCII in target", "GET /\xc3\xa9 HTTP/1.1\r\n" H "\r\n", 400),
	BAD("fragment in target", "GET /echo#frag HTTP/1.1\r\n" H "\r\n", 400),
	BAD("HTTP/2.0", "GET /echo HTTP/2.0\r\n" H "\r\n", 505),
	BAD("HTTP/1.2", "GET /echo HTTP/1.2\r\n" H "\r\n", 505),
	BAD("HTTP/0.9 version", "GET /echo HTTP/0.9\r\n" H "\r\n", 505),
	BAD("PRI preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505),
	BAD("no version", "GET /echo\r\n" H "\r\n", 400),
	BAD("version lowercase", "GET /echo http/1.1\r\n" H "\r\n", 400),
	BAD("version HTTP/11", "GET /echo HTTP/11\r\n" H "\r\n", 400),
	BAD("version trailing junk", "GET /echo HTTP/1.1x\r\n" H "\r\n", 400),
	BAD("missing Host", "GET /echo HTTP/1.1\r\nX-Test: a\r\n\r\n", 400),
	BAD("double Host", "GET /echo HTTP/1.1\r\n" H H "\r\n", 400),
	BAD("Host with space", "GET /echo HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
	BAD("Host with slash", "GET /echo HTTP/1.1\r\nHost: a/b\r\n\r\n", 400),
	BAD("empty Host", "GET /echo HTTP/1.1\r\nHost:\r\n\r\n", 400),
	BAD("lowercase method", "get /echo HTTP/1.1\r\n" H "\r\n", 400),
	BAD("invalid method token", "G@T /echo HTTP/1.1\r\n" H "\r\n", 400),
	BAD("method with NUL", "GE\0T /echo HTTP/1.1\r\n" H "\r\n", 400),
	BAD("unknown method", "FOO /echo HTTP/1.1\r\n" H "\r\n", 501),
	BAD("TRACE", "TRACE /echo HTTP/1.1\r\n" H "\r\n", 501),
	BAD("CONNECT authority-form", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 501),
	BAD("absolute-form", "GET http://a/echo HTTP/1.1\r\n" H "\r\n", 400),
	BAD("authority-form on GET", "GET a:80 HTTP/1.1\r\n" H "\r\n", 400),
	BAD("asterisk with GET", "GET * HTTP/1.1\r\n" H "\r\n", 400),
	BAD("double space in request line", "GET  /echo HTTP/1.1\r\n" H "\r\n", 400),
	BAD("space before method", " GET /echo HTTP/1.1\r\n" H "\r\n", 400),
	BAD("tab separator", "GET\t/echo HTTP/1.1\r\n" H "\r\n", 400),
	BAD("trailing space in request line", "GET /echo HTTP/1.1 \r\n" H "\r\n", 400),
	BAD("Expect other", "POST /echo HTTP/1.1\r\n" H "Expect: 200-ok\r\nContent-Length: 1\r\n\r\na", 417),
};

static void
test_refusals(void)
{
	char big[8192];
	size_t n;

	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++)
		check_refusal(bads[i].name, bads[i].raw, bads[i].len, bads[i].status);

	/* Oversized header block (limit 2048). */
	n = (size_t)snprintf(big, sizeof(big), "GET /echo HTTP/1.1\r\nHost: a\r\nX-Big: ");
	memset(big + n, 'x', 2100);
	n += 2100;
	n += (size_t)snprintf(big + n, sizeof(big) - n, "\r\n\r\n");
	check_refusal("oversized header block", big, n, 431);

	/* Oversized, never terminated: refused as soon as the limit is passed. */
	check_refusal("oversized unterminated head", big, 2100, 431);

	/* Too many header fields (limit 20). */
	n = (size_t)snprintf(big, sizeof(big), "GET /echo HTTP/1.1\r\nHost: a\r\n");
	for (int i = 0; i < 21; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "X-H%d: v\r\n", i);
	n += (size_t)snprintf(big + n, sizeof(big) - n, "\r\n");
	check_refusal("too many headers", big, n, 431);

	/* URL too long (limit 512), complete and still arriving. */
	n = (size_t)snprintf(big, sizeof(big), "GET /");
	memset(big + n, 'u', 600);
	n += 600;
	check_refusal("URL too long, unterminated", big, n, 414);
	n += (size_t)snprintf(big + n, sizeof(big) - n, " HTTP/1.1\r\nHost: a\r\n\r\n");
	check_refusal("URL too long", big, n, 414);
}

static void
test_timeouts(void)
{
	struct th_cli c;
	struct th_resp r;
	long t0;

	TH_TEST("slow headers get 408");
	TH_CHECK(th_cli_open(&c, port) == 0);
	t0 = th_now_ms();
	TH_CHECK(th_cli_sends(&c, "GET /echo HTTP/1.1\r\nHost: a\r\n") == 0);
	TH_CHECK(th_cli_read_resp(&c, &r, 0) == 0);
	TH_CHECK_EQ_INT(r.status, 408);
	TH_CHECK(th_now_ms() - t0 >= 250);
	TH_CHECK(th_cli_closed(&c, 2000));
	th_cli_close(&c);

	TH_TEST("slow body gets 408");
	TH_CHECK(th_cli_open(&c, port) == 0);
	TH_CHECK(th_cli_sends(&c, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc") == 0);
	TH_CHECK(th_cli_read_resp(&c, &r, 0) == 0);
	TH_CHECK_EQ_INT(r.status, 408);
	TH_CHECK(th_cli_closed(&c, 2000));
	th_cli_close(&c);

	TH_TEST("silent connection closed quietly");
	TH_CHECK(th_cli_open(&c, port) == 0);
	TH_CHECK(th_cli_closed(&c, 2000));
	th_cli_close(&c);

	TH_TEST("idle keep-alive connection closed quietly");
	TH_CHECK(th_cli_open(&c, port) == 0);
	TH_CHECK(th_cli_sends(&c, "GET /echo HTTP/1.1\r\nHost: a\r\n\r\n") == 0);
	TH_CHECK(th_cli_read_resp(&c, &r, 0) == 0 && r.status == 200);
	t0 = th_now_ms();
	TH_CHECK(th_cli_closed(&c, 3000));
	TH_CHECK(th_now_ms() - t0 >= 600);
	th_cli_close(&c);
}

static void
test_good(void)
{
	struct th_resp r;
	struct json_object *o;
	int closed;
	const char *h;

	TH_TEST("GET with query and headers");
#define GOOD(raw) one_shot(port, raw, sizeof(raw) - 1, &r, &closed)
	TH_CHECK_EQ_INT(GOOD("GET /echo?x=1&y=%20 HTTP/1.1\r\nHost: example.com:8080\r\n"
	    "X-Test:   spaced value  \r\nX-Request-ID: abc-123.Z_9\r\nConnection: close\r\n\r\n"), 200);
	o = body_json(&r);
	TH_CHECK_EQ_STR(jstr(o, "method"), "GET");
	TH_CHECK_EQ_STR(jstr(o, "path"), "/echo");
	TH_CHECK_EQ_STR(jstr(o, "query"), "x=1&y=%20");
	TH_CHECK_EQ_STR(jstr(o, "target"), "/echo?x=1&y=%20");
	TH_CHECK_EQ_STR(jstr(o, "x_test"), "spaced value");
	TH_CHECK_EQ_STR(jstr(o, "request_id"), "abc-123.Z_9");
	TH_CHECK_EQ_INT(jint(o, "nheaders"), 4);
	TH_CHECK_EQ_INT(jint(o, "minor"), 1);
	TH_CHECK(jstr(o, "body") == NULL);
	json_object_put(o);
	TH_CHECK_EQ_STR(th_resp_header(&r, "X-Request-ID"), "abc-123.Z_9");
	TH_CHECK_EQ_STR(th_resp_header(&r, "Content-Type"), "application/json");
	TH_CHECK(th_resp_header(&r, "Date") != NULL);
	TH_CHECK(closed);

	TH_TEST("invalid X-Request-ID replaced");
	TH_CHECK_EQ_INT(GOOD("GET /echo HTTP/1.1\r\nHost: a\r\nX-Request-ID: bad id!\r\nConnection: close\r\n\r\n"), 200);
	h = th_resp_header(&r, "X-Request-ID");
	TH_CHECK(h != NULL && strlen(h) == 32 && strspn(h, "0123456789abcdef") == 32);
	TH_CHECK_EQ_INT(GOOD("GET /echo HTTP/1.1\r\nHost: a\r\nX-Request-ID: "
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\nConnection: close\r\n\r\n"), 200);
	h = th_resp_header(&r, "X-Request-ID");
	TH_CHECK(h != NULL && strlen(h) == 32);
	TH_CHECK_EQ_INT(GOOD("GET /echo HTTP/1.1\r\nHost: a\r\nX-Request-ID: "
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\nConnection: close\r\n\r\n"), 200);
	h = th_resp_header(&r, "X-Request-ID");
	TH_CHECK(h != NULL && strlen(h) == 64);

	TH_TEST("POST with Content-Length");
	TH_CHECK_EQ_INT(GOOD("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n"
	    "Connection: close\r\n\r\nhello\0world"), 200);
	o = body_json(&r);
	TH_CHECK_EQ_INT(jint(o, "body_len"), 11);
	TH_CHECK_EQ_STR(jstr(o, "method"), "POST");
	json_object_put(o);

	TH_TEST("chunked body decoded");
	TH_CHECK_EQ_INT(GOOD("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
	    "Connection: close\r\n\r\n5\r\nhello\r\n6;ext=\"q x\"\r\n world\r\n000\r\n\r\n"), 200);
	o = body_json(&r);
	TH_CHECK_EQ_STR(jstr(o, "body"), "hello world");
	TH_CHECK_EQ_INT(jint(o, "body_len"), 11);
	json_object_put(o);
	TH_CHECK_EQ_INT(GOOD("PUT /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n"
	    "Connection: close\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n"), 200);
	o = body_json(&r);
	TH_CHECK_EQ_STR(jstr(o, "body"), "0123456789");
	TH_CHECK_EQ_STR(jstr(o, "method"), "PUT");
	json_object_put(o);

	TH_TEST("body exactly at the limit");
	{
		char raw[2048];
		int n = snprintf(raw, sizeof(raw), "POST /echo HTTP/1.1\r\nHost: a\r\n"
		    "Content-Length: 1024\r\nConnection: close\r\n\r\n");
		memset(raw + n, 'b', 1024);
		TH_CHECK_EQ_INT(one_shot(port, raw, (size_t)n + 1024, &r, &closed), 200);
		o = body_json(&r);
		TH_CHECK_EQ_INT(jint(o, "body_len"), 1024);
		json_object_put(o);
	}

	TH_TEST("HEAD has no body");
	{
		struct th_cli c;
		TH_CHECK(th_cli_open(&c, port) == 0);
		TH_CHECK(th_cli_sends(&c, "HEAD /echo HTTP/1.1\r\nHost: a\r\n\r\n"
		    "GET /nocontent HTTP/1.1\r\nHost: a\r\n\r\n") == 0);
		TH_CHECK(th_cli_read_resp(&c, &r, 1) == 0);
		TH_CHECK_EQ_INT(r.status, 200);
		h = th_resp_header(&r, "Content-Length");
		TH_CHECK(h != NULL && atoi(h) > 0);
		/* The next bytes must be the 204, not a body. */
		TH_CHECK(th_cli_read_resp(&c, &r, 0) == 0);
		TH_CHECK_EQ_INT(r.status, 204);
		TH_CHECK(th_resp_header(&r, "Content-Length") == NULL);
		th_cli_close(&c);
	}

	TH_TEST("OPTIONS * reaches the handler");
	TH_CHECK_EQ_INT(GOOD("OPTIONS * HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"), 404);

	TH_TEST("leading empty line ignored");
	TH_CHECK_EQ_INT(GOOD("\r\nGET /echo HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"), 200);

	TH_TEST("HTTP/1.0 without Host");
	TH_CHECK_EQ_INT(GOOD("GET /echo HTTP/1.0\r\n\r\n"), 200);
	TH_CHECK(closed);
	TH_CHECK_EQ_STR(th_resp_header(&r, "Connection"), "close");
	o = body_json(&r);
	TH_CHECK_EQ_INT(jint(o, "minor"), 0);
	json_object_put(o);

	TH_TEST("response headers");
	TH_CHECK_EQ_INT(GOOD("GET /hdr HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"), 201);
	TH_CHECK_EQ_STR(r.body, "0 -1 -1 -1 -1");
	TH_CHECK_EQ_STR(th_resp_header(&r, "X-Custom"), "v1");
	TH_CHECK(th_resp_header(&r, "Injected") == NULL);
	TH_CHECK_EQ_STR(th_resp_header(&r, "Content-Length"), "13");

	TH_TEST("error with a gateway code");
	TH_CHECK_EQ_INT(GOOD("GET /code HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"), 401);
	o = body_json(&r);
	TH_CHECK_EQ_INT(jint(o, "code"), 900901);
	TH_CHECK_EQ_STR(jstr(o, "message"), "Invalid Credentials");
	TH_CHECK_EQ_STR(jstr(o, "description"), "bad token");
	json_object_put(o);

	TH_TEST("Expect: 100-continue");
	{
		struct th_cli c;
		TH_CHECK(th_cli_open(&c, port) == 0);
		TH_CHECK(th_cli_sends(&c, "POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
		    "Content-Length: 4\r\n\r\n") == 0);
		TH_CHECK(th_cli_read_resp(&c, &r, 0) == 0);
		TH_CHECK_EQ_INT(r.status, 100);
		TH_CHECK(th_cli_sends(&c, "ping") == 0);
		TH_CHECK(th_cli_read_resp(&c, &r, 0) == 0);
		TH_CHECK_EQ_INT(r.status, 200);
		o = body_json(&r);
		TH_CHECK_EQ_STR(jstr(o, "body"), "ping");
		json_object_put(o);
		th_cli_close(&c);
	}
#undef GOOD
}

static void
test_keepalive(void)
{
	struct th_cli c;
	struct th_resp r;
	struct json_object *o;
	char q[16];
	long t0;

	TH_TEST("keep-alive: several requests on one connection");
	TH_CHECK(th_cli_open(&c, port) == 0);
	for (int i = 0; i < 3; i++) {
		TH_CHECK(th_cli_sends(&c, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi") == 0);
		TH_CHECK(th_cli_read_resp(&c, &r, 0) == 0);
		TH_CHECK_EQ_INT(r.status, 200);
		TH_CHECK_EQ_STR(th_resp_header(&r, "Connection"), "keep-alive");
	}
	TH_CHECK(!th_cli_closed(&c, 100));

	TH_TEST("max requests per connection");
	TH_CHECK(th_cli_sends(&c, "GET /echo HTTP/1.1\r\nHost: a\r\n\r\n") == 0);
	TH_CHECK(th_cli_read_resp(&c, &r, 0) == 0 && r.status == 200);
	TH_CHECK_EQ_STR(th_resp_header(&r, "Connection"), "keep-alive");
	TH_CHECK(th_cli_sends(&c, "GET /echo HTTP/1.1\r\nHost: a\r\n\r\n") == 0);
	TH_CHECK(th_cli_read_resp(&c, &r, 0) == 0 && r.status == 200);
	TH_CHECK_EQ_STR(th_resp_header(&r, "Connection"), "close");
	TH_CHECK(th_cli_closed(&c, 2000));
	th_cli_close(&c);

	TH_TEST("pipelining: three requests in one write, answered in order");
	TH_CHECK(th_cli_open(&c, port) == 0);
	t0 = th_now_ms();
	TH_CHECK(th_cli_sends(&c,
	    "GET /echo?n=1 HTTP/1.1\r\nHost: a\r\n\r\n"
	    "GET /async?n=2 HTTP/1.1\r\nHost: a\r\n\r\n"
	    "POST /echo?n=3 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyz") == 0);
	for (int i = 1; i <= 3; i++) {
		TH_CHECK(th_cli_read_resp(&c, &r, 0) == 0);
		TH_CHECK_EQ_INT(r.status, 200);
		if (i == 2) {
			TH_CHECK_EQ_STR(r.body, "async");
			TH_CHECK(th_now_ms() - t0 >= 150);
			continue;
		}
		o = body_json(&r);
		snprintf(q, sizeof(q), "n=%d", i);
		TH_CHECK_EQ_STR(jstr(o, "query"), q);
		if (i == 3)
			TH_CHECK_EQ_STR(jstr(o, "body"), "xyz");
		json_object_put(o);
	}
	TH_TEST("pipelined refusal after a good request");
	TH_CHECK(th_cli_sends(&c, "GET /echo HTTP/1.1\r\nHost: a\r\n\r\nGET /echo HTTP/1.1\r\nHost : a\r\n\r\n"
	    "GET /echo HTTP/1.1\r\nHost: a\r\n\r\n") == 0);
	TH_CHECK(th_cli_read_resp(&c, &r, 0) == 0 && r.status == 200);
	TH_CHECK(th_cli_read_resp(&c, &r, 0) == 0 && r.status == 400);
	TH_CHECK(th_cli_closed(&c, 2000));
	th_cli_close(&c);

	TH_TEST("Connection: close honored");
	TH_CHECK(th_cli_open(&c, port) == 0);
	TH_CHECK(th_cli_sends(&c, "GET /echo HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
	    "GET /echo HTTP/1.1\r\nHost: a\r\n\r\n") == 0);
	TH_CHECK(th_cli_read_resp(&c, &r, 0) == 0 && r.status == 200);
	TH_CHECK_EQ_STR(th_resp_header(&r, "Connection"), "close");
	TH_CHECK(th_cli_closed(&c, 2000));
	th_cli_close(&c);

	TH_TEST("HTTP/1.0 keep-alive on request");
	TH_CHECK(th_cli_open(&c, port) == 0);
	TH_CHECK(th_cli_sends(&c, "GET /echo HTTP/1.0\r\nConnection: keep-alive\r\n\r\n") == 0);
	TH_CHECK(th_cli_read_resp(&c, &r, 0) == 0 && r.status == 200);
	TH_CHECK_EQ_STR(th_resp_header(&r, "Connection"), "keep-alive");
	TH_CHECK(th_cli_sends(&c, "GET /echo HTTP/1.0\r\n\r\n") == 0);
	TH_CHECK(th_cli_read_resp(&c, &r, 0) == 0 && r.status == 200);
	TH_CHECK_EQ_STR(th_resp_header(&r, "Connection"), "close");
	TH_CHECK(th_cli_closed(&c, 2000));
	th_cli_close(&c);

	TH_TEST("request split across many writes");
	TH_CHECK(th_cli_open(&c, port) == 0);
	{
		const char *raw = "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
		for (const char *p = raw; *p != '\0'; p++) {
			TH_CHECK_MSG(th_cli_send(&c, p, 1) == 0, "byte %d", (int)(p - raw));
			if ((p - raw) % 16 == 0)
				usleep(1000);
		}
	}
	TH_CHECK(th_cli_read_resp(&c, &r, 0) == 0 && r.status == 200);
	o = body_json(&r);
	TH_CHECK_EQ_STR(jstr(o, "body"), "abcde");
	json_object_put(o);
	th_cli_close(&c);
}

static void
test_async(void)
{
	struct th_cli c;
	struct th_resp r;
	int before;

	TH_TEST("asynchronous handler");
	TH_CHECK(th_cli_open(&c, port) == 0);
	before = atomic_load(&async_done);
	TH_CHECK(th_cli_sends(&c, "GET /async HTTP/1.1\r\nHost: a\r\n\r\n") == 0);
	TH_CHECK(th_cli_read_resp(&c, &r, 0) == 0);
	TH_CHECK_EQ_INT(r.status, 200);
	TH_CHECK_EQ_STR(r.body, "async");
	TH_CHECK_EQ_INT(atomic_load(&async_done), before + 1);
	th_cli_close(&c);

	TH_TEST("on_abort when the client leaves first");
	TH_CHECK(th_cli_open(&c, port) == 0);
	before = atomic_load(&async_done);
	TH_CHECK(th_cli_sends(&c, "GET /async HTTP/1.1\r\nHost: a\r\n\r\n") == 0);
	usleep(50 * 1000);
	th_cli_close(&c);
	usleep(400 * 1000);
	TH_CHECK_EQ_INT(atomic_load(&aborted), 1);
	TH_CHECK_EQ_INT(atomic_load(&async_done), before);
}

static void
test_proxies(void)
{
	struct th_resp r;
	struct json_object *o;
	int closed;

#define XFF(p, v, want) do {							\
	const char *raw_ = "GET /echo HTTP/1.1\r\nHost: a\r\nConnection: close\r\n" v "\r\n"; \
	TH_CHECK_EQ_INT(one_shot(p, raw_, strlen(raw_), &r, &closed), 200);	\
	o = body_json(&r);							\
	TH_CHECK_EQ_STR(jstr(o, "client"), want);				\
	TH_CHECK_EQ_STR(jstr(o, "peer"), "127.0.0.1");				\
	json_object_put(o);							\
} while (0)
	TH_TEST("X-Forwarded-For via trusted proxies");
	XFF(port, "X-Forwarded-For: 203.0.113.7, 10.0.0.9\r\n", "203.0.113.7");
	XFF(port, "X-Forwarded-For: 198.51.100.1, 203.0.113.7\r\n", "203.0.113.7");
	XFF(port, "X-Forwarded-For: 198.51.100.1\r\nX-Forwarded-For: 2001:DB8::1 , 10.0.0.9\r\n", "2001:db8::1");
	XFF(port, "X-Forwarded-For: junk, 10.0.0.9\r\n", "127.0.0.1");
	XFF(port, "X-Forwarded-For: 10.0.0.9, 127.0.0.1\r\n", "127.0.0.1");
	TH_TEST("X-Forwarded-For: trusted proxies given as CIDR blocks");
	XFF(port, "X-Forwarded-For: 203.0.113.7, 192.0.2.100\r\n", "203.0.113.7");
	XFF(port, "X-Forwarded-For: 203.0.113.7, 192.0.2.200\r\n", "192.0.2.200");
	XFF(port, "X-Forwarded-For: 203.0.113.7, 2001:db8:aa:1::5\r\n", "203.0.113.7");
	XFF(port, "X-Forwarded-For: 203.0.113.7, 2001:db8:ab::5\r\n", "2001:db8:ab::5");
	XFF(port, "", "127.0.0.1");
	TH_TEST("X-Forwarded-For ignored from untrusted peers");
	XFF(port2, "X-Forwarded-For: 203.0.113.7\r\n", "127.0.0.1");
#undef XFF
}

static void
test_shutdown(void)
{
	struct th_cli slow, idle, late;
	struct th_resp r;
	long t0;

	TH_TEST("graceful shutdown");
	TH_CHECK(th_cli_open(&idle, port2) == 0);
	TH_CHECK(th_cli_sends(&idle, "GET /echo HTTP/1.1\r\nHost: a\r\n\r\n") == 0);
	TH_CHECK(th_cli_read_resp(&idle, &r, 0) == 0 && r.status == 200);
	TH_CHECK(th_cli_open(&slow, port2) == 0);
	TH_CHECK(th_cli_sends(&slow, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n") == 0);
	usleep(100 * 1000);
	t0 = th_now_ms();
	th_loop_run(shutdown_srv2, NULL);
	TH_CHECK(th_cli_open(&late, port2) < 0 && errno == ECONNREFUSED);
	TH_CHECK(th_cli_closed(&idle, 1000));
	TH_CHECK(!atomic_load(&shutdown_done));
	TH_CHECK(th_cli_read_resp(&slow, &r, 0) == 0);
	TH_CHECK_EQ_INT(r.status, 200);
	TH_CHECK_EQ_STR(r.body, "slow");
	TH_CHECK_EQ_STR(th_resp_header(&r, "Connection"), "close");
	TH_CHECK(th_cli_closed(&slow, 2000));
	for (int i = 0; i < 100 && !atomic_load(&shutdown_done); i++)
		usleep(20 * 1000);
	TH_CHECK(atomic_load(&shutdown_done));
	TH_CHECK(th_now_ms() - t0 < 2500);
	th_cli_close(&idle);
	th_cli_close(&slow);
}

static void
test_access_log(FILE *logf)
{
	char line[4096];
	int n_access = 0, saw_431 = 0, saw_fields = 0;

	TH_TEST("access log");
	fflush(logf);
	rewind(logf);
	while (fgets(line, sizeof(line), logf) != NULL) {
		struct json_object *o = json_tokener_parse(line);
		if (o == NULL)
			continue;
		if (jstr(o, "event") != NULL && strcmp(jstr(o, "event"), "access") == 0) {
			n_access++;
			if (jint(o, "status") == 431)
				saw_431 = 1;
			if (jint(o, "status") == 200 && jstr(o, "method") != NULL &&
			    jstr(o, "path") != NULL && jstr(o, "client") != NULL &&
			    jint(o, "duration_ms") >= 0 && jint(o, "bytes") > 0 &&
			    jstr(o, "request_id") != NULL)
				saw_fields = 1;
		}
		json_object_put(o);
	}
	TH_CHECK(n_access > 60);
	TH_CHECK(saw_431);
	TH_CHECK(saw_fields);
}

static void
test_status_text(void)
{
	TH_TEST("status text");
	TH_CHECK_EQ_STR(gh_http_status_text(404), "Not Found");
	TH_CHECK_EQ_STR(gh_http_status_text(431), "Request Header Fields Too Large");
	TH_CHECK_EQ_STR(gh_http_status_text(799), "Unknown");
}

int
main(void)
{
	FILE *logf = tmpfile();

	gh_log_init("test_http", logf ? fileno(logf) : 2, GH_LOG_INFO);
	th_loop_start();
	th_loop_run(start_servers, NULL);
	TH_TEST("servers listen");
	TH_CHECK(port > 0 && port2 > 0 && port != port2);
	if (port <= 0 || port2 <= 0)
		TH_END();

	test_status_text();
	test_refusals();
	test_good();
	test_keepalive();
	test_async();
	test_timeouts();
	test_proxies();
	test_shutdown();
	th_loop_run(free_servers, NULL);
	th_loop_stop();
	if (logf != NULL) {
		test_access_log(logf);
		fclose(logf);
	}
	TH_END();
}
