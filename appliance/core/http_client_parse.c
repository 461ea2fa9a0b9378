/*
 * The HTTP client's response parser: a strict pre-scan of the header block
 * (CRLF only, no NUL, no obs-fold, no space before a colon, a strict status
 * line) before llhttp sees it, the header names and values gathered into
 * one block, and llhttp framing the body.  http_client.c calls it with
 * what a connection reads.
 */
#include "core/http_client_int.h"

/* ---------------------------------------------------------------- */
/* response parsing                                                   */

#define HDR_NONE SIZE_MAX

/* Append at[0..len) to the string being built in the head's block; 0 or -1. */
static int
hdr_add(struct httpc_req *req, const char *at, size_t len)
{
	struct gh_httpc_resp *r = &req->resp;

	if (req->hlen + len + 2 > req->hmcap) {
		size_t ncap = req->hmcap ? req->hmcap : 1024;
		char *m;

		while (ncap < req->hlen + len + 2)
			ncap *= 2;
		if ((m = realloc(r->hmem, ncap)) == NULL)
			return -1;
		r->hmem = m;
		req->hmcap = ncap;
	}
	memcpy(r->hmem + req->hlen, at, len);
	req->hlen += len;
	r->hmem[req->hlen] = '\0';
	return 0;
}

/* Start a new string in the head's block (the one before keeps its NUL); its offset. */
static size_t
hdr_open(struct httpc_req *req, int what)
{
	if (req->hopen != 0)
		req->hlen++;            /* past the previous string's NUL */
	req->hopen = what;
	return req->hlen;
}

static int
on_header_field(llhttp_t *p, const char *at, size_t len)
{
	struct httpc_req *req = p->data;
	struct gh_httpc_resp *r = &req->resp;

	if (req->phase != PH_HEAD)
		return 0;              /* chunked trailers are checked, not kept */
	if (r->nheaders == 0 || req->field_done) {
		if (r->nheaders == req->hcap) {
			size_t ncap = req->hcap ? req->hcap * 2 : 16;
			struct gh_http_header *h = realloc(r->headers, ncap * sizeof(*h));
			struct hdr_pos *hp;

			if (h == NULL)
				return -1;
			r->headers = h;
			if ((hp = realloc(req->hpos, ncap * sizeof(*hp))) == NULL)
				return -1;
			req->hpos = hp;
			req->hcap = ncap;
		}
		r->headers[r->nheaders].name = NULL;
		r->headers[r->nheaders].value = NULL;
		req->hpos[r->nheaders].name = hdr_open(req, 1);
		req->hpos[r->nheaders].value = HDR_NONE;
		r->nheaders++;
		req->field_done = 0;
	}
	return hdr_add(req, at, len);
}

static int
on_header_value(llhttp_t *p, const char *at, size_t len)
{
	struct httpc_req *req = p->data;
	struct gh_httpc_resp *r = &req->resp;

	if (req->phase != PH_HEAD || r->nheaders == 0)
		return 0;
	if (req->hopen != 2)
		req->hpos[r->nheaders - 1].value = hdr_open(req, 2);
	return hdr_add(req, at, len);
}

static int
on_header_field_complete(llhttp_t *p)
{
	struct httpc_req *req = p->data;

	req->field_done = 1;
	return 0;
}

static int
httpc_fail(llhttp_t *p, const char *why)
{
	struct httpc_req *req = p->data;

	req->perr = why;
	llhttp_set_error_reason(p, why);
	return -1;
}

static int
on_headers_complete(llhttp_t *p)
{
	struct httpc_req *req = p->data;
	struct gh_httpc_resp *r = &req->resp;
	int ncl = 0, nte = 0, skip;

	/* the block is complete: every value gets a string ("" when none came), then the pointers */
	for (size_t i = 0; i < r->nheaders; i++)
		if (req->hpos[i].value == HDR_NONE) {
			req->hpos[i].value = hdr_open(req, 2);
			if (hdr_add(req, "", 0) != 0)
				return -1;
		}
	for (size_t i = 0; i < r->nheaders; i++) {
		r->headers[i].name = r->hmem + req->hpos[i].name;
		r->headers[i].value = r->hmem + req->hpos[i].value;
	}
	for (size_t i = 0; i < r->nheaders; i++) {
		struct gh_http_header *h = &r->headers[i];

		size_t vlen;

		vlen = strlen(h->value);
		while (vlen > 0 && (h->value[vlen - 1] == ' ' || h->value[vlen - 1] == '\t'))
			h->value[--vlen] = '\0';     /* trailing OWS is not part of the value */
		if (strcasecmp(h->name, "Content-Length") == 0)
			ncl++;
		if (strcasecmp(h->name, "Transfer-Encoding") == 0) {
			nte++;
			if (strcasecmp(h->value, "chunked") != 0)
				return httpc_fail(p, "Transfer-Encoding other than chunked");
		}
	}
	if (ncl > 1)
		return httpc_fail(p, "duplicate Content-Length");
	if (ncl > 0 && nte > 0)
		return httpc_fail(p, "Content-Length with Transfer-Encoding");
	if (nte > 1)
		return httpc_fail(p, "duplicate Transfer-Encoding");
	r->status = p->status_code;
	req->phase = PH_BODY;
	skip = req->head || r->status == 204 || r->status == 304;
	if (!skip && !req->streaming && (p->flags & F_CONTENT_LENGTH) &&
	    p->content_length > req->c->cfg.max_body_bytes)
		return httpc_fail(p, "response body too large");
	if (p->http_minor >= 1)
		req->reusable = !(p->flags & F_CONNECTION_CLOSE);
	else
		req->reusable = (p->flags & F_CONNECTION_KEEP_ALIVE) &&
		    !(p->flags & F_CONNECTION_CLOSE);
	if (!skip && !(p->flags & (F_CONTENT_LENGTH | F_CHUNKED)))
		req->reusable = 0;     /* body runs until the server closes */
	return skip ? 1 : 0;
}

