/*
 * Streamed request bodies of the core HTTP server (req->stream_body set
 * by the head hook): the handler runs after the head and gets the body
 * in pieces, with Content-Length and chunked framing; the body limit
 * refuses with 413 as bytes arrive (before the handler when declared);
 * an early response closes the connection so the unread body is never
 * parsed as a request; a paused delivery holds a bounded amount and
 * stops reading; a body read whole keeps the connection alive.
 */
#include <fcntl.h>
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

/* Counters shared with the loop thread (atomics). */
static int handled;         /* handler calls */
static int smuggled;        /* requests to /smuggled */
static int aborts;          /* on_abort calls */
static int ends;            /* on_body_end calls */
static int stream_seen;     /* the last handler saw req->stream_body */
static size_t delivered;    /* bytes given to on_body for the current request */
static size_t max_piece;    /* largest on_body piece */
static struct gh_http_req *held;  /* /s/pause: the request whose delivery is paused */

static char
pat(size_t off)
{
	return (char)('a' + off % 26);
}

struct up {
	size_t n;
	int pattern_ok;
	int pause_after_first;
};

static void
up_body(struct gh_http_req *req, const void *data, size_t len, void *arg)
{
	struct up *u = arg;
	const char *d = data;

	for (size_t i = 0; i < len; i++)
		if (d[i] != pat(u->n + i))
			u->pattern_ok = 0;
	u->n += len;
	__atomic_store_n(&delivered, u->n, __ATOMIC_RELEASE);
	if (len > __atomic_load_n(&max_piece, __ATOMIC_ACQUIRE))
		__atomic_store_n(&max_piece, len, __ATOMIC_RELEASE);
	if (u->pause_after_first) {
		u->pause_after_first = 0;
		__atomic_store_n(&held, req, __ATOMIC_RELEASE);
		gh_http_req_pause_body(req, 1);
	}
}

static void
up_end(struct gh_http_req *req, void *arg)
{
	struct up *u = arg;
	char out[64];

	__atomic_add_fetch(&ends, 1, __ATOMIC_ACQ_REL);
	__atomic_store_n(&held, NULL, __ATOMIC_RELEASE);
	snprintf(out, sizeof(out), "n=%zu ok=%d", u->n, u->pattern_ok);
	free(u);
	gh_http_respond(req, 200, "text/plain", out, strlen(out));
}

static void
up_abort(struct gh_http_req *req, void *arg)
{
	(void)req;
	__atomic_add_fetch(&aborts, 1, __ATOMIC_ACQ_REL);
	__atomic_store_n(&held, NULL, __ATOMIC_RELEASE);
	free(arg);
}

static void
head_hook(struct gh_http_req *req, void *arg)
{
	(void)arg;
	if (strncmp(req->path, "/s/", 3) == 0)
		req->stream_body = 1;
	if (strcmp(req->path, "/s/limit") == 0)
		req->max_body_bytes = 100000;
}

