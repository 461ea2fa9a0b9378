/*
 * The developer portal's own web routes: its tenant pages
 * (/devportal/t/{tenant}/, the same page as /devportal/) and self sign-up
 * (/devportal/signup, through the key manager's user API, which refuses
 * it when the tenant turned it off).  The page, assets, session probe,
 * sign-in and logout are the shared web routes (pg/gh_web.h, set up in
 * ui_login.c).  Every reply carries the security headers of pg/gh_web.h.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gh_codec.h"
#include "core/gh_json.h"
#include "core/gh_log.h"
#include "portal/portal_int.h"
#include "portal/ui.h"

void
portal_ui_error_page(struct gh_call *c, int status, const char *title, const char *text)
{
	gh_web_error_page(c, status, title, text);
}

/* ---- self sign-up (worker) ---- */

static void
signup(struct gh_call *c, struct gh_pg *db)
{
	static const char *const members[] = { "tenant", "username", "password", "firstName", "lastName",
		"email", NULL };
	struct json_object *o = NULL, *b = NULL, *r = NULL, *v;
	const char *d;
	int st;

	(void)db;
	gh_web_security_headers(c);
	if ((o = gh_call_body(c, 415)) == NULL)
		goto out;
	b = json_object_new_object();
	for (size_t i = 0; members[i] != NULL; i++)
		if (json_object_object_get_ex(o, members[i], &v) && json_object_is_type(v, json_type_string))
			json_object_object_add(b, members[i], json_object_get(v));
	if (!json_object_object_get_ex(b, "tenant", NULL))
		json_object_object_add(b, "tenant", json_object_new_string(GH_LDAP_SUPER_TENANT));
	st = portal_km_json("POST", "/internal/km/v1/users/signup", b, &r);
	d = gh_json_str(r, "description");
	if (st == 201) {
		json_object_object_del(r, "roles");
		gh_log_info("signup", c->request_id, "%s signed up in %s", gh_json_str(r, "username"),
		    gh_json_str(r, "tenant"));
		gh_reply_json(c, 201, r);
	} else if (st == 400 || st == 403 || st == 404 || st == 409) {
		gh_reply_error(c, st, st == 400 ? "Bad Request" : st == 403 ? "Forbidden" :
		    st == 404 ? "Not Found" : "Conflict", d ? d : "Sign-up refused");
	} else {
		portal_km_error(c, st, r, "Sign-up failed");
	}
out:
	json_object_put(o);
	json_object_put(b);
	json_object_put(r);
}

void
portal_ui_routes(struct gh_router *r)
{
	/* /devportal, its assets, session, login, callback, logout: ui_login.c */
	portal_ui_login_routes(r);
	gh_call_route_fast(r, "GET", "/devportal/t/{tenant}", gh_web_page_fast, gh_web_page_work);
	gh_call_route(r, "POST", "/devportal/signup", signup);
}
