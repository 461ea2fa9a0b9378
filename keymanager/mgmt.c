/*
 * The management port (19445, loopback): GET /health and GET /metrics in
 * Prometheus text.  Answered on the loop, without a worker: they must
 * work when the database is slow.
 */
#include <stdio.h>
#include <string.h>

#include "keymanager/km.h"

static void
health(struct gh_http_req *req, const struct gh_route_match *m, void *arg)
{
	static const char body[] = "{\"status\":\"UP\",\"component\":\"keymanager\"}";

	(void)m;
	(void)arg;
	gh_http_respond(req, 200, "application/json", body, sizeof(body) - 1);
}

static void
metrics(struct gh_http_req *req, const struct gh_route_match *m, void *arg)
{
	char buf[4096];
	int n = 0;
	const struct {
		const char *name, *help;
		uint64_t *v;
	} rows[] = {
		{ "gatehouse_km_requests_total", "requests handed to workers", &km.metrics.requests },
		{ "gatehouse_km_tokens_issued_total", "access tokens issued", &km.metrics.tokens_issued },
		{ "gatehouse_km_token_errors_total", "tokens that could not be issued", &km.metrics.token_errors },
		{ "gatehouse_km_introspections_total", "introspection requests", &km.metrics.introspections },
		{ "gatehouse_km_revocations_total", "revocation requests", &km.metrics.revocations },
		{ "gatehouse_km_logins_total", "successful user logins", &km.metrics.logins },
		{ "gatehouse_km_login_failures_total", "failed user logins", &km.metrics.login_failures },
		{ "gatehouse_km_lockouts_total", "requests refused or locked by lock-outs", &km.metrics.lockouts },
		{ "gatehouse_km_clients_created_total", "OAuth clients created", &km.metrics.clients_created },
	};

	(void)m;
	(void)arg;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]) && n < (int)sizeof(buf) - 256; i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n",
		    rows[i].name, rows[i].help, rows[i].name, rows[i].name,
		    (unsigned long long)__atomic_load_n(rows[i].v, __ATOMIC_RELAXED));
	n += snprintf(buf + n, sizeof(buf) - (size_t)n,
	    "# HELP gatehouse_km_pool_pending jobs queued or running on the workers\n"
	    "# TYPE gatehouse_km_pool_pending gauge\ngatehouse_km_pool_pending %d\n",
	    gh_pg_pool_pending(km.pool));
	gh_http_respond(req, 200, "text/plain; version=0.0.4", buf, (size_t)n);
}

void
km_mgmt_routes(struct gh_router *mgmt)
{
	gh_router_add(mgmt, "GET", "/health", health, NULL);
	gh_router_add(mgmt, "GET", "/metrics", metrics, NULL);
}
