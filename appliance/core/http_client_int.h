/*
 * The HTTP client's private parts (http_client.c, http_client_parse.c):
 * its pools, connections and requests, and the response parser that
 * http_client.c feeds with what a connection reads.  Nothing outside
 * those two files includes this.
 */
#ifndef GH_HTTP_CLIENT_INT_H
#define GH_HTTP_CLIENT_INT_H

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <llhttp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

/* gh_tls.h (not ours) has a slash-star inside a comment; -Wcomment is an error here. */
#include "core/gh_http.h"

#define HTTPC_DEF_CONNECT_MS   5000
#define HTTPC_DEF_TIMEOUT_MS   30000
#define HTTPC_DEF_IDLE         16
#define HTTPC_DEF_HEADER_BYTES 16384
#define HTTPC_DEF_BODY_BYTES   (8u * 1024 * 1024)
#define HTTPC_READ_CHUNK       16384    /* at most this per recv() (the bufferevent's own maximum) */

enum httpc_phase { PH_HEAD, PH_BODY, PH_DONE };

struct httpc_conn;
struct httpc_req;

struct httpc_pool {
	struct httpc_pool *next;
	int https;
	char host[256];
	int port;
	TAILQ_HEAD(, httpc_conn) idle;
	size_t nidle;
};

struct httpc_conn {
	struct gh_httpc *c;
	struct httpc_pool *pool;
	struct bufferevent *bev;
	struct httpc_req *req;        /* request in flight; NULL while idle */
	int idle;                     /* linked in pool->idle */
	int connected;                /* TCP (and TLS) established */
	unsigned nreq;                /* requests started on this connection */
	struct event *rd;             /* plain and connected: our own read event (conn_rdcb) */
	TAILQ_ENTRY(httpc_conn) link;
};

struct httpc_req {
	struct gh_httpc *c;
	TAILQ_ENTRY(httpc_req) link;
	struct gh_httpc_url url;
	struct httpc_pool *pool;
	char *wire;                   /* serialized request, kept for a retry */
	size_t wire_len;
	int idempotent;
	int head;
	int retried;
	int connect_ms;
	gh_httpc_cb cb;
	void *arg;
	struct httpc_conn *conn;
	struct evutil_addrinfo *ai;   /* resolved addresses; ai_next is the next to try */
	struct evutil_addrinfo *ai_next;
	struct evdns_getaddrinfo_request *dnsreq;   /* resolution in flight, or NULL */
	int resolving;
	struct event *tmo;            /* whole response */
	struct event *ctmo;           /* TCP connect and TLS handshake */
	struct event *later;          /* failure found while starting */
	/* where tmo, ctmo, later and kick live (event_assign: no allocation per request) */
	struct event ev_tmo, ev_ctmo, ev_later, ev_kick;
	enum gh_httpc_err later_err;
	const char *later_str;
	/* response parsing */
	llhttp_t parser;
	enum httpc_phase phase;
	size_t scan_pos;              /* header bytes already pre-scanned */
	size_t got;                   /* response bytes on this attempt */
	int field_done;               /* the current header's name is complete */
	/*
	 * The head's names and values while it is parsed: appended to one
	 * block (resp.hmem, NUL-terminated strings, hlen bytes used) at the
	 * offsets in hpos; pointed to by resp.headers once the head is complete.
	 */
	struct hdr_pos { size_t name, value; } *hpos;
	size_t hlen, hmcap;
	int hopen;                    /* the string being appended: 0 none, 1 a name, 2 a value */
	int reusable;
	int complete;
	const char *perr;             /* our reason when a callback failed */
	size_t hcap;
	size_t bcap;
	struct gh_httpc_resp resp;
	/* streamed responses (gh_httpc_request_stream) */
	int streaming;
	struct gh_httpc_stream s;
	int timeout_ms;
	int paused;                   /* on_data asked to wait: reading is off */
	int cancelled;
	int head_done;                /* on_head ran */
	struct event *kick;           /* resumes processing of the input from the loop */
	/* streamed request bodies (gh_httpc_request_upload) */
	int upload;
	long long up_len;             /* declared Content-Length, -1 chunked */
	size_t up_sent;               /* body bytes queued */
	int up_ended;                 /* gh_httpc_call_write_end() done */
	int up_wait;                  /* a write returned 1: on_drain is owed */
	void (*up_drain)(void *arg);
};

struct gh_httpc {
	struct event_base *base;
	struct gh_httpc_cfg cfg;
	struct httpc_pool *pools;
	struct evdns_base *dns;       /* made on the first host name to resolve */
	char *resolv_conf;            /* gh_httpc_set_resolv_conf's path, or NULL */
	TAILQ_HEAD(, httpc_req) reqs;
	int freeing;
};

/* ---- http_client_parse.c ---- */

/* llhttp's callbacks for a response (the request is the parser's data). */
extern const llhttp_settings_t httpc_settings;

/* RFC 9110 token character. */
int httpc_is_tchar(unsigned char ch);
/* Field-value and reason-phrase bytes: HTAB, SP, VCHAR, obs-text. */
int httpc_is_field_char(unsigned char ch);

/*
 * The header block b[0..n) (found by httpc_head_scan) checked line by line:
 * NULL when sane (the status code into *status), else why not.
 */
const char *httpc_head_check(const char *b, size_t n, int *status);

/*
 * The length of the response's header block at the head of in (through
 * the blank line), 0 when more is needed, -1 with *why on a bare LF, a NUL
 * or a block above the request's max_header_bytes.
 */
long httpc_head_scan(struct httpc_req *req, struct evbuffer *in, const char **why);

/* Feed n bytes to llhttp.  1 message complete, 0 more needed, -1 *why. */
int httpc_body_feed(struct httpc_req *req, const char *data, size_t n, const char **why);

#endif
