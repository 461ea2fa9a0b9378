/*
 * The HTTP/1.1 server: listeners, connections and the life of a request
 * on libevent (socket I/O, plain or TLS, in http_io.c).  A connection reads one
 * request at a time: the head is found and checked by http_strict.c,
 * then fed to llhttp, then the body; the request goes to the handler and
 * the connection waits (pipelined bytes stay in the input buffer) until
 * gh_http_respond() queues the answer.  The server owns connections and
 * the request until the handler has it; the handler owns it until it
 * responds, and the server frees it then (or after on_abort).  Every
 * connection writes its responses from resume_cb straight to the socket.
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/rand.h>

#include "core/gh_codec.h"
#include "core/gh_ipaddr.h"
#include "core/gh_log.h"
#include "core/http_int.h"

#define LINGER_MS 1000

static void conn_process(struct gh_http_conn *conn);
static void conn_free(struct gh_http_conn *conn);

void
gh_http_limits_default(struct gh_http_limits *l)
{
	l->max_header_bytes = 16384;
	l->max_headers = 100;
	l->max_url_bytes = 8192;
	l->max_body_bytes = 1024 * 1024;
	l->header_timeout_ms = 10000;
	l->body_timeout_ms = 30000;
	l->idle_timeout_ms = 60000;
	l->max_requests_per_conn = 1000;
}

/* ---- small helpers ---------------------------------------------------- */

static void
arm_timer(struct gh_http_conn *conn, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(conn->timer, &tv);
}

static int
append(char **s, size_t *len, const char *at, size_t n)
{
	char *p = realloc(*s, *len + n + 1);

	if (p == NULL)
		return -1;
	memcpy(p + *len, at, n);
	*len += n;
	p[*len] = '\0';
	*s = p;
	return 0;
}

struct evbuffer *
http_conn_output(struct gh_http_conn *conn)
{
	return conn->out;
}

long
http_conn_elapsed_ms(const struct gh_http_conn *conn)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)((now.tv_sec - conn->req_start.tv_sec) * 1000 +
	    (now.tv_nsec - conn->req_start.tv_nsec) / 1000000);
}

const char *
http_conn_service(const struct gh_http_conn *conn)
{
	return conn->srv->cfg.name != NULL ? conn->srv->cfg.name : "http";
}

int
http_conn_must_close(const struct gh_http_conn *conn, const struct gh_http_req *req)
{
	const struct gh_http_limits *l = &conn->srv->cfg.limits;

	/* A streamed body not read to its end: its rest must never be parsed as a request. */
	return conn->must_close || conn->srv->shutting_down || !req->keep_alive ||
	    conn->state == HC_BODY || conn->state == HC_TRAILER ||
	    (l->max_requests_per_conn > 0 && conn->nrequests >= l->max_requests_per_conn);
}

