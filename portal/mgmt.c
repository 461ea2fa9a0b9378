/*
 * The portal's management port (19444, loopback): GET /health and
 * GET /metrics in Prometheus text, answered on the loop.
 */
#include <stdio.h>

#include "core/gh_service.h"
#include "portal/portal.h"

static void
metrics(struct gh_http_req *req, const struct gh_route_match *m, void *arg)
{
	char buf[2048];
	int n = 0;
	const struct {
		const char *name, *help;
		uint64_t *v;
	} rows[] = {
		{ "gatehouse_portal_requests_total", "REST requests handed to workers", &portal.metrics.requests },
		{ "gatehouse_portal_keys_generated_total", "application keys generated", &portal.metrics.keys_generated },
		{ "gatehouse_portal_subscriptions_total", "subscriptions created", &portal.metrics.subscriptions },
	};

	(void)m;
	(void)arg;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]) && n < (int)sizeof(buf) - 256; i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n",
		    rows[i].name, rows[i].help, rows[i].name, rows[i].name,
		    (unsigned long long)__atomic_load_n(rows[i].v, __ATOMIC_RELAXED));
	n += snprintf(buf + n, sizeof(buf) - (size_t)n,
	    "# HELP gatehouse_portal_pool_pending jobs queued or running on the workers\n"
	    "# TYPE gatehouse_portal_pool_pending gauge\ngatehouse_portal_pool_pending %d\n",
	    gh_pg_pool_pending(portal.pool));
	gh_http_respond(req, 200, "text/plain; version=0.0.4", buf, (size_t)n);
}

void
portal_mgmt_routes(struct gh_router *r)
{
	gh_service_health_route(r, "portal");
	gh_router_add(r, "GET", "/metrics", metrics, NULL);
}
