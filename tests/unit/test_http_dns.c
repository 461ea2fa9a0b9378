/*
 * Host-name resolution in the HTTP client (core/http_client.c): a backend
 * named "localhost" (from /etc/hosts) answers; a name whose name server
 * never answers fails within the connect timeout while requests on the
 * same event loop keep being answered (nothing blocks the loop); freeing
 * the client during a resolution reports ECLOSED and leaks nothing.  The
 * backend is a thread on a raw socket; the name server a UDP socket that
 * counts the queries it receives and answers none.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/gh_http.h"
#include "th.h"

static atomic_int stop;
static atomic_int dns_queries;
static int be_port, dns_port;

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* A bound socket of type on 127.0.0.1, its port in *port; -1 on failure. */
static int
bind_local(int type, int *port)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, type, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) != 0 ||
	    (type == SOCK_STREAM && listen(fd, 16) != 0)) {
		close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

/* One backend connection: "ok" to every request head, until EOF. */
static void *
be_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[8192];
	size_t have = 0;
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

	while (!atomic_load(&stop)) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		ssize_t n;
		char *end;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		if ((n = recv(fd, buf + have, sizeof(buf) - 1 - have, 0)) <= 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		while ((end = strstr(buf, "\r\n\r\n")) != NULL) {
			size_t used = (size_t)(end + 4 - buf);

			if (send(fd, resp, sizeof(resp) - 1, MSG_NOSIGNAL) < 0)
				goto out;
			memmove(buf, buf + used, have - used + 1);
			have -= used;
		}
	}
out:
	close(fd);
	return NULL;
}

static void *
be_main(void *arg)
{
	int lfd = (int)(intptr_t)arg;

	while (!atomic_load(&stop)) {
		struct pollfd pfd = { lfd, POLLIN, 0 };
		pthread_t t;
		int fd;

		if (poll(&pfd, 1, 50) <= 0 || (fd = accept(lfd, NULL, NULL)) < 0)
			continue;
		if (pthread_create(&t, NULL, be_conn, (void *)(intptr_t)fd) != 0)
			close(fd);
		else
			pthread_detach(t);
	}
	close(lfd);
	return NULL;
}

/* The silent name server: counts queries, answers none. */
static void *
dns_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[1500];

	while (!atomic_load(&stop)) {
		struct pollfd pfd = { fd, POLLIN, 0 };

		if (poll(&pfd, 1, 50) > 0 && recv(fd, buf, sizeof(buf), 0) > 0)
			atomic_fetch_add(&dns_queries, 1);
	}
	close(fd);
	return NULL;
}

/* ---- the client side, on one event loop ---- */

struct slow {
	int done;
	enum gh_httpc_err err;
	long at_ms;
};

struct quick {
	struct gh_httpc *c;
	struct slow *slow;
	int n, ok, max_ms, before_slow;
	long started;
	char url[128];
};

static void
slow_cb(struct gh_httpc_resp *resp, void *arg)
{
	struct slow *s = arg;

	s->done = 1;
	s->err = resp->error;
	s->at_ms = now_ms();
}

static void quick_next(struct quick *q);

static void
quick_cb(struct gh_httpc_resp *resp, void *arg)
{
	struct quick *q = arg;
	long took = now_ms() - q->started;

	if (resp->error == GH_HTTPC_OK && resp->status == 200 && resp->body_len == 2 &&
	    memcmp(resp->body, "ok", 2) == 0)
		q->ok++;
	if (took > q->max_ms)
		q->max_ms = (int)took;
	if (!q->slow->done)
		q->before_slow++;
	q->n++;
	quick_next(q);
}

/* The next of 20 requests, alternating a numeric address and "localhost". */
static void
quick_next(struct quick *q)
{
	if (q->n >= 20)
		return;
	snprintf(q->url, sizeof(q->url), "http://%s:%d/ok", q->n % 2 ? "localhost" : "127.0.0.1",
	    be_port);
	q->started = now_ms();
	if (gh_httpc_request(q->c, "GET", q->url, NULL, 0, NULL, 0, quick_cb, q) != 0)
		q->n = 99;
}

static void
brk_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

