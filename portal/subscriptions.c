/*
 * Subscriptions of the DevPortal (/subscriptions): an application of the
 * caller (owned or shared) subscribes to an API it may see and that is
 * available to its tenant, with one of the tiers the API allows.  The
 * portal writes gh_subscriptions and, in the same transaction, the
 * subscription.created / .updated / .removed event of publisher/FEED.md,
 * visible to the environments the API is deployed to.  Refusals follow
 * WSO2: an API or application the caller may not see is 404, a tier the
 * API does not allow or an API not PUBLISHED is 403, a BLOCKED
 * subscription cannot be changed by its subscriber (403).
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gh_json.h"
#include "core/gh_log.h"
#include "portal/portal_int.h"

#define SUB_OBJECT \
	"jsonb_build_object('subscriptionId', s.id, 'applicationId', s.app_id, 'apiId', s.api_id, " \
	"  'apiInfo', " PORTAL_API_INFO_OBJECT ", 'applicationInfo', " PORTAL_APP_OBJECT ", " \
	"  'throttlingPolicy', s.tier, 'requestedThrottlingPolicy', s.tier, 'status', s.status, " \
	"  'redirectionParams', NULL, 'createdTime', (extract(epoch FROM s.created_at) * 1000)::bigint::text)"

#define SUB_FROM \
	"FROM gh_subscriptions s JOIN gh_apis a ON a.id = s.api_id JOIN gh_applications p ON p.id = s.app_id "

enum { TX_NOT_FOUND = 1, TX_BLOCKED, TX_TIER };

/* Reply subscription id with status (201 adds Location). */
static void
reply_sub(struct gh_call *c, struct gh_pg *db, const char *id, int status)
{
	const char *p[1] = { id };
	char *s = portal_one_text(db, "SELECT " SUB_OBJECT "::text " SUB_FROM "WHERE s.id = $1", 1, p);
	char loc[200];

	if (s == NULL) {
		portal_db_error(c, db, "The subscription could not be read back");
		return;
	}
	gh_reply_raw(c, status, "application/json", s, strlen(s));
	if (status == 201) {
		snprintf(loc, sizeof(loc), PORTAL_BASE "/subscriptions/%s", id);
		gh_reply_header(c, "Location", loc);
	}
	free(s);
}

static void
subs_list(struct gh_call *c, struct gh_pg *db)
{
	struct portal_viewer v;
	struct portal_app app;
	int64_t limit, offset;
	char lim[24], off[24], *app_id = NULL, *api_id = NULL;
	const char *p[7];

	if (portal_viewer_begin(c, db, &v, 0, "apim:sub_manage") != 0)
		return;
	if (portal_page(c, &limit, &offset) != 0)
		goto out;
	app_id = gh_call_query(c, "applicationId");
	api_id = gh_call_query(c, "apiId");
	if (app_id != NULL && portal_app_load(c, db, &v, app_id, &app) != 0)
		goto out;
	if (api_id != NULL && !gh_body_id_ok(api_id)) {
		gh_reply_error(c, 404, "Not Found", "No API has this id");
		goto out;
	}
	p[0] = v.p.tenant;
	p[1] = v.p.sub;
	p[2] = v.roles_json;
	p[3] = app_id;
	p[4] = api_id;
	p[5] = gh_pg_i64(lim, limit);
	p[6] = gh_pg_i64(off, offset);
	portal_reply_page(c, db, "The subscriptions could not be listed", limit, offset,
	    "WITH v AS (SELECT s.id, s.created_at " SUB_FROM "WHERE " PORTAL_APP_VISIBLE
	    "  AND ($4::text IS NULL OR s.app_id = $4) AND ($5::text IS NULL OR s.api_id = $5)) "
	    "SELECT (SELECT count(*) FROM v), coalesce((SELECT jsonb_agg(" SUB_OBJECT " ORDER BY w.created_at, s.id) "
	    "  FROM (SELECT * FROM v ORDER BY created_at, id LIMIT $6::bigint OFFSET $7::bigint) w "
	    "  JOIN gh_subscriptions s ON s.id = w.id JOIN gh_apis a ON a.id = s.api_id "
	    "  JOIN gh_applications p ON p.id = s.app_id), '[]')::text", 7, p);
out:
	free(app_id);
	free(api_id);
	portal_viewer_end(&v);
}

