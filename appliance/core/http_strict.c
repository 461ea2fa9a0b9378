/*
 * The strict half of request parsing: a scan of the raw request head
 * (request line and header block) before llhttp sees a byte of it.
 * llhttp without lenient flags already refuses a lot, but it accepts
 * obs-fold, bare LF in some places, whitespace before a colon and odd
 * Transfer-Encoding lists; an edge must not.  Everything here works on
 * borrowed bytes and allocates nothing.
 *
 * Status of every refusal, decided once (the server closes the
 * connection after each; bodies are JSON {"code","message","description"}):
 *
 *   what                                                      status
 *   --------------------------------------------------------  ------
 *   bare LF (LF without CR) or bare CR anywhere in the head     400
 *   head (request line + headers + CRLFCRLF) > max_header_bytes 431
 *   more header fields than max_headers                         431
 *   request-target longer than max_url_bytes                    414
 *   method not 1*[A-Z] (lowercase, symbols, empty)              400
 *   method [A-Z]+ but not GET HEAD POST PUT DELETE PATCH
 *     OPTIONS (CONNECT, TRACE, PRI, FOO, ...)                   501
 *   request line not METHOD SP TARGET SP VERSION (extra SP...)  400
 *   target with CTL, SP, DEL, non-ASCII or '#'                  400
 *   target not origin-form ("/..."); "*" only with OPTIONS      400
 *   version not "HTTP/" DIGIT "." DIGIT                         400
 *   version HTTP/D.D other than 1.0 and 1.1                     505
 *   header line starting with SP or HTAB (obs-fold)             400
 *   SP or HTAB between field name and colon, no colon           400
 *   field name empty or with a non-token byte (NUL, CTL, ...)   400
 *   field value with NUL, DEL or a CTL other than HTAB          400
 *   HTTP/1.1 without Host, two Host fields, bad Host value      400
 *   two Content-Length fields, a list ("1, 1"), not 1*DIGIT     400
 *   Content-Length above max_body_bytes                         413
 *   two Transfer-Encoding fields, TE with CL, TE in HTTP/1.0    400
 *   TE list malformed or "chunked" not last ("chunked, gzip")   400
 *   TE other than exactly "chunked" ("gzip, chunked",
 *     "xchunked", "identity"): codings we do not implement      501
 *   Expect other than 100-continue                              417
 * and, decided in http_server.c once the head is accepted:
 *   bad chunk size (non-hex, overflow, SP), missing CRLF after
 *     chunk data, bad chunk extension (llhttp)                  400
 *     (chunk extensions are accepted as llhttp 8.1 parses them:
 *     it refuses a second extension after one with a value)
 *   trailer fields after the last chunk, or a bare LF there     400
 *   decoded body above max_body_bytes                           413
 *   head not complete within header_timeout_ms                 408
 *   body not complete within body_timeout_ms                    408
 *   mtls_allow set and the peer identity not allowed            403
 *   any other llhttp error                                      400
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "core/http_int.h"

static int
refuse(struct http_refusal *rf, int status, const char *msg, const char *desc)
{
	rf->status = status;
	rf->message = msg;
	rf->description = desc;
	return -1;
}

/*
 * Byte classes, one table lookup each: RFC 9110 tchar, and the field-value
 * bytes (VCHAR, SP, HTAB and obs-text: everything but NUL, the other CTLs and DEL).
 */
enum { C_TCHAR = 1, C_VALUE = 2 };

