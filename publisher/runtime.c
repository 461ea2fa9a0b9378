/*
 * RuntimeApi, Subscription and Application as gateways see them
 * (publisher/FEED.md), built in SQL with jsonb so that the snapshot and
 * the events are rendered by one piece of code.  The RuntimeApi comes from
 * the deployed revision's frozen definition plus the API's current state
 * and the deployment's environment and vhost.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "publisher/runtime.h"

#define RT_API_SELECT \
	"SELECT coalesce(jsonb_agg(jsonb_build_object(" \
	"  'id', a.id, 'tenant', a.tenant, 'name', a.name, 'context', a.context, 'version', a.version," \
	"  'isDefaultVersion', a.is_default_version, 'lifeCycleStatus', a.status," \
	"  'revisionId', d.revision_id, 'environment', d.environment, 'vhost', d.vhost," \
	"  'type', coalesce(r.definition->'type', '\"HTTP\"')," \
	"  'transport', coalesce(r.definition->'transport', '[\"http\", \"https\"]')," \
	"  'securityScheme', coalesce(r.definition->'securityScheme', '[\"oauth2\"]')," \
	"  'policies', coalesce(r.definition->'policies', '[]')," \
	"  'apiThrottlingPolicy', r.definition->'apiThrottlingPolicy'," \
	"  'subscriptionAvailability', coalesce(r.definition->'subscriptionAvailability', '\"CURRENT_TENANT\"')," \
	"  'subscriptionAvailableTenants', coalesce(r.definition->'subscriptionAvailableTenants', '[]')," \
	"  'endpointConfig', r.definition->'endpointConfig'," \
	"  'operations', coalesce(r.definition->'operations', '[]')," \
	"  'scopes', coalesce(r.definition->'scopes', '[]')," \
	"  'corsConfiguration', r.definition->'corsConfiguration'," \
	"  'geoRestriction', r.definition->'geoRestriction'," \
	"  'maxRequestBodyBytes', r.definition->'maxRequestBodyBytes'," \
	"  'backendJwt', coalesce(r.definition->'backendJwt', 'false')) ORDER BY a.id), '[]')::text " \
	"FROM gh_deployments d JOIN gh_apis a ON a.id = d.api_id " \
	"JOIN gh_api_revisions r ON r.id = d.revision_id " \
	"WHERE d.environment = $1 AND ($2::text IS NULL OR a.id = $2) AND a.status <> 'RETIRED'"

#define RT_SUB_OBJECT \
	"jsonb_build_object('id', s.id, 'apiId', s.api_id, 'applicationId', s.app_id, " \
	"  'tenant', s.tenant, 'apiTenant', s.api_tenant, 'tier', s.tier, 'status', s.status)"

#define RT_APP_OBJECT \
	"jsonb_build_object('id', p.id, 'name', p.name, 'tenant', p.tenant, 'owner', p.owner, " \
	"  'tier', p.tier, 'tokenType', p.token_type, 'keys', coalesce((SELECT jsonb_agg(" \
	"  jsonb_build_object('consumerKey', k.client_id, 'keyType', k.key_type) ORDER BY k.key_type) " \
	"  FROM gh_oauth_clients k WHERE k.app_id = p.id), '[]'))"

/* The one text value of a one-row, one-column query, malloc'd; NULL on error. */
static char *
one_text(struct gh_pg *db, const char *sql, int n, const char *const *p)
{
	PGresult *res = gh_pg_exec(db, sql, n, p);
	char *out = NULL;

	if (res == NULL)
		return NULL;
	if (gh_pg_nrows(res) != 1 || gh_pg_get(res, 0, 0) == NULL)
		gh_pg_set_error(db, "02000", "no row");
	else if ((out = strdup(gh_pg_get(res, 0, 0))) == NULL)
		gh_pg_set_error(db, GH_PG_SQLSTATE_NOMEM, "out of memory");
	PQclear(res);
	return out;
}

char *
pub_rt_apis(struct gh_pg *db, const char *env, const char *api_id)
{
	const char *p[2] = { env, api_id };

	return one_text(db, RT_API_SELECT, 2, p);
}

