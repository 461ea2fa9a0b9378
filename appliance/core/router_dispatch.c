/*
 * The HTTP face of the router: match a request and either call its
 * handler or answer 404, 405 (with Allow) or 400 as JSON errors.  Kept
 * apart from router.c so that the matcher has no HTTP dependency.
 */
#include <stdio.h>

#include "core/gh_http.h"
#include "core/gh_router.h"

void
gh_router_dispatch(const struct gh_router *r, struct gh_http_req *req)
{
	struct gh_route_match m;
	gh_route_fn fn = NULL;
	char allow[128];

	switch (gh_router_match(r, req->method, req->path, &m, &fn, allow, sizeof(allow))) {
	case GH_ROUTE_FOUND:
		fn(req, &m, m.arg);
		gh_route_match_clear(&m);
		return;
	case GH_ROUTE_METHOD_NOT_ALLOWED:
		gh_http_resp_header(req, "Allow", allow);
		gh_http_respond_error(req, 405, "Method Not Allowed",
		    "The resource does not support this method");
		return;
	case GH_ROUTE_BAD_PATH:
		gh_http_respond_error(req, 400, "Bad Request",
		    "A path parameter is not validly percent-encoded");
		return;
	case GH_ROUTE_NOT_FOUND:
		break;
	}
	gh_http_respond_error(req, 404, "Not Found", "No resource matches the request path");
}

void
gh_router_handler(struct gh_http_req *req, void *router)
{
	gh_router_dispatch(router, req);
}