const char *
gh_http_req_header(const struct gh_http_req *req, const char *name)
{
	/* the first letter (ASCII, any case) first: most fields differ there */
	unsigned char c0 = (unsigned char)name[0] | 0x20;

	for (size_t i = 0; i < req->nheaders; i++)
		if (((unsigned char)req->headers[i].name[0] | 0x20) == c0 &&
		    strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

void
http_req_free(struct gh_http_req *req)
{
	if (req == NULL)
		return;
	free(req->mem);                 /* target, path, query, header names and values */
	free(req->headers);
	free(req->body);
	for (size_t i = 0; i < req->nresp_headers; i++)
		free(req->resp_headers[i].name);        /* and its value: one block */
	free(req->resp_headers);
	free(req);
}

/*
 * A request id: 8 random bytes drawn once per process, then a counter.
 * Unique, not secret, and cheap (no RNG call and no formatting per request).
 */
static unsigned char request_id_prefix[8];
static uint64_t request_id_counter;
static pthread_once_t request_id_once = PTHREAD_ONCE_INIT;

static void
request_id_init(void)
{
	if (RAND_bytes(request_id_prefix, sizeof(request_id_prefix)) != 1)
		for (size_t i = 0; i < sizeof(request_id_prefix); i++)
			request_id_prefix[i] = (unsigned char)random();
}

static void
request_id_next(unsigned char out[16])
{
	uint64_t n;

	pthread_once(&request_id_once, request_id_init);
	memcpy(out, request_id_prefix, 8);
	n = __atomic_add_fetch(&request_id_counter, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < 8; i++)
		out[8 + i] = (unsigned char)(n >> (56 - 8 * i));
}

_Static_assert(sizeof(((struct gh_http_conn *)0)->peer_addr) ==
    sizeof(((struct gh_http_req *)0)->peer_addr) &&
    sizeof(((struct gh_http_conn *)0)->peer_addr) ==
    sizeof(((struct gh_http_req *)0)->client_addr), "address buffers differ");

static struct gh_http_req *
req_new(struct gh_http_conn *conn)
{
	struct gh_http_req *req = calloc(1, sizeof(*req));
	unsigned char rnd[16];

	if (req == NULL)
		return NULL;
	req->conn = conn;
	req->method_id = -1;
	req->http_minor = 1;
	req->tls = conn->tls;
	/* Same sizes, and conn->peer_addr is always NUL-terminated. */
	memcpy(req->peer_addr, conn->peer_addr, sizeof(req->peer_addr));
	memcpy(req->client_addr, conn->peer_addr, sizeof(req->client_addr));
	request_id_next(rnd);
	gh_hex_encode(rnd, sizeof(rnd), req->request_id);
	conn->req = req;
	conn->body_cap = 0;
	conn->hdr_cap = 0;
	conn->hdr_in_value = 0;
	conn->sent_continue = 0;
	conn->body_stream = 0;
	conn->handed = 0;
	conn->body_paused = 0;
	conn->body_seen = 0;
	clock_gettime(CLOCK_MONOTONIC, &conn->req_start);
	return req;
}

/* ---- client address through trusted proxies --------------------------- */

/* Canonical text of the address in s[0..len) (OWS trimmed); -1 if not an IP. */
static int
addr_normalize(const char *s, size_t len, char *out, size_t outlen)
{
	char tmp[INET6_ADDRSTRLEN + 1];
	unsigned char bin[sizeof(struct in6_addr)];

	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0 || len >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (inet_pton(AF_INET, tmp, bin) == 1)
		return inet_ntop(AF_INET, bin, out, (socklen_t)outlen) ? 0 : -1;
	if (inet_pton(AF_INET6, tmp, bin) == 1)
		return inet_ntop(AF_INET6, bin, out, (socklen_t)outlen) ? 0 : -1;
	return -1;
}

static void
set_client_addr(struct gh_http_conn *conn, struct gh_http_req *req)
{
	const char *trusted = __atomic_load_n(&conn->srv->cfg.trusted_proxies, __ATOMIC_ACQUIRE);
	char *xff = NULL;
	size_t xlen = 0;

	if (trusted == NULL || !gh_ip_in_list(conn->peer_addr, trusted))
		return;
	for (size_t i = 0; i < req->nheaders; i++) {
		if (strcasecmp(req->headers[i].name, "x-forwarded-for") != 0)
			continue;
		if ((xlen > 0 && append(&xff, &xlen, ",", 1) < 0) ||
		    append(&xff, &xlen, req->headers[i].value, strlen(req->headers[i].value)) < 0)
			goto out;
	}
	/* Right to left: skip our own proxies, stop at the first other entry. */
	while (xlen > 0) {
		char *comma = memrchr(xff, ',', xlen);
		size_t start = comma ? (size_t)(comma - xff) + 1 : 0;
		char norm[INET6_ADDRSTRLEN];

		if (addr_normalize(xff + start, xlen - start, norm, sizeof(norm)) < 0)
			break;
		if (!gh_ip_in_list(norm, trusted)) {
			snprintf(req->client_addr, sizeof(req->client_addr), "%s", norm);
			break;
		}
		xlen = comma ? (size_t)(comma - xff) : 0;
	}
out:
	free(xff);
}

/* ---- llhttp callbacks -------------------------------------------------- */

/*
 * Add at[0..n) to the string *s in req->mem: a new string when *s is
 * NULL, else *s grows (it must be the last one added).  The block is
 * made for the whole head before llhttp runs (head_mem), so a string
 * never moves.  0, or -1 when it would not fit (never for a checked head).
 */
static int
mem_add(struct gh_http_conn *conn, char **s, const char *at, size_t n)
{
	char *dst;

	if (*s != NULL && *s != conn->mem_last)
		return -1;
	if (*s != NULL)
		conn->mem_len--;        /* over the NUL */
	if (conn->req->mem == NULL || n + 1 > conn->mem_cap - conn->mem_len)
		return -1;
	dst = conn->req->mem + conn->mem_len;
	if (*s == NULL)
		*s = conn->mem_last = dst;
	memcpy(dst, at, n);
	dst[n] = '\0';
	conn->mem_len += n + 1;
	return 0;
}

/*
 * The block for the strings of a head of hlen bytes: the target with its
 * path and query (at most twice the request line, plus two NULs) and each
 * header's name and value with their NULs (at most its line, which ends
 * in CRLF).  0 or -1.
 */
static int
head_mem(struct gh_http_conn *conn, size_t hlen)
{
	struct gh_http_req *req = conn->req;

	free(req->mem);
	conn->mem_len = 0;
	conn->mem_cap = 2 * hlen + 8;
	conn->mem_last = NULL;
	req->mem = malloc(conn->mem_cap);
	return req->mem != NULL ? 0 : -1;
}

static int
cb_url(llhttp_t *p, const char *at, size_t n)
{
	struct gh_http_conn *conn = p->data;

	return mem_add(conn, &conn->req->target, at, n) < 0 ? HPE_USER : 0;
}

static int
cb_header_field(llhttp_t *p, const char *at, size_t n)
{
	struct gh_http_conn *conn = p->data;
	struct gh_http_req *req = conn->req;
	struct gh_http_header *h;

	if (!conn->hdr_in_value && req->nheaders > 0 && req->headers[req->nheaders - 1].value == NULL) {
		h = &req->headers[req->nheaders - 1];
	} else {
		if (req->nheaders >= conn->srv->cfg.limits.max_headers) {
			conn->refusal = (struct http_refusal){ 431,
			    "Request Header Fields Too Large", "too many header fields" };
			return HPE_USER;
		}
		if (req->nheaders == conn->hdr_cap) {
			/* Grown by doubling from 8: one allocation for most requests. */
			size_t cap = conn->hdr_cap ? 2 * conn->hdr_cap : 8;

			h = realloc(req->headers, cap * sizeof(*h));
			if (h == NULL)
				return HPE_USER;
			req->headers = h;
			conn->hdr_cap = cap;
		}
		h = &req->headers[req->nheaders++];
		h->name = NULL;
		h->value = NULL;
	}
	conn->hdr_in_value = 0;
	return mem_add(conn, &h->name, at, n) < 0 ? HPE_USER : 0;
}

static int
cb_header_value(llhttp_t *p, const char *at, size_t n)
{
	struct gh_http_conn *conn = p->data;
	struct gh_http_header *h = &conn->req->headers[conn->req->nheaders - 1];

	conn->hdr_in_value = 1;
	return mem_add(conn, &h->value, at, n) < 0 ? HPE_USER : 0;
}

static int
cb_header_value_complete(llhttp_t *p)
{
	struct gh_http_conn *conn = p->data;
	struct gh_http_header *h;
	size_t len;

	if (conn->req->nheaders == 0)
		return 0;
	h = &conn->req->headers[conn->req->nheaders - 1];
	if (h->value == NULL && mem_add(conn, &h->value, "", 0) < 0)
		return -1;
	/* the value is the block's last string: its length is known (a long token is not scanned again) */
	len = h->value == conn->mem_last ? (size_t)(conn->req->mem + conn->mem_len - 1 - h->value) :
	    strlen(h->value);
	while (len > 0 && (h->value[len - 1] == ' ' || h->value[len - 1] == '\t'))
		h->value[--len] = '\0';
	conn->hdr_in_value = 0;
	return 0;
}

static void
check_peer(struct gh_http_conn *conn)
{
	SSL *ssl;

	if (conn->peer_checked || !conn->tls)
		return;
	conn->peer_checked = 1;
	ssl = conn->ssl;
	if (ssl != NULL && gh_tls_peer_id(ssl, &conn->peer_id) == 0)
		conn->has_peer_id = 1;
}

static int
cb_headers_complete(llhttp_t *p)
{
	struct gh_http_conn *conn = p->data;
	struct gh_http_req *req = conn->req;
	const struct gh_http_server_cfg *cfg = &conn->srv->cfg;
	const char *rid, *q;

	req->method_id = llhttp_get_method(p);
	req->method = llhttp_method_name((llhttp_method_t)req->method_id);
	req->http_minor = llhttp_get_http_minor(p);
	req->keep_alive = llhttp_should_keep_alive(p);
	if (req->target == NULL)
		return -1;
	q = strchr(req->target, '?');
	if (mem_add(conn, &req->path, req->target, q ? (size_t)(q - req->target) :
	    strlen(req->target)) < 0 || (q != NULL && mem_add(conn, &req->query, q + 1, strlen(q + 1)) < 0))
		return -1;
	rid = gh_http_req_header(req, "x-request-id");
	if (rid != NULL && http_request_id_ok(rid))
		snprintf(req->request_id, sizeof(req->request_id), "%s", rid);
	set_client_addr(conn, req);
	check_peer(conn);
	req->has_peer_id = conn->has_peer_id;
	if (conn->has_peer_id)
		req->peer_id = conn->peer_id;
	if (cfg->mtls_allow != NULL &&
	    !(conn->has_peer_id && gh_mtls_allowed(&conn->peer_id, cfg->mtls_allow))) {
		conn->refusal = (struct http_refusal){ 403, "Forbidden",
		    "the client certificate is not allowed on this endpoint" };
		return -1;
	}
	conn->body_limit = cfg->limits.max_body_bytes;
	if (cfg->head_hook != NULL) {
		cfg->head_hook(req, cfg->arg);
		if (req->max_body_bytes > 0 && req->max_body_bytes < conn->body_limit)
			conn->body_limit = req->max_body_bytes;
	}
	if ((p->flags & F_CONTENT_LENGTH) && p->content_length > conn->body_limit) {
		conn->refusal = (struct http_refusal){ 413, "Payload Too Large",
		    "the request body exceeds the limit" };
		return -1;
	}
	if (req->stream_body) {
		if (!(p->flags & F_CHUNKED) &&
		    !((p->flags & F_CONTENT_LENGTH) && p->content_length > 0)) {
			req->stream_body = 0;
			return 0;
		}
		if (conn->body_buf == NULL && (conn->body_buf = evbuffer_new()) == NULL)
			return -1;
		conn->body_stream = 1;
		return 0;
	}
	if ((p->flags & F_CONTENT_LENGTH) && p->content_length > 0) {
		req->body = malloc(p->content_length + 1);
		if (req->body == NULL)
			return -1;
		conn->body_cap = p->content_length + 1;
	}
	return 0;
}

static int
cb_body(llhttp_t *p, const char *at, size_t n)
{
	struct gh_http_conn *conn = p->data;
	struct gh_http_req *req = conn->req;

	if (conn->body_stream) {
		if (n > conn->body_limit - conn->body_seen) {
			conn->refusal = (struct http_refusal){ 413, "Payload Too Large",
			    "the request body exceeds the limit" };
			return HPE_USER;
		}
		conn->body_seen += n;
		return evbuffer_add(conn->body_buf, at, n) < 0 ? HPE_USER : 0;
	}
	if (req->body_len + n > conn->body_limit) {
		conn->refusal = (struct http_refusal){ 413, "Payload Too Large",
		    "the request body exceeds the limit" };
		return HPE_USER;
	}
	if (req->body_len + n + 1 > conn->body_cap) {
		size_t cap = conn->body_cap ? conn->body_cap : 1024;
		unsigned char *b;

		while (cap < req->body_len + n + 1)
			cap *= 2;
		b = realloc(req->body, cap);
		if (b == NULL)
			return HPE_USER;
		req->body = b;
		conn->body_cap = cap;
	}
	memcpy(req->body + req->body_len, at, n);
	req->body_len += n;
	req->body[req->body_len] = '\0';
	return 0;
}

static int
cb_chunk_header(llhttp_t *p)
{
	struct gh_http_conn *conn = p->data;

	if (p->content_length == 0) {
		/* Last chunk: the trailer section is read by process_body(). */
		conn->state = HC_TRAILER;
		return HPE_PAUSED;
	}
	if (p->content_length > conn->body_limit -
	    (conn->body_stream ? conn->body_seen : conn->req->body_len)) {
		conn->refusal = (struct http_refusal){ 413, "Payload Too Large",
		    "the request body exceeds the limit" };
		return -1;
	}
	return 0;
}

static int
cb_message_complete(llhttp_t *p)
{
	(void)p;
	return HPE_PAUSED;
}

static const llhttp_settings_t parser_settings = {
	.on_url = cb_url,
	.on_header_field = cb_header_field,
	.on_header_value = cb_header_value,
	.on_header_value_complete = cb_header_value_complete,
	.on_headers_complete = cb_headers_complete,
	.on_body = cb_body,
	.on_chunk_header = cb_chunk_header,
	.on_message_complete = cb_message_complete,
};

/* ---- request flow ----------------------------------------------------- */

/* Answer the request being read with a refusal; the connection closes after it. */
static void
conn_refuse(struct gh_http_conn *conn, const struct http_refusal *rf)
{
	struct gh_http_req *req = conn->req;
	struct http_refusal r = *rf;
	char rid[sizeof(req->request_id)] = "";

	if (conn->handed) {
		/* A streamed body refused while the handler has the request. */
		if (conn->streaming || req == NULL) {
			conn_free(conn);
			return;
		}
		conn->req = NULL;
		req->conn = NULL;
		conn->handed = 0;
		conn->body_stream = 0;
		evbuffer_drain(conn->body_buf, evbuffer_get_length(conn->body_buf));
		memcpy(rid, req->request_id, sizeof(rid));
		gh_log_info("request_body_refused", req->request_id, "%d: %s", r.status,
		    r.description);
		if (req->on_abort != NULL) {
			req->on_abort(req, req->abort_arg);
			http_req_free(req);
		}
		req = NULL;
	}
	if (req == NULL && (req = req_new(conn)) == NULL) {
		conn_free(conn);
		return;
	}
	if (rid[0] != '\0')
		memcpy(req->request_id, rid, sizeof(rid));
	conn->must_close = 1;
	conn->state = HC_HANDLER;
	evtimer_del(conn->timer);
	gh_http_respond_error(req, r.status, r.message, r.description);
}

static void
refuse_llhttp(struct gh_http_conn *conn, llhttp_errno_t err)
{
	struct http_refusal rf = { 400, "Bad Request", "malformed request" };

	if (conn->refusal.status != 0)
		rf = conn->refusal;
	else if (err == HPE_INVALID_METHOD)
		rf = (struct http_refusal){ 501, "Not Implemented", "method not implemented" };
	else if (err == HPE_INVALID_CHUNK_SIZE)
		rf.description = "invalid chunk framing";
	else if (llhttp_get_error_reason(&conn->parser) != NULL)
		rf.description = llhttp_get_error_reason(&conn->parser);
	conn_refuse(conn, &rf);
}

static void
dispatch(struct gh_http_conn *conn)
{
	struct gh_http_req *req = conn->req;
	struct gh_http_server *srv = conn->srv;

	evtimer_del(conn->timer);
	if (req->body_len == 0) {
		free(req->body);
		req->body = NULL;
	}
	conn->state = HC_HANDLER;
	conn->nrequests++;
	if (srv->cfg.handler == NULL) {
		gh_http_respond_error(req, 404, "Not Found", "no handler on this server");
		return;
	}
	srv->cfg.handler(req, srv->cfg.arg);
}

/* Returns 1 to go on processing, 0 to wait for bytes or the handler. */
static int
process_head(struct gh_http_conn *conn)
{
	struct evbuffer *in = conn->in;
	const struct gh_http_limits *lim = &conn->srv->cfg.limits;
	struct http_refusal rf = { 0, NULL, NULL };
	size_t len, hlen = 0;
	const char *buf;
	llhttp_errno_t err;
	int rc;

	if (conn->state == HC_IDLE) {
		unsigned char two[2];

		/* RFC 9112 2.2: empty lines before a request line are skipped. */
		while (evbuffer_copyout(in, two, 2) == 2 && two[0] == '\r' && two[1] == '\n')
			evbuffer_drain(in, 2);
		len = evbuffer_get_length(in);
		if (len == 0 || (len == 1 && evbuffer_copyout(in, two, 1) == 1 && two[0] == '\r'))
			return 0;
		if (req_new(conn) == NULL) {
			conn_free(conn);
			return 0;
		}
		conn->state = HC_HEAD;
		conn->scan_off = 0;
		conn->refusal.status = 0;
		arm_timer(conn, lim->header_timeout_ms);
	}
	len = evbuffer_get_length(in);
	if (len > lim->max_header_bytes)
		len = lim->max_header_bytes;
	buf = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
	if (buf == NULL)
		return 0;
	rc = http_head_find(buf, len, &conn->scan_off, lim, &hlen, &rf);
	if (rc == 0)
		return 0;
	if (rc < 0 || http_head_check(buf, hlen, lim, &rf) < 0) {
		conn_refuse(conn, &rf);
		return 0;
	}

	if (head_mem(conn, hlen) < 0) {
		conn_free(conn);
		return 0;
	}
	llhttp_init(&conn->parser, HTTP_REQUEST, &parser_settings);
	conn->parser.data = conn;
	err = llhttp_execute(&conn->parser, buf, hlen);
	if (err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) {
		if (llhttp_get_error_pos(&conn->parser) != buf + hlen) {
			conn_refuse(conn, &(struct http_refusal){ 400, "Bad Request",
			    "malformed request head" });
			return 0;
		}
		evbuffer_drain(in, hlen);
		if (conn->state == HC_TRAILER) {
			conn_refuse(conn, &(struct http_refusal){ 400, "Bad Request",
			    "malformed request head" });
			return 0;
		}
		dispatch(conn);
		return 0;
	}
	if (err != HPE_OK) {
		refuse_llhttp(conn, err);
		return 0;
	}
	evbuffer_drain(in, hlen);
	conn->state = HC_BODY;
	arm_timer(conn, lim->body_timeout_ms);
	if (conn->req->http_minor == 1 && gh_http_req_header(conn->req, "expect") != NULL &&
	    evbuffer_get_length(in) == 0) {
		evbuffer_add(http_conn_output(conn), "HTTP/1.1 100 Continue\r\n\r\n", 25);
		conn->sent_continue = 1;
		event_active(conn->resume, 0, 0);
	}
	if (conn->body_stream) {
		/* The handler gets the request now; the body follows to on_body. */
		conn->handed = 1;
		conn->nrequests++;
		if (conn->srv->cfg.handler == NULL)
			gh_http_respond_error(conn->req, 404, "Not Found", "no handler on this server");
		else
			conn->srv->cfg.handler(conn->req, conn->srv->cfg.arg);
	}
	return 1;
}

/*
 * Hand the decoded bytes held for a streamed body to on_body while the
 * handler wants them, then on_body_end once the body was read whole.
 */
static void
body_deliver(struct gh_http_conn *conn)
{
	struct gh_http_req *req = conn->req;

	if (req == NULL)
		return;
	while (conn->body_stream && !conn->body_paused && req->on_body != NULL) {
		struct evbuffer_iovec v;

		if (evbuffer_peek(conn->body_buf, -1, NULL, &v, 1) < 1)
			break;
		req->on_body(req, v.iov_base, v.iov_len, req->body_arg);
		if (conn->req != req)
			return;
		evbuffer_drain(conn->body_buf, v.iov_len);
	}
	if (conn->state == HC_HANDLER && conn->body_stream && !conn->body_paused &&
	    req->on_body != NULL && evbuffer_get_length(conn->body_buf) == 0) {
		conn->body_stream = 0;
		if (req->on_body_end != NULL)
			req->on_body_end(req, req->body_arg);
	}
}

/*
 * A streamed body: decode while fewer than GH_HTTP_BODY_BUFFER bytes are
 * held (beyond that the input fills and reading pauses), deliver, and
 * go on while the handler takes the bytes.
 */
static void
process_body_stream(struct gh_http_conn *conn)
{
	struct evbuffer *in = conn->in;
	struct gh_http_req *req = conn->req;

	for (;;) {
		while (conn->state == HC_BODY && evbuffer_get_length(in) > 0 &&
		    evbuffer_get_length(conn->body_buf) < GH_HTTP_BODY_BUFFER) {
			size_t room = GH_HTTP_BODY_BUFFER - evbuffer_get_length(conn->body_buf);
			struct evbuffer_iovec v;
			llhttp_errno_t err;

			if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
				break;
			if (v.iov_len > room)
				v.iov_len = room;
			err = llhttp_execute(&conn->parser, v.iov_base, v.iov_len);
			if (err == HPE_OK) {
				evbuffer_drain(in, v.iov_len);
				continue;
			}
			if (err != HPE_PAUSED && err != HPE_PAUSED_UPGRADE) {
				refuse_llhttp(conn, err);
				return;
			}
			evbuffer_drain(in, (size_t)(llhttp_get_error_pos(&conn->parser) -
			    (const char *)v.iov_base));
			if (conn->state == HC_BODY)
				conn->state = HC_HANDLER;
		}
		if (conn->state == HC_TRAILER) {
			unsigned char two[2];
			ev_ssize_t n = evbuffer_copyout(in, two, 2);

			if ((n >= 1 && two[0] != '\r') || (n == 2 && two[1] != '\n')) {
				conn_refuse(conn, &(struct http_refusal){ 400, "Bad Request",
				    "trailer fields are not accepted" });
				return;
			}
			if (n == 2) {
				evbuffer_drain(in, 2);
				conn->state = HC_HANDLER;
			}
		}
		body_deliver(conn);
		if (conn->req != req || conn->state != HC_BODY || evbuffer_get_length(in) == 0 ||
		    evbuffer_get_length(conn->body_buf) >= GH_HTTP_BODY_BUFFER)
			break;
	}
	if (conn->req != req)
		return;
	if (conn->state == HC_HANDLER)
		evtimer_del(conn->timer);
	else if (!conn->body_paused && evbuffer_get_length(conn->body_buf) < GH_HTTP_BODY_BUFFER)
		arm_timer(conn, conn->srv->cfg.limits.body_timeout_ms);
	else
		evtimer_del(conn->timer);
}

void
gh_http_req_pause_body(struct gh_http_req *req, int pause)
{
	struct gh_http_conn *conn = req->conn;

	if (conn == NULL || conn->req != req || !conn->body_stream)
		return;
	conn->body_paused = pause != 0;
	if (!pause)
		event_active(conn->resume, 0, 0);
}

static int
process_body(struct gh_http_conn *conn)
{
	struct evbuffer *in = conn->in;

	while (conn->state == HC_BODY && evbuffer_get_length(in) > 0) {
		struct evbuffer_iovec v;
		llhttp_errno_t err;

		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			return 0;
		err = llhttp_execute(&conn->parser, v.iov_base, v.iov_len);
		if (err == HPE_OK) {
			evbuffer_drain(in, v.iov_len);
			continue;
		}
		if (err != HPE_PAUSED && err != HPE_PAUSED_UPGRADE) {
			refuse_llhttp(conn, err);
			return 0;
		}
		evbuffer_drain(in, (size_t)(llhttp_get_error_pos(&conn->parser) -
		    (const char *)v.iov_base));
		if (conn->state == HC_BODY) {
			dispatch(conn);
			return 0;
		}
	}
	if (conn->state == HC_TRAILER) {
		unsigned char two[2];
		ev_ssize_t n = evbuffer_copyout(in, two, 2);

		if (n >= 1 && two[0] != '\r')
			goto trailer;
		if (n < 2)
			return 0;
		if (two[1] != '\n')
			goto trailer;
		evbuffer_drain(in, 2);
		dispatch(conn);
	}
	return 0;
trailer:
	conn_refuse(conn, &(struct http_refusal){ 400, "Bad Request",
	    "trailer fields are not accepted" });
	return 0;
}

static void
conn_process(struct gh_http_conn *conn)
{
	for (;;) {
		switch (conn->state) {
		case HC_IDLE:
		case HC_HEAD:
			if (!process_head(conn))
				return;
			break;
		case HC_BODY:
		case HC_TRAILER:
			if (conn->body_stream)
				process_body_stream(conn);
			else
				process_body(conn);
			return;
		case HC_HANDLER:
			if (conn->body_stream)
				process_body_stream(conn);
			return;
		default:
			return;
		}
	}
}

/* ---- reading (http_io.c reads into conn->in) --------------------------- */

/* Stop reading from the peer (a response closes the connection, or it ends). */
static void
conn_read_off(struct gh_http_conn *conn)
{
	http_io_read_off(conn);
}

void
http_conn_input(struct gh_http_conn *conn)
{
	conn_process(conn);
}

/* Input drained below the high-water mark: read again if reading is wanted. */
static void
input_cb(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg)
{
	(void)in;
	if (info->n_deleted > 0)
		http_io_input_drained(arg);
}

/* ---- connection end ---------------------------------------------------- */

static void
abort_request(struct gh_http_conn *conn)
{
	struct gh_http_req *req = conn->req;

	conn->req = NULL;
	req->conn = NULL;
	conn->handed = 0;
	conn->body_stream = 0;
	gh_log_info("request_aborted", req->request_id, "client %s went away after %ld ms",
	    req->client_addr, http_conn_elapsed_ms(conn));
	if (req->on_abort != NULL) {
		req->on_abort(req, req->abort_arg);
		http_req_free(req);
	}
	/* else: orphaned; gh_http_respond() frees it when the handler answers. */
}

static void
conn_free(struct gh_http_conn *conn)
{
	struct gh_http_server *srv = conn->srv;

	if (conn->req != NULL) {
		if (conn->state == HC_HANDLER || conn->handed)
			abort_request(conn);
		else
			http_req_free(conn->req);
		conn->req = NULL;
	}
	if (conn->prev != NULL)
		conn->prev->next = conn->next;
	else
		srv->conns = conn->next;
	if (conn->next != NULL)
		conn->next->prev = conn->prev;
	if (conn->linger != NULL)
		event_free(conn->linger);
	event_free(conn->timer);
	event_free(conn->resume);
	if (conn->body_buf != NULL)
		evbuffer_free(conn->body_buf);
	if (conn->in_cb != NULL)
		evbuffer_remove_cb_entry(conn->in, conn->in_cb);
	if (conn->out_cb != NULL)
		evbuffer_remove_cb_entry(conn->out, conn->out_cb);
	http_io_close(conn);
	free(conn);
	srv->nconns--;
	if (srv->shutting_down && srv->nconns == 0 && srv->done_ev != NULL)
		event_active(srv->done_ev, 0, 0);
}

static void
linger_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gh_http_conn *conn = arg;
	char buf[4096];

	(void)what;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		conn_free(conn);
		return;
	}
}

