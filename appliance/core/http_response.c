/*
 * Responses of the HTTP server: the status line and the headers the
 * server owns (Content-Length, Date, Connection, X-Request-ID), the
 * handler's extra headers, the body, the access-log line, and then the
 * request is freed and its connection told to go on or close.  The
 * handler owns nothing after gh_http_respond*() returns.  Access lines
 * are formatted straight into the server's batch (no json-c objects),
 * which http_server.c writes once per loop iteration.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "core/gh_codec.h"
#include "core/gh_json.h"
#include "core/gh_log.h"
#include "core/http_int.h"

static const struct {
	int status;
	const char *text;
} status_texts[] = {
	{ 100, "Continue" }, { 101, "Switching Protocols" },
	{ 200, "OK" }, { 201, "Created" }, { 202, "Accepted" },
	{ 203, "Non-Authoritative Information" }, { 204, "No Content" },
	{ 205, "Reset Content" }, { 206, "Partial Content" },
	{ 300, "Multiple Choices" }, { 301, "Moved Permanently" }, { 302, "Found" },
	{ 303, "See Other" }, { 304, "Not Modified" }, { 307, "Temporary Redirect" },
	{ 308, "Permanent Redirect" },
	{ 400, "Bad Request" }, { 401, "Unauthorized" }, { 402, "Payment Required" },
	{ 403, "Forbidden" }, { 404, "Not Found" }, { 405, "Method Not Allowed" },
	{ 406, "Not Acceptable" }, { 407, "Proxy Authentication Required" },
	{ 408, "Request Timeout" }, { 409, "Conflict" }, { 410, "Gone" },
	{ 411, "Length Required" }, { 412, "Precondition Failed" },
	{ 413, "Payload Too Large" }, { 414, "URI Too Long" },
	{ 415, "Unsupported Media Type" }, { 416, "Range Not Satisfiable" },
	{ 417, "Expectation Failed" }, { 421, "Misdirected Request" },
	{ 422, "Unprocessable Entity" }, { 425, "Too Early" }, { 426, "Upgrade Required" },
	{ 428, "Precondition Required" }, { 429, "Too Many Requests" },
	{ 431, "Request Header Fields Too Large" },
	{ 451, "Unavailable For Legal Reasons" },
	{ 500, "Internal Server Error" }, { 501, "Not Implemented" },
	{ 502, "Bad Gateway" }, { 503, "Service Unavailable" },
	{ 504, "Gateway Timeout" }, { 505, "HTTP Version Not Supported" },
};

const char *
gh_http_status_text(int status)
{
	for (size_t i = 0; i < sizeof(status_texts) / sizeof(status_texts[0]); i++)
		if (status_texts[i].status == status)
			return status_texts[i].text;
	return "Unknown";
}

/* Header names the server writes itself; a handler may not add them. */
static const char *const reserved_headers[] = {
	"content-length", "transfer-encoding", "connection", "date", "x-request-id",
};

int
gh_http_resp_header(struct gh_http_req *req, const char *name, const char *value)
{
	struct gh_http_header *h;
	char *n, *v;
	size_t k, nl, vl;

	if (name == NULL || value == NULL || name[0] == '\0')
		return -1;
	for (const char *p = name; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= 0x20 || c >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", c) != NULL)
			return -1;
	}
	for (const char *p = value; *p != '\0'; p++)
		if (*p == '\r' || *p == '\n')
			return -1;
	for (size_t i = 0; i < sizeof(reserved_headers) / sizeof(reserved_headers[0]); i++)
		if (strcasecmp(name, reserved_headers[i]) == 0)
			return -1;
	/* the array grows to 4, 8, 16...: a handful of headers is one allocation */
	k = req->nresp_headers;
	if (k == 0 || (k >= 4 && (k & (k - 1)) == 0)) {
		h = realloc(req->resp_headers, (k == 0 ? 4 : 2 * k) * sizeof(*h));
		if (h == NULL)
			return -1;
		req->resp_headers = h;
	}
	h = req->resp_headers;
	/* name and value in one block, freed through the name */
	nl = strlen(name);
	vl = strlen(value);
	if ((n = malloc(nl + vl + 2)) == NULL)
		return -1;
	memcpy(n, name, nl + 1);
	v = n + nl + 1;
	memcpy(v, value, vl + 1);
	h[k].name = n;
	h[k].value = v;
	req->nresp_headers++;
	return 0;
}

/* "Thu, 01 Jan 2026 00:00:00 GMT" of the current second, formatted once per second per thread. */
static __thread time_t date_sec = (time_t)-1;
static __thread char date_text[64];
static __thread size_t date_len;

