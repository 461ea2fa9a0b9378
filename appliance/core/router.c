/*
 * REST path router.  Routes are kept in a flat array in the order they
 * were added; a request is matched against every route (REST tables are
 * tens of entries, so a scan is cheaper than a trie to keep correct) and
 * the most specific match wins: comparing segment by segment, a literal
 * outranks a parameter.  The router owns its copies of patterns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gh_codec.h"
#include "core/gh_router.h"

#define ROUTE_MAX_SEGS 32

struct route {
	char *method;
	char *pattern;
	size_t nsegs;
	char *segs[ROUTE_MAX_SEGS];      /* literal text, or parameter name */
	unsigned char is_param[ROUTE_MAX_SEGS];
	gh_route_fn fn;
	void *arg;
};

struct gh_router {
	struct route *routes;
	size_t n, cap;
};

struct gh_router *
gh_router_new(void)
{
	return calloc(1, sizeof(struct gh_router));
}

static void
route_clear(struct route *rt)
{
	for (size_t i = 0; i < rt->nsegs; i++)
		free(rt->segs[i]);
	free(rt->method);
	free(rt->pattern);
}

void
gh_router_free(struct gh_router *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++)
		route_clear(&r->routes[i]);
	free(r->routes);
	free(r);
}

int
gh_router_add(struct gh_router *r, const char *method, const char *pattern,
    gh_route_fn fn, void *arg)
{
	struct route rt = { 0 };
	const char *p;
	size_t nparams = 0;

	if (pattern[0] != '/' || method == NULL || method[0] == '\0')
		return -1;
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->routes[i].method, method) == 0 &&
		    strcmp(r->routes[i].pattern, pattern) == 0)
			return -1;
	p = pattern + 1;
	while (*p != '\0') {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (rt.nsegs == ROUTE_MAX_SEGS || len == 0)
			goto fail;
		if (p[0] == '{') {
			if (len < 3 || p[len - 1] != '}' || memchr(p + 1, '{', len - 1) ||
			    ++nparams > GH_ROUTE_MAX_PARAMS)
				goto fail;
			rt.is_param[rt.nsegs] = 1;
			rt.segs[rt.nsegs] = strndup(p + 1, len - 2);
		} else {
			if (memchr(p, '{', len) || memchr(p, '}', len))
				goto fail;
			rt.segs[rt.nsegs] = strndup(p, len);
		}
		if (rt.segs[rt.nsegs++] == NULL)
			goto fail;
		if (slash == NULL)
			break;
		p = slash + 1;
		if (*p == '\0')
			goto fail;     /* trailing slash in a pattern */
	}
	rt.method = strdup(method);
	rt.pattern = strdup(pattern);
	rt.fn = fn;
	rt.arg = arg;
	if (rt.method == NULL || rt.pattern == NULL)
		goto fail;
	if (r->n == r->cap) {
		size_t nc = r->cap ? r->cap * 2 : 16;
		struct route *nr = realloc(r->routes, nc * sizeof(*nr));
		if (nr == NULL)
			goto fail;
		r->routes = nr;
		r->cap = nc;
	}
	r->routes[r->n++] = rt;
	return 0;
fail:
	route_clear(&rt);
	return -1;
}

/* Percent-decode s[0..len) into a new string; NULL on a bad escape, NUL or '/'. */
static char *
param_decode(const char *s, size_t len)
{
	char *out = NULL;
	size_t outlen;

	if (gh_pct_decode(s, len, 0, &out, &outlen) != 0)
		return NULL;
	if (memchr(out, '/', outlen) != NULL) {
		free(out);
		return NULL;
	}
	return out;
}

/*
 * Split path into segments (pointers into path with lengths).  Returns
 * the count, or -1 when the path is not absolute, has an empty segment
 * other than a single trailing slash, or too many segments.
 */
static int
path_split(const char *path, const char **seg, size_t *len)
{
	int n = 0;
	const char *p;

	if (path[0] != '/')
		return -1;
	p = path + 1;
	if (*p == '\0')
		return 0;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t l = slash ? (size_t)(slash - p) : strlen(p);
		if (l == 0)
			return slash == NULL ? n : -1;
		if (n == ROUTE_MAX_SEGS)
			return -1;
		seg[n] = p;
		len[n++] = l;
		if (slash == NULL)
			return n;
		p = slash + 1;
		if (*p == '\0')
			return n;      /* one trailing slash is tolerated */
	}
}

/* 1 when rt's shape matches the segments; *rank gets the literal mask (higher = more specific). */
static int
route_shape_match(const struct route *rt, const char **seg, const size_t *len, int nseg,
    unsigned long long *rank)
{
	unsigned long long r = 0;

	if ((size_t)nseg != rt->nsegs)
		return 0;
	for (int i = 0; i < nseg; i++) {
		r <<= 1;
		if (rt->is_param[i])
			continue;
		if (strlen(rt->segs[i]) != len[i] || memcmp(rt->segs[i], seg[i], len[i]) != 0)
			return 0;
		r |= 1;
	}
	*rank = r;
	return 1;
}

enum gh_route_result
gh_router_match(const struct gh_router *r, const char *method, const char *path,
    struct gh_route_match *m, gh_route_fn *fn, char *allow, size_t allowlen)
{
	const char *seg[ROUTE_MAX_SEGS];
	size_t len[ROUTE_MAX_SEGS];
	int nseg = path_split(path, seg, len);
	const struct route *best = NULL;
	unsigned long long best_rank = 0;
	int other_methods = 0;

	memset(m, 0, sizeof(*m));
	if (allow != NULL && allowlen > 0)
		allow[0] = '\0';
	if (nseg < 0)
		return GH_ROUTE_NOT_FOUND;
	for (size_t i = 0; i < r->n; i++) {
		const struct route *rt = &r->routes[i];
		unsigned long long rank;

		if (!route_shape_match(rt, seg, len, nseg, &rank))
			continue;
		if (strcmp(rt->method, method) != 0) {
			if (allow != NULL && !strstr(allow, rt->method)) {
				size_t used = strlen(allow);
				snprintf(allow + used, allowlen - used, "%s%s",
				    used ? ", " : "", rt->method);
			}
			other_methods = 1;
			continue;
		}
		if (best == NULL || rank > best_rank) {
			best = rt;
			best_rank = rank;
		}
	}
	if (best == NULL)
		return other_methods ? GH_ROUTE_METHOD_NOT_ALLOWED : GH_ROUTE_NOT_FOUND;
	for (int i = 0; i < nseg; i++) {
		if (!best->is_param[i])
			continue;
		char *v = param_decode(seg[i], len[i]);
		if (v == NULL) {
			gh_route_match_clear(m);
			return GH_ROUTE_BAD_PATH;
		}
		m->params[m->nparams].name = best->segs[i];
		m->params[m->nparams++].value = v;
	}
	m->arg = best->arg;
	if (fn != NULL)
		*fn = best->fn;
	return GH_ROUTE_FOUND;
}

void
gh_route_match_clear(struct gh_route_match *m)
{
	for (size_t i = 0; i < m->nparams; i++)
		free(m->params[i].value);
	m->nparams = 0;
}

const char *
gh_route_param(const struct gh_route_match *m, const char *name)
{
	for (size_t i = 0; i < m->nparams; i++)
		if (strcmp(m->params[i].name, name) == 0)
			return m->params[i].value;
	return NULL;
}
