/*
 * The publisher's management port (19443, loopback): GET /health and
 * GET /metrics in Prometheus text, answered on the loop (they must work
 * when the database is slow).
 */
#include "core/gh_service.h"
#include "publisher/pub.h"

static void
metrics(struct gh_http_req *req, const struct gh_route_match *m, void *arg)
{
	char buf[8192];
	const struct gh_metric rows[] = {
		{ "gatehouse_publisher_requests_total", "REST requests handed to workers", &pub.metrics.requests, 0 },
		{ "gatehouse_feed_polls_total", "event long-polls answered", &pub.metrics.feed_polls, 0 },
		{ "gatehouse_feed_events_sent_total", "events sent to gateways", &pub.metrics.feed_events_sent, 0 },
		{ "gatehouse_feed_snapshots_total", "snapshots served", &pub.metrics.feed_snapshots, 0 },
		{ "gatehouse_feed_gone_total", "polls answered 410 (behind the retention)", &pub.metrics.feed_gone, 0 },
		{ "gatehouse_publisher_pool_pending", "jobs queued or running on the workers", NULL,
		    gh_pg_pool_pending(pub.pool) },
		{ "gatehouse_feed_listener_up", "1 when the outbox listener is connected", NULL,
		    gh_outbox_listener_ready(pub.listener) },
	};

	size_t used;

	(void)m;
	(void)arg;
	used = gh_service_metrics(buf, sizeof(buf), rows, sizeof(rows) / sizeof(rows[0]));
	used = gh_service_metrics_hist(buf, sizeof(buf), used, "gatehouse_publisher_request_duration_seconds",
	    "time from a request to its reply", &pub.metrics.latency);
	gh_http_respond(req, 200, "text/plain; version=0.0.4", buf, used);
}

void
pub_mgmt_routes(struct gh_router *r)
{
	gh_service_health_route(r, "publisher");
	gh_router_add(r, "GET", "/metrics", metrics, NULL);
}
