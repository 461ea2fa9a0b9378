/*
 * The DevPortal REST API's internal contract (the files of portal/ beside main.c
 * and mgmt.c).  A call starts with portal_viewer_begin: the site of its
 * Host header, the caller (management token, or anonymous where allowed),
 * the tenant whose APIs it browses (X-WSO2-Tenant) and the caller's roles
 * from LDAP.  What a viewer may see of the APIs is one SQL condition
 * (PORTAL_API_VISIBLE) so that listing, reading and subscribing agree.
 * Applications, subscriptions and keys then work on what the viewer owns
 * or shares (portal_app_load).
 */
#ifndef PORTAL_INT_H
#define PORTAL_INT_H

#include <stdint.h>

#include "portal/portal.h"

#define PORTAL_BASE "/api/am/devportal/v3"
#define PORTAL_COMPONENT "portal"

/* ---- who calls, from where, browsing what (visibility.c) ---- */

struct portal_viewer {
	const struct portal_site *site;
	int anon;                       /* no Authorization header (anonymous allowed) */
	struct gh_principal p;          /* the caller (zeroed when anon) */
	char browse[256];               /* tenant whose APIs are browsed */
	int browse_given;               /* X-WSO2-Tenant was sent */
	char **roles;                   /* caller's LDAP groups (NULL-terminated; NULL when anon) */
	char *roles_json;               /* the same as a JSON array ("[]" when anon) */
	char *envs;                     /* the site's environments, comma-separated; NULL: every one */
};

/* Caller requirements of portal_viewer_begin. */
#define PORTAL_ANON_OK 0x1              /* no token: anonymous (a token given must still be valid) */

/*
 * Start a call: the site (404 when none serves the Host), the caller
 * (token with apim:subscribe or scope; anonymous when flags allow and no
 * Authorization header came), the browsed tenant (404 when unknown or
 * inactive) and the caller's roles (503 when LDAP is down).  0 with v
 * filled (release with portal_viewer_end), -1 when it has replied.
 */
int portal_viewer_begin(struct gh_call *c, struct gh_pg *db, struct portal_viewer *v, int flags,
    const char *scope);

/* Release what portal_viewer_begin filled.  Safe on a zeroed viewer. */
void portal_viewer_end(struct portal_viewer *v);

/*
 * The first four parameters of PORTAL_API_VISIBLE for v: browsed tenant
 * (NULL when any_tenant: subscriptions name an API of any tenant), the
 * caller's tenant (NULL anonymous), its roles (JSON), the site's
 * environments.  p must hold 4 entries; the strings are v's.
 */
void portal_vis_params(const struct portal_viewer *v, int any_tenant, const char **p);

/*
 * SQL condition on gh_apis a: the API is of the browsed tenant ($1, NULL
 * any), PUBLISHED, DEPRECATED or PROTOTYPED, deployed with
 * display_on_devportal to an environment of the site ($4, NULL every
 * one), available to the caller's tenant ($2, NULL anonymous:
 * subscriptionAvailability) and visible to it (PUBLIC; PRIVATE for the
 * API's tenant; RESTRICTED for the API's tenant's users holding one of
 * visibleRoles, roles as JSON in $3).
 */
#define PORTAL_JARR(x) "coalesce(CASE WHEN jsonb_typeof(" x ") = 'array' THEN " x " END, '[]'::jsonb)"
#define PORTAL_API_VISIBLE \
	"($1::text IS NULL OR a.tenant = $1) " \
	"AND a.status IN ('PUBLISHED', 'DEPRECATED', 'PROTOTYPED') " \
	"AND EXISTS (SELECT 1 FROM gh_deployments d WHERE d.api_id = a.id AND d.display_on_devportal " \
	"  AND ($4::text IS NULL OR d.environment = ANY (string_to_array($4::text, ',')))) " \
	"AND (($2::text IS NULL AND coalesce(a.definition->>'visibility', 'PUBLIC') = 'PUBLIC') " \
	"  OR ($2::text IS NOT NULL " \
	"    AND (a.tenant = $2 OR a.definition->>'subscriptionAvailability' = 'ALL_TENANTS' " \
	"      OR (a.definition->>'subscriptionAvailability' = 'SPECIFIC_TENANTS' " \
	"        AND " PORTAL_JARR("a.definition->'subscriptionAvailableTenants'") " ? $2::text)) " \
	"    AND (coalesce(a.definition->>'visibility', 'PUBLIC') = 'PUBLIC' " \
	"      OR (a.tenant = $2 AND a.definition->>'visibility' = 'PRIVATE') " \
	"      OR (a.tenant = $2 AND a.definition->>'visibility' = 'RESTRICTED' AND EXISTS (" \
	"        SELECT 1 FROM jsonb_array_elements_text(" PORTAL_JARR("a.definition->'visibleRoles'") ") vr " \
	"        WHERE lower(vr) IN (SELECT lower(x) FROM jsonb_array_elements_text($3::jsonb) x))))))"

