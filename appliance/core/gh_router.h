/*
 * Request router for REST paths with parameters: patterns such as
 * "/apis/{apiId}/revisions/{revisionId}".  A literal segment beats a
 * parameter at the same place ("/apis/copy-api" before "/apis/{apiId}"),
 * parameter values are percent-decoded, and a path that matches with
 * another method answers 405 with Allow.
 */
#ifndef GH_ROUTER_H
#define GH_ROUTER_H

#include <stddef.h>

struct gh_http_req;
struct gh_router;

#define GH_ROUTE_MAX_PARAMS 8

struct gh_route_match {
	size_t nparams;
	struct {
		const char *name;        /* borrowed from the route */
		char *value;             /* decoded, owned by the match */
	} params[GH_ROUTE_MAX_PARAMS];
	void *arg;                       /* the route's arg */
};

typedef void (*gh_route_fn)(struct gh_http_req *req, const struct gh_route_match *m, void *arg);

enum gh_route_result {
	GH_ROUTE_FOUND,
	GH_ROUTE_NOT_FOUND,
	GH_ROUTE_METHOD_NOT_ALLOWED,
	GH_ROUTE_BAD_PATH,           /* a parameter with a bad %-escape, NUL or '/' once decoded */
};

struct gh_router *gh_router_new(void);
void gh_router_free(struct gh_router *r);

/*
 * Add method + pattern (both copied).  Pattern segments are literals or
 * {name}; at most GH_ROUTE_MAX_PARAMS parameters.  0 ok, -1 on a
 * malformed pattern or a duplicate (method, pattern).
 */
int gh_router_add(struct gh_router *r, const char *method, const char *pattern,
    gh_route_fn fn, void *arg);

/*
 * Match method and path (the raw path, without query).  On FOUND, m holds
 * the parameters (release with gh_route_match_clear) and *fn the handler.
 * On METHOD_NOT_ALLOWED, allow (when not NULL) receives "GET, PUT".
 */
enum gh_route_result gh_router_match(const struct gh_router *r, const char *method,
    const char *path, struct gh_route_match *m, gh_route_fn *fn, char *allow, size_t allowlen);

void gh_route_match_clear(struct gh_route_match *m);

/* Decoded value of parameter name, or NULL. */
const char *gh_route_param(const struct gh_route_match *m, const char *name);

/*
 * Route req: call the handler, or answer 404, 405 (with Allow) or 400 as
 * JSON errors.  The match is released after the handler returns, so a
 * handler that answers later copies the parameters it needs.
 */
void gh_router_dispatch(const struct gh_router *r, struct gh_http_req *req);

/* A gh_http_handler_fn whose arg is a struct gh_router: cfg.handler = gh_router_handler, cfg.arg = router. */
void gh_router_handler(struct gh_http_req *req, void *router);

#endif
