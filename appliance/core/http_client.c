/*
 * HTTP/1.1 client on libevent bufferevents and llhttp.  A gh_httpc owns
 * its keep-alive pools (one per scheme, host and port), every connection
 * in them and every request in flight; a request owns its connection
 * while it runs and gives it back to the pool when the response was
 * complete and reusable.  The header block of a response is checked by a
 * pre-scan (CRLF only, no NUL, no obs-fold, no space before a colon, a
 * strict status line) before llhttp sees it; llhttp then frames the body.
 * Host names are resolved without blocking, by the client's own evdns
 * base on its event loop (/etc/hosts, then the resolv.conf name servers),
 * when a new connection is made; numeric addresses need no resolver.  The
 * connect timeout covers the resolution.
 */
#include "core/http_client_int.h"

static void conn_readcb(struct bufferevent *bev, void *arg);
static void conn_eventcb(struct bufferevent *bev, short what, void *arg);
static void req_connect(struct httpc_req *req);

/* ---------------------------------------------------------------- */
/* connections and pools                                              */

static void
conn_free(struct httpc_conn *conn)
{
	if (conn == NULL)
		return;
	if (conn->idle) {
		TAILQ_REMOVE(&conn->pool->idle, conn, link);
		conn->pool->nidle--;
	}
	if (conn->req != NULL && conn->req->conn == conn)
		conn->req->conn = NULL;
	if (conn->rd != NULL)
		event_free(conn->rd);
	if (conn->bev != NULL)
		bufferevent_free(conn->bev);
	free(conn);
}

/*
 * Reading on or off.  A connected plain connection reads with its own
 * event and one recv() per readable event (conn_rdcb): the bufferevent's
 * reader asks the socket for its pending byte count (an FIONREAD ioctl)
 * before every read.  TLS, and a connection being set up, read through
 * the bufferevent.
 */
static void
conn_read(struct httpc_conn *conn, int on)
{
	if (conn->rd == NULL) {
		if (on)
			bufferevent_enable(conn->bev, EV_READ);
		else
			bufferevent_disable(conn->bev, EV_READ);
		return;
	}
	if (on)
		event_add(conn->rd, NULL);
	else
		event_del(conn->rd);
}

/*
 * The read event of a connected plain connection: one recv() into the
 * bufferevent's input, then the bufferevent's read callback, or its event
 * callback on EOF or an error, as the bufferevent itself would call them.
 */
static void
conn_rdcb(evutil_socket_t fd, short what, void *arg)
{
	struct httpc_conn *conn = arg;
	struct bufferevent *bev = conn->bev;
	struct evbuffer *in = bufferevent_get_input(bev);
	bufferevent_data_cb readcb = NULL;
	bufferevent_event_cb eventcb = NULL;
	void *cbarg = NULL;
	struct evbuffer_iovec v;
	ssize_t n = -1;

	(void)what;
	bufferevent_getcb(bev, &readcb, NULL, &eventcb, &cbarg);
	if (evbuffer_reserve_space(in, HTTPC_READ_CHUNK, &v, 1) >= 1) {
		n = recv(fd, v.iov_base, v.iov_len, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
	}
	if (n <= 0) {
		event_del(conn->rd);
		if (eventcb != NULL)
			eventcb(bev, BEV_EVENT_READING | (n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR), cbarg);
		return;
	}
	v.iov_len = (size_t)n;
	if (evbuffer_commit_space(in, &v, 1) != 0) {
		event_del(conn->rd);
		if (eventcb != NULL)
			eventcb(bev, BEV_EVENT_READING | BEV_EVENT_ERROR, cbarg);
		return;
	}
	if (readcb != NULL)
		readcb(bev, cbarg);
}

/* A plain connection is up: from now on it reads with conn_rdcb (else it stays on the bufferevent). */
static void
conn_own_read(struct httpc_conn *conn)
{
	int reading = (bufferevent_get_enabled(conn->bev) & EV_READ) != 0;

	if (conn->pool->https || conn->rd != NULL)
		return;
	conn->rd = event_new(conn->c->base, bufferevent_getfd(conn->bev), EV_READ | EV_PERSIST,
	    conn_rdcb, conn);
	if (conn->rd == NULL)
		return;
	bufferevent_disable(conn->bev, EV_READ);
	if (reading)
		event_add(conn->rd, NULL);
}

static void
idle_readcb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	/* Bytes nobody asked for: the connection is out of step. */
	conn_free(arg);
}

static void
idle_eventcb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	conn_free(arg);
}

static void
pool_put(struct httpc_conn *conn)
{
	struct httpc_pool *pool = conn->pool;

	conn->req = NULL;
	if (conn->c->freeing || pool->nidle >= conn->c->cfg.max_idle_per_host ||
	    evbuffer_get_length(bufferevent_get_input(conn->bev)) != 0) {
		conn_free(conn);
		return;
	}
	bufferevent_setcb(conn->bev, idle_readcb, NULL, idle_eventcb, conn);
	conn_read(conn, 1);
	TAILQ_INSERT_HEAD(&pool->idle, conn, link);
	pool->nidle++;
	conn->idle = 1;
}

