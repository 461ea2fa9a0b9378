/*
 * The HTTP server's socket I/O (http_io.c) over TLS and plain TCP, with
 * the same scenarios on both: many requests on one connection, responses
 * and request bodies of megabytes against a client that does not read for
 * a while (the write side waits for the socket), streamed responses with
 * back-pressure, pipelined requests past the input's high-water mark (TLS
 * bytes read ahead by OpenSSL), requests cut into one-byte TLS records,
 * close_notify on close, a client's close_notify after its request, session
 * resumption, renegotiation refused, a TLS 1.3 key update, the handshake
 * and write timeouts, and the before_send hook running before a response
 * leaves.  argv[1]: a folder holding server.pem and server.key.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/gh_http.h"
#include "core/gh_tls.h"
#include "th.h"
#include "th_http.h"

#define BIG (4u << 20)

static SSL_CTX *sctx, *cctx;
static struct gh_http_server *s_tls, *s_plain, *s_tls_short, *s_plain_short, *s_hook[2];
static int p_tls, p_plain, p_tls_short, p_plain_short, p_hook[2];
static int hook_calls;                  /* loop thread only */

/* before_send: counts, and holds the loop 150 ms (the response must wait for it). */
static void
hook(void *arg)
{
	(void)arg;
	hook_calls++;
	usleep(150 * 1000);
}

/* The byte at offset i of every generated body. */
static unsigned char
pat(size_t i)
{
	return (unsigned char)('a' + (i * 7 + i / 251) % 26);
}

static size_t
query_n(const struct gh_http_req *req)
{
	const char *q = req->query;

	return q != NULL && strncmp(q, "n=", 2) == 0 ? strtoul(q + 2, NULL, 10) : 0;
}

/* A streamed response: pieces of 64 KiB, waiting for on_drain when told to. */
struct stream {
	struct gh_http_req *req;
	size_t n, sent;
};

static void
stream_go(struct gh_http_req *req, void *arg)
{
	struct stream *st = arg;
	unsigned char piece[65536];

	while (st->sent < st->n) {
		size_t k = st->n - st->sent < sizeof(piece) ? st->n - st->sent : sizeof(piece);
		int rc;

		for (size_t i = 0; i < k; i++)
			piece[i] = pat(st->sent + i);
		st->sent += k;
		rc = gh_http_respond_write(req, piece, k);
		if (rc < 0)
			break;
		if (rc == 1)
			return;         /* on_drain goes on */
	}
	gh_http_respond_end(req);
	free(st);
}

static void
stream_abort(struct gh_http_req *req, void *arg)
{
	(void)req;
	free(arg);
}

static void
handler(struct gh_http_req *req, void *arg)
{
	char b[128];
	int n;

	(void)arg;
	if (strcmp(req->path, "/big") == 0) {
		size_t len = query_n(req);
		unsigned char *body = malloc(len + 1);

		if (body == NULL) {
			gh_http_respond_error(req, 500, NULL, "no memory");
			return;
		}
		for (size_t i = 0; i < len; i++)
			body[i] = pat(i);
		gh_http_respond(req, 200, "application/octet-stream", body, len);
		free(body);
		return;
	}
	if (strcmp(req->path, "/stream") == 0) {
		struct stream *st = calloc(1, sizeof(*st));

		if (st == NULL || gh_http_respond_start(req, 200, "application/octet-stream",
		    (long long)query_n(req)) != 0) {
			free(st);
			gh_http_respond_error(req, 500, NULL, "cannot stream");
			return;
		}
		st->req = req;
		st->n = query_n(req);
		req->on_drain = stream_go;
		req->drain_arg = st;
		req->on_abort = stream_abort;
		req->abort_arg = st;
		stream_go(req, st);
		return;
	}
	if (strcmp(req->path, "/echo") == 0) {
		unsigned long sum = 0;

		for (size_t i = 0; i < req->body_len; i++)
			sum = sum * 31 + req->body[i];
		n = snprintf(b, sizeof(b), "%zu %lu", req->body_len, sum);
		gh_http_respond(req, 200, "text/plain", b, (size_t)n);
		return;
	}
	n = snprintf(b, sizeof(b), "%s tls=%d", req->path, req->tls);
	gh_http_respond(req, 200, "text/plain", b, (size_t)n);
}

