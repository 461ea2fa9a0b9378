/*
 * Tests of the HTTP client (core/http_client.c, core/http_url.c) against
 * fake servers that run in a thread on raw sockets (and OpenSSL for TLS),
 * each serving canned bytes or a small script per connection and counting
 * what it accepted.  The certificates for the TLS cases are made by
 * tests/foundation/31-http-client-certs.sh into $GH_HTTPC_CERTS.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

/* gh_tls.h (not ours) has a slash-star inside a comment. */
#include "core/gh_http.h"
#include "th.h"

/* ---------------------------------------------------------------- */
/* fake servers                                                       */

struct fconn {
	int fd;
	SSL *ssl;
	int idx;                      /* accept number, from 0 */
};

struct fsrv;
typedef void (*serve_fn)(struct fsrv *s, struct fconn *fc);

struct fsrv {
	int lfd;
	int port;
	pthread_t th;
	atomic_int stop;
	atomic_int accepts;
	atomic_int requests;
	atomic_int hs_fail;
	atomic_int ended;             /* connections served to their end */
	int concurrent;               /* a thread per connection */
	pthread_t workers[16];
	int nworkers;
	SSL_CTX *ssl;
	serve_fn serve;
	const char *canned;
	size_t canned_len;
	int close_after;
	pthread_mutex_t mu;
	char last_req[8192];
	char sni[256];
};

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* Read some bytes: >0, 0 on EOF, -1 on error, stop or 5 s of silence. */
static ssize_t
fio_read(struct fsrv *s, struct fconn *fc, char *buf, size_t n)
{
	long deadline = now_ms() + 5000;

	while (!atomic_load(&s->stop) && now_ms() < deadline) {
		struct pollfd pfd = { fc->fd, POLLIN, 0 };

		if (fc->ssl != NULL && SSL_pending(fc->ssl) > 0)
			return SSL_read(fc->ssl, buf, (int)n);
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		if (fc->ssl != NULL) {
			int r = SSL_read(fc->ssl, buf, (int)n);

			if (r > 0)
				return r;
			if (SSL_get_error(fc->ssl, r) == SSL_ERROR_ZERO_RETURN)
				return 0;
			if (SSL_get_error(fc->ssl, r) == SSL_ERROR_WANT_READ)
				continue;
			ERR_clear_error();
			return -1;
		}
		return recv(fc->fd, buf, n, 0);
	}
	return -1;
}

static void
fio_write(struct fconn *fc, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = fc->ssl != NULL ? SSL_write(fc->ssl, buf, (int)n) :
		    send(fc->fd, buf, n, MSG_NOSIGNAL);

		if (w <= 0)
			return;
		buf += w;
		n -= (size_t)w;
	}
}

/* Read one request (head and Content-Length body).  Its length, 0 on EOF first, -1. */
static ssize_t
read_request(struct fsrv *s, struct fconn *fc, char *buf, size_t cap)
{
	size_t len = 0, need = 0;

	for (;;) {
		ssize_t r;
		char *end;

		if (need == 0 && (end = memmem(buf, len, "\r\n\r\n", 4)) != NULL) {
			const char *cl;

			buf[len] = '\0';
			cl = strcasestr(buf, "\r\nContent-Length:");
			need = (size_t)(end + 4 - buf) + (cl ? strtoul(cl + 17, NULL, 10) : 0);
		}
		if (need != 0 && len >= need)
			break;
		if (len + 1 >= cap)
			return -1;
		r = fio_read(s, fc, buf + len, cap - len - 1);
		if (r <= 0)
			return len == 0 && r == 0 ? 0 : -1;
		len += (size_t)r;
	}
	buf[len] = '\0';
	pthread_mutex_lock(&s->mu);
	snprintf(s->last_req, sizeof(s->last_req), "%s", buf);
	pthread_mutex_unlock(&s->mu);
	atomic_fetch_add(&s->requests, 1);
	return (ssize_t)len;
}

static void
wait_eof(struct fsrv *s, struct fconn *fc)
{
	char buf[4096];

	while (fio_read(s, fc, buf, sizeof(buf)) > 0)
		;
}

/* Canned bytes after the first request; then close or wait for the client to. */
static void
serve_canned(struct fsrv *s, struct fconn *fc)
{
	char buf[8192];

	if (read_request(s, fc, buf, sizeof(buf)) <= 0)
		return;
	fio_write(fc, s->canned, s->canned_len);
	if (!s->close_after)
		wait_eof(s, fc);
}

/* 200 with body "c<conn>r<n>" (only its length for HEAD). */
static void
respond_ok(struct fconn *fc, int n, const char *req)
{
	char out[256], body[32];

	snprintf(body, sizeof(body), "c%dr%d", fc->idx, n);
	snprintf(out, sizeof(out), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s",
	    strlen(body), strncmp(req, "HEAD ", 5) == 0 ? "" : body);
	fio_write(fc, out, strlen(out));
}

/* Keep-alive: answer every request with body "c<conn>r<request>". */
static void
serve_keepalive(struct fsrv *s, struct fconn *fc)
{
	char buf[8192];

	for (int n = 1; read_request(s, fc, buf, sizeof(buf)) > 0; n++)
		respond_ok(fc, n, buf);
}

/* One keep-alive looking response, then close. */
static void
serve_one_then_close(struct fsrv *s, struct fconn *fc)
{
	char buf[8192];

	if (read_request(s, fc, buf, sizeof(buf)) > 0)
		respond_ok(fc, 1, buf);
}

/* First connection: answer one request, read the second and close without a byte. */
static void
serve_drop_second(struct fsrv *s, struct fconn *fc)
{
	char buf[8192];

	if (fc->idx > 0) {
		serve_keepalive(s, fc);
		return;
	}
	if (read_request(s, fc, buf, sizeof(buf)) <= 0)
		return;
	respond_ok(fc, 1, buf);
	read_request(s, fc, buf, sizeof(buf));
}

/* Read the request, never answer. */
static void
serve_silent(struct fsrv *s, struct fconn *fc)
{
	char buf[8192];

	if (read_request(s, fc, buf, sizeof(buf)) > 0)
		wait_eof(s, fc);
}

/* Read whatever comes (a TLS ClientHello), never answer. */
static void
serve_mute(struct fsrv *s, struct fconn *fc)
{
	wait_eof(s, fc);
}

/* TLS accept (when the server has a context), serve, close. */
static void
fconn_run(struct fsrv *s, struct fconn *fc)
{
	if (s->ssl != NULL) {
		const char *sni;

		fc->ssl = SSL_new(s->ssl);
		SSL_set_fd(fc->ssl, fc->fd);
		if (SSL_accept(fc->ssl) != 1) {
			atomic_fetch_add(&s->hs_fail, 1);
			ERR_clear_error();
			SSL_free(fc->ssl);
			close(fc->fd);
			return;
		}
		sni = SSL_get_servername(fc->ssl, TLSEXT_NAMETYPE_host_name);
		pthread_mutex_lock(&s->mu);
		snprintf(s->sni, sizeof(s->sni), "%s", sni ? sni : "");
		pthread_mutex_unlock(&s->mu);
	}
	s->serve(s, fc);
	atomic_fetch_add(&s->ended, 1);
	if (fc->ssl != NULL) {
		SSL_shutdown(fc->ssl);
		ERR_clear_error();
		SSL_free(fc->ssl);
	}
	close(fc->fd);
}

struct fworker {
	struct fsrv *s;
	struct fconn fc;
};