static struct httpc_conn *
pool_take(struct httpc_pool *pool)
{
	struct httpc_conn *conn = TAILQ_FIRST(&pool->idle);

	if (conn == NULL)
		return NULL;
	TAILQ_REMOVE(&pool->idle, conn, link);
	pool->nidle--;
	conn->idle = 0;
	return conn;
}

static struct httpc_pool *
pool_find(struct gh_httpc *c, const struct gh_httpc_url *u)
{
	struct httpc_pool *pool;

	for (pool = c->pools; pool != NULL; pool = pool->next)
		if (pool->https == u->https && pool->port == u->port &&
		    strcmp(pool->host, u->host) == 0)
			return pool;
	pool = calloc(1, sizeof(*pool));
	if (pool == NULL)
		return NULL;
	pool->https = u->https;
	pool->port = u->port;
	snprintf(pool->host, sizeof(pool->host), "%s", u->host);
	TAILQ_INIT(&pool->idle);
	pool->next = c->pools;
	c->pools = pool;
	return pool;
}

/* ---------------------------------------------------------------- */
/* finishing a request                                                */

static void
req_free(struct httpc_req *req)
{
	/* the events live in req: taken off the loop, nothing to free */
	if (req->tmo != NULL)
		event_del(req->tmo);
	if (req->ctmo != NULL)
		event_del(req->ctmo);
	if (req->later != NULL)
		event_del(req->later);
	if (req->kick != NULL)
		event_del(req->kick);
	if (req->dnsreq != NULL) {
		struct evdns_getaddrinfo_request *dr = req->dnsreq;

		req->dnsreq = NULL;
		evdns_getaddrinfo_cancel(dr);   /* its callback sees EVUTIL_EAI_CANCEL */
	}
	if (req->ai != NULL)
		evutil_freeaddrinfo(req->ai);
	gh_httpc_url_clear(&req->url);
	gh_httpc_resp_clear(&req->resp);
	free(req->hpos);
	free(req->wire);
	free(req);
}

/*
 * Detach req from everything the client owns, give its connection back
 * to the pool or close it, then run the callback.  Nothing of the client
 * is touched after the callback, which may start requests or free it.
 */
static void
req_finish(struct httpc_req *req, enum gh_httpc_err err, const char *str)
{
	struct httpc_conn *conn = req->conn;

	if (err != GH_HTTPC_OK)
		gh_httpc_resp_clear(&req->resp);   /* only the error is meaningful */
	req->resp.error = err;
	req->resp.errstr = str;
	req->conn = NULL;
	if (req->upload && !req->up_ended)
		req->reusable = 0;    /* the backend answered before the body ended */
	if (conn != NULL) {
		conn->req = NULL;
		if (err == GH_HTTPC_OK && req->reusable)
			pool_put(conn);
		else
			conn_free(conn);
	}
	TAILQ_REMOVE(&req->c->reqs, req, link);
	req->phase = PH_DONE;
	if (req->streaming)
		req->s.on_done(err, str, req->arg);
	else
		req->cb(&req->resp, req->arg);
	req_free(req);
}

static void
req_later_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpc_req *req = arg;

	(void)fd;
	(void)what;
	req_finish(req, req->later_err, req->later_str);
}

/* Report a failure from the event loop, never from inside gh_httpc_request(). */
static void
req_fail_later(struct httpc_req *req, enum gh_httpc_err err, const char *str)
{
	struct timeval now = { 0, 0 };

	req->later_err = err;
	req->later_str = str;
	evtimer_add(req->later, &now);
}

static void
req_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	req_finish(arg, GH_HTTPC_ETIMEOUT, "response timeout");
}

static void
req_ctimeout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	req_finish(arg, GH_HTTPC_ETIMEOUT, "connect timeout");
}

/* ---------------------------------------------------------------- */
/* connection callbacks while a request runs                          */

static void
req_retry(struct httpc_req *req)
{
	conn_free(req->conn);
	req->conn = NULL;
	req->retried = 1;
	req->got = 0;
	req->scan_pos = 0;
	req->field_done = 0;
	req->complete = 0;
	req->perr = NULL;
	req->phase = PH_HEAD;
	gh_httpc_resp_clear(&req->resp);
	req->hcap = req->bcap = 0;
	req->hlen = req->hmcap = 0;
	req->hopen = 0;
	req_connect(req);
}

/*
 * Streamed: hand the parsed head to on_head.  0 go on, -1 when the
 * request was finished or cancelled (stop touching it).
 */
static int
stream_head(struct httpc_req *req)
{
	req->head_done = 1;
	if (req->s.on_head(&req->resp, req->arg) != 0) {
		req_finish(req, GH_HTTPC_ECLOSED, "cancelled");
		return -1;
	}
	return req->cancelled ? -1 : 0;
}

/*
 * Streamed: hand what the last feed decoded to on_data and restart the
 * read timeout.  0 go on (req->paused set when asked to wait), -1 when
 * the request was finished or cancelled.
 */
