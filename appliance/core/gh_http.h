/*
 * HTTP/1.1 server (its own socket I/O on libevent events, plain or
 * OpenSSL on the non-blocking socket) and client (libevent bufferevents),
 * parsed by llhttp, with optional TLS and mutual TLS.  Strict by design:
 * what llhttp accepts but an edge must refuse (obs-fold, bare LF,
 * whitespace before a colon, NUL, odd Transfer-Encoding) is refused
 * before a handler sees the request.
 * One request per connection is in flight at a time; pipelined requests
 * wait in the input buffer and are answered in order.
 *
 * A handler receives a request and must eventually call exactly one of
 * gh_http_respond*() on it, now or later from another callback; the
 * request stays valid until then (or until on_abort fires when the
 * client goes away first).
 */
#ifndef GH_HTTP_H
#define GH_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>

#include "core/gh_tls.h"

struct event_base;
struct json_object;
struct gh_http_conn;
struct gh_http_server;

struct gh_http_header {
	char *name;
	char *value;
};

struct gh_http_limits {
	size_t max_header_bytes;   /* request line + header block: 431 (default 16384) */
	size_t max_headers;        /* header fields: 431 (default 100) */
	size_t max_url_bytes;      /* request-target: 414 (default 8192) */
	size_t max_body_bytes;     /* decoded body: 413 (default 1 MiB) */
	int header_timeout_ms;     /* whole header block: 408 (default 10000) */
	int body_timeout_ms;       /* whole body: 408 (default 30000) */
	int idle_timeout_ms;       /* idle keep-alive connection closed (default 60000) */
	int max_requests_per_conn; /* then Connection: close (default 1000) */
};

struct gh_http_req;
typedef void (*gh_http_handler_fn)(struct gh_http_req *req, void *arg);

struct gh_http_server_cfg {
	const char *name;            /* service name for logs */
	struct gh_http_limits limits;
	SSL_CTX *ssl;                /* NULL: plain HTTP.  Borrowed. */
	const char *mtls_allow;      /* NULL: no identity check; else gh_mtls_allowed() list, 403 otherwise */
	const char *trusted_proxies; /* comma-separated peer addresses or CIDR blocks whose X-Forwarded-For is believed */
	gh_http_handler_fn handler;
	void *arg;
	/*
	 * Called once the head is parsed, before the body is read (may be
	 * NULL): it may set req->max_body_bytes to lower the body limit of
	 * this request (an API's own limit), so that a larger body is refused
	 * with 413 as it arrives, never held, and set req->stream_body to
	 * have the body streamed to the handler (see struct gh_http_req).
	 * It must not respond.
	 */
	void (*head_hook)(struct gh_http_req *req, void *arg);
	int reuseport;               /* listeners set SO_REUSEPORT (one per worker thread) */
	int no_access_log;           /* 1: no "access" line per response (the caller logs its own) */
	/*
	 * Called with arg on the loop just before the server writes bytes to
	 * a client's socket (each write; may be NULL): what the application
	 * must have written before any response can reach a client (an
	 * analytics spool) goes out there, once for the responses of a turn
	 * of the loop.  It must not respond or free requests.
	 */
	void (*before_send)(void *arg);
};