#define TC C_TCHAR | C_VALUE
static const unsigned char byte_class[256] = {
	['\t'] = C_VALUE, [' '] = C_VALUE,
	['!'] = TC, ['"'] = C_VALUE, ['#'] = TC, ['$'] = TC, ['%'] = TC, ['&'] = TC, ['\''] = TC,
	['('] = C_VALUE, [')'] = C_VALUE, ['*'] = TC, ['+'] = TC, [','] = C_VALUE, ['-'] = TC,
	['.'] = TC, ['/'] = C_VALUE,
	['0'] = TC, ['1'] = TC, ['2'] = TC, ['3'] = TC, ['4'] = TC, ['5'] = TC, ['6'] = TC,
	['7'] = TC, ['8'] = TC, ['9'] = TC,
	[':'] = C_VALUE, [';'] = C_VALUE, ['<'] = C_VALUE, ['='] = C_VALUE, ['>'] = C_VALUE,
	['?'] = C_VALUE, ['@'] = C_VALUE,
	['A'] = TC, ['B'] = TC, ['C'] = TC, ['D'] = TC, ['E'] = TC, ['F'] = TC, ['G'] = TC,
	['H'] = TC, ['I'] = TC, ['J'] = TC, ['K'] = TC, ['L'] = TC, ['M'] = TC, ['N'] = TC,
	['O'] = TC, ['P'] = TC, ['Q'] = TC, ['R'] = TC, ['S'] = TC, ['T'] = TC, ['U'] = TC,
	['V'] = TC, ['W'] = TC, ['X'] = TC, ['Y'] = TC, ['Z'] = TC,
	['['] = C_VALUE, ['\\'] = C_VALUE, [']'] = C_VALUE, ['^'] = TC, ['_'] = TC, ['`'] = TC,
	['a'] = TC, ['b'] = TC, ['c'] = TC, ['d'] = TC, ['e'] = TC, ['f'] = TC, ['g'] = TC,
	['h'] = TC, ['i'] = TC, ['j'] = TC, ['k'] = TC, ['l'] = TC, ['m'] = TC, ['n'] = TC,
	['o'] = TC, ['p'] = TC, ['q'] = TC, ['r'] = TC, ['s'] = TC, ['t'] = TC, ['u'] = TC,
	['v'] = TC, ['w'] = TC, ['x'] = TC, ['y'] = TC, ['z'] = TC,
	['{'] = C_VALUE, ['|'] = TC, ['}'] = C_VALUE, ['~'] = TC,
	[0x80 ... 0xff] = C_VALUE,
};
#undef TC

/* RFC 9110 tchar. */
static int
is_tchar(unsigned char c)
{
	return (byte_class[c] & C_TCHAR) != 0;
}

/* Field-value byte: VCHAR, SP, HTAB or obs-text. */
static int
is_value_char(unsigned char c)
{
	return (byte_class[c] & C_VALUE) != 0;
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/*
 * Whether v[0..len) are all field-value bytes: eight at a time (no byte
 * below 0x20 and none equal to 0x7f; a word with an HTAB or one of those
 * is looked at byte by byte), then the tail.
 */
static int
value_ok(const char *v, size_t len)
{
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t x, del;

		memcpy(&x, v + i, 8);
		del = x ^ (0x7fULL * ONES);
		if ((((x - 0x20 * ONES) & ~x) | ((del - ONES) & ~del)) & HIGHS) {
			for (size_t k = i; k < i + 8; k++)
				if (!is_value_char((unsigned char)v[k]))
					return 0;
		}
	}
	for (; i < len; i++)
		if (!is_value_char((unsigned char)v[i]))
			return 0;
	return 1;
}

/*
 * Finds the head's end: every LF must follow a CR and every CR come before
 * an LF.  Lines are found with memchr (vectorized by the C library), and
 * the scan resumes where it stopped: the bytes before *scan_off were
 * checked, a CR at the very end waits for the next byte.
 */
int
http_head_find(const char *buf, size_t len, size_t *scan_off,
    const struct gh_http_limits *lim, size_t *hlen, struct http_refusal *rf)
{
	size_t n = len < lim->max_header_bytes ? len : lim->max_header_bytes;
	size_t i = *scan_off, sp1 = 0, sp2 = 0, rl_end = 0;

	if (i > 0 && i < n && buf[i - 1] == '\r' && buf[i] != '\n')
		return refuse(rf, 400, "Bad Request", "bare CR in the request head");
	while (i < n) {
		const char *lf = memchr(buf + i, '\n', n - i), *cr;
		size_t end = lf != NULL ? (size_t)(lf - buf) : n;

		/* A CR of [i, end) is only allowed right before the LF (or as the last byte so far). */
		cr = memchr(buf + i, '\r', end - i);
		if (cr != NULL && (size_t)(cr - buf) + 1 != (lf != NULL ? end : n))
			return refuse(rf, 400, "Bad Request", "bare CR in the request head");
		if (lf == NULL)
			break;
		if (end == 0 || buf[end - 1] != '\r')
			return refuse(rf, 400, "Bad Request", "bare LF in the request head");
		if (end >= 3 && buf[end - 2] == '\n' && buf[end - 3] == '\r') {
			*hlen = end + 1;
			return 1;
		}
		i = end + 1;
	}
	*scan_off = n;

	/* Not complete yet: is the request-target alone already too long? */
	for (i = 0; i < n; i++) {
		if (buf[i] == '\r') {
			rl_end = i;
			break;
		}
		if (buf[i] == ' ') {
			if (sp1 == 0)
				sp1 = i + 1;
			else if (sp2 == 0)
				sp2 = i;
		}
	}
	if (sp1 != 0) {
		size_t tend = sp2 != 0 ? sp2 : (rl_end != 0 ? rl_end : n);
		if (tend - sp1 > lim->max_url_bytes)
			return refuse(rf, 414, "URI Too Long",
			    "the request-target exceeds the limit");
	}
	if (len >= lim->max_header_bytes)
		return refuse(rf, 431, "Request Header Fields Too Large",
		    "the request head exceeds the limit");
	return 0;
}

