/*
 * multipart/form-data bodies (RFC 7578), as WSO2 clients send
 * import-openapi: parts named by Content-Disposition, each borrowed from
 * the request body without copying.  Only what the publisher needs:
 * name, filename and Content-Type of each part; anything malformed is
 * refused whole.
 */

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "publisher/pub_api.h"

/* Copy the value of param (name="..." or name=token) of a header value into out. */
static int
header_param(const char *h, size_t hlen, const char *param, char *out, size_t outlen)
{
	size_t pl = strlen(param);

	out[0] = '\0';
	for (size_t i = 0; i + pl + 1 < hlen; i++) {
		size_t n = 0, k;
		int quoted;

		if (strncasecmp(h + i, param, pl) != 0 || h[i + pl] != '=' ||
		    (i > 0 && h[i - 1] != ' ' && h[i - 1] != ';' && h[i - 1] != '\t'))
			continue;
		k = i + pl + 1;
		quoted = k < hlen && h[k] == '"';
		if (quoted)
			k++;
		while (k < hlen && (quoted ? h[k] != '"' : (h[k] != ';' && h[k] != ' '))) {
			if (n + 1 >= outlen)
				return -1;
			out[n++] = h[k++];
		}
		out[n] = '\0';
		return 0;
	}
	return 1;
}

/* Parse the header block [h, h+len) of one part into part.  0 or -1. */
static int
part_headers(const char *h, size_t len, struct pub_part *part)
{
	const char *end = h + len;

	while (h < end) {
		const char *eol = memmem(h, (size_t)(end - h), "\r\n", 2);
		size_t ll = eol ? (size_t)(eol - h) : (size_t)(end - h);

		if (ll > 20 && strncasecmp(h, "Content-Disposition:", 20) == 0) {
			if (header_param(h + 20, ll - 20, "name", part->name, sizeof(part->name)) < 0 ||
			    header_param(h + 20, ll - 20, "filename", part->filename, sizeof(part->filename)) < 0)
				return -1;
		} else if (ll > 13 && strncasecmp(h, "Content-Type:", 13) == 0) {
			const char *v = h + 13;
			size_t vl = ll - 13;
			while (vl > 0 && (*v == ' ' || *v == '\t')) {
				v++;
				vl--;
			}
			if (vl >= sizeof(part->ctype))
				return -1;
			memcpy(part->ctype, v, vl);
			part->ctype[vl] = '\0';
		}
		h += ll + 2;
	}
	return part->name[0] != '\0' ? 0 : -1;
}

int
pub_multipart_parse(const char *ctype, const char *body, size_t len, struct pub_part *parts, int max)
{
	char boundary[80], delim[84];
	const char *p, *end = body + len;
	size_t dl;
	int n = 0;

	if (ctype == NULL || body == NULL ||
	    header_param(ctype, strlen(ctype), "boundary", boundary, sizeof(boundary)) != 0 ||
	    boundary[0] == '\0' || strlen(boundary) > 70)
		return -1;
	dl = (size_t)snprintf(delim, sizeof(delim), "--%s", boundary);
	p = memmem(body, len, delim, dl);
	if (p == NULL || (p != body && (p < body + 2 || p[-2] != '\r' || p[-1] != '\n')))
		return -1;
	for (;;) {
		const char *hdr_end, *next;
		struct pub_part *part;

		p += dl;
		if ((size_t)(end - p) >= 2 && p[0] == '-' && p[1] == '-')
			return n;               /* closing delimiter */
		if ((size_t)(end - p) < 2 || p[0] != '\r' || p[1] != '\n')
			return -1;
		p += 2;
		hdr_end = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
		if (hdr_end == NULL || n >= max)
			return -1;
		part = &parts[n];
		memset(part, 0, sizeof(*part));
		if (part_headers(p, (size_t)(hdr_end - p) + 2, part) != 0)
			return -1;
		p = hdr_end + 4;
		/* the data runs to CRLF + delimiter */
		next = p;
		for (;;) {
			next = memmem(next, (size_t)(end - next), delim, dl);
			if (next == NULL)
				return -1;
			if (next >= p + 2 && next[-2] == '\r' && next[-1] == '\n')
				break;
			if (next == p)          /* empty data without CRLF: malformed */
				return -1;
			next += 1;
		}
		part->data = p;
		part->len = (size_t)(next - 2 - p);
		n++;
		p = next;
	}
}