static void *
fworker_main(void *arg)
{
	struct fworker *w = arg;

	fconn_run(w->s, &w->fc);
	free(w);
	ERR_clear_error();
	return NULL;
}

static void *
fsrv_main(void *arg)
{
	struct fsrv *s = arg;

	while (!atomic_load(&s->stop)) {
		struct pollfd pfd = { s->lfd, POLLIN, 0 };
		struct fconn fc = { -1, NULL, 0 };
		struct timeval tv = { 5, 0 };
		struct fworker *w;

		if (poll(&pfd, 1, 10) <= 0)
			continue;
		fc.fd = accept(s->lfd, NULL, NULL);
		if (fc.fd < 0)
			continue;
		fc.idx = atomic_fetch_add(&s->accepts, 1);
		setsockopt(fc.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fc.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (!s->concurrent || s->nworkers == 16 || (w = malloc(sizeof(*w))) == NULL) {
			fconn_run(s, &fc);
			continue;
		}
		w->s = s;
		w->fc = fc;
		if (pthread_create(&s->workers[s->nworkers], NULL, fworker_main, w) == 0)
			s->nworkers++;
		else
			fworker_main(w);
	}
	ERR_clear_error();
	return NULL;
}

static int
fsrv_start(struct fsrv *s, serve_fn serve, SSL_CTX *ssl)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int one = 1;

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	s->serve = serve;
	s->ssl = ssl;
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (s->lfd < 0)
		return -1;
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s->lfd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(s->lfd, 16) != 0 ||
	    getsockname(s->lfd, (struct sockaddr *)&sin, &sl) != 0) {
		close(s->lfd);
		return -1;
	}
	s->port = ntohs(sin.sin_port);
	return pthread_create(&s->th, NULL, fsrv_main, s) == 0 ? 0 : -1;
}

static void
fsrv_canned(struct fsrv *s, const char *bytes, size_t len, int close_after)
{
	s->canned = bytes;
	s->canned_len = len;
	s->close_after = close_after;
}

static void
fsrv_stop(struct fsrv *s)
{
	atomic_store(&s->stop, 1);
	pthread_join(s->th, NULL);
	for (int i = 0; i < s->nworkers; i++)
		pthread_join(s->workers[i], NULL);
	close(s->lfd);
	pthread_mutex_destroy(&s->mu);
}

static void
fsrv_last(struct fsrv *s, char *out, size_t n)
{
	pthread_mutex_lock(&s->mu);
	snprintf(out, n, "%s", s->last_req);
	pthread_mutex_unlock(&s->mu);
}

/* ---------------------------------------------------------------- */
/* client helpers                                                     */

struct res {
	int done;
	struct gh_httpc_resp r;
};

static void
res_cb(struct gh_httpc_resp *resp, void *arg)
{
	struct res *x = arg;

	gh_httpc_resp_clear(&x->r);
	x->r = *resp;
	memset(resp, 0, sizeof(*resp));
	x->done++;
}

static void
run_until(struct event_base *base, struct res *x)
{
	long deadline = now_ms() + 10000;

	while (!x->done && now_ms() < deadline)
		if (event_base_loop(base, EVLOOP_ONCE) != 0)
			break;
}