/*
 * The last response is flushed: send close_notify (TLS), shut the write
 * side, and read what the peer still sends for a while so that closing
 * with unread bytes does not reset the connection under the response.
 */
static void
start_linger(struct gh_http_conn *conn)
{
	conn->state = HC_LINGER;
	http_io_stop(conn);
	http_io_close_notify(conn);
	if (shutdown(conn->fd, SHUT_WR) < 0) {
		conn_free(conn);
		return;
	}
	conn->linger = event_new(conn->srv->base, conn->fd, EV_READ | EV_PERSIST, linger_cb, conn);
	if (conn->linger == NULL || event_add(conn->linger, NULL) < 0) {
		conn_free(conn);
		return;
	}
	arm_timer(conn, LINGER_MS);
}

void
http_conn_response_done(struct gh_http_conn *conn, int close_after)
{
	conn->req = NULL;
	conn->handed = 0;
	conn->body_stream = 0;
	if (conn->body_buf != NULL)
		evbuffer_drain(conn->body_buf, evbuffer_get_length(conn->body_buf));
	if (close_after) {
		conn->state = HC_CLOSING;
		conn_read_off(conn);
		evtimer_del(conn->timer);
	} else {
		conn->state = HC_IDLE;
		arm_timer(conn, conn->srv->cfg.limits.idle_timeout_ms);
	}
	/* Go on from the loop, never from inside the handler's call. */
	event_active(conn->resume, 0, 0);
}

