/*
 * Fuzz target for the HTTP server's request parsing.  Each input is a
 * raw byte stream from a client and goes two ways:
 *   1. the pure head scan of core/http_strict.c (http_int.h):
 *      http_head_find() in one call and again resumed after a split,
 *      which must agree, then http_head_check() on the head it found;
 *   2. a real gh_http_server on 127.0.0.1 (one event base, no threads):
 *      a non-blocking client socket writes the bytes, shuts its write
 *      side and reads until the server has closed the connection and
 *      freed it.  Requests go through gh_router_dispatch() to handlers
 *      that answer at once, echoing parameters and a header value.
 * The server, router and base live for the whole run; nothing of an
 * input survives it.  Logs go to /dev/null.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "core/gh_http.h"
#include "core/gh_log.h"
#include "core/gh_router.h"
#include "core/http_int.h"
#include "fuzz.h"

static struct event_base *base;
static struct gh_http_server *srv;
static struct gh_router *router;
static struct gh_http_limits limits;

/* One client connection of one input. */
struct client {
	int fd;
	const uint8_t *data;
	size_t size, off;
	int wr_done;       /* everything written and the write side shut */
	int rd_done;       /* EOF or error read from the server */
	struct event *rev, *wev;
};

static void
h_echo(struct gh_http_req *req, const struct gh_route_match *m, void *arg)
{
	struct json_object *o = json_object_new_object();
	const char *echo = gh_http_req_header(req, "x-echo");

	(void)arg;
	for (size_t i = 0; i < m->nparams; i++)
		json_object_object_add(o, m->params[i].name,
		    json_object_new_string(m->params[i].value));
	json_object_object_add(o, "body_len", json_object_new_int64((int64_t)req->body_len));
	json_object_object_add(o, "client", json_object_new_string(req->client_addr));
	if (req->query != NULL)
		json_object_object_add(o, "query", json_object_new_string(req->query));
	if (echo != NULL)
		(void)gh_http_resp_header(req, "X-Echo", echo);
	gh_http_respond_json(req, 200, o);
	json_object_put(o);
}

/* GET /status/{code}: any status, including 1xx, 204, 304 and out-of-range ones. */
static void
h_status(struct gh_http_req *req, const struct gh_route_match *m, void *arg)
{
	const char *code = gh_route_param(m, "code");

	(void)arg;
	gh_http_respond(req, code != NULL ? atoi(code) : 500, "text/plain", "status\n", 7);
}

static void
h_body(struct gh_http_req *req, const struct gh_route_match *m, void *arg)
{
	(void)m;
	(void)arg;
	gh_http_respond(req, 201, NULL, req->body, req->body_len);
}

static void
handler(struct gh_http_req *req, void *arg)
{
	(void)arg;
	gh_router_dispatch(router, req);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct gh_http_server_cfg cfg;
	char err[256];
	int devnull;

	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (devnull < 0)
		abort();
	gh_log_init("fuzz", devnull, GH_LOG_ERROR);
	router = gh_router_new();
	if (router == NULL ||
	    gh_router_add(router, "GET", "/", h_echo, NULL) != 0 ||
	    gh_router_add(router, "GET", "/items/{id}", h_echo, NULL) != 0 ||
	    gh_router_add(router, "DELETE", "/items/{id}", h_echo, NULL) != 0 ||
	    gh_router_add(router, "POST", "/items", h_body, NULL) != 0 ||
	    gh_router_add(router, "PUT", "/items/{id}", h_body, NULL) != 0 ||
	    gh_router_add(router, "PATCH", "/items/{id}", h_body, NULL) != 0 ||
	    gh_router_add(router, "GET", "/status/{code}", h_status, NULL) != 0 ||
	    gh_router_add(router, "HEAD", "/status/{code}", h_status, NULL) != 0 ||
	    gh_router_add(router, "OPTIONS", "/items", h_echo, NULL) != 0)
		abort();

	/* Small limits so that fuzzed inputs reach 413, 414 and 431. */
	memset(&limits, 0, sizeof(limits));
	limits.max_header_bytes = 2048;
	limits.max_headers = 16;
	limits.max_url_bytes = 256;
	limits.max_body_bytes = 4096;
	limits.header_timeout_ms = 5000;
	limits.body_timeout_ms = 5000;
	limits.idle_timeout_ms = 5000;
	limits.max_requests_per_conn = 8;

	base = event_base_new();
	if (base == NULL)
		abort();
	memset(&cfg, 0, sizeof(cfg));
	cfg.name = "fuzz";
	cfg.limits = limits;
	cfg.trusted_proxies = "127.0.0.1, ::1, 10.0.0.1";
	cfg.handler = handler;
	srv = gh_http_server_new(base, &cfg);
	if (srv == NULL || gh_http_server_listen(srv, "127.0.0.1", 0, err, sizeof(err)) != 0)
		abort();
	return 0;
}