static void
spin(struct event_base *base, int ms)
{
	struct timeval tv = { 0, ms * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static struct gh_httpc_cfg
cfg_test(void)
{
	struct gh_httpc_cfg cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.connect_timeout_ms = 2000;
	cfg.timeout_ms = 3000;
	return cfg;
}

static char *
url_of(const char *scheme, const char *host, int port, const char *path)
{
	static char buf[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s://%s:%d%s", scheme, host, port, path);
	return buf[i];
}

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (d == NULL)
		return -1;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

/* ---------------------------------------------------------------- */
/* URLs and request validation                                        */

static void
test_urls(void)
{
	struct gh_httpc_url u;
	static const char *const bad[] = {
		"", "ftp://x/", "http:/x", "http://", "http:///p", "http://:80/",
		"http://user:pw@h/", "http://user@h/", "http://h/a b", "http://h/a\r\nX: y",
		"http://h:0/", "http://h:65536/", "http://h:/", "http://h:8x/", "http://[::1/",
		"http://[zz]/", "http://[::1]x/", "http://h/\x01", "http://h/%zz",
		"http://a..b/", "http://h/\xc3\xa9", "http://h\\x/", "http://h/a\"b",
		"http://h/<x>", "http:// h/", "http://h\t/", "http://-h/",
	};

	TH_TEST("url: good");
	TH_CHECK_EQ_INT(gh_httpc_url_parse("http://example.com", &u), 0);
	TH_CHECK_EQ_STR(u.host, "example.com");
	TH_CHECK_EQ_INT(u.port, 80);
	TH_CHECK_EQ_INT(u.https, 0);
	TH_CHECK_EQ_INT(u.host_ip, 0);
	TH_CHECK_EQ_STR(u.target, "/");
	gh_httpc_url_clear(&u);
	TH_CHECK_EQ_INT(gh_httpc_url_parse("HTTPS://Example.COM:8443/a/b?x=1&y=%20#frag", &u), 0);
	TH_CHECK_EQ_STR(u.host, "example.com");
	TH_CHECK_EQ_INT(u.port, 8443);
	TH_CHECK_EQ_INT(u.https, 1);
	TH_CHECK_EQ_STR(u.target, "/a/b?x=1&y=%20");
	gh_httpc_url_clear(&u);
	TH_CHECK_EQ_INT(gh_httpc_url_parse("https://h", &u), 0);
	TH_CHECK_EQ_INT(u.port, 443);
	gh_httpc_url_clear(&u);
	TH_CHECK_EQ_INT(gh_httpc_url_parse("http://[::1]:8080/p", &u), 0);
	TH_CHECK_EQ_STR(u.host, "::1");
	TH_CHECK_EQ_INT(u.host_ip, 6);
	TH_CHECK_EQ_INT(u.port, 8080);
	TH_CHECK_EQ_STR(u.target, "/p");
	gh_httpc_url_clear(&u);
	TH_CHECK_EQ_INT(gh_httpc_url_parse("http://127.0.0.1/x", &u), 0);
	TH_CHECK_EQ_INT(u.host_ip, 4);
	gh_httpc_url_clear(&u);
	TH_CHECK_EQ_INT(gh_httpc_url_parse("http://h?q=1", &u), 0);
	TH_CHECK_EQ_STR(u.target, "/?q=1");
	gh_httpc_url_clear(&u);

	TH_TEST("url: bad");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = gh_httpc_url_parse(bad[i], &u);

		TH_CHECK_MSG(r == -1, "accepted \"%s\"", bad[i]);
		if (r == 0)
			gh_httpc_url_clear(&u);
	}
	TH_CHECK_EQ_INT(gh_httpc_url_parse(NULL, &u), -1);
}

static void
test_refused_requests(void)
{
	struct gh_httpc_cfg cfg = cfg_test();
	struct gh_httpc_resp r;
	struct fsrv s;
	struct event_base *base = event_base_new();
	struct gh_httpc *c = gh_httpc_new(base, &cfg);
	struct res x = { 0 };
	const char *u;
	struct gh_http_header crlf[] = { { "X-A", "a\r\nX-Injected: 1" } };
	struct gh_http_header lf[] = { { "X-A", "a\nb" } };
	struct gh_http_header cr[] = { { "X-A", "a\rb" } };
	struct gh_http_header ctl[] = { { "X-A", "a\x01" } };
	struct gh_http_header badname[] = { { "X A", "a" } };
	struct gh_http_header colon[] = { { "X:A", "a" } };
	struct gh_http_header emptyname[] = { { "", "a" } };
	struct gh_http_header host[] = { { "host", "evil" } };
	struct gh_http_header cl[] = { { "Content-Length", "5" } };
	struct gh_http_header te[] = { { "transfer-encoding", "chunked" } };
	struct gh_http_header conn[] = { { "Connection", "close" } };
	struct gh_http_header *all[] = { crlf, lf, cr, ctl, badname, colon, emptyname, host,
	    cl, te, conn };

	TH_TEST("bad URL, method and headers are refused before any byte");
	TH_CHECK(fsrv_start(&s, serve_keepalive, NULL) == 0);
	u = url_of("http", "127.0.0.1", s.port, "/");
	TH_CHECK_EQ_INT(gh_httpc_fetch(&cfg, "GET", "http://h/a b", NULL, 0, NULL, 0, &r), -1);
	TH_CHECK_EQ_INT(r.error, GH_HTTPC_EURL);
	gh_httpc_resp_clear(&r);
	TH_CHECK_EQ_INT(gh_httpc_fetch(&cfg, "GET", "http://u@h/", NULL, 0, NULL, 0, &r), -1);
	TH_CHECK_EQ_INT(r.error, GH_HTTPC_EURL);
	gh_httpc_resp_clear(&r);
	TH_CHECK_EQ_INT(gh_httpc_fetch(&cfg, "GET", "gopher://h/", NULL, 0, NULL, 0, &r), -1);
	TH_CHECK_EQ_INT(r.error, GH_HTTPC_EURL);
	gh_httpc_resp_clear(&r);
	TH_CHECK_EQ_INT(gh_httpc_fetch(&cfg, "GET", u, crlf, 1, NULL, 0, &r), -1);
	TH_CHECK_EQ_INT(r.error, GH_HTTPC_EURL);
	gh_httpc_resp_clear(&r);
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		TH_CHECK_MSG(gh_httpc_request(c, "GET", u, all[i], 1, NULL, 0, res_cb, &x) == -1,
		    "header %s accepted", all[i][0].name);
	TH_CHECK_EQ_INT(gh_httpc_request(c, "GET /x", u, NULL, 0, NULL, 0, res_cb, &x), -1);
	TH_CHECK_EQ_INT(gh_httpc_request(c, "", u, NULL, 0, NULL, 0, res_cb, &x), -1);
	TH_CHECK_EQ_INT(gh_httpc_request(c, "G\r\nET", u, NULL, 0, NULL, 0, res_cb, &x), -1);
	/* https without an SSL_CTX */
	TH_CHECK_EQ_INT(gh_httpc_request(c, "GET", url_of("https", "127.0.0.1", s.port, "/"),
	    NULL, 0, NULL, 0, res_cb, &x), -1);
	spin(base, 50);
	TH_CHECK_EQ_INT(x.done, 0);
	gh_httpc_free(c);
	event_base_free(base);
	fsrv_stop(&s);
	TH_CHECK_EQ_INT(atomic_load(&s.accepts), 0);
}

/* ---------------------------------------------------------------- */
/* good responses                                                     */

static int
canned_fetch(const char *resp, size_t rlen, int close_after, const struct gh_httpc_cfg *cfg,
    const char *method, struct gh_httpc_resp *r, char *req_seen, size_t req_cap)
{
	struct fsrv s;
	int rc;

	if (fsrv_start(&s, serve_canned, NULL) != 0)
		return -2;
	fsrv_canned(&s, resp, rlen, close_after);
	rc = gh_httpc_fetch(cfg, method, url_of("http", "127.0.0.1", s.port, "/p?q=1"),
	    NULL, 0, NULL, 0, r);
	fsrv_stop(&s);
	if (req_seen != NULL)
		fsrv_last(&s, req_seen, req_cap);
	return rc;
}

#define CANNED(s) s, sizeof(s) - 1

static void
test_good_responses(void)
{
	struct gh_httpc_cfg cfg = cfg_test();
	struct gh_httpc_resp r;
	struct fsrv s;
	char seen[8192], want[128];
	struct gh_http_header hdrs[] = { { "X-Test", "one two" }, { "Accept", "*/*" } };

	TH_TEST("Content-Length response and the request as sent");
	TH_CHECK(fsrv_start(&s, serve_keepalive, NULL) == 0);
	TH_CHECK_EQ_INT(gh_httpc_fetch(&cfg, "GET", url_of("http", "127.0.0.1", s.port,
	    "/a/b?x=1"), hdrs, 2, NULL, 0, &r), 0);
	TH_CHECK_EQ_INT(r.error, GH_HTTPC_OK);
	TH_CHECK_EQ_INT(r.status, 200);
	TH_CHECK_EQ_STR((char *)r.body, "c0r1");
	TH_CHECK_EQ_INT(r.body_len, 4);
	gh_httpc_resp_clear(&r);
	fsrv_last(&s, seen, sizeof(seen));
	snprintf(want, sizeof(want), "GET /a/b?x=1 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n", s.port);
	TH_CHECK_MSG(strncmp(seen, want, strlen(want)) == 0, "request: %s", seen);
	TH_CHECK(strstr(seen, "\r\nX-Test: one two\r\n") != NULL);
	TH_CHECK(strstr(seen, "\r\nAccept: */*\r\n") != NULL);
	TH_CHECK(strstr(seen, "\r\nConnection: keep-alive\r\n") != NULL);
	TH_CHECK(strstr(seen, "Content-Length") == NULL);

	TH_TEST("POST carries Content-Length and the body");
	TH_CHECK_EQ_INT(gh_httpc_fetch(&cfg, "POST", url_of("http", "127.0.0.1", s.port, "/f"),
	    NULL, 0, "da\0ta", 5, &r), 0);
	gh_httpc_resp_clear(&r);
	fsrv_last(&s, seen, sizeof(seen));
	TH_CHECK(strncmp(seen, "POST /f HTTP/1.1\r\n", 18) == 0);
	TH_CHECK(strstr(seen, "\r\nContent-Length: 5\r\n") != NULL);
	TH_CHECK(memcmp(seen + strlen(seen) - 2, "da", 2) == 0);
	TH_CHECK_EQ_INT(gh_httpc_fetch(&cfg, "PUT", url_of("http", "127.0.0.1", s.port, "/f"),
	    NULL, 0, NULL, 0, &r), 0);
	gh_httpc_resp_clear(&r);
	fsrv_last(&s, seen, sizeof(seen));
	TH_CHECK(strstr(seen, "\r\nContent-Length: 0\r\n") != NULL);
	fsrv_stop(&s);

	TH_TEST("headers readable");
	TH_CHECK_EQ_INT(canned_fetch(CANNED("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
	    "X-Empty:\r\nX-Two: \t2 \t\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n"
	    "Content-Length: 5\r\n\r\nhello"), 0, &cfg, "GET", &r, seen, sizeof(seen)), 0);
	TH_CHECK_EQ_INT(r.status, 200);
	TH_CHECK_EQ_STR((char *)r.body, "hello");
	TH_CHECK_EQ_STR(gh_httpc_resp_header(&r, "content-type"), "text/plain");
	TH_CHECK_EQ_STR(gh_httpc_resp_header(&r, "X-EMPTY"), "");
	TH_CHECK_EQ_STR(gh_httpc_resp_header(&r, "x-two"), "2");
	TH_CHECK_EQ_STR(gh_httpc_resp_header(&r, "Set-Cookie"), "a=1");
	TH_CHECK(gh_httpc_resp_header(&r, "X-Missing") == NULL);
	TH_CHECK_EQ_INT(r.nheaders, 6);
	gh_httpc_resp_clear(&r);
	TH_CHECK(strncmp(seen, "GET /p?q=1 HTTP/1.1\r\n", 21) == 0);

	TH_TEST("chunked");
	TH_CHECK_EQ_INT(canned_fetch(CANNED("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"), 0, &cfg, "GET",
	    &r, NULL, 0), 0);
	TH_CHECK_EQ_INT(r.status, 200);
	TH_CHECK_EQ_STR((char *)r.body, "hello world");
	TH_CHECK_EQ_INT(r.body_len, 11);
	TH_CHECK(gh_httpc_resp_header(&r, "X-Trailer") == NULL);
	gh_httpc_resp_clear(&r);

	TH_TEST("read until close");
	TH_CHECK_EQ_INT(canned_fetch(CANNED("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n"
	    "until the end"), 1, &cfg, "GET", &r, NULL, 0), 0);
	TH_CHECK_EQ_INT(r.status, 200);
	TH_CHECK_EQ_STR((char *)r.body, "until the end");
	gh_httpc_resp_clear(&r);
	TH_CHECK_EQ_INT(canned_fetch(CANNED("HTTP/1.0 200 OK\r\n\r\nold"), 1, &cfg, "GET",
	    &r, NULL, 0), 0);
	TH_CHECK_EQ_STR((char *)r.body, "old");
	gh_httpc_resp_clear(&r);

	TH_TEST("HEAD, 204, 304 have no body");
	TH_CHECK_EQ_INT(canned_fetch(CANNED("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"),
	    0, &cfg, "HEAD", &r, seen, sizeof(seen)), 0);
	TH_CHECK_EQ_INT(r.status, 200);
	TH_CHECK(r.body == NULL);
	TH_CHECK_EQ_INT(r.body_len, 0);
	TH_CHECK_EQ_STR(gh_httpc_resp_header(&r, "Content-Length"), "1234");
	gh_httpc_resp_clear(&r);
	TH_CHECK(strncmp(seen, "HEAD /p?q=1 HTTP/1.1\r\n", 22) == 0);
	TH_CHECK_EQ_INT(canned_fetch(CANNED("HTTP/1.1 204 No Content\r\nX-A: b\r\n\r\n"), 0,
	    &cfg, "DELETE", &r, NULL, 0), 0);
	TH_CHECK_EQ_INT(r.status, 204);
	TH_CHECK(r.body == NULL);
	TH_CHECK_EQ_STR(gh_httpc_resp_header(&r, "X-A"), "b");
	gh_httpc_resp_clear(&r);
	TH_CHECK_EQ_INT(canned_fetch(CANNED("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n"
	    "\r\n"), 0, &cfg, "GET", &r, NULL, 0), 0);
	TH_CHECK_EQ_INT(r.status, 304);
	TH_CHECK(r.body == NULL);
	gh_httpc_resp_clear(&r);

	TH_TEST("a 200 that advertises an Upgrade is an ordinary response");
	TH_CHECK_EQ_INT(canned_fetch(CANNED("HTTP/1.1 200 OK\r\nUpgrade: h2,h2c\r\n"
	    "Connection: Upgrade\r\nContent-Length: 2\r\n\r\nok"), 0, &cfg, "GET", &r, NULL, 0), 0);
	TH_CHECK_EQ_INT(r.status, 200);
	TH_CHECK_EQ_STR((char *)r.body, "ok");
	gh_httpc_resp_clear(&r);

	TH_TEST("interim 100 then the final response");
	TH_CHECK_EQ_INT(canned_fetch(CANNED("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\n"
	    "Content-Length: 2\r\n\r\nok"), 0, &cfg, "POST", &r, NULL, 0), 0);
	TH_CHECK_EQ_INT(r.status, 201);
	TH_CHECK_EQ_STR((char *)r.body, "ok");
	gh_httpc_resp_clear(&r);

	TH_TEST("body of exactly max_body_bytes");
	{
		struct gh_httpc_cfg small = cfg_test();
		char big[64 + 1024];
		int n = snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\nContent-Length: 1024\r\n\r\n");

		small.max_body_bytes = 1024;
		memset(big + n, 'x', 1024);
		TH_CHECK_EQ_INT(canned_fetch(big, (size_t)n + 1024, 0, &small, "GET", &r, NULL, 0), 0);
		TH_CHECK_EQ_INT(r.body_len, 1024);
		gh_httpc_resp_clear(&r);
	}
}

/* ---------------------------------------------------------------- */
/* malformed responses                                                */

static void
test_malformed(void)
{
	static const struct {
		const char *name;
		const char *bytes;
		size_t len;
	} cases[] = {
#define M(n, s) { n, s, sizeof(s) - 1 }
		M("obs-fold", "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n"),
		M("obs-fold tab", "HTTP/1.1 200 OK\r\nX-A: a\r\n\tb\r\nContent-Length: 0\r\n\r\n"),
		M("bare LF in header", "HTTP/1.1 200 OK\r\nX-A: a\nContent-Length: 0\r\n\r\n"),
		M("LF-only response", "HTTP/1.1 200 OK\nContent-Length: 0\n\n"),
		M("bare LF after status", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n"),
		M("bare LF final line", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\n"),
		M("bare CR", "HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 0\r\n\r\n"),
		M("space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n"),
		M("tab before colon", "HTTP/1.1 200 OK\r\nX-A\t: a\r\nContent-Length: 0\r\n\r\n"),
		M("NUL in value", "HTTP/1.1 200 OK\r\nX-A: a\0b\r\nContent-Length: 0\r\n\r\n"),
		M("NUL in name", "HTTP/1.1 200 OK\r\nX\0A: a\r\nContent-Length: 0\r\n\r\n"),
		M("CTL in value", "HTTP/1.1 200 OK\r\nX-A: a\x01\r\nContent-Length: 0\r\n\r\n"),
		M("header without colon", "HTTP/1.1 200 OK\r\nNoColon\r\nContent-Length: 0\r\n\r\n"),
		M("bad header name", "HTTP/1.1 200 OK\r\nX@A: a\r\nContent-Length: 0\r\n\r\n"),
		M("empty header name", "HTTP/1.1 200 OK\r\n: a\r\nContent-Length: 0\r\n\r\n"),
		M("duplicate differing CL", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
		    "Content-Length: 3\r\n\r\nabc"),
		M("duplicate equal CL", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
		    "Content-Length: 2\r\n\r\nab"),
		M("CL list", "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nab"),
		M("CL not a number", "HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n"),
		M("CL negative", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"),
		M("CL with TE", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n"),
		M("TE with CL", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
		    "Content-Length: 2\r\n\r\n2\r\nab\r\n0\r\n\r\n"),
		M("TE gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxx"),
		M("TE gzip, chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
		    "2\r\nab\r\n0\r\n\r\n"),
		M("TE chunked, gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
		M("TE twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n"),
		M("TE xchunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: xchunked\r\n\r\n"),
		M("bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "zz\r\nab\r\n0\r\n\r\n"),
		M("chunk size overflow", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "fffffffffffffffffffff\r\nab\r\n0\r\n\r\n"),
		M("chunk size bare LF", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "2\nab\r\n0\r\n\r\n"),
		M("chunk data too long", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "2\r\nabcd\r\n0\r\n\r\n"),
		M("status 2000", "HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n"),
		M("status 20", "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n"),
		M("status 2OO", "HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n"),
		M("status 099", "HTTP/1.1 099 Odd\r\nContent-Length: 0\r\n\r\n"),
		M("HTTP/2", "HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n"),
		M("HTTP/1.2", "HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n"),
		M("HTTP/0.9", "HTTP/0.9 200 OK\r\nContent-Length: 0\r\n\r\n"),
		M("lower-case version", "http/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
		M("two spaces", "HTTP/1.1  200 OK\r\nContent-Length: 0\r\n\r\n"),
		M("not HTTP", "SSH-2.0-OpenSSH_9.2\r\n\r\n"),
		M("empty status line", "\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
		M("CTL in reason", "HTTP/1.1 200 O\x01K\r\nContent-Length: 0\r\n\r\n"),
		M("unasked 101", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		    "Connection: Upgrade\r\n\r\n"),
		M("oversized body by CL", "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\nab"),
		M("bad 1xx then fine", "HTTP/1.1 100 Continue\r\nX: a\n\r\n"
		    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
#undef M
	};
	struct gh_httpc_cfg cfg = cfg_test();
	struct gh_httpc_resp r;
	char *big;
	size_t n;

	cfg.max_header_bytes = 1024;
	cfg.max_body_bytes = 1024;
	cfg.timeout_ms = 2000;
	TH_TEST("malformed responses are EPROTO");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = canned_fetch(cases[i].bytes, cases[i].len, 0, &cfg, "GET", &r, NULL, 0);

		TH_CHECK_MSG(rc == -1 && r.error == GH_HTTPC_EPROTO, "%s: rc %d error %d (%s)",
		    cases[i].name, rc, r.error, r.errstr ? r.errstr : "");
		TH_CHECK_MSG(r.status == 0 && r.body == NULL && r.nheaders == 0,
		    "%s: response fields set on error", cases[i].name);
		gh_httpc_resp_clear(&r);
	}

	TH_TEST("oversized header block is EPROTO");
	big = malloc(4096);
	n = (size_t)snprintf(big, 4096, "HTTP/1.1 200 OK\r\nX-Big: ");
	memset(big + n, 'a', 2000);
	n += 2000;
	n += (size_t)snprintf(big + n, 4096 - n, "\r\nContent-Length: 0\r\n\r\n");
	TH_CHECK_EQ_INT(canned_fetch(big, n, 0, &cfg, "GET", &r, NULL, 0), -1);
	TH_CHECK_EQ_INT(r.error, GH_HTTPC_EPROTO);
	gh_httpc_resp_clear(&r);
	/* the same without the end of the block: refused at the limit, not at a timeout */
	TH_CHECK_EQ_INT(canned_fetch(big, 1500, 0, &cfg, "GET", &r, NULL, 0), -1);
	TH_CHECK_EQ_INT(r.error, GH_HTTPC_EPROTO);
	gh_httpc_resp_clear(&r);

	TH_TEST("oversized chunked body is EPROTO");
	n = (size_t)snprintf(big, 4096, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (int k = 0; k < 3; k++) {
		n += (size_t)snprintf(big + n, 4096 - n, "200\r\n");
		memset(big + n, 'b', 0x200);
		n += 0x200;
		n += (size_t)snprintf(big + n, 4096 - n, "\r\n");
	}
	n += (size_t)snprintf(big + n, 4096 - n, "0\r\n\r\n");
	TH_CHECK_EQ_INT(canned_fetch(big, n, 0, &cfg, "GET", &r, NULL, 0), -1);
	TH_CHECK_EQ_INT(r.error, GH_HTTPC_EPROTO);
	gh_httpc_resp_clear(&r);

	TH_TEST("oversized read-until-close body is EPROTO");
	n = (size_t)snprintf(big, 4096, "HTTP/1.1 200 OK\r\n\r\n");
	memset(big + n, 'c', 2000);
	n += 2000;
	TH_CHECK_EQ_INT(canned_fetch(big, n, 1, &cfg, "GET", &r, NULL, 0), -1);
	TH_CHECK_EQ_INT(r.error, GH_HTTPC_EPROTO);
	gh_httpc_resp_clear(&r);
	free(big);
}

/* ---------------------------------------------------------------- */
/* keep-alive                                                         */

struct free_in_cb {
	struct gh_httpc *c;
	int calls, ok, closed;
};

/* The first response frees the client; the other request ends inside that free. */
static void
free_cb(struct gh_httpc_resp *resp, void *arg)
{
	struct free_in_cb *f = arg;

	f->calls++;
	f->ok += resp->error == GH_HTTPC_OK;
	f->closed += resp->error == GH_HTTPC_ECLOSED;
	if (f->c != NULL) {
		struct gh_httpc *c = f->c;

		f->c = NULL;
		gh_httpc_free(c);
	}
}

static void
test_keepalive(void)
{
	struct gh_httpc_cfg cfg = cfg_test();
	struct event_base *base = event_base_new();
	struct gh_httpc *c;
	struct fsrv s;
	struct res a = { 0 }, b = { 0 }, d = { 0 };
	const char *u;

	TH_TEST("keep-alive: sequential requests share one connection");
	c = gh_httpc_new(base, &cfg);
	TH_CHECK(fsrv_start(&s, serve_keepalive, NULL) == 0);
	u = url_of("http", "127.0.0.1", s.port, "/");
	TH_CHECK_EQ_INT(gh_httpc_request(c, "GET", u, NULL, 0, NULL, 0, res_cb, &a), 0);
	run_until(base, &a);
	TH_CHECK_EQ_INT(a.done, 1);
	TH_CHECK_EQ_STR((char *)a.r.body, "c0r1");
	TH_CHECK_EQ_INT(gh_httpc_request(c, "POST", u, NULL, 0, "x", 1, res_cb, &b), 0);
	run_until(base, &b);
	TH_CHECK_EQ_STR((char *)b.r.body, "c0r2");
	TH_CHECK_EQ_INT(gh_httpc_request(c, "GET", url_of("http", "127.0.0.1", s.port, "/z"),
	    NULL, 0, NULL, 0, res_cb, &d), 0);
	run_until(base, &d);
	TH_CHECK_EQ_STR((char *)d.r.body, "c0r3");
	TH_CHECK_EQ_INT(atomic_load(&s.accepts), 1);
	TH_CHECK_EQ_INT(a.done + b.done + d.done, 3);
	gh_httpc_resp_clear(&a.r);
	gh_httpc_resp_clear(&b.r);
	gh_httpc_resp_clear(&d.r);
	gh_httpc_free(c);
	fsrv_stop(&s);

	TH_TEST("keep-alive: Connection: close is not pooled");
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	c = gh_httpc_new(base, &cfg);
	TH_CHECK(fsrv_start(&s, serve_canned, NULL) == 0);
	fsrv_canned(&s, CANNED("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"), 0);
	u = url_of("http", "127.0.0.1", s.port, "/");
	TH_CHECK_EQ_INT(gh_httpc_request(c, "GET", u, NULL, 0, NULL, 0, res_cb, &a), 0);
	run_until(base, &a);
	TH_CHECK_EQ_INT(a.r.error, GH_HTTPC_OK);
	TH_CHECK_EQ_INT(gh_httpc_request(c, "GET", u, NULL, 0, NULL, 0, res_cb, &b), 0);
	run_until(base, &b);
	TH_CHECK_EQ_INT(b.r.error, GH_HTTPC_OK);
	TH_CHECK_EQ_INT(atomic_load(&s.accepts), 2);
	gh_httpc_resp_clear(&a.r);
	gh_httpc_resp_clear(&b.r);
	gh_httpc_free(c);
	fsrv_stop(&s);

	TH_TEST("keep-alive: a pooled connection closed by the server is dropped");
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	c = gh_httpc_new(base, &cfg);
	TH_CHECK(fsrv_start(&s, serve_one_then_close, NULL) == 0);
	u = url_of("http", "127.0.0.1", s.port, "/");
	TH_CHECK_EQ_INT(gh_httpc_request(c, "GET", u, NULL, 0, NULL, 0, res_cb, &a), 0);
	run_until(base, &a);
	TH_CHECK_EQ_STR((char *)a.r.body, "c0r1");
	spin(base, 150);
	/* POST is never retried: it succeeds only if the dead connection was dropped. */
	TH_CHECK_EQ_INT(gh_httpc_request(c, "POST", u, NULL, 0, "p", 1, res_cb, &b), 0);
	run_until(base, &b);
	TH_CHECK_EQ_INT(b.r.error, GH_HTTPC_OK);
	TH_CHECK_EQ_STR((char *)b.r.body, "c1r1");
	TH_CHECK_EQ_INT(atomic_load(&s.accepts), 2);
	TH_CHECK_EQ_INT(atomic_load(&s.requests), 2);
	gh_httpc_resp_clear(&a.r);
	gh_httpc_resp_clear(&b.r);
	gh_httpc_free(c);
	fsrv_stop(&s);

	TH_TEST("keep-alive: GET retried once on a fresh connection after a stale one");
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	c = gh_httpc_new(base, &cfg);
	TH_CHECK(fsrv_start(&s, serve_drop_second, NULL) == 0);
	u = url_of("http", "127.0.0.1", s.port, "/");
	TH_CHECK_EQ_INT(gh_httpc_request(c, "GET", u, NULL, 0, NULL, 0, res_cb, &a), 0);
	run_until(base, &a);
	TH_CHECK_EQ_STR((char *)a.r.body, "c0r1");
	TH_CHECK_EQ_INT(gh_httpc_request(c, "GET", u, NULL, 0, NULL, 0, res_cb, &b), 0);
	run_until(base, &b);
	TH_CHECK_EQ_INT(b.done, 1);
	TH_CHECK_EQ_INT(b.r.error, GH_HTTPC_OK);
	TH_CHECK_EQ_STR((char *)b.r.body, "c1r1");
	TH_CHECK_EQ_INT(atomic_load(&s.accepts), 2);
	TH_CHECK_EQ_INT(atomic_load(&s.requests), 3);
	gh_httpc_resp_clear(&a.r);
	gh_httpc_resp_clear(&b.r);
	gh_httpc_free(c);
	fsrv_stop(&s);

	TH_TEST("keep-alive: POST on a stale connection is not retried");
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	c = gh_httpc_new(base, &cfg);
	TH_CHECK(fsrv_start(&s, serve_drop_second, NULL) == 0);
	u = url_of("http", "127.0.0.1", s.port, "/");
	TH_CHECK_EQ_INT(gh_httpc_request(c, "GET", u, NULL, 0, NULL, 0, res_cb, &a), 0);
	run_until(base, &a);
	TH_CHECK_EQ_INT(gh_httpc_request(c, "POST", u, NULL, 0, "p", 1, res_cb, &b), 0);
	run_until(base, &b);
	TH_CHECK_EQ_INT(b.done, 1);
	TH_CHECK_EQ_INT(b.r.error, GH_HTTPC_ECLOSED);
	TH_CHECK_EQ_INT(atomic_load(&s.accepts), 1);
	gh_httpc_resp_clear(&a.r);
	gh_httpc_resp_clear(&b.r);
	gh_httpc_free(c);
	fsrv_stop(&s);

	TH_TEST("keep-alive: HEAD leaves the connection reusable");
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	c = gh_httpc_new(base, &cfg);
	TH_CHECK(fsrv_start(&s, serve_keepalive, NULL) == 0);
	u = url_of("http", "127.0.0.1", s.port, "/");
	TH_CHECK_EQ_INT(gh_httpc_request(c, "HEAD", u, NULL, 0, NULL, 0, res_cb, &a), 0);
	run_until(base, &a);
	TH_CHECK_EQ_INT(a.r.status, 200);
	TH_CHECK(a.r.body == NULL);
	TH_CHECK_EQ_INT(gh_httpc_request(c, "GET", u, NULL, 0, NULL, 0, res_cb, &b), 0);
	run_until(base, &b);
	/* the HEAD response carried Content-Length: 4 and no body; the next one follows it */
	TH_CHECK_EQ_STR((char *)b.r.body, "c0r2");
	TH_CHECK_EQ_INT(atomic_load(&s.accepts), 1);
	gh_httpc_resp_clear(&a.r);
	gh_httpc_resp_clear(&b.r);
	gh_httpc_free(c);
	fsrv_stop(&s);

	TH_TEST("keep-alive: max_idle_per_host caps the pool");
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&d, 0, sizeof(d));
	cfg.max_idle_per_host = 1;
	c = gh_httpc_new(base, &cfg);
	TH_CHECK(fsrv_start(&s, serve_keepalive, NULL) == 0);
	s.concurrent = 1;
	u = url_of("http", "127.0.0.1", s.port, "/");
	TH_CHECK_EQ_INT(gh_httpc_request(c, "GET", u, NULL, 0, NULL, 0, res_cb, &a), 0);
	TH_CHECK_EQ_INT(gh_httpc_request(c, "GET", u, NULL, 0, NULL, 0, res_cb, &b), 0);
	run_until(base, &a);
	run_until(base, &b);
	TH_CHECK_EQ_INT(a.r.error + b.r.error, GH_HTTPC_OK);
	TH_CHECK_EQ_INT(atomic_load(&s.accepts), 2);
	spin(base, 100);
	/* one of the two went back to the pool, the other was closed */
	TH_CHECK_EQ_INT(atomic_load(&s.ended), 1);
	TH_CHECK_EQ_INT(gh_httpc_request(c, "GET", u, NULL, 0, NULL, 0, res_cb, &d), 0);
	run_until(base, &d);
	TH_CHECK_EQ_INT(d.r.error, GH_HTTPC_OK);
	TH_CHECK_EQ_INT(atomic_load(&s.accepts), 2);
	gh_httpc_resp_clear(&a.r);
	gh_httpc_resp_clear(&b.r);
	gh_httpc_resp_clear(&d.r);
	gh_httpc_free(c);
	fsrv_stop(&s);
	TH_CHECK_EQ_INT(atomic_load(&s.ended), 2);

	TH_TEST("a callback may free the client and its pool");
	{
		struct free_in_cb f = { 0 };

		f.c = gh_httpc_new(base, &cfg);
		TH_CHECK(fsrv_start(&s, serve_keepalive, NULL) == 0);
		u = url_of("http", "127.0.0.1", s.port, "/");
		TH_CHECK_EQ_INT(gh_httpc_request(f.c, "GET", u, NULL, 0, NULL, 0, free_cb, &f), 0);
		TH_CHECK_EQ_INT(gh_httpc_request(f.c, "GET", u, NULL, 0, NULL, 0, free_cb, &f), 0);
		spin(base, 300);
		TH_CHECK_EQ_INT(f.calls, 2);
		TH_CHECK_EQ_INT(f.ok + f.closed, 2);
		TH_CHECK(f.c == NULL);
		fsrv_stop(&s);
	}
	event_base_free(base);
}

/* ---------------------------------------------------------------- */
/* connection failures and timeouts                                   */

static int
free_port(void)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &sl) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static void
ssl_ctx_load(SSL_CTX *ctx, const char *dir, const char *cert, const char *key)
{
	char c[512], k[512];

	snprintf(c, sizeof(c), "%s/%s", dir, cert);
	snprintf(k, sizeof(k), "%s/%s", dir, key);
	if (SSL_CTX_use_certificate_chain_file(ctx, c) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, k, SSL_FILETYPE_PEM) != 1)
		fprintf(stderr, "cannot load %s / %s\n", c, k);
}

static SSL_CTX *
client_ctx(const char *dir, const char *ca, int with_cert)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, ca);
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (SSL_CTX_load_verify_locations(ctx, path, NULL) != 1)
		fprintf(stderr, "cannot load %s\n", path);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (with_cert)
		ssl_ctx_load(ctx, dir, "cli.pem", "cli.key");
	return ctx;
}

static SSL_CTX *
server_ctx(const char *dir, const char *cert, const char *key, int mtls)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	ssl_ctx_load(ctx, dir, cert, key);
	if (mtls) {
		char path[512];

		snprintf(path, sizeof(path), "%s/ca1.pem", dir);
		SSL_CTX_load_verify_locations(ctx, path, NULL);
		SSL_CTX_set_client_CA_list(ctx, SSL_load_client_CA_file(path));
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}
	return ctx;
}

static void
test_failures(const char *certs)
{
	struct gh_httpc_cfg cfg = cfg_test();
	struct gh_httpc_resp r;
	struct fsrv s;
	struct event_base *base;
	struct gh_httpc *c;
	struct res a = { 0 };
	struct gh_httpc_opts opts = { 0, 200 };
	long t0, dt;
	int port;

	TH_TEST("connect refused is ECONNECT");
	port = free_port();
	TH_CHECK(port > 0);
	TH_CHECK_EQ_INT(gh_httpc_fetch(&cfg, "GET", url_of("http", "127.0.0.1", port, "/"),
	    NULL, 0, NULL, 0, &r), -1);
	TH_CHECK_EQ_INT(r.error, GH_HTTPC_ECONNECT);
	gh_httpc_resp_clear(&r);
	/* localhost may resolve to ::1 first: every address is tried */
	TH_CHECK_EQ_INT(gh_httpc_fetch(&cfg, "GET", url_of("http", "localhost", port, "/"),
	    NULL, 0, NULL, 0, &r), -1);
	TH_CHECK_EQ_INT(r.error, GH_HTTPC_ECONNECT);
	gh_httpc_resp_clear(&r);

	TH_TEST("server that never answers is ETIMEOUT on time");
	TH_CHECK(fsrv_start(&s, serve_silent, NULL) == 0);
	cfg.timeout_ms = 300;
	t0 = now_ms();
	TH_CHECK_EQ_INT(gh_httpc_fetch(&cfg, "GET", url_of("http", "127.0.0.1", s.port, "/"),
	    NULL, 0, NULL, 0, &r), -1);
	dt = now_ms() - t0;
	TH_CHECK_EQ_INT(r.error, GH_HTTPC_ETIMEOUT);
	TH_CHECK_MSG(dt >= 280 && dt < 1500, "took %ld ms", dt);
	gh_httpc_resp_clear(&r);

	TH_TEST("per-request timeout overrides the client's");
	cfg.timeout_ms = 5000;
	base = event_base_new();
	c = gh_httpc_new(base, &cfg);
	t0 = now_ms();
	TH_CHECK_EQ_INT(gh_httpc_request_opts(c, &opts, "GET",
	    url_of("http", "127.0.0.1", s.port, "/"), NULL, 0, NULL, 0, res_cb, &a), 0);
	run_until(base, &a);
	dt = now_ms() - t0;
	TH_CHECK_EQ_INT(a.r.error, GH_HTTPC_ETIMEOUT);
	TH_CHECK_MSG(dt >= 180 && dt < 1500, "took %ld ms", dt);
	gh_httpc_resp_clear(&a.r);

	TH_TEST("freeing the client ends requests in flight with one callback");
	memset(&a, 0, sizeof(a));
	TH_CHECK_EQ_INT(gh_httpc_request(c, "GET", url_of("http", "127.0.0.1", s.port, "/"),
	    NULL, 0, NULL, 0, res_cb, &a), 0);
	spin(base, 50);
	TH_CHECK_EQ_INT(a.done, 0);
	gh_httpc_free(c);
	TH_CHECK_EQ_INT(a.done, 1);
	TH_CHECK_EQ_INT(a.r.error, GH_HTTPC_ECLOSED);
	spin(base, 20);
	TH_CHECK_EQ_INT(a.done, 1);
	gh_httpc_resp_clear(&a.r);
	event_base_free(base);
	fsrv_stop(&s);

	TH_TEST("TLS handshake never answered is ETIMEOUT after connect_timeout_ms");
	if (certs != NULL) {
		SSL_CTX *cctx = client_ctx(certs, "ca1.pem", 0);

		TH_CHECK(fsrv_start(&s, serve_mute, NULL) == 0);
		cfg.ssl = cctx;
		cfg.connect_timeout_ms = 200;
		cfg.timeout_ms = 5000;
		t0 = now_ms();
		TH_CHECK_EQ_INT(gh_httpc_fetch(&cfg, "GET", url_of("https", "127.0.0.1", s.port,
		    "/"), NULL, 0, NULL, 0, &r), -1);
		dt = now_ms() - t0;
		TH_CHECK_EQ_INT(r.error, GH_HTTPC_ETIMEOUT);
		TH_CHECK_MSG(dt >= 180 && dt < 1500, "took %ld ms", dt);
		gh_httpc_resp_clear(&r);
		fsrv_stop(&s);
		SSL_CTX_free(cctx);
		cfg = cfg_test();
	}

	TH_TEST("server closing mid-body is ECLOSED");
	TH_CHECK_EQ_INT(canned_fetch(CANNED("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
	    "0123456789"), 1, &cfg, "GET", &r, NULL, 0), -1);
	TH_CHECK_EQ_INT(r.error, GH_HTTPC_ECLOSED);
	TH_CHECK(r.body == NULL);
	gh_httpc_resp_clear(&r);
	TH_CHECK_EQ_INT(canned_fetch(CANNED("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "a\r\n01234"), 1, &cfg, "GET", &r, NULL, 0), -1);
	TH_CHECK_EQ_INT(r.error, GH_HTTPC_ECLOSED);
	gh_httpc_resp_clear(&r);
	TH_CHECK_EQ_INT(canned_fetch(CANNED("HTTP/1.1 200 OK\r\nContent-"), 1, &cfg, "GET",
	    &r, NULL, 0), -1);
	TH_CHECK_EQ_INT(r.error, GH_HTTPC_ECLOSED);
	gh_httpc_resp_clear(&r);
	TH_CHECK_EQ_INT(canned_fetch("", 0, 1, &cfg, "GET", &r, NULL, 0), -1);
	TH_CHECK_EQ_INT(r.error, GH_HTTPC_ECLOSED);
	gh_httpc_resp_clear(&r);
}

/* ---------------------------------------------------------------- */
/* TLS                                                                */

static void
test_tls(const char *certs)
{
	SSL_CTX *srv = server_ctx(certs, "srv.pem", "srv.key", 0);
	SSL_CTX *wrong = server_ctx(certs, "wrong.pem", "wrong.key", 0);
	SSL_CTX *mtls = server_ctx(certs, "srv.pem", "srv.key", 1);
	SSL_CTX *c1 = client_ctx(certs, "ca1.pem", 0);
	SSL_CTX *c2 = client_ctx(certs, "ca2.pem", 0);
	SSL_CTX *c1cert = client_ctx(certs, "ca1.pem", 1);
	struct gh_httpc_cfg cfg = cfg_test();
	struct gh_httpc_resp r;
	struct fsrv s;
	struct event_base *base;
	struct gh_httpc *c;
	struct res a = { 0 }, b = { 0 };
	char sni[256];

	TH_TEST("TLS: the right CA succeeds, by name and by address");
	TH_CHECK(fsrv_start(&s, serve_keepalive, srv) == 0);
	cfg.ssl = c1;
	TH_CHECK_EQ_INT(gh_httpc_fetch(&cfg, "GET", url_of("https", "localhost", s.port, "/s"),
	    NULL, 0, NULL, 0, &r), 0);
	TH_CHECK_EQ_INT(r.status, 200);
	TH_CHECK_EQ_STR((char *)r.body, "c0r1");
	gh_httpc_resp_clear(&r);
	pthread_mutex_lock(&s.mu);
	snprintf(sni, sizeof(sni), "%s", s.sni);
	pthread_mutex_unlock(&s.mu);
	TH_CHECK_EQ_STR(sni, "localhost");
	TH_CHECK_EQ_INT(gh_httpc_fetch(&cfg, "GET", url_of("https", "127.0.0.1", s.port, "/s"),
	    NULL, 0, NULL, 0, &r), 0);
	TH_CHECK_EQ_STR((char *)r.body, "c1r1");
	gh_httpc_resp_clear(&r);

	TH_TEST("TLS: keep-alive reuses the TLS connection");
	base = event_base_new();
	c = gh_httpc_new(base, &cfg);
	TH_CHECK_EQ_INT(gh_httpc_request(c, "GET", url_of("https", "localhost", s.port, "/"),
	    NULL, 0, NULL, 0, res_cb, &a), 0);
	run_until(base, &a);
	TH_CHECK_EQ_STR((char *)a.r.body, "c2r1");
	TH_CHECK_EQ_INT(gh_httpc_request(c, "GET", url_of("https", "localhost", s.port, "/"),
	    NULL, 0, NULL, 0, res_cb, &b), 0);
	run_until(base, &b);
	TH_CHECK_EQ_STR((char *)b.r.body, "c2r2");
	TH_CHECK_EQ_INT(atomic_load(&s.accepts), 3);
	gh_httpc_resp_clear(&a.r);
	gh_httpc_resp_clear(&b.r);
	gh_httpc_free(c);
	event_base_free(base);

	TH_TEST("TLS: another CA fails");
	cfg.ssl = c2;
	TH_CHECK_EQ_INT(gh_httpc_fetch(&cfg, "GET", url_of("https", "localhost", s.port, "/"),
	    NULL, 0, NULL, 0, &r), -1);
	TH_CHECK_EQ_INT(r.error, GH_HTTPC_ECONNECT);
	TH_CHECK_MSG(r.errstr != NULL && strstr(r.errstr, "certificate") != NULL, "%s", r.errstr);
	gh_httpc_resp_clear(&r);
	/* verification is forced even when the context asks for none */
	SSL_CTX_set_verify(c2, SSL_VERIFY_NONE, NULL);
	TH_CHECK_EQ_INT(gh_httpc_fetch(&cfg, "GET", url_of("https", "localhost", s.port, "/"),
	    NULL, 0, NULL, 0, &r), -1);
	TH_CHECK_EQ_INT(r.error, GH_HTTPC_ECONNECT);
	gh_httpc_resp_clear(&r);
	TH_CHECK_EQ_INT(atomic_load(&s.requests), 4);
	fsrv_stop(&s);

	TH_TEST("TLS: hostname mismatch fails");
	TH_CHECK(fsrv_start(&s, serve_keepalive, wrong) == 0);
	cfg.ssl = c1;
	TH_CHECK_EQ_INT(gh_httpc_fetch(&cfg, "GET", url_of("https", "localhost", s.port, "/"),
	    NULL, 0, NULL, 0, &r), -1);
	TH_CHECK_EQ_INT(r.error, GH_HTTPC_ECONNECT);
	TH_CHECK_MSG(r.errstr != NULL && strstr(r.errstr, "mismatch") != NULL, "%s", r.errstr);
	gh_httpc_resp_clear(&r);
	TH_CHECK_EQ_INT(gh_httpc_fetch(&cfg, "GET", url_of("https", "127.0.0.1", s.port, "/"),
	    NULL, 0, NULL, 0, &r), -1);
	TH_CHECK_EQ_INT(r.error, GH_HTTPC_ECONNECT);
	gh_httpc_resp_clear(&r);
	TH_CHECK_EQ_INT(atomic_load(&s.requests), 0);
	fsrv_stop(&s);

	TH_TEST("mutual TLS: with a client certificate accepted, without refused");
	TH_CHECK(fsrv_start(&s, serve_keepalive, mtls) == 0);
	cfg.ssl = c1cert;
	TH_CHECK_EQ_INT(gh_httpc_fetch(&cfg, "GET", url_of("https", "localhost", s.port, "/"),
	    NULL, 0, NULL, 0, &r), 0);
	TH_CHECK_EQ_INT(r.status, 200);
	TH_CHECK_EQ_STR((char *)r.body, "c0r1");
	gh_httpc_resp_clear(&r);
	cfg.ssl = c1;
	TH_CHECK_EQ_INT(gh_httpc_fetch(&cfg, "GET", url_of("https", "localhost", s.port, "/"),
	    NULL, 0, NULL, 0, &r), -1);
	TH_CHECK_MSG(r.error == GH_HTTPC_ECONNECT || r.error == GH_HTTPC_ECLOSED,
	    "error %d (%s)", r.error, r.errstr ? r.errstr : "");
	TH_CHECK_EQ_INT(r.status, 0);
	gh_httpc_resp_clear(&r);
	TH_CHECK_EQ_INT(atomic_load(&s.hs_fail), 1);
	TH_CHECK_EQ_INT(atomic_load(&s.requests), 1);
	fsrv_stop(&s);

	SSL_CTX_free(srv);
	SSL_CTX_free(wrong);
	SSL_CTX_free(mtls);
	SSL_CTX_free(c1);
	SSL_CTX_free(c2);
	SSL_CTX_free(c1cert);
}

int
main(void)
{
	const char *certs = getenv("GH_HTTPC_CERTS");
	int fds0, fds1;

	signal(SIGPIPE, SIG_IGN);
	fds0 = count_fds();
	test_urls();
	test_refused_requests();
	test_good_responses();
	test_malformed();
	test_keepalive();
	test_failures(certs);
	TH_TEST("TLS certificates present");
	TH_CHECK_MSG(certs != NULL, "GH_HTTPC_CERTS is not set (run 30-http-client.t)");
	if (certs != NULL)
		test_tls(certs);
	TH_TEST("no file descriptor left open");
	fds1 = count_fds();
	TH_CHECK_EQ_INT(fds1, fds0);
	TH_END();
}