/*
 * Connections write their output here, from resume_cb, straight to the
 * socket (http_io.c arms a write event only while bytes remain that the
 * socket did not take).  0, or -1 when conn was freed (a write error).
 */
static int
conn_send(struct gh_http_conn *conn)
{
	if (evbuffer_get_length(conn->out) == 0 || http_io_pending(conn))
		return 0;
	return http_io_send(conn);
}

void
http_conn_before_write(struct gh_http_conn *conn)
{
	struct gh_http_server *srv = conn->srv;

	http_log_flush(srv);
	if (srv->cfg.before_send != NULL)
		srv->cfg.before_send(srv->cfg.arg);
}

void
http_conn_kick(struct gh_http_conn *conn)
{
	event_active(conn->resume, 0, 0);
}

/* Output drained (by any writer): a paused streamed response may go on. */
static void
output_cb(struct evbuffer *out, const struct evbuffer_cb_info *info, void *arg)
{
	struct gh_http_conn *conn = arg;

	if (info->n_deleted > 0 && conn->stream_paused &&
	    evbuffer_get_length(out) <= GH_HTTP_STREAM_LOW)
		event_active(conn->resume, 0, 0);
}

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gh_http_conn *conn = arg;

	(void)fd;
	(void)what;
	if (conn_send(conn) < 0)
		return;
	if (conn->state == HC_HANDLER && conn->stream_paused && conn->req != NULL &&
	    evbuffer_get_length(http_conn_output(conn)) <= GH_HTTP_STREAM_LOW) {
		struct gh_http_req *req = conn->req;

		conn->stream_paused = 0;
		if (req->on_drain != NULL)
			req->on_drain(req, req->drain_arg);
		if (conn->req == req && conn->body_stream)
			conn_process(conn);
		return;
	}
	if (conn->state == HC_CLOSING) {
		if (evbuffer_get_length(conn->out) == 0)
			start_linger(conn);
		return;
	}
	conn_process(conn);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gh_http_conn *conn = arg;

	(void)fd;
	(void)what;
	switch (conn->state) {
	case HC_HEAD:
		conn_refuse(conn, &(struct http_refusal){ 408, "Request Timeout",
		    "the request head was not received in time" });
		break;
	case HC_BODY:
	case HC_TRAILER:
		conn_refuse(conn, &(struct http_refusal){ 408, "Request Timeout",
		    "the request body was not received in time" });
		break;
	case HC_IDLE:
		if (evbuffer_get_length(http_conn_output(conn)) > 0) {
			conn->state = HC_CLOSING;
			conn_read_off(conn);
			break;
		}
		conn_free(conn);
		break;
	case HC_LINGER:
		conn_free(conn);
		break;
	default:
		break;
	}
}