static int
stream_data(struct httpc_req *req)
{
	struct gh_httpc_resp *r = &req->resp;
	struct timeval tv;
	size_t n = r->body_len;
	int rc;

	if (n == 0)
		return 0;
	r->body_len = 0;
	rc = req->s.on_data(r->body, n, req->arg);
	if (rc < 0) {
		req_finish(req, GH_HTTPC_ECLOSED, "cancelled");
		return -1;
	}
	if (req->cancelled)
		return -1;
	if (rc > 0 && req->conn != NULL) {
		req->paused = 1;
		conn_read(req->conn, 0);
		evtimer_del(req->tmo);
		return 0;
	}
	tv.tv_sec = req->timeout_ms / 1000;
	tv.tv_usec = (req->timeout_ms % 1000) * 1000;
	evtimer_add(req->tmo, &tv);
	return 0;
}

static void
conn_readcb(struct bufferevent *bev, void *arg)
{
	struct httpc_conn *conn = arg;
	struct httpc_req *req = conn->req;
	struct evbuffer *in = bufferevent_get_input(bev);
	const char *why = NULL;
	int r;

	if (req->cancelled || req->paused)
		return;
	req->got += evbuffer_get_length(in);
	while (req->phase == PH_HEAD) {
		long blen = httpc_head_scan(req, in, &why);
		const char *block;
		int status = 0;

		if (blen < 0)
			goto proto;
		if (blen == 0)
			return;
		block = (const char *)evbuffer_pullup(in, blen);
		why = httpc_head_check(block, (size_t)blen, &status);
		if (why != NULL)
			goto proto;
		req->scan_pos = 0;
		if (status == 101) {
			why = "unexpected 101 Switching Protocols";
			goto proto;
		}
		if (status < 200) {
			/* Interim response: dropped, the final one follows. */
			evbuffer_drain(in, (size_t)blen);
			continue;
		}
		llhttp_init(&req->parser, HTTP_RESPONSE, &httpc_settings);
		req->parser.data = req;
		r = httpc_body_feed(req, block, (size_t)blen, &why);
		if (r < 0)
			goto proto;
		evbuffer_drain(in, (size_t)blen);
		if (req->streaming && stream_head(req) != 0)
			return;
		if (r == 1) {
			if (evbuffer_get_length(in) != 0)
				req->reusable = 0;
			req_finish(req, GH_HTTPC_OK, NULL);
			return;
		}
	}
	while (evbuffer_get_length(in) != 0) {
		size_t n = evbuffer_get_contiguous_space(in);
		const char *data = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);

		r = httpc_body_feed(req, data, n, &why);
		if (r < 0)
			goto proto;
		evbuffer_drain(in, n);
		if (req->streaming && stream_data(req) < 0)
			return;
		if (r == 1) {
			if (evbuffer_get_length(in) != 0)
				req->reusable = 0;
			req_finish(req, GH_HTTPC_OK, NULL);
			return;
		}
		if (req->paused)
			return;
	}
	return;
proto:
	req_finish(req, GH_HTTPC_EPROTO, why);
}

static int
drain_ssl_errors(void)
{
	int any = 0;

	while (ERR_get_error() != 0)
		any = 1;
	return any;
}

static void
conn_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct httpc_conn *conn = arg;
	struct httpc_req *req = conn->req;
	int ssl_err = 0;

	if (what & BEV_EVENT_CONNECTED) {
		conn->connected = 1;
		conn_own_read(conn);
		evtimer_del(req->ctmo);
		return;
	}
	if (conn->pool->https) {
		while (bufferevent_get_openssl_error(bev) != 0)
			ssl_err = 1;
		ssl_err |= drain_ssl_errors();
	}
	if (!conn->connected) {
		const char *why = ssl_err ? "TLS handshake failed" : "connect failed";

		if (conn->pool->https) {
			SSL *ssl = bufferevent_openssl_get_ssl(bev);
			long v = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;

			if (v != X509_V_OK)
				why = X509_verify_cert_error_string(v);
		}
		conn_free(conn);
		req->conn = NULL;
		evtimer_del(req->ctmo);
		if (req->ai_next != NULL && !ssl_err && req->up_sent == 0) {   /* TCP failed: next address */
			req_connect(req);
			return;
		}
		req_finish(req, GH_HTTPC_ECONNECT, why);
		return;
	}
	if ((what & BEV_EVENT_EOF) && req->phase == PH_BODY) {
		llhttp_errno_t e = HPE_OK;

		if (llhttp_message_needs_eof(&req->parser))
			e = llhttp_finish(&req->parser);
		if ((e == HPE_OK || e == HPE_PAUSED) && req->complete) {
			req->reusable = 0;
			req_finish(req, GH_HTTPC_OK, NULL);
			return;
		}
		if (req->perr != NULL) {
			req_finish(req, GH_HTTPC_EPROTO, req->perr);
			return;
		}
	}
	if (req->got == 0 && conn->nreq > 1 && req->idempotent && !req->retried &&
	    req->up_sent == 0) {
		req_retry(req);
		return;
	}
	if (ssl_err && req->got == 0 && conn->nreq == 1) {
		req_finish(req, GH_HTTPC_ECONNECT, "TLS failure before the response");
		return;
	}
	req_finish(req, GH_HTTPC_ECLOSED, "connection closed before a full response");
}