struct gh_http_req {
	struct gh_http_conn *conn;
	const char *method;          /* "GET", ... (static string) */
	int method_id;               /* llhttp_method_t */
	char *target;                /* request-target as received */
	char *path;                  /* target before '?', not percent-decoded */
	char *query;                 /* after '?', or NULL */
	struct gh_http_header *headers;
	size_t nheaders;
	char *mem;                   /* the server's: one block holding the strings above (read-only) */
	unsigned char *body;         /* decoded (de-chunked), NUL-terminated; NULL when empty */
	size_t body_len;
	int http_minor;              /* 1 for HTTP/1.1, 0 for 1.0 */
	int keep_alive;
	char request_id[65];         /* X-Request-ID when 1-64 of [A-Za-z0-9._-], else 32 random hex */
	char peer_addr[64];          /* TCP peer */
	char client_addr[64];        /* real client: from X-Forwarded-For only via trusted proxies */
	int tls;
	int has_peer_id;             /* verified client certificate with a gatehouse:// SAN */
	struct gh_peer_id peer_id;
	void *ctx;                   /* free for the handler */
	size_t max_body_bytes;       /* set by head_hook: this request's body limit (0: the server's) */
	/*
	 * Client went away before the response: on_abort(req, abort_arg)
	 * runs and the server frees req right after; the handler must not
	 * respond then.  With no on_abort the request stays valid and
	 * gh_http_respond*() just frees it.
	 */
	void (*on_abort)(struct gh_http_req *req, void *arg);
	void *abort_arg;
	/* response headers added by gh_http_resp_header() */
	struct gh_http_header *resp_headers;
	size_t nresp_headers;
	/*
	 * Streamed responses (gh_http_respond_start): after
	 * gh_http_respond_write() returned 1, on_drain(req, drain_arg) runs
	 * from the loop once the output fell below the low-water mark.
	 */
	void (*on_drain)(struct gh_http_req *req, void *arg);
	void *drain_arg;
	/*
	 * Streamed request bodies.  The head hook may set stream_body = 1:
	 * when a body follows (Content-Length > 0 or chunked) the handler is
	 * then called right after the head, with body NULL and stream_body
	 * still 1 (the server clears it when no body follows, and the
	 * request is handled as a buffered one).  The handler sets on_body
	 * and on_body_end (and body_arg), then calls
	 * gh_http_req_pause_body(req, 0) to start the delivery: until then
	 * at most GH_HTTP_BODY_BUFFER decoded bytes are held and reading
	 * pauses.  on_body(req, data, len, arg) gets the decoded pieces in
	 * order (data borrowed for the call); on_body_end(req, arg) runs
	 * once after the last one (the trailer section consumed).  Either
	 * may respond or pause.  The per-request body limit refuses with
	 * 413 as bytes arrive and body_timeout_ms limits each wait for body
	 * bytes while delivery is not paused (408): both, and a malformed
	 * chunk (400), first run on_abort (the handler must not respond
	 * then), then answer the client with the refusal on a new request
	 * of the same connection, or just close the connection when a
	 * response had started.  A response sent before on_body_end closes
	 * the connection after it (the rest of the body is never parsed as
	 * a request).
	 */
	int stream_body;
	void (*on_body)(struct gh_http_req *req, const void *data, size_t len, void *arg);
	void (*on_body_end)(struct gh_http_req *req, void *arg);
	void *body_arg;
};

/* Decoded body bytes a streamed request holds while its delivery is paused. */
#define GH_HTTP_BODY_BUFFER (64u * 1024)

/*
 * Pause (pause 1) or resume (pause 0) the delivery of a streamed
 * request body; resuming delivers what is held from the loop, never
 * from inside this call.  Nothing on a request without a streamed body.
 */
void gh_http_req_pause_body(struct gh_http_req *req, int pause);

/* Fill limits with the defaults above. */
void gh_http_limits_default(struct gh_http_limits *l);

/*
 * New server on base with cfg (copied; strings and SSL_CTX borrowed and
 * must outlive the server).  A limit left 0 takes its default.  The
 * refusal statuses are listed at the top of core/http_strict.c.  NULL on
 * ENOMEM.
 */
struct gh_http_server *gh_http_server_new(struct event_base *base,
    const struct gh_http_server_cfg *cfg);

/*
 * Listen on addr:port (port 0 picks one).  addr is a numeric IPv4 or
 * IPv6 address; NULL, "" or "*" listen on all.  Up to 4 listeners per
 * server.  0 ok, -1 with err.
 */
int gh_http_server_listen(struct gh_http_server *srv, const char *addr, int port,
    char *err, size_t errlen);

/* Port of the first listener (after port 0). */
int gh_http_server_port(const struct gh_http_server *srv);

/*
 * Replace the trusted-proxy list of a running server (SIGHUP reloads).
 * list is borrowed and must stay valid for the server's life; the swap is
 * atomic, so any thread may call it while the server's thread reads.
 */
void gh_http_server_set_trusted_proxies(struct gh_http_server *srv, const char *list);

/*
 * Graceful shutdown: stop accepting, close idle connections, let requests
 * in flight finish (their responses carry Connection: close), and force
 * the rest closed after grace_ms.  done(arg) runs when no connection is left.
 */
void gh_http_server_shutdown(struct gh_http_server *srv, int grace_ms,
    void (*done)(void *arg), void *arg);

/*
 * Close everything and free the server: requests still with a handler
 * get on_abort (or become orphans that gh_http_respond() just frees).
 * Call it from the event loop, not from inside one of its handlers.
 */
void gh_http_server_free(struct gh_http_server *srv);

/* First value of a request header, name case-insensitive; NULL if absent. */
const char *gh_http_req_header(const struct gh_http_req *req, const char *name);

