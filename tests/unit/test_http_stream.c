/*
 * Streamed responses of the core HTTP library, both ends.  The server
 * side (gh_http_respond_start/write/end/abort, on_drain) is read with a
 * raw socket client: Content-Length and chunked framing, HEAD and 204,
 * a short or aborted body cutting the connection, and a slow reader
 * (the producer must stop at the high-water mark and resume on drain).
 * The client side (gh_httpc_request_stream) reads the same server, with
 * pause/resume, cancel, HEAD, and a backend that dies mid-body.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/gh_http.h"
#include "core/gh_log.h"
#include "th.h"
#include "th_http.h"

static struct gh_http_server *srv;
static int port;

static size_t produced;     /* body bytes the current producer queued (atomic) */
static int paused;          /* the producer waits for on_drain (atomic) */
static int drains;          /* on_drain calls (atomic) */

static char
pat(size_t off)
{
	return (char)('a' + off % 26);
}

/* ---- server: a producer of N pattern bytes ---- */

struct prod {
	struct gh_http_req *req;
	size_t left, off;
};

static void
prod_run(struct prod *p)
{
	char buf[16384];

	while (p->left > 0) {
		size_t n = p->left < sizeof(buf) ? p->left : sizeof(buf);
		int rc;

		for (size_t i = 0; i < n; i++)
			buf[i] = pat(p->off + i);
		rc = gh_http_respond_write(p->req, buf, n);
		if (rc < 0) {
			gh_http_respond_abort(p->req);
			free(p);
			return;
		}
		p->off += n;
		p->left -= n;
		__atomic_store_n(&produced, p->off, __ATOMIC_RELEASE);
		if (rc > 0) {
			__atomic_store_n(&paused, 1, __ATOMIC_RELEASE);
			return;
		}
	}
	gh_http_respond_end(p->req);
	free(p);
}

static void
prod_drain(struct gh_http_req *req, void *arg)
{
	(void)req;
	__atomic_add_fetch(&drains, 1, __ATOMIC_ACQ_REL);
	__atomic_store_n(&paused, 0, __ATOMIC_RELEASE);
	prod_run(arg);
}

static void
prod_abort(struct gh_http_req *req, void *arg)
{
	(void)req;
	free(arg);
}

static void
handler(struct gh_http_req *req, void *arg)
{
	struct prod *p;
	size_t n = 0;
	int chunked = strncmp(req->path, "/chunked/", 9) == 0;

	(void)arg;
	if (strcmp(req->path, "/204") == 0) {
		gh_http_respond_start(req, 204, "text/plain", -1);
		gh_http_respond_write(req, "x", 1);
		gh_http_respond_end(req);
		return;
	}
	if (strcmp(req->path, "/short") == 0) {
		gh_http_respond_start(req, 200, "text/plain", 100);
		gh_http_respond_write(req, "0123456789", 10);
		TH_CHECK_EQ_INT(gh_http_respond_write(req, "x", 91), -1);
		gh_http_respond_end(req);
		return;
	}
	if (strcmp(req->path, "/abort") == 0) {
		gh_http_respond_start(req, 200, "text/plain", -1);
		gh_http_respond_write(req, "abc", 3);
		gh_http_respond_abort(req);
		return;
	}
	if (chunked || strncmp(req->path, "/cl/", 4) == 0)
		n = strtoul(req->path + (chunked ? 9 : 4), NULL, 10);
	p = calloc(1, sizeof(*p));
	p->req = req;
	p->left = n;
	req->on_drain = prod_drain;
	req->drain_arg = p;
	req->on_abort = prod_abort;
	req->abort_arg = p;
	__atomic_store_n(&produced, 0, __ATOMIC_RELEASE);
	gh_http_resp_header(req, "X-Test", "streamed");
	gh_http_respond_start(req, 200, "application/octet-stream", chunked ? -1 : (long long)n);
	prod_run(p);
}