/* The pure head scan; a split feed must find what a whole one does. */
static void
scan_head(const char *buf, size_t len)
{
	struct http_refusal rf = { 0, NULL, NULL }, rf2 = { 0, NULL, NULL };
	size_t off = 0, hlen = 0, off2 = 0, hlen2 = 0;
	int rc, rc2;

	rc = http_head_find(buf, len, &off, &limits, &hlen, &rf);
	if (rc == 1) {
		if (hlen < 4 || hlen > len || memcmp(buf + hlen - 4, "\r\n\r\n", 4) != 0)
			abort();
		(void)http_head_check(buf, hlen, &limits, &rf);
	}
	/* Resume after half of the bytes, as the server does when they trickle in. */
	rc2 = http_head_find(buf, len / 2, &off2, &limits, &hlen2, &rf2);
	if (rc2 == 0) {
		rc2 = http_head_find(buf, len, &off2, &limits, &hlen2, &rf2);
		if (rc2 != rc || (rc == 1 && hlen2 != hlen) ||
		    (rc < 0 && rf2.status != rf.status))
			abort();
	}
}

static void
client_read(evutil_socket_t fd, short what, void *arg)
{
	struct client *cl = arg;
	char buf[16384];

	(void)what;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		cl->rd_done = 1;        /* EOF, or a reset after the server closed */
		event_del(cl->rev);
		return;
	}
}

static void
client_write(evutil_socket_t fd, short what, void *arg)
{
	struct client *cl = arg;

	(void)what;
	while (cl->off < cl->size) {
		ssize_t n = send(fd, cl->data + cl->off, cl->size - cl->off, MSG_NOSIGNAL);

		if (n > 0) {
			cl->off += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		break;                  /* the server closed: the rest is moot */
	}
	shutdown(fd, SHUT_WR);
	cl->wr_done = 1;
	event_del(cl->wev);
}

static void
drive_server(const uint8_t *data, size_t size)
{
	struct client cl = { -1, data, size, 0, 0, 0, NULL, NULL };
	struct sockaddr_in sin;
	struct linger lg = { 1, 0 };
	int rounds = 0;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)gh_http_server_port(srv));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cl.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (cl.fd < 0)
		abort();
	if (connect(cl.fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 && errno != EINPROGRESS)
		abort();
	cl.rev = event_new(base, cl.fd, EV_READ | EV_PERSIST, client_read, &cl);
	cl.wev = event_new(base, cl.fd, EV_WRITE | EV_PERSIST, client_write, &cl);
	if (cl.rev == NULL || cl.wev == NULL || event_add(cl.rev, NULL) != 0 ||
	    event_add(cl.wev, NULL) != 0)
		abort();
	/*
	 * Until the server has answered, closed and freed the connection.
	 * Every step is event-driven, so EVLOOP_ONCE cannot wait for nothing:
	 * the client's EOF always ends the server's side.
	 */
	while (!(cl.wr_done && cl.rd_done && srv->nconns == 0)) {
		event_base_loop(base, EVLOOP_ONCE);
		if (++rounds > 100000)
			abort();        /* a connection that never ends is a bug */
	}
	event_free(cl.rev);
	event_free(cl.wev);
	/* Reset rather than TIME_WAIT: thousands of connections a second. */
	setsockopt(cl.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(cl.fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char id[80];
	size_t n = size < sizeof(id) - 1 ? size : sizeof(id) - 1;

	scan_head((const char *)data, size);
	memcpy(id, data, n);
	id[n] = '\0';
	(void)http_request_id_ok(id);
	drive_server(data, size);
	return 0;
}
