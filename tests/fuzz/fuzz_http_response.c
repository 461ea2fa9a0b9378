/*
 * Fuzz target for the HTTP client's response parsing (core/http_client_parse.c, driven through core/http_client.c).
 * The client has no pure parsing entry point (its pre-scan and llhttp
 * callbacks are static), so the input is served over 127.0.0.1 by a
 * fake server on the same event base (no threads): it accepts the
 * client's connection, drains the request, writes the input bytes as
 * the response and shuts its write side.  The first input byte picks
 * the request ('H' HEAD, 'P' POST with a body, anything else GET); the
 * rest is the response.  A gh_httpc is made and freed per input so that
 * no pooled connection carries over.  The same bytes, NUL-terminated,
 * go to gh_httpc_url_parse().  Logs go to /dev/null.
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

#include "core/gh_http.h"
#include "core/gh_log.h"
#include "fuzz.h"

static struct event_base *base;
static int lfd = -1;
static char url[64];

/* The fake server's side of one input. */
struct peer {
	int fd;                 /* accepted connection, -1 before */
	const uint8_t *data;
	size_t size, off;
	int wr_done;
	int cb_done;            /* the client's callback ran */
	struct event *ev;
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int devnull;

	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (devnull < 0)
		abort();
	gh_log_init("fuzz", devnull, GH_LOG_ERROR);
	base = event_base_new();
	if (base == NULL)
		abort();
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(lfd, 64) != 0 || getsockname(lfd, (struct sockaddr *)&sin, &sl) != 0)
		abort();
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/fuzz?x=1", ntohs(sin.sin_port));
	return 0;
}

static void
resp_cb(struct gh_httpc_resp *resp, void *arg)
{
	struct peer *p = arg;

	if (resp->error == GH_HTTPC_OK) {
		(void)gh_httpc_resp_header(resp, "content-type");
		if (resp->body != NULL && resp->body[resp->body_len] != '\0')
			abort();        /* bodies are NUL-terminated */
	}
	p->cb_done = 1;
}

/* Accept once, then drain the request and write the response. */
static void
peer_io(evutil_socket_t fd, short what, void *arg)
{
	struct peer *p = arg;
	char buf[4096];

	(void)fd;
	(void)what;
	if (p->fd < 0) {
		p->fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (p->fd < 0)
			return;
		event_del(p->ev);
		event_assign(p->ev, base, p->fd, EV_READ | EV_WRITE | EV_PERSIST, peer_io, p);
		event_add(p->ev, NULL);
		return;
	}
	for (;;) {
		ssize_t n = recv(p->fd, buf, sizeof(buf), 0);

		if (n > 0)
			continue;
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
			/* The client is gone: nothing more to read or write. */
			p->wr_done = 1;
			event_del(p->ev);
			return;
		}
		break;
	}
	while (!p->wr_done && p->off < p->size) {
		ssize_t n = send(p->fd, p->data + p->off, p->size - p->off, MSG_NOSIGNAL);

		if (n > 0)
			p->off += (size_t)n;
		else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		else
			break;
	}
	if (!p->wr_done) {
		shutdown(p->fd, SHUT_WR);
		p->wr_done = 1;
		event_del(p->ev);
		event_assign(p->ev, base, p->fd, EV_READ | EV_PERSIST, peer_io, p);
		event_add(p->ev, NULL);
	}
}

static void
drive_client(char method, const uint8_t *data, size_t size)
{
	struct gh_httpc_cfg cfg;
	struct gh_httpc *c;
	struct peer p = { -1, data, size, 0, 0, 0, NULL };
	struct gh_http_header hdr = { "X-Fuzz", "1" };
	struct linger lg = { 1, 0 };
	const char *m = method == 'H' ? "HEAD" : method == 'P' ? "POST" : "GET";
	int rounds = 0;

	memset(&cfg, 0, sizeof(cfg));
	cfg.connect_timeout_ms = 2000;
	cfg.timeout_ms = 5000;
	cfg.max_header_bytes = 2048;
	cfg.max_body_bytes = 8192;
	c = gh_httpc_new(base, &cfg);
	p.ev = event_new(base, lfd, EV_READ | EV_PERSIST, peer_io, &p);
	if (c == NULL || p.ev == NULL || event_add(p.ev, NULL) != 0)
		abort();
	if (gh_httpc_request(c, m, url, &hdr, 1, method == 'P' ? "{}" : NULL,
	    method == 'P' ? 2 : 0, resp_cb, &p) != 0)
		abort();
	while (!p.cb_done) {
		event_base_loop(base, EVLOOP_ONCE);
		if (++rounds > 100000)
			abort();        /* a request that never ends is a bug */
	}
	gh_httpc_free(c);
	event_free(p.ev);
	if (p.fd >= 0) {
		setsockopt(p.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(p.fd);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gh_httpc_url u;
	char *z;

	if (size == 0)
		return 0;
	drive_client((char)data[0], data + 1, size - 1);
	z = malloc(size);
	if (z == NULL)
		return 0;
	memcpy(z, data + 1, size - 1);
	z[size - 1] = '\0';
	if (gh_httpc_url_parse(z, &u) == 0)
		gh_httpc_url_clear(&u);
	free(z);
	return 0;
}