static void
start_server(void *arg)
{
	struct gh_http_server_cfg cfg;
	char err[128];

	(void)arg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.name = "test";
	cfg.handler = handler;
	srv = gh_http_server_new(th_base, &cfg);
	gh_http_server_listen(srv, "127.0.0.1", 0, err, sizeof(err));
	port = gh_http_server_port(srv);
}

static void
stop_server(void *arg)
{
	(void)arg;
	gh_http_server_free(srv);
}

/* ---- raw reading ---- */

struct raw {
	char head[4096];
	char *body;                /* decoded */
	size_t len;
	int terminated;            /* chunked: the last chunk arrived; CL: all of it */
	int pattern_ok;
};

/* Send req on a new connection (rcvbuf > 0: a small receive buffer), return the fd. */
static int
raw_open(const char *req, int rcvbuf)
{
	struct th_cli c;

	memset(&c, 0, sizeof(c));
	c.fd = socket(AF_INET, SOCK_STREAM, 0);
	if (rcvbuf > 0)
		setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	close(c.fd);
	if (th_cli_open(&c, port) != 0)
		return -1;
	if (rcvbuf > 0)
		setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	th_cli_sends(&c, req);
	return c.fd;
}

/* Read to EOF and decode (Content-Length or chunked) into r. */
static void
raw_read(int fd, struct raw *r)
{
	size_t cap = 1 << 16, len = 0, hlen;
	char *b = malloc(cap), *e;
	ssize_t n;
	struct timeval tv = { 10, 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	memset(r, 0, sizeof(*r));
	for (;;) {
		if (len == cap)
			b = realloc(b, cap *= 2);
		n = recv(fd, b + len, cap - len, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	e = len >= 4 ? memmem(b, len, "\r\n\r\n", 4) : NULL;
	if (e == NULL) {
		free(b);
		return;
	}
	hlen = (size_t)(e - b) + 4;
	memcpy(r->head, b, hlen < sizeof(r->head) - 1 ? hlen : sizeof(r->head) - 1);
	r->body = malloc(len - hlen + 1);
	if (strcasestr(r->head, "transfer-encoding: chunked") != NULL) {
		size_t off = hlen;

		while (off < len) {
			char *end;
			unsigned long cl = strtoul(b + off, &end, 16);
			char *crlf = memmem(b + off, len - off, "\r\n", 2);

			if (crlf == NULL || end != crlf)
				break;
			off = (size_t)(crlf - b) + 2;
			if (cl == 0) {
				r->terminated = len - off == 2 && memcmp(b + off, "\r\n", 2) == 0;
				break;
			}
			if (off + cl + 2 > len)
				break;
			memcpy(r->body + r->len, b + off, cl);
			r->len += cl;
			off += cl + 2;
		}
	} else {
		const char *cl = strcasestr(r->head, "content-length: ");

		memcpy(r->body, b + hlen, len - hlen);
		r->len = len - hlen;
		r->terminated = cl != NULL && strtoul(cl + 16, NULL, 10) == r->len;
	}
	r->pattern_ok = 1;
	for (size_t i = 0; i < r->len; i++)
		if (r->body[i] != pat(i)) {
			r->pattern_ok = 0;
			break;
		}
	free(b);
}

static void
test_server(void)
{
	struct raw r;
	char q[256];
	size_t p1, p2;
	int fd;

	TH_TEST("Content-Length body");
	fd = raw_open("GET /cl/300000 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 0);
	raw_read(fd, &r);
	TH_CHECK(strncmp(r.head, "HTTP/1.1 200 ", 13) == 0);
	TH_CHECK(strcasestr(r.head, "\r\nContent-Length: 300000\r\n") != NULL);
	TH_CHECK(strcasestr(r.head, "transfer-encoding") == NULL);
	TH_CHECK(strcasestr(r.head, "\r\nX-Test: streamed\r\n") != NULL);
	TH_CHECK(strcasestr(r.head, "\r\nContent-Type: application/octet-stream\r\n") != NULL);
	TH_CHECK_EQ_INT(r.len, 300000);
	TH_CHECK(r.terminated && r.pattern_ok);
	free(r.body);

	TH_TEST("chunked body");
	fd = raw_open("GET /chunked/1000000 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 0);
	raw_read(fd, &r);
	TH_CHECK(strcasestr(r.head, "\r\nTransfer-Encoding: chunked\r\n") != NULL);
	TH_CHECK(strcasestr(r.head, "content-length") == NULL);
	TH_CHECK_EQ_INT(r.len, 1000000);
	TH_CHECK(r.terminated && r.pattern_ok);
	free(r.body);

	TH_TEST("HTTP/1.0: no chunks, the body ends with the connection");
	fd = raw_open("GET /chunked/5000 HTTP/1.0\r\nHost: a\r\n\r\n", 0);
	raw_read(fd, &r);
	TH_CHECK(strcasestr(r.head, "transfer-encoding") == NULL);
	TH_CHECK(strcasestr(r.head, "\r\nConnection: close\r\n") != NULL);
	TH_CHECK_EQ_INT(r.len, 5000);
	TH_CHECK(r.pattern_ok);
	free(r.body);

	TH_TEST("HEAD keeps the length, sends no body; 204 has neither");
	fd = raw_open("HEAD /cl/1234 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 0);
	raw_read(fd, &r);
	TH_CHECK(strcasestr(r.head, "\r\nContent-Length: 1234\r\n") != NULL);
	TH_CHECK_EQ_INT(r.len, 0);
	free(r.body);
	fd = raw_open("GET /204 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 0);
	raw_read(fd, &r);
	TH_CHECK(strncmp(r.head, "HTTP/1.1 204 ", 13) == 0);
	TH_CHECK(strcasestr(r.head, "content-length") == NULL &&
	    strcasestr(r.head, "transfer-encoding") == NULL);
	TH_CHECK_EQ_INT(r.len, 0);
	free(r.body);

	TH_TEST("keep-alive: two streamed responses on one connection");
	fd = raw_open("GET /chunked/10 HTTP/1.1\r\nHost: a\r\n\r\n"
	    "GET /cl/20 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 0);
	{
		char all[4096];
		size_t len = 0;
		ssize_t n;

		while ((n = recv(fd, all + len, sizeof(all) - 1 - len, 0)) > 0)
			len += (size_t)n;
		all[len] = '\0';
		close(fd);
		TH_CHECK(strstr(all, "\r\n\r\na\r\nabcdefghij\r\n0\r\n\r\nHTTP/1.1 200 ") != NULL);
		TH_CHECK(strstr(all, "\r\n\r\nabcdefghijklmnopqrst") != NULL);
	}

	TH_TEST("a short body or an abort cuts the connection");
	fd = raw_open("GET /short HTTP/1.1\r\nHost: a\r\n\r\n", 0);
	raw_read(fd, &r);                       /* returns: the server closed */
	TH_CHECK_EQ_INT(r.len, 10);
	TH_CHECK(!r.terminated);
	free(r.body);
	fd = raw_open("GET /abort HTTP/1.1\r\nHost: a\r\n\r\n", 0);
	raw_read(fd, &r);
	TH_CHECK_EQ_INT(r.len, 3);
	TH_CHECK(!r.terminated);
	free(r.body);

	TH_TEST("slow reader: the producer stops at the high-water mark, resumes on drain");
	__atomic_store_n(&drains, 0, __ATOMIC_RELEASE);
	snprintf(q, sizeof(q), "GET /chunked/%d HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
	    32 << 20);
	fd = raw_open(q, 16384);
	usleep(500 * 1000);
	p1 = __atomic_load_n(&produced, __ATOMIC_ACQUIRE);
	usleep(300 * 1000);
	p2 = __atomic_load_n(&produced, __ATOMIC_ACQUIRE);
	TH_CHECK(__atomic_load_n(&paused, __ATOMIC_ACQUIRE) == 1);
	TH_CHECK_MSG(p1 == p2, "%zu then %zu", p1, p2);
	/* the queue (256 KiB) plus what the kernel's socket buffers took */
	TH_CHECK_MSG(p2 >= GH_HTTP_STREAM_HIGH && p2 < (12u << 20), "%zu", p2);
	raw_read(fd, &r);
	TH_CHECK_EQ_INT(r.len, 32 << 20);
	TH_CHECK(r.terminated && r.pattern_ok);
	TH_CHECK(__atomic_load_n(&drains, __ATOMIC_ACQUIRE) > 0);
	free(r.body);

	TH_TEST("the client going away mid-stream");
	fd = raw_open("GET /chunked/50000000 HTTP/1.1\r\nHost: a\r\n\r\n", 16384);
	usleep(200 * 1000);
	close(fd);
	usleep(300 * 1000);
	fd = raw_open("GET /cl/5 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 0);
	raw_read(fd, &r);
	TH_CHECK_EQ_INT(r.len, 5);              /* the server is fine (ASan: no leak, no UAF) */
	free(r.body);
}

/* ---- client ---- */

struct cs {
	struct gh_httpc *c;
	struct gh_httpc_call *call;
	const char *url;
	const char *method;
	int pause;                 /* pause after every piece, resume 5 ms later */
	int cancel;                /* cancel at the first piece */
	int status, heads, datas, pattern_ok, done;
	size_t got;
	enum gh_httpc_err err;
	char errstr[64];
	char ctype[64];
	long first_ms, start_ms;
};

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cs *s = arg;

	(void)fd;
	(void)what;
	if (!s->done)                   /* the body may have ended with the paused piece */
		gh_httpc_resume(s->call);
}

static int
cs_head(const struct gh_httpc_resp *resp, void *arg)
{
	struct cs *s = arg;
	const char *ct = gh_httpc_resp_header(resp, "content-type");

	s->status = resp->status;
	s->heads++;
	snprintf(s->ctype, sizeof(s->ctype), "%s", ct ? ct : "");
	return 0;
}

static int
cs_data(const void *data, size_t len, void *arg)
{
	struct cs *s = arg;
	const char *d = data;
	struct timeval tv = { 0, 5000 };

	if (s->datas++ == 0)
		s->first_ms = th_now_ms();
	for (size_t i = 0; i < len; i++)
		if (d[i] != pat(s->got + i))
			s->pattern_ok = 0;
	s->got += len;
	if (s->cancel) {
		gh_httpc_cancel(s->call);
		return 0;
	}
	if (s->pause) {
		event_base_once(th_base, -1, EV_TIMEOUT, resume_cb, s, &tv);
		return 1;
	}
	return 0;
}

static void
cs_done(enum gh_httpc_err err, const char *errstr, void *arg)
{
	struct cs *s = arg;

	s->err = err;
	snprintf(s->errstr, sizeof(s->errstr), "%s", errstr ? errstr : "");
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
}

static const struct gh_httpc_stream cs_cbs = { cs_head, cs_data, cs_done };

static void
cs_start(void *arg)
{
	struct cs *s = arg;

	s->start_ms = th_now_ms();
	if (gh_httpc_request_stream(s->c, NULL, s->method ? s->method : "GET", s->url, NULL, 0,
	    NULL, 0, &cs_cbs, s, &s->call) != 0) {
		s->err = GH_HTTPC_EURL;
		s->done = 1;
	}
}

static void
cs_run(struct cs *s)
{
	s->pattern_ok = 1;
	th_loop_run(cs_start, s);
	for (int i = 0; i < 3000 && !__atomic_load_n(&s->done, __ATOMIC_ACQUIRE); i++)
		usleep(10 * 1000);
	usleep(20 * 1000);              /* a resume timer still pending finds done set */
}

/*
 * A raw backend: sends dying_answer and closes (a head announcing 1000
 * bytes and 7 of them, or a body delimited by the close).
 */
static int dying_fd;
static const char *dying_answer;

static void *
dying_main(void *arg)
{
	char b[4096];
	int c;

	(void)arg;
	c = accept(dying_fd, NULL, NULL);
	if (c < 0)
		return NULL;
	(void)recv(c, b, sizeof(b), 0);
	(void)send(c, dying_answer, strlen(dying_answer), MSG_NOSIGNAL);
	usleep(100 * 1000);
	close(c);
	return NULL;
}

static void
client_new(void *arg)
{
	*(struct gh_httpc **)arg = gh_httpc_new(th_base, NULL);
}

static void
client_free(void *arg)
{
	gh_httpc_free(arg);
}

static void
test_client(void)
{
	struct gh_httpc *c;
	struct cs s;
	char url[128];
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	pthread_t t;

	th_loop_run(client_new, &c);

	TH_TEST("client: a chunked body in pieces, larger than the client's body limit");
	memset(&s, 0, sizeof(s));
	s.c = c;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/chunked/%d", port, 9 << 20);
	s.url = url;
	cs_run(&s);
	TH_CHECK_EQ_INT(s.err, GH_HTTPC_OK);
	TH_CHECK_EQ_INT(s.status, 200);
	TH_CHECK_EQ_INT(s.heads, 1);
	TH_CHECK_EQ_STR(s.ctype, "application/octet-stream");
	TH_CHECK_EQ_INT(s.got, 9 << 20);
	TH_CHECK(s.pattern_ok && s.datas > 1);

	TH_TEST("client: Content-Length body, paused after every piece");
	memset(&s, 0, sizeof(s));
	s.c = c;
	s.pause = 1;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/cl/%d", port, 600000);
	s.url = url;
	cs_run(&s);
	TH_CHECK_EQ_INT(s.err, GH_HTTPC_OK);
	TH_CHECK_EQ_INT(s.got, 600000);
	TH_CHECK(s.pattern_ok);

	TH_TEST("client: HEAD");
	memset(&s, 0, sizeof(s));
	s.c = c;
	s.method = "HEAD";
	s.url = url;
	cs_run(&s);
	TH_CHECK_EQ_INT(s.err, GH_HTTPC_OK);
	TH_CHECK_EQ_INT(s.status, 200);
	TH_CHECK_EQ_INT(s.got, 0);

	TH_TEST("client: cancel at the first piece");
	memset(&s, 0, sizeof(s));
	s.c = c;
	s.cancel = 1;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/chunked/%d", port, 20 << 20);
	s.url = url;
	cs_run(&s);
	TH_CHECK_EQ_INT(s.err, GH_HTTPC_ECLOSED);
	TH_CHECK_EQ_STR(s.errstr, "cancelled");
	TH_CHECK_EQ_INT(s.datas, 1);

	for (int round = 0; round < 2; round++) {
		TH_TEST(round == 0 ? "client: a backend dying mid-body: head, 7 bytes, then an error" :
		    "client: a body delimited by the connection's close is complete");
		dying_answer = round == 0 ? "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial" :
		    "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabcdefg";
		dying_fd = socket(AF_INET, SOCK_STREAM, 0);
		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		bind(dying_fd, (struct sockaddr *)&sa, sizeof(sa));
		listen(dying_fd, 4);
		getsockname(dying_fd, (struct sockaddr *)&sa, &sl);
		pthread_create(&t, NULL, dying_main, NULL);
		memset(&s, 0, sizeof(s));
		s.c = c;
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", ntohs(sa.sin_port));
		s.url = url;
		cs_run(&s);
		pthread_join(t, NULL);
		close(dying_fd);
		TH_CHECK_EQ_INT(s.heads, 1);
		TH_CHECK_EQ_INT(s.status, 200);
		TH_CHECK_EQ_INT(s.got, 7);
		TH_CHECK_EQ_INT(s.err, round == 0 ? GH_HTTPC_ECLOSED : GH_HTTPC_OK);
		TH_CHECK(round == 0 || s.pattern_ok);
	}

	th_loop_run(client_free, c);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	gh_log_init("test_http_stream", 2, GH_LOG_WARN);
	th_loop_start();
	th_loop_run(start_server, NULL);
	test_server();
	test_client();
	th_loop_run(stop_server, NULL);
	th_loop_stop();
	TH_END();
}
