/*
 * Routing: the request path is normalised once (gw_path_normalize) and
 * that normalised path is both what is routed and what is forwarded, so
 * no encoding trick (%2e%2e, %2f, "//", ';', %00, double encoding, invalid
 * UTF-8) can reach a resource past its rules.  gw_route finds the API by
 * context (longest first, one hash lookup per prefix), version or default
 * version and vhost, then the operation by resource template and method.
 * gw_phase_route is the pipeline's first phase (400/404/405/503).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway/gw.h"
#include "gateway/store_int.h"

#define MAX_SEGS 256

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Characters decoded when percent-encoded: the unreserved ones, and the
 * pchar delimiters that mean the same raw or encoded in a path (":" "@"
 * and the sub-delims but ';'), so that a template literal such as
 * "/a:b" cannot be dodged with "/a%3Ab".
 */
static int
decodes(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    (c != 0 && strchr("-._~:@!$&'()*+,=", c) != NULL);
}

/* UTF-8 validation of the percent-encoded bytes >= 0x80 (no overlongs, no surrogates). */
struct utf8_state {
	int need;                       /* continuation bytes still expected */
	unsigned char lo, hi;           /* bounds of the next one */
};

static int
utf8_step(struct utf8_state *u, unsigned char b)
{
	if (u->need > 0) {
		if (b < u->lo || b > u->hi)
			return -1;
		u->need--;
		u->lo = 0x80;
		u->hi = 0xbf;
		return 0;
	}
	u->lo = 0x80;
	u->hi = 0xbf;
	if (b >= 0xc2 && b <= 0xdf)
		u->need = 1;
	else if (b == 0xe0) {
		u->need = 2;
		u->lo = 0xa0;
	} else if ((b >= 0xe1 && b <= 0xec) || b == 0xee || b == 0xef)
		u->need = 2;
	else if (b == 0xed) {
		u->need = 2;
		u->hi = 0x9f;
	} else if (b == 0xf0) {
		u->need = 3;
		u->lo = 0x90;
	} else if (b >= 0xf1 && b <= 0xf3)
		u->need = 3;
	else if (b == 0xf4) {
		u->need = 3;
		u->hi = 0x8f;
	} else
		return -1;
	return 0;
}

int
gw_path_normalize(const char *path, char **out, const char **why)
{
	static const char hex[] = "0123456789ABCDEF";
	struct utf8_state u = { 0, 0x80, 0xbf };
	size_t n, o = 0;
	char *buf;

	*out = NULL;
	*why = NULL;
	if (path == NULL || path[0] != '/') {
		*why = "the path must start with '/'";
		return -1;
	}
	n = strlen(path);
	if ((buf = malloc(n + 1)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)path[i];
		int v;

		if (c == '%') {
			int h1 = i + 1 < n ? hexval((unsigned char)path[i + 1]) : -1;
			int h2 = i + 2 < n ? hexval((unsigned char)path[i + 2]) : -1;

			if (h1 < 0 || h2 < 0) {
				*why = "invalid percent-encoding";
				goto refuse;
			}
			v = h1 * 16 + h2;
			i += 2;
			if (v == '%') {
				*why = "double percent-encoding (%25)";
				goto refuse;
			}
			if (v == '/' || v == '\\') {
				*why = "encoded '/' or '\\'";
				goto refuse;
			}
			if (v < 0x20 || v == 0x7f) {
				*why = "encoded NUL or control character";
				goto refuse;
			}
			if (v == ';') {
				*why = "';' in the path";
				goto refuse;
			}
			if (v >= 0x80) {
				if (utf8_step(&u, (unsigned char)v) != 0) {
					*why = "invalid UTF-8 in the path";
					goto refuse;
				}
				buf[o++] = '%';
				buf[o++] = hex[v >> 4];
				buf[o++] = hex[v & 15];
				continue;
			}
			if (u.need > 0) {
				*why = "invalid UTF-8 in the path";
				goto refuse;
			}
			if (decodes(v)) {
				buf[o++] = (char)v;
			} else {
				buf[o++] = '%';
				buf[o++] = hex[v >> 4];
				buf[o++] = hex[v & 15];
			}
			continue;
		}
		if (u.need > 0) {
			*why = "invalid UTF-8 in the path";
			goto refuse;
		}
		if (c >= 0x80) {
			*why = "non-ASCII byte in the path";
			goto refuse;
		}
		if (c < 0x20 || c == 0x7f) {
			*why = "control character in the path";
			goto refuse;
		}
		if (c == ';') {
			*why = "';' in the path";
			goto refuse;
		}
		if (c == '\\' || strchr(" \"<>`{}|^#?[]", c) != NULL) {
			*why = "a character that is not allowed in a path";
			goto refuse;
		}
		buf[o++] = (char)c;
	}
	if (u.need > 0) {
		*why = "invalid UTF-8 in the path";
		goto refuse;
	}
	buf[o] = '\0';
	/* segments: no empty one but a trailing slash, no "." or ".." */
	for (const char *seg = buf + 1;; ) {
		const char *end = strchr(seg, '/');
		size_t len = end ? (size_t)(end - seg) : strlen(seg);

		if (len == 0 && end != NULL) {
			*why = "empty path segment ('//')";
			goto refuse;
		}
		if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.')) {
			*why = "'.' or '..' path segment";
			goto refuse;
		}
		if (end == NULL)
			break;
		seg = end + 1;
	}
	*out = buf;
	return 0;