int
http_conn_flushed(struct gh_http_conn *conn)
{
	if (conn->state != HC_CLOSING)
		return 0;
	start_linger(conn);
	return -1;
}

void
http_conn_io_end(struct gh_http_conn *conn, int eof)
{
	if (eof) {
		/* Half-close: a queued response still goes out, then the connection closes. */
		if (conn->state == HC_CLOSING)
			return;
		if (conn->state == HC_IDLE && evbuffer_get_length(conn->out) > 0) {
			conn->state = HC_CLOSING;
			evtimer_del(conn->timer);
			return;
		}
	}
	conn_free(conn);
}

/* ---- listening --------------------------------------------------------- */

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct gh_http_server *srv = arg;
	struct gh_http_conn *conn;
	int one = 1;
	const struct gh_http_limits *lim = &srv->cfg.limits;

	(void)l;
	(void)salen;
	if (srv->shutting_down || (conn = calloc(1, sizeof(*conn))) == NULL) {
		close(fd);
		return;
	}
	conn->srv = srv;
	conn->fd = fd;
	conn->state = HC_IDLE;
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, conn->peer_addr,
		    sizeof(conn->peer_addr));
	} else if (sa->sa_family == AF_INET6) {
		struct in6_addr *a6 = &((struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6))
			inet_ntop(AF_INET, &a6->s6_addr[12], conn->peer_addr, sizeof(conn->peer_addr));
		else
			inet_ntop(AF_INET6, a6, conn->peer_addr, sizeof(conn->peer_addr));
	} else {
		snprintf(conn->peer_addr, sizeof(conn->peer_addr), "unknown");
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	conn->tls = srv->cfg.ssl != NULL;
	conn->timer = evtimer_new(srv->base, timer_cb, conn);
	conn->resume = event_new(srv->base, -1, 0, resume_cb, conn);
	if (http_io_open(conn, srv->cfg.ssl) != 0 || conn->timer == NULL || conn->resume == NULL ||
	    (conn->in_cb = evbuffer_add_cb(conn->in, input_cb, conn)) == NULL ||
	    (conn->out_cb = evbuffer_add_cb(conn->out, output_cb, conn)) == NULL) {
		http_io_close(conn);
		if (conn->timer != NULL)
			event_free(conn->timer);
		if (conn->resume != NULL)
			event_free(conn->resume);
		free(conn);
		return;
	}
	conn->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = conn;
	srv->conns = conn;
	srv->nconns++;
	http_io_read_on(conn);
	/* The first request (and the TLS handshake) must start within the head timeout. */
	arm_timer(conn, lim->header_timeout_ms);
}

