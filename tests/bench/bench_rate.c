/*
 * bench_rate: a small fixed-rate (open-loop) HTTP/1.1 load generator for
 * tests/bench/gateway.sh, since Debian has no wrk2.  Request i is due at
 * start + i / RATE whatever happened before; it goes out on the first idle
 * one of CONNS kept-alive connections (one request in flight on each), and
 * its latency runs from its DUE time to the end of its response, so a stall
 * of the server is charged to every request it delayed (no coordinated
 * omission).  Plain HTTP or TLS (OpenSSL, no certificate check: loopback
 * benchmark).  Extra header lines come from a file; with a token file the
 * requests cycle through its lines as "Authorization: Bearer TOKEN".
 * One thread, epoll, nanosecond timeouts (epoll_pwait2); -s spins instead of
 * sleeping (its own CPU stays busy, so its wake-ups add no delay).  Requests
 * unanswered 5 s after the last one was due are timeouts, counted in the
 * percentiles with their wait so far.  Prints one line:
 * "rate: sent=N done=N errors=N timeouts=N non2xx=N offered=R achieved=R p50_ms=..
 * p90_ms=.. p99_ms=.. p999_ms=.. max_ms=..".  Exit 0 when it could measure.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define RATE_INBUF 65536
#define RATE_REQMAX 16384

struct rate_conn {
	int fd;
	SSL *ssl;
	int busy;		/* a request is in flight */
	int64_t due_ns;		/* its due time */
	size_t inlen;
	char in[RATE_INBUF];
};

static struct {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	SSL_CTX *tls;
	char host[256];
	char path[2048];
	char *headers;		/* extra header lines, CRLF-terminated */
	char **tokens;
	size_t ntokens, next_token;
	struct rate_conn *conns;
	int nconns;
	int ep;
	int *idle;		/* stack of idle connection indexes */
	int nidle;
	uint32_t *lat_us;	/* one per completed request */
	size_t done, errors, non2xx;
} g;

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void
die(const char *what)
{
	fprintf(stderr, "bench_rate: %s\n", what);
	exit(1);
}

/* The whole file as a string (malloc'd); exits on error. */
static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL)
		die("cannot open an input file");
	for (;;) {
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 1 << 20;
			if ((buf = realloc(buf, cap)) == NULL)
				die("out of memory");
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		if (n == 0)
			break;
		len += n;
	}
	fclose(f);
	buf[len] = '\0';
	return buf;
}

static void
load_headers(const char *path)
{
	char *text = slurp(path), *line, *save = NULL;
	size_t cap = strlen(text) * 2 + 16, len = 0;

	if ((g.headers = malloc(cap)) == NULL)
		die("out of memory");
	g.headers[0] = '\0';
	for (line = strtok_r(text, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save))
		len += (size_t)snprintf(g.headers + len, cap - len, "%s\r\n", line);
	free(text);
}

