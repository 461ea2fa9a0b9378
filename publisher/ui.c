/*
 * The publisher console's web routes: the publisher's description for the
 * shared web routes (pg/gh_web.h, web_login.c): the page and assets under
 * /publisher/, the session probe, sign-in by authorization code + PKCE as
 * the gatehouse-publisher-console client (registered by gatehouse init)
 * asking for the management scopes an API owner or admin may hold (the
 * key manager grants those of the user's roles), and logout.
 */
#include "publisher/pub.h"
#include "publisher/ui.h"

#define LOGIN_SCOPE \
	"apim:api_view apim:api_create apim:api_manage apim:api_delete apim:api_publish " \
	"apim:api_import_export apim:tier_view apim:tier_manage apim:publisher_settings " \
	"apim:subscription_view apim:subscription_block apim:admin apim:tenant_manage apim:admin_operations"

static struct gh_web_ui ui = {
	.ui = "publisher",
	.prefix = "/publisher",
	.title = "publisher console",
	.cookie = PUB_UI_COOKIE,
	.login_cookie = PUB_UI_LOGIN_COOKIE,
	.scope = LOGIN_SCOPE,
	.component = "publisher",
	.assets = pub_web_assets,
};

void
pub_ui_routes(struct gh_router *r)
{
	ui.km_url = pub.km_url;
	ui.tls_km = pub.tls_km;
	ui.mauth = pub.mauth;
	ui.nassets = pub_web_assets_count;
	gh_web_ui_routes(r, &ui);
	pub_ui_settings_routes(r);
}