/* ---------------------------------------------------------------- */
/* starting requests                                                  */

static struct bufferevent *
conn_bev_new(struct httpc_req *req)
{
	struct event_base *base = req->c->base;
	SSL *ssl;
	struct bufferevent *bev;

	if (!req->url.https)
		return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	ssl = SSL_new(req->c->cfg.ssl);
	if (ssl == NULL)
		return NULL;
	SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
	if (req->url.host_ip) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), req->url.host) != 1)
			goto fail;
	} else if (SSL_set_tlsext_host_name(ssl, req->url.host) != 1 ||
	    SSL_set1_host(ssl, req->url.host) != 1) {
		goto fail;
	}
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		goto fail;
	return bev;
fail:
	SSL_free(ssl);
	drain_ssl_errors();
	return NULL;
}

/* Output below the low-water mark: an upload waiting to write may go on. */
static void
conn_writecb(struct bufferevent *bev, void *arg)
{
	struct httpc_conn *conn = arg;
	struct httpc_req *req = conn->req;

	if (req == NULL || !req->up_wait || req->cancelled ||
	    evbuffer_get_length(bufferevent_get_output(bev)) > GH_HTTP_STREAM_LOW)
		return;
	req->up_wait = 0;
	if (req->up_drain != NULL)
		req->up_drain(req->arg);
}

/*
 * Whether req's head goes straight to conn's socket (conn_send_head): a
 * pooled plain connection with nothing queued, and no streamed body.
 */
static int
conn_direct(const struct httpc_conn *conn, const struct httpc_req *req)
{
	return conn->connected && !conn->pool->https && !req->upload &&
	    evbuffer_get_length(bufferevent_get_output(conn->bev)) == 0;
}

static void
conn_attach(struct httpc_req *req, struct httpc_conn *conn)
{
	req->conn = conn;
	conn->req = req;
	conn->nreq++;
	bufferevent_setwatermark(conn->bev, EV_WRITE, req->upload ? GH_HTTP_STREAM_LOW : 0, 0);
	bufferevent_setcb(conn->bev, conn_readcb, req->upload ? conn_writecb : NULL,
	    conn_eventcb, conn);
	if (conn_direct(conn, req)) {
		/* writing is enabled by conn_send_head only if the socket is full */
		bufferevent_disable(conn->bev, EV_WRITE);
		conn_read(conn, 1);
	} else {
		bufferevent_enable(conn->bev, EV_WRITE);
		conn_read(conn, 1);
	}
}

/*
 * Send req's head on the connection it was attached to.  On a direct
 * connection it is written to the socket at once, which saves enabling
 * and disabling the write event (two epoll_ctl calls) and a loop turn
 * per request; what the socket does not take, or an error, goes through
 * the bufferevent as before (its write event then writes or reports).
 * Returns 0 or -1 (ENOMEM).
 */
static int
conn_send_head(struct httpc_conn *conn, struct httpc_req *req)
{
	const char *p = req->wire;
	size_t n = req->wire_len;

	if (conn_direct(conn, req) && !(bufferevent_get_enabled(conn->bev) & EV_WRITE)) {
		ssize_t w = send(bufferevent_getfd(conn->bev), p, n, MSG_NOSIGNAL);

		if (w >= 0 && (size_t)w == n)
			return 0;
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		}
		bufferevent_enable(conn->bev, EV_WRITE);
	}
	return bufferevent_write(conn->bev, p, n);
}

/* The connect timeout, from the start of the resolution or of the connection. */
static void
ctmo_arm(struct httpc_req *req)
{
	struct timeval ctv;

	ctv.tv_sec = req->connect_ms / 1000;
	ctv.tv_usec = (req->connect_ms % 1000) * 1000;
	evtimer_add(req->ctmo, &ctv);
}

/* The resolver's answer for req: connect to the first address, or fail. */
static void
dns_cb(int result, struct evutil_addrinfo *res, void *arg)
{
	struct httpc_req *req = arg;

	if (result == EVUTIL_EAI_CANCEL) {      /* req is being freed */
		if (res != NULL)
			evutil_freeaddrinfo(res);
		return;
	}
	req->dnsreq = NULL;
	req->resolving = 0;
	if (result != 0 || res == NULL) {
		if (res != NULL)
			evutil_freeaddrinfo(res);
		evtimer_del(req->ctmo);
		req_fail_later(req, GH_HTTPC_ECONNECT, "cannot resolve host");
		return;
	}
	req->ai = res;
	req->ai_next = res;
	req_connect(req);
}

/*
 * Resolve req's host: numeric addresses at once, names by the client's
 * evdns base (dns_cb goes on).  Returns 0 when req->ai is set, 1 when the
 * answer will come to dns_cb, -1 when it failed (reported).
 */