/* SQL: WSO2's APIInfo for gh_apis a. */
#define PORTAL_API_INFO_OBJECT \
	"jsonb_build_object('id', a.id, 'name', a.name, " \
	"  'description', coalesce(a.definition->>'description', ''), 'context', a.context, " \
	"  'version', a.version, 'type', coalesce(a.definition->>'type', 'HTTP'), 'provider', a.provider, " \
	"  'lifeCycleStatus', a.status, 'throttlingPolicies', " PORTAL_JARR("a.definition->'policies'") ", " \
	"  'tags', " PORTAL_JARR("a.definition->'tags'") ", " \
	"  'businessInformation', coalesce(a.definition->'businessInformation', '{}'::jsonb), " \
	"  'isSubscriptionAvailable', a.status = 'PUBLISHED', 'avgRating', '0.0', " \
	"  'advertiseInfo', jsonb_build_object('advertised', false), " \
	"  'createdTime', (extract(epoch FROM a.created_at) * 1000)::bigint::text, " \
	"  'updatedTime', (extract(epoch FROM a.updated_at) * 1000)::bigint::text)"

/* SQL: gh_applications p is the caller's ($1 tenant, $2 user) or shared with its groups ($3 JSON). */
#define PORTAL_APP_VISIBLE \
	"p.tenant = $1 AND (p.owner = $2 OR p.groups && ARRAY(SELECT jsonb_array_elements_text($3::jsonb)))"

/* SQL: WSO2's Application for gh_applications p (no keys). */
#define PORTAL_APP_OBJECT \
	"jsonb_build_object('applicationId', p.id, 'name', p.name, 'throttlingPolicy', p.tier, " \
	"  'description', p.description, 'tokenType', CASE p.token_type WHEN 'OPAQUE' THEN 'OAUTH' " \
	"  ELSE p.token_type END, 'status', p.status, 'groups', to_jsonb(p.groups), " \
	"  'subscriptionCount', (SELECT count(*) FROM gh_subscriptions s WHERE s.app_id = p.id), " \
	"  'attributes', p.attributes, 'owner', p.owner, 'subscriptionScopes', '[]'::jsonb, " \
	"  'hashEnabled', false, 'createdTime', (extract(epoch FROM p.created_at) * 1000)::bigint::text, " \
	"  'updatedTime', (extract(epoch FROM p.updated_at) * 1000)::bigint::text)"

/* 1 when v (authenticated) holds role (exact name). */
int portal_viewer_has_role(const struct portal_viewer *v, const char *role);

/* ---- applications (applications.c) ---- */

struct portal_app {
	char id[64], name[128], owner[320], tenant[256], tier[80], token_type[16];
	int is_owner;                   /* the caller owns it (else it is shared with a group of its) */
};

/*
 * Load application id if the viewer owns it or shares it through one of
 * its groups (lock: SELECT ... FOR UPDATE, inside a transaction).  0
 * loaded; 1 not found (nothing replied); -1 database error (SQLSTATE on db).
 */
int portal_app_find(struct gh_pg *db, const struct portal_viewer *v, const char *id, int lock,
    struct portal_app *a);

/* portal_app_find that replies 404/500 itself: 0 loaded, -1 replied. */
int portal_app_load(struct gh_call *c, struct gh_pg *db, const struct portal_viewer *v, const char *id,
    struct portal_app *a);

/* SQL: the Application of FEED.md for gh_applications p (with its keys). */
#define PORTAL_RT_APP_OBJECT \
	"jsonb_build_object('id', p.id, 'name', p.name, 'tenant', p.tenant, 'owner', p.owner, " \
	"  'tier', p.tier, 'tokenType', p.token_type, 'keys', coalesce((SELECT jsonb_agg(" \
	"  jsonb_build_object('consumerKey', k.client_id, 'keyType', k.key_type) ORDER BY k.key_type) " \
	"  FROM gh_oauth_clients k WHERE k.app_id = p.id), '[]'))"

