/*
 * The portal's management port (19444, loopback): GET /health and
 * GET /metrics in Prometheus text, answered on the loop.
 */
#include "core/gh_service.h"
#include "portal/portal.h"

static void
metrics(struct gh_http_req *req, const struct gh_route_match *m, void *arg)
{
	char buf[8192];
	const struct gh_metric rows[] = {
		{ "gatehouse_portal_requests_total", "REST requests handed to workers", &portal.metrics.requests, 0 },
		{ "gatehouse_portal_keys_generated_total", "application keys generated",
		    &portal.metrics.keys_generated, 0 },
		{ "gatehouse_portal_subscriptions_total", "subscriptions created", &portal.metrics.subscriptions, 0 },
		{ "gatehouse_portal_pool_pending", "jobs queued or running on the workers", NULL,
		    gh_pg_pool_pending(portal.pool) },
	};

	size_t used;

	(void)m;
	(void)arg;
	used = gh_service_metrics(buf, sizeof(buf), rows, sizeof(rows) / sizeof(rows[0]));
	used = gh_service_metrics_hist(buf, sizeof(buf), used, "gatehouse_portal_request_duration_seconds",
	    "time from a request to its reply", &portal.metrics.latency);
	gh_http_respond(req, 200, "text/plain; version=0.0.4", buf, used);
}

void
portal_mgmt_routes(struct gh_router *r)
{
	gh_service_health_route(r, "portal");
	gh_router_add(r, "GET", "/metrics", metrics, NULL);
}