static void
done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gh_http_server *srv = arg;

	(void)fd;
	(void)what;
	if (srv->done_fired)
		return;
	srv->done_fired = 1;
	evtimer_del(srv->grace_ev);
	if (srv->done != NULL)
		srv->done(srv->done_arg);
}

static void
log_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	http_log_flush(arg);
}

static void
grace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gh_http_server *srv = arg;

	(void)fd;
	(void)what;
	while (srv->conns != NULL)
		conn_free(srv->conns);
}

struct gh_http_server *
gh_http_server_new(struct event_base *base, const struct gh_http_server_cfg *cfg)
{
	struct gh_http_server *srv = calloc(1, sizeof(*srv));
	struct gh_http_limits def;
	struct gh_http_limits *l;

	if (srv == NULL)
		return NULL;
	srv->base = base;
	srv->cfg = *cfg;
	srv->port = -1;
	l = &srv->cfg.limits;
	gh_http_limits_default(&def);
	if (l->max_header_bytes == 0)
		l->max_header_bytes = def.max_header_bytes;
	if (l->max_headers == 0)
		l->max_headers = def.max_headers;
	if (l->max_url_bytes == 0)
		l->max_url_bytes = def.max_url_bytes;
	if (l->max_body_bytes == 0)
		l->max_body_bytes = def.max_body_bytes;
	if (l->header_timeout_ms <= 0)
		l->header_timeout_ms = def.header_timeout_ms;
	if (l->body_timeout_ms <= 0)
		l->body_timeout_ms = def.body_timeout_ms;
	if (l->idle_timeout_ms <= 0)
		l->idle_timeout_ms = def.idle_timeout_ms;
	if (l->max_requests_per_conn <= 0)
		l->max_requests_per_conn = def.max_requests_per_conn;
	srv->grace_ev = evtimer_new(base, grace_cb, srv);
	srv->done_ev = event_new(base, -1, 0, done_cb, srv);
	srv->log_ev = event_new(base, -1, 0, log_flush_cb, srv);
	if (srv->grace_ev == NULL || srv->done_ev == NULL || srv->log_ev == NULL) {
		gh_http_server_free(srv);
		return NULL;
	}
	return srv;
}

