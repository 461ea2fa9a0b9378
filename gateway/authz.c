/*
 * The authorization phase, a flat list of checks each answering with
 * WSO2's status and code: the API's state (BLOCKED 503 700700) and its
 * tenant active (403 900908); then, for authenticated operations, the
 * caller's tenant active (401 900901: its tokens stop working), the
 * caller's tenant allowed to use the API (the API's own tenant,
 * ALL_TENANTS, or listed in SPECIFIC_TENANTS; 403 900908), for
 * applications an unblocked subscription (403 900908, 900907 when
 * blocked), and the operation's scopes (403 900910): in the token's
 * scope for applications, bound to one of the user's roles for Basic
 * callers.  Sets r->sub.  The sandbox/production endpoint choice is the
 * proxy's (r->who.key_type).
 */
#include <stdio.h>
#include <string.h>

#include "core/gh_log.h"
#include "gateway/auth.h"

static enum gw_rc
forbidden(struct gw_req *r, const char *description)
{
	return gw_reply_error(r, 403, 900908, "Resource forbidden", description);
}

/* 1 when tenant may use api (subscriptionAvailability). */
static int
tenant_may_use(const struct gw_api *api, const char *tenant)
{
	if (tenant == NULL || tenant[0] == '\0')
		return 0;
	if (api->tenant != NULL && strcmp(api->tenant, tenant) == 0)
		return 1;
	if (api->avail == GW_AVAIL_ALL_TENANTS)
		return 1;
	if (api->avail == GW_AVAIL_SPECIFIC_TENANTS)
		for (size_t i = 0; api->avail_tenants != NULL && api->avail_tenants[i] != NULL; i++)
			if (strcmp(api->avail_tenants[i], tenant) == 0)
				return 1;
	return 0;
}

/* 1 when the space-separated list holds word. */
static int
has_word(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; p != NULL && *p != '\0';) {
		const char *end;

		while (*p == ' ')
			p++;
		end = strchr(p, ' ');
		if (end == NULL)
			end = p + strlen(p);
		if ((size_t)(end - p) == n && n > 0 && memcmp(p, word, n) == 0)
			return 1;
		p = end;
	}
	return 0;
}

/* 1 when the API binds scope to one of roles. */
static int
scope_by_role(const struct gw_api *api, const char *scope, char *const *roles)
{
	for (size_t i = 0; api->scope_names != NULL && api->scope_names[i] != NULL; i++) {
		if (strcmp(api->scope_names[i], scope) != 0)
			continue;
		for (size_t j = 0; api->scope_roles != NULL && api->scope_roles[i] != NULL &&
		    api->scope_roles[i][j] != NULL; j++)
			for (size_t k = 0; roles != NULL && roles[k] != NULL; k++)
				if (strcmp(api->scope_roles[i][j], roles[k]) == 0)
					return 1;
	}
	return 0;
}

/* The operation's scopes the caller lacks, space-separated into out; 0 when none is missing. */
static int
missing_scopes(const struct gw_req *r, char *out, size_t cap)
{
	const struct gw_operation *op = r->match.op;
	size_t at = 0;
	int n = 0;

	out[0] = '\0';
	for (size_t i = 0; op->scopes != NULL && op->scopes[i] != NULL; i++) {
		const char *s = op->scopes[i];
		int ok = r->who.kind == 4 ? scope_by_role(r->match.api, s, r->who.roles) : has_word(r->who.scope, s);

		if (ok)
			continue;
		n++;
		if (at + strlen(s) + 2 < cap && strchr(s, '"') == NULL) {
			at += (size_t)snprintf(out + at, cap - at, "%s%s", at ? " " : "", s);
		}
	}
	return n;
}

static enum gw_rc
insufficient_scope(struct gw_req *r, const char *scopes)
{
	char hdr[1200];

	if (r->http != NULL) {
		snprintf(hdr, sizeof(hdr), "Bearer realm=\"%s\", error=\"insufficient_scope\", scope=\"%s\"",
		    GW_REALM, scopes);
		gh_http_resp_header(r->http, "WWW-Authenticate", hdr);
	}
	return gw_reply_error(r, 403, 900910, "The access token does not allow you to access the requested resource",
	    "User is NOT authorized to access the Resource: the scope of the operation is not granted");
}

enum gw_rc
gw_phase_authz(struct gw_req *r)
{
	const struct gw_api *api = r->match.api;
	const struct gw_operation *op = r->match.op;
	const char *app_tenant;
	const struct gw_sub *sub;
	char scopes[1024], hdr[256];

	if (api == NULL)
		return GW_DECLINED;
	if (api->state == GW_API_BLOCKED)
		return gw_reply_error(r, 503, 700700, "API blocked",
		    "This API has been blocked temporarily. Please try again later or contact the system administrators.");
	if (api->state == GW_API_RETIRED)
		return gw_reply_error(r, 404, 404, "Not Found", "No matching resource found for given API Request");
	if (!gw_store_tenant_active(r->store, api->tenant))
		return forbidden(r, "The tenant of the API is not active");
	if (op == NULL || op->no_auth)
		return GW_OK;
	if (r->who.kind == 0)
		return gw_reply_error(r, 401, 900902, "Missing Credentials", "The request was not authenticated");
	if (!gw_store_tenant_active(r->store, r->who.tenant)) {
		if (r->http != NULL) {
			snprintf(hdr, sizeof(hdr), "Bearer realm=\"%s\", error=\"invalid_token\", "
			    "error_description=\"The caller's tenant is not active\"", GW_REALM);
			gh_http_resp_header(r->http, "WWW-Authenticate", hdr);
		}
		return gw_reply_error(r, 401, 900901, "Invalid Credentials", "The caller's tenant is not active");
	}
	if (r->who.kind == 4) {
		/* Basic: the LDAP user; no subscription, the API's roles and scopes */
		if (!tenant_may_use(api, r->who.tenant))
			return forbidden(r, "User is NOT authorized to access the Resource. "
			    "The API is not available to the user's tenant.");
		if (missing_scopes(r, scopes, sizeof(scopes)) > 0)
			return insufficient_scope(r, scopes);
		return GW_OK;
	}
	if (r->app == NULL || r->who.app_id[0] == '\0')
		return forbidden(r, "User is NOT authorized to access the Resource. API Subscription validation failed.");
	app_tenant = r->app->tenant != NULL && r->app->tenant[0] != '\0' ? r->app->tenant : r->who.tenant;
	if (!tenant_may_use(api, app_tenant))
		return forbidden(r, "User is NOT authorized to access the Resource. "
		    "The API is not available to the application's tenant.");
	sub = gw_store_sub(r->store, r->who.app_id, api->id);
	if (sub == NULL)
		return forbidden(r, "User is NOT authorized to access the Resource. API Subscription validation failed.");
	if (sub->state == GW_SUB_BLOCKED ||
	    (sub->state == GW_SUB_PROD_ONLY_BLOCKED && strcmp(r->who.key_type, "SANDBOX") != 0))
		return gw_reply_error(r, 403, 900907, "The requested API is temporarily blocked",
		    "The subscription to the API is blocked");
	if (missing_scopes(r, scopes, sizeof(scopes)) > 0)
		return insufficient_scope(r, scopes);
	r->sub = sub;
	return GW_OK;
}