/*
 * Add a response header (copied).  0 ok; -1 on a CR or LF in either part
 * (a C string cannot hold NUL), a name that is not a token, or a header
 * the server writes itself (Content-Length, Transfer-Encoding,
 * Connection, Date, X-Request-ID).  A Content-Type added here is used
 * only when gh_http_respond() gets content_type NULL.
 */
int gh_http_resp_header(struct gh_http_req *req, const char *name, const char *value);

/*
 * Send the response and finish the request (req is freed after this).
 * Content-Length, Date, Connection and X-Request-ID are set here; a HEAD
 * request gets the headers only, 204 and 304 get neither body nor
 * Content-Length, and a status outside 200..999 is sent as 500.  The
 * connection closes after it when the client asked, on HTTP/1.0 without
 * keep-alive, after max_requests_per_conn, during shutdown and after a
 * refusal.  body is copied.
 */
void gh_http_respond(struct gh_http_req *req, int status, const char *content_type,
    const void *body, size_t len);

/* Output bytes queued for a client above which gh_http_respond_write() asks to wait. */
#define GH_HTTP_STREAM_HIGH (256u * 1024)
/* ... and below which on_drain runs. */
#define GH_HTTP_STREAM_LOW (64u * 1024)

/*
 * Start a streamed response: the head now (status and headers as
 * gh_http_respond() writes them), the body by gh_http_respond_write()
 * and gh_http_respond_end().  content_length >= 0 is sent as
 * Content-Length (and the body must have exactly that many bytes); -1
 * sends the body chunked to an HTTP/1.1 client and close-delimited to
 * an HTTP/1.0 one.  HEAD, 204 and 304 get no body (writes are dropped);
 * a HEAD keeps a known Content-Length.  req stays the handler's until
 * gh_http_respond_end() or gh_http_respond_abort() (or on_abort).
 * 0 ok, -1 when the client is already gone (still call _end).
 */
int gh_http_respond_start(struct gh_http_req *req, int status, const char *content_type,
    long long content_length);

/*
 * Queue len body bytes (copied).  0: go on; 1: the output is above
 * GH_HTTP_STREAM_HIGH, stop producing until req->on_drain runs; -1: the
 * client is gone or the bytes exceed the declared Content-Length
 * (nothing queued; finish with gh_http_respond_abort()).
 */
int gh_http_respond_write(struct gh_http_req *req, const void *data, size_t len);

/*
 * Finish a streamed response (the last chunk when chunked) and free
 * req.  Fewer bytes than the declared Content-Length close the
 * connection instead, as gh_http_respond_abort() does.
 */
void gh_http_respond_end(struct gh_http_req *req);

/*
 * Give up a streamed response half way: what was queued is flushed and
 * the connection closed without the end of the body, so that the client
 * sees a truncated response.  Frees req.
 */
void gh_http_respond_abort(struct gh_http_req *req);

/* JSON body (borrowed, serialized here). */
void gh_http_respond_json(struct gh_http_req *req, int status, struct json_object *body);

/* Error body {"code":status,"message","description"}. */
void gh_http_respond_error(struct gh_http_req *req, int status, const char *message,
    const char *description);

/* Same with a code other than the status (WSO2 gateway codes such as 900901). */
void gh_http_respond_error_code(struct gh_http_req *req, int status, long code,
    const char *message, const char *description);

/* Reason phrase of status ("Not Found"), "Unknown" when not known. */
const char *gh_http_status_text(int status);

/*
 * HTTP/1.1 client: keep-alive pools per (scheme, host, port), connect and
 * response timeouts, TLS with a CA bundle and an optional client
 * certificate.  Responses are parsed as strictly as requests are.
 */
struct gh_httpc;

struct gh_httpc_cfg {
	SSL_CTX *ssl;                /* for https:// URLs; NULL: https refused.  Borrowed. */
	int connect_timeout_ms;      /* default 5000 */
	int timeout_ms;              /* whole response, default 30000 */
	size_t max_idle_per_host;    /* pooled idle connections, default 16 */
	size_t max_header_bytes;     /* default 16384 */
	size_t max_body_bytes;       /* default 8 MiB */
};

enum gh_httpc_err {
	GH_HTTPC_OK = 0,
	GH_HTTPC_ECONNECT,           /* could not connect / TLS handshake failed */
	GH_HTTPC_ETIMEOUT,
	GH_HTTPC_EPROTO,             /* malformed or oversized response */
	GH_HTTPC_ECLOSED,            /* peer closed before a full response */
	GH_HTTPC_EURL,
};

