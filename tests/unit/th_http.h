/*
 * Test helpers for the HTTP server tests: an event loop on its own
 * thread (the server lives there; the test thread talks to it over
 * loopback sockets with blocking I/O and hands it work through
 * th_loop_run()), and a raw HTTP/1.1 client that reads responses
 * byte-exact so the tests can see every header and the connection close.
 */
#ifndef TH_HTTP_H
#define TH_HTTP_H

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/ssl.h>

#define TH_UNUSED __attribute__((unused))

static struct event_base *th_base;
static pthread_t th_thread;

static void *
th_loop_main(void *arg)
{
	(void)arg;
	event_base_loop(th_base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static TH_UNUSED void
th_loop_start(void)
{
	evthread_use_pthreads();
	th_base = event_base_new();
	pthread_create(&th_thread, NULL, th_loop_main, NULL);
}

struct th_call {
	void (*fn)(void *);
	void *arg;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done;
};

static void
th_call_cb(evutil_socket_t fd, short what, void *arg)
{
	struct th_call *c = arg;

	(void)fd;
	(void)what;
	c->fn(c->arg);
	pthread_mutex_lock(&c->mu);
	c->done = 1;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

/* Run fn(arg) on the loop thread and wait for it. */
static TH_UNUSED void
th_loop_run(void (*fn)(void *), void *arg)
{
	struct th_call c = { fn, arg, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };
	struct timeval tv = { 0, 0 };

	event_base_once(th_base, -1, EV_TIMEOUT, th_call_cb, &c, &tv);
	pthread_mutex_lock(&c.mu);
	while (!c.done)
		pthread_cond_wait(&c.cv, &c.mu);
	pthread_mutex_unlock(&c.mu);
}

static void
th_exit_cb(void *arg)
{
	(void)arg;
	event_base_loopexit(th_base, NULL);
}

static TH_UNUSED void
th_loop_stop(void)
{
	th_loop_run(th_exit_cb, NULL);
	pthread_join(th_thread, NULL);
	event_base_free(th_base);
	libevent_global_shutdown();
}

static TH_UNUSED long
th_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* ---- raw client -------------------------------------------------------- */

struct th_cli {
	int fd;
	SSL *ssl;                /* NULL: plain TCP */
	char buf[65536];
	size_t len;
};

struct th_resp {
	int status;
	char head[8192];
	char body[16384];
	size_t body_len;
};

/* Connect to 127.0.0.1:port; 0 ok, -1 with errno (ECONNREFUSED...). */
static TH_UNUSED int
th_cli_open(struct th_cli *c, int port)
{
	struct sockaddr_in sa;
	struct timeval tv = { 3, 0 };

	c->len = 0;
	c->ssl = NULL;
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(c->fd);
		c->fd = -1;
		errno = e;
		return -1;
	}
	return 0;
}

static TH_UNUSED void
th_cli_close(struct th_cli *c)
{
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	c->ssl = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static TH_UNUSED int
th_cli_send(struct th_cli *c, const void *p, size_t n)
{
	const char *s = p;

	while (n > 0) {
		ssize_t w = c->ssl != NULL ? SSL_write(c->ssl, s, (int)n) :
		    send(c->fd, s, n, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

static TH_UNUSED int
th_cli_sends(struct th_cli *c, const char *s)
{
	return th_cli_send(c, s, strlen(s));
}

/* Read more bytes into the buffer; returns bytes read, 0 on EOF, -1 on error/timeout. */
static int
th_cli_fill(struct th_cli *c)
{
	ssize_t n;

	if (c->len >= sizeof(c->buf))
		return -1;
	if (c->ssl != NULL)
		n = SSL_read(c->ssl, c->buf + c->len, (int)(sizeof(c->buf) - c->len));
	else
		n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	if (n > 0)
		c->len += (size_t)n;
	return (int)n;
}

/* Value of header name in a response head (copied into a static buffer), or NULL. */
static TH_UNUSED const char *
th_resp_header(const struct th_resp *r, const char *name)
{
	static char val[1024];
	const char *p = r->head;
	size_t nl = strlen(name);

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1, *e;
			while (*v == ' ')
				v++;
			e = strstr(v, "\r\n");
			if (e == NULL || (size_t)(e - v) >= sizeof(val))
				return NULL;
			memcpy(val, v, (size_t)(e - v));
			val[e - v] = '\0';
			return val;
		}
	}
	return NULL;
}

/*
 * Parse one response from c->buf (reading more as needed) into r.
 * no_body: the request was HEAD.  0 ok, -1 when the connection ended or
 * timed out before a whole response.
 */
static TH_UNUSED int
th_cli_read_resp(struct th_cli *c, struct th_resp *r, int no_body)
{
	char *end;
	size_t hlen, clen = 0;
	const char *cl;

	memset(r, 0, sizeof(*r));
	r->status = -1;
	for (;;) {
		end = c->len >= 4 ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL;
		if (end != NULL)
			break;
		if (th_cli_fill(c) <= 0)
			return -1;
	}
	hlen = (size_t)(end - c->buf) + 4;
	if (hlen >= sizeof(r->head))
		return -1;
	memcpy(r->head, c->buf, hlen);
	r->head[hlen] = '\0';
	if (sscanf(r->head, "HTTP/1.1 %d ", &r->status) != 1)
		return -1;
	cl = th_resp_header(r, "Content-Length");
	if (cl != NULL && !no_body && r->status != 204 && r->status != 304 && r->status >= 200)
		clen = strtoul(cl, NULL, 10);
	if (clen >= sizeof(r->body))
		return -1;
	while (c->len < hlen + clen)
		if (th_cli_fill(c) <= 0)
			return -1;
	memcpy(r->body, c->buf + hlen, clen);
	r->body[clen] = '\0';
	r->body_len = clen;
	memmove(c->buf, c->buf + hlen + clen, c->len - hlen - clen);
	c->len -= hlen + clen;
	return 0;
}

/* 1 when the server closed the connection (EOF or reset) within ms with no more bytes. */
static TH_UNUSED int
th_cli_closed(struct th_cli *c, int ms)
{
	struct pollfd pfd = { c->fd, POLLIN, 0 };
	char b[256];
	ssize_t n;

	if (c->len > 0 || (c->ssl != NULL && SSL_pending(c->ssl) > 0))
		return 0;
	if (poll(&pfd, 1, ms) <= 0)
		return 0;
	if (c->ssl != NULL) {
		int rc = SSL_read(c->ssl, b, sizeof(b));
		return rc <= 0 && SSL_get_error(c->ssl, rc) != SSL_ERROR_WANT_READ;
	}
	n = recv(c->fd, b, sizeof(b), MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno == ECONNRESET);
}

#endif