int
gh_http_server_listen(struct gh_http_server *srv, const char *addr, int port,
    char *err, size_t errlen)
{
	struct addrinfo hints, *ai = NULL;
	struct evconnlistener *l;
	char portstr[16];
	int rc;

	if (srv->shutting_down || srv->nlisteners >= HTTP_MAX_LISTENERS) {
		snprintf(err, errlen, "no more listeners on this server");
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if (addr != NULL && (addr[0] == '\0' || strcmp(addr, "*") == 0))
		addr = NULL;
	rc = getaddrinfo(addr, portstr, &hints, &ai);
	if (rc != 0) {
		snprintf(err, errlen, "listen address %s: %s", addr ? addr : "*", gai_strerror(rc));
		return -1;
	}
	l = evconnlistener_new_bind(srv->base, accept_cb, srv,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC |
	    (srv->cfg.reuseport ? LEV_OPT_REUSEABLE_PORT : 0), 511,
	    ai->ai_addr, (int)ai->ai_addrlen);
	freeaddrinfo(ai);
	if (l == NULL) {
		snprintf(err, errlen, "listen on %s:%d: %s", addr ? addr : "*", port,
		    strerror(errno));
		return -1;
	}
	if (srv->nlisteners == 0) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);

		if (getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&ss, &sl) == 0)
			srv->port = ntohs(ss.ss_family == AF_INET6 ?
			    ((struct sockaddr_in6 *)&ss)->sin6_port :
			    ((struct sockaddr_in *)&ss)->sin_port);
	}
	srv->listeners[srv->nlisteners++] = l;
	return 0;
}

