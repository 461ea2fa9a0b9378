/*
 * Analytics for API owners: GET /api/am/publisher/v4/analytics/{report}
 * (requests, errors, latency, top-applications, top-apis, countries,
 * status).  The caller needs a management token with apim:api_view and
 * reads only the traffic of its own tenant's APIs; the reports themselves,
 * their parameters and their shapes are shared with the portal
 * (pg/gh_analytics.h, appliance/pg/ANALYTICS.md).
 */
#include "pg/gh_analytics.h"
#include "publisher/pub.h"
#include "publisher/pub_api.h"

static void
analytics_get(struct gh_call *c, struct gh_pg *db)
{
	struct gh_principal p;
	struct gh_an_scope s = { 0 };

	if (pub_auth(c, db, "apim:api_view", NULL, &p) != 0)
		return;
	s.tenant = p.tenant;
	gh_an_serve(c, db, &s);
	gh_principal_clear(&p);
}

void
pub_analytics_routes(struct gh_router *r)
{
	gh_call_route(r, "GET", PUB_V4 "/analytics/{report}", analytics_get);
}