static const char *
http_date(size_t *len)
{
	time_t now = time(NULL);
	struct tm tm;
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

	if (now != date_sec) {
		gmtime_r(&now, &tm);
		snprintf(date_text, sizeof(date_text), "%s, %02d %s %04d %02d:%02d:%02d GMT",
		    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
		    tm.tm_hour, tm.tm_min, tm.tm_sec);
		date_len = strlen(date_text);
		date_sec = now;
	}
	*len = date_len;
	return date_text;
}

/*
 * The response head is assembled in a stack buffer and handed to the
 * output buffer in one piece (with the body when it fits); what does not
 * fit is spilled into the output buffer in order.
 */
struct head_buf {
	struct evbuffer *out;
	size_t len;
	char b[2048];
};

static void
hb_add(struct head_buf *h, const void *s, size_t n)
{
	if (h->len + n > sizeof(h->b)) {
		evbuffer_add(h->out, h->b, h->len);
		h->len = 0;
		if (n > sizeof(h->b)) {
			evbuffer_add(h->out, s, n);
			return;
		}
	}
	memcpy(h->b + h->len, s, n);
	h->len += n;
}

static void
hb_str(struct head_buf *h, const char *s)
{
	hb_add(h, s, strlen(s));
}

static void
hb_num(struct head_buf *h, size_t v)
{
	char t[24];
	size_t i = sizeof(t);

	do {
		t[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	hb_add(h, t + i, sizeof(t) - i);
}

/* Upper bound of the JSON-escaped size of s (every byte as \u00XX). */
static size_t
esc_bound(const char *s)
{
	return 6 * strlen(s);
}

/* key (raw text, with its comma and colon) and then v in decimal. */
static void
jb_int(struct gh_json_buf *b, const char *key, long long v)
{
	char t[GH_DEC_LEN];

	gh_json_buf_raw(b, key);
	gh_json_buf_raw(b, gh_dec(v, t, NULL));
}

void
http_log_flush(struct gh_http_server *srv)
{
	if (srv->loglen == 0)
		return;
	gh_log_write_lines(srv->logbuf, srv->loglen);
	srv->loglen = 0;
}

/*
 * One access line, formatted straight into the server's batch (written
 * by log_ev at the end of this loop iteration, before the response can
 * reach the socket) or, when it could not fit any batch, on its own.
 */
static void
access_log(struct gh_http_conn *conn, struct gh_http_req *req, int status, size_t bytes)
{
	struct gh_http_server *srv = conn->srv;
	const char *service = http_conn_service(conn);
	const char *method = req->method ? req->method : "-";
	const char *path = req->path ? req->path : "-";
	struct gh_json_buf b;
	char peer[200], *heap = NULL;
	size_t need;

	if (srv->cfg.no_access_log || !gh_log_enabled(GH_LOG_INFO))
		return;
	peer[0] = '\0';
	if (req->has_peer_id)
		snprintf(peer, sizeof(peer), "%s/%s/%s", req->peer_id.role, req->peer_id.env,
		    req->peer_id.node);
	/* The head's fields (component up to 63 bytes), the keys and numbers, then the strings. */
	need = 1024 + esc_bound(service) + esc_bound(method) + esc_bound(path) +
	    esc_bound(req->client_addr) + esc_bound(req->request_id) + esc_bound(peer);
	if (srv->logbuf == NULL)
		srv->logbuf = malloc(HTTP_LOG_BATCH);
	if (srv->logbuf != NULL && srv->loglen + need > HTTP_LOG_BATCH)
		http_log_flush(srv);
	if (srv->logbuf == NULL || need > HTTP_LOG_BATCH) {
		heap = malloc(need);
		if (heap == NULL)
			return;
		b = (struct gh_json_buf){ heap, need, 0, 0 };
	} else {
		b = (struct gh_json_buf){ srv->logbuf + srv->loglen, HTTP_LOG_BATCH - srv->loglen,
		    0, 0 };
	}
	/* The keys are constants that need no escaping: written raw with their comma. */
	gh_log_head_buf(&b, GH_LOG_INFO, "access", req->request_id);
	gh_json_buf_raw(&b, ",\"service\":");
	gh_json_buf_str(&b, service);
	gh_json_buf_raw(&b, ",\"method\":");
	gh_json_buf_str(&b, method);
	gh_json_buf_raw(&b, ",\"path\":");
	gh_json_buf_str(&b, path);
	jb_int(&b, ",\"status\":", status);
	jb_int(&b, ",\"bytes\":", (long long)bytes);
	jb_int(&b, ",\"duration_ms\":", http_conn_elapsed_ms(conn));
	gh_json_buf_raw(&b, ",\"client\":");
	gh_json_buf_str(&b, req->client_addr);
	if (req->has_peer_id) {
		gh_json_buf_raw(&b, ",\"peer\":");
		gh_json_buf_str(&b, peer);
	}
	gh_json_buf_raw(&b, "}\n");
	if (b.overflow) {
		free(heap);
		return;
	}
	if (heap != NULL) {
		gh_log_write_lines(heap, b.len);
		free(heap);
		return;
	}
	if (srv->loglen == 0)
		event_active(srv->log_ev, 0, 0);
	srv->loglen += b.len;
}

/*
 * Status line and headers into h (not yet added to h->out).  clen >= 0
 * is sent as Content-Length, chunked adds Transfer-Encoding: chunked.
 */
static void
head_write(struct head_buf *h, struct gh_http_req *req, int status, const char *content_type,
    long long clen, int chunked, int close_after)
{
	int no_length = status == 204 || status == 304;
	const char *date;
	size_t date_n;

	date = http_date(&date_n);
	hb_add(h, "HTTP/1.1 ", 9);
	hb_num(h, (size_t)status);
	hb_add(h, " ", 1);
	hb_str(h, gh_http_status_text(status));
	hb_add(h, "\r\nDate: ", 8);
	hb_add(h, date, date_n);
	hb_add(h, "\r\n", 2);
	if (content_type != NULL && !no_length && strpbrk(content_type, "\r\n") == NULL) {
		hb_add(h, "Content-Type: ", 14);
		hb_str(h, content_type);
		hb_add(h, "\r\n", 2);
	}
	if (!no_length && clen >= 0) {
		hb_add(h, "Content-Length: ", 16);
		hb_num(h, (size_t)clen);
		hb_add(h, "\r\n", 2);
	}
	if (!no_length && chunked)
		hb_add(h, "Transfer-Encoding: chunked\r\n", 28);
	if (close_after)
		hb_add(h, "Connection: close\r\nX-Request-ID: ", 33);
	else
		hb_add(h, "Connection: keep-alive\r\nX-Request-ID: ", 38);
	hb_str(h, req->request_id);
	hb_add(h, "\r\n", 2);
	for (size_t i = 0; i < req->nresp_headers; i++) {
		if (content_type != NULL &&
		    strcasecmp(req->resp_headers[i].name, "content-type") == 0)
			continue;
		hb_str(h, req->resp_headers[i].name);
		hb_add(h, ": ", 2);
		hb_str(h, req->resp_headers[i].value);
		hb_add(h, "\r\n", 2);
	}
	hb_add(h, "\r\n", 2);
}

void
gh_http_respond(struct gh_http_req *req, int status, const char *content_type,
    const void *body, size_t len)
{
	struct gh_http_conn *conn = req->conn;
	struct head_buf h;
	int close_after, no_body;

	if (conn == NULL) {
		/* The client went away and no on_abort was set: nothing to send. */
		http_req_free(req);
		return;
	}
	if (status < 200 || status > 999)
		status = 500;
	h.out = http_conn_output(conn);
	h.len = 0;
	close_after = http_conn_must_close(conn, req);
	no_body = status == 204 || status == 304 || req->method_id == HTTP_HEAD;
	head_write(&h, req, status, content_type, (long long)len, 0, close_after);
	if (!no_body && len > 0 && len <= sizeof(h.b) - h.len) {
		hb_add(&h, body, len);
		evbuffer_add(h.out, h.b, h.len);
	} else {
		evbuffer_add(h.out, h.b, h.len);
		if (!no_body && len > 0)
			evbuffer_add(h.out, body, len);
	}

	access_log(conn, req, status, no_body ? 0 : len);
	http_conn_response_done(conn, close_after);
	http_req_free(req);
}

int
gh_http_respond_start(struct gh_http_req *req, int status, const char *content_type,
    long long content_length)
{
	struct gh_http_conn *conn = req->conn;
	struct head_buf h;
	int close_after, chunked = 0, no_length;

	if (conn == NULL || conn->streaming)
		return -1;
	if (status < 200 || status > 999)
		status = 500;
	if (content_length < -1)
		content_length = -1;
	no_length = status == 204 || status == 304;
	close_after = http_conn_must_close(conn, req);
	if (!no_length && content_length < 0 && req->method_id != HTTP_HEAD) {
		if (req->http_minor >= 1)
			chunked = 1;
		else
			close_after = 1;    /* HTTP/1.0: the body ends when the connection does */
	}
	h.out = http_conn_output(conn);
	h.len = 0;
	head_write(&h, req, status, content_type, content_length, chunked, close_after);
	evbuffer_add(h.out, h.b, h.len);
	conn->streaming = 1;
	conn->stream_chunked = chunked;
	conn->stream_nobody = no_length || req->method_id == HTTP_HEAD;
	conn->stream_close = close_after;
	conn->stream_paused = 0;
	conn->stream_status = status;
	conn->stream_len = no_length ? -1 : content_length;
	conn->stream_sent = 0;
	http_conn_kick(conn);
	return 0;
}

int
gh_http_respond_write(struct gh_http_req *req, const void *data, size_t len)
{
	struct gh_http_conn *conn = req->conn;
	struct evbuffer *out;

	if (conn == NULL || !conn->streaming)
		return -1;
	if (conn->stream_nobody || len == 0)
		return 0;
	out = http_conn_output(conn);
	if (conn->stream_len >= 0 && len > (size_t)conn->stream_len - conn->stream_sent)
		return -1;
	if (conn->stream_chunked) {
		char t[24];
		int n = snprintf(t, sizeof(t), "%zx\r\n", len);

		evbuffer_add(out, t, (size_t)n);
		evbuffer_add(out, data, len);
		evbuffer_add(out, "\r\n", 2);
	} else {
		evbuffer_add(out, data, len);
	}
	conn->stream_sent += len;
	http_conn_kick(conn);
	if (evbuffer_get_length(out) >= GH_HTTP_STREAM_HIGH) {
		conn->stream_paused = 1;
		return 1;
	}
	return 0;
}

/* Log, hand the connection on (closing it when close_after) and free req. */
static void
stream_finish(struct gh_http_conn *conn, struct gh_http_req *req, int close_after)
{
	/* a shutdown that began while the body was streaming closes it after all */
	close_after |= conn->srv->shutting_down;
	if (close_after)
		conn->must_close = 1;
	access_log(conn, req, conn->stream_status, conn->stream_nobody ? 0 : conn->stream_sent);
	conn->streaming = 0;
	conn->stream_paused = 0;
	req->on_drain = NULL;
	http_conn_response_done(conn, close_after);
	http_req_free(req);
}

void
gh_http_respond_end(struct gh_http_req *req)
{
	struct gh_http_conn *conn = req->conn;

	if (conn == NULL || !conn->streaming) {
		if (conn == NULL)
			http_req_free(req);
		else
			gh_http_respond(req, 500, NULL, NULL, 0);
		return;
	}
	if (!conn->stream_nobody && conn->stream_len >= 0 &&
	    conn->stream_sent != (size_t)conn->stream_len) {
		stream_finish(conn, req, 1);
		return;
	}
	if (conn->stream_chunked)
		evbuffer_add(http_conn_output(conn), "0\r\n\r\n", 5);
	stream_finish(conn, req, conn->stream_close);
}

void
gh_http_respond_abort(struct gh_http_req *req)
{
	struct gh_http_conn *conn = req->conn;

	if (conn == NULL || !conn->streaming) {
		if (conn == NULL)
			http_req_free(req);
		else
			gh_http_respond(req, 500, NULL, NULL, 0);
		return;
	}
	gh_log_info("response_aborted", req->request_id, "streamed response cut after %zu bytes",
	    conn->stream_sent);
	stream_finish(conn, req, 1);
}

void
gh_http_respond_json(struct gh_http_req *req, int status, struct json_object *body)
{
	size_t len = 0;
	const char *s = json_object_to_json_string_length(body,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	if (s == NULL) {
		s = "null";
		len = 4;
	}
	gh_http_respond(req, status, "application/json", s, len);
}

void
gh_http_respond_error_code(struct gh_http_req *req, int status, long code,
    const char *message, const char *description)
{
	struct json_object *o = json_object_new_object();

	if (o == NULL) {
		gh_http_respond(req, status, "application/json", "{}", 2);
		return;
	}
	json_object_object_add(o, "code", json_object_new_int64(code));
	json_object_object_add(o, "message",
	    json_object_new_string(message ? message : gh_http_status_text(status)));
	json_object_object_add(o, "description",
	    json_object_new_string(description ? description : ""));
	gh_http_respond_json(req, status, o);
	json_object_put(o);
}

void
gh_http_respond_error(struct gh_http_req *req, int status, const char *message,
    const char *description)
{
	gh_http_respond_error_code(req, status, status, message, description);
}
