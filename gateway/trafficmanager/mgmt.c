/*
 * The traffic manager's management port (19611, loopback): GET /health
 * and GET /metrics in Prometheus text, answered on the loop.
 */
#include "core/gh_service.h"
#include "gateway/trafficmanager/tm.h"

static void
metrics(struct gh_http_req *req, const struct gh_route_match *m, void *arg)
{
	char buf[8192];
	const struct gh_metric rows[] = {
		{ "gatehouse_tm_syncs_total", "throttle syncs answered", &tmgr.metrics.syncs, 0 },
		{ "gatehouse_tm_sync_refused_total", "throttle syncs refused (400, 403)", &tmgr.metrics.sync_refused, 0 },
		{ "gatehouse_tm_sync_keys_total", "counter deltas received", &tmgr.metrics.sync_keys, 0 },
		{ "gatehouse_tm_keys", "throttling keys held", NULL, (int64_t)tm_sync_keys() },
		{ "gatehouse_tm_gateways", "gateways seen in the last minute", NULL, (int64_t)tm_sync_gateways() },
		{ "gatehouse_tm_batches_total", "analytics batches received", &tmgr.metrics.batches, 0 },
		{ "gatehouse_tm_batch_refused_total", "analytics batches refused (400, 403, 413)",
		    &tmgr.metrics.batch_refused, 0 },
		{ "gatehouse_tm_events_total", "analytics events stored", &tmgr.metrics.events, 0 },
		{ "gatehouse_tm_duplicates_total", "analytics events dropped as duplicates", &tmgr.metrics.duplicates, 0 },
		{ "gatehouse_tm_dropped_partitions_total", "daily partitions dropped past the retention",
		    &tmgr.metrics.dropped_partitions, 0 },
		{ "gatehouse_tm_pool_pending", "jobs queued or running on the workers", NULL,
		    gh_pg_pool_pending(tmgr.pool) },
	};

	(void)m;
	(void)arg;
	gh_http_respond(req, 200, "text/plain; version=0.0.4", buf,
	    gh_service_metrics(buf, sizeof(buf), rows, sizeof(rows) / sizeof(rows[0])));
}

void
tm_mgmt_routes(struct gh_router *r)
{
	gh_service_health_route(r, "trafficmanager");
	gh_router_add(r, "GET", "/metrics", metrics, NULL);
}
