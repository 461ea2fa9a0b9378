/*
 * Sign-in and sign-out of the developer portal's web UI: the portal's
 * description for the shared web routes (pg/gh_web.h, web_login.c: page,
 * assets, session probe, authorization code + PKCE sign-in as the
 * gatehouse-devportal client, logout) and what is the portal's own: a
 * sign-in started from /devportal/t/{tenant}/ (GET
 * /devportal/login?tenant=T) comes back to that tenant's pages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portal/portal_int.h"
#include "portal/ui.h"

#define LOGIN_SCOPE "apim:subscribe apim:app_manage apim:sub_manage apim:api_key"

/* After sign-in: the tenant's pages (?tenant=T) or /devportal/. */
static int
login_return(struct gh_call *c, char *out, size_t cap)
{
	char *tenant = gh_call_query(c, "tenant");
	int rc = -1;

	if (tenant != NULL && (tenant[0] == '\0' || !gh_ldap_tenant_valid(tenant))) {
		portal_ui_error_page(c, 400, "Unknown tenant", "The tenant in the address is not a domain name.");
		goto out;
	}
	if (tenant != NULL && strcmp(tenant, GH_LDAP_SUPER_TENANT) != 0)
		snprintf(out, cap, "/devportal/t/%s/", tenant);
	else
		snprintf(out, cap, "/devportal/");
	rc = 0;
out:
	free(tenant);
	return rc;
}

static struct gh_web_ui ui = {
	.ui = "devportal",
	.prefix = "/devportal",
	.title = "developer portal",
	.cookie = PORTAL_UI_COOKIE,
	.login_cookie = PORTAL_UI_LOGIN_COOKIE,
	.scope = LOGIN_SCOPE,
	.component = PORTAL_COMPONENT,
	.assets = portal_web_assets,
	.login_return = login_return,
};

void
portal_ui_login_routes(struct gh_router *r)
{
	ui.km_url = portal.km_url;
	ui.tls_km = portal.tls_km;
	ui.mauth = portal.mauth;
	ui.nassets = portal_web_assets_count;
	gh_web_ui_routes(r, &ui);
}