char *
pub_rt_subscriptions(struct gh_pg *db, const char *env, const char *api_id)
{
	const char *p[2] = { env, api_id };

	return one_text(db, "SELECT coalesce(jsonb_agg(" RT_SUB_OBJECT " ORDER BY s.id), '[]')::text "
	    "FROM gh_subscriptions s JOIN gh_deployments d ON d.api_id = s.api_id AND d.environment = $1 "
	    "JOIN gh_apis a ON a.id = s.api_id AND a.status <> 'RETIRED' "
	    "WHERE $2::text IS NULL OR s.api_id = $2", 2, p);
}

char *
pub_rt_applications(struct gh_pg *db, const char *env, const char *api_id)
{
	const char *p[2] = { env, api_id };

	return one_text(db, "SELECT coalesce(jsonb_agg(" RT_APP_OBJECT " ORDER BY p.id), '[]')::text "
	    "FROM gh_applications p WHERE p.id IN (SELECT s.app_id FROM gh_subscriptions s "
	    "JOIN gh_deployments d ON d.api_id = s.api_id AND d.environment = $1 "
	    "JOIN gh_apis a ON a.id = s.api_id AND a.status <> 'RETIRED' "
	    "WHERE $2::text IS NULL OR s.api_id = $2)", 2, p);
}

char *
pub_rt_api_environments(struct gh_pg *db, const char *api_id)
{
	const char *p[1] = { api_id };

	return one_text(db, "SELECT coalesce(jsonb_agg(environment ORDER BY environment), '[]')::text "
	    "FROM gh_deployments WHERE api_id = $1", 1, p);
}

int
pub_rt_event_deployed(struct gh_pg *db, const char *tenant, const char *api_id, const char *env)
{
	char *apis = pub_rt_apis(db, env, api_id);
	char *subs = apis ? pub_rt_subscriptions(db, env, api_id) : NULL;
	char *apps = subs ? pub_rt_applications(db, env, api_id) : NULL;
	const char *p[4] = { env, apis, subs, apps };
	char *payload = NULL, *envs = NULL;
	int rc = -1;

	if (apps == NULL)
		goto out;
	/* apis is an array of one, or empty when the API is RETIRED: nothing to announce. */
	if (strcmp(apis, "[]") == 0) {
		rc = 0;
		goto out;
	}
	payload = one_text(db, "SELECT jsonb_build_object('environment', $1::text, 'api', $2::jsonb->0, "
	    "'subscriptions', $3::jsonb, 'applications', $4::jsonb)::text", 4, p);
	envs = one_text(db, "SELECT jsonb_build_array($1::text)::text", 1, p);
	if (payload == NULL || envs == NULL)
		goto out;
	rc = gh_outbox_append_env(db, tenant, "api.deployed", payload, envs, NULL);
out:
	free(apis);
	free(subs);
	free(apps);
	free(payload);
	free(envs);
	return rc;
}

int
pub_rt_event_undeployed(struct gh_pg *db, const char *tenant, const char *api_id, const char *env)
{
	const char *p[3] = { env, api_id, tenant };
	char *payload = one_text(db, "SELECT jsonb_build_object('environment', $1::text, 'apiId', $2::text, "
	    "'tenant', $3::text)::text", 3, p);
	char *envs = payload ? one_text(db, "SELECT jsonb_build_array($1::text)::text", 1, p) : NULL;
	int rc = -1;

	if (envs != NULL)
		rc = gh_outbox_append_env(db, tenant, "api.undeployed", payload, envs, NULL);
	free(payload);
	free(envs);
	return rc;
}

int
pub_rt_event_api(struct gh_pg *db, const char *tenant, const char *api_id, const char *type,
    const char *payload_json)
{
	char *envs = pub_rt_api_environments(db, api_id);
	int rc = -1;

	if (envs != NULL)
		rc = gh_outbox_append_env(db, tenant, type, payload_json, envs, NULL);
	free(envs);
	return rc;
}
