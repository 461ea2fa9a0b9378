/*
 * The signed-in user's account and the portal's settings.  GET /settings
 * answers WSO2's DevPortal settings for the browsed tenant (anonymous
 * callers too), with Gatehouse's selfSignUp switch read as the key
 * manager reads it, so the web UI can say "sign-up is turned off" before
 * anyone fills in the form.  POST /me/change-password {currentPassword,
 * newPassword} changes the caller's own password through the key
 * manager's internal user API, which checks the current one under the
 * lock-outs; a wrong current password is a 400 (a 401 would mean the
 * caller's session or token is bad).
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gh_json.h"
#include "core/gh_log.h"
#include "portal/account.h"
#include "portal/portal_int.h"

#define PASSWORD_MAX 256

/* The tenant's selfSignUp as the key manager applies it: "t" or "f"; NULL on a database error. */
static char *
signup_open(struct gh_pg *db, const char *tenant)
{
	const char *p[1] = { tenant };

	return portal_one_text(db, "SELECT CASE WHEN $1::text = 'carbon.super' "
	    "  THEN coalesce((SELECT settings->>'selfSignUp' FROM gh_tenants WHERE domain = $1), 'true') <> 'false' "
	    "  ELSE coalesce((SELECT settings->>'selfSignUp' FROM gh_tenants WHERE domain = $1), 'false') = 'true' "
	    "END::text", 1, p);
}

static struct json_object *
strings(const char *const *v)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; v[i] != NULL; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

/* GET /settings */
static void
settings_get(struct gh_call *c, struct gh_pg *db)
{
	static const char *const grants[] = { "client_credentials", "password", "authorization_code",
		"refresh_token", NULL };
	static const char *const none[] = { NULL };
	struct portal_viewer v;
	struct json_object *o, *idp;
	char *open = NULL;

	if (portal_viewer_begin(c, db, &v, PORTAL_ANON_OK, NULL) != 0)
		return;
	open = signup_open(db, v.browse);
	if (open == NULL) {
		portal_db_error(c, db, "The settings could not be read");
		goto out;
	}
	o = json_object_new_object();
	idp = json_object_new_object();
	json_object_object_add(o, "grantTypes", strings(grants));
	json_object_object_add(o, "scopes", strings(none));
	json_object_object_add(o, "applicationSharingEnabled", json_object_new_boolean(1));
	json_object_object_add(o, "mapExistingAuthApps", json_object_new_boolean(0));
	json_object_object_add(o, "apiGatewayEndpoint", json_object_new_string(""));
	json_object_object_add(o, "monetizationEnabled", json_object_new_boolean(0));
	json_object_object_add(o, "recommendationEnabled", json_object_new_boolean(0));
	json_object_object_add(o, "IsUnlimitedTierPaid", json_object_new_boolean(0));
	json_object_object_add(idp, "external", json_object_new_boolean(0));
	json_object_object_add(o, "identityProvider", idp);
	json_object_object_add(o, "IsAnonymousModeEnabled", json_object_new_boolean(1));
	json_object_object_add(o, "IsPasswordChangeEnabled", json_object_new_boolean(1));
	json_object_object_add(o, "passwordPolicyMinLength", json_object_new_int(8));
	json_object_object_add(o, "passwordPolicyMaxLength", json_object_new_int(PASSWORD_MAX));
	json_object_object_add(o, "tenant", json_object_new_string(v.browse));
	json_object_object_add(o, "selfSignUp", json_object_new_boolean(strcmp(open, "true") == 0));
	portal_reply(c, 200, o);
out:
	free(open);
	portal_viewer_end(&v);
}

/* POST /me/change-password */
static void
password_change(struct gh_call *c, struct gh_pg *db)
{
	struct portal_viewer v;
	struct json_object *o = NULL, *b = NULL, *r = NULL;
	const char *cur = NULL, *new = NULL, *d;
	int st;

	if (portal_viewer_begin(c, db, &v, 0, "apim:subscribe") != 0)
		return;
	if ((o = gh_call_body(c, 415)) == NULL ||
	    portal_str(c, o, "currentPassword", PASSWORD_MAX, PORTAL_STR_REQUIRED, &cur) != 0 ||
	    portal_str(c, o, "newPassword", PASSWORD_MAX, PORTAL_STR_REQUIRED, &new) != 0)
		goto out;
	if (strcmp(cur, new) == 0) {
		gh_reply_error(c, 400, "Bad Request", "The new password must differ from the current one");
		goto out;
	}
	b = json_object_new_object();
	json_object_object_add(b, "tenant", json_object_new_string(v.p.tenant));
	json_object_object_add(b, "username", json_object_new_string(v.p.user));
	json_object_object_add(b, "oldPassword", json_object_new_string(cur));
	json_object_object_add(b, "newPassword", json_object_new_string(new));
	st = portal_km_json("POST", "/internal/km/v1/users/password", b, &r);
	d = gh_json_str(r, "description");
	if (st == 204 || st == 200) {
		portal_audit(db, c, &v, "user.password.change", v.p.sub, NULL);
		gh_log_info("password", c->request_id, "%s changed the password", v.p.sub);
		gh_reply_raw(c, 200, NULL, NULL, 0);
	} else if (st == 401) {
		/* the key manager's 401 is about the current password, not the caller's session */
		gh_log_warn("password", c->request_id, "%s: password change refused: %s", v.p.sub, d ? d : "");
		if (d != NULL && strstr(d, "locked") != NULL)
			gh_reply_error(c, 403, "Forbidden", d);
		else
			gh_reply_error(c, 400, "Bad Request", "The current password is wrong");
	} else if (st == 400 || st == 404) {
		gh_reply_error(c, st, st == 400 ? "Bad Request" : "Not Found", d ? d : "The password was refused");
	} else {
		portal_km_error(c, st, r, "The password could not be changed");
	}
out:
	json_object_put(o);
	json_object_put(b);
	json_object_put(r);
	portal_viewer_end(&v);
}

void
portal_account_routes(struct gh_router *r)
{
	gh_call_route(r, "GET", PORTAL_BASE "/settings", settings_get);
	gh_call_route(r, "POST", PORTAL_BASE "/me/change-password", password_change);
}