/* The API's tenant if v may subscribe with tier: 0, -1 replied (404, 403). */
static int
api_check(struct gh_call *c, struct gh_pg *db, const struct portal_viewer *v, const char *api_id,
    const char *tier, char api_tenant[256])
{
	const char *p[6];
	PGresult *res;
	char desc[300];
	int rc = -1;

	if (!gh_body_id_ok(api_id)) {
		gh_reply_error(c, 404, "Not Found", "No API has this id");
		return -1;
	}
	portal_vis_params(v, 1, p);
	p[4] = api_id;
	p[5] = tier;
	res = gh_pg_exec(db, "SELECT a.tenant, a.status, " PORTAL_JARR("a.definition->'policies'") " ? $6::text, "
	    "  EXISTS (SELECT 1 FROM gh_throttle_policies t WHERE t.kind = 'subscription' AND t.name = $6 "
	    "  AND t.tenant IN ('*', a.tenant)) FROM gh_apis a WHERE a.id = $5 AND " PORTAL_API_VISIBLE, 6, p);
	if (res == NULL) {
		portal_db_error(c, db, "The API could not be read");
		return -1;
	}
	if (gh_pg_nrows(res) != 1) {
		gh_reply_error(c, 404, "Not Found", "No API has this id");
	} else if (strcmp(gh_pg_get(res, 0, 1), "PUBLISHED") != 0) {
		snprintf(desc, sizeof(desc), "Subscriptions are not allowed on an API in state %s",
		    gh_pg_get(res, 0, 1));
		gh_reply_error(c, 403, "Forbidden", desc);
	} else if (strcmp(gh_pg_get(res, 0, 2), "t") != 0 || strcmp(gh_pg_get(res, 0, 3), "t") != 0) {
		snprintf(desc, sizeof(desc), "Tier %s is not allowed for this API (see its throttlingPolicies)", tier);
		gh_reply_error(c, 403, "Forbidden", desc);
	} else {
		snprintf(api_tenant, 256, "%s", gh_pg_get(res, 0, 0));
		rc = 0;
	}
	PQclear(res);
	return rc;
}

/* throttlingPolicy (or WSO2's requestedThrottlingPolicy) of o.  0, -1 replied. */
static int
tier_in(struct gh_call *c, struct json_object *o, const char **tier)
{
	if (portal_str(c, o, "throttlingPolicy", 64, PORTAL_STR_NAME, tier) != 0)
		return -1;
	if (*tier == NULL && portal_str(c, o, "requestedThrottlingPolicy", 64, PORTAL_STR_NAME, tier) != 0)
		return -1;
	if (*tier == NULL) {
		gh_reply_error(c, 400, "Bad Request", "throttlingPolicy is required");
		return -1;
	}
	return 0;
}

struct create_tx {
	const struct gh_call *c;
	const struct portal_viewer *v;
	const struct portal_app *app;
	const char *api_id, *api_tenant, *tier;
	char id[64];
};

static int
create_tx(struct gh_pg *db, void *arg)
{
	struct create_tx *t = arg;
	const char *p[6] = { t->api_id, t->app->id, t->app->tenant, t->api_tenant, t->tier, t->v->p.sub };
	struct json_object *d;
	char *id = portal_one_text(db, "INSERT INTO gh_subscriptions (id, api_id, app_id, tenant, api_tenant, "
	    "  tier, subscriber) VALUES (gen_random_uuid()::text, $1, $2, $3, $4, $5, $6) RETURNING id", 6, p);

	if (id == NULL)
		return -1;
	snprintf(t->id, sizeof(t->id), "%s", id);
	free(id);
	d = json_object_new_object();
	json_object_object_add(d, "apiId", json_object_new_string(t->api_id));
	json_object_object_add(d, "applicationId", json_object_new_string(t->app->id));
	json_object_object_add(d, "throttlingPolicy", json_object_new_string(t->tier));
	portal_audit(db, t->c, t->v, "subscription.create", t->id, d);
	json_object_put(d);
	return portal_event_subscription(db, t->id, "subscription.created", 1);
}