static void
load_tokens(const char *path)
{
	char *text = slurp(path), *line, *save = NULL;
	size_t cap = 1024;

	if ((g.tokens = malloc(cap * sizeof(*g.tokens))) == NULL)
		die("out of memory");
	for (line = strtok_r(text, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
		if (g.ntokens == cap) {
			cap *= 2;
			if ((g.tokens = realloc(g.tokens, cap * sizeof(*g.tokens))) == NULL)
				die("out of memory");
		}
		g.tokens[g.ntokens++] = line;	/* points into text, kept for the run */
	}
	if (g.ntokens == 0)
		die("the token file is empty");
}

/* http[s]://HOST:PORT/PATH; returns 1 for https. */
static int
parse_url(const char *url)
{
	const char *p, *slash, *colon;
	char port[16] = "80";
	struct addrinfo hints = { 0 }, *ai = NULL;
	int tls = 0;

	if (strncmp(url, "https://", 8) == 0) {
		tls = 1;
		p = url + 8;
		strcpy(port, "443");
	} else if (strncmp(url, "http://", 7) == 0) {
		p = url + 7;
	} else {
		die("the URL must start with http:// or https://");
	}
	slash = strchr(p, '/');
	if (slash == NULL)
		slash = p + strlen(p);
	snprintf(g.host, sizeof(g.host), "%.*s", (int)(slash - p), p);
	snprintf(g.path, sizeof(g.path), "%s", *slash ? slash : "/");
	colon = strrchr(g.host, ':');
	if (colon != NULL) {
		snprintf(port, sizeof(port), "%s", colon + 1);
	}
	{
		char name[256];

		snprintf(name, sizeof(name), "%.*s", colon ? (int)(colon - g.host) : (int)strlen(g.host), g.host);
		hints.ai_family = AF_INET;
		hints.ai_socktype = SOCK_STREAM;
		if (getaddrinfo(name, port, &hints, &ai) != 0 || ai == NULL)
			die("cannot resolve the URL's host");
	}
	memcpy(&g.addr, ai->ai_addr, ai->ai_addrlen);
	g.addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return tls;
}

static void
conn_close(struct rate_conn *c)
{
	if (c->ssl != NULL) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0) {
		epoll_ctl(g.ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
	c->busy = 0;
	c->inlen = 0;
}

/* A blocking connect (and TLS handshake), then non-blocking; 0 or -1. */
static int
conn_open(struct rate_conn *c)
{
	int one = 1, fl;
	struct epoll_event ev = { 0 };

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&g.addr, g.addrlen) != 0)
		goto fail;
	if (g.tls != NULL) {
		char name[256];
		const char *colon = strrchr(g.host, ':');

		snprintf(name, sizeof(name), "%.*s", colon ? (int)(colon - g.host) : (int)strlen(g.host), g.host);
		if ((c->ssl = SSL_new(g.tls)) == NULL)
			goto fail;
		SSL_set_fd(c->ssl, c->fd);
		SSL_set_tlsext_host_name(c->ssl, name);
		if (SSL_connect(c->ssl) != 1)
			goto fail;
	}
	fl = fcntl(c->fd, F_GETFL);
	fcntl(c->fd, F_SETFL, fl | O_NONBLOCK);
	ev.events = EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(g.ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
		goto fail;
	c->busy = 0;
	c->inlen = 0;
	return 0;
fail:
	conn_close(c);
	return -1;
}

/* Write all of buf (the socket is idle, so this rarely waits); 0 or -1. */
static int
conn_write(struct rate_conn *c, const char *buf, size_t len)
{
	size_t off = 0;
	struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };

	while (off < len) {
		ssize_t n;

		if (c->ssl != NULL) {
			int r = SSL_write(c->ssl, buf + off, (int)(len - off));

			if (r > 0) {
				n = r;
			} else {
				int e = SSL_get_error(c->ssl, r);

				if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ)
					return -1;
				pfd.events = e == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;
				poll(&pfd, 1, 1000);
				continue;
			}
		} else {
			n = write(c->fd, buf + off, len - off);
			if (n < 0) {
				if (errno != EAGAIN && errno != EINTR)
					return -1;
				pfd.events = POLLOUT;
				poll(&pfd, 1, 1000);
				continue;
			}
		}
		off += (size_t)n;
	}
	return 0;
}

/* Length of a chunked body starting at b (len bytes): total bytes, 0 if incomplete, -1 bad. */
static long
chunked_len(const char *b, size_t len)
{
	size_t off = 0;

	for (;;) {
		const char *eol = memmem(b + off, len - off, "\r\n", 2);
		char *end;
		unsigned long sz;

		if (eol == NULL)
			return 0;
		sz = strtoul(b + off, &end, 16);
		if (end == b + off)
			return -1;
		off = (size_t)(eol - b) + 2;
		if (sz == 0) {
			/* trailers until an empty line */
			for (;;) {
				eol = memmem(b + off, len - off, "\r\n", 2);
				if (eol == NULL)
					return 0;
				if (eol == b + off)
					return (long)(off + 2);
				off = (size_t)(eol - b) + 2;
			}
		}
		if (len - off < sz + 2)
			return 0;
		off += sz + 2;
	}
}

