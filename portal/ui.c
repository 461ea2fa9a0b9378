/*
 * The developer portal's page and assets (/devportal/, /devportal/t/{tenant}/,
 * /devportal/assets/NAME), the session probe (/devportal/session: who is
 * signed in and the CSRF token the page sends back on state changes) and
 * self sign-up (/devportal/signup, through the key manager's user API,
 * which refuses it when the tenant turned it off).  Pages and assets are
 * served on the loop (no database); the rest on workers.  Every reply
 * carries the security headers of pg/gh_web.h.
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

/* Append s HTML-escaped to out (cap bytes, NUL-terminated). */
static void
html_escape(char *out, size_t cap, size_t *n, const char *s)
{
	for (; s != NULL && *s && *n + 7 < cap; s++) {
		const char *e = NULL;
		switch (*s) {
		case '&': e = "&amp;"; break;
		case '<': e = "&lt;"; break;
		case '>': e = "&gt;"; break;
		case '"': e = "&quot;"; break;
		case '\'': e = "&#39;"; break;
		}
		if (e != NULL) {
			memcpy(out + *n, e, strlen(e));
			*n += strlen(e);
		} else {
			out[(*n)++] = *s;
		}
	}
	out[*n] = '\0';
}

void
portal_ui_error_page(struct gh_call *c, int status, const char *title, const char *text)
{
	char page[4096];
	size_t n = 0;

	n += (size_t)snprintf(page, sizeof(page), "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
	    "<link rel=\"stylesheet\" href=\"/devportal/assets/app.css\"><title>");
	html_escape(page, sizeof(page), &n, title);
	n += (size_t)snprintf(page + n, sizeof(page) - n, "</title></head><body><main class=\"narrow\"><h1>");
	html_escape(page, sizeof(page), &n, title);
	n += (size_t)snprintf(page + n, sizeof(page) - n, "</h1><p class=\"error\">");
	html_escape(page, sizeof(page), &n, text);
	n += (size_t)snprintf(page + n, sizeof(page) - n, "</p><p><a href=\"/devportal/\">Back to the developer "
	    "portal</a></p></main></body></html>");
	gh_reply_raw(c, status, "text/html; charset=utf-8", page, strlen(page));
	gh_reply_header(c, "Cache-Control", "no-store");
	gh_web_security_headers(c);
}

/* ---- pages and assets (loop) ---- */

static int
page_fast(struct gh_call *c)
{
	gh_web_asset_reply(c, portal_web_assets, portal_web_assets_count, "index.html");
	return 1;
}

static void
page_work(struct gh_call *c, struct gh_pg *db)
{
	(void)db;
	page_fast(c);
}

static int
asset_fast(struct gh_call *c)
{
	const char *name = gh_call_param(c, "name");

	if (name == NULL || strcmp(name, "index.html") == 0)
		name = "";
	gh_web_asset_reply(c, portal_web_assets, portal_web_assets_count, name);
	return 1;
}

static void
asset_work(struct gh_call *c, struct gh_pg *db)
{
	(void)db;
	asset_fast(c);
}

/* ---- the session probe (worker) ---- */

static void
session_get(struct gh_call *c, struct gh_pg *db)
{
	struct json_object *o = json_object_new_object();
	struct gh_principal p;
	char *sid = gh_web_cookie_get(c, PORTAL_UI_COOKIE), csrf[44];

	memset(&p, 0, sizeof(p));
	json_object_object_add(o, "authenticated", json_object_new_boolean(0));
	if (sid != NULL && gh_call_header(c, "Authorization") == NULL) {
		if (gh_call_auth(c, db, portal.mauth, NULL, &p) == 0 && gh_web_csrf_token(sid, csrf) == 0) {
			json_object_object_add(o, "authenticated", json_object_new_boolean(1));
			json_object_object_add(o, "user", json_object_new_string(p.sub));
			json_object_object_add(o, "tenant", json_object_new_string(p.tenant));
			json_object_object_add(o, "scopes", json_object_new_string(p.scope ? p.scope : ""));
			json_object_object_add(o, "csrfToken", json_object_new_string(csrf));
			explicit_bzero(csrf, sizeof(csrf));
		} else if (c->status >= 500) {
			goto out;               /* the database is down: say so */
		}
	}
	/* a failed session check replied 401 and cleared the cookie: the page is anonymous */
	gh_reply_json(c, 200, o);
	gh_reply_header(c, "Cache-Control", "no-store");
out:
	gh_web_security_headers(c);
	gh_principal_clear(&p);
	json_object_put(o);
	if (sid != NULL)
		gh_free_secret(sid);
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
	/* the router takes "/devportal/" for "/devportal" (one trailing slash) */
	gh_call_route_fast(r, "GET", "/devportal", page_fast, page_work);
	gh_call_route_fast(r, "GET", "/devportal/t/{tenant}", page_fast, page_work);
	gh_call_route_fast(r, "GET", "/devportal/assets/{name}", asset_fast, asset_work);
	gh_call_route(r, "GET", "/devportal/session", session_get);
	gh_call_route(r, "POST", "/devportal/signup", signup);
	portal_ui_login_routes(r);
}