static const char *const allowed_methods[] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS",
};

/* Request line blk[0..end).  Sets *minor.  0 ok, -1 with rf. */
static int
check_request_line(const char *blk, size_t end, const struct gh_http_limits *lim,
    int *minor, struct http_refusal *rf)
{
	size_t i = 0, mlen, tstart, tlen;
	const char *v;
	int known = 0;

	while (i < end && blk[i] != ' ') {
		if (blk[i] < 'A' || blk[i] > 'Z')
			return refuse(rf, 400, "Bad Request", "invalid method token");
		i++;
	}
	mlen = i;
	if (mlen == 0 || i == end)
		return refuse(rf, 400, "Bad Request", "malformed request line");
	tstart = ++i;
	while (i < end && blk[i] != ' ') {
		unsigned char c = (unsigned char)blk[i];
		if (c <= 0x20 || c >= 0x7f || c == '#')
			return refuse(rf, 400, "Bad Request",
			    "invalid byte in the request-target");
		i++;
	}
	tlen = i - tstart;
	if (tlen > lim->max_url_bytes)
		return refuse(rf, 414, "URI Too Long", "the request-target exceeds the limit");
	if (tlen == 0 || i == end)
		return refuse(rf, 400, "Bad Request", "malformed request line");
	i++;
	v = blk + i;
	if (end - i != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' ||
	    v[6] != '.' || v[7] < '0' || v[7] > '9')
		return refuse(rf, 400, "Bad Request", "malformed HTTP version");
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		return refuse(rf, 505, "HTTP Version Not Supported",
		    "only HTTP/1.0 and HTTP/1.1 are served");
	*minor = v[7] - '0';

	for (size_t k = 0; k < sizeof(allowed_methods) / sizeof(allowed_methods[0]); k++)
		if (strlen(allowed_methods[k]) == mlen &&
		    memcmp(allowed_methods[k], blk, mlen) == 0)
			known = 1;
	if (!known)
		return refuse(rf, 501, "Not Implemented", "method not implemented");
	if (blk[tstart] == '/')
		return 0;
	if (tlen == 1 && blk[tstart] == '*' && mlen == 7 && memcmp(blk, "OPTIONS", 7) == 0)
		return 0;
	return refuse(rf, 400, "Bad Request", "only origin-form request-targets are accepted");
}

/* Trim OWS from both ends of v[0..*len); returns the new start. */
static const char *
trim_ows(const char *v, size_t *len)
{
	while (*len > 0 && (v[0] == ' ' || v[0] == '\t')) {
		v++;
		(*len)--;
	}
	while (*len > 0 && (v[*len - 1] == ' ' || v[*len - 1] == '\t'))
		(*len)--;
	return v;
}

static int
check_host(const char *v, size_t len, struct http_refusal *rf)
{
	if (len == 0)
		return refuse(rf, 400, "Bad Request", "empty Host");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-._~!$&'()*+,;=%:[]", c) != NULL)
			continue;
		return refuse(rf, 400, "Bad Request", "invalid Host");
	}
	return 0;
}

/* Content-Length value: 1*DIGIT.  Clamps at UINT64_MAX. */
static int
check_content_length(const char *v, size_t len, const struct gh_http_limits *lim,
    struct http_refusal *rf)
{
	uint64_t n = 0;

	if (len == 0)
		return refuse(rf, 400, "Bad Request", "empty Content-Length");
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return refuse(rf, 400, "Bad Request", "invalid Content-Length");
		if (n > (UINT64_MAX - 9) / 10)
			n = UINT64_MAX;
		else
			n = n * 10 + (uint64_t)(v[i] - '0');
	}
	if (n > lim->max_body_bytes)
		return refuse(rf, 413, "Payload Too Large", "Content-Length exceeds the limit");
	return 0;
}

