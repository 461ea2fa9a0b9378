/*
 * CORS per API (the portal's try-it calls the gateway from a browser).
 * When the API enables it: a preflight (OPTIONS with Origin and
 * Access-Control-Request-Method) is answered here with 204, without
 * authentication, carrying Access-Control-Allow-* when the origin is
 * allowed (and none when it is not, so the browser refuses); any other
 * request from an allowed origin gets Access-Control-Allow-Origin (and
 * Vary: Origin) on whatever response it ends with.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "gateway/gw.h"

#define DEFAULT_METHODS "GET, PUT, POST, DELETE, PATCH, OPTIONS"
#define DEFAULT_HEADERS "authorization, Access-Control-Allow-Origin, Content-Type, SOAPAction, apikey"

/* 1 when origin is allowed; *any set when through "*". */
static int
origin_allowed(const struct gw_cors *c, const char *origin, int *any)
{
	*any = 0;
	for (size_t i = 0; c->origins != NULL && c->origins[i] != NULL; i++) {
		if (strcmp(c->origins[i], "*") == 0)
			*any = 1;
		else if (strcasecmp(c->origins[i], origin) == 0)
			return 1;
	}
	return *any;
}

static void
join(char *out, size_t cap, char **list, const char *def)
{
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; list != NULL && list[i] != NULL; i++) {
		int w = snprintf(out + n, cap - n, "%s%s", n ? ", " : "", list[i]);

		if (w < 0 || (size_t)w >= cap - n)
			break;
		n += (size_t)w;
	}
	if (n == 0)
		snprintf(out, cap, "%s", def);
}

enum gw_rc
gw_phase_cors(struct gw_req *r)
{
	const struct gw_api *api = r->match.api;
	const struct gw_cors *c;
	const char *origin, *acrm;
	char buf[1024];
	int any, ok;

	if (api == NULL || !api->cors.enabled)
		return GW_OK;
	c = &api->cors;
	origin = gh_http_req_header(r->http, "origin");
	if (origin == NULL)
		return GW_OK;
	ok = origin_allowed(c, origin, &any);
	/* with credentials the origin must be named, never "*" */
	if (ok)
		gh_http_resp_header(r->http, "Access-Control-Allow-Origin",
		    any && !c->allow_credentials ? "*" : origin);
	gh_http_resp_header(r->http, "Vary", "Origin");
	if (ok && c->allow_credentials)
		gh_http_resp_header(r->http, "Access-Control-Allow-Credentials", "true");
	acrm = gh_http_req_header(r->http, "access-control-request-method");
	if (strcmp(r->http->method, "OPTIONS") != 0 || acrm == NULL)
		return GW_OK;
	if (ok) {
		join(buf, sizeof(buf), c->methods, DEFAULT_METHODS);
		gh_http_resp_header(r->http, "Access-Control-Allow-Methods", buf);
		join(buf, sizeof(buf), c->headers, DEFAULT_HEADERS);
		gh_http_resp_header(r->http, "Access-Control-Allow-Headers", buf);
		gh_http_resp_header(r->http, "Access-Control-Max-Age", "3600");
	}
	gw_respond(r, 204, NULL, NULL, 0);
	return GW_DONE;
}