/* A complete response at the head of c->in: its length (and status, close flag), 0 if not yet. */
static long
response_len(struct rate_conn *c, int *status, int *close_after)
{
	const char *hend = memmem(c->in, c->inlen, "\r\n\r\n", 4), *p;
	size_t hlen;
	long clen = -1, body;
	int chunked = 0;

	if (hend == NULL)
		return c->inlen >= sizeof(c->in) ? -1 : 0;
	hlen = (size_t)(hend - c->in) + 4;
	if (c->inlen < 12 || strncmp(c->in, "HTTP/1.", 7) != 0)
		return -1;
	*status = atoi(c->in + 9);
	*close_after = strncmp(c->in, "HTTP/1.0", 8) == 0;
	for (p = memchr(c->in, '\n', hlen); p != NULL && p + 1 < hend; p = memchr(p + 1, '\n', (size_t)(hend - p))) {
		const char *h = p + 1;

		if (strncasecmp(h, "content-length:", 15) == 0)
			clen = strtol(h + 15, NULL, 10);
		else if (strncasecmp(h, "transfer-encoding:", 18) == 0 && strstr(h, "chunked") != NULL &&
		    strstr(h, "chunked") < hend)
			chunked = 1;
		else if (strncasecmp(h, "connection:", 11) == 0 && strncasecmp(h + 11, " close", 6) == 0)
			*close_after = 1;
	}
	if (chunked) {
		body = chunked_len(c->in + hlen, c->inlen - hlen);
		if (body <= 0)
			return body;
		return (long)hlen + body;
	}
	if (clen < 0)
		clen = 0;	/* no body: the benchmark's answers always say their length */
	if (c->inlen - hlen < (size_t)clen)
		return (long)(hlen + (size_t)clen) > (long)sizeof(c->in) ? -1 : 0;
	return (long)hlen + clen;
}

static void
conn_failed(struct rate_conn *c)
{
	if (c->busy)
		g.errors++;
	conn_close(c);
	if (conn_open(c) == 0)
		g.idle[g.nidle++] = (int)(c - g.conns);
}

static void
on_readable(struct rate_conn *c)
{
	for (;;) {
		ssize_t n;
		long rl;
		int status = 0, close_after = 0;

		if (c->ssl != NULL) {
			int r = SSL_read(c->ssl, c->in + c->inlen, (int)(sizeof(c->in) - c->inlen));

			if (r <= 0) {
				int e = SSL_get_error(c->ssl, r);

				if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
					return;
				conn_failed(c);
				return;
			}
			n = r;
		} else {
			n = read(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return;
			if (n <= 0) {
				conn_failed(c);
				return;
			}
		}
		c->inlen += (size_t)n;
		rl = response_len(c, &status, &close_after);
		if (rl < 0 || (rl > 0 && !c->busy)) {
			conn_failed(c);
			return;
		}
		if (rl == 0)
			continue;
		{
			int64_t lat = now_ns() - c->due_ns;

			g.lat_us[g.done++] = lat > 0 ? (uint32_t)(lat / 1000) : 0;
		}
		if (status < 200 || status > 299)
			g.non2xx++;
		c->busy = 0;
		memmove(c->in, c->in + rl, c->inlen - (size_t)rl);
		c->inlen -= (size_t)rl;
		if (close_after) {
			conn_close(c);
			if (conn_open(c) == 0)
				g.idle[g.nidle++] = (int)(c - g.conns);
			return;
		}
		g.idle[g.nidle++] = (int)(c - g.conns);
		if (c->ssl == NULL || SSL_pending(c->ssl) == 0)
			return;
	}
}

static int
send_one(struct rate_conn *c, int64_t due)
{
	static char req[RATE_REQMAX];
	int len;

	if (g.ntokens > 0) {
		const char *tok = g.tokens[g.next_token++ % g.ntokens];

		len = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n%sAuthorization: Bearer %s\r\n\r\n",
		    g.path, g.host, g.headers ? g.headers : "", tok);
	} else {
		len = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", g.path, g.host,
		    g.headers ? g.headers : "");
	}
	if (len <= 0 || len >= (int)sizeof(req))
		die("a request is longer than 16 KiB");
	c->busy = 1;
	c->due_ns = due;
	if (conn_write(c, req, (size_t)len) != 0) {
		conn_failed(c);
		return -1;
	}
	return 0;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double
