/*
 * Fuzz target for the REST router (core/router.c): a fixed table of
 * literal and parameter routes, built once, against which the input is
 * matched as a raw request path with each of a few methods.  The first
 * input byte picks the method, the rest (NUL-terminated copy) is the
 * path.  Matches are cleared here.
 */
#include <stdlib.h>
#include <string.h>

#include "core/gh_router.h"
#include "fuzz.h"

static struct gh_router *router;

static void
route_noop(struct gh_http_req *req, const struct gh_route_match *m, void *arg)
{
	(void)req;
	(void)m;
	(void)arg;
}

static const struct {
	const char *method, *pattern;
} table[] = {
	{ "GET", "/" },
	{ "GET", "/apis" },
	{ "POST", "/apis" },
	{ "GET", "/apis/{apiId}" },
	{ "PUT", "/apis/{apiId}" },
	{ "DELETE", "/apis/{apiId}" },
	{ "POST", "/apis/copy-api" },
	{ "GET", "/apis/{apiId}/revisions" },
	{ "GET", "/apis/{apiId}/revisions/{revisionId}" },
	{ "POST", "/apis/{apiId}/revisions/{revisionId}/deploy" },
	{ "GET", "/applications/{applicationId}/keys/{keyType}" },
	{ "GET", "/a/{p1}/{p2}/{p3}/{p4}/{p5}/{p6}/{p7}/{p8}" },
	{ "GET", "/oauth2/token" },
	{ "POST", "/oauth2/token" },
	{ "GET", "/.well-known/openid-configuration" },
};

static const char *const methods[] = {
	"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "",
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	router = gh_router_new();
	if (router == NULL)
		abort();
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (gh_router_add(router, table[i].method, table[i].pattern, route_noop, NULL) != 0)
			abort();
	/* Refusals the table must keep giving: a duplicate and a malformed pattern. */
	if (gh_router_add(router, "GET", "/apis", route_noop, NULL) == 0 ||
	    gh_router_add(router, "GET", "/x/{", route_noop, NULL) == 0)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gh_route_match m;
	gh_route_fn fn = NULL;
	char allow[128], *path;
	const char *method;

	if (size == 0)
		return 0;
	method = methods[data[0] % (sizeof(methods) / sizeof(methods[0]))];
	path = malloc(size);
	if (path == NULL)
		return 0;
	memcpy(path, data + 1, size - 1);
	path[size - 1] = '\0';
	memset(&m, 0, sizeof(m));
	if (gh_router_match(router, method, path, &m, &fn, allow, sizeof(allow)) == GH_ROUTE_FOUND) {
		for (size_t i = 0; i < m.nparams; i++)
			(void)gh_route_param(&m, m.params[i].name);
		gh_route_match_clear(&m);
	}
	/* A tiny Allow buffer must be truncated safely, never overrun. */
	memset(&m, 0, sizeof(m));
	if (gh_router_match(router, method, path, &m, &fn, allow, 4) == GH_ROUTE_FOUND)
		gh_route_match_clear(&m);
	free(path);
	return 0;
}