static int
req_resolve(struct httpc_req *req)
{
	struct gh_httpc *c = req->c;
	struct evutil_addrinfo hints;
	struct evdns_getaddrinfo_request *dr;
	char port[8];

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	snprintf(port, sizeof(port), "%d", req->url.port);
	if (req->url.host_ip) {
		hints.ai_flags = EVUTIL_AI_NUMERICSERV | EVUTIL_AI_NUMERICHOST;
		if (evutil_getaddrinfo(req->url.host, port, &hints, &req->ai) != 0 || req->ai == NULL) {
			req->ai = NULL;
			req_fail_later(req, GH_HTTPC_ECONNECT, "cannot resolve host");
			return -1;
		}
		req->ai_next = req->ai;
		return 0;
	}
	/* Reading resolv.conf and /etc/hosts once per client: local files. */
	if (c->dns == NULL) {
		c->dns = evdns_base_new(c->base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
		/* A missing or empty file leaves evdns's default (127.0.0.1); 4 is ENOMEM. */
		if (c->dns != NULL && evdns_base_resolv_conf_parse(c->dns, DNS_OPTIONS_ALL,
		    c->resolv_conf != NULL ? c->resolv_conf : "/etc/resolv.conf") == 4) {
			evdns_base_free(c->dns, 0);
			c->dns = NULL;
		}
		if (c->dns == NULL) {
			req_fail_later(req, GH_HTTPC_ECONNECT, "cannot resolve host");
			return -1;
		}
	}
	hints.ai_flags = EVUTIL_AI_NUMERICSERV;
	ctmo_arm(req);
	req->resolving = 1;
	dr = evdns_getaddrinfo(c->dns, req->url.host, port, &hints, dns_cb, req);
	/* The answer may have come already (from /etc/hosts): then dns_cb ran. */
	if (req->resolving)
		req->dnsreq = dr;
	return 1;
}

/* Open a new connection to the next address of req (resolving first). */
static void
req_connect(struct httpc_req *req)
{
	if (req->ai == NULL) {
		if (req->resolving || req_resolve(req) != 0)
			return;
	}
	while (req->ai_next != NULL) {
		struct addrinfo *a = req->ai_next;
		struct httpc_conn *conn = calloc(1, sizeof(*conn));

		req->ai_next = a->ai_next;
		if (conn == NULL)
			break;
		conn->c = req->c;
		conn->pool = req->pool;
		conn->bev = conn_bev_new(req);
		if (conn->bev == NULL) {
			free(conn);
			break;
		}
		conn_attach(req, conn);
		if (bufferevent_socket_connect(conn->bev, a->ai_addr, (int)a->ai_addrlen) != 0) {
			conn_free(conn);
			req->conn = NULL;
			continue;
		}
		if (bufferevent_write(conn->bev, req->wire, req->wire_len) != 0) {
			conn_free(conn);
			req->conn = NULL;
			break;
		}
		ctmo_arm(req);
		return;
	}
	req_fail_later(req, GH_HTTPC_ECONNECT, "connect failed");
}

static void
req_start(struct httpc_req *req)
{
	struct httpc_conn *conn = pool_take(req->pool);

	if (conn == NULL) {
		req_connect(req);
		return;
	}
	conn_attach(req, conn);
	if (conn_send_head(conn, req) != 0)
		req_fail_later(req, GH_HTTPC_ECLOSED, "write failed");
}

static int
method_ok(const char *m)
{
	if (m == NULL || *m == '\0' || strlen(m) > 32)
		return 0;
	for (; *m != '\0'; m++)
		if (!httpc_is_tchar((unsigned char)*m))
			return 0;
	return 1;
}

static int
header_ok(const struct gh_http_header *h)
{
	static const char *const framing[] = {
		"Host", "Content-Length", "Transfer-Encoding", "Connection",
	};

	if (h->name == NULL || h->value == NULL || h->name[0] == '\0')
		return 0;
	for (const char *p = h->name; *p != '\0'; p++)
		if (!httpc_is_tchar((unsigned char)*p))
			return 0;
	for (const char *p = h->value; *p != '\0'; p++)
		if (!httpc_is_field_char((unsigned char)*p))
			return 0;
	for (size_t i = 0; i < sizeof(framing) / sizeof(framing[0]); i++)
		if (strcasecmp(h->name, framing[i]) == 0)
			return 0;
	return 1;
}

/* Append n bytes of p at *o in w (sized beforehand by req_serialize). */
static void
wire_put(char *w, size_t *o, const void *p, size_t n)
{
	memcpy(w + *o, p, n);
	*o += n;
}

/*
 * Serialize the request into req->wire: its size is counted first, then
 * it is written into one allocation (no printf, no intermediate buffer).
 * 0 ok, -1 on ENOMEM.
 */
static int
req_serialize(struct httpc_req *req, const char *method, const struct gh_http_header *hdrs,
    size_t nhdrs, const void *body, size_t len)
{
	const struct gh_httpc_url *u = &req->url;
	char port[16], clen[48];
	size_t need, o = 0, ml = strlen(method), tl = strlen(u->target), hl = strlen(u->host);
	size_t pl = 0, cl = 0, lens[64], *nl = lens, *vl, i;
	int v6 = u->host_ip == 6;
	char *w;

	if (u->port != (u->https ? 443 : 80))
		pl = (size_t)snprintf(port, sizeof(port), ":%d", u->port);
	if (req->upload && req->up_len < 0)
		cl = (size_t)snprintf(clen, sizeof(clen), "Transfer-Encoding: chunked\r\n");
	else if (req->upload)
		cl = (size_t)snprintf(clen, sizeof(clen), "Content-Length: %lld\r\n", req->up_len);
	else if (len > 0 || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
	    strcmp(method, "PATCH") == 0)
		cl = (size_t)snprintf(clen, sizeof(clen), "Content-Length: %zu\r\n", len);
	if (2 * nhdrs > sizeof(lens) / sizeof(lens[0]) &&
	    (nl = malloc(2 * nhdrs * sizeof(*nl))) == NULL)
		return -1;
	vl = nl + nhdrs;
	need = ml + 1 + tl + 17 + hl + (v6 ? 2 : 0) + pl + 2 + cl + 26 + len;
	for (i = 0; i < nhdrs; i++) {
		nl[i] = strlen(hdrs[i].name);
		vl[i] = strlen(hdrs[i].value);
		need += nl[i] + 2 + vl[i] + 2;
	}
	if ((w = malloc(need)) == NULL) {
		if (nl != lens)
			free(nl);
		return -1;
	}
	wire_put(w, &o, method, ml);
	wire_put(w, &o, " ", 1);
	wire_put(w, &o, u->target, tl);
	wire_put(w, &o, " HTTP/1.1\r\nHost: ", 17);
	if (v6)
		wire_put(w, &o, "[", 1);
	wire_put(w, &o, u->host, hl);
	if (v6)
		wire_put(w, &o, "]", 1);
	wire_put(w, &o, port, pl);
	wire_put(w, &o, "\r\n", 2);
	for (i = 0; i < nhdrs; i++) {
		wire_put(w, &o, hdrs[i].name, nl[i]);
		wire_put(w, &o, ": ", 2);
		wire_put(w, &o, hdrs[i].value, vl[i]);
		wire_put(w, &o, "\r\n", 2);
	}
	wire_put(w, &o, clen, cl);
	wire_put(w, &o, "Connection: keep-alive\r\n\r\n", 26);
	if (len > 0)
		wire_put(w, &o, body, len);
	if (nl != lens)
		free(nl);
	req->wire = w;
	req->wire_len = o;
	return 0;
}

static void
stream_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpc_req *req = arg;

	(void)fd;
	(void)what;
	if (req->conn != NULL && !req->paused && !req->cancelled && req->phase == PH_BODY)
		conn_readcb(req->conn->bev, req->conn);
}