static struct gh_http_server *
start_one(SSL_CTX *ssl, int short_timeouts, int *port, void (*before)(void *))
{
	struct gh_http_server_cfg cfg;
	struct gh_http_server *s;
	char err[256];

	memset(&cfg, 0, sizeof(cfg));
	cfg.name = "tls-io-test";
	gh_http_limits_default(&cfg.limits);
	cfg.limits.max_body_bytes = 8u << 20;
	if (short_timeouts) {
		cfg.limits.header_timeout_ms = 500;
		cfg.limits.idle_timeout_ms = 500;
	}
	cfg.ssl = ssl;
	cfg.handler = handler;
	cfg.no_access_log = 1;
	cfg.before_send = before;
	s = gh_http_server_new(th_base, &cfg);
	if (s == NULL || gh_http_server_listen(s, "127.0.0.1", 0, err, sizeof(err)) < 0) {
		fprintf(stderr, "listen: %s\n", err);
		*port = -1;
		return s;
	}
	*port = gh_http_server_port(s);
	return s;
}

static void
start_servers(void *arg)
{
	(void)arg;
	s_tls = start_one(sctx, 0, &p_tls, NULL);
	s_plain = start_one(NULL, 0, &p_plain, NULL);
	s_tls_short = start_one(sctx, 1, &p_tls_short, NULL);
	s_plain_short = start_one(NULL, 1, &p_plain_short, NULL);
	s_hook[0] = start_one(NULL, 0, &p_hook[0], hook);
	s_hook[1] = start_one(sctx, 0, &p_hook[1], hook);
}

static void
free_servers(void *arg)
{
	(void)arg;
	gh_http_server_free(s_tls);
	gh_http_server_free(s_plain);
	gh_http_server_free(s_tls_short);
	gh_http_server_free(s_plain_short);
	gh_http_server_free(s_hook[0]);
	gh_http_server_free(s_hook[1]);
}

/* ---- a client that sends and reads at once (non-blocking) --------------- */

struct dbuf {
	unsigned char *p;
	size_t len, cap;
};

/* Connect (TLS when tls); 0 ok.  sess: a session to resume, or NULL. */
static int
cli_open(struct th_cli *c, int port, int tls, SSL_SESSION *sess)
{
	if (th_cli_open(c, port) < 0)
		return -1;
	if (!tls)
		return 0;
	c->ssl = SSL_new(cctx);
	SSL_set_fd(c->ssl, c->fd);
	if (sess != NULL)
		SSL_set_session(c->ssl, sess);
	if (SSL_connect(c->ssl) != 1) {
		ERR_clear_error();
		return -1;
	}
	return 0;
}

/*
 * The end of the complete responses at the start of b (Content-Length
 * framed, as the handler answers), their count in *count; *closed_at: 1
 * when one said Connection: close.
 */
static size_t
responses(const struct dbuf *b, int *count, int *close_seen)
{
	size_t off = 0;

	*count = 0;
	*close_seen = 0;
	for (;;) {
		const unsigned char *h = b->p + off, *e, *cl;
		size_t hl, clen = 0;

		if (b->len - off < 4 || (e = memmem(h, b->len - off, "\r\n\r\n", 4)) == NULL)
			return off;
		hl = (size_t)(e - h) + 4;
		cl = memmem(h, hl, "Content-Length: ", 16);
		if (cl != NULL)
			clen = strtoul((const char *)cl + 16, NULL, 10);
		if (b->len - off < hl + clen)
			return off;
		if (memmem(h, hl, "Connection: close", 17) != NULL)
			*close_seen = 1;
		off += hl + clen;
		(*count)++;
	}
}

/*
 * Send out[0..n) and read into in at the same time until want responses
 * are complete (want 0: until the end of the stream), the connection ends
 * or ms pass.  delay_ms: read nothing for that long first.  Returns 0 when
 * everything was sent and want responses came; sets *eof when the stream
 * ended (*eof 2: with close_notify).
 */