refuse:
	free(buf);
	return -1;
}

/* ---- templates ---- */

struct segs {
	const char *p[MAX_SEGS];
	size_t len[MAX_SEGS];
	size_t n;
};

/* Split rest ("" or "/a/b[/]") into segments; -1 when there are too many. */
static int
split(const char *rest, struct segs *sg)
{
	const char *p = rest;

	sg->n = 0;
	while (*p == '/')
		p++;
	while (*p != '\0') {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (sg->n == MAX_SEGS)
			return -1;
		sg->p[sg->n] = p;
		sg->len[sg->n++] = len;
		if (end == NULL)
			break;
		p = end + 1;
	}
	return 0;
}

/*
 * "v{id}.json" against s[0..n): literal pieces exact, each {x} one or more
 * characters.  Wildcard matching with one backtrack point (each {x} is
 * "one character, then any"): O(len(s) * len(pat)) at worst, whatever the
 * pattern, so no request can make it backtrack exponentially.
 */
enum { TOK_ANY1 = 256, TOK_STAR = 257 };

static int
pat_match(const char *pat, const char *s, size_t n)
{
	int tok[512];
	size_t m = 0, i = 0, j = 0, mark = 0, star = (size_t)-1;

	for (const char *p = pat; *p != '\0'; p++) {
		if (m + 2 > sizeof(tok) / sizeof(tok[0]))
			return 0;
		if (*p == '{') {
			const char *end = strchr(p, '}');

			if (end == NULL)
				return 0;
			tok[m++] = TOK_ANY1;
			tok[m++] = TOK_STAR;
			p = end;
		} else {
			tok[m++] = (unsigned char)*p;
		}
	}
	while (i < n) {
		if (j < m && (tok[j] == TOK_ANY1 || tok[j] == (unsigned char)s[i])) {
			i++;
			j++;
		} else if (j < m && tok[j] == TOK_STAR) {
			star = j++;
			mark = i;
		} else if (star != (size_t)-1) {
			j = star + 1;
			i = ++mark;
		} else {
			return 0;
		}
	}
	while (j < m && tok[j] == TOK_STAR)
		j++;
	return j == m;
}

static int
seg_rank(const struct gw_tmpl_seg *t)
{
	return t->lit != NULL ? 3 : t->pat != NULL ? 2 : 1;
}