static void
stream_unused_cb(struct gh_httpc_resp *resp, void *arg)
{
	(void)resp;
	(void)arg;
}

/* Both kinds of request: s NULL for a whole response to cb; up NULL without an upload. */
static int
request_new(struct gh_httpc *c, const struct gh_httpc_opts *opts,
    const char *method, const char *url, const struct gh_http_header *hdrs, size_t nhdrs,
    const void *body, size_t len, gh_httpc_cb cb, void *arg,
    const struct gh_httpc_stream *s, const struct httpc_req *up, struct httpc_req **out)
{
	struct httpc_req *req;
	struct timeval tv;
	int timeout_ms = c->cfg.timeout_ms;

	if (c->freeing || cb == NULL || !method_ok(method) || (len > 0 && body == NULL))
		return -1;
	for (size_t i = 0; i < nhdrs; i++)
		if (!header_ok(&hdrs[i]))
			return -1;
	req = calloc(1, sizeof(*req));
	if (req == NULL)
		return -1;
	req->c = c;
	req->cb = cb;
	req->arg = arg;
	req->connect_ms = c->cfg.connect_timeout_ms;
	if (opts != NULL && opts->connect_timeout_ms > 0)
		req->connect_ms = opts->connect_timeout_ms;
	if (opts != NULL && opts->timeout_ms > 0)
		timeout_ms = opts->timeout_ms;
	req->timeout_ms = timeout_ms;
	if (up != NULL) {
		req->upload = 1;
		req->up_len = up->up_len;
		req->up_drain = up->up_drain;
	}
	if (s != NULL) {
		req->streaming = 1;
		req->s = *s;
		if (event_assign(&req->ev_kick, c->base, -1, 0, stream_kick_cb, req) != 0)
			goto fail;
		req->kick = &req->ev_kick;
	}
	if (gh_httpc_url_parse(url, &req->url) != 0 || (req->url.https && c->cfg.ssl == NULL))
		goto fail;
	req->head = strcmp(method, "HEAD") == 0;
	req->idempotent = req->head || strcmp(method, "GET") == 0 ||
	    strcmp(method, "PUT") == 0 || strcmp(method, "DELETE") == 0 ||
	    strcmp(method, "OPTIONS") == 0 || strcmp(method, "TRACE") == 0;
	req->pool = pool_find(c, &req->url);
	if (evtimer_assign(&req->ev_tmo, c->base, req_timeout_cb, req) == 0)
		req->tmo = &req->ev_tmo;
	if (evtimer_assign(&req->ev_ctmo, c->base, req_ctimeout_cb, req) == 0)
		req->ctmo = &req->ev_ctmo;
	if (evtimer_assign(&req->ev_later, c->base, req_later_cb, req) == 0)
		req->later = &req->ev_later;
	if (req->pool == NULL || req->tmo == NULL || req->ctmo == NULL || req->later == NULL ||
	    req_serialize(req, method, hdrs, nhdrs, body, len) != 0)
		goto fail;
	TAILQ_INSERT_TAIL(&c->reqs, req, link);
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(req->tmo, &tv);
	if (out != NULL)
		*out = req;
	req_start(req);
	return 0;
fail:
	req_free(req);
	return -1;
}

