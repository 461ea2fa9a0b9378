/*
 * The analytics collector (placeholder of the spine: batches are answered
 * 503 until the module lands, so gateways keep their spools).
 */
#include "gateway/trafficmanager/tm.h"

static void
events_handler(struct gh_http_req *req, const struct gh_route_match *m, void *arg)
{
	(void)m;
	(void)arg;
	if (!tm_peer_is_gateway(req))
		return;
	gh_http_respond_error(req, 503, "Service Unavailable", "not ready");
}

void
tm_events_routes(struct gh_router *r)
{
	gh_router_add(r, "POST", "/internal/analytics/v1/events", events_handler, NULL);
}