static int
op_matches(const struct gw_operation *op, const struct segs *sg)
{
	if (op->wildcard ? sg->n < op->nsegs : sg->n != op->nsegs)
		return 0;
	for (size_t i = 0; i < op->nsegs; i++) {
		const struct gw_tmpl_seg *t = &op->segs[i];

		if (t->lit != NULL) {
			if (strlen(t->lit) != sg->len[i] || memcmp(t->lit, sg->p[i], sg->len[i]) != 0)
				return 0;
		} else if (t->pat != NULL) {
			if (!pat_match(t->pat, sg->p[i], sg->len[i]))
				return 0;
		} else if (sg->len[i] == 0) {
			return 0;
		}
	}
	return 1;
}

/* 1 when a (matching the same path as b) is the more specific template. */
static int
op_better(const struct gw_operation *a, const struct gw_operation *b)
{
	size_t n = a->nsegs > b->nsegs ? a->nsegs : b->nsegs;

	for (size_t i = 0; i < n; i++) {
		int ra = i < a->nsegs ? seg_rank(&a->segs[i]) : 0;
		int rb = i < b->nsegs ? seg_rank(&b->segs[i]) : 0;

		if (ra != rb)
			return ra > rb;
	}
	return !a->wildcard && b->wildcard;
}

/* The most specific operation of api matching sg with verb (NULL: any verb). */
static const struct gw_operation *
op_find(const struct gw_api *api, const struct segs *sg, const char *verb)
{
	const struct gw_operation *best = NULL;

	for (size_t i = 0; i < api->nops; i++) {
		const struct gw_operation *op = &api->ops[i];

		if ((verb == NULL || strcmp(op->verb, verb) == 0) && op_matches(op, sg) &&
		    (best == NULL || op_better(op, best)))
			best = op;
	}
	return best;
}

/* ---- APIs ---- */

/* The API of c with version ver[0..vlen) (or the default one when ver is NULL), vhost preferred. */
static const struct gw_api *
pick(const struct gw_ctx *c, const char *ver, size_t vlen, const char *host, int any_host)
{
	const struct gw_api *first = NULL;

	for (size_t i = 0; i < c->napis; i++) {
		const struct gw_api *a = c->apis[i];

		if (ver == NULL ? !a->is_default : (strlen(a->version) != vlen || memcmp(a->version, ver, vlen) != 0))
			continue;
		if (any_host || a->vhost == NULL || a->vhost[0] == '\0' ||
		    (host != NULL && strcasecmp(a->vhost, host) == 0))
			return a;
		if (first == NULL)
			first = a;
	}
	return first;   /* lenient: no API of this vhost, match on the path */
}

void
gw_match_clear(struct gw_match *m)
{
	free(m->rest);
	memset(m, 0, sizeof(*m));
}

int
gw_route(const struct gw_store *s, const char *host, const char *path, const char *method,
    struct gw_match *m)
{
	const struct gw_api *api = NULL;
	const char *rest = NULL;
	struct segs sg;
	size_t plen;
	int any_host = gw_store_vhost_count(s) <= 1;

	gw_match_clear(m);
	if (s == NULL || path == NULL || path[0] != '/' || method == NULL)
		return 404;
	plen = strlen(path);
	/* contexts longest first: every prefix that ends before a '/' or at the end (no longer than the longest) */
	for (size_t k = plen < gw_store_context_max(s) ? plen : gw_store_context_max(s); k > 0 && api == NULL; k--) {
		const struct gw_ctx *c;
		const char *after, *vend;

		if (k != plen && path[k] != '/')
			continue;
		if ((c = gw_store_context(s, path, k)) == NULL)
			continue;
		after = path + k;
		if (after[0] == '/' && after[1] != '\0') {
			vend = strchr(after + 1, '/');
			if (vend == NULL)
				vend = after + strlen(after);
			if ((api = pick(c, after + 1, (size_t)(vend - after - 1), host, any_host)) != NULL)
				rest = vend;
		}
		if (api == NULL && (api = pick(c, NULL, 0, host, any_host)) != NULL)
			rest = after;
	}
	if (api == NULL)
		return 404;
	m->api = api;
	if ((m->rest = strdup(rest[0] != '\0' ? rest : "/")) == NULL || split(rest, &sg) != 0)
		return 404;
	if ((m->op = op_find(api, &sg, method)) == NULL && strcmp(method, "HEAD") == 0)
		m->op = op_find(api, &sg, "GET");
	if (m->op != NULL)
		return 0;
	if (op_find(api, &sg, NULL) != NULL) {
		m->method_allowed_elsewhere = 1;
		return 405;
	}
	return 404;
}

