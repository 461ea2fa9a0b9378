/*
 * The management port (19445, loopback): GET /health and GET /metrics in
 * Prometheus text, answered on the loop without a worker (they must work
 * when the database is slow), and POST /keys/rotate?alg=RS256|ES256 on a
 * worker: a new signing key signs from now on, the previous one stays
 * published until the longest-lived token it may have signed expires.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gh_log.h"
#include "core/gh_service.h"
#include "keymanager/km.h"

/* Grace after the longest token lifetime before an old key leaves the JWKS. */
#define ROTATE_GRACE 300

static void
metrics(struct gh_http_req *req, const struct gh_route_match *m, void *arg)
{
	char buf[8192];
	const struct gh_metric rows[] = {
		{ "gatehouse_km_requests_total", "requests handed to workers", &km.metrics.requests, 0 },
		{ "gatehouse_km_tokens_issued_total", "access tokens issued", &km.metrics.tokens_issued, 0 },
		{ "gatehouse_km_token_errors_total", "tokens that could not be issued", &km.metrics.token_errors, 0 },
		{ "gatehouse_km_introspections_total", "introspection requests", &km.metrics.introspections, 0 },
		{ "gatehouse_km_revocations_total", "revocation requests", &km.metrics.revocations, 0 },
		{ "gatehouse_km_logins_total", "successful user logins", &km.metrics.logins, 0 },
		{ "gatehouse_km_login_failures_total", "failed user logins", &km.metrics.login_failures, 0 },
		{ "gatehouse_km_lockouts_total", "requests refused or locked by lock-outs", &km.metrics.lockouts, 0 },
		{ "gatehouse_km_clients_created_total", "OAuth clients created", &km.metrics.clients_created, 0 },
		{ "gatehouse_km_pool_pending", "jobs queued or running on the workers", NULL,
		    gh_pg_pool_pending(km.pool) },
	};

	size_t used;

	(void)m;
	(void)arg;
	used = gh_service_metrics(buf, sizeof(buf), rows, sizeof(rows) / sizeof(rows[0]));
	used = gh_service_metrics_hist(buf, sizeof(buf), used, "gatehouse_km_request_duration_seconds",
	    "time from a request to its reply", &km.metrics.latency);
	gh_http_respond(req, 200, "text/plain; version=0.0.4", buf, used);
}

/* POST /keys/rotate?alg=RS256|ES256 (default: keys.token_alg) */
static void
keys_rotate(struct gh_call *c, struct gh_pg *db)
{
	char *name = gh_call_query(c, "alg");
	enum gh_jose_alg alg = name ? gh_jose_alg_from_name(name) : km.token_alg;
	const char *p[1];
	struct json_object *o = NULL, *d;
	PGresult *res = NULL;
	int64_t longest = 0, ttl;

	if (alg != GH_JOSE_RS256 && alg != GH_JOSE_ES256) {
		gh_reply_error(c, 400, "Bad Request", "alg must be RS256 or ES256");
		goto out;
	}
	/*
	 * The old key must verify every token it signed: the longest lifetime
	 * any client has, and the API keys (up to ten years; their expiry is
	 * recorded only in their apikey.create audit rows).
	 */
	if (gh_pg_query_int64(db, "SELECT greatest("
	    "(SELECT coalesce(max(validity_seconds), 0) FROM gh_oauth_clients), "
	    "(SELECT coalesce(max((details->>'exp')::bigint), 0) - extract(epoch from now())::bigint "
	    "  FROM gh_audit WHERE component = 'keymanager' AND action = 'apikey.create' "
	    "  AND outcome = 'success'))",
	    0, NULL, &longest) < 0) {
		gh_reply_error(c, 503, "Service Unavailable", "Database unavailable");
		goto out;
	}
	ttl = (longest > km.access_ttl ? longest : km.access_ttl) + ROTATE_GRACE;
	if (km_keys_rotate(db, alg, ttl) != 0) {
		gh_log_error("signing_key_rotate", c->request_id, "rotation failed: %s", gh_pg_errmsg(db));
		gh_reply_error(c, 500, "Internal Server Error", "The key could not be rotated");
		goto out;
	}
	p[0] = gh_jose_alg_name(alg);
	res = gh_pg_exec(db, "SELECT kid FROM gh_signing_keys WHERE alg = $1 AND status = 'active' "
	    "ORDER BY created_at DESC LIMIT 1", 1, p);
	o = json_object_new_object();
	json_object_object_add(o, "alg", json_object_new_string(p[0]));
	if (res != NULL && gh_pg_nrows(res) == 1)
		json_object_object_add(o, "kid", json_object_new_string(gh_pg_get(res, 0, 0)));
	json_object_object_add(o, "previous_published_for", json_object_new_int64(ttl));
	d = json_object_new_object();
	json_object_object_add(d, "alg", json_object_new_string(p[0]));
	json_object_object_add(d, "previous_published_for", json_object_new_int64(ttl));
	km_audit(db, c, "management", "carbon.super", "signing_key.rotate",
	    res != NULL && gh_pg_nrows(res) == 1 ? gh_pg_get(res, 0, 0) : NULL, "success", d);
	json_object_put(d);
	gh_reply_json(c, 200, o);
out:
	if (res != NULL)
		PQclear(res);
	json_object_put(o);
	free(name);
}

void
km_mgmt_routes(struct gh_router *mgmt)
{
	gh_service_health_route(mgmt, "keymanager");
	gh_router_add(mgmt, "GET", "/metrics", metrics, NULL);
	gh_call_route(mgmt, "POST", "/keys/rotate", keys_rotate);
}