int
gh_http_server_port(const struct gh_http_server *srv)
{
	return srv->port;
}

void
gh_http_server_set_trusted_proxies(struct gh_http_server *srv, const char *list)
{
	__atomic_store_n(&srv->cfg.trusted_proxies, list, __ATOMIC_RELEASE);
}

static void
close_listeners(struct gh_http_server *srv)
{
	for (size_t i = 0; i < srv->nlisteners; i++)
		evconnlistener_free(srv->listeners[i]);
	srv->nlisteners = 0;
}

void
gh_http_server_shutdown(struct gh_http_server *srv, int grace_ms,
    void (*done)(void *arg), void *arg)
{
	struct gh_http_conn *conn, *next;
	struct timeval tv = { grace_ms / 1000, (grace_ms % 1000) * 1000 };

	srv->shutting_down = 1;
	srv->done = done;
	srv->done_arg = arg;
	close_listeners(srv);
	for (conn = srv->conns; conn != NULL; conn = next) {
		next = conn->next;
		if (conn->state != HC_IDLE)
			continue;
		if (evbuffer_get_length(http_conn_output(conn)) > 0) {
			conn->state = HC_CLOSING;
			conn_read_off(conn);
			evtimer_del(conn->timer);
		} else {
			conn_free(conn);
		}
	}
	if (srv->nconns == 0)
		event_active(srv->done_ev, 0, 0);
	else
		evtimer_add(srv->grace_ev, &tv);
}

void
gh_http_server_free(struct gh_http_server *srv)
{
	if (srv == NULL)
		return;
	close_listeners(srv);
	srv->done_fired = 1;
	while (srv->conns != NULL)
		conn_free(srv->conns);
	if (srv->grace_ev != NULL)
		event_free(srv->grace_ev);
	if (srv->done_ev != NULL)
		event_free(srv->done_ev);
	http_log_flush(srv);
	if (srv->log_ev != NULL)
		event_free(srv->log_ev);
	free(srv->logbuf);
	free(srv);
}