int
gh_httpc_request_opts(struct gh_httpc *c, const struct gh_httpc_opts *opts,
    const char *method, const char *url, const struct gh_http_header *hdrs, size_t nhdrs,
    const void *body, size_t len, gh_httpc_cb cb, void *arg)
{
	return request_new(c, opts, method, url, hdrs, nhdrs, body, len, cb, arg, NULL, NULL,
	    NULL);
}

int
gh_httpc_request_stream(struct gh_httpc *c, const struct gh_httpc_opts *opts,
    const char *method, const char *url, const struct gh_http_header *hdrs, size_t nhdrs,
    const void *body, size_t len, const struct gh_httpc_stream *s, void *arg,
    struct gh_httpc_call **call)
{
	struct httpc_req *req = NULL;
	int rc;

	if (s == NULL || s->on_head == NULL || s->on_data == NULL || s->on_done == NULL)
		return -1;
	rc = request_new(c, opts, method, url, hdrs, nhdrs, body, len, stream_unused_cb, arg, s,
	    NULL, &req);
	if (rc == 0 && call != NULL)
		*call = (struct gh_httpc_call *)req;
	return rc;
}

int
gh_httpc_request_upload(struct gh_httpc *c, const struct gh_httpc_opts *opts,
    const char *method, const char *url, const struct gh_http_header *hdrs, size_t nhdrs,
    long long body_len, void (*on_drain)(void *arg), const struct gh_httpc_stream *s,
    void *arg, struct gh_httpc_call **call)
{
	struct httpc_req *req = NULL, up;
	int rc;

	if (s == NULL || s->on_head == NULL || s->on_data == NULL || s->on_done == NULL ||
	    body_len < -1)
		return -1;
	memset(&up, 0, sizeof(up));
	up.up_len = body_len;
	up.up_drain = on_drain;
	rc = request_new(c, opts, method, url, hdrs, nhdrs, NULL, 0, stream_unused_cb, arg, s,
	    &up, &req);
	if (rc == 0 && call != NULL)
		*call = (struct gh_httpc_call *)req;
	return rc;
}

/* Whether req is an upload whose body may still be written. */
static int
upload_open(const struct httpc_req *req)
{
	return req != NULL && req->upload && !req->up_ended && !req->cancelled &&
	    req->phase != PH_DONE && req->conn != NULL;
}

int
gh_httpc_call_write(struct gh_httpc_call *call, const void *data, size_t len)
{
	struct httpc_req *req = (struct httpc_req *)call;
	struct bufferevent *bev;
	struct timeval tv;
	char hdr[24];

	if (!upload_open(req))
		return -1;
	if (len == 0)
		return 0;
	if (req->up_len >= 0 && len > (unsigned long long)req->up_len - req->up_sent)
		return -1;
	bev = req->conn->bev;
	if (req->up_len < 0) {
		snprintf(hdr, sizeof(hdr), "%zx\r\n", len);
		if (bufferevent_write(bev, hdr, strlen(hdr)) != 0 ||
		    bufferevent_write(bev, data, len) != 0 || bufferevent_write(bev, "\r\n", 2) != 0)
			return -1;
	} else if (bufferevent_write(bev, data, len) != 0) {
		return -1;
	}
	req->up_sent += len;
	if (!req->paused) {
		tv.tv_sec = req->timeout_ms / 1000;
		tv.tv_usec = (req->timeout_ms % 1000) * 1000;
		evtimer_add(req->tmo, &tv);
	}
	if (evbuffer_get_length(bufferevent_get_output(bev)) > GH_HTTP_STREAM_HIGH) {
		req->up_wait = 1;
		return 1;
	}
	return 0;
}

int
gh_httpc_call_write_end(struct gh_httpc_call *call)
{
	struct httpc_req *req = (struct httpc_req *)call;

	if (!upload_open(req))
		return -1;
	if (req->up_len >= 0 && req->up_sent != (unsigned long long)req->up_len)
		return -1;
	if (req->up_len < 0 && bufferevent_write(req->conn->bev, "0\r\n\r\n", 5) != 0)
		return -1;
	req->up_ended = 1;
	return 0;
}

