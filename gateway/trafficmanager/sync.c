/*
 * Cluster-wide throttling counters (placeholder of the spine: every sync
 * is answered 503 until the module lands).
 */
#include "gateway/trafficmanager/tm.h"

static void
sync_handler(struct gh_http_req *req, const struct gh_route_match *m, void *arg)
{
	(void)m;
	(void)arg;
	if (!tm_peer_is_gateway(req))
		return;
	gh_http_respond_error(req, 503, "Service Unavailable", "not ready");
}

int
tm_sync_init(void)
{
	return 0;
}

void
tm_sync_routes(struct gh_router *r)
{
	gh_router_add(r, "POST", "/internal/throttle/v1/sync", sync_handler, NULL);
}

size_t
tm_sync_keys(void)
{
	return 0;
}

size_t
tm_sync_gateways(void)
{
	return 0;
}

void
tm_sync_shutdown(void)
{
}