pct(double p)
{
	size_t i;

	if (g.done == 0)
		return 0;
	i = (size_t)(p * (double)g.done);
	if (i >= g.done)
		i = g.done - 1;
	return g.lat_us[i] / 1000.0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_rate [-s] [-c CONNS] [-r RATE] [-d SECONDS] [-H HEADER_FILE] [-T TOKEN_FILE] URL\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	int nconns = 32, i, opt, spin = 0;
	double rate = 1000, seconds = 5;
	const char *hfile = NULL, *tfile = NULL;
	size_t total, sent = 0, timeouts = 0, answered;
	int64_t t0, interval_ns, end_grace, last_done = 0;
	struct epoll_event evs[256];

	while ((opt = getopt(argc, argv, "c:r:d:H:T:s")) != -1) {
		switch (opt) {
		case 'c': nconns = atoi(optarg); break;
		case 'r': rate = atof(optarg); break;
		case 'd': seconds = atof(optarg); break;
		case 'H': hfile = optarg; break;
		case 'T': tfile = optarg; break;
		case 's': spin = 1; break;
		default: usage();
		}
	}
	if (optind != argc - 1 || nconns < 1 || nconns > 10000 || rate <= 0 || seconds <= 0)
		usage();
	if (hfile)
		load_headers(hfile);
	if (tfile)
		load_tokens(tfile);
	if (parse_url(argv[optind])) {
		if ((g.tls = SSL_CTX_new(TLS_client_method())) == NULL)
			die("SSL_CTX_new failed");
		SSL_CTX_set_verify(g.tls, SSL_VERIFY_NONE, NULL);
	}
	total = (size_t)(rate * seconds);
	if (total == 0)
		usage();
	interval_ns = (int64_t)(1e9 / rate);
	g.lat_us = calloc(total, sizeof(*g.lat_us));
	g.conns = calloc((size_t)nconns, sizeof(*g.conns));
	g.idle = calloc((size_t)nconns, sizeof(*g.idle));
	g.nconns = nconns;
	if ((g.ep = epoll_create1(EPOLL_CLOEXEC)) < 0 || !g.lat_us || !g.conns || !g.idle)
		die("out of memory");
	for (i = 0; i < nconns; i++) {
		g.conns[i].fd = -1;
		if (conn_open(&g.conns[i]) != 0)
			die("cannot connect");
		g.idle[g.nidle++] = i;
	}

	t0 = now_ns();
	end_grace = t0 + (int64_t)(seconds * 1e9) + 5000000000LL;
	while (g.done + g.errors < total) {
		int64_t now = now_ns(), wait_ns;
		size_t due = (size_t)((now - t0) / interval_ns) + 1;
		struct timespec ts;
		int n;

		if (now > end_grace)
			break;
		if (due > total)
			due = total;
		while (sent < due && g.nidle > 0) {
			struct rate_conn *c = &g.conns[g.idle[--g.nidle]];

			send_one(c, t0 + (int64_t)sent * interval_ns);
			sent++;
		}
		if (sent < due || sent == total) {
			wait_ns = 100000000;	/* waiting for an answer */
		} else {
			wait_ns = t0 + (int64_t)sent * interval_ns - now_ns();
			if (wait_ns < 0)
				wait_ns = 0;
		}
		if (spin)
			wait_ns = 0;
		ts.tv_sec = wait_ns / 1000000000LL;
		ts.tv_nsec = wait_ns % 1000000000LL;
		n = epoll_pwait2(g.ep, evs, 256, &ts, NULL);
		if (n < 0 && errno == ENOSYS)
			n = epoll_wait(g.ep, evs, 256, (int)(wait_ns / 1000000));
		for (i = 0; i < n; i++)
			on_readable(evs[i].data.ptr);
		if (n > 0)
			last_done = now_ns();
	}
	/* Requests still unanswered 5 s after the last was due count as timeouts, and
	 * their wait so far is their latency (a server that cannot keep up shows it). */
	answered = g.done;
	{
		int64_t end = now_ns();

		for (i = 0; i < nconns; i++) {
			if (g.conns[i].busy) {
				g.lat_us[g.done++] = (uint32_t)((end - g.conns[i].due_ns) / 1000);
				timeouts++;
			}
		}
		for (size_t k = sent; k < total && g.done < total; k++) {
			g.lat_us[g.done++] = (uint32_t)((end - (t0 + (int64_t)k * interval_ns)) / 1000);
			timeouts++;
		}
	}
	qsort(g.lat_us, g.done, sizeof(*g.lat_us), cmp_u32);
	printf("rate: sent=%zu done=%zu errors=%zu timeouts=%zu non2xx=%zu offered=%.0f achieved=%.0f "
	    "p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f\n", sent, g.done, g.errors, timeouts,
	    g.non2xx, rate, last_done > t0 ? answered / ((double)(last_done - t0) / 1e9) : 0.0, pct(0.50), pct(0.90),
	    pct(0.99), pct(0.999), g.done ? g.lat_us[g.done - 1] / 1000.0 : 0.0);
	for (i = 0; i < nconns; i++)
		conn_close(&g.conns[i]);
	return answered > 0 ? 0 : 1;
}
