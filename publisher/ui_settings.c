/*
 * Read-only lists the publisher console needs and an API owner (no
 * apim:admin) may read, with WSO2 publisher v4's paths and shapes:
 * GET /settings ({"environment": [{name, displayName, type, description,
 * vhosts}]}: where the owner can deploy) and GET
 * /throttling-policies/{policyLevel} (subscription: the tiers an API
 * offers; api: the API- and resource-level policies), the built-in
 * policies and the caller tenant's own.
 */
#include <stdlib.h>
#include <string.h>

#include "core/gh_log.h"
#include "publisher/pub.h"
#include "publisher/pub_api.h"
#include "publisher/ui.h"

/* One row, one JSON text column: reply it (200), or 503. */
static void
reply_one(struct gh_call *c, struct gh_pg *db, const char *sql, int n, const char *const *p)
{
	PGresult *res = gh_pg_exec(db, sql, n, p);

	if (res == NULL || gh_pg_nrows(res) != 1) {
		gh_log_error("db", c->request_id, "console lists: %s", gh_pg_errmsg(db));
		gh_reply_error(c, 503, "Service Unavailable", "The database is unavailable");
	} else {
		pub_reply_text(c, 200, gh_pg_get(res, 0, 0));
	}
	PQclear(res);
}

/* GET /api/am/publisher/v4/settings */
static void
settings_get(struct gh_call *c, struct gh_pg *db)
{
	struct gh_principal p;

	if (pub_auth(c, db, "apim:publisher_settings", "apim:api_view", &p) != 0)
		return;
	reply_one(c, db, "SELECT jsonb_build_object('environment', coalesce(jsonb_agg(jsonb_build_object("
	    "'id', name, 'name', name, 'displayName', display_name, 'type', type, 'description', description, "
	    "'vhosts', vhosts) ORDER BY name), '[]'::jsonb))::text FROM gh_environments", 0, NULL);
	gh_principal_clear(&p);
}

/* GET /api/am/publisher/v4/throttling-policies/{policyLevel} */
static void
policies_get(struct gh_call *c, struct gh_pg *db)
{
	const char *level = gh_call_param(c, "policyLevel"), *q[3];
	struct gh_principal p;

	if (pub_auth(c, db, "apim:tier_view", "apim:api_view", &p) != 0)
		return;
	if (level == NULL || (strcmp(level, "subscription") != 0 && strcmp(level, "api") != 0)) {
		gh_reply_error(c, 400, "Bad Request", "policyLevel must be subscription or api");
		goto out;
	}
	q[0] = p.tenant;
	q[1] = strcmp(level, "api") == 0 ? "advanced" : "subscription";
	q[2] = level;
	reply_one(c, db, "SELECT jsonb_build_object('count', count(*), 'list', coalesce(jsonb_agg(jsonb_build_object("
	    "'name', name, 'displayName', coalesce(definition->>'displayName', name), "
	    "'description', coalesce(definition->>'description', ''), 'policyLevel', $3::text, "
	    "'defaultLimit', definition->'defaultLimit') ORDER BY builtin DESC, name), '[]'::jsonb))::text "
	    "FROM gh_throttle_policies WHERE tenant IN ('*', $1) AND kind = $2", 3, q);
out:
	gh_principal_clear(&p);
}

void
pub_ui_settings_routes(struct gh_router *r)
{
	gh_call_route(r, "GET", PUB_V4 "/settings", settings_get);
	gh_call_route(r, "GET", PUB_V4 "/throttling-policies/{policyLevel}", policies_get);
}