void
gh_httpc_resume(struct gh_httpc_call *call)
{
	struct httpc_req *req = (struct httpc_req *)call;
	struct timeval tv;

	if (req == NULL || !req->paused || req->cancelled)
		return;
	req->paused = 0;
	tv.tv_sec = req->timeout_ms / 1000;
	tv.tv_usec = (req->timeout_ms % 1000) * 1000;
	evtimer_add(req->tmo, &tv);
	if (req->conn != NULL)
		conn_read(req->conn, 1);
	event_active(req->kick, 0, 0);
}

void
gh_httpc_cancel(struct gh_httpc_call *call)
{
	struct httpc_req *req = (struct httpc_req *)call;

	if (req == NULL || req->cancelled)
		return;
	req->cancelled = 1;
	req->reusable = 0;
	if (req->conn != NULL) {
		conn_read(req->conn, 0);
		bufferevent_disable(req->conn->bev, EV_WRITE);
	}
	evtimer_del(req->tmo);
	evtimer_del(req->ctmo);
	req_fail_later(req, GH_HTTPC_ECLOSED, "cancelled");
}

int
gh_httpc_request(struct gh_httpc *c, const char *method, const char *url,
    const struct gh_http_header *hdrs, size_t nhdrs, const void *body, size_t len,
    gh_httpc_cb cb, void *arg)
{
	return gh_httpc_request_opts(c, NULL, method, url, hdrs, nhdrs, body, len, cb, arg);
}

/* ---------------------------------------------------------------- */
/* client lifetime, blocking fetch, responses                         */

struct gh_httpc *
gh_httpc_new(struct event_base *base, const struct gh_httpc_cfg *cfg)
{
	struct gh_httpc *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->base = base;
	if (cfg != NULL)
		c->cfg = *cfg;
	if (c->cfg.connect_timeout_ms <= 0)
		c->cfg.connect_timeout_ms = HTTPC_DEF_CONNECT_MS;
	if (c->cfg.timeout_ms <= 0)
		c->cfg.timeout_ms = HTTPC_DEF_TIMEOUT_MS;
	if (c->cfg.max_idle_per_host == 0)
		c->cfg.max_idle_per_host = HTTPC_DEF_IDLE;
	if (c->cfg.max_header_bytes == 0)
		c->cfg.max_header_bytes = HTTPC_DEF_HEADER_BYTES;
	if (c->cfg.max_body_bytes == 0)
		c->cfg.max_body_bytes = HTTPC_DEF_BODY_BYTES;
	TAILQ_INIT(&c->reqs);
	return c;
}

int
gh_httpc_set_resolv_conf(struct gh_httpc *c, const char *path)
{
	char *copy = strdup(path);

	if (copy == NULL)
		return -1;
	free(c->resolv_conf);
	c->resolv_conf = copy;
	return 0;
}

void
gh_httpc_free(struct gh_httpc *c)
{
	struct httpc_req *req;
	struct httpc_pool *pool;

	if (c == NULL || c->freeing)
		return;
	c->freeing = 1;
	while ((req = TAILQ_FIRST(&c->reqs)) != NULL)
		req_finish(req, GH_HTTPC_ECLOSED, "client freed");
	while ((pool = c->pools) != NULL) {
		c->pools = pool->next;
		while (!TAILQ_EMPTY(&pool->idle))
			conn_free(TAILQ_FIRST(&pool->idle));
		free(pool);
	}
	/* 1: requests still inside evdns (ours were cancelled) end and are freed */
	if (c->dns != NULL)
		evdns_base_free(c->dns, 1);
	free(c->resolv_conf);
	free(c);
}

struct httpc_fetch {
	struct event_base *base;
	struct gh_httpc_resp *out;
};

static void
fetch_cb(struct gh_httpc_resp *resp, void *arg)
{
	struct httpc_fetch *f = arg;

	*f->out = *resp;
	memset(resp, 0, sizeof(*resp));
	event_base_loopbreak(f->base);
}

int
gh_httpc_fetch(const struct gh_httpc_cfg *cfg, const char *method, const char *url,
    const struct gh_http_header *hdrs, size_t nhdrs, const void *body, size_t len,
    struct gh_httpc_resp *out)
{
	struct httpc_fetch f = { NULL, out };
	struct gh_httpc *c = NULL;

	memset(out, 0, sizeof(*out));
	out->error = GH_HTTPC_ECONNECT;
	out->errstr = "out of memory";
	f.base = event_base_new();
	if (f.base == NULL)
		return -1;
	c = gh_httpc_new(f.base, cfg);
	if (c == NULL)
		goto done;
	if (gh_httpc_request(c, method, url, hdrs, nhdrs, body, len, fetch_cb, &f) != 0) {
		out->error = GH_HTTPC_EURL;
		out->errstr = "bad URL, method or header";
		goto done;
	}
	event_base_dispatch(f.base);
done:
	gh_httpc_free(c);
	event_base_free(f.base);
	return out->error == GH_HTTPC_OK ? 0 : -1;
}

void
gh_httpc_resp_clear(struct gh_httpc_resp *r)
{
	free(r->hmem);                  /* every name and value */
	free(r->headers);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

const char *
gh_httpc_resp_header(const struct gh_httpc_resp *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (r->headers[i].name != NULL && strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value != NULL ? r->headers[i].value : "";
	return NULL;
}
