/*
 * The publisher's management port (19443, loopback): GET /health and
 * GET /metrics in Prometheus text, answered on the loop (they must work
 * when the database is slow).
 */
#include <stdio.h>

#include "core/gh_service.h"
#include "publisher/pub.h"

static void
metrics(struct gh_http_req *req, const struct gh_route_match *m, void *arg)
{
	char buf[4096];
	int n = 0;
	const struct {
		const char *name, *help;
		uint64_t *v;
	} rows[] = {
		{ "gatehouse_publisher_requests_total", "REST requests handed to workers", &pub.metrics.requests },
		{ "gatehouse_feed_polls_total", "event long-polls answered", &pub.metrics.feed_polls },
		{ "gatehouse_feed_events_sent_total", "events sent to gateways", &pub.metrics.feed_events_sent },
		{ "gatehouse_feed_snapshots_total", "snapshots served", &pub.metrics.feed_snapshots },
		{ "gatehouse_feed_gone_total", "polls answered 410 (behind the retention)", &pub.metrics.feed_gone },
	};

	(void)m;
	(void)arg;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]) && n < (int)sizeof(buf) - 256; i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n",
		    rows[i].name, rows[i].help, rows[i].name, rows[i].name,
		    (unsigned long long)__atomic_load_n(rows[i].v, __ATOMIC_RELAXED));
	n += snprintf(buf + n, sizeof(buf) - (size_t)n,
	    "# HELP gatehouse_publisher_pool_pending jobs queued or running on the workers\n"
	    "# TYPE gatehouse_publisher_pool_pending gauge\ngatehouse_publisher_pool_pending %d\n"
	    "# HELP gatehouse_feed_listener_up 1 when the outbox listener is connected\n"
	    "# TYPE gatehouse_feed_listener_up gauge\ngatehouse_feed_listener_up %d\n",
	    gh_pg_pool_pending(pub.pool), gh_outbox_listener_ready(pub.listener));
	gh_http_respond(req, 200, "text/plain; version=0.0.4", buf, (size_t)n);
}

void
pub_mgmt_routes(struct gh_router *r)
{
	gh_service_health_route(r, "publisher");
	gh_router_add(r, "GET", "/metrics", metrics, NULL);
}
