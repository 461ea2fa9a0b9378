/*
 * Responses of the HTTP server: the status line and the headers the
 * server owns (Content-Length, Date, Connection, X-Request-ID), the
 * handler's extra headers, the body, the access-log line, and then the
 * request is freed and its connection told to go on or close.  The
 * handler owns nothing after gh_http_respond*() returns.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <event2/buffer.h>

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
	h = realloc(req->resp_headers, (req->nresp_headers + 1) * sizeof(*h));
	if (h == NULL)
		return -1;
	req->resp_headers = h;
	n = strdup(name);
	v = strdup(value);
	if (n == NULL || v == NULL) {
		free(n);
		free(v);
		return -1;
	}
	h[req->nresp_headers].name = n;
	h[req->nresp_headers].value = v;
	req->nresp_headers++;
	return 0;
}

static void
http_date(char *buf, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

	gmtime_r(&now, &tm);
	snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
	    tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
	    tm.tm_sec);
}

static void
access_log(struct gh_http_conn *conn, struct gh_http_req *req, int status, size_t bytes)
{
	struct json_object *o;

	if (!gh_log_enabled(GH_LOG_INFO))
		return;
	o = json_object_new_object();
	if (o == NULL)
		return;
	json_object_object_add(o, "service", json_object_new_string(http_conn_service(conn)));
	json_object_object_add(o, "method", json_object_new_string(req->method ? req->method : "-"));
	json_object_object_add(o, "path", json_object_new_string(req->path ? req->path : "-"));
	json_object_object_add(o, "status", json_object_new_int(status));
	json_object_object_add(o, "bytes", json_object_new_int64((int64_t)bytes));
	json_object_object_add(o, "duration_ms", json_object_new_int64(http_conn_elapsed_ms(conn)));
	json_object_object_add(o, "client", json_object_new_string(req->client_addr));
	if (req->has_peer_id) {
		char peer[200];
		snprintf(peer, sizeof(peer), "%s/%s/%s", req->peer_id.role, req->peer_id.env,
		    req->peer_id.node);
		json_object_object_add(o, "peer", json_object_new_string(peer));
	}
	gh_log_obj(GH_LOG_INFO, "access", req->request_id, o);
	json_object_put(o);
}

void
gh_http_respond(struct gh_http_req *req, int status, const char *content_type,
    const void *body, size_t len)
{
	struct gh_http_conn *conn = req->conn;
	struct evbuffer *out;
	char date[64];
	int close_after, no_length, no_body;

	if (conn == NULL) {
		/* The client went away and no on_abort was set: nothing to send. */
		http_req_free(req);
		return;
	}
	if (status < 200 || status > 999)
		status = 500;
	out = http_conn_output(conn);
	close_after = http_conn_must_close(conn, req);
	no_length = status == 204 || status == 304;
	no_body = no_length || req->method_id == HTTP_HEAD;
	http_date(date, sizeof(date));

	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nDate: %s\r\n", status,
	    gh_http_status_text(status), date);
	if (content_type != NULL && !no_length && strpbrk(content_type, "\r\n") == NULL)
		evbuffer_add_printf(out, "Content-Type: %s\r\n", content_type);
	if (!no_length)
		evbuffer_add_printf(out, "Content-Length: %zu\r\n", len);
	evbuffer_add_printf(out, "Connection: %s\r\nX-Request-ID: %s\r\n",
	    close_after ? "close" : "keep-alive", req->request_id);
	for (size_t i = 0; i < req->nresp_headers; i++) {
		if (content_type != NULL &&
		    strcasecmp(req->resp_headers[i].name, "content-type") == 0)
			continue;
		evbuffer_add_printf(out, "%s: %s\r\n", req->resp_headers[i].name,
		    req->resp_headers[i].value);
	}
	evbuffer_add(out, "\r\n", 2);
	if (!no_body && len > 0)
		evbuffer_add(out, body, len);

	access_log(conn, req, status, no_body ? 0 : len);
	http_conn_response_done(conn, close_after);
	http_req_free(req);
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