struct gh_httpc_resp {
	enum gh_httpc_err error;
	const char *errstr;          /* static text for error */
	int status;
	struct gh_http_header *headers;
	size_t nheaders;
	unsigned char *body;         /* NUL-terminated, NULL when empty */
	size_t body_len;
	char *hmem;                  /* the headers' names and values, one block (freed with them) */
};

/*
 * On success resp->error is GH_HTTPC_OK and status, headers and body are
 * set; on failure only error and errstr are.  cb may keep headers and body
 * by copying *resp and zeroing it (then free them with gh_httpc_resp_clear()).
 */
typedef void (*gh_httpc_cb)(struct gh_httpc_resp *resp, void *arg);

/*
 * New client on base; cfg is copied (zero fields take the defaults above,
 * may be NULL), its SSL_CTX borrowed and must outlive the client.  Server
 * certificates are always verified (SSL_VERIFY_PEER is forced), against
 * the host name (also sent as SNI) or the IP address of the URL.  Host
 * names are resolved asynchronously on base (libevent's evdns: /etc/hosts,
 * then the name servers of /etc/resolv.conf) when a new connection is
 * opened, within the connect timeout; nothing blocks the loop.  The
 * process must ignore SIGPIPE.  NULL on ENOMEM.
 */
struct gh_httpc *gh_httpc_new(struct event_base *base, const struct gh_httpc_cfg *cfg);

/*
 * Take c's name servers from path (resolv.conf syntax, "nameserver
 * IP[:PORT]") instead of /etc/resolv.conf; path is copied and read when
 * the first host name is resolved, so call this before any request.
 * Returns 0, or -1 on ENOMEM (nothing changed).
 */
int gh_httpc_set_resolv_conf(struct gh_httpc *c, const char *path);

/*
 * Close every connection and free c.  Requests still in flight get their
 * callback now, with GH_HTTPC_ECLOSED.  c may be freed from a callback.
 */
void gh_httpc_free(struct gh_httpc *c);

/*
 * Start a request to url (http:// or https://).  hdrs may be NULL; Host,
 * Content-Length and Connection are set here.  cb runs exactly once, on
 * the event loop; resp is freed after cb returns.  0 started, -1 on a bad URL.
 * Also -1 (and no callback): a method that is not a token, a header whose
 * name is not a token or whose value has CR, LF or another control byte,
 * a caller's Host, Content-Length, Transfer-Encoding or Connection header
 * (framing is always rebuilt), or https without cfg->ssl.  Body and
 * headers are copied.  A GET, HEAD, PUT, DELETE, OPTIONS or TRACE that
 * fails on a reused connection before any response byte is sent again
 * once on a new connection.
 */
int gh_httpc_request(struct gh_httpc *c, const char *method, const char *url,
    const struct gh_http_header *hdrs, size_t nhdrs, const void *body, size_t len,
    gh_httpc_cb cb, void *arg);

/*
 * Blocking form with its own event base, for commands and tests.  cfg may
 * be NULL.  out is always filled (error GH_HTTPC_EURL where
 * gh_httpc_request() would return -1); free with gh_httpc_resp_clear().
 * 0 when a response arrived (any status), -1 otherwise.
 */
int gh_httpc_fetch(const struct gh_httpc_cfg *cfg, const char *method, const char *url,
    const struct gh_http_header *hdrs, size_t nhdrs, const void *body, size_t len,
    struct gh_httpc_resp *out);
void gh_httpc_resp_clear(struct gh_httpc_resp *r);

/* First value of a response header, case-insensitive. */
const char *gh_httpc_resp_header(const struct gh_httpc_resp *r, const char *name);

/* Per-request overrides of the client's timeouts; a field <= 0 keeps the client's value. */
struct gh_httpc_opts {
	int connect_timeout_ms;
	int timeout_ms;
};

/* gh_httpc_request() with opts (may be NULL).  Same return and callback rules. */
int gh_httpc_request_opts(struct gh_httpc *c, const struct gh_httpc_opts *opts,
    const char *method, const char *url, const struct gh_http_header *hdrs, size_t nhdrs,
    const void *body, size_t len, gh_httpc_cb cb, void *arg);

