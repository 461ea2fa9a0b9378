/*
 * Private to the HTTP server (http_server.c, http_io.c, http_strict.c,
 * http_response.c): the server and connection structures and the
 * functions these files share.  Nothing outside those files may
 * include it; the public contract is core/gh_http.h.
 */
#ifndef GH_HTTP_INT_H
#define GH_HTTP_INT_H

#include <stddef.h>
#include <time.h>
#include <llhttp.h>
#include <event2/util.h>

#include "core/gh_http.h"

struct evbuffer;
struct event;
struct evconnlistener;
struct evbuffer_cb_entry;

/* Why a request is refused: status plus the two strings of the JSON body (static). */
struct http_refusal {
	int status;
	const char *message;
	const char *description;
};

enum http_conn_state {
	HC_IDLE,       /* between requests, nothing buffered yet */
	HC_HEAD,       /* reading the request line and header block */
	HC_BODY,       /* llhttp decoding the body */
	HC_TRAILER,    /* last chunk seen, waiting for the final CRLF */
	HC_HANDLER,    /* request handed to the handler, no response yet */
	HC_CLOSING,    /* last response being flushed */
	HC_LINGER,     /* flushed and write side shut; draining the peer */
};

#define HTTP_MAX_LISTENERS 4

struct gh_http_server {
	struct event_base *base;
	struct gh_http_server_cfg cfg;
	struct evconnlistener *listeners[HTTP_MAX_LISTENERS];
	size_t nlisteners;
	int port;
	struct gh_http_conn *conns;     /* doubly linked list of live connections */
	size_t nconns;
	int shutting_down;
	struct event *grace_ev;         /* forces the rest closed after grace_ms */
	struct event *done_ev;          /* runs done() from the loop */
	void (*done)(void *arg);
	void *done_arg;
	int done_fired;
	/* access-log lines of this loop iteration, written by log_ev or when full */
	char *logbuf;
	size_t loglen;
	struct event *log_ev;
};

#define HTTP_LOG_BATCH 32768

struct gh_http_conn {
	struct gh_http_server *srv;
	struct gh_http_conn *prev, *next;
	evutil_socket_t fd;
	int tls;
	SSL *ssl;                       /* TLS connections (http_io.c), else NULL */
	struct evbuffer *in, *out;      /* bytes read and not parsed yet; bytes to send */
	enum http_conn_state state;
	llhttp_t parser;
	struct event *timer;            /* header, body, idle or linger deadline */
	struct event *resume;           /* re-enters processing from the loop */
	struct event *linger;           /* reads and drops what the peer still sends */
	/* socket I/O (http_io.c) */
	struct event *rev;              /* readable: reads into in (and TLS writes that wait for it) */
	struct event *wev;              /* writable: armed only while a write or TLS read waits */
	int rev_added, wev_added;       /* whether rev, wev are added */
	int rd_on;                      /* reading wanted */
	int rd_full;                    /* reading paused, input at its high-water mark */
	int wr_blocked;                 /* the socket took part of out: wev goes on */
	int wr_wants_r;                 /* TLS: SSL_write wants the socket readable */
	int rd_wants_w;                 /* TLS: SSL_read wants the socket writable */
	struct evbuffer_cb_entry *in_cb;   /* input_cb on in */
	char peer_addr[64];
	int peer_checked;
	int has_peer_id;
	struct gh_peer_id peer_id;
	int nrequests;
	size_t scan_off;                /* head bytes already scanned for CRLFCRLF */
	struct gh_http_req *req;        /* the request being read or handled */
	struct timespec req_start;
	/* llhttp accumulation of the current header field */
	size_t mem_len, mem_cap;        /* bytes of req->mem used, allocated */
	char *mem_last;                 /* the string last added to req->mem (may grow) */
	int hdr_in_value;
	size_t hdr_cap;                 /* entries allocated in req->headers */
	size_t body_cap;
	size_t body_limit;              /* of the request being read */
	struct http_refusal refusal;    /* set by a callback returning HPE_USER */
	int must_close;                 /* the next response carries Connection: close */
	int sent_continue;
	/* a streamed response in progress (gh_http_respond_start) */
	int streaming;
	int stream_chunked;             /* body sent as chunks */
	int stream_nobody;              /* HEAD, 204, 304: writes are dropped */
	int stream_close;               /* the connection closes after it */
	int stream_paused;              /* a write returned 1: on_drain is owed */
	int stream_status;
	long long stream_len;           /* declared Content-Length, -1 none */
	size_t stream_sent;             /* body bytes queued */
	struct evbuffer_cb_entry *out_cb;  /* output_cb on the output buffer */
	/* a streamed request body (req->stream_body) */
	int body_stream;                /* the body is delivered to the handler */
	int handed;                     /* the handler has req while the body is read */
	int body_paused;                /* gh_http_req_pause_body(req, 1) */
	size_t body_seen;               /* decoded body bytes parsed */
	struct evbuffer *body_buf;      /* decoded bytes not delivered yet */
};