int
main(void)
{
	struct gh_httpc_cfg cfg;
	struct event_base *base;
	struct gh_httpc *c;
	struct event *brk;
	struct timeval tv = { 6, 0 };
	struct slow sl, sl2;
	struct quick q;
	pthread_t bt, dt;
	char conf[] = "/tmp/gh-httpc-dns.XXXXXX";
	char url[128];
	long t0;
	int lfd, ufd, cfd;
	FILE *f;

	signal(SIGPIPE, SIG_IGN);
	TH_TEST("set-up: a backend, a silent name server, a resolv.conf naming it");
	lfd = bind_local(SOCK_STREAM, &be_port);
	ufd = bind_local(SOCK_DGRAM, &dns_port);
	cfd = mkstemp(conf);
	TH_CHECK(lfd >= 0 && ufd >= 0 && cfd >= 0);
	if (lfd < 0 || ufd < 0 || cfd < 0)
		TH_END();
	f = fdopen(cfd, "w");
	fprintf(f, "nameserver 127.0.0.1:%d\noptions timeout:10 attempts:1\n", dns_port);
	fclose(f);
	pthread_create(&bt, NULL, be_main, (void *)(intptr_t)lfd);
	pthread_create(&dt, NULL, dns_main, (void *)(intptr_t)ufd);

	base = event_base_new();
	memset(&cfg, 0, sizeof(cfg));
	cfg.connect_timeout_ms = 1500;
	c = gh_httpc_new(base, &cfg);
	TH_CHECK(c != NULL && gh_httpc_set_resolv_conf(c, conf) == 0);

	TH_TEST("an unresolvable name does not stall the loop");
	memset(&sl, 0, sizeof(sl));
	memset(&q, 0, sizeof(q));
	q.c = c;
	q.slow = &sl;
	snprintf(url, sizeof(url), "http://backend.gh-test.invalid:%d/slow", be_port);
	t0 = now_ms();
	TH_CHECK(gh_httpc_request(c, "GET", url, NULL, 0, NULL, 0, slow_cb, &sl) == 0);
	quick_next(&q);
	brk = evtimer_new(base, brk_cb, base);
	evtimer_add(brk, &tv);
	while (!(sl.done && q.n >= 20) && event_base_loop(base, EVLOOP_ONCE) == 0 &&
	    now_ms() - t0 < 6000)
		;
	TH_CHECK_EQ_INT(q.n, 20);
	TH_CHECK_MSG(q.ok == 20, "%d of 20 answered 200 ok (127.0.0.1 and localhost)", q.ok);
	TH_CHECK_MSG(q.before_slow == 20, "%d of 20 answered while the name was resolving",
	    q.before_slow);
	TH_CHECK_MSG(q.max_ms < 500, "the slowest took %d ms", q.max_ms);
	TH_CHECK(sl.done);
	TH_CHECK_MSG(sl.err == GH_HTTPC_ETIMEOUT || sl.err == GH_HTTPC_ECONNECT, "err %d", sl.err);
	TH_CHECK_MSG(sl.at_ms - t0 >= 1300 && sl.at_ms - t0 < 3000,
	    "the unresolvable name failed after %ld ms (connect timeout 1500)", sl.at_ms - t0);
	TH_CHECK_MSG(atomic_load(&dns_queries) >= 1, "the name server got %d queries",
	    atomic_load(&dns_queries));

	TH_TEST("freeing the client during a resolution");
	memset(&sl2, 0, sizeof(sl2));
	snprintf(url, sizeof(url), "http://other.gh-test.invalid:%d/", be_port);
	TH_CHECK(gh_httpc_request(c, "GET", url, NULL, 0, NULL, 0, slow_cb, &sl2) == 0);
	event_base_loop(base, EVLOOP_NONBLOCK);
	gh_httpc_free(c);
	TH_CHECK(sl2.done);
	TH_CHECK_EQ_INT(sl2.err, GH_HTTPC_ECLOSED);
	/* evdns ends cancelled lookups from the loop (LeakSanitizer would see them) */
	event_base_loop(base, EVLOOP_NONBLOCK);

	event_free(brk);
	event_base_free(base);
	atomic_store(&stop, 1);
	pthread_join(bt, NULL);
	pthread_join(dt, NULL);
	unlink(conf);
	TH_END();
}
