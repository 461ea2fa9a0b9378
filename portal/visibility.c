/*
 * Who is calling and what it may see (DESIGN.md "Tokens, tenants and
 * audiences").  An authenticated caller acts in its token's tenant; the
 * X-WSO2-Tenant header only chooses whose APIs it browses (default: its
 * own tenant, carbon.super for anonymous callers).  The site comes from
 * the Host header; a host no site serves gets 404 for everything.  The
 * caller's roles are its LDAP groups in its tenant, read on each call
 * (no cache: a role taken away takes effect at once).
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gh_log.h"
#include "portal/portal_int.h"
#include "pg/gh_web.h"

/* The site's environments as "Env1,Env2" (NULL: every one).  -1 out of memory. */
static int
site_envs(const struct portal_site *s, char **out)
{
	size_t len = 1;
	char *p;

	*out = NULL;
	if (s->all_envs)
		return 0;
	for (size_t i = 0; i < s->nenvs; i++)
		len += strlen(s->envs[i]) + 1;
	p = calloc(1, len);
	if (p == NULL)
		return -1;
	for (size_t i = 0; i < s->nenvs; i++) {
		if (i > 0)
			strcat(p, ",");
		strcat(p, s->envs[i]);
	}
	*out = p;
	return 0;
}

static int
caller(struct gh_call *c, struct gh_pg *db, struct portal_viewer *v, int flags, const char *scope)
{
	char desc[200];

	/* credentials: a Bearer token, or the web UI's session cookie (pg/gh_web.h) */
	if (!gh_web_has_credentials(c) && (flags & PORTAL_ANON_OK)) {
		v->anon = 1;
		return 0;
	}
	if (gh_call_auth(c, db, portal.mauth, NULL, &v->p) != 0)
		return -1;
	if (scope != NULL && !gh_principal_has_scope(&v->p, "apim:subscribe") &&
	    !gh_principal_has_scope(&v->p, scope)) {
		snprintf(desc, sizeof(desc), "The access token does not allow this operation "
		    "(scope apim:subscribe or %s required)", scope);
		gh_reply_error(c, 403, "Forbidden", desc);
		return -1;
	}
	return 0;
}

static int
browse_tenant(struct gh_call *c, struct gh_pg *db, struct portal_viewer *v)
{
	const char *h = gh_call_header(c, "X-WSO2-Tenant");
	const char *p[1];
	char *dom;

	v->browse_given = h != NULL;
	if (h == NULL) {
		snprintf(v->browse, sizeof(v->browse), "%s", v->anon ? GH_LDAP_SUPER_TENANT : v->p.tenant);
		return 0;
	}
	p[0] = h;
	if (!gh_ldap_tenant_valid(h)) {
		gh_reply_error(c, 404, "Not Found", "X-WSO2-Tenant names no active tenant");
		return -1;
	}
	dom = portal_one_text(db, "SELECT domain FROM gh_tenants WHERE lower(domain) = lower($1) "
	    "AND status = 'active'", 1, p);
	if (dom == NULL) {
		if (strcmp(gh_pg_sqlstate(db), "02000") == 0)
			gh_reply_error(c, 404, "Not Found", "X-WSO2-Tenant names no active tenant");
		else
			portal_db_error(c, db, "The tenant could not be read");
		return -1;
	}
	snprintf(v->browse, sizeof(v->browse), "%s", dom);
	free(dom);
	return 0;
}

static int
caller_roles(struct gh_call *c, struct portal_viewer *v)
{
	struct gh_ldap *ld;
	struct json_object *a;
	size_t n = 0;
	int rc;

	if (v->anon) {
		v->roles_json = strdup("[]");
		return v->roles_json != NULL ? 0 : -1;
	}
	ld = gh_ldap_thread(&portal.ldap_cfg);
	rc = ld != NULL ? gh_ldap_user_roles(ld, v->p.tenant, v->p.user, &v->roles, &n) : GH_LDAP_ERROR;
	if (rc == GH_LDAP_NOT_FOUND) {
		v->roles = calloc(1, sizeof(char *));
		rc = v->roles != NULL ? GH_LDAP_OK : GH_LDAP_ERROR;
	}
	if (rc != GH_LDAP_OK) {
		gh_log_error("ldap", c->request_id, "roles of %s: %s", v->p.sub, gh_ldap_rc_str(rc));
		gh_reply_error(c, 503, "Service Unavailable", "The user store is unavailable");
		return -1;
	}
	a = json_object_new_array();
	for (size_t i = 0; v->roles[i] != NULL; i++)
		json_object_array_add(a, json_object_new_string(v->roles[i]));
	v->roles_json = strdup(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
	json_object_put(a);
	return v->roles_json != NULL ? 0 : -1;
}

int
portal_viewer_begin(struct gh_call *c, struct gh_pg *db, struct portal_viewer *v, int flags,
    const char *scope)
{
	memset(v, 0, sizeof(*v));
	v->site = portal_site_for(c);
	if (v->site == NULL) {
		gh_reply_error(c, 404, "Not Found", "No portal site is served at this host name");
		return -1;
	}
	if (caller(c, db, v, flags, scope) != 0 || browse_tenant(c, db, v) != 0)
		goto fail;
	if (caller_roles(c, v) != 0 || site_envs(v->site, &v->envs) != 0) {
		if (c->status == 0)
			gh_reply_error(c, 500, "Internal Server Error", "Out of memory");
		goto fail;
	}
	return 0;
fail:
	portal_viewer_end(v);
	return -1;
}

void
portal_viewer_end(struct portal_viewer *v)
{
	gh_principal_clear(&v->p);
	gh_ldap_strv_free(v->roles);
	free(v->roles_json);
	free(v->envs);
	v->roles = NULL;
	v->roles_json = NULL;
	v->envs = NULL;
}

void
portal_vis_params(const struct portal_viewer *v, int any_tenant, const char **p)
{
	p[0] = any_tenant ? NULL : v->browse;
	p[1] = v->anon ? NULL : v->p.tenant;
	p[2] = v->roles_json;
	p[3] = v->envs;
}

int
portal_viewer_has_role(const struct portal_viewer *v, const char *role)
{
	for (size_t i = 0; v->roles != NULL && v->roles[i] != NULL; i++)
		if (strcmp(v->roles[i], role) == 0)
			return 1;
	return 0;
}