/* Transfer-Encoding value: exactly "chunked" (any case) is served. */
static int
check_transfer_encoding(const char *v, size_t len, struct http_refusal *rf)
{
	size_t i = 0, nelem = 0;
	int chunked_at = -1;

	for (;;) {
		size_t s = i, elen;
		const char *e;

		while (i < len && v[i] != ',')
			i++;
		elen = i - s;
		e = trim_ows(v + s, &elen);
		if (elen == 0)
			return refuse(rf, 400, "Bad Request", "malformed Transfer-Encoding");
		for (size_t k = 0; k < elen; k++)
			if (!is_tchar((unsigned char)e[k]))
				return refuse(rf, 400, "Bad Request",
				    "malformed Transfer-Encoding");
		if (elen == 7 && strncasecmp(e, "chunked", 7) == 0) {
			if (chunked_at >= 0)
				return refuse(rf, 400, "Bad Request",
				    "chunked applied twice");
			chunked_at = (int)nelem;
		}
		nelem++;
		if (i >= len)
			break;
		i++;
	}
	if (chunked_at >= 0 && (size_t)chunked_at != nelem - 1)
		return refuse(rf, 400, "Bad Request", "chunked is not the final transfer coding");
	if (nelem == 1 && chunked_at == 0)
		return 0;
	return refuse(rf, 501, "Not Implemented", "only Transfer-Encoding: chunked is implemented");
}

static int
name_is(const char *n, size_t nlen, const char *want)
{
	return strlen(want) == nlen && strncasecmp(n, want, nlen) == 0;
}

int
http_head_check(const char *blk, size_t hlen, const struct gh_http_limits *lim,
    struct http_refusal *rf)
{
	const char *rl_end = memchr(blk, '\r', hlen);
	size_t pos, nfields = 0;
	int minor = 1, nhost = 0, ncl = 0, nte = 0;

	if (rl_end == NULL)
		return refuse(rf, 400, "Bad Request", "malformed request line");
	if (check_request_line(blk, (size_t)(rl_end - blk), lim, &minor, rf) < 0)
		return -1;
	pos = (size_t)(rl_end - blk) + 2;

	/* Each header line up to the empty line; every line ends in CRLF (scanned). */
	while (pos + 2 <= hlen && !(blk[pos] == '\r' && blk[pos + 1] == '\n')) {
		const char *line = blk + pos, *eol = memchr(line, '\r', hlen - pos);
		size_t llen = (size_t)(eol - line), nlen = 0, vlen;
		const char *val;

		if (++nfields > lim->max_headers)
			return refuse(rf, 431, "Request Header Fields Too Large",
			    "too many header fields");
		if (line[0] == ' ' || line[0] == '\t')
			return refuse(rf, 400, "Bad Request", "obsolete line folding");
		while (nlen < llen && line[nlen] != ':') {
			unsigned char c = (unsigned char)line[nlen];
			if (c == ' ' || c == '\t')
				return refuse(rf, 400, "Bad Request",
				    "whitespace between field name and colon");
			if (!is_tchar(c))
				return refuse(rf, 400, "Bad Request", "invalid field name");
			nlen++;
		}
		if (nlen == llen)
			return refuse(rf, 400, "Bad Request", "header line without a colon");
		if (nlen == 0)
			return refuse(rf, 400, "Bad Request", "empty field name");
		if (!value_ok(line + nlen + 1, llen - nlen - 1))
			return refuse(rf, 400, "Bad Request", "invalid byte in a field value");
		vlen = llen - nlen - 1;
		val = trim_ows(line + nlen + 1, &vlen);

		if (name_is(line, nlen, "host")) {
			if (++nhost > 1)
				return refuse(rf, 400, "Bad Request", "more than one Host");
			if (check_host(val, vlen, rf) < 0)
				return -1;
		} else if (name_is(line, nlen, "content-length")) {
			if (++ncl > 1)
				return refuse(rf, 400, "Bad Request",
				    "more than one Content-Length");
			if (check_content_length(val, vlen, lim, rf) < 0)
				return -1;
		} else if (name_is(line, nlen, "transfer-encoding")) {
			if (++nte > 1)
				return refuse(rf, 400, "Bad Request",
				    "more than one Transfer-Encoding");
			if (minor == 0)
				return refuse(rf, 400, "Bad Request",
				    "Transfer-Encoding in an HTTP/1.0 request");
			if (check_transfer_encoding(val, vlen, rf) < 0)
				return -1;
		} else if (name_is(line, nlen, "expect")) {
			if (!(vlen == 12 && strncasecmp(val, "100-continue", 12) == 0))
				return refuse(rf, 417, "Expectation Failed",
				    "only Expect: 100-continue is understood");
		}
		pos += llen + 2;
	}
	if (nte > 0 && ncl > 0)
		return refuse(rf, 400, "Bad Request",
		    "both Transfer-Encoding and Content-Length");
	if (minor == 1 && nhost == 0)
		return refuse(rf, 400, "Bad Request", "HTTP/1.1 request without Host");
	return 0;
}

int
http_request_id_ok(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++) {
		char c = s[n];
		if (n >= 64)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return n >= 1;
}
