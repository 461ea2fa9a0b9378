/*
 * GET /internal/data/v1/snapshot?environment=NAME: everything a gateway of
 * that environment needs (publisher/FEED.md), read in one SERIALIZABLE
 * READ ONLY transaction together with max(gh_events.id), so that with
 * ordered commits the snapshot is exactly the state after that event.
 * RuntimeApi, Subscription and Application come from runtime.c, the rest
 * from one statement; the pieces are JSON text from PostgreSQL, joined
 * here without re-parsing.
 */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "publisher/pub_feed.h"
#include "publisher/runtime.h"

struct snap {
	const char *env;
	int missing;
	int64_t event_id;
	char *environment, *apis, *subs, *apps;
	PGresult *rest;
};

static void
snap_clear(struct snap *s)
{
	free(s->environment);
	free(s->apis);
	free(s->subs);
	free(s->apps);
	PQclear(s->rest);
	s->environment = s->apis = s->subs = s->apps = NULL;
	s->rest = NULL;
}

#define POLICY_KIND(k) \
	"(SELECT coalesce(json_agg(json_build_object('tenant', tenant, 'name', name, 'definition', " \
	"definition || jsonb_build_object('policyId', id)) ORDER BY tenant, name), '[]') " \
	"FROM gh_throttle_policies WHERE kind = '" k "')"

static int
snap_tx(struct gh_pg *db, void *arg)
{
	struct snap *s = arg;
	const char *p[1] = { s->env };
	PGresult *res;

	snap_clear(s);
	s->missing = 0;
	if (gh_pg_query_int64(db, "SELECT coalesce(max(id), 0) FROM gh_events", 0, NULL, &s->event_id) != 0)
		return -1;
	res = gh_pg_exec(db, "SELECT json_build_object('name', name, 'displayName', display_name, 'type', type, "
	    "'vhosts', vhosts)::text FROM gh_environments WHERE name = $1", 1, p);
	if (res == NULL)
		return -1;
	if (gh_pg_nrows(res) != 1) {
		PQclear(res);
		s->missing = 1;
		return 1;
	}
	s->environment = strdup(gh_pg_get(res, 0, 0));
	PQclear(res);
	if (s->environment == NULL || (s->apis = pub_rt_apis(db, s->env, NULL)) == NULL ||
	    (s->subs = pub_rt_subscriptions(db, s->env, NULL)) == NULL ||
	    (s->apps = pub_rt_applications(db, s->env, NULL)) == NULL)
		return -1;
	s->rest = gh_pg_exec(db, "SELECT "
	    "(SELECT coalesce(json_agg(json_build_object('domain', domain, 'status', status) ORDER BY domain), "
	    "'[]') FROM gh_tenants)::text, "
	    "json_build_object('subscription', " POLICY_KIND("subscription") ", 'application', "
	    POLICY_KIND("application") ", 'advanced', " POLICY_KIND("advanced") ")::text, "
	    "(SELECT coalesce(json_agg(json_build_object('id', id, 'tenant', tenant, 'conditionType', "
	    "condition_type, 'conditionValue', condition_value, 'conditionStatus', condition_status) "
	    "ORDER BY tenant, created_at, id), '[]') FROM gh_deny_policies)::text, "
	    "(SELECT coalesce(json_agg(json_build_object('jti', jti, 'exp', extract(epoch FROM expires_at)::bigint) "
	    "ORDER BY jti), '[]') FROM gh_revoked_tokens WHERE expires_at > now())::text, "
	    "(SELECT coalesce(json_agg(json_build_object('clientId', client_id, 'notBefore', "
	    "extract(epoch FROM not_before)::bigint) ORDER BY client_id), '[]') FROM gh_oauth_clients "
	    "WHERE app_id IS NOT NULL AND not_before > 'epoch'::timestamptz)::text", 0, NULL);
	return s->rest == NULL ? -1 : 0;
}

/* {"issuer","audiences","jwksUrl","introspectUrl"} of the key manager (malloc'd). */
static char *
key_manager_json(void)
{
	struct json_object *o = json_object_new_object(), *aud = json_object_new_array();
	char url[1024];
	char *out;

	json_object_object_add(o, "issuer", json_object_new_string(pub.km_url ? pub.km_url : ""));
	json_object_array_add(aud, json_object_new_string(GH_AUD_GATEWAY));
	json_object_object_add(o, "audiences", aud);
	snprintf(url, sizeof(url), "%s/oauth2/jwks", pub.km_url ? pub.km_url : "");
	json_object_object_add(o, "jwksUrl", json_object_new_string(url));
	snprintf(url, sizeof(url), "%s/internal/km/v1/introspect", pub.km_internal_url ? pub.km_internal_url : "");
	json_object_object_add(o, "introspectUrl", json_object_new_string(url));
	out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return out;
}

static void
snapshot(struct gh_call *c, struct gh_pg *db)
{
	struct snap s = { 0 };
	char *env = gh_call_query(c, "environment"), *km = NULL, *body = NULL;
	const char *why = NULL;
	int status, rc, len;

	if (pub_feed_env_allowed(c->has_peer_id, &c->peer_id, env, &status, &why) != 0) {
		gh_reply_error(c, status, status == 403 ? "Forbidden" : "Bad Request", why);
		goto out;
	}
	s.env = env;
	rc = gh_pg_run_tx(db, GH_PG_TX_SERIALIZABLE | GH_PG_TX_READ_ONLY, snap_tx, &s);
	if (rc == 1) {
		gh_reply_error(c, 404, "Not Found", "No such environment");
		goto out;
	}
	if (rc != 0) {
		gh_reply_error(c, 503, "Service Unavailable", "The database is unavailable");
		goto out;
	}
	if ((km = key_manager_json()) == NULL)
		goto nomem;
	len = asprintf(&body, "{\"eventId\":%" PRId64 ",\"environment\":%s,\"keyManager\":%s,\"apis\":%s,"
	    "\"subscriptions\":%s,\"applications\":%s,\"tenants\":%s,\"policies\":%s,\"denyPolicies\":%s,"
	    "\"revokedTokens\":%s,\"clientNotBefore\":%s}", s.event_id, s.environment, km, s.apis, s.subs,
	    s.apps, gh_pg_get(s.rest, 0, 0), gh_pg_get(s.rest, 0, 1), gh_pg_get(s.rest, 0, 2),
	    gh_pg_get(s.rest, 0, 3), gh_pg_get(s.rest, 0, 4));
	if (len < 0) {
		body = NULL;
		goto nomem;
	}
	PUB_COUNT(feed_snapshots);
	gh_reply_raw(c, 200, "application/json", body, (size_t)len);
	gh_reply_header(c, "Cache-Control", "no-store");
	goto out;
nomem:
	gh_reply_error(c, 500, "Internal Server Error", "Out of memory");
out:
	snap_clear(&s);
	free(km);
	free(body);
	free(env);
}

void
pub_feed_snapshot_routes(struct gh_router *r)
{
	gh_call_route(r, "GET", PUB_FEED_BASE "/snapshot", snapshot);
}