static int
xfer(struct th_cli *c, const void *out, size_t n, struct dbuf *in, int want, int delay_ms,
    int ms, int *eof)
{
	const unsigned char *o = out;
	size_t sent = 0;
	long start = th_now_ms();
	int fl = fcntl(c->fd, F_GETFL), count = 0, cs;

	*eof = 0;
	fcntl(c->fd, F_SETFL, fl | O_NONBLOCK);
	for (;;) {
		struct pollfd pfd = { c->fd, 0, 0 };
		int progress = 0, reading = th_now_ms() - start >= delay_ms;

		if (sent < n) {
			size_t k = n - sent < 16384 ? n - sent : 16384;
			ssize_t w;

			if (c->ssl != NULL) {
				int r = SSL_write(c->ssl, o + sent, (int)k);
				w = r > 0 ? r : (SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_WRITE ||
				    SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_READ) ? 0 : -1;
			} else {
				w = send(c->fd, o + sent, k, MSG_NOSIGNAL);
				if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
					w = 0;
			}
			if (w < 0)
				break;
			sent += (size_t)w;
			progress |= w > 0;
		}
		while (reading) {
			ssize_t r;

			if (in->cap - in->len < 65536) {
				size_t cap = in->cap ? in->cap * 2 : 1u << 20;
				unsigned char *p = realloc(in->p, cap);

				if (p == NULL)
					goto out;
				in->p = p;
				in->cap = cap;
			}
			if (c->ssl != NULL) {
				int rr = SSL_read(c->ssl, in->p + in->len, 65536), err;

				if (rr > 0) {
					r = rr;
				} else if ((err = SSL_get_error(c->ssl, rr)) == SSL_ERROR_WANT_READ ||
				    err == SSL_ERROR_WANT_WRITE) {
					break;
				} else {
					*eof = err == SSL_ERROR_ZERO_RETURN ? 2 : 1;
					ERR_clear_error();
					goto out;
				}
			} else {
				r = recv(c->fd, in->p + in->len, 65536, 0);
				if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
					break;
				if (r <= 0) {
					*eof = 1;
					goto out;
				}
			}
			in->len += (size_t)r;
			progress = 1;
		}
		responses(in, &count, &cs);
		if (sent == n && want > 0 && count >= want)
			break;
		if (th_now_ms() - start > ms)
			break;
		if (!progress) {
			pfd.events = (short)((sent < n ? POLLOUT : 0) | (reading ? POLLIN : 0));
			poll(&pfd, 1, reading ? 20 : 5);
		}
	}
out:
	fcntl(c->fd, F_SETFL, fl);
	responses(in, &count, &cs);
	return sent == n && (want == 0 || count >= want) ? 0 : -1;
}

/* The body of the single response in b: length and whether every byte is pat(i). */
static int
body_ok(const struct dbuf *b, size_t want_len)
{
	const unsigned char *e = b->len >= 4 ? memmem(b->p, b->len, "\r\n\r\n", 4) : NULL;
	size_t hl;

	if (e == NULL || memcmp(b->p, "HTTP/1.1 200 ", 13) != 0)
		return 0;
	hl = (size_t)(e - b->p) + 4;
	if (b->len - hl != want_len)
		return 0;
	for (size_t i = 0; i < want_len; i++)
		if (b->p[hl + i] != pat(i))
			return 0;
	return 1;
}

/* ---- the scenarios, on TLS (tls 1) and plain TCP (tls 0) ---------------- */