/* ---- the phase ---- */

/* "GET, POST" of the operations matching m's rest (for Allow). */
static void
allowed_verbs(const struct gw_match *m, char *buf, size_t len)
{
	struct segs sg;
	size_t o = 0;

	buf[0] = '\0';
	if (m->api == NULL || m->rest == NULL || split(m->rest, &sg) != 0)
		return;
	for (size_t i = 0; i < m->api->nops; i++) {
		const struct gw_operation *op = &m->api->ops[i];
		int dup = 0;

		if (!op_matches(op, &sg))
			continue;
		for (size_t k = 0; k < i && !dup; k++)
			dup = strcmp(m->api->ops[k].verb, op->verb) == 0 && op_matches(&m->api->ops[k], &sg);
		if (!dup && o + strlen(op->verb) + 3 < len)
			o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? ", " : "", op->verb);
	}
}

static void
host_of(const struct gh_http_req *req, char *buf, size_t len)
{
	const char *h = gh_http_req_header(req, "host");
	char *p;
	size_t n = h != NULL ? strnlen(h, len - 1) : 0;

	if (n > 0)
		memcpy(buf, h, n);
	buf[n] = '\0';
	if (buf[0] == '[') {
		if ((p = strchr(buf, ']')) != NULL)
			p[1] = '\0';
	} else if ((p = strchr(buf, ':')) != NULL) {
		*p = '\0';
	}
}

enum gw_rc
gw_phase_route(struct gw_req *r)
{
	struct gh_http_req *req = r->http;
	const struct gw_api *api;
	const char *why;
	char host[256], desc[300], allow[128];
	int rc;

	if (gw_path_normalize(req->path, &r->path, &why) != 0) {
		snprintf(desc, sizeof(desc), "Invalid request path: %s", why);
		return gw_reply_error(r, 400, 400, "Bad Request", desc);
	}
	host_of(req, host, sizeof(host));
	rc = gw_route(r->store, host, r->path, req->method, &r->match);
	api = r->match.api;
	if (api != NULL && api->state == GW_API_BLOCKED)
		return gw_reply_error(r, 503, 700700, "API blocked", "This API has been blocked temporarily. "
		    "Please try again later or contact the system administrators.");
	if (api == NULL || (api->state != GW_API_PUBLISHED && api->state != GW_API_DEPRECATED &&
	    api->state != GW_API_PROTOTYPED) || rc == 404)
		return gw_reply_error(r, 404, 404, "Not Found", "No matching resource found for the request");
	if (rc == 405) {
		allowed_verbs(&r->match, allow, sizeof(allow));
		if (strcmp(req->method, "OPTIONS") == 0) {
			const char *acrm = gh_http_req_header(req, "access-control-request-method");
			struct segs sg;

			/*
			 * No OPTIONS resource: with CORS on, the CORS phase answers the
			 * preflight for the operation the browser asks about (or any of
			 * the path's); otherwise the gateway answers with Allow.
			 */
			if (api->cors.enabled && split(r->match.rest, &sg) == 0) {
				if (acrm != NULL)
					r->match.op = op_find(api, &sg, acrm);
				if (r->match.op == NULL)
					r->match.op = op_find(api, &sg, NULL);
				return GW_OK;
			}
			gh_http_resp_header(req, "Allow", allow);
			gw_respond(r, 200, NULL, "", 0);
			return GW_DONE;
		}
		snprintf(desc, sizeof(desc), "The requested HTTP method for resource (%.200s) is not allowed.",
		    r->match.rest);
		gh_http_resp_header(req, "Allow", allow);
		return gw_reply_error(r, 405, 405, "Method Not Allowed", desc);
	}
	return GW_OK;
}
