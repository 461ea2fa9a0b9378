/*
 * Throttling tiers as the DevPortal shows them
 * (/throttling-policies/{subscription|application}[/{policyId}]): the
 * built-in policies (tenant '*') and the tenant's own, one per name (the
 * tenant's wins), rendered in WSO2's ThrottlingPolicy shape from the admin
 * API's stored definition.  Subscription tiers are those of the browsed
 * tenant (X-WSO2-Tenant, else the caller's); application tiers those of
 * the caller's tenant.  Anonymous callers may read them.
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "portal/portal_int.h"

#define NUM(x) "(CASE WHEN jsonb_typeof(" x ") = 'number' THEN (" x ")::text::numeric::bigint END)"
#define DL "t.definition->'defaultLimit'"

#define POLICY_OBJECT \
	"jsonb_build_object('name', t.name, 'displayName', coalesce(t.definition->>'displayName', t.name), " \
	"  'description', coalesce(t.definition->>'description', ''), 'policyLevel', t.kind, " \
	"  'attributes', '{}'::jsonb, " \
	"  'requestCount', CASE WHEN " DL "->>'type' = 'REQUESTCOUNTLIMIT' " \
	"    THEN coalesce(" NUM(DL "->'requestCount'->'requestCount'") ", 0) " \
	"    WHEN " DL "->>'type' = 'BANDWIDTHLIMIT' THEN 0 ELSE 2147483647 END, " \
	"  'dataUnit', " DL "->'bandwidth'->'dataUnit', " \
	"  'unitTime', coalesce(" NUM(DL "->'requestCount'->'unitTime'") ", " NUM(DL "->'bandwidth'->'unitTime'") ", 0), " \
	"  'timeUnit', coalesce(" DL "->'requestCount'->>'timeUnit', " DL "->'bandwidth'->>'timeUnit', 'ms'), " \
	"  'rateLimitCount', coalesce(" NUM("t.definition->'rateLimitCount'") ", 0), " \
	"  'rateLimitTimeUnit', t.definition->'rateLimitTimeUnit', " \
	"  'quotaPolicyType', CASE WHEN " DL "->>'type' = 'BANDWIDTHLIMIT' THEN 'BANDWIDTHVOLUME' " \
	"    ELSE 'REQUESTCOUNT' END, " \
	"  'tierPlan', coalesce(t.definition->>'billingPlan', 'FREE'), " \
	"  'stopOnQuotaReach', coalesce(CASE WHEN jsonb_typeof(t.definition->'stopOnQuotaReach') = 'boolean' " \
	"    THEN (t.definition->'stopOnQuotaReach')::text::boolean END, true), " \
	"  'monetizationAttributes', NULL, 'throttlingPolicyPermissions', NULL)"

/* One policy per name: the tenant's own before the built-in. */
#define POLICIES_OF \
	"SELECT DISTINCT ON (name) * FROM gh_throttle_policies WHERE kind = $1 AND tenant IN ('*', $2) " \
	"ORDER BY name, tenant = '*'"

/* The level of the route and the tenant whose tiers apply.  0, -1 replied. */
static int
level_of(struct gh_call *c, const struct portal_viewer *v, const char **level, const char **tenant)
{
	*level = gh_call_param(c, "policyLevel");
	if (strcmp(*level, "subscription") != 0 && strcmp(*level, "application") != 0) {
		gh_reply_error(c, 400, "Bad Request", "policyLevel must be subscription or application");
		return -1;
	}
	*tenant = strcmp(*level, "application") == 0 && !v->anon ? v->p.tenant : v->browse;
	return 0;
}

static void
policies_list(struct gh_call *c, struct gh_pg *db)
{
	struct portal_viewer v;
	int64_t limit, offset;
	char lim[24], off[24];
	const char *p[4];

	if (portal_viewer_begin(c, db, &v, PORTAL_ANON_OK, NULL) != 0)
		return;
	if (level_of(c, &v, &p[0], &p[1]) != 0 || portal_page(c, &limit, &offset) != 0)
		goto out;
	p[2] = gh_pg_i64(lim, limit);
	p[3] = gh_pg_i64(off, offset);
	portal_reply_page(c, db, "The throttling policies could not be listed", limit, offset,
	    "WITH v AS (" POLICIES_OF ") "
	    "SELECT (SELECT count(*) FROM v), coalesce((SELECT jsonb_agg(" POLICY_OBJECT " ORDER BY t.name) "
	    "  FROM (SELECT * FROM v ORDER BY name LIMIT $3::bigint OFFSET $4::bigint) t), '[]')::text", 4, p);
out:
	portal_viewer_end(&v);
}

static void
policies_get(struct gh_call *c, struct gh_pg *db)
{
	struct portal_viewer v;
	const char *p[3];
	PGresult *res = NULL;

	if (portal_viewer_begin(c, db, &v, PORTAL_ANON_OK, NULL) != 0)
		return;
	if (level_of(c, &v, &p[0], &p[1]) != 0)
		goto out;
	p[2] = gh_call_param(c, "policyId");
	res = gh_pg_exec(db, "SELECT " POLICY_OBJECT "::text FROM (" POLICIES_OF ") t WHERE t.name = $3", 3, p);
	if (res == NULL)
		portal_db_error(c, db, "The throttling policy could not be read");
	else if (gh_pg_nrows(res) != 1)
		gh_reply_error(c, 404, "Not Found", "No throttling policy of this level has this name");
	else
		gh_reply_raw(c, 200, "application/json", gh_pg_get(res, 0, 0), strlen(gh_pg_get(res, 0, 0)));
out:
	PQclear(res);
	portal_viewer_end(&v);
}

void
portal_policy_routes(struct gh_router *r)
{
	gh_call_route(r, "GET", PORTAL_BASE "/throttling-policies/{policyLevel}", policies_list);
	gh_call_route(r, "GET", PORTAL_BASE "/throttling-policies/{policyLevel}/{policyId}", policies_get);
}