static void
scenarios(int tls)
{
	int port = tls ? p_tls : p_plain, eof, count, cs;
	const char *kind = tls ? "TLS" : "plain";
	struct th_cli c;
	struct dbuf in = { NULL, 0, 0 };
	char name[128], req[256];

	snprintf(name, sizeof(name), "%s: 200 requests on one connection", kind);
	TH_TEST(name);
	TH_CHECK(cli_open(&c, port, tls, NULL) == 0);
	for (int i = 0; i < 200; i++) {
		struct th_resp r;
		char want[64];

		snprintf(req, sizeof(req), "GET /r%d HTTP/1.1\r\nHost: x\r\n\r\n", i);
		snprintf(want, sizeof(want), "/r%d tls=%d", i, tls);
		if (th_cli_sends(&c, req) != 0 || th_cli_read_resp(&c, &r, 0) != 0 ||
		    r.status != 200 || strcmp(r.body, want) != 0) {
			TH_CHECK_MSG(0, "request %d: %s", i, r.body);
			break;
		}
		if (i == 199)
			TH_CHECK(1);
	}
	th_cli_close(&c);

	snprintf(name, sizeof(name), "%s: a 4 MiB response read after a pause", kind);
	TH_TEST(name);
	in.len = 0;
	TH_CHECK(cli_open(&c, port, tls, NULL) == 0);
	snprintf(req, sizeof(req), "GET /big?n=%u HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", BIG);
	TH_CHECK(xfer(&c, req, strlen(req), &in, 0, 300, 10000, &eof) == 0);
	TH_CHECK_MSG(body_ok(&in, BIG), "%zu bytes", in.len);
	TH_CHECK_EQ_INT(eof, tls ? 2 : 1);
	th_cli_close(&c);

	snprintf(name, sizeof(name), "%s: a 4 MiB streamed response with back-pressure", kind);
	TH_TEST(name);
	in.len = 0;
	TH_CHECK(cli_open(&c, port, tls, NULL) == 0);
	snprintf(req, sizeof(req), "GET /stream?n=%u HTTP/1.1\r\nHost: x\r\n\r\n", BIG);
	TH_CHECK(xfer(&c, req, strlen(req), &in, 1, 300, 10000, &eof) == 0);
	TH_CHECK_MSG(body_ok(&in, BIG), "%zu bytes", in.len);
	TH_CHECK_EQ_INT(eof, 0);
	th_cli_close(&c);

	snprintf(name, sizeof(name), "%s: a 3 MiB request body sent while the response is read", kind);
	TH_TEST(name);
	{
		size_t blen = 3u << 20, hl;
		char *msg = malloc(blen + 256), want[64];
		unsigned long sum = 0;

		hl = (size_t)snprintf(msg, 256, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", blen);
		for (size_t i = 0; i < blen; i++) {
			msg[hl + i] = (char)pat(i);
			sum = sum * 31 + pat(i);
		}
		in.len = 0;
		TH_CHECK(cli_open(&c, port, tls, NULL) == 0);
		TH_CHECK(xfer(&c, msg, hl + blen, &in, 1, 0, 10000, &eof) == 0);
		snprintf(want, sizeof(want), "\r\n\r\n%zu %lu", blen, sum);
		TH_CHECK(in.len > strlen(want) && memcmp(in.p + in.len - strlen(want), want, strlen(want)) == 0);
		th_cli_close(&c);
		free(msg);
	}

	snprintf(name, sizeof(name), "%s: 300 pipelined requests of 1 KiB (past the input's high-water mark)", kind);
	TH_TEST(name);
	{
		size_t one, total = 0;
		char pad[1001], *all = malloc(300 * 1200);

		memset(pad, 'p', 1000);
		pad[1000] = '\0';
		for (int i = 0; i < 300; i++) {
			one = (size_t)snprintf(all + total, 1200, "GET /p%d HTTP/1.1\r\nHost: x\r\nX-Pad: %s\r\n%s\r\n",
			    i, pad, i == 299 ? "Connection: close\r\n" : "");
			total += one;
		}
		in.len = 0;
		TH_CHECK(cli_open(&c, port, tls, NULL) == 0);
		xfer(&c, all, total, &in, 0, 200, 10000, &eof);
		responses(&in, &count, &cs);
		TH_CHECK_EQ_INT(count, 300);
		TH_CHECK(cs);
		TH_CHECK(in.len > 20 && memmem(in.p, in.len, "/p299 tls=", 10) != NULL);
		TH_CHECK_EQ_INT(eof, tls ? 2 : 1);
		th_cli_close(&c);
		free(all);
	}

	snprintf(name, sizeof(name), "%s: the client ends its stream after its request", kind);
	TH_TEST(name);
	in.len = 0;
	TH_CHECK(cli_open(&c, port, tls, NULL) == 0);
	TH_CHECK(th_cli_sends(&c, "GET /half HTTP/1.1\r\nHost: x\r\n\r\n") == 0);
	if (tls)
		SSL_shutdown(c.ssl);
	else
		shutdown(c.fd, SHUT_WR);
	xfer(&c, "", 0, &in, 0, 0, 5000, &eof);
	responses(&in, &count, &cs);
	TH_CHECK_EQ_INT(count, 1);
	TH_CHECK(in.len > 10 && memmem(in.p, in.len, "/half tls=", 10) != NULL);
	TH_CHECK(eof != 0);
	th_cli_close(&c);

	snprintf(name, sizeof(name), "%s: a response the client never reads is given up after the write timeout", kind);
	TH_TEST(name);
	{
		long t0;

		in.len = 0;
		TH_CHECK(cli_open(&c, tls ? p_tls_short : p_plain_short, tls, NULL) == 0);
		snprintf(req, sizeof(req), "GET /big?n=%u HTTP/1.1\r\nHost: x\r\n\r\n", 64u << 20);
		TH_CHECK(th_cli_sends(&c, req) == 0);
		usleep(2000 * 1000);
		t0 = th_now_ms();
		xfer(&c, "", 0, &in, 0, 0, 20000, &eof);
		TH_CHECK_MSG(eof != 0 && in.len < (64u << 20), "eof %d, %zu bytes", eof, in.len);
		TH_CHECK(th_now_ms() - t0 < 15000);
		th_cli_close(&c);
	}

	snprintf(name, sizeof(name), "%s: a connection that sends nothing is closed after the head timeout", kind);
	TH_TEST(name);
	{
		long t0 = th_now_ms();

		TH_CHECK(th_cli_open(&c, tls ? p_tls_short : p_plain_short) == 0);
		TH_CHECK(th_cli_closed(&c, 3000));
		TH_CHECK(th_now_ms() - t0 >= 400);
		th_cli_close(&c);
	}
	free(in.p);
}

static void
read_hook_calls(void *arg)
{
	*(int *)arg = hook_calls;
}

/* before_send runs on the loop before the response is written: the response waits for it. */
static void
before_send_test(int tls)
{
	struct th_cli c;
	struct th_resp r;
	int before = 0, calls = 0;
	long t0;

	TH_TEST(tls ? "TLS: before_send runs before the response leaves" :
	    "plain: before_send runs before the response leaves");
	th_loop_run(read_hook_calls, &before);
	TH_CHECK(cli_open(&c, p_hook[tls], tls, NULL) == 0);
	for (int i = 0; i < 2; i++) {
		t0 = th_now_ms();
		TH_CHECK(th_cli_sends(&c, "GET /hooked HTTP/1.1\r\nHost: x\r\n\r\n") == 0);
		TH_CHECK(th_cli_read_resp(&c, &r, 0) == 0 && r.status == 200);
		TH_CHECK_MSG(th_now_ms() - t0 >= 140, "%ld ms", th_now_ms() - t0);
	}
	th_cli_close(&c);
	th_loop_run(read_hook_calls, &calls);
	TH_CHECK_MSG(calls - before >= 2, "%d calls", calls - before);
}

/* ---- TLS only ----------------------------------------------------------- */

static void
tls_only(void)
{
	struct th_cli c;
	struct th_resp r;
	struct dbuf in = { NULL, 0, 0 };
	SSL_SESSION *sess = NULL;
	int eof, rc;

	TH_TEST("TLS: close_notify after the last response");
	TH_CHECK(cli_open(&c, p_tls, 1, NULL) == 0);
	TH_CHECK(th_cli_sends(&c, "GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") == 0);
	TH_CHECK(th_cli_read_resp(&c, &r, 0) == 0 && r.status == 200);
	rc = SSL_read(c.ssl, c.buf, 16);
	TH_CHECK(rc == 0 && SSL_get_error(c.ssl, rc) == SSL_ERROR_ZERO_RETURN);
	ERR_clear_error();
	th_cli_close(&c);

	TH_TEST("TLS: a request cut into one-byte records");
	TH_CHECK(cli_open(&c, p_tls, 1, NULL) == 0);
	{
		const char *q = "GET /bytes HTTP/1.1\r\nHost: x\r\n\r\n";
		int ok = 1;

		for (size_t i = 0; q[i] != '\0' && ok; i++)
			ok = SSL_write(c.ssl, q + i, 1) == 1;
		TH_CHECK(ok);
		TH_CHECK(th_cli_read_resp(&c, &r, 0) == 0 && strcmp(r.body, "/bytes tls=1") == 0);
	}
	th_cli_close(&c);

	TH_TEST("TLS: session resumption");
	TH_CHECK(cli_open(&c, p_tls, 1, NULL) == 0);
	TH_CHECK(th_cli_sends(&c, "GET /s1 HTTP/1.1\r\nHost: x\r\n\r\n") == 0);
	TH_CHECK(th_cli_read_resp(&c, &r, 0) == 0 && r.status == 200);
	TH_CHECK(!SSL_session_reused(c.ssl));
	sess = SSL_get1_session(c.ssl);
	TH_CHECK(sess != NULL && SSL_SESSION_is_resumable(sess));
	/* without close_notify the client would drop the session as a bad one */
	SSL_shutdown(c.ssl);
	th_cli_close(&c);
	TH_CHECK(cli_open(&c, p_tls, 1, sess) == 0);
	TH_CHECK(th_cli_sends(&c, "GET /s2 HTTP/1.1\r\nHost: x\r\n\r\n") == 0);
	TH_CHECK(th_cli_read_resp(&c, &r, 0) == 0 && strcmp(r.body, "/s2 tls=1") == 0);
	TH_CHECK(SSL_session_reused(c.ssl));
	th_cli_close(&c);
	SSL_SESSION_free(sess);

	TH_TEST("TLS 1.3: a key update asked by the client");
	TH_CHECK(cli_open(&c, p_tls, 1, NULL) == 0);
	TH_CHECK(SSL_version(c.ssl) == TLS1_3_VERSION);
	TH_CHECK(SSL_key_update(c.ssl, SSL_KEY_UPDATE_REQUESTED) == 1);
	for (int i = 0; i < 3; i++) {
		TH_CHECK(th_cli_sends(&c, "GET /ku HTTP/1.1\r\nHost: x\r\n\r\n") == 0);
		TH_CHECK(th_cli_read_resp(&c, &r, 0) == 0 && strcmp(r.body, "/ku tls=1") == 0);
	}
	th_cli_close(&c);

	TH_TEST("TLS 1.2: renegotiation refused");
	TH_CHECK(th_cli_open(&c, p_tls) == 0);
	c.ssl = SSL_new(cctx);
	SSL_set_fd(c.ssl, c.fd);
	SSL_set_max_proto_version(c.ssl, TLS1_2_VERSION);
	TH_CHECK(SSL_connect(c.ssl) == 1 && SSL_version(c.ssl) == TLS1_2_VERSION);
	TH_CHECK(th_cli_sends(&c, "GET /r1 HTTP/1.1\r\nHost: x\r\n\r\n") == 0);
	TH_CHECK(th_cli_read_resp(&c, &r, 0) == 0 && r.status == 200);
	TH_CHECK(SSL_renegotiate(c.ssl) == 1);
	rc = SSL_do_handshake(c.ssl);
	TH_CHECK_MSG(rc != 1, "the renegotiation completed");
	ERR_clear_error();
	th_cli_close(&c);

	TH_TEST("TLS: bytes that are not TLS end the connection");
	TH_CHECK(th_cli_open(&c, p_tls) == 0);
	TH_CHECK(th_cli_sends(&c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n") == 0);
	in.len = 0;
	xfer(&c, "", 0, &in, 0, 0, 3000, &eof);
	TH_CHECK(eof != 0 && memmem(in.p ? in.p : (unsigned char *)"", in.len, "HTTP/1.1", 8) == NULL);
	th_cli_close(&c);
	free(in.p);
}

int
main(int argc, char **argv)
{
	char err[256], cert[512], key[512];

	TH_TEST("certificate folder given");
	TH_CHECK(argc > 1);
	if (argc < 2)
		TH_END();
	snprintf(cert, sizeof(cert), "%s/server.pem", argv[1]);
	snprintf(key, sizeof(key), "%s/server.key", argv[1]);
	sctx = gh_tls_server_ctx(cert, key, NULL, err, sizeof(err));
	TH_CHECK_MSG(sctx != NULL, "%s", err);
	cctx = SSL_CTX_new(TLS_client_method());
	TH_CHECK(cctx != NULL);
	if (sctx == NULL || cctx == NULL)
		TH_END();
	SSL_CTX_set_verify(cctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_CLIENT);
	th_loop_start();
	th_loop_run(start_servers, NULL);
	TH_CHECK(p_tls > 0 && p_plain > 0 && p_tls_short > 0 && p_plain_short > 0 && p_hook[0] > 0 &&
	    p_hook[1] > 0);
	scenarios(1);
	scenarios(0);
	tls_only();
	before_send_test(0);
	before_send_test(1);
	th_loop_run(free_servers, NULL);
	th_loop_stop();
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
	TH_END();
}