static int
on_body(llhttp_t *p, const char *at, size_t len)
{
	struct httpc_req *req = p->data;
	struct gh_httpc_resp *r = &req->resp;
	size_t max = req->c->cfg.max_body_bytes;

	/* streamed: r->body holds only what arrived since the last on_data */
	if (!req->streaming && (len > max || r->body_len > max - len))
		return httpc_fail(p, "response body too large");
	if (r->body_len + len + 1 > req->bcap) {
		size_t ncap = req->bcap ? req->bcap : 4096;
		unsigned char *b;

		while (ncap < r->body_len + len + 1)
			ncap *= 2;
		b = realloc(r->body, ncap);
		if (b == NULL)
			return httpc_fail(p, "out of memory");
		r->body = b;
		req->bcap = ncap;
	}
	memcpy(r->body + r->body_len, at, len);
	r->body_len += len;
	r->body[r->body_len] = '\0';
	return 0;
}

static int
on_message_complete(llhttp_t *p)
{
	struct httpc_req *req = p->data;

	req->complete = 1;
	return HPE_PAUSED;
}

const llhttp_settings_t httpc_settings = {
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_header_field_complete = on_header_field_complete,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

int
httpc_is_tchar(unsigned char ch)
{
	return isalnum(ch) || (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* Field-value and reason-phrase bytes: HTAB, SP, VCHAR, obs-text. */
int
httpc_is_field_char(unsigned char ch)
{
	return ch == '\t' || (ch >= 0x20 && ch != 0x7f);
}

/*
 * Check a complete header block (status line to the empty line, CRLF
 * already verified) line by line.  Returns NULL when sane, else why not.
 */
const char *
httpc_head_check(const char *b, size_t n, int *status)
{
	const char *line = b, *end = b + n - 2;   /* before the final CRLF */
	const char *eol = memmem(b, n, "\r\n", 2);
	size_t i, llen = (size_t)(eol - b);

	if (llen < 12 || memcmp(b, "HTTP/1.", 7) != 0 || (b[7] != '0' && b[7] != '1') ||
	    b[8] != ' ' || !isdigit((unsigned char)b[9]) ||
	    !isdigit((unsigned char)b[10]) || !isdigit((unsigned char)b[11]) ||
	    (llen > 12 && b[12] != ' '))
		return "malformed status line";
	if (b[9] < '1')
		return "malformed status line";
	for (i = 13; i < llen; i++)
		if (!httpc_is_field_char((unsigned char)b[i]))
			return "control byte in status line";
	*status = (b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0');
	for (line = eol + 2; line < end; line = eol + 2) {
		const char *colon;

		eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
		if (line[0] == ' ' || line[0] == '\t')
			return "obs-fold in header";
		colon = memchr(line, ':', (size_t)(eol - line));
		if (colon == NULL)
			return "header line without colon";
		if (colon == line)
			return "empty header name";
		for (const char *q = line; q < colon; q++)
			if (!httpc_is_tchar((unsigned char)*q))
				return *q == ' ' || *q == '\t' ? "whitespace before colon" :
				    "invalid header name";
		for (const char *q = colon + 1; q < eol; q++)
			if (!httpc_is_field_char((unsigned char)*q))
				return "control byte in header value";
	}
	return NULL;
}

/*
 * Pre-scan the input for the end of a header block.  Returns the block's
 * length, 0 when more bytes are needed, -1 with *why on a bare CR or LF,
 * a NUL or a block above max_header_bytes.
 */
long
httpc_head_scan(struct httpc_req *req, struct evbuffer *in, const char **why)
{
	size_t len = evbuffer_get_length(in), max = req->c->cfg.max_header_bytes;
	size_t lim = len < max ? len : max, i;
	const unsigned char *p = evbuffer_pullup(in, (ev_ssize_t)lim);

	if (p == NULL)
		return 0;
	for (i = req->scan_pos; i < lim; i++) {
		if (p[i] == '\0') {
			*why = "NUL in header block";
			return -1;
		}
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r')) {
			*why = "bare LF in header block";
			return -1;
		}
		if (p[i] == '\r') {
			if (i + 1 == lim)
				break;
			if (p[i + 1] != '\n') {
				*why = "bare CR in header block";
				return -1;
			}
		}
		if (p[i] == '\n' && i >= 3 && p[i - 2] == '\n')
			return (long)(i + 1);
	}
	req->scan_pos = i;
	if (len >= max) {
		*why = "response header block too large";
		return -1;
	}
	return 0;
}

/* Feed n bytes to llhttp.  1 message complete, 0 more needed, -1 *why. */
int
httpc_body_feed(struct httpc_req *req, const char *data, size_t n, const char **why)
{
	llhttp_errno_t e = llhttp_execute(&req->parser, data, n);

	if (e == HPE_PAUSED && req->complete) {
		const char *pos = llhttp_get_error_pos(&req->parser);

		if (pos != NULL && pos < data + n)
			req->reusable = 0;   /* bytes after the response */
		return 1;
	}
	if (e != HPE_OK) {
		*why = req->perr != NULL ? req->perr : llhttp_get_error_reason(&req->parser);
		if (*why == NULL)
			*why = "malformed response";
		return -1;
	}
	return 0;
}