/* SQL: WSO2's ApplicationKey for gh_oauth_clients k (never the secret). */
#define PORTAL_KEY_OBJECT \
	"jsonb_build_object('keyMappingId', k.client_id, 'keyManager', 'Resident Key Manager', " \
	"  'consumerKey', k.client_id, 'supportedGrantTypes', to_jsonb(k.grant_types), " \
	"  'callbackUrl', k.callback_url, 'keyState', 'COMPLETED', 'keyType', k.key_type, " \
	"  'mode', 'CREATED', 'token', NULL, 'additionalProperties', jsonb_build_object(" \
	"  'application_access_token_expiry_time', coalesce(k.validity_seconds::text, 'N/A')))"

/* SQL: the Subscription of FEED.md for gh_subscriptions s. */
#define PORTAL_RT_SUB_OBJECT \
	"jsonb_build_object('id', s.id, 'apiId', s.api_id, 'applicationId', s.app_id, " \
	"  'tenant', s.tenant, 'apiTenant', s.api_tenant, 'tier', s.tier, 'status', s.status)"

/*
 * Append a subscription event (type) for subscription id, visible to the
 * environments its API is deployed to; with_app adds "application".  In
 * the caller's transaction, after the change (the row must still exist:
 * call it before deleting).  0 or -1 (SQLSTATE on db).
 */
int portal_event_subscription(struct gh_pg *db, const char *id, const char *type, int with_app);

/* ---- request helpers (request.c) ---- */

/* Text rules of portal_str. */
#define PORTAL_STR_REQUIRED 0x1         /* absent, null or empty: 400 */
#define PORTAL_STR_NAME     0x2         /* letters, digits, space, '_', '.', '-' only */

/*
 * Member key of o as a string of at most max bytes, valid UTF-8 without
 * control characters (flags above).  0 with *out (NULL when absent or
 * null and not required), -1 when it replied 400 naming the member.
 */
int portal_str(struct gh_call *c, struct json_object *o, const char *key, size_t max, int flags,
    const char **out);

/*
 * limit (default 25, 1..1000) and offset (default 0, 0..1000000) query
 * parameters.  0, or -1 when it replied 400.
 */
int portal_page(struct gh_call *c, int64_t *limit, int64_t *offset);

/*
 * WSO2's list envelope {count, list, pagination:{offset, limit, total,
 * next, previous}}; list is taken (NULL: empty).  New reference.
 */
struct json_object *portal_list(struct json_object *list, int64_t total, int64_t limit, int64_t offset);

/*
 * Run sql (n parameters p), whose one row is (total count, JSON array text
 * of the page), and reply 200 with portal_list of it; on a database error
 * reply portal_db_error with what.
 */
void portal_reply_page(struct gh_call *c, struct gh_pg *db, const char *what, int64_t limit, int64_t offset,
    const char *sql, int n, const char *const *p);

/* The one text value of a one-row query, malloc'd; NULL on error or no row (SQLSTATE on db). */
char *portal_one_text(struct gh_pg *db, const char *sql, int n, const char *const *p);

/* Parse JSON text from the database into a new reference (NULL: json null). */
struct json_object *portal_json_text(const char *s);

/* Reply 500 (503 when the database is unreachable) after a failed statement, and log it. */
void portal_db_error(struct gh_call *c, struct gh_pg *db, const char *what);

/* An audit row (component portal) by v's caller, on db as is (inside the change's transaction). */
void portal_audit(struct gh_pg *db, const struct gh_call *c, const struct portal_viewer *v,
    const char *action, const char *target, struct json_object *details);

/* Reply status with body o (put here). */
void portal_reply(struct gh_call *c, int status, struct json_object *o);

/* ---- key manager (km.c) ---- */

/*
 * portal_km_call with a json-c body (borrowed, may be NULL); *resp gets
 * the parsed reply object (NULL when none or not JSON; caller puts).
 * Returns the HTTP status, 0 when unreachable.
 */
int portal_km_json(const char *method, const char *path, struct json_object *body,
    struct json_object **resp);

/*
 * Reply to c after the key manager answered status with resp: 503 when
 * it could not be reached or failed (5xx), its 4xx status and description
 * otherwise.
 */
void portal_km_error(struct gh_call *c, int status, struct json_object *resp, const char *what);

/* ---- route tables of the modules ---- */

void portal_api_browse_routes(struct gh_router *r);     /* apis.c */
void portal_application_routes(struct gh_router *r);    /* applications.c */
void portal_key_routes(struct gh_router *r);            /* keys.c */
void portal_subscription_routes(struct gh_router *r);   /* subscriptions.c */
void portal_policy_routes(struct gh_router *r);         /* policies.c */

#endif