/*
 * Streamed responses.  on_head(resp, arg) runs once the final head is
 * parsed (resp->status and headers set, no body; borrowed for the call);
 * it returns 0 to go on or -1 to give up (on_done then gets
 * GH_HTTPC_ECLOSED "cancelled").  on_data(data, len, arg) gets the
 * decoded body as it arrives (de-chunked, never held whole: the body
 * limit of the client does not apply); it returns 0 to go on, 1 to pause
 * reading until gh_httpc_resume(), -1 to give up.  on_done(err, errstr,
 * arg) runs exactly once, last: GH_HTTPC_OK when the body was complete;
 * an error after on_head means the body is truncated.  The same strict
 * parsing applies; timeout_ms limits the wait for the head and then for
 * each read of the body (not counting paused time).
 */
struct gh_httpc_stream {
	int (*on_head)(const struct gh_httpc_resp *resp, void *arg);
	int (*on_data)(const void *data, size_t len, void *arg);
	void (*on_done)(enum gh_httpc_err err, const char *errstr, void *arg);
};

/* A streamed request in flight; valid until its on_done has run. */
struct gh_httpc_call;

/*
 * gh_httpc_request_opts() with a streamed response: s is copied, *call
 * (may be NULL) receives the handle.  Same arguments, retries and -1
 * rules; on 0 on_done will run exactly once, on the event loop.
 */
int gh_httpc_request_stream(struct gh_httpc *c, const struct gh_httpc_opts *opts,
    const char *method, const char *url, const struct gh_http_header *hdrs, size_t nhdrs,
    const void *body, size_t len, const struct gh_httpc_stream *s, void *arg,
    struct gh_httpc_call **call);

/*
 * gh_httpc_request_stream() with a streamed request body, pushed by the
 * caller: body_len >= 0 is sent as Content-Length (exactly that many
 * bytes must follow), -1 sends the body chunked.  Only the head is
 * written now; gh_httpc_call_write() adds body bytes and
 * gh_httpc_call_write_end() finishes the body.  on_drain(arg) (may be
 * NULL) runs from the loop after a write returned 1, once the bytes
 * queued for the backend fell below GH_HTTP_STREAM_LOW.  The response
 * timeout restarts with each write.  The request is sent again on a
 * new connection (as gh_httpc_request() would) only while no body byte
 * was written; a response that arrives before the body ended is
 * delivered as usual and the connection is not reused.
 */
int gh_httpc_request_upload(struct gh_httpc *c, const struct gh_httpc_opts *opts,
    const char *method, const char *url, const struct gh_http_header *hdrs, size_t nhdrs,
    long long body_len, void (*on_drain)(void *arg), const struct gh_httpc_stream *s,
    void *arg, struct gh_httpc_call **call);

/*
 * Queue len body bytes (copied) of an upload.  0: go on; 1: above
 * GH_HTTP_STREAM_HIGH, wait for on_drain; -1: not an upload in flight,
 * its body already ended, no connection, or more bytes than declared
 * (nothing queued).  Not after on_done.
 */
int gh_httpc_call_write(struct gh_httpc_call *call, const void *data, size_t len);

/*
 * End the body of an upload (the last chunk when chunked).  0 ok; -1
 * as gh_httpc_call_write(), or fewer bytes than declared.  Not after
 * on_done.
 */
int gh_httpc_call_write_end(struct gh_httpc_call *call);

/* Read the body again after on_data returned 1 (from any callback). */
void gh_httpc_resume(struct gh_httpc_call *call);

/*
 * Give the call up: its connection is closed and on_done runs from the
 * loop with GH_HTTPC_ECLOSED "cancelled" (never from inside this call).
 * Not after on_done.
 */
void gh_httpc_cancel(struct gh_httpc_call *call);

/* An http:// or https:// URL split by gh_httpc_url_parse(). */
struct gh_httpc_url {
	int https;
	char host[256];              /* lower-cased; IPv6 without its brackets */
	int host_ip;                 /* 4 or 6 for a numeric address, 0 for a name */
	int port;                    /* explicit or 80/443 */
	int port_explicit;
	char *target;                /* origin-form path and query ("/" at least), malloc'd */
};

/*
 * Split url.  Refuses userinfo, an empty or malformed host or port, spaces,
 * control and non-ASCII bytes, and schemes other than http/https.  A
 * fragment is dropped.  0 ok (free with gh_httpc_url_clear()), -1 otherwise
 * (nothing to free).
 */
int gh_httpc_url_parse(const char *url, struct gh_httpc_url *out);
void gh_httpc_url_clear(struct gh_httpc_url *u);

#endif