static void
handler(struct gh_http_req *req, void *arg)
{
	struct up *u;

	(void)arg;
	__atomic_add_fetch(&handled, 1, __ATOMIC_ACQ_REL);
	__atomic_store_n(&stream_seen, req->stream_body, __ATOMIC_RELEASE);
	if (strcmp(req->path, "/smuggled") == 0) {
		__atomic_add_fetch(&smuggled, 1, __ATOMIC_ACQ_REL);
		gh_http_respond(req, 200, "text/plain", "smuggled", 8);
		return;
	}
	if (strcmp(req->path, "/s/early") == 0) {
		gh_http_respond_error(req, 401, "Unauthorized", "no credentials");
		return;
	}
	if (!req->stream_body) {
		char out[64];

		snprintf(out, sizeof(out), "buffered=%zu", req->body_len);
		gh_http_respond(req, 200, "text/plain", out, strlen(out));
		return;
	}
	u = calloc(1, sizeof(*u));
	u->pattern_ok = 1;
	u->pause_after_first = strcmp(req->path, "/s/pause") == 0;
	__atomic_store_n(&delivered, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&max_piece, 0, __ATOMIC_RELEASE);
	req->on_body = up_body;
	req->on_body_end = up_end;
	req->body_arg = u;
	req->on_abort = up_abort;
	req->abort_arg = u;
	gh_http_req_pause_body(req, 0);
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
	cfg.head_hook = head_hook;
	cfg.limits.max_body_bytes = 64 << 20;
	cfg.limits.body_timeout_ms = 2000;
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

static void
resume_held(void *arg)
{
	(void)arg;
	if (held != NULL)
		gh_http_req_pause_body(held, 0);
}

/* ---- raw client ---- */

static int
cli_open(void)
{
	struct th_cli c;

	memset(&c, 0, sizeof(c));
	if (th_cli_open(&c, port) != 0)
		return -1;
	return c.fd;
}

static int
send_all(int fd, const void *p, size_t n)
{
	struct th_cli c = { .fd = fd };

	return th_cli_send(&c, p, n);
}

static int
send_s(int fd, const char *s)
{
	return send_all(fd, s, strlen(s));
}

/* Send n pattern bytes from offset off, as one chunk when chunked. */
static int
send_pattern(int fd, size_t off, size_t n, int chunked)
{
	char buf[65536], hdr[32];

	if (chunked) {
		snprintf(hdr, sizeof(hdr), "%zx\r\n", n);
		if (send_all(fd, hdr, strlen(hdr)) < 0)
			return -1;
	}
	while (n > 0) {
		size_t k = n < sizeof(buf) ? n : sizeof(buf);

		for (size_t i = 0; i < k; i++)
			buf[i] = pat(off + i);
		if (send_all(fd, buf, k) < 0)
			return -1;
		off += k;
		n -= k;
	}
	return chunked ? send_s(fd, "\r\n") : 0;
}

/*
 * Read one response (head and a Content-Length body) into out; *closed
 * tells whether the connection closed right after it.  0 ok, -1 none.
 */
static int
read_resp(int fd, char *out, size_t outlen, int *closed)
{
	size_t len = 0, need = 0;
	char *e;
	ssize_t n;

	*closed = 0;
	out[0] = '\0';
	for (;;) {
		if (len + 1 >= outlen)
			return -1;
		n = recv(fd, out + len, outlen - len - 1, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
		out[len] = '\0';
		e = strstr(out, "\r\n\r\n");
		if (e != NULL && need == 0) {
			const char *cl = strcasestr(out, "content-length: ");
			need = (size_t)(e - out) + 4 + (cl ? strtoul(cl + 16, NULL, 10) : 0);
		}
		if (need > 0 && len >= need)
			break;
	}
	if (need == 0 || len < need)
		return -1;
	/* Closed after it? */
	{
		char c;
		struct timeval tv = { 2, 0 };

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		n = recv(fd, &c, 1, 0);
		*closed = n == 0 || (n < 0 && errno == ECONNRESET);
	}
	return 0;
}

/* Like read_resp but without waiting to see the close (keep-alive checks). */
static int
read_one(int fd, char *out, size_t outlen)
{
	size_t len = 0, need = 0;
	char *e;
	ssize_t n;

	for (;;) {
		if (len + 1 >= outlen)
			return -1;
		n = recv(fd, out + len, outlen - len - 1, 0);
		if (n <= 0)
			return -1;
		len += (size_t)n;
		out[len] = '\0';
		e = strstr(out, "\r\n\r\n");
		if (e != NULL && need == 0) {
			const char *cl = strcasestr(out, "content-length: ");
			need = (size_t)(e - out) + 4 + (cl ? strtoul(cl + 16, NULL, 10) : 0);
		}
		if (need > 0 && len >= need)
			return 0;
	}
}

static int
getn(int *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void
test_upload(int chunked)
{
	char head[256], resp[4096], want[64];
	size_t total = 3 << 20;
	int fd, closed;

	TH_TEST(chunked ? "chunked body delivered in pieces, read whole, keep-alive" :
	    "Content-Length body delivered in pieces, read whole, keep-alive");
	fd = cli_open();
	if (chunked)
		snprintf(head, sizeof(head), "POST /s/echo HTTP/1.1\r\nHost: a\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n");
	else
		snprintf(head, sizeof(head), "POST /s/echo HTTP/1.1\r\nHost: a\r\n"
		    "Content-Length: %zu\r\n\r\n", total);
	send_all(fd, head, strlen(head));
	for (size_t off = 0; off < total; off += 1 << 20)
		send_pattern(fd, off, 1 << 20, chunked);
	if (chunked)
		send_s(fd, "0\r\n\r\n");
	TH_CHECK(read_one(fd, resp, sizeof(resp)) == 0);
	TH_CHECK(strncmp(resp, "HTTP/1.1 200 ", 13) == 0);
	snprintf(want, sizeof(want), "n=%zu ok=1", total);
	TH_CHECK_MSG(strstr(resp, want) != NULL, "%s", resp);
	TH_CHECK(strcasestr(resp, "connection: close") == NULL);
	TH_CHECK(getn(&stream_seen) == 1);
	TH_CHECK(__atomic_load_n(&max_piece, __ATOMIC_ACQUIRE) <= GH_HTTP_BODY_BUFFER);
	/* The same connection serves the next request. */
	send_s(fd, "GET /s/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
	TH_CHECK(read_resp(fd, resp, sizeof(resp), &closed) == 0);
	TH_CHECK_MSG(strstr(resp, "buffered=0") != NULL, "%s", resp);
	TH_CHECK(getn(&stream_seen) == 0);
	close(fd);
}

static void
test_server(void)
{
	char resp[4096];
	int fd, closed, h0, a0, e0;
	size_t sent, d1;
	long t0;

	test_upload(0);
	test_upload(1);

	TH_TEST("the default mode is buffered (no stream_body from the hook)");
	fd = cli_open();
	send_s(fd, "POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
	    "Connection: close\r\n\r\nhello");
	TH_CHECK(read_resp(fd, resp, sizeof(resp), &closed) == 0);
	TH_CHECK_MSG(strstr(resp, "buffered=5") != NULL, "%s", resp);
	close(fd);

	TH_TEST("early response: the connection closes, the unread body is never a request");
	h0 = getn(&handled);
	fd = cli_open();
	send_s(fd, "POST /s/early HTTP/1.1\r\nHost: a\r\nContent-Length: 200\r\n\r\n"
	    "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n");
	TH_CHECK(read_resp(fd, resp, sizeof(resp), &closed) == 0);
	TH_CHECK(strncmp(resp, "HTTP/1.1 401 ", 13) == 0);
	TH_CHECK(strcasestr(resp, "connection: close") != NULL);
	TH_CHECK(closed);
	TH_CHECK_EQ_INT(getn(&smuggled), 0);
	TH_CHECK_EQ_INT(getn(&handled), h0 + 1);
	close(fd);

	TH_TEST("chunked early response: same");
	fd = cli_open();
	send_s(fd, "POST /s/early HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "5\r\nhello\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n");
	TH_CHECK(read_resp(fd, resp, sizeof(resp), &closed) == 0);
	TH_CHECK(strncmp(resp, "HTTP/1.1 401 ", 13) == 0);
	TH_CHECK(closed);
	TH_CHECK_EQ_INT(getn(&smuggled), 0);
	close(fd);

	TH_TEST("a declared Content-Length over the limit: 413 before the handler");
	h0 = getn(&handled);
	fd = cli_open();
	send_s(fd, "POST /s/limit HTTP/1.1\r\nHost: a\r\nContent-Length: 200000\r\n\r\n");
	TH_CHECK(read_resp(fd, resp, sizeof(resp), &closed) == 0);
	TH_CHECK(strncmp(resp, "HTTP/1.1 413 ", 13) == 0);
	TH_CHECK(closed);
	TH_CHECK_EQ_INT(getn(&handled), h0);
	close(fd);

	TH_TEST("a chunked body over the limit: on_abort, then 413 and close, mid-stream");
	h0 = getn(&handled);
	a0 = getn(&aborts);
	e0 = getn(&ends);
	fd = cli_open();
	send_s(fd, "POST /s/limit HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
	send_pattern(fd, 0, 60000, 1);
	send_pattern(fd, 60000, 60000, 1);
	TH_CHECK(read_resp(fd, resp, sizeof(resp), &closed) == 0);
	TH_CHECK_MSG(strncmp(resp, "HTTP/1.1 413 ", 13) == 0, "%s", resp);
	TH_CHECK(closed);
	TH_CHECK_EQ_INT(getn(&handled), h0 + 1);
	TH_CHECK_EQ_INT(getn(&aborts), a0 + 1);
	TH_CHECK_EQ_INT(getn(&ends), e0);
	TH_CHECK(__atomic_load_n(&delivered, __ATOMIC_ACQUIRE) <= 100000);
	close(fd);

	TH_TEST("a body that stops: 408 after body_timeout_ms, on_abort");
	a0 = getn(&aborts);
	fd = cli_open();
	send_s(fd, "POST /s/echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nabc");
	t0 = th_now_ms();
	TH_CHECK(read_resp(fd, resp, sizeof(resp), &closed) == 0);
	TH_CHECK_MSG(strncmp(resp, "HTTP/1.1 408 ", 13) == 0, "%s", resp);
	TH_CHECK(th_now_ms() - t0 >= 1500);
	TH_CHECK_EQ_INT(getn(&aborts), a0 + 1);
	close(fd);

	TH_TEST("paused delivery: reading stops (bounded), resumes, the body arrives whole");
	{
		size_t total = 16 << 20;
		char head[128], buf[65536];
		int fl, sndbuf = 16384;

		fd = cli_open();
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		snprintf(head, sizeof(head), "POST /s/pause HTTP/1.1\r\nHost: a\r\n"
		    "Content-Length: %zu\r\n\r\n", total);
		send_all(fd, head, strlen(head));
		fl = fcntl(fd, F_GETFL);
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
		sent = 0;
		t0 = th_now_ms();
		/* Push until the socket stays full for 500 ms. */
		for (long last = t0; th_now_ms() - last < 500 && sent < total;) {
			size_t k = total - sent < sizeof(buf) ? total - sent : sizeof(buf);
			ssize_t w;

			for (size_t i = 0; i < k; i++)
				buf[i] = pat(sent + i);
			w = send(fd, buf, k, MSG_NOSIGNAL);
			if (w > 0) {
				sent += (size_t)w;
				last = th_now_ms();
			} else {
				usleep(10000);
			}
		}
		d1 = __atomic_load_n(&delivered, __ATOMIC_ACQUIRE);
		TH_CHECK_MSG(sent < total / 2, "sent %zu", sent);
		TH_CHECK_MSG(d1 > 0 && d1 <= GH_HTTP_BODY_BUFFER, "delivered %zu", d1);
		/* Paused longer than body_timeout_ms: no 408 while paused. */
		usleep(2500 * 1000);
		TH_CHECK(__atomic_load_n(&held, __ATOMIC_ACQUIRE) != NULL);
		th_loop_run(resume_held, NULL);
		fcntl(fd, F_SETFL, fl);
		TH_CHECK(send_pattern(fd, sent, total - sent, 0) == 0);
		TH_CHECK(read_one(fd, resp, sizeof(resp)) == 0);
		snprintf(head, sizeof(head), "n=%zu ok=1", total);
		TH_CHECK_MSG(strstr(resp, head) != NULL, "%s", resp);
		close(fd);
	}

	TH_TEST("client gone mid-body: on_abort");
	a0 = getn(&aborts);
	fd = cli_open();
	send_s(fd, "POST /s/echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nabc");
	usleep(100000);
	close(fd);
	for (int i = 0; i < 100 && getn(&aborts) == a0; i++)
		usleep(10000);
	TH_CHECK_EQ_INT(getn(&aborts), a0 + 1);

	TH_TEST("a streamed request without a body is a buffered one");
	fd = cli_open();
	send_s(fd, "POST /s/x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n"
	    "Connection: close\r\n\r\n");
	TH_CHECK(read_resp(fd, resp, sizeof(resp), &closed) == 0);
	TH_CHECK_MSG(strstr(resp, "buffered=0") != NULL, "%s", resp);
	TH_CHECK(getn(&stream_seen) == 0);
	close(fd);
}

/* ---- client: an upload pushed with gh_httpc_call_write ---- */

struct cu {
	struct gh_httpc *c;
	struct gh_httpc_call *call;
	long long declared;         /* -1 chunked */
	size_t total, off;
	int drains, waits, over, short_end;
	int status, done, err;
	char body[128];
	size_t blen;
};

static void
cu_produce(struct cu *u)
{
	char buf[32768];

	while (u->off < u->total) {
		size_t k = u->total - u->off < sizeof(buf) ? u->total - u->off : sizeof(buf);
		int rc;

		for (size_t i = 0; i < k; i++)
			buf[i] = pat(u->off + i);
		rc = gh_httpc_call_write(u->call, buf, k);
		if (rc < 0)
			return;
		u->off += k;
		if (rc > 0) {
			u->waits++;
			return;
		}
	}
	if (u->declared >= 0) {
		u->over = gh_httpc_call_write(u->call, "x", 1);
	} else {
		u->over = 0;
	}
	gh_httpc_call_write_end(u->call);
}

static void
cu_drain(void *arg)
{
	struct cu *u = arg;

	u->drains++;
	cu_produce(u);
}

static int
cu_head(const struct gh_httpc_resp *resp, void *arg)
{
	((struct cu *)arg)->status = resp->status;
	return 0;
}

static int
cu_data(const void *data, size_t len, void *arg)
{
	struct cu *u = arg;
	size_t k = len < sizeof(u->body) - 1 - u->blen ? len : sizeof(u->body) - 1 - u->blen;

	memcpy(u->body + u->blen, data, k);
	u->blen += k;
	u->body[u->blen] = '\0';
	return 0;
}

static void
cu_done(enum gh_httpc_err err, const char *errstr, void *arg)
{
	struct cu *u = arg;

	(void)errstr;
	u->err = err;
	__atomic_store_n(&u->done, 1, __ATOMIC_RELEASE);
}

static const struct gh_httpc_stream cu_stream = { cu_head, cu_data, cu_done };

static void
cu_start(void *arg)
{
	struct cu *u = arg;
	char url[64];
	struct gh_http_header h = { "X-Up", "1" };

	u->c = gh_httpc_new(th_base, NULL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/s/echo", port);
	if (gh_httpc_request_upload(u->c, NULL, "POST", url, &h, 1, u->declared, cu_drain,
	    &cu_stream, u, &u->call) != 0) {
		u->err = -1;
		__atomic_store_n(&u->done, 1, __ATOMIC_RELEASE);
		return;
	}
	if (u->short_end) {
		char b[10];

		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = pat(i);
		gh_httpc_call_write(u->call, b, sizeof(b));
		u->short_end = gh_httpc_call_write_end(u->call);
		return;
	}
	cu_produce(u);
}

static void
cu_free(void *arg)
{
	gh_httpc_free(((struct cu *)arg)->c);
}

static void
cu_run(struct cu *u)
{
	th_loop_run(cu_start, u);
	for (int i = 0; i < 1000 && !__atomic_load_n(&u->done, __ATOMIC_ACQUIRE); i++)
		usleep(10000);
	th_loop_run(cu_free, u);
}

static void
test_client(void)
{
	char want[64];

	for (int chunked = 0; chunked < 2; chunked++) {
		struct cu u;

		TH_TEST(chunked ? "client upload, chunked: the server reads it whole, backpressure" :
		    "client upload, Content-Length: the server reads it whole, backpressure");
		memset(&u, 0, sizeof(u));
		u.total = 8 << 20;
		u.declared = chunked ? -1 : (long long)u.total;
		cu_run(&u);
		TH_CHECK(u.done);
		TH_CHECK_EQ_INT(u.err, GH_HTTPC_OK);
		TH_CHECK_EQ_INT(u.status, 200);
		snprintf(want, sizeof(want), "n=%zu ok=1", u.total);
		TH_CHECK_MSG(strcmp(u.body, want) == 0, "%s", u.body);
		TH_CHECK(u.waits > 0 && u.drains == u.waits);
		TH_CHECK(chunked || u.over == -1);
	}

	{
		struct cu u;

		TH_TEST("client upload: ending short of Content-Length is refused");
		memset(&u, 0, sizeof(u));
		u.declared = 100;
		u.short_end = 1;
		th_loop_run(cu_start, &u);
		TH_CHECK_EQ_INT(u.short_end, -1);
		th_loop_run(cu_free, &u);
		TH_CHECK(u.done);
		TH_CHECK(u.err != GH_HTTPC_OK);
	}
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	gh_log_init("test_http_reqstream", 2, GH_LOG_WARN);
	th_loop_start();
	th_loop_run(start_server, NULL);
	test_server();
	test_client();
	th_loop_run(stop_server, NULL);
	th_loop_stop();
	TH_END();
}