/*
 * Find the end of a request head in buf[0..len).  *scan_off keeps the
 * position between calls.  Returns 1 with *hlen set when the CRLFCRLF
 * was found, 0 when more bytes are needed, -1 with rf filled when the
 * bytes can already be refused (bare LF or CR, 431, 414).
 */
int http_head_find(const char *buf, size_t len, size_t *scan_off,
    const struct gh_http_limits *lim, size_t *hlen, struct http_refusal *rf);

/*
 * Validate a complete head blk[0..hlen) (ending in CRLFCRLF) before
 * llhttp sees it: request line, every header line, and the framing
 * headers.  0 accepted, -1 with rf filled.
 */
int http_head_check(const char *blk, size_t hlen, const struct gh_http_limits *lim,
    struct http_refusal *rf);

/* Whether s (NUL-terminated) is a sane client X-Request-ID. */
int http_request_id_ok(const char *s);

/* Free a request and everything it owns; NULL is fine. */
void http_req_free(struct gh_http_req *req);

/* Called by gh_http_respond() after the response bytes are queued on conn. */
void http_conn_response_done(struct gh_http_conn *conn, int close_after);

/* Whether the next response on conn must close it (refusal, shutdown, limits, client). */
int http_conn_must_close(const struct gh_http_conn *conn, const struct gh_http_req *req);

/* Write the access-log lines batched on srv (one write); nothing when empty. */
void http_log_flush(struct gh_http_server *srv);

/* Ask the loop to flush conn's output (and to run on_drain when owed). */
void http_conn_kick(struct gh_http_conn *conn);

/* Output buffer of conn. */
struct evbuffer *http_conn_output(struct gh_http_conn *conn);

/* ---- http_server.c, called by http_io.c ---- */

/* Bytes were added to conn->in: parse and go on.  conn may be freed. */
void http_conn_input(struct gh_http_conn *conn);

/*
 * The peer ended the stream (eof: a clean end, TCP FIN or TLS close_notify)
 * or the connection failed (eof 0: error, write timeout).  Reading is off.
 * A clean end still lets a queued last response go; else conn is freed.
 */
void http_conn_io_end(struct gh_http_conn *conn, int eof);

/*
 * Before bytes go to conn's socket: the access lines of the loop's turn
 * and the application's before_send hook first, so that neither is ever
 * written after the client could have the response.
 */
void http_conn_before_write(struct gh_http_conn *conn);

/* Output that waited for the socket is all sent.  0, or -1 when conn was freed. */
int http_conn_flushed(struct gh_http_conn *conn);

/* ---- http_io.c: the socket side of a connection ---- */

/*
 * Make conn's buffers and events on conn->fd (and its SSL object from ctx
 * when ctx is not NULL, in accept state).  0, or -1: http_io_close frees
 * what was made.
 */
int http_io_open(struct gh_http_conn *conn, SSL_CTX *ctx);

/* Free conn's events, buffers and SSL object and close its socket. */
void http_io_close(struct gh_http_conn *conn);

/* Start or stop reading from the peer. */
void http_io_read_on(struct gh_http_conn *conn);
void http_io_read_off(struct gh_http_conn *conn);

/* The server drained conn->in: reading paused at the high-water mark goes on. */
void http_io_input_drained(struct gh_http_conn *conn);

/* Send what conn->out holds, as far as the socket takes it.  0, or -1 when conn was freed. */
int http_io_send(struct gh_http_conn *conn);

/* Whether a write waits for the socket (output left that a later event sends). */
int http_io_pending(const struct gh_http_conn *conn);

/* Stop every event of conn (before lingering). */
void http_io_stop(struct gh_http_conn *conn);

/* TLS: send close_notify (one non-blocking try) when the handshake was done. */
void http_io_close_notify(struct gh_http_conn *conn);

/* Milliseconds since the request started on conn. */
long http_conn_elapsed_ms(const struct gh_http_conn *conn);

/* Service name for logs. */
const char *http_conn_service(const struct gh_http_conn *conn);

#endif
