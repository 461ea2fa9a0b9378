/*
 * URL splitting for the HTTP client: http:// and https:// only, host as a
 * name, a dotted IPv4 address or a bracketed IPv6 address, an optional
 * port, and the origin-form target (path and query) sent on the request
 * line.  Anything a request line or a Host header must not carry (spaces,
 * control bytes, userinfo) is refused here, so the client never has to
 * escape what it sends.  The caller owns the gh_httpc_url and its target.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* gh_tls.h (not ours) has a slash-star inside a comment; -Wcomment is an error here. */
#include "core/gh_http.h"

/* Bytes allowed in a path or query: RFC 3986 pchar, '/', '?' and '%'. */
static int
url_target_char(unsigned char ch)
{
	if (isalnum(ch))
		return 1;
	return strchr("-._~!$&'()*+,;=:@/?%", ch) != NULL && ch != '\0';
}

static int
url_name_char(unsigned char ch)
{
	return isalnum(ch) || ch == '-' || ch == '.' || ch == '_';
}

static int
url_parse_port(const char *s, size_t n, int *port)
{
	long v = 0;

	if (n == 0 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

static int
url_parse_host(const char *s, size_t n, struct gh_httpc_url *out)
{
	unsigned char tmp[sizeof(struct in6_addr)];

	if (n == 0 || n >= sizeof(out->host))
		return -1;
	if (s[0] == '[') {
		if (n < 3 || s[n - 1] != ']')
			return -1;
		memcpy(out->host, s + 1, n - 2);
		out->host[n - 2] = '\0';
		if (inet_pton(AF_INET6, out->host, tmp) != 1)
			return -1;
		out->host_ip = 6;
	} else {
		for (size_t i = 0; i < n; i++)
			if (!url_name_char((unsigned char)s[i]))
				return -1;
		memcpy(out->host, s, n);
		out->host[n] = '\0';
		if (inet_pton(AF_INET, out->host, tmp) == 1)
			out->host_ip = 4;
		else if (out->host[0] == '.' || out->host[0] == '-' || strstr(out->host, ".."))
			return -1;
	}
	for (char *p = out->host; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return 0;
}

int
gh_httpc_url_parse(const char *url, struct gh_httpc_url *out)
{
	const char *p, *auth, *auth_end, *colon, *tgt, *tgt_end;
	size_t tlen;

	memset(out, 0, sizeof(*out));
	if (url == NULL)
		return -1;
	for (p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return -1;
	if (strncasecmp(url, "http://", 7) == 0) {
		auth = url + 7;
		out->port = 80;
	} else if (strncasecmp(url, "https://", 8) == 0) {
		auth = url + 8;
		out->https = 1;
		out->port = 443;
	} else {
		return -1;
	}
	auth_end = auth + strcspn(auth, "/?#");
	if (memchr(auth, '@', (size_t)(auth_end - auth)) != NULL)
		return -1;
	if (auth[0] == '[') {
		const char *rb = memchr(auth, ']', (size_t)(auth_end - auth));

		if (rb == NULL)
			return -1;
		colon = rb + 1 < auth_end ? rb + 1 : NULL;
		if (colon != NULL && *colon != ':')
			return -1;
	} else {
		colon = memchr(auth, ':', (size_t)(auth_end - auth));
	}
	if (url_parse_host(auth, (size_t)((colon ? colon : auth_end) - auth), out) != 0)
		return -1;
	if (colon != NULL) {
		if (url_parse_port(colon + 1, (size_t)(auth_end - colon - 1), &out->port) != 0)
			return -1;
		out->port_explicit = 1;
	}
	tgt = auth_end;
	tgt_end = tgt + strcspn(tgt, "#");
	for (p = tgt; p < tgt_end; p++) {
		if (!url_target_char((unsigned char)*p))
			return -1;
		if (*p == '%' && (!isxdigit((unsigned char)p[1]) || !isxdigit((unsigned char)p[2])))
			return -1;
	}
	tlen = (size_t)(tgt_end - tgt);
	out->target = malloc(tlen + 2);
	if (out->target == NULL)
		return -1;
	if (tlen == 0 || tgt[0] != '/') {
		out->target[0] = '/';
		memcpy(out->target + 1, tgt, tlen);
		out->target[tlen + 1] = '\0';
	} else {
		memcpy(out->target, tgt, tlen);
		out->target[tlen] = '\0';
	}
	return 0;
}

void
gh_httpc_url_clear(struct gh_httpc_url *u)
{
	free(u->target);
	u->target = NULL;
}