static void
subs_create(struct gh_call *c, struct gh_pg *db)
{
	struct portal_viewer v;
	struct portal_app app;
	struct json_object *o = NULL;
	struct create_tx t = { 0 };
	const char *api_id, *app_id, *tier;
	char api_tenant[256];

	if (portal_viewer_begin(c, db, &v, 0, "apim:sub_manage") != 0)
		return;
	if ((o = gh_call_body(c, 415)) == NULL ||
	    portal_str(c, o, "apiId", 128, PORTAL_STR_REQUIRED, &api_id) != 0 ||
	    portal_str(c, o, "applicationId", 128, PORTAL_STR_REQUIRED, &app_id) != 0 || tier_in(c, o, &tier) != 0)
		goto out;
	if (portal_app_load(c, db, &v, app_id, &app) != 0 || api_check(c, db, &v, api_id, tier, api_tenant) != 0)
		goto out;
	t.c = c;
	t.v = &v;
	t.app = &app;
	t.api_id = api_id;
	t.api_tenant = api_tenant;
	t.tier = tier;
	if (gh_pg_run_tx(db, 0, create_tx, &t) != 0) {
		if (gh_pg_is(db, "23505"))
			gh_reply_error(c, 409, "Conflict", "This application is already subscribed to this API");
		else if (gh_pg_is(db, "23503"))
			gh_reply_error(c, 404, "Not Found", "The API or the application is gone");
		else
			portal_db_error(c, db, "The subscription could not be created");
		goto out;
	}
	PORTAL_COUNT(subscriptions);
	reply_sub(c, db, t.id, 201);
out:
	json_object_put(o);
	portal_viewer_end(&v);
}

/* Lock the route's subscription if the caller's application holds it: 0, TX_NOT_FOUND, -1. */
static int
sub_lock(struct gh_pg *db, const struct portal_viewer *v, const char *id, char status[32], char api_id[130])
{
	const char *p[4] = { v->p.tenant, v->p.sub, v->roles_json, id };
	PGresult *res;

	if (!gh_body_id_ok(id))
		return TX_NOT_FOUND;
	res = gh_pg_exec(db, "SELECT s.status, s.api_id FROM gh_subscriptions s JOIN gh_applications p "
	    "ON p.id = s.app_id WHERE s.id = $4 AND " PORTAL_APP_VISIBLE " FOR UPDATE OF s", 4, p);
	if (res == NULL)
		return -1;
	if (gh_pg_nrows(res) != 1) {
		PQclear(res);
		return TX_NOT_FOUND;
	}
	snprintf(status, 32, "%s", gh_pg_get(res, 0, 0));
	snprintf(api_id, 130, "%s", gh_pg_get(res, 0, 1));
	PQclear(res);
	return 0;
}

static void
subs_get(struct gh_call *c, struct gh_pg *db)
{
	struct portal_viewer v;
	const char *p[4];
	PGresult *res = NULL;

	if (portal_viewer_begin(c, db, &v, 0, "apim:sub_manage") != 0)
		return;
	p[0] = v.p.tenant;
	p[1] = v.p.sub;
	p[2] = v.roles_json;
	p[3] = gh_call_param(c, "subscriptionId");
	if (!gh_body_id_ok(p[3])) {
		gh_reply_error(c, 404, "Not Found", "No subscription of yours has this id");
		goto out;
	}
	res = gh_pg_exec(db, "SELECT " SUB_OBJECT "::text " SUB_FROM "WHERE s.id = $4 AND " PORTAL_APP_VISIBLE, 4, p);
	if (res == NULL)
		portal_db_error(c, db, "The subscription could not be read");
	else if (gh_pg_nrows(res) != 1)
		gh_reply_error(c, 404, "Not Found", "No subscription of yours has this id");
	else
		gh_reply_raw(c, 200, "application/json", gh_pg_get(res, 0, 0), strlen(gh_pg_get(res, 0, 0)));
out:
	PQclear(res);
	portal_viewer_end(&v);
}

struct change_tx {
	const struct gh_call *c;
	const struct portal_viewer *v;
	const char *id, *tier;
};

static int
update_tx(struct gh_pg *db, void *arg)
{
	struct change_tx *t = arg;
	char status[32], api_id[130];
	const char *p[3] = { t->id, t->tier, api_id };
	struct json_object *d;
	int64_t ok = 0;
	int x = sub_lock(db, t->v, t->id, status, api_id);

	if (x != 0)
		return x;
	if (strcmp(status, "UNBLOCKED") != 0)
		return TX_BLOCKED;
	if (gh_pg_query_int64(db, "SELECT count(*) FROM gh_apis a WHERE a.id = $3 AND "
	    PORTAL_JARR("a.definition->'policies'") " ? $2::text AND EXISTS (SELECT 1 FROM gh_throttle_policies t "
	    "WHERE t.kind = 'subscription' AND t.name = $2 AND t.tenant IN ('*', a.tenant)) "
	    "AND $1::text IS NOT NULL", 3, p, &ok) < 0)
		return -1;
	if (ok == 0)
		return TX_TIER;
	if (gh_pg_cmd(db, "UPDATE gh_subscriptions SET tier = $2, updated_at = now() WHERE id = $1", 2, p, NULL) != 0)
		return -1;
	d = json_object_new_object();
	json_object_object_add(d, "throttlingPolicy", json_object_new_string(t->tier));
	portal_audit(db, t->c, t->v, "subscription.update", t->id, d);
	json_object_put(d);
	return portal_event_subscription(db, t->id, "subscription.updated", 0);
}

