/*
 * The gateway's management port (loopback by default, never a public
 * listener): GET /health (503 until a configuration is loaded),
 * GET /metrics in Prometheus text, GET /jwks (this node's backend-JWT
 * public key).  Served by the main thread's loop.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "core/gh_service.h"
#include "gateway/gw.h"
#include "gateway/gw_main.h"

static void
health(struct gh_http_req *req, const struct gh_route_match *m, void *arg)
{
	char body[256];
	int n;

	(void)m;
	(void)arg;
	n = snprintf(body, sizeof(body), "{\"status\":\"%s\",\"component\":\"%s\",\"environment\":\"%s\"}",
	    gw.ready ? "UP" : "STARTING", gw_zone.name, gw.env ? gw.env : "");
	gh_http_respond(req, gw.ready ? 200 : 503, "application/json", body, (size_t)n);
}

static void
metrics(struct gh_http_req *req, const struct gh_route_match *m, void *arg)
{
	char buf[8192];
	const struct gh_metric rows[] = {
		{ "gatehouse_gw_requests_total", "requests received", &gw.metrics.requests, 0 },
		{ "gatehouse_gw_responses_2xx_total", "responses below 400", &gw.metrics.responses_2xx, 0 },
		{ "gatehouse_gw_responses_4xx_total", "responses 400 to 499", &gw.metrics.responses_4xx, 0 },
		{ "gatehouse_gw_responses_5xx_total", "responses 500 and above", &gw.metrics.responses_5xx, 0 },
		{ "gatehouse_gw_auth_failures_total", "failed authentications", &gw.metrics.auth_failures, 0 },
		{ "gatehouse_gw_throttled_total", "requests refused by throttling", &gw.metrics.throttled, 0 },
		{ "gatehouse_gw_upstream_errors_total", "backend connect, timeout or protocol errors",
		    &gw.metrics.upstream_errors, 0 },
		{ "gatehouse_gw_feed_events_total", "feed events applied", &gw.metrics.feed_events, 0 },
		{ "gatehouse_gw_feed_snapshots_total", "feed snapshots taken", &gw.metrics.feed_snapshots, 0 },
		{ "gatehouse_gw_feed_errors_total", "feed requests that failed", &gw.metrics.feed_errors, 0 },
		{ "gatehouse_gw_jwks_fetches_total", "JWKS fetches", &gw.metrics.jwks_fetches, 0 },
		{ "gatehouse_gw_spool_events_total", "analytics events spooled", &gw.metrics.spool_events, 0 },
		{ "gatehouse_gw_spool_depth", "analytics spool bytes not yet acknowledged by the traffic manager",
		    NULL, (int64_t)__atomic_load_n(&gw.metrics.spool_depth, __ATOMIC_RELAXED) },
		{ "gatehouse_gw_analytics_shipped_total", "analytics events acknowledged by the traffic manager",
		    &gw.metrics.analytics_shipped, 0 },
		{ "gatehouse_gw_analytics_rejected_total", "analytics events the traffic manager refused (kept aside)",
		    &gw.metrics.analytics_rejected, 0 },
		{ "gatehouse_gw_ship_errors_total", "analytics batches not taken (traffic manager away)",
		    &gw.metrics.ship_errors, 0 },
		{ "gatehouse_gw_tm_syncs_total", "throttle syncs answered by the traffic manager",
		    &gw.metrics.tm_syncs, 0 },
		{ "gatehouse_gw_tm_sync_errors_total", "throttle syncs that failed", &gw.metrics.tm_sync_errors, 0 },
		{ "gatehouse_gw_throttle_local_share", "1 while each node enforces its share of every limit "
		    "(traffic manager unreachable)", NULL,
		    (int64_t)__atomic_load_n(&gw.metrics.throttle_local_share, __ATOMIC_RELAXED) },
		{ "gatehouse_gw_throttle_sync_lag_ms", "time since the last answered throttle sync", NULL,
		    (int64_t)__atomic_load_n(&gw.metrics.throttle_sync_lag_ms, __ATOMIC_RELAXED) },
		{ "gatehouse_gw_feed_lag_ms", "time since the feed last answered", NULL,
		    __atomic_load_n(&gw.feed_lag_ms, __ATOMIC_RELAXED) },
		{ "gatehouse_gw_store_generation", "configuration generation in use", NULL,
		    (int64_t)gw_store_generation() },
		{ "gatehouse_gw_workers", "worker threads", NULL, gw.nworkers },
	};

	size_t used;

	(void)m;
	(void)arg;
	used = gh_service_metrics(buf, sizeof(buf), rows, sizeof(rows) / sizeof(rows[0]));
	used = gh_service_metrics_hist(buf, sizeof(buf), used, "gatehouse_gw_request_duration_seconds",
	    "time from a request to the end of its response", &gw.metrics.latency);
	gh_http_respond(req, 200, "text/plain; version=0.0.4", buf, used);
}

static void
jwks(struct gh_http_req *req, const struct gh_route_match *m, void *arg)
{
	struct json_object *set = json_object_new_object(), *keys = json_object_new_array();

	(void)m;
	(void)arg;
	if (gw.backend_key != NULL)
		json_object_array_add(keys, gh_jwk_to_json(gw.backend_key));
	json_object_object_add(set, "keys", keys);
	gh_http_respond_json(req, 200, set);
	json_object_put(set);
}

void
gw_mgmt_routes(struct gh_router *r)
{
	gh_router_add(r, "GET", "/health", health, NULL);
	gh_router_add(r, "GET", "/metrics", metrics, NULL);
	gh_router_add(r, "GET", "/jwks", jwks, NULL);
}
