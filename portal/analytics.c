/*
 * Analytics for application owners: GET
 * /api/am/devportal/v3/analytics/{report} (requests, errors, latency,
 * top-applications, top-apis, countries, status).  The caller needs a
 * management token with apim:subscribe and reads only the traffic of the
 * applications it owns in its own tenant, whichever tenant's APIs they
 * called; the reports are shared with the publisher (pg/gh_analytics.h,
 * appliance/pg/ANALYTICS.md).
 */
#include "pg/gh_analytics.h"
#include "portal/portal_int.h"

static void
analytics_get(struct gh_call *c, struct gh_pg *db)
{
	struct gh_principal p;
	struct gh_an_scope s = { 0 };

	if (portal_site_for(c) == NULL) {
		gh_reply_error(c, 404, "Not Found", "No portal site is served at this host name");
		return;
	}
	if (gh_call_auth(c, db, portal.mauth, "apim:subscribe", &p) != 0)
		return;
	s.app_tenant = p.tenant;
	s.app_owner = p.sub;
	gh_an_serve(c, db, &s);
	gh_principal_clear(&p);
}

void
portal_analytics_routes(struct gh_router *r)
{
	gh_call_route(r, "GET", PORTAL_BASE "/analytics/{report}", analytics_get);
}