static void
change_failed(struct gh_call *c, struct gh_pg *db, int rc, const char *tier, const char *what)
{
	char desc[200];

	if (rc == TX_NOT_FOUND) {
		gh_reply_error(c, 404, "Not Found", "No subscription of yours has this id");
	} else if (rc == TX_BLOCKED) {
		gh_reply_error(c, 403, "Forbidden", "The subscription is blocked: only the API's publisher may change it");
	} else if (rc == TX_TIER) {
		snprintf(desc, sizeof(desc), "Tier %s is not allowed for this API (see its throttlingPolicies)",
		    tier ? tier : "");
		gh_reply_error(c, 403, "Forbidden", desc);
	} else {
		portal_db_error(c, db, what);
	}
}

static void
subs_update(struct gh_call *c, struct gh_pg *db)
{
	struct portal_viewer v;
	struct json_object *o = NULL;
	struct change_tx t = { 0 };
	const char *api_id, *app_id;
	int rc;

	if (portal_viewer_begin(c, db, &v, 0, "apim:sub_manage") != 0)
		return;
	t.c = c;
	t.v = &v;
	t.id = gh_call_param(c, "subscriptionId");
	if ((o = gh_call_body(c, 415)) == NULL || tier_in(c, o, &t.tier) != 0 ||
	    portal_str(c, o, "apiId", 128, 0, &api_id) != 0 || portal_str(c, o, "applicationId", 128, 0, &app_id) != 0)
		goto out;
	rc = gh_pg_run_tx(db, 0, update_tx, &t);
	if (rc != 0) {
		change_failed(c, db, rc, t.tier, "The subscription could not be updated");
		goto out;
	}
	reply_sub(c, db, t.id, 200);
out:
	json_object_put(o);
	portal_viewer_end(&v);
}

static int
delete_tx(struct gh_pg *db, void *arg)
{
	struct change_tx *t = arg;
	char status[32], api_id[130];
	const char *p[1] = { t->id };
	struct json_object *d;
	int x = sub_lock(db, t->v, t->id, status, api_id);

	if (x != 0)
		return x;
	if (portal_event_subscription(db, t->id, "subscription.removed", 0) != 0 ||
	    gh_pg_cmd(db, "DELETE FROM gh_subscriptions WHERE id = $1", 1, p, NULL) != 0)
		return -1;
	d = json_object_new_object();
	json_object_object_add(d, "apiId", json_object_new_string(api_id));
	portal_audit(db, t->c, t->v, "subscription.delete", t->id, d);
	json_object_put(d);
	return 0;
}

static void
subs_delete(struct gh_call *c, struct gh_pg *db)
{
	struct portal_viewer v;
	struct change_tx t = { 0 };
	int rc;

	if (portal_viewer_begin(c, db, &v, 0, "apim:sub_manage") != 0)
		return;
	t.c = c;
	t.v = &v;
	t.id = gh_call_param(c, "subscriptionId");
	rc = gh_pg_run_tx(db, 0, delete_tx, &t);
	if (rc != 0)
		change_failed(c, db, rc, NULL, "The subscription could not be deleted");
	else
		gh_reply_raw(c, 200, NULL, NULL, 0);
	portal_viewer_end(&v);
}

void
portal_subscription_routes(struct gh_router *r)
{
	gh_call_route(r, "GET", PORTAL_BASE "/subscriptions", subs_list);
	gh_call_route(r, "POST", PORTAL_BASE "/subscriptions", subs_create);
	gh_call_route(r, "GET", PORTAL_BASE "/subscriptions/{subscriptionId}", subs_get);
	gh_call_route(r, "PUT", PORTAL_BASE "/subscriptions/{subscriptionId}", subs_update);
	gh_call_route(r, "DELETE", PORTAL_BASE "/subscriptions/{subscriptionId}", subs_delete);
}
